/* The line models behind the native target's HAL (see line_model.h). Time is
 * the board's (lg_hal_ticks_ms); the state is what the firmware last drove. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../firmware/hal.h"
#include "../firmware/span.h"
#include "line_model.h"

enum what { LOS, AIS, LOF, RAI, ERRORS, OFFHOOK, RING, REVERSE, NOBATTERY, NWHAT };
static const char *const names[NWHAT] = {"los", "ais", "lof", "rai", "errors", "offhook", "ring", "reverse", "nobattery"};

#define MAX_CONDS 128
#define FOREVER 0xFFFFFFFFu
struct cond { uint8_t what, unit; uint32_t from, until; };
static struct cond conds[MAX_CONDS];
static unsigned nconds;
static uint8_t board_kind;

#define PORTS LG_MODEL_PORTS
#define SPANS LG_MODEL_SPANS
struct lg_model lg_model;

void lg_model_init(uint8_t kind)
{
    board_kind = kind;
    for (unsigned i = 0; i < SPANS; i++)
        memset(lg_model.span[i].cas_rx, LG_CAS_IDLE, sizeof lg_model.span[i].cas_rx);   /* until the far end says */
}

static int active(enum what w, unsigned unit, uint32_t now)
{
    for (unsigned i = 0; i < nconds; i++)
        if (conds[i].what == w && conds[i].unit == unit && now >= conds[i].from && now < conds[i].until)
            return 1;
    return 0;
}

/* Milliseconds a condition has held up to now (for the error counters). */
static uint32_t held(enum what w, unsigned unit, uint32_t now)
{
    uint32_t sum = 0;
    for (unsigned i = 0; i < nconds; i++)
        if (conds[i].what == w && conds[i].unit == unit && now > conds[i].from)
            sum += (now < conds[i].until ? now : conds[i].until) - conds[i].from;
    return sum;
}

static int parse_time(const char *s, const char *end, uint32_t *ms)
{
    char *e;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (e == s || errno || *s == '-' || *s == '+')
        return -1;
    if (end - e == 2 && !strncmp(e, "ms", 2))
        ;
    else if (end - e == 1 && *e == 's')
        v *= 1000;
    else if (!(e == end && v == 0))
        return -1;
    if (v >= FOREVER)
        return -1;
    *ms = (uint32_t)v;
    return 0;
}

static int fail(char *err, size_t n, const char *spec, const char *why)
{
    snprintf(err, n, "'%s': %s (want WHAT@UNIT[:FROM[-UNTIL]], e.g. los@span1, offhook@port0:300ms-1s)", spec, why);
    return -1;
}

int lg_model_condition(const char *spec, char *err, size_t errlen)
{
    struct cond c = {0, 0, 0, FOREVER};
    const char *at = strchr(spec, '@');
    if (!at)
        return fail(err, errlen, spec, "no '@'");
    size_t wl = (size_t)(at - spec);
    unsigned w = 0;
    while (w < NWHAT && (strlen(names[w]) != wl || strncmp(spec, names[w], wl)))
        w++;
    if (w == NWHAT)
        return fail(err, errlen, spec, "WHAT is one of los, ais, lof, rai, errors (spans), offhook, ring, reverse, nobattery (ports)");
    c.what = (uint8_t)w;
    int span = w <= ERRORS;
    const char *u = at + 1, *colon = strchr(u, ':');
    const char *uend = colon ? colon : u + strlen(u);
    const char *prefix = span ? "span" : "port";
    if ((size_t)(uend - u) < 5 || strncmp(u, prefix, 4) || uend - u != 5 || u[4] < '0' || u[4] > '9')
        return fail(err, errlen, spec, span ? "a span condition needs spanN" : "a port condition needs portN");
    c.unit = (uint8_t)(u[4] - '0');
    if (span && (board_kind != LG_KIND_E1X2 || c.unit >= SPANS))
        return fail(err, errlen, spec, board_kind != LG_KIND_E1X2 ? "this board kind has no spans" : "spans are span0, span1");
    if (!span) {
        if (board_kind == LG_KIND_E1X2 || c.unit >= PORTS)
            return fail(err, errlen, spec, board_kind == LG_KIND_E1X2 ? "this board kind has no ports" : "ports are port0..port3");
        if ((w == OFFHOOK) != (board_kind == LG_KIND_FXS4))
            return fail(err, errlen, spec, w == OFFHOOK ? "offhook is an FXS (phone) condition" : "ring, reverse and nobattery are FXO (exchange) conditions");
    }
    if (colon) {
        const char *dash = strchr(colon + 1, '-'), *end = colon + 1 + strlen(colon + 1);
        if (parse_time(colon + 1, dash ? dash : end, &c.from) ||
            (dash && parse_time(dash + 1, end, &c.until)))
            return fail(err, errlen, spec, "times are N ms or N s (e.g. 500ms, 2s)");
        if (c.until <= c.from)
            return fail(err, errlen, spec, "UNTIL must come after FROM");
    }
    if (nconds == MAX_CONDS)
        return fail(err, errlen, spec, "too many conditions (128 at most)");
    conds[nconds++] = c;
    return 0;
}

