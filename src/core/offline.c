/* SPDX-License-Identifier: MIT */
/*
 * Page offlining and onlining (spec §7), with claim recall.
 *
 * The frames that are not plain RAM any more are in their node's bad set
 * (badset.c): offlined (a bitmap), broken or pending (a tree; pending
 * frames are owned by a domain or by the hypervisor, and offlined by
 * heap_give_locked() when freed).  Offlining a free frame lowers free
 * memory, so claims may now exceed it: they are recalled until I5 holds on
 * the frame's node and I4 holds on the host, node claims on that node
 * first, then host-wide claims, domains in ascending domid, and each
 * domain counts what it lost.  Xen mainline does no recall and so breaks
 * I4; numaclaim keeps it.
 *
 * Each node keeps its own bad set under its lock.  Offlining a free frame
 * whose loss needs no recall takes that lock only, as an allocation does
 * (and claims_lock while host-wide claims exist); anything else is rare
 * and stops the world (world_lock()) rather than adding per-frame state to
 * the allocation path.  The free path looks for pending frames only when
 * its node's bad set is not empty.
 */
#include "private.h"

/* ========================================================================
 * Recall
 * ======================================================================== */

static void recall_claims_locked(struct nc_host *h, uint32_t node,
                                 struct console_recall *note)
{
    const struct nc_node *nd = &h->node[node];
    uint64_t excess, avail, outstanding;

    ASSERT(nc_lock_held(&h->domlist_lock) && heap_all_locked(h));
    if ( nd->claimed > nd->avail )
    {
        excess = nd->claimed - nd->avail;
        for_each_domid(h, id)
        {
            struct nc_domain *d = h->domain[id];
            uint64_t x = deduct_node_claims_locked(h, d, node, excess);

            d->recalled += x;
            console_recall_note(note, d->domid, node, x);
            excess -= x;
            if ( !excess )
                break;
        }
        BUG_ON(excess);
    }
    avail = host_total_avail_locked(h);
    outstanding = host_outstanding_locked(h);
    if ( outstanding > avail )
    {
        excess = outstanding - avail;
        for_each_domid(h, id)
        {
            struct nc_domain *d = h->domain[id];
            uint64_t x = deduct_host_claim_locked(h, d, excess);

            d->recalled += x;
            console_recall_note(note, d->domid, NC_CLAIM_HOST, x);
            excess -= x;
            if ( !excess )
                break;
        }
        BUG_ON(excess);
    }
}

/* ========================================================================
 * Ownership
 * ======================================================================== */

/* Who holds a frame that is not free: a domain, or NC_DOMID_XEN. */
static nc_domid_t frame_owner_locked(struct nc_host *h, uint64_t mfn)
{
    for_each_domid(h, id)
        if ( p2m_find_mfn(&h->domain[id]->p2m, mfn, NULL) ||
             p2m_range_mapped(&h->domain[id]->unmapped, mfn, 1) )
            return (nc_domid_t)id;
    BUG_ON(!p2m_range_mapped(&h->anon, mfn, 1));
    return NC_DOMID_XEN;
}

static int check_frame(struct nc_host *h, nc_domid_t caller, uint64_t mfn)
{
    uint32_t node;

    if ( !caller_is_control(caller) )
        return -EPERM;
    node = mfn_node(h, mfn);
    if ( node == NC_NUMA_NO_NODE || !h->node[node].online )
        return -EINVAL;         /* not RAM of an online node */
    return 0;
}

static uint32_t pending_status(struct nc_host *h, uint64_t mfn)
{
    nc_domid_t owner = frame_owner_locked(h, mfn);

    if ( owner == NC_DOMID_XEN )
        return NC_PG_OFFLINE_XENPAGE | NC_PG_OFFLINE_PENDING;
    return NC_PG_OFFLINE_OWNED | NC_PG_OFFLINE_PENDING |
           ((uint32_t)owner << NC_PG_OFFLINE_OWNER_SHIFT);
}

/*
 * The common case on its own: a free frame whose loss needs no recall
 * leaves the heap under its node's lock, as an allocation of it would:
 * who owns what does not matter for a free frame, and no claim changes.
 * No recall is needed when the node keeps more free memory than claims
 * (I5) and, while host-wide claims exist, the host does too (I4: the
 * headroom `unclaimed` is not 0; without host-wide claims I4 follows from
 * I5 on every node).  False, with nothing changed, for anything else: the
 * caller then stops the world.  So it does for a broken frame (the tree
 * records it) and for a frame whose bitmap chunk is not made yet (that
 * allocates).
 */
static bool offline_free_frame(struct nc_host *h, uint32_t node, uint64_t mfn,
                               uint32_t brk, uint32_t *status)
{
    struct nc_node *nd = &h->node[node];
    struct heap_locks l;
    bool done = false;

    if ( brk )
        return false;
    heap_lock_node(h, &l, node);
    /* A frame in the bad set is never free (offlined ones left the heap,
     * pending ones are owned), so a frame the heap gives up is not in it. */
    if ( offmap_ready(nd, mfn) && nd->claimed < nd->avail &&
         (!l.tracking || h->unclaimed > 0) &&
         heap_reserve_frame_locked(h, mfn) )
    {
        ASSERT(!badset_find(&nd->bad, mfn) && !offmap_test(nd, mfn));
        offmap_set(nd, mfn);
        nd->offlined++;
        if ( l.tracking )
            h->unclaimed--;
        *status = NC_PG_OFFLINE_OFFLINED;
        done = true;
    }
    ASSERT_EXPENSIVE_WHY(check_node_heap_locked, h, node);
    heap_unlock_nodes(h, &l);
    return done;
}

