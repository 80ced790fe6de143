/* SPDX-License-Identifier: MIT */
/*
 * The toolstack suite: placement plans on fixed topologies (pure), guest
 * memory layout around the MMIO hole, and domain builds through Debian's
 * libxenctrl on numaclaim's stand-ins (NUMACLAIM_HOST=4x2G: four nodes of
 * 524288 pages): the two-builder race made deterministic by stepping the
 * builders in turn, every failure path leaving nothing behind, NUMA-aware
 * ballooning, and the parallel pool.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "toolstack.h"

#define GIB     (1ULL << 18)             /* pages */
#define NODE    (2 * GIB)                /* the test host's nodes */
#define GPFN_2M_PAGES 512ULL
#define HOST    XEN_DOMCTL_CLAIM_MEMORY_HOST

static xc_interface *xch;

/* ========================================================================
 * Fixtures
 * ======================================================================== */

static struct ts_vm vm_of(const char *name, uint64_t pages, uint32_t vcpus)
{
    struct ts_vm vm;

    memset(&vm, 0, sizeof(vm));
    snprintf(vm.name, sizeof(vm.name), "%s", name);
    vm.memory_pages = vm.maxmem_pages = pages;
    vm.vcpus = vcpus;
    vm.hvm = true;
    return vm;
}

/* A view with uniform distances local/remote and the given free pages;
 * 64 pCPUs a node, more than any plan here asks for unless it says so. */
static struct ts_view view_of(uint32_t n, uint8_t remote, const uint64_t *free)
{
    struct ts_view v;

    memset(&v, 0, sizeof(v));
    v.nr_nodes = n;
    for ( uint32_t i = 0; i < n; i++ )
    {
        v.free[i] = free[i];
        v.cpus[i] = 64;
        for ( uint32_t j = 0; j < n; j++ )
            v.distance[i][j] = i == j ? 10 : remote;
    }
    return v;
}

/* Two sockets with sub-NUMA clustering: 10 local, 11 same socket, 21
 * across. */
static struct ts_view snc_view(const uint64_t *free)
{
    struct ts_view v = view_of(4, 21, free);

    v.distance[0][1] = v.distance[1][0] = 11;
    v.distance[2][3] = v.distance[3][2] = 11;
    return v;
}

static struct ts_plan plan(enum ts_policy p, const struct ts_view *v,
                           const struct ts_vm *vm)
{
    struct ts_plan pl;
    char why[160];

    assert_int_equal(ts_plan(p, v, vm, &pl, why, sizeof(why)), 0);
    return pl;
}

static int open_xc(void **state)
{
    (void)state;
    xch = xc_interface_open(NULL, NULL, 0);
    return xch ? 0 : -1;
}

static int close_xc(void **state)
{
    (void)state;
    return xc_interface_close(xch);
}

/* Nothing left behind: only domain 0, every page free, nothing claimed. */
static void assert_host_clean(void)
{
    xc_physinfo_t pi;
    xc_domaininfo_t info[4];

    assert_int_equal(xc_physinfo(xch, &pi), 0);
    assert_int_equal(pi.free_pages, 4 * NODE);
    assert_int_equal(pi.outstanding_pages, 0);
    assert_int_equal(xc_domain_getinfolist(xch, 0, 4, info), 1);
}

static uint64_t node_pages(uint32_t domid, uint32_t node)
{
    uint64_t pages[TS_MAX_NODES] = { 0 };
    uint32_t nr = TS_MAX_NODES;

    assert_int_equal(xc_domain_node_pages(xch, domid, &nr, pages), 0);
    assert_int_equal(nr, 4);
    return pages[node];
}

/* ========================================================================
 * Plans on fixed topologies
 * ======================================================================== */

/* SLIT 255 is unreachable: the worst distance, so a node set with an
 * unreachable pair comes after every set without one. */
static void test_claimsets_avoid_unreachable_pairs(void **state)
{
    uint64_t free[4] = { 6 * GIB, 6 * GIB, 3 * GIB, 3 * GIB };
    struct ts_view v = view_of(4, 21, free);
    struct ts_vm vm = vm_of("u", 8 * GIB, 4);
    struct ts_plan p;

    (void)state;
    v.distance[0][1] = v.distance[1][0] = 255;
    /* {0,1} has the most room, but they cannot reach each other. */
    p = plan(TS_POLICY_CLAIMSETS, &v, &vm);
    assert_int_equal(p.nr_vnodes, 2);
    assert_false(p.vnode[0].pnode <= 1 && p.vnode[1].pnode <= 1);
    /* A 3-node set at 21 still beats it; only when nothing else fits is
     * the unreachable pair used. */
    v.free[2] = v.free[3] = GIB / 2;
    p = plan(TS_POLICY_CLAIMSETS, &v, &vm);
    assert_true(p.nr_vnodes >= 2);
    assert_int_equal(p.vnode[0].pnode, 0);
    assert_int_equal(p.vnode[1].pnode, 1);
}

/* The slack: "N%" of each node or "N" MiB; nothing else. */
static void test_claim_slack_parse(void **state)
{
    struct ts_slack sl;

    (void)state;
    assert_int_equal(ts_slack_parse("1%", &sl), 0);
    assert_int_equal(sl.pct, 1);
    assert_int_equal(sl.pages, 0);
    assert_int_equal(ts_slack_pages(&sl, 2 * GIB), 5242);
    assert_int_equal(ts_slack_parse("256", &sl), 0);
    assert_int_equal(sl.pct, 0);
    assert_int_equal(sl.pages, 65536);
    assert_int_equal(ts_slack_pages(&sl, 2 * GIB), 65536);
    assert_int_equal(ts_slack_parse("0", &sl), 0);
    assert_int_equal(ts_slack_pages(&sl, 2 * GIB), 0);
    assert_int_equal(ts_slack_parse("50%", &sl), 0);
    assert_int_equal(ts_slack_parse("51%", &sl), -1);
    assert_int_equal(ts_slack_parse("1.5%", &sl), -1);
    assert_int_equal(ts_slack_parse("-1", &sl), -1);
    assert_int_equal(ts_slack_parse("", &sl), -1);
    assert_int_equal(ts_slack_parse("1048577", &sl), -1);
    assert_int_equal(ts_slack_parse("%", &sl), -1);
}

/* claimsets leaves the slack unclaimed on the nodes it plans on, while
 * some set fits with it; a VM that fits nowhere with it is planned
 * without. */
static void test_claimsets_keep_the_slack(void **state)
{
    uint64_t free[2] = { GIB + 1000, 2 * GIB };
    struct ts_view v = view_of(2, 21, free);
    struct ts_vm vm = vm_of("s", GIB, 1), big = vm_of("b", 3 * GIB, 1);
    struct ts_plan p;

    (void)state;
    /* No slack: node 0 fits (1000 pages to spare) and is the lower. */
    p = plan(TS_POLICY_CLAIMSETS, &v, &vm);
    assert_int_equal(p.nr_vnodes, 1);
    assert_int_equal(p.vnode[0].pnode, 0);
    /* 5242 pages (1% of 2 GiB) kept on each node: node 1. */
    v.slack[0] = v.slack[1] = 5242;
    p = plan(TS_POLICY_CLAIMSETS, &v, &vm);
    assert_int_equal(p.nr_vnodes, 1);
    assert_int_equal(p.vnode[0].pnode, 1);
    assert_int_equal(p.claims[0].target, 1);
    assert_int_equal(p.claims[0].pages, GIB);
    /* 3 GiB fits both nodes with 5242 pages to spare on node 1 only if
     * node 0 gives all its free memory: planned without the slack. */
    p = plan(TS_POLICY_CLAIMSETS, &v, &big);
    assert_int_equal(p.nr_vnodes, 2);
    assert_int_equal(p.vnode[0].pnode, 0);
    assert_int_equal(p.vnode[0].pages + p.vnode[1].pages, 3 * GIB);
    assert_true(p.vnode[0].pages <= GIB + 1000);
    /* 2.9 GiB fits with the slack kept: the split honours it. */
    big.memory_pages = big.maxmem_pages = 3 * GIB - 26 * 512;
    p = plan(TS_POLICY_CLAIMSETS, &v, &big);
    assert_int_equal(p.nr_vnodes, 2);
    assert_true(p.vnode[0].pages <= GIB + 1000 - 5242);
    assert_true(p.vnode[1].pages <= 2 * GIB - 5242);
}

/* Memory held for arrived cpus= VMs: other VMs go elsewhere while they
 * can; the cpus= VM itself looks past it; nothing else fits: used. */
