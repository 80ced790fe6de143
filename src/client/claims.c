/* SPDX-License-Identifier: MIT */
/*
 * The client library (include/numaclaim/xc-claims.h): build a domctl or
 * sysctl in hypercall buffers allocated from the xc_interface's own xencall
 * handle and issue it with xencall1(), as libxenctrl's do_domctl() does.
 * The layer below (numaclaim's stand-in libxencall, or Debian's real one on
 * a Xen with claim sets) cannot tell the difference.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <xencall.h>

#include <numaclaim/xc-claims.h>

/* Issue one hypercall whose single argument is a buffer of `size` bytes
 * copied in from and back out to `arg`; `extra`, if non-NULL, is a second
 * buffer of `extra_size` bytes whose address the caller stores into the
 * first via `link`. */
static int hypercall_bounced(xc_interface *xch, unsigned int op, void *arg,
                             size_t size, void *extra, size_t extra_size,
                             void (*link)(void *arg, void *extra_buf))
{
    xencall_handle *xcall = xc_interface_xcall_handle(xch);
    void *buf = NULL, *xbuf = NULL;
    int rc = -1, saved;

    buf = xencall_alloc_buffer(xcall, size);
    if ( extra_size )
        xbuf = xencall_alloc_buffer(xcall, extra_size);
    if ( !buf || (extra_size && !xbuf) )
    {
        errno = ENOMEM;
        goto out;
    }
    memcpy(buf, arg, size);
    if ( extra_size )
    {
        memcpy(xbuf, extra, extra_size);
        link(buf, xbuf);
    }
    rc = xencall1(xcall, op, (uint64_t)(uintptr_t)buf);
    saved = errno;
    memcpy(arg, buf, size);
    if ( extra_size )
        memcpy(extra, xbuf, extra_size);
    errno = saved;
 out:
    saved = errno;
    if ( xbuf )
        xencall_free_buffer(xcall, xbuf);
    if ( buf )
        xencall_free_buffer(xcall, buf);
    errno = saved;
    return rc < 0 ? -1 : 0;
}

static void link_claim_set(void *arg, void *extra)
{
    struct xen_domctl *d = arg;
    struct xen_domctl_claim_memory *c = (void *)&d->u;

    set_xen_guest_handle_raw(c->claim_set, (xen_memory_claim_t *)extra);
}

int xc_domain_claim_memory(xc_interface *xch, uint32_t domid, uint32_t mode,
                           uint32_t *nr_entries, xen_memory_claim_t *claim_set)
{
    struct xen_domctl d = {
        .cmd = XEN_DOMCTL_claim_memory,
        .interface_version = XEN_DOMCTL_INTERFACE_VERSION,
        .domain = (domid_t)domid,
    };
    struct xen_domctl_claim_memory *c = (void *)&d.u;
    uint32_t n = *nr_entries;
    size_t bytes;
    int rc;

    if ( n > XEN_DOMCTL_CLAIM_MEMORY_MAX_ENTRIES )
        n = XEN_DOMCTL_CLAIM_MEMORY_MAX_ENTRIES + 1;  /* let Xen say E2BIG */
    bytes = (size_t)n * sizeof(*claim_set);
    c->nr_entries = *nr_entries;
    c->mode = mode;
    rc = hypercall_bounced(xch, __HYPERVISOR_domctl, &d, sizeof(d), claim_set,
                           claim_set ? bytes : 0, link_claim_set);
    if ( mode == XEN_DOMCTL_CLAIM_MEMORY_GET )
        *nr_entries = c->nr_entries;
    return rc;
}

int xc_domain_claim_info(xc_interface *xch, uint32_t domid,
                         struct xen_domctl_claim_info *info)
{
    struct xen_domctl d = {
        .cmd = XEN_DOMCTL_claim_info,
        .interface_version = XEN_DOMCTL_INTERFACE_VERSION,
        .domain = (domid_t)domid,
    };
    int rc = hypercall_bounced(xch, __HYPERVISOR_domctl, &d, sizeof(d), NULL,
                               0, NULL);

