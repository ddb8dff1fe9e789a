/* Answering-machine detection (AMD) with end-of-greeting beep detection,
 * for many channels at once.
 *
 * Time 0 of a channel is its reset (lg_amd_bank_init / lg_amd_reset): the
 * moment the call was answered. Every event time is in samples since then.
 *
 * What it reports:
 * - One LG_EVENT_AMD event per call, flags LG_EVENT_END, start = end = the
 *   sample where the decision was taken (the end of the 10 ms frame that
 *   settled it), value LG_AMD_HUMAN / LG_AMD_MACHINE / LG_AMD_NOTSURE,
 *   reason LG_AMD_REASON_*, confidence 0..1. A call that has no decision
 *   when it is flushed gets the decision the rules give at the end of audio.
 * - Beeps: LG_EVENT_BEEP, value = the tone's frequency in Hz (rounded; for a
 *   harmonic-rich beep, the dominant frequency of a 2nd-order predictor),
 *   flags LG_EVENT_BEGIN with end = -1 when the beep is recognised (100 ms
 *   after its onset by default), then LG_EVENT_END with the same start (the
 *   estimated onset) and its end, when it stops or at flush. A beep decides
 *   `machine` (reason BEEP) if nothing was decided before; the beep search
 *   goes on after any decision, until beep_search_ms after the reset
 *   (greetings last up to ~15 s). Successive tones of a multi-tone beep may
 *   be reported as successive beeps.
 *
 * Signal path, per channel, per 10 ms frame (80 samples):
 * - Per sample only the lag products x[n] x[n-k], k = 0..6, summed per frame
 *   (continuous across frames: no window). That is 7 multiply-adds per
 *   sample, vectorised by the compiler over a frame's samples.
 * - Per frame: frame level (dBm0); the lag sums of the last 4 frames (40 ms)
 *   give a window level, the shape of the window's autocorrelation
 *   (r1..r6 / r0) and, from the same sums plus the frame edges' samples, the
 *   exact covariance-method 2nd-order predictor, whose pole gives the
 *   dominant frequency.
 * - Beep: a run of frames whose autocorrelation shape changes by at most
 *   BEEP_SHAPE_STEP per frame, whose window level moves by at most
 *   BEEP_LEVEL_STEP_DB, whose 10 ms frame level and the two 5 ms halves of
 *   the frame hold their level (a voice's pitch pulses make them jitter,
 *   even a monotone synthetic vowel's), with the dominant frequency in
 *   beep_min_hz .. beep_max_hz, above beep_min_dbm0 and 15 dB over the noise
 *   floor, lasting beep_min_ms, and standing beep_onset_db above the level
 *   just before it (a beep starts from quieter sound; a sustained note
 *   inside music does not). A pure tone, a square-ish or drifting tone all
 *   hold a constant spectrum for 100 ms and more; speech changes its
 *   spectrum every few tens of ms. The tones of a tone sequence (each
 *   perhaps shorter than beep_min_ms) chain when a run follows a run of
 *   50 ms and more within 110 ms, at the same level, at another frequency:
 *   the onset test then looks before the first tone. The onset is placed at
 *   the first frame within 6 dB of the beep's level. The constants are
 *   #defines at the top of amd.c with the reason for each.
 * - Voice activity: frame level over a running-minimum noise floor (rising
 *   floor_rise_db_per_s when above it; it starts at the first frame's level
 *   but no higher than -45 dBm0, so that a call fed from its first word on
 *   still hears that word) by vad_threshold_db, above
 *   min_speech_dbm0, and within relative_db of the loudest speech so far
 *   (a television or other voices in the room, continuously below the
 *   near-end talker, are not counted as the talker).
 * - A word's end: the frame right after a speech frame still counts while
 *   within END_HYST_DB (4 dB) of the speech threshold, so that its decaying
 *   end is followed down to the noise and the silence after it is timed
 *   from about where it is heard to end (else ~0.1 s early: the silence
 *   rule fired ~1.3 s after the end of a "Hello?").
 * - Words are speech frames with gaps up to word_gap_ms bridged; phrases
 *   with gaps up to phrase_gap_ms bridged.
 *
 * Phrase model (native/amd_model.h, trained by tools/amd_training/train.py
 * on generated calls; README.md there says on what): every 50 ms from the
 * first speech on, until a decision, LG_AMD_FEATURES phrase features
 * (lg_amd_features: time since the first speech, the current pause, number
 * of words, first/last/longest word, talk share, mean and longest gap,
 * when the first speech came, loudest speech over the noise floor, level
 * before the first speech, share of "valley" frames 20 dB under the
 * loudest speech, frame-level jitter, voiced share, level now, length of
 * the current phrase (phrase_gap_ms bridged), gap before the current word,
 * the quietest frame of the last 0.5 s against the loudest speech: the
 * background a television or other voices leave in the pauses)
 * go through 60 depth-3 trees giving the log-odds of `machine`:
 *   P(machine) <= model_human_pct, in a pause >= 250 ms -> human, HUMAN_VOICE
 *     (model_human_later_pct once a word came after a pause of 0.4 s or
 *     more, REPLY_GAP in amd.c: a reply or a repeated
 *     "Hello?" after a gap is a person's; the first words and their pause
 *     are the same for a machine that says "Hello?" before its greeting, so
 *     there the threshold is strict and the silence rule decides)
 *   P(machine) >= model_machine_pct                   -> machine, GREETING_VOICE
 * With the model on, the long-speech rules (LONG_GREETING,
 * CONTINUOUS_SPEECH) fire only while the model's P(machine) is at least 0.8
 * (a person over a television or music "talks" without a pause), and at
 * total_analysis_ms a call still "speaking" is human (HUMAN_VOICE) when the
 * model leans human, and a call in a pause is a machine (GREETING_VOICE)
 * when the model leans machine (a greeting's pause, its beep perhaps just
 * ahead; on generated held-out calls +1.0 point of accuracy, see
 * tools/amd_training/README.md). The model is checked before the rules.
 *
 * Rules, the first to fire decides (each checked every frame):
 *   beep recognised                                   -> machine, BEEP
 *   no speech by initial_silence_ms                   -> machine, INITIAL_SILENCE
 *   a phrase reaches max_greeting_ms                  -> machine, LONG_GREETING
 *   speech (phrase-bridged) covers density_pct of the
 *     time since its onset, density_window_ms after it,
 *     and one word lasted continuous_min_word_ms       -> machine, CONTINUOUS_SPEECH
 *   at least chatty_phrases words, none longer than
 *     chatty_max_word_ms, gaps at most chatty_max_gap_ms,
 *     and now chatty_silence_ms into a gap            -> human, CHATTY
 *   after_greeting_silence_ms of silence after speech -> human, HUMAN_GREETING_THEN_SILENCE
 *     (or SHORT_GREETING_THEN_SILENCE when all the speech so far lasted
 *     at most short_greeting_ms)
 *   total_analysis_ms reached: speaking now           -> machine, MAX_TIME_SPEAKING
 *                               silent now            -> human, MAX_TIME_SILENT
 * At flush with no decision: speech seen -> human, END_OF_AUDIO; no speech
 * -> notsure, END_OF_AUDIO.
 *
 * The one hard trade-off: machines that pause after "Hello?" (0.8-1.6 s)
 * against people who say "Hello?" and wait; after_greeting_silence_ms sets
 * it (1450 ms after the end of the words as placed above: a person hears
 * the agent within 1.5 s of the end of their first words; machines pausing
 * longer, ~20 % of them for pauses uniform in 0.8-1.6 s, are called human).
 * In the corpora the same voices and recordings speak for both classes, so
 * how a "Hello?" sounds says nothing about the class; only what follows
 * does. A machine that resumes within the 1.45 s goes on into a greeting
 * (a phrase of 1.5 s and more), a person's second short thing ends within
 * ~1.3 s: the phrase length feature and the later threshold separate them.
 * What the 1.5 s target costs: a person whose second short thing starts
 * 0.9-1.45 s after the first cannot be called before it starts without
 * calling the pausing machines human, and is decided after it ends (~14 %
 * of `short` people); chatty people ("Hello? ... Hello? ... Who is this?")
 * are decided ~0.25 s after their second utterance, which is within 1.5 s
 * of the end of the first for only ~50 % of them (gap 0.25-0.7 s plus a
 * second utterance of 0.35-1.6 s).
 *
 * Cost: 7 multiply-adds per sample (AVX2+FMA clone where the CPU has it,
 * portable C99 otherwise) plus a few hundred operations per frame and the
 * trees (~180 comparisons) every 5th frame until a decision; a channel that
 * has decided and is past beep_search_ms costs nothing. Measured ~72 000
 * channels per core (s16) on a loaded 2-CPU machine (before the model,
 * ~81 500 on the same benchmark); with the two phrase features and the
 * word-end hysteresis (a few operations per frame) 54 800 on the same
 * machine under a heavier load from other jobs (load average ~1.7 of 2).
 * The background feature scans 50 frame levels per checkpoint (every 5th
 * frame): ~90 000 channels per core before and after it on the same
 * benchmark, 2026-11-23, load ~2 of 2 (the spread between runs is larger
 * than the difference).
 *
 * Dev corpus (100 calls; held out, never trained on nor tuned on; see
 * tools/amd_training/README.md): 94 % accuracy, humans called machines 2 %
 * (1 of the 8 noisy rooms, a television 7 dB under the talker), machines
 * called humans 10 % (pausing 4/6, greeting 20/21, music-intro 14/15,
 * short-greeting 6/7), beeps 36/36 and none on the 64 calls without one;
 * 49 of 50 humans decided human within 1.5 s of the end of their speech
 * (labels give only its span). Before this model: 92 %, 4 %, 12 %, 47/50.
 * Generated held-out calls (800, other seed; 40 % of greetings pieced
 * together): 94.9 %, humans as machines 1.3 %, machines as humans 8.9 %
 * (pausing 68 %), humans decided within 1.5 s of the end of their first
 * utterance 76 % (chatty 17 %: chatty people and pieced greetings sound
 * alike until one of them stops); the model before: 88.0 %, 1.3 %, 22.6 %,
 * 82 %.
 */
