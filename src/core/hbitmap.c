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
        /* Two levels at least, so that hb_set() has a summary to write
         * without asking whether there is one. */
        if ( b->nwords[l - 1] == 1 && l >= 2 )
            break;
        n = b->nwords[l - 1];
    }
    b->levels = l;
    b->low = nbits;
    return 0;
}

void hb_fini(struct nc_hbitmap *b)
{
    for ( unsigned int l = 0; l < b->levels; l++ )
        nc_free(b->word[l]);
    nc_memzero(b, sizeof(*b));
}

/* Clear bit i of level l, a summary bit whose word is empty, and the
 * summary bits above it whose words empty as a result. */
static void prune(struct nc_hbitmap *b, unsigned int l, uint64_t i)
{
    for ( ; l < b->levels; l++ )
    {
        uint64_t *w = &b->word[l][i >> 6];

        *w &= ~(1ULL << (i & 63));
        if ( *w )
            return;
        i >>= 6;
    }
}

/* The search of hb_next and hb_next_prune; `tidy` is a constant in each,
 * so each gets its own copy without the other's branch. */
static inline uint64_t next_set(struct nc_hbitmap *b, uint64_t from,
                                bool tidy)
{
    unsigned int l = 0;

    for ( ;; )
    {
        uint64_t w = from >> 6, bits, i;

        if ( w >= b->nwords[l] )
            return NC_HB_NONE;
        bits = b->word[l][w] & (~0ULL << (from & 63));
        if ( !bits )
        {
            /* Nothing at or after the point in this word: the level above,
             * from the word after this one. */
            if ( ++l == b->levels )
                return NC_HB_NONE;      /* the top level is a single word */
            from = w + 1;
            continue;
        }
        /* Down through the lowest set bits while each names a non-zero
         * word: at level 0 that is the answer. */
        for ( ;; )
        {
            i = (w << 6) | (uint64_t)__builtin_ctzll(bits);
            if ( l == 0 )
                return i < b->nbits ? i : NC_HB_NONE;
            bits = b->word[l - 1][i];
            if ( !bits )
                break;
            l--;
            w = i;
        }
        /* Bit i of level l is stale: on past it, at the same level. */
        if ( tidy )
            prune(b, l, i);
        from = i + 1;
    }
}

uint64_t hb_next(const struct nc_hbitmap *b, uint64_t from)
{
    /* Without pruning nothing is written through the pointer. */
    return next_set((struct nc_hbitmap *)b, from, false);
}

uint64_t hb_next_prune(struct nc_hbitmap *b, uint64_t from)
{
    uint64_t i;

    if ( from > b->low )
        return next_set(b, from, true);
    /* Nothing lies below low: search from it, and what is found (or the
     * end) is the lowest set bit, the new bound. */
    i = next_set(b, b->low, true);
    b->low = i == NC_HB_NONE ? b->nbits : i;
    return i;
}
