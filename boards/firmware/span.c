#include <string.h>

#include "span.h"

/* Alarm integration. The receiver detects the defects themselves as G.775
 * (LOS: no pulses for 10..255 bit times) and G.706 (LOF: three wrong frame
 * alignment words; AIS: fewer than 3 zeros in 512 bits) say, within a few
 * frames; that is far too twitchy to report, so, as G.732/G.736 equipment
 * does, a defect becomes an alarm only once it has persisted (100 ms) and the
 * alarm clears only once the defect has been absent longer (200 ms), so a
 * flickering line neither chatters nor hides. RAI is a bit the far end sets
 * on purpose: 50 ms each way. Masking (G.732): without a signal there is no
 * AIS, frame or RAI to see; AIS hides LOF and RAI; LOF hides RAI. */
#define DEFECT_ON_MS 100
#define DEFECT_OFF_MS 200
#define RAI_MS 50
/* CAS: a new ABCD value counts once it has held 20 ms (Q.421/Q.422's
 * recognition time for R2 line signals is 20 +/- 10 ms). */
#define CAS_MS 20

void lg_span_init(struct lg_span *s, unsigned index, uint8_t framing, uint32_t now)
{
    memset(s, 0, sizeof *s);
    s->framing = framing;
    lg_debounce_init(&s->los, 0, now);
    lg_debounce_init(&s->ais, 0, now);
    lg_debounce_init(&s->lof, 0, now);
    lg_debounce_init(&s->rai, 0, now);
    for (unsigned ts = 0; ts < 32; ts++) {
        s->cas_tx[ts] = LG_CAS_IDLE;
        lg_debounce_init(&s->cas_rx[ts], LG_CAS_IDLE, now);
        if (lg_span_timeslot_ok(ts))
            lg_hal_cas_tx(index, ts, LG_CAS_IDLE);
    }
    lg_hal_span_tx_rai(index, 0);
}

void lg_span_cas_send(struct lg_span *s, unsigned index, unsigned ts, uint8_t abcd)
{
    s->cas_tx[ts] = abcd;
    lg_hal_cas_tx(index, ts, abcd);
}

int lg_span_step(struct lg_span *s, unsigned index, uint32_t now, uint8_t *cas_ts, uint8_t *cas_abcd, unsigned *ncas)
{
    struct lg_hal_span_rx rx;
    lg_hal_span_rx_status(index, &rx);
    int los = !rx.signal, ais = !los && rx.all_ones, lof = !los && !ais && !rx.aligned;
    int rai = !los && !ais && !lof && rx.remote_alarm;
    lg_debounce(&s->los, (uint8_t)los, now, DEFECT_ON_MS, DEFECT_OFF_MS);
    lg_debounce(&s->ais, (uint8_t)ais, now, DEFECT_ON_MS, DEFECT_OFF_MS);
    lg_debounce(&s->lof, (uint8_t)lof, now, DEFECT_ON_MS, DEFECT_OFF_MS);
    lg_debounce(&s->rai, (uint8_t)rai, now, RAI_MS, RAI_MS);
    uint8_t a = 0;
    if (s->los.state)
        a = LG_ALARM_LOS;
    else if (s->ais.state)
        a = LG_ALARM_AIS;
    else if (s->lof.state)
        a = LG_ALARM_LOF;
    else if (s->rai.state)
        a = LG_ALARM_RAI;
    s->alarms = a;
    s->crc4_errors = rx.crc4_errors;
    s->slips = rx.slips;
    s->bpv = rx.bpv;

    uint8_t tx_rai = !lg_span_up(s);
    if (tx_rai != s->tx_rai) {
        s->tx_rai = tx_rai;
        lg_hal_span_tx_rai(index, tx_rai);
    }

    *ncas = 0;
    if (s->framing == LG_FRAMING_CAS && lg_span_up(s)) {
        /* Without frames the CAS multiframe is gone too: the received bits freeze. */
        for (unsigned ts = 1; ts < 32; ts++) {
            if (ts == 16)
                continue;
            if (lg_debounce(&s->cas_rx[ts], lg_hal_cas_rx(index, ts) & 0xF, now, CAS_MS, CAS_MS)) {
                cas_ts[*ncas] = (uint8_t)ts;
                cas_abcd[*ncas] = s->cas_rx[ts].state;
                (*ncas)++;
            }
        }
    }

    int due = 0;
    if (a != s->reported || (a && now - s->last_report >= LG_ALARM_REPEAT_MS)) {
        s->reported = a;
        s->last_report = now;
        due = 1;
    }
    return due;
}
