/* SPDX-License-Identifier: MIT */
/*
 * `numaclaim sweep`: one storm parameter (builders, fill, host or mix)
 * varied over a list of values, each value's storm run for every seed in
 * the seeds' process pool, and one table or JSON of each policy's figures
 * and their differences from a reference policy, paired by seed (the same
 * seed gives every policy the same VMs), with 95% intervals; svg.c draws
 * the same figures.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "storm.h"

static const char *const vary_name[] = {
    [STORM_VARY_BUILDERS] = "builders", [STORM_VARY_FILL] = "fill",
    [STORM_VARY_HOST] = "host", [STORM_VARY_MIX] = "mix",
};

struct add_arg {
    struct storm_sweep *sw;
    char *err;
    size_t errlen;
};

/* One value: a copy of the base scenario with it applied. */
static int add_value(const char *v, void *arg)
{
    struct add_arg *a = arg;
    struct storm_sweep *sw = a->sw;
    struct storm_scenario *x;
    char why[512];
    uint64_t n;

    if ( sw->nr == STORM_MAX_SWEEP )
    {
        snprintf(a->err, a->errlen, "more than %d values", STORM_MAX_SWEEP);
        return -1;
    }
    x = &sw->sc[sw->nr];
    storm_copy_inputs(x, sw->base);
    switch ( sw->param )
    {
    case STORM_VARY_BUILDERS:
        if ( ts_parse_uint(v, 1, 1024, &n) )
        {
            snprintf(a->err, a->errlen, "builders \"%.32s\": expected a "
                     "number from 1 to 1024", v);
            return -1;
        }
        x->builders = (uint32_t)n;
        break;
    case STORM_VARY_FILL:
        if ( ts_parse_uint(v, 0, 90, &n) )
        {
            snprintf(a->err, a->errlen, "fill \"%.32s\": expected a "
                     "percentage from 0 to 90", v);
            return -1;
        }
        x->fill_pct = (uint32_t)n;
        break;
    case STORM_VARY_HOST:
        if ( ts_host_resolve(v, &x->host, why, sizeof(why)) )
        {
            snprintf(a->err, a->errlen, "host: %s", why);
            return -1;
        }
        break;
    case STORM_VARY_MIX:
        if ( storm_parse_mix(x, v, why, sizeof(why)) )
        {
            snprintf(a->err, a->errlen, "mix: %s", why);
            return -1;
        }
        break;
    }
    sw->value[sw->nr] = strdup(v);
    if ( !sw->value[sw->nr] )
    {
        snprintf(a->err, a->errlen, "out of memory");
        return -1;
    }
    sw->nr++;
    return 0;
}

int storm_sweep_parse(const struct storm_scenario *base, const char *arg,
                      struct storm_sweep *sw, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    struct add_arg a = { sw, err, errlen };
    size_t len = eq ? (size_t)(eq - arg) : 0;
    int found = -1, rc;
    char sep;

    memset(sw, 0, sizeof(*sw));
    sw->base = base;
    for ( uint32_t i = 0; eq && i < sizeof(vary_name) / sizeof(vary_name[0]);
          i++ )
        if ( strlen(vary_name[i]) == len && !strncmp(arg, vary_name[i], len) )
            found = (int)i;
    if ( found < 0 )
    {
        snprintf(err, errlen, "expected PARAM=VALUES with PARAM builders, "
                 "fill, host or mix (e.g. builders=1,2,4,8)");
        return -1;
    }
    sw->param = (enum storm_vary)found;
    /* Host specs and mixes have commas of their own. */
    sep = sw->param == STORM_VARY_HOST || sw->param == STORM_VARY_MIX ? '|'
                                                                       : ',';
    rc = ts_split(eq + 1, sep, false, add_value, &a);
    if ( rc == TS_SPLIT_EMPTY )
        snprintf(err, errlen, "empty value in the list (values are separated "
                 "by '%c'%s)", sep, sep == '|' ? " for host and mix" : "");
    else if ( rc == TS_SPLIT_NOMEM )
        snprintf(err, errlen, "out of memory");
    if ( rc )
    {
        storm_sweep_free(sw);
        return -1;
    }
    return 0;
}

