#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "crc32.h"

/* Record: "LGBC", u16 format 1, u16 size 20, u32 seq, u8 active, u8 pending,
 * u8 trial, u8 0, CRC-32 of bytes 0..15; at the start of each config copy. */
#define REC_SIZE 20

static uint32_t copy_addr(unsigned copy) { return LG_FLASH_CONFIG + copy * LG_CONFIG_COPY_SIZE; }

static int rec_read(unsigned copy, struct lg_bootrec *rec)
{
    uint8_t r[REC_SIZE];
    if (lg_hal_flash_read(copy_addr(copy), r, sizeof r) != LG_OK)
        return 0;
    if (memcmp(r, "LGBC", 4) != 0 || lg_get16(r + 4) != 1 || lg_get16(r + 6) != REC_SIZE || r[15] != 0)
        return 0;
    if (lg_get32(r + 16) != lg_crc32(0, r, 16))
        return 0;
    if (r[12] > 1 || (r[13] > 1 && r[13] != LG_SLOT_NONE) || r[14] > 1)
        return 0;
    rec->seq = lg_get32(r + 8);
    rec->active = r[12];
    rec->pending = r[13];
    rec->trial = r[14];
    return 1;
}

/* Which copy holds the newest valid record: 0, 1, or -1 for none. */
static int newest(struct lg_bootrec *rec)
{
    struct lg_bootrec r[2];
    int ok0 = rec_read(0, &r[0]), ok1 = rec_read(1, &r[1]);
    int which = -1;
    if (ok0 && ok1)
        which = (int32_t)(r[1].seq - r[0].seq) > 0 ? 1 : 0;   /* wrap-safe comparison */
    else if (ok0)
        which = 0;
    else if (ok1)
        which = 1;
    if (which >= 0 && rec)
        *rec = r[which];
    return which;
}

int lg_bootrec_load(struct lg_bootrec *rec)
{
    return newest(rec) >= 0;
}

int lg_flash_erase_page(uint32_t addr)
{
    uint8_t page[LG_PAGE_SIZE];
    if (lg_hal_flash_read(addr, page, sizeof page) != LG_OK)
        return LG_E_FLASH;
    for (size_t i = 0; i < sizeof page; i++)
        if (page[i] != 0xFF)
            return lg_hal_flash_erase_page(addr);
    return LG_OK;
}

int lg_flash_program_page(uint32_t addr, const uint8_t data[LG_PAGE_SIZE])
{
    uint8_t back[LG_PAGE_SIZE];
    if (lg_hal_flash_write_page(addr, data) != LG_OK)
        return LG_E_FLASH;
    if (lg_hal_flash_read(addr, back, sizeof back) != LG_OK || memcmp(back, data, sizeof back) != 0)
        return LG_E_FLASH;
    return LG_OK;
}

int lg_bootrec_store(struct lg_bootrec *rec)
{
    struct lg_bootrec cur;
    int which = newest(&cur);
    unsigned target = which == 0 ? 1 : 0;
    rec->seq = which >= 0 ? cur.seq + 1 : 1;
    uint8_t page[LG_PAGE_SIZE];
    memset(page, 0xFF, sizeof page);
    memcpy(page, "LGBC", 4);
    lg_put16(page + 4, 1);
    lg_put16(page + 6, REC_SIZE);
    lg_put32(page + 8, rec->seq);
    page[12] = rec->active;
    page[13] = rec->pending;
    page[14] = rec->trial;
    page[15] = 0;
    lg_put32(page + 16, lg_crc32(0, page, 16));
    if (lg_flash_erase_page(copy_addr(target)) != LG_OK)
        return LG_E_FLASH;
    return lg_flash_program_page(copy_addr(target), page);
}