static void test_claimsets_leave_cpus_vms_their_nodes(void **state)
{
    uint64_t free[4] = { 2 * GIB, 2 * GIB, 2 * GIB, 2 * GIB };
    struct ts_view v = view_of(4, 21, free);
    struct ts_vm vm = vm_of("u", 7 * GIB / 4, 1), pin = vm_of("c", GIB, 1);
    struct ts_usage u;

    (void)state;
    memset(&u, 0, sizeof(u));
    pin.cpu_nodes = 0x3;
    ts_usage_reserve(&u, &pin, 4, v.cpus, true);
    assert_int_equal(u.reserved[0], GIB / 2);
    assert_int_equal(u.reserved[1], GIB / 2);
    assert_int_equal(u.reserved[2], 0);
    memcpy(v.reserved, u.reserved, sizeof(v.reserved));
    /* Node 0 would win (lowest); 0.5 GiB of it is held: node 2. */
    assert_int_equal(plan(TS_POLICY_CLAIMSETS, &v, &vm).vnode[0].pnode, 2);
    /* The cpus= VM gets node 0. */
    assert_int_equal(plan(TS_POLICY_CLAIMSETS, &v, &pin).vnode[0].pnode, 0);
    /* Nodes 2 and 3 full: node 0 after all. */
    v.free[2] = v.free[3] = GIB;
    assert_int_equal(plan(TS_POLICY_CLAIMSETS, &v, &vm).vnode[0].pnode, 0);
    /* Given back, never below 0; a VM without cpus= holds nothing. */
    ts_usage_reserve(&u, &pin, 4, v.cpus, false);
    ts_usage_reserve(&u, &pin, 4, v.cpus, false);
    ts_usage_reserve(&u, &vm, 4, v.cpus, true);
    for ( uint32_t n = 0; n < 4; n++ )
        assert_int_equal(u.reserved[n], 0);
    /* vnodes with pnode= hold their own pages on their nodes, whatever
     * their cpus= says. */
    pin.nr_vnodes = 2;
    pin.vnode[0] = (struct ts_vnode){ .pages = GIB / 4, .pnode = 3 };
    pin.vnode[1] = (struct ts_vnode){ .pages = 3 * GIB / 4,
                                      .pnode = TS_NO_NODE };
    ts_usage_reserve(&u, &pin, 4, v.cpus, true);
    assert_int_equal(u.reserved[3], GIB / 4);
    assert_int_equal(u.reserved[0] + u.reserved[1] + u.reserved[2], 0);
}

static void test_policies_on_an_empty_host(void **state)
{
    uint64_t free[4] = { 64 * GIB, 64 * GIB, 64 * GIB, 64 * GIB };
    struct ts_view v = view_of(4, 21, free);
    struct ts_vm vm = vm_of("a", 8 * GIB, 4);
    struct ts_plan p;

    (void)state;
    p = plan(TS_POLICY_NONE, &v, &vm);
    assert_int_equal(p.node_affinity, 0x1);
    assert_int_equal(p.claim, TS_CLAIM_NONE);
    assert_int_equal(p.nr_vnodes, 1);
    assert_int_equal(p.vnode[0].pnode, TS_NO_NODE);
    assert_false(p.vnuma);

    p = plan(TS_POLICY_HOST, &v, &vm);
    assert_int_equal(p.node_affinity, 0x1);
    assert_int_equal(p.claim, TS_CLAIM_LEGACY);

    p = plan(TS_POLICY_XAPI, &v, &vm);
    assert_int_equal(p.node_affinity, 0x1);
    assert_int_equal(p.claim, TS_CLAIM_SET);
    assert_int_equal(p.nr_claims, 1);
    assert_int_equal(p.claims[0].target, 0);
    assert_int_equal(p.claims[0].pages, 8 * GIB);
    assert_int_equal(p.vnode[0].pnode, 0);
    assert_true(p.vnode[0].exact);

    p = plan(TS_POLICY_CLAIMSETS, &v, &vm);
    assert_int_equal(p.node_affinity, 0x1);
    assert_int_equal(p.nr_vnodes, 1);
    assert_int_equal(p.vnode[0].pnode, 0);
    assert_int_equal(p.vnode[0].pages, 8 * GIB);
    assert_int_equal(p.vnode[0].nr_vcpus, 4);
    assert_int_equal(p.nr_claims, 1);
    assert_int_equal(p.claims[0].target, 0);
    assert_int_equal(p.claims[0].pages, 8 * GIB);
}

static void test_usage_and_claims_steer_the_choice(void **state)
{
    uint64_t free[4] = { 64 * GIB, 64 * GIB, 64 * GIB, 64 * GIB };
    struct ts_view v = view_of(4, 21, free);
    struct ts_vm vm = vm_of("a", 8 * GIB, 4);

    (void)state;
    /* xapi steers by placements made; libxl by the vCPUs already on a
     * node, so a placement count alone no longer moves it. */
    v.usage[0] = 1;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0x1);
    assert_int_equal(plan(TS_POLICY_XAPI, &v, &vm).claims[0].target, 1);
    v.vcpu_load[0] = 4;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0x2);
    v.vcpu_load[0] = 0;

    /* Claims are invisible to libxl's placement, not to xapi's. */
    v.usage[0] = 0;
    v.claimed[0] = 60 * GIB;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0x1);
    assert_int_equal(plan(TS_POLICY_XAPI, &v, &vm).claims[0].target, 1);
    assert_int_equal(plan(TS_POLICY_CLAIMSETS, &v, &vm).vnode[0].pnode, 1);

    /* libxl: among single nodes the one with the most free memory. */
    v.claimed[0] = 0;
    v.free[2] = 70 * GIB;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0x4);
}

static void test_nearest_node_set_on_sub_numa_clustering(void **state)
{
    uint64_t free[4] = { 10 * GIB, 10 * GIB, 40 * GIB, 40 * GIB };
    struct ts_view v = snc_view(free);
    struct ts_vm small = vm_of("s", 16 * GIB, 4), big = vm_of("b", 48 * GIB, 8);
    struct ts_plan p;

    (void)state;
    /* 16 GiB fits node 2 alone: one node, one-node claim. */
    p = plan(TS_POLICY_XAPI, &v, &small);
    assert_int_equal(p.node_affinity, 0x4);
    assert_int_equal(p.claims[0].target, 2);

    /* 48 GiB: the same-socket pair {2,3} (max distance 11), not a pair
     * across sockets.  xapi claims host-wide, its soft affinity to the
     * pair becoming the node affinity... */
    p = plan(TS_POLICY_XAPI, &v, &big);
    assert_int_equal(p.node_affinity, 0xc);
    assert_int_equal(p.nr_claims, 1);
    assert_int_equal(p.claims[0].target, HOST);
    assert_int_equal(p.claims[0].pages, 48 * GIB);

    /* ...claim sets split it over {2,3} and claim both atomically. */
    p = plan(TS_POLICY_CLAIMSETS, &v, &big);
    assert_int_equal(p.node_affinity, 0xc);
    assert_true(p.vnuma);
    assert_int_equal(p.nr_vnodes, 2);
    assert_int_equal(p.vnode[0].pnode, 2);
    assert_int_equal(p.vnode[0].pages, 24 * GIB);
    assert_int_equal(p.vnode[0].nr_vcpus, 4);
    assert_int_equal(p.vnode[1].pnode, 3);
    assert_int_equal(p.vnode[1].pages, 24 * GIB);
    assert_int_equal(p.vnode[1].vcpu_first, 4);
    assert_int_equal(p.vdistance[0][1], 11);
    assert_int_equal(p.nr_claims, 2);
    assert_int_equal(p.claims[0].target, 2);
    assert_int_equal(p.claims[0].pages, 24 * GIB);
    assert_int_equal(p.claims[1].target, 3);

    /* libxl: two nodes suffice; it only counts free memory, so it takes
     * the pair with most free memory, whatever the distance. */
    assert_int_equal(plan(TS_POLICY_NONE, &v, &big).node_affinity, 0xc);
}

