/* SPDX-License-Identifier: MIT */
/*
 * White-box tests of the level-2 local checks (check.c: the checks that
 * ASSERT_EXPENSIVE_WHY runs at each point of change in NC_DEBUG=2 builds).
 *
 * Each check must pass on a consistent state and fail, naming the broken
 * rule and its values, when one field of the structure it guards is made
 * wrong: one node's heap counters, one extent map, one domain's claims;
 * and the frame sweep's count of each zone's blocks per order and each
 * map's search bound.
 * The test reaches into the core's structures (private.h) to break them,
 * then puts each field back, so the host is torn down consistent.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#include "../src/core/private.h"

#define WHY_LEN 160

/* A host with one domain that owns pages on node 0 and claims on both
 * nodes, so every structure checked is non-trivial. */
struct fixture {
    struct nc_host *h;
    struct nc_domain *d;
    nc_domid_t dom;
};

static void fixture_init(struct fixture *f)
{
    f->h = host_new("2x64M");
    f->dom = dom_new(f->h, 4096);
    for ( uint64_t g = 0; g < 8; g++ )
        assert_int_equal(nc_populate(f->h, CTL, f->dom, g * 2, 0,
                                     flags_node(0, 1), NULL), 0);
    assert_int_equal(claim_set(f->h, f->dom, 2, NODEC(0, 64), NODEC(1, 32)),
                     0);
    f->d = domain_get(f->h, f->dom);
    assert_non_null(f->d);
}

static void fixture_fini(struct fixture *f)
{
    assert_invariants(f->h);
    domain_put(f->h, f->d);
    nc_host_destroy(f->h);
}

/* Run one check with the locks it needs; returns its result and reason. */
static int node_check(struct fixture *f, uint32_t n, char *why)
{
    int rc;

    node_lock(f->h, n);
    rc = check_node_heap_locked(f->h, n, why, WHY_LEN);
    node_unlock(f->h, n);
    return rc;
}

static int claims_check(struct fixture *f, char *why)
{
    int rc;

    nc_lock(&f->d->lock);
    rc = check_domain_claims_locked(f->h, f->d, why, WHY_LEN);
    nc_unlock(&f->d->lock);
    return rc;
}

static void assert_broken(int rc, const char *why, const char *rule)
{
    assert_int_equal(rc, -EPROTO);
    assert_non_null(strstr(why, rule));
}

static void test_node_heap(void **state)
{
    struct fixture f;
    char why[WHY_LEN];
    struct nc_node *nd;

    (void)state;
    fixture_init(&f);
    nd = &f.h->node[0];
    assert_int_equal(node_check(&f, 0, why), 0);
    assert_int_equal(node_check(&f, 1, why), 0);

    nd->avail++;                            /* avail without a block */
    assert_broken(node_check(&f, 0, why), why,
                  "I7: sum of zone_avail != node_avail");
    nd->avail--;

    nd->zone_avail[nd->top_zone]++;         /* a zone's count off by one */
    assert_broken(node_check(&f, 0, why), why,
                  "I7: zone free blocks != zone_avail");
    nd->zone_avail[nd->top_zone]--;

    /* An order marked with no block, then a block's order unmarked. */
    nd->zone_orders[nd->top_zone] ^= 1u << NC_MAX_ORDER;
    assert_broken(node_check(&f, 0, why), why,
                  "buddy: zone's order mask != its orders with blocks");
    nd->zone_orders[nd->top_zone] ^= 1u << NC_MAX_ORDER;
    assert_int_not_equal(nd->zone_orders[nd->top_zone], 0);
    nd->zone_orders[nd->top_zone] &= nd->zone_orders[nd->top_zone] - 1;
    assert_broken(node_check(&f, 0, why), why,
                  "buddy: zone's order mask != its orders with blocks");
    for ( unsigned int k = 0; k <= NC_MAX_ORDER; k++ )
        if ( nd->zone_blocks[nd->top_zone][k] )
        {
            nd->zone_orders[nd->top_zone] |= 1u << k;
            break;
        }
    assert_int_equal(node_check(&f, 0, why), 0);
    fixture_fini(&f);
}

/* The frame sweep counts each zone's blocks of each order on the maps:
 * a count moved to the order below, its frames and the order mask kept
 * consistent (so every counter check still passes), is caught there; as
 * is a map whose search bound (hbitmap.h) lies above its lowest block. */
