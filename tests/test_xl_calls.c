/* SPDX-License-Identifier: MIT */
/*
 * What `xl info`, `xl dmesg`, `xl debug-keys`, `xl vcpu-list` and `xl
 * cpupool-list` ask of Xen, through Debian's libxenctrl on numaclaim's
 * stand-ins: xen_version, sched_id, cpupool_op, cputopoinfo, physinfo,
 * readconsole, debug_keys, getnodeaffinity, getvcpuinfo, and domain 0's
 * getdomaininfo record.  Exact values and errnos, raw hypercalls where a
 * test needs a bad pointer or size.
 *
 * meson sets NUMACLAIM_HOST=64M,64M,0;cpus=4,2,2: node 0 with CPUs 0-3,
 * node 1 with CPUs 4-5, node 2 memoryless with CPUs 6-7.  Every test
 * destroys the domains it creates.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>
#include <xencall.h>
#include <xenctrl.h>
#include <xen/version.h>
#include <xen/features.h>

#include "xc_common.h"

#define HOST_SPEC   "64M,64M,0;cpus=4,2,2"
#define NODE_PAGES  16384ULL
#define NR_CPUS     8
#define RING        16384

static xc_interface *xch;
static xencall_handle *xc;
static void *gone;                      /* an unmapped page */
static char *buf;                       /* RING + 1 bytes */

static int open_xc(void **state)
{
    (void)state;
    xch = xc_interface_open(NULL, NULL, 0);
    if ( !xch )
        return -1;
    xc = xc_interface_xcall_handle(xch);
    gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if ( gone == MAP_FAILED || munmap(gone, 4096) )
        return -1;
    buf = calloc(1, RING + 1);
    return buf ? 0 : -1;
}

static int close_xc(void **state)
{
    (void)state;
    free(buf);
    return xc_interface_close(xch);
}

static uint32_t new_domain(unsigned int vcpus)
{
    uint32_t domid = xc_test_domain(xch, 4096, vcpus);

    assert_int_not_equal(domid, 0);
    return domid;
}

/* A hypercall with its argument struct in a hypercall buffer, copied back
 * into op afterwards (whatever Xen wrote back). */
static long raw(unsigned int hcall, void *op, size_t size)
{
    void *b = xencall_alloc_buffer(xc, size);
    long rc;

    memcpy(b, op, size);
    rc = xencall1(xc, hcall, (uint64_t)(uintptr_t)b);
    memcpy(op, b, size);
    xencall_free_buffer(xc, b);
    return rc;
}

static struct xen_sysctl sysctl_op(uint32_t cmd)
{
    return (struct xen_sysctl){
        .cmd = cmd,
        .interface_version = XEN_SYSCTL_INTERFACE_VERSION,
    };
}

static struct xen_domctl domctl_op(uint32_t cmd, uint32_t domid)
{
    return (struct xen_domctl){
        .cmd = cmd,
        .interface_version = XEN_DOMCTL_INTERFACE_VERSION,
        .domain = (domid_t)domid,
    };
}

/* ========================================================================
 * xen_version
 * ======================================================================== */

static void test_version_strings(void **state)
{
    xen_extraversion_t extra;
    xen_capabilities_info_t caps;
    xen_changeset_info_t cs;
    xen_compile_info_t ci;
    xen_commandline_t cmdline;
    xen_platform_parameters_t pp;

    (void)state;
    assert_int_equal(xc_version(xch, XENVER_version, NULL), (4 << 16) | 17);
    assert_int_equal(xc_version(xch, XENVER_extraversion, extra), 0);
    assert_string_equal(extra, ".0-numaclaim");
    assert_int_equal(xc_version(xch, XENVER_capabilities, caps), 0);
    assert_string_equal(caps,
                        "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64 ");
    assert_int_equal(xc_version(xch, XENVER_changeset, cs), 0);
    assert_string_equal(cs, "numaclaim 0.1.0");
    assert_int_equal(xc_version(xch, XENVER_compile_info, &ci), 0);
    assert_string_equal(ci.compile_by, "numaclaim");
    assert_string_equal(ci.compile_domain, "simulated");
    assert_true(ci.compiler[0] != '\0' && ci.compile_date[0] != '\0');
    assert_int_equal(xc_version(xch, XENVER_commandline, cmdline), 0);
    assert_string_equal(cmdline, "host=" HOST_SPEC);
    assert_int_equal(xc_version(xch, XENVER_platform_parameters, &pp), 0);
    assert_int_equal(pp.virt_start, 0xFFFF800000000000ULL);
}