#ifndef LG_AMD_H
#define LG_AMD_H

#include "lg_common.h"

/* cdef-begin */
#define LG_AMD_HUMAN 1
#define LG_AMD_MACHINE 2
#define LG_AMD_NOTSURE 3

#define LG_AMD_REASON_BEEP 1                        /* an end-of-greeting beep */
#define LG_AMD_REASON_INITIAL_SILENCE 2             /* nobody spoke within initial_silence_ms */
#define LG_AMD_REASON_LONG_GREETING 3               /* one phrase lasted max_greeting_ms */
#define LG_AMD_REASON_CONTINUOUS_SPEECH 4           /* speech went on with hardly a pause */
#define LG_AMD_REASON_CHATTY 5                      /* several short words with short gaps ("Hello? ... Hello?") */
#define LG_AMD_REASON_SHORT_GREETING_THEN_SILENCE 6 /* short speech, then after_greeting_silence_ms of silence */
#define LG_AMD_REASON_HUMAN_GREETING_THEN_SILENCE 7 /* longer speech (no phrase reached max_greeting_ms), then silence */
#define LG_AMD_REASON_MAX_TIME_SPEAKING 8           /* total_analysis_ms reached while speech went on */
#define LG_AMD_REASON_MAX_TIME_SILENT 9             /* total_analysis_ms reached in a pause */
#define LG_AMD_REASON_END_OF_AUDIO 10               /* flushed before any rule fired */
#define LG_AMD_REASON_HUMAN_VOICE 11                /* the phrase model: how the far end talked so far is a person's */
#define LG_AMD_REASON_GREETING_VOICE 12             /* the phrase model: ... is a recorded greeting's */

