/* The hardware-abstraction layer: everything the firmware core asks of the
 * board. A target (target/native: the simulator; target/cortex-m next) provides
 * these functions; nothing else in the core touches hardware, files or sockets. */
#ifndef LG_HAL_H
#define LG_HAL_H

#include "lg_fw.h"

/* Flash: byte-addressed, pages of LG_PAGE_SIZE. Erase sets a page to 0xFF;
 * a write programs one whole erased page. Both return LG_OK or LG_E_FLASH. */
int lg_hal_flash_read(uint32_t addr, uint8_t *buf, size_t len);
int lg_hal_flash_erase_page(uint32_t addr);
int lg_hal_flash_write_page(uint32_t addr, const uint8_t data[LG_PAGE_SIZE]);

/* Host link: a byte stream. recv waits at most wait_ms for bytes and returns
 * how many it stored (0: none yet). send queues or drops (no host attached)
 * all of len; a byte stream has no partial frames to report. */
size_t lg_hal_link_recv(uint8_t *buf, size_t max, uint32_t wait_ms);
void lg_hal_link_send(const uint8_t *buf, size_t len);

/* Milliseconds since this boot. */
uint32_t lg_hal_ticks_ms(void);

/* Host-granted time (PROTOCOL.md, "Host-granted time": the simulator's
 * virtual clock). grant returns LG_OK when the board's clock is virtual,
 * which from then on never passes until_ms (the latest grant holds), and
 * LG_E_STATE when it is real time. step lets up to ms of a granted clock pass
 * at once, never past the grant, without reading the link (the core runs the
 * line ticks between steps). */
int lg_hal_clock_grant(uint32_t until_ms);
void lg_hal_clock_step(uint32_t ms);

/* What the board is (from its one-time-programmable area on hardware). */
struct lg_board_id {
    uint8_t kind;          /* LG_KIND_* */
    uint8_t hw_revision;
    char serial[16];       /* ASCII, NUL-padded */
};
void lg_hal_board_id(struct lg_board_id *id);

/* Restart the board (does not return): mode 0 boots normally, mode 1 stays in
 * the bootloader. */
void lg_hal_reset(unsigned mode);

/* ---- Line side (boards/sim/ models it on the native target; a line
 * interface chip, a SLIC/DAA and a codec do on hardware). The core calls
 * these every line tick (LG_LINE_TICK_MS) from its main loop, never from an
 * interrupt, and does the debouncing and integration itself. ---- */

/* An analog port as the core drives it. FXO (we are the phone toward the
 * exchange): offhook closes our loop. FXS (we are the exchange toward a
 * phone): battery feeds the loop, reversed swaps tip and ring, ring applies
 * the ringing voltage (the core makes the cadence). Unused fields are 0. */
struct lg_hal_port_drive {
    uint8_t offhook;
    uint8_t battery, reversed, ring;
};
/* What the port's line interface measures now, undebounced: the tip-ring
 * voltage and the loop current, signed (their sign is the polarity), and on
 * FXO the ring detector's output (it follows the ringing voltage's half-waves,
 * so it pulses at twice the ringing frequency while the line rings). */
struct lg_hal_port_sense {
    int16_t volts;
    int16_t loop_ma;
    uint8_t ring;
};
void lg_hal_port_drive(unsigned port, const struct lg_hal_port_drive *d);
void lg_hal_port_sense(unsigned port, struct lg_hal_port_sense *s);

/* An E1 span's receiver: the raw defects (G.775 loss of signal, G.706 frame
 * alignment, the AIS pattern, the RAI bit of the NFAS word) and its error
 * counters, cumulative since the board started. */
struct lg_hal_span_rx {
    uint8_t signal;        /* pulses on the line */
    uint8_t all_ones;      /* fewer than 3 zeros in 512 bits: AIS */
    uint8_t aligned;       /* frame alignment found */
    uint8_t remote_alarm;  /* the far end sets RAI (A bit) */
    uint32_t crc4_errors, slips, bpv;
};
struct lg_hal_span_setup {
    uint8_t framing, crc4, coding, clock_priority;   /* CONFIGURE_SPAN's values */
};
void lg_hal_span_setup(unsigned span, const struct lg_hal_span_setup *s);
void lg_hal_span_rx_status(unsigned span, struct lg_hal_span_rx *rx);
/* Our RAI toward the far end (sent while we have LOS, AIS or LOF: G.732's consequent action). */
void lg_hal_span_tx_rai(unsigned span, int on);
/* CAS: the ABCD bits (A is bit 3) received on / sent in a timeslot (1..15, 17..31), undebounced. */
uint8_t lg_hal_cas_rx(unsigned span, unsigned timeslot);
void lg_hal_cas_tx(unsigned span, unsigned timeslot, uint8_t abcd);
/* HDLC on the span's D-channel (timeslot 16): frames without flags and FCS.
 * rx returns the length of the next received frame (0: none; a frame longer
 * than max is dropped by the HAL and counted there); tx returns LG_OK or
 * LG_E_STATE when the transmitter's queue is full. */
size_t lg_hal_hdlc_rx(unsigned span, uint8_t *frame, size_t max);
int lg_hal_hdlc_tx(unsigned span, const uint8_t *frame, size_t len);

/* Audio: 20 ms of G.711 (the unit's configured law, 0 A-law, 1 mu-law) per
 * channel (an analog port's channel 0, or a span's timeslot). Every 20 ms
 * audio tick the core hands each open channel's block to the line (tx), then
 * calls exchange, then takes each open channel's block from the line (rx:
 * returns 0 when it has none, e.g. the span is down: the core sends
 * silence). A line that exchanges a whole tick at once (the simulator's
 * network link, boards/sim/LINESIDE.md) does so in exchange; now is the
 * tick's time. */
void lg_hal_audio_tx(unsigned unit, unsigned channel, unsigned law, const uint8_t block[160]);
void lg_hal_line_exchange(uint32_t now);
int lg_hal_audio_rx(unsigned unit, unsigned channel, uint8_t block[160]);
/* What the line interface has to report (the simulator: its network link was
 * lost, ticks came late): returns a LOG level (0..3) with the text in text,
 * or -1 when there is nothing. The core asks after each exchange. */
int lg_hal_line_notice(char *text, size_t max);

#endif
