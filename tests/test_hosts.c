/* SPDX-License-Identifier: MIT */
/*
 * Host topologies (src/toolstack/hosts.c): ts_host_resolve() on the lstopo
 * XML examples in examples/hosts/ (every node size and every distance
 * checked), on host specs (exact round trip), on this machine ("local"),
 * and its errors, with XML files written here: a missing file, a file that
 * is not XML, bad distances, no memory or no NUMA node, too many nodes, bad
 * specs.
 * NC_SOURCE_ROOT (set by meson) locates the examples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "toolstack.h"

#define GIB_PAGES   (1ULL << 18)         /* 4 KiB pages in 1 GiB */
#define ERRLEN      512

static struct ts_host host;
static char err[ERRLEN];

/* ========================================================================
 * Helpers
 * ======================================================================== */

static int resolve(const char *fmt, ...)
{
    static char arg[TS_SPEC_MAX + 1024];    /* a 64-node spec and a path */
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(arg, sizeof(arg), fmt, ap);
    va_end(ap);
    memset(err, 'X', sizeof(err));
    err[sizeof(err) - 1] = '\0';
    return ts_host_resolve(arg, &host, err, sizeof(err));
}

static void resolve_example(const char *name)
{
    const char *root = getenv("NC_SOURCE_ROOT");
    int rc = resolve("hwloc:%s/examples/hosts/%s", root ? root : ".", name);

    if ( rc )
        print_error("%s: %s\n", name, err);
    assert_int_equal(rc, 0);
    assert_string_equal(err, "");
}

static void expect_error(const char *needle)
{
    if ( !strstr(err, needle) )
        print_error("error \"%s\" lacks \"%s\"\n", err, needle);
    assert_non_null(strstr(err, needle));
    assert_int_equal(host.nr_nodes, 0);
}

static void check_host(uint32_t n, const uint64_t *gib,
                       const uint8_t dist[][n], const char *spec)
{
    assert_int_equal(host.nr_nodes, n);
    for ( uint32_t i = 0; i < n; i++ )
    {
        assert_int_equal(host.node_pages[i], gib[i] * GIB_PAGES);
        for ( uint32_t j = 0; j < n; j++ )
        {
            if ( host.distance[i][j] != dist[i][j] )
                print_error("distance[%u][%u] = %u, expected %u\n", i, j,
                            host.distance[i][j], dist[i][j]);
            assert_int_equal(host.distance[i][j], dist[i][j]);
        }
    }
    for ( uint32_t i = n; i < TS_MAX_NODES; i++ )
        assert_int_equal(host.node_pages[i], 0);
    assert_string_equal(host.spec, spec);
}

/* The spec must resolve to the same host. */
static void check_round_trip(void)
{
    struct ts_host first = host;
    char spec[TS_SPEC_MAX];

    memcpy(spec, host.spec, sizeof(spec));
    assert_int_equal(resolve("%s", spec), 0);
    assert_int_equal(host.nr_nodes, first.nr_nodes);
    assert_memory_equal(host.node_pages, first.node_pages,
                        sizeof(host.node_pages));
    assert_memory_equal(host.distance, first.distance,
                        sizeof(host.distance));
    assert_memory_equal(host.node_cpus, first.node_cpus,
                        sizeof(host.node_cpus));
    assert_string_equal(host.spec, first.spec);
}

/* ------------------------------------------------------------------------
 * Temporary files
 * ------------------------------------------------------------------------ */

static char tmp_path[64];

static const char *write_tmp(const char *text)
{
    FILE *f;
    int fd;

    snprintf(tmp_path, sizeof(tmp_path), "/tmp/nc-test-hosts-XXXXXX.xml");
    fd = mkstemps(tmp_path, 4);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return tmp_path;
}

static void remove_tmp(void)
{
    unlink(tmp_path);
}

/* An hwloc bitmap: bits [first, last], or empty if first > last. */
static void bitmap(char *buf, size_t len, unsigned int first,
                   unsigned int last)
{
    uint32_t word[4] = { 0 };
    int top = 0;
    size_t used = 0;

    for ( unsigned int b = first; b <= last; b++ )
    {
        word[b / 32] |= 1U << (b % 32);
        if ( (int)(b / 32) > top )
            top = (int)(b / 32);
    }
    for ( int w = top; w >= 0; w-- )
        used += (size_t)snprintf(buf + used, len - used, "%s0x%08x",
                                 w == top ? "" : ",", word[w]);
}

