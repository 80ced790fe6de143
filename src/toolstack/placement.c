/* SPDX-License-Identifier: MIT */
/*
 * Placement policies: from a view of the host and a VM config to a plan
 * (node affinity, claim, vnodes and where each is populated).
 *
 *   none       libxl's automatic placement (libxl_numa.c): from
 *              ceil(vCPUs / pCPUs per node) nodes up, the smallest sets
 *              whose free memory and pCPUs fit the VM, lowest vCPU load,
 *              then most free; no claim.  Claims are invisible to it.
 *              No placement above 16 nodes.
 *   host       the same plus a legacy host-wide claim (xl claim_mode=1).
 *   xapi       xapi's NUMA placement (xenopsd's Softaffinity.plan over
 *              Topology.NUMA): node sets ordered by (max distance, average
 *              distance); the first whose unclaimed memory and pCPUs fit
 *              the VM fixes the average, and the sets after it with the
 *              same average compete on summed usage, then on their node
 *              lists from the highest node down.  A one-node plan gets a
 *              one-node claim and exact populate, a wider one a host-wide
 *              claim with node affinity to the set (Xen derives it from
 *              the vCPUs' soft affinity xapi sets).  A VM with cpus=
 *              (hard affinity) or vnodes is not placed: xapi skips hard
 *              affinity VMs and has no vNUMA.
 *   claimsets  the nearest node set (same order as xapi) that fits in
 *              free - claimed; among the sets as near, one that also
 *              leaves a slack per node (ts_slack) and what arrived cpus=
 *              VMs hold on their nodes (ts_usage's reserved) free, each
 *              dropped in turn when no such set fits with it;
 *              the VM is split into one vnode per node and claimed on all
 *              of them in one atomic claim set, each vnode populated
 *              exactly on its node.  The builder plans and claims it under
 *              the usage lock, as xapi's.
 *
 * A VM whose config gives vnodes with pnodes keeps them under every policy
 * but xapi (populated exactly there; claimsets claims them per node).
 * Candidate node sets are all subsets on hosts of up to 16 nodes; beyond
 * that xapi looks at single nodes only, libxl does not place at all and
 * claimsets looks at singletons and distance-ordered growth from each
 * node.  xapi and libxl count CPUs (a set's pCPUs must cover the vCPUs);
 * claimsets models memory only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toolstack.h"

static const char *const names[TS_NR_POLICIES] = {
    [TS_POLICY_NONE] = "none",
    [TS_POLICY_HOST] = "host",
    [TS_POLICY_XAPI] = "xapi",
    [TS_POLICY_CLAIMSETS] = "claimsets",
};

const char *ts_policy_name(enum ts_policy p)
{
    return p < TS_NR_POLICIES ? names[p] : "?";
}

int ts_policy_parse(const char *name, enum ts_policy *p)
{
    for ( unsigned int i = 0; i < TS_NR_POLICIES; i++ )
        if ( !strcmp(name, names[i]) )
        {
            *p = (enum ts_policy)i;
            return 0;
        }
    return -1;
}

int ts_view_read_memory(xc_interface *xch, struct ts_view *v)
{
    xen_sysctl_node_claims_t nodes[TS_MAX_NODES];
    uint32_t nr = TS_MAX_NODES;

    if ( xc_claim_overview(xch, NULL, &nr, nodes) )
        return -1;
    v->nr_nodes = nr < TS_MAX_NODES ? nr : TS_MAX_NODES;
    for ( uint32_t i = 0; i < v->nr_nodes; i++ )
    {
        v->free[i] = nodes[i].free;
        v->claimed[i] = nodes[i].claimed;
        v->size[i] = nodes[i].size;
    }
    return 0;
}

int ts_view_read(xc_interface *xch, struct ts_view *v)
{
    uint32_t dist[TS_MAX_NODES * TS_MAX_NODES];
    unsigned int n = TS_MAX_NODES, nr_cpus = TS_MAX_CPUS;
    xc_cputopo_t topo[TS_MAX_CPUS];

    if ( ts_view_read_memory(xch, v) ||
         xc_numainfo(xch, &n, NULL, dist) ||
         xc_cputopoinfo(xch, &nr_cpus, topo) )
        return -1;
    /* pCPUs per node, as xapi's topology counts them (cputopoinfo). */
    memset(v->cpus, 0, sizeof(v->cpus));
    for ( uint32_t c = 0; c < nr_cpus && c < TS_MAX_CPUS; c++ )
        if ( topo[c].node < v->nr_nodes )
            v->cpus[topo[c].node]++;
    for ( uint32_t i = 0; i < v->nr_nodes; i++ )
        for ( uint32_t j = 0; j < v->nr_nodes; j++ )
            v->distance[i][j] = (uint8_t)dist[i * n + j];
    return 0;
}

