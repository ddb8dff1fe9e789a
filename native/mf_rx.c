/* MF receiver for many channels at once; the design is in mf_rx.h. */
#include "mf_rx.h"
#include "goertzel.h"
#include "lg_simd.h"

#include <math.h>
#include <string.h>

#define M LG_MF_SUBBLOCK
#define TONES LG_MF_TONES

/* The two bins beside the kind's six: one frequency step outside its band. */
#define GUARD_LOW 6
#define GUARD_HIGH 7

/* A sub-block counts as fully covered by the signal when its amplitude is at
 * least FULL_RATIO of the strongest; below EDGE_FLOOR it is taken as noise
 * when the edges are placed (as in dtmf_rx.c). */
#define FULL_RATIO 0.7f
#define EDGE_FLOOR 0.2f
/* Sub-blocks under FULL_RATIO that a tone's start is searched across: an
 * interruption of up to 10 ms (Q.455 and Q.323 bridge 7-10 ms); the pauses
 * that split signals are longer. */
#define MAX_DIP_SUBBLOCKS 2
/* A window may hold this little of the two tones and still count for a
 * signal (its edges are only partly covered); what a signal needs on average
 * is min_tone_fraction, judged when it is confirmed. */
#define WINDOW_FRACTION_FLOOR 0.3f
/* One window's frequency may stray further than a signal's mean may: noise
 * moves single estimates, and a window refused there delays the signal by
 * several more. */
#define WINDOW_DEV_MARGIN 1.25f
#define WINDOW_DEV_MARGIN_HZ 5.0f
/* The lane screen judges the offsets before the leakage is taken out
 * (window_signal), so its cone is this much wider again; and the other bins
 * with the leakage in, so it asks this much less of the weaker tone over
 * them (R1's tones 30 Hz off in its 15 ms window leak to 13 dB under the
 * weaker one's raw output). */
#define SCREEN_DEV_MARGIN_HZ 15.0f
#define SCREEN_PEAK_SLACK 0.25f
/* A window continues a signal only with this share of its peak power (the
 * tone covering half the window): windows that merely graze a tone across
 * a pause must not bridge it. */
#define CONTINUE_RATIO 0.25f
/* A signal is confirmed only in a window holding this share of its peak
 * power, i.e. while the tone is still there. */
#define CONFIRM_RATIO 0.5f
/* Sub-blocks after which a window is summed afresh instead of slid on
 * (finish_subblock). */
#define EXACT_EVERY 64
/* Windows without it after which a candidate is dropped: a candidate is
 * confirmed within a few windows or not at all. */
#define CANDIDATE_GAP_WINDOWS 3

static const float PI_F = 3.14159265358979f;

/* The guards of each kind: one step of its spacing outside its band. */
static const float GUARD_HZ[LG_MF_KINDS][2] = {
    {1260.0f, 2100.0f}, /* R2 forward: 1380 - 120, 1980 + 120 */
    {420.0f, 1260.0f},  /* R2 backward: 540 - 120, 1140 + 120 */
    {500.0f, 1900.0f},  /* R1: 700 - 200, 1700 + 200 */
};

/* Sub-blocks per window: the window's nulls fall on the kind's spacing. */
static const int WINDOW_SUBBLOCKS[LG_MF_KINDS] = {5, 5, 3};

static const int EVENT_KIND[LG_MF_KINDS] = {LG_EVENT_MFR2_FWD, LG_EVENT_MFR2_BWD, LG_EVENT_MFR1};

int lg_mf_rx_params_default(lg_mf_rx_params *p, int kind)
{
    if (!p || kind < 0 || kind >= LG_MF_KINDS)
        return LG_E_ARG;
    p->kind = kind;
    if (kind == LG_MF_R1) {
        /* Q.323: accept 0 to -25 dBm0, reject -35; +-(1.5 % + 5 Hz), here
         * 5 Hz more for the measurement; 6 dB twist; over 30 ms (KP 55 ms);
         * pauses over 25 ms. */
        p->min_level_dbm0 = -31.0f;
        p->max_twist_db = 9.0f;
        p->max_freq_dev_hz = 10.0f;
        p->max_freq_dev_pct = 1.5f;
        p->min_on_ms = 20;
        p->kp_min_on_ms = 40;
        p->min_off_ms = 25;
    } else {
        /* Q.455: accept -5 to -35 dBm0, reject -38.5; +-10 Hz; 5 / 7 dB,
         * reject 20 (12); ignore under 7-8 ms. 14 Hz: a signal's mean
         * offset is measured to within 1-2 Hz (window_signal), and the 3rd
         * harmonic of a 266 Hz voice, 800 Hz, was a backward 780 Hz tone at
         * 16 Hz on the dev talk-off set. The evidence rule (decide: a
         * covered window and the one before it) makes an R2 signal last
         * 30-35 ms before it is reported, whatever min_on_ms under that. */
        p->min_level_dbm0 = -37.0f;
        p->max_twist_db = 10.0f;
        p->max_freq_dev_hz = 14.0f;
        p->max_freq_dev_pct = 0.0f;
        p->min_on_ms = 20;
        p->kp_min_on_ms = 20;
        p->min_off_ms = 20;
    }
    /* A sender's two tones are nearly all a register signal's line holds:
     * measured, at least 0.94 (R2) and 0.91 (R1) with white noise 18 dB
     * under them (Q.455's figure) at the weakest level, the tones 10 Hz
     * (R1: 20 Hz) off and 7 dB (6 dB) apart; 0.90 and 0.86 at 12 dB. Voice
     * and music harmonics in the right places held 0.5-0.805 on the 51
     * minutes of the dev corpus without DTMF; in bench_mf.py's mixes of the
     * same recordings at other levels, up to 0.82 (R1's 700 + 900 Hz) and
     * 0.87 (R2 backward 540 + 780 Hz, a voice's 2nd and 3rd harmonics). */
    p->min_tone_fraction = kind == LG_MF_R1 ? 0.85f : 0.88f;
    p->min_peak_ratio_db = 10.0f;
    return LG_OK;
}

static float db_to_power_ratio(float db)
{
    return powf(10.0f, db / 10.0f);
}

/* Power gain of an L-sample rectangular window for a tone `dev_hz` off the
 * frequency it is tuned to, held above 0.1 so that a level is never
 * corrected by more than 10 dB. */
