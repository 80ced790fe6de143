/* SPDX-License-Identifier: MIT */
/*
 * White-box tests of the extent maps (src/core/p2m.c: a domain's p2m,
 * its unmapped pages and the hypervisor's anonymous pages), which this
 * file includes whole, as Xen's tools/tests build hypervisor files into
 * host programs, with the environment (src/env/posix.c) linked in.
 *
 * The map is observed through its functions (lookup, range_mapped and
 * range_unmapped, find_run, is_extent, find_mfn, the removal callbacks)
 * and its page count, not through the layout of its array, so that the
 * tests stay true if p2m.c changes how it stores runs.  Covered: the
 * empty map; gpfn 0 and the top of the gpfn space (a run ending at
 * NC_INVALID_GFN, which is never mapped) and NC_INVALID_MFN; in-order
 * appends that merge into one run, appends that cannot merge, merges
 * backwards and bridging two runs, no_merge maps; removal of a head, a
 * tail, a middle (a split) and whole runs, by range and at the entry
 * find_run found, and removal across runs and
 * holes; growth from empty to 1000 runs in few allocations, and a growth
 * that fails changing nothing; and random inserts and removals against a
 * plain gpfn -> mfn array.
 */
#include "common.h"

#include "../src/core/p2m.c"

#if NC_DEBUG >= 2
/* p2m.c's level-2 local check lives in check.c, which needs the whole
 * core: here every map is compared with a plain array instead. */
int check_p2m(const struct nc_p2m *p, char *why, size_t len)
{
    (void)p;
    (void)why;
    (void)len;
    return 0;
}
#endif

static void reserve(struct nc_p2m *p)
{
    assert_int_equal(p2m_reserve(p, NULL, 1), 0);
    assert_true(p2m_spare(p, 1 + p->nr / 8));
}

static void insert(struct nc_p2m *p, uint64_t gpfn, uint64_t mfn,
                   uint64_t nr)
{
    reserve(p);
    p2m_insert(p, gpfn, mfn, nr);
}

/* gpfn maps to mfn (or to nothing, mfn == NC_INVALID_MFN). */
static void assert_maps(const struct nc_p2m *p, uint64_t gpfn, uint64_t mfn)
{
    uint64_t got = NC_INVALID_MFN;
    int rc = p2m_lookup(p, gpfn, &got);

    if ( mfn == NC_INVALID_MFN )
    {
        assert_int_equal(rc, -ENOENT);
        assert_int_equal(got, NC_INVALID_MFN);   /* left alone */
        assert_true(p2m_range_unmapped(p, gpfn, 1));
        assert_false(p2m_range_mapped(p, gpfn, 1));
    }
    else
    {
        assert_int_equal(rc, 0);
        assert_int_equal(got, mfn);
        assert_int_equal(p2m_lookup(p, gpfn, NULL), 0);
        assert_true(p2m_range_mapped(p, gpfn, 1));
        assert_false(p2m_range_unmapped(p, gpfn, 1));
    }
}

/* [gpfn, gpfn + nr) is one run starting at mfn. */
static void assert_run(const struct nc_p2m *p, uint64_t gpfn, uint64_t mfn,
                       uint64_t nr)
{
    uint64_t first = 0;

    assert_true(p2m_is_extent(p, gpfn, nr));
    assert_int_not_equal(p2m_find_run(p, gpfn, nr, &first), NC_P2M_NONE);
    assert_int_equal(first, mfn);
    assert_true(p2m_range_mapped(p, gpfn, nr));
}

static void test_empty(void **state)
{
    struct nc_p2m p = { 0 };
    uint64_t g;

    (void)state;
    assert_maps(&p, 0, NC_INVALID_MFN);
    assert_maps(&p, NC_INVALID_GFN - 1, NC_INVALID_MFN);
    assert_int_equal(p2m_lookup(&p, NC_INVALID_GFN, NULL), -ENOENT);
    assert_true(p2m_range_unmapped(&p, 0, 1024));
    assert_true(p2m_range_mapped(&p, 7, 0));     /* nothing to be mapped */
    assert_false(p2m_is_extent(&p, 0, 1));
    assert_int_equal(p2m_find_run(&p, 0, 1, &g), NC_P2M_NONE);
    assert_false(p2m_find_mfn(&p, 0, &g));
    assert_false(p2m_find_mfn(&p, NC_INVALID_MFN, &g));
    assert_int_equal(p.pages, 0);
    p2m_fini(&p);
    p2m_fini(&p);                                 /* twice: harmless */
}

