/* SPDX-License-Identifier: MIT */
/*
 * The fault suite: allocation-failure injection, after SQLite's
 * *fault.test.  "A failing call changes nothing" (core.h) must hold for
 * running out of metadata memory too, wherever in the call that happens.
 *
 * For every public core operation that can allocate, the sweep builds the
 * same host, runs the operation once with no failure to learn the state it
 * should leave, and then, for N = 0, 1, 2, ..., rebuilds the host, makes
 * the Nth allocation from the start of the operation fail (only that one,
 * then in a second pass that one and every later one) and runs it again.
 * The operation must then either succeed, leaving exactly the state of the
 * run without failure (the allocation that failed was not essential, e.g.
 * the checker's scratch map), or fail with -ENOMEM (or the error it
 * documents) leaving exactly the state from before the call.  "State" is
 * everything the API lets one observe: host and node counters, free heap
 * per node, every domain's info, claim set, pages per node, p2m (translate
 * of every gpfn in use) and vNUMA, and the offline status of every frame.
 * Each iteration ends with the frame-level checker and, after
 * nc_xen_destroy, with the environment's count of live allocations back
 * at 0: no leak on any failure path.  The sweep of an operation stops at
 * the first N past its last allocation, when no failure was injected.
 *
 * The host is built through the hypercall layer (nc_xen_create), whose
 * buffers come from the same environment hook, so the sweep covers the
 * hypercalls that allocate or reach allocating core calls too: each is
 * issued as a guest kernel would, structures in this process's memory.
 */
#include "common.h"

#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/memory.h>
#include <xen/sysctl.h>

#include <numaclaim/xen-claims.h>

#include "../src/core/env.h"
#include "../src/xen/xen.h"
#include "fault_hook.h"

#define SPEC        "2x16M"              /* 4096 frames per node */
#define NR_NODES    2
#define NR_FRAMES   8192
#define NR_GPFNS    256                  /* every gpfn the fixture maps */
#define MAX_DOMS    6

static void env_arm(long n, int mode)
{
    nc_env_fail_alloc_after(n, (enum nc_fault_mode)mode);
}

static const struct fault_hook env_hook = {
    nc_zalloc, nc_free, env_arm, nc_env_alloc_live,
};

/* ------------------------------------------------------------------------
 * The fixture: one host with a bit of everything
 * ------------------------------------------------------------------------ */

struct fixture {
    struct nc_xen *x;       /* the hypercall layer over h */
    struct nc_host *h;
    nc_domid_t d1;          /* claims, a fragmented p2m, unmapped pages */
    nc_domid_t d2;          /* vNUMA */
    nc_domid_t d3;          /* empty: first p2m entry, first vNUMA */
    nc_domid_t d4;          /* p2m and unmapped set at full capacity */
    uint64_t d4_run;        /* d4: a run whose middle was replaced */
    uint64_t d4_unmapped;   /* d4: 16 unmapped pages, every other freed */
    uint64_t run_gpfn;      /* d1: one 16-page run, for splitting */
    uint64_t unmapped_mfn;  /* d1: 4 pages owned unmapped */
    uint64_t anon_mfn;      /* the first of 8 hypervisor pages */
    uint64_t owned_mfn;     /* a page of d1, for pending offlining */
};

static const uint32_t vdist2[] = { 10, 21, 21, 10 };
static const uint32_t vcpu2[] = { 0 };
static const uint32_t v2p2[] = { 0, 1 };
static const struct nc_vmemrange vmem2[] = {
    { .start = 0, .end = 128 << NC_PAGE_SHIFT, .nid = 0 },
    { .start = 128 << NC_PAGE_SHIFT, .end = 256 << NC_PAGE_SHIFT, .nid = 1 },
};
static const struct nc_vnuma vnuma2 = {
    .nr_vnodes = 2, .nr_vcpus = 1, .nr_vmemranges = 2,
    .vdistance = vdist2, .vcpu_to_vnode = vcpu2, .vnode_to_pnode = v2p2,
    .vmemrange = vmem2,
};
static const uint32_t vdist1[] = { 10 };
static const uint32_t v2p1[] = { 1 };
static const struct nc_vnuma vnuma1 = {
    .nr_vnodes = 1, .nr_vcpus = 1, .nr_vmemranges = 1,
    .vdistance = vdist1, .vcpu_to_vnode = vcpu2, .vnode_to_pnode = v2p1,
    .vmemrange = vmem2,
};