/* ---- analog ports ---- */
void lg_hal_port_drive(unsigned port, const struct lg_hal_port_drive *d)
{
    if (port >= PORTS)
        return;
    struct lg_model_port *m = &lg_model.port[port];
    /* Hook changes with their times, for the network (pulse dialling and flashes show there). */
    if (lg_model.exchange && d->offhook != m->drive.offhook) {
        if (m->nchanges == LG_MODEL_HOOK_CHANGES) {
            memmove(&m->change[0], &m->change[1], sizeof m->change - sizeof m->change[0]);
            m->nchanges--;
        }
        m->change[m->nchanges].at_ms = lg_hal_ticks_ms();
        m->change[m->nchanges].offhook = d->offhook;
        m->nchanges++;
    }
    m->drive = *d;
}

void lg_hal_port_sense(unsigned port, struct lg_hal_port_sense *s)
{
    uint32_t now = lg_hal_ticks_ms();
    const struct lg_model_port *m = &lg_model.port[port % PORTS];
    const struct lg_hal_port_drive *d = &m->drive;
    memset(s, 0, sizeof *s);
    if (board_kind == LG_KIND_FXS4) {
        int sign = d->reversed ? -1 : 1;
        if (!d->battery)
            return;
        if (active(OFFHOOK, port, now) || m->offhook) {
            s->volts = (int16_t)(6 * sign);
            s->loop_ma = (int16_t)((25 - 2 * (int)port) * sign);
        } else {
            s->volts = (int16_t)(48 * sign);
        }
        return;
    }
    if (active(NOBATTERY, port, now) || m->no_battery)
        return;
    int sign = active(REVERSE, port, now) || m->reversed ? -1 : 1;
    if (d->offhook) {
        s->volts = (int16_t)(8 * sign);
        s->loop_ma = (int16_t)((32 - 3 * (int)port) * sign);
    } else {
        s->volts = (int16_t)(48 * sign);
        /* 25 Hz ringing, half-wave detected: the detector is on for 20 ms of every 40. */
        s->ring = (uint8_t)((active(RING, port, now) || m->ring) && (now / 20) % 2 == 0);
    }
}

/* ---- spans ---- */
int lg_model_span_down(unsigned span, uint32_t now)
{
    return active(LOS, span, now) || active(AIS, span, now) || active(LOF, span, now) ||
           (span < SPANS && lg_model.span[span].no_signal);
}

void lg_hal_span_setup(unsigned span, const struct lg_hal_span_setup *s)
{
    if (span < SPANS)
        lg_model.span[span].framing = s->framing;
}

void lg_hal_span_tx_rai(unsigned span, int on) { (void)span; (void)on; /* not looped: see line_model.h */ }

void lg_hal_span_rx_status(unsigned span, struct lg_hal_span_rx *rx)
{
    uint32_t now = lg_hal_ticks_ms();
    memset(rx, 0, sizeof *rx);
    rx->signal = !active(LOS, span, now) && !(span < SPANS && lg_model.span[span].no_signal);
    rx->all_ones = rx->signal && active(AIS, span, now);
    rx->aligned = rx->signal && !rx->all_ones && !active(LOF, span, now);
    rx->remote_alarm = active(RAI, span, now);
    uint32_t e = held(ERRORS, span, now);
    rx->crc4_errors = e / 10;
    rx->bpv = e / 10;
    rx->slips = e / 1000;
}

uint8_t lg_hal_cas_rx(unsigned span, unsigned ts)
{
    if (span >= SPANS || ts >= 32)
        return 0xF;
    /* Looped, or what the network's far end sends. */
    return lg_model.exchange ? lg_model.span[span].cas_rx[ts] : lg_model.span[span].cas_tx[ts];
}

