/* G.711 by bit manipulation (the classic Sun/spandsp formulation); the tests
 * check it against the recommendation's segment tables, written separately. */
#include "g711.h"

#define ULAW_BIAS 0x84 /* 33 in 14-bit units, scaled to 16 bits */
#define ULAW_CLIP 32635

static int top_bit(unsigned int v)
{
    int i = -1;
    while (v) {
        v >>= 1;
        i++;
    }
    return i;
}

uint8_t lg_g711_ulaw_encode(int16_t linear)
{
    int mask, x = linear;
    /* Negative values are one's complemented (-x - 1), as in G.191. */
    if (x < 0) {
        x = -x - 1;
        mask = 0x7F;
    } else {
        mask = 0xFF;
    }
    if (x > ULAW_CLIP)
        x = ULAW_CLIP;
    x += ULAW_BIAS;
    int seg = top_bit((unsigned int)x | 0xFF) - 7;
    uint8_t code = (uint8_t)((seg << 4) | ((x >> (seg + 3)) & 0x0F));
    return (uint8_t)(code ^ mask);
}

int16_t lg_g711_ulaw_decode(uint8_t code)
{
    code = (uint8_t)~code;
    int t = (((code & 0x0F) << 3) + ULAW_BIAS) << ((code & 0x70) >> 4);
    return (int16_t)((code & 0x80) ? (ULAW_BIAS - t) : (t - ULAW_BIAS));
}

uint8_t lg_g711_alaw_encode(int16_t linear)
{
    int mask, x = linear;
    if (x >= 0) {
        mask = 0x55 | 0x80;
    } else {
        mask = 0x55;
        x = -x - 1;
    }
    int seg = top_bit((unsigned int)x | 0xFF) - 7;
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    uint8_t code = (uint8_t)((seg << 4) | ((x >> ((seg) ? (seg + 3) : 4)) & 0x0F));
    return (uint8_t)(code ^ mask);
}

int16_t lg_g711_alaw_decode(uint8_t code)
{
    code ^= 0x55;
    int i = (code & 0x0F) << 4;
    int seg = (code & 0x70) >> 4;
    if (seg)
        i = (i + 0x108) << (seg - 1);
    else
        i += 8;
    return (int16_t)((code & 0x80) ? i : -i);
}

/* Decode tables as constant expressions of the code, for the hot paths. */
#define ULAW_NOT(c) ((~(c)) & 0xFF)
#define ULAW_T(c) ((((ULAW_NOT(c) & 0x0F) << 3) + ULAW_BIAS) << ((ULAW_NOT(c) & 0x70) >> 4))
#define ULAW_DEC(c) ((ULAW_NOT(c) & 0x80) ? (ULAW_BIAS - ULAW_T(c)) : (ULAW_T(c) - ULAW_BIAS))
#define ALAW_X(c) ((c) ^ 0x55)
#define ALAW_SEG(c) ((ALAW_X(c) & 0x70) >> 4)
#define ALAW_MAG(c) (ALAW_SEG(c) ? ((((ALAW_X(c) & 0x0F) << 4) + 0x108) << (ALAW_SEG(c) - 1)) \
                                 : (((ALAW_X(c) & 0x0F) << 4) + 8))
#define ALAW_DEC(c) ((ALAW_X(c) & 0x80) ? ALAW_MAG(c) : -ALAW_MAG(c))
#define R4(F, b) F(b), F(b + 1), F(b + 2), F(b + 3)
#define R16(F, b) R4(F, b), R4(F, b + 4), R4(F, b + 8), R4(F, b + 12)
#define R64(F, b) R16(F, b), R16(F, b + 16), R16(F, b + 32), R16(F, b + 48)
#define R256(F) R64(F, 0), R64(F, 64), R64(F, 128), R64(F, 192)

const int16_t lg_g711_ulaw_table[256] = {R256(ULAW_DEC)};
const int16_t lg_g711_alaw_table[256] = {R256(ALAW_DEC)};

int lg_g711_encode(int law, const int16_t *linear, uint8_t *codes, int n)
{
    if (n < 0 || (n > 0 && (!linear || !codes)))
        return LG_E_ARG;
    if (law == LG_ENC_ULAW) {
        for (int i = 0; i < n; i++)
            codes[i] = lg_g711_ulaw_encode(linear[i]);
    } else if (law == LG_ENC_ALAW) {
        for (int i = 0; i < n; i++)
            codes[i] = lg_g711_alaw_encode(linear[i]);
    } else {
        return LG_E_ARG;
    }
    return n;
}

int lg_g711_decode(int law, const uint8_t *codes, int16_t *linear, int n)
{
    if (n < 0 || (n > 0 && (!linear || !codes)))
        return LG_E_ARG;
    if (law == LG_ENC_ULAW) {
        for (int i = 0; i < n; i++)
            linear[i] = lg_g711_ulaw_table[codes[i]];
    } else if (law == LG_ENC_ALAW) {
        for (int i = 0; i < n; i++)
            linear[i] = lg_g711_alaw_table[codes[i]];
    } else {
        return LG_E_ARG;
    }
    return n;
}
