/* SPDX-License-Identifier: MIT */
/*
 * Allocation: node choice, protection of claimed memory and redemption of
 * claims (spec §5), the node requests of vNUMA (spec §6), and the
 * populate / depopulate / anonymous entry points built on them.
 *
 * For each candidate node the allocator computes a redemption plan
 * (a, b, c) under the domain's lock, admits or skips the node, takes a
 * buddy, and redeems the plan and counts the pages in tot_pages before
 * dropping the heap's locks; the p2m entry is made before the domain's
 * lock is dropped.  The first node is tried under its own lock only, so
 * allocations on different nodes run in parallel; if it cannot serve the
 * request, the fallback walk runs with the whole heap locked, so that its
 * choice (or ENOMEM) is one a sequential allocator would have made, unless
 * the nodes' admit_mask bits decide it with one more node lock
 * (walk_nodes_unlocked(); the fast path then skips a first node whose bit
 * is clear) or with the locks of the nodes that have room
 * (walk_nodes_room()).  So no one who can see the counters (the checker
 * stops the world) finds pages allocated but not yet owned, claims are
 * never lost and claim SET works on running domains.
 */
#include "private.h"

/* Eight bytes, passed by value: the whole request in one register, so
 * that none of it has to live in memory on the allocation path. */
struct alloc_req {
    uint32_t node;               /* first node to try, or NO_NODE */
    uint8_t order;
    uint8_t zone_hi;
    bool exact;
    bool charged;                /* counted in tot_pages, redeems claims */
};
_Static_assert(NC_MAX_ORDER <= UINT8_MAX && NC_NR_ZONES <= UINT8_MAX,
               "an order and a zone fit in alloc_req's bytes");

/* ========================================================================
 * Node choice
 * ======================================================================== */

/* The next node of mask strictly after `last`, wrapping (Xen's striping). */
static uint32_t cycle_node(uint32_t last, uint64_t mask)
{
    uint64_t after = last >= 63 ? 0 : mask & ~((2ULL << last) - 1);

    return (uint32_t)__builtin_ctzll(after ? after : mask);
}

/* The node of d's largest remaining node claim (ties: lower id), which d
 * has (claim_top not empty): kept current (claim_top_lowered()). */
static uint32_t largest_claim_node(const struct nc_domain *d)
{
    ASSERT(d->claim_top);
    return (uint32_t)__builtin_ctzll(d->claim_top);
}

/* ========================================================================
 * Plan, admit, redeem
 * ======================================================================== */

/* What an allocation of r pages on one node takes from d's claims: a from
 * the claim on that node, b from the host-wide claim, c from claims on
 * other nodes. */
struct redemption {
    uint64_t a, b, c;
};

static struct redemption plan_redemption(const struct nc_domain *d,
                                         uint32_t n, uint64_t r)
{
    struct redemption p = { 0, 0, 0 };
    uint64_t t;

    if ( !d->outstanding )
        return p;
    p.a = NC_MIN(r, d->node_claim[n]);
    /* All of it from the node's claim: by I6 (outstanding <= max_pages -
     * tot_pages) nothing is in excess, so b = c = 0. */
    if ( p.a == r )
        return p;
    p.b = NC_MIN(r - p.a, d->host_claim);
    /* Only the excess over max_pages comes from other nodes' claims, so
     * that the domain's claims keep fitting under max_pages. */
    t = d->tot_pages + r + d->outstanding - p.a - p.b;
    p.c = t > d->max_pages ? t - d->max_pages : 0;
    return p;
}

/* Redeem the plan: the node's claim, the host-wide claim, then other
 * nodes' claims in ascending node order.  The locks of every node the
 * plan touches are held, and claims_lock if b > 0. */
static nc_always_inline void
redeem_claims_locked(struct nc_host *h, struct nc_domain *d, uint32_t n,
                     const struct redemption *p)
{
    uint64_t c = p->c;

    /* The plan was made under d->lock, which every change of d's claims
     * holds: each part is there to be taken. */
    if ( p->a )
        node_claim_take_locked(h, d, n, p->a);
    if ( p->b )
    {
        ASSERT(d->host_claim >= p->b);
        deduct_host_claim_locked(h, d, p->b);
    }
    if ( __builtin_expect(!c, 1) )
        return;
    for_each_claim_node(d, m)
    {
        if ( m != n )
            c -= deduct_node_claims_locked(h, d, (uint32_t)m, c);
        if ( !c )
            break;
    }
    BUG_ON(c != 0);
}

/*
 * Take 2^order frames on node n for d under the plan p, if the node admits
 * them: the unclaimed part must fit in unclaimed memory on the node (I5
 * keeps the subtraction from wrapping) and, while host-wide claims exist
 * (`tracking`), host-wide; without them the node's rule implies the
 * host's.  On success the buddy is taken, the plan redeemed and the first
 * MFN returned; otherwise nothing changed and NC_INVALID_MFN is returned.
 * Needs d->lock (if d), the locks of the nodes the plan touches, and
 * claims_lock when tracking or p->b > 0.
 */
static nc_always_inline uint64_t
take_on_node_locked(struct nc_host *h, struct nc_domain *d,
                    struct alloc_req rq, uint32_t n,
                    const struct redemption *p, bool tracking)
{
    uint64_t r = 1ULL << rq.order, mfn;
    struct nc_node *nd = &h->node[n];

    ASSERT(node_locked(h, n));
    if ( r - p->a > nd->avail - nd->claimed )
        return NC_INVALID_MFN;
    if ( tracking && r - (p->a + p->b + p->c) > h->unclaimed )
        return NC_INVALID_MFN;

    mfn = heap_take_locked(h, n, rq.order, rq.zone_hi);
    if ( mfn == NC_INVALID_MFN )
        return NC_INVALID_MFN;
    if ( tracking )
        h->unclaimed -= r - (p->a + p->b + p->c);
    if ( rq.charged )
    {
        if ( p->a | p->b | p->c )
            redeem_claims_locked(h, d, n, p);
        d->tot_pages += r;
        d->node_pages[n] += r;
        ASSERT_EXPENSIVE_WHY(check_domain_claims_locked, h, d);
    }
    if ( d )
        d->last_alloc_node = n;
    return mfn;
}

