/* SPDX-License-Identifier: MIT */
/*
 * __HYPERVISOR_sysctl: struct xen_sysctl from Debian's 4.17 headers
 * (interface version 0x15), plus numaclaim's host overview.
 *
 * Modelled: physinfo, numainfo, availheap, page_offline_op,
 * getdomaininfolist, pcitopoinfo and
 * claim_overview, and (platform.c) sched_id, cpupool_op, cputopoinfo,
 * readconsole and debug_keys.  Anything else is -ENOSYS.
 */
#include <errno.h>
#include <string.h>

#include "decode.h"

/*
 * As Xen 4.17: threads and cores are those of CPU 0's socket (here its
 * node: one socket per node, one thread per core, platform.c), nr_nodes
 * counts online nodes, max_node_id is MAX_NUMNODES - 1 and max_cpu_id
 * nr_cpu_ids - 1.  HVM with HAP and grant tables v1 and v2, no PV: the
 * host runs HVM guests and a PVH domain 0.  Nothing is ever scrubbed.
 */
static long physinfo(struct nc_host *h, struct xen_sysctl_physinfo *pi)
{
    struct nc_host_info hi;
    struct xen_topology t;

    nc_host_overview(h, &hi, NULL, 0);
    read_topology(h, &t);
    memset(pi, 0, sizeof(*pi));
    pi->threads_per_core = 1;
    pi->cores_per_socket = t.cpus[topology_cpu_node(&t, 0)];
    pi->nr_cpus = hi.nr_cpus;
    pi->max_cpu_id = hi.nr_cpus - 1;
    pi->nr_nodes = t.nr_online_nodes;
    pi->max_node_id = NC_MAX_NUMNODES - 1;
    pi->cpu_khz = 2000000;
    pi->capabilities = XEN_SYSCTL_PHYSCAP_hvm | XEN_SYSCTL_PHYSCAP_hap |
                       XEN_SYSCTL_PHYSCAP_gnttab_v1 |
                       XEN_SYSCTL_PHYSCAP_gnttab_v2;
    pi->total_pages = hi.total_pages;
    pi->free_pages = hi.total_avail;
    pi->scrub_pages = 0;
    pi->outstanding_pages = hi.outstanding_claims;
    pi->max_mfn = hi.max_mfn;
    return 0;
}

/* As Xen: with both handles NULL, only the node count; otherwise up to
 * num_nodes nodes, the count written back if it differs. */
static long numainfo(struct nc_host *h, struct xen_sysctl_numainfo *ni,
                     bool *copyback)
{
    struct nc_node_info nodes[NC_MAX_NUMNODES];
    struct nc_host_info hi;
    uint32_t n, i;

    nc_host_overview(h, &hi, nodes, NC_MAX_NUMNODES);
    n = hi.nr_nodes;
    if ( HADDR(ni->meminfo) || HADDR(ni->distance) )
    {
        /* Node i's meminfo then its distance row, node by node, as Xen
         * copies them, in one gathered copy. */
        xen_sysctl_meminfo_t m[NC_MAX_NUMNODES];
        /* Row i at i * n, as in the guest's array: with no meminfo the
         * rows are one run on both sides. */
        uint32_t row[NC_MAX_NUMNODES * NC_MAX_NUMNODES];
        struct guest_copy c[2 * NC_MAX_NUMNODES];
        unsigned int k = 0;

        if ( n > ni->num_nodes )
            n = ni->num_nodes;
        for ( i = 0; i < n; i++ )
        {
            if ( HADDR(ni->meminfo) )
            {
                m[i] = (xen_sysctl_meminfo_t){
                    .memsize = nodes[i].online ? nodes[i].size << NC_PAGE_SHIFT
                                               : XEN_INVALID_MEM_SZ,
                    .memfree = nodes[i].online ? nodes[i].free << NC_PAGE_SHIFT
                                               : XEN_INVALID_MEM_SZ,
                };
                c[k++] = (struct guest_copy){
                    .gaddr = HADDR(ni->meminfo) + i * sizeof(m[i]),
                    .local = &m[i], .len = sizeof(m[i]) };
            }
            if ( HADDR(ni->distance) )
            {
                for ( uint32_t j = 0; j < n; j++ )
                    row[i * n + j] = nc_host_distance(h, i, j);
                c[k++] = (struct guest_copy){
                    .gaddr = HADDR(ni->distance) +
                             (uint64_t)i * n * sizeof(row[0]),
                    .local = &row[i * n], .len = n * sizeof(row[0]) };
            }
        }
        if ( copy_to_guest_v(c, k) )
            return -EFAULT;
    }
    if ( ni->num_nodes != n )
    {
        ni->num_nodes = n;
        *copyback = true;
    }
    return 0;
}

