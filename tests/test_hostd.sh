#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# numaclaim hostd, env and guest as a user types them: one hostd per
# socket (a second is refused, a stale socket replaced, anything else left
# alone), clean shutdown on SIGTERM, --daemon, the exports of `numaclaim
# env`, and Debian's xen-hptool seeing in one process what another did.
# Usage: test_hostd.sh PATH/TO/numaclaim
set -u
bin=$1
tmp=$(mktemp -d)
sock=$tmp/h.sock
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"

start() {       # hostd in the background, back once it serves
    : >"$tmp/log"
    "$bin" hostd --host 2x1G --socket "$sock" 2>"$tmp/log" &
    hostd=$!
    for _ in $(seq 250); do
        grep -q "serving host" "$tmp/log" && return 0
        sleep 0.02
    done
    return 1
}

# Flags.
expect 2 "--log goes with --daemon" hostd --socket "$sock" --log "$tmp/l"
expect 2 "--host 3x: " hostd --host 3x --socket "$sock"
expect 2 "--group no-such-group-here: no such group" hostd --group no-such-group-here
expect 2 "unexpected argument 'extra'" hostd extra
expect 0 "usage: numaclaim hostd" hostd --help
expect 0 "export NUMACLAIM_SOCKET='$sock'" env --socket "$sock"
expect 0 "export LD_LIBRARY_PATH='" env --socket "$sock"
expect 2 "usage: numaclaim env" env --frob
expect 2 "bad domain id 'x'" guest x -- true
expect 2 "usage: numaclaim guest" guest 3 true
expect 1 "no numaclaim hostd at $sock" guest 3 --socket "$sock" -- true

# One hostd per socket.
check "hostd starts" start
expect 1 "another hostd (pid $hostd) is serving $sock" hostd --socket "$sock"
expect 1 "cannot make this process a guest of d5: No such process" \
    guest 5 --socket "$sock" -- true

# Debian's xen-hptool: state shared across processes.  A sanitizer build's
# stand-ins need the sanitizer runtime, which Debian's programs lack.
hptool=/usr/lib/xen-4.17/bin/xen-hptool
hp() {
    local shim=${LD_LIBRARY_PATH%%:*}
    if nm -D "$shim/libxencall.so.1" 2>/dev/null | grep -q ' U __asan_'; then
        LD_PRELOAD=$(clang -print-file-name=libclang_rt.asan-x86_64.so) \
            ASAN_OPTIONS=detect_leaks=0 "$hptool" "$@"
    else
        "$hptool" "$@"
    fi
}
if [ -x "$hptool" ]; then
    eval "$("$bin" env --socket "$sock")"
    check "xen-hptool mem-offline" bash -c "$(declare -f hp); hptool=$hptool; hp mem-offline 100 | grep -q 'offlined successfully'"
    check "xen-hptool mem-status in another process" bash -c "$(declare -f hp); hptool=$hptool; hp mem-status 100 | grep -q PAGE_OFFLINED"
    check "xen-hptool mem-online" bash -c "$(declare -f hp); hptool=$hptool; hp mem-online 100 | grep -q 'onlined successfully'"
    check "xen-hptool mem-status online again" bash -c "$(declare -f hp); hptool=$hptool; hp mem-status 100 | grep -q PAGE_ONLINED"
    unset NUMACLAIM_SOCKET
fi

# Identity from the kernel: root only, unless --group admits a group.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
   getent group nogroup >/dev/null; then
    chmod 755 "$tmp"
    as_nobody() {
        setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" "$@"
    }
    bin_nobody() {      # status, pattern, args... as uid 65534
        local want=$1 pattern=$2 got; shift 2
        as_nobody "$@" >"$tmp/out" 2>"$tmp/err"
        got=$?
        check "as nobody: $* -> $want '$pattern'" \
            bash -c "[ $got -eq $want ] && grep -qF -- '$pattern' '$tmp/err'"
    }
    # The socket is 0660 root:root: the kernel refuses.
    bin_nobody 1 "Permission denied" guest 5 --socket "$sock" -- true
    kill -TERM "$hostd"
    wait "$hostd"
    : >"$tmp/log"
    "$bin" hostd --host 2x1G --socket "$sock" --group nogroup 2>"$tmp/log" &
    hostd=$!
    for _ in $(seq 250); do
        grep -q "serving host" "$tmp/log" && break
        sleep 0.02
    done
    check "the socket belongs to --group" [ "$(stat -c %G "$sock")" = nogroup ]
    # A member of --group is the control domain (so it may try to start a
    # guest of a domain that does not exist) ...
    bin_nobody 1 "cannot make this process a guest of d5: No such process" \
        guest 5 --socket "$sock" -- true
    # ... and without the group, hostd itself refuses, saying why.
    chmod 666 "$sock"
    as_nobody_nogroup() { setpriv --reuid=65534 --regid=65533 --clear-groups "$bin" "$@"; }
    as_nobody_nogroup guest 5 --socket "$sock" -- true >"$tmp/out" 2>"$tmp/err"
    check "a stranger is refused with the reason" \
        grep -qF "refused this process: uid 65534" "$tmp/err"
fi

# SIGTERM: exit 0, the socket gone.
kill -TERM "$hostd"
wait "$hostd"
check "SIGTERM exits 0" [ $? -eq 0 ]
check "the socket is removed" [ ! -e "$sock" ]
check "the log says it served and stopped" grep -q "shutting down" "$tmp/log"

# A stale socket (hostd killed) is replaced.
start
kill -KILL "$hostd"
wait "$hostd" 2>/dev/null
check "a killed hostd leaves its socket" [ -S "$sock" ]
check "a new hostd replaces a stale socket" start
kill -TERM "$hostd"
wait "$hostd"

# Something that is not a socket is left alone.
echo keep >"$sock"
expect 1 "$sock exists and is not a socket" hostd --socket "$sock"
check "the file is untouched" grep -q keep "$sock"
rm -f "$sock"

# --daemon: back once it serves, log to a file.
expect 0 "serving $sock" hostd --daemon --socket "$sock" --log "$tmp/dlog"
pid=$(sed -n 's/.*pid \([0-9]*\) serving.*/\1/p' "$tmp/out")
check "the daemon's socket is there" [ -S "$sock" ]
check "the daemon's socket is 0660" [ "$(stat -c %a "$sock")" = 660 ]
kill -TERM "$pid"
for _ in $(seq 200); do [ -e "$sock" ] || break; sleep 0.02; done
check "the daemon stops on SIGTERM" [ ! -e "$sock" ]
check "the daemon logged to its file" grep -q "serving host" "$tmp/dlog"

echo "hostd CLI: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
