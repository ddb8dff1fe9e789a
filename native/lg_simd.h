/* SIMD helpers shared by the batch kernels of the core (internal, no cdef). */
#ifndef LG_SIMD_H
#define LG_SIMD_H

#include <stdint.h>
#include <string.h>

#include "lg_common.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 12
/* One build for every x86-64; the loader picks the AVX2+FMA clone where the
 * CPU has it. Dispatch is by ISA level: "arch=haswell" would test for the
 * Intel model and leave AMD CPUs on the SSE2 code. Elsewhere (Cortex-M, other
 * compilers) plain C99 is built. */
#define LG_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define LG_MULTIVERSION
#endif

#if defined(__GNUC__) && defined(__x86_64__) && !defined(LG_NO_X86_KERNELS)
/* Kernels written with <immintrin.h> for one ISA level each, chosen at run
 * time with __builtin_cpu_supports (which reads the CPU model the runtime
 * filled in at load time; nothing of ours is written). Helpers they share are
 * always_inline with a subset of the caller's target, so that they inline.
 * -DLG_NO_X86_KERNELS builds the portable code instead, to test it on x86. */
#define LG_X86_KERNELS 1
#define LG_TARGET_AVX2 __attribute__((target("avx2,fma")))
/* AVX-512VL for its 32 ymm registers, not for wider vectors. */
#define LG_TARGET_AVX512VL __attribute__((target("avx2,fma,avx512f,avx512vl")))
#define LG_HAVE_AVX2() (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
#define LG_HAVE_AVX512VL() (LG_HAVE_AVX2() && __builtin_cpu_supports("avx512vl"))
#endif

/* -DLG_NO_VECTOR_EXTENSIONS (with -DLG_NO_X86_KERNELS) builds the plain C99
 * code a compiler without GCC's vector extensions gets; the tests build it
 * that way too. */
#if defined(__GNUC__) && !defined(LG_NO_VECTOR_EXTENSIONS)
typedef float v8f __attribute__((vector_size(LG_LANE * sizeof(float))));
typedef int32_t v8i __attribute__((vector_size(LG_LANE * sizeof(int32_t))));
#define HAVE_V8F 1
#endif

#ifdef HAVE_V8F
static inline __attribute__((always_inline)) v8f lg_load_v8f(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline __attribute__((always_inline)) void lg_store_v8f(float *p, v8f v)
{
    memcpy(p, &v, sizeof(v));
}

/* Lane-wise select by a comparison mask (all ones or zeros per lane). */
static inline __attribute__((always_inline)) v8f lg_select_v8f(v8i mask, v8f yes, v8f no)
{
    return (v8f)(((v8i)yes & mask) | ((v8i)no & ~mask));
}

static inline __attribute__((always_inline)) v8i lg_select_v8i(v8i mask, v8i yes, v8i no)
{
    return (yes & mask) | (no & ~mask);
}

/* lg_fast_atan2f for eight lanes, branch-free; (0, 0) gives 0. */
static inline __attribute__((always_inline)) v8f lg_atan2_v8f(v8f y, v8f x)
{
    v8f zero = {0};
    v8f ax = lg_select_v8f(x < zero, -x, x), ay = lg_select_v8f(y < zero, -y, y);
    v8i swap = ay > ax;
    v8f num = lg_select_v8f(swap, ax, ay), den = lg_select_v8f(swap, ay, ax);
    v8f t = num / lg_select_v8f(den > zero, den, zero + 1.0f);
    v8f t2 = t * t;
    v8f r = t * (0.99997726f + t2 * (-0.33262347f + t2 * (0.19354346f + t2 * (-0.11643287f +
                                                                          t2 * (0.05265332f - t2 * 0.01172120f)))));
    r = lg_select_v8f(swap, 1.57079637f - r, r);
    r = lg_select_v8f(x < zero, 3.14159274f - r, r);
    return lg_select_v8f(y < zero, -r, r);
}
#endif

/* atan2 to about 1e-5 rad without libm's care for every corner: arguments
 * finite and not both zero (a phase advance to a frequency, where 1e-5 rad
 * is a thousandth of a hertz). */
static inline float lg_fast_atan2f(float y, float x)
{
    float ax = x < 0.0f ? -x : x, ay = y < 0.0f ? -y : y;
    int swap = ay > ax;
    float t = swap ? ax / ay : ay / ax;
    float t2 = t * t;
    float r = t * (0.99997726f + t2 * (-0.33262347f + t2 * (0.19354346f + t2 * (-0.11643287f +
                                                                              t2 * (0.05265332f - t2 * 0.01172120f)))));
    if (swap)
        r = 1.57079637f - r;
    if (x < 0.0f)
        r = 3.14159274f - r;
    return y < 0.0f ? -r : r;
}

#endif
