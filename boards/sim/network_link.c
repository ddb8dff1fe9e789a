/* The board's side of boards/sim/LINESIDE.md (see network_link.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../firmware/span.h"
#include "network_link.h"

#define VALID_TS_MASK 0xFFFEFFFEu        /* timeslots 1..15 and 17..31 */
#define SENSE_BITS 0x0Fu                 /* 1 off-hook, 2 ring, 4 battery, 8 reversed */

static int net_fd = -1;
static struct lg_net_options opt;
static struct lg_board_id board;
static unsigned nports, nspans;
static struct lg_net_rx rx;
static uint16_t tick_seq;                /* HELLO is 0; ticks count from 1 */
static int lost;                         /* the link is gone: the lines are unplugged */
static uint32_t late_ticks, late_reported, last_late_log;
static int late_logged;
/* LOG notices for the firmware (hal.h's lg_hal_line_notice), oldest first */
static struct { int level; char text[200]; } notes[4];
static unsigned nnotes;
static uint8_t in[4096];
static size_t in_at, in_len;

/* ---- the receiver (I/O-free) ---- */
static int known_type(uint8_t t) { return t >= LG_NET_HELLO && t <= LG_NET_HDLC; }

void lg_net_rx_init(struct lg_net_rx *r, uint8_t kind, unsigned ports, unsigned spans)
{
    memset(r, 0, sizeof *r);
    lg_rx_init_types(&r->rx, known_type);
    r->kind = kind;
    r->ports = (uint8_t)ports;
    r->spans = (uint8_t)spans;
    r->expect = -1;
}

size_t lg_net_rx_push(struct lg_net_rx *r, const uint8_t *data, size_t n) { return lg_rx_push(&r->rx, data, n); }

