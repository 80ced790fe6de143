/* SPDX-License-Identifier: MIT */
/*
 * The pictures, as SVG: the storm's (one row per policy: headline
 * figures, the host's memory stacked on a GiB axis, free memory against
 * free memory in blocks of 2 MiB or more, and a node x time heat map) and
 * the sweep's (each shown figure per policy over the swept values, and
 * its difference from the reference policy, with 95% intervals).
 * docs/storm.md describes every element.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "storm.h"

#define GIB (1ULL << 18)

static double gib(uint64_t pages)
{
    return (double)pages / GIB;
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
enum { L_FILL, L_STORM, L_OFF, L_NODE, L_HOST, L_FREE, L_NR };
static const char *const layer_fill[L_NR] = {
    "#9e9e9e", "#d95f02", "#252525", "#7570b3", "#e7298a", "#e5f5e0",
};
static const char *const layer_name[L_NR] = {
    "guests before the storm (--fill)", "storm VMs", "offlined frames",
    "node claims", "host-wide claims", "free, unclaimed",
};
/* The free-memory panel under the headline figures. */
#define FRAG_X      52
#define FRAG_W      190
#define FRAG_Y      158          /* from the row's top */
#define FRAG_H      38
#define FRAG_LINE   "#00441b"    /* free in blocks of 2 MiB or more */
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

/* End the document and close it; -1 and a message if any write failed. */
static int svg_close(FILE *f, const char *path, char *err, size_t errlen)
{
    bool failed;

    fprintf(f, "</svg>\n");
    failed = ferror(f) != 0;
    if ( fclose(f) || failed )
    {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
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
    uint64_t used = 0, before = 0, claimed = 0, off;

    for ( uint32_t n = 0; n < g->s->host.nr_nodes; n++ )
    {
        uint64_t size = g->s->host.node_pages[n];

        used += size > sm->free[n] ? size - sm->free[n] : 0;
        before += size > s0->free[n] ? size - s0->free[n] : 0;
        claimed += sm->claimed[n];
    }
    /* Offlined frames are neither free nor any guest's; frames offlined
     * while a guest owned them stay its until it frees them (spec §7). */
    off = sm->offlined == STORM_HEAP_UNKNOWN ? 0 : sm->offlined;
    off = off < used ? off : used;
    top[L_STORM] = used - off;
    top[L_FILL] = before < top[L_STORM] ? before : top[L_STORM];
    top[L_OFF] = used;
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

/*
 * Free memory over time, under the headline figures: all of it (area) and
 * the part in free blocks of 2 MiB or more (line), on a GiB axis.  The gap
 * between them is the fragmentation that makes builders fall back to
 * smaller extents.  Samples without a heap dump leave the line broken.
 */
static void free_panel(FILE *f, const struct svg_host *g,
                       const struct storm_result *x, double py)
{
    double y0 = py + FRAG_Y, max = 0, step, top;
    bool pen = false, any = false;

    for ( uint32_t k = 0; k < x->nr_samples; k++ )
    {
        double free = 0;

        for ( uint32_t n = 0; n < g->s->host.nr_nodes; n++ )
            free += gib(x->sample[k].free[n]);
        max = fmax(max, free);
    }
    step = nice_step(max, 2);
    top = max > 0 ? ceil(max / step - 1e-9) * step : 1;
    fprintf(f, "<text class='free-panel' x='%d' y='%.1f' font-size='10' "
            "fill='#555'>free GiB, and in blocks &#8805; 2 MiB</text>\n",
            FRAG_X, y0 - 6);
    for ( double v = 0; v <= top * (1 + 1e-9); v += top )
    {
        double yy = y0 + FRAG_H - v / top * FRAG_H;

        fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' "
                "stroke='#333'/>\n<text x='%d' y='%.1f' font-size='9' "
                "text-anchor='end'>%g</text>\n", FRAG_X - 3, yy, FRAG_X, yy,
                FRAG_X - 5, yy + 3, v);
    }
    /* All free memory, as the free layer of the area chart. */
    fprintf(f, "<path class='free-all' fill='%s' stroke='#74c476' "
            "stroke-width='0.5' d='M%d %.1f", layer_fill[L_FREE], FRAG_X,
            y0 + FRAG_H);
    for ( uint32_t k = 0; k < x->nr_samples; k++ )
    {
        double free = 0;

        for ( uint32_t n = 0; n < g->s->host.nr_nodes; n++ )
            free += gib(x->sample[k].free[n]);
        fprintf(f, " L%.1f %.1f", svg_x(g, FRAG_X, FRAG_W, x->sample[k].time),
                y0 + FRAG_H - free / top * FRAG_H);
    }
    fprintf(f, " L%.1f %.1f Z'/>\n",
            x->nr_samples ? svg_x(g, FRAG_X, FRAG_W,
                                  x->sample[x->nr_samples - 1].time)
                          : (double)FRAG_X, y0 + FRAG_H);
    fprintf(f, "<path class='free-2m' fill='none' stroke='%s' "
            "stroke-width='1.2' d='", FRAG_LINE);
    for ( uint32_t k = 0; k < x->nr_samples; k++ )
    {
        const struct storm_sample *sm = &x->sample[k];

        if ( sm->free_2m == STORM_HEAP_UNKNOWN )
        {
            pen = false;
            continue;
        }
        fprintf(f, "%s%.1f %.1f", pen ? " L" : any ? " M" : "M",
                svg_x(g, FRAG_X, FRAG_W, sm->time),
                y0 + FRAG_H - gib(sm->free_2m) / top * FRAG_H);
        pen = any = true;
    }
    fprintf(f, "%s'/>\n", any ? "" : "M0 0");
    fprintf(f, "<rect x='%d' y='%.1f' width='%d' height='%d' fill='none' "
            "stroke='#333'/>\n<text x='%d' y='%.1f' font-size='9' "
            "text-anchor='middle'>0</text>\n<text x='%d' y='%.1f' "
            "font-size='9' text-anchor='middle'>%.3g s</text>\n", FRAG_X, y0,
            FRAG_W, FRAG_H, FRAG_X, y0 + FRAG_H + 10, FRAG_X + FRAG_W,
            y0 + FRAG_H + 10, g->tmax);
    if ( !any )
        fprintf(f, "<text x='%d' y='%.1f' font-size='9' fill='#555'>no heap "
                "dump: blocks not known</text>\n", FRAG_X + 6,
                y0 + FRAG_H / 2.0);
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
        lx += 16 + 6.3 * strlen(layer_name[l]) + 10;
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
    lx += 110;
    fprintf(f, "<line x1='%.0f' y1='78' x2='%.0f' y2='78' stroke='%s' "
            "stroke-width='1.2'/>\n<text x='%.0f' y='82'>free in blocks "
            "&#8805; 2 MiB</text>\n", lx, lx + 12, FRAG_LINE, lx + 16);
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
            free_panel(f, &g, &r[i], py);
        }
        fprintf(f, "</g>\n");
    }
    return svg_close(f, path, err, errlen);
}

