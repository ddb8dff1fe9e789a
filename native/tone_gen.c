/* Tone generator (see tone_gen.h): phasor oscillators in double precision.
 *
 * Each oscillator is a unit complex number multiplied once per sample by a
 * fixed rotation e^{jw}; its imaginary part is the sine. That costs four
 * multiplications per sample instead of a sin() call, and double precision
 * keeps the frequency exact to far below 0.001 Hz. Rounding makes the
 * magnitude drift very slowly, so it is pulled back to 1 every
 * RENORM_INTERVAL samples of a segment and at its end: the level then stays
 * exact however long a tone plays.
 */
#include "tone_gen.h"

const float lg_tone_min_level_dbm0 = -80.0f;
const float lg_tone_max_level_dbm0 = LG_DBM0_MAX_SINE_POWER;

/* Drift per rotation is of the order of 1e-16; 256 samples keep it below
 * 1e-13, and one sqrt per 256 samples is free. */
#define RENORM_INTERVAL 256

/* C99 <math.h> has no M_PI. */
#define TWO_PI 6.28318530717958647692528676655900577

static int frequency_ok(float hz)
{
    /* Written so that NaN fails too. */
    return hz > 0.0f && hz < LG_SAMPLE_RATE / 2.0f;
}

static int level_ok(float dbm0)
{
    return dbm0 >= lg_tone_min_level_dbm0 && dbm0 <= lg_tone_max_level_dbm0;
}

static int check_segment(const lg_tone_segment *s, int is_last)
{
    for (int k = 0; k < LG_TONE_MAX_FREQS; k++) {
        if (s->freq_hz[k] == 0.0f)
            continue; /* unused slot: its level does not matter */
        if (!frequency_ok(s->freq_hz[k]) || !level_ok(s->level_dbm0[k]))
            return LG_E_RANGE;
    }
    if (!(s->am_depth >= 0.0f && s->am_depth <= 1.0f))
        return LG_E_RANGE;
    if (s->am_hz != 0.0f && !frequency_ok(s->am_hz))
        return LG_E_RANGE;
    if (s->am_hz == 0.0f && s->am_depth != 0.0f)
        return LG_E_ARG; /* a depth with no rate is a mistake, not a choice */
    if (s->duration_ms < 0)
        return LG_E_RANGE;
    if (s->duration_ms == 0 && !is_last)
        return LG_E_ARG; /* segments after a for-ever one could never play */
    return LG_OK;
}

static void set_rotation(double hz, double *re, double *im)
{
    const double w = TWO_PI * hz / LG_SAMPLE_RATE;
    *re = cos(w);
    *im = sin(w);
}

static void plan_segment(lg_tone_plan *p, const lg_tone_segment *s)
{
    for (int k = 0; k < LG_TONE_MAX_FREQS; k++) {
        p->used[k] = s->freq_hz[k] != 0.0f;
        if (p->used[k]) {
            p->amp[k] = lg_dbm0_to_peak(s->level_dbm0[k]);
            set_rotation(s->freq_hz[k], &p->rot_re[k], &p->rot_im[k]);
        } else {
            p->amp[k] = 0.0;
            p->rot_re[k] = 1.0;
            p->rot_im[k] = 0.0;
        }
    }
    p->has_am = s->am_hz != 0.0f && s->am_depth > 0.0f;
    if (p->has_am) {
        p->am_depth = s->am_depth;
        set_rotation(s->am_hz, &p->am_rot_re, &p->am_rot_im);
    } else {
        p->am_depth = 0.0;
        p->am_rot_re = 1.0;
        p->am_rot_im = 0.0;
    }
    p->samples = s->duration_ms ? (int64_t)s->duration_ms * LG_SAMPLE_RATE / 1000 : -1;
}

int lg_tone_desc_init(lg_tone_desc *desc, const lg_tone_segment *segments, int nsegments, int repeat)
{
    if (!desc || !segments)
        return LG_E_ARG;
    if (nsegments < 1 || nsegments > LG_TONE_MAX_SEGMENTS || repeat < 0)
        return LG_E_RANGE;
    /* Check everything before writing anything. */
    for (int i = 0; i < nsegments; i++) {
        int rv = check_segment(&segments[i], i == nsegments - 1);
        if (rv != LG_OK)
            return rv;
    }
    *desc = (lg_tone_desc){0};
    desc->nsegments = nsegments;
    desc->repeat = repeat;
    for (int i = 0; i < nsegments; i++)
        plan_segment(&desc->seg[i], &segments[i]);
    return LG_OK;
}

void lg_tone_init(lg_tone_state *state)
{
    if (!state)
        return;
    *state = (lg_tone_state){0};
    for (int k = 0; k < LG_TONE_MAX_FREQS; k++)
        state->ph_re[k] = 1.0; /* phase 0: the first sample is a zero crossing */
    state->am_re = 1.0;
}

/* Start segment `index`: oscillators that sounded in the previous segment run
 * on (no click between segments); those that were silent restart at phase 0,
 * so a burst after a pause starts at a zero crossing. */