/*
 * An hwloc 2.x XML topology of one PU and n NUMA nodes (memory children of
 * the Machine, OS indexes 0..n-1), node i with mem[i] bytes (no
 * local_memory attribute if 0), and the n*n distance matrix dist (row
 * major) when not NULL.
 */
static const char *write_xml(unsigned int n, const uint64_t *mem,
                             const uint64_t *dist)
{
    static char xml[65536];
    char all[64], one[64], values[16384];
    size_t used = 0, vlen = 0;

    bitmap(all, sizeof(all), 0, n - 1);
#define PUT(...) \
    used += (size_t)snprintf(xml + used, sizeof(xml) - used, __VA_ARGS__)
    PUT("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n"
        "<topology version=\"2.0\">\n"
        "  <object type=\"Machine\" os_index=\"0\" cpuset=\"0x00000001\" "
        "complete_cpuset=\"0x00000001\" allowed_cpuset=\"0x00000001\" "
        "nodeset=\"%s\" complete_nodeset=\"%s\" allowed_nodeset=\"%s\" "
        "gp_index=\"1\">\n", all, all, all);
    for ( unsigned int i = 0; i < n; i++ )
    {
        bitmap(one, sizeof(one), i, i);
        PUT("    <object type=\"NUMANode\" os_index=\"%u\" "
            "cpuset=\"0x00000001\" complete_cpuset=\"0x00000001\" "
            "nodeset=\"%s\" complete_nodeset=\"%s\" gp_index=\"%u\"",
            i, one, one, 3 + i);
        if ( mem[i] )
            PUT(" local_memory=\"%llu\"", (unsigned long long)mem[i]);
        PUT("/>\n");
    }
    PUT("    <object type=\"PU\" os_index=\"0\" cpuset=\"0x00000001\" "
        "complete_cpuset=\"0x00000001\" nodeset=\"%s\" "
        "complete_nodeset=\"%s\" gp_index=\"2\"/>\n"
        "  </object>\n", all, all);
    if ( dist )
    {
        char idx[1024];
        size_t ilen = 0;

        for ( unsigned int i = 0; i < n; i++ )
            ilen += (size_t)snprintf(idx + ilen, sizeof(idx) - ilen, "%u ", i);
        for ( unsigned int i = 0; i < n * n; i++ )
            vlen += (size_t)snprintf(values + vlen, sizeof(values) - vlen,
                                     "%llu ", (unsigned long long)dist[i]);
        PUT("  <distances2 type=\"NUMANode\" nbobjs=\"%u\" kind=\"5\" "
            "name=\"NUMALatency\" indexing=\"os\">\n"
            "    <indexes length=\"%zu\">%s</indexes>\n"
            "    <u64values length=\"%zu\">%s</u64values>\n"
            "  </distances2>\n", n, ilen, idx, vlen, values);
    }
    PUT("</topology>\n");
#undef PUT
    assert_true(used < sizeof(xml));
    return write_tmp(xml);
}

/* ========================================================================
 * The examples
 * ======================================================================== */

static void test_2s_snc2(void **state)
{
    static const uint64_t gib[] = { 96, 96, 96, 96 };
    static const uint8_t dist[4][4] = {
        { 10, 11, 21, 21 },
        { 11, 10, 21, 21 },
        { 21, 21, 10, 11 },
        { 21, 21, 11, 10 },
    };

    (void)state;
    resolve_example("2s-snc2.xml");
    check_host(4, gib, dist,
               "96G,96G,96G,96G;"
               "dist=10,11,21,21,11,10,21,21,21,21,10,11,21,21,11,10;"
               "cpus=2");
    assert_non_null(strstr(host.source, "2s-snc2.xml: 4 NUMA nodes, "
                                        "distances \"NUMALatency\""));
    assert_null(strstr(host.source, "logical order"));
    check_round_trip();
}

