#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/storm-scale.sh [BUILD_DIR]
#
# The storm at scale, simulated time, each scenario timed (wall-clock and
# CPU seconds of the parent and its children to the millisecond, from
# bash's `time`; peak RSS, the largest of the parent and the per-policy
# children, from /usr/bin/time) against the goals of issue 10 on the
# project's 2-core machine:
#
#   1. 10,000 VMs on 16 x 1 TiB with the default mix, each policy on its
#      own, the fastest of five runs (the four policies' runs interleaved):
#      <= 5 s and <= 200 MiB each, none
#      within 3x of the claim policies.  Demand (about 100 TiB) far exceeds the host: most VMs
#      fail, as they would.
#   2. The same host with small VMs (512M..4G), all four policies in one
#      run: about a fifth more demand than free memory.
#   3. 1,000,000 VM builds on 64 x 1 TiB with VM lifetimes (the default
#      mix, Poisson arrivals at 1/s, exponential lifetimes of mean 4000 s:
#      about 4,200 guests at once, memory freed dirty and scrubbed on
#      reuse): <= 120 s and <= 1 GiB.  claimsets only, unless
#      STORM_SCALE_ALL=1 (then every policy, one after the other).
#   4. A 1,000-VM churn run over simulated hours (lifetimes, reboots) and
#      an HA restart storm (100 VMs at once onto a host with guests and
#      dirty memory), every policy.
#   5. A 20-seed sweep of the default storm over builders 1, 2, 4 and 8
#      (80 storms in the seeds' process pool); timed, no goal.
#   6. Offlining 16 GiB: 4,194,304 frames, one page_offline_op each (as
#      the storm's --offline event makes them), on a host with a few
#      guests: goal well under a second (checked against 1 s).
#
# Each line shows the goal beside the figures it is checked against:
# wall-clock and CPU seconds (user + system, parent and children) and
# peak RSS.  On a loaded machine wall-clock time exceeds CPU time by the
# load (the load average is printed first), so each time goal is judged
# twice: on CPU time, which other work does not inflate, and on
# wall-clock time.
set -euo pipefail

build=${1:-build/release}
bin=$build/src/cli/numaclaim
[ -x "$bin" ] || { echo "storm-scale: $bin not built" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "storm-scale: /usr/bin/time missing (Debian package 'time')" >&2; exit 2; }

log=$(mktemp)
tlog=$(mktemp)
trap 'rm -f "$log" "$tlog"' EXIT
TIMEFORMAT='%3R %3U %3S'
verdicts=()

# met VALUE GOAL: "met" if VALUE <= GOAL, else "NOT met".
met() {
    if awk -v v="$1" -v g="$2" 'BEGIN { exit !(v <= g) }'; then
        echo met
    else
        echo "NOT met"
    fi
}

# time_one ARGS...: one storm, timed: its wall-clock seconds, CPU seconds
# (user + system, parent and children) and peak RSS in KiB, in one_s,
# one_cpu and one_kib.  Times from bash's `time` (milliseconds:
# /usr/bin/time prints hundredths, a tenth of a 0.1 s storm), peak RSS
# from /usr/bin/time; the storm's own stderr passes through (fd 3).
time_one() {
    local s u y
    { time /usr/bin/time -f '%M' -o "$log" "$bin" storm --no-progress "$@" \
          >/dev/null 2>&3; } 3>&2 2> "$tlog"
    read -r s u y < "$tlog"
    read -r one_kib < "$log"
    one_s=$s
    one_cpu=$(awk -v u="$u" -v s="$y" 'BEGIN { printf "%.3f", u + s }')
}

# keep_best I: fold time_one's figures into best_s, best_cpu (the least)
# and best_kib (the largest); I = 0 starts afresh.  What other work on the
# machine adds is noise that only ever slows a run, so the fastest of a
# few is the code's time, as numaclaim-bench's best of 3 is.
keep_best() {
    if [ "$1" = 0 ]; then
        best_s=$one_s best_cpu=$one_cpu best_kib=$one_kib
        return 0
    fi
    awk -v a="$one_s" -v b="$best_s" 'BEGIN { exit !(a < b) }' && best_s=$one_s
    awk -v a="$one_cpu" -v b="$best_cpu" 'BEGIN { exit !(a < b) }' && best_cpu=$one_cpu
    [ "$one_kib" -gt "$best_kib" ] && best_kib=$one_kib
    return 0
}

