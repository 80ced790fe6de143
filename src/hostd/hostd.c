/* SPDX-License-Identifier: MIT */
/*
 * numaclaim hostd (hostd.h): the socket, the connections and who they are.
 *
 * Threads: the main thread accepts; each connection has a detached thread
 * that reads frames, runs hypercalls and answers.  The host itself is
 * thread-safe (the core's locks), so nothing here serialises hypercalls.
 * hostd's own state -- the connection table and the guest bindings -- is
 * under one mutex, held only for table updates, never across a hypercall
 * or a socket operation.
 *
 * Bounds: at most HOSTD_MAX_CONNS connections (one more is refused with a
 * message); each costs one thread and one fixed-size frame buffer.  hostd
 * raises its open-file limit to hold them all where the hard limit allows,
 * and keeps one descriptor spare, so that a client it has no descriptor
 * for is still accepted and refused with a message instead of left
 * waiting while the accept loop spins; a frame
 * that has started must complete within FRAME_TIMEOUT_MS, and any frame
 * that is malformed closes its connection.  A client that dies at any
 * moment only ends its own connection: its domains, pages and claims stay
 * as a hypervisor keeps them until the toolstack destroys the domain.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../wire/wire.h"
#include "../xen/xen.h"
#include "hostd.h"

/* hostd's own memory comes from the core's environment (nc_zalloc,
 * nc_free), as the hypercalls' does, so that the fault suite can fail
 * any allocation made while a client is served. */
#include "../core/env.h"

#define HOSTD_MAX_CONNS     1024
#define HOSTD_MAX_BINDINGS  4096
#define FRAME_TIMEOUT_MS    5000    /* NUMACLAIM_HOSTD_FRAME_MS overrides */
#define MAX_ANCESTRY        128     /* parents walked to find a guest */

/* A process the control domain made a guest: pid and start time name it
 * uniquely (a pid may be reused, the pair not). */
struct binding {
    pid_t pid;
    unsigned long long start;
    nc_domid_t domid;
};

struct conn {
    struct hostd *hd;
    int fd;
    pid_t pid;
    uid_t uid;
    nc_domid_t domid;            /* identity for the connection's life */
    unsigned int slot;
};

struct hostd {
    const struct nc_hostd_config *cfg;
    struct nc_xen *xen;
    uid_t self_uid;
    int frame_ms;                /* a started frame's time to complete */

    pthread_mutex_t lock;
    pthread_cond_t idle;                      /* nr_conns fell to 0 */
    struct conn *conn[HOSTD_MAX_CONNS];       /* (lock) */
    unsigned int nr_conns;                    /* (lock) */
    struct binding bind[HOSTD_MAX_BINDINGS];  /* (lock) */
    unsigned int nr_bind;                     /* (lock) */
};

static int stop_pipe[2] = { -1, -1 };

/* ========================================================================
 * Logging
 * ======================================================================== */

static void hlog(const struct hostd *hd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void hlog(const struct hostd *hd, const char *fmt, ...)
{
    va_list ap;

    if ( !hd->cfg->log )
        return;
    va_start(ap, fmt);
    flockfile(hd->cfg->log);
    fputs("numaclaim hostd: ", hd->cfg->log);
    vfprintf(hd->cfg->log, fmt, ap);
    fputc('\n', hd->cfg->log);
    fflush(hd->cfg->log);
    funlockfile(hd->cfg->log);
    va_end(ap);
}

/* ========================================================================
 * Identity
 * ======================================================================== */

/* A process's parent and start time, from /proc (the kernel's word).
 * -1 if the process is gone. */
static int proc_stat(pid_t pid, pid_t *ppid, unsigned long long *start)
{
    char path[64], buf[1024], *p;
    unsigned long long v[20];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if ( !f )
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold anything, ')' included: skip to the last
     * one.  Then field 3 (state), 4 (ppid), ... 22 (starttime). */
    p = strrchr(buf, ')');
    if ( !p )
        return -1;
    p += 2;
    p = strchr(p, ' ');                  /* past the state letter */
    for ( unsigned int i = 0; p && i < 20; i++ )
    {
        char *end;

        v[i] = strtoull(p, &end, 10);
        if ( end == p )
            return -1;
        p = end;
    }
    if ( !p )
        return -1;
    *ppid = (pid_t)v[0];
    *start = v[18];
    return 0;
}

/* Drop bindings whose process is gone.  hd->lock held. */
static void prune_bindings(struct hostd *hd)
{
    unsigned int i = 0;

    while ( i < hd->nr_bind )
    {
        pid_t ppid;
        unsigned long long start;

        if ( proc_stat(hd->bind[i].pid, &ppid, &start) ||
             start != hd->bind[i].start )
            hd->bind[i] = hd->bind[--hd->nr_bind];
        else
            i++;
    }
}

/* The guest domain of pid or of its nearest bound ancestor. */
static bool find_guest(struct hostd *hd, pid_t pid, nc_domid_t *domid)
{
    bool found = false;

    pthread_mutex_lock(&hd->lock);
    for ( unsigned int depth = 0; depth < MAX_ANCESTRY && pid > 1 && !found;
          depth++ )
    {
        pid_t ppid;
        unsigned long long start;

        if ( proc_stat(pid, &ppid, &start) )
            break;
        for ( unsigned int i = 0; i < hd->nr_bind; i++ )
            if ( hd->bind[i].pid == pid && hd->bind[i].start == start )
            {
                *domid = hd->bind[i].domid;
                found = true;
                break;
            }
        pid = ppid;
    }
    pthread_mutex_unlock(&hd->lock);
    return found;
}

static bool in_group(int fd, gid_t primary, gid_t group)
{
    gid_t groups[256];
    socklen_t len = sizeof(groups);

    if ( primary == group )
        return true;
    if ( getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) )
        return false;
    for ( size_t i = 0; i < len / sizeof(groups[0]); i++ )
        if ( groups[i] == group )
            return true;
    return false;
}