int ts_slack_parse(const char *s, struct ts_slack *slack)
{
    const char *end;
    uint64_t n;

    if ( ts_parse_dec(s, &end, UINT64_MAX, &n) )
        return -1;
    if ( !strcmp(end, "%") )
    {
        if ( n > 50 )
            return -1;
        *slack = (struct ts_slack){ .pct = (uint32_t)n };
        return 0;
    }
    if ( *end || n > (1ULL << 20) )
        return -1;
    *slack = (struct ts_slack){ .pages = n << 8 };   /* MiB to pages */
    return 0;
}

uint64_t ts_slack_pages(const struct ts_slack *slack, uint64_t pages)
{
    return slack->pct ? pages / 100 * slack->pct : slack->pages;
}

void ts_usage_reserve(struct ts_usage *u, const struct ts_vm *vm,
                      uint32_t nr_nodes, const uint32_t *node_cpus, bool add)
{
    uint64_t nodes, share;
    char why[128];

    /* vnodes with a pnode= hold their own pages on their nodes. */
    for ( uint32_t i = 0; i < vm->nr_vnodes; i++ )
    {
        uint64_t *r;

        if ( vm->vnode[i].pnode >= nr_nodes )
            continue;
        r = &u->reserved[vm->vnode[i].pnode];
        share = vm->vnode[i].pages;
        *r = add ? *r + share : *r > share ? *r - share : 0;
    }
    if ( vm->nr_vnodes )
        return;
    if ( ts_vm_cpu_nodes(vm, nr_nodes, node_cpus, &nodes, why, sizeof(why)) ||
         !nodes )
        return;
    share = (vm->memory_pages + (uint64_t)__builtin_popcountll(nodes) - 1) /
            (uint64_t)__builtin_popcountll(nodes);
    for ( ; nodes; nodes &= nodes - 1 )
    {
        uint64_t *r = &u->reserved[__builtin_ctzll(nodes)];

        *r = add ? *r + share : *r > share ? *r - share : 0;
    }
}

/* ========================================================================
 * Candidate node sets
 * ======================================================================== */

struct score {
    uint32_t max;                /* largest pairwise distance, self incl. */
    uint64_t sum;                /* sum over ordered pairs */
    uint32_t pairs;
};

struct candidate {
    uint64_t set;
    struct score score;
};

/*
 * The candidates depend on the distances only, so they are computed once
 * per topology and sorted in xapi's order: (max, average) ascending, then
 * by set.  Up to 16 nodes every subset; beyond, each node grown by nearest
 * neighbours.  The process keeps the table of the last topology planned
 * on.  A table never changes once built and is shared by reference: a
 * plan takes one under the cache's lock (table_get) and drops it when it
 * is done (table_put), so a plan on another topology, or ts_plan_forget,
 * replaces the process's table without freeing one that a plan in another
 * thread still reads.  A plan thus depends on ts_plan's arguments only.
 */
struct table {
    unsigned int refs;                   /* the cache's, and one a plan */
    uint32_t nr_nodes;
    uint8_t distance[TS_MAX_NODES][TS_MAX_NODES];
    uint32_t nr;
    struct candidate *c;                 /* nr of them, sorted */
    uint64_t *by_k;                      /* the sets again, by size */
    uint32_t k_first[TS_MAX_NODES + 2];  /* by_k index of size k */
};

