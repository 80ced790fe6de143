/* SPDX-License-Identifier: MIT */
/*
 * The claims suite: spec §3 (legacy XENMEM_claim_pages), §4 (claim sets,
 * XEN_DOMCTL_claim_memory SET and GET) and the claim rows of §10.
 *
 * It replays upstream Xen's test-mem-claim, then walks every legacy rule
 * and every claim-set check with its exact errno, proves that a failing
 * set changes nothing (counters and the previous set, read back with GET),
 * that a set replaces and never adds, that GET lists the host entry first
 * and then the non-zero node claims in ascending order, that the legacy
 * call and claim sets share one state, and that lowering max_pages deducts
 * host-wide claims first and then node claims by descending node id.
 *
 * After every step the domain's outstanding, host_claim and tot_pages, the
 * host's total_avail and outstanding_claims and each node's free and
 * claimed pages are checked exactly; every test ends with the frame-level
 * invariant checker.
 */
#include "common.h"

#define NODE_PAGES  16384ULL                 /* a 64M node */
#define HOST_PAGES  (2 * NODE_PAGES)         /* "2x64M" */
#define BIG_MAX     (1ULL << 20)

static int set_raw(struct nc_host *h, nc_domid_t d, struct nc_claim *set,
                   uint32_t nr)
{
    return nc_claim_memory(h, CTL, d, NC_CLAIM_MEMORY_SET, set, &nr);
}

static int get_raw(struct nc_host *h, nc_domid_t d, struct nc_claim *out,
                   uint32_t *nr)
{
    return nc_claim_memory(h, CTL, d, NC_CLAIM_MEMORY_GET, out, nr);
}

/* GET must succeed and return exactly nr entries, given as HOSTC/NODEC. */
static void expect_claims_at(struct nc_host *h, nc_domid_t d,
                             const char *file, int line, uint32_t nr, ...)
{
    struct nc_claim got[NC_CLAIM_MAX_ENTRIES];
    uint32_t n = NC_CLAIM_MAX_ENTRIES;
    va_list ap;

    _assert_int_equal(get_raw(h, d, got, &n), 0, file, line);
    _assert_int_equal(n, nr, file, line);
    va_start(ap, nr);
    for ( uint32_t i = 0; i < nr; i++ )
    {
        uint32_t target = va_arg(ap, uint32_t);
        uint64_t pages = va_arg(ap, uint64_t);

        _assert_int_equal(got[i].target, target, file, line);
        _assert_int_equal(got[i].pages, pages, file, line);
        _assert_int_equal(got[i].pad, 0, file, line);
    }
    va_end(ap);
}
#define EXPECT_CLAIMS(h, d, ...) \
    expect_claims_at(h, d, __FILE__, __LINE__, __VA_ARGS__)

/* Everything a failing call must leave alone: host and node counters, and
 * every domain's counters and claim set. */
struct dom_snap {
    struct nc_domain_info info;
    int get_rc;
    uint32_t nr;
    struct nc_claim set[NC_CLAIM_MAX_ENTRIES];
};

struct snap {
    struct nc_host_info host;
    struct nc_node_info node[NC_MAX_NUMNODES];
    uint32_t nr_doms;
    struct dom_snap dom[8];
};

static void snap_take(struct nc_host *h, struct snap *s)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(nc_host_overview(h, &s->host, s->node, NC_MAX_NUMNODES),
                     0);
    for ( uint32_t id = nc_domain_next(h, 1); id < NC_DOMID_FIRST_RESERVED;
          id = nc_domain_next(h, id + 1) )
    {
        struct dom_snap *d = &s->dom[s->nr_doms++];

        assert_true(s->nr_doms <= 8);
        d->info = dom_info(h, (nc_domid_t)id);
        d->nr = NC_CLAIM_MAX_ENTRIES;
        d->get_rc = get_raw(h, (nc_domid_t)id, d->set, &d->nr);
    }
}

static void snap_check_at(struct nc_host *h, const struct snap *a,
                          const char *file, int line)
{
    struct snap b;

    snap_take(h, &b);
    _assert_int_equal(a->host.total_avail, b.host.total_avail, file, line);
    _assert_int_equal(a->host.outstanding_claims, b.host.outstanding_claims,
                      file, line);
    _assert_int_equal(a->host.nr_domains, b.host.nr_domains, file, line);
    for ( uint32_t n = 0; n < NC_MAX_NUMNODES; n++ )
    {
        _assert_int_equal(a->node[n].free, b.node[n].free, file, line);
        _assert_int_equal(a->node[n].claimed, b.node[n].claimed, file, line);
    }
    _assert_int_equal(a->nr_doms, b.nr_doms, file, line);
    for ( uint32_t i = 0; i < a->nr_doms; i++ )
    {
        const struct dom_snap *x = &a->dom[i], *y = &b.dom[i];

        _assert_int_equal(x->info.domid, y->info.domid, file, line);
        _assert_int_equal(x->info.dying, y->info.dying, file, line);
        _assert_int_equal(x->info.tot_pages, y->info.tot_pages, file, line);
        _assert_int_equal(x->info.max_pages, y->info.max_pages, file, line);
        _assert_int_equal(x->info.outstanding, y->info.outstanding,
                          file, line);
        _assert_int_equal(x->info.host_claim, y->info.host_claim, file, line);
        _assert_int_equal(x->info.nr_p2m_extents, y->info.nr_p2m_extents,
                          file, line);
        _assert_int_equal(x->get_rc, y->get_rc, file, line);
        _assert_int_equal(x->nr, y->nr, file, line);
        for ( uint32_t j = 0; j < x->nr && j < NC_CLAIM_MAX_ENTRIES; j++ )
        {
            _assert_int_equal(x->set[j].target, y->set[j].target, file, line);
            _assert_int_equal(x->set[j].pages, y->set[j].pages, file, line);
        }
    }
}
#define SNAP_CHECK(h, s) snap_check_at(h, s, __FILE__, __LINE__)

/* A claim entry that makes any set holding it fail, and with what. */
struct bad_entry {
    struct nc_claim e;
    int err;
};

/* Each bad entry at every position among the good ones (a valid set on its
 * own, of at most 3 entries): d's SET fails with the entry's errno and
 * changes nothing of what *before holds. */
static void expect_bad_at_each_position_at(
    struct nc_host *h, nc_domid_t d, const struct bad_entry *bad,
    uint32_t nr_bad, const struct nc_claim *good, uint32_t nr_good,
    const struct snap *before, const char *file, int line)
{
    struct nc_claim s[4];
    uint32_t nr = nr_good + 1;

    assert_true(nr <= NR_ROWS(s));
    for ( uint32_t k = 0; k < nr_bad; k++ )
        for ( uint32_t pos = 0; pos < nr; pos++ )
        {
            for ( uint32_t i = 0, j = 0; i < nr; i++ )
                s[i] = i == pos ? bad[k].e : good[j++];
            if ( set_raw(h, d, s, nr) != bad[k].err )
                fail_msg("%s:%d: bad entry %u at %u: expected %d", file,
                         line, k, pos, bad[k].err);
            snap_check_at(h, before, file, line);
        }
}
#define EXPECT_BAD_AT_EACH_POSITION(h, d, bad, good, before) \
    expect_bad_at_each_position_at(h, d, bad, NR_ROWS(bad), good, \
                                   NR_ROWS(good), before, __FILE__, __LINE__)

/* ========================================================================
 * Upstream test-mem-claim
 * ======================================================================== */

