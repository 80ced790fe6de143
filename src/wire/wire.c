/* SPDX-License-Identifier: MIT */
/*
 * Frames of the hostd wire protocol (wire.h): sending whole frames, and
 * receiving them with every length checked before it is trusted.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

uint32_t nc_wire_payload_size(uint16_t type)
{
    switch ( type )
    {
    case NC_WIRE_HELLO:         return sizeof(struct nc_wire_hello);
    case NC_WIRE_WELCOME:       return sizeof(struct nc_wire_welcome);
    case NC_WIRE_CALL:          return sizeof(struct nc_wire_call);
    case NC_WIRE_RESULT:        return sizeof(struct nc_wire_result);
    case NC_WIRE_BIND_GUEST:    return sizeof(struct nc_wire_bind_guest);
    default:                    return 0;
    }
}

int nc_wire_send(int fd, uint16_t type, uint32_t seq, const void *payload)
{
    unsigned char buf[sizeof(struct nc_wire_hdr) + sizeof(union nc_wire_any)];
    struct nc_wire_hdr h = {
        .magic = NC_WIRE_MAGIC,
        .version = NC_WIRE_VERSION,
        .type = type,
        .length = nc_wire_payload_size(type),
        .seq = seq,
    };
    size_t len = sizeof(h) + h.length, done = 0;

    if ( !h.length )
        return -EINVAL;
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), payload, h.length);
    while ( done < len )
    {
        ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL);

        if ( n < 0 && errno == EINTR )
            continue;
        if ( n <= 0 )
            return n < 0 ? -errno : -EPIPE;
        done += (size_t)n;
    }
    return 0;
}

static long long now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Where a frame being read stands: its first byte may take as long as
 * the peer likes (an idle client is no fault); from that byte on, the rest
 * must come within timeout_ms (< 0: no limit). */
struct frame_clock {
    int timeout_ms;
    bool started;
    long long deadline;
};

/* Read exactly len bytes.  Once the frame has started, a read that would
 * block waits in poll() for what is left of the deadline; a read that
 * need not wait (the usual case: header and payload come in one send)
 * costs no poll. */
static int read_full(int fd, void *dst, size_t len, struct frame_clock *c)
{
    size_t done = 0;

    while ( done < len )
    {
        bool timed = c->started && c->timeout_ms >= 0;
        ssize_t n = recv(fd, (char *)dst + done, len - done,
                         timed ? MSG_DONTWAIT : 0);

        if ( n < 0 && errno == EINTR )
            continue;
        if ( n < 0 && timed && (errno == EAGAIN || errno == EWOULDBLOCK) )
        {
            long long left = c->deadline - now_ms();
            struct pollfd p = { .fd = fd, .events = POLLIN };
            int r;

            if ( left <= 0 )
                return -ETIMEDOUT;
            r = poll(&p, 1, (int)left);
            if ( r < 0 && errno != EINTR )
                return -errno;
            if ( r == 0 )
                return -ETIMEDOUT;
            continue;
        }
        if ( n < 0 )
            return -errno;
        if ( n == 0 )
            return c->started ? -EPROTO : -ECONNRESET;
        if ( !c->started )
        {
            c->started = true;
            if ( c->timeout_ms >= 0 )
                c->deadline = now_ms() + c->timeout_ms;
        }
        done += (size_t)n;
    }
    return 0;
}

int nc_wire_check_hdr(const struct nc_wire_hdr *hdr)
{
    uint32_t want = nc_wire_payload_size(hdr->type);

    if ( hdr->magic != NC_WIRE_MAGIC || hdr->version != NC_WIRE_VERSION ||
         !want || hdr->length != want )
        return -EPROTO;
    return (int)want;
}

int nc_wire_recv(int fd, struct nc_wire_hdr *hdr, void *payload,
                 int timeout_ms)
{
    struct frame_clock c = { .timeout_ms = timeout_ms };
    int want, rc = read_full(fd, hdr, sizeof(*hdr), &c);

    if ( rc )
        return rc;
    want = nc_wire_check_hdr(hdr);
    if ( want < 0 )
        return want;
    return read_full(fd, payload, (size_t)want, &c);
}
