/* SPDX-License-Identifier: MIT */
/*
 * numaclaim-bench: throughput of the allocation path and of claim sets.
 *
 * What is measured.  (1) Alloc+free pairs per second: nc_populate() of one
 * extent of 2^order frames at gpfn 0 for one domain, then nc_depopulate()
 * of the same gpfn, for order 0 and order 9, on an 8-node host of 64 GiB
 * per node ("8x64G").  Each figure is taken twice: without claims (the
 * domain holds none) and with claims active, where the domain holds a claim
 * set of one entry per node plus a host-wide entry, and every allocation
 * redeems 2^order pages of it (the first half of a batch from the node
 * entries, the rest from the host-wide one).  (2) Claim-set install/replace
 * calls per second (XEN_DOMCTL_claim_memory SET) for sets of 1, 8 and 64
 * node entries on a 64-node host ("64x1G"), alternating between two
 * different sets so that every call really replaces the previous one.
 * (3) Scaling: order-0 pairs on 1, 2, 4 and 8 threads, each with its own
 * domain and node of one host, and 2 threads with a host each, which
 * share nothing of numaclaim's: that is the machine's own scaling, the
 * ceiling of the others (two virtual CPUs may share a physical core).
 *
 * How.  The invariant checker that debug builds run after every operation is
 * switched off (nc_host_set_autocheck(h, 0)); only a release build
 * (-Dbuildtype=release -Dnc_debug=0; make bench adds -Db_lto=true) gives
 * representative figures and the program warns otherwise.  Each figure
 * runs a fixed number of iterations, sized for about 0.2-0.5 s on a 2-core
 * machine, timed with
 * clock_gettime(CLOCK_MONOTONIC); the best of 3 runs is reported (--quick:
 * 1/50 of the iterations, one run).  Host and domain set-up are outside the
 * timed region.  `--pairs N --order K [--claims | --node-claims K]` runs
 * exactly N pairs and nothing else timed, for instruction counts under
 * callgrind (bench/run.sh takes the difference of two values of N, so
 * set-up cancels out).
 *
 * Claims and batches: redemption consumes a claim and freeing never restores
 * it, so a claim set can only cover a finite number of pairs.  The pairs are
 * run in batches of at most half the host's frames' worth; with claims, a
 * claim set sized to cover exactly the pairs of the batch is installed
 * before each batch, outside the timed region, and after the batch the
 * domain's outstanding claim is checked to be 0 (every allocation redeemed
 * its full size).  With --pairs the whole run is one batch whenever N pairs
 * fit, which is the case for the values run.sh uses, so no install is
 * counted per pair.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <unistd.h>

#include <numaclaim/core.h>

#include "hostspec.h"

#define NC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef NC_DEBUG
#define NC_DEBUG 0               /* the build passes the core's level */
#endif

#define ALLOC_NODES     8
#define ALLOC_HOST      "8x64G"
#define CLAIMS_HOST     "64x1G"
#define RUNS            3
#define QUICK_DIVISOR   50

/* Iterations per run, sized for ~0.2-0.5 s each on the reference machine
 * (2 cores, release build). */
#define ITERS_PAIRS_O0  1000000ULL
#define ITERS_PAIRS_O9  1000000ULL
#define ITERS_SET_1     3000000ULL
#define ITERS_SET_8     2000000ULL
#define ITERS_SET_64    150000ULL

static const char *prog = "numaclaim-bench";

