/* SPDX-License-Identifier: MIT */
/*
 * NUMA-aware ballooning.  A balloon driver gives pages back with
 * decrease_reservation and takes them again with populate_physmap, naming
 * no node: it knows guest frames, not host nodes.  For a guest with vNUMA
 * the hypervisor's implicit hint (docs/spec.md §6) maps each gpfn to its
 * vnode's pnode, so memory comes back where the guest expects it; without
 * vNUMA it comes back wherever the allocator's striping puts it.
 */
#include <errno.h>
#include <stdlib.h>

#include "toolstack.h"

/* Each range gives pages in proportion to its size, from its top. */
int ts_balloon_down(xc_interface *xch, const struct ts_build *b,
                    uint64_t pages, struct ts_balloon *bl)
{
    uint64_t total = 0, left = pages;

    bl->nr = 0;
    for ( uint32_t i = 0; i < b->layout.nr_ranges; i++ )
        total += (b->layout.range[i].end - b->layout.range[i].start) >> 12;
    if ( pages > total )
    {
        errno = EINVAL;
        return -1;
    }
    for ( uint32_t i = 0; i < b->layout.nr_ranges && left; i++ )
    {
        const struct ts_range *r = &b->layout.range[i];
        uint64_t size = (r->end - r->start) >> 12;
        uint64_t take = i + 1 == b->layout.nr_ranges ? left
                                                      : pages * size / total;
        xen_pfn_t *list;
        int rc;

        if ( take > left )
            take = left;
        if ( take > size )
            take = size;
        if ( !take )
            continue;
        list = ts_zalloc(take, sizeof(*list));
        if ( !list )
            return -1;
        for ( uint64_t k = 0; k < take; k++ )
            list[k] = (r->end >> 12) - take + k;
        rc = xc_domain_decrease_reservation_exact(xch, b->domid, take, 0, list);
        ts_free(list);
        if ( rc )
            return -1;
        bl->run[bl->nr].gpfn = (r->end >> 12) - take;
        bl->run[bl->nr].nr = take;
        bl->nr++;
        left -= take;
    }
    return 0;
}

int ts_balloon_up(xc_interface *xch, const struct ts_build *b,
                  const struct ts_balloon *bl)
{
    for ( uint32_t i = 0; i < bl->nr; i++ )
    {
        xen_pfn_t *list = ts_zalloc(bl->run[i].nr, sizeof(*list));
        int rc;

        if ( !list )
            return -1;
        for ( uint64_t k = 0; k < bl->run[i].nr; k++ )
            list[k] = bl->run[i].gpfn + k;
        /* No node flag: the balloon driver does not know host nodes. */
        rc = xc_domain_populate_physmap_exact(xch, b->domid, bl->run[i].nr, 0,
                                              0, list);
        ts_free(list);
        if ( rc )
            return -1;
    }
    return 0;
}
