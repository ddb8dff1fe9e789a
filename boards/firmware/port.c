#include <string.h>

#include "msg.h"
#include "port.h"

/* Debounce and integration times (ms). A hook switch bounces for under 10 ms
 * and a hook flash lasts 80 ms or more, so 30 ms separates them. The ring
 * detector pulses every 40 ms at 25 Hz ringing (one pulse per period, half-wave
 * detection): 60 ms without a pulse is the end of a burst, and 80 ms of pulses
 * (three of them) the start of one, so a single spike on the line is no ring.
 * Battery: 100 ms, longer than the gap of a polarity reversal. Loop current is
 * reported once it has held within 2 mA for 50 ms and moved 3 mA or more. */
#define HOOK_MS 30
#define RING_GAP_MS 60
#define RING_ON_MS 80
#define BATTERY_MS 100
#define POLARITY_MS 30
#define LOOP_SETTLE_MS 50
#define LOOP_STEP_MA 3
#define FXS_HOOK_MA 10      /* loop current above which the phone is off-hook */

void lg_debounce_init(struct lg_debounce *d, uint8_t state, uint32_t now)
{
    d->state = d->raw = state;
    d->since = now;
}

int lg_debounce(struct lg_debounce *d, uint8_t raw, uint32_t now, uint32_t rise_ms, uint32_t fall_ms)
{
    if (raw != d->raw) {
        d->raw = raw;
        d->since = now;
    }
    if (raw != d->state && now - d->since >= (raw ? rise_ms : fall_ms)) {
        d->state = raw;
        return 1;
    }
    return 0;
}

/* Ring cadences of the tone zones (on, off[, on, off] in ms). */
static const struct { char zone[3]; uint16_t ms[4]; } cadences[] = {
    {"de", {1000, 4000, 0, 0}}, {"at", {1000, 5000, 0, 0}}, {"fr", {1500, 3500, 0, 0}},
    {"us", {2000, 4000, 0, 0}}, {"ca", {2000, 4000, 0, 0}}, {"gb", {400, 200, 400, 2000}},
    {"ie", {400, 200, 400, 2000}}, {"au", {400, 200, 400, 2000}}, {"it", {1000, 4000, 0, 0}},
};

void lg_port_set_zone(struct lg_port *p, const uint8_t zone[2])
{
    static const uint16_t fallback[4] = {1000, 4000, 0, 0};
    const uint16_t *ms = fallback;
    for (size_t i = 0; i < sizeof cadences / sizeof cadences[0]; i++)
        if (cadences[i].zone[0] == zone[0] && cadences[i].zone[1] == zone[1])
            ms = cadences[i].ms;
    memcpy(p->cadence, ms, sizeof p->cadence);
    p->ncadence = ms[2] ? 4 : 2;
}

static int16_t iabs(int16_t v) { return v < 0 ? (int16_t)-v : v; }
static int battery_seen(const struct lg_hal_port_sense *s) { return iabs(s->volts) >= 3 || iabs(s->loop_ma) >= 5; }
/* The line's polarity: the voltage's sign, or the current's when the loop is closed and the voltage small. */
static int reversed_seen(const struct lg_hal_port_sense *s) { return iabs(s->volts) >= 3 ? s->volts < 0 : s->loop_ma < 0; }

void lg_port_init(struct lg_port *p, unsigned index, int fxs, const uint8_t zone[2], uint32_t now)
{
    struct lg_hal_port_sense s;
    memset(p, 0, sizeof *p);
    p->fxs = (uint8_t)fxs;
    p->drive.battery = (uint8_t)fxs;      /* an FXS port feeds its phone from power-up */
    lg_port_set_zone(p, zone);
    lg_hal_port_drive(index, &p->drive);
    lg_hal_port_sense(index, &s);
    /* What the line is at power-up is the starting state, not an event. */
    lg_debounce_init(&p->hook, fxs && iabs(s.loop_ma) >= FXS_HOOK_MA, now);
    lg_debounce_init(&p->ring, 0, now);
    lg_debounce_init(&p->battery, (uint8_t)battery_seen(&s), now);
    lg_debounce_init(&p->reversed, (uint8_t)reversed_seen(&s), now);
}

