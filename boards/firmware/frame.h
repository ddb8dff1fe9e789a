/* Frames of PROTOCOL.md: the encoder and the receiver state machine with its
 * resynchronisation rules. No I/O: bytes in, frames and errors out. */
#ifndef LG_FRAME_H
#define LG_FRAME_H
#include "lg_fw.h"

/* Writes one frame into out (room for LG_MAX_FRAME); returns its length or LG_E_ARG. */
int lg_frame_encode(uint8_t *out, uint8_t type, uint16_t seq, const uint8_t *payload, size_t len);

/* Nonzero for a type PROTOCOL.md defines (either direction). */
int lg_frame_type_known(uint8_t type);
typedef int (*lg_frame_types)(uint8_t type);

enum lg_rx_kind { LG_RX_NONE = 0, LG_RX_FRAME, LG_RX_ERROR };

/* Error kinds, in the order of PROTOCOL.md's table; also the counter indices. */
enum lg_rx_error { LG_RXE_VERSION, LG_RXE_LENGTH, LG_RXE_CRC, LG_RXE_TYPE, LG_RXE_TIMEOUT, LG_RXE_COUNT };

/* PROTOCOL.md: a frame held this long without a byte is given up. */
#define LG_RX_IDLE_MS 200

struct lg_rx_event {
    enum lg_rx_kind kind;
    /* LG_RX_FRAME, and LG_RX_ERROR of kind LG_RXE_TYPE (the frame was intact): */
    uint8_t type;
    uint16_t seq;
    uint16_t length;
    const uint8_t *payload;   /* valid until the next lg_rx_push / lg_rx_next */
    uint64_t frame_offset;    /* stream offset of the frame's first sync byte */
    /* LG_RX_ERROR: */
    enum lg_rx_error error;
    const char *field;        /* "version", "length", "crc", "type", "frame" (timeout) */
    uint32_t value;
    uint64_t offset;          /* stream offset of the field */
};

struct lg_rx {
    uint8_t buf[LG_MAX_FRAME];
    size_t len;               /* bytes held in buf */
    size_t consumed;          /* bytes of buf to drop at the next call (a frame handed out) */
    uint64_t base;            /* stream offset of buf[0] */
    uint32_t frames;
    uint32_t errors[LG_RXE_COUNT];
    uint32_t noise;           /* bytes skipped before a sync pattern */
    lg_frame_types known;     /* the types this link carries (lg_rx_init: PROTOCOL.md's) */
};

void lg_rx_init(struct lg_rx *rx);
/* The same receiver for a link with other message types (the simulator's line side, LINESIDE.md). */
void lg_rx_init_types(struct lg_rx *rx, lg_frame_types known);
/* Takes as many of n bytes as fit; returns how many. Call lg_rx_next until it
 * returns LG_RX_NONE before pushing again, or the buffer stays full. */
size_t lg_rx_push(struct lg_rx *rx, const uint8_t *data, size_t n);
/* Decodes the next frame or error from the buffered bytes. */
enum lg_rx_kind lg_rx_next(struct lg_rx *rx, struct lg_rx_event *ev);
/* The link has been idle LG_RX_IDLE_MS with part of a frame held (a false
 * sync in line noise would otherwise hold every later frame): gives it up
 * as a timeout error and resumes the search after its first sync byte.
 * LG_RX_NONE when no partial frame is held. Then drain lg_rx_next. */
enum lg_rx_kind lg_rx_give_up(struct lg_rx *rx, struct lg_rx_event *ev);

#endif
