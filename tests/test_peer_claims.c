/* SPDX-License-Identifier: MIT */
/*
 * The peers' claim scenarios, in our own words.  Xen and XenServer carry
 * system tests for claims: mainline's tools/tests/mem-claim, the v4/v5
 * XenServer drafts (cases C-0..C-16, the offline variants CM016/CM017 and
 * the offline/online loop), the test suite posted with the v7 claim-set
 * series (A1-*, I1-*, I2-*) and an OCaml test of the xenctrl bindings.
 * Their sources are GPL and cannot live here; docs/xen-abi.md ("The peers'
 * claim tests") says how they were run unmodified against numaclaim.  This
 * program re-states every scenario and check of theirs that applies to
 * numaclaim's ABI (spec §3, §4, §5, §7), through Debian's libxenctrl on
 * numaclaim's stand-ins and numaclaim's client library, and is run on four
 * host shapes (tests/meson.build: 8G, 2x4G, 4x4G, "6G,2G").
 *
 * Where the peers only check that a call fails or succeeds, we check the
 * exact numbers: outstanding pages in physinfo and getdomaininfo,
 * tot_pages, free memory per node from numainfo and the pages a domain owns
 * per node.  The expected numbers come from the host shape in
 * NUMACLAIM_HOST, parsed here independently of numaclaim.  Nodes are
 * chosen as the peers choose them: the primary has the most free memory,
 * the secondary the next most (ties: the lower id).  Cases that need two
 * nodes skip on one.  Every case starts on an idle host, destroys its
 * domains and checks that outstanding pages and free memory are back to
 * the baseline.
 *
 * Semantics that only other drafts have (v8's set-once claims and nr == 0
 * releasing, v4's single entry, ...) are deliberately not tested; the
 * documentation lists them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <numaclaim/xc-claims.h>

#include "xc_common.h"

#define HOST           XEN_DOMCTL_CLAIM_MEMORY_HOST
#define SET            XEN_DOMCTL_CLAIM_MEMORY_SET
#define GET            XEN_DOMCTL_CLAIM_MEMORY_GET
#define MAX_NODES      8
#define NO_NODE        UINT32_MAX

/* ========================================================================
 * The host shape, from NUMACLAIM_HOST
 * ======================================================================== */

static struct {
    unsigned int nr_nodes;
    uint64_t size[MAX_NODES];      /* pages per node */
    uint64_t first[MAX_NODES];     /* first MFN per node */
    uint64_t total;
    unsigned int primary, secondary;   /* secondary: NO_NODE on one node */
} shape;

/* A size with a binary suffix, in pages; 0 if malformed. */
static uint64_t parse_pages(const char *s, size_t n)
{
    uint64_t v = 0;
    unsigned int shift = 0;
    size_t i;

    for ( i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++ )
        v = v * 10 + (uint64_t)(s[i] - '0');
    if ( i + 1 == n )
        switch ( s[i++] )
        {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: return 0;
        }
    return i == n ? (v << shift) >> 12 : 0;
}

/*
 * "N x size" or "size,size,...", options after ';' ignored (the shapes we
 * run have none).  numaclaim's default host is 2x4G.  Node i's frames
 * follow node i-1's, node 0 at MFN 0.
 */
static int parse_shape(void)
{
    const char *spec = getenv("NUMACLAIM_HOST");
    size_t len;
    const char *x;

    if ( !spec || !*spec )
        spec = "2x4G";
    len = strcspn(spec, ";");
    x = memchr(spec, 'x', len);
    shape.nr_nodes = 0;
    if ( x )
    {
        unsigned long count = strtoul(spec, NULL, 10);
        uint64_t p = parse_pages(x + 1, len - (size_t)(x + 1 - spec));

        if ( !count || count > MAX_NODES || !p )
            return -1;
        for ( ; shape.nr_nodes < count; shape.nr_nodes++ )
            shape.size[shape.nr_nodes] = p;
    }
    else
    {
        for ( const char *s = spec; s < spec + len; )
        {
            size_t n = strcspn(s, ",;");
            uint64_t p = parse_pages(s, n < (size_t)(spec + len - s) ?
                                     n : (size_t)(spec + len - s));

            if ( !p || shape.nr_nodes == MAX_NODES )
                return -1;
            shape.size[shape.nr_nodes++] = p;
            s += n + 1;
        }
    }

    shape.total = 0;
    for ( unsigned int i = 0; i < shape.nr_nodes; i++ )
    {
        shape.first[i] = shape.total;
        shape.total += shape.size[i];
    }
    /* The peers' choice on an idle host: the largest node, then the next. */
    shape.primary = 0;
    for ( unsigned int i = 1; i < shape.nr_nodes; i++ )
        if ( shape.size[i] > shape.size[shape.primary] )
            shape.primary = i;
    shape.secondary = NO_NODE;
    for ( unsigned int i = 0; i < shape.nr_nodes; i++ )
        if ( i != shape.primary &&
             (shape.secondary == NO_NODE ||
              shape.size[i] > shape.size[shape.secondary]) )
            shape.secondary = i;
    return 0;
}

/* ========================================================================
 * Queries
 * ======================================================================== */

static xc_interface *xch;

static xc_physinfo_t physinfo(void)
{
    xc_physinfo_t pi;

    assert_int_equal(xc_physinfo(xch, &pi), 0);
    return pi;
}

