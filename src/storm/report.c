/* SPDX-License-Identifier: MIT */
/*
 * Storm reports: the terminal table and JSON (jansson; schema in
 * docs/storm.md), of one run and over seeds.  The pictures are svg.c's.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "storm.h"

#define GIB (1ULL << 18)

static double gib(uint64_t pages)
{
    return (double)pages / GIB;
}

/* ========================================================================
 * Table
 * ======================================================================== */

void storm_print_table(FILE *f, const struct storm_scenario *s,
                       const struct storm_result *r, uint32_t nr)
{
    uint64_t demand = 0;

    for ( uint32_t i = 0; i < s->nr_vms; i++ )
        demand += s->vms[i]->memory_pages;
    fprintf(f, "host %s: %u nodes\n", s->host.spec, s->host.nr_nodes);
    fprintf(f, "storm: %u VMs asking %.0f GiB, %u builders, %s arrival, "
            "fill %u%%, seed %llu%s\n\n", s->nr_vms, gib(demand), s->builders,
            s->rate > 0 ? "poisson" : "burst", s->fill_pct,
            (unsigned long long)s->seed,
            s->processes ? ", builder processes on a private hostd (results "
                           "may vary run to run)"
            : s->threads ? ", real threads (results may vary run to run)" : "");
    fprintf(f, "%-10s %7s %9s %6s %11s %10s %10s %8s %9s %6s %8s %7s %7s\n",
            "policy", "started", "memory", "asked", "failed-fast",
            "failed-mid", "wasted", "locality", "mean-dist", "1-node",
            "build-s", "p50-s", "p99-s");
    for ( uint32_t i = 0; i < nr; i++ )
    {
        const struct storm_result *x = &r[i];

        if ( x->error )
        {
            fprintf(f, "%-10s error: %s\n", ts_policy_name(x->policy),
                    x->message);
            continue;
        }
        fprintf(f, "%-10s %4u/%-3u %5.0f GiB %5.1f%% %11u %10u %6.1f GiB "
                "%7.1f%% %9.2f %5.0f%% %8.2f %7.2f %7.2f\n",
                ts_policy_name(x->policy), x->started,
                s->life || s->ha_vms ? x->builds : x->vms,
                gib(x->started_pages), 100 * storm_figure(x, 2),
                x->failed_claim, x->failed_build, gib(x->wasted_pages),
                100 * x->locality, x->mean_distance,
                100 * x->single_node_share, x->build_seconds,
                x->latency_p50, x->latency_p99);
    }
    if ( s->life || s->ha_vms )
    {
        fprintf(f, "\n%-10s %9s %9s %8s %9s %8s %10s %8s\n", "churn",
                "builds", "shutdown", "reboots", "no-domid", "peak-dom",
                "scrubbed", "scrub-s");
        for ( uint32_t i = 0; i < nr; i++ )
            if ( !r[i].error )
                fprintf(f, "%-10s %9u %9u %8u %9u %8u %6.0f GiB %8.1f\n",
                        ts_policy_name(r[i].policy), r[i].builds,
                        r[i].shutdowns, r[i].reboots, r[i].failed_domid,
                        r[i].peak_guests, gib(r[i].scrubbed_pages),
                        r[i].scrub_seconds);
    }
    storm_print_legend(f, s);
}

void storm_print_legend(FILE *f, const struct storm_scenario *s)
{
    fprintf(f, "\nmemory: of the VMs started (asked: as a share of all the "
            "VMs asked for);\nfailed-fast: refused before populating, "
            "nothing wasted; failed-mid: failed after\npopulating (wasted: "
            "pages populated then thrown away); locality: share of\nmemory "
            "accesses that are node-local, over the VMs started (vNUMA guests "
            "make\n%g%% of theirs to their other vnodes, --vnuma-remote); "
            "1-node: VMs that fit a\nnode and got one; p50/p99: arrival to "
            "running, of the VMs started.\n", 100 * s->vnuma_remote);
    if ( s->life || s->ha_vms )
        fprintf(f, "\nwith churn, started (of builds), asked, the failures "
                "and p50/p99 count builds\n(reboots included; a reboot's "
                "build is asked for when its VM shuts down);\nno-domid: "
                "creates refused because Xen's %u guest domids were all in "
                "use;\npeak-dom: guest domains at once; scrubbed: dirty freed "
                "memory scrubbed when\nreused.\n", STORM_MAX_GUESTS);
}

