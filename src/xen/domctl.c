/* SPDX-License-Identifier: MIT */
/*
 * __HYPERVISOR_domctl: struct xen_domctl from Debian's 4.17 headers
 * (interface version 0x15), plus numaclaim's claim-set domctls.
 *
 * Modelled: createdomain, destroydomain, pausedomain, unpausedomain,
 * getdomaininfo, max_mem,
 * setnodeaffinity, setvnumainfo, claim_memory (91), and numaclaim's
 * claim_info and node_pages; getnodeaffinity, getvcpuinfo and
 * getvcpuaffinity are in platform.c.  Anything else is -ENOSYS.  Like Xen, the whole struct is copied in, the
 * sub-op decoded, and the struct copied back when a sub-op has outputs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/* ========================================================================
 * Domains
 * ======================================================================== */

static long createdomain(struct nc_host *h, nc_domid_t caller,
                         struct xen_domctl *op, bool *copyback)
{
    struct xen_domctl_createdomain *c = &op->u.createdomain;
    struct nc_domain_config cfg = {
        .domid = op->domain,
        .max_vcpus = c->max_vcpus,
    };
    nc_domid_t domid;
    int rc;

    if ( c->flags & ~((XEN_DOMCTL_CDF_MAX << 1) - 1) )
        return -EINVAL;
    /* 0 or a reserved domid asks Xen to pick one. */
    if ( cfg.domid == 0 || cfg.domid >= NC_DOMID_FIRST_RESERVED )
        cfg.domid = NC_DOMID_ANY;
    rc = nc_domain_create(h, caller, &cfg, &domid);
    if ( rc )
        return rc;
    op->domain = domid;
    *copyback = true;
    return 0;
}

void fill_domaininfo(const struct nc_domain_info *i,
                     struct xen_domctl_getdomaininfo *o)
{
    memset(o, 0, sizeof(*o));
    o->domain = i->domid;
    /* Xen's flags: paused while the controller's count is above 0; a
     * guest's vCPUs run nothing, so an unpaused one shows as blocked. */
    o->flags = XEN_DOMINF_hvm_guest | XEN_DOMINF_hap |
               (i->dying ? XEN_DOMINF_dying : 0) |
               (i->pause_count ? XEN_DOMINF_paused
                               : (i->max_vcpus ? XEN_DOMINF_blocked : 0));
    /* Domain 0 is the caller itself, a PVH control domain (the host has no
     * PV): never paused, its vCPUs (one per pCPU) running, as `xl list`
     * shows it ("r-----"). */
    if ( i->domid == NC_DOMID_CONTROL )
        o->flags = XEN_DOMINF_hvm_guest | XEN_DOMINF_hap | XEN_DOMINF_running;
    o->tot_pages = i->tot_pages;
    o->max_pages = i->max_pages;
    o->outstanding_pages = i->outstanding;
    o->nr_online_vcpus = i->max_vcpus;
    o->max_vcpu_id = i->max_vcpus ? i->max_vcpus - 1 : 0;
}

/* As in Xen: the first domain whose id is >= the one asked for. */
static long getdomaininfo(struct nc_host *h, nc_domid_t caller,
                          struct xen_domctl *op, bool *copyback)
{
    struct nc_domain_info info;
    uint32_t id;

    if ( caller != NC_DOMID_CONTROL )
        return -EPERM;
    for ( id = nc_domain_next(h, op->domain); id < NC_DOMID_FIRST_RESERVED;
          id = nc_domain_next(h, id + 1) )
        if ( !nc_domain_getinfo(h, (nc_domid_t)id, &info) )
            break;
    if ( id >= NC_DOMID_FIRST_RESERVED )
        return -ESRCH;
    fill_domaininfo(&info, &op->u.getdomaininfo);
    op->domain = (domid_t)id;
    *copyback = true;
    return 0;
}

static long setnodeaffinity(struct nc_host *h, nc_domid_t caller,
                            struct xen_domctl *op)
{
    struct xenctl_bitmap *b = &op->u.nodeaffinity.nodemap;
    uint8_t bytes[NC_MAX_NUMNODES / 8] = { 0 };
    uint32_t nr = (b->nr_bits + 7) / 8;
    uint64_t mask = 0;

    /* Bits beyond MAX_NUMNODES name no node: only the first 8 bytes. */
    if ( copy_from_guest(bytes, HADDR(b->bitmap),
                         nr < sizeof(bytes) ? nr : sizeof(bytes)) )
        return -EFAULT;
    for ( uint32_t i = 0; i < b->nr_bits && i < NC_MAX_NUMNODES; i++ )
        if ( bytes[i / 8] & (1u << (i % 8)) )
            mask |= 1ULL << i;
    return nc_domain_set_node_affinity(h, caller, op->domain, mask);
}

/* ========================================================================
 * vNUMA
 * ======================================================================== */

