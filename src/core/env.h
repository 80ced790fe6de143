/* SPDX-License-Identifier: MIT */
/*
 * The core's whole view of its environment.
 *
 * The core is freestanding C: it needs fixed-width integers, errno values,
 * a mutex, a way to obtain metadata memory outside the allocation path and a
 * way to report a fatal error.  This header names exactly those; one hosted
 * implementation (src/env/posix.c) provides them with pthreads and malloc.
 * A hypervisor would provide them with its spinlocks and xmalloc.
 *
 * Assertion levels (after mimalloc):
 *   NC_DEBUG >= 1  ASSERT()            cheap checks, e.g. ASSERT_GE()
 *                                      before every counter decrement
 *   NC_DEBUG >= 2  ASSERT_EXPENSIVE()  local checks at each point of change
 *                                      that walk a structure (one p2m, one
 *                                      node's heap counters, one domain's
 *                                      claims): they run where the global
 *                                      checker cannot, e.g. in the threaded
 *                                      stress
 * BUG_ON() is always on: it guards must-never-happen conditions whose
 * violation would corrupt the heap.
 */
#ifndef NC_CORE_ENV_H
#define NC_CORE_ENV_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef NC_DEBUG
#define NC_DEBUG 0
#endif

/* A mutex and its rank in the lock order; in debug builds it also knows
 * its owner, so that "caller holds the lock" can be asserted.  A release
 * build (NC_DEBUG 0) keeps no owner: two stores fewer per lock pair, four
 * lock pairs per allocation and free.  Opaque storage; the environment
 * defines its layout. */
typedef struct nc_lock {
    _Alignas(16) unsigned char opaque[64];
    void *_Atomic owner;
    unsigned int rank;
} nc_lock_t;

/*
 * Lock order, checked in debug builds (FreeBSD's WITNESS in miniature):
 * a thread may take a lock only if every lock it holds has a lower rank.
 * Locks of rank NC_RANK_DOMAIN are the one exception: the checker and
 * offlining take all domains' locks, in ascending domid order (which the
 * domid walk guarantees), so several of that rank may be held.
 */
#define NC_RANK_DOMLIST  1
#define NC_RANK_DOMAIN   2
#define NC_RANK_ANON     3
#define NC_RANK_CLAIMS   4
#define NC_RANK_NODE(n)  (5 + (n))       /* node locks in node order */
#define NC_RANK_CONSOLE  127
#define NC_RANK_MAX      127

void nc_lock_init(nc_lock_t *l, unsigned int rank);
void nc_lock_fini(nc_lock_t *l);
/* Taking a lock is a sequentially consistent read-modify-write (a full
 * barrier, as a locked instruction is on x86) and giving it back a
 * release.  The core relies on the first for the install gate
 * (locks.c): a thread that takes a lock and then reads a word, and one
 * that writes that word and then finds the lock free (nc_lock_free()),
 * cannot both miss the other's write. */
void nc_lock(nc_lock_t *l);
void nc_unlock(nc_lock_t *l);
/* Whether no thread holds l, as a sequentially consistent read at this
 * instant (so with an acquire: what the last holder wrote is visible).
 * The caller must know that nobody can take l afterwards and still act
 * on what it protects, as the install gate does. */
bool nc_lock_free(const nc_lock_t *l);
/* By the calling thread.  Debug builds only: at NC_DEBUG 0 it is declared
 * for ASSERT()'s unevaluated operand and defined nowhere, so code that
 * would depend on it at run time there does not link. */
bool nc_lock_held(const nc_lock_t *l);

/* Metadata memory, zeroed (nc_zalloc) or not (nc_alloc: for an array
 * whose caller writes each element before reading it, as the p2m's room
 * is, where zeroing a grown copy would cost more than copying it).
 * Never called with the heap lock held. */
void *nc_zalloc(size_t size);
void *nc_alloc(size_t size);
void nc_free(void *p);

