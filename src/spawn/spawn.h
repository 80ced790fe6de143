/* SPDX-License-Identifier: MIT */
/*
 * Start a server in a child process and return once it serves: the child
 * writes one byte to a pipe when it is ready, and the parent waits for
 * that byte or for the pipe to close (the child ended first).  Used by
 * `numaclaim hostd --daemon`, `numaclaim xenstored --daemon` and the
 * storm's private hostd per policy (--processes).
 */
#ifndef NC_SPAWN_H
#define NC_SPAWN_H

#include <sys/types.h>

/* The child leaves the parent's session (a daemon). */
#define SPAWN_SESSION           (1u << 0)
/* The child gets SIGTERM when the parent ends (it must not outlive it). */
#define SPAWN_DIE_WITH_PARENT   (1u << 1)

/*
 * Fork; the child runs child(arg, ready_fd) and exits with its result,
 * having written one byte to ready_fd once it serves.  Returns the
 * child's pid then, or -1 if the pipe or fork failed (said on stderr,
 * prefixed with who, when who is not NULL) or the child ended before it
 * was ready (it says why itself; it is reaped).
 */
pid_t spawn_ready(const char *who, unsigned int flags,
                  int (*child)(void *arg, int ready_fd), void *arg);

#endif /* NC_SPAWN_H */