static long setvnumainfo(struct nc_host *h, nc_domid_t caller,
                         struct xen_domctl *op)
{
    struct xen_domctl_vnuma *u = &op->u.vnuma;
    struct nc_domain_info info;
    uint32_t *dist = NULL, *v2v = NULL, *v2p = NULL;
    struct nc_vmemrange *r = NULL;
    long rc;

    if ( caller != NC_DOMID_CONTROL )
        return -EPERM;
    rc = nc_domain_getinfo(h, op->domain, &info);
    if ( rc )
        return rc;
    /* Xen's order: counts and sizes first, then the copies. */
    if ( u->pad || u->nr_vnodes == 0 || u->nr_vcpus != info.max_vcpus ||
         u->nr_vnodes > NC_VNUMA_MAX_VNODES ||
         u->nr_vmemranges > NC_VNUMA_MAX_RANGES )
        return -EINVAL;

    /* The counts are bounded above, so the sizes cannot overflow. */
    dist = nc_zalloc((size_t)u->nr_vnodes * u->nr_vnodes * sizeof(*dist));
    v2v = nc_zalloc((u->nr_vcpus ? u->nr_vcpus : 1) * sizeof(*v2v));
    v2p = nc_zalloc(u->nr_vnodes * sizeof(*v2p));
    r = nc_zalloc((u->nr_vmemranges ? u->nr_vmemranges : 1) * sizeof(*r));
    if ( !dist || !v2v || !v2p || !r )
        rc = -ENOMEM;
    else
    {
        /* Xen's order, in one gathered copy. */
        struct guest_copy c[] = {
            { HADDR(u->vdistance), dist,
              sizeof(*dist) * u->nr_vnodes * u->nr_vnodes },
            { HADDR(u->vcpu_to_vnode), v2v, sizeof(*v2v) * u->nr_vcpus },
            { HADDR(u->vnode_to_pnode), v2p, sizeof(*v2p) * u->nr_vnodes },
            { HADDR(u->vmemrange), r, sizeof(*r) * u->nr_vmemranges },
        };

        _Static_assert(sizeof(xen_vmemrange_t) == sizeof(struct nc_vmemrange),
                       "vmemrange layouts differ");
        if ( copy_from_guest_v(c, sizeof(c) / sizeof(c[0])) )
            rc = -EFAULT;
        else
        {
            struct nc_vnuma v = {
                .nr_vnodes = u->nr_vnodes,
                .nr_vcpus = u->nr_vcpus,
                .nr_vmemranges = u->nr_vmemranges,
                .vdistance = dist,
                .vcpu_to_vnode = v2v,
                .vnode_to_pnode = v2p,
                .vmemrange = r,
            };

            rc = nc_domain_set_vnuma(h, caller, op->domain, &v);
        }
    }
    nc_free(dist);
    nc_free(v2v);
    nc_free(v2p);
    nc_free(r);
    return rc;
}

/* ========================================================================
 * Claims
 * ======================================================================== */

_Static_assert(sizeof(struct xen_memory_claim) == sizeof(struct nc_claim),
               "claim entry layouts differ");
_Static_assert(sizeof(struct xen_domctl_claim_memory) <= 128 &&
               sizeof(struct xen_domctl_claim_info) <= 128 &&
               sizeof(struct xen_domctl_node_pages) <= 128,
               "numaclaim domctls must fit the domctl union");

static long claim_memory(struct nc_host *h, nc_domid_t caller,
                         struct xen_domctl *op, bool *copyback)
{
    struct xen_domctl_claim_memory *u = (void *)&op->u;
    struct nc_claim set[NC_CLAIM_MAX_ENTRIES];
    struct nc_domain_info info;
    uint32_t nr = u->nr_entries;
    long rc;

    /* The checks that come before touching guest memory (docs/spec.md
     * §4: EPERM, then ESRCH for a missing or dying domain); the core
     * repeats them atomically. */
    if ( caller != NC_DOMID_CONTROL )
        return -EPERM;
    rc = nc_domain_getinfo(h, op->domain, &info);
    if ( rc || info.dying )
        return -ESRCH;

    switch ( u->mode )
    {
    case XEN_DOMCTL_CLAIM_MEMORY_SET:
        if ( nr >= 1 && nr <= NC_CLAIM_MAX_ENTRIES &&
             copy_from_guest(set, HADDR(u->claim_set), nr * sizeof(set[0])) )
            return -EFAULT;
        return nc_claim_memory(h, caller, op->domain, NC_CLAIM_MEMORY_SET,
                               set, &nr);

    case XEN_DOMCTL_CLAIM_MEMORY_GET:
        if ( nr > NC_CLAIM_MAX_ENTRIES )
            nr = NC_CLAIM_MAX_ENTRIES;
        {
            uint32_t cap = nr;

            rc = nc_claim_memory(h, caller, op->domain, NC_CLAIM_MEMORY_GET,
                                 set, &nr);
            if ( rc && rc != -ERANGE )
                return rc;
            /* nr_entries reaches the caller even with -ERANGE. */
            u->nr_entries = nr;
            *copyback = true;
            if ( copy_to_guest(HADDR(u->claim_set), set,
                               (nr < cap ? nr : cap) * sizeof(set[0])) )
                return -EFAULT;
        }
        return rc;

    default:
        return -EOPNOTSUPP;
    }
}