static struct {
    pthread_mutex_t lock;                /* t, and every table's refs */
    struct table *t;                     /* NULL: none kept */
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void table_put(struct table *t)
{
    bool last;

    if ( !t )
        return;
    pthread_mutex_lock(&cache.lock);
    last = !--t->refs;
    pthread_mutex_unlock(&cache.lock);
    if ( last )
        ts_free(t);
}

void ts_plan_forget(void)
{
    struct table *t;

    pthread_mutex_lock(&cache.lock);
    t = cache.t;
    cache.t = NULL;
    pthread_mutex_unlock(&cache.lock);
    table_put(t);
}

static struct score score_of(const struct ts_view *v, uint64_t set)
{
    struct score s = { 0, 0, 0 };

    for ( uint32_t a = 0; a < v->nr_nodes; a++ )
    {
        if ( !(set >> a & 1) )
            continue;
        for ( uint32_t b = 0; b < v->nr_nodes; b++ )
        {
            if ( !(set >> b & 1) )
                continue;
            if ( v->distance[a][b] > s.max )
                s.max = v->distance[a][b];
            s.sum += v->distance[a][b];
            s.pairs++;
        }
    }
    return s;
}

/* Order by (max, average) ascending, exactly (no division). */
static int score_cmp(struct score a, struct score b)
{
    if ( a.max != b.max )
        return a.max < b.max ? -1 : 1;
    if ( a.sum * b.pairs != b.sum * a.pairs )
        return a.sum * b.pairs < b.sum * a.pairs ? -1 : 1;
    return 0;
}

static int candidate_cmp(const void *x, const void *y)
{
    const struct candidate *a = x, *b = y;
    int c = score_cmp(a->score, b->score);

    if ( c )
        return c;
    return a->set < b->set ? -1 : a->set > b->set;
}

static uint32_t build_candidates(const struct ts_view *v, struct candidate *out)
{
    uint32_t nr = 0;

    if ( v->nr_nodes <= 16 )
    {
        for ( uint64_t s = 1; s < (1ULL << v->nr_nodes); s++ )
            out[nr++] = (struct candidate){ s, score_of(v, s) };
        return nr;
    }
    for ( uint32_t seed = 0; seed < v->nr_nodes; seed++ )
    {
        uint64_t set = 0;

        for ( uint32_t k = 0; k < v->nr_nodes; k++ )
        {
            uint32_t best = TS_NO_NODE;

            for ( uint32_t n = 0; n < v->nr_nodes; n++ )
                if ( !(set >> n & 1) &&
                     (best == TS_NO_NODE ||
                      v->distance[seed][n] < v->distance[seed][best]) )
                    best = n;
            set |= 1ULL << best;
            out[nr++] = (struct candidate){ set, score_of(v, set) };
        }
    }
    return nr;
}

static void index_by_size(struct table *t)
{
    uint32_t count[TS_MAX_NODES + 2] = { 0 };

    for ( uint32_t i = 0; i < t->nr; i++ )
        count[__builtin_popcountll(t->c[i].set)]++;
    t->k_first[0] = 0;
    for ( uint32_t k = 1; k <= TS_MAX_NODES + 1; k++ )
        t->k_first[k] = t->k_first[k - 1] + count[k - 1];
    memset(count, 0, sizeof(count));
    for ( uint32_t i = 0; i < t->nr; i++ )
    {
        uint32_t k = (uint32_t)__builtin_popcountll(t->c[i].set);

        t->by_k[t->k_first[k] + count[k]++] = t->c[i].set;
    }
}

/* The table of v's topology, with a reference for the caller to drop
 * (table_put); NULL if out of memory.  One allocation: the table, then
 * its candidates, then by_k. */
static struct table *table_get(const struct ts_view *v)
{
    uint32_t max = v->nr_nodes <= 16 ? (1u << v->nr_nodes)
                                     : v->nr_nodes * v->nr_nodes;
    struct table *t, *old;

