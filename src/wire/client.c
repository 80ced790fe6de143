/* SPDX-License-Identifier: MIT */
/*
 * The client side of the hostd wire protocol (wire.h).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wire.h"

static _Atomic uint32_t next_seq = 1;

int nc_wire_connect(const char *path, struct nc_wire_welcome *w, char *err,
                    size_t errlen)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    struct nc_wire_hello hello = { .version = NC_WIRE_VERSION };
    struct nc_wire_hdr h;
    union nc_wire_any m;
    int fd, rc;

    if ( strlen(path) >= sizeof(a.sun_path) )
    {
        snprintf(err, errlen, "socket path %s is too long", path);
        return -ENAMETOOLONG;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if ( fd < 0 )
    {
        rc = -errno;
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return rc;
    }
    if ( connect(fd, (struct sockaddr *)&a, sizeof(a)) )
    {
        rc = -errno;
        snprintf(err, errlen, "no numaclaim hostd at %s: %s", path,
                 strerror(errno));
        close(fd);
        return rc;
    }
    rc = nc_wire_send(fd, NC_WIRE_HELLO, atomic_fetch_add(&next_seq, 1),
                      &hello);
    if ( !rc )
        rc = nc_wire_recv(fd, &h, &m, 10000);
    else if ( rc == -EPIPE && !nc_wire_recv(fd, &h, &m, 10000) )
        rc = 0;     /* refused and closed before our HELLO: its reason */
    if ( !rc && h.type != NC_WIRE_WELCOME )
        rc = -EPROTO;
    if ( rc )
    {
        snprintf(err, errlen, "hostd at %s: no welcome: %s", path,
                 strerror(-rc));
        close(fd);
        return rc;
    }
    m.welcome.text[NC_WIRE_TEXT_MAX - 1] = '\0';
    *w = m.welcome;
    if ( w->rc )
    {
        snprintf(err, errlen, "hostd at %s refused this process: %s", path,
                 w->text);
        close(fd);
        return w->rc < 0 ? w->rc : -EPROTO;
    }
    /* Under Yama's ptrace_scope=1, hostd may read this process's memory
     * (the guest handles) only if we say so; elsewhere this is a no-op. */
    (void)prctl(PR_SET_PTRACER, (unsigned long)w->hostd_pid, 0, 0, 0);
    return fd;
}

int nc_wire_request(int fd, uint16_t type, const void *payload,
                    int64_t *result)
{
    uint32_t seq = atomic_fetch_add(&next_seq, 1);
    struct nc_wire_hdr h;
    union nc_wire_any m;
    int rc = nc_wire_send(fd, type, seq, payload);

    if ( !rc )
        rc = nc_wire_recv(fd, &h, &m, -1);
    if ( rc )
        return rc;
    if ( h.type != NC_WIRE_RESULT || h.seq != seq )
        return -EPROTO;
    *result = m.result.rc;
    return 0;
}
