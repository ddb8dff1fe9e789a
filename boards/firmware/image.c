#include <stdio.h>
#include <string.h>

#include "crc32.h"
#include "crypto.h"
#include "image.h"

#define KEYBLOCK_MAGIC "LGBK"

static void hex8(char *out, const uint8_t *b)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 4; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[8] = 0;
}

static int all(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

enum lg_image_verdict lg_image_check(unsigned slot, const struct lg_trust *trust, const struct lg_board_id *board,
                                     struct lg_image_info *info, char *why, size_t why_size)
{
    uint8_t h[LG_IMAGE_HEADER];
    uint32_t base = lg_slot_base(slot);
    char id[9];

    memset(info, 0, sizeof *info);
    snprintf(why, why_size, "ok");
    if (lg_hal_flash_read(base, h, sizeof h) != LG_OK) {
        snprintf(why, why_size, "flash read failed");
        return LG_IMAGE_INVALID;
    }
    if (all(h, sizeof h, 0xFF)) {
        snprintf(why, why_size, "slot is empty");
        return LG_IMAGE_EMPTY;
    }
    /* 1. the fixed header fields */
    if (memcmp(h, "LGFW", 4) != 0) {
        hex8(id, h);
        snprintf(why, why_size, "magic is %s, not 4c474657 (LGFW)", id);
        return LG_IMAGE_INVALID;
    }
    if (lg_get16(h + 4) != 1) {
        snprintf(why, why_size, "format version %u is not 1", lg_get16(h + 4));
        return LG_IMAGE_INVALID;
    }
    if (lg_get16(h + 6) != LG_IMAGE_HEADER) {
        snprintf(why, why_size, "header length %u is not 128", lg_get16(h + 6));
        return LG_IMAGE_INVALID;
    }
    if (h[11] || h[15] || !all(h + 92, 36, 0)) {
        snprintf(why, why_size, "reserved header bytes are not zero");
        return LG_IMAGE_INVALID;
    }
    info->kind = h[8];
    info->rev_low = h[9];
    info->rev_high = h[10];
    memcpy(info->version, h + 12, 3);
    /* 2. the payload fits the slot */
    uint32_t plen = lg_get32(h + 24);
    if (plen < 1 || plen > LG_IMAGE_MAX_PAYLOAD) {
        snprintf(why, why_size, "payload length %lu is outside 1..%lu", (unsigned long)plen,
                 (unsigned long)LG_IMAGE_MAX_PAYLOAD);
        return LG_IMAGE_INVALID;
    }
    info->payload_length = plen;

    /* One pass over the payload feeds both hashes; the verdicts are still
     * given in the documented order (3. payload hash, 4. key, 5. signature). */
    const uint8_t *key = NULL;
    for (unsigned k = 0; k < trust->count; k++)
        if (memcmp(trust->id[k], h + 60, 32) == 0)
            key = trust->key[k];
    uint8_t sig[LG_IMAGE_SIG];
    if (lg_hal_flash_read(base + LG_IMAGE_HEADER + plen, sig, sizeof sig) != LG_OK) {
        snprintf(why, why_size, "flash read failed");
        return LG_IMAGE_INVALID;
    }
    struct lg_sha256 sha;
    struct lg_ed25519_check ed;
    lg_sha256_init(&sha);
    if (key) {
        lg_ed25519_check_init(&ed, sig, key);
        lg_ed25519_check_update(&ed, h, sizeof h);
    }
    uint8_t buf[LG_PAGE_SIZE];
    for (uint32_t at = 0; at < plen;) {
        size_t n = plen - at < sizeof buf ? plen - at : sizeof buf;
        if (lg_hal_flash_read(base + LG_IMAGE_HEADER + at, buf, n) != LG_OK) {
            snprintf(why, why_size, "flash read failed");
            return LG_IMAGE_INVALID;
        }
        lg_sha256_update(&sha, buf, n);
        if (key)
            lg_ed25519_check_update(&ed, buf, n);
        at += (uint32_t)n;
    }
    lg_sha256_final(&sha, info->sha256);
    if (memcmp(info->sha256, h + 28, 32) != 0) {
        snprintf(why, why_size, "payload SHA-256 does not match the header's (corrupted or truncated)");
        return LG_IMAGE_INVALID;
    }
    if (!key) {
        hex8(id, h + 60);
        snprintf(why, why_size, "key id %s.. is not a trusted key", id);
        return LG_IMAGE_INVALID;
    }
    if (lg_ed25519_check_final(&ed) != 0) {
        hex8(id, h + 60);
        snprintf(why, why_size, "signature does not verify with key %s..", id);
        return LG_IMAGE_INVALID;
    }
    /* 6. made for this board */
    if (board && info->kind != board->kind) {
        snprintf(why, why_size, "image is for board kind %u, this board is kind %u", info->kind, board->kind);
        return LG_IMAGE_INVALID;
    }
    if (board && (board->hw_revision < info->rev_low || board->hw_revision > info->rev_high)) {
        snprintf(why, why_size, "image runs on hardware revisions %u..%u, this board is revision %u", info->rev_low,
                 info->rev_high, board->hw_revision);
        return LG_IMAGE_INVALID;
    }
    return LG_IMAGE_VALID;
}

/* Key block: "LGBK", u8 format 1, u8 count (1..LG_MAX_KEYS), 2 zero bytes,
 * count x 32-byte keys, CRC-32 of everything before it. */
int lg_trust_page(uint8_t page[LG_PAGE_SIZE], const uint8_t (*keys)[32], unsigned count)
{
    if (count < 1 || count > LG_MAX_KEYS)
        return LG_E_ARG;
    memset(page, 0xFF, LG_PAGE_SIZE);
    memcpy(page, KEYBLOCK_MAGIC, 4);
    page[4] = 1;
    page[5] = (uint8_t)count;
    page[6] = page[7] = 0;
    memcpy(page + 8, keys, 32 * (size_t)count);
    size_t n = 8 + 32 * (size_t)count;
    lg_put32(page + n, lg_crc32(0, page, n));
    return LG_OK;
}

int lg_trust_load(struct lg_trust *trust)
{
    uint8_t page[8 + 32 * LG_MAX_KEYS + 4];
    memset(trust, 0, sizeof *trust);
    if (lg_hal_flash_read(LG_FLASH_BOOT, page, sizeof page) != LG_OK)
        return LG_E_IMAGE;
    if (memcmp(page, KEYBLOCK_MAGIC, 4) != 0 || page[4] != 1 || page[5] < 1 || page[5] > LG_MAX_KEYS)
        return LG_E_IMAGE;
    size_t n = 8 + 32 * (size_t)page[5];
    if (lg_get32(page + n) != lg_crc32(0, page, n))
        return LG_E_IMAGE;
    trust->count = page[5];
    for (unsigned k = 0; k < trust->count; k++) {
        struct lg_sha256 s;
        memcpy(trust->key[k], page + 8 + 32 * k, 32);
        lg_sha256_init(&s);
        lg_sha256_update(&s, trust->key[k], 32);
        lg_sha256_final(&s, trust->id[k]);
    }
    return LG_OK;
}
