/* Batched Goertzel kernel; see goertzel.h. */
#include "goertzel.h"
#include "g711.h"
#include "lg_simd.h"

#include <string.h>

#ifdef HAVE_V8F
/* Four Goertzel filters over n samples; unrolled by two so that the two
 * state vectors swap roles instead of being copied. Named variables, not
 * arrays: GCC keeps arrays of vectors on the stack. */
static inline __attribute__((always_inline)) void goertzel_quad(const float *coef, float (*s1p)[LG_LANE],
                                                                float (*s2p)[LG_LANE],
                                                                const float (*x)[LG_LANE], int n)
{
    v8f a1, a2, b1, b2, c1, c2, d1, d2;
    memcpy(&a1, s1p[0], sizeof(v8f));
    memcpy(&b1, s1p[1], sizeof(v8f));
    memcpy(&c1, s1p[2], sizeof(v8f));
    memcpy(&d1, s1p[3], sizeof(v8f));
    memcpy(&a2, s2p[0], sizeof(v8f));
    memcpy(&b2, s2p[1], sizeof(v8f));
    memcpy(&c2, s2p[2], sizeof(v8f));
    memcpy(&d2, s2p[3], sizeof(v8f));
    const v8f ka = (v8f){0} + coef[0], kb = (v8f){0} + coef[1];
    const v8f kc = (v8f){0} + coef[2], kd = (v8f){0} + coef[3];
    int t = 0;
    for (; t + 1 < n; t += 2) {
        v8f xa, xb;
        memcpy(&xa, x[t], sizeof(v8f));
        memcpy(&xb, x[t + 1], sizeof(v8f));
        a2 = (xa - a2) + ka * a1;
        b2 = (xa - b2) + kb * b1;
        c2 = (xa - c2) + kc * c1;
        d2 = (xa - d2) + kd * d1;
        a1 = (xb - a1) + ka * a2;
        b1 = (xb - b1) + kb * b2;
        c1 = (xb - c1) + kc * c2;
        d1 = (xb - d1) + kd * d2;
    }
    if (t < n) {
        v8f xa, s0;
        memcpy(&xa, x[t], sizeof(v8f));
        s0 = (xa - a2) + ka * a1; a2 = a1; a1 = s0;
        s0 = (xa - b2) + kb * b1; b2 = b1; b1 = s0;
        s0 = (xa - c2) + kc * c1; c2 = c1; c1 = s0;
        s0 = (xa - d2) + kd * d1; d2 = d1; d1 = s0;
    }
    memcpy(s1p[0], &a1, sizeof(v8f));
    memcpy(s1p[1], &b1, sizeof(v8f));
    memcpy(s1p[2], &c1, sizeof(v8f));
    memcpy(s1p[3], &d1, sizeof(v8f));
    memcpy(s2p[0], &a2, sizeof(v8f));
    memcpy(s2p[1], &b2, sizeof(v8f));
    memcpy(s2p[2], &c2, sizeof(v8f));
    memcpy(s2p[3], &d2, sizeof(v8f));
}
#endif

/* Runs the eight Goertzel filters and the energy sum of LG_LANE channels over
 * `n` samples; x is [n][LG_LANE]. Four filters at a time keep every state in
 * a register (16 of them with AVX2). */
LG_MULTIVERSION
void lg_goertzel_run8(const float coef[8], float s1[8][LG_LANE], float s2[8][LG_LANE], float energy[LG_LANE],
                      const float (*x)[LG_LANE], int n)
{
#ifdef HAVE_V8F
    v8f e;
    memcpy(&e, energy, sizeof(v8f));
    for (int t = 0; t < n; t++) {
        v8f xv;
        memcpy(&xv, x[t], sizeof(v8f));
        e += xv * xv;
    }
    memcpy(energy, &e, sizeof(v8f));
    goertzel_quad(coef, s1, s2, x, n);
    goertzel_quad(coef + 4, s1 + 4, s2 + 4, x, n);
#else
    for (int t = 0; t < n; t++) {
        for (int i = 0; i < LG_LANE; i++)
            energy[i] += x[t][i] * x[t][i];
        for (int b = 0; b < LG_DTMF_BINS; b++) {
            for (int i = 0; i < LG_LANE; i++) {
                float s0 = x[t][i] + coef[b] * s1[b][i] - s2[b][i];
                s2[b][i] = s1[b][i];
                s1[b][i] = s0;
            }
        }
    }
#endif
}

