/* G.711 mu-law and A-law (ITU-T G.711, 1988), 16-bit linear in and out.
 * Encoding truncates 16-bit input to the 14-bit (mu) or 13-bit (A) range of the
 * recommendation the way ITU-T G.191's reference code does. */
#ifndef LG_G711_H
#define LG_G711_H

#include "lg_common.h"

/* cdef-begin */
uint8_t lg_g711_ulaw_encode(int16_t linear);
int16_t lg_g711_ulaw_decode(uint8_t code);
uint8_t lg_g711_alaw_encode(int16_t linear);
int16_t lg_g711_alaw_decode(uint8_t code);

/* Whole arrays; `n` samples. Return n or LG_E_ARG. */
int lg_g711_encode(int law, const int16_t *linear, uint8_t *codes, int n);
int lg_g711_decode(int law, const uint8_t *codes, int16_t *linear, int n);
/* cdef-end */

/* Decode tables for the hot paths (const, so no mutable statics). */
extern const int16_t lg_g711_ulaw_table[256];
extern const int16_t lg_g711_alaw_table[256];

#endif
