/* The amplitude of a tracked tone, one value per sub-block, the last
 * LG_TONE_RING of them: what a tone receiver places the tone's edges from
 * (dtmf_rx.c, mf_rx.c; each has its own rules for where a start or an end
 * lies). Internal to the core (no cdef). */
#ifndef LG_TONE_RING_H
#define LG_TONE_RING_H

#include "lg_common.h"

#define LG_TONE_RING 16

typedef struct {
    int64_t first; /* sub-block number of the oldest entry */
    int32_t len;
    float amp[LG_TONE_RING];
} lg_tone_ring;

/* Empties the ring; the next value pushed is that of sub-block `first`
 * (negative for a tone found at the very start of a stream). */
static inline void lg_tone_ring_restart(lg_tone_ring *r, int64_t first)
{
    r->first = first;
    r->len = 0;
}

static inline int lg_tone_ring_slot(int64_t sb)
{
    return (int)(((sb % LG_TONE_RING) + LG_TONE_RING) % LG_TONE_RING);
}

/* Adds the next sub-block's value, dropping the oldest when full. */
static inline void lg_tone_ring_push(lg_tone_ring *r, float amp)
{
    if (r->len == LG_TONE_RING) {
        r->first++;
        r->len--;
    }
    r->amp[lg_tone_ring_slot(r->first + r->len)] = amp;
    r->len++;
}

static inline float lg_tone_ring_at(const lg_tone_ring *r, int64_t sb)
{
    return r->amp[lg_tone_ring_slot(sb)];
}

/* The newest sub-block's number. */
static inline int64_t lg_tone_ring_last(const lg_tone_ring *r)
{
    return r->first + r->len - 1;
}

static inline float lg_tone_ring_max(const lg_tone_ring *r)
{
    float peak = 0.0f;
    for (int k = 0; k < r->len; k++)
        if (lg_tone_ring_at(r, r->first + k) > peak)
            peak = lg_tone_ring_at(r, r->first + k);
    return peak;
}

/* The share of sub-block `sb` the tone covers, from its amplitude against
 * `ref` (the tone's full amplitude): 0 under `noise_floor`, at most 1. */
static inline float lg_tone_ring_coverage(const lg_tone_ring *r, int64_t sb, float ref, float noise_floor)
{
    float rho = lg_tone_ring_at(r, sb) / ref;
    if (rho < noise_floor)
        return 0.0f;
    return rho > 1.0f ? 1.0f : rho;
}

/* Where the tone ended: returns the sub-block after the last one up to
 * `last` with `full_ratio` of the peak, and sets `partial` to the coverage
 * of the (at most two) partly covered ones after that. */
static inline int64_t lg_tone_ring_end(const lg_tone_ring *r, int64_t last, float full_ratio, float noise_floor,
                                       float *partial)
{
    float ref = lg_tone_ring_max(r);
    if (last > lg_tone_ring_last(r))
        last = lg_tone_ring_last(r);
    int64_t full = last;
    while (full > r->first && lg_tone_ring_at(r, full) < full_ratio * ref)
        full--;
    *partial = 0.0f;
    for (int64_t sb = full + 1; sb <= full + 2 && sb <= last; sb++)
        *partial += lg_tone_ring_coverage(r, sb, ref, noise_floor);
    return full + 1;
}

#endif
