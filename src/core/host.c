/* SPDX-License-Identifier: MIT */
/*
 * The host: its NUMA nodes, the spec-string parser, creation, and the host
 * queries (physinfo, numainfo and the per-node overview of spec §4).
 *
 * Host spec grammar (README.md has examples):
 *
 *   spec    := nodes { ";" option }        (each option at most once)
 *   option  := "dist=" d { "," d }         (N*N entries, row-major)
 *            | "cpus=" c                   (c pCPUs on every node)
 *            | "cpus=" c { "," c }         (one count per node)
 *   nodes   := N "x" size  |  size { "," size }
 *   size    := digits [ "K" | "M" | "G" | "T" ]     (binary; bytes if none)
 *
 * A distance is 10 to itself, 11..255 to another node; 255 means
 * unreachable (ACPI SLIT, Xen's NUMA_NO_DISTANCE: NC_NO_DISTANCE).  A
 * host needs some memory.
 *
 * Node i's frames start where node i-1's end, node 0 at MFN 0.  pCPUs are
 * numbered node by node, node 0's first; 8 per node by default.  A node
 * may have memory and no CPU or the reverse, but the host needs a CPU.
 * The parser is freestanding: it formats its own error messages.
 */
#include "private.h"

/* ========================================================================
 * Error messages without libc
 * ======================================================================== */

struct msg {
    char *buf;
    size_t len, used;
};

static void msg_str(struct msg *m, const char *s)
{
    for ( ; s && *s; s++ )
        if ( m->used + 1 < m->len )
            m->buf[m->used++] = *s;
    if ( m->len )
        m->buf[m->used] = '\0';
}

static void msg_part(struct msg *m, const char *s, size_t n)
{
    msg_str(m, "\"");
    for ( size_t i = 0; i < n && i < 40 && s[i]; i++ )
    {
        char c[2] = { s[i], '\0' };

        msg_str(m, c);
    }
    msg_str(m, n > 40 ? "...\"" : "\"");
}

static void msg_num(struct msg *m, uint64_t v)
{
    char tmp[24];
    int i = (int)sizeof(tmp) - 1;

    tmp[i] = '\0';
    do
        tmp[--i] = (char)('0' + v % 10);
    while ( (v /= 10) && i > 0 );
    msg_str(m, &tmp[i]);
}

static int fail(struct msg *m, const char *what, const char *s, size_t n,
                const char *why)
{
    msg_str(m, what);
    msg_str(m, " ");
    msg_part(m, s, n);
    msg_str(m, ": ");
    msg_str(m, why);
    return -EINVAL;
}

/* ========================================================================
 * Parsing
 * ======================================================================== */

/* True if the n characters at s start with the option name p. */
static bool has_prefix(const char *s, size_t n, const char *p)
{
    size_t i;

    for ( i = 0; p[i]; i++ )
        if ( i >= n || s[i] != p[i] )
            return false;
    return true;
}

static size_t span_until(const char *s, const char *stops)
{
    size_t n = 0;

    for ( ; s[n]; n++ )
        for ( const char *t = stops; *t; t++ )
            if ( s[n] == *t )
                return n;
    return n;
}

/* Digits only, no overflow: 0 on success. */
static int parse_uint(const char *s, size_t n, uint64_t *v)
{
    *v = 0;
    if ( n == 0 )
        return -1;
    for ( size_t i = 0; i < n; i++ )
    {
        if ( s[i] < '0' || s[i] > '9' )
            return -1;
        if ( *v > (UINT64_MAX - 9) / 10 )
            return -1;
        *v = *v * 10 + (uint64_t)(s[i] - '0');
    }
    return 0;
}

static int parse_size(const char *s, size_t n, uint64_t *pages,
                      struct msg *m)
{
    uint64_t v, shift = 0;