void storm_sweep_free(struct storm_sweep *sw)
{
    for ( uint32_t i = 0; i < sw->nr; i++ )
    {
        /* The configs belong to the base scenario. */
        storm_free_prepared(&sw->sc[i]);
        free(sw->value[i]);
        for ( uint32_t p = 0; p < TS_NR_POLICIES; p++ )
            for ( uint32_t f = 0; f < STORM_NR_FIGURES; f++ )
                free(sw->rep[i].fig[p][f]);
    }
    memset(sw, 0, sizeof(*sw));
}

const char *storm_sweep_param(const struct storm_sweep *sw)
{
    return vary_name[sw->param];
}

/* ========================================================================
 * Running
 * ======================================================================== */

static int take(void *arg, uint32_t i, uint64_t seed,
                const struct storm_result *r, const struct storm_vms *vms,
                uint32_t nr)
{
    struct storm_sweep *sw = arg;

    (void)vms;
    storm_seeds_report_add(&sw->rep[i], (uint32_t)(seed - sw->sc[i].seed),
                           seed, r, nr);
    return 0;
}

int storm_sweep_run(struct storm_sweep *sw, uint32_t nr_seeds, uint32_t jobs,
                    bool progress)
{
    const struct storm_scenario *sc[STORM_MAX_SWEEP];

    sw->nr_seeds = nr_seeds;
    for ( uint32_t i = 0; i < sw->nr; i++ )
    {
        sc[i] = &sw->sc[i];
        sw->rep[i].nr_seeds = nr_seeds;
        for ( uint32_t p = 0; p < TS_NR_POLICIES; p++ )
            for ( uint32_t f = 0; f < STORM_NR_FIGURES; f++ )
                if ( !(sw->rep[i].fig[p][f] = calloc(nr_seeds,
                                                     sizeof(double))) )
                {
                    errno = ENOMEM;
                    return -1;
                }
    }
    return storm_run_pool(sc, sw->nr, nr_seeds, jobs, false, progress, take,
                          sw);
}

/* ========================================================================
 * Reports
 * ======================================================================== */

uint32_t storm_sweep_reference(const struct storm_seeds_report *sr)
{
    for ( uint32_t p = 0; p < sr->nr; p++ )
        if ( sr->policy[p] == TS_POLICY_CLAIMSETS )
            return p;
    return sr->nr ? sr->nr - 1 : 0;
}

void storm_sweep_delta(const struct storm_seeds_report *sr, uint32_t p,
                       uint32_t f, struct storm_ci *ci)
{
    uint32_t ref = storm_sweep_reference(sr), n = sr->nr_seeds;
    double *d = malloc((n ? n : 1) * sizeof(*d));

    memset(ci, 0, sizeof(*ci));
    if ( !d )
        return;
    for ( uint32_t k = 0; k < n; k++ )
        d[k] = sr->fig[p][f][k] - sr->fig[ref][f][k];
    storm_ci95(d, n, ci);
    free(d);
}

const struct storm_sweep_shown storm_sweep_shown[STORM_SWEEP_NR_SHOWN] = {
    { 1, "started-GiB", 1, 1 }, { 2, "asked-%", 100, 1 },
    { 4, "failed-mid", 1, 1 }, { 6, "locality-%", 100, 1 },
    { 11, "p99-s", 1, 2 },
};
static const struct storm_sweep_shown *const shown = storm_sweep_shown;
#define NR_SHOWN STORM_SWEEP_NR_SHOWN

static int width(uint32_t k, bool half)
{
    int w = (int)strlen(shown[k].label);

    return w > (half ? 13 : 7) ? w : half ? 13 : 7;
}

static void cell(FILE *f, const struct storm_ci *ci, uint32_t k, bool half)
{
    int w = width(k, half);
    char buf[48];
    double sc = shown[k].scale;
    int d = shown[k].decimals;

    if ( half )
        snprintf(buf, sizeof(buf), "%.*f±%.*f", d, sc * ci->mean, d,
                 sc * ci->half);
    else
        snprintf(buf, sizeof(buf), "%.*f", d, sc * ci->mean);
    /* "±" takes two bytes for one column. */
    fprintf(f, " %*s", w + (half ? 1 : 0), buf);
}