static struct redemption plan_for(const struct nc_domain *d,
                                  struct alloc_req rq, uint32_t n)
{
    struct redemption p = { 0, 0, 0 };

    return rq.charged ? plan_redemption(d, n, 1ULL << rq.order) : p;
}

/* The first node alone, under its own lock (and claims_lock only while
 * host-wide claims exist): the common case, in parallel with allocations
 * on other nodes.  d->lock is held (if d), so d's claims are stable. */
static uint64_t try_first_node(struct nc_host *h, struct nc_domain *d,
                               struct alloc_req rq, uint32_t n)
{
    struct redemption p;
    struct heap_locks l;
    uint64_t mfn, nodes = 1ULL << n;

    /* Named by the request (decode_flags() checked it), by a claim (only
     * online nodes take claims) or by cycle_node() over online nodes; and
     * a node's state never changes after boot. */
    ASSERT(h->node[n].online);
    p = plan_for(d, rq, n);
    if ( p.c )
        nodes |= d->node_claim_mask;
    if ( nodes == 1ULL << n && !p.b )
    {
        /* The node's lock alone (claims_lock too while host-wide claims
         * exist): the common case, with an unlock that knows the node. */
        heap_lock_node(h, &l, n);
        mfn = take_on_node_locked(h, d, rq, n, &p, l.tracking);
        heap_unlock_node(h, &l, n);
        return mfn;
    }
    heap_lock_nodes(h, &l, nodes, p.b > 0);
    mfn = take_on_node_locked(h, d, rq, n, &p, l.tracking);
    heap_unlock_nodes(h, &l);
    return mfn;
}

/*
 * The fallback walk's order from the first node (the first node itself not
 * included), as masks of nodes, each visited by ascending id: affinity
 * nodes by distance from it (ties: lower id), then the others; a node the
 * first cannot reach (NC_NO_DISTANCE) only after every node it can,
 * affinity or not (docs/decisions.md).  Each distance's mask of the first
 * node's walk_tier is split into its affinity and other nodes, in that
 * order of passes; empty masks are left out, so there are at most as many
 * as nodes walked.  Returns how many, the masks in *masksp: walk_tier
 * itself when the affinity covers every online node (the common case
 * costs nothing), else built in seq.
 */
static unsigned int walk_masks(const struct nc_host *h, uint32_t first,
                               uint64_t affinity,
                               uint64_t seq[NC_MAX_NUMNODES - 1],
                               const uint64_t **masksp)
{
    const struct nc_node *fn = &h->node[first];
    unsigned int nr = 0;

    if ( (affinity & h->online_mask) == h->online_mask )
    {
        *masksp = fn->walk_tier;
        return fn->nr_walk_tiers;
    }
    for ( unsigned int seg = 0; seg < 2; seg++ )
    {
        unsigned int lo = seg ? fn->nr_walk_near : 0;
        unsigned int hi = seg ? fn->nr_walk_tiers : fn->nr_walk_near;

        for ( unsigned int outside = 0; outside < 2; outside++ )
            for ( unsigned int t = lo; t < hi; t++ )
            {
                uint64_t m = fn->walk_tier[t] &
                             (outside ? ~affinity : affinity);

                if ( m )
                    seq[nr++] = m;
            }
    }
    *masksp = seq;
    return nr;
}

/*
 * The whole walk with the whole heap locked: the first node again, then
 * the walk's order.  Under one critical section, as with Xen's single heap
 * lock, so the node chosen, or ENOMEM, is what a sequential walk would
 * have found at one instant; and a node that cannot admit the request is
 * skipped by its counters alone.  Only the nodes of `nodes` are tried
 * (all of them: ~0): walk_nodes_room() holds only the locks of those and
 * knows that the others admit nothing.
 */
static uint64_t walk_nodes_locked(struct nc_host *h, struct nc_domain *d,
                                  struct alloc_req rq, uint32_t first,
                                  uint64_t affinity, uint64_t nodes)
{
    bool tracking = host_claims(h) > 0;
    uint64_t seq[NC_MAX_NUMNODES - 1];
    uint64_t mfn = NC_INVALID_MFN;
    const uint64_t *masks;
    struct redemption p;
    unsigned int nr;

    /* take_on_node_locked() checks the lock of each node it tries. */
    ASSERT(!tracking || nc_lock_held(&h->claims_lock));
    /* Online, as first_node() chose it (try_first_node() says why). */
    ASSERT(h->node[first].online);
    if ( nodes & (1ULL << first) )
    {
        p = plan_for(d, rq, first);
        mfn = take_on_node_locked(h, d, rq, first, &p, tracking);
    }
    if ( mfn != NC_INVALID_MFN || rq.exact )
        return mfn;
    nr = walk_masks(h, first, affinity, seq, &masks);
    for ( unsigned int i = 0; i < nr; i++ )
        for ( uint64_t m = masks[i] & nodes; m; m &= m - 1 )
        {
            uint32_t n = (uint32_t)__builtin_ctzll(m);

            p = plan_for(d, rq, n);
            mfn = take_on_node_locked(h, d, rq, n, &p, tracking);
            if ( mfn != NC_INVALID_MFN )
                return mfn;
        }
    return NC_INVALID_MFN;
}

