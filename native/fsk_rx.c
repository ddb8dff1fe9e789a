/* Caller ID FSK receiver for many channels at once; the design is in fsk_rx.h. */
#include "fsk_rx.h"
#include "goertzel.h"
#include "lg_simd.h"

#include <math.h>
#include <string.h>

#define CHUNK LG_GOERTZEL_MAX_CHUNK
#define CENTRE_HZ 1700.0
#define TAPS 4  /* boxcar length */
#define LAG 3   /* discriminator delay */
/* Samples per bit at 1200 baud (Bell 202 and V.23 alike). */
#define SPB ((double)LG_SAMPLE_RATE / 1200.0)
/* A bit is decided on the samples within this many of its centre (4 or 5). */
#define HALF_WINDOW 2.0
/* Power smoothing for the carrier: 1/16 per sample, a 2 ms time constant,
 * shorter than a character so that a message's end is heard at once. */
#define SMOOTHING (1.0f / 16.0f)
/* The carrier is heard after this many samples in a row at its level and
 * share (10 ms: a message's preamble lasts 150-400 ms, while speech seldom
 * keeps three quarters of its power in 700-2700 Hz that long), and lost
 * after QUIET_SAMPLES in a row under 3 dB below that level or OFF_SHARE of
 * that share (2 ms: the dip between two tones lasts less; a message keeps
 * a share above 0.58 even at 10 dB of twist and 10 dB SNR). */
#define CARRIER_HOLD 80
#define QUIET_SAMPLES 16
#define OFF_SHARE 0.67f
#define FLAG_ON 1
#define FLAG_OFF 2
/* Samples after a sign change before the mark signal's frequency is
 * measured: the filters still hold the other tone until then. */
#define SETTLE (TAPS + LAG)
/* A channel seizure: this many sign runs of about one bit in a row (GR-30
 * and EN 300 659-1 send 300 alternating bits); a run counts when within 0.4
 * bit of one bit (twist lengthens one tone's runs and shortens the other's). */
#define SEIZURE_RUNS 20
#define SEIZURE_TOLERANCE 0.4
/* Re-timing on the edges inside a character: how far from a bit boundary an
 * edge may be to count (in bits), and how much of its error is corrected. */
#define RETIME_LIMIT 0.35
#define RETIME_GAIN 0.5

#define MODE_IDLE 0
#define MODE_HUNT 1 /* a carrier: waiting for a character's start edge */
#define MODE_BYTE 2 /* receiving a character */

static const double PI_D = 3.14159265358979323846;
static const double MARK_HZ[2] = {1200.0, 1300.0}; /* Bell 202, V.23 (GR-30; ITU-T V.23 mode 2) */

/* Message types a message may begin with: GR-30 (0x04 SDMF caller ID, 0x06
 * SDMF message waiting, 0x0B SDMF message desk, 0x80 MDMF call setup, 0x81
 * MDMF test, 0x82 MDMF message waiting) and EN 300 659-3 (0x80 call setup,
 * 0x82 message waiting, 0x86 advice of charge, 0x89 short message), as
 * spandsp's adsi.h lists them. */
static int known_type(uint32_t type)
{
    switch (type) {
    case 0x04: case 0x06: case 0x0B: case 0x80: case 0x81: case 0x82: case 0x86: case 0x89:
        return 1;
    default:
        return 0;
    }
}

void lg_fsk_rx_params_default(lg_fsk_rx_params *p)
{
    p->min_level_dbm0 = -45.0f;
    p->min_share = 0.75f;
    p->max_freq_dev_pct = 3.0f;
    p->min_mark_bits = 40;
    p->max_gap_bits = 40;
}

int lg_fsk_rx_params_bad_field(const lg_fsk_rx_params *p)
{
    /* Negated comparisons so that NaN counts as out of range. */
    if (!(p->min_level_dbm0 >= -60.0f && p->min_level_dbm0 <= -10.0f))
        return 0;
    if (!(p->min_share >= 0.1f && p->min_share <= 1.0f))
        return 1;
    /* Up to 4 %: 1200 Hz + 4 % meets 1300 Hz - 4 %, and the standards could
     * no longer be told apart. */
    if (!(p->max_freq_dev_pct >= 0.5f && p->max_freq_dev_pct <= 4.0f))
        return 2;
    /* At least 20 bits: two characters' worth, which LG_FSK_RX_REPORT_SPACING
     * counts on; at most the 180 GR-30 sends. */
    if (p->min_mark_bits < 20 || p->min_mark_bits > 180)
        return 3;
    if (p->max_gap_bits < 2 || p->max_gap_bits > 200)
        return 4;
    return -1;
}

