/* SPDX-License-Identifier: MIT */
/*
 * xl_builder: build a domain on a numaclaim host and leave it there, for
 * test_xl.sh to look at with Debian's xl from other processes.
 *
 *   xl_builder NAME MAXMEM_MIB NODE CLAIM_MIB POPULATE_MIB
 *
 * Through Debian's libxenctrl (and numaclaim's client library for the
 * claim set): creates an HVM domain with 2 vCPUs and MAXMEM_MIB of max
 * memory, stakes a claim set of one entry, CLAIM_MIB on NODE, populates
 * POPULATE_MIB of it on NODE in 2 MiB extents (which redeems that much of
 * the claim), and names the domain NAME in xenstore through Debian's
 * libxenstore (/local/domain/ID/name and domid, as libxl does), so that
 * `xl list` shows it.  Prints the new domid and exits 0; anything that
 * fails is reported on stderr with exit 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <numaclaim/xc-claims.h>
#include <xenstore.h>

static int fail(const char *what)
{
    fprintf(stderr, "xl_builder: %s: %s\n", what, strerror(errno));
    return 1;
}

static int xs_set(struct xs_handle *xs, uint32_t domid, const char *key,
                  const char *value)
{
    char path[64];

    snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, key);
    return xs_write(xs, XBT_NULL, path, value, strlen(value)) ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct xen_domctl_createdomain c = {
        .flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap,
        .max_vcpus = 2,
        .max_evtchn_port = -1,
        .max_grant_frames = -1,
        .max_maptrack_frames = -1,
    };
    unsigned long maxmem, node, claim, populate;
    xen_memory_claim_t set[1];
    uint32_t domid = 0, nr = 1;
    struct xs_handle *xs;
    xc_interface *xch;
    char id[16];

    if ( argc != 6 )
    {
        fprintf(stderr, "usage: xl_builder NAME MAXMEM_MIB NODE CLAIM_MIB "
                        "POPULATE_MIB\n");
        return 2;
    }
    maxmem = strtoul(argv[2], NULL, 10);
    node = strtoul(argv[3], NULL, 10);
    claim = strtoul(argv[4], NULL, 10);
    populate = strtoul(argv[5], NULL, 10);

    xch = xc_interface_open(NULL, NULL, 0);
    if ( !xch )
        return fail("xc_interface_open");
    if ( xc_domain_create(xch, &domid, &c) )
        return fail("xc_domain_create");
    if ( xc_domain_setmaxmem(xch, domid, maxmem * 1024) )
        return fail("xc_domain_setmaxmem");

    set[0] = (xen_memory_claim_t){ .pages = claim * 256,
                                   .target = (uint32_t)node };
    if ( xc_domain_claim_memory(xch, domid, XEN_DOMCTL_CLAIM_MEMORY_SET, &nr,
                                set) )
        return fail("xc_domain_claim_memory");

    /* 2 MiB extents (order 9), gpfns from 0. */
    for ( unsigned long mib = 0; mib + 2 <= populate; mib += 2 )
    {
        xen_pfn_t gpfn = mib * 256;

        if ( xc_domain_populate_physmap_exact(xch, domid, 1, 9,
                                              XENMEMF_exact_node(node),
                                              &gpfn) )
            return fail("xc_domain_populate_physmap_exact");
    }

    xs = xs_open(0);
    if ( !xs )
        return fail("xs_open");
    snprintf(id, sizeof(id), "%u", domid);
    if ( xs_set(xs, domid, "name", argv[1]) || xs_set(xs, domid, "domid", id) )
        return fail("xs_write");
    xs_close(xs);
    xc_interface_close(xch);
    printf("%u\n", domid);
    return 0;
}
