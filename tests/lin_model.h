/* SPDX-License-Identifier: MIT */
/*
 * The linearizability check, shared by the suites that record concurrent
 * histories against one host (test_linearizable.c: threads on the core;
 * test_lin_hostd.c: processes through hostd): the small host and its
 * sequential model over claims_model.h, the calls and their records, how
 * a worker picks its calls, and the checker (Wing & Gong's search with
 * Lowe's memoisation).  test_linearizable.c's header describes them.
 *
 * lin_via_hostd selects what a libxenctrl client can observe: populate
 * and depopulate report failure without the reason (Xen counts extents
 * done), no MFNs (so the model picks the lowest free frame of the node,
 * and no offline or online calls are made), and domain info without the
 * host-wide claim or the recalled count.
 */
#ifndef NC_TESTS_LIN_MODEL_H
#define NC_TESTS_LIN_MODEL_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claims_model.h"

#define NR_NODES        2u
#define NODE_FRAMES     256u
#define NR_FRAMES       (NR_NODES * NODE_FRAMES)
#define MAP_WORDS       (NR_FRAMES / 64)
#define NR_DOMS         4u              /* slots 0..3; 0 is the control domain */
#define GPFNS           16u
#define NO_MFN          0xFFFFu
#define MAX_THREADS     4u
#define MAX_OPS         12u
#define MAX_CALLS       (MAX_THREADS * MAX_OPS)
#define INITIAL_MAX     160u

static bool lin_via_hostd;

/* ========================================================================
 * The sequential model
 * ======================================================================== */

struct ldom {
    struct cm_dom c;
    uint16_t p2m[GPFNS];                /* NO_MFN: not populated */
    uint8_t exists, dying;
};

struct lstate {
    uint64_t node_avail[NR_NODES], total_avail, offlined;
    uint64_t freemap[MAP_WORDS], offl[MAP_WORDS], pending[MAP_WORDS];
    struct ldom dom[NR_DOMS];
};

static bool bit(const uint64_t *map, uint32_t m)
{
    return (map[m / 64] >> (m % 64)) & 1;
}

static void set_bit(uint64_t *map, uint32_t m, bool on)
{
    if ( on )
        map[m / 64] |= 1ULL << (m % 64);
    else
        map[m / 64] &= ~(1ULL << (m % 64));
}

static struct cm_view view(struct lstate *s)
{
    struct cm_view v = { .nr_nodes = NR_NODES,
                         .online = (1ULL << NR_NODES) - 1,
                         .node_avail = s->node_avail,
                         .total_avail = &s->total_avail, .nr_dom = NR_DOMS };

    for ( uint32_t i = 1; i < NR_DOMS; i++ )
        v.dom[i] = s->dom[i].exists ? &s->dom[i].c : NULL;
    return v;
}

static void m_dom_init(struct lstate *s, uint32_t d, uint64_t max)
{
    memset(&s->dom[d], 0, sizeof(s->dom[d]));
    s->dom[d].exists = 1;
    s->dom[d].c.max = max;
    memset(s->dom[d].p2m, 0xFF, sizeof(s->dom[d].p2m));
}

static void m_init(struct lstate *s)
{
    memset(s, 0, sizeof(*s));
    for ( uint32_t m = 0; m < NR_FRAMES; m++ )
        set_bit(s->freemap, m, true);
    for ( uint32_t n = 0; n < NR_NODES; n++ )
        s->node_avail[n] = NODE_FRAMES;
    s->total_avail = NR_FRAMES;
    m_dom_init(s, 1, INITIAL_MAX);
    m_dom_init(s, 2, INITIAL_MAX);
}

/* An owned frame is freed: one pending offline is offlined instead. */
static void m_give(struct lstate *s, uint32_t m)
{
    if ( bit(s->pending, m) )
    {
        set_bit(s->pending, m, false);
        set_bit(s->offl, m, true);
        s->offlined++;
        return;
    }
    set_bit(s->freemap, m, true);
    s->node_avail[m / NODE_FRAMES]++;
    s->total_avail++;
}

static uint32_t m_owner(const struct lstate *s, uint32_t m)
{
    for ( uint32_t d = 1; d < NR_DOMS; d++ )
        for ( uint32_t g = 0; s->dom[d].exists && g < GPFNS; g++ )
            if ( s->dom[d].p2m[g] == m )
                return d;
    return 0;
}

