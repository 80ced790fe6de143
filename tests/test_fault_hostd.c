/* SPDX-License-Identifier: MIT */
/*
 * hostd's fault suite: the Nth allocation made while `numaclaim hostd`
 * serves one client fails, for every N, once and then from the Nth on.
 *
 * hostd runs in this process (nc_hostd_run on a thread of its own, on a
 * socket in a new directory), so its allocations -- the connection it
 * accepts, and every hypercall's metadata in the layers below -- come
 * from the same environment hook (src/core/env.h) that this suite arms.
 * The client is this process too, speaking the wire protocol (wire.h)
 * with structures in its own memory, as a toolstack's libxencall would.
 *
 * One session: connect (HELLO, WELCOME), create a domain, set its
 * max_pages, claim a set, set its vNUMA, populate, read its vNUMA and the
 * console, destroy it, close.  The reference run records every step's
 * result and what the host looks like after it.  Then for each N the
 * session runs with allocation N failing and stops at the first step
 * whose result differs, which must be a clean failure: a WELCOME refusal
 * with rc -ENOMEM and its reason, or a hypercall's -ENOMEM (for
 * populate_physmap: no extent done).  The host must then look exactly as
 * after the step before (every counter, per node free and claimed, the
 * domain's info, claims, pages per node and vNUMA), the invariant checker
 * (frame level, through the ABI) must pass, and once the domain is
 * destroyed and the connections are gone, the live allocations must be
 * back where they were before the session.  hostd logs each refusal's
 * reason too.
 *
 * Before that, hostd's start-up (its own state, then the host) with each
 * of its allocations failing: hostd must give up with status 1, saying
 * "out of memory" (not an unset message), never listening, leaving no
 * allocation behind.
 */
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/memory.h>
#include <xen/sysctl.h>

#include <numaclaim/xen-claims.h>

#include "../src/core/env.h"
#include "../src/hostd/hostd.h"
#include "../src/wire/wire.h"
#include "fault_hook.h"
#include "wire_call.h"

#define SPEC        "2x16M"
#define NR_NODES    2
#define DOMID       5               /* asked for, so every run gets it */

static struct {
    char dir[64], path[128];
    struct nc_hostd_config cfg;
    pthread_t thread;
    int rc;
    long base;                      /* live allocations, hostd idle */
} hd;

/* ------------------------------------------------------------------------
 * The client side
 * ------------------------------------------------------------------------ */

static int64_t domctl(int fd, struct xen_domctl *d)
{
    d->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    return wire_call(fd, __HYPERVISOR_domctl, (uintptr_t)d, 0);
}

static int64_t sysctl(int fd, struct xen_sysctl *s)
{
    s->interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    return wire_call(fd, __HYPERVISOR_sysctl, (uintptr_t)s, 0);
}

static int control_conn(void)
{
    struct nc_wire_welcome w;
    char err[256];
    int fd = nc_wire_connect(hd.path, &w, err, sizeof(err));

    if ( fd < 0 )
        fail_msg("%s", err);
    return fd;
}

/* The connections' threads free what they hold after the client closes:
 * wait (bounded) until the live allocations are back to want. */
static void wait_live(long want, const char *what, long n)
{
    for ( int i = 0; i < 20000 && nc_env_alloc_live() != want; i++ )
    {
        struct timespec ts = { 0, 500000 };

        nanosleep(&ts, NULL);
    }
    if ( nc_env_alloc_live() != want )
        fail_msg("%s: allocation %ld failed: %ld leaked", what, n,
                 nc_env_alloc_live() - want);
}

/* ------------------------------------------------------------------------
 * What the host looks like, through the ABI
 * ------------------------------------------------------------------------ */

struct snap {
    uint64_t total, free, outstanding;
    xen_sysctl_node_claims_t node[NR_NODES];
    int64_t info_rc;
    uint64_t tot_pages, max_pages, dom_outstanding;
    int64_t claim_info_rc;
    uint64_t claim_outstanding, host_claim;
    int64_t get_rc;
    uint32_t nr_claims;
    xen_memory_claim_t claim[4];
    uint64_t node_pages[NR_NODES];
    int64_t vnuma_rc;
    uint32_t nr_vnodes, nr_vmemranges;
};

