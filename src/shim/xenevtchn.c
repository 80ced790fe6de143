/* SPDX-License-Identifier: MIT */
/*
 * Stand-in libxenevtchn.so.1.  numaclaim models no event channels: no
 * guest runs, so nothing ever signals one.  Debian's libxenctrl,
 * libxenlight and xenstored link this library with BIND_NOW, and
 * xenstored opens a handle, binds VIRQ_DOM_EXC and dom0's xenbus port and
 * polls the handle's fd in its main loop; so every symbol they import
 * exists with its version (xenevtchn.map), and the calls behave as on a
 * host where no event ever arrives:
 *
 *   - open/fdopen give a handle whose fd is an eventfd: pollable, never
 *     readable (nothing writes to it);
 *   - bind_virq, bind_interdomain and bind_unbound_port succeed with a
 *     fresh local port (ports are unique within the process, from 1);
 *   - notify succeeds on a bound port (the other end is a guest that never
 *     runs) and fails with ENOTCONN on any other, as Linux's evtchn device;
 *   - pending finds nothing (EAGAIN); unmask succeeds; unbind releases a
 *     bound port, ENOTCONN otherwise;
 *   - restrict fails with ENOSYS (no per-domain restriction is modelled).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <xenevtchn.h>

struct xenevtchn_handle {
    int fd;
    pthread_mutex_t lock;
    evtchn_port_t *ports;       /* bound on this handle */
    unsigned int nr_ports, max_ports;
};

static evtchn_port_t next_port = 1;
static pthread_mutex_t next_lock = PTHREAD_MUTEX_INITIALIZER;

static xenevtchn_handle *handle_new(int fd)
{
    xenevtchn_handle *xce = calloc(1, sizeof(*xce));

    if ( !xce )
        return NULL;
    xce->fd = fd;
    pthread_mutex_init(&xce->lock, NULL);
    return xce;
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger,
                                 unsigned int flags)
{
    int efl = EFD_NONBLOCK | ((flags & XENEVTCHN_NO_CLOEXEC) ? 0
                                                             : EFD_CLOEXEC);
    int fd = eventfd(0, efl);
    xenevtchn_handle *xce;

    if ( fd < 0 )
        return NULL;
    xce = handle_new(fd);
    if ( !xce )
        close(fd);
    return xce;
}

xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger,
                                   int fd, unsigned open_flags)
{
    if ( fcntl(fd, F_GETFD) < 0 )
        return NULL;            /* errno EBADF */
    return handle_new(fd);
}

int xenevtchn_close(xenevtchn_handle *xce)
{
    if ( !xce )
        return 0;
    close(xce->fd);
    pthread_mutex_destroy(&xce->lock);
    free(xce->ports);
    free(xce);
    return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
    return xce->fd;
}

/* The index of port among xce's bound ports, or -1.  Lock held. */
static int find_port(const xenevtchn_handle *xce, evtchn_port_t port)
{
    unsigned int i;

    for ( i = 0; i < xce->nr_ports; i++ )
        if ( xce->ports[i] == port )
            return (int)i;
    return -1;
}

static xenevtchn_port_or_error_t bind_new(xenevtchn_handle *xce)
{
    evtchn_port_t port;

    pthread_mutex_lock(&xce->lock);
    if ( xce->nr_ports == xce->max_ports )
    {
        unsigned int max = xce->max_ports ? 2 * xce->max_ports : 8;
        evtchn_port_t *p = realloc(xce->ports, max * sizeof(*p));

        if ( !p )
        {
            pthread_mutex_unlock(&xce->lock);
            errno = ENOMEM;
            return -1;
        }
        xce->ports = p;
        xce->max_ports = max;
    }
    pthread_mutex_lock(&next_lock);
    port = next_port++;
    pthread_mutex_unlock(&next_lock);
    xce->ports[xce->nr_ports++] = port;
    pthread_mutex_unlock(&xce->lock);
    return (xenevtchn_port_or_error_t)port;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
    int found;

    pthread_mutex_lock(&xce->lock);
    found = find_port(xce, port);
    pthread_mutex_unlock(&xce->lock);
    if ( found < 0 )
    {
        errno = ENOTCONN;
        return -1;
    }
    return 0;
}

xenevtchn_port_or_error_t
xenevtchn_bind_unbound_port(xenevtchn_handle *xce, uint32_t domid)
{
    return bind_new(xce);
}

xenevtchn_port_or_error_t
xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
                           evtchn_port_t remote_port)
{
    return bind_new(xce);
}

xenevtchn_port_or_error_t
xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq)
{
    return bind_new(xce);
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
    int i;

    pthread_mutex_lock(&xce->lock);
    i = find_port(xce, port);
    if ( i >= 0 )
        xce->ports[i] = xce->ports[--xce->nr_ports];
    pthread_mutex_unlock(&xce->lock);
    if ( i < 0 )
    {
        errno = ENOTCONN;
        return -1;
    }
    return 0;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
    errno = EAGAIN;             /* no event ever arrives */
    return -1;
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
    return 0;
}

int xenevtchn_restrict(xenevtchn_handle *xce, domid_t domid)
{
    errno = ENOSYS;
    return -1;
}
