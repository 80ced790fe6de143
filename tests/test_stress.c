/* SPDX-License-Identifier: MIT */
/*
 * The stress suite (spec §9: every entry point is thread-safe).
 *
 * Worker threads (8 by default; NC_STRESS_THREADS changes it) share one host
 * of four 64 MiB nodes.  Each runs a fixed number of operations (NC_STRESS_OPS
 * per worker) drawn from its own seeded generator, so its sequence of choices
 * is the same on every run while the interleaving varies: it creates
 * domains, sets max_pages, installs claim sets (host-wide and node entries of
 * random sizes, and malformed ones that must fail with one exact errno),
 * legacy claims, populates extents of orders 0, 1 and 9 with and without a
 * node, exact or not, as the control domain or as the guest itself,
 * depopulates them whole or piece by piece, changes affinity and destroys.
 * A few of its operations aim at random domids, i.e. at other threads'
 * domains, at dying ones and at ones that do not exist.  One more thread
 * offlines and onlines random frames and allocates hypervisor pages; half
 * of its offlines follow a claim of all the unclaimed memory of a node or
 * of the host, so that they recall claims.  The last thread checks the
 * counter invariants (and now and then every frame) while all that runs.
 *
 * Every return code must be one the API documents for the call, and exactly
 * the expected one where the thread knows the outcome (its own domain, a
 * malformed request); successful populates land on the node and zone asked
 * for and are mapped where asked.  At the end every domain is destroyed and
 * every offlined frame onlined, and the host must be whole again: all
 * invariants at frame level, no claims, every page free.
 *
 * The work is bounded by operation counts, never by time.  Autocheck is off
 * (the checker thread does that job at its own pace).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common.h"

#include "../src/core/private.h"

#define HOST_SPEC       "4x64M"
#define NR_NODES        4u
#define NODE_PAGES      16384ULL

/* ThreadSanitizer runs this 5-15 times slower: fewer operations by default
 * keep it well under 30 s on two cores. */
#if defined(__SANITIZE_THREAD__)
#define NC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NC_TSAN 1
#endif
#endif

#define DEFAULT_THREADS 8u
#ifdef NC_TSAN
#define DEFAULT_OPS     80000ul     /* per worker: ~8 s on two cores */
#else
#define DEFAULT_OPS     300000ul    /* per worker: ~2-3 s on two cores */
#endif
#define MAX_THREADS     64u

#define MAX_DOMS        3u          /* per worker */
#define NR_SLOTS        48u         /* extents of up to 512 pages */
#define SLOT_PAGES      512ULL
#define MAX_MAX_PAGES   16384ULL
#define MAX_CLAIM       4096ULL

/* Other threads populate here, so a worker knows its own slots exactly. */
#define FOREIGN_GPFN    (1ULL << 24)
#define FOREIGN_SLOTS   64u

#define SLOT_EMPTY      (-1)
#define SLOT_PARTIAL    16          /* + order: the first page is gone */

#define ARRAY_SIZE(a)   (sizeof(a) / sizeof((a)[0]))

/* ========================================================================
 * Shared state and failure reporting
 * ======================================================================== */

static struct nc_host *host;
static unsigned int nr_workers;
static unsigned long nr_ops;
static atomic_int failed;
static atomic_int workers_done;
static char failure[512];

enum counter {
    C_POPULATE_OK, C_POPULATE_ENOMEM, C_POPULATE_E2BIG, C_DEPOPULATE,
    C_CLAIM_OK, C_CLAIM_FAILED, C_LEGACY_OK, C_LEGACY_FAILED, C_CREATE,
    C_DESTROY, C_FOREIGN, C_OFFLINED, C_PENDING, C_ONLINED, C_ANON,
    C_RECALLED, C_CHECKS, C_FRAME_CHECKS, NR_COUNTERS
};

static const char *const counter_name[NR_COUNTERS] = {
    "populate ok", "populate ENOMEM", "populate E2BIG", "depopulate",
    "claim set ok", "claim set failed", "legacy claim ok",
    "legacy claim failed", "domains created", "domains destroyed",
    "foreign ops", "frames offlined", "frames pending", "frames onlined",
    "anon allocs", "claim pages recalled", "counter checks", "frame checks",
};

static atomic_ulong counters[NR_COUNTERS];

static void count(enum counter c)
{
    atomic_fetch_add_explicit(&counters[c], 1, memory_order_relaxed);
}

/* One thread's identity, for messages. */
struct ctx {
    const char *role;
    unsigned int idx;
    unsigned long op;
};

