/* MF receiver for many channels at once: MFC/R2 forward or backward signals,
 * or R1, chosen per descriptor (one unit, three frequency sets: the method is
 * the same, only the frequencies, the window and the limits differ, and a
 * bank runs one descriptor per kind it listens for).
 *
 * Reports (lg_event kind LG_EVENT_MFR2_FWD, LG_EVENT_MFR2_BWD or
 * LG_EVENT_MFR1, value the signal 1..15 of mf.h): a signal when it is
 * recognised (end = -1) and again, with the same start, when it ends.
 * Compelled R2 signalling acts on both edges (a signal lasts until the other
 * end acknowledges it), so both are reported as soon as they are known.
 *
 * Design:
 * - Eight Goertzel filters over 5 ms sub-blocks (LG_MF_SUBBLOCK samples),
 *   channels in the SIMD lanes (goertzel.h): the kind's six frequencies and
 *   two guards one step outside them (R2 forward 1260 and 2100 Hz, backward
 *   420 and 1260 Hz, R1 500 and 1900 Hz), so that a harmonic series (a
 *   voice, music) spreading over the band is seen beside the two tones.
 * - The complex outputs of the last W sub-blocks are combined coherently
 *   into one rectangular window every 5 ms. The window is as long as puts
 *   the kind's frequency spacing on one of its nulls: R2 (120 Hz apart)
 *   25 ms, W = 5 (nulls every 40 Hz); R1 (200 Hz apart) 15 ms, W = 3 (nulls
 *   every 66.7 Hz). A tone on its nominal frequency then leaks nothing into
 *   the other bins, and one 10 Hz off very little (-23 dB for R2).
 * - The phase advance of the window from one step to the next measures each
 *   tone's frequency; the window's roll-off at that offset corrects its level.
 *   For a window that may hold a signal (the lane screen below let it
 *   through), each of the two tones is measured again with the other's
 *   leakage taken out (the window's response to it, known from its measured
 *   frequency, subtracted): with the tones 10 Hz off and one 7 dB louder,
 *   the weaker one's single estimates were 10 Hz out before and are within
 *   about 1 Hz after.
 * - Per window: the two strongest of the six bins, each inside its frequency
 *   cone and above the level floor, their levels within the twist limit, the
 *   weaker min_peak_ratio_db over every other bin (guards included, leakage
 *   taken out), the two holding a share of the window's energy. A vectorised
 *   screen makes looser forms of these tests, with no arctangent, for the
 *   lane's eight channels at once; the exact ones run only for the channels
 *   it lets through that are not already following that signal.
 * - Per signal: evidence (frequencies, share) comes from the windows the
 *   tone covers whole, and the window before each, which the phase advance
 *   compares with; a tone cut off by a window's edge spreads and its phase
 *   moves with the cut. It is reported when it has lasted min_on_ms
 *   (kp_min_on_ms for R1's KP) and its evidence shows on average each tone
 *   within max_freq_dev_hz + max_freq_dev_pct of its nominal frequency and
 *   the two tones holding min_tone_fraction of the energy. It goes on while
 *   windows show it at a quarter of its peak power, and ends after a pause
 *   of min_off_ms. Start and end are placed from the sub-blocks' amplitudes.
 * - Talk-off: no rule beyond these was needed; the share of the energy is
 *   the one that matters (see lg_mf_rx_params_default).
 *
 * The limits the defaults meet (tests/dsp/test_mf.py checks each):
 * - R2, ITU-T Q.455 as spandsp's bell_r2_mf.h summarises it and as Nortel's
 *   XMFC receiver (CS 1000 Circuit Card Reference, NN43001-311) states it:
 *   accept -5 to -35 dBm0 per tone, reject -38.5 dBm0 and less; accept
 *   +-10 Hz; accept a level difference of 5 dB between adjacent and 7 dB
 *   between other frequencies, reject 20 dB (12 dB on Norway's unloaded
 *   trunks); ignore signals under 7-8 ms, do not release for interruptions
 *   under 7-8 ms; operate and release within 80 ms together (and, the issue
 *   asks, respond within 70 ms).
 * - R1, ITU-T Q.323 as Nortel's XMFR receiver (ibid.) and spandsp state it:
 *   accept 0 to -25 dBm0, reject -35 dBm0; accept +-(1.5 % + 5 Hz); accept a
 *   6 dB twist; accept signals over 30 ms (KP over 55 ms) and pauses over
 *   25 ms, reject signals under 10 ms, bridge interruptions under 10 ms.
 */
