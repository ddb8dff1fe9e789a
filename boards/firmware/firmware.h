/* The board side of the protocol: the main loop's one round and the request
 * handlers (IDENTIFY, STATUS, RESET, CONFIGURE_*, BL_*). The line side (port
 * and span state machines, audio) comes with the hardware models. */
#ifndef LG_FIRMWARE_H
#define LG_FIRMWARE_H
#include "boot.h"
#include "frame.h"

struct lg_fw {
    struct lg_boot boot;
    struct lg_rx rx;
    uint16_t seq;                       /* the board's own frame counter (events, LOG) */
    uint32_t bad_requests;
    uint32_t last_byte_ms;              /* when the link last brought a byte */
    uint8_t payload[LG_MAX_PAYLOAD];
    uint8_t frame[LG_MAX_FRAME];
};

/* Runs the bootloader, then sends its LOG lines. */
void lg_fw_start(struct lg_fw *fw, int stay_in_bootloader);
/* One round of the main loop: waits up to wait_ms for bytes, answers every complete request. */
void lg_fw_poll(struct lg_fw *fw, uint32_t wait_ms);
/* Sends one LOG line. */
void lg_fw_log(struct lg_fw *fw, uint8_t level, const char *text);

#endif
