/* SPDX-License-Identifier: MIT */
/*
 * Storm reports: the terminal table, JSON (jansson; schema in
 * docs/storm.md) and an SVG of the host's memory over the storm, one row
 * per policy: headline figures, the host's memory stacked on a GiB axis,
 * and a node x time heat map.
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
                json_array_append_new(sm, json_pack(
                    "{s:f, s:o, s:I, s:[I, I, I]}", "time", y->time,
                    "free_pages", free, "dirty_pages", (json_int_t)y->dirty,
                    "populated_4k_2m_1g", (json_int_t)y->extent_pages[0],
                    (json_int_t)y->extent_pages[1],
                    (json_int_t)y->extent_pages[2]));
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

/* ========================================================================
 * SVG
 * ======================================================================== */

/*
 * A fixed width at any number of nodes: per policy, a row of a text
 * column (the headline figures), the host's memory over time as stacked
 * areas on a GiB axis, and a node x time heat map of each node's
 * committed share (used + claimed), one row per node.  docs/storm.md
 * describes every element.
 */
#define SVG_W       1000
#define SVG_TOP     118          /* header: title, scenario, legend */
#define TEXT_X      12
#define AREA_X      270          /* the area chart */
#define AREA_W      330
#define HEAT_X      660          /* the heat map */
#define HEAT_W      320
#define STRIP_H     26           /* event marks above the plots */
#define PLOT_H      150
#define ROW_H       (STRIP_H + PLOT_H + 44)
#define HEAT_BINS   100
#define MARK_PX     2            /* VM starts closer than this merge */
#define FAIL_PX     20           /* failures: room for their count */

/* Area layers, bottom to top. */
enum { L_FILL, L_STORM, L_NODE, L_HOST, L_FREE, L_NR };
static const char *const layer_fill[L_NR] = {
    "#9e9e9e", "#d95f02", "#7570b3", "#e7298a", "#e5f5e0",
};
static const char *const layer_name[L_NR] = {
    "guests before the storm (--fill)", "storm VMs", "node claims",
    "host-wide claims", "free, unclaimed",
};
/* Heat-map levels: committed share in tenths. */
static const char *const heat_fill[10] = {
    "#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6",
    "#4292c6", "#2171b5", "#08519c", "#08306b", "#041c42",
};

#define MARK_STARTED "#1b9e77"
#define MARK_FAST    "#555555"
#define MARK_MID     "#d7191c"

/* Text content, escaped for XML. */
static void svg_text(FILE *f, const char *t)
{
    for ( ; *t; t++ )
        switch ( *t )
        {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '\'': fputs("&apos;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            /* Control characters are not allowed in XML 1.0. */
            fputc((unsigned char)*t < 0x20 ? '?' : *t, f);
        }
}

/* A tick step of 1, 2 or 5 times a power of ten, for about n ticks. */
static double nice_step(double max, int n)
{
    double raw = max / n, mag, norm;

    if ( !(raw > 0) )
        return 1;
    mag = pow(10, floor(log10(raw)));
    norm = raw / mag;
    return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

struct svg_host {
    const struct storm_scenario *s;
    uint64_t total;              /* pages */
    double tmax;
};

static double svg_x(const struct svg_host *g, double x0, double w, double t)
{
    if ( t > g->tmax )
        t = g->tmax;
    return x0 + (g->tmax > 0 ? t / g->tmax : 0) * w;
}

/* The top of each layer in sample k, in pages. */
static void layer_tops(const struct svg_host *g, const struct storm_result *x,
                       uint32_t k, uint64_t top[L_NR])
{
    const struct storm_sample *sm = &x->sample[k], *s0 = &x->sample[0];
    uint64_t used = 0, before = 0, claimed = 0;

    for ( uint32_t n = 0; n < g->s->host.nr_nodes; n++ )
    {
        uint64_t size = g->s->host.node_pages[n];

        used += size > sm->free[n] ? size - sm->free[n] : 0;
        before += size > s0->free[n] ? size - s0->free[n] : 0;
        claimed += sm->claimed[n];
    }
    top[L_FILL] = before < used ? before : used;
    top[L_STORM] = used;
    top[L_NODE] = used + claimed;
    top[L_HOST] = top[L_NODE] + sm->host_claimed;
    top[L_FREE] = g->total;
    for ( int l = L_STORM; l < L_NR; l++ )
        if ( top[l] > g->total )
            top[l] = g->total;
}

/* The time axis under a plot at (x0, y0) of width w. */
static void time_axis(FILE *f, const struct svg_host *g, double x0, double y0,
                      double w)
{
    double step = nice_step(g->tmax, 5);

    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' "
            "stroke='#333'/>\n", x0, y0, x0 + w, y0);
    for ( double t = 0; t <= g->tmax * (1 + 1e-9) && g->tmax > 0;
          t += step )
    {
        double xx = svg_x(g, x0, w, t);

        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' "
                "stroke='#333'/>\n<text x='%.1f' y='%.1f' font-size='10' "
                "text-anchor='middle'>%g</text>\n", xx, y0, xx, y0 + 4, xx,
                y0 + 14, t);
    }
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='10' fill='#555' "
            "text-anchor='middle'>time (s)</text>\n", x0 + w / 2, y0 + 27);
}