/* Decide who the peer of fd is: 0 and *domid, or -EACCES with why. */
static int identify(struct hostd *hd, struct conn *c, char *why, size_t len)
{
    struct ucred cred;
    socklen_t cl = sizeof(cred);

    if ( getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) )
    {
        snprintf(why, len, "cannot read the peer's credentials: %s",
                 strerror(errno));
        return -EACCES;
    }
    c->pid = cred.pid;
    c->uid = cred.uid;
    if ( find_guest(hd, cred.pid, &c->domid) )
        return 0;
    if ( cred.uid == 0 || cred.uid == hd->self_uid ||
         (hd->cfg->have_group && in_group(c->fd, cred.gid, hd->cfg->group)) )
    {
        c->domid = NC_DOMID_CONTROL;
        return 0;
    }
    snprintf(why, len, "uid %u (pid %d) is not root, not hostd's user%s and "
             "not a guest started with `numaclaim guest`",
             (unsigned int)cred.uid, (int)cred.pid,
             hd->cfg->have_group ? ", not in hostd's group" : "");
    return -EACCES;
}

/* BIND_GUEST: the control domain makes itself (its own pid, which the
 * kernel vouches for) a guest of domid from its next connection on. */
static int bind_guest(struct hostd *hd, const struct conn *c,
                      const struct nc_wire_bind_guest *b)
{
    struct nc_domain_info info;
    unsigned long long start;
    pid_t ppid;
    int rc = 0;

    if ( c->domid != NC_DOMID_CONTROL )
        return -EPERM;
    if ( (pid_t)b->pid != c->pid )
        return -EPERM;
    if ( b->domid == NC_DOMID_CONTROL || b->domid >= NC_DOMID_FIRST_RESERVED )
        return -EINVAL;
    if ( nc_domain_getinfo(nc_xen_host(hd->xen), (nc_domid_t)b->domid,
                           &info) || info.dying )
        return -ESRCH;
    if ( proc_stat(c->pid, &ppid, &start) )
        return -ESRCH;

    pthread_mutex_lock(&hd->lock);
    prune_bindings(hd);
    for ( unsigned int i = 0; i < hd->nr_bind; i++ )
        if ( hd->bind[i].pid == c->pid )
            rc = -EEXIST;
    if ( !rc && hd->nr_bind == HOSTD_MAX_BINDINGS )
        rc = -ENOSPC;
    if ( !rc )
        hd->bind[hd->nr_bind++] = (struct binding){
            .pid = c->pid, .start = start, .domid = (nc_domid_t)b->domid };
    pthread_mutex_unlock(&hd->lock);
    return rc;
}

/* ========================================================================
 * Connections
 * ======================================================================== */

/* Close after a refusal: the peer may still have bytes in flight (its
 * HELLO), and closing with unread input would reset the connection and
 * lose our WELCOME, with its reason, on the way.  So half-close, drain a
 * little for a short while, then close. */
