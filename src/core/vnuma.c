/* SPDX-License-Identifier: MIT */
/*
 * vNUMA topologies (spec §6): XEN_DOMCTL_setvnumainfo's validation and
 * storage, XENMEM_get_vnumainfo, and the gpfn -> pnode lookup behind the
 * implicit vNUMA hint, which lets a balloon driver get memory back on the
 * right node without knowing physical nodes.
 *
 * The topology is copied in whole; the vmemranges are kept in the order
 * given (GET returns them so) and also as an index sorted by start, so the
 * hint costs O(log ranges) per extent.
 */
#include "private.h"

void vnuma_free(struct nc_vnuma_info *v)
{
    if ( !v )
        return;
    nc_free(v->vdistance);
    nc_free(v->vcpu_to_vnode);
    nc_free(v->vnode_to_pnode);
    nc_free(v->vmemrange);
    nc_free(v->sorted);
    nc_free(v);
}

static uint64_t range_end(const void *arr, uint32_t i)
{
    return ((const struct nc_vmemrange *)arr)[i].end;
}

static bool range_before(const void *a, const void *b)
{
    return ((const struct nc_vmemrange *)a)->start <
           ((const struct nc_vmemrange *)b)->start;
}

uint32_t vnuma_gpfn_pnode(const struct nc_vnuma_info *v, uint64_t gpfn)
{
    uint32_t lo;
    uint64_t addr;

    if ( gpfn >= (UINT64_MAX >> NC_PAGE_SHIFT) )
        return NC_NUMA_NO_NODE;
    addr = gpfn << NC_PAGE_SHIFT;
    lo = first_ending_after(v->sorted, 0, v->nr_vmemranges, addr, range_end);
    if ( lo < v->nr_vmemranges && v->sorted[lo].start <= addr )
        return v->vnode_to_pnode[v->sorted[lo].nid];
    return NC_NUMA_NO_NODE;           /* a hole or firmware range */
}

/*
 * Xen's checks first, in the order Xen's vnuma_init() (xen/common/domctl.c)
 * makes them: the counts (nr_vnodes > 0, nr_vcpus == max_vcpus: EINVAL),
 * the XSA-77 size limits (EINVAL), each vcpu's vnode below nr_vnodes and
 * each pnode below MAX_NUMNODES (E2BIG), then the range flags (EINVAL);
 * Xen checks neither overlap nor whether a pnode is online.  Only then
 * ours (docs/spec.md §6): pnodes this host has online, ranges well-formed,
 * on known vnodes, not overlapping.  So a topology Xen refuses gets Xen's
 * errno (E2BIG for pnode 200 even if another pnode is offline), and ours
 * only adds refusals of what Xen would accept.
 */
static int vnuma_validate(const struct nc_host *h, const struct nc_domain *d,
                          const struct nc_vnuma *v)
{
    if ( v->nr_vnodes == 0 || v->nr_vcpus != d->max_vcpus )
        return -EINVAL;
    if ( v->nr_vnodes > NC_VNUMA_MAX_VNODES ||
         v->nr_vmemranges > NC_VNUMA_MAX_RANGES )
        return -EINVAL;               /* XSA-77 size limits */
    if ( !v->vdistance || !v->vnode_to_pnode ||
         (v->nr_vcpus && !v->vcpu_to_vnode) ||
         (v->nr_vmemranges && !v->vmemrange) )
        return -EFAULT;
    for ( unsigned int i = 0; i < v->nr_vcpus; i++ )
        if ( v->vcpu_to_vnode[i] >= v->nr_vnodes )
            return -E2BIG;
    for ( unsigned int i = 0; i < v->nr_vnodes; i++ )
        if ( v->vnode_to_pnode[i] >= NC_MAX_NUMNODES )
            return -E2BIG;
    for ( unsigned int i = 0; i < v->nr_vmemranges; i++ )
        if ( v->vmemrange[i].flags )
            return -EINVAL;

    /* numaclaim's own checks. */
    for ( unsigned int i = 0; i < v->nr_vnodes; i++ )
    {
        uint32_t p = v->vnode_to_pnode[i];

        if ( p >= h->nr_nodes || !h->node[p].online )
            return -EINVAL;
    }
    for ( unsigned int i = 0; i < v->nr_vmemranges; i++ )
    {
        const struct nc_vmemrange *r = &v->vmemrange[i];

        if ( r->nid >= v->nr_vnodes || r->start >= r->end )
            return -EINVAL;
        for ( unsigned int j = 0; j < i; j++ )
            if ( r->start < v->vmemrange[j].end &&
                 v->vmemrange[j].start < r->end )
                return -EINVAL;       /* overlap */
    }
    return 0;
}

