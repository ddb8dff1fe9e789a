/* Call-progress tone classifier for many channels at once; the design is in
 * cpt.h. */
#include "cpt.h"
#include "goertzel.h"
#include "lg_simd.h"

#include <math.h>
#include <string.h>
#ifdef LG_CPT_TRACE
#include <stdio.h>
#endif

#define M LG_CPT_SUBBLOCK
#define NB LG_CPT_BINS
#define NL LG_CPT_LOW_BINS
#define W LG_CPT_WINDOW
#define NH 3            /* SIT bins, after the low ones */
#define WN (W * M)      /* samples per low-band window */
#define LOW_FIRST_BIN 11 /* 314 Hz on the window's DFT grid */
#define HISTORY LG_CPT_HISTORY

static const double PI_D = 3.14159265358979323846;
static const float HI_HZ[NH] = {950.0f, 1400.0f, 1800.0f};

/* A SIT tone holds this share of a sub-block to start a segment (its bin is
 * 143 Hz wide; 70 Hz off it keeps half of the tone). */
#define HI_MIN_SHARE 0.3f
/* Within a segment, a frame keeps it going while the tone stays within
 * this many dB of the segment's mean so far. */
#define HOLD_DROP_DB 12.0f
/* A second low-band tone: at least this far from the first (bins) and this
 * share of its power. */
#define SECOND_MIN_BINS 3
#define SECOND_MIN_RATIO 0.12f
/* Silence longer than this ends a pattern: no plan's pause is longer
 * (Sweden's and Portugal's ringback, 5 s, +5 %, plus margin). */
#define PATTERN_GAP_MS 6500
/* The segment under way, or a first segment whose start was not heard, may
 * reach its step's length times this before the step is ruled out. */
#define BOUND_SLACK 1.12f
/* A pause at least this long, and longer than any of a cadence's own, may be
 * where its pattern began after something else (match_at). Shorter gaps in
 * speech would let a few tone-like moments pass for a pattern. */
#define PATTERN_BREAK_MS 1000
/* A burst this far below its cadence's loudest is quiet. */
#define QUIET_DB -10.0f
/* A frame this many times the segment's mean power so far starts a new one. */
#define JUMP_RATIO 12.0f
/* Bursts of one cadence keep their relative levels within this. */
#define LEVEL_SPREAD_DB 6.0f
/* Frequency errors weigh this much against duration errors when cadences
 * of the same class compete (SIT subtypes differ by 4 % in frequency). */
#define FREQ_WEIGHT 4.0f
/* SIT tones: their frequency tolerance (the subtypes are 3.8 % apart). */
#define SIT_FREQ_DEV 0.035f
/* A pause this long (or three quarters of the cadence's longest) is enough
 * to call ringback: no busy, congestion or cadenced dial tone pauses as long. */
#define RINGBACK_PAUSE_MS 1200
#define RINGBACK_MIN_BURST_MS 300
/* A burst shorter than this is no plan's (the shortest in the table are
 * Belgium's 167 ms congestion and Russia's 175 ms; -40 % for noise). */
#define MIN_TONE_MS 100
/* A tone's peaks hold at least this share of its low-band power over the
 * segment (a tone in noise: > 0.8; a word's harmonics glide across bins). */
#define MIN_PEAK_SHARE 0.7f
/* A frame continues a tone while at least this share of its low band is
 * in the tone's peak bins. */
#define SAME_TONE_SHARE 0.5f
/* Durations and levels are judged only on segments at least this long. */
#define MIN_JUDGED_BLOCKS 8
/* Dial tone: largest spread of its frame powers past the onset (dev/cpt's
 * dial tones: <= 1.8 dB; a modulated one's 35 ms windows: <= 1.7 dB at
 * 25-120 Hz and 90 % depth; a held note of music in the bench: 5.7 dB). */
#define DIAL_MAX_SPREAD_DB 4.0f
/* Frames of a segment whose window still holds its onset (W) */
#define ONSET_FRAMES W
/* The matcher's longest wait while a segment grows (next_check). */
#define RECHECK_SAMPLES (16 * M)

void lg_cpt_params_default(lg_cpt_params *p)
{
    p->min_level_dbm0 = -44.0f;
    p->min_share = 0.55f;
    p->hold_share = 0.35f;
    p->max_step_error = 0.22f;
    p->max_mean_error = 0.12f;
    p->max_freq_dev_pct = 5.0f;
    p->min_segment_ms = 40;
    p->dial_min_ms = 600;
}

int lg_cpt_params_bad_field(const lg_cpt_params *p)
{
    if (!(p->min_level_dbm0 >= -60.0f && p->min_level_dbm0 <= 0.0f))
        return 0;
    if (!(p->min_share > 0.1f && p->min_share <= 1.0f))
        return 1;
    if (!(p->hold_share > 0.05f && p->hold_share <= p->min_share))
        return 2;
    if (!(p->max_step_error > 0.0f && p->max_step_error <= 0.5f))
        return 3;
    if (!(p->max_mean_error > 0.0f && p->max_mean_error <= p->max_step_error))
        return 4;
    if (!(p->max_freq_dev_pct >= 0.5f && p->max_freq_dev_pct <= 10.0f))
        return 5;
    if (p->min_segment_ms < 8 || p->min_segment_ms > 200)
        return 6;
    if (p->dial_min_ms < 200 || p->dial_min_ms > 10000)
        return 7;
    return -1;
}

static int ms_to_blocks(int ms)
{
    return (ms * (LG_SAMPLE_RATE / 1000) + M / 2) / M;
}

int lg_cpt_desc_init(lg_cpt_desc *d, const lg_cpt_params *p)
{
    if (!d || !p)
        return LG_E_ARG;
    if (lg_cpt_params_bad_field(p) >= 0)
        return LG_E_RANGE;
    memset(d, 0, sizeof(*d));
    for (int b = 0; b < NB; b++) {
        double hz = b < NL ? (double)LG_SAMPLE_RATE / WN * (b + LOW_FIRST_BIN) : HI_HZ[b - NL];
        double w = 2.0 * PI_D * hz / LG_SAMPLE_RATE;
        d->bin_hz[b] = (float)hz;
        d->coef[b] = (float)(2.0 * cos(w));
        d->x_rot_re[b] = (float)cos(-w * (M - 1));
        d->x_rot_im[b] = (float)sin(-w * (M - 1));
        d->w_rot_re[b] = (float)cos(-w * M);
        d->w_rot_im[b] = (float)sin(-w * M);
        /* on the window's DFT grid the rotation repeats every W sub-blocks */
        for (int slot = 0; slot < W && b < NL; slot++) {
            d->slot_rot_re[slot][b] = (float)cos(-w * M * slot);
            d->slot_rot_im[slot][b] = (float)sin(-w * M * slot);
        }
    }
    float peak = lg_dbm0_to_peak(p->min_level_dbm0);
    d->min_power = 0.5f * peak * peak;
    d->min_share = p->min_share;
    d->hold_share = p->hold_share;
    d->max_step_error = p->max_step_error;
    d->max_mean_error = p->max_mean_error;
    d->max_freq_dev = p->max_freq_dev_pct / 100.0f;
    d->min_segment_blocks = ms_to_blocks(p->min_segment_ms);
    if (d->min_segment_blocks < 1)
        d->min_segment_blocks = 1;
    d->dial_min_blocks = ms_to_blocks(p->dial_min_ms);
    d->count = 0;
    d->loose_first = d->loose_last = -1;
    return LG_OK;
}

