/* SPDX-License-Identifier: MIT */
/*
 * The reference model's claim arithmetic, written from the spec alone and
 * shared by the suites that predict what the core does: the model suite
 * (one thread, exact predictions) and the linearizability suite (a
 * sequential model that concurrent histories must match).
 *
 * It knows domains only by their page counters and claims (struct cm_dom)
 * and the host only by its free pages per node (struct cm_view, a view
 * each suite builds over its own state): the redemption plan and admission
 * of an allocation (spec §5), max_pages lowering (§8), the legacy claim
 * (§3), claim-set SET (§4) and the recall on offlining (§7).  Frames,
 * p2m and node choice stay in each suite, which model them at the
 * resolution they need.
 */
#ifndef NC_TESTS_CLAIMS_MODEL_H
#define NC_TESTS_CLAIMS_MODEL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <numaclaim/core.h>

#define CM_MAX_NODES    8
#define CM_MAX_DOMS     16

#define CM_MIN(a, b)    ((a) < (b) ? (a) : (b))

typedef unsigned __int128 cm_u128;

/* What a domain holds (spec §2): pages, limit, claims. */
struct cm_dom {
    uint64_t tot, max, host_claim, claims[CM_MAX_NODES], recalled;
};

/* The host as the claim rules see it; dom[i] NULL where no domain is, in
 * ascending domid order (recall goes by domid). */
struct cm_view {
    uint32_t nr_nodes;
    uint64_t online;                     /* bit n: node n is online */
    uint64_t *node_avail, *total_avail;
    struct cm_dom *dom[CM_MAX_DOMS];
    uint32_t nr_dom;
};

/* The redemption plan of a charged allocation of r pages on a node (§5):
 * a from the node's claim, b from the host-wide claim, c from other
 * nodes' claims so that I6 keeps holding. */
struct cm_plan {
    uint64_t a, b, c;
};

static inline bool cm_online(const struct cm_view *v, uint32_t n)
{
    return n < v->nr_nodes && ((v->online >> n) & 1);
}

static inline uint64_t cm_outstanding(const struct cm_dom *d)
{
    uint64_t s = d->host_claim;

    for ( uint32_t n = 0; n < CM_MAX_NODES; n++ )
        s += d->claims[n];
    return s;
}

static inline uint64_t cm_room(const struct cm_dom *d)
{
    return d->max > d->tot ? d->max - d->tot : 0;
}

static inline void cm_release(struct cm_dom *d)
{
    d->host_claim = 0;
    for ( uint32_t n = 0; n < CM_MAX_NODES; n++ )
        d->claims[n] = 0;
}

static inline uint64_t cm_node_claimed(const struct cm_view *v, uint32_t n)
{
    uint64_t s = 0;

    for ( uint32_t i = 0; i < v->nr_dom; i++ )
        if ( v->dom[i] )
            s += v->dom[i]->claims[n];
    return s;
}

static inline uint64_t cm_total_outstanding(const struct cm_view *v)
{
    uint64_t s = 0;

    for ( uint32_t i = 0; i < v->nr_dom; i++ )
        if ( v->dom[i] )
            s += cm_outstanding(v->dom[i]);
    return s;
}

static inline uint64_t cm_unclaimed(const struct cm_view *v)
{
    return *v->total_avail - cm_total_outstanding(v);
}

/* Plan for r pages landing on node n (zero for an uncharged one). */
static inline struct cm_plan cm_plan_for(const struct cm_dom *d, bool charged,
                                         uint32_t n, uint64_t r)
{
    struct cm_plan p = { 0, 0, 0 };
    cm_u128 need;

    if ( !charged )
        return p;
    p.a = CM_MIN(r, d->claims[n]);
    p.b = CM_MIN(r - p.a, d->host_claim);
    need = (cm_u128)d->tot + r + cm_outstanding(d) - p.a - p.b;
    p.c = need > d->max ? (uint64_t)(need - d->max) : 0;
    return p;
}

/* Admission (§5): the node's and the host's unclaimed pages cover what the
 * plan does not redeem. */
static inline bool cm_admit(const struct cm_view *v, uint32_t n, uint64_t r,
                            const struct cm_plan *p)
{
    __int128 node_free = (__int128)v->node_avail[n] - cm_node_claimed(v, n);
    __int128 host_free = (__int128)*v->total_avail - cm_total_outstanding(v);

    return (__int128)r - p->a <= node_free &&
           (__int128)r - p->a - p->b - p->c <= host_free;
}

/* Apply the plan of the landing node: c comes from the other nodes'
 * claims by ascending id.  Returns false if the claims cannot cover it. */
static inline bool cm_redeem(struct cm_dom *d, uint32_t node,
                             const struct cm_plan *p)
{
    uint64_t c = p->c;

    if ( d->claims[node] < p->a || d->host_claim < p->b )
        return false;
    d->claims[node] -= p->a;
    d->host_claim -= p->b;
    for ( uint32_t n = 0; n < CM_MAX_NODES && c; n++ )
    {
        uint64_t x;

        if ( n == node )
            continue;
        x = CM_MIN(c, d->claims[n]);
        d->claims[n] -= x;
        c -= x;
    }
    return c == 0;
}

