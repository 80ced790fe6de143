/* SPDX-License-Identifier: MIT */
/*
 * The hostd wire protocol: how the stand-in libxencall of one process hands
 * a hypercall to the numaclaim hostd that serves the shared host.
 *
 * A connection is a unix stream socket.  Every message is one frame: a
 * fixed header followed by `length` bytes of payload, with the length
 * checked against the type's exact size before anything is read past the
 * header, so a peer can neither make the reader allocate nor overrun a
 * buffer.  Integers are in the byte order of the host: both ends run on the
 * same machine.
 *
 *   client                                hostd
 *   HELLO {version}               ->
 *                                 <-      WELCOME {rc, domid, hostd pid, text}
 *   CALL {op, arg[5]}             ->      (the hypercall runs; guest handles
 *                                          are addresses in the client, read
 *                                          and written with process_vm_*v)
 *                                 <-      RESULT {rc}
 *   BIND_GUEST {pid, domid}       ->      (control domain only)
 *                                 <-      RESULT {rc}
 *
 * Who the client is comes from the kernel (SO_PEERCRED), never from a
 * message: WELCOME reports the identity hostd decided on (domain 0 for
 * the control domain, a guest's own domid), or a refusal with its reason.
 * A frame with a bad magic, version, type or length closes the connection.
 */
#ifndef NC_WIRE_H
#define NC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define NC_WIRE_MAGIC       0x3148434eu     /* "NCH1" */
#define NC_WIRE_VERSION     1u
#define NC_WIRE_TEXT_MAX    200u

enum nc_wire_type {
    NC_WIRE_HELLO       = 1,
    NC_WIRE_WELCOME     = 2,
    NC_WIRE_CALL        = 3,
    NC_WIRE_RESULT      = 4,
    NC_WIRE_BIND_GUEST  = 5,
};

struct nc_wire_hdr {
    uint32_t magic;
    uint16_t version;
    uint16_t type;              /* enum nc_wire_type */
    uint32_t length;            /* payload bytes after the header */
    uint32_t seq;               /* echoed in the answer */
};

struct nc_wire_hello {
    uint32_t version;           /* NC_WIRE_VERSION */
    uint32_t pad;
};

struct nc_wire_welcome {
    int32_t rc;                 /* 0, or -errno: refused */
    uint32_t domid;             /* who hostd takes the client for */
    uint32_t hostd_pid;         /* for PR_SET_PTRACER under Yama */
    uint32_t pad;
    char text[NC_WIRE_TEXT_MAX];   /* why, when refused; NUL-terminated */
};

struct nc_wire_call {
    uint32_t op;                /* hypercall number */
    uint32_t pad;
    uint64_t arg[5];
};

struct nc_wire_result {
    int64_t rc;                 /* the hypercall's value, or -errno */
};

struct nc_wire_bind_guest {
    uint32_t pid;               /* must be the sender itself */
    uint32_t domid;
};

/* The exact payload size of a type, or 0 for an unknown type. */
uint32_t nc_wire_payload_size(uint16_t type);

/* A received header's checks (magic, version, type, exact length), before
 * anything past it is read: its payload size, or -EPROTO. */
int nc_wire_check_hdr(const struct nc_wire_hdr *hdr);

/* Send one frame; 0 or -errno (EPIPE when the peer is gone; never
 * SIGPIPE). */
int nc_wire_send(int fd, uint16_t type, uint32_t seq, const void *payload);

/*
 * Receive one frame into *hdr and payload (which has room for the largest
 * payload, sizeof(union nc_wire_any)).  Waits without limit for the first
 * byte; once a frame has started, the rest must arrive within timeout_ms
 * (< 0: no limit).  Returns 0, or -ECONNRESET at end of stream, -EPROTO for
 * a bad magic, version, type or length, -ETIMEDOUT for a frame that stalls,
 * or another -errno.
 */
int nc_wire_recv(int fd, struct nc_wire_hdr *hdr, void *payload,
                 int timeout_ms);

union nc_wire_any {
    struct nc_wire_hello hello;
    struct nc_wire_welcome welcome;
    struct nc_wire_call call;
    struct nc_wire_result result;
    struct nc_wire_bind_guest bind;
};

#endif /* NC_WIRE_H */

/* ------------------------------------------------------------------------
 * The client side (client.c), for the stand-in libxencall and the CLI
 * ------------------------------------------------------------------------ */

/*
 * Connect to the hostd at path and say HELLO.  Returns the connected fd
 * with the WELCOME in *w, or -errno with a message in err: -ENOENT /
 * -ECONNREFUSED when no hostd serves the path, -EACCES when hostd refused
 * this process (its reason in err), -EPROTO for a hostd that does not
 * speak this wire version.
 */
int nc_wire_connect(const char *path, struct nc_wire_welcome *w, char *err,
                    size_t errlen);

/* One request and its RESULT on a connected fd: 0 with the result in
 * *result, or -errno for a broken connection (-ECONNRESET when hostd is
 * gone, -EPROTO for an answer that does not match). */
int nc_wire_request(int fd, uint16_t type, const void *payload,
                    int64_t *result);
