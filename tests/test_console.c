/* SPDX-License-Identifier: MIT */
/*
 * The console ring and the core's formatter: exact bytes of the boot,
 * domain and claim messages, Xen's readconsole rules (incremental reads,
 * truncated reads, clear, a full ring keeping the newest bytes) and the
 * debug-key dumps.
 */
#include <limits.h>
#include <stdlib.h>

#include "common.h"

#define NODE_64M    16384ULL

/* ========================================================================
 * Helpers
 * ======================================================================== */

static char *ring;                      /* NC_CONSOLE_SIZE + 1 */

/* Everything after *index (incremental), NUL-terminated; moves *index. */
static const char *read_new(struct nc_host *h, uint32_t *index)
{
    uint32_t count;

    nc_console_read(h, ring, NC_CONSOLE_SIZE, index, NC_CONSOLE_INCREMENTAL,
                    &count);
    ring[count] = '\0';
    return ring;
}

/* The whole ring, NUL-terminated; *end (if given) is the index after it. */
static const char *read_all(struct nc_host *h, uint32_t *end)
{
    uint32_t index = 0, count;

    nc_console_read(h, ring, NC_CONSOLE_SIZE, &index, 0, &count);
    ring[count] = '\0';
    if ( end )
        *end = index;
    return ring;
}

static int setup(void **state)
{
    (void)state;
    ring = calloc(1, NC_CONSOLE_SIZE + 1);
    return ring ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(ring);
    return 0;
}

static void expect_format(const char *want, int len, const char *got,
                          int got_len)
{
    assert_string_equal(got, want);
    assert_int_equal(got_len, len);
}

#define FMT(want, ...) \
    do { \
        char b_[128]; \
        int n_ = nc_format(b_, sizeof(b_), __VA_ARGS__); \
        expect_format(want, (int)strlen(want), b_, n_); \
    } while ( 0 )

/* ========================================================================
 * The formatter
 * ======================================================================== */

static void test_format_conversions(void **state)
{
    (void)state;
    FMT("plain", "plain");
    FMT("-5 7 ff FF", "%d %u %x %X", -5, 7u, 255u, 255u);
    FMT("[   42][42   ][00042][-0042]", "[%5u][%-5u][%05d][%05d]", 42u, 42u,
        42, -42);
    FMT("18446744073709551615", "%llu", ULLONG_MAX);
    FMT("-9223372036854775808", "%lld", LLONG_MIN);
    FMT("-2147483648 4294967295", "%d %u", INT_MIN, UINT_MAX);
    FMT("ffffffffffffffff", "%lx", ~0UL);
    FMT("12345", "%zu", (size_t)12345);
    FMT("255 -1 7", "%hhu %hd %hu", (unsigned char)255, (short)-1,
        (unsigned short)7);
    FMT("x|ab  |  ab", "%c|%-4s|%4s", 'x', "ab", "ab");
    {
        /* NULL through a variable: the compiler would reject a literal. */
        const char *volatile none = NULL;

        FMT("(null)", "%s", none);
    }
    FMT("0x1000 100%", "%p %u%%", (void *)0x1000, 100u);
}

static void test_format_unknown_and_truncated(void **state)
{
    char b[8];

    (void)state;
    /* An unknown conversion is shown as written (built at run time, so the
     * compiler's format check does not see it). */
    {
        char fmt[8] = "a%qb";

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-security"
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        assert_int_equal(nc_format(b, sizeof(b), fmt), 4);
#pragma GCC diagnostic pop
        assert_string_equal(b, "a%qb");
    }
    /* Cut to size, NUL-terminated, returning the length needed. */
    assert_int_equal(nc_format(b, 4, "abcdef%u", 12u), 8);
    assert_string_equal(b, "abc");
    memset(b, 'z', sizeof(b));
    assert_int_equal(nc_format(b, 0, "abc"), 3);
    assert_int_equal(b[0], 'z');
    assert_int_equal(nc_format(b, 1, "abc"), 3);
    assert_string_equal(b, "");
}

/* ========================================================================
 * Messages
 * ======================================================================== */