static float window_gain_exact(double dev_hz, int length)
{
    double a = 3.14159265358979323846 * dev_hz / LG_SAMPLE_RATE;
    if (fabs(a) < 1e-9)
        return 1.0f;
    double g = sin(a * length) / (length * sin(a));
    return g * g > 0.1 ? (float)(g * g) : 0.1f;
}

/* The most a window's estimate may be off: its cone must stay under 80 Hz,
 * well inside the +-100 Hz the phase advance over one sub-block measures
 * without ambiguity. */
#define MAX_WINDOW_DEV_HZ 80.0f

int lg_mf_rx_params_bad_field(const lg_mf_rx_params *p)
{
    if (p->kind < 0 || p->kind >= LG_MF_KINDS)
        return 0;
    /* Negated comparisons so that NaN counts as out of range. */
    if (!(p->min_level_dbm0 >= -60.0f && p->min_level_dbm0 <= 0.0f))
        return 1;
    if (!(p->max_twist_db >= 0.0f && p->max_twist_db <= 30.0f))
        return 2;
    if (!(p->max_freq_dev_hz >= 0.0f && p->max_freq_dev_hz <= 50.0f))
        return 3;
    if (!(p->max_freq_dev_pct >= 0.0f && p->max_freq_dev_pct <= 3.0f))
        return 4;
    /* The widest tolerance the cone allows, at the kind's highest frequency. */
    float highest = 0.0f;
    for (int t = 0; t < TONES; t++)
        if (lg_mf_hz[p->kind * TONES + t] > highest)
            highest = lg_mf_hz[p->kind * TONES + t];
    float widest = p->max_freq_dev_hz + highest * p->max_freq_dev_pct / 100.0f;
    if (!(widest > 0.0f && widest * WINDOW_DEV_MARGIN + WINDOW_DEV_MARGIN_HZ + SCREEN_DEV_MARGIN_HZ <= MAX_WINDOW_DEV_HZ))
        return p->max_freq_dev_pct > 0.0f ? 4 : 3;
    if (!(p->min_tone_fraction > 0.0f && p->min_tone_fraction <= 1.0f))
        return 5;
    if (!(p->min_peak_ratio_db >= 0.0f && p->min_peak_ratio_db <= 40.0f))
        return 6;
    if (p->min_on_ms < 10 || p->min_on_ms > 1000)
        return 7;
    if (p->kp_min_on_ms < 10 || p->kp_min_on_ms > 1000)
        return 8;
    if (p->min_off_ms < 15 || p->min_off_ms > 1000)
        return 9;
    return -1;
}

int lg_mf_rx_desc_init(lg_mf_rx_desc *d, const lg_mf_rx_params *p)
{
    if (!d || !p)
        return LG_E_ARG;
    if (lg_mf_rx_params_bad_field(p) >= 0)
        return LG_E_RANGE;

    memset(d, 0, sizeof(*d));
    const int kind = p->kind;
    const int W = WINDOW_SUBBLOCKS[kind];
    d->kind = kind;
    d->event_kind = EVENT_KIND[kind];
    d->window = W;
    float peak = lg_dbm0_to_peak(p->min_level_dbm0);
    d->min_power = 0.5f * peak * peak;
    d->twist = db_to_power_ratio(p->max_twist_db);
    d->tone_fraction = p->min_tone_fraction;
    d->peak_ratio = db_to_power_ratio(p->min_peak_ratio_db);
    d->min_on_samples = p->min_on_ms * LG_SAMPLE_RATE / 1000;
    d->kp_min_on_samples = (kind == LG_MF_R1 ? p->kp_min_on_ms : p->min_on_ms) * LG_SAMPLE_RATE / 1000;
    /* A pause of P ms spoils about P / 5 windows (those less than half
     * covered); end a signal after (min_off - 5) / 5 of them, as dtmf_rx. */
    d->end_windows = (p->min_off_ms - 5) / 5;
    if (d->end_windows < 2)
        d->end_windows = 2;
    for (int b = 0; b < LG_MF_BINS; b++) {
        float hz = b < TONES ? lg_mf_hz[kind * TONES + b] : GUARD_HZ[kind][b - TONES];
        double w = 2.0 * 3.14159265358979323846 * hz / LG_SAMPLE_RATE;
        d->bin_hz[b] = hz;
        d->max_dev_hz[b] = p->max_freq_dev_hz + hz * p->max_freq_dev_pct / 100.0f;
        d->window_dev_hz[b] = d->max_dev_hz[b] * WINDOW_DEV_MARGIN + WINDOW_DEV_MARGIN_HZ;
        double cone = 2.0 * 3.14159265358979323846 * (d->window_dev_hz[b] + SCREEN_DEV_MARGIN_HZ) * M /
                      LG_SAMPLE_RATE;
        d->cone_sin[b] = (float)sin(cone);
        d->cone_cos[b] = (float)cos(cone);
        d->coef[b] = (float)(2.0 * cos(w));
        d->x_rot1_re[b] = (float)cos(-w * (M - 1));
        d->x_rot1_im[b] = (float)sin(-w * (M - 1));
        d->w_rot1_re[b] = (float)cos(-w * M);
        d->w_rot1_im[b] = (float)sin(-w * M);
        for (int h = 0; h < LG_MF_MAX_WINDOW; h++) {
            d->rot_re[h][b] = (float)cos(-w * M * h);
            d->rot_im[h][b] = (float)sin(-w * M * h);
        }
        d->edge_gain[b] = window_gain_exact(d->window_dev_hz[b] + SCREEN_DEV_MARGIN_HZ, W * M);
    }
    for (int k = 0; k < LG_MF_GAIN_STEPS; k++)
        d->gain[k] = window_gain_exact(0.5 * k, W * M);
    for (int from = 0; from < LG_MF_BINS; from++) {
        for (int to = 0; to < LG_MF_BINS; to++) {
            double a = 3.14159265358979323846 * (d->bin_hz[from] - d->bin_hz[to]) / LG_SAMPLE_RATE;
            d->pair_sin_l[from][to] = (float)sin(a * W * M);
            d->pair_cos_l[from][to] = (float)cos(a * W * M);
            d->pair_sin_1[from][to] = (float)sin(a);
            d->pair_cos_1[from][to] = (float)cos(a);
            d->pair_rot_re[from][to] = (float)cos(a * (W * M - 1));
            d->pair_rot_im[from][to] = (float)sin(a * (W * M - 1));
        }
    }
    return LG_OK;
}

