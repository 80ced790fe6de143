/* SPDX-License-Identifier: MIT */
/*
 * The domain suite: spec §8 and the domain API of core.h.
 *
 * It covers domid allocation (NC_DOMID_ANY gives the lowest free domid
 * >= 1, a given domid, EEXIST, reserved domids, the privilege check), the
 * control domain that exists from start-up and is not a guest, teardown
 * (kill leaves a dying domain that refuses further work; destroy releases
 * claims, frees every page and makes the domid reusable), max_pages and
 * node affinity, populate / depopulate rules (order limits, alignment,
 * EEXIST / ENOENT / E2BIG / ENOMEM), translation, per-node page counts,
 * and the extent-based p2m: contiguous extents merge, striped ones do not,
 * and depopulating a middle piece splits an entry.
 *
 * Expected MFNs follow the heap's rules: a block never crosses a zone
 * (zone z holds MFNs [2^(z-1), 2^z)), allocation takes the lowest free
 * block of the smallest fitting order in the highest zone, and a fresh
 * domain stripes to the node after node 0 first.
 */
#include "common.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/core/env.h"

#define NODE_PAGES  16384ULL                 /* a 64M node */
#define HOST_PAGES  (2 * NODE_PAGES)         /* "2x64M" */
#define BIG_MAX     (1ULL << 20)

static nc_domid_t dom_create(struct nc_host *h, nc_domid_t want)
{
    struct nc_domain_config c = { .domid = want, .max_vcpus = 1 };
    nc_domid_t d = 0xBEEF;

    assert_int_equal(nc_domain_create(h, CTL, &c, &d), 0);
    return d;
}

static int dom_create_rc(struct nc_host *h, nc_domid_t caller,
                         nc_domid_t want, nc_domid_t *d)
{
    struct nc_domain_config c = { .domid = want, .max_vcpus = 1 };

    return nc_domain_create(h, caller, &c, d);
}

static uint64_t translate(struct nc_host *h, nc_domid_t d, uint64_t gpfn)
{
    uint64_t mfn = UINT64_MAX;

    assert_int_equal(nc_domain_translate(h, d, gpfn, &mfn), 0);
    return mfn;
}

static uint64_t node_pages(struct nc_host *h, nc_domid_t d, uint32_t n)
{
    uint64_t out[NC_MAX_NUMNODES];

    assert_int_equal(nc_domain_node_pages(h, d, out, NC_MAX_NUMNODES), 0);
    return out[n];
}

static int populate_on(struct nc_host *h, nc_domid_t d, uint64_t gpfn,
                       uint32_t order, uint32_t node, uint64_t *mfn)
{
    return nc_populate(h, CTL, d, gpfn, order, flags_node(node, 1), mfn);
}

/* ========================================================================
 * The control domain
 * ======================================================================== */

static void test_control_domain_exists_from_start_up(void **state)
{
    struct nc_host *h = host_new("2x64M");
    struct nc_domain_info i;
    uint64_t out[2] = { 7, 7 }, mfn;

    (void)state;
    i = dom_info(h, CTL);
    assert_int_equal(i.domid, 0);
    assert_false(i.dying);
    assert_int_equal(i.tot_pages, 0);
    assert_int_equal(i.max_pages, 0);
    assert_int_equal(i.outstanding, 0);
    assert_int_equal(i.host_claim, 0);
    assert_int_equal(i.nr_p2m_extents, 0);

    /* Not counted as a guest, but iterated. */
    assert_int_equal(host_info(h).nr_domains, 0);
    assert_int_equal(nc_domain_next(h, 0), 0);
    assert_int_equal(nc_domain_next(h, 1), NC_DOMID_FIRST_RESERVED);
    assert_int_equal(nc_domain_node_pages(h, CTL, out, 2), 0);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 0);
    assert_int_equal(nc_domain_translate(h, CTL, 0, &mfn), -ENOENT);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* What the control domain, as a target, refuses: each operation in the
 * form (host, caller, target). */
static int op_kill(struct nc_host *h, nc_domid_t caller, nc_domid_t target)
{
    return nc_domain_kill(h, caller, target);
}

static int op_destroy(struct nc_host *h, nc_domid_t caller, nc_domid_t target)
{
    return nc_domain_destroy(h, caller, target);
}

static int op_max_pages(struct nc_host *h, nc_domid_t caller,
                        nc_domid_t target)
{
    return nc_domain_set_max_pages(h, caller, target, 100);
}

static int op_affinity(struct nc_host *h, nc_domid_t caller,
                       nc_domid_t target)
{
    return nc_domain_set_node_affinity(h, caller, target, 1);
}

static int op_populate(struct nc_host *h, nc_domid_t caller,
                       nc_domid_t target)
{
    return nc_populate(h, caller, target, 0, 0, NC_MEMFLAGS_NONE, NULL);
}

static int op_claim_pages(struct nc_host *h, nc_domid_t caller,
                          nc_domid_t target)
{
    return nc_claim_pages(h, caller, target, 1);
}

static int op_claim_set(struct nc_host *h, nc_domid_t caller,
                        nc_domid_t target)
{
    struct nc_claim c = { .target = NC_CLAIM_HOST, .pages = 1 };

    return nc_claim_memory(h, caller, target, NC_CLAIM_MEMORY_SET, &c,
                           &(uint32_t){ 1 });
}

static const struct {
    const char *why;
    int (*op)(struct nc_host *h, nc_domid_t caller, nc_domid_t target);
    bool by_guest;                      /* asked by a guest, not by CTL */
    int rc;
} control_target_rows[] = {
    { "kill", op_kill, false, -EINVAL },
    { "destroy", op_destroy, false, -EINVAL },
    { "set_max_pages", op_max_pages, false, -EINVAL },
    { "set_node_affinity", op_affinity, false, -EINVAL },
    /* A guest asking is refused for its privilege first. */
    { "kill, by a guest", op_kill, true, -EPERM },
    { "set_max_pages, by a guest", op_max_pages, true, -EPERM },
    /* With max_pages 0 it can neither own pages nor claim them. */
    { "populate", op_populate, false, -E2BIG },
    { "claim_pages", op_claim_pages, false, -EINVAL },
    { "a claim set", op_claim_set, false, -EINVAL },
};

