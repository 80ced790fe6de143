/* SPDX-License-Identifier: MIT */
/*
 * The toolstack: host topologies, VM configs, placement policies, domain
 * builders and ballooning.  It is a real libxenctrl client: it reaches the
 * host only through xc_* calls (Debian's libxenctrl plus numaclaim's client
 * library, include/numaclaim/xc-claims.h), exactly as it would on a Xen
 * whose hypervisor has claim sets.  The one exception is ts_host_resolve(),
 * which turns a topology description into the host spec a simulated host is
 * created from (NUMACLAIM_HOST) before any xc_interface is opened.
 */
#ifndef NC_TOOLSTACK_H
#define NC_TOOLSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <numaclaim/xc-claims.h>

#define TS_MAX_NODES    64
#define TS_MAX_VNODES   32
#define TS_MAX_CPUS     4096     /* pCPUs of a host (NC_MAX_CPUS) */
/*
 * The longest host spec ts_host_resolve() writes, so that every host the
 * parser accepts fits (hosts.c asserts the bounds): 64 node sizes of at
 * most 14 characters (frames end below 2^52 bytes, so "4398046511103K")
 * and their commas; the full distance matrix, 4096 entries of at most 3
 * digits and a comma; and a CPU count per node (at most 4096), with a
 * comma each.  About 17 KiB.
 */
#define TS_SPEC_SIZE_CHARS  14
#define TS_SPEC_MAX (TS_MAX_NODES * (TS_SPEC_SIZE_CHARS + 1) +              \
                     sizeof(";dist=") + TS_MAX_NODES * TS_MAX_NODES * 4 +   \
                     sizeof(";cpus=") + TS_MAX_NODES * 5 + 1)

/* ========================================================================
 * Memory (alloc.c)
 * ======================================================================== */

/* Every allocation the toolstack itself makes: zeroed nr x size (NULL on
 * overflow), a string copy, and their release. */
void *ts_zalloc(size_t nr, size_t size);
char *ts_strdup(const char *s);
void ts_free(void *p);

/* For the fault suite, as nc_env_fail_alloc_after: the next n allocations
 * succeed, then one fails (TS_FAULT_ONCE) or every later one does
 * (TS_FAULT_PERSIST) until TS_FAULT_OFF.  With tracking on,
 * ts_alloc_count() counts the allocations made, ts_alloc_live() those not
 * yet freed and ts_alloc_failed() the failures injected. */
enum ts_fault { TS_FAULT_OFF, TS_FAULT_ONCE, TS_FAULT_PERSIST };
void ts_fail_alloc_after(long n, enum ts_fault mode);
void ts_alloc_track(bool on);
long ts_alloc_count(void);
long ts_alloc_live(void);
long ts_alloc_failed(void);

/* ========================================================================
 * Hosts (hosts.c)
 * ======================================================================== */

struct ts_host {
    uint32_t nr_nodes;
    uint64_t node_pages[TS_MAX_NODES];           /* 4 KiB pages */
    uint8_t distance[TS_MAX_NODES][TS_MAX_NODES];
    uint32_t node_cpus[TS_MAX_NODES];            /* pCPUs (hwloc PUs) */
    char spec[TS_SPEC_MAX];      /* the numaclaim host spec it amounts to */
    char source[256];            /* what it was made from, for reports */
};

/*
 * Resolve a host argument:
 *   - a host spec ("4x64G", "64G,64G;dist=10,21,21,10");
 *   - "hwloc:FILE.xml": an lstopo XML export (NUMA nodes, their memory,
 *     the NUMA distance matrix);
 *   - "local": this machine, through hwloc.
 * On error returns -1 with a message naming the problem in err.
 */
int ts_host_resolve(const char *arg, struct ts_host *host, char *err,
                    size_t errlen);

/* ========================================================================
 * Strict numbers and lists (parse.c), for every option and config field
 * ======================================================================== */

#define TS_NUM_SYNTAX   (-1)     /* not a number of the expected form */
#define TS_NUM_RANGE    (-2)     /* a number, outside its bounds */