static void clear_lane_column(lg_mf_rx_lane *lane, int i)
{
    for (int b = 0; b < LG_MF_BINS; b++) {
        lane->acc.s1[b][i] = lane->acc.s2[b][i] = 0.0f;
        for (int h = 0; h < 2; h++)
            lane->y_re[h][b][i] = lane->y_im[h][b][i] = 0.0f;
        for (int h = 0; h < LG_MF_HISTORY; h++)
            lane->x_re[h][b][i] = lane->x_im[h][b][i] = 0.0f;
        lane->y_pow[b][i] = 0.0f;
    }
    lane->acc.energy[i] = 0.0f;
    for (int h = 0; h < LG_MF_HISTORY; h++)
        lane->e_sub[h][i] = 0.0f;
}

/* Forgets what the channel heard; its clock (origin, first_subblock) stays. */
static void restart_state(lg_mf_rx_state *st)
{
    int64_t origin = st->origin, first_subblock = st->first_subblock;
    memset(st, 0, sizeof(*st));
    st->phase = LG_MF_RX_IDLE;
    st->origin = origin;
    st->first_subblock = first_subblock;
}

static void clear_state(lg_mf_rx_state *st, int32_t pos, int64_t lane_subblocks)
{
    restart_state(st);
    /* Channel time 0 is now; the bank's current sub-block began `pos` ago
     * and is the channel's sub-block 0. */
    st->origin = -(int64_t)pos;
    st->first_subblock = lane_subblocks;
}

int lg_mf_rx_bank_init(lg_mf_rx_bank *bank, lg_mf_rx_lane *lanes, lg_mf_rx_state *states, int channels)
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

int lg_mf_rx_reset(lg_mf_rx_bank *bank, lg_mf_rx_lane *lanes, lg_mf_rx_state *states, int channel)
{
    if (!bank || !lanes || !states || channel < 0 || channel >= bank->channels)
        return LG_E_ARG;
    lg_mf_rx_lane *lane = &lanes[channel / LG_LANE];
    clear_lane_column(lane, channel % LG_LANE);
    lane->tracking &= ~(1u << (channel % LG_LANE));
    clear_state(&states[channel], bank->pos, lane->subblocks);
    return LG_OK;
}

int lg_mf_rx_set_active(lg_mf_rx_bank *bank, lg_mf_rx_lane *lanes, lg_mf_rx_state *states, int channel,
                        int active)
{
    if (!bank || !lanes || !states)
        return LG_E_ARG;
    if (channel < 0 || channel >= bank->channels)
        return LG_E_RANGE;
    lg_mf_rx_lane *lane = &lanes[channel / LG_LANE];
    int i = channel % LG_LANE;
    uint32_t bit = 1u << i;
    if (!active == !(lane->acc.active & bit))
        return LG_OK;
    /* Both ways the channel's analysis starts over (see lg_dtmf_rx_set_active). */
    clear_lane_column(lane, i);
    lane->tracking &= ~bit;
    restart_state(&states[channel]);
    if (active)
        lane->acc.active |= bit;
    else
        lane->acc.active &= ~bit;
    return LG_OK;
}

int lg_mf_rx_max_events(int channels, int nsamples)
{
    /* At most two events per channel per completed sub-block. */
    return lg_event_bound(channels, nsamples, 2, M, 1);
}

/* ---- decisions, once per sub-block ------------------------------------ */

/* What the lane screen found per channel: whether the window could hold a
 * signal, its two strongest tones (a stronger than b) and their offsets
 * (Hz, before the leakage is taken out). */
typedef struct {
    int maybe[LG_LANE];
    int a[LG_LANE], b[LG_LANE];
    float a_dev_hz[LG_LANE], b_dev_hz[LG_LANE];
} screen_result;

typedef float lane_bins[LG_LANE];
/* One sub-block's results, as pointers into the lane's rings: [bin][lane]. */
typedef struct {
    const lane_bins *x_re, *x_im;   /* this sub-block */
    const lane_bins *y_re, *y_im;   /* the window ending now */
    const lane_bins *prev_re, *prev_im; /* the window one sub-block ago */
    const lane_bins *power;         /* |Y|^2 now */
    float window_energy[LG_LANE];
    const lg_mf_rx_lane *lane;      /* for the sub-blocks before this one */
    int now;                        /* ring slot of this sub-block */
} subblock_result;

static float window_gain(const lg_mf_rx_desc *d, float dev_hz)
{
    float at = fabsf(dev_hz) * 2.0f;
    int k = (int)at;
    if (k >= LG_MF_GAIN_STEPS - 1)
        return d->gain[LG_MF_GAIN_STEPS - 1];
    float frac = at - (float)k;
    return d->gain[k] + frac * (d->gain[k + 1] - d->gain[k]);
}

typedef struct {
    int signal;      /* 0: no signal in this window */
    float fraction;  /* the two tones' share of the window's energy */
    float dev[2];    /* offsets (Hz) of the signal's lower- and higher-indexed tones */
} window_verdict;

/* A tone's offset from its bin as the window's response needs it: sin and
 * cos of b L and of b, and e^{j b (L - 1)}, with b = pi dev / fs. */
typedef struct {
    float sin_l, cos_l, sin_1, cos_1, rot_re, rot_im;
} offset_trig;

/* One tone of a window as measured: its bin's output now and one sub-block
 * ago, the offset from its bin that their phase advance gives, and the
 * window's response to it at its own bin (own_re + j own_im, |.|^2 own). */
typedef struct {
    int bin;
    float re, im, prev_re, prev_im;
    float dev_hz;
    offset_trig trig; /* of dev_hz */
    float own_re, own_im, own;
} tone_measure;

static void response_at(const lg_mf_rx_desc *d, int from, const offset_trig *t, int to, float *re, float *im);

static void set_offset(const lg_mf_rx_desc *d, tone_measure *t, float dev_hz)
{
    const int length = d->window * M;
    /* b is under 0.1 (a tone 250 Hz off): two terms of each series are
     * exact to float precision; b L needs the library. */
    const float b = PI_F * dev_hz / (float)LG_SAMPLE_RATE, b2 = b * b;
    t->dev_hz = dev_hz;
    t->trig.sin_1 = b * (1.0f - b2 * (1.0f / 6.0f) * (1.0f - b2 * (1.0f / 20.0f)));
    t->trig.cos_1 = 1.0f - b2 * 0.5f * (1.0f - b2 * (1.0f / 12.0f));
    t->trig.sin_l = sinf(b * (float)length);
    t->trig.cos_l = cosf(b * (float)length);
    /* b (L - 1) = b L - b */
    t->trig.rot_re = t->trig.cos_l * t->trig.cos_1 + t->trig.sin_l * t->trig.sin_1;
    t->trig.rot_im = t->trig.sin_l * t->trig.cos_1 - t->trig.cos_l * t->trig.sin_1;
    response_at(d, t->bin, &t->trig, t->bin, &t->own_re, &t->own_im);
    t->own = t->own_re * t->own_re + t->own_im * t->own_im;
}

