/* SPDX-License-Identifier: MIT */
/*
 * numaclaim core API: the hypervisor-side memory subsystem.
 *
 * A host is a set of NUMA nodes whose 4 KiB frames live in one binary
 * buddy heap per node.  Domains own pages through a p2m and may hold claims:
 * page *capacity* reserved ahead of allocation, either host-wide or pinned to
 * a node.  The normative semantics are docs/spec.md in this repository;
 * "spec §N" in the comments of the core and the tests means its section N.
 *
 * Conventions:
 *  - every function returns 0 (or a count) on success and a negative errno
 *    value on failure; a failing call changes nothing;
 *  - page counts are uint64_t; an MFN is a frame number (address >> 12);
 *  - `caller` is the domid of the domain making the request: privileged
 *    operations need NC_DOMID_CONTROL (domain 0), which exists from start-up
 *    and owns no pages;
 *  - every entry point is thread-safe.
 */
#ifndef NUMACLAIM_CORE_H
#define NUMACLAIM_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NC_PAGE_SHIFT       12
#define NC_PAGE_SIZE        (1ULL << NC_PAGE_SHIFT)
#define NC_MAX_VCPUS        4096     /* most max_vcpus a domain may have */
#define NC_MAX_NUMNODES     64      /* MAX_NUMNODES */
#define NC_MAX_ORDER        18      /* 2^18 pages = 1 GiB */
#define NC_NUMA_NO_NODE     0xFFu
#define NC_NO_DISTANCE      255     /* SLIT 0xFF: unreachable (NUMA_NO_DISTANCE) */
#define NC_MAX_RANGES       8       /* MFN ranges per node (holes between) */
#define NC_PADDR_BITS       52
#define NC_NR_ZONES         (NC_PADDR_BITS - NC_PAGE_SHIFT + 1)
#define NC_MAX_MFN          (1ULL << (NC_PADDR_BITS - NC_PAGE_SHIFT))
#define NC_MAX_CPUS         4096    /* pCPUs of a host: one dom0 vCPU each */
#define NC_DEFAULT_NODE_CPUS 8      /* pCPUs per node when a spec names none */

typedef uint16_t nc_domid_t;

#define NC_DOMID_CONTROL        ((nc_domid_t)0)
#define NC_DOMID_FIRST_RESERVED ((nc_domid_t)0x7FF0)  /* DOMID_FIRST_RESERVED */
#define NC_DOMID_XEN            ((nc_domid_t)0x7FF2)  /* DOMID_XEN: no owner */
#define NC_DOMID_ANY            ((nc_domid_t)0x7FF4)  /* DOMID_INVALID: pick */

/* ------------------------------------------------------------------------
 * Host
 * ------------------------------------------------------------------------ */

struct nc_range {
    uint64_t start;              /* first MFN */
    uint64_t nr;                 /* number of frames */
};

struct nc_node_config {
    bool online;
    uint32_t nr_ranges;
    struct nc_range range[NC_MAX_RANGES];
};

struct nc_host_config {
    uint32_t nr_nodes;
    struct nc_node_config node[NC_MAX_NUMNODES];
    uint8_t distance[NC_MAX_NUMNODES][NC_MAX_NUMNODES];   /* SLIT units */
    /* pCPUs of each node, numbered node by node (node 0's first).  All 0
     * means NC_DEFAULT_NODE_CPUS on every node; otherwise a node may have
     * none (an HBM or CXL node), but the host needs one. */
    uint32_t cpus[NC_MAX_NUMNODES];
};

/* A host spec ("4x64G;cpus=16") becomes such a config in hosted code:
 * nc_host_config_parse, src/hostspec/hostspec.h. */

struct nc_host;

/* Build a host with every present frame free.  -EINVAL for a bad config
 * (overlapping ranges, unaligned sizes, a bad distance matrix), -ENOMEM if
 * the metadata cannot be allocated. */
