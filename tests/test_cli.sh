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
expect 2 "--vms '100001'" storm --vms 100001
expect 2 "--configs: /nonexistent.cfg: cannot read" storm --configs /nonexistent.cfg
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
expect 0 "Invariants I1-I7 hold" demo

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
