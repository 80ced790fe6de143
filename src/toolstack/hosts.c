/* SPDX-License-Identifier: MIT */
/*
 * Host topologies for the toolstack: ts_host_resolve() turns a host
 * argument into a struct ts_host and the numaclaim host spec it amounts to.
 * The argument is a host spec (checked by the core's parser), an lstopo XML
 * export ("hwloc:FILE.xml", read with libhwloc 2.x as a topology of another
 * machine) or "local" (this machine, through hwloc).  NUMA nodes are taken
 * in hwloc's logical order; each node's memory is its local_memory rounded
 * down to whole 4 KiB pages; distances come from the first latency matrix
 * that covers every NUMA node (10 local, 21 remote when there is none).  A
 * distance the core would reject is an error, never adjusted.  Each PU is
 * a pCPU of the first NUMA node (in logical order) whose cpuset holds it,
 * so a PU is counted once even where a CPU-less node (HBM in flat mode, a
 * CXL expander) shares its package's cpuset.  Whatever the source, the
 * result is written out as a spec ("S0,S1,...;dist=...;cpus=...", cpus=
 * left out when every node has the parser's default of 8; TS_SPEC_MAX
 * holds it for 64 nodes) and that spec is parsed again: it must describe
 * exactly the same host.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hwloc.h>

#include "numaclaim/core.h"
#include "hostspec.h"
#include "toolstack.h"

#if HWLOC_API_VERSION < 0x00020000
#error "numaclaim needs hwloc 2.x"
#endif

#define HWLOC_PREFIX    "hwloc:"
#define LOCAL_ARG       "local"
#define DEFAULT_REMOTE  21

/* ========================================================================
 * Messages and text
 * ======================================================================== */

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if ( err && errlen )
    {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Append to a bounded buffer; -1 (buffer unchanged past *used) if it does
 * not fit. */
static int __attribute__((format(printf, 4, 5)))
append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    if ( n < 0 || (size_t)n >= size - *used )
    {
        buf[*used] = '\0';
        return -1;
    }
    *used += (size_t)n;
    return 0;
}

/* Copy text into a fixed field, ending in "..." when it is cut short. */
static void set_text(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);

    if ( len < size )
    {
        memcpy(dst, src, len + 1);
        return;
    }
    memcpy(dst, src, size - 4);
    memcpy(dst + size - 4, "...", 4);
}

/* A node size as the spec writes it: the largest binary suffix that keeps
 * it exact ("96G", "1536M", "0"). */
static void format_size(char *buf, size_t size, uint64_t pages)
{
    static const struct {
        char suffix;
        unsigned int shift;
    } units[] = { { 'T', 40 }, { 'G', 30 }, { 'M', 20 }, { 'K', 10 } };
    uint64_t bytes = pages << NC_PAGE_SHIFT;

    if ( bytes == 0 )
    {
        snprintf(buf, size, "0");
        return;
    }
    for ( size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++ )
        if ( bytes % (1ULL << units[i].shift) == 0 )
        {
            snprintf(buf, size, "%" PRIu64 "%c", bytes >> units[i].shift,
                     units[i].suffix);
            return;
        }
    snprintf(buf, size, "%" PRIu64, bytes);         /* not reached */
}

/* ========================================================================
 * The spec a host amounts to
 * ======================================================================== */

static bool default_cpus(const struct ts_host *host)
{
    for ( uint32_t i = 0; i < host->nr_nodes; i++ )
        if ( host->node_cpus[i] != NC_DEFAULT_NODE_CPUS )
            return false;
    return true;
}

/* ";cpus=N" when every node has N, else one count per node. */
static int append_cpus(const struct ts_host *host, char *spec, size_t *used)
{
    bool same = true;

    if ( default_cpus(host) )
        return 0;
    for ( uint32_t i = 1; i < host->nr_nodes; i++ )
        same = same && host->node_cpus[i] == host->node_cpus[0];
    if ( append(spec, TS_SPEC_MAX, used, ";cpus=%u", host->node_cpus[0]) )
        return -1;
    for ( uint32_t i = 1; !same && i < host->nr_nodes; i++ )
        if ( append(spec, TS_SPEC_MAX, used, ",%u", host->node_cpus[i]) )
            return -1;
    return 0;
}

/* TS_SPEC_MAX holds the longest spec of a host the parser accepts. */
_Static_assert(TS_MAX_NODES == NC_MAX_NUMNODES, "a node per core node");
_Static_assert((1ULL << (NC_PADDR_BITS - 10)) <= 10000000000000ULL,
               "a node size in K has at most 13 digits");
