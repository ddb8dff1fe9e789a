/* Answering-machine and beep detector for many channels; the design is in
 * amd.h. Channels are processed one by one: per sample, the sample is
 * decoded into the channel's frame buffer; per 10 ms frame, seven lag sums
 * (vectorised over the frame) feed the frame decisions. */
#include "amd.h"
#include "amd_model.h"
#include "g711.h"
#include "lg_simd.h"

#include <math.h>
#include <string.h>

#define FR LG_AMD_FRAME
#define NL LG_AMD_LAGS
#define HIST (NL - 1) /* samples of history in front of the frame buffer */
#define WIN LG_AMD_WINDOW
#define RING (LG_AMD_WINDOW + 1)
#define EH LG_AMD_HISTORY

/* Steadiness of a beep, per 10 ms frame: the largest change of the
 * window's normalised autocorrelation r_k / r_0 (k = 1..6), and of the
 * window level. On the dev corpus every beep kind (sine, tone sequences,
 * square-ish, drifting, recorded) held both for 120 ms and more; speech and
 * music runs held them for at most 80 ms (outside sustained synthesiser
 * notes, which the onset test rejects). */
#define BEEP_SHAPE_STEP 0.03f
#define BEEP_LEVEL_STEP_DB 0.5f
/* ... and of the 10 ms frame level: a tone's frames hold their level within
 * ~0.1 dB, a voiced sound's jitter by a dB and more with the pitch pulses
 * that fall in each frame (a synthetic voice's steady vowel included). */
#define BEEP_FRAME_STEP_DB 0.6f
/* ... and so do the two 5 ms halves of a frame (a voice whose pitch period
 * equals the frame, 100 Hz, would pass the frame test). */
#define BEEP_HALF_STEP_DB 1.0f
/* A beep stands this far over the noise floor. */
#define BEEP_OVER_FLOOR_DB 15.0f
/* Frames of a steady run the window needs to be filled by the tone: the
 * run begins about this many frames after the onset. */
#define BEEP_WINDOW_LAG 3
/* The level just before a beep: frames [s - 10, s - 2) for the run's
 * estimated onset s; the onset is the first frame within this of the
 * beep's level. */
#define BEEP_PRE_FRAMES 10
#define BEEP_ONSET_WITHIN_DB 6.0f
/* A beep has ended after this many frames without a steady frame. */
#define BEEP_END_FRAMES 5
/* A frame within this of the beep's level, at most this many frames after
 * the last steady one, belongs to the beep (multi-tone beeps). */
#define BEEP_HOLD_DB 3.0f
#define BEEP_HOLD_FRAMES 8
/* A run continues a chain only after a run of at least this many frames (a
 * 120 ms tone of a sequence gives 6) ... */
#define BEEP_CHAIN_MIN_RUN 5
/* ... when the tone changes: a step of the window across a tone switch
 * leaves at least BEEP_WINDOW_LAG unsteady frames and moves the frequency by
 * at least this share (a voice's steady vowel broken for a frame does
 * neither). */
#define BEEP_CHAIN_STEP 0.05f
/* Frames of a steady run after which frames stop counting as speech. */
#define BEEP_NOT_SPEECH_RUN 3
/* The loudest speech level decays by this per frame (1 dB/s). */
#define PEAK_DECAY_DB 0.01f
/* Regularisation of the 2nd-order covariance predictor (relative and
 * absolute), so that silence and exact sines stay well conditioned. */
#define COV_REG_REL 1e-6
#define COV_REG_ABS 1e-3
/* The phrase model is consulted every MODEL_EVERY frames from the first
 * speech on (50 ms: a decision is at most that late; the trees cost a few
 * hundred operations, against ~560 multiply-adds per frame of lag sums). */
#define MODEL_EVERY 5
/* A speech frame is voiced when its window's r1/r0 is above this: voiced
 * speech at 8 kHz is low-pass (r1/r0 0.7-0.95), fricatives and line noise
 * are not (below 0.3). */
#define VOICED_R1 0.6f
/* A frame is a "valley" when it is this far under the loudest speech: the
 * gaps between the words of one talker in a quiet room fall to the room's
 * noise, 30 dB and more down; a television or music under the talker fills
 * them. */
#define LOW_DB 20.0f
/* With the model on, the long-speech rules call a machine only when the
 * model's log-odds of `machine` are at least this (P 0.8): humans who talk
 * long (an introduction, a room with a television) are what those rules get
 * wrong, and a machine's decision may wait (its beep decides it anyway). */
/* The model calls a person only in a pause at least this long (frames):
 * consulted every 50 ms inside a greeting, it would otherwise get many
 * chances to be wrong between two words. */
#define MODEL_HUMAN_MIN_QUIET 25
/* A word goes on (its end is placed later) while its frames stay within
 * this of the speech threshold: a word's end decays into the noise, and the
 * silence after it is timed from where it fades (about where a listener
 * hears it end), so that the after-speech silence rule decides a person
 * at after_greeting_silence_ms after the end of their words, not ~0.1 s
 * earlier than meant. Only the frame right after a speech frame chains. */