static void test_upstream_mem_claim_scenario(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d;

    (void)state;
    EXPECT_HOST(h, HOST_PAGES, 0);

    /* Creating a domain with "unlimited" max_pages claims nothing. */
    d = dom_new(h, UINT64_MAX);
    EXPECT_HOST(h, HOST_PAGES, 0);
    EXPECT_DOM(h, d, 0, 0, 0);

    /* MB_PAGES(4) */
    assert_int_equal(nc_claim_pages(h, CTL, d, 1024), 0);
    EXPECT_DOM(h, d, 0, 1024, 1024);
    EXPECT_HOST(h, HOST_PAGES, 1024);
    EXPECT_NODE(h, 0, NODE_PAGES, 0);
    EXPECT_NODE(h, 1, NODE_PAGES, 0);

    /* One 2 MiB extent: a fresh domain stripes to node 1 first. */
    assert_int_equal(populate(h, d, 0, 9), 0);
    EXPECT_DOM(h, d, 512, 512, 512);
    EXPECT_HOST(h, HOST_PAGES - 512, 512);
    EXPECT_NODE(h, 0, NODE_PAGES, 0);
    EXPECT_NODE(h, 1, NODE_PAGES - 512, 0);

    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
    EXPECT_HOST(h, HOST_PAGES, 0);
    assert_int_equal(host_info(h).nr_domains, 0);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Legacy claims (spec §3)
 * ======================================================================== */

/*
 * Legacy claims refused for who asks or for whom, on a host where the
 * only guest is d (domid 1): one row per check; SELF stands for d, OTHER
 * for a second guest where the test has one.  Each refusal leaves the
 * host without a claim.
 */
#define SELF  0x10000u
#define OTHER 0x10001u

struct claim_pages_row {
    const char *why;
    uint32_t caller, target;
    uint64_t pages;
    int rc;
};

static const struct claim_pages_row unknown_domain_rows[] = {
    { "an unknown domain", CTL, 7, 100, -EINVAL },
    { "an unknown domain, target 0", CTL, 7, 0, -EINVAL },
    { "the first reserved domid", CTL, NC_DOMID_FIRST_RESERVED, 100, -EINVAL },
    { "DOMID_ANY", CTL, NC_DOMID_ANY, 100, -EINVAL },
    { "domid 0xFFFF", CTL, 0xFFFF, 100, -EINVAL },
    /* The lookup comes before the privilege check. */
    { "an unknown domain, asked by a guest", SELF, 7, 100, -EINVAL },
};

static const struct claim_pages_row non_control_rows[] = {
    { "the guest itself", SELF, SELF, 100, -EPERM },
    { "another guest", OTHER, SELF, 100, -EPERM },
    { "Xen's own domid", NC_DOMID_XEN, SELF, 100, -EPERM },
    { "a domid not there", 42, SELF, 100, -EPERM },
};

static void claim_pages_refused(struct nc_host *h, nc_domid_t self,
                                nc_domid_t other,
                                const struct claim_pages_row *rows, size_t nr)
{
    for ( size_t k = 0; k < nr; k++ )
    {
        const struct claim_pages_row *r = &rows[k];
        nc_domid_t caller = r->caller == SELF ? self
                            : r->caller == OTHER ? other
                            : (nc_domid_t)r->caller;
        nc_domid_t target = r->target == SELF ? self : (nc_domid_t)r->target;
        int rc = nc_claim_pages(h, caller, target, r->pages);

        if ( rc != r->rc )
            fail_msg("claim_pages, %s: %d, expected %d", r->why, rc, r->rc);
        EXPECT_HOST(h, HOST_PAGES, 0);
    }
}

static void test_claim_pages_unknown_domain_is_einval(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);

    (void)state;
    claim_pages_refused(h, d, d, unknown_domain_rows,
                        NR_ROWS(unknown_domain_rows));

    /* After destroy the domid is unknown again. */
    assert_int_equal(nc_claim_pages(h, CTL, d, 100), 0);
    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
    assert_int_equal(nc_claim_pages(h, CTL, d, 100), -EINVAL);
    EXPECT_HOST(h, HOST_PAGES, 0);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_pages_non_control_caller_is_eperm(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t a = dom_new(h, 4096), b = dom_new(h, 4096);

    (void)state;
    claim_pages_refused(h, a, b, non_control_rows,
                        NR_ROWS(non_control_rows));
    EXPECT_DOM(h, a, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES, 0);

    /* Not even a release, and not a claim held by the control domain. */
    assert_int_equal(nc_claim_pages(h, CTL, a, 100), 0);
    assert_int_equal(nc_claim_pages(h, a, a, 0), -EPERM);
    EXPECT_DOM(h, a, 0, 100, 100);
    EXPECT_HOST(h, HOST_PAGES, 100);

    /* The privilege check comes before the dying check. */
    assert_int_equal(nc_domain_kill(h, CTL, b), 0);
    assert_int_equal(nc_claim_pages(h, a, b, 100), -EPERM);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_pages_dying_domain_is_einval(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);

    (void)state;
    assert_int_equal(nc_claim_pages(h, CTL, d, 1000), 0);
    EXPECT_HOST(h, HOST_PAGES, 1000);

    assert_int_equal(nc_domain_kill(h, CTL, d), 0);
    assert_true(dom_info(h, d).dying);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES, 0);

    assert_int_equal(nc_claim_pages(h, CTL, d, 1000), -EINVAL);
    /* Dying is checked before the release of target 0. */
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), -EINVAL);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES, 0);

    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), -EINVAL);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_pages_zero_releases_and_always_succeeds(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);

    (void)state;
    /* No claim: still success. */
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), 0);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES, 0);

    assert_int_equal(nc_claim_pages(h, CTL, d, 1000), 0);
    EXPECT_DOM(h, d, 0, 1000, 1000);
    EXPECT_HOST(h, HOST_PAGES, 1000);
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), 0);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES, 0);
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), 0);
    EXPECT_DOM(h, d, 0, 0, 0);

    /* A partly redeemed claim is released whole. */
    assert_int_equal(nc_claim_pages(h, CTL, d, 2048), 0);
    assert_int_equal(populate(h, d, 0, 9), 0);
    EXPECT_DOM(h, d, 512, 1536, 1536);
    EXPECT_HOST(h, HOST_PAGES - 512, 1536);
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), 0);
    EXPECT_DOM(h, d, 512, 0, 0);
    EXPECT_HOST(h, HOST_PAGES - 512, 0);

    /* Even when tot_pages is above max_pages. */
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 100), 0);
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), 0);
    EXPECT_DOM(h, d, 512, 0, 0);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_pages_existing_claim_is_einval(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);

    (void)state;
    assert_int_equal(nc_claim_pages(h, CTL, d, 100), 0);
    assert_int_equal(nc_claim_pages(h, CTL, d, 200), -EINVAL);
    assert_int_equal(nc_claim_pages(h, CTL, d, 100), -EINVAL);
    assert_int_equal(nc_claim_pages(h, CTL, d, 50), -EINVAL);
    /* The existing claim is checked before the free memory. */
    assert_int_equal(nc_claim_pages(h, CTL, d, 4096), -EINVAL);
    EXPECT_DOM(h, d, 0, 100, 100);
    EXPECT_HOST(h, HOST_PAGES, 100);

    /* Reset to 0 first, then a new target is accepted. */
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), 0);
    assert_int_equal(nc_claim_pages(h, CTL, d, 200), 0);
    EXPECT_DOM(h, d, 0, 200, 200);
    EXPECT_HOST(h, HOST_PAGES, 200);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_pages_target_bounds_are_einval(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 2048), e;
    struct nc_domain_config c = { .domid = NC_DOMID_ANY, .max_vcpus = 1 };

    (void)state;
    assert_int_equal(populate(h, d, 0, 9), 0);
    EXPECT_DOM(h, d, 512, 0, 0);

    assert_int_equal(nc_claim_pages(h, CTL, d, 512), -EINVAL);  /* == tot */
    assert_int_equal(nc_claim_pages(h, CTL, d, 511), -EINVAL);
    assert_int_equal(nc_claim_pages(h, CTL, d, 1), -EINVAL);
    assert_int_equal(nc_claim_pages(h, CTL, d, 2049), -EINVAL); /* > max */
    assert_int_equal(nc_claim_pages(h, CTL, d, UINT64_MAX), -EINVAL);
    EXPECT_DOM(h, d, 512, 0, 0);
    EXPECT_HOST(h, HOST_PAGES - 512, 0);

    assert_int_equal(nc_claim_pages(h, CTL, d, 513), 0);
    EXPECT_DOM(h, d, 512, 1, 1);
    EXPECT_HOST(h, HOST_PAGES - 512, 1);
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), 0);
    assert_int_equal(nc_claim_pages(h, CTL, d, 2048), 0);       /* == max */
    EXPECT_DOM(h, d, 512, 1536, 1536);
    EXPECT_HOST(h, HOST_PAGES - 512, 1536);

    /* A new domain has max_pages 0: every target is above it. */
    assert_int_equal(nc_domain_create(h, CTL, &c, &e), 0);
    assert_int_equal(nc_claim_pages(h, CTL, e, 1), -EINVAL);
    EXPECT_DOM(h, e, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES - 512, 1536);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_pages_over_unclaimed_is_enomem(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t a = dom_new(h, BIG_MAX), b = dom_new(h, BIG_MAX);
    nc_domid_t c = dom_new(h, 100000), e = dom_new(h, BIG_MAX);

    (void)state;
    assert_int_equal(populate(h, b, 0, 9), 0);
    EXPECT_HOST(h, HOST_PAGES - 512, 0);

    assert_int_equal(nc_claim_pages(h, CTL, a, 30000), 0);
    EXPECT_DOM(h, a, 0, 30000, 30000);
    EXPECT_HOST(h, HOST_PAGES - 512, 30000);

    /* Unclaimed: 32256 - 30000 = 2256; the request is target - tot. */
    assert_int_equal(nc_claim_pages(h, CTL, b, 512 + 2257), -ENOMEM);
    EXPECT_DOM(h, b, 512, 0, 0);
    EXPECT_HOST(h, HOST_PAGES - 512, 30000);
    assert_int_equal(nc_claim_pages(h, CTL, b, 512 + 2256), 0);
    EXPECT_DOM(h, b, 512, 2256, 2256);
    EXPECT_HOST(h, HOST_PAGES - 512, HOST_PAGES - 512);

    /* Nothing unclaimed is left. */
    assert_int_equal(nc_claim_pages(h, CTL, e, 1), -ENOMEM);
    /* Over max_pages is EINVAL even when it is also over free memory. */
    assert_int_equal(nc_claim_pages(h, CTL, c, 100001), -EINVAL);
    EXPECT_DOM(h, c, 0, 0, 0);
    EXPECT_DOM(h, e, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES - 512, HOST_PAGES - 512);

    /* Released memory can be claimed by another domain. */
    assert_int_equal(nc_claim_pages(h, CTL, a, 0), 0);
    assert_int_equal(nc_claim_pages(h, CTL, e, 30000), 0);
    assert_int_equal(nc_claim_pages(h, CTL, c, 2), -ENOMEM);
    EXPECT_HOST(h, HOST_PAGES - 512, HOST_PAGES - 512);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_pages_installs_target_minus_tot(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 8192);

    (void)state;
    assert_int_equal(populate(h, d, 0, 9), 0);
    assert_int_equal(populate(h, d, 512, 9), 0);
    EXPECT_DOM(h, d, 1024, 0, 0);

    /* An absolute target: the claim is what is still to come. */
    assert_int_equal(nc_claim_pages(h, CTL, d, 4096), 0);
    EXPECT_DOM(h, d, 1024, 3072, 3072);
    EXPECT_HOST(h, HOST_PAGES - 1024, 3072);
    EXPECT_NODE(h, 0, NODE_PAGES - 512, 0);
    EXPECT_NODE(h, 1, NODE_PAGES - 512, 0);
    EXPECT_CLAIMS(h, d, 1, HOSTC(3072));

    assert_int_equal(populate(h, d, 1024, 9), 0);
    EXPECT_DOM(h, d, 1536, 2560, 2560);
    EXPECT_HOST(h, HOST_PAGES - 1536, 2560);

    /* The same target again, after a reset, claims only the rest. */
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), 0);
    assert_int_equal(nc_claim_pages(h, CTL, d, 4096), 0);
    EXPECT_DOM(h, d, 1536, 2560, 2560);
    EXPECT_HOST(h, HOST_PAGES - 1536, 2560);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Claim sets: common checks (spec §4)
 * ======================================================================== */