int nc_host_create(const struct nc_host_config *cfg, struct nc_host **hostp);
void nc_host_destroy(struct nc_host *h);

struct nc_host_info {
    uint32_t nr_nodes;
    uint64_t total_pages;        /* frames present on online nodes */
    uint64_t total_avail;        /* free frames */
    uint64_t outstanding_claims; /* sum of all claims */
    uint64_t offlined_pages;     /* offlined or broken */
    uint32_t nr_domains;         /* excluding the control domain */
    uint32_t nr_cpus;            /* pCPUs, ids 0..nr_cpus-1 */
    uint64_t max_mfn;            /* highest MFN of any node's RAM */
};

struct nc_node_info {
    bool online;
    uint64_t size;               /* frames present */
    uint64_t free;               /* node_avail */
    uint64_t claimed;            /* node_claimed */
    uint32_t cpus;               /* pCPUs on this node */
    uint32_t first_cpu;          /* id of the first of them */
};

/* Host overview (spec §4): host totals plus, for nodes 0..nr-1, {size,
 * free, claimed}, all read in one critical section.  nodes may be NULL. */
int nc_host_overview(struct nc_host *h, struct nc_host_info *info,
                     struct nc_node_info *nodes, uint32_t nr);

/* XEN_SYSCTL_availheap: free frames of one node (or of all, node == -1)
 * in the zones that the address widths [min_width, max_width] select, as
 * Xen's avail_domheap_pages_region(): width 0 means no limit, widths are
 * clamped to the valid zones, and a node that is not online counts 0.
 * Claims are not subtracted (this is the heap, not what is unclaimed). */
uint64_t nc_host_avail_heap(struct nc_host *h, int32_t node,
                            uint32_t min_width, uint32_t max_width);

/* XENMEM_machine_memory_map: the RAM of the online nodes as runs of MFNs,
 * runs that touch merged.  Writes up to cap runs and returns how many
 * there are. */
uint32_t nc_host_memory_map(const struct nc_host *h, struct nc_range *out,
                            uint32_t cap);

/* XENMEM_maximum_ram_page: one past the highest MFN of RAM (Xen's
 * max_page). */
uint64_t nc_host_max_page(const struct nc_host *h);

/* Nodes of the host, online or not, numbered from 0 (constant). */
uint32_t nc_host_nr_nodes(const struct nc_host *h);

/* SLIT distance between two nodes (0 for a node that does not exist). */
uint8_t nc_host_distance(const struct nc_host *h, uint32_t a, uint32_t b);

/* Node holding an MFN, or NC_NUMA_NO_NODE. */
uint32_t nc_host_mfn_node(const struct nc_host *h, uint64_t mfn);

/* ------------------------------------------------------------------------
 * Domains (spec §8)
 * ------------------------------------------------------------------------ */

struct nc_domain_config {
    nc_domid_t domid;            /* NC_DOMID_ANY: lowest free domid >= 1 */
    uint32_t max_vcpus;
};

int nc_domain_create(struct nc_host *h, nc_domid_t caller,
                     const struct nc_domain_config *cfg, nc_domid_t *domidp);

/* Start tearing a domain down: it becomes dying, its claims are released,
 * then every page is freed.  The domain stays visible (dying, -ESRCH or
 * -EINVAL to most calls) until nc_domain_destroy reaps it. */
int nc_domain_kill(struct nc_host *h, nc_domid_t caller, nc_domid_t domid);

/* Kill (if not yet) and reap: the domid becomes reusable. */
int nc_domain_destroy(struct nc_host *h, nc_domid_t caller, nc_domid_t domid);

struct nc_domain_info {
    nc_domid_t domid;
    bool dying;
    uint32_t max_vcpus;
    uint64_t tot_pages;
    uint64_t max_pages;
    uint64_t outstanding;        /* host_claim + sum of node claims */
    uint64_t host_claim;
    uint64_t recalled;           /* claim pages recalled by offlining */
    uint64_t node_affinity;      /* bit n = node n */
    uint32_t last_alloc_node;
    uint32_t nr_p2m_extents;     /* entries in the p2m */
    uint32_t pause_count;        /* controller pauses (1 at creation) */
    uint64_t unmapped_pages;     /* owned, not in the p2m (in tot_pages) */
};

