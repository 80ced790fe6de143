/* SPDX-License-Identifier: MIT */
/*
 * __HYPERVISOR_memory_op: reservations, claims and vNUMA queries.
 *
 * Modelled sub-ops: increase_reservation, decrease_reservation,
 * populate_physmap, claim_pages, get_vnumainfo, current_reservation,
 * maximum_reservation, maximum_ram_page and machine_memory_map.  As in Xen, the
 * reservation sub-ops return the number of extents done (a failure shows
 * as a short count), continuing from the start extent encoded in the
 * command's upper bits; the others return 0 or -errno.
 *
 * increase_reservation allocates pages the domain owns but does not map,
 * as Xen does; when an extent list is given, each extent's first MFN is
 * written into it (Xen does so for guests that are not translated).
 * decrease_reservation frees the mapped gpfns it names; a number that no
 * gpfn maps is taken as the MFN of owned-unmapped pages, so that pages
 * from increase_reservation can be given back before the domain dies.
 *
 * Extent lists are read a batch at a time; a batch that cannot be read
 * whole is read again extent by extent, so that, as in Xen, the extents
 * before the first unreadable one are done and counted.
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

#define EXTENT_BATCH 512

/* Read up to EXTENT_BATCH entries of the list from index i: the number of
 * leading entries that could be read (0 at a fault on entry i). */
static uint64_t read_extents(uint64_t list, uint64_t i, uint64_t n,
                             xen_pfn_t *out)
{
    if ( n > EXTENT_BATCH )
        n = EXTENT_BATCH;
    if ( !copy_from_guest(out, list + i * sizeof(*out), n * sizeof(*out)) )
        return n;
    for ( uint64_t k = 0; k < n; k++ )
        if ( copy_from_guest(&out[k], list + (i + k) * sizeof(*out),
                             sizeof(*out)) )
            return k;
    return n;
}

/* decrease_reservation's extent: a mapped gpfn, else owned-unmapped pages
 * at that MFN. */
static int one_extent(struct nc_host *h, nc_domid_t caller,
                      nc_domid_t domid, const struct xen_memory_reservation *r,
                      xen_pfn_t gpfn)
{
    int rc = nc_depopulate(h, caller, domid, gpfn, r->extent_order);

    if ( rc == -ENOENT )
        rc = nc_free_unmapped(h, caller, domid, gpfn, r->extent_order);
    return rc;
}

/* increase_reservation: owned-unmapped extents, MFNs reported if asked. */
static long increase(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                     const struct xen_memory_reservation *r,
                     struct nc_memflags f, uint64_t start)
{
    uint64_t list = HADDR(r->extent_start), i;

    for ( i = start; i < r->nr_extents; i++ )
    {
        uint64_t mfn;
        xen_pfn_t out;

        if ( nc_increase_reservation(h, caller, domid, r->extent_order, f,
                                     &mfn) )
            break;
        out = (xen_pfn_t)mfn;
        /* As in Xen, an extent whose MFN cannot be reported stays
         * allocated but is not counted. */
        if ( list && copy_to_guest(list + i * sizeof(out), &out, sizeof(out)) )
            break;
    }
    return (long)i;
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
    /* The target is resolved once per hypercall, as in Xen: none is no
     * extent done; another domain than a guest's own is EPERM. */
    {
        struct nc_domain_info info;

        if ( nc_domain_getinfo(h, domid, &info) )
            return (long)start;
        if ( caller != NC_DOMID_CONTROL && domid != caller )
            return -EPERM;
    }
    f = decode_memflags(r.mem_flags);
    if ( op == XENMEM_increase_reservation )
        return increase(h, caller, domid, &r, f, start);
    if ( !HADDR(r.extent_start) )
        return (long)start;

