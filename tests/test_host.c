/* SPDX-License-Identifier: MIT */
/*
 * The host suite: the host spec parser, host creation, the host queries
 * and the buddy heap, seen through the public API (spec §1).
 *
 * It checks that nc_host_config_parse() accepts "NxSIZE", comma lists,
 * every binary suffix in both cases and plain bytes, lays node i's frames
 * right after node i-1's and fills in the default 10/21 distances; that
 * every malformed spec is -EINVAL with a message naming the bad part; that
 * nc_host_create() rejects overlapping ranges and bad distance matrices.
 * Then the heap: a fresh node is all free; zones (MFN 0 is zone 1, a block
 * never crosses a 2^k boundary), probed with address_bits; nodes with
 * several ranges and holes; and coalescing: after fragmenting a node
 * completely and freeing in shuffled order, the largest blocks come back.
 * Every test ends with the frame-level invariant checker.
 */
#include <stdlib.h>

#include "common.h"

#define NODE_64M    16384ULL                /* frames in a 64M node */
#define NODE_1G     262144ULL               /* frames in a 1G node */

/* ========================================================================
 * Helpers
 * ======================================================================== */

/* A small deterministic generator (Knuth's MMIX LCG). */
static uint32_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

/* Assert that spec is rejected with a message containing token. */
static void expect_parse_error(const char *spec, const char *token)
{
    struct nc_host_config cfg;
    char err[256];

    memset(err, 0, sizeof(err));
    assert_int_equal(nc_host_config_parse(spec, &cfg, err, sizeof(err)),
                     -EINVAL);
    if ( !strstr(err, token) )
        fail_msg("spec \"%s\": message \"%s\" does not name \"%s\"", spec,
                 err, token);
}

static void parse_ok(const char *spec, struct nc_host_config *cfg)
{
    char err[256];

    if ( nc_host_config_parse(spec, cfg, err, sizeof(err)) )
        fail_msg("spec \"%s\" rejected: %s", spec, err);
}

static struct nc_host *host_from_config(const struct nc_host_config *cfg)
{
    struct nc_host *h = NULL;

    assert_int_equal(nc_host_create(cfg, &h), 0);
    assert_non_null(h);
    nc_host_set_autocheck(h, NC_CHECK_FRAMES);
    return h;
}

static void expect_create_einval(const struct nc_host_config *cfg)
{
    static int dummy;
    struct nc_host *h = (struct nc_host *)&dummy;   /* any non-NULL value */

    assert_int_equal(nc_host_create(cfg, &h), -EINVAL);
    assert_null(h);
}

static uint64_t anon(struct nc_host *h, uint32_t order, struct nc_memflags f)
{
    uint64_t mfn = ~0ULL;

    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, order, f, &mfn), 0);
    return mfn;
}

static struct nc_memflags bits(uint8_t address_bits)
{
    return (struct nc_memflags){ .node = NC_NUMA_NO_NODE,
                                 .address_bits = address_bits };
}

static struct nc_memflags exact_node(uint32_t node)
{
    return flags_node(node, 1);
}

/* ========================================================================
 * Parsing
 * ======================================================================== */

static void test_parse_count_times_size(void **state)
{
    struct nc_host_config cfg;

    (void)state;
    parse_ok("4x64G", &cfg);
    assert_int_equal(cfg.nr_nodes, 4);
    for ( uint32_t n = 0; n < 4; n++ )
    {
        assert_true(cfg.node[n].online);
        assert_int_equal(cfg.node[n].nr_ranges, 1);
        assert_int_equal(cfg.node[n].range[0].start, (uint64_t)n << 24);
        assert_int_equal(cfg.node[n].range[0].nr, 1ULL << 24);
    }

    parse_ok("64x1M", &cfg);
    assert_int_equal(cfg.nr_nodes, 64);
    assert_int_equal(cfg.node[63].range[0].start, 63 * 256);
    assert_int_equal(cfg.node[63].range[0].nr, 256);
}

static void test_parse_comma_list_nodes_follow_each_other(void **state)
{
    struct nc_host_config cfg;
    const uint64_t nr[] = { 1ULL << 24, 1ULL << 24, 1ULL << 23, 1ULL << 23 };
    uint64_t start = 0;

    (void)state;
    parse_ok("64G,64G,32G,32G", &cfg);
    assert_int_equal(cfg.nr_nodes, 4);
    for ( uint32_t n = 0; n < 4; n++ )
    {
        assert_true(cfg.node[n].online);
        assert_int_equal(cfg.node[n].nr_ranges, 1);
        assert_int_equal(cfg.node[n].range[0].start, start);
        assert_int_equal(cfg.node[n].range[0].nr, nr[n]);
        start += nr[n];
    }
}

static void test_parse_suffixes_both_cases_and_plain_bytes(void **state)
{
    struct nc_host_config cfg;
    const uint64_t nr[] = { 1, 2, 256, 256, NODE_1G, NODE_1G, 1ULL << 28,
                            1ULL << 28, 2, 1 };
    uint64_t start = 0;

    (void)state;
    parse_ok("4K,8k,1M,1m,1G,1g,1T,1t,8192,4096", &cfg);
    assert_int_equal(cfg.nr_nodes, 10);
    for ( uint32_t n = 0; n < 10; n++ )
    {
        assert_int_equal(cfg.node[n].range[0].start, start);
        assert_int_equal(cfg.node[n].range[0].nr, nr[n]);
        start += nr[n];
    }
}

/* The size grammar on its own (nc_parse_size, shared with the storm's
 * --mix): each case's pages, or the reason it is refused. */