static uint64_t outstanding(void)
{
    return physinfo().outstanding_pages;
}

static xc_dominfo_t dominfo(uint32_t d)
{
    xc_dominfo_t info;

    assert_int_equal(xc_domain_getinfo(xch, d, 1, &info), 1);
    assert_int_equal(info.domid, d);
    return info;
}

/* Free pages of one node, as numainfo reports them. */
static uint64_t node_free(unsigned int node)
{
    xc_meminfo_t mem[MAX_NODES];
    unsigned int n = MAX_NODES;

    assert_int_equal(xc_numainfo(xch, &n, mem, NULL), 0);
    assert_int_equal(n, shape.nr_nodes);
    assert_true(node < n);
    assert_int_equal(mem[node].memfree & 4095, 0);
    return mem[node].memfree >> 12;
}

/* Free pages of the host as the peers size their claims: availheap over
 * every zone and node. */
static uint64_t host_free(void)
{
    uint64_t bytes = 0;

    assert_int_equal(xc_availheap(xch, 0, 0, -1, &bytes), 0);
    assert_int_equal(bytes & 4095, 0);
    return bytes >> 12;
}

static uint64_t node_pages(uint32_t d, unsigned int node)
{
    uint64_t pages[64];
    uint32_t nr = 64;

    assert_int_equal(xc_domain_node_pages(xch, d, &nr, pages), 0);
    assert_int_equal(nr, shape.nr_nodes);
    return pages[node];
}

/* A domain's claims, checked in the hypervisor's two views of them. */
static void assert_domain_claims(uint32_t d, uint64_t pages)
{
    struct xen_domctl_claim_info ci;

    assert_int_equal(dominfo(d).nr_outstanding_pages, pages);
    assert_int_equal(xc_domain_claim_info(xch, d, &ci), 0);
    assert_int_equal(ci.outstanding, pages);
}

/* ========================================================================
 * Domains: created as the peers create them, tracked for cleanup
 * ======================================================================== */

static uint32_t doms[4];
static unsigned int nr_doms;
static uint32_t offlined[32];     /* MFNs a case has taken offline */
static unsigned int nr_offlined;

/*
 * The peers' template: an HVM/HAP guest with one vCPU, one grant frame and
 * grant table v1, created with an "any domid" request and then given
 * unlimited max memory (setmaxmem(-1)), so that only free memory and
 * claims limit it.
 */
static uint32_t new_dom(void)
{
    struct xen_domctl_createdomain c = {
        .flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap,
        .max_vcpus = 1,
        .max_grant_frames = 1,
        .grant_opts = XEN_DOMCTL_GRANT_version(1),
        .arch = { .emulation_flags = XEN_X86_EMU_LAPIC },
    };
    uint32_t d = DOMID_INVALID;

    assert_true(nr_doms < 4);
    assert_int_equal(xc_domain_create(xch, &d, &c), 0);
    assert_true(d >= 1 && d < DOMID_FIRST_RESERVED);
    doms[nr_doms++] = d;
    assert_int_equal(xc_domain_setmaxmem(xch, d, (uint64_t)-1), 0);
    /* Creating a domain claims nothing. */
    assert_domain_claims(d, 0);
    assert_int_equal(dominfo(d).nr_pages, 0);
    return d;
}

static void destroy_dom(uint32_t d)
{
    for ( unsigned int i = 0; i < nr_doms; i++ )
        if ( doms[i] == d )
        {
            doms[i] = doms[--nr_doms];
            assert_int_equal(xc_domain_destroy(xch, d), 0);
            return;
        }
    fail_msg("domain %u is not one of this case's", d);
}

/* The host is idle: everything free, nothing claimed. */
static void assert_idle_host(void)
{
    xc_physinfo_t pi = physinfo();

    assert_int_equal(pi.outstanding_pages, 0);
    assert_int_equal(pi.free_pages, shape.total);
    assert_int_equal(pi.total_pages, shape.total);
    for ( unsigned int i = 0; i < shape.nr_nodes; i++ )
        assert_int_equal(node_free(i), shape.size[i]);
}

/* The end of every case: destroy what is left, and the host is back to
 * the baseline (which, the host being otherwise idle, is zero claims and
 * every page free). */
static void end_case(void)
{
    while ( nr_doms )
        destroy_dom(doms[nr_doms - 1]);
    assert_idle_host();
}

static int setup(void **state)
{
    (void)state;
    nr_doms = 0;
    nr_offlined = 0;
    /* The peers insist on a quiescent host; so do we. */
    return physinfo().outstanding_pages == 0 &&
           physinfo().free_pages == shape.total ? 0 : -1;
}

/* After a failed case: put the host back so that the next one runs. */
static int teardown(void **state)
{
    uint32_t st;

    (void)state;
    while ( nr_doms )
        xc_domain_destroy(xch, doms[--nr_doms]);
    while ( nr_offlined )
    {
        uint32_t mfn = offlined[--nr_offlined];

        xc_page_offline_op(xch, sysctl_page_online, mfn, mfn, &st);
    }
    return 0;
}

/* ========================================================================
 * Claims and allocations
 * ======================================================================== */

static int set_claims(uint32_t d, uint32_t nr, const xen_memory_claim_t *set)
{
    xen_memory_claim_t copy[300];

    assert_true(nr <= 300);
    memcpy(copy, set, nr * sizeof(*set));
    return xc_domain_claim_memory(xch, d, SET, &nr, copy);
}