static long claim_info(struct nc_host *h, nc_domid_t caller,
                       struct xen_domctl *op, bool *copyback)
{
    struct xen_domctl_claim_info *u = (void *)&op->u;
    struct nc_domain_info info;
    long rc;

    if ( caller != NC_DOMID_CONTROL )
        return -EPERM;
    rc = nc_domain_getinfo(h, op->domain, &info);
    if ( rc )
        return rc;
    u->outstanding = info.outstanding;
    u->host_claim = info.host_claim;
    u->recalled = info.recalled;
    *copyback = true;
    return 0;
}

static long node_pages(struct nc_host *h, nc_domid_t caller,
                       struct xen_domctl *op, bool *copyback)
{
    struct xen_domctl_node_pages *u = (void *)&op->u;
    uint64_t pages[NC_MAX_NUMNODES];
    uint32_t n, nr_nodes = nc_host_nr_nodes(h);
    long rc;

    if ( caller != NC_DOMID_CONTROL )
        return -EPERM;
    if ( u->pad )
        return -EINVAL;
    rc = nc_domain_node_pages(h, op->domain, pages, NC_MAX_NUMNODES);
    if ( rc )
        return rc;
    n = u->num_nodes < nr_nodes ? u->num_nodes : nr_nodes;
    if ( n && copy_to_guest(HADDR(u->pages), pages, n * sizeof(pages[0])) )
        return -EFAULT;
    u->num_nodes = nr_nodes;
    *copyback = true;
    return 0;
}

/* ========================================================================
 * Entry
 * ======================================================================== */

long do_domctl(struct nc_host *h, nc_domid_t caller, uint64_t uarg)
{
    struct xen_domctl op;
    bool copyback = false;
    long rc;

    if ( copy_from_guest(&op, uarg, sizeof(op)) )
        return -EFAULT;
    if ( op.interface_version != XEN_DOMCTL_INTERFACE_VERSION )
        return -EACCES;
    /* Every domctl is the control domain's, as under Xen's XSM default
     * policy; as there, a guest naming a domain that does not exist hears
     * ESRCH (the lookup comes first), otherwise EPERM. */
    if ( caller != NC_DOMID_CONTROL )
    {
        struct nc_domain_info info;

        if ( op.cmd != XEN_DOMCTL_createdomain &&
             nc_domain_getinfo(h, op.domain, &info) )
            return -ESRCH;
        return -EPERM;
    }

    switch ( op.cmd )
    {
    case XEN_DOMCTL_createdomain:
        rc = createdomain(h, caller, &op, &copyback);
        break;

    case XEN_DOMCTL_destroydomain:
        rc = nc_domain_destroy(h, caller, op.domain);
        break;

    case XEN_DOMCTL_pausedomain:
        rc = nc_domain_pause(h, caller, op.domain);
        break;

    case XEN_DOMCTL_unpausedomain:
        rc = nc_domain_unpause(h, caller, op.domain);
        break;

    case XEN_DOMCTL_getdomaininfo:
        rc = getdomaininfo(h, caller, &op, &copyback);
        break;

    case XEN_DOMCTL_max_mem:
        /* Xen keeps max_pages in an unsigned int: larger values clamp. */
        rc = nc_domain_set_max_pages(h, caller, op.domain,
                                     op.u.max_mem.max_memkb >> 2 > UINT32_MAX
                                     ? UINT32_MAX
                                     : op.u.max_mem.max_memkb >> 2);
        break;

    case XEN_DOMCTL_setnodeaffinity:
        rc = setnodeaffinity(h, caller, &op);
        break;

    case XEN_DOMCTL_setvnumainfo:
        rc = setvnumainfo(h, caller, &op);
        break;

    case XEN_DOMCTL_getnodeaffinity:
        rc = domctl_getnodeaffinity(h, caller, &op);
        break;

    case XEN_DOMCTL_getvcpuinfo:
        rc = domctl_getvcpuinfo(h, caller, &op, &copyback);
        break;

    case XEN_DOMCTL_getvcpuaffinity:
        rc = domctl_getvcpuaffinity(h, caller, &op);
        break;

    case XEN_DOMCTL_claim_memory:
        rc = claim_memory(h, caller, &op, &copyback);
        break;

    case XEN_DOMCTL_claim_info:
        rc = claim_info(h, caller, &op, &copyback);
        break;

    case XEN_DOMCTL_node_pages:
        rc = node_pages(h, caller, &op, &copyback);
        break;

    default:
        rc = -ENOSYS;
        break;
    }
    if ( copyback && copy_to_guest(uarg, &op, sizeof(op)) )
        rc = -EFAULT;
    return rc;
}
