/* SPDX-License-Identifier: MIT */
/*
 * The storm suite: a seed gives the same report every run; on the default
 * scenario claim sets have no mid-build failure and the best locality while
 * `none` shows the race; the mix parser; JSON and SVG output; events and
 * real threads.  Each policy runs in a forked child with its own host.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "storm.h"

#define GIB (1ULL << 18)

static struct storm_result res[TS_NR_POLICIES], again[TS_NR_POLICIES];

static uint32_t run(struct storm_scenario *s, struct storm_result *r)
{
    char err[256];
    int nr;

    assert_int_equal(storm_prepare(s, err, sizeof(err)), 0);
    nr = storm_run(s, r);
    assert_true(nr > 0);
    for ( int i = 0; i < nr; i++ )
        assert_int_equal(r[i].error, 0);
    return (uint32_t)nr;
}

static const struct storm_result *find(const struct storm_result *r,
                                       uint32_t nr, enum ts_policy p)
{
    for ( uint32_t i = 0; i < nr; i++ )
        if ( r[i].policy == p )
            return &r[i];
    fail_msg("policy %s missing", ts_policy_name(p));
    return NULL;
}

static void test_default_scenario_acceptance(void **state)
{
    struct storm_scenario s;
    const struct storm_result *none, *cs;
    uint32_t nr;

    (void)state;
    storm_defaults(&s);
    nr = run(&s, res);
    assert_int_equal(nr, 4);
    none = find(res, nr, TS_POLICY_NONE);
    cs = find(res, nr, TS_POLICY_CLAIMSETS);

    /* The race: builds fail after populating, and the work is lost. */
    assert_true(none->failed_build > 0);
    assert_true(none->wasted_pages > 0);
    assert_int_equal(none->failed_claim, 0);

    /* Claims turn late failures into early ones, and no populated memory
     * is thrown away, so the started VMs hold more memory. */
    assert_true(cs->started_pages > none->started_pages);
    for ( uint32_t i = 0; i < nr; i++ )
    {
        const struct storm_result *x = &res[i];

        assert_int_equal(x->vms, 48);
        assert_int_equal(x->started + x->failed_claim + x->failed_build, 48);
        if ( x->policy == TS_POLICY_NONE )
            continue;
        assert_int_equal(x->failed_build, 0);
        assert_int_equal(x->wasted_pages, 0);
        /* claimsets has the best locality of the four. */
        if ( x->policy != TS_POLICY_CLAIMSETS )
            assert_true(cs->locality > x->locality);
    }
    assert_true(cs->locality > none->locality);
    assert_true(cs->mean_distance < none->mean_distance);
    assert_true(cs->nr_samples >= 2);
    /* Without heap_samples (no --svg or --json) no sample reads the
     * heap dump. */
    for ( uint32_t k = 0; k < cs->nr_samples; k++ )
    {
        assert_int_equal(cs->sample[k].free_2m, STORM_HEAP_UNKNOWN);
        assert_int_equal(cs->sample[k].offlined, STORM_HEAP_UNKNOWN);
    }
    storm_free(&s);
}

static void test_same_seed_same_report(void **state)
{
    struct storm_scenario s;
    uint32_t nr;

    (void)state;
    storm_defaults(&s);
    s.nr_vms = 24;
    s.seed = 7;
    s.rate = 20;
    nr = run(&s, res);
    storm_free(&s);
    storm_defaults(&s);
    s.nr_vms = 24;
    s.seed = 7;
    s.rate = 20;
    assert_int_equal(run(&s, again), nr);
    assert_memory_equal(res, again, nr * sizeof(res[0]));

    /* Another seed, other VMs. */
    storm_free(&s);
    storm_defaults(&s);
    s.nr_vms = 24;
    s.seed = 8;
    s.rate = 20;
    run(&s, again);
    assert_memory_not_equal(res, again, nr * sizeof(res[0]));
    storm_free(&s);
}

/* Mixes refused, and what the message says. */
static const struct {
    const char *mix, *says;
} bad_mixes[] = {
    { "4G", "bad entry \"4G\"" },
    { "4Q:1", "bad entry \"4Q:1\"" },
    { "4G:0", "bad weight in \"4G:0\"" },
    { "4G:1,", "trailing comma" },
    { "", "empty" },
};

static void test_mix_parser(void **state)
{
    struct storm_scenario s;
    char err[256];

    (void)state;
    storm_defaults(&s);
    assert_int_equal(storm_parse_mix(&s, "512M:2,4G:1,1T:3", err, sizeof(err)),
                     0);
    assert_int_equal(s.nr_mix, 3);
    assert_int_equal(s.mix[0].pages, 131072);
    assert_int_equal(s.mix[0].weight, 2);
    assert_int_equal(s.mix[1].pages, 4 * GIB);
    assert_int_equal(s.mix[2].pages, 1024 * GIB);
    assert_int_equal(s.mix[2].weight, 3);
    for ( size_t i = 0; i < sizeof(bad_mixes) / sizeof(bad_mixes[0]); i++ )
    {
        err[0] = '\0';
        if ( storm_parse_mix(&s, bad_mixes[i].mix, err, sizeof(err)) != -1 )
            fail_msg("--mix '%s' accepted", bad_mixes[i].mix);
        if ( !strstr(err, bad_mixes[i].says) )
            fail_msg("--mix '%s': \"%s\" does not say \"%s\"",
                     bad_mixes[i].mix, err, bad_mixes[i].says);
        /* A failed parse leaves the previous mix. */
        assert_int_equal(s.nr_mix, 3);
        assert_int_equal(s.mix[2].pages, 1024 * GIB);
    }
    storm_free(&s);
}

static void test_json_has_every_field(void **state)
{
    struct storm_scenario s;
    char path[] = "/tmp/numaclaim-storm-XXXXXX", err[256];
    json_error_t jerr;
    json_t *root, *pol;
    uint32_t nr;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    storm_defaults(&s);
    s.nr_vms = 12;
    nr = run(&s, res);
    assert_int_equal(storm_write_json(path, &s, res, nr, err, sizeof(err)), 0);
    root = json_load_file(path, 0, &jerr);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(root, "host"), "spec")),
                        s.host.spec);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(root, "scenario"), "vms")), 12);
    pol = json_object_get(root, "policies");
    assert_int_equal(json_array_size(pol), 4);
    for ( uint32_t i = 0; i < nr; i++ )
    {
        json_t *p = json_array_get(pol, i);

        assert_string_equal(json_string_value(json_object_get(p, "name")),
                            ts_policy_name(res[i].policy));
        assert_int_equal(json_integer_value(json_object_get(p, "started")),
                         res[i].started);
        assert_int_equal(json_integer_value(json_object_get(p,
                                                            "started_pages")),
                         res[i].started_pages);
        assert_int_equal(json_integer_value(json_object_get(p, "failed_claim")),
                         res[i].failed_claim);
        assert_int_equal(json_integer_value(json_object_get(p, "failed_build")),
                         res[i].failed_build);
        assert_int_equal(json_integer_value(json_object_get(p, "wasted_pages")),
                         res[i].wasted_pages);
        /* Figures rounded to 4 significant digits. */
        assert_true(json_real_value(json_object_get(p, "locality")) ==
                    storm_round(res[i].locality));
        assert_int_equal(json_integer_value(json_object_get(
                             p, "failed_placement")), res[i].failed_placement);
        assert_true(json_real_value(json_object_get(p, "latency_p99")) ==
                    storm_round(res[i].latency_p99));
        assert_non_null(json_object_get(p, "mean_distance"));
        assert_non_null(json_object_get(p, "single_node_share"));
        assert_non_null(json_object_get(p, "build_seconds"));
    }
    json_decref(root);

    /* An unwritable path is an error, not a crash. */
    assert_int_equal(storm_write_json("/nonexistent/dir/x.json", &s, res, nr,
                                      err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot write /nonexistent/dir/x.json"));
    unlink(path);
    storm_free(&s);
}

/* All of a file (smaller than size) into buf, NUL-terminated. */
static void read_all(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, size - 1, f);
    fclose(f);
    assert_true(n < size - 1);
    buf[n] = '\0';
}

