#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Writes the binary seeds of tests/fuzz/corpus/hypercall and corpus/wire
# (the text seeds of the other harnesses are plain files).  Run from the
# source root after changing an input layout; the layouts are described at
# the top of fuzz_hypercall.c and fuzz_wire.c.
import os
import struct

D = 'tests/fuzz/corpus'

# ---- hypercall: byte layouts of fuzz_hypercall.c's build() -------------
DOMCTL, SYSCTL, MEMOP, MULTI, VERSION = range(5)
# indexes into the harness's tables
CREATE, DESTROY, PAUSE, UNPAUSE, GETINFO, MAXMEM, SETAFF, GETAFF, SETVNUMA, \
    VCPUINFO, VCPUAFF, CLAIM, CLAIMINFO, NODEPAGES = range(14)
PHYS, NUMA, OFFLINE, DOMLIST, PCI, AVAIL, SCHED, POOL, CPUTOPO, CONSOLE, \
    KEYS, CHECK, OVERVIEW = range(13)
INCR, DECR, POPULATE, CLAIMPAGES, GETVNUMA, CURRES, MAXRES, MAXRAM, \
    MEMMAP = range(9)
IN, ACROSS, GUARD, NULL = 0, 4, 5, 6          # handle modes


def h(mode, off=0):
    return bytes([mode, off])


def call(kind, sel, payload=b'', data=b'', tail=b'', how=0, flags=0,
         caller=0, top=True):
    b = bytes([caller]) if top else b''
    return b + bytes([kind, sel, how, flags, len(payload), len(data)]) + \
        data + payload + tail


def domctl(sel, union=b'', dom=1, handles=b'', data=b'', how=0, top=True):
    return call(DOMCTL, sel, bytes(16) + union, data,
                bytes([dom]) + handles, how=how, top=top)


def sysctl(sel, union=b'', handles=b'', data=b'', how=0):
    return call(SYSCTL, sel, bytes(8) + union, data, handles, how=how)


def memop(sel, struct_=b'', dom=1, handles=b'', data=b'', top=True):
    return call(MEMOP, sel, struct_, data, bytes([dom]) + handles, top=top)


def reservation(nr, order=0, flags=0):
    return struct.pack('<QQIIH6x', 0, nr, order, flags, 1)


create = domctl(CREATE, bytes(28) + struct.pack('<I', 2))
maxmem = domctl(MAXMEM, struct.pack('<Q', 64 * 1024))
claims = struct.pack('<QII', 1000, 0, 0) + struct.pack('<QII', 500, 1, 0)
claim = domctl(CLAIM, struct.pack('<QII', 0, 2, 0), handles=h(IN),
               data=claims)
gpfns = b''.join(struct.pack('<Q', i) for i in range(16))
populate = memop(POPULATE, reservation(16), handles=h(IN), data=gpfns)
check = sysctl(CHECK, struct.pack('<II', 2, 0))
seeds = {
    'lifecycle': bytes([0]) + create + maxmem + claim + populate +
    domctl(GETINFO) + domctl(CLAIMINFO) +
    sysctl(OVERVIEW, struct.pack('<II', 4, 0), h(IN, 8)) + check +
    call(MULTI, 2) + memop(CURRES, b'\x01\x00', top=False) +
    call(VERSION, 0, top=False)[0:6] + h(NULL) +
    memop(DECR, reservation(16), handles=h(IN), data=gpfns) +
    domctl(DESTROY),
    'efault': bytes([1]) + create + maxmem +
    sysctl(DOMLIST, struct.pack('<IIQ', 0, 16, 0), h(ACROSS, 3)) +
    sysctl(NUMA, struct.pack('<I', 3), h(GUARD) + h(IN)) +
    domctl(GETINFO, how=6) +
    memop(POPULATE, reservation(64), handles=h(ACROSS, 4), data=gpfns) +
    domctl(CLAIM, struct.pack('<QII', 0, 2, 0), handles=h(NULL)) +
    sysctl(CONSOLE, struct.pack('<BBHIQI', 0, 0, 0, 0, 0, 64), h(ACROSS, 2)),
    'vnuma': bytes([2]) + create + maxmem +
    domctl(SETVNUMA, struct.pack('<IIII', 2, 2, 2, 0),
           handles=h(IN, 0) + h(IN, 1) + h(IN, 2) + h(IN, 3),
           data=struct.pack('<4I', 10, 20, 20, 10).ljust(64, b'\0') +
           struct.pack('<2I', 0, 1).ljust(64, b'\0') +
           struct.pack('<2I', 0, 1).ljust(64, b'\0') +
           struct.pack('<QQII', 0, 0x800000, 0, 0) +
           struct.pack('<QQII', 0x800000, 0x1000000, 0, 1)) +
    memop(GETVNUMA, struct.pack('<HHIII', 1, 0, 2, 2, 2).ljust(40, b'\0'),
          handles=h(IN, 0) + h(IN, 1) + h(IN, 2)) +
    memop(POPULATE, reservation(8, 0, (1 << 8) | (1 << 17)), handles=h(IN),
          data=gpfns) +
    domctl(NODEPAGES, struct.pack('<QII', 0, 4, 0), handles=h(IN)) +
    sysctl(OFFLINE, struct.pack('<IIIIQ', 100, 0, 103, 0, 0), h(IN)) +
    sysctl(KEYS, struct.pack('<QI', 0, 3), h(IN), data=b'Hmq') + check,
}
os.makedirs(D + '/hypercall', exist_ok=True)
for name, b in seeds.items():
    open(f'{D}/hypercall/{name}', 'wb').write(b)

# ---- wire: frames as a client sends them --------------------------------
MAGIC, VERSION_ = 0x3148434e, 1


def frame(type_, payload, seq=1, length=None, magic=MAGIC):
    return struct.pack('<IHHII', magic, VERSION_, type_,
                       len(payload) if length is None else length,
                       seq) + payload


hello = frame(1, struct.pack('<II', 1, 0))
call_ = frame(3, struct.pack('<II5Q', 17, 0, 0, 0, 0, 0, 0), seq=2)
bind = frame(5, struct.pack('<II', 1234, 1), seq=3)
wire = {
    'session': hello + call_ + bind,
    'bad-magic': frame(1, struct.pack('<II', 1, 0), magic=0x12345678),
    'bad-length': frame(3, struct.pack('<II', 1, 0)),
    'cut': (hello + call_)[:-5],
    'after-hello-welcome': hello + frame(2, bytes(216)),
}
os.makedirs(D + '/wire', exist_ok=True)
for name, b in wire.items():
    open(f'{D}/wire/{name}', 'wb').write(b)