static enum lg_net_rx_kind bad(struct lg_net_rx *r, const char *field, unsigned long value, uint64_t offset,
                               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static enum lg_net_rx_kind bad(struct lg_net_rx *r, const char *field, unsigned long value, uint64_t offset,
                               const char *fmt, ...)
{
    char why[120];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(r->text, sizeof r->text, "%s = %lu at stream byte %llu: %s", field, value, (unsigned long long)offset, why);
    return LG_NET_RX_ERROR;
}

static int popcount32(uint32_t v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

/* A TOCK's head (LINESIDE.md, "TOCK"); `at` is the payload's stream offset. */
static enum lg_net_rx_kind tock_head(struct lg_net_rx *r, const struct lg_rx_event *ev)
{
    struct lg_net_tock *t = &r->tock;
    const uint8_t *p = ev->payload;
    size_t n = ev->length, i = 0;
    uint64_t at = ev->frame_offset + LG_FRAME_HEADER;
    char f[48];
    memset(t, 0, offsetof(struct lg_net_tock, audio));
    for (unsigned s = 0; s < LG_MODEL_SPANS; s++)
        t->hdlc[s].n = t->hdlc[s].head = 0;
    t->seq = ev->seq;
    t->last_audio = -1;
    t->last_hdlc_span = -1;
#define NEED(k) do { if (n - i < (k)) return bad(r, "TOCK.payload", n, ev->frame_offset + 6, "ends inside its entries"); } while (0)
    NEED(1);
    t->nports = p[i++];
    if (t->nports > r->ports)
        return bad(r, "TOCK.ports", t->nports, at + i - 1, "this board has %u ports", r->ports);
    for (unsigned k = 0; k < t->nports; k++) {
        NEED(2);
        uint8_t port = p[i], sense = p[i + 1];
        snprintf(f, sizeof f, "TOCK.ports[%u].port", k);
        if (port >= r->ports)
            return bad(r, f, port, at + i, "this board has %u ports", r->ports);
        if ((t->port_listed >> port) & 1)
            return bad(r, f, port, at + i, "listed twice");
        snprintf(f, sizeof f, "TOCK.ports[%u].sense", k);
        if (sense & ~SENSE_BITS)
            return bad(r, f, sense, at + i + 1, "bits other than 1 off-hook, 2 ring, 4 battery, 8 reversed");
        t->port_listed |= (uint8_t)(1u << port);
        t->port[k].port = port;
        t->port[k].sense = sense;
        i += 2;
    }
    NEED(1);
    t->nspans = p[i++];
    if (t->nspans > r->spans)
        return bad(r, "TOCK.spans", t->nspans, at + i - 1, "this board has %u spans", r->spans);
    for (unsigned k = 0; k < t->nspans; k++) {
        NEED(6);
        uint8_t span = p[i], signal = p[i + 1];
        uint32_t mask = lg_get32(p + i + 2);
        snprintf(f, sizeof f, "TOCK.spans[%u].span", k);
        if (span >= r->spans)
            return bad(r, f, span, at + i, "this board has %u spans", r->spans);
        if ((t->span_listed >> span) & 1)
            return bad(r, f, span, at + i, "listed twice");
        snprintf(f, sizeof f, "TOCK.spans[%u].signal", k);
        if (signal > 1)
            return bad(r, f, signal, at + i + 1, "0 (loss of signal) or 1");
        snprintf(f, sizeof f, "TOCK.spans[%u].cas_mask", k);
        if (mask & ~VALID_TS_MASK)
            return bad(r, f, mask, at + i + 2, "CAS timeslots are 1..15 and 17..31");
        i += 6;
        NEED((size_t)popcount32(mask));
        t->span_listed |= (uint8_t)(1u << span);
        t->span[k].span = span;
        t->span[k].signal = signal;
        t->span[k].cas_mask = mask;
        for (unsigned ts = 1; ts < 32; ts++) {
            if (!((mask >> ts) & 1))
                continue;
            snprintf(f, sizeof f, "TOCK.spans[%u].abcd", k);
            if (p[i] > 15)
                return bad(r, f, p[i], at + i, "ABCD is 0..15 (timeslot %u)", ts);
            t->span[k].abcd[ts] = p[i++];
        }
    }
    NEED(2);
    t->naudio = p[i];
    t->nhdlc = p[i + 1];
    i += 2;
#undef NEED
    if (i != n)
        return bad(r, "TOCK.payload", n, ev->frame_offset + 6, "%zu bytes after its last field", n - i);
    return LG_NET_RX_NONE;
}

static enum lg_net_rx_kind tock_audio(struct lg_net_rx *r, const struct lg_rx_event *ev)
{
    struct lg_net_tock *t = &r->tock;
    const uint8_t *p = ev->payload;
    uint64_t at = ev->frame_offset + LG_FRAME_HEADER;
    if (ev->length != 162)
        return bad(r, "LINE_AUDIO.payload", ev->length, ev->frame_offset + 6, "LINE_AUDIO takes 162 bytes");
    if (t->got_audio == t->naudio)
        return bad(r, "LINE_AUDIO", t->got_audio + 1u, ev->frame_offset, "the TOCK announced %u", t->naudio);
    if (t->got_hdlc)
        return bad(r, "LINE_AUDIO", t->got_audio + 1u, ev->frame_offset, "after a LINE_HDLC of its tick");
    unsigned unit = p[0], ch = p[1];
    int slot;
    if (r->ports) {
        if (unit >= r->ports || !((t->port_listed >> unit) & 1))
            return bad(r, "LINE_AUDIO.unit", unit, at, "not a port its TOCK lists");
        if (ch != 0)
            return bad(r, "LINE_AUDIO.channel", ch, at + 1, "a port's channel is 0");
        slot = (int)unit;
    } else {
        if (unit >= r->spans || !((t->span_listed >> unit) & 1))
            return bad(r, "LINE_AUDIO.unit", unit, at, "not a span its TOCK lists");
        if (!((VALID_TS_MASK >> (ch & 31)) & 1) || ch > 31)
            return bad(r, "LINE_AUDIO.channel", ch, at + 1, "a span's channels are timeslots 1..15 and 17..31");
        slot = (int)(unit * 32 + ch);
    }
    if (slot <= t->last_audio)
        return bad(r, "LINE_AUDIO.unit", unit, at, "out of (unit, channel) order or twice");
    t->last_audio = slot;
    memcpy(t->audio[slot], p + 2, 160);
    t->audio_valid[slot] = 1;
    t->got_audio++;
    return LG_NET_RX_NONE;
}

static enum lg_net_rx_kind tock_hdlc(struct lg_net_rx *r, const struct lg_rx_event *ev)
{
    struct lg_net_tock *t = &r->tock;
    const uint8_t *p = ev->payload;
    uint64_t at = ev->frame_offset + LG_FRAME_HEADER;
    if (ev->length < 2 || ev->length > 1 + LG_MODEL_HDLC_MAX)
        return bad(r, "LINE_HDLC.frame", ev->length ? ev->length - 1u : 0, at + 1, "1..260 bytes");
    if (t->got_hdlc == t->nhdlc)
        return bad(r, "LINE_HDLC", t->got_hdlc + 1u, ev->frame_offset, "the TOCK announced %u", t->nhdlc);
    unsigned span = p[0];
    if (span >= r->spans || !((t->span_listed >> span) & 1))
        return bad(r, "LINE_HDLC.span", span, at, "not a span its TOCK lists");
    if ((int)span < t->last_hdlc_span)
        return bad(r, "LINE_HDLC.span", span, at, "out of span order");
    t->last_hdlc_span = (int)span;
    if (lg_model_hdlc_push(&t->hdlc[span], p + 1, ev->length - 1u) != LG_OK)
        return bad(r, "LINE_HDLC", t->hdlc[span].n + 1u, ev->frame_offset, "more than %d frames for one span in a tick",
                   LG_MODEL_HDLC_QUEUE);
    t->got_hdlc++;
    return LG_NET_RX_NONE;
}

enum lg_net_rx_kind lg_net_rx_next(struct lg_net_rx *r)
{
    struct lg_rx_event ev;
    enum lg_net_rx_kind k;
    while (lg_rx_next(&r->rx, &ev) != LG_RX_NONE) {
        if (ev.kind == LG_RX_ERROR)
            return bad(r, ev.field, ev.value, ev.offset, ev.error == LG_RXE_TYPE ? "not a line-side message type" :
                       ev.error == LG_RXE_CRC ? "the CRC does not match" : "not a frame of LINESIDE.md");
        if (r->rx.noise)
            return bad(r, "sync", r->rx.noise, ev.frame_offset, "bytes outside a frame: a line link carries frames only");
        switch (ev.type) {
        case LG_NET_WELCOME:
            if (ev.seq != 0)
                return bad(r, "WELCOME.seq", ev.seq, ev.frame_offset + 4, "the HELLO's seq is 0");
            if (ev.length != 1 || ev.payload[0] != LG_NET_VERSION)
                return bad(r, "WELCOME.version", ev.length == 1 ? ev.payload[0] : 0, ev.frame_offset + LG_FRAME_HEADER,
                           "this board speaks line-side version %d", LG_NET_VERSION);
            return LG_NET_RX_WELCOME;
        case LG_NET_REFUSED: {
            if (!ev.length)
                return bad(r, "REFUSED.reason", 0, ev.frame_offset + LG_FRAME_HEADER, "empty: a refusal gives its reason");
            size_t n = ev.length < sizeof r->text - 1 ? ev.length : sizeof r->text - 1;
            memcpy(r->text, ev.payload, n);
            r->text[n] = 0;
            return LG_NET_RX_REFUSED;
        }
        case LG_NET_TOCK:
            if (r->expect >= 0 && ev.seq != r->expect)
                continue;                   /* an answer that came too late: its tick has gone */
            if (r->open)
                return bad(r, "TOCK", ev.seq, ev.frame_offset, "before the parts of the last one (%u audio, %u HDLC due)",
                           r->tock.naudio - r->tock.got_audio, r->tock.nhdlc - r->tock.got_hdlc);
            if ((k = tock_head(r, &ev)) != LG_NET_RX_NONE)
                return k;
            r->open = 1;
            break;
        case LG_NET_AUDIO:
        case LG_NET_HDLC:
            if (r->expect >= 0 && ev.seq != r->expect)
                continue;                   /* a part of an answer that came too late */
            if (!r->open || ev.seq != r->tock.seq)
                return bad(r, ev.type == LG_NET_AUDIO ? "LINE_AUDIO.seq" : "LINE_HDLC.seq", ev.seq, ev.frame_offset + 4,
                           "not the seq of a TOCK it follows");
            if ((k = ev.type == LG_NET_AUDIO ? tock_audio(r, &ev) : tock_hdlc(r, &ev)) != LG_NET_RX_NONE)
                return k;
            break;
        default:
            return bad(r, "type", ev.type, ev.frame_offset + 3, "a board-to-network message");
        }
        if (r->open && r->tock.got_audio == r->tock.naudio && r->tock.got_hdlc == r->tock.nhdlc) {
            r->open = 0;
            return LG_NET_RX_TOCK;
        }
    }
    return LG_NET_RX_NONE;
}

/* ---- the link ---- */
static uint64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void note(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(int level, const char *fmt, ...)
{
    va_list ap;
    if (nnotes == sizeof notes / sizeof notes[0])
        return;
    va_start(ap, fmt);
    vsnprintf(notes[nnotes].text, sizeof notes[nnotes].text, fmt, ap);
    va_end(ap);
    notes[nnotes].level = level;
    fprintf(stderr, "linegate-fw-native: %s\n", notes[nnotes].text);
    nnotes++;
}

static int notice(char *text, size_t max)
{
    if (!nnotes)
        return -1;
    snprintf(text, max, "%s", notes[0].text);
    int level = notes[0].level;
    memmove(&notes[0], &notes[1], sizeof notes[0] * (--nnotes));
    return level;
}

/* The far end is gone: an unplugged line from now on (LINESIDE.md, "Start, lockstep and failure"). */
static void unplug(void)
{
    for (unsigned i = 0; i < LG_MODEL_PORTS; i++) {
        lg_model.port[i].ring = 0;
        lg_model.port[i].no_battery = 1;
        lg_model.port[i].reversed = 0;
        lg_model.port[i].offhook = 0;
    }
    for (unsigned i = 0; i < LG_MODEL_SPANS; i++) {
        lg_model.span[i].no_signal = 1;
        lg_model.span[i].to_line.n = 0;
    }
}

static void lose(const char *why)
{
    note(3, "network %s: %s; the lines are unplugged from now on", opt.url, why);
    lost = 1;
    if (net_fd >= 0)
        close(net_fd);
    net_fd = -1;
    unplug();
}

static int send_all(const uint8_t *b, size_t n)
{
    while (n) {
        ssize_t k = send(net_fd, b, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Waits for the next whole message: up to wait_ms of real time in all, or (silence) until the
 * network has sent nothing for wait_ms; NONE on time-out. A closed link or a read error is an
 * ERROR with the reason in rx.text. */
static enum lg_net_rx_kind receive(uint32_t wait_ms, int silence)
{
    uint64_t deadline = mono_ms() + wait_ms;
    for (;;) {
        enum lg_net_rx_kind k;
        while ((k = lg_net_rx_next(&rx)) == LG_NET_RX_NONE && in_at < in_len)
            in_at += lg_net_rx_push(&rx, in + in_at, in_len - in_at);
        if (k != LG_NET_RX_NONE)
            return k;
        int64_t left = (int64_t)(deadline - mono_ms());
        if (left <= 0)
            return LG_NET_RX_NONE;
        struct pollfd p = {net_fd, POLLIN, 0};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0)
            return LG_NET_RX_NONE;
        ssize_t n = recv(net_fd, in, sizeof in, 0);
        if (n <= 0) {
            snprintf(rx.text, sizeof rx.text, "%s", n == 0 ? "the network closed the link" : strerror(errno));
            return LG_NET_RX_ERROR;
        }
        in_at = 0;
        in_len = (size_t)n;
        if (silence)
            deadline = mono_ms() + wait_ms;
    }
}

/* Appends one frame whose payload the caller wrote at out + *at + LG_FRAME_HEADER. */
static void frame_at(uint8_t *out, size_t *at, uint8_t type, uint16_t seq, size_t len)
{
    *at += (size_t)lg_frame_encode(out + *at, type, seq, out + *at + LG_FRAME_HEADER, len);
}

/* The TICK and its parts, in one buffer: at most the head, 64 blocks and 2 x 16 HDLC frames. */
static uint8_t out[LG_MAX_FRAME * (1 + LG_MODEL_SPANS * 32 + LG_MODEL_SPANS * LG_MODEL_HDLC_QUEUE)];

static size_t build_tick(uint32_t now, uint16_t seq)
{
    uint8_t *p = out + LG_FRAME_HEADER;
    size_t i = 0, at;
    unsigned nchan = nspans ? LG_MODEL_SPANS * 32 : nports, naudio = 0, nhdlc = 0;
    lg_put32(p, now);
    i = 4;
    p[i++] = (uint8_t)nports;
    for (unsigned k = 0; k < nports; k++) {
        struct lg_model_port *m = &lg_model.port[k];
        const struct lg_hal_port_drive *d = &m->drive;
        p[i++] = (uint8_t)k;
        p[i++] = (uint8_t)((d->offhook ? 1 : 0) | (d->ring ? 2 : 0) | (d->battery ? 4 : 0) | (d->reversed ? 8 : 0));
        p[i++] = lg_model.chan[k].law;
        p[i++] = m->nchanges;
        for (unsigned c = 0; c < m->nchanges; c++) {
            uint32_t before = now - m->change[c].at_ms;
            before -= before % 5;                 /* the line's resolution */
            lg_put16(p + i, (uint16_t)(before > 0xFFFF ? 0xFFFF : before));
            p[i + 2] = m->change[c].offhook;
            i += 3;
        }
        m->nchanges = 0;
    }
    p[i++] = (uint8_t)nspans;
    for (unsigned s = 0; s < nspans; s++) {
        struct lg_model_span *sp = &lg_model.span[s];
        uint32_t mask = sp->framing == LG_FRAMING_CAS ? VALID_TS_MASK : 0;
        p[i++] = (uint8_t)s;
        p[i++] = sp->law;
        lg_put32(p + i, mask);
        i += 4;
        for (unsigned ts = 1; ts < 32; ts++)
            if ((mask >> ts) & 1)
                p[i++] = sp->cas_tx[ts];
    }
    for (unsigned c = 0; c < nchan; c++)
        naudio += lg_model.chan[c].tx_valid;
    for (unsigned s = 0; s < nspans; s++)
        nhdlc += lg_model.span[s].to_line.n;
    p[i++] = (uint8_t)naudio;
    p[i++] = (uint8_t)nhdlc;
    at = 0;
    frame_at(out, &at, LG_NET_TICK, seq, i);
    for (unsigned c = 0; c < nchan; c++) {
        struct lg_model_chan *ch = &lg_model.chan[c];
        if (!ch->tx_valid)
            continue;
        uint8_t *q = out + at + LG_FRAME_HEADER;
        q[0] = (uint8_t)(nspans ? c / 32 : c);
        q[1] = (uint8_t)(nspans ? c % 32 : 0);
        memcpy(q + 2, ch->tx, 160);
        frame_at(out, &at, LG_NET_AUDIO, seq, 162);
    }
    for (unsigned s = 0; s < nspans; s++) {
        struct lg_model_hdlc_queue *q = &lg_model.span[s].to_line;
        for (; q->n; q->n--, q->head = (q->head + 1) % LG_MODEL_HDLC_QUEUE) {
            uint8_t *f = out + at + LG_FRAME_HEADER;
            f[0] = (uint8_t)s;
            memcpy(f + 1, q->data[q->head], q->len[q->head]);
            frame_at(out, &at, LG_NET_HDLC, seq, 1u + q->len[q->head]);
        }
    }
    return at;
}

static void apply(const struct lg_net_tock *t)
{
    for (unsigned k = 0; k < t->nports; k++) {
        struct lg_model_port *m = &lg_model.port[t->port[k].port];
        uint8_t s = t->port[k].sense;
        m->offhook = s & 1;
        m->ring = (s >> 1) & 1;
        m->no_battery = !((s >> 2) & 1);
        m->reversed = (s >> 3) & 1;
    }
    for (unsigned k = 0; k < t->nspans; k++) {
        struct lg_model_span *sp = &lg_model.span[t->span[k].span];
        sp->no_signal = !t->span[k].signal;
        for (unsigned ts = 1; ts < 32; ts++)
            if ((t->span[k].cas_mask >> ts) & 1)
                sp->cas_rx[ts] = t->span[k].abcd[ts];
    }
    unsigned nchan = nspans ? LG_MODEL_SPANS * 32 : nports;
    for (unsigned c = 0; c < nchan; c++) {
        if (!t->audio_valid[c])
            continue;
        memcpy(lg_model.chan[c].rx, t->audio[c], 160);
        lg_model.chan[c].rx_valid = 1;
    }
    for (unsigned s = 0; s < nspans; s++) {
        const struct lg_model_hdlc_queue *q = &t->hdlc[s];
        for (unsigned k = 0; k < q->n; k++) {
            unsigned j = (q->head + k) % LG_MODEL_HDLC_QUEUE;
            /* A receiver whose queue is full loses the frame, as a real one would. */
            lg_model_hdlc_push(&lg_model.span[s].from_line, q->data[j], q->len[j]);
        }
    }
}

/* The line model's exchange at each audio tick (line_model.h). */
static void exchange(uint32_t now)
{
    if (lost)
        return;
    uint16_t seq = ++tick_seq ? tick_seq : ++tick_seq;   /* 0 is the HELLO's */
    size_t n = build_tick(now, seq);
    if (send_all(out, n) != 0) {
        lose(errno == EPIPE || errno == ECONNRESET ? "the network closed the link" : strerror(errno));
        return;
    }
    rx.expect = seq;
    rx.open = 0;
    enum lg_net_rx_kind k;
    if (opt.virtual_clock) {
        /* Lockstep: the board's time stands still until the answer; only silence ends it. */
        k = receive(opt.silence_ms, 1);
        if (k == LG_NET_RX_NONE) {
            char why[80];
            snprintf(why, sizeof why, "no answer to tick %u for %lu ms", seq, (unsigned long)opt.silence_ms);
            lose(why);
            return;
        }
    } else {
        k = receive(LG_NET_REALTIME_WAIT_MS, 0);
        if (k == LG_NET_RX_NONE) {
            /* Silence and the last sense for this tick; the answer is skipped when it comes. */
            late_ticks++;
            if (!late_logged || now - last_late_log >= 1000) {
                note(2, "network %s: %lu ticks late so far (%lu since the last report): no TOCK within %d ms",
                     opt.url, (unsigned long)late_ticks, (unsigned long)(late_ticks - late_reported), LG_NET_REALTIME_WAIT_MS);
                late_logged = 1;
                late_reported = late_ticks;
                last_late_log = now;
            }
            return;
        }
    }
    if (k == LG_NET_RX_TOCK)
        apply(&rx.tock);
    else if (k == LG_NET_RX_ERROR)
        lose(rx.text);
    else
        lose(k == LG_NET_RX_WELCOME ? "a WELCOME in the middle of the link" : "a REFUSED in the middle of the link");
}

static int connect_url(const char *url, char *err, size_t errlen)
{
    int fd;
    if (!strncmp(url, "unix:", 5)) {
        struct sockaddr_un a = {0};
        a.sun_family = AF_UNIX;
        if (!url[5] || strlen(url + 5) >= sizeof a.sun_path) {
            snprintf(err, errlen, "--network %s: a unix: URL names a socket path (up to %zu bytes)", url,
                     sizeof a.sun_path - 1);
            return -2;
        }
        memcpy(a.sun_path, url + 5, strlen(url + 5));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            snprintf(err, errlen, "--network %s: cannot connect: %s", url, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        return fd;
    }
    char host[256];
    const char *hp = url + 6, *colon;
    if (strncmp(url, "tcp://", 6) || !(colon = strrchr(hp, ':')) || colon == hp || (size_t)(colon - hp) >= sizeof host ||
        !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
        snprintf(err, errlen, "--network %s: want unix:PATH or tcp://HOST:PORT", url);
        return -2;
    }
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = 0;
    struct addrinfo hints = {0}, *ai;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc) {
        snprintf(err, errlen, "--network %s: %s", url, gai_strerror(rc));
        return -2;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(err, errlen, "--network %s: cannot connect: %s", url, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   /* a lockstep of small frames */
    return fd;
}

int lg_net_start(const struct lg_net_options *o, const struct lg_board_id *id, char *err, size_t errlen)
{
    opt = *o;
    board = *id;
    nports = board.kind == LG_KIND_E1X2 ? 0 : LG_MODEL_PORTS;
    nspans = board.kind == LG_KIND_E1X2 ? LG_MODEL_SPANS : 0;
    net_fd = connect_url(o->url, err, errlen);
    if (net_fd < 0)
        return net_fd;
    lg_net_rx_init(&rx, board.kind, nports, nspans);
    uint8_t *p = out + LG_FRAME_HEADER;
    p[0] = LG_NET_VERSION;
    p[1] = board.kind;
    memcpy(p + 2, board.serial, 16);
    p[18] = (uint8_t)nports;
    p[19] = (uint8_t)nspans;
    size_t at = 0;
    frame_at(out, &at, LG_NET_HELLO, 0, 20);
    if (send_all(out, at) != 0) {
        snprintf(err, errlen, "--network %s: sending HELLO failed: %s", o->url, strerror(errno));
        return -1;
    }
    rx.expect = 0;
    enum lg_net_rx_kind k = receive(o->silence_ms, 1);
    if (k == LG_NET_RX_WELCOME) {
        lg_model.exchange = exchange;
        lg_model.notice = notice;
        return 0;
    }
    if (k == LG_NET_RX_REFUSED)
        snprintf(err, errlen, "--network %s refused this board: %s", o->url, rx.text);
    else if (k == LG_NET_RX_NONE)
        snprintf(err, errlen, "--network %s: no answer to HELLO within %lu ms", o->url, (unsigned long)o->silence_ms);
    else
        snprintf(err, errlen, "--network %s: %s", o->url, rx.text);
    close(net_fd);
    net_fd = -1;
    return -1;
}
