/* DTMF receiver for many channels at once; the design is in dtmf_rx.h. */
#include "dtmf_rx.h"
#include "goertzel.h"
#include "lg_simd.h"

#include <math.h>
#include <string.h>

#define M LG_DTMF_SUBBLOCK
#define W LG_DTMF_WINDOW
#define L (M * W) /* samples per analysis window */

/* A sub-block counts as fully covered by the tone when its amplitude is at
 * least FULL_RATIO of the digit's strongest sub-block; below EDGE_FLOOR it is
 * taken as noise when digit edges are placed. */
#define FULL_RATIO 0.7f
#define EDGE_FLOOR 0.2f
/* A window may be this little tone and still count for a key; what a key
 * needs on average is decided when it is confirmed. */
#define WINDOW_FRACTION_FLOOR 0.1f
/* Before a key begins, the window just ahead of it may hold at most this
 * much of the key's steady power at either of its frequencies. */
#define MAX_ONSET_RATIO 0.3f
/* One window's frequency may stray this much further than the key's mean
 * may: noise moves single estimates, a real keypad's tones do not move. */
#define WINDOW_DEV_MARGIN 1.25f
/* A window continues a key only with this share of the key's peak power
 * (the tone covers about half of it): windows that merely graze a tone
 * across a pause must not bridge it. */
#define CONTINUE_RATIO 0.25f
/* A key is confirmed only in a window holding this share of its peak power,
 * i.e. while the tone is still there: a tone too short to reach min_on_ms is
 * gone from the window by then. */
#define CONFIRM_RATIO 0.5f
/* Windows without it after which a key that is not yet confirmed is dropped. */
#define CANDIDATE_GAP_WINDOWS 5
/* A key buried in speech (mean share below min_tone_fraction): the evidence
 * it needs instead. Chosen on the corpus' dev split where talk-off and
 * buried keys overlap least; see DEVELOPERS.md for the measurements. */
#define BURIED_MIN_FRACTION 0.15f
#define BURIED_MAX_ONSET_RATIO 0.1f
#define BURIED_MIN_PEAK_DB 8.0f
#define BURIED_MAX_DEV_SPAN 0.010f
#define BURIED_MIN_WINDOWS 10
/* A key whose tones hold under this share of the energy must also be steady:
 * speech makes DTMF-like pairs of two harmonics of one voice, and they glide
 * together as the pitch moves. */
#define CLEAR_FRACTION 0.6f
#define MAX_DEV_SPAN 0.012f

static const float PI_F = 3.14159265358979f;

void lg_dtmf_rx_params_default(lg_dtmf_rx_params *p)
{
    p->min_level_dbm0 = -38.0f;
    p->max_normal_twist_db = 10.0f;
    p->max_reverse_twist_db = 6.0f;
    p->max_freq_dev_pct = 2.0f;
    p->min_tone_fraction = 0.55f;
    p->min_peak_ratio_db = 3.0f;
    p->min_on_ms = 32;
    p->min_off_ms = 40;
}

static float db_to_power_ratio(float db)
{
    return powf(10.0f, db / 10.0f);
}

/* Power gain of the L-sample rectangular window for a tone `dev_hz` off the
 * frequency it is tuned to. Held above 0.1: near the window's first null
 * (66.7 Hz off, reachable only with a wide max_freq_dev_pct) dividing by it
 * would turn noise into level. */
static float window_gain_exact(double dev_hz)
{
    double a = 3.14159265358979323846 * dev_hz / LG_SAMPLE_RATE;
    if (fabs(a) < 1e-9)
        return 1.0f;
    double g = sin(a * L) / (L * sin(a));
    return g * g > 0.1 ? (float)(g * g) : 0.1f;
}

int lg_dtmf_rx_params_bad_field(const lg_dtmf_rx_params *p)
{
    /* Negated comparisons so that NaN counts as out of range. */
    if (!(p->min_level_dbm0 >= -70.0f && p->min_level_dbm0 <= 0.0f))
        return 0;
    if (!(p->max_normal_twist_db >= 0.0f && p->max_normal_twist_db <= 20.0f))
        return 1;
    if (!(p->max_reverse_twist_db >= 0.0f && p->max_reverse_twist_db <= 20.0f))
        return 2;
    /* Up to 4 %: with the per-window margin the phase advance stays under
     * 180 degrees per sub-block, so it is measured without ambiguity. */
    if (!(p->max_freq_dev_pct >= 0.5f && p->max_freq_dev_pct <= 4.0f))
        return 3;
    if (!(p->min_tone_fraction > 0.0f && p->min_tone_fraction <= 1.0f))
        return 4;
    if (!(p->min_peak_ratio_db >= 0.0f && p->min_peak_ratio_db <= 40.0f))
        return 5;
    if (p->min_on_ms < 20 || p->min_on_ms > 1000)
        return 6;
    if (p->min_off_ms < 20 || p->min_off_ms > 1000)
        return 7;
    return -1;
}

