/* SPDX-License-Identifier: MIT */
/*
 *   numaclaim xenstored [--socket PATH] [--rundir DIR] [--trace FILE]
 *                       [--xenstored BIN] [--daemon]
 *
 * Runs Debian's own C xenstored (xen-utils-4.17) for the host a numaclaim
 * hostd serves, so that Debian's xl and libxenlight, which need a
 * xenstore, work on it.  xenstored runs unmodified, on the stand-in
 * libraries (src/shim: libxenctrl reaches hostd through the stand-in
 * libxencall; event channels and grant tables are stand-ins too), in the
 * foreground (-N), with its run directory (XENSTORED_RUNDIR) and so its
 * socket in DIR, by default PATH.xenstore/ next to hostd's socket;
 * clients find it with XENSTORED_PATH=DIR/socket (`numaclaim env`).
 *
 * xenstored 4.17 will not start without domain 0's xenbus ring: it reads
 * the port from /proc/xen/xsd_port and maps the page /proc/xen/xsd_kva,
 * which only a Xen dom0 kernel has.  DIR holds both (a port number and a
 * zeroed page), and libnumaclaim-xsd.so, preloaded into this xenstored
 * alone, points those two opens at them (src/shim/xsdproc.c).  Once
 * xenstored answers, the nodes Xen's xen-init-dom0 writes are written over
 * the socket: /local/domain/0/domid, /local/domain/0/name = "Domain-0",
 * /local/pool/0/name = "Pool-0".
 *
 * SIGTERM or SIGINT stop xenstored; the run directory's files go with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "../hostd/hostd.h"
#include "../spawn/spawn.h"
#include "../wire/wire.h"
#include "cli.h"

#define DEFAULT_XENSTORED "/usr/lib/xen-4.17/bin/xenstored"

const char *cli_xenstore_rundir(const char *hostd_socket, char *buf,
                                size_t len)
{
    if ( (size_t)snprintf(buf, len, "%s.xenstore", hostd_socket) >= len )
        return NULL;
    return buf;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: numaclaim xenstored [--socket PATH] [--rundir DIR] "
            "[--trace FILE]\n"
            "                           [--xenstored BIN] [--daemon]\n"
            "\n"
            "Runs Debian's xenstored (default %s) for the\n"
            "host the hostd at PATH serves (default: $NUMACLAIM_SOCKET, else\n"
            "hostd's default socket), with its socket in DIR (default\n"
            "PATH.xenstore), and writes domain 0's name as Xen's\n"
            "xen-init-dom0 does.  `eval \"$(numaclaim env)\"` points xl at it.\n"
            "SIGTERM or SIGINT stop it.\n", DEFAULT_XENSTORED);
}

/* ------------------------------------------------------------------------
 * The xenstore wire protocol (xs_wire.h), just enough to write a node
 * ------------------------------------------------------------------------ */