static int set_claim(uint32_t d, uint64_t pages, uint32_t target)
{
    return set_claims(d, 1, &(xen_memory_claim_t){ .pages = pages,
                                                   .target = target });
}

/* Order-0 extents at gpfns start..start+nr-1; the extents done. */
static int populate(uint32_t d, xen_pfn_t start, unsigned long nr,
                    unsigned int flags)
{
    xen_pfn_t gpfn[64];

    assert_true(nr <= 64);
    for ( unsigned long i = 0; i < nr; i++ )
        gpfn[i] = start + i;
    return xc_domain_populate_physmap(xch, d, nr, 0, flags, gpfn);
}

/* Skip a case that needs two nodes, after checking that the host really
 * has one. */
static bool need_two_nodes(void)
{
    if ( shape.secondary != NO_NODE )
        return true;
    assert_int_equal(physinfo().nr_nodes, 1);
    return false;
}

/* ========================================================================
 * The host as the peers see it
 * ======================================================================== */

static void test_host_shape_and_node_choice(void **state)
{
    xc_meminfo_t mem[MAX_NODES];
    unsigned int n = MAX_NODES, primary = 0, secondary = NO_NODE;
    xc_physinfo_t pi = physinfo();
    unsigned long max_mfn = 0;

    (void)state;
    assert_idle_host();
    assert_int_equal(pi.nr_nodes, shape.nr_nodes);
    assert_int_equal(pi.max_node_id, 63);             /* MAX_NUMNODES - 1 */
    assert_int_equal(host_free(), shape.total);
    assert_int_equal(xc_maximum_ram_page(xch, &max_mfn), 0);
    assert_int_equal(max_mfn, shape.total);

    /* The peers' node choice, from numainfo, agrees with the shape's. */
    assert_int_equal(xc_numainfo(xch, &n, mem, NULL), 0);
    for ( unsigned int i = 1; i < n; i++ )
        if ( mem[i].memfree > mem[primary].memfree )
            primary = i;
    for ( unsigned int i = 0; i < n; i++ )
        if ( i != primary &&
             (secondary == NO_NODE || mem[i].memfree > mem[secondary].memfree) )
            secondary = i;
    assert_int_equal(primary, shape.primary);
    assert_int_equal(secondary, shape.secondary);
    for ( unsigned int i = 0; i < n; i++ )
    {
        uint64_t bytes;

        assert_int_equal(xc_availheap(xch, 0, 0, (int)i, &bytes), 0);
        assert_int_equal(bytes, shape.size[i] << 12);
    }
}

/* ========================================================================
 * Mainline tools/tests/mem-claim, and the single-claim rounds of the
 * v4/v5 test-mem-claim (v4.22-claims.v5, multi-claims)
 * ======================================================================== */

static void test_mainline_mem_claim(void **state)
{
    uint32_t d;
    xen_pfn_t gpfn = 0;

    (void)state;
    d = new_dom();
    assert_int_equal(outstanding(), 0);
    assert_int_equal(xc_domain_claim_pages(xch, d, 1024), 0);   /* 4 MiB */
    assert_int_equal(outstanding(), 1024);
    assert_domain_claims(d, 1024);
    /* One 2 MiB extent redeems half of it. */
    assert_int_equal(xc_domain_populate_physmap_exact(xch, d, 1, 9, 0, &gpfn),
                     0);
    assert_int_equal(outstanding(), 512);
    assert_domain_claims(d, 512);
    assert_int_equal(dominfo(d).nr_pages, 512);
    assert_int_equal(physinfo().free_pages, shape.total - 512);
    destroy_dom(d);
    assert_int_equal(outstanding(), 0);
    end_case();
}

/*
 * Claim all but 511 pages (of the host, or of the primary node), so that
 * no other domain can get a 2 MiB extent there and the claimant can.  The
 * three ways to stake it: the legacy call, a host entry, a node entry.
 */
enum round { LEGACY_ROUND, HOST_ROUND, NODE_ROUND };

static void single_claim_round(enum round r)
{
    unsigned int p = shape.primary;
    uint64_t free = r == NODE_ROUND ? node_free(p) : host_free();
    uint64_t claim = free - 512 + 1;
    unsigned int flags = r == NODE_ROUND ? XENMEMF_node(p) : 0;
    uint32_t d = new_dom(), other;
    xen_pfn_t gpfn = 0;

    if ( r == LEGACY_ROUND )
        assert_int_equal(xc_domain_claim_pages(xch, d, claim), 0);
    else
        assert_int_equal(set_claim(d, claim, r == HOST_ROUND ? HOST : p), 0);
    assert_int_equal(outstanding(), claim);
    assert_domain_claims(d, claim);

    other = new_dom();
    assert_int_equal(xc_domain_populate_physmap(xch, other, 1, 9,
                                                r == NODE_ROUND ?
                                                XENMEMF_exact_node(p) : 0,
                                                &gpfn), 0);
    assert_int_equal(dominfo(other).nr_pages, 0);
    destroy_dom(other);

    assert_int_equal(xc_domain_populate_physmap_exact(xch, d, 1, 9, flags,
                                                      &gpfn), 0);
    assert_int_equal(outstanding(), claim - 512);
    assert_domain_claims(d, claim - 512);
    if ( r == NODE_ROUND )
        assert_int_equal(node_pages(d, p), 512);
    destroy_dom(d);
    assert_int_equal(outstanding(), 0);
}

