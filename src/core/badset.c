/* SPDX-License-Identifier: MIT */
/*
 * The bad set: a node's frames that are offlined, broken or pending
 * offline, under the node's lock.
 *
 * Offlined frames are bits of a bitmap made in chunks of 2^15 frames
 * (4 KiB of bits for 128 MiB of memory), each chunk allocated when one of
 * its frames first goes offline or pending, and kept until the host goes:
 * a failing DIMM takes frames out by the hundred thousand, so offlining
 * one costs a bit set, and 16 GiB scattered over a host costs a few MiB.
 *
 * Pending frames (owned: offlined when freed) and broken frames (never
 * onlined again) are few; they are an AVL tree keyed by MFN, whose find,
 * lower bound, insert and remove each walk one root-to-leaf path (height
 * <= 1.44 log2(n + 2), so at most 46 levels for 2^32 frames, which bounds
 * the recursion of remove and the path insert keeps).  Insert rebalances
 * on its way back up only while heights change: O(1) amortised.
 * Iteration is by lower bound from the previous MFN plus one, O(log n) a
 * step.  A broken frame that is offlined is in both.
 *
 * Memory: tree nodes come from a free list refilled in chunks by
 * badset_reserve(), and bitmap chunks from offmap_reserve(); both drop the
 * heap's locks around the allocation as p2m_grow() does, so that nothing
 * under a node lock allocates.  The free path looks for frames pending
 * offline under the lock it holds, and offlining a free frame takes no
 * other heap lock (but claims_lock while host-wide claims exist).
 */
#include "private.h"

#define BAD_CHUNK 256               /* nodes allocated at a time */

struct nc_badchunk {
    struct nc_badchunk *next;
    struct nc_badpage node[BAD_CHUNK];
};

static int32_t height(const struct nc_badpage *b)
{
    return b ? b->height : 0;
}

static void update(struct nc_badpage *b)
{
    b->height = 1 + NC_MAX(height(b->left), height(b->right));
}

static struct nc_badpage *rotate_right(struct nc_badpage *b)
{
    struct nc_badpage *l = b->left;

    b->left = l->right;
    l->right = b;
    update(b);
    update(l);
    return l;
}

static struct nc_badpage *rotate_left(struct nc_badpage *b)
{
    struct nc_badpage *r = b->right;

    b->right = r->left;
    r->left = b;
    update(b);
    update(r);
    return r;
}

/* Restore the AVL balance of b, whose subtrees differ by at most 2. */
static struct nc_badpage *rebalance(struct nc_badpage *b)
{
    int32_t bal;

    update(b);
    bal = height(b->left) - height(b->right);
    if ( bal > 1 )
    {
        if ( height(b->left->left) < height(b->left->right) )
            b->left = rotate_left(b->left);
        return rotate_right(b);
    }
    if ( bal < -1 )
    {
        if ( height(b->right->right) < height(b->right->left) )
            b->right = rotate_right(b->right);
        return rotate_left(b);
    }
    return b;
}

/* ========================================================================
 * Lookups
 * ======================================================================== */

struct nc_badpage *badset_lower_bound(const struct nc_badset *s,
                                      uint64_t from)
{
    struct nc_badpage *b = s->root, *best = NULL;

    while ( b )
        if ( b->mfn < from )
            b = b->right;
        else
        {
            best = b;
            b = b->left;
        }
    return best;
}

struct nc_badpage *badset_find(const struct nc_badset *s, uint64_t mfn)
{
    struct nc_badpage *b = badset_lower_bound(s, mfn);

    return b && b->mfn == mfn ? b : NULL;
}

struct nc_badpage *badset_next(const struct nc_badset *s,
                               const struct nc_badpage *b)
{
    return b->mfn == UINT64_MAX ? NULL : badset_lower_bound(s, b->mfn + 1);
}

/* ========================================================================
 * Changes
 * ======================================================================== */