#define END_HYST_DB 4.0f
/* The looser human threshold (model_human_later_pct) applies once a word
 * came after a pause of at least this many frames: a reply or a repeated
 * "Hello?". A shorter gap is inside one utterance ("Hello? Hi,"), the same
 * for a machine that says it before its greeting. */
#ifndef REPLY_GAP
#define REPLY_GAP 40
#endif
/* The background under the talker (a feature): the quietest 10 ms frame of
 * the last BACKGROUND_FRAMES, against the loudest speech. Between the words
 * of one talker in a quiet room the level falls to the room's noise; a
 * television or other voices in the room fill those gaps. */
#define BACKGROUND_FRAMES 50
/* The noise floor starts at the first frame's level, but no higher than
 * this: a call fed from its first word on (no quiet before it) must not take
 * that word for the line's noise. Line noise is -72..-50 dBm0 and room
 * noise -68..-48 dBm0 in the corpus (its README) and the training calls
 * (tools/amd_training/generate.py); the gateway takes a block quieter than
 * -45 dBm0 for the line's quiet too (gateway/media.py, QUIET_DBM0). */
#define FLOOR_START_DBM0 (-45.0f)
#ifndef GATE_LOGIT
#define GATE_LOGIT 1.4f
#endif

static const double PI_D = 3.14159265358979323846;

void lg_amd_params_default(lg_amd_params *p)
{
    p->initial_silence_ms = 5000;
    p->max_greeting_ms = 3500;
    p->after_greeting_silence_ms = 1450;
    p->total_analysis_ms = 7000;
    p->beep_search_ms = 30000;
    p->word_gap_ms = 250;
    p->phrase_gap_ms = 450;
    p->density_window_ms = 3500;
    p->density_pct = 80;
    p->continuous_min_word_ms = 0;
    p->short_greeting_ms = 1000;
    p->chatty_words = 0;
    p->chatty_max_word_ms = 1000;
    p->chatty_max_gap_ms = 800;
    p->chatty_silence_ms = 300;
    p->min_speech_dbm0 = -52.0f;
    p->vad_threshold_db = 10.0f;
    p->relative_db = 14.0f;
    p->floor_rise_db_per_s = 2.0f;
    p->beep_min_ms = 100;
    p->beep_min_dbm0 = -50.0f;
    p->beep_min_hz = 300.0f;
    p->beep_max_hz = 2200.0f;
    p->beep_onset_db = 10.0f;
    p->model_human_pct = MODEL_HUMAN_PCT_DEFAULT;
    p->model_machine_pct = MODEL_MACHINE_PCT_DEFAULT;
    p->model_human_later_pct = MODEL_HUMAN_LATER_PCT_DEFAULT;
}

static int ms_ok(int32_t v, int32_t lo, int32_t hi)
{
    return v >= lo && v <= hi;
}

int lg_amd_params_bad_field(const lg_amd_params *p)
{
    if (!ms_ok(p->initial_silence_ms, 100, 60000))
        return 0;
    if (!ms_ok(p->max_greeting_ms, 100, 60000))
        return 1;
    if (!ms_ok(p->after_greeting_silence_ms, 50, 60000))
        return 2;
    if (!ms_ok(p->total_analysis_ms, 100, 120000))
        return 3;
    if (!ms_ok(p->beep_search_ms, 0, 600000))
        return 4;
    if (!ms_ok(p->word_gap_ms, 10, 5000))
        return 5;
    if (!ms_ok(p->phrase_gap_ms, 10, 5000))
        return 6;
    if (!ms_ok(p->density_window_ms, 100, 60000))
        return 7;
    if (!ms_ok(p->density_pct, 1, 101)) /* 101: rule off */
        return 8;
    if (!ms_ok(p->continuous_min_word_ms, 0, 60000))
        return 9;
    if (!ms_ok(p->short_greeting_ms, 0, 60000))
        return 10;
    if (!ms_ok(p->chatty_words, 0, 100))
        return 11;
    if (!ms_ok(p->chatty_max_word_ms, 10, 60000))
        return 12;
    if (!ms_ok(p->chatty_max_gap_ms, 10, 60000))
        return 13;
    if (!ms_ok(p->chatty_silence_ms, 10, 60000))
        return 14;
    /* Negated comparisons so that NaN counts as out of range. */
    if (!(p->min_speech_dbm0 >= -90.0f && p->min_speech_dbm0 <= 0.0f))
        return 15;
    if (!(p->vad_threshold_db >= 1.0f && p->vad_threshold_db <= 40.0f))
        return 16;
    if (!(p->relative_db >= 3.0f && p->relative_db <= 90.0f))
        return 17;
    if (!(p->floor_rise_db_per_s >= 0.0f && p->floor_rise_db_per_s <= 100.0f))
        return 18;
    /* The onset test looks back BEEP_PRE_FRAMES + BEEP_WINDOW_LAG + run
     * frames into a history of LG_AMD_HISTORY frames. */
    if (!ms_ok(p->beep_min_ms, 60, 180))
        return 19;
    if (!(p->beep_min_dbm0 >= -70.0f && p->beep_min_dbm0 <= 0.0f))
        return 20;
    if (!(p->beep_min_hz >= 100.0f && p->beep_min_hz <= 3900.0f))
        return 21;
    if (!(p->beep_max_hz > p->beep_min_hz && p->beep_max_hz <= 3900.0f))
        return 22;
    if (!(p->beep_onset_db >= 0.0f && p->beep_onset_db <= 60.0f))
        return 23;
    if (!(p->model_human_pct >= 0.0f && p->model_human_pct < 50.0f))
        return 24;
    if (!(p->model_machine_pct > 50.0f && p->model_machine_pct <= 100.0f))
        return 25;
    if (!(p->model_human_later_pct >= 0.0f && p->model_human_later_pct < 50.0f))
        return 26;
    return -1;
}

