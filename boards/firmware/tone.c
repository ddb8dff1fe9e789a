#include <string.h>

#include "tone.h"

/* ---- G.711 ---- */
static int segment(int v, const int *end)
{
    for (int i = 0; i < 8; i++)
        if (v <= end[i])
            return i;
    return 8;
}

static const int alaw_end[8] = {0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF};
static const int ulaw_end[8] = {0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF};

/* x: 16-bit linear (clamped). Division instead of >> keeps negative values portable. */
uint8_t lg_g711_encode(unsigned law, int x)
{
    int mask, seg;
    if (x > 32767) x = 32767;
    if (x < -32768) x = -32768;
    if (law == LG_LAW_ALAW) {
        int v = x >= 0 ? x / 8 : -((-x + 7) / 8);      /* floor(x / 8): 13-bit */
        if (v >= 0) {
            mask = 0xD5;
        } else {
            mask = 0x55;
            v = -v - 1;
        }
        seg = segment(v, alaw_end);
        if (seg >= 8)
            return (uint8_t)(0x7F ^ mask);
        int a = seg << 4;
        a |= seg < 2 ? (v >> 1) & 0xF : (v >> seg) & 0xF;
        return (uint8_t)(a ^ mask);
    }
    int v = x >= 0 ? x / 4 : -((-x + 3) / 4);          /* floor(x / 4): 14-bit */
    if (v < 0) {
        v = -v;
        mask = 0x7F;
    } else {
        mask = 0xFF;
    }
    if (v > 8159)
        v = 8159;
    v += 0x84 >> 2;
    seg = segment(v, ulaw_end);
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    return (uint8_t)(((seg << 4) | ((v >> (seg + 1)) & 0xF)) ^ mask);
}

int lg_g711_decode(unsigned law, uint8_t c)
{
    if (law == LG_LAW_ALAW) {
        c ^= 0x55;
        int t = (c & 0xF) << 4, seg = (c & 0x70) >> 4;
        if (seg == 0)
            t += 8;
        else
            t = (t + 0x108) << (seg - 1);
        return (c & 0x80) ? t : -t;
    }
    c = (uint8_t)~c;
    int t = (((c & 0xF) << 3) + 0x84) << ((c & 0x70) >> 4);
    return (c & 0x80) ? 0x84 - t : t - 0x84;
}

int32_t lg_gain_q12(int tenth_db)
{
    /* 10^(0.1/20) and its inverse, applied |tenth_db| times: at most a few hundred multiplies per command. */
    float g = 1.0f, step = tenth_db > 0 ? 1.0115794543f : 0.9885530947f;
    for (int i = tenth_db > 0 ? tenth_db : -tenth_db; i > 0; i--)
        g *= step;
    return (int32_t)(g * 4096.0f + 0.5f);
}

/* ---- tone generator ---- */
/* sin(2 pi i / 256) in Q15, one extra entry for interpolation. */
static const int16_t sine[257] = {
    0, 804, 1608, 2410, 3212, 4011, 4808, 5602, 6393, 7179, 7962, 8739,
    9512, 10278, 11039, 11793, 12539, 13279, 14010, 14732, 15446, 16151, 16846, 17530,
    18204, 18868, 19519, 20159, 20787, 21403, 22005, 22594, 23170, 23731, 24279, 24811,
    25329, 25832, 26319, 26790, 27245, 27683, 28105, 28510, 28898, 29268, 29621, 29956,
    30273, 30571, 30852, 31113, 31356, 31580, 31785, 31971, 32137, 32285, 32412, 32521,
    32609, 32678, 32728, 32757, 32767, 32757, 32728, 32678, 32609, 32521, 32412, 32285,
    32137, 31971, 31785, 31580, 31356, 31113, 30852, 30571, 30273, 29956, 29621, 29268,
    28898, 28510, 28105, 27683, 27245, 26790, 26319, 25832, 25329, 24811, 24279, 23731,
    23170, 22594, 22005, 21403, 20787, 20159, 19519, 18868, 18204, 17530, 16846, 16151,
    15446, 14732, 14010, 13279, 12539, 11793, 11039, 10278, 9512, 8739, 7962, 7179,
    6393, 5602, 4808, 4011, 3212, 2410, 1608, 804, 0, -804, -1608, -2410,
    -3212, -4011, -4808, -5602, -6393, -7179, -7962, -8739, -9512, -10278, -11039, -11793,
    -12539, -13279, -14010, -14732, -15446, -16151, -16846, -17530, -18204, -18868, -19519, -20159,
    -20787, -21403, -22005, -22594, -23170, -23731, -24279, -24811, -25329, -25832, -26319, -26790,
    -27245, -27683, -28105, -28510, -28898, -29268, -29621, -29956, -30273, -30571, -30852, -31113,
    -31356, -31580, -31785, -31971, -32137, -32285, -32412, -32521, -32609, -32678, -32728, -32757,
    -32767, -32757, -32728, -32678, -32609, -32521, -32412, -32285, -32137, -31971, -31785, -31580,
    -31356, -31113, -30852, -30571, -30273, -29956, -29621, -29268, -28898, -28510, -28105, -27683,
    -27245, -26790, -26319, -25832, -25329, -24811, -24279, -23731, -23170, -22594, -22005, -21403,
    -20787, -20159, -19519, -18868, -18204, -17530, -16846, -16151, -15446, -14732, -14010, -13279,
    -12539, -11793, -11039, -10278, -9512, -8739, -7962, -7179, -6393, -5602, -4808, -4011,
    -3212, -2410, -1608, -804, 0,
};

