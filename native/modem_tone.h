/* Fax and modem answer/calling tone detector for many channels at once.
 *
 * What it reports (lg_event kind LG_EVENT_MODEM_TONE, value LG_MODEM_TONE_*):
 * - CNG, the fax calling tone (T.30): 1100 Hz +-38 Hz, 0.5 s on / 3 s off.
 *   Reported once per burst, when the burst has lasted cng_min_on_ms
 *   (400 ms): T.30 allows the 0.5 s burst +-15 %, so the shortest valid
 *   burst is 425 ms; 400 leaves room for the 8 ms sub-block granularity of
 *   the start estimate and still reports every burst before it ends.
 * - CED (T.30) / ANS (V.25): 2100 Hz, plain. The two cannot be told apart
 *   without reversals, so both are CED; reported after ced_min_on_ms
 *   (600 ms) of steady tone. 600, not 500: V.25 puts the first phase
 *   reversal 450 +- 25 ms after the tone begins, so an ANS/PR is usually
 *   recognised before a plain tone would be reported and gets one event.
 * - ANS_PR: 2100 Hz with a 180 degree phase reversal (V.25, every 450 ms);
 *   one reversal is enough.
 * - ANSAM: 2100 Hz amplitude-modulated at 15 Hz, 20 % (V.8); recognised
 *   after three cycles of the modulation (~250 ms). ANSAM_PR: ANSam with a
 *   reversal.
 * - BELL_2225: the Bell 103 answer tone, 2225 Hz; after bell_min_on_ms.
 *
 * Event protocol: like DTMF, a tone is reported with end = -1 when it is
 * recognised, and again with LG_EVENT_END, the same start and its end when
 * it stops (or at flush). A 2100 Hz tone can be REFINED while it lasts:
 * CED -> ANS_PR, CED -> ANSAM, ANSAM -> ANSAM_PR, ANS_PR -> ANSAM_PR, when
 * the evidence (a reversal, the modulation) arrives after the first report.
 * A refinement is a new LG_EVENT_BEGIN event with the refined value and the
 * SAME start; it replaces the earlier begin of that channel and start. The
 * end event carries the last (most refined) value. Values only go up.
 *
 * Signal path, per lane of LG_LANE channels (channels in the SIMD lanes):
 * - Eight Goertzel filters over 8 ms sub-blocks (64 samples, the kernel's
 *   largest chunk): the three tones 1100, 2100, 2225 Hz and guards at 975,
 *   1225, 1650, 1975 and 2350 Hz (lg_goertzel_run8). At 64 samples the bins
 *   are 125 Hz apart on the 125 Hz grid through 2100 and 2225, so each of
 *   those two lies on the other's null: the two cannot be confused.
 * - A sub-block holds a tone when one of the three tone bins is the
 *   strongest of the eight, above the level floor, and holds a share of the
 *   sub-block's energy (BLOCK_FRACTION, allowing for the window's roll-off
 *   at the largest accepted offset).
 * - The phase advance of the tone's bin from one sub-block to the next gives
 *   its frequency (unambiguous within +-62.5 Hz); the advances are tracked
 *   with a smoothed phasor, and only advances within 45 degrees of it count
 *   as steady. A 2100 Hz tone's phase over two sub-blocks, against what the
 *   tracked frequency predicts, jumps by about 180 degrees at a reversal.
 * - The amplitude of the 2100 Hz bin, one value per sub-block (125 Hz),
 *   over 25 sub-blocks (200 ms, exactly three 15 Hz cycles) gives the 15 Hz
 *   modulation depth 2|A15|/A0 and the share of the amplitude's variance
 *   that the 15 Hz component explains.
 * - A tone is reported only when, over its whole length so far, its mean
 *   frequency is within tolerance, its sub-block frequencies are steady
 *   (standard deviation at most MAX_FREQ_STD_HZ), and it held on average
 *   min_tone_fraction of the energy (speech and music do neither for
 *   hundreds of milliseconds). Dropouts up to max_gap_ms are bridged.
 */
#ifndef LG_MODEM_TONE_H
#define LG_MODEM_TONE_H

