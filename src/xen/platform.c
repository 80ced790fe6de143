/* SPDX-License-Identifier: MIT */
/*
 * The host's CPUs, scheduler, CPU pool and console as Xen 4.17's sysctls
 * and domctls show them: sched_id, cpupool_op, cputopoinfo, readconsole,
 * debug_keys, and the per-domain getnodeaffinity, getvcpuinfo and
 * getvcpuaffinity.
 *
 * CPU layout (nothing runs, but toolstacks size their maps by it): pCPUs
 * are numbered node by node, node 0's first; each node with CPUs is one
 * socket whose id is the node's, one thread per core, core ids counting
 * from 0 within the socket.  One scheduler, credit2 (Xen 4.17's default),
 * and one CPU pool, pool 0, that holds every pCPU and every domain.
 * vCPUs: every vCPU below max_vcpus is up (numaclaim keeps no vCPU
 * contexts); domain 0's run, vCPU v on pCPU v; a guest's run nothing and
 * sit on the CPUs of their domain's node affinity in turn, blocked when
 * the domain is unpaused.  cpu_time is 0: nothing is ever scheduled.
 * No vCPU is ever pinned: every vCPU's hard and soft affinity is every
 * pCPU, Xen's default at vCPU creation (getvcpuaffinity).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/* ========================================================================
 * Topology
 * ======================================================================== */

void read_topology(struct nc_host *h, struct xen_topology *t)
{
    struct nc_node_info nodes[NC_MAX_NUMNODES];
    struct nc_host_info hi;

    nc_host_overview(h, &hi, nodes, NC_MAX_NUMNODES);
    memset(t, 0, sizeof(*t));
    t->nr_cpus = hi.nr_cpus;
    t->nr_nodes = hi.nr_nodes;
    for ( uint32_t n = 0; n < hi.nr_nodes; n++ )
    {
        t->cpus[n] = nodes[n].cpus;
        t->first_cpu[n] = nodes[n].first_cpu;
        if ( nodes[n].online )
            t->nr_online_nodes++;
    }
}

uint32_t topology_cpu_node(const struct xen_topology *t, uint32_t cpu)
{
    for ( uint32_t n = 0; n < t->nr_nodes; n++ )
        if ( cpu >= t->first_cpu[n] && cpu - t->first_cpu[n] < t->cpus[n] )
            return n;
    return NC_NUMA_NO_NODE;
}

/*
 * Xen's bitmap_to_xenctl_bitmap(): the first min(guest, Xen) bytes of the
 * map, then zeros for the rest of the guest's nr_bits.
 */
static long bitmap_to_guest(const struct xenctl_bitmap *b,
                            const uint8_t *bytes, uint32_t nbytes)
{
    static const uint8_t zeros[4096];
    uint64_t guest = ((uint64_t)b->nr_bits + 7) / 8;
    uint64_t copy = guest < nbytes ? guest : nbytes;

    if ( copy && copy_to_guest(HADDR(b->bitmap), bytes, copy) )
        return -EFAULT;
    for ( uint64_t off = copy; off < guest; off += sizeof(zeros) )
    {
        uint64_t n = guest - off < sizeof(zeros) ? guest - off
                                                 : sizeof(zeros);

        if ( copy_to_guest(HADDR(b->bitmap) + off, zeros, n) )
            return -EFAULT;
    }
    return 0;
}

/* Every pCPU set, Xen's nr_cpu_ids bits. */
static long all_cpus_to_guest(const struct xen_topology *t,
                              const struct xenctl_bitmap *b)
{
    uint32_t nbytes = (t->nr_cpus + 7) / 8;
    uint8_t map[(NC_MAX_CPUS + 7) / 8];

    memset(map, 0xff, nbytes);
    if ( t->nr_cpus % 8 )
        map[nbytes - 1] = (uint8_t)((1u << (t->nr_cpus % 8)) - 1);
    return bitmap_to_guest(b, map, nbytes);
}

/* ========================================================================
 * Sysctls
 * ======================================================================== */

/* As Xen: with a NULL handle, only the count; otherwise up to num_cpus
 * entries, the count written back when fewer exist. */