/* gpfn 0, and a run ending just below NC_INVALID_GFN: both ends of the
 * gpfn space, NC_INVALID_GFN itself never mapped. */
static void test_ends_of_the_gpfn_space(void **state)
{
    struct nc_p2m p = { 0 };
    const uint64_t top = NC_INVALID_GFN - 4;
    uint64_t g;

    (void)state;
    insert(&p, top, 500, 4);
    insert(&p, 0, 100, 1);
    assert_maps(&p, 0, 100);
    assert_maps(&p, 1, NC_INVALID_MFN);
    assert_maps(&p, top - 1, NC_INVALID_MFN);
    for ( uint64_t i = 0; i < 4; i++ )
        assert_maps(&p, top + i, 500 + i);
    assert_int_equal(p2m_lookup(&p, NC_INVALID_GFN, NULL), -ENOENT);
    assert_run(&p, top, 500, 4);
    assert_run(&p, 0, 100, 1);
    assert_true(p2m_find_mfn(&p, 503, &g));
    assert_int_equal(g, NC_INVALID_GFN - 1);
    assert_false(p2m_find_mfn(&p, NC_INVALID_MFN, &g));
    assert_int_equal(p.pages, 5);
    assert_true(p2m_range_unmapped(&p, 1, top - 1));
    p2m_fini(&p);
}

/* Appending in gpfn order with contiguous mfns (the builders' pattern)
 * keeps one run; a break in the mfns starts a new one. */
static void test_in_order_append(void **state)
{
    struct nc_p2m p = { 0 };

    (void)state;
    for ( uint64_t g = 0; g < 512; g += 8 )
        insert(&p, g, 4096 + g, 8);
    assert_run(&p, 0, 4096, 512);
    assert_int_equal(p.pages, 512);
    insert(&p, 512, 9000, 1);                     /* mfns do not follow */
    assert_false(p2m_is_extent(&p, 0, 513));
    assert_run(&p, 0, 4096, 512);
    assert_run(&p, 512, 9000, 1);
    insert(&p, 514, 9002, 1);                     /* gpfns do not follow */
    assert_run(&p, 514, 9002, 1);
    assert_maps(&p, 513, NC_INVALID_MFN);
    assert_int_equal(p2m_find_run(&p, 512, 3, &(uint64_t){ 0 }), NC_P2M_NONE);
    assert_false(p2m_range_mapped(&p, 512, 3));
    p2m_fini(&p);
}

/* A run inserted just before another continues it backwards; one that
 * fills the gap between two runs joins all three. */
static void test_merge_backwards_and_bridge(void **state)
{
    struct nc_p2m p = { 0 };

    (void)state;
    insert(&p, 10, 110, 5);
    insert(&p, 5, 105, 5);
    assert_run(&p, 5, 105, 10);
    insert(&p, 20, 120, 5);
    assert_run(&p, 20, 120, 5);
    insert(&p, 15, 115, 5);
    assert_run(&p, 5, 105, 20);
    for ( uint64_t g = 5; g < 25; g++ )
        assert_maps(&p, g, 100 + g);
    assert_maps(&p, 4, NC_INVALID_MFN);
    assert_maps(&p, 25, NC_INVALID_MFN);
    assert_int_equal(p.pages, 20);
    p2m_fini(&p);
}

/* A no_merge map keeps each insert its own entry (one allocation each). */
static void test_no_merge(void **state)
{
    struct nc_p2m p = { .no_merge = true };

    (void)state;
    insert(&p, 0, 0, 4);
    insert(&p, 4, 4, 4);
    insert(&p, 8, 8, 1);
    assert_run(&p, 0, 0, 4);
    assert_run(&p, 4, 4, 4);
    assert_run(&p, 8, 8, 1);
    assert_false(p2m_is_extent(&p, 0, 8));
    assert_int_equal(p2m_find_run(&p, 0, 8, &(uint64_t){ 0 }), NC_P2M_NONE);
    assert_true(p2m_range_mapped(&p, 0, 9));
    p2m_fini(&p);
}

