/* SPDX-License-Identifier: MIT */
/*
 * The per-node binary buddy heap.
 *
 * Free memory on each node is a set of disjoint, naturally aligned blocks of
 * 2^k frames, k = 0..NC_MAX_ORDER (4 KiB .. 1 GiB).  Rules:
 *
 *  1. A block never crosses a node's MFN range or a zone boundary (zone z
 *     holds MFNs [2^(z-1), 2^z), MFN 0 is in zone 1: spec §1).
 *  2. Two free buddies of order k that together form a block allowed by
 *     rule 1 are always merged into one block of order k+1.
 *  3. Allocation takes the smallest free block that fits in the highest
 *     allowed zone, keeps its lowest 2^order frames and frees the upper
 *     halves of each split.
 *
 * Unlike Xen, there is no per-frame metadata: the free blocks of order k on
 * a node are the set bits of a hierarchical bitmap (hbitmap.h) indexed by
 * (mfn - base) >> k.  So a 16 TiB host needs about 2 bits per frame of
 * metadata in all, allocation finds a block in O(orders + log64 frames),
 * and freeing coalesces in O(orders).  Per (node, zone) and per (node, zone,
 * order) counters, and per (node, zone) a mask of the orders with a block,
 * let the search skip empty zones and orders at once.
 *
 * Everything here runs under the node's lock (locks.c).  Every counter
 * decrement is preceded by an assertion that the counter is large enough.
 */
#include "private.h"

/* ========================================================================
 * Zones and MFN -> node
 * ======================================================================== */

uint32_t bits_to_zone(uint32_t bits)
{
    return bits < NC_PAGE_SHIFT + 1 ? 1u : bits - NC_PAGE_SHIFT;
}

static uint64_t hrange_end(const void *arr, uint32_t i)
{
    return ((const struct nc_hrange *)arr)[i].end;
}

/* The range holding mfn, by binary search over all nodes' ranges
 * (mfn_hrange() tries the chunk table first). */
const struct nc_hrange *mfn_hrange_search(const struct nc_host *h,
                                          uint64_t mfn)
{
    uint32_t i = first_ending_after(h->ranges, 0, h->nr_ranges, mfn,
                                    hrange_end);

    if ( i < h->nr_ranges && h->ranges[i].start <= mfn )
        return &h->ranges[i];
    return NULL;
}

/* ========================================================================
 * Blocks
 * ======================================================================== */

/* Link a free block of zone z (its callers know the zone: a split's
 * halves and a merge's result lie in the zone of the block they came
 * from, by rule 1). */
static void block_link(struct nc_node *nd, uint32_t z, uint64_t mfn,
                       uint32_t k)
{
    ASSERT(zone_of(mfn) == z);
    hb_set(&nd->free[k], (mfn - nd->base) >> k);
    nd->zone_blocks[z][k]++;
    nd->zone_orders[z] |= 1u << k;
}

/* Unlink a free block of zone z, which its callers know as block_link's
 * do (a buddy lies in its partner's zone: rule 1 again). */
static void block_unlink(struct nc_node *nd, uint32_t z, uint64_t mfn,
                         uint32_t k)
{
    ASSERT(zone_of(mfn) == z);
    ASSERT(hb_test(&nd->free[k], (mfn - nd->base) >> k));
    hb_clear(&nd->free[k], (mfn - nd->base) >> k);
    ASSERT(nd->zone_blocks[z][k] > 0);
    if ( !--nd->zone_blocks[z][k] )
        nd->zone_orders[z] &= ~(1u << k);
}

static bool block_is_free(const struct nc_node *nd, uint64_t mfn, uint32_t k)
{
    return mfn >= nd->base && hb_test(&nd->free[k], (mfn - nd->base) >> k);
}

/*
 * Rule 1 for an aligned block: it must lie in the range and not cross a
 * zone.  All MFNs of an aligned 2^k block at m > 0 share their top bit, so
 * only the block at 0 can cross zones, and it does from 4 frames up.  The
 * rule as written, for the assertions: allowed_order() is what runs.  (A
 * macro: without assertions nothing uses it, which clang warns of for a
 * static function.)
 */