/* Whether two cadences are matched alike (class and country aside). */
static int same_shape(const lg_cpt_cadence *a, const lg_cpt_cadence *b)
{
    if (a->steps != b->steps || a->cyclic != b->cyclic)
        return 0;
    for (int s = 0; s < a->steps; s++)
        if (a->ms[s] != b->ms[s] || a->freq[s][0] != b->freq[s][0] || a->freq[s][1] != b->freq[s][1] ||
            a->gain_db[s] != b->gain_db[s] || a->am_hz[s] != b->am_hz[s])
            return 0;
    return 1;
}

static int has_tone(const lg_cpt_cadence *c, float f0, float f1, float am)
{
    for (int s = 0; s < c->steps; s++)
        if (c->freq[s][0] > 0.0f && c->freq[s][0] == f0 && c->freq[s][1] == f1 && c->am_hz[s] == am)
            return 1;
    return 0;
}

/* Whether two cadences sound the same tones (in whatever order and timing). */
static int same_tones(const lg_cpt_cadence *a, const lg_cpt_cadence *b)
{
    for (int s = 0; s < a->steps; s++)
        if (a->freq[s][0] > 0.0f && !has_tone(b, a->freq[s][0], a->freq[s][1], a->am_hz[s]))
            return 0;
    for (int s = 0; s < b->steps; s++)
        if (b->freq[s][0] > 0.0f && !has_tone(a, b->freq[s][0], b->freq[s][1], b->am_hz[s]))
            return 0;
    return 1;
}

int lg_cpt_add_cadence(lg_cpt_desc *d, const lg_cpt_cadence *c)
{
    if (!d || !c)
        return LG_E_ARG;
    if (d->count >= LG_CPT_MAX_CADENCES)
        return LG_E_RANGE;
    if (c->cls < LG_CPT_DIAL || c->cls > LG_CPT_SIT || c->steps < 1 || c->steps > LG_CPT_MAX_STEPS)
        return LG_E_RANGE;
    int tones = 0;
    for (int s = 0; s < c->steps; s++) {
        if (!(c->am_hz[s] >= 0.0f && c->am_hz[s] < 500.0f))
            return LG_E_RANGE;
        if (c->ms[s] < 0 || c->ms[s] > 60000 || (c->ms[s] == 0 && s != c->steps - 1))
            return LG_E_RANGE;
        for (int k = 0; k < 2; k++)
            if (!(c->freq[s][k] >= 0.0f && c->freq[s][k] < 4000.0f) || !(c->gain_db[s] <= 0.0f && c->gain_db[s] > -40.0f))
                return LG_E_RANGE;
        if (c->freq[s][0] > 0.0f)
            tones++;
        if (s > 0 && (c->freq[s][0] > 0.0f) == (c->freq[s - 1][0] > 0.0f) && c->freq[s][0] == c->freq[s - 1][0])
            return LG_E_RANGE; /* two equal steps in a row: the caller merges them */
    }
    if (tones == 0)
        return LG_E_RANGE;
    int k = d->count;
    d->cadences[k] = *c;
    d->next_in_shape[k] = -1;
    int shape = 0;
    while (shape < d->nshapes && !same_shape(&d->cadences[d->shape_rep[shape]], c))
        shape++;
    if (shape == d->nshapes) {
        d->shape_rep[shape] = d->shape_last[shape] = k;
        d->next_shape[shape] = -1;
        d->shape_classes[shape] = 0;
        /* Shapes are grouped by the set of tones they sound, cyclic and
         * once-only apart: memo_init rules the two kinds out from different
         * segments, and once-only ones only when they begin with a tone. */
        int tones = c->cyclic || c->freq[0][0] > 0.0f ? 0 : 64;
        while (tones < d->ntones && !(d->cadences[d->shape_rep[d->tones_first[tones]]].cyclic == c->cyclic &&
                                      same_tones(&d->cadences[d->shape_rep[d->tones_first[tones]]], c)))
            tones++;
        if (tones < d->ntones) {
            d->next_shape[d->tones_last[tones]] = shape;
            d->tones_last[tones] = shape;
        } else if (tones == d->ntones && tones < 64) {
            d->tones_first[tones] = d->tones_last[tones] = shape;
            if (!c->cyclic)
                d->once_tones |= (uint64_t)1 << tones;
            d->ntones++;
        } else {
            tones = -1; /* more sets than a mask holds: never ruled out by tones */
            if (d->loose_first < 0)
                d->loose_first = shape;
            else
                d->next_shape[d->loose_last] = shape;
            d->loose_last = shape;
        }
        d->shape_tones[shape] = tones;
        d->nshapes++;
    } else {
        d->next_in_shape[d->shape_last[shape]] = k;
        d->shape_last[shape] = k;
    }
    d->shape_of[k] = shape;
    d->shape_classes[shape] |= 1 << c->cls;
    return d->count++;
}

/* Forgets what a channel heard; `clock` is the channel's time now, `pos`
 * where the bank is in its sub-block. */
static void clear_state(lg_cpt_state *st, int64_t clock, int pos, int64_t lane_subblocks, int64_t reset_at,
                        int country, int active)
{
    memset(st, 0, sizeof(*st));
    /* The channel's sub-blocks stay aligned with its lane's: the next one
     * ends M - pos samples from now. */
    st->origin = clock - (int64_t)pos;
    st->first_subblock = lane_subblocks;
    st->reset_at = reset_at;
    st->country = country;
    st->active = active;
}

int lg_cpt_bank_init(lg_cpt_bank *bank, lg_cpt_lane *lanes, lg_cpt_state *states, int channels)
{
    if (!bank || !lanes || !states || channels < 1)
        return LG_E_ARG;
    bank->samples = 0;
    bank->pos = 0;
    bank->channels = channels;
    int nlanes = (channels + LG_LANE - 1) / LG_LANE;
    memset(lanes, 0, sizeof(*lanes) * (size_t)nlanes);
    for (int ln = 0; ln < nlanes; ln++)
        lanes[ln].active = channels - ln * LG_LANE < LG_LANE ? channels - ln * LG_LANE : LG_LANE;
    for (int c = 0; c < channels; c++)
        clear_state(&states[c], 0, 0, 0, 0, -1, 1);
    return LG_OK;
}

static void clear_lane_column(lg_cpt_lane *lane, int i)
{
    for (int a = 0; a < 2; a++) {
        for (int b = 0; b < 8; b++)
            lane->acc[a].s1[b][i] = lane->acc[a].s2[b][i] = 0.0f;
        lane->acc[a].energy[i] = 0.0f;
    }
    for (int k = 0; k < W; k++) {
        for (int b = 0; b < NL; b++)
            lane->x_re[k][b][i] = lane->x_im[k][b][i] = 0.0f;
        lane->e_ring[k][i] = 0.0f;
    }
}

int lg_cpt_reset(lg_cpt_bank *bank, lg_cpt_lane *lanes, lg_cpt_state *states, int channel)
{
    if (!bank || !lanes || !states || channel < 0 || channel >= bank->channels)
        return LG_E_ARG;
    lg_cpt_lane *lane = &lanes[channel / LG_LANE];
    lg_cpt_state *st = &states[channel];
    clear_lane_column(lane, channel % LG_LANE);
    clear_state(st, 0, bank->pos, lane->subblocks, bank->samples, st->country, st->active);
    return LG_OK;
}

int lg_cpt_set_active(lg_cpt_bank *bank, lg_cpt_lane *lanes, lg_cpt_state *states, int channel, int active)
{
    if (!bank || !lanes || !states)
        return LG_E_ARG;
    if (channel < 0 || channel >= bank->channels)
        return LG_E_RANGE;
    lg_cpt_lane *lane = &lanes[channel / LG_LANE];
    lg_cpt_state *st = &states[channel];
    active = active != 0;
    if (active == st->active)
        return LG_OK;
    lane->active += active ? 1 : -1;
    clear_lane_column(lane, channel % LG_LANE);
    clear_state(st, bank->samples - st->reset_at, bank->pos, lane->subblocks, st->reset_at, st->country, active);
    return LG_OK;
}

