/* SPDX-License-Identifier: MIT */
/*
 * Hierarchical bitmap; see hbitmap.h for the structure and its bounds.
 */
#include "hbitmap.h"

int hb_init(struct nc_hbitmap *b, uint64_t nbits)
{
    uint64_t n = nbits ? nbits : 1;
    unsigned int l = 0;

    nc_memzero(b, sizeof(*b));
    b->nbits = nbits;
    for ( ;; )
    {
        BUG_ON(l >= NC_HB_MAX_LEVELS);
        b->nwords[l] = (n + 63) / 64;
        b->word[l] = nc_zalloc(b->nwords[l] * sizeof(uint64_t));
        if ( !b->word[l] )
        {
            b->levels = l;
            hb_fini(b);
            return -ENOMEM;
        }
        l++;
        if ( b->nwords[l - 1] == 1 )
            break;
        n = b->nwords[l - 1];
    }
    b->levels = l;
    return 0;
}

void hb_fini(struct nc_hbitmap *b)
{
    for ( unsigned int l = 0; l < b->levels; l++ )
        nc_free(b->word[l]);
    nc_memzero(b, sizeof(*b));
}

void hb_set(struct nc_hbitmap *b, uint64_t i)
{
    ASSERT(i < b->nbits);
    for ( unsigned int l = 0; l < b->levels; l++ )
    {
        uint64_t *w = &b->word[l][i >> 6];
        bool was_empty = *w == 0;

        *w |= 1ULL << (i & 63);
        if ( !was_empty )
            return;
        i >>= 6;
    }
}

void hb_clear(struct nc_hbitmap *b, uint64_t i)
{
    ASSERT(i < b->nbits);
    for ( unsigned int l = 0; l < b->levels; l++ )
    {
        uint64_t *w = &b->word[l][i >> 6];

        *w &= ~(1ULL << (i & 63));
        if ( *w != 0 )
            return;
        i >>= 6;
    }
}

/* Smallest set bit >= from at level l (bits of level l index words of
 * level l-1). */
static uint64_t next_at(const struct nc_hbitmap *b, unsigned int l,
                        uint64_t from)
{
    uint64_t w = from >> 6, bits;

    if ( w >= b->nwords[l] )
        return NC_HB_NONE;
    bits = b->word[l][w] & (~0ULL << (from & 63));
    if ( !bits )
    {
        if ( l + 1 == b->levels )
            return NC_HB_NONE;          /* the top level is a single word */
        w = next_at(b, l + 1, w + 1);
        if ( w == NC_HB_NONE )
            return NC_HB_NONE;
        bits = b->word[l][w];
        ASSERT(bits != 0);
    }
    return (w << 6) | (uint64_t)__builtin_ctzll(bits);
}

uint64_t hb_next(const struct nc_hbitmap *b, uint64_t from)
{
    uint64_t i = next_at(b, 0, from);

    return i < b->nbits ? i : NC_HB_NONE;
}