static uint32_t count_of(const char *hay, const char *needle)
{
    uint32_t n = 0;

    for ( const char *p = hay; (p = strstr(p, needle)); p++ )
        n++;
    return n;
}

/* The picture of the default storm: headline figures, failure marks and
 * the heat map's node labels, exact; text escaped.  (tests/test_svg.sh
 * checks it is well-formed XML and tests/test_svg_render.sh renders it.) */
static void test_svg_is_written(void **state)
{
    static struct storm_vms vms[TS_NR_POLICIES];
    static char buf[1 << 20];
    struct storm_scenario s;
    char path[] = "/tmp/numaclaim-svg-XXXXXX", err[256];
    uint32_t nr;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    storm_defaults(&s);
    s.heap_samples = true;
    assert_int_equal(storm_prepare(&s, err, sizeof(err)), 0);
    nr = (uint32_t)storm_run_vms(&s, res, vms);
    assert_int_equal(nr, TS_NR_POLICIES);
    /* Only the text uses the spec: one that needs escaping. */
    strcpy(s.host.spec, "4x128G<&'\"");
    assert_int_equal(storm_write_svg(path, &s, res, vms, nr, err,
                                     sizeof(err)), 0);
    read_all(path, buf, sizeof(buf));
    assert_true(!strncmp(buf, "<?xml version='1.0' encoding='UTF-8'?>\n"
                         "<svg xmlns='http://www.w3.org/2000/svg' "
                         "width='1000' height='1008' ", 106));
    assert_non_null(strstr(buf, ">numaclaim storm: 48 VMs on "
                           "4x128G&lt;&amp;&apos;&quot; (4 nodes, 512 GiB)"
                           "</text>"));
    assert_null(strstr(buf, "<&"));
    /* The headline figures, as the table has them. */
    assert_non_null(strstr(buf, ">none</text>"));
    assert_non_null(strstr(buf, ">claimsets</text>"));
    assert_int_equal(count_of(buf, ">started 46 of 48 VMs</text>"), 1);
    assert_int_equal(count_of(buf, ">started 37 of 48 VMs</text>"), 3);
    assert_int_equal(count_of(buf, ">274.0 GiB, 68.2% of asked</text>"), 1);
    assert_int_equal(count_of(buf, ">failed mid-build: 2</text>"), 1);
    assert_int_equal(count_of(buf, ">(wasted 66.0 GiB)</text>"), 1);
    assert_int_equal(count_of(buf, ">failed fast: 11</text>"), 3);
    assert_int_equal(count_of(buf, ">locality 97.9%, distance 10.18"
                                   "</text>"), 1);
    /* The marks: none's two mid-build failures apart, the others' 11
     * fast ones together. */
    assert_int_equal(count_of(buf, "VM failed mid-build at"), 2);
    assert_int_equal(count_of(buf, "<title>1 VM failed mid-build at 9.80 s"
                                   "</title>"), 1);
    /* host's; claimsets plans and claims in one step, as xapi (6.08 to
     * 6.12), and its refusals end a little earlier. */
    assert_int_equal(count_of(buf, "<title>11 VMs failed fast at 6.09 to "
                                   "6.13 s</title>"), 1);
    assert_int_equal(count_of(buf, "<title>11 VMs failed fast at 6.08 to "
                                   "6.11 s</title>"), 1);
    assert_int_equal(count_of(buf, "VMs failed fast at"), 3);
    /* The legend, each layer and mark once. */
    assert_int_equal(count_of(buf, ">host-wide claims</text>"), 1);
    assert_int_equal(count_of(buf, ">guests before the storm (--fill)"
                                   "</text>"), 1);
    assert_int_equal(count_of(buf, ">VM failed mid-build</text>"), 1);
    assert_int_equal(count_of(buf, ">offline event</text>"), 1);
    assert_int_equal(count_of(buf, ">offlined frames</text>"), 1);
    assert_int_equal(count_of(buf, ">free in blocks &#8805; 2 MiB</text>"),
                     1);
    /* Six layers and a free-memory panel per policy. */
    assert_int_equal(count_of(buf, "class='layer'"), 24);
    assert_int_equal(count_of(buf, "class='free-all'"), 4);
    assert_int_equal(count_of(buf, "class='free-2m' fill='none' stroke="
                                   "'#00441b' stroke-width='1.2' d='M"), 4);
    assert_int_equal(count_of(buf, "no heap dump"), 0);
    /* Four heat maps of four labelled nodes; no offline event drawn. */
    assert_int_equal(count_of(buf, "text-anchor='end'>3</text>"), 4);
    assert_int_equal(count_of(buf, "<text class='node'"), 16);
    assert_int_equal(count_of(buf, "class='offline'"), 0);
    assert_int_equal(count_of(buf, "<g class='policy'>"), 4);
    assert_non_null(strstr(buf, "</svg>\n"));
    /* A policy whose run failed: its error, escaped, and no plots. */
    res[1].error = EIO;
    strcpy(res[1].message, "the <host> run did not finish");
    assert_int_equal(storm_write_svg(path, &s, res, NULL, nr, err,
                                     sizeof(err)), 0);
    read_all(path, buf, sizeof(buf));
    assert_int_equal(count_of(buf, ">error: the &lt;host&gt; run did not "
                                   "finish</text>"), 1);
    assert_int_equal(count_of(buf, "<g class='policy'>"), 4);
    assert_int_equal(count_of(buf, "class='layer'"), 18);
    assert_int_equal(count_of(buf, "class='free-2m'"), 3);
    assert_int_equal(count_of(buf, "<text class='node'"), 12);
    assert_int_equal(count_of(buf, "VM failed"), 0);
    res[1].error = 0;
    unlink(path);
    for ( uint32_t i = 0; i < nr; i++ )
        storm_vms_free(&vms[i]);
    storm_free(&s);
}

