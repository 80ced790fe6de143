/* SPDX-License-Identifier: MIT */
/*
 * Claims: the legacy XENMEM_claim_pages and claim sets
 * (XEN_DOMCTL_claim_memory), both installed by one function,
 * domain_install_claim_set(), plus the deductions used by redemption
 * (alloc.c), max_pages changes (domain.c) and recall (offline.c).
 *
 * A domain's claims are a host-wide amount and one counter per node, with
 * a mask of the nodes that have an entry (an entry redeemed down to 0 stays
 * one until the next install), so a lookup is one load and an install
 * allocates nothing.
 *
 * Installing holds the domain's lock (taken without a reference: all the
 * work is done under it), so that tot_pages and max_pages are stable and a
 * dying domain cannot gain claims after domain_kill released them, and
 * holds still every node whose claims it checks or changes.  An install
 * that touches a host-wide claim takes the whole heap (it may be the one
 * that makes host_claims non-zero: locks.c); any other closes the install
 * gate (locks.c) and waits for each of its nodes instead of taking their
 * locks: one atomic operation for the set, not two per node.  Every node
 * it changes is held before the first change and until after the last,
 * so any thread that takes a node lock sees the install either not at all
 * or whole.  Changing the nodes one at a time would not be exact: a thread
 * could see a raised claim on one node and then the old claim still on
 * another (an allocation refused there, after the install returned), which
 * no order of the calls explains.
 *
 * The common set (node entries only, each well formed, while no host-wide
 * claim exists) is installed in one pass, install_plain_set(): each entry
 * is checked and written at once, and all of it undone if a later entry or
 * the set as a whole does not fit; anything else, errors included, goes to
 * the general path.  That is, as in the posted v8 series, three steps:
 * check the request on its own, with no heap lock
 * (domain_check_claim_request), check it against free memory
 * (check_available_claims), then replace the old claims with it
 * (domain_install_claims), so the errors come in the specification's
 * order from one place.
 *
 * Which nodes: a node entry with pages, for the check and for raising its
 * claim, and an old entry, for lowering it, because node->claimed is a
 * plain counter that allocations update under the node's lock.  Not a
 * node the install does not change: an old entry at 0 (redeemed) to which
 * the set gives no pages.  Those are all known to be 0, at no cost, when
 * the domain's node claims sum to 0 (I3: outstanding == host_claim), as
 * after a build redeemed them, so then only the set's own nodes are waited
 * for and the toolstack's reset after building waits for none.
 */
#include "private.h"

/* ========================================================================
 * Deductions
 * ======================================================================== */

uint64_t deduct_host_claim_locked(struct nc_host *h, struct nc_domain *d,
                                  uint64_t pages)
{
    uint64_t x = NC_MIN(pages, d->host_claim);

    ASSERT(nc_lock_held(&h->claims_lock));
    if ( !x )
        return 0;
    d->host_claim -= x;
    deduct_outstanding(d, x);
    ASSERT_GE(host_claims(h), x);
    atomic_fetch_sub_explicit(&h->host_claims, x, memory_order_release);
    return x;
}

/* The node choice's fields (private.h) being found one node claim at a
 * time: claim_top_add() for each, in any order, then claim_top_set(). */
struct claim_top_scan {
    uint64_t top, max, below, next;
};

static nc_always_inline void claim_top_add(struct claim_top_scan *s,
                                           uint64_t bit, uint64_t v)
{
    if ( !v )
        return;
    if ( v > s->max )
    {
        s->below = s->max;
        s->next = s->top;
        s->top = bit;
        s->max = v;
    }
    else if ( v == s->max )
        s->top |= bit;
    else if ( v > s->below )
    {
        s->below = v;
        s->next = bit;
    }
    else if ( v == s->below )
        s->next |= bit;
}

static void claim_top_set(struct nc_domain *d, const struct claim_top_scan *s)
{
    d->claim_top = s->top;
    d->claim_below = s->below;
    d->claim_next = s->next;
    d->claim_exact = true;
}

void claim_top_rescan(struct nc_domain *d)
{
    struct claim_top_scan s = { 0 };

    for_each_claim_node(d, n)
        claim_top_add(&s, 1ULL << n, d->node_claim[n]);
    claim_top_set(d, &s);
}