#define LG_AMD_FRAME 80      /* 10 ms */
#define LG_AMD_LAGS 7        /* lag products 0..6 */
#define LG_AMD_WINDOW 4      /* frames per analysis window (40 ms) */
#define LG_AMD_HISTORY 64    /* frames of levels kept to place a beep's onset */
#define LG_AMD_FEATURES 19   /* inputs of the phrase model (lg_amd_features) */

typedef struct {
    int32_t initial_silence_ms;        /* 5000: no speech by then -> machine (Asterisk: 2500) */
    int32_t max_greeting_ms;           /* 3500: one phrase this long -> machine (Asterisk greeting: 1500) */
    int32_t after_greeting_silence_ms; /* 1450: silence after speech -> human (Asterisk: 800) */
    int32_t total_analysis_ms;         /* 7000: decide by then (Asterisk: 5000) */
    int32_t beep_search_ms;            /* 30000: look for a beep until then after reset */
    int32_t word_gap_ms;               /* 250: pauses bridged inside a word */
    int32_t phrase_gap_ms;             /* 450: pauses bridged inside a phrase */
    int32_t density_window_ms;         /* 3500: continuous-speech rule looks this long after onset */
    int32_t density_pct;               /* 80: share of that time inside phrases -> machine */
    int32_t continuous_min_word_ms;    /* 0: ... and one word (word_gap_ms bridged) at least this long (0: off) */
    int32_t short_greeting_ms;         /* 1000: speech up to this counts as a short greeting (reason only) */
    int32_t chatty_words;              /* 0 (off; the phrase model hears chatty people): words needed by the chatty rule */
    int32_t chatty_max_word_ms;        /* 1000: longest word the chatty rule accepts */
    int32_t chatty_max_gap_ms;         /* 800 */
    int32_t chatty_silence_ms;         /* 300 */
    float min_speech_dbm0;             /* -52: quieter frames are never speech */
    float vad_threshold_db;            /* 10: speech is this far above the noise floor */
    float relative_db;                 /* 14: and within this of the loudest speech so far */
    float floor_rise_db_per_s;         /* 2: how fast the noise floor follows a louder background */
    int32_t beep_min_ms;               /* 100: steady tone this long is a beep (at least 60) */
    float beep_min_dbm0;               /* -50: weakest beep */
    float beep_min_hz;                 /* 300 */
    float beep_max_hz;                 /* 2200 */
    float beep_onset_db;               /* 10: a beep stands this far above the sound just before it */
    float model_human_pct;             /* 6 (amd_model.h): the phrase model decides human, in a pause of 250 ms
                                        * or more, when its P(machine) is at most this (0: never; below 50) */
    float model_machine_pct;           /* 97: ... machine when its P(machine) is at least this (100: never; above 50).
                                        * Both 0 / 100: the model is off and the rules alone decide, as before it */
    float model_human_later_pct;       /* 10 (amd_model.h): the human threshold once a word came after a pause of
                                        * 0.4 s or more (a reply, a repeated "Hello?"); model_human_pct is for the
                                        * first words and their
                                        * pause, where a machine's "Hello?" before its greeting is the same
                                        * (0: the model decides no human after a reply; below 50) */
} lg_amd_params;