static int32_t ms_to_frames(int32_t ms)
{
    return (ms + 9) / 10;
}

int lg_amd_desc_init(lg_amd_desc *d, const lg_amd_params *p)
{
    if (!d || !p)
        return LG_E_ARG;
    if (lg_amd_params_bad_field(p) >= 0)
        return LG_E_RANGE;
    memset(d, 0, sizeof(*d));
    d->p0 = 0.5f * LG_DBM0_PEAK * LG_DBM0_PEAK;
    d->initial_silence = ms_to_frames(p->initial_silence_ms);
    d->max_greeting = ms_to_frames(p->max_greeting_ms);
    d->after_silence = ms_to_frames(p->after_greeting_silence_ms);
    d->total = ms_to_frames(p->total_analysis_ms);
    d->beep_search = ms_to_frames(p->beep_search_ms);
    d->word_gap = ms_to_frames(p->word_gap_ms);
    d->phrase_gap = ms_to_frames(p->phrase_gap_ms);
    d->density_window = ms_to_frames(p->density_window_ms);
    d->density = (float)p->density_pct / 100.0f;
    d->continuous_word = ms_to_frames(p->continuous_min_word_ms);
    d->short_greeting = ms_to_frames(p->short_greeting_ms);
    d->chatty_words = p->chatty_words;
    d->chatty_max_word = ms_to_frames(p->chatty_max_word_ms);
    d->chatty_max_gap = ms_to_frames(p->chatty_max_gap_ms);
    d->chatty_silence = ms_to_frames(p->chatty_silence_ms);
    d->min_speech_db = p->min_speech_dbm0;
    d->vad_db = p->vad_threshold_db;
    d->relative_db = p->relative_db;
    d->floor_rise = p->floor_rise_db_per_s / 100.0f;
    d->beep_frames = ms_to_frames(p->beep_min_ms);
    d->beep_min_db = p->beep_min_dbm0;
    d->beep_min_hz = p->beep_min_hz;
    d->beep_max_hz = p->beep_max_hz;
    d->beep_onset_db = p->beep_onset_db;
    /* The trees give log-odds; compare in that scale (no exp per frame). */
    d->model_human = p->model_human_pct > 0.0f;
    d->model_machine = p->model_machine_pct < 100.0f;
    d->human_logit = d->model_human ? logf(p->model_human_pct / (100.0f - p->model_human_pct)) : 0.0f;
    d->human_later_logit = d->model_human && p->model_human_later_pct > 0.0f
                               ? logf(p->model_human_later_pct / (100.0f - p->model_human_later_pct))
                               : -1e30f;
    d->machine_logit = d->model_machine ? logf(p->model_machine_pct / (100.0f - p->model_machine_pct)) : 0.0f;
    return LG_OK;
}

static void clear_state(lg_amd_state *st)
{
    memset(st, 0, sizeof(*st));
    st->first_speech = st->last_speech = -1;
    st->chain_last = -1;
    st->peak_db = st->top_db = -100.0f;
}

/* Analysis restarts; the clock and the on/off switch are kept. */
static void restart_analysis(lg_amd_state *st)
{
    int64_t clock = st->clock;
    int32_t off = st->off;
    clear_state(st);
    st->clock = st->origin = clock;
    st->off = off;
}

int lg_amd_bank_init(lg_amd_bank *bank, lg_amd_lane *lanes, lg_amd_state *states, int channels)
{
    if (!bank || !lanes || !states || channels < 1)
        return LG_E_ARG;
    bank->samples = 0;
    bank->channels = channels;
    memset(lanes, 0, sizeof(*lanes) * (size_t)((channels + LG_LANE - 1) / LG_LANE));
    for (int c = 0; c < channels; c++)
        clear_state(&states[c]);
    return LG_OK;
}

int lg_amd_reset(lg_amd_bank *bank, lg_amd_lane *lanes, lg_amd_state *states, int channel)
{
    if (!bank || !lanes || !states || channel < 0 || channel >= bank->channels)
        return LG_E_ARG;
    /* A new call on the channel: its clock restarts too; on/off stays as set. */
    int32_t off = states[channel].off;
    clear_state(&states[channel]);
    states[channel].off = off;
    return LG_OK;
}

