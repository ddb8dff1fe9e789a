/* The line configuration (CONFIGURE_SPAN / CONFIGURE_PORT) kept in the
 * config sectors: a record in the second page of each config copy (the first
 * holds the boot record), two copies with a sequence number and a CRC-32, the
 * newest valid one wins, so a power cut at any page write leaves the old or
 * the new configuration (IMAGE.md, "Line configuration record"). */
#ifndef LG_CONFIG_H
#define LG_CONFIG_H
#include "lg_fw.h"

#define LG_MAX_PORTS 4
#define LG_MAX_SPANS 2
#define LG_CONFIG_PAGE_OFFSET LG_PAGE_SIZE   /* within each config copy */
#define LG_GAIN_LIMIT 120                     /* rx/tx gain within +/-12 dB (0.1 dB) */

struct lg_port_config { uint8_t law, zone[2]; int16_t rx_gain, tx_gain; };
struct lg_span_config { uint8_t framing, crc4, coding, clock_priority, law; };
struct lg_line_config {
    uint8_t kind;
    struct lg_port_config port[LG_MAX_PORTS];
    struct lg_span_config span[LG_MAX_SPANS];
};

/* A-law, zone "de", no gain; spans CAS, CRC-4 on, HDB3, span 0 the first clock choice, span 1 the next. */
void lg_config_defaults(struct lg_line_config *c, uint8_t kind);
/* Returns 1 with the newest valid record of this board kind (and its seq), 0 with the defaults. */
int lg_config_load(struct lg_line_config *c, uint8_t kind, uint32_t *seq);
/* Writes c over the copy not holding the newest valid record; *seq gets its number. LG_OK or LG_E_FLASH. */
int lg_config_store(const struct lg_line_config *c, uint32_t *seq);

#endif