/* What a removal handed back: the mfn runs, in order. */
struct removed {
    unsigned int nr;
    uint64_t mfn[8], len[8];
};

static void note_removed(void *arg, uint64_t mfn, uint64_t nr)
{
    struct removed *r = arg;

    assert_true(r->nr < 8);
    r->mfn[r->nr] = mfn;
    r->len[r->nr++] = nr;
}

static void assert_removed(const struct removed *r, unsigned int i,
                           uint64_t mfn, uint64_t nr)
{
    assert_true(i < r->nr);
    assert_int_equal(r->mfn[i], mfn);
    assert_int_equal(r->len[i], nr);
}

/* From one run of 16 (gpfn 0.., mfn 1000..): a middle, then the head,
 * then the tail, then what is left. */
static void test_remove_pieces(void **state)
{
    struct nc_p2m p = { 0 };
    struct removed r = { 0 };

    (void)state;
    insert(&p, 0, 1000, 16);

    reserve(&p);
    p2m_remove(&p, 5, 3, note_removed, &r);       /* split: 0-4, 8-15 */
    assert_int_equal(r.nr, 1);
    assert_removed(&r, 0, 1005, 3);
    assert_run(&p, 0, 1000, 5);
    assert_run(&p, 8, 1008, 8);
    assert_true(p2m_range_unmapped(&p, 5, 3));
    assert_int_equal(p.pages, 13);

    reserve(&p);
    p2m_remove(&p, 0, 2, note_removed, &r);       /* head: 2-4 */
    assert_removed(&r, 1, 1000, 2);
    assert_run(&p, 2, 1002, 3);
    assert_maps(&p, 0, NC_INVALID_MFN);
    assert_maps(&p, 1, NC_INVALID_MFN);

    reserve(&p);
    p2m_remove(&p, 14, 2, note_removed, &r);      /* tail: 8-13 */
    assert_removed(&r, 2, 1014, 2);
    assert_run(&p, 8, 1008, 6);
    assert_maps(&p, 14, NC_INVALID_MFN);

    reserve(&p);
    p2m_remove(&p, 2, 3, note_removed, &r);       /* whole */
    assert_removed(&r, 3, 1002, 3);
    assert_maps(&p, 2, NC_INVALID_MFN);
    assert_run(&p, 8, 1008, 6);
    assert_int_equal(p.pages, 6);
    assert_int_equal(r.nr, 4);
    p2m_fini(&p);
}

/* p2m_cut at the entry p2m_find_run found: the same four cuts. */
/* Cut what p2m_find_run() finds, reserving a slot only where
 * p2m_cut_splits() says the cut needs one (free_extent()'s rule), which
 * must be exactly where the cut makes one entry two. */
static void cut(struct nc_p2m *p, uint64_t gpfn, uint64_t nr, uint64_t mfn,
                bool splits)
{
    uint64_t first = 0;
    uint32_t i = p2m_find_run(p, gpfn, nr, &first), before = p->nr;
    bool whole;

    assert_int_not_equal(i, NC_P2M_NONE);
    assert_int_equal(first, mfn);
    whole = p->e[i].gpfn == gpfn && p->e[i].nr == nr;
    assert_int_equal(p2m_cut_splits(p, i, gpfn, nr), splits);
    if ( splits )
        reserve(p);
    p2m_cut(p, i, gpfn, nr);
    assert_true(p2m_range_unmapped(p, gpfn, nr));
    assert_int_equal(p->nr, before + (splits ? 1 : 0) - (whole ? 1 : 0));
}

static void test_cut_found_run(void **state)
{
    struct nc_p2m p = { 0 };
    uint64_t g = 0;

    (void)state;
    insert(&p, 0, 1000, 16);
    insert(&p, 64, 5000, 4);
    /* Not all in one entry: across a hole, past an end. */
    assert_int_equal(p2m_find_run(&p, 14, 4, &g), NC_P2M_NONE);
    assert_int_equal(p2m_find_run(&p, 66, 3, &g), NC_P2M_NONE);
    assert_int_equal(g, 0);

    cut(&p, 5, 3, 1005, true);                      /* split: 0-4, 8-15 */
    assert_run(&p, 0, 1000, 5);
    assert_run(&p, 8, 1008, 8);
    assert_int_equal(p.pages, 17);
    cut(&p, 0, 2, 1000, false);                     /* head: 2-4 */
    assert_run(&p, 2, 1002, 3);
    cut(&p, 14, 2, 1014, false);                    /* tail: 8-13 */
    assert_run(&p, 8, 1008, 6);
    cut(&p, 2, 3, 1002, false);                     /* whole */
    assert_maps(&p, 2, NC_INVALID_MFN);
    cut(&p, 64, 4, 5000, false);                    /* the last, whole */
    assert_run(&p, 8, 1008, 6);
    assert_int_equal(p.pages, 6);
    assert_maps(&p, 64, NC_INVALID_MFN);
    p2m_fini(&p);
}