/* |sum of e^{j w k}, k < TAPS| / TAPS: the boxcar's gain at w rad/sample. */
static double boxcar_gain(double w)
{
    double re = 0.0, im = 0.0;
    for (int k = 0; k < TAPS; k++) {
        re += cos(w * k);
        im += sin(w * k);
    }
    return sqrt(re * re + im * im) / TAPS;
}

/* The phase of the mean d-vector z[n] conj(z[n-LAG]) for a steady tone of f
 * Hz: its own rotation over LAG samples, pulled a little by its image at
 * -(f + 1700) Hz, which the 4-tap boxcar lets through at -11 dB. Increasing
 * in f over 900-2500 Hz (checked numerically), so bounds on f are bounds on
 * this phase. */
static double mark_phase(double f)
{
    double w = 2.0 * PI_D * (f - CENTRE_HZ) / LG_SAMPLE_RATE;
    double wi = 2.0 * PI_D * (-f - CENTRE_HZ) / LG_SAMPLE_RATE;
    double g = boxcar_gain(w), gi = boxcar_gain(wi);
    return atan2(g * g * sin(LAG * w) + gi * gi * sin(LAG * wi), g * g * cos(LAG * w) + gi * gi * cos(LAG * wi));
}

int lg_fsk_rx_desc_init(lg_fsk_rx_desc *d, const lg_fsk_rx_params *p)
{
    if (!d || !p)
        return LG_E_ARG;
    if (lg_fsk_rx_params_bad_field(p) >= 0)
        return LG_E_RANGE;
    memset(d, 0, sizeof(*d));
    /* Scaled so that the band power of a tone of either standard reads about
     * its power: |z|^2 = 8 g^2 P for a tone of power P, g the boxcar's gain
     * (0.906 at 500 Hz from the centre, 0.940 at 400 Hz). */
    double g0 = 0.5 * (boxcar_gain(2.0 * PI_D * 500.0 / LG_SAMPLE_RATE) +
                       boxcar_gain(2.0 * PI_D * 400.0 / LG_SAMPLE_RATE));
    double scale = 1.0 / (2.0 * sqrt(2.0) * g0);
    for (int n = 0; n < 80; n++) {
        double ph = 2.0 * PI_D * CENTRE_HZ * n / LG_SAMPLE_RATE;
        d->mix_re[n] = (float)(scale * cos(ph));
        d->mix_im[n] = (float)(-scale * sin(ph));
    }
    float peak = lg_dbm0_to_peak(p->min_level_dbm0);
    d->on_power = 0.5f * peak * peak;
    d->off_power = 0.5f * d->on_power;
    d->min_share = p->min_share;
    for (int s = 0; s < 2; s++) {
        d->mark_lo[s] = (float)mark_phase(MARK_HZ[s] * (1.0 - p->max_freq_dev_pct / 100.0));
        d->mark_hi[s] = (float)mark_phase(MARK_HZ[s] * (1.0 + p->max_freq_dev_pct / 100.0));
    }
    d->min_mark_samples = (int32_t)ceil(p->min_mark_bits * SPB);
    d->max_gap_samples = (int32_t)ceil(p->max_gap_bits * SPB);
    return LG_OK;
}

/* Forgets what the channel heard; its clock and its reported messages stay. */
static void restart_decoder(lg_fsk_rx_state *st)
{
    st->mode = MODE_IDLE;
    st->carrier = 0;
    st->quiet = 0;
    st->carrier_start = 0;
    st->prev_d = 0.0f;
    st->sign = 0;
    st->last_cross = 0;
    st->alternations = 0;
    st->seized = 0;
    st->run_re = st->run_im = 0.0f;
    st->standard = 0;
    st->edge = 0.0;
    st->next_edge = 0.0;
    st->bit = 0;
    st->win_lo = st->win_hi = 0;
    st->acc = st->acc_abs = 0.0f;
    st->byte = 0;
    st->last_stop = 0;
    st->in_message = 0;
    st->quality_sum = 0.0f;
    st->quality_bits = 0;
}

