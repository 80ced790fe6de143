/* SPDX-License-Identifier: MIT */
/*
 * A toolstack's view: stake a NUMA claim set with libxenctrl and numaclaim's
 * client library, populate, and watch the host overview.  Built against
 * Debian's <xenctrl.h> and linked with Debian's libxenctrl; run it against a
 * simulated host with
 *
 *     NUMACLAIM_HOST=4x16G LD_LIBRARY_PATH=build/xen build/examples/xc-claims
 *
 * On a Xen with claim sets it would do the same against the real host.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <numaclaim/xc-claims.h>

#define GIB_PAGES (1ULL << 18)

static void overview(xc_interface *xch, const char *when)
{
    xen_sysctl_node_claims_t nodes[64];
    struct xc_claim_overview host;
    uint32_t nr = 64;

    if ( xc_claim_overview(xch, &host, &nr, nodes) )
    {
        perror("xc_claim_overview");
        exit(1);
    }
    printf("%s: free %" PRIu64 " pages, claimed %" PRIu64 "\n", when,
           host.free_pages, host.outstanding_pages);
    for ( uint32_t n = 0; n < nr; n++ )
        printf("    node %u: size %" PRIu64 " free %" PRIu64 " claimed %" PRIu64
               "\n", n, nodes[n].size, nodes[n].free, nodes[n].claimed);
}

int main(void)
{
    struct xen_domctl_createdomain cfg = {
        .flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap,
        .max_vcpus = 2,
        .max_evtchn_port = -1,
        .max_grant_frames = -1,
        .max_maptrack_frames = -1,
    };
    xen_memory_claim_t set[2] = {
        { .pages = 2 * GIB_PAGES, .target = 0 },
        { .pages = 2 * GIB_PAGES, .target = 1 },
    };
    uint32_t domid = 0, nr = 2;
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    xc_dominfo_t info;

    if ( !xch )
    {
        fprintf(stderr, "xc_interface_open failed\n");
        return 1;
    }
    if ( xc_domain_create(xch, &domid, &cfg) ||
         xc_domain_setmaxmem(xch, domid, 4 * GIB_PAGES * 4) )
    {
        perror("create");
        return 1;
    }
    printf("domain %u created\n", domid);
    if ( xc_domain_claim_memory(xch, domid, XEN_DOMCTL_CLAIM_MEMORY_SET, &nr,
                                set) )
    {
        perror("xc_domain_claim_memory");
        return 1;
    }
    overview(xch, "after the claim set");

    for ( xen_pfn_t i = 0; i < 4; i++ )
    {
        xen_pfn_t gpfn = i * GIB_PAGES;

        if ( xc_domain_populate_physmap_exact(xch, domid, 1, 18,
                                              XENMEMF_exact_node(i / 2),
                                              &gpfn) )
        {
            perror("populate");
            return 1;
        }
    }
    xc_domain_getinfo(xch, domid, 1, &info);
    printf("populated %lu pages, %lu still claimed\n", info.nr_pages,
           info.nr_outstanding_pages);
    overview(xch, "after populating");

    xc_domain_destroy(xch, domid);
    overview(xch, "after destroy");
    xc_interface_close(xch);
    return 0;
}