/* ========================================================================
 * The sweep's picture
 * ======================================================================== */

/*
 * Per shown figure a row of two panels over the swept values (evenly
 * spaced, in the order given): left, each policy's mean; right, its
 * difference from the reference policy, paired by seed.  With more than
 * one seed each point has its 95% interval as an error bar.
 */
#define SW_TOP      96           /* header: title, scenario, legend */
#define SW_PANEL_W  390
#define SW_PANEL_H  120
#define SW_ROW_H    (SW_PANEL_H + 56)
#define SW_X0       80
#define SW_X1       (SW_X0 + SW_PANEL_W + 110)

/* Each policy's colour, by enum ts_policy. */
static const char *const policy_colour[TS_NR_POLICIES] = {
    "#e41a1c", "#ff7f00", "#377eb8", "#4daf4a",
};

/* The value of policy p at point i of panel (figure k, delta or not). */
static bool sweep_point(const struct storm_sweep *sw, uint32_t i, uint32_t p,
                        uint32_t k, bool delta, struct storm_ci *ci)
{
    const struct storm_seeds_report *sr = &sw->rep[i];
    const struct storm_sweep_shown *fig = &storm_sweep_shown[k];

    if ( p >= sr->nr || sr->error[p][0] ||
         (delta && sr->error[storm_sweep_reference(sr)][0]) )
        return false;
    if ( delta )
        storm_sweep_delta(sr, p, fig->figure, ci);
    else
        storm_ci95(sr->fig[p][fig->figure], sr->nr_seeds, ci);
    ci->mean *= fig->scale;
    ci->half *= fig->scale;
    return true;
}

/* Point i of the sweep's nr along a panel at x0, policy p of nr_p set a
 * little aside so that intervals do not hide each other. */
static double sweep_x(uint32_t i, uint32_t nr, uint32_t p, uint32_t nr_p,
                      double x0)
{
    return x0 + (i + 0.5) * SW_PANEL_W / nr + 5.0 * (p - (nr_p - 1) / 2.0);
}