int lg_amd_set_active(lg_amd_bank *bank, lg_amd_lane *lanes, lg_amd_state *states, int channel, int active)
{
    if (!bank || !lanes || !states)
        return LG_E_ARG;
    if (channel < 0 || channel >= bank->channels)
        return LG_E_RANGE;
    lg_amd_state *st = &states[channel];
    int off = !active;
    if (off == st->off)
        return LG_OK;
    st->off = off;
    /* Off drops what is under way without an event; on starts afresh at the
     * channel's current time. Either way the analysis state is cleared. */
    restart_analysis(st);
    return LG_OK;
}

int lg_amd_max_events(int channels, int nsamples)
{
    /* Per channel and completed frame at most three events (a beep's end, a
     * beep's begin, the decision); flush needs two per channel. */
    return lg_event_bound(channels, nsamples, 3, FR, 2);
}

/* ---- per frame ---------------------------------------------------------- */

static float to_db(float power)
{
    return 10.0f * log10f(power + 1e-10f);
}

/* Times inside the analysis count from its start; events are on the
 * channel's clock (they differ after lg_amd_set_active turned it back on). */
static void decide(lg_amd_state *st, lg_event_sink *sink, int channel, int value, int reason, float confidence,
                   int64_t at)
{
    st->decided = 1;
    at += st->origin;
    lg_emit_scored(sink, channel, LG_EVENT_AMD, value, LG_EVENT_END, at, at, confidence, reason);
}

static void end_beep(lg_amd_state *st, lg_event_sink *sink, int channel)
{
    lg_emit(sink, channel, LG_EVENT_BEEP, st->beep_hz, LG_EVENT_END, st->origin + st->beep_start,
            st->origin + (st->beep_last + 1) * FR, 1.0f);
    st->beep_on = 0;
}

/* The phrase model's inputs after frame st->frames - 1 (see amd_model.h for
 * what each means; the order is the model's). */
static void features(const lg_amd_state *st, float f[LG_AMD_FEATURES])
{
    int64_t t = st->frames - 1;
    float since = (float)(t - st->first_speech + 1);
    float talk = st->speech_frames > 0 ? (float)st->speech_frames : 1.0f;
    f[0] = since / 100.0f;
    f[1] = (float)(t - st->last_speech) / 100.0f;
    f[2] = (float)st->words;
    f[3] = (float)st->first_word / 100.0f;
    f[4] = (float)(st->last_speech - st->word_start + 1) / 100.0f;
    f[5] = (float)st->longest_word / 100.0f;
    f[6] = (float)st->speech_frames / since;
    f[7] = st->words > 1 ? (float)st->gap_sum / (100.0f * (float)(st->words - 1)) : 0.0f;
    f[8] = (float)st->gap_max / 100.0f;
    f[9] = (float)st->first_speech / 100.0f;
    f[10] = st->top_db - st->floor_db;
    f[11] = st->first_speech > 0 ? to_db((float)(st->pre_sum / (double)st->first_speech)) - st->top_db : 0.0f;
    f[12] = (float)st->low / since;
    f[13] = st->jitter_sum / talk;
    f[14] = (float)st->voiced / talk;
    f[15] = st->e_hist[t % EH] - st->top_db;
    f[16] = (float)(st->last_speech - st->phrase_start + 1) / 100.0f;
    f[17] = (float)st->prev_gap / 100.0f;
    int64_t span = t + 1 < BACKGROUND_FRAMES ? t + 1 : BACKGROUND_FRAMES;
    float quietest = st->e_hist[t % EH];
    for (int64_t k = 1; k < span; k++) {
        float v = st->e_hist[(t - k) % EH];
        quietest = v < quietest ? v : quietest;
    }
    f[18] = quietest - st->top_db;
}

/* The trees' sum: log-odds that the call is a machine. */
static float model_logit(const float f[LG_AMD_FEATURES])
{
    float sum = AMD_MODEL_BASE;
    for (int k = 0; k < AMD_MODEL_TREES; k++) {
        int n = amd_model_roots[k];
        while (amd_model_nodes[n].feature >= 0)
            n = f[amd_model_nodes[n].feature] <= amd_model_nodes[n].threshold ? amd_model_nodes[n].left
                                                                               : amd_model_nodes[n].right;
        sum += amd_model_nodes[n].threshold; /* a leaf keeps its value there */
    }
    return sum;
}

static int is_checkpoint(const lg_amd_state *st)
{
    return st->first_speech >= 0 && st->frames > 0 && (st->frames - 1 - st->first_speech) % MODEL_EVERY == MODEL_EVERY - 1;
}

/* The dominant frequency (Hz) of the window from the exact covariance-method
 * 2nd-order predictor, or 0 when the predictor has no resonance. */