static void fixture_build(struct fixture *f)
{
    struct nc_host *h;
    char err[128];

    memset(f, 0, sizeof(*f));
    assert_int_equal(nc_xen_create(SPEC, &f->x, err, sizeof(err)), 0);
    f->h = h = nc_xen_host(f->x);
    nc_host_set_autocheck(h, NC_CHECK_FRAMES);
    f->d1 = dom_new(h, 2048);
    f->d2 = dom_new(h, 2048);
    f->d3 = dom_new(h, 2048);
    f->d4 = dom_new(h, 2048);
    assert_int_equal(claim_set(h, f->d1, 3, HOSTC(64), NODEC(0, 32),
                               NODEC(1, 32)), 0);
    /* A populate reserves two entries (one for a split), so 14 single
     * pages with gaps between and one run leave d1's p2m at 15 entries
     * of 16: the next populate must grow the array. */
    for ( uint64_t g = 0; g < 28; g += 2 )
        assert_int_equal(populate(h, f->d1, g, 0), 0);
    f->run_gpfn = 64;
    assert_int_equal(populate(h, f->d1, f->run_gpfn, 4), 0);
    assert_int_equal(dom_info(h, f->d1).nr_p2m_extents, 15);
    assert_int_equal(nc_domain_translate(h, f->d1, 0, &f->owned_mfn), 0);
    assert_int_equal(nc_increase_reservation(h, CTL, f->d1, 2,
                                             NC_MEMFLAGS_NONE,
                                             &f->unmapped_mfn), 0);

    /* d4: 13 pages and a run with its middle replaced are 16 entries of
     * 16, so a depopulate that splits must grow the array; and 16 unmapped
     * pages with every other one of the first 14 freed are 8 entries of 8,
     * so freeing any more must grow that one. */
    for ( uint64_t g = 0; g < 26; g += 2 )
        assert_int_equal(populate(h, f->d4, g, 0), 0);
    f->d4_run = 64;
    assert_int_equal(populate(h, f->d4, f->d4_run, 4), 0);
    assert_int_equal(populate(h, f->d4, f->d4_run + 8, 0), 0);
    assert_int_equal(dom_info(h, f->d4).nr_p2m_extents, 16);
    assert_int_equal(nc_increase_reservation(h, CTL, f->d4, 4,
                                             NC_MEMFLAGS_NONE,
                                             &f->d4_unmapped), 0);
    for ( uint64_t i = 1; i < 14; i += 2 )
        assert_int_equal(nc_free_unmapped(h, CTL, f->d4, f->d4_unmapped + i,
                                          0), 0);

    assert_int_equal(nc_domain_set_vnuma(h, CTL, f->d2, &vnuma2), 0);
    assert_int_equal(populate(h, f->d2, 0, 2), 0);
    assert_int_equal(populate(h, f->d2, 128, 2), 0);

    /* Eight hypervisor pages, each its own entry: the anonymous map is
     * full, so one more allocation or a free must grow it. */
    assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, NC_MEMFLAGS_NONE,
                                   &f->anon_mfn), 0);
    for ( int i = 1; i < 8; i++ )
        assert_int_equal(nc_alloc_anon(h, NC_DOMID_XEN, 0, NC_MEMFLAGS_NONE,
                                       NULL), 0);
    assert_invariants(h);
}

/* ------------------------------------------------------------------------
 * Everything observable
 * ------------------------------------------------------------------------ */

struct dom_snap {
    nc_domid_t domid;
    struct nc_domain_info info;
    int get_rc;
    uint32_t nr_claims;
    struct nc_claim claims[NC_CLAIM_MAX_ENTRIES];
    uint64_t node_pages[NR_NODES];
    int64_t mfn[NR_GPFNS];                  /* -1: not mapped */
    int vnuma_rc;
    uint32_t nr_vnodes, nr_vcpus, nr_vmemranges;
    uint32_t vdistance[4], vcpu_to_vnode[2];
    struct nc_vmemrange vmemrange[4];
};

struct snap {
    struct nc_host_info host;
    struct nc_node_info node[NR_NODES];
    uint64_t avail_heap[NR_NODES];
    uint32_t nr_doms;
    struct dom_snap dom[MAX_DOMS];
    uint32_t status[NR_FRAMES];
};