/* A decimal prefix of s (digits only: no blank, sign or base prefix) that
 * is at most max, *end past its digits.  0, TS_NUM_SYNTAX or TS_NUM_RANGE;
 * it never wraps. */
int ts_parse_dec(const char *s, const char **end, uint64_t max, uint64_t *v);
/* The whole of s, a decimal number in [min, max]. */
int ts_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v);
/* The whole of s, a finite decimal fraction ("2.5", ".5", "1e-3") in
 * [min, max]; one that underflows ("1e-400") is out of range. */
int ts_parse_real(const char *s, double min, double max, double *v);

/* Strip blanks (spaces, tabs) at both ends, in place. */
char *ts_trim(char *s);

#define TS_SPLIT_NOMEM  (-2)
#define TS_SPLIT_EMPTY  (-3)     /* an empty item: "", "a,", "a,,b" */

/*
 * Call fn on each item of the sep-separated list s (a NUL-terminated
 * copy; blanks around it removed when blanks is true); the first nonzero
 * return (fn returns 0 or -1) stops the walk and is returned.  An empty
 * item is TS_SPLIT_EMPTY, never passed to fn.
 */
int ts_split(const char *s, char sep, bool blanks,
             int (*fn)(const char *item, void *arg), void *arg);

/* ========================================================================
 * VM configs (vmconfig.c)
 * ======================================================================== */

struct ts_vnode {
    uint64_t pages;              /* memory of this vnode */
    uint32_t pnode;              /* physical node, or TS_NO_NODE */
    uint32_t nr_vcpus;           /* vcpus of this vnode */
    uint32_t vcpu_first;         /* its vcpus are vcpu_first.. +nr_vcpus-1 */
    uint32_t vdistance[TS_MAX_VNODES];   /* to each vnode */
};
#define TS_NO_NODE 0xFFFFFFFFu

struct ts_vm {
    char name[64];
    uint64_t memory_pages;       /* memory= (MiB in the file) */
    uint64_t maxmem_pages;       /* maxmem=, defaults to memory */
    uint32_t vcpus;
    bool hvm;                    /* type = "hvm" (default) or "pvh" */
    uint64_t cpu_nodes;          /* nodes of cpus= ("nodes:0,1") */
    /* CPUs of cpus= ("0-3,5"), host CPU ids: which nodes they are on is
     * the host's to say (ts_vm_cpu_nodes).  Both empty: any node. */
    uint64_t cpu_map[TS_MAX_CPUS / 64];
    uint32_t nr_vnodes;          /* 0: no vNUMA */
    struct ts_vnode vnode[TS_MAX_VNODES];
};

/*
 * Read an xl.cfg file with Debian's libxlutil (name, memory, maxmem,
 * vcpus, vnuma, cpus, type).  A key that matters for placement but is not
 * supported is an error naming it, never silently dropped.  -1 and a
 * message in err on error.
 */
int ts_vm_load(const char *path, struct ts_vm *vm, char *err, size_t errlen);
/* The same from text in memory (source names it in messages). */
int ts_vm_parse(const char *text, const char *source, struct ts_vm *vm,
                char *err, size_t errlen);
/*
 * Whether a VM's config fits a host of nr_nodes nodes with node_cpus[n]
 * pCPUs on node n: cpus= and vnuma pnodes name only nodes and CPUs it has.
 * -1 and why (naming the key) if not; else the nodes cpus= allows
 * (ts_vm_cpu_nodes) in *cpu_nodes, if not NULL.
 */
int ts_vm_check_host(const struct ts_vm *vm, uint32_t nr_nodes,
                     const uint32_t *node_cpus, uint64_t *cpu_nodes,
                     char *why, size_t whylen);
/*
 * The nodes a VM's cpus= allows on such a host (0: any), its CPU ids
 * mapped as Xen numbers them, node by node (node 0's CPUs first).  -1 and
 * why, as ts_vm_check_host, if it names a node or CPU the host lacks.
 */
int ts_vm_cpu_nodes(const struct ts_vm *vm, uint32_t nr_nodes,
                    const uint32_t *node_cpus, uint64_t *nodes, char *why,
                    size_t whylen);

