/* The native target's line models: what is on the other side of each port
 * and span of a simulated board (the HAL's line functions in hal.h).
 *
 *   FXO port: an exchange line. Battery 48 V on-hook; when we go off-hook it
 *     feeds loop current (32 mA on port 0, 3 mA less per port: longer loops)
 *     at 8 V. Rings only when told (a "ring" condition), tripping the ring
 *     when we answer.
 *   FXS port: a phone. Off-hook when told (an "offhook" condition); it then
 *     draws 25 mA (2 mA less per port) from our battery.
 *   E1 span: a loop plug: what we send (frames, CAS bits, HDLC frames, audio)
 *     comes back, except our RAI bit (a far-end loop regenerates the NFAS).
 *   Audio of every channel is looped: the block we send comes back in the
 *     same 20 ms (nothing comes back while a span is down).
 *
 * With a simulated network (native target, --network: the end of this file)
 * the network is the far end instead: its exchange rings, feeds battery and
 * reverses, its phones go off-hook, its spans send signal, CAS, HDLC and
 * audio; the electrical side (volts, loop current, the ring detector's
 * pulses) is still made here.
 *
 * Conditions say what happens on the line and when, from the board's boot:
 *
 *   WHAT@UNIT[:FROM[-UNTIL]]      e.g. los@span1, ais@span0:2s, offhook@port1:300ms-800ms
 *
 * WHAT is los, ais, lof, rai or errors (CRC-4 errors and BPVs at 100/s, a
 * slip a second) on a span; offhook (FXS: the phone's hook), ring (FXO: the
 * exchange rings, continuously: give one condition per burst for a cadence),
 * reverse (FXO: the exchange reverses the polarity) or nobattery (FXO: the
 * exchange removes battery) on a port. Times are N ms or N s; without FROM
 * the condition holds from boot, without UNTIL until the board stops. */
#ifndef LG_LINE_MODEL_H
#define LG_LINE_MODEL_H
#include <stddef.h>
#include <stdint.h>

#include "../firmware/hal.h"

void lg_model_init(uint8_t kind);
/* Adds one condition; returns 0, or -1 with a message in err. */
int lg_model_condition(const char *spec, char *err, size_t errlen);
/* Adds the conditions of a file, one a line (# starts a comment); -1 with "FILE:LINE: ..." in err. */
int lg_model_script(const char *path, char *err, size_t errlen);

/* ---- The far end from a simulated network (native target, --network URL:
 * network_link.c, boards/sim/LINESIDE.md). The model keeps the board's side
 * of every line (drive, hook changes, blocks and CAS sent, HDLC queued);
 * at each audio tick the network link reads it, exchanges it for the far
 * end's answer and writes that into the far-end fields, which take the
 * place of the built-in exchange, phones and loops. The conditions above
 * still apply on top (LINESIDE.md, "What combines"). ---- */
#define LG_MODEL_PORTS 4
#define LG_MODEL_SPANS 2
#define LG_MODEL_HOOK_CHANGES 8
#define LG_MODEL_HDLC_QUEUE 16
#define LG_MODEL_HDLC_MAX 260

struct lg_model_hdlc_queue {
    uint16_t len[LG_MODEL_HDLC_QUEUE];
    uint8_t data[LG_MODEL_HDLC_QUEUE][LG_MODEL_HDLC_MAX];
    unsigned head, n;
};

struct lg_model_port {
    struct lg_hal_port_drive drive;   /* what the firmware drives now */
    uint8_t nchanges;                 /* hook changes since the last exchange, oldest first */
    struct { uint32_t at_ms; uint8_t offhook; } change[LG_MODEL_HOOK_CHANGES];
    /* the far end (the network): FXO the exchange's ring, battery removed, polarity; FXS the phone */
    uint8_t ring, no_battery, reversed, offhook;
};

struct lg_model_span {
    uint8_t framing;                  /* LG_FRAMING_* from lg_hal_span_setup */
    uint8_t cas_tx[32];               /* ABCD we send per timeslot */
    uint8_t cas_rx[32];               /* ABCD the far end sends (network) */
    uint8_t no_signal;                /* the far end sends nothing (network) */
    uint8_t law;                      /* of the last block sent on any of its timeslots */
    struct lg_model_hdlc_queue to_line, from_line;
};

/* A channel's block each way in the current tick (a port's channel 0 is [port], a timeslot [span * 32 + ts]). */
struct lg_model_chan {
    uint8_t tx_valid, rx_valid, law;
    uint8_t tx[160], rx[160];
};

struct lg_model {
    struct lg_model_port port[LG_MODEL_PORTS];
    struct lg_model_span span[LG_MODEL_SPANS];
    struct lg_model_chan chan[LG_MODEL_SPANS * 32];
    /* Set by the network link: the tick's exchange (reads tx and the drive, fills rx and the far
     * end, drains to_line into the far end and from it into from_line) and its LOG notices (hal.h's
     * lg_hal_line_notice). NULL: the built-in models. */
    void (*exchange)(uint32_t now);
    int (*notice)(char *text, size_t max);
};
extern struct lg_model lg_model;

int lg_model_hdlc_push(struct lg_model_hdlc_queue *q, const uint8_t *frame, size_t len);
/* The span is down now (a condition or the network's loss of signal): nothing passes it. */
int lg_model_span_down(unsigned span, uint32_t now);

#endif
