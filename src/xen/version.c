/* SPDX-License-Identifier: MIT */
/*
 * __HYPERVISOR_xen_version (17): what `xl info` shows as xen_version,
 * xen_caps, xen_changeset, xen_commandline and so on.
 *
 * numaclaim answers as a Xen 4.17 whose strings say what it is:
 *   version         4.17 ((4 << 16) | 17)
 *   extraversion    ".0-numaclaim"  (so "4.17.0-numaclaim")
 *   compile_info    the compiler that built numaclaim, compiled by
 *                   "numaclaim" in domain "simulated", at its build date
 *   capabilities    "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64 ": the
 *                   host has HVM and HAP and no PV, as physinfo says
 *   changeset       "numaclaim <version>"
 *   commandline     "host=SPEC", the host spec it was built from
 *   build_id        20 bytes derived from the numaclaim version
 * Sub-ops and their errors follow Xen 4.17's do_xen_version(); domain 0 is
 * a PVH control domain, so get_features reports the HVM feature set.  A
 * caller other than the control domain gets what Xen's default XSM policy
 * gives a guest: "<denied>" for the command line, -EPERM for the build id.
 */
#include <errno.h>
#include <string.h>

#include "decode.h"

#include <xen/version.h>
#include <xen/features.h>

#ifndef NC_PROJECT_VERSION
#define NC_PROJECT_VERSION "unknown"
#endif

#if defined(__clang__)
#define COMPILER "clang " __VERSION__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "cc"
#endif

#define XEN_MAJOR       4
#define XEN_MINOR       17
#define EXTRAVERSION    ".0-numaclaim"
#define CAPABILITIES    "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64 "
#define CHANGESET       "numaclaim " NC_PROJECT_VERSION
#define DENIED          "<denied>"
#define BUILD_ID_LEN    20

/* s into a zeroed field of `size` bytes, cut to leave the NUL. */
static void set_str(char *dst, size_t size, const char *s)
{
    size_t n = strlen(s);

    memset(dst, 0, size);
    memcpy(dst, s, n < size ? n : size - 1);
}

/* A string in a field of Xen's size, copied out whole. */
static long copy_string(uint64_t arg, const char *s, size_t size)
{
    char buf[1024];

    set_str(buf, size, s);
    return copy_to_guest(arg, buf, size) ? -EFAULT : 0;
}

/* Deterministic bytes standing in for the ELF note a Xen build carries:
 * FNV-1a over the version string, one round per 8 bytes. */
static void build_id(unsigned char id[BUILD_ID_LEN])
{
    uint64_t x = 0xcbf29ce484222325ULL;

    for ( unsigned int i = 0; i < BUILD_ID_LEN; i++ )
    {
        if ( i % 8 == 0 )
            for ( const char *s = CHANGESET; *s; s++ )
                x = (x ^ (unsigned char)*s) * 0x100000001b3ULL;
        id[i] = (unsigned char)(x >> (8 * (i % 8)));
    }
}

static long get_features(uint64_t arg, bool control)
{
    xen_feature_info_t fi;

    if ( copy_from_guest(&fi, arg, sizeof(fi)) )
        return -EFAULT;
    if ( fi.submap_idx != 0 )
        return -EINVAL;
    /* A translated (HVM/PVH) domain without PIRQs, not direct-mapped. */
    fi.submap = (1U << XENFEAT_memory_op_vnode_supported) |
                (1U << XENFEAT_writable_page_tables) |
                (1U << XENFEAT_auto_translated_physmap) |
                (1U << XENFEAT_hvm_safe_pvclock) |
                (1U << XENFEAT_hvm_callback_vector) |
                (1U << XENFEAT_not_direct_mapped) |
                (control ? 1U << XENFEAT_dom0 : 0);
    return copy_to_guest(arg, &fi, sizeof(fi)) ? -EFAULT : 0;
}

static long get_build_id(uint64_t arg, bool deny)
{
    unsigned char id[BUILD_ID_LEN];
    xen_build_id_t b;

    if ( deny )
        return -EPERM;
    if ( arg )
    {
        if ( copy_from_guest(&b, arg, sizeof(b)) )
            return -EFAULT;
        if ( b.len == 0 )
            return -EINVAL;
    }
    if ( !arg )
        return BUILD_ID_LEN;            /* only the size */
    if ( b.len < BUILD_ID_LEN )
        return -ENOBUFS;
    build_id(id);
    if ( copy_to_guest(arg + offsetof(xen_build_id_t, buf), id, sizeof(id)) )
        return -EFAULT;
    return BUILD_ID_LEN;
}

long do_xen_version(const char *cmdline, nc_domid_t caller, uint64_t cmd,
                    uint64_t arg)
{
    bool control = caller == NC_DOMID_CONTROL;

    /* Xen takes the sub-op as an int. */
    switch ( (int)cmd )
    {
    case XENVER_version:
        return (XEN_MAJOR << 16) | XEN_MINOR;

    case XENVER_extraversion:
        return copy_string(arg, EXTRAVERSION, sizeof(xen_extraversion_t));

    case XENVER_compile_info:
    {
        xen_compile_info_t info;

        set_str(info.compiler, sizeof(info.compiler), COMPILER);
        set_str(info.compile_by, sizeof(info.compile_by), "numaclaim");
        set_str(info.compile_domain, sizeof(info.compile_domain),
                "simulated");
        set_str(info.compile_date, sizeof(info.compile_date),
                __DATE__ " " __TIME__);
        return copy_to_guest(arg, &info, sizeof(info)) ? -EFAULT : 0;
    }

    case XENVER_capabilities:
        return copy_string(arg, CAPABILITIES, sizeof(xen_capabilities_info_t));

    case XENVER_platform_parameters:
    {
        xen_platform_parameters_t p = { .virt_start = HYPERVISOR_VIRT_START };

        return copy_to_guest(arg, &p, sizeof(p)) ? -EFAULT : 0;
    }

    case XENVER_changeset:
        return copy_string(arg, CHANGESET, sizeof(xen_changeset_info_t));

    case XENVER_get_features:
        return get_features(arg, control);

    case XENVER_pagesize:
        return arg ? -EINVAL : (long)NC_PAGE_SIZE;

    case XENVER_guest_handle:
    {
        xen_domain_handle_t hdl = { 0 };   /* domain 0's handle is zero */

        return copy_to_guest(arg, hdl, sizeof(hdl)) ? -EFAULT : 0;
    }

    case XENVER_commandline:
        /* Xen copies the whole saved command line, or just "<denied>". */
        if ( !control )
            return copy_to_guest(arg, DENIED, sizeof(DENIED)) ? -EFAULT : 0;
        return copy_string(arg, cmdline, sizeof(xen_commandline_t));

    case XENVER_build_id:
        return get_build_id(arg, !control);

    default:
        return -ENOSYS;
    }
}
