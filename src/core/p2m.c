/* SPDX-License-Identifier: MIT */
/*
 * Extent maps: a domain's p2m (gpfn -> mfn) as a sorted array of runs,
 * with room at both ends.
 *
 * An entry {gpfn, mfn, nr} maps gpfn + i to mfn + i for i < nr.  Entries
 * never overlap and are kept sorted by gpfn; neighbours that continue each
 * other in both gpfn and mfn are merged.  Memory is only allocated by
 * p2m_reserve(), which callers run before taking the heap lock, so that
 * the allocation path itself never allocates.
 *
 * Bounds: lookup O(log n), and O(1) in the first or last entry or beyond.
 * Insert and remove move the shorter side of the array by one entry: O(1) at
 * either end (builders append; a balloon freeing in gpfn order takes from
 * the front), O(n / 2) in the middle.  A 1 TiB guest populated from 1 GiB
 * extents is at most 1024 entries.
 */
#include "private.h"

void p2m_fini(struct nc_p2m *p)
{
    if ( p->cap )
        nc_free(p->e - p->head);
    nc_memzero(p, sizeof(*p));
}

int p2m_grow(struct nc_p2m *p, nc_lock_t *lock, uint32_t extra)
{
    while ( p->cap - p->nr < extra || p->cap - p->nr - extra < p->nr / 8 )
    {
        uint32_t want, seen = p->cap, nr = p->nr, head;
        struct nc_extent *fresh, *old;

        /* Bounded so that neither the size below nor its doubling by a
         * later growth can wrap, whatever `extra` is asked for. */
        if ( extra > UINT32_MAX / 4 || nr > UINT32_MAX / 4 - extra )
            return -ENOMEM;
        want = NC_MAX(NC_MAX(seen * 2, nr + extra + nr / 4), 8u);
        if ( lock )
            nc_unlock(lock);
        /* 64 bytes of slack: two domains' arrays, written by two CPUs on
         * every populate, never share a cache line.  Not zeroed: no slot
         * outside [head, head + nr) is read before it is written. */
        fresh = nc_alloc((size_t)want * sizeof(*fresh) + 64);
        if ( lock )
            nc_lock(lock);
        if ( !fresh )
            return -ENOMEM;
        nr = p->nr;
        if ( p->cap != seen || want - nr < extra )
        {
            /* Someone grew it while the lock was dropped: look again. */
            nc_free(fresh);
            continue;
        }
        /* The front keeps the room it had, up to a quarter of the new
         * room, and the rest goes behind.  Most inserts append, and a map
         * that only ever grows at the back (a builder's) then copies its
         * entries once per doubling and never again to re-centre them;
         * frees in gpfn order take from the front and need no room there.
         * A map that does insert at its front re-centres (open_slot()). */
        head = NC_MIN(p->head, (want - nr) / 4);
        if ( nr )
            nc_memmove(fresh + head, p->e, (size_t)nr * sizeof(*fresh));
        old = p->cap ? p->e - p->head : NULL;
        p->e = fresh + head;
        p->head = head;
        p->cap = want;
        if ( lock )
        {
            /* Free the old array outside the lock. */
            nc_unlock(lock);
            nc_free(old);
            nc_lock(lock);
        }
        else
            nc_free(old);
    }
    return 0;
}

/*
 * Open a free slot at index i (entries i.. move up one index) or close the
 * slot at index i (entries i+1.. move down one), moving whichever side is
 * shorter: the entries in front move by one place and the first entry's
 * position changes with them.  So both ends are O(1) and the middle
 * O(n / 2).  When the shorter side has no room left, the entries are first
 * re-centred in the allocation; p2m_reserve() keeps an eighth of the
 * entries' count spare, so that costs O(1) amortised.
 */
static void recentre(struct nc_p2m *p)
{
    uint32_t head = (p->cap - p->nr) / 2;
    struct nc_extent *base = p->e - p->head;

    nc_memmove(base + head, p->e, (size_t)p->nr * sizeof(*p->e));
    p->e = base + head;
    p->head = head;
}

static void open_slot(struct nc_p2m *p, uint32_t i)
{
    bool front = i < p->nr - i;

    BUG_ON(!p2m_spare(p, 1));
    if ( front ? !p->head : p->cap - p->head - p->nr == 0 )
        recentre(p);
    if ( front && p->head )
    {
        if ( i )
            nc_memmove(p->e - 1, p->e, (size_t)i * sizeof(*p->e));
        p->e--;
        p->head--;
    }
    else if ( p->nr - i )
        nc_memmove(&p->e[i + 1], &p->e[i],
                   (size_t)(p->nr - i) * sizeof(*p->e));
    p->nr++;
}