static void test_version_features_pagesize_handle(void **state)
{
    xen_feature_info_t fi = { .submap_idx = 0 };
    xen_domain_handle_t hdl;
    /* xen_build_id_t ends in a flexible array: room for 64 bytes. */
    uint32_t store[1 + 16];
    xen_build_id_t *bid = (xen_build_id_t *)store;
    unsigned char first[20];

    (void)state;
    assert_int_equal(xc_version(xch, XENVER_get_features, &fi), 0);
    assert_int_equal(fi.submap,
                     (1U << XENFEAT_writable_page_tables) |
                     (1U << XENFEAT_auto_translated_physmap) |
                     (1U << XENFEAT_hvm_callback_vector) |
                     (1U << XENFEAT_hvm_safe_pvclock) |
                     (1U << XENFEAT_dom0) |
                     (1U << XENFEAT_memory_op_vnode_supported) |
                     (1U << XENFEAT_not_direct_mapped));
    /* libxenctrl bounces get_features out only, so Xen never sees the
     * caller's submap_idx: another submap needs a raw call. */
    {
        xen_feature_info_t *raw_fi = xencall_alloc_buffer(xc, sizeof(fi));

        raw_fi->submap_idx = 1;
        assert_fails(xencall2(xc, __HYPERVISOR_xen_version,
                              XENVER_get_features,
                              (uint64_t)(uintptr_t)raw_fi), EINVAL);
        raw_fi->submap_idx = 0;
        assert_int_equal(xencall2(xc, __HYPERVISOR_xen_version,
                                  XENVER_get_features,
                                  (uint64_t)(uintptr_t)raw_fi), 0);
        assert_int_equal(raw_fi->submap, fi.submap);
        xencall_free_buffer(xc, raw_fi);
    }

    assert_int_equal(xc_version(xch, XENVER_pagesize, NULL), 4096);
    memset(hdl, 0xaa, sizeof(hdl));
    assert_int_equal(xc_version(xch, XENVER_guest_handle, hdl), 0);
    for ( unsigned int i = 0; i < sizeof(hdl); i++ )
        assert_int_equal(hdl[i], 0);

    /* build_id: the length it has, ENOBUFS when it does not fit, EINVAL
     * for a zero length; the same bytes every time. */
    bid->len = 64;
    assert_int_equal(xc_version(xch, XENVER_build_id, bid), 20);
    memcpy(first, bid->buf, 20);
    bid->len = 20;
    memset(bid->buf, 0, 20);
    assert_int_equal(xc_version(xch, XENVER_build_id, bid), 20);
    assert_memory_equal(first, bid->buf, 20);
    bid->len = 19;
    assert_fails(xc_version(xch, XENVER_build_id, bid), ENOBUFS);
    bid->len = 0;
    assert_fails(xc_version(xch, XENVER_build_id, bid), EINVAL);
}

static void test_version_raw_errors(void **state)
{
    (void)state;
    /* NULL, unmapped, an arg where none is taken, an unknown sub-op. */
    assert_fails(xencall2(xc, __HYPERVISOR_xen_version, XENVER_extraversion,
                          0), EFAULT);
    assert_fails(xencall2(xc, __HYPERVISOR_xen_version, XENVER_commandline,
                          (uint64_t)(uintptr_t)gone), EFAULT);
    assert_fails(xencall2(xc, __HYPERVISOR_xen_version, XENVER_get_features,
                          (uint64_t)(uintptr_t)gone), EFAULT);
    assert_fails(xencall2(xc, __HYPERVISOR_xen_version, XENVER_pagesize,
                          (uint64_t)(uintptr_t)buf), EINVAL);
    /* build_id with a NULL handle: only the size. */
    assert_int_equal(xencall2(xc, __HYPERVISOR_xen_version, XENVER_build_id,
                              0), 20);
    assert_fails(xencall2(xc, __HYPERVISOR_xen_version, 99, 0), ENOSYS);
    assert_fails(xencall2(xc, __HYPERVISOR_xen_version, -1, 0), ENOSYS);
}