# report NAME GOAL_S GOAL_MIB VMS SECS CPU KIB: print a storm's line and
# check its goals (a goal of 0 is not checked); VMS: the VMs whose
# records the run keeps, for the peak RSS per VM of the large runs.
report() {
    local name=$1 goal_s=$2 goal_mib=$3 vms=$4 secs=$5 cpu=$6 kib=$7
    local mib=$((kib / 1024)) on_cpu on_wall on_mem
    printf '  %-34s %8.3f s wall %8.3f s CPU %5d MiB peak' \
        "$name" "$secs" "$cpu" "$mib"
    # Peak RSS per VM where the VMs' records outweigh the host's fixed
    # metadata: a bound on the per-VM state (goal: 2 KiB).
    [ "$vms" -ge 100000 ] && printf ' (%d B/VM)' $((kib * 1024 / vms))
    echo
    [ "$goal_s" = 0 ] && return 0
    on_cpu=$(met "$cpu" "$goal_s")
    on_wall=$(met "$secs" "$goal_s")
    on_mem=$(met "$mib" "$goal_mib")
    printf '  %-34s goal <= %s s: %s on CPU, %s on wall-clock; <= %s MiB: %s\n' \
        "" "$goal_s" "$on_cpu" "$on_wall" "$goal_mib" "$on_mem"
    verdicts+=("$name: <= $goal_s s $on_cpu on CPU ($cpu s), $on_wall on wall-clock ($secs s); <= $goal_mib MiB $on_mem ($mib MiB)")
    if [ "$vms" -ge 100000 ]; then
        verdicts+=("$name: per-VM state <= 2048 B $(met $((kib * 1024 / vms)) 2048) ($((kib * 1024 / vms)) B of peak RSS per VM)")
    fi
    return 0
}

# run NAME GOAL_S GOAL_MIB VMS ARGS...: one storm, timed and reported.
run() {
    local name=$1 goal_s=$2 goal_mib=$3 vms=$4
    shift 4
    time_one "$@"
    keep_best 0
    report "$name" "$goal_s" "$goal_mib" "$vms" "$best_s" "$best_cpu" "$best_kib"
}

echo
echo "storm scale (simulated time), load average $(cut -d' ' -f1-3 /proc/loadavg)"
# The four policies' storms, five rounds of one each, interleaved (as
# numaclaim-bench's runs are), so that a slow spell of the machine hits
# the storms compared in the ratio alike rather than one of them.
declare -A t c k
for ((i = 0; i < 5; i++)); do
    for p in none host xapi claimsets; do
        time_one --host 16x1T --vms 10000 --policy "$p"
        if [ "$i" -gt 0 ]; then
            best_s=${t[$p]} best_cpu=${c[$p]} best_kib=${k[$p]}
        fi
        keep_best "$i"
        t[$p]=$best_s c[$p]=$best_cpu k[$p]=$best_kib
    done
done
for p in none host xapi claimsets; do
    report "10000 VMs 16 x 1 TiB, $p (best of 5)" 5 200 10000 \
        "${t[$p]}" "${c[$p]}" "${k[$p]}"
done
# ratio ARRAY: none over the fastest claim policy.
ratio() {
    local -n a=$1
    awk -v n="${a[none]}" -v h="${a[host]}" -v x="${a[xapi]}" -v c="${a[claimsets]}" \
        'BEGIN { m = h; if (x < m) m = x; if (c < m) m = c; printf "%.2f", n / m }'
}
r_cpu=$(ratio c)
r_wall=$(ratio t)
ok_cpu=$(met "$r_cpu" 3)
ok_wall=$(met "$r_wall" 3)
echo "  none / fastest claim policy: ${r_cpu}x on CPU, ${r_wall}x on wall-clock   goal <= 3x: $ok_cpu on CPU, $ok_wall on wall-clock"
verdicts+=("none within 3x of the claim policies: $ok_cpu on CPU (${r_cpu}x), $ok_wall on wall-clock (${r_wall}x)")

run "10000 small VMs 16 x 1 TiB, all 4" 0 0 10000 --host 16x1T --vms 10000 \
    --fill 20 --mix 512M:4,1G:4,2G:3,4G:2

policies=claimsets
[ "${STORM_SCALE_ALL:-0}" = 1 ] && policies="none host xapi claimsets"
for p in $policies; do
    run "1,000,000 builds 64 x 1 TiB, $p" 120 1024 1000000 --host 64x1T \
        --vms 1000000 --fill 20 --arrival poisson:1 --lifetime exp:4000 \
        --builders 16 --policy "$p"
done

run "offline 16 GiB, 8 VMs on 4 x 64 GiB" 1 1024 8 --host 4x64G --vms 8 \
    --fill 0 --offline 4194304@1 --policy claimsets

run "1000 VMs churn, ~5.5 h simulated" 0 0 1000 --host 4x128G --vms 1000 \
    --mix 2G:4,4G:4,8G:2 --arrival poisson:0.05 --lifetime exp:1200 \
    --reboot 0.2
run "HA restart of 100 VMs, all 4" 0 0 2100 --host 8x256G --vms 2000 \
    --mix 2G:4,4G:4,8G:2 --arrival poisson:0.3 --lifetime exp:600 \
    --ha-restart 100@1500

# A 20-seed sweep of the default storm over four builder counts: 80 storms
# of 4 policies each, in the seeds' process pool (one process per CPU).
/usr/bin/time -f '%e %M' -o "$log" "$bin" sweep --vary builders=1,2,4,8 \
    --seeds 20 --no-progress >/dev/null
read -r secs kib < "$log"
echo "  sweep: builders 1,2,4,8 x 20 seeds of the default storm (80 storms): ${secs} s, peak $((kib / 1024)) MiB"

echo
for v in "${verdicts[@]}"; do
    echo "  $v"
done