static float window_hz(const double r[3], double xb, double xb1, double xa1, double xa2)
{
    double c11 = r[0] - xb * xb + xa1 * xa1;
    double c12 = r[1] - xb * xb1 + xa1 * xa2;
    double c22 = c11 - xb1 * xb1 + xa2 * xa2;
    double reg = COV_REG_REL * r[0] + COV_REG_ABS;
    c11 += reg;
    c22 += reg;
    double det = c11 * c22 - c12 * c12;
    if (!(det > 0.0) || !(r[0] > 0.0))
        return 0.0f;
    double a1 = (r[1] * c22 - r[2] * c12) / det; /* x[n] ~ a1 x[n-1] + a2 x[n-2] */
    double a2 = (r[2] * c11 - r[1] * c12) / det;
    if (!(a2 < 0.0))
        return 0.0f;
    double c = a1 / (2.0 * sqrt(-a2));
    c = c > 1.0 ? 1.0 : (c < -1.0 ? -1.0 : c);
    return (float)(acos(c) * LG_SAMPLE_RATE / (2.0 * PI_D));
}

__attribute__((noinline)) static void frame_done(const lg_amd_desc *d, lg_amd_state *st, const float lag[NL], float half, int channel,
                       lg_event_sink *sink)
{
    int64_t t = st->frames;
    int slot = (int)(t % RING);
    const float *x = st->buf + HIST;
    for (int k = 0; k < NL; k++)
        st->lag[slot][k] = lag[k];
    st->tail[slot][0] = x[FR - 2];
    st->tail[slot][1] = x[FR - 1];

    /* The window: the last WIN frames (fewer just after the reset). */
    int nwin = t + 1 < WIN ? (int)t + 1 : WIN;
    double rw[NL] = {0.0};
    for (int j = 0; j < nwin; j++) {
        const float *l = st->lag[(t - j) % RING];
        for (int k = 0; k < NL; k++)
            rw[k] += l[k];
    }
    double xa1 = 0.0, xa2 = 0.0; /* the two samples before the window */
    if (t >= WIN) {
        xa1 = st->tail[(t - WIN) % RING][1];
        xa2 = st->tail[(t - WIN) % RING][0];
    }
    float e = to_db(lag[0] / ((float)FR * d->p0));
    float ew = to_db((float)(rw[0] / ((double)FR * nwin * d->p0)));
    float shape_step = 0.0f;
    for (int k = 1; k < NL; k++) {
        float v = (float)(rw[k] / (rw[0] + 1e-3));
        float dv = fabsf(v - st->shape[k - 1]);
        if (t > 0 && dv > shape_step)
            shape_step = dv;
        st->shape[k - 1] = v;
    }
    float level_step = t > 0 ? fabsf(ew - st->prev_ew) : 0.0f;
    float frame_step = t > 0 ? fabsf(e - st->e_hist[(t - 1) % EH]) : 0.0f;
    /* The two halves of the frame: a tone of 300 Hz and more spreads its
     * energy evenly over 5 ms, a voice with one pitch pulse per frame not. */
    float half_step = fabsf(to_db(half) - to_db(lag[0] - half));
    st->prev_ew = ew;
    st->e_hist[t % EH] = e;
    st->ew_hist[t % EH] = ew;

    /* Noise floor: a running minimum that rises slowly. */
    if (t == 0)
        st->floor_db = e < FLOOR_START_DBM0 ? e : FLOOR_START_DBM0;
    else if (e < st->floor_db)
        st->floor_db = e;
    else
        st->floor_db += d->floor_rise;

    /* ---- beep ---- */
    int searching = t < d->beep_search;
    int steady = 0;
    float hz = 0.0f;
    if (shape_step < BEEP_SHAPE_STEP && level_step < BEEP_LEVEL_STEP_DB && frame_step < BEEP_FRAME_STEP_DB &&
        half_step < BEEP_HALF_STEP_DB &&
        ew > d->beep_min_db &&
        ew > st->floor_db + BEEP_OVER_FLOOR_DB) {
        hz = window_hz(rw, x[FR - 1], x[FR - 2], xa1, xa2);
        steady = hz > d->beep_min_hz && hz < d->beep_max_hz;
    }
    if (steady) {
        if (++st->run == 1) {
            /* A run that follows another closely at the same level (the
             * next tone of a tone sequence) continues its chain: the onset
             * test looks before the chain's first run. */
            if (!(st->chain_last >= 0 && st->chain_run >= BEEP_CHAIN_MIN_RUN &&
                  t - st->chain_last > BEEP_WINDOW_LAG - 1 &&
                  t - st->chain_last <= BEEP_HOLD_FRAMES + BEEP_WINDOW_LAG &&
                  fabsf(ew - st->chain_level) <= BEEP_HOLD_DB &&
                  fabsf(hz - st->chain_hz) >= BEEP_CHAIN_STEP * st->chain_hz))
                st->chain_start = t;
            st->run_start = t;
        }
        st->chain_last = t;
        st->chain_level = ew;
        st->chain_run = st->run;
        st->chain_hz = hz;
        if (st->beep_on) {
            st->beep_last = t;
        } else if (searching) {
            st->beep_hz_sum += hz;
            st->beep_hz_n++;
            if (st->run == d->beep_frames) {
                int64_t s = st->chain_start - BEEP_WINDOW_LAG; /* estimated onset frame */
                if (t - (s - BEEP_PRE_FRAMES) >= EH)
                    s = st->run_start - BEEP_WINDOW_LAG;
                int64_t lo = s - BEEP_PRE_FRAMES > 0 ? s - BEEP_PRE_FRAMES : 0;
                int64_t hi = s - 2 > 1 ? s - 2 : 1;
                float pre = 0.0f;
                if (hi > lo) {
                    for (int64_t k = lo; k < hi; k++)
                        pre += powf(10.0f, 0.1f * st->ew_hist[k % EH]);
                    pre = to_db(pre / (float)(hi - lo));
                } else {
                    pre = -100.0f;
                }
                if (ew - pre > d->beep_onset_db) {
                    int64_t k = s - BEEP_WINDOW_LAG > 0 ? s - BEEP_WINDOW_LAG : 0;
                    while (k < t && st->e_hist[k % EH] < ew - BEEP_ONSET_WITHIN_DB)
                        k++;
                    st->beep_on = 1;
                    st->beep_start = k * FR;
                    st->beep_last = t;
                    st->beep_level = ew;
                    st->beep_hz = (int32_t)lrintf(st->beep_hz_sum / (float)st->beep_hz_n);
                    lg_emit(sink, channel, LG_EVENT_BEEP, st->beep_hz, LG_EVENT_BEGIN, st->origin + st->beep_start, -1,
                            1.0f);
                    if (!st->decided)
                        decide(st, sink, channel, LG_AMD_MACHINE, LG_AMD_REASON_BEEP, 0.95f, (t + 1) * FR);
                }
            }
        }
    } else {
        st->run = 0;
        st->beep_hz_sum = 0.0f;
        st->beep_hz_n = 0;
        if (st->beep_on) {
            /* The step from one tone of a tone sequence to the next, at the
             * beep's level, does not end it. */
            if (e > st->beep_level - BEEP_HOLD_DB && t - st->beep_last <= BEEP_HOLD_FRAMES)
                st->beep_last = t;
            else if (t - st->beep_last > BEEP_END_FRAMES)
                end_beep(st, sink, channel);
        }
    }

    /* ---- speech ---- */
    int speech = e > st->floor_db + d->vad_db && e > d->min_speech_db && st->run < BEEP_NOT_SPEECH_RUN &&
                 e > st->peak_db - d->relative_db;
    if (speech) {
        if (e > st->peak_db)
            st->peak_db = e;
        if (e > st->top_db)
            st->top_db = e;
        st->speech_frames++;
        if (t > 0)
            st->jitter_sum += fabsf(e - st->e_hist[(t - 1) % EH]);
        st->voiced += st->shape[0] > VOICED_R1;
        if (st->first_speech < 0) {
            st->first_speech = t;
            st->word_start = st->phrase_start = t;
            st->words = 1;
            st->active = 1;
        } else {
            int64_t gap = t - st->last_speech;
            if (gap > d->word_gap) {
                st->words++;
                st->word_start = t;
                st->gap_sum += (int32_t)(gap - 1);
                st->prev_gap = (int32_t)(gap - 1);
                if (gap - 1 > st->gap_max)
                    st->gap_max = (int32_t)(gap - 1);
                if (gap > d->chatty_max_gap)
                    st->wide_gap = 1;
                if (gap - 1 >= REPLY_GAP)
                    st->replied = 1;
            }
            if (gap > d->phrase_gap) {
                st->phrase_start = t;
                st->active += 1;
            } else {
                st->active += gap;
            }
        }
        if (t - st->word_start > d->chatty_max_word)
            st->long_word = 1;
        if (t - st->word_start + 1 > st->longest_word)
            st->longest_word = (int32_t)(t - st->word_start + 1);
        if (st->words == 1)
            st->first_word = (int32_t)(t - st->word_start + 1);
        st->last_speech = t;
    }
    else if (st->last_speech == t - 1 && e > st->floor_db + d->vad_db - END_HYST_DB &&
             st->run < BEEP_NOT_SPEECH_RUN)
        st->last_speech = t; /* the decaying end of a word */
    if (st->first_speech < 0)
        st->pre_sum += lag[0] / ((float)FR * d->p0); /* the frame's power, relative to 0 dBm0 */
    else
        st->low += e < st->top_db - LOW_DB;
    st->peak_db -= PEAK_DECAY_DB;
    st->frames = t + 1;

    if (!st->decided && is_checkpoint(st) && (d->model_human || d->model_machine)) {
        float f[LG_AMD_FEATURES];
        features(st, f);
        float logit = model_logit(f);
        st->logit = logit;
        int64_t at = (t + 1) * FR;
        float p = 1.0f / (1.0f + expf(-logit));
        /* After a reply, a looser threshold (see model_human_later_pct, REPLY_GAP). */
        float human_logit = st->replied ? d->human_later_logit : d->human_logit;
        if (d->model_human && logit <= human_logit && t - st->last_speech >= MODEL_HUMAN_MIN_QUIET)
            decide(st, sink, channel, LG_AMD_HUMAN, LG_AMD_REASON_HUMAN_VOICE, 1.0f - p, at);
        else if (d->model_machine && logit >= d->machine_logit)
            decide(st, sink, channel, LG_AMD_MACHINE, LG_AMD_REASON_GREETING_VOICE, p, at);
    }

    if (!st->decided) {
        int64_t at = (t + 1) * FR;
        if (st->first_speech < 0) {
            if (t >= d->initial_silence)
                decide(st, sink, channel, LG_AMD_MACHINE, LG_AMD_REASON_INITIAL_SILENCE, 0.6f, at);
        } else {
            int64_t since = t - st->first_speech, quiet = t - st->last_speech;
            /* With the model on, long speech is a greeting only when the model
             * does not hear a person: a talker over a television or music in
             * the room makes "speech" that never pauses. */
            int gate = !(d->model_human || d->model_machine) || st->logit >= GATE_LOGIT;
            if (quiet == 0 && t - st->phrase_start >= d->max_greeting && gate)
                decide(st, sink, channel, LG_AMD_MACHINE, LG_AMD_REASON_LONG_GREETING, 0.85f, at);
            else if (since >= d->density_window && (float)st->active >= d->density * (float)since &&
                     st->longest_word >= d->continuous_word && gate)
                decide(st, sink, channel, LG_AMD_MACHINE, LG_AMD_REASON_CONTINUOUS_SPEECH, 0.8f, at);
            else if (quiet >= d->after_silence)
                decide(st, sink, channel, LG_AMD_HUMAN,
                       st->speech_frames <= d->short_greeting ? LG_AMD_REASON_SHORT_GREETING_THEN_SILENCE
                                                              : LG_AMD_REASON_HUMAN_GREETING_THEN_SILENCE,
                       0.8f, at);
            else if (d->chatty_words > 0 && quiet >= d->chatty_silence && st->words >= d->chatty_words &&
                     !st->long_word && !st->wide_gap)
                decide(st, sink, channel, LG_AMD_HUMAN, LG_AMD_REASON_CHATTY, 0.75f, at);
        }
        if (!st->decided && t >= d->total) {
            if (st->first_speech < 0)
                decide(st, sink, channel, LG_AMD_MACHINE, LG_AMD_REASON_INITIAL_SILENCE, 0.6f, at);
            else if (t - st->last_speech <= d->word_gap && (d->model_human || d->model_machine) && st->logit < 0.0f)
                decide(st, sink, channel, LG_AMD_HUMAN, LG_AMD_REASON_HUMAN_VOICE, 0.55f, at);
            else if (t - st->last_speech > d->word_gap && (d->model_human || d->model_machine) && st->logit >= 0.0f)
                /* In a pause, but the model leans machine: a greeting's pause (its
                 * beep may be just ahead). */
                decide(st, sink, channel, LG_AMD_MACHINE, LG_AMD_REASON_GREETING_VOICE, 0.55f, at);
            else if (t - st->last_speech <= d->word_gap)
                decide(st, sink, channel, LG_AMD_MACHINE, LG_AMD_REASON_MAX_TIME_SPEAKING, 0.55f, at);
            else
                decide(st, sink, channel, LG_AMD_HUMAN, LG_AMD_REASON_MAX_TIME_SILENT, 0.55f, at);
        }
    }
}