long sysctl_cputopoinfo(struct nc_host *h, struct xen_sysctl_cputopoinfo *ti)
{
    struct xen_topology t;
    uint32_t num;

    read_topology(h, &t);
    num = t.nr_cpus;
    if ( HADDR(ti->cputopo) )
    {
        xen_sysctl_cputopo_t chunk[256];
        uint32_t node = NC_NUMA_NO_NODE;

        if ( num > ti->num_cpus )
            num = ti->num_cpus;
        for ( uint32_t i = 0; i < num; i += 256 )
        {
            uint32_t n = num - i < 256 ? num - i : 256;

            for ( uint32_t j = 0; j < n; j++ )
            {
                uint32_t c = i + j;

                /* CPUs are numbered node by node: look the node up only
                 * when c leaves the previous CPU's. */
                if ( node == NC_NUMA_NO_NODE || c < t.first_cpu[node] ||
                     c - t.first_cpu[node] >= t.cpus[node] )
                    node = topology_cpu_node(&t, c);
                chunk[j] = (xen_sysctl_cputopo_t){
                    .core = i + j - t.first_cpu[node],
                    .socket = node,
                    .node = node,
                };
            }
            if ( copy_to_guest(HADDR(ti->cputopo) + (uint64_t)i *
                                   sizeof(chunk[0]),
                               chunk, n * sizeof(chunk[0])) )
                return -EFAULT;
        }
    }
    ti->num_cpus = num;
    return 0;
}

/*
 * Pool 0 holds every pCPU and every domain, and none can be added or
 * taken away.  Errors as Xen's cpupool_do_sysctl(): a pool that does not
 * exist is -ENOENT; INFO answers for the first pool >= the id asked; there
 * are no free CPUs to add (-ENODEV) and pool 0 cannot be destroyed while it
 * has CPUs and domains (-EBUSY).  Creating a pool or removing a CPU, which
 * Xen would do, is -EOPNOTSUPP: numaclaim models one pool.
 */
long sysctl_cpupool_op(struct nc_host *h, nc_domid_t caller,
                       struct xen_sysctl_cpupool_op *op)
{
    struct xen_topology t;
    struct nc_domain_info di;
    struct nc_host_info hi;

    read_topology(h, &t);
    switch ( op->op )
    {
    case XEN_SYSCTL_CPUPOOL_OP_CREATE:
        return op->cpupool_id == 0 ? -EEXIST : -EOPNOTSUPP;

    case XEN_SYSCTL_CPUPOOL_OP_DESTROY:
        return op->cpupool_id == 0 ? -EBUSY : -ENOENT;

    case XEN_SYSCTL_CPUPOOL_OP_INFO:
        if ( op->cpupool_id != 0 )
            return -ENOENT;
        nc_host_overview(h, &hi, NULL, 0);
        op->sched_id = XEN_SCHEDULER_CREDIT2;
        op->n_dom = hi.nr_domains + 1;          /* domain 0 too */
        return all_cpus_to_guest(&t, &op->cpumap);

    case XEN_SYSCTL_CPUPOOL_OP_ADDCPU:
        if ( op->cpupool_id != 0 )
            return -ENOENT;
        if ( op->cpu == XEN_SYSCTL_CPUPOOL_PAR_ANY )
            return -ENODEV;                     /* no free CPU */
        return op->cpu >= t.nr_cpus ? -EINVAL : -ENODEV;

    case XEN_SYSCTL_CPUPOOL_OP_RMCPU:
        if ( op->cpupool_id != 0 )
            return -ENOENT;
        if ( op->cpu != XEN_SYSCTL_CPUPOOL_PAR_ANY && op->cpu >= t.nr_cpus )
            return -EINVAL;
        return -EOPNOTSUPP;

    case XEN_SYSCTL_CPUPOOL_OP_MOVEDOMAIN:
        /* A remote domain only: the caller cannot move itself. */
        if ( op->domid == caller )
            return -EPERM;
        if ( op->domid >= NC_DOMID_FIRST_RESERVED ||
             nc_domain_getinfo(h, (nc_domid_t)op->domid, &di) )
            return -ESRCH;
        return op->cpupool_id == 0 ? 0 : -ENOENT;

    case XEN_SYSCTL_CPUPOOL_OP_FREEINFO:
        return bitmap_to_guest(&op->cpumap, NULL, 0);

    default:
        return -ENOSYS;
    }
}

/* As Xen's read_console_ring(): the bytes go out before anything is
 * cleared, so a bad buffer (-EFAULT) loses nothing. */
long sysctl_readconsole(struct nc_host *h, struct xen_sysctl_readconsole *r)
{
    uint32_t max = r->count < NC_CONSOLE_SIZE ? r->count : NC_CONSOLE_SIZE;
    uint32_t index = r->index, count;
    char *buf = nc_zalloc(max);

    if ( !buf )
        return -ENOMEM;
    nc_console_read(h, buf, max, &index,
                    r->incremental ? NC_CONSOLE_INCREMENTAL : 0, &count);
    if ( count && copy_to_guest(HADDR(r->buffer), buf, count) )
    {
        nc_free(buf);
        return -EFAULT;
    }
    nc_free(buf);
    if ( r->clear )
        nc_console_clear(h, index);
    r->count = count;
    r->index = index;
    return 0;
}

/* Each key in turn, as Xen; a key that cannot be read ends it (-EFAULT)
 * after the keys before it have run. */
