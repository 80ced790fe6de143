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
    assert_int_equal(storm_parse_mix(&s, "4G", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad entry \"4G\""));
    assert_int_equal(storm_parse_mix(&s, "4Q:1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad entry \"4Q:1\""));
    assert_int_equal(storm_parse_mix(&s, "4G:0", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad weight in \"4G:0\""));
    assert_int_equal(storm_parse_mix(&s, "4G:1,", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "trailing comma"));
    assert_int_equal(storm_parse_mix(&s, "", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty"));
    /* A failed parse leaves the previous mix. */
    assert_int_equal(s.nr_mix, 3);
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
        assert_true(json_real_value(json_object_get(p, "locality")) ==
                    res[i].locality);
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

static void test_svg_is_written(void **state)
{
    struct storm_scenario s;
    char path[] = "/tmp/numaclaim-svg-XXXXXX", err[256], buf[64 * 1024];
    uint32_t nr;
    int fd = mkstemp(path);
    FILE *f;
    size_t n;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    storm_defaults(&s);
    s.nr_vms = 12;
    nr = run(&s, res);
    assert_int_equal(storm_write_svg(path, &s, res, nr, err, sizeof(err)), 0);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_true(!strncmp(buf, "<svg ", 5));
    assert_non_null(strstr(buf, ">claimsets</text>"));
    assert_non_null(strstr(buf, ">node 3 (128 GiB)</text>"));
    assert_non_null(strstr(buf, "</svg>"));
    unlink(path);
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
    s.nr_offline = 1;
    s.offline[0] = (struct storm_offline){ .pages = 20000, .time = 0.5 };
    nr = run(&s, res);
    for ( uint32_t i = 0; i < nr; i++ )
        assert_int_equal(res[i].started + res[i].failed_claim +
                         res[i].failed_build, 24);
    /* Ballooning gives vNUMA guests their memory back on the same nodes:
     * claim sets keep the locality they had. */
    assert_true(find(res, nr, TS_POLICY_CLAIMSETS)->locality > 0.99);
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

/* ========================================================================
 * Churn: lifetimes, reboots, HA restarts, domid reuse
 * ======================================================================== */

static void churn_scenario(struct storm_scenario *s, const char *host,
                           const char *mix, uint32_t vms, const char *life)
{
    char err[256];

    storm_defaults(s);
    assert_int_equal(ts_host_resolve(host, &s->host, err, sizeof(err)), 0);
    assert_int_equal(storm_parse_mix(s, mix, err, sizeof(err)), 0);
    assert_int_equal(storm_parse_lifetime(&s->lifetime, life, err,
                                          sizeof(err)), 0);
    s->nr_vms = vms;
    s->fill_pct = 0;
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
    assert_true(x->peak_guests <= 8);
    assert_int_equal(x->end_free_pages, GIB);
    storm_free(&s);
}

/* More guests at once than Xen has domids: the creates past 32,751 fail
 * as such, not as memory failures, and the host still ends whole. */
static void test_too_many_guests_at_once_reported(void **state)
{
    struct storm_scenario s;
    const struct storm_result *x;

    (void)state;
    x = one_policy(&s, "1x64G", 32760, "fixed:1000", TS_POLICY_NONE, 8);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_scenario_acceptance),
        cmocka_unit_test(test_same_seed_same_report),
        cmocka_unit_test(test_mix_parser),
        cmocka_unit_test(test_json_has_every_field),
        cmocka_unit_test(test_svg_is_written),
        cmocka_unit_test(test_offline_and_balloon_events),
        cmocka_unit_test(test_real_threads),
        cmocka_unit_test(test_builder_processes),
        cmocka_unit_test(test_lifetime_parser),
        cmocka_unit_test(test_churn_gives_every_page_back),
        cmocka_unit_test(test_domids_reused_past_xen_limit),
        cmocka_unit_test(test_too_many_guests_at_once_reported),
        cmocka_unit_test(test_ha_restart_storm),
    };

    return cmocka_run_group_tests_name("storm", tests, NULL, NULL);
}