static void say(struct lg_boot *b, uint8_t level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(struct lg_boot *b, uint8_t level, const char *fmt, ...)
{
    if (b->nlog < LG_BOOT_LOG_LINES) {
        va_list ap;
        va_start(ap, fmt);
        b->log_level[b->nlog] = level;
        vsnprintf(b->log[b->nlog++], LG_BOOT_LOG_SIZE, fmt, ap);
        va_end(ap);
    }
}

static const char *slot_name(unsigned slot) { return slot == LG_SLOT_A ? "A" : "B"; }

/* Full check of a slot; logs why it cannot run. */
static int bootable(struct lg_boot *b, unsigned slot, struct lg_image_info *info)
{
    char why[96];
    enum lg_image_verdict v = lg_image_check(slot, &b->trust, &b->board, info, why, sizeof why);
    if (v != LG_IMAGE_VALID) {
        say(b, v == LG_IMAGE_EMPTY ? 1 : 2, "boot: slot %s not bootable: %s", slot_name(slot), why);
        return 0;
    }
    return 1;
}

static void start(struct lg_boot *b, unsigned slot, const struct lg_image_info *info, const char *how)
{
    b->running = 0;
    b->slot = (uint8_t)slot;
    memcpy(b->version, info->version, 3);
    say(b, 1, "boot: slot %s, firmware %u.%u.%u", slot_name(slot), info->version[0], info->version[1],
        info->version[2]);
    if (how)
        say(b, 1, "boot: %s", how);
}

void lg_boot_run(struct lg_boot *b, int stay_in_bootloader)
{
    struct lg_image_info info[2];
    memset(b->version, 0, 3);
    b->running = 1;
    b->slot = LG_SLOT_NONE;
    b->on_trial = 0;
    b->nlog = 0;
    b->trust_ok = lg_trust_load(&b->trust) == LG_OK;
    if (!b->trust_ok)
        say(b, 3, "boot: the bootloader's key block is missing or damaged: no image can be trusted");
    b->have_rec = lg_bootrec_load(&b->rec);
    if (stay_in_bootloader) {
        say(b, 1, "boot: staying in the bootloader as asked");
        return;
    }

    unsigned first, other;
    if (!b->have_rec) {
        /* No record (a new board's first boot, or both copies damaged): the
         * valid slot with the higher version, A on a tie, recorded as the
         * active one at once, so that an image written later but never set
         * pending and confirmed cannot become active by a restart. */
        int va = bootable(b, LG_SLOT_A, &info[0]), vb = bootable(b, LG_SLOT_B, &info[1]);
        unsigned chosen;
        if (vb && (!va || memcmp(info[1].version, info[0].version, 3) > 0)) {
            chosen = LG_SLOT_B;
        } else if (va) {
            chosen = LG_SLOT_A;
        } else {
            say(b, 3, "boot: no valid image in either slot: staying in the bootloader");
            return;
        }
        struct lg_bootrec n = {0, (uint8_t)chosen, LG_SLOT_NONE, 0};
        if (lg_bootrec_store(&n) == LG_OK) {
            b->rec = n;
            b->have_rec = 1;
        } else {
            say(b, 3, "boot: could not write the boot record");
        }
        start(b, chosen, &info[chosen], "no boot record: chose the valid slot with the higher version");
        return;
    }

    struct lg_bootrec *r = &b->rec;
    if (r->pending != LG_SLOT_NONE && r->pending != r->active && !r->trial) {
        /* Begin the trial: record it first, so that a restart before the
         * firmware confirms is seen as a failed trial. */
        unsigned p = r->pending;
        if (bootable(b, p, &info[p])) {
            struct lg_bootrec n = *r;
            n.trial = 1;
            if (lg_bootrec_store(&n) == LG_OK) {
                *r = n;
                b->on_trial = 1;
                start(b, p, &info[p], "trial boot: confirm (BL_CONFIRM) or the next restart reverts");
                return;
            }
            say(b, 3, "boot: could not record the trial of slot %s: not starting it", slot_name(p));
        }
        struct lg_bootrec n = {0, r->active, LG_SLOT_NONE, 0};
        if (lg_bootrec_store(&n) == LG_OK)
            *r = n;
    } else if (r->pending != LG_SLOT_NONE) {
        /* Restarted during a trial without a confirm: the trial failed. */
        say(b, 2, "boot: trial of slot %s was not confirmed: reverting to slot %s", slot_name(r->pending),
            slot_name(r->active));
        struct lg_bootrec n = {0, r->active, LG_SLOT_NONE, 0};
        if (lg_bootrec_store(&n) == LG_OK)
            *r = n;
    }
    first = r->active;
    other = first == LG_SLOT_A ? LG_SLOT_B : LG_SLOT_A;
    if (bootable(b, first, &info[first])) {
        start(b, first, &info[first], NULL);
    } else if (bootable(b, other, &info[other])) {
        start(b, other, &info[other], "the active slot cannot run: booted the other one");
    } else {
        say(b, 3, "boot: no valid image in either slot: staying in the bootloader");
    }
}
