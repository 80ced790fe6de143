/* SPDX-License-Identifier: MIT */
/*
 * The hypercall layer: Xen's ABI in, core calls out.
 *
 * nc_xen_hypercall() takes a hypercall number and its five register
 * arguments exactly as a guest kernel would pass them to Xen, decodes the
 * structures of Debian's Xen 4.17 public headers (interface version 0x15)
 * from the caller's memory, calls the core and encodes the result: 0 or a
 * negative errno, or for reservation operations the number of extents
 * done.  docs/xen-abi.md lists what is modelled.
 */
#ifndef NC_XEN_H
#define NC_XEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <numaclaim/core.h>

struct nc_xen;

/* A host built from a spec; err receives the parser's message. */
int nc_xen_create(const char *spec, struct nc_xen **xp, char *err,
                  size_t errlen);
void nc_xen_destroy(struct nc_xen *x);
struct nc_host *nc_xen_host(struct nc_xen *x);

/* One hypercall on behalf of domain `caller`. */
long nc_xen_hypercall(struct nc_xen *x, nc_domid_t caller, unsigned int op,
                      const uint64_t arg[5]);

/* guest.c: copies through guest handles, -EFAULT on a bad address.  The
 * handles are addresses in process `pid` for the calling thread's next
 * hypercalls (hostd: the client it serves); 0 means this process. */
void nc_xen_set_caller_pid(int pid);
int copy_from_guest(void *dst, uint64_t gaddr, size_t len);
int copy_to_guest(uint64_t gaddr, const void *src, size_t len);

/* Several copies in one: the same result and the same guest memory
 * afterwards as copying c[0], c[1], ... one at a time and stopping at the
 * first -EFAULT, in one system call per GUEST_BATCH_MAX pieces.  For whole
 * arrays and for the several arrays of one hypercall. */
struct guest_copy {
    uint64_t gaddr;
    void *local;
    size_t len;
};
#define GUEST_BATCH_MAX 128       /* pieces per system call (<= UIO_MAXIOV) */
int copy_from_guest_v(const struct guest_copy *c, unsigned int nr);
int copy_to_guest_v(const struct guest_copy *c, unsigned int nr);

/* A hypercall buffer of this process is live from add to del: copies
 * wholly inside it, for this process's own hypercalls, are memcpy. */
void nc_xen_buffer_add(const void *p, size_t len);
void nc_xen_buffer_del(const void *p);

#endif /* NC_XEN_H */
