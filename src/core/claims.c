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
 * Installing holds the domain's lock, so that tot_pages and max_pages are
 * stable and a dying domain cannot gain claims after domain_kill released
 * them, and the locks of every node whose claims it checks or changes.  An
 * install that touches a host-wide claim takes the whole heap (it may be
 * the one that makes host_claims non-zero: locks.c); any other takes
 * claims_lock only while host-wide claims exist.  As in the posted v8
 * series, the install is three steps: check the request on its own
 * (domain_check_claim_request), check it against free memory
 * (check_available_claims), then replace the old claims with it
 * (domain_install_claims).
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

/* The rescan one claim at a time: claim_top_forget() (nothing known, so
 * lowering a claim touches nothing), claim_top_add() for each node claim,
 * claim_top_done(). */
static void claim_top_forget(struct nc_domain *d)
{
    d->claim_top = d->claim_next = d->claim_below = 0;
    d->claim_exact = false;
}

static void claim_top_add(struct nc_domain *d, uint32_t n, uint64_t v)
{
    uint64_t bit = 1ULL << n, max = d->claim_top ? d->node_claim[
        __builtin_ctzll(d->claim_top)] : 0;

    if ( !v )
        return;
    if ( v > max )
    {
        d->claim_below = max;
        d->claim_next = d->claim_top;
        d->claim_top = bit;
    }
    else if ( v == max )
        d->claim_top |= bit;
    else if ( v > d->claim_below )
    {
        d->claim_below = v;
        d->claim_next = bit;
    }
    else if ( v == d->claim_below )
        d->claim_next |= bit;
}

static void claim_top_done(struct nc_domain *d)
{
    d->claim_exact = true;
}

void claim_top_rescan(struct nc_domain *d)
{
    claim_top_forget(d);
    for_each_claim_node(d, n)
        claim_top_add(d, (uint32_t)n, d->node_claim[n]);
    claim_top_done(d);
}

void domain_release_all_claims_locked(struct nc_host *h, struct nc_domain *d)
{
    ASSERT(nc_lock_held(&d->lock) && heap_all_locked(h));
    claim_top_forget(d);
    for_each_claim_node(d, n)
        deduct_node_claims_locked(h, d, (uint32_t)n, UINT64_MAX);
    deduct_host_claim_locked(h, d, UINT64_MAX);
    ASSERT(d->outstanding == 0);
    d->node_claim_mask = 0;
    claim_top_done(d);
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
    bool have_host;
    uint64_t host;               /* pages, relative once checked */
    uint64_t nodes;              /* mask of node entries with pages */
    uint64_t seen;               /* mask of node entries given */
    uint64_t node_total;
    uint64_t node[NC_MAX_NUMNODES];
};

/* The nodes whose counters an install of `set` may read: every in-range
 * target.  Taken before the checks, so the checks run under the locks. */
static uint64_t claim_set_nodes(const struct nc_host *h,
                                const struct nc_claim *set, uint32_t nr)
{
    uint64_t mask = 0;

    for ( unsigned int i = 0; i < nr; i++ )
        if ( set[i].target < h->nr_nodes )
            mask |= 1ULL << set[i].target;
    return mask;
}

/*
 * Check every entry on its own and against the node's free memory, in the
 * order given (the first bad entry decides the error), and decode the set
 * into *rq.  The node locks of the set are held.
 */
