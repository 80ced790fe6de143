/* SPDX-License-Identifier: MIT */
/*
 * Claims: the legacy XENMEM_claim_pages (spec §3) and claim sets
 * (XEN_DOMCTL_claim_memory, spec §4), both installed by one function,
 * domain_install_claim_set(), plus the deductions used by redemption
 * (alloc.c), max_pages changes (domain.c) and recall (offline.c).
 *
 * A domain's claims are a host-wide amount and a sparse array of
 * {node, pages}, sorted by node, sized by the set that installed it: a
 * domain that claims nothing has no array at all.  The array is allocated
 * before the heap lock is taken and swapped in under it.
 *
 * All claim counters are under heap_lock (private.h); installing also holds
 * the domain's lock, so that tot_pages and max_pages are stable and a dying
 * domain cannot gain claims after domain_kill released them.
 */
#include "private.h"

/* ========================================================================
 * Lookups and deductions
 * ======================================================================== */

/* The array is sorted by node: binary search, after the mask says yes. */
static struct nc_node_claim *find_node_claim(const struct nc_domain *d,
                                             uint32_t node)
{
    uint32_t lo = 0, hi = d->nr_node_claims;

    if ( !(d->node_claim_mask & (1ULL << node)) )
        return NULL;
    while ( lo < hi )
    {
        uint32_t mid = lo + (hi - lo) / 2;

        if ( d->node_claim[mid].node < node )
            lo = mid + 1;
        else
            hi = mid;
    }
    BUG_ON(lo == d->nr_node_claims || d->node_claim[lo].node != node);
    return &d->node_claim[lo];
}

uint64_t domain_node_claim(const struct nc_domain *d, uint32_t node)
{
    const struct nc_node_claim *c = find_node_claim(d, node);

    return c ? c->pages : 0;
}

static void deduct_outstanding(struct nc_host *h, struct nc_domain *d,
                               uint64_t pages)
{
    ASSERT(d->outstanding >= pages);
    d->outstanding -= pages;
    ASSERT(h->outstanding_claims >= pages);
    h->outstanding_claims -= pages;
}

uint64_t domain_release_unpinned_claims(struct nc_host *h, struct nc_domain *d,
                                        uint64_t pages)
{
    uint64_t x = NC_MIN(pages, d->host_claim);

    ASSERT(nc_lock_held(&h->heap_lock));
    d->host_claim -= x;
    deduct_outstanding(h, d, x);
    return x;
}

static uint64_t release_entry(struct nc_host *h, struct nc_domain *d,
                              struct nc_node_claim *c, uint64_t pages)
{
    uint64_t x = NC_MIN(pages, c->pages);

    ASSERT(nc_lock_held(&h->heap_lock));
    c->pages -= x;
    ASSERT(h->node_claimed[c->node] >= x);
    h->node_claimed[c->node] -= x;
    deduct_outstanding(h, d, x);
    return x;
}

uint64_t domain_release_node_claims(struct nc_host *h, struct nc_domain *d,
                                    uint32_t node, uint64_t pages)
{
    struct nc_node_claim *c = find_node_claim(d, node);

    return c ? release_entry(h, d, c, pages) : 0;
}

void domain_release_all_claims_locked(struct nc_host *h, struct nc_domain *d)
{
    for ( uint32_t i = 0; i < d->nr_node_claims; i++ )
        release_entry(h, d, &d->node_claim[i], UINT64_MAX);
    domain_release_unpinned_claims(h, d, UINT64_MAX);
    ASSERT(d->outstanding == 0);
    d->nr_node_claims = 0;
    d->node_claim_mask = 0;
}

static uint64_t room_under_max(const struct nc_domain *d)
{
    return d->max_pages > d->tot_pages ? d->max_pages - d->tot_pages : 0;
}

void domain_deduct_over_max_locked(struct nc_host *h, struct nc_domain *d)
{
    uint64_t room = room_under_max(d), excess;

    ASSERT(nc_lock_held(&d->lock) && nc_lock_held(&h->heap_lock));
    if ( d->outstanding <= room )
        return;
    excess = d->outstanding - room;
    excess -= domain_release_unpinned_claims(h, d, excess);
    for ( uint32_t i = d->nr_node_claims; i-- > 0 && excess; )
        excess -= domain_release_node_claims(h, d, d->node_claim[i].node,
                                             excess);
    ASSERT(excess == 0);
}

/* ========================================================================
 * SET: validate everything, then replace
 * ======================================================================== */

/*
 * Install `set` as d's claims (spec §4 SET; with `legacy`, the single
 * absolute-target entry of spec §3).  Nothing changes unless it returns 0.
 * *spare holds an array of at least nr node-claim slots; on success it is
 * swapped with d's old array, which the caller frees after unlocking.
 */
