/* Caller ID FSK receiver for many channels at once: Bell 202 and ITU-T V.23
 * (1200 baud), async characters, on-hook data messages (Telcordia GR-30,
 * ETSI EN 300 659-1/-2).
 *
 * What it reports (lg_event kind LG_EVENT_CALLERID, flags LG_EVENT_END, once
 * per message): a message = type byte, length byte, that many bytes, the
 * checksum (the two's complement of the modulo-256 sum of the others, so
 * that all of them sum to 0). `value` is the message's serial number on the
 * channel: lg_fsk_rx_message copies its bytes (type .. checksum) out, until
 * LG_FSK_RX_SLOTS later messages have replaced it, so read them after every
 * feed. `reason`: the standard (LG_FSK_RX_BELL202 / LG_FSK_RX_V23), plus
 * LG_FSK_RX_SEIZED when a channel seizure (alternating bits) came before the
 * mark signal, plus LG_FSK_RX_CHECKSUM_FAILED when the bytes do not sum to 0,
 * or LG_FSK_RX_TRUNCATED when the signal stopped (or marked for longer than
 * max_gap_bits) after the type and length bytes but before the checksum (the
 * bytes so far are kept). `start`: where the carrier began (for a second
 * message on the same carrier, the end of the first); `end`: just after the
 * centre of the checksum's stop bit (or of the last byte's). `confidence`: the
 * mean agreement of the samples inside the bits' decision windows (1: every
 * sample of every bit on the same side).
 *
 * Both standards at once, no setting per channel: Bell 202 (mark 1200 Hz,
 * space 2200 Hz) and V.23 (mark 1300 Hz, space 2100 Hz) share the centre
 * frequency 1700 Hz, so one discriminator that tells "below 1700" from
 * "above 1700" demodulates both; the standard is told afterwards from the
 * mark signal's measured frequency (1200 against 1300 Hz).
 *
 * Signal path, per lane of LG_LANE channels (channels in the SIMD lanes):
 * - mix with e^{-j 2 pi 1700 t}, sum the last 4 products (a boxcar low-pass:
 *   short, so that a tone 10 dB louder than the other one, "twist", barely
 *   delays the transitions; a 4-tap window shifts a mark-to-space edge by
 *   about one sample at 10 dB, an 8-tap one by two, which moves the decision
 *   point out of a lone space bit; measured on synthetic messages);
 * - the discriminator d = Im(z[n] conj(z[n-3])): negative for a mark, positive
 *   for a space, whatever the level; over 3 samples the phase turns 0.9-1.2
 *   rad for both standards' tones, clear of 0 and of pi;
 * - smoothed powers of z (the 700-2700 Hz band) and of the input, for the
 *   carrier: at least min_level_dbm0, and the band at least min_share of the
 *   input's power (a tone about 1, white noise 0.6, speech far less), both
 *   for 10 ms in a row.
 * Channels with a carrier, or a message under way, are then walked sample by
 * sample (scalar): sign changes of d, the mark signal's length, and async
 * characters: a mark-to-space crossing (placed between samples by linear
 * interpolation) starts a character, each bit is the sign of d summed over
 * the 4-5 samples around its centre, LSB first, the tenth a stop bit.
 *
 * A message begins only after min_mark_bits of continuous mark whose
 * frequency is within max_freq_dev_pct of 1200 or 1300 Hz (GR-30 sends 180
 * bits on hook and 80 on call waiting, as spandsp's adsi.h describes it;
 * spandsp's own transmitter sends 80), and only with a message type of
 * GR-30 or EN 300 659-3 (known_type in fsk_rx.c): speech and music that
 * pass for a mark signal then start nothing. Later characters may follow
 * after up to max_gap_bits of mark (GR-30 allows pauses between characters).
 */
#ifndef LG_FSK_RX_H
#define LG_FSK_RX_H

#include "lg_common.h"

/* cdef-begin */
#define LG_FSK_RX_BELL202 1
#define LG_FSK_RX_V23 2
#define LG_FSK_RX_STANDARD_MASK 15
#define LG_FSK_RX_SEIZED 16
#define LG_FSK_RX_CHECKSUM_FAILED 32
#define LG_FSK_RX_TRUNCATED 64

/* Longest message: type, length (255), 255 bytes, checksum. */
#define LG_FSK_RX_MAX_MESSAGE 258
/* Messages kept per channel for lg_fsk_rx_message. */
#define LG_FSK_RX_SLOTS 4
/* Most samples one feed may take (LG_E_RANGE beyond): every report needs two
 * characters (133 samples) after the one before it, so a feed of this many
 * samples reports at most LG_FSK_RX_SLOTS messages per channel, and none is
 * overwritten before the caller has read it. */
#define LG_FSK_RX_MAX_FEED 320
/* Samples between two reports of a channel, at least (two characters). */
#define LG_FSK_RX_REPORT_SPACING 120

typedef struct {
    float min_level_dbm0;     /* -45: weakest carrier heard (TIA-716 -36 dBm; EN 300 659-1 -40 dBV) */
    float min_share;          /* 0.75: the 700-2700 Hz band's share of the power for a carrier */
    float max_freq_dev_pct;   /* 3: the mark signal within this of 1200 or 1300 Hz (specs: 1 and 1.5 %) */
    int32_t min_mark_bits;    /* 40: continuous mark before a message's first character */
    int32_t max_gap_bits;     /* 40: mark between two characters of a message, at most */
} lg_fsk_rx_params;

