/* SPDX-License-Identifier: MIT */
/*
 * `numaclaim host SPEC|hwloc:FILE|local`: show the topology a host
 * argument describes, as `storm --host` and `hostd --host` would use it,
 * so that it can be checked before a long run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../toolstack/toolstack.h"
#include "cli.h"

int cli_host(int argc, char **argv)
{
    static struct ts_host host;
    struct nc_host *h;
    struct nc_host_info hi;
    char a[32], err[512];

    if ( argc != 2 )
    {
        fprintf(stderr, "usage: numaclaim host SPEC|hwloc:FILE.xml|local\n");
        return 2;
    }
    /* A spec is shown as written; a topology as the spec it amounts to. */
    if ( !strncmp(argv[1], "hwloc:", 6) || !strcmp(argv[1], "local") )
    {
        if ( ts_host_resolve(argv[1], &host, err, sizeof(err)) )
        {
            fprintf(stderr, "numaclaim host: %s\n", err);
            return 2;
        }
        printf("%s: host spec %s\n", host.source, host.spec);
        h = cli_host_create(host.spec);
    }
    else
        h = cli_host_create(argv[1]);
    if ( !h )
        return 2;
    nc_host_overview(h, &hi, NULL, 0);
    printf("%u nodes, %s, %u CPUs\n", hi.nr_nodes,
           cli_size(hi.total_pages, a), hi.nr_cpus);
    cli_print_overview(stdout, h);
    printf("    distances:\n");
    for ( uint32_t i = 0; i < hi.nr_nodes; i++ )
    {
        printf("    ");
        for ( uint32_t j = 0; j < hi.nr_nodes; j++ )
            printf("%4u", nc_host_distance(h, i, j));
        printf("\n");
    }
    nc_host_destroy(h);
    return 0;
}