static void snap_dom(struct nc_host *h, nc_domid_t id, struct dom_snap *s)
{
    struct nc_vnuma_out out = {
        .nr_vnodes = 2, .nr_vcpus = 2, .nr_vmemranges = 4,
        .vdistance = s->vdistance, .vcpu_to_vnode = s->vcpu_to_vnode,
        .vmemrange = s->vmemrange,
    };

    s->domid = id;
    assert_int_equal(nc_domain_getinfo(h, id, &s->info), 0);
    s->nr_claims = NC_CLAIM_MAX_ENTRIES;
    s->get_rc = nc_claim_memory(h, CTL, id, NC_CLAIM_MEMORY_GET, s->claims,
                                &s->nr_claims);
    assert_int_equal(nc_domain_node_pages(h, id, s->node_pages, NR_NODES), 0);
    for ( uint64_t g = 0; g < NR_GPFNS; g++ )
    {
        uint64_t mfn;

        s->mfn[g] = nc_domain_translate(h, id, g, &mfn) ? -1 : (int64_t)mfn;
    }
    s->vnuma_rc = nc_domain_get_vnuma(h, CTL, id, &out);
    s->nr_vnodes = out.nr_vnodes;
    s->nr_vcpus = out.nr_vcpus;
    s->nr_vmemranges = out.nr_vmemranges;
}

static void snap_take(struct nc_host *h, struct snap *s)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(nc_host_overview(h, &s->host, s->node, NR_NODES), 0);
    for ( uint32_t n = 0; n < NR_NODES; n++ )
        s->avail_heap[n] = nc_host_avail_heap(h, (int32_t)n, 0, 0);
    for ( uint32_t id = nc_domain_next(h, 1); id < NC_DOMID_FIRST_RESERVED;
          id = nc_domain_next(h, id + 1) )
    {
        assert_true(s->nr_doms < MAX_DOMS);
        snap_dom(h, (nc_domid_t)id, &s->dom[s->nr_doms++]);
    }
    for ( uint64_t m = 0; m < NR_FRAMES; m++ )
        assert_int_equal(nc_page_query(h, CTL, m, &s->status[m]), 0);
}

/* Field by field: the structs have padding that no call promises to set. */
#define SAME(field) assert_int_equal(a->field, b->field)

static void dom_same(const struct dom_snap *a, const struct dom_snap *b)
{
    SAME(domid);
    SAME(info.domid);
    SAME(info.dying);
    SAME(info.max_vcpus);
    SAME(info.tot_pages);
    SAME(info.max_pages);
    SAME(info.outstanding);
    SAME(info.host_claim);
    SAME(info.recalled);
    SAME(info.node_affinity);
    SAME(info.last_alloc_node);
    SAME(info.nr_p2m_extents);
    SAME(info.pause_count);
    SAME(info.unmapped_pages);
    SAME(get_rc);
    SAME(nr_claims);
    for ( uint32_t i = 0; i < a->nr_claims && i < NC_CLAIM_MAX_ENTRIES; i++ )
    {
        SAME(claims[i].target);
        SAME(claims[i].pages);
    }
    for ( uint32_t n = 0; n < NR_NODES; n++ )
        SAME(node_pages[n]);
    for ( uint32_t g = 0; g < NR_GPFNS; g++ )
        SAME(mfn[g]);
    SAME(vnuma_rc);
    if ( a->vnuma_rc )
        return;
    SAME(nr_vnodes);
    SAME(nr_vcpus);
    SAME(nr_vmemranges);
    for ( uint32_t i = 0; i < a->nr_vnodes * a->nr_vnodes; i++ )
        SAME(vdistance[i]);
    for ( uint32_t i = 0; i < a->nr_vcpus; i++ )
        SAME(vcpu_to_vnode[i]);
    for ( uint32_t i = 0; i < a->nr_vmemranges; i++ )
    {
        SAME(vmemrange[i].start);
        SAME(vmemrange[i].end);
        SAME(vmemrange[i].nid);
    }
}

static void snap_same(const struct snap *a, const struct snap *b)
{
    SAME(host.nr_nodes);
    SAME(host.total_pages);
    SAME(host.total_avail);
    SAME(host.outstanding_claims);
    SAME(host.offlined_pages);
    SAME(host.nr_domains);
    SAME(host.nr_cpus);
    SAME(host.max_mfn);
    for ( uint32_t n = 0; n < NR_NODES; n++ )
    {
        SAME(node[n].online);
        SAME(node[n].size);
        SAME(node[n].free);
        SAME(node[n].claimed);
        SAME(avail_heap[n]);
    }
    SAME(nr_doms);
    for ( uint32_t i = 0; i < a->nr_doms; i++ )
        dom_same(&a->dom[i], &b->dom[i]);
    for ( uint32_t m = 0; m < NR_FRAMES; m++ )
        SAME(status[m]);
}