static void test_control_domain_is_not_a_guest(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096), id = 0xBEEF;
    struct nc_domain_info i;

    (void)state;
    for ( size_t k = 0; k < NR_ROWS(control_target_rows); k++ )
    {
        int rc = control_target_rows[k].op(h,
                                           control_target_rows[k].by_guest
                                           ? d : CTL, CTL);

        if ( rc != control_target_rows[k].rc )
            fail_msg("%s of the control domain: %d, expected %d",
                     control_target_rows[k].why, rc,
                     control_target_rows[k].rc);
        /* Still there, untouched. */
        i = dom_info(h, CTL);
        assert_false(i.dying);
        assert_int_equal(i.tot_pages, 0);
        assert_int_equal(i.outstanding, 0);
    }
    /* It exists from start-up. */
    assert_int_equal(dom_create_rc(h, CTL, CTL, &id), -EEXIST);
    assert_int_equal(id, 0xBEEF);

    i = dom_info(h, CTL);
    assert_false(i.dying);
    assert_int_equal(i.tot_pages, 0);
    assert_int_equal(i.max_pages, 0);
    assert_int_equal(i.outstanding, 0);
    assert_int_equal(i.node_affinity, 0x3);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES);
    assert_int_equal(host_info(h).nr_domains, 1);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Creation
 * ======================================================================== */