/* Offline events: a dashed line over a plot, labelled once. */
static void offline_marks(FILE *f, const struct svg_host *g, double x0,
                          double w, double py, bool label)
{
    for ( uint32_t i = 0; i < g->s->nr_offline; i++ )
    {
        const struct storm_offline *o = &g->s->offline[i];
        double xx = svg_x(g, x0, w, o->time);

        fprintf(f, "<line class='offline' x1='%.1f' y1='%.1f' x2='%.1f' "
                "y2='%.1f' stroke='black' stroke-width='1.5' "
                "stroke-dasharray='4 3'>"
                "<title>offline %.2f GiB at %g s</title></line>\n", xx, py,
                xx, py + PLOT_H, gib(o->pages), o->time);
        if ( label )
            fprintf(f, "<text x='%.1f' y='%.1f' font-size='9'>off %.2g "
                    "GiB</text>\n", xx + 3, py + 10 + 10.0 * (i % 3),
                    gib(o->pages));
    }
}

/* One row of marks (VMs that ended with outcome `which`), merged per
 * MARK_PX pixels. */
static void vm_marks(FILE *f, const struct svg_host *g,
                     const struct storm_vms *v, int which, double y)
{
    uint32_t count[AREA_W / MARK_PX + 1] = { 0 };
    double first[AREA_W / MARK_PX + 1], last[AREA_W / MARK_PX + 1];
    uint32_t px = which == STORM_VM_STARTED ? MARK_PX : FAIL_PX;
    static const char *const what[] = {
        [STORM_VM_STARTED] = "started",
        [STORM_VM_FAILED_CLAIM] = "failed fast",
        [STORM_VM_FAILED_BUILD] = "failed mid-build",
    };

    for ( uint32_t i = 0; i < v->nr; i++ )
    {
        int o = v->vm[i].outcome;

        if ( o == STORM_VM_FAILED_PLACEMENT || o == STORM_VM_FAILED_DOMID )
            o = STORM_VM_FAILED_CLAIM;
        if ( o == which )
        {
            double t = v->vm[i].end;
            uint32_t b = (uint32_t)svg_x(g, 0, AREA_W, t) / px;

            if ( !count[b]++ )
                first[b] = last[b] = t;
            first[b] = fmin(first[b], t);
            last[b] = fmax(last[b], t);
        }
    }
    for ( uint32_t b = 0; b <= AREA_W / px; b++ )
    {
        double xx = AREA_X + b * px + px / 2.0;

        if ( !count[b] )
            continue;
        if ( which == STORM_VM_FAILED_BUILD )
            fprintf(f, "<path class='failed-mid' d='M%.1f %.1f l-4 -7 h8 z' "
                    "fill='%s'>",
                    xx, y + 3, MARK_MID);
        else if ( which == STORM_VM_FAILED_CLAIM )
            fprintf(f, "<circle class='failed-fast' cx='%.1f' cy='%.1f' "
                    "r='2.5' fill='none' stroke='%s'>", xx, y, MARK_FAST);
        else
            fprintf(f, "<line class='started' x1='%.1f' y1='%.1f' "
                    "x2='%.1f' y2='%.1f' stroke='%s'>", xx, y - 3, xx, y + 3,
                    MARK_STARTED);
        fprintf(f, "<title>%u VM%s %s at %.2f", count[b],
                count[b] == 1 ? "" : "s", what[which], first[b]);
        if ( last[b] > first[b] )
            fprintf(f, " to %.2f", last[b]);
        fprintf(f, " s</title></%s>\n",
                which == STORM_VM_FAILED_BUILD ? "path"
                : which == STORM_VM_FAILED_CLAIM ? "circle" : "line");
        /* Failures merged into one mark say how many. */
        if ( count[b] > 1 && which != STORM_VM_STARTED )
            fprintf(f, "<text x='%.1f' y='%.1f' font-size='9' fill='%s'>%u"
                    "</text>\n", xx + 4, y + 3, which == STORM_VM_FAILED_BUILD
                    ? MARK_MID : MARK_FAST, count[b]);
    }
}

