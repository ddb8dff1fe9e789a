/* Several detector units fed in one call; see detector_set.h. */
#include "detector_set.h"
#include "amd.h"
#include "cpt.h"
#include "dtmf_rx.h"
#include "fsk_rx.h"
#include "goertzel.h"
#include "mf_rx.h"
#include "modem_tone.h"

#include <string.h>

/* Typed wrappers, so that every unit is called through a pointer of its own
 * function's type (calling through another type would be undefined). */
#define LG_UNIT_OPS(unit, limit)                                                                               \
    static int unit##_feed_any(const void *desc, void *bank, void *lanes, void *states, const void *samples,    \
                               int encoding, int stride, int nsamples, lg_event *events, int max_events)       \
    {                                                                                                          \
        return lg_##unit##_feed(desc, bank, lanes, states, samples, encoding, stride, nsamples, events,        \
                                max_events);                                                                   \
    }                                                                                                          \
    static int unit##_flush_any(const void *desc, void *bank, void *lanes, void *states, lg_event *events,     \
                                int max_events)                                                                \
    {                                                                                                          \
        return lg_##unit##_flush(desc, bank, lanes, states, events, max_events);                               \
    }                                                                                                          \
    static int unit##_channels(const void *bank)                                                               \
    {                                                                                                          \
        return ((const lg_##unit##_bank *)bank)->channels;                                                     \
    }                                                                                                          \
    static const lg_unit_ops unit##_ops = {lg_##unit##_max_events, unit##_feed_any, unit##_flush_any,          \
                                           unit##_channels, (limit)};

LG_UNIT_OPS(dtmf_rx, 0)
LG_UNIT_OPS(modem_tone, 0)
LG_UNIT_OPS(cpt, 0)
LG_UNIT_OPS(amd, 0)
LG_UNIT_OPS(fsk_rx, LG_FSK_RX_MAX_FEED)
LG_UNIT_OPS(mf_rx, 0)

static const lg_unit_ops *unit_ops(int unit)
{
    switch (unit) {
    case LG_UNIT_DTMF_RX:
        return &dtmf_rx_ops;
    case LG_UNIT_MODEM_TONE:
        return &modem_tone_ops;
    case LG_UNIT_CPT:
        return &cpt_ops;
    case LG_UNIT_AMD:
        return &amd_ops;
    case LG_UNIT_FSK_RX:
        return &fsk_rx_ops;
    case LG_UNIT_MF_RX:
        return &mf_rx_ops;
    default:
        return NULL;
    }
}

int lg_detector_set_init(lg_detector_set *set, int channels)
{
    if (!set || channels < 1)
        return LG_E_ARG;
    memset(set, 0, sizeof(*set));
    set->channels = channels;
    return LG_OK;
}

int lg_detector_set_add(lg_detector_set *set, int unit, const void *desc, void *bank, void *lanes, void *states)
{
    const lg_unit_ops *ops = unit_ops(unit);
    if (!set || !ops || !desc || !bank || !lanes || !states)
        return LG_E_ARG;
    /* The set sizes the event room for its own channel count. */
    if (ops->channels(bank) != set->channels)
        return LG_E_ARG;
    if (set->nunits >= LG_DETECTOR_SET_UNITS)
        return LG_E_SPACE;
    lg_detector_slot *slot = &set->units[set->nunits];
    slot->ops = ops;
    slot->desc = desc;
    slot->bank = bank;
    slot->lanes = lanes;
    slot->states = states;
    slot->count = 0;
    return set->nunits++;
}

/* The room of each unit and the sum; a negative code when a bound fails. */
static int64_t bounds(const lg_detector_set *set, int nsamples, int room[LG_DETECTOR_SET_UNITS])
{
    int64_t total = 0;
    for (int k = 0; k < set->nunits; k++) {
        int bound = set->units[k].ops->max_events(set->channels, nsamples);
        if (bound < 0)
            return bound;
        room[k] = bound;
        total += bound;
    }
    return total;
}

int lg_detector_set_max_events(const lg_detector_set *set, int nsamples)
{
    if (!set || nsamples < 0)
        return LG_E_ARG;
    int room[LG_DETECTOR_SET_UNITS];
    int64_t total = bounds(set, nsamples, room);
    if (total > 0x7FFFFFFF)
        return LG_E_RANGE;
    return (int)total;
}

int lg_detector_set_max_feed(const lg_detector_set *set)
{
    if (!set)
        return LG_E_ARG;
    int limit = 0;
    for (int k = 0; k < set->nunits; k++) {
        int unit_limit = set->units[k].ops->max_feed;
        if (unit_limit > 0 && (limit == 0 || unit_limit < limit))
            limit = unit_limit;
    }
    return limit;
}

int lg_detector_set_feed(lg_detector_set *set, const void *samples, int encoding, int stride, int nsamples,
                         lg_event *events, int max_events)
{
    if (!set || !events || lg_goertzel_check_feed(samples, encoding, stride, nsamples))
        return LG_E_ARG;
    int limit = lg_detector_set_max_feed(set);
    if (limit > 0 && nsamples > limit)
        return LG_E_RANGE;
    /* Every check before the first unit runs: a refusal half way would leave
     * the units at different places in the stream. */
    int room[LG_DETECTOR_SET_UNITS];
    int64_t total = bounds(set, nsamples, room);
    if (total < 0)
        return (int)total;
    if (total > max_events)
        return LG_E_SPACE;
    int count = 0;
    for (int k = 0; k < set->nunits; k++) {
        lg_detector_slot *u = &set->units[k];
        int rv = u->ops->feed(u->desc, u->bank, u->lanes, u->states, samples, encoding, stride, nsamples,
                              events + count, room[k]);
        if (rv < 0) /* not after the checks above, short of a unit's state overwritten */
            return rv;
        u->count = rv;
        count += rv;
    }
    return count;
}

int lg_detector_set_flush(lg_detector_set *set, lg_event *events, int max_events)
{
    if (!set || !events)
        return LG_E_ARG;
    /* A unit's bound for 0 samples covers its flush (each one's header says
     * what its flush needs: at most 2 per channel, which every bound for 0
     * samples reaches). */
    int room[LG_DETECTOR_SET_UNITS];
    int64_t total = bounds(set, 0, room);
    if (total < 0)
        return (int)total;
    if (total > max_events)
        return LG_E_SPACE;
    int count = 0;
    for (int k = 0; k < set->nunits; k++) {
        lg_detector_slot *u = &set->units[k];
        int rv = u->ops->flush(u->desc, u->bank, u->lanes, u->states, events + count, room[k]);
        if (rv < 0)
            return rv;
        u->count = rv;
        count += rv;
    }
    return count;
}

int lg_detector_set_count(const lg_detector_set *set, int index)
{
    if (!set)
        return LG_E_ARG;
    if (index < 0 || index >= set->nunits)
        return LG_E_RANGE;
    return set->units[index].count;
}