static void test_create_any_gives_lowest_free_domid(void **state)
{
    struct nc_host *h = host_new("2x64M");
    struct nc_domain_config c = { .domid = NC_DOMID_ANY, .max_vcpus = 3 };
    struct nc_domain_info i;
    nc_domid_t d = 0;

    (void)state;
    assert_int_equal(nc_domain_create(h, CTL, &c, &d), 0);
    assert_int_equal(d, 1);
    assert_int_equal(dom_create(h, NC_DOMID_ANY), 2);
    assert_int_equal(dom_create(h, NC_DOMID_ANY), 3);
    assert_int_equal(dom_create(h, 10), 10);
    assert_int_equal(host_info(h).nr_domains, 4);

    /* A fresh domain: nothing owned, nothing claimed, all online nodes. */
    i = dom_info(h, 1);
    assert_int_equal(i.domid, 1);
    assert_false(i.dying);
    assert_int_equal(i.max_vcpus, 3);
    assert_int_equal(i.tot_pages, 0);
    assert_int_equal(i.max_pages, 0);
    assert_int_equal(i.outstanding, 0);
    assert_int_equal(i.host_claim, 0);
    assert_int_equal(i.recalled, 0);
    assert_int_equal(i.node_affinity, 0x3);
    assert_int_equal(i.nr_p2m_extents, 0);

    /* A hole is filled first. */
    assert_int_equal(nc_domain_destroy(h, CTL, 2), 0);
    assert_int_equal(dom_create(h, NC_DOMID_ANY), 2);
    assert_int_equal(dom_create(h, NC_DOMID_ANY), 4);
    assert_int_equal(host_info(h).nr_domains, 5);

    /* Iteration: 0, 1, 2, 3, 4, 10. */
    assert_int_equal(nc_domain_next(h, 0), 0);
    assert_int_equal(nc_domain_next(h, 1), 1);
    assert_int_equal(nc_domain_next(h, 4), 4);
    assert_int_equal(nc_domain_next(h, 5), 10);
    assert_int_equal(nc_domain_next(h, 11), NC_DOMID_FIRST_RESERVED);
    assert_int_equal(nc_domain_next(h, NC_DOMID_ANY), NC_DOMID_FIRST_RESERVED);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_create_given_domid_or_eexist(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = 0xBEEF;

    (void)state;
    assert_int_equal(dom_create_rc(h, CTL, 5, &d), 0);
    assert_int_equal(d, 5);
    d = 0xBEEF;
    assert_int_equal(dom_create_rc(h, CTL, 5, &d), -EEXIST);
    assert_int_equal(d, 0xBEEF);
    assert_int_equal(dom_create_rc(h, CTL, CTL, &d), -EEXIST);
    assert_int_equal(host_info(h).nr_domains, 1);

    /* The highest ordinary domid. */
    assert_int_equal(dom_create(h, NC_DOMID_FIRST_RESERVED - 1),
                     NC_DOMID_FIRST_RESERVED - 1);
    assert_int_equal(dom_create(h, NC_DOMID_ANY), 1);
    assert_int_equal(host_info(h).nr_domains, 3);

    /* A dying domain still holds its domid. */
    assert_int_equal(nc_domain_kill(h, CTL, 5), 0);
    assert_int_equal(dom_create_rc(h, CTL, 5, &d), -EEXIST);
    assert_int_equal(nc_domain_destroy(h, CTL, 5), 0);
    assert_int_equal(dom_create_rc(h, CTL, 5, &d), 0);
    assert_int_equal(d, 5);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_create_uses_every_domid_below_reserved(void **state)
{
    struct nc_host *h = host_new("2x64M");
    const nc_domid_t last = NC_DOMID_FIRST_RESERVED - 1;
    nc_domid_t d = 0xBEEF;

    (void)state;
    /* The last 48 domids (0x7FC0..0x7FEF) share a bitmap word with the
     * reserved ones. */
    nc_host_set_autocheck(h, 0);
    for ( nc_domid_t id = 1; id < 0x7FC0; id++ )
        assert_int_equal(dom_create(h, id), id);
    assert_int_equal(dom_create(h, last), last);
    assert_int_equal(dom_create(h, NC_DOMID_ANY), 0x7FC0);
    assert_int_equal(nc_domain_next(h, 0x7FC1), last);
    for ( nc_domid_t id = 0x7FC1; id < last; id++ )
        assert_int_equal(dom_create(h, NC_DOMID_ANY), id);
    assert_int_equal(host_info(h).nr_domains, NC_DOMID_FIRST_RESERVED - 1);
    assert_invariants(h);

    /* Every domid is taken. */
    assert_int_equal(dom_create_rc(h, CTL, NC_DOMID_ANY, &d), -ENOMEM);
    assert_int_equal(d, 0xBEEF);
    assert_int_equal(dom_create_rc(h, CTL, last, &d), -EEXIST);

    assert_int_equal(nc_domain_destroy(h, CTL, last), 0);
    assert_int_equal(nc_domain_next(h, 0x7FEE), 0x7FEE);
    assert_int_equal(nc_domain_next(h, last), NC_DOMID_FIRST_RESERVED);
    assert_int_equal(dom_create(h, NC_DOMID_ANY), last);
    assert_int_equal(host_info(h).nr_domains, NC_DOMID_FIRST_RESERVED - 1);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_create_reserved_domid_is_einval(void **state)
{
    static const nc_domid_t bad[] = {
        NC_DOMID_FIRST_RESERVED, 0x7FF1, NC_DOMID_XEN, 0x7FF3, 0x7FF5,
        0x7FFF, 0x8000, 0xFFFF,
    };
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = 0xBEEF;

    (void)state;
    for ( uint32_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++ )
    {
        assert_int_equal(dom_create_rc(h, CTL, bad[i], &d), -EINVAL);
        assert_int_equal(d, 0xBEEF);
    }
    assert_int_equal(host_info(h).nr_domains, 0);
    /* NC_DOMID_ANY is the one reserved value that is a request. */
    assert_int_equal(dom_create(h, NC_DOMID_ANY), 1);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_create_by_non_control_caller_is_eperm(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t g = dom_create(h, NC_DOMID_ANY), d = 0xBEEF;

    (void)state;
    assert_int_equal(dom_create_rc(h, g, NC_DOMID_ANY, &d), -EPERM);
    assert_int_equal(dom_create_rc(h, g, 7, &d), -EPERM);
    assert_int_equal(dom_create_rc(h, 9, NC_DOMID_ANY, &d), -EPERM);
    assert_int_equal(dom_create_rc(h, NC_DOMID_XEN, NC_DOMID_ANY, &d),
                     -EPERM);
    assert_int_equal(d, 0xBEEF);
    assert_int_equal(host_info(h).nr_domains, 1);
    assert_int_equal(nc_domain_getinfo(h, 7, &(struct nc_domain_info){ 0 }),
                     -ESRCH);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_getinfo_unknown_domain_is_esrch(void **state)
{
    struct nc_host *h = host_new("2x64M");
    struct nc_domain_info i;
    uint64_t out[2], mfn;

    (void)state;
    assert_int_equal(nc_domain_getinfo(h, 1, &i), -ESRCH);
    assert_int_equal(nc_domain_getinfo(h, NC_DOMID_ANY, &i), -ESRCH);
    assert_int_equal(nc_domain_getinfo(h, NC_DOMID_XEN, &i), -ESRCH);
    assert_int_equal(nc_domain_node_pages(h, 1, out, 2), -ESRCH);
    assert_int_equal(nc_domain_translate(h, 1, 0, &mfn), -ESRCH);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Teardown
 * ======================================================================== */

static void test_destroy_releases_claims_and_frees_every_page(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 8192), again;
    struct nc_domain_info i;
    uint32_t nr = 4;
    struct nc_claim got[4];

    (void)state;
    assert_int_equal(populate(h, d, 0, 9), 0);          /* node 1 */
    assert_int_equal(populate(h, d, 512, 9), 0);        /* node 0 */
    assert_int_equal(populate(h, d, 1024, 0), 0);       /* node 1 */
    assert_int_equal(populate(h, d, 1040, 4), 0);       /* node 0 */
    assert_int_equal(claim_set(h, d, 3, NC_CLAIM_HOST, (uint64_t)100,
                               0u, (uint64_t)200, 1u, (uint64_t)300), 0);
    i = dom_info(h, d);
    assert_int_equal(i.tot_pages, 1041);
    assert_int_equal(i.outstanding, 600);
    assert_int_equal(node_pages(h, d, 0), 528);
    assert_int_equal(node_pages(h, d, 1), 513);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1041);
    assert_int_equal(host_info(h).outstanding_claims, 600);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES - 528);
    assert_int_equal(node_info(h, 1).free, NODE_PAGES - 513);

    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES);
    assert_int_equal(host_info(h).outstanding_claims, 0);
    assert_int_equal(host_info(h).nr_domains, 0);
    for ( uint32_t n = 0; n < 2; n++ )
    {
        assert_int_equal(node_info(h, n).free, NODE_PAGES);
        assert_int_equal(node_info(h, n).claimed, 0);
    }
    assert_int_equal(nc_domain_getinfo(h, d, &i), -ESRCH);
    assert_int_equal(claim_set(h, d, 1, NC_CLAIM_HOST, (uint64_t)1), -ESRCH);

    /* The domid is reused, by a domain that starts from scratch. */
    again = dom_create(h, NC_DOMID_ANY);
    assert_int_equal(again, d);
    i = dom_info(h, again);
    assert_false(i.dying);
    assert_int_equal(i.tot_pages, 0);
    assert_int_equal(i.max_pages, 0);
    assert_int_equal(i.outstanding, 0);
    assert_int_equal(i.nr_p2m_extents, 0);
    assert_int_equal(node_pages(h, again, 0), 0);
    assert_int_equal(node_pages(h, again, 1), 0);
    assert_int_equal(nc_claim_memory(h, CTL, again, NC_CLAIM_MEMORY_GET, got,
                                     &nr), 0);
    assert_int_equal(nr, 1);
    assert_int_equal(got[0].target, NC_CLAIM_HOST);
    assert_int_equal(got[0].pages, 0);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_destroy_or_kill_unknown_domain_is_esrch(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);

    (void)state;
    assert_int_equal(nc_domain_destroy(h, CTL, 42), -ESRCH);
    assert_int_equal(nc_domain_kill(h, CTL, 42), -ESRCH);
    assert_int_equal(nc_domain_destroy(h, CTL, NC_DOMID_ANY), -ESRCH);
    assert_int_equal(nc_domain_destroy(h, CTL, 0xFFFF), -ESRCH);
    /* Only the control domain may tear down. */
    assert_int_equal(nc_domain_destroy(h, d, d), -EPERM);
    assert_int_equal(nc_domain_kill(h, d, d), -EPERM);
    assert_false(dom_info(h, d).dying);

    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
    assert_int_equal(nc_domain_destroy(h, CTL, d), -ESRCH);
    assert_int_equal(nc_domain_kill(h, CTL, d), -ESRCH);
    assert_int_equal(host_info(h).nr_domains, 0);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_kill_leaves_a_dying_domain(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096), other;
    struct nc_domain_info i;
    struct nc_claim got[2];
    uint32_t nr = 2;
    uint64_t mfn, out[2] = { 7, 7 };

    (void)state;
    assert_int_equal(populate(h, d, 0, 9), 0);
    assert_int_equal(populate(h, d, 512, 9), 0);
    assert_int_equal(claim_set(h, d, 2, NC_CLAIM_HOST, (uint64_t)100,
                               1u, (uint64_t)50), 0);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1024);
    assert_int_equal(host_info(h).outstanding_claims, 150);

    assert_int_equal(nc_domain_kill(h, CTL, d), 0);
    i = dom_info(h, d);
    assert_true(i.dying);
    assert_int_equal(i.tot_pages, 0);
    assert_int_equal(i.outstanding, 0);
    assert_int_equal(i.host_claim, 0);
    assert_int_equal(i.nr_p2m_extents, 0);
    assert_int_equal(i.max_pages, 4096);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES);
    assert_int_equal(host_info(h).outstanding_claims, 0);
    assert_int_equal(node_info(h, 1).claimed, 0);
    assert_int_equal(host_info(h).nr_domains, 1);
    assert_int_equal(nc_domain_node_pages(h, d, out, 2), 0);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 0);
    assert_int_equal(nc_domain_translate(h, d, 0, &mfn), -ENOENT);

    /* Killing again is harmless. */
    assert_int_equal(nc_domain_kill(h, CTL, d), 0);
    assert_true(dom_info(h, d).dying);

    /* Nothing more can be done to it. */
    assert_int_equal(populate(h, d, 0, 0), -ESRCH);
    assert_int_equal(nc_populate(h, d, d, 0, 0, NC_MEMFLAGS_NONE, NULL),
                     -ESRCH);
    assert_int_equal(nc_depopulate(h, CTL, d, 0, 0), -ESRCH);
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 8192), -ESRCH);
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 1), -ESRCH);
    assert_int_equal(nc_claim_pages(h, CTL, d, 100), -EINVAL);
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), -EINVAL);
    assert_int_equal(claim_set(h, d, 1, NC_CLAIM_HOST, (uint64_t)100),
                     -ESRCH);
    assert_int_equal(nc_claim_memory(h, CTL, d, NC_CLAIM_MEMORY_GET, got,
                                     &nr), -ESRCH);
    i = dom_info(h, d);
    assert_true(i.dying);
    assert_int_equal(i.tot_pages, 0);
    assert_int_equal(i.outstanding, 0);
    assert_int_equal(i.max_pages, 4096);
    assert_int_equal(i.node_affinity, 0x3);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES);
    assert_int_equal(host_info(h).outstanding_claims, 0);

    /* Its domid is still taken until it is reaped. */
    other = dom_create(h, NC_DOMID_ANY);
    assert_int_equal(other, d + 1);
    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
    assert_int_equal(nc_domain_getinfo(h, d, &i), -ESRCH);
    assert_int_equal(host_info(h).nr_domains, 1);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Settings
 * ======================================================================== */