/* -ESRCH for an unknown domain. */
int nc_domain_getinfo(struct nc_host *h, nc_domid_t domid,
                      struct nc_domain_info *info);

/* The lowest existing domid >= from (the control domain included), or
 * NC_DOMID_FIRST_RESERVED if there is none: for iterating domains. */
uint32_t nc_domain_next(struct nc_host *h, uint32_t from);

/* Pages the domain owns on each node (nr entries of out are written). */
int nc_domain_node_pages(struct nc_host *h, nc_domid_t domid,
                         uint64_t *out, uint32_t nr);

/* XEN_DOMCTL_max_mem: lowering it deducts claims until I6 holds (host-wide
 * first, then nodes by descending id). */
int nc_domain_set_max_pages(struct nc_host *h, nc_domid_t caller,
                            nc_domid_t domid, uint64_t max_pages);

/* XEN_DOMCTL_pausedomain / unpausedomain: the controller's pause count,
 * as in Xen.  A domain starts with a count of 1 (paused until the
 * toolstack unpauses it once); pausing past 255 is -EOVERFLOW, unpausing
 * at 0 is -EINVAL; the control domain cannot pause itself (-EINVAL). */
int nc_domain_pause(struct nc_host *h, nc_domid_t caller, nc_domid_t domid);
int nc_domain_unpause(struct nc_host *h, nc_domid_t caller, nc_domid_t domid);

/* XEN_DOMCTL_setnodeaffinity: -EINVAL if mask has no online node. */
int nc_domain_set_node_affinity(struct nc_host *h, nc_domid_t caller,
                                nc_domid_t domid, uint64_t mask);

/* Look a gpfn up: its MFN, or -ENOENT when not populated. */
int nc_domain_translate(struct nc_host *h, nc_domid_t domid, uint64_t gpfn,
                        uint64_t *mfnp);

/* ------------------------------------------------------------------------
 * Claims (spec §3, §4)
 * ------------------------------------------------------------------------ */

/* One claim-set entry; same layout as the ABI's struct xen_memory_claim. */
struct nc_claim {
    uint64_t pages;
    uint32_t target;             /* node id, or NC_CLAIM_HOST */
    uint32_t pad;                /* must be 0 */
};

#define NC_CLAIM_HOST           0x80000000U  /* host-wide (unpinned) */
/* The target's selector bits: a target with any of them set other than
 * exactly NC_CLAIM_HOST is refused with -EINVAL (a node id out of range
 * is -ENOENT). */
#define NC_CLAIM_SELECTOR_MASK  0xC0000000U
#define NC_CLAIM_MEMORY_SET     0U
#define NC_CLAIM_MEMORY_GET     1U
#define NC_CLAIM_MAX_ENTRIES    (NC_MAX_NUMNODES + 1)

/* XENMEM_claim_pages: `target` is an absolute total-pages target; 0
 * releases every claim (spec §3). */
int nc_claim_pages(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                   uint64_t target);

/* XEN_DOMCTL_claim_memory (spec §4).  SET: *nr entries of set are installed
 * atomically, replacing the domain's claims.  GET: *nr is the capacity of
 * set on entry and the number of entries needed on return (-ERANGE when the
 * capacity was smaller; the entries that fit are written). */
int nc_claim_memory(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                    uint32_t mode, struct nc_claim *set, uint32_t *nr);

/* ------------------------------------------------------------------------
 * Allocation (spec §5, §6)
 * ------------------------------------------------------------------------ */

struct nc_memflags {
    uint32_t node;               /* NC_NUMA_NO_NODE: none requested */
    bool exact;                  /* only that node, no fallback */
    bool vnode;                  /* node is a virtual node of the domain */
    uint8_t address_bits;        /* 0: unrestricted */
};