_Static_assert(NC_MAX_CPUS <= 9999, "a CPU count has at most 4 digits");

/*
 * Write host->spec from the nodes, distances and CPUs, the matrix always
 * (so that the spec says what the host is).  Only a size beyond what the
 * parser accepts (from an hwloc XML) can make it too long, and the parser
 * would refuse that spec anyway.
 */
static int build_spec(struct ts_host *host, const char *label, char *err,
                      size_t errlen)
{
    char *spec = host->spec;
    size_t used = 0;
    char size[32];

    spec[0] = '\0';
    for ( uint32_t i = 0; i < host->nr_nodes; i++ )
    {
        format_size(size, sizeof(size), host->node_pages[i]);
        if ( append(spec, TS_SPEC_MAX, &used, "%s%s", i ? "," : "", size) )
            goto too_long;
    }
    if ( append(spec, TS_SPEC_MAX, &used, ";dist=") )
        goto too_long;
    for ( uint32_t i = 0; i < host->nr_nodes; i++ )
        for ( uint32_t j = 0; j < host->nr_nodes; j++ )
            if ( append(spec, TS_SPEC_MAX, &used, "%s%u", i || j ? "," : "",
                        host->distance[i][j]) )
                goto too_long;
    if ( append_cpus(host, spec, &used) )
        goto too_long;
    return 0;

 too_long:
    spec[0] = '\0';
    return fail(err, errlen, "%s: node sizes too large for a host spec (a "
                "host has at most 2^52 bytes)", label);
}

/* Parse host->spec again: it must give back exactly this host. */
static int check_spec(const struct ts_host *host, const char *label,
                      char *err, size_t errlen)
{
    struct nc_host_config *cfg = ts_zalloc(1, sizeof(*cfg));
    char msg[256];
    int rc = -1;

    if ( !cfg )
        return fail(err, errlen, "%s: out of memory", label);
    if ( nc_host_config_parse(host->spec, cfg, msg, sizeof(msg)) )
    {
        fail(err, errlen, "%s: %s", label, msg);
        goto out;
    }
    if ( cfg->nr_nodes != host->nr_nodes )
        goto mismatch;
    for ( uint32_t i = 0; i < cfg->nr_nodes; i++ )
    {
        uint64_t pages = 0;

        for ( uint32_t r = 0; r < cfg->node[i].nr_ranges; r++ )
            pages += cfg->node[i].range[r].nr;
        if ( pages != host->node_pages[i] )
            goto mismatch;
        for ( uint32_t j = 0; j < cfg->nr_nodes; j++ )
            if ( cfg->distance[i][j] != host->distance[i][j] )
                goto mismatch;
        if ( cfg->cpus[i] != host->node_cpus[i] )
            goto mismatch;
    }
    rc = 0;
    goto out;

 mismatch:
    fail(err, errlen, "%s: internal error: host spec \"%.64s%s\" does not "
         "parse back to the same host", label, host->spec,
         strlen(host->spec) > 64 ? "..." : "");
 out:
    ts_free(cfg);
    return rc;
}

/* ========================================================================
 * Host specs
 * ======================================================================== */

static int resolve_spec(const char *arg, struct ts_host *host, char *err,
                        size_t errlen)
{
    struct nc_host_config *cfg = ts_zalloc(1, sizeof(*cfg));
    char source[sizeof(host->source) + 16];
    int rc = -1;

    if ( !cfg )
        return fail(err, errlen, "host spec: out of memory");
    if ( nc_host_config_parse(arg, cfg, err, errlen) )
        goto out;                      /* the parser's own message */

    host->nr_nodes = cfg->nr_nodes;
    for ( uint32_t i = 0; i < cfg->nr_nodes; i++ )
    {
        for ( uint32_t r = 0; r < cfg->node[i].nr_ranges; r++ )
            host->node_pages[i] += cfg->node[i].range[r].nr;
        for ( uint32_t j = 0; j < cfg->nr_nodes; j++ )
            host->distance[i][j] = cfg->distance[i][j];
        host->node_cpus[i] = cfg->cpus[i];
    }
    snprintf(source, sizeof(source), "spec %s", arg);
    set_text(host->source, sizeof(host->source), source);

    if ( build_spec(host, "host spec", err, errlen) ||
         check_spec(host, "host spec", err, errlen) )
        goto out;
    rc = 0;
 out:
    ts_free(cfg);
    return rc;
}

/* ========================================================================
 * hwloc topologies
 * ======================================================================== */