int lg_cpt_set_country(lg_cpt_bank *bank, lg_cpt_state *states, int channel, int country)
{
    if (!bank || !states || channel < 0 || channel >= bank->channels || country < -1)
        return LG_E_ARG;
    states[channel].country = country;
    return LG_OK;
}

int lg_cpt_max_events(int channels, int nsamples)
{
    /* At most an end and a begin per channel per sub-block; flush one each. */
    return lg_event_bound(channels, nsamples, 2, M, 1);
}

/* ---- cadence matching -------------------------------------------------- */

/* What one frame of one channel measured. */
typedef struct {
    float share;          /* low band's share of the 35 ms window */
    float low_power;      /* its power (sine power units) */
    const float *pw;      /* per low bin, every LG_LANE floats */
    int hi_bin;           /* strongest SIT bin */
    float hi_share, hi_power, hi_freq;
    float hi_pw[NH];
} frame_view;

static float rel_dev(float a, float b)
{
    return fabsf(a - b) / b;
}

/* How far the observed tone(s) of an on-segment are from a step's
 * frequencies (relative), or a negative value when they cannot be it. */
static float freq_error(const lg_cpt_desc *d, const lg_cpt_segment *seg, const lg_cpt_cadence *c, int s)
{
    float f0 = c->freq[s][0], f1 = c->freq[s][1];
    if (seg->on >= 2) { /* a SIT tone */
        if (f0 < 850.0f || seg->freq[0] <= 0.0f)
            return -1.0f;
        float e = rel_dev(seg->freq[0], f0);
        return e <= SIT_FREQ_DEV ? e : -1.0f;
    }
    if (f0 >= 850.0f || seg->freq[0] <= 0.0f)
        return -1.0f;
    float tol = d->max_freq_dev;
    float am = c->am_hz[s];
    if (am > 0.0f) {
        /* carrier and sidebands: any may lead, another may be second */
        float e = 1.0f;
        for (int k = 0; k < 2; k++) {
            if (seg->freq[k] <= 0.0f)
                continue;
            float best = 1.0f;
            for (int j = -1; j <= 1; j++) {
                float x = rel_dev(seg->freq[k], f0 + j * am);
                best = x < best ? x : best;
            }
            if (best > tol)
                return -1.0f;
            if (k == 0)
                e = best;
        }
        return e;
    }
    float e0 = rel_dev(seg->freq[0], f0);
    float e1 = f1 > 0.0f ? rel_dev(seg->freq[0], f1) : 1.0f;
    float e = e0 < e1 ? e0 : e1;
    /* Dual tones 25-50 Hz apart beat and show as one peak between them. */
    if (f1 > 0.0f && seg->freq[1] <= 0.0f) {
        float em = rel_dev(seg->freq[0], 0.5f * (f0 + f1));
        e = em < e ? em : e;
    }
    if (e > tol)
        return -1.0f;
    if (seg->freq[1] > 0.0f) {
        /* A distinct second tone must be the step's other tone. */
        if (f1 <= 0.0f)
            return -1.0f;
        float o = (e0 < e1) ? f1 : f0;
        float e2 = rel_dev(seg->freq[1], o);
        if (e2 > tol)
            return -1.0f;
    } else if (f1 > 0.0f && fabsf(f1 - f0) >= 100.0f) {
        return -1.0f; /* two tones far apart, and only one heard */
    }
    return e;
}

typedef struct {
    int valid;
    int complete;   /* complete segments judged */
    int complete_on;
    float err;      /* mean relative duration error */
    float ferr;     /* mean relative frequency error */
    int align;      /* step of the segment under way */
    int32_t expires; /* length of the segment under way (samples) beyond which no alignment fits */
    int first;      /* the oldest segment the match covers (see match_at) */
} match_result;

/* The observed pattern: the kept segments and the one under way. */
typedef struct {
    lg_cpt_segment seg[HISTORY + 1];
    int n;
    int first_is_bound;
    int final;      /* the stream has ended: judge on what there is */
} observed;

static int step_is_on(const lg_cpt_cadence *c, int s)
{
    return c->freq[s][0] > 0.0f;
}

static int longest_pause_ms(const lg_cpt_cadence *c)
{
    int longest = 0;
    for (int s = 0; s < c->steps; s++)
        if (!step_is_on(c, s) && c->ms[s] > longest)
            longest = c->ms[s];
    return longest;
}

/* Walks back from the segment under way through the cadence from step a.
 * A cyclic cadence need not explain everything heard: a pause longer than
 * any of its own (speech before the tone counts as pause when it is no
 * tone) is where its pattern began, and the match covers what came after
 * (`first`). Anything else that does not fit rules the alignment out:
 * speech that only looks like a tone for a moment must not start a pattern
 * of its own. */
static match_result match_at(const lg_cpt_desc *d, const lg_cpt_cadence *c, const observed *o, int a)
{
    match_result r = {0, 0, 0, 0.0f, 0.0f, a, INT32_MAX, o->n - 1};
    int i;
    int L = c->steps;
    float err = 0.0f, ferr = 0.0f;
    int nf = 0;
    float lvl_min = 1e9f, lvl_max = -1e9f;
    /* newest segment first, stepping back through the cadence from step a */
    int s = a;
    for (i = o->n - 1; i >= 0; i--, s--) {
        if (s < 0) {
            if (!c->cyclic)
                break; /* what came before a once-only tone does not matter */
            s = L - 1;
        }
        const lg_cpt_segment *g = &o->seg[i];
        int on = g->on != 0;
        if (on != step_is_on(c, s))
            return r;
        int ms = c->ms[s];
        float dur_ms = (float)g->length * (1000.0f / LG_SAMPLE_RATE);
        int ongoing = i == o->n - 1;
        int bound = ongoing || (i == 0 && o->first_is_bound);
        float fe = 0.0f;
        if (on && g->length >= 3 * M && (fe = freq_error(d, g, c, s)) < 0.0f)
            return r;
        if (ms == 0) { /* a tone without end */
            if (!ongoing && !(i == 0 && o->first_is_bound))
                return r;
            goto fits;
        }
        /* A quiet burst (10 dB or more down) may be heard only in part in
         * noise, and the pauses beside it grow by what is lost. */
        int limit = ms;
        if (on && c->gain_db[s] <= QUIET_DB) {
            bound = 1;
        } else if (!on) {
            int prev = (s - 1 + L) % L, next = (s + 1) % L;
            if (step_is_on(c, prev) && c->gain_db[prev] <= QUIET_DB) {
                bound = 1;
                limit += c->ms[prev];
            }
            if (step_is_on(c, next) && c->gain_db[next] <= QUIET_DB) {
                bound = 1;
                limit += c->ms[next];
            }
        }
        if (!on && !ongoing && c->cyclic && r.first < o->n - 1 && dur_ms >= PATTERN_BREAK_MS &&
            dur_ms > longest_pause_ms(c) * BOUND_SLACK)
            break;      /* the pause before the pattern began */
        if (bound) {
            if (dur_ms > limit * BOUND_SLACK)
                return r;
            if (ongoing)
                r.expires = (int32_t)(limit * BOUND_SLACK * (LG_SAMPLE_RATE / 1000)) + 1;
            goto fits;
        }
        float e = fabsf(dur_ms - ms) / ms;
        if (e > d->max_step_error)
            return r;
        err += e;
        r.complete++;
        r.complete_on += on;
    fits:
        /* The segment is part of the pattern: its tone and level count. */
        if (on && g->length >= 3 * M) {
            ferr += fe;
            nf++;
        }
        if (on && g->length >= MIN_JUDGED_BLOCKS * M) {
            float l = g->level_db - c->gain_db[s];
            lvl_min = l < lvl_min ? l : lvl_min;
            lvl_max = l > lvl_max ? l : lvl_max;
        }
        r.first = i;
    }
    if (lvl_max - lvl_min > LEVEL_SPREAD_DB)
        return r;
    r.err = r.complete ? err / r.complete : 0.0f;
    if (r.err > d->max_mean_error)
        return r;
    r.ferr = nf ? ferr / nf : 0.0f;
    r.valid = 1;
    return r;
}

