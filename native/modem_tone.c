/* Fax and modem tone detector for many channels at once; the design is in
 * modem_tone.h. */
#include "modem_tone.h"
#include "goertzel.h"
#include "lg_simd.h"

#include <math.h>
#include <string.h>

#define M LG_MODEM_TONE_SUBBLOCK
#define NB LG_MODEM_TONE_BINS
#define NT LG_MODEM_TONE_TARGETS
#define AMW LG_MODEM_TONE_AM_BLOCKS

#define T_CNG 0
#define T_ANS 1
#define T_BELL 2

/* Bins: the three tones first, then guards. 2100 and 2225 Hz, and the
 * guards 1975 and 2350 Hz, are on the 125 Hz grid of a 64-sample window:
 * each is on the others' nulls. */
static const float BIN_HZ[NB] = {1100.0f, 2100.0f, 2225.0f, 975.0f, 1225.0f, 1650.0f, 1975.0f, 2350.0f};

/* A sub-block holds a tone when the tone's power is at least this share of
 * the sub-block's mean power, at the window's gain for the largest offset:
 * a tone 10 dB over white noise, at the edge of its tolerance, holds ~0.65. */
#define BLOCK_FRACTION 0.3f
/* Phase advances are trusted between sub-blocks whose amplitudes both reach
 * this share of the tone's strongest: not across a dropout, nor across the
 * dip of a reversal that falls inside a sub-block. */
#define TRUST_RATIO 0.5f
/* An advance within 45 degrees of the tracked one is steady: 15.6 Hz per
 * sub-block. Three unsteady advances in a row end the tone (a reversal makes
 * at most two). */
#define STEADY_COS 0.70710678f
#define MAX_OUTLIER_RUN 3
/* Smoothing of the tracked advance (a phasor sum decaying by this). */
#define TRACK_DECAY 0.75f
/* Sub-block frequency estimates of a real tone scatter by ~1.5 Hz at 10 dB
 * SNR; a voice's harmonic wanders by tens of Hz over a few hundred ms. */
#define MAX_FREQ_STD_HZ 6.0f
/* Steady advances needed before a frequency is judged, and before a
 * reversal is looked for. */
#define MIN_INLIERS 8
/* A reversal: the phase over two sub-blocks differs from the tracked
 * prediction by more than 120 degrees (cos < -0.5). One per this many
 * sub-blocks (96 ms; reversals are 450 ms apart), so that a reversal on a
 * sub-block boundary, seen from both sides, counts once. */
#define REVERSAL_COS -0.5f
#define REVERSAL_REFRACTORY 12
/* 15 Hz modulation: the share of the amplitude's variance over 25 sub-blocks
 * that the 15 Hz component must explain, and how many consecutive windows
 * must pass. The 64-sample window smooths a 15 Hz envelope by
 * sinc(15 * 64 / 8000) = 0.976; depths are corrected for it. */
#define AM_MIN_EXPLAINED 0.5f
#define AM_RUN 3
#define AM_WINDOW_GAIN 0.9766f
/* Edges: a sub-block whose amplitude is under this share of the tone's
 * counts as not covered when start and end are placed. */
#define EDGE_FLOOR 0.2f
/* A sub-block covered by the tone has at least this share of the tone's
 * mean amplitude (ANSam dips to 0.8 of it). */
#define FULL_RATIO 0.6f
/* Once the tone is established, a sub-block under this share of its mean
 * amplitude is not the tone, even when its bin wins (noise after the end). */
#define WEAK_RATIO 0.35f
#define ONSET LG_MODEM_TONE_ONSET

static const double PI_D = 3.14159265358979323846;

void lg_modem_tone_params_default(lg_modem_tone_params *p)
{
    p->min_level_dbm0 = -46.0f;
    p->min_tone_fraction = 0.6f;
    p->cng_max_dev_hz = 45.0f;
    p->ans_max_dev_hz = 56.0f;
    p->bell_max_dev_hz = 60.0f;
    p->am_min_depth_pct = 12.0f;
    p->am_max_depth_pct = 30.0f;
    p->cng_min_on_ms = 400;
    p->ced_min_on_ms = 600;
    p->bell_min_on_ms = 500;
    p->min_on_ms = 250;
    p->max_gap_ms = 40;
}

