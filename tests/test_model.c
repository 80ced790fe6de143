/* SPDX-License-Identifier: MIT */
/*
 * The model suite: a seeded, reproducible, model-based randomized test.
 *
 * It runs NC_MODEL_OPS (default 1,000,000) random operations against one
 * small host ("8M,8M,4M,8M,4M" with a distance matrix; node 4 is
 * configured offline) with up to 8 guest domains, and keeps beside it a
 * small, independent reference model written from the spec alone: per
 * domain tot_pages, max_pages, host_claim, claims[n], recalled, dying,
 * node_affinity, last allocation node, pages per node and its p2m (gpfn ->
 * MFN); per host total_avail, node_avail[n], the offlined count, the state
 * of every frame (free, owned by a domain, owned by the hypervisor, pending,
 * offlined, broken) and the anonymous allocations.  node_claimed[n] and
 * outstanding_claims are the model's sums over its domains (I1, I2).
 *
 * Operations (weighted): domain create (any or a given domid, and invalid
 * ones), kill, destroy, max_pages (raising and lowering, which deducts
 * host-wide claims first, then node claims by descending id), node
 * affinity, the legacy claim (§3: 0, existing claim, bounds, ENOMEM),
 * claim-set SET of every kind (§4: host-only, node-only, mixed, all-zero
 * release, max-out, and invalid sets: pad, selector, missing or offline
 * node, duplicate, shortfall, over max_pages, nr 0 and nr > 65, other
 * modes) and GET with every capacity, populate (orders 0..12 and 18, with
 * no node, a node, an exact node, address_bits, vnode flags, guest
 * callers; over a mapped range it replaces the old pages, which are freed
 * after the new extent was taken), depopulate, increase_reservation
 * (owned-unmapped pages) and their release by MFN, uncharged
 * nc_alloc_anon / nc_free_anon, page
 * offline (free, owned, already offlined frames; broken sometimes), online
 * and query.
 *
 * For each operation the model predicts the exact return value and
 * effects.  For allocations it walks the nodes in the order of §5 (a
 * requested node; else, charged, the largest remaining node claim; else
 * the next affinity node after the last allocation node; then the other
 * affinity nodes by distance from the first, then the rest), computes the
 * redemption plan (a, b, c) and admission on each node, and knows from its
 * frame map whether the node has a free naturally aligned block of the
 * order in the allowed zones: so it predicts the landing node exactly, for
 * every order, and E2BIG / ENOMEM exactly.  The extent returned must have
 * been free in the model, aligned, on that node and under the address
 * limit.  Offlining a free frame recalls claims per §7 (node claims on its
 * node, then host-wide claims, ascending domid).
 *
 * Where the spec leaves a choice open, the model follows core.h and the
 * implementation: populate checks arguments, then ESRCH, EPERM, dying,
 * the flags (an exact request for a missing or offline node is
 * ENOMEM there), and only then E2BIG and the node walk; an uncharged
 * allocation on behalf of a domain starts at its striping node (the
 * largest-claim rule is for charged allocations) and updates its last
 * allocation node, and with no domain starts at the lowest online node;
 * nc_free_anon takes back exactly one allocation; an offline node reports
 * its configured size.
 *
 * After every operation the model is compared with nc_host_overview, every
 * domain's nc_domain_getinfo, claim-set GET and per-node pages, and
 * nc_host_check(NC_CHECK_COUNTERS) is run; every 10,000 operations
 * (SWEEP_EVERY) and at the end NC_CHECK_FRAMES runs, every frame's
 * nc_page_query status and every gpfn's nc_domain_translate are compared
 * with the model, and the model checks itself.
 *
 * Replay: a failure prints the seed, the operation index and the operation.
 * Run the suite with NC_MODEL_SEED=<seed> (and NC_MODEL_OPS=<index + 1> to
 * stop there); NC_MODEL_TRACE=<index> prints every operation from that
 * index on.  The same seed always gives the same sequence.
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "claims_model.h"
#include "common.h"

/* ========================================================================
 * The host and the limits of the run
 * ======================================================================== */

#define NN              5               /* nodes; node 4 is offline */
#define ONLINE_MASK     0xFULL
#define ONLINE_PAGES    7168ULL         /* frames of the online nodes */
#define NR_FRAMES       8192ULL         /* all configured frames */
#define MAP_WORDS       (NR_FRAMES / 64)
#define NR_SLOTS        11              /* domids 0..10; 10 is never made */
#define MAX_LIVE        8               /* guest domains at once */
#define GPFNS           8192ULL         /* guest frames a domain may use */
#define MAX_ANON        64
#define NO_MFN          UINT64_MAX
#define NO_NODE         NC_NUMA_NO_NODE
#define ZONE_ANY        (NC_NR_ZONES - 1)
#define DEFAULT_SEED    0x6e756d61636c6169ULL   /* "numaclai" */
#define DEFAULT_OPS     1000000ULL
#define SWEEP_EVERY     10000ULL
#define MAX_BROKEN      6               /* broken frames never come back */

#define HOST_SPEC "8M,8M,4M,8M,4M;dist=" \
    "10,20,30,20,40,"                       \
    "20,10,20,30,40,"                       \
    "30,20,10,20,40,"                       \
    "20,30,20,10,40,"                       \
    "40,40,40,40,10"

static const uint8_t dist[NN][NN] = {
    { 10, 20, 30, 20, 40 },
    { 20, 10, 20, 30, 40 },
    { 30, 20, 10, 20, 40 },
    { 20, 30, 20, 10, 40 },
    { 40, 40, 40, 40, 10 },
};
static const uint64_t node_start[NN] = { 0, 2048, 4096, 5120, 7168 };
static const uint64_t node_frames[NN] = { 2048, 2048, 1024, 2048, 1024 };

typedef unsigned __int128 u128;

#define MIN(a, b)   ((a) < (b) ? (a) : (b))

/* ========================================================================
 * PRNG (splitmix64 seeding xorshift64*), failure reporting
 * ======================================================================== */

static uint64_t rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rnd64(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

/* Uniform enough in [0, n); 0 for n == 0. */
static uint64_t rnd(uint64_t n)
{
    return n ? rnd64() % n : 0;
}

static bool chance(unsigned int pct)
{
    return rnd(100) < pct;
}

static struct nc_host *H;
static uint64_t g_seed, g_opi, g_nops, g_trace = UINT64_MAX;
static char g_op[1024];

static const char *ename(int rc)
{
    switch ( -rc )
    {
    case 0:          return "0";
    case EPERM:      return "EPERM";
    case ENOENT:     return "ENOENT";
    case ESRCH:      return "ESRCH";
    case E2BIG:      return "E2BIG";
    case ENOMEM:     return "ENOMEM";
    case EFAULT:     return "EFAULT";
    case EEXIST:     return "EEXIST";
    case EINVAL:     return "EINVAL";
    case ERANGE:     return "ERANGE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EPROTO:     return "EPROTO";
    default:         return "?";
    }
}

static void model_fail(int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "\nmodel divergence (test_model.c:%d)\n", line);
    fprintf(stderr, "  seed 0x%016" PRIx64 ", op index %" PRIu64 "\n",
            g_seed, g_opi);
    fprintf(stderr, "  op: %s\n  ", g_op);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  replay: NC_MODEL_SEED=0x%016" PRIx64
            " NC_MODEL_OPS=%" PRIu64 " NC_MODEL_TRACE=%" PRIu64
            " <builddir>/tests/test_model\n", g_seed, g_opi + 1,
            g_opi > 20 ? g_opi - 20 : 0);
    fail_msg("model divergence at op %" PRIu64 " (seed 0x%016" PRIx64 ")",
             g_opi, g_seed);
}

#define FAIL(...) model_fail(__LINE__, __VA_ARGS__)

#define EXPECT_RC(got, want)                                                \
    do {                                                                    \
        int g_ = (got), w_ = (want);                                        \
                                                                            \
        if ( g_ != w_ )                                                     \
            FAIL("rc %s (%d), model says %s (%d)", ename(g_), g_,           \
                 ename(w_), w_);                                            \
    } while ( 0 )

#define EXPECT_EQ(what, got, want)                                          \
    do {                                                                    \
        uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);               \
                                                                            \
        if ( g_ != w_ )                                                     \
            FAIL("%s: got %" PRIu64 " (0x%" PRIx64 "), model %" PRIu64      \
                 " (0x%" PRIx64 ")", what, g_, g_, w_, w_);                 \
    } while ( 0 )

