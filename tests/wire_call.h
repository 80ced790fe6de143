/* SPDX-License-Identifier: MIT */
/*
 * A raw hypercall on a hostd connection (the wire protocol, wire.h), for
 * the suites that talk to hostd below libxencall: the hypercall's value,
 * or WIRE_NO_ANSWER when the connection broke.
 */
#ifndef NC_TESTS_WIRE_CALL_H
#define NC_TESTS_WIRE_CALL_H

#include <stdint.h>

#include "../src/wire/wire.h"

#define WIRE_NO_ANSWER INT64_MIN

static inline int64_t wire_call(int fd, unsigned int op, uint64_t a0,
                                uint64_t a1)
{
    struct nc_wire_call c = { .op = op, .arg = { a0, a1 } };
    int64_t r;

    if ( nc_wire_request(fd, NC_WIRE_CALL, &c, &r) )
        return WIRE_NO_ANSWER;
    return r;
}

#endif /* NC_TESTS_WIRE_CALL_H */
