/* SPDX-License-Identifier: MIT */
/*
 * The hosted environment of the core (see src/core/env.h): pthread mutexes,
 * calloc and a panic that prints and aborts.  This is the only file of the
 * core library that touches the C library or POSIX.
 */
#include <pthread.h>
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

void *nc_zalloc(size_t size)
{
    return calloc(1, size ? size : 1);
}

void nc_free(void *p)
{
    free(p);
}

_Noreturn void nc_panic(const char *file, int line, const char *msg)
{
    fprintf(stderr, "numaclaim: %s:%d: %s\n", file, line, msg);
    fflush(stderr);
    abort();
}