int lg_dtmf_rx_desc_init(lg_dtmf_rx_desc *d, const lg_dtmf_rx_params *p)
{
    if (!d || !p)
        return LG_E_ARG;
    if (lg_dtmf_rx_params_bad_field(p) >= 0)
        return LG_E_RANGE;

    memset(d, 0, sizeof(*d));
    float peak = lg_dbm0_to_peak(p->min_level_dbm0);
    d->min_power = 0.5f * peak * peak;
    d->normal_twist = db_to_power_ratio(p->max_normal_twist_db);
    d->reverse_twist = db_to_power_ratio(p->max_reverse_twist_db);
    d->tone_fraction = p->min_tone_fraction;
    d->max_mean_dev = p->max_freq_dev_pct / 100.0f;
    d->peak_ratio = db_to_power_ratio(p->min_peak_ratio_db);
    d->min_on_samples = p->min_on_ms * LG_SAMPLE_RATE / 1000;
    /* A pause of P ms spoils about (P + 6) / 5 windows; a dropout under P / 2
     * spoils at most (P / 2 + 6) / 5. End a digit half way between. */
    d->end_windows = (p->min_off_ms - 5) / 5;
    if (d->end_windows < 2)
        d->end_windows = 2;
    for (int b = 0; b < LG_DTMF_BINS; b++) {
        float hz = (b < 4) ? lg_dtmf_row_hz[b] : lg_dtmf_col_hz[b - 4];
        double w = 2.0 * 3.14159265358979323846 * hz / LG_SAMPLE_RATE;
        d->bin_hz[b] = hz;
        d->max_dev_hz[b] = hz * WINDOW_DEV_MARGIN * p->max_freq_dev_pct / 100.0f;
        double cone = 2.0 * 3.14159265358979323846 * d->max_dev_hz[b] * M / LG_SAMPLE_RATE;
        d->cone_sin[b] = (float)sin(cone);
        d->cone_cos[b] = (float)cos(cone);
        d->coef[b] = (float)(2.0 * cos(w));
        d->x_rot1_re[b] = (float)cos(-w * (M - 1));
        d->x_rot1_im[b] = (float)sin(-w * (M - 1));
        d->w_rot1_re[b] = (float)cos(-w * M);
        d->w_rot1_im[b] = (float)sin(-w * M);
        d->w_rot2_re[b] = (float)cos(-2.0 * w * M);
        d->w_rot2_im[b] = (float)sin(-2.0 * w * M);
    }
    for (int k = 0; k < LG_DTMF_GAIN_STEPS; k++)
        d->gain[k] = window_gain_exact(0.5 * k);
    for (int b = 0; b < LG_DTMF_BINS; b++)
        d->edge_gain[b] = window_gain_exact(d->max_dev_hz[b]);
    return LG_OK;
}

static void clear_lane_column(lg_dtmf_rx_lane *lane, int i)
{
    for (int b = 0; b < LG_DTMF_BINS; b++) {
        lane->acc.s1[b][i] = lane->acc.s2[b][i] = 0.0f;
        for (int h = 0; h < 2; h++)
            lane->y_re[h][b][i] = lane->y_im[h][b][i] = 0.0f;
        for (int h = 0; h < W + 1; h++)
            lane->y_pow[h][b][i] = 0.0f;
        for (int h = 0; h < W; h++)
            lane->x_re[h][b][i] = lane->x_im[h][b][i] = 0.0f;
    }
    lane->acc.energy[i] = 0.0f;
    for (int h = 0; h < W; h++)
        lane->e_sub[h][i] = 0.0f;
}

/* Forgets what the channel heard; its clock (origin, first_subblock) stays. */
static void restart_state(lg_dtmf_rx_state *st)
{
    int64_t origin = st->origin, first_subblock = st->first_subblock;
    memset(st, 0, sizeof(*st));
    st->phase = LG_DTMF_IDLE;
    st->key = -1;
    st->origin = origin;
    st->first_subblock = first_subblock;
}

static void clear_state(lg_dtmf_rx_state *st, int32_t pos, int64_t lane_subblocks)
{
    restart_state(st);
    /* Channel time 0 is now; the bank's current sub-block began `pos` ago
     * and is the channel's sub-block 0. */
    st->origin = -(int64_t)pos;
    st->first_subblock = lane_subblocks;
}

int lg_dtmf_rx_bank_init(lg_dtmf_rx_bank *bank, lg_dtmf_rx_lane *lanes, lg_dtmf_rx_state *states,
                         int channels)
{
    if (!bank || !lanes || !states || channels < 1)
        return LG_E_ARG;
    bank->samples = 0;
    bank->pos = 0;
    bank->channels = channels;
    int nlanes = (channels + LG_LANE - 1) / LG_LANE;
    memset(lanes, 0, sizeof(*lanes) * (size_t)nlanes);
    for (int ln = 0; ln < nlanes; ln++)
        lanes[ln].acc.active = lg_goertzel_lane_mask(channels, ln);
    for (int c = 0; c < channels; c++)
        clear_state(&states[c], 0, 0);
    return LG_OK;
}

/* A reset leaves the channel on or off as it was. */
int lg_dtmf_rx_reset(lg_dtmf_rx_bank *bank, lg_dtmf_rx_lane *lanes, lg_dtmf_rx_state *states,
                     int channel)
{
    if (!bank || !lanes || !states || channel < 0 || channel >= bank->channels)
        return LG_E_ARG;
    lg_dtmf_rx_lane *lane = &lanes[channel / LG_LANE];
    clear_lane_column(lane, channel % LG_LANE);
    lane->tracking &= ~(1u << (channel % LG_LANE));
    clear_state(&states[channel], bank->pos, lane->subblocks);
    return LG_OK;
}

