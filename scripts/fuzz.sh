#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `make fuzz`: run every libFuzzer harness (tests/fuzz) for FUZZ_TIME
# seconds each (default 600), then minimise what it found and report any
# crash.
#   - build/fuzz is the harnesses' build (set up as scripts/test.sh does);
#   - build/fuzz-corpus/NAME is each harness's working corpus, outside git,
#     seeded from tests/fuzz/corpus/NAME and kept from run to run;
#     after the run it is minimised (libFuzzer -merge=1) in place;
#   - build/fuzz-crashes/NAME/ receives crash-*, leak-*, timeout-* and
#     oom-* inputs.  Each one found is a bug: fix it, then add the input to
#     tests/fuzz/corpus/NAME (or a cmocka test) so that `make test` replays
#     it.
# FUZZ_JOBS=N runs N harnesses at a time (default 1).  Exit status 1 if
# any harness left a crash input.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
time=${FUZZ_TIME:-600}
jobs=${FUZZ_JOBS:-1}
dir=build/fuzz

case "$time" in ''|*[!0-9]*) echo "fuzz: FUZZ_TIME '$time': expected whole seconds" >&2; exit 2;; esac
case "$jobs" in ''|*[!0-9]*|0) echo "fuzz: FUZZ_JOBS '$jobs': expected a number from 1" >&2; exit 2;; esac

if [ ! -f "$dir/build.ninja" ]; then
    mkdir -p "$dir"
    CC=clang meson setup "$dir" -Db_sanitize=address,undefined \
        -Db_lundef=false -Dc_args=-fno-sanitize-recover=all -Dtests=disabled \
        -Dfuzz=enabled >"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; exit 1; }
fi
ninja -C "$dir" >"$dir/ninja.log" 2>&1 || { cat "$dir/ninja.log" >&2; exit 1; }

export LD_LIBRARY_PATH=$root/$dir/src/shim
export HWLOC_HIDE_ERRORS=1
export LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

fuzz_one() {    # harness name
    local name=$1 exe=$root/$dir/tests/fuzz/fuzz-$1
    local work=$root/build/fuzz-corpus/$1 crashes=$root/build/fuzz-crashes/$1
    local asan=detect_leaks=1:abort_on_error=1
    # lsan.supp names frames of libxlutil and libhwloc: full stacks.
    case "$name" in xlcfg|hwloc) asan=$asan:fast_unwind_on_malloc=0;; esac
    mkdir -p "$work" "$crashes"
    ASAN_OPTIONS=$asan "$exe" -max_total_time="$time" -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$crashes/" -print_final_stats=1 \
        "$work" "$root/tests/fuzz/corpus/$name" >"$crashes/../$name.log" 2>&1
    # Minimise: keep the inputs that add coverage, drop the rest.
    rm -rf "$work.min"
    mkdir -p "$work.min"
    if ASAN_OPTIONS=$asan "$exe" -merge=1 -timeout=10 -rss_limit_mb=2048 \
            "$work.min" "$work" >>"$crashes/../$name.log" 2>&1; then
        rm -rf "$work"
        mv "$work.min" "$work"
    else
        rm -rf "$work.min"
    fi
    echo "fuzz-$name: $(grep -o 'number_of_executed_units: [0-9]*' \
        "$crashes/../$name.log" | head -1 | awk '{print $2}') inputs," \
        "corpus $(ls "$work" | wc -l) files"
}

names=$(find "$dir/tests/fuzz" -maxdepth 1 -type f -perm -u+x -name 'fuzz-*' \
        -printf '%f\n' | sed 's/^fuzz-//' | sort)
[ -n "$names" ] || { echo "fuzz: no harnesses built in $dir" >&2; exit 1; }
echo "fuzzing $(echo $names | wc -w) harnesses, ${time}s each, $jobs at a time"
running=0
for n in $names; do
    fuzz_one "$n" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

# The linearizability checks, longer than in `make test`: about 1,000
# histories a second in-process, so FUZZ_TIME seconds' worth of each.
# Not building them is a failure too, never a silent skip.
lin_failed=
if { [ -f build/build.ninja ] ||
     meson setup build >build/fuzz-crashes/lin-setup.log 2>&1; } &&
   ninja -C build tests/test_linearizable tests/test_lin_hostd \
        src/cli/numaclaim >build/fuzz-crashes/lin-build.log 2>&1; then
    for t in test_linearizable:1000 test_lin_hostd:100; do
        exe=build/tests/${t%%:*}
        n=$(( time * ${t##*:} ))
        echo "${t%%:*}: $n histories"
        # As meson runs them: the hostd one starts build/src/cli/numaclaim
        # and its clients load the stand-in libraries.
        LD_LIBRARY_PATH=$root/build/src/shim \
        NC_NUMACLAIM=$root/build/src/cli/numaclaim \
        NC_LIN_HISTORIES=$n NC_LIN_SEED=$(date +%s) "$exe" \
            >"build/fuzz-crashes/${t%%:*}.log" 2>&1 ||
            lin_failed+=" ${t%%:*}"
    done
else
    echo "fuzz: cannot build the linearizability checks" \
         "(build/fuzz-crashes/lin-setup.log, lin-build.log)" >&2
    exit 1
fi

found=$(find build/fuzz-crashes -type f \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | sort)
if [ -n "$found" ]; then
    echo "fuzz: inputs that crash, leak or hang (logs in build/fuzz-crashes/*.log):"
    echo "$found" | sed 's/^/    /'
    exit 1
fi
if [ -n "$lin_failed" ]; then
    echo "fuzz: a history no sequential order explains in:$lin_failed" \
         "(build/fuzz-crashes/*.log print it and its seed)"
    exit 1
fi
echo "fuzz: nothing found"