/*
 * The search of the fallback walk over the admit_mask bits `room`, masks
 * tested whole: the node is the lowest of the first mask that meets the
 * bits, and the nodes the walk visits before it are the earlier masks'
 * and its own mask's below it, added to *beforep.  NC_NUMA_NO_NODE if no
 * mask meets the bits.
 */
static nc_always_inline uint32_t room_in_masks(const uint64_t *masks,
                                               unsigned int nr, uint64_t room,
                                               uint64_t *beforep)
{
    for ( unsigned int i = 0; i < nr; i++ )
    {
        uint64_t hit = room & masks[i];

        if ( hit )
        {
            *beforep |= masks[i] & ((hit & -hit) - 1);
            return (uint32_t)__builtin_ctzll(hit);
        }
        *beforep |= masks[i];
    }
    return NC_NUMA_NO_NODE;
}

/* room_in_masks() over the walk of an affinity that leaves online nodes
 * out, whose masks walk_masks() builds: out of line, so that the common
 * case's callers carry no array of masks (and stay small enough to be
 * inlined). */
static nc_noinline uint32_t room_in_split_walk(const struct nc_host *h,
                                               uint32_t first,
                                               uint64_t affinity,
                                               uint64_t room,
                                               uint64_t *beforep)
{
    uint64_t seq[NC_MAX_NUMNODES - 1];
    const uint64_t *masks;
    unsigned int nr = walk_masks(h, first, affinity, seq, &masks);

    return room_in_masks(masks, nr, room, beforep);
}

/* Whether the admit_mask bits say which nodes admit nothing for this
 * request: no host-wide claims (no host-wide admission) and no node claim
 * of d's left (a = b = c = 0 on every node), so that a node whose bit is
 * clear admits nothing.  While an install holds the gate they are not
 * trusted either, and the walk goes to claims_lock, to wait for it; one
 * that closes the gate after this read changes its nodes' bits in one
 * step (heap_gate_sync_rooms()), so the mask read next shows it not at
 * all or whole. */
static nc_always_inline bool bits_decide(const struct nc_host *h,
                                         const struct nc_domain *d,
                                         struct alloc_req rq)
{
    return !(claims_lock_needed(h) || (rq.charged && d->claim_top));
}

/*
 * Where the answer can be read off admit_mask (bits_decide()).  If the
 * first node's bit is clear, the node to lock is the first of the walk
 * whose bit is set, the nodes before it (the first node included) in
 * *beforep, or NC_NUMA_NO_NODE if no node of the walk has its bit set:
 * ENOMEM is then the sequential answer at the instant of the read.
 * Otherwise the first node, and *beforep 0: the bits decide nothing.
 * The caller that locks the node must read the mask again under the lock
 * and find every node of *beforep still clear (walk_nodes_unlocked()).
 */
static nc_always_inline uint32_t unlocked_choice(const struct nc_host *h,
                                                 const struct nc_domain *d,
                                                 struct alloc_req rq,
                                                 uint32_t first,
                                                 uint64_t affinity,
                                                 uint64_t *beforep)
{
    uint64_t room;

    *beforep = 0;
    if ( !bits_decide(h, d, rq) )
        return first;
    room = atomic_load_explicit(&((struct nc_host *)h)->admit_mask,
                                memory_order_acquire);
    if ( room & (1ULL << first) )
        return first;
    *beforep = 1ULL << first;
    if ( (affinity & h->online_mask) == h->online_mask )
        return room_in_masks(h->node[first].walk_tier,
                             h->node[first].nr_walk_tiers, room, beforep);
    return room_in_split_walk(h, first, affinity, room, beforep);
}

/*
 * The same walk without the whole heap, when unlocked_choice() can decide
 * it.  The node it chose is locked alone, and the mask read again: if
 * every node before it in the walk, the first node included, still has
 * its bit clear, then at the instant of that read a sequential walk would
 * have come to this node, whose state the lock holds still; so the
 * allocation is made there.  If no node of the walk has its bit set, the
 * first node included, ENOMEM is the sequential answer.  Anything else
 * (the first node has its bit set, a node before it got room, the node
 * cannot serve the order or zone, host-wide claims appeared) leaves the
 * decision to walk_rest(): returns false.  On a nearly full host,
 * where most extents are found only by walking, this spares each one the
 * locks of every node.
 */
static nc_always_inline bool walk_nodes_unlocked(struct nc_host *h,
                                                 struct nc_domain *d,
                                                 struct alloc_req rq,
                                                 uint32_t first,
                                                 uint64_t affinity,
                                                 uint64_t *mfnp)
{
    struct redemption p = { 0, 0, 0 };
    uint64_t before, room, mfn;
    struct heap_locks l;
    uint32_t n = unlocked_choice(h, d, rq, first, affinity, &before);

    if ( !before )
        return false;
    if ( n == NC_NUMA_NO_NODE )
    {
        *mfnp = NC_INVALID_MFN;
        return true;
    }
    heap_lock_node(h, &l, n);
    room = atomic_load_explicit(&h->admit_mask, memory_order_acquire);
    mfn = NC_INVALID_MFN;
    if ( !l.tracking && !(room & before) )
    {
        ASSERT(!rq.charged || !d->host_claim);
        mfn = take_on_node_locked(h, d, rq, n, &p, false);
    }
    heap_unlock_node(h, &l, n);
    *mfnp = mfn;
    return mfn != NC_INVALID_MFN;
}

/* The nodes d may be given memory on first: its affinity, online; all
 * online nodes for the hypervisor (d NULL) or when none of d's is.  Not
 * written as `a = x & online; return a ? a : online;`: gcc 12.2 at -O2
 * has compiled that, inlined in alloc_locked(), ANDing x with a stale
 * register instead of online (twice, as the code around it changed). */
