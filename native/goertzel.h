/* Batched Goertzel kernel: the per-sample work of the tone detectors.
 *
 * Channels are processed LG_LANE at a time with the channels in the SIMD
 * lanes: the input rows of a lane are gathered and transposed into
 * [samples][LG_LANE] floats (decoding G.711 on the way), then any number of
 * Goertzel recurrences and the energy sum run over them. Internal to the core
 * (no cdef): the detectors own their state layouts and call these.
 */
#ifndef LG_GOERTZEL_H
#define LG_GOERTZEL_H

#include "lg_common.h"

/* The largest number of samples a gather or a kernel call takes at once. */
#define LG_GOERTZEL_MAX_CHUNK 64

/* Copies `n` samples (n <= LG_GOERTZEL_MAX_CHUNK) of channels
 * first_channel .. first_channel + nvalid - 1 from row-major input
 * ([channels][stride], int16 or G.711 codes) starting at `offset` into
 * x[n][LG_LANE]; lanes past nvalid read 0. Where the CPU has AVX2 it also
 * prefetches the same samples of the next LG_LANE channels when nvalid is
 * LG_LANE (a prefetch beyond the input is harmless). */
void lg_goertzel_gather(const void *samples, int encoding, int stride, int first_channel, int nvalid, int offset,
                        int n, float (*x)[LG_LANE]);

/* Runs eight Goertzel recurrences (s = x + coef * s1 - s2) and the energy
 * sum over x[n][LG_LANE], updating s1, s2 and energy in place. With AVX2 the
 * multiply-adds are fused: low bits differ from builds without. */
void lg_goertzel_run8(const float coef[8], float s1[8][LG_LANE], float s2[8][LG_LANE], float energy[LG_LANE],
                      const float (*x)[LG_LANE], int n);

/* The running sums of one lane: a detector's lane struct starts with one. */
typedef struct {
    float s1[8][LG_LANE];
    float s2[8][LG_LANE];
    float energy[LG_LANE];
    /* Bit i: channel i of the lane is analysed (lg_<unit>_set_active). The
     * walk skips the filters of a lane with none, so that a lane of idle
     * channels costs next to nothing; its sums then stand still. */
    uint32_t active;
} lg_goertzel_acc;

/* The channels of lane `lane` that exist: all LG_LANE bits but in the last
 * lane of a bank whose channel count is not a multiple of LG_LANE. */
static inline uint32_t lg_goertzel_lane_mask(int channels, int lane)
{
    int nvalid = channels - lane * LG_LANE;
    return nvalid >= LG_LANE ? (1u << LG_LANE) - 1u : (1u << nvalid) - 1u;
}

/* What a detector does when a lane completes a sub-block. An internal hook
 * between two units of the core, called once per sub-block per lane; nothing
 * outside the core is ever called back. */
typedef void (*lg_goertzel_subblock_fn)(void *detector, int lane, int first_channel, int nvalid);

/* Checks the arguments every batch feed takes; LG_OK or LG_E_ARG. */
int lg_goertzel_check_feed(const void *samples, int encoding, int stride, int nsamples);

/* Runs `nsamples` samples of every channel through the eight filters of each
 * lane, in sub-blocks of `subblock` samples (<= LG_GOERTZEL_MAX_CHUNK), the
 * first one `pos` samples under way, calling `done` as each completes. A lane
 * without active channels is not gathered nor filtered, but `done` is still
 * called for it, so that the detector's clocks go on.
 * `lanes` is the detector's lane array: elements of `lane_size` bytes, each
 * starting with an lg_goertzel_acc. Lanes outermost, so that a lane's state
 * stays in L1 for the whole block. */
void lg_goertzel_walk(const float coef[8], void *lanes, size_t lane_size, int channels, int subblock, int pos,
                      const void *samples, int encoding, int stride, int nsamples, lg_goertzel_subblock_fn done,
                      void *detector);
#endif