int lg_modem_tone_params_bad_field(const lg_modem_tone_params *p)
{
    /* Negated comparisons so that NaN counts as out of range. */
    if (!(p->min_level_dbm0 >= -70.0f && p->min_level_dbm0 <= 0.0f))
        return 0;
    if (!(p->min_tone_fraction > 0.0f && p->min_tone_fraction <= 1.0f))
        return 1;
    /* Up to 60 Hz: the phase advance over a sub-block is unambiguous within
     * +-62.5 Hz, and 2100 + 60 < 2225 - 60. */
    if (!(p->cng_max_dev_hz >= 5.0f && p->cng_max_dev_hz <= 60.0f))
        return 2;
    if (!(p->ans_max_dev_hz >= 5.0f && p->ans_max_dev_hz <= 60.0f))
        return 3;
    if (!(p->bell_max_dev_hz >= 5.0f && p->bell_max_dev_hz <= 60.0f))
        return 4;
    if (!(p->am_min_depth_pct >= 1.0f && p->am_min_depth_pct <= 100.0f))
        return 5;
    if (!(p->am_max_depth_pct >= p->am_min_depth_pct && p->am_max_depth_pct <= 100.0f))
        return 6;
    if (p->cng_min_on_ms < 100 || p->cng_min_on_ms > 5000)
        return 7;
    if (p->ced_min_on_ms < 100 || p->ced_min_on_ms > 5000)
        return 8;
    if (p->bell_min_on_ms < 100 || p->bell_min_on_ms > 5000)
        return 9;
    /* The modulation needs 27 sub-blocks to be seen: shorter is pointless. */
    if (p->min_on_ms < 100 || p->min_on_ms > 5000)
        return 10;
    if (p->max_gap_ms < 8 || p->max_gap_ms > 500)
        return 11;
    return -1;
}

/* Power gain of the M-sample rectangular window for a tone dev_hz off its bin. */
static double window_gain(double dev_hz)
{
    double a = PI_D * dev_hz / LG_SAMPLE_RATE;
    if (fabs(a) < 1e-9)
        return 1.0;
    double g = sin(a * M) / (M * sin(a));
    return g * g;
}

static int32_t ms_to_blocks(int32_t ms)
{
    return (ms * (LG_SAMPLE_RATE / 1000) + M - 1) / M;
}

int lg_modem_tone_desc_init(lg_modem_tone_desc *d, const lg_modem_tone_params *p)
{
    if (!d || !p)
        return LG_E_ARG;
    if (lg_modem_tone_params_bad_field(p) >= 0)
        return LG_E_RANGE;
    memset(d, 0, sizeof(*d));
    for (int b = 0; b < NB; b++) {
        double w = 2.0 * PI_D * BIN_HZ[b] / LG_SAMPLE_RATE;
        d->bin_hz[b] = BIN_HZ[b];
        d->coef[b] = (float)(2.0 * cos(w));
        d->x_rot_re[b] = (float)cos(-w * (M - 1));
        d->x_rot_im[b] = (float)sin(-w * (M - 1));
        d->w_rot_re[b] = (float)cos(-w * M);
        d->w_rot_im[b] = (float)sin(-w * M);
        if (b == T_ANS) {
            d->w_rot2_re = (float)cos(-2.0 * w * M);
            d->w_rot2_im = (float)sin(-2.0 * w * M);
        }
    }
    float peak = lg_dbm0_to_peak(p->min_level_dbm0);
    d->min_power = 0.5f * peak * peak;
    d->max_dev_hz[T_CNG] = p->cng_max_dev_hz;
    d->max_dev_hz[T_ANS] = p->ans_max_dev_hz;
    d->max_dev_hz[T_BELL] = p->bell_max_dev_hz;
    for (int t = 0; t < NT; t++)
        d->edge_gain[t] = (float)window_gain(d->max_dev_hz[t]);
    d->min_fraction = p->min_tone_fraction;
    d->am_min_depth = p->am_min_depth_pct / 100.0f;
    d->am_max_depth = p->am_max_depth_pct / 100.0f;
    d->min_blocks[T_CNG] = ms_to_blocks(p->cng_min_on_ms);
    d->min_blocks[T_ANS] = ms_to_blocks(p->ced_min_on_ms);
    d->min_blocks[T_BELL] = ms_to_blocks(p->bell_min_on_ms);
    d->min_on_blocks = ms_to_blocks(p->min_on_ms);
    d->max_gap_blocks = ms_to_blocks(p->max_gap_ms);
    /* 15 Hz at one value per sub-block: 0.12 cycles per sub-block, exactly
     * three cycles per 25, so the twiddles can be indexed by sub-block
     * number mod 25 wherever the window starts. */
    for (int k = 0; k < AMW; k++) {
        double ph = -2.0 * PI_D * 15.0 * M * k / LG_SAMPLE_RATE;
        d->am_tw_re[k] = (float)cos(ph);
        d->am_tw_im[k] = (float)sin(ph);
    }
    return LG_OK;
}

