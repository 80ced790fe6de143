#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/storm-scale.sh [BUILD_DIR]
#
# The storm at scale: 10,000 VMs on a 16-node, 16 TiB host, every policy,
# simulated time.  Reports wall-clock seconds and peak memory (the largest
# of the parent and the per-policy children) against the goal: within 60 s
# and under 2 GiB on the project's 2-core machine.  The mix is chosen so
# that demand exceeds free memory by about a fifth: the run has both
# successes and failures, as a real storm would.
set -euo pipefail

build=${1:-build/release}
bin=$build/src/cli/numaclaim
[ -x "$bin" ] || { echo "storm-scale: $bin not built" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "storm-scale: /usr/bin/time missing (Debian package 'time')" >&2; exit 2; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
/usr/bin/time -f '%e %M' -o "$log" "$bin" storm --host 16x1T --vms 10000 \
    --fill 20 --mix 512M:4,1G:4,2G:3,4G:2 --no-progress
read -r secs kib < "$log"
mib=$((kib / 1024))
echo
echo "storm scale: 10000 VMs, 16 nodes, 16 TiB, 4 policies: ${secs} s, peak ${mib} MiB"
if awk -v s="$secs" -v m="$mib" 'BEGIN { exit !(s <= 60 && m < 2048) }'; then
    echo "goal (<= 60 s, < 2 GiB): met"
else
    echo "goal (<= 60 s, < 2 GiB): NOT met"
fi

# A 20-seed sweep of the default storm over four builder counts: 80 storms
# of 4 policies each, in the seeds' process pool (one process per CPU).
/usr/bin/time -f '%e %M' -o "$log" "$bin" sweep --vary builders=1,2,4,8 \
    --seeds 20 --no-progress >/dev/null
read -r secs kib < "$log"
echo "sweep: builders 1,2,4,8 x 20 seeds of the default storm (80 storms): ${secs} s, peak $((kib / 1024)) MiB"
