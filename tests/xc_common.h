/* SPDX-License-Identifier: MIT */
/*
 * Shared fixtures of the suites that run Debian's libxenctrl on the
 * stand-ins (in-process or through hostd).  Include after <cmocka.h> and
 * <xenctrl.h> (numaclaim/xc-claims.h brings it).
 */
#ifndef NC_TESTS_XC_COMMON_H
#define NC_TESTS_XC_COMMON_H

#include <errno.h>
#include <stdint.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* Expect a failing libxenctrl-style call: -1 and errno. */
#define assert_fails(call, err) \
    do { \
        errno = 0; \
        assert_int_equal((call), -1); \
        assert_int_equal(errno, (err)); \
    } while ( 0 )

/* Create an HVM domain as a builder does: domid 0 for any, else that
 * one; libxenctrl's 0 or -1 with errno. */
static inline int xc_test_create(xc_interface *x, uint32_t *domid,
                                 unsigned int vcpus)
{
    struct xen_domctl_createdomain c = {
        .flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap,
        .max_vcpus = vcpus,
        .max_evtchn_port = -1,
        .max_grant_frames = -1,
        .max_maptrack_frames = -1,
    };

    return xc_domain_create(x, domid, &c);
}

/* An HVM domain with max_pages set, as a builder makes it: its domid, or
 * 0 if either call failed (usable in a forked child, which must not
 * assert). */
static inline uint32_t xc_test_domain(xc_interface *x, uint64_t max_pages,
                                      unsigned int vcpus)
{
    uint32_t domid = 0;

    if ( xc_test_create(x, &domid, vcpus) ||
         xc_domain_setmaxmem(x, domid, max_pages * 4) )
        return 0;
    return domid;
}

/* A domain's getdomaininfo record, asserting that it exists. */
static inline xc_dominfo_t xc_test_dominfo(xc_interface *x, uint32_t domid)
{
    xc_dominfo_t info;

    assert_int_equal(xc_domain_getinfo(x, domid, 1, &info), 1);
    assert_int_equal(info.domid, domid);
    return info;
}

#endif /* NC_TESTS_XC_COMMON_H */