static nc_always_inline void close_slot(struct nc_p2m *p, uint32_t i)
{
    ASSERT(i < p->nr);
    if ( i < p->nr / 2 )
    {
        if ( i )
            nc_memmove(p->e + 1, p->e, (size_t)i * sizeof(*p->e));
        p->e++;
        p->head++;
    }
    else if ( p->nr - i - 1 )
        nc_memmove(&p->e[i], &p->e[i + 1],
                   (size_t)(p->nr - i - 1) * sizeof(*p->e));
    p->nr--;
}

static uint64_t extent_end(const void *arr, uint32_t i)
{
    const struct nc_extent *e = &((const struct nc_extent *)arr)[i];

    return e->gpfn + e->nr;
}

/* Index of the first entry whose end is beyond gpfn (the entry holding
 * gpfn, or the one after it). */
static uint32_t entry_at_or_after(const struct nc_p2m *p, uint64_t gpfn)
{
    uint32_t hi = p->nr;

    /* The ends first: builders populate in gpfn order, and balloons
     * mostly work at the top or free from the bottom up, so most lookups
     * end here in O(1). */
    if ( !hi || p->e[hi - 1].gpfn + p->e[hi - 1].nr <= gpfn )
        return hi;
    if ( p->e[hi - 1].gpfn <= gpfn )
        return hi - 1;
    if ( p->e[0].gpfn + p->e[0].nr > gpfn )
        return 0;
    return first_ending_after(p->e, 1, hi - 1, gpfn, extent_end);
}

bool p2m_range_unmapped(const struct nc_p2m *p, uint64_t gpfn, uint64_t nr)
{
    uint32_t i = entry_at_or_after(p, gpfn);

    return i == p->nr || p->e[i].gpfn >= gpfn + nr;
}

bool p2m_range_mapped(const struct nc_p2m *p, uint64_t gpfn, uint64_t nr)
{
    uint32_t i = entry_at_or_after(p, gpfn);
    uint64_t next = gpfn, end = gpfn + nr;

    for ( ; i < p->nr && next < end; i++ )
    {
        if ( p->e[i].gpfn > next )
            return false;
        next = p->e[i].gpfn + p->e[i].nr;
    }
    return next >= end;
}

static void insert_run(struct nc_p2m *p, uint64_t gpfn, uint64_t mfn,
                       uint64_t nr)
{
    uint32_t i = entry_at_or_after(p, gpfn);

    ASSERT(nr > 0);
    ASSERT(p2m_range_unmapped(p, gpfn, nr));
    if ( i == p->nr && p2m_appends(p, gpfn) )
    {
        /* After every entry, with room there: the builders' case. */
        p2m_append(p, gpfn, mfn, nr);
        return;
    }
    p->pages += nr;

    if ( p->no_merge )
        goto insert;
    if ( i > 0 && p2m_continues(&p->e[i - 1], gpfn, mfn) )
    {
        struct nc_extent *prev = &p->e[i - 1];

        prev->nr += nr;
        if ( i < p->nr && p2m_continues(prev, p->e[i].gpfn, p->e[i].mfn) )
        {
            prev->nr += p->e[i].nr;
            close_slot(p, i);
        }
        return;
    }
    if ( i < p->nr && gpfn + nr == p->e[i].gpfn && mfn + nr == p->e[i].mfn )
    {
        p->e[i].gpfn = gpfn;
        p->e[i].mfn = mfn;
        p->e[i].nr += nr;
        return;
    }
 insert:
    open_slot(p, i);
    p->e[i] = (struct nc_extent){ .gpfn = gpfn, .mfn = mfn, .nr = nr };
}

uint32_t p2m_find_run(const struct nc_p2m *p, uint64_t gpfn, uint64_t nr,
                      uint64_t *mfnp)
{
    uint32_t i = entry_at_or_after(p, gpfn);

    if ( i == p->nr || p->e[i].gpfn > gpfn ||
         p->e[i].gpfn + p->e[i].nr < gpfn + nr )
        return NC_P2M_NONE;
    *mfnp = p->e[i].mfn + (gpfn - p->e[i].gpfn);
    return i;
}

bool p2m_is_extent(const struct nc_p2m *p, uint64_t gpfn, uint64_t nr)
{
    uint32_t i = entry_at_or_after(p, gpfn);

    return i < p->nr && p->e[i].gpfn == gpfn && p->e[i].nr == nr;
}

