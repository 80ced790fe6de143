/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor console: a ring of NC_CONSOLE_SIZE bytes that keeps the
 * newest messages, read by XEN_SYSCTL_readconsole (`xl dmesg`), and the
 * core's freestanding printf-style formatter that writes them.
 *
 * As in Xen, the ring is indexed by two free-running 32-bit counters: c,
 * the oldest byte kept, and p, the next byte written (the byte with index i
 * lives at i mod NC_CONSOLE_SIZE).  Writing past a full ring moves c up, so
 * the oldest bytes go first; a reader that remembers the index it stopped
 * at can resume there as long as that byte is still kept.  Counters wrap
 * at 2^32, which the window tests below allow for.
 *
 * Messages are formatted into a buffer on the stack before console_lock is
 * taken, and the core writes them after dropping the heap's locks
 * (private.h), so the lock is held only to copy bytes.
 */
#include <stdarg.h>

#include "private.h"

_Static_assert((NC_CONSOLE_SIZE & (NC_CONSOLE_SIZE - 1)) == 0,
               "the console ring size must be a power of two");

#define RING_MASK(i)    ((i) & (NC_CONSOLE_SIZE - 1))
#define PREFIX          "(XEN) "
#define MSG_MAX         1024    /* one message, as Xen's printk buffer */

/* ========================================================================
 * The formatter
 * ======================================================================== */

struct out {
    char *buf;
    size_t size, len;           /* len: what the text needs, even if cut */
};

static void out_char(struct out *o, char ch)
{
    if ( o->len + 1 < o->size )
        o->buf[o->len] = ch;
    o->len++;
}

static void out_pad(struct out *o, char ch, size_t n)
{
    while ( n-- )
        out_char(o, ch);
}

/* One converted field: sign or "0x" first, then zeros or spaces to the
 * width, then the digits. */
static void out_field(struct out *o, const char *prefix, const char *body,
                      size_t blen, unsigned int width, bool left, bool zero)
{
    size_t plen = 0, total;

    while ( prefix[plen] )
        plen++;
    total = plen + blen;
    if ( !left && !zero && width > total )
        out_pad(o, ' ', width - total);
    for ( size_t i = 0; i < plen; i++ )
        out_char(o, prefix[i]);
    if ( !left && zero && width > total )
        out_pad(o, '0', width - total);
    for ( size_t i = 0; i < blen; i++ )
        out_char(o, body[i]);
    if ( left && width > total )
        out_pad(o, ' ', width - total);
}

/* Digits of v in base 10 or 16, most significant first, into tmp (24). */
static size_t digits(char *tmp, unsigned long long v, unsigned int base,
                     bool upper)
{
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char rev[24];
    size_t n = 0;

    do
    {
        rev[n++] = set[v % base];
        v /= base;
    } while ( v );
    for ( size_t i = 0; i < n; i++ )
        tmp[i] = rev[n - 1 - i];
    return n;
}

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

