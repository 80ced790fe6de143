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
#define STORM_MAX_SEEDS     10000
/* Poisson arrivals: at most 1e9/s, and at least 1e-6/s, so that the
 * arrival times of STORM_MAX_VMS VMs stay finite (and far below 1e300). */
#define STORM_MIN_RATE      1e-6
#define STORM_MAX_RATE      1e9

/* A vNUMA guest's accesses to its other vnodes' memory: an assumption
 * (docs/storm.md says why, and what it rests on). */
#define STORM_DEFAULT_VNUMA_REMOTE 0.1

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
    bool heap_samples;           /* samples read the heap dump (heap.c):
                                  * free memory in 2 MiB blocks, offlined
                                  * frames; for --svg and --json only, as
                                  * a dump costs about 1 ms on 64 nodes */
    double vnuma_remote;         /* share of a vNUMA guest's accesses that
                                  * go to its other vnodes (locality.c) */
    struct storm_dist lifetime;  /* --lifetime */
    double reboot;               /* --reboot: share of ends that reboot */
    uint32_t ha_vms;             /* --ha-restart N@TIME: N more VMs... */
    double ha_time;              /* ...arriving together at TIME */
    struct ts_slack claim_slack; /* claimsets' slack per node */

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

/* One sample of the host over the storm.  The first (time 0) is taken
 * after the --fill guests started and before any storm VM. */
struct storm_sample {
    double time;
    uint64_t host_claimed;       /* host-wide claims (legacy, or a claim
                                  * set's host entry) */
    uint64_t free[TS_MAX_NODES];
    uint64_t claimed[TS_MAX_NODES];  /* node claims */
    /* Fragmentation as the builders saw it: of the pages populated so
     * far, how many came as 4 KiB, 2 MiB and 1 GiB extents. */
    uint64_t extent_pages[3];
    uint64_t dirty;              /* freed pages not yet scrubbed */
    /* From the heap dump (heap.c), STORM_HEAP_UNKNOWN where it could not
     * be read: free pages in blocks of 2 MiB or more, frames offlined. */
    uint64_t free_2m;
    uint64_t offlined;
};
#define STORM_HEAP_UNKNOWN UINT64_MAX

/* Read the host's free pages in blocks of at least 2 MiB and its offlined
 * frames from its 'H' debug-key dump (emptying the console ring); -1 if
 * the dump cannot be read whole. */
int storm_heap_read(xc_interface *xch, uint64_t *free_2m, uint64_t *offlined);

