#include <stdio.h>
#include <string.h>

#include "firmware.h"
#include "msg.h"

/* Channels. An analog port has one (channel 0); a span's B-channels are
 * timeslots 1..15 and 17..31 (16 carries CAS or the D-channel). A channel is
 * open, and AUDIO flows both ways every 20 ms, while its line is in use (an
 * analog loop is closed: our FXO hook off, or the FXS phone off-hook) or the
 * host uses it (a tone plays, or the host sent AUDIO in the last second):
 * E1 timeslots have no loop to tell, so the host opens them by sending. */
static int chan_index(const struct lg_line *l, unsigned unit, unsigned ch, const char **why)
{
    if (l->nspans) {
        if (unit >= l->nspans)
            return *why = "span: this board has 2 spans (0, 1)", -1;
        if (!lg_span_timeslot_ok(ch))
            return *why = "channel: a span's B-channels are timeslots 1..15 and 17..31", -1;
        return (int)(unit * 32 + ch);
    }
    if (unit >= l->nports)
        return *why = "port: this board has 4 ports (0..3)", -1;
    if (ch != 0)
        return *why = "channel: an analog port has channel 0 only", -1;
    return (int)unit;
}

static unsigned chan_law(const struct lg_line *l, unsigned idx)
{
    return l->nspans ? l->cfg.span[idx / 32].law : l->cfg.port[idx].law;
}

/* Gain in 0.1 dB on a G.711 block (analog ports only: an E1 carries digital audio untouched). */
static void gain(uint8_t *b, unsigned law, int tenth_db)
{
    if (!tenth_db)
        return;
    int32_t g = lg_gain_q12(tenth_db);
    for (unsigned i = 0; i < LG_BLOCK; i++)
        b[i] = lg_g711_encode(law, (int)(((int64_t)lg_g711_decode(law, b[i]) * g) >> 12));
}

static void drop(struct lg_fw *fw, const char *what)
{
    struct lg_line *l = &fw->line;
    uint32_t now = lg_hal_ticks_ms();
    l->dropped++;
    /* One LOG a second at most: a host streaming to a wrong place must not flood the link with warnings. */
    if (l->dropped == 1 || now - l->last_drop_log >= 1000) {
        char t[160];
        l->last_drop_log = now;
        snprintf(t, sizeof t, "line: %s dropped (%lu host frames dropped so far)", what, (unsigned long)l->dropped);
        lg_fw_log(fw, 2, t);
    }
}

void lg_line_start(struct lg_fw *fw)
{
    struct lg_line *l = &fw->line;
    uint32_t now = lg_hal_ticks_ms();
    char t[96];
    memset(l, 0, sizeof *l);
    if (fw->boot.running)
        return;                     /* the bootloader drives no line */
    l->kind = fw->boot.board.kind;
    l->nports = l->kind == LG_KIND_E1X2 ? 0 : 4;
    l->nspans = l->kind == LG_KIND_E1X2 ? 2 : 0;
    l->cfg_loaded = (uint8_t)lg_config_load(&l->cfg, l->kind, &l->cfg_seq);
    for (unsigned i = 0; i < l->nports; i++)
        lg_port_init(&l->port[i], i, l->kind == LG_KIND_FXS4, l->cfg.port[i].zone, now);
    for (unsigned i = 0; i < l->nspans; i++) {
        const struct lg_span_config *c = &l->cfg.span[i];
        struct lg_hal_span_setup su = {c->framing, c->crc4, c->coding, c->clock_priority};
        lg_hal_span_setup(i, &su);
        lg_span_init(&l->span[i], i, c->framing, now);
    }
    l->next_tick = now;
    l->next_audio = now + LG_AUDIO_MS;
    l->started = 1;
    if (l->cfg_loaded)
        snprintf(t, sizeof t, "line: configuration record %lu restored", (unsigned long)l->cfg_seq);
    else
        snprintf(t, sizeof t, "line: no stored configuration: defaults");
    lg_fw_log(fw, 1, t);
}

/* Stores the changed configuration; an unchanged one is not rewritten (flash wear). */
static void store(struct lg_fw *fw, uint16_t seq, const struct lg_line_config *n)
{
    struct lg_line *l = &fw->line;
    if (memcmp(n, &l->cfg, sizeof *n) != 0 || !l->cfg_loaded) {
        uint32_t s;
        if (lg_config_store(n, &s) != LG_OK) {
            lg_fw_result(fw, seq, LG_ST_FLASH_ERROR, "writing the configuration record failed");
            return;
        }
        l->cfg_seq = s;
        l->cfg_loaded = 1;
    }
    l->cfg = *n;
    lg_fw_result(fw, seq, LG_ST_OK, "");
}