static void test_size_grammar_pages_and_reasons(void **state)
{
    static const char syntax[] =
        "expected a number with an optional K, M, G or T suffix";
    static const struct {
        const char *text;
        uint64_t pages;
        const char *why;
    } cases[] = {
        { "4096", 1, NULL },
        { "4K", 1, NULL },
        { "4k", 1, NULL },
        { "1M", 256, NULL },
        { "2g", 2 * NODE_1G, NULL },
        { "4095T", 4095ULL << 28, NULL },
        { "0", 0, NULL },
        { "", 0, syntax },
        { "G", 0, syntax },
        { "1X", 0, syntax },
        { "-4K", 0, syntax },
        { "1.5G", 0, syntax },
        { "18446744073709551616", 0, syntax },
        { "4097", 0, "not a multiple of 4K" },
        { "2K", 0, "not a multiple of 4K" },
        { "4096T", 0, "too large" },
        { "17592186044416K", 0, "too large" },          /* 2^54 bytes */
    };

    (void)state;
    for ( unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++ )
    {
        uint64_t pages = 12345;
        const char *why = "unset";
        int rc = nc_parse_size(cases[i].text, strlen(cases[i].text), &pages,
                               &why);

        if ( cases[i].why )
        {
            assert_int_equal(rc, -EINVAL);
            assert_string_equal(why, cases[i].why);
            assert_int_equal(pages, 12345);
        }
        else
        {
            assert_int_equal(rc, 0);
            assert_null(why);
            assert_int_equal(pages, cases[i].pages);
        }
    }
}

static void test_parse_default_distances_are_10_and_21(void **state)
{
    struct nc_host_config cfg;

    (void)state;
    parse_ok("3x1G", &cfg);
    for ( uint32_t a = 0; a < 3; a++ )
        for ( uint32_t b = 0; b < 3; b++ )
            assert_int_equal(cfg.distance[a][b], a == b ? 10 : 21);

    parse_ok("2x1G;dist=10,21,21,10", &cfg);
    assert_int_equal(cfg.nr_nodes, 2);
    assert_int_equal(cfg.node[1].range[0].start, NODE_1G);
    assert_int_equal(cfg.distance[0][0], 10);
    assert_int_equal(cfg.distance[0][1], 21);
    assert_int_equal(cfg.distance[1][0], 21);
    assert_int_equal(cfg.distance[1][1], 10);
}

static void test_parse_explicit_distance_matrix_row_major(void **state)
{
    struct nc_host_config cfg;
    const uint8_t want[3][3] = { { 10, 15, 20 }, { 16, 10, 25 },
                                 { 20, 25, 10 } };

    (void)state;
    parse_ok("3x64M;dist=10,15,20,16,10,25,20,25,10", &cfg);
    for ( uint32_t a = 0; a < 3; a++ )
        for ( uint32_t b = 0; b < 3; b++ )
            assert_int_equal(cfg.distance[a][b], want[a][b]);
}

static void test_parse_rejects_empty_spec(void **state)
{
    struct nc_host_config cfg;

    (void)state;
    expect_parse_error("", "empty");
    /* Without a message buffer the error is still reported. */
    assert_int_equal(nc_host_config_parse("", &cfg, NULL, 0), -EINVAL);
    assert_int_equal(nc_host_config_parse("4x64Q", &cfg, NULL, 0), -EINVAL);
}

static void test_parse_rejects_bad_node_count(void **state)
{
    (void)state;
    expect_parse_error("0x64G", "\"0\"");
    expect_parse_error("65x1G", "\"65\"");
    expect_parse_error("ax1G", "\"a\"");
}

static void test_parse_rejects_bad_size(void **state)
{
    (void)state;
    expect_parse_error("4x64Q", "64Q");
    expect_parse_error("4x1000", "1000");
    expect_parse_error("4x1000", "4K");
    expect_parse_error("1G,2K", "2K");
    expect_parse_error("1G,,1G", "node size");
    expect_parse_error("4xG", "node size");
}

/* Zero-size nodes are fine next to others, but a host needs memory, as an
 * hwloc topology does ("no NUMA node has memory"). */
static void test_parse_rejects_host_without_memory(void **state)
{
    struct nc_host_config cfg;

    (void)state;
    expect_parse_error("4x0", "host spec \"4x0\": no node has memory");
    expect_parse_error("0,0K;cpus=1", "no node has memory");
    expect_parse_error("0", "no node has memory");
    parse_ok("0,4K", &cfg);
    assert_int_equal(cfg.node[1].range[0].nr, 1);
}

/* 255 is SLIT's "unreachable" (Xen's NUMA_NO_DISTANCE): a distance the
 * parser takes and the host reports as it is. */
static void test_parse_unreachable_distance_255(void **state)
{
    struct nc_host *h = host_new("3x64M;dist=10,255,21,255,10,21,21,21,10");

    (void)state;
    assert_int_equal(NC_NO_DISTANCE, 255);
    assert_int_equal(nc_host_distance(h, 0, 1), NC_NO_DISTANCE);
    assert_int_equal(nc_host_distance(h, 1, 0), NC_NO_DISTANCE);
    assert_int_equal(nc_host_distance(h, 0, 2), 21);
    nc_host_destroy(h);
}