static void test_split_fills_nodes_by_capacity(void **state)
{
    uint64_t free[2] = { 4 * GIB, 20 * GIB };
    struct ts_view v = view_of(2, 21, free);
    struct ts_vm vm = vm_of("a", 16 * GIB, 3);
    struct ts_plan p = plan(TS_POLICY_CLAIMSETS, &v, &vm);

    (void)state;
    /* 16 GiB fits node 1 alone. */
    assert_int_equal(p.nr_vnodes, 1);
    assert_int_equal(p.vnode[0].pnode, 1);

    /* 22 GiB needs both: node 0 gives all it has, node 1 the rest. */
    vm = vm_of("a", 22 * GIB, 3);
    p = plan(TS_POLICY_CLAIMSETS, &v, &vm);
    assert_int_equal(p.nr_vnodes, 2);
    assert_int_equal(p.vnode[0].pnode, 0);
    assert_int_equal(p.vnode[0].pages, 4 * GIB);
    assert_int_equal(p.vnode[1].pnode, 1);
    assert_int_equal(p.vnode[1].pages, 18 * GIB);
    assert_int_equal(p.vnode[0].nr_vcpus, 0);
    assert_int_equal(p.vnode[1].nr_vcpus, 3);
    assert_int_equal(p.claims[0].pages, 4 * GIB);
    assert_int_equal(p.claims[1].pages, 18 * GIB);

    /* An even split stays in 2 MiB units, the remainder on one node. */
    vm = vm_of("c", 3 * GIB + 512, 2);
    free[0] = free[1] = 20 * GIB;
    v = view_of(2, 21, free);
    v.claimed[0] = v.claimed[1] = 18 * GIB;
    p = plan(TS_POLICY_CLAIMSETS, &v, &vm);
    assert_int_equal(p.nr_vnodes, 2);
    assert_int_equal(p.vnode[0].pages, 3 * GIB / 2 + 512);
    assert_int_equal(p.vnode[1].pages, 3 * GIB / 2);

    /* Nothing fits: a host-wide claim, which the hypervisor will refuse. */
    vm = vm_of("b", 30 * GIB, 3);
    p = plan(TS_POLICY_CLAIMSETS, &v, &vm);
    assert_int_equal(p.nr_claims, 1);
    assert_int_equal(p.claims[0].target, HOST);
}

static void test_configured_vnodes_are_kept(void **state)
{
    uint64_t free[4] = { 8 * GIB, 8 * GIB, 8 * GIB, 8 * GIB };
    struct ts_view v = view_of(4, 21, free);
    struct ts_vm vm = vm_of("v", 4 * GIB, 4);
    struct ts_plan p;
    char why[160];

    (void)state;
    vm.nr_vnodes = 2;
    vm.vnode[0] = (struct ts_vnode){ .pages = GIB, .pnode = 3, .nr_vcpus = 2,
                                     .vdistance = { 10, 21 } };
    vm.vnode[1] = (struct ts_vnode){ .pages = 3 * GIB, .pnode = 1,
                                     .nr_vcpus = 2, .vcpu_first = 2,
                                     .vdistance = { 21, 10 } };
    p = plan(TS_POLICY_CLAIMSETS, &v, &vm);
    assert_int_equal(p.nr_vnodes, 2);
    assert_int_equal(p.vnode[0].pnode, 3);
    assert_true(p.vnode[0].exact);
    assert_int_equal(p.nr_claims, 2);
    assert_int_equal(p.claims[0].target, 1);
    assert_int_equal(p.claims[0].pages, 3 * GIB);
    assert_int_equal(p.claims[1].target, 3);
    assert_int_equal(p.claims[1].pages, GIB);
    p = plan(TS_POLICY_NONE, &v, &vm);
    assert_int_equal(p.node_affinity, 0);
    assert_int_equal(p.claim, TS_CLAIM_NONE);
    assert_int_equal(p.vnode[1].pnode, 1);

    vm.vnode[1].pnode = 4;
    assert_int_equal(ts_plan(TS_POLICY_NONE, &v, &vm, &p, why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "pnode 4, the host has 4 nodes"));
}

static void test_partly_pinned_vnodes_and_cpus(void **state)
{
    uint64_t free[4] = { 8 * GIB, 8 * GIB, 8 * GIB, 8 * GIB };
    struct ts_view v = view_of(4, 21, free);
    struct ts_vm vm = vm_of("m", 2 * GIB, 2);
    struct ts_plan p;
    char why[160];

    (void)state;
    /* vnode 0 pinned to node 1, vnode 1 anywhere. */
    vm.nr_vnodes = 2;
    vm.vnode[0] = (struct ts_vnode){ .pages = GIB, .pnode = 1, .nr_vcpus = 1,
                                     .vdistance = { 10, 20 } };
    vm.vnode[1] = (struct ts_vnode){ .pages = GIB, .pnode = TS_NO_NODE,
                                     .nr_vcpus = 1, .vcpu_first = 1,
                                     .vdistance = { 20, 10 } };
    for ( enum ts_policy pol = 0; pol < TS_NR_POLICIES; pol++ )
    {
        /* xapi has no vNUMA: see test_xapi_places_vnuma_guests_as_plain. */
        if ( pol == TS_POLICY_XAPI )
            continue;
        p = plan(pol, &v, &vm);
        assert_int_equal(p.nr_vnodes, 2);
        assert_int_equal(p.vnode[0].pnode, 1);
        assert_true(p.vnode[0].exact);
        assert_int_equal(p.vnode[1].pnode, TS_NO_NODE);
    }
    /* xapi ignores the vnodes (it does not support vNUMA) and places the
     * VM as a plain 2 GiB guest: node 0, not the vnode's node 1. */
    p = plan(TS_POLICY_XAPI, &v, &vm);
    assert_false(p.vnuma);
    assert_int_equal(p.nr_vnodes, 1);
    assert_int_equal(p.vnode[0].pnode, 0);
    assert_int_equal(p.vnode[0].pages, 2 * GIB);
    assert_int_equal(p.claims[0].target, 0);
    p = plan(TS_POLICY_CLAIMSETS, &v, &vm);
    assert_int_equal(p.nr_claims, 2);
    assert_int_equal(p.claims[0].target, HOST);
    assert_int_equal(p.claims[0].pages, GIB);
    assert_int_equal(p.claims[1].target, 1);
    assert_int_equal(p.claims[1].pages, GIB);

    /* cpus= restricts every policy to its nodes; xapi does not place a
     * VM with hard affinity at all (host-wide claim), and Xen's node
     * affinity follows the hard affinity. */
    vm = vm_of("c", GIB, 1);
    vm.cpu_nodes = 0x8;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0x8);
    assert_int_equal(plan(TS_POLICY_XAPI, &v, &vm).claims[0].target, HOST);
    assert_int_equal(plan(TS_POLICY_XAPI, &v, &vm).node_affinity, 0x8);
    assert_int_equal(plan(TS_POLICY_CLAIMSETS, &v, &vm).vnode[0].pnode, 3);
    vm.cpu_nodes = 0x10;
    assert_int_equal(ts_plan(TS_POLICY_XAPI, &v, &vm, &p, why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "cpus= names node 4, the host has 4 nodes"));

    /* CPU lists go through the host's numbering: 8 CPUs a node, node 0's
     * first, so CPUs 8-15 are node 1 and 6-9 nodes 0 and 1. */
    for ( uint32_t n = 0; n < 4; n++ )
        v.cpus[n] = 8;
    vm.cpu_nodes = 0;
    vm.cpu_map[0] = 0xFF00;                 /* 8-15 */
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0x2);
    assert_int_equal(plan(TS_POLICY_XAPI, &v, &vm).node_affinity, 0x2);
    assert_int_equal(plan(TS_POLICY_CLAIMSETS, &v, &vm).vnode[0].pnode, 1);
    vm.cpu_map[0] = 0xFF;                   /* 0-7 */
    assert_int_equal(plan(TS_POLICY_HOST, &v, &vm).node_affinity, 0x1);
    vm.cpu_map[0] = 0x3C0;                  /* 6-9 */
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0x3);
    vm.cpu_map[0] = 1ULL << 32;             /* beyond the host's 32 */
    assert_int_equal(ts_plan(TS_POLICY_NONE, &v, &vm, &p, why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "cpus= names CPU 32, the host has 32 CPUs"));
}

static void test_claim_sets_wider_than_32_nodes_fall_back(void **state)
{
    uint64_t free[40];
    struct ts_view v;
    struct ts_vm vm = vm_of("w", 36 * GIB, 8);
    struct ts_plan p;

    (void)state;
    for ( uint32_t n = 0; n < 40; n++ )
        free[n] = GIB;
    v = view_of(40, 21, free);
    p = plan(TS_POLICY_CLAIMSETS, &v, &vm);
    assert_int_equal(p.nr_vnodes, 1);
    assert_int_equal(p.nr_claims, 1);
    assert_int_equal(p.claims[0].target, HOST);
    assert_int_equal(p.claims[0].pages, 36 * GIB);
    /* 30 nodes are fine: one vnode each, all of the VM planned. */
    vm = vm_of("n", 30 * GIB, 30);
    p = plan(TS_POLICY_CLAIMSETS, &v, &vm);
    assert_int_equal(p.nr_vnodes, 30);
    assert_int_equal(p.nr_claims, 30);
}

