/* SPDX-License-Identifier: MIT */
/*
 * Guest memory access for the hypercall dispatcher.
 *
 * A guest handle is an address in the calling process.  As in Xen, copying
 * through a bad handle must fail with -EFAULT, never crash: the copies go
 * through process_vm_readv/process_vm_writev, which the kernel validates
 * page by page, so NULL or unmapped memory gives an error instead of
 * SIGSEGV.  Copies wholly inside the process's own live hypercall buffers
 * (which cannot fault) are plain memcpy.  The calling process is our own, or, in hostd, the client whose
 * hypercall this thread is serving (nc_xen_set_caller_pid): the same copies,
 * so EFAULT arises exactly where it would in-process.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "xen.h"

/* Our pid, without a getpid() system call per copy; a forked child
 * forgets the parent's. */
static _Atomic pid_t self;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_pid(void)
{
    atomic_store(&self, 0);
}

static void install_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_pid);
}

static pid_t self_pid(void)
{
    pid_t p = atomic_load(&self);

    if ( !p )
    {
        pthread_once(&atfork_once, install_atfork);
        p = getpid();
        atomic_store(&self, p);
    }
    return p;
}

/* The client this thread serves; 0: this process.  Initial-exec: read
 * on every copy, and libxencall is never loaded late. */
static _Thread_local pid_t caller_pid __attribute__((tls_model("initial-exec")));

void nc_xen_set_caller_pid(int pid)
{
    caller_pid = (pid_t)pid;
}

/*
 * The live hypercall buffers of this process (xencall_alloc_buffer and
 * friends register them): memory the process owns and has mapped, so a
 * copy wholly inside one cannot fault and needs no system call.  Sorted
 * by start; a buffer that cannot be registered (no memory) is simply
 * copied through the kernel, as any other address.
 */
struct buffer {
    uintptr_t start, end;
};

static pthread_rwlock_t buf_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct buffer *bufs;
static uint32_t nr_bufs, cap_bufs;

/* Every hypercall copies through the same few buffers (libxencall's
 * cached pages), so each thread remembers the last ones it found and
 * skips the lock for them.  A remembered buffer is good while no buffer
 * has been removed since it was found: buf_removals counts removals
 * (adding one cannot make a remembered buffer stale). */
#define BUF_HITS 2
static _Atomic uint64_t buf_removals;
static _Thread_local struct buf_hit {
    uint64_t removals;           /* buf_removals when found */
    uintptr_t start, end;        /* end 0: empty */
} buf_hit[BUF_HITS] __attribute__((tls_model("initial-exec")));
static _Thread_local unsigned int buf_hit_next
    __attribute__((tls_model("initial-exec")));

