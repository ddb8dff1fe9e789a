/* Caller-allocated, malloc-free entry points to pycryptodome's SHA-256
 * (vendor/pycryptodome, unmodified): its file is included whole so that its
 * static init/finalize functions and state struct are reachable here. */
/* pycryptodome's build defines these for its common.h; the allocator is unused here. */
#define _POSIX_C_SOURCE 200112L
#define HAVE_STDINT_H 1
#define HAVE_POSIX_MEMALIGN 1
#include "pycryptodome/SHA256.c"
#include "../crypto.h"

_Static_assert(sizeof(hash_state) <= sizeof(struct lg_sha256), "struct lg_sha256 too small for pycryptodome's hash_state");

void lg_sha256_init(struct lg_sha256 *s)
{
    sha_init_state((hash_state *)s, 256 / 8);
}

void lg_sha256_update(struct lg_sha256 *s, const uint8_t *data, size_t len)
{
    /* The only failures are NULL pointers and more than 2^64 bits of input. */
    if (len)
        SHA256_update((hash_state *)s, data, len);
}

void lg_sha256_final(struct lg_sha256 *s, uint8_t digest[32])
{
    sha_finalize((hash_state *)s, digest, 256 / 8);
}