static int domain_check_claim_request(struct nc_host *h,
                                      const struct nc_domain *d,
                                      const struct nc_claim *set, uint32_t nr,
                                      struct claim_request *rq)
{
    for ( unsigned int i = 0; i < nr; i++ )
    {
        const struct nc_claim *e = &set[i];
        uint32_t n = e->target;
        const struct nc_node *nd;

        if ( e->pad )
            return -EINVAL;
        if ( e->target == NC_CLAIM_HOST )
        {
            if ( rq->have_host )
                return -EINVAL;
            rq->have_host = true;
            rq->host = e->pages;
            continue;
        }
        if ( e->target & NC_CLAIM_SELECTOR_MASK )
            return -EINVAL;     /* a selector that is not host-wide */
        if ( n >= h->nr_nodes || !h->node[n].online )
            return -ENOENT;
        if ( rq->seen & (1ULL << n) )
            return -EINVAL;
        rq->seen |= 1ULL << n;
        nd = &h->node[n];
        ASSERT(node_locked(h, n));
        /* The domain's own claim on n is given back first, so a same-size
         * or smaller replacement never fails here.  I5 keeps the
         * subtraction from wrapping. */
        if ( e->pages > nd->avail - nd->claimed + d->node_claim[n] )
            return -ENOMEM;
        rq->node_total += e->pages;   /* each <= avail: cannot wrap */
        if ( e->pages )
        {
            rq->nodes |= 1ULL << n;
            rq->node[n] = e->pages;
        }
    }
    return 0;
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
 * The set as a whole: the legacy call's absolute target and one-at-a-time
 * rule, room under max_pages, and host-wide free memory.  Returns 1 when
 * the request is a reset (release everything), 0 to install, or an error.
 */
static int check_available_claims(struct nc_host *h, const struct nc_domain *d,
                                  struct claim_request *rq, bool legacy,
                                  const struct heap_locks *l, bool all)
{
    uint64_t room, headroom;

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

/* Replace d's claims with rq (a set never adds to what it replaces). */
static void domain_install_claims(struct nc_host *h, struct nc_domain *d,
                                  const struct claim_request *rq,
                                  struct heap_locks *l)
{
    uint64_t before = d->outstanding, after = rq->host + rq->node_total;

    claim_top_forget(d);
    for_each_claim_node(d, n)
        deduct_node_claims_locked(h, d, (uint32_t)n, UINT64_MAX);
    if ( d->host_claim )
        deduct_host_claim_locked(h, d, UINT64_MAX);
    ASSERT(d->outstanding == 0);
    d->node_claim_mask = rq->nodes;
    for_each_node_in(rq->nodes, n)
    {
        ASSERT(node_locked(h, (uint32_t)n));
        d->node_claim[n] = rq->node[n];
        h->node[n].claimed += rq->node[n];
        claim_top_add(d, (uint32_t)n, rq->node[n]);
    }
    claim_top_done(d);
    if ( rq->host )
    {
        ASSERT(heap_all_locked(h));
        d->host_claim = rq->host;
        atomic_fetch_add_explicit(&h->host_claims, rq->host,
                                  memory_order_release);
    }
    d->outstanding = after;
    if ( l->tracking )
    {
        ASSERT_GE(h->unclaimed + before, after);
        h->unclaimed = h->unclaimed + before - after;
    }
    ASSERT_EXPENSIVE_WHY(check_domain_claims_locked, h, d);
}

int domain_install_claim_set(struct nc_host *h, struct nc_domain *d,
                             const struct nc_claim *set, uint32_t nr,
                             bool legacy)
{
    /* rq.node[n] is read only where rq.nodes has bit n: not zeroed. */
    struct claim_request rq;
    struct heap_locks l = { 0 };
    uint64_t outstanding = 0;
    bool all = false;
    int rc;

    nc_lock(&d->lock);
    if ( d->dying )
        rc = legacy ? -EINVAL : -ESRCH;
    else if ( nr == 0 )
        rc = -EINVAL;
    else if ( nr > NC_CLAIM_MAX_ENTRIES )
        rc = -E2BIG;
    else
    {
        uint64_t nodes = claim_set_nodes(h, set, nr) | d->node_claim_mask;

        rq.have_host = false;
        rq.host = rq.nodes = rq.seen = rq.node_total = 0;

        /* A host-wide entry, given or replaced, needs the whole heap. */
        all = legacy || d->host_claim;
        for ( unsigned int i = 0; i < nr && !all; i++ )
            all = set[i].target == NC_CLAIM_HOST && set[i].pages;
        if ( all )
            heap_lock_all(h);
        else
            heap_lock_nodes(h, &l, nodes, false);

        rc = domain_check_claim_request(h, d, set, nr, &rq);
        if ( !rc )
            rc = check_available_claims(h, d, &rq, legacy, &l, all);
        if ( rc == 1 )
        {
            /* A reset: install the empty set. */
            rq.host = rq.nodes = rq.node_total = 0;
            rc = 0;
        }
        if ( !rc )
            domain_install_claims(h, d, &rq, &l);
        outstanding = d->outstanding;
        if ( all )
            heap_unlock_all(h);
        else
            heap_unlock_nodes(h, &l);
    }
    nc_unlock(&d->lock);
    /* Written with no lock held: the console never delays allocation. */
    console_claims(h, d->domid, set, nr, legacy, rc, outstanding);
    return rc;
}

/* ========================================================================
 * GET
 * ======================================================================== */

static int domain_get_claim_entries(struct nc_domain *d, struct nc_claim *out,
                                    uint32_t *nr)
{
    uint32_t cap = NC_MIN(*nr, (uint32_t)NC_CLAIM_MAX_ENTRIES), need = 1;
    int rc = 0;

    nc_lock(&d->lock);
    if ( d->dying )
        rc = -ESRCH;
    else
    {
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
        rc = cap < need ? -ERANGE : 0;
    }
    nc_unlock(&d->lock);
    return rc;
}

/* ========================================================================
 * Entry points
 * ======================================================================== */

int nc_claim_pages(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                   uint64_t target)
{
    struct nc_claim e = { .pages = target, .target = NC_CLAIM_HOST };
    struct nc_domain *d = domain_get(h, domid);
    int rc;

    if ( !d )
        return -EINVAL;         /* Xen: not -ESRCH for this call */
    if ( !caller_is_control(caller) )
        rc = -EPERM;
    else
        rc = domain_install_claim_set(h, d, &e, 1, true);
    domain_put(h, d);
    host_autocheck(h);
    return rc;
}

int nc_claim_memory(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                    uint32_t mode, struct nc_claim *set, uint32_t *nr)
{
    struct nc_domain *d;
    int rc = domain_get_checked(h, caller, domid, false, &d);

    if ( rc )
        return rc;
    switch ( mode )
    {
    case NC_CLAIM_MEMORY_SET:
        rc = domain_install_claim_set(h, d, set, *nr, false);
        break;

    case NC_CLAIM_MEMORY_GET:
        rc = domain_get_claim_entries(d, set, nr);
        break;

    default:
        nc_lock(&d->lock);
        rc = d->dying ? -ESRCH : -EOPNOTSUPP;
        nc_unlock(&d->lock);
        break;
    }
    domain_put(h, d);
    host_autocheck(h);
    return rc;
}
