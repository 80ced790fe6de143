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
 * The model, the records and the checker are in lin_model.h, shared with
 * test_lin_hostd.c, which runs the same histories as processes through
 * hostd.
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

#include "common.h"
#include "lin_model.h"

#define DEFAULT_SEED    0x6c696e6561726dULL
#define DEFAULT_HISTORIES 2000u
#define RACY_HISTORIES  300u            /* the broken install must show by then */

/* ========================================================================
 * Running a history
 * ======================================================================== */

static struct nc_host *H;
static atomic_uint_fast64_t clock_ticks;
static pthread_barrier_t go;
static bool racy;                       /* the broken claim install */


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

    {
        uint32_t nr_ops[MAX_THREADS];

        for ( uint32_t t = 0; t < nr_threads; t++ )
            nr_ops[t] = w[t].nr_ops;
        lin_collect(buf, nr_ops, nr_threads);
    }
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