#define block_allowed(r, mfn, k)                                    \
    ((mfn) >= (r)->start && (mfn) + (1ULL << (k)) <= (r)->end &&    \
     ((mfn) != 0 || (k) <= 1))

/*
 * The largest order of an allowed block (rule 1) holding mfn, which lies
 * in range r; block_allowed(r, mfn & ~((1ULL << k) - 1), k) holds exactly
 * for k up to it, as the aligned blocks holding mfn nest.  For m = mfn,
 * the order-k block holding m is (m >> k) << k, and with h() the index of
 * the highest set bit:
 *  - it starts at or above r->start = s iff m >> k > (s - 1) >> k, that is
 *    iff h(m ^ (s - 1)) >= k (m >= s; for s = 0, m ^ (s - 1) = ~m);
 *  - it ends at or below r->end = e iff m >> k < e >> k, iff h(m ^ e) >= k;
 *  - it is not the block at 0 of 4 frames or more iff h(m | 2) >= k.
 * h() grows with its argument, so the least of the bounds is h() of the
 * least argument: one bit scan for the merge loop's whole bound.
 */
static nc_always_inline uint32_t allowed_order(const struct nc_hrange *r,
                                               uint64_t mfn)
{
    uint64_t least = NC_MIN(NC_MIN(mfn ^ (r->start - 1), mfn ^ r->end),
                            NC_MIN(mfn | 2, 1ULL << NC_MAX_ORDER));

    return 63u - (uint32_t)__builtin_clzll(least);
}

/* Free one block allowed by rule 1, of order k <= top = allowed_order(r,
 * mfn), merging it with free buddies.  The whole of it inline in the
 * maps' common case (heap_give_block_locked(), which has top already):
 * free_block() is the copy for the rest. */
static nc_always_inline void free_block_inline(struct nc_node *nd,
                                               const struct nc_hrange *r,
                                               uint64_t mfn, uint32_t k,
                                               uint32_t top)
{
    uint32_t z = zone_of(mfn);
    /* The block's index on its order's map: the buddy's is its neighbour
     * (i ^ 1), the merged block's the parent (i >> 1). */
    uint64_t i = (mfn - nd->base) >> k;
    /* The zone's order mask, written back once. */
    uint32_t orders = nd->zone_orders[z];

    /* The order-k map and count, stepped up with k */
    struct nc_hbitmap *map = &nd->free[k];
    uint64_t *blocks = &nd->zone_blocks[z][k];

    ASSERT(top == allowed_order(r, mfn));
    ASSERT(k <= top && block_allowed(r, mfn, k));
    heap_account_free(nd, z, 1ULL << k);
    for ( ; ; k++, i >>= 1, map++, blocks++ )
    {
        ASSERT(zone_of(nd->base + (i << k)) == z);
        if ( k == top )
        {
            /* No merge allowed: block_link() */
            hb_set(map, i);
            break;
        }
        /* The merged block lies in r, so in the node's map: the buddy's
         * bit needs no bounds test.  Merge with the buddy, or link the
         * block (block_link()): one look at the word holding both. */
        ASSERT(block_allowed(r, mfn & ~((2ULL << k) - 1), k + 1));
        if ( !hb_clear_buddy_or_set(map, i) )
            break;
        /* The buddy's block_unlink(), with the mask kept in a local */
        ASSERT(*blocks > 0);
        if ( !--*blocks )
            orders &= ~(1u << k);
    }
    /* The rest of block_link(), likewise */
    ++*blocks;
    nd->zone_orders[z] = orders | 1u << k;
}

static void free_block(struct nc_node *nd, const struct nc_hrange *r,
                       uint64_t mfn, uint32_t k)
{
    free_block_inline(nd, r, mfn, k, allowed_order(r, mfn));
}

