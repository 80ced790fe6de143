/* SPDX-License-Identifier: MIT */
/*
 * The domain builder: one VM from config to running (or to a clean
 * failure), through libxenctrl only, one hypercall-sized step at a time.
 *
 *   CREATE    xc_domain_create, xc_domain_setmaxmem
 *   PLAN      read the host (free, claimed, distances), run the policy
 *   CLAIM     stake the plan's claim; claimsets re-plans on ENOMEM (the
 *             host changed since it looked) up to TS_REPLAN_TRIES times,
 *             then falls back to a host-wide claim; xapi falls back at
 *             once.  A claimsets VM whose config names its vnodes' nodes
 *             has a fixed plan: a refused claim fails it at once, naming
 *             the node short of memory (never re-planned, never moved)
 *
 * xapi and claimsets do PLAN and CLAIM as one step under the usage lock,
 * as xenopsd holds its numa_mutex around reading free memory, planning and
 * staking the claim: two such builders never plan on the same view, so a
 * big VM's plan is not undone by smaller ones that arrived after it.
 *   VNUMA     xc_domain_setvnuma with vmemranges around the MMIO hole
 *   POPULATE  one step per extent batch (at most 1 GiB): 1 GiB extents,
 *             falling back to 2 MiB and then 4 KiB where one fails; a
 *             claimsets vnode whose node claim was recalled (offlining)
 *             moves to the nearest node with room, its claims re-staked
 *   RELEASE   reset the claim (target 0), as libxl does after building
 *
 * Any failure destroys the domain: no page, claim or domain leaks.  The
 * outcome says whether it failed fast (before populating: nothing wasted)
 * or mid-build (pages populated, then thrown away).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toolstack.h"

#define GPFN_1G   (1ULL << 18)
#define GPFN_2M   (1ULL << 9)
/* The most extents one populate call names: a 1 GiB chunk's 2 MiB
 * extents, or a 2 MiB chunk's 4 KiB ones (a 1 GiB extent goes alone). */
#define STEP_MAX_EXTENTS 512

void ts_build_init(struct ts_build *b, const struct ts_vm *vm,
                   enum ts_policy policy)
{
    memset(b, 0, sizeof(*b));
    b->vm = vm;
    b->policy = policy;
    b->state = TS_BUILD_CREATE;
    b->order = 18;
}

static void usage(struct ts_build *b, bool lock)
{
    if ( b->usage_lock )
        b->usage_lock(b->usage_arg, lock);
}

static void fail(struct ts_build *b, xc_interface *xch, const char *what,
                 int err)
{
    b->error = err;
    snprintf(b->what, sizeof(b->what), "%s", what);
    b->outcome = b->state == TS_BUILD_POPULATE || b->populated
                 ? TS_OUT_FAILED_BUILD : TS_OUT_FAILED_CLAIM;
    /* The domain's count of claim pages recalled by offlining goes with
     * it: read it first, so that a failed build's loss is counted too.
     * Only a staked claim can have been recalled. */
    if ( b->domid && b->claimed != TS_CLAIM_NONE )
    {
        struct xen_domctl_claim_info ci;

        if ( !xc_domain_claim_info(xch, b->domid, &ci) )
            b->recalled = ci.recalled;
    }
    if ( b->domid )
        xc_domain_destroy(xch, b->domid);
    /* A destroyed domain's vCPUs no longer load its nodes, as libxl would
     * see on its next domain list.  Failures that come while the caller
     * holds the usage lock all come before the counting. */
    if ( b->counted && b->usage )
    {
        usage(b, true);
        for ( uint32_t n = 0; n < TS_MAX_NODES; n++ )
            if ( b->counted >> n & 1 )
                b->usage->vcpus[n] -= b->vm->vcpus;
        usage(b, false);
    }
    b->counted = 0;
    b->state = TS_BUILD_FAILED;
}

