/* SPDX-License-Identifier: MIT */
/*
 * Starting a `numaclaim hostd` (the binary in $NC_NUMACLAIM) for a suite
 * that talks to it from several processes, quiet unless NC_HOSTD_LOG is
 * set, checking its counters after every hypercall, with a 300 ms frame
 * timeout.
 */
#ifndef NC_TESTS_HOSTD_SPAWN_H
#define NC_TESTS_HOSTD_SPAWN_H

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/wire/wire.h"

/* Start a hostd serving host spec on a socket in a new directory (path
 * receives it), with at most nofile open files if nofile > 0: its pid
 * once it answers, or -1 (and none left running). */
static pid_t spawn_hostd(const char *spec, char *path, size_t pathlen,
                         rlim_t nofile)
{
    const char *exe = getenv("NC_NUMACLAIM");
    char dir[] = "/tmp/nc-hostd-test.XXXXXX";
    pid_t pid;

    if ( !exe || !mkdtemp(dir) )
        return -1;
    snprintf(path, pathlen, "%s/hostd.sock", dir);
    pid = fork();
    if ( pid == 0 )
    {
        int null = open("/dev/null", O_WRONLY);
        struct rlimit rl = { nofile, nofile };

        /* Quiet unless asked: the log is one line per connection. */
        if ( !getenv("NC_HOSTD_LOG") )
            dup2(null, STDERR_FILENO);
        if ( nofile )
            setrlimit(RLIMIT_NOFILE, &rl);
        setenv("NUMACLAIM_HOSTD_FRAME_MS", "300", 1);
        setenv("NUMACLAIM_CHECK", "1", 1);
        execl(exe, exe, "hostd", "--host", spec, "--socket", path,
              (char *)NULL);
        _exit(127);
    }
    for ( int i = 0; pid > 0 && i < 500; i++ )
    {
        struct nc_wire_welcome w;
        char err[256];
        int fd = nc_wire_connect(path, &w, err, sizeof(err));

        if ( fd >= 0 )
        {
            close(fd);
            return pid;
        }
        usleep(10000);
    }
    if ( pid > 0 )
    {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return -1;
}

#endif /* NC_TESTS_HOSTD_SPAWN_H */
