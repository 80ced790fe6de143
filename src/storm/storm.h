/* SPDX-License-Identifier: MIT */
/*
 * The boot storm: many VMs built in parallel on one NUMA host, once per
 * placement policy, on the same arrival sequence.
 *
 * Each policy runs in a child process with a fresh simulated host (the
 * host of a process is created from NUMACLAIM_HOST at its first
 * xc_interface_open), so the policies cannot disturb one another.  By
 * default the builders are interleaved by a seeded discrete-event
 * scheduler over simulated time: a seed always gives the same report.
 * With threads, the same storm runs on real threads and wall-clock time.
 */
#ifndef NC_STORM_H
#define NC_STORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "toolstack.h"

#define STORM_MAX_MIX       16
#define STORM_MAX_EVENTS    16
#define STORM_MAX_SAMPLES   400
#define STORM_MAX_VMS       100000
#define STORM_MAX_WEIGHT    1000000    /* of one --mix size */
/* Poisson arrivals: at most 1e9/s, and at least 1e-6/s, so that the
 * arrival times of STORM_MAX_VMS VMs stay finite (and far below 1e300). */
#define STORM_MIN_RATE      1e-6
#define STORM_MAX_RATE      1e9

struct storm_mix {
    uint64_t pages;              /* VM size */
    uint32_t weight;
};

/* Guests that can run at once: Xen's domids 1 .. DOMID_FIRST_RESERVED - 1. */
#define STORM_MAX_GUESTS 32751U

struct storm_offline {
    uint64_t pages;              /* frames to offline */
    double time;                 /* at this simulated time (s) */
};

struct storm_scenario {
    struct ts_host host;
    uint32_t nr_vms;
    uint32_t nr_mix;
    struct storm_mix mix[STORM_MAX_MIX];
    uint32_t nr_configs;         /* VMs from xl.cfg files instead */
    struct ts_vm *configs;
    uint32_t fill_pct;           /* existing guests, uneven over nodes */
    uint32_t builders;
    uint32_t policies;           /* bit p: run policy p */
    double rate;                 /* arrivals per second; 0: burst */
    uint64_t seed;
    uint32_t nr_offline;
    struct storm_offline offline[STORM_MAX_EVENTS];
    bool balloon;                /* started VMs balloon 10% down and up */
    bool threads;                /* real threads, wall-clock time */
    bool processes;              /* builders as processes on a private
                                  * hostd per policy, wall-clock time */
    bool progress;               /* draw a progress bar on stderr */

    /* derived: the VMs in arrival order */
    struct ts_vm *vms;
    double *arrival;
};

/* One sample of the host over the storm. */
struct storm_sample {
    double time;
    uint64_t free[TS_MAX_NODES];
    uint64_t claimed[TS_MAX_NODES];
};

struct storm_result {
    enum ts_policy policy;
    uint32_t vms;
    uint32_t started;
    uint64_t started_pages;      /* memory of the VMs that started */
    uint32_t failed_claim;       /* failed fast, at claim time */
    uint32_t failed_build;       /* failed after populating */
    uint64_t wasted_pages;       /* populated, then thrown away */
    double locality;             /* expected share of node-local accesses */
    double mean_distance;        /* expected SLIT distance of an access */
    double single_node_share;    /* of VMs that fit a node, on one node */
    double build_seconds;        /* until the last build finished */
    uint32_t replans;            /* claim sets re-planned after a race */
    uint64_t recalled_pages;     /* claims recalled by offlining */
    uint32_t nr_samples;
    struct storm_sample sample[STORM_MAX_SAMPLES];
    int error;                   /* non-zero: the run itself failed */
    char message[160];
};

/* Fill in defaults (the default scenario is meaningful on its own). */
void storm_defaults(struct storm_scenario *s);
/* Parse "4G:4,8G:3" into s->mix; -1 and a message on error. */
int storm_parse_mix(struct storm_scenario *s, const char *arg, char *err,
                    size_t errlen);
/* The memory a run needs per VM (its config, arrival and build state). */
uint64_t storm_vm_bytes(void);
/* Generate the VMs and their arrival times from the seed; -1 and a
 * message when they would not fit in memory. */
int storm_prepare(struct storm_scenario *s, char *err, size_t errlen);
void storm_free(struct storm_scenario *s);

/* Run one policy in this process (whose host must still be fresh). */
void storm_run_policy(const struct storm_scenario *s, enum ts_policy p,
                      struct storm_result *r);

/* Run every selected policy, each in its own process.  results has room
 * for TS_NR_POLICIES; returns how many were filled, or -1. */
int storm_run(const struct storm_scenario *s, struct storm_result *results);

/* report.c */
void storm_print_table(FILE *f, const struct storm_scenario *s,
                       const struct storm_result *r, uint32_t nr);
int storm_write_json(const char *path, const struct storm_scenario *s,
                     const struct storm_result *r, uint32_t nr, char *err,
                     size_t errlen);
int storm_write_svg(const char *path, const struct storm_scenario *s,
                    const struct storm_result *r, uint32_t nr, char *err,
                    size_t errlen);

#endif /* NC_STORM_H */
