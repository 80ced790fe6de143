/* SPDX-License-Identifier: MIT */
/*
 * The shared host: one `numaclaim hostd` (started by the suite, host
 * 4x64M: four nodes of 16384 pages) serving this process and the
 * processes it forks, through Debian's libxenctrl on the stand-in
 * libxencall with NUMACLAIM_SOCKET set, or through raw wire frames where a
 * test needs a guest's identity or a malformed message.
 *
 * Covered: the same results as in-process; a domain built by one process
 * seen and populated by another; builders in many processes ending with
 * every page back and I1-I7 proven through XEN_SYSCTL_check_invariants;
 * identity from the kernel (a stranger refused with a reason, a guest
 * bound to its domain for life and getting Xen's EPERM/ESRCH for
 * everything but its own memory, its children too); SIGKILL of a client
 * mid-populate and mid-claim, after which another client destroys the
 * domain and everything is accounted; malformed, oversized, truncated and
 * random frames, after which hostd still serves everyone; more clients
 * than hostd serves (1024) or than it has file descriptors for, refused
 * with a reason instead of left waiting.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <xencall.h>

#include <numaclaim/xc-claims.h>

#include "../src/wire/wire.h"
#include "hostd_spawn.h"
#include "wire_call.h"
#include "xc_common.h"

#define NODE_PAGES  16384ULL
#define HOST_PAGES  (4 * NODE_PAGES)

static char sock_path[108];
static pid_t hostd_pid;
static xc_interface *xch;

/* ========================================================================
 * hostd for the suite
 * ======================================================================== */

static int start_hostd(void **state)
{
    (void)state;
    hostd_pid = spawn_hostd("4x64M", sock_path, sizeof(sock_path), 0);
    if ( hostd_pid < 0 )
        return -1;
    setenv("NUMACLAIM_SOCKET", sock_path, 1);
    xch = xc_interface_open(NULL, NULL, 0);
    return xch ? 0 : -1;
}

static int stop_hostd(void **state)
{
    int status = -1;
    struct stat st;

    (void)state;
    xc_interface_close(xch);
    kill(hostd_pid, SIGTERM);
    waitpid(hostd_pid, &status, 0);
    /* A clean shutdown: exit 0 and the socket gone. */
    if ( !WIFEXITED(status) || WEXITSTATUS(status) != 0 )
        return -1;
    return stat(sock_path, &st) == 0 ? -1 : 0;
}

/* ========================================================================
 * Helpers
 * ======================================================================== */

static uint32_t new_domain(xc_interface *x, uint64_t max_pages)
{
    return xc_test_domain(x, max_pages, 1);
}

static xc_dominfo_t dominfo(uint32_t domid)
{
    return xc_test_dominfo(xch, domid);
}

static void assert_host_whole(void)
{
    xc_physinfo_t pi;
    char why[128];

    assert_int_equal(xc_physinfo(xch, &pi), 0);
    assert_int_equal(pi.free_pages, HOST_PAGES);
    assert_int_equal(pi.outstanding_pages, 0);
    if ( xc_check_invariants(xch, 2, why, sizeof(why)) )
        fail_msg("invariant broken on the shared host: %s", why);
}

static int claim_node(xc_interface *x, uint32_t d, uint32_t node,
                      uint64_t pages)
{
    xen_memory_claim_t c = { .pages = pages, .target = node };
    uint32_t nr = 1;

    return xc_domain_claim_memory(x, d, XEN_DOMCTL_CLAIM_MEMORY_SET, &nr, &c);
}