static void test_8node_uneven(void **state)
{
    static const uint64_t gib[] = { 64, 64, 32, 32, 128, 128, 16, 16 };
    static const uint8_t dist[8][8] = {
        { 10, 16, 16, 22, 16, 22, 16, 22 },
        { 16, 10, 22, 16, 16, 22, 22, 16 },
        { 16, 22, 10, 16, 16, 16, 16, 16 },
        { 22, 16, 16, 10, 16, 16, 22, 22 },
        { 16, 16, 16, 16, 10, 16, 16, 22 },
        { 22, 22, 16, 16, 16, 10, 22, 16 },
        { 16, 22, 16, 22, 16, 22, 10, 16 },
        { 22, 16, 16, 22, 22, 16, 16, 10 },
    };

    (void)state;
    resolve_example("8node-uneven.xml");
    check_host(8, gib, dist,
               "64G,64G,32G,32G,128G,128G,16G,16G;dist="
               "10,16,16,22,16,22,16,22,"
               "16,10,22,16,16,22,22,16,"
               "16,22,10,16,16,16,16,16,"
               "22,16,16,10,16,16,22,22,"
               "16,16,16,16,10,16,16,22,"
               "22,22,16,16,16,10,22,16,"
               "16,22,16,22,16,22,10,16,"
               "22,16,16,22,22,16,16,10;cpus=2");
    assert_non_null(strstr(host.source, "8 NUMA nodes"));
    check_round_trip();
}

/*
 * HBM flat mode: hwloc's logical order is DDR P#0, HBM P#2 (package 0),
 * DDR P#1, HBM P#3 (package 1); the file's matrix is in OS order, so node
 * 1 (P#2) to node 2 (P#1) is the file's [2][1] = 23.
 */
static void test_2s_hbm_flat(void **state)
{
    static const uint64_t gib[] = { 256, 64, 256, 64 };
    static const uint8_t dist[4][4] = {
        { 10, 13, 21, 23 },
        { 13, 10, 23, 23 },
        { 21, 23, 10, 13 },
        { 23, 23, 13, 10 },
    };

    (void)state;
    resolve_example("2s-hbm-flat.xml");
    check_host(4, gib, dist,
               "256G,64G,256G,64G;"
               "dist=10,13,21,23,13,10,23,23,21,23,10,13,23,23,13,10;"
               "cpus=2,0,2,0");
    assert_non_null(strstr(host.source,
                           "nodes in hwloc logical order = OS nodes 0,2,1,3"));
    check_round_trip();
}

static void test_epyc_memoryless(void **state)
{
    static const uint64_t gib[] = { 64, 64, 64, 0 };
    static const uint8_t dist[4][4] = {
        { 10, 11, 12, 12 },
        { 11, 10, 12, 12 },
        { 12, 12, 10, 11 },
        { 12, 12, 11, 10 },
    };

    (void)state;
    resolve_example("epyc-nps4-memoryless.xml");
    check_host(4, gib, dist,
               "64G,64G,64G,0;"
               "dist=10,11,12,12,11,10,12,12,12,12,10,11,12,12,11,10;"
               "cpus=2");
    check_round_trip();
}

/* ========================================================================
 * Specs and this machine
 * ======================================================================== */