    for ( i = start; i < r.nr_extents; )
    {
        xen_pfn_t gpfn[EXTENT_BATCH];
        uint64_t n = read_extents(HADDR(r.extent_start), i,
                                  r.nr_extents - i, gpfn);

        /* A batch populates in one core call: the domain is looked up and
         * locked once for it rather than once per extent. */
        if ( op == XENMEM_populate_physmap )
        {
            uint64_t done = nc_populate_run(h, caller, domid, gpfn, n,
                                            r.extent_order, f);

            i += done;
            if ( done < n )
                return (long)i;
        }
        else
            for ( uint64_t k = 0; k < n; k++, i++ )
                if ( one_extent(h, caller, domid, &r, gpfn[k]) )
                    return (long)i;
        if ( n < EXTENT_BATCH && i < r.nr_extents )
            break;              /* a fault at extent i */
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
    out.nr_vcpus = t.nr_vcpus < NC_MAX_VCPUS ? t.nr_vcpus : NC_MAX_VCPUS;
    out.nr_vmemranges = t.nr_vmemranges < NC_VNUMA_MAX_RANGES
                        ? t.nr_vmemranges : NC_VNUMA_MAX_RANGES;
    out.vdistance = nc_zalloc(((size_t)out.nr_vnodes * out.nr_vnodes + 1) *
                              sizeof(uint32_t));
    out.vcpu_to_vnode = nc_zalloc((out.nr_vcpus + 1) * sizeof(uint32_t));
    out.vmemrange = nc_zalloc((out.nr_vmemranges + 1) *
                              sizeof(*out.vmemrange));
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
    nc_free(out.vdistance);
    nc_free(out.vcpu_to_vnode);
    nc_free(out.vmemrange);
    return rc;
}

/* XENMEM_current_reservation / maximum_reservation: a domain's tot_pages
 * or max_pages as the return value; a guest may ask about itself only. */
static long reservation_size(struct nc_host *h, nc_domid_t caller,
                             unsigned int op, uint64_t start, uint64_t uarg)
{
    struct nc_domain_info info;
    domid_t domid;

    if ( start )
        return -EINVAL;
    if ( copy_from_guest(&domid, uarg, sizeof(domid)) )
        return -EFAULT;
    domid = target_domid(caller, domid);
    if ( nc_domain_getinfo(h, domid, &info) )
        return -ESRCH;
    if ( caller != NC_DOMID_CONTROL && domid != caller )
        return -EPERM;
    return (long)(op == XENMEM_current_reservation ? info.tot_pages
                                                   : info.max_pages);
}

/* An E820 entry as Xen's machine_memory_map writes it (packed, 20 bytes,
 * as libxenctrl's struct e820entry). */
struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
} __attribute__((packed));
#define E820_RAM 1

/* XENMEM_machine_memory_map: the host's RAM, as Xen's x86 arch_memory_op
 * reports it: privileged; a NULL buffer asks for the count; a buffer
 * smaller than the map plus one entry is -EINVAL. */
static long machine_memory_map(struct nc_host *h, nc_domid_t caller,
                               uint64_t start, uint64_t uarg)
{
    struct nc_range run[NC_MAX_NUMNODES * NC_MAX_RANGES];
    struct xen_memory_map m;
    uint32_t nr;

    if ( start )
        return -EINVAL;
    if ( caller != NC_DOMID_CONTROL )
        return -EPERM;
    if ( copy_from_guest(&m, uarg, sizeof(m)) )
        return -EFAULT;
    nr = nc_host_memory_map(h, run, sizeof(run) / sizeof(run[0]));
    if ( HADDR(m.buffer) )
    {
        if ( m.nr_entries < nr + 1 )
            return -EINVAL;
        for ( uint32_t i = 0; i < nr; i++ )
        {
            struct e820_entry e = {
                .addr = run[i].start << NC_PAGE_SHIFT,
                .size = run[i].nr << NC_PAGE_SHIFT,
                .type = E820_RAM,
            };

            if ( copy_to_guest(HADDR(m.buffer) + i * sizeof(e), &e,
                               sizeof(e)) )
                return -EFAULT;
        }
    }
    m.nr_entries = nr;
    return copy_to_guest(uarg, &m, sizeof(m)) ? -EFAULT : 0;
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

    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation:
        return reservation_size(h, caller, op, start, uarg);

    case XENMEM_maximum_ram_page:
        /* Anyone may ask, as in Xen; the answer is the return value. */
        return start ? -EINVAL : (long)nc_host_max_page(h);

    case XENMEM_machine_memory_map:
        return machine_memory_map(h, caller, start, uarg);

    default:
        return -ENOSYS;
    }
}
