/* SPDX-License-Identifier: MIT */
/*
 * The core's internal structures, shared by its modules.
 *
 * Locks and their order (docs/design.md has the reasoning; locks.c keeps
 * the rules):
 *
 *   domlist_lock -> d->lock -> anon_lock -> claims_lock
 *                -> node[0].lock -> node[1].lock -> ... -> console_lock
 *
 * No thread takes a lock to the left of one it already holds, node locks
 * are taken in ascending node order, and no thread holds two domain locks
 * at once, except the invariant checker and offlining, which take them all
 * in ascending domid order under domlist_lock (world_lock()).  Debug
 * builds check the order on every acquisition (env.h's NC_RANK_*), so the
 * threaded stress and linearizability suites prove it too.
 *
 * The heap is per node: an allocation or a free on node n takes n's lock
 * only.  claims_lock is needed as well only while some domain holds a
 * host-wide claim (host_claims > 0): then host-wide admission must see an
 * exact count of unclaimed memory, which every actor keeps in
 * host->unclaimed under claims_lock.  While no host-wide claim exists, the
 * node checks imply the host-wide one (docs/design.md), so nothing global is
 * touched.  host_claims becomes non-zero only with every lock of the heap
 * held (heap_lock_all()), so a thread holding one node lock that reads it as
 * 0 may rely on that until it drops the lock.  A claim-set install without
 * a host-wide entry holds its nodes still by the install gate instead of
 * their locks: claims_lock and a bit in host_claims, which sends every
 * node locker to claims_lock too (locks.c).
 *
 * console_lock is a leaf: nothing is taken under it and nothing is
 * allocated, and messages are written after the heap's locks are dropped,
 * so that the allocation path never waits for the console.
 *
 * Every field below says what protects it:
 *   (c) constant after creation
 *   (n) its node's lock (node->lock), or the install gate that holds
 *       the node (locks.c)
 *   (C) host->claims_lock
 *   (d) the owning domain's lock
 *   (D) host->domlist_lock
 *   (A) host->anon_lock
 *   (K) host->console_lock
 *   (a) atomic
 * Combinations like (d+n) mean written with both held, so either suffices
 * to read.  Functions named *_locked require the locks their comment names
 * and assert them; the public entry points take them.
 */
#ifndef NC_CORE_PRIVATE_H
#define NC_CORE_PRIVATE_H

#include <numaclaim/core.h>

#include "env.h"
#include "hbitmap.h"

/* Each node n (a uint64_t) of a node mask, ascending. */
#define for_each_node_in(mask, n) \
    for ( uint64_t _m = (mask), n; \
          _m && ((n = (uint64_t)__builtin_ctzll(_m)), 1); _m &= _m - 1 )

/* ------------------------------------------------------------------------
 * Sorted tables: the one search and the one sort of the core's arrays
 * ------------------------------------------------------------------------ */

/*
 * The first index i in [lo, hi) with end_of(arr, i) > key, for an array of
 * disjoint ranges sorted by address (so end_of grows with i): the range
 * that holds key, or the first one after it; hi if there is none.  Inline,
 * so that a constant end_of inlines too.
 */