int lg_dtmf_rx_set_active(lg_dtmf_rx_bank *bank, lg_dtmf_rx_lane *lanes, lg_dtmf_rx_state *states, int channel,
                          int active)
{
    if (!bank || !lanes || !states)
        return LG_E_ARG;
    if (channel < 0 || channel >= bank->channels)
        return LG_E_RANGE;
    lg_dtmf_rx_lane *lane = &lanes[channel / LG_LANE];
    int i = channel % LG_LANE;
    uint32_t bit = 1u << i;
    if (!active == !(lane->acc.active & bit))
        return LG_OK;
    /* Both ways the channel's analysis starts over: off drops a key under
     * way without its END; on must not judge windows mixing the sub-blocks
     * computed before it went off (or left stale while its lane was idle)
     * with new ones. */
    clear_lane_column(lane, i);
    lane->tracking &= ~bit;
    restart_state(&states[channel]);
    if (active)
        lane->acc.active |= bit;
    else
        lane->acc.active &= ~bit;
    return LG_OK;
}

int lg_dtmf_rx_max_events(int channels, int nsamples)
{
    /* At most two events per channel per completed sub-block. */
    return lg_event_bound(channels, nsamples, 2, M, 1);
}

/* ---- decisions, once per sub-block ------------------------------------ */

/* What the lane screen found per channel: whether the window could hold a
 * key, the strongest bin of each group, and the weaker group's peak over its
 * next bin. */
typedef struct {
    int maybe[LG_LANE];
    int row[LG_LANE], col[LG_LANE];
    float peak_ratio[LG_LANE];
    float row_dev_hz[LG_LANE], col_dev_hz[LG_LANE]; /* the winners' offsets from their bins */
} screen_result;

/* One sub-block's results and the history the decisions read, as pointers
 * into the lane's rings: [bin][lane] arrays. */
typedef float lane_bins[LG_LANE];
typedef struct {
    const lane_bins *x_re, *x_im;                 /* this sub-block */
    const lane_bins *hist_re[W - 1], *hist_im[W - 1]; /* the sub-blocks before it, oldest first */
    const lane_bins *y_re, *y_im;                 /* the window ending now */
    const lane_bins *prev_re, *prev_im;           /* the window one sub-block ago */
    const lane_bins *power;                       /* |Y|^2 now */
    const lane_bins *onset_power;                 /* |Y|^2 of the window that ended W sub-blocks ago */
    float window_energy[LG_LANE];
} subblock_result;

/* A key is reported only once every test has passed; its confidence says
 * how much of what was heard it was: its two tones' mean share of the
 * windows' energy (near 1 on a quiet line, lower over speech or noise). */
static void emit(lg_event_sink *sink, int channel, int key, int flags, int64_t start, int64_t end, float confidence)
{
    lg_emit(sink, channel, LG_EVENT_DTMF, (unsigned char)lg_dtmf_keys[key], flags, start, end, confidence);
}

/* window_gain_exact from the descriptor's table (the audio path has no time
 * for two sines per window); the offset is at most 100 Hz by construction. */
static float window_gain(const lg_dtmf_rx_desc *d, float dev_hz)
{
    float at = fabsf(dev_hz) * 2.0f;
    int k = (int)at;
    if (k >= LG_DTMF_GAIN_STEPS - 1)
        return d->gain[LG_DTMF_GAIN_STEPS - 1];
    float frac = at - (float)k;
    return d->gain[k] + frac * (d->gain[k + 1] - d->gain[k]);
}

/* 10 log10(x) for x > 0 to within 0.03 dB: the exponent, plus a quadratic
 * for the mantissa's log2 (an average against an 8 dB limit needs no more). */
static float fast_db(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof(bits));
    float exponent = (float)((int)(bits >> 23) - 127);
    bits = (bits & 0x007FFFFFu) | 0x3F800000u; /* mantissa in [1, 2) */
    float m;
    memcpy(&m, &bits, sizeof(m));
    float x1 = m - 1.0f;
    float log2_m = x1 * (1.3465552f - 0.3465552f * x1);
    return 3.0103000f * (exponent + log2_m);
}

typedef struct {
    int key;         /* -1: no key in this window */
    float fraction;  /* the two tones' share of the window's energy */
    float peak_db;   /* the weaker group's peak over its next bin */
    float dev[2];    /* relative frequency offsets of the row and column tones */
} window_verdict;

/* The key whose two tones dominate this window, if any: the tests that need
 * the measured frequencies, for a window the lane screen let through. */
