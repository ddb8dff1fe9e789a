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

#ifdef LG_X86_KERNELS
#include <immintrin.h>

/* `nbins` Goertzel filters (and the energy sum, when asked) over n samples,
 * all states in registers. The new state coef * s1 - s2 + x is the
 * subtraction, which does not wait for s1, then one FMA: the chain of each
 * filter is one FMA latency per sample, so a pass needs as many independent
 * filters as the FMA units hold in flight (latency x throughput = 8 on Zen 4
 * and Skylake) to run at full speed. Unrolled by two so that s1 and s2 swap
 * roles instead of being copied. Arrays of vectors with constant indices:
 * inlined with a constant nbins, GCC keeps every element in a register in
 * the loop (unlike goertzel_quad's generic vectors). */
static inline __attribute__((always_inline)) LG_TARGET_AVX2 void goertzel_pass(
    int nbins, int with_energy, const float *coef, float (*s1p)[LG_LANE], float (*s2p)[LG_LANE],
    float energy[LG_LANE], const float (*x)[LG_LANE], int n)
{
    __m256 k[8], s1[8], s2[8], e = _mm256_setzero_ps();
    for (int b = 0; b < nbins; b++) {
        k[b] = _mm256_set1_ps(coef[b]);
        s1[b] = _mm256_loadu_ps(s1p[b]);
        s2[b] = _mm256_loadu_ps(s2p[b]);
    }
    if (with_energy)
        e = _mm256_loadu_ps(energy);
    int t = 0;
    for (; t + 1 < n; t += 2) {
        __m256 xa = _mm256_loadu_ps(x[t]), xb = _mm256_loadu_ps(x[t + 1]);
        for (int b = 0; b < nbins; b++)
            s2[b] = _mm256_fmadd_ps(k[b], s1[b], _mm256_sub_ps(xa, s2[b]));
        for (int b = 0; b < nbins; b++)
            s1[b] = _mm256_fmadd_ps(k[b], s2[b], _mm256_sub_ps(xb, s1[b]));
        if (with_energy) {
            e = _mm256_fmadd_ps(xa, xa, e);
            e = _mm256_fmadd_ps(xb, xb, e);
        }
    }
    if (t < n) {
        __m256 xa = _mm256_loadu_ps(x[t]);
        for (int b = 0; b < nbins; b++) {
            __m256 s0 = _mm256_fmadd_ps(k[b], s1[b], _mm256_sub_ps(xa, s2[b]));
            s2[b] = s1[b];
            s1[b] = s0;
        }
        if (with_energy)
            e = _mm256_fmadd_ps(xa, xa, e);
    }
    for (int b = 0; b < nbins; b++) {
        _mm256_storeu_ps(s1p[b], s1[b]);
        _mm256_storeu_ps(s2p[b], s2[b]);
    }
    if (with_energy)
        _mm256_storeu_ps(energy, e);
}

/* 16 registers: two passes of four filters, the energy riding in the first. */
static LG_TARGET_AVX2 void run8_avx2(const float coef[8], float s1[8][LG_LANE], float s2[8][LG_LANE],
                                     float energy[LG_LANE], const float (*x)[LG_LANE], int n)
{
    goertzel_pass(4, 1, coef, s1, s2, energy, x, n);
    goertzel_pass(4, 0, coef + 4, s1 + 4, s2 + 4, energy, x, n);
}

/* 32 registers: all eight filters in one pass, twice the work in flight. */
static LG_TARGET_AVX512VL void run8_avx512vl(const float coef[8], float s1[8][LG_LANE], float s2[8][LG_LANE],
                                             float energy[LG_LANE], const float (*x)[LG_LANE], int n)
{
    goertzel_pass(8, 1, coef, s1, s2, energy, x, n);
}
#endif

/* Runs the eight Goertzel filters and the energy sum of LG_LANE channels over
 * `n` samples; x is [n][LG_LANE]. The x86 kernels (AVX2 and AVX-512VL give
 * the same bits) fuse the multiply-add, so their low bits differ from the
 * portable code's. */
void lg_goertzel_run8(const float coef[8], float s1[8][LG_LANE], float s2[8][LG_LANE], float energy[LG_LANE],
                      const float (*x)[LG_LANE], int n)
{
#ifdef LG_X86_KERNELS
    if (LG_HAVE_AVX512VL()) {
        run8_avx512vl(coef, s1, s2, energy, x, n);
        return;
    }
    if (LG_HAVE_AVX2()) {
        run8_avx2(coef, s1, s2, energy, x, n);
        return;
    }
#endif
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
        for (int b = 0; b < 8; b++) {
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

/* Whole groups of eight samples with GCC's generic vectors (any target GCC
 * vectorises for); returns how many samples it did. */
static int gather_generic(const void *samples, int encoding, int stride, int first_channel, int nvalid,
                          int offset, int n, float (*x)[LG_LANE])
{
    const int16_t *table = (encoding == LG_ENC_ULAW) ? lg_g711_ulaw_table : lg_g711_alaw_table;
    int t = 0;
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
    return t;
}
#else
static int gather_generic(const void *samples, int encoding, int stride, int first_channel, int nvalid,
                          int offset, int n, float (*x)[LG_LANE])
{
    return 0; /* the scalar loop of lg_goertzel_gather does every sample */
}
#endif

#ifdef LG_X86_KERNELS
/* Eight samples of one channel as floats. */
static inline __attribute__((always_inline)) LG_TARGET_AVX2 __m256 load_s16(const int16_t *row)
{
    return _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)row)));
}