static void snap_take(struct snap *s)
{
    int fd = control_conn();
    struct xen_sysctl sy = { .cmd = XEN_SYSCTL_claim_overview };
    struct xen_sysctl_claim_overview *o = (void *)&sy.u;
    struct xen_domctl d = { .cmd = XEN_DOMCTL_getdomaininfo,
                            .domain = DOMID };
    struct xen_domctl_claim_memory *cm = (void *)&d.u;
    struct xen_domctl_claim_info *ci = (void *)&d.u;
    struct xen_domctl_node_pages *np = (void *)&d.u;
    uint32_t dist[4], v2v[2];
    xen_vmemrange_t r[4];
    struct xen_vnuma_topology_info t = {
        .domid = DOMID, .nr_vnodes = 2, .nr_vcpus = 2, .nr_vmemranges = 4,
    };

    memset(s, 0, sizeof(*s));
    o->num_nodes = NR_NODES;
    set_xen_guest_handle(o->nodes, s->node);
    assert_int_equal(sysctl(fd, &sy), 0);
    s->total = o->total_pages;
    s->free = o->free_pages;
    s->outstanding = o->outstanding_pages;

    s->info_rc = domctl(fd, &d);
    if ( !s->info_rc )
    {
        s->tot_pages = d.u.getdomaininfo.tot_pages;
        s->max_pages = d.u.getdomaininfo.max_pages;
        s->dom_outstanding = d.u.getdomaininfo.outstanding_pages;
    }

    memset(&d, 0, sizeof(d));
    d.cmd = XEN_DOMCTL_claim_info;
    d.domain = DOMID;
    s->claim_info_rc = domctl(fd, &d);
    s->claim_outstanding = ci->outstanding;
    s->host_claim = ci->host_claim;

    memset(&d, 0, sizeof(d));
    d.cmd = XEN_DOMCTL_claim_memory;
    d.domain = DOMID;
    cm->mode = XEN_DOMCTL_CLAIM_MEMORY_GET;
    cm->nr_entries = 4;
    set_xen_guest_handle(cm->claim_set, s->claim);
    s->get_rc = domctl(fd, &d);
    s->nr_claims = s->get_rc ? 0 : cm->nr_entries;

    memset(&d, 0, sizeof(d));
    d.cmd = XEN_DOMCTL_node_pages;
    d.domain = DOMID;
    np->num_nodes = NR_NODES;
    set_xen_guest_handle(np->pages, s->node_pages);
    domctl(fd, &d);

    set_xen_guest_handle(t.vdistance.h, dist);
    set_xen_guest_handle(t.vcpu_to_vnode.h, v2v);
    set_xen_guest_handle(t.vmemrange.h, r);
    s->vnuma_rc = wire_call(fd, __HYPERVISOR_memory_op,
                            XENMEM_get_vnumainfo, (uintptr_t)&t);
    s->nr_vnodes = s->vnuma_rc ? 0 : t.nr_vnodes;
    s->nr_vmemranges = s->vnuma_rc ? 0 : t.nr_vmemranges;
    close(fd);
}

#define SAME(field) assert_int_equal(a->field, b->field)

static void snap_same(const struct snap *a, const struct snap *b)
{
    SAME(total);
    SAME(free);
    SAME(outstanding);
    for ( unsigned int n = 0; n < NR_NODES; n++ )
    {
        SAME(node[n].size);
        SAME(node[n].free);
        SAME(node[n].claimed);
        SAME(node_pages[n]);
    }
    SAME(info_rc);
    SAME(tot_pages);
    SAME(max_pages);
    SAME(dom_outstanding);
    SAME(claim_info_rc);
    SAME(claim_outstanding);
    SAME(host_claim);
    SAME(get_rc);
    SAME(nr_claims);
    for ( uint32_t i = 0; i < a->nr_claims && i < 4; i++ )
    {
        SAME(claim[i].target);
        SAME(claim[i].pages);
    }
    SAME(vnuma_rc);
    SAME(nr_vnodes);
    SAME(nr_vmemranges);
}