static void enter_segment(const lg_tone_desc *desc, lg_tone_state *st, int index)
{
    const lg_tone_plan *now = &desc->seg[index];
    const lg_tone_plan *before = &desc->seg[index == 0 ? desc->nsegments - 1 : index - 1];
    for (int k = 0; k < LG_TONE_MAX_FREQS; k++) {
        if (now->used[k] && !before->used[k]) {
            st->ph_re[k] = 1.0;
            st->ph_im[k] = 0.0;
        }
    }
    if (now->has_am && !before->has_am) {
        st->am_re = 1.0;
        st->am_im = 0.0;
    }
    st->segment = index;
    st->pos = 0;
}

static void next_segment(const lg_tone_desc *desc, lg_tone_state *st)
{
    int index = st->segment + 1;
    if (index == desc->nsegments) {
        if (desc->repeat != 0) {
            /* Not counted when repeating for ever: the count would overflow. */
            st->cycles_done++;
            if (st->cycles_done >= desc->repeat) {
                st->finished = 1;
                return;
            }
        }
        index = 0;
    }
    enter_segment(desc, st, index);
}

static int16_t saturate(double v)
{
    if (v >= 32767.0)
        return 32767;
    if (v <= -32768.0)
        return -32768;
    return (int16_t)(v >= 0.0 ? v + 0.5 : v - 0.5);
}

static void renormalise(double *re, double *im)
{
    const double gain = 1.0 / sqrt(*re * *re + *im * *im);
    *re *= gain;
    *im *= gain;
}

static void renormalise_all(lg_tone_state *st)
{
    for (int k = 0; k < LG_TONE_MAX_FREQS; k++)
        renormalise(&st->ph_re[k], &st->ph_im[k]);
    renormalise(&st->am_re, &st->am_im);
}

/* render() spells out the two frequency slots; a third needs a third there. */
typedef char render_spells_out_two_slots[LG_TONE_MAX_FREQS == 2 ? 1 : -1];

/* n samples of segment p, moving the oscillators on. Unused slots have amp 0
 * and the identity rotation, and no modulation is depth 0 with the identity
 * rotation, so one loop without branches serves silence, single, dual and
 * modulated tones alike. */
static void render(const lg_tone_plan *p, lg_tone_state *st, int16_t *out, int n)
{
    double r0 = st->ph_re[0], i0 = st->ph_im[0];
    double r1 = st->ph_re[1], i1 = st->ph_im[1];
    double ar = st->am_re, ai = st->am_im;
    for (int i = 0; i < n; i++) {
        const double tone = p->amp[0] * i0 + p->amp[1] * i1;
        out[i] = saturate(tone * (1.0 + p->am_depth * ai));
        double t;
        t = r0 * p->rot_re[0] - i0 * p->rot_im[0];
        i0 = r0 * p->rot_im[0] + i0 * p->rot_re[0];
        r0 = t;
        t = r1 * p->rot_re[1] - i1 * p->rot_im[1];
        i1 = r1 * p->rot_im[1] + i1 * p->rot_re[1];
        r1 = t;
        t = ar * p->am_rot_re - ai * p->am_rot_im;
        ai = ar * p->am_rot_im + ai * p->am_rot_re;
        ar = t;
    }
    st->ph_re[0] = r0;
    st->ph_im[0] = i0;
    st->ph_re[1] = r1;
    st->ph_im[1] = i1;
    st->am_re = ar;
    st->am_im = ai;
}

int lg_tone_generate(const lg_tone_desc *desc, lg_tone_state *state, int16_t *out, int n)
{
    if (!desc || !state || n < 0 || (n > 0 && !out))
        return LG_E_ARG;
    /* A descriptor lg_tone_desc_init never built, or a state from elsewhere. */
    if (desc->nsegments < 1 || desc->nsegments > LG_TONE_MAX_SEGMENTS ||
        state->segment < 0 || state->segment >= desc->nsegments || state->pos < 0)
        return LG_E_ARG;
    const int64_t segment_samples = desc->seg[state->segment].samples;
    if (!state->finished && segment_samples >= 0 && state->pos >= segment_samples)
        return LG_E_ARG;
    int written = 0;
    while (written < n && !state->finished) {
        const lg_tone_plan *p = &desc->seg[state->segment];
        /* Renormalise at fixed positions in the segment, not at the ends of
         * the caller's blocks, so that the output is the same bit for bit
         * however the caller cuts it into blocks. */
        int64_t chunk = RENORM_INTERVAL - state->pos % RENORM_INTERVAL;
        if (chunk > n - written)
            chunk = n - written;
        if (p->samples >= 0 && p->samples - state->pos < chunk)
            chunk = p->samples - state->pos;
        render(p, state, out + written, (int)chunk);
        written += (int)chunk;
        state->pos += chunk;
        const int segment_over = p->samples >= 0 && state->pos >= p->samples;
        if (segment_over || state->pos % RENORM_INTERVAL == 0)
            renormalise_all(state);
        if (segment_over)
            next_segment(desc, state);
    }
    return written;
}
