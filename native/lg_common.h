/* Shared definitions of the Linegate DSP core: return codes, the ABI version,
 * sample-rate facts and the level convention.
 *
 * Text between the cdef-begin and cdef-end markers is what cffi sees
 * (native/build_native.py); a struct whose body starts with the cdef-opaque
 * marker is shown to cffi as `{ ...; }` so Python can size it but not poke in it.
 */
#ifndef LG_COMMON_H
#define LG_COMMON_H

#include <stdint.h>
#include <stddef.h>
#include <math.h>

/* cdef-begin */
/* Bump whenever a struct or a function signature of the cdef changes: the
 * Python binding refuses to run against a library built from other headers. */
#define LG_ABI_VERSION 12

#define LG_OK 0
#define LG_E_ARG -1      /* the caller passed an impossible argument */
#define LG_E_RANGE -2    /* a parameter is outside its documented range */
#define LG_E_SPACE -3    /* an output buffer is too small; nothing was consumed */

#define LG_SAMPLE_RATE 8000

/* Input encodings accepted by the batch entry points. */
#define LG_ENC_S16 0
#define LG_ENC_ULAW 1
#define LG_ENC_ALAW 2

/* One detection, as every detector of the core reports it. A detector that
 * reports a tone as it begins sets end = -1 and reports it again, with the
 * same start, when it ends (flags say which). Times are samples since the
 * channel's last reset. */
#define LG_EVENT_DTMF 1
#define LG_EVENT_MODEM_TONE 2 /* value: LG_MODEM_TONE_* (modem_tone.h) */
#define LG_EVENT_CPT 3        /* value: LG_CPT_* (cpt.h) */
#define LG_EVENT_AMD 4        /* value: LG_AMD_* (amd.h), reason: LG_AMD_REASON_* */
#define LG_EVENT_BEEP 5       /* the end-of-greeting beep of an answering machine (amd.h) */
#define LG_EVENT_CALLERID 6   /* value: the message's serial (fsk_rx.h), reason: LG_FSK_RX_* */
#define LG_EVENT_MFR2_FWD 7   /* value: the MFC/R2 forward signal 1..15 (mf.h) */
#define LG_EVENT_MFR2_BWD 8   /* value: the MFC/R2 backward signal 1..15 */
#define LG_EVENT_MFR1 9       /* value: the R1 signal 1..15 (mf.h: 10 is the digit 0, 13 KP, 15 ST) */

#define LG_EVENT_BEGIN 1
#define LG_EVENT_END 2

typedef struct {
    int32_t channel;
    int32_t kind;    /* LG_EVENT_* */
    int32_t value;   /* for DTMF: the key as an ASCII code */
    int32_t flags;   /* LG_EVENT_BEGIN or LG_EVENT_END */
    float confidence; /* 0..1: how sure the detector is of `value` */
    int32_t reason;  /* detector-specific code of why it decided (0: none given) */
    int64_t start;
    int64_t end;
} lg_event;

/* Channels per SIMD lane group: the batch kernels keep channels in the
 * innermost dimension, LG_LANE at a time. */
#define LG_LANE 8

int lg_abi_version(void);
/* cdef-end */

/* 0 dBm0 is a sine whose peak is 3.14 dB below 16-bit full scale (G.711's
 * convention; spandsp uses the same: DBM0_MAX_SINE_POWER). */
#define LG_DBM0_MAX_SINE_POWER 3.14f
#define LG_DBM0_PEAK 22826.0f /* 32767 * 10^(-3.14/20) */

/* Where a batch call writes its events; the call has checked the room
 * (lg_<unit>_max_events) before it began. */
typedef struct {
    lg_event *events;
    int count;
} lg_event_sink;

static inline void lg_emit_scored(lg_event_sink *sink, int channel, int kind, int value, int flags, int64_t start,
                                  int64_t end, float confidence, int reason)
{
    lg_event *ev = &sink->events[sink->count++];
    ev->channel = channel;
    ev->kind = kind;
    ev->value = value;
    ev->flags = flags;
    /* in thousandths: finer means nothing, and a host sees few distinct values */
    confidence = confidence < 0.0f ? 0.0f : confidence > 1.0f ? 1.0f : confidence;
    ev->confidence = (float)(int)(confidence * 1000.0f + 0.5f) / 1000.0f;
    ev->reason = reason;
    ev->start = start < 0 ? 0 : start; /* a tone under way when the channel was reset */
    ev->end = end;
}

static inline void lg_emit(lg_event_sink *sink, int channel, int kind, int value, int flags, int64_t start,
                           int64_t end, float confidence)
{
    lg_emit_scored(sink, channel, kind, value, flags, start, end, confidence, 0);
}

/* The most events `channels` channels can give for `nsamples` samples when
 * each gives at most `per_step` events per completed step of `step` samples
 * (and at least `floor_per_channel` each, what a flush may need):
 * LG_E_ARG for bad counts, LG_E_RANGE beyond an int. */
static inline int lg_event_bound(int channels, int nsamples, int per_step, int step, int floor_per_channel)
{
    if (channels < 1 || nsamples < 0)
        return LG_E_ARG;
    int64_t bound = (int64_t)channels * per_step * ((int64_t)nsamples / step + 1);
    if (bound < (int64_t)channels * floor_per_channel)
        bound = (int64_t)channels * floor_per_channel;
    if (bound > 0x7FFFFFFF)
        return LG_E_RANGE;
    return (int)bound;
}

/* Returns the peak amplitude of a sine at `dbm0`. */
static inline float lg_dbm0_to_peak(float dbm0)
{
    return LG_DBM0_PEAK * powf(10.0f, dbm0 / 20.0f);
}

#endif