/* The frame-level checker, through the ABI. */
static void assert_host_sound(void)
{
    int fd = control_conn();
    struct xen_sysctl s = { .cmd = XEN_SYSCTL_check_invariants };
    struct xen_sysctl_check_invariants *c = (void *)&s.u;

    c->level = NC_CHECK_FRAMES;
    if ( sysctl(fd, &s) )
        fail_msg("invariant broken: %s", c->why);
    close(fd);
}

/* Destroy DOMID if a run left it. */
static void cleanup(void)
{
    int fd = control_conn();
    struct xen_domctl d = { .cmd = XEN_DOMCTL_destroydomain,
                            .domain = DOMID };
    int64_t rc = domctl(fd, &d);

    assert_true(rc == 0 || rc == -ESRCH);
    close(fd);
}

/* ------------------------------------------------------------------------
 * The session's steps: each returns its result, WIRE_NO_ANSWER, or (the
 * connection) -errno
 * ------------------------------------------------------------------------ */

struct session {
    int fd;
    char err[256];
};

static int64_t step_connect(struct session *s)
{
    struct nc_wire_welcome w;

    s->fd = nc_wire_connect(hd.path, &w, s->err, sizeof(s->err));
    if ( s->fd < 0 )
        return s->fd;
    return w.domid;
}

static int64_t step_createdomain(struct session *s)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_createdomain,
                            .domain = DOMID };

    d.u.createdomain.max_vcpus = 2;
    return domctl(s->fd, &d) ?: d.domain;
}

static int64_t step_max_mem(struct session *s)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_max_mem, .domain = DOMID };

    d.u.max_mem.max_memkb = 2048 * 4;
    return domctl(s->fd, &d);
}

static int64_t step_claim_set(struct session *s)
{
    xen_memory_claim_t set[3] = {
        { .pages = 10, .target = XEN_DOMCTL_CLAIM_MEMORY_HOST },
        { .pages = 40, .target = 0 },
        { .pages = 50, .target = 1 },
    };
    struct xen_domctl d = { .cmd = XEN_DOMCTL_claim_memory,
                            .domain = DOMID };
    struct xen_domctl_claim_memory *u = (void *)&d.u;

    set_xen_guest_handle(u->claim_set, set);
    u->nr_entries = 3;
    u->mode = XEN_DOMCTL_CLAIM_MEMORY_SET;
    return domctl(s->fd, &d);
}

static int64_t step_setvnumainfo(struct session *s)
{
    uint32_t dist[4] = { 10, 21, 21, 10 }, v2v[2] = { 0, 1 };
    uint32_t v2p[2] = { 0, 1 };
    xen_vmemrange_t r[2] = {
        { .start = 0, .end = 128 << NC_PAGE_SHIFT, .nid = 0 },
        { .start = 128 << NC_PAGE_SHIFT, .end = 256 << NC_PAGE_SHIFT,
          .nid = 1 },
    };
    struct xen_domctl d = { .cmd = XEN_DOMCTL_setvnumainfo,
                            .domain = DOMID };

    d.u.vnuma.nr_vnodes = 2;
    d.u.vnuma.nr_vcpus = 2;
    d.u.vnuma.nr_vmemranges = 2;
    set_xen_guest_handle(d.u.vnuma.vdistance, dist);
    set_xen_guest_handle(d.u.vnuma.vcpu_to_vnode, v2v);
    set_xen_guest_handle(d.u.vnuma.vnode_to_pnode, v2p);
    set_xen_guest_handle(d.u.vnuma.vmemrange, r);
    return domctl(s->fd, &d);
}

/* One extent of four pages: done or not, never half done; 0 done is
 * populate_physmap's out of memory. */
static int64_t step_populate(struct session *s)
{
    xen_pfn_t gpfn = 128;
    struct xen_memory_reservation r = {
        .nr_extents = 1, .extent_order = 2, .domid = DOMID,
    };
    int64_t done;

    set_xen_guest_handle(r.extent_start, &gpfn);
    done = wire_call(s->fd, __HYPERVISOR_memory_op,
                     XENMEM_populate_physmap, (uintptr_t)&r);
    return done == 0 ? -ENOMEM : done;
}

