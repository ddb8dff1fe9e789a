/* The board simulator's link to the simulated telephone network: the board's
 * side of boards/sim/LINESIDE.md (native target only; the Cortex-M build has
 * no sockets and keeps the built-in line models).
 *
 * lg_net_start connects to --network URL, says HELLO, waits for WELCOME and
 * then takes the line model's place at every audio tick (line_model.h): the
 * TICK with the board's drive, blocks and HDLC frames goes out, the TOCK's
 * sense, blocks and frames come back into the model before the firmware
 * hands the tick's audio to the host. */
#ifndef LG_NETWORK_LINK_H
#define LG_NETWORK_LINK_H
#include <stddef.h>
#include <stdint.h>

#include "../firmware/frame.h"
#include "../firmware/hal.h"
#include "line_model.h"

#define LG_NET_VERSION 1
#define LG_NET_HELLO 0x50
#define LG_NET_WELCOME 0x51
#define LG_NET_REFUSED 0x52
#define LG_NET_TICK 0x53
#define LG_NET_TOCK 0x54
#define LG_NET_AUDIO 0x55
#define LG_NET_HDLC 0x56
#define LG_NET_REALTIME_WAIT_MS 60      /* LINESIDE.md: in real time a TOCK is awaited this long */
#define LG_NET_SILENCE_MS 10000         /* ...and with a virtual clock, silence this long ends the link */

struct lg_net_options {
    const char *url;             /* unix:PATH or tcp://HOST:PORT */
    int virtual_clock;           /* wait for every TOCK however long it takes */
    uint32_t silence_ms;         /* with a virtual clock: a network silent this long is lost */
};

/* Connects, sends HELLO and waits for WELCOME. 0, or -1 with the reason in err (the board exits). */
int lg_net_start(const struct lg_net_options *o, const struct lg_board_id *id, char *err, size_t errlen);

/* ---- the TOCK receiver, I/O-free: bytes in, whole TOCKs (or WELCOME, REFUSED, an error) out ---- */
struct lg_net_tock {
    uint16_t seq;
    uint8_t nports, nspans, naudio, nhdlc;     /* entries and the parts announced */
    struct { uint8_t port, sense; } port[LG_MODEL_PORTS];
    struct { uint8_t span, signal; uint32_t cas_mask; uint8_t abcd[32]; } span[LG_MODEL_SPANS];
    uint8_t port_listed, span_listed;         /* bit per unit */
    /* the parts received so far */
    uint8_t got_audio, got_hdlc;
    int last_audio, last_hdlc_span;          /* order checks */
    uint8_t audio_valid[LG_MODEL_SPANS * 32];
    uint8_t audio[LG_MODEL_SPANS * 32][160];   /* (cleared up to here for each TOCK) */
    struct lg_model_hdlc_queue hdlc[LG_MODEL_SPANS];
};

enum lg_net_rx_kind { LG_NET_RX_NONE, LG_NET_RX_TOCK, LG_NET_RX_WELCOME, LG_NET_RX_REFUSED, LG_NET_RX_ERROR };

struct lg_net_rx {
    struct lg_rx rx;
    uint8_t kind, ports, spans;   /* the board's */
    int expect;                   /* the seq of the TOCK awaited; -1: any (self-test) */
    int open;                     /* a TOCK head came; its parts are due */
    struct lg_net_tock tock;
    char text[200];               /* REFUSED's reason, or what was wrong */
};

void lg_net_rx_init(struct lg_net_rx *r, uint8_t kind, unsigned ports, unsigned spans);
/* Takes as many of n bytes as fit (call lg_net_rx_next until NONE before pushing more). */
size_t lg_net_rx_push(struct lg_net_rx *r, const uint8_t *data, size_t n);
/* The next whole message: a TOCK of the awaited seq (in r->tock), WELCOME, REFUSED (reason in r->text)
 * or ERROR (r->text names the field, its value and the stream offset). Frames of another seq (a TOCK
 * that came too late) are skipped. After an ERROR the link is broken: stop. */
enum lg_net_rx_kind lg_net_rx_next(struct lg_net_rx *r);

#endif
