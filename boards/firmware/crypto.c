#include <string.h>

#include "crypto.h"
#include "vendor/monocypher/monocypher.h"

/* Ed25519 as RFC 8032 section 5.1.7 and Monocypher 4's optional
 * monocypher-ed25519.c (crypto_ed25519_check) compose it: k = SHA-512(R || A || M)
 * reduced mod L, then Monocypher checks [S]B = R + [k]A (crypto_eddsa_check_equation,
 * which also rejects S >= L and a public key not on the curve). Monocypher's
 * manual documents these building blocks for exactly this use; its PyPI sdist
 * (our source) ships the core without the optional file. */
void lg_ed25519_check_init(struct lg_ed25519_check *c, const uint8_t sig[64], const uint8_t pub[32])
{
    memcpy(c->sig, sig, 64);
    memcpy(c->pub, pub, 32);
    lg_sha512_init(&c->h);
    lg_sha512_update(&c->h, sig, 32);
    lg_sha512_update(&c->h, pub, 32);
}

void lg_ed25519_check_update(struct lg_ed25519_check *c, const uint8_t *msg, size_t len)
{
    lg_sha512_update(&c->h, msg, len);
}

int lg_ed25519_check_final(struct lg_ed25519_check *c)
{
    uint8_t h_ram[64];
    lg_sha512_final(&c->h, h_ram);
    crypto_eddsa_reduce(h_ram, h_ram);
    return crypto_eddsa_check_equation(c->sig, c->pub, h_ram) == 0 ? 0 : -1;
}