void domain_release_all_claims_locked(struct nc_host *h, struct nc_domain *d)
{
    static const struct claim_top_scan none;

    ASSERT(nc_lock_held(&d->lock) && heap_all_locked(h));
    /* Nothing known while they go, so that lowering one touches nothing. */
    d->claim_top = d->claim_next = d->claim_below = 0;
    d->claim_exact = false;
    for_each_claim_node(d, n)
        deduct_node_claims_locked(h, d, (uint32_t)n, UINT64_MAX);
    deduct_host_claim_locked(h, d, UINT64_MAX);
    ASSERT(d->outstanding == 0);
    d->node_claim_mask = 0;
    claim_top_set(d, &none);
}

static uint64_t room_under_max(const struct nc_domain *d)
{
    return d->max_pages > d->tot_pages ? d->max_pages - d->tot_pages : 0;
}

void domain_deduct_over_max_locked(struct nc_host *h, struct nc_domain *d)
{
    uint64_t room = room_under_max(d), excess;

    ASSERT(nc_lock_held(&d->lock) && heap_all_locked(h));
    if ( d->outstanding <= room )
        return;
    excess = d->outstanding - room;
    excess -= deduct_host_claim_locked(h, d, excess);
    /* Node claims from the highest node down. */
    for ( unsigned int n = NC_MAX_NUMNODES; n-- > 0 && excess; )
        if ( d->node_claim_mask & (1ULL << n) )
            excess -= deduct_node_claims_locked(h, d, n, excess);
    ASSERT(excess == 0);
}

/* ========================================================================
 * SET: check the request, check availability, install
 * ======================================================================== */

/* A claim set decoded: the host-wide amount and the node entries. */
struct claim_request {
    int bad;                     /* the first error that needs no heap
                                  * lock to find, or 0 */
    bool have_host;
    uint64_t host;               /* pages, relative once checked */
    uint64_t nodes;              /* node entries with pages, before `bad` */
    uint64_t node_total;
    struct claim_top_scan top;   /* the node choice's fields for them */
    uint64_t node[NC_MAX_NUMNODES];
};

/*
 * Check every entry on its own, in the order given, and decode the set
 * into *rq, up to the first entry that is bad whatever the heap holds
 * (rq->bad).  No heap lock is held: only the node check (ENOMEM) needs
 * one, and check_available_claims() makes it for the entries before that
 * one, so the first bad entry still decides the error.  Done first, the
 * decoding also tells which node locks the install needs: those of the
 * entries with pages, not of the empty ones.  The node choice's fields
 * are found here too, without the locks.
 */
static void domain_check_claim_request(const struct nc_host *h,
                                       const struct nc_claim *set,
                                       uint32_t nr, struct claim_request *rq)
{
    uint64_t allowed = h->online_mask;  /* online and not named yet */
    uint64_t nodes = 0, total = 0, host = 0;
    struct claim_top_scan top = { 0 };
    bool have_host = false;
    int bad = 0;

    for ( unsigned int i = 0; i < nr; i++ )
    {
        const struct nc_claim *e = &set[i];
        uint64_t bit, v = e->pages;

        /* The usual entry first, in one test: no pad and a node that is
         * online and not named before (below 64, so not a selector). */
        if ( __builtin_expect(!e->pad && e->target < NC_MAX_NUMNODES &&
                              (allowed & (1ULL << e->target)), 1) )
            bit = 1ULL << e->target;
        else
        {
            /* Which check fails, in the order of the specification. */
            if ( e->pad )
                bad = -EINVAL;
            else if ( e->target == NC_CLAIM_HOST )
            {
                if ( !have_host )
                {
                    have_host = true;
                    host = v;
                    continue;
                }
                bad = -EINVAL;
            }
            else if ( e->target & NC_CLAIM_SELECTOR_MASK )
                bad = -EINVAL;  /* a selector that is not host-wide */
            else if ( e->target >= h->nr_nodes ||
                      !(h->online_mask & (1ULL << e->target)) )
                bad = -ENOENT;
            else
                bad = -EINVAL;  /* a node named twice */
            break;
        }
        allowed &= ~bit;
        if ( !v )
            continue;
        nodes |= bit;
        rq->node[e->target] = v;
        /* May wrap only with an entry above its node's free memory, which
         * the node check refuses before the total is used. */
        total += v;
        claim_top_add(&top, bit, v);
    }
    rq->bad = bad;
    rq->have_host = have_host;
    rq->host = host;
    rq->nodes = nodes;
    rq->node_total = total;
    rq->top = top;
}

