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
 * metadata in all, allocation finds a block in O(orders x log64 frames),
 * and freeing coalesces in O(orders).  Per (node, zone) and per (node, zone,
 * order) counters let the search skip empty zones and orders at once.
 *
 * Everything here runs under heap_lock.  Every counter decrement is
 * preceded by an assertion that the counter is large enough.
 */
#include "private.h"

/* ========================================================================
 * Zones and MFN -> node
 * ======================================================================== */

uint32_t zone_of(uint64_t mfn)
{
    return mfn ? 64u - (uint32_t)__builtin_clzll(mfn) : 1u;
}

uint32_t bits_to_zone(uint32_t bits)
{
    return bits < NC_PAGE_SHIFT + 1 ? 1u : bits - NC_PAGE_SHIFT;
}

static const struct nc_hrange *find_range(const struct nc_host *h,
                                          uint64_t mfn)
{
    uint32_t lo = 0, hi = h->nr_ranges;

    while ( lo < hi )
    {
        uint32_t mid = lo + (hi - lo) / 2;

        if ( h->ranges[mid].end <= mfn )
            lo = mid + 1;
        else
            hi = mid;
    }
    if ( lo < h->nr_ranges && h->ranges[lo].start <= mfn )
        return &h->ranges[lo];
    return NULL;
}

uint32_t mfn_node(const struct nc_host *h, uint64_t mfn)
{
    const struct nc_hrange *r = find_range(h, mfn);

    return r ? r->node : NC_NUMA_NO_NODE;
}

uint32_t mfn_range(const struct nc_host *h, uint64_t mfn, uint64_t *endp)
{
    const struct nc_hrange *r = find_range(h, mfn);

    BUG_ON(!r);
    *endp = r->end;
    return r->node;
}

static bool node_has_block(const struct nc_node *nd, uint64_t s, uint64_t e)
{
    for ( uint32_t i = 0; i < nd->nr_ranges; i++ )
        if ( nd->range[i].start <= s && e <= nd->range[i].start + nd->range[i].nr )
            return true;
    return false;
}

/* ========================================================================
 * Blocks
 * ======================================================================== */

static void account_free(struct nc_host *h, uint32_t node, uint32_t zone,
                         uint64_t r)
{
    h->node[node].zone_avail[zone] += r;
    h->node_avail[node] += r;
    h->total_avail += r;
}

static void account_taken(struct nc_host *h, uint32_t node, uint32_t zone,
                          uint64_t r)
{
    ASSERT(h->node[node].zone_avail[zone] >= r);
    h->node[node].zone_avail[zone] -= r;
    ASSERT(h->node_avail[node] >= r);
    h->node_avail[node] -= r;
    ASSERT(h->total_avail >= r);
    h->total_avail -= r;
}

static void block_link(struct nc_node *nd, uint64_t mfn, uint32_t k)
{
    hb_set(&nd->free[k], (mfn - nd->base) >> k);
    nd->zone_blocks[zone_of(mfn)][k]++;
}

static void block_unlink(struct nc_node *nd, uint64_t mfn, uint32_t k)
{
    uint32_t z = zone_of(mfn);

    ASSERT(hb_test(&nd->free[k], (mfn - nd->base) >> k));
    hb_clear(&nd->free[k], (mfn - nd->base) >> k);
    ASSERT(nd->zone_blocks[z][k] > 0);
    nd->zone_blocks[z][k]--;
}

static bool block_is_free(const struct nc_node *nd, uint64_t mfn, uint32_t k)
{
    return mfn >= nd->base && hb_test(&nd->free[k], (mfn - nd->base) >> k);
}

/* Free one block allowed by rule 1, merging it with free buddies. */
static void free_block(struct nc_host *h, uint32_t node, uint64_t mfn,
                       uint32_t k)
{
    struct nc_node *nd = &h->node[node];

    account_free(h, node, zone_of(mfn), 1ULL << k);
    while ( k < NC_MAX_ORDER )
    {
        uint64_t merged = mfn & ~((2ULL << k) - 1);
        uint64_t buddy = mfn ^ (1ULL << k);
        uint64_t merged_end = merged + (2ULL << k);

        if ( !node_has_block(nd, merged, merged_end) ||
             zone_of(merged) != zone_of(merged_end - 1) ||
             !block_is_free(nd, buddy, k) )
            break;
        block_unlink(nd, buddy, k);
        mfn = merged;
        k++;
    }
    block_link(nd, mfn, k);
}

