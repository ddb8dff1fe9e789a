/* DTMF receiver for many channels at once.
 *
 * Design (why it beats a plain 102-sample Goertzel):
 * - A Goertzel filter per DTMF frequency runs over 5 ms sub-blocks
 *   (LG_DTMF_SUBBLOCK samples), channels in the SIMD lanes, so the per-sample
 *   cost is two vector operations per frequency for eight channels.
 * - The complex outputs of three consecutive sub-blocks are combined
 *   coherently into a 15 ms sliding window every 5 ms: the selectivity of a
 *   long window with the time resolution of a short one.
 * - The phase advance of a window from one step to the next measures each
 *   tone's actual frequency, so the +-1.5 % accept / +-3.5 % reject limits
 *   hold at every row and column frequency, whatever the level; the window's
 *   known roll-off at that offset then corrects the tone level.
 * - Digit edges are placed from the amplitude of the 5 ms sub-blocks around
 *   them, so start and end are within a few milliseconds.
 * - Talk-off: a window may hold some speech or music beside the tones, but
 *   the key is only reported when its windows are on average mostly the two
 *   tones, when both tones were absent just before it began, and, if the
 *   tones' share is marginal, when their frequencies held steady. Speech and
 *   music build DTMF-like pairs out of harmonics that were already sounding
 *   or that glide with the voice; a keypad starts both tones at once and
 *   does not move them. Measured on the evaluation corpus: the onset test
 *   alone removes most talk-off that passes the others.
 *   A key buried in loud speech (the tones under half the energy) is still
 *   reported when it holds longer, with steady frequencies standing well
 *   clear of their neighbours and a clean onset: weaker evidence per window,
 *   more windows.
 * - Cost: per sub-block a vectorised screen of each lane's eight channels
 *   makes every test that needs no arctangent; only channels that pass it,
 *   or that follow a key, reach the scalar decisions.
 */
#ifndef LG_DTMF_RX_H
#define LG_DTMF_RX_H

#include "dtmf.h"
#include "goertzel.h"
#include "tone_ring.h"

/* cdef-begin */
#define LG_DTMF_BINS 8
#define LG_DTMF_SUBBLOCK 40
#define LG_DTMF_WINDOW 3
#define LG_DTMF_GAIN_STEPS 202          /* window gain tabulated every 0.5 Hz to 100 Hz */

typedef struct {
    float min_level_dbm0;       /* weakest tone accepted, per tone */
    float max_normal_twist_db;  /* row tone louder than column tone by at most */
    float max_reverse_twist_db; /* column tone louder than row tone by at most */
    float max_freq_dev_pct;     /* each tone's mean frequency within this of nominal (<= 4) */
    float min_tone_fraction;    /* the two tones' mean share of the energy (each window may hold less) */
    float min_peak_ratio_db;    /* a tone over the other frequencies of its group */
    int32_t min_on_ms;          /* shortest tone reported */
    int32_t min_off_ms;         /* shortest pause that splits a repeated key */
} lg_dtmf_rx_params;

typedef struct {
    /* cdef-opaque */
    float min_power;
    float normal_twist;
    float reverse_twist;
    float max_dev_hz[LG_DTMF_BINS];   /* per window */
    float cone_sin[LG_DTMF_BINS], cone_cos[LG_DTMF_BINS]; /* the phase advance max_dev_hz allows */
    float edge_gain[LG_DTMF_BINS];    /* window power gain at max_dev_hz: the most a level is corrected */
    float max_mean_dev;               /* relative, over a key */
    float tone_fraction;
    float peak_ratio;
    int32_t min_on_samples;
    int32_t end_windows;
    float coef[LG_DTMF_BINS];          /* 2 cos(w) */
    float x_rot1_re[LG_DTMF_BINS], x_rot1_im[LG_DTMF_BINS]; /* e^{-jw(M-1)} */
    float w_rot1_re[LG_DTMF_BINS], w_rot1_im[LG_DTMF_BINS]; /* e^{-jwM} */
    float w_rot2_re[LG_DTMF_BINS], w_rot2_im[LG_DTMF_BINS]; /* e^{-2jwM} */
    float bin_hz[LG_DTMF_BINS];
    float gain[LG_DTMF_GAIN_STEPS];   /* window power gain against offset, 0.5 Hz steps */
} lg_dtmf_rx_desc;

/* Goertzel accumulators and sub-block history of LG_LANE channels. The
 * histories are rings indexed by the lane's sub-block count, so that a new
 * sub-block is written once into the slot of the oldest. */