static void test_spec_round_trip(void **state)
{
    (void)state;
    assert_int_equal(resolve("4x64G"), 0);
    assert_string_equal(err, "");
    assert_int_equal(host.nr_nodes, 4);
    for ( uint32_t i = 0; i < 4; i++ )
    {
        assert_int_equal(host.node_pages[i], 64 * GIB_PAGES);
        for ( uint32_t j = 0; j < 4; j++ )
            assert_int_equal(host.distance[i][j], i == j ? 10 : 21);
    }
    assert_string_equal(host.spec, "64G,64G,64G,64G;"
                        "dist=10,21,21,21,21,10,21,21,21,21,10,21,21,21,21,10");
    assert_string_equal(host.source, "spec 4x64G");
    check_round_trip();

    /* Every suffix, bytes, a memoryless node, a 3-digit distance. */
    assert_int_equal(resolve("1536m,2147483648,8k,0,1t;dist="
                             "10,12,13,14,255,"
                             "12,10,12,13,14,"
                             "13,12,10,12,13,"
                             "14,13,12,10,12,"
                             "255,14,13,12,10"), 0);
    assert_int_equal(host.nr_nodes, 5);
    assert_int_equal(host.node_pages[0], 1536ULL << 8);
    assert_int_equal(host.node_pages[1], 2 * GIB_PAGES);
    assert_int_equal(host.node_pages[2], 2);
    assert_int_equal(host.node_pages[3], 0);
    assert_int_equal(host.node_pages[4], 1024 * GIB_PAGES);
    assert_int_equal(host.distance[0][4], 255);
    assert_int_equal(host.distance[4][0], 255);
    assert_int_equal(host.distance[1][3], 13);
    assert_string_equal(host.spec, "1536M,2G,8K,0,1T;dist="
                        "10,12,13,14,255,12,10,12,13,14,13,12,10,12,13,"
                        "14,13,12,10,12,255,14,13,12,10");
    check_round_trip();

    /* One node. */
    assert_int_equal(resolve("4100K"), 0);
    assert_int_equal(host.nr_nodes, 1);
    assert_int_equal(host.node_pages[0], 1025);
    assert_string_equal(host.spec, "4100K;dist=10");
    check_round_trip();

    /* CPUs: kept through the spec, written only when not the default 8
     * per node, as one count when every node has the same. */
    assert_int_equal(resolve("4x64G"), 0);
    for ( uint32_t i = 0; i < 4; i++ )
        assert_int_equal(host.node_cpus[i], 8);
    assert_int_equal(resolve("2x1G;cpus=4,0"), 0);
    assert_int_equal(host.node_cpus[0], 4);
    assert_int_equal(host.node_cpus[1], 0);
    assert_string_equal(host.spec, "1G,1G;dist=10,21,21,10;cpus=4,0");
    check_round_trip();
    assert_int_equal(resolve("2x1G;cpus=16"), 0);
    assert_string_equal(host.spec, "1G,1G;dist=10,21,21,10;cpus=16");
    check_round_trip();
    assert_int_equal(resolve("2x1G;cpus=2;dist=10,30,30,10"), 0);
    assert_string_equal(host.spec, "1G,1G;dist=10,30,30,10;cpus=2");
    check_round_trip();
    assert_int_equal(resolve("2x1G;cpus=2,2,2"), -1);
    assert_non_null(strstr(err, "has 3 counts, the host has 2 nodes"));
}

/* Append "a,b,..." for the matrix d(i, j) of n nodes. */
static size_t put_matrix(char *spec, size_t size, size_t used, uint32_t n,
                         unsigned int (*d)(uint32_t i, uint32_t j))
{
    used += (size_t)snprintf(spec + used, size - used, ";dist=");
    for ( uint32_t i = 0; i < n; i++ )
        for ( uint32_t j = 0; j < n; j++ )
            used += (size_t)snprintf(spec + used, size - used, "%s%u",
                                     i || j ? "," : "", d(i, j));
    return used;
}

static unsigned int default_dist(uint32_t i, uint32_t j)
{
    return i == j ? 10 : 21;
}

/* Three digits almost everywhere, 255 (unreachable) between halves. */
static unsigned int wide_dist(uint32_t i, uint32_t j)
{
    return i == j ? 10 : (i < 32) != (j < 32) ? 255 : 100 + (i ^ j);
}

/* 64 nodes: the whole matrix is always written (TS_SPEC_MAX holds 64 nodes
 * of any size, 4096 three-digit distances and 64 CPU counts). */
