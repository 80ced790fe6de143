#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Run every test configuration CI runs, then print one summary line.
#   1. build/        gcc, -O2 with assertions: every suite
#   2. build/asan    clang, AddressSanitizer + UBSan: every suite
#   3. build/tsan    clang, ThreadSanitizer, NC_DEBUG=2 (the local checks at
#                    each point of change): the threaded suites
#   4. build/fuzz    clang, libFuzzer + ASan + UBSan: a bounded run of each
#                    fuzz harness (tests/fuzz, the `fuzz` suite); the tree is
#                    instrumented for coverage there, so the fuzz harnesses
#                    get a build of their own and build/asan has none
# Each build compiles the whole tree with -Wall -Wextra -Werror.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0

configure() {   # compiler, dir, extra meson args...
    local compiler=$1 dir=$2; shift 2
    if [ -f "$dir/build.ninja" ]; then
        # A dir set up before an option existed gets this script's value,
        # and the project's C standard (gnu11 since the core alone is c11).
        meson configure "$dir" -Dc_std=gnu11 "$@" >"$dir/configure.log" 2>&1 ||
            { cat "$dir/configure.log" >&2; return 1; }
    else
        mkdir -p "$dir"
        if ! CC=$compiler meson setup "$dir" "$@" >"$dir/setup.log" 2>&1; then
            cat "$dir/setup.log" >&2
            return 1
        fi
    fi
    ninja -C "$dir" >"$dir/ninja.log" 2>&1 || { cat "$dir/ninja.log" >&2; return 1; }
}

run_suites() {  # label, dir, meson test args...
    local label=$1 dir=$2 rc counts ok bad; shift 2
    echo "== $label"
    rm -f "$dir/meson-logs/testlog.json"
    meson test -C "$dir" --print-errorlogs "$@" 2>&1 |
        grep -vE '^(ninja: |\[[0-9]+/[0-9]+\] )'
    rc=${PIPESTATUS[0]}
    # Meson's own record of this run, one JSON object per test: OK and
    # EXPECTEDFAIL pass, SKIP is neither, anything else fails.
    counts=$(python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)['result']
    if r in ('OK', 'EXPECTEDFAIL'):
        ok += 1
    elif r != 'SKIP':
        bad += 1
print(ok, bad)
PY
    ) || counts="0 0"
    read -r ok bad <<<"$counts"
    passed=$((passed + ok))
    failed=$((failed + bad))
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        failed=$((failed + 1))
    fi
}

stage() {       # label, compiler, dir, meson setup args..., --, meson test args...
    local label=$1 compiler=$2 dir=$3; shift 3
    local setup=() tests=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do setup+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    tests=("$@")
    if configure "$compiler" "$dir" "${setup[@]}"; then
        run_suites "$label" "$dir" "${tests[@]}"
    else
        echo "== $label: build failed"
        failed=$((failed + 1))
    fi
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1}

stage "gcc, assertions on (build/)" gcc build
stage "clang, ASan + UBSan (build/asan)" clang build/asan \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fno-sanitize-recover=all -Dfuzz=disabled
stage "clang, ThreadSanitizer, ASSERT_EXPENSIVE on (build/tsan)" clang build/tsan \
    -Db_sanitize=thread -Db_lundef=false -Dnc_debug=2 -- --suite threads
stage "clang, libFuzzer harnesses (build/fuzz)" clang build/fuzz \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fno-sanitize-recover=all -Dtests=disabled -Dfuzz=enabled \
    -- --suite fuzz

echo
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
