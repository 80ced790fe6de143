/* SPDX-License-Identifier: MIT */
/*
 * fuzz-wire: hostd's side of the wire protocol (src/wire/wire.c), the
 * frames a client sends it.
 *
 * The input is the byte stream of one connection, written into a socket
 * pair and read back frame by frame with nc_wire_recv, as hostd's
 * connection threads read it, until the stream ends or a frame is
 * refused.  Every frame it returns must be one nc_wire_check_hdr (the
 * pure header check) accepts, with exactly the bytes sent; a stream that
 * ends inside a frame, or a bad header, must be refused (-EPROTO) and a
 * stream that ends between frames must end cleanly (-ECONNRESET).  The
 * frames hostd then acts on are routed as conn_main routes them: HELLO
 * first, then CALL (pad 0) or BIND_GUEST; the hypercalls themselves are
 * fuzz-hypercall's.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"
#include "fuzz.h"

#define MAX_INPUT (64 * 1024)     /* fits a socket pair's buffer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    size_t off = 0;

    if ( size > MAX_INPUT )
        return 0;
    if ( socketpair(AF_UNIX, SOCK_STREAM, 0, sv) )
        FZ_FAIL("socketpair");
    if ( size && write(sv[0], data, size) != (ssize_t)size )
        FZ_FAIL("write");
    shutdown(sv[0], SHUT_WR);

    for ( unsigned int n = 0;; n++ )
    {
        struct nc_wire_hdr h, raw;
        union nc_wire_any m;
        int rc = nc_wire_recv(sv[1], &h, &m, 100);
        size_t left = size - off;
        int want;

        if ( left == 0 )
        {
            if ( rc != -ECONNRESET )
                FZ_FAIL("frame %u: end of stream read as %d", n, rc);
            break;
        }
        if ( left < sizeof(raw) )
        {
            if ( rc != -EPROTO )
                FZ_FAIL("frame %u: %zu header bytes read as %d", n, left, rc);
            break;
        }
        memcpy(&raw, data + off, sizeof(raw));
        want = nc_wire_check_hdr(&raw);
        if ( want < 0 || left - sizeof(raw) < (size_t)want )
        {
            if ( rc != -EPROTO )
                FZ_FAIL("frame %u: a bad or cut frame read as %d", n, rc);
            break;
        }
        if ( rc || memcmp(&h, &raw, sizeof(h)) ||
             memcmp(&m, data + off + sizeof(raw), (size_t)want) )
            FZ_FAIL("frame %u: a good frame read as %d", n, rc);
        off += sizeof(raw) + (size_t)want;

        /* hostd's routing: the first frame must be a HELLO of this
         * version, then only CALL with pad 0 and BIND_GUEST are served,
         * anything else closes the connection. */
        if ( n == 0 ? h.type != NC_WIRE_HELLO ||
                          m.hello.version != NC_WIRE_VERSION
                    : !((h.type == NC_WIRE_CALL && !m.call.pad) ||
                        h.type == NC_WIRE_BIND_GUEST) )
            break;
    }
    close(sv[0]);
    close(sv[1]);
    return 0;
}