int nc_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };

    for ( const char *f = fmt; *f; f++ )
    {
        bool left = false, zero = false, neg = false;
        unsigned int width = 0, base = 10;
        enum length len = LEN_INT;
        unsigned long long v;
        char tmp[24];
        const char *start = f;

        if ( *f != '%' )
        {
            out_char(&o, *f);
            continue;
        }
        for ( f++; *f == '-' || *f == '0'; f++ )
            if ( *f == '-' )
                left = true;
            else
                zero = true;
        for ( ; *f >= '0' && *f <= '9'; f++ )
            width = width * 10 + (unsigned int)(*f - '0');
        if ( *f == 'h' )
            len = *++f == 'h' ? (f++, LEN_CHAR) : LEN_SHORT;
        else if ( *f == 'l' )
            len = *++f == 'l' ? (f++, LEN_LLONG) : LEN_LONG;
        else if ( *f == 'z' )
            len = (f++, LEN_SIZE);

        switch ( *f )
        {
        case 'd': case 'i':
        {
            long long s;

            switch ( len )
            {
            case LEN_LONG:  s = va_arg(ap, long); break;
            case LEN_LLONG: s = va_arg(ap, long long); break;
            case LEN_SIZE:  s = (long long)va_arg(ap, size_t); break;
            case LEN_CHAR:  s = (signed char)va_arg(ap, int); break;
            case LEN_SHORT: s = (short)va_arg(ap, int); break;
            default:        s = va_arg(ap, int); break;
            }
            neg = s < 0;
            /* -LLONG_MIN overflows: negate in unsigned arithmetic. */
            v = neg ? 0ULL - (unsigned long long)s : (unsigned long long)s;
            out_field(&o, neg ? "-" : "", tmp, digits(tmp, v, 10, false),
                      width, left, zero);
            break;
        }

        case 'x': case 'X':
            base = 16;
            /* fall through */
        case 'u':
            switch ( len )
            {
            case LEN_LONG:  v = va_arg(ap, unsigned long); break;
            case LEN_LLONG: v = va_arg(ap, unsigned long long); break;
            case LEN_SIZE:  v = va_arg(ap, size_t); break;
            case LEN_CHAR:  v = (unsigned char)va_arg(ap, unsigned); break;
            case LEN_SHORT: v = (unsigned short)va_arg(ap, unsigned); break;
            default:        v = va_arg(ap, unsigned int); break;
            }
            out_field(&o, "", tmp, digits(tmp, v, base, *f == 'X'), width,
                      left, zero);
            break;

        case 'p':
            v = (uintptr_t)va_arg(ap, void *);
            out_field(&o, "0x", tmp, digits(tmp, v, 16, false), width, left,
                      zero);
            break;

        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            out_field(&o, "", tmp, 1, width, left, false);
            break;

        case 's':
        {
            const char *s = va_arg(ap, const char *);
            size_t n = 0;

            if ( !s )
                s = "(null)";
            while ( s[n] )
                n++;
            out_field(&o, "", s, n, width, left, false);
            break;
        }

        case '%':
            out_char(&o, '%');
            break;

        default:
            /* Not a conversion this formatter knows: shown as written, so
             * a mistake is visible rather than eating an argument. */
            for ( ; start <= f && *start; start++ )
                out_char(&o, *start);
            if ( !*f )
                f--;
            break;
        }
    }
    if ( size )
        buf[o.len < size ? o.len : size - 1] = '\0';
    return o.len > 0x7fffffff ? 0x7fffffff : (int)o.len;
}