static void test_boot_messages(void **state)
{
    struct nc_host *h = host_new("64M,64M,0;cpus=8,6,2");
    uint32_t end;

    (void)state;
    assert_string_equal(read_all(h, &end),
        "(XEN) numaclaim: 3 nodes, 16 CPUs, 128.00 MiB of RAM\n"
        "(XEN) NUMA: node 0: 64.00 MiB in MFNs 0x0-0x3fff, CPUs 0-7\n"
        "(XEN) NUMA: node 1: 64.00 MiB in MFNs 0x4000-0x7fff, CPUs 8-13\n"
        "(XEN) NUMA: node 2: no memory, CPUs 14-15\n"
        "(XEN) d0: created, 16 vCPUs\n");
    assert_int_equal(end, strlen(ring));
    nc_host_destroy(h);
}

static void test_write_prefixes_every_line(void **state)
{
    struct nc_host *h = host_new("2x64M");
    uint32_t idx;

    (void)state;
    read_all(h, &idx);
    nc_console_write(h, "one\ntwo");
    nc_console_write(h, "three\n");
    nc_console_printf(h, "d%u: %s %llu", 7u, "x", 1ULL << 40);
    assert_string_equal(read_new(h, &idx),
                        "(XEN) one\n(XEN) two\n(XEN) three\n"
                        "(XEN) d7: x 1099511627776\n");
    /* Nothing new: an empty read at the end. */
    assert_string_equal(read_new(h, &idx), "");
    nc_host_destroy(h);
}

static void test_domain_and_claim_messages(void **state)
{
    struct nc_host *h = host_new("2x64M");
    uint32_t idx;
    nc_domid_t d;

    (void)state;
    read_all(h, &idx);
    d = dom_new(h, 4 * NODE_64M);
    assert_string_equal(read_new(h, &idx), "(XEN) d1: created, 1 vCPU\n");

    assert_int_equal(claim_set(h, d, 3, NODEC(0, 512), NODEC(1, 0),
                               HOSTC(256)), 0);
    assert_string_equal(read_new(h, &idx), "(XEN) d1: claim set installed: "
                        "node0 2.00 MiB, host 1.00 MiB\n");

    assert_int_equal(claim_set(h, d, 1, NODEC(1, NODE_64M + 1)), -ENOMEM);
    assert_string_equal(read_new(h, &idx), "(XEN) d1: claim set refused: "
                        "ENOMEM (-12): node1 64.00 MiB\n");
    assert_int_equal(claim_set(h, d, 0), -EINVAL);
    assert_string_equal(read_new(h, &idx), "(XEN) d1: claim set of 0 "
                        "entries refused: EINVAL (-22)\n");

    assert_int_equal(claim_set(h, d, 1, NODEC(0, 0)), 0);
    assert_string_equal(read_new(h, &idx), "(XEN) d1: claim set released\n");

    assert_int_equal(nc_claim_pages(h, CTL, d, 1024), 0);
    assert_string_equal(read_new(h, &idx), "(XEN) d1: claim installed: host "
                        "4.00 MiB (XENMEM_claim_pages to 1024 pages)\n");
    assert_int_equal(nc_claim_pages(h, CTL, d, 0), 0);
    assert_string_equal(read_new(h, &idx), "(XEN) d1: claims released "
                        "(XENMEM_claim_pages 0)\n");
    assert_int_equal(nc_claim_pages(h, CTL, d, 3 * NODE_64M), -ENOMEM);
    assert_string_equal(read_new(h, &idx), "(XEN) d1: XENMEM_claim_pages to "
                        "49152 pages refused: ENOMEM (-12)\n");

    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
    assert_string_equal(read_new(h, &idx), "(XEN) d1: destroyed\n");
    nc_host_destroy(h);
}