/* Forgets what the channel heard; its clock (origin, first_subblock) stays. */
static void restart_state(lg_modem_tone_state *st)
{
    int64_t origin = st->origin, first_subblock = st->first_subblock;
    memset(st, 0, sizeof(*st));
    st->target = -1;
    st->origin = origin;
    st->first_subblock = first_subblock;
}

static void clear_state(lg_modem_tone_state *st, int32_t pos, int64_t lane_subblocks)
{
    restart_state(st);
    st->origin = -(int64_t)pos;
    st->first_subblock = lane_subblocks;
}

static void clear_lane_column(lg_modem_tone_lane *lane, int i)
{
    for (int b = 0; b < NB; b++)
        lane->acc.s1[b][i] = lane->acc.s2[b][i] = 0.0f;
    for (int t = 0; t < NT; t++)
        lane->prev_amp[t][i] = 0.0f;
    lane->acc.energy[i] = 0.0f;
    lane->tracking &= ~(1u << i);
}

int lg_modem_tone_bank_init(lg_modem_tone_bank *bank, lg_modem_tone_lane *lanes, lg_modem_tone_state *states,
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
int lg_modem_tone_reset(lg_modem_tone_bank *bank, lg_modem_tone_lane *lanes, lg_modem_tone_state *states,
                        int channel)
{
    if (!bank || !lanes || !states || channel < 0 || channel >= bank->channels)
        return LG_E_ARG;
    lg_modem_tone_lane *lane = &lanes[channel / LG_LANE];
    clear_lane_column(lane, channel % LG_LANE);
    clear_state(&states[channel], bank->pos, lane->subblocks);
    return LG_OK;
}

int lg_modem_tone_set_active(lg_modem_tone_bank *bank, lg_modem_tone_lane *lanes, lg_modem_tone_state *states,
                             int channel, int active)
{
    if (!bank || !lanes || !states)
        return LG_E_ARG;
    if (channel < 0 || channel >= bank->channels)
        return LG_E_RANGE;
    lg_modem_tone_lane *lane = &lanes[channel / LG_LANE];
    int i = channel % LG_LANE;
    uint32_t bit = 1u << i;
    if (!active == !(lane->acc.active & bit))
        return LG_OK;
    /* Both ways the channel starts over: off drops a tone under way without
     * its END; on must not compare new sub-blocks with ones from before. */
    clear_lane_column(lane, i);
    restart_state(&states[channel]);
    if (active)
        lane->acc.active |= bit;
    else
        lane->acc.active &= ~bit;
    return LG_OK;
}

int lg_modem_tone_max_events(int channels, int nsamples)
{
    /* At most two events per channel per completed sub-block (an end and a
     * begin); flush needs one per channel. */
    return lg_event_bound(channels, nsamples, 2, M, 1);
}

/* ---- decisions, once per sub-block ------------------------------------ */

/* Reported only once its frequency, steadiness and share have held; the
 * confidence says how much of what was heard the tone was. */
static void emit(lg_event_sink *sink, int channel, int value, int flags, int64_t start, int64_t end,
                 float confidence)
{
    lg_emit(sink, channel, LG_EVENT_MODEM_TONE, value, flags, start, end, confidence);
}

/* One sub-block of one channel: the tone bins' X and what the screen saw. */
typedef struct {
    float re[NT], im[NT], amp[NT];
    float tone_power;  /* power of a sine in the winning bin */
    float fraction;    /* its share of the sub-block's mean power */
    int winner;        /* 0..2 when the sub-block holds a tone, else -1 */
} block_view;

static int64_t block_time(const lg_modem_tone_state *st, int64_t sb)
{
    return st->origin + sb * M;
}

static float clamp01(float x)
{
    return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x);
}