static uint64_t affinity_of(const struct nc_host *h, const struct nc_domain *d)
{
    uint64_t affinity = h->online_mask;

    if ( d && (d->node_affinity & affinity) )
        affinity &= d->node_affinity;
    return affinity;
}

/* The first node to try: the requested node, else the node of d's largest
 * claim, else the next node of d's affinity after the last one used. */
static uint32_t first_node(const struct nc_domain *d, struct alloc_req rq,
                           uint64_t affinity)
{
    if ( rq.node != NC_NUMA_NO_NODE )
        return rq.node;
    if ( rq.charged && d->claim_top )
        return largest_claim_node(d);
    if ( d )
        return cycle_node(d->last_alloc_node, affinity);
    return (uint32_t)__builtin_ctzll(affinity);
}

/*
 * The walk under the locks of the nodes whose admit_mask bit is set, where
 * the bits can say which nodes admit nothing (bits_decide()) but one
 * node's lock could not decide: a request above order 0, which a node
 * with room may still be unable to serve, or a node that could not serve
 * it.  Those nodes are locked, and the mask read again: if no other node
 * has its bit set, then at the instant of that read every other node
 * admits nothing and these hold still, so the walk over these alone (the
 * first node again, then the walk's order) is the sequential walk at that
 * instant.  On a nearly full host only a few nodes have room.  False, with
 * nothing changed, where the bits cannot decide or another node got room.
 */
static bool walk_nodes_room(struct nc_host *h, struct nc_domain *d,
                            struct alloc_req rq, uint32_t first,
                            uint64_t affinity, uint64_t *mfnp)
{
    struct heap_locks l;
    uint64_t room;

    if ( !bits_decide(h, d, rq) )
        return false;
    room = atomic_load_explicit(&h->admit_mask, memory_order_acquire);
    heap_lock_nodes(h, &l, room, false);
    if ( l.claims ||
         (atomic_load_explicit(&h->admit_mask, memory_order_acquire) & ~room) )
    {
        heap_unlock_nodes(h, &l);
        return false;
    }
    ASSERT(!rq.charged || !d->outstanding);
    *mfnp = walk_nodes_locked(h, d, rq, first, affinity, room);
    heap_unlock_nodes(h, &l);
    return true;
}

/* The walk once one node's lock could not decide it
 * (walk_nodes_unlocked() gave up): under the locks of the nodes with
 * room, else with the whole heap.  Out of line, as it is rare. */
static nc_noinline uint64_t walk_rest(struct nc_host *h, struct nc_domain *d,
                                      struct alloc_req rq, uint32_t first,
                                      uint64_t affinity)
{
    uint64_t mfn;

    if ( walk_nodes_room(h, d, rq, first, affinity, &mfn) )
        return mfn;
    heap_lock_all(h);
    mfn = walk_nodes_locked(h, d, rq, first, affinity, ~0ULL);
    heap_unlock_all(h);
    return mfn;
}

/*
 * The fallback walk once the first node could not serve the request, or
 * was passed over unlocked as its admit_mask bit was clear (the fast
 * path): without the heap's locks where admit_mask decides it (the first
 * node's bit read again among the others), else under the locks of the
 * nodes with room or of the whole heap, where the first node is tried
 * again.  Out of line: the fast path calls it too, and is kept small.
 */
static nc_noinline uint64_t walk_after_first(struct nc_host *h,
                                             struct nc_domain *d,
                                             struct alloc_req rq,
                                             uint32_t first,
                                             uint64_t affinity)
{
    uint64_t mfn;

    if ( walk_nodes_unlocked(h, d, rq, first, affinity, &mfn) )
        return mfn;
    return walk_rest(h, d, rq, first, affinity);
}

/*
 * Allocate 2^order frames for d (NULL: the hypervisor itself) on the first
 * node (first_node()), then, unless the request is exact, the fallback
 * walk.  Needs d->lock if d is given; and either no heap lock or, with
 * `whole`, the whole heap (heap_lock_all()).
 */
static int alloc_locked(struct nc_host *h, struct nc_domain *d,
                        struct alloc_req rq, bool whole, uint64_t *mfnp)
{
    uint64_t r = 1ULL << rq.order, affinity, mfn;
    uint32_t first;

    ASSERT(!d || nc_lock_held(&d->lock));
    /* tot_pages may be above max_pages (set_max_pages lowers it under a
     * domain's feet).  It counts frames of one host (< NC_MAX_MFN), and r
     * is at most 2^NC_MAX_ORDER: the sum cannot wrap. */
    if ( rq.charged && d->tot_pages + r > d->max_pages )
        return -E2BIG;

    affinity = affinity_of(h, d);
    first = first_node(d, rq, affinity);
    if ( whole )
    {
        ASSERT(heap_all_locked(h));
        mfn = walk_nodes_locked(h, d, rq, first, affinity, ~0ULL);
    }
    else
    {
        mfn = try_first_node(h, d, rq, first);
        if ( mfn == NC_INVALID_MFN && !rq.exact )
            mfn = walk_after_first(h, d, rq, first, affinity);
    }
    if ( mfn == NC_INVALID_MFN )
        return -ENOMEM;
    *mfnp = mfn;
    return 0;
}

/* ========================================================================
 * Request decoding (spec §6)
 * ======================================================================== */

/* gpfn: the extent's first gpfn, for the implicit vNUMA hint of populate;
 * NC_INVALID_GFN for allocations that map no gpfn (no hint). */