long sysctl_debug_keys(struct nc_host *h, struct xen_sysctl_debug_keys *k)
{
    for ( uint32_t i = 0; i < k->nr_keys; i++ )
    {
        char c;

        if ( copy_from_guest(&c, HADDR(k->keys) + i, 1) )
            return -EFAULT;
        nc_debug_key(h, c);
    }
    return 0;
}

/* ========================================================================
 * Domctls
 * ======================================================================== */

/* The node affinity as Xen's nodemask_to_xenctl_bitmap(): MAX_NUMNODES
 * (64) bits. */
long domctl_getnodeaffinity(struct nc_host *h, nc_domid_t caller,
                            struct xen_domctl *op)
{
    struct nc_domain_info di;
    uint8_t map[NC_MAX_NUMNODES / 8];

    if ( caller != NC_DOMID_CONTROL )
        return -EPERM;
    if ( nc_domain_getinfo(h, op->domain, &di) )
        return -ESRCH;
    for ( unsigned int i = 0; i < sizeof(map); i++ )
        map[i] = (uint8_t)(di.node_affinity >> (8 * i));
    return bitmap_to_guest(&op->u.nodeaffinity.nodemap, map, sizeof(map));
}


/* The vCPU a privileged vCPU query names: the domain's info in *di, or
 * -EPERM, -ESRCH, or -EINVAL for a vCPU beyond max_vcpus, in that order. */
static long vcpu_target(struct nc_host *h, nc_domid_t caller, domid_t domid,
                        uint32_t vcpu, struct nc_domain_info *di)
{
    if ( caller != NC_DOMID_CONTROL )
        return -EPERM;
    if ( nc_domain_getinfo(h, domid, di) )
        return -ESRCH;
    if ( vcpu >= di->max_vcpus )
        return -EINVAL;
    return 0;
}

/* The pCPU a vCPU sits on (see the top of this file). */
static uint32_t vcpu_processor(const struct xen_topology *t,
                               const struct nc_domain_info *di, uint32_t v)
{
    uint32_t nr = 0, k;

    if ( di->domid == NC_DOMID_CONTROL || t->nr_cpus == 0 )
        return t->nr_cpus ? v % t->nr_cpus : 0;
    for ( uint32_t n = 0; n < t->nr_nodes; n++ )
        if ( di->node_affinity & (1ULL << n) )
            nr += t->cpus[n];
    if ( nr == 0 )                      /* affinity nodes have no CPUs */
        return v % t->nr_cpus;
    k = v % nr;
    for ( uint32_t n = 0; n < t->nr_nodes; n++ )
    {
        if ( !(di->node_affinity & (1ULL << n)) )
            continue;
        if ( k < t->cpus[n] )
            return t->first_cpu[n] + k;
        k -= t->cpus[n];
    }
    return 0;                           /* not reached */
}

long domctl_getvcpuinfo(struct nc_host *h, nc_domid_t caller,
                        struct xen_domctl *op, bool *copyback)
{
    struct xen_domctl_getvcpuinfo *u = &op->u.getvcpuinfo;
    struct nc_domain_info di;
    struct xen_topology t;
    long rc = vcpu_target(h, caller, op->domain, u->vcpu, &di);
    bool dom0;

    if ( rc )
        return rc;
    read_topology(h, &t);
    dom0 = di.domid == NC_DOMID_CONTROL;
    u->online = 1;
    u->running = dom0;
    u->blocked = !dom0 && !di.dying && !di.pause_count;
    u->cpu_time = 0;
    u->cpu = vcpu_processor(&t, &di, u->vcpu);
    *copyback = true;
    return 0;
}

/* As Xen's vcpu_affinity_domctl() for XEN_DOMCTL_getvcpuaffinity: the
 * masks asked for by flags, each Xen's nr_cpu_ids bits; both are all
 * pCPUs (see the top of this file). */
long domctl_getvcpuaffinity(struct nc_host *h, nc_domid_t caller,
                            struct xen_domctl *op)
{
    struct xen_domctl_vcpuaffinity *u = &op->u.vcpuaffinity;
    struct nc_domain_info di;
    struct xen_topology t;
    long rc = vcpu_target(h, caller, op->domain, u->vcpu, &di);

    if ( rc )
        return rc;
    if ( !(u->flags & (XEN_VCPUAFFINITY_HARD | XEN_VCPUAFFINITY_SOFT)) )
        return -EINVAL;
    read_topology(h, &t);
    if ( u->flags & XEN_VCPUAFFINITY_HARD )
        rc = all_cpus_to_guest(&t, &u->cpumap_hard);
    if ( !rc && (u->flags & XEN_VCPUAFFINITY_SOFT) )
        rc = all_cpus_to_guest(&t, &u->cpumap_soft);
    return rc;
}