static void test_spec_64_nodes(void **state)
{
    static char spec[TS_SPEC_MAX], arg[TS_SPEC_MAX];
    size_t used = 0, sizes;

    (void)state;
    assert_int_equal(resolve("64x1G"), 0);
    assert_int_equal(host.nr_nodes, 64);
    assert_int_equal(host.distance[63][0], 21);
    assert_int_equal(host.distance[63][63], 10);
    for ( int i = 0; i < 64; i++ )
        used += (size_t)snprintf(spec + used, sizeof(spec) - used, "%s1G",
                                 i ? "," : "");
    sizes = used;
    used = put_matrix(spec, sizeof(spec), used, 64, default_dist);
    assert_string_equal(host.spec, spec);
    check_round_trip();

    assert_int_equal(resolve("64x1G;cpus=1"), 0);
    snprintf(spec + used, sizeof(spec) - used, ";cpus=1");
    assert_string_equal(host.spec, spec);
    check_round_trip();

    /* A full matrix of 3-digit distances and a CPU count per node: more
     * than the 8 KiB the spec used to be cut at. */
    used = put_matrix(spec, sizeof(spec), sizes, 64, wide_dist);
    used += (size_t)snprintf(spec + used, sizeof(spec) - used, ";cpus=64");
    for ( int i = 1; i < 64; i++ )
        used += (size_t)snprintf(spec + used, sizeof(spec) - used, ",%d",
                                 i % 2 ? 63 : 64);
    assert_true(used > 16384 && used < sizeof(spec));
    memcpy(arg, spec, used + 1);
    if ( resolve("%s", arg) )
        fail_msg("64 nodes, full matrix: %s", err);
    assert_string_equal(host.spec, spec);
    assert_int_equal(host.distance[0][63], 255);
    assert_int_equal(host.distance[1][2], 103);
    assert_int_equal(host.node_cpus[1], 63);
    check_round_trip();
}

static void test_local(void **state)
{
    uint64_t total = 0;

    (void)state;
    if ( resolve("local") )
        print_error("local: %s\n", err);
    assert_string_equal(err, "");
    assert_true(host.nr_nodes >= 1);
    assert_true(host.nr_nodes <= TS_MAX_NODES);
    for ( uint32_t i = 0; i < host.nr_nodes; i++ )
    {
        total += host.node_pages[i];
        assert_int_equal(host.distance[i][i], 10);
    }
    assert_true(total > 0);
    assert_true(strncmp(host.source, "local: ", 7) == 0);
    check_round_trip();
}

/* ========================================================================
 * Written XML files
 * ======================================================================== */

static void test_xml_rounding_and_default_distances(void **state)
{
    /* 1 GiB + 4095 bytes, 2 GiB + 1 KiB: whole pages, rounded down. */
    static const uint64_t mem[] = { (1ULL << 30) + 4095,
                                    (2ULL << 30) + 1024, 8192 };

    (void)state;
    write_xml(3, mem, NULL);
    assert_int_equal(resolve("hwloc:%s", tmp_path), 0);
    remove_tmp();
    assert_int_equal(host.nr_nodes, 3);
    assert_int_equal(host.node_pages[0], GIB_PAGES);
    assert_int_equal(host.node_pages[1], 2 * GIB_PAGES);
    assert_int_equal(host.node_pages[2], 2);
    for ( uint32_t i = 0; i < 3; i++ )
        for ( uint32_t j = 0; j < 3; j++ )
            assert_int_equal(host.distance[i][j], i == j ? 10 : 21);
    /* The one PU is node 0's: every node's cpuset holds it. */
    assert_string_equal(host.spec,
                        "1G,2G,8K;dist=10,21,21,21,10,21,21,21,10;cpus=1,0,0");
    assert_non_null(strstr(host.source, "3 NUMA nodes, no NUMA distance "
                                        "matrix: default 10 local, 21 remote"));
}

static void test_xml_user_matrix(void **state)
{
    static const uint64_t mem[] = { 1ULL << 30, 1ULL << 30 };
    static const uint64_t dist[] = { 10, 40, 255, 10 };

    (void)state;
    write_xml(2, mem, dist);
    assert_int_equal(resolve("hwloc:%s", tmp_path), 0);
    remove_tmp();
    assert_int_equal(host.distance[0][0], 10);
    assert_int_equal(host.distance[0][1], 40);
    assert_int_equal(host.distance[1][0], 255);
    assert_int_equal(host.distance[1][1], 10);
    assert_string_equal(host.spec, "1G,1G;dist=10,40,255,10;cpus=1,0");
}