static window_verdict window_key(const lg_dtmf_rx_desc *d, const subblock_result *r, const screen_result *sc,
                                 int i)
{
    window_verdict none = {-1, 0.0f, 0.0f, {0.0f, 0.0f}};
    int row = sc->row[i], col = sc->col[i];
    float dev_row = sc->row_dev_hz[i], dev_col = sc->col_dev_hz[i];
    if (!(fabsf(dev_row) <= d->max_dev_hz[row]) || !(fabsf(dev_col) <= d->max_dev_hz[col]))
        return none;
    const float to_power = 2.0f / ((float)L * (float)L); /* |Y|^2 -> power of a sine */
    float p_row = r->power[row][i] * to_power / window_gain(d, dev_row);
    float p_col = r->power[col][i] * to_power / window_gain(d, dev_col);
    if (p_row < d->min_power || p_col < d->min_power)
        return none;
    if (p_row > d->normal_twist * p_col || p_col > d->reverse_twist * p_row)
        return none;
    float fraction = (p_row + p_col) / (r->window_energy[i] / L);
    if (fraction < WINDOW_FRACTION_FLOOR)
        return none;
    window_verdict v = {row * 4 + (col - 4), fraction, fast_db(sc->peak_ratio[i]),
                        {dev_row / d->bin_hz[row], dev_col / d->bin_hz[col]}};
    return v;
}

static float key_power(const subblock_result *r, int key, int i)
{
    return r->power[key / 4][i] + r->power[4 + key % 4][i];
}

static float key_amplitude(const float x_re[][LG_LANE], const float x_im[][LG_LANE], int key, int i)
{
    int row = key / 4, col = 4 + key % 4;
    return sqrtf(x_re[row][i] * x_re[row][i] + x_im[row][i] * x_im[row][i]) +
           sqrtf(x_re[col][i] * x_re[col][i] + x_im[col][i] * x_im[col][i]);
}

/* Channel sample time of the start of the channel's sub-block number `sb`. */
static int64_t subblock_time(const lg_dtmf_rx_state *st, int64_t sb)
{
    return st->origin + sb * M;
}

/* Where the tone began: the first fully covered sub-block, moved back by the
 * coverage of the (at most two) partly covered ones before it. (A candidate
 * found at the start of a stream begins before sub-block 0.) */
static int64_t estimate_start(const lg_dtmf_rx_state *st)
{
    const lg_tone_ring *ring = &st->ring;
    float ref = lg_tone_ring_max(ring);
    int64_t last = lg_tone_ring_last(ring);
    int64_t full = ring->first;
    while (full < last && lg_tone_ring_at(ring, full) < FULL_RATIO * ref)
        full++;
    float partial = 0.0f;
    for (int64_t sb = full - 1; sb >= full - 2 && sb >= ring->first; sb--)
        partial += lg_tone_ring_coverage(ring, sb, ref, EDGE_FLOOR);
    return subblock_time(st, full) - (int64_t)lrintf(partial * M);
}

/* Where the tone ended: after the last fully covered sub-block, plus the
 * coverage of the (at most two) partly covered ones after it. */
static int64_t estimate_end(const lg_dtmf_rx_state *st)
{
    float partial;
    int64_t after = lg_tone_ring_end(&st->ring, lg_tone_ring_last(&st->ring), FULL_RATIO, EDGE_FLOOR, &partial);
    return subblock_time(st, after) + (int64_t)lrintf(partial * M);
}

/* `now`: the channel's number of the sub-block just completed. */
static void begin_candidate(lg_dtmf_rx_state *st, const subblock_result *r, int key, int i, int64_t now)
{
    st->phase = LG_DTMF_CANDIDATE;
    st->key = key;
    st->gap = 0;
    /* The window that found the key spans the last W sub-blocks. */
    lg_tone_ring_restart(&st->ring, now - (W - 1));
    for (int h = 0; h < W - 1; h++)
        lg_tone_ring_push(&st->ring, key_amplitude(r->hist_re[h], r->hist_im[h], key, i));
    lg_tone_ring_push(&st->ring, key_amplitude(r->x_re, r->x_im, key, i));
    /* y_pow[0] is the window that ended just before this window's first
     * sub-block: it saw none of the new tone if it began here. */
    st->onset_row = r->onset_power[key / 4][i];
    st->onset_col = r->onset_power[4 + key % 4][i];
    st->valid_windows = 1;
    st->peak_power = key_power(r, key, i);
    st->fraction_sum = 0.0f;
    st->peak_ratio_sum = 0.0f;
    st->fraction_count = 0;
    st->dev_min[0] = st->dev_min[1] = 1.0f;
    st->dev_max[0] = st->dev_max[1] = -1.0f;
    st->dev_sum[0] = st->dev_sum[1] = 0.0f;
}

/* Adds a fully covered window of the tracked key to the candidate's evidence. */
static void add_evidence(lg_dtmf_rx_state *st, const window_verdict *v)
{
    st->fraction_sum += v->fraction;
    st->peak_ratio_sum += v->peak_db;
    st->fraction_count++;
    for (int g = 0; g < 2; g++) {
        st->dev_sum[g] += v->dev[g];
        if (v->dev[g] < st->dev_min[g])
            st->dev_min[g] = v->dev[g];
        if (v->dev[g] > st->dev_max[g])
            st->dev_max[g] = v->dev[g];
    }
}

/* Whether a candidate that has lasted long enough is a key: mostly tone on
 * average with both tones new when it began, or, buried in speech, long,
 * steady, clear of its neighbours and with a clean onset. */