static void test_parse_rejects_wrong_number_of_distances(void **state)
{
    (void)state;
    expect_parse_error("2x1G;dist=10,21,21,10,21", "10,21,21,10,21");
    expect_parse_error("2x1G;dist=10,21,21,10,21", "5 entries");
    expect_parse_error("2x1G;dist=10,21,21", "10,21,21");
    expect_parse_error("2x1G;dist=10,21,21", "3 entries");
    expect_parse_error("2x1G;dist=10,21,x,10", "\"x\"");
}

static void test_parse_rejects_bad_local_or_remote_distance(void **state)
{
    (void)state;
    /* A node's distance to itself must be 10. */
    expect_parse_error("2x1G;dist=10,21,21,11", "node 1 to node 1 is 11");
    expect_parse_error("2x1G;dist=9,21,21,10", "node 0 to node 0 is 9");
    /* A remote distance must be above 10. */
    expect_parse_error("2x1G;dist=10,10,21,10", "node 0 to node 1 is 10");
    expect_parse_error("2x1G;dist=10,21,5,10", "node 1 to node 0 is 5");
    expect_parse_error("2x1G;dist=10,21,256,10", "256");
}

static void test_parse_rejects_unknown_option(void **state)
{
    (void)state;
    expect_parse_error("2x1G;foo=1", "foo=1");
    expect_parse_error("2x1G;dist=10,21,21,10;foo=1", "foo=1");
    expect_parse_error("2x1G;dist=10,21,21,10;dist=10,22,22,10",
                       "dist=10,22,22,10");
}

/* ========================================================================
 * pCPUs: ";cpus="
 * ======================================================================== */

static void test_parse_cpus_default_is_8_per_node(void **state)
{
    struct nc_host_config cfg;
    struct nc_host *h;

    (void)state;
    parse_ok("3x64M", &cfg);
    for ( uint32_t n = 0; n < 3; n++ )
        assert_int_equal(cfg.cpus[n], 8);
    assert_int_equal(cfg.cpus[3], 0);

    h = host_new("3x64M");
    assert_int_equal(host_info(h).nr_cpus, 24);
    for ( uint32_t n = 0; n < 3; n++ )
    {
        assert_int_equal(node_info(h, n).cpus, 8);
        assert_int_equal(node_info(h, n).first_cpu, 8 * n);
    }
    /* Domain 0 has a vCPU on every pCPU. */
    assert_int_equal(dom_info(h, CTL).max_vcpus, 24);
    nc_host_destroy(h);
}

static void test_parse_cpus_every_node_or_per_node(void **state)
{
    struct nc_host_config cfg;

    (void)state;
    parse_ok("3x64M;cpus=4", &cfg);
    assert_int_equal(cfg.cpus[0], 4);
    assert_int_equal(cfg.cpus[1], 4);
    assert_int_equal(cfg.cpus[2], 4);

    /* A node without CPUs (HBM, CXL) is fine while the host has some. */
    parse_ok("3x64M;cpus=2,0,6", &cfg);
    assert_int_equal(cfg.cpus[0], 2);
    assert_int_equal(cfg.cpus[1], 0);
    assert_int_equal(cfg.cpus[2], 6);

    /* Either order with dist=, and each is applied. */
    parse_ok("2x64M;cpus=4,2;dist=10,30,30,10", &cfg);
    assert_int_equal(cfg.cpus[0], 4);
    assert_int_equal(cfg.cpus[1], 2);
    assert_int_equal(cfg.distance[0][1], 30);
    parse_ok("2x64M;dist=10,30,30,10;cpus=4,2", &cfg);
    assert_int_equal(cfg.cpus[0], 4);
    assert_int_equal(cfg.cpus[1], 2);
    assert_int_equal(cfg.distance[1][0], 30);

    /* The most a host may have. */
    parse_ok("2x64M;cpus=4096,0", &cfg);
    assert_int_equal(cfg.cpus[0], 4096);
}

static void test_memoryless_node_with_cpus(void **state)
{
    struct nc_host *h = host_new("64M,0,64M;cpus=2,4,0");
    struct nc_host_info hi = host_info(h);

    (void)state;
    assert_int_equal(hi.nr_cpus, 6);
    assert_int_equal(node_info(h, 1).size, 0);
    assert_int_equal(node_info(h, 1).cpus, 4);
    assert_int_equal(node_info(h, 1).first_cpu, 2);
    assert_int_equal(node_info(h, 2).cpus, 0);
    assert_int_equal(node_info(h, 2).first_cpu, 6);
    /* Past nr_nodes: no CPUs, numbered after the last. */
    assert_int_equal(node_info(h, 3).cpus, 0);
    assert_int_equal(node_info(h, 3).first_cpu, 6);
    assert_int_equal(hi.max_mfn, 2 * NODE_64M - 1);
    assert_int_equal(dom_info(h, CTL).max_vcpus, 6);
    nc_host_destroy(h);
}

static void test_parse_rejects_bad_cpus(void **state)
{
    (void)state;
    /* count mismatch */
    expect_parse_error("3x64M;cpus=1,2", "cpus \"1,2\": has 2 counts, the "
                       "host has 3 nodes");
    expect_parse_error("1G;cpus=1,2", "has 2 counts, the host has 1 node");
    /* zero */
    expect_parse_error("2x64M;cpus=0", "cpus \"0\": the host needs at "
                       "least one CPU");
    expect_parse_error("2x64M;cpus=0,0;dist=10,21,21,10",
                       "the host needs at least one CPU");
    /* too many */
    expect_parse_error("2x64M;cpus=2049", "cpus \"2049\": 4098 CPUs in all, "
                       "a host has at most 4096");
    expect_parse_error("64M;cpus=4097", "CPU count \"4097\": expected a "
                       "number from 0 to 4096");
    /* not numbers */
    expect_parse_error("2x64M;cpus=a,1", "CPU count \"a\"");
    expect_parse_error("2x64M;cpus=", "CPU count \"\"");
    expect_parse_error("2x64M;cpus=1,,1", "CPU count \"\"");
    expect_parse_error("2x64M;cpus=-1", "CPU count \"-1\"");
    /* twice */
    expect_parse_error("2x64M;cpus=1;cpus=2", "option \"cpus=2\": given "
                       "twice");
    expect_parse_error("2x64M;cpus=1;dist=10,21,21,10;cpus=2",
                       "given twice");
    expect_parse_error("2x64M;cpu=1", "expected dist=... or cpus=...");
}

