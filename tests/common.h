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
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <numaclaim/core.h>

#include "hostspec.h"

#define CTL NC_DOMID_CONTROL

/* The rows of a test table. */
#define NR_ROWS(t) (sizeof(t) / sizeof((t)[0]))

/* A small deterministic PRNG (xorshift64) for the randomised white-box
 * tests: the same sequence on every run, from a non-zero *state. */
static inline uint64_t test_rnd(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* A host from a spec string, with the nodes of offline_mask offline and
 * the full frame-level checker run after every operation (tests use small
 * hosts, so this stays cheap). */
static inline struct nc_host *host_new_offline(const char *spec,
                                               uint64_t offline_mask)
{
    struct nc_host_config cfg;
    struct nc_host *h = NULL;
    char err[256];

    if ( nc_host_config_parse(spec, &cfg, err, sizeof(err)) )
        fail_msg("bad host spec %s: %s", spec, err);
    for ( uint32_t n = 0; n < cfg.nr_nodes; n++ )
        if ( offline_mask & (1ULL << n) )
            cfg.node[n].online = false;
    assert_int_equal(nc_host_create(&cfg, &h), 0);
    nc_host_set_autocheck(h, NC_CHECK_FRAMES);
    return h;
}

static inline struct nc_host *host_new(const char *spec)
{
    return host_new_offline(spec, 0);
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

/* Exact counters of a domain, a node and the host. */
#define EXPECT_DOM(h, d, tot, outst, hclaim)                                \
    do {                                                                    \
        struct nc_domain_info i_ = dom_info(h, d);                          \
                                                                            \
        assert_int_equal(i_.tot_pages, (tot));                              \
        assert_int_equal(i_.outstanding, (outst));                          \
        assert_int_equal(i_.host_claim, (hclaim));                          \
    } while ( 0 )

#define EXPECT_NODE(h, n, free_, claimed_)                                  \
    do {                                                                    \
        struct nc_node_info i_ = node_info(h, n);                           \
                                                                            \
        assert_int_equal(i_.free, (free_));                                 \
        assert_int_equal(i_.claimed, (claimed_));                           \
    } while ( 0 )

#define EXPECT_HOST(h, avail, outst)                                        \
    do {                                                                    \
        struct nc_host_info i_ = host_info(h);                              \
                                                                            \
        assert_int_equal(i_.total_avail, (avail));                          \
        assert_int_equal(i_.outstanding_claims, (outst));                   \
    } while ( 0 )

/* Claim-set entries for claim_set(): host-wide, and on a node. */
#define HOSTC(p)    NC_CLAIM_HOST, (uint64_t)(p)
#define NODEC(n, p) (uint32_t)(n), (uint64_t)(p)

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

/* A number from the environment (any base strtoull takes), or dflt when
 * the variable is unset or empty: for a suite's run-length knobs. */
static inline uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    char *end;
    uint64_t v;

    if ( !s || !*s )
        return dflt;
    v = strtoull(s, &end, 0);
    if ( *end )
        fail_msg("%s=%s: not a number", name, s);
    return v;
}

#endif /* NC_TESTS_COMMON_H */