/* The host's memory over time, stacked, on a GiB axis. */
static void area_chart(FILE *f, const struct svg_host *g,
                       const struct storm_result *x, double py)
{
    double tot = gib(g->total), step = nice_step(tot, 4);

    for ( double v = 0; v <= tot * (1 + 1e-9); v += step )
    {
        double yy = py + PLOT_H - (tot > 0 ? v / tot : 0) * PLOT_H;

        fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' "
                "stroke='#333'/>\n<text x='%d' y='%.1f' font-size='10' "
                "text-anchor='end'>%g</text>\n", AREA_X - 4, yy, AREA_X, yy,
                AREA_X - 6, yy + 3, v);
    }
    fprintf(f, "<text x='%d' y='%.1f' font-size='10' fill='#555' "
            "text-anchor='middle' transform='rotate(-90 %d %.1f)'>GiB</text>"
            "\n", AREA_X - 38, py + PLOT_H / 2.0, AREA_X - 38,
            py + PLOT_H / 2.0);
    /* Each layer from the baseline to its top, painted top layer first. */
    for ( int l = L_NR - 1; l >= 0; l-- )
    {
        uint64_t top[L_NR];
        double yy = py + PLOT_H;

        fprintf(f, "<path class='layer' fill='%s' d='M%d %.1f",
                layer_fill[l], AREA_X,
                py + PLOT_H);
        for ( uint32_t k = 0; k < x->nr_samples; k++ )
        {
            layer_tops(g, x, k, top);
            yy = py + PLOT_H - (g->total ? (double)top[l] / g->total : 0) *
                               PLOT_H;
            fprintf(f, " L%.1f %.1f",
                    svg_x(g, AREA_X, AREA_W, x->sample[k].time), yy);
        }
        /* A policy that finished early holds its last state. */
        fprintf(f, " L%d %.1f L%d %.1f Z'/>\n", AREA_X + AREA_W, yy,
                AREA_X + AREA_W, py + PLOT_H);
    }
    fprintf(f, "<rect x='%d' y='%.1f' width='%d' height='%d' fill='none' "
            "stroke='#333'/>\n", AREA_X, py, AREA_W, PLOT_H);
    offline_marks(f, g, AREA_X, AREA_W, py, true);
    time_axis(f, g, AREA_X, py + PLOT_H, AREA_W);
}

