/* SPDX-License-Identifier: MIT */
/*
 * The linearizability suite: do concurrent calls into the core behave as
 * if they happened one at a time, each at some instant between its call
 * and its return?
 *
 * Each history: a fresh host ("1M,1M": 2 nodes x 256 frames) with domains
 * 1 and 2 (max_pages 160; domain 3 absent), then 2 to 4 threads released
 * together, each issuing 8 to 12 random calls through the public API: a
 * claim-set SET, the legacy claim, populate of one page on an exact node,
 * depopulate, max_pages, page offline and online, domain create and
 * destroy (on thread 0 only: a destroy racing another destroy or a create
 * of the same domid is not modelled), and the read-only domain info and
 * host overview.  Every call
 * records its arguments, its results (return value, MFN, status, the
 * counters read) and two ticks of one global atomic counter: one taken
 * before the call, one after.  A call whose after-tick is below another's
 * before-tick ended before the other started, so it must come first.
 *
 * The checker (Wing & Gong's search with Lowe's memoisation, as in
 * porcupine) looks for an order of the calls that respects those
 * precedences and under which a sequential model gives every recorded
 * result.  The model is claims_model.h (the model suite's claim rules)
 * over a state small enough to copy and compare: free pages per node,
 * three bitmaps of the 512 frames (free, offlined, pending offline) and
 * per domain its counters, claims and a 16-gpfn p2m.  Populate's MFN is
 * the model's one free choice: any frame free on the requested node at
 * that point.  A destroy is two steps of the model, as it is two
 * critical sections in the core: the kill (claims released, pages freed;
 * others then see the domain dying) and the reap.  The search memoises (calls done, model state), so a history
 * of up to 48 calls is decided in microseconds to milliseconds.
 *
 * The checker is shown able to fail twice: (1) a broken claim install, a
 * wrapper that releases the domain's claims in one call and installs the
 * new set in a second one (a check-then-act outside the lock: others see
 * the gap, and a refused install has still released the old claims),
 * must be rejected within a bounded number of histories; (2) a correct
 * history with one read result changed to a value no order explains must
 * be rejected.
 *
 * NC_LIN_HISTORIES (default 2000) sets the histories of the main test, for
 * longer runs; NC_LIN_SEED (default fixed) the seed.  Thread interleaving
 * is up to the scheduler, so the seed fixes the calls, not the history.
 */
