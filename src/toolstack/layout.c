/* SPDX-License-Identifier: MIT */
/*
 * Guest physical layout of an HVM guest's RAM: vnodes one after another
 * from address 0, skipping the MMIO hole below 4 GiB, as libxl lays out
 * vmemranges.  A vnode whose memory straddles the hole gets two ranges.
 */
#include "toolstack.h"

void ts_layout_plan(const struct ts_plan *plan, struct ts_layout *l)
{
    uint64_t at = 0;

    l->nr_ranges = 0;
    for ( uint32_t v = 0; v < plan->nr_vnodes; v++ )
    {
        uint64_t left = plan->vnode[v].pages << 12;

        while ( left )
        {
            uint64_t end = at + left;

            if ( at < TS_MMIO_HOLE_START && end > TS_MMIO_HOLE_START )
                end = TS_MMIO_HOLE_START;
            l->range[l->nr_ranges++] =
                (struct ts_range){ .start = at, .end = end, .vnode = v };
            left -= end - at;
            at = end == TS_MMIO_HOLE_START ? TS_MMIO_HOLE_END : end;
        }
    }
}
