/* SPDX-License-Identifier: MIT */
/*
 * Hypercall entry: the host of the process, and dispatch by hypercall
 * number to the domctl, sysctl, memory_op and xen_version decoders, plus
 * multicall (Debian's libxenctrl 4.17 sends memory_op as a one-entry
 * multicall).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <stddef.h>

#include "decode.h"
#include "hostspec.h"

struct nc_xen {
    struct nc_host *host;
    char cmdline[1024];          /* XENVER_commandline: "host=SPEC" */
};

int nc_xen_create(const char *spec, struct nc_xen **xp, char *err,
                  size_t errlen)
{
    struct nc_host_config cfg;
    struct nc_xen *x;
    int rc;

    *xp = NULL;
    rc = nc_host_config_parse(spec, &cfg, err, errlen);
    if ( rc )
        return rc;
    x = nc_zalloc(sizeof(*x));
    if ( !x )
        return -ENOMEM;
    snprintf(x->cmdline, sizeof(x->cmdline), "host=%s", spec);
    rc = nc_host_create(&cfg, &x->host);
    if ( rc )
    {
        nc_free(x);
        return rc;
    }
    *xp = x;
    return 0;
}

void nc_xen_destroy(struct nc_xen *x)
{
    if ( !x )
        return;
    nc_host_destroy(x->host);
    nc_free(x);
}

struct nc_host *nc_xen_host(struct nc_xen *x)
{
    return x->host;
}

/* A multicall runs each entry in order and stores each result in the
 * entry; the hypercall itself succeeds unless the list cannot be read. */
static long do_multicall(struct nc_xen *x, nc_domid_t caller, uint64_t list,
                         uint64_t nr)
{
    for ( uint64_t i = 0; i < nr; i++ )
    {
        multicall_entry_t e;
        uint64_t addr = list + i * sizeof(e), args[5];

        if ( copy_from_guest(&e, addr, sizeof(e)) )
            return -EFAULT;
        for ( unsigned int j = 0; j < 5; j++ )
            args[j] = e.args[j];
        /* No nested multicalls, as in Xen; an op that does not fit the
         * hypercall number is no operation at all. */
        e.result = e.op == __HYPERVISOR_multicall || e.op != (unsigned int)e.op
                   ? (xen_ulong_t)-ENOSYS
                   : (xen_ulong_t)nc_xen_hypercall(x, caller,
                                                   (unsigned int)e.op, args);
        if ( copy_to_guest(addr + offsetof(multicall_entry_t, result),
                           &e.result, sizeof(e.result)) )
            return -EFAULT;
    }
    return 0;
}

long nc_xen_hypercall(struct nc_xen *x, nc_domid_t caller, unsigned int op,
                      const uint64_t arg[5])
{
    switch ( op )
    {
    case __HYPERVISOR_domctl:
        return do_domctl(x->host, caller, arg[0]);

    case __HYPERVISOR_sysctl:
        return do_sysctl(x->host, caller, arg[0]);

    case __HYPERVISOR_memory_op:
        return do_memory_op(x->host, caller, arg[0], arg[1]);

    case __HYPERVISOR_multicall:
        return do_multicall(x, caller, arg[0], arg[1]);

    case __HYPERVISOR_xen_version:
        return do_xen_version(x->cmdline, caller, arg[0], arg[1]);

    default:
        return -ENOSYS;
    }
}
