/* SPDX-License-Identifier: MIT */
/*
 * Stand-in libxencall.so.1: where Debian's library would issue ioctls on
 * /dev/xen/privcmd, this one calls numaclaim's hypercall layer.
 *
 * The process has one simulated host, created at the first xencall_open()
 * from the environment variable NUMACLAIM_HOST (a host spec, default
 * "2x4G") and shared by every handle and thread; the caller acts as the
 * control domain.  NUMACLAIM_CHECK=0|1|2 sets how thoroughly the core checks
 * its invariants after every operation (default: 1 in debug builds, 0 in
 * release builds).  Errors reach the caller as Debian's libxencall delivers
 * them: -1 with errno set.  Hypercall buffers are ordinary memory: the
 * hypercall layer validates every guest address it is handed, so they
 * never fault (xencall_buffers_never_fault() says 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xencall.h>

#include "../xen/xen.h"

#define DEFAULT_HOST "2x4G"

struct xencall_handle {
    int fd;                       /* /dev/null: something pollable */
};

static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nc_xen *host;
static int host_error;

/* The process's host, created on first use. */
static struct nc_xen *process_host(void)
{
    struct nc_xen *x;

    pthread_mutex_lock(&host_lock);
    if ( !host && !host_error )
    {
        const char *spec = getenv("NUMACLAIM_HOST");
        char err[256];
        int rc;

        if ( !spec || !*spec )
            spec = DEFAULT_HOST;
        rc = nc_xen_create(spec, &host, err, sizeof(err));
        if ( !rc && getenv("NUMACLAIM_CHECK") )
            nc_host_set_autocheck(nc_xen_host(host),
                                  atoi(getenv("NUMACLAIM_CHECK")));
        if ( rc )
        {
            fprintf(stderr, "numaclaim: NUMACLAIM_HOST=\"%s\": %s\n", spec,
                    rc == -EINVAL ? err : strerror(-rc));
            host_error = -rc;
        }
    }
    x = host;
    if ( !x )
        errno = host_error;
    pthread_mutex_unlock(&host_lock);
    return x;
}

xencall_handle *xencall_open(struct xentoollog_logger *logger,
                             unsigned int open_flags)
{
    xencall_handle *h;

    (void)logger;
    (void)open_flags;
    if ( !process_host() )
        return NULL;
    h = calloc(1, sizeof(*h));
    if ( !h )
        return NULL;
    h->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return h;
}

int xencall_close(xencall_handle *xcall)
{
    if ( !xcall )
        return 0;
    if ( xcall->fd >= 0 )
        close(xcall->fd);
    free(xcall);
    return 0;
}

int xencall_fd(xencall_handle *xcall)
{
    return xcall->fd;
}

/* NUMACLAIM_TRACE=1 logs every hypercall and its result to stderr. */
static bool trace(void)
{
    static _Atomic int on = -1;
    int v = atomic_load(&on);

    if ( v < 0 )
    {
        const char *t = getenv("NUMACLAIM_TRACE");

        v = t && *t && *t != '0';
        atomic_store(&on, v);
    }
    return v;
}

static long call(unsigned int op, uint64_t a1, uint64_t a2, uint64_t a3,
                 uint64_t a4, uint64_t a5)
{
    const uint64_t arg[5] = { a1, a2, a3, a4, a5 };
    struct nc_xen *x = process_host();
    long rc;

    if ( !x )
        return -1;
    rc = nc_xen_hypercall(x, NC_DOMID_CONTROL, op, arg);
    if ( trace() )
        fprintf(stderr, "numaclaim: hypercall %u (%#llx, %#llx) = %ld\n", op,
                (unsigned long long)a1, (unsigned long long)a2, rc);
    if ( rc < 0 )
    {
        errno = (int)-rc;
        return -1;
    }
    return rc;
}

int xencall0(xencall_handle *xcall, unsigned int op)
{
    (void)xcall;
    return (int)call(op, 0, 0, 0, 0, 0);
}

int xencall1(xencall_handle *xcall, unsigned int op, uint64_t arg1)
{
    (void)xcall;
    return (int)call(op, arg1, 0, 0, 0, 0);
}

int xencall2(xencall_handle *xcall, unsigned int op, uint64_t arg1,
             uint64_t arg2)
{
    (void)xcall;
    return (int)call(op, arg1, arg2, 0, 0, 0);
}

long xencall2L(xencall_handle *xcall, unsigned int op, uint64_t arg1,
               uint64_t arg2)
{
    (void)xcall;
    return call(op, arg1, arg2, 0, 0, 0);
}

int xencall3(xencall_handle *xcall, unsigned int op, uint64_t arg1,
             uint64_t arg2, uint64_t arg3)
{
    (void)xcall;
    return (int)call(op, arg1, arg2, arg3, 0, 0);
}

int xencall4(xencall_handle *xcall, unsigned int op, uint64_t arg1,
             uint64_t arg2, uint64_t arg3, uint64_t arg4)
{
    (void)xcall;
    return (int)call(op, arg1, arg2, arg3, arg4, 0);
}

int xencall5(xencall_handle *xcall, unsigned int op, uint64_t arg1,
             uint64_t arg2, uint64_t arg3, uint64_t arg4, uint64_t arg5)
{
    (void)xcall;
    return (int)call(op, arg1, arg2, arg3, arg4, arg5);
}

void *xencall_alloc_buffer(xencall_handle *xcall, size_t size)
{
    (void)xcall;
    return calloc(1, size ? size : 1);
}

void xencall_free_buffer(xencall_handle *xcall, void *p)
{
    (void)xcall;
    free(p);
}

void *xencall_alloc_buffer_pages(xencall_handle *xcall, size_t nr_pages)
{
    void *p;

    (void)xcall;
    if ( posix_memalign(&p, 4096, (nr_pages ? nr_pages : 1) * 4096) )
        return NULL;
    return memset(p, 0, (nr_pages ? nr_pages : 1) * 4096);
}

void xencall_free_buffer_pages(xencall_handle *xcall, void *p, size_t nr_pages)
{
    (void)xcall;
    (void)nr_pages;
    free(p);
}

int xencall_buffers_never_fault(xencall_handle *xcall)
{
    (void)xcall;
    return 1;
}