static bool step_create(struct ts_build *b, xc_interface *xch)
{
    struct xen_domctl_createdomain c = {
        .flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap,
        .max_vcpus = b->vm->vcpus,
        .max_evtchn_port = -1,
        .max_grant_frames = -1,
        .max_maptrack_frames = -1,
    };
    uint32_t domid = 0;

    if ( xc_domain_create(xch, &domid, &c) )
    {
        fail(b, xch, "xc_domain_create", errno);
        return false;
    }
    b->domid = domid;
    if ( xc_domain_setmaxmem(xch, domid, b->vm->maxmem_pages * 4) )
    {
        fail(b, xch, "xc_domain_setmaxmem", errno);
        return false;
    }
    b->state = TS_BUILD_PLAN;
    return true;
}

static bool step_claim(struct ts_build *b, xc_interface *xch, bool held);

/* claimsets' view: the slack on each node, what cpus= VMs hold, and this
 * VM's own hold given back on its first plan (it is being claimed now, in
 * this locked step).  The caller holds the usage lock. */
static void claimsets_view(struct ts_build *b)
{
    struct ts_usage *u = b->usage;

    if ( !b->replans )
        ts_usage_reserve(u, b->vm, b->view.nr_nodes, b->view.cpus, false);
    for ( uint32_t n = 0; n < b->view.nr_nodes; n++ )
    {
        b->view.slack[n] = ts_slack_pages(&u->slack, b->view.size[n]);
        b->view.reserved[n] = u->reserved[n];
    }
}

/*
 * The host as this plan sees it.  Its memory is read every time; its
 * topology (distances, pCPUs per node), which does not change while it
 * runs, only by the first plan of the builders sharing b->usage, as
 * xenopsd reads the host's NUMA topology once: the same view at a
 * fraction of the hypercalls (on 64 nodes numainfo's distance matrix
 * alone is 4,096 entries).  held: the caller has the usage lock.
 */
static int read_view(struct ts_build *b, xc_interface *xch, bool held)
{
    struct ts_usage *u = b->usage;
    struct ts_view *v = &b->view;
    bool known;

    if ( !u )
        return ts_view_read(xch, v);
    if ( ts_view_read_memory(xch, v) )
        return -1;
    if ( !held )
        usage(b, true);
    known = u->topo_nodes && u->topo_nodes == v->nr_nodes;
    if ( known )
    {
        memcpy(v->cpus, u->topo_cpus, sizeof(v->cpus));
        memcpy(v->distance, u->topo_distance, sizeof(v->distance));
    }
    if ( !held )
        usage(b, false);
    if ( known )
        return 0;
    if ( ts_view_read(xch, v) )
        return -1;
    if ( !held )
        usage(b, true);
    u->topo_nodes = v->nr_nodes;
    memcpy(u->topo_cpus, v->cpus, sizeof(u->topo_cpus));
    memcpy(u->topo_distance, v->distance, sizeof(u->topo_distance));
    if ( !held )
        usage(b, false);
    return 0;
}

static bool step_plan(struct ts_build *b, xc_interface *xch)
{
    /* xapi and claimsets: view, plan and claim under one lock (xenopsd's
     * numa_mutex). */
    bool one_step = b->policy == TS_POLICY_XAPI ||
                    b->policy == TS_POLICY_CLAIMSETS;
    char why[160];
    bool more;

    if ( one_step )
        usage(b, true);
    if ( read_view(b, xch, one_step) )
    {
        if ( one_step )
            usage(b, false);
        fail(b, xch, "reading the host", errno);
        return false;
    }
    if ( !one_step )
        usage(b, true);
    if ( b->usage )
    {
        memcpy(b->view.usage, b->usage->placed, sizeof(b->view.usage));
        memcpy(b->view.vcpu_load, b->usage->vcpus,
               sizeof(b->view.vcpu_load));
        if ( b->policy == TS_POLICY_CLAIMSETS )
            claimsets_view(b);
    }
    if ( !one_step )
        usage(b, false);
    if ( ts_plan(b->policy, &b->view, b->vm, &b->plan, why, sizeof(why)) )
    {
        if ( one_step )
            usage(b, false);
        fail(b, xch, why, errno == ENOMEM ? ENOMEM : EINVAL);
        return false;
    }
    b->state = TS_BUILD_CLAIM;
    if ( !one_step )
        return true;
    more = step_claim(b, xch, true);
    usage(b, false);
    return more;
}