static void *copy_array(const void *src, uint32_t n, size_t size, int *rc)
{
    void *p = nc_zalloc((size_t)NC_MAX(n, 1u) * size);

    if ( !p )
        *rc = -ENOMEM;
    else if ( n )
        nc_memmove(p, src, (size_t)n * size);
    return p;
}

static struct nc_vnuma_info *vnuma_copy(const struct nc_vnuma *v, int *rc)
{
    struct nc_vnuma_info *x = nc_zalloc(sizeof(*x));

    *rc = 0;
    if ( !x )
    {
        *rc = -ENOMEM;
        return NULL;
    }
    x->nr_vnodes = v->nr_vnodes;
    x->nr_vcpus = v->nr_vcpus;
    x->nr_vmemranges = v->nr_vmemranges;
    x->vdistance = copy_array(v->vdistance, v->nr_vnodes * v->nr_vnodes,
                              sizeof(uint32_t), rc);
    x->vcpu_to_vnode = copy_array(v->vcpu_to_vnode, v->nr_vcpus,
                                  sizeof(uint32_t), rc);
    x->vnode_to_pnode = copy_array(v->vnode_to_pnode, v->nr_vnodes,
                                   sizeof(uint32_t), rc);
    x->vmemrange = copy_array(v->vmemrange, v->nr_vmemranges,
                              sizeof(*v->vmemrange), rc);
    x->sorted = copy_array(v->vmemrange, v->nr_vmemranges,
                           sizeof(*v->vmemrange), rc);
    if ( *rc )
    {
        vnuma_free(x);
        return NULL;
    }
    nc_sort(x->sorted, x->nr_vmemranges, sizeof(*x->sorted), range_before);
    return x;
}

int nc_domain_set_vnuma(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                        const struct nc_vnuma *v)
{
    struct nc_domain *d;
    struct nc_vnuma_info *fresh = NULL, *old = NULL;
    int rc = domain_lock_checked(h, caller, domid, false, &d);

    if ( rc )
        return rc;
    rc = vnuma_validate(h, d, v);
    if ( !rc )
        fresh = vnuma_copy(v, &rc);
    if ( !rc )
    {
        old = d->vnuma;
        d->vnuma = fresh;
    }
    domain_unlock(d);
    vnuma_free(old);
    return rc;
}

int nc_domain_get_vnuma(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                        struct nc_vnuma_out *out)
{
    struct nc_domain *d;
    const struct nc_vnuma_info *v;
    int rc = domain_get_checked(h, caller, domid, true, &d);

    if ( rc )
        return rc;
    nc_lock(&d->lock);
    v = d->vnuma;
    if ( d->dying )
        rc = -ESRCH;
    else if ( !v )
        rc = -EOPNOTSUPP;
    else if ( out->nr_vnodes < v->nr_vnodes || out->nr_vcpus < v->nr_vcpus ||
              out->nr_vmemranges < v->nr_vmemranges )
        rc = -ENOBUFS;
    else if ( !out->vdistance || !out->vcpu_to_vnode || !out->vmemrange )
        rc = -EFAULT;
    else
    {
        nc_memmove(out->vdistance, v->vdistance,
                   (size_t)v->nr_vnodes * v->nr_vnodes * sizeof(uint32_t));
        nc_memmove(out->vcpu_to_vnode, v->vcpu_to_vnode,
                   (size_t)v->nr_vcpus * sizeof(uint32_t));
        nc_memmove(out->vmemrange, v->vmemrange,
                   (size_t)v->nr_vmemranges * sizeof(*v->vmemrange));
    }
    if ( !rc || rc == -ENOBUFS )
    {
        out->nr_vnodes = v->nr_vnodes;
        out->nr_vcpus = v->nr_vcpus;
        out->nr_vmemranges = v->nr_vmemranges;
    }
    domain_unlock_put(h, d);
    return rc;
}
