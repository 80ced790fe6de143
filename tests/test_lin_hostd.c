/* SPDX-License-Identifier: MIT */
/*
 * The linearizability check across processes: the histories of
 * test_linearizable.c, issued by 2 to 4 processes through Debian's
 * libxenctrl on the stand-in libxencall to one `numaclaim hostd` (host
 * "1M,1M"), each call recording the ticks of a counter in shared memory
 * before and after it.  Each history starts from domains 1 and 2 (max_pages
 * 160) and no domain 3, and must have an order that the sequential model
 * of lin_model.h explains, in its libxenctrl mode: populate and
 * depopulate say only whether they failed (libxenctrl reports EBUSY for
 * "no extent done"), no MFNs and no offlining, domain info as
 * xc_domain_getinfo gives it.
 *
 * NC_LIN_HISTORIES (default 150) sets the number of histories.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include <numaclaim/xc-claims.h>

#include "common.h"
#include "hostd_spawn.h"
#include "lin_model.h"
#include "xc_common.h"

#define DEFAULT_SEED        0x6c696e686f737464ULL
#define DEFAULT_HISTORIES   150u

/* What the processes share: the clock, the start line, the records. */
struct shared {
    atomic_uint_fast64_t ticks;
    pthread_barrier_t go;
    struct call buf[MAX_THREADS][MAX_OPS];
};

static struct shared *sh;
static char sock_path[108];
static pid_t hostd_pid = -1;
static xc_interface *xch;

/* One call through libxenctrl; rc is 0 or -errno. */
static void do_call(xc_interface *x, struct call *c)
{
    xen_memory_claim_t set[3];
    xen_sysctl_node_claims_t nodes[NR_NODES];
    struct xc_claim_overview o;
    xc_dominfo_t di = { .domid = DOMID_INVALID };
    xen_pfn_t gpfn = c->arg;
    uint32_t nr = c->nr;
    int r = 0, e;

    for ( uint32_t i = 0; i < c->nr; i++ )
        set[i] = (xen_memory_claim_t){ .pages = c->set[i].pages,
                                       .target = c->set[i].target };
    c->start = atomic_fetch_add(&sh->ticks, 1);
    switch ( (enum kind)c->kind )
    {
    case K_SET:
        r = xc_domain_claim_memory(x, c->dom, XEN_DOMCTL_CLAIM_MEMORY_SET,
                                   &nr, set);
        break;
    case K_LEGACY:
        r = xc_domain_claim_pages(x, c->dom, c->arg);
        break;
    case K_POPULATE:
        r = xc_domain_populate_physmap_exact(x, c->dom, 1, 0,
                                             XENMEMF_exact_node(c->node),
                                             &gpfn);
        break;
    case K_DEPOPULATE:
        r = xc_domain_decrease_reservation_exact(x, c->dom, 1, 0, &gpfn);
        break;
    case K_MAX:
        r = xc_domain_setmaxmem(x, c->dom, c->arg * 4);
        break;
    case K_CREATE:
    {
        uint32_t d = c->dom;

        r = xc_test_create(x, &d, 1);
        break;
    }
    case K_DESTROY:
        r = xc_domain_destroy(x, c->dom);
        break;
    case K_INFO:
        r = xc_domain_getinfo(x, c->dom, 1, &di);
        break;
    case K_OVERVIEW:
        nr = NR_NODES;
        r = xc_claim_overview(x, &o, &nr, nodes);
        break;
    default:
        break;
    }
    e = errno;
    c->end = atomic_fetch_add(&sh->ticks, 1);

    c->rc = r < 0 ? -e : 0;
    if ( c->kind == K_INFO )
    {
        /* The first domain from c->dom on: another one is "no such". */
        c->rc = r == 1 && di.domid == c->dom ? 0 : -ESRCH;
        c->out[0] = di.nr_pages;
        c->out[1] = di.max_memkb / 4;
        c->out[2] = di.nr_outstanding_pages;
        c->out[5] = di.dying;
    }
    else if ( c->kind == K_OVERVIEW && !r )
    {
        c->out[0] = o.free_pages;
        c->out[1] = o.outstanding_pages;
        c->out[3] = nodes[0].free;
        c->out[4] = nodes[1].free;
        c->out[5] = nodes[0].claimed;
        c->out[6] = nodes[1].claimed;
    }
}

static void worker_process(struct worker *w)
{
    xc_interface *x = xc_interface_open(NULL, NULL, 0);

    pthread_barrier_wait(&sh->go);
    if ( !x )
        _exit(3);
    for ( uint32_t i = 0; i < w->nr_ops; i++ )
    {
        gen_call(w, &w->out[i]);
        do_call(x, &w->out[i]);
    }
    xc_interface_close(x);
    _exit(0);
}