/* After a failed node claim: one host-wide claim, vnodes no longer pinned
 * (only preferred), no affinity. */
static void fall_back_host_wide(struct ts_build *b)
{
    ts_plan_host_wide(b->vm, &b->plan);
    b->plan.node_affinity = 0;
    for ( uint32_t i = 0; i < b->plan.nr_vnodes; i++ )
        b->plan.vnode[i].exact = false;
}

static int set_affinity(xc_interface *xch, uint32_t domid, uint64_t mask)
{
    xc_nodemap_t map = xc_nodemap_alloc(xch);
    int rc;

    if ( !map )
        return -1;
    for ( uint32_t n = 0; n < TS_MAX_NODES; n++ )
        if ( mask >> n & 1 )
            map[n / 8] |= (uint8_t)(1u << (n % 8));
    rc = xc_domain_node_setaffinity(xch, domid, map);
    free(map);
    return rc;
}

/* held: the caller has the usage lock already. */
static void count_usage(struct ts_build *b, bool held)
{
    uint64_t nodes = b->plan.node_affinity;

    for ( uint32_t i = 0; i < b->plan.nr_vnodes; i++ )
        if ( b->plan.vnode[i].pnode != TS_NO_NODE )
            nodes |= 1ULL << b->plan.vnode[i].pnode;
    if ( !held )
        usage(b, true);
    for ( uint32_t n = 0; b->usage && n < TS_MAX_NODES; n++ )
        if ( nodes >> n & 1 )
        {
            b->usage->placed[n]++;
            b->usage->vcpus[n] += b->vm->vcpus;
        }
    b->counted = b->usage ? nodes : 0;
    if ( !held )
        usage(b, false);
}

/*
 * A fixed claim set (the config's pnodes) was refused: the first node
 * whose entry exceeds its unclaimed memory, named in b->what; -1 if the
 * host cannot be read or no entry is short (a host-wide shortfall).
 */
static int short_node(struct ts_build *b, xc_interface *xch)
{
    const struct ts_plan *p = &b->plan;
    struct ts_view v;

    if ( ts_view_read(xch, &v) )
        return -1;
    for ( uint32_t i = 0; i < p->nr_claims; i++ )
    {
        uint32_t n = p->claims[i].target;
        uint64_t left;

        if ( n >= v.nr_nodes )
            continue;
        left = v.free[n] > v.claimed[n] ? v.free[n] - v.claimed[n] : 0;
        if ( p->claims[i].pages > left )
        {
            snprintf(b->what, sizeof(b->what),
                     "xc_domain_claim_memory: node %u has %llu pages "
                     "unclaimed, its vnodes %llu", n, (unsigned long long)left,
                     (unsigned long long)p->claims[i].pages);
            return (int)n;
        }
    }
    return -1;
}

