/* The hardware-abstraction layer: everything the firmware core asks of the
 * board. A target (target/native: the simulator; target/cortex-m next) provides
 * these functions; nothing else in the core touches hardware, files or sockets. */
#ifndef LG_HAL_H
#define LG_HAL_H

#include "lg_fw.h"

/* Flash: byte-addressed, pages of LG_PAGE_SIZE. Erase sets a page to 0xFF;
 * a write programs one whole erased page. Both return LG_OK or LG_E_FLASH. */
int lg_hal_flash_read(uint32_t addr, uint8_t *buf, size_t len);
int lg_hal_flash_erase_page(uint32_t addr);
int lg_hal_flash_write_page(uint32_t addr, const uint8_t data[LG_PAGE_SIZE]);

/* Host link: a byte stream. recv waits at most wait_ms for bytes and returns
 * how many it stored (0: none yet). send queues or drops (no host attached)
 * all of len; a byte stream has no partial frames to report. */
size_t lg_hal_link_recv(uint8_t *buf, size_t max, uint32_t wait_ms);
void lg_hal_link_send(const uint8_t *buf, size_t len);

/* Milliseconds since this boot. */
uint32_t lg_hal_ticks_ms(void);

/* What the board is (from its one-time-programmable area on hardware). */
struct lg_board_id {
    uint8_t kind;          /* LG_KIND_* */
    uint8_t hw_revision;
    char serial[16];       /* ASCII, NUL-padded */
};
void lg_hal_board_id(struct lg_board_id *id);

/* Restart the board (does not return): mode 0 boots normally, mode 1 stays in
 * the bootloader. */
void lg_hal_reset(unsigned mode);

#endif