/* Back to domains 1 and 2 with max_pages 160, all memory free. */
static void reset_host(void)
{
    struct xc_claim_overview o;
    uint32_t nr = 0;

    for ( uint32_t d = 1; d < NR_DOMS; d++ )
        (void)xc_domain_destroy(xch, d);
    for ( uint32_t d = 1; d <= 2; d++ )
    {
        uint32_t got = d;

        assert_int_equal(xc_test_create(xch, &got, 1), 0);
        assert_int_equal(xc_domain_setmaxmem(xch, d, INITIAL_MAX * 4), 0);
    }
    assert_int_equal(xc_claim_overview(xch, &o, &nr, NULL), 0);
    assert_int_equal(o.free_pages, NR_FRAMES);
    assert_int_equal(o.outstanding_pages, 0);
}

static void run_history(uint64_t seed, uint64_t k)
{
    uint64_t x = (seed ^ (k * 0x9E3779B97F4A7C15ULL)) *
                 0x2545F4914F6CDD1DULL + 1;
    uint32_t nr_procs = 2 + (uint32_t)((x >> 33) % (MAX_THREADS - 1));
    uint32_t nr_ops[MAX_THREADS];
    pthread_barrierattr_t ba;
    pid_t pid[MAX_THREADS];
    char why[256];

    reset_host();
    memset(sh->buf, 0, sizeof(sh->buf));
    atomic_store(&sh->ticks, 0);
    pthread_barrierattr_init(&ba);
    pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
    assert_int_equal(pthread_barrier_init(&sh->go, &ba, nr_procs), 0);
    pthread_barrierattr_destroy(&ba);
    for ( uint32_t t = 0; t < nr_procs; t++ )
    {
        struct worker w = { .idx = t, .out = sh->buf[t],
                            .rng = (x + t * 0xBF58476D1CE4E5B9ULL) | 1 };

        w.nr_ops = 8 + (uint32_t)rnd(&w, MAX_OPS - 7);
        nr_ops[t] = w.nr_ops;
        pid[t] = fork();
        assert_true(pid[t] >= 0);
        if ( pid[t] == 0 )
            worker_process(&w);
    }
    for ( uint32_t t = 0; t < nr_procs; t++ )
    {
        int status = -1;

        assert_int_equal(waitpid(pid[t], &status, 0), pid[t]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    pthread_barrier_destroy(&sh->go);
    if ( xc_check_invariants(xch, 2, why, sizeof(why)) )
        fail_msg("history %" PRIu64 ": invariant broken: %s", k, why);
    lin_collect(sh->buf, nr_ops, nr_procs);
}

static void test_hostd_linearizable(void **state)
{
    uint64_t seed = env_u64("NC_LIN_SEED", DEFAULT_SEED);
    uint64_t n = env_u64("NC_LIN_HISTORIES", DEFAULT_HISTORIES);
    unsigned long ok = 0, err = 0, injected = 0;

    (void)state;
    for ( uint64_t k = 0; k < n; k++ )
    {
        run_history(seed, k);
        for ( uint32_t i = 0; i < nr_calls; i++ )
            if ( calls[i].kind != K_REAP )
                calls[i].rc ? err++ : ok++;
        if ( !linearizable() )
        {
            print_history("not linearizable");
            fail_msg("history %" PRIu64 " (seed 0x%" PRIx64 ") has no "
                     "sequential explanation", k, seed);
        }
        /* And the check can fail here too: a host overview reporting
         * more free pages than the host has is explained by no order. */
        for ( uint32_t i = 0; i < nr_calls; i++ )
            if ( calls[i].kind == K_OVERVIEW )
            {
                calls[i].out[0] = NR_FRAMES + 1;
                assert_false(linearizable());
                injected++;
                break;
            }
    }
    assert_true(injected > n / 2);
    printf("linearizable through hostd: %" PRIu64 " histories, %" PRIu64
           " calls (%lu ok, %lu errors), %" PRIu64 " search states, %" PRIu64
           " pairs of overlapping calls; %lu injected results rejected\n",
           stat_histories, stat_calls, ok, err, stat_explored, stat_overlaps,
           injected);
}

static int setup(void **state)
{
    (void)state;
    lin_via_hostd = true;
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if ( sh == MAP_FAILED )
        return -1;
    hostd_pid = spawn_hostd("1M,1M", sock_path, sizeof(sock_path), 0);
    if ( hostd_pid < 0 )
        return -1;
    setenv("NUMACLAIM_SOCKET", sock_path, 1);
    xch = xc_interface_open(NULL, NULL, 0);
    return xch ? 0 : -1;
}

static int teardown(void **state)
{
    int status = -1;

    (void)state;
    if ( xch )
        xc_interface_close(xch);
    kill(hostd_pid, SIGTERM);
    waitpid(hostd_pid, &status, 0);
    munmap(sh, sizeof(*sh));
    free(memo);
    free(memo_slot);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostd_linearizable),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