/* Free [s, e), which lies in range r, as maximal allowed blocks. */
static void free_run(struct nc_node *nd, const struct nc_hrange *r,
                     uint64_t s, uint64_t e)
{
    while ( s < e )
    {
        uint32_t k = NC_MAX_ORDER, fit = 63u - (uint32_t)__builtin_clzll(e - s);

        if ( s )
            k = NC_MIN(k, (uint32_t)__builtin_ctzll(s));
        else
            k = 1;              /* the block at 0 stops at zone 1 */
        k = NC_MIN(k, fit);
        free_block(nd, r, s, k);
        s += 1ULL << k;
    }
}

/* ========================================================================
 * The per-node cache
 *
 * Freeing a small block and allocating one again is what a guest's
 * balloon and a builder's fallback do all day; through the buddy maps it
 * costs a merge and a split per order on each side.  So a freed block of
 * order k <= NC_CACHE_MAX_ORDER is kept as it is, in a LIFO of
 * NC_CACHE_DEPTH per order, and handed out again first.  Rules:
 *
 *  1. A cached block is free: it counts in zone_avail and avail (so claims
 *     and the invariants see it), but not in zone_blocks or on the maps.
 *  2. Only blocks in the node's top zone are cached, so handing one out
 *     honours "highest zone first" exactly.
 *  3. An allocation the maps cannot serve flushes the node's cache back
 *     into the maps (merging) and tries again, so the cache never makes an
 *     allocation fail; offlining a frame flushes it too.
 * ======================================================================== */

void heap_flush_cache_locked(struct nc_host *h, uint32_t node)
{
    struct nc_node *nd = &h->node[node];

    ASSERT(node_locked(h, node));
    for ( unsigned int k = 0; nd->nr_cached && k <= NC_CACHE_MAX_ORDER; k++ )
        while ( nd->cache[k].nr )
        {
            uint64_t mfn = nd->cache[k].mfn[--nd->cache[k].nr];

            ASSERT(nd->nr_cached > 0);
            nd->nr_cached--;
            heap_account_taken(nd, zone_of(mfn), 1ULL << k);
            free_block(nd, mfn_hrange(h, mfn), mfn, k);
        }
}

/* ========================================================================
 * Take and give
 * ======================================================================== */

/* Split the smallest free block that fits, in the highest zone that has
 * one: rule 3.  Inline in both of heap_take_maps_locked's calls (a
 * second call and its saved registers cost 16 instructions a take). */
static nc_always_inline uint64_t take_from_maps(struct nc_node *nd,
                                                uint32_t order,
                                                uint32_t zone_hi)
{
    /* (base in a local: the stores to the maps' words below could be to
     * it, for all the compiler knows) */
    uint64_t base = nd->base;

    for ( unsigned int z = NC_MIN(zone_hi, nd->top_zone); z >= 1; z-- )
    {
        /* The orders from the request's up with a block in the zone; the
         * smallest is the one to split.  (zone_avail needs no test: such
         * a block would count in it.) */
        uint32_t orders = nd->zone_orders[z], fit = orders & (~0u << order);
        uint32_t j;
        uint64_t zs, ze = 1ULL << z, i, mfn;

        if ( !fit )
            continue;
        j = (uint32_t)__builtin_ctz(fit);
        /* Zone z is [ze / 2, ze), zone 1 [0, 2). */
        zs = NC_MAX((ze >> 1) & ~1ULL, base);
        /* An order-j block of zone z fits in it, so 2^j divides the zone's
         * start, and the node's base (a multiple of 2^NC_MAX_ORDER): the
         * search starts at an exact index. */
        ASSERT(!((zs - base) & ((1ULL << j) - 1)));
        /* The first free order-j block at or above the zone's start is
         * in this zone: lower zones lie below, and this one has one.  Its
         * bit is cleared as it is found (block_unlink()'s hb_clear). */
        i = hb_take_next(&nd->free[j], (zs - base) >> j);
        mfn = base + (i << j);
        /* Found, and in zone z, that is in [zs, ze): as the search starts
         * at zs, the end is all there is to test.  NC_HB_NONE gives an
         * mfn below the node's base (or past any zone, for base 0), and
         * fails the same test. */
        BUG_ON(mfn - zs >= ze - zs);
        ASSERT(i != NC_HB_NONE && zone_of(mfn) == z);

        /* The rest of its block_unlink(); then the upper halves of the
         * splits, orders j - 1 down to the request's, linked: the mask
         * gets those orders in one go. */
        ASSERT(nd->zone_blocks[z][j] > 0);
        if ( !--nd->zone_blocks[z][j] )
            orders &= ~(1u << j);
        nd->zone_orders[z] = orders | (((1u << j) - 1) & (~0u << order));
        heap_account_taken(nd, z, 1ULL << order);
        for ( uint32_t k = j; k > order; )
        {
            /* The upper half of the order-k + 1 block at index i is the
             * order-k block at 2i + 1. */
            k--;
            i <<= 1;
            ASSERT(zone_of(base + ((i | 1) << k)) == z);
            hb_set(&nd->free[k], i | 1);
            nd->zone_blocks[z][k]++;
        }
        return mfn;
    }
    return NC_INVALID_MFN;
}