static int decode_flags(const struct nc_host *h, const struct nc_domain *d,
                        bool privileged, uint64_t gpfn, uint32_t order,
                        struct nc_memflags f, struct alloc_req *rq)
{
    rq->order = order;
    rq->node = NC_NUMA_NO_NODE;
    rq->exact = false;
    rq->zone_hi = NC_NR_ZONES - 1;
    /* Most requests name nothing: no node, no address limit, no vNUMA. */
    if ( !f.address_bits && !f.vnode && f.node == NC_NUMA_NO_NODE &&
         (!d || !d->vnuma) )
        return 0;
    if ( f.address_bits )
    {
        if ( f.address_bits <= NC_PAGE_SHIFT )
            return -EINVAL;
        rq->zone_hi = NC_MIN(bits_to_zone(f.address_bits),
                             (uint32_t)NC_NR_ZONES - 1);
    }

    if ( f.vnode )
    {
        /* A guest may name its own vnodes, exact or not; without vNUMA the
         * request is ignored, as in Xen. */
        if ( d && d->vnuma )
        {
            /* No vnode given decodes as 0xFF, as in Xen: out of range. */
            if ( f.node >= d->vnuma->nr_vnodes )
                return -EINVAL;
            rq->node = d->vnuma->vnode_to_pnode[f.node];
            rq->exact = f.exact;
        }
    }
    else if ( f.node != NC_NUMA_NO_NODE )
    {
        if ( privileged )
        {
            if ( f.node >= NC_MAX_NUMNODES )
                return -EINVAL;
            rq->node = f.node;
            rq->exact = f.exact;
        }
        else if ( f.exact )
            return -EINVAL;     /* a guest may not pin physical nodes */
    }
    else if ( d && d->vnuma && gpfn != NC_INVALID_GFN )
        /* The implicit hint: a gpfn of vnode v asks for v's pnode. */
        rq->node = vnuma_gpfn_pnode(d->vnuma, gpfn);

    /* A node that does not exist or is offline holds no memory: an exact
     * request for it fails, any other is treated as no request. */
    if ( rq->node != NC_NUMA_NO_NODE &&
         (rq->node >= h->nr_nodes || !h->node[rq->node].online) )
    {
        if ( rq->exact )
            return -ENOMEM;
        rq->node = NC_NUMA_NO_NODE;
        rq->exact = false;
    }
    return 0;
}

/* Order limit of the caller (Xen: 9 for guests, MAX_ORDER for the control
 * domain) and natural alignment of the gpfn. */
static int check_extent(nc_domid_t caller, uint64_t gpfn, uint32_t order)
{
    /* Orders up to 9 are everyone's: one compare on the common path. */
    if ( order > 9 && (order > NC_MAX_ORDER || !caller_is_control(caller)) )
        return -EINVAL;
    if ( gpfn & ((1ULL << order) - 1) || gpfn >= NC_MAX_MFN )
        return -EINVAL;
    return 0;
}

/* ========================================================================
 * Entry points
 * ======================================================================== */

struct give_ctx {
    struct nc_host *h;
    struct nc_domain *d;
    bool whole;                  /* the whole heap is locked already */
};

/* Free [mfn, mfn + nr), which lies in range r, for d (NULL: anonymous
 * pages), keeping node_pages exact: under the node's lock, or under the
 * whole heap if `whole` (whose unlock recounts the headroom).  Inline in
 * each of its callers: out of line, the call and the registers around it
 * cost the fast free 22 of a warm pair's 399 instructions. */
static nc_always_inline void give_piece(struct nc_host *h,
                                        struct nc_domain *d,
                                        const struct nc_hrange *r,
                                        uint64_t mfn, uint64_t nr, bool whole)
{
    struct heap_locks l;
    uint64_t freed;

    if ( d )
    {
        ASSERT_GE(d->node_pages[r->node], nr);
        d->node_pages[r->node] -= nr;
    }
    if ( whole )
    {
        ASSERT(heap_all_locked(h));
        heap_give_range_locked(h, r, mfn, nr);
        return;
    }
    heap_lock_node(h, &l, r->node);
    freed = heap_give_range_locked(h, r, mfn, nr);
    if ( l.tracking )
        h->unclaimed += freed;
    heap_unlock_node(h, &l, r->node);
}

/* p2m_remove callback: free one MFN run, range by range. */
static void give_run(void *arg, uint64_t mfn, uint64_t nr)
{
    struct give_ctx *g = arg;

    while ( nr )
    {
        const struct nc_hrange *r = mfn_hrange(g->h, mfn);
        uint64_t piece;

        BUG_ON(!r);
        piece = NC_MIN(nr, r->end - mfn);
        give_piece(g->h, g->d, r, mfn, piece, g->whole);
        mfn += piece;
        nr -= piece;
    }
}

enum fast_result {
    FAST_DONE,                   /* allocated and mapped */
    FAST_NOT_TAKEN,              /* nothing tried, nothing changed */
    FAST_NOMEM,                  /* no node could serve it: -ENOMEM */
};

/* The fast path's request.  Written out at each use, not kept in a
 * variable: gcc 12 keeps a named request in a stack slot and builds it
 * again byte by byte for every extent (a dozen instructions), where a
 * temporary at each use folds into the code that reads it. */
static nc_always_inline struct alloc_req fast_req(uint32_t order)
{
    return (struct alloc_req){ .node = NC_NUMA_NO_NODE,
                               .order = (uint8_t)order,
                               .zone_hi = NC_NR_ZONES - 1,
                               .exact = false, .charged = true };
}

/* The fast path's tests of the request's flags and of d that hold for as
 * long as d stays locked (nothing in the allocation changes them): no
 * node, vnode or address bits named (`exact` means nothing without a node
 * or vnode), no vNUMA. */
