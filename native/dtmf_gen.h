/* DTMF generator (for the board simulator and for tests): a string of digits,
 * each a tone burst of on_ms followed by off_ms of silence, at a given level
 * per tone with twist (high group minus low group, dB). */
#ifndef LG_DTMF_GEN_H
#define LG_DTMF_GEN_H

#include "tone_gen.h"
#include "dtmf.h"

/* cdef-begin */
#define LG_DTMF_GEN_MAX_DIGITS 128

typedef struct {
    /* cdef-opaque */
    lg_tone_desc tone;
    lg_tone_state state;
    char digits[LG_DTMF_GEN_MAX_DIGITS];
    int32_t ndigits;
    int32_t next_digit;
    int32_t on_ms, off_ms;
    float low_dbm0, high_dbm0;
    int32_t active;
} lg_dtmf_gen_state;

/* Digits: 0-9 * # A-D (a-d accepted). Returns LG_OK, LG_E_ARG for a bad digit
 * (the index is not returned: Python validates first), LG_E_RANGE for bad
 * timings or levels or more than LG_DTMF_GEN_MAX_DIGITS digits. on_ms > 0,
 * off_ms >= 0; both groups' levels within the tone generator's limits, a
 * float rounding step past a limit counting as the limit. Every key starts
 * both tones at phase 0. */
int lg_dtmf_gen_init(lg_dtmf_gen_state *s, const char *digits, int on_ms, int off_ms,
                     float low_dbm0, float twist_db);
/* Returns samples written; fewer than n when the digit string is done. */
int lg_dtmf_gen_generate(lg_dtmf_gen_state *s, int16_t *out, int n);
/* cdef-end */

#endif
