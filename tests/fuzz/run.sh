#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# One bounded run of a libFuzzer harness, for the `fuzz` test suite:
#   run.sh HARNESS CORPUS WORKDIR LIBFUZZER-FLAGS...
# replays every input of the committed CORPUS (read only: what the run
# finds goes to WORKDIR, emptied first), then fuzzes with the flags given
# (a fixed -seed and -runs).  A crash, leak or timeout fails the test; its
# input is left in WORKDIR as crash-*, leak-* or timeout-*.
set -euo pipefail
harness=$1 corpus=$2 work=$3
shift 3
rm -rf "$work"
mkdir -p "$work/new"
# libFuzzer's own exit status for a crash is 77, which meson takes for
# "skipped": any finding must fail the test instead.
exec "$harness" -artifact_prefix="$work/" -timeout=10 -rss_limit_mb=2048 \
    -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 "$@" \
    "$work/new" "$corpus"