static nc_always_inline bool fast_case(const struct nc_domain *d,
                                       struct nc_memflags f)
{
    return !(f.address_bits | f.vnode) && f.node == NC_NUMA_NO_NODE &&
           !d->vnuma;
}

/*
 * The builders' populate, the common case, in one pass: an extent mapped
 * after every entry of d's p2m (no search, no run replaced, a slot kept),
 * naming no node, address limit or vnode, for a domain without vNUMA,
 * whose claims on the first node cover it or who has none, while no
 * host-wide claim exists.  Its decisions are the general path's, with the
 * general path's helpers (first_node(), plan_redemption(),
 * take_on_node_locked(), the p2m's append), for a request whose every
 * branch this case fixes; what it leaves out is the testing of them.
 * When the first node cannot serve it, the fallback walk follows
 * (walk_after_first(), the general path's; a first node whose admit_mask
 * bit says it admits nothing is passed over unlocked), and FAST_NOMEM is
 * its -ENOMEM.  FAST_NOT_TAKEN, decided with nothing changed, hands the
 * request to the general path.  Needs d->lock.  `hoisted`: the caller,
 * a run of extents under one lock of d (nc_populate_run()), has tested
 * fast_case(d, f) and computed affinity_of(h, d) once for the run (both
 * hold while d stays locked); else they are done here, where the single
 * extent's path did them before (in that order they cost it least).
 */
static nc_always_inline enum fast_result
populate_fast_locked(struct nc_host *h, struct nc_domain *d, uint64_t gpfn,
                     uint32_t order, struct nc_memflags f, bool hoisted,
                     uint64_t affinity, uint64_t *mfnp)
{
    uint64_t r = 1ULL << order, mfn;
    struct redemption p;
    uint32_t first;

    if ( !hoisted && !fast_case(d, f) )
        return FAST_NOT_TAKEN;
    if ( !p2m_appends(&d->p2m, gpfn) || !p2m_reserved(&d->p2m, 2) ||
         d->tot_pages + r > d->max_pages )
        return FAST_NOT_TAKEN;
    if ( !hoisted )
        affinity = affinity_of(h, d);
    first = first_node(d, fast_req(order), affinity);
    p = plan_redemption(d, first, r);
    if ( p.b || p.c )
        return FAST_NOT_TAKEN;
    p = (struct redemption){ p.a, 0, 0 };
    /* A first node whose admit_mask bit says it admits nothing, where d
     * has no claim, is not locked just to fail: the walk that follows
     * (walk_after_first()) reads the bits again, the first node's among
     * them, and tries it again under its lock wherever they cannot
     * decide. */
    mfn = NC_INVALID_MFN;
    if ( p.a || (atomic_load_explicit(&h->admit_mask, memory_order_relaxed) &
                 (1ULL << first)) )
    {
        node_lock(h, first);
        /* Host-wide claims cannot come while a node lock is held; an
         * install's gate can (claims_lock_needed()). */
        if ( claims_lock_needed(h) )
        {
            node_unlock_unchanged(h, first);
            return FAST_NOT_TAKEN;
        }
        mfn = take_on_node_locked(h, d, fast_req(order), first, &p, false);
        node_unlock(h, first);
    }
    if ( mfn == NC_INVALID_MFN )
        mfn = walk_after_first(h, d, fast_req(order), first, affinity);
    if ( mfn == NC_INVALID_MFN )
        return FAST_NOMEM;
    p2m_append(&d->p2m, gpfn, mfn, r);
    *mfnp = mfn;
    return FAST_DONE;
}

/*
 * The general path of a charged extent, d locked: what
 * populate_fast_locked() did not take.  Out of line, so that the fast
 * path's function stays small enough to keep its values in registers.
 */
static nc_noinline int charged_alloc_locked(struct nc_host *h,
                                            struct nc_domain *d,
                                            bool privileged, uint64_t gpfn,
                                            uint32_t order,
                                            struct nc_memflags flags,
                                            uint64_t *mfnp)
{
    bool map = gpfn != NC_INVALID_GFN;
    struct nc_p2m *p2m = map ? &d->p2m : &d->unmapped;
    struct alloc_req rq;
    uint64_t mfn = 0;
    int rc = decode_flags(h, d, privileged, gpfn, order, flags, &rq);

    /* One entry for the new extent, and for a mapping one more for
     * splitting an old run that the extent replaces in its middle. */
    if ( !rc )
        rc = p2m_reserve(p2m, NULL, map ? 2 : 1);
    if ( !rc )
    {
        /* Replacing a mapping allocates the new pages and frees the old
         * in one step, with the whole heap locked: nobody may see both
         * owned at once, or neither. */
        bool replace = map && !p2m_range_unmapped(p2m, gpfn, 1ULL << order);

        rq.charged = true;
        if ( replace )
            heap_lock_all(h);
        rc = alloc_locked(h, d, rq, replace, &mfn);
        if ( !rc && replace )
        {
            struct give_ctx g = { h, d, true };
            uint64_t old;

            /* Xen's order: the new extent is allocated while the old pages
             * still count, then whatever was mapped there is freed. */
            old = p2m_remove_mapped(p2m, gpfn, 1ULL << order, give_run, &g);
            ASSERT_GE(d->tot_pages, old);
            d->tot_pages -= old;
        }
        if ( replace )
            heap_unlock_all(h);
        if ( !rc )
            p2m_insert(p2m, map ? gpfn : mfn, mfn, 1ULL << order);
    }
    *mfnp = mfn;
    return rc;
}

/* One charged extent, d locked: the fast path where it may apply, else
 * the general one.  gpfn as for charged_alloc().  fast_ok: a mapping
 * gpfn, and with `hoisted` (a run, nc_populate_run()) fast_case() too,
 * with affinity_of() in affinity; without, populate_fast_locked() tests
 * and computes them itself. */
