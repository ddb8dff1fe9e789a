/* MF sender (E1 register signalling, the board simulator, tests), one
 * channel per call: a signal of mf.h's table held until it is changed or
 * stopped (compelled MFC/R2: a signal lasts until the far end acknowledges
 * it), or a string of pulsed signals (R1 digits, R2 pulses).
 *
 * Each signal is its two frequencies through the tone generator (tone_gen.h):
 * the lower frequency at level_dbm0, the higher at level_dbm0 + twist_db,
 * both starting at phase 0. Senders' levels: R2 -8 dBm0 +-1 dB per tone
 * (the Q.454 figure; spandsp sends -11), R1 -7 dBm0 +-1 dB (Q.322,
 * spandsp's bell_mf_tx); R1 tones 68 ms with 68 ms pauses, KP 100 ms.
 */
#ifndef LG_MF_TX_H
#define LG_MF_TX_H

#include "mf.h"
#include "tone_gen.h"

/* cdef-begin */
#define LG_MF_TX_MAX_SIGNALS 128

typedef struct {
    /* cdef-opaque */
    lg_tone_desc tone;
    lg_tone_state state;
    int32_t kind;
    float level_dbm0, twist_db;
    int32_t mode;             /* idle, held signal, string */
    uint8_t signals[LG_MF_TX_MAX_SIGNALS];
    int32_t nsignals, next;
    int32_t on_ms, kp_on_ms, off_ms;
    int32_t playing;          /* a string's signal is under way */
} lg_mf_tx_state;

/* LG_OK; LG_E_ARG for a NULL pointer or an unknown kind; LG_E_RANGE when
 * either tone's level would be outside the tone generator's limits. The
 * sender starts idle. */
int lg_mf_tx_init(lg_mf_tx_state *s, int kind, float level_dbm0, float twist_db);
/* Holds `signal` (1..15) from the next sample on, for as long as it is not
 * changed; 0 stops it (the sender is idle). LG_E_RANGE for another value. */
int lg_mf_tx_set_signal(lg_mf_tx_state *s, int signal);
/* Sends `n` (1..LG_MF_TX_MAX_SIGNALS) signals, each on_ms (R1's KP:
 * kp_on_ms) then off_ms of silence, in place of whatever played.
 * LG_E_RANGE for a signal outside 1..15, a bad count or on_ms, kp_on_ms < 1
 * or off_ms < 0; nothing changes then. */
int lg_mf_tx_send(lg_mf_tx_state *s, const uint8_t *signals, int n, int on_ms, int kp_on_ms, int off_ms);
/* Writes up to n samples and returns how many: a held signal fills them
 * all, a string stops short at its end, an idle sender writes none. */
int lg_mf_tx_generate(lg_mf_tx_state *s, int16_t *out, int n);
/* cdef-end */

#endif
