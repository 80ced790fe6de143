/* SPDX-License-Identifier: MIT */
/*
 * numaclaim's client library for toolstacks: the libxenctrl-style calls
 * for what Debian's libxenctrl 4.17 lacks.  They issue hypercalls through
 * the xencall handle of an existing xc_interface, exactly as libxenctrl
 * does, so they work against any hypervisor that implements the ABI of
 * <numaclaim/xen-claims.h> (numaclaim's, or a Xen with claim sets).
 *
 * Like libxenctrl, each returns 0 on success, or -1 with errno set.
 */
#ifndef NUMACLAIM_XC_CLAIMS_H
#define NUMACLAIM_XC_CLAIMS_H

#include <xenctrl.h>

#include <numaclaim/xen-claims.h>

/*
 * XEN_DOMCTL_claim_memory.  SET installs *nr_entries entries atomically,
 * replacing the domain's claims.  GET: *nr_entries is the capacity of
 * claim_set on entry and the number of entries the domain has on return;
 * if that is larger, the entries that fit are written and the call fails
 * with ERANGE.
 */
int xc_domain_claim_memory(xc_interface *xch, uint32_t domid, uint32_t mode,
                           uint32_t *nr_entries,
                           xen_memory_claim_t *claim_set);

/* A domain's claim counters, including pages recalled by offlining. */
int xc_domain_claim_info(xc_interface *xch, uint32_t domid,
                         struct xen_domctl_claim_info *info);

/* Pages the domain owns on each node: up to *nr_nodes entries of pages are
 * written; *nr_nodes returns the number of nodes the host has. */
int xc_domain_node_pages(xc_interface *xch, uint32_t domid, uint32_t *nr_nodes,
                         uint64_t *pages);

/* XEN_SYSCTL_page_offline_op on MFNs [start, end]: cmd is
 * sysctl_page_offline, sysctl_page_online or sysctl_query_page_offline;
 * status receives one word per MFN.  (Debian ships this call only in
 * libxenguest, as xc_mark_page_offline and friends.) */
int xc_page_offline_op(xc_interface *xch, uint32_t cmd, uint32_t start,
                       uint32_t end, uint32_t *status);

/*
 * The host overview: per node {size, free, claimed} for up to *nr_nodes
 * nodes (nodes may be NULL), the host totals in *host; *nr_nodes returns
 * the number of nodes the host has.
 */
struct xc_claim_overview {
    uint64_t total_pages;
    uint64_t free_pages;
    uint64_t outstanding_pages;
};
int xc_claim_overview(xc_interface *xch, struct xc_claim_overview *host,
                      uint32_t *nr_nodes, xen_sysctl_node_claims_t *nodes);

/* Run the host's invariant checker at level 1 (counters) or 2 (every
 * frame): 0 if I1-I7 hold, else -1 with errno EPROTO and the reason in
 * why (may be NULL). */
int xc_check_invariants(xc_interface *xch, uint32_t level, char *why,
                        size_t whylen);

#endif /* NUMACLAIM_XC_CLAIMS_H */
