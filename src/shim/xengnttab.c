/* SPDX-License-Identifier: MIT */
/*
 * Stand-in libxengnttab.so.1 (grant tables: xengnttab_* maps a guest's
 * granted pages, xengntshr_* grants this process's pages to a guest).
 * Guest memory is capacity, not bytes, in numaclaim, so nothing can be
 * granted or mapped; but Debian's libxenctrl and xenstored link this
 * library with BIND_NOW and xenstored opens a handle at start, so every
 * symbol they import exists with its version (xengnttab.map).  open,
 * close, fd (an eventfd: pollable, never readable) and set_max_grants
 * work; every map, share, copy and dma-buf call fails with ENOSYS, which
 * xenstored reports for a guest it cannot reach (XS_INTRODUCE fails).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <xengnttab.h>

struct xengntdev_handle {
    int fd;
    uint32_t max_grants;
};

static struct xengntdev_handle *handle_open(void)
{
    struct xengntdev_handle *h = calloc(1, sizeof(*h));

    if ( !h )
        return NULL;
    h->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if ( h->fd < 0 )
    {
        free(h);
        return NULL;
    }
    return h;
}

static int handle_close(struct xengntdev_handle *h)
{
    if ( h )
    {
        close(h->fd);
        free(h);
    }
    return 0;
}

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger,
                                 unsigned open_flags)
{
    return handle_open();
}

int xengnttab_close(xengnttab_handle *xgt)
{
    return handle_close(xgt);
}

int xengnttab_fd(xengnttab_handle *xgt)
{
    return xgt->fd;
}

int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants)
{
    xgt->max_grants = nr_grants;
    return 0;
}

void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid,
                              uint32_t ref, int prot)
{
    errno = ENOSYS;
    return NULL;
}

void *xengnttab_map_grant_refs(xengnttab_handle *xgt, uint32_t count,
                               uint32_t *domids, uint32_t *refs, int prot)
{
    errno = ENOSYS;
    return NULL;
}

void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt, uint32_t count,
                                      uint32_t domid, uint32_t *refs,
                                      int prot)
{
    errno = ENOSYS;
    return NULL;
}

void *xengnttab_map_grant_ref_notify(xengnttab_handle *xgt, uint32_t domid,
                                     uint32_t ref, int prot,
                                     uint32_t notify_offset,
                                     evtchn_port_t notify_port)
{
    errno = ENOSYS;
    return NULL;
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address,
                    uint32_t count)
{
    errno = ENOSYS;
    return -1;
}

int xengnttab_grant_copy(xengnttab_handle *xgt, uint32_t count,
                         xengnttab_grant_copy_segment_t *segs)
{
    errno = ENOSYS;
    return -1;
}

int xengnttab_dmabuf_exp_from_refs(xengnttab_handle *xgt, uint32_t domid,
                                   uint32_t flags, uint32_t count,
                                   const uint32_t *refs, uint32_t *fd)
{
    errno = ENOSYS;
    return -1;
}

int xengnttab_dmabuf_exp_wait_released(xengnttab_handle *xgt, uint32_t fd,
                                       uint32_t wait_to_ms)
{
    errno = ENOSYS;
    return -1;
}

int xengnttab_dmabuf_imp_to_refs(xengnttab_handle *xgt, uint32_t domid,
                                 uint32_t fd, uint32_t count, uint32_t *refs)
{
    errno = ENOSYS;
    return -1;
}

int xengnttab_dmabuf_imp_release(xengnttab_handle *xgt, uint32_t fd)
{
    errno = ENOSYS;
    return -1;
}

xengntshr_handle *xengntshr_open(struct xentoollog_logger *logger,
                                 unsigned open_flags)
{
    return handle_open();
}

int xengntshr_close(xengntshr_handle *xgs)
{
    return handle_close(xgs);
}

int xengntshr_fd(xengntshr_handle *xgs)
{
    return xgs->fd;
}

void *xengntshr_share_pages(xengntshr_handle *xgs, uint32_t domid, int count,
                            uint32_t *refs, int writable)
{
    errno = ENOSYS;
    return NULL;
}

void *xengntshr_share_page_notify(xengntshr_handle *xgs, uint32_t domid,
                                  uint32_t *ref, int writable,
                                  uint32_t notify_offset,
                                  evtchn_port_t notify_port)
{
    errno = ENOSYS;
    return NULL;
}

int xengntshr_unshare(xengntshr_handle *xgs, void *start_address,
                      uint32_t count)
{
    errno = ENOSYS;
    return -1;
}
