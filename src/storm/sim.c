/* SPDX-License-Identifier: MIT */
/*
 * Running a storm: the builders, the clock, the events and the metrics.
 *
 * Simulated time (the default).  A discrete-event loop keeps `builders`
 * build slots.  A VM arriving while a slot is free starts building at its
 * arrival time; otherwise it waits for the first slot to free up.  The
 * loop always runs the step of the slot whose clock is earliest (ties: the
 * lower slot), then advances that slot's clock by the step's cost: a
 * toolstack call costs STEP_SECONDS, populating costs SECONDS_PER_GIB per
 * GiB (zeroing pages dominates a real populate; docs/storm.md gives the
 * measurements behind the figure).  The order of steps, and so every
 * result, depends only on the scenario and its seed.
 *
 * Real threads (--threads).  `builders` threads each take the next VM and
 * run its build to the end; time is wall-clock.  Results may vary from run
 * to run, and the report says so.
 *
 * Real processes (--processes).  The same builders, each a process of its
 * own, on a private numaclaim hostd started for the policy: builders then
 * contend as separate toolstack processes do on one hypervisor.  Their
 * shared state (the next VM, the per-VM results, the placement counters
 * and the lock over them) lives in one shared anonymous mapping.
 *
 * Memory.  A VM keeps only what is reported (its struct storm_vm_result
 * of vms.c, under a hundred bytes, and its node entries); the builders'
 * working state (struct ts_build, about 30 KiB) lives in one slot per
 * builder, from when a build starts until it ends, and what the report
 * needs is copied out when the build finishes.
 *
 * Churn (--lifetime, --reboot, --ha-restart; simulated time only).  A VM
 * that started runs for its lifetime, then shuts down: its domain is
 * destroyed and its pages are free again, but dirty.  Xen takes clean
 * pages before dirty ones and scrubs dirty ones on allocation, so a build
 * whose step lands on a node with fewer clean free pages than it took
 * pays SCRUB_SECONDS_PER_GIB for the difference, and those pages are
 * clean again.  A reboot is a shutdown followed at once by a new build of
 * the same VM.  Domids are reused after destroy (Xen takes the lowest
 * free one); a create that fails while all guest domids are in use is
 * counted as failed_domid, not as a memory failure.
 *
 * Metrics: each build, when it ends, leaves its VM's compact record
 * (vms.c: outcome, where its memory is, its locality under locality.c's
 * model), filled from the builder's slot while that is still valid; a
 * reboot's build replaces the VM's record once the previous build has
 * been counted.  The run's figures are sums and vCPU-weighted means over
 * every build.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../hostd/hostd.h"
#include "../spawn/spawn.h"
#include "storm.h"

#define STEP_SECONDS     0.002
#define SECONDS_PER_GIB  0.25
#define GIB              (1ULL << 18)
/* Scrubbing dirty pages on allocation: Xen's boot scrub zeroes 128 GB in
 * 49 s on one CPU, 2.6 GB/s (the figure in Xen commit 7430a86de0's
 * message), so about 0.41 s per GiB on the allocating CPU. */
#define SCRUB_SECONDS_PER_GIB  0.41

/* What the report needs of one VM's (last) build. */
/* The sums of the metrics over the builds counted so far. */
struct sums {
    double loc, dist, vcpus;
    uint32_t fit, fit_one;
    double *latency;             /* arrival to running, of started builds */
    uint32_t nr_latency, cap_latency;
};

struct sim {
    const struct storm_scenario *s;
    struct storm_result *r;
    xc_interface *xch;
    struct ts_usage usage;
    double sample_every;
    uint32_t done;
    struct storm_vm_log log;     /* per-VM results, shared with builders */
    /* Churn, in simulated time. */
    uint64_t dirty[TS_MAX_NODES];
    uint64_t dirty_total;
    uint64_t extent_pages[3];    /* populated so far: 4 KiB, 2 MiB, 1 GiB */
    uint32_t guests;             /* guest domains now */
    struct sums sums;            /* of the builds counted so far */
};

/* ========================================================================
 * Samples
 * ======================================================================== */

static void sample(struct sim *m, double now)
{
    struct storm_result *r = m->r;
    struct storm_sample *x;
    xen_sysctl_node_claims_t nodes[TS_MAX_NODES];
    struct xc_claim_overview host;
    uint32_t nr = TS_MAX_NODES;
    uint64_t node_claims = 0;

    if ( r->nr_samples &&
         now < r->sample[r->nr_samples - 1].time + m->sample_every )
        return;
    if ( r->nr_samples == STORM_MAX_SAMPLES )
    {
        /* Full: keep every other sample, sample half as often. */
        for ( uint32_t i = 0; i < STORM_MAX_SAMPLES / 2; i++ )
            r->sample[i] = r->sample[2 * i];
        r->nr_samples = STORM_MAX_SAMPLES / 2;
        m->sample_every *= 2;
    }
    if ( xc_claim_overview(m->xch, &host, &nr, nodes) )
        return;
    x = &r->sample[r->nr_samples++];
    x->time = now;
    memcpy(x->extent_pages, m->extent_pages, sizeof(x->extent_pages));
    x->dirty = m->dirty_total;
    if ( !m->s->heap_samples ||
         storm_heap_read(m->xch, &x->free_2m, &x->offlined) )
        x->free_2m = x->offlined = STORM_HEAP_UNKNOWN;
    for ( uint32_t n = 0; n < nr && n < TS_MAX_NODES; n++ )
    {
        x->free[n] = nodes[n].free;
        x->claimed[n] = nodes[n].claimed;
        node_claims += nodes[n].claimed;
    }
    /* Outstanding claims are the host-wide ones plus the node ones. */
    x->host_claimed = host.outstanding_pages > node_claims
                      ? host.outstanding_pages - node_claims : 0;
}