static nc_always_inline int charged_alloc_one_locked(struct nc_host *h,
                                                     nc_domid_t caller,
                                                     struct nc_domain *d,
                                                     uint64_t gpfn,
                                                     uint32_t order,
                                                     struct nc_memflags flags,
                                                     bool hoisted,
                                                     bool fast_ok,
                                                     uint64_t affinity,
                                                     uint64_t *mfnp)
{
    enum fast_result fast = fast_ok
                            ? populate_fast_locked(h, d, gpfn, order, flags,
                                                   hoisted, affinity, mfnp)
                            : FAST_NOT_TAKEN;

    if ( fast == FAST_NOMEM )
        return -ENOMEM;
    if ( fast == FAST_NOT_TAKEN )
        return charged_alloc_locked(h, d, caller_is_control(caller), gpfn,
                                    order, flags, mfnp);
    return 0;
}

/*
 * A charged extent for domid: mapped at gpfn (populate_physmap, replacing
 * what was mapped there), or with gpfn NC_INVALID_GFN owned unmapped
 * (increase_reservation).
 */
static int charged_alloc(struct nc_host *h, nc_domid_t caller,
                         nc_domid_t domid, uint64_t gpfn, uint32_t order,
                         struct nc_memflags flags, uint64_t *mfnp)
{
    bool map = gpfn != NC_INVALID_GFN;
    struct nc_domain *d;
    uint64_t mfn = 0;
    int rc = check_extent(caller, map ? gpfn : 0, order);

    if ( rc )
        return rc;
    rc = domain_lock_checked(h, caller, domid, true, &d);
    if ( rc )
        return rc;
    rc = charged_alloc_one_locked(h, caller, d, gpfn, order, flags, false,
                                  map, 0, &mfn);
    domain_unlock(d);
    if ( !rc && mfnp )
        *mfnp = mfn;
    host_autocheck(h);
    return rc;
}

/*
 * The free of a map's end, the common cases: [addr, addr + nr) is the end
 * of the last entry (a populate undone, a balloon giving back its top) or
 * the start of the first (a balloon freeing in gpfn order), so the cut
 * splits nothing and needs no slot, and lies in one node range.  The
 * general path's steps for it (the cut, give_piece()) without its search.
 * False, having changed nothing, for anything else.  Needs d->lock.
 */
static nc_always_inline bool free_end_locked(struct nc_host *h,
                                             struct nc_domain *d,
                                             struct nc_p2m *p2m,
                                             uint64_t addr, uint64_t nr)
{
    const struct nc_hrange *r;
    const struct nc_extent *x;
    uint64_t mfn;

    if ( !p2m->nr )
        return false;
    /* Each end's case spelled out whole: with the range lookup shared
     * after the choice of end, the warm pair took ten instructions more. */
    x = &p2m->e[p2m->nr - 1];
    if ( addr >= x->gpfn && addr + nr == x->gpfn + x->nr )
    {
        mfn = x->mfn + (addr - x->gpfn);
        r = mfn_hrange(h, mfn);
        BUG_ON(!r);
        if ( r->end < mfn + nr )
            return false;
        p2m_trim_last(p2m, nr);
    }
    else
    {
        x = &p2m->e[0];
        if ( addr != x->gpfn || nr > x->nr )
            return false;
        mfn = x->mfn;
        r = mfn_hrange(h, mfn);
        BUG_ON(!r);
        if ( r->end < mfn + nr )
            return false;
        p2m_trim_first(p2m, nr);
    }
    give_piece(h, d, r, mfn, nr, false);
    ASSERT_GE(d->tot_pages, nr);
    d->tot_pages -= nr;
    return true;
}

/* The general path of a free, d locked: what free_end_locked() did not
 * take.  Out of line, as charged_alloc_locked(). */
static nc_noinline int free_extent_locked(struct nc_host *h,
                                          struct nc_domain *d,
                                          struct nc_p2m *p2m, uint64_t addr,
                                          uint64_t nr)
{
    uint64_t mfn = NC_INVALID_MFN;
    uint32_t i = p2m_find_run(p2m, addr, nr, &mfn);
    int rc = 0;

    /* A slot is needed only where the free splits an entry; a free that
     * needs no memory does not fail for the lack of it. */
    if ( i == NC_P2M_NONE )
    {
        rc = p2m_range_mapped(p2m, addr, nr) ? 0 : -ENOENT;
        if ( !rc )
            rc = p2m_reserve(p2m, NULL, 1);
    }
    else if ( p2m_cut_splits(p2m, i, addr, nr) )
        rc = p2m_reserve(p2m, NULL, 1);
    if ( !rc )
    {
        const struct nc_hrange *r = NULL;
        bool whole = true;

        /* Pages of one run in one node range go back under that node's
         * lock; anything else with the whole heap locked, so that the free
         * is one step for whoever looks. */
        if ( i != NC_P2M_NONE )
        {
            r = mfn_hrange(h, mfn);
            BUG_ON(!r);
            whole = r->end < mfn + nr;
        }
        if ( whole )
        {
            struct give_ctx g = { h, d, true };

            heap_lock_all(h);
            p2m_remove(p2m, addr, nr, give_run, &g);
            heap_unlock_all(h);
        }
        else
        {
            /* p2m_reserve() moves entries, not their indexes. */
            p2m_cut(p2m, i, addr, nr);
            give_piece(h, d, r, mfn, nr, false);
        }
        ASSERT_GE(d->tot_pages, nr);
        d->tot_pages -= nr;
    }
    return rc;
}

