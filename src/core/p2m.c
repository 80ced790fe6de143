/* SPDX-License-Identifier: MIT */
/*
 * Extent maps: a domain's p2m (gpfn -> mfn) as a sorted array of runs.
 *
 * An entry {gpfn, mfn, nr} maps gpfn + i to mfn + i for i < nr.  Entries
 * never overlap and are kept sorted by gpfn; neighbours that continue each
 * other in both gpfn and mfn are merged.  Memory is only allocated by
 * p2m_reserve(), which callers run before taking the heap lock, so that
 * the allocation path itself never allocates.
 *
 * Bounds: lookup O(log n).  Insert at the end (the builders' pattern) O(1);
 * elsewhere O(n) for the memmove.  A 1 TiB guest populated from 1 GiB
 * extents is at most 1024 entries.
 */
#include "private.h"

void p2m_fini(struct nc_p2m *p)
{
    nc_free(p->e);
    nc_memzero(p, sizeof(*p));
}

int vec_reserve(nc_lock_t *lock, void **arr, const uint32_t *nrp,
                uint32_t *cap, uint32_t extra, size_t size)
{
    while ( *cap - *nrp < extra )
    {
        uint32_t want, seen = *cap, nr = *nrp;
        void *fresh;

        if ( nr > UINT32_MAX / 2 - extra )
            return -ENOMEM;
        want = NC_MAX(NC_MAX(seen * 2, nr + extra), 8u);
        if ( lock )
            nc_unlock(lock);
        /* 64 bytes of slack: two domains' arrays, written by two CPUs on
         * every populate, never share a cache line. */
        fresh = nc_zalloc((size_t)want * size + 64);
        if ( lock )
            nc_lock(lock);
        if ( !fresh )
            return -ENOMEM;
        nr = *nrp;
        if ( *cap != seen || want - nr < extra )
        {
            /* Someone grew it while the lock was dropped: look again. */
            nc_free(fresh);
            continue;
        }
        if ( nr )
            nc_memmove(fresh, *arr, (size_t)nr * size);
        if ( lock )
        {
            /* Free the old array outside the lock. */
            void *old = *arr;

            *arr = fresh;
            *cap = want;
            nc_unlock(lock);
            nc_free(old);
            nc_lock(lock);
        }
        else
        {
            nc_free(*arr);
            *arr = fresh;
            *cap = want;
        }
    }
    return 0;
}

int p2m_grow(struct nc_p2m *p, uint32_t extra)
{
    return vec_reserve(NULL, (void **)&p->e, &p->nr, &p->cap, extra,
                       sizeof(*p->e));
}

/* Index of the first entry whose end is beyond gpfn (the entry holding
 * gpfn, or the one after it). */