/* ========================================================================
 * JSON
 * ======================================================================== */

static json_t *scenario_json(const struct storm_scenario *s)
{
    json_t *mix = json_array(), *o;

    for ( uint32_t i = 0; i < s->nr_mix && !s->nr_configs; i++ )
        json_array_append_new(mix, json_pack("{s:I, s:i}", "pages",
                                             (json_int_t)s->mix[i].pages,
                                             "weight", s->mix[i].weight));
    o = json_pack("{s:i, s:o, s:i, s:i, s:s, s:f, s:I, s:b, s:b, s:b, s:f}",
                  "vms", s->nr_vms, "mix", mix, "fill_pct", s->fill_pct,
                  "builders", s->builders,
                  "arrival", s->rate > 0 ? "poisson" : "burst",
                  "rate", s->rate, "seed", (json_int_t)s->seed,
                  "balloon", s->balloon, "threads", s->threads,
                  "processes", s->processes,
                  "vnuma_remote", s->vnuma_remote);
    if ( s->life )
    {
        static const char *const kind[] = { "forever", "fixed", "exp",
                                            "uniform" };

        json_object_set_new(o, "lifetime", json_pack("{s:s, s:f, s:f}",
                            "kind", kind[s->lifetime.kind], "a",
                            s->lifetime.a, "b", s->lifetime.b));
        json_object_set_new(o, "reboot", json_real(s->reboot));
    }
    if ( s->ha_vms )
        json_object_set_new(o, "ha_restart", json_pack("{s:i, s:f}", "vms",
                            s->ha_vms, "time", s->ha_time));
    if ( s->claim_slack.pct )
        json_object_set_new(o, "claim_slack_pct",
                            json_integer(s->claim_slack.pct));
    else
        json_object_set_new(o, "claim_slack_mib",
                            json_integer((json_int_t)(s->claim_slack.pages >>
                                                      8)));
    if ( s->nr_offline )
    {
        json_t *ev = json_array();

        for ( uint32_t i = 0; i < s->nr_offline; i++ )
            json_array_append_new(ev, json_pack("{s:I, s:f}", "pages",
                                  (json_int_t)s->offline[i].pages, "time",
                                  s->offline[i].time));
        json_object_set_new(o, "offline", ev);
    }
    return o;
}

static json_t *host_json(const struct ts_host *h)
{
    json_t *nodes = json_array(), *dist = json_array();

    for ( uint32_t i = 0; i < h->nr_nodes; i++ )
    {
        json_t *row = json_array();

        json_array_append_new(nodes, json_integer((json_int_t)h->node_pages[i]));
        for ( uint32_t j = 0; j < h->nr_nodes; j++ )
            json_array_append_new(row, json_integer(h->distance[i][j]));
        json_array_append_new(dist, row);
    }
    return json_pack("{s:s, s:s, s:i, s:o, s:o}", "spec", h->spec, "source",
                     h->source, "nr_nodes", h->nr_nodes, "node_pages", nodes,
                     "distance", dist);
}

/* Reals in reports: figures rounded to 4 significant digits before, and
 * printed with up to 10 so that scenario inputs keep theirs. */
#define JSON_FLAGS (JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10))