/* Host-wide free memory not claimed by anyone but d, as the locks held
 * allow it to be known: exact with the whole heap or while tracking; with
 * neither, no host-wide claim exists and the node checks suffice. */
static bool host_headroom(const struct nc_host *h, const struct nc_domain *d,
                          const struct heap_locks *l, bool all,
                          uint64_t *room)
{
    if ( all )
        *room = host_total_avail_locked(h) - host_outstanding_locked(h);
    else if ( l->tracking )
        *room = h->unclaimed;
    else
        return false;
    *room += d->outstanding;
    return true;
}

/*
 * The request against the heap, under the locks of its nodes: each node
 * entry against its node's free memory, then the set as a whole (the
 * legacy call's absolute target and one-at-a-time rule, room under
 * max_pages, host-wide free memory).  Returns 1 when the request is a
 * reset (release everything), 0 to install, or an error.
 */
static int check_available_claims(struct nc_host *h, const struct nc_domain *d,
                                  struct claim_request *rq, bool legacy,
                                  const struct heap_locks *l, bool all)
{
    uint64_t room, headroom;

    for_each_node_in(rq->nodes, n)
    {
        const struct nc_node *nd = &h->node[n];

        ASSERT(node_held(h, (uint32_t)n));
        /* The domain's own claim on n is given back first, so a same-size
         * or smaller replacement never fails here.  I5 keeps the
         * subtraction from wrapping. */
        if ( rq->node[n] > nd->avail - nd->claimed + d->node_claim[n] )
            return -ENOMEM;
    }
    if ( rq->bad )
        return rq->bad;

    if ( legacy )
    {
        uint64_t target = rq->host;

        ASSERT(rq->have_host && !rq->nodes);
        if ( target == 0 )
            return 1;
        if ( d->outstanding )
            return -EINVAL;     /* one claim at a time: reset to 0 first */
        if ( target <= d->tot_pages || target > d->max_pages )
            return -EINVAL;
        rq->host = target - d->tot_pages;   /* absolute -> relative */
    }
    else if ( rq->host == 0 && rq->node_total == 0 )
        return 1;               /* the toolstack's reset after building */

    room = room_under_max(d);
    if ( rq->host > room || rq->node_total > room - rq->host )
        return -EINVAL;
    if ( host_headroom(h, d, l, all, &headroom) &&
         rq->host + rq->node_total > headroom )
        return -ENOMEM;
    return 0;
}

/* d's claim on node n (held) becomes rq->node[n]: outside the mask a
 * claim is 0 (I3's checker proves it), so an old entry and a new one are
 * one difference on the node. */
static nc_always_inline void node_claim_replace_locked(
    struct nc_host *h, struct nc_domain *d, const struct claim_request *rq,
    uint64_t n)
{
    struct nc_node *nd = &h->node[n];
    uint64_t old = d->node_claim[n], v = rq->node[n];

    ASSERT(node_held(h, (uint32_t)n));
    ASSERT_GE(nd->claimed + v, old);
    nd->claimed = nd->claimed + v - old;
    d->node_claim[n] = v;
}

/*
 * Replace d's claims with rq (a set never adds to what it replaces): the
 * old entries are dropped whole, not deducted one by one, as the install
 * writes every field a deduction keeps (the mask, outstanding, the node
 * choice's fields) anew.  `nodes` are those whose claim may change (the
 * others' is 0 before and after).  Under the gate (l) the nodes' rooms
 * are synced after the last write, all in one step (heap_gate_sync_rooms());
 * the gate opens after that, so the install is one step to anyone who
 * takes a node lock or reads admit_mask.
 */