    pthread_mutex_lock(&cache.lock);
    t = cache.t;
    if ( t && t->nr_nodes == v->nr_nodes &&
         !memcmp(t->distance, v->distance, sizeof(t->distance)) )
    {
        t->refs++;
        pthread_mutex_unlock(&cache.lock);
        return t;
    }
    /* Built under the lock: builders starting together on one topology
     * build it once. */
    t = ts_zalloc(1, sizeof(*t) + max * (sizeof(*t->c) + sizeof(*t->by_k)));
    if ( !t )
    {
        pthread_mutex_unlock(&cache.lock);
        return NULL;
    }
    t->c = (struct candidate *)(t + 1);
    t->by_k = (uint64_t *)(t->c + max);
    t->nr = build_candidates(v, t->c);
    qsort(t->c, t->nr, sizeof(*t->c), candidate_cmp);
    index_by_size(t);
    t->nr_nodes = v->nr_nodes;
    memcpy(t->distance, v->distance, sizeof(t->distance));
    t->refs = 2;                          /* the cache's and the caller's */
    old = cache.t;
    cache.t = t;
    pthread_mutex_unlock(&cache.lock);
    table_put(old);
    return t;
}

static uint64_t set_sum(const uint64_t *x, uint64_t set)
{
    uint64_t s = 0;

    for ( ; set; set &= set - 1 )
        s += x[__builtin_ctzll(set)];
    return s;
}

static uint64_t set_usage(const struct ts_view *v, uint64_t set)
{
    uint64_t s = 0;

    for ( ; set; set &= set - 1 )
        s += v->usage[__builtin_ctzll(set)];
    return s;
}

/* best[k]: the sum of the k largest of x[0..n), for k = 0..n. */
static void top_k(const uint64_t *x, uint32_t n, uint64_t *best)
{
    uint64_t sorted[TS_MAX_NODES];

    for ( uint32_t i = 0; i < n; i++ )
    {
        uint32_t j = i;

        for ( ; j > 0 && sorted[j - 1] < x[i]; j-- )
            sorted[j] = sorted[j - 1];
        sorted[j] = x[i];
    }
    best[0] = 0;
    for ( uint32_t k = 0; k < n; k++ )
        best[k + 1] = best[k] + sorted[k];
}

/*
 * libxl's automatic placement (libxl__get_numa_candidate with numa_cmpf,
 * as numa_place_domain calls it): no placement on one node or on more
 * than 16.  The search starts at ceil(vCPUs / pCPUs per node) nodes when
 * every node has as many pCPUs, else at one, and takes the sets of the
 * smallest size that has any set whose free memory (claims invisible)
 * covers the VM and whose pCPUs cover its vCPUs.  Among them the lowest
 * vCPU load wins, then the most free memory; a tie keeps the set libxl
 * meets first, its combinations coming in lexicographic order of their
 * node lists.  0 if no set qualifies.  The sets come from the shared
 * candidate cache by size, so a VM that fits one node looks at n sets.
 */
static uint64_t libxl_place(const struct table *t, const struct ts_view *v,
                            const struct ts_vm *vm)
{
    uint64_t cpus[TS_MAX_NODES] = { 0 }, load[TS_MAX_NODES] = { 0 };
    uint64_t best = 0, best_load = 0, best_free = 0;
    uint64_t most_free[TS_MAX_NODES + 1], most_cpus[TS_MAX_NODES + 1];
    uint32_t per_node = v->cpus[0], min_nodes = 1;

    if ( v->nr_nodes <= 1 || v->nr_nodes > 16 || !t )
        return 0;
    for ( uint32_t n = 0; n < v->nr_nodes; n++ )
    {
        cpus[n] = v->cpus[n];
        load[n] = v->vcpu_load[n];
        if ( v->cpus[n] != per_node )
            per_node = 0;         /* uneven nodes: libxl starts at one */
    }
    if ( per_node )
        min_nodes = (vm->vcpus + per_node - 1) / per_node;
    if ( min_nodes < 1 )
        min_nodes = 1;
    if ( min_nodes > v->nr_nodes )
        min_nodes = v->nr_nodes;
    /* No set of k nodes has more free memory (pCPUs) than the k nodes
     * with the most: sizes where even those fall short are skipped
     * without walking their sets (on a full host, all 65,535 of them). */
    top_k(v->free, v->nr_nodes, most_free);
    top_k(cpus, v->nr_nodes, most_cpus);
    for ( uint32_t k = min_nodes; k <= v->nr_nodes && !best; k++ )
        for ( uint32_t i = t->k_first[k];
              most_free[k] >= vm->memory_pages && most_cpus[k] >= vm->vcpus &&
              i < t->k_first[k + 1]; i++ )
        {
            uint64_t s = t->by_k[i], f = set_sum(v->free, s);
            uint64_t l = set_sum(load, s), diff = s ^ best;

            if ( f < vm->memory_pages || set_sum(cpus, s) < vm->vcpus )
                continue;
            /* Met first in libxl's order: the lowest node the two sets
             * do not share is s's. */
            if ( !best || l < best_load ||
                 (l == best_load &&
                  (f > best_free ||
                   (f == best_free && (diff & -diff & s)))) )
            {
                best = s;
                best_load = l;
                best_free = f;
            }
        }
    return best;
}

/*
 * claimsets: the first set in (max, average) order whose capacity `cap`
 * fits (within `allowed`, if not 0: the VM's cpus= nodes); among those
 * with the same score, the least used, then the lowest set.  With
 * `level`, only sets of exactly that score count.  The score found goes
 * to *found, if not NULL.  0 if no set fits.
 */
static uint64_t nearest_fit(const struct table *t, const struct ts_view *v,
                            const uint64_t *cap, uint64_t pages,
                            uint64_t allowed, const struct score *level,
                            struct score *found)
{
    uint64_t best = 0, all = 0;
    uint32_t nr = t ? t->nr : 0;
    const struct candidate *c = t ? t->c : NULL;