/* Node x time: each node's committed share, in tenths, one rect per run
 * of equal bins. */
static void heat_map(FILE *f, const struct svg_host *g,
                     const struct storm_result *x, double py)
{
    uint32_t nodes = g->s->host.nr_nodes, every = 1;
    double rh = (double)PLOT_H / (nodes ? nodes : 1);

    /* Label every node, or every 2nd, 4th, ... where rows are thin. */
    while ( every * rh < 11 && every < nodes )
        every *= 2;
    for ( uint32_t n = 0; n < nodes; n++ )
    {
        uint64_t size = g->s->host.node_pages[n];
        double yy = py + n * rh;
        int run_level = -1;
        uint32_t run_start = 0, k = 0;

        if ( n % every == 0 )
            fprintf(f, "<text class='node' x='%d' y='%.1f' font-size='10' "
                    "text-anchor='end'>%u</text>\n", HEAT_X - 4,
                    yy + (rh < 11 ? 4 : rh / 2 + 3.5), n);
        for ( uint32_t b = 0; b <= HEAT_BINS; b++ )
        {
            int level = -1;

            if ( b < HEAT_BINS && x->nr_samples )
            {
                double t = (b + 0.5) / HEAT_BINS * g->tmax, share;
                const struct storm_sample *sm;

                /* The state at t: the last sample taken by then. */
                while ( k + 1 < x->nr_samples && x->sample[k + 1].time <= t )
                    k++;
                sm = &x->sample[k];
                share = size ? (double)((size > sm->free[n]
                                         ? size - sm->free[n] : 0) +
                                        sm->claimed[n]) / size : 0;
                level = (int)(share * 10);
                level = level < 0 ? 0 : level > 9 ? 9 : level;
            }
            if ( level == run_level )
                continue;
            if ( run_level >= 0 )
                fprintf(f, "<rect class='heat' x='%.1f' y='%.2f' "
                        "width='%.1f' height='%.2f' fill='%s'/>\n",
                        HEAT_X + (double)run_start * HEAT_W / HEAT_BINS, yy,
                        (double)(b - run_start) * HEAT_W / HEAT_BINS, rh,
                        heat_fill[run_level]);
            run_level = level;
            run_start = b;
        }
    }
    fprintf(f, "<rect x='%d' y='%.1f' width='%d' height='%d' fill='none' "
            "stroke='#333'/>\n", HEAT_X, py, HEAT_W, PLOT_H);
    fprintf(f, "<text x='%d' y='%.1f' font-size='10' fill='#555' "
            "text-anchor='middle' transform='rotate(-90 %d %.1f)'>node"
            "</text>\n", HEAT_X - 30, py + PLOT_H / 2.0, HEAT_X - 30,
            py + PLOT_H / 2.0);
    offline_marks(f, g, HEAT_X, HEAT_W, py, false);
    time_axis(f, g, HEAT_X, py + PLOT_H, HEAT_W);
}