static void test_create_rejects_bad_cpu_counts(void **state)
{
    struct nc_host_config cfg;
    struct nc_host *h = NULL;

    (void)state;
    parse_ok("2x64M", &cfg);
    cfg.cpus[0] = NC_MAX_CPUS;
    cfg.cpus[1] = 1;
    assert_int_equal(nc_host_create(&cfg, &h), -EINVAL);
    assert_null(h);

    /* All zero is the default, 8 per node. */
    cfg.cpus[0] = cfg.cpus[1] = 0;
    assert_int_equal(nc_host_create(&cfg, &h), 0);
    assert_int_equal(host_info(h).nr_cpus, 16);
    nc_host_destroy(h);
}

static void test_parse_rejects_more_than_64_nodes_in_list(void **state)
{
    char spec[65 * 3 + 1];
    struct nc_host_config cfg;

    (void)state;
    spec[0] = '\0';
    for ( uint32_t i = 0; i < 64; i++ )
        strcat(spec, i ? ",1M" : "1M");
    parse_ok(spec, &cfg);
    assert_int_equal(cfg.nr_nodes, 64);

    strcat(spec, ",1M");
    expect_parse_error(spec, "more than 64 nodes");
    expect_parse_error(spec, "node list");
}

/* ========================================================================
 * Creation
 * ======================================================================== */

static void test_create_rejects_overlapping_ranges(void **state)
{
    struct nc_host_config cfg;

    (void)state;
    /* Node 1 starts inside node 0. */
    parse_ok("2x64M", &cfg);
    cfg.node[1].range[0].start = NODE_64M - 1;
    expect_create_einval(&cfg);

    /* Two ranges of one node overlap. */
    parse_ok("1x64M", &cfg);
    cfg.node[0].nr_ranges = 2;
    cfg.node[0].range[1] = (struct nc_range){ NODE_64M - 16, 64 };
    expect_create_einval(&cfg);

    /* Adjacent ranges are fine. */
    cfg.node[0].range[1] = (struct nc_range){ NODE_64M, 64 };
    {
        struct nc_host *h = host_from_config(&cfg);

        assert_int_equal(node_info(h, 0).size, NODE_64M + 64);
        assert_int_equal(node_info(h, 0).free, NODE_64M + 64);
        assert_invariants(h);
        nc_host_destroy(h);
    }
}

static void test_create_rejects_bad_distance_matrix(void **state)
{
    struct nc_host_config cfg;

    (void)state;
    parse_ok("2x64M", &cfg);
    cfg.distance[1][1] = 11;
    expect_create_einval(&cfg);

    parse_ok("2x64M", &cfg);
    cfg.distance[0][1] = 10;
    expect_create_einval(&cfg);

    parse_ok("2x64M", &cfg);
    cfg.distance[1][0] = 0;
    expect_create_einval(&cfg);
}

static void test_create_rejects_bad_node_count_and_ranges(void **state)
{
    struct nc_host_config cfg;

    (void)state;
    parse_ok("2x64M", &cfg);
    cfg.nr_nodes = 0;
    expect_create_einval(&cfg);

    parse_ok("2x64M", &cfg);
    cfg.nr_nodes = NC_MAX_NUMNODES + 1;
    expect_create_einval(&cfg);

    parse_ok("2x64M", &cfg);
    cfg.node[1].range[0].nr = 0;
    expect_create_einval(&cfg);

    parse_ok("2x64M", &cfg);
    cfg.node[1].range[0].start = NC_MAX_MFN - 8;
    expect_create_einval(&cfg);

    parse_ok("2x64M", &cfg);
    cfg.node[1].nr_ranges = NC_MAX_RANGES + 1;
    expect_create_einval(&cfg);

    /* No online node: nothing could ever be allocated. */
    parse_ok("2x64M", &cfg);
    cfg.node[0].online = cfg.node[1].online = false;
    expect_create_einval(&cfg);
}

/* ========================================================================
 * Queries
 * ======================================================================== */