/* Free [s, e), which lies in one range of `node`, as maximal blocks. */
static void free_run(struct nc_host *h, uint32_t node, uint64_t s, uint64_t e)
{
    while ( s < e )
    {
        uint32_t k = s ? (uint32_t)__builtin_ctzll(s) : NC_MAX_ORDER;

        k = NC_MIN(k, (uint32_t)NC_MAX_ORDER);
        while ( (1ULL << k) > e - s )
            k--;
        while ( zone_of(s) != zone_of(s + (1ULL << k) - 1) )
            k--;
        free_block(h, node, s, k);
        s += 1ULL << k;
    }
}

uint64_t heap_take_locked(struct nc_host *h, uint32_t node, uint32_t order,
                          uint32_t zone_hi)
{
    struct nc_node *nd = &h->node[node];
    uint64_t r = 1ULL << order;

    ASSERT(nc_lock_held(&h->heap_lock));
    if ( !nd->online || h->node_avail[node] < r )
        return NC_HB_NONE;

    zone_hi = NC_MIN(zone_hi, zone_of(nd->end - 1));
    for ( uint32_t z = zone_hi; z >= 1; z-- )
    {
        uint64_t zs = z == 1 ? 0 : 1ULL << (z - 1);

        if ( nd->zone_avail[z] < r )
            continue;
        zs = NC_MAX(zs, nd->base);
        for ( uint32_t j = order; j <= NC_MAX_ORDER; j++ )
        {
            uint64_t i, mfn;

            if ( !nd->zone_blocks[z][j] )
                continue;
            /* The first free order-j block at or above the zone's start is
             * in this zone: lower zones lie below, and this one has one. */
            i = hb_next(&nd->free[j], (zs - nd->base + (1ULL << j) - 1) >> j);
            BUG_ON(i == NC_HB_NONE);
            mfn = nd->base + (i << j);
            BUG_ON(zone_of(mfn) != z);

            block_unlink(nd, mfn, j);
            while ( j > order )
            {
                j--;
                block_link(nd, mfn + (1ULL << j), j);
            }
            account_taken(h, node, z, r);
            return mfn;
        }
    }
    return NC_HB_NONE;
}

uint64_t heap_give_locked(struct nc_host *h, uint64_t mfn, uint64_t nr)
{
    uint64_t end = mfn + nr, freed = 0;

    ASSERT(nc_lock_held(&h->heap_lock));
    while ( mfn < end )
    {
        const struct nc_hrange *r = find_range(h, mfn);
        uint64_t seg_end;
        struct nc_badpage *b;

        BUG_ON(!r);
        seg_end = NC_MIN(end, r->end);
        b = badset_lower_bound(&h->bad, mfn);
        while ( mfn < seg_end )
        {
            uint64_t stop = (b && b->mfn < seg_end) ? b->mfn : seg_end;

            free_run(h, r->node, mfn, stop);
            freed += stop - mfn;
            mfn = stop;
            if ( mfn == seg_end )
                break;
            /* An owned frame is only ever on the bad list as pending. */
            BUG_ON(!(b->flags & NC_BAD_PENDING));
            b->flags = (b->flags & ~NC_BAD_PENDING) | NC_BAD_OFFLINED;
            h->offlined++;
            mfn++;
            b = badset_next(&h->bad, b);
        }
    }
    return freed;
}

/* The free block holding mfn: its order in *kp and its first MFN. */
static uint64_t containing_block(const struct nc_node *nd, uint64_t mfn,
                                 uint32_t *kp)
{
    for ( uint32_t k = 0; k <= NC_MAX_ORDER; k++ )
    {
        uint64_t blk = mfn & ~((1ULL << k) - 1);

        if ( block_is_free(nd, blk, k) )
        {
            *kp = k;
            return blk;
        }
    }
    return NC_HB_NONE;
}

bool heap_frame_free_locked(const struct nc_host *h, uint64_t mfn)
{
    uint32_t node = mfn_node(h, mfn), k;

    if ( node == NC_NUMA_NO_NODE || !h->node[node].online )
        return false;
    return containing_block(&h->node[node], mfn, &k) != NC_HB_NONE;
}

bool heap_reserve_frame_locked(struct nc_host *h, uint64_t mfn)
{
    uint32_t node = mfn_node(h, mfn), k;
    struct nc_node *nd;
    uint64_t blk;

    ASSERT(nc_lock_held(&h->heap_lock));
    if ( node == NC_NUMA_NO_NODE || !h->node[node].online )
        return false;
    nd = &h->node[node];
    blk = containing_block(nd, mfn, &k);
    if ( blk == NC_HB_NONE )
        return false;

    /* Split around the frame: at each level free the half without it. */
    block_unlink(nd, blk, k);
    while ( k > 0 )
    {
        uint64_t half;

        k--;
        half = mfn & ~((1ULL << k) - 1);
        block_link(nd, half ^ (1ULL << k), k);
    }
    account_taken(h, node, zone_of(mfn), 1);
    return true;
}

