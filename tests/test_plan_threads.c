/* SPDX-License-Identifier: MIT */
/*
 * ts_plan from several threads at once (a threads suite, so that TSan
 * watches it): each thread plans the same VMs on two topologies in turn,
 * under every policy, while one more thread keeps dropping the process's
 * candidate table (ts_plan_forget).  Every plan must equal the one made
 * alone beforehand, field by field.  The candidate table is rebuilt on
 * nearly every call here, so a plan that read it after another thread
 * replaced it would read freed memory: TSan reports that as a race, and
 * without TSan the plan would differ or the test would crash.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "toolstack.h"

#define GIB         (1ULL << 18)        /* pages */
#define NR_NODES    8
#define NR_VIEWS    2
#define NR_VMS      3
#define NR_THREADS  4
#define ROUNDS      300

static struct ts_view views[NR_VIEWS];
static struct ts_vm vms[NR_VMS];
static struct ts_plan expected[NR_VIEWS][NR_VMS][TS_NR_POLICIES];
static atomic_bool planning;

/* The two topologies: every node 21 from the others, and pairs of nodes
 * 11 apart (sub-NUMA clusters).  Free memory is uneven, so that the
 * policies choose different sets on each. */
static void setup_views(void)
{
    static const uint64_t free_gib[NR_NODES] = { 3, 1, 2, 2, 4, 1, 3, 2 };

    for ( unsigned int k = 0; k < NR_VIEWS; k++ )
    {
        struct ts_view *v = &views[k];

        memset(v, 0, sizeof(*v));
        v->nr_nodes = NR_NODES;
        for ( unsigned int i = 0; i < NR_NODES; i++ )
        {
            v->free[i] = free_gib[i] * GIB;
            v->size[i] = 4 * GIB;
            v->cpus[i] = 8;
            for ( unsigned int j = 0; j < NR_NODES; j++ )
                v->distance[i][j] = i == j ? 10
                                    : k == 1 && i / 2 == j / 2 ? 11 : 21;
        }
    }
}

static void setup_vms(void)
{
    static const uint64_t gib[NR_VMS] = { 1, 5, 9 };
    static const uint32_t vcpus[NR_VMS] = { 2, 4, 12 };

    for ( unsigned int i = 0; i < NR_VMS; i++ )
    {
        memset(&vms[i], 0, sizeof(vms[i]));
        snprintf(vms[i].name, sizeof(vms[i].name), "vm%u", i);
        vms[i].memory_pages = vms[i].maxmem_pages = gib[i] * GIB;
        vms[i].vcpus = vcpus[i];
        vms[i].hvm = true;
    }
}

/* Whether two plans are the same, field by field (padding aside). */
static bool same_plan(const struct ts_plan *a, const struct ts_plan *b)
{
    if ( a->node_affinity != b->node_affinity || a->claim != b->claim ||
         a->nr_claims != b->nr_claims || a->vnuma != b->vnuma ||
         a->nr_vnodes != b->nr_vnodes )
        return false;
    for ( unsigned int i = 0; i < a->nr_claims; i++ )
        if ( a->claims[i].pages != b->claims[i].pages ||
             a->claims[i].target != b->claims[i].target )
            return false;
    for ( unsigned int i = 0; i < a->nr_vnodes; i++ )
        if ( a->vnode[i].pages != b->vnode[i].pages ||
             a->vnode[i].pnode != b->vnode[i].pnode ||
             a->vnode[i].exact != b->vnode[i].exact ||
             a->vnode[i].nr_vcpus != b->vnode[i].nr_vcpus ||
             a->vnode[i].vcpu_first != b->vnode[i].vcpu_first )
            return false;
    return true;
}

/* Plans made while others plan: how many differ from the expected. */
static void *planner(void *arg)
{
    unsigned int first = (unsigned int)(uintptr_t)arg, *wrong;
    char why[160];

    wrong = calloc(1, sizeof(*wrong));
    if ( !wrong )
        return NULL;
    for ( unsigned int r = 0; r < ROUNDS; r++ )
        for ( unsigned int k = 0; k < NR_VIEWS; k++ )
        {
            unsigned int view = (first + r + k) % NR_VIEWS;

            for ( unsigned int i = 0; i < NR_VMS; i++ )
                for ( unsigned int p = 0; p < TS_NR_POLICIES; p++ )
                {
                    struct ts_plan pl;

                    if ( ts_plan((enum ts_policy)p, &views[view], &vms[i],
                                 &pl, why, sizeof(why)) ||
                         !same_plan(&pl, &expected[view][i][p]) )
                        (*wrong)++;
                }
        }
    return wrong;
}

static void *forgetter(void *arg)
{
    (void)arg;
    while ( atomic_load(&planning) )
        ts_plan_forget();
    return NULL;
}

static void test_plans_from_threads_match_plans_alone(void **state)
{
    pthread_t t[NR_THREADS], f;
    unsigned int total = 0;
    char why[160];

    (void)state;
    setup_views();
    setup_vms();
    for ( unsigned int k = 0; k < NR_VIEWS; k++ )
        for ( unsigned int i = 0; i < NR_VMS; i++ )
            for ( unsigned int p = 0; p < TS_NR_POLICIES; p++ )
                assert_int_equal(ts_plan((enum ts_policy)p, &views[k],
                                         &vms[i], &expected[k][i][p], why,
                                         sizeof(why)), 0);
    /* The topologies and VMs are chosen so that the policies disagree:
     * the plans compared below are not all one plan.  The 5 GiB VM fits
     * no single node's free memory, so libxl and claimsets both span two
     * nodes: any two on the first topology (claimsets takes the lowest
     * set that fits, nodes 0 and 2), a pair 11 apart on the second
     * (nodes 4 and 5, the first pair with 5 GiB free). */
    assert_int_equal(__builtin_popcountll(
                         expected[0][1][TS_POLICY_NONE].node_affinity), 2);
    assert_int_equal(expected[0][1][TS_POLICY_CLAIMSETS].node_affinity,
                     0x05);
    assert_int_equal(expected[1][1][TS_POLICY_CLAIMSETS].node_affinity,
                     0x30);

    atomic_store(&planning, true);
    assert_int_equal(pthread_create(&f, NULL, forgetter, NULL), 0);
    for ( unsigned int i = 0; i < NR_THREADS; i++ )
        assert_int_equal(pthread_create(&t[i], NULL, planner,
                                        (void *)(uintptr_t)i), 0);
    for ( unsigned int i = 0; i < NR_THREADS; i++ )
    {
        unsigned int *wrong = NULL;

        assert_int_equal(pthread_join(t[i], (void **)&wrong), 0);
        assert_non_null(wrong);
        total += *wrong;
        free(wrong);
    }
    atomic_store(&planning, false);
    assert_int_equal(pthread_join(f, NULL), 0);
    assert_int_equal(total, 0);
    ts_plan_forget();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plans_from_threads_match_plans_alone),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
