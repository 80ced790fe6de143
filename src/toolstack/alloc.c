/* SPDX-License-Identifier: MIT */
/*
 * The toolstack's own allocations, through one counted hook: the fault
 * suite fails the Nth of them (once, or from then on) and checks that the
 * operation failed cleanly and leaked nothing, as the core's environment
 * hook (src/core/env.h) lets it do for the core and the hypercall layer.
 * Unarmed and untracked, an allocation costs one relaxed atomic load.
 * What libxenctrl, libxlutil and hwloc allocate inside is theirs.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "toolstack.h"

#define TRACK   1u
#define ARMED   2u
#define PERSIST 4u

static atomic_uint flags;
static atomic_long countdown, live, made, failed;

void ts_fail_alloc_after(long n, enum ts_fault mode)
{
    unsigned int f = atomic_load(&flags) & TRACK;

    atomic_store(&countdown, n);
    if ( mode != TS_FAULT_OFF )
        f |= ARMED | (mode == TS_FAULT_PERSIST ? PERSIST : 0);
    atomic_store(&flags, f);
}

void ts_alloc_track(bool on)
{
    if ( on )
        atomic_fetch_or(&flags, TRACK);
    else
        atomic_fetch_and(&flags, ~TRACK);
}

long ts_alloc_live(void)
{
    return atomic_load(&live);
}

long ts_alloc_count(void)
{
    return atomic_load(&made);
}

long ts_alloc_failed(void)
{
    return atomic_load(&failed);
}

void *ts_zalloc(size_t nr, size_t size)
{
    unsigned int f = atomic_load_explicit(&flags, memory_order_relaxed);
    void *p;

    if ( __builtin_expect(f != 0, 0) && (f & ARMED) )
    {
        long left = atomic_fetch_sub(&countdown, 1);

        if ( left == 0 || (left < 0 && (f & PERSIST)) )
        {
            atomic_fetch_add(&failed, 1);
            return NULL;
        }
    }
    if ( size && nr > SIZE_MAX / size )
        return NULL;
    p = calloc(nr ? nr : 1, size ? size : 1);
    if ( __builtin_expect(f != 0, 0) && p && (f & TRACK) )
    {
        atomic_fetch_add(&made, 1);
        atomic_fetch_add(&live, 1);
    }
    return p;
}

char *ts_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = ts_zalloc(n, 1);

    if ( p )
        memcpy(p, s, n);
    return p;
}

void ts_free(void *p)
{
    if ( p && (atomic_load_explicit(&flags, memory_order_relaxed) & TRACK) )
        atomic_fetch_sub(&live, 1);
    free(p);
}
