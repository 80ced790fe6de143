/* SPDX-License-Identifier: MIT */
/*
 * White-box tests of the hierarchical bitmap (src/core/hbitmap.c, the
 * buddy heap's free-block index), which this file includes whole, as
 * Xen's tools/tests build hypervisor files into host programs: the bitmap
 * is tested alone, on sizes the heap never makes, with the environment
 * (src/env/posix.c) linked in for its allocations.
 *
 * Covered: every size around a level boundary (0, 1, 63, 64, 65, 4095,
 * 4096, 4097, 64^3, 64^3 + 1 bits), with the number of levels each must
 * have; the first and the last bit; a bit on each side of every word and
 * summary boundary; empty and full maps; searches from 0, from past the
 * end and from NC_HB_NONE; the summary rule of hbitmap.h (bit w of level
 * l + 1 set whenever word w of level l is non-zero) after every change;
 * stale summary bits, which hb_next steps past and hb_next_prune clears
 * with the summaries above them that empty; the pruning search's lower
 * bound, no set bit below it, as sets and searches move it; random
 * set/clear against a plain bit array, searched both ways; the
 * allocator's take (hb_take_next) and merge (hb_clear_buddy_or_set) steps
 * against one; and hb_init's failure at each of its allocations, leaking
 * nothing.
 */
#include "common.h"

#include <inttypes.h>

#include "../src/core/hbitmap.c"

#define WORD_BITS 64ULL

/* The sizes around each level boundary and the levels each must have
 * (two at least: hbitmap.h). */
static const struct {
    uint64_t nbits;
    unsigned int levels;
} sizes[] = {
    { 0, 2 }, { 1, 2 }, { 63, 2 }, { 64, 2 }, { 65, 2 },
    { 4095, 2 }, { 4096, 2 }, { 4097, 3 },
    { 262144, 3 }, { 262145, 4 },
};

static bool summary_bit(const struct nc_hbitmap *b, unsigned int l,
                        uint64_t w)
{
    return (b->word[l + 1][w / WORD_BITS] >> (w % WORD_BITS)) & 1;
}

/* The summary rule of hbitmap.h, nothing set past nbits, and nothing
 * set below the search bound. */
static void assert_summaries(const struct nc_hbitmap *b)
{
    uint64_t first = hb_next(b, 0);

    assert_true(first == NC_HB_NONE ? b->low <= b->nbits : b->low <= first);
    for ( unsigned int l = 0; l + 1 < b->levels; l++ )
        for ( uint64_t w = 0; w < b->nwords[l]; w++ )
            if ( b->word[l][w] && !summary_bit(b, l, w) )
                fail_msg("%" PRIu64 " bits: level %u word %" PRIu64
                         " is non-zero but its summary bit is clear",
                         b->nbits, l, w);
    for ( uint64_t i = b->nbits; i < b->nwords[0] * WORD_BITS; i++ )
        assert_false((b->word[0][i / WORD_BITS] >> (i % WORD_BITS)) & 1);
    assert_int_equal(b->nwords[b->levels - 1], 1);
}

/* Empty: no bit found either way, and the pruning search's bound moved
 * to the end.  (Stale summary bits may remain: see test_stale_summaries.) */
static void assert_empty(struct nc_hbitmap *b)
{
    assert_int_equal(hb_next(b, 0), NC_HB_NONE);
    for ( uint64_t w = 0; w < b->nwords[0]; w++ )
        assert_int_equal(b->word[0][w], 0);
    assert_int_equal(hb_next_prune(b, 0), NC_HB_NONE);
    assert_int_equal(b->low, b->nbits);
}

/* Searches from 0, from the end, past it and from NC_HB_NONE. */
static void assert_ends(const struct nc_hbitmap *b)
{
    assert_int_equal(hb_next(b, b->nbits), NC_HB_NONE);
    assert_int_equal(hb_next(b, b->nbits + 1), NC_HB_NONE);
    assert_int_equal(hb_next(b, b->nwords[0] * WORD_BITS), NC_HB_NONE);
    assert_int_equal(hb_next(b, NC_HB_NONE), NC_HB_NONE);
    assert_false(hb_test(b, b->nbits));
    assert_false(hb_test(b, NC_HB_NONE));
}