static void test_claim_memory_non_control_caller_is_eperm(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096), e = dom_new(h, 4096);
    struct nc_claim s[2] = { { .pages = 10, .target = NC_CLAIM_HOST } };
    uint32_t nr = 1;

    (void)state;
    assert_int_equal(claim_set(h, d, 1, NODEC(0, 100)), 0);

    assert_int_equal(nc_claim_memory(h, d, d, NC_CLAIM_MEMORY_SET, s, &nr),
                     -EPERM);
    assert_int_equal(nc_claim_memory(h, e, d, NC_CLAIM_MEMORY_SET, s, &nr),
                     -EPERM);
    assert_int_equal(nc_claim_memory(h, NC_DOMID_XEN, d, NC_CLAIM_MEMORY_SET,
                                     s, &nr), -EPERM);
    nr = 2;
    assert_int_equal(nc_claim_memory(h, d, d, NC_CLAIM_MEMORY_GET, s, &nr),
                     -EPERM);
    assert_int_equal(nr, 2);
    assert_int_equal(s[0].pages, 10);
    assert_int_equal(nc_claim_memory(h, d, d, 2, s, &nr), -EPERM);
    /* Before the lookup: an unknown domain is still EPERM. */
    nr = 1;
    assert_int_equal(nc_claim_memory(h, d, 77, NC_CLAIM_MEMORY_SET, s, &nr),
                     -EPERM);

    EXPECT_DOM(h, d, 0, 100, 0);
    EXPECT_HOST(h, HOST_PAGES, 100);
    EXPECT_NODE(h, 0, NODE_PAGES, 100);
    EXPECT_CLAIMS(h, d, 2, HOSTC(0), NODEC(0, 100));

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_memory_unknown_or_dying_is_esrch(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);
    struct nc_claim s[4] = { { .pages = 10, .target = NC_CLAIM_HOST } };
    uint32_t nr = 1;

    (void)state;
    assert_int_equal(nc_claim_memory(h, CTL, 9, NC_CLAIM_MEMORY_SET, s, &nr),
                     -ESRCH);
    nr = 4;
    assert_int_equal(nc_claim_memory(h, CTL, 9, NC_CLAIM_MEMORY_GET, s, &nr),
                     -ESRCH);
    assert_int_equal(nr, 4);
    assert_int_equal(nc_claim_memory(h, CTL, 9, 7, s, &nr), -ESRCH);
    nr = 0;
    assert_int_equal(nc_claim_memory(h, CTL, 9, NC_CLAIM_MEMORY_SET, s, &nr),
                     -ESRCH);
    nr = 1;
    assert_int_equal(nc_claim_memory(h, CTL, NC_DOMID_ANY,
                                     NC_CLAIM_MEMORY_SET, s, &nr), -ESRCH);
    assert_int_equal(nc_claim_memory(h, CTL, NC_DOMID_FIRST_RESERVED,
                                     NC_CLAIM_MEMORY_GET, s, &nr), -ESRCH);

    /* Dying: every mode, even a release or an empty set, is ESRCH. */
    assert_int_equal(claim_set(h, d, 2, HOSTC(10), NODEC(1, 20)), 0);
    EXPECT_HOST(h, HOST_PAGES, 30);
    assert_int_equal(nc_domain_kill(h, CTL, d), 0);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES, 0);
    EXPECT_NODE(h, 1, NODE_PAGES, 0);

    assert_int_equal(claim_set(h, d, 1, HOSTC(10)), -ESRCH);
    assert_int_equal(claim_set(h, d, 1, HOSTC(0)), -ESRCH);
    nr = 0;
    assert_int_equal(nc_claim_memory(h, CTL, d, NC_CLAIM_MEMORY_SET, s, &nr),
                     -ESRCH);
    nr = 4;
    s[0] = (struct nc_claim){ .pages = 99, .target = 5 };
    assert_int_equal(nc_claim_memory(h, CTL, d, NC_CLAIM_MEMORY_GET, s, &nr),
                     -ESRCH);
    assert_int_equal(nr, 4);
    assert_int_equal(s[0].pages, 99);
    assert_int_equal(nc_claim_memory(h, CTL, d, 2, s, &nr), -ESRCH);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES, 0);

    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
    assert_int_equal(claim_set(h, d, 1, HOSTC(10)), -ESRCH);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_memory_other_mode_is_eopnotsupp(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);
    struct nc_claim s[2] = { { .pages = 10, .target = NC_CLAIM_HOST } };
    uint32_t nr = 1;

    (void)state;
    assert_int_equal(claim_set(h, d, 1, HOSTC(300)), 0);
    assert_int_equal(nc_claim_memory(h, CTL, d, 2, s, &nr), -EOPNOTSUPP);
    assert_int_equal(nc_claim_memory(h, CTL, d, 3, s, &nr), -EOPNOTSUPP);
    assert_int_equal(nc_claim_memory(h, CTL, d, UINT32_MAX, s, &nr),
                     -EOPNOTSUPP);
    assert_int_equal(nr, 1);
    assert_int_equal(s[0].pages, 10);
    EXPECT_DOM(h, d, 0, 300, 300);
    EXPECT_HOST(h, HOST_PAGES, 300);
    EXPECT_CLAIMS(h, d, 1, HOSTC(300));

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Claim sets: SET validation (spec §4 SET 1-3)
 * ======================================================================== */