/* ------------------------------------------------------------------------
 * The operations
 * ------------------------------------------------------------------------ */

static int op_domain_create(struct fixture *f)
{
    struct nc_domain_config c = { .domid = NC_DOMID_ANY, .max_vcpus = 2 };
    nc_domid_t d;

    return nc_domain_create(f->h, CTL, &c, &d);
}

static int op_claim_set_one(struct fixture *f)
{
    return claim_set(f->h, f->d3, 1, HOSTC(100));
}

static int op_claim_set_many(struct fixture *f)
{
    return claim_set(f->h, f->d1, 3, HOSTC(10), NODEC(0, 40), NODEC(1, 50));
}

static int op_claim_pages(struct fixture *f)
{
    return nc_claim_pages(f->h, CTL, f->d3, 200);
}

static int op_populate_first(struct fixture *f)
{
    return populate(f->h, f->d3, 0, 0);
}

static int op_populate_grow(struct fixture *f)
{
    return populate(f->h, f->d1, 100, 0);
}

static int op_populate_replace_middle(struct fixture *f)
{
    return populate(f->h, f->d1, f->run_gpfn + 5, 0);
}

static int op_populate_vnode(struct fixture *f)
{
    struct nc_memflags fl = { .node = 1, .vnode = true };

    return nc_populate(f->h, CTL, f->d2, 130, 0, fl, NULL);
}

static int op_increase_first(struct fixture *f)
{
    return nc_increase_reservation(f->h, CTL, f->d3, 1, NC_MEMFLAGS_NONE,
                                   NULL);
}

static int op_increase(struct fixture *f)
{
    return nc_increase_reservation(f->h, CTL, f->d1, 0, flags_node(1, 1),
                                   NULL);
}

static int op_depopulate_middle(struct fixture *f)
{
    return nc_depopulate(f->h, CTL, f->d1, f->run_gpfn + 7, 0);
}

static int op_depopulate_run(struct fixture *f)
{
    return nc_depopulate(f->h, CTL, f->d1, f->run_gpfn, 4);
}

static int op_free_unmapped_middle(struct fixture *f)
{
    return nc_free_unmapped(f->h, CTL, f->d1, f->unmapped_mfn + 1, 0);
}

static int op_free_unmapped_grow(struct fixture *f)
{
    return nc_free_unmapped(f->h, CTL, f->d4, f->d4_unmapped + 15, 0);
}

static int op_depopulate_grow(struct fixture *f)
{
    return nc_depopulate(f->h, CTL, f->d4, f->d4_run + 3, 0);
}

static int op_depopulate_grow_run(struct fixture *f)
{
    return nc_depopulate(f->h, CTL, f->d4, f->d4_run, 2);
}

static int op_alloc_anon(struct fixture *f)
{
    return nc_alloc_anon(f->h, f->d1, 1, NC_MEMFLAGS_NONE, NULL);
}

static int op_free_anon(struct fixture *f)
{
    return nc_free_anon(f->h, f->anon_mfn, 0);
}

static int op_set_vnuma_first(struct fixture *f)
{
    return nc_domain_set_vnuma(f->h, CTL, f->d3, &vnuma2);
}

static int op_set_vnuma_replace(struct fixture *f)
{
    return nc_domain_set_vnuma(f->h, CTL, f->d2, &vnuma1);
}

static int op_get_vnuma(struct fixture *f)
{
    uint32_t dist[4], vcpu[1];
    struct nc_vmemrange r[2];
    struct nc_vnuma_out out = {
        .nr_vnodes = 2, .nr_vcpus = 1, .nr_vmemranges = 2,
        .vdistance = dist, .vcpu_to_vnode = vcpu, .vmemrange = r,
    };

    return nc_domain_get_vnuma(f->h, CTL, f->d2, &out);
}

static int op_offline_free(struct fixture *f)
{
    uint32_t status;

    /* The last frame of node 1: free, and the first bad-set entry. */
    return nc_page_offline(f->h, CTL, NR_FRAMES - 1, false, &status);
}