static int64_t step_get_vnumainfo(struct session *s)
{
    uint32_t dist[4], v2v[2];
    xen_vmemrange_t r[2];
    struct xen_vnuma_topology_info t = {
        .domid = DOMID, .nr_vnodes = 2, .nr_vcpus = 2, .nr_vmemranges = 2,
    };
    int64_t rc;

    set_xen_guest_handle(t.vdistance.h, dist);
    set_xen_guest_handle(t.vcpu_to_vnode.h, v2v);
    set_xen_guest_handle(t.vmemrange.h, r);
    rc = wire_call(s->fd, __HYPERVISOR_memory_op, XENMEM_get_vnumainfo,
                   (uintptr_t)&t);
    return rc ?: (int64_t)(t.nr_vnodes * 100 + dist[1] + r[1].nid);
}

static int64_t step_readconsole(struct session *s)
{
    char buf[256];
    struct xen_sysctl sy = { .cmd = XEN_SYSCTL_readconsole };

    sy.u.readconsole.count = sizeof(buf);
    set_xen_guest_handle(sy.u.readconsole.buffer, buf);
    return sysctl(s->fd, &sy);
}

static int64_t step_destroydomain(struct session *s)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_destroydomain,
                            .domain = DOMID };

    return domctl(s->fd, &d);
}

struct step {
    const char *name;
    int64_t (*fn)(struct session *s);
};

#define STEP(fn) { #fn, step_##fn }

static const struct step steps[] = {
    STEP(connect),
    STEP(createdomain),
    STEP(max_mem),
    STEP(claim_set),
    STEP(setvnumainfo),
    STEP(populate),
    STEP(get_vnumainfo),
    STEP(readconsole),
    STEP(destroydomain),
};

#define NR_STEPS NC_ARRAY_SIZE(steps)

/* ------------------------------------------------------------------------
 * The sweep
 * ------------------------------------------------------------------------ */

static struct {
    int64_t rc[NR_STEPS];
    struct snap after[NR_STEPS + 1];    /* [0]: before the session */
    long allocs;
} ref;

static long refusals;                   /* WELCOMEs refused, for the log */

/* A session without snapshots first, so that what the core keeps for
 * later (a destroyed domain's structure, pooled) is kept before the
 * sweep: the base is the live allocations after it, less what its open
 * connection held (hostd's one per connection: measured). */
static void warm_up(void)
{
    struct session s;
    long before = nc_env_alloc_live(), conn;

    assert_int_equal(step_connect(&s), 0);
    conn = nc_env_alloc_live() - before;
    assert_int_equal(conn, 1);
    for ( unsigned int i = 1; i < NR_STEPS; i++ )
        assert_true(steps[i].fn(&s) >= 0);
    hd.base = nc_env_alloc_live() - conn;
    close(s.fd);
    wait_live(hd.base, "warm-up", -1);
}

static void reference_run(void)
{
    struct session s = { .fd = -1 };

    warm_up();
    ref.allocs = 0;
    snap_take(&ref.after[0]);
    for ( unsigned int i = 0; i < NR_STEPS; i++ )
    {
        long count = nc_env_alloc_count();

        ref.rc[i] = steps[i].fn(&s);
        ref.allocs += nc_env_alloc_count() - count;
        if ( ref.rc[i] < 0 )
            fail_msg("%s: %lld", steps[i].name, (long long)ref.rc[i]);
        snap_take(&ref.after[i + 1]);
    }
    close(s.fd);
    wait_live(hd.base, "reference", -1);
    snap_same(&ref.after[0], &ref.after[NR_STEPS]);
    assert_true(ref.allocs > 0);
}