#define NC_MEMFLAGS_NONE \
    ((struct nc_memflags){ .node = NC_NUMA_NO_NODE })

/*
 * Populate one extent of 2^order pages at gpfn for domid (populate_physmap).
 * On success the extent's first MFN is written to *mfnp (may be NULL).  As
 * in Xen, a gpfn range that is already (partly) mapped is replaced: the new
 * extent is allocated first, as any charged allocation (so the old pages
 * still count against max_pages), then the old pages leave the p2m and are
 * freed; claims are not restored.  Errors: -ESRCH unknown or dying domain,
 * -EPERM caller neither the control domain nor the domain itself, -EINVAL
 * bad order or flags, -E2BIG over max_pages, -ENOMEM no admissible node has
 * a free buddy.
 */
int nc_populate(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                uint64_t gpfn, uint32_t order, struct nc_memflags flags,
                uint64_t *mfnp);

/* populate_physmap's loop: extents of 2^order pages at gpfn[0], gpfn[1],
 * ... gpfn[nr - 1] for domid, each as nc_populate() would make it (the
 * same frames, nodes and errors), in turn, until one fails.  Returns how
 * many were made: a short count, as in Xen, where one failed (its error is
 * not reported).  The domain is looked up and locked once for the run
 * instead of once per extent. */
uint64_t nc_populate_run(struct nc_host *h, nc_domid_t caller,
                         nc_domid_t domid, const uint64_t *gpfn, uint64_t nr,
                         uint32_t order, struct nc_memflags flags);

/* increase_reservation: 2^order pages the domain owns but does not map
 * (they count in tot_pages and redeem claims like any charged allocation;
 * no gpfn, so no implicit vNUMA hint).  The extent's first MFN is written
 * to *mfnp (may be NULL).  Errors as nc_populate. */
int nc_increase_reservation(struct nc_host *h, nc_domid_t caller,
                            nc_domid_t domid, uint32_t order,
                            struct nc_memflags flags, uint64_t *mfnp);

/* decrease_reservation: unmap and free 2^order pages at gpfn; all of them
 * must be populated (-ENOENT otherwise).  Claims are not restored. */
int nc_depopulate(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                  uint64_t gpfn, uint32_t order);

/* decrease_reservation of owned-unmapped pages: free [mfn, mfn + 2^order),
 * all of which the domain must own unmapped (-ENOENT otherwise). */
int nc_free_unmapped(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                     uint64_t mfn, uint32_t order);

/* Uncharged allocation owned by the hypervisor (Xen's MEMF_no_refcount /
 * MEMF_no_owner, or d == NULL): it is neither counted in a domain's
 * tot_pages nor redeems claims, so it can only use unclaimed memory.  With
 * a domid other than NC_DOMID_XEN the node choice follows that domain's
 * affinity (as for its page tables).  nc_free_anon takes back exactly one
 * such allocation: -EINVAL for anything else. */
int nc_alloc_anon(struct nc_host *h, nc_domid_t on_behalf_of, uint32_t order,
                  struct nc_memflags flags, uint64_t *mfnp);
int nc_free_anon(struct nc_host *h, uint64_t mfn, uint32_t order);

/* ------------------------------------------------------------------------
 * vNUMA (spec §6)
 * ------------------------------------------------------------------------ */

#define NC_VNUMA_MAX_VNODES     32      /* XSA-77: nr_vnodes^2 * 4 <= 4096 */
#define NC_VNUMA_MAX_RANGES     170     /* 4096 / sizeof(vmemrange) */

struct nc_vmemrange {
    uint64_t start, end;         /* guest physical addresses, [start, end) */
    uint32_t flags;              /* must be 0 */
    uint32_t nid;                /* vnode */
};