static void configure_span(struct lg_fw *fw, uint16_t seq, const uint8_t *p)
{
    struct lg_line *l = &fw->line;
    char d[64];
    if (!l->nspans) {
        lg_fw_result(fw, seq, LG_ST_UNSUPPORTED, "this board kind has no spans");
        return;
    }
    if (p[0] >= l->nspans) {
        snprintf(d, sizeof d, "span %u: this board has %u", p[0], l->nspans);
        lg_fw_result(fw, seq, LG_ST_BAD_REQUEST, d);
        return;
    }
    struct lg_line_config n = l->cfg;
    struct lg_span_config *c = &n.span[p[0]];
    c->framing = p[1];
    c->crc4 = p[2];
    c->coding = p[3];
    c->clock_priority = p[4];
    c->law = p[5];
    store(fw, seq, &n);
    struct lg_hal_span_setup su = {c->framing, c->crc4, c->coding, c->clock_priority};
    lg_hal_span_setup(p[0], &su);
    l->span[p[0]].framing = l->cfg.span[p[0]].framing;
}

static void configure_port(struct lg_fw *fw, uint16_t seq, const uint8_t *p)
{
    struct lg_line *l = &fw->line;
    char d[64];
    int16_t rx = (int16_t)lg_get16(p + 4), tx = (int16_t)lg_get16(p + 6);
    if (!l->nports) {
        lg_fw_result(fw, seq, LG_ST_UNSUPPORTED, "this board kind has no ports");
        return;
    }
    if (p[0] >= l->nports) {
        snprintf(d, sizeof d, "port %u: this board has %u", p[0], l->nports);
        lg_fw_result(fw, seq, LG_ST_BAD_REQUEST, d);
        return;
    }
    if (rx < -LG_GAIN_LIMIT || rx > LG_GAIN_LIMIT || tx < -LG_GAIN_LIMIT || tx > LG_GAIN_LIMIT) {
        snprintf(d, sizeof d, "CONFIGURE_PORT.%s = %d: outside -120..120 (0.1 dB)", rx < -LG_GAIN_LIMIT || rx > LG_GAIN_LIMIT ? "rx_gain" : "tx_gain",
                 rx < -LG_GAIN_LIMIT || rx > LG_GAIN_LIMIT ? rx : tx);
        lg_fw_result(fw, seq, LG_ST_BAD_REQUEST, d);
        return;
    }
    struct lg_line_config n = l->cfg;
    struct lg_port_config *c = &n.port[p[0]];
    c->law = p[1];
    c->zone[0] = p[2];
    c->zone[1] = p[3];
    c->rx_gain = rx;
    c->tx_gain = tx;
    store(fw, seq, &n);
    lg_port_set_zone(&l->port[p[0]], l->cfg.port[p[0]].zone);
}

/* CONFIG_GET: the configuration held (as stored, or the defaults), in CONFIGURE_*'s own layout. */
static void config_get(struct lg_fw *fw, uint16_t seq, const uint8_t *p)
{
    struct lg_line *l = &fw->line;
    unsigned have = p[0] == 0 ? l->nspans : l->nports;
    const char *what = p[0] == 0 ? "span" : "port";
    char d[64];
    uint8_t *o = fw->payload;
    if (!have) {
        snprintf(d, sizeof d, "this board kind has no %ss", what);
        lg_fw_result(fw, seq, LG_ST_UNSUPPORTED, d);
        return;
    }
    if (p[1] >= have) {
        snprintf(d, sizeof d, "%s %u: this board has %u", what, p[1], have);
        lg_fw_result(fw, seq, LG_ST_BAD_REQUEST, d);
        return;
    }
    o[0] = p[1];
    if (p[0] == 0) {
        const struct lg_span_config *c = &l->cfg.span[p[1]];
        o[1] = c->framing;
        o[2] = c->crc4;
        o[3] = c->coding;
        o[4] = c->clock_priority;
        o[5] = c->law;
        lg_fw_send(fw, LG_MSG_SPAN_CONFIG, seq, 6);
    } else {
        const struct lg_port_config *c = &l->cfg.port[p[1]];
        o[1] = c->law;
        o[2] = (uint8_t)c->zone[0];
        o[3] = (uint8_t)c->zone[1];
        lg_put16(o + 4, (uint16_t)c->rx_gain);
        lg_put16(o + 6, (uint16_t)c->tx_gain);
        lg_fw_send(fw, LG_MSG_PORT_CONFIG, seq, 8);
    }
}