static void domain_install_claims(struct nc_host *h, struct nc_domain *d,
                                  struct claim_request *rq,
                                  uint64_t nodes, const struct heap_locks *l,
                                  bool all)
{
    uint64_t before = d->outstanding, after = rq->host + rq->node_total;

    /* The old entries the set drops become 0: rq is not zeroed. */
    for_each_node_in(nodes & ~rq->nodes, n)
        rq->node[n] = 0;

    if ( d->host_claim )
        deduct_host_claim_locked(h, d, UINT64_MAX);
    if ( rq->host )
    {
        ASSERT(heap_all_locked(h));
        d->host_claim = rq->host;
        atomic_fetch_add_explicit(&h->host_claims, rq->host,
                                  memory_order_release);
    }
    d->node_claim_mask = rq->nodes;
    claim_top_set(d, &rq->top);
    d->outstanding = after;
    if ( l->tracking )
    {
        ASSERT_GE(h->unclaimed + before, after);
        h->unclaimed = h->unclaimed + before - after;
    }
    if ( all )
        for_each_node_in(nodes, n)
            node_claim_replace_locked(h, d, rq, n);
    else
    {
        ASSERT(l->nodes == nodes);
        for_each_node_in(nodes, n)
            node_claim_replace_locked(h, d, rq, n);
        heap_gate_sync_rooms(h, nodes);
    }
    ASSERT_EXPENSIVE_WHY(check_domain_claims_locked, h, d);
}

/* An entry's node if its target is a node below 64 and its pad is 0,
 * else a value of 64 or more: with the two 32-bit fields read as one
 * little-endian word, which is the node exactly when the entry is plain. */
static nc_always_inline uint64_t claim_entry_node(const struct nc_claim *e)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t tp;

    _Static_assert(offsetof(struct nc_claim, pad) ==
                   offsetof(struct nc_claim, target) + 4, "nc_claim layout");
    __builtin_memcpy(&tp, &e->target, sizeof(tp));
    return tp;
#else
    return e->pad ? NC_MAX_NUMNODES : e->target;
#endif
}

/*
 * The common install in one pass under the gate: node entries only, each
 * plain (no pad, an online node not named before), for a domain without a
 * host-wide claim while no domain has one, and a set that fits.  Each
 * entry is checked against its node and written at once, so that the
 * node's counters are read once: the gate keeps the writes from everyone
 * until it opens, and they are undone if a later entry, or the set as a
 * whole, does not fit.  Anything else changes nothing and returns false,
 * for the general path, which finds the error in the specification's
 * order; the gate stays closed for it where it was (*gated), so that a
 * set refused here, or the toolstack's reset, closes it only once.
 * Rooms are synced only once the set is in, so that a reader of
 * admit_mask never sees a node change for an install that is undone.
 */