/* ========================================================================
 * Scheduler, pools, topology, physinfo
 * ======================================================================== */

static void test_sched_id_is_credit2(void **state)
{
    int id = -1;

    (void)state;
    assert_int_equal(xc_sched_id(xch, &id), 0);
    assert_int_equal(id, XEN_SCHEDULER_CREDIT2);
}

static void test_cpupool_info_and_freeinfo(void **state)
{
    uint32_t d = new_domain(2);
    xc_cpupoolinfo_t *p;
    xc_cpumap_t free_map;

    (void)state;
    p = xc_cpupool_getinfo(xch, 0);
    assert_non_null(p);
    assert_int_equal(p->cpupool_id, 0);
    assert_int_equal(p->sched_id, XEN_SCHEDULER_CREDIT2);
    assert_int_equal(p->n_dom, 2);              /* domain 0 and d */
    assert_int_equal(xc_get_cpumap_size(xch), 1);
    assert_int_equal(p->cpumap[0], 0xff);
    xc_cpupool_infofree(xch, p);

    errno = 0;
    assert_null(xc_cpupool_getinfo(xch, 1));
    assert_int_equal(errno, ENOENT);

    free_map = xc_cpupool_freeinfo(xch);
    assert_non_null(free_map);
    assert_int_equal(free_map[0], 0);
    free(free_map);
    assert_int_equal(xc_domain_destroy(xch, d), 0);

    p = xc_cpupool_getinfo(xch, 0);
    assert_int_equal(p->n_dom, 1);
    xc_cpupool_infofree(xch, p);
}