static void clear_lane_column(lg_fsk_rx_lane *lane, int i)
{
    for (int k = 0; k < 3; k++) {
        lane->m_re[k][i] = lane->m_im[k][i] = 0.0f;
        lane->z_re[k][i] = lane->z_im[k][i] = 0.0f;
    }
    lane->band[i] = lane->total[i] = 0.0f;
    lane->run[i] = 0;
    lane->busy &= ~(1u << i);
}

int lg_fsk_rx_bank_init(lg_fsk_rx_bank *bank, lg_fsk_rx_lane *lanes, lg_fsk_rx_state *states, int channels)
{
    if (!bank || !lanes || !states || channels < 1)
        return LG_E_ARG;
    bank->samples = 0;
    bank->channels = channels;
    int nlanes = (channels + LG_LANE - 1) / LG_LANE;
    memset(lanes, 0, sizeof(*lanes) * (size_t)nlanes);
    for (int ln = 0; ln < nlanes; ln++)
        lanes[ln].active = lg_goertzel_lane_mask(channels, ln);
    for (int c = 0; c < channels; c++) {
        memset(&states[c], 0, sizeof(states[c]));
        restart_decoder(&states[c]);
        for (int k = 0; k < LG_FSK_RX_SLOTS; k++)
            states[c].serial[k] = -1;
    }
    return LG_OK;
}

int lg_fsk_rx_reset(lg_fsk_rx_bank *bank, lg_fsk_rx_lane *lanes, lg_fsk_rx_state *states, int channel)
{
    if (!bank || !lanes || !states || channel < 0 || channel >= bank->channels)
        return LG_E_ARG;
    clear_lane_column(&lanes[channel / LG_LANE], channel % LG_LANE);
    restart_decoder(&states[channel]);
    states[channel].reset_at = bank->samples;
    return LG_OK;
}

int lg_fsk_rx_set_active(lg_fsk_rx_bank *bank, lg_fsk_rx_lane *lanes, lg_fsk_rx_state *states, int channel,
                         int active)
{
    if (!bank || !lanes || !states)
        return LG_E_ARG;
    if (channel < 0 || channel >= bank->channels)
        return LG_E_RANGE;
    lg_fsk_rx_lane *lane = &lanes[channel / LG_LANE];
    int i = channel % LG_LANE;
    uint32_t bit = 1u << i;
    if (!active == !(lane->active & bit))
        return LG_OK;
    /* Both ways the channel starts over: off drops a message under way; on
     * must not join new samples to filter memories from before. */
    clear_lane_column(lane, i);
    restart_decoder(&states[channel]);
    if (active)
        lane->active |= bit;
    else
        lane->active &= ~bit;
    return LG_OK;
}

int lg_fsk_rx_max_events(int channels, int nsamples)
{
    /* One report per channel per LG_FSK_RX_REPORT_SPACING samples at most
     * (and a flush's one per channel). */
    return lg_event_bound(channels, nsamples, 1, LG_FSK_RX_REPORT_SPACING, 1);
}

/* ---- the filters, LG_LANE channels at a time ------------------------- */

/* One chunk of the lane: mixes, filters and discriminates `n` samples of
 * x[n][LG_LANE] (the first at mixer phase `phase`), writing per sample the
 * discriminator (im, re) and the carrier flags (FLAG_ON: heard for
 * CARRIER_HOLD samples; FLAG_OFF: under its floor); returns the channels
 * whose carrier was heard at some sample. */