/* One run with allocation n failing: whether any allocation failed. */
static bool faulty_run(long n, enum nc_fault_mode mode)
{
    static struct snap got;
    struct session s = { .fd = -1 };
    long failed = nc_env_alloc_failed();
    unsigned int i;
    int64_t rc = 0;

    nc_env_fail_alloc_after(n, mode);
    for ( i = 0; i < NR_STEPS; i++ )
    {
        rc = steps[i].fn(&s);
        if ( rc != ref.rc[i] )
            break;
    }
    nc_env_fail_alloc_after(0, NC_FAULT_OFF);
    failed = nc_env_alloc_failed() - failed;
    if ( s.fd >= 0 )
        close(s.fd);

    if ( i < NR_STEPS )
    {
        if ( rc != -ENOMEM )
            fail_msg("%s: allocation %ld failed: result %lld, not -ENOMEM",
                     steps[i].name, n, (long long)rc);
        if ( i == 0 )
        {
            if ( !strstr(s.err, "refused this process: out of memory") )
                fail_msg("connect: allocation %ld failed: \"%s\"", n, s.err);
            refusals++;
        }
        assert_true(failed > 0);
    }
    snap_take(&got);
    snap_same(&ref.after[i], &got);
    assert_host_sound();
    cleanup();
    wait_live(hd.base, i < NR_STEPS ? steps[i].name : "session", n);
    return failed > 0;
}

static long sweep_mode(enum nc_fault_mode mode)
{
    long n;

    for ( n = 0; n < FAULT_MAX_SWEEP; n++ )
        if ( !faulty_run(n, mode) )
            break;
    return fault_sweep_done(n, ref.allocs);
}

static void test_session(void **state)
{
    (void)state;
    reference_run();
    fault_swept("hostd session", sweep_mode(NC_FAULT_ONCE),
                sweep_mode(NC_FAULT_PERSIST));
}

/* Every refusal for want of memory is in hostd's log with its reason. */
static void test_refusals_logged(void **state)
{
    char line[512];
    long logged = 0;

    (void)state;
    assert_true(refusals > 0);
    fflush(hd.cfg.log);
    rewind(hd.cfg.log);
    while ( fgets(line, sizeof(line), hd.cfg.log) )
        if ( strstr(line, "refused a connection: out of memory for it") )
            logged++;
    assert_int_equal(logged, refusals);
}

/* ------------------------------------------------------------------------
 * hostd on its thread
 * ------------------------------------------------------------------------ */

static atomic_bool hostd_returned;

static void *hostd_main(void *arg)
{
    (void)arg;
    hd.rc = nc_hostd_run(&hd.cfg);
    atomic_store(&hostd_returned, true);
    return NULL;
}

/* ------------------------------------------------------------------------
 * Start-up: hostd's own state and the host, each allocation failed
 * ------------------------------------------------------------------------ */

/* Start hostd on a socket in dir with allocation n failing (mode): true
 * once it serves, false once it has given up. */
static bool start_with_fault(const char *dir, long n, enum nc_fault_mode mode)
{
    int ready[2];
    char ok = 0;

    assert_int_equal(pipe(ready), 0);
    snprintf(hd.path, sizeof(hd.path), "%s/hostd.sock", dir);
    hd.cfg = (struct nc_hostd_config){
        .spec = SPEC, .socket_path = hd.path, .ready_fd = ready[1],
    };
    atomic_store(&hostd_returned, false);
    nc_env_fail_alloc_after(n, mode);
    assert_int_equal(pthread_create(&hd.thread, NULL, hostd_main, NULL), 0);
    /* hostd writes and closes ready[1] once it serves; if it gives up, it
     * returns with ready[1] still open. */
    while ( !atomic_load(&hostd_returned) )
    {
        struct pollfd p = { .fd = ready[0], .events = POLLIN };

        if ( poll(&p, 1, 10) == 1 && read(ready[0], &ok, 1) == 1 )
            break;
    }
    nc_env_fail_alloc_after(0, NC_FAULT_OFF);
    close(ready[0]);
    if ( ok == 1 )
        return true;
    pthread_join(hd.thread, NULL);
    close(ready[1]);
    return false;
}