/* The tone's mean share of the sub-blocks' energy, corrected for the
 * window's roll-off at its offset (as classify judges it). */
static float tone_confidence(const lg_modem_tone_state *st)
{
    if (st->good <= 0)
        return 0.0f;
    float share = st->frac_sum / (float)st->good;
    float gain = st->inliers > 0 ? (float)window_gain(st->f_sum / (float)st->inliers) : 1.0f;
    return clamp01(gain > 0.0f ? share / gain : share);
}

static float mean_amp(const lg_modem_tone_state *st)
{
    return st->good > 0 ? st->amp_sum / (float)st->good : 0.0f;
}

/* Share of a sub-block the tone covers, from its amplitude. */
static float coverage(float amp, float ref)
{
    float cov = ref > 0.0f ? amp / ref : 0.0f;
    return cov < EDGE_FLOOR ? 0.0f : clamp01(cov);
}

/* Where the tone ended: after the last sub-block that held it, plus the
 * covered part of the one after. */
static int64_t tone_end(const lg_modem_tone_state *st)
{
    int64_t end = block_time(st, st->last_good + 1) + (int64_t)lrintf(coverage(st->gap_amp, mean_amp(st)) * M);
    return end < st->start ? st->start : end;
}

/* Where the tone began: the first fully covered sub-block of the onset
 * record, moved back by the coverage of the one before it. Sub-blocks a
 * stray noise peak let in before the tone are skipped this way. */
static int64_t tone_start(const lg_modem_tone_state *st, int64_t now)
{
    float ref = mean_amp(st);
    int64_t last = now - st->first_block + 1; /* onset[k]: sub-block first_block - 1 + k */
    if (last >= ONSET)
        last = ONSET - 1;
    int64_t k = 1;
    while (k < last && st->onset[k] < FULL_RATIO * ref)
        k++;
    return block_time(st, st->first_block - 1 + k) - (int64_t)lrintf(coverage(st->onset[k - 1], ref) * M);
}

static void end_tone(lg_modem_tone_state *st, int channel, lg_event_sink *sink)
{
    if (st->value)
        emit(sink, channel, st->value, LG_EVENT_END, st->start, tone_end(st), st->confidence);
    st->target = -1;
    st->value = 0;
}

/* Starts following the winning tone of sub-block `now`; prev_amp is the
 * tone bin's amplitude in the sub-block before (for the start estimate). */
static void begin_tone(lg_modem_tone_state *st, const block_view *v, float prev_amp, int64_t now)
{
    int t = v->winner;
    int64_t origin = st->origin, first_subblock = st->first_subblock;
    memset(st, 0, sizeof(*st));
    st->origin = origin;
    st->first_subblock = first_subblock;
    st->target = t;
    st->first_block = now;
    st->last_reversal = now - REVERSAL_REFRACTORY;
    st->onset[0] = prev_amp;
    st->start = block_time(st, now);
    st->clean_run = -1; /* the first sub-block may be partly covered */
}

static float fast_hz(float im, float re)
{
    return atan2f(im, re) * (float)LG_SAMPLE_RATE / (2.0f * 3.14159265f * M);
}

/* A sub-block that holds the followed tone. Returns 0 when the tone turned
 * out unsteady (the caller ends it). */