static void test_frame_sweep_counts_blocks(void **state)
{
    struct fixture f;
    char why[WHY_LEN];
    struct nc_node *nd;
    uint32_t z, k = 1, mask;
    uint64_t low;

    (void)state;
    fixture_init(&f);
    nd = &f.h->node[0];
    z = nd->top_zone;
    while ( k <= NC_MAX_ORDER && !nd->zone_blocks[z][k] )
        k++;
    assert_true(k <= NC_MAX_ORDER);
    mask = nd->zone_orders[z];
    nd->zone_blocks[z][k]--;                /* one block of 2^k frames... */
    nd->zone_blocks[z][k - 1] += 2;         /* ...counted as two halves */
    nd->zone_orders[z] |= 1u << (k - 1);
    if ( !nd->zone_blocks[z][k] )
        nd->zone_orders[z] &= ~(1u << k);
    assert_int_equal(node_check(&f, 0, why), 0);
    assert_broken(nc_host_check(f.h, NC_CHECK_FRAMES, why, WHY_LEN), why,
                  "buddy: zone's block count != its blocks on the map");
    nd->zone_blocks[z][k - 1] -= 2;
    nd->zone_blocks[z][k]++;
    nd->zone_orders[z] = mask;
    assert_int_equal(nc_host_check(f.h, NC_CHECK_FRAMES, why, WHY_LEN), 0);

    /* A map's bound above its lowest block. */
    low = nd->free[k].low;
    nd->free[k].low = hb_next(&nd->free[k], 0) + 1;
    assert_broken(nc_host_check(f.h, NC_CHECK_FRAMES, why, WHY_LEN), why,
                  "buddy: free block below its map's bound");
    nd->free[k].low = low;
    assert_int_equal(nc_host_check(f.h, NC_CHECK_FRAMES, why, WHY_LEN), 0);
    fixture_fini(&f);
}

static void test_p2m_map(void **state)
{
    struct fixture f;
    char why[WHY_LEN];
    struct nc_p2m *p;

    (void)state;
    fixture_init(&f);
    p = &f.d->p2m;
    assert_int_equal(p->nr, 8);             /* gpfns 0, 2, 4...: no merge */
    assert_int_equal(check_p2m(p, why, WHY_LEN), 0);

    p->pages++;
    assert_broken(check_p2m(p, why, WHY_LEN), why, "p2m: page count stale");
    p->pages--;

    p->e[3].gpfn = p->e[2].gpfn;            /* two runs at one gpfn */
    assert_broken(check_p2m(p, why, WHY_LEN), why, "p2m: extents overlap");
    p->e[3].gpfn = 6;

    p->e[0].nr = 0;
    p->pages--;
    assert_broken(check_p2m(p, why, WHY_LEN), why, "p2m: empty extent");
    p->e[0].nr = 1;
    p->pages++;
    assert_int_equal(check_p2m(p, why, WHY_LEN), 0);
    fixture_fini(&f);
}

static void test_domain_claims(void **state)
{
    struct fixture f;
    char why[WHY_LEN];

    (void)state;
    fixture_init(&f);
    assert_int_equal(f.d->outstanding, 96);
    assert_int_equal(claims_check(&f, why), 0);

    f.d->outstanding++;                     /* I3 */
    assert_broken(claims_check(&f, why), why,
                  "I3: d.outstanding != host_claim + node claims (97 vs 96)");
    f.d->outstanding--;

    f.d->max_pages = f.d->tot_pages + 95;   /* I6: 96 claimed, room 95 */
    assert_broken(claims_check(&f, why), why,
                  "I6: claims exceed room under max_pages (96 vs 95)");
    f.d->max_pages = 4096;

    f.d->node_claim[5] = 1;                 /* outside the mask */
    assert_broken(claims_check(&f, why), why,
                  "claims: node claim outside the mask (node, pages) (5 vs 1)");
    f.d->node_claim[5] = 0;
    assert_int_equal(claims_check(&f, why), 0);
    fixture_fini(&f);
}

/*
 * The checker that runs after each operation panics naming the broken rule
 * and its values, followed by the heap as nc_host_dump() shows it.  Run in
 * a child whose stderr the test reads.
 */
static void test_checker_failure_shows_the_heap(void **state)
{
    char out[4096];
    size_t got = 0;
    ssize_t n;
    int fd[2], status;
    pid_t pid;

    (void)state;
    assert_int_equal(pipe(fd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if ( pid == 0 )
    {
        struct nc_host *h = host_new("2x64M");
        nc_domid_t dom = dom_new(h, 4096);

        dup2(fd[1], 2);
        h->node[1].avail++;                 /* a page that is nowhere */
        nc_populate(h, CTL, dom, 0, 0, flags_node(0, 1), NULL);
        _exit(0);                           /* not reached */
    }
    close(fd[1]);
    while ( got + 1 < sizeof(out) &&
            (n = read(fd[0], out + got, sizeof(out) - 1 - got)) > 0 )
        got += (size_t)n;
    out[got] = '\0';
    close(fd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    assert_non_null(strstr(out, "host_autocheck_run: I7: sum of zone_avail "
                                "!= node_avail (16384 vs 16385)\nthe heap:\n"
                                "node 0: 16383 of 16384 pages free, "
                                "0 claimed\n"));
    assert_non_null(strstr(out, "node 1: 16385 of 16384 pages free"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_heap),
        cmocka_unit_test(test_frame_sweep_counts_blocks),
        cmocka_unit_test(test_p2m_map),
        cmocka_unit_test(test_domain_claims),
        cmocka_unit_test(test_checker_failure_shows_the_heap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