static void test_offline_and_balloon_events(void **state)
{
    struct storm_scenario s;
    uint32_t nr;

    (void)state;
    storm_defaults(&s);
    s.nr_vms = 24;
    s.balloon = true;
    s.heap_samples = true;
    s.nr_offline = 1;
    s.offline[0] = (struct storm_offline){ .pages = 20000, .time = 0.5 };
    nr = run(&s, res);
    for ( uint32_t i = 0; i < nr; i++ )
    {
        const struct storm_result *x = &res[i];
        const struct storm_sample *last = &x->sample[x->nr_samples - 1];

        assert_int_equal(x->started + x->failed_claim + x->failed_build, 24);
        /* The heap dump in every sample: free memory in 2 MiB blocks is
         * some of the free memory, and the frames offlined (free ones at
         * once, a guest's when it frees them) are there from the event. */
        for ( uint32_t k = 0; k < x->nr_samples; k++ )
        {
            const struct storm_sample *sm = &x->sample[k];
            uint64_t free = 0;

            for ( uint32_t n = 0; n < s.host.nr_nodes; n++ )
                free += sm->free[n];
            assert_true(sm->free_2m != STORM_HEAP_UNKNOWN);
            assert_true(sm->free_2m <= free);
            assert_true(sm->offlined == 0 || sm->offlined == 20000);
            if ( sm->time < 0.5 )
                assert_int_equal(sm->offlined, 0);
            if ( k )
                assert_true(sm->offlined >= x->sample[k - 1].offlined);
        }
        assert_int_equal(last->offlined, 20000);
    }
    /* Ballooning gives vNUMA guests their memory back on the same nodes:
     * claim sets keep the locality they had. */
    assert_true(find(res, nr, TS_POLICY_CLAIMSETS)->locality > 0.99);
    storm_free(&s);
}

/* The claimsets failure modes as storms.  The 8-node uneven host
 * (examples/hosts/8node-uneven.xml as its host spec) with two offline
 * events: a 77 GiB VM used to fail mid-build after populating 76.9 GiB;
 * now its recalled node claim (32768 pages) moves and every VM starts. */
#define UNEVEN8 "64G,64G,32G,32G,128G,128G,16G,16G;dist=10,16,16,22,16,22," \
    "16,22,16,10,22,16,16,22,22,16,16,22,10,16,16,16,16,16,22,16,16,10,16," \
    "16,22,22,16,16,16,16,10,16,16,22,22,22,16,16,16,10,22,16,16,22,16,22," \
    "16,22,10,16,22,16,16,22,22,16,16,10;cpus=2"

/* The defaults on another host, with another mix and fill. */
static void scenario(struct storm_scenario *s, const char *host,
                     const char *mix, uint32_t fill_pct)
{
    char err[256];

    storm_defaults(s);
    if ( ts_host_resolve(host, &s->host, err, sizeof(err)) )
        fail_msg("host %s: %s", host, err);
    if ( storm_parse_mix(s, mix, err, sizeof(err)) )
        fail_msg("mix %s: %s", mix, err);
    s->fill_pct = fill_pct;
}

static void test_claimsets_survive_offlining(void **state)
{
    struct storm_scenario s;
    const struct storm_result *cs;
    uint32_t nr;

    (void)state;
    scenario(&s, UNEVEN8, "2G:8,77G:2", 40);
    s.nr_vms = 24;
    s.nr_offline = 2;
    s.offline[0] = (struct storm_offline){ .pages = 32768, .time = 2.0 };
    s.offline[1] = (struct storm_offline){ .pages = 16384, .time = 6.0 };
    s.policies = 1u << TS_POLICY_CLAIMSETS;
    nr = run(&s, res);
    cs = find(res, nr, TS_POLICY_CLAIMSETS);
    assert_int_equal(cs->started, 24);
    assert_int_equal(cs->started_pages, 71565312);
    assert_int_equal(cs->failed_build, 0);
    assert_int_equal(cs->wasted_pages, 0);
    assert_int_equal(cs->recalled_pages, 32768);
    storm_free(&s);
}

/* A 16-node uneven host at fill 90 with 77 GiB VMs among small ones:
 * claimsets starts as much memory as host and xapi, with no re-plan (it
 * plans and claims under the placement lock).  On this host it did
 * before too; the race itself, a big VM's plan undone by a later small
 * one, is test_toolstack's test_big_vm_not_starved_by_a_later_small_one. */
static void test_claimsets_big_vms_not_starved(void **state)
{
    struct storm_scenario s;
    const struct storm_result *cs, *host, *xapi;
    uint32_t nr;

    (void)state;
    scenario(&s, "64G,64G,32G,32G,128G,128G,16G,16G,"
             "64G,64G,32G,32G,128G,128G,16G,16G", "2G:8,77G:2", 90);
    s.policies = 1u << TS_POLICY_HOST | 1u << TS_POLICY_XAPI |
                 1u << TS_POLICY_CLAIMSETS;
    nr = run(&s, res);
    cs = find(res, nr, TS_POLICY_CLAIMSETS);
    host = find(res, nr, TS_POLICY_HOST);
    xapi = find(res, nr, TS_POLICY_XAPI);
    assert_int_equal(host->started_pages, 47185920);
    assert_int_equal(xapi->started_pages, 47185920);
    assert_int_equal(cs->started, 15);
    assert_int_equal(cs->started_pages, 47185920);
    assert_int_equal(cs->failed_build, 0);
    assert_int_equal(cs->replans, 0);
    storm_free(&s);
}

static void test_real_threads(void **state)
{
    struct storm_scenario s;
    uint32_t nr;

    (void)state;
    storm_defaults(&s);
    s.nr_vms = 24;
    s.threads = true;
    s.builders = 4;
    nr = run(&s, res);
    for ( uint32_t i = 0; i < nr; i++ )
    {
        assert_int_equal(res[i].started + res[i].failed_claim +
                         res[i].failed_build, 24);
        if ( res[i].policy != TS_POLICY_NONE )
            assert_int_equal(res[i].failed_build, 0);
    }
    storm_free(&s);
}

/* Builders as processes on a private hostd per policy: the same report
 * shape as threads, claim policies still never fail mid-build, and no
 * hostd or builder outlives the run. */
static void test_builder_processes(void **state)
{
    struct storm_scenario s;
    uint32_t nr;

    (void)state;
    storm_defaults(&s);
    s.nr_vms = 24;
    s.processes = true;
    s.builders = 4;
    s.nr_offline = 1;
    s.offline[0] = (struct storm_offline){ .pages = 512, .time = 0 };
    nr = run(&s, res);
    assert_int_equal(nr, TS_NR_POLICIES);
    for ( uint32_t i = 0; i < nr; i++ )
    {
        assert_int_equal(res[i].error, 0);
        assert_int_equal(res[i].started + res[i].failed_claim +
                         res[i].failed_build, 24);
        assert_true(res[i].started > 0);
        assert_true(res[i].nr_samples >= 2);
        if ( res[i].policy != TS_POLICY_NONE )
            assert_int_equal(res[i].failed_build, 0);
    }
    assert_null(getenv("NUMACLAIM_SOCKET"));
    /* Every child reaped: nothing is left to wait for. */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    storm_free(&s);
}

/* Per-VM results add up to the aggregates: outcomes, memory, waste and
 * the claim pages offlining recalled, started or failed. */
