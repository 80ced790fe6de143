/* SPDX-License-Identifier: MIT */
/*
 * `numaclaim storm`: parse the options into a scenario, run every policy,
 * print the table and write the JSON and SVG asked for.  Every bad option
 * gets a message naming it and exit status 2, before anything runs.
 */
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "storm.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

/* "storm" or "sweep", for messages. */
static const char *command = "storm";

static void usage_sweep(FILE *f)
{
    fprintf(f,
        "usage: numaclaim sweep --vary PARAM=VALUES [STORM OPTIONS]\n"
        "\n"
        "Run the storm once per value of one parameter (each for --seeds N\n"
        "seeds, all in parallel processes) and compare the policies: each\n"
        "one's figures and its difference from claimsets, paired by seed.\n"
        "\n"
        "  --vary builders=N,N,...     parallel builders\n"
        "  --vary fill=PCT,PCT,...     memory already used by guests\n"
        "  --vary 'host=SPEC|SPEC...'  hosts (separated by |)\n"
        "  --vary 'mix=MIX|MIX...'     VM mixes (separated by |)\n"
        "  --json FILE                 every figure, mean, interval and\n"
        "                              difference, as JSON\n"
        "  --svg FILE                  the table's figures per policy over\n"
        "                              the values, and their differences,\n"
        "                              with 95%% intervals, as a picture\n"
        "\n"
        "The other options are numaclaim storm's (numaclaim storm --help),\n"
        "but --vms-out.\n");
}

static void usage(FILE *f)
{
    if ( strcmp(command, "storm") )
    {
        usage_sweep(f);
        return;
    }
    fprintf(f,
        "usage: numaclaim storm [OPTIONS]\n"
        "\n"
        "Build many VMs in parallel on one NUMA host, once per placement\n"
        "policy on the same arrivals, and compare failures, wasted work and\n"
        "memory locality.\n"
        "\n"
        "  --host SPEC|hwloc:FILE.xml|local   the host (default: two sockets\n"
        "                         with sub-NUMA clustering, 4 x 128 GiB)\n"
        "  --vms N                VMs to start (default 48)\n"
        "  --mix SIZE:W,...       VM sizes and weights (default\n"
        "                         2G:4,4G:4,8G:3,16G:2,64G:1)\n"
        "  --configs F[,F...]     VMs from xl.cfg files (repeated up to --vms)\n"
        "  --fill PCT             memory already used by guests, unevenly\n"
        "                         over the nodes (default 40)\n"
        "  --builders N           parallel builders (default 8)\n"
        "  --policy LIST          none,host,xapi,claimsets (default: all)\n"
        "  --arrival burst|poisson:RATE   all at once (default) or RATE VMs/s\n"
        "  --seed N               the seed (default 1): same seed, same report\n"
        "  --offline PAGES@TIME   offline PAGES frames at TIME s (repeatable)\n"
        "  --balloon              each VM balloons 10%% down and up once started\n"
        "  --lifetime fixed:S|exp:MEAN|uniform:A-B   VMs shut down after\n"
        "                         running this long (seconds), their domains\n"
        "                         destroyed and memory freed dirty; domids\n"
        "                         are reused (simulated time only)\n"
        "  --reboot P             share (0 to 1) of lifetime ends that reboot:\n"
        "                         the domain is destroyed and built again\n"
        "  --ha-restart N@TIME    N more VMs from the mix arrive together at\n"
        "                         TIME s, as after a host failure (HA restart)\n"
        "  --threads              real threads and wall-clock time (results\n"
        "                         may vary between runs)\n"
        "  --processes            builders as processes on a private hostd\n"
        "                         per policy, wall-clock time\n"
        "  --vnuma-remote SHARE   share (0 to 1) of a vNUMA guest's memory\n"
        "                         accesses that go to its other vnodes, for\n"
        "                         locality (default "
        STR(STORM_DEFAULT_VNUMA_REMOTE) ", an assumption:\n"
        "                         docs/storm.md)\n"
        "  --claim-slack PCT%%|MIB memory claimsets leaves unclaimed on each\n"
        "                         node it plans on, where a node set as near\n"
        "                         allows: percent of the node or MiB\n"
        "                         (default " STR(TS_DEFAULT_SLACK_MIB) ")\n"
        "  --seeds N              run seeds SEED..SEED+N-1 (in parallel) and\n"
        "                         report each figure's mean and 95%%\n"
        "                         confidence interval (Student t)\n"
        "  --jobs N               seeds run at once (default: CPUs online)\n"
        "  --json FILE            write the results as JSON\n"
        "  --svg FILE             the picture: per policy its figures, host\n"
        "                         memory over time, a node heat map, failures\n"
        "                         and events (of the first seed)\n"
        "  --vms-out FILE         one row per VM and policy (and seed):\n"
        "                         outcome, reason, nodes, claim, times; CSV,\n"
        "                         or JSON lines if FILE ends in .jsonl\n"
        "  --vms-format csv|jsonl the format of --vms-out, whatever its name\n"
        "  --no-progress          no progress bar\n");
}