/* ========================================================================
 * xapi's rules (xenopsd Softaffinity.plan, Topology.NUMA), by hand
 * ======================================================================== */

/* A node set's pCPUs must cover the vCPUs: 12 vCPUs fit node 0's memory
 * but not its 8 pCPUs, so the next candidate in (max, average) order,
 * node 1 (16 pCPUs), wins; with no node big enough in CPUs, the nearest
 * pair, {0,1} (max 21, avg 15.5, the first pair in mask order). */
static void test_xapi_cpu_bound(void **state)
{
    uint64_t free[4] = { 8 * GIB, 8 * GIB, 8 * GIB, 8 * GIB };
    struct ts_view v = view_of(4, 21, free);
    struct ts_vm vm = vm_of("cpu", 4 * GIB, 12);
    struct ts_plan p;

    (void)state;
    v.cpus[0] = 8;
    v.cpus[1] = 16;
    v.cpus[2] = v.cpus[3] = 4;
    p = plan(TS_POLICY_XAPI, &v, &vm);
    assert_int_equal(p.node_affinity, 0x2);
    assert_int_equal(p.claims[0].target, 1);

    vm.vcpus = 20;
    p = plan(TS_POLICY_XAPI, &v, &vm);
    assert_int_equal(p.node_affinity, 0x3);
    assert_int_equal(p.claims[0].target, HOST);

    /* More vCPUs than the host has: nothing valid, no affinity. */
    vm.vcpus = 33;
    p = plan(TS_POLICY_XAPI, &v, &vm);
    assert_int_equal(p.node_affinity, 0);
    assert_int_equal(p.claims[0].target, HOST);
}

/* Memory is a hard fit, over free - claimed: 6 GiB fits no node with 4
 * GiB unclaimed but node 2's 7; 12 GiB fits no node, and among the pairs
 * (all max 21, avg 15.5) those that fit compete on usage. */
static void test_xapi_memory_bound(void **state)
{
    uint64_t free[4] = { 4 * GIB, 8 * GIB, 7 * GIB, 8 * GIB };
    struct ts_view v = view_of(4, 21, free);
    struct ts_vm vm = vm_of("mem", 6 * GIB, 2);
    struct ts_plan p;

    (void)state;
    v.claimed[1] = v.claimed[3] = 4 * GIB;
    p = plan(TS_POLICY_XAPI, &v, &vm);
    assert_int_equal(p.node_affinity, 0x4);
    assert_int_equal(p.claims[0].target, 2);
    assert_int_equal(p.claims[0].pages, 6 * GIB);

    /* 12 GiB (unclaimed 4, 4, 7, 4): no pair reaches it, every triple
     * (21, 17.33) does; all unused, so the lower highest node: {0,1,2}. */
    vm.memory_pages = 12 * GIB;
    p = plan(TS_POLICY_XAPI, &v, &vm);
    assert_int_equal(p.node_affinity, 0x7);
    assert_int_equal(p.claims[0].target, HOST);

    /* Usage on node 2 makes {0,1,3} (highest node 3, usage 0) win. */
    v.usage[2] = 1;
    assert_int_equal(plan(TS_POLICY_XAPI, &v, &vm).node_affinity, 0xb);

    /* Nothing fits at all: host-wide, no affinity. */
    vm.memory_pages = 20 * GIB;
    p = plan(TS_POLICY_XAPI, &v, &vm);
    assert_int_equal(p.node_affinity, 0);
    assert_int_equal(p.claims[0].target, HOST);
}

/* Ties: sets with the first valid set's average distance compete on
 * summed usage, then on the node lists from the highest node down. */
static void test_xapi_ties(void **state)
{
    uint64_t free[4] = { 8 * GIB, 8 * GIB, 8 * GIB, 8 * GIB };
    struct ts_view v = view_of(4, 21, free);
    struct ts_view snc = snc_view(free);
    struct ts_vm vm = vm_of("t", 10 * GIB, 2);

    (void)state;
    /* 10 GiB needs a pair; all pairs are at (21, 15.5).  Least summed
     * usage wins: {2,3} (0) over the pairs with node 0 or 1. */
    v.usage[0] = v.usage[1] = 1;
    assert_int_equal(plan(TS_POLICY_XAPI, &v, &vm).node_affinity, 0xc);

    /* All pairs used equally: the lower highest node, {0,1}. */
    v.usage[2] = v.usage[3] = 1;
    assert_int_equal(plan(TS_POLICY_XAPI, &v, &vm).node_affinity, 0x3);

    /* {0,3} and {2,3} tie at 3 (usage 2, 9, 2, 1): the same highest node,
     * so the next one down decides, 0 before 2. */
    v.usage[0] = 2;
    v.usage[1] = 9;
    v.usage[2] = 2;
    v.usage[3] = 1;
    assert_int_equal(plan(TS_POLICY_XAPI, &v, &vm).node_affinity, 0x9);

    /* Single nodes the same way: usage, then the lower node. */
    vm.memory_pages = GIB;
    v.usage[0] = 3;
    v.usage[1] = v.usage[2] = 1;
    v.usage[3] = 2;
    assert_int_equal(plan(TS_POLICY_XAPI, &v, &vm).claims[0].target, 1);

    /* Only the sets with the first valid set's average compete: on the
     * SNC host {0,1} (11, 10.5) is the first valid pair, {2,3} ties it,
     * and {0,2} (21, 15.5) never competes, however unused. */
    vm.memory_pages = 10 * GIB;
    snc.usage[1] = snc.usage[3] = 9;
    assert_int_equal(plan(TS_POLICY_XAPI, &snc, &vm).node_affinity, 0x3);
    snc.usage[1] = 10;
    assert_int_equal(plan(TS_POLICY_XAPI, &snc, &vm).node_affinity, 0xc);
}

/* Above 16 nodes xapi considers single nodes only: a VM that fits no
 * node is not placed (host-wide, no affinity) even though pairs would
 * fit; one that fits goes to the least used node, then the lowest. */
static void test_xapi_single_nodes_above_16(void **state)
{
    uint64_t free[20];
    struct ts_view v;
    struct ts_vm vm = vm_of("big", 3 * GIB, 2);
    struct ts_plan p;

    (void)state;
    for ( uint32_t n = 0; n < 20; n++ )
        free[n] = 2 * GIB;
    v = view_of(20, 21, free);
    p = plan(TS_POLICY_XAPI, &v, &vm);
    assert_int_equal(p.node_affinity, 0);
    assert_int_equal(p.claims[0].target, HOST);
    /* Claim sets would split it over two nodes. */
    assert_int_equal(plan(TS_POLICY_CLAIMSETS, &v, &vm).nr_vnodes, 2);

    vm.memory_pages = GIB;
    for ( uint32_t n = 0; n < 20; n++ )
        v.usage[n] = n < 17 ? 1 : 0;
    v.free[17] = GIB / 2;                   /* too small */
    p = plan(TS_POLICY_XAPI, &v, &vm);
    assert_int_equal(p.claims[0].target, 18);
    assert_int_equal(p.node_affinity, 1ULL << 18);
}

/* libxl, memory-bound: min_nodes is 1 (4 vCPUs, 64 pCPUs a node), no
 * node holds 48 GiB, so the pairs compete: all unloaded, {2,3} has the
 * most free memory (80 GiB).  Two vCPUs on node 3 load {2,3}; the
 * unloaded pairs that fit, {0,2} {0,3} {1,2} {1,3}, all have 50 GiB,
 * and libxl keeps the first it meets, {0,2}.  Both none and host. */
static void test_libxl_memory_bound(void **state)
{
    uint64_t free[4] = { 10 * GIB, 10 * GIB, 40 * GIB, 40 * GIB };
    struct ts_view v = view_of(4, 21, free);
    struct ts_vm vm = vm_of("big", 48 * GIB, 4);

    (void)state;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0xc);
    assert_int_equal(plan(TS_POLICY_HOST, &v, &vm).node_affinity, 0xc);
    assert_int_equal(plan(TS_POLICY_HOST, &v, &vm).claim, TS_CLAIM_LEGACY);
    v.vcpu_load[3] = 2;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0x5);
    assert_int_equal(plan(TS_POLICY_HOST, &v, &vm).node_affinity, 0x5);
    /* More memory than the host has free: no placement at all. */
    vm.memory_pages = 101 * GIB;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0);
}