/* ========================================================================
 * Calls and their records
 * ======================================================================== */

enum kind {
    K_SET, K_LEGACY, K_POPULATE, K_DEPOPULATE, K_MAX, K_OFFLINE, K_ONLINE,
    K_CREATE, K_DESTROY, K_INFO, K_OVERVIEW, K_REAP, NR_KINDS
};

static const char *const kind_name[NR_KINDS] = {
    "claim_set", "legacy_claim", "populate", "depopulate", "set_max",
    "offline", "online", "create", "destroy", "info", "overview", "(reap)",
};

static const unsigned int kind_weight[NR_KINDS] = {
    16, 8, 20, 10, 7, 6, 5, 4, 4, 10, 10, 0,
};

struct call {
    uint8_t kind, thread;
    uint16_t dom;
    uint32_t nr;                        /* claim-set entries */
    struct nc_claim set[3];
    uint64_t arg;                       /* target, gpfn, max or MFN */
    uint32_t node;                      /* populate's node */
    int rc;
    uint64_t out[7];                    /* MFN, status or counters read */
    uint64_t start, end;                /* ticks before and after */
    int after;                          /* a call that must come first */
};

/* One history: each destroy is followed by its reap (see m_step). */
static struct call calls[MAX_CALLS + MAX_OPS];
static uint32_t nr_calls;

/* A failure that must be want; through hostd, populate and depopulate
 * only say that they failed. */
static bool failed_as(const struct call *c, int want)
{
    if ( lin_via_hostd && (c->kind == K_POPULATE || c->kind == K_DEPOPULATE) )
        return c->rc != 0;
    return c->rc == want;
}

/* The lowest free frame of a node (the hostd model's canonical choice:
 * without MFNs or offlining, which frame it is cannot be observed). */
static uint32_t m_first_free(const struct lstate *s, uint32_t node)
{
    for ( uint32_t m = node * NODE_FRAMES; m < (node + 1) * NODE_FRAMES; m++ )
        if ( bit(s->freemap, m) )
            return m;
    return NR_FRAMES;
}

