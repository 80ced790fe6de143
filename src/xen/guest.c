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

static int guest_io(uint64_t gaddr, void *local, size_t len, bool write)
{
    pid_t pid = caller_pid ? caller_pid : self_pid();
    struct iovec l = { .iov_base = local, .iov_len = len };
    struct iovec r = { .iov_base = (void *)(uintptr_t)gaddr, .iov_len = len };
    ssize_t n;

    if ( len == 0 )
        return 0;
    if ( gaddr == 0 || gaddr + len < gaddr )
        return -EFAULT;
    n = write ? process_vm_writev(pid, &l, 1, &r, 1, 0)
              : process_vm_readv(pid, &l, 1, &r, 1, 0);
    return n == (ssize_t)len ? 0 : -EFAULT;
}

int copy_from_guest(void *dst, uint64_t gaddr, size_t len)
{
    return guest_io(gaddr, dst, len, false);
}

int copy_to_guest(uint64_t gaddr, const void *src, size_t len)
{
    return guest_io(gaddr, (void *)src, len, true);
}