/* Free 2^order pages of domid at addr: a gpfn of its p2m, or with
 * `unmapped` the MFN of pages it owns unmapped.  All of them must be
 * there (-ENOENT otherwise).  Inline in its two callers: with both of
 * free_end_locked()'s cases in it, the compiler would otherwise call it,
 * and the call costs the common free a third of its instructions. */
static nc_always_inline int free_extent(struct nc_host *h, nc_domid_t caller,
                                        nc_domid_t domid, uint64_t addr,
                                        uint32_t order, bool unmapped)
{
    struct nc_domain *d;
    struct nc_p2m *p2m;
    uint64_t nr;
    int rc = check_extent(caller, addr, order);

    if ( rc )
        return rc;
    nr = 1ULL << order;         /* the order is checked: no wider shift */
    rc = domain_lock_checked(h, caller, domid, true, &d);
    if ( rc )
        return rc;
    p2m = unmapped ? &d->unmapped : &d->p2m;
    if ( !free_end_locked(h, d, p2m, addr, nr) )
        rc = free_extent_locked(h, d, p2m, addr, nr);
    domain_unlock(d);
    host_autocheck(h);
    return rc;
}

int nc_populate(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                uint64_t gpfn, uint32_t order, struct nc_memflags flags,
                uint64_t *mfnp)
{
    /* NC_INVALID_GFN asks for an unmapped extent: no gpfn is that large. */
    if ( gpfn == NC_INVALID_GFN )
        return -EINVAL;
    return charged_alloc(h, caller, domid, gpfn, order, flags, mfnp);
}

uint64_t nc_populate_run(struct nc_host *h, nc_domid_t caller,
                         nc_domid_t domid, const uint64_t *gpfn, uint64_t nr,
                         uint32_t order, struct nc_memflags flags)
{
    struct nc_domain *d = NULL;
    uint64_t affinity = 0, i;
    bool fast = false;

    for ( i = 0; i < nr; i++ )
    {
        uint64_t mfn;
        int rc;

        /* nc_populate()'s tests, in its order, before the domain's. */
        if ( gpfn[i] == NC_INVALID_GFN ||
             check_extent(caller, gpfn[i], order) )
            break;
        if ( !d )
        {
            if ( domain_lock_checked(h, caller, domid, true, &d) )
                break;
            /* Fixed while d stays locked (populate_fast_locked()). */
            fast = fast_case(d, flags);
            affinity = affinity_of(h, d);
        }
        rc = charged_alloc_one_locked(h, caller, d, gpfn[i], order, flags,
                                      true, fast, affinity, &mfn);
        /* The checker, where it runs after every operation, stops the
         * world: d is unlocked for it and locked again for the next
         * extent, as separate calls would. */
        if ( rc || atomic_load_explicit(&h->autocheck, memory_order_relaxed) )
        {
            domain_unlock(d);
            d = NULL;
            host_autocheck(h);
        }
        if ( rc )
            break;
    }
    if ( d )
        domain_unlock(d);
    return i;
}

int nc_increase_reservation(struct nc_host *h, nc_domid_t caller,
                            nc_domid_t domid, uint32_t order,
                            struct nc_memflags flags, uint64_t *mfnp)
{
    return charged_alloc(h, caller, domid, NC_INVALID_GFN, order, flags, mfnp);
}

int nc_depopulate(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                  uint64_t gpfn, uint32_t order)
{
    return free_extent(h, caller, domid, gpfn, order, false);
}

int nc_free_unmapped(struct nc_host *h, nc_domid_t caller, nc_domid_t domid,
                     uint64_t mfn, uint32_t order)
{
    return free_extent(h, caller, domid, mfn, order, true);
}

int nc_alloc_anon(struct nc_host *h, nc_domid_t on_behalf_of, uint32_t order,
                  struct nc_memflags flags, uint64_t *mfnp)
{
    struct nc_domain *d = NULL;
    struct alloc_req rq;
    uint64_t mfn = 0;
    int rc;

    if ( order > NC_MAX_ORDER )
        return -EINVAL;
    if ( on_behalf_of != NC_DOMID_XEN )
    {
        d = domain_get(h, on_behalf_of);
        if ( !d )
            return -ESRCH;
        nc_lock(&d->lock);
    }
    rc = decode_flags(h, d, true, NC_INVALID_GFN, order, flags, &rq);
    if ( !rc )
    {
        rq.charged = false;
        nc_lock(&h->anon_lock);
        rc = p2m_reserve(&h->anon, &h->anon_lock, 1);
        if ( !rc )
            rc = alloc_locked(h, d, rq, false, &mfn);
        if ( !rc )
            p2m_insert(&h->anon, mfn, mfn, 1ULL << order);
        nc_unlock(&h->anon_lock);
    }
    if ( d )
        domain_unlock_put(h, d);
    if ( !rc && mfnp )
        *mfnp = mfn;
    host_autocheck(h);
    return rc;
}

int nc_free_anon(struct nc_host *h, uint64_t mfn, uint32_t order)
{
    struct give_ctx g = { h, NULL, false };
    int rc;

    if ( order > NC_MAX_ORDER || mfn & ((1ULL << order) - 1) ||
         mfn >= NC_MAX_MFN )
        return -EINVAL;
    nc_lock(&h->anon_lock);
    rc = p2m_reserve(&h->anon, &h->anon_lock, 1);
    if ( !rc && !p2m_is_extent(&h->anon, mfn, 1ULL << order) )
        rc = -EINVAL;           /* exactly one allocation, nothing else */
    if ( !rc )
        p2m_remove(&h->anon, mfn, 1ULL << order, give_run, &g);
    nc_unlock(&h->anon_lock);
    host_autocheck(h);
    return rc;
}