static int candidate_is_key(const lg_dtmf_rx_desc *d, const lg_dtmf_rx_state *st, const subblock_result *r,
                            int i)
{
    int n = st->fraction_count;
    if (n == 0)
        return 0;
    int row = st->key / 4, col = 4 + st->key % 4;
    float onset = st->onset_row / r->power[row][i];
    if (st->onset_col / r->power[col][i] > onset)
        onset = st->onset_col / r->power[col][i];
    for (int g = 0; g < 2; g++)
        if (fabsf(st->dev_sum[g]) > d->max_mean_dev * (float)n)
            return 0;
    float fraction = st->fraction_sum / (float)n;
    float span_row = st->dev_max[0] - st->dev_min[0], span_col = st->dev_max[1] - st->dev_min[1];
    int steady = span_row <= MAX_DEV_SPAN && span_col <= MAX_DEV_SPAN;
    if (fraction >= d->tone_fraction && (fraction >= CLEAR_FRACTION || steady))
        return onset <= MAX_ONSET_RATIO;
    return fraction >= BURIED_MIN_FRACTION && onset <= BURIED_MAX_ONSET_RATIO &&
           st->valid_windows >= BURIED_MIN_WINDOWS && st->peak_ratio_sum >= BURIED_MIN_PEAK_DB * (float)n &&
           span_row <= BURIED_MAX_DEV_SPAN && span_col <= BURIED_MAX_DEV_SPAN;
}

static void end_digit(lg_dtmf_rx_state *st, int channel, lg_event_sink *sink)
{
    int64_t end = estimate_end(st);
    if (end < st->start)
        end = st->start;
    emit(sink, channel, st->key, LG_EVENT_END, st->start, end, st->confidence);
    st->phase = LG_DTMF_IDLE;
    st->key = -1;
}

/* `now`: the channel's number of the sub-block just completed. */
static void decide(const lg_dtmf_rx_desc *d, lg_dtmf_rx_state *st, const subblock_result *r,
                   const screen_result *sc, int i, int64_t now, int channel, lg_event_sink *sink)
{
    window_verdict verdict = {-1, 0.0f, 0.0f, {0.0f, 0.0f}};
    int screened_key = sc->row[i] * 4 + (sc->col[i] - 4);
    if (st->phase == LG_DTMF_ACTIVE && sc->maybe[i] && screened_key == st->key) {
        /* A confirmed key only needs to be seen going on: its frequencies
         * are inside their cones and its level, twist and share within
         * bounds; the measurements matter while it is a candidate. */
        verdict.key = st->key;
    } else if (sc->maybe[i] && now >= W - 1) {
        /* From the first full window on; the window before it, which the
         * phase advance needs, is partly the silence before the stream. */
        verdict = window_key(d, r, sc, i);
    }
    int key = verdict.key;
    int64_t now_end = subblock_time(st, now + 1);

    if (st->phase == LG_DTMF_IDLE) {
        if (key >= 0)
            begin_candidate(st, r, key, i, now);
        return;
    }
    lg_tone_ring_push(&st->ring, key_amplitude(r->x_re, r->x_im, st->key, i));
    float power = key_power(r, st->key, i);
    if (key == st->key && power >= CONTINUE_RATIO * st->peak_power) {
        st->gap = 0;
        if (power > st->peak_power)
            st->peak_power = power;
        /* The first W - 1 windows of a key are only partly covered by it. */
        if (++st->valid_windows >= W && st->phase == LG_DTMF_CANDIDATE)
            add_evidence(st, &verdict);
        /* The start is never before the ring's first sub-block. */
        if (st->phase == LG_DTMF_CANDIDATE && now_end - subblock_time(st, st->ring.first) >= d->min_on_samples) {
            int64_t start = estimate_start(st);
            if (now_end - start >= d->min_on_samples && power >= CONFIRM_RATIO * st->peak_power &&
                candidate_is_key(d, st, r, i)) {
                st->start = start;
                st->phase = LG_DTMF_ACTIVE;
                st->confidence = st->fraction_sum / (float)st->fraction_count;
                emit(sink, channel, key, LG_EVENT_BEGIN, start, -1, st->confidence);
            }
        }
        return;
    }
    if (key >= 0 && key != st->key) {
        /* Another key straight away: the new tone's start bounds the old one's end. */
        int was_active = st->phase == LG_DTMF_ACTIVE;
        int old_key = st->key;
        float old_confidence = st->confidence;
        int64_t old_start = st->start, old_end = was_active ? estimate_end(st) : 0;
        begin_candidate(st, r, key, i, now);
        if (was_active) {
            int64_t boundary = estimate_start(st);
            if (old_end > boundary)
                old_end = boundary;
            if (old_end < old_start)
                old_end = old_start;
            emit(sink, channel, old_key, LG_EVENT_END, old_start, old_end, old_confidence);
        }
        return;
    }
    /* A candidate ends sooner than a confirmed key: a dropout under 20 ms
     * spoils at most 4 windows (the tone under half a window), and speech
     * that merely started a candidate should stop costing decisions. */
    int allowed = st->phase == LG_DTMF_CANDIDATE && d->end_windows > CANDIDATE_GAP_WINDOWS ? CANDIDATE_GAP_WINDOWS
                                                                                         : d->end_windows;
    if (++st->gap >= allowed) {
        if (st->phase == LG_DTMF_ACTIVE)
            end_digit(st, channel, sink);
        st->phase = LG_DTMF_IDLE;
        st->key = -1;
    }
}