struct nc_vnuma {
    uint32_t nr_vnodes;
    uint32_t nr_vcpus;
    uint32_t nr_vmemranges;
    const uint32_t *vdistance;           /* nr_vnodes^2 */
    const uint32_t *vcpu_to_vnode;       /* nr_vcpus */
    const uint32_t *vnode_to_pnode;      /* nr_vnodes */
    const struct nc_vmemrange *vmemrange; /* nr_vmemranges */
};

/* XEN_DOMCTL_setvnumainfo: validate (spec §6) and replace the topology. */
int nc_domain_set_vnuma(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                        const struct nc_vnuma *v);

struct nc_vnuma_out {
    uint32_t nr_vnodes, nr_vcpus, nr_vmemranges;  /* IN capacity, OUT actual */
    uint32_t *vdistance;
    uint32_t *vcpu_to_vnode;
    struct nc_vmemrange *vmemrange;
};

/* XENMEM_get_vnumainfo: -EOPNOTSUPP without vNUMA, -ENOBUFS (with the
 * needed counts written back) when a capacity is too small. */
int nc_domain_get_vnuma(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                        struct nc_vnuma_out *out);

/* ------------------------------------------------------------------------
 * Offlining (spec §7); status values are Xen's PG_OFFLINE_* bits
 * ------------------------------------------------------------------------ */

#define NC_PG_OFFLINE_INVALID       (1U << 0)
#define NC_PG_OFFLINE_OFFLINED      (1U << 1)
#define NC_PG_OFFLINE_PENDING       (1U << 2)
#define NC_PG_OFFLINE_FAILED        (1U << 3)
#define NC_PG_ONLINE_FAILED         NC_PG_OFFLINE_FAILED
#define NC_PG_ONLINE_ONLINED        NC_PG_OFFLINE_OFFLINED
#define NC_PG_OFFLINE_STATUS_OFFLINED          (1U << 1)
/* Xen's header defines STATUS_ONLINE, but Xen's query never reports it:
 * an online frame queries as no bits at all, and so does numaclaim's. */
#define NC_PG_OFFLINE_STATUS_NONE              0U
#define NC_PG_OFFLINE_STATUS_ONLINE            (1U << 2)
#define NC_PG_OFFLINE_STATUS_OFFLINE_PENDING   (1U << 3)
#define NC_PG_OFFLINE_STATUS_BROKEN            (1U << 4)
#define NC_PG_OFFLINE_XENPAGE       (1U << 8)
#define NC_PG_OFFLINE_ANONYMOUS     (1U << 10)
#define NC_PG_OFFLINE_OWNED         (1U << 12)
#define NC_PG_OFFLINE_BROKEN        (1U << 13)
#define NC_PG_ONLINE_BROKEN         NC_PG_OFFLINE_BROKEN
#define NC_PG_OFFLINE_OWNER_SHIFT   16

/* Offline one frame (broken: as after a machine check).  A free frame is
 * offlined at once and claims are recalled until I4/I5 hold; an owned frame
 * is marked pending and offlined when freed.  -EINVAL for an MFN that is
 * not RAM of an online node. */
int nc_page_offline(struct nc_host *h, nc_domid_t caller, uint64_t mfn,
                    bool broken, uint32_t *status);
int nc_page_online(struct nc_host *h, nc_domid_t caller, uint64_t mfn,
                   uint32_t *status);
int nc_page_query(struct nc_host *h, nc_domid_t caller, uint64_t mfn,
                  uint32_t *status);

/* ------------------------------------------------------------------------
 * The hypervisor console: Xen's console ring ("conring")
 * ------------------------------------------------------------------------ */

/* Bytes kept, as Xen's default conring: when full, the oldest are
 * dropped.  The core writes a line for boot, domain creation and
 * destruction, every claim installed, released or refused (with its
 * errno), and every recall on offlining; each line starts "(XEN) ". */
#define NC_CONSOLE_SIZE         16384U

#define NC_CONSOLE_INCREMENTAL  (1U << 0)  /* start at *index if it is kept */
#define NC_CONSOLE_CLEAR        (1U << 1)  /* drop what was read */

