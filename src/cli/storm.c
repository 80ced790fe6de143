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

static void usage(FILE *f)
{
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
        "  --json FILE            write the results as JSON\n"
        "  --svg FILE             plot free/claimed/used memory per node\n"
        "  --no-progress          no progress bar\n");
}

static int bad(const char *opt, const char *arg, const char *why)
{
    fprintf(stderr, "numaclaim storm: %s '%s': %s\n", opt, arg, why);
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

    /* Every config is copied into each of the --vms VMs it stands for:
     * more configs than VMs can never run. */
    if ( s->nr_configs == STORM_MAX_VMS )
    {
        fprintf(stderr, "numaclaim storm: --configs: more than %u files\n",
                STORM_MAX_VMS);
        return -1;
    }
    more = realloc(s->configs, (s->nr_configs + 1) * sizeof(*more));
    if ( more )
        s->configs = more;
    paths = realloc(a->files->path, (s->nr_configs + 1) * sizeof(*paths));
    if ( paths )
        a->files->path = paths;
    if ( !more || !paths )
    {
        fprintf(stderr, "numaclaim storm: --configs: out of memory for %u "
                "configs\n", s->nr_configs + 1);
        return -1;
    }
    if ( ts_vm_load(f, &s->configs[s->nr_configs], err, sizeof(err)) )
    {
        fprintf(stderr, "numaclaim storm: --configs: %s\n", err);
        return -1;
    }
    /* f is ts_split's copy, freed after this call: keep our own. */
    paths[s->nr_configs++] = strdup(f);
    a->files->nr = s->nr_configs;
    if ( !paths[s->nr_configs - 1] )
    {
        fprintf(stderr, "numaclaim storm: --configs: out of memory\n");
        return -1;
    }
    return 0;
}

static int no_op(const char *item, void *arg)
{
    (void)item;
    (void)arg;
    return 0;
}

static int load_configs(struct storm_scenario *s, struct config_files *files,
                        const char *arg)
{
    struct load_arg a = { s, files };
    /* The list's syntax first, so that "a.cfg," is about the list. */
    int rc = ts_split(arg, ',', false, no_op, NULL);

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
            fprintf(stderr, "numaclaim storm: --configs: %s: %s (--host)\n",
                    files->path[i], why);
            return 2;
        }
    return 0;
}

/* An option error: say it, then clean up and exit with status 2. */
#define FAIL(status) do { rc = (status); goto out; } while ( 0 )

int cli_storm(int argc, char **argv)
{
    enum { O_HOST = 256, O_VMS, O_MIX, O_CONFIGS, O_FILL, O_BUILDERS,
           O_POLICY, O_ARRIVAL, O_SEED, O_OFFLINE, O_BALLOON, O_THREADS,
           O_PROCESSES, O_JSON, O_SVG, O_NOPROG, O_LIFETIME, O_REBOOT,
           O_HA, O_HELP };
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
        { NULL, 0, NULL, 0 },
    };
    struct storm_scenario s;
    struct storm_result *res = NULL;
    const char *json = NULL, *svg = NULL;
    struct config_files files = { NULL, 0 };
    char err[512];
    uint64_t seed;
    bool vms_given = false, progress = isatty(2);
    int opt, nr, rc = 0;

    storm_defaults(&s);
    optind = 1;
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
    if ( check_configs(&s, &files) )
        FAIL(2);
    if ( s.nr_configs && !vms_given )
        s.nr_vms = s.nr_configs;
    for ( uint32_t i = 0; i < s.nr_offline; i++ )
    {
        uint64_t frames = 0;

        for ( uint32_t n = 0; n < s.host.nr_nodes; n++ )
            frames += s.host.node_pages[n];
        if ( s.offline[i].pages > frames )
        {
            fprintf(stderr, "numaclaim storm: --offline: %llu pages, the host "
                    "has %llu\n", (unsigned long long)s.offline[i].pages,
                    (unsigned long long)frames);
            FAIL(2);
        }
    }
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
    if ( storm_prepare(&s, err, sizeof(err)) )
    {
        fprintf(stderr, "numaclaim storm: %s\n", err);
        FAIL(2);
    }

    res = calloc(TS_NR_POLICIES, sizeof(*res));
    nr = res ? storm_run(&s, res) : -1;
    if ( nr < 0 )
    {
        fprintf(stderr, "numaclaim storm: cannot run: %s\n", strerror(errno));
        rc = 1;
        goto out;
    }
    storm_print_table(stdout, &s, res, (uint32_t)nr);
    if ( json && storm_write_json(json, &s, res, (uint32_t)nr, err,
                                  sizeof(err)) )
    {
        fprintf(stderr, "numaclaim storm: --json: %s\n", err);
        rc = 1;
    }
    if ( svg && storm_write_svg(svg, &s, res, (uint32_t)nr, err, sizeof(err)) )
    {
        fprintf(stderr, "numaclaim storm: --svg: %s\n", err);
        rc = 1;
    }
    for ( int i = 0; i < nr; i++ )
        if ( res[i].error )
            rc = 1;
 out:
    for ( uint32_t i = 0; i < files.nr; i++ )
        free(files.path[i]);
    free(files.path);
    free(res);
    storm_free(&s);
    return rc;
}