static _Noreturn void die(const char *what, int rc)
{
    fprintf(stderr, "%s: %s failed: %s (%d)\n", prog, what,
            rc < 0 ? strerror(-rc) : "unexpected result", rc);
    exit(1);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct nc_host *make_host(const char *spec)
{
    struct nc_host_config cfg;
    struct nc_host *h;
    char err[128];
    int rc = nc_host_config_parse(spec, &cfg, err, sizeof(err));

    if ( rc )
    {
        fprintf(stderr, "%s: host spec '%s': %s\n", prog, spec, err);
        exit(1);
    }
    rc = nc_host_create(&cfg, &h);
    if ( rc )
        die("nc_host_create", rc);
    nc_host_set_autocheck(h, 0);
    /* A release Xen's console threshold: the informational lines (claims
     * installed, domains created) are not formatted at all. */
    nc_host_set_loglevel(h, NC_LOG_WARNING);
    return h;
}

/* A domain allowed to own (and claim) every frame of the host. */
static nc_domid_t make_domain(struct nc_host *h)
{
    struct nc_domain_config dc = { .domid = NC_DOMID_ANY, .max_vcpus = 1 };
    struct nc_host_info info;
    nc_domid_t dom;
    int rc = nc_domain_create(h, NC_DOMID_CONTROL, &dc, &dom);

    if ( rc )
        die("nc_domain_create", rc);
    rc = nc_host_overview(h, &info, NULL, 0);
    if ( rc )
        die("nc_host_overview", rc);
    rc = nc_domain_set_max_pages(h, NC_DOMID_CONTROL, dom, info.total_pages);
    if ( rc )
        die("nc_domain_set_max_pages", rc);
    return dom;
}

/* ========================================================================
 * Alloc+free pairs
 * ======================================================================== */

struct pairs {
    struct nc_host *h;
    nc_domid_t dom;
    uint32_t order;
    bool claims;
    uint32_t node_claims;        /* with claims: 0 one entry per node plus
                                  * host-wide, else that many node entries */
    uint32_t nr_nodes;
    uint64_t batch;              /* most pairs one claim set covers */
};

static void pairs_init(struct pairs *p, uint32_t order, bool claims,
                       uint32_t node_claims)
{
    struct nc_host_info info;
    int rc;

    p->h = make_host(ALLOC_HOST);
    p->dom = make_domain(p->h);
    p->order = order;
    p->claims = claims;
    p->node_claims = node_claims;
    rc = nc_host_overview(p->h, &info, NULL, 0);
    if ( rc )
        die("nc_host_overview", rc);
    p->nr_nodes = info.nr_nodes;
    /* Half of the memory the claims can be on: claims on K nodes cover
     * at most K nodes' worth. */
    p->batch = (info.total_pages / 2 / info.nr_nodes *
                (node_claims ? node_claims : info.nr_nodes)) >> order;
    if ( !p->batch )
        p->batch = 1;
}

static void pairs_fini(struct pairs *p)
{
    nc_host_destroy(p->h);
}

/*
 * Install a claim set covering exactly `n` pairs.  The mixed set: half of
 * them (rounded down) spread over one entry per node in multiples of
 * 2^order, the rest in the host-wide entry.  With node_claims = K: all of
 * them spread over entries on nodes 0..K-1, none host-wide.  Each
 * allocation then redeems exactly 2^order pages (from the node with the
 * largest remaining claim while any is left, then host-wide), and the
 * claims reach 0 with the batch's last allocation.
 */
static void install_cover(const struct pairs *p, uint64_t n)
{
    struct nc_claim set[NC_CLAIM_MAX_ENTRIES];
    uint32_t nodes = p->node_claims ? p->node_claims : p->nr_nodes;
    uint64_t on_nodes = p->node_claims ? n : n / 2;
    uint32_t nr = 0;
    int rc;

    for ( uint32_t i = 0; i < nodes; i++ )
        set[nr++] = (struct nc_claim){
            .pages = (on_nodes / nodes + (i < on_nodes % nodes)) << p->order,
            .target = i };
    if ( !p->node_claims )
        set[nr++] = (struct nc_claim){ .pages = (n - on_nodes) << p->order,
                                       .target = NC_CLAIM_HOST };
    rc = nc_claim_memory(p->h, NC_DOMID_CONTROL, p->dom, NC_CLAIM_MEMORY_SET,
                         set, &nr);
    if ( rc )
        die("nc_claim_memory(SET)", rc);
}

/*
 * The pristine variant: n populates at gpfns 0..n-1 on a heap that has
 * never been split, then n depopulates in the same order.  No freed block
 * is reused, so each allocation is served by splitting and each free by
 * merging (the cache fills and overflows to the maps): the cost of the
 * heap itself rather than of the cache.
 */
static void run_pristine(const struct pairs *p, uint64_t n)
{
    for ( uint64_t i = 0; i < n; i++ )
        if ( nc_populate(p->h, NC_DOMID_CONTROL, p->dom, i << p->order,
                         p->order, NC_MEMFLAGS_NONE, NULL) )
            die("nc_populate (pristine)", -ENOMEM);
    for ( uint64_t i = 0; i < n; i++ )
        if ( nc_depopulate(p->h, NC_DOMID_CONTROL, p->dom, i << p->order,
                           p->order) )
            die("nc_depopulate (pristine)", -ENOENT);
}

static void run_pairs(const struct pairs *p, uint64_t n)
{
    for ( uint64_t i = 0; i < n; i++ )
    {
        int rc = nc_populate(p->h, NC_DOMID_CONTROL, p->dom, 0, p->order,
                             NC_MEMFLAGS_NONE, NULL);

        if ( rc )
            die("nc_populate", rc);
        rc = nc_depopulate(p->h, NC_DOMID_CONTROL, p->dom, 0, p->order);
        if ( rc )
            die("nc_depopulate", rc);
    }
}

/* Every pair gave its frames back and every claim was redeemed. */
static void check_drained(const struct pairs *p)
{
    struct nc_domain_info di;
    int rc = nc_domain_getinfo(p->h, p->dom, &di);

    if ( rc )
        die("nc_domain_getinfo", rc);
    if ( di.tot_pages != 0 || di.outstanding != 0 )
    {
        fprintf(stderr, "%s: after a batch: tot_pages %" PRIu64
                ", outstanding claims %" PRIu64 " (expected 0 and 0)\n",
                prog, di.tot_pages, di.outstanding);
        exit(1);
    }
}

/* Run n pairs in batches; returns the seconds spent inside the batches. */
static double time_pairs(const struct pairs *p, uint64_t n)
{
    double spent = 0;

    while ( n )
    {
        uint64_t b = n < p->batch ? n : p->batch;
        double t0;

        if ( p->claims )
            install_cover(p, b);
        t0 = now();
        run_pairs(p, b);
        spent += now() - t0;
        check_drained(p);
        n -= b;
    }
    return spent;
}

/* ========================================================================
 * Claim-set install/replace
 * ======================================================================== */

struct sets {
    struct nc_host *h;
    nc_domid_t dom;
    uint32_t nr;
    struct nc_claim set[2][NC_MAX_NUMNODES];
};

/* Two sets of nr node entries, ascending by node: they differ in their
 * nodes (when nr < 64) and in their page counts. */
static void sets_init(struct sets *s, uint32_t nr)
{
    uint32_t stride = NC_MAX_NUMNODES / nr;

    s->h = make_host(CLAIMS_HOST);
    s->dom = make_domain(s->h);
    s->nr = nr;
    for ( uint32_t k = 0; k < 2; k++ )
        for ( uint32_t i = 0; i < nr; i++ )
            s->set[k][i] = (struct nc_claim){
                .pages = 1024 * (k + 1) + i,
                .target = i * stride + (stride > 1 ? k : 0) };
}

static double time_sets(const struct sets *s, uint64_t n)
{
    struct nc_claim set[2][NC_MAX_NUMNODES];
    double t0;

    /* nc_claim_memory() takes a writable set (GET writes it). */
    memcpy(set, s->set, sizeof(set));
    t0 = now();
    for ( uint64_t i = 0; i < n; i++ )
    {
        uint32_t nr = s->nr;
        int rc = nc_claim_memory(s->h, NC_DOMID_CONTROL, s->dom,
                                 NC_CLAIM_MEMORY_SET, set[i & 1], &nr);

        if ( rc )
            die("nc_claim_memory(SET)", rc);
    }
    return now() - t0;
}

/* ========================================================================
 * Scaling: threads on disjoint domains and nodes
 * ======================================================================== */

#define SCALE_HOST      "8x2G"
#define SCALE_MAX       8
#define ITERS_SCALE     2000000ULL  /* pairs per thread */

struct scale_thread {
    pthread_t tid;
    struct nc_host *h;
    nc_domid_t dom;
    uint32_t node;
    uint64_t iters;
};

/* Order-0 pairs for one domain, every allocation pinned to one node. */
static void *scale_main(void *arg)
{
    struct scale_thread *t = arg;
    struct nc_memflags f = { .node = t->node, .exact = true };

    for ( uint64_t i = 0; i < t->iters; i++ )
    {
        int rc = nc_populate(t->h, NC_DOMID_CONTROL, t->dom, 0, 0, f, NULL);

        if ( rc )
            die("nc_populate (scaling)", rc);
        rc = nc_depopulate(t->h, NC_DOMID_CONTROL, t->dom, 0, 0);
        if ( rc )
            die("nc_depopulate (scaling)", rc);
    }
    return NULL;
}

/* Total pairs/s of `threads` threads, each on its own domain and node of
 * one host, or (apart) each on a host of its own, so that they share
 * nothing of numaclaim's: the machine's own scaling, the ceiling for the
 * other figures. */
static double time_scaling(uint32_t threads, uint64_t iters, bool apart)
{
    struct scale_thread t[SCALE_MAX];
    struct nc_host *hosts[SCALE_MAX];
    uint32_t nr_hosts = apart ? threads : 1;
    double t0, s;

    for ( uint32_t i = 0; i < nr_hosts; i++ )
        hosts[i] = make_host(SCALE_HOST);
    for ( uint32_t i = 0; i < threads; i++ )
    {
        struct nc_host *h = hosts[apart ? i : 0];

        t[i] = (struct scale_thread){ .h = h, .dom = make_domain(h),
                                      .node = i % SCALE_MAX, .iters = iters };
    }
    t0 = now();
    for ( uint32_t i = 0; i < threads; i++ )
        if ( pthread_create(&t[i].tid, NULL, scale_main, &t[i]) )
            die("pthread_create", -EAGAIN);
    for ( uint32_t i = 0; i < threads; i++ )
        pthread_join(t[i].tid, NULL);
    s = now() - t0;
    for ( uint32_t i = 0; i < nr_hosts; i++ )
        nc_host_destroy(hosts[i]);
    return (double)threads * (double)iters / s;
}

static const uint32_t scale_threads[] = { 1, 2, 4, 8 };
static double scale_rate[NC_ARRAY_SIZE(scale_threads)];
static double scale_rate_apart;     /* 2 threads, a host each */

static void measure_scaling(uint64_t iters, bool first)
{
    double r;

    for ( size_t i = 0; i < NC_ARRAY_SIZE(scale_threads); i++ )
    {
        r = time_scaling(scale_threads[i], iters, false);
        if ( first || r > scale_rate[i] )
            scale_rate[i] = r;
    }
    r = time_scaling(2, iters, true);
    if ( first || r > scale_rate_apart )
        scale_rate_apart = r;
}

static void print_scaling(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    printf("\nscaling: order-0 pairs, one domain and node per thread, host "
           SCALE_HOST ", %ld CPUs online\n", cpus);
    printf("%-10s %14s %10s\n", "threads", "pairs/s", "vs 1");
    for ( size_t i = 0; i < NC_ARRAY_SIZE(scale_threads); i++ )
        printf("%-10" PRIu32 " %14.0f %10.2f\n", scale_threads[i],
               scale_rate[i], scale_rate[0] > 0 ? scale_rate[i] / scale_rate[0]
                                                : 0);
    printf("%-10s %14.0f %10.2f   (2 threads, a host each: the machine's "
           "own)\n", "2 apart", scale_rate_apart,
           scale_rate[0] > 0 ? scale_rate_apart / scale_rate[0] : 0);
}

/* ========================================================================
 * Figures, table and JSON
 * ======================================================================== */

enum fig_kind { FIG_PAIRS, FIG_SET };

struct figure {
    const char *key;             /* JSON key stem */
    const char *label;
    enum fig_kind kind;
    uint32_t arg;                /* order, or entries per set */
    bool claims;
    uint64_t iters;
    double best_s;               /* fastest run */
    double rate;                 /* iters / best_s */
};

static struct figure figures[] = {
    { "alloc_free_o0", "alloc+free order 0", FIG_PAIRS, 0, false,
      ITERS_PAIRS_O0, 0, 0 },
    { "alloc_free_o0_claims", "alloc+free order 0, claims", FIG_PAIRS, 0,
      true, ITERS_PAIRS_O0, 0, 0 },
    { "alloc_free_o9", "alloc+free order 9", FIG_PAIRS, 9, false,
      ITERS_PAIRS_O9, 0, 0 },
    { "alloc_free_o9_claims", "alloc+free order 9, claims", FIG_PAIRS, 9,
      true, ITERS_PAIRS_O9, 0, 0 },
    { "claim_set_1", "claim set install/replace, 1 entry", FIG_SET, 1,
      false, ITERS_SET_1, 0, 0 },
    { "claim_set_8", "claim set install/replace, 8 entries", FIG_SET, 8,
      false, ITERS_SET_8, 0, 0 },
    { "claim_set_64", "claim set install/replace, 64 entries", FIG_SET, 64,
      false, ITERS_SET_64, 0, 0 },
};

/* One run of a figure; keeps the fastest. */
static void measure_once(struct figure *f, bool first)
{
    double s;

    if ( f->kind == FIG_PAIRS )
    {
        struct pairs p;

        pairs_init(&p, f->arg, f->claims, 0);
        s = time_pairs(&p, f->iters);
        pairs_fini(&p);
    }
    else
    {
        struct sets st;

        sets_init(&st, f->arg);
        s = time_sets(&st, f->iters);
        nc_host_destroy(st.h);
    }
    if ( first || s < f->best_s )
        f->best_s = s;
    f->rate = f->best_s > 0 ? (double)f->iters / f->best_s : 0;
}

static const struct figure *find_figure(const char *key)
{
    for ( size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++ )
        if ( !strcmp(figures[i].key, key) )
            return &figures[i];
    return NULL;
}

static void print_table(int runs)
{
    printf("numaclaim-bench: pairs on host %s, claim sets on host %s; "
           "best of %d run%s\n\n", ALLOC_HOST, CLAIMS_HOST, runs,
           runs == 1 ? "" : "s");
    printf("%-40s %10s %10s %14s\n", "figure", "iterations", "ns/op",
           "ops/s");
    for ( size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++ )
    {
        const struct figure *f = &figures[i];

        printf("%-40s %10" PRIu64 " %10.1f %14.0f\n", f->label, f->iters,
               f->best_s * 1e9 / (double)f->iters, f->rate);
    }
    printf("\n");
    for ( uint32_t order = 0; order <= 9; order += 9 )
    {
        char key[32];
        const struct figure *a, *b;

        snprintf(key, sizeof(key), "alloc_free_o%" PRIu32, order);
        a = find_figure(key);
        snprintf(key, sizeof(key), "alloc_free_o%" PRIu32 "_claims", order);
        b = find_figure(key);
        printf("order %" PRIu32 " pairs/s with claims / without: %.3f\n",
               order, a->rate > 0 ? b->rate / a->rate : 0);
    }
}

static bool is_release(void)
{
#if defined(__OPTIMIZE__) && NC_DEBUG == 0
    return true;
#else
    return false;
#endif
}

/*
 * Flat JSON, one key per line and the closing brace alone on the last line,
 * so that bench/run.sh can read and extend it without a JSON tool.
 */
static int write_json(FILE *f, const char *path, int runs, bool quick)
{
    fprintf(f, "{\n");
    fprintf(f, "  \"schema\": \"numaclaim-bench/1\",\n");
    fprintf(f, "  \"release_build\": %s,\n", is_release() ? "true" : "false");
    fprintf(f, "  \"nc_debug\": %d,\n", (int)NC_DEBUG);
    fprintf(f, "  \"quick\": %s,\n", quick ? "true" : "false");
    fprintf(f, "  \"runs\": %d,\n", runs);
    fprintf(f, "  \"pairs_host\": \"%s\",\n", ALLOC_HOST);
    fprintf(f, "  \"claim_sets_host\": \"%s\",\n", CLAIMS_HOST);
    fprintf(f, "  \"scaling_host\": \"%s\",\n", SCALE_HOST);
    for ( size_t i = 0; i < NC_ARRAY_SIZE(scale_threads); i++ )
        fprintf(f, "  \"scaling_%" PRIu32 "_threads_pairs_per_s\": %.0f,\n",
                scale_threads[i], scale_rate[i]);
    fprintf(f, "  \"scaling_2_threads_apart_pairs_per_s\": %.0f,\n",
            scale_rate_apart);
    for ( size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++ )
    {
        const struct figure *fg = &figures[i];
        const char *unit = fg->kind == FIG_PAIRS ? "pairs_per_s" : "per_s";

        fprintf(f, "  \"%s_iters\": %" PRIu64 ",\n", fg->key, fg->iters);
        fprintf(f, "  \"%s_best_s\": %.6f,\n", fg->key, fg->best_s);
        fprintf(f, "  \"%s_%s\": %.0f,\n", fg->key, unit, fg->rate);
    }
    for ( uint32_t order = 0; order <= 9; order += 9 )
    {
        char key[32];
        const struct figure *a, *b;

        snprintf(key, sizeof(key), "alloc_free_o%" PRIu32, order);
        a = find_figure(key);
        snprintf(key, sizeof(key), "alloc_free_o%" PRIu32 "_claims", order);
        b = find_figure(key);
        fprintf(f, "  \"alloc_free_o%" PRIu32 "_pairs_ratio\": %.4f%s\n",
                order, a->rate > 0 ? b->rate / a->rate : 0,
                order == 9 ? "" : ",");
    }
    fprintf(f, "}\n");
    if ( fclose(f) )
    {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* ========================================================================
 * Command line
 * ======================================================================== */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--quick] [--json FILE]\n"
            "       %s --pairs N --order K [--claims | --node-claims K | "
            "--pristine]\n"
            "       %s --installs N --entries K\n"
            "       %s --help\n"
            "\n"
            "Without --pairs: measure alloc+free pairs/s (order 0 and 9, "
            "without and\n"
            "with claims, host " ALLOC_HOST ") and claim-set install/replace "
            "calls/s (1, 8\n"
            "and 64 entries, host " CLAIMS_HOST "), best of %d runs, and "
            "print a table.\n"
            "  --json FILE   also write the figures to FILE as JSON\n"
            "  --quick       1/%d of the iterations, one run (smoke test)\n"
            "\n"
            "With --pairs: set up, then run exactly N populate+depopulate "
            "pairs of\n"
            "order K (0..%d) and exit, printing nothing; --claims first "
            "installs a\n"
            "claim set that the N allocations redeem (one entry per node "
            "and a host-wide\n"
            "one; --node-claims K: entries on nodes 0..K-1 only).  "
            "--pristine: N populates\n"
            "at gpfns 0..N-1 on the unsplit heap, then N depopulates (the "
            "heap without\n"
            "the cache's reuse).  For callgrind.\n"
            "\n"
            "With --installs: set up, then make exactly N claim-set "
            "installs/replaces\n"
            "of K node entries (1..%d, host " CLAIMS_HOST ") and exit, "
            "printing nothing.\n"
            "For callgrind.\n",
            prog, prog, prog, prog, RUNS, QUICK_DIVISOR, NC_MAX_ORDER,
            NC_MAX_NUMNODES);
}

