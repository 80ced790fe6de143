/* SPDX-License-Identifier: MIT */
/*
 * The hosted environment of the core (see src/core/env.h): pthread mutexes,
 * calloc (with the tests' fault injection and allocation counters) and a
 * panic that prints and aborts.  This is the only file of the
 * core library that touches the C library or POSIX.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/env.h"

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(((nc_lock_t *)0)->opaque),
               "nc_lock_t too small for pthread_mutex_t");

/* Any address unique to the thread serves as its identity. */
static _Thread_local char thread_token;

static pthread_mutex_t *mutex_of(nc_lock_t *l)
{
    return (pthread_mutex_t *)(void *)l->opaque;
}

void nc_lock_init(nc_lock_t *l)
{
    pthread_mutex_init(mutex_of(l), NULL);
    l->owner = NULL;
}

void nc_lock_fini(nc_lock_t *l)
{
    BUG_ON(l->owner != NULL);
    pthread_mutex_destroy(mutex_of(l));
}

void nc_lock(nc_lock_t *l)
{
    ASSERT(l->owner != &thread_token);   /* not recursive */
    pthread_mutex_lock(mutex_of(l));
    l->owner = &thread_token;
}

void nc_unlock(nc_lock_t *l)
{
    ASSERT(l->owner == &thread_token);
    l->owner = NULL;
    pthread_mutex_unlock(mutex_of(l));
}

bool nc_lock_held(const nc_lock_t *l)
{
    return l->owner == &thread_token;
}

/*
 * Fault injection (env.h).  env_flags is the one word every allocation
 * reads; the counters are touched only when it says so, so an unarmed,
 * untracked build pays a relaxed load and a predicted branch.
 */
#define ENV_ARMED    (1U << 0)
#define ENV_PERSIST  (1U << 1)
#define ENV_TRACK    (1U << 2)

static _Atomic unsigned int env_flags;
static atomic_long fault_countdown;     /* successes left before a failure */
static atomic_long alloc_count, alloc_live, alloc_failed;

void nc_env_fail_alloc_after(long n, enum nc_fault_mode mode)
{
    unsigned int keep = atomic_load(&env_flags) & ENV_TRACK;

    /* Disarm first, so no allocation sees the new count with old flags. */
    atomic_store(&env_flags, keep);
    if ( mode == NC_FAULT_OFF || n < 0 )
        return;
    atomic_store(&fault_countdown, n);
    atomic_store(&env_flags, keep | ENV_ARMED |
                             (mode == NC_FAULT_PERSIST ? ENV_PERSIST : 0));
}

void nc_env_alloc_track(bool on)
{
    if ( on )
        atomic_fetch_or(&env_flags, ENV_TRACK);
    else
        atomic_fetch_and(&env_flags, ~ENV_TRACK);
}

long nc_env_alloc_count(void)
{
    return atomic_load(&alloc_count);
}

long nc_env_alloc_live(void)
{
    return atomic_load(&alloc_live);
}

long nc_env_alloc_failed(void)
{
    return atomic_load(&alloc_failed);
}

/* True if this allocation is the one (or one of those) to fail. */
static bool fault_hit(unsigned int flags)
{
    long left = atomic_fetch_sub(&fault_countdown, 1);

    if ( left == 0 || (left < 0 && (flags & ENV_PERSIST)) )
    {
        atomic_fetch_add(&alloc_failed, 1);
        return true;
    }
    return false;
}

void *nc_zalloc(size_t size)
{
    unsigned int flags = atomic_load_explicit(&env_flags,
                                              memory_order_relaxed);
    void *p;

    if ( __builtin_expect(flags != 0, 0) && (flags & ENV_ARMED) &&
         fault_hit(flags) )
        return NULL;
    p = calloc(1, size ? size : 1);
    if ( __builtin_expect(flags != 0, 0) && p && (flags & ENV_TRACK) )
    {
        atomic_fetch_add(&alloc_count, 1);
        atomic_fetch_add(&alloc_live, 1);
    }
    return p;
}

void nc_free(void *p)
{
    if ( p && (atomic_load_explicit(&env_flags, memory_order_relaxed) &
               ENV_TRACK) )
        atomic_fetch_sub(&alloc_live, 1);
    free(p);
}

_Noreturn void nc_panic(const char *file, int line, const char *msg)
{
    fprintf(stderr, "numaclaim: %s:%d: %s\n", file, line, msg);
    fflush(stderr);
    abort();
}