static void guest_added(struct sim *m)
{
    if ( ++m->guests > m->r->peak_guests )
        m->r->peak_guests = m->guests;
}

/* ========================================================================
 * Set-up: the guests already running
 * ======================================================================== */

/* Uneven: node i of N holds fill * (1.5 - i / (N - 1)) of its memory. */
static int fill_host(struct sim *m)
{
    const struct storm_scenario *s = m->s;
    uint32_t n = s->host.nr_nodes;
    struct ts_build *b = malloc(sizeof(*b));

    if ( !b )
    {
        snprintf(m->r->message, sizeof(m->r->message), "out of memory");
        return -1;
    }

    for ( uint32_t i = 0; i < n && s->fill_pct; i++ )
    {
        double share = s->fill_pct / 100.0 *
                       (n > 1 ? 1.5 - (double)i / (n - 1) : 1.0);
        uint64_t pages;
        struct ts_vm vm;

        if ( share > 0.95 )
            share = 0.95;
        pages = (uint64_t)(s->host.node_pages[i] * share) & ~511ULL;
        if ( !pages )
            continue;
        memset(&vm, 0, sizeof(vm));
        snprintf(vm.name, sizeof(vm.name), "fill%u", i);
        vm.memory_pages = vm.maxmem_pages = pages;
        vm.vcpus = 1;
        vm.nr_vnodes = 1;
        vm.vnode[0] = (struct ts_vnode){ .pages = pages, .pnode = i,
                                         .nr_vcpus = 1, .vdistance = { 10 } };
        ts_build_init(b, &vm, TS_POLICY_NONE);
        ts_build_run(b, m->xch);
        if ( b->outcome != TS_OUT_STARTED )
        {
            snprintf(m->r->message, sizeof(m->r->message),
                     "filling node %u failed (%s)", i, strerror(b->error));
            free(b);
            return -1;
        }
        guest_added(m);
    }
    free(b);
    return 0;
}

/* ========================================================================
 * Events
 * ======================================================================== */

static void offline_frames(struct sim *m, uint64_t pages)
{
    /* Free frames from the top of the host down, as failing DIMMs would
     * take whatever is there; owned ones go pending. */
    uint64_t total = 0;

    for ( uint32_t n = 0; n < m->s->host.nr_nodes; n++ )
        total += m->s->host.node_pages[n];
    /* page_offline_op names frames in 32 bits: the top 16 TiB at most. */
    if ( total > (1ULL << 32) )
        total = 1ULL << 32;
    for ( uint64_t k = 0, mfn = total; k < pages; k++ )
    {
        uint64_t step = 1 + (k * 7919) % 64;     /* spread, deterministic */
        uint32_t status;

        if ( mfn < step )
            break;
        mfn -= step;
        xc_page_offline_op(m->xch, sysctl_page_offline, (uint32_t)mfn,
                           (uint32_t)mfn, &status);
    }
}

static void balloon(xc_interface *xch, const struct ts_build *b)
{
    struct ts_balloon bl;

    if ( ts_balloon_down(xch, b, b->vm->memory_pages / 10, &bl) == 0 )
        ts_balloon_up(xch, b, &bl);
}


/* ========================================================================
 * Metrics
 * ======================================================================== */

/* Count one finished build, from its VM's record, into the result. */
static void count_build(struct sim *m, const struct storm_vm_result *v)
{
    const struct ts_vm *vm = m->s->vms[v->vm];
    struct storm_result *r = m->r;
    struct sums *t = &m->sums;
    uint64_t node_max = 0;

    for ( uint32_t n = 0; n < m->s->host.nr_nodes; n++ )
        if ( m->s->host.node_pages[n] > node_max )
            node_max = m->s->host.node_pages[n];
    r->demand_pages += vm->memory_pages;
    if ( v->outcome == STORM_VM_UNFINISHED )
        return;                  /* its builder died: no build to count */
    r->builds++;
    r->replans += v->replans;
    if ( v->outcome == STORM_VM_FAILED_DOMID )
        r->failed_domid++;
    else if ( v->outcome == STORM_VM_FAILED_CLAIM ||
              v->outcome == STORM_VM_FAILED_PLACEMENT )
    {
        r->failed_claim++;
        r->failed_placement += v->outcome == STORM_VM_FAILED_PLACEMENT;
    }
    else if ( v->outcome == STORM_VM_FAILED_BUILD )
    {
        r->failed_build++;
        r->wasted_pages += v->populated;
    }
    else if ( v->outcome == STORM_VM_STARTED )
    {
        if ( t->nr_latency == t->cap_latency )
        {
            uint32_t cap = t->cap_latency ? 2 * t->cap_latency : 1024;
            double *x = realloc(t->latency, cap * sizeof(*x));

            if ( x )
            {
                t->latency = x;
                t->cap_latency = cap;
            }
        }
        if ( t->nr_latency < t->cap_latency )
            t->latency[t->nr_latency++] = v->end - v->asked;
        r->started++;
        r->started_pages += vm->memory_pages;
        t->loc += v->locality * vm->vcpus;
        t->dist += v->distance * vm->vcpus;
        t->vcpus += vm->vcpus;
        if ( vm->memory_pages <= node_max )
        {
            t->fit++;
            t->fit_one += v->nr_nodes == 1;
        }
    }
    /* Failed builds lose claims to offlining too. */
    r->recalled_pages += v->recalled;
    if ( v->end > r->build_seconds )
        r->build_seconds = v->end;
}

