/* SHA-256, SHA-512 and Ed25519 verification (RFC 8032, pure Ed25519) for the
 * bootloader, on top of the vendored libraries in vendor/ (see its README):
 * nothing here is hand-written cryptography. */
#ifndef LG_CRYPTO_H
#define LG_CRYPTO_H
#include "lg_fw.h"

/* Caller-allocated states; the vendored code's own struct lives inside
 * (its size is checked at compile time in vendor/sha2_glue_*.c). */
struct lg_sha256 { uint64_t opaque[32]; };
struct lg_sha512 { uint64_t opaque[48]; };

void lg_sha256_init(struct lg_sha256 *s);
void lg_sha256_update(struct lg_sha256 *s, const uint8_t *data, size_t len);
void lg_sha256_final(struct lg_sha256 *s, uint8_t digest[32]);
void lg_sha512_init(struct lg_sha512 *s);
void lg_sha512_update(struct lg_sha512 *s, const uint8_t *data, size_t len);
void lg_sha512_final(struct lg_sha512 *s, uint8_t digest[64]);

/* Ed25519 verification of a message given in pieces (it may come from flash a
 * page at a time): init with the signature and the public key, update with
 * the message, final returns 0 when the signature verifies, -1 otherwise. */
struct lg_ed25519_check {
    struct lg_sha512 h;
    uint8_t sig[64];
    uint8_t pub[32];
};
void lg_ed25519_check_init(struct lg_ed25519_check *c, const uint8_t sig[64], const uint8_t pub[32]);
void lg_ed25519_check_update(struct lg_ed25519_check *c, const uint8_t *msg, size_t len);
int lg_ed25519_check_final(struct lg_ed25519_check *c);

#endif