    if ( n > 0 )
        switch ( s[n - 1] )
        {
        case 'K': case 'k': shift = 10; break;
        case 'M': case 'm': shift = 20; break;
        case 'G': case 'g': shift = 30; break;
        case 'T': case 't': shift = 40; break;
        default: break;
        }
    if ( parse_uint(s, n - (shift ? 1 : 0), &v) )
        return fail(m, "node size", s, n,
                    "expected a number with an optional K, M, G or T suffix");
    if ( v > (UINT64_MAX >> shift) ||
         (v << shift) >> NC_PAGE_SHIFT >= NC_MAX_MFN )
        return fail(m, "node size", s, n, "too large");
    v <<= shift;
    if ( v % NC_PAGE_SIZE )
        return fail(m, "node size", s, n, "not a multiple of 4K");
    *pages = v >> NC_PAGE_SHIFT;
    return 0;
}

static int parse_distances(const char *s, struct nc_host_config *cfg,
                           struct msg *m)
{
    uint32_t n = cfg->nr_nodes, count = 0;
    const char *all = s;

    for ( ;; )
    {
        size_t len = span_until(s, ",;");
        uint64_t v;

        if ( parse_uint(s, len, &v) || v > 255 )
            return fail(m, "distance", s, len,
                        "expected a number from 10 to 255");
        if ( count < n * n )
            cfg->distance[count / n][count % n] = (uint8_t)v;
        count++;
        s += len;
        if ( *s != ',' )
            break;
        s++;
    }
    if ( count != n * n )
    {
        msg_str(m, "distance matrix ");
        msg_part(m, all, span_until(all, ";"));
        msg_str(m, ": has ");
        msg_num(m, count);
        msg_str(m, " entries, ");
        msg_num(m, n);
        msg_str(m, " nodes need ");
        msg_num(m, (uint64_t)n * n);
        return -EINVAL;
    }
    return 0;
}

/* ";cpus=N" (every node) or ";cpus=c0,c1,..." (one per node). */
static int parse_cpus(const char *s, struct nc_host_config *cfg,
                      struct msg *m)
{
    uint32_t n = cfg->nr_nodes, count = 0;
    uint64_t counts[NC_MAX_NUMNODES], total = 0;
    const char *all = s;
    size_t alen = span_until(s, ";");

    for ( ;; )
    {
        size_t len = span_until(s, ",;");
        uint64_t v;

        if ( parse_uint(s, len, &v) || v > NC_MAX_CPUS )
            return fail(m, "CPU count", s, len,
                        "expected a number from 0 to 4096");
        if ( count < n )
            counts[count] = v;
        count++;
        s += len;
        if ( *s != ',' )
            break;
        s++;
    }
    if ( count == 1 )                   /* the same on every node */
        for ( count = 1; count < n; count++ )
            counts[count] = counts[0];
    if ( count != n )
    {
        msg_str(m, "cpus ");
        msg_part(m, all, alen);
        msg_str(m, ": has ");
        msg_num(m, count);
        msg_str(m, " counts, the host has ");
        msg_num(m, n);
        msg_str(m, n == 1 ? " node" : " nodes");
        return -EINVAL;
    }
    for ( uint32_t i = 0; i < n; i++ )
        total += counts[i];
    if ( total == 0 )
        return fail(m, "cpus", all, alen, "the host needs at least one CPU");
    if ( total > NC_MAX_CPUS )
    {
        msg_str(m, "cpus ");
        msg_part(m, all, alen);
        msg_str(m, ": ");
        msg_num(m, total);
        msg_str(m, " CPUs in all, a host has at most 4096");
        return -EINVAL;
    }
    for ( uint32_t i = 0; i < n; i++ )
        cfg->cpus[i] = (uint32_t)counts[i];
    return 0;
}

/* Checks shared by the parser and nc_host_create. */
static int check_distances(const struct nc_host_config *cfg, struct msg *m)
{
    for ( uint32_t i = 0; i < cfg->nr_nodes; i++ )
        for ( uint32_t j = 0; j < cfg->nr_nodes; j++ )
        {
            uint8_t d = cfg->distance[i][j];

            if ( (i == j && d != 10) || (i != j && d <= 10) )
            {
                msg_str(m, "distance from node ");
                msg_num(m, i);
                msg_str(m, " to node ");
                msg_num(m, j);
                msg_str(m, " is ");
                msg_num(m, d);
                msg_str(m, i == j ? ": a node's distance to itself must be 10"
                                  : ": a remote distance must be above 10");
                return -EINVAL;
            }
        }
    return 0;
}