static void port_command(struct lg_fw *fw, uint16_t seq, const uint8_t *p)
{
    struct lg_line *l = &fw->line;
    const char *why = "";
    char d[64];
    if (!l->nports) {
        lg_fw_result(fw, seq, LG_ST_UNSUPPORTED, "this board kind has no ports");
        return;
    }
    if (p[0] >= l->nports) {
        snprintf(d, sizeof d, "port %u: this board has %u", p[0], l->nports);
        lg_fw_result(fw, seq, LG_ST_BAD_REQUEST, d);
        return;
    }
    int st = lg_port_command(&l->port[p[0]], p[0], p[1], lg_get16(p + 2), lg_hal_ticks_ms(), &why);
    lg_fw_result(fw, seq, (uint8_t)st, st == LG_ST_OK ? "" : why);
}

static void tone(struct lg_fw *fw, uint16_t seq, const uint8_t *p)
{
    struct lg_line *l = &fw->line;
    const char *why = "";
    int idx = chan_index(l, p[0], p[1], &why);
    if (idx < 0) {
        lg_fw_result(fw, seq, LG_ST_BAD_REQUEST, why);
        return;
    }
    struct lg_chan *c = &l->chan[idx];
    if (lg_tone_start(&c->tone, lg_get16(p + 2), lg_get16(p + 4), (int16_t)lg_get16(p + 6), lg_get16(p + 8),
                      lg_get16(p + 10), p[12], &why) != LG_OK) {
        lg_fw_result(fw, seq, LG_ST_BAD_REQUEST, why);
        return;
    }
    c->last_use = lg_hal_ticks_ms();   /* the channel opens at the next audio tick */
    c->fed = 1;
    lg_fw_result(fw, seq, LG_ST_OK, "");
}

static void host_audio(struct lg_fw *fw, const uint8_t *p)
{
    struct lg_line *l = &fw->line;
    const char *why = "";
    char what[96];
    int idx = chan_index(l, p[0], p[1], &why);
    if (idx < 0) {
        snprintf(what, sizeof what, "AUDIO for unit %u channel %u (%s)", p[0], p[1], why);
        drop(fw, what);
        return;
    }
    struct lg_chan *c = &l->chan[idx];
    unsigned law = chan_law(l, (unsigned)idx);
    if (c->qlen == LG_AUDIO_QUEUE) {
        /* The host runs ahead of the line's clock: drop the oldest block, keep the delay bounded. */
        c->qhead = (uint8_t)((c->qhead + 1) % LG_AUDIO_QUEUE);
        c->qlen--;
        l->queue_overruns++;
    }
    uint8_t *b = c->q[(c->qhead + c->qlen) % LG_AUDIO_QUEUE];
    c->qlen++;
    if (p[2] == law) {
        memcpy(b, p + 7, LG_BLOCK);
    } else {
        for (unsigned i = 0; i < LG_BLOCK; i++)   /* the host's law is not the line's: transcode */
            b[i] = lg_g711_encode(law, lg_g711_decode(p[2], p[7 + i]));
    }
    c->last_use = lg_hal_ticks_ms();
    c->fed = 1;
}

static void host_cas(struct lg_fw *fw, const uint8_t *p)
{
    struct lg_line *l = &fw->line;
    char what[96];
    if (!l->nspans || p[0] >= l->nspans || l->span[p[0]].framing != LG_FRAMING_CAS) {
        snprintf(what, sizeof what, "CAS for span %u (%s)", p[0],
                 !l->nspans || p[0] >= l->nspans ? "no such span" : "the span is configured CCS");
        drop(fw, what);
        return;
    }
    lg_span_cas_send(&l->span[p[0]], p[0], p[1], p[2]);
}

static void host_hdlc(struct lg_fw *fw, const uint8_t *p, size_t n)
{
    struct lg_line *l = &fw->line;
    char what[96];
    if (!l->nspans || p[0] >= l->nspans || l->span[p[0]].framing != LG_FRAMING_CCS) {
        snprintf(what, sizeof what, "HDLC for span %u (%s)", p[0],
                 !l->nspans || p[0] >= l->nspans ? "no such span" : "the span is configured CAS: no D-channel");
        drop(fw, what);
        return;
    }
    if (lg_hal_hdlc_tx(p[0], p + 1, n - 1) != LG_OK) {
        snprintf(what, sizeof what, "HDLC for span %u (the transmitter's queue is full)", p[0]);
        drop(fw, what);
    }
}