static void test_error_missing_file(void **state)
{
    (void)state;
    assert_int_equal(resolve("hwloc:/nonexistent/numaclaim/none.xml"), -1);
    expect_error("hwloc:/nonexistent/numaclaim/none.xml: cannot read it: "
                 "No such file or directory");

    assert_int_equal(resolve("hwloc:/"), -1);
    expect_error("hwloc:/: cannot read it: Is a directory");

    assert_int_equal(resolve("hwloc:"), -1);
    expect_error("host \"hwloc:\": expected a file name after \"hwloc:\"");
}

static void test_error_not_xml(void **state)
{
    char expect[256];

    (void)state;
    write_tmp("4x64G\nthis is a host spec, not an lstopo export\n");
    assert_int_equal(resolve("hwloc:%s", tmp_path), -1);
    remove_tmp();
    snprintf(expect, sizeof(expect), "hwloc:%s: not an hwloc XML topology "
             "(not XML)", tmp_path);
    expect_error(expect);

    write_tmp("");
    assert_int_equal(resolve("hwloc:%s", tmp_path), -1);
    remove_tmp();
    snprintf(expect, sizeof(expect), "hwloc:%s: empty file, not an hwloc "
             "XML topology", tmp_path);
    expect_error(expect);

    /* XML, but not a topology. */
    write_tmp("<?xml version=\"1.0\"?>\n<domain type=\"xen\"/>\n");
    assert_int_equal(resolve("hwloc:%s", tmp_path), -1);
    remove_tmp();
    /* The same words with either of hwloc's XML backends (meson runs
     * this suite with libxml2 and with HWLOC_LIBXML_IMPORT=0). */
    snprintf(expect, sizeof(expect), "hwloc:%s: not a usable hwloc XML "
             "topology (hwloc cannot load it)", tmp_path);
    expect_error(expect);
}

/* Files that crash libhwloc 2.9.0 inside hwloc_topology_load (found by
 * fuzz-hwloc): refused with a message, the process alive. */
static void test_error_hwloc_crashes(void **state)
{
    static const char *const files[] = { "hwloc-crashes-libxml2.xml",
                                         "hwloc-crashes-minimal.xml" };
    const char *root = getenv("NC_SOURCE_ROOT");
    char path[512], expect[600];

    (void)state;
    for ( size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++ )
    {
        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/hwloc/%s",
                 root ? root : ".", files[i]);
        assert_int_equal(resolve("hwloc:%s", path), -1);
        snprintf(expect, sizeof(expect), "hwloc:%s: not a usable hwloc XML "
                 "topology (hwloc ", path);
        expect_error(expect);
    }
}

static void test_error_bad_distance(void **state)
{
    static const uint64_t mem[] = { 1ULL << 30, 1ULL << 30 };
    static const uint64_t local12[] = { 12, 21, 21, 12 };
    static const uint64_t remote10[] = { 10, 21, 10, 10 };
    static const uint64_t remote256[] = { 10, 256, 21, 10 };
    char expect[512];

    (void)state;
    write_xml(2, mem, local12);
    assert_int_equal(resolve("hwloc:%s", tmp_path), -1);
    remove_tmp();
    snprintf(expect, sizeof(expect), "hwloc:%s: NUMA distance from node 0 "
             "(P#0) to node 0 (P#0) is 12 in matrix \"NUMALatency\": a "
             "node's distance to itself must be 10", tmp_path);
    expect_error(expect);

    write_xml(2, mem, remote10);
    assert_int_equal(resolve("hwloc:%s", tmp_path), -1);
    remove_tmp();
    expect_error("NUMA distance from node 1 (P#1) to node 0 (P#0) is 10 in "
                 "matrix \"NUMALatency\": a remote distance must be from 11 "
                 "to 255");

    write_xml(2, mem, remote256);
    assert_int_equal(resolve("hwloc:%s", tmp_path), -1);
    remove_tmp();
    expect_error("NUMA distance from node 0 (P#0) to node 1 (P#1) is 256 in "
                 "matrix \"NUMALatency\": a remote distance must be from 11 "
                 "to 255");
}