/* libxl, CPU-bound: 8 pCPUs a node and 12 vCPUs start the search at
 * ceil(12 / 8) = 2 nodes although 8 GiB fits any one.  Then: all pairs
 * equal, the first, {0,1}; vCPU load on node 0 decides between pairs of
 * the same free memory ({1,2} first of the unloaded); more free memory
 * on node 3 breaks the tie among the unloaded pairs ({1,3} before
 * {2,3}). */
static void test_libxl_cpu_bound(void **state)
{
    uint64_t free[4] = { 64 * GIB, 64 * GIB, 64 * GIB, 64 * GIB };
    struct ts_view v = view_of(4, 21, free);
    struct ts_vm vm = vm_of("wide", 8 * GIB, 12);

    (void)state;
    for ( uint32_t n = 0; n < 4; n++ )
        v.cpus[n] = 8;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0x3);
    v.vcpu_load[0] = 4;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0x6);
    v.free[3] = 70 * GIB;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0xa);
    assert_int_equal(plan(TS_POLICY_HOST, &v, &vm).node_affinity, 0xa);

    /* Nodes of unequal pCPUs: libxl starts at one node, and node 3's 16
     * pCPUs cover the 12 vCPUs on their own. */
    v.cpus[3] = 16;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0x8);

    /* More vCPUs than the host's pCPUs: no set qualifies. */
    vm.vcpus = 41;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0);
}

/* libxl skips placement on hosts of more than 16 nodes: the domain keeps
 * its default node affinity (all nodes); host still claims host-wide. */
static void test_libxl_no_placement_above_16(void **state)
{
    uint64_t free[17] = { [0 ... 16] = 2 * GIB };
    struct ts_view v = view_of(17, 21, free);
    struct ts_vm vm = vm_of("a", GIB, 2);

    (void)state;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0);
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).claim, TS_CLAIM_NONE);
    assert_int_equal(plan(TS_POLICY_HOST, &v, &vm).node_affinity, 0);
    assert_int_equal(plan(TS_POLICY_HOST, &v, &vm).claim, TS_CLAIM_LEGACY);
    /* At 16 nodes it still places. */
    v.nr_nodes = 16;
    assert_int_equal(plan(TS_POLICY_NONE, &v, &vm).node_affinity, 0x1);
}

/* A vNUMA guest is placed as a plain one (xapi has no vNUMA): its
 * vnodes and their pnodes are dropped, the VM goes where xapi's plan
 * puts it and is not given a vNUMA topology. */
static void test_xapi_places_vnuma_guests_as_plain(void **state)
{
    uint64_t free[4] = { 8 * GIB, 8 * GIB, 8 * GIB, 8 * GIB };
    struct ts_view v = view_of(4, 21, free);
    struct ts_vm vm = vm_of("v", 4 * GIB, 4);
    struct ts_plan p;

    (void)state;
    vm.nr_vnodes = 2;
    vm.vnode[0] = (struct ts_vnode){ .pages = GIB, .pnode = 3, .nr_vcpus = 2,
                                     .vdistance = { 10, 21 } };
    vm.vnode[1] = (struct ts_vnode){ .pages = 3 * GIB, .pnode = 1,
                                     .nr_vcpus = 2, .vcpu_first = 2,
                                     .vdistance = { 21, 10 } };
    v.usage[0] = 1;
    p = plan(TS_POLICY_XAPI, &v, &vm);
    assert_false(p.vnuma);
    assert_int_equal(p.nr_vnodes, 1);
    assert_int_equal(p.vnode[0].pages, 4 * GIB);
    assert_int_equal(p.vnode[0].nr_vcpus, 4);
    assert_int_equal(p.vnode[0].pnode, 1);
    assert_int_equal(p.nr_claims, 1);
    assert_int_equal(p.claims[0].target, 1);
    assert_int_equal(p.claims[0].pages, 4 * GIB);
}

/* ========================================================================
 * Layout
 * ======================================================================== */

static void test_vmemranges_skip_the_mmio_hole(void **state)
{
    struct ts_plan p = { .nr_vnodes = 2 };
    struct ts_layout l;

    (void)state;
    p.vnode[0].pages = 3 * GIB;                 /* [0, 3G) */
    p.vnode[1].pages = 2 * GIB;                 /* [3G, 3.75G) + [4G, 5.25G) */
    ts_layout_plan(&p, &l);
    assert_int_equal(l.nr_ranges, 3);
    assert_int_equal(l.range[0].start, 0);
    assert_int_equal(l.range[0].end, 3ULL << 30);
    assert_int_equal(l.range[0].vnode, 0);
    assert_int_equal(l.range[1].start, 3ULL << 30);
    assert_int_equal(l.range[1].end, TS_MMIO_HOLE_START);
    assert_int_equal(l.range[1].vnode, 1);
    assert_int_equal(l.range[2].start, TS_MMIO_HOLE_END);
    assert_int_equal(l.range[2].end, TS_MMIO_HOLE_END + (5ULL << 28));
    assert_int_equal(l.range[2].vnode, 1);

    /* Exactly up to the hole: no empty range. */
    p.nr_vnodes = 1;
    p.vnode[0].pages = TS_MMIO_HOLE_START >> 12;
    ts_layout_plan(&p, &l);
    assert_int_equal(l.nr_ranges, 1);
    assert_int_equal(l.range[0].end, TS_MMIO_HOLE_START);
}

/* ========================================================================
 * Builds through libxenctrl
 * ======================================================================== */

/* Two builders stepped in turn: the race, made deterministic. */
static void race(enum ts_policy p, const struct ts_vm *vm, struct ts_build *a,
                 struct ts_build *b)
{
    bool more_a = true, more_b = true;

    ts_build_init(a, vm, p);
    ts_build_init(b, vm, p);
    while ( more_a || more_b )
    {
        if ( more_a )
            more_a = ts_build_step(a, xch);
        if ( more_b )
            more_b = ts_build_step(b, xch);
    }
}

static void destroy_started(const struct ts_build *b)
{
    if ( b->outcome == TS_OUT_STARTED )
        assert_int_equal(xc_domain_destroy(xch, b->domid), 0);
}

/*
 * Two builders racing for the same VM size under each policy, one row a
 * race: what each ends as, and, where a row says (ANY: not checked), how
 * the loser failed; `more` checks what is particular to the row.
 *
 * 5 GiB each on an 8 GiB host: both fit alone, not together.  1.5 GiB
 * each: both fit node 0 alone, not together.
 */
#define ANY (-1)

struct race_row {
    const char *why;
    enum ts_policy policy;
    uint64_t pages;                     /* each VM */
    int a_outcome, b_outcome;           /* enum ts_outcome */
    int a_claimed;                      /* enum ts_claim_kind, or ANY */
    int b_error;                        /* or ANY */
    int64_t b_populated;                /* or ANY */
    int b_replans;                      /* or ANY */
    const char *b_what;                 /* or NULL */
    void (*more)(const struct ts_build *a, const struct ts_build *b);
};

/* Both planned on the same empty host (nodes 0-2) and populated in turn:
 * b ran out after 3.75 GiB and failed, its work thrown away; a then
 * finished in the memory b gave back. */
static void race_none_midway(const struct ts_build *a,
                             const struct ts_build *b)
{
    assert_int_equal(a->plan.node_affinity, 0x7);
    assert_int_equal(b->plan.node_affinity, 0x7);
    assert_int_equal(a->populated, 5 * GIB);
}

/* The winner's vnodes are where its claims are.  The loser planned after
 * a had claimed (plan and claim are one locked step): no room, its
 * host-wide claim refused (ENOMEM), nothing populated and nothing to
 * re-plan. */
static void race_claimsets_fast(const struct ts_build *a,
                                const struct ts_build *b)
{
    (void)b;
    assert_int_equal(a->plan.nr_vnodes, 3);
    for ( uint32_t v = 0; v < a->plan.nr_vnodes; v++ )
        assert_int_equal(a->vnode_pages[v][a->plan.vnode[v].pnode],
                         a->plan.vnode[v].pages);
}

/* xapi reads, plans and claims in one step (xenopsd's numa_mutex), so b
 * sees a's node claim and plans node 1: neither loses a race on a stale
 * view and falls back host-wide.  Plan and claim took one step: create,
 * plan+claim, 2 populate batches, release. */