#ifdef HAVE_V8F
LG_MULTIVERSION __attribute__((noinline))
static uint32_t filter_chunk(const lg_fsk_rx_desc *d, lg_fsk_rx_lane *lane, const float (*x)[LG_LANE], int n,
                             int phase, float (*d_im)[LG_LANE], float (*d_re)[LG_LANE], int32_t (*flags)[LG_LANE])
{
    /* Named vectors, not arrays: GCC keeps arrays of vectors on the stack. */
    v8f m1r = lg_load_v8f(lane->m_re[0]), m1i = lg_load_v8f(lane->m_im[0]);
    v8f m2r = lg_load_v8f(lane->m_re[1]), m2i = lg_load_v8f(lane->m_im[1]);
    v8f m3r = lg_load_v8f(lane->m_re[2]), m3i = lg_load_v8f(lane->m_im[2]);
    v8f z1r = lg_load_v8f(lane->z_re[0]), z1i = lg_load_v8f(lane->z_im[0]);
    v8f z2r = lg_load_v8f(lane->z_re[1]), z2i = lg_load_v8f(lane->z_im[1]);
    v8f z3r = lg_load_v8f(lane->z_re[2]), z3i = lg_load_v8f(lane->z_im[2]);
    v8f b = lg_load_v8f(lane->band), tot = lg_load_v8f(lane->total);
    v8i run, hit = {0};
    memcpy(&run, lane->run, sizeof(run));
    const v8f on = (v8f){0} + d->on_power, share = (v8f){0} + d->min_share, a = (v8f){0} + SMOOTHING;
    const v8f off = (v8f){0} + d->off_power, off_share = (v8f){0} + OFF_SHARE * d->min_share;
    const v8i hold = (v8i){0} + CARRIER_HOLD;
    for (int t = 0; t < n; t++) {
        const v8f cr = (v8f){0} + d->mix_re[phase], ci = (v8f){0} + d->mix_im[phase];
        phase = phase == 79 ? 0 : phase + 1;
        v8f xv = lg_load_v8f(x[t]);
        v8f mr = xv * cr, mi = xv * ci;
        v8f zr = (mr + m1r) + (m2r + m3r);
        v8f zi = (mi + m1i) + (m2i + m3i);
        lg_store_v8f(d_im[t], zi * z3r - zr * z3i);
        lg_store_v8f(d_re[t], zr * z3r + zi * z3i);
        b += a * (zr * zr + zi * zi - b);
        tot += a * (xv * xv - tot);
        /* run: samples in a row with a carrier's level and share (counting
         * up to CARRIER_HOLD). */
        run = (run - (run < hold)) & ((b >= on) & (b >= share * tot));
        v8i heard = run >= hold;
        v8i lost = (b < off) | (b < off_share * tot);
        v8i f = (heard & FLAG_ON) | (lost & FLAG_OFF);
        memcpy(flags[t], &f, sizeof(f));
        hit |= heard;
        m3r = m2r, m3i = m2i, m2r = m1r, m2i = m1i, m1r = mr, m1i = mi;
        z3r = z2r, z3i = z2i, z2r = z1r, z2i = z1i, z1r = zr, z1i = zi;
    }
    lg_store_v8f(lane->m_re[0], m1r), lg_store_v8f(lane->m_im[0], m1i);
    lg_store_v8f(lane->m_re[1], m2r), lg_store_v8f(lane->m_im[1], m2i);
    lg_store_v8f(lane->m_re[2], m3r), lg_store_v8f(lane->m_im[2], m3i);
    lg_store_v8f(lane->z_re[0], z1r), lg_store_v8f(lane->z_im[0], z1i);
    lg_store_v8f(lane->z_re[1], z2r), lg_store_v8f(lane->z_im[1], z2i);
    lg_store_v8f(lane->z_re[2], z3r), lg_store_v8f(lane->z_im[2], z3i);
    lg_store_v8f(lane->band, b);
    lg_store_v8f(lane->total, tot);
    memcpy(lane->run, &run, sizeof(run));
    uint32_t hits = 0;
    for (int i = 0; i < LG_LANE; i++)
        hits |= (hit[i] ? 1u : 0u) << i;
    return hits;
}
#else
static uint32_t filter_chunk(const lg_fsk_rx_desc *d, lg_fsk_rx_lane *lane, const float (*x)[LG_LANE], int n,
                             int phase, float (*d_im)[LG_LANE], float (*d_re)[LG_LANE], int32_t (*flags)[LG_LANE])
{
    uint32_t hits = 0;
    for (int i = 0; i < LG_LANE; i++) {
        float m1r = lane->m_re[0][i], m1i = lane->m_im[0][i], m2r = lane->m_re[1][i], m2i = lane->m_im[1][i];
        float m3r = lane->m_re[2][i], m3i = lane->m_im[2][i];
        float z1r = lane->z_re[0][i], z1i = lane->z_im[0][i], z2r = lane->z_re[1][i], z2i = lane->z_im[1][i];
        float z3r = lane->z_re[2][i], z3i = lane->z_im[2][i];
        float b = lane->band[i], tot = lane->total[i];
        int32_t run = lane->run[i];
        int ph = phase;
        for (int t = 0; t < n; t++) {
            const float cr = d->mix_re[ph], ci = d->mix_im[ph];
            ph = ph == 79 ? 0 : ph + 1;
            float xv = x[t][i];
            float mr = xv * cr, mi = xv * ci;
            float zr = (mr + m1r) + (m2r + m3r);
            float zi = (mi + m1i) + (m2i + m3i);
            d_im[t][i] = zi * z3r - zr * z3i;
            d_re[t][i] = zr * z3r + zi * z3i;
            b += SMOOTHING * (zr * zr + zi * zi - b);
            tot += SMOOTHING * (xv * xv - tot);
            run = (b >= d->on_power && b >= d->min_share * tot) ? (run < CARRIER_HOLD ? run + 1 : run) : 0;
            int heard = run >= CARRIER_HOLD;
            int lost = b < d->off_power || b < OFF_SHARE * d->min_share * tot;
            flags[t][i] = (heard ? FLAG_ON : 0) | (lost ? FLAG_OFF : 0);
            if (heard)
                hits |= 1u << i;
            m3r = m2r, m3i = m2i, m2r = m1r, m2i = m1i, m1r = mr, m1i = mi;
            z3r = z2r, z3i = z2i, z2r = z1r, z2i = z1i, z1r = zr, z1i = zi;
        }
        lane->m_re[0][i] = m1r, lane->m_im[0][i] = m1i, lane->m_re[1][i] = m2r, lane->m_im[1][i] = m2i;
        lane->m_re[2][i] = m3r, lane->m_im[2][i] = m3i;
        lane->z_re[0][i] = z1r, lane->z_im[0][i] = z1i, lane->z_re[1][i] = z2r, lane->z_im[1][i] = z2i;
        lane->z_re[2][i] = z3r, lane->z_im[2][i] = z3i;
        lane->band[i] = b;
        lane->total[i] = tot;
        lane->run[i] = run;
    }
    return hits;
}
#endif

