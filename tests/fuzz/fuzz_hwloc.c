/* SPDX-License-Identifier: MIT */
/*
 * fuzz-hwloc: the hwloc host loader (ts_host_resolve("hwloc:FILE.xml"),
 * src/toolstack/hosts.c) fed lstopo XML files.
 *
 * The input is written to a file and loaded.  The loader must accept it
 * or refuse it with a message; an accepted host must have 1 to 64 nodes
 * and a spec that the core's parser accepts as exactly that host (node
 * sizes, distances, pCPUs).  The bounded runs use both of hwloc's XML
 * backends (libxml2, and its minimal parser: HWLOC_LIBXML_IMPORT=0).
 * hwloc loads the libxml2 backend as a plugin and unloads it with each
 * topology: the harness keeps it loaded, so that LeakSanitizer can name
 * where a leak in it comes from (lsan.supp).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <numaclaim/core.h>

#include "hostspec.h"
#include "toolstack.h"
#include "fuzz.h"

#define HWLOC_XML_PLUGIN "/usr/lib/x86_64-linux-gnu/hwloc/hwloc_xml_libxml.so"

static char arg[80];
static struct ts_host host;
static struct nc_host_config cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = arg + strlen("hwloc:");
    char err[512];
    int fd, rc;

    if ( !arg[0] )
    {
        (void)dlopen(HWLOC_XML_PLUGIN, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
        snprintf(arg, sizeof(arg), "hwloc:/tmp/nc-fuzz-hwloc-%d.xml",
                 (int)getpid());
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if ( fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) )
        FZ_FAIL("cannot write %s", path);
    err[0] = '\0';
    rc = ts_host_resolve(arg, &host, err, sizeof(err));
    unlink(path);
    if ( rc )
    {
        if ( !err[0] )
            FZ_FAIL("refused without a message");
        return 0;
    }
    if ( host.nr_nodes < 1 || host.nr_nodes > TS_MAX_NODES )
        FZ_FAIL("a host of %u nodes", host.nr_nodes);
    if ( nc_host_config_parse(host.spec, &cfg, err, sizeof(err)) )
        FZ_FAIL("spec \"%s\" refused: %s", host.spec, err);
    if ( cfg.nr_nodes != host.nr_nodes )
        FZ_FAIL("spec \"%s\": %u nodes, loaded %u", host.spec, cfg.nr_nodes,
                host.nr_nodes);
    for ( uint32_t n = 0; n < host.nr_nodes; n++ )
    {
        uint64_t pages = 0;

        for ( uint32_t r = 0; r < cfg.node[n].nr_ranges; r++ )
            pages += cfg.node[n].range[r].nr;
        if ( pages != host.node_pages[n] || cfg.cpus[n] != host.node_cpus[n] )
            FZ_FAIL("spec \"%s\": node %u differs", host.spec, n);
        for ( uint32_t m = 0; m < host.nr_nodes; m++ )
            if ( cfg.distance[n][m] != host.distance[n][m] )
                FZ_FAIL("spec \"%s\": distance %u-%u differs", host.spec, n,
                        m);
    }
    return 0;
}