typedef struct {
    /* cdef-opaque */
    float p0;                 /* power of a 0 dBm0 sine, linear units squared */
    int32_t initial_silence, max_greeting, after_silence, total, beep_search; /* frames */
    int32_t word_gap, phrase_gap, density_window, continuous_word, short_greeting;
    int32_t chatty_words, chatty_max_word, chatty_max_gap, chatty_silence;
    float density;
    float min_speech_db, vad_db, relative_db, floor_rise;
    int32_t beep_frames;
    float beep_min_db, beep_min_hz, beep_max_hz, beep_onset_db;
    float human_logit, machine_logit; /* the model's thresholds as log-odds of `machine` */
    float human_later_logit;          /* ... for human once a word came after a pause (REPLY_GAP) */
    int32_t model_human, model_machine; /* each decision of the model enabled */
} lg_amd_desc;

/* Nothing is shared by the channels of a lane: channels are processed one
 * by one (the per-sample work is vectorised over a frame's samples). */
typedef struct {
    /* cdef-opaque */
    int32_t unused;
} lg_amd_lane;

/* State of one channel. */
typedef struct {
    /* cdef-opaque */
    float buf[6 + LG_AMD_FRAME];        /* 6 samples of history, then the frame being filled */
    int32_t fill;                        /* samples of the current frame so far */
    int64_t frames;                      /* frames completed since reset */
    float lag[LG_AMD_WINDOW + 1][LG_AMD_LAGS]; /* lag sums of the last frames (ring) */
    float tail[LG_AMD_WINDOW + 1][2];    /* each frame's last two samples (ring) */
    float shape[LG_AMD_LAGS - 1];        /* previous window's r_k / r_0 */
    float prev_ew;
    float e_hist[LG_AMD_HISTORY], ew_hist[LG_AMD_HISTORY];
    float floor_db, peak_db;
    /* beep */
    int32_t run;                         /* steady frames in a row */
    int64_t run_start;
    int64_t chain_start, chain_last;     /* first and last steady frame of a chain of runs (tone sequences) */
    float chain_level;
    int32_t chain_run;                   /* length of the chain's last run */
    float chain_hz;                      /* frequency at its last frame */
    int32_t beep_on;                     /* a beep is reported and not ended */
    int64_t beep_start, beep_last;       /* samples; frame of the last steady frame */
    float beep_hz_sum;
    int32_t beep_hz_n;
    float beep_level;
    int32_t beep_hz;                     /* the reported frequency */
    /* speech */
    int64_t first_speech, last_speech;   /* frames, -1 before any */
    int64_t word_start, phrase_start;
    int32_t words, long_word, wide_gap;  /* words so far; any too long; any gap too wide */
    int32_t longest_word;                /* frames */
    int64_t active;                      /* frames inside phrases (bridged) */
    int64_t speech_frames;
    int32_t decided;
    /* phrase features (see features() in amd.c) */
    int32_t first_word;                  /* frames of the first word */
    int32_t gap_sum, gap_max;            /* frames of silence between words */
    int32_t prev_gap;                    /* frames of silence before the current word */
    int32_t replied;                     /* a word came after a pause of REPLY_GAP frames or more */
    float top_db;                        /* loudest speech frame, not decaying */
    double pre_sum;                      /* power (relative to 0 dBm0) of the frames before the first speech */
    float jitter_sum;                    /* sum of |frame level steps| over speech frames, dB */
    int32_t voiced;                      /* speech frames whose window is low-pass (r1/r0 > VOICED_R1) */
    int32_t low;                         /* frames since the first speech LOW_DB under the loudest speech */
    float logit;                         /* the model's last log-odds of `machine` (0 before it spoke) */
    /* the channel's clock: analysis time 0 is `origin` samples into it */
    int64_t clock, origin;
    int32_t off;                         /* lg_amd_set_active(.., 0) */
} lg_amd_state;