/* Record the first failure (the main thread reports it after joining). */
static bool __attribute__((format(printf, 3, 4)))
fail_at(const struct ctx *c, int line, const char *fmt, ...)
{
    va_list ap;
    int n;

    if ( atomic_exchange(&failed, 1) )
        return false;
    n = snprintf(failure, sizeof(failure), "%s %u, op %lu, line %d: ",
                 c->role, c->idx, c->op, line);
    va_start(ap, fmt);
    if ( n > 0 && (size_t)n < sizeof(failure) )
        vsnprintf(failure + n, sizeof(failure) - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

static bool rc_in(int rc, const int *ok, size_t nr)
{
    for ( size_t i = 0; i < nr; i++ )
        if ( rc == ok[i] )
            return true;
    return false;
}

#define EXPECT(c, cond, ...) \
    do { if ( !(cond) ) return fail_at(c, __LINE__, __VA_ARGS__); } while ( 0 )

/* rc must be one of the listed values. */
#define EXPECT_RC(c, what, rc, ...) \
    do { \
        static const int ok_[] = { __VA_ARGS__ }; \
        int rc_ = (rc); \
        if ( !rc_in(rc_, ok_, ARRAY_SIZE(ok_)) ) \
            return fail_at(c, __LINE__, "%s returned %d", what, rc_); \
    } while ( 0 )

/* ========================================================================
 * Random numbers: splitmix64, one state per thread
 * ======================================================================== */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t base_seed(void)
{
    const char *s = getenv("NC_STRESS_SEED");

    return s && *s ? strtoull(s, NULL, 0) : 0x6e756d61636c6169ULL;
}

static unsigned long env_ulong(const char *name, unsigned long dflt,
                               unsigned long lo, unsigned long hi)
{
    const char *s = getenv(name);
    unsigned long v;

    if ( !s || !*s )
        return dflt;
    v = strtoul(s, NULL, 0);
    return v < lo ? lo : v > hi ? hi : v;
}

/* ========================================================================
 * Snapshot checks any thread can make
 * ======================================================================== */

/* A domain's info is read in one critical section: I6 holds in it. */
static bool check_dominfo(const struct ctx *c, const struct nc_domain_info *i)
{
    uint64_t room = i->max_pages > i->tot_pages ? i->max_pages - i->tot_pages
                                                : 0;

    EXPECT(c, i->outstanding <= room,
           "d%u: outstanding %lu > room %lu under max_pages", i->domid,
           (unsigned long)i->outstanding, (unsigned long)room);
    EXPECT(c, i->host_claim <= i->outstanding,
           "d%u: host claim %lu > outstanding %lu", i->domid,
           (unsigned long)i->host_claim, (unsigned long)i->outstanding);
    EXPECT(c, !i->dying || (i->outstanding == 0 && i->tot_pages == 0),
           "dying d%u still has %lu claimed, %lu pages", i->domid,
           (unsigned long)i->outstanding, (unsigned long)i->tot_pages);
    return true;
}

/* The overview is read in one critical section: I4, I5, I7 hold in it. */
static bool check_overview(const struct ctx *c)
{
    struct nc_host_info hi;
    struct nc_node_info ni[NR_NODES];
    uint64_t free = 0;

    EXPECT_RC(c, "nc_host_overview", nc_host_overview(host, &hi, ni,
                                                      NR_NODES), 0);
    for ( uint32_t n = 0; n < NR_NODES; n++ )
    {
        EXPECT(c, ni[n].claimed <= ni[n].free, "node %u: claimed %lu > %lu",
               n, (unsigned long)ni[n].claimed, (unsigned long)ni[n].free);
        free += ni[n].free;
    }
    EXPECT(c, free == hi.total_avail, "sum of node free %lu != %lu",
           (unsigned long)free, (unsigned long)hi.total_avail);
    EXPECT(c, hi.outstanding_claims <= hi.total_avail,
           "outstanding %lu > total_avail %lu",
           (unsigned long)hi.outstanding_claims,
           (unsigned long)hi.total_avail);
    EXPECT(c, hi.total_avail + hi.offlined_pages <= hi.total_pages,
           "free %lu + offlined %lu > total %lu",
           (unsigned long)hi.total_avail, (unsigned long)hi.offlined_pages,
           (unsigned long)hi.total_pages);
    return true;
}

/* ========================================================================
 * Workers
 * ======================================================================== */

struct own_dom {
    nc_domid_t id;
    int8_t slot[NR_SLOTS];       /* SLOT_EMPTY, order, SLOT_PARTIAL + order */
};

struct worker {
    pthread_t thread;
    struct ctx c;
    uint64_t rng;
    uint64_t r[4];               /* this operation's random words */
    struct own_dom dom[MAX_DOMS];
    unsigned int nr_dom;
};

static const uint32_t orders[] = { 0, 1, 9 };

static uint64_t random_max_pages(uint64_t r)
{
    /* Mostly roomy, sometimes tight, now and then zero. */
    switch ( r % 8 )
    {
    case 0:
        return 0;
    case 1:
        return (r >> 8) % 64;
    default:
        return (r >> 8) % (MAX_MAX_PAGES + 1);
    }
}

/* A random claim set: an optional host entry and 0-3 distinct nodes. */
static uint32_t random_claim_set(uint64_t r1, uint64_t r2,
                                 struct nc_claim *set)
{
    uint32_t nr = 0, nodes = (uint32_t)((r1 >> 1) % 4);
    uint32_t first = (uint32_t)((r1 >> 4) % NR_NODES);

    if ( (r1 & 1) || nodes == 0 )
        set[nr++] = (struct nc_claim){ .target = NC_CLAIM_HOST,
                                       .pages = (r1 >> 8) % (MAX_CLAIM + 1) };
    for ( uint32_t i = 0; i < nodes; i++ )
        set[nr++] = (struct nc_claim){
            .target = (first + i) % NR_NODES,
            .pages = (r2 >> (16 * i)) % (MAX_CLAIM + 1) };
    return nr;
}

static bool op_create(struct worker *w)
{
    struct nc_domain_config cfg = { .domid = NC_DOMID_ANY, .max_vcpus = 2 };
    struct own_dom *d = &w->dom[w->nr_dom];

    EXPECT_RC(&w->c, "nc_domain_create",
              nc_domain_create(host, CTL, &cfg, &d->id), 0);
    EXPECT(&w->c, d->id >= 1 && d->id < NC_DOMID_FIRST_RESERVED,
           "created domid %u", d->id);
    memset(d->slot, SLOT_EMPTY, sizeof(d->slot));
    w->nr_dom++;
    count(C_CREATE);
    EXPECT_RC(&w->c, "nc_domain_set_max_pages",
              nc_domain_set_max_pages(host, CTL, d->id,
                                      random_max_pages(w->r[1])), 0);
    return true;
}

static bool op_destroy(struct worker *w, unsigned int i)
{
    nc_domid_t id = w->dom[i].id;
    struct nc_domain_info info;

    EXPECT_RC(&w->c, "getinfo", nc_domain_getinfo(host, id, &info), 0);
    atomic_fetch_add_explicit(&counters[C_RECALLED], info.recalled,
                              memory_order_relaxed);
    if ( w->r[1] & 1 )
        EXPECT_RC(&w->c, "nc_domain_kill", nc_domain_kill(host, CTL, id), 0);
    EXPECT_RC(&w->c, "nc_domain_destroy", nc_domain_destroy(host, CTL, id),
              0);
    w->dom[i] = w->dom[--w->nr_dom];
    count(C_DESTROY);
    return true;
}

/*
 * Claim all that is left unclaimed, host-wide or on one node, so that
 * offlining a free frame has claims to recall.  Others race for the same
 * memory, so it may fail.
 */
static bool op_claim_rest(struct worker *w, struct own_dom *d)
{
    struct nc_host_info hi;
    struct nc_node_info ni[NR_NODES];
    struct nc_domain_info info;
    struct nc_claim e;
    uint32_t n = (uint32_t)(w->r[2] % (NR_NODES + 1)), nr = 1;
    int rc;

    EXPECT_RC(&w->c, "max_mem", nc_domain_set_max_pages(
                  host, CTL, d->id, NR_NODES * NODE_PAGES), 0);
    EXPECT_RC(&w->c, "getinfo", nc_domain_getinfo(host, d->id, &info), 0);
    EXPECT_RC(&w->c, "nc_host_overview",
              nc_host_overview(host, &hi, ni, NR_NODES), 0);
    if ( n == NR_NODES )
        e = (struct nc_claim){
            .target = NC_CLAIM_HOST,
            .pages = hi.total_avail - hi.outstanding_claims +
                     info.outstanding };
    else
        e = (struct nc_claim){ .target = n,
                               .pages = ni[n].free - ni[n].claimed };
    rc = nc_claim_memory(host, CTL, d->id, NC_CLAIM_MEMORY_SET, &e, &nr);
    EXPECT_RC(&w->c, "claim the rest", rc, 0, -ENOMEM, -EINVAL);
    count(rc ? C_CLAIM_FAILED : C_CLAIM_OK);
    return true;
}

static bool op_claim(struct worker *w, struct own_dom *d)
{
    struct nc_claim set[NC_CLAIM_MAX_ENTRIES + 1];
    uint32_t nr = random_claim_set(w->r[1], w->r[2], set);
    int rc;

    if ( w->r[3] % 4 == 0 )
        return op_claim_rest(w, d);
    rc = nc_claim_memory(host, CTL, d->id, NC_CLAIM_MEMORY_SET, set, &nr);

    EXPECT_RC(&w->c, "claim set", rc, 0, -ENOMEM, -EINVAL);
    count(rc ? C_CLAIM_FAILED : C_CLAIM_OK);
    return true;
}

/* Malformed requests whose outcome is known exactly. */
static bool op_claim_malformed(struct worker *w, struct own_dom *d)
{
    struct nc_claim set[NC_CLAIM_MAX_ENTRIES + 1];
    uint32_t nr = 1;
    int expect;

    memset(set, 0, sizeof(set));
    switch ( w->r[1] % 9 )
    {
    case 0:
        nr = 0;
        expect = -EINVAL;
        break;
    case 1:
        nr = NC_CLAIM_MAX_ENTRIES + 1;
        expect = -E2BIG;
        break;
    case 2:
        set[0] = (struct nc_claim){ .target = NC_CLAIM_HOST, .pages = 1,
                                    .pad = 1 };
        expect = -EINVAL;
        break;
    case 3:
        set[0].target = NR_NODES + (uint32_t)(w->r[2] % 60);
        expect = -ENOENT;
        break;
    case 4:
        set[0].target = 0x40000000U;
        expect = -EINVAL;
        break;
    case 5:
        set[0].target = set[1].target = NC_CLAIM_HOST;
        nr = 2;
        expect = -EINVAL;
        break;
    case 6:
        set[0].target = set[1].target = (uint32_t)(w->r[2] % NR_NODES);
        nr = 2;
        expect = -EINVAL;
        break;
    case 7:
        /* GET with no room: the count only. */
        nr = 0;
        EXPECT_RC(&w->c, "claim GET (count)",
                  nc_claim_memory(host, CTL, d->id, NC_CLAIM_MEMORY_GET, set,
                                  &nr), -ERANGE);
        EXPECT(&w->c, nr >= 1 && nr <= 1 + NR_NODES, "GET needs %u", nr);
        nr = NC_CLAIM_MAX_ENTRIES;
        EXPECT_RC(&w->c, "claim GET",
                  nc_claim_memory(host, CTL, d->id, NC_CLAIM_MEMORY_GET, set,
                                  &nr), 0);
        EXPECT(&w->c, nr >= 1 && nr <= 1 + NR_NODES &&
                      set[0].target == NC_CLAIM_HOST,
               "GET gave %u entries, first target %#x", nr, set[0].target);
        for ( uint32_t i = 1; i < nr; i++ )
            EXPECT(&w->c, set[i].target < NR_NODES && set[i].pages > 0 &&
                          (i == 1 || set[i - 1].target < set[i].target),
                   "GET entry %u: node %u, %lu pages", i, set[i].target,
                   (unsigned long)set[i].pages);
        return true;
    default:
        EXPECT_RC(&w->c, "claim_memory mode 7",
                  nc_claim_memory(host, CTL, d->id, 7, set, &nr),
                  -EOPNOTSUPP);
        return true;
    }
    EXPECT(&w->c, nc_claim_memory(host, CTL, d->id, NC_CLAIM_MEMORY_SET, set,
                                  &nr) == expect,
           "malformed claim set %lu did not fail with %d",
           (unsigned long)(w->r[1] % 9), expect);
    return true;
}

static bool op_legacy(struct worker *w, struct own_dom *d)
{
    uint64_t target = w->r[1] % 3 == 0 ? 0 : (w->r[1] >> 8) % 20000 + 1;
    int rc = nc_claim_pages(host, CTL, d->id, target);

    if ( target == 0 )
        EXPECT_RC(&w->c, "claim_pages(0)", rc, 0);
    else
        EXPECT_RC(&w->c, "claim_pages", rc, 0, -EINVAL, -ENOMEM);
    count(rc ? C_LEGACY_FAILED : C_LEGACY_OK);
    return true;
}

static bool op_populate(struct worker *w, struct own_dom *d)
{
    unsigned int s = (unsigned int)(w->r[1] % NR_SLOTS);
    uint32_t order = orders[(w->r[1] >> 8) % ARRAY_SIZE(orders)];
    uint32_t node = (uint32_t)((w->r[1] >> 12) % NR_NODES);
    uint64_t gpfn = s * SLOT_PAGES, mfn = ~0ULL, got;
    struct nc_memflags f = NC_MEMFLAGS_NONE;
    nc_domid_t caller = CTL;
    int rc;

    switch ( (w->r[1] >> 16) % 8 )
    {
    case 0: case 1:
        break;                                   /* no node */
    case 2: case 3:
        f = flags_node(node, 0);
        break;
    case 4: case 5:
        f = flags_node(node, 1);
        break;
    case 6:
        caller = d->id;                          /* the guest itself */
        if ( (w->r[1] >> 20) & 1 )
            f = flags_node(node, 0);             /* ignored for a guest */
        break;
    default:
        f.address_bits = 28;                     /* node 0 only */
        break;
    }

    if ( d->slot[s] >= SLOT_PARTIAL )
        return true;            /* its first page is free to populate */
    rc = nc_populate(host, caller, d->id, gpfn, order, f, &mfn);
    if ( d->slot[s] != SLOT_EMPTY )
    {
        /* Xen's replacement: the old pages are freed and the slot stays
         * mapped over the larger of the two extents. */
        EXPECT_RC(&w->c, "populate over a populated slot", rc,
                  0, -E2BIG, -ENOMEM);
        if ( !rc && (int8_t)order > d->slot[s] )
            d->slot[s] = (int8_t)order;
        return true;
    }
    EXPECT_RC(&w->c, "populate", rc, 0, -ENOMEM, -E2BIG);
    if ( rc )
    {
        count(rc == -ENOMEM ? C_POPULATE_ENOMEM : C_POPULATE_E2BIG);
        EXPECT(&w->c, nc_domain_translate(host, d->id, gpfn, &got) ==
                      -ENOENT, "failed populate mapped gpfn %lu",
               (unsigned long)gpfn);
        return true;
    }
    count(C_POPULATE_OK);
    d->slot[s] = (int8_t)order;
    EXPECT(&w->c, (mfn & ((1ULL << order) - 1)) == 0,
           "order-%u extent at unaligned mfn %#lx", order,
           (unsigned long)mfn);
    EXPECT(&w->c, nc_host_mfn_node(host, mfn) < NR_NODES,
           "mfn %#lx on no node", (unsigned long)mfn);
    if ( f.exact && caller == CTL )
        EXPECT(&w->c, nc_host_mfn_node(host, mfn) == node,
               "exact node %u allocation at mfn %#lx (node %u)", node,
               (unsigned long)mfn, nc_host_mfn_node(host, mfn));
    if ( f.address_bits )
        EXPECT(&w->c, mfn + (1ULL << order) <= (1ULL << (28 - 12)),
               "28-bit allocation at mfn %#lx", (unsigned long)mfn);
    EXPECT_RC(&w->c, "translate", nc_domain_translate(host, d->id, gpfn,
                                                      &got), 0);
    EXPECT(&w->c, got == mfn, "gpfn %lu maps %#lx, not %#lx",
           (unsigned long)gpfn, (unsigned long)got, (unsigned long)mfn);
    return true;
}

/* Guest-side errors with one possible outcome. */
static bool op_guest_errors(struct worker *w, struct own_dom *d)
{
    unsigned int s = (unsigned int)(w->r[1] % NR_SLOTS);
    uint64_t gpfn = s * SLOT_PAGES;
    struct nc_claim e = { .target = NC_CLAIM_HOST, .pages = 1 };
    uint32_t nr = 1, status;

    switch ( (w->r[1] >> 8) % 6 )
    {
    case 0:
        if ( d->slot[s] == SLOT_EMPTY )
            EXPECT_RC(&w->c, "guest exact physical node",
                      nc_populate(host, d->id, d->id, gpfn, 0,
                                  flags_node(0, 1), NULL), -EINVAL);
        break;
    case 1:
        EXPECT_RC(&w->c, "guest order 10",
                  nc_populate(host, d->id, d->id, 1024 * (s + 1), 10,
                              NC_MEMFLAGS_NONE, NULL), -EINVAL);
        break;
    case 2:
        EXPECT_RC(&w->c, "guest claim set",
                  nc_claim_memory(host, d->id, d->id, NC_CLAIM_MEMORY_SET,
                                  &e, &nr), -EPERM);
        EXPECT_RC(&w->c, "guest claim_pages",
                  nc_claim_pages(host, d->id, d->id, 1), -EPERM);
        break;
    case 3:
        EXPECT_RC(&w->c, "guest max_mem",
                  nc_domain_set_max_pages(host, d->id, d->id, 1), -EPERM);
        EXPECT_RC(&w->c, "guest offline",
                  nc_page_offline(host, d->id, 0, false, &status), -EPERM);
        break;
    case 4:
    {
        /* Another domain (or none) as the target. */
        nc_domid_t other = (nc_domid_t)(1 + (w->r[2] % 40));

        if ( other != d->id )
            EXPECT_RC(&w->c, "populate another domain",
                      nc_populate(host, d->id, other, FOREIGN_GPFN, 0,
                                  NC_MEMFLAGS_NONE, NULL), -EPERM, -ESRCH);
        break;
    }
    default:
        EXPECT_RC(&w->c, "unaligned gpfn",
                  nc_populate(host, CTL, d->id, gpfn + 1, 1,
                              NC_MEMFLAGS_NONE, NULL), -EINVAL);
        break;
    }
    return true;
}

static bool op_depopulate(struct worker *w, struct own_dom *d)
{
    unsigned int s = (unsigned int)(w->r[1] % NR_SLOTS);
    uint64_t gpfn = s * SLOT_PAGES;
    int st = d->slot[s];
    uint32_t order;

    if ( st == SLOT_EMPTY )
    {
        EXPECT_RC(&w->c, "depopulate an empty slot",
                  nc_depopulate(host, CTL, d->id, gpfn,
                                orders[(w->r[1] >> 8) % 3]), -ENOENT);
        return true;
    }
    if ( st >= SLOT_PARTIAL )
    {
        /* The first page went already: the whole extent is not mapped;
         * free the rest in its buddy pieces. */
        order = (uint32_t)(st - SLOT_PARTIAL);
        EXPECT_RC(&w->c, "depopulate a partial extent",
                  nc_depopulate(host, CTL, d->id, gpfn, order), -ENOENT);
        for ( uint32_t k = 0; k < order; k++ )
            EXPECT_RC(&w->c, "depopulate a piece",
                      nc_depopulate(host, CTL, d->id, gpfn + (1ULL << k), k),
                      0);
        d->slot[s] = SLOT_EMPTY;
        count(C_DEPOPULATE);
        return true;
    }
    order = (uint32_t)st;
    if ( order > 0 && ((w->r[1] >> 8) & 3) == 0 )
    {
        /* Just the first page (as a balloon driver would). */
        EXPECT_RC(&w->c, "depopulate first page",
                  nc_depopulate(host, (w->r[1] >> 10) & 1 ? d->id : CTL,
                                d->id, gpfn, 0), 0);
        d->slot[s] = (int8_t)(SLOT_PARTIAL + order);
        return true;
    }
    EXPECT_RC(&w->c, "depopulate", nc_depopulate(host, CTL, d->id, gpfn,
                                                 order), 0);
    d->slot[s] = SLOT_EMPTY;
    count(C_DEPOPULATE);
    return true;
}

static bool op_settings(struct worker *w, struct own_dom *d)
{
    struct nc_domain_info info;
    uint64_t mask;

    switch ( (w->r[1] >> 8) % 4 )
    {
    case 0:
        EXPECT_RC(&w->c, "max_mem", nc_domain_set_max_pages(
                      host, CTL, d->id, random_max_pages(w->r[2])), 0);
        break;
    case 1:
        mask = w->r[2] % 16;
        if ( mask )
            EXPECT_RC(&w->c, "node affinity",
                      nc_domain_set_node_affinity(host, CTL, d->id, mask), 0);
        else
            EXPECT_RC(&w->c, "empty node affinity",
                      nc_domain_set_node_affinity(host, CTL, d->id,
                                                  w->r[2] & 1 ? 0 : 0xF0),
                      -EINVAL);
        break;
    case 2:
    {
        uint64_t mfn = w->r[2] % (NR_NODES * NODE_PAGES), pages[NR_NODES];
        uint32_t status = 0;

        EXPECT_RC(&w->c, "query", nc_page_query(host, CTL, mfn, &status), 0);
        EXPECT(&w->c, status == NC_PG_OFFLINE_STATUS_NONE ||
                      status == NC_PG_OFFLINE_STATUS_OFFLINED ||
                      status == NC_PG_OFFLINE_STATUS_OFFLINE_PENDING,
               "query of %#lx: status %#x", (unsigned long)mfn, status);
        EXPECT_RC(&w->c, "node pages",
                  nc_domain_node_pages(host, d->id, pages, NR_NODES), 0);
        break;
    }
    default:
        EXPECT_RC(&w->c, "getinfo", nc_domain_getinfo(host, d->id, &info),
                  0);
        EXPECT(&w->c, info.domid == d->id && !info.dying,
               "getinfo of d%u gave d%u dying %d", d->id, info.domid,
               info.dying);
        if ( !check_dominfo(&w->c, &info) || !check_overview(&w->c) )
            return false;
        break;
    }
    return true;
}

/* Operations on whatever domain a random domid names now. */
static bool op_foreign(struct worker *w)
{
    nc_domid_t id = (nc_domid_t)(1 + w->r[1] % (nr_workers * MAX_DOMS + 8));
    uint64_t gpfn = FOREIGN_GPFN + (w->r[2] % FOREIGN_SLOTS) * SLOT_PAGES;
    struct nc_claim set[NC_CLAIM_MAX_ENTRIES];
    struct nc_domain_info info;
    uint32_t nr;
    int rc;

    count(C_FOREIGN);
    switch ( (w->r[1] >> 16) % 8 )
    {
    case 0:
        EXPECT_RC(&w->c, "foreign max_mem", nc_domain_set_max_pages(
                      host, CTL, id, random_max_pages(w->r[3])), 0, -ESRCH);
        break;
    case 1:
        nr = random_claim_set(w->r[2], w->r[3], set);
        EXPECT_RC(&w->c, "foreign claim set",
                  nc_claim_memory(host, CTL, id, NC_CLAIM_MEMORY_SET, set,
                                  &nr), 0, -ENOMEM, -EINVAL, -ESRCH);
        break;
    case 2:
        EXPECT_RC(&w->c, "foreign claim_pages",
                  nc_claim_pages(host, CTL, id, w->r[3] % 8192),
                  0, -EINVAL, -ENOMEM);
        break;
    case 3:
        EXPECT_RC(&w->c, "foreign populate",
                  nc_populate(host, CTL, id, gpfn, (w->r[3] & 1) ? 9 : 0,
                              NC_MEMFLAGS_NONE, NULL),
                  0, -ENOMEM, -E2BIG, -EEXIST, -ESRCH);
        break;
    case 4:
        EXPECT_RC(&w->c, "foreign depopulate",
                  nc_depopulate(host, CTL, id, gpfn, 0), 0, -ENOENT, -ESRCH);
        break;
    case 5:
        rc = nc_domain_getinfo(host, id, &info);
        EXPECT_RC(&w->c, "foreign getinfo", rc, 0, -ESRCH);
        if ( !rc && !check_dominfo(&w->c, &info) )
            return false;
        break;
    case 6:
        nr = NC_CLAIM_MAX_ENTRIES;
        EXPECT_RC(&w->c, "foreign claim GET",
                  nc_claim_memory(host, CTL, id, NC_CLAIM_MEMORY_GET, set,
                                  &nr), 0, -ESRCH);
        break;
    default:
        EXPECT_RC(&w->c, "foreign affinity",
                  nc_domain_set_node_affinity(host, CTL, id,
                                              1 + w->r[3] % 15), 0, -ESRCH);
        break;
    }
    return true;
}

static bool worker_step(struct worker *w)
{
    unsigned int pick = (unsigned int)(w->r[0] % 100);
    struct own_dom *d;

    if ( pick < 4 || w->nr_dom == 0 )
        return w->nr_dom < MAX_DOMS ? op_create(w) : true;
    if ( pick < 5 )
        return op_destroy(w, (unsigned int)((w->r[0] >> 8) % w->nr_dom));
    if ( pick < 11 )
        return op_foreign(w);

    d = &w->dom[(w->r[0] >> 8) % w->nr_dom];
    if ( pick < 22 )
        return op_claim(w, d);
    if ( pick < 25 )
        return op_claim_malformed(w, d);
    if ( pick < 31 )
        return op_legacy(w, d);
    if ( pick < 63 )
        return op_populate(w, d);
    if ( pick < 66 )
        return op_guest_errors(w, d);
    if ( pick < 88 )
        return op_depopulate(w, d);
    return op_settings(w, d);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    for ( w->c.op = 0; w->c.op < nr_ops && !atomic_load(&failed);
          w->c.op++ )
    {
        /* Four words per step, whatever the step does with them, so the
         * sequence of choices does not depend on the interleaving. */
        for ( unsigned int i = 0; i < ARRAY_SIZE(w->r); i++ )
            w->r[i] = rng_next(&w->rng);
        if ( !worker_step(w) )
            break;
    }
    while ( w->nr_dom && !atomic_load(&failed) )
    {
        w->r[1] = rng_next(&w->rng);
        if ( !op_destroy(w, w->nr_dom - 1) )
            break;
    }
    return NULL;
}

/* ========================================================================
 * The offliner: offline and online random frames, allocate Xen pages
 * ======================================================================== */

#define OFF_MAX     256u
#define ANON_MAX    32u

struct offliner {
    pthread_t thread;
    struct ctx c;
    uint64_t rng;
    uint64_t total_pages;
    uint64_t mfn[OFF_MAX];       /* frames it offlined (or made pending) */
    unsigned int nr_mfn;
    struct { uint64_t mfn; uint32_t order; } anon[ANON_MAX];
    unsigned int nr_anon;
    nc_domid_t dom;              /* claims what is left before offlining */
};

static bool off_online(struct offliner *o, unsigned int i)
{
    uint32_t status = 0;

    EXPECT_RC(&o->c, "online", nc_page_online(host, CTL, o->mfn[i], &status),
              0);
    EXPECT(&o->c, status == NC_PG_ONLINE_ONLINED,
           "online of %#lx: status %#x", (unsigned long)o->mfn[i], status);
    o->mfn[i] = o->mfn[--o->nr_mfn];
    count(C_ONLINED);
    return true;
}

static bool off_free_anon(struct offliner *o, unsigned int i)
{
    EXPECT_RC(&o->c, "free_anon",
              nc_free_anon(host, o->anon[i].mfn, o->anon[i].order), 0);
    o->anon[i] = o->anon[--o->nr_anon];
    return true;
}

/*
 * Make offlining a free frame likely to need a recall: claim, for the
 * offliner's own domain, all that is left unclaimed on the node with the
 * most free frames (I5 tight there) or host-wide (I4 tight), and return
 * that node or NR_NODES.  The workers race for the same memory, so the claim
 * may fail and the tight state may not last; either is fine.
 */
static bool claim_the_rest(struct offliner *o, uint64_t r, uint32_t *np)
{
    struct nc_host_info hi;
    struct nc_node_info ni[NR_NODES];
    struct nc_claim e;
    uint32_t nr = 1;

    /* Workers may have lowered its max_pages (their "foreign" ops). */
    EXPECT_RC(&o->c, "max_mem",
              nc_domain_set_max_pages(host, CTL, o->dom, o->total_pages), 0);
    EXPECT_RC(&o->c, "release", nc_claim_pages(host, CTL, o->dom, 0), 0);
    EXPECT_RC(&o->c, "nc_host_overview",
              nc_host_overview(host, &hi, ni, NR_NODES), 0);
    *np = NR_NODES;
    if ( r & (1ULL << 62) )
    {
        /* The node with the most free frames, to hit one of them. */
        for ( uint32_t n = 0; n < NR_NODES; n++ )
            if ( *np == NR_NODES || ni[n].free > ni[*np].free )
                *np = n;
        e = (struct nc_claim){ .target = *np,
                               .pages = ni[*np].free - ni[*np].claimed };
    }
    else
        e = (struct nc_claim){ .target = NC_CLAIM_HOST,
                               .pages = hi.total_avail -
                                        hi.outstanding_claims };
    if ( e.pages )
        EXPECT_RC(&o->c, "claim the rest",
                  nc_claim_memory(host, CTL, o->dom, NC_CLAIM_MEMORY_SET,
                                  &e, &nr), 0, -ENOMEM, -EINVAL);
    return true;
}

static bool off_step(struct offliner *o, uint64_t r)
{
    uint64_t mfn = (r >> 8) % o->total_pages;
    uint32_t status = 0, owner, node = 0;
    int rc;

    switch ( r % 16 )
    {
    case 0: case 1: case 2: case 3: case 4: case 5:
        if ( o->nr_mfn == OFF_MAX && !off_online(o, 0) )
            return false;
        if ( r & (1ULL << 63) )
        {
            if ( !claim_the_rest(o, r, &node) )
                return false;
            if ( node < NR_NODES )
                mfn = node * NODE_PAGES + (r >> 8) % NODE_PAGES;
        }
        EXPECT_RC(&o->c, "offline",
                  nc_page_offline(host, CTL, mfn, false, &status), 0);
        owner = status >> NC_PG_OFFLINE_OWNER_SHIFT;
        if ( status == NC_PG_OFFLINE_OFFLINED )
            count(C_OFFLINED);
        else if ( (status & 0xffff) ==
                  (NC_PG_OFFLINE_OWNED | NC_PG_OFFLINE_PENDING) )
        {
            EXPECT(&o->c, owner >= 1 && owner < NC_DOMID_FIRST_RESERVED,
                   "offline of %#lx: owner %u", (unsigned long)mfn, owner);
            count(C_PENDING);
        }
        else
        {
            EXPECT(&o->c, status ==
                          (NC_PG_OFFLINE_XENPAGE | NC_PG_OFFLINE_PENDING),
                   "offline of %#lx: status %#x", (unsigned long)mfn,
                   status);
            count(C_PENDING);
        }
        o->mfn[o->nr_mfn++] = mfn;
        break;
    case 6: case 7: case 8: case 9:
        if ( o->nr_mfn )
            return off_online(o, (unsigned int)((r >> 40) % o->nr_mfn));
        break;
    case 10: case 11:
        EXPECT_RC(&o->c, "query", nc_page_query(host, CTL, mfn, &status), 0);
        EXPECT(&o->c, status == NC_PG_OFFLINE_STATUS_NONE ||
                      status == NC_PG_OFFLINE_STATUS_OFFLINED ||
                      status == NC_PG_OFFLINE_STATUS_OFFLINE_PENDING,
               "query of %#lx: status %#x", (unsigned long)mfn, status);
        break;
    case 12: case 13:
        if ( o->nr_anon == ANON_MAX && !off_free_anon(o, 0) )
            return false;
        o->anon[o->nr_anon].order = (uint32_t)((r >> 40) % 3);
        rc = nc_alloc_anon(host, NC_DOMID_XEN, o->anon[o->nr_anon].order,
                           NC_MEMFLAGS_NONE, &o->anon[o->nr_anon].mfn);
        EXPECT_RC(&o->c, "alloc_anon", rc, 0, -ENOMEM);
        if ( !rc )
        {
            o->nr_anon++;
            count(C_ANON);
        }
        break;
    default:
        if ( o->nr_anon )
            return off_free_anon(o, (unsigned int)((r >> 40) % o->nr_anon));
        break;
    }
    return true;
}

static void *offliner_main(void *arg)
{
    struct offliner *o = arg;
    struct nc_domain_config cfg = { .domid = NC_DOMID_ANY, .max_vcpus = 1 };
    struct nc_domain_info info;
    unsigned long steps = nr_ops / 2 + 1;

    if ( nc_domain_create(host, CTL, &cfg, &o->dom) ||
         nc_domain_set_max_pages(host, CTL, o->dom, o->total_pages) )
    {
        fail_at(&o->c, __LINE__, "cannot create the offliner's domain");
        return NULL;
    }
    for ( o->c.op = 0; o->c.op < steps && !atomic_load(&failed); o->c.op++ )
    {
        if ( !off_step(o, rng_next(&o->rng)) )
            return NULL;
        sched_yield();           /* only now and then, against the others */
    }
    while ( o->nr_anon && !atomic_load(&failed) )
        if ( !off_free_anon(o, o->nr_anon - 1) )
            return NULL;
    while ( o->nr_mfn && !atomic_load(&failed) )
        if ( !off_online(o, o->nr_mfn - 1) )
            return NULL;
    if ( nc_domain_getinfo(host, o->dom, &info) ||
         nc_domain_destroy(host, CTL, o->dom) )
    {
        fail_at(&o->c, __LINE__, "cannot destroy the offliner's domain");
        return NULL;
    }
    atomic_fetch_add_explicit(&counters[C_RECALLED], info.recalled,
                              memory_order_relaxed);
    return NULL;
}

/* ========================================================================
 * The checker: the invariants while everything runs
 * ======================================================================== */

static void *checker_main(void *arg)
{
    struct ctx *c = arg;
    char why[256];

    do
    {
        int level = (c->op % 32 == 31) ? NC_CHECK_FRAMES : NC_CHECK_COUNTERS;

        if ( nc_host_check(host, level, why, sizeof(why)) )
        {
            fail_at(c, __LINE__, "nc_host_check(%d): %s", level, why);
            break;
        }
        count(level == NC_CHECK_FRAMES ? C_FRAME_CHECKS : C_CHECKS);
        if ( !check_overview(c) )
            break;
        c->op++;
        sched_yield();
    } while ( !atomic_load(&workers_done) && !atomic_load(&failed) );
    return NULL;
}

/* ========================================================================
 * The test
 * ======================================================================== */

static void test_concurrent_operations_keep_every_invariant(void **state)
{
    struct worker *w;
    struct offliner off = { .c = { .role = "offliner" } };
    struct ctx checker = { .role = "checker" };
    pthread_t checker_thread;
    struct nc_host_info hi;
    uint64_t seed = base_seed();
    unsigned long offlined_left = 0;

    (void)state;
    nr_workers = (unsigned int)env_ulong("NC_STRESS_THREADS", DEFAULT_THREADS,
                                         1, MAX_THREADS);
    nr_ops = env_ulong("NC_STRESS_OPS", DEFAULT_OPS, 1, 100000000ul);
    print_message("%u workers + offliner + checker, %lu ops per worker, "
                  "seed %#lx\n", nr_workers, nr_ops, (unsigned long)seed);

    host = host_new(HOST_SPEC);
    nc_host_set_autocheck(host, 0);
    hi = host_info(host);
    assert_int_equal(hi.total_pages, NR_NODES * NODE_PAGES);

    w = calloc(nr_workers, sizeof(*w));
    assert_non_null(w);
    for ( unsigned int i = 0; i < nr_workers; i++ )
    {
        w[i].c = (struct ctx){ .role = "worker", .idx = i };
        w[i].rng = seed ^ (0x9e3779b97f4a7c15ULL * (i + 1));
        assert_int_equal(pthread_create(&w[i].thread, NULL, worker_main,
                                        &w[i]), 0);
    }
    off.rng = seed ^ 0x0ff11e0ff11e0ULL;
    off.total_pages = hi.total_pages;
    assert_int_equal(pthread_create(&off.thread, NULL, offliner_main, &off),
                     0);
    assert_int_equal(pthread_create(&checker_thread, NULL, checker_main,
                                    &checker), 0);

    for ( unsigned int i = 0; i < nr_workers; i++ )
        assert_int_equal(pthread_join(w[i].thread, NULL), 0);
    assert_int_equal(pthread_join(off.thread, NULL), 0);
    atomic_store(&workers_done, 1);
    assert_int_equal(pthread_join(checker_thread, NULL), 0);
    free(w);

    for ( unsigned int i = 0; i < NR_COUNTERS; i++ )
        print_message("  %-20s %lu\n", counter_name[i],
                      (unsigned long)atomic_load(&counters[i]));
    if ( atomic_load(&failed) )
        fail_msg("%s", failure);

    /* Every domain is gone. */
    assert_int_equal(nc_domain_next(host, 1), NC_DOMID_FIRST_RESERVED);
    assert_int_equal(host_info(host).nr_domains, 0);

    /* Online whatever is still offline: pending frames were offlined when
     * their domains went; none may be left pending or broken. */
    for ( uint64_t mfn = 0; mfn < hi.total_pages; mfn++ )
    {
        uint32_t status = 0;

        assert_int_equal(nc_page_query(host, CTL, mfn, &status), 0);
        if ( status == NC_PG_OFFLINE_STATUS_NONE )
            continue;
        assert_int_equal(status, NC_PG_OFFLINE_STATUS_OFFLINED);
        assert_int_equal(nc_page_online(host, CTL, mfn, &status), 0);
        assert_int_equal(status, NC_PG_ONLINE_ONLINED);
        offlined_left++;
    }
    print_message("  %-20s %lu\n", "onlined at the end", offlined_left);

    assert_invariants(host);
    hi = host_info(host);
    assert_int_equal(hi.outstanding_claims, 0);
    assert_int_equal(hi.offlined_pages, 0);
    assert_int_equal(hi.total_avail, hi.total_pages);
    for ( uint32_t n = 0; n < NR_NODES; n++ )
    {
        assert_int_equal(node_info(host, n).free, NODE_PAGES);
        assert_int_equal(node_info(host, n).claimed, 0);
    }
    nc_host_destroy(host);
    host = NULL;
}

/* ========================================================================
 * The install gate, step by step (locks.c)
 * ======================================================================== */

struct gate_call {
    pthread_t thread;
    struct nc_host *h;
    nc_domid_t dom;
    bool install;       /* else a populate of one page (on node 1) */
    int rc;
    atomic_int done;
};

static void *gate_call_main(void *arg)
{
    struct gate_call *g = arg;

    if ( g->install )
    {
        struct nc_claim set[] = { { .pages = 100, .target = 0 },
                                  { .pages = 200, .target = 1 } };
        uint32_t nr = 2;

        g->rc = nc_claim_memory(g->h, CTL, g->dom, NC_CLAIM_MEMORY_SET,
                                set, &nr);
    }
    else
        g->rc = nc_populate(g->h, CTL, g->dom, 1, 0, NC_MEMFLAGS_NONE, NULL);
    atomic_store(&g->done, 1);
    return NULL;
}

static bool gate_closed(struct nc_host *h)
{
    return atomic_load(&h->host_claims) & HOST_CLAIMS_GATE;
}

/* The hosted environment's lock word (src/env/posix.c): 2 once a thread
 * waits for the lock in the kernel. */
static int lock_state(nc_lock_t *l)
{
    return atomic_load((int _Atomic *)(void *)l->opaque);
}

/*
 * A claim-set install closes the gate, then waits for the thread that holds
 * the lock of a node it changes (here the test itself, holding node 0's as
 * an allocation would).  Meanwhile a populate for a domain whose affinity
 * is node 1, whose lock nobody holds, sees the gate under that lock (the
 * allocation's fast path, as its first page gave its p2m room) and waits
 * for the install too.
 * Neither may return before node 0's lock is given back; then the claims
 * are in and the page was taken on node 1 outside them.  The test looks
 * once the populate sleeps on claims_lock (bounded, so that a populate
 * that wrongly goes on cannot hang it), and gives the lock back before
 * it asserts anything.
 */
static void test_an_install_waits_for_a_node_lock_holder(void **state)
{
    struct nc_host *h = host_new("2x64M");
    struct gate_call inst = { .h = h, .install = true };
    struct gate_call pop = { .h = h };
    struct nc_claim got[3];
    int inst_done, pop_done;
    uint64_t claimed;
    uint32_t nr = 3;
    bool closed;

    (void)state;
    nc_host_set_autocheck(h, 0);
    inst.dom = dom_new(h, 1000);
    pop.dom = dom_new(h, 1000);
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, pop.dom, 1ULL << 1),
                     0);
    /* Its first page gives its p2m room: the next is the fast path's. */
    assert_int_equal(nc_populate(h, CTL, pop.dom, 0, 0, NC_MEMFLAGS_NONE,
                                 NULL), 0);

    node_lock(h, 0);
    assert_int_equal(pthread_create(&inst.thread, NULL, gate_call_main,
                                    &inst), 0);
    /* Until the installer closes the gate, or (wrongly) returns. */
    while ( !gate_closed(h) && !atomic_load(&inst.done) )
        sched_yield();
    assert_int_equal(pthread_create(&pop.thread, NULL, gate_call_main,
                                    &pop), 0);
    for ( long i = 0; i < 1000000 && lock_state(&h->claims_lock) != 2 &&
                      !atomic_load(&pop.done); i++ )
        sched_yield();
    closed = gate_closed(h);
    inst_done = atomic_load(&inst.done);
    pop_done = atomic_load(&pop.done);
    claimed = h->node[0].claimed;
    node_unlock(h, 0);
    assert_true(closed);
    assert_int_equal(inst_done, 0);
    assert_int_equal(pop_done, 0);
    assert_int_equal(claimed, 0);

    assert_int_equal(pthread_join(inst.thread, NULL), 0);
    assert_int_equal(pthread_join(pop.thread, NULL), 0);
    assert_int_equal(inst.rc, 0);
    assert_int_equal(pop.rc, 0);
    assert_false(gate_closed(h));
    assert_int_equal(node_info(h, 0).claimed, 100);
    assert_int_equal(node_info(h, 1).claimed, 200);
    assert_int_equal(node_info(h, 1).free, NODE_PAGES - 2);
    assert_int_equal(nc_claim_memory(h, CTL, inst.dom, NC_CLAIM_MEMORY_GET,
                                     got, &nr), 0);
    assert_int_equal(nr, 3);
    assert_int_equal(got[1].target, 0);
    assert_int_equal(got[1].pages, 100);
    assert_int_equal(got[2].target, 1);
    assert_int_equal(got[2].pages, 200);
    assert_invariants(h);
    nc_host_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_install_waits_for_a_node_lock_holder),
        cmocka_unit_test(test_concurrent_operations_keep_every_invariant),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