static void test_set_max_pages_rules(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);

    (void)state;
    assert_int_equal(dom_info(h, d).max_pages, 4096);
    assert_int_equal(nc_domain_set_max_pages(h, d, d, 8192), -EPERM);
    assert_int_equal(nc_domain_set_max_pages(h, CTL, 42, 8192), -ESRCH);
    assert_int_equal(dom_info(h, d).max_pages, 4096);

    assert_int_equal(populate(h, d, 0, 10), 0);
    assert_int_equal(dom_info(h, d).tot_pages, 1024);
    /* Below tot_pages is allowed; then nothing more can be populated. */
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 100), 0);
    assert_int_equal(dom_info(h, d).max_pages, 100);
    assert_int_equal(dom_info(h, d).tot_pages, 1024);
    assert_int_equal(populate(h, d, 1024, 0), -E2BIG);
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 1025), 0);
    assert_int_equal(populate(h, d, 1024, 1), -E2BIG);
    assert_int_equal(populate(h, d, 1024, 0), 0);
    assert_int_equal(dom_info(h, d).tot_pages, 1025);
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, UINT64_MAX), 0);
    assert_int_equal(dom_info(h, d).max_pages, UINT64_MAX);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1025);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_set_node_affinity_needs_an_online_node(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 8192);
    uint64_t mfn;

    (void)state;
    assert_int_equal(dom_info(h, d).node_affinity, 0x3);
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 0), -EINVAL);
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 1ULL << 5),
                     -EINVAL);
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 1ULL << 63),
                     -EINVAL);
    assert_int_equal(nc_domain_set_node_affinity(h, d, d, 0x1), -EPERM);
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, 42, 0x1), -ESRCH);
    assert_int_equal(dom_info(h, d).node_affinity, 0x3);

    /* Only node 0: striping stays on it. */
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 0x1), 0);
    assert_int_equal(dom_info(h, d).node_affinity, 0x1);
    assert_int_equal(nc_populate(h, CTL, d, 0, 9, NC_MEMFLAGS_NONE, &mfn), 0);
    assert_int_equal(mfn, 8192);
    assert_int_equal(nc_populate(h, CTL, d, 512, 9, NC_MEMFLAGS_NONE, &mfn),
                     0);
    assert_int_equal(mfn, 8704);
    assert_int_equal(node_pages(h, d, 0), 1024);
    assert_int_equal(node_pages(h, d, 1), 0);
    assert_int_equal(dom_info(h, d).last_alloc_node, 0);

    /* Only node 1. */
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 0x2), 0);
    assert_int_equal(nc_populate(h, CTL, d, 1024, 9, NC_MEMFLAGS_NONE, &mfn),
                     0);
    assert_int_equal(mfn, 16384);
    assert_int_equal(node_pages(h, d, 1), 512);
    assert_int_equal(dom_info(h, d).last_alloc_node, 1);

    /* Extra bits beside an online node are accepted as given. */
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, ~0ULL), 0);
    assert_int_equal(dom_info(h, d).node_affinity, ~0ULL);
    assert_invariants(h);
    nc_host_destroy(h);

    /* Node 1 offline: it is not in the default affinity and alone it is
     * no affinity at all. */
    h = host_new_offline("2x64M", 1ULL << 1);
    d = dom_new(h, 8192);
    assert_int_equal(dom_info(h, d).node_affinity, 0x1);
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 0x2), -EINVAL);
    assert_int_equal(dom_info(h, d).node_affinity, 0x1);
    assert_int_equal(nc_domain_set_node_affinity(h, CTL, d, 0x3), 0);
    assert_int_equal(dom_info(h, d).node_affinity, 0x3);
    assert_int_equal(populate(h, d, 0, 9), 0);
    assert_int_equal(node_pages(h, d, 0), 512);
    assert_int_equal(node_pages(h, d, 1), 0);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Populate and depopulate
 * ======================================================================== */