static void test_levels(void **state)
{
    (void)state;
    for ( size_t k = 0; k < NC_ARRAY_SIZE(sizes); k++ )
    {
        struct nc_hbitmap b;

        assert_int_equal(hb_init(&b, sizes[k].nbits), 0);
        assert_int_equal(b.nbits, sizes[k].nbits);
        assert_int_equal(b.levels, sizes[k].levels);
        assert_empty(&b);
        assert_ends(&b);
        assert_summaries(&b);
        hb_fini(&b);
        assert_int_equal(b.levels, 0);
    }
}

/* One bit alone, at i: found from 0 and from i, not from i + 1; cleared,
 * the map is empty again, summaries included. */
static void one_bit(struct nc_hbitmap *b, uint64_t i)
{
    hb_set(b, i);
    assert_true(hb_test(b, i));
    if ( i )
        assert_false(hb_test(b, i - 1));
    assert_false(hb_test(b, i + 1));
    assert_summaries(b);
    assert_int_equal(hb_next(b, 0), i);
    assert_int_equal(hb_next(b, i), i);
    assert_int_equal(hb_next(b, i + 1), NC_HB_NONE);
    if ( i )
        assert_int_equal(hb_next(b, i - 1), i);
    assert_ends(b);
    hb_set(b, i);                           /* setting twice: no change */
    assert_summaries(b);
    hb_clear(b, i);
    assert_false(hb_test(b, i));
    assert_empty(b);
    hb_clear(b, i);                         /* clearing twice: no change */
    assert_empty(b);
}

/* First and last bit, and both sides of every boundary of every level:
 * 64^k - 1 and 64^k for each k below the map's size. */
static void test_boundaries(void **state)
{
    (void)state;
    for ( size_t k = 0; k < NC_ARRAY_SIZE(sizes); k++ )
    {
        uint64_t n = sizes[k].nbits;
        struct nc_hbitmap b;

        if ( !n )
            continue;
        assert_int_equal(hb_init(&b, n), 0);
        one_bit(&b, 0);
        one_bit(&b, n - 1);
        for ( uint64_t edge = WORD_BITS; edge < n; edge *= WORD_BITS )
        {
            one_bit(&b, edge - 1);
            one_bit(&b, edge);
        }
        hb_fini(&b);
    }
}

/* Two bits either side of a boundary: the search crosses it. */
static void test_search_crosses_levels(void **state)
{
    struct nc_hbitmap b;
    const uint64_t n = 262145;

    (void)state;
    assert_int_equal(hb_init(&b, n), 0);
    for ( uint64_t edge = WORD_BITS; edge <= n - 1; edge *= WORD_BITS )
    {
        hb_set(&b, edge - 1);
        hb_set(&b, n - 1);
        assert_int_equal(hb_next(&b, 0), edge - 1);
        assert_int_equal(hb_next(&b, edge - 1), edge - 1);
        assert_int_equal(hb_next(&b, edge), n - 1);
        hb_clear(&b, edge - 1);
        assert_int_equal(hb_next(&b, 0), n - 1);
        hb_clear(&b, n - 1);
        assert_empty(&b);
    }
    hb_fini(&b);
}

/* Every bit set, then cleared from the top down: each search finds the
 * bit it starts on, then the lowest still set. */
static void test_full(void **state)
{
    (void)state;
    for ( size_t k = 0; k < NC_ARRAY_SIZE(sizes); k++ )
    {
        uint64_t n = sizes[k].nbits;
        struct nc_hbitmap b;

        if ( !n || n > 4097 )
            continue;
        assert_int_equal(hb_init(&b, n), 0);
        for ( uint64_t i = 0; i < n; i++ )
            hb_set(&b, i);
        assert_summaries(&b);
        for ( uint64_t i = 0; i < n; i++ )
        {
            assert_true(hb_test(&b, i));
            assert_int_equal(hb_next(&b, i), i);
        }
        assert_ends(&b);
        for ( uint64_t i = n; i-- > 0; )
        {
            hb_clear(&b, i);
            assert_int_equal(hb_next(&b, 0), i ? 0 : NC_HB_NONE);
            assert_int_equal(hb_next(&b, i), NC_HB_NONE);
        }
        assert_summaries(&b);
        assert_empty(&b);
        hb_fini(&b);
    }
}