/* ---- the decoder of one channel, sample by sample ---------------------- */

typedef struct {
    const lg_fsk_rx_desc *desc;
    lg_event_sink *sink;
    int channel;
} decoder_context;

/* The standard whose mark the signal's mean d-vector fits, or 0. */
static int mark_standard(const lg_fsk_rx_desc *d, const lg_fsk_rx_state *st)
{
    if (st->run_re == 0.0f && st->run_im == 0.0f)
        return 0;
    float phase = atan2f(st->run_im, st->run_re);
    for (int s = 0; s < 2; s++)
        if (phase >= d->mark_lo[s] && phase <= d->mark_hi[s])
            return s + 1; /* LG_FSK_RX_BELL202, LG_FSK_RX_V23 */
    return 0;
}

static void report(const decoder_context *c, lg_fsk_rx_state *st, int flags, int64_t end)
{
    int slot = st->next_serial % LG_FSK_RX_SLOTS;
    st->length[slot] = st->in_message;
    st->serial[slot] = st->next_serial;
    int reason = st->standard | (st->seized ? LG_FSK_RX_SEIZED : 0) | flags;
    float confidence = st->quality_bits > 0 ? st->quality_sum / (float)st->quality_bits : 0.0f;
    lg_emit_scored(c->sink, c->channel, LG_EVENT_CALLERID, st->next_serial, LG_EVENT_END,
                   st->carrier_start - st->reset_at, end - st->reset_at, confidence, reason);
    st->next_serial = st->next_serial == 0x7FFFFFFF ? 0 : st->next_serial + 1;
    /* A next message on the same carrier needs its own preamble, and its
     * signal begins here. */
    st->seized = 0;
    st->alternations = 0;
    st->carrier_start = end;
}