static void test_v4_single_claim_rounds(void **state)
{
    (void)state;
    single_claim_round(LEGACY_ROUND);
    single_claim_round(HOST_ROUND);
    single_claim_round(NODE_ROUND);
    end_case();
}

/* ========================================================================
 * Accounting: v5 C-0..C-4, C-14, C-15 (CM000..CM004, CM014, CM015) and
 * posted v7 A1-1..A1-8
 * ======================================================================== */

/* v7 A1-1, v5 C-0 (free - 1), v5-mc2 C-0 (all free), CM000. */
static void test_node_claim_is_outstanding(void **state)
{
    unsigned int p = shape.primary;
    uint64_t free = node_free(p);
    xen_memory_claim_t out[2];
    xen_sysctl_node_claims_t nodes[MAX_NODES];
    struct xc_claim_overview ov;
    uint32_t nr = 2, nn = MAX_NODES;

    (void)state;
    assert_int_equal(free, shape.size[p]);
    for ( uint64_t pages = free - 1; pages <= free; pages++ )
    {
        uint32_t d = new_dom();

        assert_int_equal(set_claim(d, pages, p), 0);
        assert_int_equal(outstanding(), pages);
        assert_domain_claims(d, pages);
        nr = 2;
        assert_int_equal(xc_domain_claim_memory(xch, d, GET, &nr, out), 0);
        assert_int_equal(nr, 2);
        assert_int_equal(out[0].target, HOST);
        assert_int_equal(out[0].pages, 0);
        assert_int_equal(out[1].target, p);
        assert_int_equal(out[1].pages, pages);
        nn = MAX_NODES;
        assert_int_equal(xc_claim_overview(xch, &ov, &nn, nodes), 0);
        assert_int_equal(nodes[p].claimed, pages);
        /* A claim takes no memory. */
        assert_int_equal(node_free(p), free);
        destroy_dom(d);
        assert_int_equal(outstanding(), 0);
    }
    end_case();
}

/* Two zero releases the peers use: v5's {0, HOST} and v7's all-zero entry
 * (which names node 0). */
static const xen_memory_claim_t releases[] = {
    { .pages = 0, .target = HOST },
    { .pages = 0, .target = 0 },
};

/* v7 A1-2, v5 C-1, CM001: a host claim of all free memory, one page
 * redeemed, replaced by half, released. */
static void test_host_claim_replaced_after_alloc(void **state)
{
    uint64_t free = host_free();

    (void)state;
    assert_int_equal(free, shape.total);
    for ( unsigned int i = 0; i < 2; i++ )
    {
        uint32_t d = new_dom();

        assert_int_equal(set_claim(d, free, HOST), 0);
        assert_domain_claims(d, free);
        assert_int_equal(populate(d, 0, 1, 0), 1);
        assert_int_equal(outstanding(), free - 1);
        assert_int_equal(dominfo(d).nr_pages, 1);
        /* Replaced, not added to: the new set is what is still to come. */
        assert_int_equal(set_claim(d, free / 2, HOST), 0);
        assert_int_equal(outstanding(), free / 2);
        assert_domain_claims(d, free / 2);
        assert_int_equal(set_claims(d, 1, &releases[i]), 0);
        assert_int_equal(outstanding(), 0);
        assert_int_equal(dominfo(d).nr_pages, 1);
        destroy_dom(d);
    }
    end_case();
}

/* v7 A1-3, v5 C-2, CM002: the same on the primary node. */
static void test_node_claim_replaced_after_alloc(void **state)
{
    unsigned int p = shape.primary;
    uint64_t free = node_free(p);

    (void)state;
    for ( unsigned int i = 0; i < 2; i++ )
    {
        uint32_t d = new_dom();

        assert_int_equal(set_claim(d, free - 1, p), 0);
        assert_int_equal(populate(d, 0, 1, XENMEMF_exact_node(p)), 1);
        assert_int_equal(outstanding(), free - 2);
        assert_int_equal(node_free(p), free - 1);
        assert_int_equal(node_pages(d, p), 1);
        assert_int_equal(set_claim(d, free / 2, p), 0);
        assert_int_equal(outstanding(), free / 2);
        assert_domain_claims(d, free / 2);
        assert_int_equal(set_claims(d, 1, &releases[i]), 0);
        assert_int_equal(outstanding(), 0);
        destroy_dom(d);
    }
    end_case();
}

/* v5 C-3, CM003: the legacy call claims all free memory. */
static void test_legacy_claim_of_all_free(void **state)
{
    uint64_t free = host_free();
    uint32_t d = new_dom();

    (void)state;
    assert_int_equal(xc_domain_claim_pages(xch, d, free), 0);
    assert_int_equal(outstanding(), free);
    assert_domain_claims(d, free);
    end_case();
}

/* v7 A1-4: a legacy claim of half, ten pages redeem ten. */
static void test_legacy_claim_redeemed(void **state)
{
    uint64_t half = host_free() / 2;
    uint32_t d = new_dom();

    (void)state;
    assert_int_equal(xc_domain_claim_pages(xch, d, half), 0);
    assert_int_equal(outstanding(), half);
    assert_int_equal(populate(d, 0, 10, 0), 10);
    assert_int_equal(outstanding(), half - 10);
    assert_domain_claims(d, half - 10);
    assert_int_equal(dominfo(d).nr_pages, 10);
    assert_int_equal(physinfo().free_pages, shape.total - 10);
    end_case();
}