uint64_t heap_take_maps_locked(struct nc_host *h, uint32_t node,
                               uint32_t order, uint32_t zone_hi)
{
    struct nc_node *nd = &h->node[node];
    uint64_t mfn;

    ASSERT(node_locked(h, node));
    mfn = take_from_maps(nd, order, zone_hi);
    if ( mfn == NC_INVALID_MFN && nd->nr_cached )
    {
        heap_flush_cache_locked(h, node);
        mfn = take_from_maps(nd, order, zone_hi);
    }
    ASSERT_EXPENSIVE_WHY(check_node_heap_locked, h, node);
    return mfn;
}

uint64_t heap_give_maps_locked(struct nc_host *h, const struct nc_hrange *r,
                               uint64_t mfn, uint64_t nr)
{
    struct nc_node *nd = &h->node[r->node];
    struct nc_badpage *b, *next;
    uint64_t end = mfn + nr, freed = 0;

    ASSERT(node_locked(h, r->node));
    if ( !nd->bad.nr )
    {
        /* No frame is pending offline: the common case. */
        free_run(nd, r, mfn, end);
        ASSERT_EXPENSIVE_WHY(check_node_heap_locked, h, r->node);
        return nr;
    }
    b = badset_lower_bound(&nd->bad, mfn);
    while ( mfn < end )
    {
        uint64_t stop = (b && b->mfn < end) ? b->mfn : end;

        free_run(nd, r, mfn, stop);
        freed += stop - mfn;
        mfn = stop;
        if ( mfn == end )
            break;
        /* An owned frame is only ever in the bad set as pending, and its
         * bitmap chunk was made when it went pending. */
        BUG_ON(!(b->flags & NC_BAD_PENDING));
        offmap_set(nd, mfn);
        nd->offlined++;
        next = badset_next(&nd->bad, b);
        if ( b->flags & NC_BAD_BROKEN )
            b->flags &= ~NC_BAD_PENDING;
        else
            badset_remove(&nd->bad, b);
        mfn++;
        b = next;
    }
    ASSERT_EXPENSIVE_WHY(check_node_heap_locked, h, r->node);
    return freed;
}

/* free_run() of [mfn, mfn + nr), returning nr: out of line, as its loop
 * and calls, inlined, cost heap_give_block_locked()'s common path five
 * instructions a free. */
static nc_noinline uint64_t give_run(struct nc_node *nd,
                                     const struct nc_hrange *r, uint64_t mfn,
                                     uint64_t nr)
{
    free_run(nd, r, mfn, mfn + nr);
    return nr;
}

uint64_t heap_give_block_locked(struct nc_node *nd,
                                const struct nc_hrange *r, uint64_t mfn,
                                uint64_t nr)
{
    uint32_t k = (uint32_t)__builtin_ctzll(nr), top = allowed_order(r, mfn);

    ASSERT(nr == 1ULL << k && !(mfn & (nr - 1)) && !nd->bad.nr);
    ASSERT(mfn >= r->start && mfn + nr <= r->end);
    /* An allowed block (a page, an extent: k <= top, as the block lies in
     * r) is all free_run() would make of it: freed whole, inline. */
    if ( k > top )
        return give_run(nd, r, mfn, nr);
    free_block_inline(nd, r, mfn, k, top);
    return nr;
}