static match_result match_cadence(const lg_cpt_desc *d, const lg_cpt_cadence *c, const observed *o)
{
    match_result best = {0};
    int32_t expires = INT32_MAX;
    for (int a = 0; a < c->steps; a++) {
        match_result r = match_at(d, c, o, a);
        if (!r.valid)
            continue;
        expires = r.expires < expires ? r.expires : expires;
        /* Prefer the alignment that explains more, then fits better. */
        if (!best.valid || r.complete > best.complete ||
            (r.complete == best.complete && r.err + FREQ_WEIGHT * r.ferr < best.err + FREQ_WEIGHT * best.ferr))
            best = r;
    }
    best.expires = expires;
    return best;
}

/* How much of a ringback cadence's long pause names it. */
static int ringback_pause_ms(const lg_cpt_cadence *c)
{
    int longest = longest_pause_ms(c);
    return longest * 3 / 4 < RINGBACK_PAUSE_MS ? longest * 3 / 4 : RINGBACK_PAUSE_MS;
}

/* Enough of the pattern to name the class (cpt.h). */
static int enough(const lg_cpt_desc *d, const lg_cpt_cadence *c, const match_result *r, const observed *o)
{
    const lg_cpt_segment *now = &o->seg[o->n - 1];
    switch (c->cls) {
    case LG_CPT_DIAL:
        /* A dial tone is steady; a held note of music or a sung vowel is not. */
        if (c->steps == 1)
            return now->on && o->n == 1 && now->length >= d->dial_min_blocks * M &&
                   now->spread_db <= DIAL_MAX_SPREAD_DB;
        return r->complete >= c->steps;
    case LG_CPT_RINGBACK: {
        /* One real burst at least: a click or a word and a pause are not ringing. */
        int burst = 0;
        for (int i = r->first; i < o->n; i++)
            if (o->seg[i].on && o->seg[i].length >= RINGBACK_MIN_BURST_MS * (LG_SAMPLE_RATE / 1000))
                burst = 1;
        if (!burst)
            return 0;
        /* Its long pause tells ringback from the rest: under way long enough,
         * or a whole cycle heard. */
        float now_ms = (float)now->length * (1000.0f / LG_SAMPLE_RATE);
        return r->complete >= c->steps || (o->n - r->first >= 2 && !now->on && now_ms >= ringback_pause_ms(c));
    }
    case LG_CPT_BUSY:
    case LG_CPT_CONGESTION:
        /* At the end of the stream two segments do, if they are all that was heard. */
        if (o->final && r->first == 0)
            return r->complete >= 2 && r->complete_on >= 1;
        return r->complete >= 3 && r->complete >= c->steps - 1;
    case LG_CPT_SIT:
        return r->align >= 2 && now->on && now->length >= 19 * M;
    }
    return 0;
}

static int step_fits(const lg_cpt_desc *d, const lg_cpt_cadence *c, const lg_cpt_segment *g)
{
    for (int s = 0; s < c->steps; s++)
        if (step_is_on(c, s) && freq_error(d, g, c, s) >= 0.0f)
            return 1;
    return 0;
}

static int tone_measured(const lg_cpt_segment *g)
{
    return g->on && g->length >= 3 * M;
}

/* Which of the sets of tones `among` (lg_cpt_desc.shape_tones) an
 * on-segment's tone can be (all for a pause or a tone too short to measure). */
static uint64_t tones_fitting(const lg_cpt_desc *d, const lg_cpt_segment *g, uint64_t among)
{
    if (!tone_measured(g))
        return ~(uint64_t)0;
    uint64_t fits = 0;
    if (d->ntones < 64)
        among &= ((uint64_t)1 << d->ntones) - 1;
    for (; among; among &= among - 1) {
        int t = __builtin_ctzll(among);
        if (step_fits(d, &d->cadences[d->shape_rep[d->tones_first[t]]], g))
            fits |= (uint64_t)1 << t;
    }
    return fits;
}

/* Match results of one observation, per shape, computed when first asked,
 * for the shapes the tones heard leave possible. */
typedef struct {
    uint64_t tones_possible;
    uint8_t state[LG_CPT_MAX_CADENCES];   /* per shape: 0 not yet, 1 matched into r, 2 does not fit */
    match_result r[LG_CPT_MAX_CADENCES];
} match_memo;

static void memo_init(match_memo *memo, const lg_cpt_desc *d, observed *o)
{
    memset(memo->state, 0, (size_t)d->nshapes);
    /* A segment that none of a cadence's tones fits rules it out when every
     * match that could name a class must cover that segment: for a cyclic
     * cadence the segment under way and the last finished burst (a match
     * begins after anything it cannot be, see match_at, but enough() wants a
     * whole burst). A once-only cadence is matched against the segments since
     * it began: every alignment that can fit walks over the segment under
     * way, and over the one before a pause under way when the cadence begins
     * with a tone (as every SIT does). */
    lg_cpt_segment *now = &o->seg[o->n - 1];
    uint64_t cyclic = ~(uint64_t)0;
    /* A match may begin anywhere before the segment under way (match_at), but
     * one that can name a class (enough()) covers the last finished burst. */
    for (int i = o->n - 2; i >= 0; i--)
        if (o->seg[i].on) {
            cyclic &= o->seg[i].fits;
            break;
        }
    /* the segment under way: only what the others leave open is worth asking */
    now->fits = tones_fitting(d, now, (cyclic & ~d->once_tones) | d->once_tones);
    cyclic &= now->fits;
    uint64_t once = now->fits;
    if (!now->on && o->n >= 2)
        once = o->seg[o->n - 2].fits;
    memo->tones_possible = (cyclic & ~d->once_tones) | (once & d->once_tones);
}

/* The shape's match, or NULL when it does not fit. */
static const match_result *memo_match(const lg_cpt_desc *d, const observed *o, match_memo *memo, int shape)
{
    if (!memo->state[shape]) {
        int t = d->shape_tones[shape];
        if (t >= 0 && !((memo->tones_possible >> t) & 1)) {
            memo->state[shape] = 2;
        } else {
            memo->r[shape] = match_cadence(d, &d->cadences[d->shape_rep[shape]], o);
            memo->state[shape] = memo->r[shape].valid ? 1 : 2;
        }
    }
    return memo->state[shape] == 1 ? &memo->r[shape] : NULL;
}

/* The first shape the tones heard leave possible, then the next (-1 at the end). */
static int first_possible(const lg_cpt_desc *d, const match_memo *memo, uint64_t *sets_left)
{
    uint64_t left = memo->tones_possible & (d->ntones < 64 ? ((uint64_t)1 << d->ntones) - 1 : ~(uint64_t)0);
    if (!left) {
        *sets_left = 0;
        return d->loose_first;
    }
    int t = __builtin_ctzll(left);
    *sets_left = left & (left - 1);
    return d->tones_first[t];
}

static int next_possible(const lg_cpt_desc *d, int shape, uint64_t *sets_left)
{
    if (d->next_shape[shape] >= 0)
        return d->next_shape[shape];
    if (d->shape_tones[shape] < 0)
        return -1; /* the end of the loose shapes */
    if (!*sets_left)
        return d->loose_first;
    int t = __builtin_ctzll(*sets_left);
    *sets_left &= *sets_left - 1;
    return d->tones_first[t];
}