/* Check that a file can be read, and starts like XML, before hwloc is
 * given it: a missing file is reported as such rather than as bad XML, and
 * a file that is no XML at all gets the same message whichever XML backend
 * hwloc has (libxml2 from libhwloc-plugins fails in set_xml, the built-in
 * minimal parser only in load, each with its own errno). */
static int check_readable(const char *path, const char *label, char *err,
                          size_t errlen)
{
    FILE *f = fopen(path, "r");
    int c;

    if ( !f )
        return fail(err, errlen, "%s: cannot read it: %s", label,
                    strerror(errno));
    do
        c = fgetc(f);
    while ( c == ' ' || c == '\t' || c == '\n' || c == '\r' );
    /* A UTF-8 byte-order mark may precede the declaration. */
    if ( c == 0xEF && fgetc(f) == 0xBB && fgetc(f) == 0xBF )
        c = fgetc(f);
    if ( c == EOF && ferror(f) )
    {
        int e = errno;

        fclose(f);
        return fail(err, errlen, "%s: cannot read it: %s", label,
                    strerror(e));
    }
    fclose(f);
    if ( c == EOF )
        return fail(err, errlen, "%s: empty file, not an hwloc XML topology",
                    label);
    if ( c != '<' )
        return fail(err, errlen, "%s: not an hwloc XML topology (not XML)",
                    label);
    return 0;
}

/*
 * The first latency matrix that covers every NUMA node, copied into
 * host->distance by logical index (the matrix's own order is that of
 * d->objs), its name in matrix.  0 if there is none, 1 if one was used,
 * -1 (message in err) on error.
 */
static int hwloc_distances(hwloc_topology_t topo, struct ts_host *host,
                           const unsigned int *os_index, const char *label,
                           char *matrix, size_t matrix_len, char *err,
                           size_t errlen)
{
    struct hwloc_distances_s **all = NULL, *d = NULL;
    unsigned int nr = 0, stored;
    int rc = 0;

    if ( hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &nr, NULL,
                                     HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) )
        return fail(err, errlen, "%s: cannot get the NUMA distances: %s",
                    label, strerror(errno));
    if ( nr == 0 )
        return 0;
    all = ts_zalloc(nr, sizeof(*all));
    if ( !all )
        return fail(err, errlen, "%s: out of memory", label);
    stored = nr;
    if ( hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &stored, all,
                                     HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) )
    {
        ts_free(all);
        return fail(err, errlen, "%s: cannot get the NUMA distances: %s",
                    label, strerror(errno));
    }
    if ( stored > nr )
        stored = nr;

    for ( unsigned int k = 0; k < stored && !d; k++ )
    {
        uint64_t seen = 0;
        bool covers = all[k]->nbobjs == host->nr_nodes;

        for ( unsigned int i = 0; covers && i < all[k]->nbobjs; i++ )
        {
            hwloc_obj_t o = all[k]->objs[i];

            if ( !o || o->type != HWLOC_OBJ_NUMANODE ||
                 o->logical_index >= host->nr_nodes ||
                 (seen & (1ULL << o->logical_index)) )
                covers = false;
            else
                seen |= 1ULL << o->logical_index;
        }
        if ( covers )
            d = all[k];
    }

    if ( d )
    {
        const char *name = hwloc_distances_get_name(topo, d);

        snprintf(matrix, matrix_len, "%s", name ? name : "unnamed");
        rc = 1;
        for ( unsigned int i = 0; rc == 1 && i < d->nbobjs; i++ )
            for ( unsigned int j = 0; rc == 1 && j < d->nbobjs; j++ )
            {
                unsigned int a = d->objs[i]->logical_index;
                unsigned int b = d->objs[j]->logical_index;
                uint64_t v = d->values[i * d->nbobjs + j];

                if ( a == b ? v != 10 : (v <= 10 || v > 255) )
                    rc = fail(err, errlen,
                              "%s: NUMA distance from node %u (P#%u) to node "
                              "%u (P#%u) is %" PRIu64 " in matrix \"%s\": %s",
                              label, a, os_index[a], b, os_index[b], v,
                              matrix,
                              a == b ? "a node's distance to itself must be 10"
                                     : "a remote distance must be from 11 to "
                                       "255");
                else
                    host->distance[a][b] = (uint8_t)v;
            }
    }

    for ( unsigned int k = 0; k < stored; k++ )
        hwloc_distances_release(topo, all[k]);
    ts_free(all);
    return rc;
}

