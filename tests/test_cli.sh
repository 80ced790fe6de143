#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The numaclaim command's flags: every bad one is refused with exit status
# 2 and a message naming it, before anything runs; good runs write what
# they were asked to.  Usage: test_cli.sh PATH/TO/numaclaim
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"

expect 2 "usage: numaclaim"
expect 2 "unknown command 'frob'" frob
expect 0 "numaclaim 0.1.0" --version
expect 0 "storm [OPTIONS]" --help
expect 2 "--host '4x64Q': node size \"64Q\"" storm --host 4x64Q
expect 2 "distance matrix \"10,21,21\": has 3 entries" storm --host '2x1G;dist=10,21,21'
expect 2 "hwloc:/nonexistent.xml" storm --host hwloc:/nonexistent.xml
expect 2 "--vms '0': expected a number from 1" storm --vms 0
expect 2 "--vms '12x'" storm --vms 12x
expect 2 "--vms '-3'" storm --vms -3
expect 2 "--mix '4G': --mix: bad entry \"4G\"" storm --mix 4G
expect 2 "--fill '95': expected a percentage" storm --fill 95
expect 2 "--builders '0'" storm --builders 0
expect 2 "--policy 'claims'" storm --policy claims
expect 2 "--policy ''" storm --policy ''
expect 2 "--arrival 'poisson:0'" storm --arrival poisson:0
expect 2 "--arrival 'poisson:x'" storm --arrival poisson:x
expect 2 "--arrival 'trickle'" storm --arrival trickle
expect 2 "--seed 'abc'" storm --seed abc
expect 2 "--offline '10'" storm --offline 10
expect 2 "--offline '0@1'" storm --offline 0@1
expect 2 "--offline '5@-1'" storm --offline 5@-1
expect 2 "--offline '5@'" storm --offline 5@
expect 2 "--offline '5@inf'" storm --offline 5@inf
expect 2 "--offline: 4294967296 pages, the host has 536870912" storm --host 2x1T --offline 4294967296@1
expect 2 "--seed ' -1'" storm --seed ' -1'
expect 2 "--vms ' 5'" storm --vms ' 5'
expect 2 "--vms '10000001'" storm --vms 10000001
# Xen's domids: 32751 guests at once, the fill guests (one a node) included;
# with lifetimes domids are reused and more VMs can be built over time.
expect 2 "--vms: 32752 VMs and the fill guests would run at once, and Xen has domids for 32751 guests (1 to 32751); give the VMs lifetimes (--lifetime) or run fewer" storm --vms 32752
expect 2 "--vms: 32752 VMs would run at once" storm --vms 32001 --fill 0 --ha-restart 751@1
# Churn options: strict, and only with simulated time.
expect 2 "--lifetime 'fixed': expected fixed:SECONDS, exp:MEAN or uniform:A-B" storm --lifetime fixed
expect 2 "--lifetime 'fixed:-1'" storm --lifetime fixed:-1
expect 2 "--lifetime 'fixed:1e10'" storm --lifetime fixed:1e10
expect 2 "--lifetime 'exp:0'" storm --lifetime exp:0
expect 2 "--lifetime 'exp:inf'" storm --lifetime exp:inf
expect 2 "--lifetime 'uniform:5-2': expected uniform:A-B with 0 <= A <= B" storm --lifetime uniform:5-2
expect 2 "--lifetime 'uniform:1'" storm --lifetime uniform:1
expect 2 "--lifetime 'uniform:1-'" storm --lifetime uniform:1-
expect 2 "--lifetime 'Fixed:1'" storm --lifetime Fixed:1
expect 2 "--lifetime 'fixed: 1'" storm --lifetime 'fixed: 1'
expect 2 "--lifetime: VM lifetimes need simulated time" storm --lifetime fixed:1 --threads
expect 2 "--reboot '1.5': expected a share from 0 to 1" storm --lifetime fixed:1 --reboot 1.5
expect 2 "--reboot '-0.1'" storm --lifetime fixed:1 --reboot -0.1
expect 2 "--reboot: VMs reboot at the end of their lifetime: give --lifetime too" storm --reboot 0.5
expect 2 "--ha-restart '0@1': expected N@TIME" storm --ha-restart 0@1
expect 2 "--ha-restart '32752@1'" storm --ha-restart 32752@1
expect 2 "--ha-restart '5'" storm --ha-restart 5
expect 2 "--ha-restart '5@x'" storm --ha-restart 5@x
expect 2 "--ha-restart: needs simulated time" storm --ha-restart 5@1 --processes
expect 2 "--vms: 32748 VMs and the fill guests would run at once" storm --vms 32748
expect 2 "--configs: /nonexistent.cfg: cannot read" storm --configs /nonexistent.cfg
# Inputs a new user tries: each refused in one line naming the option or
# file and the bad part, before anything runs.
refuse "--configs '': empty file name" storm --configs ''
refuse "--configs ',': empty file name" storm --configs ,
refuse "--configs 'a.cfg,': empty file name" storm --configs a.cfg,
refuse "--configs: $tmp: cannot read: a directory, not a regular file" storm --configs "$tmp"
printf 'name = "p7"\nmemory = 2048\nvcpus = 2\nvnuma = [ [ "pnode=7", "size=1024", "vcpus=0" ], [ "pnode=1", "size=1024", "vcpus=1" ] ]\n' >"$tmp/p7.cfg"
printf 'name = "c7"\nmemory = 2048\ncpus = "nodes:7"\n' >"$tmp/c7.cfg"
refuse "--configs: $tmp/p7.cfg: vnuma vnode 0 asks for pnode 7, the host has 4 nodes" storm --configs "$tmp/p7.cfg"
refuse "--configs: $tmp/c7.cfg: cpus= names node 7, the host has 4 nodes" storm --host 4x4G --configs "$tmp/c7.cfg"
refuse "--configs: $tmp/c7.cfg: cpus= names node 7, the host has 4 nodes" storm --configs "$tmp/c7.cfg" --host 4x4G
expect 0 "claimsets" storm --host 8x4G --configs "$tmp/c7.cfg,$tmp/p7.cfg" --policy claimsets --no-progress
printf 'name = "w"\nmemory = 2048\nvcpus = 1\nvnuma = [ [ "size=18446744073709551618", "vcpus=0" ] ]\n' >"$tmp/wrap.cfg"
refuse "--configs: $tmp/wrap.cfg: vnuma vnode 0: size: 18446744073709551618 MiB, must be 1.." storm --configs "$tmp/wrap.cfg"
# Resource bounds, refused before anything is allocated or read: more
# config files than Xen has domids for (the names need not exist: none is
# read; and across --configs options), more mix sizes than the storm keeps.
many=$(printf 'a,%.0s' $(seq 32751))a
refuse "--configs: 32752 files, and Xen has domids for 32751 guests at once" storm --configs "$many"
refuse "--configs: 32752 files, and Xen has domids for 32751 guests at once" storm --configs "$tmp/c7.cfg" --configs "${many%,a}"
refuse "--mix: more than 16 sizes" storm --mix "$(printf '1G:1,%.0s' $(seq 16))1G:1"
refuse "--mix ' 8G:1': --mix: bad entry \" 8G:1\"" storm --mix ' 8G:1'
refuse "--mix '+8G:1': --mix: bad entry \"+8G:1\"" storm --mix '+8G:1'
refuse "--mix '8G:+1': --mix: bad weight in \"8G:+1\"" storm --mix '8G:+1'
refuse "--mix '8G: 1': --mix: bad weight" storm --mix '8G: 1'
refuse "--mix '8G:1000001': --mix: bad weight" storm --mix '8G:1000001'
refuse "--mix '18446744073709551617G:1': --mix: bad entry" storm --mix '18446744073709551617G:1'
# The host specs' size grammar (K accepted), VM sizes from 1 MiB.
refuse "--mix '512K:1': --mix: bad entry \"512K:1\"" storm --mix '512K:1'
refuse "--mix '1025K:1': --mix: bad entry" storm --mix '1025K:1'
refuse "--policy 'none,': empty item in the list" storm --policy 'none,'
refuse "--policy 'none,,host': empty item in the list" storm --policy 'none,,host'
refuse "--policy ',none': empty item in the list" storm --policy ',none'
refuse "--policy 'none,x': unknown policy \"x\"" storm --policy 'none,x'
refuse "--arrival 'poisson: 5': expected burst or poisson:RATE" storm --arrival 'poisson: 5'
refuse "--arrival 'poisson:+5'" storm --arrival 'poisson:+5'
refuse "--arrival 'poisson:0x10'" storm --arrival 'poisson:0x10'
refuse "--arrival 'poisson:inf'" storm --arrival 'poisson:inf'
refuse "--arrival 'poisson:4.9e-324': expected burst or poisson:RATE with RATE from 1e-6" storm --arrival poisson:4.9e-324
refuse "--arrival 'poisson:9e-7'" storm --arrival poisson:9e-7
expect 0 "poisson arrival" storm --arrival poisson:1e-6 --vms 3 --policy claimsets --no-progress
refuse "--offline '1@1e-400'" storm --offline '1@1e-400'
refuse "--offline '1@ 1'" storm --offline '1@ 1'
refuse "--offline ' 1@1'" storm --offline ' 1@1'
refuse "--offline '+1@1'" storm --offline '+1@1'
refuse "--offline '1@1e400'" storm --offline '1@1e400'
refuse "--seed '+1'" storm --seed +1
refuse "--seed '18446744073709551616'" storm --seed 18446744073709551616
expect 0 "seed 18446744073709551615" storm --seed 18446744073709551615 --vms 2 --policy none --no-progress
refuse "--vms '+5'" storm --vms +5
refuse "--fill ' 5'" storm --fill ' 5'
refuse "--builders '4294967297'" storm --builders 4294967297
refuse "--host '4x0': host spec \"4x0\": no node has memory" storm --host 4x0
expect 2 "host spec \"4x0\": no node has memory" host 4x0
# 64 nodes, a full matrix of 3-digit distances, one CPU count per node.
spec64=$(awk 'BEGIN { s = "1G"; for (i = 1; i < 64; i++) s = s ",1G"; s = s ";dist=";
    for (i = 0; i < 64; i++) for (j = 0; j < 64; j++)
        s = s (i || j ? "," : "") (i == j ? 10 : 100 + (i > j ? i - j : j - i));
    s = s ";cpus=1"; for (i = 1; i < 64; i++) s = s "," (i % 3 + 1); print s }')
