/* SPDX-License-Identifier: MIT */
/*
 * The invariant checker (spec §2).
 *
 * After mimalloc: allocators are tested mainly by checking the whole
 * internal state after operations, under stress.  nc_host_check() stops the
 * world and verifies
 *
 *   I1  outstanding_claims == sum of d.outstanding (host_claims == sum
 *       of d.host_claim; the host's total is summed over the nodes)
 *   I2  node_claimed[n] == sum of d.claims[n]
 *   I3  d.outstanding == d.host_claim + sum of d.claims[n]
 *   I4  outstanding_claims <= total_avail
 *   I5  node_claimed[n] <= node_avail[n]
 *   I6  d.outstanding <= max(0, d.max_pages - d.tot_pages)
 *   I7  total_avail == sum node_avail == frames on the free maps; each
 *       domain's tot_pages == the pages its p2m maps plus the pages it
 *       owns unmapped
 *
 * plus the structural facts the counters rest on (per-zone and per-order
 * counts, sorted and merged p2m extents).  Level NC_CHECK_FRAMES also walks
 * every frame: each is exactly one of free, owned by one domain, owned by
 * the hypervisor, offlined or broken, and free blocks obey the buddy rules.
 * That walk uses one byte per frame and is skipped above 2^27 frames.
 */
#include <stdatomic.h>

#include "private.h"

#define FRAME_SWEEP_MAX (1ULL << 27)

struct why {
    char *buf;
    size_t len;
};

static int broken(struct why *w, const char *inv, const char *what,
                  uint64_t a, uint64_t b)
{
    if ( w->len )
        nc_format(w->buf, w->len, "%s: %s (%llu vs %llu)", inv, what,
                  (unsigned long long)a, (unsigned long long)b);
    return -EPROTO;
}

#define CHECK(cond, inv, what, a, b) \
    do { if ( !(cond) ) return broken(w, inv, what, a, b); } while ( 0 )

/* ========================================================================
 * Counters (level 1)
 * ======================================================================== */

/* One domain's claims against its own counters (I3, I6); with `claimed`,
 * also adds each node entry to claimed[n] for I2. */
static int check_claims(const struct nc_host *h, const struct nc_domain *d,
                        uint64_t *claimed, struct why *w)
{
    uint64_t node_sum = 0, room, max = 0, below = 0, next = 0;

    for_each_claim_node(d, n)
        max = NC_MAX(max, d->node_claim[n]);
    for_each_claim_node(d, n)
        if ( d->node_claim[n] < max )
            below = NC_MAX(below, d->node_claim[n]);
    for_each_claim_node(d, n)
        if ( below && d->node_claim[n] == below )
            next |= 1ULL << n;
    CHECK(!d->claim_exact || !d->claim_top ||
          (d->claim_below == below && d->claim_next == next), "claims",
          "claim_below or claim_next not exact", d->claim_below, below);
    for ( unsigned int n = 0; n < NC_MAX_NUMNODES; n++ )
    {
        bool entry = d->node_claim_mask & (1ULL << n);
        bool top = d->claim_top & (1ULL << n);

        /* The node choice's largest claim, kept current. */
        CHECK(top == (entry && max && d->node_claim[n] == max), "claims",
              "largest claim not kept (node, pages)", n, d->node_claim[n]);
        CHECK(top || !entry || d->node_claim[n] <= d->claim_below ||
              !d->claim_top, "claims",
              "claim above claim_below (node, pages)", n, d->node_claim[n]);

        CHECK(entry || d->node_claim[n] == 0, "claims",
              "node claim outside the mask (node, pages)", n,
              d->node_claim[n]);
        CHECK(!entry || n < h->nr_nodes, "claims",
              "node claim on a bad node", n, h->nr_nodes);
        node_sum += d->node_claim[n];
        if ( entry && claimed )
            claimed[n] += d->node_claim[n];
    }
    CHECK(d->outstanding == d->host_claim + node_sum, "I3",
          "d.outstanding != host_claim + node claims", d->outstanding,
          d->host_claim + node_sum);
    room = d->max_pages > d->tot_pages ? d->max_pages - d->tot_pages : 0;
    CHECK(d->outstanding <= room, "I6", "claims exceed room under max_pages",
          d->outstanding, room);
    CHECK(!d->dying || d->outstanding == 0, "claims", "dying domain claims",
          d->domid, d->outstanding);
    return 0;
}