/* A word emptied by hb_clear keeps its summary bits (stale): hb_next
 * steps past them and leaves them; hb_next_prune clears them, and the
 * summaries above that empty with them, but not those still needed.  The
 * pruning search's bound: lowered by each set, raised to the lowest bit
 * by a search from below it, not by one from above it. */
static void test_stale_summaries(void **state)
{
    struct nc_hbitmap b;
    const uint64_t n = 262145, first = 70, lone = 5 * 4096 + 70;
    const uint64_t far = 40 * 4096 + 3;

    (void)state;
    assert_int_equal(hb_init(&b, n), 0);
    assert_int_equal(b.levels, 4);
    assert_int_equal(b.low, n);
    hb_set(&b, lone);
    assert_int_equal(b.low, lone);
    hb_set(&b, first);
    hb_set(&b, lone + 1);
    hb_set(&b, far);
    assert_int_equal(b.low, first);
    hb_clear(&b, lone);
    hb_clear(&b, lone + 1);
    assert_summaries(&b);
    /* The chain above the emptied word is all still set. */
    assert_true(summary_bit(&b, 0, lone / 64));
    assert_true(summary_bit(&b, 1, lone / 4096));
    assert_true(summary_bit(&b, 2, lone / 262144));

    assert_int_equal(hb_next(&b, 128), far);
    assert_int_equal(hb_next(&b, lone), far);
    assert_true(summary_bit(&b, 0, lone / 64));     /* left as it was */

    assert_int_equal(hb_next_prune(&b, 128), far);
    assert_int_equal(b.low, first);                 /* searched above it */
    assert_summaries(&b);
    assert_false(summary_bit(&b, 0, lone / 64));
    assert_false(summary_bit(&b, 1, lone / 4096));
    /* Level 2's word 0 also sums the words of first and far: it stays. */
    assert_true(summary_bit(&b, 2, lone / 262144));
    assert_int_equal(hb_next(&b, 0), first);

    /* With first gone, a search from 0 starts at the bound and moves it
     * to the lowest bit left. */
    hb_clear(&b, first);
    assert_int_equal(b.low, first);
    assert_int_equal(hb_next_prune(&b, 0), far);
    assert_int_equal(b.low, far);
    assert_summaries(&b);

    /* A set on a stale chain stops at the first non-zero word. */
    hb_set(&b, lone);
    hb_clear(&b, lone);
    hb_set(&b, lone + 2);
    assert_int_equal(b.low, lone);
    assert_summaries(&b);
    assert_int_equal(hb_next(&b, 0), lone + 2);
    assert_int_equal(hb_next_prune(&b, lone + 3), far);
    assert_int_equal(hb_next_prune(&b, 0), lone + 2);
    assert_int_equal(b.low, lone + 2);
    hb_clear(&b, lone + 2);
    hb_clear(&b, far);
    assert_empty(&b);
    hb_fini(&b);
}

/* Random set and clear on a four-level map against a plain bit array. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    return test_rnd(&rnd_state);
}

static uint64_t plain_next(const uint8_t *bits, uint64_t n, uint64_t from)
{
    for ( uint64_t i = from; i < n; i++ )
        if ( bits[i] )
            return i;
    return NC_HB_NONE;
}

static void test_random_against_plain(void **state)
{
    const uint64_t n = 262145;
    uint8_t *plain = calloc(n, 1);
    struct nc_hbitmap b;

    (void)state;
    assert_non_null(plain);
    assert_int_equal(hb_init(&b, n), 0);
    for ( int op = 0; op < 4000; op++ )
    {
        /* Clustered: mostly near a few hot spots, so words fill. */
        uint64_t spot = (rnd() % 4) * 65536, i = (spot + rnd() % 8192) % n;
        uint64_t from = rnd() % n;

        if ( rnd() % 3 )
        {
            hb_set(&b, i);
            plain[i] = 1;
        }
        else
        {
            hb_clear(&b, i);
            plain[i] = 0;
        }
        assert_int_equal(hb_test(&b, i), plain[i]);
        assert_int_equal(hb_next(&b, from), plain_next(plain, n, from));
        assert_int_equal(hb_next(&b, i), plain_next(plain, n, i));
        /* Pruning now and then, so both searches meet stale bits. */
        if ( op % 7 == 0 )
            assert_int_equal(hb_next_prune(&b, from),
                             plain_next(plain, n, from));
        if ( op % 11 == 0 )
            assert_int_equal(hb_next_prune(&b, 0), plain_next(plain, n, 0));
        if ( op % 500 == 0 )
            assert_summaries(&b);
    }
    assert_summaries(&b);
    hb_fini(&b);
    free(plain);
}