/* The window's response at bin `to` to a tone `t` (on bin `from`, off it by
 * its offset): the sum over n < L of e^{j 2 pi (f_from + dev - f_to) n / fs}
 * = e^{j x (L - 1)} sin(x L) / sin(x), x = a + b, from the parts of a (the
 * descriptor's) and of b (the tone's). */
static void response_at(const lg_mf_rx_desc *d, int from, const offset_trig *t, int to, float *re, float *im)
{
    float num = d->pair_sin_l[from][to] * t->cos_l + d->pair_cos_l[from][to] * t->sin_l;
    float den = d->pair_sin_1[from][to] * t->cos_1 + d->pair_cos_1[from][to] * t->sin_1;
    float mag = fabsf(den) < 1e-7f ? (float)(d->window * M) : num / den;
    *re = mag * (d->pair_rot_re[from][to] * t->rot_re - d->pair_rot_im[from][to] * t->rot_im);
    *im = mag * (d->pair_rot_re[from][to] * t->rot_im + d->pair_rot_im[from][to] * t->rot_re);
}

static float advance_hz(const lg_mf_rx_desc *d, const tone_measure *t)
{
    float zr = t->re * t->prev_re + t->im * t->prev_im;
    float zi = t->im * t->prev_re - t->re * t->prev_im;
    int b = t->bin;
    float ur = zr * d->w_rot1_re[b] - zi * d->w_rot1_im[b];
    float ui = zr * d->w_rot1_im[b] + zi * d->w_rot1_re[b];
    if (ur == 0.0f && ui == 0.0f)
        return NAN;
    return lg_fast_atan2f(ui, ur) * (float)LG_SAMPLE_RATE / (2.0f * PI_F * M);
}

/* How tone `from` reaches bin `to`: the window's response there over its
 * response at its own bin (kr + j ki). 0 when the tone is so far off its
 * bin that its amplitude cannot be known. */
static void leakage_ratio(const lg_mf_rx_desc *d, const tone_measure *from, int to, float *kr, float *ki)
{
    const float length = (float)(d->window * M);
    float far_re, far_im;
    *kr = *ki = 0.0f;
    if (!(from->own > 0.01f * length * length))
        return;
    response_at(d, from->bin, &from->trig, to, &far_re, &far_im);
    *kr = (far_re * from->own_re + far_im * from->own_im) / from->own;
    *ki = (far_im * from->own_re - far_re * from->own_im) / from->own;
}

/* Takes `from`'s leakage out of `into` (now and one sub-block ago) and
 * measures `into` again. Two tones of one signal lie at most 10-12 Hz off a
 * null of the window (R2), or off the window's centre by a good part of its
 * main lobe (R1: +-30 Hz in a 15 ms window): the leakage of a tone 7 dB
 * louder turned the other's phase advance by up to 16 degrees, 10 Hz or
 * more of error. */
static void remove_leakage(const lg_mf_rx_desc *d, const tone_measure *from, tone_measure *into)
{
    float kr, ki;
    leakage_ratio(d, from, into->bin, &kr, &ki);
    into->re -= kr * from->re - ki * from->im;
    into->im -= kr * from->im + ki * from->re;
    into->prev_re -= kr * from->prev_re - ki * from->prev_im;
    into->prev_im -= kr * from->prev_im + ki * from->prev_re;
    set_offset(d, into, advance_hz(d, into));
}

/* The strongest |Y|^2 of the bins other than the two tones' (guards
 * included), each without the two tones' leakage: what else the window
 * holds. */
static float strongest_other(const lg_mf_rx_desc *d, const subblock_result *r, const tone_measure t[2], int i)
{
    float strongest = 0.0f;
    for (int b = 0; b < LG_MF_BINS; b++) {
        if (b == t[0].bin || b == t[1].bin)
            continue;
        float re = r->y_re[b][i], im = r->y_im[b][i];
        for (int k = 0; k < 2; k++) {
            float kr, ki;
            leakage_ratio(d, &t[k], b, &kr, &ki);
            re -= kr * t[k].re - ki * t[k].im;
            im -= kr * t[k].im + ki * t[k].re;
        }
        float p = re * re + im * im;
        if (p > strongest)
            strongest = p;
    }
    return strongest;
}

/* The signal whose two tones dominate this window, if any: the tests that
 * need the measured frequencies, for a window the screen let through. Each
 * tone is measured with the other's leakage taken out. */
static window_verdict window_signal(const lg_mf_rx_desc *d, const subblock_result *r, const screen_result *sc,
                                    int i)
{
    window_verdict none = {0, 0.0f, {0.0f, 0.0f}};
    tone_measure t[2];
    for (int k = 0; k < 2; k++) {
        int b = k == 0 ? sc->a[i] : sc->b[i];
        t[k].bin = b;
        t[k].re = r->y_re[b][i];
        t[k].im = r->y_im[b][i];
        t[k].prev_re = r->prev_re[b][i];
        t[k].prev_im = r->prev_im[b][i];
        set_offset(d, &t[k], k == 0 ? sc->a_dev_hz[i] : sc->b_dev_hz[i]);
    }
    /* The first cleaning of t[1] goes by t[0]'s raw offset, a few Hz out
     * when t[1] leaks into it: t[1] is cleaned again from its raw output
     * with t[0] measured clean. */
    const tone_measure raw = t[1];
    remove_leakage(d, &t[0], &t[1]);
    remove_leakage(d, &t[1], &t[0]);
    t[1] = raw;
    remove_leakage(d, &t[0], &t[1]);
    const float L = (float)(d->window * M);
    const float to_power = 2.0f / (L * L); /* |Y|^2 -> power of a sine */
    float p[2];
    for (int k = 0; k < 2; k++) {
        if (!(fabsf(t[k].dev_hz) <= d->window_dev_hz[t[k].bin]))
            return none;
        p[k] = (t[k].re * t[k].re + t[k].im * t[k].im) * to_power / window_gain(d, t[k].dev_hz);
        if (p[k] < d->min_power)
            return none;
    }
    if (p[0] > d->twist * p[1] || p[1] > d->twist * p[0])
        return none;
    /* Two tones and only two: the weaker over anything else (as if on a bin). */
    if ((p[0] < p[1] ? p[0] : p[1]) < d->peak_ratio * strongest_other(d, r, t, i) * to_power)
        return none;
    float fraction = (p[0] + p[1]) / (r->window_energy[i] / L);
    if (fraction < WINDOW_FRACTION_FLOOR)
        return none;
    int low = t[0].bin < t[1].bin ? 0 : 1;
    window_verdict v = {lg_mf_signal(t[0].bin, t[1].bin), fraction, {t[low].dev_hz, t[1 - low].dev_hz}};
    return v;
}