/* One extent map: non-empty runs, sorted without overlap, the page count
 * exact, the array's bounds consistent; `identity` for mfn -> mfn maps. */
static int check_map(const struct nc_p2m *p, bool identity, struct why *w)
{
    uint64_t pages = 0;

    CHECK(p->head + p->nr <= p->cap, "p2m", "entries beyond the array",
          p->head + p->nr, p->cap);
    for ( unsigned int i = 0; i < p->nr; i++ )
    {
        const struct nc_extent *e = &p->e[i];

        CHECK(e->nr > 0, "p2m", "empty extent", e->gpfn, i);
        CHECK(!identity || e->gpfn == e->mfn, "unmapped", "bad run",
              e->gpfn, e->mfn);
        if ( i > 0 )
        {
            const struct nc_extent *q = &p->e[i - 1];

            CHECK(q->gpfn + q->nr <= e->gpfn, "p2m", "extents overlap",
                  q->gpfn, e->gpfn);
        }
        pages += e->nr;
    }
    CHECK(pages == p->pages, "p2m", "page count stale", pages, p->pages);
    return 0;
}

static int check_domain(struct nc_host *h, struct nc_domain *d,
                        uint64_t *claimed, struct why *w)
{
    uint64_t per_node = 0;
    int rc = check_claims(h, d, claimed, w);

    if ( !rc )
        rc = check_map(&d->p2m, false, w);
    if ( !rc )
        rc = check_map(&d->unmapped, true, w);
    if ( rc )
        return rc;
    CHECK(d->tot_pages == d->p2m.pages + d->unmapped.pages, "I7",
          "tot_pages != mapped + owned-unmapped pages", d->tot_pages,
          d->p2m.pages + d->unmapped.pages);
    for ( unsigned int n = 0; n < NC_MAX_NUMNODES; n++ )
        per_node += d->node_pages[n];
    CHECK(per_node == d->tot_pages, "I7", "per-node pages != tot_pages",
          per_node, d->tot_pages);
    return 0;
}

/* One node's heap counters against its maps and cache (part of I7). */
static int check_node_heap(const struct nc_node *nd, struct why *w)
{
    uint64_t zones = 0, cached = 0;

    for ( unsigned int k = 0; k <= NC_CACHE_MAX_ORDER; k++ )
    {
        CHECK(nd->cache[k].nr <= NC_CACHE_DEPTH, "cache",
              "cache overfull (order, entries)", k, nd->cache[k].nr);
        cached += nd->cache[k].nr;
        for ( unsigned int i = 0; i < nd->cache[k].nr; i++ )
            CHECK(zone_of(nd->cache[k].mfn[i]) == nd->top_zone &&
                  !(nd->cache[k].mfn[i] & ((1ULL << k) - 1)), "cache",
                  "cached block misplaced (mfn, order)",
                  nd->cache[k].mfn[i], k);
    }
    CHECK(cached == nd->nr_cached, "cache", "cached blocks miscounted",
          nd->nr_cached, cached);
    for ( unsigned int z = 0; z < NC_NR_ZONES; z++ )
    {
        uint64_t blocks = 0;
        uint32_t orders = 0;

        for ( unsigned int k = 0; k <= NC_MAX_ORDER; k++ )
        {
            blocks += nd->zone_blocks[z][k] << k;
            if ( nd->zone_blocks[z][k] )
                orders |= 1u << k;
        }
        /* The allocator picks its order by this mask alone. */
        CHECK(orders == nd->zone_orders[z], "buddy",
              "zone's order mask != its orders with blocks (mask, orders)",
              nd->zone_orders[z], orders);
        for ( unsigned int k = 0; k <= NC_CACHE_MAX_ORDER; k++ )
            for ( unsigned int i = 0; i < nd->cache[k].nr; i++ )
                if ( zone_of(nd->cache[k].mfn[i]) == z )
                    blocks += 1ULL << k;
        CHECK(blocks == nd->zone_avail[z], "I7",
              "zone free blocks != zone_avail", blocks, nd->zone_avail[z]);
        zones += nd->zone_avail[z];
    }
    CHECK(zones == nd->avail, "I7", "sum of zone_avail != node_avail",
          zones, nd->avail);
    return 0;
}

