/* SPDX-License-Identifier: MIT */
/*
 * The Xen ABI suite: a program built against Debian's <xenctrl.h> and
 * linked with Debian's real libxenctrl.so.4.17, run with numaclaim's
 * stand-in libxencall, libxenforeignmemory and libxendevicemodel (meson
 * sets LD_LIBRARY_PATH, and NUMACLAIM_HOST=4x64M: four nodes of 16384
 * pages).  Everything goes through xc_* calls, numaclaim's client library,
 * or raw xencall1() where a test needs a malformed hypercall.
 *
 * Every test destroys what it created, and the last checks that physinfo
 * shows every page back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>
#include <xencall.h>

#include <numaclaim/xc-claims.h>

#include "xc_common.h"

#define NODE_PAGES  16384ULL
#define HOST_PAGES  (4 * NODE_PAGES)

static xc_interface *xch;

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

static uint32_t new_domain(uint64_t max_pages, unsigned int vcpus)
{
    uint32_t domid = xc_test_domain(xch, max_pages, vcpus);

    assert_true(domid >= 1 && domid < DOMID_FIRST_RESERVED);
    return domid;
}

static xc_dominfo_t dominfo(uint32_t domid)
{
    return xc_test_dominfo(xch, domid);
}

static xc_physinfo_t physinfo(void)
{
    xc_physinfo_t pi;

    assert_int_equal(xc_physinfo(xch, &pi), 0);
    return pi;
}


static int populate(uint32_t domid, xen_pfn_t gpfn, unsigned int order,
                    unsigned int flags)
{
    return xc_domain_populate_physmap_exact(xch, domid, 1, order, flags,
                                            &gpfn);
}

/* ========================================================================
 * Host queries
 * ======================================================================== */

static void test_physinfo_describes_the_host(void **state)
{
    xc_physinfo_t pi = physinfo();

    (void)state;
    assert_int_equal(pi.nr_nodes, 4);
    assert_int_equal(pi.total_pages, HOST_PAGES);
    assert_int_equal(pi.free_pages, HOST_PAGES);
    assert_int_equal(pi.outstanding_pages, 0);
    assert_true(pi.capabilities & XEN_SYSCTL_PHYSCAP_hvm);
}

static void test_numainfo_shows_free_memory_falling_on_the_node(void **state)
{
    xc_meminfo_t mem[4];
    uint32_t dist[16];
    unsigned int n = 4;
    uint32_t d = new_domain(4096, 1);

    (void)state;
    assert_int_equal(xc_numainfo(xch, &n, mem, dist), 0);
    assert_int_equal(n, 4);
    for ( unsigned int i = 0; i < 4; i++ )
    {
        assert_int_equal(mem[i].memsize, NODE_PAGES << 12);
        assert_int_equal(mem[i].memfree, NODE_PAGES << 12);
        for ( unsigned int j = 0; j < 4; j++ )
            assert_int_equal(dist[i * 4 + j], i == j ? 10 : 21);
    }

    assert_int_equal(populate(d, 0, 9, XENMEMF_exact_node(2)), 0);
    assert_int_equal(xc_numainfo(xch, &n, mem, NULL), 0);
    assert_int_equal(mem[2].memfree, (NODE_PAGES - 512) << 12);
    assert_int_equal(mem[1].memfree, NODE_PAGES << 12);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
    assert_int_equal(xc_numainfo(xch, &n, mem, NULL), 0);
    assert_int_equal(mem[2].memfree, NODE_PAGES << 12);
}

/* ========================================================================
 * Legacy claims (spec §3)
 * ======================================================================== */

/* tools/tests/mem-claim, through libxenctrl. */
static void test_upstream_mem_claim_scenario(void **state)
{
    uint32_t d = new_domain(2048, 1);

    (void)state;
    assert_int_equal(xc_domain_claim_pages(xch, d, 1024), 0);    /* 4 MiB */
    assert_int_equal(dominfo(d).nr_outstanding_pages, 1024);
    assert_int_equal(physinfo().outstanding_pages, 1024);
    assert_int_equal(populate(d, 0, 9, 0), 0);                   /* 2 MiB */
    assert_int_equal(dominfo(d).nr_outstanding_pages, 512);
    assert_int_equal(dominfo(d).nr_pages, 512);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
    assert_int_equal(physinfo().outstanding_pages, 0);
    assert_int_equal(physinfo().free_pages, HOST_PAGES);
}