    if ( !rc )
        memcpy(info, &d.u, sizeof(*info));
    return rc;
}

static void link_node_pages(void *arg, void *extra)
{
    struct xen_domctl *d = arg;
    struct xen_domctl_node_pages *u = (void *)&d->u;

    set_xen_guest_handle_raw(u->pages, (uint64_t *)extra);
}

int xc_domain_node_pages(xc_interface *xch, uint32_t domid, uint32_t *nr_nodes,
                         uint64_t *pages)
{
    struct xen_domctl d = {
        .cmd = XEN_DOMCTL_node_pages,
        .interface_version = XEN_DOMCTL_INTERFACE_VERSION,
        .domain = (domid_t)domid,
    };
    struct xen_domctl_node_pages *u = (void *)&d.u;
    int rc;

    u->num_nodes = pages ? *nr_nodes : 0;
    rc = hypercall_bounced(xch, __HYPERVISOR_domctl, &d, sizeof(d), pages,
                           (size_t)u->num_nodes * sizeof(*pages),
                           link_node_pages);
    if ( !rc )
        *nr_nodes = u->num_nodes;
    return rc;
}

static void link_status(void *arg, void *extra)
{
    struct xen_sysctl *s = arg;

    set_xen_guest_handle_raw(s->u.page_offline.status, (uint32_t *)extra);
}

int xc_page_offline_op(xc_interface *xch, uint32_t cmd, uint32_t start,
                       uint32_t end, uint32_t *status)
{
    struct xen_sysctl s = {
        .cmd = XEN_SYSCTL_page_offline_op,
        .interface_version = XEN_SYSCTL_INTERFACE_VERSION,
        .u.page_offline = { .cmd = cmd, .start = start, .end = end },
    };

    if ( end < start )
    {
        errno = EINVAL;
        return -1;
    }
    /* A NULL status reaches the hypervisor as NULL: EFAULT from there. */
    return hypercall_bounced(xch, __HYPERVISOR_sysctl, &s, sizeof(s), status,
                             status ? ((size_t)end - start + 1) * sizeof(*status)
                                    : 0,
                             link_status);
}

static void link_nodes(void *arg, void *extra)
{
    struct xen_sysctl *s = arg;
    struct xen_sysctl_claim_overview *o = (void *)&s->u;

    set_xen_guest_handle_raw(o->nodes, (xen_sysctl_node_claims_t *)extra);
}

int xc_claim_overview(xc_interface *xch, struct xc_claim_overview *host,
                      uint32_t *nr_nodes, xen_sysctl_node_claims_t *nodes)
{
    struct xen_sysctl s = {
        .cmd = XEN_SYSCTL_claim_overview,
        .interface_version = XEN_SYSCTL_INTERFACE_VERSION,
    };
    struct xen_sysctl_claim_overview *o = (void *)&s.u;
    uint32_t cap = nodes ? *nr_nodes : 0;
    int rc;

    o->num_nodes = cap;
    rc = hypercall_bounced(xch, __HYPERVISOR_sysctl, &s, sizeof(s), nodes,
                           (size_t)cap * sizeof(*nodes), link_nodes);
    if ( rc )
        return rc;
    *nr_nodes = o->num_nodes;
    if ( host )
    {
        host->total_pages = o->total_pages;
        host->free_pages = o->free_pages;
        host->outstanding_pages = o->outstanding_pages;
    }
    return 0;
}

int xc_check_invariants(xc_interface *xch, uint32_t level, char *why,
                        size_t whylen)
{
    struct xen_sysctl s = {
        .cmd = XEN_SYSCTL_check_invariants,
        .interface_version = XEN_SYSCTL_INTERFACE_VERSION,
    };
    struct xen_sysctl_check_invariants *c = (void *)&s.u;
    int rc;

    c->level = level;
    rc = hypercall_bounced(xch, __HYPERVISOR_sysctl, &s, sizeof(s), NULL, 0,
                           NULL);
    if ( why && whylen )
        snprintf(why, whylen, "%.*s", (int)sizeof(c->why), c->why);
    return rc;
}
