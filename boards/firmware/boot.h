/* The bootloader: its state record in the config sectors (two copies,
 * sequence number, CRC-32; the newest valid wins), the boot decision with
 * trial and revert (IMAGE.md, "Booting"), and the flash helpers both the
 * bootloader and the firmware's BL_* commands use. */
#ifndef LG_BOOT_H
#define LG_BOOT_H
#include "image.h"

struct lg_bootrec {
    uint32_t seq;
    uint8_t active;    /* LG_SLOT_A / LG_SLOT_B */
    uint8_t pending;   /* a slot, or LG_SLOT_NONE */
    uint8_t trial;     /* 1: the pending slot's trial boot has begun */
};

/* Reads both copies; returns 1 with the newest valid record, 0 when neither is valid. */
int lg_bootrec_load(struct lg_bootrec *rec);
/* Writes rec (with seq = newest + 1) over the copy that does not hold the newest
 * valid record, so a cut at any page write leaves the old or the new one valid. */
int lg_bootrec_store(struct lg_bootrec *rec);

/* Erases a page unless it is already blank (saves time and wear); writes a page and reads it back. */
int lg_flash_erase_page(uint32_t addr);
int lg_flash_program_page(uint32_t addr, const uint8_t data[LG_PAGE_SIZE]);

#define LG_BOOT_LOG_LINES 6
#define LG_BOOT_LOG_SIZE 112

struct lg_boot {
    struct lg_board_id board;
    struct lg_trust trust;
    int trust_ok;
    int have_rec;
    struct lg_bootrec rec;
    uint8_t running;      /* 0 firmware, 1 bootloader (no image to run, or asked to stay) */
    uint8_t slot;         /* the slot running (firmware), LG_SLOT_NONE otherwise */
    uint8_t on_trial;     /* the running slot is on trial, not yet confirmed */
    uint8_t version[3];   /* of the running image; 0.0.0 in the bootloader */
    unsigned nlog;
    uint8_t log_level[LG_BOOT_LOG_LINES];
    char log[LG_BOOT_LOG_LINES][LG_BOOT_LOG_SIZE];   /* what the boot did, sent as LOG lines */
};

/* Decides what runs, writing the record when a trial begins or fails. */
void lg_boot_run(struct lg_boot *b, int stay_in_bootloader);

#endif