/* G.711 decoded with integer and float arithmetic instead of a table (eight
 * table loads and inserts per row cost more than this). The magnitude of
 * every segment is (33 + 2 mantissa) << (segment + 2): as a float, exponent
 * segment + 7 and fraction (2 mantissa + 1) / 32, so its bits are the code's
 * seven low bits shifted into place plus a constant. Exact: the result
 * equals the decode tables' values (tested over all 256 codes). */
#define G711_MAGNITUDE_BITS ((134 << 23) | (1 << 18))

/* mu-law: the magnitude is t - 132 where t is the float above; the sign is
 * applied before the subtraction so that a zero comes out as +0, not -0. */
static inline __attribute__((always_inline)) LG_TARGET_AVX2 __m256 load_ulaw(const uint8_t *row)
{
    __m256i code = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)row));
    __m256i inverted = _mm256_xor_si256(code, _mm256_set1_epi32(0xFF));
    __m256i t = _mm256_add_epi32(_mm256_slli_epi32(_mm256_and_si256(inverted, _mm256_set1_epi32(0x7F)), 19),
                                 _mm256_set1_epi32(G711_MAGNITUDE_BITS));
    __m256i negative = _mm256_slli_epi32(_mm256_and_si256(inverted, _mm256_set1_epi32(0x80)), 24);
    __m256 signed_t = _mm256_castsi256_ps(_mm256_or_si256(t, negative));
    __m256 signed_bias = _mm256_xor_ps(_mm256_set1_ps(-132.0f), _mm256_castsi256_ps(negative));
    return _mm256_add_ps(signed_t, signed_bias);
}

/* A-law: segments 1-7 are the float above less nothing; segment 0 is
 * linear, segment 1's value less 256. Codes with the top bit clear are
 * negative (after the 0x55 toggle). */
static inline __attribute__((always_inline)) LG_TARGET_AVX2 __m256 load_alaw(const uint8_t *row)
{
    __m256i code = _mm256_xor_si256(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)row)),
                                    _mm256_set1_epi32(0x55));
    __m256i bits = _mm256_add_epi32(_mm256_slli_epi32(_mm256_and_si256(code, _mm256_set1_epi32(0x7F)), 19),
                                    _mm256_set1_epi32(G711_MAGNITUDE_BITS));
    __m256i segment0 = _mm256_cmpeq_epi32(_mm256_and_si256(code, _mm256_set1_epi32(0x70)), _mm256_setzero_si256());
    bits = _mm256_add_epi32(bits, _mm256_and_si256(segment0, _mm256_set1_epi32(1 << 23)));
    __m256 bias = _mm256_and_ps(_mm256_castsi256_ps(segment0), _mm256_set1_ps(256.0f));
    __m256 magnitude = _mm256_sub_ps(_mm256_castsi256_ps(bits), bias);
    __m256i negative = _mm256_slli_epi32(_mm256_andnot_si256(code, _mm256_set1_epi32(0x80)), 24);
    return _mm256_or_ps(magnitude, _mm256_castsi256_ps(negative));
}

