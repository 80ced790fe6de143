/* SPDX-License-Identifier: MIT */
/*
 * The allocation suite: spec §5 (node choice, protection of claimed
 * memory, redemption of claims, admission) and §6 (vNUMA topologies,
 * XENMEMF_vnode, the privilege filter on node requests, the implicit
 * vNUMA hint and NUMA-aware ballooning).
 *
 * Where an extent lands is read back with nc_host_mfn_node() on the MFN
 * nc_populate() returns; after each step the domain's tot_pages,
 * outstanding, host_claim and last_alloc_node and each node's free and
 * claimed pages are checked exactly.  Hosts with explicit distance
 * matrices show that fallback follows distance, not node numbers.  Every
 * failing call is shown to change nothing, and every test ends with the
 * frame-level invariant checker.
 */
#include "common.h"

#define N           16384ULL                 /* frames in a 64M node */
#define BIG         (1ULL << 20)             /* a max_pages never reached */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Four 64M nodes whose distances order the nodes differently from their
 * numbers:  from 0: 0, 2, 1, 3    from 1: 1, 3, 2, 0
 *           from 2: 2, 0, 1, 3    from 3: 3, 1, 2, 0
 */
#define DIST4 "4x64M;dist=10,30,20,40,30,10,25,15,20,25,10,35,40,15,35,10"

/* ========================================================================
 * Helpers
 * ======================================================================== */

/* Populate, assert success, return the node the extent landed on. */
static uint32_t pop(struct nc_host *h, nc_domid_t caller, nc_domid_t d,
                    uint64_t gpfn, uint32_t order, struct nc_memflags f)
{
    uint64_t mfn = ~0ULL, check;
    uint32_t node;

    assert_int_equal(nc_populate(h, caller, d, gpfn, order, f, &mfn), 0);
    node = nc_host_mfn_node(h, mfn);
    assert_int_not_equal(node, NC_NUMA_NO_NODE);
    /* The whole extent is on that node and mapped where asked. */
    assert_int_equal(nc_host_mfn_node(h, mfn + (1ULL << order) - 1), node);
    assert_int_equal(nc_domain_translate(h, d, gpfn, &check), 0);
    assert_int_equal(check, mfn);
    return node;
}

/* Populate by the control domain with no node flags. */
static uint32_t pop_none(struct nc_host *h, nc_domid_t d, uint64_t gpfn,
                         uint32_t order)
{
    return pop(h, CTL, d, gpfn, order, NC_MEMFLAGS_NONE);
}

static uint64_t pop_mfn(struct nc_host *h, nc_domid_t d, uint64_t gpfn,
                        uint32_t order, struct nc_memflags f)
{
    uint64_t mfn = ~0ULL;

    assert_int_equal(nc_populate(h, CTL, d, gpfn, order, f, &mfn), 0);
    return mfn;
}

static struct nc_memflags vnode_flags(uint32_t vnode, bool exact)
{
    return (struct nc_memflags){ .node = vnode, .exact = exact,
                                 .vnode = true };
}

static struct nc_memflags bits_flags(uint32_t node, bool exact,
                                     uint8_t address_bits)
{
    return (struct nc_memflags){ .node = node, .exact = exact,
                                 .address_bits = address_bits };
}

/*
 * Take every unclaimed frame of `node` for `filler` (exact requests from
 * the largest order down), starting at *gpfn and advancing it.
 */
static void fill_node(struct nc_host *h, nc_domid_t filler, uint32_t node,
                      uint64_t *gpfn)
{
    for ( int order = NC_MAX_ORDER; order >= 0; order-- )
        for ( ;; )
        {
            uint64_t size = 1ULL << order;
            int rc;

            *gpfn = (*gpfn + size - 1) & ~(size - 1);
            rc = nc_populate(h, CTL, filler, *gpfn, (uint32_t)order,
                             flags_node(node, 1), NULL);
            if ( rc == -ENOMEM )
                break;
            assert_int_equal(rc, 0);
            *gpfn += size;
        }
    assert_int_equal(node_info(h, node).free, node_info(h, node).claimed);
}

/*
 * The host full but for one frame of e's claim on `node`: d's walk from
 * `from` finds nothing (gpfn dg), e's finds the claim (gpfn eg), and then
 * nothing either; the host has no frame and no claim left.
 */
static void expect_only_claim_left(struct nc_host *h, nc_domid_t d,
                                   uint64_t dg, nc_domid_t e, uint64_t eg,
                                   uint32_t from, uint32_t node)
{
    uint64_t mfn;

    assert_int_equal(nc_populate(h, CTL, d, dg, 0, flags_node(from, 0), &mfn),
                     -ENOMEM);
    assert_int_equal(pop(h, CTL, e, eg, 0, flags_node(from, 0)), node);
    assert_int_equal(nc_populate(h, CTL, e, eg + 1, 0, flags_node(from, 0),
                                 &mfn),
                     -ENOMEM);
    EXPECT_HOST(h, 0, 0);
}

static void expect_node_pages(struct nc_host *h, nc_domid_t d,
                              uint64_t p0, uint64_t p1, uint64_t p2,
                              uint64_t p3)
{
    uint64_t pages[4];

    assert_int_equal(nc_domain_node_pages(h, d, pages, 4), 0);
    assert_int_equal(pages[0], p0);
    assert_int_equal(pages[1], p1);
    assert_int_equal(pages[2], p2);
    assert_int_equal(pages[3], p3);
}

static struct nc_host *host_with_offline_node(const char *spec,
                                              uint32_t offline)
{
    struct nc_host_config cfg;
    struct nc_host *h = NULL;
    char err[256];

    if ( nc_host_config_parse(spec, &cfg, err, sizeof(err)) )
        fail_msg("bad host spec %s: %s", spec, err);
    cfg.node[offline].online = false;
    assert_int_equal(nc_host_create(&cfg, &h), 0);
    nc_host_set_autocheck(h, NC_CHECK_FRAMES);
    return h;
}

/* ========================================================================
 * §5 node choice
 * ======================================================================== */