uint64_t heap_give_span_locked(struct nc_host *h, uint64_t mfn, uint64_t nr)
{
    uint64_t freed = 0;

    ASSERT(heap_all_locked(h));
    while ( nr )
    {
        const struct nc_hrange *r = mfn_hrange(h, mfn);
        uint64_t piece;

        BUG_ON(!r);
        piece = NC_MIN(nr, r->end - mfn);
        freed += heap_give_range_locked(h, r, mfn, piece);
        mfn += piece;
        nr -= piece;
    }
    return freed;
}

/* The free block on the maps holding mfn: its order in *kp and its first
 * MFN. */
static uint64_t containing_block(const struct nc_node *nd, uint64_t mfn,
                                 uint32_t *kp)
{
    for ( unsigned int k = 0; k <= NC_MAX_ORDER; k++ )
    {
        uint64_t blk = mfn & ~((1ULL << k) - 1);

        if ( block_is_free(nd, blk, k) )
        {
            *kp = k;
            return blk;
        }
    }
    return NC_INVALID_MFN;
}

/* The online node holding mfn, whose lock the caller holds, or
 * NC_NUMA_NO_NODE. */
static uint32_t locked_node_of(const struct nc_host *h, uint64_t mfn)
{
    uint32_t node = mfn_node(h, mfn);

    if ( node == NC_NUMA_NO_NODE || !h->node[node].online )
        return NC_NUMA_NO_NODE;
    ASSERT(node_locked(h, node));
    return node;
}

bool heap_frame_free_locked(const struct nc_host *h, uint64_t mfn)
{
    uint32_t node = locked_node_of(h, mfn), k;
    const struct nc_node *nd;

    if ( node == NC_NUMA_NO_NODE )
        return false;
    nd = &h->node[node];
    if ( containing_block(nd, mfn, &k) != NC_INVALID_MFN )
        return true;
    for ( k = 0; nd->nr_cached && k <= NC_CACHE_MAX_ORDER; k++ )
        for ( unsigned int i = 0; i < nd->cache[k].nr; i++ )
            if ( mfn - nd->cache[k].mfn[i] < (1ULL << k) )
                return true;
    return false;
}

bool heap_reserve_frame_locked(struct nc_host *h, uint64_t mfn)
{
    uint32_t node = locked_node_of(h, mfn), k, z;
    struct nc_node *nd;
    uint64_t blk;

    if ( node == NC_NUMA_NO_NODE )
        return false;
    nd = &h->node[node];
    heap_flush_cache_locked(h, node);
    blk = containing_block(nd, mfn, &k);
    if ( blk == NC_INVALID_MFN )
        return false;

    /* Split around the frame: at each level free the half without it.
     * The halves lie in the block, so in its zone (rule 1). */
    z = zone_of(mfn);
    block_unlink(nd, z, blk, k);
    while ( k > 0 )
    {
        k--;
        block_link(nd, z, (mfn & ~((1ULL << k) - 1)) ^ (1ULL << k), k);
    }
    heap_account_taken(nd, z, 1);
    return true;
}

/* ========================================================================
 * Set-up and tear-down
 * ======================================================================== */

static bool hrange_before(const void *a, const void *b)
{
    return ((const struct nc_hrange *)a)->start <
           ((const struct nc_hrange *)b)->start;
}

/* The other online nodes grouped by their distance from `from`, nearest
 * first, one mask per distance: visiting the masks in turn, each by
 * ascending id, is visiting the nodes by (distance, id).  NC_NO_DISTANCE is
 * the largest distance, so the unreachable nodes, if any, are the last
 * mask, after the nr_walk_near of those it can reach. */
