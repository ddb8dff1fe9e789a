/* Linegate board firmware: limits, error codes and the flash layout shared by
 * every unit. The numbers come from boards/PROTOCOL.md and boards/IMAGE.md. */
#ifndef LG_FW_H
#define LG_FW_H

#include <stddef.h>
#include <stdint.h>

/* Return codes: >= 0 success, < 0 one of these. */
#define LG_OK 0
#define LG_E_ARG (-1)      /* caller passed something out of range */
#define LG_E_FLASH (-2)    /* the flash refused an erase or a write, or read back wrong */
#define LG_E_STATE (-3)    /* not allowed now (e.g. the running slot) */
#define LG_E_IMAGE (-4)    /* an image failed a check */

/* Protocol (PROTOCOL.md, "Frames"). */
#define LG_PROTO_VERSION 1
#define LG_FRAME_HEADER 8
#define LG_FRAME_CRC 4
#define LG_MAX_PAYLOAD 1280
#define LG_MAX_FRAME (LG_FRAME_HEADER + LG_MAX_PAYLOAD + LG_FRAME_CRC)
#define LG_MAX_BL_DATA 1024

/* Flash layout (IMAGE.md, "Flash layout per board kind"); the same for every kind. */
#define LG_PAGE_SIZE 1024u
#define LG_FLASH_BOOT 0x000000u
#define LG_FLASH_BOOT_SIZE (64u * 1024u)
#define LG_FLASH_SLOT_A 0x010000u
#define LG_FLASH_SLOT_B 0x190000u
#define LG_SLOT_SIZE (1536u * 1024u)
#define LG_FLASH_CONFIG 0x310000u
#define LG_CONFIG_COPY_SIZE (4u * 1024u)
#define LG_FLASH_SIZE (3200u * 1024u)

/* Images (IMAGE.md, "Layout"). */
#define LG_IMAGE_HEADER 128u
#define LG_IMAGE_SIG 64u
#define LG_IMAGE_MIN (LG_IMAGE_HEADER + LG_IMAGE_SIG)
#define LG_IMAGE_MAX_PAYLOAD (LG_SLOT_SIZE - LG_IMAGE_MIN)

#define LG_SLOT_A 0
#define LG_SLOT_B 1
#define LG_SLOT_NONE 255
#define LG_MAX_KEYS 4

/* Board kinds (IDENTITY.kind). */
#define LG_KIND_E1X2 1
#define LG_KIND_FXO4 2
#define LG_KIND_FXS4 3

/* Bootloader version reported in IDENTITY. */
#define LG_BL_VERSION_MAJOR 1
#define LG_BL_VERSION_MINOR 0
#define LG_BL_VERSION_PATCH 0

static inline uint32_t lg_slot_base(unsigned slot) { return slot == LG_SLOT_A ? LG_FLASH_SLOT_A : LG_FLASH_SLOT_B; }

static inline uint16_t lg_get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t lg_get32(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }
static inline void lg_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void lg_put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }

#endif