static void refuse_close(int fd)
{
    char buf[512];
    size_t seen = 0;

    shutdown(fd, SHUT_WR);
    while ( seen < 64 * 1024 )
    {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if ( poll(&p, 1, 200) <= 0 )
            break;
        n = read(fd, buf, sizeof(buf));
        if ( n <= 0 )
            break;
        seen += (size_t)n;
    }
}

static void conn_end(struct conn *c)
{
    struct hostd *hd = c->hd;

    close(c->fd);
    pthread_mutex_lock(&hd->lock);
    hd->conn[c->slot] = NULL;
    if ( --hd->nr_conns == 0 )
        pthread_cond_broadcast(&hd->idle);
    pthread_mutex_unlock(&hd->lock);
    nc_free(c);
}

static void welcome(struct conn *c, uint32_t seq, int rc, const char *why)
{
    struct nc_wire_welcome w = {
        .rc = rc,
        .domid = c->domid,
        .hostd_pid = (uint32_t)getpid(),
    };

    snprintf(w.text, sizeof(w.text), "%s", why ? why : "");
    (void)nc_wire_send(c->fd, NC_WIRE_WELCOME, seq, &w);
}

/* Room for every connection, the listener and a few more, as far as the
 * hard limit goes. */
static void raise_fd_limit(void)
{
    const rlim_t want = HOSTD_MAX_CONNS + 64;
    struct rlimit rl;

    if ( getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ||
         rl.rlim_cur >= want )
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want
                  ? want : rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* accept4 found no descriptor free: give up the spare one for a moment to
 * accept the client and tell it why, rather than leave it queued and the
 * listener readable for ever.  *spare is reopened after. */
static void refuse_no_fd(int lfd, int *spare)
{
    struct conn c = { .fd = -1 };

    if ( *spare >= 0 )
        close(*spare);
    c.fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if ( c.fd >= 0 )
    {
        welcome(&c, 0, -EAGAIN, "too many connections (no file descriptor)");
        close(c.fd);
    }
    else
    {
        /* Not even that: wait a little rather than spin. */
        struct timespec ts = { 0, 10000000 };

        nanosleep(&ts, NULL);
    }
    *spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct hostd *hd = c->hd;
    struct nc_wire_hdr h;
    union nc_wire_any m;
    char why[NC_WIRE_TEXT_MAX];
    int rc;

    rc = identify(hd, c, why, sizeof(why));
    if ( rc )
    {
        hlog(hd, "refused: %s", why);
        welcome(c, 0, rc, why);
        refuse_close(c->fd);
        goto out;
    }
    rc = nc_wire_recv(c->fd, &h, &m, hd->frame_ms);
    if ( rc == -ECONNRESET )
        goto out;               /* a probe, e.g. a second hostd's */
    if ( rc || h.type != NC_WIRE_HELLO || m.hello.version != NC_WIRE_VERSION )
    {
        snprintf(why, sizeof(why), "expected HELLO of wire version %u",
                 NC_WIRE_VERSION);
        hlog(hd, "pid %d: %s", (int)c->pid, why);
        welcome(c, rc ? 0 : h.seq, -EPROTO, why);
        refuse_close(c->fd);
        goto out;
    }
    welcome(c, h.seq, 0, NULL);
    if ( c->domid == NC_DOMID_CONTROL )
        hlog(hd, "pid %d (uid %u): control domain", (int)c->pid,
             (unsigned int)c->uid);
    else
        hlog(hd, "pid %d (uid %u): guest d%u", (int)c->pid,
             (unsigned int)c->uid, c->domid);

    nc_xen_set_caller_pid(c->pid);
    for ( ;; )
    {
        struct nc_wire_result r;

        rc = nc_wire_recv(c->fd, &h, &m, hd->frame_ms);
        if ( rc )
        {
            if ( rc != -ECONNRESET )
                hlog(hd, "pid %d: closing: %s", (int)c->pid, strerror(-rc));
            break;
        }
        if ( h.type == NC_WIRE_CALL && !m.call.pad )
            r.rc = nc_xen_hypercall(hd->xen, c->domid, m.call.op, m.call.arg);
        else if ( h.type == NC_WIRE_BIND_GUEST )
        {
            r.rc = bind_guest(hd, c, &m.bind);
            if ( !r.rc )
                hlog(hd, "pid %d is guest d%u from its next connection",
                     (int)c->pid, m.bind.domid);
        }
        else
        {
            hlog(hd, "pid %d: closing: unexpected frame type %u",
                 (int)c->pid, h.type);
            break;
        }
        if ( nc_wire_send(c->fd, NC_WIRE_RESULT, h.seq, &r) )
            break;              /* the client is gone: nothing to undo */
    }
 out:
    conn_end(c);
    return NULL;
}

/* Take a new connection: a thread of its own, or a refusal when full. */
static void conn_start(struct hostd *hd, int fd)
{
    struct conn *c = nc_zalloc(sizeof(*c));
    pthread_attr_t attr;
    pthread_t t;
    unsigned int slot = HOSTD_MAX_CONNS;
    int rc;

    if ( !c )
    {
        /* Refused with its reason, as when full: never a silent close. */
        struct conn none = { .hd = hd, .fd = fd };

        hlog(hd, "refused a connection: out of memory for it");
        welcome(&none, 0, -ENOMEM, "out of memory for the connection");
        close(fd);
        return;
    }
    c->hd = hd;
    c->fd = fd;
    pthread_mutex_lock(&hd->lock);
    for ( unsigned int i = 0; i < HOSTD_MAX_CONNS; i++ )
        if ( !hd->conn[i] )
        {
            slot = i;
            break;
        }
    if ( slot < HOSTD_MAX_CONNS )
    {
        hd->conn[slot] = c;
        hd->nr_conns++;
    }
    pthread_mutex_unlock(&hd->lock);
    if ( slot == HOSTD_MAX_CONNS )
    {
        /* No lingering here: the accept loop must not wait on anyone. */
        welcome(c, 0, -EAGAIN, "too many connections");
        close(fd);
        nc_free(c);
        return;
    }
    c->slot = slot;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    rc = pthread_create(&t, &attr, conn_main, c);
    if ( rc )
    {
        hlog(hd, "refused a connection: no thread for it: %s",
             strerror(rc));
        welcome(c, 0, -EAGAIN, "no thread for the connection");
        conn_end(c);
    }
    pthread_attr_destroy(&attr);
}

/* ========================================================================
 * The socket
 * ======================================================================== */

const char *nc_hostd_default_socket(char *buf, size_t len)
{
    const char *run = getenv("XDG_RUNTIME_DIR");

    if ( geteuid() == 0 )
        snprintf(buf, len, "/run/numaclaim/hostd.sock");
    else if ( run && *run )
        snprintf(buf, len, "%s/numaclaim/hostd.sock", run);
    else
        snprintf(buf, len, "/tmp/numaclaim-%u/hostd.sock",
                 (unsigned int)geteuid());
    return buf;
}

/* mkdir -p of the socket's directory. */
static int make_parent(const char *path)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if ( !slash || slash == dir )
        return 0;
    *slash = '\0';
    for ( char *p = dir + 1; *p; p++ )
        if ( *p == '/' )
        {
            *p = '\0';
            if ( mkdir(dir, 0755) && errno != EEXIST )
                return -errno;
            *p = '/';
        }
    if ( mkdir(dir, 0755) && errno != EEXIST )
        return -errno;
    return 0;
}

