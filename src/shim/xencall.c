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
 *
 * With NUMACLAIM_SOCKET set when a handle is opened, that handle's
 * hypercalls go to the numaclaim hostd serving the socket (src/wire), one
 * connection per thread so that a process's threads run in parallel there
 * too.  hostd reads and writes this process's memory for the guest
 * handles, so the same calls give the same results, EFAULT included; who
 * the caller is (control domain or a guest) is for hostd to decide.
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

#include "../wire/wire.h"
#include "../xen/xen.h"

#define DEFAULT_HOST "2x4G"

/* Where a handle's hypercalls go is decided when it is opened, not on
 * every call: the in-process host, or the hostd at a socket. */
/* Single-page hypercall buffers a handle keeps for reuse, as Debian's
 * libxencall keeps a small cache of them: most hypercalls bounce a page
 * or less, and reusing one saves the allocation and its registration. */
#define PAGE_BUFFERS 4

struct xencall_handle {
    int fd;                       /* /dev/null: something pollable */
    struct nc_xen *host;          /* in-process, or NULL */
    char *socket;                 /* NUMACLAIM_SOCKET at open, or NULL */
    /* Bit i of page_used claims page[i] for one caller; only that caller
     * makes page[i] (so one atomic operation takes or gives back a page,
     * and no lock is needed); any caller may read page[i] to find which
     * slot a buffer came from. */
    void *_Atomic page[PAGE_BUFFERS];   /* registered pages, or NULL */
    _Atomic uint32_t page_used;
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

/* ========================================================================
 * Through hostd
 * ======================================================================== */


static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;
static _Atomic unsigned int fork_generation;
static _Thread_local int conn_fd = -1;
static _Thread_local unsigned int conn_generation;

static void close_conn(void *v)
{
    close((int)(intptr_t)v - 1);
}

/* A forked child must not speak on its parent's connections: hostd knows
 * the parent's pid for them. */
static void after_fork(void)
{
    atomic_fetch_add(&fork_generation, 1);
}

static void conn_init(void)
{
    pthread_key_create(&conn_key, close_conn);
    pthread_atfork(NULL, NULL, after_fork);
}

/* This thread's connection to the hostd at path, connecting if needed:
 * the fd, or -1 with errno set and the reason printed. */
static int thread_conn(const char *path)
{
    unsigned int gen;

    pthread_once(&conn_once, conn_init);
    gen = atomic_load(&fork_generation);
    if ( conn_fd >= 0 && conn_generation != gen )
    {
        close(conn_fd);         /* inherited from the parent */
        conn_fd = -1;
    }
    if ( conn_fd < 0 )
    {
        struct nc_wire_welcome w;
        char err[512];
        int fd = nc_wire_connect(path, &w, err, sizeof(err));

        if ( fd < 0 )
        {
            fprintf(stderr, "numaclaim: %s\n", err);
            errno = -fd;
            return -1;
        }
        conn_fd = fd;
        conn_generation = gen;
        pthread_setspecific(conn_key, (void *)(intptr_t)(fd + 1));
    }
    return conn_fd;
}

static long remote_call(const char *path, unsigned int op,
                        const uint64_t arg[5])
{
    struct nc_wire_call c = { .op = op };
    int64_t result;
    int fd = thread_conn(path), rc;

    if ( fd < 0 )
        return -errno;
    memcpy(c.arg, arg, sizeof(c.arg));
    rc = nc_wire_request(fd, NC_WIRE_CALL, &c, &result);
    if ( rc )
    {
        fprintf(stderr, "numaclaim: lost the connection to hostd at %s: "
                        "%s\n", path, strerror(-rc));
        pthread_setspecific(conn_key, NULL);
        close(fd);
        conn_fd = -1;
        return -ENOTCONN;
    }
    return (long)result;
}

/* ========================================================================
 * The interface
 * ======================================================================== */

xencall_handle *xencall_open(struct xentoollog_logger *logger,
                             unsigned int open_flags)
{
    const char *sock = getenv("NUMACLAIM_SOCKET");
    xencall_handle *h;

    (void)logger;
    (void)open_flags;
    h = calloc(1, sizeof(*h));
    if ( !h )
        return NULL;
    if ( sock && *sock )
    {
        /* Connect now, so that an absent or refusing hostd fails here. */
        h->socket = strdup(sock);
        if ( !h->socket || thread_conn(h->socket) < 0 )
            goto fail;
    }
    else if ( !(h->host = process_host()) )
        goto fail;
    h->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return h;

 fail:
    {
        int e = errno;

        free(h->socket);
        free(h);
        errno = e;
    }
    return NULL;
}

int xencall_close(xencall_handle *xcall)
{
    if ( !xcall )
        return 0;
    if ( xcall->fd >= 0 )
        close(xcall->fd);
    for ( unsigned int i = 0; i < PAGE_BUFFERS; i++ )
    {
        void *p = atomic_load_explicit(&xcall->page[i], memory_order_relaxed);

        if ( p )
        {
            nc_xen_buffer_del(p);
            free(p);
        }
    }
    free(xcall->socket);
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

static long call(xencall_handle *h, unsigned int op, uint64_t a1,
                 uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
    const uint64_t arg[5] = { a1, a2, a3, a4, a5 };
    long rc = h->socket ? remote_call(h->socket, op, arg)
                        : nc_xen_hypercall(h->host, NC_DOMID_CONTROL, op, arg);

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
    return (int)call(xcall, op, 0, 0, 0, 0, 0);
}

int xencall1(xencall_handle *xcall, unsigned int op, uint64_t arg1)
{
    return (int)call(xcall, op, arg1, 0, 0, 0, 0);
}

int xencall2(xencall_handle *xcall, unsigned int op, uint64_t arg1,
             uint64_t arg2)
{
    return (int)call(xcall, op, arg1, arg2, 0, 0, 0);
}

long xencall2L(xencall_handle *xcall, unsigned int op, uint64_t arg1,
               uint64_t arg2)
{
    return call(xcall, op, arg1, arg2, 0, 0, 0);
}

int xencall3(xencall_handle *xcall, unsigned int op, uint64_t arg1,
             uint64_t arg2, uint64_t arg3)
{
    return (int)call(xcall, op, arg1, arg2, arg3, 0, 0);
}

int xencall4(xencall_handle *xcall, unsigned int op, uint64_t arg1,
             uint64_t arg2, uint64_t arg3, uint64_t arg4)
{
    return (int)call(xcall, op, arg1, arg2, arg3, arg4, 0);
}

int xencall5(xencall_handle *xcall, unsigned int op, uint64_t arg1,
             uint64_t arg2, uint64_t arg3, uint64_t arg4, uint64_t arg5)
{
    return (int)call(xcall, op, arg1, arg2, arg3, arg4, arg5);
}

/* Hypercall buffers are registered with the hypercall layer while they
 * live, so that the in-process host copies through them with memcpy; a
 * handle's page buffers stay registered, and mapped, from when they are
 * made to xencall_close, as libxencall's cached pages stay mapped. */

/* One of the handle's page buffers, its first `size` bytes zeroed (the
 * caller's buffer), or NULL if all PAGE_BUFFERS are in use or one cannot
 * be made. */
static void *page_buffer_get(xencall_handle *h, size_t size)
{
    for ( unsigned int i = 0; i < PAGE_BUFFERS; i++ )
    {
        uint32_t bit = 1U << i;
        void *p;

        if ( atomic_fetch_or_explicit(&h->page_used, bit,
                                      memory_order_acquire) & bit )
            continue;           /* someone else's */
        p = atomic_load_explicit(&h->page[i], memory_order_relaxed);
        if ( !p )
        {
            if ( posix_memalign(&p, 4096, 4096) )
            {
                atomic_fetch_and_explicit(&h->page_used, ~bit,
                                          memory_order_release);
                return NULL;
            }
            nc_xen_buffer_add(p, 4096);
            atomic_store_explicit(&h->page[i], p, memory_order_relaxed);
        }
        return memset(p, 0, size);
    }
    return NULL;
}

/* Whether p is one of the handle's page buffers (then given back). */
static bool page_buffer_put(xencall_handle *h, void *p)
{
    for ( unsigned int i = 0; i < PAGE_BUFFERS; i++ )
        if ( atomic_load_explicit(&h->page[i], memory_order_relaxed) == p )
        {
            atomic_fetch_and_explicit(&h->page_used, ~(1U << i),
                                      memory_order_release);
            return true;
        }
    return false;
}

void *xencall_alloc_buffer(xencall_handle *xcall, size_t size)
{
    void *p = size <= 4096 ? page_buffer_get(xcall, size) : NULL;

    if ( p )
        return p;
    p = calloc(1, size ? size : 1);
    nc_xen_buffer_add(p, size ? size : 1);
    return p;
}

void xencall_free_buffer(xencall_handle *xcall, void *p)
{
    if ( !p || page_buffer_put(xcall, p) )
        return;
    nc_xen_buffer_del(p);
    free(p);
}

void *xencall_alloc_buffer_pages(xencall_handle *xcall, size_t nr_pages)
{
    size_t size = (nr_pages ? nr_pages : 1) * 4096;
    void *p = size == 4096 ? page_buffer_get(xcall, size) : NULL;

    if ( p )
        return p;
    if ( posix_memalign(&p, 4096, size) )
        return NULL;
    nc_xen_buffer_add(p, size);
    return memset(p, 0, size);
}

void xencall_free_buffer_pages(xencall_handle *xcall, void *p, size_t nr_pages)
{
    (void)nr_pages;
    if ( !p || page_buffer_put(xcall, p) )
        return;
    nc_xen_buffer_del(p);
    free(p);
}

int xencall_buffers_never_fault(xencall_handle *xcall)
{
    (void)xcall;
    return 1;
}