#ifdef HAVE_V8F
/* Strongest bin of a group (the first of equals), the next strongest,
 * whether the winner's phase advance is inside its cone, and the winner's
 * gain at the edge of its cone, for the eight channels of a lane. */
static inline __attribute__((always_inline)) void screen_group(const lg_dtmf_rx_desc *d, const subblock_result *r,
                                                               int first, v8f *best, v8f *next, v8i *winner,
                                                               v8i *cone_ok, v8f *edge_gain, v8f *adv_re,
                                                               v8f *adv_im)
{
    v8f zero = {0}, top = zero - 1.0f, second = zero, ur = zero, ui = zero, c_sin = zero, c_cos = zero;
    v8f gain = zero;
    v8i bin = {0};
    for (int b = first; b < first + 4; b++) {
        v8f p = lg_load_v8f(r->power[b]);
        v8f yr = lg_load_v8f(r->y_re[b]), yi = lg_load_v8f(r->y_im[b]);
        v8f pr = lg_load_v8f(r->prev_re[b]), pi = lg_load_v8f(r->prev_im[b]);
        v8f zr = yr * pr + yi * pi, zi = yi * pr - yr * pi;
        v8f br = zr * d->w_rot1_re[b] - zi * d->w_rot1_im[b];
        v8f bi = zr * d->w_rot1_im[b] + zi * d->w_rot1_re[b];
        v8i wins = p > top;
        v8i above_second = p > second;
        second = lg_select_v8f(wins, top, lg_select_v8f(above_second, p, second));
        top = lg_select_v8f(wins, p, top);
        bin = (wins & ((v8i){0} + b)) | (~wins & bin);
        ur = lg_select_v8f(wins, br, ur);
        ui = lg_select_v8f(wins, bi, ui);
        c_sin = lg_select_v8f(wins, zero + d->cone_sin[b], c_sin);
        c_cos = lg_select_v8f(wins, zero + d->cone_cos[b], c_cos);
        gain = lg_select_v8f(wins, zero + d->edge_gain[b], gain);
    }
    *best = top;
    *next = lg_select_v8f(second > zero, second, zero);
    *winner = bin;
    v8f abs_ui = lg_select_v8f(ui < zero, -ui, ui);
    *cone_ok = ((ur != zero) | (ui != zero)) & (ur * c_sin >= abs_ui * c_cos);
    *edge_gain = gain;
    *adv_re = ur;
    *adv_im = ui;
}

/* The tests of a window that need no arctangent, for a whole lane. Levels
 * are bounded by the most the window's roll-off can correct them (the gain
 * at the cone's edge), so a channel failing here fails window_key too. */
static inline __attribute__((always_inline)) void screen_windows(const lg_dtmf_rx_desc *d, const subblock_result *r,
                                                                 screen_result *out)
{
    v8f row, row_next, col, col_next, row_gain, col_gain;
    v8i row_bin, col_bin, row_cone, col_cone;
    v8f row_re, row_im, col_re, col_im;
    screen_group(d, r, 0, &row, &row_next, &row_bin, &row_cone, &row_gain, &row_re, &row_im);
    screen_group(d, r, 4, &col, &col_next, &col_bin, &col_cone, &col_gain, &col_re, &col_im);
    const float to_power = 2.0f / ((float)L * (float)L);
    v8f zero = {0};
    v8f p_row = row * to_power, p_col = col * to_power;
    v8f mean_power = lg_load_v8f(r->window_energy) * (1.0f / L);
    v8i ok = row_cone & col_cone & (row >= d->peak_ratio * row_next) & (col >= d->peak_ratio * col_next) &
             (p_row >= d->min_power * row_gain) & (p_col >= d->min_power * col_gain) &
             (p_row * col_gain <= d->normal_twist * p_col) & (p_col * row_gain <= d->reverse_twist * p_row) &
             (p_row * col_gain + p_col * row_gain >= WINDOW_FRACTION_FLOOR * row_gain * col_gain * mean_power);
    /* A group with nothing else in it stands 60 dB clear. */
    v8f row_ratio = lg_select_v8f(row_next > zero, row / row_next, zero + 1e6f);
    v8f col_ratio = lg_select_v8f(col_next > zero, col / col_next, zero + 1e6f);
    v8f ratio = lg_select_v8f(row_ratio < col_ratio, row_ratio, col_ratio);
    int any = 0;
    for (int i = 0; i < LG_LANE; i++) {
        out->maybe[i] = ok[i] != 0;
        out->row[i] = row_bin[i];
        out->col[i] = col_bin[i];
        out->peak_ratio[i] = ratio[i];
        any |= out->maybe[i];
    }
    /* The offsets only for a lane where some channel may hold a key: most of
     * the time none does. */
    if (any) {
        const float to_hz = (float)LG_SAMPLE_RATE / (2.0f * PI_F * M);
        v8f row_dev = lg_atan2_v8f(row_im, row_re) * to_hz, col_dev = lg_atan2_v8f(col_im, col_re) * to_hz;
        for (int i = 0; i < LG_LANE; i++) {
            out->row_dev_hz[i] = row_dev[i];
            out->col_dev_hz[i] = col_dev[i];
        }
    }
}
#else
/* Without vectors: the same screen, one channel at a time. */