void lg_line_request(struct lg_fw *fw, const struct lg_rx_event *ev)
{
    const uint8_t *p = ev->payload;
    if (!fw->line.started) {
        if (ev->type == LG_MSG_CAS || ev->type == LG_MSG_HDLC || ev->type == LG_MSG_AUDIO)
            return;     /* no reply to a stream; the bootloader has no line to give it to */
        lg_fw_result(fw, ev->seq, LG_ST_WRONG_STATE, "the bootloader runs: no line side until firmware boots");
        return;
    }
    switch (ev->type) {
    case LG_MSG_CONFIGURE_SPAN: configure_span(fw, ev->seq, p); break;
    case LG_MSG_CONFIGURE_PORT: configure_port(fw, ev->seq, p); break;
    case LG_MSG_CONFIG_GET: config_get(fw, ev->seq, p); break;
    case LG_MSG_PORT_COMMAND: port_command(fw, ev->seq, p); break;
    case LG_MSG_TONE: tone(fw, ev->seq, p); break;
    case LG_MSG_AUDIO: host_audio(fw, p); break;
    case LG_MSG_CAS: host_cas(fw, p); break;
    case LG_MSG_HDLC: host_hdlc(fw, p, ev->length); break;
    default: break;
    }
}

/* ---- the line tick ---- */
static void port_event(struct lg_fw *fw, unsigned port, const struct lg_port_ev *e, uint32_t now)
{
    uint8_t *p = fw->payload;
    p[0] = (uint8_t)port;
    p[1] = e->event;
    lg_put16(p + 2, e->value);
    lg_put32(p + 4, now);
    lg_fw_send(fw, LG_MSG_PORT_EVENT, fw->seq++, 8);
}

static void alarms(struct lg_fw *fw, unsigned span, uint32_t now)
{
    const struct lg_span *s = &fw->line.span[span];
    uint8_t *p = fw->payload;
    p[0] = (uint8_t)span;
    p[1] = s->alarms;
    lg_put32(p + 2, s->crc4_errors);
    lg_put32(p + 6, s->slips);
    lg_put32(p + 10, s->bpv);
    lg_put32(p + 14, now);
    lg_fw_send(fw, LG_MSG_ALARMS, fw->seq++, 18);
}

/* One 20 ms audio tick: every open channel's block toward the line, the line's exchange, then
 * every open channel's block from the line up to the host (hal.h: a line may exchange a whole
 * tick at once, as the simulator's network link does). */
static void audio_tick(struct lg_fw *fw, uint32_t now)
{
    struct lg_line *l = &fw->line;
    unsigned n = l->nspans ? LG_CHANNELS : l->nports;
    uint8_t blk[LG_BLOCK];
    for (unsigned idx = 0; idx < n; idx++) {
        if (l->nspans && !lg_span_timeslot_ok(idx % 32))
            continue;
        struct lg_chan *c = &l->chan[idx];
        unsigned unit = l->nspans ? idx / 32 : idx, ch = l->nspans ? idx % 32 : 0, law = chan_law(l, idx);
        int in_use = !l->nspans && lg_port_in_use(&l->port[idx]);
        if (c->fed && now - c->last_use >= LG_CHANNEL_IDLE_MS)
            c->fed = 0;
        int fed = c->fed;
        if (!in_use && !c->tone.active && !fed && !c->qlen) {
            c->open = 0;
            continue;
        }
        if (!c->open) {
            c->open = 1;
            c->time = 0;
        }
        /* Toward the line: the tone when one plays, else the host's next block, else silence. */
        if (c->tone.active) {
            lg_tone_block(&c->tone, law, blk);
        } else if (c->qlen) {
            memcpy(blk, c->q[c->qhead], LG_BLOCK);
            c->qhead = (uint8_t)((c->qhead + 1) % LG_AUDIO_QUEUE);
            c->qlen--;
        } else {
            memset(blk, lg_g711_silence(law), LG_BLOCK);
        }
        if (!l->nspans)
            gain(blk, law, l->cfg.port[idx].tx_gain);
        lg_hal_audio_tx(unit, ch, law, blk);
    }
    lg_hal_line_exchange(now);
    char note[200];
    int level;
    while ((level = lg_hal_line_notice(note, sizeof note)) >= 0)
        lg_fw_log(fw, (uint8_t)level, note);
    for (unsigned idx = 0; idx < n; idx++) {
        struct lg_chan *c = &l->chan[idx];
        if (!c->open)
            continue;
        unsigned unit = l->nspans ? idx / 32 : idx, ch = l->nspans ? idx % 32 : 0, law = chan_law(l, idx);
        /* From the line, to the host. */
        uint8_t *p = fw->payload;
        if (!lg_hal_audio_rx(unit, ch, p + 7))
            memset(p + 7, lg_g711_silence(law), LG_BLOCK);
        else if (!l->nspans)
            gain(p + 7, law, l->cfg.port[idx].rx_gain);
        p[0] = (uint8_t)unit;
        p[1] = (uint8_t)ch;
        p[2] = (uint8_t)law;
        lg_put32(p + 3, c->time);
        lg_fw_send(fw, LG_MSG_AUDIO, fw->seq++, 7 + LG_BLOCK);
        c->time += LG_BLOCK;
    }
}