static bool m_step(struct lstate *s, const struct call *c)
{
    struct ldom *d = c->dom < NR_DOMS && s->dom[c->dom].exists
                     ? &s->dom[c->dom] : NULL;
    struct cm_view v = view(s);
    bool dying = d && d->dying;

    switch ( (enum kind)c->kind )
    {
    case K_SET:
    {
        struct cm_dom after;
        int want;

        if ( !d || dying )
            return c->rc == -ESRCH;
        after = d->c;
        v.dom[c->dom] = &after;
        want = cm_claim_set(&v, &after, c->set, c->nr);
        if ( want != c->rc )
            return false;
        d->c = after;
        return true;
    }

    case K_LEGACY:
    {
        struct cm_dom after;
        int want;

        if ( !d || dying )
            return c->rc == -EINVAL;
        after = d->c;
        v.dom[c->dom] = &after;
        want = cm_legacy_claim(&v, &after, c->arg);
        if ( want != c->rc )
            return false;
        d->c = after;
        return true;
    }

    case K_POPULATE:
    {
        struct cm_plan p;
        uint32_t m = (uint32_t)c->out[0], old;

        if ( !d || dying )
            return failed_as(c, -ESRCH);
        if ( d->c.tot + 1 > d->c.max )
            return failed_as(c, -E2BIG);
        p = cm_plan_for(&d->c, true, c->node, 1);
        if ( !cm_admit(&v, c->node, 1, &p) || !s->node_avail[c->node] )
            return failed_as(c, -ENOMEM);
        if ( lin_via_hostd )
            m = m_first_free(s, c->node);
        else if ( c->out[0] >= NR_FRAMES )
            return false;
        if ( c->rc || m / NODE_FRAMES != c->node ||
             !bit(s->freemap, m) )
            return false;
        if ( !cm_redeem(&d->c, c->node, &p) )
            return false;
        set_bit(s->freemap, m, false);
        s->node_avail[c->node]--;
        s->total_avail--;
        /* The new page is taken before the old one is freed. */
        old = d->p2m[c->arg];
        d->p2m[c->arg] = (uint16_t)m;
        d->c.tot++;
        if ( old != NO_MFN )
        {
            d->c.tot--;
            m_give(s, old);
        }
        return true;
    }

    case K_DEPOPULATE:
        if ( !d || dying )
            return failed_as(c, -ESRCH);
        if ( d->p2m[c->arg] == NO_MFN )
            return failed_as(c, -ENOENT);
        if ( c->rc )
            return false;
        m_give(s, d->p2m[c->arg]);
        d->p2m[c->arg] = NO_MFN;
        d->c.tot--;
        return true;

    case K_MAX:
        if ( !d || dying )
            return c->rc == -ESRCH;
        if ( c->rc )
            return false;
        cm_set_max(&d->c, c->arg);
        return true;

    case K_OFFLINE:
    {
        uint32_t m = (uint32_t)c->arg, st;

        if ( c->rc )
            return false;
        if ( bit(s->offl, m) )
            st = NC_PG_OFFLINE_OFFLINED;
        else if ( bit(s->freemap, m) )
        {
            set_bit(s->freemap, m, false);
            set_bit(s->offl, m, true);
            s->node_avail[m / NODE_FRAMES]--;
            s->total_avail--;
            s->offlined++;
            cm_recall(&v, m / NODE_FRAMES);
            st = NC_PG_OFFLINE_OFFLINED;
        }
        else
        {
            set_bit(s->pending, m, true);
            st = NC_PG_OFFLINE_OWNED | NC_PG_OFFLINE_PENDING |
                 (m_owner(s, m) << NC_PG_OFFLINE_OWNER_SHIFT);
        }
        return c->out[0] == st;
    }

    case K_ONLINE:
    {
        uint32_t m = (uint32_t)c->arg;

        if ( c->rc || c->out[0] != NC_PG_ONLINE_ONLINED )
            return false;
        if ( bit(s->offl, m) )
        {
            set_bit(s->offl, m, false);
            set_bit(s->freemap, m, true);
            s->node_avail[m / NODE_FRAMES]++;
            s->total_avail++;
            s->offlined--;
        }
        set_bit(s->pending, m, false);
        return true;
    }

    case K_CREATE:
        if ( d )
            return c->rc == -EEXIST;
        if ( c->rc )
            return false;
        m_dom_init(s, c->dom, 0);
        return true;

    /* nc_domain_destroy kills the domain (claims released, pages freed,
     * in one critical section) and then reaps it in another: between the
     * two, others see it dying.  So a destroy is two steps in the model,
     * the kill and then its reap.  Only one thread creates and destroys,
     * so the reap always finds the domain its kill left. */
    case K_DESTROY:
        if ( !d )
            return c->rc == -ESRCH;
        if ( c->rc || dying )
            return false;
        for ( uint32_t g = 0; g < GPFNS; g++ )
            if ( d->p2m[g] != NO_MFN )
                m_give(s, d->p2m[g]);
        memset(d->p2m, 0xFF, sizeof(d->p2m));
        cm_release(&d->c);
        d->c.tot = 0;                   /* max_pages and recalled stay */
        d->dying = 1;
        return true;

    case K_REAP:
        if ( dying )
            memset(d, 0, sizeof(*d));
        return true;

    case K_INFO:
        if ( !d )
            return c->rc == -ESRCH;
        return c->rc == 0 && c->out[0] == d->c.tot &&
               c->out[1] == d->c.max && c->out[5] == d->dying &&
               c->out[2] == cm_outstanding(&d->c) &&
               (lin_via_hostd || (c->out[3] == d->c.host_claim &&
                                  c->out[4] == d->c.recalled));

    case K_OVERVIEW:
        return c->rc == 0 && c->out[0] == s->total_avail &&
               c->out[1] == cm_total_outstanding(&v) &&
               (lin_via_hostd || c->out[2] == s->offlined) &&
               c->out[3] == s->node_avail[0] &&
               c->out[4] == s->node_avail[1] &&
               c->out[5] == cm_node_claimed(&v, 0) &&
               c->out[6] == cm_node_claimed(&v, 1);

    case NR_KINDS:
        break;
    }
    return false;
}

/* ========================================================================
 * The checker: depth-first search over linearization orders, memoising
 * (calls done, model state) pairs already explored
 * ======================================================================== */

struct memo_entry {
    uint64_t done, hash;
    struct lstate state;
};