static inline uint32_t first_ending_after(const void *arr, uint32_t lo,
                                          uint32_t hi, uint64_t key,
                                          uint64_t (*end_of)(const void *,
                                                             uint32_t))
{
    while ( lo < hi )
    {
        uint32_t mid = lo + (hi - lo) / 2;

        if ( end_of(arr, mid) <= key )
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * Sort n elements of `size` bytes (at most 64) so that before(a, b) holds
 * for each element before the next where they differ: a stable insertion
 * sort, O(n^2), for tables of at most a few hundred entries built once.
 */
static inline void nc_sort(void *base, uint32_t n, size_t size,
                           bool (*before)(const void *a, const void *b))
{
    unsigned char *e = base, t[64];

    BUG_ON(size > sizeof(t));
    for ( unsigned int i = 1; i < n; i++ )
        for ( unsigned int j = i;
              j > 0 && before(e + j * size, e + (j - 1) * size); j-- )
        {
            __builtin_memcpy(t, e + j * size, size);
            __builtin_memcpy(e + j * size, e + (j - 1) * size, size);
            __builtin_memcpy(e + (j - 1) * size, t, size);
        }
}

/* ------------------------------------------------------------------------
 * Extent maps (p2m.c): gpfn -> mfn runs, sorted by gpfn
 * ------------------------------------------------------------------------ */

struct nc_extent {
    uint64_t gpfn;
    uint64_t mfn;
    uint64_t nr;
};

/* Contiguous runs are merged, so a guest populated with 1 GiB extents from
 * contiguous memory costs one entry per run, not one per page.  Lookup is
 * O(log n); insert and remove are O(n) memmoves in the worst case and O(1)
 * when appending in gpfn order, which is how builders populate.  The same
 * structure with gpfn == mfn records the hypervisor's anonymous pages. */
struct nc_p2m {
    struct nc_extent *e;         /* the first entry, `head` entries into
                                  * the allocation */
    uint32_t nr;                 /* entries in use */
    uint32_t head;               /* free entries before e[0] */
    uint32_t cap;                /* entries allocated, free ones included */
    uint64_t pages;              /* sum of e[i].nr */
    bool no_merge;               /* keep each insert its own entry */
};

void p2m_fini(struct nc_p2m *p);
static inline bool p2m_spare(const struct nc_p2m *p, uint32_t extra)
{
    return p->cap - p->nr >= extra;
}
/*
 * Make room for `extra` more entries, and keep an eighth of the entries'
 * count spare besides (so that inserting stays O(1) amortised at either
 * end: p2m.c).  Allocates, so never under a heap lock.  With a lock, the
 * caller holds it and it is dropped around the allocation, so the caller
 * must look at the protected state only after this returns.
 */
int p2m_grow(struct nc_p2m *p, nc_lock_t *lock, uint32_t extra);
/* True if p2m_reserve(p, lock, extra) has nothing to do. */
static inline bool p2m_reserved(const struct nc_p2m *p, uint32_t extra)
{
    return p2m_spare(p, extra) && p->cap - p->nr - extra >= p->nr / 8;
}
static inline int p2m_reserve(struct nc_p2m *p, nc_lock_t *lock,
                              uint32_t extra)
{
    return p2m_reserved(p, extra) ? 0 : p2m_grow(p, lock, extra);
}
/* True if no page of [gpfn, gpfn + nr) is mapped. */
bool p2m_range_unmapped(const struct nc_p2m *p, uint64_t gpfn, uint64_t nr);
/* True if every page of [gpfn, gpfn + nr) is mapped. */
bool p2m_range_mapped(const struct nc_p2m *p, uint64_t gpfn, uint64_t nr);
/* Needs p2m_spare(p, 1) and an unmapped range. */
void p2m_insert(struct nc_p2m *p, uint64_t gpfn, uint64_t mfn, uint64_t nr);
/* Unmap a fully mapped range, calling fn(arg, mfn, nr) for each MFN run
 * (fn may be NULL).  Needs p2m_spare(p, 1). */
void p2m_remove(struct nc_p2m *p, uint64_t gpfn, uint64_t nr,
                void (*fn)(void *arg, uint64_t mfn, uint64_t nr), void *arg);
/* Unmap whatever part of [gpfn, gpfn + nr) is mapped, calling fn for each
 * MFN run; returns the pages unmapped.  Needs p2m_spare(p, 1). */
uint64_t p2m_remove_mapped(struct nc_p2m *p, uint64_t gpfn, uint64_t nr,
                           void (*fn)(void *arg, uint64_t mfn, uint64_t nr),
                           void *arg);
int p2m_lookup(const struct nc_p2m *p, uint64_t gpfn, uint64_t *mfnp);
/* The index of the one entry that holds all of [gpfn, gpfn + nr), with
 * the MFN of gpfn in *mfnp; NC_P2M_NONE if no entry holds it all. */
#define NC_P2M_NONE UINT32_MAX
uint32_t p2m_find_run(const struct nc_p2m *p, uint64_t gpfn, uint64_t nr,
                      uint64_t *mfnp);
/* Unmap [gpfn, gpfn + nr) from entry i, which holds all of it (what
 * p2m_find_run() found, with no change to the map since).  Needs
 * p2m_spare(p, 1) where p2m_cut_splits(). */
void p2m_cut(struct nc_p2m *p, uint32_t i, uint64_t gpfn, uint64_t nr);
/* True if p2m_cut(p, i, gpfn, nr) makes two entries of one, and so needs
 * the spare slot: the range is inside entry i, touching neither end. */
static inline bool p2m_cut_splits(const struct nc_p2m *p, uint32_t i,
                                  uint64_t gpfn, uint64_t nr)
{
    return gpfn > p->e[i].gpfn &&
           gpfn + nr < p->e[i].gpfn + p->e[i].nr;
}
/* True if [gpfn, gpfn + nr) is exactly one entry (one allocation in a
 * no_merge map). */
bool p2m_is_extent(const struct nc_p2m *p, uint64_t gpfn, uint64_t nr);
/* Linear search by MFN (offlining only): true and *gpfnp if mapped. */
bool p2m_find_mfn(const struct nc_p2m *p, uint64_t mfn, uint64_t *gpfnp);

/* ------------------------------------------------------------------------
 * Heap (heap.c)
 * ------------------------------------------------------------------------ */

/* A frame that is broken or waiting to be offlined: a node of the bad
 * set's AVL tree (badset.c).  Offlined frames are bits of a bitmap. */
struct nc_badpage {
    uint64_t mfn;                /* the key */
    uint32_t flags;              /* NC_BAD_* */
    int32_t height;              /* of its subtree */
    struct nc_badpage *left, *right;   /* right: next spare when free */
};
#define NC_BAD_PENDING   (1U << 0)  /* owned: offline when freed */
#define NC_BAD_BROKEN    (1U << 2)  /* machine check: never onlined */
#define NC_OFF_CHUNK_SHIFT 15       /* 128 MiB of frames: 4 KiB of bits */

struct nc_badchunk;

struct nc_badset {
    struct nc_badpage *root;
    uint32_t nr;                 /* frames in the set */
    struct nc_badpage *spare;    /* free nodes */
    struct nc_badchunk *chunks;  /* where the nodes live */
};

/* Blocks of orders up to NC_CACHE_MAX_ORDER that are freed go to a small
 * per-node cache, up to NC_CACHE_DEPTH of each order, instead of merging
 * back into the buddy heap; allocations of those orders take from it first.
 * Cached blocks are free memory: they count in zone_avail and avail, so
 * claims and the invariants see them.  heap.c has the rules. */
#define NC_CACHE_MAX_ORDER  9
#define NC_CACHE_DEPTH      16

struct nc_node_cache {
    uint32_t nr;                                          /* (n) */
    uint64_t mfn[NC_CACHE_DEPTH];                         /* (n) */
};

struct nc_node {
    nc_lock_t lock;
    uint64_t avail;              /* (n) free frames, cached ones included */
    uint64_t claimed;            /* (n) sum of the domains' claims here */
    uint64_t offlined;           /* (n) frames off the heap */
    struct nc_node_cache cache[NC_CACHE_MAX_ORDER + 1];  /* (n) */
    uint32_t nr_cached;          /* (n) blocks in cache[], all orders */
    bool room;                   /* (n) its admit_mask bit */
    uint64_t _Atomic *admit_mask;                         /* (c) the host's */
    uint64_t admit_bit;                                   /* (c) its bit */
    /* (n) this node's frames that are pending offline or broken */
    struct nc_badset bad;
    /* (n) this node's offlined frames: bit i of chunk c is the frame at
     * base + (c << NC_OFF_CHUNK_SHIFT) + i; a chunk is made when one of
     * its frames first goes offline or pending (badset.c) */
    uint64_t **off_chunk;
    uint64_t nr_off_chunks;                               /* (c) */
    /* (n) free[k]: bit i set <=> the order-k block at MFN base + (i << k)
     * is free, not cached and on no lower order's map. */
    struct nc_hbitmap free[NC_MAX_ORDER + 1];
    uint64_t zone_avail[NC_NR_ZONES];                     /* (n) frames */
    uint64_t zone_blocks[NC_NR_ZONES][NC_MAX_ORDER + 1];  /* (n) on maps */
    /* (n) bit k of zone_orders[z] set <=> zone_blocks[z][k] != 0: the
     * allocator finds the smallest order with a block by one ctz */
    uint32_t zone_orders[NC_NR_ZONES];

    bool online;                                          /* (c) */
    uint32_t nr_ranges;                                   /* (c) */
    struct nc_range range[NC_MAX_RANGES];                 /* (c) sorted */
    uint64_t size;                                        /* (c) frames */
    uint64_t base;          /* (c) first MFN, rounded down to 2^MAX_ORDER */
    uint64_t end;           /* (c) one past the last MFN */
    uint32_t top_zone;      /* (c) zone of the last MFN (0: no memory) */
    uint64_t top_base;      /* (c) its first MFN: the node's MFNs at or
                             * above it are in top_zone (NC_INVALID_MFN: no
                             * memory) */
    /* (c) the allocator's fallback walk from this node: the other online
     * nodes as one mask per distance from it, nearest first (a mask is
     * walked by ascending id), the nr_walk_near masks of the nodes it can
     * reach, then at most one of those at NC_NO_DISTANCE. */
    uint64_t walk_tier[NC_MAX_NUMNODES - 1];
    uint8_t nr_walk_tiers, nr_walk_near;
    /* The next node's lock and counters start a cache line away from
     * anything here (nc_zalloc promises no more than 16-byte alignment). */
    char pad[64];
};

/* ------------------------------------------------------------------------
 * Domains (domain.c)
 * ------------------------------------------------------------------------ */

struct nc_vnuma_info {
    uint32_t nr_vnodes, nr_vcpus, nr_vmemranges;
    uint32_t *vdistance;
    uint32_t *vcpu_to_vnode;
    uint32_t *vnode_to_pnode;
    struct nc_vmemrange *vmemrange;   /* as given */
    struct nc_vmemrange *sorted;      /* the same, sorted by start */
};

struct nc_domain {
    /* (a) References: the table's, and one per domain_get().  First, and
     * never cleared by a re-initialisation: the structure is type-stable
     * (domain.c), so a stale reader may still look at this counter. */
    uint32_t _Atomic refcnt;
    /* Made once and kept through reuses, as refcnt: a stale reader may
     * still take it (domain_lock_checked()).  Everything after it is
     * cleared for a new domain. */
    nc_lock_t lock;
    struct nc_domain *pool_next;          /* (D) in the pool: next free */
    nc_domid_t domid;                     /* (c) */
    uint32_t max_vcpus;                   /* (c) */

    bool dying;                           /* (d) */
    uint32_t pause_count;                 /* (d) controller pauses; 1 at
                                           * creation, as in Xen */
    uint64_t max_pages;                   /* (d) */
    uint64_t tot_pages;                   /* (d) p2m.pages + unmapped.pages */
    uint64_t node_affinity;               /* (d) */
    uint64_t node_pages[NC_MAX_NUMNODES]; /* (d) owned pages per node */
    struct nc_p2m p2m;                    /* (d) */
    /* (d) Pages the domain owns but has not mapped (increase_reservation),
     * as mfn -> mfn runs: freed by decrease_reservation naming the MFN, or
     * when the domain dies. */
    struct nc_p2m unmapped;
    struct nc_vnuma_info *vnuma;          /* (d) NULL: none */

    /* Claims: written with d->lock held and the node's lock (node claims)
     * or claims_lock (the host-wide claim), or by recall with every lock
     * held (world_lock()); so d->lock suffices to read them. */
    uint64_t host_claim;                  /* (d+C) */
    uint64_t outstanding;                 /* (d) host + sum of node claims */
    uint64_t node_claim_mask;             /* (d) nodes with an entry */
    uint64_t node_claim[NC_MAX_NUMNODES]; /* (d+n) pages; may reach 0 by
                                           * redemption and stay an entry */
    uint64_t recalled;                    /* (d) pages lost to recall */
    /* (d+n) The node choice's largest remaining claim, kept current by
     * every change of node_claim (claim_top_lowered()): claim_top is the
     * nodes whose claim is the largest, when that is not 0 (else empty),
     * and claim_below is at least the claim of every other node.  With
     * claim_exact, claim_below is the largest of those claims (0 if there
     * are none) and claim_next the nodes that have it (empty while it is
     * 0): the next claim_top when this one is all lowered. */
    uint64_t claim_top;
    uint64_t claim_below;
    uint64_t claim_next;
    bool claim_exact;
    uint32_t last_alloc_node;             /* (d) */
    /* Written on every allocation: keep the next allocation's first cache
     * line (another domain's refcnt, say) away from it. */
    char pad[64];
};

/* ------------------------------------------------------------------------
 * The host
 * ------------------------------------------------------------------------ */

/* Words of the domid bitmap: one bit per domid below
 * NC_DOMID_FIRST_RESERVED (0x7FF0 is not a multiple of 64). */
#define NC_DOMID_WORDS  ((NC_DOMID_FIRST_RESERVED + 63) / 64)

/* One MFN range of some node, for MFN -> node lookups. */
struct nc_hrange {
    uint64_t start, end;
    uint32_t node;
};

/* "No frame" and "no guest frame", as Xen's INVALID_MFN and INVALID_GFN. */
#define NC_INVALID_MFN  UINT64_MAX
#define NC_INVALID_GFN  UINT64_MAX
#define NC_CHUNK_MIXED  UINT16_MAX

struct nc_host {
    uint32_t nr_nodes;                                    /* (c) */
    uint32_t nr_ranges;                                   /* (c) */
    struct nc_hrange *ranges;                 /* (c) all nodes', sorted */
    /* (c) Per 1 GiB of MFN space: the index of the range holding all of
     * it, or NC_CHUNK_MIXED (holes, range ends).  NULL on huge spaces. */
    uint16_t *chunk_range;
    uint64_t nr_chunks;                                   /* (c) */
    uint32_t nr_locked_nodes;            /* (c) node locks initialised */
    uint64_t online_mask;                                 /* (c) */
    uint64_t total_pages;                                 /* (c) */
    uint8_t distance[NC_MAX_NUMNODES][NC_MAX_NUMNODES];   /* (c) */
    struct nc_node *node;                                 /* (c) array */

    nc_lock_t anon_lock;
    struct nc_p2m anon;                                   /* (A) mfn->mfn */

    nc_lock_t claims_lock;
    /* (C) write, (a) read: sum of the domains' host-wide claims (0 -> >0
     * only under heap_lock_all()), and HOST_CLAIMS_GATE while an install
     * holds the gate (locks.c). */
    uint64_t _Atomic host_claims;
    /* (C) While host_claims > 0: total free minus all claims, kept exact by
     * every actor (all hold claims_lock then).  Stale, and unused, while
     * host_claims is 0; heap_unlock_all() recomputes it. */
    uint64_t unclaimed;
#if NC_DEBUG >= 1
    uint64_t gate_nodes;        /* (C) the nodes the gate holds, if closed */
#endif

    /* Bit n set <=> node n has a free frame that no claim covers (avail >
     * claimed), as node n's lock holder left it (node_room_sync()); (a)
     * read without locks by the fallback walk (alloc.c).  On a cache line
     * of its own: it changes whenever a node fills or gets room again. */
    char admit_pad[64];
    uint64_t _Atomic admit_mask;
    char admit_pad2[64];

    nc_lock_t domlist_lock;
    /* (D) written, (a) read: [NC_DOMID_FIRST_RESERVED] */
    struct nc_domain *_Atomic *domain;
    struct nc_domain *domain_pool;     /* (D) freed structures, for reuse */
    uint64_t domid_used[NC_DOMID_WORDS];                 /* (D) */
    /* (D) bit w set <=> domid_used[w] != 0: a walk over the domains skips
     * empty words 64 at a time (the checker and offlining walk them all on
     * every call). */
    uint64_t domid_words[(NC_DOMID_WORDS + 63) / 64];
    uint32_t nr_domains;               /* (D) including the control domain */

    uint32_t nr_cpus;                                     /* (c) */
    uint32_t node_cpus[NC_MAX_NUMNODES];                  /* (c) */
    uint32_t first_cpu[NC_MAX_NUMNODES];  /* (c) CPUs numbered node by node */

    /* The hypervisor console (console.c), Xen's conring: conring_c and
     * conring_p are free-running byte counters (the oldest byte kept, the
     * next one written), so readers can resume from an index they saw. */
    nc_lock_t console_lock;
    uint32_t conring_c, conring_p;                        /* (K) */
    char conring[NC_CONSOLE_SIZE];                        /* (K) */

    int _Atomic autocheck;             /* (a) level run after each op */
    int _Atomic loglevel;              /* (a) console threshold, NC_LOG_* */
};

/* Make node's bit of admit_mask say again whether it has a free frame no
 * claim covers, as its lock holder leaves it (node_unlock()): so to a
 * reader of the mask the node's state moves when it does for whoever
 * takes the lock next, never in the middle of a critical section (an
 * allocation takes its frames before it redeems its claim).  The shared
 * word is written only when the node fills or gets room again. */
void node_room_flip(struct nc_node *nd);
/* Whether room no longer says what the counters do. */
static nc_always_inline bool node_room_stale(const struct nc_node *nd)
{
    return (nd->avail > nd->claimed) != nd->room;
}
static nc_always_inline void node_room_sync(struct nc_node *nd)
{
    if ( __builtin_expect(node_room_stale(nd), 0) )
        node_room_flip(nd);
}

/* locks.c: the heap's locks (see the top of this file for the order).
 * A node lock alone keeps the node's counters still only while no install
 * holds the gate: whoever takes one to read or change them reads
 * host_claims under it (claims_lock_needed(); heap_lock_node() and
 * heap_lock_nodes() do), and if it is not 0 gives the lock back with
 * node_unlock_unchanged() and takes claims_lock first. */
static nc_always_inline void node_lock(struct nc_host *h, uint32_t n)
{
    nc_lock(&h->node[n].lock);
}
static nc_always_inline void node_unlock(struct nc_host *h, uint32_t n)
{
    node_room_sync(&h->node[n]);
    nc_unlock(&h->node[n].lock);
}
/* Give back a node lock under which no counter was read or changed, as
 * when host_claims said to take claims_lock first: the node's counters
 * may be an installer's to change meanwhile, so not even room is looked
 * at. */
static nc_always_inline void node_unlock_unchanged(struct nc_host *h,
                                                   uint32_t n)
{
    nc_unlock(&h->node[n].lock);
}
static inline bool node_locked(const struct nc_host *h, uint32_t n)
{
    return nc_lock_held(&h->node[n].lock);
}
/* The locks for changing the counters of a set of nodes: their node locks,
 * ascending, and claims_lock too when `claims` or when host-wide claims
 * exist (or, rarely, after an install's gate met twice).  `tracking` says
 * whether host->unclaimed must be kept. */
struct heap_locks {
    uint64_t nodes;
    bool claims;
    bool tracking;
};
void heap_lock_nodes(struct nc_host *h, struct heap_locks *l, uint64_t nodes,
                     bool claims);
static inline void heap_unlock_nodes(struct nc_host *h,
                                     const struct heap_locks *l)
{
    /* One node, the allocation path's case, without the loop. */
    if ( __builtin_expect(!(l->nodes & (l->nodes - 1)), 1) )
    {
        if ( l->nodes )
            node_unlock(h, (uint32_t)__builtin_ctzll(l->nodes));
    }
    else
        for_each_node_in(l->nodes, n)
            node_unlock(h, (uint32_t)n);
    if ( l->claims )
        nc_unlock(&h->claims_lock);
}
/* The install gate (locks.c): heap_gate_close() takes claims_lock and
 * closes the gate, returning host_claims() (0: no host-wide claim exists,
 * none can come meanwhile); then heap_gate_wait() for each node before its
 * counters are read, after which they are the caller's as if it held the
 * node's lock, until heap_gate_open().  Whoever changes the counters of
 * nodes under the gate syncs their rooms with heap_gate_sync_rooms() before
 * the gate opens, as node_unlock() would, but all their admit_mask bits in
 * one atomic step: a reader of the mask then sees the install not at all
 * or whole, as a node locker does. */
uint64_t heap_gate_close(struct nc_host *h);
void heap_gate_sync_rooms(struct nc_host *h, uint64_t nodes);
void heap_gate_wait_holder(struct nc_host *h, uint32_t n);
/* The same, for node n's structure nd. */
static nc_always_inline void heap_gate_wait_node(struct nc_host *h,
                                                 struct nc_node *nd,
                                                 uint32_t n)
{
    if ( __builtin_expect(!nc_lock_free(&nd->lock), 0) )
        heap_gate_wait_holder(h, n);
#if NC_DEBUG >= 1
    h->gate_nodes |= 1ULL << n;
#endif
}
static nc_always_inline void heap_gate_wait(struct nc_host *h, uint32_t n)
{
    heap_gate_wait_node(h, &h->node[n], n);
}
void heap_gate_open(struct nc_host *h);
/* Debug builds only, as nc_lock_held() (env.h): this thread holds the
 * gate (over node n, waited for). */
bool heap_gate_closed(const struct nc_host *h);
bool node_gated(const struct nc_host *h, uint32_t n);
/* Node n's counters are this thread's to read and change: its lock, or
 * the gate over it. */
#define node_held(h, n) (node_locked(h, n) || node_gated(h, n))
/* claims_lock and every node lock: the whole heap stands still.  Unlocking
 * recomputes host->unclaimed (while host-wide claims exist, when it is
 * kept), so code under it need not keep it. */
void heap_lock_all(struct nc_host *h);
void heap_unlock_all(struct nc_host *h);
/* Debug builds only, as nc_lock_held() (env.h). */
bool heap_all_locked(const struct nc_host *h);
/* Host-wide figures, summed over the nodes (heap_lock_all() held). */
uint64_t host_total_avail_locked(const struct nc_host *h);
uint64_t host_outstanding_locked(const struct nc_host *h);
uint64_t host_offlined_locked(const struct nc_host *h);
/* The install gate's bit of host_claims (locks.c). */
#define HOST_CLAIMS_GATE (1ULL << 63)
/* Whether a node lock alone does not suffice, and claims_lock must be
 * taken first: host-wide claims exist, or an install holds the gate.
 * Read under a node lock, 0 stays 0 for the claims until the lock is
 * given back; the gate may close meanwhile, but an installer waits for
 * the lock of every node it changes (locks.c).  Sequentially consistent,
 * for the gate's handshake (a plain load on x86). */
static nc_always_inline bool claims_lock_needed(const struct nc_host *h)
{
    return atomic_load_explicit(&((struct nc_host *)h)->host_claims,
                                memory_order_seq_cst) != 0;
}
/* The sum of the domains' host-wide claims. */
static inline uint64_t host_claims(const struct nc_host *h)
{
    return atomic_load_explicit(&((struct nc_host *)h)->host_claims,
                                memory_order_acquire) & ~HOST_CLAIMS_GATE;
}
/* heap_lock_nodes() for one node: its lock only, unless host-wide claims
 * exist (then claims_lock first) or an install holds the gate (waited
 * out).  Inline: every extent takes it. */
static inline void heap_lock_node(struct nc_host *h, struct heap_locks *l,
                                  uint32_t n)
{
    l->nodes = 1ULL << n;
    l->claims = false;
    l->tracking = false;
    if ( __builtin_expect(!claims_lock_needed(h), 1) )
    {
        node_lock(h, n);
        /* Read again under the lock (claims_lock_needed()). */
        if ( __builtin_expect(!claims_lock_needed(h), 1) )
            return;
        node_unlock_unchanged(h, n);
    }
    heap_lock_nodes(h, l, l->nodes, false);
}
/* Undo heap_lock_node(h, l, n), the node known. */
static inline void heap_unlock_node(struct nc_host *h,
                                    const struct heap_locks *l, uint32_t n)
{
    ASSERT(l->nodes == 1ULL << n);
    node_unlock(h, n);
    if ( l->claims )
        nc_unlock(&h->claims_lock);
}
/* Take domlist_lock, every domain's lock in ascending domid order, then
 * the whole heap: nothing can change underneath.  For rare operations only
 * (offlining, the invariant checker). */
void world_lock(struct nc_host *h);
void world_unlock(struct nc_host *h);

/* heap.c */
int heap_init(struct nc_host *h, const struct nc_host_config *cfg);
void heap_fini(struct nc_host *h);
/* Zone z holds MFNs [2^(z-1), 2^z); MFN 0 is in zone 1. */
static inline uint32_t zone_of(uint64_t mfn)
{
    /* mfn | 1 puts MFN 0 in zone 1 without a branch. */
    return 64u - (uint32_t)__builtin_clzll(mfn | 1);
}
uint32_t bits_to_zone(uint32_t bits);
/* The MFN -> range lookup: one load of the 1 GiB chunk table for MFNs in a
 * chunk that one range holds (all of them on most hosts), else a binary
 * search.  NULL for an MFN of no range. */
const struct nc_hrange *mfn_hrange_search(const struct nc_host *h,
                                          uint64_t mfn);
static inline const struct nc_hrange *mfn_hrange(const struct nc_host *h,
                                                 uint64_t mfn)
{
    uint64_t c = mfn >> NC_MAX_ORDER;

    if ( c < h->nr_chunks && h->chunk_range[c] != NC_CHUNK_MIXED )
        return &h->ranges[h->chunk_range[c]];
    return mfn_hrange_search(h, mfn);
}
static inline uint32_t mfn_node(const struct nc_host *h, uint64_t mfn)
{
    const struct nc_hrange *r = mfn_hrange(h, mfn);

    return r ? r->node : NC_NUMA_NO_NODE;
}
/* Take a free 2^order block from `node`, an online node with at least
 * 2^order frames free, in zones <= zone_hi, highest zone first, the cache
 * before the maps; updates the free counters.  NC_INVALID_MFN if there is
 * none.  Needs the node's lock.  Inline (the end of this file):
 * the cache's half is the allocation path's common case. */
static nc_always_inline uint64_t heap_take_locked(struct nc_host *h,
                                                  uint32_t node,
                                                  uint32_t order,
                                                  uint32_t zone_hi);
/* Its other half, when the cache has no block to give: split one from the
 * maps, flushing the cache into them first if that is what it takes. */
uint64_t heap_take_maps_locked(struct nc_host *h, uint32_t node,
                               uint32_t order, uint32_t zone_hi);
/* Return [mfn, mfn + nr), which lies in range r, to the heap; frames
 * pending offline are offlined instead.  Returns the frames that became
 * free.  Needs the node's lock.  Inline, as heap_take_locked(): a block
 * the cache takes goes no further. */
static inline uint64_t heap_give_range_locked(struct nc_host *h,
                                              const struct nc_hrange *r,
                                              uint64_t mfn, uint64_t nr);
/* The same, looking up the range. */
static inline uint64_t heap_give_locked(struct nc_host *h, uint64_t mfn,
                                        uint64_t nr)
{
    return heap_give_range_locked(h, mfn_hrange(h, mfn), mfn, nr);
}
/* Its other half: onto the maps, merging, and the bad set's frames
 * offlined. */
uint64_t heap_give_maps_locked(struct nc_host *h, const struct nc_hrange *r,
                               uint64_t mfn, uint64_t nr);
/* The same for one aligned block of nr = 2^k frames of range r, on node
 * nd, which has no frame pending offline: returns nr. */
uint64_t heap_give_block_locked(struct nc_node *nd,
                                const struct nc_hrange *r, uint64_t mfn,
                                uint64_t nr);
/* The same for a run that may span ranges and nodes (heap_lock_all()). */
uint64_t heap_give_span_locked(struct nc_host *h, uint64_t mfn, uint64_t nr);
/* Whether a frame is free (on the maps or in the cache), and pull one
 * free frame out of its buddy (false if it is not free).  Need the
 * frame's node's lock. */
bool heap_frame_free_locked(const struct nc_host *h, uint64_t mfn);
bool heap_reserve_frame_locked(struct nc_host *h, uint64_t mfn);
/* Put a node's cached blocks back on its maps (node lock held). */
void heap_flush_cache_locked(struct nc_host *h, uint32_t node);

/* badset.c: a node's tree is read under that node's lock and changed
 * under it too, but an insert needs a spare entry that only
 * badset_reserve() (heap_lock_all()) makes; each O(log n) */
struct nc_badpage *badset_find(const struct nc_badset *s, uint64_t mfn);
/* First entry with mfn >= from, or NULL. */
struct nc_badpage *badset_lower_bound(const struct nc_badset *s,
                                      uint64_t from);
/* The entry after b, or NULL. */
struct nc_badpage *badset_next(const struct nc_badset *s,
                               const struct nc_badpage *b);
/* Make sure one insert into node's set can be made: may drop and retake
 * the heap's locks (heap_lock_all() held). */
int badset_reserve(struct nc_host *h, uint32_t node);
void badset_insert(struct nc_badset *s, uint64_t mfn, uint32_t flags);
void badset_remove(struct nc_badset *s, struct nc_badpage *b);
void badset_fini(struct nc_badset *s);
/* Sorted, balanced, heights and count exact (the checker). */
bool badset_check(const struct nc_badset *s);
/* The node's offlined-frame bitmap, under the node's lock.  A frame's
 * chunk must be ready (offmap_reserve()) before it is set. */
int offmap_init(struct nc_node *nd);
void offmap_fini(struct nc_node *nd);
static inline bool offmap_test(const struct nc_node *nd, uint64_t mfn)
{
    uint64_t i = mfn - nd->base, c = i >> NC_OFF_CHUNK_SHIFT;
    const uint64_t *w;

    if ( mfn < nd->base || c >= nd->nr_off_chunks || !nd->off_chunk[c] )
        return false;
    w = &nd->off_chunk[c][(i & ((1ULL << NC_OFF_CHUNK_SHIFT) - 1)) >> 6];
    return (*w >> (i & 63)) & 1;
}
static inline bool offmap_ready(const struct nc_node *nd, uint64_t mfn)
{
    uint64_t c = (mfn - nd->base) >> NC_OFF_CHUNK_SHIFT;

    return mfn >= nd->base && c < nd->nr_off_chunks && nd->off_chunk[c];
}
/* Make mfn's chunk: may drop and retake the heap's locks (heap_lock_all()
 * held), as badset_reserve(). */
int offmap_reserve(struct nc_host *h, uint32_t node, uint64_t mfn);
void offmap_set(struct nc_node *nd, uint64_t mfn);
void offmap_clear(struct nc_node *nd, uint64_t mfn);
/* The first offlined frame at or after from, or NC_INVALID_MFN. */
uint64_t offmap_next(const struct nc_node *nd, uint64_t from);

/* domain.c */
/* The domain the table maps domid to at this instant, or NULL (a domid out
 * of range included).  No reference and no lock: the structure may be
 * freed or reused as soon as it is read (domain.c), so whoever uses it
 * reads the table again once it holds a reference or the domain's lock. */
static inline struct nc_domain *domain_in_table(const struct nc_host *h,
                                                nc_domid_t domid)
{
    if ( domid >= NC_DOMID_FIRST_RESERVED )
        return NULL;
    return atomic_load_explicit(&h->domain[domid], memory_order_acquire);
}
struct nc_domain *domain_get(struct nc_host *h, nc_domid_t domid);
void domain_put(struct nc_host *h, struct nc_domain *d);
/* Free the pool of reusable domain structures (host teardown). */
void domain_pool_fini(struct nc_host *h);
static inline bool caller_is_control(nc_domid_t caller)
{
    return caller == NC_DOMID_CONTROL;
}
/* Reference the domain `caller` asks to act on: with self_ok, the control
 * domain may name any domain and a guest itself (-ESRCH, then -EPERM, as
 * Xen looks the domain up before its permission check); without, only the
 * control domain may call (-EPERM first, then -ESRCH). */
static inline int domain_get_checked(struct nc_host *h, nc_domid_t caller,
                                     nc_domid_t domid, bool self_ok,
                                     struct nc_domain **dp)
{
    if ( !self_ok && !caller_is_control(caller) )
        return -EPERM;
    *dp = domain_get(h, domid);
    if ( !*dp )
        return -ESRCH;
    if ( !caller_is_control(caller) && caller != domid )
    {
        domain_put(h, *dp);
        return -EPERM;
    }
    return 0;
}
/*
 * Lock d, which the table mapped domid to when the caller read it, dying or
 * not, and without a reference: true if the table still maps domid to d
 * with the lock held, else false with it dropped.  The pointer may be
 * stale by the time the lock is taken (the structure freed and reused:
 * domain.c), hence the second look; a domain that went meanwhile is not
 * found, as it was not at some instant of the call.
 */
static inline bool domain_lock_listed(struct nc_host *h, nc_domid_t domid,
                                      struct nc_domain *d)
{
    nc_lock(&d->lock);
    if ( __builtin_expect(domain_in_table(h, domid) == d, 1) )
        return true;
    nc_unlock(&d->lock);
    return false;
}
/*
 * Lock the domain `caller` asks to act on, as domain_get_checked() checks
 * it, refusing a dying one (-ESRCH), and without a reference: on success
 * d is locked, and domain_unlock() gives it back.  For an operation that
 * does all its work under d->lock, and for the allocation path, which
 * would pay two atomic operations an extent for the reference.  Holding
 * the lock of a domain that is not dying keeps it from being killed, and
 * so from being freed.  The pointer may be stale by the time the lock is
 * taken (the structure freed and reused: domain.c); so the table is read
 * again under the lock, and a domain that went meanwhile is ESRCH, as it
 * was at some instant of the call.
 */
static inline int domain_lock_checked(struct nc_host *h, nc_domid_t caller,
                                      nc_domid_t domid, bool self_ok,
                                      struct nc_domain **dp)
{
    struct nc_domain *d;

    if ( !self_ok && !caller_is_control(caller) )
        return -EPERM;
    d = domain_in_table(h, domid);
    if ( !d )
        return -ESRCH;
    if ( !caller_is_control(caller) && caller != domid )
        return -EPERM;
    nc_lock(&d->lock);
    if ( __builtin_expect(domain_in_table(h, domid) == d && !d->dying, 1) )
    {
        *dp = d;
        return 0;
    }
    nc_unlock(&d->lock);
    return -ESRCH;
}
static inline void domain_unlock(struct nc_domain *d)
{
    nc_unlock(&d->lock);
}
/* For a domain referenced (domain_get()) and locked. */
static inline void domain_unlock_put(struct nc_host *h, struct nc_domain *d)
{
    nc_unlock(&d->lock);
    domain_put(h, d);
}
/* Next domid >= from in the table (domlist_lock held), or
 * NC_DOMID_FIRST_RESERVED when there is none. */
uint32_t next_domid(const struct nc_host *h, uint32_t from);
#define for_each_domid(h, id) \
    for ( unsigned int id = next_domid(h, 0); id < NC_DOMID_FIRST_RESERVED; \
          id = next_domid(h, id + 1) )

/* Free every page d owns to the heap (d->lock and heap_lock_all()). */
void domain_relinquish_locked(struct nc_host *h, struct nc_domain *d);

/* claims.c */
/* Each node of d's claim entries, ascending. */
#define for_each_claim_node(d, n) for_each_node_in((d)->node_claim_mask, n)
/* Release all of d's claims (d->lock and heap_lock_all()). */
void domain_release_all_claims_locked(struct nc_host *h, struct nc_domain *d);
/* Deduct up to `pages` from d's host-wide claim; returns pages deducted
 * (d->lock and claims_lock). */
uint64_t deduct_host_claim_locked(struct nc_host *h, struct nc_domain *d,
                                  uint64_t pages);
static inline void deduct_outstanding(struct nc_domain *d, uint64_t pages)
{
    ASSERT_GE(d->outstanding, pages);
    d->outstanding -= pages;
}
/* Find claim_top, claim_below and claim_next again from the claims
 * (claims.c): after an install, or when the largest claim is all lowered
 * and what comes next is not known. */
void claim_top_rescan(struct nc_domain *d);
/* Node n's claim went down.  When n was the one node of the largest
 * claim, it stays there while still above every other; else the next
 * nodes take over if they are known.  When other nodes are still there, n
 * leaves and joins the rest under claim_below.  The claims are scanned only
 * when the largest claim is all lowered and what is next is not known: a
 * domain redeeming equal claims in turn never scans, and one with a single
 * node claim never does. */
static nc_always_inline void claim_top_lowered(struct nc_domain *d,
                                                uint32_t n)
{
    uint64_t bit = 1ULL << n, v = d->node_claim[n];

    if ( d->claim_top == bit )
    {
        if ( v > d->claim_below )
            return;             /* still the largest: the common case */
        if ( !d->claim_exact || v != d->claim_below || !v )
        {
            claim_top_rescan(d);
            return;
        }
        /* The next nodes tie with n now; below them is not known, except
         * when there is nothing below them. */
        d->claim_top = d->claim_next | bit;
        d->claim_next = 0;
        d->claim_exact = !(d->node_claim_mask & ~d->claim_top);
        d->claim_below = d->claim_exact ? 0 : v - 1;
    }
    else if ( d->claim_top & bit )
    {
        d->claim_top &= ~bit;
        if ( v > d->claim_below )
        {
            d->claim_below = v;
            d->claim_next = bit;
            d->claim_exact = true;
        }
        else if ( v == d->claim_below && d->claim_exact && v )
            d->claim_next |= bit;
    }
    else if ( d->claim_next & bit )
    {
        /* Below claim_below now; if it was the last there, the largest of
         * the rest is not known. */
        d->claim_next &= ~bit;
        if ( !d->claim_next )
            d->claim_exact = false;
    }
}
/* Take x > 0 pages, which it has, from d's claim on node (d->lock and the
 * node's lock): redemption's step, and deduct_node_claims_locked()'s. */
static nc_always_inline void node_claim_take_locked(struct nc_host *h,
                                                    struct nc_domain *d,
                                                    uint32_t node,
                                                    uint64_t x)
{
    ASSERT(nc_lock_held(&d->lock) && node_locked(h, node));
    ASSERT(x && d->node_claim[node] >= x);
    d->node_claim[node] -= x;
    ASSERT_GE(h->node[node].claimed, x);
    h->node[node].claimed -= x;
    deduct_outstanding(d, x);
    claim_top_lowered(d, node);
}
/* Deduct up to `pages` from d's claim on node; returns pages deducted
 * (d->lock and the node's lock). */
static inline uint64_t deduct_node_claims_locked(struct nc_host *h,
                                                 struct nc_domain *d,
                                                 uint32_t node, uint64_t pages)
{
    uint64_t x = NC_MIN(pages, d->node_claim[node]);

    ASSERT(nc_lock_held(&d->lock) && node_locked(h, node));
    if ( x )
        node_claim_take_locked(h, d, node, x);
    return x;
}
/* Deduct claims until d's claims fit under max_pages (d->lock and
 * heap_lock_all()). */
void domain_deduct_over_max_locked(struct nc_host *h, struct nc_domain *d);

/* vnuma.c */
void vnuma_free(struct nc_vnuma_info *v);
/* pnode of the vnode whose vmemrange holds gpfn, or NC_NUMA_NO_NODE. */
uint32_t vnuma_gpfn_pnode(const struct nc_vnuma_info *v, uint64_t gpfn);

/* check.c: the check debug builds run after each operation, at the level
 * nc_host_set_autocheck() chose (0: none, one relaxed load). */
void host_autocheck_run(struct nc_host *h, int level);
/* Local checks for ASSERT_EXPENSIVE_WHY() at the points of change: 0, or
 * -EPROTO with the reason in why.  One node's heap counters against its
 * maps and cache (its lock held); one extent map; one domain's claims
 * against its own counters, I3 and I6 (d->lock held). */
int check_node_heap_locked(const struct nc_host *h, uint32_t n, char *why,
                           size_t len);
int check_p2m(const struct nc_p2m *p, char *why, size_t len);
int check_domain_claims_locked(const struct nc_host *h,
                               const struct nc_domain *d, char *why,
                               size_t len);
static inline void host_autocheck(struct nc_host *h)
{
    int level = atomic_load_explicit(&h->autocheck, memory_order_relaxed);

    if ( level )
        host_autocheck_run(h, level);
}

/* console.c: messages for the console ring, written with no heap lock
 * held.  printk puts "(XEN) " before each line and ends the message with
 * a newline if it has none. */
void console_init(struct nc_host *h);
void console_fini(struct nc_host *h);
void printk(struct nc_host *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* True if a message of this level would reach the ring: callers test it
 * before formatting anything. */
static inline bool console_wants(const struct nc_host *h, int level)
{
    return level >= atomic_load_explicit(&((struct nc_host *)h)->loglevel,
                                         memory_order_relaxed);
}
/* printk for informational lines (NC_LOG_INFO). */
#define printk_info(h, ...) \
    do { if ( console_wants(h, NC_LOG_INFO) ) printk(h, __VA_ARGS__); } \
    while ( 0 )
/* "12.00 GiB": pages in the largest binary unit, two decimals (cut). */
const char *console_size(char buf[16], uint64_t pages);
/* "ENOMEM" for -ENOMEM, the number for an errno it does not know. */
const char *console_errno(char buf[16], int rc);
/* The outcome of installing a claim set (or a legacy claim) for d. */
void console_claims(struct nc_host *h, nc_domid_t domid,
                    const struct nc_claim *set, uint32_t nr, bool legacy,
                    int rc, uint64_t outstanding);

/* What one offlining recalled, noted under the locks and written after. */
#define CONSOLE_RECALL_MAX 8
struct console_recall {
    uint32_t nr;                 /* entries noted (at most _MAX are kept) */
    uint64_t pages;              /* total recalled */
    struct {
        nc_domid_t domid;
        uint32_t node;           /* NC_CLAIM_HOST: host-wide claim */
        uint64_t pages;
    } e[CONSOLE_RECALL_MAX];
};
void console_recall_note(struct console_recall *r, nc_domid_t domid,
                         uint32_t node, uint64_t pages);
void console_recall_write(struct nc_host *h, uint64_t mfn,
                          const struct console_recall *r);

/* ------------------------------------------------------------------------
 * The heap's hot halves (heap.c has the rest, and the cache's rules)
 * ------------------------------------------------------------------------ */

static inline void heap_account_free(struct nc_node *nd, uint32_t zone,
                                     uint64_t r)
{
    nd->zone_avail[zone] += r;
    nd->avail += r;
}

static inline void heap_account_taken(struct nc_node *nd, uint32_t zone,
                                      uint64_t r)
{
    ASSERT_GE(nd->zone_avail[zone], r);
    nd->zone_avail[zone] -= r;
    ASSERT_GE(nd->avail, r);
    nd->avail -= r;
}

/* Keep a freed block of order k in the node's cache, if it has room and
 * the block is in the node's top zone (the cache's rule 2). */
static nc_always_inline bool heap_cache_put_locked(struct nc_node *nd,
                                                   uint64_t mfn, uint32_t k)
{
    struct nc_node_cache *c;

    if ( k > NC_CACHE_MAX_ORDER || mfn < nd->top_base )
        return false;
    c = &nd->cache[k];
    if ( c->nr == NC_CACHE_DEPTH )
        return false;
    c->mfn[c->nr++] = mfn;
    nd->nr_cached++;
    heap_account_free(nd, nd->top_zone, 1ULL << k);
    return true;
}

/* The last block cached of order k, if the request may have the top
 * zone. */
static nc_always_inline uint64_t heap_cache_take_locked(struct nc_node *nd,
                                                        uint32_t k,
                                                        uint32_t zone_hi)
{
    struct nc_node_cache *c;

    if ( k > NC_CACHE_MAX_ORDER || nd->top_zone > zone_hi )
        return NC_INVALID_MFN;
    c = &nd->cache[k];
    if ( !c->nr )
        return NC_INVALID_MFN;
    ASSERT(nd->nr_cached > 0);
    nd->nr_cached--;
    heap_account_taken(nd, nd->top_zone, 1ULL << k);
    return c->mfn[--c->nr];
}

static nc_always_inline uint64_t heap_take_locked(struct nc_host *h,
                                                  uint32_t node,
                                                  uint32_t order,
                                                  uint32_t zone_hi)
{
    struct nc_node *nd = &h->node[node];
    uint64_t mfn;

    ASSERT(node_locked(h, node));
    /* The caller admitted the request on this node (alloc.c). */
    ASSERT(nd->online && nd->avail >= (1ULL << order));
    mfn = heap_cache_take_locked(nd, order, zone_hi);
    if ( mfn == NC_INVALID_MFN )
        return heap_take_maps_locked(h, node, order, zone_hi);
    ASSERT_EXPENSIVE_WHY(check_node_heap_locked, h, node);
    return mfn;
}

static inline uint64_t heap_give_range_locked(struct nc_host *h,
                                              const struct nc_hrange *r,
                                              uint64_t mfn, uint64_t nr)
{
    struct nc_node *nd;

    BUG_ON(!r || mfn + nr > r->end);
    nd = &h->node[r->node];
    ASSERT(node_locked(h, r->node));
    /* One aligned block, and no frame of the node pending offline: the
     * cache's if it has room, else the maps' without a run to cut up. */
    if ( !nd->bad.nr && !(nr & (nr - 1)) && !(mfn & (nr - 1)) )
    {
        uint32_t k = (uint32_t)__builtin_ctzll(nr);

        /* (nr, not k, to the call, and back from it: not kept across
         * it, a register fewer in the caller) */
        if ( !heap_cache_put_locked(nd, mfn, k) )
            nr = heap_give_block_locked(nd, r, mfn, nr);
        ASSERT_EXPENSIVE_WHY(check_node_heap_locked, h, r->node);
        return nr;
    }
    return heap_give_maps_locked(h, r, mfn, nr);
}

/* ------------------------------------------------------------------------
 * The p2m's append (p2m.c has the rest)
 * ------------------------------------------------------------------------ */

/* True if a run at gpfn of MFNs from mfn continues entry a, in gpfns and
 * MFNs both: then the two are one entry. */
static inline bool p2m_continues(const struct nc_extent *a, uint64_t gpfn,
                                 uint64_t mfn)
{
    return a->gpfn + a->nr == gpfn && a->mfn + a->nr == mfn;
}
/* True if a run at gpfn goes after every entry, into the slot after the
 * last: no search and no move (the builders' populate in gpfn order). */
static inline bool p2m_appends(const struct nc_p2m *p, uint64_t gpfn)
{
    return p->head + p->nr < p->cap &&
           (!p->nr || p->e[p->nr - 1].gpfn + p->e[p->nr - 1].nr <= gpfn);
}
/* Map [gpfn, gpfn + nr) to [mfn, mfn + nr) where p2m_appends(): the last
 * entry grows when the run continues it (in gpfn and MFN, unless
 * no_merge), else the run is a new entry after it. */
static inline void p2m_append(struct nc_p2m *p, uint64_t gpfn, uint64_t mfn,
                              uint64_t nr)
{
    struct nc_extent *last = p->nr ? &p->e[p->nr - 1] : NULL;

    ASSERT(nr > 0 && p2m_appends(p, gpfn));
    p->pages += nr;
    if ( last && !p->no_merge && p2m_continues(last, gpfn, mfn) )
        last->nr += nr;
    else
        p->e[p->nr++] = (struct nc_extent){ .gpfn = gpfn, .mfn = mfn,
                                            .nr = nr };
    ASSERT_EXPENSIVE_WHY(check_p2m, p);
}
/* Unmap the map's last nr pages, all in its last entry: p2m_cut() of the
 * end of that entry (no slot needed), or the undoing of p2m_append(). */
static inline void p2m_trim_last(struct nc_p2m *p, uint64_t nr)
{
    struct nc_extent *last = &p->e[p->nr - 1];

    ASSERT(p->nr && nr > 0 && nr <= last->nr);
    ASSERT_GE(p->pages, nr);
    p->pages -= nr;
    last->nr -= nr;
    if ( !last->nr )
        p->nr--;
    ASSERT_EXPENSIVE_WHY(check_p2m, p);
}
/* Unmap the map's first nr pages, all in its first entry: p2m_cut() of
 * the start of that entry (no slot needed), as a balloon freeing in gpfn
 * order does.  An emptied entry leaves its slot to the front's room. */
static inline void p2m_trim_first(struct nc_p2m *p, uint64_t nr)
{
    struct nc_extent *first = &p->e[0];

    ASSERT(p->nr && nr > 0 && nr <= first->nr);
    ASSERT_GE(p->pages, nr);
    p->pages -= nr;
    first->nr -= nr;
    if ( first->nr )
    {
        first->gpfn += nr;
        first->mfn += nr;
    }
    else
    {
        p->e++;
        p->head++;
        p->nr--;
    }
    ASSERT_EXPENSIVE_WHY(check_p2m, p);
}

#endif /* NC_CORE_PRIVATE_H */
