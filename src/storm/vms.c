/* SPDX-License-Identifier: MIT */
/*
 * Per-VM results: what each VM's build came to (outcome, the step and
 * errno of a failure, the claim it staked, where its memory is, its
 * times and locality), recorded in a compact record when the build ends,
 * so that a run need keep nothing else of a finished VM; and --vms-out,
 * which writes them as CSV or JSON lines (columns in docs/storm.md).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <jansson.h>

#include "storm.h"

/* ========================================================================
 * Recording
 * ======================================================================== */

int storm_vm_log_open(struct storm_vm_log *l, uint32_t nr_vms,
                      uint32_t nr_nodes)
{
    size_t head = (sizeof(uint64_t) + 63) & ~(size_t)63;
    size_t recs = ((size_t)nr_vms * sizeof(*l->vm) + 63) & ~(size_t)63;

    memset(l, 0, sizeof(*l));
    /* Room for every VM on every node twice (a VM whose rebuild needs
     * more entries than its first build gets room for every node: see
     * storm_vm_end); only what is used is ever touched, so a VM on one
     * node costs one entry. */
    l->cap = 2 * (uint64_t)nr_vms * (nr_nodes ? nr_nodes : 1);
    l->size = head + recs + l->cap * sizeof(*l->node);
    l->map = mmap(NULL, l->size, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if ( l->map == MAP_FAILED )
    {
        l->map = NULL;
        return -1;
    }
    l->nr_node = l->map;
    l->vm = (struct storm_vm_result *)((char *)l->map + head);
    l->node = (uint64_t *)((char *)l->map + head + recs);
    return 0;
}

void storm_vm_log_close(struct storm_vm_log *l)
{
    if ( l->map )
        munmap(l->map, l->size);
    memset(l, 0, sizeof(*l));
}

void storm_vm_begin(struct storm_vm_log *l, uint32_t i, double asked)
{
    struct storm_vm_result *r = &l->vm[i];
    uint32_t first = r->node_first;
    uint8_t room = r->node_room;

    memset(r, 0, sizeof(*r));
    r->vm = i;
    r->asked = asked;
    r->node_first = first;
    r->node_room = room;
}

bool storm_vm_step(struct storm_vm_result *r, struct ts_build *b,
                   xc_interface *xch)
{
    enum ts_build_state before = b->state;
    uint32_t moves = b->moves;
    bool one_step = b->policy == TS_POLICY_XAPI ||
                    b->policy == TS_POLICY_CLAIMSETS;
    bool more = ts_build_step(b, xch);

    if ( b->state == TS_BUILD_FAILED && before != TS_BUILD_FAILED )
        r->step = (uint8_t)before;
    /*
     * A step that was to stake the claim and leaves the build still at
     * the claim step has replaced a refused node claim by a host-wide one
     * (builder.c's fall-back).  xapi and claimsets plan and claim in their
     * plan step.  A claimsets vnode moved to another node mid-populate is
     * a fall-back too.
     */
    if ( ((more && b->state == TS_BUILD_CLAIM &&
           (before == TS_BUILD_CLAIM ||
            (before == TS_BUILD_PLAN && one_step))) ||
          b->moves != moves) &&
         r->fallbacks < UINT8_MAX )
        r->fallbacks++;
    return more;
}

static enum storm_vm_claim claim_kind(const struct ts_plan *p)
{
    if ( p->claim == TS_CLAIM_LEGACY )
        return STORM_VM_CLAIM_LEGACY;
    if ( p->claim != TS_CLAIM_SET )
        return STORM_VM_CLAIM_NONE;
    for ( uint32_t i = 0; i < p->nr_claims; i++ )
        if ( p->claims[i].target < TS_MAX_NODES )
            return STORM_VM_CLAIM_SET;
    return STORM_VM_CLAIM_HOST_WIDE;
}

/* The one node a failure is about, where there is one. */
static uint8_t failed_node(const struct ts_build *b, uint8_t step)
{
    const struct ts_plan *p = &b->plan;

    if ( step == TS_BUILD_POPULATE && b->range < b->layout.nr_ranges )
    {
        const struct ts_plan_vnode *v =
            &p->vnode[b->layout.range[b->range].vnode];

        if ( v->exact && v->pnode < TS_MAX_NODES )
            return (uint8_t)v->pnode;
    }
    if ( step == TS_BUILD_CLAIM && p->claim == TS_CLAIM_SET &&
         p->nr_claims == 1 && p->claims[0].target < TS_MAX_NODES )
        return (uint8_t)p->claims[0].target;
    return STORM_VM_NO_NODE;
}

static void metrics(const struct storm_scenario *s, const struct ts_build *b,
                    const uint64_t *pages, struct storm_vm_result *r)
{
    double local, distance;

    if ( b->plan.vnuma )
    {
        uint32_t pnode[TS_MAX_VNODES], vcpus[TS_MAX_VNODES];

        for ( uint32_t i = 0; i < b->plan.nr_vnodes; i++ )
        {
            pnode[i] = b->plan.vnode[i].pnode;
            vcpus[i] = b->plan.vnode[i].nr_vcpus;
        }
        storm_locality_vnuma(&s->host, b->plan.nr_vnodes, pnode, vcpus,
                             b->vnode_pages, b->plan.node_affinity,
                             s->vnuma_remote, &local, &distance);
    }
    else
        storm_locality_flat(&s->host, pages, b->plan.node_affinity, &local,
                            &distance);
    r->locality = (float)local;
    r->distance = (float)distance;
}

void storm_vm_end(struct storm_vm_log *l, uint32_t i,
                  const struct storm_scenario *s, const struct ts_build *b,
                  xc_interface *xch, double start, double end,
                  void (*lock)(void *arg, bool lock), void *arg)
{
    struct storm_vm_result *r = &l->vm[i];
    uint64_t pages[TS_MAX_NODES] = { 0 };
    uint32_t nr = TS_MAX_NODES, used = 0;
    struct xen_domctl_claim_info ci;

    r->vm = i;
    r->start = start;
    r->end = end;
    r->domid = b->domid;
    r->populated = b->populated;
    r->replans = (uint8_t)(b->replans < UINT8_MAX ? b->replans : UINT8_MAX);
    r->fail_node = STORM_VM_NO_NODE;
    r->claim = STORM_VM_CLAIM_NONE;
    switch ( b->outcome )
    {
    case TS_OUT_STARTED:
        r->outcome = STORM_VM_STARTED;
        r->step = TS_BUILD_DONE;
        break;
    case TS_OUT_FAILED_BUILD:
        r->outcome = STORM_VM_FAILED_BUILD;
        break;
    case TS_OUT_FAILED_CLAIM:
        /* xapi's plan step also stakes its claim: what says which. */
        if ( r->step == TS_BUILD_PLAN && !strncmp(b->what, "xc_domain_", 10) )
            r->step = TS_BUILD_CLAIM;
        r->outcome = r->step <= TS_BUILD_PLAN ? STORM_VM_FAILED_PLACEMENT
                                              : STORM_VM_FAILED_CLAIM;
        break;
    default:
        r->outcome = STORM_VM_UNFINISHED;
        return;
    }
    if ( r->outcome != STORM_VM_FAILED_PLACEMENT )
        r->claim = (uint8_t)claim_kind(&b->plan);
    if ( r->outcome != STORM_VM_STARTED )
    {
        r->recalled = b->recalled;
        r->error = (int16_t)b->error;
        r->fail_node = failed_node(b, r->step);
        return;
    }
    /* Only offlining recalls claims. */
    if ( s->nr_offline && !xc_domain_claim_info(xch, b->domid, &ci) )
        r->recalled = ci.recalled;
    if ( xc_domain_node_pages(xch, b->domid, &nr, pages) )
        return;
    metrics(s, b, pages, r);
    for ( uint32_t n = 0; n < s->host.nr_nodes; n++ )
        used += pages[n] != 0;
    if ( used > r->node_room )
    {
        /* The first build takes what it needs; a rebuild that needs more
         * takes room for every node, so that no VM grows twice and the
         * pool (two entries per VM and node) cannot run out. */
        uint32_t room = r->node_room ? s->host.nr_nodes : used;

        if ( lock )
            lock(arg, true);
        if ( *l->nr_node + room <= l->cap )
        {
            r->node_first = (uint32_t)*l->nr_node;
            r->node_room = (uint8_t)room;
            *l->nr_node += room;
        }
        if ( lock )
            lock(arg, false);
        if ( used > r->node_room )
            return;
    }
    for ( uint32_t n = 0, k = 0; n < s->host.nr_nodes; n++ )
        if ( pages[n] )
            l->node[r->node_first + k++] = (uint64_t)n << 56 | pages[n];
    r->nr_nodes = (uint8_t)used;
}

void storm_vms_free(struct storm_vms *v)
{
    free(v->vm);
    free(v->node);
    memset(v, 0, sizeof(*v));
}

/* ========================================================================
 * Names and percentiles
 * ======================================================================== */

const char *storm_vm_outcome_name(enum storm_vm_outcome o)
{
    static const char *const name[] = {
        [STORM_VM_UNFINISHED] = "unfinished",
        [STORM_VM_STARTED] = "started",
        [STORM_VM_FAILED_PLACEMENT] = "failed-placement",
        [STORM_VM_FAILED_CLAIM] = "failed-claim",
        [STORM_VM_FAILED_BUILD] = "failed-mid-build",
        [STORM_VM_FAILED_DOMID] = "failed-domid",
    };

    return (unsigned)o < sizeof(name) / sizeof(name[0]) ? name[o] : "?";
}

const char *storm_vm_claim_name(enum storm_vm_claim c)
{
    static const char *const name[] = {
        [STORM_VM_CLAIM_NONE] = "none",
        [STORM_VM_CLAIM_LEGACY] = "legacy",
        [STORM_VM_CLAIM_HOST_WIDE] = "host-wide",
        [STORM_VM_CLAIM_SET] = "claim-set",
    };

    return (unsigned)c < sizeof(name) / sizeof(name[0]) ? name[c] : "?";
}

static const char *step_name(uint8_t step)
{
    static const char *const name[] = {
        [TS_BUILD_CREATE] = "create", [TS_BUILD_PLAN] = "plan",
        [TS_BUILD_CLAIM] = "claim", [TS_BUILD_VNUMA] = "vnuma",
        [TS_BUILD_POPULATE] = "populate", [TS_BUILD_RELEASE] = "release",
    };

    return step < sizeof(name) / sizeof(name[0]) && name[step] ? name[step]
                                                                : "";
}

static const char *errno_name(int e)
{
    const char *n = strerrorname_np(e);

    return n ? n : "E?";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double storm_percentile(double *x, uint32_t nr, double q)
{
    uint32_t rank;

    if ( !nr )
        return 0;
    qsort(x, nr, sizeof(*x), cmp_double);
    rank = (uint32_t)ceil(q * nr);
    return x[rank ? rank - 1 : 0];
}

/* ========================================================================
 * --vms-out
 * ======================================================================== */

#define CSV_HEADER "seed,policy,vm,name,mib,vcpus,outcome,step,errno," \
                   "fail_node,nodes,claim,replans,fallbacks,wait_s,build_s," \
                   "wasted_pages,recalled_pages,locality,distance\n"

FILE *storm_vms_open(const char *path, enum storm_vms_format fmt, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "w");

    if ( !f || (fmt == STORM_VMS_CSV && fputs(CSV_HEADER, f) == EOF) )
    {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if ( f )
            fclose(f);
        return NULL;
    }
    return f;
}

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void csv_string(FILE *f, const char *v)
{
    if ( !strpbrk(v, ",\"\r\n") )
    {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for ( ; *v; v++ )
    {
        if ( *v == '"' )
            fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static double wait_of(const struct storm_vm_result *r)
{
    double w = r->start - r->asked;

    return w > 0 ? w : 0;
}

/* Seconds to 0.1 ms, locality to 4 significant digits. */
static double seconds(double x)
{
    return round(x * 1e4) / 1e4;
}

static void csv_row(FILE *f, const struct storm_scenario *s, uint64_t seed,
                    enum ts_policy p, const struct storm_vms *v,
                    const struct storm_vm_result *r)
{
    const struct ts_vm *vm = s->vms[r->vm];
    bool started = r->outcome == STORM_VM_STARTED;
    bool failed = !started && r->outcome != STORM_VM_UNFINISHED;

    fprintf(f, "%llu,%s,%u,", (unsigned long long)seed, ts_policy_name(p),
            r->vm);
    csv_string(f, vm->name);
    fprintf(f, ",%llu,%u,%s,%s,%s,",
            (unsigned long long)(vm->memory_pages >> 8),
            vm->vcpus, storm_vm_outcome_name(r->outcome),
            failed ? step_name(r->step) : "",
            failed && r->error ? errno_name(r->error) : "");
    if ( r->fail_node != STORM_VM_NO_NODE && failed )
        fprintf(f, "%u", r->fail_node);
    fputc(',', f);
    for ( uint32_t k = 0; k < r->nr_nodes; k++ )
    {
        uint64_t e = v->node[r->node_first + k];

        fprintf(f, "%s%u:%llu", k ? ";" : "", STORM_VM_NODE(e),
                (unsigned long long)STORM_VM_PAGES(e));
    }
    fprintf(f, ",%s,%u,%u,%.4f,%.4f,%llu,%llu,",
            storm_vm_claim_name(r->claim), r->replans, r->fallbacks,
            seconds(wait_of(r)), seconds(r->end - r->start),
            (unsigned long long)(r->outcome == STORM_VM_FAILED_BUILD
                                 ? r->populated : 0),
            (unsigned long long)r->recalled);
    if ( started )
        fprintf(f, "%.4g,%.4g", (double)r->locality, (double)r->distance);
    else
        fputc(',', f);
    fputc('\n', f);
}

static json_t *maybe_string(bool yes, const char *v)
{
    return yes ? json_string(v) : json_null();
}

static int jsonl_row(FILE *f, const struct storm_scenario *s, uint64_t seed,
                     enum ts_policy p, const struct storm_vms *v,
                     const struct storm_vm_result *r)
{
    const struct ts_vm *vm = s->vms[r->vm];
    bool started = r->outcome == STORM_VM_STARTED;
    bool failed = !started && r->outcome != STORM_VM_UNFINISHED;
    json_t *nodes = json_object(), *o;
    int rc;

    for ( uint32_t k = 0; k < r->nr_nodes; k++ )
    {
        uint64_t e = v->node[r->node_first + k];
        char key[8];

        snprintf(key, sizeof(key), "%u", STORM_VM_NODE(e));
        json_object_set_new(nodes, key,
                            json_integer((json_int_t)STORM_VM_PAGES(e)));
    }
    o = json_pack("{s:I, s:s, s:i, s:s, s:I, s:i, s:s, s:o, s:o, s:o, s:o, "
                  "s:s, s:i, s:i, s:f, s:f, s:I, s:I}",
                  "seed", (json_int_t)seed, "policy", ts_policy_name(p),
                  "vm", (int)r->vm, "name", vm->name,
                  "mib", (json_int_t)(vm->memory_pages >> 8),
                  "vcpus", (int)vm->vcpus,
                  "outcome", storm_vm_outcome_name(r->outcome),
                  "step", maybe_string(failed, step_name(r->step)),
                  "errno", maybe_string(failed && r->error,
                                        errno_name(r->error)),
                  "fail_node", failed && r->fail_node != STORM_VM_NO_NODE
                               ? json_integer(r->fail_node) : json_null(),
                  "nodes", nodes,
                  "claim", storm_vm_claim_name(r->claim),
                  "replans", (int)r->replans, "fallbacks", (int)r->fallbacks,
                  "wait_s", seconds(wait_of(r)),
                  "build_s", seconds(r->end - r->start),
                  "wasted_pages", (json_int_t)(r->outcome ==
                                               STORM_VM_FAILED_BUILD
                                               ? r->populated : 0),
                  "recalled_pages", (json_int_t)r->recalled);
    if ( !o )
        return -1;
    json_object_set_new(o, "locality", started
                        ? json_real(storm_round(r->locality)) : json_null());
    json_object_set_new(o, "distance", started
                        ? json_real(storm_round(r->distance)) : json_null());
    rc = json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER |
                          JSON_REAL_PRECISION(10));
    json_decref(o);
    fputc('\n', f);
    return rc;
}

int storm_vms_write(FILE *f, enum storm_vms_format fmt,
                    const struct storm_scenario *s, uint64_t seed,
                    const struct storm_result *r, const struct storm_vms *v,
                    uint32_t nr)
{
    for ( uint32_t i = 0; i < nr; i++ )
        for ( uint32_t k = 0; k < v[i].nr; k++ )
        {
            if ( fmt == STORM_VMS_CSV )
                csv_row(f, s, seed, r[i].policy, &v[i], &v[i].vm[k]);
            else if ( jsonl_row(f, s, seed, r[i].policy, &v[i],
                                &v[i].vm[k]) )
                return -1;
        }
    return ferror(f) ? -1 : 0;
}
