/* SPDX-License-Identifier: MIT */
/*
 * Hierarchical bitmap: the buddy heap's free-block index.
 *
 * Level 0 has one bit per item.  Bit w of level l+1 is set whenever word w
 * of level l is non-zero, up to a top level of a single word, and two
 * levels at least (so that hb_set never asks whether level 1 is there:
 * for a map of one word, one word more).  A summary
 * bit may stay set after its word empties ("stale"): hb_clear touches
 * level 0 alone, and a search that meets a stale bit steps past it
 * (hb_next_prune also clears it, and any summary above that empties).  So
 * "next set bit at or after i" costs O(levels) word operations plus one
 * step per stale bit met, each of which was left by a clear; hb_clear is
 * O(1) and hb_set O(levels) in the worst case and O(1) usually, even on
 * a map as sparse as a fresh heap's, where exact summaries would make
 * every set and clear walk all levels.  A lower bound on the set bits
 * (low) lets hb_next_prune start a search from below it at the bound;
 * stale bits below the bound are left, as no pruning search meets them.
 * Memory: n/8 bytes plus 1/63 of that for the summaries.
 *
 * The caller serialises access (the heap lock).
 */
#ifndef NC_CORE_HBITMAP_H
#define NC_CORE_HBITMAP_H

#include "env.h"

#define NC_HB_MAX_LEVELS 8          /* 64^8 bits: far beyond 2^40 frames */
#define NC_HB_NONE       UINT64_MAX

struct nc_hbitmap {
    uint64_t nbits;
    unsigned int levels;
    uint64_t *word[NC_HB_MAX_LEVELS];   /* word[l]: level l's words */
    uint64_t nwords[NC_HB_MAX_LEVELS];
    /* No bit below low is set: lowered by hb_set, raised by the pruning
     * search, so a search from below it (an allocator's from a zone's
     * start) begins where the lowest bit may be. */
    uint64_t low;
};

int hb_init(struct nc_hbitmap *b, uint64_t nbits);   /* all clear */
void hb_fini(struct nc_hbitmap *b);

/* Bit i of level 0 is set, and its word was empty: the summary bits
 * above, up to the first that was set already (stale or not: a word that
 * was non-zero has its summary bit), or that sits in a word that was
 * non-zero.  Level 1 is there (hb_init makes two levels at least). */
static inline void hb_summarise(struct nc_hbitmap *b, uint64_t i)
{
    unsigned int l = 1;
    uint64_t *w, old;

    do
    {
        i >>= 6;
        w = &b->word[l][i >> 6];
        old = *w;
        /* Often set already (stale): then neither it nor those above need
         * writing. */
        if ( (old >> (i & 63)) & 1 )
            return;
        *w = old | (1ULL << (i & 63));
    } while ( !old && ++l < b->levels );
}

static inline void hb_set(struct nc_hbitmap *b, uint64_t i)
{
    uint64_t *w = &b->word[0][i >> 6], old = *w;

    ASSERT(i < b->nbits && b->levels >= 2);
    if ( i < b->low )
        b->low = i;
    *w = old | (1ULL << (i & 63));
    if ( !old )
        hb_summarise(b, i);
}

/* The buddy allocator's merge step, on the one word that holds both bits
 * i and i ^ 1: if bit i ^ 1 is set, clear it and return true; else set
 * bit i (hb_set) and return false. */
static inline bool hb_clear_buddy_or_set(struct nc_hbitmap *b, uint64_t i)
{
    uint64_t *w = &b->word[0][i >> 6], old = *w;

    /* (Bit i ^ 1 may be past the end: in i's word, and clear.) */
    ASSERT(i < b->nbits && b->levels >= 2);
    if ( (old >> ((i ^ 1) & 63)) & 1 )
    {
        *w = old ^ (1ULL << ((i ^ 1) & 63));    /* set: xor clears it */
        return true;
    }
    if ( i < b->low )
        b->low = i;
    *w = old | (1ULL << (i & 63));
    if ( !old )
        hb_summarise(b, i);
    return false;
}

/* The summaries above may go stale: searches allow for it. */
static inline void hb_clear(struct nc_hbitmap *b, uint64_t i)
{
    ASSERT(i < b->nbits);
    b->word[0][i >> 6] &= ~(1ULL << (i & 63));
}

/* Bit i, which the caller knows to be in the map (no bounds test). */
static inline bool hb_test_in(const struct nc_hbitmap *b, uint64_t i)
{
    ASSERT(i < b->nbits);
    return (b->word[0][i >> 6] >> (i & 63)) & 1;
}

static inline bool hb_test(const struct nc_hbitmap *b, uint64_t i)
{
    return i < b->nbits && hb_test_in(b, i);
}

/* Smallest set bit >= from, or NC_HB_NONE.  hb_next leaves the map as it
 * is (for readers such as the checker); hb_next_prune, for the map's
 * owner, clears the stale summary bits it steps past, so that the next
 * search does not meet them again. */
uint64_t hb_next(const struct nc_hbitmap *b, uint64_t from);
uint64_t hb_next_prune(struct nc_hbitmap *b, uint64_t from);

/* hb_next_prune, and the bit it finds cleared (hb_clear): the allocator's
 * take of the first free block at or after from.  Inline, the allocator's
 * common case: a set bit in the first word the search looks at, which is
 * cleared where it was found; hb_next_prune() for the rest. */
static inline uint64_t hb_take_next(struct nc_hbitmap *b, uint64_t from)
{
    /* The search starts at the bound if from is below it (and the bound
     * becomes what it finds, still one: nothing lies below). */
    uint64_t low = b->low, at = from > low ? from : low, w = at >> 6, i;

    if ( w < b->nwords[0] )
    {
        /* The word's bits from at's up, shifted down to bit 0: the first
         * is at + its index. */
        uint64_t *wp = &b->word[0][w], bits = *wp >> (at & 63);

        if ( bits )
        {
            i = at + (uint64_t)__builtin_ctzll(bits);
            ASSERT(i < b->nbits && (i >> 6) == w);
            if ( from <= low )
                b->low = i;
            *wp ^= 1ULL << (i & 63);        /* set: xor clears it */
            return i;
        }
    }
    i = hb_next_prune(b, from);
    if ( i != NC_HB_NONE )
        hb_clear(b, i);
    return i;
}

#endif /* NC_CORE_HBITMAP_H */