#define _POSIX_C_SOURCE 200809L   /* nanosleep */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "claims_model.h"
#include "common.h"

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
#define DEFAULT_SEED    0x6c696e6561726dULL
#define DEFAULT_HISTORIES 2000u
#define RACY_HISTORIES  300u            /* the broken install must show by then */

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
            return c->rc == -ESRCH;
        if ( d->c.tot + 1 > d->c.max )
            return c->rc == -E2BIG;
        p = cm_plan_for(&d->c, true, c->node, 1);
        if ( !cm_admit(&v, c->node, 1, &p) || !s->node_avail[c->node] )
            return c->rc == -ENOMEM;
        if ( c->rc || c->out[0] >= NR_FRAMES || m / NODE_FRAMES != c->node ||
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
            return c->rc == -ESRCH;
        if ( d->p2m[c->arg] == NO_MFN )
            return c->rc == -ENOENT;
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
               c->out[3] == d->c.host_claim && c->out[4] == d->c.recalled;

    case K_OVERVIEW:
        return c->rc == 0 && c->out[0] == s->total_avail &&
               c->out[1] == cm_total_outstanding(&v) &&
               c->out[2] == s->offlined &&
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

/* ========================================================================
 * Running a history
 * ======================================================================== */

static struct nc_host *H;
static atomic_uint_fast64_t clock_ticks;
static pthread_barrier_t go;
static bool racy;                       /* the broken claim install */

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

/* The broken install: release, let others run, then install. */
static int racy_claim_set(struct call *c)
{
    struct nc_claim none = { .pages = 0, .target = NC_CLAIM_HOST };
    struct timespec ts = { 0, 50000 };
    uint32_t one = 1, nr = c->nr;
    int rc = nc_claim_memory(H, CTL, c->dom, NC_CLAIM_MEMORY_SET, &none, &one);

    if ( rc )
        return rc;
    nanosleep(&ts, NULL);
    return nc_claim_memory(H, CTL, c->dom, NC_CLAIM_MEMORY_SET, c->set, &nr);
}

static void do_call(struct worker *w, struct call *c)
{
    struct nc_memflags f = { .node = c->node, .exact = true };
    struct nc_domain_config cfg = { .domid = c->dom, .max_vcpus = 1 };
    struct nc_domain_info di;
    struct nc_host_info hi;
    struct nc_node_info ni[NR_NODES];
    struct nc_claim set[3];
    uint32_t st = 0, nr = c->nr;
    uint64_t mfn = UINT64_MAX;
    nc_domid_t got;

    memcpy(set, c->set, sizeof(set));
    c->start = atomic_fetch_add(&clock_ticks, 1);
    switch ( (enum kind)c->kind )
    {
    case K_SET:
        c->rc = racy ? racy_claim_set(c)
                     : nc_claim_memory(H, CTL, c->dom, NC_CLAIM_MEMORY_SET,
                                       set, &nr);
        break;
    case K_LEGACY:
        c->rc = nc_claim_pages(H, CTL, c->dom, c->arg);
        break;
    case K_POPULATE:
        c->rc = nc_populate(H, CTL, c->dom, c->arg, 0, f, &mfn);
        break;
    case K_DEPOPULATE:
        c->rc = nc_depopulate(H, CTL, c->dom, c->arg, 0);
        break;
    case K_MAX:
        c->rc = nc_domain_set_max_pages(H, CTL, c->dom, c->arg);
        break;
    case K_OFFLINE:
        c->rc = nc_page_offline(H, CTL, c->arg, false, &st);
        break;
    case K_ONLINE:
        c->rc = nc_page_online(H, CTL, c->arg, &st);
        break;
    case K_CREATE:
        c->rc = nc_domain_create(H, CTL, &cfg, &got);
        break;
    case K_DESTROY:
        c->rc = nc_domain_destroy(H, CTL, c->dom);
        break;
    case K_INFO:
        c->rc = nc_domain_getinfo(H, c->dom, &di);
        break;
    case K_OVERVIEW:
        c->rc = nc_host_overview(H, &hi, ni, NR_NODES);
        break;
    case K_REAP:
    case NR_KINDS:
        break;
    }
    c->end = atomic_fetch_add(&clock_ticks, 1);

    switch ( (enum kind)c->kind )
    {
    case K_POPULATE:
        c->out[0] = mfn;
        if ( !c->rc && w->nr_mfns < MAX_OPS )
            w->mfns[w->nr_mfns++] = (uint16_t)mfn;
        break;
    case K_OFFLINE:
    case K_ONLINE:
        c->out[0] = st;
        break;
    case K_INFO:
        if ( !c->rc )
        {
            c->out[0] = di.tot_pages;
            c->out[1] = di.max_pages;
            c->out[2] = di.outstanding;
            c->out[3] = di.host_claim;
            c->out[4] = di.recalled;
            c->out[5] = di.dying;
        }
        break;
    case K_OVERVIEW:
        c->out[0] = hi.total_avail;
        c->out[1] = hi.outstanding_claims;
        c->out[2] = hi.offlined_pages;
        c->out[3] = ni[0].free;
        c->out[4] = ni[1].free;
        c->out[5] = ni[0].claimed;
        c->out[6] = ni[1].claimed;
        break;
    default:
        break;
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    pthread_barrier_wait(&go);
    for ( uint32_t i = 0; i < w->nr_ops; i++ )
    {
        gen_call(w, &w->out[i]);
        do_call(w, &w->out[i]);
    }
    return NULL;
}

/* Run history number k of the run seeded with seed into calls[]. */
static void run_history(uint64_t seed, uint64_t k)
{
    uint64_t x = seed ^ (k * 0x9E3779B97F4A7C15ULL);
    struct worker w[MAX_THREADS];
    struct call buf[MAX_THREADS][MAX_OPS];
    pthread_t tid[MAX_THREADS];
    uint32_t nr_threads;
    char why[256];

    H = host_new("1M,1M");
    for ( uint32_t d = 1; d <= 2; d++ )
        assert_int_equal(dom_new(H, INITIAL_MAX), d);
    memset(w, 0, sizeof(w));
    memset(buf, 0, sizeof(buf));
    x = x * 0x2545F4914F6CDD1DULL + 1;
    nr_threads = 2 + (uint32_t)((x >> 33) % (MAX_THREADS - 1));
    atomic_store(&clock_ticks, 0);
    assert_int_equal(pthread_barrier_init(&go, NULL, nr_threads), 0);
    for ( uint32_t t = 0; t < nr_threads; t++ )
    {
        w[t].idx = t;
        w[t].rng = (x + t * 0xBF58476D1CE4E5B9ULL) | 1;
        w[t].nr_ops = 8 + (uint32_t)rnd(&w[t], MAX_OPS - 7);
        w[t].out = buf[t];
        assert_int_equal(pthread_create(&tid[t], NULL, worker_main, &w[t]),
                         0);
    }
    for ( uint32_t t = 0; t < nr_threads; t++ )
        assert_int_equal(pthread_join(tid[t], NULL), 0);
    pthread_barrier_destroy(&go);
    if ( nc_host_check(H, NC_CHECK_FRAMES, why, sizeof(why)) )
        fail_msg("history %" PRIu64 ": invariant broken: %s", k, why);
    nc_host_destroy(H);
    H = NULL;

    nr_calls = 0;
    for ( uint32_t t = 0; t < nr_threads; t++ )
        for ( uint32_t i = 0; i < w[t].nr_ops; i++ )
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

/* ========================================================================
 * Tests
 * ======================================================================== */

/* The core: every history has a linearization. */
static void test_core_linearizable(void **state)
{
    uint64_t seed = env_u64("NC_LIN_SEED", DEFAULT_SEED);
    uint64_t n = env_u64("NC_LIN_HISTORIES", DEFAULT_HISTORIES);
    unsigned long rc_ok = 0, rc_err = 0;

    (void)state;
    racy = false;
    for ( uint64_t k = 0; k < n; k++ )
    {
        run_history(seed, k);
        for ( uint32_t i = 0; i < nr_calls; i++ )
            if ( calls[i].kind != K_REAP )
                calls[i].rc ? rc_err++ : rc_ok++;
        if ( !linearizable() )
        {
            print_history("not linearizable");
            fail_msg("history %" PRIu64 " (seed 0x%" PRIx64 ") has no "
                     "sequential explanation", k, seed);
        }
    }
    printf("linearizable: %" PRIu64 " histories, %" PRIu64 " calls (%lu ok, "
           "%lu errors), %" PRIu64 " search states, at most %" PRIu64 " in one history, %" PRIu64 " pairs of "
           "overlapping calls\n", stat_histories, stat_calls, rc_ok, rc_err,
           stat_explored, stat_max_memo, stat_overlaps);
}

/* A claim install split into release + install must be caught. */
static void test_catches_racy_install(void **state)
{
    uint64_t k;

    (void)state;
    racy = true;
    for ( k = 0; k < RACY_HISTORIES; k++ )
    {
        run_history(DEFAULT_SEED + 1, k);
        if ( !linearizable() )
            break;
    }
    racy = false;
    printf("racy install: caught in history %" PRIu64 "\n", k);
    assert_true(k < RACY_HISTORIES);
}

/* One read result that no order explains must be caught; the history it
 * is taken from is first shown to pass. */
static void test_catches_injected_result(void **state)
{
    uint32_t injected = 0;

    (void)state;
    racy = false;
    for ( uint64_t k = 0; injected < 20 && k < 200; k++ )
    {
        run_history(DEFAULT_SEED + 2, k);
        assert_true(linearizable());
        for ( uint32_t i = 0; i < nr_calls; i++ )
        {
            struct call *c = &calls[i];

            if ( c->kind == K_OVERVIEW )
                c->out[0] = NR_FRAMES + 1;      /* more free than exist */
            else if ( c->kind == K_INFO && !c->rc )
                c->out[1] += 1000;              /* a max never set */
            else if ( c->kind == K_DEPOPULATE && c->rc == -ENOENT )
                c->rc = -EPERM;                 /* an errno never given */
            else
                continue;
            assert_false(linearizable());
            injected++;
            break;
        }
    }
    assert_int_equal(injected, 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_linearizable),
        cmocka_unit_test(test_catches_racy_install),
        cmocka_unit_test(test_catches_injected_result),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    free(memo);
    free(memo_slot);
    return rc;
}