static uint32_t first_ending_after(const struct nc_p2m *p, uint64_t gpfn)
{
    uint32_t lo = 0, hi = p->nr;

    while ( lo < hi )
    {
        uint32_t mid = lo + (hi - lo) / 2;

        if ( p->e[mid].gpfn + p->e[mid].nr <= gpfn )
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool p2m_range_unmapped(const struct nc_p2m *p, uint64_t gpfn, uint64_t nr)
{
    uint32_t i = first_ending_after(p, gpfn);

    return i == p->nr || p->e[i].gpfn >= gpfn + nr;
}

bool p2m_range_mapped(const struct nc_p2m *p, uint64_t gpfn, uint64_t nr)
{
    uint32_t i = first_ending_after(p, gpfn);
    uint64_t next = gpfn, end = gpfn + nr;

    for ( ; i < p->nr && next < end; i++ )
    {
        if ( p->e[i].gpfn > next )
            return false;
        next = p->e[i].gpfn + p->e[i].nr;
    }
    return next >= end;
}

static bool continues(const struct nc_extent *a, uint64_t gpfn, uint64_t mfn)
{
    return a->gpfn + a->nr == gpfn && a->mfn + a->nr == mfn;
}

void p2m_insert(struct nc_p2m *p, uint64_t gpfn, uint64_t mfn, uint64_t nr)
{
    uint32_t i = first_ending_after(p, gpfn);

    ASSERT(nr > 0);
    ASSERT(p2m_range_unmapped(p, gpfn, nr));
    p->pages += nr;

    if ( p->no_merge )
        goto insert;
    if ( i > 0 && continues(&p->e[i - 1], gpfn, mfn) )
    {
        struct nc_extent *prev = &p->e[i - 1];

        prev->nr += nr;
        if ( i < p->nr && continues(prev, p->e[i].gpfn, p->e[i].mfn) )
        {
            prev->nr += p->e[i].nr;
            nc_memmove(&p->e[i], &p->e[i + 1],
                       (size_t)(p->nr - i - 1) * sizeof(*p->e));
            p->nr--;
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
    BUG_ON(!p2m_spare(p, 1));
    nc_memmove(&p->e[i + 1], &p->e[i], (size_t)(p->nr - i) * sizeof(*p->e));
    p->e[i] = (struct nc_extent){ .gpfn = gpfn, .mfn = mfn, .nr = nr };
    p->nr++;
}

bool p2m_one_run(const struct nc_p2m *p, uint64_t gpfn, uint64_t nr,
                 uint64_t *mfnp)
{
    uint32_t i = first_ending_after(p, gpfn);

    if ( i == p->nr || p->e[i].gpfn > gpfn ||
         p->e[i].gpfn + p->e[i].nr < gpfn + nr )
        return false;
    *mfnp = p->e[i].mfn + (gpfn - p->e[i].gpfn);
    return true;
}

bool p2m_is_extent(const struct nc_p2m *p, uint64_t gpfn, uint64_t nr)
{
    uint32_t i = first_ending_after(p, gpfn);

    return i < p->nr && p->e[i].gpfn == gpfn && p->e[i].nr == nr;
}

uint64_t p2m_remove_mapped(struct nc_p2m *p, uint64_t gpfn, uint64_t nr,
                           void (*fn)(void *arg, uint64_t mfn, uint64_t nr),
                           void *arg)
{
    uint64_t end = gpfn + nr, removed = 0;
    uint32_t i = first_ending_after(p, gpfn);

    while ( i < p->nr && p->e[i].gpfn < end )
    {
        struct nc_extent *x = &p->e[i];
        uint64_t x_end = x->gpfn + x->nr;
        uint64_t lo = NC_MAX(x->gpfn, gpfn), hi = NC_MIN(x_end, end);

        fn(arg, x->mfn + (lo - x->gpfn), hi - lo);
        removed += hi - lo;
        ASSERT(p->pages >= hi - lo);
        p->pages -= hi - lo;

        if ( lo > x->gpfn && hi < x_end )
        {
            /* A hole in the middle: split into two entries. */
            BUG_ON(!p2m_spare(p, 1));
            nc_memmove(&p->e[i + 1], &p->e[i],
                       (size_t)(p->nr - i) * sizeof(*p->e));
            p->nr++;
            p->e[i].nr = lo - p->e[i].gpfn;
            p->e[i + 1].mfn += hi - p->e[i + 1].gpfn;
            p->e[i + 1].nr = x_end - hi;
            p->e[i + 1].gpfn = hi;
            return removed;
        }
        if ( lo > x->gpfn )             /* keep the head */
        {
            x->nr = lo - x->gpfn;
            i++;
        }
        else if ( hi < x_end )          /* keep the tail */
        {
            x->mfn += hi - x->gpfn;
            x->nr = x_end - hi;
            x->gpfn = hi;
            i++;
        }
        else                            /* drop it whole */
        {
            nc_memmove(&p->e[i], &p->e[i + 1],
                       (size_t)(p->nr - i - 1) * sizeof(*p->e));
            p->nr--;
        }
    }
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
    uint32_t i = first_ending_after(p, gpfn);

    if ( i == p->nr || p->e[i].gpfn > gpfn )
        return -ENOENT;
    if ( mfnp )
        *mfnp = p->e[i].mfn + (gpfn - p->e[i].gpfn);
    return 0;
}

bool p2m_find_mfn(const struct nc_p2m *p, uint64_t mfn, uint64_t *gpfnp)
{
    for ( uint32_t i = 0; i < p->nr; i++ )
        if ( mfn >= p->e[i].mfn && mfn < p->e[i].mfn + p->e[i].nr )
        {
            if ( gpfnp )
                *gpfnp = p->e[i].gpfn + (mfn - p->e[i].mfn);
            return true;
        }
    return false;
}