static int op_offline_owned(struct fixture *f)
{
    uint32_t status;

    return nc_page_offline(f->h, CTL, f->owned_mfn, true, &status);
}

static int op_domain_destroy(struct fixture *f)
{
    return nc_domain_destroy(f->h, CTL, f->d1);
}

static int op_console(struct fixture *f)
{
    nc_console_write(f->h, "a message from outside\n");
    nc_console_printf(f->h, "d%u: %s", f->d1, "formatted");
    nc_debug_key(f->h, '*');
    return 0;
}

static int op_check(struct fixture *f)
{
    /* The checker's own scratch map: -ENOMEM is its documented failure. */
    return nc_host_check(f->h, NC_CHECK_FRAMES, NULL, 0);
}

/* Hypercalls from the control domain, arguments as a guest passes them. */
static int hypercall(struct fixture *f, unsigned int op, uint64_t a0,
                     uint64_t a1)
{
    const uint64_t arg[5] = { a0, a1 };

    return (int)nc_xen_hypercall(f->x, CTL, op, arg);
}

static int domctl(struct fixture *f, struct xen_domctl *d)
{
    d->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    return hypercall(f, __HYPERVISOR_domctl, (uintptr_t)d, 0);
}

static int op_xen_createdomain(struct fixture *f)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_createdomain };

    d.u.createdomain.max_vcpus = 2;
    return domctl(f, &d);
}

static int op_xen_destroydomain(struct fixture *f)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_destroydomain,
                            .domain = f->d1 };

    return domctl(f, &d);
}

static int op_xen_claim_memory(struct fixture *f)
{
    xen_memory_claim_t set[3] = {
        { .pages = 10, .target = XEN_DOMCTL_CLAIM_MEMORY_HOST },
        { .pages = 40, .target = 0 },
        { .pages = 50, .target = 1 },
    };
    struct xen_domctl d = { .cmd = XEN_DOMCTL_claim_memory,
                            .domain = f->d1 };
    struct xen_domctl_claim_memory *u = (void *)&d.u;

    set_xen_guest_handle(u->claim_set, set);
    u->nr_entries = 3;
    u->mode = XEN_DOMCTL_CLAIM_MEMORY_SET;
    return domctl(f, &d);
}

static int op_xen_setvnumainfo(struct fixture *f)
{
    uint32_t dist[4] = { 10, 21, 21, 10 }, v2v[1] = { 0 }, v2p[2] = { 0, 1 };
    xen_vmemrange_t r[2] = {
        { .start = 0, .end = 128 << NC_PAGE_SHIFT, .nid = 0 },
        { .start = 128 << NC_PAGE_SHIFT, .end = 256 << NC_PAGE_SHIFT,
          .nid = 1 },
    };
    struct xen_domctl d = { .cmd = XEN_DOMCTL_setvnumainfo,
                            .domain = f->d3 };

    d.u.vnuma.nr_vnodes = 2;
    d.u.vnuma.nr_vcpus = 1;
    d.u.vnuma.nr_vmemranges = 2;
    set_xen_guest_handle(d.u.vnuma.vdistance, dist);
    set_xen_guest_handle(d.u.vnuma.vcpu_to_vnode, v2v);
    set_xen_guest_handle(d.u.vnuma.vnode_to_pnode, v2p);
    set_xen_guest_handle(d.u.vnuma.vmemrange, r);
    return domctl(f, &d);
}

static int op_xen_get_vnumainfo(struct fixture *f)
{
    uint32_t dist[4], v2v[1];
    xen_vmemrange_t r[2];
    struct xen_vnuma_topology_info t = {
        .domid = f->d2, .nr_vnodes = 2, .nr_vcpus = 1, .nr_vmemranges = 2,
    };

    set_xen_guest_handle(t.vdistance.h, dist);
    set_xen_guest_handle(t.vcpu_to_vnode.h, v2v);
    set_xen_guest_handle(t.vmemrange.h, r);
    return hypercall(f, __HYPERVISOR_memory_op, XENMEM_get_vnumainfo,
                     (uintptr_t)&t);
}

/* populate_physmap returns the extents done: none is its out of memory. */
static int op_xen_populate_physmap(struct fixture *f)
{
    xen_pfn_t gpfn = 100;
    struct xen_memory_reservation r = { .nr_extents = 1, .domid = f->d1 };
    int done;

    set_xen_guest_handle(r.extent_start, &gpfn);
    done = hypercall(f, __HYPERVISOR_memory_op, XENMEM_populate_physmap,
                     (uintptr_t)&r);
    return done == 1 ? 0 : done == 0 ? -ENOMEM : done;
}