/* Listen on the path: refuse if a live hostd serves it, replace a stale
 * socket. */
static int listen_on(const char *path, char *why, size_t len)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd, rc;

    if ( strlen(path) >= sizeof(a.sun_path) )
    {
        snprintf(why, len, "socket path %s is longer than %zu bytes", path,
                 sizeof(a.sun_path) - 1);
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    rc = make_parent(path);
    if ( rc )
    {
        snprintf(why, len, "cannot create the directory of %s: %s", path,
                 strerror(-rc));
        return -1;
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if ( fd < 0 )
        goto err;
    if ( connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 )
    {
        struct ucred cred = { 0 };
        socklen_t cl = sizeof(cred);

        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
        close(fd);
        snprintf(why, len, "another hostd (pid %d) is serving %s",
                 (int)cred.pid, path);
        return -1;
    }
    if ( errno == ECONNREFUSED )
    {
        struct stat st;

        /* Stale: its hostd is gone.  Never remove anything but a socket. */
        if ( !lstat(path, &st) && !S_ISSOCK(st.st_mode) )
        {
            close(fd);
            snprintf(why, len, "%s exists and is not a socket", path);
            return -1;
        }
        unlink(path);
    }
    close(fd);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if ( fd < 0 )
        goto err;
    if ( bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128) )
    {
        close(fd);
        goto err;
    }
    return fd;
 err:
    snprintf(why, len, "cannot listen on %s: %s", path, strerror(errno));
    return -1;
}

static void on_signal(int sig)
{
    int e = errno;
    char c = (char)sig;

    /* A full pipe means a stop is pending already. */
    (void)!write(stop_pipe[1], &c, 1);
    errno = e;
}

