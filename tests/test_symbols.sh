#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Every symbol Debian's libxenctrl.so.4.17, libxenguest.so.4.17,
# libxenlight.so.4.17, libxenstore.so.4, xl and xenstored import from
# libxencall, libxenforeignmemory, libxendevicemodel, libxenevtchn and
# libxengnttab must be exported by numaclaim's stand-in of that library
# with the same version: they are linked with BIND_NOW, so one missing
# symbol stops every program.  A consumer that is not installed (xl and
# xenstored come with xen-utils-4.17) is skipped.
# Usage: test_symbols.sh SHIM_DIR
set -u
shim=$1
libdir=$(dirname "$(ldconfig -p | awk '/libxenctrl.so.4.17 / {print $NF; exit}')")
bindir=/usr/lib/xen-4.17/bin
passed=0
failed=0

for path in "$libdir/libxenctrl.so.4.17" "$libdir/libxenguest.so.4.17" \
            "$libdir/libxenlight.so.4.17" "$libdir/libxenstore.so.4" \
            "$bindir/xl" "$bindir/xenstored"; do
    consumer=$(basename "$path")
    if [ ! -e "$path" ]; then
        echo "skip: $path is not installed"
        continue
    fi
    for lib in libxencall libxenforeignmemory libxendevicemodel \
               libxenevtchn libxengnttab; do
        # "(VERS_1.0) xencall_open" for each import the consumer binds to lib.
        defined=$(objdump -T "$libdir/$lib.so.1" |
                  awk '$0 !~ /\*UND\*/ {print $NF}')
        wanted=$(objdump -T "$path" |
                 awk '$0 ~ /\*UND\*/ && $(NF-1) ~ /^\(?VERS_/ {print $(NF-1), $NF}' |
                 tr -d '()' | while read -r ver sym; do
                     if grep -qx "$sym" <<<"$defined"; then
                         echo "$ver $sym"
                     fi
                 done)
        have=$(objdump -T "$shim/$lib.so.1" | awk '$0 !~ /\*UND\*/ && /VERS_/ {print $(NF-1), $NF}')
        while read -r ver sym; do
            [ -n "$sym" ] || continue
            if grep -qx "$ver $sym" <<<"$have"; then
                passed=$((passed + 1))
            else
                failed=$((failed + 1))
                echo "FAIL: $consumer needs $sym@$ver from $lib; the stand-in lacks it"
            fi
        done <<<"$wanted"
    done
done

echo "symbols: $passed passed, $failed failed"
[ "$passed" -gt 0 ] && [ "$failed" -eq 0 ]
