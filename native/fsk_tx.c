/* Caller ID FSK generator; see fsk_tx.h. */
#include "fsk_tx.h"
#include "tone_gen.h"

#include <math.h>
#include <string.h>

/* 1200 baud at 8000 Hz: 3 bits every 20 samples. */
#define BAUD_STEP 3
#define BAUD_PERIOD 20

static const double TWO_PI = 6.28318530717958647692;
/* Space, mark (GR-30 for Bell 202; ITU-T V.23 mode 2). */
static const double TONE_HZ[2][2] = {{2200.0, 1200.0}, {2100.0, 1300.0}};

static int level_ok(float dbm0)
{
    return dbm0 >= lg_tone_min_level_dbm0 && dbm0 <= lg_tone_max_level_dbm0;
}

int lg_fsk_tx_init(lg_fsk_tx_state *s, int standard, float level_dbm0, float twist_db, int seizure_bits,
                   int mark_bits, const uint8_t *message, int length)
{
    if (!s || !message || (standard != LG_FSK_TX_BELL202 && standard != LG_FSK_TX_V23))
        return LG_E_ARG;
    if (!(twist_db >= -20.0f && twist_db <= 20.0f) || !level_ok(level_dbm0) || !level_ok(level_dbm0 - twist_db))
        return LG_E_RANGE;
    if (seizure_bits < 0 || seizure_bits > LG_FSK_TX_MAX_PREAMBLE_BITS || mark_bits < 0 ||
        mark_bits > LG_FSK_TX_MAX_PREAMBLE_BITS || length < 1 || length > LG_FSK_TX_MAX_MESSAGE)
        return LG_E_RANGE;
    memset(s, 0, sizeof(*s));
    memcpy(s->message, message, (size_t)length);
    s->length = length;
    s->seizure_bits = seizure_bits;
    s->mark_bits = mark_bits;
    s->total_bits = seizure_bits + mark_bits + 10 * length + LG_FSK_TX_TAIL_BITS;
    for (int b = 0; b < 2; b++) {
        s->step[b] = (uint32_t)llround(TONE_HZ[standard - 1][b] / LG_SAMPLE_RATE * 4294967296.0);
        s->amp[b] = lg_dbm0_to_peak(b ? level_dbm0 : level_dbm0 - twist_db);
    }
    return LG_OK;
}

int lg_fsk_tx_samples(const lg_fsk_tx_state *s)
{
    if (!s)
        return LG_E_ARG;
    /* Bit k begins at sample ceil(20 k / 3). */
    return (s->total_bits * BAUD_PERIOD + BAUD_STEP - 1) / BAUD_STEP;
}

/* The value of bit `k` of the signal. */
static int bit_value(const lg_fsk_tx_state *s, int k)
{
    if (k < s->seizure_bits)
        return k & 1;
    k -= s->seizure_bits;
    if (k < s->mark_bits)
        return 1;
    k -= s->mark_bits;
    if (k >= 10 * s->length)
        return 1; /* the tail */
    int pos = k % 10;
    if (pos == 0)
        return 0; /* start bit */
    if (pos == 9)
        return 1; /* stop bit */
    return (s->message[k / 10] >> (pos - 1)) & 1;
}

int lg_fsk_tx_generate(lg_fsk_tx_state *s, int16_t *out, int n)
{
    if (!s || n < 0 || (n > 0 && !out))
        return LG_E_ARG;
    int written = 0;
    while (written < n && s->bit < s->total_bits) {
        int b = bit_value(s, s->bit);
        double v = s->amp[b] * sin(TWO_PI * (double)s->phase / 4294967296.0);
        long q = lrint(v);
        out[written++] = (int16_t)(q > 32767 ? 32767 : (q < -32768 ? -32768 : q));
        s->phase += s->step[b];
        s->baud_phase += BAUD_STEP;
        if (s->baud_phase >= BAUD_PERIOD) {
            s->baud_phase -= BAUD_PERIOD;
            s->bit++;
        }
    }
    return written;
}