static int command(struct lg_port *p, unsigned cmd, unsigned ms, uint32_t now, const char **why)
{
    if (!p->fxs) {
        switch (cmd) {
        case LG_PC_OFF_HOOK: p->want_offhook = 1; return LG_ST_OK;
        case LG_PC_ON_HOOK: p->want_offhook = 0; p->flashing = 0; return LG_ST_OK;
        case LG_PC_FLASH:
            if (ms < LG_FLASH_MIN_MS || ms > LG_FLASH_MAX_MS)
                return *why = "PORT_COMMAND.ms: a flash lasts 20..2000 ms", LG_ST_BAD_REQUEST;
            if (!p->want_offhook)
                return *why = "the port is on-hook: a flash needs it off-hook", LG_ST_WRONG_STATE;
            p->flashing = 1;
            p->flash_end = now + ms;
            return LG_ST_OK;
        default:
            return *why = "an FXO port takes ON_HOOK, OFF_HOOK and FLASH (the exchange rings and feeds battery)",
                   LG_ST_UNSUPPORTED;
        }
    }
    switch (cmd) {
    case LG_PC_RING_START:
        if (p->hook.state)
            return *why = "the phone is off-hook", LG_ST_WRONG_STATE;
        if (!p->drive.battery)
            return *why = "battery is off (BATTERY_ON first)", LG_ST_WRONG_STATE;
        if (!p->ring_active) {
            p->ring_active = 1;
            p->ring_fresh = 1;      /* the cadence starts at the tick that switches the ringing on */
            p->ring_seg = 0;
            p->seg_start = now;
        }
        return LG_ST_OK;
    case LG_PC_RING_STOP: p->ring_active = 0; return LG_ST_OK;
    case LG_PC_REVERSE_POLARITY: p->drive.reversed ^= 1; return LG_ST_OK;
    case LG_PC_BATTERY_ON: p->drive.battery = 1; return LG_ST_OK;
    case LG_PC_BATTERY_OFF: p->drive.battery = 0; p->ring_active = 0; return LG_ST_OK;
    default:
        return *why = "an FXS port takes RING_*, REVERSE_POLARITY and BATTERY_* (the phone owns the hook)",
               LG_ST_UNSUPPORTED;
    }
}

int lg_port_command(struct lg_port *p, unsigned index, unsigned cmd, unsigned ms, uint32_t now, const char **why)
{
    int st = command(p, cmd, ms, now, why);
    /* Apply the hook, battery and polarity now rather than at the next tick, so STATUS right after says what was asked. */
    if (!p->fxs) {
        p->drive.offhook = p->want_offhook && !p->flashing;
        if (!p->drive.offhook)
            p->loop_ma = 0;
    } else if (!p->ring_active)
        p->drive.ring = 0;
    lg_hal_port_drive(index, &p->drive);
    return st;
}

static int push(struct lg_port_ev *ev, int n, uint8_t event, uint16_t value)
{
    if (n < LG_PORT_MAX_EVENTS) {
        ev[n].event = event;
        ev[n].value = value;
        n++;
    }
    return n;
}

static int ev_has(const struct lg_port_ev *ev, int n, uint8_t event)
{
    for (int k = 0; k < n; k++)
        if (ev[k].event == event)
            return 1;
    return 0;
}

static int fxs_step(struct lg_port *p, unsigned index, uint32_t now, struct lg_port_ev *ev)
{
    struct lg_hal_port_sense s;
    int n = 0;
    if (p->ring_fresh) {
        p->ring_fresh = 0;
        p->seg_start = now;
    }
    while (p->ring_active && now - p->seg_start >= p->cadence[p->ring_seg]) {
        p->seg_start += p->cadence[p->ring_seg];
        p->ring_seg = (uint8_t)((p->ring_seg + 1) % p->ncadence);
    }
    p->drive.ring = p->ring_active && p->ring_seg % 2 == 0;
    lg_hal_port_drive(index, &p->drive);
    lg_hal_port_sense(index, &s);
    if (lg_debounce(&p->hook, iabs(s.loop_ma) >= FXS_HOOK_MA, now, HOOK_MS, HOOK_MS)) {
        n = push(ev, n, p->hook.state ? LG_PE_OFF_HOOK : LG_PE_ON_HOOK, 0);
        if (p->hook.state && p->ring_active) {
            /* Ring trip: the phone answered; stop the ringing voltage at once. */
            p->ring_active = 0;
            p->drive.ring = 0;
            lg_hal_port_drive(index, &p->drive);
        }
    }
    if (p->drive.ring != p->gen_on) {
        p->gen_on = p->drive.ring;
        n = push(ev, n, p->gen_on ? LG_PE_RING_ON : LG_PE_RING_OFF, 0);
    }
    p->loop_ma = p->hook.state ? (uint16_t)iabs(s.loop_ma) : 0;
    return n;
}

