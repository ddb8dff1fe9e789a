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

#if defined(__GNUC__)
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
#endif

#endif