static int bad(const char *opt, const char *arg, const char *why)
{
    fprintf(stderr, "numaclaim %s: %s '%s': %s\n", command, opt, arg, why);
    return 2;
}

static int parse_u32(const char *arg, uint32_t min, uint32_t max,
                     uint32_t *out)
{
    uint64_t v;

    if ( ts_parse_uint(arg, min, max, &v) )
        return -1;
    *out = (uint32_t)v;
    return 0;
}

struct policy_arg {
    uint32_t mask;
    char *why;
    size_t whylen;
};

static int add_policy(const char *name, void *arg)
{
    struct policy_arg *a = arg;
    enum ts_policy p;

    if ( ts_policy_parse(name, &p) )
    {
        snprintf(a->why, a->whylen, "unknown policy \"%.32s\" (expected a "
                 "comma-separated list of none, host, xapi, claimsets)", name);
        return -1;
    }
    a->mask |= 1u << p;
    return 0;
}

static int parse_policies(const char *arg, uint32_t *mask, char *why,
                          size_t whylen)
{
    struct policy_arg a = { 0, why, whylen };
    int rc = ts_split(arg, ',', false, add_policy, &a);

    if ( rc == TS_SPLIT_EMPTY )
        snprintf(why, whylen, "empty item in the list (expected a "
                 "comma-separated list of none, host, xapi, claimsets)");
    else if ( rc == TS_SPLIT_NOMEM )
        snprintf(why, whylen, "out of memory");
    *mask = a.mask;
    return rc ? -1 : 0;
}

/* PAGES@TIME: PAGES from 1 to 2^32, TIME a finite number of seconds. */
static int parse_offline(const char *arg, struct storm_offline *o)
{
    const char *at;
    uint64_t pages;
    double t;

    if ( ts_parse_dec(arg, &at, 1ULL << 32, &pages) || !pages ||
         *at != '@' || ts_parse_real(at + 1, 0, DBL_MAX, &t) )
        return -1;
    o->pages = pages;
    o->time = t;
    return 0;
}

/* N@TIME of --ha-restart: 1 to STORM_MAX_GUESTS VMs, a finite time. */
static int parse_ha(const char *arg, struct storm_scenario *s)
{
    const char *at;
    uint64_t n;
    double t;

    if ( ts_parse_dec(arg, &at, STORM_MAX_GUESTS, &n) || !n || *at != '@' ||
         ts_parse_real(at + 1, 0, STORM_MAX_LIFETIME, &t) )
        return -1;
    s->ha_vms = (uint32_t)n;
    s->ha_time = t;
    return 0;
}

/* Where each config came from, for messages about it. */
struct config_files {
    char **path;
    uint32_t nr;
};

struct load_arg {
    struct storm_scenario *s;
    struct config_files *files;
};

static int load_one(const char *f, void *arg)
{
    struct load_arg *a = arg;
    struct storm_scenario *s = a->s;
    struct ts_vm *more;
    char **paths;
    char err[512];

    more = realloc(s->configs, (s->nr_configs + 1) * sizeof(*more));
    if ( more )
        s->configs = more;
    paths = realloc(a->files->path, (s->nr_configs + 1) * sizeof(*paths));
    if ( paths )
        a->files->path = paths;
    if ( !more || !paths )
    {
        fprintf(stderr, "numaclaim %s: --configs: out of memory for %u "
                "configs\n", command, s->nr_configs + 1);
        return -1;
    }
    if ( ts_vm_load(f, &s->configs[s->nr_configs], err, sizeof(err)) )
    {
        fprintf(stderr, "numaclaim %s: --configs: %s\n", command, err);
        return -1;
    }
    /* f is ts_split's copy, freed after this call: keep our own. */
    paths[s->nr_configs++] = strdup(f);
    a->files->nr = s->nr_configs;
    if ( !paths[s->nr_configs - 1] )
    {
        fprintf(stderr, "numaclaim %s: --configs: out of memory\n", command);
        return -1;
    }
    return 0;
}