#include "lg_common.h"
#include "goertzel.h"

/* cdef-begin */
#define LG_MODEM_TONE_CNG 1
#define LG_MODEM_TONE_CED 2
#define LG_MODEM_TONE_ANS_PR 3
#define LG_MODEM_TONE_ANSAM 4
#define LG_MODEM_TONE_ANSAM_PR 5
#define LG_MODEM_TONE_BELL_2225 6

#define LG_MODEM_TONE_BINS 8
#define LG_MODEM_TONE_TARGETS 3      /* 1100, 2100, 2225 Hz: bins 0, 1, 2 */
#define LG_MODEM_TONE_SUBBLOCK 64    /* 8 ms */
#define LG_MODEM_TONE_AM_BLOCKS 25   /* 200 ms: three cycles of 15 Hz */
#define LG_MODEM_TONE_ONSET 16       /* sub-blocks kept to place the start */

typedef struct {
    float min_level_dbm0;       /* -46: weakest tone accepted */
    float min_tone_fraction;    /* 0.6: the tone's mean share of the energy */
    float cng_max_dev_hz;       /* 45: 1100 Hz +- (T.30: +-38) */
    float ans_max_dev_hz;       /* 56: 2100 Hz +- (V.25: +-15; 2.7 %), at most 60 */
    float bell_max_dev_hz;      /* 60: 2225 Hz +- (Bell 103: +-10; 2.7 %), at most 60; 2156 < 2165 */
    float am_min_depth_pct;     /* 12: ANSam modulation depth (V.8: 20 +- 2.5) */
    float am_max_depth_pct;     /* 30 */
    int32_t cng_min_on_ms;      /* 400: CNG burst reported after */
    int32_t ced_min_on_ms;      /* 600: plain 2100 Hz reported as CED after */
    int32_t bell_min_on_ms;     /* 500: 2225 Hz reported after */
    int32_t min_on_ms;          /* 250: shortest 2100 Hz tone reported as ANS_PR / ANSAM */
    int32_t max_gap_ms;         /* 40: dropouts up to this are bridged */
} lg_modem_tone_params;

typedef struct {
    /* cdef-opaque */
    float coef[LG_MODEM_TONE_BINS];                       /* 2 cos(w) */
    float x_rot_re[LG_MODEM_TONE_BINS], x_rot_im[LG_MODEM_TONE_BINS]; /* e^{-jw(M-1)} */
    float w_rot_re[LG_MODEM_TONE_BINS], w_rot_im[LG_MODEM_TONE_BINS]; /* e^{-jwM} */
    float w_rot2_re, w_rot2_im;                            /* e^{-2jwM} of 2100 Hz */
    float bin_hz[LG_MODEM_TONE_BINS];
    float min_power;                                       /* of a sine, linear units squared */
    float edge_gain[LG_MODEM_TONE_TARGETS];                /* window power gain at the largest offset */
    float max_dev_hz[LG_MODEM_TONE_TARGETS];
    float min_fraction;
    float am_min_depth, am_max_depth;
    int32_t min_blocks[LG_MODEM_TONE_TARGETS];             /* CNG, CED, BELL */
    int32_t min_on_blocks;
    int32_t max_gap_blocks;
    float am_tw_re[LG_MODEM_TONE_AM_BLOCKS], am_tw_im[LG_MODEM_TONE_AM_BLOCKS]; /* e^{-2 pi j 15 Hz t} */
} lg_modem_tone_desc;

/* Goertzel accumulators of LG_LANE channels. */
typedef struct {
    /* cdef-opaque */
    lg_goertzel_acc acc;      /* first: lg_goertzel_walk reaches it */
    float prev_amp[LG_MODEM_TONE_TARGETS][LG_LANE];  /* the tone bins' |X| one sub-block ago */
    int64_t subblocks;        /* sub-blocks completed */
    uint32_t tracking;        /* bit i: channel i of the lane follows a tone */
} lg_modem_tone_lane;