static int check_counters(struct nc_host *h, struct why *w)
{
    uint64_t claimed[NC_MAX_NUMNODES] = { 0 }, outstanding = 0, avail = 0;
    uint64_t host = 0, total_avail = host_total_avail_locked(h);
    uint64_t outstanding_claims = host_outstanding_locked(h);
    uint32_t nr = 0;
    int rc;

    for_each_domid(h, id)
    {
        struct nc_domain *d = h->domain[id];

        CHECK(d->domid == id, "domains", "domid mismatch", d->domid, id);
        rc = check_domain(h, d, claimed, w);
        if ( rc )
            return rc;
        outstanding += d->outstanding;
        host += d->host_claim;
        nr++;
    }
    CHECK(nr == h->nr_domains, "domains", "domain count", nr, h->nr_domains);
    for ( unsigned int k = 0; k < NC_DOMID_WORDS; k++ )
        CHECK(!!(h->domid_words[k / 64] & (1ULL << (k % 64))) ==
              !!h->domid_used[k], "domains", "domid summary stale (word)", k,
              h->domid_used[k]);
    CHECK(host == host_claims(h), "I1",
          "host_claims != sum of domains' host-wide claims", host_claims(h),
          host);
    CHECK(outstanding == outstanding_claims, "I1",
          "outstanding claims != sum of domains' claims",
          outstanding_claims, outstanding);
    CHECK(outstanding_claims <= total_avail, "I4",
          "outstanding claims > total_avail", outstanding_claims,
          total_avail);
    /* While host-wide claims exist, every actor keeps the headroom. */
    CHECK(host_claims(h) == 0 ||
          h->unclaimed == total_avail - outstanding_claims, "I4",
          "unclaimed headroom stale", h->unclaimed,
          total_avail - outstanding_claims);

    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
    {
        const struct nc_node *nd = &h->node[n];

        CHECK(claimed[n] == nd->claimed, "I2",
              "node_claimed != sum of node claims", nd->claimed,
              claimed[n]);
        CHECK(nd->claimed <= nd->avail, "I5",
              "node_claimed > node_avail", nd->claimed, nd->avail);
        /* The fallback walk's view of the node, without its lock. */
        CHECK(nd->room == (nd->avail > nd->claimed) &&
              !!(atomic_load(&h->admit_mask) & (1ULL << n)) == nd->room,
              "heap", "admit_mask bit wrong (node, unclaimed free)", n,
              nd->avail - nd->claimed);
        CHECK(nd->online || (nd->avail == 0 && claimed[n] == 0),
              "nodes", "offline node holds memory or claims", n,
              nd->avail);
        rc = check_node_heap(nd, w);
        if ( rc )
            return rc;
        avail += nd->avail;
    }
    CHECK(avail == total_avail, "I7", "total_avail != sum of node_avail",
          total_avail, avail);

    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
    {
        const struct nc_node *nd = &h->node[n];
        const struct nc_badset *bs = &nd->bad;
        uint64_t offlined = 0;

        CHECK(badset_check(bs), "bad set", "tree not sorted, balanced or "
              "counted (node, frames)", n, bs->nr);
        for ( const struct nc_badpage *b = badset_lower_bound(bs, 0); b;
              b = badset_next(bs, b) )
        {
            bool off = offmap_test(nd, b->mfn);

            CHECK(mfn_node(h, b->mfn) == n, "bad set",
                  "frame in another node's set (mfn, node)", b->mfn, n);
            /* Pending and not offlined, or broken and offlined. */
            CHECK(b->flags && !(b->flags & ~(NC_BAD_PENDING | NC_BAD_BROKEN)) &&
                  !(b->flags & NC_BAD_PENDING) == off, "bad set",
                  "pending frame offlined, or broken one neither (mfn, flags)",
                  b->mfn, b->flags);
            CHECK(!(b->flags & NC_BAD_PENDING) || offmap_ready(nd, b->mfn),
                  "bad set", "pending frame without its bitmap chunk",
                  b->mfn, b->flags);
        }
        for ( uint64_t m = offmap_next(nd, 0); m != NC_INVALID_MFN;
              m = offmap_next(nd, m + 1) )
        {
            CHECK(mfn_node(h, m) == n, "bad set",
                  "offlined frame not of its node (mfn, node)", m, n);
            offlined++;
        }
        CHECK(offlined == nd->offlined, "I7", "offlined count stale",
              offlined, nd->offlined);
    }
    return check_map(&h->anon, true, w);
}

