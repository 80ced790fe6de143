/* SPDX-License-Identifier: MIT */
/*
 * spawn_ready (spawn.h): fork, and wait on a ready pipe.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

pid_t spawn_ready(const char *who, unsigned int flags,
                  int (*child)(void *arg, int ready_fd), void *arg)
{
    int ready[2];
    char ok = 0;
    pid_t pid;

    if ( pipe(ready) )
    {
        if ( who )
            fprintf(stderr, "%s: pipe: %s\n", who, strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if ( pid < 0 )
    {
        if ( who )
            fprintf(stderr, "%s: fork: %s\n", who, strerror(errno));
        close(ready[0]);
        close(ready[1]);
        return -1;
    }
    if ( pid == 0 )
    {
        close(ready[0]);
        if ( flags & SPAWN_SESSION )
            setsid();
        if ( flags & SPAWN_DIE_WITH_PARENT )
            prctl(PR_SET_PDEATHSIG, SIGTERM);
        _exit(child(arg, ready[1]));
    }
    close(ready[1]);
    if ( read(ready[0], &ok, 1) != 1 )
    {
        /* It ended before serving, and said why on stderr. */
        close(ready[0]);
        waitpid(pid, NULL, 0);
        return -1;
    }
    close(ready[0]);
    return pid;
}