/* The first buffer whose start is above a. */
static uint32_t buf_after(uintptr_t a)
{
    uint32_t lo = 0, hi = nr_bufs;

    while ( lo < hi )
    {
        uint32_t mid = lo + (hi - lo) / 2;

        if ( bufs[mid].start <= a )
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void nc_xen_buffer_add(const void *p, size_t len)
{
    uintptr_t a = (uintptr_t)p;
    uint32_t i;

    if ( !p || !len || a + len < a )
        return;
    pthread_rwlock_wrlock(&buf_lock);
    if ( nr_bufs == cap_bufs )
    {
        uint32_t cap = cap_bufs ? 2 * cap_bufs : 64;
        struct buffer *b = realloc(bufs, cap * sizeof(*b));

        if ( !b )
        {
            pthread_rwlock_unlock(&buf_lock);
            return;
        }
        bufs = b;
        cap_bufs = cap;
    }
    i = buf_after(a);
    memmove(&bufs[i + 1], &bufs[i], (nr_bufs - i) * sizeof(*bufs));
    bufs[i] = (struct buffer){ a, a + len };
    nr_bufs++;
    pthread_rwlock_unlock(&buf_lock);
}

void nc_xen_buffer_del(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    uint32_t i;

    pthread_rwlock_wrlock(&buf_lock);
    i = buf_after(a);
    if ( i && bufs[i - 1].start == a )
    {
        memmove(&bufs[i - 1], &bufs[i], (nr_bufs - i) * sizeof(*bufs));
        nr_bufs--;
        atomic_fetch_add_explicit(&buf_removals, 1, memory_order_release);
    }
    pthread_rwlock_unlock(&buf_lock);
}

/* Whether [a, a + len) lies in one live buffer of this process. */
static bool in_buffer(uint64_t a, size_t len)
{
    uint64_t removals;
    bool in = false;
    uint32_t i;

    if ( caller_pid || a + len < a )
        return false;
    removals = atomic_load_explicit(&buf_removals, memory_order_acquire);
    for ( unsigned int k = 0; k < BUF_HITS; k++ )
        if ( buf_hit[k].removals == removals && a >= buf_hit[k].start &&
             a + len <= buf_hit[k].end )
            return true;
    pthread_rwlock_rdlock(&buf_lock);
    i = buf_after((uintptr_t)a);
    in = i && a + len <= bufs[i - 1].end;
    if ( in )
    {
        /* Counted before the search: a removal since makes it stale. */
        buf_hit[buf_hit_next] = (struct buf_hit){ removals, bufs[i - 1].start,
                                                  bufs[i - 1].end };
        buf_hit_next = (buf_hit_next + 1) % BUF_HITS;
    }
    pthread_rwlock_unlock(&buf_lock);
    return in;
}

/* Copy a batch of runs through the kernel: 0, or -EFAULT at a fault. */
static int batch_io(pid_t pid, const struct iovec *l, unsigned int nl,
                    const struct iovec *r, unsigned int nr, size_t len,
                    bool write)
{
    ssize_t n;

    if ( !nr )
        return 0;
    n = write ? process_vm_writev(pid, l, nl, r, nr, 0)
              : process_vm_readv(pid, l, nl, r, nr, 0);
    return n == (ssize_t)len ? 0 : -EFAULT;
}

/*
 * Copy the pieces c[0..nr) in order, as many calls of one piece each
 * would: a piece inside a live hypercall buffer by memcpy, the others
 * with one system call per GUEST_BATCH_MAX of them.  The kernel stops at
 * the first remote fault, so the pieces before it are copied and the
 * ones after it are not, as they would be one by one (a memcpy piece
 * waits for the batch before it).  Pieces that follow one another in
 * the guest (or here) go as one run: the kernel pins and copies a run
 * page by page, so it faults at the same byte, and fewer runs cost less.
 * An empty piece is always copied (whatever its address); a NULL or
 * wrapping one faults without a system call, after the pieces before it.
 */
static int guest_io(const struct guest_copy *c, unsigned int nr, bool write)
{
    pid_t pid = caller_pid ? caller_pid : self_pid();
    struct iovec l[GUEST_BATCH_MAX], r[GUEST_BATCH_MAX];
    unsigned int k = 0, nl = 0, nrr = 0;
    size_t len = 0;

    for ( unsigned int i = 0; i < nr; i++ )
    {
        if ( c[i].len == 0 )
            continue;
        if ( c[i].gaddr == 0 || c[i].gaddr + c[i].len < c[i].gaddr )
        {
            batch_io(pid, l, nl, r, nrr, len, write);
            return -EFAULT;
        }
        if ( in_buffer(c[i].gaddr, c[i].len) )
        {
            if ( batch_io(pid, l, nl, r, nrr, len, write) )
                return -EFAULT;
            k = nl = nrr = 0;
            len = 0;
            if ( write )
                memcpy((void *)(uintptr_t)c[i].gaddr, c[i].local, c[i].len);
            else
                memcpy(c[i].local, (const void *)(uintptr_t)c[i].gaddr,
                       c[i].len);
            continue;
        }
        if ( nl && (char *)l[nl - 1].iov_base + l[nl - 1].iov_len ==
                   (char *)c[i].local )
            l[nl - 1].iov_len += c[i].len;
        else
            l[nl++] = (struct iovec){ .iov_base = c[i].local,
                                      .iov_len = c[i].len };
        if ( nrr && (uintptr_t)r[nrr - 1].iov_base + r[nrr - 1].iov_len ==
                    c[i].gaddr )
            r[nrr - 1].iov_len += c[i].len;
        else
            r[nrr++] = (struct iovec){
                .iov_base = (void *)(uintptr_t)c[i].gaddr,
                .iov_len = c[i].len };
        len += c[i].len;
        if ( ++k == GUEST_BATCH_MAX )
        {
            if ( batch_io(pid, l, nl, r, nrr, len, write) )
                return -EFAULT;
            k = nl = nrr = 0;
            len = 0;
        }
    }
    return batch_io(pid, l, nl, r, nrr, len, write);
}

int copy_from_guest_v(const struct guest_copy *c, unsigned int nr)
{
    return guest_io(c, nr, false);
}

int copy_to_guest_v(const struct guest_copy *c, unsigned int nr)
{
    return guest_io(c, nr, true);
}

int copy_from_guest(void *dst, uint64_t gaddr, size_t len)
{
    struct guest_copy c = { .gaddr = gaddr, .local = dst, .len = len };

    return guest_io(&c, 1, false);
}

int copy_to_guest(uint64_t gaddr, const void *src, size_t len)
{
    struct guest_copy c = { .gaddr = gaddr, .local = (void *)src,
                            .len = len };

    return guest_io(&c, 1, true);
}