void lg_hal_cas_tx(unsigned span, unsigned ts, uint8_t abcd)
{
    if (span < SPANS && ts < 32)
        lg_model.span[span].cas_tx[ts] = abcd & 0xF;
}

int lg_model_hdlc_push(struct lg_model_hdlc_queue *q, const uint8_t *frame, size_t len)
{
    if (len > LG_MODEL_HDLC_MAX)
        return LG_E_ARG;
    if (q->n == LG_MODEL_HDLC_QUEUE)
        return LG_E_STATE;
    unsigned i = (q->head + q->n) % LG_MODEL_HDLC_QUEUE;
    q->len[i] = (uint16_t)len;
    memcpy(q->data[i], frame, len);
    q->n++;
    return LG_OK;
}

size_t lg_hal_hdlc_rx(unsigned span, uint8_t *frame, size_t max)
{
    if (span >= SPANS)
        return 0;
    struct lg_model_hdlc_queue *q = &lg_model.span[span].from_line;
    if (!q->n)
        return 0;
    unsigned i = q->head;
    size_t n = q->len[i];
    q->head = (i + 1) % LG_MODEL_HDLC_QUEUE;
    q->n--;
    if (n > max)
        return 0;
    memcpy(frame, q->data[i], n);
    return n;
}

int lg_hal_hdlc_tx(unsigned span, const uint8_t *frame, size_t len)
{
    if (span >= SPANS || len > LG_MODEL_HDLC_MAX)
        return LG_E_ARG;
    if (lg_model_span_down(span, lg_hal_ticks_ms()))
        return LG_OK;                       /* sent into a dead line: gone, as on a real one */
    /* Looped back at once, or queued for the network's next tick. */
    struct lg_model_span *s = &lg_model.span[span];
    return lg_model_hdlc_push(lg_model.exchange ? &s->to_line : &s->from_line, frame, len);
}

/* ---- audio: every channel looped, or exchanged with the network once a tick ---- */
static int audio_slot(unsigned unit, unsigned ch)
{
    if (board_kind == LG_KIND_E1X2)
        return unit < SPANS && ch < 32 ? (int)(unit * 32 + ch) : -1;
    return unit < PORTS && ch == 0 ? (int)unit : -1;
}

void lg_hal_audio_tx(unsigned unit, unsigned ch, unsigned law, const uint8_t block[160])
{
    int i = audio_slot(unit, ch);
    if (i < 0)
        return;
    struct lg_model_chan *c = &lg_model.chan[i];
    memcpy(c->tx, block, 160);
    c->law = (uint8_t)law;
    c->tx_valid = 1;
    if (board_kind == LG_KIND_E1X2)
        lg_model.span[unit].law = (uint8_t)law;
}

void lg_hal_line_exchange(uint32_t now)
{
    unsigned n = board_kind == LG_KIND_E1X2 ? SPANS * 32 : PORTS;
    /* Nothing passes a span that is down, either way. */
    for (unsigned i = 0; board_kind == LG_KIND_E1X2 && i < n; i++)
        if (lg_model_span_down(i / 32, now))
            lg_model.chan[i].tx_valid = 0;
    for (unsigned i = 0; i < n; i++)
        lg_model.chan[i].rx_valid = 0;
    if (lg_model.exchange) {
        lg_model.exchange(now);
    } else {
        for (unsigned i = 0; i < n; i++) {
            struct lg_model_chan *c = &lg_model.chan[i];
            if (c->tx_valid) {
                memcpy(c->rx, c->tx, 160);
                c->rx_valid = 1;
            }
        }
    }
    for (unsigned i = 0; i < n; i++) {
        lg_model.chan[i].tx_valid = 0;
        if (board_kind == LG_KIND_E1X2 && lg_model_span_down(i / 32, now))
            lg_model.chan[i].rx_valid = 0;
    }
}

int lg_hal_audio_rx(unsigned unit, unsigned ch, uint8_t block[160])
{
    int i = audio_slot(unit, ch);
    if (i < 0 || !lg_model.chan[i].rx_valid)
        return 0;
    memcpy(block, lg_model.chan[i].rx, 160);
    lg_model.chan[i].rx_valid = 0;
    return 1;
}

int lg_hal_line_notice(char *text, size_t max)
{
    return lg_model.notice ? lg_model.notice(text, max) : -1;
}