static void race_xapi_views(const struct ts_build *a, const struct ts_build *b)
{
    assert_int_equal(a->plan.claims[0].target, 0);
    assert_int_equal(b->plan.claims[0].target, 1);
    assert_int_equal(a->vnode_pages[0][0], 3 * GIB / 2);
    assert_int_equal(b->vnode_pages[0][1], 3 * GIB / 2);
    assert_int_equal(a->nr_steps, 5);
}

/* claimsets plans and claims in one locked step too: b sees a's claim on
 * node 0 and plans node 1 at once, no re-plan. */
static void race_claimsets_views(const struct ts_build *a,
                                 const struct ts_build *b)
{
    assert_int_equal(a->plan.claims[0].target, 0);
    assert_int_equal(b->plan.claims[0].target, 1);
    assert_int_equal(a->nr_steps, 5);
}

static const struct race_row race_rows[] = {
    { "without claims, the loser fails midway", TS_POLICY_NONE, 5 * GIB,
      TS_OUT_STARTED, TS_OUT_FAILED_BUILD, ANY, ENOMEM, 15 * GIB / 4, ANY,
      NULL, race_none_midway },
    { "with claim sets, the loser fails fast", TS_POLICY_CLAIMSETS, 5 * GIB,
      TS_OUT_STARTED, TS_OUT_FAILED_CLAIM, TS_CLAIM_SET, ENOMEM, 0, 0, NULL,
      race_claimsets_fast },
    { "with a host-wide claim too", TS_POLICY_HOST, 5 * GIB,
      TS_OUT_STARTED, TS_OUT_FAILED_CLAIM, ANY, ANY, 0, ANY,
      "xc_domain_claim_pages", NULL },
    { "with xapi's claim too", TS_POLICY_XAPI, 5 * GIB,
      TS_OUT_STARTED, TS_OUT_FAILED_CLAIM, TS_CLAIM_SET, ANY, ANY, ANY, NULL,
      NULL },
    { "xapi builders never share a view", TS_POLICY_XAPI, 3 * GIB / 2,
      TS_OUT_STARTED, TS_OUT_STARTED, ANY, ANY, ANY, ANY, NULL,
      race_xapi_views },
    { "claimsets builders never share a view", TS_POLICY_CLAIMSETS,
      3 * GIB / 2, TS_OUT_STARTED, TS_OUT_STARTED, ANY, ANY, ANY, 0, NULL,
      race_claimsets_views },
};

static void test_races(void **state)
{
    (void)state;
    for ( size_t i = 0; i < sizeof(race_rows) / sizeof(race_rows[0]); i++ )
    {
        const struct race_row *r = &race_rows[i];
        struct ts_vm vm = vm_of("r", r->pages, 2);
        struct ts_build a, b;

        race(r->policy, &vm, &a, &b);
        if ( (int)a.outcome != r->a_outcome ||
             (int)b.outcome != r->b_outcome )
            fail_msg("race %s: outcomes %d and %d, expected %d and %d",
                     r->why, a.outcome, b.outcome, r->a_outcome,
                     r->b_outcome);
        if ( r->a_claimed != ANY )
            assert_int_equal(a.claimed, r->a_claimed);
        if ( r->b_error != ANY )
            assert_int_equal(b.error, r->b_error);
        if ( r->b_populated != ANY )
            assert_int_equal(b.populated, r->b_populated);
        if ( r->b_replans != ANY )
            assert_int_equal(b.replans, r->b_replans);
        if ( r->b_what )
            assert_string_equal(b.what, r->b_what);
        if ( r->more )
            r->more(&a, &b);
        destroy_started(&a);
        destroy_started(&b);
        assert_host_clean();
    }
}

/* A VM whose config pins its vnode to a node that lacks the memory fails
 * at its claim, naming the node: never re-planned, never moved elsewhere
 * with exact populate dropped.  One whose node has room lands there. */
static void test_explicit_pnodes_never_dropped(void **state)
{
    struct ts_vm filler = vm_of("f", NODE - GIB / 2, 1);
    struct ts_vm vm = vm_of("p", GIB, 1);
    struct ts_build f, b;

    (void)state;
    filler.nr_vnodes = 1;
    filler.vnode[0] = (struct ts_vnode){ .pages = NODE - GIB / 2, .pnode = 0,
                                         .nr_vcpus = 1, .vdistance = { 10 } };
    ts_build_init(&f, &filler, TS_POLICY_NONE);
    ts_build_run(&f, xch);
    assert_int_equal(f.outcome, TS_OUT_STARTED);

    vm.nr_vnodes = 1;
    vm.vnode[0] = (struct ts_vnode){ .pages = GIB, .pnode = 0, .nr_vcpus = 1,
                                     .vdistance = { 10 } };
    ts_build_init(&b, &vm, TS_POLICY_CLAIMSETS);
    ts_build_run(&b, xch);
    assert_int_equal(b.outcome, TS_OUT_FAILED_CLAIM);
    assert_int_equal(b.error, ENOMEM);
    assert_int_equal(b.replans, 0);
    assert_int_equal(b.populated, 0);
    assert_int_equal(b.claimed, TS_CLAIM_NONE);
    assert_string_equal(b.what, "xc_domain_claim_memory: node 0 has 131072 "
                                "pages unclaimed, its vnodes 262144");

    vm.vnode[0].pnode = 1;
    ts_build_init(&b, &vm, TS_POLICY_CLAIMSETS);
    ts_build_run(&b, xch);
    assert_int_equal(b.outcome, TS_OUT_STARTED);
    assert_int_equal(b.replans, 0);
    assert_true(b.plan.vnode[0].exact);
    assert_int_equal(b.plan.claims[0].target, 1);
    assert_int_equal(b.vnode_pages[0][1], GIB);
    destroy_started(&b);
    destroy_started(&f);
    assert_host_clean();
}

/* A claimsets VM whose node claim is recalled mid-populate (offlining
 * takes node 0's free memory below what it still has to populate there)
 * moves the rest of its vnode to the nearest node with room and starts,
 * instead of failing with its work thrown away. */
static void test_recalled_node_claim_moves_the_vnode(void **state)
{
    static uint32_t status[8192];
    struct ts_vm vm = vm_of("m", NODE - 2048, 2);
    struct ts_build b;

    (void)state;
    ts_build_init(&b, &vm, TS_POLICY_CLAIMSETS);
    while ( b.populated < GIB && ts_build_step(&b, xch) )
        ;
    assert_int_equal(b.populated, GIB);
    assert_int_equal(b.plan.nr_claims, 1);
    assert_int_equal(b.plan.claims[0].target, 0);
    /* 8192 frames at each end of node 0: one end is free (offlined at
     * once), the other the domain's (pending).  Node 0 is left 253952
     * free pages for the 260096 still to populate: the claim recalled. */
    xc_page_offline_op(xch, sysctl_page_offline, 0, 8191, status);
    xc_page_offline_op(xch, sysctl_page_offline, NODE - 8192, NODE - 1,
                       status);
    ts_build_run(&b, xch);
    assert_int_equal(b.outcome, TS_OUT_STARTED);
    assert_int_equal(b.moves, 1);
    assert_int_equal(b.plan.vnode[0].pnode, 1);
    assert_int_equal(b.vnode_pages[0][0], GIB + 253952);
    assert_int_equal(b.vnode_pages[0][1], 6144);
    destroy_started(&b);
    xc_page_offline_op(xch, sysctl_page_online, 0, 8191, status);
    xc_page_offline_op(xch, sysctl_page_online, NODE - 8192, NODE - 1,
                       status);
    assert_host_clean();
}

/* A big VM that arrived first keeps its plan against a small one that
 * came after it: the small one plans on a view with the big one's claim,
 * whatever order the two builders' steps take. */
static void test_big_vm_not_starved_by_a_later_small_one(void **state)
{
    struct ts_vm big = vm_of("big", 7 * GIB, 4);
    struct ts_vm small = vm_of("s", 3 * GIB / 2, 1);
    struct ts_build a, b;

    (void)state;
    ts_build_init(&a, &big, TS_POLICY_CLAIMSETS);
    ts_build_init(&b, &small, TS_POLICY_CLAIMSETS);
    assert_true(ts_build_step(&a, xch));        /* create */
    assert_true(ts_build_step(&b, xch));
    assert_true(ts_build_step(&a, xch));        /* plan (and claim) */
    ts_build_step(&b, xch);
    ts_build_run(&b, xch);                      /* b first from here on */
    ts_build_run(&a, xch);
    assert_int_equal(a.outcome, TS_OUT_STARTED);
    assert_int_equal(a.replans, 0);
    assert_int_equal(a.plan.nr_vnodes, 4);
    for ( uint32_t v = 0; v < 4; v++ )
        assert_int_equal(a.vnode_pages[v][a.plan.vnode[v].pnode], 7 * GIB / 4);
    assert_int_equal(b.outcome, TS_OUT_FAILED_CLAIM);
    assert_int_equal(b.error, ENOMEM);
    assert_int_equal(b.populated, 0);
    destroy_started(&a);
    assert_host_clean();
}

