/* SPDX-License-Identifier: MIT */
/*
 * Domains: the domid table, creation, teardown and the per-domain settings
 * of spec §8 (max_pages, node affinity), plus read-only queries.
 *
 * Lifetime: the table holds one reference to each domain; domain_get()
 * takes another, so a domain being destroyed stays valid for whoever still
 * uses it and is freed by the last domain_put().  Killing marks the domain
 * dying, releases its claims and frees its pages; reaping removes it from
 * the table, after which its domid can be reused.  An operation that does
 * all its work under the domain's lock needs no reference: holding the
 * lock of a domain that is not dying keeps it from being killed, so from
 * being freed (domain_lock_checked()).
 */
#include "private.h"

/* ========================================================================
 * References
 * ======================================================================== */

/*
 * A reference is taken without domlist_lock, so that the allocation path
 * touches no global lock for it.  This is safe because domain structures
 * are type-stable: the last domain_put() does not free one but puts it in
 * the host's pool, from which nc_domain_create() reuses it, and only
 * nc_host_destroy() frees the pool.  A reader that loaded a pointer from
 * the table may therefore find it freed or reused; it takes a reference
 * only if the count is not zero, then checks that the table still maps the
 * domid to it, and otherwise gives the reference back.  Neither the refcnt
 * field nor the lock is ever overwritten by the reuse (refcnt is 0 from the
 * last put until the new domain publishes it as 1; the lock is made once),
 * so a stale reader may take the lock too: domain_alloc() clears a reused
 * structure, and domain_free() empties a dead one, holding it.
 */
struct nc_domain *domain_get(struct nc_host *h, nc_domid_t domid)
{
    struct nc_domain *d;
    uint32_t refs;

    d = domain_in_table(h, domid);
    if ( !d )
        return NULL;
    refs = atomic_load_explicit(&d->refcnt, memory_order_relaxed);
    do {
        if ( refs == 0 )
            return NULL;        /* being freed: its domid is gone */
    } while ( !atomic_compare_exchange_weak_explicit(
                  &d->refcnt, &refs, refs + 1, memory_order_acquire,
                  memory_order_relaxed) );
    if ( domain_in_table(h, domid) != d )
    {
        domain_put(h, d);       /* reused for another domid meanwhile */
        return NULL;
    }
    return d;
}

/* Put a structure in the pool for reuse. */
static void domain_pool_put(struct nc_host *h, struct nc_domain *d)
{
    nc_lock(&h->domlist_lock);
    d->pool_next = h->domain_pool;
    h->domain_pool = d;
    nc_unlock(&h->domlist_lock);
}

/* Give back what the domain holds and keep the structure for reuse.  Under
 * its lock, which a thread that found it in the table before it was reaped
 * may still take (domain_lock_checked()): that thread then finds it dying,
 * and touches nothing else. */
static void domain_free(struct nc_host *h, struct nc_domain *d)
{
    nc_lock(&d->lock);
    ASSERT(d->dying || d->domid == NC_DOMID_CONTROL);
    p2m_fini(&d->p2m);
    p2m_fini(&d->unmapped);
    vnuma_free(d->vnuma);
    d->vnuma = NULL;
    nc_unlock(&d->lock);
    domain_pool_put(h, d);
}

void domain_put(struct nc_host *h, struct nc_domain *d)
{
    uint32_t was = atomic_fetch_sub_explicit(&d->refcnt, 1,
                                             memory_order_acq_rel);

    ASSERT(was > 0);
    if ( was == 1 )
    {
        /* Nothing can reach it any more: it was taken out of the table. */
        BUG_ON(d->outstanding || d->tot_pages);
        domain_free(h, d);
    }
}

/*
 * A structure for a new domain: refcnt 0, its lock held, everything after
 * the lock zeroed.  The lock of a structure is made once and kept through
 * its reuses, and the structure is cleared with it held: a thread of
 * domain_lock_checked() that loaded the pointer before the last domain
 * went may be taking it.
 */
static struct nc_domain *domain_alloc(struct nc_host *h)
{
    struct nc_domain *d;