static int op_xen_readconsole(struct fixture *f)
{
    char buf[256];
    struct xen_sysctl s = { .cmd = XEN_SYSCTL_readconsole,
                            .interface_version =
                                XEN_SYSCTL_INTERFACE_VERSION };

    s.u.readconsole.count = sizeof(buf);
    set_xen_guest_handle(s.u.readconsole.buffer, buf);
    return hypercall(f, __HYPERVISOR_sysctl, (uintptr_t)&s, 0);
}

/* ------------------------------------------------------------------------
 * The sweep
 * ------------------------------------------------------------------------ */

struct op {
    const char *name;
    int (*fn)(struct fixture *f);
};

/* Returns the allocations the operation makes without failures. */
static long sweep_mode(const struct op *op, enum nc_fault_mode mode)
{
    static struct snap before, expect, after;
    struct fixture f;
    long allocs, n;
    int rc;

    /* The reference run: what the operation leaves when memory is there. */
    assert_int_equal(nc_env_alloc_live(), 0);
    fixture_build(&f);
    allocs = nc_env_alloc_count();
    assert_int_equal(op->fn(&f), 0);
    allocs = nc_env_alloc_count() - allocs;
    snap_take(f.h, &expect);
    nc_xen_destroy(f.x);
    assert_int_equal(nc_env_alloc_live(), 0);

    for ( n = 0; n < FAULT_MAX_SWEEP; n++ )
    {
        long failed;

        fixture_build(&f);
        snap_take(f.h, &before);
        failed = nc_env_alloc_failed();
        nc_env_fail_alloc_after(n, mode);
        rc = op->fn(&f);
        nc_env_fail_alloc_after(0, NC_FAULT_OFF);
        failed = nc_env_alloc_failed() - failed;

        snap_take(f.h, &after);
        if ( rc == 0 )
            snap_same(&expect, &after);
        else
        {
            if ( rc != -ENOMEM )
                fail_msg("%s: allocation %ld failed: rc %d", op->name, n, rc);
            assert_true(failed > 0);
            snap_same(&before, &after);
        }
        assert_invariants(f.h);
        nc_xen_destroy(f.x);
        fault_no_leak(&env_hook, op->name, n, mode, 0);
        if ( failed == 0 )
            break;
    }
    return fault_sweep_done(n, allocs);
}

static void sweep(const struct op *op)
{
    long allocs = sweep_mode(op, NC_FAULT_ONCE);

    fault_swept(op->name, allocs, sweep_mode(op, NC_FAULT_PERSIST));
}

#define OP(fn) { #fn, op_##fn }

static const struct op ops[] = {
    OP(domain_create),
    OP(claim_set_one),
    OP(claim_set_many),
    OP(claim_pages),
    OP(populate_first),
    OP(populate_grow),
    OP(populate_replace_middle),
    OP(populate_vnode),
    OP(increase_first),
    OP(increase),
    OP(depopulate_middle),
    OP(depopulate_run),
    OP(free_unmapped_middle),
    OP(free_unmapped_grow),
    OP(depopulate_grow),
    OP(depopulate_grow_run),
    OP(alloc_anon),
    OP(free_anon),
    OP(set_vnuma_first),
    OP(set_vnuma_replace),
    OP(get_vnuma),
    OP(offline_free),
    OP(offline_owned),
    OP(domain_destroy),
    OP(console),
    OP(check),
    OP(xen_createdomain),
    OP(xen_destroydomain),
    OP(xen_claim_memory),
    OP(xen_setvnumainfo),
    OP(xen_get_vnumainfo),
    OP(xen_populate_physmap),
    OP(xen_readconsole),
};

static void test_operations(void **state)
{
    (void)state;
    for ( size_t i = 0; i < NC_ARRAY_SIZE(ops); i++ )
        sweep(&ops[i]);
}

/* Creating a host, directly or with its hypercall layer: there is no host
 * to snapshot, so for every N it must fail with -ENOMEM, hand back NULL
 * and free everything it took, or succeed with a sound host. */
struct creator {
    int (*create)(void **out);
    struct nc_host *(*host)(void *made);
    void (*destroy)(void *made);
};