typedef struct {
    int cls;          /* 0: undecided */
    int cadence;      /* best cadence of that class */
    float confidence;
    int first;        /* the oldest segment its match covers */
} verdict;

static verdict judge(const lg_cpt_desc *d, const observed *o, int country, match_memo *memo)
{
    verdict v = {0, -1, 0.0f, 0};
    /* Two passes: the channel's country first, then everyone's. */
    for (int pass = country >= 0 ? 0 : 1; pass < 2; pass++) {
        int any = 0;
        int votes[LG_CPT_SIT + 1] = {0}, best[LG_CPT_SIT + 1], best_first[LG_CPT_SIT + 1];
        /* Segments explained (a match may begin after something it cannot be,
         * match_at): by the class's matches that are enough to name it, and by
         * those that are not enough yet. */
        int cover[LG_CPT_SIT + 1] = {0}, pending[LG_CPT_SIT + 1] = {0};
        float best_score[LG_CPT_SIT + 1];
        for (int k = 0; k <= LG_CPT_SIT; k++) {
            best[k] = -1;
            best_score[k] = 1e9f;
        }
        uint64_t sets_left;
        for (int shape = first_possible(d, memo, &sets_left); shape >= 0;
             shape = next_possible(d, shape, &sets_left)) {
            const match_result *r = NULL;
            for (int k = d->shape_rep[shape]; k >= 0; k = d->next_in_shape[k]) {
                const lg_cpt_cadence *c = &d->cadences[k];
                if (pass == 0 && c->country != country)
                    continue;
                if (!r && !(r = memo_match(d, o, memo, shape)))
                    break;
                int covered = o->n - r->first;
                int named = enough(d, c, r, o);
                /* The country's own plan fits when it explains all that was heard
                 * or names a class; a part that only fits is not enough to keep
                 * the other plans out. */
                any |= named || covered == o->n;
                if (!named) {
                    pending[c->cls] = covered > pending[c->cls] ? covered : pending[c->cls];
                    continue;
                }
                float score = r->err + FREQ_WEIGHT * r->ferr;
                votes[c->cls]++;
                cover[c->cls] = covered > cover[c->cls] ? covered : cover[c->cls];
                if (score < best_score[c->cls] || (score == best_score[c->cls] && k < best[c->cls])) {
                    best[c->cls] = k;
                    best_score[c->cls] = score;
                    best_first[c->cls] = r->first;
                }
            }
        }
        if (!any)
            continue; /* none of the country's own fits: try everyone's */
        int cls = 0, classes = 0;
        for (int k = 1; k <= LG_CPT_SIT; k++) {
            if (!votes[k])
                continue;
            classes++;
            /* The class that explains most of what was heard; then, as plans
             * disagree on some cadences (250/250 is busy in Sweden, congestion
             * in the US), without a country the class most plans give. */
            if (!cls || cover[k] > cover[cls] ||
                (cover[k] == cover[cls] &&
                 (votes[k] > votes[cls] || (votes[k] == votes[cls] && best_score[k] < best_score[cls]))))
                cls = k;
        }
        if (!cls)
            return v;
        /* Another class that explains as much could still be it: wait, unless
         * the stream has ended. Several classes complete: only a country-less
         * choice may vote. */
        if (!o->final)
            for (int k = 1; k <= LG_CPT_SIT; k++)
                if (k != cls && pending[k] >= cover[cls])
                    return v;
        if (classes > 1 && pass == 0)
            return v;
        v.cls = cls;
        v.cadence = best[cls];
        v.first = best_first[cls];
        float conf = 1.0f - best_score[cls] / (2.0f * d->max_mean_error + FREQ_WEIGHT * d->max_freq_dev);
        if (classes > 1)
            conf *= (float)votes[cls] / (float)(votes[cls] + 1);
        v.confidence = pass == 0 ? conf : 0.8f * conf;
        return v;
    }
    return v;
}

/* ---- segments ---------------------------------------------------------- */

static float level_db(float power)
{
    /* dB relative to the power of a 0 dBm0 sine */
    const float ref = 0.5f * LG_DBM0_PEAK * LG_DBM0_PEAK;
    return 10.0f * log10f(power / ref + 1e-20f);
}

static void push_segment(lg_cpt_state *st, const lg_cpt_segment *g)
{
    if (st->nhist == HISTORY) {
        memmove(&st->hist[0], &st->hist[1], sizeof(st->hist[0]) * (HISTORY - 1));
        st->nhist--;
        st->hist_truncated = 0;
    }
    st->hist[st->nhist++] = *g;
}

static float low_bin_hz(int b)
{
    return (float)LG_SAMPLE_RATE / WN * (float)(b + LOW_FIRST_BIN);
}

/* The power-weighted mean frequency of a bin and its neighbours. */
static float centroid(const float *spec, int b)
{
    float num = 0.0f, den = 0.0f;
    for (int k = b - 1; k <= b + 1; k++) {
        if (k < 0 || k >= NL)
            continue;
        num += spec[k] * low_bin_hz(k);
        den += spec[k];
    }
    return den > 0.0f ? num / den : low_bin_hz(b);
}

/* The dominant tone of a low-band spectrum and a second one, if a distinct
 * peak holds enough power (0 if not). Dual tones closer than three bins
 * show as one (the matcher allows for that). */
static void spectrum_peaks(const float *spec, float freq[2])
{
    int best = 0;
    for (int b = 1; b < NL; b++)
        if (spec[b] > spec[best])
            best = b;
    freq[0] = spec[best] > 0.0f ? centroid(spec, best) : 0.0f;
    freq[1] = 0.0f;
    int second = -1;
    for (int b = 0; b < NL; b++)
        if ((b - best >= SECOND_MIN_BINS || best - b >= SECOND_MIN_BINS) && (second < 0 || spec[b] > spec[second]))
            second = b;
    if (second >= 0 && spec[second] >= SECOND_MIN_RATIO * spec[best]) {
        int lo = second > 0 ? second - 1 : second, hi = second < NL - 1 ? second + 1 : second;
        if (spec[second] >= spec[lo] && spec[second] >= spec[hi])
            freq[1] = centroid(spec, second);
    }
}

/* A tone's spectrum: its peaks (the dominant bin and its neighbours, and a
 * second tone's) hold most of the power. */
static int tonal(const float *spec)
{
    float total = 0.0f;
    for (int b = 0; b < NL; b++)
        total += spec[b];
    if (total <= 0.0f)
        return 0;
    int best = 0;
    for (int b = 1; b < NL; b++)
        if (spec[b] > spec[best])
            best = b;
    float peak = 0.0f;
    int second = -1;
    for (int b = 0; b < NL; b++) {
        if (b >= best - 1 && b <= best + 1)
            peak += spec[b];
        else if ((b - best >= SECOND_MIN_BINS || best - b >= SECOND_MIN_BINS) && (second < 0 || spec[b] > spec[second]))
            second = b;
    }
    if (second >= 0)
        for (int b = second - 1; b <= second + 1; b++)
            if (b >= 0 && b < NL && (b < best - 1 || b > best + 1))
                peak += spec[b];
    return peak >= MIN_PEAK_SHARE * total;
}

static void current_segment(const lg_cpt_state *st, int64_t now, lg_cpt_segment *g)
{
    g->start = st->cur_start;
    g->length = (int32_t)(now > st->cur_start ? now - st->cur_start : 0);
    g->on = st->cur_on;
    int n = st->cur_on >= 2 ? st->cur_hi_count : st->cur_f_count;
    g->level_db = n ? level_db(st->cur_power_sum / n) : -100.0f;
    g->spread_db = st->cur_on == 1 && st->cur_pmin > 0.0f ? 10.0f * log10f(st->cur_pmax / st->cur_pmin) : 0.0f;
    if (st->cur_on >= 2) {
        g->freq[0] = st->cur_hi_count ? st->cur_hi_f_sum / st->cur_hi_count : 0.0f;
        g->freq[1] = 0.0f;
    } else if (st->cur_on == 1) {
        spectrum_peaks(st->cur_spec, g->freq);
    } else {
        g->freq[0] = g->freq[1] = 0.0f;
    }
}