typedef struct {
    /* cdef-opaque */
    int64_t samples;
    int32_t channels;
} lg_amd_bank;

void lg_amd_params_default(lg_amd_params *params);
/* The position (0-based, declaration order) of the first field of `params`
 * outside its range, or -1 when all are valid. */
int lg_amd_params_bad_field(const lg_amd_params *params);
int lg_amd_desc_init(lg_amd_desc *desc, const lg_amd_params *params);
/* `lanes` holds (channels + LG_LANE - 1) / LG_LANE entries. */
int lg_amd_bank_init(lg_amd_bank *bank, lg_amd_lane *lanes, lg_amd_state *states, int channels);
/* The call on `channel` was answered now: time 0, no decision yet. A
 * channel turned off with lg_amd_set_active stays off. */
int lg_amd_reset(lg_amd_bank *bank, lg_amd_lane *lanes, lg_amd_state *states, int channel);
/* An upper bound on the events one feed of `nsamples` can produce. */
int lg_amd_max_events(int channels, int nsamples);
/* Feeds `nsamples` samples of every channel: row-major [channels][stride]
 * int16 (LG_ENC_S16) or uint8 G.711 codes. Returns the number of events
 * written, or LG_E_SPACE (nothing consumed) when max_events is below
 * lg_amd_max_events(). */
int lg_amd_feed(const lg_amd_desc *desc, lg_amd_bank *bank, lg_amd_lane *lanes, lg_amd_state *states,
                const void *samples, int encoding, int stride, int nsamples, lg_event *events, int max_events);
/* End of stream: the decision of every undecided channel and the end of
 * every beep in progress; needs max_events >= 2 * channels. */
int lg_amd_flush(const lg_amd_desc *desc, lg_amd_bank *bank, lg_amd_lane *lanes, lg_amd_state *states,
                 lg_event *events, int max_events);
/* Turns the unit on or off for one channel. Off: the channel's samples still
 * advance its clock, but nothing is analysed and no events come; a decision
 * or beep search under way is dropped without an event. On (from off):
 * analysis restarts as after lg_amd_reset, but the channel's clock is kept,
 * so event times stay on the channel's time line. On when already on, or off
 * when already off: nothing changes. Channels start on. LG_E_RANGE for a bad channel. */
int lg_amd_set_active(lg_amd_bank *bank, lg_amd_lane *lanes, lg_amd_state *states, int channel, int active);
/* For training the phrase model and for diagnostics: the model's inputs for
 * every channel as they stand after the last completed frame,
 * LG_AMD_FEATURES floats per channel (row-major, in `features`), whether that
 * frame was one where the model is consulted (checkpoint[c] = 1, else 0) and
 * the model's P(machine) there (p_machine, may be NULL; -1 where no speech
 * was heard yet). Returns the number of channels. */
int lg_amd_features(const lg_amd_desc *desc, const lg_amd_bank *bank, const lg_amd_state *states, float *features,
                    int32_t *checkpoint, float *p_machine);
/* cdef-end */

#endif
