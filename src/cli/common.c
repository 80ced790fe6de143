/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the subcommands: host creation from a spec, sizes for
 * people, the per-node overview table, and where the stand-ins live.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xencall.h>

#include "cli.h"
#include "hostspec.h"

struct nc_host *cli_host_create(const char *spec)
{
    struct nc_host_config cfg;
    struct nc_host *h;
    char err[256];
    int rc;

    if ( nc_host_config_parse(spec, &cfg, err, sizeof(err)) )
    {
        fprintf(stderr, "numaclaim: bad host spec: %s\n", err);
        return NULL;
    }
    rc = nc_host_create(&cfg, &h);
    if ( rc )
    {
        fprintf(stderr, "numaclaim: cannot create host '%s': %s\n", spec,
                strerror(-rc));
        return NULL;
    }
    return h;
}

/*
 * The command links the stand-ins (src/cli/meson.build), so xencall_open()
 * is numaclaim's own and the file it was loaded from names the directory,
 * in the build tree and installed alike.
 */
const char *cli_shim_dir(void)
{
    static char dir[PATH_MAX];
    char path[PATH_MAX], *slash;
    Dl_info info;

    if ( dir[0] )
        return dir;
    if ( !dladdr((void *)xencall_open, &info) || !info.dli_fname ||
         !realpath(info.dli_fname, path) )
        return ".";
    slash = strrchr(path, '/');
    if ( slash && slash != path )
        *slash = '\0';
    memcpy(dir, path, sizeof(dir));
    return dir;
}

const char *cli_size(uint64_t pages, char *buf)
{
    static const char *unit[] = { "KiB", "MiB", "GiB", "TiB" };
    uint64_t kib = pages * 4, scale = 1;
    unsigned int u = 0;

    if ( pages == 0 )
        return strcpy(buf, "0");
    while ( u < 3 && kib / scale >= 1024 )
    {
        scale *= 1024;
        u++;
    }
    if ( kib % scale == 0 )
        snprintf(buf, 32, "%" PRIu64 " %s", kib / scale, unit[u]);
    else                        /* truncated, so never shown as round */
        snprintf(buf, 32, "%" PRIu64 ".%02" PRIu64 " %s", kib / scale,
                 (kib % scale) * 100 / scale, unit[u]);
    return buf;
}

void cli_print_overview(FILE *f, struct nc_host *h)
{
    struct nc_host_info hi;
    struct nc_node_info n[NC_MAX_NUMNODES];
    char a[32], b[32], c[32], d[32];

    nc_host_overview(h, &hi, n, NC_MAX_NUMNODES);
    fprintf(f, "    node  %-10s %-10s %-10s %-10s %s\n", "size", "free",
            "claimed", "unclaimed", "cpus");
    for ( uint32_t i = 0; i < hi.nr_nodes; i++ )
    {
        char cpus[32];

        /* CPU ids are numbered node by node. */
        if ( n[i].cpus )
            snprintf(cpus, sizeof(cpus), "%u (%u-%u)", n[i].cpus,
                     n[i].first_cpu, n[i].first_cpu + n[i].cpus - 1);
        else
            snprintf(cpus, sizeof(cpus), "0");
        fprintf(f, "    %-4u  %-10s %-10s %-10s %-10s %s%s\n", i,
                cli_size(n[i].size, a), cli_size(n[i].free, b),
                cli_size(n[i].claimed, c),
                cli_size(n[i].free - n[i].claimed, d), cpus,
                n[i].online ? "" : "  (offline)");
    }
    fprintf(f, "    host  %-10s %-10s %-10s %-10s %u\n",
            cli_size(hi.total_pages, a), cli_size(hi.total_avail, b),
            cli_size(hi.outstanding_claims, c),
            cli_size(hi.total_avail - hi.outstanding_claims, d), hi.nr_cpus);
}