static void test_recall_message(void **state)
{
    struct nc_host *h = host_new("2x64M");
    uint32_t idx, status;
    nc_domid_t a = dom_new(h, 2 * NODE_64M), b = dom_new(h, 2 * NODE_64M);

    (void)state;
    /* Node 1 fully claimed by two domains: offlining one free frame
     * recalls one page, from the lowest domid first. */
    assert_int_equal(claim_set(h, a, 1, NODEC(1, NODE_64M / 2)), 0);
    assert_int_equal(claim_set(h, b, 1, NODEC(1, NODE_64M / 2)), 0);
    read_all(h, &idx);
    assert_int_equal(nc_page_offline(h, CTL, NODE_64M + 5, false, &status), 0);
    assert_string_equal(read_new(h, &idx), "(XEN) mfn 0x4005 offlined: "
                        "recalled 1 claimed page: d1 node1 1\n");
    /* Offlining without a recall says nothing. */
    assert_int_equal(nc_page_offline(h, CTL, 5, false, &status), 0);
    assert_string_equal(read_new(h, &idx), "");
    nc_host_destroy(h);
}

/* ========================================================================
 * Xen's readconsole rules
 * ======================================================================== */

static void test_truncated_and_incremental_reads(void **state)
{
    struct nc_host *h = host_new("2x64M");
    char buf[16];
    uint32_t idx, start, count;

    (void)state;
    read_all(h, &start);
    nc_console_write(h, "0123456789abcdefghij");    /* 27 bytes */
    idx = start;
    nc_console_read(h, buf, 10, &idx, NC_CONSOLE_INCREMENTAL, &count);
    assert_int_equal(count, 10);
    assert_int_equal(idx, start + 10);
    assert_memory_equal(buf, "(XEN) 0123", 10);
    nc_console_read(h, buf, 10, &idx, NC_CONSOLE_INCREMENTAL, &count);
    assert_int_equal(count, 10);
    assert_memory_equal(buf, "456789abcd", 10);
    nc_console_read(h, buf, 10, &idx, NC_CONSOLE_INCREMENTAL, &count);
    assert_int_equal(count, 7);
    assert_int_equal(idx, start + 27);
    assert_memory_equal(buf, "efghij\n", 7);

    /* max 0: nothing copied, the index is where the read would start. */
    idx = start + 3;
    nc_console_read(h, buf, 0, &idx, NC_CONSOLE_INCREMENTAL, &count);
    assert_int_equal(count, 0);
    assert_int_equal(idx, start + 3);
    /* Not incremental: from the oldest byte, whatever the index says. */
    idx = start + 3;
    nc_console_read(h, buf, 0, &idx, 0, &count);
    assert_int_equal(idx, 0);
    /* An index beyond the end is not in the ring: from the oldest. */
    idx = start + 1000;
    nc_console_read(h, buf, 6, &idx, NC_CONSOLE_INCREMENTAL, &count);
    assert_int_equal(idx, 6);
    assert_memory_equal(buf, "(XEN) ", 6);
    nc_host_destroy(h);
}

static void test_clear(void **state)
{
    struct nc_host *h = host_new("2x64M");
    char buf[64];
    uint32_t idx = 0, end, count;

    (void)state;
    read_all(h, &end);
    /* Reading 6 bytes with clear drops those 6 only. */
    nc_console_read(h, buf, 6, &idx, NC_CONSOLE_CLEAR, &count);
    assert_int_equal(count, 6);
    idx = 0;
    nc_console_read(h, buf, sizeof(buf), &idx, 0, &count);
    assert_memory_equal(buf, "numaclaim: ", 11);

    /* Clear to the end: the ring reads empty until something is written. */
    nc_console_clear(h, end);
    assert_string_equal(read_all(h, NULL), "");
    /* A stale or bogus index clears nothing. */
    nc_console_write(h, "after");
    nc_console_clear(h, 3);
    nc_console_clear(h, end + 1000);
    assert_string_equal(read_all(h, &idx), "(XEN) after\n");
    assert_int_equal(idx, end + 12);
    nc_host_destroy(h);
}