static int tone_low(int signal)
{
    return lg_mf_pair[2 * (signal - 1)];
}

static int tone_high(int signal)
{
    return lg_mf_pair[2 * (signal - 1) + 1];
}

static float signal_power(const subblock_result *r, int signal, int i)
{
    return r->power[tone_low(signal)][i] + r->power[tone_high(signal)][i];
}

static float signal_amplitude(const lane_bins *x_re, const lane_bins *x_im, int signal, int i)
{
    int a = tone_low(signal), b = tone_high(signal);
    return sqrtf(x_re[a][i] * x_re[a][i] + x_im[a][i] * x_im[a][i]) +
           sqrtf(x_re[b][i] * x_re[b][i] + x_im[b][i] * x_im[b][i]);
}

static int64_t subblock_time(const lg_mf_rx_state *st, int64_t sb)
{
    return st->origin + sb * M;
}

/* Where the tone began: the first fully covered sub-block of the run that
 * reaches the latest one (dips of at most MAX_DIP_SUBBLOCKS inside it, an
 * interruption, bridged), moved back by the coverage of the (at most two)
 * partly covered ones before it. Searched backwards: the history before a
 * candidate may hold the end of the signal before it. */
static int64_t estimate_start(const lg_mf_rx_state *st)
{
    const lg_tone_ring *ring = &st->ring;
    float ref = lg_tone_ring_max(ring);
    int64_t full = lg_tone_ring_last(ring);
    while (full > ring->first && lg_tone_ring_at(ring, full) < FULL_RATIO * ref)
        full--;
    int dip = 0;
    for (int64_t sb = full - 1; sb >= ring->first; sb--) {
        if (lg_tone_ring_at(ring, sb) >= FULL_RATIO * ref) {
            full = sb;
            dip = 0;
        } else if (++dip > MAX_DIP_SUBBLOCKS) {
            break;
        }
    }
    float partial = 0.0f;
    for (int64_t sb = full - 1; sb >= full - 2 && sb >= ring->first; sb--)
        partial += lg_tone_ring_coverage(ring, sb, ref, EDGE_FLOOR);
    return subblock_time(st, full) - (int64_t)lrintf(partial * M);
}

/* Where the tone ended: after the last fully covered sub-block, plus the
 * coverage of the (at most two) partly covered ones after it. Searched up
 * to the last window that showed the signal: the sub-blocks after it may
 * already hold the next signal (the same one again, after a short pause). */
static int64_t estimate_end(const lg_mf_rx_state *st)
{
    float partial;
    int64_t after = lg_tone_ring_end(&st->ring, st->last_seen, FULL_RATIO, EDGE_FLOOR, &partial);
    return subblock_time(st, after) + (int64_t)lrintf(partial * M);
}

static void emit(const lg_mf_rx_desc *d, lg_event_sink *sink, int channel, int signal, int flags, int64_t start,
                 int64_t end, float confidence)
{
    lg_emit(sink, channel, d->event_kind, signal, flags, start, end, confidence);
}

/* `now`: the channel's number of the sub-block just completed. */
static void begin_candidate(const lg_mf_rx_desc *d, lg_mf_rx_state *st, const subblock_result *r, int signal,
                            int i, int64_t now)
{
    st->phase = LG_MF_RX_CANDIDATE;
    st->signal = signal;
    st->gap = 0;
    st->last_seen = now;
    /* The window that found the signal spans the last W sub-blocks; the
     * history before it shows where the tone began when the first windows
     * that held it were refused (a tone cut off by the window's edge
     * spreads into the other bins). */
    lg_tone_ring_restart(&st->ring, now - (LG_MF_HISTORY - 1));
    for (int h = LG_MF_HISTORY - 1; h >= 0; h--) {
        int slot = (r->now - h + LG_MF_HISTORY) % LG_MF_HISTORY;
        lg_tone_ring_push(&st->ring, signal_amplitude(r->lane->x_re[slot], r->lane->x_im[slot], signal, i));
    }
    st->peak_power = signal_power(r, signal, i);
    st->fraction_sum = 0.0f;
    st->fraction_count = 0;
    st->dev_sum[0] = st->dev_sum[1] = 0.0f;
}

static void add_evidence(lg_mf_rx_state *st, const window_verdict *v)
{
    st->fraction_sum += v->fraction;
    st->fraction_count++;
    st->dev_sum[0] += v->dev[0];
    st->dev_sum[1] += v->dev[1];
}

/* Whether a candidate that has lasted long enough is a signal: each tone's
 * mean frequency in tolerance, the two mostly all there was. */
static int candidate_is_signal(const lg_mf_rx_desc *d, const lg_mf_rx_state *st)
{
    int n = st->fraction_count;
    if (n == 0)
        return 0;
    if (fabsf(st->dev_sum[0]) > d->max_dev_hz[tone_low(st->signal)] * (float)n ||
        fabsf(st->dev_sum[1]) > d->max_dev_hz[tone_high(st->signal)] * (float)n)
        return 0;
    return st->fraction_sum >= d->tone_fraction * (float)n;
}

static void end_signal(const lg_mf_rx_desc *d, lg_mf_rx_state *st, int channel, lg_event_sink *sink)
{
    int64_t end = estimate_end(st);
    if (end <= st->start)
        end = st->start + 1;
    emit(d, sink, channel, st->signal, LG_EVENT_END, st->start, end, st->confidence);
    st->phase = LG_MF_RX_IDLE;
    st->signal = 0;
}

static int min_on_samples(const lg_mf_rx_desc *d, int signal)
{
    return d->kind == LG_MF_R1 && signal == LG_MF_R1_KP ? d->kp_min_on_samples : d->min_on_samples;
}

