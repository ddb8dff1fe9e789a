/* Firmware images of IMAGE.md as the bootloader checks them in flash. */
#ifndef LG_IMAGE_H
#define LG_IMAGE_H
#include "hal.h"

/* The public keys the bootloader trusts and their key ids (SHA-256 of the key). */
struct lg_trust {
    unsigned count;
    uint8_t key[LG_MAX_KEYS][32];
    uint8_t id[LG_MAX_KEYS][32];
};

struct lg_image_info {
    uint8_t kind, rev_low, rev_high;
    uint8_t version[3];
    uint32_t payload_length;      /* 0 when the header did not parse */
    uint8_t sha256[32];           /* of the payload as found in flash (zeros if not computed) */
};

enum lg_image_verdict { LG_IMAGE_VALID = 0, LG_IMAGE_EMPTY, LG_IMAGE_INVALID };

/* Checks the image in a slot in IMAGE.md's order. board may be NULL to skip
 * the board kind/revision check. why (room for 96 bytes) names the first
 * failed check, e.g. "signature does not verify with key 3fa1c2..". */
enum lg_image_verdict lg_image_check(unsigned slot, const struct lg_trust *trust, const struct lg_board_id *board,
                                     struct lg_image_info *info, char *why, size_t why_size);

/* The bootloader's key block (first page of the bootloader region): written
 * once when the board is provisioned. Returns LG_OK or LG_E_IMAGE (absent or damaged). */
int lg_trust_load(struct lg_trust *trust);
/* Lays out the key block in page (LG_PAGE_SIZE bytes) for provisioning. */
int lg_trust_page(uint8_t page[LG_PAGE_SIZE], const uint8_t (*keys)[32], unsigned count);

#endif