static int add_block(const lg_modem_tone_desc *d, lg_modem_tone_state *st, const block_view *v, int64_t now)
{
    int t = st->target;
    float xr = v->re[t], xi = v->im[t], amp = v->amp[t];
    if (amp > st->amp_ref)
        st->amp_ref = amp;
    float trust = TRUST_RATIO * st->amp_ref;
    float h0 = sqrtf(st->h_re[0] * st->h_re[0] + st->h_im[0] * st->h_im[0]);
    float h1 = sqrtf(st->h_re[1] * st->h_re[1] + st->h_im[1] * st->h_im[1]);
    int steady = 1;
    if (amp >= trust && h0 >= trust && now > st->first_block) {
        /* z = X conj(X_prev) e^{-jwM}: its angle is the advance beyond the bin's. */
        float cr = xr * st->h_re[0] + xi * st->h_im[0];
        float ci = xi * st->h_re[0] - xr * st->h_im[0];
        float zr = cr * d->w_rot_re[t] - ci * d->w_rot_im[t];
        float zi = cr * d->w_rot_im[t] + ci * d->w_rot_re[t];
        float zm = sqrtf(zr * zr + zi * zi);
        float pm = sqrtf(st->p_re * st->p_re + st->p_im * st->p_im);
        if (zm > 0.0f) {
            int inlier = pm > 0.0f && zr * st->p_re + zi * st->p_im >= STEADY_COS * zm * pm;
            if (!inlier && st->inliers < 3) {
                /* The first advances may come from a partly covered
                 * sub-block (whose phase is off for an off-frequency
                 * tone): start the tracking again from this one. */
                st->p_re = st->p_im = 0.0f;
                st->f_sum = st->f_sq = 0.0f;
                st->inliers = 0;
                inlier = 1;
            }
            if (inlier) {
                st->p_re = TRACK_DECAY * st->p_re + zr / zm;
                st->p_im = TRACK_DECAY * st->p_im + zi / zm;
                float hz = fast_hz(zi, zr);
                st->f_sum += hz;
                st->f_sq += hz * hz;
                st->inliers++;
                st->outlier_run = 0;
            } else {
                steady = 0;
                if (++st->outlier_run >= MAX_OUTLIER_RUN)
                    return 0;
            }
        }
    }
    /* Reversal: X conj(X two sub-blocks ago) against the tracked advance
     * applied twice. */
    if (t == T_ANS && st->inliers >= MIN_INLIERS && amp >= trust && h1 >= trust &&
        now - st->last_reversal >= REVERSAL_REFRACTORY && now >= st->first_block + 2) {
        float pm = sqrtf(st->p_re * st->p_re + st->p_im * st->p_im);
        float ur = st->p_re / pm, ui = st->p_im / pm;
        float u2r = ur * ur - ui * ui, u2i = 2.0f * ur * ui;
        float cr = xr * st->h_re[1] + xi * st->h_im[1];
        float ci = xi * st->h_re[1] - xr * st->h_im[1];
        float qr = cr * d->w_rot2_re - ci * d->w_rot2_im;
        float qi = cr * d->w_rot2_im + ci * d->w_rot2_re;
        float rr = qr * u2r + qi * u2i; /* q conj(u^2) */
        float ri = qi * u2r - qr * u2i;
        if (rr < REVERSAL_COS * sqrtf(rr * rr + ri * ri)) {
            st->reversals++;
            st->last_reversal = now;
            st->clean_run = 0;
            steady = 0;
        }
    }
    /* The 15 Hz modulation, over sub-blocks free of dips and jumps. */
    if (t == T_ANS && !st->am_seen) {
        if (!steady || amp < trust) {
            st->clean_run = 0;
            st->am_run = 0;
        } else {
            st->am[now % AMW] = amp;
            if (++st->clean_run >= AMW) {
                float a0 = 0.0f, a2 = 0.0f, sr = 0.0f, si = 0.0f;
                for (int k = 0; k < AMW; k++) {
                    float a = st->am[k];
                    a0 += a;
                    a2 += a * a;
                    sr += a * d->am_tw_re[k];
                    si += a * d->am_tw_im[k];
                }
                float s2 = sr * sr + si * si;
                float var = a2 - a0 * a0 / AMW;
                float depth = 2.0f * sqrtf(s2) / (a0 * AM_WINDOW_GAIN);
                int ok = depth >= d->am_min_depth && depth <= d->am_max_depth &&
                         2.0f * s2 / AMW >= AM_MIN_EXPLAINED * var;
                st->am_run = ok ? st->am_run + 1 : 0;
                if (st->am_run >= AM_RUN)
                    st->am_seen = 1;
            }
        }
    }
    st->good++;
    st->amp_sum += amp;
    st->frac_sum += v->fraction;
    st->power_sum += v->tone_power;
    st->last_good = now;
    st->gap = 0;
    st->gap_amp = 0.0f;
    return 1;
}