struct storm_result {
    enum ts_policy policy;
    uint32_t vms;
    uint32_t started;
    uint64_t started_pages;      /* memory of the VMs that started */
    uint32_t failed_claim;       /* failed fast, at claim time */
    uint32_t failed_build;       /* failed after populating */
    uint32_t failed_placement;   /* of failed_claim: before any claim
                                  * (create or plan refused) */
    uint64_t demand_pages;       /* memory all the storm's VMs asked for */
    double latency_p50;          /* arrival to running, started VMs (s) */
    double latency_p99;
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

/*
 * Per-VM results (vms.c): one compact record per VM, filled when its
 * build ends, and a pool of (node, pages) entries for where its memory
 * is.  Written with --vms-out as CSV or JSON lines (docs/storm.md).
 */
enum storm_vm_outcome {
    STORM_VM_UNFINISHED,         /* its builder died (--processes) */
    STORM_VM_STARTED,
    STORM_VM_FAILED_PLACEMENT,   /* create or plan refused: no claim made */
    STORM_VM_FAILED_CLAIM,       /* the claim (or what follows it before
                                  * populating) refused: nothing wasted */
    STORM_VM_FAILED_BUILD,       /* failed after populating */
    STORM_VM_FAILED_DOMID,       /* create refused: all guest domids used */
};

enum storm_vm_claim {
    STORM_VM_CLAIM_NONE,
    STORM_VM_CLAIM_LEGACY,       /* XENMEM_claim_pages */
    STORM_VM_CLAIM_HOST_WIDE,    /* a claim set of the one host entry */
    STORM_VM_CLAIM_SET,          /* a claim set naming nodes */
};

#define STORM_VM_NO_NODE 0xFFu

/* With reboots a VM is built more than once: its record is its last
 * build's. */
struct storm_vm_result {
    double asked;                /* its build asked for: arrival, reboot */
    double start, end;           /* its build, simulated (or wall) s */
    uint64_t populated;          /* pages populated (wasted if it failed) */
    uint64_t recalled;           /* of its claim, recalled by offlining */
    float locality, distance;    /* of a started VM (locality.c) */
    uint32_t vm;                 /* index in arrival order */
    uint32_t domid;
    uint32_t node_first;         /* its entries in storm_vms.node */
    int16_t error;               /* errno of a failure, else 0 */
    uint8_t nr_nodes;            /* nodes its memory is on (started) */
    uint8_t outcome;             /* enum storm_vm_outcome */
    uint8_t step;                /* enum ts_build_state that failed */
    uint8_t claim;               /* enum storm_vm_claim */
    uint8_t fail_node;           /* the node a failure is about, or
                                  * STORM_VM_NO_NODE */
    uint8_t replans, fallbacks;
    uint8_t node_room;           /* entries it owns from node_first */
};

/* A node entry: node in the top 8 bits, pages below. */
#define STORM_VM_NODE(e)   ((uint32_t)((e) >> 56))
#define STORM_VM_PAGES(e)  ((e) & ((1ULL << 56) - 1))

struct storm_vms {
    uint32_t nr;                 /* VMs, in arrival order */
    struct storm_vm_result *vm;
    uint64_t nr_node;
    uint64_t *node;
};

void storm_vms_free(struct storm_vms *v);
const char *storm_vm_outcome_name(enum storm_vm_outcome o);
const char *storm_vm_claim_name(enum storm_vm_claim c);
/* The nearest-rank percentile (0 < q <= 1) of x[0..nr), sorting x; 0 for
 * none. */
double storm_percentile(double *x, uint32_t nr, double q);

enum storm_vms_format { STORM_VMS_CSV, STORM_VMS_JSONL };
/* Open FILE for per-VM rows (the CSV header written); NULL and a message
 * on error. */
FILE *storm_vms_open(const char *path, enum storm_vms_format fmt, char *err,
                     size_t errlen);
/* One row per VM of each policy's run of this seed. */
int storm_vms_write(FILE *f, enum storm_vms_format fmt,
                    const struct storm_scenario *s, uint64_t seed,
                    const struct storm_result *r, const struct storm_vms *v,
                    uint32_t nr);

/*
 * The locality model (locality.c).  A guest without vNUMA spreads its
 * vCPUs evenly over the nodes of `affinity` (0: all) and touches its
 * memory uniformly.  A vNUMA guest's vCPUs run on their vnode's node (or,
 * with none, as a guest without vNUMA) and make a share `remote` of their
 * accesses to the other vnodes' memory (by size), the rest to their own
 * vnode's.  Both give the share of accesses that are node-local and their
 * mean SLIT distance, weighted by vCPUs.
 */
void storm_locality_flat(const struct ts_host *h, const uint64_t *pages,
                         uint64_t affinity, double *local, double *distance);
void storm_locality_vnuma(const struct ts_host *h, uint32_t nr_vnodes,
                          const uint32_t *pnode, const uint32_t *vcpus,
                          const uint64_t (*pages)[TS_MAX_NODES],
                          uint64_t affinity, double remote, double *local,
                          double *distance);

/*
 * Inside a run (sim.c, vms.c): the per-VM records live in one shared
 * mapping, so that builder processes (--processes) fill them too.
 */
struct storm_vm_log {
    struct storm_vm_result *vm;
    uint64_t *node;
    uint64_t *nr_node;           /* entries used, in the mapping */
    uint64_t cap;
    void *map;
    size_t size;
};
int storm_vm_log_open(struct storm_vm_log *l, uint32_t nr_vms,
                      uint32_t nr_nodes);
void storm_vm_log_close(struct storm_vm_log *l);
/* A build of VM i asked for at `asked` is about to start: its record
 * starts afresh (keeping the node entries it owns for reuse). */
void storm_vm_begin(struct storm_vm_log *l, uint32_t i, double asked);
/* One build step of VM r->vm, noting the step that failed and fallbacks
 * to a host-wide claim. */
bool storm_vm_step(struct storm_vm_result *r, struct ts_build *b,
                   xc_interface *xch);
/* The build of VM i has ended (after any balloon): fill its record.  lock
 * (if not NULL) serialises the node pool between builders. */
void storm_vm_end(struct storm_vm_log *l, uint32_t i,
                  const struct storm_scenario *s, const struct ts_build *b,
                  xc_interface *xch, double start, double end,
                  void (*lock)(void *arg, bool lock), void *arg);
/* Results between processes: all of n bytes, or -1. */
int storm_write_all(int fd, const void *p, size_t n);
int storm_read_all(int fd, void *p, size_t n);
/* Per-VM results over a pipe or file: at most max VMs accepted; v is
 * filled (free with storm_vms_free) or, if NULL, the data dropped. */
int storm_send_vms(int fd, const struct storm_vms *v);
int storm_recv_vms(int fd, uint32_t max, struct storm_vms *v);

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
/* x: the inputs of s, to prepare again (another seed or sweep value),
 * sharing s's configs; free with storm_free_prepared, which frees what
 * storm_prepare allocated and leaves the configs. */
void storm_copy_inputs(struct storm_scenario *x,
                       const struct storm_scenario *s);
void storm_free_prepared(struct storm_scenario *s);

/* Run one policy in this process (whose host must still be fresh). */
void storm_run_policy(const struct storm_scenario *s, enum ts_policy p,
                      struct storm_result *r);

/* Run every selected policy, each in its own process.  results has room
 * for TS_NR_POLICIES; returns how many were filled, or -1. */
int storm_run(const struct storm_scenario *s, struct storm_result *results);
/* The same, and each policy's per-VM results in vms[i] (if not NULL; free
 * them with storm_vms_free). */
int storm_run_vms(const struct storm_scenario *s, struct storm_result *results,
                  struct storm_vms *vms);

/*
 * Seeds (seeds.c): run the storm for seeds s->seed .. s->seed + nr - 1,
 * up to `jobs` seeds at once, each in its own process.  fn gets each
 * seed's results in seed order (vms NULL unless want_vms); a nonzero
 * return stops the run.  0, or -1 with errno.  It waits for any child
 * (waitpid(-1)), so the caller must have no other children running.
 */
typedef int storm_seed_fn(void *arg, uint64_t seed,
                          const struct storm_result *r,
                          const struct storm_vms *vms, uint32_t nr);
int storm_run_seeds(const struct storm_scenario *s, uint32_t nr, uint32_t jobs,
                    bool want_vms, bool progress, storm_seed_fn *fn,
                    void *arg);
/* The same over several scenarios (a sweep): every scenario's nr_seeds
 * seeds from its own s->seed, scenario by scenario, fn told which. */
typedef int storm_pool_fn(void *arg, uint32_t scenario, uint64_t seed,
                          const struct storm_result *r,
                          const struct storm_vms *vms, uint32_t nr);
int storm_run_pool(const struct storm_scenario *const *sc, uint32_t nr_sc,
                   uint32_t nr_seeds, uint32_t jobs, bool want_vms,
                   bool progress, storm_pool_fn *fn, void *arg);

/* A 95% confidence interval for the mean of x[0..n): Student t with n-1
 * degrees of freedom, half = t * sd / sqrt(n) (0 for n < 2). */
struct storm_ci {
    double mean, sd, half;
};
void storm_ci95(const double *x, uint32_t n, struct storm_ci *ci);
/* The two-sided 95% quantile of Student's t with df degrees of freedom. */
double storm_t975(uint32_t df);

/* The figures a report gives per policy, for seeds and sweeps. */
#define STORM_NR_FIGURES 13
const char *storm_figure_key(uint32_t i);
double storm_figure(const struct storm_result *r, uint32_t i);
/* 4 significant digits, for JSON. */
double storm_round(double x);

/* report.c */
void storm_print_table(FILE *f, const struct storm_scenario *s,
                       const struct storm_result *r, uint32_t nr);
int storm_write_json(const char *path, const struct storm_scenario *s,
                     const struct storm_result *r, uint32_t nr, char *err,
                     size_t errlen);
/* What the table's columns mean. */
void storm_print_legend(FILE *f, const struct storm_scenario *s);
/* Reports over seeds: fig[p][f][k] is figure f of policy p in seed k. */
struct storm_seeds_report {
    uint32_t nr_seeds, nr;
    enum ts_policy policy[TS_NR_POLICIES];
    double *fig[TS_NR_POLICIES][STORM_NR_FIGURES];
    char error[TS_NR_POLICIES][160];     /* the first seed that failed */
};
/* Seed number k (from 0) of the report, with its results r[0..nr). */
void storm_seeds_report_add(struct storm_seeds_report *sr, uint32_t k,
                            uint64_t seed, const struct storm_result *r,
                            uint32_t nr);
void storm_print_seeds_table(FILE *f, const struct storm_scenario *s,
                             const struct storm_seeds_report *sr);
int storm_write_seeds_json(const char *path, const struct storm_scenario *s,
                           const struct storm_seeds_report *sr, char *err,
                           size_t errlen);
/*
 * Sweeps (sweep.c): copies of a base scenario with one parameter set to
 * each of a list of values ("builders=1,2,4,8", "fill=0,40,90",
 * "host=SPEC|SPEC", "mix=MIX|MIX": host specs and mixes have commas of
 * their own), each run for nr_seeds seeds through the pool.
 */
#define STORM_MAX_SWEEP 64
enum storm_vary {
    STORM_VARY_BUILDERS, STORM_VARY_FILL, STORM_VARY_HOST, STORM_VARY_MIX,
};
struct storm_sweep {
    const struct storm_scenario *base;
    enum storm_vary param;
    uint32_t nr, nr_seeds;
    char *value[STORM_MAX_SWEEP];
    struct storm_scenario sc[STORM_MAX_SWEEP];
    struct storm_seeds_report rep[STORM_MAX_SWEEP];
};
/* -1 and a message (without the option's name) on error. */
int storm_sweep_parse(const struct storm_scenario *base, const char *arg,
                      struct storm_sweep *sw, char *err, size_t errlen);
const char *storm_sweep_param(const struct storm_sweep *sw);
int storm_sweep_run(struct storm_sweep *sw, uint32_t nr_seeds, uint32_t jobs,
                    bool progress);
void storm_print_sweep_table(FILE *f, const struct storm_sweep *sw);
/* The reference policy of a point: claimsets if it ran, else the last. */
uint32_t storm_sweep_reference(const struct storm_seeds_report *sr);
/* Figure f of policy p minus the reference's, paired seed by seed. */
void storm_sweep_delta(const struct storm_seeds_report *sr, uint32_t p,
                       uint32_t f, struct storm_ci *ci);
/* The figures the sweep's table and picture show, and how. */
#define STORM_SWEEP_NR_SHOWN 5
struct storm_sweep_shown {
    uint32_t figure;             /* storm_figure() index */
    const char *label;
    double scale;                /* shown = scale * figure */
    int decimals;
};
extern const struct storm_sweep_shown storm_sweep_shown[STORM_SWEEP_NR_SHOWN];
/* The sweep's picture: per shown figure, each policy over the values and
 * its difference from the reference, with 95% intervals (svg.c). */
int storm_write_sweep_svg(const char *path, const struct storm_sweep *sw,
                          char *err, size_t errlen);
int storm_write_sweep_json(const char *path, const struct storm_sweep *sw,
                           char *err, size_t errlen);
void storm_sweep_free(struct storm_sweep *sw);

struct json_t;
/* Write root (consumed) to path as the reports do. */
int storm_dump_json(struct json_t *root, const char *path, char *err,
                    size_t errlen);

/* The picture (docs/storm.md says what it shows); vms (NULL: no failure
 * marks) are each policy's per-VM results. */
int storm_write_svg(const char *path, const struct storm_scenario *s,
                    const struct storm_result *r,
                    const struct storm_vms *vms, uint32_t nr, char *err,
                    size_t errlen);

#endif /* NC_STORM_H */