/* Every VM's last build (the earlier ones were counted as they were
 * replaced), then the figures over all of them. */
static void finish_metrics(struct sim *m)
{
    struct sums *t = &m->sums;
    struct storm_result *r = m->r;

    for ( uint32_t i = 0; i < m->s->nr_vms; i++ )
    {
        m->log.vm[i].vm = i;
        count_build(m, &m->log.vm[i]);
    }
    r->locality = t->vcpus ? t->loc / t->vcpus : 0;
    r->mean_distance = t->vcpus ? t->dist / t->vcpus : 0;
    r->single_node_share = t->fit ? (double)t->fit_one / t->fit : 0;
    if ( t->nr_latency < r->started )
    {
        /* Out of memory for the latencies: none rather than wrong ones. */
        r->latency_p50 = r->latency_p99 = 0;
    }
    else
    {
        r->latency_p50 = storm_percentile(t->latency, t->nr_latency, 0.50);
        r->latency_p99 = storm_percentile(t->latency, t->nr_latency, 0.99);
    }
    free(t->latency);
    t->latency = NULL;
}
/* ========================================================================
 * Progress
 * ======================================================================== */

static void progress(struct sim *m)
{
    uint32_t width = 30, filled;
    uint32_t nr = m->s->nr_vms;

    /* Redraw at each percent, not at each of 10,000 VMs. */
    if ( !m->s->progress ||
         (m->done != nr && m->done * 100 / nr == (m->done - 1) * 100 / nr) )
        return;
    filled = m->s->nr_vms ? m->done * width / m->s->nr_vms : width;
    fprintf(stderr, "\r  %-10s [", ts_policy_name(m->r->policy));
    for ( uint32_t i = 0; i < width; i++ )
        fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %u/%u", m->done, m->s->nr_vms);
    if ( m->done == m->s->nr_vms )
        fprintf(stderr, "\r%*s\r", 60, "");
    fflush(stderr);
}

/* ========================================================================
 * The simulated-time loop
 * ======================================================================== */

/* A builder: the VM it builds and that build's working state, from the
 * build's start to its end; then the next VM's. */
struct slot {
    int32_t vm;                  /* -1: idle */
    double clock;
    bool rebuild;                /* a reboot's build, not the VM's first */
    bool has_domain;             /* its domain is counted in guests */
    uint64_t extents[3];         /* b.extents already counted */
    uint64_t node_pages[TS_MAX_NODES];  /* its pages (churn only) */
    struct ts_build b;
};

/* Timed events (shutdowns, reboots' builds) in (time, VM) order. */
struct event {
    double time;
    uint32_t vm;
};

struct heap {
    struct event *e;
    uint32_t nr, cap;
};

static bool before(const struct event *a, const struct event *b)
{
    return a->time < b->time || (a->time == b->time && a->vm < b->vm);
}