static void test_fresh_host_is_all_free(void **state)
{
    struct nc_host *h = host_new("4x64M");
    struct nc_host_info hi = host_info(h);

    (void)state;
    assert_int_equal(hi.nr_nodes, 4);
    assert_int_equal(hi.total_pages, 4 * NODE_64M);
    assert_int_equal(hi.total_avail, 4 * NODE_64M);
    assert_int_equal(hi.outstanding_claims, 0);
    assert_int_equal(hi.offlined_pages, 0);
    assert_int_equal(hi.nr_domains, 0);
    for ( uint32_t n = 0; n < 4; n++ )
    {
        struct nc_node_info ni = node_info(h, n);

        assert_true(ni.online);
        assert_int_equal(ni.size, NODE_64M);
        assert_int_equal(ni.free, NODE_64M);
        assert_int_equal(ni.claimed, 0);
    }
    /* Nodes past nr_nodes read as absent. */
    assert_false(node_info(h, 4).online);
    assert_int_equal(node_info(h, 4).size, 0);
    assert_int_equal(node_info(h, 63).free, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_overview_reports_domains_free_and_claimed(void **state)
{
    struct nc_host *h = host_new("2x64M");
    struct nc_node_info nodes[3];
    struct nc_host_info hi;
    nc_domid_t d1 = dom_new(h, 1024), d2 = dom_new(h, 1024);
    uint64_t mfn;

    (void)state;
    assert_int_equal(claim_set(h, d1, 2, (uint32_t)1, (uint64_t)100,
                               NC_CLAIM_HOST, (uint64_t)50), 0);
    assert_int_equal(nc_populate(h, CTL, d2, 0, 4, exact_node(0), &mfn), 0);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, exact_node(1), &mfn),
                     0);

    memset(nodes, 0xAA, sizeof(nodes));
    assert_int_equal(nc_host_overview(h, &hi, nodes, 3), 0);
    assert_int_equal(hi.nr_nodes, 2);
    assert_int_equal(hi.total_pages, 2 * NODE_64M);
    assert_int_equal(hi.total_avail, 2 * NODE_64M - 17);
    assert_int_equal(hi.outstanding_claims, 150);
    assert_int_equal(hi.offlined_pages, 0);
    assert_int_equal(hi.nr_domains, 2);
    assert_true(nodes[0].online);
    assert_int_equal(nodes[0].size, NODE_64M);
    assert_int_equal(nodes[0].free, NODE_64M - 16);
    assert_int_equal(nodes[0].claimed, 0);
    assert_true(nodes[1].online);
    assert_int_equal(nodes[1].free, NODE_64M - 1);
    assert_int_equal(nodes[1].claimed, 100);
    assert_false(nodes[2].online);
    assert_int_equal(nodes[2].size, 0);
    assert_int_equal(nodes[2].free, 0);
    assert_int_equal(nodes[2].claimed, 0);

    /* Only nr entries are written; both outputs are optional. */
    memset(nodes, 0xAA, sizeof(nodes));
    assert_int_equal(nc_host_overview(h, NULL, nodes, 1), 0);
    assert_int_equal(nodes[0].free, NODE_64M - 16);
    assert_int_equal(nodes[1].free, 0xAAAAAAAAAAAAAAAAULL);
    assert_int_equal(nc_host_overview(h, NULL, NULL, 0), 0);

    assert_int_equal(nc_free_anon(h, mfn, 0), 0);
    assert_int_equal(nc_domain_destroy(h, CTL, d1), 0);
    assert_int_equal(host_info(h).nr_domains, 1);
    assert_int_equal(host_info(h).outstanding_claims, 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_offline_node_has_no_memory(void **state)
{
    struct nc_host_config cfg;
    struct nc_host *h;
    uint64_t mfn;

    (void)state;
    parse_ok("3x64M", &cfg);
    cfg.node[1].online = false;
    h = host_from_config(&cfg);
    assert_int_equal(host_info(h).total_pages, 2 * NODE_64M);
    assert_int_equal(host_info(h).total_avail, 2 * NODE_64M);
    assert_false(node_info(h, 1).online);
    assert_int_equal(node_info(h, 1).free, 0);
    assert_true(node_info(h, 2).online);
    assert_int_equal(node_info(h, 2).free, NODE_64M);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, exact_node(1), &mfn),
                     -ENOMEM);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_distance_queries(void **state)
{
    struct nc_host *h = host_new("3x64M;dist=10,15,20,16,10,25,20,25,10");
    struct nc_host *g = host_new("2x64M");

    (void)state;
    assert_int_equal(nc_host_distance(h, 0, 0), 10);
    assert_int_equal(nc_host_distance(h, 0, 1), 15);
    assert_int_equal(nc_host_distance(h, 1, 0), 16);
    assert_int_equal(nc_host_distance(h, 1, 2), 25);
    assert_int_equal(nc_host_distance(h, 2, 0), 20);
    assert_int_equal(nc_host_distance(h, 2, 2), 10);
    /* A node that does not exist: 0. */
    assert_int_equal(nc_host_distance(h, 3, 0), 0);
    assert_int_equal(nc_host_distance(h, 0, 3), 0);
    assert_int_equal(nc_host_distance(h, 63, 63), 0);
    assert_int_equal(nc_host_distance(h, UINT32_MAX, 0), 0);

    assert_int_equal(nc_host_distance(g, 0, 1), 21);
    assert_int_equal(nc_host_distance(g, 1, 0), 21);
    assert_int_equal(nc_host_distance(g, 1, 1), 10);
    assert_invariants(h);
    assert_invariants(g);
    nc_host_destroy(h);
    nc_host_destroy(g);
}

static void test_mfn_node_boundaries(void **state)
{
    struct nc_host *h = host_new("64M,128M,64M");

    (void)state;
    assert_int_equal(nc_host_mfn_node(h, 0), 0);
    assert_int_equal(nc_host_mfn_node(h, NODE_64M - 1), 0);
    assert_int_equal(nc_host_mfn_node(h, NODE_64M), 1);
    assert_int_equal(nc_host_mfn_node(h, 3 * NODE_64M - 1), 1);
    assert_int_equal(nc_host_mfn_node(h, 3 * NODE_64M), 2);
    assert_int_equal(nc_host_mfn_node(h, 4 * NODE_64M - 1), 2);
    assert_int_equal(nc_host_mfn_node(h, 4 * NODE_64M), NC_NUMA_NO_NODE);
    assert_int_equal(nc_host_mfn_node(h, NC_MAX_MFN), NC_NUMA_NO_NODE);
    assert_int_equal(nc_host_mfn_node(h, UINT64_MAX), NC_NUMA_NO_NODE);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* ========================================================================
 * Heap
 * ======================================================================== */

/*
 * "1x64M" is MFNs [0, 2^14).  Zone 1 is MFNs 0-1, zone z >= 2 is
 * [2^(z-1), 2^z), so the largest block is order 13 at 8192 and nothing
 * ever spans two zones.
 */
static void test_blocks_never_cross_zone_boundaries(void **state)
{
    struct nc_host *h = host_new("1x64M");
    uint64_t mfn;

    (void)state;
    /* 2^14 frames free, but no order-14 block: it would cross 2^13. */
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 14, NC_MEMFLAGS_NONE,
                                   &mfn), -ENOMEM);
    /* Highest zone first. */
    assert_int_equal(anon(h, 13, NC_MEMFLAGS_NONE), 8192);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 13, NC_MEMFLAGS_NONE,
                                   &mfn), -ENOMEM);
    assert_int_equal(anon(h, 12, NC_MEMFLAGS_NONE), 4096);
    assert_int_equal(nc_free_anon(h, 8192, 13), 0);
    assert_int_equal(nc_free_anon(h, 4096, 12), 0);
    assert_int_equal(node_info(h, 0).free, NODE_64M);

    /* 4 frames lie below 2^14 bytes (zones 1 and 2), but no order-2 block. */
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 2, bits(14), &mfn),
                     -ENOMEM);
    assert_int_equal(anon(h, 1, bits(14)), 2);
    assert_int_equal(anon(h, 1, bits(14)), 0);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, bits(14), &mfn),
                     -ENOMEM);
    /* Zone 3 is [4, 8): one order-2 block, split from its low end. */
    assert_int_equal(anon(h, 0, bits(15)), 4);
    assert_int_equal(anon(h, 0, bits(15)), 5);
    assert_int_equal(anon(h, 1, bits(15)), 6);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, bits(15), &mfn),
                     -ENOMEM);

    assert_int_equal(nc_free_anon(h, 0, 1), 0);
    assert_int_equal(nc_free_anon(h, 2, 1), 0);
    assert_int_equal(nc_free_anon(h, 4, 0), 0);
    assert_int_equal(nc_free_anon(h, 5, 0), 0);
    assert_int_equal(nc_free_anon(h, 6, 1), 0);
    assert_int_equal(node_info(h, 0).free, NODE_64M);
    assert_int_equal(anon(h, 2, bits(15)), 4);
    assert_int_equal(nc_free_anon(h, 4, 2), 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void test_mfn_0_is_in_zone_1(void **state)
{
    struct nc_host *h = host_new("1x64M");
    uint64_t mfn;

    (void)state;
    /* 13 address bits reach MFNs 0 and 1: zone 1, one order-1 block. */
    assert_int_equal(anon(h, 1, bits(13)), 0);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, bits(13), &mfn),
                     -ENOMEM);
    assert_int_equal(nc_free_anon(h, 0, 1), 0);
    assert_int_equal(anon(h, 0, bits(13)), 0);
    assert_int_equal(anon(h, 0, bits(13)), 1);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, bits(13), &mfn),
                     -ENOMEM);
    assert_int_equal(nc_free_anon(h, 0, 0), 0);
    assert_int_equal(nc_free_anon(h, 1, 0), 0);
    assert_int_equal(anon(h, 1, bits(13)), 0);
    assert_int_equal(nc_free_anon(h, 0, 1), 0);
    assert_int_equal(node_info(h, 0).free, NODE_64M);
    assert_invariants(h);
    nc_host_destroy(h);
}

