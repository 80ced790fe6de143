/* SPDX-License-Identifier: MIT */
/*
 * The host: its NUMA nodes, creation from a struct nc_host_config, and
 * the host queries (physinfo, numainfo and the per-node overview of spec
 * §4).  Host specs ("4x64G;cpus=16") are parsed outside the core, by the
 * hosted src/hostspec, into that config.
 *
 * Node i's frames start where node i-1's end, node 0 at MFN 0.  pCPUs are
 * numbered node by node, node 0's first; 8 per node by default.  A node
 * may have memory and no CPU or the reverse, but the host needs a CPU.
 */
#include "private.h"

/* ========================================================================
 * Checks
 * ======================================================================== */

/* 10 to itself, above 10 to another node (the parser, src/hostspec, says
 * which entry breaks it). */
static int check_distances(const struct nc_host_config *cfg)
{
    for ( unsigned int i = 0; i < cfg->nr_nodes; i++ )
        for ( unsigned int j = 0; j < cfg->nr_nodes; j++ )
        {
            uint8_t d = cfg->distance[i][j];

            if ( (i == j && d != 10) || (i != j && d <= 10) )
                return -EINVAL;
        }
    return 0;
}

/* ========================================================================
 * Creation and queries
 * ======================================================================== */

/* A config that names no CPUs gets NC_DEFAULT_NODE_CPUS per node. */
static bool default_cpus(const struct nc_host_config *cfg)
{
    for ( unsigned int n = 0; n < cfg->nr_nodes; n++ )
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
    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
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
    bool online = false;

    if ( cfg->nr_nodes == 0 || cfg->nr_nodes > NC_MAX_NUMNODES )
        return -EINVAL;
    for ( unsigned int n = 0; n < cfg->nr_nodes; n++ )
        online |= cfg->node[n].online;
    if ( !online )
        return -EINVAL;        /* a host needs a node to allocate from */
    if ( check_distances(cfg) )
        return -EINVAL;
    if ( !default_cpus(cfg) )
    {
        uint64_t total = 0;

        for ( unsigned int n = 0; n < cfg->nr_nodes; n++ )
            total += cfg->cpus[n];
        if ( total == 0 || total > NC_MAX_CPUS )
            return -EINVAL;    /* a host runs on at least one CPU */
    }
    for ( unsigned int a = 0; a < cfg->nr_nodes; a++ )
    {
        if ( cfg->node[a].nr_ranges > NC_MAX_RANGES )
            return -EINVAL;
        for ( unsigned int i = 0; i < cfg->node[a].nr_ranges; i++ )
        {
            const struct nc_range *r = &cfg->node[a].range[i];

            if ( r->nr == 0 || r->start >= NC_MAX_MFN ||
                 r->nr > NC_MAX_MFN - r->start )
                return -EINVAL;
            for ( unsigned int b = 0; b <= a; b++ )
                for ( unsigned int j = 0; j < cfg->node[b].nr_ranges; j++ )
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
    for ( unsigned int n = 0; n < cfg->nr_nodes; n++ )
    {
        h->node_cpus[n] = default_cpus(cfg) ? NC_DEFAULT_NODE_CPUS
                                            : cfg->cpus[n];
        h->first_cpu[n] = h->nr_cpus;
        h->nr_cpus += h->node_cpus[n];
        if ( cfg->node[n].online )
            h->online_mask |= 1ULL << n;
        for ( unsigned int m = 0; m < cfg->nr_nodes; m++ )
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
        for ( unsigned int id = next_domid(h, 1); id < NC_DOMID_FIRST_RESERVED;
              id = next_domid(h, id + 1) )
            nc_domain_destroy(h, NC_DOMID_CONTROL, (nc_domid_t)id);
        if ( h->domain[NC_DOMID_CONTROL] )
            domain_put(h, h->domain[NC_DOMID_CONTROL]);
    }
    heap_fini(h);
    p2m_fini(&h->anon);
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
    for ( unsigned int n = 0; nodes && n < nr; n++ )
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

uint32_t nc_host_nr_nodes(const struct nc_host *h)
{
    return h->nr_nodes;         /* (c): no lock */
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