/* z = Y_now * conj(Y_prev) * e^{-jwM}: its angle is the phase advance beyond
 * the bin's own frequency. */
static void phase_advance(const lg_dtmf_rx_desc *d, const subblock_result *r, int b, int i, float *ur,
                          float *ui)
{
    float yr = r->y_re[b][i], yi = r->y_im[b][i];
    float pr = r->prev_re[b][i], pi = r->prev_im[b][i];
    float zr = yr * pr + yi * pi;
    float zi = yi * pr - yr * pi;
    *ur = zr * d->w_rot1_re[b] - zi * d->w_rot1_im[b];
    *ui = zr * d->w_rot1_im[b] + zi * d->w_rot1_re[b];
}

/* Frequency offset (Hz) of the tone in bin b from the window's phase advance
 * over one sub-block; NAN when there is nothing to measure. */
static float bin_offset_hz(const lg_dtmf_rx_desc *d, const subblock_result *r, int b, int i)
{
    float ur, ui;
    phase_advance(d, r, b, i, &ur, &ui);
    if (ur == 0.0f && ui == 0.0f)
        return NAN;
    return lg_fast_atan2f(ui, ur) * (float)LG_SAMPLE_RATE / (2.0f * PI_F * M);
}

/* Whether the advance is inside the tolerated cone, without an arctangent:
 * |angle| <= c  <=>  ur sin c >= |ui| cos c, for any c under 180 degrees. */
static int within_cone(const lg_dtmf_rx_desc *d, const subblock_result *r, int b, int i)
{
    float ur, ui;
    phase_advance(d, r, b, i, &ur, &ui);
    return (ur != 0.0f || ui != 0.0f) && ur * d->cone_sin[b] >= fabsf(ui) * d->cone_cos[b];
}

static int group_peak(const subblock_result *r, int first, int i, float *ratio)
{
    int best = first;
    for (int b = first + 1; b < first + 4; b++)
        if (r->power[b][i] > r->power[best][i])
            best = b;
    float next = 0.0f;
    for (int b = first; b < first + 4; b++)
        if (b != best && r->power[b][i] > next)
            next = r->power[b][i];
    *ratio = next > 0.0f ? r->power[best][i] / next : 1e6f;
    return best;
}

static void screen_windows(const lg_dtmf_rx_desc *d, const subblock_result *r, screen_result *out)
{
    const float to_power = 2.0f / ((float)L * (float)L);
    for (int i = 0; i < LG_LANE; i++) {
        float row_ratio, col_ratio;
        int row = group_peak(r, 0, i, &row_ratio), col = group_peak(r, 4, i, &col_ratio);
        float p_row = r->power[row][i] * to_power, p_col = r->power[col][i] * to_power;
        float g_row = d->edge_gain[row], g_col = d->edge_gain[col];
        float mean_power = r->window_energy[i] / L;
        out->row[i] = row;
        out->col[i] = col;
        out->peak_ratio[i] = row_ratio < col_ratio ? row_ratio : col_ratio;
        out->row_dev_hz[i] = bin_offset_hz(d, r, row, i);
        out->col_dev_hz[i] = bin_offset_hz(d, r, col, i);
        out->maybe[i] = within_cone(d, r, row, i) && within_cone(d, r, col, i) &&
                        out->peak_ratio[i] >= d->peak_ratio && p_row >= d->min_power * g_row &&
                        p_col >= d->min_power * g_col && p_row * g_col <= d->normal_twist * p_col &&
                        p_col * g_row <= d->reverse_twist * p_row &&
                        p_row * g_col + p_col * g_row >= WINDOW_FRACTION_FLOOR * g_row * g_col * mean_power;
    }
}
#endif

/* Turns the lane's accumulators into this sub-block's results, makes the
 * decisions of every channel, then moves the history on. Not inlined, so
 * that its channel loops get the AVX2 clone too. */
