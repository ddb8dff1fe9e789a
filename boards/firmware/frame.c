#include <string.h>

#include "crc32.h"
#include "frame.h"

#define SYNC0 0x4C
#define SYNC1 0x47

int lg_frame_type_known(uint8_t type)
{
    switch (type) {
    case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06: case 0x07: case 0x08:
    case 0x10: case 0x11: case 0x13: case 0x14: case 0x15:
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26:
    case 0x30: case 0x40:
    case 0x80: case 0x81: case 0x87: case 0x88: case 0x89: case 0xA2: case 0xA5: case 0xA6: case 0xC0:
        return 1;
    default:
        return 0;
    }
}

int lg_frame_encode(uint8_t *out, uint8_t type, uint16_t seq, const uint8_t *payload, size_t len)
{
    if (len > LG_MAX_PAYLOAD || (len && !payload))
        return LG_E_ARG;
    out[0] = SYNC0;
    out[1] = SYNC1;
    out[2] = LG_PROTO_VERSION;
    out[3] = type;
    lg_put16(out + 4, seq);
    lg_put16(out + 6, (uint16_t)len);
    if (len)
        memmove(out + LG_FRAME_HEADER, payload, len);
    lg_put32(out + LG_FRAME_HEADER + len, lg_crc32(0, out + 2, LG_FRAME_HEADER - 2 + len));
    return (int)(LG_FRAME_HEADER + len + LG_FRAME_CRC);
}

void lg_rx_init_types(struct lg_rx *rx, lg_frame_types known)
{
    memset(rx, 0, sizeof *rx);
    rx->known = known;
}

void lg_rx_init(struct lg_rx *rx)
{
    lg_rx_init_types(rx, lg_frame_type_known);
}

static void drop(struct lg_rx *rx, size_t n)
{
    memmove(rx->buf, rx->buf + n, rx->len - n);
    rx->len -= n;
    rx->base += n;
}

size_t lg_rx_push(struct lg_rx *rx, const uint8_t *data, size_t n)
{
    if (rx->consumed) {
        drop(rx, rx->consumed);
        rx->consumed = 0;
    }
    size_t room = sizeof rx->buf - rx->len;
    if (n > room)
        n = room;
    memcpy(rx->buf + rx->len, data, n);
    rx->len += n;
    return n;
}

static enum lg_rx_kind error(struct lg_rx *rx, struct lg_rx_event *ev, enum lg_rx_error kind, const char *field,
                             uint32_t value, size_t field_at)
{
    rx->errors[kind]++;
    ev->kind = LG_RX_ERROR;
    ev->error = kind;
    ev->field = field;
    ev->value = value;
    ev->offset = rx->base + field_at;
    ev->frame_offset = rx->base;
    return LG_RX_ERROR;
}

enum lg_rx_kind lg_rx_give_up(struct lg_rx *rx, struct lg_rx_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (rx->consumed) {
        drop(rx, rx->consumed);
        rx->consumed = 0;
    }
    /* lg_rx_next leaves only a partial frame (from a sync byte on) or nothing */
    if (rx->len == 0 || rx->buf[0] != SYNC0)
        return LG_RX_NONE;
    rx->consumed = 1;
    return error(rx, ev, LG_RXE_TIMEOUT, "frame", (uint32_t)rx->len, 0);
}

enum lg_rx_kind lg_rx_next(struct lg_rx *rx, struct lg_rx_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (rx->consumed) {
        drop(rx, rx->consumed);
        rx->consumed = 0;
    }
    for (;;) {
        /* Skip to the next sync pattern; a lone trailing 0x4C may begin one. */
        size_t i = 0;
        while (i < rx->len && !(rx->buf[i] == SYNC0 && (i + 1 == rx->len || rx->buf[i + 1] == SYNC1)))
            i++;
        if (i) {
            rx->noise += (uint32_t)i;
            drop(rx, i);
        }
        if (rx->len < LG_FRAME_HEADER)
            return LG_RX_NONE;
        const uint8_t *b = rx->buf;
        if (b[2] != LG_PROTO_VERSION) {
            /* Resume at the byte after the first sync byte: a frame may start inside. */
            rx->consumed = 1;
            return error(rx, ev, LG_RXE_VERSION, "version", b[2], 2);
        }
        uint16_t len = lg_get16(b + 6);
        if (len > LG_MAX_PAYLOAD) {
            rx->consumed = 1;
            return error(rx, ev, LG_RXE_LENGTH, "length", len, 6);
        }
        size_t total = LG_FRAME_HEADER + (size_t)len + LG_FRAME_CRC;
        if (rx->len < total)
            return LG_RX_NONE;
        uint32_t crc = lg_crc32(0, b + 2, LG_FRAME_HEADER - 2 + (size_t)len);
        uint32_t got = lg_get32(b + LG_FRAME_HEADER + len);
        if (crc != got) {
            rx->consumed = 1;
            return error(rx, ev, LG_RXE_CRC, "crc", got, LG_FRAME_HEADER + (size_t)len);
        }
        ev->type = b[3];
        ev->seq = lg_get16(b + 4);
        ev->length = len;
        ev->payload = b + LG_FRAME_HEADER;
        rx->consumed = total;   /* the frame arrived intact: skip all of it */
        if (!rx->known(b[3]))
            return error(rx, ev, LG_RXE_TYPE, "type", b[3], 3);
        rx->frames++;
        ev->kind = LG_RX_FRAME;
        ev->frame_offset = rx->base;
        return LG_RX_FRAME;
    }
}
