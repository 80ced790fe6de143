/* SPDX-License-Identifier: MIT */
/*
 * The offlining suite (spec §7): XEN_SYSCTL_page_offline_op as
 * nc_page_offline, nc_page_online and nc_page_query.
 *
 * It covers the life of a frame taken off the heap: a free frame is offlined
 * at once, a frame owned by a domain or by the hypervisor is marked pending
 * and offlined when it is freed (never returning to the free pool), a broken
 * frame never comes back, and onlining returns a frame to the heap (where it
 * coalesces again) or cancels a pending offline.  It checks the exact status
 * words, the host and node counters and the errors (EPERM for a caller that
 * is not the control domain, EINVAL for an MFN that is not RAM of an online
 * node).  Then recall: offlining that would leave node_claimed above
 * node_avail (I5) recalls exactly the excess from node claims on that node,
 * and offlining that would leave outstanding_claims above total_avail (I4)
 * recalls host-wide claims, domains in ascending domid, with each domain's
 * recalled counter, its GET result and everybody else's claims checked.
 *
 * Most tests run on "2x4M": node 0 holds MFNs 0..1023, node 1 MFNs
 * 1024..2047.
 */
#include "common.h"

#define NODE_PAGES  1024ULL
#define HOST_PAGES  (2 * NODE_PAGES)
#define NODE1_MFN   NODE_PAGES              /* first MFN of node 1 */

#define OWNED_PENDING(domid) \
    (NC_PG_OFFLINE_OWNED | NC_PG_OFFLINE_PENDING | \
     ((uint32_t)(domid) << NC_PG_OFFLINE_OWNER_SHIFT))

/* ========================================================================
 * Helpers
 * ======================================================================== */

static uint32_t offline(struct nc_host *h, uint64_t mfn, bool broken)
{
    uint32_t status = 0xdeadbeef;

    assert_int_equal(nc_page_offline(h, CTL, mfn, broken, &status), 0);
    return status;
}

static uint32_t online(struct nc_host *h, uint64_t mfn)
{
    uint32_t status = 0xdeadbeef;

    assert_int_equal(nc_page_online(h, CTL, mfn, &status), 0);
    return status;
}

static uint32_t query(struct nc_host *h, uint64_t mfn)
{
    uint32_t status = 0xdeadbeef;

    assert_int_equal(nc_page_query(h, CTL, mfn, &status), 0);
    return status;
}

/* A domain with a chosen domid, so that the owner field is not just 1. */
static nc_domid_t dom_new_id(struct nc_host *h, nc_domid_t id,
                             uint64_t max_pages)
{
    struct nc_domain_config c = { .domid = id, .max_vcpus = 1 };
    nc_domid_t d;

    assert_int_equal(nc_domain_create(h, CTL, &c, &d), 0);
    assert_int_equal(d, id);
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, max_pages), 0);
    return d;
}

static uint64_t translate(struct nc_host *h, nc_domid_t d, uint64_t gpfn)
{
    uint64_t mfn;

    assert_int_equal(nc_domain_translate(h, d, gpfn, &mfn), 0);
    return mfn;
}

/*
 * Expect GET to return exactly the given (target, pages) entries, in order:
 * {HOST, host_claim} first, then the non-zero node claims by ascending node.
 */
static void expect_claims(struct nc_host *h, nc_domid_t d, uint32_t nr, ...)
{
    struct nc_claim got[NC_CLAIM_MAX_ENTRIES];
    uint32_t cap = NC_CLAIM_MAX_ENTRIES;
    va_list ap;

    memset(got, 0xa5, sizeof(got));
    assert_int_equal(nc_claim_memory(h, CTL, d, NC_CLAIM_MEMORY_GET, got,
                                     &cap), 0);
    assert_int_equal(cap, nr);
    va_start(ap, nr);
    for ( uint32_t i = 0; i < nr; i++ )
    {
        uint32_t target = va_arg(ap, uint32_t);
        uint64_t pages = va_arg(ap, uint64_t);

        assert_int_equal(got[i].target, target);
        assert_int_equal(got[i].pages, pages);
        assert_int_equal(got[i].pad, 0);
    }
    va_end(ap);
}

static void destroy(struct nc_host *h, nc_domid_t d)
{
    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
}

/* A host from an explicit config (holes, offline nodes). */
static struct nc_host *host_from(const struct nc_host_config *cfg)
{
    struct nc_host *h = NULL;

    assert_int_equal(nc_host_create(cfg, &h), 0);
    nc_host_set_autocheck(h, NC_CHECK_FRAMES);
    return h;
}

/* ========================================================================
 * Free frames
 * ======================================================================== */