static void test_cpupool_changes_fail_as_xen(void **state)
{
    uint32_t d = new_domain(1), id = 0;

    (void)state;
    assert_fails(xc_cpupool_create(xch, &id, XEN_SCHEDULER_CREDIT2), EEXIST);
    id = XC_CPUPOOL_POOLID_ANY;
    assert_fails(xc_cpupool_create(xch, &id, XEN_SCHEDULER_CREDIT2),
                 EOPNOTSUPP);
    assert_fails(xc_cpupool_destroy(xch, 0), EBUSY);
    assert_fails(xc_cpupool_destroy(xch, 5), ENOENT);
    assert_fails(xc_cpupool_addcpu(xch, 0, -1), ENODEV);
    assert_fails(xc_cpupool_addcpu(xch, 0, 3), ENODEV);
    assert_fails(xc_cpupool_addcpu(xch, 0, NR_CPUS), EINVAL);
    assert_fails(xc_cpupool_addcpu(xch, 2, 3), ENOENT);
    assert_fails(xc_cpupool_removecpu(xch, 0, 3), EOPNOTSUPP);
    assert_fails(xc_cpupool_removecpu(xch, 0, NR_CPUS), EINVAL);
    assert_fails(xc_cpupool_removecpu(xch, 1, 3), ENOENT);
    assert_int_equal(xc_cpupool_movedomain(xch, 0, d), 0);
    assert_fails(xc_cpupool_movedomain(xch, 1, d), ENOENT);
    assert_fails(xc_cpupool_movedomain(xch, 0, 0), EPERM);
    assert_fails(xc_cpupool_movedomain(xch, 0, 999), ESRCH);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

static void test_cputopoinfo(void **state)
{
    static const struct { uint32_t core, socket, node; } want[NR_CPUS] = {
        { 0, 0, 0 }, { 1, 0, 0 }, { 2, 0, 0 }, { 3, 0, 0 },
        { 0, 1, 1 }, { 1, 1, 1 },
        { 0, 2, 2 }, { 1, 2, 2 },
    };
    xc_cputopo_t topo[16];
    unsigned int n = 0;

    (void)state;
    /* NULL: only the count. */
    assert_int_equal(xc_cputopoinfo(xch, &n, NULL), 0);
    assert_int_equal(n, NR_CPUS);

    n = 16;
    memset(topo, 0xee, sizeof(topo));
    assert_int_equal(xc_cputopoinfo(xch, &n, topo), 0);
    assert_int_equal(n, NR_CPUS);               /* written back */
    for ( unsigned int i = 0; i < NR_CPUS; i++ )
    {
        assert_int_equal(topo[i].core, want[i].core);
        assert_int_equal(topo[i].socket, want[i].socket);
        assert_int_equal(topo[i].node, want[i].node);
    }

    /* Fewer than there are: that many, and the count stays. */
    n = 3;
    memset(topo, 0xee, sizeof(topo));
    assert_int_equal(xc_cputopoinfo(xch, &n, topo), 0);
    assert_int_equal(n, 3);
    assert_int_equal(topo[2].core, 2);
    assert_int_equal(topo[3].core, 0xeeeeeeee);
}

static void test_cputopoinfo_raw_sizes_and_faults(void **state)
{
    struct xen_sysctl op = sysctl_op(XEN_SYSCTL_cputopoinfo);

    (void)state;
    /* A buffer of 0 entries: nothing written, the count stays 0 (Xen only
     * reports the count for a NULL handle or a bigger buffer). */
    op.u.cputopoinfo.num_cpus = 0;
    set_xen_guest_handle_raw(op.u.cputopoinfo.cputopo, (void *)buf);
    assert_int_equal(raw(__HYPERVISOR_sysctl, &op, sizeof(op)), 0);
    assert_int_equal(op.u.cputopoinfo.num_cpus, 0);

    /* A bigger buffer: the entries past the last CPU are not touched
     * (libxenctrl's bounce buffer hides that). */
    memset(buf, 0xee, 16 * sizeof(xc_cputopo_t));
    op.u.cputopoinfo.num_cpus = 16;
    assert_int_equal(raw(__HYPERVISOR_sysctl, &op, sizeof(op)), 0);
    assert_int_equal(op.u.cputopoinfo.num_cpus, NR_CPUS);
    assert_int_equal(((xc_cputopo_t *)buf)[7].node, 2);
    assert_int_equal(((xc_cputopo_t *)buf)[8].core, 0xeeeeeeee);

    /* An unmapped buffer: EFAULT, the count not written back. */
    op.u.cputopoinfo.num_cpus = 64;
    set_xen_guest_handle_raw(op.u.cputopoinfo.cputopo, gone);
    assert_fails(raw(__HYPERVISOR_sysctl, &op, sizeof(op)), EFAULT);
    assert_int_equal(op.u.cputopoinfo.num_cpus, 64);
}

static void test_physinfo_is_complete(void **state)
{
    xc_physinfo_t pi;

    (void)state;
    assert_int_equal(xc_physinfo(xch, &pi), 0);
    assert_int_equal(pi.threads_per_core, 1);
    assert_int_equal(pi.cores_per_socket, 4);   /* CPU 0's socket */
    assert_int_equal(pi.nr_cpus, NR_CPUS);
    assert_int_equal(pi.max_cpu_id, NR_CPUS - 1);
    assert_int_equal(pi.nr_nodes, 3);
    assert_int_equal(pi.max_node_id, 63);       /* MAX_NUMNODES - 1 */
    assert_int_equal(pi.cpu_khz, 2000000);
    assert_int_equal(pi.total_pages, 2 * NODE_PAGES);
    assert_int_equal(pi.free_pages, 2 * NODE_PAGES);
    assert_int_equal(pi.scrub_pages, 0);
    assert_int_equal(pi.outstanding_pages, 0);
    assert_int_equal(pi.max_mfn, 2 * NODE_PAGES - 1);
    assert_int_equal(pi.capabilities,
                     XEN_SYSCTL_PHYSCAP_hvm | XEN_SYSCTL_PHYSCAP_hap |
                     XEN_SYSCTL_PHYSCAP_gnttab_v1 |
                     XEN_SYSCTL_PHYSCAP_gnttab_v2);
    assert_int_equal(xc_get_max_cpus(xch), NR_CPUS);
    assert_int_equal(xc_get_max_nodes(xch), 64);
}

/* ========================================================================
 * Domains: domain 0's record, node affinity, vCPUs
 * ======================================================================== */

static void test_domain0_is_running_with_a_vcpu_per_pcpu(void **state)
{
    xc_domaininfo_t di;
    xc_dominfo_t info;

    (void)state;
    assert_int_equal(xc_domain_getinfolist(xch, 0, 1, &di), 1);
    assert_int_equal(di.domain, 0);
    assert_int_equal(di.flags, XEN_DOMINF_hvm_guest | XEN_DOMINF_hap |
                               XEN_DOMINF_running);
    assert_int_equal(di.nr_online_vcpus, NR_CPUS);
    assert_int_equal(di.max_vcpu_id, NR_CPUS - 1);

    assert_int_equal(xc_domain_getinfo(xch, 0, 1, &info), 1);
    assert_int_equal(info.domid, 0);
    assert_true(info.running);
    assert_false(info.paused);
    assert_false(info.blocked);
    assert_false(info.dying);
    assert_int_equal(info.max_vcpu_id, NR_CPUS - 1);
}

static void test_node_getaffinity(void **state)
{
    uint32_t d = new_domain(1);
    xc_nodemap_t map = xc_nodemap_alloc(xch);

    (void)state;
    assert_non_null(map);
    assert_int_equal(xc_get_nodemap_size(xch), 8);
    assert_int_equal(xc_domain_node_getaffinity(xch, d, map), 0);
    assert_int_equal(map[0], 0x07);             /* every online node */
    for ( unsigned int i = 1; i < 8; i++ )
        assert_int_equal(map[i], 0);
    memset(map, 0, 8);
    map[0] = 0x02;
    assert_int_equal(xc_domain_node_setaffinity(xch, d, map), 0);
    memset(map, 0xff, 8);
    assert_int_equal(xc_domain_node_getaffinity(xch, d, map), 0);
    assert_int_equal(map[0], 0x02);
    assert_int_equal(map[7], 0);

    assert_int_equal(xc_domain_node_getaffinity(xch, 0, map), 0);
    assert_int_equal(map[0], 0x07);
    assert_fails(xc_domain_node_getaffinity(xch, 999, map), ESRCH);
    free(map);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
}

static void test_node_getaffinity_raw_sizes(void **state)
{
    struct xen_domctl op = domctl_op(XEN_DOMCTL_getnodeaffinity, 0);
    struct xenctl_bitmap *b = &op.u.nodeaffinity.nodemap;
    unsigned char *m = (unsigned char *)buf;

    (void)state;
    /* Longer than Xen's 64 bits: the first 8 bytes, zeros after. */
    memset(m, 0xff, 32);
    b->nr_bits = 128;
    set_xen_guest_handle_raw(b->bitmap, m);
    assert_int_equal(raw(__HYPERVISOR_domctl, &op, sizeof(op)), 0);
    assert_int_equal(m[0], 0x07);
    for ( unsigned int i = 1; i < 16; i++ )
        assert_int_equal(m[i], 0);
    assert_int_equal(m[16], 0xff);
    /* Shorter: whole bytes, min(guest, Xen) of them. */
    memset(m, 0xff, 32);
    b->nr_bits = 3;
    assert_int_equal(raw(__HYPERVISOR_domctl, &op, sizeof(op)), 0);
    assert_int_equal(m[0], 0x07);
    assert_int_equal(m[1], 0xff);
    /* No bits: nothing touched, even through NULL. */
    b->nr_bits = 0;
    set_xen_guest_handle_raw(b->bitmap, NULL);
    assert_int_equal(raw(__HYPERVISOR_domctl, &op, sizeof(op)), 0);
    /* Bad handles. */
    b->nr_bits = 64;
    assert_fails(raw(__HYPERVISOR_domctl, &op, sizeof(op)), EFAULT);
    set_xen_guest_handle_raw(b->bitmap, gone);
    assert_fails(raw(__HYPERVISOR_domctl, &op, sizeof(op)), EFAULT);
}

static void test_vcpu_getinfo(void **state)
{
    uint32_t d = new_domain(3);
    xc_vcpuinfo_t v;
    xc_nodemap_t map = xc_nodemap_alloc(xch);

    (void)state;
    /* Domain 0: vCPU v running on pCPU v. */
    for ( unsigned int i = 0; i < NR_CPUS; i++ )
    {
        memset(&v, 0xee, sizeof(v));
        assert_int_equal(xc_vcpu_getinfo(xch, 0, i, &v), 0);
        assert_int_equal(v.vcpu, i);
        assert_int_equal(v.online, 1);
        assert_int_equal(v.running, 1);
        assert_int_equal(v.blocked, 0);
        assert_int_equal(v.cpu, i);
        assert_int_equal(v.cpu_time, 0);
    }
    assert_fails(xc_vcpu_getinfo(xch, 0, NR_CPUS, &v), EINVAL);

    /* A new guest: paused, not running, its vCPUs on its nodes' CPUs. */
    assert_int_equal(xc_vcpu_getinfo(xch, d, 2, &v), 0);
    assert_int_equal(v.online, 1);
    assert_int_equal(v.running, 0);
    assert_int_equal(v.blocked, 0);
    assert_int_equal(v.cpu, 2);
    map[0] = 0x02;                              /* node 1: CPUs 4-5 */
    assert_int_equal(xc_domain_node_setaffinity(xch, d, map), 0);
    assert_int_equal(xc_vcpu_getinfo(xch, d, 0, &v), 0);
    assert_int_equal(v.cpu, 4);
    assert_int_equal(xc_vcpu_getinfo(xch, d, 1, &v), 0);
    assert_int_equal(v.cpu, 5);
    assert_int_equal(xc_vcpu_getinfo(xch, d, 2, &v), 0);
    assert_int_equal(v.cpu, 4);
    /* Unpaused, it runs nothing: blocked. */
    assert_int_equal(xc_domain_unpause(xch, d), 0);
    assert_int_equal(xc_vcpu_getinfo(xch, d, 2, &v), 0);
    assert_int_equal(v.blocked, 1);
    assert_int_equal(v.running, 0);

    assert_fails(xc_vcpu_getinfo(xch, d, 3, &v), EINVAL);
    assert_fails(xc_vcpu_getinfo(xch, 999, 0, &v), ESRCH);
    free(map);
    assert_int_equal(xc_domain_destroy(xch, d), 0);
    assert_fails(xc_vcpu_getinfo(xch, d, 0, &v), ESRCH);
}

/* ========================================================================
 * The console
 * ======================================================================== */

/* The index just past the newest byte. */
static uint32_t console_end(void)
{
    unsigned int n = RING;
    uint32_t index = 0;

    assert_int_equal(xc_readconsolering(xch, buf, &n, 0, 0, &index), 0);
    return index;
}

/* What was written since *index, NUL-terminated in buf. */
static const char *console_since(uint32_t *index)
{
    unsigned int n = RING;

    assert_int_equal(xc_readconsolering(xch, buf, &n, 0, 1, index), 0);
    buf[n] = '\0';
    return buf;
}

static void test_readconsole_boot_log_and_truncation(void **state)
{
    static const char boot[] =
        "(XEN) numaclaim: 3 nodes, 8 CPUs, 128.00 MiB of RAM\n"
        "(XEN) NUMA: node 0: 64.00 MiB in MFNs 0x0-0x3fff, CPUs 0-3\n"
        "(XEN) NUMA: node 1: 64.00 MiB in MFNs 0x4000-0x7fff, CPUs 4-5\n"
        "(XEN) NUMA: node 2: no memory, CPUs 6-7\n"
        "(XEN) d0: created, 8 vCPUs\n";
    unsigned int n = sizeof(boot) - 1;
    uint32_t index = 0;

    (void)state;
    /* The ring starts with the boot log (nothing cleared it yet: this is
     * the first console test). */
    assert_int_equal(xc_readconsolering(xch, buf, &n, 0, 0, &index), 0);
    assert_int_equal(n, sizeof(boot) - 1);
    assert_memory_equal(buf, boot, n);
    assert_int_equal(index, n);

    /* Truncated reads continue where they stopped. */
    index = 0;
    n = 10;
    assert_int_equal(xc_readconsolering(xch, buf, &n, 0, 1, &index), 0);
    assert_int_equal(n, 10);
    assert_int_equal(index, 10);
    assert_memory_equal(buf, "(XEN) numa", 10);
    n = 7;
    assert_int_equal(xc_readconsolering(xch, buf, &n, 0, 1, &index), 0);
    assert_int_equal(n, 7);
    assert_int_equal(index, 17);
    assert_memory_equal(buf, "claim: ", 7);
    /* Without an index pointer, libxenctrl reads from the oldest. */
    n = 5;
    assert_int_equal(xc_readconsolering(xch, buf, &n, 0, 1, NULL), 0);
    assert_memory_equal(buf, "(XEN)", 5);
    /* A zero-sized read copies nothing, even through NULL. */
    n = 0;
    index = 3;
    assert_int_equal(xc_readconsolering(xch, NULL, &n, 0, 1, &index), 0);
    assert_int_equal(n, 0);
    assert_int_equal(index, 3);
}

static void test_readconsole_incremental_shows_new_messages(void **state)
{
    uint32_t index = console_end(), d;

    (void)state;
    assert_string_equal(console_since(&index), "");
    d = new_domain(3);
    assert_string_equal(console_since(&index), "(XEN) d1: created, 3 vCPUs\n");
    assert_int_equal(xc_domain_destroy(xch, d), 0);
    assert_string_equal(console_since(&index), "(XEN) d1: destroyed\n");
}

static void test_readconsole_faults_lose_nothing(void **state)
{
    struct xen_sysctl op = sysctl_op(XEN_SYSCTL_readconsole);
    unsigned int n = RING;
    uint32_t end = console_end();

    (void)state;
    /* NULL through libxenctrl, unmapped raw: EFAULT, and with clear set
     * the ring is not cleared, nor count and index written back. */
    assert_fails(xc_readconsolering(xch, NULL, &n, 1, 0, NULL), EFAULT);
    op.u.readconsole.clear = 1;
    op.u.readconsole.count = 100;
    op.u.readconsole.index = 12345;
    set_xen_guest_handle_raw(op.u.readconsole.buffer, (char *)gone);
    assert_fails(raw(__HYPERVISOR_sysctl, &op, sizeof(op)), EFAULT);
    assert_int_equal(op.u.readconsole.count, 100);
    assert_int_equal(op.u.readconsole.index, 12345);
    assert_int_equal(console_end(), end);
    n = 6;
    assert_int_equal(xc_readconsolering(xch, buf, &n, 0, 0, NULL), 0);
    assert_int_equal(n, 6);
}

static void test_readconsole_clear(void **state)
{
    unsigned int n = RING;
    uint32_t index = 0, end;

    (void)state;
    assert_int_equal(xc_readconsolering(xch, buf, &n, 1, 0, &index), 0);
    assert_true(n > 0);
    end = index;
    /* Empty now; the index goes on counting. */
    n = RING;
    index = 0;
    assert_int_equal(xc_readconsolering(xch, buf, &n, 0, 0, &index), 0);
    assert_int_equal(n, 0);
    assert_int_equal(index, end);
    assert_int_equal(xc_send_debug_keys(xch, "z"), 0);   /* no handler */
    assert_int_equal(console_end(), end);
    assert_int_equal(xc_send_debug_keys(xch, "q"), 0);
    n = RING;
    index = 0;
    assert_int_equal(xc_readconsolering(xch, buf, &n, 0, 0, &index), 0);
    buf[n] = '\0';
    assert_string_equal(buf,
        "(XEN) 'q' pressed: domains\n"
        "(XEN) d0: running, 8 vCPUs, tot_pages 0, max_pages 0, "
        "outstanding 0, node affinity 0x7\n");
    assert_int_equal(index, end + n);
}

static void test_readconsole_full_ring_keeps_the_newest(void **state)
{
    char keys[101];
    unsigned int n = RING;
    uint32_t start = console_end(), index, total;
    size_t hlen;

    (void)state;
    /* One 'h' dump, to know its length. */
    assert_int_equal(xc_send_debug_keys(xch, "h"), 0);
    index = start;
    hlen = strlen(console_since(&index));
    assert_true(hlen > 300);

    /* 100 more: far more than the ring holds. */
    memset(keys, 'h', 100);
    keys[100] = '\0';
    assert_int_equal(xc_send_debug_keys(xch, keys), 0);
    total = (uint32_t)(101 * hlen);
    assert_true(total > 2 * RING);

    index = 0;
    assert_int_equal(xc_readconsolering(xch, buf, &n, 0, 0, &index), 0);
    assert_int_equal(n, RING);
    assert_int_equal(index, start + total);
    /* The newest byte ends the last dump's last line. */
    buf[n] = '\0';
    assert_int_equal(buf[n - 1], '\n');
    assert_non_null(strstr(buf + n - 100, "=> domains: pages, claims, vCPUs, "
                                          "state\n"));
    /* The oldest kept byte is the newest minus the ring size: reading
     * from an index that was overwritten starts there. */
    index = start;
    n = 32;
    assert_int_equal(xc_readconsolering(xch, buf, &n, 0, 1, &index), 0);
    assert_int_equal(n, 32);
    assert_int_equal(index, start + total - RING + 32);
}

static void test_debug_keys_raw_faults(void **state)
{
    struct xen_sysctl op = sysctl_op(XEN_SYSCTL_debug_keys);
    char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint32_t index = console_end();

    (void)state;
    assert_true(two != MAP_FAILED);
    assert_int_equal(munmap(two + 4096, 4096), 0);
    /* 'q' is the last readable byte: it runs, then the next one faults. */
    two[4095] = 'q';
    op.u.debug_keys.nr_keys = 2;
    set_xen_guest_handle_raw(op.u.debug_keys.keys, two + 4095);
    assert_fails(raw(__HYPERVISOR_sysctl, &op, sizeof(op)), EFAULT);
    assert_non_null(strstr(console_since(&index), "(XEN) 'q' pressed: "
                                                  "domains\n"));
    /* No keys: nothing, even through NULL. */
    op.u.debug_keys.nr_keys = 0;
    set_xen_guest_handle_raw(op.u.debug_keys.keys, NULL);
    assert_int_equal(raw(__HYPERVISOR_sysctl, &op, sizeof(op)), 0);
    op.u.debug_keys.nr_keys = 1;
    assert_fails(raw(__HYPERVISOR_sysctl, &op, sizeof(op)), EFAULT);
    assert_string_equal(console_since(&index), "");
    munmap(two, 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_strings),
        cmocka_unit_test(test_version_features_pagesize_handle),
        cmocka_unit_test(test_version_raw_errors),
        cmocka_unit_test(test_sched_id_is_credit2),
        cmocka_unit_test(test_cpupool_info_and_freeinfo),
        cmocka_unit_test(test_cpupool_changes_fail_as_xen),
        cmocka_unit_test(test_cputopoinfo),
        cmocka_unit_test(test_cputopoinfo_raw_sizes_and_faults),
        cmocka_unit_test(test_physinfo_is_complete),
        cmocka_unit_test(test_domain0_is_running_with_a_vcpu_per_pcpu),
        cmocka_unit_test(test_node_getaffinity),
        cmocka_unit_test(test_node_getaffinity_raw_sizes),
        cmocka_unit_test(test_vcpu_getinfo),
        /* The console tests last, the first of them expecting the boot
         * log still whole: the domains above wrote far less than 16 KiB. */
        cmocka_unit_test(test_readconsole_boot_log_and_truncation),
        cmocka_unit_test(test_readconsole_incremental_shows_new_messages),
        cmocka_unit_test(test_readconsole_faults_lose_nothing),
        cmocka_unit_test(test_readconsole_clear),
        cmocka_unit_test(test_readconsole_full_ring_keeps_the_newest),
        cmocka_unit_test(test_debug_keys_raw_faults),
    };

    return cmocka_run_group_tests_name("xl-calls", tests, open_xc, close_xc);
}
