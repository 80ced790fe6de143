/* SPDX-License-Identifier: MIT */
/*
 * `numaclaim demo`: a short, real walk through claims on a simulated host.
 *
 * Every step calls the core and checks the result it prints: claims are
 * staked, protect memory from another domain, are redeemed as the domain
 * populates, are released, and are recalled when a page goes offline.  The
 * invariant checker runs at the end; any surprise exits non-zero.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define GIB (1ULL << 18)        /* pages */
#define EXTENT_1G 18

static struct nc_host *host;
static unsigned int step_no;

static void step(const char *title)
{
    printf("\n%u. %s\n", ++step_no, title);
}

static void say(const char *fmt, ...)
{
    va_list ap;

    printf("   ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* A call whose result the demo relies on. */
static void expect(int rc, int want, const char *what)
{
    if ( rc == want )
        return;
    fprintf(stderr, "numaclaim demo: %s returned %d (%s), expected %d\n", what,
            rc, rc ? strerror(-rc) : "success", want);
    exit(1);
}

static nc_domid_t new_vm(const char *name, uint64_t max_gib)
{
    struct nc_domain_config c = { .domid = NC_DOMID_ANY, .max_vcpus = 4 };
    nc_domid_t d;

    expect(nc_domain_create(host, NC_DOMID_CONTROL, &c, &d), 0, "create");
    expect(nc_domain_set_max_pages(host, NC_DOMID_CONTROL, d, max_gib * GIB),
           0, "max_mem");
    say("created %s as domain %u, max_pages %" PRIu64 " (%" PRIu64 " GiB)",
        name, d, max_gib * GIB, max_gib);
    return d;
}

static int claim(nc_domid_t d, uint32_t nr, struct nc_claim *set)
{
    return nc_claim_memory(host, NC_DOMID_CONTROL, d, NC_CLAIM_MEMORY_SET, set,
                           &nr);
}

static void show_claims(const char *name, nc_domid_t d)
{
    struct nc_claim e[NC_CLAIM_MAX_ENTRIES];
    uint32_t nr = NC_CLAIM_MAX_ENTRIES;
    char buf[256] = "", sz[32];
    size_t used = 0;

    expect(nc_claim_memory(host, NC_DOMID_CONTROL, d, NC_CLAIM_MEMORY_GET, e,
                           &nr), 0, "claim GET");
    for ( uint32_t i = 0; i < nr; i++ )
    {
        char where[16];

        if ( e[i].target == NC_CLAIM_HOST )
            snprintf(where, sizeof(where), "host-wide");
        else
            snprintf(where, sizeof(where), "node %u", e[i].target);
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s %s",
                                 i ? ", " : "", where, cli_size(e[i].pages, sz));
    }
    say("%s claims: %s", name, buf);
}

/* Populate `gib` GiB at gpfn with 1 GiB extents; returns GiB populated. */
static uint64_t populate_gib(nc_domid_t d, uint64_t gpfn, uint64_t gib,
                             struct nc_memflags f, int *last_rc)
{
    uint64_t done = 0;

    *last_rc = 0;
    for ( ; done < gib; done++ )
    {
        *last_rc = nc_populate(host, NC_DOMID_CONTROL, d, gpfn + done * GIB,
                               EXTENT_1G, f, NULL);
        if ( *last_rc )
            break;
    }
    return done;
}

static void show_placement(const char *name, nc_domid_t d)
{
    uint64_t pages[NC_MAX_NUMNODES];
    struct nc_host_info hi;
    char buf[256] = "", sz[32];
    size_t used = 0;

    nc_host_overview(host, &hi, NULL, 0);
    nc_domain_node_pages(host, d, pages, hi.nr_nodes);
    for ( uint32_t n = 0; n < hi.nr_nodes; n++ )
        if ( pages[n] )
            used += (size_t)snprintf(buf + used, sizeof(buf) - used,
                                     "%snode %u %s", used ? ", " : "", n,
                                     cli_size(pages[n], sz));
    say("%s memory: %s", name, buf);
}

int cli_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        { "host", required_argument, NULL, 'H' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *spec = CLI_DEFAULT_HOST;
    struct nc_domain_info di;
    struct nc_host_info hi;
    struct nc_node_info ni[NC_MAX_NUMNODES];
    nc_domid_t a, b, c, w;
    uint64_t got, mfn;
    uint32_t status;
    char why[256], s1[32];
    int opt, rc;

    while ( (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1 )
        switch ( opt )
        {
        case 'H':
            spec = optarg;
            break;
        case 'h':
            printf("usage: numaclaim demo [--host SPEC]\n");
            return 0;
        default:
            fprintf(stderr, "usage: numaclaim demo [--host SPEC]\n");
            return 2;
        }
    if ( optind != argc )
    {
        fprintf(stderr, "numaclaim demo: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    host = cli_host_create(spec);
    if ( !host )
        return 2;
    nc_host_overview(host, &hi, ni, NC_MAX_NUMNODES);
    if ( hi.nr_nodes < 2 || ni[0].size < 16 * GIB || ni[1].size < 16 * GIB )
    {
        fprintf(stderr, "numaclaim demo: the demo needs nodes 0 and 1 of at "
                        "least 16 GiB\n");
        nc_host_destroy(host);
        return 2;
    }
    nc_host_set_autocheck(host, NC_CHECK_COUNTERS);

    printf("numaclaim demo on host %s: claims staked, protected, redeemed, "
           "released and recalled.\n", spec);

    step("The host: every frame free, nothing claimed.");
    cli_print_overview(stdout, host);

    step("A builder stakes a claim set for vm-a: 12 GiB on node 0 and 12 GiB "
         "on node 1, atomically.");
    a = new_vm("vm-a", 24);
    expect(claim(a, 2, (struct nc_claim[]){ { .target = 0, .pages = 12 * GIB },
                                            { .target = 1, .pages = 12 * GIB } }),
           0, "claim SET");
    show_claims("vm-a", a);
    cli_print_overview(stdout, host);

    step("vm-b has no claim and asks for 8 GiB exactly on node 0.");
    b = new_vm("vm-b", 8);
    got = populate_gib(b, 0, 8, (struct nc_memflags){ .node = 0, .exact = true },
                       &rc);
    say("vm-b got %" PRIu64 " GiB, then populate failed with %s: the rest of "
        "node 0 is claimed by vm-a", got, strerror(-rc));
    expect(rc, -ENOMEM, "exact populate past the claim");
    say("vm-b gives that back and populates 8 GiB with no node named:");
    for ( uint64_t i = 0; i < got; i++ )
        expect(nc_depopulate(host, NC_DOMID_CONTROL, b, i * GIB, EXTENT_1G), 0,
               "depopulate");
    got = populate_gib(b, 0, 8, NC_MEMFLAGS_NONE, &rc);
    expect(rc, 0, "populate vm-b");
    show_placement("vm-b", b);

    step("vm-a populates its 24 GiB: each extent redeems its claim.");
    got = populate_gib(a, 0, 24, NC_MEMFLAGS_NONE, &rc);
    expect(rc, 0, "populate vm-a");
    show_placement("vm-a", a);
    nc_domain_getinfo(host, a, &di);
    say("vm-a: tot_pages %" PRIu64 ", outstanding claims %" PRIu64,
        di.tot_pages, di.outstanding);
    cli_print_overview(stdout, host);

    step("vm-c uses the legacy call: XENMEM_claim_pages with an absolute "
         "target of 6 GiB.");
    c = new_vm("vm-c", 6);
    expect(nc_claim_pages(host, NC_DOMID_CONTROL, c, 6 * GIB), 0,
           "claim_pages");
    show_claims("vm-c", c);
    got = populate_gib(c, 0, 2, NC_MEMFLAGS_NONE, &rc);
    expect(rc, 0, "populate vm-c");
    show_claims("vm-c after 2 GiB", c);
    expect(nc_claim_pages(host, NC_DOMID_CONTROL, c, 0), 0, "claim_pages 0");
    show_claims("vm-c after the toolstack's reset (target 0)", c);

    step("A frame on node 1 fails while vm-w has claimed all of node 1's "
         "unclaimed memory.");
    w = new_vm("vm-w", 16);
    /* Find a free frame on node 1: take one and give it back. */
    expect(nc_populate(host, NC_DOMID_CONTROL, w, 0, 0,
                       (struct nc_memflags){ .node = 1, .exact = true }, &mfn),
           0, "populate vm-w");
    expect(nc_depopulate(host, NC_DOMID_CONTROL, w, 0, 0), 0, "depopulate");
    nc_host_overview(host, &hi, ni, NC_MAX_NUMNODES);
    expect(claim(w, 1, (struct nc_claim[]){
                           { .target = 1, .pages = ni[1].free - ni[1].claimed } }),
           0, "claim SET");
    show_claims("vm-w", w);
    expect(nc_page_offline(host, NC_DOMID_CONTROL, mfn, true, &status), 0,
           "page offline");
    nc_domain_getinfo(host, w, &di);
    say("MFN %#" PRIx64 " offlined as broken (status %#x): node 1 lost a free "
        "frame, so vm-w's claim was recalled by %" PRIu64 " page(s) to keep "
        "node 1's claims within its free memory", mfn, status, di.recalled);
    expect(di.recalled == 1, 1, "recall of one page");
    show_claims("vm-w", w);

    step("Every domain is destroyed: claims released first, then pages "
         "freed.");
    expect(nc_domain_destroy(host, NC_DOMID_CONTROL, a), 0, "destroy");
    expect(nc_domain_destroy(host, NC_DOMID_CONTROL, b), 0, "destroy");
    expect(nc_domain_destroy(host, NC_DOMID_CONTROL, c), 0, "destroy");
    expect(nc_domain_destroy(host, NC_DOMID_CONTROL, w), 0, "destroy");
    cli_print_overview(stdout, host);
    nc_host_overview(host, &hi, NULL, 0);
    say("free %s of %s: all but the %" PRIu64 " offlined frame(s)",
        cli_size(hi.total_avail, s1), cli_size(hi.total_pages, why),
        hi.offlined_pages);

    rc = nc_host_check(host, NC_CHECK_FRAMES, why, sizeof(why));
    if ( rc )
    {
        fprintf(stderr, "numaclaim demo: invariant broken: %s\n", why);
        return 1;
    }
    printf("\nInvariants I1-I7 hold, checked frame by frame.\n");
    nc_host_destroy(host);
    return 0;
}