static void test_claim_set_nr_0_is_einval_nr_66_is_e2big(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);
    struct nc_claim s[NC_CLAIM_MAX_ENTRIES + 1];
    struct snap before;

    (void)state;
    assert_int_equal(claim_set(h, d, 1, HOSTC(5)), 0);
    snap_take(h, &before);

    assert_int_equal(set_raw(h, d, s, 0), -EINVAL);
    SNAP_CHECK(h, &before);

    /* 66 entries: E2BIG before any entry is looked at (all are bad). */
    for ( uint32_t i = 0; i < NC_CLAIM_MAX_ENTRIES + 1; i++ )
        s[i] = (struct nc_claim){ .pages = 1, .target = i, .pad = 1 };
    assert_int_equal(set_raw(h, d, s, 66), -E2BIG);
    assert_int_equal(set_raw(h, d, s, UINT32_MAX), -E2BIG);
    SNAP_CHECK(h, &before);

    /* 65 entries pass the size check: here they fail on node 2. */
    s[0] = (struct nc_claim){ .pages = 1, .target = NC_CLAIM_HOST };
    for ( uint32_t i = 1; i < NC_CLAIM_MAX_ENTRIES; i++ )
        s[i] = (struct nc_claim){ .pages = 1, .target = i - 1 };
    assert_int_equal(set_raw(h, d, s, 65), -ENOENT);
    SNAP_CHECK(h, &before);
    EXPECT_CLAIMS(h, d, 1, HOSTC(5));

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_set_of_65_entries_is_allowed(void **state)
{
    struct nc_host *h = host_new("64x4M");
    nc_domid_t d = dom_new(h, 100);
    struct nc_claim s[NC_CLAIM_MAX_ENTRIES + 1], got[NC_CLAIM_MAX_ENTRIES];
    uint32_t nr = NC_CLAIM_MAX_ENTRIES;

    (void)state;
    /* Nodes 63..0 in descending order, the host entry last. */
    for ( uint32_t i = 0; i < NC_MAX_NUMNODES; i++ )
        s[i] = (struct nc_claim){ .pages = 1, .target = 63 - i };
    s[64] = (struct nc_claim){ .pages = 1, .target = NC_CLAIM_HOST };
    assert_int_equal(set_raw(h, d, s, 65), 0);
    EXPECT_DOM(h, d, 0, 65, 1);
    EXPECT_HOST(h, 64 * 1024, 65);
    for ( uint32_t n = 0; n < NC_MAX_NUMNODES; n++ )
        EXPECT_NODE(h, n, 1024, 1);

    assert_int_equal(get_raw(h, d, got, &nr), 0);
    assert_int_equal(nr, 65);
    assert_int_equal(got[0].target, NC_CLAIM_HOST);
    assert_int_equal(got[0].pages, 1);
    for ( uint32_t n = 0; n < NC_MAX_NUMNODES; n++ )
    {
        assert_int_equal(got[n + 1].target, n);
        assert_int_equal(got[n + 1].pages, 1);
        assert_int_equal(got[n + 1].pad, 0);
    }

    /* 66 is one too many, even with a spare valid-looking entry. */
    s[65] = (struct nc_claim){ .pages = 0, .target = 0 };
    assert_int_equal(set_raw(h, d, s, 66), -E2BIG);
    EXPECT_DOM(h, d, 0, 65, 1);
    EXPECT_HOST(h, 64 * 1024, 65);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_set_nonzero_pad_is_einval(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);
    struct nc_claim s[1];
    struct snap before;

    (void)state;
    assert_int_equal(claim_set(h, d, 1, NODEC(1, 7)), 0);
    snap_take(h, &before);

    s[0] = (struct nc_claim){ .pages = 10, .target = NC_CLAIM_HOST, .pad = 1 };
    assert_int_equal(set_raw(h, d, s, 1), -EINVAL);
    s[0] = (struct nc_claim){ .pages = 10, .target = 0, .pad = 0x80000000U };
    assert_int_equal(set_raw(h, d, s, 1), -EINVAL);
    /* Not even an all-zero release gets past a bad pad. */
    s[0] = (struct nc_claim){ .pages = 0, .target = 0, .pad = 1 };
    assert_int_equal(set_raw(h, d, s, 1), -EINVAL);
    SNAP_CHECK(h, &before);
    EXPECT_CLAIMS(h, d, 2, HOSTC(0), NODEC(1, 7));

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_set_bad_selector_is_einval(void **state)
{
    static const uint32_t bad[] = {
        0x40000000U, 0x40000001U, 0x40000003U, 0x80000001U,
        0xC0000000U, 0xFFFFFFFFU, 0x80000040U,
        0x7FFFFFFFU,
    };
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);
    struct nc_claim s[1];
    struct snap before;

    (void)state;
    assert_int_equal(claim_set(h, d, 1, HOSTC(3)), 0);
    snap_take(h, &before);

    for ( uint32_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++ )
    {
        s[0] = (struct nc_claim){ .pages = 10, .target = bad[i] };
        assert_int_equal(set_raw(h, d, s, 1), -EINVAL);
        s[0] = (struct nc_claim){ .pages = 0, .target = bad[i] };
        assert_int_equal(set_raw(h, d, s, 1), -EINVAL);
    }
    /* Neither bit 31 nor 30: just a node that does not exist. */
    s[0] = (struct nc_claim){ .pages = 10, .target = 0x20000000U };
    assert_int_equal(set_raw(h, d, s, 1), -ENOENT);
    s[0] = (struct nc_claim){ .pages = 10, .target = 0x3FFFFFFFU };
    assert_int_equal(set_raw(h, d, s, 1), -ENOENT);
    SNAP_CHECK(h, &before);
    EXPECT_CLAIMS(h, d, 1, HOSTC(3));

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_set_missing_or_offline_node_is_enoent(void **state)
{
    static const uint32_t missing[] = { 2, 3, 63, 64, NC_NUMA_NO_NODE, 1000 };
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);
    struct nc_claim s[1];
    struct snap before;

    (void)state;
    snap_take(h, &before);
    for ( uint32_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++ )
    {
        assert_int_equal(claim_set(h, d, 1, NODEC(missing[i], 1)), -ENOENT);
        assert_int_equal(claim_set(h, d, 1, NODEC(missing[i], 0)), -ENOENT);
    }
    SNAP_CHECK(h, &before);
    assert_invariants(h);
    nc_host_destroy(h);

    /* Node 1 present but offline. */
    h = host_new_offline("2x64M", 1ULL << 1);
    d = dom_new(h, 4096);
    EXPECT_HOST(h, NODE_PAGES, 0);
    assert_false(node_info(h, 1).online);
    snap_take(h, &before);
    assert_int_equal(claim_set(h, d, 1, NODEC(1, 10)), -ENOENT);
    assert_int_equal(claim_set(h, d, 1, NODEC(1, 0)), -ENOENT);
    assert_int_equal(claim_set(h, d, 2, NODEC(0, 10), NODEC(1, 10)),
                     -ENOENT);
    s[0] = (struct nc_claim){ .pages = 10, .target = 1 };
    assert_int_equal(set_raw(h, d, s, 1), -ENOENT);
    SNAP_CHECK(h, &before);

    assert_int_equal(claim_set(h, d, 1, NODEC(0, 10)), 0);
    EXPECT_DOM(h, d, 0, 10, 0);
    EXPECT_HOST(h, NODE_PAGES, 10);
    EXPECT_NODE(h, 0, NODE_PAGES, 10);
    EXPECT_NODE(h, 1, 0, 0);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_set_duplicate_entry_is_einval(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);
    struct snap before;

    (void)state;
    assert_int_equal(claim_set(h, d, 2, HOSTC(1), NODEC(0, 2)), 0);
    snap_take(h, &before);

    assert_int_equal(claim_set(h, d, 2, HOSTC(1), HOSTC(1)), -EINVAL);
    assert_int_equal(claim_set(h, d, 3, HOSTC(1), NODEC(0, 1), HOSTC(2)),
                     -EINVAL);
    /* Duplicates are refused even in an all-zero set. */
    assert_int_equal(claim_set(h, d, 2, HOSTC(0), HOSTC(0)), -EINVAL);
    assert_int_equal(claim_set(h, d, 3, NODEC(0, 1), NODEC(1, 1),
                               NODEC(0, 1)), -EINVAL);
    assert_int_equal(claim_set(h, d, 2, NODEC(1, 0), NODEC(1, 0)), -EINVAL);
    assert_int_equal(claim_set(h, d, 2, NODEC(1, 5), NODEC(1, 0)), -EINVAL);
    SNAP_CHECK(h, &before);
    EXPECT_CLAIMS(h, d, 2, HOSTC(1), NODEC(0, 2));

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_set_node_shortfall_is_enomem(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t a = dom_new(h, BIG_MAX), b = dom_new(h, BIG_MAX);
    struct snap before;

    (void)state;
    assert_int_equal(claim_set(h, a, 1, NODEC(0, NODE_PAGES + 1)), -ENOMEM);
    EXPECT_HOST(h, HOST_PAGES, 0);
    assert_int_equal(claim_set(h, a, 1, NODEC(0, NODE_PAGES)), 0);
    EXPECT_DOM(h, a, 0, NODE_PAGES, 0);
    EXPECT_HOST(h, HOST_PAGES, NODE_PAGES);
    EXPECT_NODE(h, 0, NODE_PAGES, NODE_PAGES);

    /* Node 0 is fully claimed by a. */
    assert_int_equal(claim_set(h, b, 1, NODEC(0, 1)), -ENOMEM);
    assert_int_equal(claim_set(h, b, 2, NODEC(1, 1), NODEC(0, 1)), -ENOMEM);
    EXPECT_DOM(h, b, 0, 0, 0);
    assert_int_equal(claim_set(h, b, 1, NODEC(1, NODE_PAGES)), 0);
    EXPECT_HOST(h, HOST_PAGES, HOST_PAGES);
    EXPECT_NODE(h, 1, NODE_PAGES, NODE_PAGES);

    /* The domain's own claim on the node is added back. */
    snap_take(h, &before);
    assert_int_equal(claim_set(h, a, 1, NODEC(0, NODE_PAGES)), 0);
    SNAP_CHECK(h, &before);
    assert_int_equal(claim_set(h, a, 1, NODEC(0, 16000)), 0);
    EXPECT_DOM(h, a, 0, 16000, 0);
    EXPECT_NODE(h, 0, NODE_PAGES, 16000);
    EXPECT_HOST(h, HOST_PAGES, 16000 + NODE_PAGES);
    assert_int_equal(claim_set(h, a, 1, NODEC(0, NODE_PAGES)), 0);
    EXPECT_DOM(h, a, 0, NODE_PAGES, 0);
    EXPECT_NODE(h, 0, NODE_PAGES, NODE_PAGES);

    /* ...but only its own claim on that node. */
    snap_take(h, &before);
    assert_int_equal(claim_set(h, a, 2, NODEC(0, NODE_PAGES), NODEC(1, 1)),
                     -ENOMEM);
    assert_int_equal(claim_set(h, a, 1, NODEC(0, NODE_PAGES + 1)), -ENOMEM);
    SNAP_CHECK(h, &before);
    EXPECT_CLAIMS(h, a, 2, HOSTC(0), NODEC(0, NODE_PAGES));

    /* Allocated pages are no longer node_avail. */
    assert_int_equal(claim_set(h, a, 1, NODEC(0, 0)), 0);
    assert_int_equal(claim_set(h, b, 1, HOSTC(0)), 0);
    assert_int_equal(nc_populate(h, CTL, b, 0, 9, flags_node(0, 1), NULL), 0);
    EXPECT_NODE(h, 0, NODE_PAGES - 512, 0);
    assert_int_equal(claim_set(h, a, 1, NODEC(0, NODE_PAGES - 511)),
                     -ENOMEM);
    assert_int_equal(claim_set(h, a, 1, NODEC(0, NODE_PAGES - 512)), 0);
    EXPECT_NODE(h, 0, NODE_PAGES - 512, NODE_PAGES - 512);
    EXPECT_HOST(h, HOST_PAGES - 512, NODE_PAGES - 512);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_set_over_max_pages_is_einval(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 1000), e;
    struct nc_domain_config c = { .domid = NC_DOMID_ANY, .max_vcpus = 1 };

    (void)state;
    assert_int_equal(claim_set(h, d, 2, HOSTC(600), NODEC(0, 401)), -EINVAL);
    assert_int_equal(claim_set(h, d, 1, HOSTC(1001)), -EINVAL);
    assert_int_equal(claim_set(h, d, 1, NODEC(0, 1001)), -EINVAL);
    assert_int_equal(claim_set(h, d, 2, NODEC(0, 500), NODEC(1, 501)),
                     -EINVAL);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES, 0);

    assert_int_equal(claim_set(h, d, 2, HOSTC(600), NODEC(0, 400)), 0);
    EXPECT_DOM(h, d, 0, 1000, 600);
    EXPECT_HOST(h, HOST_PAGES, 1000);
    EXPECT_NODE(h, 0, NODE_PAGES, 400);

    /* 512 pages on node 1 redeem the host-wide claim. */
    assert_int_equal(nc_populate(h, CTL, d, 0, 9, flags_node(1, 1), NULL), 0);
    EXPECT_DOM(h, d, 512, 488, 88);
    EXPECT_HOST(h, HOST_PAGES - 512, 488);
    EXPECT_NODE(h, 0, NODE_PAGES, 400);
    EXPECT_NODE(h, 1, NODE_PAGES - 512, 0);

    /* tot_pages counts: 512 + 89 + 400 > 1000. */
    assert_int_equal(claim_set(h, d, 2, HOSTC(89), NODEC(0, 400)), -EINVAL);
    assert_int_equal(claim_set(h, d, 1, NODEC(1, 489)), -EINVAL);
    EXPECT_DOM(h, d, 512, 488, 88);
    assert_int_equal(claim_set(h, d, 2, HOSTC(88), NODEC(0, 400)), 0);
    EXPECT_DOM(h, d, 512, 488, 88);
    assert_int_equal(claim_set(h, d, 1, HOSTC(488)), 0);
    EXPECT_DOM(h, d, 512, 488, 488);
    EXPECT_HOST(h, HOST_PAGES - 512, 488);
    EXPECT_NODE(h, 0, NODE_PAGES, 0);

    /* A new domain's max_pages is 0. */
    assert_int_equal(nc_domain_create(h, CTL, &c, &e), 0);
    assert_int_equal(claim_set(h, e, 1, NODEC(0, 1)), -EINVAL);
    assert_int_equal(claim_set(h, e, 1, HOSTC(1)), -EINVAL);
    EXPECT_DOM(h, e, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES - 512, 488);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_set_host_shortfall_is_enomem(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t a = dom_new(h, BIG_MAX), b = dom_new(h, BIG_MAX);
    nc_domid_t c = dom_new(h, BIG_MAX);
    struct snap before;

    (void)state;
    assert_int_equal(claim_set(h, b, 1, HOSTC(30000)), 0);
    EXPECT_HOST(h, HOST_PAGES, 30000);
    snap_take(h, &before);

    /* 2768 unclaimed pages are left. */
    assert_int_equal(claim_set(h, a, 1, HOSTC(2769)), -ENOMEM);
    assert_int_equal(claim_set(h, a, 2, HOSTC(2000), NODEC(0, 769)),
                     -ENOMEM);
    assert_int_equal(claim_set(h, a, 2, NODEC(0, 1384), NODEC(1, 1385)),
                     -ENOMEM);
    SNAP_CHECK(h, &before);

    assert_int_equal(claim_set(h, a, 1, HOSTC(2768)), 0);
    EXPECT_DOM(h, a, 0, 2768, 2768);
    EXPECT_HOST(h, HOST_PAGES, HOST_PAGES);

    /* The domain's own outstanding claims are added back. */
    assert_int_equal(claim_set(h, a, 1, NODEC(0, 2768)), 0);
    EXPECT_DOM(h, a, 0, 2768, 0);
    EXPECT_NODE(h, 0, NODE_PAGES, 2768);
    EXPECT_HOST(h, HOST_PAGES, HOST_PAGES);
    assert_int_equal(claim_set(h, a, 2, NODEC(0, 1000), NODEC(1, 1768)), 0);
    EXPECT_DOM(h, a, 0, 2768, 0);
    EXPECT_NODE(h, 0, NODE_PAGES, 1000);
    EXPECT_NODE(h, 1, NODE_PAGES, 1768);
    assert_int_equal(claim_set(h, a, 1, NODEC(0, 2769)), -ENOMEM);
    EXPECT_CLAIMS(h, a, 3, HOSTC(0), NODEC(0, 1000), NODEC(1, 1768));

    /* Node claims count as claimed for everyone else, legacy included. */
    assert_int_equal(claim_set(h, c, 1, HOSTC(1)), -ENOMEM);
    assert_int_equal(nc_claim_pages(h, CTL, c, 1), -ENOMEM);
    EXPECT_DOM(h, c, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES, HOST_PAGES);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_set_totals_are_overflow_safe(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, UINT64_MAX), e = dom_new(h, 1000);
    struct snap before;

    (void)state;
    snap_take(h, &before);
    /* True totals of 2^64 and more: over any max_pages. */
    assert_int_equal(claim_set(h, d, 2, HOSTC(UINT64_MAX), NODEC(0, 1)),
                     -EINVAL);
    assert_int_equal(claim_set(h, d, 2, NODEC(0, 1), HOSTC(UINT64_MAX)),
                     -EINVAL);
    assert_int_equal(claim_set(h, d, 3, HOSTC(UINT64_MAX - 1), NODEC(0, 1),
                               NODEC(1, 1)), -EINVAL);
    assert_int_equal(claim_set(h, d, 2, HOSTC(UINT64_MAX - 9),
                               NODEC(1, 10)), -EINVAL);
    /* Totals that fit under max_pages but not in free memory. */
    assert_int_equal(claim_set(h, d, 1, HOSTC(UINT64_MAX)), -ENOMEM);
    assert_int_equal(claim_set(h, d, 2, HOSTC(UINT64_MAX - 1), NODEC(0, 1)),
                     -ENOMEM);
    /* A wrapped sum (0) would fit any max_pages. */
    assert_int_equal(claim_set(h, e, 2, HOSTC(UINT64_MAX - 9),
                               NODEC(1, 10)), -EINVAL);
    assert_int_equal(claim_set(h, e, 2, HOSTC(UINT64_MAX), NODEC(0, 1)),
                     -EINVAL);
    /* A huge node entry is a node shortfall. */
    assert_int_equal(claim_set(h, d, 1, NODEC(0, UINT64_MAX)), -ENOMEM);
    assert_int_equal(claim_set(h, e, 1, NODEC(0, UINT64_MAX)), -ENOMEM);
    assert_int_equal(nc_claim_pages(h, CTL, d, UINT64_MAX), -ENOMEM);
    SNAP_CHECK(h, &before);

    /* With tot_pages: host + tot wraps to 0 for 2^64 - 512. */
    assert_int_equal(populate(h, d, 0, 9), 0);
    EXPECT_DOM(h, d, 512, 0, 0);
    assert_int_equal(claim_set(h, d, 1, HOSTC(UINT64_MAX - 511)), -EINVAL);
    assert_int_equal(claim_set(h, d, 1, HOSTC(UINT64_MAX - 512)), -ENOMEM);
    assert_int_equal(nc_claim_pages(h, CTL, d, UINT64_MAX), -ENOMEM);
    EXPECT_DOM(h, d, 512, 0, 0);
    EXPECT_DOM(h, e, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES - 512, 0);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_set_checks_in_spec_order(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 100), e = dom_new(h, 40000);
    struct snap before;

    (void)state;
    snap_take(h, &before);
    /* Step 2 (per entry) before step 3 (totals): a node shortfall that is
     * also over max_pages is ENOMEM. */
    assert_int_equal(claim_set(h, d, 1, NODEC(0, NODE_PAGES + 1)), -ENOMEM);
    /* A bad entry after entries that are over max_pages in total. */
    assert_int_equal(claim_set(h, d, 2, HOSTC(200), NODEC(5, 1)), -ENOENT);
    /* Over max_pages (EINVAL) before the host shortfall (ENOMEM). */
    assert_int_equal(claim_set(h, e, 1, HOSTC(40001)), -EINVAL);
    assert_int_equal(claim_set(h, e, 1, HOSTC(40000)), -ENOMEM);
    assert_int_equal(claim_set(h, e, 2, NODEC(0, NODE_PAGES),
                               NODEC(1, NODE_PAGES)), 0);
    EXPECT_HOST(h, HOST_PAGES, HOST_PAGES);
    assert_int_equal(claim_set(h, d, 1, HOSTC(101)), -EINVAL);
    assert_int_equal(claim_set(h, d, 1, HOSTC(100)), -ENOMEM);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_DOM(h, e, 0, HOST_PAGES, 0);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Atomicity
 * ======================================================================== */

static void test_claim_set_with_one_bad_entry_changes_nothing(void **state)
{
    /* Every kind of bad entry, at every position of a 4-entry set whose
     * other 3 entries form a valid set. */
    static const struct bad_entry bad[] = {
        { { .pages = 0, .target = 0, .pad = 1 }, -EINVAL },        /* pad */
        { { .pages = 1, .target = 2, .pad = 7 }, -EINVAL },        /* pad */
        { { .pages = 1, .target = 0x40000000U }, -EINVAL },    /* sel */
        { { .pages = 1, .target = 0x80000001U }, -EINVAL },        /* sel */
        { { .pages = 0, .target = 0x40000003U }, -EINVAL },        /* sel */
        { { .pages = 1, .target = 4 }, -ENOENT },                  /* missing */
        { { .pages = 0, .target = 64 }, -ENOENT },                 /* missing */
        { { .pages = 1, .target = 3 }, -ENOENT },                  /* offline */
        { { .pages = 5, .target = NC_CLAIM_HOST }, -EINVAL },      /* host 2x */
        { { .pages = 1, .target = 2 }, -EINVAL },                  /* repeat */
        { { .pages = 0, .target = 1 }, -EINVAL },                  /* repeat */
        { { .pages = 1, .target = 0 }, -ENOMEM },                  /* node */
    };
    static const struct nc_claim good[3] = {
        { .pages = 10, .target = 1 },
        { .pages = 5, .target = NC_CLAIM_HOST },
        { .pages = 20, .target = 2 },
    };
    /* Four nodes of 16384 pages, node 3 offline: 49152 pages online. */
    struct nc_host *h = host_new_offline("4x64M", 1ULL << 3);
    nc_domid_t d = dom_new(h, 1000), b = dom_new(h, BIG_MAX);
    nc_domid_t c = dom_new(h, BIG_MAX);
    struct nc_claim s[4];
    struct snap before;

    (void)state;
    assert_int_equal(claim_set(h, d, 3, HOSTC(100), NODEC(1, 200),
                               NODEC(2, 300)), 0);
    /* b holds all of node 0; c leaves 20 unclaimed pages on the host. */
    assert_int_equal(claim_set(h, b, 1, NODEC(0, NODE_PAGES)), 0);
    assert_int_equal(nc_claim_pages(h, CTL, c, 3 * NODE_PAGES - 600 -
                                               NODE_PAGES - 20), 0);
    EXPECT_HOST(h, 3 * NODE_PAGES, 3 * NODE_PAGES - 20);
    snap_take(h, &before);

    EXPECT_BAD_AT_EACH_POSITION(h, d, bad, good, &before);

    /* Sets bad only as a whole: over max_pages (1001; also over the free
     * memory), then a host shortfall (621 > 20 + 600). */
    s[0] = good[0];
    s[1] = good[1];
    s[2] = (struct nc_claim){ .pages = 986, .target = 2 };
    assert_int_equal(set_raw(h, d, s, 3), -EINVAL);
    SNAP_CHECK(h, &before);
    s[0] = (struct nc_claim){ .pages = 300, .target = 1 };
    s[1] = (struct nc_claim){ .pages = 21, .target = NC_CLAIM_HOST };
    s[2] = (struct nc_claim){ .pages = 300, .target = 2 };
    assert_int_equal(set_raw(h, d, s, 3), -ENOMEM);
    SNAP_CHECK(h, &before);
    EXPECT_CLAIMS(h, d, 3, HOSTC(100), NODEC(1, 200), NODEC(2, 300));

    /* The good entries alone are a valid set. */
    memcpy(s, good, sizeof(good));
    assert_int_equal(set_raw(h, d, s, 3), 0);
    EXPECT_CLAIMS(h, d, 3, HOSTC(5), NODEC(1, 10), NODEC(2, 20));
    EXPECT_DOM(h, d, 0, 35, 5);
    EXPECT_HOST(h, 3 * NODE_PAGES, 3 * NODE_PAGES - 20 - 565);
    EXPECT_NODE(h, 0, NODE_PAGES, NODE_PAGES);
    EXPECT_NODE(h, 1, NODE_PAGES, 10);
    EXPECT_NODE(h, 2, NODE_PAGES, 20);
    EXPECT_NODE(h, 3, 0, 0);

    assert_invariants(h);
    nc_host_destroy(h);
}

/*
 * Node entries only, while no domain holds a host-wide claim: the one-pass
 * install (claims.c's install_plain_set()), which writes each entry as it
 * checks it, must undo every entry before a bad one, and the whole set when
 * only the sum is too much; its node checks see the domain's own old claim
 * given back.  A node it fills, and one it gives room again, change their
 * admit_mask bits (the checker compares them with the counters).
 */
static void test_claim_set_of_node_entries_is_undone_whole(void **state)
{
    static const struct bad_entry bad[] = {
        { { .pages = 1, .target = 0, .pad = 1 }, -EINVAL },        /* pad */
        { { .pages = 1, .target = 0x40000000U }, -EINVAL },        /* sel */
        { { .pages = 1, .target = 4 }, -ENOENT },                  /* missing */
        { { .pages = 1, .target = 3 }, -ENOENT },                  /* offline */
        { { .pages = 1, .target = 2 }, -EINVAL },                  /* repeat */
        { { .pages = 1, .target = 0 }, -ENOMEM },                  /* node */
    };
    static const struct nc_claim good[2] = {
        { .pages = 10, .target = 1 },
        { .pages = 20, .target = 2 },
    };
    /* Four nodes of 16384 pages, node 3 offline. */
    struct nc_host *h = host_new_offline("4x64M", 1ULL << 3);
    nc_domid_t d = dom_new(h, 1000), b = dom_new(h, BIG_MAX);
    nc_domid_t e = dom_new(h, BIG_MAX);
    struct nc_claim s[3];
    struct snap before;

    (void)state;
    assert_int_equal(claim_set(h, d, 2, NODEC(1, 200), NODEC(2, 300)), 0);
    assert_int_equal(claim_set(h, b, 1, NODEC(0, NODE_PAGES)), 0);
    snap_take(h, &before);

    EXPECT_BAD_AT_EACH_POSITION(h, d, bad, good, &before);
    /* Each entry fits its node, the sum not max_pages (1001 > 1000). */
    s[0] = (struct nc_claim){ .pages = 700, .target = 1 };
    s[1] = (struct nc_claim){ .pages = 301, .target = 2 };
    assert_int_equal(set_raw(h, d, s, 2), -EINVAL);
    SNAP_CHECK(h, &before);
    /* d's own 200 on node 1 count as free to d: the rest of the node, and
     * not a page more. */
    s[0] = (struct nc_claim){ .pages = NODE_PAGES + 1, .target = 1 };
    assert_int_equal(set_raw(h, e, s, 1), -ENOMEM);
    s[0].pages = NODE_PAGES - 199;
    assert_int_equal(set_raw(h, e, s, 1), -ENOMEM);
    SNAP_CHECK(h, &before);

    /* e fills node 1; then d replaces its claims, and e gives node 1 room
     * again. */
    s[0].pages = NODE_PAGES - 200;
    assert_int_equal(set_raw(h, e, s, 1), 0);
    EXPECT_NODE(h, 1, NODE_PAGES, NODE_PAGES);
    assert_invariants(h);
    memcpy(s, good, sizeof(good));
    assert_int_equal(set_raw(h, d, s, 2), 0);
    EXPECT_CLAIMS(h, d, 3, HOSTC(0), NODEC(1, 10), NODEC(2, 20));
    EXPECT_NODE(h, 1, NODE_PAGES, NODE_PAGES - 190);
    EXPECT_NODE(h, 2, NODE_PAGES, 20);
    assert_invariants(h);
    s[0] = (struct nc_claim){ .pages = 5, .target = 2 };
    assert_int_equal(set_raw(h, e, s, 1), 0);
    EXPECT_CLAIMS(h, e, 2, HOSTC(0), NODEC(2, 5));
    EXPECT_NODE(h, 1, NODE_PAGES, 10);
    EXPECT_NODE(h, 2, NODE_PAGES, 25);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Replacement and release (spec §4 SET 4-5)
 * ======================================================================== */

static void test_claim_set_smaller_after_partial_allocation(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);

    (void)state;
    assert_int_equal(claim_set(h, d, 2, NODEC(0, 2048), HOSTC(1024)), 0);
    EXPECT_DOM(h, d, 0, 3072, 1024);
    EXPECT_HOST(h, HOST_PAGES, 3072);
    EXPECT_NODE(h, 0, NODE_PAGES, 2048);

    assert_int_equal(nc_populate(h, CTL, d, 0, 9, flags_node(0, 1), NULL), 0);
    EXPECT_DOM(h, d, 512, 2560, 1024);
    EXPECT_HOST(h, HOST_PAGES - 512, 2560);
    EXPECT_NODE(h, 0, NODE_PAGES - 512, 1536);
    /* No node requested: the node of the largest claim. */
    assert_int_equal(populate(h, d, 512, 9), 0);
    EXPECT_DOM(h, d, 1024, 2048, 1024);
    EXPECT_HOST(h, HOST_PAGES - 1024, 2048);
    EXPECT_NODE(h, 0, NODE_PAGES - 1024, 1024);

    /* Smaller than what is left: no ENOMEM, no EINVAL. */
    assert_int_equal(claim_set(h, d, 2, NODEC(0, 1000), HOSTC(500)), 0);
    EXPECT_DOM(h, d, 1024, 1500, 500);
    EXPECT_HOST(h, HOST_PAGES - 1024, 1500);
    EXPECT_NODE(h, 0, NODE_PAGES - 1024, 1000);
    EXPECT_NODE(h, 1, NODE_PAGES, 0);
    EXPECT_CLAIMS(h, d, 2, HOSTC(500), NODEC(0, 1000));

    /* Up to the room under max_pages (4096 - 1024), not beyond. */
    assert_int_equal(claim_set(h, d, 2, NODEC(0, 2073), HOSTC(1000)),
                     -EINVAL);
    EXPECT_DOM(h, d, 1024, 1500, 500);
    assert_int_equal(claim_set(h, d, 2, NODEC(0, 2072), HOSTC(1000)), 0);
    EXPECT_DOM(h, d, 1024, 3072, 1000);
    EXPECT_HOST(h, HOST_PAGES - 1024, 3072);
    EXPECT_NODE(h, 0, NODE_PAGES - 1024, 2072);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_set_replaces_never_accumulates(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, BIG_MAX);

    (void)state;
    assert_int_equal(claim_set(h, d, 2, HOSTC(100), NODEC(0, 200)), 0);
    EXPECT_DOM(h, d, 0, 300, 100);
    EXPECT_HOST(h, HOST_PAGES, 300);
    EXPECT_NODE(h, 0, NODE_PAGES, 200);

    assert_int_equal(claim_set(h, d, 1, NODEC(1, 50)), 0);
    EXPECT_DOM(h, d, 0, 50, 0);
    EXPECT_HOST(h, HOST_PAGES, 50);
    EXPECT_NODE(h, 0, NODE_PAGES, 0);
    EXPECT_NODE(h, 1, NODE_PAGES, 50);
    EXPECT_CLAIMS(h, d, 2, HOSTC(0), NODEC(1, 50));

    /* The same set twice is still the set, not twice it. */
    assert_int_equal(claim_set(h, d, 1, NODEC(1, 50)), 0);
    EXPECT_DOM(h, d, 0, 50, 0);
    EXPECT_HOST(h, HOST_PAGES, 50);
    EXPECT_NODE(h, 1, NODE_PAGES, 50);

    assert_int_equal(claim_set(h, d, 1, HOSTC(7)), 0);
    EXPECT_DOM(h, d, 0, 7, 7);
    EXPECT_HOST(h, HOST_PAGES, 7);
    EXPECT_NODE(h, 1, NODE_PAGES, 0);
    EXPECT_CLAIMS(h, d, 1, HOSTC(7));

    /* Zero-page entries install nothing. */
    assert_int_equal(claim_set(h, d, 3, NODEC(1, 0), HOSTC(0), NODEC(0, 9)),
                     0);
    EXPECT_DOM(h, d, 0, 9, 0);
    EXPECT_HOST(h, HOST_PAGES, 9);
    EXPECT_NODE(h, 0, NODE_PAGES, 9);
    EXPECT_NODE(h, 1, NODE_PAGES, 0);
    EXPECT_CLAIMS(h, d, 2, HOSTC(0), NODEC(0, 9));

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_set_all_zero_releases_everything(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);

    (void)state;
    assert_int_equal(claim_set(h, d, 3, HOSTC(100), NODEC(0, 200),
                               NODEC(1, 300)), 0);
    EXPECT_HOST(h, HOST_PAGES, 600);

    assert_int_equal(claim_set(h, d, 1, NODEC(0, 0)), 0);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES, 0);
    EXPECT_NODE(h, 0, NODE_PAGES, 0);
    EXPECT_NODE(h, 1, NODE_PAGES, 0);
    EXPECT_CLAIMS(h, d, 1, HOSTC(0));

    /* Nothing to release: still success. */
    assert_int_equal(claim_set(h, d, 3, HOSTC(0), NODEC(1, 0), NODEC(0, 0)),
                     0);
    EXPECT_DOM(h, d, 0, 0, 0);

    /* The release is decided before the max_pages total check: it
     * succeeds even with tot_pages above max_pages. */
    assert_int_equal(populate(h, d, 0, 9), 0);
    assert_int_equal(populate(h, d, 512, 9), 0);
    assert_int_equal(claim_set(h, d, 1, HOSTC(100)), 0);
    EXPECT_DOM(h, d, 1024, 100, 100);
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 512), 0);
    EXPECT_DOM(h, d, 1024, 0, 0);
    assert_int_equal(claim_set(h, d, 1, HOSTC(0)), 0);
    assert_int_equal(claim_set(h, d, 2, NODEC(0, 0), NODEC(1, 0)), 0);
    assert_int_equal(claim_set(h, d, 1, HOSTC(1)), -EINVAL);
    assert_int_equal(claim_set(h, d, 1, NODEC(1, 1)), -EINVAL);
    EXPECT_DOM(h, d, 1024, 0, 0);
    EXPECT_HOST(h, HOST_PAGES - 1024, 0);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * GET (spec §4 GET)
 * ======================================================================== */

