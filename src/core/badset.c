/* SPDX-License-Identifier: MIT */
/*
 * The bad set: frames that are offlined, broken or pending offline, as an
 * AVL tree keyed by MFN.
 *
 * A failing DIMM takes out frames by the hundred thousand, in any order
 * (the storm offlines top-down), so every operation must be O(log n):
 * find, lower bound, insert and remove each walk one root-to-leaf path
 * (height <= 1.44 log2(n + 2), so at most 46 levels for 2^32 frames, which
 * bounds the recursion of remove and the path insert keeps).  Insert
 * rebalances on its way back up only while heights change: O(1)
 * amortised.  Iteration is by lower bound from the previous MFN plus one,
 * O(log n) a step.
 *
 * Memory: nodes come from a free list refilled in chunks by
 * badset_reserve(), which drops the heap's locks around the allocation as
 * p2m_grow() does, so that insertion itself never allocates.  Each node
 * has a set of its own, read and changed under the node's lock: the free
 * path looks for frames pending offline under the lock it holds, and
 * offlining a free frame takes no other.
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
        BUG_ON(depth == BAD_MAX_HEIGHT);    /* a broken tree */
        ASSERT(mfn != (*p)->mfn);           /* callers look first */
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