static void test_populate_errors_and_guest_order_limit(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 1000), e = dom_new(h, BIG_MAX);
    struct nc_domain_info i;
    uint64_t mfn;

    (void)state;
    assert_int_equal(populate(h, 42, 0, 0), -ESRCH);
    assert_int_equal(nc_populate(h, e, d, 0, 0, NC_MEMFLAGS_NONE, NULL),
                     -EPERM);

    /* The guest itself, up to order 9. */
    assert_int_equal(nc_populate(h, d, d, 0, 10, NC_MEMFLAGS_NONE, NULL),
                     -EINVAL);
    assert_int_equal(nc_populate(h, d, d, 0, 9, NC_MEMFLAGS_NONE, &mfn), 0);
    assert_int_equal(mfn, 16384);                       /* node 1 first */
    assert_int_equal(dom_info(h, d).tot_pages, 512);

    /* Orders, alignment and range. */
    assert_int_equal(nc_populate(h, CTL, d, 0, NC_MAX_ORDER + 1,
                                 NC_MEMFLAGS_NONE, NULL), -EINVAL);
    assert_int_equal(populate(h, d, 1, 1), -EINVAL);
    assert_int_equal(populate(h, d, 1024 + 256, 9), -EINVAL);
    assert_int_equal(populate(h, d, NC_MAX_MFN, 0), -EINVAL);

    /* Over max_pages: 512 + 512 > 1000; 512 + 256 + 128 fit.  Over the
     * populated range too: a replacement is allocated before the old pages
     * go, so they still count (test_alloc has the replacement itself). */
    assert_int_equal(populate(h, d, 512, 9), -E2BIG);
    assert_int_equal(populate(h, d, 0, 9), -E2BIG);
    assert_int_equal(nc_populate(h, CTL, d, 0, NC_MAX_ORDER, NC_MEMFLAGS_NONE,
                                 NULL), -E2BIG);
    assert_int_equal(nc_populate(h, CTL, d, 1ULL << NC_MAX_ORDER,
                                 NC_MAX_ORDER, NC_MEMFLAGS_NONE, NULL),
                     -E2BIG);
    assert_int_equal(nc_populate(h, CTL, d, 512, 8, NC_MEMFLAGS_NONE, &mfn),
                     0);
    assert_int_equal(mfn, 8192);                        /* node 0 */
    assert_int_equal(populate(h, d, 768, 8), -E2BIG);
    assert_int_equal(nc_populate(h, CTL, d, 768, 7, NC_MEMFLAGS_NONE, &mfn),
                     0);
    assert_int_equal(mfn, 16896);                       /* node 1 */

    /* No admissible node: everything unclaimed is claimed by e. */
    assert_int_equal(claim_set(h, e, 1, NC_CLAIM_HOST,
                               (uint64_t)(HOST_PAGES - 896)), 0);
    assert_int_equal(populate(h, d, 896, 0), -ENOMEM);
    assert_int_equal(nc_populate(h, CTL, d, 896, 0, flags_node(0, 1), NULL),
                     -ENOMEM);
    /* E2BIG is decided before the node walk. */
    assert_int_equal(populate(h, d, 1024, 7), -E2BIG);

    i = dom_info(h, d);
    assert_int_equal(i.tot_pages, 896);
    assert_int_equal(i.nr_p2m_extents, 3);
    assert_int_equal(node_pages(h, d, 0), 256);
    assert_int_equal(node_pages(h, d, 1), 640);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 896);
    assert_int_equal(host_info(h).outstanding_claims, HOST_PAGES - 896);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* Depopulates refused, of a domain d holding gpfns 512-1023 (one order-9
 * extent), by the control domain, by d itself or by another domain e:
 * one row per check. */
enum caller { BY_CONTROL, BY_SELF, BY_OTHER };

struct depopulate_row {
    const char *why;
    enum caller caller;
    bool target_absent;                 /* domain 42, which is not there */
    uint64_t gpfn;
    unsigned int order;
    int rc;
};

static const struct depopulate_row depopulate_rows[] = {
    { "no such domain", BY_CONTROL, true, 512, 9, -ESRCH },
    { "another domain's pages", BY_OTHER, false, 512, 9, -EPERM },
    { "a guest above order 9", BY_SELF, false, 0, 10, -EINVAL },
    { "a gpfn not aligned to the order", BY_CONTROL, false, 513, 1, -EINVAL },
    { "an extent not mapped", BY_CONTROL, false, 0, 9, -ENOENT },
    { "an extent half mapped", BY_CONTROL, false, 0, 10, -ENOENT },
    { "a page past the extent", BY_CONTROL, false, 1024, 0, -ENOENT },
    { "a gpfn past the largest", BY_CONTROL, false, NC_MAX_MFN, 0, -EINVAL },
    /* An order no shift can take (fuzz-hypercall found the extent size
     * computed from it before the check: UBSan in the ASan build). */
    { "an order of 11520", BY_CONTROL, false, 0, 11520, -EINVAL },
    { "an order of 64", BY_SELF, false, 0, 64, -EINVAL },
};

