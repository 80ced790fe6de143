/* SPDX-License-Identifier: MIT */
/*
 * The hosted environment of the core (see src/core/env.h): futex locks,
 * calloc (with the tests' fault injection and allocation counters) and a
 * panic that prints and aborts.  This is the only file of the
 * core library that touches the C library or POSIX.
 */
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/env.h"

/*
 * The lock: a futex-based mutex (Drepper's "Futexes Are Tricky", mutex 2).
 * state is 0 free, 1 held, 2 held with waiters.  Taking a free lock is one
 * compare-and-swap and giving it back one exchange, with no call into the
 * C library: the allocation path takes two per extent, and glibc's
 * pthread_mutex costs several times that.  A contended lock spins briefly
 * (the holders' critical sections are short), then sleeps in the kernel.
 * Taking it is sequentially consistent (on x86 the same locked instruction
 * as an acquire), which the install gate's handshake needs (env.h);
 * giving it back is a release.  Those orderings make it a lock for
 * ThreadSanitizer too.
 */
_Static_assert(sizeof(int _Atomic) <= sizeof(((nc_lock_t *)0)->opaque),
               "nc_lock_t too small");

#define LOCK_SPINS 100

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#if NC_DEBUG >= 1
/* Any address unique to the thread serves as its identity.  Initial-exec,
 * as guest.c's caller_pid: taken on every lock, and without it each
 * access from the shared library is a __tls_get_addr call (2% of a
 * churn storm); libxencall is never loaded late.  The owner is kept in
 * debug builds only (env.h). */
static _Thread_local char thread_token __attribute__((tls_model("initial-exec")));
#endif

static int _Atomic *state_of(nc_lock_t *l)
{
    return (int _Atomic *)(void *)l->opaque;
}

__attribute__((noinline, cold)) static void futex(int _Atomic *addr, int op, int val)
{
    syscall(SYS_futex, (void *)addr, op | FUTEX_PRIVATE_FLAG, val, NULL,
            NULL, 0);
}

#if NC_DEBUG >= 1
/*
 * The ranks this thread holds, for the lock-order check (debug builds
 * only): a bit per rank, and a count for NC_RANK_DOMAIN, of which several
 * may be held.
 */
static _Thread_local uint64_t held_ranks[2];
static _Thread_local unsigned int held_domains;

static void order_acquire(const nc_lock_t *l)
{
    unsigned int r = l->rank;

    BUG_ON(r == 0 || r > NC_RANK_MAX);
    /* No rank above r held, and r itself only for domain locks. */
    if ( r < 64 )
    {
        uint64_t above = (r == NC_RANK_DOMAIN ? ~0ULL << (r + 1)
                                              : ~0ULL << r);

        if ( (held_ranks[0] & above) || held_ranks[1] )
            NC_PANIC("lock order violated");
    }
    else if ( held_ranks[1] & (~0ULL << (r - 64)) )
        NC_PANIC("lock order violated");
    if ( r == NC_RANK_DOMAIN )
        held_domains++;
    held_ranks[r / 64] |= 1ULL << (r % 64);
}

static void order_release(const nc_lock_t *l)
{
    unsigned int r = l->rank;

    if ( r == NC_RANK_DOMAIN && --held_domains )
        return;
    held_ranks[r / 64] &= ~(1ULL << (r % 64));
}
#endif

void nc_lock_init(nc_lock_t *l, unsigned int rank)
{
    atomic_init(state_of(l), 0);
    atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
    l->rank = rank;
}

void nc_lock_fini(nc_lock_t *l)
{
    BUG_ON(atomic_load_explicit(&l->owner, memory_order_relaxed) != NULL);
    BUG_ON(atomic_load_explicit(state_of(l), memory_order_relaxed) != 0);
}

/* Out of line: the fast path, one compare-and-swap, inlines into the
 * allocation path (link-time optimisation) only if this stays apart. */
__attribute__((noinline, cold)) static void lock_slow(int _Atomic *s)
{
    int c;

    for ( int i = 0; i < LOCK_SPINS; i++ )
    {
        c = 0;
        if ( atomic_load_explicit(s, memory_order_relaxed) == 0 &&
             atomic_compare_exchange_weak_explicit(s, &c, 1,
                                                   memory_order_seq_cst,
                                                   memory_order_relaxed) )
            return;
        cpu_relax();
    }
    /* Mark it contended; whoever unlocks then wakes a sleeper. */
    while ( atomic_exchange_explicit(s, 2, memory_order_seq_cst) != 0 )
        futex(s, FUTEX_WAIT, 2);
}