/*
 * v7 A1-5, v5 C-4, CM004: a node claim leaving 10 pages protects its node
 * from a helper domain, moving it to the secondary node frees the primary
 * and protects the secondary, releasing it frees both.  The helper's
 * second populate on the secondary node maps over gpfns it already has,
 * which replaces the old pages (spec §6).
 */
static void test_claim_moved_between_nodes(void **state)
{
    unsigned int p = shape.primary, s = shape.secondary;
    uint64_t fp, fs;
    uint32_t d, helper;

    (void)state;
    if ( !need_two_nodes() )
    {
        skip();
        return;
    }
    fp = node_free(p);
    fs = node_free(s);
    assert_int_equal(fp, shape.size[p]);
    assert_int_equal(fs, shape.size[s]);
    d = new_dom();
    helper = new_dom();

    assert_int_equal(set_claim(d, fp - 10, p), 0);
    assert_domain_claims(d, fp - 10);
    assert_int_equal(outstanding(), fp - 10);
    /* 20 asked, the 10 unclaimed pages given (gpfns 0..9). */
    assert_int_equal(populate(helper, 0, 20, XENMEMF_exact_node(p)), 10);
    assert_int_equal(node_pages(helper, p), 10);
    assert_int_equal(node_free(p), fp - 10);
    assert_domain_claims(d, fp - 10);           /* not the helper's to use */

    /* The move: one SET, the old node's claim gone, the new one whole. */
    assert_int_equal(set_claim(d, node_free(s) - 10, s), 0);
    assert_domain_claims(d, fs - 10);
    assert_int_equal(outstanding(), fs - 10);
    assert_int_equal(populate(helper, 20, 20, XENMEMF_exact_node(p)), 20);
    assert_int_equal(node_pages(helper, p), 30);
    assert_int_equal(node_free(p), fp - 30);

    /* gpfns 0..9 move to the secondary node; 10..19 find no room. */
    assert_int_equal(populate(helper, 0, 20, XENMEMF_exact_node(s)), 10);
    assert_int_equal(dominfo(helper).nr_pages, 30);
    assert_int_equal(node_pages(helper, p), 20);
    assert_int_equal(node_pages(helper, s), 10);
    assert_int_equal(node_free(p), fp - 20);
    assert_int_equal(node_free(s), fs - 10);
    assert_domain_claims(d, fs - 10);

    assert_int_equal(set_claims(d, 1, &releases[0]), 0);
    assert_int_equal(outstanding(), 0);
    /* gpfns 20..39 move too: everything on the secondary node. */
    assert_int_equal(populate(helper, 20, 20, XENMEMF_exact_node(s)), 20);
    assert_int_equal(dominfo(helper).nr_pages, 30);
    assert_int_equal(node_pages(helper, p), 0);
    assert_int_equal(node_pages(helper, s), 30);
    assert_int_equal(node_free(p), fp);
    assert_int_equal(node_free(s), fs - 30);
    assert_int_equal(set_claims(d, 1, &releases[0]), 0);   /* again: no-op */
    assert_int_equal(outstanding(), 0);
    end_case();
}

/* v7 A1-6, v5 C-14, CM014: a legacy claim reset by claiming 0. */
static void test_legacy_zero_resets(void **state)
{
    uint32_t d = new_dom();

    (void)state;
    assert_int_equal(xc_domain_claim_pages(xch, d, 8), 0);
    assert_int_equal(outstanding(), 8);
    assert_int_equal(xc_domain_claim_pages(xch, d, 0), 0);
    assert_int_equal(outstanding(), 0);
    assert_domain_claims(d, 0);
    end_case();
}

/* v7 A1-7, v5 C-15, CM015: a node claim released by a zero host entry. */
static void test_zero_set_resets(void **state)
{
    uint32_t d = new_dom();

    (void)state;
    assert_int_equal(set_claim(d, 8, shape.primary), 0);
    assert_int_equal(outstanding(), 8);
    assert_domain_claims(d, 8);
    assert_int_equal(set_claim(d, 0, HOST), 0);
    assert_int_equal(outstanding(), 0);
    assert_domain_claims(d, 0);
    end_case();
}

/* v7 A1-8: a domain without claims has one entry, the zero host entry. */
static void test_get_counts_the_host_entry(void **state)
{
    uint32_t d = new_dom();
    xen_memory_claim_t e = { .pages = 77, .target = 5 };
    uint32_t nr = 0;

    (void)state;
    assert_fails(xc_domain_claim_memory(xch, d, GET, &nr, NULL), ERANGE);
    assert_int_equal(nr, 1);
    assert_int_equal(xc_domain_claim_memory(xch, d, GET, &nr, &e), 0);
    assert_int_equal(nr, 1);
    assert_int_equal(e.target, HOST);
    assert_int_equal(e.pages, 0);
    assert_int_equal(e.pad, 0);
    end_case();
}

/* ========================================================================
 * Input errors: v5 C-5..C-12 (CM005..CM012), v7 I1-1..I1-8, the v4/v5
 * test-mem-claim error checks and the OCaml test's
 * ======================================================================== */

enum target_kind {
    AT_PRIMARY,        /* the primary node */
    AT_NR_NODES,       /* the first node id past the last */
    AT_MAX_NODE_ID,    /* physinfo.max_node_id + 1 */
    AT_VALUE,          /* .value */
};