static void test_depopulate_rules(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 8192), e = dom_new(h, 8192);
    struct nc_domain_info i;

    (void)state;
    assert_int_equal(claim_set(h, d, 1, 1u, (uint64_t)1000), 0);
    assert_int_equal(populate_on(h, d, 512, 9, 1, NULL), 0);
    assert_int_equal(dom_info(h, d).outstanding, 488);

    for ( size_t k = 0; k < NC_ARRAY_SIZE(depopulate_rows); k++ )
    {
        const struct depopulate_row *r = &depopulate_rows[k];
        nc_domid_t caller = r->caller == BY_CONTROL ? CTL
                            : r->caller == BY_SELF ? d : e;
        nc_domid_t target = r->target_absent ? 42 : d;
        int rc = nc_depopulate(h, caller, target, r->gpfn, r->order);

        if ( rc != r->rc )
            fail_msg("depopulate, %s: %d, expected %d", r->why, rc, r->rc);
        /* Nothing was freed. */
        assert_int_equal(dom_info(h, d).tot_pages, 512);
    }

    /* The guest may give back its own pages; claims are not restored. */
    assert_int_equal(nc_depopulate(h, d, d, 768, 8), 0);
    assert_int_equal(nc_depopulate(h, CTL, d, 512, 8), 0);
    i = dom_info(h, d);
    assert_int_equal(i.tot_pages, 0);
    assert_int_equal(i.outstanding, 488);
    assert_int_equal(i.nr_p2m_extents, 0);
    assert_int_equal(node_pages(h, d, 1), 0);
    assert_int_equal(node_info(h, 1).free, NODE_PAGES);
    assert_int_equal(node_info(h, 1).claimed, 488);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES);
    assert_int_equal(nc_depopulate(h, CTL, d, 512, 0), -ENOENT);

    assert_invariants(h);
    nc_host_destroy(h);
}

static const uint64_t unmapped_gpfns[] = { 511, 1024, 0, UINT64_MAX };

static void test_translate_follows_the_p2m(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 8192);
    uint64_t mfn = 0;

    (void)state;
    assert_int_equal(populate_on(h, d, 512, 9, 0, &mfn), 0);
    assert_int_equal(mfn, 8192);        /* lowest block of zone 14 */
    assert_int_equal(nc_host_mfn_node(h, mfn), 0);
    assert_int_equal(translate(h, d, 512), 8192);
    assert_int_equal(translate(h, d, 700), 8380);
    assert_int_equal(translate(h, d, 1023), 8703);

    /* Just before, just after, far before, and the last gpfn (Xen's
     * INVALID_GFN): not mapped, and the output left alone. */
    for ( size_t k = 0; k < NC_ARRAY_SIZE(unmapped_gpfns); k++ )
    {
        mfn = 77;
        assert_int_equal(nc_domain_translate(h, d, unmapped_gpfns[k], &mfn),
                         -ENOENT);
        assert_int_equal(mfn, 77);
    }
    assert_int_equal(nc_domain_translate(h, 42, 512, &mfn), -ESRCH);

    assert_int_equal(populate_on(h, d, 0, 0, 1, &mfn), 0);
    assert_int_equal(mfn, 16384);
    assert_int_equal(nc_host_mfn_node(h, mfn), 1);
    assert_int_equal(translate(h, d, 0), 16384);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 2);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_node_pages_counts_per_node(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, 8192);
    uint64_t out[70];

    (void)state;
    assert_int_equal(populate_on(h, d, 0, 9, 2, NULL), 0);
    assert_int_equal(populate_on(h, d, 512, 4, 3, NULL), 0);
    assert_int_equal(populate_on(h, d, 528, 0, 0, NULL), 0);
    assert_int_equal(populate_on(h, d, 1024, 9, 2, NULL), 0);

    for ( uint32_t n = 0; n < 70; n++ )
        out[n] = 0xDEAD;
    assert_int_equal(nc_domain_node_pages(h, d, out, 4), 0);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 1024);
    assert_int_equal(out[3], 16);
    assert_int_equal(out[4], 0xDEAD);

    /* Only nr entries are written; entries past the last node are 0. */
    for ( uint32_t n = 0; n < 70; n++ )
        out[n] = 0xDEAD;
    assert_int_equal(nc_domain_node_pages(h, d, out, 2), 0);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 0xDEAD);
    assert_int_equal(nc_domain_node_pages(h, d, out, 70), 0);
    for ( uint32_t n = 4; n < 70; n++ )
        assert_int_equal(out[n], 0);
    assert_int_equal(nc_domain_node_pages(h, 42, out, 4), -ESRCH);

    assert_int_equal(dom_info(h, d).tot_pages, 1041);
    assert_int_equal(node_info(h, 2).free, NODE_PAGES - 1024);

    /* Depopulating keeps the per-node counts exact. */
    assert_int_equal(nc_depopulate(h, CTL, d, 0, 9), 0);
    assert_int_equal(node_pages(h, d, 2), 512);
    assert_int_equal(node_pages(h, d, 3), 16);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * The extent-based p2m
 * ======================================================================== */

