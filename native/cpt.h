/* Call-progress tone classifier for many channels at once: dial, ringback,
 * busy, congestion and special information tones of any country, driven by a
 * table of cadences that the caller loads from the tone plans.
 *
 * What it reports (lg_event kind LG_EVENT_CPT, value LG_CPT_*): a class when
 * the tone heard matches the cadences of that class, and only that class,
 * well enough (LG_EVENT_BEGIN, end = -1, start = where the tone pattern
 * began); the same class again with LG_EVENT_END when the pattern stops
 * (the tone is gone for longer than its cadence allows, or something else is
 * heard) or at flush. confidence: how well the best cadence fits; reason:
 * the index of that cadence in the table (so the caller can name country
 * and tone). Fax and modem tones are the modem_tone unit's.
 *
 * Signal path, per lane of LG_LANE channels:
 * - 16 Goertzel filters over 7 ms sub-blocks (56 samples): 13 on the
 *   28.57 Hz grid 314..657 Hz (every dial, ringback, busy and congestion
 *   tone of Asterisk's 41 plans lies in 350..620 Hz) and the three
 *   special-information frequencies 950, 1400 and 1800 Hz.
 * - Low band: every sub-block, the last five sub-blocks' DFT values are
 *   summed coherently into the 35 ms window's DFT. 35 ms at 8 kHz is 280
 *   samples, whose DFT bins are exactly the 28.57 Hz grid: the 13 bins' power
 *   over the window's power is the share of the window in 300..671 Hz,
 *   whatever the offset of a tone and however many tones (Parseval), and
 *   dual tones 25 Hz apart stay resolved. A frame is tone when that share
 *   is high and the power above the level floor; speech and music put most
 *   of their energy elsewhere, or move.
 * - High band: the three SIT bins over one sub-block (143 Hz wide); the
 *   frequency from the phase advance between sub-blocks, unambiguous
 *   within +-71 Hz of the bin: the North American and ITU first and second
 *   tones, 2.5 % off, are all inside (7 ms rather than 8 ms sub-blocks for
 *   that).
 * - Segments: frames grouped into on and off segments with hysteresis;
 *   blips and dropouts shorter than min_segment_ms are absorbed. Each
 *   on-segment keeps its mean level, dominant frequencies and steadiness.
 * - Cadence matching, at each segment boundary and when the segment under
 *   way reaches a length that could change the answer (a cadence's bound
 *   passed, a threshold of "enough" reached; at the latest every 112 ms):
 *   the recent segments against the cadences of the table, at every phase:
 *   relative duration error per segment, frequencies, relative levels of
 *   bursts (Australia's congestion has every other burst 10 dB down). The
 *   segment under way and the first one heard are only bounds. Cadences
 *   are matched once per distinct shape, and only the shapes whose tones
 *   every segment heard can be (each segment keeps the sets of tones it
 *   fits); once a class is reported, only its shapes (does it still fit?).
 *   The channel's country, when set, is tried first; other countries'
 *   cadences count when none of its own fits.
 *   A class is decided when every surviving cadence is of that class and
 *   enough of the pattern has been seen (busy, congestion: three complete
 *   segments; ringback: one complete burst; dial: dial_min_ms of steady
 *   tone (within 4 dB; a held note is not) that no other class's burst
 *   could be; SIT: the third tone under way). A pattern that ends is not
 *   heard again in the segments before its end.
 */
#ifndef LG_CPT_H
#define LG_CPT_H

#include "lg_common.h"
#include "goertzel.h"

/* cdef-begin */
#define LG_CPT_DIAL 1
#define LG_CPT_RINGBACK 2
#define LG_CPT_BUSY 3
#define LG_CPT_CONGESTION 4
#define LG_CPT_SIT 5

#define LG_CPT_BINS 16
#define LG_CPT_LOW_BINS 13          /* 314..657 Hz every 28.57 Hz */
#define LG_CPT_SUBBLOCK 56          /* 7 ms */
#define LG_CPT_WINDOW 5             /* sub-blocks per low-band window: 35 ms */
#define LG_CPT_MAX_STEPS 12         /* steps of one cadence */
#define LG_CPT_MAX_CADENCES 320     /* cadences in the table */
#define LG_CPT_HISTORY 12           /* segments kept per channel */
#define LG_CPT_RING 16              /* frames kept per channel to place edges */

/* One tone of a plan, as the caller compiles it: steps of tone (freq[0] > 0)
 * and silence (freq[0] == 0), ms == 0 for a step without end (a continuous
 * tone). cyclic: the steps repeat; otherwise they are heard once (SIT). */