/* The peak of a 0 dBm0 sine: G.711's full scale (32767 here) is +3.14 dBm0. */
#define PEAK_0DBM0 22936

int lg_tone_start(struct lg_tone *t, unsigned f1, unsigned f2, int level, unsigned on_ms, unsigned off_ms,
                  unsigned repeat, const char **why)
{
    if (f1 == 0) {
        t->active = 0;
        return LG_OK;
    }
    if (f1 > LG_TONE_MAX_FREQ)
        return *why = "TONE.freq1: above 3999 Hz (8 kHz sampling)", LG_E_ARG;
    if (f2 > LG_TONE_MAX_FREQ)
        return *why = "TONE.freq2: above 3999 Hz (8 kHz sampling)", LG_E_ARG;
    if (level < LG_TONE_MIN_LEVEL || level > LG_TONE_MAX_LEVEL)
        return *why = "TONE.level: outside -600..30 (0.1 dBm0)", LG_E_ARG;
    if (off_ms && !on_ms)
        return *why = "TONE.on_ms: 0 with an off phase (a cadence needs an on phase)", LG_E_ARG;
    memset(t, 0, sizeof *t);
    unsigned f[2] = {f1, f2};
    int32_t amp = (int32_t)(((int64_t)PEAK_0DBM0 * lg_gain_q12(level) + 2048) >> 12);
    for (int i = 0; i < 2; i++) {
        t->step[i] = (uint32_t)(((uint64_t)f[i] << 32) / 8000u);
        t->amp[i] = f[i] ? amp : 0;
    }
    /* off_ms 0: continuous (PROTOCOL.md), whatever on_ms and repeat say. */
    t->period = off_ms ? (on_ms + off_ms) * 8u : 0;
    t->on = on_ms * 8u;
    t->repeat = off_ms ? (uint16_t)repeat : 0;
    t->active = 1;
    return LG_OK;
}

static int32_t osc(uint32_t phase, int32_t amp)
{
    uint32_t i = phase >> 24, frac = (phase >> 8) & 0xFFFF;
    int32_t s = sine[i] + (int32_t)(((int64_t)(sine[i + 1] - sine[i]) * frac) >> 16);
    return (int32_t)(((int64_t)s * amp) >> 15);
}

void lg_tone_block(struct lg_tone *t, unsigned law, uint8_t out[LG_BLOCK])
{
    for (unsigned n = 0; n < LG_BLOCK; n++) {
        int32_t x = 0;
        if (t->active && (!t->period || t->t < t->on)) {
            x = osc(t->phase[0], t->amp[0]) + osc(t->phase[1], t->amp[1]);
            t->phase[0] += t->step[0];
            t->phase[1] += t->step[1];
        }
        out[n] = lg_g711_encode(law, x);
        if (t->active && t->period && ++t->t >= t->period) {
            t->t = 0;
            t->phase[0] = t->phase[1] = 0;      /* each burst starts at phase 0: no click from a random phase */
            if (t->repeat && ++t->done >= t->repeat)
                t->active = 0;
        }
    }
}