int storm_dump_json(json_t *root, const char *path, char *err, size_t errlen)
{
    int rc = json_dump_file(root, path, JSON_FLAGS);

    json_decref(root);
    if ( rc )
    {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int storm_write_json(const char *path, const struct storm_scenario *s,
                     const struct storm_result *r, uint32_t nr, char *err,
                     size_t errlen)
{
    json_t *pol = json_array(), *root;

    for ( uint32_t i = 0; i < nr; i++ )
    {
        const struct storm_result *x = &r[i];
        json_t *o = json_pack(
            "{s:s, s:i, s:i, s:I, s:i, s:i, s:I, s:f, s:f, s:f, s:f, s:i, "
            "s:I}",
            "name", ts_policy_name(x->policy), "vms", x->vms,
            "started", x->started,
            "started_pages", (json_int_t)x->started_pages,
            "failed_claim", x->failed_claim,
            "failed_build", x->failed_build,
            "wasted_pages", (json_int_t)x->wasted_pages,
            "locality", x->locality, "mean_distance", x->mean_distance,
            "single_node_share", x->single_node_share,
            "build_seconds", x->build_seconds, "replans", x->replans,
            "recalled_pages", (json_int_t)x->recalled_pages);

        /* Figures rounded; counts stay exact. */
        json_object_set_new(o, "locality",
                            json_real(storm_round(x->locality)));
        json_object_set_new(o, "mean_distance",
                            json_real(storm_round(x->mean_distance)));
        json_object_set_new(o, "single_node_share",
                            json_real(storm_round(x->single_node_share)));
        json_object_set_new(o, "build_seconds",
                            json_real(storm_round(x->build_seconds)));
        json_object_set_new(o, "failed_placement",
                            json_integer(x->failed_placement));
        json_object_set_new(o, "demand_pages",
                            json_integer((json_int_t)x->demand_pages));
        json_object_set_new(o, "demand_started_share",
                            json_real(storm_round(storm_figure(x, 2))));
        json_object_set_new(o, "latency_p50",
                            json_real(storm_round(x->latency_p50)));
        json_object_set_new(o, "latency_p99",
                            json_real(storm_round(x->latency_p99)));
        if ( s->life || s->ha_vms )
        {
            json_t *sm = json_array();

            json_object_update_new(o, json_pack(
                "{s:i, s:i, s:i, s:i, s:i, s:I, s:f, s:I, s:I, s:i}",
                "builds", x->builds,
                "shutdowns", x->shutdowns, "reboots", x->reboots,
                "failed_domid", x->failed_domid, "peak_guests",
                x->peak_guests, "scrubbed_pages",
                (json_int_t)x->scrubbed_pages, "scrub_seconds",
                x->scrub_seconds, "end_free_pages",
                (json_int_t)x->end_free_pages, "end_outstanding_pages",
                (json_int_t)x->end_outstanding_pages, "end_guests",
                x->end_guests));
            /* Over time: free and dirty memory, and fragmentation as the
             * builders met it (pages populated so far by extent size). */
            for ( uint32_t k = 0; k < x->nr_samples; k++ )
            {
                const struct storm_sample *y = &x->sample[k];
                json_t *free = json_array();

                for ( uint32_t n = 0; n < s->host.nr_nodes; n++ )
                    json_array_append_new(free,
                                          json_integer((json_int_t)y->free[n]));
                bool heap = y->free_2m != STORM_HEAP_UNKNOWN;

                json_array_append_new(sm, json_pack(
                    "{s:f, s:o, s:I, s:[I, I, I], s:o, s:o}", "time", y->time,
                    "free_pages", free, "dirty_pages", (json_int_t)y->dirty,
                    "populated_4k_2m_1g", (json_int_t)y->extent_pages[0],
                    (json_int_t)y->extent_pages[1],
                    (json_int_t)y->extent_pages[2],
                    "free_2m_pages", heap ? json_integer((json_int_t)
                                                         y->free_2m)
                                          : json_null(),
                    "offlined_pages", heap ? json_integer((json_int_t)
                                                          y->offlined)
                                           : json_null()));
            }
            json_object_set_new(o, "samples", sm);
        }
        if ( x->error )
            json_object_set_new(o, "error", json_string(x->message));
        json_array_append_new(pol, o);
    }
    root = json_pack("{s:o, s:o, s:o}", "host", host_json(&s->host),
                     "scenario", scenario_json(s), "policies", pol);
    return storm_dump_json(root, path, err, errlen);
}

/* ========================================================================
 * Over seeds: mean and 95% interval of each figure
 * ======================================================================== */

/* How each figure is shown in the table: a scale and decimals. */
static const struct {
    const char *label;
    double scale;
    int decimals;
} figure_show[STORM_NR_FIGURES] = {
    { "started (VMs)", 1, 1 }, { "started (GiB)", 1, 1 },
    { "asked started (%)", 100, 1 }, { "failed-fast", 1, 1 },
    { "failed-mid", 1, 1 }, { "wasted (GiB)", 1, 1 },
    { "locality (%)", 100, 1 }, { "mean-dist", 1, 3 },
    { "1-node (%)", 100, 1 }, { "build-s", 1, 2 }, { "p50-s", 1, 2 },
    { "p99-s", 1, 2 }, { "replans", 1, 1 },
};

void storm_print_seeds_table(FILE *f, const struct storm_scenario *s,
                             const struct storm_seeds_report *sr)
{
    fprintf(f, "host %s: %u nodes\n", s->host.spec, s->host.nr_nodes);
    fprintf(f, "storm: %u VMs, %u builders, %s arrival, fill %u%%, seeds "
            "%llu..%llu (%u)\n\nmean ± half-width of the 95%% confidence "
            "interval (Student t, %u degrees of freedom)\n\n", s->nr_vms,
            s->builders, s->rate > 0 ? "poisson" : "burst", s->fill_pct,
            (unsigned long long)s->seed,
            (unsigned long long)(s->seed + sr->nr_seeds - 1), sr->nr_seeds,
            sr->nr_seeds - 1);
    fprintf(f, "%-18s", "figure");
    for ( uint32_t i = 0; i < sr->nr; i++ )
        fprintf(f, " %19s", ts_policy_name(sr->policy[i]));
    fputc('\n', f);
    for ( uint32_t k = 0; k < STORM_NR_FIGURES; k++ )
    {
        fprintf(f, "%-18s", figure_show[k].label);
        for ( uint32_t i = 0; i < sr->nr; i++ )
        {
            struct storm_ci ci;
            char cell[48];
            double sc = figure_show[k].scale;
            int d = figure_show[k].decimals;

            if ( sr->error[i][0] )
            {
                fprintf(f, " %19s", "error");
                continue;
            }
            storm_ci95(sr->fig[i][k], sr->nr_seeds, &ci);
            snprintf(cell, sizeof(cell), "%.*f ± %.*f", d, sc * ci.mean, d,
                     sc * ci.half);
            /* "±" is two bytes and one column. */
            fprintf(f, " %20s", cell);
        }
        fputc('\n', f);
    }
    for ( uint32_t i = 0; i < sr->nr; i++ )
        if ( sr->error[i][0] )
            fprintf(f, "%s: error: %s\n", ts_policy_name(sr->policy[i]),
                    sr->error[i]);
    storm_print_legend(f, s);
}

int storm_write_seeds_json(const char *path, const struct storm_scenario *s,
                           const struct storm_seeds_report *sr, char *err,
                           size_t errlen)
{
    json_t *pol = json_array(), *sc = scenario_json(s), *root;

    json_object_set_new(sc, "seeds", json_integer(sr->nr_seeds));
    for ( uint32_t i = 0; i < sr->nr; i++ )
    {
        json_t *o = json_pack("{s:s, s:i}", "name",
                              ts_policy_name(sr->policy[i]), "seeds",
                              sr->nr_seeds);

        if ( sr->error[i][0] )
            json_object_set_new(o, "error", json_string(sr->error[i]));
        for ( uint32_t k = 0; k < STORM_NR_FIGURES && !sr->error[i][0]; k++ )
        {
            json_t *values = json_array();
            struct storm_ci ci;

            storm_ci95(sr->fig[i][k], sr->nr_seeds, &ci);
            for ( uint32_t n = 0; n < sr->nr_seeds; n++ )
                json_array_append_new(
                    values, json_real(storm_round(sr->fig[i][k][n])));
            json_object_set_new(o, storm_figure_key(k), json_pack(
                "{s:f, s:f, s:f, s:f, s:o}", "mean", storm_round(ci.mean),
                "sd", storm_round(ci.sd),
                "ci95_low", storm_round(ci.mean - ci.half),
                "ci95_high", storm_round(ci.mean + ci.half),
                "values", values));
        }
        json_array_append_new(pol, o);
    }
    root = json_pack("{s:o, s:o, s:o}", "host", host_json(&s->host),
                     "scenario", sc, "policies", pol);
    return storm_dump_json(root, path, err, errlen);
}
