/* CRC-32/ISO-HDLC (zlib's crc32): reflected 0xEDB88320, init and xorout 0xFFFFFFFF. */
#ifndef LG_CRC32_H
#define LG_CRC32_H
#include "lg_fw.h"

/* Start with crc = 0, feed the pieces in order: lg_crc32(lg_crc32(0, a, n), b, m). */
uint32_t lg_crc32(uint32_t crc, const uint8_t *data, size_t len);
#endif
