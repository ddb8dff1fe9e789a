/* Caller ID FSK generator (for the board simulator, FXS ports and tests):
 * one on-hook data message as Bell 202 or V.23 FSK at 1200 baud, one
 * channel per call (it is not on the detection path).
 *
 * The signal: `seizure_bits` of channel seizure (alternating 0 and 1,
 * starting with 0), `mark_bits` of mark, the message's bytes as async
 * characters (start bit 0, 8 data bits LSB first, stop bit 1), then
 * LG_FSK_TX_TAIL_BITS of mark so that the receiver hears the last stop bit
 * out (spandsp's adsi_tx sends 5 too). GR-30 and EN 300 659-1 send 300
 * seizure and 180 mark bits before an on-hook message; call waiting (off
 * hook) sends no seizure and 80 mark bits.
 *
 * Phase-continuous FSK: one oscillator whose frequency switches at the bit
 * edges, which fall on the 1200 baud grid (6 or 7 samples a bit, 20 samples
 * every 3 bits). Mark (1) is 1200 Hz (Bell 202) or 1300 Hz (V.23), space
 * (0) 2200 or 2100 Hz. The mark plays at level_dbm0, the space at
 * level_dbm0 - twist_db (twist as TIA-716 defines it: mark over space).
 * The bytes are sent as given: the caller appends the checksum.
 */
#ifndef LG_FSK_TX_H
#define LG_FSK_TX_H

#include "lg_common.h"

/* cdef-begin */
#define LG_FSK_TX_BELL202 1
#define LG_FSK_TX_V23 2
#define LG_FSK_TX_MAX_MESSAGE 258
#define LG_FSK_TX_MAX_PREAMBLE_BITS 1000
#define LG_FSK_TX_TAIL_BITS 5

typedef struct {
    /* cdef-opaque */
    uint8_t message[LG_FSK_TX_MAX_MESSAGE];
    int32_t length;
    int32_t seizure_bits, mark_bits;
    int32_t total_bits;
    int32_t bit;              /* the bit playing */
    int32_t baud_phase;       /* 0..19: 3 per sample, a new bit at 20 */
    uint32_t phase;           /* oscillator phase, 2^32 a turn */
    uint32_t step[2];         /* per sample: space, mark */
    double amp[2];            /* peak: space, mark */
} lg_fsk_tx_state;

/* LG_OK; LG_E_ARG for a NULL pointer or a bad standard; LG_E_RANGE for a
 * level (either tone's) outside the tone generator's limits, |twist_db| > 20,
 * a preamble longer than LG_FSK_TX_MAX_PREAMBLE_BITS or a message of 0 or
 * more than LG_FSK_TX_MAX_MESSAGE bytes. */
int lg_fsk_tx_init(lg_fsk_tx_state *s, int standard, float level_dbm0, float twist_db, int seizure_bits,
                   int mark_bits, const uint8_t *message, int length);
/* Samples of the whole signal. */
int lg_fsk_tx_samples(const lg_fsk_tx_state *s);
/* Writes up to n samples; returns how many, fewer than n at the end. */
int lg_fsk_tx_generate(lg_fsk_tx_state *s, int16_t *out, int n);
/* cdef-end */

#endif