    nc_lock(&h->domlist_lock);
    d = h->domain_pool;
    if ( d )
        h->domain_pool = d->pool_next;
    nc_unlock(&h->domlist_lock);
    if ( !d )
    {
        d = nc_zalloc(sizeof(*d));
        if ( !d )
            return NULL;
        nc_lock_init(&d->lock, NC_RANK_DOMAIN);
    }
    nc_lock(&d->lock);
    ASSERT(atomic_load(&d->refcnt) == 0);
    nc_memzero((char *)d + offsetof(struct nc_domain, pool_next),
               sizeof(*d) - offsetof(struct nc_domain, pool_next));
    return d;
}

void domain_pool_fini(struct nc_host *h)
{
    while ( h->domain_pool )
    {
        struct nc_domain *d = h->domain_pool;

        h->domain_pool = d->pool_next;
        nc_lock_fini(&d->lock);
        nc_free(d);
    }
}

uint32_t next_domid(const struct nc_host *h, uint32_t from)
{
    unsigned int w = from / 64;
    uint64_t bits;

    if ( from >= NC_DOMID_FIRST_RESERVED )
        return NC_DOMID_FIRST_RESERVED;
    bits = h->domid_used[w] & (~0ULL << (from % 64));
    if ( bits )
        return w * 64 + (uint32_t)__builtin_ctzll(bits);
    /* The next non-empty word, from the summary. */
    for ( unsigned int s = (w + 1) / 64; s < NC_ARRAY_SIZE(h->domid_words);
          s++ )
    {
        uint64_t words = h->domid_words[s];

        if ( s == (w + 1) / 64 )
            words &= ~0ULL << ((w + 1) % 64);
        if ( words )
        {
            unsigned int next = s * 64 + (unsigned int)__builtin_ctzll(words);

            return next * 64 + (uint32_t)__builtin_ctzll(h->domid_used[next]);
        }
    }
    return NC_DOMID_FIRST_RESERVED;
}

static uint32_t lowest_free_domid(const struct nc_host *h)
{
    for ( unsigned int w = 0; w < NC_DOMID_WORDS; w++ )
    {
        uint64_t free = ~h->domid_used[w] & (w == 0 ? ~1ULL : ~0ULL);

        /* The last word's bits from NC_DOMID_FIRST_RESERVED up are no
         * domids: the first free bit there means none is free. */
        if ( free )
            return NC_MIN(w * 64 + (uint32_t)__builtin_ctzll(free),
                          (uint32_t)NC_DOMID_FIRST_RESERVED);
    }
    return NC_DOMID_FIRST_RESERVED;
}

static void table_set(struct nc_host *h, uint32_t id, struct nc_domain *d)
{
    unsigned int w = id / 64;

    ASSERT(nc_lock_held(&h->domlist_lock));
    atomic_store_explicit(&h->domain[id], d, memory_order_release);
    if ( d )
        h->domid_used[w] |= 1ULL << (id % 64);
    else
        h->domid_used[w] &= ~(1ULL << (id % 64));
    if ( h->domid_used[w] )
        h->domid_words[w / 64] |= 1ULL << (w % 64);
    else
        h->domid_words[w / 64] &= ~(1ULL << (w % 64));
}

/* ========================================================================
 * Creation and teardown
 * ======================================================================== */

int nc_domain_create(struct nc_host *h, nc_domid_t caller,
                     const struct nc_domain_config *cfg, nc_domid_t *domidp)
{
    struct nc_domain *d;
    nc_domid_t id = cfg->domid;
    int rc = 0;

    if ( !caller_is_control(caller) )
        return -EPERM;
    if ( (id >= NC_DOMID_FIRST_RESERVED && id != NC_DOMID_ANY) ||
         cfg->max_vcpus > NC_MAX_VCPUS )
        return -EINVAL;
    d = domain_alloc(h);
    if ( !d )
        return -ENOMEM;
    d->max_vcpus = cfg->max_vcpus;
    d->node_affinity = h->online_mask;
    /* A guest is created paused and runs once the toolstack unpauses it;
     * the control domain is running from start-up. */
    d->pause_count = id == NC_DOMID_CONTROL ? 0 : 1;
    nc_unlock(&d->lock);

    nc_lock(&h->domlist_lock);
    if ( id == NC_DOMID_ANY )
    {
        id = (nc_domid_t)lowest_free_domid(h);
        if ( id == NC_DOMID_FIRST_RESERVED )
            rc = -ENOMEM;
    }
    else if ( h->domain[id] )
        rc = -EEXIST;
    else if ( id == NC_DOMID_CONTROL && h->nr_domains )
        rc = -EEXIST;          /* the control domain exists from start-up */
    if ( !rc )
    {
        d->domid = id;
        /* The table's reference, made visible with the domain. */
        atomic_store_explicit(&d->refcnt, 1, memory_order_release);
        table_set(h, id, d);
        h->nr_domains++;
    }
    nc_unlock(&h->domlist_lock);

    if ( rc )
    {
        /* Never published, but a reader of the last domain that had this
         * structure may still take its lock: back to the pool. */
        domain_pool_put(h, d);
        return rc;
    }
    if ( domidp )
        *domidp = id;
    printk_info(h, "d%u: created, %u vCPU%s", id, cfg->max_vcpus,
           cfg->max_vcpus == 1 ? "" : "s");
    host_autocheck(h);
    return 0;
}

