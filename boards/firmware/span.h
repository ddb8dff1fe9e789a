/* E1 span state machines: alarms (LOS, AIS, LOF, RAI) integrated from the
 * receiver's raw defects, their counters, and CAS bits per timeslot in both
 * directions (debounced on receive). PROTOCOL.md's ALARMS and CAS. */
#ifndef LG_SPAN_H
#define LG_SPAN_H
#include "port.h"

#define LG_ALARM_LOS 1
#define LG_ALARM_AIS 2
#define LG_ALARM_LOF 4
#define LG_ALARM_RAI 8
#define LG_FRAMING_CAS 0
#define LG_FRAMING_CCS 1
#define LG_CAS_IDLE 0x9          /* A=1 B=0, C=0 D=1 (G.704: unused C, D bits are 0, 1): R2's idle */
#define LG_ALARM_REPEAT_MS 1000  /* ALARMS again once a second while any is raised */

struct lg_span {
    uint8_t framing;
    struct lg_debounce los, ais, lof, rai;
    uint8_t alarms, reported;
    uint8_t tx_rai;
    uint32_t last_report;
    uint32_t crc4_errors, slips, bpv;
    uint8_t cas_tx[32];
    struct lg_debounce cas_rx[32];
};

static inline int lg_span_timeslot_ok(unsigned ts) { return ts >= 1 && ts <= 31 && ts != 16; }

void lg_span_init(struct lg_span *s, unsigned index, uint8_t framing, uint32_t now);
/* One line tick. Returns 1 when an ALARMS event is due (a change, or a second
 * since the last while raised); fills cas_ts/cas_abcd with received CAS
 * changes (up to 30) and *ncas with their count. */
int lg_span_step(struct lg_span *s, unsigned index, uint32_t now, uint8_t *cas_ts, uint8_t *cas_abcd, unsigned *ncas);
void lg_span_cas_send(struct lg_span *s, unsigned index, unsigned ts, uint8_t abcd);
/* The span carries frames: no LOS, AIS or LOF. */
static inline int lg_span_up(const struct lg_span *s) { return !(s->alarms & (LG_ALARM_LOS | LG_ALARM_AIS | LG_ALARM_LOF)); }

#endif