typedef struct {
    int32_t cls;                    /* LG_CPT_* */
    int32_t subtype;                /* caller's code, returned in events' value for SIT */
    int32_t country;                /* caller's index, matched against lg_cpt_set_country */
    int32_t steps;
    int32_t cyclic;
    int32_t ms[LG_CPT_MAX_STEPS];
    float freq[LG_CPT_MAX_STEPS][2]; /* up to two tones (Hz), 0 for none; a modulated tone by its carrier */
    float gain_db[LG_CPT_MAX_STEPS]; /* level of the step relative to the cadence's loudest */
    float am_hz[LG_CPT_MAX_STEPS];   /* modulation of a modulated tone (its sidebands may lead), else 0 */
} lg_cpt_cadence;

typedef struct {
    float min_level_dbm0;           /* -44: weakest tone accepted (per tone) */
    float min_share;                /* 0.55: share of the window in the tone's band to start a segment */
    float hold_share;               /* 0.35: share that keeps a segment going */
    float max_step_error;           /* 0.22: largest relative error of one segment's duration */
    float max_mean_error;           /* 0.12: largest mean relative error over the segments */
    float max_freq_dev_pct;         /* 5: plan frequency tolerance */
    int32_t min_segment_ms;         /* 40: shorter blips and dropouts are absorbed */
    int32_t dial_min_ms;            /* 600: continuous tone before dial tone can be decided */
} lg_cpt_params;

typedef struct {
    /* cdef-opaque */
    float coef[LG_CPT_BINS];
    float x_rot_re[LG_CPT_BINS], x_rot_im[LG_CPT_BINS];   /* e^{-jw(M-1)} */
    float w_rot_re[LG_CPT_BINS], w_rot_im[LG_CPT_BINS];   /* e^{-jwM} */
    float bin_hz[LG_CPT_BINS];
    /* A sub-block's low-band DFT rotated to the lane's sub-block 0, per slot of the window */
    float slot_rot_re[LG_CPT_WINDOW][LG_CPT_LOW_BINS], slot_rot_im[LG_CPT_WINDOW][LG_CPT_LOW_BINS];
    float min_power;
    float min_share, hold_share;
    float max_step_error, max_mean_error, max_freq_dev;
    int32_t min_segment_blocks;
    int32_t dial_min_blocks;
    int32_t count;
    lg_cpt_cadence cadences[LG_CPT_MAX_CADENCES];
    /* Plans share cadences (198 in Asterisk's plans, 86 distinct): the
     * matcher runs once per distinct shape, and not at all for shapes whose
     * tones (the same in many shapes) cannot be the one heard. */
    int32_t shape_of[LG_CPT_MAX_CADENCES];   /* cadence -> shape */
    int32_t next_in_shape[LG_CPT_MAX_CADENCES]; /* cadence -> next cadence of its shape, -1 */
    int32_t shape_rep[LG_CPT_MAX_CADENCES];  /* shape -> its first cadence */
    int32_t shape_last[LG_CPT_MAX_CADENCES]; /* shape -> its last cadence */
    int32_t shape_classes[LG_CPT_MAX_CADENCES]; /* shape -> bit 1 << cls of its cadences' classes */
    int32_t shape_tones[LG_CPT_MAX_CADENCES]; /* shape -> its set of tones (< 64), -1 beyond */
    int32_t next_shape[LG_CPT_MAX_CADENCES];  /* shape -> next shape of its set of tones (or of the loose ones), -1 */
    int32_t tones_first[64];                 /* set of tones -> its first shape */
    int32_t tones_last[64];
    int32_t loose_first, loose_last;         /* shapes beyond 64 sets of tones */
    uint64_t once_tones;                     /* sets of tones of once-only cadences */
    int32_t nshapes, ntones;
} lg_cpt_desc;

/* Goertzel accumulators and the low band's recent DFT values of LG_LANE channels. */
typedef struct {
    /* cdef-opaque */
    lg_goertzel_acc acc[2];   /* first: bins 0..7, bins 8..15 */
    float x_re[LG_CPT_WINDOW][LG_CPT_LOW_BINS][LG_LANE]; /* ring of sub-block DFTs, window-referenced */
    float x_im[LG_CPT_WINDOW][LG_CPT_LOW_BINS][LG_LANE];
    float e_ring[LG_CPT_WINDOW][LG_LANE];                 /* sub-block energies */
    int64_t subblocks;
    int32_t active;        /* channels of the lane analysed (lg_cpt_set_active) */
} lg_cpt_lane;