/* Lag sums x[n] x[n-k], k = 0..NL-1, over the frame in buf (history in
 * front), eight partial sums per lag (one vector; plain C99 without GCC's
 * vector extensions). */
static inline __attribute__((always_inline)) void frame_lags(const float *buf, float out[NL], float *half)
{
    const float *x = buf + HIST;
#ifdef HAVE_V8F
    v8f acc[NL];
    memset(acc, 0, sizeof(acc));
    v8f first = {0};
    for (int j = 0; j < FR; j += LG_LANE) {
        v8f a;
        memcpy(&a, x + j, sizeof(a));
        for (int k = 0; k < NL; k++) {
            v8f b;
            memcpy(&b, x + j - k, sizeof(b));
            acc[k] += a * b;
        }
        if (j + LG_LANE == FR / 2)
            first = acc[0];
    }
    float h = 0.0f;
    for (int u = 0; u < LG_LANE; u++)
        h += first[u];
    *half = h;
    for (int k = 0; k < NL; k++) {
        float s = 0.0f;
        for (int u = 0; u < LG_LANE; u++)
            s += acc[k][u];
        out[k] = s;
    }
#else
    float acc[NL][8];
    for (int k = 0; k < NL; k++)
        for (int u = 0; u < 8; u++)
            acc[k][u] = 0.0f;
    float first[8] = {0};
    for (int j = 0; j < FR; j += 8) {
        for (int k = 0; k < NL; k++)
            for (int u = 0; u < 8; u++)
                acc[k][u] += x[j + u] * x[j + u - k];
        if (j + 8 == FR / 2)
            for (int u = 0; u < 8; u++)
                first[u] = acc[0][u];
    }
    float h = 0.0f;
    for (int u = 0; u < 8; u++)
        h += first[u];
    *half = h;
    for (int k = 0; k < NL; k++) {
        float s = 0.0f;
        for (int u = 0; u < 8; u++)
            s += acc[k][u];
        out[k] = s;
    }
#endif
}