static int count_item(const char *item, void *arg)
{
    (void)item;
    (*(uint64_t *)arg)++;
    return 0;
}

static int load_configs(struct storm_scenario *s, struct config_files *files,
                        const char *arg)
{
    struct load_arg a = { s, files };
    uint64_t nr = 0;
    /* The list's syntax first, so that "a.cfg," is about the list. */
    int rc = ts_split(arg, ',', false, count_item, &nr);

    /* Each config is at least one VM, and every VM of a storm runs at
     * once: a list that can never run is refused before any is read. */
    if ( !rc && s->nr_configs + nr > STORM_MAX_GUESTS )
    {
        fprintf(stderr, "numaclaim storm: --configs: %llu files, and Xen "
                "has domids for %u guests at once\n",
                (unsigned long long)(s->nr_configs + nr), STORM_MAX_GUESTS);
        return 2;
    }
    if ( !rc )
        rc = ts_split(arg, ',', false, load_one, &a);

    if ( rc == TS_SPLIT_EMPTY )
        return bad("--configs", arg, "empty file name (expected F[,F...])");
    if ( rc == TS_SPLIT_NOMEM )
        return bad("--configs", arg, "out of memory");
    return rc ? 2 : 0;
}

/* Every config names only nodes the host has: checked once both are
 * known, whatever the order of --host and --configs. */
static int check_configs(const struct storm_scenario *s,
                         const struct config_files *files)
{
    char why[160];

    for ( uint32_t i = 0; i < s->nr_configs; i++ )
        if ( ts_vm_check_host(&s->configs[i], s->host.nr_nodes,
                              s->host.node_cpus, NULL, why, sizeof(why)) )
        {
            fprintf(stderr, "numaclaim %s: --configs: %s: %s (--host)\n",
                    command,
                    files->path[i], why);
            return 2;
        }
    return 0;
}

/* Over seeds: each seed's results as they come, in seed order. */
struct seeds_ctx {
    const struct storm_scenario *s;
    struct storm_seeds_report sr;
    uint32_t k;                  /* seeds seen */
    struct storm_result *first;  /* the first seed's results */
    struct storm_vms *first_vms; /* and its per-VM results, for --svg */
    uint32_t nr_first;
    FILE *vms;
    enum storm_vms_format fmt;
};