static void test_every_failure_leaves_nothing_behind(void **state)
{
    struct ts_vm huge = vm_of("huge", 9 * GIB, 2);
    struct ts_build b;

    (void)state;
    for ( enum ts_policy p = 0; p < TS_NR_POLICIES; p++ )
    {
        ts_build_init(&b, &huge, p);
        ts_build_run(&b, xch);
        assert_int_equal(b.outcome, p == TS_POLICY_NONE ? TS_OUT_FAILED_BUILD
                                                        : TS_OUT_FAILED_CLAIM);
        assert_host_clean();
    }

    /* A config naming a node the host lacks fails at planning. */
    huge = vm_of("bad", GIB, 1);
    huge.nr_vnodes = 1;
    huge.vnode[0] = (struct ts_vnode){ .pages = GIB, .pnode = 7,
                                       .nr_vcpus = 1, .vdistance = { 10 } };
    ts_build_init(&b, &huge, TS_POLICY_CLAIMSETS);
    ts_build_run(&b, xch);
    assert_int_equal(b.outcome, TS_OUT_FAILED_CLAIM);
    assert_int_equal(b.error, EINVAL);
    assert_host_clean();
}

static void test_fallback_to_smaller_extents(void **state)
{
    struct ts_vm filler = vm_of("f", NODE - 512, 1), vm = vm_of("v", GIB, 1);
    struct ts_build f, b;

    (void)state;
    /* Leave 512 pages (one 2 MiB block) free on node 0: a one-node guest
     * there needs 1 GiB from elsewhere... so pin it with vNUMA to node 0
     * after freeing exactly 1 GiB in 2 MiB-aligned pieces. */
    filler.nr_vnodes = 1;
    filler.vnode[0] = (struct ts_vnode){ .pages = NODE - 512, .pnode = 0,
                                         .nr_vcpus = 1, .vdistance = { 10 } };
    ts_build_init(&f, &filler, TS_POLICY_NONE);
    ts_build_run(&f, xch);
    assert_int_equal(f.outcome, TS_OUT_STARTED);
    assert_int_equal(f.vnode_pages[0][0], NODE - 512);

    /* node 0 has 512 free pages: a 1 GiB guest pinned there fails after
     * falling back to 2 MiB (one extent) and 4 KiB: exactly 512 pages. */
    vm.nr_vnodes = 1;
    vm.vnode[0] = (struct ts_vnode){ .pages = GIB, .pnode = 0, .nr_vcpus = 1,
                                     .vdistance = { 10 } };
    ts_build_init(&b, &vm, TS_POLICY_NONE);
    ts_build_run(&b, xch);
    assert_int_equal(b.outcome, TS_OUT_FAILED_BUILD);
    assert_int_equal(b.populated, 512);
    destroy_started(&f);
    assert_host_clean();
}

/* After falling back to 4 KiB, the builder tries 2 MiB again at the next
 * 2 MiB boundary rather than at the next 1 GiB one, so that an intact
 * block freed meanwhile is taken whole.  Node 0 is made to hold only 512
 * scattered free pages, while h holds one 2 MiB block there. */
static void test_fallback_retries_2m_at_each_boundary(void **state)
{
    struct xen_domctl_createdomain c = {
        .flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap, .max_vcpus = 1,
        .max_evtchn_port = -1, .max_grant_frames = -1,
        .max_maptrack_frames = -1,
    };
    struct ts_vm vm = vm_of("v", 1024, 1);
    uint32_t f = 0, h = 0;
    xen_pfn_t g[1024];
    struct ts_build b;

    (void)state;
    assert_int_equal(xc_domain_create(xch, &f, &c), 0);
    assert_int_equal(xc_domain_setmaxmem(xch, f, NODE * 4), 0);
    assert_int_equal(xc_domain_create(xch, &h, &c), 0);
    assert_int_equal(xc_domain_setmaxmem(xch, h, 512 * 4), 0);
    /* 1024 single pages, then every other one back: 512 free pages in
     * blocks that cannot coalesce. */
    for ( uint64_t i = 0; i < 1024; i++ )
        g[i] = i;
    assert_int_equal(xc_domain_populate_physmap_exact(
                         xch, f, 1024, 0, XENMEMF_exact_node(0), g), 0);
    for ( uint64_t i = 0; i < 512; i++ )
        g[i] = 2 * i + 1;
    assert_int_equal(xc_domain_decrease_reservation_exact(xch, f, 512, 0, g),
                     0);
    g[0] = 0;
    assert_int_equal(xc_domain_populate_physmap_exact(
                         xch, h, 1, 9, XENMEMF_exact_node(0), g), 0);
    /* The rest of node 0 in 2 MiB blocks, until none is left. */
    for ( xen_pfn_t gp = 1 << 20; ; gp += 512 )
    {
        g[0] = gp;
        if ( xc_domain_populate_physmap(xch, f, 1, 9, XENMEMF_exact_node(0),
                                        g) != 1 )
            break;
    }

    vm.nr_vnodes = 1;
    vm.vnode[0] = (struct ts_vnode){ .pages = 1024, .pnode = 0,
                                     .nr_vcpus = 1, .vdistance = { 10 } };
    ts_build_init(&b, &vm, TS_POLICY_NONE);
    /* Up to the first 2 MiB boundary: 2 MiB fails, 4 KiB takes the 512. */
    while ( b.populated < 512 && ts_build_step(&b, xch) )
        ;
    assert_int_equal(b.populated, 512);
    assert_int_equal(b.extents[0], 512);
    assert_int_equal(b.extents[1], 0);
    /* An intact 2 MiB block comes free: the next step takes it whole. */
    assert_int_equal(xc_domain_destroy(xch, h), 0);
    ts_build_run(&b, xch);
    assert_int_equal(b.outcome, TS_OUT_STARTED);
    assert_int_equal(b.extents[0], 512);
    assert_int_equal(b.extents[1], 1);
    assert_int_equal(b.extents[2], 0);
    assert_int_equal(b.vnode_pages[0][0], 1024);
    destroy_started(&b);
    assert_int_equal(xc_domain_destroy(xch, f), 0);
    assert_host_clean();
}

/* Domain f takes node 1 as two 1 GiB extents, then gives back all of it
 * but the first 2 MiB of each: node 1 keeps 2 GiB less 4 MiB free, in
 * blocks of 2 MiB to 512 MiB and none of 1 GiB.  (Node 1, as node 0's
 * first 1 GiB spans the low zones and is never one block, as in Xen.) */
static uint32_t split_node1(void)
{
    struct xen_domctl_createdomain c = {
        .flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap, .max_vcpus = 1,
        .max_evtchn_port = -1, .max_grant_frames = -1,
        .max_maptrack_frames = -1,
    };
    static xen_pfn_t g[1022];
    uint32_t f = 0, k = 0;

    assert_int_equal(xc_domain_create(xch, &f, &c), 0);
    assert_int_equal(xc_domain_setmaxmem(xch, f, NODE * 4), 0);
    g[0] = 0;
    g[1] = GIB;
    assert_int_equal(xc_domain_populate_physmap_exact(
                         xch, f, 2, 18, XENMEMF_exact_node(1), g), 0);
    for ( xen_pfn_t gp = GPFN_2M_PAGES; gp < NODE; gp += GPFN_2M_PAGES )
        if ( gp != GIB )
            g[k++] = gp;
    assert_int_equal(k, 1022);
    assert_int_equal(xc_domain_decrease_reservation_exact(xch, f, k, 9, g),
                     0);
    assert_int_equal(node_pages(f, 1), 2 * GPFN_2M_PAGES);
    return f;
}

/* A VM with vnode 0 (size0) on node 1 and vnode 1 (size1) on node 2,
 * built under none. */