struct errno_case {
    const char *peers;        /* where the peers check it */
    uint32_t nr;              /* entries, all alike */
    uint64_t pages;
    enum target_kind kind;
    uint32_t value;
    uint32_t pad;
    bool null_set;            /* NULL instead of the entries */
    int err;
};

static const struct errno_case errno_cases[] = {
    { "v5 C-5, v7 I1-1, v4/multi1 node=nr_nodes", 1, 1, AT_NR_NODES, 0, 0,
      false, ENOENT },
    { "OCaml invalid node (max_node_id + 1)", 1, 1, AT_MAX_NODE_ID, 0, 0,
      false, ENOENT },
    { "v5 C-6, v7 I1-2, v4/multi1 (256 entries)", 256, 1, AT_PRIMARY, 0, 0,
      false, E2BIG },
    { "v5-mc2 C-6, CM006 (MAX + 1 entries)", 66, 1, AT_PRIMARY, 0, 0, false,
      E2BIG },
    /* At the limit the count is fine; the repeated node is not. */
    { "(65 entries, the limit)", 65, 1, AT_PRIMARY, 0, 0, false, EINVAL },
    { "v5 C-7, v7 I1-3, v4/multi1 node 256", 1, 1, AT_VALUE, 256, 0, false,
      ENOENT },
    { "v5 C-8, v7 I1-4, v4/multi1, OCaml (INT32_MAX + 1 pages)", 1,
      (uint64_t)INT32_MAX + 1, AT_PRIMARY, 0, 0, false, ENOMEM },
    { "v5 C-9, v7 I1-5 (pad/cmd = 1), v4/multi1", 1, 1, AT_PRIMARY, 0, 1,
      false, EINVAL },
    { "v5 C-10, v7 I1-6, v4/multi1, OCaml [||] (nr 0, NULL)", 0, 0,
      AT_PRIMARY, 0, 0, true, EINVAL },
    { "v5 C-11, v7 I1-7 (nr 1, NULL)", 1, 0, AT_PRIMARY, 0, 0, true, EFAULT },
    { "v5 C-12, v7 I1-8 (nr 0, valid pointer)", 0, 0, AT_PRIMARY, 0, 0,
      false, EINVAL },
    { "OCaml two host entries", 2, 1, AT_VALUE, HOST, 0, false, EINVAL },
    /* The v4 "no node" and multi1 "global" selector is not ours. */
    { "v4 NO_NODE, multi1 GLOBAL (0xFFFFFFFF)", 1, 1, AT_VALUE, 0xFFFFFFFFU,
      0, false, EINVAL },
};

static void test_claim_set_input_errors(void **state)
{
    static xen_memory_claim_t set[300];
    uint32_t d = new_dom();
    xen_memory_claim_t out;
    uint32_t nr;

    (void)state;
    for ( size_t i = 0; i < sizeof(errno_cases) / sizeof(errno_cases[0]);
          i++ )
    {
        const struct errno_case *c = &errno_cases[i];
        uint32_t target = c->kind == AT_PRIMARY ? shape.primary :
                          c->kind == AT_NR_NODES ? shape.nr_nodes :
                          c->kind == AT_MAX_NODE_ID ?
                          physinfo().max_node_id + 1 : c->value;

        print_message("  %s -> %s\n", c->peers, strerror(c->err));
        for ( uint32_t k = 0; k < c->nr; k++ )
            set[k] = (xen_memory_claim_t){ .pages = c->pages,
                                           .target = target, .pad = c->pad };
        nr = c->nr;
        assert_fails(xc_domain_claim_memory(xch, d, SET, &nr,
                                            c->null_set ? NULL : set),
                     c->err);
        /* Nothing was installed. */
        assert_int_equal(outstanding(), 0);
        nr = 1;
        assert_int_equal(xc_domain_claim_memory(xch, d, GET, &nr, &out), 0);
        assert_int_equal(nr, 1);
        assert_int_equal(out.pages, 0);
    }
    end_case();
}

/* v7 I1-9, v5 C-13, CM013: one page more than is unclaimed, three ways. */
static void test_claims_beyond_free_fail(void **state)
{
    unsigned int p = shape.primary;
    uint64_t unclaimed = host_free() - outstanding();
    uint64_t nfree = node_free(p);
    uint32_t d = new_dom();

    (void)state;
    assert_int_equal(unclaimed, shape.total);
    assert_fails(xc_domain_claim_pages(xch, d, unclaimed + 1), ENOMEM);
    assert_fails(set_claim(d, unclaimed + 1, HOST), ENOMEM);
    assert_fails(set_claim(d, nfree + 1, p), ENOMEM);
    assert_domain_claims(d, 0);
    /* The exact amounts fit. */
    assert_int_equal(set_claim(d, nfree, p), 0);
    assert_int_equal(set_claim(d, unclaimed, HOST), 0);
    assert_int_equal(outstanding(), unclaimed);
    end_case();
}

/* ========================================================================
 * Two domains competing: v7 I2-1..I2-3
 * ======================================================================== */

/* I2-1 (legacy) and I2-2 (host entry): with all but 200 pages claimed by
 * one domain, another cannot claim 400 anywhere, even on a node with
 * room. */