static void test_offline_free_frame_is_offlined_at_once(void **state)
{
    struct nc_host *h = host_new("2x4M");
    const uint64_t mfn = NODE1_MFN + 77;

    (void)state;
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_NONE);
    assert_int_equal(host_info(h).offlined_pages, 0);

    assert_int_equal(offline(h, mfn, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);
    assert_int_equal(host_info(h).total_pages, HOST_PAGES);
    assert_int_equal(host_info(h).offlined_pages, 1);
    assert_int_equal(node_info(h, 1).free, NODE_PAGES - 1);
    assert_int_equal(node_info(h, 1).size, NODE_PAGES);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINED);
    /* Its neighbours stay on the heap. */
    assert_int_equal(query(h, mfn - 1), NC_PG_OFFLINE_STATUS_NONE);
    assert_int_equal(query(h, mfn + 1), NC_PG_OFFLINE_STATUS_NONE);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_offlined_frame_again_is_idempotent(void **state)
{
    struct nc_host *h = host_new("2x4M");
    const uint64_t mfn = 0;

    (void)state;
    assert_int_equal(offline(h, mfn, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(offline(h, mfn, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(offline(h, mfn, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);
    assert_int_equal(host_info(h).offlined_pages, 1);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES - 1);
    assert_int_equal(node_info(h, 1).free, NODE_PAGES);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINED);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_every_frame_of_a_node_leaves_it_empty(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new(h, HOST_PAGES);

    (void)state;
    for ( uint64_t m = NODE1_MFN; m < HOST_PAGES; m++ )
        assert_int_equal(offline(h, m, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(node_info(h, 1).free, 0);
    assert_int_equal(host_info(h).total_avail, NODE_PAGES);
    assert_int_equal(host_info(h).offlined_pages, NODE_PAGES);

    assert_int_equal(nc_populate(h, CTL, d, 0, 0, flags_node(1, 1), NULL),
                     -ENOMEM);
    assert_int_equal(dom_info(h, d).tot_pages, 0);

    destroy(h, d);
    assert_invariants(h);
    nc_host_destroy(h);
}

/*
 * Offlined frames are bits of per-node bitmaps made 2^15 frames (128 MiB)
 * at a time: frames scattered over four chunks of node 1 and the chunk
 * edges themselves are each offlined once, queried, counted and onlined,
 * after which the node is wholly free again.
 */
static void test_offline_scattered_frames_across_chunks(void **state)
{
    struct nc_host *h = host_new("2x512M");
    const uint64_t node_pages = 512ULL << 8, base = node_pages;
    const uint64_t edge[] = { 0, 32767, 32768, 65535, 65536, 131071 };
    uint64_t nr = 0;

    (void)state;
    for ( uint64_t m = 7; m < node_pages; m += 997 )
    {
        assert_int_equal(offline(h, base + m, false), NC_PG_OFFLINE_OFFLINED);
        nr++;
    }
    for ( unsigned int i = 0; i < sizeof(edge) / sizeof(edge[0]); i++ )
    {
        assert_int_equal(query(h, base + edge[i]), 0);
        assert_int_equal(offline(h, base + edge[i], false),
                         NC_PG_OFFLINE_OFFLINED);
        assert_int_equal(query(h, base + edge[i]),
                         NC_PG_OFFLINE_STATUS_OFFLINED);
        nr++;
    }
    assert_int_equal(host_info(h).offlined_pages, nr);
    assert_int_equal(node_info(h, 1).free, node_pages - nr);
    assert_int_equal(node_info(h, 0).free, node_pages);
    assert_int_equal(query(h, base + 8), 0);
    assert_int_equal(query(h, 7), 0);
    assert_invariants(h);

    for ( uint64_t m = 7; m < node_pages; m += 997 )
        assert_int_equal(online(h, base + m), NC_PG_ONLINE_ONLINED);
    for ( unsigned int i = 0; i < sizeof(edge) / sizeof(edge[0]); i++ )
        assert_int_equal(online(h, base + edge[i]), NC_PG_ONLINE_ONLINED);
    assert_int_equal(host_info(h).offlined_pages, 0);
    assert_int_equal(node_info(h, 1).free, node_pages);
    assert_int_equal(query(h, base + 7), 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Owned frames
 * ======================================================================== */

static void test_offline_owned_frame_is_pending_with_owner(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new_id(h, 42, HOST_PAGES);
    uint64_t mfn, avail;

    (void)state;
    assert_int_equal(nc_populate(h, CTL, d, 0, 9, flags_node(0, 1), NULL), 0);
    mfn = translate(h, d, 7);
    avail = host_info(h).total_avail;
    assert_int_equal(avail, HOST_PAGES - 512);
    /* Owned but not pending: online, like any frame in use. */
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_NONE);

    assert_int_equal(offline(h, mfn, false), OWNED_PENDING(42));
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINE_PENDING);
    assert_int_equal(host_info(h).total_avail, avail);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES - 512);
    assert_int_equal(host_info(h).offlined_pages, 0);
    /* The domain keeps the frame until it frees it. */
    assert_int_equal(dom_info(h, d).tot_pages, 512);
    assert_int_equal(translate(h, d, 7), mfn);

    /* Offlining it again changes nothing and reports the same. */
    assert_int_equal(offline(h, mfn, false), OWNED_PENDING(42));
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINE_PENDING);
    assert_int_equal(host_info(h).total_avail, avail);

    destroy(h, d);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_pending_frame_is_offlined_when_depopulated(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new_id(h, 7, HOST_PAGES);
    uint64_t mfn;

    (void)state;
    assert_int_equal(nc_populate(h, CTL, d, 512, 9, flags_node(1, 1), NULL),
                     0);
    assert_int_equal(nc_populate(h, CTL, d, 2048, 0, flags_node(0, 1), NULL),
                     0);
    mfn = translate(h, d, 512 + 300);
    assert_int_equal(nc_host_mfn_node(h, mfn), 1);
    assert_int_equal(offline(h, mfn, false), OWNED_PENDING(7));
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 513);

    /* Freeing the extent returns 511 frames; the pending one is offlined. */
    assert_int_equal(nc_depopulate(h, CTL, d, 512, 9), 0);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 513 + 511);
    assert_int_equal(node_info(h, 1).free, NODE_PAGES - 1);
    assert_int_equal(host_info(h).offlined_pages, 1);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINED);
    assert_int_equal(dom_info(h, d).tot_pages, 1);
    assert_int_equal(offline(h, mfn, false), NC_PG_OFFLINE_OFFLINED);

    /* The domain's other page frees normally, and nothing more goes. */
    destroy(h, d);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);
    assert_int_equal(host_info(h).offlined_pages, 1);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_pending_frame_is_offlined_when_domain_destroyed(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new_id(h, 300, HOST_PAGES);
    uint64_t first, last;

    (void)state;
    /* The domain owns the whole host: node 1 in two order-9 extents,
     * node 0 (no order-9 block below MFN 512: zones) frame by frame. */
    for ( uint64_t g = 0; g < 2; g++ )
        assert_int_equal(nc_populate(h, CTL, d, g * 512, 9,
                                     flags_node(1, 1), NULL), 0);
    for ( uint64_t g = NODE_PAGES; g < HOST_PAGES; g++ )
        assert_int_equal(nc_populate(h, CTL, d, g, 0, flags_node(0, 1), NULL),
                         0);
    assert_int_equal(host_info(h).total_avail, 0);
    first = translate(h, d, 0);
    last = translate(h, d, 2047);
    assert_int_equal(offline(h, first, false), OWNED_PENDING(300));
    assert_int_equal(offline(h, last, false), OWNED_PENDING(300));
    assert_int_equal(host_info(h).offlined_pages, 0);

    destroy(h, d);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 2);
    assert_int_equal(host_info(h).offlined_pages, 2);
    assert_int_equal(node_info(h, 0).free + node_info(h, 1).free,
                     HOST_PAGES - 2);
    assert_int_equal(query(h, first), NC_PG_OFFLINE_STATUS_OFFLINED);
    assert_int_equal(query(h, last), NC_PG_OFFLINE_STATUS_OFFLINED);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_xen_page_is_pending_until_freed(void **state)
{
    struct nc_host *h = host_new("2x4M");
    uint64_t mfn;

    (void)state;
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 2, NC_MEMFLAGS_NONE, &mfn),
                     0);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 4);

    assert_int_equal(offline(h, mfn + 1, false),
                     NC_PG_OFFLINE_XENPAGE | NC_PG_OFFLINE_PENDING);
    assert_int_equal(query(h, mfn + 1), NC_PG_OFFLINE_STATUS_OFFLINE_PENDING);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_NONE);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 4);
    assert_int_equal(host_info(h).offlined_pages, 0);

    assert_int_equal(nc_free_anon(h, mfn, 2), 0);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);
    assert_int_equal(host_info(h).offlined_pages, 1);
    assert_int_equal(query(h, mfn + 1), NC_PG_OFFLINE_STATUS_OFFLINED);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_NONE);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_anon_page_of_a_domain_is_a_xen_page(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new(h, HOST_PAGES);
    uint64_t mfn;

    (void)state;
    /* Allocated on behalf of d (like its page tables) but owned by Xen. */
    assert_int_equal(nc_alloc_anon(h, d, 0, NC_MEMFLAGS_NONE, &mfn), 0);
    assert_int_equal(dom_info(h, d).tot_pages, 0);
    assert_int_equal(offline(h, mfn, false),
                     NC_PG_OFFLINE_XENPAGE | NC_PG_OFFLINE_PENDING);
    assert_int_equal(nc_free_anon(h, mfn, 0), 0);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINED);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);

    destroy(h, d);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Broken frames
 * ======================================================================== */