#ifdef HAVE_V8F
typedef int16_t v8s __attribute__((vector_size(LG_LANE * sizeof(int16_t))));

/* In-register 8x8 transpose: rows of one channel's samples in, rows of one
 * sample's channels out (the unpack / shuffle / permute2f128 sequence). */
static inline __attribute__((always_inline)) void transpose8(v8f r[8])
{
    const v8i lo = {0, 8, 1, 9, 4, 12, 5, 13}, hi = {2, 10, 3, 11, 6, 14, 7, 15};
    const v8i q_lo = {0, 1, 8, 9, 4, 5, 12, 13}, q_hi = {2, 3, 10, 11, 6, 7, 14, 15};
    const v8i h_lo = {0, 1, 2, 3, 8, 9, 10, 11}, h_hi = {4, 5, 6, 7, 12, 13, 14, 15};
    v8f t[8], u[8];
    for (int k = 0; k < 4; k++) {
        t[2 * k] = __builtin_shuffle(r[2 * k], r[2 * k + 1], lo);
        t[2 * k + 1] = __builtin_shuffle(r[2 * k], r[2 * k + 1], hi);
    }
    for (int k = 0; k < 2; k++) {
        u[4 * k + 0] = __builtin_shuffle(t[4 * k + 0], t[4 * k + 2], q_lo);
        u[4 * k + 1] = __builtin_shuffle(t[4 * k + 0], t[4 * k + 2], q_hi);
        u[4 * k + 2] = __builtin_shuffle(t[4 * k + 1], t[4 * k + 3], q_lo);
        u[4 * k + 3] = __builtin_shuffle(t[4 * k + 1], t[4 * k + 3], q_hi);
    }
    for (int k = 0; k < 4; k++) {
        r[k] = __builtin_shuffle(u[k], u[k + 4], h_lo);
        r[k + 4] = __builtin_shuffle(u[k], u[k + 4], h_hi);
    }
}
#endif

/* Copies `n` samples of the lane's channels from row-major input into
 * [n][LG_LANE] floats, decoding G.711 on the way; absent channels read 0. */
LG_MULTIVERSION
void lg_goertzel_gather(const void *samples, int encoding, int stride, int first_channel, int nvalid,
                        int offset, int n, float (*x)[LG_LANE])
{
    const int16_t *table = (encoding == LG_ENC_ULAW) ? lg_g711_ulaw_table : lg_g711_alaw_table;
    int t = 0;
#ifdef HAVE_V8F
    for (; t + LG_LANE <= n; t += LG_LANE) {
        v8f r[LG_LANE];
        for (int i = 0; i < LG_LANE; i++) {
            if (i >= nvalid) {
                r[i] = (v8f){0};
                continue;
            }
            size_t at = (size_t)(first_channel + i) * (size_t)stride + (size_t)(offset + t);
            v8s v;
            if (encoding == LG_ENC_S16) {
                memcpy(&v, (const int16_t *)samples + at, sizeof(v));
            } else {
                const uint8_t *in = (const uint8_t *)samples + at;
                for (int k = 0; k < LG_LANE; k++)
                    v[k] = table[in[k]];
            }
            r[i] = __builtin_convertvector(v, v8f);
        }
        transpose8(r);
        for (int k = 0; k < LG_LANE; k++)
            memcpy(x[t + k], &r[k], sizeof(v8f));
    }
#endif
    for (int i = 0; i < LG_LANE; i++) {
        size_t row = (size_t)(first_channel + i) * (size_t)stride + (size_t)offset;
        for (int k = t; k < n; k++) {
            if (i >= nvalid)
                x[k][i] = 0.0f;
            else if (encoding == LG_ENC_S16)
                x[k][i] = (float)((const int16_t *)samples)[row + k];
            else
                x[k][i] = (float)table[((const uint8_t *)samples)[row + k]];
        }
    }
}

/* Asks for the next lane's input while this lane computes: the rows are
 * far apart and each is read once. */
void lg_goertzel_prefetch(const void *samples, int encoding, int stride, int nsamples, int first_channel,
                          int channels)
{
    size_t width = encoding == LG_ENC_S16 ? 2 : 1;
    for (int c = first_channel; c < first_channel + LG_LANE && c < channels; c++) {
        const char *row = (const char *)samples + (size_t)c * (size_t)stride * width;
        for (size_t at = 0; at < (size_t)nsamples * width; at += 64) {
#if defined(__GNUC__)
            __builtin_prefetch(row + at);
#else
            (void)row;
#endif
        }
    }
}