static bool step_claim(struct ts_build *b, xc_interface *xch, bool held)
{
    struct ts_plan *p = &b->plan;
    int rc = 0;

    if ( p->claim == TS_CLAIM_LEGACY )
    {
        rc = xc_domain_claim_pages(xch, b->domid, b->vm->memory_pages);
        if ( rc )
        {
            fail(b, xch, "xc_domain_claim_pages", errno);
            return false;
        }
    }
    else if ( p->claim == TS_CLAIM_SET )
    {
        xen_memory_claim_t set[TS_MAX_NODES + 1];
        uint32_t nr = p->nr_claims;

        memcpy(set, p->claims, nr * sizeof(set[0]));
        rc = xc_domain_claim_memory(xch, b->domid, XEN_DOMCTL_CLAIM_MEMORY_SET,
                                    &nr, set);
        if ( rc && errno == ENOMEM && b->vm->nr_vnodes &&
             b->policy == TS_POLICY_CLAIMSETS )
        {
            /* The config's pnodes: no other plan honours them. */
            char what[sizeof(b->what)];

            fail(b, xch, "xc_domain_claim_memory", ENOMEM);
            memcpy(what, b->what, sizeof(what));
            if ( short_node(b, xch) < 0 )
                memcpy(b->what, what, sizeof(what));
            return false;
        }
        if ( rc && errno == ENOMEM &&
             p->claims[0].target != XEN_DOMCTL_CLAIM_MEMORY_HOST )
        {
            /* Another builder took the memory since we looked. */
            if ( b->policy == TS_POLICY_CLAIMSETS &&
                 b->replans < TS_REPLAN_TRIES )
            {
                b->replans++;
                b->state = TS_BUILD_PLAN;
                return true;
            }
            fall_back_host_wide(b);
            return true;            /* the next step stakes it */
        }
        if ( rc )
        {
            fail(b, xch, "xc_domain_claim_memory", errno);
            return false;
        }
    }
    b->claimed = p->claim;
    if ( p->node_affinity && set_affinity(xch, b->domid, p->node_affinity) )
    {
        fail(b, xch, "xc_domain_node_setaffinity", errno);
        return false;
    }
    count_usage(b, held);
    ts_layout_plan(p, &b->layout);
    b->state = p->vnuma ? TS_BUILD_VNUMA : TS_BUILD_POPULATE;
    b->next = b->layout.range[0].start >> 12;
    return true;
}

static bool step_vnuma(struct ts_build *b, xc_interface *xch)
{
    const struct ts_plan *p = &b->plan;
    xen_vmemrange_t r[TS_MAX_RANGES];
    unsigned int dist[TS_MAX_VNODES * TS_MAX_VNODES];
    unsigned int v2p[TS_MAX_VNODES];
    unsigned int *v2v = ts_zalloc(b->vm->vcpus, sizeof(*v2v));
    int rc;

    if ( !v2v )
    {
        fail(b, xch, "vNUMA topology", ENOMEM);
        return false;
    }
    for ( uint32_t i = 0; i < b->layout.nr_ranges; i++ )
        r[i] = (xen_vmemrange_t){ .start = b->layout.range[i].start,
                                  .end = b->layout.range[i].end,
                                  .nid = b->layout.range[i].vnode };
    for ( uint32_t v = 0; v < p->nr_vnodes; v++ )
    {
        /* A vnode with no node named still needs a pnode for Xen: the
         * vnode's index on the host, as a hint only. */
        v2p[v] = p->vnode[v].pnode != TS_NO_NODE ? p->vnode[v].pnode
                                                 : v % b->view.nr_nodes;
        for ( uint32_t w = 0; w < p->nr_vnodes; w++ )
            dist[v * p->nr_vnodes + w] = p->vdistance[v][w];
        for ( uint32_t c = 0; c < p->vnode[v].nr_vcpus; c++ )
            if ( p->vnode[v].vcpu_first + c < b->vm->vcpus )
                v2v[p->vnode[v].vcpu_first + c] = v;
    }
    rc = xc_domain_setvnuma(xch, b->domid, p->nr_vnodes, b->layout.nr_ranges,
                            b->vm->vcpus, r, dist, v2v, v2p);
    ts_free(v2v);
    if ( rc )
    {
        fail(b, xch, "xc_domain_setvnuma", errno);
        return false;
    }
    b->state = TS_BUILD_POPULATE;
    return true;
}

static int node_pages(xc_interface *xch, uint32_t domid, uint64_t *pages)
{
    uint32_t nr = TS_MAX_NODES;

    memset(pages, 0, TS_MAX_NODES * sizeof(*pages));
    return xc_domain_node_pages(xch, domid, &nr, pages);
}

