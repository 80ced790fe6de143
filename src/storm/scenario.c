/* SPDX-License-Identifier: MIT */
/*
 * Storm scenarios: defaults, the VM mix, and the VMs and arrival times a
 * seed generates.  The default scenario asks for more memory than the host
 * has free, so some VMs must fail: the question is how, and where the
 * others land.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hostspec.h"
#include "storm.h"

#define GIB (1ULL << 18)

/* Two sockets with sub-NUMA clustering, 512 GiB. */
#define DEFAULT_HOST \
    "4x128G;dist=10,11,21,21,11,10,21,21,21,21,10,11,21,21,11,10"
#define DEFAULT_MIX "2G:4,4G:4,8G:3,16G:2,64G:1"

/* splitmix64: small, good enough, and the same everywhere. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *state)
{
    return (double)(next_random(state) >> 11) / (double)(1ULL << 53);
}

void storm_defaults(struct storm_scenario *s)
{
    char err[256];

    memset(s, 0, sizeof(*s));
    if ( ts_host_resolve(DEFAULT_HOST, &s->host, err, sizeof(err)) )
        abort();                    /* a constant: cannot fail */
    s->nr_vms = 48;
    storm_parse_mix(s, DEFAULT_MIX, err, sizeof(err));
    s->fill_pct = 40;
    s->builders = 8;
    s->policies = (1u << TS_NR_POLICIES) - 1;
    s->seed = 1;
    s->vnuma_remote = STORM_DEFAULT_VNUMA_REMOTE;
    s->claim_slack = (struct ts_slack){ .pages = TS_DEFAULT_SLACK_MIB << 8 };
}

/* "8G" -> pages: a size as in host specs (hostspec.h: K, M, G or T,
 * binary, bytes without a suffix), at least 1 MiB. */
static int parse_size(const char *t, size_t n, uint64_t *pages)
{
    const char *why;

    if ( nc_parse_size(t, n, pages, &why) )
        return -1;
    return *pages < (1ULL << (20 - NC_PAGE_SHIFT)) ? -1 : 0;
}

int storm_parse_mix(struct storm_scenario *s, const char *arg, char *err,
                    size_t errlen)
{
    struct storm_mix mix[STORM_MAX_MIX];
    uint32_t nr = 0;
    const char *p = arg;

    while ( *p )
    {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        char weight[16];
        size_t wlen;
        uint64_t w;

        if ( nr == STORM_MAX_MIX )
        {
            snprintf(err, errlen, "--mix: more than %d sizes", STORM_MAX_MIX);
            return -1;
        }
        if ( !colon || parse_size(p, (size_t)(colon - p), &mix[nr].pages) )
        {
            snprintf(err, errlen, "--mix: bad entry \"%.*s\" (expected SIZE:"
                     "WEIGHT, e.g. 8G:3, sizes from 1M with K, M, G or T)",
                     (int)len, p);
            return -1;
        }
        wlen = (size_t)(p + len - colon - 1);
        if ( wlen < sizeof(weight) )
        {
            memcpy(weight, colon + 1, wlen);
            weight[wlen] = '\0';
        }
        /* The weights add up to at most 16 * 10^6: no overflow. */
        if ( wlen >= sizeof(weight) ||
             ts_parse_uint(weight, 1, STORM_MAX_WEIGHT, &w) )
        {
            snprintf(err, errlen, "--mix: bad weight in \"%.*s\" (a whole "
                     "number from 1 to %u)", (int)len, p, STORM_MAX_WEIGHT);
            return -1;
        }
        mix[nr++].weight = (uint32_t)w;
        p += len;
        if ( *p == ',' && *++p == '\0' )
        {
            snprintf(err, errlen, "--mix: trailing comma");
            return -1;
        }
    }
    if ( !nr )
    {
        snprintf(err, errlen, "--mix: empty");
        return -1;
    }
    memcpy(s->mix, mix, sizeof(mix));
    s->nr_mix = nr;
    return 0;
}

/* "A" or "A-B" of --lifetime: seconds from 0 to STORM_MAX_LIFETIME. */
static int parse_seconds(const char *t, size_t n, double *v)
{
    char buf[64];

    if ( n == 0 || n >= sizeof(buf) )
        return -1;
    memcpy(buf, t, n);
    buf[n] = '\0';
    return ts_parse_real(buf, 0, STORM_MAX_LIFETIME, v) ? -1 : 0;
}

