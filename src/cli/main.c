/* SPDX-License-Identifier: MIT */
/*
 * The numaclaim command: dispatch to a subcommand.
 *
 *   numaclaim demo [--host SPEC]   claims staked, protected, redeemed and
 *                                  released on a simulated host, step by step
 *   numaclaim host SPEC            parse a host spec and print its topology
 *   numaclaim storm [OPTIONS]      the boot-storm simulator
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: numaclaim COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  storm [OPTIONS]     a boot storm under each placement policy\n"
            "                      (numaclaim storm --help)\n"
            "  sweep --vary P=V,.. the storm over values of one parameter\n"
            "                      (numaclaim sweep --help)\n"
            "  demo [--host SPEC]  walk through claims on a simulated NUMA host\n"
            "                      (default host " CLI_DEFAULT_HOST ")\n"
            "  host SPEC           show the topology a host spec describes\n"
            "  hostd [OPTIONS]     serve one host to many processes\n"
            "                      (numaclaim hostd --help)\n"
            "  env [--socket P]    the exports that put programs on that host\n"
            "  guest DOMID -- CMD  run CMD as a guest of domain DOMID\n"
            "  xenstored [OPTIONS] Debian's xenstored for that host, for xl\n"
            "                      (numaclaim xenstored --help)\n"
            "\n"
            "A host spec is NxSIZE (\"4x64G\") or a list of node sizes\n"
            "(\"64G,64G,32G,32G\"), optionally followed by \";dist=\" and the\n"
            "N*N SLIT distance matrix, row by row (default 10 local, 21 remote),\n"
            "and by \";cpus=N\" (pCPUs on every node) or \";cpus=N0,N1,...\"\n"
            "(one count per node; default 8 each), in either order.\n"
            "\n"
            "  numaclaim --help | --version\n");
}

int main(int argc, char **argv)
{
    if ( argc < 2 )
    {
        usage(stderr);
        return 2;
    }
    if ( !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") )
    {
        usage(stdout);
        return 0;
    }
    if ( !strcmp(argv[1], "--version") )
    {
        printf("numaclaim %s\n", NUMACLAIM_VERSION);
        return 0;
    }
    if ( !strcmp(argv[1], "demo") )
        return cli_demo(argc - 1, argv + 1);
    if ( !strcmp(argv[1], "host") )
        return cli_host(argc - 1, argv + 1);
    if ( !strcmp(argv[1], "storm") )
        return cli_storm(argc - 1, argv + 1);
    if ( !strcmp(argv[1], "sweep") )
        return cli_sweep(argc - 1, argv + 1);
    if ( !strcmp(argv[1], "hostd") )
        return cli_hostd(argc - 1, argv + 1);
    if ( !strcmp(argv[1], "env") )
        return cli_env(argc - 1, argv + 1);
    if ( !strcmp(argv[1], "guest") )
        return cli_guest(argc - 1, argv + 1);
    if ( !strcmp(argv[1], "xenstored") )
        return cli_xenstored(argc - 1, argv + 1);
    fprintf(stderr, "numaclaim: unknown command '%s' (try --help)\n", argv[1]);
    return 2;
}