static void test_offline_broken_free_frame_cannot_be_onlined(void **state)
{
    struct nc_host *h = host_new("2x4M");
    const uint64_t mfn = 500;
    uint32_t status = 0;

    (void)state;
    assert_int_equal(offline(h, mfn, true),
                     NC_PG_OFFLINE_OFFLINED | NC_PG_OFFLINE_BROKEN);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINED |
                                    NC_PG_OFFLINE_STATUS_BROKEN);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);
    assert_int_equal(host_info(h).offlined_pages, 1);

    assert_int_equal(nc_page_online(h, CTL, mfn, &status), -EINVAL);
    assert_int_equal(status, NC_PG_ONLINE_FAILED | NC_PG_ONLINE_BROKEN);
    /* The failed online changed nothing. */
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINED |
                                    NC_PG_OFFLINE_STATUS_BROKEN);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);
    assert_int_equal(host_info(h).offlined_pages, 1);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES - 1);

    /* Offlining it again (broken or not) still reports it broken. */
    assert_int_equal(offline(h, mfn, false),
                     NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINED |
                                    NC_PG_OFFLINE_STATUS_BROKEN);
    assert_int_equal(offline(h, mfn, true),
                     NC_PG_OFFLINE_OFFLINED | NC_PG_OFFLINE_BROKEN);
    assert_int_equal(host_info(h).offlined_pages, 1);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_broken_marks_an_offlined_frame_broken(void **state)
{
    struct nc_host *h = host_new("2x4M");
    const uint64_t mfn = NODE1_MFN + 3;
    uint32_t status = 0;

    (void)state;
    assert_int_equal(offline(h, mfn, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(offline(h, mfn, true),
                     NC_PG_OFFLINE_OFFLINED | NC_PG_OFFLINE_BROKEN);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINED |
                                    NC_PG_OFFLINE_STATUS_BROKEN);
    assert_int_equal(host_info(h).offlined_pages, 1);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);

    assert_int_equal(nc_page_online(h, CTL, mfn, &status), -EINVAL);
    assert_int_equal(status, NC_PG_ONLINE_FAILED | NC_PG_ONLINE_BROKEN);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_broken_owned_frame_stays_broken(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new_id(h, 9, HOST_PAGES);
    uint32_t status = 0;
    uint64_t mfn;

    (void)state;
    assert_int_equal(populate(h, d, 64, 6), 0);
    mfn = translate(h, d, 64 + 5);
    assert_int_equal(offline(h, mfn, true),
                     OWNED_PENDING(9) | NC_PG_OFFLINE_BROKEN);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINE_PENDING |
                                    NC_PG_OFFLINE_STATUS_BROKEN);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 64);

    /* A broken frame cannot be brought back, not even while pending. */
    assert_int_equal(nc_page_online(h, CTL, mfn, &status), -EINVAL);
    assert_int_equal(status, NC_PG_ONLINE_FAILED | NC_PG_ONLINE_BROKEN);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINE_PENDING |
                                    NC_PG_OFFLINE_STATUS_BROKEN);

    assert_int_equal(nc_depopulate(h, CTL, d, 64, 6), 0);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINED |
                                    NC_PG_OFFLINE_STATUS_BROKEN);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);
    assert_int_equal(host_info(h).offlined_pages, 1);
    assert_int_equal(nc_page_online(h, CTL, mfn, &status), -EINVAL);
    assert_int_equal(status, NC_PG_ONLINE_FAILED | NC_PG_ONLINE_BROKEN);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);

    destroy(h, d);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Onlining
 * ======================================================================== */