/* ========================================================================
 * Frames (level 2)
 * ======================================================================== */

enum { F_NONE, F_FREE, F_OWNED, F_XEN, F_OFF };

static int mark(uint8_t *map, uint64_t size, uint64_t mfn, uint64_t nr,
                uint8_t state, struct why *w)
{
    CHECK(mfn + nr <= size, "I7", "frame beyond the host", mfn, size);
    for ( uint64_t i = mfn; i < mfn + nr; i++ )
    {
        CHECK(map[i] == F_NONE, "I7", "frame in two states (mfn, states)", i,
              (uint64_t)map[i] * 10 + state);
        map[i] = state;
    }
    return 0;
}

static int check_frames(struct nc_host *h, uint8_t *map, uint64_t size,
                        struct why *w)
{
    int rc;

    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
    {
        const struct nc_node *nd = &h->node[n];
        uint64_t free = 0;

        if ( !nd->online || !nd->size )
            continue;
        for ( unsigned int k = 0; k <= NC_MAX_ORDER; k++ )
        {
            uint64_t blocks[NC_NR_ZONES] = { 0 };

            /* The allocator's searches start at the map's bound. */
            CHECK(hb_next(&nd->free[k], 0) >= nd->free[k].low, "buddy",
                  "free block below its map's bound (order, bound)", k,
                  nd->free[k].low);
            for ( uint64_t i = hb_next(&nd->free[k], 0); i != NC_HB_NONE;
                  i = hb_next(&nd->free[k], i + 1) )
            {
                uint64_t mfn = nd->base + (i << k), end = mfn + (1ULL << k);

                CHECK(mfn_node(h, mfn) == n && mfn_node(h, end - 1) == n,
                      "buddy", "free block outside its node", mfn, k);
                CHECK(zone_of(mfn) == zone_of(end - 1), "buddy",
                      "free block crosses a zone", mfn, k);
                rc = mark(map, size, mfn, 1ULL << k, F_FREE, w);
                if ( rc )
                    return rc;
                free += 1ULL << k;
                blocks[zone_of(mfn)]++;
            }
            /* The allocator trusts these counts (and the order masks made
             * of them) to find a block where it looks. */
            for ( unsigned int z = 0; z < NC_NR_ZONES; z++ )
                CHECK(blocks[z] == nd->zone_blocks[z][k], "buddy",
                      "zone's block count != its blocks on the map "
                      "(zone * 100 + order, blocks)", z * 100 + k,
                      blocks[z]);
        }
        for ( unsigned int k = 0; k <= NC_CACHE_MAX_ORDER; k++ )
            for ( unsigned int i = 0; i < nd->cache[k].nr; i++ )
            {
                uint64_t mfn = nd->cache[k].mfn[i];

                CHECK(mfn_node(h, mfn) == n &&
                      mfn_node(h, mfn + (1ULL << k) - 1) == n, "cache",
                      "cached block outside its node", mfn, k);
                rc = mark(map, size, mfn, 1ULL << k, F_FREE, w);
                if ( rc )
                    return rc;
                free += 1ULL << k;
            }
        CHECK(free == nd->avail, "I7", "free maps != node_avail", free,
              nd->avail);
    }
    for_each_domid(h, id)
    {
        for ( unsigned int i = 0; i < h->domain[id]->p2m.nr; i++ )
        {
            const struct nc_extent *e = &h->domain[id]->p2m.e[i];

            rc = mark(map, size, e->mfn, e->nr, F_OWNED, w);
            if ( rc )
                return rc;
        }
        for ( unsigned int i = 0; i < h->domain[id]->unmapped.nr; i++ )
        {
            const struct nc_extent *e = &h->domain[id]->unmapped.e[i];

            rc = mark(map, size, e->mfn, e->nr, F_OWNED, w);
            if ( rc )
                return rc;
        }
    }
    for ( unsigned int i = 0; i < h->anon.nr; i++ )
    {
        rc = mark(map, size, h->anon.e[i].mfn, h->anon.e[i].nr, F_XEN, w);
        if ( rc )
            return rc;
    }
    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
    {
        const struct nc_node *nd = &h->node[n];

        for ( const struct nc_badpage *b = badset_lower_bound(&nd->bad, 0); b;
              b = badset_next(&nd->bad, b) )
            if ( b->flags & NC_BAD_PENDING )
                CHECK(b->mfn < size && (map[b->mfn] == F_OWNED ||
                                        map[b->mfn] == F_XEN),
                      "I7", "pending frame not owned", b->mfn, map[b->mfn]);
        for ( uint64_t m = offmap_next(nd, 0); m != NC_INVALID_MFN;
              m = offmap_next(nd, m + 1) )
        {
            rc = mark(map, size, m, 1, F_OFF, w);
            if ( rc )
                return rc;
        }
    }
    /* Every frame of an online node is accounted for; nothing else is. */
    for ( unsigned int r = 0; r < h->nr_ranges; r++ )
    {
        const struct nc_hrange *hr = &h->ranges[r];
        bool online = h->node[hr->node].online;

        for ( uint64_t m = hr->start; m < hr->end; m++ )
        {
            CHECK((map[m] != F_NONE) == online, "I7",
                  "frame in no state (mfn, node)", m, hr->node);
            map[m] = F_NONE;
        }
    }
    for ( uint64_t m = 0; m < size; m++ )
        CHECK(map[m] == F_NONE, "I7", "state for a frame that is no RAM", m,
              map[m]);
    return 0;
}

