/* SPDX-License-Identifier: MIT */
/*
 * fuzz-hostspec: the host-spec parser (nc_host_config_parse,
 * src/hostspec), the grammar of "4x64G", "64G,32G;dist=10,21,21,10;cpus=8".
 *
 * The input is the spec string.  The parser must accept it or refuse it
 * with -EINVAL and a message; an accepted spec must describe a host that
 * nc_host_create builds (or refuses only for memory), whose every
 * invariant then holds and whose shape is the one parsed, and which is
 * destroyed without a leak.  Hosts above 64 Ki frames are parsed only:
 * building one per input would measure malloc, not the parser.
 */
#include <errno.h>

#include <numaclaim/core.h>

#include "fuzz.h"
#include "hostspec.h"

#define MAX_BUILD_FRAMES (64u * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = fz_strdup(data, size);
    struct nc_host_config cfg;
    struct nc_host_info info;
    struct nc_host *h;
    char err[256], why[256];
    uint64_t frames = 0;
    int rc;

    err[0] = '\0';
    rc = nc_host_config_parse(spec, &cfg, err, sizeof(err));
    if ( rc )
    {
        if ( rc != -EINVAL || !err[0] || !memchr(err, '\0', sizeof(err)) )
            FZ_FAIL("refused with %d and no message", rc);
        goto out;
    }
    if ( cfg.nr_nodes < 1 || cfg.nr_nodes > NC_MAX_NUMNODES )
        FZ_FAIL("accepted %u nodes", cfg.nr_nodes);
    for ( uint32_t n = 0; n < cfg.nr_nodes; n++ )
        for ( uint32_t r = 0; r < cfg.node[n].nr_ranges; r++ )
            frames += cfg.node[n].range[r].nr;
    if ( frames > MAX_BUILD_FRAMES )
        goto out;

    rc = nc_host_create(&cfg, &h);
    if ( rc == -ENOMEM )
        goto out;
    if ( rc )
        FZ_FAIL("\"%s\" parsed but nc_host_create says %d", spec, rc);
    if ( nc_host_check(h, NC_CHECK_FRAMES, why, sizeof(why)) )
        FZ_FAIL("\"%s\": %s", spec, why);
    if ( nc_host_overview(h, &info, NULL, 0) )
        FZ_FAIL("\"%s\": no overview", spec);
    if ( info.nr_nodes != cfg.nr_nodes || info.total_avail != info.total_pages )
        FZ_FAIL("\"%s\": %u nodes, %llu of %llu pages free", spec,
                info.nr_nodes, (unsigned long long)info.total_avail,
                (unsigned long long)info.total_pages);
    nc_host_destroy(h);
 out:
    free(spec);
    return 0;
}