void domain_relinquish_locked(struct nc_host *h, struct nc_domain *d)
{
    ASSERT(nc_lock_held(&d->lock) && heap_all_locked(h));
    for ( unsigned int i = 0; i < d->p2m.nr; i++ )
        heap_give_span_locked(h, d->p2m.e[i].mfn, d->p2m.e[i].nr);
    for ( unsigned int i = 0; i < d->unmapped.nr; i++ )
        heap_give_span_locked(h, d->unmapped.e[i].mfn, d->unmapped.e[i].nr);
    d->p2m.nr = 0;
    d->p2m.pages = 0;
    d->unmapped.nr = 0;
    d->unmapped.pages = 0;
    d->tot_pages = 0;
    nc_memzero(d->node_pages, sizeof(d->node_pages));
}

/* Look up a guest that a privileged domctl may act on: referenced, or with
 * `live` locked instead, refusing a dying one (domain_lock_checked()). */
static int get_target(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                      bool live, struct nc_domain **dp)
{
    if ( caller_is_control(caller) && domid == NC_DOMID_CONTROL )
        return -EINVAL;        /* the control domain is not a guest */
    return live ? domain_lock_checked(h, caller, domid, false, dp)
                : domain_get_checked(h, caller, domid, false, dp);
}

/* Kill a domain the caller holds a reference to. */
static void domain_kill(struct nc_host *h, struct nc_domain *d)
{
    nc_lock(&d->lock);
    if ( !d->dying )
    {
        d->dying = true;
        heap_lock_all(h);
        /* Claims first, so that freed pages cannot be mistaken for memory
         * still promised to a domain that is going away (spec §8). */
        domain_release_all_claims_locked(h, d);
        domain_relinquish_locked(h, d);
        heap_unlock_all(h);
        vnuma_free(d->vnuma);
        d->vnuma = NULL;
    }
    nc_unlock(&d->lock);
}

int nc_domain_kill(struct nc_host *h, nc_domid_t caller, nc_domid_t domid)
{
    struct nc_domain *d;
    int rc = get_target(h, caller, domid, false, &d);

    if ( rc )
        return rc;
    domain_kill(h, d);
    domain_put(h, d);
    host_autocheck(h);
    return 0;
}

int nc_domain_destroy(struct nc_host *h, nc_domid_t caller, nc_domid_t domid)
{
    struct nc_domain *d;
    bool reaped = false;
    int rc = get_target(h, caller, domid, false, &d);

    if ( rc )
        return rc;
    domain_kill(h, d);
    /* Reap this very domain: a concurrent destroy may have reaped it and
     * a create reused its domid meanwhile. */
    nc_lock(&h->domlist_lock);
    if ( h->domain[domid] == d )
    {
        table_set(h, domid, NULL);
        h->nr_domains--;
        reaped = true;
    }
    nc_unlock(&h->domlist_lock);
    if ( reaped )
        domain_put(h, d);      /* the table's reference */
    domain_put(h, d);
    if ( reaped )
        printk_info(h, "d%u: destroyed", domid);
    host_autocheck(h);
    return reaped ? 0 : -ESRCH;
}

/* ========================================================================
 * Settings
 * ======================================================================== */