static void test_online_offlined_frame_returns_it_to_heap(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new(h, HOST_PAGES);
    uint64_t mfn;

    (void)state;
    /* Offline the middle frame of node 1: no order-10 block is left. */
    assert_int_equal(offline(h, NODE1_MFN + 512, false),
                     NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(nc_populate(h, CTL, d, 0, 10, flags_node(1, 1), NULL),
                     -ENOMEM);

    assert_int_equal(online(h, NODE1_MFN + 512), NC_PG_ONLINE_ONLINED);
    assert_int_equal(query(h, NODE1_MFN + 512), NC_PG_OFFLINE_STATUS_NONE);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES);
    assert_int_equal(host_info(h).offlined_pages, 0);
    assert_int_equal(node_info(h, 1).free, NODE_PAGES);

    /* The frame merged back into one block of the whole node. */
    assert_int_equal(nc_populate(h, CTL, d, 0, 10, flags_node(1, 1), &mfn),
                     0);
    assert_int_equal(mfn, NODE1_MFN);

    destroy(h, d);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_online_after_frees_coalesces_to_order_18(void **state)
{
    /* Node 1 spans MFNs [2^18, 2^19): one zone, one order-18 block. */
    struct nc_host *h = host_new("2x1G");
    const uint64_t base = 1ULL << 18, bad = base + 12345;
    nc_domid_t d = dom_new(h, 1ULL << 18);
    uint64_t mfn = 0;

    (void)state;
    assert_int_equal(offline(h, bad, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(nc_populate(h, CTL, d, 0, 18, flags_node(1, 1), NULL),
                     -ENOMEM);
    assert_int_equal(online(h, bad), NC_PG_ONLINE_ONLINED);
    assert_int_equal(nc_populate(h, CTL, d, 0, 18, flags_node(1, 1), &mfn),
                     0);
    assert_int_equal(mfn, base);

    /* Owned now: pending, then offlined by the free. */
    assert_int_equal(offline(h, bad, false), OWNED_PENDING(d));
    assert_int_equal(nc_depopulate(h, CTL, d, 0, 18), 0);
    assert_int_equal(query(h, bad), NC_PG_OFFLINE_STATUS_OFFLINED);
    assert_int_equal(node_info(h, 1).free, (1ULL << 18) - 1);
    assert_int_equal(nc_populate(h, CTL, d, 0, 18, flags_node(1, 1), NULL),
                     -ENOMEM);
    assert_int_equal(dom_info(h, d).tot_pages, 0);

    /* Back on the heap, the 2^18 - 1 freed frames and it coalesce. */
    assert_int_equal(online(h, bad), NC_PG_ONLINE_ONLINED);
    assert_int_equal(node_info(h, 1).free, 1ULL << 18);
    assert_int_equal(host_info(h).offlined_pages, 0);
    assert_int_equal(nc_populate(h, CTL, d, 0, 18, flags_node(1, 1), &mfn),
                     0);
    assert_int_equal(mfn, base);

    destroy(h, d);
    assert_int_equal(host_info(h).total_avail, 2ULL << 18);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_online_pending_frame_cancels_offline(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new(h, HOST_PAGES);
    uint64_t mfn;

    (void)state;
    assert_int_equal(populate(h, d, 0, 4), 0);
    mfn = translate(h, d, 3);
    assert_int_equal(offline(h, mfn, false), OWNED_PENDING(d));
    assert_int_equal(online(h, mfn), NC_PG_ONLINE_ONLINED);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_NONE);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 16);

    /* Freed, it goes back to the heap like its neighbours. */
    assert_int_equal(nc_depopulate(h, CTL, d, 0, 4), 0);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_NONE);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES);
    assert_int_equal(host_info(h).offlined_pages, 0);

    destroy(h, d);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_online_normal_frame_reports_onlined(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new(h, HOST_PAGES);
    uint64_t mfn;

    (void)state;
    /* A free frame. */
    assert_int_equal(online(h, 10), NC_PG_ONLINE_ONLINED);
    assert_int_equal(query(h, 10), NC_PG_OFFLINE_STATUS_NONE);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES);

    /* An owned frame that is not pending. */
    assert_int_equal(populate(h, d, 0, 0), 0);
    mfn = translate(h, d, 0);
    assert_int_equal(online(h, mfn), NC_PG_ONLINE_ONLINED);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_NONE);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);
    assert_int_equal(dom_info(h, d).tot_pages, 1);
    assert_int_equal(host_info(h).offlined_pages, 0);

    destroy(h, d);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Errors
 * ======================================================================== */

static void test_offline_ops_need_the_control_domain(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new(h, HOST_PAGES);
    const nc_domid_t callers[] = { d, 5, NC_DOMID_XEN };
    uint32_t status;

    (void)state;
    assert_int_equal(offline(h, 20, false), NC_PG_OFFLINE_OFFLINED);
    for ( unsigned int i = 0; i < sizeof(callers) / sizeof(callers[0]); i++ )
    {
        nc_domid_t c = callers[i];

        assert_int_equal(nc_page_offline(h, c, 30, false, &status), -EPERM);
        assert_int_equal(nc_page_offline(h, c, 30, true, &status), -EPERM);
        assert_int_equal(nc_page_online(h, c, 20, &status), -EPERM);
        assert_int_equal(nc_page_query(h, c, 20, &status), -EPERM);
        /* Privilege is checked before the frame. */
        assert_int_equal(nc_page_offline(h, c, HOST_PAGES, false, &status),
                         -EPERM);
    }
    assert_int_equal(query(h, 30), NC_PG_OFFLINE_STATUS_NONE);
    assert_int_equal(query(h, 20), NC_PG_OFFLINE_STATUS_OFFLINED);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);
    assert_int_equal(host_info(h).offlined_pages, 1);

    destroy(h, d);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* Every op on mfn fails with -EINVAL and changes nothing. */
static void expect_not_ram(struct nc_host *h, uint64_t mfn)
{
    struct nc_host_info before = host_info(h), after;
    uint32_t status;

    assert_int_equal(nc_page_offline(h, CTL, mfn, false, &status), -EINVAL);
    assert_int_equal(nc_page_offline(h, CTL, mfn, true, &status), -EINVAL);
    assert_int_equal(nc_page_online(h, CTL, mfn, &status), -EINVAL);
    assert_int_equal(nc_page_query(h, CTL, mfn, &status), -EINVAL);
    after = host_info(h);
    assert_int_equal(after.total_avail, before.total_avail);
    assert_int_equal(after.offlined_pages, before.offlined_pages);
}

static void test_offline_ops_reject_mfn_beyond_host(void **state)
{
    struct nc_host *h = host_new("2x4M");

    (void)state;
    expect_not_ram(h, HOST_PAGES);
    expect_not_ram(h, HOST_PAGES + 1);
    expect_not_ram(h, 1ULL << 30);
    expect_not_ram(h, NC_MAX_MFN - 1);
    expect_not_ram(h, NC_MAX_MFN);
    expect_not_ram(h, UINT64_MAX);
    /* The last frame of the host is RAM. */
    assert_int_equal(offline(h, HOST_PAGES - 1, false),
                     NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 1);

    assert_invariants(h);
    nc_host_destroy(h);
}