/* ========================================================================
 * Placement policies (placement.c)
 * ======================================================================== */

enum ts_policy {
    TS_POLICY_NONE,       /* no claims; libxl-like placement on free memory */
    TS_POLICY_HOST,       /* the same plus a legacy host-wide claim */
    TS_POLICY_XAPI,       /* xapi's best effort: one-node claim or host-wide */
    TS_POLICY_CLAIMSETS,  /* one atomic claim set over the nearest nodes */
    TS_NR_POLICIES
};

const char *ts_policy_name(enum ts_policy p);
/* -1 for an unknown name. */
int ts_policy_parse(const char *name, enum ts_policy *p);

/* The host as a placement policy sees it, read through libxenctrl. */
struct ts_view {
    uint32_t nr_nodes;
    uint64_t free[TS_MAX_NODES];         /* free pages */
    uint64_t claimed[TS_MAX_NODES];      /* claimed pages (0 on plain Xen) */
    uint8_t distance[TS_MAX_NODES][TS_MAX_NODES];
    uint32_t usage[TS_MAX_NODES];        /* placements made on each node */
    uint32_t cpus[TS_MAX_NODES];         /* pCPUs on each node */
    /* vCPU load: the vCPUs of the domains whose node affinity names the
     * node, as libxl counts them (nr_vcpus_on_nodes).  Domains with no
     * node affinity (dom0, builds not yet placed) would add the same to
     * every node, which changes no comparison, so they are left out. */
    uint32_t vcpu_load[TS_MAX_NODES];
    uint64_t size[TS_MAX_NODES];         /* pages present on each node */
    /* claimsets only: pages its plans leave unclaimed on each node (the
     * slack, ts_slack), and pages held for cpus= VMs not yet claimed
     * (ts_usage.reserved); both 0 unless the builder fills them in. */
    uint64_t slack[TS_MAX_NODES];
    uint64_t reserved[TS_MAX_NODES];
};

/*
 * claimsets' slack: what its plans leave unclaimed on the nodes they
 * choose, where an equally near node set can, so that a little offlining
 * does not recall a node claim the VM is still populating.  pct (percent
 * of the node's memory) if not 0, else pages.
 */
struct ts_slack {
    uint32_t pct;
    uint64_t pages;
};
/* The default of numaclaim storm (--claim-slack): 256 MiB a node, more
 * than the offline scenario takes from one node (192 MiB). */
#define TS_DEFAULT_SLACK_MIB 256

/* "N%" (0-50) or "N" MiB (at most 1 TiB); -1 if neither. */
int ts_slack_parse(const char *s, struct ts_slack *slack);
/* The slack's pages on a node of `pages` pages. */
uint64_t ts_slack_pages(const struct ts_slack *slack, uint64_t pages);

/* The builders' shared counters: placements (xapi's usage) and vCPU
 * load (libxl's), per node. */
struct ts_usage {
    uint32_t placed[TS_MAX_NODES];
    uint32_t vcpus[TS_MAX_NODES];
    /* claimsets: its slack, and the pages held on each node for cpus= VMs
     * that have arrived but not yet claimed (ts_usage_reserve), which
     * other VMs' plans avoid while they can go elsewhere. */
    struct ts_slack slack;
    uint64_t reserved[TS_MAX_NODES];
    /* The host's topology as the first plan read it: distances and pCPUs
     * per node, fixed while the host runs, so later plans read only its
     * memory (ts_view_read_memory).  topo_nodes is 0 until then. */
    uint32_t topo_nodes;
    uint32_t topo_cpus[TS_MAX_NODES];
    uint8_t topo_distance[TS_MAX_NODES][TS_MAX_NODES];
};

/*
 * Hold (add) or give back in u->reserved what a VM needs on given nodes:
 * a VM with vnodes, each pnode= vnode's pages on its node; else a cpus=
 * VM's memory divided evenly over its cpus= nodes, rounded up.  Giving
 * back never goes below 0.  Nothing for a VM with neither, or whose cpus=
 * does not fit the host (node_cpus[n]: pCPUs of node n).  The caller
 * holds the usage lock where builders share u.
 */
