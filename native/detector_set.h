/* Several detector units over the same channels, fed in one call.
 *
 * A caller that runs DTMF, call progress and AMD on the same block of audio
 * would otherwise cross into the core once per unit and block; the set holds
 * each unit's descriptor, bank, lanes and states and runs them one after the
 * other on the block. Every unit keeps its own contract: its state, its
 * events (told apart by their kind), its lg_<unit>_set_active per channel.
 * The set itself keeps no audio state, only pointers to the units' arrays,
 * which the caller owns and which must outlive the set.
 */
#ifndef LG_DETECTOR_SET_H
#define LG_DETECTOR_SET_H

#include "lg_common.h"

/* The entry points every batch unit has, with its own types behind void
 * pointers (detector_set.c calls each unit through a typed wrapper). */
typedef struct {
    int (*max_events)(int channels, int nsamples);
    int (*feed)(const void *desc, void *bank, void *lanes, void *states, const void *samples, int encoding,
                int stride, int nsamples, lg_event *events, int max_events);
    int (*flush)(const void *desc, void *bank, void *lanes, void *states, lg_event *events, int max_events);
    int (*channels)(const void *bank);
    int max_feed; /* the most samples one feed takes (0: no limit) */
} lg_unit_ops;

typedef struct {
    const lg_unit_ops *ops;
    const void *desc;
    void *bank, *lanes, *states;
    int32_t count; /* events of the last feed or flush */
} lg_detector_slot;

/* cdef-begin */
/* Units a set can hold (lg_detector_set_add). */
#define LG_UNIT_DTMF_RX 1
#define LG_UNIT_MODEM_TONE 2
#define LG_UNIT_CPT 3
#define LG_UNIT_AMD 4
#define LG_UNIT_FSK_RX 5
#define LG_UNIT_MF_RX 6 /* once per MF kind a set listens for: its descriptor says which */
#define LG_DETECTOR_SET_UNITS 10

typedef struct {
    /* cdef-opaque */
    int32_t channels;
    int32_t nunits;
    lg_detector_slot units[LG_DETECTOR_SET_UNITS];
} lg_detector_set;

int lg_detector_set_init(lg_detector_set *set, int channels);
/* Adds a unit: `unit` is LG_UNIT_*, the pointers are that unit's descriptor,
 * bank, lanes and states, initialised for the set's channel count (else
 * LG_E_ARG). Units run in the order they were added. Returns the unit's
 * index in the set; LG_E_SPACE when the set is full. */
int lg_detector_set_add(lg_detector_set *set, int unit, const void *desc, void *bank, void *lanes, void *states);
/* The room a feed of `nsamples` needs: the sum of the units'
 * lg_<unit>_max_events. With nsamples = 0, the room a flush needs. */
int lg_detector_set_max_events(const lg_detector_set *set, int nsamples);
/* The most samples one feed may take: the smallest limit of the units
 * (fsk_rx: LG_FSK_RX_MAX_FEED), 0 when none has one. */
int lg_detector_set_max_feed(const lg_detector_set *set);
/* Feeds `nsamples` samples of every channel (row-major [channels][stride],
 * int16 for LG_ENC_S16, else G.711 codes) to every unit. Events are written
 * unit after unit; returns how many in all (each unit's count:
 * lg_detector_set_count). Bad arguments (LG_E_ARG), more samples than
 * lg_detector_set_max_feed (LG_E_RANGE) or max_events below
 * lg_detector_set_max_events (LG_E_SPACE) are refused before any unit runs. */
int lg_detector_set_feed(lg_detector_set *set, const void *samples, int encoding, int stride, int nsamples,
                         lg_event *events, int max_events);
/* End of stream for every unit (lg_<unit>_flush); max_events as for a feed
 * of 0 samples. */
int lg_detector_set_flush(lg_detector_set *set, lg_event *events, int max_events);
/* Events unit `index` wrote in the last feed or flush; LG_E_RANGE for a bad index. */
int lg_detector_set_count(const lg_detector_set *set, int index);
/* cdef-end */

#endif