    for ( uint32_t n = 0; n < v->nr_nodes; n++ )
        if ( !allowed || (allowed >> n & 1) )
            all += cap[n];
    if ( !c || all < pages )
        return 0;                 /* no set can fit: do not look */
    for ( uint32_t i = 0; i < nr; i++ )
    {
        uint64_t s = c[i].set;

        if ( level && score_cmp(c[i].score, *level) < 0 )
            continue;
        if ( (level || best) && score_cmp(c[i].score, level ? *level
                                                            : *found) > 0 )
            break;                /* past the best score's ties */
        if ( (allowed && (s & ~allowed)) || set_sum(cap, s) < pages )
            continue;
        if ( !best || set_usage(v, s) < set_usage(v, best) )
        {
            if ( !best && found )
                *found = c[i].score;
            best = s;
        }
    }
    return best;
}

/*
 * claimsets: the nearest node set that fits the VM in unclaimed memory
 * fixes the score (the locality) of its plan.  Among the sets of that
 * score it then takes, most careful first, one that fits with the slack
 * and what arrived cpus= VMs hold kept free (a VM with cpus= of its own
 * skips this pass), one with the slack only, and else one that fits at
 * all: the slack and the holds change which equally near set a VM gets,
 * never how near.  cap gets the capacities the set was chosen on.
 */
/* Capacities for claimsets_fit's passes: 0 keeps the slack and the holds
 * free, 1 the slack only, 2 nothing. */
static void capacities(const struct ts_view *v, uint32_t pass, uint64_t *cap)
{
    for ( uint32_t n = 0; n < v->nr_nodes; n++ )
    {
        uint64_t keep = pass == 2 ? 0 : v->slack[n];

        if ( pass == 0 )
            keep += v->reserved[n];
        cap[n] = v->free[n] > v->claimed[n] + keep
                 ? v->free[n] - v->claimed[n] - keep : 0;
    }
}

static uint64_t claimsets_fit(const struct table *t, const struct ts_view *v,
                              const struct ts_vm *vm, uint64_t cpu_nodes,
                              uint64_t *cap)
{
    struct score level;

    capacities(v, 2, cap);
    if ( !nearest_fit(t, v, cap, vm->memory_pages, cpu_nodes, NULL, &level) )
        return 0;
    for ( uint32_t pass = cpu_nodes ? 1 : 0; pass < 3; pass++ )
    {
        uint64_t set;

        capacities(v, pass, cap);
        set = nearest_fit(t, v, cap, vm->memory_pages, cpu_nodes, &level,
                          NULL);
        if ( set )
            return set;
    }
    return 0;                     /* not reached: pass 2 found the level */
}

/* Whether a's node list, read from its highest node down, sorts before
 * b's: xapi's last tie-break (OCaml's order on the reversed lists it
 * builds), where a list that is a prefix of the other comes first. */
static bool nodes_before(uint64_t a, uint64_t b)
{
    while ( a && b )
    {
        int ha = 63 - __builtin_clzll(a), hb = 63 - __builtin_clzll(b);

        if ( ha != hb )
            return ha < hb;
        a &= ~(1ULL << ha);
        b &= ~(1ULL << hb);
    }
    return !a && b;
}

/*
 * xapi's plan: walk the candidates in (max, average) order and keep the
 * valid ones (memory is a hard fit; the set's pCPUs must cover the vCPUs,
 * and with each pCPU counted as a core the core check is the same one).
 * The first valid set fixes the average distance, and only the valid sets
 * right after it whose average is within 1e-3 of it compete: the least
 * summed usage wins, then nodes_before().  Above 16 nodes xapi generates
 * single nodes only (all at distance 10, so in node order).  0 if nothing
 * is valid.
 */
static uint64_t xapi_place(const struct table *t, const struct ts_view *v,
                           const struct ts_vm *vm)
{
    uint64_t unclaimed[TS_MAX_NODES] = { 0 }, cpus[TS_MAX_NODES] = { 0 };
    uint64_t best = 0, all = 0, all_cpus = 0;
    const struct candidate *c = NULL;
    uint32_t nr = v->nr_nodes;
    double first = 0;

    for ( uint32_t n = 0; n < v->nr_nodes; n++ )
    {
        unclaimed[n] = v->free[n] > v->claimed[n] ? v->free[n] - v->claimed[n]
                                                  : 0;
        cpus[n] = v->cpus[n];
        all += unclaimed[n];
        all_cpus += cpus[n];
    }
    if ( all < vm->memory_pages || all_cpus < vm->vcpus )
        return 0;                 /* no set can be valid: do not look */
    if ( v->nr_nodes <= 16 )
    {
        if ( !t )
            return 0;
        c = t->c;
        nr = t->nr;
    }
    for ( uint32_t i = 0; i < nr; i++ )
    {
        uint64_t s = c ? c[i].set : 1ULL << i;
        double avg = c ? (double)c[i].score.sum / c[i].score.pairs
                       : v->distance[i][i];

        if ( set_sum(unclaimed, s) < vm->memory_pages ||
             set_sum(cpus, s) < vm->vcpus )
            continue;
        if ( !best )
        {
            best = s;
            first = avg;
            continue;
        }
        if ( avg - first >= 1e-3 || first - avg >= 1e-3 )
            break;                /* past the first valid set's average */
        if ( set_usage(v, s) < set_usage(v, best) ||
             (set_usage(v, s) == set_usage(v, best) && nodes_before(s, best)) )
            best = s;
    }
    return best;
}

/* ========================================================================
 * Plans
 * ======================================================================== */

static void one_vnode(const struct ts_vm *vm, struct ts_plan *plan)
{
    plan->nr_vnodes = 1;
    plan->vnode[0] = (struct ts_plan_vnode){
        .pages = vm->memory_pages,
        .pnode = TS_NO_NODE,
        .nr_vcpus = vm->vcpus,
    };
}

/* The VM's own vNUMA config, pnodes honoured (ts_vm_check_host has
 * checked them). */
static void config_vnodes(const struct ts_vm *vm, struct ts_plan *plan)
{
    plan->vnuma = true;
    plan->nr_vnodes = vm->nr_vnodes;
    for ( uint32_t i = 0; i < vm->nr_vnodes; i++ )
    {
        const struct ts_vnode *c = &vm->vnode[i];

        plan->vnode[i] = (struct ts_plan_vnode){
            .pages = c->pages,
            .pnode = c->pnode,
            .exact = c->pnode != TS_NO_NODE,
            .nr_vcpus = c->nr_vcpus,
            .vcpu_first = c->vcpu_first,
        };
        for ( uint32_t j = 0; j < vm->nr_vnodes; j++ )
            plan->vdistance[i][j] = c->vdistance[j];
    }
}

/* Split the VM over the nodes of `set`: as evenly as each node's capacity
 * (claimsets_fit's) allows (water filling), in 2 MiB units, vcpus in
 * proportion. */
static void split(const struct ts_view *v, const struct ts_vm *vm,
                  uint64_t set, const uint64_t *capacity,
                  struct ts_plan *plan)
{
    uint32_t node[TS_MAX_NODES], k = 0, vcpus_left = vm->vcpus;
    uint64_t cap[TS_MAX_NODES], share[TS_MAX_NODES] = { 0 };
    uint64_t left = vm->memory_pages;

