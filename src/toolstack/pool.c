/* SPDX-License-Identifier: MIT */
/*
 * Parallel builders: a pool of threads building a queue of VMs against one
 * host, each thread with its own xc_interface, as a toolstack daemon
 * starting many VMs at once would.  The placement counters (how many VMs
 * each node received) are shared, under a mutex.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "toolstack.h"

struct pool {
    const struct ts_vm *vms;
    uint32_t nr;
    enum ts_policy policy;
    struct ts_build *results;
    atomic_uint next;
    atomic_int open_failed;
    pthread_mutex_t lock;
    struct ts_usage usage;
};

void ts_usage_lock_mutex(void *mutex, bool lock)
{
    if ( lock )
        pthread_mutex_lock(mutex);
    else
        pthread_mutex_unlock(mutex);
}

static void *builder_thread(void *arg)
{
    struct pool *p = arg;
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    uint32_t i;

    if ( !xch )
    {
        atomic_store(&p->open_failed, 1);
        return NULL;
    }
    while ( (i = atomic_fetch_add(&p->next, 1)) < p->nr )
    {
        struct ts_build *b = &p->results[i];

        ts_build_init(b, &p->vms[i], p->policy);
        b->usage = &p->usage;
        b->usage_lock = ts_usage_lock_mutex;
        b->usage_arg = &p->lock;
        ts_build_run(b, xch);
    }
    xc_interface_close(xch);
    return NULL;
}

int ts_pool_build(const struct ts_vm *vms, uint32_t nr, enum ts_policy policy,
                  uint32_t threads, struct ts_build *results)
{
    struct pool p = {
        .vms = vms,
        .nr = nr,
        .policy = policy,
        .results = results,
        .lock = PTHREAD_MUTEX_INITIALIZER,
    };
    pthread_t *t = ts_zalloc(threads, sizeof(*t));
    uint32_t started = 0;

    if ( !t )
        return -1;
    atomic_init(&p.next, 0);
    atomic_init(&p.open_failed, 0);
    for ( ; started < threads; started++ )
        if ( pthread_create(&t[started], NULL, builder_thread, &p) )
            break;
    if ( started == 0 )
        builder_thread(&p);         /* no threads: build here */
    for ( uint32_t i = 0; i < started; i++ )
        pthread_join(t[i], NULL);
    ts_free(t);
    return atomic_load(&p.open_failed) ? -1 : 0;
}