#ifndef LG_MF_RX_H
#define LG_MF_RX_H

#include "goertzel.h"
#include "mf.h"
#include "tone_ring.h"

/* cdef-begin */
#define LG_MF_BINS 8
#define LG_MF_SUBBLOCK 40
#define LG_MF_MAX_WINDOW 5       /* sub-blocks per window, at most (R2) */
#define LG_MF_HISTORY 8          /* sub-blocks kept per lane: a window and the three before it */
#define LG_MF_GAIN_STEPS 202     /* window gain tabulated every 0.5 Hz to 100 Hz */

typedef struct {
    int32_t kind;               /* LG_MF_R2_FORWARD, LG_MF_R2_BACKWARD or LG_MF_R1 */
    float min_level_dbm0;       /* weakest tone accepted, per tone */
    float max_twist_db;         /* the two tones' levels differ by at most this */
    float max_freq_dev_hz;      /* each tone's mean frequency within this ... */
    float max_freq_dev_pct;     /* ... plus this share of its nominal frequency */
    float min_tone_fraction;    /* the two tones' mean share of the energy */
    float min_peak_ratio_db;    /* the weaker tone over every other frequency watched */
    int32_t min_on_ms;          /* shortest signal reported */
    int32_t kp_min_on_ms;       /* R1: shortest KP reported (other kinds: as min_on_ms) */
    int32_t min_off_ms;         /* shortest pause that splits a repeated signal */
} lg_mf_rx_params;

typedef struct {
    /* cdef-opaque */
    int32_t kind;
    int32_t event_kind;
    int32_t window;                   /* W: sub-blocks per window */
    float min_power;
    float twist;
    float tone_fraction;
    float peak_ratio;
    int32_t min_on_samples;
    int32_t kp_min_on_samples;
    int32_t end_windows;
    float max_dev_hz[LG_MF_BINS];     /* mean offset allowed, per tone */
    float cone_sin[LG_MF_BINS], cone_cos[LG_MF_BINS]; /* the phase advance one window may show */
    float window_dev_hz[LG_MF_BINS];  /* the offset one window may show */
    float edge_gain[LG_MF_BINS];      /* window power gain at window_dev_hz: the most a level is corrected */
    float coef[LG_MF_BINS];           /* 2 cos(w) */
    float x_rot1_re[LG_MF_BINS], x_rot1_im[LG_MF_BINS]; /* e^{-jw(M-1)} */
    float w_rot1_re[LG_MF_BINS], w_rot1_im[LG_MF_BINS]; /* e^{-jwM} */
    float rot_re[LG_MF_MAX_WINDOW][LG_MF_BINS];         /* e^{-jwMh}: sub-block h of a window */
    float rot_im[LG_MF_MAX_WINDOW][LG_MF_BINS];
    float bin_hz[LG_MF_BINS];
    float gain[LG_MF_GAIN_STEPS];     /* window power gain against offset, 0.5 Hz steps */
    /* The window's response at bin `to` to a tone on bin `from`, in parts
     * that a tone's offset from its bin combines with cheaply (mf_rx.c,
     * response_at): with a = pi (f_from - f_to) / fs, sin and cos of a L and
     * of a, and e^{j a (L - 1)}; [from][to]. */
    float pair_sin_l[LG_MF_BINS][LG_MF_BINS], pair_cos_l[LG_MF_BINS][LG_MF_BINS];
    float pair_sin_1[LG_MF_BINS][LG_MF_BINS], pair_cos_1[LG_MF_BINS][LG_MF_BINS];
    float pair_rot_re[LG_MF_BINS][LG_MF_BINS], pair_rot_im[LG_MF_BINS][LG_MF_BINS];
} lg_mf_rx_desc;

/* Goertzel accumulators and sub-block history of LG_LANE channels; the ring
 * of sub-blocks is indexed by the lane's sub-block count mod LG_MF_HISTORY. */
