/* Tone generator: single, dual and amplitude-modulated tones with cadences.
 *
 * A tone is a list of up to LG_TONE_MAX_SEGMENTS segments, each with its own
 * duration and content, played in order and repeated `repeat` times (0 = for
 * ever). A segment holds up to two frequencies at their own levels, optionally
 * amplitude-modulated (Asterisk's `a*b`): out = (1 + depth*sin(2 pi fm t)) * tone,
 * so the modulated peak is the unmodulated peak times (1 + depth) at most,
 * saturated to 16 bits. A segment with no frequency is silence (the "off"
 * part of a cadence).
 *
 * Phases: each frequency slot (and the modulator) is one oscillator whose
 * phase runs on across segments, so that a cadence whose consecutive segments
 * carry the same or neighbouring frequencies has no clicks. A slot that was
 * silent in the previous segment (or at the start) starts at phase 0, i.e. at
 * a zero crossing, so every burst after a pause starts without a step.
 */
#ifndef LG_TONE_GEN_H
#define LG_TONE_GEN_H

#include "lg_common.h"

/* cdef-begin */
#define LG_TONE_MAX_SEGMENTS 16
#define LG_TONE_MAX_FREQS 2

/* Level limits of a segment's frequencies (dBm0), for Python to read rather
 * than retype; the maximum is LG_DBM0_MAX_SINE_POWER, a full-scale sine. */
extern const float lg_tone_min_level_dbm0;
extern const float lg_tone_max_level_dbm0;

typedef struct {
    float freq_hz[2];       /* 0 = unused; 0 < f < 4000 */
    float level_dbm0[2];    /* per frequency; -80 ... +3.14 */
    float am_hz;            /* 0 = no modulation */
    float am_depth;         /* 0 ... 1 */
    int32_t duration_ms;    /* > 0; 0 only for the last segment = play for ever */
} lg_tone_segment;

/* cdef-end */

/* One segment as the generator plays it, precomputed by lg_tone_desc_init.
 * Outside the cdef regions: only C looks inside lg_tone_desc. An unused slot
 * has amp 0 and the identity rotation, so the inner loop needs no branches. */
typedef struct {
    double rot_re[LG_TONE_MAX_FREQS];  /* per-sample phasor rotation, per slot */
    double rot_im[LG_TONE_MAX_FREQS];
    double amp[LG_TONE_MAX_FREQS];     /* peak amplitude per slot */
    double am_rot_re, am_rot_im;       /* modulator rotation (identity if none) */
    double am_depth;                   /* 0 = no modulation */
    int32_t used[LG_TONE_MAX_FREQS];   /* slot carries a frequency */
    int32_t has_am;
    int64_t samples;                   /* -1 = for ever */
} lg_tone_plan;

/* cdef-begin */
typedef struct {
    /* cdef-opaque */
    int32_t nsegments;
    int32_t repeat;                    /* 0 = for ever */
    lg_tone_plan seg[LG_TONE_MAX_SEGMENTS];
} lg_tone_desc;

typedef struct {
    /* cdef-opaque */
    double ph_re[LG_TONE_MAX_FREQS], ph_im[LG_TONE_MAX_FREQS]; /* oscillator phasors */
    double am_re, am_im;               /* modulator phasor */
    int32_t segment;                   /* index of the segment playing */
    int32_t cycles_done;               /* counted only when repeat != 0 */
    int64_t pos;                       /* samples into the current segment */
    int32_t finished;
} lg_tone_state;

/* Build a descriptor from 1..LG_TONE_MAX_SEGMENTS segments. Returns LG_OK;
 * LG_E_RANGE for a value outside its range (frequency, level, depth, duration,
 * segment count, repeat < 0); LG_E_ARG for a NULL pointer, a duration of 0
 * (for ever) before the last segment or an am_depth without am_hz. The codes
 * name nothing, so Python validates first and this is the last line of
 * defence; a rejected call leaves `desc` untouched. */
int lg_tone_desc_init(lg_tone_desc *desc, const lg_tone_segment *segments, int nsegments, int repeat);
void lg_tone_init(lg_tone_state *state);
/* Writes up to n samples (added to nothing: overwrites `out`). Returns the
 * number written; fewer than n only when a finite tone ended. */
int lg_tone_generate(const lg_tone_desc *desc, lg_tone_state *state, int16_t *out, int n);
/* cdef-end */

#endif
