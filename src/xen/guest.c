/* SPDX-License-Identifier: MIT */
/*
 * Guest memory access for the hypercall dispatcher.
 *
 * A guest handle is an address in the calling process.  As in Xen, copying
 * through a bad handle must fail with -EFAULT, never crash: the copies go
 * through process_vm_readv/process_vm_writev, which the kernel validates
 * page by page, so NULL or unmapped memory gives an error instead of
 * SIGSEGV.  The calling process is our own, or, in hostd, the client whose
 * hypercall this thread is serving (nc_xen_set_caller_pid): the same copies,
 * so EFAULT arises exactly where it would in-process.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
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

/* The client this thread serves; 0: this process. */
static _Thread_local pid_t caller_pid;

void nc_xen_set_caller_pid(int pid)
{
    caller_pid = (pid_t)pid;
}

/*
 * Copy the pieces c[0..nr) in order, as many calls of one piece each
 * would, but with one system call per UIO_MAXIOV pieces: the kernel stops
 * at the first remote fault, so the pieces before it are copied and the
 * ones after it are not, as they would be one by one.  An empty piece is
 * always copied (whatever its address); a NULL or wrapping one faults
 * without a system call, after the pieces before it.
 */
static int guest_io(const struct guest_copy *c, unsigned int nr, bool write)
{
    pid_t pid = caller_pid ? caller_pid : self_pid();
    struct iovec l[GUEST_BATCH_MAX], r[GUEST_BATCH_MAX];
    unsigned int i = 0;

    while ( i < nr )
    {
        unsigned int k = 0;
        size_t len = 0;
        bool bad = false;
        ssize_t n = 0;

        for ( ; i < nr && k < GUEST_BATCH_MAX; i++ )
        {
            if ( c[i].len == 0 )
                continue;
            if ( c[i].gaddr == 0 || c[i].gaddr + c[i].len < c[i].gaddr )
            {
                bad = true;
                break;
            }
            l[k] = (struct iovec){ .iov_base = c[i].local,
                                   .iov_len = c[i].len };
            r[k] = (struct iovec){ .iov_base = (void *)(uintptr_t)c[i].gaddr,
                                   .iov_len = c[i].len };
            len += c[i].len;
            k++;
        }
        if ( k )
            n = write ? process_vm_writev(pid, l, k, r, k, 0)
                      : process_vm_readv(pid, l, k, r, k, 0);
        if ( n != (ssize_t)len || bad )
            return -EFAULT;
    }
    return 0;
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