/*
 * Node 0 is [0, 0x80000) and [0x100000, 0x180000) with a hole between;
 * node 1 is [0x200000, 0x208000) after another hole.
 */
static struct nc_host *host_with_holes(void)
{
    struct nc_host_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.nr_nodes = 2;
    cfg.node[0].online = true;
    cfg.node[0].nr_ranges = 2;
    cfg.node[0].range[0] = (struct nc_range){ 0x100000, 0x80000 };
    cfg.node[0].range[1] = (struct nc_range){ 0, 0x80000 };
    cfg.node[1].online = true;
    cfg.node[1].nr_ranges = 1;
    cfg.node[1].range[0] = (struct nc_range){ 0x200000, 0x8000 };
    for ( uint32_t a = 0; a < 2; a++ )
        for ( uint32_t b = 0; b < 2; b++ )
            cfg.distance[a][b] = a == b ? 10 : 21;
    return host_from_config(&cfg);
}

static void test_node_with_several_ranges_and_holes(void **state)
{
    struct nc_host *h = host_with_holes();
    uint64_t mfn;

    (void)state;
    assert_int_equal(host_info(h).total_pages, 0x100000 + 0x8000);
    assert_int_equal(node_info(h, 0).size, 0x100000);
    assert_int_equal(node_info(h, 0).free, 0x100000);
    assert_int_equal(node_info(h, 1).size, 0x8000);

    assert_int_equal(nc_host_mfn_node(h, 0), 0);
    assert_int_equal(nc_host_mfn_node(h, 0x7FFFF), 0);
    assert_int_equal(nc_host_mfn_node(h, 0x80000), NC_NUMA_NO_NODE);
    assert_int_equal(nc_host_mfn_node(h, 0xFFFFF), NC_NUMA_NO_NODE);
    assert_int_equal(nc_host_mfn_node(h, 0x100000), 0);
    assert_int_equal(nc_host_mfn_node(h, 0x17FFFF), 0);
    assert_int_equal(nc_host_mfn_node(h, 0x180000), NC_NUMA_NO_NODE);
    assert_int_equal(nc_host_mfn_node(h, 0x1FFFFF), NC_NUMA_NO_NODE);
    assert_int_equal(nc_host_mfn_node(h, 0x200000), 1);
    assert_int_equal(nc_host_mfn_node(h, 0x207FFF), 1);
    assert_int_equal(nc_host_mfn_node(h, 0x208000), NC_NUMA_NO_NODE);

    /* 32 address bits keep below 4 GiB: the low range's top zone. */
    assert_int_equal(anon(h, 0, (struct nc_memflags){ .node = 0,
                                                      .exact = true,
                                                      .address_bits = 32 }),
                     0x40000);
    assert_int_equal(nc_free_anon(h, 0x40000, 0), 0);

    /* Order-18 blocks: the upper range's two, then the low range's one
     * (its lower half spans zones 1..18, so it holds no order-18 block). */
    assert_int_equal(anon(h, 18, exact_node(0)), 0x100000);
    assert_int_equal(anon(h, 18, exact_node(0)), 0x140000);
    assert_int_equal(anon(h, 18, exact_node(0)), 0x40000);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 18, exact_node(0), &mfn),
                     -ENOMEM);
    assert_int_equal(anon(h, 17, exact_node(0)), 0x20000);
    assert_int_equal(node_info(h, 0).free, 0x20000);
    assert_int_equal(node_info(h, 1).free, 0x8000);

    assert_int_equal(nc_free_anon(h, 0x140000, 18), 0);
    assert_int_equal(nc_free_anon(h, 0x20000, 17), 0);
    assert_int_equal(nc_free_anon(h, 0x100000, 18), 0);
    assert_int_equal(nc_free_anon(h, 0x40000, 18), 0);
    assert_int_equal(node_info(h, 0).free, 0x100000);
    assert_int_equal(anon(h, 18, exact_node(0)), 0x100000);
    assert_int_equal(nc_free_anon(h, 0x100000, 18), 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

static void shuffle(uint32_t *v, uint32_t n, uint64_t seed)
{
    for ( uint32_t i = n; i > 1; i-- )
    {
        uint32_t j = lcg(&seed) % i, t = v[i - 1];

        v[i - 1] = v[j];
        v[j] = t;
    }
}

struct extent {
    uint64_t gpfn;
    uint32_t order;
};

/*
 * Fill node 1 of "4x64M" (one order-14 block) with extents of random
 * orders 0..9, then free them in shuffled order, some whole and some page
 * by page: the node's order-14 block comes back.
 */
static void test_heap_coalesces_after_mixed_orders(void **state)
{
    struct nc_host *h = host_new("4x64M");
    nc_domid_t d = dom_new(h, 1ULL << 20);
    struct extent *ext = calloc(NODE_64M, sizeof(*ext));
    uint32_t *perm = calloc(NODE_64M, sizeof(*perm));
    uint64_t seed = 42, gpfn = 0, mfn;
    uint32_t nr = 0, min_order = 9;

    (void)state;
    assert_non_null(ext);
    assert_non_null(perm);
    nc_host_set_autocheck(h, NC_CHECK_COUNTERS);
    while ( node_info(h, 1).free )
    {
        uint32_t order = lcg(&seed) % 10;
        int rc;

        if ( order > min_order )
            order = min_order;
        gpfn = (gpfn + (1ULL << order) - 1) & ~((1ULL << order) - 1);
        rc = nc_populate(h, CTL, d, gpfn, order, exact_node(1), &mfn);
        if ( rc == -ENOMEM )
        {
            assert_true(order > 0);
            min_order = order - 1;
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(nc_host_mfn_node(h, mfn), 1);
        ext[nr++] = (struct extent){ gpfn, order };
        gpfn += 1ULL << order;
    }
    assert_int_equal(dom_info(h, d).tot_pages, NODE_64M);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, exact_node(1), &mfn),
                     -ENOMEM);
    assert_invariants(h);

    for ( uint32_t i = 0; i < nr; i++ )
        perm[i] = i;
    shuffle(perm, nr, 7);
    for ( uint32_t i = 0; i < nr; i++ )
    {
        const struct extent *e = &ext[perm[i]];

        if ( i % 3 == 0 )
            for ( uint64_t p = 1ULL << e->order; p-- > 0; )
                assert_int_equal(nc_depopulate(h, CTL, d, e->gpfn + p, 0), 0);
        else
            assert_int_equal(nc_depopulate(h, CTL, d, e->gpfn, e->order), 0);
        if ( i == nr / 2 )
            assert_invariants(h);
    }
    assert_int_equal(dom_info(h, d).tot_pages, 0);
    assert_int_equal(node_info(h, 1).free, NODE_64M);
    for ( uint32_t n = 0; n < 4; n++ )
        assert_int_equal(node_info(h, n).free, NODE_64M);
    assert_int_equal(anon(h, 14, exact_node(1)), NODE_64M);
    assert_int_equal(nc_free_anon(h, NODE_64M, 14), 0);
    assert_invariants(h);
    free(ext);
    free(perm);
    nc_host_destroy(h);
}