#define FILL 0xA5U

static void fill(struct nc_claim *s, uint32_t nr)
{
    memset(s, FILL, nr * sizeof(*s));
}

static void assert_untouched(const struct nc_claim *e)
{
    assert_int_equal(e->pages, 0xA5A5A5A5A5A5A5A5ULL);
    assert_int_equal(e->target, 0xA5A5A5A5U);
    assert_int_equal(e->pad, 0xA5A5A5A5U);
}

static void assert_entry(const struct nc_claim *e, uint32_t target,
                         uint64_t pages)
{
    assert_int_equal(e->target, target);
    assert_int_equal(e->pages, pages);
    assert_int_equal(e->pad, 0);
}

static void test_claim_get_host_first_then_nodes_ascending(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG_MAX), e = dom_new(h, BIG_MAX);
    struct nc_claim s[8];
    uint32_t nr = 8;

    (void)state;
    assert_int_equal(claim_set(h, d, 4, NODEC(3, 30), HOSTC(5), NODEC(1, 10),
                               NODEC(0, 0)), 0);
    fill(s, 8);
    assert_int_equal(get_raw(h, d, s, &nr), 0);
    assert_int_equal(nr, 3);
    assert_entry(&s[0], NC_CLAIM_HOST, 5);
    assert_entry(&s[1], 1, 10);
    assert_entry(&s[2], 3, 30);
    for ( uint32_t i = 3; i < 8; i++ )
        assert_untouched(&s[i]);

    /* Exactly the capacity needed. */
    nr = 3;
    fill(s, 8);
    assert_int_equal(get_raw(h, d, s, &nr), 0);
    assert_int_equal(nr, 3);
    assert_entry(&s[2], 3, 30);
    assert_untouched(&s[3]);

    /* A domain without claims: the host entry only, with 0 pages. */
    nr = 8;
    fill(s, 8);
    assert_int_equal(get_raw(h, e, s, &nr), 0);
    assert_int_equal(nr, 1);
    assert_entry(&s[0], NC_CLAIM_HOST, 0);
    assert_untouched(&s[1]);
    nr = 1;
    assert_int_equal(get_raw(h, e, s, &nr), 0);
    assert_int_equal(nr, 1);

    /* A huge capacity is fine. */
    {
        struct nc_claim big[NC_CLAIM_MAX_ENTRIES + 8];

        nr = NC_CLAIM_MAX_ENTRIES + 8;
        assert_int_equal(get_raw(h, d, big, &nr), 0);
        assert_int_equal(nr, 3);
    }

    /* GET changes nothing. */
    EXPECT_DOM(h, d, 0, 45, 5);
    EXPECT_HOST(h, 4 * NODE_PAGES, 45);
    EXPECT_NODE(h, 1, NODE_PAGES, 10);
    EXPECT_NODE(h, 3, NODE_PAGES, 30);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_get_small_capacity_is_erange(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, BIG_MAX), e = dom_new(h, BIG_MAX);
    struct nc_claim s[4];
    uint32_t nr;

    (void)state;
    assert_int_equal(claim_set(h, d, 3, NODEC(2, 20), NODEC(0, 7),
                               HOSTC(3)), 0);

    nr = 2;
    fill(s, 4);
    assert_int_equal(get_raw(h, d, s, &nr), -ERANGE);
    assert_int_equal(nr, 3);
    assert_entry(&s[0], NC_CLAIM_HOST, 3);
    assert_entry(&s[1], 0, 7);
    assert_untouched(&s[2]);

    nr = 1;
    fill(s, 4);
    assert_int_equal(get_raw(h, d, s, &nr), -ERANGE);
    assert_int_equal(nr, 3);
    assert_entry(&s[0], NC_CLAIM_HOST, 3);
    assert_untouched(&s[1]);

    /* Capacity 0: the count only. */
    nr = 0;
    fill(s, 4);
    assert_int_equal(get_raw(h, d, s, &nr), -ERANGE);
    assert_int_equal(nr, 3);
    assert_untouched(&s[0]);

    nr = 0;
    assert_int_equal(get_raw(h, e, s, &nr), -ERANGE);
    assert_int_equal(nr, 1);
    assert_untouched(&s[0]);

    EXPECT_DOM(h, d, 0, 30, 3);
    EXPECT_HOST(h, 4 * NODE_PAGES, 30);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_get_omits_node_claims_redeemed_to_zero(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, BIG_MAX);

    (void)state;
    assert_int_equal(claim_set(h, d, 3, NODEC(0, 512), NODEC(1, 1024),
                               HOSTC(100)), 0);
    EXPECT_CLAIMS(h, d, 3, HOSTC(100), NODEC(0, 512), NODEC(1, 1024));

    assert_int_equal(nc_populate(h, CTL, d, 0, 9, flags_node(0, 1), NULL), 0);
    EXPECT_DOM(h, d, 512, 1124, 100);
    EXPECT_NODE(h, 0, NODE_PAGES - 512, 0);
    EXPECT_CLAIMS(h, d, 2, HOSTC(100), NODEC(1, 1024));

    assert_int_equal(nc_populate(h, CTL, d, 512, 9, flags_node(1, 1), NULL),
                     0);
    assert_int_equal(nc_populate(h, CTL, d, 1024, 9, flags_node(1, 1), NULL),
                     0);
    EXPECT_DOM(h, d, 1536, 100, 100);
    EXPECT_NODE(h, 1, NODE_PAGES - 1024, 0);
    EXPECT_CLAIMS(h, d, 1, HOSTC(100));

    /* No node claim left: the host-wide claim is redeemed. */
    assert_int_equal(nc_populate(h, CTL, d, 1536, 9, flags_node(0, 1), NULL),
                     0);
    EXPECT_DOM(h, d, 2048, 0, 0);
    EXPECT_HOST(h, HOST_PAGES - 2048, 0);
    EXPECT_CLAIMS(h, d, 1, HOSTC(0));

    /* Fully redeemed means no claim: the legacy call is accepted. */
    assert_int_equal(nc_claim_pages(h, CTL, d, 3000), 0);
    EXPECT_DOM(h, d, 2048, 952, 952);
    EXPECT_CLAIMS(h, d, 1, HOSTC(952));

    assert_invariants(h);
    nc_host_destroy(h);
}