static void test_full_ring_keeps_the_newest(void **state)
{
    struct nc_host *h = host_new("2x64M");
    char *want = malloc(1000 * 64);
    uint32_t start, idx, count, total = 0;
    char line[64];

    (void)state;
    assert_non_null(want);
    read_all(h, &start);
    /* 1000 lines of 40 bytes ("(XEN) " included): 40000 bytes through a
     * 16384-byte ring. */
    for ( unsigned int i = 0; i < 1000; i++ )
    {
        snprintf(line, sizeof(line), "line %05u ......................", i);
        nc_console_write(h, line);
        total += (uint32_t)sprintf(want + total, "(XEN) %s\n", line);
    }
    assert_int_equal(total, 40000);
    read_all(h, &idx);
    assert_int_equal(strlen(ring), NC_CONSOLE_SIZE);
    assert_memory_equal(ring, want + total - NC_CONSOLE_SIZE,
                        NC_CONSOLE_SIZE);
    assert_int_equal(idx, start + total);

    /* An index whose byte was overwritten reads from the oldest kept. */
    idx = start;
    nc_console_read(h, ring, 40, &idx, NC_CONSOLE_INCREMENTAL, &count);
    assert_int_equal(count, 40);
    assert_memory_equal(ring, want + total - NC_CONSOLE_SIZE, 40);
    assert_int_equal(idx, start + total - NC_CONSOLE_SIZE + 40);
    free(want);
    nc_host_destroy(h);
}

/* ========================================================================
 * Debug keys
 * ======================================================================== */

static void test_debug_key_h_and_unknown(void **state)
{
    struct nc_host *h = host_new("2x64M");
    uint32_t idx;

    (void)state;
    read_all(h, &idx);
    nc_debug_key(h, 'h');
    assert_string_equal(read_new(h, &idx),
        "(XEN) 'h' pressed: the debug keys\n"
        "(XEN)  key '*' (ascii '2a') => every dump: 'H', 'm' and 'q'\n"
        "(XEN)  key 'H' (ascii '48') => the heap: free pages per node, zone "
        "and order\n"
        "(XEN)  key 'h' (ascii '68') => this list\n"
        "(XEN)  key 'm' (ascii '6d') => claims per domain and node\n"
        "(XEN)  key 'q' (ascii '71') => domains: pages, claims, vCPUs, "
        "state\n");
    /* As Xen: a key without a handler does nothing at all. */
    nc_debug_key(h, 'z');
    nc_debug_key(h, '\0');
    assert_string_equal(read_new(h, &idx), "");
    nc_host_destroy(h);
}