expect 0 "64 nodes, 64 GiB, 127 CPUs" host "$spec64"
expect 0 "claimsets" storm --host "$spec64" --vms 4 --policy none,claimsets --no-progress
# A storm that cannot fit in what the process may use: refused before any
# allocation (skipped where a ulimit -v would stop the binary itself, as
# under ASan).
if (ulimit -v 500000 && "$bin" --version) >/dev/null 2>&1; then
    (ulimit -v 500000 && "$bin" storm --vms 9000000 --lifetime fixed:1 --no-progress) >"$tmp/out" 2>"$tmp/err"
    if [ $? -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
       grep -qE -- '--vms: 9000000 VMs need [0-9]+ MiB for their builds, more than the [0-9]+ MiB this process may use \(ulimit -v\)' "$tmp/err"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: storm --vms 9000000 under ulimit -v 500000"
        cat "$tmp/out" "$tmp/err"
    fi
fi
expect 2 "unrecognized option" storm --frobnicate
expect 2 "argument 'extra': unexpected" storm extra
expect 2 "usage: numaclaim host SPEC" host
expect 2 "bad host spec" host 0x1G
expect 0 "4 nodes, 64 GiB, 32 CPUs" host 4x16G
# Topologies, as storm --host takes them.
examples=$(dirname "$0")/../examples/hosts
expect 0 "host spec 96G,96G,96G,96G;dist=10,11,21,21," host "hwloc:$examples/2s-snc2.xml"
expect 0 "4 nodes, 384 GiB, 8 CPUs" host "hwloc:$examples/2s-snc2.xml"
expect 2 "numaclaim host: hwloc:/nonexistent.xml: cannot read it" host hwloc:/nonexistent.xml
expect 0 "local: " host local
expect 0 "1     0          0          0          0          2 (4-5)" host '64G,0,32G;cpus=4,2,0'
expect 2 "cpus \"0\": the host needs at least one CPU" host '2x1G;cpus=0'
expect 2 "unexpected argument 'x'" demo x
expect 1 "--json: cannot write /nonexistent/dir/o.json" storm --vms 4 --policy claimsets --json /nonexistent/dir/o.json
expect 0 "claimsets" storm --vms 6 --policy none,claimsets --json "$tmp/o.json" --svg "$tmp/o.svg"
if grep -q '"name": "claimsets"' "$tmp/o.json" && grep -q '^<svg ' "$tmp/o.svg"; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAIL: --json/--svg files"
fi
# Per-VM results, the locality model's share and seeds.
refuse "--vnuma-remote '1.5': expected a share from 0 to 1" storm --vnuma-remote 1.5
refuse "--vnuma-remote 'x'" storm --vnuma-remote x
refuse "--vnuma-remote '-0.1'" storm --vnuma-remote -0.1
refuse "--claim-slack '51%': expected a percentage from 0% to 50% or MiB up to 1048576" storm --claim-slack 51%
refuse "--claim-slack '1.5'" storm --claim-slack 1.5
refuse "--seeds '0': expected a number from 1 to 10000" storm --seeds 0
refuse "--seeds '10001'" storm --seeds 10001
refuse "--jobs '0'" storm --jobs 0
refuse "--vms-format 'xml': expected csv or jsonl" storm --vms-format xml
refuse "--vms-out '/nonexistent/dir/v.csv': cannot write /nonexistent/dir/v.csv" storm --vms-out /nonexistent/dir/v.csv
expect 0 "p99-s" storm --vms 12 --no-progress --json "$tmp/plain.json" --vms-out "$tmp/plain.csv"
cp "$tmp/out" "$tmp/plain.out"
expect 0 "p99-s" storm --vms 12 --no-progress --seeds 1 --json "$tmp/one.json" --vms-out "$tmp/one.csv"
check "--seeds 1 is a plain run (table, JSON, per-VM rows)" \
    cmp -s "$tmp/plain.out" "$tmp/out"
check "--seeds 1 JSON" cmp -s "$tmp/plain.json" "$tmp/one.json"
check "--seeds 1 per-VM rows" cmp -s "$tmp/plain.csv" "$tmp/one.csv"
check "--vms-out CSV: a header and 4 x 12 rows" \
    test "$(wc -l <"$tmp/plain.csv")" -eq 49
# The CSV's started rows add up to the JSON's started counts.
for p in none host xapi claimsets; do
    n=$(awk -F, -v p=$p '$2 == p && $7 == "started"' "$tmp/plain.csv" | wc -l)
    check "--vms-out: $p started $n as in the JSON" \
        grep -qF "\"started\": $n," <(grep -A30 "\"name\": \"$p\"" "$tmp/plain.json")
done
expect 0 "claimsets" storm --vms 12 --no-progress --vms-out "$tmp/v.jsonl"
check "--vms-out FILE.jsonl: JSON lines" \
    test "$(grep -c '^{"seed":1,"policy":"' "$tmp/v.jsonl")" -eq 48
expect 0 "claimsets" storm --vms 12 --no-progress --vms-out "$tmp/v.txt" --vms-format jsonl
check "--vms-format jsonl" cmp -s "$tmp/v.jsonl" "$tmp/v.txt"
expect 0 "mean ± half-width of the 95% confidence interval (Student t, 2 degrees of freedom)" \
    storm --vms 12 --no-progress --seeds 3 --json "$tmp/s.json" --vms-out "$tmp/s.csv"
check "--seeds 3 JSON has intervals" grep -q '"ci95_low"' "$tmp/s.json"
check "--seeds 3 per-VM rows of seeds 1, 2 and 3" \
    test "$(cut -d, -f1 "$tmp/s.csv" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" = "1:48 2:48 3:48 seed:1 "
# numaclaim sweep: one parameter over values, the storm's other options.
refuse "numaclaim sweep: --vary PARAM=VALUES is needed" sweep
refuse "--vary 'seeds=1': expected PARAM=VALUES with PARAM builders, fill, host or mix" sweep --vary seeds=1
refuse "--vary 'builders=0,2': builders \"0\": expected a number from 1 to 1024" sweep --vary builders=0,2
refuse "--vary 'builders=1,': empty value in the list" sweep --vary builders=1,
refuse "--vary 'host=4x4G|4x0': host: host spec \"4x0\": no node has memory" sweep --vary 'host=4x4G|4x0'
refuse "--vary 'mix=4G': mix: --mix: bad entry \"4G\"" sweep --vary mix=4G
refuse "--vary 'fill=10': only numaclaim sweep varies a parameter" storm --vary fill=10
refuse "--vms-out '$tmp/x.csv': numaclaim sweep writes no per-VM rows" sweep --vary fill=10 --vms-out "$tmp/x.csv"
refuse "numaclaim sweep: --offline: 600000 pages, the host has 524288" sweep --vary 'host=2x1G|4x1G' --offline 600000@1
expect 0 "usage: numaclaim sweep --vary PARAM=VALUES" sweep --help
expect 0 "builders = 16: 4 nodes, 12 VMs; d: minus claimsets, paired by seed" \
    sweep --vary builders=1,16 --vms 12 --seeds 2 --no-progress --json "$tmp/sw.json"
check "sweep JSON: param and both points" \
    test "$(grep -c '"value": "' "$tmp/sw.json")" -eq 2 -a "$(grep -c '"param": "builders"' "$tmp/sw.json")" -eq 1
expect 0 "usage: numaclaim sweep" sweep --help
check "sweep --help names --svg" grep -q -- "--svg FILE" "$tmp/out"
expect 1 "numaclaim sweep: --svg: cannot write /nonexistent/dir/s.svg" \
    sweep --vary builders=1,2 --vms 4 --no-progress --svg /nonexistent/dir/s.svg
# Churn with seeds and sweeps: each seed gets its own lifetimes, reboots
# and --ha-restart VMs (counted once), and --seeds 1 is the plain run.
churn="--vms 12 --lifetime exp:2 --reboot 0.5 --ha-restart 2@1 --no-progress"
expect 0 "churn " storm $churn --json "$tmp/cplain.json" --vms-out "$tmp/cplain.csv"
cp "$tmp/out" "$tmp/cplain.out"
expect 0 "churn " storm $churn --seeds 1 --json "$tmp/cone.json" --vms-out "$tmp/cone.csv"
check "churn: --seeds 1 is a plain run (table, JSON, per-VM rows)" \
    cmp -s "$tmp/cplain.out" "$tmp/out"
check "churn: --seeds 1 JSON" cmp -s "$tmp/cplain.json" "$tmp/cone.json"
check "churn: --seeds 1 per-VM rows" cmp -s "$tmp/cplain.csv" "$tmp/cone.csv"
check "churn: one row per VM and policy (its last build)" \
    test "$(wc -l <"$tmp/cplain.csv")" -eq $((1 + 4 * 14))
expect 0 "builders = 4: 4 nodes, 14 VMs" sweep --vary builders=1,4 $churn --seeds 2
expect 0 "churn " storm $churn --svg "$tmp/churn.svg"
check "churn --svg: the headline counts builds, as the table" \
    grep -qE "started [0-9]+ of $(awk '$1 == "claimsets" && NF == 9 { print $2 }' "$tmp/out") builds</text>" "$tmp/churn.svg"
refuse "numaclaim sweep: builders=1: --lifetime: VM lifetimes need simulated time" \
    sweep --vary builders=1,2 --lifetime exp:1 --threads
# With --seeds the picture is the first seed's, failure marks included.
expect 0 "seeds 1..2 (2)" storm --seeds 2 --svg "$tmp/seeds.svg"
check "--seeds --svg: the first seed's marks" \
    test "$(grep -c "<title>1 VM failed mid-build at 9.80 s</title>" "$tmp/seeds.svg")" -eq 1
expect 0 "Invariants I1-I7 hold" demo

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