/*
 * XEN_SYSCTL_readconsole: copy up to max bytes, oldest first, into buf.
 * Bytes are numbered by free-running 32-bit indexes: without
 * NC_CONSOLE_INCREMENTAL the read starts at the oldest byte kept; with it,
 * at *index when that lies in the ring, else at the oldest.  On return
 * *count is the bytes copied and *index the index after the last one, for
 * the next incremental read.
 */
void nc_console_read(struct nc_host *h, char *buf, uint32_t max,
                     uint32_t *index, uint32_t flags, uint32_t *count);
/* Drop every byte before index (if it is still kept): what
 * NC_CONSOLE_CLEAR does, for a reader that copies out before clearing. */
void nc_console_clear(struct nc_host *h, uint32_t index);
/* One message from outside the core (the hypercall layer): "(XEN) " is
 * put before each line and a final newline added if missing. */
void nc_console_write(struct nc_host *h, const char *text);
void nc_console_printf(struct nc_host *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The core's own formatter (no libc): %d %i %u %x %X %c %s %p %% with the
 * flags '-' and '0', a width, and the length modifiers hh h l ll z.  Like
 * snprintf it returns the length the whole text needs and always ends buf
 * with a NUL when size > 0. */
int nc_format(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int nc_vformat(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * XEN_SYSCTL_debug_keys: each key's handler writes to the console as Xen's
 * keyhandlers do; a key with no handler is ignored, as in Xen.
 *   'h'  list the keys
 *   'H'  the heap: free pages per node and zone, free blocks per order
 *   'm'  claims: each domain's outstanding pages, host-wide and per node
 *   'q'  domains: pages, claims, vCPUs, state
 *   '*'  every dump above
 */
void nc_debug_key(struct nc_host *h, char key);

/* The heap as debug key 'H' shows it (free pages per node, then per zone
 * and order, then the host's totals), as text in buf, one line per '\n'.
 * Returns the length the whole text needs, like snprintf; the text is cut
 * to size - 1 bytes and NUL-terminated when size > 0.  Each node is read
 * under its own lock, so it is not one atomic snapshot, and it works on a
 * host whose invariants are broken (the checker's failure message uses
 * it).  Call it with no lock of the host held. */
size_t nc_host_dump(struct nc_host *h, char *buf, size_t size);

/* ------------------------------------------------------------------------
 * Invariants (spec §2)
 * ------------------------------------------------------------------------ */

/* Level 1: I1-I6 and the counting part of I7, O(domains + nodes x zones x
 * orders).  Level 2: also every frame's state (free, owned by one domain,
 * anonymous, offlined, broken) exactly once, O(frames): for tests. */
#define NC_CHECK_COUNTERS   1
#define NC_CHECK_FRAMES     2

/* 0 if every invariant holds, else -EPROTO with a message naming the
 * broken invariant in why (if whylen > 0). */
int nc_host_check(struct nc_host *h, int level, char *why, size_t whylen);

/* Debug builds run nc_host_check(level) after every public operation that
 * changes state; 0 turns that off (e.g. for a stress test that checks at
 * its own pace).  Returns the previous level. */
int nc_host_set_autocheck(struct nc_host *h, int level);

/* Console message levels, as Xen's XENLOG_*: a message is written to the
 * console ring only if its level is at or above the host's threshold (Xen's
 * `loglvl=` boot option).  The default, NC_LOG_ALL, keeps every message, as
 * a debug Xen does; NC_LOG_WARNING is a release Xen's default and drops the
 * informational lines (claims installed and released, domains created and
 * destroyed), which also keeps their formatting off the claim path. */
#define NC_LOG_ALL      0
#define NC_LOG_INFO     1
#define NC_LOG_WARNING  2

/* Set the console threshold; returns the previous one. */
int nc_host_set_loglevel(struct nc_host *h, int level);

#ifdef __cplusplus
}
#endif

#endif /* NUMACLAIM_CORE_H */
