/* SPDX-License-Identifier: MIT */
/*
 * The storm's locality model: from where a started VM's memory landed,
 * the expected share of its memory accesses that are node-local and
 * their expected SLIT distance.  Pure functions of the host's distances
 * and the pages per node, so the arithmetic can be checked by hand
 * (tests/test_storm.c); the model and its assumptions are in
 * docs/storm.md.
 */
#include "storm.h"

static uint64_t all_nodes(const struct ts_host *h, uint64_t affinity)
{
    if ( affinity )
        return affinity;
    return h->nr_nodes >= 64 ? ~0ULL : (1ULL << h->nr_nodes) - 1;
}

/*
 * Accesses from vCPUs spread evenly over the nodes of cpus, going to
 * memory distributed as want[n] / total; adds weight * (local share) and
 * weight * (mean distance) to *local and *distance.
 */
static void accesses(const struct ts_host *h, uint64_t cpus,
                     const double *want, double weight, double *local,
                     double *distance)
{
    uint32_t k = (uint32_t)__builtin_popcountll(cpus);

    for ( uint32_t c = 0; c < h->nr_nodes; c++ )
    {
        if ( !(cpus >> c & 1) )
            continue;
        for ( uint32_t n = 0; n < h->nr_nodes; n++ )
        {
            double p = want[n] * weight / k;

            *local += p * (n == c);
            *distance += p * h->distance[c][n];
        }
    }
}

void storm_locality_flat(const struct ts_host *h, const uint64_t *pages,
                         uint64_t affinity, double *local, double *distance)
{
    double want[TS_MAX_NODES];
    uint64_t total = 0;

    *local = *distance = 0;
    for ( uint32_t n = 0; n < h->nr_nodes; n++ )
        total += pages[n];
    if ( !total )
        return;
    for ( uint32_t n = 0; n < h->nr_nodes; n++ )
        want[n] = (double)pages[n] / total;
    accesses(h, all_nodes(h, affinity), want, 1.0, local, distance);
}

void storm_locality_vnuma(const struct ts_host *h, uint32_t nr_vnodes,
                          const uint32_t *pnode, const uint32_t *vcpus,
                          const uint64_t (*pages)[TS_MAX_NODES],
                          uint64_t affinity, double remote, double *local,
                          double *distance)
{
    uint64_t size[TS_MAX_VNODES], total = 0;
    uint32_t nr_vcpus = 0;

    *local = *distance = 0;
    for ( uint32_t i = 0; i < nr_vnodes; i++ )
    {
        size[i] = 0;
        for ( uint32_t n = 0; n < h->nr_nodes; n++ )
            size[i] += pages[i][n];
        total += size[i];
    }
    for ( uint32_t i = 0; i < nr_vnodes; i++ )
    {
        double want[TS_MAX_NODES];
        uint64_t others = total - size[i];
        /* One vnode holding everything has no other vnode to reach. */
        double r = others ? remote : 0;
        uint64_t cpus = pnode[i] < h->nr_nodes ? 1ULL << pnode[i]
                                               : all_nodes(h, affinity);

        if ( !vcpus[i] || !size[i] )
            continue;
        for ( uint32_t n = 0; n < h->nr_nodes; n++ )
        {
            uint64_t rest = 0;

            for ( uint32_t j = 0; j < nr_vnodes; j++ )
                if ( j != i )
                    rest += pages[j][n];
            want[n] = (1 - r) * pages[i][n] / size[i] +
                      (others ? r * rest / others : 0);
        }
        accesses(h, cpus, want, vcpus[i], local, distance);
        nr_vcpus += vcpus[i];
    }
    if ( nr_vcpus )
    {
        *local /= nr_vcpus;
        *distance /= nr_vcpus;
    }
}