/* max_pages (§8): lowering it deducts claims until I6 holds, host-wide
 * first, then nodes by descending id.  Returns whether it deducted. */
static inline bool cm_set_max(struct cm_dom *d, uint64_t max)
{
    uint64_t room, out = cm_outstanding(d), excess, x;

    d->max = max;
    room = cm_room(d);
    if ( out <= room )
        return false;
    excess = out - room;
    x = CM_MIN(excess, d->host_claim);
    d->host_claim -= x;
    excess -= x;
    for ( uint32_t n = CM_MAX_NODES; n-- > 0 && excess; )
    {
        x = CM_MIN(excess, d->claims[n]);
        d->claims[n] -= x;
        excess -= x;
    }
    return true;
}

/* The legacy claim (§3) for an existing, live domain and a privileged
 * caller: the return value, and on success the new claim. */
static inline int cm_legacy_claim(const struct cm_view *v, struct cm_dom *d,
                                  uint64_t target)
{
    uint64_t unclaimed = cm_unclaimed(v);

    if ( target == 0 )
    {
        cm_release(d);
        return 0;
    }
    if ( cm_outstanding(d) )
        return -EINVAL;                 /* one claim at a time */
    if ( target <= d->tot || target > d->max )
        return -EINVAL;
    if ( target - d->tot > unclaimed )
        return -ENOMEM;
    cm_release(d);
    d->host_claim = target - d->tot;
    return 0;
}

/* Claim-set SET (§4) for an existing, live domain and a privileged caller,
 * from the entry checks on: the return value, and on success the claims
 * installed (an all-zero set releases every claim). */
static inline int cm_claim_set(const struct cm_view *v, struct cm_dom *d,
                               const struct nc_claim *set, uint32_t nr)
{
    uint64_t seen = 0, host = 0, claims[CM_MAX_NODES] = { 0 };
    cm_u128 sum = 0;
    bool have_host = false;

    if ( nr == 0 )
        return -EINVAL;
    if ( nr > NC_CLAIM_MAX_ENTRIES )
        return -E2BIG;
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
            host = e->pages;
            sum += e->pages;
            continue;
        }
        if ( e->target & NC_CLAIM_SELECTOR_MASK )
            return -EINVAL;
        if ( !cm_online(v, n) )
            return -ENOENT;
        if ( (seen >> n) & 1 )
            return -EINVAL;
        seen |= 1ULL << n;
        /* What this domain may claim on n: the node's unclaimed pages
         * plus its own claim there, which the new set replaces. */
        if ( e->pages > v->node_avail[n] - cm_node_claimed(v, n) +
                        d->claims[n] )
            return -ENOMEM;
        claims[n] = e->pages;
        sum += e->pages;
    }
    if ( sum == 0 )
    {
        cm_release(d);                  /* the toolstack's reset */
        return 0;
    }
    if ( sum + d->tot > d->max )
        return -EINVAL;
    if ( sum > (cm_u128)cm_unclaimed(v) + cm_outstanding(d) )
        return -ENOMEM;
    d->host_claim = host;
    for ( uint32_t n = 0; n < CM_MAX_NODES; n++ )
        d->claims[n] = claims[n];
    return 0;
}

/* Recall after a free frame of node left the heap (§7): node claims on it
 * until I4 holds, then host-wide claims until I5 holds, ascending domid.
 * Bit 0 of the result: node claims were recalled; bit 1: host-wide. */
static inline unsigned int cm_recall(const struct cm_view *v, uint32_t node)
{
    uint64_t claimed = cm_node_claimed(v, node), out;
    unsigned int what = 0;

    if ( claimed > v->node_avail[node] )
    {
        uint64_t excess = claimed - v->node_avail[node];

        what |= 1;
        for ( uint32_t i = 0; i < v->nr_dom && excess; i++ )
        {
            struct cm_dom *d = v->dom[i];
            uint64_t x;

            if ( !d )
                continue;
            x = CM_MIN(excess, d->claims[node]);
            d->claims[node] -= x;
            d->recalled += x;
            excess -= x;
        }
    }
    out = cm_total_outstanding(v);
    if ( out > *v->total_avail )
    {
        uint64_t excess = out - *v->total_avail;

        what |= 2;
        for ( uint32_t i = 0; i < v->nr_dom && excess; i++ )
        {
            struct cm_dom *d = v->dom[i];
            uint64_t x;

            if ( !d )
                continue;
            x = CM_MIN(excess, d->host_claim);
            d->host_claim -= x;
            d->recalled += x;
            excess -= x;
        }
    }
    return what;
}

#endif /* NC_TESTS_CLAIMS_MODEL_H */