/* ========================================================================
 * Entry points
 * ======================================================================== */

int nc_page_offline(struct nc_host *h, nc_domid_t caller, uint64_t mfn,
                    bool broken, uint32_t *status)
{
    struct nc_badpage *b;
    struct console_recall note = { 0 };
    uint32_t brk = broken ? NC_BAD_BROKEN : 0, node;
    struct nc_node *nd;
    int rc = check_frame(h, caller, mfn);

    if ( rc )
        return rc;
    node = mfn_node(h, mfn);
    nd = &h->node[node];
    if ( offline_free_frame(h, node, mfn, brk, status) )
    {
        host_autocheck(h);
        return 0;
    }
    world_lock(h);
    /* The frame's bitmap chunk, and a tree entry only if one will be
     * inserted (a broken frame, or one that is neither offlined nor free:
     * it goes pending), so that an offline needing neither cannot fail for
     * want of memory.  Each reserve may drop the heap's locks, so look
     * again after it; once both are there nothing drops them. */
    for ( ;; )
    {
        rc = offmap_reserve(h, node, mfn);
        if ( rc || nd->bad.spare ||
             !(brk || (!offmap_test(nd, mfn) &&
                       !heap_frame_free_locked(h, mfn))) )
            break;
        rc = badset_reserve(h, node);
        if ( rc )
            break;
    }
    if ( rc )
        goto out;

    b = badset_find(&nd->bad, mfn);
    if ( offmap_test(nd, mfn) )
    {
        /* Offlined already: nothing changes, unless it is now broken. */
        if ( brk && !b )
            badset_insert(&nd->bad, mfn, NC_BAD_BROKEN);
        *status = NC_PG_OFFLINE_OFFLINED;
    }
    else if ( b )
    {
        b->flags |= brk;        /* pending already */
        *status = pending_status(h, mfn);
    }
    else if ( heap_reserve_frame_locked(h, mfn) )
    {
        offmap_set(nd, mfn);
        if ( brk )
            badset_insert(&nd->bad, mfn, NC_BAD_BROKEN);
        nd->offlined++;
        recall_claims_locked(h, node, &note);
        *status = NC_PG_OFFLINE_OFFLINED;
    }
    else
    {
        *status = pending_status(h, mfn);
        badset_insert(&nd->bad, mfn, NC_BAD_PENDING | brk);
    }
    if ( broken )
        *status |= NC_PG_OFFLINE_BROKEN;
 out:
    world_unlock(h);
    if ( note.pages )
        console_recall_write(h, mfn, &note);
    host_autocheck(h);
    return rc;
}

int nc_page_online(struct nc_host *h, nc_domid_t caller, uint64_t mfn,
                   uint32_t *status)
{
    struct nc_badpage *b;
    struct nc_node *nd;
    int rc = check_frame(h, caller, mfn);

    if ( rc )
        return rc;
    nd = &h->node[mfn_node(h, mfn)];
    world_lock(h);
    b = badset_find(&nd->bad, mfn);
    *status = NC_PG_ONLINE_ONLINED;
    if ( b && (b->flags & NC_BAD_BROKEN) )
    {
        *status = NC_PG_ONLINE_FAILED | NC_PG_ONLINE_BROKEN;
        rc = -EINVAL;           /* a broken frame never comes back */
    }
    else if ( b )
        badset_remove(&nd->bad, b);     /* pending: the offline is off */
    else if ( offmap_test(nd, mfn) )
    {
        offmap_clear(nd, mfn);
        ASSERT(nd->offlined > 0);
        nd->offlined--;
        heap_give_locked(h, mfn, 1);
    }
    world_unlock(h);
    host_autocheck(h);
    return rc;
}

int nc_page_query(struct nc_host *h, nc_domid_t caller, uint64_t mfn,
                  uint32_t *status)
{
    const struct nc_badpage *b;
    uint32_t node;
    bool offlined;
    int rc = check_frame(h, caller, mfn);

    if ( rc )
        return rc;
    node = mfn_node(h, mfn);
    /* Its lock alone even while an install holds the gate: the bad set
     * and the offline map change under the node's lock (or the whole
     * heap), never under the gate, and the counters an install changes
     * are neither read nor written here. */
    node_lock(h, node);
    b = badset_find(&h->node[node].bad, mfn);
    offlined = offmap_test(&h->node[node], mfn);
    if ( !b && !offlined )
        *status = 0;            /* Xen reports an online frame as no bits */
    else
        *status = (offlined ? NC_PG_OFFLINE_STATUS_OFFLINED
                            : NC_PG_OFFLINE_STATUS_OFFLINE_PENDING) |
                  (b && (b->flags & NC_BAD_BROKEN)
                   ? NC_PG_OFFLINE_STATUS_BROKEN : 0);
    node_unlock_unchanged(h, node);
    return rc;
}