static void emit(lg_event_sink *sink, int channel, int value, int flags, int64_t start, int64_t end, float conf,
                 int cadence)
{
    lg_emit_scored(sink, channel, LG_EVENT_CPT, value, flags, start, end, conf, cadence);
}

static void end_pattern(lg_cpt_state *st, int channel, int64_t at, lg_event_sink *sink)
{
    if (st->value) {
        emit(sink, channel, st->value, LG_EVENT_END, st->value_start, at, 1.0f, st->value_subtype);
        st->value = 0;
    }
}

/* Whether a cadence of class `cls` fits all that was heard since the class
 * was named (the history then begins where its pattern began). */
static int class_fits(const lg_cpt_desc *d, const observed *o, match_memo *memo, int cls)
{
    uint64_t sets_left;
    for (int shape = first_possible(d, memo, &sets_left); shape >= 0; shape = next_possible(d, shape, &sets_left)) {
        const match_result *r;
        if ((d->shape_classes[shape] >> cls) & 1 && (r = memo_match(d, o, memo, shape)) && r->first == 0)
            return 1;
    }
    return 0;
}

/* The length of the segment under way at which the matcher's answer may
 * change: a cadence that fits now stops fitting, or a threshold of enough()
 * or match_at() is passed. Later segments re-run it anyway; the measured
 * level and frequencies of the segment under way settle as it grows, so it
 * is re-run at least every RECHECK_SAMPLES. */
static int32_t next_check(const lg_cpt_desc *d, const observed *o, const match_memo *memo)
{
    int32_t now = o->seg[o->n - 1].length;
    int32_t next = now + RECHECK_SAMPLES;
#define LG_CPT_SOONER(x) do { int32_t t_ = (x); if (t_ > now && t_ < next) next = t_; } while (0)
    LG_CPT_SOONER(3 * M);
    LG_CPT_SOONER(MIN_JUDGED_BLOCKS * M);
    LG_CPT_SOONER(19 * M);
    LG_CPT_SOONER(RINGBACK_MIN_BURST_MS * (LG_SAMPLE_RATE / 1000));
    LG_CPT_SOONER(d->dial_min_blocks * M);
    for (int shape = 0; shape < d->nshapes; shape++) {
        if (memo->state[shape] != 1)
            continue;
        LG_CPT_SOONER(memo->r[shape].expires);
        const lg_cpt_cadence *c = &d->cadences[d->shape_rep[shape]];
        if (c->cls == LG_CPT_RINGBACK)
            LG_CPT_SOONER(ringback_pause_ms(c) * (LG_SAMPLE_RATE / 1000));
    }
#undef LG_CPT_SOONER
    return next;
}

/* Runs the matcher on what the channel has heard and reports a new class,
 * or the end of the one reported when nothing of its class fits any more. */
static void evaluate(const lg_cpt_desc *d, lg_cpt_state *st, int64_t now, int final, int channel,
                     lg_event_sink *sink)
{
    observed o;
    o.final = final;
    memcpy(o.seg, st->hist, sizeof(st->hist[0]) * (size_t)st->nhist);
    o.n = st->nhist;
    current_segment(st, now, &o.seg[o.n]);
    o.n++;
    o.first_is_bound = 1; /* the first burst heard may have begun before */
    if (st->nhist == 0 && !st->cur_on)
        return;
    match_memo memo;
    memo_init(&memo, d, &o);
    if (st->value) {
        /* A class is reported: all that matters is whether it still fits. */
        if (!class_fits(d, &o, &memo, st->value)) {
            /* The segment under way broke the pattern: what came before it
             * is done with, and must not name the same pattern again. */
            end_pattern(st, channel, st->cur_start, sink);
            st->nhist = 0;
            st->next_check = 0;
            return;
        }
    } else {
        verdict v = judge(d, &o, st->country, &memo);
        if (v.cls) {
            st->value = v.cls;
            st->value_subtype = v.cadence;
            st->value_start = o.seg[v.first].start;
            /* What came before the pattern is not part of it (match_at). */
            int drop = v.first < st->nhist ? v.first : st->nhist;
            if (drop > 0) {
                memmove(&st->hist[0], &st->hist[drop], sizeof(st->hist[0]) * (size_t)(st->nhist - drop));
                st->nhist -= drop;
            }
            emit(sink, channel, v.cls, LG_EVENT_BEGIN, st->value_start, -1, v.confidence, v.cadence);
        }
    }
    st->next_check = next_check(d, &o, &memo);
}

/* Closes the segment under way at `at` and starts one of kind `on`. */
static void start_segment(const lg_cpt_desc *d, lg_cpt_state *st, int on, int64_t at, int not_a_tone)
{
    lg_cpt_segment g;
    current_segment(st, at, &g);
    if (g.on == 1 && (not_a_tone || g.length < MIN_TONE_MS * (LG_SAMPLE_RATE / 1000) || !tonal(st->cur_spec))) {
        /* Too short for any plan's burst, or spread over the band (a word
         * of cross-talk, a click): part of the silence around it. */
        if (st->nhist > 0 && !st->hist[st->nhist - 1].on) {
            g.start = st->hist[--st->nhist].start;
            g.length = (int32_t)(at - g.start);
        }
        g.on = 0;
        if (!on) {
            st->cur_on = 0;
            st->cur_start = g.start;
            st->cur_power_sum = st->cur_hi_f_sum = st->cur_pmin = st->cur_pmax = 0.0f;
            st->cur_f_count = st->cur_hi_count = 0;
            memset(st->cur_spec, 0, sizeof(st->cur_spec));
            return;
        }
    }
    int keep = g.length > 0;
    if (!g.on && st->nhist == 0)
        keep = 0; /* silence before any tone */
    if (!g.on && g.length > (int64_t)PATTERN_GAP_MS * (LG_SAMPLE_RATE / 1000)) {
        st->nhist = 0; /* a new pattern begins */
        keep = 0;
    }
#ifdef LG_CPT_TRACE
    fprintf(stderr, "seg on=%d start=%.3f dur=%d ms lvl=%.1f f=%.1f/%.1f keep=%d\n", g.on, g.start / 8000.0,
            g.length / 8, g.level_db, g.freq[0], g.freq[1], keep);
#endif
    if (keep) {
        g.fits = tones_fitting(d, &g, ~(uint64_t)0);
        push_segment(st, &g);
    }
    st->cur_on = on;
    st->cur_start = at;
    st->cur_power_sum = st->cur_hi_f_sum = st->cur_pmin = st->cur_pmax = 0.0f;
    st->cur_f_count = st->cur_hi_count = 0;
    memset(st->cur_spec, 0, sizeof(st->cur_spec));
}

static void account(lg_cpt_state *st, const frame_view *f)
{
    if (st->cur_on == 1) {
        st->cur_power_sum += f->low_power;
        st->cur_f_count++;
        if (st->cur_f_count > ONSET_FRAMES) {
            st->cur_pmin = st->cur_f_count == ONSET_FRAMES + 1 || f->low_power < st->cur_pmin ? f->low_power
                                                                                              : st->cur_pmin;
            st->cur_pmax = f->low_power > st->cur_pmax ? f->low_power : st->cur_pmax;
        }
        for (int b = 0; b < NL; b++)
            st->cur_spec[b] += f->pw[b * LG_LANE];
    } else if (st->cur_on >= 2) {
        st->cur_power_sum += f->hi_power;
        st->cur_hi_f_sum += f->hi_freq;
        st->cur_hi_count++;
    }
}