int storm_parse_lifetime(struct storm_dist *d, const char *arg, char *err,
                         size_t errlen)
{
    struct storm_dist x = { 0 };
    const char *v = strchr(arg, ':');
    size_t klen = v ? (size_t)(v - arg) : 0;

    if ( v && klen == 5 && !strncmp(arg, "fixed", 5) &&
         !parse_seconds(v + 1, strlen(v + 1), &x.a) )
        x.kind = STORM_LIFE_FIXED;
    else if ( v && klen == 3 && !strncmp(arg, "exp", 3) &&
              !parse_seconds(v + 1, strlen(v + 1), &x.a) && x.a > 0 )
        x.kind = STORM_LIFE_EXP;
    else if ( v && klen == 7 && !strncmp(arg, "uniform", 7) )
    {
        const char *dash = strchr(v + 1, '-');

        /* The dash between A and B, not one of an exponent ("1e-3"). */
        while ( dash &&
                (parse_seconds(v + 1, (size_t)(dash - v - 1), &x.a) ||
                 parse_seconds(dash + 1, strlen(dash + 1), &x.b)) )
            dash = strchr(dash + 1, '-');
        if ( !dash || x.b < x.a )
        {
            snprintf(err, errlen, "expected uniform:A-B with 0 <= A <= B "
                     "<= 1e9 (seconds)");
            return -1;
        }
        x.kind = STORM_LIFE_UNIFORM;
    }
    else
    {
        snprintf(err, errlen, "expected fixed:SECONDS, exp:MEAN or "
                 "uniform:A-B (seconds up to 1e9, a mean above 0)");
        return -1;
    }
    *d = x;
    return 0;
}

static double draw_lifetime(const struct storm_dist *d, uint64_t *rnd)
{
    switch ( d->kind )
    {
    case STORM_LIFE_FIXED:
        return d->a;
    case STORM_LIFE_EXP:
        return -log(1.0 - uniform01(rnd)) * d->a;
    case STORM_LIFE_UNIFORM:
        return d->a + (d->b - d->a) * uniform01(rnd);
    default:
        return INFINITY;
    }
}

static void generated_vm(struct ts_vm *vm, uint32_t i, uint64_t pages)
{
    uint64_t gib = pages / GIB;

    memset(vm, 0, sizeof(*vm));
    snprintf(vm->name, sizeof(vm->name), "mix%u", i);
    vm->memory_pages = vm->maxmem_pages = pages;
    vm->vcpus = (uint32_t)(gib / 2 ? (gib / 2 > 32 ? 32 : gib / 2) : 1);
    vm->hvm = true;
}

/* What this process may allocate: physical memory, or less under a
 * ulimit -v or -d. */
static uint64_t memory_limit(const char **what)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    uint64_t limit = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size
                                           : UINT64_MAX;
    static const struct {
        int resource;
        const char *name;
    } rl[] = { { RLIMIT_AS, "ulimit -v" }, { RLIMIT_DATA, "ulimit -d" } };
    struct rlimit r;

    *what = "physical memory";
    for ( size_t i = 0; i < sizeof(rl) / sizeof(rl[0]); i++ )
        if ( !getrlimit(rl[i].resource, &r) && r.rlim_cur != RLIM_INFINITY &&
             (uint64_t)r.rlim_cur < limit )
        {
            limit = (uint64_t)r.rlim_cur;
            *what = rl[i].name;
        }
    return limit;
}

/* VM i's config: its --configs file's, or a mix entry's by weight. */
static const struct ts_vm *pick_vm(const struct storm_scenario *s, uint32_t i,
                                   uint64_t total, uint64_t *rnd)
{
    uint64_t pick, k = 0;

    if ( s->nr_configs )
        return &s->configs[i % s->nr_configs];
    pick = next_random(rnd) % total;
    while ( pick >= s->mix[k].weight )
        pick -= s->mix[k++].weight;
    return &s->templates[k];
}

/* The bytes a run needs per VM: its config pointer, arrival, lifetime
 * and reboots here, its result record in the run (storm_vm_bytes). */
static uint64_t vm_bytes(const struct storm_scenario *s)
{
    uint64_t b = sizeof(*s->vms) + sizeof(*s->arrival) + storm_vm_bytes();

    if ( s->lifetime.kind != STORM_LIFE_FOREVER )
        b += sizeof(*s->life) + sizeof(*s->reboots);
    return b;
}