static int create_core(void **out)
{
    struct nc_host_config cfg;
    char err[128];

    assert_int_equal(nc_host_config_parse(SPEC, &cfg, err, sizeof(err)), 0);
    return nc_host_create(&cfg, (struct nc_host **)out);
}

static struct nc_host *host_core(void *made)
{
    return made;
}

static void destroy_core(void *made)
{
    nc_host_destroy(made);
}

static int create_xen(void **out)
{
    char err[128];

    return nc_xen_create(SPEC, (struct nc_xen **)out, err, sizeof(err));
}

static struct nc_host *host_xen(void *made)
{
    return nc_xen_host(made);
}

static void destroy_xen(void *made)
{
    nc_xen_destroy(made);
}

static void sweep_create(const struct creator *c)
{
    for ( int mode = NC_FAULT_ONCE; mode <= NC_FAULT_PERSIST; mode++ )
    {
        long n;

        for ( n = 0; n < FAULT_MAX_SWEEP; n++ )
        {
            void *made = (void *)1;
            long failed = nc_env_alloc_failed();
            int rc;

            nc_env_fail_alloc_after(n, (enum nc_fault_mode)mode);
            rc = c->create(&made);
            nc_env_fail_alloc_after(0, NC_FAULT_OFF);
            failed = nc_env_alloc_failed() - failed;
            if ( rc )
            {
                assert_int_equal(rc, -ENOMEM);
                assert_null(made);
            }
            else
            {
                assert_non_null(made);
                assert_invariants(c->host(made));
                c->destroy(made);
            }
            assert_int_equal(nc_env_alloc_live(), 0);
            if ( failed == 0 )
                break;
        }
        assert_true(n > 0 && n < FAULT_MAX_SWEEP);
    }
}

static void test_host_create(void **state)
{
    static const struct creator c = { create_core, host_core, destroy_core };

    (void)state;
    sweep_create(&c);
}

static void test_xen_create(void **state)
{
    static const struct creator c = { create_xen, host_xen, destroy_xen };

    (void)state;
    sweep_create(&c);
}

/*
 * An offline that recalls a claim but inserts nothing into the tree makes
 * one allocation at most, its bitmap chunk: with one allocation allowed
 * and every later one failing, a free frame on a fully claimed node goes
 * offline and its domain loses one page of claim; with none allowed, the
 * next frame of the same chunk does too.  (It used to reserve a tree entry
 * it did not need first, and so failed with ENOMEM here.)
 */
static void test_offline_with_recall_allocates_only_its_chunk(void **state)
{
    struct nc_host *h = host_new(SPEC);
    const uint64_t node_pages = NR_FRAMES / NR_NODES;
    nc_domid_t d = dom_new(h, NR_FRAMES);
    uint32_t status = 0;

    (void)state;
    assert_int_equal(claim_set(h, d, 1, 0u, node_pages), 0);
    assert_int_equal(node_info(h, 0).claimed, node_pages);

    nc_env_fail_alloc_after(1, NC_FAULT_PERSIST);
    assert_int_equal(nc_page_offline(h, CTL, 100, false, &status), 0);
    assert_int_equal(status, NC_PG_OFFLINE_OFFLINED);
    nc_env_fail_alloc_after(0, NC_FAULT_PERSIST);
    status = 0;
    assert_int_equal(nc_page_offline(h, CTL, 101, false, &status), 0);
    nc_env_fail_alloc_after(0, NC_FAULT_OFF);
    assert_int_equal(status, NC_PG_OFFLINE_OFFLINED);
    assert_int_equal(dom_info(h, d).recalled, 2);
    assert_int_equal(node_info(h, 0).claimed, node_pages - 2);
    assert_int_equal(node_info(h, 0).free, node_pages - 2);
    assert_int_equal(host_info(h).offlined_pages, 2);

    assert_int_equal(nc_domain_destroy(h, CTL, d), 0);
    assert_invariants(h);
    nc_host_destroy(h);
}

/* The hook itself. */
static void test_env_hook(void **state)
{
    (void)state;
    fault_hook_check(&env_hook);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_hook),
        cmocka_unit_test(test_host_create),
        cmocka_unit_test(test_xen_create),
        cmocka_unit_test(test_operations),
        cmocka_unit_test(test_offline_with_recall_allocates_only_its_chunk),
    };

    /* Before the first allocation, so that the live count is exact. */
    nc_env_alloc_track(true);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