/* `now`: the channel's number of the sub-block just completed. */
static void decide(const lg_mf_rx_desc *d, lg_mf_rx_state *st, const subblock_result *r, const screen_result *sc,
                   int i, int64_t now, int channel, lg_event_sink *sink)
{
    const int W = d->window;
    const int64_t now_end = subblock_time(st, now + 1);
    int screened = sc->maybe[i] ? lg_mf_signal(sc->a[i], sc->b[i]) : 0;
    int64_t start = 0;
    int evidence = 0;
    if (st->phase != LG_MF_RX_IDLE) {
        lg_tone_ring_push(&st->ring, signal_amplitude(r->x_re, r->x_im, st->signal, i));
        if (st->phase == LG_MF_RX_CANDIDATE) {
            /* Evidence comes from windows the tone covers, and the window
             * before too, which the phase advance compares with: a tone cut
             * off by a window's edge spreads, and its phase moves with the
             * cut (the first covered window read a tone 20 Hz off as 5 Hz). */
            start = estimate_start(st);
            evidence = now_end - (int64_t)(W + 1) * M >= start;
        }
    }
    window_verdict verdict = {0, 0.0f, {0.0f, 0.0f}};
    if (screened && screened == st->signal && !evidence) {
        /* A signal being followed only needs to be seen going on; it is
         * measured in the windows that count as evidence. */
        verdict.signal = st->signal;
    } else if (screened && now >= W - 1) {
        /* From the first full window on: the one before it, which the phase
         * advance needs, is partly the silence before the stream. */
        verdict = window_signal(d, r, sc, i);
    }
    int signal = verdict.signal;

    if (st->phase == LG_MF_RX_IDLE) {
        if (signal)
            begin_candidate(d, st, r, signal, i, now);
        return;
    }
    float power = signal_power(r, st->signal, i);
    if (signal == st->signal && power >= CONTINUE_RATIO * st->peak_power) {
        st->gap = 0;
        st->last_seen = now;
        if (power > st->peak_power)
            st->peak_power = power;
        if (st->phase == LG_MF_RX_CANDIDATE) {
            if (evidence)
                add_evidence(st, &verdict);
            if (now_end - start >= min_on_samples(d, signal) && power >= CONFIRM_RATIO * st->peak_power &&
                candidate_is_signal(d, st)) {
                st->start = start;
                st->phase = LG_MF_RX_ACTIVE;
                st->confidence = st->fraction_sum / (float)st->fraction_count;
                emit(d, sink, channel, signal, LG_EVENT_BEGIN, start, -1, st->confidence);
            }
        }
        return;
    }
    if (signal && signal != st->signal) {
        /* Another signal straight away: its start bounds the old one's end. */
        int was_active = st->phase == LG_MF_RX_ACTIVE;
        int old_signal = st->signal;
        float old_confidence = st->confidence;
        int64_t old_start = st->start, old_end = was_active ? estimate_end(st) : 0;
        begin_candidate(d, st, r, signal, i, now);
        if (was_active) {
            int64_t boundary = estimate_start(st);
            if (old_end > boundary)
                old_end = boundary;
            if (old_end <= old_start)
                old_end = old_start + 1;
            emit(d, sink, channel, old_signal, LG_EVENT_END, old_start, old_end, old_confidence);
        }
        return;
    }
    int allowed = st->phase == LG_MF_RX_CANDIDATE && d->end_windows > CANDIDATE_GAP_WINDOWS ? CANDIDATE_GAP_WINDOWS
                                                                                            : d->end_windows;
    if (++st->gap >= allowed) {
        if (st->phase == LG_MF_RX_ACTIVE)
            end_signal(d, st, channel, sink);
        st->phase = LG_MF_RX_IDLE;
        st->signal = 0;
    }
}

#ifdef HAVE_V8F
/* The tests of a window that need no arctangent, for a whole lane: the two
 * strongest of the six tones, inside their cones, levels, twist, peak ratio
 * and share bounded by the most the roll-off can correct them, so a channel
 * failing here fails window_signal too. */