/* Where the vnode of the range just finished landed. */
static void account_vnode(struct ts_build *b, xc_interface *xch, uint32_t v)
{
    uint64_t now[TS_MAX_NODES];

    if ( node_pages(xch, b->domid, now) )
        return;
    for ( uint32_t n = 0; n < TS_MAX_NODES; n++ )
    {
        b->vnode_pages[v][n] += now[n] - b->node_base[n];
        b->node_base[n] = now[n];
    }
}

/*
 * claimsets: vnode vn cannot get its node's memory any more, its node
 * claim having been recalled (offlining took the node's free memory).
 * Move what is left of it to the nearest other node (ties: the lower)
 * where a claim set for everything still to populate is accepted: the
 * other vnodes' remainders on their nodes plus vn's on the new one.
 * False if no node takes it.
 */
static bool move_vnode(struct ts_build *b, xc_interface *xch, uint32_t vn)
{
    uint64_t need[TS_MAX_NODES] = { 0 }, left = 0, tried = 0;
    uint32_t from = b->plan.vnode[vn].pnode, nr_nodes = b->view.nr_nodes;

    for ( uint32_t i = b->range; i < b->layout.nr_ranges; i++ )
    {
        const struct ts_range *r = &b->layout.range[i];
        uint64_t first = i == b->range ? b->next : r->start >> 12;

        if ( r->vnode == vn )
            left += (r->end >> 12) - first;
        else if ( b->plan.vnode[r->vnode].pnode < TS_MAX_NODES )
            need[b->plan.vnode[r->vnode].pnode] += (r->end >> 12) - first;
        else
            return false;         /* a vnode without a node: not a split */
    }
    tried |= 1ULL << from;
    for ( ;; )
    {
        xen_memory_claim_t set[TS_MAX_NODES];
        uint32_t to = TS_NO_NODE, nr = 0;

        for ( uint32_t n = 0; n < nr_nodes; n++ )
            if ( !(tried >> n & 1) &&
                 (to == TS_NO_NODE ||
                  b->view.distance[from][n] < b->view.distance[from][to]) )
                to = n;
        if ( to == TS_NO_NODE )
            return false;
        tried |= 1ULL << to;
        need[to] += left;
        for ( uint32_t n = 0; n < nr_nodes; n++ )
            if ( need[n] )
                set[nr++] = (xen_memory_claim_t){ .pages = need[n],
                                                  .target = n };
        if ( !xc_domain_claim_memory(xch, b->domid,
                                     XEN_DOMCTL_CLAIM_MEMORY_SET, &nr, set) )
        {
            b->plan.vnode[vn].pnode = to;
            b->moves++;
            return true;
        }
        need[to] -= left;
    }
}

