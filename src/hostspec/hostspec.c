/* SPDX-License-Identifier: MIT */
/*
 * The host-spec parser and the size grammar (hostspec.h), moved out of the
 * freestanding core: it is only ever given text by hosted code, so its
 * messages are formatted with the C library.  Every message names the bad
 * part, quoted and cut at 40 characters.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hostspec.h"

/* ========================================================================
 * Messages
 * ======================================================================== */

struct msg {
    char *buf;
    size_t len, used;
};

static void __attribute__((format(printf, 2, 3)))
msg_add(struct msg *m, const char *fmt, ...)
{
    va_list ap;
    int n;

    if ( !m->len )
        return;
    va_start(ap, fmt);
    n = vsnprintf(m->buf + m->used, m->len - m->used, fmt, ap);
    va_end(ap);
    if ( n > 0 )
        m->used = m->used + (size_t)n < m->len ? m->used + (size_t)n
                                               : m->len - 1;
}

/* The n characters at s, quoted: the bad part of a message. */
static void msg_part(struct msg *m, const char *s, size_t n)
{
    msg_add(m, "\"%.*s%s", (int)(n < 40 ? n : 40), s, n > 40 ? "...\"" : "\"");
}

static int fail(struct msg *m, const char *what, const char *s, size_t n,
                const char *why)
{
    msg_add(m, "%s ", what);
    msg_part(m, s, n);
    msg_add(m, ": %s", why);
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

int nc_parse_size(const char *s, size_t n, uint64_t *pages, const char **why)
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
    *why = NULL;
    if ( parse_uint(s, n - (shift ? 1 : 0), &v) )
        *why = "expected a number with an optional K, M, G or T suffix";
    else if ( v > (UINT64_MAX >> shift) ||
              (v << shift) >> NC_PAGE_SHIFT >= NC_MAX_MFN )
        *why = "too large";
    else if ( (v << shift) % NC_PAGE_SIZE )
        *why = "not a multiple of 4K";
    if ( *why )
        return -EINVAL;
    *pages = (v << shift) >> NC_PAGE_SHIFT;
    return 0;
}

static int parse_size(const char *s, size_t n, uint64_t *pages,
                      struct msg *m)
{
    const char *why;

    return nc_parse_size(s, n, pages, &why) ? fail(m, "node size", s, n, why)
                                            : 0;
}

static int parse_distances(const char *s, struct nc_host_config *cfg,
                           struct msg *m)
{
    uint32_t n = cfg->nr_nodes, count = 0;
    const char *all = s;

    for ( ;; )
    {
        size_t len = strcspn(s, ",;");
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
        msg_add(m, "distance matrix ");
        msg_part(m, all, strcspn(all, ";"));
        msg_add(m, ": has %u entries, %u nodes need %llu", count, n,
                (unsigned long long)n * n);
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
    size_t alen = strcspn(s, ";");

    for ( ;; )
    {
        size_t len = strcspn(s, ",;");
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
        msg_add(m, "cpus ");
        msg_part(m, all, alen);
        msg_add(m, ": has %u counts, the host has %u node%s", count, n,
                n == 1 ? "" : "s");
        return -EINVAL;
    }
    for ( uint32_t i = 0; i < n; i++ )
        total += counts[i];
    if ( total == 0 )
        return fail(m, "cpus", all, alen, "the host needs at least one CPU");
    if ( total > NC_MAX_CPUS )
    {
        msg_add(m, "cpus ");
        msg_part(m, all, alen);
        msg_add(m, ": %llu CPUs in all, a host has at most 4096",
                (unsigned long long)total);
        return -EINVAL;
    }
    for ( uint32_t i = 0; i < n; i++ )
        cfg->cpus[i] = (uint32_t)counts[i];
    return 0;
}

/* The rule nc_host_create keeps too (10 to itself, above 10 to another
 * node), said here with the entry that breaks it. */
static int check_distances(const struct nc_host_config *cfg, struct msg *m)
{
    for ( uint32_t i = 0; i < cfg->nr_nodes; i++ )
        for ( uint32_t j = 0; j < cfg->nr_nodes; j++ )
        {
            uint8_t d = cfg->distance[i][j];

            if ( (i == j && d != 10) || (i != j && d <= 10) )
            {
                msg_add(m, "distance from node %u to node %u is %u: %s", i,
                        j, d, i == j ? "a node's distance to itself must be 10"
                                     : "a remote distance must be above 10");
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

    msg_add(&m, "%s", "");
    memset(cfg, 0, sizeof(*cfg));
    if ( !spec || !*spec )
        return fail(&m, "host spec", "", 0, "empty");

    len = strcspn(s, ";");
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
            size_t l = strcspn(p, ",;");

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
        len = strcspn(s, ";");
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