/* Checks of the model against itself: a failure is a bug in this file. */
#define MODEL_ASSERT(c)                                                     \
    do {                                                                    \
        if ( !(c) )                                                         \
            FAIL("model self-check failed: %s", #c);                        \
    } while ( 0 )

static void op_describe(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(g_op, sizeof(g_op), fmt, ap);
    va_end(ap);
    if ( g_opi >= g_trace )
        fprintf(stderr, "[%" PRIu64 "] %s\n", g_opi, g_op);
}

/* Append to the op description (claim-set entries). */
static void op_append(const char *fmt, ...)
{
    size_t used = strlen(g_op);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(g_op + used, sizeof(g_op) - used, fmt, ap);
    va_end(ap);
}

/* ========================================================================
 * Statistics: what the run actually exercised
 * ======================================================================== */

enum {
    OP_CREATE, OP_KILL, OP_DESTROY, OP_MAX, OP_AFFINITY, OP_LEGACY,
    OP_SET, OP_GET, OP_POPULATE, OP_DEPOPULATE, OP_ANON, OP_ANON_FREE,
    OP_OFFLINE, OP_ONLINE, OP_QUERY, OP_INCREASE, OP_FREE_UNMAPPED, NR_OPS
};

static const char *const op_name[NR_OPS] = {
    "create", "kill", "destroy", "max_pages", "affinity", "claim_pages",
    "claim SET", "claim GET", "populate", "depopulate", "alloc_anon",
    "free_anon", "offline", "online", "query", "increase_reservation",
    "free_unmapped",
};

static const int stat_errno[] = {
    0, EPERM, ENOENT, ESRCH, E2BIG, ENOMEM, EEXIST, EINVAL, ERANGE,
    EOPNOTSUPP,
};
#define NR_STAT_RC NC_ARRAY_SIZE_(stat_errno)
#define NC_ARRAY_SIZE_(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t stat_rc[NR_OPS][NR_STAT_RC];
static struct {
    uint64_t recall_node, recall_host, deduct_max, redeem_c, not_first;
    uint64_t pending_freed, land_order[NC_MAX_ORDER + 1];
    uint64_t live_sum, free_sum, claimed_sum, bad_sum;
} stat;

static void count_rc(int op, int rc)
{
    for ( unsigned int i = 0; i < NR_STAT_RC; i++ )
        if ( -rc == stat_errno[i] )
            stat_rc[op][i]++;
}

/* ========================================================================
 * The reference model
 * ======================================================================== */

#define OWN_FREE    (-1)        /* free, or offlined */
#define OWN_XEN     (-2)        /* an anonymous (uncharged) allocation */

#define B_PENDING   1u
#define B_OFFLINED  2u
#define B_BROKEN    4u

struct mdom {
    bool exists, dying;
    uint32_t max_vcpus;
    struct cm_dom c;                     /* counters and claims */
    uint64_t affinity;
    uint32_t last_alloc;
    uint32_t extents;                    /* maximal runs of the p2m */
    uint64_t unmapped;                   /* owned pages no gpfn maps */
    uint64_t node_pages[NN];
    uint64_t p2m[GPFNS];                 /* NO_MFN: not populated */
};

struct manon {
    uint64_t mfn;
    uint32_t order;
};

static struct {
    uint64_t node_avail[NN], total_avail, offlined, broken;
    uint64_t freemap[MAP_WORDS];         /* bit set: frame is free */
    int16_t owner[NR_FRAMES];            /* OWN_* or a domid */
    bool unmapped[NR_FRAMES];            /* owned, in no p2m */
    uint8_t bad[NR_FRAMES];              /* B_* */
    uint32_t badlist[NR_FRAMES], badpos[NR_FRAMES], nr_bad;
    struct manon anon[MAX_ANON];
    uint32_t nr_anon;
    struct mdom dom[NR_SLOTS];
    uint8_t by_dist[NN][NN];             /* node walk order from each node */
} M;

static bool node_online(uint32_t n)
{
    return n < NN && (ONLINE_MASK >> n) & 1;
}

static uint32_t node_of(uint64_t mfn)
{
    for ( uint32_t n = 0; n < NN; n++ )
        if ( mfn >= node_start[n] && mfn < node_start[n] + node_frames[n] )
            return n;
    return NO_NODE;
}

static uint32_t zone_of_mfn(uint64_t mfn)
{
    uint32_t z = 1;

    while ( z < 64 && (mfn >> z) )
        z++;
    return z;
}

static bool is_free(uint64_t mfn)
{
    return (M.freemap[mfn / 64] >> (mfn % 64)) & 1;
}

static struct mdom *mdom(uint32_t domid)
{
    return domid < NR_SLOTS && M.dom[domid].exists ? &M.dom[domid] : NULL;
}

static uint64_t m_outstanding(const struct mdom *d)
{
    return cm_outstanding(&d->c);
}

/* The claim rules' view of the model (claims_model.h). */
static struct cm_view m_view(void)
{
    struct cm_view v = { .nr_nodes = NN, .online = ONLINE_MASK,
                         .node_avail = M.node_avail,
                         .total_avail = &M.total_avail, .nr_dom = NR_SLOTS };

    for ( uint32_t id = 0; id < NR_SLOTS; id++ )
        v.dom[id] = M.dom[id].exists ? &M.dom[id].c : NULL;
    return v;
}

static uint64_t m_node_claimed(uint32_t n)
{
    struct cm_view v = m_view();

    return cm_node_claimed(&v, n);
}

static uint64_t m_total_outstanding(void)
{
    struct cm_view v = m_view();

    return cm_total_outstanding(&v);
}

static uint64_t m_room(const struct mdom *d)
{
    return cm_room(&d->c);
}

static void m_release_claims(struct mdom *d)
{
    cm_release(&d->c);
}

static void bad_add(uint64_t mfn, uint8_t flags)
{
    M.bad[mfn] = flags;
    M.badpos[mfn] = M.nr_bad;
    M.badlist[M.nr_bad++] = (uint32_t)mfn;
}

static void bad_remove(uint64_t mfn)
{
    uint32_t i = M.badpos[mfn], last = M.badlist[--M.nr_bad];

    M.badlist[i] = last;
    M.badpos[last] = i;
    M.bad[mfn] = 0;
}

/* Frames leave the free pool. */
static void m_take(uint64_t mfn, uint64_t r, int16_t owner)
{
    for ( uint64_t m = mfn; m < mfn + r; m++ )
    {
        uint32_t n = node_of(m);

        MODEL_ASSERT(is_free(m) && M.owner[m] == OWN_FREE);
        M.freemap[m / 64] &= ~(1ULL << (m % 64));
        M.owner[m] = owner;
        M.node_avail[n]--;
        M.total_avail--;
    }
}

/* Owned frames are freed: a frame pending offline is offlined instead. */
static void m_give(uint64_t mfn, uint64_t r)
{
    for ( uint64_t m = mfn; m < mfn + r; m++ )
    {
        MODEL_ASSERT(M.owner[m] != OWN_FREE && !is_free(m));
        M.owner[m] = OWN_FREE;
        if ( M.bad[m] & B_PENDING )
        {
            M.bad[m] = (uint8_t)((M.bad[m] & ~B_PENDING) | B_OFFLINED);
            M.offlined++;
            stat.pending_freed++;
        }
        else
        {
            M.freemap[m / 64] |= 1ULL << (m % 64);
            M.node_avail[node_of(m)]++;
            M.total_avail++;
        }
    }
}

/* p2m extents are maximal runs contiguous in gpfn and MFN. */
static bool p2m_run_starts(const struct mdom *d, uint64_t g)
{
    return d->p2m[g] != NO_MFN &&
           !(g > 0 && d->p2m[g - 1] != NO_MFN &&
             d->p2m[g - 1] + 1 == d->p2m[g]);
}

static uint32_t p2m_starts(const struct mdom *d, uint64_t g, uint64_t r)
{
    uint32_t s = 0;

    for ( uint64_t i = g; i <= g + r && i < GPFNS; i++ )
        s += p2m_run_starts(d, i);
    return s;
}

static bool m_range_unmapped(const struct mdom *d, uint64_t g, uint64_t r)
{
    for ( uint64_t i = g; i < g + r && i < GPFNS; i++ )
        if ( d->p2m[i] != NO_MFN )
            return false;
    return true;
}

static bool m_range_mapped(const struct mdom *d, uint64_t g, uint64_t r)
{
    if ( g + r > GPFNS )
        return false;
    for ( uint64_t i = g; i < g + r; i++ )
        if ( d->p2m[i] == NO_MFN )
            return false;
    return true;
}

static void m_map(uint32_t domid, uint64_t g, uint64_t mfn, uint64_t r)
{
    struct mdom *d = &M.dom[domid];
    uint32_t before;

    MODEL_ASSERT(g + r <= GPFNS);
    before = p2m_starts(d, g, r);
    m_take(mfn, r, (int16_t)domid);
    for ( uint64_t i = 0; i < r; i++ )
        d->p2m[g + i] = mfn + i;
    d->extents = d->extents + p2m_starts(d, g, r) - before;
    d->c.tot += r;
    d->node_pages[node_of(mfn)] += r;
}

static void m_unmap(struct mdom *d, uint64_t g, uint64_t r)
{
    uint32_t before = p2m_starts(d, g, r);

    for ( uint64_t i = g; i < g + r; i++ )
    {
        uint64_t mfn = d->p2m[i];

        MODEL_ASSERT(mfn != NO_MFN);
        d->node_pages[node_of(mfn)]--;
        m_give(mfn, 1);
        d->p2m[i] = NO_MFN;
    }
    d->extents = d->extents + p2m_starts(d, g, r) - before;
    d->c.tot -= r;
}

static void m_dom_init(uint32_t domid, uint32_t vcpus)
{
    struct mdom *d = &M.dom[domid];

    memset(d, 0, sizeof(*d));
    d->exists = true;
    d->max_vcpus = vcpus;
    d->affinity = ONLINE_MASK;
    for ( uint64_t g = 0; g < GPFNS; g++ )
        d->p2m[g] = NO_MFN;
}

static void m_init(void)
{
    memset(&M, 0, sizeof(M));
    for ( uint64_t m = 0; m < NR_FRAMES; m++ )
        M.owner[m] = OWN_FREE;
    for ( uint32_t n = 0; n < NN; n++ )
    {
        if ( !node_online(n) )
            continue;
        for ( uint64_t m = node_start[n];
              m < node_start[n] + node_frames[n]; m++ )
            M.freemap[m / 64] |= 1ULL << (m % 64);
        M.node_avail[n] = node_frames[n];
        M.total_avail += node_frames[n];
    }
    /* The fallback order from each node: by distance, ties lower id. */
    for ( uint32_t f = 0; f < NN; f++ )
    {
        bool used[NN] = { false };

        for ( uint32_t i = 0; i < NN; i++ )
        {
            uint32_t best = NO_NODE, bd = 0;

            for ( uint32_t n = 0; n < NN; n++ )
            {
                uint32_t dn = n == f ? 0 : dist[f][n];

                if ( !used[n] && (best == NO_NODE || dn < bd) )
                {
                    best = n;
                    bd = dn;
                }
            }
            used[best] = true;
            M.by_dist[f][i] = (uint8_t)best;
        }
    }
    /* Exists from start-up with max_pages 0 and a vCPU per pCPU (the
     * spec names no CPUs: the default on each of the NN nodes). */
    m_dom_init(NC_DOMID_CONTROL, NN * NC_DEFAULT_NODE_CPUS);
}

/* ------------------------------------------------------------------------
 * Free blocks: does node n hold a free, naturally aligned 2^order block
 * in zones <= zone_hi (one that the buddy allocator can hand out)?
 * ------------------------------------------------------------------------ */

static const uint64_t aligned_bits[6] = {
    ~0ULL, 0x5555555555555555ULL, 0x1111111111111111ULL,
    0x0101010101010101ULL, 0x0001000100010001ULL, 0x0000000100000001ULL,
};

static bool m_block_free(uint64_t m, uint64_t r)
{
    uint64_t mask;

    if ( r >= 64 )
    {
        for ( uint64_t w = m / 64; w < (m + r) / 64; w++ )
            if ( M.freemap[w] != ~0ULL )
                return false;
        return true;
    }
    mask = ((1ULL << r) - 1) << (m % 64);
    return (M.freemap[m / 64] & mask) == mask;
}

static bool m_has_block(uint32_t n, uint32_t order, uint32_t zone_hi)
{
    uint64_t r = 1ULL << order, s = node_start[n];
    uint64_t e = s + node_frames[n];

    /* A block lies in one zone (zone z: MFNs [2^(z-1), 2^z), MFN 0 in
     * zone 1), so it is allowed iff it ends at or below 2^zone_hi. */
    if ( zone_hi < 63 && (1ULL << zone_hi) < e )
        e = 1ULL << zone_hi;
    if ( M.node_avail[n] < r || e <= s || e - s < r )
        return false;
    if ( order == 0 && e == s + node_frames[n] )
        return true;

    if ( r < 64 )
    {
        /* Node ranges start at multiples of 64 frames. */
        for ( uint64_t w = s / 64; w * 64 < e; w++ )
        {
            uint64_t x = M.freemap[w], base = w * 64;

            for ( uint64_t k = 1; k < r; k <<= 1 )
                x &= x >> k;        /* bit j: frames j..j+r-1 all free */
            x &= aligned_bits[order];
            if ( base + 64 > e )
            {
                uint64_t last;

                if ( e < base + r )
                    x = 0;
                else
                {
                    last = e - r - base;        /* last allowed start */
                    x &= last >= 63 ? ~0ULL : (2ULL << last) - 1;
                }
            }
            if ( base == 0 && order >= 2 )
                x &= ~1ULL;         /* [0, 2^order) would cross zones */
            if ( x )
                return true;
        }
        return false;
    }
    for ( uint64_t m = (s + r - 1) & ~(r - 1); m + r <= e; m += r )
        if ( m != 0 && m_block_free(m, r) )
            return true;
    return false;
}

/* ------------------------------------------------------------------------
 * Allocation (§5): node walk, redemption plan, admission
 * ------------------------------------------------------------------------ */

struct pred {
    int rc;
    uint32_t node;                 /* landing node when rc == 0 */
    struct cm_plan plan;           /* on the node last planned */
    uint32_t walk[NN], nr_walk, first_admissible;
};

static uint32_t m_largest_claim_node(const struct mdom *d)
{
    uint32_t best = NO_NODE;

    for ( uint32_t n = 0; n < NN; n++ )
        if ( d->c.claims[n] &&
             (best == NO_NODE || d->c.claims[n] > d->c.claims[best]) )
            best = n;
    return best;
}

static uint32_t m_next_in(uint32_t last, uint64_t mask)
{
    for ( uint32_t i = 1; i <= 64; i++ )
    {
        uint32_t n = (last + i) % 64;

        if ( (mask >> n) & 1 )
            return n;
    }
    return NO_NODE;
}

static void m_walk(const struct mdom *d, bool charged, uint32_t req,
                   bool exact, struct pred *p)
{
    uint64_t aff = (d ? d->affinity : ~0ULL) & ONLINE_MASK;
    uint32_t first;

    if ( !aff )
        aff = ONLINE_MASK;
    if ( req != NO_NODE )
        first = req;
    else if ( charged && m_largest_claim_node(d) != NO_NODE )
        first = m_largest_claim_node(d);
    else if ( d )
        first = m_next_in(d->last_alloc, aff);
    else
        first = m_next_in(63, aff);     /* the lowest affinity node */

    p->nr_walk = 0;
    p->walk[p->nr_walk++] = first;
    if ( exact )
        return;
    for ( int outside = 0; outside < 2; outside++ )
        for ( uint32_t i = 0; i < NN; i++ )
        {
            uint32_t n = M.by_dist[first][i];

            if ( n != first && ((aff >> n) & 1) == (uint64_t)!outside )
                p->walk[p->nr_walk++] = n;
        }
}

static void m_plan(const struct mdom *d, bool charged, uint32_t n,
                   uint64_t r, struct pred *p)
{
    static const struct cm_plan none = { 0, 0, 0 };

    /* An uncharged allocation may have no domain at all. */
    p->plan = charged ? cm_plan_for(&d->c, true, n, r) : none;
}

static bool m_admit(uint32_t n, uint64_t r, const struct pred *p)
{
    struct cm_view v = m_view();

    return cm_admit(&v, n, r, &p->plan);
}

static void m_predict_alloc(const struct mdom *d, bool charged,
                            uint32_t order, uint32_t req, bool exact,
                            uint32_t zone_hi, struct pred *p)
{
    uint64_t r = 1ULL << order;

    p->first_admissible = NO_NODE;
    if ( charged && (u128)d->c.tot + r > d->c.max )
    {
        p->rc = -E2BIG;
        return;
    }
    m_walk(d, charged, req, exact, p);
    for ( uint32_t i = 0; i < p->nr_walk; i++ )
    {
        uint32_t n = p->walk[i];

        if ( !node_online(n) )
            continue;
        m_plan(d, charged, n, r, p);
        if ( !m_admit(n, r, p) )
            continue;
        if ( p->first_admissible == NO_NODE )
            p->first_admissible = n;
        if ( !m_has_block(n, order, zone_hi) )
            continue;
        p->rc = 0;
        p->node = n;
        return;
    }
    p->rc = -ENOMEM;
}

/* Apply the plan of the landing node to the domain's claims. */
static void m_redeem(struct mdom *d, const struct pred *p)
{
    MODEL_ASSERT(cm_redeem(&d->c, p->node, &p->plan));
    if ( p->plan.c )
        stat.redeem_c++;
}

/* The decoding of nc_memflags (§6) for a domain without vNUMA. */
static int m_decode(bool privileged, struct nc_memflags f, uint32_t *req,
                    bool *exact, uint32_t *zone_hi)
{
    *req = NO_NODE;
    *exact = false;
    *zone_hi = ZONE_ANY;
    if ( f.address_bits )
    {
        if ( f.address_bits <= NC_PAGE_SHIFT )
            return -EINVAL;
        *zone_hi = MIN((uint32_t)f.address_bits - NC_PAGE_SHIFT,
                       (uint32_t)ZONE_ANY);
    }
    if ( f.vnode )
        ;                   /* no vNUMA topology: the request is ignored */
    else if ( f.node != NO_NODE )
    {
        if ( privileged )
        {
            if ( f.node >= NC_MAX_NUMNODES )
                return -EINVAL;
            *req = f.node;
            *exact = f.exact;
        }
        else if ( f.exact )
            return -EINVAL; /* a guest may not pin a physical node */
    }
    if ( *req != NO_NODE && !node_online(*req) )
    {
        if ( *exact )
            return -ENOMEM;
        *req = NO_NODE;
        *exact = false;
    }
    return 0;
}

/* Check an extent the host returned against the model's prediction. */
static void check_extent(uint64_t mfn, uint32_t order, uint32_t zone_hi,
                         const struct pred *p)
{
    uint64_t r = 1ULL << order;
    uint32_t n = nc_host_mfn_node(H, mfn);

    if ( mfn & (r - 1) )
        FAIL("extent at MFN %" PRIu64 " not aligned to order %u", mfn, order);
    if ( mfn + r > NR_FRAMES )
        FAIL("extent at MFN %" PRIu64 " beyond the host", mfn);
    EXPECT_EQ("nc_host_mfn_node", n, node_of(mfn));
    if ( n != p->node )
        FAIL("landed on node %u, model walk says node %u (walk %u,%u,%u,%u,"
             "%u of %u; first admissible %u)", n, p->node, p->walk[0],
             p->walk[1 % NN], p->walk[2 % NN], p->walk[3 % NN],
             p->walk[4 % NN], p->nr_walk, p->first_admissible);
    EXPECT_EQ("node of the extent's last frame", node_of(mfn + r - 1), n);
    if ( zone_of_mfn(mfn + r - 1) > zone_hi )
        FAIL("extent at MFN %" PRIu64 " above zone %u", mfn, zone_hi);
    for ( uint64_t m = mfn; m < mfn + r; m++ )
        if ( !is_free(m) )
            FAIL("MFN %" PRIu64 " handed out but not free in the model "
                 "(owner %d, bad %u)", m, M.owner[m], M.bad[m]);
    if ( p->first_admissible != n )
        stat.not_first++;
    stat.land_order[order]++;
}

/* ------------------------------------------------------------------------
 * Recall on offlining (§7)
 * ------------------------------------------------------------------------ */

static void m_recall(uint32_t node)
{
    struct cm_view v = m_view();
    unsigned int what = cm_recall(&v, node);

    stat.recall_node += what & 1;
    stat.recall_host += (what >> 1) & 1;
    MODEL_ASSERT(m_node_claimed(node) <= M.node_avail[node] &&
                 m_total_outstanding() <= M.total_avail);
}

/* ========================================================================
 * The checker
 * ======================================================================== */

static void check_claims_get(uint32_t domid, const struct mdom *d)
{
    struct nc_claim set[NC_CLAIM_MAX_ENTRIES];
    uint32_t nr = NC_CLAIM_MAX_ENTRIES, i = 1;

    EXPECT_RC(nc_claim_memory(H, CTL, (nc_domid_t)domid, NC_CLAIM_MEMORY_GET,
                              set, &nr), 0);
    EXPECT_EQ("GET host entry target", set[0].target, NC_CLAIM_HOST);
    EXPECT_EQ("GET host entry pages", set[0].pages, d->c.host_claim);
    EXPECT_EQ("GET host entry pad", set[0].pad, 0);
    for ( uint32_t n = 0; n < NN; n++ )
    {
        if ( !d->c.claims[n] )
            continue;
        if ( i >= nr )
            FAIL("GET of dom%u: %u entries, model has a claim on node %u",
                 domid, nr, n);
        EXPECT_EQ("GET node entry target", set[i].target, n);
        EXPECT_EQ("GET node entry pages", set[i].pages, d->c.claims[n]);
        EXPECT_EQ("GET node entry pad", set[i].pad, 0);
        i++;
    }
    EXPECT_EQ("GET nr_entries", nr, i);
}

/* Compare every counter with the host, and run the counter checker. */
static void check_all(void)
{
    struct nc_host_info hi;
    struct nc_node_info ni[NN + 1];
    uint32_t live = 0;
    char why[256];

    EXPECT_RC(nc_host_overview(H, &hi, ni, NN + 1), 0);
    for ( uint32_t id = 1; id < NR_SLOTS; id++ )
        live += M.dom[id].exists;
    EXPECT_EQ("nr_nodes", hi.nr_nodes, NN);
    EXPECT_EQ("total_pages", hi.total_pages, ONLINE_PAGES);
    EXPECT_EQ("total_avail", hi.total_avail, M.total_avail);
    EXPECT_EQ("outstanding_claims", hi.outstanding_claims,
              m_total_outstanding());
    EXPECT_EQ("offlined_pages", hi.offlined_pages, M.offlined);
    EXPECT_EQ("nr_domains", hi.nr_domains, live);
    for ( uint32_t n = 0; n < NN; n++ )
    {
        EXPECT_EQ("node online", ni[n].online, node_online(n));
        EXPECT_EQ("node size", ni[n].size, node_frames[n]);
        EXPECT_EQ("node free (node_avail)", ni[n].free, M.node_avail[n]);
        EXPECT_EQ("node claimed (node_claimed)", ni[n].claimed,
                  m_node_claimed(n));
    }
    EXPECT_EQ("nonexistent node size", ni[NN].size, 0);
    EXPECT_EQ("nonexistent node online", ni[NN].online, 0);

    for ( uint32_t id = 0; id < NR_SLOTS; id++ )
    {
        const struct mdom *d = &M.dom[id];
        struct nc_domain_info di;
        uint64_t pages[NN];
        int rc = nc_domain_getinfo(H, (nc_domid_t)id, &di);

        if ( !d->exists )
        {
            EXPECT_RC(rc, -ESRCH);
            continue;
        }
        EXPECT_RC(rc, 0);
        EXPECT_EQ("info domid", di.domid, id);
        EXPECT_EQ("info dying", di.dying, d->dying);
        EXPECT_EQ("info max_vcpus", di.max_vcpus, d->max_vcpus);
        EXPECT_EQ("info tot_pages", di.tot_pages, d->c.tot);
        EXPECT_EQ("info max_pages", di.max_pages, d->c.max);
        EXPECT_EQ("info outstanding", di.outstanding, m_outstanding(d));
        EXPECT_EQ("info host_claim", di.host_claim, d->c.host_claim);
        EXPECT_EQ("info recalled", di.recalled, d->c.recalled);
        EXPECT_EQ("info node_affinity", di.node_affinity, d->affinity);
        EXPECT_EQ("info last_alloc_node", di.last_alloc_node, d->last_alloc);
        EXPECT_EQ("info nr_p2m_extents", di.nr_p2m_extents, d->extents);
        EXPECT_EQ("info unmapped_pages", di.unmapped_pages, d->unmapped);
        EXPECT_RC(nc_domain_node_pages(H, (nc_domid_t)id, pages, NN), 0);
        for ( uint32_t n = 0; n < NN; n++ )
            EXPECT_EQ("node_pages", pages[n], d->node_pages[n]);
        if ( !d->dying )
            check_claims_get(id, d);
    }
    if ( nc_host_check(H, NC_CHECK_COUNTERS, why, sizeof(why)) )
        FAIL("nc_host_check(COUNTERS): %s", why);
}

static uint32_t m_query_status(uint64_t mfn)
{
    uint8_t b = M.bad[mfn];

    if ( !b )
        return NC_PG_OFFLINE_STATUS_NONE;
    return ((b & B_PENDING) ? NC_PG_OFFLINE_STATUS_OFFLINE_PENDING
                            : NC_PG_OFFLINE_STATUS_OFFLINED) |
           ((b & B_BROKEN) ? NC_PG_OFFLINE_STATUS_BROKEN : 0);
}

/* The frame-level sweep: the library's checker, every frame's status,
 * every gpfn's translation, and the model against itself. */
static void check_frames(void)
{
    uint64_t avail[NN] = { 0 }, offlined = 0, broken = 0;
    char why[256];

    if ( nc_host_check(H, NC_CHECK_FRAMES, why, sizeof(why)) )
        FAIL("nc_host_check(FRAMES): %s", why);

    for ( uint64_t m = 0; m < NR_FRAMES + 64; m++ )
    {
        uint32_t st = 0xdeadbeef, n = node_of(m);
        int rc = nc_page_query(H, CTL, m, &st);

        if ( !node_online(n) )
        {
            EXPECT_RC(rc, -EINVAL);
            continue;
        }
        EXPECT_RC(rc, 0);
        if ( st != m_query_status(m) )
            FAIL("query of MFN %" PRIu64 ": status 0x%x, model 0x%x", m, st,
                 m_query_status(m));
        avail[n] += is_free(m);
        offlined += !!(M.bad[m] & B_OFFLINED);
        broken += !!(M.bad[m] & B_BROKEN);
        MODEL_ASSERT(is_free(m) == (M.owner[m] == OWN_FREE &&
                                    !(M.bad[m] & B_OFFLINED)));
        MODEL_ASSERT(!(M.bad[m] & B_PENDING) || M.owner[m] != OWN_FREE);
    }
    for ( uint32_t n = 0; n < NN; n++ )
        MODEL_ASSERT(avail[n] == M.node_avail[n]);
    MODEL_ASSERT(offlined == M.offlined && broken == M.broken);

    for ( uint32_t id = 0; id < NR_SLOTS; id++ )
    {
        const struct mdom *d = &M.dom[id];
        uint64_t tot = 0, pages[NN] = { 0 };
        uint32_t runs = 0;

        if ( !d->exists )
            continue;
        for ( uint64_t g = 0; g < GPFNS; g++ )
        {
            uint64_t mfn = 0xdeadbeef;
            int rc = nc_domain_translate(H, (nc_domid_t)id, g, &mfn);

            if ( d->p2m[g] == NO_MFN )
            {
                EXPECT_RC(rc, -ENOENT);
                continue;
            }
            EXPECT_RC(rc, 0);
            if ( mfn != d->p2m[g] )
                FAIL("dom%u gpfn %" PRIu64 " -> MFN %" PRIu64 ", model %"
                     PRIu64, id, g, mfn, d->p2m[g]);
            MODEL_ASSERT(M.owner[mfn] == (int16_t)id);
            tot++;
            pages[node_of(mfn)]++;
            runs += p2m_run_starts(d, g);
        }
        for ( uint64_t m = 0; m < NR_FRAMES; m++ )
            if ( M.unmapped[m] && M.owner[m] == (int16_t)id )
            {
                pages[node_of(m)]++;
                tot++;
            }
        MODEL_ASSERT(tot == d->c.tot && runs == d->extents);
        for ( uint32_t n = 0; n < NN; n++ )
            MODEL_ASSERT(pages[n] == d->node_pages[n]);
    }
}

/* ========================================================================
 * Operation generators
 * ======================================================================== */

/* A domid to act on: mostly a live guest, sometimes a dying one, the
 * control domain, one that does not exist or a reserved one. */
static uint32_t pick_domid(void)
{
    uint32_t live[NR_SLOTS], dying[NR_SLOTS], nl = 0, nd = 0, x = rnd(100);

    for ( uint32_t id = 1; id < NR_SLOTS; id++ )
        if ( M.dom[id].exists )
        {
            if ( M.dom[id].dying )
                dying[nd++] = id;
            else
                live[nl++] = id;
        }
    if ( x < 86 && nl )
        return live[rnd(nl)];
    if ( x < 90 && nd )
        return dying[rnd(nd)];
    if ( x < 93 )
        return NC_DOMID_CONTROL;
    if ( x < 99 )
        return (uint32_t)rnd(NR_SLOTS);
    return chance(50) ? NC_DOMID_FIRST_RESERVED : NC_DOMID_ANY;
}

/* The caller of a privileged operation: rarely not the control domain. */
static nc_domid_t pick_caller(void)
{
    return chance(2) ? (nc_domid_t)(1 + rnd(NR_SLOTS - 1)) : CTL;
}

/* get_target() of the domctls: EPERM, then the control domain, then
 * existence. */
static int m_target(nc_domid_t caller, uint32_t domid, struct mdom **dp)
{
    if ( caller != CTL )
        return -EPERM;
    if ( domid == NC_DOMID_CONTROL )
        return -EINVAL;
    *dp = mdom(domid);
    return *dp ? 0 : -ESRCH;
}

static uint64_t pick_max(const struct mdom *d)
{
    uint64_t out = m_outstanding(d);

    switch ( rnd(40) )
    {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
    case 8: case 9: case 10: case 11:
        return 1024 + rnd(3073);
    case 12: case 13: case 14: case 15: case 16: case 17:
        return d->c.tot + rnd(2048);
    case 18: case 19: case 20: case 21: case 22: case 23:
        return d->c.tot + out - rnd(out + 1);     /* partial deduction */
    case 24: case 25:
        return d->c.tot - rnd(d->c.tot + 1);        /* at or under tot */
    case 26: case 27: case 28: case 29: case 30: case 31: case 32: case 33:
        return d->c.max < UINT64_MAX - 512 ? d->c.max + rnd(512) : d->c.max;
    case 34: case 35:
        return UINT64_MAX;
    case 36:
        return 0;
    default:
        return rnd(4097);
    }
}

static void m_set_max(struct mdom *d, uint64_t max)
{
    stat.deduct_max += cm_set_max(&d->c, max);
}

static void op_set_max(void)
{
    nc_domid_t caller = pick_caller();
    uint32_t domid = pick_domid();
    struct mdom *d = mdom(domid);
    uint64_t max = d ? pick_max(d) : rnd(4097);
    int want = m_target(caller, domid, &d), rc;

    op_describe("set_max_pages(caller %u, dom %u, %" PRIu64 ")", caller,
                domid, max);
    if ( !want && d->dying )
        want = -ESRCH;
    rc = nc_domain_set_max_pages(H, caller, (nc_domid_t)domid, max);
    count_rc(OP_MAX, rc);
    EXPECT_RC(rc, want);
    if ( !rc )
        m_set_max(d, max);
}

static void op_create(void)
{
    struct nc_domain_config cfg = { .domid = NC_DOMID_ANY,
                                    .max_vcpus = 1 + (uint32_t)rnd(8) };
    nc_domid_t caller = pick_caller(), got = 0xFFFF;
    uint32_t live = 0, x = (uint32_t)rnd(100);
    int want = 0, rc;

    for ( uint32_t id = 1; id < NR_SLOTS; id++ )
        live += M.dom[id].exists;
    if ( x < 80 && live < MAX_LIVE )
        cfg.domid = NC_DOMID_ANY;
    else if ( x < 92 )
    {
        cfg.domid = (nc_domid_t)(1 + rnd(NR_SLOTS - 2));     /* 1..9 */
        if ( !M.dom[cfg.domid].exists && live >= MAX_LIVE )
            cfg.domid = NC_DOMID_CONTROL;                    /* EEXIST */
    }
    else if ( x < 95 )
        cfg.domid = NC_DOMID_CONTROL;
    else if ( x < 97 )
        cfg.domid = (nc_domid_t)(NC_DOMID_FIRST_RESERVED + rnd(3));
    else
    {
        cfg.max_vcpus = 4097 + (uint32_t)rnd(100);
        if ( live >= MAX_LIVE )
            cfg.domid = NC_DOMID_CONTROL;
    }
    op_describe("create(caller %u, domid %u, vcpus %u)", caller, cfg.domid,
                cfg.max_vcpus);

    if ( caller != CTL )
        want = -EPERM;
    else if ( (cfg.domid >= NC_DOMID_FIRST_RESERVED &&
               cfg.domid != NC_DOMID_ANY) || cfg.max_vcpus > 4096 )
        want = -EINVAL;
    else if ( cfg.domid != NC_DOMID_ANY && M.dom[cfg.domid].exists )
        want = -EEXIST;
    rc = nc_domain_create(H, caller, &cfg, &got);
    count_rc(OP_CREATE, rc);
    EXPECT_RC(rc, want);
    if ( rc )
        return;
    if ( cfg.domid == NC_DOMID_ANY )
    {
        uint32_t lowest = 1;

        while ( M.dom[lowest].exists )
            lowest++;
        EXPECT_EQ("created domid", got, lowest);
    }
    else
        EXPECT_EQ("created domid", got, cfg.domid);
    MODEL_ASSERT(got < NR_SLOTS - 1);
    m_dom_init(got, cfg.max_vcpus);
    check_all();

    /* A new domain has max_pages 0: give it some room at once. */
    {
        uint64_t max = 512 + rnd(3585);

        op_describe("create(domid %u) then set_max_pages(%" PRIu64 ")", got,
                    max);
        EXPECT_RC(nc_domain_set_max_pages(H, CTL, got, max), 0);
        m_set_max(&M.dom[got], max);
    }
}

/* Free one owned-unmapped frame of d. */
static void m_free_unmapped(struct mdom *d, uint64_t m)
{
    MODEL_ASSERT(M.unmapped[m] && d->unmapped > 0 && d->c.tot > 0);
    M.unmapped[m] = false;
    d->node_pages[node_of(m)]--;
    d->unmapped--;
    d->c.tot--;
    m_give(m, 1);
}

static void m_kill(struct mdom *d)
{
    if ( d->dying )
        return;
    d->dying = true;
    m_release_claims(d);
    for ( uint64_t g = 0; g < GPFNS; g++ )
        if ( d->p2m[g] != NO_MFN )
            m_unmap(d, g, 1);
    for ( uint64_t m = 0; m < NR_FRAMES && d->unmapped; m++ )
        if ( M.unmapped[m] && M.owner[m] == (int16_t)(d - M.dom) )
            m_free_unmapped(d, m);
    MODEL_ASSERT(d->c.tot == 0 && d->extents == 0);
}

static void op_kill(bool destroy)
{
    nc_domid_t caller = pick_caller();
    uint32_t domid = pick_domid();
    struct mdom *d = NULL;
    int want, rc;

    /* Reap dying domains too, or they would fill every slot. */
    for ( uint32_t id = 1; destroy && id < NR_SLOTS; id++ )
        if ( M.dom[id].exists && M.dom[id].dying && chance(50) )
            domid = id;
    want = m_target(caller, domid, &d);
    op_describe("%s(caller %u, dom %u)", destroy ? "destroy" : "kill",
                caller, domid);
    rc = destroy ? nc_domain_destroy(H, caller, (nc_domid_t)domid)
                 : nc_domain_kill(H, caller, (nc_domid_t)domid);
    count_rc(destroy ? OP_DESTROY : OP_KILL, rc);
    EXPECT_RC(rc, want);
    if ( rc )
        return;
    m_kill(d);
    if ( destroy )
        d->exists = false;
}

static void op_affinity(void)
{
    nc_domid_t caller = pick_caller();
    uint32_t domid = pick_domid();
    struct mdom *d = NULL;
    uint64_t mask;
    int want = m_target(caller, domid, &d), rc;

    switch ( rnd(10) )
    {
    case 0:  mask = 0; break;
    case 1:  mask = 1ULL << 4; break;               /* offline node only */
    case 2:  mask = ~0ULL; break;
    case 3:  mask = 1ULL << (5 + rnd(59)); break;   /* no such node */
    default: mask = rnd(32); break;
    }
    op_describe("set_node_affinity(caller %u, dom %u, 0x%" PRIx64 ")",
                caller, domid, mask);
    if ( !want && d->dying )
        want = -ESRCH;
    else if ( !want && !(mask & ONLINE_MASK) )
        want = -EINVAL;
    rc = nc_domain_set_node_affinity(H, caller, (nc_domid_t)domid, mask);
    count_rc(OP_AFFINITY, rc);
    EXPECT_RC(rc, want);
    if ( !rc )
        d->affinity = mask;
}

/* ------------------------------------------------------------------------
 * Claims (§3, §4)
 * ------------------------------------------------------------------------ */

static void op_claim_pages(void)
{
    nc_domid_t caller = pick_caller();
    uint32_t domid = pick_domid();
    struct mdom *d = mdom(domid);
    uint64_t target = 0, unclaimed = M.total_avail - m_total_outstanding();
    int want = 0, rc;

    if ( d )
    {
        uint64_t room = m_room(d);

        switch ( rnd(20) )
        {
        case 0: case 1: case 2: case 3: case 4: case 5:
            target = 0;
            break;
        case 6: case 7: case 8: case 9: case 10: case 11: case 12: case 13:
            target = d->c.tot + 1 + rnd(MIN(room, 3000ULL) + 1);
            break;
        case 14:
            target = d->c.tot;
            break;
        case 15:
            target = d->c.max < UINT64_MAX ? d->c.max + 1 : d->c.max;
            break;
        case 16:
            target = d->c.tot - rnd(d->c.tot + 1);
            break;
        case 17:
            target = d->c.tot + unclaimed;             /* exactly fits */
            break;
        case 18:
            target = d->c.tot + unclaimed + 1;         /* one too many */
            break;
        default:
            target = UINT64_MAX - rnd(2);
            break;
        }
    }
    else
        target = rnd(100);
    op_describe("claim_pages(caller %u, dom %u, target %" PRIu64 ")", caller,
                domid, target);

    if ( !d )
        want = -EINVAL;                 /* not ESRCH for this call */
    else if ( caller != CTL )
        want = -EPERM;
    else if ( d->dying )
        want = -EINVAL;
    else
    {
        /* The model must predict before it changes anything. */
        struct cm_view v = m_view();
        struct cm_dom after = d->c;

        v.dom[domid] = &after;
        want = cm_legacy_claim(&v, &after, target);
        if ( !want )
            d->c = after;
    }
    rc = nc_claim_pages(H, caller, (nc_domid_t)domid, target);
    count_rc(OP_LEGACY, rc);
    EXPECT_RC(rc, want);
}

/* The most a SET may claim on node n for d without a node shortfall. */
static uint64_t node_free_for(const struct mdom *d, uint32_t n)
{
    return M.node_avail[n] - m_node_claimed(n) + d->c.claims[n];
}

/* An amount up to limit: mostly within, sometimes exactly at or above. */
static uint64_t pick_amount(uint64_t limit)
{
    switch ( rnd(20) )
    {
    case 0: case 1:
        return 0;
    case 2: case 3: case 4:
        return limit;
    case 5:
        return limit + 1;
    default:
        return rnd(limit + 1);
    }
}

enum {
    SET_HOST, SET_NODES, SET_MIXED, SET_ZERO, SET_MAXOUT, SET_BAD,
    SET_NR0, SET_BIG, SET_MODE, NR_SET_KINDS
};

/* Build a claim set for d (which may be NULL): *kind says what. */
static uint32_t gen_claim_set(const struct mdom *d, struct nc_claim *set,
                              uint32_t *mode, int *kind)
{
    static const uint32_t bad_sel[] = {
        0x40000000U, 0x40000001U, 0xC0000000U,
        NC_CLAIM_HOST | 1, 0x7FFFFFFFU, 0xFFFFFFFFU,
    };
    static const uint32_t missing[] = { 5, 6, 63, 64, 1000, 0x3FFFFFFFU };
    uint64_t room = d ? m_room(d) : 100, host_room;
    uint32_t nr = 0, x = (uint32_t)rnd(100), nodes;

    *mode = NC_CLAIM_MEMORY_SET;
    if ( x < 14 )
        *kind = SET_HOST;
    else if ( x < 32 )
        *kind = SET_NODES;
    else if ( x < 56 )
        *kind = SET_MIXED;
    else if ( x < 63 )
        *kind = SET_ZERO;
    else if ( x < 73 )
        *kind = SET_MAXOUT;
    else if ( x < 95 )
        *kind = SET_BAD;
    else if ( x < 97 )
        *kind = SET_NR0;
    else if ( x < 99 )
        *kind = SET_BIG;
    else
        *kind = SET_MODE;
    if ( room > 3 * ONLINE_PAGES )
        room = 3 * ONLINE_PAGES;        /* max_pages may be UINT64_MAX */

    switch ( *kind )
    {
    case SET_NR0:
        return 0;

    case SET_BIG:
        nr = NC_CLAIM_MAX_ENTRIES + 1 + (uint32_t)rnd(5);
        for ( uint32_t i = 0; i < nr; i++ )
            set[i] = (struct nc_claim){ .target = i % NN, .pages = 0 };
        return nr;

    case SET_MODE:
        *mode = chance(50) ? 2 : 0xFFFFFFFFU;
        set[0] = (struct nc_claim){ .target = NC_CLAIM_HOST, .pages = 1 };
        return 1;

    case SET_ZERO:
    {
        uint32_t k = 1 + (uint32_t)rnd(NN);
        uint64_t used = 0;

        if ( chance(50) )
            set[nr++] = (struct nc_claim){ .target = NC_CLAIM_HOST };
        for ( uint32_t i = 0; i < k; i++ )
        {
            uint32_t n = (uint32_t)rnd(NN - 1);

            if ( !(used & (1ULL << n)) )
            {
                used |= 1ULL << n;
                set[nr++] = (struct nc_claim){ .target = n };
            }
        }
        if ( !nr )
            set[nr++] = (struct nc_claim){ .target = NC_CLAIM_HOST };
        return nr;
    }

    case SET_HOST:
        set[nr++] = (struct nc_claim){ .target = NC_CLAIM_HOST,
                                       .pages = pick_amount(room) };
        return nr;

    case SET_MAXOUT:
    {
        /* Claim all a node allows (room permitting), often plus the rest
         * host-wide: the states that recall and ENOMEM need. */
        uint32_t n = (uint32_t)rnd(NN - 1);
        uint64_t p = d ? node_free_for(d, n) : 10;

        if ( chance(70) && p > room )
            p = room;
        set[nr++] = (struct nc_claim){ .target = n, .pages = p };
        if ( chance(50) && d )
        {
            uint64_t unclaimed = M.total_avail - m_total_outstanding() +
                                 m_outstanding(d);
            uint64_t h = unclaimed > p ? unclaimed - p : 0;

            if ( chance(70) && p + h > room )
                h = room > p ? room - p : 0;
            set[nr++] = (struct nc_claim){ .target = NC_CLAIM_HOST,
                                           .pages = h };
        }
        return nr;
    }

    default:
        break;
    }

    /* SET_NODES, SET_MIXED and the base of SET_BAD. */
    nodes = 1 + (uint32_t)rnd(NN - 1);
    host_room = room;
    if ( *kind != SET_NODES )
    {
        uint64_t h = pick_amount(room / (nodes + 1));

        set[nr++] = (struct nc_claim){ .target = NC_CLAIM_HOST, .pages = h };
        host_room = room > h ? room - h : 0;
    }
    {
        uint64_t used = 0;

        for ( uint32_t i = 0; i < nodes; i++ )
        {
            uint32_t n = (uint32_t)rnd(NN - 1);
            uint64_t lim;

            if ( used & (1ULL << n) )
                continue;
            used |= 1ULL << n;
            lim = d ? MIN(node_free_for(d, n), host_room / nodes) : 10;
            set[nr++] = (struct nc_claim){ .target = n,
                                           .pages = pick_amount(lim) };
        }
    }
    /* Shuffle: the host entry may come anywhere. */
    for ( uint32_t i = nr; i > 1; i-- )
    {
        uint32_t j = (uint32_t)rnd(i);
        struct nc_claim t = set[i - 1];

        set[i - 1] = set[j];
        set[j] = t;
    }
    if ( *kind != SET_BAD )
        return nr;

    /* Inject one fault (or two) at random positions. */
    for ( int faults = chance(20) ? 2 : 1; faults > 0; faults-- )
    {
        uint32_t at = (uint32_t)rnd(nr + 1);
        struct nc_claim e = { .target = NC_CLAIM_HOST, .pages = 1 };

        switch ( rnd(9) )
        {
        case 0:
            e.pad = chance(50) ? 1 : 0x80000000U;
            e.target = chance(50) ? NC_CLAIM_HOST : (uint32_t)rnd(NN - 1);
            break;
        case 1:
            e.target = bad_sel[rnd(NC_ARRAY_SIZE_(bad_sel))];
            break;
        case 2:
            e.target = missing[rnd(NC_ARRAY_SIZE_(missing))];
            break;
        case 3:
            e.target = 4;                       /* offline */
            e.pages = rnd(3);
            break;
        case 4:
            if ( nr )
                e = set[rnd(nr)];               /* duplicate */
            break;
        case 5:
        {
            uint32_t n = (uint32_t)rnd(NN - 1);

            e.target = n;                       /* node shortfall */
            e.pages = (d ? node_free_for(d, n) : 0) + 1 + rnd(10);
            break;
        }
        case 6:
            e.pages = room + 1 + rnd(100);      /* over max_pages */
            break;
        case 7:
            e.pages = UINT64_MAX - rnd(3);      /* overflow */
            if ( chance(50) )
                e.target = (uint32_t)rnd(NN - 1);
            break;
        default:
        {
            /* Host shortfall: all unclaimed memory and one more page. */
            uint64_t unclaimed = M.total_avail - m_total_outstanding() +
                                 (d ? m_outstanding(d) : 0);

            e.pages = unclaimed + 1;
            break;
        }
        }
        memmove(&set[at + 1], &set[at], (nr - at) * sizeof(*set));
        set[at] = e;
        nr++;
    }
    return nr;
}

/* §4 SET on the model: the return value, and on success the new claims. */
static int m_claim_set(nc_domid_t caller, uint32_t domid, uint32_t mode,
                       const struct nc_claim *set, uint32_t nr)
{
    struct mdom *d = mdom(domid);
    struct cm_view v;

    if ( caller != CTL )
        return -EPERM;
    if ( !d )
        return -ESRCH;
    if ( mode != NC_CLAIM_MEMORY_SET )
        return d->dying ? -ESRCH : -EOPNOTSUPP;
    if ( d->dying )
        return -ESRCH;
    v = m_view();
    return cm_claim_set(&v, &d->c, set, nr);
}

static void op_claim_set(void)
{
    struct nc_claim set[NC_CLAIM_MAX_ENTRIES + 8];
    nc_domid_t caller = pick_caller();
    uint32_t domid = pick_domid(), mode, nr, nr_in;
    struct mdom *d = mdom(domid);
    int kind, want, rc;

    nr = gen_claim_set(d && !d->dying ? d : NULL, set, &mode, &kind);
    nr_in = nr;
    op_describe("claim_memory(caller %u, dom %u, mode %u, kind %d, nr %u):",
                caller, domid, mode, kind, nr);
    for ( uint32_t i = 0; i < nr && i < 12; i++ )
        op_append(" {0x%x,%" PRIu64 "%s}", set[i].target, set[i].pages,
                  set[i].pad ? ",pad" : "");

    /* The model must predict before it changes anything. */
    want = m_claim_set(caller, domid, mode, set, nr);
    rc = nc_claim_memory(H, caller, (nc_domid_t)domid, mode, set, &nr);
    count_rc(OP_SET, rc);
    EXPECT_RC(rc, want);
    EXPECT_EQ("SET nr_entries unchanged", nr, nr_in);
}

static void op_claim_get(void)
{
    static const uint32_t caps[] = { 0, 1, 2, 3, 4, 5, 6, 65, 100 };
    struct nc_claim set[NC_CLAIM_MAX_ENTRIES + 40];
    nc_domid_t caller = pick_caller();
    uint32_t domid = pick_domid(), cap = caps[rnd(NC_ARRAY_SIZE_(caps))];
    uint32_t nr = cap, need = 1, written;
    struct mdom *d = mdom(domid);
    int want = 0, rc;

    op_describe("claim_memory GET(caller %u, dom %u, capacity %u)", caller,
                domid, cap);
    memset(set, 0xA5, sizeof(set));
    if ( caller != CTL )
        want = -EPERM;
    else if ( !d || d->dying )
        want = -ESRCH;
    else
    {
        for ( uint32_t n = 0; n < NN; n++ )
            need += !!d->c.claims[n];
        want = MIN(cap, NC_CLAIM_MAX_ENTRIES) < need ? -ERANGE : 0;
    }
    rc = nc_claim_memory(H, caller, (nc_domid_t)domid, NC_CLAIM_MEMORY_GET,
                         set, &nr);
    count_rc(OP_GET, rc);
    EXPECT_RC(rc, want);
    if ( rc && rc != -ERANGE )
    {
        EXPECT_EQ("GET nr_entries on error", nr, cap);
        EXPECT_EQ("GET wrote nothing on error", set[0].pad, 0xA5A5A5A5U);
        return;
    }
    EXPECT_EQ("GET nr_entries", nr, need);
    written = MIN(cap, need);
    for ( uint32_t i = 0, n = 0; i < written; i++ )
    {
        if ( i == 0 )
        {
            EXPECT_EQ("GET[0] target", set[0].target, NC_CLAIM_HOST);
            EXPECT_EQ("GET[0] pages", set[0].pages, d->c.host_claim);
        }
        else
        {
            while ( !d->c.claims[n] )
                n++;
            EXPECT_EQ("GET[i] target", set[i].target, n);
            EXPECT_EQ("GET[i] pages", set[i].pages, d->c.claims[n]);
            n++;
        }
        EXPECT_EQ("GET[i] pad", set[i].pad, 0);
    }
    EXPECT_EQ("GET wrote past the entries it returned", set[written].pad,
              0xA5A5A5A5U);
}

/* ------------------------------------------------------------------------
 * Allocation (§5, §6)
 * ------------------------------------------------------------------------ */

static uint32_t pick_order(bool guest)
{
    uint32_t x = (uint32_t)rnd(1000);

    if ( x < 400 )
        return 0;
    if ( x < 620 )
        return 1 + (uint32_t)rnd(3);
    if ( x < 950 )
        return 4 + (uint32_t)rnd(6);
    if ( x < 985 )
        return guest ? 9 : 10 + (uint32_t)rnd(3);
    if ( x < 995 )
        return guest ? 10 : 18;
    return 19;
}

static struct nc_memflags pick_flags(void)
{
    static const uint8_t bits[] = { 12, 13, 14, 18, 20, 22, 23, 24, 24, 25,
                                    25, 26, 30, 64, 255 };
    struct nc_memflags f = NC_MEMFLAGS_NONE;
    uint32_t x = (uint32_t)rnd(100);

    if ( x < 50 )
        f.node = NO_NODE;
    else if ( x < 90 )
        f.node = (uint32_t)rnd(NN);
    else if ( x < 96 )
        f.node = NN + (uint32_t)rnd(NC_MAX_NUMNODES - NN);  /* missing */
    else if ( x < 98 )
        f.node = NC_MAX_NUMNODES + (uint32_t)rnd(100);      /* invalid */
    else
        f.node = 0xFE;
    f.exact = f.node != NO_NODE ? chance(40) : chance(5);
    f.vnode = chance(3);
    if ( chance(15) )
        f.address_bits = bits[rnd(NC_ARRAY_SIZE_(bits))];
    return f;
}

/* The checks every reservation operation makes before it allocates or
 * frees: the caller's order limit and the extent's alignment, then the
 * domain, the caller's right to it, and dying. */
static int m_extent_rc(nc_domid_t caller, uint32_t domid,
                       const struct mdom *d, uint64_t addr, uint32_t order)
{
    bool privileged = caller == CTL;

    if ( order > (privileged ? NC_MAX_ORDER : 9u) ||
         (addr & ((1ULL << order) - 1)) || addr >= NC_MAX_MFN )
        return -EINVAL;
    if ( !d )
        return -ESRCH;
    if ( !privileged && caller != domid )
        return -EPERM;
    if ( d->dying )
        return -ESRCH;
    return 0;
}

static void op_populate(void)
{
    uint32_t domid = pick_domid(), x = (uint32_t)rnd(100);
    nc_domid_t caller = x < 88 ? CTL : x < 97 ? (nc_domid_t)domid
                                   : (nc_domid_t)(1 + rnd(NR_SLOTS - 1));
    struct mdom *d = mdom(domid);
    bool privileged = caller == CTL;
    uint32_t order = pick_order(!privileged), req, zone_hi;
    uint64_t r = 1ULL << order, gpfn = 0, mfn = NO_MFN;
    struct nc_memflags f = pick_flags();
    struct pred p = { .rc = 0 };
    bool exact;
    int rc;

    if ( order <= 12 )
    {
        /* Small extents mostly in the low half of the gpfn space, large
         * ones in the high half, so that large slots stay free. */
        uint64_t half = order < 4 ? 0 : GPFNS / 2 / r;

        gpfn = (chance(75) ? rnd(GPFNS / 2 / r) + half : rnd(GPFNS / r)) * r;
        /* Mostly look for an unpopulated slot. */
        for ( int tries = 0; d && tries < 8 && chance(85) &&
                             !m_range_unmapped(d, gpfn, r); tries++ )
            gpfn = (rnd(GPFNS / 2 / r) + half) * r;
        if ( order && chance(2) )
            gpfn |= 1;                               /* misaligned */
    }
    else
        gpfn = rnd(2) << 18;
    if ( chance(1) )
        gpfn = NC_MAX_MFN;                           /* beyond any gpfn */
    op_describe("populate(caller %u, dom %u, gpfn %" PRIu64 ", order %u, "
                "node %u, exact %d, vnode %d, bits %u)", caller, domid, gpfn,
                order, f.node, f.exact, f.vnode, f.address_bits);

    if ( (p.rc = m_extent_rc(caller, domid, d, gpfn, order)) != 0 )
        ;
    else if ( (p.rc = m_decode(privileged, f, &req, &exact, &zone_hi)) == 0 )
        m_predict_alloc(d, true, order, req, exact, zone_hi, &p);

    rc = nc_populate(H, caller, (nc_domid_t)domid, gpfn, order, f, &mfn);
    count_rc(OP_POPULATE, rc);
    EXPECT_RC(rc, p.rc);
    if ( rc )
        return;
    check_extent(mfn, order, zone_hi, &p);
    m_redeem(d, &p);
    /* Over a mapped range, the old pages are freed after the new extent
     * was allocated (so the new one never reuses them). */
    for ( uint64_t g = gpfn; g < gpfn + r && g < GPFNS; g++ )
        if ( d->p2m[g] != NO_MFN )
            m_unmap(d, g, 1);
    m_map(domid, gpfn, mfn, r);
    d->last_alloc = p.node;
    {
        uint64_t got = 0;

        EXPECT_RC(nc_domain_translate(H, (nc_domid_t)domid, gpfn + r - 1,
                                      &got), 0);
        EXPECT_EQ("translate of the extent's last gpfn", got, mfn + r - 1);
    }
}

static void op_depopulate(void)
{
    uint32_t domid = pick_domid(), x = (uint32_t)rnd(100);
    nc_domid_t caller = x < 93 ? CTL : x < 98 ? (nc_domid_t)domid
                                   : (nc_domid_t)(1 + rnd(NR_SLOTS - 1));
    struct mdom *d = mdom(domid);
    bool privileged = caller == CTL;
    uint32_t order = pick_order(!privileged);
    uint64_t r = 1ULL << order, gpfn = 0;
    int want = 0, rc;

    if ( order <= 12 )
    {
        gpfn = rnd(GPFNS);
        for ( int tries = 0; d && d->c.tot && tries < 16 &&
                             d->p2m[gpfn] == NO_MFN; tries++ )
            gpfn = rnd(GPFNS);
        gpfn &= ~(r - 1);
        /* Often look for a fully populated range of this order. */
        for ( int tries = 0; d && d->c.tot >= r && tries < 16 && chance(90) &&
                             !m_range_mapped(d, gpfn, r); tries++ )
            gpfn = rnd(GPFNS / r) * r;
        if ( order && chance(2) )
            gpfn |= 1;
    }
    op_describe("depopulate(caller %u, dom %u, gpfn %" PRIu64 ", order %u)",
                caller, domid, gpfn, order);

    if ( (want = m_extent_rc(caller, domid, d, gpfn, order)) != 0 )
        ;
    else if ( !m_range_mapped(d, gpfn, r) )
        want = -ENOENT;
    rc = nc_depopulate(H, caller, (nc_domid_t)domid, gpfn, order);
    count_rc(OP_DEPOPULATE, rc);
    EXPECT_RC(rc, want);
    if ( !rc )
        m_unmap(d, gpfn, r);
}

/* increase_reservation: a charged allocation that no gpfn maps. */
static void op_increase(void)
{
    uint32_t domid = pick_domid(), x = (uint32_t)rnd(100);
    nc_domid_t caller = x < 85 ? CTL : x < 97 ? (nc_domid_t)domid
                                   : (nc_domid_t)(1 + rnd(NR_SLOTS - 1));
    struct mdom *d = mdom(domid);
    bool privileged = caller == CTL;
    uint32_t order = pick_order(!privileged), req, zone_hi;
    struct nc_memflags f = pick_flags();
    struct pred p = { .rc = 0 };
    uint64_t mfn = NO_MFN;
    bool exact;
    int rc;

    if ( order > 9 && order <= NC_MAX_ORDER && chance(90) )
        order = (uint32_t)rnd(6);
    op_describe("increase_reservation(caller %u, dom %u, order %u, node %u, "
                "exact %d, vnode %d, bits %u)", caller, domid, order, f.node,
                f.exact, f.vnode, f.address_bits);
    if ( (p.rc = m_extent_rc(caller, domid, d, 0, order)) != 0 )
        ;
    else if ( (p.rc = m_decode(privileged, f, &req, &exact, &zone_hi)) == 0 )
        m_predict_alloc(d, true, order, req, exact, zone_hi, &p);

    rc = nc_increase_reservation(H, caller, (nc_domid_t)domid, order, f,
                                 &mfn);
    count_rc(OP_INCREASE, rc);
    EXPECT_RC(rc, p.rc);
    if ( rc )
        return;
    check_extent(mfn, order, zone_hi, &p);
    m_redeem(d, &p);
    m_take(mfn, 1ULL << order, (int16_t)domid);
    for ( uint64_t m = mfn; m < mfn + (1ULL << order); m++ )
        M.unmapped[m] = true;
    d->unmapped += 1ULL << order;
    d->c.tot += 1ULL << order;
    d->node_pages[p.node] += 1ULL << order;
    d->last_alloc = p.node;
    EXPECT_RC(nc_domain_translate(H, (nc_domid_t)domid, 0, NULL),
              d->p2m[0] == NO_MFN ? -ENOENT : 0);
}

/* decrease_reservation of owned-unmapped pages, by MFN. */
static void op_free_unmapped(void)
{
    uint32_t domid = pick_domid(), x = (uint32_t)rnd(100);
    nc_domid_t caller = x < 90 ? CTL : x < 97 ? (nc_domid_t)domid
                                   : (nc_domid_t)(1 + rnd(NR_SLOTS - 1));
    struct mdom *d = mdom(domid);
    uint32_t order = chance(70) ? 0 : (uint32_t)rnd(4);
    uint64_t r = 1ULL << order, mfn = rnd(NR_FRAMES);
    int want = 0, rc;

    /* Mostly a frame the domain owns unmapped: the next one from a random
     * start. */
    if ( d && d->unmapped && chance(90) )
        for ( uint64_t k = 0; k < NR_FRAMES; k++ )
        {
            uint64_t m = (mfn + k) % NR_FRAMES;

            if ( M.unmapped[m] && M.owner[m] == (int16_t)domid )
            {
                mfn = m;
                break;
            }
        }
    mfn &= ~(r - 1);
    if ( order && chance(2) )
        mfn |= 1;
    op_describe("free_unmapped(caller %u, dom %u, mfn %" PRIu64 ", order %u)",
                caller, domid, mfn, order);
    if ( (want = m_extent_rc(caller, domid, d, mfn, order)) != 0 )
        ;
    else
        for ( uint64_t m = mfn; m < mfn + r; m++ )
            if ( m >= NR_FRAMES || !M.unmapped[m] ||
                 M.owner[m] != (int16_t)domid )
                want = -ENOENT;
    rc = nc_free_unmapped(H, caller, (nc_domid_t)domid, mfn, order);
    count_rc(OP_FREE_UNMAPPED, rc);
    EXPECT_RC(rc, want);
    if ( !rc )
        for ( uint64_t m = mfn; m < mfn + r; m++ )
            m_free_unmapped(d, m);
}

static void op_alloc_anon(void)
{
    uint32_t x = (uint32_t)rnd(100), order = pick_order(false), req, zone_hi;
    uint32_t on = x < 40 ? NC_DOMID_XEN : x < 95 ? pick_domid()
                                        : NC_DOMID_ANY;
    struct mdom *d = on == NC_DOMID_XEN ? NULL : mdom(on);
    struct nc_memflags f = pick_flags();
    struct pred p = { .rc = 0 };
    uint64_t mfn = NO_MFN;
    bool exact;
    int rc;

    if ( order > 9 && order <= NC_MAX_ORDER && chance(80) )
        order = (uint32_t)rnd(10);
    op_describe("alloc_anon(for %u, order %u, node %u, exact %d, vnode %d, "
                "bits %u)", on, order, f.node, f.exact, f.vnode,
                f.address_bits);
    if ( order > NC_MAX_ORDER )
        p.rc = -EINVAL;
    else if ( on != NC_DOMID_XEN && !d )
        p.rc = -ESRCH;
    else if ( (p.rc = m_decode(true, f, &req, &exact, &zone_hi)) == 0 )
        m_predict_alloc(d, false, order, req, exact, zone_hi, &p);

    rc = nc_alloc_anon(H, (nc_domid_t)on, order, f, &mfn);
    count_rc(OP_ANON, rc);
    EXPECT_RC(rc, p.rc);
    if ( rc )
        return;
    check_extent(mfn, order, zone_hi, &p);
    m_take(mfn, 1ULL << order, OWN_XEN);
    if ( d )
        d->last_alloc = p.node;
    M.anon[M.nr_anon++] = (struct manon){ mfn, order };
}

/* The anonymous allocation that is exactly [mfn, mfn + 2^order), or -1. */
static int anon_find(uint64_t mfn, uint32_t order)
{
    for ( uint32_t i = 0; i < M.nr_anon; i++ )
        if ( M.anon[i].mfn == mfn && M.anon[i].order == order )
            return (int)i;
    return -1;
}

static void op_free_anon(void)
{
    uint32_t x = (uint32_t)rnd(100), order = 0;
    uint64_t mfn = 0;
    int i, rc;

    if ( M.nr_anon && x < 75 )
    {
        const struct manon *a = &M.anon[rnd(M.nr_anon)];

        mfn = a->mfn;
        order = a->order;
    }
    else if ( M.nr_anon && x < 90 )
    {
        /* Part of one, more than one, or misaligned inside one. */
        const struct manon *a = &M.anon[rnd(M.nr_anon)];

        mfn = a->mfn;
        switch ( rnd(3) )
        {
        case 0:
            order = a->order ? a->order - 1 : 0;
            mfn += a->order && chance(50) ? 1ULL << order : 0;
            break;
        case 1:
            order = a->order + 1;
            mfn &= ~((1ULL << order) - 1);
            break;
        default:
            order = a->order >= 2 ? 1 : 0;
            mfn += 1;
            break;
        }
    }
    else
    {
        switch ( rnd(3) )
        {
        case 0:
            order = NC_MAX_ORDER + 1;
            break;
        case 1:
            order = 1 + (uint32_t)rnd(4);
            mfn = (rnd(NR_FRAMES) & ~((1ULL << order) - 1)) | 1;
            break;
        default:
            mfn = rnd(NR_FRAMES + 100);     /* free, owned, offlined... */
            break;
        }
    }
    op_describe("free_anon(mfn %" PRIu64 ", order %u)", mfn, order);
    /* core.h: exactly one such allocation, -EINVAL for anything else. */
    i = order <= NC_MAX_ORDER ? anon_find(mfn, order) : -1;
    rc = nc_free_anon(H, mfn, order);
    count_rc(OP_ANON_FREE, rc);
    EXPECT_RC(rc, i < 0 ? -EINVAL : 0);
    if ( rc )
        return;
    m_give(mfn, 1ULL << order);
    M.anon[i] = M.anon[--M.nr_anon];
}

/* ------------------------------------------------------------------------
 * Offlining (§7)
 * ------------------------------------------------------------------------ */

/* A frame to offline: any, owned, anonymous, already bad, on a node whose
 * claims fill it (recall), or not RAM of an online node. */
static uint64_t pick_offline_frame(void)
{
    uint32_t x = (uint32_t)rnd(100);
    uint64_t m = rnd(ONLINE_PAGES);

    if ( x < 35 )
        return m;
    if ( x < 55 )
    {
        for ( int t = 0; t < 32 && M.owner[m] < 0; t++ )
            m = rnd(ONLINE_PAGES);
        return m;
    }
    if ( x < 62 && M.nr_anon )
        return M.anon[rnd(M.nr_anon)].mfn;
    if ( x < 70 && M.nr_bad )
        return M.badlist[rnd(M.nr_bad)];
    if ( x < 92 )
    {
        /* Prefer a free frame on a node (or host) with no unclaimed page. */
        uint32_t full = NO_NODE;
        bool host_full = m_total_outstanding() == M.total_avail;

        for ( uint32_t n = (uint32_t)rnd(NN), i = 0; i < NN; i++ )
        {
            uint32_t k = (n + i) % NN;

            if ( node_online(k) && M.node_avail[k] &&
                 m_node_claimed(k) == M.node_avail[k] )
                full = k;
        }
        if ( full == NO_NODE && !host_full )
            return m;
        for ( int t = 0; t < 64; t++ )
        {
            m = full != NO_NODE ? node_start[full] + rnd(node_frames[full])
                                : rnd(ONLINE_PAGES);
            if ( is_free(m) )
                break;
        }
        return m;
    }
    if ( x < 96 )
        return node_start[4] + rnd(node_frames[4]);     /* offline node */
    return chance(50) ? NR_FRAMES + rnd(1000) : NC_MAX_MFN + rnd(10);
}

static void op_offline(void)
{
    nc_domid_t caller = pick_caller();
    uint64_t mfn = pick_offline_frame();
    bool broken = chance(2) && M.broken < MAX_BROKEN;
    uint32_t st = 0xdeadbeef, want_st = 0xdeadbeef;
    int want = 0, rc;

    op_describe("page_offline(caller %u, mfn %" PRIu64 ", broken %d)",
                caller, mfn, broken);
    if ( caller != CTL )
        want = -EPERM;
    else if ( mfn >= NR_FRAMES || !node_online(node_of(mfn)) )
        want = -EINVAL;
    rc = nc_page_offline(H, caller, mfn, broken, &st);
    count_rc(OP_OFFLINE, rc);
    EXPECT_RC(rc, want);
    if ( rc )
    {
        EXPECT_EQ("offline status on error", st, 0xdeadbeef);
        return;
    }

    if ( M.bad[mfn] )
    {
        if ( broken && !(M.bad[mfn] & B_BROKEN) )
        {
            M.bad[mfn] |= B_BROKEN;
            M.broken++;
        }
        want_st = (M.bad[mfn] & B_PENDING) ? 0 : NC_PG_OFFLINE_OFFLINED;
    }
    else if ( is_free(mfn) )
    {
        uint32_t n = node_of(mfn);

        M.freemap[mfn / 64] &= ~(1ULL << (mfn % 64));
        M.node_avail[n]--;
        M.total_avail--;
        M.offlined++;
        bad_add(mfn, (uint8_t)(B_OFFLINED | (broken ? B_BROKEN : 0)));
        M.broken += broken;
        m_recall(n);
        want_st = NC_PG_OFFLINE_OFFLINED;
    }
    else
    {
        bad_add(mfn, (uint8_t)(B_PENDING | (broken ? B_BROKEN : 0)));
        M.broken += broken;
        want_st = 0;
    }
    if ( want_st == 0 )         /* pending: the owner in the status */
        want_st = M.owner[mfn] == OWN_XEN
                  ? NC_PG_OFFLINE_XENPAGE | NC_PG_OFFLINE_PENDING
                  : NC_PG_OFFLINE_OWNED | NC_PG_OFFLINE_PENDING |
                    ((uint32_t)M.owner[mfn] << NC_PG_OFFLINE_OWNER_SHIFT);
    if ( broken )
        want_st |= NC_PG_OFFLINE_BROKEN;
    if ( st != want_st )
        FAIL("offline status 0x%x, model 0x%x", st, want_st);
}

static void op_online(void)
{
    nc_domid_t caller = pick_caller();
    uint64_t mfn = chance(90) && M.nr_bad ? M.badlist[rnd(M.nr_bad)]
                                          : pick_offline_frame();
    uint32_t st = 0xdeadbeef, want_st = NC_PG_ONLINE_ONLINED;
    int want = 0, rc;

    op_describe("page_online(caller %u, mfn %" PRIu64 ")", caller, mfn);
    if ( caller != CTL )
        want = -EPERM;
    else if ( mfn >= NR_FRAMES || !node_online(node_of(mfn)) )
        want = -EINVAL;
    else if ( M.bad[mfn] & B_BROKEN )
    {
        want = -EINVAL;                 /* a broken frame never comes back */
        want_st = NC_PG_ONLINE_FAILED | NC_PG_ONLINE_BROKEN;
    }
    rc = nc_page_online(H, caller, mfn, &st);
    count_rc(OP_ONLINE, rc);
    EXPECT_RC(rc, want);
    if ( want == -EPERM ||
         (want == -EINVAL && (mfn >= NR_FRAMES || !(M.bad[mfn] & B_BROKEN))) )
    {
        EXPECT_EQ("online status on error", st, 0xdeadbeef);
        return;
    }
    if ( st != want_st )
        FAIL("online status 0x%x, model 0x%x", st, want_st);
    if ( rc || !M.bad[mfn] )
        return;
    if ( M.bad[mfn] & B_OFFLINED )
    {
        uint32_t n = node_of(mfn);

        M.offlined--;
        M.freemap[mfn / 64] |= 1ULL << (mfn % 64);
        M.node_avail[n]++;
        M.total_avail++;
    }
    bad_remove(mfn);                    /* pending: the offline is off */
}

static void op_query(void)
{
    nc_domid_t caller = pick_caller();
    uint64_t mfn = pick_offline_frame();
    uint32_t st = 0xdeadbeef;
    int want = 0, rc;

    op_describe("page_query(caller %u, mfn %" PRIu64 ")", caller, mfn);
    if ( caller != CTL )
        want = -EPERM;
    else if ( mfn >= NR_FRAMES || !node_online(node_of(mfn)) )
        want = -EINVAL;
    rc = nc_page_query(H, caller, mfn, &st);
    count_rc(OP_QUERY, rc);
    EXPECT_RC(rc, want);
    if ( !rc && st != m_query_status(mfn) )
        FAIL("query status 0x%x, model 0x%x", st, m_query_status(mfn));
}

/* ========================================================================
 * The run
 * ======================================================================== */

static const struct {
    void (*fn)(void);
    unsigned int weight;
} ops[] = {
    { op_populate,    300 },
    { op_depopulate,  160 },
    { op_increase,     30 },
    { op_free_unmapped, 25 },
    { op_claim_set,   115 },
    { op_claim_get,    20 },
    { op_claim_pages,  60 },
    { op_set_max,      50 },
    { op_create,        6 },
    { op_affinity,     25 },
    { op_alloc_anon,   35 },
    { op_free_anon,    35 },
    { op_offline,      30 },
    { op_online,       40 },
    { op_query,        10 },
};

static void op_kill_only(void)
{
    op_kill(false);
}

static void op_destroy(void)
{
    op_kill(true);
}

static void run_one(unsigned int total_weight)
{
    unsigned int x = (unsigned int)rnd(total_weight + 4);

    /* Domain teardown: about 1 per mille kill, 3 per mille destroy. */
    if ( x >= total_weight )
    {
        if ( x - total_weight < 1 )
            op_kill_only();
        else
            op_destroy();
        return;
    }
    for ( unsigned int i = 0; i < NC_ARRAY_SIZE_(ops); i++ )
    {
        if ( x < ops[i].weight )
        {
            if ( ops[i].fn == op_alloc_anon && M.nr_anon >= MAX_ANON )
                op_free_anon();
            else
                ops[i].fn();
            return;
        }
        x -= ops[i].weight;
    }
}

static void print_stats(double secs)
{
    printf("model: seed 0x%016" PRIx64 ", %" PRIu64 " ops in %.1f s\n",
           g_seed, g_nops, secs);
    printf("  %-12s", "op");
    for ( unsigned int i = 0; i < NR_STAT_RC; i++ )
        printf(" %9s", ename(-stat_errno[i]));
    printf("\n");
    for ( int op = 0; op < NR_OPS; op++ )
    {
        printf("  %-12s", op_name[op]);
        for ( unsigned int i = 0; i < NR_STAT_RC; i++ )
            printf(" %9" PRIu64, stat_rc[op][i]);
        printf("\n");
    }
    printf("  recalls: node %" PRIu64 ", host %" PRIu64 "; max_pages "
           "deductions %" PRIu64 "; redemptions with c > 0 %" PRIu64 "\n",
           stat.recall_node, stat.recall_host, stat.deduct_max,
           stat.redeem_c);
    printf("  landed past the first admissible node %" PRIu64
           "; pending frames offlined on free %" PRIu64 "\n",
           stat.not_first, stat.pending_freed);
    printf("  on average: %.2f live guests, %.0f free pages, %.0f claimed, "
           "%.1f bad frames\n",
           (double)stat.live_sum / (double)(g_nops ? g_nops : 1),
           (double)stat.free_sum / (double)(g_nops ? g_nops : 1),
           (double)stat.claimed_sum / (double)(g_nops ? g_nops : 1),
           (double)stat.bad_sum / (double)(g_nops ? g_nops : 1));
    printf("  extents by order:");
    for ( uint32_t k = 0; k <= NC_MAX_ORDER; k++ )
        if ( stat.land_order[k] )
            printf(" %u:%" PRIu64, k, stat.land_order[k]);
    printf("\n");
}

static void test_model(void **state)
{
    struct nc_host_config cfg;
    unsigned int total_weight = 0;
    char err[256];
    uint64_t seed_state;
    struct timespec t0, t1;

    (void)state;
    g_seed = env_u64("NC_MODEL_SEED", DEFAULT_SEED);
    g_nops = env_u64("NC_MODEL_OPS", DEFAULT_OPS);
    g_trace = env_u64("NC_MODEL_TRACE", UINT64_MAX);
    seed_state = g_seed;
    rng = splitmix64(&seed_state);
    if ( !rng )
        rng = 1;
    printf("model: NC_MODEL_SEED=0x%016" PRIx64 " NC_MODEL_OPS=%" PRIu64 "\n",
           g_seed, g_nops);
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &t0);

    if ( nc_host_config_parse(HOST_SPEC, &cfg, err, sizeof(err)) )
        fail_msg("bad host spec: %s", err);
    for ( uint32_t n = 0; n < NN; n++ )
    {
        assert_int_equal(cfg.node[n].nr_ranges, 1);
        assert_int_equal(cfg.node[n].range[0].start, node_start[n]);
        assert_int_equal(cfg.node[n].range[0].nr, node_frames[n]);
        for ( uint32_t k = 0; k < NN; k++ )
            assert_int_equal(cfg.distance[n][k], dist[n][k]);
    }
    cfg.node[4].online = false;
    assert_int_equal(nc_host_create(&cfg, &H), 0);
    nc_host_set_autocheck(H, 0);
    m_init();
    snprintf(g_op, sizeof(g_op), "(start)");
    check_all();
    check_frames();

    for ( unsigned int i = 0; i < NC_ARRAY_SIZE_(ops); i++ )
        total_weight += ops[i].weight;
    for ( g_opi = 0; g_opi < g_nops; g_opi++ )
    {
        run_one(total_weight);
        check_all();
        for ( uint32_t id = 1; id < NR_SLOTS; id++ )
            stat.live_sum += M.dom[id].exists && !M.dom[id].dying;
        stat.free_sum += M.total_avail;
        stat.claimed_sum += m_total_outstanding();
        stat.bad_sum += M.nr_bad;
        if ( (g_opi + 1) % SWEEP_EVERY == 0 )
            check_frames();
    }
    snprintf(g_op, sizeof(g_op), "(end of run)");
    check_frames();

    /* Tear down through the API, then check the host is whole again. */
    for ( uint32_t id = 1; id < NR_SLOTS; id++ )
        if ( M.dom[id].exists )
        {
            op_describe("final destroy(dom %u)", id);
            EXPECT_RC(nc_domain_destroy(H, CTL, (nc_domid_t)id), 0);
            m_kill(&M.dom[id]);
            M.dom[id].exists = false;
        }
    while ( M.nr_anon )
    {
        op_describe("final free_anon(mfn %" PRIu64 ")", M.anon[0].mfn);
        EXPECT_RC(nc_free_anon(H, M.anon[0].mfn, M.anon[0].order), 0);
        m_give(M.anon[0].mfn, 1ULL << M.anon[0].order);
        M.anon[0] = M.anon[--M.nr_anon];
    }
    check_all();
    check_frames();
    EXPECT_EQ("final total_avail + offlined", M.total_avail + M.offlined,
              ONLINE_PAGES);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_stats((double)(t1.tv_sec - t0.tv_sec) +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    nc_host_destroy(H);
    H = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