/* Decision state of one channel. */
typedef struct {
    /* cdef-opaque */
    int64_t origin;           /* channel time of the lane's sub-block 0 */
    int64_t first_subblock;   /* the lane's sub-block count at the channel's reset */
    int64_t start;            /* estimated start of the tone, channel samples */
    int64_t first_block;      /* channel sub-block where the tone was first seen */
    int64_t last_good;        /* last sub-block that held the tone */
    int64_t last_reversal;
    int32_t target;           /* -1, or 0..2: the tone followed */
    int32_t value;            /* LG_MODEM_TONE_* reported so far, 0 for none */
    int32_t gap;              /* sub-blocks without the tone since last_good */
    float gap_amp;            /* |X| of the first sub-block after last_good */
    float amp_ref;            /* strongest |X| of the tone */
    float h_re[2], h_im[2];   /* the tone bin's X one and two sub-blocks ago */
    float p_re, p_im;         /* smoothed phase advance per sub-block */
    int32_t inliers, outlier_run;
    float f_sum, f_sq;        /* frequency offsets (Hz) of steady advances */
    float frac_sum, power_sum;
    int32_t good;             /* sub-blocks that held the tone */
    float confidence;         /* of the tone reported: its mean share of the energy */
    int32_t reversals;
    int32_t clean_run, am_run, am_seen;
    float am[LG_MODEM_TONE_AM_BLOCKS];
    float amp_sum;            /* |X| summed over the good sub-blocks */
    float onset[LG_MODEM_TONE_ONSET]; /* |X| of sub-blocks first_block - 1 ... */
} lg_modem_tone_state;

typedef struct {
    /* cdef-opaque */
    int64_t samples;
    int32_t pos;
    int32_t channels;
} lg_modem_tone_bank;

void lg_modem_tone_params_default(lg_modem_tone_params *params);
/* The position (0-based, declaration order) of the first field of `params`
 * outside its range, or -1 when all are valid. */
int lg_modem_tone_params_bad_field(const lg_modem_tone_params *params);
int lg_modem_tone_desc_init(lg_modem_tone_desc *desc, const lg_modem_tone_params *params);
/* `lanes` holds (channels + LG_LANE - 1) / LG_LANE entries. */
int lg_modem_tone_bank_init(lg_modem_tone_bank *bank, lg_modem_tone_lane *lanes,
                            lg_modem_tone_state *states, int channels);
/* Restarts one channel: its clock restarts at 0; on or off as it was. */
int lg_modem_tone_reset(lg_modem_tone_bank *bank, lg_modem_tone_lane *lanes,
                        lg_modem_tone_state *states, int channel);
/* Turns the unit on or off for one channel (`active` nonzero: on). Off: the
 * channel's samples still advance its clock, but nothing is analysed and no
 * events come; a tone under way is dropped without an END event. On (from
 * off): analysis restarts as after lg_modem_tone_reset, but the channel's
 * clock is kept, so event times stay on the channel's time line. On when
 * already on, or off when already off: nothing changes. Channels start on.
 * A lane whose channels are all off is skipped. LG_E_RANGE for a bad channel. */
int lg_modem_tone_set_active(lg_modem_tone_bank *bank, lg_modem_tone_lane *lanes, lg_modem_tone_state *states,
                             int channel, int active);
/* An upper bound on the events one feed of `nsamples` can produce. */
int lg_modem_tone_max_events(int channels, int nsamples);
/* Feeds `nsamples` samples of every channel: row-major [channels][stride]
 * int16 (LG_ENC_S16) or uint8 G.711 codes. Returns the number of events
 * written, or LG_E_SPACE (nothing consumed) when max_events is below
 * lg_modem_tone_max_events(). */
int lg_modem_tone_feed(const lg_modem_tone_desc *desc, lg_modem_tone_bank *bank,
                       lg_modem_tone_lane *lanes, lg_modem_tone_state *states,
                       const void *samples, int encoding, int stride, int nsamples,
                       lg_event *events, int max_events);
/* Ends every tone in progress (end of stream); needs max_events >= channels. */
int lg_modem_tone_flush(const lg_modem_tone_desc *desc, lg_modem_tone_bank *bank,
                        lg_modem_tone_lane *lanes, lg_modem_tone_state *states,
                        lg_event *events, int max_events);
/* cdef-end */

#endif