static inline __attribute__((always_inline)) void screen_windows(const lg_mf_rx_desc *d, const subblock_result *r,
                                                                 screen_result *out)
{
    v8f zero = {0};
    v8f t1 = zero - 1.0f, t2 = zero - 1.0f, t3 = zero - 1.0f;
    v8i i1 = {0}, i2 = {0};
    v8f u1r = zero, u1i = zero, u2r = zero, u2i = zero;
    v8f s1 = zero, c1 = zero, g1 = zero, s2 = zero, c2 = zero, g2 = zero;
    for (int b = 0; b < TONES; b++) {
        v8f p = lg_load_v8f(r->power[b]);
        v8f yr = lg_load_v8f(r->y_re[b]), yi = lg_load_v8f(r->y_im[b]);
        v8f pr = lg_load_v8f(r->prev_re[b]), pi = lg_load_v8f(r->prev_im[b]);
        v8f zr = yr * pr + yi * pi, zi = yi * pr - yr * pi;
        v8f br = zr * d->w_rot1_re[b] - zi * d->w_rot1_im[b];
        v8f bi = zr * d->w_rot1_im[b] + zi * d->w_rot1_re[b];
        v8f cs = zero + d->cone_sin[b], cc = zero + d->cone_cos[b], eg = zero + d->edge_gain[b];
        v8i gt1 = p > t1, gt2 = p > t2, gt3 = p > t3;
        v8i bin = (v8i){0} + b;
        t3 = lg_select_v8f(gt2, t2, lg_select_v8f(gt3, p, t3));
        /* The second place: the old first when this one wins, else this one when it beats the second. */
        t2 = lg_select_v8f(gt1, t1, lg_select_v8f(gt2, p, t2));
        i2 = lg_select_v8i(gt1, i1, lg_select_v8i(gt2, bin, i2));
        u2r = lg_select_v8f(gt1, u1r, lg_select_v8f(gt2, br, u2r));
        u2i = lg_select_v8f(gt1, u1i, lg_select_v8f(gt2, bi, u2i));
        s2 = lg_select_v8f(gt1, s1, lg_select_v8f(gt2, cs, s2));
        c2 = lg_select_v8f(gt1, c1, lg_select_v8f(gt2, cc, c2));
        g2 = lg_select_v8f(gt1, g1, lg_select_v8f(gt2, eg, g2));
        t1 = lg_select_v8f(gt1, p, t1);
        i1 = lg_select_v8i(gt1, bin, i1);
        u1r = lg_select_v8f(gt1, br, u1r);
        u1i = lg_select_v8f(gt1, bi, u1i);
        s1 = lg_select_v8f(gt1, cs, s1);
        c1 = lg_select_v8f(gt1, cc, c1);
        g1 = lg_select_v8f(gt1, eg, g1);
    }
    v8f guard_low = lg_load_v8f(r->power[GUARD_LOW]), guard_high = lg_load_v8f(r->power[GUARD_HIGH]);
    v8f third = lg_select_v8f(guard_low > t3, guard_low, t3);
    third = lg_select_v8f(guard_high > third, guard_high, third);
    v8f abs_u1i = lg_select_v8f(u1i < zero, -u1i, u1i), abs_u2i = lg_select_v8f(u2i < zero, -u2i, u2i);
    v8i cone1 = ((u1r != zero) | (u1i != zero)) & (u1r * s1 >= abs_u1i * c1);
    v8i cone2 = ((u2r != zero) | (u2i != zero)) & (u2r * s2 >= abs_u2i * c2);
    const float L = (float)(d->window * M);
    const float to_power = 2.0f / (L * L);
    v8f p1 = t1 * to_power, p2 = t2 * to_power;
    v8f mean_power = lg_load_v8f(r->window_energy) * (1.0f / L);
    v8i ok = cone1 & cone2 & (t2 >= SCREEN_PEAK_SLACK * d->peak_ratio * third) & (p1 >= d->min_power * g1) &
             (p2 >= d->min_power * g2) & (p1 * g2 <= d->twist * p2) &
             (p1 * g2 + p2 * g1 >= WINDOW_FRACTION_FLOOR * g1 * g2 * mean_power);
    int any = 0;
    for (int i = 0; i < LG_LANE; i++) {
        out->maybe[i] = ok[i] != 0;
        out->a[i] = i1[i];
        out->b[i] = i2[i];
        any |= out->maybe[i];
    }
    if (any) {
        const float to_hz = (float)LG_SAMPLE_RATE / (2.0f * PI_F * M);
        v8f dev1 = lg_atan2_v8f(u1i, u1r) * to_hz, dev2 = lg_atan2_v8f(u2i, u2r) * to_hz;
        for (int i = 0; i < LG_LANE; i++) {
            out->a_dev_hz[i] = dev1[i];
            out->b_dev_hz[i] = dev2[i];
        }
    }
}
#else
/* Without vectors: the same screen, one channel at a time. */

/* z = Y_now * conj(Y_prev) * e^{-jwM}: its angle is the phase advance beyond
 * the bin's own frequency. */
static void phase_advance(const lg_mf_rx_desc *d, const subblock_result *r, int b, int i, float *ur, float *ui)
{
    float yr = r->y_re[b][i], yi = r->y_im[b][i];
    float pr = r->prev_re[b][i], pi = r->prev_im[b][i];
    float zr = yr * pr + yi * pi;
    float zi = yi * pr - yr * pi;
    *ur = zr * d->w_rot1_re[b] - zi * d->w_rot1_im[b];
    *ui = zr * d->w_rot1_im[b] + zi * d->w_rot1_re[b];
}

static void screen_windows(const lg_mf_rx_desc *d, const subblock_result *r, screen_result *out)
{
    const float L = (float)(d->window * M);
    const float to_power = 2.0f / (L * L);
    const float to_hz = (float)LG_SAMPLE_RATE / (2.0f * PI_F * M);
    for (int i = 0; i < LG_LANE; i++) {
        float t1 = -1.0f, t2 = -1.0f, t3 = -1.0f;
        int i1 = 0, i2 = 0;
        for (int b = 0; b < TONES; b++) {
            float p = r->power[b][i];
            if (p > t1) {
                t3 = t2;
                t2 = t1;
                i2 = i1;
                t1 = p;
                i1 = b;
            } else if (p > t2) {
                t3 = t2;
                t2 = p;
                i2 = b;
            } else if (p > t3) {
                t3 = p;
            }
        }
        float third = t3;
        if (r->power[GUARD_LOW][i] > third)
            third = r->power[GUARD_LOW][i];
        if (r->power[GUARD_HIGH][i] > third)
            third = r->power[GUARD_HIGH][i];
        float u1r, u1i, u2r, u2i;
        phase_advance(d, r, i1, i, &u1r, &u1i);
        phase_advance(d, r, i2, i, &u2r, &u2i);
        int cone1 = (u1r != 0.0f || u1i != 0.0f) && u1r * d->cone_sin[i1] >= fabsf(u1i) * d->cone_cos[i1];
        int cone2 = (u2r != 0.0f || u2i != 0.0f) && u2r * d->cone_sin[i2] >= fabsf(u2i) * d->cone_cos[i2];
        float g1 = d->edge_gain[i1], g2 = d->edge_gain[i2];
        float p1 = t1 * to_power, p2 = t2 * to_power;
        float mean_power = r->window_energy[i] / L;
        out->a[i] = i1;
        out->b[i] = i2;
        out->a_dev_hz[i] = (u1r != 0.0f || u1i != 0.0f) ? lg_fast_atan2f(u1i, u1r) * to_hz : 0.0f;
        out->b_dev_hz[i] = (u2r != 0.0f || u2i != 0.0f) ? lg_fast_atan2f(u2i, u2r) * to_hz : 0.0f;
        out->maybe[i] = cone1 && cone2 && t2 >= SCREEN_PEAK_SLACK * d->peak_ratio * third && p1 >= d->min_power * g1 &&
                        p2 >= d->min_power * g2 && p1 * g2 <= d->twist * p2 &&
                        p1 * g2 + p2 * g1 >= WINDOW_FRACTION_FLOOR * g1 * g2 * mean_power;
    }
}
#endif

/* Turns the lane's accumulators into this sub-block's results, makes the
 * decisions of every channel, then moves the history on. */