/* Each PU to the first NUMA node (logical order) whose cpuset holds it. */
static int hwloc_cpus(hwloc_topology_t topo, struct ts_host *host,
                      const char *label, char *err, size_t errlen)
{
    int nr_pu = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    uint64_t total = 0;

    for ( int p = 0; p < nr_pu; p++ )
    {
        hwloc_obj_t pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU,
                                               (unsigned int)p);

        for ( uint32_t i = 0; pu && i < host->nr_nodes; i++ )
        {
            hwloc_obj_t o = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE,
                                                  i);

            if ( o && o->cpuset && hwloc_bitmap_isset(o->cpuset,
                                                      pu->os_index) )
            {
                host->node_cpus[i]++;
                total++;
                break;
            }
        }
    }
    if ( total == 0 )
        return fail(err, errlen, "%s: no NUMA node has a CPU (no PU in any "
                    "NUMA node's cpuset)", label);
    if ( total > NC_MAX_CPUS )
        return fail(err, errlen, "%s: %" PRIu64 " PUs, a numaclaim host has "
                    "at most %d", label, total, NC_MAX_CPUS);
    return 0;
}

/* path: an XML file, or NULL for this machine.  label names the source in
 * messages ("hwloc:FILE" or "local"). */
/*
 * Some malformed XML files crash Debian's libhwloc 2.9.0 inside
 * hwloc_topology_load() (a NULL bitmap in its object insertion; found by
 * fuzz-hwloc).  So a file is first loaded by a child process: if that
 * dies, the file is refused with a message, instead of the process
 * dying.  The child's crash signals are reset first, so that a sanitizer
 * does not report a crash of hwloc's as one of ours.
 */
