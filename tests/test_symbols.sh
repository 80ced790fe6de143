#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Every symbol Debian's libxenctrl.so.4.17 and libxenguest.so.4.17 import
# from libxencall, libxenforeignmemory and libxendevicemodel must be
# exported by numaclaim's stand-in of that library with the same version:
# they are linked with BIND_NOW, so one missing symbol stops every program.
# Usage: test_symbols.sh SHIM_DIR
set -u
shim=$1
libdir=$(dirname "$(ldconfig -p | awk '/libxenctrl.so.4.17 / {print $NF; exit}')")
passed=0
failed=0

for consumer in libxenctrl.so.4.17 libxenguest.so.4.17; do
    for lib in libxencall libxenforeignmemory libxendevicemodel; do
        # "(VERS_1.0) xencall_open" for each import the consumer binds to lib.
        defined=$(objdump -T "$libdir/$lib.so.1" |
                  awk '$0 !~ /\*UND\*/ {print $NF}')
        wanted=$(objdump -T "$libdir/$consumer" |
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