/* The value the tone deserves now, or 0. */
static int classify(const lg_modem_tone_desc *d, const lg_modem_tone_state *st, int64_t now)
{
    if (st->inliers < MIN_INLIERS)
        return 0;
    float n = (float)st->inliers;
    float mean = st->f_sum / n;
    float var = st->f_sq / n - mean * mean;
    int t = st->target;
    if (!(fabsf(mean) <= d->max_dev_hz[t]) || var > MAX_FREQ_STD_HZ * MAX_FREQ_STD_HZ)
        return 0;
    /* Level and share, corrected for the window's roll-off at the offset. */
    float gain = (float)window_gain(mean);
    if (st->power_sum / (float)st->good < d->min_power * gain)
        return 0;
    if (st->frac_sum / (float)st->good < d->min_fraction * gain)
        return 0;
    int64_t blocks = now - st->first_block + 1;
    if (t == T_CNG)
        return blocks >= d->min_blocks[T_CNG] ? LG_MODEM_TONE_CNG : 0;
    if (t == T_BELL)
        return blocks >= d->min_blocks[T_BELL] ? LG_MODEM_TONE_BELL_2225 : 0;
    if (st->am_seen || st->reversals) {
        if (blocks < d->min_on_blocks)
            return 0;
        if (st->am_seen)
            return st->reversals ? LG_MODEM_TONE_ANSAM_PR : LG_MODEM_TONE_ANSAM;
        return LG_MODEM_TONE_ANS_PR;
    }
    return blocks >= d->min_blocks[T_ANS] ? LG_MODEM_TONE_CED : 0;
}

static void push_history(lg_modem_tone_state *st, const block_view *v)
{
    st->h_re[1] = st->h_re[0];
    st->h_im[1] = st->h_im[0];
    st->h_re[0] = v->re[st->target];
    st->h_im[0] = v->im[st->target];
}

/* `now`: the channel's number of the sub-block just completed. */
static void decide(const lg_modem_tone_desc *d, lg_modem_tone_state *st, const block_view *v, float prev_amp,
                   int64_t now, int channel, lg_event_sink *sink)
{
    /* A sub-block won by another tone counts as a gap of the followed one:
     * a reversal inside a sub-block spreads 2100 Hz into the 2225 Hz bin. */
    int weak = st->target >= 0 && v->winner == st->target && st->good >= 4 &&
               v->amp[st->target] < WEAK_RATIO * mean_amp(st);
    if (st->target >= 0 && now - st->first_block + 1 < ONSET)
        st->onset[now - st->first_block + 1] = v->amp[st->target];
    if (st->target >= 0 && v->winner >= 0 && v->winner != st->target && st->good < 4 && !st->value) {
        /* Another tone wins before this one was established (the first,
         * partly covered sub-block of a tone can put its peak in the wrong
         * bin): follow the new one. */
        end_tone(st, channel, sink);
    } else if (st->target >= 0 && (v->winner != st->target || weak)) {
        if (st->gap == 0)
            st->gap_amp = v->amp[st->target];
        st->clean_run = 0;
        st->am_run = 0;
        if (++st->gap <= d->max_gap_blocks) {
            push_history(st, v);
            return;
        }
        end_tone(st, channel, sink);
    }
    if (st->target < 0) {
        if (v->winner < 0)
            return;
        begin_tone(st, v, prev_amp, now);
        st->onset[1] = v->amp[st->target];
    }
    if (!add_block(d, st, v, now)) {
        /* Unsteady: whatever was followed ends; the sub-block may begin a tone. */
        end_tone(st, channel, sink);
        begin_tone(st, v, 0.0f, now);
        st->onset[1] = v->amp[st->target];
        add_block(d, st, v, now);
    }
    push_history(st, v);
    int value = classify(d, st, now);
    if (value > st->value) {
        if (!st->value)
            st->start = tone_start(st, now);
        st->value = value;
        st->confidence = tone_confidence(st);
        emit(sink, channel, value, LG_EVENT_BEGIN, st->start, -1, st->confidence);
    }
}

/* Turns the lane's accumulators into this sub-block's results and makes the
 * decisions of every channel that holds or follows a tone. */
