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

/* Metadata memory comes from the core's environment (nc_zalloc, nc_free),
 * so that the fault suite can fail any allocation of a hypercall too. */
#include "../core/env.h"

/* The address a guest handle holds. */
#define HADDR(h) ((uint64_t)(uintptr_t)(h).p)

/* Xen's getdomaininfo record of a domain (domctl and sysctl share it). */
void fill_domaininfo(const struct nc_domain_info *i,
                     struct xen_domctl_getdomaininfo *o);

/* platform.c: the CPU layout (numbered node by node, one socket per
 * node, one thread per core), pools, console and vCPUs. */
struct xen_topology {
    uint32_t nr_cpus, nr_nodes, nr_online_nodes;
    uint32_t cpus[NC_MAX_NUMNODES];
    uint32_t first_cpu[NC_MAX_NUMNODES];
};
void read_topology(struct nc_host *h, struct xen_topology *t);
/* Node (= socket) of a pCPU, or NC_NUMA_NO_NODE. */
uint32_t topology_cpu_node(const struct xen_topology *t, uint32_t cpu);
long sysctl_cputopoinfo(struct nc_host *h, struct xen_sysctl_cputopoinfo *ti);
long sysctl_cpupool_op(struct nc_host *h, nc_domid_t caller,
                       struct xen_sysctl_cpupool_op *op);
long sysctl_readconsole(struct nc_host *h, struct xen_sysctl_readconsole *r);
long sysctl_debug_keys(struct nc_host *h, struct xen_sysctl_debug_keys *k);
long domctl_getnodeaffinity(struct nc_host *h, nc_domid_t caller,
                            struct xen_domctl *op);
long domctl_getvcpuinfo(struct nc_host *h, nc_domid_t caller,
                        struct xen_domctl *op, bool *copyback);
long domctl_getvcpuaffinity(struct nc_host *h, nc_domid_t caller,
                            struct xen_domctl *op);

/* version.c: __HYPERVISOR_xen_version; cmdline is what XENVER_commandline
 * reports. */
long do_xen_version(const char *cmdline, nc_domid_t caller, uint64_t cmd,
                    uint64_t arg);

long do_domctl(struct nc_host *h, nc_domid_t caller, uint64_t uarg);
long do_sysctl(struct nc_host *h, nc_domid_t caller, uint64_t uarg);
long do_memory_op(struct nc_host *h, nc_domid_t caller, uint64_t cmd,
                  uint64_t uarg);

#endif /* NC_XEN_DECODE_H */