int storm_prepare(struct storm_scenario *s, char *err, size_t errlen)
{
    uint64_t rnd = s->seed, total = 0, need, limit;
    double t = 0;
    uint32_t n = s->nr_vms ? s->nr_vms : s->nr_configs, ha = 0;
    bool churn = s->lifetime.kind != STORM_LIFE_FOREVER;
    const char *what;

    if ( n == 0 )
    {
        snprintf(err, errlen, "no VMs: give --vms N or --configs");
        return -1;
    }
    if ( (uint64_t)n + s->ha_vms > STORM_MAX_VMS )
    {
        snprintf(err, errlen, "--ha-restart: %u VMs and %u more are more "
                 "than %u", n, s->ha_vms, STORM_MAX_VMS);
        return -1;
    }
    /* Without lifetimes every VM that starts stays running, and so do the
     * fill guests, one per node: Xen has domids 1 to 32751 for guests
     * (0x7FF0 up are reserved), so more cannot run at once.  With
     * lifetimes domids are reused; a create that finds none free is
     * counted as such (failed_domid). */
    if ( !churn && (uint64_t)n + s->ha_vms +
                   (s->fill_pct ? s->host.nr_nodes : 0) > STORM_MAX_GUESTS )
    {
        snprintf(err, errlen, "--vms: %u VMs%s would run at once, and Xen has "
                 "domids for %u guests (1 to %u); give the VMs lifetimes "
                 "(--lifetime) or run fewer", n + s->ha_vms,
                 s->fill_pct ? " and the fill guests" : "", STORM_MAX_GUESTS,
                 STORM_MAX_GUESTS);
        return -1;
    }
    if ( s->reboot > 0 && !churn )
    {
        snprintf(err, errlen, "--reboot: VMs reboot at the end of their "
                 "lifetime: give --lifetime too");
        return -1;
    }
    if ( churn && (s->threads || s->processes) )
    {
        snprintf(err, errlen, "--lifetime: VM lifetimes need simulated time "
                 "(not --threads or --processes)");
        return -1;
    }
    if ( s->ha_vms && (s->threads || s->processes) )
    {
        snprintf(err, errlen, "--ha-restart: needs simulated time (not "
                 "--threads or --processes)");
        return -1;
    }
    n += s->ha_vms;
    /* Refused before anything is allocated, rather than failing (or being
     * killed) half-way through the first policy's run. */
    need = (uint64_t)n * vm_bytes(s);
    limit = memory_limit(&what);
    if ( need > limit )
    {
        snprintf(err, errlen, "--vms: %u VMs need %" PRIu64 " MiB for their "
                 "builds, more than the %" PRIu64 " MiB this process may use "
                 "(%s)", n, need >> 20, limit >> 20, what);
        return -1;
    }
    s->nr_vms = n;
    s->vms = calloc(n, sizeof(*s->vms));
    s->arrival = calloc(n, sizeof(*s->arrival));
    s->templates = calloc(s->nr_mix ? s->nr_mix : 1, sizeof(*s->templates));
    if ( churn )
    {
        s->life = calloc(n, sizeof(*s->life));
        s->reboots = calloc(n, sizeof(*s->reboots));
    }
    if ( !s->vms || !s->arrival || !s->templates ||
         (churn && (!s->life || !s->reboots)) )
    {
        snprintf(err, errlen, "out of memory for %u VMs", n);
        return -1;
    }
    for ( uint32_t k = 0; k < s->nr_mix; k++ )
    {
        total += s->mix[k].weight;
        generated_vm(&s->templates[k], k, s->mix[k].pages);
    }
    for ( uint32_t i = 0, k = 0; k < n - s->ha_vms || ha < s->ha_vms; )
    {
        const struct ts_vm *vm = NULL;
        double at = 0;

        if ( k < n - s->ha_vms )
        {
            vm = pick_vm(s, i, total, &rnd);
            if ( s->rate > 0 )
                t += -log(1.0 - uniform01(&rnd)) / s->rate;
            at = t;
        }
        /* The --ha-restart VMs arrive together, before the first VM that
         * comes after their time; they run to the end. */
        while ( ha < s->ha_vms && (k == n - s->ha_vms || at > s->ha_time) )
        {
            s->vms[i] = pick_vm(s, i, total, &rnd);
            s->arrival[i] = s->ha_time;
            if ( churn )
                s->life[i] = INFINITY;
            i++;
            ha++;
        }
        if ( k == n - s->ha_vms )
            break;
        s->vms[i] = vm;
        s->arrival[i] = at;
        if ( churn )
        {
            /* A lifetime, then a geometric number of reboots. */
            s->life[i] = draw_lifetime(&s->lifetime, &rnd);
            while ( s->reboot > 0 && s->reboots[i] < UINT8_MAX &&
                    uniform01(&rnd) < s->reboot )
                s->reboots[i]++;
        }
        i++;
        k++;
    }
    /* The rate's bounds keep this from happening; the table, the JSON and
     * the SVG all need finite times, so make sure. */
    if ( !isfinite(t) )
    {
        snprintf(err, errlen, "--arrival: poisson:%g puts arrival times "
                 "beyond what can be represented", s->rate);
        return -1;
    }
    return 0;
}

/* The arrays storm_prepare allocates, listed once: a copy of the inputs
 * starts without them and storm_free_prepared frees them. */
#define FOR_EACH_PREPARED(X) X(vms) X(templates) X(arrival) X(life) X(reboots)

void storm_copy_inputs(struct storm_scenario *x,
                       const struct storm_scenario *s)
{
    *x = *s;
    /* storm_prepare adds the --ha-restart VMs to nr_vms. */
    if ( s->vms )
        x->nr_vms = s->nr_vms - s->ha_vms;
#define CLEAR(field) x->field = NULL;
    FOR_EACH_PREPARED(CLEAR)
#undef CLEAR
}

void storm_free_prepared(struct storm_scenario *s)
{
#define FREE(field) free((void *)s->field); s->field = NULL;
    FOR_EACH_PREPARED(FREE)
#undef FREE
}

void storm_free(struct storm_scenario *s)
{
    storm_free_prepared(s);
    free(s->configs);
    s->configs = NULL;
}