int badset_reserve(struct nc_host *h, uint32_t node)
{
    struct nc_badset *s = &h->node[node].bad;
    struct nc_badchunk *c;

    ASSERT(heap_all_locked(h));
    if ( s->spare )
        return 0;
    heap_unlock_all(h);
    c = nc_zalloc(sizeof(*c));
    heap_lock_all(h);
    if ( !c )
        return s->spare ? 0 : -ENOMEM;
    c->next = s->chunks;
    s->chunks = c;
    for ( unsigned int i = 0; i < BAD_CHUNK; i++ )
    {
        c->node[i].right = s->spare;
        s->spare = &c->node[i];
    }
    return 0;
}

/* The longest path insert keeps: 64 > 46, the most levels above. */
#define BAD_MAX_HEIGHT 64

/*
 * Insert iteratively: down to the leaf, then back up rebalancing only
 * while the subtree's height changed (once a subtree is as high as
 * before, nothing above it changes), so an insert costs one descent and
 * O(1) rebalancing amortised.
 */
void badset_insert(struct nc_badset *s, uint64_t mfn, uint32_t flags)
{
    struct nc_badpage *n = s->spare, **link[BAD_MAX_HEIGHT], **p = &s->root;
    unsigned int depth = 0;

    BUG_ON(!n);                 /* badset_reserve() first */
    s->spare = n->right;
    *n = (struct nc_badpage){ .mfn = mfn, .flags = flags, .height = 1 };
    while ( *p )
    {
        BUG_ON(depth == BAD_MAX_HEIGHT || mfn == (*p)->mfn);
        link[depth++] = p;
        p = mfn < (*p)->mfn ? &(*p)->left : &(*p)->right;
    }
    *p = n;
    while ( depth-- )
    {
        struct nc_badpage **q = link[depth];
        int32_t before = (*q)->height;

        *q = rebalance(*q);
        if ( (*q)->height == before )
            break;
    }
    s->nr++;
}

/* Unlink the smallest node of a non-empty subtree into *min. */
static struct nc_badpage *take_min(struct nc_badpage *root,
                                   struct nc_badpage **min)
{
    if ( !root->left )
    {
        *min = root;
        return root->right;
    }
    root->left = take_min(root->left, min);
    return rebalance(root);
}

static struct nc_badpage *remove_at(struct nc_badpage *root, uint64_t mfn)
{
    BUG_ON(!root);
    if ( mfn < root->mfn )
        root->left = remove_at(root->left, mfn);
    else if ( mfn > root->mfn )
        root->right = remove_at(root->right, mfn);
    else
    {
        struct nc_badpage *l = root->left, *r = root->right, *m;

        if ( !r )
            return l;
        r = take_min(r, &m);
        m->left = l;
        m->right = r;
        return rebalance(m);
    }
    return rebalance(root);
}

void badset_remove(struct nc_badset *s, struct nc_badpage *b)
{
    s->root = remove_at(s->root, b->mfn);
    ASSERT(s->nr > 0);
    s->nr--;
    b->right = s->spare;
    s->spare = b;
}

void badset_fini(struct nc_badset *s)
{
    while ( s->chunks )
    {
        struct nc_badchunk *c = s->chunks;

        s->chunks = c->next;
        nc_free(c);
    }
    nc_memzero(s, sizeof(*s));
}

/* Level-2 check: sorted, balanced, heights exact; the node count. */
static int32_t check_at(const struct nc_badpage *b, uint64_t lo, uint64_t hi,
                        bool *ok, uint32_t *nr)
{
    int32_t l, r;

    if ( !b )
        return 0;
    if ( b->mfn < lo || b->mfn > hi )
        *ok = false;
    (*nr)++;
    l = check_at(b->left, lo, b->mfn ? b->mfn - 1 : 0, ok, nr);
    r = check_at(b->right, b->mfn + 1, hi, ok, nr);
    if ( (b->left && b->mfn == 0) || l - r > 1 || r - l > 1 ||
         b->height != 1 + NC_MAX(l, r) )
        *ok = false;
    return 1 + NC_MAX(l, r);
}