static int domain_set_claim_entries(struct nc_host *h, struct nc_domain *d,
                                    const struct nc_claim *set, uint32_t nr,
                                    bool legacy, struct nc_node_claim **spare)
{
    uint64_t host_req = 0, node_req = 0, seen = 0, unclaimed;
    bool have_host = false;
    uint32_t nodes = 0;
    struct nc_node_claim *fresh = *spare;

    ASSERT(nc_lock_held(&d->lock) && nc_lock_held(&h->heap_lock));
    /* I4 holds, so this cannot wrap (Xen's can after offlining). */
    unclaimed = h->total_avail - h->outstanding_claims;

    /* Phase 1: every entry on its own. */
    for ( uint32_t i = 0; i < nr; i++ )
    {
        const struct nc_claim *e = &set[i];
        uint32_t n = e->target;

        if ( e->pad )
            return -EINVAL;
        if ( e->target == NC_CLAIM_HOST )
        {
            if ( have_host )
                return -EINVAL;
            have_host = true;
            host_req = e->pages;
            continue;
        }
        if ( e->target & (NC_CLAIM_HOST | NC_CLAIM_LEGACY) )
            return -EINVAL;     /* the legacy selector stays internal */
        if ( n >= h->nr_nodes || !h->node[n].online )
            return -ENOENT;
        if ( seen & (1ULL << n) )
            return -EINVAL;
        seen |= 1ULL << n;
        /* The domain's own claim on n is given back first, so a same-size
         * or smaller replacement never fails here. */
        if ( e->pages > h->node_avail[n] - h->node_claimed[n] +
                        domain_node_claim(d, n) )
            return -ENOMEM;
        node_req += e->pages;   /* each <= node_avail: cannot wrap */
        if ( e->pages )
        {
            uint32_t j = nodes++;

            /* Insertion sort by node: at most 64 entries. */
            for ( ; j > 0 && fresh[j - 1].node > n; j-- )
                fresh[j] = fresh[j - 1];
            fresh[j] = (struct nc_node_claim){ .node = n, .pages = e->pages };
        }
    }

    /* Phase 2: the set as a whole. */
    if ( legacy )
    {
        uint64_t target = host_req;

        ASSERT(nr == 1 && have_host && !nodes);
        if ( target == 0 )
            goto release;
        if ( d->outstanding )
            return -EINVAL;     /* one claim at a time: reset to 0 first */
        if ( target <= d->tot_pages || target > d->max_pages )
            return -EINVAL;
        host_req = target - d->tot_pages;   /* absolute -> relative */
    }
    else if ( host_req == 0 && node_req == 0 )
        goto release;           /* the toolstack's reset after building */

    {
        uint64_t room = room_under_max(d);

        if ( host_req > room || node_req > room - host_req )
            return -EINVAL;
    }
    if ( host_req + node_req > unclaimed + d->outstanding )
        return -ENOMEM;

    /* Phase 3: replace.  A set never adds to the claims it replaces. */
    domain_release_all_claims_locked(h, d);
    *spare = d->node_claim;
    d->node_claim = fresh;
    d->nr_node_claims = nodes;
    d->node_claim_mask = 0;
    for ( uint32_t i = 0; i < nodes; i++ )
    {
        d->node_claim_mask |= 1ULL << fresh[i].node;
        h->node_claimed[fresh[i].node] += fresh[i].pages;
    }
    d->host_claim = host_req;
    d->outstanding = host_req + node_req;
    h->outstanding_claims += d->outstanding;
    return 0;

 release:
    domain_release_all_claims_locked(h, d);
    return 0;
}

int domain_install_claim_set(struct nc_host *h, struct nc_domain *d,
                             const struct nc_claim *set, uint32_t nr,
                             bool legacy)
{
    struct nc_node_claim *spare = NULL;
    uint64_t outstanding = 0;
    int rc;

    if ( nr > 0 && nr <= NC_CLAIM_MAX_ENTRIES )
    {
        spare = nc_zalloc((size_t)nr * sizeof(*spare));
        if ( !spare )
            return -ENOMEM;
    }
    nc_lock(&d->lock);
    if ( d->dying )
        rc = legacy ? -EINVAL : -ESRCH;
    else if ( nr == 0 )
        rc = -EINVAL;
    else if ( nr > NC_CLAIM_MAX_ENTRIES )
        rc = -E2BIG;
    else
    {
        nc_lock(&h->heap_lock);
        rc = domain_set_claim_entries(h, d, set, nr, legacy, &spare);
        outstanding = d->outstanding;
        nc_unlock(&h->heap_lock);
    }
    nc_unlock(&d->lock);
    nc_free(spare);
    /* Written with no lock held: the console never delays allocation. */
    console_claims(h, d->domid, set, nr, legacy, rc, outstanding);
    return rc;
}

/* ========================================================================
 * GET
 * ======================================================================== */

static int domain_get_claim_entries(struct nc_host *h, struct nc_domain *d,
                                    struct nc_claim *out, uint32_t *nr)
{
    uint32_t cap = NC_MIN(*nr, (uint32_t)NC_CLAIM_MAX_ENTRIES), need = 1;
    int rc = 0;

    nc_lock(&d->lock);
    if ( d->dying )
        rc = -ESRCH;
    else
    {
        nc_lock(&h->heap_lock);
        if ( cap > 0 )
            out[0] = (struct nc_claim){ .pages = d->host_claim,
                                        .target = NC_CLAIM_HOST };
        for ( uint32_t i = 0; i < d->nr_node_claims; i++ )
        {
            if ( !d->node_claim[i].pages )
                continue;
            if ( need < cap )
                out[need] = (struct nc_claim){ .pages = d->node_claim[i].pages,
                                               .target = d->node_claim[i].node };
            need++;
        }
        nc_unlock(&h->heap_lock);
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
    int rc;

    if ( !caller_is_control(caller) )
        return -EPERM;
    d = domain_get(h, domid);
    if ( !d )
        return -ESRCH;
    switch ( mode )
    {
    case NC_CLAIM_MEMORY_SET:
        rc = domain_install_claim_set(h, d, set, *nr, false);
        break;

    case NC_CLAIM_MEMORY_GET:
        rc = domain_get_claim_entries(h, d, set, nr);
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