static _Noreturn void bad_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "%s: %s%s%s%s\nTry '%s --help'.\n", prog, msg,
            arg ? " '" : "", arg ? arg : "", arg ? "'" : "", prog);
    exit(2);
}

static uint64_t parse_count(const char *opt, const char *s, uint64_t max)
{
    char *end;
    unsigned long long v;

    if ( !s )
        bad_usage("missing value after", opt);
    errno = 0;
    v = strtoull(s, &end, 10);
    if ( *s < '0' || *s > '9' || *end || errno || v > max )
    {
        fprintf(stderr, "%s: bad value '%s' for %s (expected 0..%" PRIu64
                ")\nTry '%s --help'.\n", prog, s, opt, max, prog);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *json = NULL;
    FILE *jf = NULL;
    bool quick = false, claims = false, have_order = false, pristine = false;
    uint64_t pairs = 0, order = 0, node_claims = 0, installs = 0, entries = 0;
    bool have_pairs = false, have_installs = false;
    int runs = RUNS;

    for ( int i = 1; i < argc; i++ )
    {
        const char *a = argv[i];

        if ( !strcmp(a, "--help") || !strcmp(a, "-h") )
        {
            usage(stdout);
            return 0;
        }
        else if ( !strcmp(a, "--quick") )
            quick = true;
        else if ( !strcmp(a, "--claims") )
            claims = true;
        else if ( !strcmp(a, "--pristine") )
            pristine = true;
        else if ( !strcmp(a, "--node-claims") )
        {
            node_claims = parse_count(a, i + 1 < argc ? argv[i + 1] : NULL,
                                      ALLOC_NODES);
            if ( !node_claims )
                bad_usage("--node-claims needs 1 or more, not", argv[i + 1]);
            claims = true;
            i++;
        }
        else if ( !strcmp(a, "--json") )
        {
            if ( i + 1 >= argc || !argv[i + 1][0] )
                bad_usage("missing file name after", a);
            json = argv[++i];
        }
        else if ( !strcmp(a, "--pairs") )
        {
            pairs = parse_count(a, i + 1 < argc ? argv[i + 1] : NULL,
                                UINT64_MAX >> 1);
            have_pairs = true;
            i++;
        }
        else if ( !strcmp(a, "--installs") )
        {
            installs = parse_count(a, i + 1 < argc ? argv[i + 1] : NULL,
                                   UINT64_MAX >> 1);
            have_installs = true;
            i++;
        }
        else if ( !strcmp(a, "--entries") )
        {
            entries = parse_count(a, i + 1 < argc ? argv[i + 1] : NULL,
                                  NC_MAX_NUMNODES);
            if ( !entries )
                bad_usage("--entries needs 1 or more, not", argv[i]);
            i++;
        }
        else if ( !strcmp(a, "--order") )
        {
            order = parse_count(a, i + 1 < argc ? argv[i + 1] : NULL,
                                NC_MAX_ORDER);
            have_order = true;
            i++;
        }
        else
            bad_usage("unknown argument", a);
    }

    if ( have_installs )
    {
        struct sets st;

        if ( have_pairs || have_order || claims || pristine || json || quick ||
             !entries )
            bad_usage("--installs goes with --entries K alone", NULL);
        sets_init(&st, (uint32_t)entries);
        time_sets(&st, installs);
        nc_host_destroy(st.h);
        return 0;
    }
    if ( entries )
        bad_usage("--entries needs --installs", NULL);
    if ( have_pairs )
    {
        struct pairs p;

        if ( json || quick )
            bad_usage("--json and --quick do not go with --pairs", NULL);
        pairs_init(&p, (uint32_t)order, claims, (uint32_t)node_claims);
        if ( claims && pairs > p.batch )
            fprintf(stderr, "%s: warning: %" PRIu64 " pairs of order %"
                    PRIu64 " need %" PRIu64 " claim sets; their installs are"
                    " counted too\n", prog, pairs, order,
                    (pairs + p.batch - 1) / p.batch);
        if ( pristine )
        {
            if ( claims || pairs > p.batch )
                bad_usage("--pristine goes without claims, with at most "
                          "half the host's pages, not", NULL);
            run_pristine(&p, pairs);
        }
        else
            time_pairs(&p, pairs);
        pairs_fini(&p);
        return 0;
    }
    if ( have_order || claims || pristine )
        bad_usage("--order, --claims, --node-claims and --pristine need --pairs",
                  NULL);
    /* Opened now, so that a bad path fails before the measurements. */
    if ( json && !(jf = fopen(json, "w")) )
    {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, json,
                strerror(errno));
        return 1;
    }

    if ( !is_release() )
        fprintf(stderr, "%s: warning: not a release build (NC_DEBUG=%d%s); "
                "figures are not representative\n", prog, (int)NC_DEBUG,
#ifdef __OPTIMIZE__
                ""
#else
                ", unoptimized"
#endif
                );
    if ( quick )
    {
        runs = 1;
        for ( size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++ )
            figures[i].iters = figures[i].iters / QUICK_DIVISOR + 1;
    }
    /* Runs are interleaved (every figure once, then again...) so that a
     * burst of load elsewhere on the machine hits the figures compared in a
     * ratio alike rather than one of them. */
    for ( int run = 0; run < runs; run++ )
    {
        for ( size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++ )
            measure_once(&figures[i], run == 0);
        measure_scaling(quick ? ITERS_SCALE / QUICK_DIVISOR + 1 : ITERS_SCALE,
                        run == 0);
    }
    print_table(runs);
    print_scaling();
    if ( jf && write_json(jf, json, runs, quick) )
        return 1;
    return 0;
}