static bool install_plain_set(struct nc_host *h, struct nc_domain *d,
                              const struct nc_claim *set, uint32_t nr,
                              bool *gated)
{
    struct nc_node *node = h->node;
    /* The nodes not named yet; those named with no pages (rare, so the
     * entries with pages are known at the end as the others named). */
    uint64_t allowed = h->online_mask, empty = 0, nodes, total = 0;
    uint64_t undo[NC_MAX_NUMNODES];     /* read only where nodes has bit n */
    struct claim_top_scan top = { 0 };
    const struct nc_claim *e = set;
    uint64_t old_nodes;
    bool full = false;

    ASSERT(nc_lock_held(&d->lock) && !d->host_claim);
    /* Host-wide claims need the headroom kept: the general path.  Read
     * before the gate to spare it a round trip, and again under it, as
     * they may have come meanwhile. */
    if ( host_claims(h) )
        return false;
    *gated = true;
    if ( heap_gate_close(h) )
        return false;
    for ( uint32_t i = nr; i; i--, e++ )
    {
        uint64_t v = e->pages, t = claim_entry_node(e), bit, own, room, c;
        struct nc_node *nd;

        /* A node below 64 and no pad; then online and not named before. */
        if ( __builtin_expect(t >= NC_MAX_NUMNODES, 0) )
            goto undo;
        bit = 1ULL << t;
        if ( __builtin_expect(!(allowed & bit), 0) )
            goto undo;
        allowed ^= bit;
        if ( __builtin_expect(!v, 0) )
        {
            empty |= bit;
            continue;
        }
        nd = &node[t];
        heap_gate_wait_node(h, nd, (uint32_t)t);
        own = d->node_claim[t];
        /* I5 keeps this from wrapping, as in check_available_claims(). */
        room = nd->avail - nd->claimed + own;
        if ( v > room )
        {
            empty |= bit;       /* not written */
            goto undo;
        }
        /* The node fills: its room changes (synced below). */
        full |= v == room;
        c = nd->claimed - own + v;
        nd->claimed = c;
        undo[t] = own;
        d->node_claim[t] = v;
        total += v;             /* no wrap: each v fits in its node */
        claim_top_add(&top, bit, v);
    }
    nodes = (h->online_mask ^ allowed) & ~empty;
    if ( total > room_under_max(d) )
        goto undo;
    /* The old entries the set drops (those at 0 change nothing: I3). */
    old_nodes = d->outstanding ? d->node_claim_mask & ~nodes : 0;
    for_each_node_in(old_nodes, n)
    {
        struct nc_node *nd = &node[n];
        uint64_t own = d->node_claim[n];

        heap_gate_wait_node(h, nd, (uint32_t)n);
        ASSERT_GE(nd->claimed, own);
        nd->claimed -= own;
        d->node_claim[n] = 0;
    }
    d->node_claim_mask = nodes;
    claim_top_set(d, &top);
    d->outstanding = total;
    /* Besides the nodes filled, a room changes only on a node that was
     * full: its admit_mask bit is clear (it is the node's room while the
     * node is held). */
    if ( full ||
         ((nodes | old_nodes) &
          ~atomic_load_explicit(&h->admit_mask, memory_order_relaxed)) )
        heap_gate_sync_rooms(h, nodes | old_nodes);
    ASSERT_EXPENSIVE_WHY(check_domain_claims_locked, h, d);
    heap_gate_open(h);
    return true;

undo:
    nodes = (h->online_mask ^ allowed) & ~empty;
    for_each_node_in(nodes, n)
    {
        struct nc_node *nd = &node[n];

        nd->claimed = nd->claimed - d->node_claim[n] + undo[n];
        d->node_claim[n] = undo[n];
    }
    return false;
}

/*
 * Install a claim set on d, which is locked and in the table (dying or
 * not), and leave d's outstanding claims for the console in *outstanding.
 * d->lock keeps tot_pages and max_pages stable, and a dying domain from
 * gaining claims after domain_kill released them.
 */
static int domain_install_claim_set(struct nc_host *h, struct nc_domain *d,
                                    const struct nc_claim *set, uint32_t nr,
                                    bool legacy, uint64_t *outstanding)
{
    /* rq.node[n] is read only where rq.nodes has bit n, or where
     * domain_install_claims() zeroed it: not zeroed here. */
    struct claim_request rq;
    struct heap_locks l = { 0 };
    bool all, gated = false;
    uint64_t nodes;
    int rc;

    ASSERT(nc_lock_held(&d->lock));
    *outstanding = 0;
    if ( d->dying )
        return legacy ? -EINVAL : -ESRCH;
    if ( nr == 0 )
        return -EINVAL;
    if ( nr > NC_CLAIM_MAX_ENTRIES )
        return -E2BIG;
    if ( !legacy && !d->host_claim &&
         install_plain_set(h, d, set, nr, &gated) )
    {
        *outstanding = d->outstanding;
        return 0;
    }

    domain_check_claim_request(h, set, nr, &rq);
    /*
     * The nodes whose claim may change: the entries with pages and the old
     * entries.  An old entry whose claim is 0 (redeemed) and to which the
     * set gives no pages changes nothing on its node, which the install
     * need not lock (the top of the file); all are 0 when the node claims
     * sum to 0 (I3), as after a build redeemed them all, and then the
     * toolstack's reset locks no node.  (Testing them one by one would
     * cost an install that replaces live claims more than it saves.)
     */
    nodes = rq.nodes |
            (d->outstanding > d->host_claim ? d->node_claim_mask : 0);
    /* A host-wide entry, given or replaced, needs the whole heap. */
    all = legacy || d->host_claim || rq.host;
    if ( all )
    {
        if ( gated )
            heap_gate_open(h);
        heap_lock_all(h);
    }
    else
    {
        if ( !gated )
            heap_gate_close(h);
        /* claims_lock is held: host_claims() stays as it is. */
        l.tracking = host_claims(h) > 0;
        l.claims = true;
        l.nodes = nodes;
        for_each_node_in(nodes, n)
            heap_gate_wait(h, (uint32_t)n);
    }

    rc = check_available_claims(h, d, &rq, legacy, &l, all);
    if ( rc == 1 )
    {
        /* A reset: install the empty set. */
        rq.host = rq.nodes = rq.node_total = 0;
        rq.top = (struct claim_top_scan){ 0 };
        rc = 0;
    }
    if ( !rc )
        domain_install_claims(h, d, &rq, nodes, &l, all);
    *outstanding = d->outstanding;
    if ( all )
        heap_unlock_all(h);
    else
        heap_gate_open(h);
    return rc;
}