static void test_p2m_merges_contiguous_extents(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, BIG_MAX);
    uint64_t mfn;

    (void)state;
    /* Node 1 is one order-14 block at MFN 16384: 32 order-9 extents come
     * out in ascending, contiguous order. */
    for ( uint64_t i = 0; i < 32; i++ )
    {
        assert_int_equal(populate_on(h, d, i * 512, 9, 1, &mfn), 0);
        assert_int_equal(mfn, 16384 + i * 512);
        assert_int_equal(dom_info(h, d).nr_p2m_extents, 1);
    }
    assert_int_equal(dom_info(h, d).tot_pages, NODE_PAGES);
    assert_int_equal(node_info(h, 1).free, 0);
    assert_int_equal(translate(h, d, 0), 16384);
    assert_int_equal(translate(h, d, NODE_PAGES - 1), 2 * NODE_PAGES - 1);

    /* Descending gpfns from node 0's zone 14 (MFNs 8192..) get
     * ascending MFNs: no merge. */
    assert_int_equal(populate_on(h, d, 20480, 9, 0, &mfn), 0);
    assert_int_equal(mfn, 8192);
    assert_int_equal(populate_on(h, d, 19968, 9, 0, &mfn), 0);
    assert_int_equal(mfn, 8704);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 3);

    /* An extent that ends where an entry starts, in gpfn and MFN, is
     * merged in front of it: free 8192 again and map it below 19968. */
    assert_int_equal(nc_depopulate(h, CTL, d, 20480, 9), 0);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 2);
    assert_int_equal(populate_on(h, d, 19456, 9, 0, &mfn), 0);
    assert_int_equal(mfn, 8192);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 2);
    assert_int_equal(translate(h, d, 19456), 8192);
    assert_int_equal(translate(h, d, 20479), 9215);

    /* Appending: a new entry, then two extents that continue it. */
    assert_int_equal(populate_on(h, d, 16384, 9, 0, &mfn), 0);
    assert_int_equal(mfn, 9216);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 3);
    assert_int_equal(populate_on(h, d, 16896, 9, 0, &mfn), 0);
    assert_int_equal(mfn, 9728);
    assert_int_equal(populate_on(h, d, 17408, 9, 0, &mfn), 0);
    assert_int_equal(mfn, 10240);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 3);

    /* A hole in its middle splits it; refilling the hole with its own
     * frames (the lowest smallest fit) joins both sides again. */
    assert_int_equal(nc_depopulate(h, CTL, d, 16896, 9), 0);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 4);
    assert_int_equal(populate_on(h, d, 16896, 9, 0, &mfn), 0);
    assert_int_equal(mfn, 9728);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 3);
    assert_int_equal(translate(h, d, 17919), 10751);
    assert_int_equal(dom_info(h, d).tot_pages, NODE_PAGES + 5 * 512);
    assert_int_equal(node_pages(h, d, 0), 5 * 512);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_p2m_striped_extents_do_not_merge(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, BIG_MAX);
    static const uint64_t want[] = { 16384, 8192, 16896, 8704 };
    struct nc_domain_info i;
    uint64_t mfn;

    (void)state;
    for ( uint32_t k = 0; k < 4; k++ )
    {
        assert_int_equal(nc_populate(h, CTL, d, k * 512, 9, NC_MEMFLAGS_NONE,
                                     &mfn), 0);
        assert_int_equal(mfn, want[k]);
    }
    i = dom_info(h, d);
    assert_int_equal(i.nr_p2m_extents, 4);
    assert_int_equal(i.last_alloc_node, 0);
    assert_int_equal(node_pages(h, d, 0), 1024);
    assert_int_equal(node_pages(h, d, 1), 1024);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_p2m_of_1g_extents_on_1x4g(void **state)
{
    /* One node of 2^20 frames.  Zone 20 ([2^19, 2^20)) holds two order-18
     * blocks, zone 19 one, zone 18 and below only smaller blocks. */
    struct nc_host *h = host_new("1x4G");
    nc_domid_t d = dom_new(h, BIG_MAX);
    const uint64_t G = 1ULL << NC_MAX_ORDER;
    struct nc_domain_info i;
    uint64_t mfn;

    (void)state;
    assert_int_equal(nc_populate(h, CTL, d, 0, NC_MAX_ORDER,
                                 NC_MEMFLAGS_NONE, &mfn), 0);
    assert_int_equal(mfn, 2 * G);
    assert_int_equal(nc_populate(h, CTL, d, G, NC_MAX_ORDER,
                                 NC_MEMFLAGS_NONE, &mfn), 0);
    assert_int_equal(mfn, 3 * G);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 1);  /* contiguous */
    assert_int_equal(nc_populate(h, CTL, d, 2 * G, NC_MAX_ORDER,
                                 NC_MEMFLAGS_NONE, &mfn), 0);
    assert_int_equal(mfn, G);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 2);

    /* No fourth order-18 block: zones 1..18 hold 2^18 frames in pieces. */
    assert_int_equal(nc_populate(h, CTL, d, 3 * G, NC_MAX_ORDER,
                                 NC_MEMFLAGS_NONE, &mfn), -ENOMEM);
    assert_int_equal(host_info(h).total_avail, G);
    assert_int_equal(nc_populate(h, CTL, d, 3 * G, NC_MAX_ORDER - 1,
                                 NC_MEMFLAGS_NONE, &mfn), 0);
    assert_int_equal(mfn, G / 2);
    i = dom_info(h, d);
    assert_int_equal(i.tot_pages, 3 * G + G / 2);
    assert_int_equal(i.nr_p2m_extents, 3);
    assert_int_equal(node_pages(h, d, 0), 3 * G + G / 2);
    assert_int_equal(translate(h, d, G - 1), 3 * G - 1);
    assert_int_equal(translate(h, d, G), 3 * G);
    assert_int_equal(translate(h, d, 2 * G - 1), 4 * G - 1);
    assert_int_equal(translate(h, d, 2 * G), G);
    assert_int_equal(translate(h, d, 3 * G + 5), G / 2 + 5);

    /* Depopulating the second 1 GiB keeps the head of the first entry. */
    assert_int_equal(nc_depopulate(h, CTL, d, G, NC_MAX_ORDER), 0);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 3);
    /* A middle piece of what is left splits it. */
    assert_int_equal(nc_depopulate(h, CTL, d, G / 4, 16), 0);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 4);
    assert_int_equal(translate(h, d, G / 4 - 1), 2 * G + G / 4 - 1);
    assert_int_equal(translate(h, d, G / 2), 2 * G + G / 2);
    assert_int_equal(nc_domain_translate(h, d, G / 4, &mfn), -ENOENT);
    assert_int_equal(dom_info(h, d).tot_pages, 2 * G + G / 2 - G / 4);

    /* The hole's own frames come back and merge the entries again; the
     * freed 1 GiB follows on and extends the merged entry. */
    assert_int_equal(nc_populate(h, CTL, d, G / 4, 16, NC_MEMFLAGS_NONE,
                                 &mfn), 0);
    assert_int_equal(mfn, 2 * G + G / 4);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 3);
    assert_int_equal(nc_populate(h, CTL, d, G, NC_MAX_ORDER,
                                 NC_MEMFLAGS_NONE, &mfn), 0);
    assert_int_equal(mfn, 3 * G);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 3);
    assert_int_equal(dom_info(h, d).tot_pages, 3 * G + G / 2);

    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
    assert_int_equal(host_info(h).total_avail, 4 * G);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_p2m_split_on_depopulate_of_middle_piece(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 8192);
    struct nc_domain_info i;
    uint64_t mfn;

    (void)state;
    assert_int_equal(populate_on(h, d, 0, 11, 1, &mfn), 0);
    assert_int_equal(mfn, 16384);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 1);

    /* Out of the middle: two entries. */
    assert_int_equal(nc_depopulate(h, CTL, d, 512, 9), 0);
    i = dom_info(h, d);
    assert_int_equal(i.nr_p2m_extents, 2);
    assert_int_equal(i.tot_pages, 1536);
    assert_int_equal(translate(h, d, 0), 16384);
    assert_int_equal(translate(h, d, 511), 16895);
    assert_int_equal(nc_domain_translate(h, d, 512, &mfn), -ENOENT);
    assert_int_equal(nc_domain_translate(h, d, 1023, &mfn), -ENOENT);
    assert_int_equal(translate(h, d, 1024), 17408);
    assert_int_equal(translate(h, d, 2047), 18431);
    assert_int_equal(node_pages(h, d, 1), 1536);
    assert_int_equal(node_info(h, 1).free, NODE_PAGES - 1536);

    /* The freed order-9 block is the smallest fit: the hole is refilled
     * with its old frames and the entries merge again. */
    assert_int_equal(populate_on(h, d, 512, 9, 1, &mfn), 0);
    assert_int_equal(mfn, 16896);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 1);

    /* Head and tail: still one entry. */
    assert_int_equal(nc_depopulate(h, CTL, d, 0, 9), 0);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 1);
    assert_int_equal(nc_domain_translate(h, d, 0, &mfn), -ENOENT);
    assert_int_equal(translate(h, d, 512), 16896);
    assert_int_equal(nc_depopulate(h, CTL, d, 1536, 9), 0);
    i = dom_info(h, d);
    assert_int_equal(i.nr_p2m_extents, 1);
    assert_int_equal(i.tot_pages, 1024);
    assert_int_equal(translate(h, d, 1535), 17919);

    /* Spanning a whole entry. */
    assert_int_equal(nc_depopulate(h, CTL, d, 1024, 10), -ENOENT);
    assert_int_equal(nc_depopulate(h, CTL, d, 512, 9), 0);
    assert_int_equal(nc_depopulate(h, CTL, d, 1024, 9), 0);
    i = dom_info(h, d);
    assert_int_equal(i.nr_p2m_extents, 0);
    assert_int_equal(i.tot_pages, 0);
    assert_int_equal(node_pages(h, d, 1), 0);
    assert_int_equal(node_info(h, 1).free, NODE_PAGES);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_depopulate_across_entries(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 8192);
    uint64_t mfn;

    (void)state;
    /* Two entries side by side in gpfn, far apart in MFN. */
    assert_int_equal(populate_on(h, d, 0, 9, 1, &mfn), 0);
    assert_int_equal(mfn, 16384);
    assert_int_equal(populate_on(h, d, 512, 9, 0, &mfn), 0);
    assert_int_equal(mfn, 8192);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 2);

    /* One order-10 extent covering both frees each run to its node. */
    assert_int_equal(nc_depopulate(h, CTL, d, 0, 10), 0);
    assert_int_equal(dom_info(h, d).nr_p2m_extents, 0);
    assert_int_equal(dom_info(h, d).tot_pages, 0);
    assert_int_equal(node_pages(h, d, 0), 0);
    assert_int_equal(node_pages(h, d, 1), 0);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES);
    assert_int_equal(node_info(h, 1).free, NODE_PAGES);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ------------------------------------------------------------------------
 * The lock order (env.h): taking a lock ranked below one already held
 * panics in debug builds.  Run in a child, which must die of the panic.
 * ------------------------------------------------------------------------ */