/* The policy's headline figures, left of its plots. */
static void headline(FILE *f, const struct storm_scenario *s,
                     const struct storm_result *x, double py)
{
    /* With churn, as in the table: started of the builds. */
    bool churn = s->life || s->ha_vms;

    double y = py + 14;

    fprintf(f, "<text x='%d' y='%.1f' font-size='14' font-weight='bold'>"
            "%s</text>\n", TEXT_X, y, ts_policy_name(x->policy));
    if ( x->error )
    {
        fprintf(f, "<text x='%d' y='%.1f' fill='%s'>error: ", TEXT_X,
                y + 18, MARK_MID);
        svg_text(f, x->message);
        fprintf(f, "</text>\n");
        return;
    }
    fprintf(f, "<text x='%d' y='%.1f'>started %u of %u %s</text>\n"
            "<text x='%d' y='%.1f'>%.1f GiB, %.1f%% of asked</text>\n"
            "<text x='%d' y='%.1f' fill='%s'>failed mid-build: %u</text>\n"
            "<text x='%d' y='%.1f' fill='#555'>(wasted %.1f GiB)</text>\n"
            "<text x='%d' y='%.1f'>failed fast: %u</text>\n"
            "<text x='%d' y='%.1f'>locality %.1f%%, distance %.2f</text>\n"
            "<text x='%d' y='%.1f' fill='#555'>last build %.2f s, p99 %.2f s"
            "</text>\n",
            TEXT_X, y + 20, x->started, churn ? x->builds : x->vms,
            churn ? "builds" : "VMs",
            TEXT_X, y + 36, gib(x->started_pages), 100 * storm_figure(x, 2),
            TEXT_X, y + 56, x->failed_build ? MARK_MID : "black",
            x->failed_build,
            TEXT_X, y + 72, gib(x->wasted_pages),
            TEXT_X, y + 88, x->failed_claim,
            TEXT_X, y + 108, 100 * x->locality, x->mean_distance,
            TEXT_X, y + 124, x->build_seconds, x->latency_p99);
}

/* Title, scenario and legend. */
static void header(FILE *f, const struct svg_host *g, bool marks)
{
    const struct storm_scenario *s = g->s;
    double lx = TEXT_X;

    char spec[64];

    /* A long spec (distances, a path) is cut; the tooltip has it all. */
    if ( strlen(s->host.spec) < sizeof(spec) - 20 )
        strcpy(spec, s->host.spec);
    else
    {
        memcpy(spec, s->host.spec, sizeof(spec) - 24);
        strcpy(spec + sizeof(spec) - 24, "...");
    }
    fprintf(f, "<text x='%d' y='22' font-size='16' font-weight='bold'>"
            "<title>", TEXT_X);
    svg_text(f, s->host.spec);
    fprintf(f, "</title>numaclaim storm: %u VMs on ", s->nr_vms);
    svg_text(f, spec);
    fprintf(f, " (%u nodes, %.0f GiB)</text>\n", s->host.nr_nodes,
            gib(g->total));
    fprintf(f, "<text x='%d' y='40' fill='#555'>%u builders, %s arrival, "
            "fill %u%%, seed %llu%s%s; time %s</text>\n", TEXT_X,
            s->builders, s->rate > 0 ? "poisson" : "burst", s->fill_pct,
            (unsigned long long)s->seed,
            s->nr_offline ? ", offline events" : "",
            s->balloon ? ", started VMs balloon 10% down and up" : "",
            s->threads || s->processes ? "wall-clock" : "simulated");
    for ( int l = 0; l < L_NR; l++ )
    {
        fprintf(f, "<rect x='%.0f' y='52' width='12' height='12' "
                "fill='%s' stroke='#333' stroke-width='0.5'/>\n<text "
                "x='%.0f' y='62'>%s</text>\n", lx, layer_fill[l], lx + 16,
                layer_name[l]);
        lx += 16 + 7.0 * strlen(layer_name[l]) + 14;
    }
    lx = TEXT_X;
    if ( marks )
    {
        fprintf(f, "<line x1='%.0f' y1='74' x2='%.0f' y2='82' stroke='%s'/>"
                "\n<text x='%.0f' y='82'>VM started</text>\n", lx + 5,
                lx + 5, MARK_STARTED, lx + 16);
        lx += 110;
        fprintf(f, "<circle cx='%.0f' cy='78' r='2.5' fill='none' "
                "stroke='%s'/>\n<text x='%.0f' y='82'>VM failed fast (no "
                "memory touched)</text>\n", lx + 5, MARK_FAST, lx + 16);
        lx += 260;
        fprintf(f, "<path d='M%.0f 82 l-4 -7 h8 z' fill='%s'/>\n<text "
                "x='%.0f' y='82'>VM failed mid-build</text>\n", lx + 5,
                MARK_MID, lx + 16);
        lx += 160;
    }
    fprintf(f, "<line x1='%.0f' y1='72' x2='%.0f' y2='84' stroke='black' "
            "stroke-width='1.5' stroke-dasharray='4 3'/>\n<text x='%.0f' "
            "y='82'>offline event</text>\n", lx + 5, lx + 5, lx + 16);
    fprintf(f, "<text x='%d' y='%d' font-weight='bold'>host memory "
            "(stacked)</text>\n", AREA_X, SVG_TOP - 12);
    fprintf(f, "<text x='%d' y='%d' font-weight='bold'>per node: used + "
            "claimed, share of the node</text>\n", HEAT_X - 40, SVG_TOP - 12);
    for ( int i = 0; i < 10; i++ )
        fprintf(f, "<rect x='%d' y='%d' width='14' height='10' fill='%s' "
                "stroke='#999' stroke-width='0.5'/>\n", SVG_W - 160 + 14 * i,
                70, heat_fill[i]);
    fprintf(f, "<text x='%d' y='66' font-size='10' text-anchor='middle'>0%%"
            "</text>\n<text x='%d' y='66' font-size='10' text-anchor='middle'>"
            "50%%</text>\n<text x='%d' y='66' font-size='10' "
            "text-anchor='middle'>100%%</text>\n", SVG_W - 160,
            SVG_W - 160 + 70, SVG_W - 20);
}