/* Whether a frame's low band is mostly where the segment's tone is: its
 * power in the segment's peak bins (the strongest and its neighbours, and
 * a second tone's). */
static int same_tone(const float *spec, const float *pw, float total)
{
    int best = 0;
    for (int b = 1; b < NL; b++)
        if (spec[b] > spec[best])
            best = b;
    int second = -1;
    for (int b = 0; b < NL; b++)
        if ((b - best >= SECOND_MIN_BINS || best - b >= SECOND_MIN_BINS) && (second < 0 || spec[b] > spec[second]))
            second = b;
    if (second >= 0 && spec[second] < SECOND_MIN_RATIO * spec[best])
        second = -1;
    float inside = 0.0f;
    for (int b = 0; b < NL; b++)
        if ((b >= best - 1 && b <= best + 1) || (second >= 0 && b >= second - 1 && b <= second + 1))
            inside += pw[b * LG_LANE];
    return inside >= SAME_TONE_SHARE * total;
}

/* The kind of segment one frame shows, given the one under way. */
static int frame_kind(const lg_cpt_desc *d, const lg_cpt_state *st, const frame_view *f)
{
    if (st->cur_on == 1 && st->cur_f_count >= 3 && !same_tone(st->cur_spec, f->pw, f->low_power))
        return 0; /* another sound took over: the tone ended */
    if (st->cur_on == 1 && st->cur_f_count > 0) {
        float mean = st->cur_power_sum / st->cur_f_count;
        if (f->share >= d->hold_share && f->low_power >= mean * 0.063f /* -12 dB */ &&
            f->low_power >= d->min_power)
            return 1;
    }
    if (st->cur_on >= 2 && st->cur_hi_count > 0 && f->hi_bin == st->cur_on - 2) {
        float mean = st->cur_power_sum / st->cur_hi_count;
        if (f->hi_share >= d->hold_share && f->hi_power >= mean * 0.063f && f->hi_power >= d->min_power)
            return st->cur_on;
    }
    if (f->share >= d->min_share && f->low_power >= d->min_power)
        return 1;
    if (f->hi_share >= HI_MIN_SHARE && f->hi_power >= d->min_power)
        return 2 + f->hi_bin;
    return 0;
}

/* The time a segment of `kind` began (rising) or the one under way ended
 * (falling): where the power of that kind crossed half its level, from the
 * frames kept. A window's power grows linearly with the share of the
 * window the tone fills, so the crossing is where the window's centre
 * meets the edge. */
static int64_t place_edge(const lg_cpt_state *st, int kind, int rising, float level, int64_t fallback)
{
    int idx = kind >= 2 ? kind - 1 : 0;
    int64_t centre = kind >= 2 ? M / 2 : WN / 2;
    float half = 0.5f * level;
    int n = st->frames < LG_CPT_RING ? st->frames : LG_CPT_RING;
    /* newest first: the last frame on the far side of half the level */
    for (int k = 1; k < n; k++) {
        int a = (st->frames - 1 - k) % LG_CPT_RING, b = (st->frames - k) % LG_CPT_RING;
        float pa = st->ring_power[a][idx], pb = st->ring_power[b][idx];
        int crossed = rising ? (pa < half && pb >= half) : (pa >= half && pb < half);
        if (crossed) {
            float frac = (half - pa) / (pb - pa);
            int64_t ta = st->ring_end[a] - centre;
            int64_t t = ta + (int64_t)(frac * (float)(st->ring_end[b] - st->ring_end[a]));
            return t < 0 ? 0 : t;
        }
    }
    return fallback;
}

static float kind_power(const frame_view *f, int kind)
{
    return kind >= 2 ? f->hi_pw[kind - 2] : f->low_power;
}

static void on_frame(const lg_cpt_desc *d, lg_cpt_state *st, const frame_view *f, int64_t sb, int channel,
                     lg_event_sink *sink)
{
    int64_t end = st->origin + (sb + 1) * M;
    int slot = st->frames % LG_CPT_RING;
    st->ring_power[slot][0] = f->low_power;
    for (int h = 0; h < NH; h++)
        st->ring_power[slot][1 + h] = f->hi_pw[h];
    st->ring_end[slot] = end;
    st->frames++;
    int kind = frame_kind(d, st, f);
    int changed = 0;
    if (kind == 1 && st->cur_on == 1 && st->cur_f_count >= 3 &&
        f->low_power > JUMP_RATIO * (st->cur_power_sum / st->cur_f_count)) {
        /* Much louder than the segment so far: a tone starting on top of
         * cross-talk. The quiet part is a segment of its own. */
        int64_t at = place_edge(st, 1, 1, f->low_power, end - WN / 2);
        if (at <= st->cur_start)
            at = end - WN / 2;
        start_segment(d, st, 1, at, 1);
        st->pend_blocks = 0;
        account(st, f);
        changed = 1;
    } else if (kind == st->cur_on) {
        st->pend_blocks = 0;
        account(st, f);
    } else if (st->pend_blocks > 0 && kind == st->cur_pending) {
        if (++st->pend_blocks >= d->min_segment_blocks) {
            /* Place the change at the tone's half-level crossing: the end of
             * the tone under way, or else the start of the new one. */
            int64_t at;
            if (st->cur_on && st->cur_f_count + st->cur_hi_count > 0) {
                int n = st->cur_on >= 2 ? st->cur_hi_count : st->cur_f_count;
                at = place_edge(st, st->cur_on, 0, st->cur_power_sum / n, st->pend_start);
            } else {
                at = place_edge(st, kind, 1, kind_power(f, kind), st->pend_start);
            }
            if (at <= st->cur_start)
                at = st->pend_start;
            start_segment(d, st, kind, at, 0);
            st->pend_blocks = 0;
            changed = 1;
            account(st, f);
        }
    } else {
        /* Times: the low-band window is centred 20 ms before the sub-block's
         * end, a SIT bin's sub-block 4 ms before it. */
        int64_t t = end - (kind >= 2 ? M / 2 : WN / 2);
        st->cur_pending = kind;
        st->pend_start = t < 0 ? 0 : t;
        st->pend_blocks = 1;
    }
    /* What has been heard of the segment under way: up to the centre of
     * the last frame, or to where a change began that is not confirmed yet. */
    int64_t heard = st->pend_blocks > 0 ? st->pend_start : end - (st->cur_on >= 2 ? M / 2 : WN / 2);
    if (changed || ((st->nhist > 0 || st->cur_on) && heard - st->cur_start >= st->next_check))
        evaluate(d, st, heard, 0, channel, sink);
    if (!st->cur_on && st->nhist > 0 && end - st->cur_start > (int64_t)PATTERN_GAP_MS * (LG_SAMPLE_RATE / 1000)) {
        end_pattern(st, channel, st->cur_start, sink);
        st->nhist = 0;
    }
}

/* ---- the lane's sub-block ---------------------------------------------- */