/* Close every connection and wait for their threads. */
static void drain(struct hostd *hd)
{
    pthread_mutex_lock(&hd->lock);
    for ( unsigned int i = 0; i < HOSTD_MAX_CONNS; i++ )
        if ( hd->conn[i] )
            shutdown(hd->conn[i]->fd, SHUT_RDWR);
    while ( hd->nr_conns )
        pthread_cond_wait(&hd->idle, &hd->lock);
    pthread_mutex_unlock(&hd->lock);
}

int nc_hostd_run(const struct nc_hostd_config *cfg)
{
    struct hostd *hd = nc_zalloc(sizeof(*hd));
    struct sigaction sa = { .sa_handler = on_signal };
    char why[512];
    int lfd = -1, rc = 1, spare, err;

    if ( !hd )
    {
        fprintf(stderr, "numaclaim hostd: out of memory\n");
        return 1;
    }
    raise_fd_limit();
    spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    hd->cfg = cfg;
    hd->self_uid = geteuid();
    hd->frame_ms = FRAME_TIMEOUT_MS;
    if ( getenv("NUMACLAIM_HOSTD_FRAME_MS") )
        hd->frame_ms = atoi(getenv("NUMACLAIM_HOSTD_FRAME_MS"));
    pthread_mutex_init(&hd->lock, NULL);
    pthread_cond_init(&hd->idle, NULL);
    /* Signals first: a SIGTERM that comes while the host is being built
     * still shuts down cleanly, removing the socket. */
    if ( pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) )
        goto out;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The parser says what is wrong with a spec; other failures (out of
     * memory) come as the errno alone. */
    why[0] = '\0';
    err = nc_xen_create(cfg->spec, &hd->xen, why, sizeof(why));
    if ( err )
    {
        fprintf(stderr, "numaclaim hostd: host \"%s\": %s\n", cfg->spec,
                why[0] ? why : strerror(-err));
        goto out;
    }
    if ( getenv("NUMACLAIM_CHECK") )
        nc_host_set_autocheck(nc_xen_host(hd->xen),
                              atoi(getenv("NUMACLAIM_CHECK")));
    lfd = listen_on(cfg->socket_path, why, sizeof(why));
    if ( lfd < 0 )
    {
        fprintf(stderr, "numaclaim hostd: %s\n", why);
        goto out;
    }
    if ( chmod(cfg->socket_path, 0660) ||
         (cfg->have_group && chown(cfg->socket_path, (uid_t)-1, cfg->group)) )
    {
        fprintf(stderr, "numaclaim hostd: %s: %s\n", cfg->socket_path,
                strerror(errno));
        goto out;
    }

    hlog(hd, "serving host %s on %s (wire version %u)", cfg->spec,
         cfg->socket_path, NC_WIRE_VERSION);
    if ( cfg->ready_fd >= 0 )
    {
        char ok = 1;

        /* A parent that went away does not stop us serving. */
        (void)!write(cfg->ready_fd, &ok, 1);
        close(cfg->ready_fd);
    }
    if ( cfg->detach )
    {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        if ( null >= 0 )
        {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
            close(null);
        }
    }

    for ( ;; )
    {
        struct pollfd p[2] = {
            { .fd = lfd, .events = POLLIN },
            { .fd = stop_pipe[0], .events = POLLIN },
        };

        if ( poll(p, 2, -1) < 0 )
        {
            if ( errno == EINTR )
                continue;
            break;
        }
        if ( p[1].revents )
            break;
        if ( p[0].revents & POLLIN )
        {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

            if ( fd >= 0 )
                conn_start(hd, fd);
            else if ( errno == EMFILE || errno == ENFILE )
                refuse_no_fd(lfd, &spare);
        }
    }
    hlog(hd, "shutting down");
    close(lfd);
    lfd = -1;
    unlink(cfg->socket_path);
    drain(hd);
    rc = 0;
 out:
    if ( lfd >= 0 )
    {
        close(lfd);
        unlink(cfg->socket_path);
    }
    if ( spare >= 0 )
        close(spare);
    if ( stop_pipe[0] >= 0 )
    {
        int r = stop_pipe[0], w = stop_pipe[1];

        /* A signal from now on writes nowhere (EBADF), not to a reused
         * descriptor. */
        stop_pipe[0] = stop_pipe[1] = -1;
        close(r);
        close(w);
    }
    nc_xen_destroy(hd->xen);
    pthread_cond_destroy(&hd->idle);
    pthread_mutex_destroy(&hd->lock);
    nc_free(hd);
    return rc;
}