/* ========================================================================
 * Entry points
 * ======================================================================== */

/* ========================================================================
 * Local checks (ASSERT_EXPENSIVE_WHY, NC_DEBUG >= 2)
 * ======================================================================== */

int check_node_heap_locked(const struct nc_host *h, uint32_t n, char *why,
                           size_t len)
{
    struct why w = { why, len };

    ASSERT(node_locked(h, n));
    return check_node_heap(&h->node[n], &w);
}

int check_p2m(const struct nc_p2m *p, char *why, size_t len)
{
    struct why w = { why, len };

    return check_map(p, false, &w);
}

int check_domain_claims_locked(const struct nc_host *h,
                               const struct nc_domain *d, char *why,
                               size_t len)
{
    struct why w = { why, len };

    ASSERT(nc_lock_held(&d->lock));
    return check_claims(h, d, NULL, &w);
}

int nc_host_check(struct nc_host *h, int level, char *why, size_t whylen)
{
    struct why w = { why, whylen };
    uint8_t *map = NULL;
    uint64_t size = h->nr_ranges ? h->ranges[h->nr_ranges - 1].end : 0;
    int rc;

    if ( whylen )
        why[0] = '\0';
    if ( level >= NC_CHECK_FRAMES && size <= FRAME_SWEEP_MAX )
    {
        map = nc_zalloc((size_t)NC_MAX(size, 1ULL));
        if ( !map )
            return -ENOMEM;
    }
    world_lock(h);
    rc = check_counters(h, &w);
    if ( !rc && map )
        rc = check_frames(h, map, size, &w);
    world_unlock(h);
    nc_free(map);
    return rc;
}

int nc_host_set_autocheck(struct nc_host *h, int level)
{
    return atomic_exchange(&h->autocheck, level);
}

int nc_host_set_loglevel(struct nc_host *h, int level)
{
    return atomic_exchange(&h->loglevel, level);
}

void host_autocheck_run(struct nc_host *h, int level)
{
    char why[160];
    int rc = level ? nc_host_check(h, level, why, sizeof(why)) : 0;

    /* The frame sweep needs a scratch map: without memory for it, check
     * what can be checked rather than take a failed allocation (which the
     * operation itself survived) for a broken invariant. */
    if ( rc == -ENOMEM && level > NC_CHECK_COUNTERS )
        rc = nc_host_check(h, NC_CHECK_COUNTERS, why, sizeof(why));
    if ( rc )
    {
        /* The heap as it stands, after the broken rule. */
        char dump[2048];

        nc_host_dump(h, dump, sizeof(dump));
        NC_PANIC("%s\nthe heap:\n%s", why, dump);
    }
}