int nc_host_config_parse(const char *spec, struct nc_host_config *cfg,
                         char *err, size_t errlen)
{
    struct msg m = { err, errlen, 0 };
    const char *s = spec, *x;
    size_t len;
    uint64_t sizes[NC_MAX_NUMNODES], start = 0;
    uint32_t n = 0;
    bool seen_dist = false, seen_cpus = false;
    int rc;

    msg_str(&m, "");
    nc_memzero(cfg, sizeof(*cfg));
    if ( !spec || !*spec )
        return fail(&m, "host spec", "", 0, "empty");

    len = span_until(s, ";");
    for ( x = s; x < s + len && *x != 'x' && *x != 'X'; x++ )
        ;
    if ( x < s + len )                           /* NxSIZE */
    {
        uint64_t count;

        if ( parse_uint(s, (size_t)(x - s), &count) || count == 0 ||
             count > NC_MAX_NUMNODES )
            return fail(&m, "node count", s, (size_t)(x - s),
                        "expected a number from 1 to 64");
        rc = parse_size(x + 1, len - (size_t)(x + 1 - s), &sizes[0], &m);
        if ( rc )
            return rc;
        for ( n = 1; n < count; n++ )
            sizes[n] = sizes[0];
    }
    else                                         /* SIZE,SIZE,... */
    {
        const char *p = s;

        for ( ;; )
        {
            size_t l = span_until(p, ",;");

            if ( n == NC_MAX_NUMNODES )
                return fail(&m, "node list", s, len, "more than 64 nodes");
            rc = parse_size(p, l, &sizes[n++], &m);
            if ( rc )
                return rc;
            p += l;
            if ( *p != ',' )
                break;
            p++;
        }
    }

    cfg->nr_nodes = n;
    for ( uint32_t i = 0; i < n; i++ )
    {
        cfg->node[i].online = true;
        if ( sizes[i] )
        {
            cfg->node[i].nr_ranges = 1;
            cfg->node[i].range[0] = (struct nc_range){ start, sizes[i] };
        }
        start += sizes[i];
        cfg->cpus[i] = NC_DEFAULT_NODE_CPUS;
        for ( uint32_t j = 0; j < n; j++ )
            cfg->distance[i][j] = i == j ? 10 : 21;
    }
    if ( start > NC_MAX_MFN )
        return fail(&m, "host spec", s, len,
                    "more memory than 52 address bits reach");
    /* As hwloc topologies are: a host without memory has nothing to
     * claim or allocate (nodes of size 0 are fine next to others). */
    if ( start == 0 )
        return fail(&m, "host spec", s, len,
                    "no node has memory (no node size of 4K or more)");

    s += len;
    while ( *s == ';' )
    {
        bool dist, cpus;

        s++;
        len = span_until(s, ";");
        dist = has_prefix(s, len, "dist=");
        cpus = has_prefix(s, len, "cpus=");
        if ( !dist && !cpus )
            return fail(&m, "option", s, len,
                        "unknown (expected dist=... or cpus=...)");
        if ( (dist && seen_dist) || (cpus && seen_cpus) )
            return fail(&m, "option", s, len, "given twice");
        if ( dist )
        {
            seen_dist = true;
            rc = parse_distances(s + 5, cfg, &m);
            if ( !rc )
                rc = check_distances(cfg, &m);
        }
        else
        {
            seen_cpus = true;
            rc = parse_cpus(s + 5, cfg, &m);
        }
        if ( rc )
            return rc;
        s += len;
    }
    return 0;
}

/* ========================================================================
 * Creation and queries
 * ======================================================================== */

/* A config that names no CPUs gets NC_DEFAULT_NODE_CPUS per node. */
static bool default_cpus(const struct nc_host_config *cfg)
{
    for ( uint32_t n = 0; n < cfg->nr_nodes; n++ )
        if ( cfg->cpus[n] )
            return false;
    return true;
}