/* A channel that has decided and is past the beep search (with no beep
 * under way) needs no more work. */
static int channel_idle(const lg_amd_desc *d, const lg_amd_state *st)
{
    return st->decided && !st->beep_on && st->frames >= d->beep_search;
}

/* The per-sample work of one channel: decode into the frame buffer, lag sums
 * per completed frame (AVX2+FMA clone where the CPU has it). */
LG_MULTIVERSION
static void feed_channel(const lg_amd_desc *d, lg_amd_state *st, const void *row, int encoding, int nsamples,
                         int channel, lg_event_sink *sink)
{
    const int16_t *table = encoding == LG_ENC_ULAW ? lg_g711_ulaw_table : lg_g711_alaw_table;
    for (int i = 0; i < nsamples;) {
        int n = FR - st->fill < nsamples - i ? FR - st->fill : nsamples - i;
        float *dst = st->buf + HIST + st->fill;
        if (encoding == LG_ENC_S16) {
            const int16_t *src = (const int16_t *)row + i;
            for (int j = 0; j < n; j++)
                dst[j] = (float)src[j];
        } else {
            const uint8_t *src = (const uint8_t *)row + i;
            for (int j = 0; j < n; j++)
                dst[j] = (float)table[src[j]];
        }
        st->fill += n;
        i += n;
        if (st->fill == FR) {
            float lag[NL], half;
            frame_lags(st->buf, lag, &half);
            frame_done(d, st, lag, half, channel, sink);
            for (int k = 0; k < HIST; k++)
                st->buf[k] = st->buf[FR + k];
            st->fill = 0;
            if (channel_idle(d, st))
                break;
        }
    }
}

