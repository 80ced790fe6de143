#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Debian's unmodified xl (xen-utils-4.17) on a shared numaclaim host: a
# hostd, `numaclaim xenstored` (Debian's xenstored on the stand-ins), two
# domains built with claim sets by xl_builder in processes of their own,
# and xl in yet others: info, info -n, list, list -n, vcpu-list, claims,
# dmesg and debug-keys must show what the host holds, line for line.
# Then xenstored and hostd must stop cleanly.  Skipped (77) when xl or
# xenstored is not installed.
# Usage: test_xl.sh PATH/TO/numaclaim PATH/TO/xl_builder
set -u
bin=$1 builder=$2
xl=/usr/lib/xen-4.17/bin/xl
xenstored=/usr/lib/xen-4.17/bin/xenstored
if [ ! -x "$xl" ] || [ ! -x "$xenstored" ]; then
    echo "xl or xenstored not installed (xen-utils-4.17): skipped"
    exit 77
fi
tmp=$(mktemp -d)
sock=$tmp/h.sock
hostd= xsd=
cleanup() {
    [ -n "$xsd" ] && kill -TERM "$xsd" 2>/dev/null
    [ -n "$hostd" ] && kill -TERM "$hostd" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "$0")/cli_lib.sh"

has_line() {    # file, exact line
    if grep -qxF -- "$2" "$1"; then
        return 0
    fi
    echo "  no line '$2' in:"
    sed 's/^/    /' "$1"
    return 1
}

xl_out() {      # name, xl args...: xl's stdout in $tmp/name, status 0
    local name=$1; shift
    "$xl" "$@" >"$tmp/$name" 2>"$tmp/$name.err" || {
        echo "  xl $* failed:"; cat "$tmp/$name.err"; return 1; }
}

wait_for() {    # file, pattern: up to 5 s
    for _ in $(seq 250); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.02
    done
    cat "$1"
    return 1
}

# A sanitizer build's stand-ins need the sanitizer runtime, which Debian's
# programs lack: xl, and xenstored through a wrapper, get it preloaded.
xsd_args=()
shim=${LD_LIBRARY_PATH%%:*}
if nm -D "$shim/libxencall.so.1" 2>/dev/null | grep -q ' U __asan_'; then
    asan=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
    real_xl=$xl
    xl=$tmp/xl
    for p in xl xenstored; do
        printf '#!/bin/sh\nLD_PRELOAD=%s${LD_PRELOAD:+ $LD_PRELOAD} ASAN_OPTIONS=detect_leaks=0 exec %s "$@"\n' \
            "$asan" "$(dirname "$real_xl")/$p" >"$tmp/$p"
        chmod +x "$tmp/$p"
    done
    xsd_args=(--xenstored "$tmp/xenstored")
fi

out_has() {     # pattern, command...: status 1 and pattern in its output
    local pattern=$1 rc; shift
    "$@" >"$tmp/cmd.out" 2>&1
    rc=$?
    [ "$rc" -eq 1 ] && grep -qF -- "$pattern" "$tmp/cmd.out" && return 0
    echo "  status $rc:"; cat "$tmp/cmd.out"
    return 1
}

check "xenstored needs a hostd" out_has "no numaclaim hostd at $sock" \
    "$bin" xenstored --socket "$sock"

# A host of two 1 GiB nodes with 2 pCPUs each.
"$bin" hostd --host '2x1G;cpus=2' --socket "$sock" 2>"$tmp/hostd.log" &
hostd=$!
check "hostd serves" wait_for "$tmp/hostd.log" "serving host"
"$bin" xenstored --socket "$sock" "${xsd_args[@]}" >"$tmp/xsd.log" 2>&1 &
xsd=$!
check "numaclaim xenstored serves" wait_for "$tmp/xsd.log" "serving"
eval "$("$bin" env --socket "$sock")"
check "one xenstored per host" \
    out_has "a xenstored is already serving $sock.xenstore/socket" \
    "$bin" xenstored --socket "$sock"
check "env exports XENSTORED_PATH" \
    [ "$XENSTORED_PATH" = "$sock.xenstore/socket" ]

# Before any domain.
check "xl info -n" xl_out info0 info -n
check "node 0 all free" has_line "$tmp/info0" "   0:      1024       1024      10,21"
check "node 1 all free" has_line "$tmp/info0" "   1:      1024       1024      21,10"
check "no claims" has_line "$tmp/info0" "outstanding_claims     : 0"
check "no PCI devices" has_line "$tmp/info0" "No device topology data available"
check "xl list: only Domain-0" xl_out list0 list
check "Domain-0 listed" has_line "$tmp/list0" \
    "Domain-0                                     0     0     4     r-----       0.0"
check "and nothing else" [ "$(wc -l <"$tmp/list0")" -eq 2 ]