int nc_format(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = nc_vformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* ========================================================================
 * The ring
 * ======================================================================== */

void console_init(struct nc_host *h)
{
    nc_lock_init(&h->console_lock, NC_RANK_CONSOLE);
    h->conring_c = h->conring_p = 0;
}

void console_fini(struct nc_host *h)
{
    nc_lock_fini(&h->console_lock);
}

static void ring_put_locked(struct nc_host *h, const char *s, size_t n)
{
    ASSERT(nc_lock_held(&h->console_lock));
    for ( size_t i = 0; i < n; i++ )
        h->conring[RING_MASK(h->conring_p++)] = s[i];
    if ( h->conring_p - h->conring_c > NC_CONSOLE_SIZE )
        h->conring_c = h->conring_p - NC_CONSOLE_SIZE;
}

/* True if index i lies in (c, p]: a byte still kept, or the end. */
static bool in_window(uint32_t c, uint32_t p, uint32_t i)
{
    return c <= p ? c < i && i <= p : c < i || i <= p;
}

/* One message: "(XEN) " at the start of every line, a newline at the end,
 * all of it in one critical section so that messages never interleave. */
static void console_puts(struct nc_host *h, const char *text, size_t n)
{
    bool sol = true;

    nc_lock(&h->console_lock);
    for ( size_t i = 0; i < n; i++ )
    {
        if ( sol )
            ring_put_locked(h, PREFIX, sizeof(PREFIX) - 1);
        ring_put_locked(h, &text[i], 1);
        sol = text[i] == '\n';
    }
    if ( !sol )
        ring_put_locked(h, "\n", 1);
    nc_unlock(&h->console_lock);
}

void nc_console_write(struct nc_host *h, const char *text)
{
    size_t n = 0;

    while ( text[n] )
        n++;
    console_puts(h, text, n);
}

static void console_vprintk(struct nc_host *h, const char *fmt, va_list ap)
{
    char buf[MSG_MAX];
    int n = nc_vformat(buf, sizeof(buf), fmt, ap);

    if ( n >= (int)sizeof(buf) )        /* cut short: say so */
    {
        nc_memmove(&buf[sizeof(buf) - 5], "...\n", 5);
        n = (int)sizeof(buf) - 1;
    }
    console_puts(h, buf, (size_t)n);
}

void printk(struct nc_host *h, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    console_vprintk(h, fmt, ap);
    va_end(ap);
}

void nc_console_printf(struct nc_host *h, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    console_vprintk(h, fmt, ap);
    va_end(ap);
}

/* Xen's read_console_ring(), with the copy into buf made under the lock
 * (Xen copies without it and may hand out bytes being overwritten). */
void nc_console_read(struct nc_host *h, char *buf, uint32_t max,
                     uint32_t *index, uint32_t flags, uint32_t *count)
{
    uint32_t c, p, sofar = 0;

    nc_lock(&h->console_lock);
    c = h->conring_c;
    p = h->conring_p;
    if ( (flags & NC_CONSOLE_INCREMENTAL) && in_window(c, p, *index) )
        c = *index;
    while ( c != p && sofar < max )
    {
        uint32_t idx = RING_MASK(c), len = p - c;

        if ( idx + len > NC_CONSOLE_SIZE )
            len = NC_CONSOLE_SIZE - idx;        /* up to the ring's end */
        if ( sofar + len > max )
            len = max - sofar;
        nc_memmove(buf + sofar, &h->conring[idx], len);
        sofar += len;
        c += len;
    }
    if ( flags & NC_CONSOLE_CLEAR )
        h->conring_c = c;
    nc_unlock(&h->console_lock);
    *count = sofar;
    *index = c;
}

void nc_console_clear(struct nc_host *h, uint32_t index)
{
    nc_lock(&h->console_lock);
    /* Bytes before an index that is no longer kept are gone already. */
    if ( in_window(h->conring_c, h->conring_p, index) )
        h->conring_c = index;
    nc_unlock(&h->console_lock);
}

/* ========================================================================
 * Pieces of messages
 * ======================================================================== */

const char *console_size(char buf[16], uint64_t pages)
{
    static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
    uint64_t kib = pages << 2;
    unsigned int u = 0;

    while ( u < 3 && (kib >> (10 * (u + 1))) )
        u++;
    nc_format(buf, 16, "%llu.%02llu %s",
              (unsigned long long)(kib >> (10 * u)),
              (unsigned long long)(((kib & ((1ULL << (10 * u)) - 1)) * 100)
                                   >> (10 * u)),
              unit[u]);
    return buf;
}

const char *console_errno(char buf[16], int rc)
{
    static const struct {
        int e;
        const char *name;
    } names[] = {
        { EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" },
        { E2BIG, "E2BIG" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },
        { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" },
        { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" },
        { ERANGE, "ERANGE" }, { ENOSYS, "ENOSYS" }, { ENOBUFS, "ENOBUFS" },
        { EOPNOTSUPP, "EOPNOTSUPP" }, { EOVERFLOW, "EOVERFLOW" },
        { EPROTO, "EPROTO" },
    };

    for ( size_t i = 0; i < NC_ARRAY_SIZE(names); i++ )
        if ( names[i].e == -rc )
            return names[i].name;
    nc_format(buf, 16, "errno %d", -rc);
    return buf;
}

/* Append to a message being built: false once it no longer fits. */
static bool msg_add(char *buf, size_t size, size_t *used, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

static bool msg_add(char *buf, size_t size, size_t *used, const char *fmt,
                    ...)
{
    va_list ap;
    int n;

    if ( *used >= size )
        return false;
    va_start(ap, fmt);
    n = nc_vformat(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    *used += (size_t)n;
    return *used < size;
}

/* ", node1 12.00 GiB" for each entry with pages. */
static void claim_entries(char *buf, size_t size, size_t *used,
                          const struct nc_claim *set, uint32_t nr)
{
    const char *sep = "";
    char sz[16];

    for ( unsigned int i = 0; i < nr; i++ )
    {
        if ( !set[i].pages )
            continue;
        if ( set[i].target == NC_CLAIM_HOST )
            msg_add(buf, size, used, "%shost %s", sep,
                    console_size(sz, set[i].pages));
        else
            msg_add(buf, size, used, "%snode%u %s", sep, set[i].target,
                    console_size(sz, set[i].pages));
        sep = ", ";
    }
}

void console_claims(struct nc_host *h, nc_domid_t domid,
                    const struct nc_claim *set, uint32_t nr, bool legacy,
                    int rc, uint64_t outstanding)
{
    /* 65 entries of up to ~22 characters each. */
    char buf[1600], e[16], sz[16];
    size_t used = 0;
    bool any = false;

    /* Refusals are warnings; an install or a release is information. */
    if ( !console_wants(h, rc ? NC_LOG_WARNING : NC_LOG_INFO) )
        return;
    if ( legacy )
    {
        if ( rc )
            msg_add(buf, sizeof(buf), &used, "d%u: XENMEM_claim_pages to %llu "
                    "pages refused: %s (%d)", domid,
                    (unsigned long long)set[0].pages, console_errno(e, rc),
                    rc);
        else if ( !set[0].pages )
            msg_add(buf, sizeof(buf), &used,
                    "d%u: claims released (XENMEM_claim_pages 0)", domid);
        else
            msg_add(buf, sizeof(buf), &used, "d%u: claim installed: host %s "
                    "(XENMEM_claim_pages to %llu pages)", domid,
                    console_size(sz, outstanding),
                    (unsigned long long)set[0].pages);
        nc_console_write(h, buf);
        return;
    }

    /* Only a count the installer accepted says how many entries set has. */
    if ( nr == 0 || nr > NC_CLAIM_MAX_ENTRIES )
    {
        msg_add(buf, sizeof(buf), &used, "d%u: claim set of %u entries "
                "refused: %s (%d)", domid, nr, console_errno(e, rc), rc);
        nc_console_write(h, buf);
        return;
    }
    for ( unsigned int i = 0; i < nr; i++ )
        any |= set[i].pages != 0;
    if ( rc )
    {
        msg_add(buf, sizeof(buf), &used, "d%u: claim set refused: %s (%d)%s",
                domid, console_errno(e, rc), rc, any ? ": " : "");
        claim_entries(buf, sizeof(buf), &used, set, nr);
    }
    else if ( !any )
        msg_add(buf, sizeof(buf), &used, "d%u: claim set released", domid);
    else
    {
        msg_add(buf, sizeof(buf), &used, "d%u: claim set installed: ", domid);
        claim_entries(buf, sizeof(buf), &used, set, nr);
    }
    nc_console_write(h, buf);
}

void console_recall_note(struct console_recall *r, nc_domid_t domid,
                         uint32_t node, uint64_t pages)
{
    if ( !pages )
        return;
    if ( r->nr < CONSOLE_RECALL_MAX )
    {
        r->e[r->nr].domid = domid;
        r->e[r->nr].node = node;
        r->e[r->nr].pages = pages;
    }
    r->nr++;
    r->pages += pages;
}

void console_recall_write(struct nc_host *h, uint64_t mfn,
                          const struct console_recall *r)
{
    char buf[MSG_MAX];
    size_t used = 0;

    msg_add(buf, sizeof(buf), &used, "mfn 0x%llx offlined: recalled %llu "
            "claimed page%s:", (unsigned long long)mfn,
            (unsigned long long)r->pages, r->pages == 1 ? "" : "s");
    for ( unsigned int i = 0; i < r->nr && i < CONSOLE_RECALL_MAX; i++ )
        if ( r->e[i].node == NC_CLAIM_HOST )
            msg_add(buf, sizeof(buf), &used, " d%u host %llu", r->e[i].domid,
                    (unsigned long long)r->e[i].pages);
        else
            msg_add(buf, sizeof(buf), &used, " d%u node%u %llu",
                    r->e[i].domid, r->e[i].node,
                    (unsigned long long)r->e[i].pages);
    if ( r->nr > CONSOLE_RECALL_MAX )
        msg_add(buf, sizeof(buf), &used, " and %u more",
                r->nr - CONSOLE_RECALL_MAX);
    nc_console_write(h, buf);
}
