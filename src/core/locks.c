/* SPDX-License-Identifier: MIT */
/*
 * The heap's locks: one per node, claims_lock for host-wide admission, and
 * the two ways of stopping everything (heap_lock_all(), world_lock()).
 *
 * An allocation or a free on node n changes n's counters only, under n's
 * lock.  What links the nodes is the host-wide rule that all claims fit in
 * free memory.  While no domain holds a host-wide claim, that rule follows
 * from the per-node one (claims on n <= free on n, summed over n), so the
 * common path takes one node lock and touches no shared cache line.  While
 * host-wide claims exist (host_claims > 0), every actor also takes
 * claims_lock and keeps host->unclaimed, the exact host-wide headroom, up
 * to date; host_claims becomes non-zero only with every lock held, so an
 * actor that saw it as 0 under a node lock stays right until it unlocks.
 * heap_lock_nodes() is that protocol in one place.
 */
#include "private.h"

/* ========================================================================
 * Node locks
 * ======================================================================== */

static void lock_mask(struct nc_host *h, uint64_t nodes)
{
    for_each_node_in(nodes, n)
        node_lock(h, (uint32_t)n);
}

static void unlock_mask(struct nc_host *h, uint64_t nodes)
{
    for_each_node_in(nodes, n)
        node_unlock(h, (uint32_t)n);
}

/* node_room_sync()'s write, when the node filled or got room again: out
 * of line, as it is rare, and so that the atomic operation stays out of
 * the allocation path's code. */
__attribute__((noinline)) void node_room_flip(struct nc_node *nd)
{
    nd->room = !nd->room;
    if ( nd->room )
        atomic_fetch_or_explicit(nd->admit_mask, nd->admit_bit,
                                 memory_order_release);
    else
        atomic_fetch_and_explicit(nd->admit_mask, ~nd->admit_bit,
                                  memory_order_release);
}

/* ========================================================================
 * The claims protocol
 * ======================================================================== */

void heap_lock_nodes(struct nc_host *h, struct heap_locks *l, uint64_t nodes,
                     bool claims)
{
    l->nodes = nodes;
    l->claims = claims || host_claims(h) > 0;
    for ( ;; )
    {
        if ( l->claims )
            nc_lock(&h->claims_lock);
        lock_mask(h, nodes);
        /* Read again under the node locks: it cannot become non-zero now. */
        if ( l->claims || host_claims(h) == 0 )
            break;
        unlock_mask(h, nodes);
        l->claims = true;       /* a host-wide claim came meanwhile */
    }
    l->tracking = l->claims && host_claims(h) > 0;
}

/* ========================================================================
 * Everything
 * ======================================================================== */

uint64_t host_total_avail_locked(const struct nc_host *h)
{
    uint64_t sum = 0;

    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
        sum += h->node[n].avail;
    return sum;
}

uint64_t host_outstanding_locked(const struct nc_host *h)
{
    uint64_t sum = host_claims(h);

    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
        sum += h->node[n].claimed;
    return sum;
}

uint64_t host_offlined_locked(const struct nc_host *h)
{
    uint64_t sum = 0;

    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
        sum += h->node[n].offlined;
    return sum;
}

void heap_lock_all(struct nc_host *h)
{
    nc_lock(&h->claims_lock);
    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
        node_lock(h, n);
}

#if NC_DEBUG >= 1
bool heap_all_locked(const struct nc_host *h)
{
    if ( !nc_lock_held(&h->claims_lock) )
        return false;
    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
        if ( !node_locked(h, n) )
            return false;
    return true;
}
#endif

void heap_unlock_all(struct nc_host *h)
{
    ASSERT(heap_all_locked(h));
    /* The claims never exceed free memory (recall restores that at once).
     * Whatever changed, the headroom is exact again from here on; it is
     * only kept, so only recounted, while host-wide claims exist. */
    if ( host_claims(h) > 0 )
    {
        uint64_t avail = host_total_avail_locked(h);
        uint64_t outstanding = host_outstanding_locked(h);

        ASSERT(outstanding <= avail);
        h->unclaimed = avail - outstanding;
    }
    else
        ASSERT(host_outstanding_locked(h) <= host_total_avail_locked(h));
    for ( unsigned int n = h->nr_nodes; n-- > 0; )
        node_unlock(h, n);
    nc_unlock(&h->claims_lock);
}

void world_lock(struct nc_host *h)
{
    nc_lock(&h->domlist_lock);
    for_each_domid(h, id)
        nc_lock(&h->domain[id]->lock);
    nc_lock(&h->anon_lock);
    heap_lock_all(h);
}

void world_unlock(struct nc_host *h)
{
    heap_unlock_all(h);
    nc_unlock(&h->anon_lock);
    for_each_domid(h, id)
        nc_unlock(&h->domain[id]->lock);
    nc_unlock(&h->domlist_lock);
}
