/* SPDX-License-Identifier: MIT */
/*
 * The heap's locks: one per node, claims_lock for host-wide admission and
 * installs, the install gate, and the two ways of stopping everything
 * (heap_lock_all(), world_lock()).
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
 * The install gate (below) sets a bit of host_claims too, so that one
 * reading of it under the node lock tells an actor both things it must
 * take claims_lock for.  heap_lock_nodes() is that protocol in one place.
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

static void unlock_mask_unchanged(struct nc_host *h, uint64_t nodes)
{
    for_each_node_in(nodes, n)
        node_unlock_unchanged(h, (uint32_t)n);
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
    bool waited = false;

    l->nodes = nodes;
    l->claims = claims || host_claims(h) > 0;
    for ( ;; )
    {
        /* With claims_lock held, no install holds the gate. */
        if ( l->claims )
            nc_lock(&h->claims_lock);
        lock_mask(h, nodes);
        /* Read again under the node locks (claims_lock_needed()). */
        if ( l->claims || !claims_lock_needed(h) )
            break;
        unlock_mask_unchanged(h, nodes);
        /* A host-wide claim came meanwhile, or an install's gate: that is
         * waited out once, on claims_lock, without keeping it (else every
         * locker that met the gate would then run one at a time); a
         * second gate, and any host-wide claim, and claims_lock is kept. */
        if ( host_claims(h) == 0 && !waited )
        {
            nc_lock(&h->claims_lock);
            nc_unlock(&h->claims_lock);
            waited = true;
        }
        else
            l->claims = true;
    }
    l->tracking = l->claims && host_claims(h) > 0;
}

/* ========================================================================
 * The install gate
 * ======================================================================== */

/*
 * A claim-set install changes the claims of many nodes in one step.  With
 * their node locks that costs two atomic operations per node, which at 64
 * nodes is most of the call.  The gate gives the installer the same
 * exclusion with one: it takes claims_lock and sets HOST_CLAIMS_GATE in
 * host_claims.  Every thread that takes a node lock to read or change the
 * node's counters reads host_claims under it, and if it is not 0 gives the
 * lock back untouched (node_unlock_unchanged()) and takes claims_lock
 * first, which is to wait for the install: heap_lock_node(),
 * heap_lock_nodes() and the allocation's fast path already do so for
 * host-wide claims.  The installer then waits for each node it changes to
 * have no holder: a free lock costs one load to tell; a held one is taken
 * and given back, as its holder read host_claims before the gate closed
 * and may still be at work.
 *
 * Why one of the two always sees the other (Dekker's handshake): the
 * installer writes host_claims, then reads the node's lock word; a locker
 * writes the lock word (its compare-and-swap), then reads host_claims;
 * all four sequentially consistent (nc_lock() and nc_lock_free() are,
 * env.h).  In their single order, if the installer's read comes before
 * the locker's swap, its write of the gate comes before the locker's read
 * too.  So a locker either holds the lock when the installer looks (and
 * is waited for) or sees the gate (and touches nothing).
 *
 * Only installs without a host-wide entry use it (claims.c); with one,
 * host_claims itself may change from 0, which needs every lock
 * (heap_lock_all()).  While the gate is closed every other node locker
 * waits on claims_lock, not only those of the install's nodes: an install
 * is short, and the common path stays one load.
 */
uint64_t heap_gate_close(struct nc_host *h)
{
    uint64_t hc;

    nc_lock(&h->claims_lock);
    hc = host_claims(h);
    atomic_store_explicit(&h->host_claims, hc | HOST_CLAIMS_GATE,
                          memory_order_seq_cst);
#if NC_DEBUG >= 1
    h->gate_nodes = 0;
#endif
    return hc;
}

/* heap_gate_wait() where the node's lock is held: its holder read
 * host_claims before the gate closed, so it is taken, once the holder is
 * done, and given back unchanged. */
void heap_gate_wait_holder(struct nc_host *h, uint32_t n)
{
    node_lock(h, n);
    node_unlock_unchanged(h, n);
}

void heap_gate_sync_rooms(struct nc_host *h, uint64_t nodes)
{
    uint64_t changed = 0;

    ASSERT(heap_gate_closed(h));
    for_each_node_in(nodes, n)
    {
        struct nc_node *nd = &h->node[n];

        ASSERT(node_held(h, (uint32_t)n));
        if ( node_room_stale(nd) )
        {
            nd->room = !nd->room;
            changed |= 1ULL << n;
        }
    }
    if ( changed )
        atomic_fetch_xor_explicit(&h->admit_mask, changed,
                                  memory_order_release);
}

void heap_gate_open(struct nc_host *h)
{
    ASSERT(heap_gate_closed(h));
    atomic_store_explicit(&h->host_claims, host_claims(h),
                          memory_order_release);
    nc_unlock(&h->claims_lock);
}

#if NC_DEBUG >= 1
bool heap_gate_closed(const struct nc_host *h)
{
    return nc_lock_held(&h->claims_lock) &&
           (atomic_load_explicit(&((struct nc_host *)h)->host_claims,
                                 memory_order_relaxed) & HOST_CLAIMS_GATE);
}

bool node_gated(const struct nc_host *h, uint32_t n)
{
    return heap_gate_closed(h) && (h->gate_nodes & (1ULL << n));
}
#endif

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