static void walk_tiers(struct nc_host *h, uint32_t from)
{
    struct nc_node *nd = &h->node[from];
    int placed = -1;            /* every distance up to it has its mask */

    nd->nr_walk_tiers = nd->nr_walk_near = 0;
    for ( ;; )
    {
        unsigned int least = 256;
        uint64_t mask = 0;

        for ( unsigned int i = 0; i < h->nr_nodes; i++ )
        {
            unsigned int d = h->distance[from][i];

            if ( i == from || !h->node[i].online || (int)d <= placed ||
                 d > least )
                continue;
            if ( d < least )
                mask = 0;
            least = d;
            mask |= 1ULL << i;
        }
        if ( !mask )
            return;
        nd->walk_tier[nd->nr_walk_tiers++] = mask;
        if ( least != NC_NO_DISTANCE )
            nd->nr_walk_near = nd->nr_walk_tiers;
        placed = (int)least;
    }
}

/* Above this many 1 GiB chunks of MFN space (2^22: 4 PiB) the lookup
 * table is not worth its memory and mfn_hrange() searches. */
#define NC_MAX_CHUNKS (1ULL << 22)

static int chunk_table_init(struct nc_host *h)
{
    uint64_t end = 0;

    for ( unsigned int i = 0; i < h->nr_ranges; i++ )
        end = NC_MAX(end, h->ranges[i].end);
    h->nr_chunks = (end + (1ULL << NC_MAX_ORDER) - 1) >> NC_MAX_ORDER;
    if ( h->nr_chunks > NC_MAX_CHUNKS )
    {
        h->nr_chunks = 0;
        return 0;
    }
    h->chunk_range = nc_zalloc(NC_MAX(h->nr_chunks, 1ULL) *
                               sizeof(*h->chunk_range));
    if ( !h->chunk_range )
        return -ENOMEM;
    for ( uint64_t c = 0; c < h->nr_chunks; c++ )
    {
        uint64_t s = c << NC_MAX_ORDER, e = s + (1ULL << NC_MAX_ORDER);
        const struct nc_hrange *r = mfn_hrange_search(h, s);

        h->chunk_range[c] = r && r->end >= e
                            ? (uint16_t)(r - h->ranges) : NC_CHUNK_MIXED;
    }
    return 0;
}

int heap_init(struct nc_host *h, const struct nc_host_config *cfg)
{
    uint32_t nr = 0;

    /* One entry per hypervisor allocation, so nc_free_anon can insist on
     * getting back exactly what it handed out. */
    h->anon.no_merge = true;

    for ( unsigned int n = 0; n < cfg->nr_nodes; n++ )
        nr += cfg->node[n].nr_ranges;
    h->ranges = nc_zalloc((size_t)NC_MAX(nr, 1u) * sizeof(*h->ranges));
    h->node = nc_zalloc((size_t)cfg->nr_nodes * sizeof(*h->node));
    if ( !h->ranges || !h->node )
        return -ENOMEM;

    for ( unsigned int n = 0; n < cfg->nr_nodes; n++ )
    {
        const struct nc_node_config *nc = &cfg->node[n];
        struct nc_node *nd = &h->node[n];

        nd->online = nc->online;
        nd->admit_mask = &h->admit_mask;
        nd->admit_bit = 1ULL << n;
        nd->nr_ranges = nc->nr_ranges;
        nd->base = UINT64_MAX;
        for ( unsigned int i = 0; i < nc->nr_ranges; i++ )
        {
            const struct nc_range *r = &nc->range[i];

            nd->range[i] = *r;
            nd->size += r->nr;
            nd->base = NC_MIN(nd->base, r->start);
            nd->end = NC_MAX(nd->end, r->start + r->nr);
            h->ranges[h->nr_ranges++] =
                (struct nc_hrange){ r->start, r->start + r->nr, n };
        }
        if ( nd->base == UINT64_MAX )
            nd->base = 0;
        nd->base &= ~((1ULL << NC_MAX_ORDER) - 1);
        nd->top_zone = nd->end ? zone_of(nd->end - 1) : 0;
        nd->top_base = nd->top_zone > 1 ? 1ULL << (nd->top_zone - 1)
                     : nd->top_zone ? 0 : NC_INVALID_MFN;
        if ( nd->online )
            h->total_pages += nd->size;
        if ( !nd->online || !nd->size )
            continue;
        for ( unsigned int k = 0; k <= NC_MAX_ORDER; k++ )
            if ( hb_init(&nd->free[k], ((nd->end - nd->base) >> k) + 1) )
                return -ENOMEM;
        if ( offmap_init(nd) )
            return -ENOMEM;
    }
    for ( unsigned int n = 0; n < cfg->nr_nodes; n++ )
        walk_tiers(h, n);
    nc_sort(h->ranges, h->nr_ranges, sizeof(*h->ranges), hrange_before);
    if ( chunk_table_init(h) )
        return -ENOMEM;
    for ( unsigned int n = 0; n < cfg->nr_nodes; n++ )
        nc_lock_init(&h->node[n].lock, NC_RANK_NODE(n));
    h->nr_locked_nodes = cfg->nr_nodes;

    heap_lock_all(h);
    for ( unsigned int n = 0; n < cfg->nr_nodes; n++ )
        if ( h->node[n].online )
            for ( unsigned int i = 0; i < h->node[n].nr_ranges; i++ )
                heap_give_locked(h, h->node[n].range[i].start,
                                 h->node[n].range[i].nr);
    heap_unlock_all(h);
    return 0;
}