void lg_line_service(struct lg_fw *fw)
{
    struct lg_line *l = &fw->line;
    uint32_t now = lg_hal_ticks_ms();
    if (!l->started || (int32_t)(now - l->next_tick) < 0)
        return;
    /* Debouncing works from timestamps, so one step at "now" covers a late tick too. */
    l->next_tick += LG_LINE_TICK_MS;
    if ((int32_t)(now - l->next_tick) >= 0)
        l->next_tick = now + LG_LINE_TICK_MS;
    for (unsigned i = 0; i < l->nports; i++) {
        struct lg_port_ev ev[LG_PORT_MAX_EVENTS];
        int n = lg_port_step(&l->port[i], i, now, ev);
        for (int k = 0; k < n; k++)
            port_event(fw, i, &ev[k], now);
    }
    for (unsigned i = 0; i < l->nspans; i++) {
        struct lg_span *s = &l->span[i];
        uint8_t ts[32], abcd[32];
        unsigned ncas;
        if (lg_span_step(s, i, now, ts, abcd, &ncas))
            alarms(fw, i, now);
        for (unsigned k = 0; k < ncas; k++) {
            fw->payload[0] = (uint8_t)i;
            fw->payload[1] = ts[k];
            fw->payload[2] = abcd[k];
            lg_fw_send(fw, LG_MSG_CAS, fw->seq++, 3);
        }
        if (s->framing == LG_FRAMING_CCS) {
            /* A few frames a tick: 260-byte frames at 64 kbit/s are ~32 ms each, so 4 per 5 ms is ample. */
            for (int k = 0; k < 4; k++) {
                size_t n = lg_hal_hdlc_rx(i, fw->payload + 1, 260);
                if (!n)
                    break;
                fw->payload[0] = (uint8_t)i;
                lg_fw_send(fw, LG_MSG_HDLC, fw->seq++, 1 + n);
            }
        }
    }
    /* Audio every 20 ms; after a stall of more than 10 blocks, skip ahead rather than burst. */
    if ((int32_t)(now - l->next_audio) > 10 * LG_AUDIO_MS)
        l->next_audio = now;
    while ((int32_t)(now - l->next_audio) >= 0) {
        audio_tick(fw, now);
        l->next_audio += LG_AUDIO_MS;
    }
}

uint32_t lg_line_wait(const struct lg_fw *fw, uint32_t wait_ms)
{
    if (!fw->line.started)
        return wait_ms;
    int32_t d = (int32_t)(fw->line.next_tick - lg_hal_ticks_ms());
    if (d <= 0)
        return 0;
    return (uint32_t)d < wait_ms ? (uint32_t)d : wait_ms;
}

size_t lg_line_status(struct lg_fw *fw, uint8_t *p)
{
    const struct lg_line *l = &fw->line;
    uint8_t kind = fw->boot.board.kind;
    unsigned nports = kind == LG_KIND_E1X2 ? 0 : 4, nspans = kind == LG_KIND_E1X2 ? 2 : 0;
    size_t n = 0;
    p[n++] = (uint8_t)nports;
    for (unsigned i = 0; i < nports; i++) {
        /* In the bootloader nothing drives the line: no state to report. */
        p[n++] = l->started ? lg_port_state(&l->port[i]) : 0;
        lg_put16(p + n, l->started ? l->port[i].loop_ma : 0);
        n += 2;
    }
    p[n++] = (uint8_t)nspans;
    for (unsigned i = 0; i < nspans; i++) {
        const struct lg_span *s = &l->span[i];
        p[n++] = l->started ? s->alarms : 0;
        lg_put32(p + n, l->started ? s->crc4_errors : 0);
        lg_put32(p + n + 4, l->started ? s->slips : 0);
        lg_put32(p + n + 8, l->started ? s->bpv : 0);
        n += 12;
    }
    lg_put32(p + n, lg_hal_ticks_ms());
    return n + 4;
}