static int fxo_step(struct lg_port *p, unsigned index, uint32_t now, struct lg_port_ev *ev)
{
    struct lg_hal_port_sense s;
    int n = 0;
    if (p->flashing && (int32_t)(now - p->flash_end) >= 0)
        p->flashing = 0;
    p->drive.offhook = p->want_offhook && !p->flashing;
    lg_hal_port_drive(index, &p->drive);
    lg_hal_port_sense(index, &s);

    if (s.ring) {
        p->ring_seen = 1;
        p->last_ring_pulse = now;
    }
    int ringing = p->ring_seen && now - p->last_ring_pulse < RING_GAP_MS;
    if (lg_debounce(&p->ring, (uint8_t)ringing, now, RING_ON_MS, 0))
        n = push(ev, n, p->ring.state ? LG_PE_RING_ON : LG_PE_RING_OFF, 0);
    if (lg_debounce(&p->battery, (uint8_t)battery_seen(&s), now, BATTERY_MS, BATTERY_MS))
        n = push(ev, n, p->battery.state ? LG_PE_BATTERY_RESTORED : LG_PE_BATTERY_LOST, 0);
    /* Polarity is only defined while there is battery; without it the last polarity stands. */
    if (battery_seen(&s) && lg_debounce(&p->reversed, (uint8_t)reversed_seen(&s), now, POLARITY_MS, POLARITY_MS))
        n = push(ev, n, LG_PE_POLARITY_REVERSAL, 0);

    /* Caller ID comes on-hook, between the first and second ring (Bell 202, ETSI RP-AS) or after
     * a line reversal (ETSI DT-AS): the channel opens at RING_ON or POLARITY_REVERSAL and stays
     * open until 6 s after the last ring ended or the reversal; going off-hook ends the window. */
    if (p->drive.offhook || p->flashing) {
        p->cid_window = 0;
    } else if (ev_has(ev, n, LG_PE_RING_ON) || ev_has(ev, n, LG_PE_POLARITY_REVERSAL) ||
               (p->cid_window && (p->ring.state || ev_has(ev, n, LG_PE_RING_OFF)))) {
        p->cid_window = 1;
        p->cid_until = now + LG_CID_WINDOW_MS;
    } else if (p->cid_window && (int32_t)(now - p->cid_until) >= 0) {
        p->cid_window = 0;
    }

    uint16_t ma = p->drive.offhook ? (uint16_t)iabs(s.loop_ma) : 0;
    if (!p->drive.offhook) {
        p->ma_reported = 0;
    } else {
        if (ma + 2 < p->settle_ma || ma > p->settle_ma + 2) {
            p->settle_ma = ma;
            p->ma_since = now;
        }
        if (now - p->ma_since >= LOOP_SETTLE_MS &&
            (!p->ma_reported || ma + LOOP_STEP_MA <= p->reported_ma || ma >= p->reported_ma + LOOP_STEP_MA)) {
            p->reported_ma = ma;
            p->ma_reported = 1;
            n = push(ev, n, LG_PE_LOOP_CURRENT, ma);
        }
    }
    p->loop_ma = ma;
    return n;
}

int lg_port_step(struct lg_port *p, unsigned index, uint32_t now, struct lg_port_ev *ev)
{
    return p->fxs ? fxs_step(p, index, now, ev) : fxo_step(p, index, now, ev);
}

uint8_t lg_port_state(const struct lg_port *p)
{
    uint8_t st = 0;
    if (p->fxs) {
        st |= p->hook.state ? LG_PS_OFFHOOK : 0;
        st |= p->ring_active ? LG_PS_RINGING : 0;    /* a cadence runs, in its on or its off phase */
        st |= p->drive.battery ? LG_PS_BATTERY : 0;
        st |= p->drive.reversed ? LG_PS_REVERSED : 0;
    } else {
        st |= p->drive.offhook ? LG_PS_OFFHOOK : 0;
        st |= p->ring.state ? LG_PS_RINGING : 0;
        st |= p->battery.state ? LG_PS_BATTERY : 0;
        st |= p->reversed.state ? LG_PS_REVERSED : 0;
    }
    return st;
}