/* A set replacing node claims all redeemed to 0 (which it need not lock:
 * claims.c) leaves them 0 and out of GET, and a reset after such a build
 * changes nothing but the entries. */
static void test_claim_set_replaces_claims_redeemed_to_zero(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, BIG_MAX);

    (void)state;
    assert_int_equal(claim_set(h, d, 2, NODEC(0, 512), NODEC(1, 512)), 0);
    assert_int_equal(nc_populate(h, CTL, d, 0, 9, flags_node(0, 1), NULL), 0);
    assert_int_equal(nc_populate(h, CTL, d, 512, 9, flags_node(1, 1), NULL),
                     0);
    EXPECT_DOM(h, d, 1024, 0, 0);
    EXPECT_NODE(h, 0, NODE_PAGES - 512, 0);
    EXPECT_NODE(h, 1, NODE_PAGES - 512, 0);

    /* Named again, and not. */
    assert_int_equal(claim_set(h, d, 1, NODEC(1, 256)), 0);
    EXPECT_DOM(h, d, 1024, 256, 0);
    EXPECT_NODE(h, 0, NODE_PAGES - 512, 0);
    EXPECT_NODE(h, 1, NODE_PAGES - 512, 256);
    EXPECT_CLAIMS(h, d, 2, HOSTC(0), NODEC(1, 256));
    assert_invariants(h);

    /* Redeemed again, then the toolstack's reset. */
    assert_int_equal(nc_populate(h, CTL, d, 1024, 8, flags_node(1, 1), NULL),
                     0);
    EXPECT_DOM(h, d, 1280, 0, 0);
    assert_int_equal(claim_set(h, d, 2, NODEC(0, 0), NODEC(1, 0)), 0);
    EXPECT_DOM(h, d, 1280, 0, 0);
    EXPECT_NODE(h, 0, NODE_PAGES - 512, 0);
    EXPECT_NODE(h, 1, NODE_PAGES - 768, 0);
    EXPECT_CLAIMS(h, d, 1, HOSTC(0));

    /* And a new set on a node the old one left at 0. */
    assert_int_equal(claim_set(h, d, 1, NODEC(0, 100)), 0);
    EXPECT_DOM(h, d, 1280, 100, 0);
    EXPECT_NODE(h, 0, NODE_PAGES - 512, 100);
    EXPECT_CLAIMS(h, d, 2, HOSTC(0), NODEC(0, 100));

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Legacy claims and claim sets share one state
 * ======================================================================== */