LG_MULTIVERSION __attribute__((noinline))
static void finish_subblock(const lg_cpt_desc *d, lg_cpt_lane *lane, lg_cpt_state *states, int first_channel,
                            int nvalid, lg_event_sink *sink)
{
    float re[NB][LG_LANE], im[NB][LG_LANE];
    for (int b = 0; b < NB; b++) {
        lg_goertzel_acc *acc = &lane->acc[b / 8];
        int k = b % 8;
        for (int i = 0; i < LG_LANE; i++) {
            float s1 = acc->s1[k][i], s2 = acc->s2[k][i];
            re[b][i] = d->x_rot_re[b] * s1 - d->w_rot_re[b] * s2;
            im[b][i] = d->x_rot_im[b] * s1 - d->w_rot_im[b] * s2;
            acc->s1[k][i] = acc->s2[k][i] = 0.0f;
        }
    }
    /* Low bins into the window ring, referenced to the lane's sub-block 0:
     * on the window's DFT grid the rotation repeats every W sub-blocks. */
    int slot = (int)(lane->subblocks % W);
    for (int b = 0; b < NL; b++) {
        float cr = d->slot_rot_re[slot][b], ci = d->slot_rot_im[slot][b];
        for (int i = 0; i < LG_LANE; i++) {
            lane->x_re[slot][b][i] = re[b][i] * cr - im[b][i] * ci;
            lane->x_im[slot][b][i] = re[b][i] * ci + im[b][i] * cr;
        }
    }
    for (int i = 0; i < LG_LANE; i++) {
        lane->e_ring[slot][i] = lane->acc[0].energy[i];
        lane->acc[0].energy[i] = lane->acc[1].energy[i] = 0.0f;
    }
    lane->subblocks++;
    /* The window's low-band spectrum and the sub-block's SIT bins, for the
     * whole lane at once. */
    const float to_power_win = 2.0f / ((float)WN * (float)WN);
    const float to_power_sb = 2.0f / ((float)M * (float)M);
    float pw[NL][LG_LANE], low[LG_LANE], mean_power[LG_LANE], hp[NH][LG_LANE];
    for (int i = 0; i < LG_LANE; i++) {
        float energy = 0.0f;
        for (int k = 0; k < W; k++)
            energy += lane->e_ring[k][i];
        mean_power[i] = energy / WN;
        low[i] = 0.0f;
    }
    for (int b = 0; b < NL; b++) {
        for (int i = 0; i < LG_LANE; i++) {
            float sr = 0.0f, si = 0.0f;
            for (int k = 0; k < W; k++) {
                sr += lane->x_re[k][b][i];
                si += lane->x_im[k][b][i];
            }
            pw[b][i] = (sr * sr + si * si) * to_power_win;
            low[i] += pw[b][i];
        }
    }
    for (int h = 0; h < NH; h++)
        for (int i = 0; i < LG_LANE; i++)
            hp[h][i] = (re[NL + h][i] * re[NL + h][i] + im[NL + h][i] * im[NL + h][i]) * to_power_sb;
    for (int i = 0; i < nvalid; i++) {
        lg_cpt_state *st = &states[i];
        int64_t sb = lane->subblocks - 1 - st->first_subblock;
        if (!st->active || sb < W - 1) /* off, or the window still holds audio from before the reset */
            continue;
        frame_view f;
        f.share = mean_power[i] > 0.0f ? low[i] / mean_power[i] : 0.0f;
        f.low_power = low[i];
        f.pw = &pw[0][i];
        /* SIT bins over this sub-block. */
        float sb_power = lane->e_ring[slot][i] / M;
        int hb = 0;
        for (int h = 0; h < NH; h++) {
            f.hi_pw[h] = hp[h][i];
            if (hp[h][i] > hp[hb][i])
                hb = h;
        }
        f.hi_bin = hb;
        f.hi_power = hp[hb][i];
        f.hi_share = sb_power > 0.0f ? f.hi_power / sb_power : 0.0f;
        f.hi_freq = HI_HZ[hb];
        /* The frequency only counts in a SIT segment (frame_kind, account). */
        if (f.hi_share >= HI_MIN_SHARE || f.hi_share >= d->hold_share) {
            float pr = st->prev_hi_re[hb], pi = st->prev_hi_im[hb];
            float xr = re[NL + hb][i], xi = im[NL + hb][i];
            /* The sub-block DFT is referenced to its own start: a tone at the
             * bin advances by w*M between sub-blocks. */
            float wr = d->w_rot_re[NL + hb], wi = -d->w_rot_im[NL + hb]; /* e^{+jwM} */
            float er = pr * wr - pi * wi, ei = pr * wi + pi * wr;         /* expected */
            float ar = xr * er + xi * ei, ai = xi * er - xr * ei;
            if (pr != 0.0f || pi != 0.0f)
                f.hi_freq += atan2f(ai, ar) * (float)(LG_SAMPLE_RATE / (2.0 * PI_D * M));
        }
        for (int h = 0; h < NH; h++) {
            st->prev_hi_re[h] = re[NL + h][i];
            st->prev_hi_im[h] = im[NL + h][i];
        }
        on_frame(d, st, &f, sb, first_channel + i, sink);
    }
}

/* ---- batch entry points ------------------------------------------------ */

int lg_cpt_feed(const lg_cpt_desc *d, lg_cpt_bank *bank, lg_cpt_lane *lanes, lg_cpt_state *states,
                const void *samples, int encoding, int stride, int nsamples, lg_event *events, int max_events)
{
    if (!d || !bank || !lanes || !states || !events || lg_goertzel_check_feed(samples, encoding, stride, nsamples))
        return LG_E_ARG;
    int bound = lg_cpt_max_events(bank->channels, nsamples);
    if (bound < 0)
        return bound;
    if (max_events < bound)
        return LG_E_SPACE;
    lg_event_sink sink = {events, 0};
    float x[LG_GOERTZEL_MAX_CHUNK][LG_LANE] __attribute__((aligned(32)));
    int nlanes = (bank->channels + LG_LANE - 1) / LG_LANE;
    for (int ln = 0; ln < nlanes; ln++) {
        lg_cpt_lane *lane = &lanes[ln];
        int first = ln * LG_LANE;
        int nvalid = bank->channels - first < LG_LANE ? bank->channels - first : LG_LANE;
        int at = bank->pos;
        if (!lane->active) { /* nothing to analyse: the lane's sub-blocks are only counted */
            lane->subblocks += (at + nsamples) / M;
            continue;
        }
        for (int done = 0; done < nsamples;) {
            int n = M - at < nsamples - done ? M - at : nsamples - done;
            lg_goertzel_gather(samples, encoding, stride, first, nvalid, done, n, x);
            lg_goertzel_run8(&d->coef[0], lane->acc[0].s1, lane->acc[0].s2, lane->acc[0].energy,
                             (const float (*)[LG_LANE])x, n);
            lg_goertzel_run8(&d->coef[8], lane->acc[1].s1, lane->acc[1].s2, lane->acc[1].energy,
                             (const float (*)[LG_LANE])x, n);
            done += n;
            at += n;
            if (at == M) {
                at = 0;
                finish_subblock(d, lane, &states[first], first, nvalid, &sink);
            }
        }
    }
    bank->pos = (int32_t)((bank->pos + nsamples) % M);
    bank->samples += nsamples;
    return sink.count;
}

int lg_cpt_flush(const lg_cpt_desc *d, lg_cpt_bank *bank, lg_cpt_lane *lanes, lg_cpt_state *states,
                 lg_event *events, int max_events)
{
    if (!d || !bank || !lanes || !states || !events)
        return LG_E_ARG;
    if (max_events < 2 * bank->channels)
        return LG_E_SPACE;
    lg_event_sink sink = {events, 0};
    for (int c = 0; c < bank->channels; c++) {
        lg_cpt_state *st = &states[c];
        if (!st->active)
            continue;
        int64_t sb = lanes[c / LG_LANE].subblocks - st->first_subblock;
        int64_t now = st->origin + sb * M;
        /* The stream ends: a pattern not named yet is judged on what was
         * heard, with less evidence (a call attempt abandoned, a short clip). */
        if (!st->value && (st->nhist > 0 || st->cur_on)) {
            int64_t heard = st->pend_blocks > 0 ? st->pend_start : now - (st->cur_on >= 2 ? M / 2 : WN / 2);
            evaluate(d, st, heard, 1, c, &sink);
        }
        end_pattern(st, c, now, &sink);
    }
    return sink.count;
}