/* The console line of an install, written with no lock held, so that the
 * console never delays allocation; tested here, as the bench's installs
 * are below the console's level. */
static void claims_console(struct nc_host *h, nc_domid_t domid,
                           const struct nc_claim *set, uint32_t nr,
                           bool legacy, int rc, uint64_t outstanding)
{
    if ( console_wants(h, rc ? NC_LOG_WARNING : NC_LOG_INFO) )
        console_claims(h, domid, set, nr, legacy, rc, outstanding);
}

/* ========================================================================
 * GET
 * ======================================================================== */

/* d->lock held, d not dying. */
static int domain_get_claim_entries(const struct nc_domain *d,
                                    struct nc_claim *out, uint32_t *nr)
{
    uint32_t cap = NC_MIN(*nr, (uint32_t)NC_CLAIM_MAX_ENTRIES), need = 1;

    ASSERT(nc_lock_held(&d->lock) && !d->dying);
    if ( cap > 0 )
        out[0] = (struct nc_claim){ .pages = d->host_claim,
                                    .target = NC_CLAIM_HOST };
    for_each_claim_node(d, n)
    {
        if ( !d->node_claim[n] )
            continue;
        if ( need < cap )
            out[need] = (struct nc_claim){ .pages = d->node_claim[n],
                                           .target = (uint32_t)n };
        need++;
    }
    *nr = need;
    return cap < need ? -ERANGE : 0;
}

/* ========================================================================
 * Entry points
 * ======================================================================== */

/* Legacy and claim-set calls do all their work under the domain's lock,
 * so they take no reference (domain_lock_listed()). */
int nc_claim_pages(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                   uint64_t target)
{
    struct nc_claim e = { .pages = target, .target = NC_CLAIM_HOST };
    struct nc_domain *d = domain_in_table(h, domid);
    uint64_t outstanding;
    int rc;

    if ( !d )
        return -EINVAL;         /* Xen: not -ESRCH for this call */
    if ( !caller_is_control(caller) )
        rc = -EPERM;
    else if ( !domain_lock_listed(h, domid, d) )
        return -EINVAL;         /* gone meanwhile: as unknown */
    else
    {
        rc = domain_install_claim_set(h, d, &e, 1, true, &outstanding);
        nc_unlock(&d->lock);
        claims_console(h, domid, &e, 1, true, rc, outstanding);
    }
    host_autocheck(h);
    return rc;
}

int nc_claim_memory(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                    uint32_t mode, struct nc_claim *set, uint32_t *nr)
{
    struct nc_domain *d;
    uint64_t outstanding;
    int rc;

    if ( !caller_is_control(caller) )
        return -EPERM;
    d = domain_in_table(h, domid);
    if ( !d || !domain_lock_listed(h, domid, d) )
        return -ESRCH;
    switch ( mode )
    {
    case NC_CLAIM_MEMORY_SET:
        rc = domain_install_claim_set(h, d, set, *nr, false, &outstanding);
        break;

    case NC_CLAIM_MEMORY_GET:
        rc = d->dying ? -ESRCH : domain_get_claim_entries(d, set, nr);
        break;

    default:
        rc = d->dying ? -ESRCH : -EOPNOTSUPP;
        break;
    }
    nc_unlock(&d->lock);
    if ( mode == NC_CLAIM_MEMORY_SET )
        claims_console(h, domid, set, *nr, false, rc, outstanding);
    host_autocheck(h);
    return rc;
}