typedef struct {
    /* cdef-opaque */
    lg_goertzel_acc acc;      /* first: lg_goertzel_walk reaches it */
    int64_t subblocks;        /* sub-blocks completed */
    uint32_t tracking;        /* bit i: channel i of the lane is following a signal */
    float x_re[LG_MF_HISTORY][LG_MF_BINS][LG_LANE];    /* sub-block outputs */
    float x_im[LG_MF_HISTORY][LG_MF_BINS][LG_LANE];
    float e_sub[LG_MF_HISTORY][LG_LANE];                /* sub-block energies */
    float y_re[2][LG_MF_BINS][LG_LANE];                 /* windows, by sub-block mod 2 */
    float y_im[2][LG_MF_BINS][LG_LANE];
    float y_pow[LG_MF_BINS][LG_LANE];                   /* |Y|^2 of the window ending now */
} lg_mf_rx_lane;

/* Decision state of one channel. */
typedef struct {
    /* cdef-opaque */
    int64_t origin;           /* bank sample time of this channel's time 0 */
    int64_t first_subblock;   /* the lane's sub-block count when this channel was reset */
    int32_t phase;            /* LG_MF_RX_IDLE, _CANDIDATE, _ACTIVE */
    int32_t signal;           /* tracked signal 1..15, 0 for none */
    int32_t gap;              /* consecutive windows without the tracked signal */
    int64_t last_seen;        /* the last sub-block whose window showed it */
    float peak_power;         /* strongest |Y_a|^2 + |Y_b|^2 of the tracked signal */
    float fraction_sum;       /* tone share of its fully covered windows */
    float dev_sum[2];         /* frequency offsets (Hz) of its two tones, summed over those windows */
    int32_t fraction_count;
    float confidence;         /* of the confirmed signal: its tones' mean share of the energy */
    lg_tone_ring ring;        /* |X_a| + |X_b| of the tracked signal per sub-block */
    int64_t start;            /* estimated start, channel samples */
} lg_mf_rx_state;

typedef struct {
    /* cdef-opaque */
    int64_t samples;          /* samples fed to the bank so far */
    int32_t pos;              /* position inside the current sub-block */
    int32_t channels;
} lg_mf_rx_bank;

/* The defaults of `kind` (the limits above); LG_E_ARG for an unknown kind. */
int lg_mf_rx_params_default(lg_mf_rx_params *params, int kind);
/* The position (0-based, in declaration order) of the first field of
 * `params` outside its range, or -1 when all are valid. */
int lg_mf_rx_params_bad_field(const lg_mf_rx_params *params);
int lg_mf_rx_desc_init(lg_mf_rx_desc *desc, const lg_mf_rx_params *params);
/* `lanes` holds (channels + LG_LANE - 1) / LG_LANE entries. */
int lg_mf_rx_bank_init(lg_mf_rx_bank *bank, lg_mf_rx_lane *lanes, lg_mf_rx_state *states, int channels);
/* Restarts one channel: its clock restarts at 0; on or off as it was. */
int lg_mf_rx_reset(lg_mf_rx_bank *bank, lg_mf_rx_lane *lanes, lg_mf_rx_state *states, int channel);
/* On or off for one channel, with the contract of lg_dtmf_rx_set_active. */
int lg_mf_rx_set_active(lg_mf_rx_bank *bank, lg_mf_rx_lane *lanes, lg_mf_rx_state *states, int channel,
                        int active);
/* An upper bound on the events one feed of `nsamples` can produce. */
int lg_mf_rx_max_events(int channels, int nsamples);
/* Feeds `nsamples` samples of every channel (row-major [channels][stride],
 * int16 for LG_ENC_S16, else G.711 codes). Returns the events written, or
 * LG_E_SPACE (before consuming anything) when max_events is below
 * lg_mf_rx_max_events(). */
int lg_mf_rx_feed(const lg_mf_rx_desc *desc, lg_mf_rx_bank *bank, lg_mf_rx_lane *lanes, lg_mf_rx_state *states,
                  const void *samples, int encoding, int stride, int nsamples, lg_event *events, int max_events);
/* Ends every signal in progress (end of stream). */
int lg_mf_rx_flush(const lg_mf_rx_desc *desc, lg_mf_rx_bank *bank, lg_mf_rx_lane *lanes, lg_mf_rx_state *states,
                   lg_event *events, int max_events);
/* cdef-end */

#define LG_MF_RX_IDLE 0
#define LG_MF_RX_CANDIDATE 1
#define LG_MF_RX_ACTIVE 2

#endif