static void test_error_no_memory(void **state)
{
    static const uint64_t mem[] = { 0, 4095 };
    char expect[256];

    (void)state;
    write_xml(2, mem, NULL);
    assert_int_equal(resolve("hwloc:%s", tmp_path), -1);
    remove_tmp();
    snprintf(expect, sizeof(expect), "hwloc:%s: no NUMA node has memory",
             tmp_path);
    expect_error(expect);

    /* No NUMANode at all: hwloc 2.9 itself refuses such a topology. */
    write_tmp("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n"
              "<topology version=\"2.0\">\n"
              "  <object type=\"Machine\" os_index=\"0\" "
              "cpuset=\"0x00000001\" complete_cpuset=\"0x00000001\" "
              "allowed_cpuset=\"0x00000001\" nodeset=\"0x00000001\" "
              "complete_nodeset=\"0x00000001\" "
              "allowed_nodeset=\"0x00000001\" gp_index=\"1\">\n"
              "    <object type=\"PU\" os_index=\"0\" "
              "cpuset=\"0x00000001\" complete_cpuset=\"0x00000001\" "
              "nodeset=\"0x00000001\" complete_nodeset=\"0x00000001\" "
              "gp_index=\"2\"/>\n"
              "  </object>\n"
              "</topology>\n");
    assert_int_equal(resolve("hwloc:%s", tmp_path), -1);
    remove_tmp();
    snprintf(expect, sizeof(expect), "hwloc:%s: not a usable hwloc XML "
             "topology (hwloc cannot load it)", tmp_path);
    expect_error(expect);
}

static void test_error_too_many_nodes(void **state)
{
    static uint64_t mem[65];
    char expect[256];

    (void)state;
    for ( int i = 0; i < 65; i++ )
        mem[i] = 1ULL << 30;
    write_xml(65, mem, NULL);
    assert_int_equal(resolve("hwloc:%s", tmp_path), -1);
    remove_tmp();
    snprintf(expect, sizeof(expect), "hwloc:%s: 65 NUMA nodes, a numaclaim "
             "host has at most 64", tmp_path);
    expect_error(expect);

    /* 64 is fine. */
    write_xml(64, mem, NULL);
    assert_int_equal(resolve("hwloc:%s", tmp_path), 0);
    remove_tmp();
    assert_int_equal(host.nr_nodes, 64);
    assert_int_equal(host.node_pages[63], GIB_PAGES);
}

static void test_error_bad_spec(void **state)
{
    (void)state;
    assert_int_equal(resolve("4x64Q"), -1);
    expect_error("node size \"64Q\": expected a number with an optional K, "
                 "M, G or T suffix");

    assert_int_equal(resolve("2x1G;dist=10,21,21"), -1);
    expect_error("distance matrix \"10,21,21\": has 3 entries, 2 nodes "
                 "need 4");

    assert_int_equal(resolve("1G,1G;dist=10,21,21,11"), -1);
    expect_error("distance from node 1 to node 1 is 11: a node's distance "
                 "to itself must be 10");

    assert_int_equal(resolve("2x6K"), -1);
    expect_error("node size \"6K\": not a multiple of 4K");

    assert_int_equal(resolve("65x1G"), -1);
    expect_error("node count \"65\": expected a number from 1 to 64");

    assert_int_equal(resolve("loca"), -1);
    expect_error("node size \"loca\"");

    assert_int_equal(resolve("%s", ""), -1);
    expect_error("host spec \"\": empty");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_2s_snc2),
        cmocka_unit_test(test_8node_uneven),
        cmocka_unit_test(test_2s_hbm_flat),
        cmocka_unit_test(test_epyc_memoryless),
        cmocka_unit_test(test_spec_round_trip),
        cmocka_unit_test(test_spec_64_nodes),
        cmocka_unit_test(test_local),
        cmocka_unit_test(test_xml_rounding_and_default_distances),
        cmocka_unit_test(test_xml_user_matrix),
        cmocka_unit_test(test_error_missing_file),
        cmocka_unit_test(test_error_not_xml),
        cmocka_unit_test(test_error_bad_distance),
        cmocka_unit_test(test_error_no_memory),
        cmocka_unit_test(test_error_too_many_nodes),
        cmocka_unit_test(test_error_bad_spec),
        cmocka_unit_test(test_error_hwloc_crashes),
    };

    return cmocka_run_group_tests_name("hosts", tests, NULL, NULL);
}
