#include <string.h>

#include "boot.h"
#include "config.h"
#include "crc32.h"

/* "LGCF", u16 format 1, u16 size, u32 seq, u8 kind, per port (4) u8 law,
 * 2 bytes zone, i16 rx_gain, i16 tx_gain, per span (2) u8 framing, crc4,
 * coding, clock_priority, law, then the CRC-32 of the bytes before it. */
#define HEAD 12
#define BODY (1 + LG_MAX_PORTS * 7 + LG_MAX_SPANS * 5)
#define REC_SIZE (HEAD + BODY + 4)

static uint32_t rec_addr(unsigned copy) { return LG_FLASH_CONFIG + copy * LG_CONFIG_COPY_SIZE + LG_CONFIG_PAGE_OFFSET; }

void lg_config_defaults(struct lg_line_config *c, uint8_t kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    for (unsigned i = 0; i < LG_MAX_PORTS; i++) {
        c->port[i].zone[0] = 'd';
        c->port[i].zone[1] = 'e';
    }
    for (unsigned i = 0; i < LG_MAX_SPANS; i++) {
        c->span[i].crc4 = 1;
        c->span[i].clock_priority = (uint8_t)(i + 1);
    }
}

static int rec_read(unsigned copy, uint8_t *r, uint32_t *seq)
{
    if (lg_hal_flash_read(rec_addr(copy), r, REC_SIZE) != LG_OK)
        return 0;
    if (memcmp(r, "LGCF", 4) != 0 || lg_get16(r + 4) != 1 || lg_get16(r + 6) != REC_SIZE)
        return 0;
    if (lg_get32(r + REC_SIZE - 4) != lg_crc32(0, r, REC_SIZE - 4))
        return 0;
    *seq = lg_get32(r + 8);
    return 1;
}

static int newest(uint8_t *out, uint32_t *seq)
{
    uint8_t r[2][REC_SIZE];
    uint32_t s[2];
    int ok0 = rec_read(0, r[0], &s[0]), ok1 = rec_read(1, r[1], &s[1]);
    int which = ok0 && ok1 ? ((int32_t)(s[1] - s[0]) > 0 ? 1 : 0) : ok0 ? 0 : ok1 ? 1 : -1;
    if (which >= 0) {
        memcpy(out, r[which], REC_SIZE);
        *seq = s[which];
    }
    return which;
}

/* Values out of their range (a record written by a newer firmware) fall back to the defaults. */
static int decode(struct lg_line_config *c, const uint8_t *b)
{
    const uint8_t *p = b + 1;
    c->kind = b[0];
    for (unsigned i = 0; i < LG_MAX_PORTS; i++, p += 7) {
        struct lg_port_config *pc = &c->port[i];
        pc->law = p[0];
        pc->zone[0] = p[1];
        pc->zone[1] = p[2];
        pc->rx_gain = (int16_t)lg_get16(p + 3);
        pc->tx_gain = (int16_t)lg_get16(p + 5);
        if (pc->law > 1 || pc->zone[0] < 'a' || pc->zone[0] > 'z' || pc->zone[1] < 'a' || pc->zone[1] > 'z' ||
            pc->rx_gain < -LG_GAIN_LIMIT || pc->rx_gain > LG_GAIN_LIMIT || pc->tx_gain < -LG_GAIN_LIMIT ||
            pc->tx_gain > LG_GAIN_LIMIT)
            return 0;
    }
    for (unsigned i = 0; i < LG_MAX_SPANS; i++, p += 5) {
        struct lg_span_config *sc = &c->span[i];
        sc->framing = p[0];
        sc->crc4 = p[1];
        sc->coding = p[2];
        sc->clock_priority = p[3];
        sc->law = p[4];
        if (sc->framing > 1 || sc->crc4 > 1 || sc->coding > 1 || sc->law > 1)
            return 0;
    }
    return 1;
}

int lg_config_load(struct lg_line_config *c, uint8_t kind, uint32_t *seq)
{
    uint8_t r[REC_SIZE];
    *seq = 0;
    if (newest(r, seq) < 0 || r[HEAD] != kind || !decode(c, r + HEAD)) {
        lg_config_defaults(c, kind);
        return 0;
    }
    return 1;
}

int lg_config_store(const struct lg_line_config *c, uint32_t *seq)
{
    uint8_t r[REC_SIZE];
    uint32_t cur = 0;
    int which = newest(r, &cur);
    unsigned target = which == 0 ? 1 : 0;
    uint8_t page[LG_PAGE_SIZE];
    memset(page, 0xFF, sizeof page);
    memcpy(page, "LGCF", 4);
    lg_put16(page + 4, 1);
    lg_put16(page + 6, REC_SIZE);
    *seq = which >= 0 ? cur + 1 : 1;
    lg_put32(page + 8, *seq);
    uint8_t *p = page + HEAD;
    *p++ = c->kind;
    for (unsigned i = 0; i < LG_MAX_PORTS; i++, p += 7) {
        p[0] = c->port[i].law;
        p[1] = c->port[i].zone[0];
        p[2] = c->port[i].zone[1];
        lg_put16(p + 3, (uint16_t)c->port[i].rx_gain);
        lg_put16(p + 5, (uint16_t)c->port[i].tx_gain);
    }
    for (unsigned i = 0; i < LG_MAX_SPANS; i++, p += 5) {
        p[0] = c->span[i].framing;
        p[1] = c->span[i].crc4;
        p[2] = c->span[i].coding;
        p[3] = c->span[i].clock_priority;
        p[4] = c->span[i].law;
    }
    lg_put32(page + REC_SIZE - 4, lg_crc32(0, page, REC_SIZE - 4));
    /* Erase (skipped when blank) then program and read back: a cut in between leaves the other copy newest. */
    if (lg_flash_erase_page(rec_addr(target)) != LG_OK)
        return LG_E_FLASH;
    return lg_flash_program_page(rec_addr(target), page);
}