LG_MULTIVERSION __attribute__((noinline))
static void finish_subblock(const lg_mf_rx_desc *d, lg_mf_rx_lane *lane, lg_mf_rx_state *states,
                            int first_channel, int nvalid, lg_event_sink *sink)
{
    if (!lane->acc.active) {
        lane->subblocks++;
        return;
    }
    const int W = d->window;
    /* This sub-block replaces the one W sub-blocks old in the ring. */
    int now = (int)(lane->subblocks % LG_MF_HISTORY);
    int ywin = (int)(lane->subblocks % 2);
    for (int b = 0; b < LG_MF_BINS; b++) {
        for (int i = 0; i < LG_LANE; i++) {
            float s1 = lane->acc.s1[b][i], s2 = lane->acc.s2[b][i];
            lane->x_re[now][b][i] = d->x_rot1_re[b] * s1 - d->w_rot1_re[b] * s2;
            lane->x_im[now][b][i] = d->x_rot1_im[b] * s1 - d->w_rot1_im[b] * s2;
            lane->acc.s1[b][i] = lane->acc.s2[b][i] = 0.0f;
        }
        /* The window's transform from its first sub-block's start: each
         * sub-block's, turned back by its delay. Slid on from the window
         * before (its first sub-block out, the new one in, the reference
         * moved on by a sub-block: two complex products, not W), and summed
         * afresh every EXACT_EVERY sub-blocks so that rounding cannot pile
         * up. */
        float yr[LG_LANE], yi[LG_LANE];
        if (lane->subblocks % EXACT_EVERY == 0) {
            for (int i = 0; i < LG_LANE; i++)
                yr[i] = yi[i] = 0.0f;
            for (int h = 0; h < W; h++) {
                int slot = (now - (W - 1) + h + LG_MF_HISTORY) % LG_MF_HISTORY;
                float cr = d->rot_re[h][b], ci = d->rot_im[h][b];
                for (int i = 0; i < LG_LANE; i++) {
                    float xr = lane->x_re[slot][b][i], xi = lane->x_im[slot][b][i];
                    yr[i] += cr * xr - ci * xi;
                    yi[i] += cr * xi + ci * xr;
                }
            }
        } else {
            const int gone = (now - W + LG_MF_HISTORY) % LG_MF_HISTORY;
            /* e^{+jwM}: the reference moves one sub-block later. */
            const float ur = d->w_rot1_re[b], ui = -d->w_rot1_im[b];
            const float lr = d->rot_re[W - 1][b], li = d->rot_im[W - 1][b];
            for (int i = 0; i < LG_LANE; i++) {
                float pr = lane->y_re[1 - ywin][b][i] - lane->x_re[gone][b][i];
                float pi = lane->y_im[1 - ywin][b][i] - lane->x_im[gone][b][i];
                float xr = lane->x_re[now][b][i], xi = lane->x_im[now][b][i];
                yr[i] = ur * pr - ui * pi + lr * xr - li * xi;
                yi[i] = ur * pi + ui * pr + lr * xi + li * xr;
            }
        }
        for (int i = 0; i < LG_LANE; i++) {
            lane->y_re[ywin][b][i] = yr[i];
            lane->y_im[ywin][b][i] = yi[i];
            lane->y_pow[b][i] = yr[i] * yr[i] + yi[i] * yi[i];
        }
    }
    subblock_result r;
    for (int i = 0; i < LG_LANE; i++) {
        lane->e_sub[now][i] = lane->acc.energy[i];
        lane->acc.energy[i] = 0.0f;
        r.window_energy[i] = 0.0f;
    }
    for (int h = 0; h < W; h++) {
        const float *e = lane->e_sub[(now - h + LG_MF_HISTORY) % LG_MF_HISTORY];
        for (int i = 0; i < LG_LANE; i++)
            r.window_energy[i] += e[i];
    }
    r.x_re = lane->x_re[now];
    r.x_im = lane->x_im[now];
    r.y_re = lane->y_re[ywin];
    r.y_im = lane->y_im[ywin];
    r.prev_re = lane->y_re[1 - ywin];
    r.prev_im = lane->y_im[1 - ywin];
    r.power = lane->y_pow;
    r.lane = lane;
    r.now = now;

    screen_result screen;
    screen_windows(d, &r, &screen);
    uint32_t todo = lane->tracking;
    for (int i = 0; i < LG_LANE; i++)
        todo |= (uint32_t)screen.maybe[i] << i;
    todo &= lane->acc.active;
    for (int i = 0; todo; i++, todo >>= 1) {
        if (!(todo & 1u))
            continue;
        lg_mf_rx_state *st = &states[i];
        decide(d, st, &r, &screen, i, lane->subblocks - st->first_subblock, first_channel + i, sink);
        if (st->phase == LG_MF_RX_IDLE)
            lane->tracking &= ~(1u << i);
        else
            lane->tracking |= 1u << i;
    }
    lane->subblocks++;
}

typedef struct {
    const lg_mf_rx_desc *desc;
    lg_mf_rx_lane *lanes;
    lg_mf_rx_state *states;
    lg_event_sink *sink;
} feed_context;

static void subblock_done(void *context, int lane, int first_channel, int nvalid)
{
    feed_context *c = context;
    finish_subblock(c->desc, &c->lanes[lane], &c->states[first_channel], first_channel, nvalid, c->sink);
}

int lg_mf_rx_feed(const lg_mf_rx_desc *d, lg_mf_rx_bank *bank, lg_mf_rx_lane *lanes, lg_mf_rx_state *states,
                  const void *samples, int encoding, int stride, int nsamples, lg_event *events, int max_events)
{
    if (!d || !bank || !lanes || !states || !events || lg_goertzel_check_feed(samples, encoding, stride, nsamples))
        return LG_E_ARG;
    if (d->window < 1 || d->window > LG_MF_MAX_WINDOW)
        return LG_E_ARG; /* not a descriptor lg_mf_rx_desc_init made */
    int bound = lg_mf_rx_max_events(bank->channels, nsamples);
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

int lg_mf_rx_flush(const lg_mf_rx_desc *d, lg_mf_rx_bank *bank, lg_mf_rx_lane *lanes, lg_mf_rx_state *states,
                   lg_event *events, int max_events)
{
    if (!d || !bank || !lanes || !states || !events)
        return LG_E_ARG;
    if (max_events < bank->channels)
        return LG_E_SPACE;
    lg_event_sink sink = {events, 0};
    for (int c = 0; c < bank->channels; c++) {
        lg_mf_rx_state *st = &states[c];
        if (st->phase == LG_MF_RX_ACTIVE)
            end_signal(d, st, c, &sink);
        st->phase = LG_MF_RX_IDLE;
        st->signal = 0;
        st->gap = 0;
    }
    for (int ln = 0; ln < (bank->channels + LG_LANE - 1) / LG_LANE; ln++)
        lanes[ln].tracking = 0;
    return sink.count;
}