static void check_vms_match(const struct storm_scenario *s,
                            const struct storm_result *r,
                            const struct storm_vms *vms, uint32_t nr)
{
    for ( uint32_t i = 0; i < nr; i++ )
    {
        const struct storm_result *x = &r[i];
        uint32_t started = 0, fast = 0, placement = 0, mid = 0;
        uint64_t pages = 0, wasted = 0, recalled = 0;

        assert_int_equal(x->error, 0);
        assert_int_equal(vms[i].nr, s->nr_vms);
        for ( uint32_t k = 0; k < vms[i].nr; k++ )
        {
            const struct storm_vm_result *v = &vms[i].vm[k];
            uint64_t sum = 0;

            assert_int_equal(v->vm, k);
            for ( uint32_t e = 0; e < v->nr_nodes; e++ )
                sum += STORM_VM_PAGES(vms[i].node[v->node_first + e]);
            recalled += v->recalled;
            switch ( v->outcome )
            {
            case STORM_VM_STARTED:
                started++;
                pages += s->vms[k]->memory_pages;
                /* Where its memory is adds up to its size. */
                assert_int_equal(sum, s->vms[k]->memory_pages);
                assert_true(v->nr_nodes >= 1);
                assert_int_equal(v->error, 0);
                break;
            case STORM_VM_FAILED_PLACEMENT:
                placement++;
                /* fall through */
            case STORM_VM_FAILED_CLAIM:
                fast++;
                assert_int_equal(v->populated, 0);
                assert_int_equal(v->error, ENOMEM);
                assert_int_equal(v->nr_nodes, 0);
                break;
            case STORM_VM_FAILED_BUILD:
                mid++;
                wasted += v->populated;
                assert_true(v->populated > 0);
                assert_int_equal(v->step, TS_BUILD_POPULATE);
                assert_int_equal(v->error, ENOMEM);
                break;
            default:
                fail_msg("VM %u unfinished", k);
            }
            assert_true(v->end >= v->start);
            assert_true(v->start >= s->arrival[k]);
        }
        assert_int_equal(started, x->started);
        assert_int_equal(pages, x->started_pages);
        assert_int_equal(fast, x->failed_claim);
        assert_int_equal(placement, x->failed_placement);
        assert_int_equal(mid, x->failed_build);
        assert_int_equal(wasted, x->wasted_pages);
        assert_int_equal(recalled, x->recalled_pages);
        assert_true(x->latency_p50 <= x->latency_p99);
        assert_true(x->latency_p99 <= x->build_seconds);
    }
}

/* The per-VM CSV of res and vms (seed 1) written to a temporary file and
 * opened again (the file already unlinked), its header read into line. */