/* Wait for a child; its exit status (255 for a signal). */
static int child_status(pid_t pid)
{
    int status = 0;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/* ========================================================================
 * The same host for everyone
 * ======================================================================== */

static void test_same_results_as_in_process(void **state)
{
    uint32_t d = new_domain(xch, 4096);
    xc_meminfo_t mem[4];
    uint32_t nodes = 4;
    xen_pfn_t gpfn = 0;
    xc_dominfo_t i;

    (void)state;
    assert_int_not_equal(d, 0);
    assert_int_equal(claim_node(xch, d, 2, 2048), 0);
    i = dominfo(d);
    assert_int_equal(i.nr_outstanding_pages, 2048);
    assert_int_equal(xc_domain_populate_physmap_exact(xch, d, 1, 9,
                                                      XENMEMF_exact_node(2),
                                                      &gpfn), 0);
    i = dominfo(d);
    assert_int_equal(i.nr_pages, 512);
    assert_int_equal(i.nr_outstanding_pages, 1536);
    assert_int_equal(xc_numainfo(xch, &nodes, mem, NULL), 0);
    assert_int_equal(mem[2].memfree, (NODE_PAGES - 512) * 4096);
    /* Errnos cross the socket unchanged. */
    assert_fails(claim_node(xch, d, 7, 1), ENOENT);
    assert_fails(claim_node(xch, d, 1, NODE_PAGES + 1), ENOMEM);
    assert_fails(xc_domain_destroy(xch, 0x7000), ESRCH);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
    assert_host_whole();
}

/* A domain one process builds is another's to see and populate. */
static void test_processes_share_one_host(void **state)
{
    uint32_t d = new_domain(xch, 4096);
    pid_t pid;

    (void)state;
    assert_int_not_equal(d, 0);
    pid = fork();
    if ( pid == 0 )
    {
        xc_interface *x = xc_interface_open(NULL, NULL, 0);
        xc_dominfo_t info;
        xen_pfn_t gpfn = 512;

        if ( !x || xc_domain_getinfo(x, d, 1, &info) != 1 ||
             info.domid != d || info.max_memkb != 4096 * 4 )
            _exit(1);
        if ( xc_domain_populate_physmap_exact(x, d, 1, 9, 0, &gpfn) )
            _exit(2);
        _exit(0);
    }
    assert_int_equal(child_status(pid), 0);
    assert_int_equal(dominfo(d).nr_pages, 512);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
    assert_host_whole();
}

/* Builders in separate processes contend on the core's real locks. */
#define BUILDERS 6
#define ROUNDS   15

static int builder(int id)
{
    xc_interface *x = xc_interface_open(NULL, NULL, 0);

    if ( !x )
        return 1;
    for ( int r = 0; r < ROUNDS; r++ )
    {
        uint32_t d = new_domain(x, 2048), node = (uint32_t)(id + r) % 4;
        xen_pfn_t gpfn[4] = { 0, 512, 1024, 1536 };
        xc_dominfo_t info;

        if ( !d )
            return 2;
        if ( claim_node(x, d, node, 2048) )
            return 3;
        if ( xc_domain_populate_physmap_exact(x, d, 4, 9,
                                              XENMEMF_exact_node(node), gpfn) )
            return 4;
        if ( xc_domain_getinfo(x, d, 1, &info) != 1 ||
             info.nr_pages != 2048 || info.nr_outstanding_pages != 0 )
            return 5;
        if ( xc_domain_destroy(x, d) )
            return 6;
    }
    xc_interface_close(x);
    return 0;
}

static void test_builders_in_many_processes(void **state)
{
    pid_t pid[BUILDERS];

    (void)state;
    for ( int i = 0; i < BUILDERS; i++ )
    {
        pid[i] = fork();
        if ( pid[i] == 0 )
            _exit(builder(i));
    }
    for ( int i = 0; i < BUILDERS; i++ )
        assert_int_equal(child_status(pid[i]), 0);
    assert_host_whole();
}

/* ========================================================================
 * Identity
 * ======================================================================== */

/* A stranger: neither root, hostd's user, nor a guest. */
static void test_stranger_is_refused_with_a_reason(void **state)
{
    pid_t pid;

    (void)state;
    if ( geteuid() != 0 )
        skip();
    /* The socket is 0660: the kernel refuses a stranger first. */
    {
        char dir[sizeof(sock_path)];

        snprintf(dir, sizeof(dir), "%s", sock_path);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(chmod(dir, 0755), 0);
    }
    pid = fork();
    if ( pid == 0 )
    {
        struct nc_wire_welcome w;
        char err[512];

        if ( setgid(65534) || setuid(65534) )
            _exit(1);
        _exit(nc_wire_connect(sock_path, &w, err, sizeof(err)) == -EACCES &&
              strstr(err, "Permission denied") ? 0 : 2);
    }
    assert_int_equal(child_status(pid), 0);
    /* Past the socket's permissions, hostd itself decides, and says why. */
    assert_int_equal(chmod(sock_path, 0666), 0);
    pid = fork();
    if ( pid == 0 )
    {
        struct nc_wire_welcome w;
        char err[512];
        int fd;

        if ( setgid(65534) || setuid(65534) )
            _exit(1);
        fd = nc_wire_connect(sock_path, &w, err, sizeof(err));
        if ( fd != -EACCES )
            _exit(2);
        if ( !strstr(err, "refused this process: uid 65534") ||
             !strstr(err, "not a guest") )
            _exit(3);
        _exit(0);
    }
    assert_int_equal(child_status(pid), 0);
    assert_int_equal(chmod(sock_path, 0660), 0);
}

/* Connect as control, bind this process to d, connect again as d. */
static int become_guest(uint32_t d, struct nc_wire_welcome *w)
{
    struct nc_wire_bind_guest b = { .pid = (uint32_t)getpid(), .domid = d };
    char err[256];
    int64_t r;
    int fd = nc_wire_connect(sock_path, w, err, sizeof(err));

    if ( fd < 0 || nc_wire_request(fd, NC_WIRE_BIND_GUEST, &b, &r) || r )
        return -1;
    close(fd);
    return nc_wire_connect(sock_path, w, err, sizeof(err));
}

/* The checks a guest makes on itself; 0 or the number of the first that
 * failed. */
static int guest_checks(uint32_t d, uint32_t other)
{
    static xen_pfn_t list[4] = { 0, 1, 2, 3 };
    static struct xen_memory_reservation r;
    static struct xen_domctl dc;
    static struct xen_sysctl sc;
    static domid_t self = DOMID_SELF, them;
    struct nc_wire_welcome w;
    int fd = become_guest(d, &w), n = 0;

#define CHECK(c) do { n++; if ( !(c) ) return n; } while ( 0 )
    CHECK(fd >= 0 && w.domid == d);
    /* Its own memory, as a balloon driver would. */
    r = (struct xen_memory_reservation){ .nr_extents = 4,
                                         .domid = DOMID_SELF };
    set_xen_guest_handle_raw(r.extent_start, list);
    CHECK(wire_call(fd, __HYPERVISOR_memory_op, XENMEM_populate_physmap,
                    (uintptr_t)&r) == 4);
    r.nr_extents = 1;
    CHECK(wire_call(fd, __HYPERVISOR_memory_op, XENMEM_decrease_reservation,
                    (uintptr_t)&r) == 1);
    CHECK(wire_call(fd, __HYPERVISOR_memory_op, XENMEM_current_reservation,
                    (uintptr_t)&self) == 3);
    CHECK(wire_call(fd, __HYPERVISOR_memory_op, XENMEM_maximum_reservation,
                    (uintptr_t)&self) == 1024);
    /* Guests stay at order 9 and within max_pages. */
    r.extent_order = 10;
    CHECK(wire_call(fd, __HYPERVISOR_memory_op, XENMEM_populate_physmap,
                    (uintptr_t)&r) == 0);
    r.extent_order = 0;
    r.extent_start.p = NULL;
    r.nr_extents = 2000;
    CHECK(wire_call(fd, __HYPERVISOR_memory_op, XENMEM_increase_reservation,
                    (uintptr_t)&r) == 1021);

    /* Nothing else: another domain's memory, claims, domctls, sysctls. */
    r.domid = (domid_t)other;
    r.nr_extents = 1;
    set_xen_guest_handle_raw(r.extent_start, list);
    CHECK(wire_call(fd, __HYPERVISOR_memory_op, XENMEM_populate_physmap,
                    (uintptr_t)&r) == -EPERM);
    them = (domid_t)other;
    CHECK(wire_call(fd, __HYPERVISOR_memory_op, XENMEM_current_reservation,
                    (uintptr_t)&them) == -EPERM);
    r = (struct xen_memory_reservation){ .nr_extents = 1, .domid = d };
    CHECK(wire_call(fd, __HYPERVISOR_memory_op, XENMEM_claim_pages,
                    (uintptr_t)&r) == -EPERM);
    dc = (struct xen_domctl){ .cmd = XEN_DOMCTL_getdomaininfo,
                              .interface_version =
                                  XEN_DOMCTL_INTERFACE_VERSION,
                              .domain = (domid_t)d };
    CHECK(wire_call(fd, __HYPERVISOR_domctl, (uintptr_t)&dc, 0) == -EPERM);
    dc.domain = 0x7000;
    CHECK(wire_call(fd, __HYPERVISOR_domctl, (uintptr_t)&dc, 0) == -ESRCH);
    dc.cmd = XEN_DOMCTL_createdomain;
    CHECK(wire_call(fd, __HYPERVISOR_domctl, (uintptr_t)&dc, 0) == -EPERM);
    sc = (struct xen_sysctl){ .cmd = XEN_SYSCTL_physinfo,
                              .interface_version =
                                  XEN_SYSCTL_INTERFACE_VERSION };
    CHECK(wire_call(fd, __HYPERVISOR_sysctl, (uintptr_t)&sc, 0) == -EPERM);
    /* A guest cannot make guests. */
    {
        struct nc_wire_bind_guest b = { .pid = (uint32_t)getpid(),
                                        .domid = other };
        int64_t res = 0;

        CHECK(!nc_wire_request(fd, NC_WIRE_BIND_GUEST, &b, &res) &&
              res == -EPERM);
    }
    /* Its children are the same guest. */
    {
        pid_t pid = fork();

        if ( pid == 0 )
        {
            char err[256];
            int cfd = nc_wire_connect(sock_path, &w, err, sizeof(err));

            _exit(cfd >= 0 && w.domid == d ? 0 : 1);
        }
        CHECK(pid > 0 && child_status(pid) == 0);
    }
#undef CHECK
    close(fd);
    return 0;
}

static void test_guest_is_bound_to_its_domain(void **state)
{
    uint32_t d = new_domain(xch, 1024), e = new_domain(xch, 1024);
    pid_t pid;

    (void)state;
    assert_true(d && e);
    pid = fork();
    if ( pid == 0 )
        _exit(guest_checks(d, e));
    assert_int_equal(child_status(pid), 0);
    /* What the guest did shows to the control domain. */
    assert_int_equal(dominfo(d).nr_pages, 1024);
    assert_int_equal(dominfo(e).nr_pages, 0);
    /* Binding is for the control domain's own pid, and a live domain. */
    {
        struct nc_wire_bind_guest b = { .pid = 1, .domid = d };
        struct nc_wire_welcome w;
        char err[256];
        int64_t r = 0;
        int fd = nc_wire_connect(sock_path, &w, err, sizeof(err));

        assert_true(fd >= 0);
        assert_int_equal(w.domid, 0);
        assert_int_equal(nc_wire_request(fd, NC_WIRE_BIND_GUEST, &b, &r), 0);
        assert_int_equal(r, -EPERM);
        b.pid = (uint32_t)getpid();
        b.domid = 0x7000;
        assert_int_equal(nc_wire_request(fd, NC_WIRE_BIND_GUEST, &b, &r), 0);
        assert_int_equal(r, -ESRCH);
        b.domid = 0;
        assert_int_equal(nc_wire_request(fd, NC_WIRE_BIND_GUEST, &b, &r), 0);
        assert_int_equal(r, -EINVAL);
        close(fd);
    }
    assert_int_equal(xc_domain_destroy(xch, d), 0);
    assert_int_equal(xc_domain_destroy(xch, e), 0);
    assert_host_whole();
}

/* ========================================================================
 * Faults
 * ======================================================================== */

/* A builder killed at a random moment: its domain stays as it was, and
 * another client tears it down with everything accounted. */
static void kill_midway(bool claims)
{
    uint32_t d = new_domain(xch, 1 << 20);
    pid_t pid;

    assert_int_not_equal(d, 0);
    pid = fork();
    if ( pid == 0 )
    {
        xc_interface *x = xc_interface_open(NULL, NULL, 0);

        if ( !x )
            _exit(1);
        for ( xen_pfn_t g = 0; ; g++ )
        {
            if ( claims )
                claim_node(x, d, (uint32_t)g % 4, 1 + g % 4096);
            else
                xc_domain_populate_physmap_exact(x, d, 1, 0, 0, &g);
        }
    }
    /* Until it has done a good part of its work. */
    for ( int i = 0; i < 2000; i++ )
    {
        xc_dominfo_t info = dominfo(d);

        if ( claims ? info.nr_outstanding_pages > 0 : info.nr_pages > 200 )
            break;
        usleep(1000);
    }
    usleep((useconds_t)(rand() % 3000));
    kill(pid, SIGKILL);
    assert_int_equal(child_status(pid), 255);
    {
        char why[128];

        if ( xc_check_invariants(xch, 2, why, sizeof(why)) )
            fail_msg("after SIGKILL: %s", why);
    }
    assert_int_equal(xc_domain_destroy(xch, d), 0);
    assert_host_whole();
}

static void test_client_killed_mid_populate(void **state)
{
    (void)state;
    kill_midway(false);
}

static void test_client_killed_mid_claim(void **state)
{
    (void)state;
    kill_midway(true);
}

/* A raw connection that has said HELLO. */
static int raw_hello(void)
{
    struct nc_wire_welcome w;
    char err[256];

    return nc_wire_connect(sock_path, &w, err, sizeof(err));
}

/* Send bytes; true if hostd then closes the connection. */
static bool closed_after(int fd, const void *buf, size_t len)
{
    char c;

    if ( len && send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len )
        return true;
    /* hostd closes at once, or when the frame timeout (300 ms) ends. */
    {
        struct timeval tv = { .tv_sec = 3 };

        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    /* End of stream, or a reset when hostd closed with bytes unread. */
    {
        ssize_t n = recv(fd, &c, 1, 0);

        return n == 0 || (n < 0 && errno == ECONNRESET);
    }
}

static void test_malformed_frames_close_only_their_connection(void **state)
{
    struct nc_wire_hdr h = { .magic = NC_WIRE_MAGIC,
                             .version = NC_WIRE_VERSION,
                             .type = NC_WIRE_CALL,
                             .length = sizeof(struct nc_wire_call) };
    unsigned char junk[64];
    int fd;

    (void)state;
    /* Bad magic, version, type and lengths. */
    memset(junk, 0xA5, sizeof(junk));
    fd = raw_hello();
    assert_true(closed_after(fd, junk, sizeof(junk)));
    close(fd);
    {
        struct nc_wire_hdr bad[] = { h, h, h, h };

        bad[0].version = 2;
        bad[1].type = 99;
        bad[2].length = 1U << 30;               /* oversized */
        bad[3].length = 8;                      /* short */
        for ( size_t i = 0; i < 4; i++ )
        {
            fd = raw_hello();
            assert_true(fd >= 0);
            assert_true(closed_after(fd, &bad[i], sizeof(bad[i])));
            close(fd);
        }
    }
    /* A truncated frame that never completes: closed after the timeout. */
    fd = raw_hello();
    assert_true(closed_after(fd, &h, sizeof(h) - 3));
    close(fd);
    /* A frame other than HELLO first: a WELCOME that says so, then the
     * connection closes. */
    {
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        struct nc_wire_call call = { .op = 0 };
        struct nc_wire_hdr rh;
        union nc_wire_any m;

        memcpy(a.sun_path, sock_path, strlen(sock_path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(nc_wire_send(fd, NC_WIRE_CALL, 7, &call), 0);
        assert_int_equal(nc_wire_recv(fd, &rh, &m, 3000), 0);
        assert_int_equal(rh.type, NC_WIRE_WELCOME);
        assert_int_equal(m.welcome.rc, -EPROTO);
        assert_non_null(strstr(m.welcome.text, "expected HELLO"));
        assert_true(closed_after(fd, NULL, 0));
        close(fd);
    }

    /* A small fuzz: random frames, some with valid headers. */
    srand(12345);
    for ( int i = 0; i < 300; i++ )
    {
        unsigned char buf[sizeof(struct nc_wire_hdr) + 80];
        size_t len = (size_t)(rand() % (int)sizeof(buf));

        for ( size_t k = 0; k < len; k++ )
            buf[k] = (unsigned char)rand();
        if ( i % 3 == 0 && len >= sizeof(h) )
        {
            struct nc_wire_hdr x = h;

            x.type = (uint16_t)(rand() % 7);
            x.length = nc_wire_payload_size(x.type);
            memcpy(buf, &x, sizeof(x));
        }
        fd = raw_hello();
        assert_true(fd >= 0);
        /* hostd may have closed it already: fine. */
        (void)!send(fd, buf, len, MSG_NOSIGNAL);
        close(fd);
    }
    /* Everyone else is still served, and nothing broke. */
    assert_host_whole();
    {
        uint32_t d = new_domain(xch, 16);

        assert_int_not_equal(d, 0);
        assert_int_equal(xc_domain_destroy(xch, d), 0);
    }
}

/* After clients left: hostd notices each close in its own time, so wait
 * (up to 2 s) until a new client is let in. */
static void connect_eventually(const char *path)
{
    struct nc_wire_welcome w;
    char err[256];
    int fd = -1;

    for ( int tries = 0; tries < 200 && fd < 0; tries++ )
    {
        struct timespec ts = { 0, 10000000 };

        fd = nc_wire_connect(path, &w, err, sizeof(err));
        if ( fd < 0 )
            nanosleep(&ts, NULL);
    }
    assert_true(fd >= 0);
    close(fd);
}

/* More clients than hostd serves (HOSTD_MAX_CONNS, 1024) are refused
 * with a reason, not left waiting, and once they are gone everyone is
 * served again.  hostd raises its own open-file limit to serve them all;
 * this process needs one too (skipped where the hard limit is lower). */
#define MAX_CONNS   1024

static void test_connections_beyond_the_limit_are_refused(void **state)
{
    static int fd[MAX_CONNS + 2];
    struct rlimit rl;
    struct nc_wire_welcome w;
    char err[256];
    int n = 0, rc = 0;

    (void)state;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if ( rl.rlim_max != RLIM_INFINITY && rl.rlim_max < MAX_CONNS + 64 )
        skip();
    if ( rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < MAX_CONNS + 64 )
    {
        rl.rlim_cur = MAX_CONNS + 64;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    /* This suite's own libxenctrl handle holds one connection already. */
    for ( n = 0; n < MAX_CONNS + 1; n++ )
    {
        rc = nc_wire_connect(sock_path, &w, err, sizeof(err));
        if ( rc < 0 )
            break;
        fd[n] = rc;
    }
    assert_int_equal(rc, -EAGAIN);
    assert_non_null(strstr(err, "too many connections"));
    assert_in_range(n, MAX_CONNS - 8, MAX_CONNS - 1);
    for ( int i = 0; i < n; i++ )
        close(fd[i]);
    /* hostd notices each close in its own time. */
    connect_eventually(sock_path);
    assert_host_whole();
}

/* A hostd with few file descriptors (hard limit 40): the client it has
 * none for is accepted on the spare one and refused with a reason, and
 * the others are still served. */
static pid_t small_hostd = -1;

/* Also when the test failed half-way: no hostd outlives the suite. */
static int stop_small_hostd(void **state)
{
    (void)state;
    if ( small_hostd > 0 )
    {
        kill(small_hostd, SIGKILL);
        waitpid(small_hostd, NULL, 0);
        small_hostd = -1;
    }
    return 0;
}

static void test_clients_beyond_the_fd_limit_are_refused(void **state)
{
    char path[108], err[256];
    struct nc_wire_welcome w;
    int fd[64], n, rc = 0, status = -1;
    pid_t pid = spawn_hostd("4x64M", path, sizeof(path), 40);

    (void)state;
    small_hostd = pid;
    assert_true(pid > 0);
    for ( n = 0; n < 64; n++ )
    {
        rc = nc_wire_connect(path, &w, err, sizeof(err));
        if ( rc < 0 )
            break;
        fd[n] = rc;
    }
    assert_int_equal(rc, -EAGAIN);
    assert_non_null(strstr(err, "no file descriptor"));
    assert_in_range(n, 20, 39);
    close(fd[--n]);
    connect_eventually(path);
    while ( n-- > 0 )
        close(fd[n]);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    small_hostd = -1;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_results_as_in_process),
        cmocka_unit_test(test_processes_share_one_host),
        cmocka_unit_test(test_builders_in_many_processes),
        cmocka_unit_test(test_stranger_is_refused_with_a_reason),
        cmocka_unit_test(test_guest_is_bound_to_its_domain),
        cmocka_unit_test(test_client_killed_mid_populate),
        cmocka_unit_test(test_client_killed_mid_claim),
        cmocka_unit_test(test_malformed_frames_close_only_their_connection),
        cmocka_unit_test(test_connections_beyond_the_limit_are_refused),
        cmocka_unit_test_teardown(test_clients_beyond_the_fd_limit_are_refused,
                                  stop_small_hostd),
    };

    return cmocka_run_group_tests(tests, start_hostd, stop_hostd);
}