void p2m_insert(struct nc_p2m *p, uint64_t gpfn, uint64_t mfn, uint64_t nr)
{
    insert_run(p, gpfn, mfn, nr);
    ASSERT_EXPENSIVE_WHY(check_p2m, p);
}

/* Unmap [lo, hi), which entry i holds, from it: the index of the entry
 * after what is left of it. */
static nc_always_inline uint32_t cut_entry(struct nc_p2m *p, uint32_t i,
                                           uint64_t lo, uint64_t hi)
{
    struct nc_extent *x = &p->e[i];
    uint64_t x_end = x->gpfn + x->nr;

    ASSERT(x->gpfn <= lo && lo < hi && hi <= x_end);
    ASSERT_GE(p->pages, hi - lo);
    p->pages -= hi - lo;
    if ( lo > x->gpfn && hi < x_end )
    {
        /* A hole in the middle: split into two entries. */
        struct nc_extent old = *x;

        open_slot(p, i + 1);
        p->e[i].nr = lo - old.gpfn;
        p->e[i + 1] = (struct nc_extent){
            .gpfn = hi, .mfn = old.mfn + (hi - old.gpfn), .nr = x_end - hi };
        return i + 2;
    }
    if ( lo > x->gpfn )                 /* keep the head */
    {
        x->nr = lo - x->gpfn;
        return i + 1;
    }
    if ( hi < x_end )                   /* keep the tail */
    {
        x->mfn += hi - x->gpfn;
        x->nr = x_end - hi;
        x->gpfn = hi;
        return i + 1;
    }
    close_slot(p, i);                   /* drop it whole */
    return i;
}

static uint64_t remove_runs(struct nc_p2m *p, uint64_t gpfn, uint64_t nr,
                            void (*fn)(void *arg, uint64_t mfn, uint64_t nr),
                            void *arg)
{
    uint64_t end = gpfn + nr, removed = 0;
    uint32_t i = entry_at_or_after(p, gpfn);

    while ( i < p->nr && p->e[i].gpfn < end )
    {
        const struct nc_extent *x = &p->e[i];
        uint64_t lo = NC_MAX(x->gpfn, gpfn), hi = NC_MIN(x->gpfn + x->nr, end);

        if ( fn )
            fn(arg, x->mfn + (lo - x->gpfn), hi - lo);
        removed += hi - lo;
        i = cut_entry(p, i, lo, hi);
    }
    return removed;
}

void p2m_cut(struct nc_p2m *p, uint32_t i, uint64_t gpfn, uint64_t nr)
{
    BUG_ON(i >= p->nr);
    cut_entry(p, i, gpfn, gpfn + nr);
    ASSERT_EXPENSIVE_WHY(check_p2m, p);
}

uint64_t p2m_remove_mapped(struct nc_p2m *p, uint64_t gpfn, uint64_t nr,
                           void (*fn)(void *arg, uint64_t mfn, uint64_t nr),
                           void *arg)
{
    uint64_t removed = remove_runs(p, gpfn, nr, fn, arg);

    ASSERT_EXPENSIVE_WHY(check_p2m, p);
    return removed;
}

void p2m_remove(struct nc_p2m *p, uint64_t gpfn, uint64_t nr,
                void (*fn)(void *arg, uint64_t mfn, uint64_t nr), void *arg)
{
    uint64_t removed;

    ASSERT(p2m_range_mapped(p, gpfn, nr));
    removed = p2m_remove_mapped(p, gpfn, nr, fn, arg);
    ASSERT(removed == nr);
    (void)removed;
}

int p2m_lookup(const struct nc_p2m *p, uint64_t gpfn, uint64_t *mfnp)
{
    uint32_t i = entry_at_or_after(p, gpfn);

    if ( i == p->nr || p->e[i].gpfn > gpfn )
        return -ENOENT;
    if ( mfnp )
        *mfnp = p->e[i].mfn + (gpfn - p->e[i].gpfn);
    return 0;
}

bool p2m_find_mfn(const struct nc_p2m *p, uint64_t mfn, uint64_t *gpfnp)
{
    for ( unsigned int i = 0; i < p->nr; i++ )
        if ( mfn >= p->e[i].mfn && mfn < p->e[i].mfn + p->e[i].nr )
        {
            if ( gpfnp )
                *gpfnp = p->e[i].gpfn + (mfn - p->e[i].mfn);
            return true;
        }
    return false;
}