/*
 * Fault injection (tests only; after SQLite's *fault.test).  The core
 * never calls these: a test arms the environment, runs one operation and
 * checks that an allocation failure anywhere in it either did no harm or
 * made the operation fail having changed nothing.
 *
 * nc_env_fail_alloc_after(n, mode): the next n calls of nc_zalloc or
 * nc_alloc succeed
 * and the one after them returns NULL; with NC_FAULT_ONCE later calls
 * succeed again, with NC_FAULT_PERSIST every later call fails too, until
 * the next nc_env_fail_alloc_after or NC_FAULT_OFF disarms it.
 *
 * nc_env_alloc_track(true) starts counting: nc_env_alloc_count() is the
 * nc_zalloc and nc_alloc calls that returned memory, nc_env_alloc_live() those minus
 * the nc_free calls of non-NULL pointers (0 when nothing leaked, provided
 * tracking was on before the first allocation), nc_env_alloc_failed() the
 * injected failures.  Thread-safe (atomics).  Unarmed and untracked, an
 * allocation costs one extra relaxed atomic load.
 */
enum nc_fault_mode {
    NC_FAULT_OFF,
    NC_FAULT_ONCE,
    NC_FAULT_PERSIST,
};

void nc_env_fail_alloc_after(long n, enum nc_fault_mode mode);
void nc_env_alloc_track(bool on);
long nc_env_alloc_count(void);
long nc_env_alloc_live(void);
long nc_env_alloc_failed(void);

/* Report a fatal error and stop: "file:line: function: message", the
 * message formatted as printf does. */
_Noreturn void nc_panic(const char *file, int line, const char *func,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define NC_PANIC(...) nc_panic(__FILE__, __LINE__, __func__, __VA_ARGS__)

#define BUG_ON(c) \
    do { if ( __builtin_expect(!!(c), 0) ) \
        NC_PANIC("BUG_ON(%s)", #c); } while ( 0 )

#if NC_DEBUG >= 1
#define ASSERT(c) \
    do { if ( __builtin_expect(!(c), 0) ) \
        NC_PANIC("ASSERT(%s)", #c); } while ( 0 )
/* a >= b, the check before every counter decrement: a failure shows both
 * values. */
#define ASSERT_GE(a, b) \
    do { uint64_t _a = (a), _b = (b); \
         if ( __builtin_expect(_a < _b, 0) ) \
             NC_PANIC("ASSERT(%s >= %s): %llu < %llu", #a, #b, \
                      (unsigned long long)_a, (unsigned long long)_b); \
    } while ( 0 )
#else
#define ASSERT(c) do { (void)sizeof(c); } while ( 0 )
#define ASSERT_GE(a, b) do { (void)sizeof(a); (void)sizeof(b); } while ( 0 )
#endif

#if NC_DEBUG >= 2
#define ASSERT_EXPENSIVE(c) ASSERT(c)
/* A level-2 check that says what is wrong: fn(args..., why, len) returns 0,
 * or non-zero having written the broken rule and its values to why. */
#define ASSERT_EXPENSIVE_WHY(fn, ...) \
    do { char _why[160]; \
         if ( fn(__VA_ARGS__, _why, sizeof(_why)) ) \
             NC_PANIC("%s: %s", #fn, _why); \
    } while ( 0 )
#else
#define ASSERT_EXPENSIVE(c) do { (void)sizeof(c); } while ( 0 )
#define ASSERT_EXPENSIVE_WHY(fn, ...) do { } while ( 0 )
#endif

#define ASSERT_UNREACHABLE() NC_PANIC("unreachable")

/* For the few small functions of the allocation path whose call would cost
 * more than their body (Xen's always_inline). */
#define nc_always_inline inline __attribute__((always_inline))
/* And for the general paths beside a fast one, kept out of its way. */
#define nc_noinline __attribute__((noinline))

#define NC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define NC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define NC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The compiler's builtins: a hypervisor provides memset/memmove anyway. */
#define nc_memzero(p, n)        __builtin_memset((p), 0, (n))
#define nc_memmove(d, s, n)     __builtin_memmove((d), (s), (n))

#endif /* NC_CORE_ENV_H */