int nc_domain_set_max_pages(struct nc_host *h, nc_domid_t caller,
                            nc_domid_t domid, uint64_t max_pages)
{
    struct nc_domain *d;
    int rc = get_target(h, caller, domid, true, &d);

    if ( rc )
        return rc;
    heap_lock_all(h);
    d->max_pages = max_pages;
    domain_deduct_over_max_locked(h, d);
    heap_unlock_all(h);
    domain_unlock(d);
    host_autocheck(h);
    return 0;
}

/* Xen bounds the controller's count so that repeated hypercalls cannot
 * overflow it. */
#define NC_MAX_PAUSE_COUNT 255

/* Change the controller's pause count by +1 or -1 within [0, 255]. */
static int pause_count_add(struct nc_host *h, nc_domid_t caller,
                           nc_domid_t domid, int delta)
{
    struct nc_domain *d;
    int rc = get_target(h, caller, domid, false, &d);

    if ( rc )
        return rc;
    nc_lock(&d->lock);
    if ( delta > 0 && d->pause_count >= NC_MAX_PAUSE_COUNT )
        rc = -EOVERFLOW;
    else if ( delta < 0 && d->pause_count == 0 )
        rc = -EINVAL;
    else
        d->pause_count = (uint32_t)((int)d->pause_count + delta);
    domain_unlock_put(h, d);
    return rc;
}

int nc_domain_pause(struct nc_host *h, nc_domid_t caller, nc_domid_t domid)
{
    return pause_count_add(h, caller, domid, 1);
}

int nc_domain_unpause(struct nc_host *h, nc_domid_t caller, nc_domid_t domid)
{
    return pause_count_add(h, caller, domid, -1);
}

int nc_domain_set_node_affinity(struct nc_host *h, nc_domid_t caller,
                                nc_domid_t domid, uint64_t mask)
{
    struct nc_domain *d;
    int rc = get_target(h, caller, domid, true, &d);

    if ( rc )
        return rc;
    if ( !(mask & h->online_mask) )
        rc = -EINVAL;
    else
        d->node_affinity = mask;
    domain_unlock(d);
    return rc;
}

/* ========================================================================
 * Queries
 * ======================================================================== */

int nc_domain_getinfo(struct nc_host *h, nc_domid_t domid,
                      struct nc_domain_info *info)
{
    struct nc_domain *d = domain_get(h, domid);

    if ( !d )
        return -ESRCH;
    nc_lock(&d->lock);
    *info = (struct nc_domain_info){
        .domid = d->domid,
        .dying = d->dying,
        .max_vcpus = d->max_vcpus,
        .tot_pages = d->tot_pages,
        .max_pages = d->max_pages,
        .outstanding = d->outstanding,
        .host_claim = d->host_claim,
        .recalled = d->recalled,
        .node_affinity = d->node_affinity,
        .last_alloc_node = d->last_alloc_node,
        .nr_p2m_extents = d->p2m.nr,
        .pause_count = d->pause_count,
        .unmapped_pages = d->unmapped.pages,
    };
    domain_unlock_put(h, d);
    return 0;
}

uint32_t nc_domain_next(struct nc_host *h, uint32_t from)
{
    uint32_t id;

    if ( from >= NC_DOMID_FIRST_RESERVED )
        return NC_DOMID_FIRST_RESERVED;
    nc_lock(&h->domlist_lock);
    id = next_domid(h, from);
    nc_unlock(&h->domlist_lock);
    return id;
}

int nc_domain_node_pages(struct nc_host *h, nc_domid_t domid, uint64_t *out,
                         uint32_t nr)
{
    struct nc_domain *d = domain_get(h, domid);

    if ( !d )
        return -ESRCH;
    nc_lock(&d->lock);
    for ( unsigned int n = 0; n < nr; n++ )
        out[n] = n < NC_MAX_NUMNODES ? d->node_pages[n] : 0;
    domain_unlock_put(h, d);
    return 0;
}

int nc_domain_translate(struct nc_host *h, nc_domid_t domid, uint64_t gpfn,
                        uint64_t *mfnp)
{
    struct nc_domain *d = domain_get(h, domid);
    int rc;

    if ( !d )
        return -ESRCH;
    nc_lock(&d->lock);
    rc = p2m_lookup(&d->p2m, gpfn, mfnp);
    domain_unlock_put(h, d);
    return rc;
}
