/* SPDX-License-Identifier: MIT */
/*
 * `numaclaim host SPEC`: show the topology a host spec describes, so that a
 * spec can be checked before a long run.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

int cli_host(int argc, char **argv)
{
    struct nc_host *h;
    struct nc_host_info hi;
    char a[32];

    if ( argc != 2 )
    {
        fprintf(stderr, "usage: numaclaim host SPEC\n");
        return 2;
    }
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