LG_MULTIVERSION __attribute__((noinline))
static void finish_subblock(const lg_modem_tone_desc *d, lg_modem_tone_lane *lane, lg_modem_tone_state *states,
                            int first_channel, int nvalid, lg_event_sink *sink)
{
    if (!lane->acc.active) {
        /* Every channel of the lane is off: only the clock moves. */
        lane->subblocks++;
        return;
    }
    float re[NB][LG_LANE], im[NB][LG_LANE], pw[NB][LG_LANE];
    for (int b = 0; b < NB; b++) {
        for (int i = 0; i < LG_LANE; i++) {
            float s1 = lane->acc.s1[b][i], s2 = lane->acc.s2[b][i];
            re[b][i] = d->x_rot_re[b] * s1 - d->w_rot_re[b] * s2;
            im[b][i] = d->x_rot_im[b] * s1 - d->w_rot_im[b] * s2;
            pw[b][i] = re[b][i] * re[b][i] + im[b][i] * im[b][i];
            lane->acc.s1[b][i] = lane->acc.s2[b][i] = 0.0f;
        }
    }
    const float to_power = 2.0f / ((float)M * (float)M); /* |X|^2 -> power of a sine */
    int winner[LG_LANE];
    uint32_t todo = lane->tracking;
    for (int i = 0; i < LG_LANE; i++) {
        int best = 0;
        for (int b = 1; b < NB; b++)
            if (pw[b][i] > pw[best][i])
                best = b;
        float tone_power = pw[best][i] * to_power;
        float mean_power = lane->acc.energy[i] * (1.0f / M);
        winner[i] = -1;
        if (best < NT && tone_power >= d->min_power * d->edge_gain[best] &&
            tone_power >= BLOCK_FRACTION * d->edge_gain[best] * mean_power) {
            winner[i] = best;
            todo |= 1u << i;
        }
    }
    todo &= lane->acc.active; /* off channels were computed with the others, and are discarded here */
    for (int i = 0; todo; i++, todo >>= 1) {
        if (!(todo & 1u))
            continue;
        block_view v;
        for (int t = 0; t < NT; t++) {
            v.re[t] = re[t][i];
            v.im[t] = im[t][i];
            v.amp[t] = sqrtf(pw[t][i]);
        }
        v.winner = winner[i];
        v.tone_power = v.winner >= 0 ? pw[v.winner][i] * to_power : 0.0f;
        float mean_power = lane->acc.energy[i] * (1.0f / M);
        v.fraction = mean_power > 0.0f ? v.tone_power / mean_power : 0.0f;
        lg_modem_tone_state *st = &states[i];
        int t = v.winner >= 0 ? v.winner : (st->target >= 0 ? st->target : 0);
        decide(d, st, &v, lane->prev_amp[t][i], lane->subblocks - st->first_subblock, first_channel + i, sink);
        if (st->target >= 0)
            lane->tracking |= 1u << i;
        else
            lane->tracking &= ~(1u << i);
    }
    for (int i = 0; i < LG_LANE; i++) {
        for (int t = 0; t < NT; t++)
            lane->prev_amp[t][i] = sqrtf(pw[t][i]);
        lane->acc.energy[i] = 0.0f;
    }
    lane->subblocks++;
}

/* The state a feed's sub-blocks are finished with. */
typedef struct {
    const lg_modem_tone_desc *desc;
    lg_modem_tone_lane *lanes;
    lg_modem_tone_state *states;
    lg_event_sink *sink;
} feed_context;

static void subblock_done(void *context, int lane, int first_channel, int nvalid)
{
    feed_context *c = context;
    finish_subblock(c->desc, &c->lanes[lane], &c->states[first_channel], first_channel, nvalid, c->sink);
}

int lg_modem_tone_feed(const lg_modem_tone_desc *d, lg_modem_tone_bank *bank, lg_modem_tone_lane *lanes,
                      lg_modem_tone_state *states, const void *samples, int encoding, int stride, int nsamples,
                      lg_event *events, int max_events)
{
    if (!d || !bank || !lanes || !states || !events || lg_goertzel_check_feed(samples, encoding, stride, nsamples))
        return LG_E_ARG;
    int bound = lg_modem_tone_max_events(bank->channels, nsamples);
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

int lg_modem_tone_flush(const lg_modem_tone_desc *d, lg_modem_tone_bank *bank, lg_modem_tone_lane *lanes,
                        lg_modem_tone_state *states, lg_event *events, int max_events)
{
    if (!d || !bank || !lanes || !states || !events)
        return LG_E_ARG;
    if (max_events < bank->channels)
        return LG_E_SPACE;
    lg_event_sink sink = {events, 0};
    for (int c = 0; c < bank->channels; c++)
        if (states[c].target >= 0)
            end_tone(&states[c], c, &sink);
    for (int ln = 0; ln < (bank->channels + LG_LANE - 1) / LG_LANE; ln++)
        lanes[ln].tracking = 0;
    return sink.count;
}