int storm_write_svg(const char *path, const struct storm_scenario *s,
                    const struct storm_result *r,
                    const struct storm_vms *vms, uint32_t nr, char *err,
                    size_t errlen)
{
    struct svg_host g = { .s = s };
    double h = SVG_TOP + nr * ROW_H + 10;
    FILE *f = fopen(path, "w");
    bool failed;

    if ( !f )
    {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    for ( uint32_t n = 0; n < s->host.nr_nodes; n++ )
        g.total += s->host.node_pages[n];
    for ( uint32_t i = 0; i < nr; i++ )
    {
        if ( r[i].build_seconds > g.tmax )
            g.tmax = r[i].build_seconds;
        if ( r[i].nr_samples &&
             r[i].sample[r[i].nr_samples - 1].time > g.tmax )
            g.tmax = r[i].sample[r[i].nr_samples - 1].time;
    }
    fprintf(f, "<?xml version='1.0' encoding='UTF-8'?>\n<svg "
            "xmlns='http://www.w3.org/2000/svg' width='%d' height='%.0f' "
            "viewBox='0 0 %d %.0f' font-family='sans-serif' font-size='12'>"
            "\n<title>numaclaim storm</title>\n", SVG_W, h, SVG_W, h);
    fprintf(f, "<rect width='100%%' height='100%%' fill='white'/>\n");
    header(f, &g, vms != NULL);
    for ( uint32_t i = 0; i < nr; i++ )
    {
        double py = SVG_TOP + i * ROW_H;

        if ( i )
            fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' "
                    "stroke='#ccc'/>\n", TEXT_X, py - 6, SVG_W - TEXT_X,
                    py - 6);
        fprintf(f, "<g class='policy'>\n");
        headline(f, s, &r[i], py);
        if ( !r[i].error && r[i].nr_samples )
        {
            if ( vms && vms[i].vm )
            {
                vm_marks(f, &g, &vms[i], STORM_VM_STARTED, py + 5);
                vm_marks(f, &g, &vms[i], STORM_VM_FAILED_CLAIM, py + 13);
                vm_marks(f, &g, &vms[i], STORM_VM_FAILED_BUILD, py + 21);
            }
            area_chart(f, &g, &r[i], py + STRIP_H);
            heat_map(f, &g, &r[i], py + STRIP_H);
        }
        fprintf(f, "</g>\n");
    }
    fprintf(f, "</svg>\n");
    failed = ferror(f) != 0;
    if ( fclose(f) || failed )
    {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
