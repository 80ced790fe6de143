/* SPDX-License-Identifier: MIT */
/*
 * fuzz-hypercall: the hypercall layer (src/xen) as a guest kernel drives
 * it, a sequence of domctl, sysctl, memory_op, xen_version and multicall
 * hypercalls with fuzzed structures on one small simulated host per input.
 *
 * Every structure and every guest handle in it is placed by the input: at
 * the start of a mapped buffer, across the end of one (the last mapped
 * page is followed by a PROT_NONE guard page), in the guard page, at NULL
 * or at a wild address, so that the EFAULT paths run as well as the
 * decoders.  Known handle fields of each sub-op are patched this way; the
 * rest of the structure is the input's bytes.  After every hypercall the
 * core's frame-level checker (nc_host_check, NC_CHECK_FRAMES) must find
 * every invariant intact, or the harness aborts.  Input layout, all bytes
 * optional (missing ones read as 0):
 *   shape                 which host (SHAPES below)
 *   then per call:        kind caller cmd place flags len payload[len]
 *                         dlen data[dlen] handle-modes...
 */
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/xen/decode.h"
#include <xen/version.h>
#include "fuzz.h"

#define PAGE        4096u
#define DATA_SIZE   (16 * PAGE)          /* what handles point into */
#define SLOTS       8                    /* one page per structure */
#define MAX_CALLS   64
#define NO_FIELD    0xFFFFu
#define EXTENT_SHIFT 6                   /* memory_op's start extent */

static const char *const SHAPES[] = {
    "2x16M",
    "16M,8M,0;cpus=2,1,1",
    "4x4M;dist=10,20,30,40,20,10,20,30,30,20,10,20,40,30,20,10",
};

/* A sub-op: its command number, the size of the structure it reads, where
 * its domid is (NO_FIELD: none) and the offsets of its guest handles. */
struct subop {
    uint32_t cmd;
    uint16_t size;
    uint16_t domid;
    uint16_t handle[4];
};

#define U(type, field)  ((uint16_t)(offsetof(struct xen_domctl, u) +       \
                                    offsetof(type, field)))
#define S(type, field)  ((uint16_t)(offsetof(struct xen_sysctl, u) +       \
                                    offsetof(type, field)))
#define DOMCTL(c, ...)  { c, sizeof(struct xen_domctl), NO_FIELD,           \
                          { __VA_ARGS__ } }
#define SYSCTL(c, ...)  { c, sizeof(struct xen_sysctl), NO_FIELD,           \
                          { __VA_ARGS__ } }
#define NONE            NO_FIELD, NO_FIELD, NO_FIELD, NO_FIELD

static const struct subop DOMCTLS[] = {
    DOMCTL(XEN_DOMCTL_createdomain, NONE),
    DOMCTL(XEN_DOMCTL_destroydomain, NONE),
    DOMCTL(XEN_DOMCTL_pausedomain, NONE),
    DOMCTL(XEN_DOMCTL_unpausedomain, NONE),
    DOMCTL(XEN_DOMCTL_getdomaininfo, NONE),
    DOMCTL(XEN_DOMCTL_max_mem, NONE),
    DOMCTL(XEN_DOMCTL_setnodeaffinity,
           U(struct xen_domctl_nodeaffinity, nodemap.bitmap), NO_FIELD,
           NO_FIELD, NO_FIELD),
    DOMCTL(XEN_DOMCTL_getnodeaffinity,
           U(struct xen_domctl_nodeaffinity, nodemap.bitmap), NO_FIELD,
           NO_FIELD, NO_FIELD),
    DOMCTL(XEN_DOMCTL_setvnumainfo,
           U(struct xen_domctl_vnuma, vdistance),
           U(struct xen_domctl_vnuma, vcpu_to_vnode),
           U(struct xen_domctl_vnuma, vnode_to_pnode),
           U(struct xen_domctl_vnuma, vmemrange)),
    DOMCTL(XEN_DOMCTL_getvcpuinfo, NONE),
    DOMCTL(XEN_DOMCTL_getvcpuaffinity,
           U(struct xen_domctl_vcpuaffinity, cpumap_hard.bitmap),
           U(struct xen_domctl_vcpuaffinity, cpumap_soft.bitmap), NO_FIELD,
           NO_FIELD),
    DOMCTL(XEN_DOMCTL_claim_memory,
           U(struct xen_domctl_claim_memory, claim_set), NO_FIELD, NO_FIELD,
           NO_FIELD),
    DOMCTL(XEN_DOMCTL_claim_info, NONE),
    DOMCTL(XEN_DOMCTL_node_pages, U(struct xen_domctl_node_pages, pages),
           NO_FIELD, NO_FIELD, NO_FIELD),
};