#define FRAG_DOMAINS    512U
#define FRAG_PAGES      512U    /* per domain: 512 x 512 = 2^18 frames */

/*
 * On "2x1G", node 1 ([2^18, 2^19), all zone 19) is one order-18 block.
 * Take every frame of it as an order-0 page (spread over 512 domains so
 * that p2m edits stay cheap), free them all in shuffled order, and the
 * 1 GiB block is whole again.
 */
static void test_heap_coalesces_to_1g_after_order_0_fragmentation(void **state)
{
    struct nc_host *h = host_new("2x1G");
    nc_domid_t *dom = calloc(FRAG_DOMAINS, sizeof(*dom));
    uint32_t *perm = calloc(NODE_1G, sizeof(*perm));
    nc_domid_t big;
    uint64_t mfn;

    (void)state;
    assert_non_null(dom);
    assert_non_null(perm);
    /* The block exists at first. */
    assert_int_equal(anon(h, 18, exact_node(1)), NODE_1G);
    assert_int_equal(nc_free_anon(h, NODE_1G, 18), 0);

    nc_host_set_autocheck(h, 0);
    for ( uint32_t k = 0; k < FRAG_DOMAINS; k++ )
        dom[k] = dom_new(h, FRAG_PAGES);
    for ( uint32_t k = 0; k < FRAG_DOMAINS; k++ )
        for ( uint32_t g = 0; g < FRAG_PAGES; g++ )
        {
            assert_int_equal(nc_populate(h, CTL, dom[k], g, 0, exact_node(1),
                                         &mfn), 0);
            assert_int_equal(nc_host_mfn_node(h, mfn), 1);
        }
    assert_int_equal(node_info(h, 1).free, 0);
    assert_int_equal(node_info(h, 0).free, NODE_1G);
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, exact_node(1), &mfn),
                     -ENOMEM);
    assert_invariants(h);

    for ( uint32_t i = 0; i < NODE_1G; i++ )
        perm[i] = i;
    shuffle(perm, NODE_1G, 2024);
    for ( uint32_t i = 0; i < NODE_1G; i++ )
    {
        assert_int_equal(nc_depopulate(h, CTL, dom[perm[i] / FRAG_PAGES],
                                       perm[i] % FRAG_PAGES, 0), 0);
        if ( i == NODE_1G / 2 )
        {
            assert_int_equal(node_info(h, 1).free, NODE_1G / 2 + 1);
            assert_invariants(h);
        }
    }
    assert_int_equal(node_info(h, 1).free, NODE_1G);
    assert_invariants(h);
    nc_host_set_autocheck(h, NC_CHECK_FRAMES);

    /* A 1 GiB extent fits again, charged to a domain this time. */
    big = dom_new(h, NODE_1G);
    assert_int_equal(nc_populate(h, CTL, big, 0, 18, exact_node(1), &mfn), 0);
    assert_int_equal(mfn, NODE_1G);
    assert_int_equal(dom_info(h, big).tot_pages, NODE_1G);
    assert_int_equal(node_info(h, 1).free, 0);
    assert_int_equal(nc_depopulate(h, CTL, big, 0, 18), 0);
    assert_int_equal(node_info(h, 1).free, NODE_1G);
    assert_invariants(h);
    free(dom);
    free(perm);
    nc_host_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_count_times_size),
        cmocka_unit_test(test_parse_comma_list_nodes_follow_each_other),
        cmocka_unit_test(test_parse_suffixes_both_cases_and_plain_bytes),
        cmocka_unit_test(test_size_grammar_pages_and_reasons),
        cmocka_unit_test(test_parse_default_distances_are_10_and_21),
        cmocka_unit_test(test_parse_explicit_distance_matrix_row_major),
        cmocka_unit_test(test_parse_rejects_empty_spec),
        cmocka_unit_test(test_parse_rejects_bad_node_count),
        cmocka_unit_test(test_parse_rejects_bad_size),
        cmocka_unit_test(test_parse_rejects_host_without_memory),
        cmocka_unit_test(test_parse_unreachable_distance_255),
        cmocka_unit_test(test_parse_rejects_wrong_number_of_distances),
        cmocka_unit_test(test_parse_rejects_bad_local_or_remote_distance),
        cmocka_unit_test(test_parse_rejects_unknown_option),
        cmocka_unit_test(test_parse_cpus_default_is_8_per_node),
        cmocka_unit_test(test_parse_cpus_every_node_or_per_node),
        cmocka_unit_test(test_memoryless_node_with_cpus),
        cmocka_unit_test(test_parse_rejects_bad_cpus),
        cmocka_unit_test(test_create_rejects_bad_cpu_counts),
        cmocka_unit_test(test_parse_rejects_more_than_64_nodes_in_list),
        cmocka_unit_test(test_create_rejects_overlapping_ranges),
        cmocka_unit_test(test_create_rejects_bad_distance_matrix),
        cmocka_unit_test(test_create_rejects_bad_node_count_and_ranges),
        cmocka_unit_test(test_fresh_host_is_all_free),
        cmocka_unit_test(test_overview_reports_domains_free_and_claimed),
        cmocka_unit_test(test_offline_node_has_no_memory),
        cmocka_unit_test(test_distance_queries),
        cmocka_unit_test(test_mfn_node_boundaries),
        cmocka_unit_test(test_blocks_never_cross_zone_boundaries),
        cmocka_unit_test(test_mfn_0_is_in_zone_1),
        cmocka_unit_test(test_node_with_several_ranges_and_holes),
        cmocka_unit_test(test_heap_coalesces_after_mixed_orders),
        cmocka_unit_test(test_heap_coalesces_to_1g_after_order_0_fragmentation),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