static int heap_push(struct heap *h, double time, uint32_t vm)
{
    uint32_t i;

    if ( h->nr == h->cap )
    {
        uint32_t cap = h->cap ? 2 * h->cap : 64;
        struct event *e = realloc(h->e, cap * sizeof(*e));

        if ( !e )
            return -1;
        h->e = e;
        h->cap = cap;
    }
    i = h->nr++;
    h->e[i] = (struct event){ time, vm };
    while ( i && before(&h->e[i], &h->e[(i - 1) / 2]) )
    {
        struct event t = h->e[i];

        h->e[i] = h->e[(i - 1) / 2];
        h->e[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    return 0;
}

static struct event heap_pop(struct heap *h)
{
    struct event top = h->e[0];
    uint32_t i = 0;

    h->e[0] = h->e[--h->nr];
    for ( ;; )
    {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        struct event t;

        if ( l < h->nr && before(&h->e[l], &h->e[m]) )
            m = l;
        if ( r < h->nr && before(&h->e[r], &h->e[m]) )
            m = r;
        if ( m == i )
            break;
        t = h->e[i];
        h->e[i] = h->e[m];
        h->e[m] = t;
        i = m;
    }
    return top;
}

static bool churn(const struct storm_scenario *s)
{
    return s->life != NULL;
}

/* Pages freed on their nodes are dirty. */
static void freed_dirty(struct sim *m, const uint64_t *pages)
{
    for ( uint32_t n = 0; n < m->s->host.nr_nodes; n++ )
    {
        m->dirty[n] += pages[n];
        m->dirty_total += pages[n];
    }
}

/* A build that failed mid-way: the vnodes it finished are where it
 * counted them; the rest is put on the node its vnode asked for, or
 * spread over the nodes by size (the domain is gone, so it cannot be
 * asked). */
static void failed_dirty(struct sim *m, const struct ts_build *b)
{
    const struct ts_host *h = &m->s->host;
    uint64_t pages[TS_MAX_NODES] = { 0 }, known = 0, total = 0, rest;
    uint32_t pnode = TS_NO_NODE;

    for ( uint32_t n = 0; n < h->nr_nodes; n++ )
    {
        for ( uint32_t v = 0; v < b->plan.nr_vnodes; v++ )
            pages[n] += b->vnode_pages[v][n];
        known += pages[n];
        total += h->node_pages[n];
    }
    rest = b->populated > known ? b->populated - known : 0;
    if ( b->range < b->layout.nr_ranges )
        pnode = b->plan.vnode[b->layout.range[b->range].vnode].pnode;
    for ( uint32_t n = 0; n < h->nr_nodes && rest; n++ )
        pages[n] += pnode != TS_NO_NODE ? (n == pnode ? rest : 0)
                    : (uint64_t)((double)rest * h->node_pages[n] / total);
    freed_dirty(m, pages);
}

/* claimsets: VMs with cpus= or pnode= vnodes hold their nodes' memory
 * from their arrival (VMs [*next, ...) that have arrived by t) until they
 * plan. */
static void arrive(struct sim *m, uint32_t *next, double t)
{
    const struct storm_scenario *s = m->s;

    for ( ; *next < s->nr_vms && s->arrival[*next] <= t; (*next)++ )
        if ( m->r->policy == TS_POLICY_CLAIMSETS )
            ts_usage_reserve(&m->usage, s->vms[*next], s->host.nr_nodes,
                             s->host.node_cpus, true);
}

/* VM i's lifetime is over: destroy its domain; a reboot builds it again
 * at once (under claimsets its hold taken again from now, as at
 * its arrival). */
static void shut_down(struct sim *m, uint32_t i, double now, uint8_t *left,
                      struct heap *builds)
{
    uint32_t domid = m->log.vm[i].domid;
    uint64_t pages[TS_MAX_NODES] = { 0 };
    uint32_t nr = TS_MAX_NODES;

    if ( !xc_domain_node_pages(m->xch, domid, &nr, pages) )
        freed_dirty(m, pages);
    xc_domain_destroy(m->xch, domid);
    m->guests--;
    m->r->shutdowns++;
    if ( left[i] )
    {
        left[i]--;
        m->r->reboots++;
        if ( m->r->policy == TS_POLICY_CLAIMSETS )
            ts_usage_reserve(&m->usage, m->s->vms[i], m->s->host.nr_nodes,
                             m->s->host.node_cpus, true);
        heap_push(builds, now, i);
    }
    sample(m, now);
}

/*
 * When a build of a churn run has populated all its memory: which nodes
 * its pages came from, and the scrubbing they needed.  Xen takes clean
 * free pages before dirty ones, so a node pays only for what the build
 * took beyond the clean pages it had.  Accounted once per build (two
 * hypercalls), on the step that ends populating; returns the seconds
 * spent scrubbing, which that step pays.
 */
static double scrub_step(struct sim *m, struct slot *sl)
{
    uint64_t now[TS_MAX_NODES] = { 0 };
    xen_sysctl_node_claims_t nodes[TS_MAX_NODES];
    uint32_t nr = TS_MAX_NODES, nn = TS_MAX_NODES;
    uint64_t scrubbed = 0;

    if ( xc_domain_node_pages(m->xch, sl->b.domid, &nr, now) )
        return 0;
    if ( m->dirty_total && !xc_claim_overview(m->xch, NULL, &nn, nodes) )
        for ( uint32_t n = 0; n < nn && n < m->s->host.nr_nodes; n++ )
        {
            uint64_t took = now[n] - sl->node_pages[n], clean, need;

            if ( !took || !m->dirty[n] )
                continue;
            /* Offlining may have taken dirty frames too. */
            if ( m->dirty[n] > nodes[n].free + took )
            {
                m->dirty_total -= m->dirty[n] - (nodes[n].free + took);
                m->dirty[n] = nodes[n].free + took;
            }
            clean = nodes[n].free + took - m->dirty[n];
            need = took > clean ? took - clean : 0;
            m->dirty[n] -= need;
            m->dirty_total -= need;
            scrubbed += need;
        }
    memcpy(sl->node_pages, now, sizeof(now));
    m->r->scrubbed_pages += scrubbed;
    m->r->scrub_seconds += SCRUB_SECONDS_PER_GIB * scrubbed / GIB;
    return SCRUB_SECONDS_PER_GIB * scrubbed / GIB;
}

/* A build of VM i, asked for at `asked` (its arrival, or its reboot),
 * starts at `now` in slot sl. */
static void start_build(struct sim *m, struct slot *sl, uint32_t i,
                        double asked, double now, bool rebuild)
{
    /* A reboot: the previous build counts before its record goes. */
    if ( rebuild )
        count_build(m, &m->log.vm[i]);
    storm_vm_begin(&m->log, i, asked);
    sl->clock = now;
    sl->vm = (int32_t)i;
    sl->rebuild = rebuild;
    sl->has_domain = false;
    memset(sl->extents, 0, sizeof(sl->extents));
    memset(sl->node_pages, 0, sizeof(sl->node_pages));
    ts_build_init(&sl->b, m->s->vms[i], m->r->policy);
    sl->b.usage = &m->usage;
}

/* One step of the slot's build; true when the build has ended. */
static bool run_step(struct sim *m, struct slot *sl, struct heap *downs)
{
    const struct storm_scenario *s = m->s;
    struct ts_build *b = &sl->b;
    uint32_t i = (uint32_t)sl->vm;
    struct storm_vm_result *v = &m->log.vm[i];
    double cost;
    bool more;

    if ( b->nr_steps == 0 )
        v->start = sl->clock;
    more = storm_vm_step(v, b, m->xch);
    cost = STEP_SECONDS + SECONDS_PER_GIB * b->step_pages / GIB;
    for ( uint32_t k = 0; k < 3; k++ )
    {
        m->extent_pages[k] += (b->extents[k] - sl->extents[k]) << (9 * k);
        sl->extents[k] = b->extents[k];
    }
    if ( b->domid && !sl->has_domain && b->state != TS_BUILD_FAILED )
    {
        sl->has_domain = true;
        guest_added(m);
    }
    if ( sl->has_domain && b->state == TS_BUILD_FAILED )
    {
        /* The builder destroyed it: its pages are free, and dirty. */
        sl->has_domain = false;
        m->guests--;
        if ( churn(s) )
            failed_dirty(m, b);
    }
    else if ( churn(s) && b->step_pages && b->state == TS_BUILD_RELEASE )
        cost += scrub_step(m, sl);
    sl->clock += cost;
    sample(m, sl->clock);
    if ( more )
        return false;
    if ( s->balloon && b->outcome == TS_OUT_STARTED )
        balloon(m->xch, b);
    /* The record, while the slot still holds the build. */
    storm_vm_end(&m->log, i, s, b, m->xch, v->start, sl->clock, NULL, NULL);
    /* Xen's domids 1 .. 32751 all taken: a create fails with ENOMEM, as
     * it does for lack of memory; the guest count tells them apart. */
    if ( b->outcome == TS_OUT_FAILED_CLAIM && b->error == ENOMEM &&
         !strcmp(b->what, "xc_domain_create") &&
         m->guests >= STORM_MAX_GUESTS )
        v->outcome = STORM_VM_FAILED_DOMID;
    if ( b->outcome == TS_OUT_STARTED && churn(s) && isfinite(s->life[i]) )
        heap_push(downs, sl->clock + s->life[i], i);
    sl->has_domain = false;      /* a started VM's domain stays counted */
    sl->vm = -1;
    if ( !sl->rebuild )
    {
        m->done++;
        progress(m);
    }
    return true;
}

static void simulate(struct sim *m)
{
    const struct storm_scenario *s = m->s;
    uint32_t nslots = s->builders ? s->builders : 1, next_vm = 0;
    uint32_t next_event = 0, arrived = 0;
    struct slot *slot = calloc(nslots, sizeof(*slot));
    struct heap downs = { 0 }, rebuilds = { 0 };
    uint8_t *left = NULL;

    if ( churn(s) && s->reboots )
    {
        left = malloc(s->nr_vms);
        if ( left )
            memcpy(left, s->reboots, s->nr_vms);
    }
    if ( !slot || (churn(s) && !left) )
        goto out;
    for ( uint32_t i = 0; i < nslots; i++ )
        slot[i].vm = -1;

    for ( ;; )
    {
        int32_t best = -1, idle = -1;
        double t_down = downs.nr ? downs.e[0].time : INFINITY;
        double t_start = INFINITY, t_step = INFINITY, job = 0;
        bool rebuild = false;

        for ( uint32_t i = 0; i < nslots; i++ )
        {
            if ( slot[i].vm < 0 )
            {
                if ( idle < 0 || slot[i].clock < slot[idle].clock )
                    idle = (int32_t)i;
            }
            else if ( best < 0 || slot[i].clock < slot[best].clock )
                best = (int32_t)i;
        }
        if ( best >= 0 )
            t_step = slot[best].clock;
        /* The next build: the next arrival, or a reboot's if earlier. */
        if ( next_vm < s->nr_vms &&
             (!rebuilds.nr || s->arrival[next_vm] <= rebuilds.e[0].time) )
            job = s->arrival[next_vm];
        else if ( rebuilds.nr )
        {
            job = rebuilds.e[0].time;
            rebuild = true;
        }
        if ( idle >= 0 && (next_vm < s->nr_vms || rebuilds.nr) )
            t_start = fmax(job, slot[idle].clock);

        /* A lifetime that ends first frees its memory first. */
        if ( downs.nr && t_down <= t_start && t_down <= t_step )
        {
            struct event e = heap_pop(&downs);

            arrive(m, &arrived, e.time);
            while ( next_event < s->nr_offline &&
                    s->offline[next_event].time <= e.time )
                offline_frames(m, s->offline[next_event++].pages);
            shut_down(m, e.vm, e.time, left, &rebuilds);
            continue;
        }
        /* A waiting VM starts as soon as a slot is free. */
        if ( isfinite(t_start) && t_start <= t_step )
        {
            uint32_t i = rebuild ? heap_pop(&rebuilds).vm : next_vm++;

            arrive(m, &arrived, t_start);
            start_build(m, &slot[idle], i, job, t_start, rebuild);
            continue;
        }
        if ( best < 0 )
            break;                          /* nothing left to run */
        arrive(m, &arrived, t_step);

        /* Offline events due before this step. */
        while ( next_event < s->nr_offline &&
                s->offline[next_event].time <= t_step )
            offline_frames(m, s->offline[next_event++].pages);
        run_step(m, &slot[best], &downs);
    }
    while ( next_event < s->nr_offline )
        offline_frames(m, s->offline[next_event++].pages);
 out:
    free(downs.e);
    free(rebuilds.e);
    free(left);
    free(slot);
}

/* ========================================================================
 * Real threads
 * ======================================================================== */

struct threads {
    struct sim *m;
    pthread_mutex_t lock;        /* process-shared with --processes */
    uint32_t next;
    uint32_t alive;              /* builder threads still running */
    struct timespec t0;
};

static double since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *builder_thread(void *arg)
{
    struct threads *t = arg;
    struct sim *m = t->m;
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);

    /* This builder's working state, for one VM at a time. */
    struct ts_build *b = malloc(sizeof(*b));

    for ( ; xch && b; )
    {
        struct storm_vm_result *v;
        double start, end;
        uint32_t i;

        pthread_mutex_lock(&t->lock);
        i = t->next++;
        pthread_mutex_unlock(&t->lock);
        if ( i >= m->s->nr_vms )
            break;
        v = &m->log.vm[i];
        storm_vm_begin(&m->log, i, m->s->arrival[i]);
        ts_build_init(b, m->s->vms[i], m->r->policy);
        b->usage = &m->usage;
        b->usage_lock = ts_usage_lock_mutex;
        b->usage_arg = &t->lock;
        start = since(&t->t0);
        while ( storm_vm_step(v, b, xch) )
            ;
        end = since(&t->t0);
        if ( m->s->balloon && b->outcome == TS_OUT_STARTED )
            balloon(xch, b);
        storm_vm_end(&m->log, i, m->s, b, xch, start, end,
                     ts_usage_lock_mutex, &t->lock);
        pthread_mutex_lock(&t->lock);
        m->done++;
        progress(m);
        pthread_mutex_unlock(&t->lock);
    }
    free(b);
    if ( xch )
        xc_interface_close(xch);
    pthread_mutex_lock(&t->lock);
    t->alive--;
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* Offline events at their wall-clock times, and samples, while the
 * builders run; returns when all VMs are done or no builder is left. */
static void watch_builders(struct sim *m, struct threads *t, uint32_t started)
{
    uint32_t next_event = 0;

    for ( ;; )
    {
        double now = since(&t->t0);
        bool finished;

        pthread_mutex_lock(&t->lock);
        finished = m->done == m->s->nr_vms || t->alive == 0;
        pthread_mutex_unlock(&t->lock);
        while ( next_event < m->s->nr_offline &&
                m->s->offline[next_event].time <= now )
            offline_frames(m, m->s->offline[next_event++].pages);
        sample(m, now);
        if ( finished || started == 0 )
            break;
        nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
    }
}

static void run_threads(struct sim *m)
{
    struct threads t = { .m = m, .lock = PTHREAD_MUTEX_INITIALIZER };
    uint32_t n = m->s->builders ? m->s->builders : 1, started = 0;
    pthread_t *th = calloc(n, sizeof(*th));

    if ( !th )
        return;
    clock_gettime(CLOCK_MONOTONIC, &t.t0);
    for ( ; started < n; started++ )
    {
        bool failed;

        pthread_mutex_lock(&t.lock);
        t.alive++;
        pthread_mutex_unlock(&t.lock);
        failed = pthread_create(&th[started], NULL, builder_thread, &t) != 0;
        if ( failed )
        {
            pthread_mutex_lock(&t.lock);
            t.alive--;
            pthread_mutex_unlock(&t.lock);
            break;
        }
    }
    watch_builders(m, &t, started);
    for ( uint32_t i = 0; i < started; i++ )
        pthread_join(th[i], NULL);
    free(th);
}

/* ========================================================================
 * Real processes
 * ======================================================================== */

/* What the builder processes share: the work counter and lock, and a copy
 * of the run's state (done, usage); the per-VM results are in the log's
 * own shared mapping. */
struct shared {
    struct threads t;
    struct sim sim;
};

static void run_processes(struct sim *m)
{
    uint32_t n = m->s->builders ? m->s->builders : 1, started = 0;
    size_t size = sizeof(struct shared);
    struct shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t attr;
    pid_t *pid = calloc(n, sizeof(*pid));

    if ( sh == MAP_FAILED || !pid )
    {
        if ( sh != MAP_FAILED )
            munmap(sh, size);
        free(pid);
        return;
    }
    sh->sim = *m;
    sh->t.m = &sh->sim;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&sh->t.lock, &attr);
    pthread_mutexattr_destroy(&attr);
    clock_gettime(CLOCK_MONOTONIC, &sh->t.t0);

    fflush(NULL);
    for ( ; started < n; started++ )
    {
        pthread_mutex_lock(&sh->t.lock);
        sh->t.alive++;
        pthread_mutex_unlock(&sh->t.lock);
        pid[started] = fork();
        if ( pid[started] == 0 )
        {
            /* A builder: its own connection to hostd, from the fork; it
             * dies with the run. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            builder_thread(&sh->t);
            _exit(0);
        }
        if ( pid[started] < 0 )
        {
            pthread_mutex_lock(&sh->t.lock);
            sh->t.alive--;
            pthread_mutex_unlock(&sh->t.lock);
            break;
        }
    }
    /* The parent watches on its own view: done and usage come from the
     * shared copy. */
    watch_builders(&sh->sim, &sh->t, started);
    for ( uint32_t i = 0; i < started; i++ )
    {
        int status;

        waitpid(pid[i], &status, 0);
        /* A builder that died leaves its VM unfinished: counted as such. */
        if ( !WIFEXITED(status) || WEXITSTATUS(status) )
            fprintf(stderr, "numaclaim storm: builder process %d ended "
                            "abnormally\n", (int)pid[i]);
    }
    m->usage = sh->sim.usage;
    m->done = sh->sim.done;
    m->sample_every = sh->sim.sample_every;
    pthread_mutex_destroy(&sh->t.lock);
    munmap(sh, size);
    free(pid);
}

static int run_hostd(void *arg, int ready_fd)
{
    struct nc_hostd_config *cfg = arg;

    cfg->ready_fd = ready_fd;
    return nc_hostd_run(cfg);
}

/* A private hostd for one policy's run, in a child process: 0 and its pid
 * with NUMACLAIM_SOCKET set to it, or -1. */
static int start_private_hostd(const struct storm_scenario *s, char *dir,
                               pid_t *pidp)
{
    static char path[200];
    struct nc_hostd_config cfg = { .spec = s->host.spec, .ready_fd = -1 };
    pid_t pid;

    if ( !mkdtemp(dir) )
        return -1;
    snprintf(path, sizeof(path), "%s/hostd.sock", dir);
    cfg.socket_path = path;
    /* A hostd must not outlive its run. */
    pid = spawn_ready(NULL, SPAWN_DIE_WITH_PARENT, run_hostd, &cfg);
    if ( pid < 0 )
        return -1;
    setenv("NUMACLAIM_SOCKET", path, 1);
    *pidp = pid;
    return 0;
}

static void stop_private_hostd(pid_t pid, const char *dir)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    unsetenv("NUMACLAIM_SOCKET");
    rmdir(dir);
}

/* ========================================================================
 * Entry points
 * ======================================================================== */

/* One policy's run; the per-VM records left in m->log for the caller. */
static void run_policy(struct sim *m, enum ts_policy p)
{
    const struct storm_scenario *s = m->s;
    struct storm_result *r = m->r;
    char dir[] = "/tmp/numaclaim-storm.XXXXXX";
    pid_t hostd = 0;

    memset(r, 0, sizeof(*r));
    r->policy = p;
    r->vms = s->nr_vms;
    if ( s->processes && start_private_hostd(s, dir, &hostd) )
    {
        r->error = errno ? errno : EIO;
        snprintf(r->message, sizeof(r->message), "cannot start a hostd");
        return;
    }
    m->xch = xc_interface_open(NULL, NULL, 0);
    if ( !m->xch ||
         storm_vm_log_open(&m->log, s->nr_vms, s->host.nr_nodes) )
    {
        r->error = errno ? errno : ENOMEM;
        snprintf(r->message, sizeof(r->message), "cannot open libxenctrl");
        goto out;
    }
    if ( fill_host(m) )
    {
        r->error = EINVAL;
        goto out;
    }
    sample(m, 0);
    m->usage.slack = s->claim_slack;
    /* With real builders every VM has arrived at the start. */
    if ( s->processes || s->threads )
    {
        uint32_t all = 0;

        arrive(m, &all, INFINITY);
    }
    if ( s->processes )
        run_processes(m);
    else if ( s->threads )
        run_threads(m);
    else
        simulate(m);
    m->sample_every = 0;
    sample(m, r->build_seconds);
    finish_metrics(m);
    {
        struct xc_claim_overview ov;
        uint32_t nn = 0;
        double last = 0;

        for ( uint32_t i = 0; i < s->nr_vms; i++ )
            if ( m->log.vm[i].end > last )
                last = m->log.vm[i].end;
        sample(m, last);
        if ( !xc_claim_overview(m->xch, &ov, &nn, NULL) )
        {
            r->total_pages = ov.total_pages;
            r->end_free_pages = ov.free_pages;
            r->end_outstanding_pages = ov.outstanding_pages;
        }
        r->end_guests = m->guests;
    }
 out:
    if ( m->xch )
        xc_interface_close(m->xch);
    m->xch = NULL;
    if ( hostd )
        stop_private_hostd(hostd, dir);
}

void storm_run_policy(const struct storm_scenario *s, enum ts_policy p,
                      struct storm_result *r)
{
    struct sim m = { .s = s, .r = r, .sample_every = 0.01 };

    run_policy(&m, p);
    storm_vm_log_close(&m.log);
}

/* A run's own memory per VM: its result record and, typically, one node
 * entry (the scenario adds its config pointer, arrival and lifetime; the
 * builders' working state is per builder, not per VM). */
uint64_t storm_vm_bytes(void)
{
    return sizeof(struct storm_vm_result) + sizeof(uint64_t);
}

int storm_write_all(int fd, const void *p, size_t n)
{
    for ( size_t off = 0; off < n; )
    {
        ssize_t w = write(fd, (const char *)p + off, n - off);

        if ( w <= 0 )
            return -1;
        off += (size_t)w;
    }
    return 0;
}

int storm_read_all(int fd, void *p, size_t n)
{
    for ( size_t got = 0; got < n; )
    {
        ssize_t r = read(fd, (char *)p + got, n - got);

        if ( r <= 0 )
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* A policy's child: run it, send the result, then the per-VM records
 * and node entries. */
static int run_child(const struct storm_scenario *s, enum ts_policy p, int fd)
{
    struct storm_result *mine = calloc(1, sizeof(*mine));
    struct sim m = { .s = s, .r = mine, .sample_every = 0.01 };
    struct storm_vms v = { 0 };
    int rc = -1;

    if ( !mine )
        return -1;
    run_policy(&m, p);
    if ( m.log.map )
        v = (struct storm_vms){ .nr = s->nr_vms, .vm = m.log.vm,
                                .nr_node = *m.log.nr_node,
                                .node = m.log.node };
    if ( !storm_write_all(fd, mine, sizeof(*mine)) &&
         !storm_send_vms(fd, &v) )
        rc = 0;
    storm_vm_log_close(&m.log);
    free(mine);
    return rc;
}

int storm_send_vms(int fd, const struct storm_vms *v)
{
    uint64_t head[2] = { v->nr, v->nr_node };

    return storm_write_all(fd, head, sizeof(head)) ||
           storm_write_all(fd, v->vm, v->nr * sizeof(*v->vm)) ||
           storm_write_all(fd, v->node, v->nr_node * sizeof(*v->node))
           ? -1 : 0;
}

int storm_recv_vms(int fd, uint32_t max, struct storm_vms *v)
{
    struct storm_vms mine = { 0 };
    uint64_t head[2];
    int rc = -1;

    if ( storm_read_all(fd, head, sizeof(head)) || head[0] > max ||
         head[1] > 2 * head[0] * TS_MAX_NODES )
        return -1;
    mine.nr = (uint32_t)head[0];
    mine.nr_node = head[1];
    mine.vm = malloc((head[0] ? head[0] : 1) * sizeof(*mine.vm));
    mine.node = malloc((head[1] ? head[1] : 1) * sizeof(*mine.node));
    if ( mine.vm && mine.node &&
         !storm_read_all(fd, mine.vm, head[0] * sizeof(*mine.vm)) &&
         !storm_read_all(fd, mine.node, head[1] * sizeof(*mine.node)) )
        rc = 0;
    if ( !rc && v )
        *v = mine;
    else
        storm_vms_free(&mine);
    return rc;
}

/* Each policy in a child process: a fresh host from NUMACLAIM_HOST. */
int storm_run_vms(const struct storm_scenario *s, struct storm_result *results,
                  struct storm_vms *vms)
{
    uint32_t nr = 0;

    setenv("NUMACLAIM_HOST", s->host.spec, 1);
    if ( !getenv("NUMACLAIM_CHECK") )
        setenv("NUMACLAIM_CHECK", "0", 1);
    for ( enum ts_policy p = 0; p < TS_NR_POLICIES; p++ )
    {
        struct storm_result *r = &results[nr];
        struct storm_vms *v = vms ? &vms[nr] : NULL;
        int fd[2], status;
        pid_t pid;
        bool ok;

        if ( !(s->policies >> p & 1) )
            continue;
        memset(r, 0, sizeof(*r));
        if ( v )
            memset(v, 0, sizeof(*v));
        r->policy = p;
        if ( pipe(fd) )
            return -1;
        fflush(NULL);
        pid = fork();
        if ( pid < 0 )
            return -1;
        if ( pid == 0 )
        {
            /* A policy run dies with the storm that started it. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(fd[0]);
            _exit(run_child(s, p, fd[1]) ? 1 : 0);
        }
        close(fd[1]);
        ok = !storm_read_all(fd[0], r, sizeof(*r)) &&
             !storm_recv_vms(fd[0], s->nr_vms, v);
        close(fd[0]);
        waitpid(pid, &status, 0);
        if ( !ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0 )
        {
            if ( v )
                storm_vms_free(v);
            memset(r, 0, sizeof(*r));
            r->policy = p;
            r->error = EIO;
            snprintf(r->message, sizeof(r->message),
                     "the %s run did not finish (%s)", ts_policy_name(p),
                     WIFSIGNALED(status) ? strsignal(WTERMSIG(status))
                                         : "exited early");
        }
        nr++;
    }
    return (int)nr;
}

int storm_run(const struct storm_scenario *s, struct storm_result *results)
{
    return storm_run_vms(s, results, NULL);
}