/* Rows of one channel's samples in, rows of one sample's channels out. */
static inline __attribute__((always_inline)) LG_TARGET_AVX2 void transpose8x8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int k = 0; k < 4; k++) {
        t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 2; k++) {
        u[4 * k + 0] = _mm256_shuffle_ps(t[4 * k + 0], t[4 * k + 2], 0x44);
        u[4 * k + 1] = _mm256_shuffle_ps(t[4 * k + 0], t[4 * k + 2], 0xEE);
        u[4 * k + 2] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
        u[4 * k + 3] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xEE);
    }
    for (int k = 0; k < 4; k++) {
        r[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
        r[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
    }
}

/* Asks for samples offset .. offset + n - 1 of the following LG_LANE
 * channels, which the next lane will gather about a lane's work from now.
 * Spread chunk by chunk, the requests keep the memory busy without a burst
 * that stalls on full miss buffers (measured: +5 to 10 % over prefetching
 * a whole lane at once). Past the last channel this asks for addresses
 * beyond the input: harmless, an x86 prefetch never faults, and the
 * addresses are computed as integers. */
static inline __attribute__((always_inline)) void prefetch_next_lane(const void *samples, size_t width,
                                                                     size_t stride, int first_channel,
                                                                     int offset, int n)
{
    uintptr_t next = (uintptr_t)samples + ((size_t)(first_channel + LG_LANE) * stride + (size_t)offset) * width;
    size_t bytes = (size_t)n * width;
    for (int i = 0; i < LG_LANE; i++) {
        uintptr_t row = next + (size_t)i * stride * width;
        for (size_t at = 0; at < bytes; at += 64)
            __builtin_prefetch((const void *)(row + at));
        __builtin_prefetch((const void *)(row + bytes - 1));
    }
}

/* Gathers the whole groups of eight samples; returns how many samples it
 * did. One function per encoding keeps the decode out of the inner loop. */
static inline __attribute__((always_inline)) LG_TARGET_AVX2 int gather_groups(
    int encoding, const void *samples, size_t stride, int first_channel, int nvalid, int offset, int n,
    float (*x)[LG_LANE])
{
    if (nvalid == LG_LANE && n > 0) /* a lane with fewer channels is the last */
        prefetch_next_lane(samples, encoding == LG_ENC_S16 ? 2 : 1, stride, first_channel, offset, n);
    int t = 0;
    for (; t + LG_LANE <= n; t += LG_LANE) {
        __m256 r[LG_LANE];
        for (int i = 0; i < LG_LANE; i++) {
            size_t at = (size_t)(first_channel + i) * stride + (size_t)(offset + t);
            if (i >= nvalid)
                r[i] = _mm256_setzero_ps();
            else if (encoding == LG_ENC_S16)
                r[i] = load_s16((const int16_t *)samples + at);
            else if (encoding == LG_ENC_ULAW)
                r[i] = load_ulaw((const uint8_t *)samples + at);
            else
                r[i] = load_alaw((const uint8_t *)samples + at);
        }
        transpose8x8(r);
        for (int k = 0; k < LG_LANE; k++)
            _mm256_storeu_ps(x[t + k], r[k]);
    }
    return t;
}

static LG_TARGET_AVX2 int gather_avx2(const void *samples, int encoding, int stride, int first_channel, int nvalid,
                                      int offset, int n, float (*x)[LG_LANE])
{
    if (encoding == LG_ENC_S16)
        return gather_groups(LG_ENC_S16, samples, (size_t)stride, first_channel, nvalid, offset, n, x);
    if (encoding == LG_ENC_ULAW)
        return gather_groups(LG_ENC_ULAW, samples, (size_t)stride, first_channel, nvalid, offset, n, x);
    return gather_groups(LG_ENC_ALAW, samples, (size_t)stride, first_channel, nvalid, offset, n, x);
}
#endif

/* Copies `n` samples of the lane's channels from row-major input into
 * [n][LG_LANE] floats, decoding G.711 on the way; absent channels read 0.
 * With AVX2, also prefetches the same samples of the next lane. */
void lg_goertzel_gather(const void *samples, int encoding, int stride, int first_channel, int nvalid,
                        int offset, int n, float (*x)[LG_LANE])
{
    const int16_t *table = (encoding == LG_ENC_ULAW) ? lg_g711_ulaw_table : lg_g711_alaw_table;
    int t = 0;
#ifdef LG_X86_KERNELS
    if (LG_HAVE_AVX2())
        t = gather_avx2(samples, encoding, stride, first_channel, nvalid, offset, n, x);
    else
        t = gather_generic(samples, encoding, stride, first_channel, nvalid, offset, n, x);
#else
    t = gather_generic(samples, encoding, stride, first_channel, nvalid, offset, n, x);
#endif
    /* The tail of fewer than eight samples, and every sample without SIMD. */
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

int lg_goertzel_check_feed(const void *samples, int encoding, int stride, int nsamples)
{
    if (nsamples < 0 || stride < nsamples || (nsamples > 0 && !samples) ||
        (encoding != LG_ENC_S16 && encoding != LG_ENC_ULAW && encoding != LG_ENC_ALAW))
        return LG_E_ARG;
    return LG_OK;
}

void lg_goertzel_walk(const float coef[8], void *lanes, size_t lane_size, int channels, int subblock, int pos,
                      const void *samples, int encoding, int stride, int nsamples, lg_goertzel_subblock_fn done,
                      void *detector)
{
    float x[LG_GOERTZEL_MAX_CHUNK][LG_LANE] __attribute__((aligned(32)));
    int nlanes = (channels + LG_LANE - 1) / LG_LANE;
    for (int ln = 0; ln < nlanes; ln++) {
        /* The accumulators are the first member of every lane struct. */
        lg_goertzel_acc *acc = (lg_goertzel_acc *)((char *)lanes + (size_t)ln * lane_size);
        int first = ln * LG_LANE;
        int nvalid = channels - first < LG_LANE ? channels - first : LG_LANE;
        int live = acc->active != 0;
        int at = pos;
        for (int done_samples = 0; done_samples < nsamples;) {
            int n = subblock - at < nsamples - done_samples ? subblock - at : nsamples - done_samples;
            if (live) {
                lg_goertzel_gather(samples, encoding, stride, first, nvalid, done_samples, n, x);
                lg_goertzel_run8(coef, acc->s1, acc->s2, acc->energy, (const float (*)[LG_LANE])x, n);
            }
            done_samples += n;
            at += n;
            if (at == subblock) {
                at = 0;
                done(detector, ln, first, nvalid);
            }
        }
    }
}
