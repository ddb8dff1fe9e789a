/* Multifrequency (MF) register signalling codes shared by the generator and
 * the receiver: MFC/R2 forward and backward (ITU-T Q.441) and R1 (ITU-T
 * Q.320, Bell MF). Each is a 2-out-of-6 code: 15 signals, each two of six
 * frequencies.
 *
 * Signals are numbered 1..15 in the same order for every kind, by their pair
 * of frequency indices (index 0 is the first frequency of the kind's list):
 * 1 = (0,1), 2 = (0,2), 3 = (1,2), 4 = (0,3), 5 = (1,3), 6 = (2,3),
 * 7 = (0,4), 8 = (1,4), 9 = (2,4), 10 = (3,4), 11 = (0,5), 12 = (1,5),
 * 13 = (2,5), 14 = (3,5), 15 = (4,5) -- the "weights 0, 1, 2, 4, 7, 11" code
 * of Q.441 Table 5 (the signal's number is the sum of its two weights, 10
 * being 3 + 7). The frequency lists and pairs agree with spandsp's
 * bell_r2_mf.c and DAHDI's tone tables (mfr2_fwd_tones, mfr2_bwd_tones,
 * mfr1_tones).
 *
 * R2 forward: 1380, 1500, 1620, 1740, 1860, 1980 Hz; backward: 1140, 1020,
 * 900, 780, 660, 540 Hz (index 0 is the highest: backward signal 1 is
 * 1140 + 1020 Hz). R1: 700, 900, 1100, 1300, 1500, 1700 Hz; its signals
 * 1..9 are the digits 1..9, 10 is the digit 0, and the pairs with 1700 Hz
 * are the control signals (Q.320; names as DAHDI and spandsp use them):
 * 11 = ST''' (700 + 1700), 12 = ST' (900 + 1700), 13 = KP (1100 + 1700),
 * 14 = ST'' (1300 + 1700), 15 = ST (1500 + 1700).
 */
#ifndef LG_MF_H
#define LG_MF_H

#include "lg_common.h"

/* cdef-begin */
#define LG_MF_R2_FORWARD 0
#define LG_MF_R2_BACKWARD 1
#define LG_MF_R1 2
#define LG_MF_KINDS 3
#define LG_MF_TONES 6
#define LG_MF_SIGNALS 15
/* R1's control signals by number. */
#define LG_MF_R1_ST3P 11
#define LG_MF_R1_STP 12
#define LG_MF_R1_KP 13
#define LG_MF_R1_ST2P 14
#define LG_MF_R1_ST 15

/* The six frequencies of each kind, kind-major: lg_mf_hz[kind * 6 + index]. */
extern const float lg_mf_hz[LG_MF_KINDS * LG_MF_TONES];
/* The frequency indices of signal s (1..15): lg_mf_pair[2 * (s - 1)] and
 * lg_mf_pair[2 * (s - 1) + 1], the lower index first. */
extern const uint8_t lg_mf_pair[2 * LG_MF_SIGNALS];
/* The signal (1..15) made of frequency indices a and b (either order), or
 * LG_E_ARG when they are equal or out of 0..5. */
int lg_mf_signal(int a, int b);
/* cdef-end */

#endif