/* The message under way ends unfinished: reported when its type and length
 * came (what a caller can show or log), dropped when only its type did. */
static void abandon_message(const decoder_context *c, lg_fsk_rx_state *st)
{
    if (st->in_message >= 2)
        report(c, st, LG_FSK_RX_TRUNCATED, st->last_stop);
    st->in_message = 0;
}

static void set_window(lg_fsk_rx_state *st)
{
    double centre = st->edge + (st->bit + 0.5) * SPB;
    st->win_lo = (int64_t)ceil(centre - HALF_WINDOW);
    st->win_hi = (int64_t)floor(centre + HALF_WINDOW);
    st->acc = st->acc_abs = 0.0f;
}

/* A sign change `tc` inside a character: the bit boundary nearest to it
 * moves the character's timing half way towards it (a baud rate 1 % off
 * drifts a tenth of a bit by the stop bit, and twist delays one kind of
 * edge and advances the other, the start edge included). The window of the
 * bit being decided moves along unless it has begun. */
static void retime(lg_fsk_rx_state *st, double tc, int64_t now)
{
    double k = floor((tc - st->edge) / SPB + 0.5);
    if (k < 1.0 || k > 9.0)
        return;
    double error = tc - (st->edge + k * SPB);
    if (fabs(error) > RETIME_LIMIT * SPB)
        return;
    st->edge += RETIME_GAIN * error;
    if (now < st->win_lo)
        set_window(st);
}

static void start_character(lg_fsk_rx_state *st, double edge)
{
    st->mode = MODE_BYTE;
    st->next_edge = 0.0;
    st->edge = edge;
    st->bit = 0;
    st->byte = 0;
    set_window(st);
}

static void character_done(const decoder_context *c, lg_fsk_rx_state *st, int stop_ok, int64_t now)
{
    st->mode = MODE_HUNT;
    st->last_stop = now;
    if (st->in_message == 0) {
        /* Not a message after all (a mark signal, then something else). */
        if (!stop_ok || !known_type(st->byte))
            return;
    }
    int slot = st->next_serial % LG_FSK_RX_SLOTS;
    if (st->in_message == 0)
        st->serial[slot] = -1; /* the oldest message held gives way to this one */
    uint8_t *msg = st->slot[slot];
    msg[st->in_message++] = (uint8_t)st->byte;
    if (st->in_message >= 2 && st->in_message == msg[1] + 3) {
        unsigned sum = 0;
        for (int k = 0; k < st->in_message; k++)
            sum += msg[k];
        report(c, st, (sum & 0xFFu) ? LG_FSK_RX_CHECKSUM_FAILED : 0, now);
        st->in_message = 0;
    }
}

/* The bit whose window ends at `now`. */
static void decide_bit(const decoder_context *c, lg_fsk_rx_state *st, int64_t now)
{
    int mark = st->acc < 0.0f;
    if (st->bit == 0 && mark) {
        /* A space glitch, not a start bit. */
        st->mode = MODE_HUNT;
        return;
    }
    st->quality_sum += st->acc_abs > 0.0f ? fabsf(st->acc) / st->acc_abs : 0.0f;
    st->quality_bits++;
    if (st->bit >= 1 && st->bit <= 8)
        st->byte |= (uint32_t)mark << (st->bit - 1);
    if (st->bit == 9) {
        double next_edge = st->next_edge;
        st->next_edge = 0.0;
        character_done(c, st, mark, now);
        if (next_edge > 0.0 && st->in_message > 0)
            start_character(st, next_edge);
        return;
    }
    st->bit++;
    set_window(st);
}

static void carrier_lost(const decoder_context *c, lg_fsk_rx_state *st)
{
    abandon_message(c, st);
    int64_t reset_at = st->reset_at;
    restart_decoder(st);
    st->reset_at = reset_at;
}