static void test_fresh_domain_stripes_from_node_after_0(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    const uint32_t want[] = { 1, 2, 3, 0, 1, 2, 3, 0, 1 };

    (void)state;
    assert_int_equal(dom_info(h, d).last_alloc_node, 0);
    assert_int_equal(dom_info(h, d).node_affinity, 0xF);
    for ( uint32_t i = 0; i < ARRAY_LEN(want); i++ )
    {
        assert_int_equal(pop_none(h, d, i, 0), want[i]);
        assert_int_equal(dom_info(h, d).last_alloc_node, want[i]);
    }
    expect_node_pages(h, d, 2, 3, 2, 2);
    EXPECT_DOM(h, d, 9, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_striping_follows_node_affinity(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    uint64_t g = 0;

    (void)state;
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 0x5), 0);
    assert_int_equal(pop_none(h, d, g++, 0), 2);
    assert_int_equal(pop_none(h, d, g++, 0), 0);
    assert_int_equal(pop_none(h, d, g++, 0), 2);
    assert_int_equal(pop_none(h, d, g++, 0), 0);

    /* After node 0, the next of {1, 3} is 1. */
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 0xA), 0);
    assert_int_equal(pop_none(h, d, g++, 0), 1);
    assert_int_equal(pop_none(h, d, g++, 0), 3);
    assert_int_equal(pop_none(h, d, g++, 0), 1);

    /* After node 1, {0, 1} wraps round to 0. */
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 0x3), 0);
    assert_int_equal(pop_none(h, d, g++, 0), 0);
    assert_int_equal(pop_none(h, d, g++, 0), 1);
    assert_int_equal(pop_none(h, d, g++, 0), 0);
    expect_node_pages(h, d, 4, 3, 2, 1);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_requested_node_is_tried_first(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);

    (void)state;
    assert_int_equal(pop(h, CTL, d, 0, 0, flags_node(3, 0)), 3);
    assert_int_equal(dom_info(h, d).last_alloc_node, 3);
    assert_int_equal(pop(h, CTL, d, 4, 2, flags_node(2, 1)), 2);
    assert_int_equal(dom_info(h, d).last_alloc_node, 2);
    /* Striping continues after the last allocation's node. */
    assert_int_equal(pop_none(h, d, 8, 0), 3);

    /* A requested node wins over affinity and over node claims. */
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 0x6), 0);
    assert_int_equal(claim_set(h, d, 1, NODEC(1, 64)), 0);
    assert_int_equal(pop(h, CTL, d, 16, 0, flags_node(0, 0)), 0);
    EXPECT_DOM(h, d, 7, 64, 0);
    EXPECT_NODE(h, 1, N, 64);
    expect_node_pages(h, d, 1, 0, 4, 2);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_exact_request_fails_rather_than_falling_back(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t filler = dom_new(h, BIG), d = dom_new(h, BIG);
    uint64_t g = 0, mfn;

    (void)state;
    fill_node(h, filler, 1, &g);
    EXPECT_NODE(h, 1, 0, 0);

    assert_int_equal(nc_populate(h, CTL, d, 0, 0, flags_node(1, 1), &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, d, 0, 0, 0);
    assert_int_equal(dom_info(h, d).last_alloc_node, 0);
    EXPECT_HOST(h, 3 * N, 0);
    assert_int_equal(nc_domain_translate(h, d, 0, &mfn), -ENOENT);

    /* Not exact: the nearest other node (all at 21: the lowest id). */
    assert_int_equal(pop(h, CTL, d, 0, 0, flags_node(1, 0)), 0);
    /* Striping picks node 1 next, which falls back the same way. */
    assert_int_equal(pop_none(h, d, 1, 0), 0);
    assert_int_equal(pop_none(h, d, 2, 0), 0);
    assert_int_equal(dom_info(h, d).last_alloc_node, 0);
    EXPECT_DOM(h, d, 3, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_largest_node_claim_chosen_ties_to_lower_id(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG), e = dom_new(h, BIG), f = dom_new(h, BIG);
    const uint32_t want[] = { 3, 1, 3, 1, 3, 1, 2 };
    const uint64_t outst[] = { 18, 14, 10, 6, 2, 0, 0 };

    (void)state;
    assert_int_equal(claim_set(h, d, 2, NODEC(1, 10), NODEC(3, 12)), 0);
    for ( uint32_t i = 0; i < ARRAY_LEN(want); i++ )
    {
        assert_int_equal(pop_none(h, d, 4 * i, 2), want[i]);
        assert_int_equal(dom_info(h, d).outstanding, outst[i]);
    }
    /* The last step above found every node claim redeemed and striped
     * after node 1. */
    EXPECT_NODE(h, 1, N - 12, 0);
    EXPECT_NODE(h, 3, N - 12, 0);

    /* Equal claims: the lower node id first. */
    assert_int_equal(claim_set(h, e, 2, NODEC(3, 8), NODEC(2, 8)), 0);
    assert_int_equal(pop_none(h, e, 0, 2), 2);
    assert_int_equal(pop_none(h, e, 4, 2), 3);
    assert_int_equal(pop_none(h, e, 8, 2), 2);
    assert_int_equal(pop_none(h, e, 12, 2), 3);
    EXPECT_DOM(h, e, 16, 0, 0);

    /* A host-wide claim alone does not steer: striping. */
    assert_int_equal(claim_set(h, f, 1, HOSTC(8)), 0);
    assert_int_equal(pop_none(h, f, 0, 0), 1);
    assert_int_equal(pop_none(h, f, 1, 0), 2);
    EXPECT_DOM(h, f, 2, 6, 6);
    assert_invariants(h);
    nc_host_destroy(h);
}

/*
 * The largest claim as it is kept (claim_top_lowered()): rounds of equal
 * claims, a node that stays the one largest, and a claim lowered from
 * outside the node choice (the excess over max_pages redeemed from other
 * nodes) that must not leave a stale answer.
 */
static void test_largest_claim_kept_through_rounds(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG), e = dom_new(h, 8);
    const uint32_t round[] = { 0, 1, 3, 0, 1, 3 };
    const uint32_t uneven[] = { 2, 1, 2, 0, 1, 2 };
    const uint32_t excess[] = { 2, 2, 1, 2, 1, 2 };

    (void)state;
    assert_int_equal(claim_set(h, d, 3, NODEC(3, 2), NODEC(0, 2),
                               NODEC(1, 2)), 0);
    for ( uint32_t i = 0; i < ARRAY_LEN(round); i++ )
        assert_int_equal(pop_none(h, d, i, 0), round[i]);
    EXPECT_DOM(h, d, 6, 0, 0);

    /* 3 on node 2, 2 on node 1, 1 on node 0. */
    assert_int_equal(claim_set(h, d, 3, NODEC(0, 1), NODEC(1, 2),
                               NODEC(2, 3)), 0);
    for ( uint32_t i = 0; i < ARRAY_LEN(uneven); i++ )
        assert_int_equal(pop_none(h, d, 16 + i, 0), uneven[i]);
    EXPECT_DOM(h, d, 12, 0, 0);

    /* e may own 8 pages and claims 4 on node 2, 3 on node 1: 7 of them.
     * Two pages on node 3 by request: the second exceeds max_pages by one
     * with the claims, so one page of node 1's claim (the lowest other
     * node) goes: node 1 is lowered while node 2 is the largest. */
    assert_int_equal(claim_set(h, e, 2, NODEC(2, 4), NODEC(1, 3)), 0);
    assert_int_equal(pop(h, CTL, e, 0, 0, flags_node(3, 1)), 3);
    EXPECT_DOM(h, e, 1, 7, 0);
    assert_int_equal(pop(h, CTL, e, 1, 0, flags_node(3, 1)), 3);
    EXPECT_DOM(h, e, 2, 6, 0);
    EXPECT_NODE(h, 1, N - 4, 2);
    /* 4 and 2, 3 and 2, then equal from 2 and 2 down. */
    for ( uint32_t i = 0; i < ARRAY_LEN(excess); i++ )
        assert_int_equal(pop_none(h, e, 2 + i, 0), excess[i]);
    EXPECT_DOM(h, e, 8, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_fallback_follows_distance_not_node_numbers(void **state)
{
    struct nc_host *h = host_new(DIST4);
    nc_domid_t filler = dom_new(h, BIG), d = dom_new(h, BIG);
    uint64_t g = 0, mfn;

    (void)state;
    fill_node(h, filler, 1, &g);
    assert_int_equal(pop(h, CTL, d, 0, 0, flags_node(1, 0)), 3);
    fill_node(h, filler, 3, &g);
    assert_int_equal(pop(h, CTL, d, 1, 0, flags_node(1, 0)), 2);
    fill_node(h, filler, 2, &g);
    assert_int_equal(pop(h, CTL, d, 2, 0, flags_node(1, 0)), 0);
    fill_node(h, filler, 0, &g);
    assert_int_equal(nc_populate(h, CTL, d, 3, 0, flags_node(1, 0), &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, d, 3, 0, 0);
    EXPECT_HOST(h, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/*
 * The fallback walk read off admit_mask without the heap's locks, and the
 * cases it leaves to the locked walk.  From node 1 the walk is 3, 2, 0.
 */
static void test_fallback_walk_without_the_heap_lock(void **state)
{
    struct nc_host *h = host_new(DIST4);
    nc_domid_t filler = dom_new(h, BIG), d = dom_new(h, BIG);
    nc_domid_t e = dom_new(h, BIG);
    uint64_t g = 0, g3, mfn;

    (void)state;
    fill_node(h, filler, 1, &g);
    g3 = (g + (1ULL << NC_MAX_ORDER) - 1) & ~((1ULL << NC_MAX_ORDER) - 1);
    fill_node(h, filler, 3, &g);
    /* Four frames free on node 3, no two of them buddies. */
    for ( uint64_t k = 0; k < 8; k += 2 )
    {
        assert_int_equal(nc_domain_translate(h, filler, g3 + k, &mfn), 0);
        assert_int_equal(nc_host_mfn_node(h, mfn), 3);
        assert_int_equal(nc_depopulate(h, CTL, filler, g3 + k, 0), 0);
    }
    EXPECT_NODE(h, 3, 4, 0);

    /* Node 3 has room but no 2 MiB: the locked walk goes on to node 2. */
    assert_int_equal(pop(h, CTL, d, 0, 9, flags_node(1, 0)), 2);
    /* 4 KiB: node 3, until its four frames are gone; then node 2. */
    for ( uint64_t k = 0; k < 4; k++ )
        assert_int_equal(pop(h, CTL, d, 512 + k, 0, flags_node(1, 0)), 3);
    EXPECT_NODE(h, 3, 0, 0);
    assert_int_equal(pop(h, CTL, d, 516, 0, flags_node(1, 0)), 2);

    /* Everything full but one frame of node 0, which e claims: the mask
     * shows no room anywhere, yet e's walk must reach its claim. */
    fill_node(h, filler, 2, &g);
    fill_node(h, filler, 0, &g);
    assert_int_equal(nc_depopulate(h, CTL, filler, g - 1, 0), 0);
    EXPECT_NODE(h, 0, 1, 0);
    assert_int_equal(claim_set(h, e, 1, NODEC(0, 1)), 0);
    EXPECT_NODE(h, 0, 1, 1);
    expect_only_claim_left(h, d, 517, e, 0, 1, 0);
    EXPECT_DOM(h, e, 1, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/*
 * In gpfn order every populate is the fast path's case (an append, no
 * flags), until something hands it to the general path: a map with no
 * room yet, a redemption that needs more than the first node's claim (the
 * plan's c), a first node that is full, a host-wide claim anywhere, a
 * gpfn below the end of the map.  Each step lands where the general rules
 * say, with exact counters; a free of the map's last extent (the fast
 * free) and of one inside the map (the general one) too.
 */
static void test_in_order_populate_hands_over_exactly(void **state)
{
    struct nc_host *h = host_new(DIST4);
    nc_domid_t d = dom_new(h, BIG), o = dom_new(h, BIG);
    nc_domid_t filler = dom_new(h, BIG), e = dom_new(h, 5);
    uint64_t g = 0, mfn = 0, free;

    (void)state;
    /* A node claim covering whole extents: its node, each redeemed. */
    assert_int_equal(claim_set(h, d, 1, NODEC(2, 3)), 0);
    assert_int_equal(pop_none(h, d, 0, 0), 2);
    assert_int_equal(pop_none(h, d, 1, 0), 2);
    EXPECT_DOM(h, d, 2, 1, 0);
    EXPECT_NODE(h, 2, N - 2, 1);
    /* One page of claim left for two: it and one unclaimed page, on the
     * claim's node. */
    assert_int_equal(pop_none(h, d, 2, 1), 2);
    EXPECT_DOM(h, d, 4, 0, 0);
    EXPECT_NODE(h, 2, N - 4, 0);
    /* Claims at max_pages on two nodes: an extent larger than the first
     * node's claim redeems the excess from the other (the general path's
     * c), so that the claims still fit under max_pages. */
    assert_int_equal(claim_set(h, e, 2, NODEC(1, 2), NODEC(3, 2)), 0);
    assert_int_equal(pop_none(h, e, 0, 0), 1);    /* the map is made */
    assert_int_equal(pop_none(h, e, 4, 2), 3);
    EXPECT_DOM(h, e, 5, 0, 0);
    EXPECT_NODE(h, 1, N - 1, 0);
    EXPECT_NODE(h, 3, N - 4, 0);
    /* No claim: striping after node 2. */
    assert_int_equal(pop_none(h, d, 4, 0), 3);
    /* Node 0, next in the stripe, full: the walk from 0 (2, 1, 3). */
    fill_node(h, filler, 0, &g);
    assert_int_equal(pop_none(h, d, 5, 0), 2);
    assert_int_equal(dom_info(h, d).last_alloc_node, 2);
    expect_node_pages(h, d, 0, 0, 5, 1);

    /* Someone's host-wide claim of all free memory but one frame: no
     * extent of d's may eat into it, in order or not. */
    free = host_info(h).total_avail;
    assert_int_equal(claim_set(h, o, 1, HOSTC(free - 1)), 0);
    assert_int_equal(pop_none(h, d, 6, 0), 3);
    assert_int_equal(nc_populate(h, CTL, d, 7, 0, NC_MEMFLAGS_NONE, &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, d, 7, 0, 0);
    EXPECT_HOST(h, free - 1, free - 1);
    assert_int_equal(claim_set(h, o, 1, HOSTC(0)), 0);

    /* An append whose stripe node (0) is full walks to 2; then a gpfn
     * below the end of the map, the general path, stripes on to 3. */
    assert_int_equal(pop_none(h, d, 64, 0), 2);
    assert_int_equal(pop_none(h, d, 32, 0), 3);
    expect_node_pages(h, d, 0, 0, 6, 3);

    /* The last extent (the fast free), then one inside the map. */
    assert_int_equal(nc_depopulate(h, CTL, d, 64, 0), 0);
    assert_int_equal(nc_domain_translate(h, d, 64, &mfn), -ENOENT);
    assert_int_equal(nc_depopulate(h, CTL, d, 2, 1), 0);
    assert_int_equal(nc_domain_translate(h, d, 2, &mfn), -ENOENT);
    assert_int_equal(nc_domain_translate(h, d, 3, &mfn), -ENOENT);
    assert_int_equal(nc_depopulate(h, CTL, d, 64, 0), -ENOENT);
    expect_node_pages(h, d, 0, 0, 3, 3);
    EXPECT_DOM(h, d, 6, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/*
 * Frees from the front of the map, as a balloon freeing in gpfn order
 * makes them: the start of the first entry and a whole first entry go
 * back under their node's lock; a first entry (not the last) whose
 * frames lie in two node ranges (node 0's last frame and node 1's first,
 * mapped at consecutive gpfns, so one entry) takes the general path, and
 * both nodes get their frames back.
 */
static void test_free_from_the_front_of_the_map(void **state)
{
    struct nc_host *h = host_new(DIST4);
    nc_domid_t d = dom_new(h, BIG), e = dom_new(h, BIG);
    nc_domid_t filler = dom_new(h, BIG);
    uint64_t g = 0, mfn, got;

    (void)state;
    mfn = pop_mfn(h, d, 0, 2, flags_node(3, 1));      /* one entry, 4 pages */
    assert_int_equal(pop(h, CTL, d, 4, 0, flags_node(1, 1)), 1);
    assert_int_equal(nc_depopulate(h, CTL, d, 0, 0), 0);  /* its start */
    assert_int_equal(nc_domain_translate(h, d, 0, &got), -ENOENT);
    assert_int_equal(nc_domain_translate(h, d, 1, &got), 0);
    assert_int_equal(got, mfn + 1);
    assert_int_equal(nc_depopulate(h, CTL, d, 1, 0), 0);
    assert_int_equal(nc_depopulate(h, CTL, d, 2, 1), 0);  /* the rest */
    assert_int_equal(nc_depopulate(h, CTL, d, 2, 1), -ENOENT);
    assert_int_equal(nc_domain_translate(h, d, 3, &got), -ENOENT);
    assert_int_equal(nc_domain_translate(h, d, 4, &got), 0);
    expect_node_pages(h, d, 0, 1, 0, 0);
    EXPECT_NODE(h, 3, N, 0);
    assert_int_equal(nc_depopulate(h, CTL, d, 4, 0), 0);  /* first and last */
    EXPECT_DOM(h, d, 0, 0, 0);

    /* Node 0 full but for its last frame, N - 1 (the filler's first
     * extent, order 13 at gpfn 0, holds [N / 2, N)). */
    fill_node(h, filler, 0, &g);
    assert_int_equal(nc_domain_translate(h, filler, N / 2 - 1, &got), 0);
    assert_int_equal(got, N - 1);
    assert_int_equal(nc_depopulate(h, CTL, filler, N / 2 - 1, 0), 0);
    assert_int_equal(pop_mfn(h, e, 0, 0, flags_node(0, 1)), N - 1);
    assert_int_equal(pop_mfn(h, e, 1, 0, flags_node(1, 1)), N);
    assert_int_equal(pop(h, CTL, e, 8, 0, flags_node(2, 1)), 2);
    expect_node_pages(h, e, 1, 1, 1, 0);
    assert_int_equal(nc_depopulate(h, CTL, e, 0, 1), 0);  /* both ranges */
    assert_int_equal(nc_domain_translate(h, e, 0, &got), -ENOENT);
    assert_int_equal(nc_domain_translate(h, e, 1, &got), -ENOENT);
    expect_node_pages(h, e, 0, 0, 1, 0);
    EXPECT_DOM(h, e, 1, 0, 0);
    EXPECT_NODE(h, 0, 1, 0);
    EXPECT_NODE(h, 1, N, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/*
 * nc_populate_run(), populate_physmap's loop in one call: the same frames
 * and nodes as one nc_populate() per extent, with the invariant checker
 * after each extent (the test hosts') and without it (d locked for the
 * whole run), and a short count at the first extent that fails, whatever
 * the reason, with nothing of it or after it made.
 */
static void expect_run_as_singles(uint64_t autocheck)
{
    struct nc_host *a = host_new(DIST4), *b = host_new(DIST4);
    nc_domid_t da = dom_new(a, BIG), db = dom_new(b, BIG);
    nc_domid_t fa = dom_new(a, BIG), fb = dom_new(b, BIG);
    uint64_t gpfn[40], ga = 0, gb = 0, ma, mb;

    nc_host_set_autocheck(a, autocheck);
    /* Node 0 full, so that the stripe's extents there walk. */
    fill_node(a, fa, 0, &ga);
    fill_node(b, fb, 0, &gb);
    for ( unsigned int i = 0; i < 40; i++ )
        gpfn[i] = 2 * i;
    assert_int_equal(nc_populate_run(a, CTL, da, gpfn, 40, 1,
                                     NC_MEMFLAGS_NONE), 40);
    for ( unsigned int i = 0; i < 40; i++ )
        assert_int_equal(nc_populate(b, CTL, db, gpfn[i], 1,
                                     NC_MEMFLAGS_NONE, &mb), 0);
    for ( unsigned int i = 0; i < 40; i++ )
    {
        assert_int_equal(nc_domain_translate(a, da, gpfn[i], &ma), 0);
        assert_int_equal(nc_domain_translate(b, db, gpfn[i], &mb), 0);
        assert_int_equal(ma, mb);
    }
    assert_int_equal(dom_info(a, da).last_alloc_node,
                     dom_info(b, db).last_alloc_node);
    EXPECT_DOM(a, da, 80, 0, 0);
    assert_invariants(a);
    nc_host_destroy(a);
    nc_host_destroy(b);
}

static void test_populate_run_makes_what_singles_make(void **state)
{
    (void)state;
    expect_run_as_singles(NC_CHECK_FRAMES);
    expect_run_as_singles(0);
}

static void test_populate_run_stops_at_the_first_failure(void **state)
{
    struct nc_host *h = host_new(DIST4);
    nc_domid_t d = dom_new(h, 6), g = dom_new(h, BIG);
    uint64_t list[8] = { 0, 1, 2, 3, 4, 5, 6, 7 }, mfn;

    (void)state;
    /* max_pages 6: the seventh extent is refused (E2BIG). */
    assert_int_equal(nc_populate_run(h, CTL, d, list, 8, 0,
                                     NC_MEMFLAGS_NONE), 6);
    EXPECT_DOM(h, d, 6, 0, 0);
    assert_int_equal(nc_domain_translate(h, d, 5, &mfn), 0);
    assert_int_equal(nc_domain_translate(h, d, 6, &mfn), -ENOENT);
    /* A misaligned gpfn (order 1), then UINT64_MAX (no gpfn: nc_populate()
     * says -EINVAL): the count stops before each. */
    assert_int_equal(nc_populate_run(h, CTL, g, list + 1, 7, 1,
                                     NC_MEMFLAGS_NONE), 0);
    list[0] = 0, list[1] = 2, list[2] = 5;
    assert_int_equal(nc_populate_run(h, CTL, g, list, 3, 1,
                                     NC_MEMFLAGS_NONE), 2);
    list[2] = UINT64_MAX;
    assert_int_equal(nc_populate_run(h, CTL, g, list + 2, 1, 1,
                                     NC_MEMFLAGS_NONE), 0);
    EXPECT_DOM(h, g, 4, 0, 0);
    /* No such domain, a foreign guest caller, an order a guest may not
     * ask for: nothing made.  An empty run makes nothing either. */
    list[0] = 64;
    assert_int_equal(nc_populate_run(h, CTL, 777, list, 1, 0,
                                     NC_MEMFLAGS_NONE), 0);
    assert_int_equal(nc_populate_run(h, d, g, list, 1, 0,
                                     NC_MEMFLAGS_NONE), 0);
    assert_int_equal(nc_populate_run(h, g, g, list, 1, 10,
                                     NC_MEMFLAGS_NONE), 0);
    assert_int_equal(nc_populate_run(h, CTL, g, list, 0, 0,
                                     NC_MEMFLAGS_NONE), 0);
    EXPECT_DOM(h, g, 4, 0, 0);
    /* d and g were left unlocked: single extents still work. */
    pop_none(h, g, 64, 0);
    assert_int_equal(nc_depopulate(h, CTL, d, 5, 0), 0);
    EXPECT_DOM(h, d, 5, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_fallback_from_node_0_by_distance(void **state)
{
    struct nc_host *h = host_new(DIST4);
    nc_domid_t filler = dom_new(h, BIG), d = dom_new(h, BIG);
    uint64_t g = 0;

    (void)state;
    /* From node 0: 2 (20), then 1 (30), then 3 (40). */
    fill_node(h, filler, 0, &g);
    assert_int_equal(pop(h, CTL, d, 0, 0, flags_node(0, 0)), 2);
    fill_node(h, filler, 2, &g);
    assert_int_equal(pop(h, CTL, d, 1, 0, flags_node(0, 0)), 1);
    fill_node(h, filler, 1, &g);
    assert_int_equal(pop(h, CTL, d, 2, 0, flags_node(0, 0)), 3);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_striping_fallback_starts_from_striped_node(void **state)
{
    struct nc_host *h = host_new(DIST4);
    nc_domid_t filler = dom_new(h, BIG), d = dom_new(h, BIG);
    uint64_t g = 0;

    (void)state;
    fill_node(h, filler, 1, &g);
    /* Striping picks node 1 (after 0); nearest to it is 3, not 2. */
    assert_int_equal(pop_none(h, d, 0, 0), 3);
    assert_int_equal(dom_info(h, d).last_alloc_node, 3);
    assert_int_equal(pop_none(h, d, 1, 0), 0);
    /* Node 1 again: 3. */
    assert_int_equal(pop_none(h, d, 2, 0), 3);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_fallback_tries_affinity_nodes_before_others(void **state)
{
    struct nc_host *h = host_new(DIST4);
    nc_domid_t filler = dom_new(h, BIG), d = dom_new(h, BIG);
    uint64_t g = 0, mfn;

    (void)state;
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 0x6), 0);
    fill_node(h, filler, 1, &g);
    /* Node 3 is nearer to 1, but 2 is in the affinity. */
    assert_int_equal(pop(h, CTL, d, 0, 0, flags_node(1, 0)), 2);
    fill_node(h, filler, 2, &g);
    /* Outside the affinity, by distance from node 1: 3, then 0. */
    assert_int_equal(pop(h, CTL, d, 1, 0, flags_node(1, 0)), 3);
    assert_int_equal(pop_none(h, d, 2, 0), 3);
    fill_node(h, filler, 3, &g);
    assert_int_equal(pop(h, CTL, d, 3, 0, flags_node(1, 0)), 0);
    assert_int_equal(pop_none(h, d, 4, 0), 0);
    fill_node(h, filler, 0, &g);
    assert_int_equal(nc_populate(h, CTL, d, 5, 0, NC_MEMFLAGS_NONE, &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, d, 5, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* SLIT 255 (ACPI's and Xen's "unreachable"): from node 0, node 1 is
 * unreachable, 2 at 21, 3 at 30; 1 and 3 are in the affinity. */
#define DIST_UNREACH \
    "4x64M;dist=10,255,21,30,255,10,21,21,21,21,10,21,30,21,21,10"

static void test_fallback_tries_unreachable_nodes_last(void **state)
{
    struct nc_host *h = host_new(DIST_UNREACH);
    nc_domid_t filler = dom_new(h, BIG), d = dom_new(h, BIG);
    uint64_t g = 0, mfn;

    (void)state;
    assert_int_equal(nc_host_distance(h, 0, 1), 255);
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 0xB), 0);
    fill_node(h, filler, 0, &g);
    /* The affinity's reachable node first... */
    assert_int_equal(pop(h, CTL, d, 0, 0, flags_node(0, 0)), 3);
    fill_node(h, filler, 3, &g);
    /* ...then node 2, outside the affinity but reachable, before node 1,
     * in it but unreachable. */
    assert_int_equal(pop(h, CTL, d, 1, 0, flags_node(0, 0)), 2);
    fill_node(h, filler, 2, &g);
    /* Unreachable is last, not never: Xen would allocate there too. */
    assert_int_equal(pop(h, CTL, d, 2, 0, flags_node(0, 0)), 1);
    fill_node(h, filler, 1, &g);
    assert_int_equal(nc_populate(h, CTL, d, 3, 0, flags_node(0, 0), &mfn),
                     -ENOMEM);
    assert_invariants(h);
    nc_host_destroy(h);
}

/*
 * Eight nodes; from node 0: 3 and 5 at 12, 1 and 6 at 20, 2 at 30, 4 and 7
 * unreachable (the other nodes are 20 apart).  With the affinity 0, 1, 3,
 * 4, 6 the walk from node 0 is the affinity's reachable nodes by distance,
 * ties by id (3, 1, 6), the other reachable ones (5, 2), then the
 * unreachable in the affinity (4) and outside it (7): neither the nodes'
 * numbers nor their distances alone give that order.
 */
#define DIST_TIERS                                                          \
    "8x16M;dist=10,20,30,12,255,12,20,255,"                                 \
    "20,10,20,20,20,20,20,20,30,20,10,20,20,20,20,20,"                      \
    "12,20,20,10,20,20,20,20,255,20,20,20,10,20,20,20,"                     \
    "12,20,20,20,20,10,20,20,20,20,20,20,20,20,10,20,"                      \
    "255,20,20,20,20,20,20,10"

static void test_fallback_order_by_tiers_affinity_and_reach(void **state)
{
    struct nc_host *h = host_new(DIST_TIERS);
    nc_domid_t filler = dom_new(h, BIG), d = dom_new(h, BIG);
    nc_domid_t e = dom_new(h, BIG);
    const uint32_t want[] = { 3, 1, 6, 5, 2, 4, 7 };
    uint64_t g = 0;

    (void)state;
    assert_int_equal(nc_host_distance(h, 0, 4), 255);
    assert_int_equal(nc_host_distance(h, 0, 7), 255);
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 0x5B), 0);
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, e, 0x5B), 0);
    /* e's claim on the last node of the walk keeps e's walks under the
     * heap's locks, while d's are read off admit_mask: the two walks
     * must agree.  e's extent on node 7 takes one of its two frames. */
    assert_int_equal(claim_set(h, e, 1, NODEC(7, 2)), 0);
    fill_node(h, filler, 0, &g);
    /* Each node of the walk in turn is the first with room. */
    for ( uint32_t i = 0; i < ARRAY_LEN(want); i++ )
    {
        assert_int_equal(pop(h, CTL, d, i, 0, flags_node(0, 0)), want[i]);
        assert_int_equal(pop(h, CTL, e, i, 0, flags_node(0, 0)), want[i]);
        fill_node(h, filler, want[i], &g);
    }
    expect_only_claim_left(h, d, 7, e, 7, 0, 7);
    EXPECT_DOM(h, e, 8, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * §5 protection
 * ======================================================================== */

static void test_unclaimed_domain_cannot_take_node_claimed_pages(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t a = dom_new(h, BIG), b = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    assert_int_equal(claim_set(h, a, 1, NODEC(1, N - 4)), 0);
    EXPECT_NODE(h, 1, N, N - 4);

    /* b may take node 1's four unclaimed pages, and no more. */
    assert_int_equal(pop(h, CTL, b, 0, 2, flags_node(1, 1)), 1);
    EXPECT_NODE(h, 1, N - 4, N - 4);
    assert_int_equal(nc_populate(h, CTL, b, 4, 0, flags_node(1, 1), &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, b, 4, 0, 0);
    EXPECT_NODE(h, 1, N - 4, N - 4);

    /* Not exact: it falls back (node 0, nearest to 1 at the lowest id). */
    assert_int_equal(pop(h, CTL, b, 4, 0, flags_node(1, 0)), 0);
    /* Striping's node 1 is skipped the same way. */
    assert_int_equal(pop_none(h, b, 5, 0), 0);
    EXPECT_DOM(h, b, 6, 0, 0);
    EXPECT_NODE(h, 1, N - 4, N - 4);

    /* The claimant itself still allocates there. */
    assert_int_equal(pop(h, CTL, a, 0, 0, flags_node(1, 1)), 1);
    EXPECT_DOM(h, a, 1, N - 5, 0);
    EXPECT_NODE(h, 1, N - 5, N - 5);
    EXPECT_HOST(h, 4 * N - 7, N - 5);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_host_claim_cannot_unlock_node_claimed_pages(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t a = dom_new(h, BIG), c = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    /* Node 1: a claims all but 4; c holds a host-wide claim of 16. */
    assert_int_equal(claim_set(h, a, 1, NODEC(1, N - 4)), 0);
    assert_int_equal(claim_set(h, c, 1, HOSTC(16)), 0);

    /* 8 on node 1: b = 8, but r - a = 8 > 4 unclaimed on the node. */
    assert_int_equal(nc_populate(h, CTL, c, 0, 3, flags_node(1, 1), &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, c, 0, 16, 16);
    EXPECT_NODE(h, 1, N, N - 4);
    /* 4 fit, redeeming the host-wide claim. */
    assert_int_equal(pop(h, CTL, c, 0, 2, flags_node(1, 1)), 1);
    EXPECT_DOM(h, c, 4, 12, 12);
    EXPECT_NODE(h, 1, N - 4, N - 4);
    /* Not exact: node 0 takes it, still redeeming host-wide. */
    assert_int_equal(pop(h, CTL, c, 8, 3, flags_node(1, 0)), 0);
    EXPECT_DOM(h, c, 12, 4, 4);
    EXPECT_NODE(h, 0, N - 8, 0);
    EXPECT_HOST(h, 2 * N - 12, N - 4 + 4);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_host_claim_protects_every_node(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t a = dom_new(h, BIG), b = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    assert_int_equal(claim_set(h, a, 1, HOSTC(2 * N - 8)), 0);
    assert_int_equal(pop_none(h, b, 0, 3), 1);
    EXPECT_HOST(h, 2 * N - 8, 2 * N - 8);

    /* free - outstanding is 0: b gets nothing, on any node. */
    assert_int_equal(nc_populate(h, CTL, b, 8, 0, NC_MEMFLAGS_NONE, &mfn),
                     -ENOMEM);
    assert_int_equal(nc_populate(h, CTL, b, 8, 0, flags_node(0, 1), &mfn),
                     -ENOMEM);
    assert_int_equal(nc_populate(h, CTL, b, 8, 0, flags_node(1, 0), &mfn),
                     -ENOMEM);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, NC_MEMFLAGS_NONE,
                                   &mfn), -ENOMEM);
    EXPECT_DOM(h, b, 8, 0, 0);
    assert_int_equal(dom_info(h, b).last_alloc_node, 1);

    /* a redeems its host-wide claim on either node. */
    assert_int_equal(pop(h, CTL, a, 0, 0, flags_node(0, 1)), 0);
    assert_int_equal(pop(h, CTL, a, 1, 0, flags_node(1, 1)), 1);
    EXPECT_DOM(h, a, 2, 2 * N - 10, 2 * N - 10);
    EXPECT_HOST(h, 2 * N - 10, 2 * N - 10);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_uncharged_allocation_never_eats_claims(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t a = dom_new(h, BIG);
    uint64_t m1, m2, m3;

    (void)state;
    assert_int_equal(claim_set(h, a, 1, NODEC(0, N - 2)), 0);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 1, flags_node(0, 1), &m1),
                     0);
    assert_int_equal(nc_host_mfn_node(h, m1), 0);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, flags_node(0, 1), &m2),
                     -ENOMEM);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, flags_node(0, 0), &m2),
                     0);
    assert_int_equal(nc_host_mfn_node(h, m2), 1);
    EXPECT_DOM(h, a, 0, N - 2, 0);
    EXPECT_NODE(h, 0, N - 2, N - 2);
    EXPECT_NODE(h, 1, N - 1, 0);

    /* Claim all but one page: node 0 exactly, the rest host-wide. */
    assert_int_equal(claim_set(h, a, 2, NODEC(0, N - 2), HOSTC(N - 2)), 0);
    EXPECT_HOST(h, 2 * N - 3, 2 * N - 4);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, NC_MEMFLAGS_NONE,
                                   &m3), 0);
    assert_int_equal(nc_host_mfn_node(h, m3), 1);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, NC_MEMFLAGS_NONE,
                                   &m2), -ENOMEM);
    /* Not even on behalf of the claimant: uncharged pages redeem nothing. */
    assert_int_equal(nc_alloc_anon(h, a, 0, NC_MEMFLAGS_NONE, &m3),
                     -ENOMEM);
    EXPECT_DOM(h, a, 0, 2 * N - 4, N - 2);
    EXPECT_HOST(h, 2 * N - 4, 2 * N - 4);

    /* Freeing uncharged pages leaves the claims alone. */
    assert_int_equal(nc_free_anon(h, m1, 1), 0);
    assert_int_equal(nc_free_anon(h, m2, 0), 0);
    assert_int_equal(nc_free_anon(h, m3, 0), 0);
    EXPECT_DOM(h, a, 0, 2 * N - 4, N - 2);
    EXPECT_HOST(h, 2 * N, 2 * N - 4);
    EXPECT_NODE(h, 0, N, N - 2);
    EXPECT_NODE(h, 1, N, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_smaller_claim_plus_unclaimed_is_admitted(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t a = dom_new(h, BIG), b = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    /* Node 1: a claims 4, b claims all but 8, so 4 are unclaimed. */
    assert_int_equal(claim_set(h, a, 1, NODEC(1, 4)), 0);
    assert_int_equal(claim_set(h, b, 1, NODEC(1, N - 8)), 0);

    /* 16 pages: claim 4 + unclaimed 4 do not suffice. */
    assert_int_equal(nc_populate(h, CTL, a, 0, 4, flags_node(1, 1), &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, a, 0, 4, 0);
    /* 8 pages: claim 4 + unclaimed 4 (mainline Xen refuses this). */
    assert_int_equal(pop(h, CTL, a, 0, 3, flags_node(1, 1)), 1);
    EXPECT_DOM(h, a, 8, 0, 0);
    EXPECT_NODE(h, 1, N - 8, N - 8);
    assert_int_equal(nc_populate(h, CTL, a, 8, 0, flags_node(1, 1), &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, b, 0, N - 8, 0);
    assert_invariants(h);
    nc_host_destroy(h);

    /* The same with host-wide claims. */
    h = host_new("2x64M");
    a = dom_new(h, BIG);
    b = dom_new(h, BIG);
    assert_int_equal(claim_set(h, a, 1, HOSTC(4)), 0);
    assert_int_equal(claim_set(h, b, 1, HOSTC(2 * N - 8)), 0);
    assert_int_equal(nc_populate(h, CTL, a, 0, 4, NC_MEMFLAGS_NONE, &mfn),
                     -ENOMEM);
    assert_int_equal(pop_none(h, a, 0, 3), 1);
    EXPECT_DOM(h, a, 8, 0, 0);
    EXPECT_HOST(h, 2 * N - 8, 2 * N - 8);
    assert_int_equal(nc_populate(h, CTL, a, 8, 0, NC_MEMFLAGS_NONE, &mfn),
                     -ENOMEM);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * §5 redemption and admission
 * ======================================================================== */

static void test_redeem_node_claim_first_then_host_claim(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t a = dom_new(h, BIG);

    (void)state;
    assert_int_equal(claim_set(h, a, 2, HOSTC(10), NODEC(1, 4)), 0);
    /* Node 1 (the claimed node): a = 4, b = 4, c = 0. */
    assert_int_equal(pop_none(h, a, 0, 3), 1);
    EXPECT_DOM(h, a, 8, 6, 6);
    EXPECT_NODE(h, 1, N - 8, 0);
    EXPECT_HOST(h, 4 * N - 8, 6);
    /* Striping to node 2: a = 0, b = 6, and 2 unclaimed pages. */
    assert_int_equal(pop_none(h, a, 8, 3), 2);
    EXPECT_DOM(h, a, 16, 0, 0);
    EXPECT_NODE(h, 2, N - 8, 0);
    EXPECT_HOST(h, 4 * N - 16, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_redeem_leaves_other_nodes_below_max_pages(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t a = dom_new(h, 100);

    (void)state;
    assert_int_equal(claim_set(h, a, 3, NODEC(0, 8), NODEC(1, 8), HOSTC(8)),
                     0);
    /* Node 2: a = 0, b = 8, c = max(0, 0 + 16 + 24 - 8 - 100) = 0. */
    assert_int_equal(pop(h, CTL, a, 0, 4, flags_node(2, 0)), 2);
    EXPECT_DOM(h, a, 16, 16, 0);
    EXPECT_NODE(h, 0, N, 8);
    EXPECT_NODE(h, 1, N, 8);
    EXPECT_NODE(h, 2, N - 16, 0);
    EXPECT_HOST(h, 4 * N - 16, 16);
    /* Node 3: a = b = 0, c = max(0, 16 + 16 + 16 - 100) = 0. */
    assert_int_equal(pop(h, CTL, a, 16, 4, flags_node(3, 1)), 3);
    EXPECT_DOM(h, a, 32, 16, 0);
    EXPECT_NODE(h, 0, N, 8);
    EXPECT_NODE(h, 1, N, 8);
    EXPECT_HOST(h, 4 * N - 32, 16);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_redeem_other_nodes_excess_over_max_ascending(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t a = dom_new(h, 26);
    uint64_t mfn;

    (void)state;
    /* Claims fill max_pages exactly: 4 + 2 + 4 + 8 + host 8 = 26. */
    assert_int_equal(claim_set(h, a, 5, NODEC(0, 4), NODEC(1, 2), NODEC(2, 4),
                               NODEC(3, 8), HOSTC(8)), 0);
    /* 16 on node 1: a = 2, b = 8, c = 0 + 16 + 26 - 10 - 26 = 6, taken
     * from node 0 (4) and then node 2 (2). */
    assert_int_equal(pop(h, CTL, a, 0, 4, flags_node(1, 0)), 1);
    EXPECT_DOM(h, a, 16, 10, 0);
    EXPECT_NODE(h, 0, N, 0);
    EXPECT_NODE(h, 1, N - 16, 0);
    EXPECT_NODE(h, 2, N, 2);
    EXPECT_NODE(h, 3, N, 8);
    EXPECT_HOST(h, 4 * N - 16, 10);

    /* Largest claim (node 3): a = 8, c = 16 + 8 + 10 - 8 - 26 = 0. */
    assert_int_equal(pop_none(h, a, 16, 3), 3);
    EXPECT_DOM(h, a, 24, 2, 0);
    EXPECT_NODE(h, 2, N, 2);
    assert_int_equal(pop_none(h, a, 24, 1), 2);
    EXPECT_DOM(h, a, 26, 0, 0);
    EXPECT_HOST(h, 4 * N - 26, 0);
    assert_int_equal(nc_populate(h, CTL, a, 26, 0, NC_MEMFLAGS_NONE, &mfn),
                     -E2BIG);
    assert_invariants(h);
    nc_host_destroy(h);

    /* With 2 pages of room: c = 32 - 28 = 4, all from node 0, and the
     * request uses r - (a + b + c) = 2 unclaimed pages. */
    h = host_new("4x64M");
    a = dom_new(h, 28);
    assert_int_equal(claim_set(h, a, 5, NODEC(0, 4), NODEC(1, 2), NODEC(2, 4),
                               NODEC(3, 8), HOSTC(8)), 0);
    assert_int_equal(pop(h, CTL, a, 0, 4, flags_node(1, 1)), 1);
    EXPECT_DOM(h, a, 16, 12, 0);
    EXPECT_NODE(h, 0, N, 0);
    EXPECT_NODE(h, 1, N - 16, 0);
    EXPECT_NODE(h, 2, N, 4);
    EXPECT_NODE(h, 3, N, 8);
    EXPECT_HOST(h, 4 * N - 16, 12);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_redeem_excess_over_max_frees_host_capacity(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t tight = dom_new(h, 16), roomy = dom_new(h, 24);
    nc_domid_t b = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    /* Both claim 8 on each node; b claims the rest host-wide, so no page
     * of the host is unclaimed (each node still has N - 16 unpinned). */
    assert_int_equal(claim_set(h, tight, 2, NODEC(0, 8), NODEC(1, 8)), 0);
    assert_int_equal(claim_set(h, roomy, 2, NODEC(0, 8), NODEC(1, 8)), 0);
    assert_int_equal(claim_set(h, b, 1, HOSTC(2 * N - 32)), 0);
    EXPECT_HOST(h, 2 * N, 2 * N);

    /* roomy, 16 on node 1: a = 8, c = max(0, 16 + 16 - 8 - 24) = 0, so
     * 8 pages must be unclaimed host-wide: refused. */
    assert_int_equal(nc_populate(h, CTL, roomy, 0, 4, flags_node(1, 1), &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, roomy, 0, 16, 0);
    EXPECT_NODE(h, 1, N, 16);

    /* tight, the same request: a = 8, c = 16 + 16 - 8 - 16 = 8 from node
     * 0's claim, so r - (a + b + c) = 0: admitted. */
    assert_int_equal(pop(h, CTL, tight, 0, 4, flags_node(1, 1)), 1);
    EXPECT_DOM(h, tight, 16, 0, 0);
    EXPECT_NODE(h, 0, N, 8);
    EXPECT_NODE(h, 1, N - 16, 8);
    EXPECT_HOST(h, 2 * N - 16, 2 * N - 16);

    assert_int_equal(nc_populate(h, CTL, roomy, 0, 4, flags_node(1, 0), &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, roomy, 0, 16, 0);
    EXPECT_DOM(h, b, 0, 2 * N - 32, 2 * N - 32);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_over_max_pages_is_e2big_and_changes_nothing(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t a = dom_new(h, 10), z = dom_new(h, 0);
    uint64_t mfn;

    (void)state;
    assert_int_equal(pop_none(h, a, 0, 3), 1);
    assert_int_equal(claim_set(h, a, 1, HOSTC(2)), 0);
    assert_int_equal(nc_populate(h, CTL, a, 8, 2, NC_MEMFLAGS_NONE, &mfn),
                     -E2BIG);
    assert_int_equal(nc_populate(h, CTL, a, 8, 2, flags_node(0, 1), &mfn),
                     -E2BIG);
    assert_int_equal(nc_populate(h, a, a, 8, 2, NC_MEMFLAGS_NONE, &mfn),
                     -E2BIG);
    EXPECT_DOM(h, a, 8, 2, 2);
    assert_int_equal(dom_info(h, a).last_alloc_node, 1);
    EXPECT_HOST(h, 4 * N - 8, 2);
    assert_int_equal(nc_domain_translate(h, a, 8, &mfn), -ENOENT);

    assert_int_equal(pop_none(h, a, 8, 1), 2);
    EXPECT_DOM(h, a, 10, 0, 0);
    assert_int_equal(nc_populate(h, CTL, a, 10, 0, NC_MEMFLAGS_NONE, &mfn),
                     -E2BIG);
    assert_int_equal(nc_populate(h, CTL, z, 0, 0, NC_MEMFLAGS_NONE, &mfn),
                     -E2BIG);
    EXPECT_DOM(h, z, 0, 0, 0);
    EXPECT_HOST(h, 4 * N - 10, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * §5 address bits
 * ======================================================================== */

static void test_address_bits_12_or_less_is_einval(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    for ( uint8_t b = 1; b <= 12; b++ )
    {
        assert_int_equal(nc_populate(h, CTL, d, 0, 0,
                                     bits_flags(NC_NUMA_NO_NODE, 0, b), &mfn),
                         -EINVAL);
        assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0,
                                       bits_flags(NC_NUMA_NO_NODE, 0, b),
                                       &mfn), -EINVAL);
    }
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, 4 * N, 0);
    /* 13 bits reach MFNs 0 and 1, on node 0 whatever striping says. */
    assert_int_equal(pop_mfn(h, d, 0, 0, bits_flags(NC_NUMA_NO_NODE, 0, 13)),
                     0);
    assert_int_equal(dom_info(h, d).last_alloc_node, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* "3G,2G": node 0 is [0, 0xC0000), node 1 [0xC0000, 0x140000), so node 1
 * straddles 4 GiB (MFN 2^20). */
static void test_address_bits_32_keeps_below_4g(void **state)
{
    struct nc_host *h = host_new("3G,2G");
    nc_domid_t d = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    /* Highest zone first: node 1's part above 4 GiB. */
    assert_int_equal(pop_mfn(h, d, 0, 0, NC_MEMFLAGS_NONE), 0x100000);
    /* 32 bits on the same node: its part below 4 GiB. */
    mfn = pop_mfn(h, d, 1, 0, bits_flags(1, 1, 32));
    assert_true(mfn < (1ULL << 20));
    assert_int_equal(mfn, 0xC0000);
    /* Node 0's top zone under 32 bits is [0x80000, 0xC0000). */
    assert_int_equal(pop_mfn(h, d, 2, 0, bits_flags(NC_NUMA_NO_NODE, 0, 32)),
                     0x80000);
    assert_int_equal(dom_info(h, d).last_alloc_node, 0);
    /* 20 bits (MFN < 256): nothing on node 1, so exact fails... */
    assert_int_equal(nc_populate(h, CTL, d, 3, 0, bits_flags(1, 1, 20), &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, d, 3, 0, 0);
    /* ...and non-exact falls back to node 0's zone 8, [128, 256). */
    assert_int_equal(pop_mfn(h, d, 3, 0, bits_flags(1, 0, 20)), 128);
    /* Unrestricted again: node 0's highest zone, smallest block first. */
    assert_int_equal(pop_mfn(h, d, 4, 0, flags_node(0, 1)), 0x80001);
    assert_int_equal(pop_mfn(h, d, 5, 0, flags_node(1, 1)), 0x100001);
    EXPECT_NODE(h, 0, 0xC0000 - 3, 0);
    EXPECT_NODE(h, 1, 0x80000 - 3, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * §5 extents and callers
 * ======================================================================== */

static void test_order_above_18_is_einval(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    assert_int_equal(nc_populate(h, CTL, d, 0, NC_MAX_ORDER + 1,
                                 NC_MEMFLAGS_NONE, &mfn), -EINVAL);
    assert_int_equal(nc_populate(h, CTL, d, 0, 63, NC_MEMFLAGS_NONE, &mfn),
                     -EINVAL);
    assert_int_equal(nc_depopulate(h, CTL, d, 0, NC_MAX_ORDER + 1), -EINVAL);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, NC_MAX_ORDER + 1,
                                   NC_MEMFLAGS_NONE, &mfn), -EINVAL);
    assert_int_equal(nc_free_anon(h, 0, NC_MAX_ORDER + 1), -EINVAL);
    /* Order 18 is a valid request; these nodes just have no such block. */
    assert_int_equal(nc_populate(h, CTL, d, 0, NC_MAX_ORDER,
                                 NC_MEMFLAGS_NONE, &mfn), -ENOMEM);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, 4 * N, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_guest_may_populate_up_to_order_9_only(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    assert_int_equal(nc_populate(h, d, d, 0, 10, NC_MEMFLAGS_NONE, &mfn),
                     -EINVAL);
    EXPECT_DOM(h, d, 0, 0, 0);
    assert_int_equal(pop(h, d, d, 0, 9, NC_MEMFLAGS_NONE), 1);
    assert_int_equal(nc_depopulate(h, d, d, 0, 10), -EINVAL);
    /* The control domain may use larger orders. */
    assert_int_equal(pop(h, CTL, d, 1024, 10, NC_MEMFLAGS_NONE), 2);
    assert_int_equal(nc_depopulate(h, CTL, d, 1024, 10), 0);
    assert_int_equal(nc_depopulate(h, d, d, 0, 9), 0);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, 4 * N, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_foreign_caller_is_eperm(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t a = dom_new(h, BIG), b = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    assert_int_equal(pop_none(h, a, 0, 0), 1);
    assert_int_equal(nc_populate(h, b, a, 1, 0, NC_MEMFLAGS_NONE, &mfn),
                     -EPERM);
    assert_int_equal(nc_populate(h, NC_DOMID_XEN, a, 1, 0, NC_MEMFLAGS_NONE,
                                 &mfn), -EPERM);
    assert_int_equal(nc_depopulate(h, b, a, 0, 0), -EPERM);
    EXPECT_DOM(h, a, 1, 0, 0);
    EXPECT_DOM(h, b, 0, 0, 0);
    assert_int_equal(nc_domain_translate(h, a, 0, &mfn), 0);
    /* An unknown domain. */
    assert_int_equal(nc_populate(h, CTL, 77, 0, 0, NC_MEMFLAGS_NONE, &mfn),
                     -ESRCH);
    assert_int_equal(nc_depopulate(h, CTL, 77, 0, 0), -ESRCH);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_misaligned_gpfn_is_einval(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    assert_int_equal(nc_populate(h, CTL, d, 1, 1, NC_MEMFLAGS_NONE, &mfn),
                     -EINVAL);
    assert_int_equal(nc_populate(h, CTL, d, 256, 9, NC_MEMFLAGS_NONE, &mfn),
                     -EINVAL);
    assert_int_equal(nc_populate(h, d, d, 6, 2, NC_MEMFLAGS_NONE, &mfn),
                     -EINVAL);
    EXPECT_DOM(h, d, 0, 0, 0);
    assert_int_equal(pop_none(h, d, 512, 9), 1);
    assert_int_equal(nc_depopulate(h, CTL, d, 513, 1), -EINVAL);
    assert_int_equal(nc_depopulate(h, CTL, d, 768, 9), -EINVAL);
    EXPECT_DOM(h, d, 512, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* Xen's populate over a mapped gpfn: the new extent is allocated as any
 * charged allocation (the old pages still count), then the old pages leave
 * the p2m and are freed; claims are not restored. */
static void test_populate_replaces_mapped_gpfn(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    uint64_t mfn, first, eight;

    (void)state;
    first = pop_mfn(h, d, 4, 0, flags_node(0, 1));
    mfn = pop_mfn(h, d, 4, 0, flags_node(0, 1));
    assert_int_not_equal(mfn, first);
    assert_int_equal(nc_domain_translate(h, d, 4, &eight), 0);
    assert_int_equal(eight, mfn);
    EXPECT_DOM(h, d, 1, 0, 0);
    EXPECT_HOST(h, 4 * N - 1, 0);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 1);

    /* An order-3 extent over the order-0 one: 8 pages, the old one freed. */
    eight = pop_mfn(h, d, 0, 3, flags_node(0, 1));
    EXPECT_DOM(h, d, 8, 0, 0);
    EXPECT_NODE(h, 0, N - 8, 0);
    assert_int_equal(nc_domain_translate(h, d, 4, &mfn), 0);
    assert_int_equal(mfn, eight + 4);

    /* An order-1 extent in the middle splits the order-3 run in three. */
    mfn = pop_mfn(h, d, 2, 1, flags_node(1, 1));
    EXPECT_DOM(h, d, 8, 0, 0);
    EXPECT_NODE(h, 0, N - 6, 0);
    EXPECT_NODE(h, 1, N - 2, 0);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 3);
    {
        uint64_t pages[4];

        assert_int_equal(nc_domain_node_pages(h, d, pages, 4), 0);
        assert_int_equal(pages[0], 6);
        assert_int_equal(pages[1], 2);
    }

    /* With a claim held: the new extent redeems it, the freed pages do
     * not give it back. */
    assert_int_equal(claim_set(h, d, 1, NODEC(1, 16)), 0);
    (void)pop_mfn(h, d, 0, 3, flags_node(1, 1));
    EXPECT_DOM(h, d, 8, 8, 0);
    EXPECT_NODE(h, 0, N, 0);
    EXPECT_NODE(h, 1, N - 8, 8);
    EXPECT_HOST(h, 4 * N - 8, 8);

    /* At max_pages the replacement fails: the old pages still count. */
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 8), 0);
    EXPECT_DOM(h, d, 8, 0, 0);
    assert_int_equal(nc_populate(h, CTL, d, 0, 0, NC_MEMFLAGS_NONE, &mfn),
                     -E2BIG);
    EXPECT_DOM(h, d, 8, 0, 0);
    EXPECT_HOST(h, 4 * N - 8, 0);
    assert_invariants(h);
    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
    EXPECT_HOST(h, 4 * N, 0);
    nc_host_destroy(h);
}

/* increase_reservation: pages owned but not mapped (I7 counts them), freed
 * by MFN or when the domain dies. */
static void test_increase_reservation_owns_unmapped_pages(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, 100);
    struct nc_domain_info info;
    uint64_t mfn = ~0ULL, pages[4], got;
    uint32_t status;

    (void)state;
    assert_int_equal(claim_set(h, d, 2, HOSTC(10), NODEC(1, 10)), 0);
    assert_int_equal(nc_increase_reservation(h, CTL, d, 2, flags_node(1, 1),
                                             &mfn), 0);
    assert_int_equal(nc_host_mfn_node(h, mfn), 1);
    assert_int_equal(mfn % 4, 0);
    EXPECT_DOM(h, d, 4, 16, 10);
    EXPECT_NODE(h, 1, N - 4, 6);
    info = dom_info(h, d);
    assert_int_equal(info.unmapped_pages, 4);
    assert_int_equal(info.nr_p2m_extents, 0);
    assert_int_equal(nc_domain_node_pages(h, d, pages, 4), 0);
    assert_int_equal(pages[1], 4);
    /* Nothing is mapped anywhere. */
    assert_int_equal(nc_domain_translate(h, d, 0, &got), -ENOENT);
    assert_int_equal(nc_depopulate(h, CTL, d, mfn, 0), -ENOENT);

    /* Errors: guest order limit, another domain's pages, max_pages. */
    assert_int_equal(nc_increase_reservation(h, d, d, 10, NC_MEMFLAGS_NONE,
                                             NULL), -EINVAL);
    assert_int_equal(nc_increase_reservation(h, d + 1, d, 0,
                                             NC_MEMFLAGS_NONE, NULL), -EPERM);
    assert_int_equal(nc_increase_reservation(h, CTL, d + 1, 0,
                                             NC_MEMFLAGS_NONE, NULL), -ESRCH);
    assert_int_equal(nc_increase_reservation(h, CTL, d, 7, NC_MEMFLAGS_NONE,
                                             NULL), -E2BIG);
    assert_int_equal(nc_free_unmapped(h, CTL, d, mfn + 4, 0), -ENOENT);
    assert_int_equal(nc_free_unmapped(h, CTL, d, mfn + 1, 1), -EINVAL);
    EXPECT_DOM(h, d, 4, 16, 10);

    /* A guest ballooning itself: order 0 on its own. */
    assert_int_equal(nc_increase_reservation(h, d, d, 0, NC_MEMFLAGS_NONE,
                                             &got), 0);
    EXPECT_DOM(h, d, 5, 15, 10);
    assert_int_equal(nc_free_unmapped(h, d, d, got, 0), 0);
    EXPECT_DOM(h, d, 4, 15, 10);

    /* Part of a run back; then the rest is pending offline and goes when
     * the domain dies. */
    assert_int_equal(nc_free_unmapped(h, CTL, d, mfn + 2, 1), 0);
    EXPECT_DOM(h, d, 2, 15, 10);
    assert_int_equal(dom_info(h, d).unmapped_pages, 2);
    assert_int_equal(nc_free_unmapped(h, CTL, d, mfn + 2, 0), -ENOENT);
    assert_int_equal(nc_page_offline(h, CTL, mfn, false, &status), 0);
    assert_int_equal(status, NC_PG_OFFLINE_OWNED | NC_PG_OFFLINE_PENDING |
                                 ((uint32_t)d << NC_PG_OFFLINE_OWNER_SHIFT));
    assert_invariants(h);
    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
    assert_int_equal(nc_page_query(h, CTL, mfn, &status), 0);
    assert_int_equal(status, NC_PG_OFFLINE_STATUS_OFFLINED);
    assert_int_equal(nc_page_query(h, CTL, mfn + 1, &status), 0);
    assert_int_equal(status, NC_PG_OFFLINE_STATUS_NONE);
    EXPECT_HOST(h, 4 * N - 1, 0);
    nc_host_destroy(h);
}

/* XEN_SYSCTL_availheap's arithmetic: zone z holds the MFNs whose highest
 * set bit is bit z - 1 (MFN 0 in zone 1); a width of w bits reaches zone
 * w - 12. */
static void test_avail_heap_zones(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, BIG);

    (void)state;
    assert_int_equal(nc_host_avail_heap(h, -1, 0, 0), 2 * N);
    assert_int_equal(nc_host_avail_heap(h, 0, 0, 0), N);
    assert_int_equal(nc_host_avail_heap(h, 1, 0, 0), N);
    assert_int_equal(nc_host_avail_heap(h, 2, 0, 0), 0);
    assert_int_equal(nc_host_avail_heap(h, -2, 0, 0), 0);
    /* Node 0 is MFNs [0, 16384): zones 1..14; node 1 is zone 15. */
    assert_int_equal(nc_host_avail_heap(h, -1, 0, 12 + 14), N);
    assert_int_equal(nc_host_avail_heap(h, -1, 12 + 15, 0), N);
    assert_int_equal(nc_host_avail_heap(h, -1, 12 + 15, 12 + 15), N);
    assert_int_equal(nc_host_avail_heap(h, 1, 0, 12 + 14), 0);
    /* Zone 1 is MFNs 0 and 1; widths below 13 mean zone 1. */
    assert_int_equal(nc_host_avail_heap(h, -1, 13, 13), 2);
    assert_int_equal(nc_host_avail_heap(h, -1, 1, 1), 2);
    assert_int_equal(nc_host_avail_heap(h, -1, 14, 14), 2);
    assert_int_equal(nc_host_avail_heap(h, -1, 12 + 3, 12 + 4), 4 + 8);
    /* Widths past the last zone are clamped; min above max is empty. */
    assert_int_equal(nc_host_avail_heap(h, -1, 0, 200), 2 * N);
    assert_int_equal(nc_host_avail_heap(h, -1, 12 + 15, 12 + 14), 0);

    /* It is the heap: claims do not change it, allocations do. */
    assert_int_equal(claim_set(h, d, 1, NODEC(1, 100)), 0);
    assert_int_equal(nc_host_avail_heap(h, 1, 0, 0), N);
    (void)pop_mfn(h, d, 0, 4, flags_node(1, 1));
    assert_int_equal(nc_host_avail_heap(h, 1, 0, 0), N - 16);
    assert_int_equal(nc_host_avail_heap(h, -1, 0, 0), 2 * N - 16);
    nc_host_destroy(h);
}

/* The machine memory map merges RAM runs across node boundaries and
 * leaves offline nodes out; max_page is one past the last RAM frame. */
static void test_memory_map_and_max_page(void **state)
{
    struct nc_host *h = host_new_offline("4x64M", 1ULL << 1);
    struct nc_range run[4];

    (void)state;
    assert_int_equal(nc_host_memory_map(h, run, 4), 2);
    assert_int_equal(run[0].start, 0);
    assert_int_equal(run[0].nr, N);
    assert_int_equal(run[1].start, 2 * N);
    assert_int_equal(run[1].nr, 2 * N);
    assert_int_equal(nc_host_memory_map(h, run, 1), 2);   /* count only */
    assert_int_equal(nc_host_max_page(h), 4 * N);
    nc_host_destroy(h);

    h = host_new_offline("4x64M", 1ULL << 3);
    assert_int_equal(nc_host_memory_map(h, run, 4), 1);
    assert_int_equal(run[0].nr, 3 * N);
    assert_int_equal(nc_host_max_page(h), 3 * N);
    nc_host_destroy(h);
}

static void test_depopulate_unpopulated_is_enoent(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);

    (void)state;
    assert_int_equal(nc_depopulate(h, CTL, d, 0, 0), -ENOENT);
    assert_int_equal(pop_none(h, d, 0, 0), 1);
    /* Partly populated ranges are refused whole. */
    assert_int_equal(nc_depopulate(h, CTL, d, 0, 1), -ENOENT);
    assert_int_equal(nc_depopulate(h, d, d, 0, 2), -ENOENT);
    assert_int_equal(nc_depopulate(h, CTL, d, 1, 0), -ENOENT);
    EXPECT_DOM(h, d, 1, 0, 0);
    EXPECT_NODE(h, 1, N - 1, 0);
    assert_int_equal(nc_depopulate(h, CTL, d, 0, 0), 0);
    assert_int_equal(nc_depopulate(h, CTL, d, 0, 0), -ENOENT);
    EXPECT_DOM(h, d, 0, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_depopulate_frees_to_node_and_keeps_claims_spent(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t a = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    assert_int_equal(claim_set(h, a, 2, NODEC(1, 8), HOSTC(4)), 0);
    assert_int_equal(pop_none(h, a, 0, 3), 1);
    EXPECT_DOM(h, a, 8, 4, 4);
    EXPECT_NODE(h, 1, N - 8, 0);

    assert_int_equal(nc_depopulate(h, CTL, a, 0, 3), 0);
    EXPECT_DOM(h, a, 0, 4, 4);
    EXPECT_NODE(h, 1, N, 0);
    EXPECT_HOST(h, 4 * N, 4);

    /* One page of an extent goes back to the extent's node. */
    assert_int_equal(pop(h, CTL, a, 8, 2, flags_node(2, 1)), 2);
    EXPECT_DOM(h, a, 4, 0, 0);
    EXPECT_NODE(h, 2, N - 4, 0);
    assert_int_equal(nc_depopulate(h, a, a, 9, 0), 0);
    EXPECT_DOM(h, a, 3, 0, 0);
    EXPECT_NODE(h, 2, N - 3, 0);
    assert_int_equal(nc_domain_translate(h, a, 9, &mfn), -ENOENT);
    assert_int_equal(nc_domain_translate(h, a, 10, &mfn), 0);
    assert_int_equal(nc_host_mfn_node(h, mfn), 2);
    EXPECT_HOST(h, 4 * N - 3, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * §6 vNUMA topologies
 * ======================================================================== */

#define VN_GPFNS    4096ULL     /* 16 MiB of guest memory per vnode */
#define VADDR(g)    ((uint64_t)(g) << NC_PAGE_SHIFT)

/* A mutable two-vnode topology for one vcpu: vnode 0 is gpfns [0, 4096),
 * vnode 1 is [8192, 12288); [4096, 8192) is a hole. */
struct vfix {
    uint32_t vdist[4];
    uint32_t vcpu[4];
    uint32_t v2p[2];
    struct nc_vmemrange r[2];
    struct nc_vnuma v;
};

static void vfix_init(struct vfix *f, uint32_t p0, uint32_t p1,
                      uint32_t nr_vcpus)
{
    memset(f, 0, sizeof(*f));
    f->vdist[0] = 10;
    f->vdist[1] = 20;
    f->vdist[2] = 20;
    f->vdist[3] = 10;
    for ( uint32_t i = 0; i < nr_vcpus; i++ )
        f->vcpu[i] = i % 2;
    f->v2p[0] = p0;
    f->v2p[1] = p1;
    f->r[0] = (struct nc_vmemrange){ .start = 0, .end = VADDR(VN_GPFNS),
                                     .nid = 0 };
    f->r[1] = (struct nc_vmemrange){ .start = VADDR(2 * VN_GPFNS),
                                     .end = VADDR(3 * VN_GPFNS), .nid = 1 };
    f->v = (struct nc_vnuma){
        .nr_vnodes = 2, .nr_vcpus = nr_vcpus, .nr_vmemranges = 2,
        .vdistance = f->vdist, .vcpu_to_vnode = f->vcpu,
        .vnode_to_pnode = f->v2p, .vmemrange = f->r,
    };
}

static void set_vnuma_2(struct nc_host *h, nc_domid_t d, uint32_t p0,
                        uint32_t p1)
{
    struct vfix f;

    vfix_init(&f, p0, p1, 1);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), 0);
}

static void expect_no_vnuma(struct nc_host *h, nc_domid_t d)
{
    uint32_t vdist[4], vcpu[4];
    struct nc_vmemrange r[4];
    struct nc_vnuma_out o = { 2, 4, 4, vdist, vcpu, r };

    assert_int_equal(nc_domain_get_vnuma(h, CTL, d, &o), -EOPNOTSUPP);
}

static nc_domid_t dom_vcpus(struct nc_host *h, uint32_t max_vcpus)
{
    struct nc_domain_config c = { .domid = NC_DOMID_ANY,
                                  .max_vcpus = max_vcpus };
    nc_domid_t d;

    assert_int_equal(nc_domain_create(h, CTL, &c, &d), 0);
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, BIG), 0);
    return d;
}

static void test_set_vnuma_rejects_bad_counts(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG), q = dom_vcpus(h, 4);
    struct vfix f;

    (void)state;
    vfix_init(&f, 0, 1, 1);
    f.v.nr_vnodes = 0;
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -EINVAL);

    /* nr_vcpus must be the domain's max_vcpus (1 for d, 4 for q). */
    vfix_init(&f, 0, 1, 2);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -EINVAL);
    vfix_init(&f, 0, 1, 0);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -EINVAL);
    vfix_init(&f, 0, 1, 2);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, q, &f.v), -EINVAL);
    vfix_init(&f, 0, 1, 3);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, q, &f.v), -EINVAL);
    expect_no_vnuma(h, d);
    expect_no_vnuma(h, q);
    vfix_init(&f, 0, 1, 4);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, q, &f.v), 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_set_vnuma_rejects_bad_vcpu_and_pnode(void **state)
{
    struct nc_host *h = host_with_offline_node("4x64M", 3);
    nc_domid_t d = dom_new(h, BIG);
    struct vfix f;

    (void)state;
    vfix_init(&f, 0, 1, 1);
    f.vcpu[0] = 2;
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -E2BIG);

    vfix_init(&f, 0, 64, 1);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -E2BIG);
    vfix_init(&f, NC_NUMA_NO_NODE, 1, 1);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -E2BIG);
    /* Below 64 but not a node of this host, or offline. */
    vfix_init(&f, 0, 4, 1);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -EINVAL);
    vfix_init(&f, 63, 1, 1);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -EINVAL);
    vfix_init(&f, 0, 3, 1);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -EINVAL);
    /* Xen's range check first: an offline (3) or absent (4) pnode next to
     * one of 200 is Xen's E2BIG, not numaclaim's EINVAL. */
    vfix_init(&f, 3, 200, 1);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -E2BIG);
    vfix_init(&f, 4, 200, 1);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -E2BIG);
    expect_no_vnuma(h, d);

    vfix_init(&f, 2, 2, 1);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_set_vnuma_rejects_bad_ranges(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    struct vfix f;

    (void)state;
    vfix_init(&f, 0, 1, 1);
    f.r[1].flags = 1;
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -EINVAL);

    vfix_init(&f, 0, 1, 1);
    f.r[1].start = f.r[0].end - NC_PAGE_SIZE;
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -EINVAL);

    /* Given in reverse order, overlapping: still caught. */
    vfix_init(&f, 0, 1, 1);
    f.r[0].start = VADDR(3 * VN_GPFNS) - NC_PAGE_SIZE;
    f.r[0].end = VADDR(4 * VN_GPFNS);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -EINVAL);
    expect_no_vnuma(h, d);

    /* Adjacent ranges do not overlap. */
    vfix_init(&f, 0, 1, 1);
    f.r[1].start = f.r[0].end;
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_set_vnuma_allows_32_vnodes_not_33(void **state)
{
    static uint32_t vdist[33 * 33], v2p[33];
    static struct nc_vmemrange r[33];
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    uint32_t vcpu[1] = { 31 };
    struct nc_vnuma v = {
        .nr_vcpus = 1, .vdistance = vdist, .vcpu_to_vnode = vcpu,
        .vnode_to_pnode = v2p, .vmemrange = r,
    };

    (void)state;
    for ( uint32_t i = 0; i < 33; i++ )
    {
        for ( uint32_t j = 0; j < 33; j++ )
            vdist[i * 33 + j] = i == j ? 10 : 20;
        v2p[i] = i % 4;
        r[i] = (struct nc_vmemrange){ .start = VADDR(i * 512ULL),
                                      .end = VADDR((i + 1) * 512ULL),
                                      .nid = i };
    }
    v.nr_vnodes = v.nr_vmemranges = 33;
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &v), -EINVAL);
    expect_no_vnuma(h, d);
    v.nr_vnodes = v.nr_vmemranges = 32;
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &v), 0);
    /* vnode 31's memory is on pnode 3. */
    assert_int_equal(pop_none(h, d, 31 * 512, 0), 3);
    assert_int_equal(pop_none(h, d, 5 * 512, 0), 1);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_set_vnuma_needs_control_caller(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG), e = dom_new(h, BIG);
    struct vfix f;

    (void)state;
    vfix_init(&f, 0, 1, 1);
    assert_int_equal(nc_domain_set_vnuma(h, d, d, &f.v), -EPERM);
    assert_int_equal(nc_domain_set_vnuma(h, e, d, &f.v), -EPERM);
    expect_no_vnuma(h, d);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, 77, &f.v), -ESRCH);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_get_vnuma_round_trip(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_vcpus(h, 4), e = dom_new(h, BIG);
    const uint32_t vdist[9] = { 10, 20, 30, 20, 10, 25, 30, 25, 10 };
    const uint32_t vcpu[4] = { 2, 0, 1, 2 };
    const uint32_t v2p[3] = { 3, 0, 1 };
    const struct nc_vmemrange r[3] = {
        { .start = VADDR(8192), .end = VADDR(12288), .nid = 2 },
        { .start = 0, .end = VADDR(4096), .nid = 0 },
        { .start = VADDR(4096), .end = VADDR(8192), .nid = 1 },
    };
    const struct nc_vnuma v = {
        .nr_vnodes = 3, .nr_vcpus = 4, .nr_vmemranges = 3,
        .vdistance = vdist, .vcpu_to_vnode = vcpu, .vnode_to_pnode = v2p,
        .vmemrange = r,
    };
    uint32_t od[16], oc[8];
    struct nc_vmemrange orr[8];
    struct nc_vnuma_out o;

    (void)state;
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &v), 0);

    memset(od, 0xFF, sizeof(od));
    memset(oc, 0xFF, sizeof(oc));
    memset(orr, 0xFF, sizeof(orr));
    o = (struct nc_vnuma_out){ 3, 4, 3, od, oc, orr };
    assert_int_equal(nc_domain_get_vnuma(h, CTL, d, &o), 0);
    assert_int_equal(o.nr_vnodes, 3);
    assert_int_equal(o.nr_vcpus, 4);
    assert_int_equal(o.nr_vmemranges, 3);
    assert_memory_equal(od, vdist, sizeof(vdist));
    assert_memory_equal(oc, vcpu, sizeof(vcpu));
    /* Ranges come back in the order given. */
    for ( uint32_t i = 0; i < 3; i++ )
    {
        assert_int_equal(orr[i].start, r[i].start);
        assert_int_equal(orr[i].end, r[i].end);
        assert_int_equal(orr[i].flags, 0);
        assert_int_equal(orr[i].nid, r[i].nid);
    }
    assert_int_equal(od[9], 0xFFFFFFFFU);
    assert_int_equal(oc[4], 0xFFFFFFFFU);

    /* The guest itself may read it; larger buffers get the real counts. */
    memset(od, 0, sizeof(od));
    o = (struct nc_vnuma_out){ 16, 8, 8, od, oc, orr };
    assert_int_equal(nc_domain_get_vnuma(h, d, d, &o), 0);
    assert_int_equal(o.nr_vnodes, 3);
    assert_int_equal(o.nr_vcpus, 4);
    assert_int_equal(o.nr_vmemranges, 3);
    assert_memory_equal(od, vdist, sizeof(vdist));
    /* Another guest may not. */
    assert_int_equal(nc_domain_get_vnuma(h, e, d, &o), -EPERM);
    assert_int_equal(nc_domain_get_vnuma(h, CTL, 77, &o), -ESRCH);

    /* A failing SET keeps the topology; a good one replaces it. */
    {
        struct vfix f;

        vfix_init(&f, 0, 9, 4);
        assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), -EINVAL);
        o = (struct nc_vnuma_out){ 16, 8, 8, od, oc, orr };
        assert_int_equal(nc_domain_get_vnuma(h, CTL, d, &o), 0);
        assert_int_equal(o.nr_vnodes, 3);
        assert_memory_equal(oc, vcpu, sizeof(vcpu));

        vfix_init(&f, 0, 1, 4);
        assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), 0);
        o = (struct nc_vnuma_out){ 16, 8, 8, od, oc, orr };
        assert_int_equal(nc_domain_get_vnuma(h, CTL, d, &o), 0);
        assert_int_equal(o.nr_vnodes, 2);
        assert_int_equal(o.nr_vcpus, 4);
        assert_int_equal(o.nr_vmemranges, 2);
        assert_memory_equal(oc, f.vcpu, 4 * sizeof(uint32_t));
        assert_int_equal(orr[1].start, VADDR(2 * VN_GPFNS));
    }
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_get_vnuma_without_topology_is_eopnotsupp(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    uint32_t od[4], oc[4];
    struct nc_vmemrange orr[4];
    struct nc_vnuma_out o = { 4, 4, 4, od, oc, orr };

    (void)state;
    assert_int_equal(nc_domain_get_vnuma(h, CTL, d, &o), -EOPNOTSUPP);
    assert_int_equal(nc_domain_get_vnuma(h, d, d, &o), -EOPNOTSUPP);
    assert_int_equal(o.nr_vnodes, 4);
    assert_int_equal(o.nr_vcpus, 4);
    assert_int_equal(o.nr_vmemranges, 4);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_get_vnuma_small_buffers_enobufs_with_counts(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_vcpus(h, 4);
    const uint32_t caps[3][3] = { { 1, 4, 2 }, { 2, 3, 2 }, { 2, 4, 1 } };
    uint32_t od[4], oc[4];
    struct nc_vmemrange orr[2];
    struct vfix f;

    (void)state;
    vfix_init(&f, 0, 1, 4);
    assert_int_equal(nc_domain_set_vnuma(h, CTL, d, &f.v), 0);
    for ( uint32_t i = 0; i < 3; i++ )
    {
        struct nc_vnuma_out o = { caps[i][0], caps[i][1], caps[i][2],
                                  od, oc, orr };

        memset(od, 0xEE, sizeof(od));
        memset(oc, 0xEE, sizeof(oc));
        memset(orr, 0xEE, sizeof(orr));
        assert_int_equal(nc_domain_get_vnuma(h, CTL, d, &o), -ENOBUFS);
        assert_int_equal(o.nr_vnodes, 2);
        assert_int_equal(o.nr_vcpus, 4);
        assert_int_equal(o.nr_vmemranges, 2);
        /* Nothing but the counts is written. */
        assert_int_equal(od[0], 0xEEEEEEEEU);
        assert_int_equal(oc[0], 0xEEEEEEEEU);
        assert_int_equal(orr[0].nid, 0xEEEEEEEEU);
    }
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * §6 node requests
 * ======================================================================== */

static void test_vnode_request_translates_to_pnode(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG), filler = dom_new(h, BIG);
    uint64_t g = 0, mfn;

    (void)state;
    set_vnuma_2(h, d, 2, 3);
    /* gpfn 0 is vnode 0's, but the flag names vnode 1: pnode 3. */
    assert_int_equal(pop(h, d, d, 0, 0, vnode_flags(1, false)), 3);
    assert_int_equal(pop(h, d, d, 1, 0, vnode_flags(0, true)), 2);
    assert_int_equal(pop(h, CTL, d, 2, 0, vnode_flags(1, true)), 3);
    assert_int_equal(pop(h, CTL, d, 3, 0, vnode_flags(0, false)), 2);

    /* Exact is honoured: pnode 3 full -> ENOMEM, not another node. */
    fill_node(h, filler, 3, &g);
    assert_int_equal(nc_populate(h, d, d, 4, 0, vnode_flags(1, true), &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, d, 4, 0, 0);
    /* Not exact: fallback from pnode 3 (all at 21: node 0). */
    assert_int_equal(pop(h, d, d, 4, 0, vnode_flags(1, false)), 0);
    expect_node_pages(h, d, 1, 0, 2, 2);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_vnode_out_of_range_is_einval(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    set_vnuma_2(h, d, 2, 3);
    assert_int_equal(nc_populate(h, d, d, 0, 0, vnode_flags(2, false), &mfn),
                     -EINVAL);
    assert_int_equal(nc_populate(h, CTL, d, 0, 0, vnode_flags(2, true), &mfn),
                     -EINVAL);
    assert_int_equal(nc_populate(h, CTL, d, 0, 0, vnode_flags(63, false),
                                 &mfn), -EINVAL);
    assert_int_equal(nc_populate(h, CTL, d, 0, 0, vnode_flags(200, false),
                                 &mfn), -EINVAL);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, 4 * N, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_vnode_request_without_vnuma_is_ignored(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);

    (void)state;
    /* No topology: the request is dropped and striping decides. */
    assert_int_equal(pop(h, d, d, 0, 0, vnode_flags(3, true)), 1);
    assert_int_equal(pop(h, d, d, 1, 0, vnode_flags(0, false)), 2);
    assert_int_equal(pop(h, CTL, d, 2, 0, vnode_flags(100, true)), 3);
    assert_int_equal(pop(h, CTL, d, 3, 0, vnode_flags(3, false)), 0);
    EXPECT_DOM(h, d, 4, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_guest_physical_node_request_is_filtered(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    uint64_t mfn;

    (void)state;
    /* A guest's non-exact physical node is ignored: striping. */
    assert_int_equal(pop(h, d, d, 0, 0, flags_node(3, 0)), 1);
    assert_int_equal(pop(h, d, d, 1, 0, flags_node(1, 0)), 2);
    /* Its exact one is an error. */
    assert_int_equal(nc_populate(h, d, d, 2, 0, flags_node(3, 1), &mfn),
                     -EINVAL);
    assert_int_equal(nc_populate(h, d, d, 2, 0, flags_node(70, 1), &mfn),
                     -EINVAL);
    EXPECT_DOM(h, d, 2, 0, 0);
    assert_int_equal(dom_info(h, d).last_alloc_node, 2);

    /* The control domain may name physical nodes. */
    assert_int_equal(pop(h, CTL, d, 2, 0, flags_node(1, 0)), 1);
    assert_int_equal(pop(h, CTL, d, 3, 0, flags_node(1, 1)), 1);
    /* ... below MAX_NUMNODES. */
    assert_int_equal(nc_populate(h, CTL, d, 4, 0, flags_node(64, 0), &mfn),
                     -EINVAL);
    assert_int_equal(nc_populate(h, CTL, d, 4, 0, flags_node(64, 1), &mfn),
                     -EINVAL);
    assert_int_equal(nc_populate(h, CTL, d, 4, 0, flags_node(254, 0), &mfn),
                     -EINVAL);
    /* A valid node id this host lacks holds no memory: exact fails,
     * non-exact is no request. */
    assert_int_equal(nc_populate(h, CTL, d, 4, 0, flags_node(63, 1), &mfn),
                     -ENOMEM);
    EXPECT_DOM(h, d, 4, 0, 0);
    assert_int_equal(pop(h, CTL, d, 4, 0, flags_node(63, 0)), 2);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_implicit_hint_follows_vmemranges(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG), filler = dom_new(h, BIG);
    uint64_t g = 0;

    (void)state;
    set_vnuma_2(h, d, 3, 1);
    assert_int_equal(pop_none(h, d, 0, 0), 3);
    assert_int_equal(pop_none(h, d, 2 * VN_GPFNS, 0), 1);
    assert_int_equal(pop_none(h, d, VN_GPFNS - 1, 0), 3);
    assert_int_equal(pop_none(h, d, 3 * VN_GPFNS - 1, 0), 1);
    assert_int_equal(pop(h, d, d, 512, 9, NC_MEMFLAGS_NONE), 3);
    /* No range: normal node choice (striping after node 3). */
    assert_int_equal(pop_none(h, d, VN_GPFNS, 0), 0);
    assert_int_equal(pop_none(h, d, 3 * VN_GPFNS, 0), 1);
    assert_int_equal(pop_none(h, d, 2 * VN_GPFNS - 1, 0), 2);
    /* An explicit node wins over the hint. */
    assert_int_equal(pop(h, CTL, d, 1, 0, flags_node(2, 0)), 2);

    /* The hint outranks node claims; holes then follow the claim. */
    assert_int_equal(claim_set(h, d, 1, NODEC(0, 100)), 0);
    assert_int_equal(pop_none(h, d, 2, 0), 3);
    assert_int_equal(pop_none(h, d, 2 * VN_GPFNS + 1, 0), 1);
    EXPECT_DOM(h, d, 522, 100, 0);
    assert_int_equal(pop_none(h, d, VN_GPFNS + 1, 0), 0);
    EXPECT_DOM(h, d, 523, 99, 0);

    /* The hint is not exact: pnode 3 full -> nearest other node. */
    fill_node(h, filler, 3, &g);
    assert_int_equal(pop_none(h, d, 3, 0), 0);
    EXPECT_DOM(h, d, 524, 98, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* Review findings: a vnode request without a vnode is EINVAL as in Xen;
 * allocations that map no gpfn take no implicit hint; nc_free_anon takes
 * back exactly one allocation. */
static void test_vnode_flag_without_vnode_and_anon_rules(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG);
    uint64_t mfn, m2;

    (void)state;
    set_vnuma_2(h, d, 3, 1);
    assert_int_equal(nc_populate(h, CTL, d, 0, 0,
                                 (struct nc_memflags){ .node = NC_NUMA_NO_NODE,
                                                       .vnode = true }, NULL),
                     -EINVAL);
    EXPECT_DOM(h, d, 0, 0, 0);
    /* An anonymous allocation for d follows d's affinity (striping after
     * node 0), not the hint of gpfn 0 (pnode 3). */
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 1ULL << 0), 0);
    assert_int_equal(nc_alloc_anon(h, d, 1, NC_MEMFLAGS_NONE, &mfn), 0);
    assert_int_equal(nc_host_mfn_node(h, mfn), 0);
    /* Half of it, or it and its neighbour, are not one allocation. */
    assert_int_equal(nc_alloc_anon(h, d, 1, NC_MEMFLAGS_NONE, &m2), 0);
    assert_int_equal(nc_free_anon(h, mfn + 1, 0), -EINVAL);
    assert_int_equal(nc_free_anon(h, mfn, 0), -EINVAL);
    if ( m2 == mfn + 2 )
        assert_int_equal(nc_free_anon(h, mfn, 2), -EINVAL);
    assert_int_equal(nc_free_anon(h, mfn, 1), 0);
    assert_int_equal(nc_free_anon(h, mfn, 1), -EINVAL);
    assert_int_equal(nc_free_anon(h, m2, 1), 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

#define BALLOON_PAGES   64U
#define BALLOON_OUT     10U
#define BALLOON_FIRST   10U

static void balloon_down(struct nc_host *h, nc_domid_t d)
{
    for ( uint32_t i = 0; i < BALLOON_OUT; i++ )
    {
        assert_int_equal(nc_depopulate(h, d, d, BALLOON_FIRST + i, 0), 0);
        assert_int_equal(nc_depopulate(h, d, d,
                                       2 * VN_GPFNS + BALLOON_FIRST + i, 0),
                         0);
    }
}

static void test_ballooning_returns_pages_to_vnode_pnode(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG), e = dom_new(h, BIG);

    (void)state;
    /* d has vNUMA: vnode 0 on pnode 2, vnode 1 on pnode 0. */
    set_vnuma_2(h, d, 2, 0);
    for ( uint32_t i = 0; i < BALLOON_PAGES; i++ )
    {
        assert_int_equal(pop_none(h, d, i, 0), 2);
        assert_int_equal(pop_none(h, d, 2 * VN_GPFNS + i, 0), 0);
    }
    expect_node_pages(h, d, 64, 0, 64, 0);

    balloon_down(h, d);
    expect_node_pages(h, d, 54, 0, 54, 0);
    EXPECT_NODE(h, 0, N - 54, 0);
    EXPECT_NODE(h, 2, N - 54, 0);
    EXPECT_DOM(h, d, 108, 0, 0);

    /* The guest balloons up without naming any node. */
    for ( uint32_t i = 0; i < BALLOON_OUT; i++ )
    {
        assert_int_equal(pop(h, d, d, BALLOON_FIRST + i, 0,
                             NC_MEMFLAGS_NONE), 2);
        assert_int_equal(pop(h, d, d, 2 * VN_GPFNS + BALLOON_FIRST + i, 0,
                             NC_MEMFLAGS_NONE), 0);
    }
    expect_node_pages(h, d, 64, 0, 64, 0);

    /* e has no vNUMA: built the same way with exact physical nodes, its
     * balloon pages come back wherever striping puts them. */
    for ( uint32_t i = 0; i < BALLOON_PAGES; i++ )
    {
        assert_int_equal(pop(h, CTL, e, i, 0, flags_node(2, 1)), 2);
        assert_int_equal(pop(h, CTL, e, 2 * VN_GPFNS + i, 0,
                             flags_node(0, 1)), 0);
    }
    balloon_down(h, e);
    expect_node_pages(h, e, 54, 0, 54, 0);
    assert_int_equal(dom_info(h, e).last_alloc_node, 0);
    for ( uint32_t i = 0; i < BALLOON_OUT; i++ )
        assert_int_equal(pop(h, e, e, BALLOON_FIRST + i, 0,
                             NC_MEMFLAGS_NONE), (1 + i) % 4);
    for ( uint32_t i = 0; i < BALLOON_OUT; i++ )
        assert_int_equal(pop(h, e, e, 2 * VN_GPFNS + BALLOON_FIRST + i, 0,
                             NC_MEMFLAGS_NONE), (1 + BALLOON_OUT + i) % 4);
    expect_node_pages(h, e, 59, 5, 59, 5);
    EXPECT_DOM(h, e, 128, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ------------------------------------------------------------------------
 * The per-node cache of freed small blocks (heap.c)
 * ------------------------------------------------------------------------ */

/* A freed order-0 page is handed out again first (the cache is LIFO), and
 * while the cache holds blocks a claim of all unclaimed memory on the node
 * still succeeds, protects that memory from others, and can be redeemed to
 * the last page: cached blocks are free memory, never hidden from claims. */
static void test_cache_never_hides_claimed_memory(void **state)
{
    struct nc_host *h = host_new("2x16M");      /* 4096 frames per node */
    nc_domid_t a = dom_new(h, 8192), b = dom_new(h, 8192);
    uint64_t mfn[4], again;

    (void)state;
    for ( unsigned int i = 0; i < 4; i++ )
        assert_int_equal(nc_populate(h, CTL, a, i, 0, flags_node(0, 1),
                                     &mfn[i]), 0);
    for ( unsigned int i = 0; i < 4; i++ )
        assert_int_equal(nc_depopulate(h, CTL, a, i, 0), 0);
    EXPECT_NODE(h, 0, 4096, 0);
    /* LIFO: the last page freed comes back first. */
    assert_int_equal(nc_populate(h, CTL, a, 0, 0, flags_node(0, 1), &again),
                     0);
    assert_int_equal(again, mfn[3]);
    assert_int_equal(nc_depopulate(h, CTL, a, 0, 0), 0);

    /* Claim every free page of node 0 for b while the cache holds 4. */
    assert_int_equal(claim_set(h, b, 1, NODEC(0, 4096)), 0);
    EXPECT_NODE(h, 0, 4096, 4096);
    /* a may not take any of it, not even a cached page. */
    assert_int_equal(nc_populate(h, CTL, a, 0, 0, flags_node(0, 1), NULL),
                     -ENOMEM);
    assert_int_equal(nc_populate(h, CTL, a, 0, 9, flags_node(0, 1), NULL),
                     -ENOMEM);
    /* b redeems all of it: 4 single pages (the cached ones, which broke the
     * 2 MiB block at MFN 2048), the 6 other 2 MiB blocks (the one at MFN 0
     * would cross zones), then the rest page by page. */
    for ( unsigned int i = 0; i < 4; i++ )
        assert_int_equal(nc_populate(h, CTL, b, i, 0, flags_node(0, 1), NULL),
                         0);
    for ( unsigned int i = 1; i < 7; i++ )
        assert_int_equal(nc_populate(h, CTL, b, (uint64_t)i << 9, 9,
                                     flags_node(0, 1), NULL), 0);
    assert_int_equal(nc_populate(h, CTL, b, 7 << 9, 9, flags_node(0, 1),
                                 NULL), -ENOMEM);
    for ( uint64_t g = 4; g < 512; g++ )
        assert_int_equal(nc_populate(h, CTL, b, g, 0, flags_node(0, 1), NULL),
                         0);
    for ( uint64_t g = 7 << 9; g < 8 << 9; g++ )
        assert_int_equal(nc_populate(h, CTL, b, g, 0, flags_node(0, 1), NULL),
                         0);
    EXPECT_DOM(h, b, 4096, 0, 0);
    EXPECT_NODE(h, 0, 0, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* An allocation the maps cannot serve flushes the cache: with the cache
 * holding 16 single pages of the only 2 MiB block (MFN 512; the block at
 * 0 would cross zones), a 2 MiB request still gets it. */
static void test_cache_flushed_for_larger_orders(void **state)
{
    struct nc_host *h = host_new("1x4M");       /* 1024 frames */
    nc_domid_t a = dom_new(h, 1024);
    uint64_t mfn;

    (void)state;
    for ( uint64_t g = 0; g < 16; g++ )
        assert_int_equal(populate(h, a, g, 0), 0);
    for ( uint64_t g = 0; g < 16; g++ )
        assert_int_equal(nc_depopulate(h, CTL, a, g, 0), 0);
    EXPECT_NODE(h, 0, 1024, 0);
    assert_int_equal(nc_populate(h, CTL, a, 0, 9, NC_MEMFLAGS_NONE, &mfn), 0);
    assert_int_equal(mfn, 512);
    EXPECT_NODE(h, 0, 512, 0);
    assert_int_equal(nc_populate(h, CTL, a, 512, 9, NC_MEMFLAGS_NONE, NULL),
                     -ENOMEM);
    assert_int_equal(nc_depopulate(h, CTL, a, 0, 9), 0);
    EXPECT_NODE(h, 0, 1024, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* §5 node choice */
        cmocka_unit_test(test_fresh_domain_stripes_from_node_after_0),
        cmocka_unit_test(test_striping_follows_node_affinity),
        cmocka_unit_test(test_requested_node_is_tried_first),
        cmocka_unit_test(test_exact_request_fails_rather_than_falling_back),
        cmocka_unit_test(test_largest_node_claim_chosen_ties_to_lower_id),
        cmocka_unit_test(test_largest_claim_kept_through_rounds),
        cmocka_unit_test(test_fallback_follows_distance_not_node_numbers),
        cmocka_unit_test(test_fallback_walk_without_the_heap_lock),
        cmocka_unit_test(test_in_order_populate_hands_over_exactly),
        cmocka_unit_test(test_free_from_the_front_of_the_map),
        cmocka_unit_test(test_populate_run_makes_what_singles_make),
        cmocka_unit_test(test_populate_run_stops_at_the_first_failure),
        cmocka_unit_test(test_fallback_from_node_0_by_distance),
        cmocka_unit_test(test_striping_fallback_starts_from_striped_node),
        cmocka_unit_test(test_fallback_tries_affinity_nodes_before_others),
        cmocka_unit_test(test_fallback_tries_unreachable_nodes_last),
        cmocka_unit_test(test_fallback_order_by_tiers_affinity_and_reach),
        /* §5 protection */
        cmocka_unit_test(test_unclaimed_domain_cannot_take_node_claimed_pages),
        cmocka_unit_test(test_host_claim_cannot_unlock_node_claimed_pages),
        cmocka_unit_test(test_host_claim_protects_every_node),
        cmocka_unit_test(test_uncharged_allocation_never_eats_claims),
        cmocka_unit_test(test_smaller_claim_plus_unclaimed_is_admitted),
        /* §5 redemption and admission */
        cmocka_unit_test(test_redeem_node_claim_first_then_host_claim),
        cmocka_unit_test(test_redeem_leaves_other_nodes_below_max_pages),
        cmocka_unit_test(test_redeem_other_nodes_excess_over_max_ascending),
        cmocka_unit_test(test_redeem_excess_over_max_frees_host_capacity),
        cmocka_unit_test(test_over_max_pages_is_e2big_and_changes_nothing),
        /* §5 address bits */
        cmocka_unit_test(test_address_bits_12_or_less_is_einval),
        cmocka_unit_test(test_address_bits_32_keeps_below_4g),
        /* §5 extents and callers */
        cmocka_unit_test(test_order_above_18_is_einval),
        cmocka_unit_test(test_guest_may_populate_up_to_order_9_only),
        cmocka_unit_test(test_foreign_caller_is_eperm),
        cmocka_unit_test(test_misaligned_gpfn_is_einval),
        cmocka_unit_test(test_populate_replaces_mapped_gpfn),
        cmocka_unit_test(test_increase_reservation_owns_unmapped_pages),
        cmocka_unit_test(test_avail_heap_zones),
        cmocka_unit_test(test_memory_map_and_max_page),
        cmocka_unit_test(test_depopulate_unpopulated_is_enoent),
        cmocka_unit_test(test_depopulate_frees_to_node_and_keeps_claims_spent),
        /* §6 vNUMA */
        cmocka_unit_test(test_set_vnuma_rejects_bad_counts),
        cmocka_unit_test(test_set_vnuma_rejects_bad_vcpu_and_pnode),
        cmocka_unit_test(test_set_vnuma_rejects_bad_ranges),
        cmocka_unit_test(test_set_vnuma_allows_32_vnodes_not_33),
        cmocka_unit_test(test_set_vnuma_needs_control_caller),
        cmocka_unit_test(test_get_vnuma_round_trip),
        cmocka_unit_test(test_get_vnuma_without_topology_is_eopnotsupp),
        cmocka_unit_test(test_get_vnuma_small_buffers_enobufs_with_counts),
        cmocka_unit_test(test_vnode_request_translates_to_pnode),
        cmocka_unit_test(test_vnode_out_of_range_is_einval),
        cmocka_unit_test(test_vnode_request_without_vnuma_is_ignored),
        cmocka_unit_test(test_guest_physical_node_request_is_filtered),
        cmocka_unit_test(test_implicit_hint_follows_vmemranges),
        cmocka_unit_test(test_ballooning_returns_pages_to_vnode_pnode),
        cmocka_unit_test(test_vnode_flag_without_vnode_and_anon_rules),
        cmocka_unit_test(test_cache_never_hides_claimed_memory),
        cmocka_unit_test(test_cache_flushed_for_larger_orders),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
