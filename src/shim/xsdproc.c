/* SPDX-License-Identifier: MIT */
/*
 * libnumaclaim-xsd.so: what Debian's xenstored finds in /proc/xen when
 * `numaclaim xenstored` runs it on a numaclaim host.
 *
 * xenstored 4.17 introduces domain 0 at start and will not run without
 * it: it reads dom0's xenbus event channel from /proc/xen/xsd_port and
 * maps dom0's ring page from /proc/xen/xsd_kva, two files the Linux xenfs
 * provides in a real dom0 and that a non-Xen kernel lacks (its -D option
 * skips this, but then its socket connections have no domain 0 to account
 * against).  This library, preloaded into that one xenstored and nothing
 * else, redirects open() of exactly those two paths to the files of the
 * same name in $NUMACLAIM_XSD_DIR (a port number, and one zeroed page that
 * serves as a ring no guest ever writes to); every other open() goes to
 * the C library untouched.  xenstored imports open; open64 is the same
 * call under its large-file name.
 */
/* meson builds with 64-bit off_t, which would rename open to open64. */
#undef _FILE_OFFSET_BITS

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);

static int redirect(const char *path, int flags, mode_t mode)
{
    const char *dir = getenv("NUMACLAIM_XSD_DIR");
    char buf[4096];

    if ( dir && (!strcmp(path, "/proc/xen/xsd_port") ||
                         !strcmp(path, "/proc/xen/xsd_kva")) &&
         snprintf(buf, sizeof(buf), "%s/%s", dir, path + 10) <
         (int)sizeof(buf) )
        path = buf;
    return openat(AT_FDCWD, path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;

    if ( flags & (O_CREAT | O_TMPFILE) )
    {
        va_list ap;

        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    return redirect(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;

    if ( flags & (O_CREAT | O_TMPFILE) )
    {
        va_list ap;

        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    return redirect(path, flags | O_LARGEFILE, mode);
}