static void build_two_vnodes(struct ts_build *b, struct ts_vm *vm,
                             uint64_t size0, uint64_t size1)
{
    *vm = vm_of("v", size0 + size1, 2);
    vm->nr_vnodes = 2;
    vm->vnode[0] = (struct ts_vnode){ .pages = size0, .pnode = 1,
                                      .nr_vcpus = 1,
                                      .vdistance = { 10, 21 } };
    vm->vnode[1] = (struct ts_vnode){ .pages = size1, .pnode = 2,
                                      .nr_vcpus = 1, .vcpu_first = 1,
                                      .vdistance = { 21, 10 } };
    ts_build_init(b, vm, TS_POLICY_NONE);
    ts_build_run(b, xch);
}

/*
 * After falling back to 2 MiB for a 1 GiB chunk, the builder tries 1 GiB
 * again at the next 1 GiB boundary (here vnode 1's range); and a build
 * that fails gives back whole every block it split, so the node's free
 * memory coalesces as it was.  Counts are exact: node 1 has exactly 1022
 * free 2 MiB blocks' worth and no free 1 GiB block.
 */
static void test_fallback_retries_1g_and_failures_return_whole(void **state)
{
    struct xen_domctl_createdomain c = {
        .flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap, .max_vcpus = 1,
        .max_evtchn_port = -1, .max_grant_frames = -1,
        .max_maptrack_frames = -1,
    };
    uint32_t f = split_node1(), g = 0;
    xen_pfn_t gp[2] = { 0, GIB };
    struct ts_vm vm;
    struct ts_build b;

    (void)state;
    /* vnode 0: no 1 GiB block, 512 extents of 2 MiB in one call; vnode 1
     * on an empty node: 1 GiB again. */
    build_two_vnodes(&b, &vm, GIB, GIB);
    assert_int_equal(b.outcome, TS_OUT_STARTED);
    assert_int_equal(b.layout.nr_ranges, 2);
    assert_int_equal(b.layout.range[1].start, GIB << 12);
    assert_int_equal(b.extents[0], 0);
    assert_int_equal(b.extents[1], 512);
    assert_int_equal(b.extents[2], 1);
    assert_int_equal(b.vnode_pages[0][1], GIB);
    assert_int_equal(b.vnode_pages[1][2], GIB);
    destroy_started(&b);

    /* 2 GiB on node 1 fails mid-build: 1 GiB fails at both chunks, 2 MiB
     * takes all 1022 blocks, then neither 2 MiB nor 4 KiB is left. */
    build_two_vnodes(&b, &vm, 2 * GIB, GIB);
    assert_int_equal(b.outcome, TS_OUT_FAILED_BUILD);
    assert_int_equal(b.error, ENOMEM);
    assert_int_equal(b.extents[0], 0);
    assert_int_equal(b.extents[1], 1022);
    assert_int_equal(b.extents[2], 0);
    assert_int_equal(b.populated, 1022 * GPFN_2M_PAGES);

    /* Its pages came back whole: once f lets go of its two blocks, node 1
     * is two free 1 GiB blocks again. */
    assert_int_equal(xc_domain_destroy(xch, f), 0);
    assert_int_equal(xc_domain_create(xch, &g, &c), 0);
    assert_int_equal(xc_domain_setmaxmem(xch, g, NODE * 4), 0);
    assert_int_equal(xc_domain_populate_physmap_exact(
                         xch, g, 2, 18, XENMEMF_exact_node(1), gp), 0);
    assert_int_equal(xc_domain_destroy(xch, g), 0);
    assert_host_clean();
}

static void test_ballooning_returns_memory_to_its_vnode(void **state)
{
    struct ts_vm numa = vm_of("numa", 5 * GIB, 2), flat = vm_of("flat", GIB, 2);
    struct ts_build a, b;
    struct ts_balloon bl;
    uint64_t before[4], after[4];

    (void)state;
    /* claimsets splits 5 GiB over three nodes: a vNUMA guest. */
    ts_build_init(&a, &numa, TS_POLICY_CLAIMSETS);
    ts_build_run(&a, xch);
    assert_int_equal(a.outcome, TS_OUT_STARTED);
    assert_true(a.plan.vnuma);
    for ( uint32_t n = 0; n < 4; n++ )
        before[n] = node_pages(a.domid, n);
    assert_int_equal(ts_balloon_down(xch, &a, 3000, &bl), 0);
    assert_int_equal(bl.nr, a.layout.nr_ranges);
    assert_int_equal(ts_balloon_up(xch, &a, &bl), 0);
    for ( uint32_t n = 0; n < 4; n++ )
        assert_int_equal(node_pages(a.domid, n), before[n]);

    /* A guest without vNUMA, striped over two nodes: the pages come back
     * by striping, not where they were. */
    flat.cpu_nodes = 0x8 | 0x4;         /* nodes 2 and 3 */
    ts_build_init(&b, &flat, TS_POLICY_NONE);
    ts_build_run(&b, xch);
    assert_int_equal(b.outcome, TS_OUT_STARTED);
    assert_false(b.plan.vnuma);
    for ( uint32_t n = 0; n < 4; n++ )
        before[n] = node_pages(b.domid, n);
    assert_int_equal(before[2] + before[3], GIB);
    assert_int_equal(ts_balloon_down(xch, &b, 1000, &bl), 0);
    assert_int_equal(ts_balloon_up(xch, &b, &bl), 0);
    for ( uint32_t n = 0; n < 4; n++ )
        after[n] = node_pages(b.domid, n);
    assert_int_equal(after[2] + after[3], GIB);
    assert_true(after[2] != before[2]);

    destroy_started(&a);
    destroy_started(&b);
    assert_host_clean();
}

static void test_parallel_pool_builds_every_vm(void **state)
{
    struct ts_vm vms[6];
    struct ts_build res[6];
    uint32_t per_node[4] = { 0 };

    (void)state;
    for ( uint32_t i = 0; i < 6; i++ )
        vms[i] = vm_of("p", GIB, 1);
    assert_int_equal(ts_pool_build(vms, 6, TS_POLICY_CLAIMSETS, 3, res), 0);
    for ( uint32_t i = 0; i < 6; i++ )
    {
        assert_int_equal(res[i].outcome, TS_OUT_STARTED);
        assert_int_equal(res[i].plan.nr_vnodes, 1);
        per_node[res[i].plan.vnode[0].pnode]++;
    }
    /* Two 1 GiB guests fit a 2 GiB node: every node got at most two. */
    for ( uint32_t n = 0; n < 4; n++ )
        assert_true(per_node[n] <= 2);
    for ( uint32_t i = 0; i < 6; i++ )
        destroy_started(&res[i]);
    assert_host_clean();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_slack_parse),
        cmocka_unit_test(test_claimsets_keep_the_slack),
        cmocka_unit_test(test_claimsets_leave_cpus_vms_their_nodes),
        cmocka_unit_test(test_policies_on_an_empty_host),
        cmocka_unit_test(test_claimsets_avoid_unreachable_pairs),
        cmocka_unit_test(test_usage_and_claims_steer_the_choice),
        cmocka_unit_test(test_nearest_node_set_on_sub_numa_clustering),
        cmocka_unit_test(test_split_fills_nodes_by_capacity),
        cmocka_unit_test(test_configured_vnodes_are_kept),
        cmocka_unit_test(test_partly_pinned_vnodes_and_cpus),
        cmocka_unit_test(test_claim_sets_wider_than_32_nodes_fall_back),
        cmocka_unit_test(test_xapi_cpu_bound),
        cmocka_unit_test(test_xapi_memory_bound),
        cmocka_unit_test(test_xapi_ties),
        cmocka_unit_test(test_xapi_single_nodes_above_16),
        cmocka_unit_test(test_xapi_places_vnuma_guests_as_plain),
        cmocka_unit_test(test_libxl_memory_bound),
        cmocka_unit_test(test_libxl_cpu_bound),
        cmocka_unit_test(test_libxl_no_placement_above_16),
        cmocka_unit_test(test_vmemranges_skip_the_mmio_hole),
        cmocka_unit_test(test_races),
        cmocka_unit_test(test_explicit_pnodes_never_dropped),
        cmocka_unit_test(test_recalled_node_claim_moves_the_vnode),
        cmocka_unit_test(test_big_vm_not_starved_by_a_later_small_one),
        cmocka_unit_test(test_every_failure_leaves_nothing_behind),
        cmocka_unit_test(test_fallback_to_smaller_extents),
        cmocka_unit_test(test_fallback_retries_2m_at_each_boundary),
        cmocka_unit_test(test_fallback_retries_1g_and_failures_return_whole),
        cmocka_unit_test(test_ballooning_returns_memory_to_its_vnode),
        cmocka_unit_test(test_parallel_pool_builds_every_vm),
    };

    return cmocka_run_group_tests_name("toolstack", tests, open_xc, close_xc);
}