static int probe_xml(const char *path, const char *label, char *err,
                     size_t errlen)
{
    static const int crash[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
    pid_t pid;
    int status;

    fflush(NULL);
    pid = fork();
    if ( pid < 0 )
        return fail(err, errlen, "%s: cannot check the file: %s", label,
                    strerror(errno));
    if ( pid == 0 )
    {
        hwloc_topology_t topo;

        for ( size_t i = 0; i < sizeof(crash) / sizeof(crash[0]); i++ )
            signal(crash[i], SIG_DFL);
        if ( !hwloc_topology_init(&topo) )
        {
            if ( !hwloc_topology_set_flags(
                     topo, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED) &&
                 !hwloc_topology_set_xml(topo, path) )
                (void)hwloc_topology_load(topo);
            hwloc_topology_destroy(topo);
        }
        _exit(0);
    }
    while ( waitpid(pid, &status, 0) < 0 )
        if ( errno != EINTR )
            return fail(err, errlen, "%s: cannot check the file: %s", label,
                        strerror(errno));
    if ( WIFEXITED(status) && WEXITSTATUS(status) == 0 )
        return 0;
    return fail(err, errlen, "%s: not a usable hwloc XML topology (hwloc "
                "crashes loading it%s%s)", label,
                WIFSIGNALED(status) ? ": " : "",
                WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "");
}

static int resolve_hwloc(const char *path, const char *label,
                         struct ts_host *host, char *err, size_t errlen)
{
    hwloc_topology_t topo;
    unsigned int os_index[TS_MAX_NODES];
    char matrix[64], source[1024];
    bool identity = true;
    uint64_t total = 0;
    unsigned int api = hwloc_get_api_version();
    int nr, have_matrix, rc = -1;
    size_t used = 0;

    if ( (api >> 16) != (HWLOC_API_VERSION >> 16) )
        return fail(err, errlen, "%s: built for hwloc API %#x, running with "
                    "%#x", label, (unsigned int)HWLOC_API_VERSION, api);
    if ( path && check_readable(path, label, err, errlen) )
        return -1;
    if ( path && probe_xml(path, label, err, errlen) )
        return -1;

    if ( hwloc_topology_init(&topo) )
        return fail(err, errlen, "%s: cannot set up an hwloc topology: %s",
                    label, strerror(errno));
    /*
     * Every node of the host, even those this process may not use (a
     * cgroup, or an XML exported from inside one); and no
     * HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM: an XML file describes another
     * machine.
     */
    if ( hwloc_topology_set_flags(topo,
                                  HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED) )
    {
        fail(err, errlen, "%s: cannot set the hwloc topology flags: %s",
             label, strerror(errno));
        goto out;
    }
    /* hwloc 2.x parses the file here, not in hwloc_topology_load(). */
    if ( path && hwloc_topology_set_xml(topo, path) )
    {
        fail(err, errlen, "%s: not a usable hwloc XML topology (hwloc "
             "cannot load it)", label);
        goto out;
    }
    /* Some failures (a topology without NUMA nodes) leave errno at 0. */
    errno = 0;
    if ( hwloc_topology_load(topo) )
    {
        int e = errno;

        /* errno differs between hwloc's XML backends: leave it out, so
         * that the message is the same with either. */
        if ( path )
            fail(err, errlen, "%s: not a usable hwloc XML topology (hwloc "
                 "cannot load it)", label);
        else
            fail(err, errlen, "%s: hwloc cannot discover this machine%s%s",
                 label, e ? ": " : "", e ? strerror(e) : "");
        goto out;
    }

    nr = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    if ( nr <= 0 )
    {
        fail(err, errlen, "%s: no NUMA nodes in the topology", label);
        goto out;
    }
    if ( nr > TS_MAX_NODES )
    {
        fail(err, errlen, "%s: %d NUMA nodes, a numaclaim host has at most "
             "%d", label, nr, TS_MAX_NODES);
        goto out;
    }

    host->nr_nodes = (uint32_t)nr;
    for ( int i = 0; i < nr; i++ )
    {
        hwloc_obj_t o = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE,
                                              (unsigned int)i);

        if ( !o )
        {
            fail(err, errlen, "%s: hwloc has no NUMA node L#%d", label, i);
            goto out;
        }
        os_index[i] = o->os_index;
        identity = identity && o->os_index == (unsigned int)i;
        host->node_pages[i] = o->attr->numanode.local_memory >> NC_PAGE_SHIFT;
        total += host->node_pages[i];
        for ( int j = 0; j < nr; j++ )
            host->distance[i][j] = i == j ? 10 : DEFAULT_REMOTE;
    }
    if ( total == 0 )
    {
        fail(err, errlen, "%s: no NUMA node has memory (%d NUMA node%s, no "
             "local_memory of 4 KiB or more)", label, nr, nr == 1 ? "" : "s");
        goto out;
    }

    if ( hwloc_cpus(topo, host, label, err, errlen) )
        goto out;
    have_matrix = hwloc_distances(topo, host, os_index, label, matrix,
                                  sizeof(matrix), err, errlen);
    if ( have_matrix < 0 )
        goto out;

    append(source, sizeof(source), &used, "%s: %d NUMA node%s", label, nr,
           nr == 1 ? "" : "s");
    if ( have_matrix )
        append(source, sizeof(source), &used, ", distances \"%s\"", matrix);
    else if ( nr > 1 )
        append(source, sizeof(source), &used, ", no NUMA distance matrix: "
               "default 10 local, %d remote", DEFAULT_REMOTE);
    if ( !path )
    {
        /* "Linux", or "XML"/"Synthetic" when HWLOC_XMLFILE/HWLOC_SYNTHETIC
         * stand in for this machine, as they do for lstopo. */
        const char *backend =
            hwloc_obj_get_info_by_name(hwloc_get_root_obj(topo), "Backend");

        append(source, sizeof(source), &used, ", hwloc backend %s",
               backend ? backend : "unknown");
    }
    if ( !identity )
    {
        append(source, sizeof(source), &used,
               ", nodes in hwloc logical order = OS nodes ");
        for ( int i = 0; i < nr; i++ )
            append(source, sizeof(source), &used, "%s%u", i ? "," : "",
                   os_index[i]);
    }
    set_text(host->source, sizeof(host->source), source);

    if ( build_spec(host, label, err, errlen) ||
         check_spec(host, label, err, errlen) )
        goto out;
    rc = 0;
 out:
    hwloc_topology_destroy(topo);
    return rc;
}

/* ========================================================================
 * Entry point
 * ======================================================================== */

int ts_host_resolve(const char *arg, struct ts_host *host, char *err,
                    size_t errlen)
{
    size_t plen = strlen(HWLOC_PREFIX);
    int rc;

    memset(host, 0, sizeof(*host));
    if ( err && errlen )
        err[0] = '\0';
    if ( !arg )
        arg = "";

    if ( !strncmp(arg, HWLOC_PREFIX, plen) )
        rc = arg[plen] ? resolve_hwloc(arg + plen, arg, host, err, errlen)
                       : fail(err, errlen, "host \"%s\": expected a file "
                              "name after \"" HWLOC_PREFIX "\"", arg);
    else if ( !strcmp(arg, LOCAL_ARG) )
        rc = resolve_hwloc(NULL, LOCAL_ARG, host, err, errlen);
    else
        rc = resolve_spec(arg, host, err, errlen);

    if ( rc )
        memset(host, 0, sizeof(*host));
    return rc;
}
