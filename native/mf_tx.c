/* MF sender (see mf_tx.h): one tone descriptor per signal, built when the
 * signal starts. */
#include "mf_tx.h"

#define MODE_IDLE 0
#define MODE_HELD 1
#define MODE_STRING 2

/* The tone of `signal`: its two frequencies for on_ms (0: for ever), then
 * off_ms of silence when on_ms is finite and off_ms > 0. */
static int signal_tone(const lg_mf_tx_state *s, lg_tone_desc *tone, int signal, int on_ms, int off_ms)
{
    const float *hz = &lg_mf_hz[s->kind * LG_MF_TONES];
    float f1 = hz[lg_mf_pair[2 * (signal - 1)]], f2 = hz[lg_mf_pair[2 * (signal - 1) + 1]];
    float low = f1 < f2 ? f1 : f2, high = f1 < f2 ? f2 : f1;
    const lg_tone_segment segments[2] = {
        {.freq_hz = {low, high}, .level_dbm0 = {s->level_dbm0, s->level_dbm0 + s->twist_db}, .duration_ms = on_ms},
        {.duration_ms = off_ms},
    };
    return lg_tone_desc_init(tone, segments, on_ms > 0 && off_ms > 0 ? 2 : 1, 1);
}

int lg_mf_tx_init(lg_mf_tx_state *s, int kind, float level_dbm0, float twist_db)
{
    if (!s || kind < 0 || kind >= LG_MF_KINDS)
        return LG_E_ARG;
    s->kind = kind;
    s->level_dbm0 = level_dbm0;
    s->twist_db = twist_db;
    /* A trial tone checks both levels once, so that no later call meets an
     * error half way. */
    lg_tone_desc trial;
    int rv = signal_tone(s, &trial, 1, 0, 0);
    if (rv < 0)
        return rv;
    s->mode = MODE_IDLE;
    s->nsignals = s->next = 0;
    s->playing = 0;
    return LG_OK;
}

static int valid_state(const lg_mf_tx_state *s)
{
    return s->kind >= 0 && s->kind < LG_MF_KINDS && s->nsignals >= 0 && s->nsignals <= LG_MF_TX_MAX_SIGNALS &&
           s->next >= 0 && s->next <= s->nsignals;
}

int lg_mf_tx_set_signal(lg_mf_tx_state *s, int signal)
{
    if (!s || !valid_state(s))
        return LG_E_ARG;
    if (signal < 0 || signal > LG_MF_SIGNALS)
        return LG_E_RANGE;
    if (signal == 0) {
        s->mode = MODE_IDLE;
        return LG_OK;
    }
    int rv = signal_tone(s, &s->tone, signal, 0, 0);
    if (rv < 0)
        return rv;
    lg_tone_init(&s->state);
    s->mode = MODE_HELD;
    return LG_OK;
}

int lg_mf_tx_send(lg_mf_tx_state *s, const uint8_t *signals, int n, int on_ms, int kp_on_ms, int off_ms)
{
    if (!s || !signals || !valid_state(s))
        return LG_E_ARG;
    if (n < 1 || n > LG_MF_TX_MAX_SIGNALS || on_ms < 1 || kp_on_ms < 1 || off_ms < 0)
        return LG_E_RANGE;
    for (int k = 0; k < n; k++)
        if (signals[k] < 1 || signals[k] > LG_MF_SIGNALS)
            return LG_E_RANGE;
    for (int k = 0; k < n; k++)
        s->signals[k] = signals[k];
    s->nsignals = n;
    s->next = 0;
    s->on_ms = on_ms;
    s->kp_on_ms = kp_on_ms;
    s->off_ms = off_ms;
    s->playing = 0;
    s->mode = MODE_STRING;
    return LG_OK;
}

int lg_mf_tx_generate(lg_mf_tx_state *s, int16_t *out, int n)
{
    if (!s || n < 0 || (n > 0 && !out) || !valid_state(s))
        return LG_E_ARG;
    if (s->mode == MODE_HELD)
        return lg_tone_generate(&s->tone, &s->state, out, n);
    if (s->mode != MODE_STRING)
        return 0;
    int written = 0;
    while (written < n) {
        if (!s->playing) {
            if (s->next == s->nsignals) {
                s->mode = MODE_IDLE;
                break;
            }
            int signal = s->signals[s->next++];
            int on = s->kind == LG_MF_R1 && signal == LG_MF_R1_KP ? s->kp_on_ms : s->on_ms;
            int rv = signal_tone(s, &s->tone, signal, on, s->off_ms);
            if (rv < 0)
                return rv;
            lg_tone_init(&s->state);
            s->playing = 1;
        }
        int got = lg_tone_generate(&s->tone, &s->state, out + written, n - written);
        if (got < 0)
            return got;
        written += got;
        /* The tone generator stops short only when the signal's tone is over. */
        if (written < n)
            s->playing = 0;
    }
    return written;
}