/* remove_mapped over runs and holes: only what is mapped, run by run. */
static void test_remove_across_holes(void **state)
{
    struct nc_p2m p = { 0 };
    struct removed r = { 0 };

    (void)state;
    insert(&p, 0, 100, 4);
    insert(&p, 10, 300, 4);
    insert(&p, 20, 500, 4);
    reserve(&p);
    assert_int_equal(p2m_remove_mapped(&p, 2, 20, note_removed, &r),
                     2 + 4 + 2);
    assert_int_equal(r.nr, 3);
    assert_removed(&r, 0, 102, 2);
    assert_removed(&r, 1, 300, 4);
    assert_removed(&r, 2, 500, 2);
    assert_run(&p, 0, 100, 2);
    assert_run(&p, 22, 502, 2);
    assert_true(p2m_range_unmapped(&p, 2, 20));
    assert_int_equal(p.pages, 4);
    /* Nothing mapped there: nothing removed, no callback. */
    assert_int_equal(p2m_remove_mapped(&p, 5, 10, note_removed, &r), 0);
    assert_int_equal(r.nr, 3);
    p2m_fini(&p);
}

/* From empty to 1000 runs that cannot merge: every lookup right, and the
 * array grown geometrically (at most 11 allocations, not one per run). */
static void test_growth(void **state)
{
    struct nc_p2m p = { 0 };
    long made = nc_env_alloc_count();

    (void)state;
    for ( uint64_t i = 0; i < 1000; i++ )
        insert(&p, 2 * i, 3 * i, 1);
    assert_true(nc_env_alloc_count() - made <= 11);
    assert_int_equal(p.pages, 1000);
    for ( uint64_t i = 0; i < 1000; i++ )
    {
        assert_maps(&p, 2 * i, 3 * i);
        assert_maps(&p, 2 * i + 1, NC_INVALID_MFN);
    }
    p2m_fini(&p);
}

/* A map that only grows at the back (a builder's) moves its entries only
 * when it grows: each time the array moves, it is a new allocation, never
 * a re-centring in the old one.  (The one look at the layout here: the
 * array's address.) */
static void test_append_only_moves_only_to_grow(void **state)
{
    struct nc_p2m p = { 0 };
    const struct nc_extent *at = NULL;
    long made = nc_env_alloc_count(), moves = 0;

    (void)state;
    for ( uint64_t i = 0; i < 4000; i++ )
    {
        insert(&p, 2 * i, 3 * i, 1);
        if ( p.e != at )
        {
            moves++;
            assert_int_equal(nc_env_alloc_count() - made, moves);
            at = p.e;
        }
    }
    assert_true(moves >= 8 && moves <= 13);
    p2m_fini(&p);
}

/* p2m_trim_first(): the start of the first entry, then all of it; the
 * next entry becomes the first, and an emptied map takes inserts again. */
static void test_trim_first(void **state)
{
    struct nc_p2m p = { 0 };

    (void)state;
    insert(&p, 0, 1000, 4);
    insert(&p, 10, 2000, 2);
    p2m_trim_first(&p, 1);
    assert_maps(&p, 0, NC_INVALID_MFN);
    assert_run(&p, 1, 1001, 3);
    assert_int_equal(p.pages, 5);
    p2m_trim_first(&p, 3);
    assert_true(p2m_range_unmapped(&p, 0, 10));
    assert_run(&p, 10, 2000, 2);
    assert_int_equal(p.pages, 2);
    p2m_trim_first(&p, 2);
    assert_true(p2m_range_unmapped(&p, 0, 20));
    assert_int_equal(p.pages, 0);
    insert(&p, 5, 3000, 1);
    assert_run(&p, 5, 3000, 1);
    assert_int_equal(p.pages, 1);
    p2m_fini(&p);
}