static int take_seed(void *arg, uint64_t seed, const struct storm_result *r,
                     const struct storm_vms *vms, uint32_t nr)
{
    struct seeds_ctx *c = arg;

    if ( c->k == 0 )
    {
        memcpy(c->first, r, nr * sizeof(*r));
        c->nr_first = nr;
        for ( uint32_t i = 0; c->first_vms && vms && i < nr; i++ )
        {
            struct storm_vms *d = &c->first_vms[i];

            d->vm = malloc((vms[i].nr ? vms[i].nr : 1) * sizeof(*d->vm));
            d->node = malloc((vms[i].nr_node ? vms[i].nr_node : 1) *
                             sizeof(*d->node));
            if ( !d->vm || !d->node )
            {
                storm_vms_free(d);
                continue;            /* the picture goes without marks */
            }
            d->nr = vms[i].nr;
            d->nr_node = vms[i].nr_node;
            memcpy(d->vm, vms[i].vm, d->nr * sizeof(*d->vm));
            memcpy(d->node, vms[i].node, d->nr_node * sizeof(*d->node));
        }
    }
    storm_seeds_report_add(&c->sr, c->k++, seed, r, nr);
    if ( c->vms && vms &&
         storm_vms_write(c->vms, c->fmt, c->s, seed, r, vms, nr) )
    {
        fprintf(stderr, "numaclaim %s: --vms-out: %s\n", command,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* What is checked of a scenario once all options are known: its configs
 * and offline events against its host. */
static int check_scenario(const struct storm_scenario *s,
                          const struct config_files *files)
{
    uint64_t frames = 0;

    if ( check_configs(s, files) )
        return 2;
    for ( uint32_t n = 0; n < s->host.nr_nodes; n++ )
        frames += s->host.node_pages[n];
    for ( uint32_t i = 0; i < s->nr_offline; i++ )
        if ( s->offline[i].pages > frames )
        {
            fprintf(stderr, "numaclaim %s: --offline: %llu pages, the host "
                    "has %llu\n", command,
                    (unsigned long long)s->offline[i].pages,
                    (unsigned long long)frames);
            return 2;
        }
    return 0;
}

/* numaclaim sweep, once the base scenario is checked. */
static int sweep(const struct storm_scenario *s,
                 const struct config_files *files, const char *vary,
                 uint32_t seeds, uint32_t jobs, bool progress,
                 const char *json, const char *svg, struct storm_sweep **swp)
{
    struct storm_sweep *sw = calloc(1, sizeof(*sw));
    char err[512];

    *swp = sw;
    if ( !sw )
    {
        fprintf(stderr, "numaclaim sweep: out of memory\n");
        return 1;
    }
    if ( storm_sweep_parse(s, vary, sw, err, sizeof(err)) )
        return bad("--vary", vary, err);
    for ( uint32_t i = 0; i < sw->nr; i++ )
    {
        if ( check_scenario(&sw->sc[i], files) )
            return 2;
        sw->sc[i].progress = false;
        if ( storm_prepare(&sw->sc[i], err, sizeof(err)) )
        {
            fprintf(stderr, "numaclaim sweep: %s=%s: %s\n",
                    storm_sweep_param(sw), sw->value[i], err);
            return 2;
        }
    }
    if ( storm_sweep_run(sw, seeds ? seeds : 1, jobs ? jobs : 1, progress) )
    {
        fprintf(stderr, "numaclaim sweep: cannot run: %s\n", strerror(errno));
        return 1;
    }
    storm_print_sweep_table(stdout, sw);
    if ( json && storm_write_sweep_json(json, sw, err, sizeof(err)) )
    {
        fprintf(stderr, "numaclaim sweep: --json: %s\n", err);
        return 1;
    }
    if ( svg && storm_write_sweep_svg(svg, sw, err, sizeof(err)) )
    {
        fprintf(stderr, "numaclaim sweep: --svg: %s\n", err);
        return 1;
    }
    for ( uint32_t i = 0; i < sw->nr; i++ )
        for ( uint32_t p = 0; p < sw->rep[i].nr; p++ )
            if ( sw->rep[i].error[p][0] )
                return 1;
    return 0;
}

/* An option error: say it, then clean up and exit with status 2. */
#define FAIL(status) do { rc = (status); goto out; } while ( 0 )

/* What storm_main does once the options are read. */
enum storm_mode {
    STORM_RUN,
    STORM_SWEEP,
    STORM_PARSE,                 /* prepare the scenario, run nothing */
};

static int storm_main(int argc, char **argv, enum storm_mode mode)
{
    bool sweeping = mode == STORM_SWEEP;

    enum { O_HOST = 256, O_VMS, O_MIX, O_CONFIGS, O_FILL, O_BUILDERS,
           O_POLICY, O_ARRIVAL, O_SEED, O_OFFLINE, O_BALLOON, O_THREADS,
           O_PROCESSES, O_JSON, O_SVG, O_NOPROG, O_HELP, O_REMOTE, O_SLACK,
           O_SEEDS, O_JOBS, O_VMS_OUT, O_VMS_FORMAT, O_VARY, O_LIFETIME,
           O_REBOOT, O_HA };
    static const struct option opts[] = {
        { "host", required_argument, NULL, O_HOST },
        { "vms", required_argument, NULL, O_VMS },
        { "mix", required_argument, NULL, O_MIX },
        { "configs", required_argument, NULL, O_CONFIGS },
        { "fill", required_argument, NULL, O_FILL },
        { "builders", required_argument, NULL, O_BUILDERS },
        { "policy", required_argument, NULL, O_POLICY },
        { "arrival", required_argument, NULL, O_ARRIVAL },
        { "seed", required_argument, NULL, O_SEED },
        { "offline", required_argument, NULL, O_OFFLINE },
        { "balloon", no_argument, NULL, O_BALLOON },
        { "lifetime", required_argument, NULL, O_LIFETIME },
        { "reboot", required_argument, NULL, O_REBOOT },
        { "ha-restart", required_argument, NULL, O_HA },
        { "threads", no_argument, NULL, O_THREADS },
        { "processes", no_argument, NULL, O_PROCESSES },
        { "json", required_argument, NULL, O_JSON },
        { "svg", required_argument, NULL, O_SVG },
        { "no-progress", no_argument, NULL, O_NOPROG },
        { "help", no_argument, NULL, O_HELP },
        { "vnuma-remote", required_argument, NULL, O_REMOTE },
        { "claim-slack", required_argument, NULL, O_SLACK },
        { "seeds", required_argument, NULL, O_SEEDS },
        { "jobs", required_argument, NULL, O_JOBS },
        { "vms-out", required_argument, NULL, O_VMS_OUT },
        { "vms-format", required_argument, NULL, O_VMS_FORMAT },
        { "vary", required_argument, NULL, O_VARY },
        { NULL, 0, NULL, 0 },
    };
    struct storm_scenario s;
    struct storm_result *res = NULL;
    const char *json = NULL, *svg = NULL, *vms_out = NULL, *vary = NULL;
    struct storm_sweep *sw = NULL;
    struct config_files files = { NULL, 0 };
    struct storm_vms vms[TS_NR_POLICIES];
    struct seeds_ctx sc = { .s = &s };
    enum storm_vms_format fmt = STORM_VMS_CSV;
    char err[512];
    uint64_t seed;
    uint32_t seeds = 0, jobs = 0;
    bool vms_given = false, progress = isatty(2), fmt_given = false;
    int opt, nr, rc = 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    memset(vms, 0, sizeof(vms));

    storm_defaults(&s);
    /* 0, not 1: glibc's getopt then starts afresh, forgetting where an
     * earlier scan stopped inside an argument (the fuzz harness parses
     * many command lines in one process). */
    optind = 0;
    while ( (opt = getopt_long(argc, argv, "", opts, NULL)) != -1 )
    {
        switch ( opt )
        {
        case O_HOST:
            if ( ts_host_resolve(optarg, &s.host, err, sizeof(err)) )
                FAIL(bad("--host", optarg, err));
            break;
        case O_VMS:
            if ( parse_u32(optarg, 1, STORM_MAX_VMS, &s.nr_vms) )
                FAIL(bad("--vms", optarg, "expected a number from 1 to "
                           STR(STORM_MAX_VMS)));
            vms_given = true;
            break;
        case O_MIX:
            if ( storm_parse_mix(&s, optarg, err, sizeof(err)) )
                FAIL(bad("--mix", optarg, err));
            break;
        case O_CONFIGS:
            if ( load_configs(&s, &files, optarg) )
                FAIL(2);
            break;
        case O_FILL:
            if ( parse_u32(optarg, 0, 90, &s.fill_pct) )
                FAIL(bad("--fill", optarg, "expected a percentage from 0 "
                           "to 90"));
            break;
        case O_BUILDERS:
            if ( parse_u32(optarg, 1, 1024, &s.builders) )
                FAIL(bad("--builders", optarg, "expected a number from 1 "
                           "to 1024"));
            break;
        case O_POLICY:
            if ( parse_policies(optarg, &s.policies, err, sizeof(err)) )
                FAIL(bad("--policy", optarg, err));
            break;
        case O_ARRIVAL:
            /* A rate below STORM_MIN_RATE would put arrivals so far
             * apart that their times are no longer finite. */
            if ( !strcmp(optarg, "burst") )
                s.rate = 0;
            else if ( strncmp(optarg, "poisson:", 8) ||
                      ts_parse_real(optarg + 8, STORM_MIN_RATE,
                                    STORM_MAX_RATE, &s.rate) )
                FAIL(bad("--arrival", optarg, "expected burst or "
                           "poisson:RATE with RATE from 1e-6 to 1e9 (VMs "
                           "per second)"));
            break;
        case O_SEED:
            if ( ts_parse_uint(optarg, 0, UINT64_MAX, &seed) )
                FAIL(bad("--seed", optarg, "expected a whole number from 0 "
                           "to 2^64-1"));
            s.seed = seed;
            break;
        case O_OFFLINE:
            if ( s.nr_offline == STORM_MAX_EVENTS )
                FAIL(bad("--offline", optarg, "too many events (16)"));
            if ( parse_offline(optarg, &s.offline[s.nr_offline]) )
                FAIL(bad("--offline", optarg, "expected PAGES@TIME, e.g. "
                           "1000@0.5 (pages from 1, time in seconds)"));
            s.nr_offline++;
            break;
        case O_BALLOON:
            s.balloon = true;
            break;
        case O_LIFETIME:
            if ( storm_parse_lifetime(&s.lifetime, optarg, err, sizeof(err)) )
                FAIL(bad("--lifetime", optarg, err));
            break;
        case O_REBOOT:
            if ( ts_parse_real(optarg, 0, 1, &s.reboot) )
                FAIL(bad("--reboot", optarg, "expected a share from 0 to 1 "
                           "(e.g. 0.25)"));
            break;
        case O_HA:
            if ( parse_ha(optarg, &s) )
                FAIL(bad("--ha-restart", optarg, "expected N@TIME, e.g. "
                           "500@60 (N from 1 to 32751"
                           ", time in seconds up to 1e9)"));
            break;
        case O_THREADS:
            s.threads = true;
            break;
        case O_PROCESSES:
            s.processes = true;
            break;
        case O_JSON:
            json = optarg;
            break;
        case O_SVG:
            svg = optarg;
            break;
        case O_NOPROG:
            progress = false;
            break;
        case O_REMOTE:
            if ( ts_parse_real(optarg, 0, 1, &s.vnuma_remote) )
                FAIL(bad("--vnuma-remote", optarg, "expected a share from 0 "
                           "to 1, e.g. 0.1"));
            break;
        case O_SLACK:
            if ( ts_slack_parse(optarg, &s.claim_slack) )
                FAIL(bad("--claim-slack", optarg, "expected a percentage "
                           "from 0% to 50% or MiB up to 1048576, e.g. 1% "
                           "or 256"));
            break;
        case O_SEEDS:
            if ( parse_u32(optarg, 1, STORM_MAX_SEEDS, &seeds) )
                FAIL(bad("--seeds", optarg, "expected a number from 1 to "
                           STR(STORM_MAX_SEEDS)));
            break;
        case O_JOBS:
            if ( parse_u32(optarg, 1, 1024, &jobs) )
                FAIL(bad("--jobs", optarg, "expected a number from 1 to "
                           "1024"));
            break;
        case O_VMS_OUT:
            vms_out = optarg;
            break;
        case O_VMS_FORMAT:
            if ( !strcmp(optarg, "csv") )
                fmt = STORM_VMS_CSV;
            else if ( !strcmp(optarg, "jsonl") )
                fmt = STORM_VMS_JSONL;
            else
                FAIL(bad("--vms-format", optarg, "expected csv or jsonl"));
            fmt_given = true;
            break;
        case O_VARY:
            if ( !sweeping )
                FAIL(bad("--vary", optarg, "only numaclaim sweep varies a "
                           "parameter"));
            vary = optarg;
            break;
        case O_HELP:
            usage(stdout);
            FAIL(0);
        default:
            usage(stderr);
            FAIL(2);
        }
    }
    if ( optind != argc )
        FAIL(bad("argument", argv[optind], "unexpected (try --help)"));
    if ( sweeping && !vary )
    {
        fprintf(stderr, "numaclaim sweep: --vary PARAM=VALUES is needed "
                "(try --help)\n");
        FAIL(2);
    }
    if ( sweeping && vms_out )
        FAIL(bad("--vms-out", vms_out, "numaclaim sweep writes no per-VM "
                   "rows (numaclaim storm does)"));
    if ( check_scenario(&s, &files) )
        FAIL(2);
    if ( s.nr_configs && !vms_given )
        s.nr_vms = s.nr_configs;
    /* Offline events happen in time order. */
    for ( uint32_t i = 1; i < s.nr_offline; i++ )
        for ( uint32_t j = i; j > 0 && s.offline[j - 1].time > s.offline[j].time;
              j-- )
        {
            struct storm_offline t = s.offline[j - 1];

            s.offline[j - 1] = s.offline[j];
            s.offline[j] = t;
        }
    s.progress = progress;
    /* The heap in every sample, for the picture and the JSON samples. */
    s.heap_samples = !sweeping && (svg || json);
    if ( sweeping )
    {
        rc = sweep(&s, &files, vary, seeds, jobs ? jobs : (uint32_t)cpus,
                   progress, json, svg, &sw);
        goto out;
    }
    if ( storm_prepare(&s, err, sizeof(err)) )
    {
        fprintf(stderr, "numaclaim %s: %s\n", command, err);
        FAIL(2);
    }
    if ( mode == STORM_PARSE )
        goto out;               /* rc is 0: the storm would run */

    if ( vms_out )
    {
        size_t len = strlen(vms_out);

        if ( !fmt_given && len >= 6 && !strcmp(vms_out + len - 6, ".jsonl") )
            fmt = STORM_VMS_JSONL;
        sc.vms = storm_vms_open(vms_out, fmt, err, sizeof(err));
        if ( !sc.vms )
            FAIL(bad("--vms-out", vms_out, err));
        sc.fmt = fmt;
    }

    res = calloc(TS_NR_POLICIES, sizeof(*res));
    if ( res && seeds )
    {
        /* Seeds in parallel processes, as many as there are CPUs. */
        sc.first = res;
        sc.first_vms = svg ? vms : NULL;
        sc.sr.nr_seeds = seeds;
        for ( uint32_t i = 0; i < TS_NR_POLICIES; i++ )
            for ( uint32_t f = 0; f < STORM_NR_FIGURES; f++ )
                if ( !(sc.sr.fig[i][f] = calloc(seeds, sizeof(double))) )
                    FAIL(1);
        s.progress = false;
        if ( !jobs )
            jobs = cpus > 0 ? (uint32_t)cpus : 1;
        nr = storm_run_seeds(&s, seeds, jobs, vms_out || svg, progress,
                             take_seed, &sc) ? -1 : (int)sc.nr_first;
    }
    else
    {
        nr = res ? storm_run_vms(&s, res, vms_out || svg ? vms : NULL) : -1;
        if ( nr > 0 && sc.vms &&
             storm_vms_write(sc.vms, fmt, &s, s.seed, res, vms, (uint32_t)nr) )
        {
            fprintf(stderr, "numaclaim %s: --vms-out: %s: %s\n", command,
                    vms_out,
                    strerror(errno));
            rc = 1;
        }
    }
    if ( nr < 0 )
    {
        fprintf(stderr, "numaclaim %s: cannot run: %s\n", command,
                strerror(errno));
        rc = 1;
        goto out;
    }
    if ( sc.vms )
    {
        FILE *f = sc.vms;

        sc.vms = NULL;
        if ( fclose(f) )
        {
            fprintf(stderr, "numaclaim %s: --vms-out: %s: %s\n", command,
                    vms_out,
                    strerror(errno));
            rc = 1;
        }
    }
    /* One seed is a plain run: the plain report. */
    if ( seeds > 1 )
        storm_print_seeds_table(stdout, &s, &sc.sr);
    else
        storm_print_table(stdout, &s, res, (uint32_t)nr);
    if ( json && (seeds > 1
                  ? storm_write_seeds_json(json, &s, &sc.sr, err, sizeof(err))
                  : storm_write_json(json, &s, res, (uint32_t)nr, err,
                                     sizeof(err))) )
    {
        fprintf(stderr, "numaclaim %s: --json: %s\n", command, err);
        rc = 1;
    }
    if ( svg && storm_write_svg(svg, &s, res, vms, (uint32_t)nr, err,
                                sizeof(err)) )
    {
        fprintf(stderr, "numaclaim %s: --svg: %s\n", command, err);
        rc = 1;
    }
    for ( int i = 0; i < nr; i++ )
        if ( res[i].error )
            rc = 1;
 out:
    if ( sw )
        storm_sweep_free(sw);
    free(sw);
    if ( sc.vms )
        fclose(sc.vms);
    for ( uint32_t i = 0; i < TS_NR_POLICIES; i++ )
    {
        storm_vms_free(&vms[i]);
        for ( uint32_t f = 0; f < STORM_NR_FIGURES; f++ )
            free(sc.sr.fig[i][f]);
    }
    for ( uint32_t i = 0; i < files.nr; i++ )
        free(files.path[i]);
    free(files.path);
    free(res);
    storm_free(&s);
    return rc;
}

int cli_storm(int argc, char **argv)
{
    command = "storm";
    return storm_main(argc, argv, STORM_RUN);
}

int cli_sweep(int argc, char **argv)
{
    command = "sweep";
    return storm_main(argc, argv, STORM_SWEEP);
}

int cli_storm_parse(int argc, char **argv)
{
    return storm_main(argc, argv, STORM_PARSE);
}