static void sweep_panel(FILE *f, const struct storm_sweep *sw, uint32_t k,
                        bool delta, double x0, double y0)
{
    const struct storm_seeds_report *r0 = &sw->rep[0];
    uint32_t nr_p = r0->nr, ref = storm_sweep_reference(r0);
    double lo = delta ? 0 : INFINITY, hi = delta ? 0 : -INFINITY, step;
    struct storm_ci ci;
    char label[64];

    for ( uint32_t i = 0; i < sw->nr; i++ )
        for ( uint32_t p = 0; p < nr_p; p++ )
            if ( sweep_point(sw, i, p, k, delta, &ci) )
            {
                lo = fmin(lo, ci.mean - ci.half);
                hi = fmax(hi, ci.mean + ci.half);
            }
    if ( !(lo <= hi) )
        lo = hi = 0;                 /* no point at all */
    if ( hi - lo < 1e-9 )
    {
        double pad = fabs(hi) > 1 ? fabs(hi) / 10 : 1;

        lo -= pad;
        hi += pad;
    }
    step = nice_step(hi - lo, 4);
    lo = floor(lo / step + 1e-9) * step;
    hi = ceil(hi / step - 1e-9) * step;
#define SW_Y(v) (y0 + SW_PANEL_H - ((v) - lo) / (hi - lo) * SW_PANEL_H)
    fprintf(f, "<g class='sweep-panel'>\n<text x='%.1f' y='%.1f' "
            "font-weight='bold'>", x0, y0 - 8);
    if ( delta )
    {
        snprintf(label, sizeof(label), "d %s: minus %s",
                 storm_sweep_shown[k].label,
                 nr_p ? ts_policy_name(r0->policy[ref]) : "-");
        svg_text(f, label);
    }
    else
        svg_text(f, storm_sweep_shown[k].label);
    fprintf(f, "</text>\n");
    for ( double v = lo; v <= hi + step * 1e-6; v += step )
    {
        /* -0 prints as 0. */
        double shown = fabs(v) < step * 1e-6 ? 0 : v;

        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' "
                "stroke='%s'/>\n<text x='%.1f' y='%.1f' font-size='10' "
                "text-anchor='end'>%g</text>\n", x0, SW_Y(v),
                x0 + SW_PANEL_W, SW_Y(v), shown == 0 && delta ? "#777"
                                                               : "#eee",
                x0 - 4, SW_Y(v) + 3, shown);
    }
    for ( uint32_t i = 0; i < sw->nr; i++ )
    {
        double xx = x0 + (i + 0.5) * SW_PANEL_W / sw->nr;
        /* A value's label in the room of its slot (host specs are long;
         * the tooltip has it all). */
        size_t room = (size_t)(SW_PANEL_W / sw->nr / 6.5);
        char cut[48];

        if ( room < 2 )
            room = 2;
        if ( room > sizeof(cut) - 1 )
            room = sizeof(cut) - 1;
        snprintf(cut, room + 1, "%s", sw->value[i]);
        if ( strlen(sw->value[i]) > room && room > 3 )
            strcpy(cut + room - 3, "...");
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' "
                "stroke='#333'/>\n<text class='value' x='%.1f' y='%.1f' "
                "font-size='10' text-anchor='middle'><title>", xx,
                y0 + SW_PANEL_H, xx, y0 + SW_PANEL_H + 4, xx,
                y0 + SW_PANEL_H + 15);
        svg_text(f, sw->value[i]);
        fprintf(f, "</title>");
        svg_text(f, cut);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='10' fill='#555' "
            "text-anchor='middle'>%s</text>\n", x0 + SW_PANEL_W / 2,
            y0 + SW_PANEL_H + 29, storm_sweep_param(sw));
    for ( uint32_t p = 0; p < nr_p; p++ )
    {
        const char *colour = policy_colour[r0->policy[p] % TS_NR_POLICIES];
        bool pen = false;

        if ( delta && p == ref )
            continue;                /* its difference is 0 by definition */
        fprintf(f, "<path class='series' fill='none' stroke='%s' "
                "stroke-width='1.5' d='", colour);
        for ( uint32_t i = 0; i < sw->nr; i++ )
        {
            if ( !sweep_point(sw, i, p, k, delta, &ci) )
            {
                pen = false;
                continue;
            }
            fprintf(f, "%s%.1f %.1f", pen ? " L" : i ? " M" : "M",
                    sweep_x(i, sw->nr, p, nr_p, x0), SW_Y(ci.mean));
            pen = true;
        }
        fprintf(f, "'/>\n");
        for ( uint32_t i = 0; i < sw->nr; i++ )
        {
            double xx = sweep_x(i, sw->nr, p, nr_p, x0);

            if ( !sweep_point(sw, i, p, k, delta, &ci) )
                continue;
            if ( sw->nr_seeds > 1 )
                fprintf(f, "<path class='ci' stroke='%s' fill='none' "
                        "d='M%.1f %.1f V%.1f M%.1f %.1f h6 M%.1f %.1f h6'/>\n",
                        colour, xx, SW_Y(ci.mean - ci.half),
                        SW_Y(ci.mean + ci.half), xx - 3,
                        SW_Y(ci.mean - ci.half), xx - 3,
                        SW_Y(ci.mean + ci.half));
            fprintf(f, "<circle class='point' cx='%.1f' cy='%.1f' r='2.5' "
                    "fill='%s'><title>%s, %s = ", xx, SW_Y(ci.mean), colour,
                    ts_policy_name(r0->policy[p]), storm_sweep_param(sw));
            svg_text(f, sw->value[i]);
            fprintf(f, ": %.*f", storm_sweep_shown[k].decimals, ci.mean);
            if ( sw->nr_seeds > 1 )
                fprintf(f, " &#177; %.*f", storm_sweep_shown[k].decimals,
                        ci.half);
            fprintf(f, "</title></circle>\n");
        }
    }