/* A growth that cannot allocate fails with -ENOMEM changing nothing. */
static void test_growth_fails_cleanly(void **state)
{
    struct nc_p2m p = { 0 };
    long live;
    uint32_t i = 0;

    (void)state;
    /* Fill the array until the next reservation must grow it (it keeps an
     * eighth of the entries spare besides the one asked for). */
    do
        insert(&p, 2 * (uint64_t)i, 7 * (uint64_t)i, 1);
    while ( ++i, p2m_spare(&p, 1 + p.nr / 8) );
    live = nc_env_alloc_live();
    nc_env_fail_alloc_after(0, NC_FAULT_ONCE);
    assert_int_equal(p2m_reserve(&p, NULL, 1), -ENOMEM);
    nc_env_fail_alloc_after(0, NC_FAULT_OFF);
    assert_int_equal(nc_env_alloc_live(), live);
    assert_false(p2m_spare(&p, 1 + p.nr / 8));
    /* Sizes that cannot be allocated are refused, not wrapped around. */
    assert_int_equal(p2m_reserve(&p, NULL, UINT32_MAX), -ENOMEM);
    assert_int_equal(p2m_reserve(&p, NULL, UINT32_MAX / 4 + 1), -ENOMEM);
    assert_false(p2m_spare(&p, 1 + p.nr / 8));
    assert_int_equal(p.pages, i);
    for ( uint32_t k = 0; k < i; k++ )
        assert_maps(&p, 2 * (uint64_t)k, 7 * (uint64_t)k);
    insert(&p, 2 * (uint64_t)i, 7 * (uint64_t)i, 1);
    assert_maps(&p, 2 * (uint64_t)i, 7 * (uint64_t)i);
    p2m_fini(&p);
}

/* Random inserts and removals on 512 gpfns against a plain array; mfns
 * follow gpfns often enough to merge. */
#define SPACE 512

static uint64_t rnd_state = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
    return test_rnd(&rnd_state);
}

static void drop(void *arg, uint64_t mfn, uint64_t nr)
{
    uint64_t *freed = arg;

    (void)mfn;
    *freed += nr;
}

static void test_random_against_plain(void **state)
{
    static uint64_t plain[SPACE];
    struct nc_p2m p = { 0 };
    uint64_t pages = 0;

    (void)state;
    for ( uint64_t g = 0; g < SPACE; g++ )
        plain[g] = NC_INVALID_MFN;
    for ( int op = 0; op < 5000; op++ )
    {
        uint64_t g = rnd() % SPACE, nr = 1 + rnd() % 8, freed = 0, want = 0;

        if ( g + nr > SPACE )
            nr = SPACE - g;
        reserve(&p);
        if ( rnd() % 2 )
        {
            uint64_t mfn = rnd() % 4 ? 10000 + g : 50000 + rnd() % 1000;

            if ( !p2m_range_unmapped(&p, g, nr) )
                continue;
            p2m_insert(&p, g, mfn, nr);
            for ( uint64_t i = 0; i < nr; i++ )
                plain[g + i] = mfn + i;
            pages += nr;
        }
        else
        {
            for ( uint64_t i = 0; i < nr; i++ )
                if ( plain[g + i] != NC_INVALID_MFN )
                {
                    want++;
                    plain[g + i] = NC_INVALID_MFN;
                }
            assert_int_equal(p2m_remove_mapped(&p, g, nr, drop, &freed),
                             want);
            assert_int_equal(freed, want);
            pages -= want;
        }
        assert_int_equal(p.pages, pages);
        for ( uint64_t i = 0; i < SPACE; i++ )
            assert_maps(&p, i, plain[i]);
    }
    p2m_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_ends_of_the_gpfn_space),
        cmocka_unit_test(test_in_order_append),
        cmocka_unit_test(test_merge_backwards_and_bridge),
        cmocka_unit_test(test_no_merge),
        cmocka_unit_test(test_remove_pieces),
        cmocka_unit_test(test_cut_found_run),
        cmocka_unit_test(test_remove_across_holes),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_append_only_moves_only_to_grow),
        cmocka_unit_test(test_trim_first),
        cmocka_unit_test(test_growth_fails_cleanly),
        cmocka_unit_test(test_random_against_plain),
    };

    nc_env_alloc_track(true);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