static struct memo_entry *memo;
static uint32_t *memo_slot;             /* index + 1; 0 empty */
static size_t memo_used, memo_cap, memo_slots;
static uint64_t stat_histories, stat_calls, stat_explored, stat_max_memo;
static uint64_t stat_overlaps;          /* pairs of calls that overlapped */

static uint64_t state_hash(const struct lstate *s, uint64_t done)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t h = 0xcbf29ce484222325ULL ^ done;

    for ( size_t i = 0; i < sizeof(*s); i++ )
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static void memo_reset(void)
{
    memo_used = 0;
    if ( memo_slot )
        memset(memo_slot, 0, memo_slots * sizeof(*memo_slot));
}

static void memo_grow(void)
{
    size_t slots = memo_slots ? memo_slots * 2 : 4096;

    memo_cap = slots / 2;
    memo = realloc(memo, memo_cap * sizeof(*memo));
    free(memo_slot);
    memo_slot = calloc(slots, sizeof(*memo_slot));
    assert_non_null(memo);
    assert_non_null(memo_slot);
    memo_slots = slots;
    for ( size_t i = 0; i < memo_used; i++ )
    {
        size_t j = memo[i].hash & (slots - 1);

        while ( memo_slot[j] )
            j = (j + 1) & (slots - 1);
        memo_slot[j] = (uint32_t)i + 1;
    }
}

/* Adds (done, s) and returns true, or false if it was there already. */
static bool memo_add(uint64_t done, const struct lstate *s)
{
    uint64_t h = state_hash(s, done);
    size_t j;

    if ( memo_used >= memo_cap )
        memo_grow();
    for ( j = h & (memo_slots - 1); memo_slot[j];
          j = (j + 1) & (memo_slots - 1) )
    {
        const struct memo_entry *e = &memo[memo_slot[j] - 1];

        if ( e->hash == h && e->done == done &&
             !memcmp(&e->state, s, sizeof(*s)) )
            return false;
    }
    memo[memo_used] = (struct memo_entry){ .done = done, .hash = h,
                                           .state = *s };
    memo_slot[j] = (uint32_t)++memo_used;
    return true;
}

static bool search(const struct lstate *s, uint64_t done)
{
    uint64_t all = nr_calls == 64 ? ~0ULL : (1ULL << nr_calls) - 1;
    uint64_t min_end = UINT64_MAX;

    if ( done == all )
        return true;
    if ( !memo_add(done, s) )
        return false;
    stat_explored++;
    for ( uint32_t i = 0; i < nr_calls; i++ )
        if ( !((done >> i) & 1) && calls[i].end < min_end )
            min_end = calls[i].end;
    /* Any pending call that started before the earliest pending end may
     * go next: nothing pending is known to have ended before it began. */
    for ( uint32_t i = 0; i < nr_calls; i++ )
    {
        struct lstate t;

        if ( ((done >> i) & 1) || calls[i].start > min_end ||
             (calls[i].after >= 0 && !((done >> calls[i].after) & 1)) )
            continue;
        t = *s;
        if ( !m_step(&t, &calls[i]) )
            continue;
        if ( search(&t, done | (1ULL << i)) )
            return true;
    }
    return false;
}

static bool linearizable(void)
{
    struct lstate s;
    bool ok;

    m_init(&s);
    memo_reset();
    if ( !memo_slot )
        memo_grow();
    ok = search(&s, 0);
    if ( memo_used > stat_max_memo )
        stat_max_memo = memo_used;
    return ok;
}

static void print_call(const struct call *c)
{
    fprintf(stderr, "  [%3" PRIu64 ",%3" PRIu64 "] t%u %-12s dom %u",
            c->start, c->end, c->thread, kind_name[c->kind], c->dom);
    if ( c->kind == K_SET )
        for ( uint32_t i = 0; i < c->nr; i++ )
            fprintf(stderr, " {0x%x,%" PRIu64 "}", c->set[i].target,
                    c->set[i].pages);
    fprintf(stderr, " arg %" PRIu64 " node %u -> rc %d out", c->arg, c->node,
            c->rc);
    for ( uint32_t i = 0; i < 7; i++ )
        fprintf(stderr, " %" PRIu64, c->out[i]);
    fprintf(stderr, "\n");
}

static void print_history(const char *why)
{
    fprintf(stderr, "%s: %u calls, [before,after] ticks\n", why, nr_calls);
    for ( uint32_t i = 0; i < nr_calls; i++ )
        print_call(&calls[i]);
}