static void test_debug_keys_heap_claims_domains(void **state)
{
    struct nc_host *h = host_new("2x64M");
    uint32_t idx;
    nc_domid_t d = dom_new(h, 4096);

    (void)state;
    assert_int_equal(claim_set(h, d, 2, NODEC(0, 512), NODEC(1, 256)), 0);
    assert_int_equal(nc_populate(h, CTL, d, 0, 0, flags_node(1, 1), NULL), 0);
    read_all(h, &idx);

    /* Zone 1 is MFNs 0 and 1, zone z MFNs [2^(z-1), 2^z).  Node 1 lost
     * MFN 0x4000, the lowest of its zone 15 (0x4000-0x7fff), which is now
     * one block of each order 0..13. */
    nc_debug_key(h, 'H');
    assert_string_equal(read_new(h, &idx),
        "(XEN) 'H' pressed: the heap, free pages per node and zone\n"
        "(XEN) node 0: 16384 of 16384 pages free, 512 claimed\n"
        "(XEN) heap[node=0][zone=1] -> 2 pages; free blocks by order: 1:1\n"
        "(XEN) heap[node=0][zone=2] -> 2 pages; free blocks by order: 1:1\n"
        "(XEN) heap[node=0][zone=3] -> 4 pages; free blocks by order: 2:1\n"
        "(XEN) heap[node=0][zone=4] -> 8 pages; free blocks by order: 3:1\n"
        "(XEN) heap[node=0][zone=5] -> 16 pages; free blocks by order: 4:1\n"
        "(XEN) heap[node=0][zone=6] -> 32 pages; free blocks by order: 5:1\n"
        "(XEN) heap[node=0][zone=7] -> 64 pages; free blocks by order: 6:1\n"
        "(XEN) heap[node=0][zone=8] -> 128 pages; free blocks by order: 7:1\n"
        "(XEN) heap[node=0][zone=9] -> 256 pages; free blocks by order: 8:1\n"
        "(XEN) heap[node=0][zone=10] -> 512 pages; free blocks by order: "
        "9:1\n"
        "(XEN) heap[node=0][zone=11] -> 1024 pages; free blocks by order: "
        "10:1\n"
        "(XEN) heap[node=0][zone=12] -> 2048 pages; free blocks by order: "
        "11:1\n"
        "(XEN) heap[node=0][zone=13] -> 4096 pages; free blocks by order: "
        "12:1\n"
        "(XEN) heap[node=0][zone=14] -> 8192 pages; free blocks by order: "
        "13:1\n"
        "(XEN) node 1: 16383 of 16384 pages free, 255 claimed\n"
        "(XEN) heap[node=1][zone=15] -> 16383 pages; free blocks by order: "
        "0:1 1:1 2:1 3:1 4:1 5:1 6:1 7:1 8:1 9:1 10:1 11:1 12:1 13:1\n"
        "(XEN) host: 32767 of 32768 pages free, 0 offlined\n");

    /* nc_host_dump(): the same lines as text, for the checker's failure
     * message; cut like snprintf, returning the length it needs. */
    {
        char dump[2048], small[40];
        size_t need = nc_host_dump(h, dump, sizeof(dump));

        assert_int_equal(need, strlen(dump));
        assert_memory_equal(dump,
            "node 0: 16384 of 16384 pages free, 512 claimed\n"
            "heap[node=0][zone=1] -> 2 pages; free blocks by order: 1:1\n",
            strlen("node 0: 16384 of 16384 pages free, 512 claimed\n"
                   "heap[node=0][zone=1] -> 2 pages; free blocks by order: "
                   "1:1\n"));
        assert_non_null(strstr(dump,
            "node 1: 16383 of 16384 pages free, 255 claimed\n"
            "heap[node=1][zone=15] -> 16383 pages; free blocks by order: "
            "0:1 1:1 2:1 3:1 4:1 5:1 6:1 7:1 8:1 9:1 10:1 11:1 12:1 13:1\n"
            "host: 32767 of 32768 pages free, 0 offlined\n"));
        assert_int_equal(nc_host_dump(h, small, sizeof(small)), need);
        assert_string_equal(small, "node 0: 16384 of 16384 pages free, 512 ");
        assert_int_equal(nc_host_dump(h, NULL, 0), need);
    }

    nc_debug_key(h, 'm');
    assert_string_equal(read_new(h, &idx),
        "(XEN) 'm' pressed: claims per domain and node\n"
        "(XEN) d1: outstanding 767 pages: host 0, node0 512, node1 255\n"
        "(XEN) node 0: 512 pages claimed\n"
        "(XEN) node 1: 255 pages claimed\n"
        "(XEN) host: 767 pages outstanding, 32767 free\n");

    nc_debug_key(h, 'q');
    assert_string_equal(read_new(h, &idx),
        "(XEN) 'q' pressed: domains\n"
        "(XEN) d0: running, 16 vCPUs, tot_pages 0, max_pages 0, "
        "outstanding 0, node affinity 0x3\n"
        "(XEN) d1: paused, 1 vCPU, tot_pages 1, max_pages 4096, "
        "outstanding 767, node affinity 0x3\n");

    /* '*' is all three, in that order. */
    nc_debug_key(h, '*');
    read_new(h, &idx);
    assert_non_null(strstr(ring, "'H' pressed"));
    assert_true(strstr(ring, "'H' pressed") < strstr(ring, "'m' pressed"));
    assert_true(strstr(ring, "'m' pressed") < strstr(ring, "'q' pressed"));
    nc_host_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_conversions),
        cmocka_unit_test(test_format_unknown_and_truncated),
        cmocka_unit_test(test_boot_messages),
        cmocka_unit_test(test_write_prefixes_every_line),
        cmocka_unit_test(test_domain_and_claim_messages),
        cmocka_unit_test(test_recall_message),
        cmocka_unit_test(test_truncated_and_incremental_reads),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_full_ring_keeps_the_newest),
        cmocka_unit_test(test_debug_key_h_and_unknown),
        cmocka_unit_test(test_debug_keys_heap_claims_domains),
    };

    return cmocka_run_group_tests_name("console", tests, setup, teardown);
}