bool badset_check(const struct nc_badset *s)
{
    bool ok = true;
    uint32_t nr = 0;

    check_at(s->root, 0, UINT64_MAX, &ok, &nr);
    return ok && nr == s->nr;
}

/* ========================================================================
 * Offlined frames
 * ======================================================================== */

#define OFF_CHUNK_FRAMES (1ULL << NC_OFF_CHUNK_SHIFT)
#define OFF_CHUNK_BYTES  (OFF_CHUNK_FRAMES / 8)

int offmap_init(struct nc_node *nd)
{
    nd->nr_off_chunks = ((nd->end - nd->base) >> NC_OFF_CHUNK_SHIFT) + 1;
    nd->off_chunk = nc_zalloc(nd->nr_off_chunks * sizeof(*nd->off_chunk));
    if ( !nd->off_chunk )
    {
        nd->nr_off_chunks = 0;
        return -ENOMEM;
    }
    return 0;
}

void offmap_fini(struct nc_node *nd)
{
    for ( uint64_t c = 0; c < nd->nr_off_chunks; c++ )
        nc_free(nd->off_chunk[c]);
    nc_free(nd->off_chunk);
    nd->off_chunk = NULL;
    nd->nr_off_chunks = 0;
}

int offmap_reserve(struct nc_host *h, uint32_t node, uint64_t mfn)
{
    struct nc_node *nd = &h->node[node];
    uint64_t c = (mfn - nd->base) >> NC_OFF_CHUNK_SHIFT;
    uint64_t *bits;

    ASSERT(heap_all_locked(h));
    BUG_ON(mfn < nd->base || c >= nd->nr_off_chunks);
    if ( nd->off_chunk[c] )
        return 0;
    heap_unlock_all(h);
    bits = nc_zalloc(OFF_CHUNK_BYTES);
    heap_lock_all(h);
    if ( nd->off_chunk[c] )
        nc_free(bits);          /* made meanwhile */
    else if ( bits )
        nd->off_chunk[c] = bits;
    return nd->off_chunk[c] ? 0 : -ENOMEM;
}

static uint64_t *off_word(struct nc_node *nd, uint64_t mfn)
{
    uint64_t i = mfn - nd->base;

    BUG_ON(!offmap_ready(nd, mfn));
    return &nd->off_chunk[i >> NC_OFF_CHUNK_SHIFT]
                         [(i & (OFF_CHUNK_FRAMES - 1)) >> 6];
}

void offmap_set(struct nc_node *nd, uint64_t mfn)
{
    uint64_t *w = off_word(nd, mfn), bit = 1ULL << ((mfn - nd->base) & 63);

    ASSERT(!(*w & bit));
    *w |= bit;
}

void offmap_clear(struct nc_node *nd, uint64_t mfn)
{
    uint64_t *w = off_word(nd, mfn), bit = 1ULL << ((mfn - nd->base) & 63);

    ASSERT(*w & bit);
    *w &= ~bit;
}

uint64_t offmap_next(const struct nc_node *nd, uint64_t from)
{
    uint64_t i = from < nd->base ? 0 : from - nd->base;

    while ( (i >> NC_OFF_CHUNK_SHIFT) < nd->nr_off_chunks )
    {
        const uint64_t *bits = nd->off_chunk[i >> NC_OFF_CHUNK_SHIFT];
        uint64_t word;

        if ( !bits )
        {
            i = ((i >> NC_OFF_CHUNK_SHIFT) + 1) << NC_OFF_CHUNK_SHIFT;
            continue;
        }
        word = bits[(i & (OFF_CHUNK_FRAMES - 1)) >> 6] & (~0ULL << (i & 63));
        if ( word )
            return nd->base + (i & ~63ULL) + (uint64_t)__builtin_ctzll(word);
        i = (i | 63) + 1;
    }
    return NC_INVALID_MFN;
}