static void test_startup(void **state)
{
    char dir[] = "/tmp/nc-fault-hostd.XXXXXX", msg[512];
    FILE *err = tmpfile();
    int saved = dup(STDERR_FILENO);
    long allocs = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_non_null(err);
    assert_true(saved >= 0);
    /* hostd's complaints go to a file, to be read. */
    fflush(stderr);
    assert_true(dup2(fileno(err), STDERR_FILENO) >= 0);
    for ( int mode = NC_FAULT_ONCE; mode <= NC_FAULT_PERSIST; mode++ )
    {
        long n;

        for ( n = 0; n < FAULT_MAX_SWEEP; n++ )
        {
            long failed = nc_env_alloc_failed(), made = nc_env_alloc_count();
            bool serving = start_with_fault(dir, n, (enum nc_fault_mode)mode);

            failed = nc_env_alloc_failed() - failed;
            if ( serving )
            {
                /* Nothing failed (an allocation hostd can do without
                 * would have been noticed by the session sweep). */
                assert_int_equal(failed, 0);
                allocs = nc_env_alloc_count() - made;
                kill(getpid(), SIGTERM);
                pthread_join(hd.thread, NULL);
                assert_int_equal(hd.rc, 0);
                assert_int_equal(nc_env_alloc_live(), 0);
                break;
            }
            assert_true(failed > 0);
            assert_int_equal(hd.rc, 1);
            assert_int_equal(nc_env_alloc_live(), 0);
            /* It never listened. */
            assert_int_equal(access(hd.path, F_OK), -1);
        }
        assert_true(n > 1 && n < FAULT_MAX_SWEEP);
        assert_int_equal(n, allocs);
    }
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(err);
    /* Every failed start said why: out of memory, for hostd's own state
     * first, then the host's (never an unset message). */
    {
        static const char own[] = "numaclaim hostd: out of memory\n";
        static const char host[] = "numaclaim hostd: host \"" SPEC "\": "
                                   "Cannot allocate memory\n";
        long lines = 0;

        while ( fgets(msg, sizeof(msg), err) )
        {
            lines++;
            if ( strcmp(msg, own) && strcmp(msg, host) )
                fail_msg("hostd said: %s", msg);
        }
        assert_int_equal(lines, 2 * allocs);
    }
    fclose(err);
    print_message("%-28s %ld allocations swept\n", "hostd start-up", allocs);
    rmdir(dir);
}

static int start_hostd(void **state)
{
    int ready[2];
    char ok = 0;

    (void)state;
    snprintf(hd.dir, sizeof(hd.dir), "/tmp/nc-fault-hostd.XXXXXX");
    if ( !mkdtemp(hd.dir) || pipe(ready) )
        return -1;
    snprintf(hd.path, sizeof(hd.path), "%s/hostd.sock", hd.dir);
    hd.cfg = (struct nc_hostd_config){
        .spec = SPEC, .socket_path = hd.path, .ready_fd = ready[1],
        .log = tmpfile(),
    };
    /* Counters after every hypercall, as the other hostd suites: the
     * checker's scratch map is swept too (it falls back without it). */
    setenv("NUMACLAIM_CHECK", "2", 1);
    if ( !hd.cfg.log ||
         pthread_create(&hd.thread, NULL, hostd_main, NULL) )
        return -1;
    if ( read(ready[0], &ok, 1) != 1 || ok != 1 )
        return -1;
    close(ready[0]);
    return 0;
}

static int stop_hostd(void **state)
{
    (void)state;
    kill(getpid(), SIGTERM);
    pthread_join(hd.thread, NULL);
    fclose(hd.cfg.log);
    rmdir(hd.dir);
    return hd.rc || nc_env_alloc_live() != 0;
}

int main(void)
{
    const struct CMUnitTest startup[] = {
        cmocka_unit_test(test_startup),
    };
    const struct CMUnitTest serving[] = {
        cmocka_unit_test(test_session),
        cmocka_unit_test(test_refusals_logged),
    };
    int failed;

    /* Before the first allocation, so that the live count is exact. */
    nc_env_alloc_track(true);
    /* One hostd at a time (its stop pipe is process-wide): the start-up
     * sweep first, then the sessions on one that serves. */
    failed = cmocka_run_group_tests(startup, NULL, NULL);
    return failed + cmocka_run_group_tests(serving, start_hostd, stop_hostd);
}