struct worker {
    uint32_t idx, nr_ops;
    uint64_t rng;
    struct call *out;
    uint16_t mfns[MAX_OPS];             /* frames this thread has seen */
    uint32_t nr_mfns;
};

static uint64_t rnd(struct worker *w, uint64_t n)
{
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return n ? (w->rng * 0x2545F4914F6CDD1DULL) % n : 0;
}

static uint64_t pick_mfn(struct worker *w)
{
    if ( w->nr_mfns && rnd(w, 2) )
        return w->mfns[rnd(w, w->nr_mfns)];
    return rnd(w, NR_FRAMES);
}

static void gen_call(struct worker *w, struct call *c)
{
    unsigned int total = 0, x;

    for ( unsigned int k = 0; k < NR_KINDS; k++ )
        total += kind_weight[k];
    x = (unsigned int)rnd(w, total);
    for ( c->kind = 0; x >= kind_weight[c->kind]; c->kind++ )
        x -= kind_weight[c->kind];
    c->thread = (uint8_t)w->idx;
    c->dom = (uint16_t)(1 + rnd(w, NR_DOMS - 1));
    /* Through hostd, no frame is named: no offlining. */
    if ( lin_via_hostd && (c->kind == K_OFFLINE || c->kind == K_ONLINE) )
        c->kind = K_OVERVIEW;
    /* Domains come and go on thread 0 only: others look at domain 3. */
    if ( w->idx && (c->kind == K_CREATE || c->kind == K_DESTROY) )
    {
        c->kind = K_INFO;
        c->dom = 3;
    }
    switch ( (enum kind)c->kind )
    {
    case K_SET:
    {
        static const uint32_t targets[3] = { NC_CLAIM_HOST, 0, 1 };
        uint32_t mask = 1 + (uint32_t)rnd(w, 7), first = (uint32_t)rnd(w, 3);
        bool zero = rnd(w, 8) == 0;

        c->nr = 0;
        for ( uint32_t i = 0; i < 3; i++ )
        {
            uint32_t t = (first + i) % 3;

            if ( !((mask >> t) & 1) )
                continue;
            c->set[c->nr].target = targets[t];
            c->set[c->nr].pages = zero ? 0 : rnd(w, 110);
            c->set[c->nr].pad = 0;
            c->nr++;
        }
        break;
    }
    case K_LEGACY:
        c->arg = rnd(w, 3) ? rnd(w, 200) : 0;
        break;
    case K_POPULATE:
        c->arg = rnd(w, GPFNS);
        c->node = (uint32_t)rnd(w, NR_NODES);
        break;
    case K_DEPOPULATE:
        c->arg = rnd(w, GPFNS);
        break;
    case K_MAX:
        c->arg = rnd(w, 4) ? 20 + rnd(w, 180) : rnd(w, 8);
        break;
    case K_OFFLINE:
    case K_ONLINE:
        c->arg = pick_mfn(w);
        break;
    case K_CREATE:
    case K_DESTROY:
        c->dom = rnd(w, 4) ? 3 : c->dom;
        break;
    default:
        break;
    }
}

/* Gather the workers' records (buf[t][0..nr[t]-1]) into calls[], each
 * destroy followed by its reap. */
static void lin_collect(struct call (*buf)[MAX_OPS], const uint32_t *nr,
                        uint32_t nr_workers)
{
    nr_calls = 0;
    for ( uint32_t t = 0; t < nr_workers; t++ )
        for ( uint32_t i = 0; i < nr[t]; i++ )
        {
            calls[nr_calls] = buf[t][i];
            calls[nr_calls].after = -1;
            if ( buf[t][i].kind == K_DESTROY )
            {
                calls[nr_calls + 1] = calls[nr_calls];
                calls[nr_calls + 1].kind = K_REAP;
                calls[nr_calls + 1].after = (int)nr_calls;
                nr_calls++;
            }
            nr_calls++;
        }
    stat_histories++;
    stat_calls += nr_calls;
    for ( uint32_t i = 0; i < nr_calls; i++ )
        for ( uint32_t j = i + 1; j < nr_calls; j++ )
            stat_overlaps += calls[i].start < calls[j].end &&
                             calls[j].start < calls[i].end;
}

#endif /* NC_TESTS_LIN_MODEL_H */
