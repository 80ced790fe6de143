/* SPDX-License-Identifier: MIT */
/*
 * Hierarchical bitmap: the buddy heap's free-block index.
 *
 * Level 0 has one bit per item.  Bit w of level l+1 is set exactly when
 * word w of level l is non-zero, up to a top level of a single word.  So
 * "next set bit at or after i" costs O(levels) = O(log64 n) word operations
 * however sparse the map is, and set/clear cost O(levels) in the worst case
 * and O(1) usually.  Memory: n/8 bytes plus 1/63 of that for the summaries.
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
};

int hb_init(struct nc_hbitmap *b, uint64_t nbits);   /* all clear */
void hb_fini(struct nc_hbitmap *b);
void hb_set(struct nc_hbitmap *b, uint64_t i);
void hb_clear(struct nc_hbitmap *b, uint64_t i);

static inline bool hb_test(const struct nc_hbitmap *b, uint64_t i)
{
    return i < b->nbits && ((b->word[0][i >> 6] >> (i & 63)) & 1);
}

/* Smallest set bit >= from, or NC_HB_NONE. */
uint64_t hb_next(const struct nc_hbitmap *b, uint64_t from);

#endif /* NC_CORE_HBITMAP_H */
