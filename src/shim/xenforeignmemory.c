/* SPDX-License-Identifier: MIT */
/*
 * Stand-in libxenforeignmemory.so.1.  Guest memory is capacity, not bytes,
 * in numaclaim, so nothing can be mapped; but Debian's libxenctrl opens a
 * handle in xc_interface_open() and is linked with BIND_NOW, so every
 * symbol it or libxenguest imports exists with its version
 * (xenforeignmemory.map).  open and close work; every other call fails
 * with ENOSYS.
 */
#include <errno.h>
#include <stdlib.h>

#include <xenforeignmemory.h>

struct xenforeignmemory_handle {
    unsigned int flags;
};

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
                                               unsigned open_flags)
{
    xenforeignmemory_handle *h = calloc(1, sizeof(*h));

    if ( h )
        h->flags = open_flags;
    return h;
}

int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
    free(fmem);
    return 0;
}

void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom,
                           int prot, size_t pages, const xen_pfn_t arr[],
                           int err[])
{
    errno = ENOSYS;
    return NULL;
}

void *xenforeignmemory_map2(xenforeignmemory_handle *fmem, uint32_t dom,
                            void *addr, int prot, int flags, size_t pages,
                            const xen_pfn_t arr[], int err[])
{
    errno = ENOSYS;
    return NULL;
}

int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr,
                           size_t pages)
{
    errno = ENOSYS;
    return -1;
}

int xenforeignmemory_restrict(xenforeignmemory_handle *fmem, domid_t domid)
{
    errno = ENOSYS;
    return -1;
}

xenforeignmemory_resource_handle *xenforeignmemory_map_resource(
    xenforeignmemory_handle *fmem, domid_t domid, unsigned int type,
    unsigned int id, unsigned long frame, unsigned long nr_frames,
    void **paddr, int prot, int flags)
{
    errno = ENOSYS;
    return NULL;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fmem,
                                    xenforeignmemory_resource_handle *fres)
{
    errno = ENOSYS;
    return -1;
}

int xenforeignmemory_resource_size(xenforeignmemory_handle *fmem,
                                   domid_t domid, unsigned int type,
                                   unsigned int id, size_t *size)
{
    errno = ENOSYS;
    return -1;
}