    for ( uint32_t n = 0; n < v->nr_nodes && k < TS_MAX_VNODES; n++ )
        if ( set >> n & 1 )
        {
            node[k] = n;
            cap[k] = capacity[n];
            k++;
        }
    /* Water filling: repeatedly give every unfilled node an equal part. */
    while ( left )
    {
        uint32_t open = 0;
        uint64_t part;

        for ( uint32_t i = 0; i < k; i++ )
            open += share[i] < cap[i];
        if ( !open )
            break;
        /* Equal parts in 2 MiB units; a last remainder smaller than that
         * goes whole to the first node with room. */
        part = left / open >= 512 ? (left / open) & ~511ULL : left;
        for ( uint32_t i = 0; i < k && left; i++ )
        {
            uint64_t give = cap[i] - share[i];

            if ( share[i] >= cap[i] )
                continue;
            if ( give > part )
                give = part;
            if ( give > left )
                give = left;
            share[i] += give;
            left -= give;
        }
    }

    plan->vnuma = k > 1 || vm->nr_vnodes > 0;
    plan->nr_vnodes = 0;
    for ( uint32_t i = 0; i < k; i++ )
    {
        struct ts_plan_vnode *x;

        if ( !share[i] )
            continue;
        x = &plan->vnode[plan->nr_vnodes++];
        *x = (struct ts_plan_vnode){
            .pages = share[i],
            .pnode = node[i],
            .exact = true,
        };
    }
    /* vcpus in proportion to memory, the rounding to the last vnode. */
    for ( uint32_t i = 0, first = 0; i < plan->nr_vnodes; i++ )
    {
        uint32_t c = i + 1 == plan->nr_vnodes
                     ? vcpus_left
                     : (uint32_t)(vm->vcpus * plan->vnode[i].pages /
                                  vm->memory_pages);

        if ( c > vcpus_left )
            c = vcpus_left;
        plan->vnode[i].vcpu_first = first;
        plan->vnode[i].nr_vcpus = c;
        first += c;
        vcpus_left -= c;
    }
    for ( uint32_t i = 0; i < plan->nr_vnodes; i++ )
        for ( uint32_t j = 0; j < plan->nr_vnodes; j++ )
            plan->vdistance[i][j] =
                v->distance[plan->vnode[i].pnode][plan->vnode[j].pnode];
}

void ts_plan_host_wide(const struct ts_vm *vm, struct ts_plan *plan)
{
    plan->claim = TS_CLAIM_SET;
    plan->nr_claims = 1;
    plan->claims[0] = (xen_memory_claim_t){
        .pages = vm->memory_pages,
        .target = XEN_DOMCTL_CLAIM_MEMORY_HOST,
    };
}

/* A claim set with one entry per node of the plan's vnodes. */
/* A claim set with one entry per node of the plan's pinned vnodes, and a
 * host-wide entry for any vnode without a node. */
static void claim_per_node(struct ts_plan *plan)
{
    uint64_t per[TS_MAX_NODES] = { 0 }, anywhere = 0;

    for ( uint32_t i = 0; i < plan->nr_vnodes; i++ )
    {
        if ( plan->vnode[i].pnode == TS_NO_NODE )
            anywhere += plan->vnode[i].pages;
        else
            per[plan->vnode[i].pnode] += plan->vnode[i].pages;
    }
    plan->claim = TS_CLAIM_SET;
    plan->nr_claims = 0;
    if ( anywhere )
        plan->claims[plan->nr_claims++] = (xen_memory_claim_t){
            .pages = anywhere, .target = XEN_DOMCTL_CLAIM_MEMORY_HOST };
    for ( uint32_t n = 0; n < TS_MAX_NODES; n++ )
        if ( per[n] )
            plan->claims[plan->nr_claims++] =
                (xen_memory_claim_t){ .pages = per[n], .target = n };
}

static bool vnodes_pinned(const struct ts_vm *vm)
{
    for ( uint32_t i = 0; i < vm->nr_vnodes; i++ )
        if ( vm->vnode[i].pnode == TS_NO_NODE )
            return false;
    return vm->nr_vnodes > 0;
}

/* ts_plan on the candidates t (NULL on a one-node host without memory
 * for them), for a VM whose cpus= name cpu_nodes. */
static int plan_on(const struct table *t, enum ts_policy p,
                   const struct ts_view *v, const struct ts_vm *vm,
                   uint64_t cpu_nodes, struct ts_plan *plan, char *why,
                   size_t whylen)
{
    uint64_t set, cap[TS_MAX_NODES];

    /* A VM with its own vNUMA config keeps its vnodes under every policy
     * but xapi, which has no vNUMA: there it is a plain guest. */
    if ( vm->nr_vnodes > 0 && p != TS_POLICY_XAPI )
        config_vnodes(vm, plan);
    else
        one_vnode(vm, plan);

    switch ( p )
    {
    case TS_POLICY_NONE:
    case TS_POLICY_HOST:
        if ( cpu_nodes )
            plan->node_affinity = cpu_nodes;
        else if ( !vnodes_pinned(vm) )
            plan->node_affinity = libxl_place(t, v, vm);
        plan->claim = p == TS_POLICY_HOST ? TS_CLAIM_LEGACY : TS_CLAIM_NONE;
        return 0;

    case TS_POLICY_XAPI:
        /* xenopsd skips NUMA placement for a VM with hard affinity (its
         * plan never applies the mask); Xen then derives the node
         * affinity from the hard affinity, cpus= nodes here. */
        set = cpu_nodes ? 0 : xapi_place(t, v, vm);
        if ( set && __builtin_popcountll(set) == 1 )
        {
            uint32_t n = (uint32_t)__builtin_ctzll(set);

            plan->node_affinity = set;
            plan->vnode[0].pnode = n;
            plan->vnode[0].exact = true;
            plan->claim = TS_CLAIM_SET;
            plan->nr_claims = 1;
            plan->claims[0] = (xen_memory_claim_t){
                .pages = vm->memory_pages, .target = n };
            return 0;
        }
        /* A wider set: xapi only sets the vCPUs' soft affinity to its
         * CPUs, which Xen turns into node affinity; memory is claimed
         * host-wide. */
        ts_plan_host_wide(vm, plan);
        plan->node_affinity = cpu_nodes ? cpu_nodes : set;
        return 0;

    case TS_POLICY_CLAIMSETS:
        if ( vm->nr_vnodes )
        {
            /* Pinned vnodes claimed on their nodes, the rest host-wide. */
            claim_per_node(plan);
            return 0;
        }
        set = claimsets_fit(t, v, vm, cpu_nodes, cap);
        /* A guest has at most 32 vnodes: wider sets fall back. */
        if ( set && __builtin_popcountll(set) <= TS_MAX_VNODES )
        {
            uint64_t planned = 0;

            split(v, vm, set, cap, plan);
            for ( uint32_t i = 0; i < plan->nr_vnodes; i++ )
                planned += plan->vnode[i].pages;
            if ( planned == vm->memory_pages )
            {
                plan->node_affinity = set;
                claim_per_node(plan);
                return 0;
            }
            memset(plan, 0, sizeof(*plan));
            one_vnode(vm, plan);
        }
        ts_plan_host_wide(vm, plan);
        plan->node_affinity = cpu_nodes;
        return 0;

    default:
        snprintf(why, whylen, "unknown policy %d", (int)p);
        errno = EINVAL;
        return -1;
    }
}

int ts_plan(enum ts_policy p, const struct ts_view *v, const struct ts_vm *vm,
            struct ts_plan *plan, char *why, size_t whylen)
{
    struct table *t;
    uint64_t cpu_nodes;
    char msg[128];
    int rc;

    memset(plan, 0, sizeof(*plan));
    if ( ts_vm_check_host(vm, v->nr_nodes, v->cpus, &cpu_nodes, msg,
                          sizeof(msg)) )
    {
        snprintf(why, whylen, "%s: %s", vm->name, msg);
        errno = EINVAL;
        return -1;
    }
    /* The placing policies read the candidates, where no memory for them
     * would read as "no set fits": fail instead. */
    t = table_get(v);
    if ( !t && v->nr_nodes > 1 )
    {
        snprintf(why, whylen, "%s: planning: out of memory", vm->name);
        errno = ENOMEM;
        return -1;
    }
    rc = plan_on(t, p, v, vm, cpu_nodes, plan, why, whylen);
    table_put(t);
    return rc;
}