static long page_offline_op(struct nc_host *h, nc_domid_t caller,
                            struct xen_sysctl_page_offline_op *op)
{
    uint32_t status;
    long rc = 0;

    if ( op->end < op->start )
        return -EINVAL;
    for ( uint64_t mfn = op->start; mfn <= op->end; mfn++ )
    {
        status = NC_PG_OFFLINE_INVALID;
        switch ( op->cmd )
        {
        case sysctl_page_offline:
            rc = nc_page_offline(h, caller, mfn, false, &status);
            break;

        case sysctl_page_online:
            rc = nc_page_online(h, caller, mfn, &status);
            break;

        case sysctl_query_page_offline:
            rc = nc_page_query(h, caller, mfn, &status);
            break;

        default:
            return -EINVAL;
        }
        /* A broken frame refusing to come online still reports why. */
        if ( rc && !(rc == -EINVAL && op->cmd == sysctl_page_online &&
                     (status & NC_PG_ONLINE_BROKEN)) )
            return rc;
        if ( copy_to_guest(HADDR(op->status) + (mfn - op->start) * 4, &status,
                           sizeof(status)) )
            return -EFAULT;
        if ( rc )
            return rc;
    }
    return 0;
}

static long getdomaininfolist(struct nc_host *h,
                              struct xen_sysctl_getdomaininfolist *l)
{
    /* The entries go out in batches, one copy each. */
    xen_domctl_getdomaininfo_t o[32];
    uint32_t n = 0, k = 0;

    for ( uint32_t id = nc_domain_next(h, l->first_domain);
          id < NC_DOMID_FIRST_RESERVED && n + k < l->max_domains;
          id = nc_domain_next(h, id + 1) )
    {
        struct nc_domain_info i;

        if ( nc_domain_getinfo(h, (nc_domid_t)id, &i) )
            continue;               /* destroyed meanwhile */
        fill_domaininfo(&i, &o[k++]);
        if ( k == sizeof(o) / sizeof(o[0]) )
        {
            if ( copy_to_guest(HADDR(l->buffer) + n * sizeof(o[0]), o,
                               k * sizeof(o[0])) )
                return -EFAULT;
            n += k;
            k = 0;
        }
    }
    if ( k && copy_to_guest(HADDR(l->buffer) + n * sizeof(o[0]), o,
                            k * sizeof(o[0])) )
        return -EFAULT;
    l->num_domains = n + k;
    return 0;
}

_Static_assert(sizeof(struct xen_sysctl_claim_overview) <= 128,
               "the overview must fit the sysctl union");

static long claim_overview(struct nc_host *h,
                           struct xen_sysctl_claim_overview *o)
{
    struct nc_node_info nodes[NC_MAX_NUMNODES];
    struct nc_host_info hi;
    uint32_t n;

    if ( o->pad )
        return -EINVAL;
    nc_host_overview(h, &hi, nodes, NC_MAX_NUMNODES);
    n = hi.nr_nodes < o->num_nodes ? hi.nr_nodes : o->num_nodes;
    if ( HADDR(o->nodes) && n )
    {
        xen_sysctl_node_claims_t c[NC_MAX_NUMNODES];

        for ( uint32_t i = 0; i < n; i++ )
            c[i] = (xen_sysctl_node_claims_t){
                .size = nodes[i].size,
                .free = nodes[i].free,
                .claimed = nodes[i].claimed,
            };
        if ( copy_to_guest(HADDR(o->nodes), c, n * sizeof(c[0])) )
            return -EFAULT;
    }
    o->num_nodes = hi.nr_nodes;
    o->total_pages = hi.total_pages;
    o->free_pages = hi.total_avail;
    o->outstanding_pages = hi.outstanding_claims;
    return 0;
}