static int xs_connect(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd;

    if ( strlen(path) >= sizeof(a.sun_path) )
        return -ENAMETOOLONG;
    strcpy(a.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if ( fd < 0 )
        return -errno;
    if ( connect(fd, (struct sockaddr *)&a, sizeof(a)) )
    {
        int e = errno;

        close(fd);
        return -e;
    }
    return fd;
}

static int full_io(int fd, void *buf, size_t len, bool out)
{
    char *p = buf;

    while ( len )
    {
        ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : read(fd, p, len);

        if ( n < 0 && errno == EINTR )
            continue;
        if ( n <= 0 )
            return n ? -errno : -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* XS_WRITE path = value; 0, or a message in err. */
static int xs_write(int fd, const char *path, const char *value, char *err,
                    size_t errlen)
{
    size_t plen = strlen(path) + 1, vlen = strlen(value);
    struct xsd_sockmsg m = { .type = XS_WRITE, .req_id = 1,
                             .len = (uint32_t)(plen + vlen) };
    char body[XENSTORE_PAYLOAD_MAX + 1];
    int rc;

    if ( plen + vlen > XENSTORE_PAYLOAD_MAX )
    {
        snprintf(err, errlen, "%s: too long", path);
        return -1;
    }
    memcpy(body, path, plen);
    memcpy(body + plen, value, vlen);
    rc = full_io(fd, &m, sizeof(m), true);
    if ( !rc )
        rc = full_io(fd, body, m.len, true);
    if ( !rc )
        rc = full_io(fd, &m, sizeof(m), false);
    if ( !rc && m.len > XENSTORE_PAYLOAD_MAX )
        rc = -EPROTO;
    if ( !rc )
        rc = full_io(fd, body, m.len, false);
    if ( rc )
    {
        snprintf(err, errlen, "writing %s: %s", path, strerror(-rc));
        return -1;
    }
    if ( m.type != XS_WRITE )
    {
        body[m.len] = '\0';
        snprintf(err, errlen, "writing %s: xenstored says %.64s", path,
                 m.type == XS_ERROR ? body : "something unexpected");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Running xenstored
 * ------------------------------------------------------------------------ */

struct xs_config {
    const char *hostd_socket;
    const char *rundir;
    const char *xenstored;
    const char *trace;
    int ready_fd;               /* -1: none */
};

/* SIGTERM, SIGINT and SIGCHLD are blocked in the parent and taken with
 * sigtimedwait(), so none is lost between a check and a wait. */
static sigset_t watched;
static bool stopping;

/* Wait up to ms for a watched signal; a stop request kills the child. */
static void take_signal(pid_t child, long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000 * 1000 };
    int sig = sigtimedwait(&watched, NULL, &ts);

    if ( sig == SIGTERM || sig == SIGINT )
    {
        stopping = true;
        kill(child, SIGTERM);
    }
}

static int write_file(const char *dir, const char *name, const void *data,
                      size_t len)
{
    char path[4096];
    int fd, rc = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if ( fd < 0 )
        return -errno;
    if ( write(fd, data, len) != (ssize_t)len )
        rc = errno ? -errno : -EIO;
    close(fd);
    return rc;
}

static void remove_files(const char *dir, bool rmdir_too)
{
    static const char *const names[] = {
        "socket", "socket_ro", "xsd_port", "xsd_kva", "xenstored.pid",
    };
    char path[4096];

    for ( size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++ )
    {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    if ( rmdir_too )
        rmdir(dir);
}

static void child_exec(const struct xs_config *c)
{
    const char *old_pre = getenv("LD_PRELOAD");
    const char *old_lib = getenv("LD_LIBRARY_PATH");
    char pre[4096], lib[4096], pid[4096];
    const char *argv[8];
    int n = 0;

    /* After any preload already asked for: a sanitizer's runtime must come
     * first. */
    snprintf(pre, sizeof(pre), "%s%s%s/libnumaclaim-xsd.so",
             old_pre ? old_pre : "", old_pre && *old_pre ? " " : "",
             cli_shim_dir());
    snprintf(lib, sizeof(lib), "%s%s%s", cli_shim_dir(),
             old_lib && *old_lib ? ":" : "", old_lib ? old_lib : "");
    snprintf(pid, sizeof(pid), "%s/xenstored.pid", c->rundir);
    setenv("LD_PRELOAD", pre, 1);
    setenv("LD_LIBRARY_PATH", lib, 1);
    setenv("NUMACLAIM_SOCKET", c->hostd_socket, 1);
    setenv("NUMACLAIM_XSD_DIR", c->rundir, 1);
    setenv("XENSTORED_RUNDIR", c->rundir, 1);
    argv[n++] = c->xenstored;
    argv[n++] = "--no-fork";
    argv[n++] = "--pid-file";
    argv[n++] = pid;
    if ( c->trace )
    {
        argv[n++] = "--trace-file";
        argv[n++] = c->trace;
    }
    argv[n] = NULL;
    execv(c->xenstored, (char *const *)argv);
    fprintf(stderr, "numaclaim xenstored: %s: %s\n", c->xenstored,
            strerror(errno));
    _exit(127);
}

/* Wait for xenstored's socket to answer: the connected fd; -1 once the
 * child has exited, -2 after 10 s or a stop request. */
static int wait_for_xenstored(const char *sock, pid_t child, int *status)
{
    for ( int i = 0; i < 500 && !stopping; i++ )
    {
        int fd = xs_connect(sock);

        if ( fd >= 0 )
            return fd;
        if ( waitpid(child, status, WNOHANG) == child )
            return -1;
        take_signal(child, 20);
    }
    return -2;
}

static int run(const struct xs_config *c)
{
    static const char *const nodes[][2] = {
        { "/local/domain/0/domid", "0" },
        { "/local/domain/0/name", "Domain-0" },
        { "/local/pool/0/name", "Pool-0" },
    };
    struct nc_wire_welcome w;
    char sock[4096], err[512];
    bool made_dir = false;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *zero;
    int fd, status = 0, rc;
    pid_t child;

    /* hostd first: xenstored's libxenctrl needs it. */
    fd = nc_wire_connect(c->hostd_socket, &w, err, sizeof(err));
    if ( fd < 0 )
    {
        fprintf(stderr, "numaclaim xenstored: %s\n", err);
        return 1;
    }
    close(fd);

    snprintf(sock, sizeof(sock), "%s/socket", c->rundir);
    if ( strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path) )
    {
        fprintf(stderr, "numaclaim xenstored: %s: path too long for a "
                        "socket\n", sock);
        return 1;
    }
    if ( !mkdir(c->rundir, 0755) )
        made_dir = true;
    else if ( errno != EEXIST )
    {
        fprintf(stderr, "numaclaim xenstored: %s: %s\n", c->rundir,
                strerror(errno));
        return 1;
    }
    fd = xs_connect(sock);
    if ( fd >= 0 )
    {
        close(fd);
        fprintf(stderr, "numaclaim xenstored: a xenstored is already "
                        "serving %s\n", sock);
        return 1;
    }

    zero = calloc(1, page);
    rc = zero ? write_file(c->rundir, "xsd_kva", zero, page) : -ENOMEM;
    free(zero);
    if ( !rc )
        rc = write_file(c->rundir, "xsd_port", "1\n", 2);
    if ( rc )
    {
        fprintf(stderr, "numaclaim xenstored: %s: %s\n", c->rundir,
                strerror(-rc));
        remove_files(c->rundir, made_dir);
        return 1;
    }

    sigemptyset(&watched);
    sigaddset(&watched, SIGTERM);
    sigaddset(&watched, SIGINT);
    sigaddset(&watched, SIGCHLD);
    sigprocmask(SIG_BLOCK, &watched, NULL);
    child = fork();
    if ( child < 0 )
    {
        perror("numaclaim xenstored: fork");
        remove_files(c->rundir, made_dir);
        return 1;
    }
    if ( child == 0 )
    {
        sigprocmask(SIG_UNBLOCK, &watched, NULL);
        if ( c->ready_fd >= 0 )
        {
            /* A daemon's xenstored lets go of the terminal too (its
             * --trace file is its log). */
            int devnull = open("/dev/null", O_WRONLY);

            close(c->ready_fd);
            if ( devnull >= 0 )
            {
                dup2(devnull, STDERR_FILENO);
                close(devnull);
            }
        }
        child_exec(c);
    }

    fd = wait_for_xenstored(sock, child, &status);
    if ( fd < 0 )
    {
        if ( fd == -2 )
        {
            kill(child, SIGTERM);
            waitpid(child, &status, 0);
            if ( !stopping )
                fprintf(stderr, "numaclaim xenstored: %s did not open %s\n",
                        c->xenstored, sock);
        }
        else
            fprintf(stderr, "numaclaim xenstored: %s exited (status %d) "
                            "before it served\n", c->xenstored, status);
        remove_files(c->rundir, made_dir);
        return 1;
    }
    for ( size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++ )
        if ( xs_write(fd, nodes[i][0], nodes[i][1], err, sizeof(err)) )
        {
            fprintf(stderr, "numaclaim xenstored: %s\n", err);
            close(fd);
            kill(child, SIGTERM);
            waitpid(child, &status, 0);
            remove_files(c->rundir, made_dir);
            return 1;
        }
    close(fd);

    printf("numaclaim xenstored: pid %d serving %s for the host at %s\n",
           (int)child, sock, c->hostd_socket);
    fflush(stdout);
    if ( c->ready_fd >= 0 )
    {
        char ok = 1;

        int devnull = open("/dev/null", O_WRONLY);

        if ( write(c->ready_fd, &ok, 1) != 1 )
            ok = 0;
        close(c->ready_fd);
        if ( devnull >= 0 )
        {
            dup2(devnull, STDERR_FILENO);
            close(devnull);
        }
    }

    while ( waitpid(child, &status, WNOHANG) == 0 )
        take_signal(child, 1000);
    remove_files(c->rundir, made_dir);
    if ( stopping && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM )
        return 0;
    fprintf(stderr, "numaclaim xenstored: %s exited (status %d)\n",
            c->xenstored, status);
    return 1;
}

/* In the background: stdio let go of, the log (stderr) kept. */
static int serve_detached(void *arg, int ready_fd)
{
    struct xs_config *c = arg;
    int devnull = open("/dev/null", O_RDWR);

    c->ready_fd = ready_fd;
    if ( devnull >= 0 )
    {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        close(devnull);
    }
    return run(c);
}

int cli_xenstored(int argc, char **argv)
{
    static const struct option opts[] = {
        { "socket", required_argument, NULL, 's' },
        { "rundir", required_argument, NULL, 'r' },
        { "trace", required_argument, NULL, 'T' },
        { "xenstored", required_argument, NULL, 'x' },
        { "daemon", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct xs_config c = { .xenstored = DEFAULT_XENSTORED, .ready_fd = -1 };
    char hbuf[256], rbuf[4096];
    const char *env = getenv("NUMACLAIM_SOCKET");
    bool daemon = false;
    int ch;
    pid_t pid;

    optind = 1;
    while ( (ch = getopt_long(argc, argv, "", opts, NULL)) != -1 )
        switch ( ch )
        {
        case 's':
            c.hostd_socket = optarg;
            break;
        case 'r':
            c.rundir = optarg;
            break;
        case 'T':
            c.trace = optarg;
            break;
        case 'x':
            c.xenstored = optarg;
            break;
        case 'd':
            daemon = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    if ( optind != argc )
    {
        fprintf(stderr, "numaclaim xenstored: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    if ( !c.hostd_socket )
        c.hostd_socket = env && *env ? env
                                     : nc_hostd_default_socket(hbuf,
                                                               sizeof(hbuf));
    if ( !c.rundir &&
         !(c.rundir = cli_xenstore_rundir(c.hostd_socket, rbuf,
                                          sizeof(rbuf))) )
    {
        fprintf(stderr, "numaclaim xenstored: %s: path too long\n",
                c.hostd_socket);
        return 2;
    }
    if ( access(c.xenstored, X_OK) )
    {
        fprintf(stderr, "numaclaim xenstored: %s: %s (xen-utils-4.17 "
                        "provides it)\n", c.xenstored, strerror(errno));
        return 1;
    }
    if ( !daemon )
        return run(&c);

    pid = spawn_ready("numaclaim xenstored", SPAWN_SESSION, serve_detached,
                      &c);
    if ( pid < 0 )
        return 1;
    printf("numaclaim xenstored: pid %d serving %s/socket\n", (int)pid,
           c.rundir);
    return 0;
}