static bool step_populate(struct ts_build *b, xc_interface *xch)
{
    const struct ts_range *r = &b->layout.range[b->range];
    const struct ts_plan_vnode *v = &b->plan.vnode[r->vnode];
    uint64_t end = r->end >> 12, gpfn = b->next, left = end - gpfn, chunk;
    uint64_t nr, done;
    unsigned int flags = 0;
    uint32_t order = b->order;
    /* On the stack, and written whole before the call: a step makes no
     * allocation (under `none` the builds that fail make 50,000 steps). */
    xen_pfn_t list[STEP_MAX_EXTENTS];
    int rc;

    /* The largest extent that fits, capped by earlier failures in this
     * 1 GiB chunk (b->order). */
    while ( order > 0 &&
            ((gpfn & ((1ULL << order) - 1)) || left < (1ULL << order)) )
        order = order > 9 ? 9 : 0;
    chunk = order == 18 ? GPFN_1G : order == 9 ? GPFN_1G - gpfn % GPFN_1G
                                              : GPFN_2M - gpfn % GPFN_2M;
    if ( chunk > left )
        chunk = left;
    nr = chunk >> order;

    if ( v->pnode != TS_NO_NODE )
        flags = v->exact ? XENMEMF_exact_node(v->pnode)
                         : XENMEMF_node(v->pnode);
    /* A 1 GiB extent goes alone; chunk is at most 1 GiB for 2 MiB extents
     * and 2 MiB for 4 KiB ones. */
    assert(nr >= 1 && nr <= STEP_MAX_EXTENTS);
    /* A running sum, not gpfn + (i << order): the loop that the compiler
     * vectorises is then one add and one store per pair of extents (the
     * lists of the builds that fail are long: 14 million entries under
     * `none`). */
    for ( uint64_t i = 0, g = gpfn; i < nr; i++, g += 1ULL << order )
        list[i] = g;
    rc = xc_domain_populate_physmap(xch, b->domid, nr, order, flags, list);
    done = rc > 0 ? (uint64_t)rc : 0;
    b->extents[order == 18 ? 2 : order == 9 ? 1 : 0] += done;
    b->step_pages = done << order;
    b->populated += b->step_pages;
    b->next += b->step_pages;

    if ( done < nr )
    {
        if ( order == 0 && b->policy == TS_POLICY_CLAIMSETS && v->exact &&
             !b->vm->nr_vnodes && b->moves < TS_MAX_MOVES &&
             move_vnode(b, xch, r->vnode) )
        {
            b->order = 18;
            return true;
        }
        if ( order == 0 )
        {
            fail(b, xch, "xc_domain_populate_physmap", ENOMEM);
            return false;
        }
        b->order = order == 18 ? 9 : 0;     /* fall back for this chunk */
        return true;
    }
    if ( b->next % GPFN_1G == 0 || b->next == end )
        b->order = 18;                      /* a new chunk: 1 GiB again */
    else if ( b->order == 0 && b->next % GPFN_2M == 0 )
        /* Back to 2 MiB at each 2 MiB boundary: staying at 4 KiB to the
         * next 1 GiB would split intact 2 MiB blocks that builders
         * freeing memory meanwhile made available, and pieces taken by
         * interleaved builders never coalesce again. */
        b->order = 9;
    if ( b->next == end )
    {
        bool last_of_vnode = b->range + 1 == b->layout.nr_ranges ||
                             b->layout.range[b->range + 1].vnode != r->vnode;

        if ( last_of_vnode )
            account_vnode(b, xch, r->vnode);
        if ( ++b->range == b->layout.nr_ranges )
            b->state = TS_BUILD_RELEASE;
        else
            b->next = b->layout.range[b->range].start >> 12;
    }
    return true;
}

static bool step_release(struct ts_build *b, xc_interface *xch)
{
    /* Target 0 releases every claim, legacy or set, and always works. */
    if ( b->claimed != TS_CLAIM_NONE && xc_domain_claim_pages(xch, b->domid, 0) )
    {
        fail(b, xch, "releasing the claim", errno);
        return false;
    }
    b->outcome = TS_OUT_STARTED;
    b->state = TS_BUILD_DONE;
    return false;
}

bool ts_build_step(struct ts_build *b, xc_interface *xch)
{
    b->nr_steps++;
    b->step_pages = 0;
    switch ( b->state )
    {
    case TS_BUILD_CREATE:
        return step_create(b, xch);
    case TS_BUILD_PLAN:
        return step_plan(b, xch);
    case TS_BUILD_CLAIM:
        return step_claim(b, xch, false);
    case TS_BUILD_VNUMA:
        return step_vnuma(b, xch);
    case TS_BUILD_POPULATE:
        return step_populate(b, xch);
    case TS_BUILD_RELEASE:
        return step_release(b, xch);
    default:
        return false;
    }
}

void ts_build_run(struct ts_build *b, xc_interface *xch)
{
    while ( ts_build_step(b, xch) )
        ;
}