/* The boot messages: what the host is made of, as Xen's boot log says it. */
static void boot_messages(struct nc_host *h)
{
    char sz[16];

    printk(h, "numaclaim: %u node%s, %u CPU%s, %s of RAM", h->nr_nodes,
           h->nr_nodes == 1 ? "" : "s", h->nr_cpus, h->nr_cpus == 1 ? "" : "s",
           console_size(sz, h->total_pages));
    for ( uint32_t n = 0; n < h->nr_nodes; n++ )
    {
        const struct nc_node *nd = &h->node[n];
        char cpus[40], mem[80];

        if ( !h->node_cpus[n] )
            nc_format(cpus, sizeof(cpus), "no CPUs");
        else
            nc_format(cpus, sizeof(cpus), "CPUs %u-%u", h->first_cpu[n],
                      h->first_cpu[n] + h->node_cpus[n] - 1);
        if ( !nd->size )
            nc_format(mem, sizeof(mem), "no memory");
        else
            nc_format(mem, sizeof(mem), "%s in MFNs 0x%llx-0x%llx",
                      console_size(sz, nd->size),
                      (unsigned long long)nd->range[0].start,
                      (unsigned long long)nd->end - 1);
        printk(h, "NUMA: node %u: %s, %s%s", n, mem, cpus,
               nd->online ? "" : " (offline)");
    }
}

static int check_config(const struct nc_host_config *cfg)
{
    struct msg m = { NULL, 0, 0 };

    bool online = false;

    if ( cfg->nr_nodes == 0 || cfg->nr_nodes > NC_MAX_NUMNODES )
        return -EINVAL;
    for ( uint32_t n = 0; n < cfg->nr_nodes; n++ )
        online |= cfg->node[n].online;
    if ( !online )
        return -EINVAL;        /* a host needs a node to allocate from */
    if ( check_distances(cfg, &m) )
        return -EINVAL;
    if ( !default_cpus(cfg) )
    {
        uint64_t total = 0;

        for ( uint32_t n = 0; n < cfg->nr_nodes; n++ )
            total += cfg->cpus[n];
        if ( total == 0 || total > NC_MAX_CPUS )
            return -EINVAL;    /* a host runs on at least one CPU */
    }
    for ( uint32_t a = 0; a < cfg->nr_nodes; a++ )
    {
        if ( cfg->node[a].nr_ranges > NC_MAX_RANGES )
            return -EINVAL;
        for ( uint32_t i = 0; i < cfg->node[a].nr_ranges; i++ )
        {
            const struct nc_range *r = &cfg->node[a].range[i];

            if ( r->nr == 0 || r->start >= NC_MAX_MFN ||
                 r->nr > NC_MAX_MFN - r->start )
                return -EINVAL;
            for ( uint32_t b = 0; b <= a; b++ )
                for ( uint32_t j = 0; j < cfg->node[b].nr_ranges; j++ )
                {
                    const struct nc_range *q = &cfg->node[b].range[j];

                    if ( (b != a || j != i) && r->start < q->start + q->nr &&
                         q->start < r->start + r->nr )
                        return -EINVAL;         /* overlap */
                }
        }
    }
    return 0;
}

