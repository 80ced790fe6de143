/* SPDX-License-Identifier: MIT */
/*
 * Host specs and sizes as people type them ("4x64G;cpus=16"), parsed into
 * the core's host configuration.  Hosted C shared by the hypercall layer
 * (NUMACLAIM_HOST), the toolstack, the storm and the command; the core
 * itself only builds hosts from a struct nc_host_config.
 *
 * Grammar (README "Usage" has examples):
 *
 *   spec    := nodes { ";" option }        (each option at most once)
 *   option  := "dist=" d { "," d }         (N*N entries, row-major)
 *            | "cpus=" c                   (c pCPUs on every node)
 *            | "cpus=" c { "," c }         (one count per node)
 *   nodes   := N "x" size  |  size { "," size }
 *   size    := digits [ "K" | "M" | "G" | "T" ]     (either case)
 *
 * A size is binary (K is 2^10 bytes), in bytes without a suffix, and a
 * whole number of 4 KiB pages below 2^52 bytes: the one size grammar of
 * host specs and of the storm's --mix.  A distance is 10 to itself,
 * 11..255 to another node; 255 means unreachable (ACPI SLIT, Xen's
 * NUMA_NO_DISTANCE: NC_NO_DISTANCE).  A host needs some memory and a CPU.
 * Node i's frames start where node i-1's end, node 0 at MFN 0; pCPUs are
 * numbered node by node, NC_DEFAULT_NODE_CPUS per node by default.
 */
#ifndef NC_HOSTSPEC_H
#define NC_HOSTSPEC_H

#include <stddef.h>
#include <stdint.h>

#include <numaclaim/core.h>

/*
 * Parse a host spec into cfg, ready for nc_host_create.  On error returns
 * -EINVAL and writes a message naming the bad part into err (if
 * errlen > 0).
 */
int nc_host_config_parse(const char *spec, struct nc_host_config *cfg,
                         char *err, size_t errlen);

/*
 * The n characters at s as a size (the grammar above) in pages.  0, or
 * -EINVAL with *why saying what is wrong ("expected a number with an
 * optional K, M, G or T suffix", "too large", "not a multiple of 4K").
 */
int nc_parse_size(const char *s, size_t n, uint64_t *pages, const char **why);

#endif /* NC_HOSTSPEC_H */
