/* SPDX-License-Identifier: MIT */
/*
 * Internal to the hypercall layer: Debian's Xen public headers, the
 * numaclaim ABI additions, and the three decoders.
 */
#ifndef NC_XEN_DECODE_H
#define NC_XEN_DECODE_H

#include <stdint.h>

#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/memory.h>
#include <xen/sysctl.h>

#include <numaclaim/xen-claims.h>

#include "xen.h"

/* The address a guest handle holds. */
#define HADDR(h) ((uint64_t)(uintptr_t)(h).p)

/* Xen's getdomaininfo record of a domain (domctl and sysctl share it). */
void fill_domaininfo(const struct nc_domain_info *i,
                     struct xen_domctl_getdomaininfo *o);

long do_domctl(struct nc_host *h, nc_domid_t caller, uint64_t uarg);
long do_sysctl(struct nc_host *h, nc_domid_t caller, uint64_t uarg);
long do_memory_op(struct nc_host *h, nc_domid_t caller, uint64_t cmd,
                  uint64_t uarg);

#endif /* NC_XEN_DECODE_H */