LG_MULTIVERSION __attribute__((noinline))
static void finish_subblock(const lg_dtmf_rx_desc *d, lg_dtmf_rx_lane *lane, lg_dtmf_rx_state *states,
                            int first_channel, int nvalid, lg_event_sink *sink)
{
    if (!lane->acc.active) {
        /* Every channel of the lane is off: only the clock moves; the rings
         * are cleared column by column as channels come back on. */
        lane->subblocks++;
        return;
    }
    /* Ring slots: this sub-block replaces the one W sub-blocks old. */
    int k = (int)(lane->subblocks % 12); /* 12: every ring's length divides it */
    int now = k % W, before1 = (k + W - 1) % W, before2 = (k + W - 2) % W;
    int ywin = k % 2, ypow = k % (W + 1);
    for (int b = 0; b < LG_DTMF_BINS; b++) {
        for (int i = 0; i < LG_LANE; i++) {
            float s1 = lane->acc.s1[b][i], s2 = lane->acc.s2[b][i];
            float xr = d->x_rot1_re[b] * s1 - d->w_rot1_re[b] * s2;
            float xi = d->x_rot1_im[b] * s1 - d->w_rot1_im[b] * s2;
            float yr = lane->x_re[before2][b][i] + d->w_rot1_re[b] * lane->x_re[before1][b][i] -
                       d->w_rot1_im[b] * lane->x_im[before1][b][i] + d->w_rot2_re[b] * xr - d->w_rot2_im[b] * xi;
            float yi = lane->x_im[before2][b][i] + d->w_rot1_re[b] * lane->x_im[before1][b][i] +
                       d->w_rot1_im[b] * lane->x_re[before1][b][i] + d->w_rot2_re[b] * xi + d->w_rot2_im[b] * xr;
            lane->x_re[now][b][i] = xr;
            lane->x_im[now][b][i] = xi;
            lane->y_re[ywin][b][i] = yr;
            lane->y_im[ywin][b][i] = yi;
            lane->y_pow[ypow][b][i] = yr * yr + yi * yi;
            lane->acc.s1[b][i] = lane->acc.s2[b][i] = 0.0f;
        }
    }
    subblock_result r;
    for (int i = 0; i < LG_LANE; i++) {
        r.window_energy[i] = lane->e_sub[before2][i] + lane->e_sub[before1][i] + lane->acc.energy[i];
        lane->e_sub[now][i] = lane->acc.energy[i];
        lane->acc.energy[i] = 0.0f;
    }
    r.x_re = lane->x_re[now];
    r.x_im = lane->x_im[now];
    r.hist_re[0] = lane->x_re[before2];
    r.hist_im[0] = lane->x_im[before2];
    r.hist_re[1] = lane->x_re[before1];
    r.hist_im[1] = lane->x_im[before1];
    r.y_re = lane->y_re[ywin];
    r.y_im = lane->y_im[ywin];
    r.prev_re = lane->y_re[1 - ywin];
    r.prev_im = lane->y_im[1 - ywin];
    r.power = lane->y_pow[ypow];
    r.onset_power = lane->y_pow[(k + 1) % (W + 1)];

    screen_result screen;
    screen_windows(d, &r, &screen);
    /* Only channels the screen let through or that follow a key need a
     * decision; the others just let time pass. */
    uint32_t todo = lane->tracking;
    for (int i = 0; i < LG_LANE; i++)
        todo |= (uint32_t)screen.maybe[i] << i;
    todo &= lane->acc.active; /* off channels were computed with the others, and are discarded here */
    for (int i = 0; todo; i++, todo >>= 1) {
        if (!(todo & 1u))
            continue;
        lg_dtmf_rx_state *st = &states[i];
        decide(d, st, &r, &screen, i, lane->subblocks - st->first_subblock, first_channel + i, sink);
        if (st->phase == LG_DTMF_IDLE)
            lane->tracking &= ~(1u << i);
        else
            lane->tracking |= 1u << i;
    }
    lane->subblocks++;
}

/* The state a feed's sub-blocks are finished with. */
typedef struct {
    const lg_dtmf_rx_desc *desc;
    lg_dtmf_rx_lane *lanes;
    lg_dtmf_rx_state *states;
    lg_event_sink *sink;
} feed_context;

static void subblock_done(void *context, int lane, int first_channel, int nvalid)
{
    feed_context *c = context;
    finish_subblock(c->desc, &c->lanes[lane], &c->states[first_channel], first_channel, nvalid, c->sink);
}

int lg_dtmf_rx_feed(const lg_dtmf_rx_desc *d, lg_dtmf_rx_bank *bank, lg_dtmf_rx_lane *lanes,
                   lg_dtmf_rx_state *states, const void *samples, int encoding, int stride, int nsamples,
                   lg_event *events, int max_events)
{
    if (!d || !bank || !lanes || !states || !events || lg_goertzel_check_feed(samples, encoding, stride, nsamples))
        return LG_E_ARG;
    int bound = lg_dtmf_rx_max_events(bank->channels, nsamples);
    if (bound < 0)
        return bound;
    if (max_events < bound)
        return LG_E_SPACE;

    lg_event_sink sink = {events, 0};
    feed_context context = {d, lanes, states, &sink};
    lg_goertzel_walk(d->coef, lanes, sizeof(*lanes), bank->channels, M, bank->pos, samples, encoding, stride,
                     nsamples, subblock_done, &context);
    bank->pos = (int32_t)((bank->pos + nsamples) % M);
    bank->samples += nsamples;
    return sink.count;
}

int lg_dtmf_rx_flush(const lg_dtmf_rx_desc *d, lg_dtmf_rx_bank *bank, lg_dtmf_rx_lane *lanes,
                     lg_dtmf_rx_state *states, lg_event *events, int max_events)
{
    if (!d || !bank || !lanes || !states || !events)
        return LG_E_ARG;
    if (max_events < bank->channels)
        return LG_E_SPACE;
    lg_event_sink sink = {events, 0};
    for (int c = 0; c < bank->channels; c++) {
        lg_dtmf_rx_state *st = &states[c];
        if (st->phase == LG_DTMF_ACTIVE)
            end_digit(st, c, &sink);
        st->phase = LG_DTMF_IDLE;
        st->key = -1;
        st->gap = 0;
    }
    for (int ln = 0; ln < (bank->channels + LG_LANE - 1) / LG_LANE; ln++)
        lanes[ln].tracking = 0;
    return sink.count;
}