void ts_usage_reserve(struct ts_usage *u, const struct ts_vm *vm,
                      uint32_t nr_nodes, const uint32_t *node_cpus, bool add);

/* Fill v from xc_claim_overview, xc_numainfo and xc_cputopoinfo (usage
 * and vcpu_load left as they are). */
int ts_view_read(xc_interface *xch, struct ts_view *v);
/* Only what changes while the host runs, from xc_claim_overview:
 * nr_nodes and each node's free, claimed and size (distances and cpus
 * left as they are). */
int ts_view_read_memory(xc_interface *xch, struct ts_view *v);

enum ts_claim_kind {
    TS_CLAIM_NONE,        /* populate unprotected */
    TS_CLAIM_LEGACY,      /* XENMEM_claim_pages, an absolute target */
    TS_CLAIM_SET,         /* XEN_DOMCTL_claim_memory SET */
};

struct ts_plan_vnode {
    uint64_t pages;
    uint32_t pnode;              /* TS_NO_NODE: no node named */
    bool exact;                  /* populate with XENMEMF_exact_node(pnode) */
    uint32_t nr_vcpus, vcpu_first;
};

struct ts_plan {
    uint64_t node_affinity;      /* 0: leave the domain's default (all) */
    enum ts_claim_kind claim;
    uint32_t nr_claims;
    xen_memory_claim_t claims[TS_MAX_NODES + 1];
    bool vnuma;                  /* give the guest a vNUMA topology */
    uint32_t nr_vnodes;          /* >= 1 */
    struct ts_plan_vnode vnode[TS_MAX_VNODES];
    uint32_t vdistance[TS_MAX_VNODES][TS_MAX_VNODES];
};

/*
 * Plan a VM on a view of the host: a pure function, so a plan can be
 * tested on a fixed topology, and safe to call from several threads at
 * once.  The candidate node sets of the last topology planned on are kept
 * for the process as a memo, never changed once built and held by
 * reference while a plan reads them (placement.c): what a plan returns
 * depends on its arguments only.  -1 when the VM cannot be planned at all
 * (more vnodes than allowed, a pnode the host lacks; errno EINVAL) or
 * there was no memory to plan with (errno ENOMEM): why says so.
 */
int ts_plan(enum ts_policy p, const struct ts_view *v, const struct ts_vm *vm,
            struct ts_plan *plan, char *why, size_t whylen);

/* The claim a plan falls back to: one host-wide entry for the VM. */
void ts_plan_host_wide(const struct ts_vm *vm, struct ts_plan *plan);
/* Drop the process's node-set candidates (rebuilt on the next plan; plans
 * running meanwhile keep theirs until they end): for a leak check that
 * counts every allocation. */
void ts_plan_forget(void);

/* ========================================================================
 * Guest memory layout (layout.c)
 * ======================================================================== */

/* HVM guests: RAM below the MMIO hole [0xF0000000, 4 GiB), the rest above
 * 4 GiB.  A vnode whose memory straddles the hole gets two ranges. */
#define TS_MMIO_HOLE_START  0xF0000000ULL
#define TS_MMIO_HOLE_END    0x100000000ULL
#define TS_MAX_RANGES       (2 * TS_MAX_VNODES)

struct ts_range {
    uint64_t start, end;         /* guest physical bytes, [start, end) */
    uint32_t vnode;
};

struct ts_layout {
    uint32_t nr_ranges;
    struct ts_range range[TS_MAX_RANGES];
};

void ts_layout_plan(const struct ts_plan *plan, struct ts_layout *l);

/* ========================================================================
 * The domain builder (builder.c)
 * ======================================================================== */

enum ts_build_state {
    TS_BUILD_CREATE,
    TS_BUILD_PLAN,
    TS_BUILD_CLAIM,
    TS_BUILD_VNUMA,
    TS_BUILD_POPULATE,
    TS_BUILD_RELEASE,
    TS_BUILD_DONE,
    TS_BUILD_FAILED,
};