int lg_amd_feed(const lg_amd_desc *d, lg_amd_bank *bank, lg_amd_lane *lanes, lg_amd_state *states,
                const void *samples, int encoding, int stride, int nsamples, lg_event *events, int max_events)
{
    if (!d || !bank || !lanes || !states || !events || nsamples < 0 || stride < nsamples ||
        (nsamples > 0 && !samples) || (encoding != LG_ENC_S16 && encoding != LG_ENC_ULAW && encoding != LG_ENC_ALAW))
        return LG_E_ARG;
    int bound = lg_amd_max_events(bank->channels, nsamples);
    if (bound < 0)
        return bound;
    if (max_events < bound)
        return LG_E_SPACE;
    lg_event_sink sink = {events, 0};
    size_t width = encoding == LG_ENC_S16 ? sizeof(int16_t) : sizeof(uint8_t);
    for (int c = 0; c < bank->channels; c++) {
        lg_amd_state *st = &states[c];
        st->clock += nsamples; /* on or off, the channel's time goes on */
        if (st->off || channel_idle(d, st))
            continue;
        feed_channel(d, st, (const char *)samples + (size_t)c * (size_t)stride * width, encoding, nsamples, c, &sink);
    }
    bank->samples += nsamples;
    return sink.count;
}

int lg_amd_flush(const lg_amd_desc *d, lg_amd_bank *bank, lg_amd_lane *lanes, lg_amd_state *states,
                 lg_event *events, int max_events)
{
    if (!d || !bank || !lanes || !states || !events)
        return LG_E_ARG;
    if (max_events < 2 * bank->channels)
        return LG_E_SPACE;
    lg_event_sink sink = {events, 0};
    for (int c = 0; c < bank->channels; c++) {
        lg_amd_state *st = &states[c];
        if (st->off)
            continue;
        if (st->beep_on)
            end_beep(st, &sink, c);
        if (!st->decided) {
            int64_t at = st->frames * FR + st->fill;
            if (st->first_speech >= 0)
                decide(st, &sink, c, LG_AMD_HUMAN, LG_AMD_REASON_END_OF_AUDIO, 0.4f, at);
            else
                decide(st, &sink, c, LG_AMD_NOTSURE, LG_AMD_REASON_END_OF_AUDIO, 0.0f, at);
        }
    }
    return sink.count;
}

int lg_amd_features(const lg_amd_desc *d, const lg_amd_bank *bank, const lg_amd_state *states, float *features_out,
                    int32_t *checkpoint, float *p_machine)
{
    if (!d || !bank || !states || !features_out || !checkpoint)
        return LG_E_ARG;
    for (int c = 0; c < bank->channels; c++) {
        const lg_amd_state *st = &states[c];
        float *f = features_out + (size_t)c * LG_AMD_FEATURES;
        if (st->first_speech < 0 || st->frames == 0) {
            for (int k = 0; k < LG_AMD_FEATURES; k++)
                f[k] = 0.0f;
            checkpoint[c] = 0;
            if (p_machine)
                p_machine[c] = -1.0f;
            continue;
        }
        features(st, f);
        checkpoint[c] = is_checkpoint(st);
        if (p_machine)
            p_machine[c] = 1.0f / (1.0f + expf(-model_logit(f)));
    }
    return bank->channels;
}