static void test_legacy_claim_is_host_entry_in_get(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 8192);

    (void)state;
    assert_int_equal(nc_claim_pages(h, CTL, d, 1000), 0);
    EXPECT_CLAIMS(h, d, 1, HOSTC(1000));
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), 0);
    EXPECT_CLAIMS(h, d, 1, HOSTC(0));

    assert_int_equal(populate(h, d, 0, 9), 0);
    assert_int_equal(nc_claim_pages(h, CTL, d, 1000), 0);
    EXPECT_CLAIMS(h, d, 1, HOSTC(488));
    EXPECT_DOM(h, d, 512, 488, 488);

    /* A claim set replaces a legacy claim. */
    assert_int_equal(claim_set(h, d, 1, NODEC(0, 10)), 0);
    EXPECT_CLAIMS(h, d, 2, HOSTC(0), NODEC(0, 10));
    EXPECT_DOM(h, d, 512, 10, 0);
    EXPECT_HOST(h, HOST_PAGES - 512, 10);
    EXPECT_NODE(h, 0, NODE_PAGES, 10);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_pages_zero_releases_node_claims(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 8192);

    (void)state;
    assert_int_equal(claim_set(h, d, 3, NODEC(0, 100), NODEC(1, 200),
                               HOSTC(50)), 0);
    EXPECT_HOST(h, HOST_PAGES, 350);
    EXPECT_NODE(h, 0, NODE_PAGES, 100);
    EXPECT_NODE(h, 1, NODE_PAGES, 200);

    assert_int_equal(nc_claim_pages(h, CTL, d, 0), 0);
    EXPECT_DOM(h, d, 0, 0, 0);
    EXPECT_HOST(h, HOST_PAGES, 0);
    EXPECT_NODE(h, 0, NODE_PAGES, 0);
    EXPECT_NODE(h, 1, NODE_PAGES, 0);
    EXPECT_CLAIMS(h, d, 1, HOSTC(0));

    /* And afterwards a legacy claim is accepted. */
    assert_int_equal(nc_claim_pages(h, CTL, d, 100), 0);
    EXPECT_DOM(h, d, 0, 100, 100);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claim_pages_with_claim_set_is_einval(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 8192);
    struct snap before;

    (void)state;
    assert_int_equal(claim_set(h, d, 1, NODEC(1, 100)), 0);
    snap_take(h, &before);
    assert_int_equal(nc_claim_pages(h, CTL, d, 500), -EINVAL);
    assert_int_equal(nc_claim_pages(h, CTL, d, 100), -EINVAL);
    SNAP_CHECK(h, &before);
    EXPECT_CLAIMS(h, d, 2, HOSTC(0), NODEC(1, 100));

    assert_int_equal(claim_set(h, d, 1, HOSTC(100)), 0);
    snap_take(h, &before);
    assert_int_equal(nc_claim_pages(h, CTL, d, 500), -EINVAL);
    SNAP_CHECK(h, &before);
    EXPECT_DOM(h, d, 0, 100, 100);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_claims_per_domain_counters_per_host(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t a = dom_new(h, 8192), b = dom_new(h, 8192);

    (void)state;
    assert_int_equal(claim_set(h, a, 2, NODEC(0, 100), HOSTC(10)), 0);
    assert_int_equal(claim_set(h, b, 2, NODEC(0, 200), NODEC(1, 50)), 0);
    EXPECT_DOM(h, a, 0, 110, 10);
    EXPECT_DOM(h, b, 0, 250, 0);
    EXPECT_HOST(h, HOST_PAGES, 360);
    EXPECT_NODE(h, 0, NODE_PAGES, 300);
    EXPECT_NODE(h, 1, NODE_PAGES, 50);
    EXPECT_CLAIMS(h, a, 2, HOSTC(10), NODEC(0, 100));
    EXPECT_CLAIMS(h, b, 3, HOSTC(0), NODEC(0, 200), NODEC(1, 50));

    /* b's allocation redeems only b's claim. */
    assert_int_equal(nc_populate(h, CTL, b, 0, 9, flags_node(1, 1), NULL), 0);
    EXPECT_DOM(h, a, 0, 110, 10);
    EXPECT_DOM(h, b, 512, 200, 0);
    EXPECT_HOST(h, HOST_PAGES - 512, 310);
    EXPECT_NODE(h, 1, NODE_PAGES - 512, 0);

    assert_int_equal(nc_domain_destroy(h, CTL, a), 0);
    EXPECT_HOST(h, HOST_PAGES - 512, 200);
    EXPECT_NODE(h, 0, NODE_PAGES, 200);
    EXPECT_CLAIMS(h, b, 2, HOSTC(0), NODEC(0, 200));

    assert_int_equal(nc_claim_pages(h, CTL, b, 0), 0);
    EXPECT_HOST(h, HOST_PAGES - 512, 0);
    EXPECT_NODE(h, 0, NODE_PAGES, 0);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Lowering max_pages (spec §5 last paragraph, I6)
 * ======================================================================== */

static void test_lower_max_deducts_host_then_nodes_descending(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, 10000);
    const uint64_t avail = 4 * NODE_PAGES - 512;

    (void)state;
    assert_int_equal(populate(h, d, 0, 9), 0);
    assert_int_equal(claim_set(h, d, 4, HOSTC(1000), NODEC(0, 2000),
                               NODEC(1, 3000), NODEC(2, 500)), 0);
    EXPECT_DOM(h, d, 512, 6500, 1000);
    EXPECT_HOST(h, avail, 6500);

    /* tot + outstanding == max: nothing to deduct. */
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 7012), 0);
    EXPECT_DOM(h, d, 512, 6500, 1000);
    EXPECT_HOST(h, avail, 6500);

    /* Host-wide first. */
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 6512), 0);
    EXPECT_DOM(h, d, 512, 6000, 500);
    EXPECT_HOST(h, avail, 6000);
    EXPECT_NODE(h, 0, NODE_PAGES, 2000);
    EXPECT_NODE(h, 1, NODE_PAGES - 512, 3000);
    EXPECT_NODE(h, 2, NODE_PAGES, 500);
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 6012), 0);
    EXPECT_DOM(h, d, 512, 5500, 0);
    EXPECT_HOST(h, avail, 5500);

    /* Then nodes by descending id: 1012 = node 2's 500 + 512 of node 1. */
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 5000), 0);
    EXPECT_DOM(h, d, 512, 4488, 0);
    EXPECT_HOST(h, avail, 4488);
    EXPECT_NODE(h, 0, NODE_PAGES, 2000);
    EXPECT_NODE(h, 1, NODE_PAGES - 512, 2488);
    EXPECT_NODE(h, 2, NODE_PAGES, 0);
    EXPECT_CLAIMS(h, d, 3, HOSTC(0), NODEC(0, 2000), NODEC(1, 2488));

    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 1000), 0);
    EXPECT_DOM(h, d, 512, 488, 0);
    EXPECT_HOST(h, avail, 488);
    EXPECT_NODE(h, 0, NODE_PAGES, 488);
    EXPECT_NODE(h, 1, NODE_PAGES - 512, 0);
    EXPECT_CLAIMS(h, d, 2, HOSTC(0), NODEC(0, 488));

    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 512), 0);
    EXPECT_DOM(h, d, 512, 0, 0);
    EXPECT_HOST(h, avail, 0);
    EXPECT_NODE(h, 0, NODE_PAGES, 0);
    EXPECT_CLAIMS(h, d, 1, HOSTC(0));

    /* Below tot_pages, and back up: claims are not restored. */
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 100), 0);
    EXPECT_DOM(h, d, 512, 0, 0);
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 10000), 0);
    EXPECT_DOM(h, d, 512, 0, 0);
    EXPECT_HOST(h, avail, 0);
    assert_int_equal(dom_info(h, d).max_pages, 10000);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_lower_max_pages_deducts_legacy_claim(void **state)
{
    struct nc_host *h = host_new("2x64M");
    nc_domid_t d = dom_new(h, 4096);

    (void)state;
    assert_int_equal(nc_claim_pages(h, CTL, d, 3000), 0);
    EXPECT_DOM(h, d, 0, 3000, 3000);
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 2000), 0);
    EXPECT_DOM(h, d, 0, 2000, 2000);
    EXPECT_HOST(h, HOST_PAGES, 2000);

    assert_int_equal(populate(h, d, 0, 9), 0);
    EXPECT_DOM(h, d, 512, 1488, 1488);
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 1000), 0);
    EXPECT_DOM(h, d, 512, 488, 488);
    EXPECT_HOST(h, HOST_PAGES - 512, 488);

    /* Raising max_pages does not give the deducted pages back. */
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, 4096), 0);
    EXPECT_DOM(h, d, 512, 488, 488);

    assert_invariants(h);
    nc_host_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_mem_claim_scenario),
        cmocka_unit_test(test_claim_pages_unknown_domain_is_einval),
        cmocka_unit_test(test_claim_pages_non_control_caller_is_eperm),
        cmocka_unit_test(test_claim_pages_dying_domain_is_einval),
        cmocka_unit_test(test_claim_pages_zero_releases_and_always_succeeds),
        cmocka_unit_test(test_claim_pages_existing_claim_is_einval),
        cmocka_unit_test(test_claim_pages_target_bounds_are_einval),
        cmocka_unit_test(test_claim_pages_over_unclaimed_is_enomem),
        cmocka_unit_test(test_claim_pages_installs_target_minus_tot),
        cmocka_unit_test(test_claim_memory_non_control_caller_is_eperm),
        cmocka_unit_test(test_claim_memory_unknown_or_dying_is_esrch),
        cmocka_unit_test(test_claim_memory_other_mode_is_eopnotsupp),
        cmocka_unit_test(test_claim_set_nr_0_is_einval_nr_66_is_e2big),
        cmocka_unit_test(test_claim_set_of_65_entries_is_allowed),
        cmocka_unit_test(test_claim_set_nonzero_pad_is_einval),
        cmocka_unit_test(test_claim_set_bad_selector_is_einval),
        cmocka_unit_test(test_claim_set_missing_or_offline_node_is_enoent),
        cmocka_unit_test(test_claim_set_duplicate_entry_is_einval),
        cmocka_unit_test(test_claim_set_node_shortfall_is_enomem),
        cmocka_unit_test(test_claim_set_over_max_pages_is_einval),
        cmocka_unit_test(test_claim_set_host_shortfall_is_enomem),
        cmocka_unit_test(test_claim_set_totals_are_overflow_safe),
        cmocka_unit_test(test_claim_set_checks_in_spec_order),
        cmocka_unit_test(test_claim_set_with_one_bad_entry_changes_nothing),
        cmocka_unit_test(test_claim_set_of_node_entries_is_undone_whole),
        cmocka_unit_test(test_claim_set_smaller_after_partial_allocation),
        cmocka_unit_test(test_claim_set_replaces_never_accumulates),
        cmocka_unit_test(test_claim_set_all_zero_releases_everything),
        cmocka_unit_test(test_claim_get_host_first_then_nodes_ascending),
        cmocka_unit_test(test_claim_get_small_capacity_is_erange),
        cmocka_unit_test(test_claim_get_omits_node_claims_redeemed_to_zero),
        cmocka_unit_test(test_claim_set_replaces_claims_redeemed_to_zero),
        cmocka_unit_test(test_legacy_claim_is_host_entry_in_get),
        cmocka_unit_test(test_claim_pages_zero_releases_node_claims),
        cmocka_unit_test(test_claim_pages_with_claim_set_is_einval),
        cmocka_unit_test(test_claims_per_domain_counters_per_host),
        cmocka_unit_test(test_lower_max_deducts_host_then_nodes_descending),
        cmocka_unit_test(test_lower_max_pages_deducts_legacy_claim),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