typedef struct {
    /* cdef-opaque */
    int64_t start;     /* channel samples */
    int32_t length;    /* samples */
    int32_t on;        /* 0 off, 1 low-band tone, 2..4 SIT bin 950/1400/1800 */
    float level_db;    /* mean power of the tone, dB re a 0 dBm0 sine */
    float spread_db;   /* loudest over quietest frame of a low-band tone past its onset */
    float freq[2];     /* dominant and second tone (Hz), 0 if none */
    uint64_t fits;     /* the sets of tones (lg_cpt_desc.shape_tones) it can be; all for a pause */
} lg_cpt_segment;

typedef struct {
    /* cdef-opaque */
    int64_t origin;           /* channel time of the lane's sub-block 0 */
    int64_t reset_at;         /* the bank's sample count at the channel's reset: its time 0 */
    int32_t active;           /* analysed (lg_cpt_set_active) */
    int64_t first_subblock;   /* the lane's sub-block count at the channel's reset */
    int32_t country;          /* -1: none */
    int32_t frames;           /* sub-blocks seen since reset */
    /* the segment under way */
    int32_t cur_on, cur_pending, pend_blocks;
    int64_t cur_start, pend_start;
    float cur_power_sum;
    float cur_pmin, cur_pmax;         /* frame powers of a low-band tone, past its onset */
    int32_t cur_f_count;
    float cur_spec[LG_CPT_LOW_BINS];  /* low-band power per bin, summed over the segment */
    float cur_hi_f_sum;
    int32_t cur_hi_count;
    float prev_hi_re[3], prev_hi_im[3];
    /* the last frames' powers (low band, then the three SIT bins) and ends */
    float ring_power[LG_CPT_RING][4];
    int64_t ring_end[LG_CPT_RING];
    /* complete segments, oldest first */
    lg_cpt_segment hist[LG_CPT_HISTORY];
    int32_t nhist;
    int32_t hist_truncated;   /* the oldest kept segment is only a bound */
    /* decisions */
    int32_t value;            /* LG_CPT_* reported and not yet ended, 0 for none */
    int32_t value_subtype;
    int64_t value_start;
    int32_t next_check;       /* length of the segment under way (samples) at which the matcher runs again */
} lg_cpt_state;

typedef struct {
    /* cdef-opaque */
    int64_t samples;
    int32_t pos;
    int32_t channels;
} lg_cpt_bank;

void lg_cpt_params_default(lg_cpt_params *params);
int lg_cpt_params_bad_field(const lg_cpt_params *params);
int lg_cpt_desc_init(lg_cpt_desc *desc, const lg_cpt_params *params);
/* Adds a cadence to the table; LG_E_RANGE when it is invalid or the table full. */
int lg_cpt_add_cadence(lg_cpt_desc *desc, const lg_cpt_cadence *cadence);
int lg_cpt_bank_init(lg_cpt_bank *bank, lg_cpt_lane *lanes, lg_cpt_state *states, int channels);
int lg_cpt_reset(lg_cpt_bank *bank, lg_cpt_lane *lanes, lg_cpt_state *states, int channel);
/* Turns the unit on or off for one channel. Off: the channel's samples
 * still advance its clock, but nothing is analysed and no events come; a
 * pattern under way is dropped without an END event. On (from off):
 * analysis restarts as after lg_cpt_reset, but the channel's clock is kept,
 * so event times stay on the channel's time line. On when already on, or
 * off when already off: nothing changes. Channels start on; a reset keeps
 * the setting. LG_E_RANGE for a bad channel. */
int lg_cpt_set_active(lg_cpt_bank *bank, lg_cpt_lane *lanes, lg_cpt_state *states, int channel, int active);
/* The country whose cadences a channel prefers (-1: none); kept across resets. */
int lg_cpt_set_country(lg_cpt_bank *bank, lg_cpt_state *states, int channel, int country);
int lg_cpt_max_events(int channels, int nsamples);
int lg_cpt_feed(const lg_cpt_desc *desc, lg_cpt_bank *bank, lg_cpt_lane *lanes, lg_cpt_state *states,
                const void *samples, int encoding, int stride, int nsamples, lg_event *events, int max_events);
int lg_cpt_flush(const lg_cpt_desc *desc, lg_cpt_bank *bank, lg_cpt_lane *lanes, lg_cpt_state *states,
                 lg_event *events, int max_events);
/* cdef-end */

#endif
