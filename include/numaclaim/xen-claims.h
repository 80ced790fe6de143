/* SPDX-License-Identifier: MIT */
/*
 * numaclaim's public hypercall ABI: what a Xen with NUMA-aware claim sets
 * adds to Debian's 4.17 headers, which lack it.
 *
 *  - XEN_DOMCTL_claim_memory (91): install (SET) or read (GET) a domain's
 *    claim set, following the posted v7 series (docs/spec.md §4);
 *  - XEN_SYSCTL_claim_overview: the host overview Xen's reviewers asked
 *    for: per node {size, free, claimed} plus host totals;
 *  - XEN_DOMCTL_claim_info: a domain's claim counters, including the pages
 *    recalled from it by page offlining (docs/spec.md §7);
 *  - XEN_DOMCTL_node_pages: how many pages a domain owns on each node.
 *
 * The numaclaim-only operations use numbers far above Xen's, so they can
 * never collide with an operation Xen defines.
 *
 * Include after <xenctrl.h>, or after <xen/domctl.h> and <xen/sysctl.h> with
 * __XEN_TOOLS__ defined.
 */
#ifndef NUMACLAIM_XEN_CLAIMS_H
#define NUMACLAIM_XEN_CLAIMS_H

#include <xen/domctl.h>
#include <xen/sysctl.h>

/* ------------------------------------------------------------------------
 * XEN_DOMCTL_claim_memory
 * ------------------------------------------------------------------------ */

#define XEN_DOMCTL_claim_memory           91

struct xen_memory_claim {
    uint64_aligned_t pages;   /* pages still to be allocated */
    uint32_t target;          /* node id or XEN_DOMCTL_CLAIM_MEMORY_HOST */
    uint32_t pad;             /* must be 0 */
};
typedef struct xen_memory_claim xen_memory_claim_t;
DEFINE_XEN_GUEST_HANDLE(xen_memory_claim_t);

#define XEN_DOMCTL_CLAIM_MEMORY_HOST      0x80000000U  /* host-wide */

struct xen_domctl_claim_memory {
    XEN_GUEST_HANDLE_64(xen_memory_claim_t) claim_set;
    uint32_t nr_entries;      /* SET: entries given; GET: IN capacity,
                                 OUT entries needed */
    uint32_t mode;            /* XEN_DOMCTL_CLAIM_MEMORY_SET or _GET */
};
#define XEN_DOMCTL_CLAIM_MEMORY_SET       0U
#define XEN_DOMCTL_CLAIM_MEMORY_GET       1U
#define XEN_DOMCTL_CLAIM_MEMORY_MAX_ENTRIES 65   /* MAX_NUMNODES + 1 */

/* ------------------------------------------------------------------------
 * XEN_DOMCTL_claim_info (numaclaim)
 * ------------------------------------------------------------------------ */

#define XEN_DOMCTL_claim_info             0x4e430001U

struct xen_domctl_claim_info {
    uint64_aligned_t outstanding;  /* OUT: host-wide + node claims */
    uint64_aligned_t host_claim;   /* OUT: the host-wide part */
    uint64_aligned_t recalled;     /* OUT: pages recalled by offlining */
};

/* ------------------------------------------------------------------------
 * XEN_DOMCTL_node_pages (numaclaim)
 * ------------------------------------------------------------------------ */

/* Where a domain's memory is: pages it owns on each node.  Xen has no such
 * query; a toolstack would otherwise have to walk the p2m. */
#define XEN_DOMCTL_node_pages             0x4e430002U

struct xen_domctl_node_pages {
    XEN_GUEST_HANDLE_64(uint64) pages;  /* OUT: pages[n] for n < num_nodes */
    uint32_t num_nodes;       /* IN: capacity; OUT: nodes on the host */
    uint32_t pad;             /* must be 0 */
};

/* ------------------------------------------------------------------------
 * XEN_SYSCTL_claim_overview (numaclaim)
 * ------------------------------------------------------------------------ */

#define XEN_SYSCTL_claim_overview         0x4e430001U

struct xen_sysctl_node_claims {
    uint64_aligned_t size;         /* pages present on the node */
    uint64_aligned_t free;         /* free pages (node_avail) */
    uint64_aligned_t claimed;      /* claimed pages (node_claimed) */
};
typedef struct xen_sysctl_node_claims xen_sysctl_node_claims_t;
DEFINE_XEN_GUEST_HANDLE(xen_sysctl_node_claims_t);

struct xen_sysctl_claim_overview {
    uint32_t num_nodes;       /* IN: capacity of nodes; OUT: nodes on host */
    uint32_t pad;             /* must be 0 */
    uint64_aligned_t total_pages;
    uint64_aligned_t free_pages;
    uint64_aligned_t outstanding_pages;
    XEN_GUEST_HANDLE_64(xen_sysctl_node_claims_t) nodes;  /* may be NULL */
};

/* ------------------------------------------------------------------------
 * XEN_SYSCTL_check_invariants (numaclaim)
 * ------------------------------------------------------------------------ */

/* Run the host's invariant checker (I1-I7) now, at `level` (1: counters,
 * 2: also every frame), so that a test driving a shared host from several
 * processes can prove them through the ABI.  0 if they hold; -EPROTO with
 * the checker's reason in `why` if not. */
#define XEN_SYSCTL_check_invariants       0x4e430002U

struct xen_sysctl_check_invariants {
    uint32_t level;           /* IN: 1 or 2 */
    uint32_t pad;             /* must be 0 */
    char why[112];            /* OUT: NUL-terminated reason, or "" */
};

#endif /* NUMACLAIM_XEN_CLAIMS_H */