static void test_host_claim_leaves_no_room(void **state)
{
    unsigned int p = shape.primary;

    (void)state;
    for ( int legacy = 1; legacy >= 0; legacy-- )
    {
        uint64_t free = host_free();
        uint32_t d1 = new_dom(), d2 = new_dom();

        if ( legacy )
            assert_int_equal(xc_domain_claim_pages(xch, d1, free - 200), 0);
        else
            assert_int_equal(set_claim(d1, free - 200, HOST), 0);
        assert_int_equal(outstanding(), free - 200);
        assert_true(node_free(p) >= 400);
        assert_fails(xc_domain_claim_pages(xch, d2, 400), ENOMEM);
        assert_fails(set_claim(d2, 400, HOST), ENOMEM);
        assert_fails(set_claim(d2, 400, p), ENOMEM);
        assert_domain_claims(d2, 0);
        /* Exactly the 200 left are there to claim. */
        assert_int_equal(set_claim(d2, 200, p), 0);
        assert_int_equal(outstanding(), free);
        destroy_dom(d2);
        destroy_dom(d1);
    }
    end_case();
}

/* I2-3: a node claim leaving 200 pages; the node has 200 for another. */
static void test_node_claim_leaves_no_room(void **state)
{
    unsigned int p = shape.primary;
    uint64_t nfree = node_free(p);
    uint32_t d1 = new_dom(), d2 = new_dom();

    (void)state;
    assert_int_equal(set_claim(d1, nfree - 200, p), 0);
    assert_fails(set_claim(d2, 400, p), ENOMEM);
    assert_fails(set_claim(d2, 201, p), ENOMEM);
    assert_int_equal(set_claim(d2, 200, p), 0);
    assert_domain_claims(d1, nfree - 200);
    assert_domain_claims(d2, 200);
    assert_int_equal(outstanding(), nfree);
    end_case();
}

/* ========================================================================
 * The OCaml test: claims redeemed by increase_reservation without an
 * extent list (its domain_memory_increase_reservation)
 * ======================================================================== */

/* A host claim of all but 511 free pages: another domain's 2 MiB request
 * gets the 511 and fails; the claimant's succeeds. */
static void test_host_claim_and_increase_reservation(void **state)
{
    uint32_t d = new_dom(), other;
    uint64_t free = physinfo().free_pages;
    uint64_t claim = free + 1 - 512;

    (void)state;
    assert_int_equal(set_claim(d, claim, HOST), 0);
    other = new_dom();
    assert_fails(xc_domain_increase_reservation_exact(xch, other, 512, 0, 0,
                                                      NULL), ENOMEM);
    assert_int_equal(dominfo(other).nr_pages, 511);
    assert_int_equal(physinfo().free_pages, free - 511);
    assert_domain_claims(d, claim);
    destroy_dom(other);

    assert_int_equal(xc_domain_increase_reservation_exact(xch, d, 512, 0, 0,
                                                          NULL), 0);
    assert_int_equal(dominfo(d).nr_pages, 512);
    assert_domain_claims(d, claim - 512);
    assert_int_equal(outstanding(), claim - 512);
    assert_int_equal(physinfo().free_pages, free - 512);
    end_case();
}

/* A node-0 claim of 512: a 2 MiB request naming no node is placed on the
 * claimed node (spec §5) and redeems it all. */
static void test_node_claim_and_increase_reservation(void **state)
{
    uint32_t d = new_dom();

    (void)state;
    assert_int_equal(set_claim(d, 512, 0), 0);
    assert_int_equal(xc_domain_increase_reservation_exact(xch, d, 512, 0, 0,
                                                          NULL), 0);
    assert_int_equal(dominfo(d).nr_pages, 512);
    assert_domain_claims(d, 0);
    assert_int_equal(node_pages(d, 0), 512);
    assert_int_equal(node_free(0), shape.size[0] - 512);
    end_case();
}

/* ========================================================================
 * Offlining with claims: v5-mc2 C-16 (CM016), CM017, test-offline-online
 * ======================================================================== */

static void offline_page(uint32_t mfn)
{
    uint32_t st = 0;

    assert_int_equal(xc_page_offline_op(xch, sysctl_page_offline, mfn, mfn,
                                        &st), 0);
    /* A free page goes offline at once. */
    assert_int_equal(st, PG_OFFLINE_OFFLINED);
    assert_true(nr_offlined < 32);
    offlined[nr_offlined++] = mfn;
}

static void online_all(void)
{
    while ( nr_offlined )
    {
        uint32_t mfn = offlined[nr_offlined - 1], st = 0;

        assert_int_equal(xc_page_offline_op(xch, sysctl_page_online, mfn, mfn,
                                            &st), 0);
        assert_int_equal(st, PG_ONLINE_ONLINED);
        nr_offlined--;
    }
}

/*
 * Offline nr online pages at the top of RAM, found as the peers find them:
 * the machine memory map, then a query of each page, from the top down.
 */
static void offline_top_pages(unsigned int nr)
{
    struct e820entry map[E820MAX];
    int n = xc_get_machine_memory_map(xch, map, E820MAX);

    /* The shapes have no holes: one RAM range over every node. */
    assert_int_equal(n, 1);
    assert_int_equal(map[0].type, E820_RAM);
    assert_int_equal(map[0].addr, 0);
    assert_int_equal(map[0].size, shape.total << 12);
    for ( uint64_t mfn = (map[0].addr + map[0].size) >> 12;
          nr && mfn-- > map[0].addr >> 12; )
    {
        uint32_t st = 1;

        assert_int_equal(xc_page_offline_op(xch, sysctl_query_page_offline,
                                            (uint32_t)mfn, (uint32_t)mfn,
                                            &st), 0);
        if ( st )
            continue;
        offline_page((uint32_t)mfn);
        nr--;
    }
    assert_int_equal(nr, 0);
}

