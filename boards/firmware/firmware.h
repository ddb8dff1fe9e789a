/* The board side of the protocol: the main loop's one round and the request
 * handlers (IDENTIFY, STATUS, RESET, BL_*); the line side (CONFIGURE_*,
 * PORT_COMMAND, TONE, CAS, HDLC, AUDIO and the events) is line.c's. */
#ifndef LG_FIRMWARE_H
#define LG_FIRMWARE_H
#include "boot.h"
#include "frame.h"
#include "line.h"

struct lg_fw {
    struct lg_boot boot;
    struct lg_rx rx;
    uint16_t seq;                       /* the board's own frame counter (events, LOG) */
    uint32_t bad_requests;
    uint32_t last_byte_ms;              /* when the link last brought a byte */
    uint8_t payload[LG_MAX_PAYLOAD];
    uint8_t frame[LG_MAX_FRAME];
    struct lg_line line;                /* the line side; started only when firmware (not the bootloader) runs */
};

/* Runs the bootloader, then sends its LOG lines. */
void lg_fw_start(struct lg_fw *fw, int stay_in_bootloader);
/* One round of the main loop: waits up to wait_ms for bytes, answers every complete request. */
void lg_fw_poll(struct lg_fw *fw, uint32_t wait_ms);
/* Sends one LOG line. */
void lg_fw_log(struct lg_fw *fw, uint8_t level, const char *text);
/* Sends fw->payload's first len bytes as a frame of this type and seq; a RESULT reply. */
void lg_fw_send(struct lg_fw *fw, uint8_t type, uint16_t seq, size_t len);
void lg_fw_result(struct lg_fw *fw, uint16_t seq, uint8_t status, const char *detail);

/* The line side (line.c). */
void lg_line_start(struct lg_fw *fw);
/* Handles CONFIGURE_*, PORT_COMMAND, TONE and the host's CAS, HDLC and AUDIO (already checked by lg_msg_check). */
void lg_line_request(struct lg_fw *fw, const struct lg_rx_event *ev);
/* Runs the line tick when it is due. */
void lg_line_service(struct lg_fw *fw);
/* How long the main loop may wait for link bytes without missing a line tick. */
uint32_t lg_line_wait(const struct lg_fw *fw, uint32_t wait_ms);
/* STATUS_REPORT's payload into out; returns its length. */
size_t lg_line_status(struct lg_fw *fw, uint8_t *out);

#endif
