/* SPDX-License-Identifier: MIT */
/*
 * Shared fixtures for the cmocka suites.  Every helper asserts, so a test
 * reads as the sequence of operations and expected values it checks.
 */
#ifndef NC_TESTS_COMMON_H
#define NC_TESTS_COMMON_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <numaclaim/core.h>

#define CTL NC_DOMID_CONTROL

/* A host from a spec string, with the full frame-level checker run after
 * every operation (tests use small hosts, so this stays cheap). */
static inline struct nc_host *host_new(const char *spec)
{
    struct nc_host_config cfg;
    struct nc_host *h = NULL;
    char err[256];

    if ( nc_host_config_parse(spec, &cfg, err, sizeof(err)) )
        fail_msg("bad host spec %s: %s", spec, err);
    assert_int_equal(nc_host_create(&cfg, &h), 0);
    nc_host_set_autocheck(h, NC_CHECK_FRAMES);
    return h;
}

/* Check I1-I7 at frame level and fail with the checker's reason. */
static inline void assert_invariants(struct nc_host *h)
{
    char why[256];

    if ( nc_host_check(h, NC_CHECK_FRAMES, why, sizeof(why)) )
        fail_msg("invariant broken: %s", why);
}

/* A new domain with the given max_pages (lowest free domid). */
static inline nc_domid_t dom_new(struct nc_host *h, uint64_t max_pages)
{
    struct nc_domain_config c = { .domid = NC_DOMID_ANY, .max_vcpus = 1 };
    nc_domid_t d;

    assert_int_equal(nc_domain_create(h, CTL, &c, &d), 0);
    assert_int_equal(nc_domain_set_max_pages(h, CTL, d, max_pages), 0);
    return d;
}

static inline struct nc_domain_info dom_info(struct nc_host *h, nc_domid_t d)
{
    struct nc_domain_info i;

    assert_int_equal(nc_domain_getinfo(h, d, &i), 0);
    return i;
}

static inline struct nc_host_info host_info(struct nc_host *h)
{
    struct nc_host_info i;

    assert_int_equal(nc_host_overview(h, &i, NULL, 0), 0);
    return i;
}

static inline struct nc_node_info node_info(struct nc_host *h, uint32_t n)
{
    struct nc_node_info all[NC_MAX_NUMNODES];

    assert_int_equal(nc_host_overview(h, NULL, all, NC_MAX_NUMNODES), 0);
    return all[n];
}

/* Install a claim set given as (target, pages) pairs. */
static inline int claim_set(struct nc_host *h, nc_domid_t d, uint32_t nr,
                            ...)
{
    struct nc_claim set[NC_CLAIM_MAX_ENTRIES + 8];
    va_list ap;

    va_start(ap, nr);
    for ( uint32_t i = 0; i < nr; i++ )
    {
        set[i].target = va_arg(ap, uint32_t);
        set[i].pages = va_arg(ap, uint64_t);
        set[i].pad = 0;
    }
    va_end(ap);
    return nc_claim_memory(h, CTL, d, NC_CLAIM_MEMORY_SET, set, &nr);
}

static inline struct nc_memflags flags_node(uint32_t node, int exact)
{
    return (struct nc_memflags){ .node = node, .exact = exact };
}

static inline int populate(struct nc_host *h, nc_domid_t d, uint64_t gpfn,
                           uint32_t order)
{
    return nc_populate(h, CTL, d, gpfn, order, NC_MEMFLAGS_NONE, NULL);
}

#endif /* NC_TESTS_COMMON_H */