typedef struct {
    /* cdef-opaque */
    float mix_re[80], mix_im[80]; /* e^{-j 2 pi 1700 n / 8000}, scaled: 80 samples are 17 whole turns */
    float on_power, off_power;    /* band power of the carrier level, and 3 dB under it */
    float min_share;
    float mark_lo[2], mark_hi[2]; /* accepted phase of the mark signal's mean d-vector, per standard */
    int32_t min_mark_samples;
    int32_t max_gap_samples;
} lg_fsk_rx_desc;

/* The filters' memory of LG_LANE channels. */
typedef struct {
    /* cdef-opaque */
    float m_re[3][LG_LANE], m_im[3][LG_LANE]; /* the last three mixed samples */
    float z_re[3][LG_LANE], z_im[3][LG_LANE]; /* the last three boxcar outputs */
    float band[LG_LANE], total[LG_LANE];      /* smoothed powers */
    int32_t run[LG_LANE];                     /* samples in a row with a carrier's level and share */
    uint32_t active;          /* bit i: channel i of the lane is analysed */
    uint32_t busy;            /* bit i: channel i has a carrier or a message under way */
} lg_fsk_rx_lane;

/* Decoder of one channel. */
typedef struct {
    /* cdef-opaque */
    int64_t reset_at;         /* bank sample at the channel's last reset: its time 0 */
    int32_t mode;             /* IDLE, PREAMBLE, BYTE */
    int32_t carrier;
    int32_t quiet;            /* samples in a row below the carrier's floor */
    int64_t carrier_start;    /* bank sample */
    float prev_d;             /* the last nonzero d */
    int32_t sign;             /* its sign: 1 space, -1 mark, 0 none yet */
    int64_t last_cross;       /* bank sample just after the last sign change */
    int32_t alternations;     /* sign runs of about one bit in a row (channel seizure) */
    int32_t seized;
    float run_re, run_im;     /* mean d-vector of the mark signal so far */
    int32_t standard;         /* of the message under way */
    double edge;              /* the character's start edge, bank sample (fractional) */
    double next_edge;         /* a start edge seen during the stop bit, or 0 */
    int32_t bit;              /* the bit being decided, 0 (start) .. 9 (stop) */
    int64_t win_lo, win_hi;   /* its decision window, bank samples */
    float acc, acc_abs;
    uint32_t byte;
    int64_t last_stop;        /* bank sample of the last stop bit's decision */
    int32_t in_message;       /* characters of the message so far */
    float quality_sum;
    int32_t quality_bits;
    int32_t next_serial;      /* serial of the next message reported */
    int32_t length[LG_FSK_RX_SLOTS];
    int32_t serial[LG_FSK_RX_SLOTS];
    uint8_t slot[LG_FSK_RX_SLOTS][LG_FSK_RX_MAX_MESSAGE];
} lg_fsk_rx_state;

typedef struct {
    /* cdef-opaque */
    int64_t samples;          /* samples fed to the bank so far */
    int32_t channels;
} lg_fsk_rx_bank;

void lg_fsk_rx_params_default(lg_fsk_rx_params *params);
/* The position (0-based, declaration order) of the first field of `params`
 * outside its range, or -1 when all are valid. */
int lg_fsk_rx_params_bad_field(const lg_fsk_rx_params *params);
int lg_fsk_rx_desc_init(lg_fsk_rx_desc *desc, const lg_fsk_rx_params *params);
/* `lanes` holds (channels + LG_LANE - 1) / LG_LANE entries. */
int lg_fsk_rx_bank_init(lg_fsk_rx_bank *bank, lg_fsk_rx_lane *lanes, lg_fsk_rx_state *states, int channels);
/* Restarts one channel: its clock restarts at 0; on or off as it was; the
 * messages already reported stay readable. */
int lg_fsk_rx_reset(lg_fsk_rx_bank *bank, lg_fsk_rx_lane *lanes, lg_fsk_rx_state *states, int channel);
/* Turns the unit on or off for one channel, with the contract of
 * lg_dtmf_rx_set_active: off, the channel's clock goes on but nothing is
 * analysed and a message under way is dropped unreported; on again, it
 * starts afresh. LG_E_RANGE for a bad channel. */
int lg_fsk_rx_set_active(lg_fsk_rx_bank *bank, lg_fsk_rx_lane *lanes, lg_fsk_rx_state *states, int channel,
                         int active);
/* An upper bound on the events one feed of `nsamples` can produce; at least
 * one per channel (a flush's need). */
int lg_fsk_rx_max_events(int channels, int nsamples);
/* Feeds `nsamples` (at most LG_FSK_RX_MAX_FEED, else LG_E_RANGE) samples of
 * every channel: row-major [channels][stride] int16 (LG_ENC_S16) or uint8
 * G.711 codes. Returns the number of events written, or LG_E_SPACE (nothing
 * consumed) when max_events is below lg_fsk_rx_max_events(). */
int lg_fsk_rx_feed(const lg_fsk_rx_desc *desc, lg_fsk_rx_bank *bank, lg_fsk_rx_lane *lanes,
                   lg_fsk_rx_state *states, const void *samples, int encoding, int stride, int nsamples,
                   lg_event *events, int max_events);
/* End of stream: a message under way with its type and length is reported
 * truncated; needs max_events >= channels. */
int lg_fsk_rx_flush(const lg_fsk_rx_desc *desc, lg_fsk_rx_bank *bank, lg_fsk_rx_lane *lanes,
                    lg_fsk_rx_state *states, lg_event *events, int max_events);
/* Copies the bytes of message `serial` of `channel` (an event's value) into
 * `out` and returns how many; LG_E_RANGE when that message is not (or no
 * longer) held, LG_E_SPACE when max_len is too small. */
int lg_fsk_rx_message(const lg_fsk_rx_bank *bank, const lg_fsk_rx_state *states, int channel, int serial,
                      uint8_t *out, int max_len);
/* cdef-end */

#endif