static const struct subop SYSCTLS[] = {
    SYSCTL(XEN_SYSCTL_physinfo, NONE),
    SYSCTL(XEN_SYSCTL_numainfo, S(struct xen_sysctl_numainfo, meminfo),
           S(struct xen_sysctl_numainfo, distance), NO_FIELD, NO_FIELD),
    SYSCTL(XEN_SYSCTL_page_offline_op,
           S(struct xen_sysctl_page_offline_op, status), NO_FIELD, NO_FIELD,
           NO_FIELD),
    SYSCTL(XEN_SYSCTL_getdomaininfolist,
           S(struct xen_sysctl_getdomaininfolist, buffer), NO_FIELD,
           NO_FIELD, NO_FIELD),
    SYSCTL(XEN_SYSCTL_pcitopoinfo, S(struct xen_sysctl_pcitopoinfo, devs),
           S(struct xen_sysctl_pcitopoinfo, nodes), NO_FIELD, NO_FIELD),
    SYSCTL(XEN_SYSCTL_availheap, NONE),
    SYSCTL(XEN_SYSCTL_sched_id, NONE),
    SYSCTL(XEN_SYSCTL_cpupool_op,
           S(struct xen_sysctl_cpupool_op, cpumap.bitmap), NO_FIELD,
           NO_FIELD, NO_FIELD),
    SYSCTL(XEN_SYSCTL_cputopoinfo,
           S(struct xen_sysctl_cputopoinfo, cputopo), NO_FIELD, NO_FIELD,
           NO_FIELD),
    SYSCTL(XEN_SYSCTL_readconsole, S(struct xen_sysctl_readconsole, buffer),
           NO_FIELD, NO_FIELD, NO_FIELD),
    SYSCTL(XEN_SYSCTL_debug_keys, S(struct xen_sysctl_debug_keys, keys),
           NO_FIELD, NO_FIELD, NO_FIELD),
    SYSCTL(XEN_SYSCTL_check_invariants, NONE),
    SYSCTL(XEN_SYSCTL_claim_overview,
           S(struct xen_sysctl_claim_overview, nodes), NO_FIELD, NO_FIELD,
           NO_FIELD),
};

#define RESERVATION(c)                                                      \
    { c, sizeof(struct xen_memory_reservation),                             \
      offsetof(struct xen_memory_reservation, domid),                       \
      { offsetof(struct xen_memory_reservation, extent_start), NO_FIELD,    \
        NO_FIELD, NO_FIELD } }

static const struct subop MEMOPS[] = {
    RESERVATION(XENMEM_increase_reservation),
    RESERVATION(XENMEM_decrease_reservation),
    RESERVATION(XENMEM_populate_physmap),
    RESERVATION(XENMEM_claim_pages),
    { XENMEM_get_vnumainfo, sizeof(struct xen_vnuma_topology_info),
      offsetof(struct xen_vnuma_topology_info, domid),
      { offsetof(struct xen_vnuma_topology_info, vdistance.h),
        offsetof(struct xen_vnuma_topology_info, vcpu_to_vnode.h),
        offsetof(struct xen_vnuma_topology_info, vmemrange.h), NO_FIELD } },
    { XENMEM_current_reservation, sizeof(domid_t), 0, { NONE } },
    { XENMEM_maximum_reservation, sizeof(domid_t), 0, { NONE } },
    { XENMEM_maximum_ram_page, 0, NO_FIELD, { NONE } },
    { XENMEM_machine_memory_map, sizeof(struct xen_memory_map), NO_FIELD,
      { offsetof(struct xen_memory_map, buffer), NO_FIELD, NO_FIELD,
        NO_FIELD } },
};

static const struct subop VERSIONS[] = {
    { XENVER_version, 0, NO_FIELD, { NONE } },
    { XENVER_extraversion, sizeof(xen_extraversion_t), NO_FIELD, { NONE } },
    { XENVER_compile_info, sizeof(xen_compile_info_t), NO_FIELD, { NONE } },
    { XENVER_capabilities, sizeof(xen_capabilities_info_t), NO_FIELD,
      { NONE } },
    { XENVER_platform_parameters, sizeof(xen_platform_parameters_t),
      NO_FIELD, { NONE } },
    { XENVER_changeset, sizeof(xen_changeset_info_t), NO_FIELD, { NONE } },
    { XENVER_get_features, sizeof(xen_feature_info_t), NO_FIELD, { NONE } },
    { XENVER_pagesize, 0, NO_FIELD, { NONE } },
    { XENVER_guest_handle, sizeof(xen_domain_handle_t), NO_FIELD, { NONE } },
    { XENVER_commandline, sizeof(xen_commandline_t), NO_FIELD, { NONE } },
    { XENVER_build_id, sizeof(xen_build_id_t) + 64, NO_FIELD, { NONE } },
};

