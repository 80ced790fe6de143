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
/* VMs of one storm.  At most STORM_MAX_GUESTS run at once; with VM
 * lifetimes a storm can build many more over time. */
#define STORM_MAX_VMS       10000000
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

/* How long a VM runs once built (--lifetime). */
enum storm_dist_kind {
    STORM_LIFE_FOREVER,          /* no lifetimes: VMs run to the end */
    STORM_LIFE_FIXED,            /* fixed:SECONDS */
    STORM_LIFE_EXP,              /* exp:MEAN, exponential */
    STORM_LIFE_UNIFORM,          /* uniform:A-B */
};
#define STORM_MAX_LIFETIME  1e9  /* seconds */

struct storm_dist {
    enum storm_dist_kind kind;
    double a, b;                 /* fixed: a; exp: mean a; uniform: [a, b] */
};

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
    struct storm_dist lifetime;  /* --lifetime */
    double reboot;               /* --reboot: share of ends that reboot */
    uint32_t ha_vms;             /* --ha-restart N@TIME: N more VMs... */
    double ha_time;              /* ...arriving together at TIME */

    /* derived: the VMs in arrival order.  VMs from the mix share one
     * config per mix entry (templates), VMs from --configs their file's:
     * vms[i] points at VM i's, and VM i is "vm<i>" in reports. */
    const struct ts_vm **vms;
    struct ts_vm *templates;
    double *arrival;
    double *life;                /* seconds VM i runs once built (INFINITY:
                                  * to the end); NULL without lifetimes */
    uint8_t *reboots;            /* times VM i reboots; NULL without */
};

/* One sample of the host over the storm. */
struct storm_sample {
    double time;
    uint64_t free[TS_MAX_NODES];
    uint64_t claimed[TS_MAX_NODES];
    /* Fragmentation as the builders saw it: of the pages populated so
     * far, how many came as 4 KiB, 2 MiB and 1 GiB extents. */
    uint64_t extent_pages[3];
    uint64_t dirty;              /* freed pages not yet scrubbed */
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
    /* Churn (--lifetime, --reboot, --ha-restart).  With reboots a VM is
     * built more than once: started and the failures count builds. */
    uint32_t builds;             /* builds run, reboots included */
    uint32_t shutdowns;          /* VMs shut down, their domains destroyed */
    uint32_t reboots;            /* shutdowns followed by a rebuild */
    uint32_t failed_domid;       /* creates refused: all guest domids used */
    uint32_t peak_guests;        /* guest domains at once, fill included */
    uint64_t scrubbed_pages;     /* dirty pages scrubbed when reused */
    double scrub_seconds;        /* builders' time spent scrubbing */
    /* The host when the run ended (every lifetime over, with churn). */
    uint64_t total_pages, end_free_pages, end_outstanding_pages;
    uint32_t end_guests;         /* guest domains left, fill included */
    uint32_t nr_samples;
    struct storm_sample sample[STORM_MAX_SAMPLES];
    int error;                   /* non-zero: the run itself failed */
    char message[160];
};

/* Fill in defaults (the default scenario is meaningful on its own). */
void storm_defaults(struct storm_scenario *s);
/* Parse "fixed:S", "exp:MEAN" or "uniform:A-B" (seconds); -1 and a
 * message on error, *d unchanged. */
int storm_parse_lifetime(struct storm_dist *d, const char *arg, char *err,
                         size_t errlen);
/* Parse "4G:4,8G:3" into s->mix; -1 and a message on error. */
int storm_parse_mix(struct storm_scenario *s, const char *arg, char *err,
                    size_t errlen);
/* The memory a run needs per VM for its result record. */
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
