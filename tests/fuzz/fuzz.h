/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer harnesses (tests/fuzz/): a cursor over the fuzz
 * input that yields zeros once the input is used up, so that every prefix
 * of an input is itself a meaningful input, and the abort that turns a
 * broken invariant into a crash libFuzzer records.
 */
#ifndef NC_FUZZ_H
#define NC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
    uint8_t v = 0;

    if ( f->n )
    {
        v = *f->p++;
        f->n--;
    }
    return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
    uint16_t lo = fz_u8(f);

    return (uint16_t)(lo | fz_u8(f) << 8);
}

/* Up to len bytes into dst (the rest zeroed); returns how many came from
 * the input. */
static inline size_t fz_bytes(struct fz *f, void *dst, size_t len)
{
    size_t k = len < f->n ? len : f->n;

    memcpy(dst, f->p, k);
    memset((uint8_t *)dst + k, 0, len - k);
    f->p += k;
    f->n -= k;
    return k;
}

/* A NUL-terminated copy of the whole input, for the text parsers. */
static inline char *fz_strdup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if ( !s )
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#define FZ_FAIL(...)                                                        \
    do                                                                      \
    {                                                                       \
        fprintf(stderr, "fuzz: " __VA_ARGS__);                              \
        fputc('\n', stderr);                                                \
        abort();                                                            \
    } while ( 0 )

#endif /* NC_FUZZ_H */