/* The sign of d changed at sample `g` (to `cur`: 1 space, -1 mark). */
__attribute__((noinline))
static void sign_change(const decoder_context *c, lg_fsk_rx_state *st, float dv, int cur, int64_t g)
{
    const lg_fsk_rx_desc *d = c->desc;
    int64_t run = g - st->last_cross;
    /* The crossing falls between g - 1 and g. */
    double tc = (double)(g - 1) + st->prev_d / (st->prev_d - dv);
    if (st->mode == MODE_BYTE && st->bit >= 1)
        retime(st, tc, g);
    if (cur > 0 && st->mode == MODE_BYTE && st->bit == 9) {
        /* Characters may follow each other without a pause: the next start
         * edge can come before the stop bit's window closes. An edge after
         * the stop bit's centre is where a UART looks. */
        if (tc >= st->edge + 9.5 * SPB - 1.0)
            st->next_edge = tc;
    }
    if (cur > 0 && st->mode == MODE_HUNT) {
        /* Mark to space: a start edge, when a message is under way or the
         * mark signal before it was long enough and at a mark frequency. */
        int start = st->in_message > 0;
        if (!start && run >= d->min_mark_samples) {
            st->standard = mark_standard(d, st);
            if (st->standard) {
                start = 1;
                st->quality_sum = 0.0f;
                st->quality_bits = 0;
            }
        }
        if (start)
            start_character(st, tc);
    }
    if (st->in_message == 0 && st->mode == MODE_HUNT) {
        if (fabs((double)run - SPB) <= SEIZURE_TOLERANCE * SPB) {
            if (++st->alternations >= SEIZURE_RUNS)
                st->seized = 1;
        } else {
            st->alternations = 0;
        }
    }
    st->last_cross = g;
    st->run_re = st->run_im = 0.0f;
}

/* One sample of one channel with a carrier: bank sample `g`, discriminator
 * (dv, rv). Written without branches on the signal where it can be: in a
 * channel seizure the sign changes every 6 or 7 samples. */
static inline void decode_sample(const decoder_context *c, lg_fsk_rx_state *restrict st, float dv, float rv,
                                 int64_t g)
{
    int prev = st->sign;
    int cur = (dv > 0.0f) - (dv < 0.0f);
    cur = cur ? cur : prev;
    if (cur != prev && prev != 0)
        sign_change(c, st, dv, cur, g);
    st->sign = cur;
    /* The mark signal's mean d-vector, away from the sign changes. */
    float keep = (float)((cur < 0) & (g - st->last_cross >= SETTLE));
    st->run_re += keep * rv;
    st->run_im += keep * dv;
    st->prev_d = dv != 0.0f ? dv : st->prev_d;
    if (st->mode == MODE_BYTE) {
        if (g >= st->win_lo) {
            st->acc += dv;
            st->acc_abs += fabsf(dv);
            if (g >= st->win_hi)
                decide_bit(c, st, g);
        }
    } else if (st->in_message > 0 && g - st->last_stop > c->desc->max_gap_samples) {
        /* A message whose next character does not come. */
        abandon_message(c, st);
    }
}

/* `n` samples of one channel, from bank sample `g0`. */
static void decode_chunk(const decoder_context *c, lg_fsk_rx_state *restrict st, int i, int n, int64_t g0,
                         const float (*restrict d_im)[LG_LANE], const float (*restrict d_re)[LG_LANE],
                         const int32_t (*restrict flags)[LG_LANE])
{
    for (int t = 0; t < n; t++) {
        int64_t g = g0 + t;
        int32_t f = flags[t][i];
        if (!st->carrier) {
            if (f & FLAG_ON) {
                st->carrier = 1;
                st->quiet = 0;
                st->mode = MODE_HUNT;
                st->carrier_start = g - CARRIER_HOLD;
                st->last_cross = st->carrier_start; /* a mark signal may have begun with the carrier */
                st->prev_d = 0.0f;
                st->sign = 0;
            }
            continue;
        }
        decode_sample(c, st, d_im[t][i], d_re[t][i], g);
        if (f & FLAG_OFF) {
            if (++st->quiet >= QUIET_SAMPLES)
                carrier_lost(c, st);
        } else {
            st->quiet = 0;
        }
    }
}