static int lock_in_child(unsigned int first, unsigned int second)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if ( pid == 0 )
    {
        nc_lock_t a, b;

        nc_lock_init(&a, first);
        nc_lock_init(&b, second);
        nc_lock(&a);
        nc_lock(&b);
        nc_unlock(&b);
        nc_unlock(&a);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void test_lock_order_is_enforced(void **state)
{
    int status;

    (void)state;
    /* In order: fine; two domain locks (the world lock's walk): fine. */
    status = lock_in_child(NC_RANK_DOMLIST, NC_RANK_NODE(3));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    status = lock_in_child(NC_RANK_DOMAIN, NC_RANK_DOMAIN);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#if NC_DEBUG >= 1
    /* A node lock before claims_lock, node 5 before node 2, two node locks
     * of one rank: each a panic. */
    status = lock_in_child(NC_RANK_NODE(0), NC_RANK_CLAIMS);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    status = lock_in_child(NC_RANK_NODE(5), NC_RANK_NODE(2));
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    status = lock_in_child(NC_RANK_NODE(70 - 5), NC_RANK_NODE(70 - 5));
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    status = lock_in_child(NC_RANK_CONSOLE, NC_RANK_DOMLIST);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
#endif
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_order_is_enforced),
        cmocka_unit_test(test_control_domain_exists_from_start_up),
        cmocka_unit_test(test_control_domain_is_not_a_guest),
        cmocka_unit_test(test_create_any_gives_lowest_free_domid),
        cmocka_unit_test(test_create_given_domid_or_eexist),
        cmocka_unit_test(test_create_uses_every_domid_below_reserved),
        cmocka_unit_test(test_create_reserved_domid_is_einval),
        cmocka_unit_test(test_create_by_non_control_caller_is_eperm),
        cmocka_unit_test(test_getinfo_unknown_domain_is_esrch),
        cmocka_unit_test(test_destroy_releases_claims_and_frees_every_page),
        cmocka_unit_test(test_destroy_or_kill_unknown_domain_is_esrch),
        cmocka_unit_test(test_kill_leaves_a_dying_domain),
        cmocka_unit_test(test_set_max_pages_rules),
        cmocka_unit_test(test_set_node_affinity_needs_an_online_node),
        cmocka_unit_test(test_populate_errors_and_guest_order_limit),
        cmocka_unit_test(test_depopulate_rules),
        cmocka_unit_test(test_translate_follows_the_p2m),
        cmocka_unit_test(test_node_pages_counts_per_node),
        cmocka_unit_test(test_p2m_merges_contiguous_extents),
        cmocka_unit_test(test_p2m_striped_extents_do_not_merge),
        cmocka_unit_test(test_p2m_of_1g_extents_on_1x4g),
        cmocka_unit_test(test_p2m_split_on_depopulate_of_middle_piece),
        cmocka_unit_test(test_depopulate_across_entries),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