int nc_host_create(const struct nc_host_config *cfg, struct nc_host **hostp)
{
    struct nc_host *h;
    struct nc_domain_config dom0 = { .domid = NC_DOMID_CONTROL };
    nc_domid_t id;
    int rc;

    *hostp = NULL;
    rc = check_config(cfg);
    if ( rc )
        return rc;
    h = nc_zalloc(sizeof(*h));
    if ( !h )
        return -ENOMEM;
    nc_lock_init(&h->anon_lock, NC_RANK_ANON);
    nc_lock_init(&h->claims_lock, NC_RANK_CLAIMS);
    nc_lock_init(&h->domlist_lock, NC_RANK_DOMLIST);
    console_init(h);
    h->nr_nodes = cfg->nr_nodes;
    for ( uint32_t n = 0; n < cfg->nr_nodes; n++ )
    {
        h->node_cpus[n] = default_cpus(cfg) ? NC_DEFAULT_NODE_CPUS
                                            : cfg->cpus[n];
        h->first_cpu[n] = h->nr_cpus;
        h->nr_cpus += h->node_cpus[n];
        if ( cfg->node[n].online )
            h->online_mask |= 1ULL << n;
        for ( uint32_t m = 0; m < cfg->nr_nodes; m++ )
            h->distance[n][m] = cfg->distance[n][m];
    }
    h->autocheck = NC_DEBUG >= 1 ? NC_CHECK_COUNTERS : 0;
    h->domain = nc_zalloc(NC_DOMID_FIRST_RESERVED * sizeof(*h->domain));
    rc = h->domain ? heap_init(h, cfg) : -ENOMEM;
    if ( !rc )
        boot_messages(h);
    /* The control domain has a vCPU on every pCPU, as a dom0 does when
     * dom0_max_vcpus is not given. */
    dom0.max_vcpus = h->nr_cpus;
    if ( !rc )
        rc = nc_domain_create(h, NC_DOMID_CONTROL, &dom0, &id);
    if ( rc )
    {
        nc_host_destroy(h);
        return rc;
    }
    *hostp = h;
    return 0;
}

void nc_host_destroy(struct nc_host *h)
{
    if ( !h )
        return;
    if ( h->domain )
    {
        h->autocheck = 0;
        for ( uint32_t id = next_domid(h, 1); id < NC_DOMID_FIRST_RESERVED;
              id = next_domid(h, id + 1) )
            nc_domain_destroy(h, NC_DOMID_CONTROL, (nc_domid_t)id);
        if ( h->domain[NC_DOMID_CONTROL] )
            domain_put(h, h->domain[NC_DOMID_CONTROL]);
    }
    heap_fini(h);
    p2m_fini(&h->anon);
    badset_fini(&h->bad);
    domain_pool_fini(h);
    nc_free(h->domain);
    nc_lock_fini(&h->anon_lock);
    nc_lock_fini(&h->claims_lock);
    nc_lock_fini(&h->domlist_lock);
    console_fini(h);
    nc_free(h);
}

int nc_host_overview(struct nc_host *h, struct nc_host_info *info,
                     struct nc_node_info *nodes, uint32_t nr)
{
    nc_lock(&h->domlist_lock);
    heap_lock_all(h);
    if ( info )
    {
        info->nr_nodes = h->nr_nodes;
        info->total_pages = h->total_pages;
        info->total_avail = host_total_avail_locked(h);
        info->outstanding_claims = host_outstanding_locked(h);
        info->offlined_pages = host_offlined_locked(h);
        info->nr_domains = h->nr_domains - 1;
        info->nr_cpus = h->nr_cpus;
        info->max_mfn = h->nr_ranges ? h->ranges[h->nr_ranges - 1].end - 1
                                     : 0;
    }
    for ( uint32_t n = 0; nodes && n < nr; n++ )
    {
        bool exists = n < h->nr_nodes;

        nodes[n] = (struct nc_node_info){
            .online = exists && h->node[n].online,
            .size = exists ? h->node[n].size : 0,
            .free = exists ? h->node[n].avail : 0,
            .claimed = exists ? h->node[n].claimed : 0,
            .cpus = exists ? h->node_cpus[n] : 0,
            .first_cpu = exists ? h->first_cpu[n] : h->nr_cpus,
        };
    }
    heap_unlock_all(h);
    nc_unlock(&h->domlist_lock);
    return 0;
}

uint8_t nc_host_distance(const struct nc_host *h, uint32_t a, uint32_t b)
{
    if ( a >= h->nr_nodes || b >= h->nr_nodes )
        return 0;
    return h->distance[a][b];
}

uint32_t nc_host_mfn_node(const struct nc_host *h, uint64_t mfn)
{
    return mfn_node(h, mfn);
}
