/* SPDX-License-Identifier: MIT */
/*
 * Page offlining and onlining (spec §7), with claim recall.
 *
 * The frames that are not plain RAM any more live in one set (the "bad
 * set", badset.c): offlined, broken, or pending (owned by a domain or by the
 * hypervisor; offlined by heap_give_locked() when freed).  Offlining a free
 * frame lowers free memory, so claims may now exceed it: they are recalled
 * until I5 holds on the frame's node and I4 holds on the host, node claims
 * on that node first, then host-wide claims, domains in ascending domid,
 * and each domain counts what it lost.  Xen mainline does no recall and so
 * breaks I4; numaclaim keeps it.
 *
 * Offlining is rare, so it stops the heap (a free frame whose loss needs
 * no recall) or the world (world_lock(): anything else) rather than adding
 * per-frame state to the allocation path; the free path looks for pending
 * frames only when the bad set is not empty.
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
 * (its node and the host each keep more free memory than claims) leaves
 * the heap with the heap locked but the domains running, since who owns
 * what does not matter for a free frame and no claim changes.  False, with
 * nothing changed, for anything else: the caller then stops the world.
 */
static bool offline_free_frame(struct nc_host *h, uint64_t mfn, uint32_t brk,
                               uint32_t *status)
{
    struct nc_node *nd = &h->node[mfn_node(h, mfn)];
    bool done = false;

    heap_lock_all(h);
    if ( !badset_reserve(h) && !badset_find(&h->bad, mfn) &&
         nd->claimed < nd->avail &&
         host_outstanding_locked(h) < host_total_avail_locked(h) &&
         heap_reserve_frame_locked(h, mfn) )
    {
        badset_insert(&h->bad, mfn, NC_BAD_OFFLINED | brk);
        nd->offlined++;
        *status = NC_PG_OFFLINE_OFFLINED | (brk ? NC_PG_OFFLINE_BROKEN : 0);
        done = true;
    }
    heap_unlock_all(h);
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
    uint32_t brk = broken ? NC_BAD_BROKEN : 0;
    int rc = check_frame(h, caller, mfn);

    if ( rc )
        return rc;
    if ( offline_free_frame(h, mfn, brk, status) )
    {
        host_autocheck(h);
        return 0;
    }
    world_lock(h);
    rc = badset_reserve(h);
    if ( rc )
        goto out;

    b = badset_find(&h->bad, mfn);
    if ( b )
    {
        b->flags |= brk;
        *status = (b->flags & NC_BAD_PENDING) ? pending_status(h, mfn)
                                              : NC_PG_OFFLINE_OFFLINED;
    }
    else if ( heap_reserve_frame_locked(h, mfn) )
    {
        badset_insert(&h->bad, mfn, NC_BAD_OFFLINED | brk);
        h->node[mfn_node(h, mfn)].offlined++;
        recall_claims_locked(h, mfn_node(h, mfn), &note);
        *status = NC_PG_OFFLINE_OFFLINED;
    }
    else
    {
        *status = pending_status(h, mfn);
        badset_insert(&h->bad, mfn, NC_BAD_PENDING | brk);
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
    int rc = check_frame(h, caller, mfn);

    if ( rc )
        return rc;
    world_lock(h);
    b = badset_find(&h->bad, mfn);
    *status = NC_PG_ONLINE_ONLINED;
    if ( b && (b->flags & NC_BAD_BROKEN) )
    {
        *status = NC_PG_ONLINE_FAILED | NC_PG_ONLINE_BROKEN;
        rc = -EINVAL;           /* a broken frame never comes back */
    }
    else if ( b )
    {
        bool was_offlined = b->flags & NC_BAD_OFFLINED;

        badset_remove(&h->bad, b);
        if ( was_offlined )
        {
            struct nc_node *nd = &h->node[mfn_node(h, mfn)];

            ASSERT(nd->offlined > 0);
            nd->offlined--;
            heap_give_locked(h, mfn, 1);
        }
    }
    world_unlock(h);
    host_autocheck(h);
    return rc;
}

int nc_page_query(struct nc_host *h, nc_domid_t caller, uint64_t mfn,
                  uint32_t *status)
{
    const struct nc_badpage *b;
    int rc = check_frame(h, caller, mfn);

    if ( rc )
        return rc;
    heap_lock_all(h);
    b = badset_find(&h->bad, mfn);
    if ( !b )
        *status = 0;            /* Xen reports an online frame as no bits */
    else
        *status = ((b->flags & NC_BAD_PENDING)
                   ? NC_PG_OFFLINE_STATUS_OFFLINE_PENDING
                   : NC_PG_OFFLINE_STATUS_OFFLINED) |
                  ((b->flags & NC_BAD_BROKEN) ? NC_PG_OFFLINE_STATUS_BROKEN
                                              : 0);
    heap_unlock_all(h);
    return rc;
}