#define NR(a) (sizeof(a) / sizeof((a)[0]))

/* Two mappings, each followed by a guard page: the buffers handles point
 * into, and one page per structure (slot). */
static uint8_t *data, *slots;

static uint8_t *map_guarded(size_t size)
{
    uint8_t *p = mmap(NULL, size + PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if ( p == MAP_FAILED || mprotect(p + size, PAGE, PROT_NONE) )
        FZ_FAIL("cannot map the guest buffers");
    return p;
}

/* Where a handle points, chosen by the input. */
static uint64_t handle_addr(struct fz *f)
{
    uint8_t mode = fz_u8(f), off = fz_u8(f);

    switch ( mode % 8 )
    {
    case 4:   /* across the end of the data: the tail is unmapped */
        return (uint64_t)(uintptr_t)(data + DATA_SIZE - 8 * (1 + off % 64));
    case 5:   /* the guard page */
        return (uint64_t)(uintptr_t)(data + DATA_SIZE + off);
    case 6:
        return 0;
    case 7:   /* never mapped in user space */
        return off & 1 ? 0xFFFF800000000000ULL : 0x1000 + off;
    default:  /* inside */
        return (uint64_t)(uintptr_t)(data + 64u * off);
    }
}

/* Where a structure of size bytes goes: slot `slot`, across the end of
 * the last slot, in the guard page, or at NULL. */
static uint8_t *place(uint8_t how, unsigned int slot, size_t size)
{
    switch ( how % 8 )
    {
    case 6:
        return slots + SLOTS * PAGE - (size > 1 ? size / 2 : 1);
    case 7:
        return how & 8 ? slots + SLOTS * PAGE : NULL;
    default:
        return slots + slot * PAGE;
    }
}

static nc_domid_t pick_domid(uint8_t b)
{
    return b < 0xF0 ? (nc_domid_t)(b & 7)
                    : (nc_domid_t)(NC_DOMID_FIRST_RESERVED + (b & 0xF));
}

/*
 * Build one hypercall from the input into op and arg[], its structure in
 * slot `slot`; a multicall's entries take the slots after it.
 */
static void build(struct fz *f, unsigned int slot, unsigned int depth,
                  unsigned int *op, uint64_t arg[5])
{
    uint8_t kind = fz_u8(f) % 5, sel = fz_u8(f), how = fz_u8(f);
    uint8_t flags = fz_u8(f), len = fz_u8(f), dlen;
    const struct subop *s = NULL;
    struct subop raw = { 0, PAGE / 2, NO_FIELD, { NONE } };
    uint8_t buf[PAGE / 2];
    uint8_t *at;

    memset(arg, 0, 5 * sizeof(arg[0]));
    switch ( kind )
    {
    case 0:
        *op = __HYPERVISOR_domctl;
        s = sel < NR(DOMCTLS) * 8 ? &DOMCTLS[sel % NR(DOMCTLS)] : NULL;
        raw.size = sizeof(struct xen_domctl);
        break;
    case 1:
        *op = __HYPERVISOR_sysctl;
        s = sel < NR(SYSCTLS) * 8 ? &SYSCTLS[sel % NR(SYSCTLS)] : NULL;
        raw.size = sizeof(struct xen_sysctl);
        break;
    case 2:
        *op = __HYPERVISOR_memory_op;
        s = sel < NR(MEMOPS) * 8 ? &MEMOPS[sel % NR(MEMOPS)] : NULL;
        raw.size = sizeof(struct xen_memory_reservation);
        break;
    case 3:
        *op = __HYPERVISOR_multicall;
        break;
    default:
        *op = __HYPERVISOR_xen_version;
        s = sel < NR(VERSIONS) * 8 ? &VERSIONS[sel % NR(VERSIONS)] : NULL;
        break;
    }
    if ( !s )
    {
        raw.cmd = sel;
        s = &raw;
    }

    /* The handles' buffers: the input's bytes at the start and at the end
     * of the data (the rest as earlier calls of this input left it). */
    dlen = fz_u8(f);
    fz_bytes(f, buf, dlen);
    memcpy(data, buf, dlen);
    memcpy(data + DATA_SIZE - dlen, buf, dlen);

    if ( *op == __HYPERVISOR_multicall )
    {
        unsigned int nr = depth ? 0 : sel % 5;
        multicall_entry_t e[4] = { 0 };

        for ( unsigned int i = 0; i < nr; i++ )
        {
            unsigned int sub;
            uint64_t sarg[5];

            /* A nested multicall is built flat: Xen refuses it anyway. */
            build(f, slot + 1 + i, depth + 1, &sub, sarg);
            e[i].op = sub;
            for ( unsigned int j = 0; j < 5; j++ )
                e[i].args[j] = sarg[j];
        }
        at = place(how, slot, nr * sizeof(e[0]));
        if ( at && at < slots + SLOTS * PAGE )
            memcpy(at, e, nr * sizeof(e[0]) <
                   (size_t)(slots + SLOTS * PAGE - at)
                   ? nr * sizeof(e[0]) : (size_t)(slots + SLOTS * PAGE - at));
        arg[0] = (uint64_t)(uintptr_t)at;
        arg[1] = flags & 0x80 ? fz_u16(f) : nr;
        return;
    }

    /* The structure: the input's bytes, then its fixed fields. */
    memset(buf, 0, sizeof(buf));
    fz_bytes(f, buf, len < s->size ? len : s->size);
    if ( *op == __HYPERVISOR_domctl )
    {
        struct xen_domctl *d = (void *)buf;

        d->cmd = s->cmd;
        d->interface_version = flags & 1 ? fz_u8(f)
                                         : XEN_DOMCTL_INTERFACE_VERSION;
        d->domain = pick_domid(fz_u8(f));
    }
    else if ( *op == __HYPERVISOR_sysctl )
    {
        struct xen_sysctl *d = (void *)buf;

        d->cmd = s->cmd;
        d->interface_version = flags & 1 ? fz_u8(f)
                                         : XEN_SYSCTL_INTERFACE_VERSION;
    }
    else if ( s->domid != NO_FIELD )
    {
        nc_domid_t dom = pick_domid(fz_u8(f));

        if ( flags & 2 )
            dom = DOMID_SELF;
        memcpy(buf + s->domid, &dom, sizeof(dom));
    }
    for ( unsigned int i = 0; i < NR(s->handle); i++ )
    {
        uint64_t a;

        if ( s->handle[i] == NO_FIELD )
            continue;
        a = handle_addr(f);
        memcpy(buf + s->handle[i], &a, sizeof(a));
    }

    at = place(how, slot, s->size);
    if ( at && at < slots + SLOTS * PAGE )
    {
        size_t room = (size_t)(slots + SLOTS * PAGE - at);

        memcpy(at, buf, s->size < room ? s->size : room);
    }
    if ( *op == __HYPERVISOR_domctl || *op == __HYPERVISOR_sysctl )
        arg[0] = (uint64_t)(uintptr_t)at;
    else
    {
        /* memory_op and xen_version: the command, with a start extent in
         * the high bits of memory_op's now and then. */
        arg[0] = s->cmd;
        if ( *op == __HYPERVISOR_memory_op && (flags & 4) )
            arg[0] |= (uint64_t)fz_u8(f) << EXTENT_SHIFT;
        arg[1] = s->size ? (uint64_t)(uintptr_t)at : handle_addr(f);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    struct fz f = { input, size };
    struct nc_xen *x;
    char err[256], why[256];

    if ( !data )
    {
        data = map_guarded(DATA_SIZE);
        slots = map_guarded(SLOTS * PAGE);
    }
    memset(data, 0, DATA_SIZE);
    memset(slots, 0, SLOTS * PAGE);

    if ( nc_xen_create(SHAPES[fz_u8(&f) % NR(SHAPES)], &x, err, sizeof(err)) )
        FZ_FAIL("host: %s", err);
    for ( unsigned int n = 0; n < MAX_CALLS && f.n; n++ )
    {
        uint8_t c = fz_u8(&f);
        nc_domid_t caller = (c & 0xF0) == 0xF0 ? (nc_domid_t)(c & 0xF) : 0;
        unsigned int op;
        uint64_t arg[5];
        long rc;

        build(&f, 0, 0, &op, arg);
        rc = nc_xen_hypercall(x, caller, op, arg);
        /* A negative value is an errno, never below -4095 (Linux's
         * MAX_ERRNO, what libxencall's callers expect). */
        if ( rc < -4095 )
            FZ_FAIL("hypercall %u returned %ld", op, rc);
        if ( nc_host_check(nc_xen_host(x), NC_CHECK_FRAMES, why, sizeof(why)) )
            FZ_FAIL("after hypercall %u (rc %ld): %s", op, rc, why);
    }
    nc_xen_destroy(x);
    return 0;
}