enum ts_outcome {
    TS_OUT_PENDING,
    TS_OUT_STARTED,
    TS_OUT_FAILED_CLAIM,         /* failed fast: nothing populated */
    TS_OUT_FAILED_BUILD,         /* failed mid-build: pages thrown away */
};

#define TS_REPLAN_TRIES 3
#define TS_MAX_MOVES    3        /* of one build's vnodes (builder.c) */

/*
 * One domain build, shaped like libxenguest's: create, max_mem, plan and
 * claim per policy, setvnumainfo, populate with 1 GiB extents falling back
 * to 2 MiB and 4 KiB, release the claims, or destroy the domain on
 * failure.  It advances one hypercall-sized step at a time, so that a
 * scheduler can interleave many builders deterministically.
 */
struct ts_build {
    /* in */
    const struct ts_vm *vm;
    enum ts_policy policy;
    struct ts_usage *usage;      /* shared placement counters, or NULL */
    void (*usage_lock)(void *arg, bool lock);
    void *usage_arg;

    /* progress */
    enum ts_build_state state;
    uint32_t domid;
    struct ts_view view;
    struct ts_plan plan;
    struct ts_layout layout;
    uint32_t replans;
    uint32_t range;              /* populating layout.range[range] */
    uint64_t next;               /* next gpfn to populate in it */
    uint32_t order;              /* extent order being tried */
    uint64_t node_base[TS_MAX_NODES];   /* node pages before this vnode */
    uint64_t counted;            /* nodes whose vCPU load has this VM */

    /* out */
    enum ts_outcome outcome;
    int error;                   /* errno of the failure */
    char what[160];              /* the step that failed, and why */
    enum ts_claim_kind claimed;  /* the claim actually staked */
    uint64_t populated;          /* pages populated (so far, or at failure) */
    uint64_t step_pages;         /* pages the last step populated */
    uint64_t extents[3];         /* extents done: 4 KiB, 2 MiB, 1 GiB */
    uint64_t recalled;           /* of a failed build's claim, the pages
                                  * offlining recalled (read before its
                                  * domain was destroyed) */
    uint32_t nr_steps;
    uint32_t moves;              /* claimsets: vnodes moved to another node
                                  * after losing their node claim */
    uint64_t vnode_pages[TS_MAX_VNODES][TS_MAX_NODES];  /* where it landed */
};

void ts_build_init(struct ts_build *b, const struct ts_vm *vm,
                   enum ts_policy policy);
/* One step; true while there is more to do. */
bool ts_build_step(struct ts_build *b, xc_interface *xch);
/* Run to the end. */
void ts_build_run(struct ts_build *b, xc_interface *xch);

/* ========================================================================
 * Parallel builders (pool.c)
 * ======================================================================== */

/* A ts_build usage_lock for a pthread_mutex_t passed as its argument. */
void ts_usage_lock_mutex(void *mutex, bool lock);

/* Build vms[0..nr) with `threads` threads, each with its own xc_interface;
 * results[i] is VM i's finished build.  0, or -1 if a thread could not
 * open libxenctrl. */
int ts_pool_build(const struct ts_vm *vms, uint32_t nr, enum ts_policy policy,
                  uint32_t threads, struct ts_build *results);

/* ========================================================================
 * NUMA-aware ballooning (balloon.c)
 * ======================================================================== */

struct ts_balloon {
    uint32_t nr;                 /* gpfn runs given back */
    struct {
        uint64_t gpfn, nr;
    } run[TS_MAX_RANGES];
};

/* Give back `pages` of a built domain, taken evenly from the top of each
 * of its ranges (decrease_reservation), recording them in bl. */
int ts_balloon_down(xc_interface *xch, const struct ts_build *b,
                    uint64_t pages, struct ts_balloon *bl);
/* Take them back with populate_physmap and no node flag: with vNUMA the
 * implicit hint brings each page back to its vnode's node. */
int ts_balloon_up(xc_interface *xch, const struct ts_build *b,
                  const struct ts_balloon *bl);

#endif /* NC_TOOLSTACK_H */