/* The allocator's two compound steps against a plain bit array, with the
 * summary rule and the search bound checked after each: hb_take_next (the
 * next bit found and cleared, in its inline first word or past it) and
 * hb_clear_buddy_or_set (the buddy's bit cleared if set, else the bit
 * set), on a sparse four-level map where most words are empty, as a fresh
 * heap's are, and on the edges of words and of the map. */
static void test_take_and_merge_steps(void **state)
{
    const uint64_t n = 262145;
    uint8_t *plain = calloc(n, 1);
    struct nc_hbitmap b;

    (void)state;
    assert_non_null(plain);
    assert_int_equal(hb_init(&b, n), 0);
    /* The last bit (n - 1 is even: its buddy n is past the map). */
    assert_false(hb_clear_buddy_or_set(&b, n - 1));
    plain[n - 1] = 1;
    assert_int_equal(b.low, n - 1);
    assert_summaries(&b);
    for ( int op = 0; op < 6000; op++ )
    {
        uint64_t spot = (rnd() % 8) * 32768, i = (spot + rnd() % 512) % n;
        uint64_t from = rnd() % 3 ? spot : rnd() % n, got;

        if ( i == n - 1 )
            continue;
        switch ( rnd() % 3 )
        {
        case 0:
            hb_set(&b, i);
            plain[i] = 1;
            break;
        case 1:
            if ( plain[i ^ 1] )
            {
                assert_true(hb_clear_buddy_or_set(&b, i));
                plain[i ^ 1] = 0;
                assert_false(hb_test(&b, i ^ 1));
            }
            else
            {
                assert_false(hb_clear_buddy_or_set(&b, i));
                plain[i] = 1;
                assert_true(hb_test(&b, i));
                assert_true(b.low <= i);
            }
            break;
        default:
            got = hb_take_next(&b, from);
            assert_int_equal(got, plain_next(plain, n, from));
            if ( got != NC_HB_NONE )
            {
                assert_false(hb_test(&b, got));
                plain[got] = 0;
            }
            break;
        }
        assert_int_equal(hb_next(&b, 0), plain_next(plain, n, 0));
        assert_int_equal(hb_next(&b, from), plain_next(plain, n, from));
        if ( op % 50 == 0 )
            assert_summaries(&b);
    }
    /* Empty it from 0 by takes alone. */
    for ( uint64_t i; (i = hb_take_next(&b, 0)) != NC_HB_NONE; )
    {
        assert_int_equal(i, plain_next(plain, n, 0));
        plain[i] = 0;
    }
    assert_int_equal(plain_next(plain, n, 0), NC_HB_NONE);
    assert_empty(&b);
    assert_summaries(&b);
    hb_fini(&b);
    free(plain);
}

/* hb_init with each of its allocations failing: -ENOMEM, nothing kept;
 * the sweep ends at the first run with nothing to fail. */
static void test_init_fails_cleanly(void **state)
{
    (void)state;
    for ( size_t k = 0; k < NC_ARRAY_SIZE(sizes); k++ )
    {
        long n;

        for ( n = 0; n < 16; n++ )
        {
            struct nc_hbitmap b;
            long live = nc_env_alloc_live(), failed = nc_env_alloc_failed();
            int rc;

            nc_env_fail_alloc_after(n, NC_FAULT_ONCE);
            rc = hb_init(&b, sizes[k].nbits);
            nc_env_fail_alloc_after(0, NC_FAULT_OFF);
            if ( nc_env_alloc_failed() == failed )
            {
                assert_int_equal(rc, 0);
                hb_fini(&b);
                break;
            }
            assert_int_equal(rc, -ENOMEM);
            assert_int_equal(b.levels, 0);
            assert_int_equal(nc_env_alloc_live(), live);
        }
        /* One allocation per level. */
        assert_int_equal(n, sizes[k].levels);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_search_crosses_levels),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_stale_summaries),
        cmocka_unit_test(test_random_against_plain),
        cmocka_unit_test(test_take_and_merge_steps),
        cmocka_unit_test(test_init_fails_cleanly),
    };

    nc_env_alloc_track(true);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
