/* DTMF generator (see dtmf_gen.h): one tone descriptor per key, built when
 * the key starts, holding the row + column burst and the pause after it. */
#include "dtmf_gen.h"

/* Build the tone of one key: on_ms of its row (low group) and column (high
 * group) frequencies, then off_ms of silence, played once. The tone
 * generator validates the levels and timings. */
static int key_tone(lg_tone_desc *tone, int key_index, int on_ms, int off_ms, float low_dbm0,
                    float high_dbm0)
{
    const lg_tone_segment segments[2] = {
        {.freq_hz = {lg_dtmf_row_hz[key_index / 4], lg_dtmf_col_hz[key_index % 4]},
         .level_dbm0 = {low_dbm0, high_dbm0},
         .duration_ms = on_ms},
        {.duration_ms = off_ms}, /* no frequency: silence */
    };
    /* off_ms == 0 would mean "silence for ever": leave the pause out instead. */
    return lg_tone_desc_init(tone, segments, off_ms > 0 ? 2 : 1, 1);
}

/* low + twist in float can land one rounding step past a limit that the
 * decimal sum meets exactly (-10.86f + 14.0f = 3.1400003f > 3.14f); a level
 * that far past a limit is taken as the limit. */
#define LEVEL_ROUNDING_SLACK_DB 1e-4f

static float snap_to_level_limits(float dbm0)
{
    if (dbm0 > lg_tone_max_level_dbm0 && dbm0 <= lg_tone_max_level_dbm0 + LEVEL_ROUNDING_SLACK_DB)
        return lg_tone_max_level_dbm0;
    if (dbm0 < lg_tone_min_level_dbm0 && dbm0 >= lg_tone_min_level_dbm0 - LEVEL_ROUNDING_SLACK_DB)
        return lg_tone_min_level_dbm0;
    return dbm0;
}

int lg_dtmf_gen_init(lg_dtmf_gen_state *s, const char *digits, int on_ms, int off_ms,
                     float low_dbm0, float twist_db)
{
    if (!s || !digits)
        return LG_E_ARG;
    int ndigits = 0;
    while (digits[ndigits] != '\0') {
        if (ndigits == LG_DTMF_GEN_MAX_DIGITS)
            return LG_E_RANGE;
        if (lg_dtmf_key_index((unsigned char)digits[ndigits]) < 0)
            return LG_E_ARG;
        ndigits++;
    }
    /* on_ms == 0 would be a for-ever tone to the tone generator. */
    if (on_ms <= 0 || off_ms < 0)
        return LG_E_RANGE;
    const float high_dbm0 = snap_to_level_limits(low_dbm0 + twist_db);
    /* Building the first key's tone checks levels and timings once, up front,
     * so that generate never meets an error half way through the string. */
    int rv = key_tone(&s->tone, 0, on_ms, off_ms, low_dbm0, high_dbm0);
    if (rv < 0)
        return rv;
    for (int i = 0; i < ndigits; i++)
        s->digits[i] = digits[i];
    s->ndigits = ndigits;
    s->next_digit = 0;
    s->on_ms = on_ms;
    s->off_ms = off_ms;
    s->low_dbm0 = low_dbm0;
    s->high_dbm0 = high_dbm0;
    s->active = 0;
    return LG_OK;
}

int lg_dtmf_gen_generate(lg_dtmf_gen_state *s, int16_t *out, int n)
{
    if (!s || n < 0 || (n > 0 && !out))
        return LG_E_ARG;
    if (s->ndigits < 0 || s->ndigits > LG_DTMF_GEN_MAX_DIGITS || s->next_digit < 0 ||
        s->next_digit > s->ndigits)
        return LG_E_ARG; /* not a state lg_dtmf_gen_init made */
    int written = 0;
    while (written < n) {
        if (!s->active) {
            if (s->next_digit == s->ndigits)
                break; /* the string is done */
            const int key = lg_dtmf_key_index((unsigned char)s->digits[s->next_digit]);
            if (key < 0)
                return LG_E_ARG;
            int rv = key_tone(&s->tone, key, s->on_ms, s->off_ms, s->low_dbm0, s->high_dbm0);
            if (rv < 0)
                return rv;
            lg_tone_init(&s->state);
            s->next_digit++;
            s->active = 1;
        }
        int got = lg_tone_generate(&s->tone, &s->state, out + written, n - written);
        if (got < 0)
            return got;
        written += got;
        /* The tone generator stops short only when the key's tone is over. */
        if (written < n)
            s->active = 0;
    }
    return written;
}
