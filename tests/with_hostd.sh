#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Run a test program against a fresh numaclaim hostd instead of its own
# in-process host: the same suite, the same expectations, through the
# socket.  hostd must then shut down cleanly (exit 0).
# Usage: with_hostd.sh PATH/TO/numaclaim HOST-SPEC PROGRAM [ARGS...]
set -u
bin=$1 host=$2
shift 2
tmp=$(mktemp -d)
sock=$tmp/hostd.sock
trap 'rm -rf "$tmp"' EXIT

"$bin" hostd --host "$host" --socket "$sock" 2>"$tmp/log" &
hostd=$!
for _ in $(seq 250); do
    grep -q "serving host" "$tmp/log" && break
    sleep 0.02
done
NUMACLAIM_SOCKET=$sock "$@"
rc=$?
kill -TERM "$hostd"
wait "$hostd"
hrc=$?
if [ "$hrc" -ne 0 ]; then
    echo "with_hostd: hostd exited with $hrc; its log:" >&2
    cat "$tmp/log" >&2
    [ "$rc" -eq 0 ] && rc=1
fi
exit "$rc"
