/* Caller-allocated, malloc-free entry points to pycryptodome's SHA-512
 * (vendor/pycryptodome, unmodified): its file is included whole so that its
 * static init/finalize functions and state struct are reachable here. */
/* pycryptodome's build defines these for its common.h; the allocator is unused here. */
#define _POSIX_C_SOURCE 200112L
#define HAVE_STDINT_H 1
#define HAVE_POSIX_MEMALIGN 1
#include "pycryptodome/SHA512.c"
#include "../crypto.h"

_Static_assert(sizeof(hash_state) <= sizeof(struct lg_sha512), "struct lg_sha512 too small for pycryptodome's hash_state");

void lg_sha512_init(struct lg_sha512 *s)
{
    sha_init_state((hash_state *)s, 512 / 8);
}

void lg_sha512_update(struct lg_sha512 *s, const uint8_t *data, size_t len)
{
    /* The only failures are NULL pointers and more than 2^64 bits of input. */
    if (len)
        SHA512_update((hash_state *)s, data, len);
}

void lg_sha512_final(struct lg_sha512 *s, uint8_t digest[64])
{
    sha_finalize((hash_state *)s, digest, 512 / 8);
}