void storm_print_sweep_table(FILE *f, const struct storm_sweep *sw)
{
    bool half = sw->nr_seeds > 1;

    fprintf(f, "sweep of %s over %u values; %u seed%s each (%llu..%llu)%s\n",
            storm_sweep_param(sw), sw->nr, sw->nr_seeds,
            sw->nr_seeds == 1 ? "" : "s",
            (unsigned long long)sw->base->seed,
            (unsigned long long)(sw->base->seed + sw->nr_seeds - 1),
            half ? "; mean ± half-width of the 95% interval (Student t)"
                 : "");
    for ( uint32_t i = 0; i < sw->nr; i++ )
    {
        const struct storm_seeds_report *sr = &sw->rep[i];
        uint32_t ref = storm_sweep_reference(sr);

        fprintf(f, "\n%s = %s: %u nodes, %u VMs; d: minus %s, paired by "
                "seed\n%-10s", storm_sweep_param(sw), sw->value[i],
                sw->sc[i].host.nr_nodes, sw->sc[i].nr_vms,
                sr->nr ? ts_policy_name(sr->policy[ref]) : "-", "policy");
        for ( uint32_t k = 0; k < NR_SHOWN; k++ )
            fprintf(f, " %*s %*s", width(k, half), shown[k].label,
                    width(k, half), "d");
        fputc('\n', f);
        for ( uint32_t p = 0; p < sr->nr; p++ )
        {
            fprintf(f, "%-10s", ts_policy_name(sr->policy[p]));
            if ( sr->error[p][0] )
            {
                fprintf(f, " error: %s\n", sr->error[p]);
                continue;
            }
            for ( uint32_t k = 0; k < NR_SHOWN; k++ )
            {
                struct storm_ci ci;

                storm_ci95(sr->fig[p][shown[k].figure], sr->nr_seeds, &ci);
                cell(f, &ci, k, half);
                storm_sweep_delta(sr, p, shown[k].figure, &ci);
                cell(f, &ci, k, half);
            }
            fputc('\n', f);
        }
    }
    fprintf(f, "\nstarted-GiB: memory of the VMs started; asked-%%: of the "
            "memory asked for;\nfailed-mid: builds failed after populating; "
            "locality-%%: node-local accesses\nof the VMs started; p99-s: "
            "arrival to running; d: this policy minus the\nreference (every "
            "figure is in the JSON).\n");
}

static json_t *ci_json(const struct storm_ci *ci)
{
    return json_pack("{s:f, s:f, s:f}", "mean", storm_round(ci->mean),
                     "ci95_low", storm_round(ci->mean - ci->half),
                     "ci95_high", storm_round(ci->mean + ci->half));
}

int storm_write_sweep_json(const char *path, const struct storm_sweep *sw,
                           char *err, size_t errlen)
{
    json_t *points = json_array(), *values = json_array(), *root;

    for ( uint32_t i = 0; i < sw->nr; i++ )
    {
        const struct storm_seeds_report *sr = &sw->rep[i];
        json_t *pol = json_array();

        json_array_append_new(values, json_string(sw->value[i]));
        for ( uint32_t p = 0; p < sr->nr; p++ )
        {
            json_t *o = json_pack("{s:s}", "name",
                                  ts_policy_name(sr->policy[p]));
            json_t *d = json_object();

            if ( sr->error[p][0] )
                json_object_set_new(o, "error", json_string(sr->error[p]));
            for ( uint32_t k = 0; k < STORM_NR_FIGURES && !sr->error[p][0];
                  k++ )
            {
                struct storm_ci ci;

                storm_ci95(sr->fig[p][k], sr->nr_seeds, &ci);
                json_object_set_new(o, storm_figure_key(k), ci_json(&ci));
                storm_sweep_delta(sr, p, k, &ci);
                json_object_set_new(d, storm_figure_key(k), ci_json(&ci));
            }
            json_object_set_new(o, "delta", d);
            json_array_append_new(pol, o);
        }
        json_array_append_new(points, json_pack(
            "{s:s, s:i, s:i, s:s, s:o}", "value", sw->value[i],
            "nr_nodes", sw->sc[i].host.nr_nodes, "vms", sw->sc[i].nr_vms,
            "reference", sr->nr ? ts_policy_name(
                              sr->policy[storm_sweep_reference(sr)]) : "",
            "policies", pol));
    }
    root = json_pack("{s:s, s:o, s:i, s:I, s:s, s:o}", "param",
                     storm_sweep_param(sw), "values", values, "seeds",
                     sw->nr_seeds, "seed", (json_int_t)sw->base->seed,
                     "host", sw->base->host.spec, "points", points);
    return storm_dump_json(root, path, err, errlen);
}
