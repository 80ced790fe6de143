#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# bench/claimsets-grid.py [--build DIR] [--quick] [--jobs N] [--vms N]
#
# Where claimsets does worse than the baselines.  Runs `numaclaim storm`
# (simulated time, every policy, seed 1) over a grid of scenarios: the
# hosts in examples/hosts/ plus a 2-node and a 16-node uneven host, fills
# 0-90%, small / bimodal / big / over-node mixes, 1, 8 and 64 builders,
# offline and balloon events (with 8 builders), and xl.cfg vNUMA configs
# with explicit pnodes.  For each scenario it prints a line where claimsets
#   MIDBUILD  failed a VM after populating (failed_build > 0),
#   PIN       started a pnode= VM off its configured nodes,
#   LOCALITY  has a lower locality than xapi or host (by more than 0.001),
#   MEMORY    started less memory than xapi or host,
# and at the end how many scenarios each affects.  Exit status 0 whatever
# it finds (it is a report), 2 on a usage error or a storm that failed.
import argparse
import concurrent.futures
import json
import os
import random
import subprocess
import sys
import tempfile

HOSTS = [
    ("2x64G", "2x64G"),
    ("8node-uneven", "hwloc:examples/hosts/8node-uneven.xml"),
    ("2s-snc2", "hwloc:examples/hosts/2s-snc2.xml"),
    ("2s-hbm-flat", "hwloc:examples/hosts/2s-hbm-flat.xml"),
    ("epyc-nps4", "hwloc:examples/hosts/epyc-nps4-memoryless.xml"),
    ("16node-uneven", ",".join(["64G", "64G", "32G", "32G", "128G", "128G",
                                "16G", "16G"] * 2)),
]
MIXES = [
    ("small", "2G:4,4G:4"),
    ("bimodal", "2G:8,77G:2"),
    ("big", "32G:2,64G:1"),
    ("over-node", "160G:1,8G:4"),
]
FILLS = [0, 40, 70, 90]
OFFLINE = ["--offline", "32768@2.0", "--offline", "16384@6.0"]
CONFIGS = "examples/vms/vnuma.cfg,examples/vms/small.cfg,examples/vms/big.cfg"


def scenarios(quick):
    fills = [0, 90] if quick else FILLS
    for hname, host in HOSTS:
        for fill in fills:
            for mname, mix in MIXES:
                base = ["--host", host, "--fill", str(fill), "--mix", mix]
                for b in (1, 8, 64):
                    yield (f"{hname} fill={fill} {mname} b={b}",
                           base + ["--builders", str(b)])
                yield (f"{hname} fill={fill} {mname} b=8 offline",
                       base + ["--builders", "8"] + OFFLINE)
                yield (f"{hname} fill={fill} {mname} b=8 balloon",
                       base + ["--builders", "8", "--balloon"])
            yield (f"{hname} fill={fill} vnuma-configs b=8",
                   ["--host", host, "--fill", str(fill), "--configs",
                    CONFIGS, "--builders", "8"])


def pin_dropped(line):
    """A started vnuma.cfg VM (pnode=0 and pnode=1, 2 GiB each) elsewhere."""
    return (line["policy"] == "claimsets" and line["name"] == "vnuma" and
            line["outcome"] == "started" and
            line["nodes"] != {"0": 524288, "1": 524288})


def run(binary, vms, name, args):
    with tempfile.TemporaryDirectory() as d:
        js, vo = os.path.join(d, "r.json"), os.path.join(d, "v.jsonl")
        p = subprocess.run([binary, "storm", "--vms", str(vms),
                            "--no-progress", "--json", js, "--vms-out", vo]
                           + args, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        if p.returncode:
            return name, None, p.stderr.strip().splitlines()[-1:]
        with open(js) as f:
            pol = {x["name"]: x for x in json.load(f)["policies"]}
        with open(vo) as f:
            pins = sum(pin_dropped(json.loads(x)) for x in f if x.strip())
    cs = pol["claimsets"]
    flags = []
    if cs["failed_build"]:
        flags.append("MIDBUILD")
    if pins:
        flags.append("PIN")
    if any(cs["locality"] < pol[o]["locality"] - 1e-3 for o in ("xapi", "host")):
        flags.append("LOCALITY")
    if any(cs["started_pages"] < pol[o]["started_pages"] for o in ("xapi", "host")):
        flags.append("MEMORY")
    return name, (flags, pol), None


def gib(pages):
    return pages / 262144


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--quick", action="store_true", help="fills 0 and 90 only")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--vms", type=int, default=24)
    a = ap.parse_args()
    binary = os.path.join(a.build, "src/cli/numaclaim")
    if not os.access(binary, os.X_OK):
        print(f"claimsets-grid: {binary} not built", file=sys.stderr)
        return 2
    todo = list(scenarios(a.quick))
    # A fixed shuffle, so that a run cut short has covered every host and
    # mix a little rather than the first host fully.
    random.Random(1).shuffle(todo)
    count = {"MIDBUILD": 0, "PIN": 0, "LOCALITY": 0, "MEMORY": 0}
    errors = 0
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        futs = [ex.submit(run, binary, a.vms, n, x) for n, x in todo]
        for done, f in enumerate(concurrent.futures.as_completed(futs), 1):
            name, res, err = f.result()
            if done % 10 == 0:
                print(f"[{done}/{len(todo)}]", flush=True)
            if res is None:
                print(f"{name}: storm failed: {' '.join(err)}", flush=True)
                errors += 1
                continue
            flags, pol = res
            for fl in flags:
                count[fl] += 1
            if flags:
                fig = "  ".join(
                    f"{p} {pol[p]['started']}/{pol[p]['vms']} "
                    f"{gib(pol[p]['started_pages']):.0f}G "
                    f"loc {pol[p]['locality']:.3f} mid {pol[p]['failed_build']}"
                    for p in ("host", "xapi", "claimsets"))
                print(f"{name}: {','.join(flags)}: {fig}", flush=True)
    print(f"\n{len(todo)} scenarios ({a.vms} VMs each); claimsets: "
          + ", ".join(f"{k} {v}" for k, v in count.items())
          + (f"; {errors} storms failed" if errors else ""))
    return 2 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