void nc_lock(nc_lock_t *l)
{
    int _Atomic *s = state_of(l);
    int c = 0;

    ASSERT(!nc_lock_held(l));            /* not recursive */
#if NC_DEBUG >= 1
    order_acquire(l);
#endif
    if ( !atomic_compare_exchange_strong_explicit(s, &c, 1,
                                                  memory_order_seq_cst,
                                                  memory_order_relaxed) )
        lock_slow(s);
#if NC_DEBUG >= 1
    atomic_store_explicit(&l->owner, (void *)&thread_token,
                          memory_order_relaxed);
#endif
}

void nc_unlock(nc_lock_t *l)
{
    int _Atomic *s = state_of(l);

    ASSERT(nc_lock_held(l));
#if NC_DEBUG >= 1
    order_release(l);
    atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
#endif
    if ( atomic_exchange_explicit(s, 0, memory_order_release) == 2 )
        futex(s, FUTEX_WAKE, 1);
}

bool nc_lock_free(const nc_lock_t *l)
{
    return atomic_load_explicit(state_of((nc_lock_t *)l),
                                memory_order_seq_cst) == 0;
}

#if NC_DEBUG >= 1
bool nc_lock_held(const nc_lock_t *l)
{
    return atomic_load_explicit(&((nc_lock_t *)l)->owner,
                                memory_order_relaxed) == &thread_token;
}
#endif

/*
 * Fault injection (env.h).  env_flags is the one word every allocation
 * reads; the counters are touched only when it says so, so an unarmed,
 * untracked build pays a relaxed load and a predicted branch.
 */
#define ENV_ARMED    (1U << 0)
#define ENV_PERSIST  (1U << 1)
#define ENV_TRACK    (1U << 2)

static _Atomic unsigned int env_flags;
static atomic_long fault_countdown;     /* successes left before a failure */
static atomic_long alloc_count, alloc_live, alloc_failed;

void nc_env_fail_alloc_after(long n, enum nc_fault_mode mode)
{
    unsigned int keep = atomic_load(&env_flags) & ENV_TRACK;

    /* Disarm first, so no allocation sees the new count with old flags. */
    atomic_store(&env_flags, keep);
    if ( mode == NC_FAULT_OFF || n < 0 )
        return;
    atomic_store(&fault_countdown, n);
    atomic_store(&env_flags, keep | ENV_ARMED |
                             (mode == NC_FAULT_PERSIST ? ENV_PERSIST : 0));
}

void nc_env_alloc_track(bool on)
{
    if ( on )
        atomic_fetch_or(&env_flags, ENV_TRACK);
    else
        atomic_fetch_and(&env_flags, ~ENV_TRACK);
}

long nc_env_alloc_count(void)
{
    return atomic_load(&alloc_count);
}

long nc_env_alloc_live(void)
{
    return atomic_load(&alloc_live);
}

long nc_env_alloc_failed(void)
{
    return atomic_load(&alloc_failed);
}

/* True if this allocation is the one (or one of those) to fail. */
static bool fault_hit(unsigned int flags)
{
    long left = atomic_fetch_sub(&fault_countdown, 1);

    if ( left == 0 || (left < 0 && (flags & ENV_PERSIST)) )
    {
        atomic_fetch_add(&alloc_failed, 1);
        return true;
    }
    return false;
}

/* nc_zalloc and nc_alloc: the same injection and counting either way. */
static void *env_alloc(size_t size, bool zero)
{
    unsigned int flags = atomic_load_explicit(&env_flags,
                                              memory_order_relaxed);
    void *p;

    if ( __builtin_expect(flags != 0, 0) && (flags & ENV_ARMED) &&
         fault_hit(flags) )
        return NULL;
    if ( !size )
        size = 1;
    p = zero ? calloc(1, size) : malloc(size);
    if ( __builtin_expect(flags != 0, 0) && p && (flags & ENV_TRACK) )
    {
        atomic_fetch_add(&alloc_count, 1);
        atomic_fetch_add(&alloc_live, 1);
    }
    return p;
}

void *nc_zalloc(size_t size)
{
    return env_alloc(size, true);
}

void *nc_alloc(size_t size)
{
    return env_alloc(size, false);
}

void nc_free(void *p)
{
    if ( p && (atomic_load_explicit(&env_flags, memory_order_relaxed) &
               ENV_TRACK) )
        atomic_fetch_sub(&alloc_live, 1);
    free(p);
}

_Noreturn void nc_panic(const char *file, int line, const char *func,
                        const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "numaclaim: %s:%d: %s: ", file, line, func);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}
