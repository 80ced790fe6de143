/* SPDX-License-Identifier: MIT */
/*
 * __HYPERVISOR_memory_op: reservations, claims and vNUMA queries.
 *
 * Modelled sub-ops: increase_reservation, decrease_reservation,
 * populate_physmap, claim_pages and get_vnumainfo.  As in Xen, the
 * reservation sub-ops return the number of extents done (a failure shows
 * as a short count), continuing from the start extent encoded in the
 * command's upper bits; the others return 0 or -errno.
 *
 * numaclaim has no owned-but-unmapped pages (I7), so increase_reservation
 * takes gpfns in extent_start exactly like populate_physmap; with a NULL
 * extent_start it can place nothing and returns 0.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "decode.h"

#define MEMOP_EXTENT_SHIFT 6
#define MEMOP_CMD_MASK     ((1u << MEMOP_EXTENT_SHIFT) - 1)

static struct nc_memflags decode_memflags(unsigned int f)
{
    uint32_t node = XENMEMF_get_node(f);

    return (struct nc_memflags){
        .node = node == 0xffu ? NC_NUMA_NO_NODE : node,
        .exact = (f & XENMEMF_exact_node_request) && node != 0xffu,
        .vnode = f & XENMEMF_vnode,
        .address_bits = (uint8_t)XENMEMF_get_address_bits(f),
    };
}

static nc_domid_t target_domid(nc_domid_t caller, domid_t domid)
{
    return domid == DOMID_SELF ? caller : domid;
}

static long reservation(struct nc_host *h, nc_domid_t caller, unsigned int op,
                        uint64_t start, uint64_t uarg)
{
    struct xen_memory_reservation r;
    struct nc_memflags f;
    nc_domid_t domid;
    uint64_t i;

    if ( copy_from_guest(&r, uarg, sizeof(r)) )
        return (long)start;
    if ( r.nr_extents > (UINT32_MAX >> MEMOP_EXTENT_SHIFT) ||
         start > r.nr_extents )
        return (long)start;
    if ( r.mem_flags & XENMEMF_populate_on_demand )
    {
        static atomic_flag said = ATOMIC_FLAG_INIT;

        if ( !atomic_flag_test_and_set(&said) )
            fprintf(stderr, "numaclaim: populate-on-demand is not "
                            "supported; such extents fail\n");
        return (long)start;
    }
    domid = target_domid(caller, r.domid);
    f = decode_memflags(r.mem_flags);

    for ( i = start; i < r.nr_extents; )
    {
        /* The extent list is read a batch at a time. */
        xen_pfn_t gpfn[512];
        uint64_t n = r.nr_extents - i < 512 ? r.nr_extents - i : 512;

        if ( !HADDR(r.extent_start) ||
             copy_from_guest(gpfn, HADDR(r.extent_start) + i * sizeof(gpfn[0]),
                             n * sizeof(gpfn[0])) )
            break;
        for ( uint64_t k = 0; k < n; k++, i++ )
        {
            int rc = op == XENMEM_decrease_reservation
                     ? nc_depopulate(h, caller, domid, gpfn[k], r.extent_order)
                     : nc_populate(h, caller, domid, gpfn[k], r.extent_order,
                                   f, NULL);

            if ( rc )
                return (long)i;
        }
    }
    return (long)i;
}

/* XENMEM_claim_pages: the reservation's other fields must be unused. */
static long claim_pages(struct nc_host *h, nc_domid_t caller, uint64_t start,
                        uint64_t uarg)
{
    struct xen_memory_reservation r;

    if ( start )
        return -EINVAL;
    if ( copy_from_guest(&r, uarg, sizeof(r)) )
        return -EFAULT;
    if ( HADDR(r.extent_start) || r.extent_order || r.mem_flags )
        return -EINVAL;
    return nc_claim_pages(h, caller, r.domid, r.nr_extents);
}

static long get_vnumainfo(struct nc_host *h, nc_domid_t caller, uint64_t start,
                          uint64_t uarg)
{
    struct xen_vnuma_topology_info t;
    struct nc_vnuma_out out;
    long rc;

    if ( start )
        return -EINVAL;
    if ( copy_from_guest(&t, uarg, sizeof(t)) )
        return -EFAULT;
    if ( t.pad )
        return -EINVAL;

    /* Buffers no larger than any topology can be. */
    out.nr_vnodes = t.nr_vnodes < NC_VNUMA_MAX_VNODES ? t.nr_vnodes
                                                      : NC_VNUMA_MAX_VNODES;
    out.nr_vcpus = t.nr_vcpus < 4096 ? t.nr_vcpus : 4096;
    out.nr_vmemranges = t.nr_vmemranges < NC_VNUMA_MAX_RANGES
                        ? t.nr_vmemranges : NC_VNUMA_MAX_RANGES;
    out.vdistance = calloc((size_t)out.nr_vnodes * out.nr_vnodes + 1,
                           sizeof(uint32_t));
    out.vcpu_to_vnode = calloc(out.nr_vcpus + 1, sizeof(uint32_t));
    out.vmemrange = calloc(out.nr_vmemranges + 1, sizeof(*out.vmemrange));
    if ( !out.vdistance || !out.vcpu_to_vnode || !out.vmemrange )
        rc = -ENOMEM;
    else
        rc = nc_domain_get_vnuma(h, caller, target_domid(caller, t.domid),
                                 &out);
    if ( !rc &&
         (copy_to_guest(HADDR(t.vdistance.h), out.vdistance,
                        sizeof(uint32_t) * out.nr_vnodes * out.nr_vnodes) ||
          copy_to_guest(HADDR(t.vcpu_to_vnode.h), out.vcpu_to_vnode,
                        sizeof(uint32_t) * out.nr_vcpus) ||
          copy_to_guest(HADDR(t.vmemrange.h), out.vmemrange,
                        sizeof(xen_vmemrange_t) * out.nr_vmemranges)) )
        rc = -EFAULT;
    if ( !rc || rc == -ENOBUFS )
    {
        t.nr_vnodes = out.nr_vnodes;
        t.nr_vcpus = out.nr_vcpus;
        t.nr_vmemranges = out.nr_vmemranges;
        if ( copy_to_guest(uarg, &t, sizeof(t)) )
            rc = -EFAULT;
    }
    free(out.vdistance);
    free(out.vcpu_to_vnode);
    free(out.vmemrange);
    return rc;
}

long do_memory_op(struct nc_host *h, nc_domid_t caller, uint64_t cmd,
                  uint64_t uarg)
{
    unsigned int op = (unsigned int)cmd & MEMOP_CMD_MASK;
    uint64_t start = cmd >> MEMOP_EXTENT_SHIFT;

    switch ( op )
    {
    case XENMEM_increase_reservation:
    case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap:
        return reservation(h, caller, op, start, uarg);

    case XENMEM_claim_pages:
        return claim_pages(h, caller, start, uarg);

    case XENMEM_get_vnumainfo:
        return get_vnumainfo(h, caller, start, uarg);

    default:
        return -ENOSYS;
    }
}