int lg_fsk_rx_feed(const lg_fsk_rx_desc *d, lg_fsk_rx_bank *bank, lg_fsk_rx_lane *lanes, lg_fsk_rx_state *states,
                   const void *samples, int encoding, int stride, int nsamples, lg_event *events, int max_events)
{
    if (!d || !bank || !lanes || !states || !events || lg_goertzel_check_feed(samples, encoding, stride, nsamples))
        return LG_E_ARG;
    if (nsamples > LG_FSK_RX_MAX_FEED)
        return LG_E_RANGE;
    int bound = lg_fsk_rx_max_events(bank->channels, nsamples);
    if (bound < 0)
        return bound;
    if (max_events < bound)
        return LG_E_SPACE;
    lg_event_sink sink = {events, 0};
    float x[CHUNK][LG_LANE] __attribute__((aligned(32)));
    float d_im[CHUNK][LG_LANE] __attribute__((aligned(32))), d_re[CHUNK][LG_LANE] __attribute__((aligned(32)));
    int32_t flags[CHUNK][LG_LANE] __attribute__((aligned(32)));
    int nlanes = (bank->channels + LG_LANE - 1) / LG_LANE;
    for (int ln = 0; ln < nlanes; ln++) {
        lg_fsk_rx_lane *lane = &lanes[ln];
        if (!lane->active)
            continue; /* the channels' clocks are the bank's: nothing to keep */
        int first = ln * LG_LANE;
        int nvalid = bank->channels - first < LG_LANE ? bank->channels - first : LG_LANE;
        for (int at = 0; at < nsamples; at += CHUNK) {
            int n = nsamples - at < CHUNK ? nsamples - at : CHUNK;
            int64_t g0 = bank->samples + at;
            lg_goertzel_gather(samples, encoding, stride, first, nvalid, at, n, x);
            uint32_t hits = filter_chunk(d, lane, (const float (*)[LG_LANE])x, n, (int)(g0 % 80), d_im, d_re,
                                         flags);
            uint32_t todo = (hits | lane->busy) & lane->active;
            for (int i = 0; todo; i++, todo >>= 1) {
                if (!(todo & 1u))
                    continue;
                lg_fsk_rx_state *st = &states[first + i];
                decoder_context c = {d, &sink, first + i};
                decode_chunk(&c, st, i, n, g0, (const float (*)[LG_LANE])d_im, (const float (*)[LG_LANE])d_re,
                             (const int32_t (*)[LG_LANE])flags);
                if (st->carrier || st->in_message)
                    lane->busy |= 1u << i;
                else
                    lane->busy &= ~(1u << i);
            }
        }
    }
    bank->samples += nsamples;
    return sink.count;
}

int lg_fsk_rx_flush(const lg_fsk_rx_desc *d, lg_fsk_rx_bank *bank, lg_fsk_rx_lane *lanes, lg_fsk_rx_state *states,
                    lg_event *events, int max_events)
{
    if (!d || !bank || !lanes || !states || !events)
        return LG_E_ARG;
    if (max_events < bank->channels)
        return LG_E_SPACE;
    lg_event_sink sink = {events, 0};
    for (int ch = 0; ch < bank->channels; ch++) {
        decoder_context c = {d, &sink, ch};
        carrier_lost(&c, &states[ch]);
    }
    for (int ln = 0; ln < (bank->channels + LG_LANE - 1) / LG_LANE; ln++)
        lanes[ln].busy = 0;
    return sink.count;
}

int lg_fsk_rx_message(const lg_fsk_rx_bank *bank, const lg_fsk_rx_state *states, int channel, int serial,
                      uint8_t *out, int max_len)
{
    if (!bank || !states || (!out && max_len > 0))
        return LG_E_ARG;
    if (channel < 0 || channel >= bank->channels || serial < 0)
        return LG_E_RANGE;
    const lg_fsk_rx_state *st = &states[channel];
    int slot = serial % LG_FSK_RX_SLOTS;
    if (st->serial[slot] != serial)
        return LG_E_RANGE;
    int len = st->length[slot];
    if (max_len < len)
        return LG_E_SPACE;
    memcpy(out, st->slot[slot], (size_t)len);
    return len;
}