static FILE *write_csv(const struct storm_scenario *s,
                       const struct storm_vms *vms, uint32_t nr, char *line,
                       int len)
{
    char err[256], path[] = "/tmp/numaclaim-vms-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    close(fd);
    f = storm_vms_open(path, STORM_VMS_CSV, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(storm_vms_write(f, STORM_VMS_CSV, s, 1, res, vms, nr),
                     0);
    fclose(f);
    f = fopen(path, "r");
    assert_non_null(f);
    unlink(path);
    assert_non_null(fgets(line, len, f));
    return f;
}

/* Per-VM results add up to the aggregates, on the default scenario. */
static void test_vms_match_aggregates(void **state)
{
    static struct storm_vms vms[TS_NR_POLICIES];
    struct storm_scenario s;
    char err[256], line[512];
    uint32_t nr, rows = 0;
    FILE *f;

    (void)state;
    storm_defaults(&s);
    assert_int_equal(storm_prepare(&s, err, sizeof(err)), 0);
    nr = (uint32_t)storm_run_vms(&s, res, vms);
    assert_int_equal(nr, TS_NR_POLICIES);
    check_vms_match(&s, res, vms, nr);
    /* Seed 1, exactly: none loses two 64 GiB builds mid-way, the claim
     * policies refuse eleven VMs up front. */
    assert_int_equal(find(res, nr, TS_POLICY_NONE)->started, 46);
    assert_int_equal(find(res, nr, TS_POLICY_NONE)->failed_build, 2);
    assert_int_equal(find(res, nr, TS_POLICY_NONE)->wasted_pages, 17289728);
    assert_int_equal(find(res, nr, TS_POLICY_HOST)->failed_claim, 11);
    assert_int_equal(find(res, nr, TS_POLICY_HOST)->started_pages,
                     306 * GIB);
    assert_int_equal(find(res, nr, TS_POLICY_CLAIMSETS)->started, 37);
    assert_int_equal(find(res, nr, TS_POLICY_NONE)->demand_pages, 402 * GIB);
    /* none's VM 16 (64 GiB) failed populating. */
    assert_int_equal(vms[0].vm[16].outcome, STORM_VM_FAILED_BUILD);
    assert_int_equal(vms[0].vm[16].claim, STORM_VM_CLAIM_NONE);
    /* host stakes legacy claims, claimsets claim sets. */
    assert_int_equal(vms[1].vm[0].claim, STORM_VM_CLAIM_LEGACY);
    assert_int_equal(vms[3].vm[0].claim, STORM_VM_CLAIM_SET);

    /* The CSV: a header and a row per VM and policy. */
    f = write_csv(&s, vms, nr, line, sizeof(line));
    assert_string_equal(line, "seed,policy,vm,name,mib,vcpus,outcome,step,"
                        "errno,fail_node,nodes,claim,replans,fallbacks,"
                        "wait_s,build_s,wasted_pages,recalled_pages,locality,"
                        "distance\n");
    while ( fgets(line, sizeof(line), f) )
        rows++;
    fclose(f);
    assert_int_equal(rows, 4 * 48);
    assert_null(storm_vms_open("/nonexistent/dir/v.csv", STORM_VMS_CSV, err,
                               sizeof(err)));
    assert_non_null(strstr(err, "cannot write /nonexistent/dir/v.csv"));
    for ( uint32_t i = 0; i < nr; i++ )
        storm_vms_free(&vms[i]);
    storm_free(&s);
}

/* Offlining a fully claimed 2 x 64 GiB host: each claim policy's one
 * mid-build failure is the VM whose claim Xen recalled (32768 pages, the
 * first event), counted in its record and in the aggregate although it
 * never started; the rows still add up. */
static void test_recall_of_failed_vms_counted(void **state)
{
    static struct storm_vms vms[TS_NR_POLICIES];
    static const struct {
        enum ts_policy p;
        uint32_t vm;             /* the VM that failed mid-build */
    } lost[] = {
        { TS_POLICY_HOST, 0 }, { TS_POLICY_XAPI, 0 },
        { TS_POLICY_CLAIMSETS, 1 },
    };
    struct storm_scenario s;
    char err[256], line[512];
    uint32_t nr, rows = 0;
    uint64_t csv_recalled = 0;
    FILE *f;

    (void)state;
    storm_defaults(&s);
    assert_int_equal(ts_host_resolve("2x64G", &s.host, err, sizeof(err)), 0);
    s.nr_vms = 24;
    assert_int_equal(storm_parse_mix(&s, "32G:2,64G:1", err, sizeof(err)), 0);
    s.fill_pct = 0;
    s.nr_offline = 2;
    s.offline[0] = (struct storm_offline){ .pages = 32768, .time = 2.0 };
    s.offline[1] = (struct storm_offline){ .pages = 16384, .time = 6.0 };
    assert_int_equal(storm_prepare(&s, err, sizeof(err)), 0);
    nr = (uint32_t)storm_run_vms(&s, res, vms);
    assert_int_equal(nr, TS_NR_POLICIES);
    check_vms_match(&s, res, vms, nr);
    /* none stakes no claim: nothing to recall. */
    assert_int_equal(res[0].policy, TS_POLICY_NONE);
    assert_int_equal(res[0].recalled_pages, 0);
    for ( uint32_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++ )
    {
        const struct storm_result *x = find(res, nr, lost[i].p);
        const struct storm_vm_result *v = &vms[x - res].vm[lost[i].vm];

        assert_int_equal(x->failed_build, 1);
        assert_int_equal(x->recalled_pages, 32768);
        assert_int_equal(v->outcome, STORM_VM_FAILED_BUILD);
        assert_int_equal(v->recalled, 32768);
    }
    /* The CSV's recalled_pages column (the 18th) sums to the aggregates. */
    f = write_csv(&s, vms, nr, line, sizeof(line));
    while ( fgets(line, sizeof(line), f) )
    {
        char *p = line;

        for ( int c = 0; c < 17; c++ )
        {
            p = strchr(p, ',');
            assert_non_null(p);
            p++;
        }
        csv_recalled += strtoull(p, NULL, 10);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 4 * 24);
    assert_int_equal(csv_recalled, 3 * 32768);
    for ( uint32_t i = 0; i < nr; i++ )
        storm_vms_free(&vms[i]);
    storm_free(&s);
}

/* The locality model against hand-computed values, on two nodes 10/21. */
static void test_locality_model(void **state)
{
    static struct ts_host h;
    static uint64_t pages[TS_MAX_VNODES][TS_MAX_NODES];
    uint32_t pnode[2] = { 0, 1 }, vcpus[2] = { 2, 2 };
    uint64_t flat[TS_MAX_NODES] = { 3 * GIB, 1 * GIB };
    double l, d;

    (void)state;
    h.nr_nodes = 2;
    h.distance[0][0] = h.distance[1][1] = 10;
    h.distance[0][1] = h.distance[1][0] = 21;

    /* Two 1 GiB vnodes, each on its own node, 10% remote: 0.9 local,
     * 0.9 * 10 + 0.1 * 21 = 11.1. */
    pages[0][0] = GIB;
    pages[1][1] = GIB;
    storm_locality_vnuma(&h, 2, pnode, vcpus, pages, 0, 0.1, &l, &d);
    assert_float_equal(l, 0.9, 1e-12);
    assert_float_equal(d, 11.1, 1e-12);
    /* No remote share: all local, as before the model. */
    storm_locality_vnuma(&h, 2, pnode, vcpus, pages, 0, 0, &l, &d);
    assert_float_equal(l, 1.0, 1e-12);
    assert_float_equal(d, 10.0, 1e-12);

    /* vnode 0: 3 GiB on node 0; vnode 1: 1 GiB, half on each node; 20%
     * remote.  vnode 0's vCPUs: 0.8 + 0.2 * 0.5 = 0.9 local, distance
     * 0.9 * 10 + 0.1 * 21 = 11.1; vnode 1's: 0.8 * 0.5 = 0.4 local,
     * 0.4 * 10 + 0.6 * 21 = 16.6; by vCPUs (2 and 2): 0.65 and 13.85. */
    pages[0][0] = 3 * GIB;
    pages[1][0] = pages[1][1] = GIB / 2;
    storm_locality_vnuma(&h, 2, pnode, vcpus, pages, 0, 0.2, &l, &d);
    assert_float_equal(l, 0.65, 1e-12);
    assert_float_equal(d, 13.85, 1e-12);
    /* Weighted by vCPUs: 6 on vnode 0 and 2 on vnode 1 give
     * (6 * 0.9 + 2 * 0.4) / 8 = 0.775 and (6 * 11.1 + 2 * 16.6) / 8 =
     * 12.475. */
    vcpus[0] = 6;
    storm_locality_vnuma(&h, 2, pnode, vcpus, pages, 0, 0.2, &l, &d);
    assert_float_equal(l, 0.775, 1e-12);
    assert_float_equal(d, 12.475, 1e-12);
    /* One vnode has no other to reach: the share does not apply. */
    storm_locality_vnuma(&h, 1, pnode, vcpus, pages, 0, 0.2, &l, &d);
    assert_float_equal(l, 1.0, 1e-12);
    assert_float_equal(d, 10.0, 1e-12);

    /* No vNUMA, 3 GiB on node 0 and 1 on node 1, vCPUs on both nodes:
     * node 0's see 0.75 local (distance 12.75), node 1's 0.25 (18.25):
     * 0.5 and 15.5.  With affinity to node 0 only: 0.75 and 12.75. */
    storm_locality_flat(&h, flat, 0, &l, &d);
    assert_float_equal(l, 0.5, 1e-12);
    assert_float_equal(d, 15.5, 1e-12);
    storm_locality_flat(&h, flat, 1, &l, &d);
    assert_float_equal(l, 0.75, 1e-12);
    assert_float_equal(d, 12.75, 1e-12);
}

/* Means, intervals, percentiles and rounding on known inputs. */
static void test_ci_arithmetic(void **state)
{
    double x[5] = { 1, 2, 3, 4, 5 }, p[5] = { 5, 1, 4, 2, 3 };
    struct storm_ci ci;

    (void)state;
    /* sd = sqrt(10 / 4); half = t(0.975, 4) * sd / sqrt(5). */
    storm_ci95(x, 5, &ci);
    assert_float_equal(ci.mean, 3.0, 1e-12);
    assert_float_equal(ci.sd, sqrt(2.5), 1e-12);
    assert_float_equal(ci.half, 2.7764 * sqrt(2.5) / sqrt(5), 1e-12);
    assert_float_equal(ci.half, 1.963212, 1e-6);
    /* One value: its mean, no interval. */
    storm_ci95(x + 2, 1, &ci);
    assert_float_equal(ci.mean, 3.0, 0);
    assert_float_equal(ci.half, 0.0, 0);
    /* Two: mean 1.5, sd sqrt(0.5), half 12.7062 * sqrt(0.5) / sqrt(2). */
    storm_ci95(x, 2, &ci);
    assert_float_equal(ci.half, 12.7062 * 0.5, 1e-12);
    /* The t quantiles: tabulated to 30, then within 1e-4 of the exact
     * 2.0395 (31), 1.9840 (100) and 1.9623 (1000). */
    assert_float_equal(storm_t975(1), 12.7062, 0);
    assert_float_equal(storm_t975(30), 2.0423, 0);
    assert_float_equal(storm_t975(31), 2.0395, 1e-4);
    assert_float_equal(storm_t975(100), 1.9840, 1e-4);
    assert_float_equal(storm_t975(1000), 1.9623, 1e-4);
    /* Nearest rank: p50 of 5 is the 3rd, p99 the 5th, p20 the 1st. */
    assert_float_equal(storm_percentile(p, 5, 0.5), 3, 0);
    assert_float_equal(storm_percentile(p, 5, 0.99), 5, 0);
    assert_float_equal(storm_percentile(p, 5, 0.2), 1, 0);
    assert_float_equal(storm_percentile(p, 0, 0.5), 0, 0);
    assert_float_equal(storm_round(0.123456), 0.1235, 0);
    assert_float_equal(storm_round(12345.6), 12350, 0);
    assert_float_equal(storm_round(10.0), 10.0, 0);
}

struct seeds_seen {
    uint32_t nr_seeds, nr;
    uint64_t seed[4];
    struct storm_result r[4][TS_NR_POLICIES];
    struct storm_vms v[TS_NR_POLICIES];
};

static int seen(void *arg, uint64_t seed, const struct storm_result *r,
                const struct storm_vms *vms, uint32_t nr)
{
    struct seeds_seen *x = arg;

    x->seed[x->nr_seeds] = seed;
    memcpy(x->r[x->nr_seeds], r, nr * sizeof(*r));
    if ( x->nr_seeds == 0 && vms )
        for ( uint32_t i = 0; i < nr; i++ )
        {
            /* Keep copies: the runner frees its own. */
            x->v[i] = vms[i];
            x->v[i].vm = malloc(vms[i].nr * sizeof(*vms[i].vm) + 1);
            x->v[i].node = malloc(vms[i].nr_node * sizeof(uint64_t) + 1);
            memcpy(x->v[i].vm, vms[i].vm, vms[i].nr * sizeof(*vms[i].vm));
            memcpy(x->v[i].node, vms[i].node,
                   vms[i].nr_node * sizeof(uint64_t));
        }
    x->nr = nr;
    x->nr_seeds++;
    return 0;
}

/* One seed is a plain run; three seeds come back in seed order, each
 * what a plain run of its seed gives. */
static void test_seeds(void **state)
{
    static struct seeds_seen x;
    static struct storm_vms plain[TS_NR_POLICIES];
    struct storm_scenario s;
    char err[256];
    uint32_t nr;

    (void)state;
    storm_defaults(&s);
    s.nr_vms = 16;
    s.seed = 5;
    assert_int_equal(storm_prepare(&s, err, sizeof(err)), 0);
    nr = (uint32_t)storm_run_vms(&s, res, plain);
    assert_int_equal(storm_run_seeds(&s, 1, 4, true, false, seen, &x), 0);
    assert_int_equal(x.nr_seeds, 1);
    assert_int_equal(x.seed[0], 5);
    assert_int_equal(x.nr, nr);
    assert_memory_equal(x.r[0], res, nr * sizeof(res[0]));
    for ( uint32_t i = 0; i < nr; i++ )
    {
        assert_int_equal(x.v[i].nr, plain[i].nr);
        assert_int_equal(x.v[i].nr_node, plain[i].nr_node);
        assert_memory_equal(x.v[i].vm, plain[i].vm,
                            plain[i].nr * sizeof(*plain[i].vm));
        assert_memory_equal(x.v[i].node, plain[i].node,
                            plain[i].nr_node * sizeof(uint64_t));
        storm_vms_free(&x.v[i]);
        storm_vms_free(&plain[i]);
    }

    memset(&x, 0, sizeof(x));
    assert_int_equal(storm_run_seeds(&s, 3, 2, false, false, seen, &x), 0);
    assert_int_equal(x.nr_seeds, 3);
    storm_free(&s);
    for ( uint32_t k = 0; k < 3; k++ )
    {
        assert_int_equal(x.seed[k], 5 + k);
        storm_defaults(&s);
        s.nr_vms = 16;
        s.seed = 5 + k;
        nr = run(&s, res);
        assert_memory_equal(x.r[k], res, nr * sizeof(res[0]));
        storm_free(&s);
    }
    /* Every child reaped. */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

/* A sweep's points are the plain runs of their values, and its parser
 * refuses bad lists. */
/* The sweep's picture of builders=1,16 over two seeds: ten panels, a line
 * per policy (the reference's difference left out), a point and an error
 * bar per value, each point's value the table's. */
static void check_sweep_svg(const struct storm_sweep *sw)
{
    static char buf[1 << 18];
    char path[] = "/tmp/numaclaim-sweep-XXXXXX", err[256], want[128];
    struct storm_ci ci, d;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(storm_write_sweep_svg(path, sw, err, sizeof(err)), 0);
    read_all(path, buf, sizeof(buf));
    unlink(path);
    assert_true(!strncmp(buf, "<?xml version='1.0' encoding='UTF-8'?>\n"
                         "<svg xmlns='http://www.w3.org/2000/svg' "
                         "width='1000' height='986' ", 105));
    assert_int_equal(count_of(buf, "<g class='sweep-panel'>"), 10);
    assert_int_equal(count_of(buf, "class='series'"), 5 * 4 + 5 * 3);
    assert_int_equal(count_of(buf, "class='point'"), 2 * 35);
    assert_int_equal(count_of(buf, "class='ci'"), 2 * 35);
    assert_int_equal(count_of(buf, ">d locality-%: minus claimsets</text>"),
                     1);
    assert_int_equal(count_of(buf, "class='legend'"), 4);
    /* none's locality at builders=1 (below claimsets' 100%, so no other
     * figure has its value), and its difference from claimsets'. */
    assert_int_equal(sw->rep[0].policy[0], TS_POLICY_NONE);
    assert_int_equal(sw->rep[0].policy[3], TS_POLICY_CLAIMSETS);
    storm_ci95(sw->rep[0].fig[0][6], 2, &ci);
    assert_true(ci.mean < 0.9);
    snprintf(want, sizeof(want), "<title>none, builders = 1: %.1f "
             "&#177; %.1f</title>", 100 * ci.mean, 100 * ci.half);
    assert_int_equal(count_of(buf, want), 1);
    storm_sweep_delta(&sw->rep[0], 0, 6, &d);
    assert_true(d.mean < 0);
    snprintf(want, sizeof(want), "<title>none, builders = 1: %.1f "
             "&#177; %.1f</title>", 100 * d.mean, 100 * d.half);
    assert_int_equal(count_of(buf, want), 1);
    assert_int_equal(storm_write_sweep_svg("/nonexistent/dir/s.svg", sw, err,
                                           sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot write /nonexistent/dir/s.svg"));
}

static void test_sweep(void **state)
{
    static struct storm_sweep sw;
    struct storm_scenario s, one;
    char err[512];

    (void)state;
    storm_defaults(&s);
    s.nr_vms = 16;
    assert_int_equal(storm_sweep_parse(&s, "builders=1,16", &sw, err,
                                       sizeof(err)), 0);
    assert_int_equal(sw.nr, 2);
    assert_int_equal(sw.sc[0].builders, 1);
    assert_int_equal(sw.sc[1].builders, 16);
    for ( uint32_t i = 0; i < sw.nr; i++ )
        assert_int_equal(storm_prepare(&sw.sc[i], err, sizeof(err)), 0);
    assert_int_equal(storm_sweep_run(&sw, 2, 2, false), 0);
    for ( uint32_t i = 0; i < sw.nr; i++ )
        for ( uint32_t k = 0; k < 2; k++ )
        {
            uint32_t nr;

            storm_defaults(&one);
            one.nr_vms = 16;
            one.builders = i ? 16 : 1;
            one.seed = 1 + k;
            nr = run(&one, res);
            assert_int_equal(sw.rep[i].nr, nr);
            for ( uint32_t p = 0; p < nr; p++ )
                for ( uint32_t f = 0; f < STORM_NR_FIGURES; f++ )
                    assert_true(sw.rep[i].fig[p][f][k] ==
                                storm_figure(&res[p], f));
            storm_free(&one);
        }
    check_sweep_svg(&sw);
    storm_sweep_free(&sw);

    assert_int_equal(storm_sweep_parse(&s, "mix=2G:1|4G:1,8G:1", &sw, err,
                                       sizeof(err)), 0);
    assert_int_equal(sw.sc[1].nr_mix, 2);
    storm_sweep_free(&sw);
    assert_int_equal(storm_sweep_parse(&s, "builders=1,", &sw, err,
                                       sizeof(err)), -1);
    assert_non_null(strstr(err, "empty value"));
    assert_int_equal(storm_sweep_parse(&s, "fill=95", &sw, err,
                                       sizeof(err)), -1);
    assert_non_null(strstr(err, "fill \"95\": expected a percentage"));
    assert_int_equal(storm_sweep_parse(&s, "seeds=1", &sw, err,
                                       sizeof(err)), -1);
    assert_non_null(strstr(err, "expected PARAM=VALUES"));
    assert_int_equal(storm_sweep_parse(&s, "host=4x0", &sw, err,
                                       sizeof(err)), -1);
    assert_non_null(strstr(err, "host: "));
    storm_free(&s);
}

/* ========================================================================
 * Churn: lifetimes, reboots, HA restarts, domid reuse
 * ======================================================================== */

static void churn_scenario(struct storm_scenario *s, const char *host,
                           const char *mix, uint32_t vms, const char *life)
{
    char err[256];

    scenario(s, host, mix, 0);
    assert_int_equal(storm_parse_lifetime(&s->lifetime, life, err,
                                          sizeof(err)), 0);
    s->nr_vms = vms;
}

/* One policy's churn run on a small host with tiny VMs, burst arrival. */
static const struct storm_result *one_policy(struct storm_scenario *s,
                                             const char *host, uint32_t vms,
                                             const char *life,
                                             enum ts_policy p,
                                             uint32_t builders)
{
    churn_scenario(s, host, "1M:1", vms, life);
    s->policies = 1u << p;
    s->builders = builders;
    assert_int_equal(run(s, res), 1);
    return &res[0];
}

static void test_lifetime_parser(void **state)
{
    struct storm_dist d = { STORM_LIFE_FIXED, 7, 8 };
    char err[256];
    static const char *const bad[] = {
        "", "fixed", "fixed:", "fixed:-1", "fixed:1e10", "fixed: 1", "Fixed:1",
        "exp:0", "exp:inf", "exp:nan", "uniform:1", "uniform:1-", "uniform:-1",
        "uniform:5-2", "uniform:1-2-3", "poisson:1", "fixed:1s",
    };

    (void)state;
    assert_int_equal(storm_parse_lifetime(&d, "fixed:30", err, sizeof(err)),
                     0);
    assert_int_equal(d.kind, STORM_LIFE_FIXED);
    assert_true(d.a == 30);
    assert_int_equal(storm_parse_lifetime(&d, "exp:2.5", err, sizeof(err)), 0);
    assert_int_equal(d.kind, STORM_LIFE_EXP);
    assert_true(d.a == 2.5);
    assert_int_equal(storm_parse_lifetime(&d, "uniform:1e-3-5", err,
                                          sizeof(err)), 0);
    assert_int_equal(d.kind, STORM_LIFE_UNIFORM);
    assert_true(d.a == 1e-3 && d.b == 5);
    assert_int_equal(storm_parse_lifetime(&d, "fixed:0", err, sizeof(err)), 0);
    assert_true(d.kind == STORM_LIFE_FIXED && d.a == 0);
    for ( size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++ )
    {
        err[0] = '\0';
        if ( storm_parse_lifetime(&d, bad[i], err, sizeof(err)) != -1 )
            fail_msg("--lifetime %s accepted", bad[i]);
        assert_true(strstr(err, "expected") != NULL);
        /* Refused input changes nothing. */
        assert_true(d.kind == STORM_LIFE_FIXED && d.a == 0);
    }
}

/* Every page comes back: once every lifetime is over the host is as it
 * was, all free, no claim left, no guest; every build is counted once,
 * reboots included, and freed memory was scrubbed when reused. */
static void test_churn_gives_every_page_back(void **state)
{
    struct storm_scenario s;
    uint32_t nr;

    (void)state;
    churn_scenario(&s, "4x1G", "64M:2,128M:1,256M:1", 300, "exp:3");
    s.reboot = 0.3;
    s.rate = 20;
    s.builders = 4;
    nr = run(&s, res);
    assert_int_equal(nr, TS_NR_POLICIES);
    {
        uint32_t reboots = 0;

        for ( uint32_t i = 0; i < s.nr_vms; i++ )
            reboots += s.reboots[i];
        assert_true(reboots > 0);
    }
    for ( uint32_t i = 0; i < nr; i++ )
    {
        const struct storm_result *x = &res[i];

        assert_int_equal(x->total_pages, 4 * GIB);
        assert_int_equal(x->end_free_pages, 4 * GIB);
        assert_int_equal(x->end_outstanding_pages, 0);
        assert_int_equal(x->end_guests, 0);
        assert_int_equal(x->builds, 300 + x->reboots);
        assert_int_equal(x->started + x->failed_claim + x->failed_build +
                         x->failed_domid, x->builds);
        assert_int_equal(x->failed_domid, 0);
        /* Every VM that started ended; a reboot follows a shutdown. */
        assert_int_equal(x->shutdowns, x->started);
        assert_true(x->reboots <= x->shutdowns);
        assert_true(x->reboots > 0);
        assert_true(x->scrubbed_pages > 0);
        assert_true(x->scrub_seconds > 0);
        assert_true(x->peak_guests > 0 && x->peak_guests <= 64);
        assert_true(x->nr_samples >= 2);
        assert_int_equal(x->sample[x->nr_samples - 1].free[0], GIB);
    }
    storm_free(&s);
}

/* Domids are reused after destroy: 33,000 builds on a small host, far
 * more than Xen's 32,751 guest domids, all start. */
static void test_domids_reused_past_xen_limit(void **state)
{
    struct storm_scenario s;
    const struct storm_result *x;

    (void)state;
    x = one_policy(&s, "1x1G", 33000, "fixed:0.01", TS_POLICY_CLAIMSETS, 4);
    assert_int_equal(x->builds, 33000);
    assert_int_equal(x->started, 33000);
    assert_int_equal(x->shutdowns, 33000);
    assert_int_equal(x->failed_domid, 0);
    /* claimsets plans and claims in one step: a build takes about 8.6 ms
     * (71.2 s for 33,000 on 4 builders), so each builder has two started
     * VMs still in their 10 ms lives and one building: 4 x 3. */
    assert_int_equal(x->peak_guests, 12);
    assert_int_equal(x->end_free_pages, GIB);
    storm_free(&s);
}

/* More guests at once than Xen has domids: the creates past 32,751 fail
 * as such, not as memory failures, and the host still ends whole. */
static void test_too_many_guests_at_once_reported(void **state)
{
    static struct storm_vms vms[1];
    struct storm_scenario s;
    const struct storm_result *x = &res[0];
    char err[256];
    uint32_t no_domid = 0;

    (void)state;
    churn_scenario(&s, "1x64G", "1M:1", 32760, "fixed:1000");
    s.policies = 1u << TS_POLICY_NONE;
    s.builders = 8;
    assert_int_equal(storm_prepare(&s, err, sizeof(err)), 0);
    assert_int_equal(storm_run_vms(&s, res, vms), 1);
    assert_int_equal(x->error, 0);
    /* The per-VM records say which creates found no domid. */
    for ( uint32_t k = 0; k < vms[0].nr; k++ )
        if ( vms[0].vm[k].outcome == STORM_VM_FAILED_DOMID )
        {
            no_domid++;
            assert_int_equal(vms[0].vm[k].step, TS_BUILD_CREATE);
            assert_int_equal(vms[0].vm[k].error, ENOMEM);
        }
    assert_int_equal(no_domid, 9);
    storm_vms_free(&vms[0]);
    assert_int_equal(x->builds, 32760);
    assert_int_equal(x->started, 32751);
    assert_int_equal(x->failed_domid, 9);
    assert_int_equal(x->failed_claim, 0);
    assert_int_equal(x->failed_build, 0);
    assert_int_equal(x->peak_guests, 32751);
    assert_int_equal(x->end_guests, 0);
    assert_int_equal(x->end_free_pages, 64 * GIB);
    storm_free(&s);
}

/* An HA restart: N VMs arrive together at a time, onto a host with
 * guests (fill and churn) and dirty memory, and run to the end. */
static void test_ha_restart_storm(void **state)
{
    struct storm_scenario s;
    uint32_t nr, burst = 0;

    (void)state;
    churn_scenario(&s, "4x4G", "256M:3,512M:1", 200, "exp:2");
    s.fill_pct = 40;
    s.rate = 50;
    s.ha_vms = 40;
    s.ha_time = 3;
    nr = run(&s, res);
    assert_int_equal(s.nr_vms, 240);
    for ( uint32_t i = 0; i < s.nr_vms; i++ )
    {
        if ( i )
            assert_true(s.arrival[i] >= s.arrival[i - 1]);
        if ( s.arrival[i] == 3 && isinf(s.life[i]) )
            burst++;
        else
            assert_true(isfinite(s.life[i]));
    }
    assert_int_equal(burst, 40);
    for ( uint32_t i = 0; i < nr; i++ )
    {
        const struct storm_result *x = &res[i];

        assert_int_equal(x->builds, 240);
        assert_true(x->scrubbed_pages > 0);
        /* Left running: the fill guests and the restarted VMs. */
        assert_true(x->end_guests >= 4 && x->end_guests <= 44);
        assert_int_equal(x->shutdowns, x->started - (x->end_guests - 4));
        assert_int_equal(x->end_outstanding_pages, 0);
    }
    storm_free(&s);
}

/* With churn a VM's record is its last build, while the aggregates count
 * every build; seeds and sweeps run a churn scenario as a plain run does
 * (the --ha-restart VMs counted once, not again per seed). */
static void test_churn_records_seeds_sweep(void **state)
{
    static struct storm_vms vms[TS_NR_POLICIES];
    static struct seeds_seen x;
    static struct storm_sweep sw;
    struct storm_scenario s, base, one;
    char err[512];
    uint32_t nr;

    (void)state;
    churn_scenario(&s, "4x1G", "64M:2,128M:1", 60, "exp:2");
    s.reboot = 0.5;
    s.rate = 20;
    s.ha_vms = 10;
    s.ha_time = 1;
    base = s;
    assert_int_equal(storm_prepare(&s, err, sizeof(err)), 0);
    assert_int_equal(s.nr_vms, 70);
    nr = (uint32_t)storm_run_vms(&s, res, vms);
    assert_int_equal(nr, TS_NR_POLICIES);
    for ( uint32_t i = 0; i < nr; i++ )
    {
        const struct storm_result *y = &res[i];
        uint32_t rebuilt = 0, started = 0;

        assert_int_equal(y->error, 0);
        assert_true(y->reboots > 0);
        assert_int_equal(y->builds, 70 + y->reboots);
        assert_int_equal(vms[i].nr, 70);
        for ( uint32_t k = 0; k < vms[i].nr; k++ )
        {
            const struct storm_vm_result *v = &vms[i].vm[k];
            uint64_t sum = 0;

            assert_int_equal(v->vm, k);
            assert_true(v->outcome != STORM_VM_UNFINISHED);
            assert_true(v->asked >= s.arrival[k]);
            assert_true(v->start >= v->asked);
            assert_true(v->end >= v->start);
            /* A reboot's build is asked for when the VM shut down. */
            rebuilt += v->asked > s.arrival[k];
            if ( v->outcome != STORM_VM_STARTED )
                continue;
            started++;
            for ( uint32_t e = 0; e < v->nr_nodes; e++ )
                sum += STORM_VM_PAGES(vms[i].node[v->node_first + e]);
            assert_int_equal(sum, s.vms[k]->memory_pages);
        }
        assert_true(rebuilt > 0 && rebuilt <= y->reboots);
        assert_true(started <= y->started);
        assert_true(y->started > 70);
    }

    /* One seed through the seeds' pool: the plain run, exactly. */
    assert_int_equal(storm_run_seeds(&s, 1, 2, true, false, seen, &x), 0);
    assert_int_equal(x.nr_seeds, 1);
    assert_int_equal(x.nr, nr);
    assert_memory_equal(x.r[0], res, nr * sizeof(res[0]));
    for ( uint32_t i = 0; i < nr; i++ )
    {
        assert_int_equal(x.v[i].nr, 70);
        assert_memory_equal(x.v[i].vm, vms[i].vm, 70 * sizeof(*vms[i].vm));
        storm_vms_free(&x.v[i]);
        storm_vms_free(&vms[i]);
    }
    storm_free(&s);

    /* A sweep over builders: its points are the plain churn runs. */
    assert_int_equal(storm_sweep_parse(&base, "builders=1,4", &sw, err,
                                       sizeof(err)), 0);
    for ( uint32_t i = 0; i < sw.nr; i++ )
        assert_int_equal(storm_prepare(&sw.sc[i], err, sizeof(err)), 0);
    assert_int_equal(sw.sc[1].nr_vms, 70);
    assert_int_equal(storm_sweep_run(&sw, 1, 2, false), 0);
    one = base;
    one.builders = 4;
    nr = run(&one, res);
    for ( uint32_t p = 0; p < nr; p++ )
        for ( uint32_t f = 0; f < STORM_NR_FIGURES; f++ )
            assert_true(sw.rep[1].fig[p][f][0] == storm_figure(&res[p], f));
    storm_free_prepared(&one);
    storm_sweep_free(&sw);
    storm_free(&base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_scenario_acceptance),
        cmocka_unit_test(test_same_seed_same_report),
        cmocka_unit_test(test_mix_parser),
        cmocka_unit_test(test_json_has_every_field),
        cmocka_unit_test(test_svg_is_written),
        cmocka_unit_test(test_offline_and_balloon_events),
        cmocka_unit_test(test_claimsets_survive_offlining),
        cmocka_unit_test(test_claimsets_big_vms_not_starved),
        cmocka_unit_test(test_real_threads),
        cmocka_unit_test(test_builder_processes),
        cmocka_unit_test(test_vms_match_aggregates),
        cmocka_unit_test(test_recall_of_failed_vms_counted),
        cmocka_unit_test(test_locality_model),
        cmocka_unit_test(test_ci_arithmetic),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_lifetime_parser),
        cmocka_unit_test(test_churn_gives_every_page_back),
        cmocka_unit_test(test_domids_reused_past_xen_limit),
        cmocka_unit_test(test_too_many_guests_at_once_reported),
        cmocka_unit_test(test_ha_restart_storm),
        cmocka_unit_test(test_churn_records_seeds_sweep),
    };

    return cmocka_run_group_tests_name("storm", tests, NULL, NULL);
}
