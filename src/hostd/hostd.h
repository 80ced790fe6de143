/* SPDX-License-Identifier: MIT */
/*
 * numaclaim hostd: one simulated host served to many processes.
 *
 * hostd owns one host (src/xen over src/core) and serves it on a unix
 * socket with the wire protocol of src/wire.  Each connection gets a
 * thread of its own, so clients in separate processes contend on the
 * core's real locks.  Who a client is comes from the kernel: SO_PEERCRED
 * at connect decides between the control domain (root, hostd's own user,
 * or a member of the configured group), a guest (a process, or a
 * descendant of one, that the control domain bound to a domain with
 * BIND_GUEST: `numaclaim guest DOMID -- CMD`), or nobody, who is refused
 * with a message.  A connection keeps its identity for life.
 */
#ifndef NC_HOSTD_H
#define NC_HOSTD_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct nc_hostd_config {
    const char *spec;            /* numaclaim host spec of the host */
    const char *socket_path;
    bool have_group;
    gid_t group;                 /* members act as the control domain */
    int ready_fd;                /* written once listening (-1: none) */
    bool detach;                 /* once ready, let go of the terminal */
    FILE *log;                   /* NULL: no log */
};

/* The default socket: /run/numaclaim/hostd.sock for root, else
 * $XDG_RUNTIME_DIR/numaclaim/hostd.sock (or /tmp/numaclaim-UID/...).
 * buf >= 256. */
const char *nc_hostd_default_socket(char *buf, size_t len);

/* Serve until SIGTERM or SIGINT; 0 after a clean shutdown, else 1 with a
 * message on stderr (a bad host, a live hostd on the socket, ...). */
int nc_hostd_run(const struct nc_hostd_config *cfg);

#endif /* NC_HOSTD_H */