typedef struct {
    /* cdef-opaque */
    lg_goertzel_acc acc;      /* first: lg_goertzel_walk reaches it */
    int64_t subblocks;        /* sub-blocks completed; the rings are indexed by it */
    uint32_t tracking;        /* bit i: channel i of the lane is following a key */
    float x_re[LG_DTMF_WINDOW][LG_DTMF_BINS][LG_LANE];     /* sub-block outputs, by sub-block mod 3 */
    float x_im[LG_DTMF_WINDOW][LG_DTMF_BINS][LG_LANE];
    float e_sub[LG_DTMF_WINDOW][LG_LANE];                   /* sub-block energies, by sub-block mod 3 */
    float y_re[2][LG_DTMF_BINS][LG_LANE];                   /* windows, by sub-block mod 2 */
    float y_im[2][LG_DTMF_BINS][LG_LANE];
    float y_pow[LG_DTMF_WINDOW + 1][LG_DTMF_BINS][LG_LANE]; /* |Y|^2 of windows, by sub-block mod 4 */
} lg_dtmf_rx_lane;

/* Decision state of one channel. */
typedef struct {
    /* cdef-opaque */
    int64_t origin;           /* bank sample time of this channel's time 0 */
    int64_t first_subblock;   /* the lane's sub-block count when this channel was reset */
    int32_t phase;            /* LG_DTMF_IDLE, _CANDIDATE, _ACTIVE */
    int32_t key;              /* tracked key index */
    int32_t gap;              /* consecutive windows without the tracked key */
    int32_t valid_windows;    /* windows that showed the tracked key */
    float peak_power;         /* strongest |Y_row|^2 + |Y_col|^2 of the tracked key */
    float fraction_sum;       /* tone share of those windows, onset excluded */
    float confidence;         /* of the confirmed key: its tones' mean share of the windows' energy */
    float peak_ratio_sum;     /* dB of the weaker group's peak over its next bin */
    int32_t fraction_count;
    float dev_min[2], dev_max[2]; /* relative frequency offsets seen, row and column */
    float dev_sum[2];
    float onset_row, onset_col; /* |Y|^2 at the key's bins just before it began */
    lg_tone_ring ring;        /* |X_row| + |X_col| of the tracked key per sub-block */
    int64_t start;            /* estimated start, channel samples */
} lg_dtmf_rx_state;

typedef struct {
    /* cdef-opaque */
    int64_t samples;          /* samples fed to the bank so far */
    int32_t pos;              /* position inside the current sub-block */
    int32_t channels;
} lg_dtmf_rx_bank;

void lg_dtmf_rx_params_default(lg_dtmf_rx_params *params);
/* The position (0-based, in declaration order) of the first field of
 * `params` outside its range, or -1 when all are valid. */
int lg_dtmf_rx_params_bad_field(const lg_dtmf_rx_params *params);
int lg_dtmf_rx_desc_init(lg_dtmf_rx_desc *desc, const lg_dtmf_rx_params *params);
/* `lanes` holds (channels + LG_LANE - 1) / LG_LANE entries. */
int lg_dtmf_rx_bank_init(lg_dtmf_rx_bank *bank, lg_dtmf_rx_lane *lanes,
                         lg_dtmf_rx_state *states, int channels);
/* Restarts one channel: its clock restarts at 0; on or off as it was. */
int lg_dtmf_rx_reset(lg_dtmf_rx_bank *bank, lg_dtmf_rx_lane *lanes,
                     lg_dtmf_rx_state *states, int channel);
/* Turns the unit on or off for one channel (`active` nonzero: on). Off: the
 * channel's samples still advance its clock, but nothing is analysed and no
 * events come; a key under way is dropped without an END event. On (from
 * off): analysis restarts as after lg_dtmf_rx_reset, but the channel's clock
 * is kept, so event times stay on the channel's time line. On when already
 * on, or off when already off: nothing changes. Channels start on. A lane
 * whose channels are all off is skipped. LG_E_RANGE for a bad channel. */
int lg_dtmf_rx_set_active(lg_dtmf_rx_bank *bank, lg_dtmf_rx_lane *lanes, lg_dtmf_rx_state *states,
                          int channel, int active);
/* An upper bound on the events one feed of `nsamples` can produce. */
int lg_dtmf_rx_max_events(int channels, int nsamples);
/* Feeds `nsamples` samples of every channel. `samples` is row-major
 * [channels][stride] of int16 (LG_ENC_S16) or uint8 G.711 codes.
 * Returns the number of events written, or LG_E_SPACE (before consuming
 * anything) when max_events is below lg_dtmf_rx_max_events(). */
int lg_dtmf_rx_feed(const lg_dtmf_rx_desc *desc, lg_dtmf_rx_bank *bank,
                    lg_dtmf_rx_lane *lanes, lg_dtmf_rx_state *states,
                    const void *samples, int encoding, int stride, int nsamples,
                    lg_event *events, int max_events);
/* Ends every digit in progress (end of stream). */
int lg_dtmf_rx_flush(const lg_dtmf_rx_desc *desc, lg_dtmf_rx_bank *bank,
                     lg_dtmf_rx_lane *lanes, lg_dtmf_rx_state *states,
                     lg_event *events, int max_events);
/* cdef-end */

#define LG_DTMF_IDLE 0
#define LG_DTMF_CANDIDATE 1
#define LG_DTMF_ACTIVE 2

#endif