static void test_legacy_claim_errors(void **state)
{
    uint32_t d = new_domain(2048, 1);

    (void)state;
    assert_fails(xc_domain_claim_pages(xch, 0x1234, 10), EINVAL); /* unknown */
    assert_fails(xc_domain_claim_pages(xch, d, 2049), EINVAL);    /* > max */
    assert_int_equal(populate(d, 0, 9, 0), 0);
    assert_fails(xc_domain_claim_pages(xch, d, 512), EINVAL);     /* <= tot */
    assert_int_equal(xc_domain_claim_pages(xch, d, 1000), 0);
    assert_int_equal(dominfo(d).nr_outstanding_pages, 488);
    assert_fails(xc_domain_claim_pages(xch, d, 1100), EINVAL);    /* exists */
    assert_int_equal(xc_domain_claim_pages(xch, d, 0), 0);        /* reset */
    assert_int_equal(dominfo(d).nr_outstanding_pages, 0);
    assert_int_equal(xc_domain_claim_pages(xch, d, 0), 0);        /* again */
    assert_int_equal(xc_domain_destroy(xch, d), 0);

    d = new_domain(2 * HOST_PAGES, 1);
    assert_fails(xc_domain_claim_pages(xch, d, HOST_PAGES + 1), ENOMEM);
    assert_int_equal(dominfo(d).nr_outstanding_pages, 0);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

/* The reservation fields XENMEM_claim_pages requires to be unused. */
static void test_legacy_claim_reservation_fields(void **state)
{
    uint32_t d = new_domain(2048, 1);
    xen_pfn_t pfn = 0;
    struct xen_memory_reservation r = {
        .nr_extents = 100,
        .domid = (domid_t)d,
    };

    (void)state;
    r.extent_order = 1;
    assert_int_equal(xc_memory_op(xch, XENMEM_claim_pages, &r, sizeof(r)), -1);
    assert_int_equal(errno, EINVAL);
    r.extent_order = 0;
    r.mem_flags = XENMEMF_node(1);
    assert_int_equal(xc_memory_op(xch, XENMEM_claim_pages, &r, sizeof(r)), -1);
    assert_int_equal(errno, EINVAL);
    r.mem_flags = 0;
    set_xen_guest_handle_raw(r.extent_start, &pfn);
    assert_int_equal(xc_memory_op(xch, XENMEM_claim_pages, &r, sizeof(r)), -1);
    assert_int_equal(errno, EINVAL);
    set_xen_guest_handle_raw(r.extent_start, NULL);
    /* A continuation (start extent) in the command's upper bits. */
    assert_int_equal(xc_memory_op(xch, XENMEM_claim_pages | (1 << 6), &r,
                                  sizeof(r)), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(dominfo(d).nr_outstanding_pages, 0);
    assert_int_equal(xc_memory_op(xch, XENMEM_claim_pages, &r, sizeof(r)), 0);
    assert_int_equal(dominfo(d).nr_outstanding_pages, 100);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

/* ========================================================================
 * Claim sets (spec §4) through the client library
 * ======================================================================== */

static int claim_set(uint32_t d, uint32_t nr, const xen_memory_claim_t *set)
{
    xen_memory_claim_t copy[80];

    memcpy(copy, set, nr * sizeof(*set));
    return xc_domain_claim_memory(xch, d, XEN_DOMCTL_CLAIM_MEMORY_SET, &nr,
                                  copy);
}

#define HOST XEN_DOMCTL_CLAIM_MEMORY_HOST

static void test_claim_set_and_get(void **state)
{
    uint32_t d = new_domain(8192, 1);
    xen_memory_claim_t set[] = {
        { .pages = 1000, .target = 2 },
        { .pages = 300, .target = HOST },
        { .pages = 500, .target = 0 },
    };
    xen_memory_claim_t out[4];
    xen_sysctl_node_claims_t nodes[4];
    struct xc_claim_overview ov;
    struct xen_domctl_claim_info ci;
    uint32_t nr = 4, nn = 4;

    (void)state;
    assert_int_equal(claim_set(d, 3, set), 0);
    assert_int_equal(xc_domain_claim_memory(xch, d, XEN_DOMCTL_CLAIM_MEMORY_GET,
                                            &nr, out), 0);
    assert_int_equal(nr, 3);
    assert_int_equal(out[0].target, HOST);
    assert_int_equal(out[0].pages, 300);
    assert_int_equal(out[1].target, 0);
    assert_int_equal(out[1].pages, 500);
    assert_int_equal(out[2].target, 2);
    assert_int_equal(out[2].pages, 1000);
    assert_int_equal(dominfo(d).nr_outstanding_pages, 1800);

    assert_int_equal(xc_claim_overview(xch, &ov, &nn, nodes), 0);
    assert_int_equal(nn, 4);
    assert_int_equal(ov.total_pages, HOST_PAGES);
    assert_int_equal(ov.free_pages, HOST_PAGES);
    assert_int_equal(ov.outstanding_pages, 1800);
    assert_int_equal(nodes[0].claimed, 500);
    assert_int_equal(nodes[1].claimed, 0);
    assert_int_equal(nodes[2].claimed, 1000);
    assert_int_equal(nodes[2].size, NODE_PAGES);
    assert_int_equal(nodes[2].free, NODE_PAGES);

    /* Capacity 1: the host entry fits, the rest is counted. */
    nr = 1;
    memset(out, 0, sizeof(out));
    assert_fails(xc_domain_claim_memory(xch, d, XEN_DOMCTL_CLAIM_MEMORY_GET,
                                        &nr, out), ERANGE);
    assert_int_equal(nr, 3);
    assert_int_equal(out[0].pages, 300);
    assert_int_equal(out[1].pages, 0);

    /* Redemption shows in the counters. */
    assert_int_equal(populate(d, 0, 9, XENMEMF_exact_node(2)), 0);
    nn = 4;
    assert_int_equal(xc_claim_overview(xch, &ov, &nn, nodes), 0);
    assert_int_equal(nodes[2].claimed, 488);
    assert_int_equal(nodes[2].free, NODE_PAGES - 512);
    assert_int_equal(xc_domain_claim_info(xch, d, &ci), 0);
    assert_int_equal(ci.outstanding, 1288);
    assert_int_equal(ci.host_claim, 300);
    assert_int_equal(ci.recalled, 0);

    assert_int_equal(xc_domain_destroy(xch, d), 0);
    assert_int_equal(physinfo().outstanding_pages, 0);
}

/* Claim sets the domctl refuses, on a domain of max_pages 8192 holding
 * the set { node 1: 10 }: one row per argument check. */
struct claim_set_row {
    const char *why;
    uint32_t nr;
    xen_memory_claim_t set[2];          /* { pages, target, pad } */
    int err;
};

static const struct claim_set_row claim_set_rows[] = {
    { "non-zero pad", 1, { { 1, 1, 1 } }, EINVAL },
    { "a reserved selector bit", 1, { { 1, 0x40000000, 0 } }, EINVAL },
    { "the host flag with a node", 1, { { 1, 0x80000001, 0 } }, EINVAL },
    { "a node the host lacks", 1, { { 1, 4, 0 } }, ENOENT },
    { "a node twice", 2, { { 1, 1, 0 }, { 1, 1, 0 } }, EINVAL },
    { "the host twice", 2, { { 1, HOST, 0 }, { 1, HOST, 0 } }, EINVAL },
    { "over max_pages", 1, { { 8193, HOST, 0 } }, EINVAL },
    { "more than the node has", 1, { { NODE_PAGES + 1, 0, 0 } }, ENOMEM },
};

static void test_claim_set_errnos(void **state)
{
    uint32_t d = new_domain(8192, 1);
    xen_memory_claim_t ok = { .pages = 10, .target = 1 };
    xen_memory_claim_t big[66];
    uint32_t nr;

    (void)state;
    assert_int_equal(claim_set(d, 1, &ok), 0);

    nr = 0;
    assert_fails(xc_domain_claim_memory(xch, d, XEN_DOMCTL_CLAIM_MEMORY_SET,
                                        &nr, big), EINVAL);
    memset(big, 0, sizeof(big));
    for ( unsigned int i = 0; i < 66; i++ )
        big[i].target = i < 4 ? i : HOST;
    assert_fails(claim_set(d, 66, big), E2BIG);
    for ( size_t i = 0; i < ARRAY_SIZE(claim_set_rows); i++ )
    {
        const struct claim_set_row *r = &claim_set_rows[i];
        int rc;

        errno = 0;
        rc = claim_set(d, r->nr, r->set);
        if ( rc != -1 || errno != r->err )
            fail_msg("claim set, %s: %d, errno %d; expected -1, errno %d",
                     r->why, rc, errno, r->err);
        /* Each failure left the previous set in place. */
        nr = 2;
        assert_int_equal(xc_domain_claim_memory(xch, d,
                                                XEN_DOMCTL_CLAIM_MEMORY_GET,
                                                &nr, big), 0);
        assert_int_equal(nr, 2);
        assert_int_equal(big[1].target, 1);
        assert_int_equal(big[1].pages, 10);
    }

    nr = 1;
    assert_fails(xc_domain_claim_memory(xch, d, 7, &nr, big), EOPNOTSUPP);
    assert_fails(xc_domain_claim_memory(xch, 0x1234, XEN_DOMCTL_CLAIM_MEMORY_GET,
                                        &nr, big), ESRCH);
    assert_int_equal(xc_domain_destroy(xch, d), 0);

    /* Host-wide shortfall. */
    d = new_domain(2 * HOST_PAGES, 1);
    assert_fails(claim_set(d, 1, &(xen_memory_claim_t){ HOST_PAGES + 1, HOST,
                                                         0 }), ENOMEM);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

/* ========================================================================
 * Populate and vNUMA (spec §5, §6)
 * ======================================================================== */

static void test_populate_exact_node(void **state)
{
    uint32_t d = new_domain(4096, 1);
    xc_meminfo_t mem[4];
    unsigned int n = 4;

    (void)state;
    assert_int_equal(populate(d, 0, 9, XENMEMF_exact_node(3)), 0);
    assert_int_equal(populate(d, 512, 0, XENMEMF_exact_node(3)), 0);
    assert_int_equal(xc_numainfo(xch, &n, mem, NULL), 0);
    assert_int_equal(mem[3].memfree, (NODE_PAGES - 513) << 12);
    assert_int_equal(dominfo(d).nr_pages, 513);
    /* A node that does not exist: exact fails. */
    assert_fails(populate(d, 1024, 0, XENMEMF_exact_node(9)), EBUSY);
    /* Over max_pages: a short count, reported as EBUSY by libxenctrl. */
    assert_fails(populate(d, 4096, 12, 0), EBUSY);
    assert_int_equal(dominfo(d).nr_pages, 513);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

static void vnuma_topology(uint32_t d)
{
    xen_vmemrange_t r[2] = {
        { .start = 0, .end = 8ULL << 20, .nid = 0 },
        { .start = 8ULL << 20, .end = 16ULL << 20, .nid = 1 },
    };
    unsigned int dist[4] = { 10, 21, 21, 10 };
    unsigned int v2v[2] = { 0, 1 };
    unsigned int v2p[2] = { 3, 1 };

    assert_int_equal(xc_domain_setvnuma(xch, d, 2, 2, 2, r, dist, v2v, v2p),
                     0);
}

static void test_vnuma_round_trip_and_vnode_populate(void **state)
{
    uint32_t d = new_domain(4096, 2);
    xen_vmemrange_t r[4];
    unsigned int dist[16], v2v[4];
    uint32_t nv = 4, nr = 4, nc = 4;
    xc_meminfo_t mem[4];
    unsigned int n = 4;

    (void)state;
    vnuma_topology(d);
    assert_int_equal(xc_domain_getvnuma(xch, d, &nv, &nr, &nc, r, dist, v2v),
                     0);
    assert_int_equal(nv, 2);
    assert_int_equal(nr, 2);
    assert_int_equal(nc, 2);
    assert_int_equal(r[1].start, 8ULL << 20);
    assert_int_equal(r[1].nid, 1);
    assert_int_equal(dist[1], 21);
    assert_int_equal(v2v[1], 1);

    /* XENMEMF_vnode: vnode 0 is pnode 3. */
    assert_int_equal(populate(d, 0, 0, XENMEMF_vnode | XENMEMF_exact_node(0)),
                     0);
    /* The implicit hint: gpfn 0x800 is in vnode 1's range (pnode 1). */
    assert_int_equal(populate(d, 0x800, 0, 0), 0);
    assert_int_equal(xc_numainfo(xch, &n, mem, NULL), 0);
    assert_int_equal(mem[3].memfree, (NODE_PAGES - 1) << 12);
    assert_int_equal(mem[1].memfree, (NODE_PAGES - 1) << 12);
    /* vnode 2 does not exist. */
    assert_fails(populate(d, 1, 0, XENMEMF_vnode | XENMEMF_node(2)), EBUSY);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

/* vNUMA layouts setvnumainfo refuses, for 2 vnodes on a 2-vCPU domain
 * of the 4-node host: one row per argument check, each changing one
 * thing of a layout that is accepted. */
struct vnuma_row {
    const char *why;
    unsigned int nr_vcpus;
    uint64_t start1;                    /* the second range's start */
    uint32_t flags0;                    /* the first range's flags */
    unsigned int v2v[3], v2p[2];
    int err;
};

#define MB8 (8ULL << 20)

static const struct vnuma_row vnuma_rows[] = {
    /* why                       vcpus start1     flags v2v        v2p */
    { "overlapping ranges",          2, MB8 / 2, 0, { 0, 1 },    { 0, 1 },
      EINVAL },
    { "3 vCPUs of 2",                3, MB8,     0, { 0, 1, 1 }, { 0, 1 },
      EINVAL },
    { "a vCPU on vnode 2",           2, MB8,     0, { 0, 2 },    { 0, 1 },
      E2BIG },
    { "pnode 64",                    2, MB8,     0, { 0, 1 },    { 0, 64 },
      E2BIG },
    { "pnode 7, which is not there", 2, MB8,     0, { 0, 1 },    { 0, 7 },
      EINVAL },
    { "range flags",                 2, MB8,     1, { 0, 1 },    { 0, 1 },
      EINVAL },
};

static void test_vnuma_validation(void **state)
{
    uint32_t d = new_domain(4096, 2);
    xen_vmemrange_t r[2] = {
        { .start = 0, .end = 8ULL << 20, .nid = 0 },
        { .start = 8ULL << 20, .end = 16ULL << 20, .nid = 1 },
    };
    unsigned int dist[4] = { 10, 21, 21, 10 }, v2v[2] = { 0, 1 };
    unsigned int v2p[2] = { 0, 1 };
    /* GET writes its buffers back even on failure: keep them apart. */
    xen_vmemrange_t gr[1];
    unsigned int gdist[1], gv2v[1];
    uint32_t nv = 1, nr = 1, nc = 1;

    (void)state;
    for ( size_t i = 0; i < ARRAY_SIZE(vnuma_rows); i++ )
    {
        const struct vnuma_row *row = &vnuma_rows[i];
        xen_vmemrange_t rr[2] = { r[0], r[1] };
        unsigned int rv2v[3], rv2p[2];
        int rc;

        memcpy(rv2v, row->v2v, sizeof(rv2v));
        memcpy(rv2p, row->v2p, sizeof(rv2p));
        rr[0].flags = row->flags0;
        rr[1].start = row->start1;
        errno = 0;
        rc = xc_domain_setvnuma(xch, d, 2, 2, row->nr_vcpus, rr, dist, rv2v,
                                rv2p);
        if ( rc != -1 || errno != row->err )
            fail_msg("setvnuma, %s: %d, errno %d; expected -1, errno %d",
                     row->why, rc, errno, row->err);
        /* Nothing was set. */
        assert_fails(xc_domain_getvnuma(xch, d, &nv, &nr, &nc, gr, gdist,
                                        gv2v), EOPNOTSUPP);
    }
    assert_int_equal(xc_domain_setvnuma(xch, d, 2, 2, 2, r, dist, v2v, v2p),
                     0);
    assert_fails(xc_domain_getvnuma(xch, d, &nv, &nr, &nc, gr, gdist, gv2v),
                 ENOBUFS);
    assert_int_equal(nv, 2);
    assert_int_equal(nr, 2);
    assert_int_equal(nc, 2);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

static void test_node_affinity_steers_populate(void **state)
{
    uint32_t d = new_domain(4096, 1);
    xc_nodemap_t map = xc_nodemap_alloc(xch);
    uint64_t pages[4] = { 0 };
    uint32_t nr = 4;

    (void)state;
    assert_non_null(map);
    map[0] = 1u << 2;                                   /* node 2 only */
    assert_int_equal(xc_domain_node_setaffinity(xch, d, map), 0);
    for ( xen_pfn_t g = 0; g < 4; g++ )
        assert_int_equal(populate(d, g * 512, 9, 0), 0);
    assert_int_equal(xc_domain_node_pages(xch, d, &nr, pages), 0);
    assert_int_equal(nr, 4);
    assert_int_equal(pages[2], 2048);
    assert_int_equal(pages[0] + pages[1] + pages[3], 0);
    map[0] = 0x80;                                      /* no such node */
    assert_fails(xc_domain_node_setaffinity(xch, d, map), EINVAL);
    free(map);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

static void test_page_offline_op_and_recall(void **state)
{
    uint32_t d = new_domain(NODE_PAGES, 1);
    xen_memory_claim_t all = { .pages = NODE_PAGES, .target = 3 };
    struct xen_domctl_claim_info ci;
    uint32_t status[2];
    uint32_t mfn = 3 * NODE_PAGES + 5;                  /* on node 3 */

    (void)state;
    assert_int_equal(claim_set(d, 1, &all), 0);
    assert_int_equal(xc_page_offline_op(xch, sysctl_page_offline, mfn, mfn + 1,
                                        status), 0);
    assert_int_equal(status[0], PG_OFFLINE_OFFLINED);
    assert_int_equal(status[1], PG_OFFLINE_OFFLINED);
    /* Node 3's claim no longer fitted its free memory: 2 pages recalled. */
    assert_int_equal(xc_domain_claim_info(xch, d, &ci), 0);
    assert_int_equal(ci.recalled, 2);
    assert_int_equal(ci.outstanding, NODE_PAGES - 2);
    assert_int_equal(xc_page_offline_op(xch, sysctl_query_page_offline, mfn,
                                        mfn, status), 0);
    assert_int_equal(status[0], PG_OFFLINE_STATUS_OFFLINED);
    assert_int_equal(xc_page_offline_op(xch, sysctl_page_online, mfn, mfn + 1,
                                        status), 0);
    assert_int_equal(status[0], PG_ONLINE_ONLINED);
    assert_fails(xc_page_offline_op(xch, sysctl_page_offline,
                                    (uint32_t)HOST_PAGES, (uint32_t)HOST_PAGES,
                                    status), EINVAL);     /* not RAM */
    assert_fails(xc_page_offline_op(xch, 9, mfn, mfn, status), EINVAL);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
    assert_int_equal(physinfo().free_pages, HOST_PAGES);
}

/* ========================================================================
 * Xen's semantics where clients notice them
 * ======================================================================== */

/* xc_availheap: free bytes per node and address width.  On 4x64M, node 0
 * is MFNs [0, 16384) (zones 1..14), node 1 zone 15, nodes 2 and 3 zone 16. */
static void test_availheap_by_node_and_width(void **state)
{
    uint32_t d = new_domain(NODE_PAGES, 1);
    xen_memory_claim_t c = { .pages = 1024, .target = 3 };
    uint64_t bytes = 0;

    (void)state;
    assert_int_equal(xc_availheap(xch, 0, 0, -1, &bytes), 0);
    assert_int_equal(bytes, HOST_PAGES * 4096);
    assert_int_equal(xc_availheap(xch, 0, 0, 2, &bytes), 0);
    assert_int_equal(bytes, NODE_PAGES * 4096);
    assert_int_equal(xc_availheap(xch, 0, 12 + 14, -1, &bytes), 0);
    assert_int_equal(bytes, NODE_PAGES * 4096);
    assert_int_equal(xc_availheap(xch, 12 + 16, 0, -1, &bytes), 0);
    assert_int_equal(bytes, 2 * NODE_PAGES * 4096);
    assert_int_equal(xc_availheap(xch, 12 + 15, 12 + 15, -1, &bytes), 0);
    assert_int_equal(bytes, NODE_PAGES * 4096);
    assert_int_equal(xc_availheap(xch, 0, 0, 9, &bytes), 0);
    assert_int_equal(bytes, 0);                 /* no such node */

    /* Claims leave the heap as it is; populating takes from it. */
    assert_int_equal(claim_set(d, 1, &c), 0);
    assert_int_equal(xc_availheap(xch, 0, 0, 3, &bytes), 0);
    assert_int_equal(bytes, NODE_PAGES * 4096);
    assert_int_equal(populate(d, 0, 9, XENMEMF_exact_node(3)), 0);
    assert_int_equal(xc_availheap(xch, 0, 0, 3, &bytes), 0);
    assert_int_equal(bytes, (NODE_PAGES - 512) * 4096);
    assert_int_equal(xc_availheap(xch, 0, 0, -1, &bytes), 0);
    assert_int_equal(bytes, (HOST_PAGES - 512) * 4096);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

/* Pause counts as Xen keeps them: 1 at creation, bounded at 255. */
static void test_pause_and_unpause(void **state)
{
    uint32_t d = new_domain(1024, 2);
    xc_dominfo_t i;

    (void)state;
    i = dominfo(d);
    assert_int_equal(i.paused, 1);
    assert_int_equal(i.blocked, 0);
    assert_int_equal(xc_domain_unpause(xch, d), 0);
    i = dominfo(d);
    assert_int_equal(i.paused, 0);
    assert_int_equal(i.blocked, 1);
    assert_fails(xc_domain_unpause(xch, d), EINVAL);
    for ( int n = 0; n < 255; n++ )
        assert_int_equal(xc_domain_pause(xch, d), 0);
    assert_fails(xc_domain_pause(xch, d), EOVERFLOW);
    assert_int_equal(dominfo(d).paused, 1);
    for ( int n = 0; n < 254; n++ )
        assert_int_equal(xc_domain_unpause(xch, d), 0);
    assert_int_equal(dominfo(d).paused, 1);
    assert_int_equal(xc_domain_unpause(xch, d), 0);
    assert_int_equal(dominfo(d).paused, 0);

    assert_fails(xc_domain_pause(xch, 0), EINVAL);     /* itself */
    assert_fails(xc_domain_unpause(xch, 0), EINVAL);
    assert_fails(xc_domain_pause(xch, 0x7000), ESRCH);
    assert_fails(xc_domain_unpause(xch, 0x7000), ESRCH);
    /* Claims and populate do not care whether a domain runs. */
    assert_int_equal(populate(d, 0, 0, 0), 0);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

/* populate_physmap over a mapped gpfn replaces the mapping: the new
 * extent redeems the claim, the old pages go back to their node. */
static void test_populate_replaces_with_claims_held(void **state)
{
    uint32_t d = new_domain(2048, 1);
    xen_memory_claim_t c = { .pages = 512, .target = 1 };
    uint64_t pages[4];
    uint32_t nr = 4;
    xc_dominfo_t i;

    (void)state;
    assert_int_equal(populate(d, 0, 9, XENMEMF_exact_node(0)), 0);
    assert_int_equal(claim_set(d, 1, &c), 0);
    assert_int_equal(populate(d, 0, 9, XENMEMF_exact_node(1)), 0);
    i = dominfo(d);
    assert_int_equal(i.nr_pages, 512);
    assert_int_equal(i.nr_outstanding_pages, 0);
    assert_int_equal(xc_domain_node_pages(xch, d, &nr, pages), 0);
    assert_int_equal(pages[0], 0);
    assert_int_equal(pages[1], 512);
    assert_int_equal(physinfo().free_pages, HOST_PAGES - 512);
    /* Part of the extent again, from node 2: 8 pages moved. */
    assert_int_equal(populate(d, 8, 3, XENMEMF_exact_node(2)), 0);
    assert_int_equal(xc_domain_node_pages(xch, d, &nr, pages), 0);
    assert_int_equal(pages[1], 504);
    assert_int_equal(pages[2], 8);
    assert_int_equal(dominfo(d).nr_pages, 512);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
    assert_int_equal(physinfo().free_pages, HOST_PAGES);
}

/* increase_reservation: owned pages no gpfn maps; a list receives MFNs,
 * which decrease_reservation takes back; destroy frees the rest. */
static void test_increase_reservation_unmapped(void **state)
{
    uint32_t d = new_domain(4096, 1);
    xen_memory_claim_t c = { .pages = 1024, .target = XEN_DOMCTL_CLAIM_MEMORY_HOST };
    xen_pfn_t mfn[4] = { 0 };
    uint64_t pages[4];
    uint32_t nr = 4;
    xc_dominfo_t i;

    (void)state;
    assert_int_equal(claim_set(d, 1, &c), 0);
    assert_int_equal(xc_domain_increase_reservation(xch, d, 2, 9,
                                                    XENMEMF_exact_node(0),
                                                    NULL), 2);
    i = dominfo(d);
    assert_int_equal(i.nr_pages, 1024);
    assert_int_equal(i.nr_outstanding_pages, 0);
    assert_int_equal(xc_domain_increase_reservation(xch, d, 4, 0,
                                                    XENMEMF_exact_node(2),
                                                    mfn), 4);
    for ( int k = 0; k < 4; k++ )
        assert_true(mfn[k] >= 2 * NODE_PAGES && mfn[k] < 3 * NODE_PAGES);
    assert_int_equal(xc_domain_node_pages(xch, d, &nr, pages), 0);
    assert_int_equal(pages[0], 1024);
    assert_int_equal(pages[2], 4);
    assert_int_equal(dominfo(d).nr_pages, 1028);
    /* Over max_pages: a short count. */
    assert_int_equal(xc_domain_increase_reservation(xch, d, 8, 9, 0, NULL), 5);
    assert_int_equal(dominfo(d).nr_pages, 1028 + 5 * 512);
    /* Give the four back by MFN; a second time there is nothing. */
    assert_int_equal(xc_domain_decrease_reservation(xch, d, 4, 0, mfn), 4);
    assert_int_equal(dominfo(d).nr_pages, 1024 + 5 * 512);
    assert_int_equal(xc_domain_decrease_reservation(xch, d, 1, 0, mfn), 0);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
    assert_int_equal(physinfo().free_pages, HOST_PAGES);
}

/* Xen reads the extent list entry by entry: the extents before the first
 * unreadable one are done and counted. */
static void test_extent_list_fault_counts_the_readable_head(void **state)
{
    xencall_handle *xc = xc_interface_xcall_handle(xch);
    uint32_t d = new_domain(4096, 1);
    struct xen_memory_reservation *r = xencall_alloc_buffer(xc, sizeof(*r));
    char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    xen_pfn_t *list;

    (void)state;
    assert_true(two != MAP_FAILED);
    assert_int_equal(munmap(two + 4096, 4096), 0);
    /* Three readable entries, then the unmapped page. */
    list = (xen_pfn_t *)(two + 4096) - 3;
    list[0] = 0;
    list[1] = 1;
    list[2] = 2;
    memset(r, 0, sizeof(*r));
    r->nr_extents = 600;
    r->extent_order = 0;
    r->domid = (domid_t)d;
    set_xen_guest_handle_raw(r->extent_start, list);
    assert_int_equal(xencall2(xc, __HYPERVISOR_memory_op,
                              XENMEM_populate_physmap,
                              (uint64_t)(uintptr_t)r), 3);
    assert_int_equal(dominfo(d).nr_pages, 3);
    assert_int_equal(xencall2(xc, __HYPERVISOR_memory_op,
                              XENMEM_decrease_reservation,
                              (uint64_t)(uintptr_t)r), 3);
    assert_int_equal(dominfo(d).nr_pages, 0);
    /* increase_reservation writes MFNs: a fault there stops the count
     * (as in Xen, the extent whose MFN could not be written stays). */
    r->nr_extents = 5;
    assert_int_equal(xencall2(xc, __HYPERVISOR_memory_op,
                              XENMEM_increase_reservation,
                              (uint64_t)(uintptr_t)r), 3);
    assert_int_equal(dominfo(d).nr_pages, 4);
    assert_int_equal(munmap(two, 4096), 0);
    xencall_free_buffer(xc, r);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

/* setmaxmem(-1), as the peers' tests and xl do for "no limit": Xen keeps
 * max_pages in an unsigned int, so the value clamps. */
static void test_max_mem_clamps_to_unsigned_int(void **state)
{
    uint32_t d = new_domain(16, 1);

    (void)state;
    assert_int_equal(xc_domain_setmaxmem(xch, d, -1), 0);
    assert_int_equal(dominfo(d).max_memkb, (unsigned long)UINT32_MAX * 4);
    assert_int_equal(xc_domain_setmaxmem(xch, d, 1024), 0);
    assert_int_equal(dominfo(d).max_memkb, 1024);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

/* The machine's RAM as xen-hptool and the peers' offline tests read it. */
static void test_machine_memory_map_and_max_ram_page(void **state)
{
    struct e820entry map[4];
    unsigned long max_mfn = 0;

    (void)state;
    assert_int_equal(xc_maximum_ram_page(xch, &max_mfn), 0);
    assert_int_equal(max_mfn, HOST_PAGES);
    assert_int_equal(xc_get_machine_memory_map(xch, map, 4), 1);
    assert_int_equal(map[0].addr, 0);
    assert_int_equal(map[0].size, HOST_PAGES * 4096);
    assert_int_equal(map[0].type, 1);                   /* E820_RAM */
    /* The map plus one entry must fit, as in Xen. */
    assert_int_equal(xc_get_machine_memory_map(xch, map, 2), 1);
}

/* xen-hptool mem-query: an online page is status 0, as in Xen. */
static void test_page_query_of_online_page_is_zero(void **state)
{
    uint32_t status[3] = { 7, 7, 7 };

    (void)state;
    assert_int_equal(xc_page_offline_op(xch, sysctl_query_page_offline, 100,
                                        102, status), 0);
    assert_int_equal(status[0], 0);
    assert_int_equal(status[1], 0);
    assert_int_equal(status[2], 0);
}

/* ========================================================================
 * Raw hypercalls: bad pointers, versions, unknown operations
 * ======================================================================== */

static long raw_domctl(struct xen_domctl *op)
{
    xencall_handle *xc = xc_interface_xcall_handle(xch);
    struct xen_domctl *buf = xencall_alloc_buffer(xc, sizeof(*buf));
    long rc;

    memcpy(buf, op, sizeof(*op));
    rc = xencall1(xc, __HYPERVISOR_domctl, (uint64_t)(uintptr_t)buf);
    memcpy(op, buf, sizeof(*op));
    xencall_free_buffer(xc, buf);
    return rc;
}

static const struct {
    const char *why;
    uint32_t mode;
    bool unmapped;                      /* else NULL */
} bad_claim_handles[] = {
    { "SET from an unmapped page", XEN_DOMCTL_CLAIM_MEMORY_SET, true },
    { "SET from NULL", XEN_DOMCTL_CLAIM_MEMORY_SET, false },
    { "GET into NULL", XEN_DOMCTL_CLAIM_MEMORY_GET, false },
};

static void test_bad_pointers_give_efault(void **state)
{
    xencall_handle *xc = xc_interface_xcall_handle(xch);
    uint32_t d = new_domain(4096, 1);
    struct xen_domctl op = {
        .cmd = XEN_DOMCTL_claim_memory,
        .interface_version = XEN_DOMCTL_INTERFACE_VERSION,
        .domain = (domid_t)d,
    };
    struct xen_domctl_claim_memory *c = (void *)&op.u;
    void *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    (void)state;
    assert_true(gone != MAP_FAILED);
    assert_int_equal(munmap(gone, 4096), 0);

    errno = 0;
    assert_int_equal(xencall1(xc, __HYPERVISOR_domctl, 0), -1);
    assert_int_equal(errno, EFAULT);
    assert_int_equal(xencall1(xc, __HYPERVISOR_sysctl,
                              (uint64_t)(uintptr_t)gone), -1);
    assert_int_equal(errno, EFAULT);

    /* A claim set through a handle to an unmapped page or NULL. */
    for ( size_t i = 0; i < ARRAY_SIZE(bad_claim_handles); i++ )
    {
        c->mode = bad_claim_handles[i].mode;
        c->nr_entries = 1;
        set_xen_guest_handle_raw(c->claim_set,
                                 bad_claim_handles[i].unmapped
                                 ? (xen_memory_claim_t *)gone : NULL);
        errno = 0;
        if ( raw_domctl(&op) != -1 )
            fail_msg("claim_memory, %s: succeeded", bad_claim_handles[i].why);
        if ( errno != EFAULT )
            fail_msg("claim_memory, %s: errno %d, expected EFAULT",
                     bad_claim_handles[i].why, errno);
        assert_int_equal(dominfo(d).nr_outstanding_pages, 0);
    }

    /* A status array that is not there. */
    assert_fails(xc_page_offline_op(xch, sysctl_query_page_offline, 5, 5,
                                    NULL), EFAULT);

    /* A multicall list that is not there. */
    assert_int_equal(xencall2(xc, __HYPERVISOR_multicall,
                              (uint64_t)(uintptr_t)gone, 1), -1);
    assert_int_equal(errno, EFAULT);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

/*
 * numainfo writes node i's meminfo and then its distance row, node by
 * node, in one gathered copy: a meminfo array whose third entry is on a
 * page that is not there stops the copy exactly where copying the pieces
 * one by one would, after two meminfo entries and two rows.
 */
static void test_numainfo_fault_stops_where_copies_one_by_one_would(void **state)
{
    xencall_handle *xc = xc_interface_xcall_handle(xch);
    struct xen_sysctl *op = xencall_alloc_buffer(xc, sizeof(*op));
    char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    xen_sysctl_meminfo_t *mem;
    uint32_t dist[4 * 4];

    (void)state;
    assert_non_null(op);
    assert_true(two != MAP_FAILED);
    assert_int_equal(munmap(two + 4096, 4096), 0);
    mem = (xen_sysctl_meminfo_t *)(two + 4096) - 2;
    memset(mem, 0xAA, 2 * sizeof(*mem));
    memset(dist, 0xFF, sizeof(dist));
    memset(op, 0, sizeof(*op));
    op->cmd = XEN_SYSCTL_numainfo;
    op->interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    op->u.numainfo.num_nodes = 4;
    set_xen_guest_handle_raw(op->u.numainfo.meminfo, mem);
    set_xen_guest_handle_raw(op->u.numainfo.distance, dist);
    errno = 0;
    assert_int_equal(xencall1(xc, __HYPERVISOR_sysctl,
                              (uint64_t)(uintptr_t)op), -1);
    assert_int_equal(errno, EFAULT);
    assert_int_equal(mem[0].memsize, 64ULL << 20);
    assert_int_equal(mem[1].memsize, 64ULL << 20);
    assert_int_equal(dist[0], 10);
    assert_int_equal(dist[1 * 4 + 1], 10);
    assert_int_equal(dist[2 * 4 + 2], 0xFFFFFFFFu);
    assert_int_equal(dist[3 * 4 + 3], 0xFFFFFFFFu);
    munmap(two, 4096);
    xencall_free_buffer(xc, op);
}

static void test_interface_version_and_unknown_ops(void **state)
{
    struct xen_domctl op = {
        .cmd = XEN_DOMCTL_getdomaininfo,
        .interface_version = XEN_DOMCTL_INTERFACE_VERSION - 1,
    };
    xencall_handle *xc = xc_interface_xcall_handle(xch);

    (void)state;
    assert_int_equal(raw_domctl(&op), -1);
    assert_int_equal(errno, EACCES);
    op.interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    op.cmd = XEN_DOMCTL_shadow_op;
    assert_int_equal(raw_domctl(&op), -1);
    assert_int_equal(errno, ENOSYS);
    assert_int_equal(xencall0(xc, __HYPERVISOR_sched_op), -1);
    assert_int_equal(errno, ENOSYS);

    /* A multicall entry naming itself, or an op beyond 32 bits: ENOSYS in
     * the entry, no recursion. */
    {
        multicall_entry_t *e = xencall_alloc_buffer(xc, sizeof(*e));

        static const uint64_t ops[] = {
            __HYPERVISOR_multicall,
            (1ULL << 32) | __HYPERVISOR_multicall,
            (1ULL << 32) | __HYPERVISOR_memory_op,
        };

        for ( size_t i = 0; i < ARRAY_SIZE(ops); i++ )
        {
            e->op = ops[i];
            e->args[0] = (uint64_t)(uintptr_t)e;
            e->args[1] = 1;
            e->result = 0;
            assert_int_equal(xencall2(xc, __HYPERVISOR_multicall,
                                      (uint64_t)(uintptr_t)e, 1), 0);
            assert_int_equal((long)e->result, -ENOSYS);
        }
        xencall_free_buffer(xc, e);
    }
}

static void test_getinfo_iterates_and_destroy_gives_everything_back(void **state)
{
    uint32_t a = new_domain(1024, 1), b = new_domain(1024, 1);
    xc_dominfo_t info[4];
    xc_domaininfo_t list[4];

    (void)state;
    assert_int_equal(xc_domain_claim_pages(xch, b, 100), 0);
    /* getdomaininfo returns the first domain at or after the one asked. */
    assert_int_equal(xc_domain_getinfo(xch, 1, 4, info), 2);
    assert_int_equal(info[0].domid, a);
    assert_int_equal(info[1].domid, b);
    assert_int_equal(info[1].nr_outstanding_pages, 100);
    assert_int_equal(xc_domain_getinfolist(xch, 0, 4, list), 3);
    assert_int_equal(list[0].domain, 0);
    assert_int_equal(list[2].outstanding_pages, 100);
    assert_int_equal(xc_domain_destroy(xch, a), 0);
    assert_int_equal(xc_domain_destroy(xch, b), 0);
    assert_fails(xc_domain_destroy(xch, b), ESRCH);

    xc_physinfo_t pi = physinfo();
    assert_int_equal(pi.free_pages, HOST_PAGES);
    assert_int_equal(pi.outstanding_pages, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_physinfo_describes_the_host),
        cmocka_unit_test(test_numainfo_shows_free_memory_falling_on_the_node),
        cmocka_unit_test(test_numainfo_fault_stops_where_copies_one_by_one_would),
        cmocka_unit_test(test_upstream_mem_claim_scenario),
        cmocka_unit_test(test_legacy_claim_errors),
        cmocka_unit_test(test_legacy_claim_reservation_fields),
        cmocka_unit_test(test_claim_set_and_get),
        cmocka_unit_test(test_claim_set_errnos),
        cmocka_unit_test(test_populate_exact_node),
        cmocka_unit_test(test_vnuma_round_trip_and_vnode_populate),
        cmocka_unit_test(test_vnuma_validation),
        cmocka_unit_test(test_node_affinity_steers_populate),
        cmocka_unit_test(test_page_offline_op_and_recall),
        cmocka_unit_test(test_availheap_by_node_and_width),
        cmocka_unit_test(test_pause_and_unpause),
        cmocka_unit_test(test_populate_replaces_with_claims_held),
        cmocka_unit_test(test_increase_reservation_unmapped),
        cmocka_unit_test(test_extent_list_fault_counts_the_readable_head),
        cmocka_unit_test(test_max_mem_clamps_to_unsigned_int),
        cmocka_unit_test(test_machine_memory_map_and_max_ram_page),
        cmocka_unit_test(test_page_query_of_online_page_is_zero),
        cmocka_unit_test(test_bad_pointers_give_efault),
        cmocka_unit_test(test_interface_version_and_unknown_ops),
        cmocka_unit_test(test_getinfo_iterates_and_destroy_gives_everything_back),
    };

    return cmocka_run_group_tests_name("xen-abi", tests, open_xc, close_xc);
}
