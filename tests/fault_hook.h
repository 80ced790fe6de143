/* SPDX-License-Identifier: MIT */
/*
 * What the fault suites share: an allocation hook seen through function
 * pointers (the core's environment hook, src/core/env.h, and the
 * toolstack's, src/toolstack/alloc.c, work alike), the hook's own
 * self-test, the leak check after each run and the end of a sweep.
 */
#ifndef NC_TESTS_FAULT_HOOK_H
#define NC_TESTS_FAULT_HOOK_H

#include <stddef.h>
#include <stdint.h>

#define FAULT_MAX_SWEEP 1000    /* far above any operation's allocations */

#define FAULT_OFF       0       /* modes, as NC_FAULT_* and TS_FAULT_* */
#define FAULT_ONCE      1
#define FAULT_PERSIST   2

struct fault_hook {
    void *(*alloc)(size_t size);
    void (*release)(void *p);
    void (*arm)(long n, int mode);      /* next n succeed, then fail */
    long (*live)(void);                 /* allocations not yet freed */
};

/* ONCE fails one call, PERSIST every call from the Nth on. */
static inline void fault_hook_check(const struct fault_hook *k)
{
    long live = k->live();
    void *p[4];

    k->arm(1, FAULT_ONCE);
    for ( int i = 0; i < 3; i++ )
        p[i] = k->alloc(8);
    k->arm(0, FAULT_OFF);
    assert_non_null(p[0]);
    assert_null(p[1]);
    assert_non_null(p[2]);
    k->release(p[0]);
    k->release(p[2]);
    k->arm(1, FAULT_PERSIST);
    for ( int i = 0; i < 4; i++ )
        p[i] = k->alloc(8);
    k->arm(0, FAULT_OFF);
    assert_non_null(p[0]);
    assert_null(p[1]);
    assert_null(p[2]);
    assert_null(p[3]);
    k->release(p[0]);
    assert_int_equal(k->live(), live);
}

/* After the run of op with allocation n failing: nothing kept beyond
 * what was live before (base). */
static inline void fault_no_leak(const struct fault_hook *k, const char *op,
                                 long n, int mode, long base)
{
    if ( k->live() != base )
        fail_msg("%s: allocation %ld failed (%s): %ld leaked", op, n,
                 mode == FAULT_ONCE ? "once" : "persist", k->live() - base);
}

/* A sweep ended at n, the first run with nothing to fail: every one of
 * the reference run's allocations was made to fail once. */
static inline long fault_sweep_done(long n, long allocs)
{
    assert_true(n < FAULT_MAX_SWEEP);
    assert_int_equal(n, allocs);
    return allocs;
}

/* Both modes swept the same allocations: say how many. */
static inline void fault_swept(const char *op, long once, long persist)
{
    assert_int_equal(persist, once);
    print_message("%-28s %ld allocation%s swept\n", op, once,
                  once == 1 ? "" : "s");
}

#endif /* NC_TESTS_FAULT_HOOK_H */