# Two builders, each its own process: web claims 256 MiB on node 1 and
# populates 64 MiB of it; db claims 128 MiB on node 0 and populates all.
check "xl_builder web" sh -c "'$builder' web 512 1 256 64 >'$tmp/d1'"
check "xl_builder db" sh -c "'$builder' db 256 0 128 128 >'$tmp/d2'"
check "domids 1 and 2" [ "$(cat "$tmp/d1" "$tmp/d2" | tr '\n' ' ')" = "1 2 " ]

# Xen's xl list shows memory as tot_pages plus outstanding claims.
check "xl list" xl_out list list
check "web listed" has_line "$tmp/list" \
    "web                                          1   256     2     --p---       0.0"
check "db listed" has_line "$tmp/list" \
    "db                                           2   128     2     --p---       0.0"
check "xl list -n" xl_out listn list -n
check "web's node affinity" has_line "$tmp/listn" \
    "web                                          1   256     2     --p---       0.0 all"
check "xl claims" xl_out claims claims
check "claims header" has_line "$tmp/claims" \
    "Name                                        ID   Mem VCPUs	State	Time(s)  Claimed"
check "web still claims 192 MiB" has_line "$tmp/claims" \
    "web                                          1   256     2     --p---       0.0   192"
check "db's claim is redeemed" has_line "$tmp/claims" \
    "db                                           2   128     2     --p---       0.0     0"
check "Domain-0 claims nothing" has_line "$tmp/claims" \
    "Domain-0                                     0     0     4     r-----       0.0     0"

# Free memory falls per node as the domains populate.
check "xl info -n after" xl_out info1 info -n
check "node 0 lost 128 MiB" has_line "$tmp/info1" "   0:      1024        896      10,21"
check "node 1 lost 64 MiB" has_line "$tmp/info1" "   1:      1024        960      21,10"
check "outstanding claims" has_line "$tmp/info1" "outstanding_claims     : 192"
check "xl info" xl_out info info
check "free memory less claims" has_line "$tmp/info" "free_memory            : 1664"
check "total memory" has_line "$tmp/info" "total_memory           : 2048"
check "nr_nodes" has_line "$tmp/info" "nr_nodes               : 2"
check "scheduler" has_line "$tmp/info" "xen_scheduler          : credit2"

check "xl vcpu-list web" xl_out vcpus vcpu-list web
check "web vCPU 0" has_line "$tmp/vcpus" \
    "web                                  1     0    0   ---       0.0  all / all"
check "web vCPU 1" has_line "$tmp/vcpus" \
    "web                                  1     1    1   ---       0.0  all / all"
check "xl vcpu-list" xl_out vcpus_all vcpu-list
check "Domain-0 vCPU 3 runs" has_line "$tmp/vcpus_all" \
    "Domain-0                             0     3    3   r--       0.0  all / all"

# The console and the debug keys.
check "xl dmesg" xl_out dmesg dmesg
check "boot banner" has_line "$tmp/dmesg" \
    "(XEN) numaclaim: 2 nodes, 4 CPUs, 2.00 GiB of RAM"
check "web's claim set" has_line "$tmp/dmesg" \
    "(XEN) d1: claim set installed: node1 256.00 MiB"
for k in h H m q; do
    check "xl debug-keys $k" xl_out keys debug-keys "$k"
done
check "xl dmesg -c" xl_out dmesg2 dmesg -c
check "'h' lists the keys" has_line "$tmp/dmesg2" "(XEN) 'h' pressed: the debug keys"
check "'H' node 1's heap" has_line "$tmp/dmesg2" \
    "(XEN) node 1: 245760 of 262144 pages free, 49152 claimed"
check "'m' web's claim" has_line "$tmp/dmesg2" \
    "(XEN) d1: outstanding 49152 pages: host 0, node1 49152"
check "'q' db" has_line "$tmp/dmesg2" \
    "(XEN) d2: paused, 2 vCPUs, tot_pages 32768, max_pages 65536, outstanding 0, node affinity 0x3"
check "xl dmesg after -c" xl_out dmesg3 dmesg
check "the ring is clear" [ ! -s "$tmp/dmesg3" ]

# Clean shutdown: xenstored first, then hostd; each exits 0 and takes its
# socket with it.
kill -TERM "$xsd"
wait "$xsd"
check "numaclaim xenstored exits 0 on SIGTERM" [ $? -eq 0 ]
xsd=
check "its run directory is gone" [ ! -e "$sock.xenstore" ]
kill -TERM "$hostd"
wait "$hostd"
check "hostd exits 0 on SIGTERM" [ $? -eq 0 ]
hostd=
check "hostd's socket is gone" [ ! -e "$sock" ]

echo "xl: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