void heap_fini(struct nc_host *h)
{
    if ( h->node )
        for ( unsigned int n = 0; n < h->nr_nodes; n++ )
        {
            for ( unsigned int k = 0; k <= NC_MAX_ORDER; k++ )
                if ( h->node[n].free[k].levels )
                    hb_fini(&h->node[n].free[k]);
            badset_fini(&h->node[n].bad);
            offmap_fini(&h->node[n]);
            if ( n < h->nr_locked_nodes )
                nc_lock_fini(&h->node[n].lock);
        }
    nc_free(h->chunk_range);
    h->chunk_range = NULL;
    nc_free(h->node);
    nc_free(h->ranges);
    h->node = NULL;
    h->ranges = NULL;
}

/* ========================================================================
 * Queries
 * ======================================================================== */

/* Clamp a width's zone into the zones that hold domain memory (Xen's zone
 * 0 is its own heap; numaclaim has none, so zone 0 is always empty). */
static uint32_t width_zone(uint32_t width, uint32_t none)
{
    uint32_t z = width ? bits_to_zone(width) : none;

    return NC_MAX(1u, NC_MIN((uint32_t)NC_NR_ZONES - 1, z));
}

uint64_t nc_host_avail_heap(struct nc_host *h, int32_t node,
                            uint32_t min_width, uint32_t max_width)
{
    uint32_t lo = width_zone(min_width, 1), hi = width_zone(max_width,
                                                            NC_NR_ZONES - 1);
    uint64_t pages = 0;

    heap_lock_all(h);
    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
    {
        if ( !h->node[n].online || (node != -1 && (uint32_t)node != n) )
            continue;
        for ( unsigned int z = lo; z <= hi; z++ )
            pages += h->node[n].zone_avail[z];
    }
    heap_unlock_all(h);
    return pages;
}

uint32_t nc_host_memory_map(const struct nc_host *h, struct nc_range *out,
                            uint32_t cap)
{
    uint64_t end = 0;
    uint32_t nr = 0;

    /* The ranges are constant and sorted: no lock.  Runs that touch merge,
     * as a firmware map does not split RAM at node boundaries. */
    for ( unsigned int i = 0; i < h->nr_ranges; i++ )
    {
        const struct nc_hrange *r = &h->ranges[i];

        if ( !h->node[r->node].online )
            continue;
        if ( nr && end == r->start )
        {
            if ( nr <= cap )
                out[nr - 1].nr += r->end - r->start;
        }
        else
        {
            if ( nr < cap )
                out[nr] = (struct nc_range){ r->start, r->end - r->start };
            nr++;
        }
        end = r->end;
    }
    return nr;
}

uint64_t nc_host_max_page(const struct nc_host *h)
{
    uint64_t end = 0;

    for ( unsigned int i = 0; i < h->nr_ranges; i++ )
        if ( h->node[h->ranges[i].node].online )
            end = NC_MAX(end, h->ranges[i].end);
    return end;
}