/* As Xen's XEN_SYSCTL_pcitopoinfo: the simulated host has no PCI devices,
 * so every device asked about is unknown to it, XEN_INVALID_DEV; each
 * device is read, as Xen does, before its node is written. */
static long pcitopoinfo(struct xen_sysctl_pcitopoinfo *ti)
{
    const uint32_t node = XEN_INVALID_DEV;

    if ( !HADDR(ti->devs) || !HADDR(ti->nodes) )
        return -EINVAL;
    for ( uint32_t i = 0; i < ti->num_devs; i++ )
    {
        physdev_pci_device_t dev;

        if ( copy_from_guest(&dev, HADDR(ti->devs) +
                                   (uint64_t)i * sizeof(dev), sizeof(dev)) ||
             copy_to_guest(HADDR(ti->nodes) + (uint64_t)i * sizeof(node),
                           &node, sizeof(node)) )
            return -EFAULT;
    }
    return 0;
}

long do_sysctl(struct nc_host *h, nc_domid_t caller, uint64_t uarg)
{
    struct xen_sysctl op;
    bool copyback = true;
    long rc;

    if ( copy_from_guest(&op, uarg, sizeof(op)) )
        return -EFAULT;
    if ( op.interface_version != XEN_SYSCTL_INTERFACE_VERSION )
        return -EACCES;
    if ( caller != NC_DOMID_CONTROL )
        return -EPERM;

    switch ( op.cmd )
    {
    case XEN_SYSCTL_physinfo:
        rc = physinfo(h, &op.u.physinfo);
        break;

    case XEN_SYSCTL_numainfo:
        copyback = false;
        rc = numainfo(h, &op.u.numainfo, &copyback);
        break;

    case XEN_SYSCTL_page_offline_op:
        copyback = false;
        rc = page_offline_op(h, caller, &op.u.page_offline);
        break;

    case XEN_SYSCTL_getdomaininfolist:
        rc = getdomaininfolist(h, &op.u.getdomaininfolist);
        break;

    case XEN_SYSCTL_pcitopoinfo:
        /* Xen writes num_devs back only when it stopped early. */
        copyback = false;
        rc = pcitopoinfo(&op.u.pcitopoinfo);
        break;

    case XEN_SYSCTL_availheap:
        op.u.availheap.avail_bytes =
            nc_host_avail_heap(h, op.u.availheap.node,
                               op.u.availheap.min_bitwidth,
                               op.u.availheap.max_bitwidth) << NC_PAGE_SHIFT;
        rc = 0;
        break;

    /* Xen copies these back only when they succeed. */
    case XEN_SYSCTL_sched_id:
        op.u.sched_id.sched_id = XEN_SCHEDULER_CREDIT2;
        rc = 0;
        break;

    case XEN_SYSCTL_cpupool_op:
        rc = sysctl_cpupool_op(h, caller, &op.u.cpupool_op);
        copyback = !rc;
        break;

    case XEN_SYSCTL_cputopoinfo:
        rc = sysctl_cputopoinfo(h, &op.u.cputopoinfo);
        copyback = !rc;
        break;

    case XEN_SYSCTL_readconsole:
        rc = sysctl_readconsole(h, &op.u.readconsole);
        copyback = !rc;
        break;

    case XEN_SYSCTL_debug_keys:
        copyback = false;
        rc = sysctl_debug_keys(h, &op.u.debug_keys);
        break;

    case XEN_SYSCTL_check_invariants:
    {
        struct xen_sysctl_check_invariants *c = (void *)&op.u;

        _Static_assert(sizeof(*c) <= 128, "check must fit the sysctl union");
        if ( c->pad || (c->level != NC_CHECK_COUNTERS &&
                        c->level != NC_CHECK_FRAMES) )
            return -EINVAL;
        rc = nc_host_check(h, (int)c->level, c->why, sizeof(c->why));
        if ( !rc )
            c->why[0] = '\0';
        break;
    }

    case XEN_SYSCTL_claim_overview:
        rc = claim_overview(h, (void *)&op.u);
        break;

    default:
        return -ENOSYS;
    }
    if ( copyback && copy_to_guest(uarg, &op, sizeof(op)) )
        rc = -EFAULT;
    return rc;
}