uint64_t heap_count_free_locked(const struct nc_host *h, uint32_t n)
{
    uint64_t pages = 0;

    for ( uint32_t k = 0; k <= NC_MAX_ORDER; k++ )
        pages += hb_count(&h->node[n].free[k]) << k;
    return pages;
}

/* ========================================================================
 * Set-up and tear-down
 * ======================================================================== */

static void sort_ranges(struct nc_hrange *r, uint32_t n)
{
    for ( uint32_t i = 1; i < n; i++ )
        for ( uint32_t j = i; j > 0 && r[j - 1].start > r[j].start; j-- )
        {
            struct nc_hrange t = r[j - 1];

            r[j - 1] = r[j];
            r[j] = t;
        }
}

static void order_by_distance(struct nc_host *h, uint32_t from)
{
    uint8_t *o = h->node[from].by_distance;

    for ( uint32_t i = 0; i < h->nr_nodes; i++ )
        o[i] = (uint8_t)i;
    for ( uint32_t i = 1; i < h->nr_nodes; i++ )
        for ( uint32_t j = i; j > 0; j-- )
        {
            uint8_t a = o[j - 1], b = o[j];
            uint32_t da = a == from ? 0 : h->distance[from][a];
            uint32_t db = b == from ? 0 : h->distance[from][b];

            if ( da < db || (da == db && a < b) )
                break;
            o[j - 1] = b;
            o[j] = a;
        }
}

int heap_init(struct nc_host *h, const struct nc_host_config *cfg)
{
    uint32_t nr = 0;

    /* One entry per hypervisor allocation, so nc_free_anon can insist on
     * getting back exactly what it handed out. */
    h->anon.no_merge = true;

    for ( uint32_t n = 0; n < cfg->nr_nodes; n++ )
        nr += cfg->node[n].nr_ranges;
    h->ranges = nc_zalloc((size_t)NC_MAX(nr, 1u) * sizeof(*h->ranges));
    h->node = nc_zalloc((size_t)cfg->nr_nodes * sizeof(*h->node));
    if ( !h->ranges || !h->node )
        return -ENOMEM;

    for ( uint32_t n = 0; n < cfg->nr_nodes; n++ )
    {
        const struct nc_node_config *nc = &cfg->node[n];
        struct nc_node *nd = &h->node[n];

        nd->online = nc->online;
        nd->nr_ranges = nc->nr_ranges;
        nd->base = UINT64_MAX;
        for ( uint32_t i = 0; i < nc->nr_ranges; i++ )
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
        if ( nd->online )
            h->total_pages += nd->size;
        order_by_distance(h, n);
        if ( !nd->online || !nd->size )
            continue;
        for ( uint32_t k = 0; k <= NC_MAX_ORDER; k++ )
            if ( hb_init(&nd->free[k], ((nd->end - nd->base) >> k) + 1) )
                return -ENOMEM;
    }
    sort_ranges(h->ranges, h->nr_ranges);

    nc_lock(&h->heap_lock);
    for ( uint32_t n = 0; n < cfg->nr_nodes; n++ )
        if ( h->node[n].online )
            for ( uint32_t i = 0; i < h->node[n].nr_ranges; i++ )
                heap_give_locked(h, h->node[n].range[i].start,
                                 h->node[n].range[i].nr);
    nc_unlock(&h->heap_lock);
    return 0;
}

void heap_fini(struct nc_host *h)
{
    if ( h->node )
        for ( uint32_t n = 0; n < h->nr_nodes; n++ )
            for ( uint32_t k = 0; k <= NC_MAX_ORDER; k++ )
                if ( h->node[n].free[k].levels )
                    hb_fini(&h->node[n].free[k]);
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

    nc_lock(&h->heap_lock);
    for ( uint32_t n = 0; n < h->nr_nodes; n++ )
    {
        if ( !h->node[n].online || (node != -1 && (uint32_t)node != n) )
            continue;
        for ( uint32_t z = lo; z <= hi; z++ )
            pages += h->node[n].zone_avail[z];
    }
    nc_unlock(&h->heap_lock);
    return pages;
}

uint32_t nc_host_memory_map(const struct nc_host *h, struct nc_range *out,
                            uint32_t cap)
{
    uint64_t end = 0;
    uint32_t nr = 0;

    /* The ranges are constant and sorted: no lock.  Runs that touch merge,
     * as a firmware map does not split RAM at node boundaries. */
    for ( uint32_t i = 0; i < h->nr_ranges; i++ )
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

    for ( uint32_t i = 0; i < h->nr_ranges; i++ )
        if ( h->node[h->ranges[i].node].online )
            end = NC_MAX(end, h->ranges[i].end);
    return end;
}