/*
 * Node 0: MFNs [0, 512) and [1024, 1536), a hole between; node 1: [2048,
 * 3072), offline; node 2: [4096, 5120).
 */
static struct nc_host *host_with_holes(void)
{
    struct nc_host_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.nr_nodes = 3;
    cfg.node[0] = (struct nc_node_config){
        .online = true, .nr_ranges = 2,
        .range = { { 0, 512 }, { 1024, 512 } } };
    cfg.node[1] = (struct nc_node_config){
        .online = false, .nr_ranges = 1, .range = { { 2048, 1024 } } };
    cfg.node[2] = (struct nc_node_config){
        .online = true, .nr_ranges = 1, .range = { { 4096, 1024 } } };
    for ( uint32_t i = 0; i < 3; i++ )
        for ( uint32_t j = 0; j < 3; j++ )
            cfg.distance[i][j] = i == j ? 10 : 21;
    return host_from(&cfg);
}

static void test_offline_ops_reject_mfn_in_hole(void **state)
{
    struct nc_host *h = host_with_holes();

    (void)state;
    assert_int_equal(host_info(h).total_pages, 2048);
    expect_not_ram(h, 512);
    expect_not_ram(h, 700);
    expect_not_ram(h, 1023);
    expect_not_ram(h, 1536);
    expect_not_ram(h, 2047);
    expect_not_ram(h, 3072);
    expect_not_ram(h, 4095);
    expect_not_ram(h, 5120);
    /* The frames around the holes are RAM. */
    assert_int_equal(offline(h, 511, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(offline(h, 1024, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(offline(h, 4096, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(offline(h, 5119, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(host_info(h).total_avail, 2048 - 4);
    assert_int_equal(node_info(h, 0).free, 1024 - 2);
    assert_int_equal(node_info(h, 2).free, 1024 - 2);
    assert_int_equal(host_info(h).offlined_pages, 4);
    assert_int_equal(online(h, 1024), NC_PG_ONLINE_ONLINED);
    assert_int_equal(node_info(h, 0).free, 1024 - 1);

    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_ops_reject_mfn_on_offline_node(void **state)
{
    struct nc_host *h = host_with_holes();

    (void)state;
    assert_false(node_info(h, 1).online);
    assert_int_equal(nc_host_mfn_node(h, 2048), 1);
    expect_not_ram(h, 2048);
    expect_not_ram(h, 2500);
    expect_not_ram(h, 3071);
    assert_int_equal(host_info(h).offlined_pages, 0);
    assert_int_equal(host_info(h).total_avail, 2048);

    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Recall
 * ======================================================================== */

static void test_offline_without_shortfall_recalls_nothing(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d1 = dom_new(h, HOST_PAGES), d2 = dom_new(h, HOST_PAGES);

    (void)state;
    assert_int_equal(claim_set(h, d1, 2, NC_CLAIM_HOST, 500ULL, 0u, 500ULL),
                     0);
    assert_int_equal(claim_set(h, d2, 1, 1u, 300ULL), 0);
    for ( uint64_t i = 0; i < 10; i++ )
    {
        assert_int_equal(offline(h, 100 + i, false), NC_PG_OFFLINE_OFFLINED);
        assert_int_equal(offline(h, NODE1_MFN + 100 + i, true),
                         NC_PG_OFFLINE_OFFLINED | NC_PG_OFFLINE_BROKEN);
    }
    assert_int_equal(dom_info(h, d1).recalled, 0);
    assert_int_equal(dom_info(h, d2).recalled, 0);
    assert_int_equal(dom_info(h, d1).outstanding, 1000);
    assert_int_equal(dom_info(h, d2).outstanding, 300);
    expect_claims(h, d1, 2, NC_CLAIM_HOST, 500ULL, 0u, 500ULL);
    expect_claims(h, d2, 2, NC_CLAIM_HOST, 0ULL, 1u, 300ULL);
    assert_int_equal(host_info(h).outstanding_claims, 1300);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 20);
    assert_int_equal(node_info(h, 0).claimed, 500);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES - 10);
    assert_int_equal(node_info(h, 1).claimed, 300);

    destroy(h, d1);
    destroy(h, d2);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_recall_starts_when_claims_exceed_free(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new(h, HOST_PAGES);

    (void)state;
    assert_int_equal(claim_set(h, d, 1, 0u, NODE_PAGES - 10), 0);
    /* Ten frames can go with the claim intact: free meets it exactly. */
    for ( uint64_t i = 0; i < 10; i++ )
        assert_int_equal(offline(h, 2 * i, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES - 10);
    assert_int_equal(node_info(h, 0).claimed, NODE_PAGES - 10);
    assert_int_equal(dom_info(h, d).recalled, 0);

    /* The eleventh takes one page of claim. */
    assert_int_equal(offline(h, 1, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d).recalled, 1);
    assert_int_equal(dom_info(h, d).outstanding, NODE_PAGES - 11);
    assert_int_equal(node_info(h, 0).claimed, NODE_PAGES - 11);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES - 11);
    assert_int_equal(host_info(h).outstanding_claims, NODE_PAGES - 11);
    expect_claims(h, d, 2, NC_CLAIM_HOST, 0ULL, 0u, NODE_PAGES - 11);

    /* Offlining an offlined frame again lowers nothing, recalls nothing. */
    assert_int_equal(offline(h, 1, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d).recalled, 1);
    assert_int_equal(dom_info(h, d).outstanding, NODE_PAGES - 11);

    destroy(h, d);
    assert_invariants(h);
    nc_host_destroy(h);
}

/*
 * Offlining a free frame while a host-wide claim exists takes the node's
 * lock and claims_lock only, keeping the host's headroom exact: the frames
 * that leave free memory come off it one by one, so the offline that finds
 * none left recalls, and no other domain can allocate what is claimed.
 */
static void test_offline_under_host_claim_keeps_headroom_exact(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new(h, HOST_PAGES), o = dom_new(h, HOST_PAGES);

    (void)state;
    assert_int_equal(claim_set(h, d, 1, NC_CLAIM_HOST, HOST_PAGES - 10), 0);
    for ( uint64_t i = 0; i < 10; i++ )
        assert_int_equal(offline(h, (i & 1 ? NODE1_MFN : 0) + 2 * i, false),
                         NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d).recalled, 0);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 10);
    assert_int_equal(host_info(h).outstanding_claims, HOST_PAGES - 10);
    /* Everything free is claimed: another domain gets nothing. */
    assert_int_equal(nc_populate(h, CTL, o, 0, 0, flags_node(1, 0), NULL),
                     -ENOMEM);
    assert_invariants(h);

    /* The eleventh takes one page of the host-wide claim. */
    assert_int_equal(offline(h, NODE1_MFN + 1, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d).recalled, 1);
    assert_int_equal(dom_info(h, d).outstanding, HOST_PAGES - 11);
    expect_claims(h, d, 1, NC_CLAIM_HOST, HOST_PAGES - 11);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 11);
    assert_int_equal(nc_populate(h, CTL, o, 0, 0, flags_node(0, 0), NULL),
                     -ENOMEM);

    /* Onlining one frame gives the headroom back to others. */
    assert_int_equal(online(h, 0), NC_PG_ONLINE_ONLINED);
    assert_int_equal(nc_populate(h, CTL, o, 0, 0, flags_node(0, 0), NULL),
                     0);
    assert_int_equal(nc_populate(h, CTL, o, 1, 0, flags_node(0, 0), NULL),
                     -ENOMEM);

    destroy(h, d);
    destroy(h, o);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_recalls_node_claims_in_domid_order(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d1 = dom_new(h, HOST_PAGES), d2 = dom_new(h, HOST_PAGES),
               d3 = dom_new(h, HOST_PAGES);

    (void)state;
    assert_int_equal(d1, 1);
    assert_int_equal(d2, 2);
    assert_int_equal(d3, 3);
    /* Node 0 is fully claimed by domains 2 and 3; domain 1 claims only on
     * node 1, and domain 3 also holds a host-wide claim. */
    assert_int_equal(claim_set(h, d1, 1, 1u, 100ULL), 0);
    assert_int_equal(claim_set(h, d2, 1, 0u, 3ULL), 0);
    assert_int_equal(claim_set(h, d3, 2, NC_CLAIM_HOST, 10ULL,
                               0u, NODE_PAGES - 3), 0);
    assert_int_equal(node_info(h, 0).claimed, NODE_PAGES);
    assert_int_equal(host_info(h).outstanding_claims, 100 + NODE_PAGES + 10);

    /* One frame: domain 2, the lowest domid with a claim on node 0. */
    assert_int_equal(offline(h, 0, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d1).recalled, 0);
    assert_int_equal(dom_info(h, d2).recalled, 1);
    assert_int_equal(dom_info(h, d3).recalled, 0);
    expect_claims(h, d1, 2, NC_CLAIM_HOST, 0ULL, 1u, 100ULL);
    expect_claims(h, d2, 2, NC_CLAIM_HOST, 0ULL, 0u, 2ULL);
    expect_claims(h, d3, 2, NC_CLAIM_HOST, 10ULL, 0u, NODE_PAGES - 3);
    assert_int_equal(node_info(h, 0).claimed, NODE_PAGES - 1);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES - 1);

    /* Four more: domain 2 loses its last two, then domain 3 two. */
    for ( uint64_t m = 1; m <= 4; m++ )
        assert_int_equal(offline(h, m, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d1).recalled, 0);
    assert_int_equal(dom_info(h, d2).recalled, 3);
    assert_int_equal(dom_info(h, d3).recalled, 2);
    assert_int_equal(dom_info(h, d1).outstanding, 100);
    assert_int_equal(dom_info(h, d2).outstanding, 0);
    assert_int_equal(dom_info(h, d3).outstanding, 10 + NODE_PAGES - 5);
    assert_int_equal(dom_info(h, d3).host_claim, 10);
    expect_claims(h, d1, 2, NC_CLAIM_HOST, 0ULL, 1u, 100ULL);
    expect_claims(h, d2, 1, NC_CLAIM_HOST, 0ULL);
    expect_claims(h, d3, 2, NC_CLAIM_HOST, 10ULL, 0u, NODE_PAGES - 5);
    assert_int_equal(node_info(h, 0).claimed, NODE_PAGES - 5);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES - 5);
    assert_int_equal(node_info(h, 1).claimed, 100);
    assert_int_equal(host_info(h).outstanding_claims,
                     100 + 10 + NODE_PAGES - 5);

    /* A frame of node 1, whose claims are below its free memory. */
    assert_int_equal(offline(h, NODE1_MFN, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d1).recalled, 0);
    assert_int_equal(dom_info(h, d2).recalled, 3);
    assert_int_equal(dom_info(h, d3).recalled, 2);
    assert_int_equal(node_info(h, 1).claimed, 100);

    destroy(h, d1);
    destroy(h, d2);
    destroy(h, d3);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_whole_node_recalls_all_its_claims(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d1 = dom_new(h, HOST_PAGES), d2 = dom_new(h, HOST_PAGES);
    uint64_t mfn;

    (void)state;
    assert_int_equal(claim_set(h, d1, 2, 0u, 50ULL, 1u, 300ULL), 0);
    assert_int_equal(claim_set(h, d2, 1, 1u, NODE_PAGES - 300), 0);

    for ( uint64_t k = 1; k <= NODE_PAGES; k++ )
    {
        assert_int_equal(offline(h, HOST_PAGES - k, false),
                         NC_PG_OFFLINE_OFFLINED);
        assert_int_equal(dom_info(h, d1).recalled, k < 300 ? k : 300);
        assert_int_equal(dom_info(h, d2).recalled, k > 300 ? k - 300 : 0);
    }
    assert_int_equal(node_info(h, 1).free, 0);
    assert_int_equal(node_info(h, 1).claimed, 0);
    expect_claims(h, d1, 2, NC_CLAIM_HOST, 0ULL, 0u, 50ULL);
    expect_claims(h, d2, 1, NC_CLAIM_HOST, 0ULL);
    assert_int_equal(host_info(h).outstanding_claims, 50);

    /* Onlining gives the memory back, not the claims. */
    for ( uint64_t m = NODE1_MFN; m < HOST_PAGES; m++ )
        assert_int_equal(online(h, m), NC_PG_ONLINE_ONLINED);
    assert_int_equal(node_info(h, 1).free, NODE_PAGES);
    assert_int_equal(node_info(h, 1).claimed, 0);
    assert_int_equal(host_info(h).offlined_pages, 0);
    assert_int_equal(dom_info(h, d1).recalled, 300);
    assert_int_equal(dom_info(h, d2).recalled, NODE_PAGES - 300);
    expect_claims(h, d1, 2, NC_CLAIM_HOST, 0ULL, 0u, 50ULL);
    expect_claims(h, d2, 1, NC_CLAIM_HOST, 0ULL);

    /* And node 1 is one order-10 block again. */
    assert_int_equal(nc_populate(h, CTL, d2, 0, 10, flags_node(1, 1), &mfn),
                     0);
    assert_int_equal(mfn, NODE1_MFN);

    destroy(h, d1);
    destroy(h, d2);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_recalls_host_claims_in_domid_order(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d1 = dom_new(h, HOST_PAGES), d2 = dom_new(h, HOST_PAGES),
               d3 = dom_new(h, HOST_PAGES);

    (void)state;
    /* The whole host is claimed: 2 + 200 by domain 1 (a claim set), the
     * rest by domain 2 (a legacy claim); domain 3 claims nothing. */
    assert_int_equal(claim_set(h, d1, 2, NC_CLAIM_HOST, 2ULL, 1u, 200ULL), 0);
    assert_int_equal(nc_claim_pages(h, CTL, d2, HOST_PAGES - 202), 0);
    assert_int_equal(host_info(h).outstanding_claims, HOST_PAGES);

    /* Node 0 has no node claims, so only I4 is at stake. */
    assert_int_equal(offline(h, 10, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d1).recalled, 1);
    assert_int_equal(dom_info(h, d2).recalled, 0);
    expect_claims(h, d1, 2, NC_CLAIM_HOST, 1ULL, 1u, 200ULL);
    expect_claims(h, d2, 1, NC_CLAIM_HOST, HOST_PAGES - 202);

    for ( uint64_t m = 11; m <= 13; m++ )
        assert_int_equal(offline(h, m, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d1).recalled, 2);
    assert_int_equal(dom_info(h, d2).recalled, 2);
    assert_int_equal(dom_info(h, d3).recalled, 0);
    /* Domain 1's node claim is not host-wide: it stays. */
    expect_claims(h, d1, 2, NC_CLAIM_HOST, 0ULL, 1u, 200ULL);
    expect_claims(h, d2, 1, NC_CLAIM_HOST, HOST_PAGES - 204);
    assert_int_equal(dom_info(h, d1).outstanding, 200);
    assert_int_equal(dom_info(h, d2).outstanding, HOST_PAGES - 204);
    assert_int_equal(host_info(h).outstanding_claims, HOST_PAGES - 4);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 4);
    assert_int_equal(node_info(h, 1).claimed, 200);

    /* A frame of node 1: I5 holds there (200 <= 1023), I4 does not. */
    assert_int_equal(offline(h, NODE1_MFN + 9, false),
                     NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d1).recalled, 2);
    assert_int_equal(dom_info(h, d2).recalled, 3);
    expect_claims(h, d1, 2, NC_CLAIM_HOST, 0ULL, 1u, 200ULL);
    expect_claims(h, d2, 1, NC_CLAIM_HOST, HOST_PAGES - 205);
    assert_int_equal(host_info(h).outstanding_claims, HOST_PAGES - 5);

    /* The legacy claim is still a claim: a new one needs a reset first. */
    assert_int_equal(nc_claim_pages(h, CTL, d2, 10), -EINVAL);
    assert_int_equal(nc_claim_pages(h, CTL, d2, 0), 0);
    assert_int_equal(dom_info(h, d2).recalled, 3);

    destroy(h, d1);
    destroy(h, d2);
    destroy(h, d3);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_node_recall_spares_host_claims(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d1 = dom_new(h, HOST_PAGES), d2 = dom_new(h, HOST_PAGES);

    (void)state;
    /* Node 0 fully claimed by domain 1, which also claims host-wide. */
    assert_int_equal(claim_set(h, d1, 2, 0u, NODE_PAGES, NC_CLAIM_HOST,
                               20ULL), 0);
    assert_int_equal(claim_set(h, d2, 1, NC_CLAIM_HOST, 30ULL), 0);

    for ( uint64_t m = 0; m < 6; m++ )
        assert_int_equal(offline(h, 1000 + m, m & 1),
                         NC_PG_OFFLINE_OFFLINED |
                         ((m & 1) ? NC_PG_OFFLINE_BROKEN : 0));
    assert_int_equal(dom_info(h, d1).recalled, 6);
    assert_int_equal(dom_info(h, d2).recalled, 0);
    expect_claims(h, d1, 2, NC_CLAIM_HOST, 20ULL, 0u, NODE_PAGES - 6);
    expect_claims(h, d2, 1, NC_CLAIM_HOST, 30ULL);
    assert_int_equal(host_info(h).outstanding_claims, NODE_PAGES - 6 + 50);

    destroy(h, d1);
    destroy(h, d2);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_of_owned_frame_recalls_nothing(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d1 = dom_new(h, HOST_PAGES), d2 = dom_new(h, HOST_PAGES);
    uint64_t mfn;

    (void)state;
    assert_int_equal(nc_populate(h, CTL, d1, 0, 0, flags_node(0, 1), &mfn), 0);
    assert_int_equal(nc_host_mfn_node(h, mfn), 0);
    /* The rest of node 0 is claimed by domain 2. */
    assert_int_equal(claim_set(h, d2, 1, 0u, NODE_PAGES - 1), 0);

    assert_int_equal(offline(h, mfn, false), OWNED_PENDING(d1));
    assert_int_equal(dom_info(h, d2).recalled, 0);
    assert_int_equal(dom_info(h, d2).outstanding, NODE_PAGES - 1);

    /* Freed, it does not join the free memory, and no claim suffers. */
    assert_int_equal(nc_depopulate(h, CTL, d1, 0, 0), 0);
    assert_int_equal(query(h, mfn), NC_PG_OFFLINE_STATUS_OFFLINED);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES - 1);
    assert_int_equal(node_info(h, 0).claimed, NODE_PAGES - 1);
    assert_int_equal(dom_info(h, d1).recalled, 0);
    assert_int_equal(dom_info(h, d2).recalled, 0);
    expect_claims(h, d2, 2, NC_CLAIM_HOST, 0ULL, 0u, NODE_PAGES - 1);

    destroy(h, d1);
    destroy(h, d2);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_online_does_not_restore_recalled_claims(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d = dom_new(h, HOST_PAGES);

    (void)state;
    assert_int_equal(claim_set(h, d, 1, 0u, NODE_PAGES), 0);
    assert_int_equal(offline(h, 5, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d).recalled, 1);
    assert_int_equal(online(h, 5), NC_PG_ONLINE_ONLINED);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES);
    assert_int_equal(node_info(h, 0).claimed, NODE_PAGES - 1);
    assert_int_equal(dom_info(h, d).recalled, 1);
    expect_claims(h, d, 2, NC_CLAIM_HOST, 0ULL, 0u, NODE_PAGES - 1);

    /* The toolstack may claim the page again. */
    assert_int_equal(claim_set(h, d, 1, 0u, NODE_PAGES), 0);
    assert_int_equal(dom_info(h, d).recalled, 1);
    assert_int_equal(node_info(h, 0).claimed, NODE_PAGES);

    destroy(h, d);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_recall_after_redemption_is_consistent(void **state)
{
    struct nc_host *h = host_new("2x4M");
    nc_domid_t d1 = dom_new(h, HOST_PAGES), d2 = dom_new(h, HOST_PAGES);
    uint64_t base, free_mfn;

    (void)state;
    /* Domain 1 claims all of node 0 and redeems half of it. */
    assert_int_equal(claim_set(h, d1, 1, 0u, NODE_PAGES), 0);
    assert_int_equal(nc_populate(h, CTL, d1, 0, 9, flags_node(0, 1), &base),
                     0);
    assert_int_equal(nc_host_mfn_node(h, base), 0);
    free_mfn = base >= 512 ? 0 : 512;       /* in the other half */
    assert_int_equal(dom_info(h, d1).outstanding, NODE_PAGES - 512);
    assert_int_equal(node_info(h, 0).free, NODE_PAGES - 512);
    assert_int_equal(node_info(h, 0).claimed, NODE_PAGES - 512);

    /* A free frame of node 0 goes: one page of the rest is recalled. */
    assert_int_equal(offline(h, free_mfn, false), NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d1).recalled, 1);
    assert_int_equal(dom_info(h, d1).outstanding, NODE_PAGES - 513);
    /* An owned frame goes pending: nothing is recalled. */
    assert_int_equal(offline(h, base, false), OWNED_PENDING(d1));
    assert_int_equal(dom_info(h, d1).recalled, 1);

    /* Domain 2 cannot claim node 0, and a node-0 allocation of domain 2
     * cannot use domain 1's claim. */
    assert_int_equal(claim_set(h, d2, 1, 0u, 1ULL), -ENOMEM);
    assert_int_equal(nc_populate(h, CTL, d2, 0, 0, flags_node(0, 1), NULL),
                     -ENOMEM);
    assert_int_equal(dom_info(h, d2).recalled, 0);

    destroy(h, d1);
    assert_int_equal(host_info(h).total_avail, HOST_PAGES - 2);
    assert_int_equal(host_info(h).offlined_pages, 2);
    destroy(h, d2);
    assert_invariants(h);
    nc_host_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offline_free_frame_is_offlined_at_once),
        cmocka_unit_test(test_offline_offlined_frame_again_is_idempotent),
        cmocka_unit_test(test_offline_every_frame_of_a_node_leaves_it_empty),
        cmocka_unit_test(test_offline_scattered_frames_across_chunks),
        cmocka_unit_test(test_offline_owned_frame_is_pending_with_owner),
        cmocka_unit_test(test_pending_frame_is_offlined_when_depopulated),
        cmocka_unit_test(test_pending_frame_is_offlined_when_domain_destroyed),
        cmocka_unit_test(test_offline_xen_page_is_pending_until_freed),
        cmocka_unit_test(test_offline_anon_page_of_a_domain_is_a_xen_page),
        cmocka_unit_test(test_offline_broken_free_frame_cannot_be_onlined),
        cmocka_unit_test(test_offline_broken_marks_an_offlined_frame_broken),
        cmocka_unit_test(test_offline_broken_owned_frame_stays_broken),
        cmocka_unit_test(test_online_offlined_frame_returns_it_to_heap),
        cmocka_unit_test(test_online_after_frees_coalesces_to_order_18),
        cmocka_unit_test(test_online_pending_frame_cancels_offline),
        cmocka_unit_test(test_online_normal_frame_reports_onlined),
        cmocka_unit_test(test_offline_ops_need_the_control_domain),
        cmocka_unit_test(test_offline_ops_reject_mfn_beyond_host),
        cmocka_unit_test(test_offline_ops_reject_mfn_in_hole),
        cmocka_unit_test(test_offline_ops_reject_mfn_on_offline_node),
        cmocka_unit_test(test_offline_without_shortfall_recalls_nothing),
        cmocka_unit_test(test_offline_recall_starts_when_claims_exceed_free),
        cmocka_unit_test(test_offline_under_host_claim_keeps_headroom_exact),
        cmocka_unit_test(test_offline_recalls_node_claims_in_domid_order),
        cmocka_unit_test(test_offline_whole_node_recalls_all_its_claims),
        cmocka_unit_test(test_offline_recalls_host_claims_in_domid_order),
        cmocka_unit_test(test_offline_node_recall_spares_host_claims),
        cmocka_unit_test(test_offline_of_owned_frame_recalls_nothing),
        cmocka_unit_test(test_online_does_not_restore_recalled_claims),
        cmocka_unit_test(test_offline_recall_after_redemption_is_consistent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