/* C-16 / CM016: a host claim of all but 9 pages; offlining 10 recalls it
 * to what is free (spec §7), and onlining does not give it back. */
static void test_offline_recalls_host_claim(void **state)
{
    uint64_t free = host_free();
    uint32_t d = new_dom();
    struct xen_domctl_claim_info ci;

    (void)state;
    assert_int_equal(set_claim(d, free - 9, HOST), 0);
    assert_int_equal(outstanding(), free - 9);
    offline_top_pages(10);
    assert_int_equal(physinfo().free_pages, free - 10);
    assert_int_equal(host_free(), free - 10);
    assert_int_equal(outstanding(), free - 10);
    assert_domain_claims(d, free - 10);
    assert_int_equal(xc_domain_claim_info(xch, d, &ci), 0);
    assert_int_equal(ci.recalled, 1);
    assert_int_equal(ci.host_claim, free - 10);
    /* The pages were on the last node. */
    assert_int_equal(node_free(shape.nr_nodes - 1),
                     shape.size[shape.nr_nodes - 1] - 10);

    online_all();
    assert_int_equal(physinfo().free_pages, free);
    assert_int_equal(outstanding(), free - 10);
    end_case();
}

/*
 * CM017: a node claim of all but 9 of a node's free pages; offlining 10
 * free pages of that node recalls one.  The peer finds the node's MFNs
 * through a page it maps into a PV guest's p2m (foreign mapping, which
 * numaclaim has no guest memory for); increase_reservation with a list
 * hands us that MFN directly.
 */
static void test_offline_recalls_node_claim(void **state)
{
    unsigned int p = shape.primary;
    uint32_t d = new_dom();
    xen_pfn_t anchor = 0;
    uint64_t nfree, claim, base = outstanding();
    struct xen_domctl_claim_info ci;

    (void)state;
    assert_int_equal(xc_domain_increase_reservation(xch, d, 1, 0,
                                                    XENMEMF_exact_node(p),
                                                    &anchor), 1);
    assert_true(anchor >= shape.first[p] &&
                anchor < shape.first[p] + shape.size[p]);
    nfree = node_free(p);
    assert_int_equal(nfree, shape.size[p] - 1);
    claim = nfree - 9;
    assert_int_equal(set_claim(d, claim, p), 0);
    /* Ten other pages of the node, counting down from its last. */
    for ( uint64_t mfn = shape.first[p] + shape.size[p]; nr_offlined < 10; )
        if ( --mfn != anchor )
            offline_page((uint32_t)mfn);
    assert_int_equal(node_free(p), nfree - 10);
    assert_int_equal(outstanding(), base + claim - 1);
    assert_domain_claims(d, claim - 1);
    assert_int_equal(xc_domain_claim_info(xch, d, &ci), 0);
    assert_int_equal(ci.recalled, 1);
    online_all();
    assert_int_equal(node_free(p), nfree);
    end_case();
}

/* test-offline-online: offlining and onlining free pages in a loop while
 * other domains take and free memory leaves the host whole. */
static void test_offline_online_cycles(void **state)
{
    (void)state;
    for ( int i = 0; i < 8; i++ )
    {
        uint32_t d = new_dom();
        xen_pfn_t gpfn[128];

        offline_top_pages(16);
        assert_int_equal(physinfo().free_pages, shape.total - 16);
        for ( int k = 0; k < 128; k++ )
            gpfn[k] = (xen_pfn_t)k;
        assert_int_equal(xc_domain_populate_physmap_exact(xch, d, 128, 0, 0,
                                                          gpfn), 0);
        assert_int_equal(physinfo().free_pages, shape.total - 16 - 128);
        destroy_dom(d);
        online_all();
        assert_idle_host();
    }
    end_case();
}

/* ======================================================================== */

static int open_xc(void **state)
{
    (void)state;
    if ( parse_shape() )
        return -1;
    xch = xc_interface_open(NULL, NULL, 0);
    return xch ? 0 : -1;
}

static int close_xc(void **state)
{
    (void)state;
    return xc_interface_close(xch);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_host_shape_and_node_choice),
        T(test_mainline_mem_claim),
        T(test_v4_single_claim_rounds),
        T(test_node_claim_is_outstanding),
        T(test_host_claim_replaced_after_alloc),
        T(test_node_claim_replaced_after_alloc),
        T(test_legacy_claim_of_all_free),
        T(test_legacy_claim_redeemed),
        T(test_claim_moved_between_nodes),
        T(test_legacy_zero_resets),
        T(test_zero_set_resets),
        T(test_get_counts_the_host_entry),
        T(test_claim_set_input_errors),
        T(test_claims_beyond_free_fail),
        T(test_host_claim_leaves_no_room),
        T(test_node_claim_leaves_no_room),
        T(test_host_claim_and_increase_reservation),
        T(test_node_claim_and_increase_reservation),
        T(test_offline_recalls_host_claim),
        T(test_offline_recalls_node_claim),
        T(test_offline_online_cycles),
    };

    return cmocka_run_group_tests_name("peer-claims", tests, open_xc,
                                       close_xc);
}