#undef SW_Y
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%d' height='%d' fill='none' "
            "stroke='#333'/>\n</g>\n", x0, y0, SW_PANEL_W, SW_PANEL_H);
}

int storm_write_sweep_svg(const char *path, const struct storm_sweep *sw,
                          char *err, size_t errlen)
{
    const struct storm_seeds_report *r0 = &sw->rep[0];
    double h = SW_TOP + STORM_SWEEP_NR_SHOWN * SW_ROW_H + 10, lx = TEXT_X;
    FILE *f = fopen(path, "w");

    if ( !f )
    {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "<?xml version='1.0' encoding='UTF-8'?>\n<svg "
            "xmlns='http://www.w3.org/2000/svg' width='%d' height='%.0f' "
            "viewBox='0 0 %d %.0f' font-family='sans-serif' font-size='12'>"
            "\n<title>numaclaim sweep</title>\n", SVG_W, h, SVG_W, h);
    fprintf(f, "<rect width='100%%' height='100%%' fill='white'/>\n");
    fprintf(f, "<text x='%d' y='22' font-size='16' font-weight='bold'>"
            "numaclaim sweep of %s over %u values</text>\n", TEXT_X,
            storm_sweep_param(sw), sw->nr);
    fprintf(f, "<text x='%d' y='40' fill='#555'>%u VMs, %u seed%s from %llu "
            "each (the same seed gives every policy the same VMs)%s</text>\n",
            TEXT_X, sw->base->nr_vms, sw->nr_seeds,
            sw->nr_seeds == 1 ? "" : "s",
            (unsigned long long)sw->base->seed,
            sw->nr_seeds > 1 ? "; bars: 95% interval (Student t; paired by "
                               "seed for the differences)" : "");
    for ( uint32_t p = 0; p < r0->nr; p++ )
    {
        const char *name = ts_policy_name(r0->policy[p]);

        const char *colour = policy_colour[r0->policy[p] % TS_NR_POLICIES];

        fprintf(f, "<line x1='%.0f' y1='58' x2='%.0f' y2='58' stroke='%s' "
                "stroke-width='2'/>\n<circle cx='%.0f' cy='58' r='2.5' "
                "fill='%s'/>\n<text class='legend' x='%.0f' y='62'>%s"
                "</text>\n", lx, lx + 18, colour, lx + 9, colour, lx + 24,
                name);
        lx += 24 + 7.0 * strlen(name) + 18;
    }
    fprintf(f, "<text x='%d' y='80' fill='#555'>left: each policy's mean; "
            "right: its difference from %s (the table's d)</text>\n", TEXT_X,
            r0->nr ? ts_policy_name(r0->policy[storm_sweep_reference(r0)])
                   : "-");
    for ( uint32_t k = 0; k < STORM_SWEEP_NR_SHOWN; k++ )
    {
        double y0 = SW_TOP + 24 + k * SW_ROW_H;

        sweep_panel(f, sw, k, false, SW_X0, y0);
        sweep_panel(f, sw, k, true, SW_X1, y0);
    }
    return svg_close(f, path, err, errlen);
}
