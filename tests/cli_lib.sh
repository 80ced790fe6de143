# SPDX-License-Identifier: MIT
#
# Shared by the command-line suites: run the numaclaim command ($bin), or
# any check, and count.  The caller sets bin and tmp (a scratch directory).
passed=0
failed=0

expect() {      # status, pattern in stdout or stderr, args...
    local want=$1 pattern=$2 got; shift 2
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq "$want" ] && grep -qF -- "$pattern" "$tmp/err" "$tmp/out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: numaclaim $* -> $got (want $want, '$pattern')"
        cat "$tmp/out" "$tmp/err"
    fi
}

refuse() {      # pattern, args...: exit 2, one line on stderr, nothing run
    local pattern=$1 got; shift
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq 2 ] && [ ! -s "$tmp/out" ] &&
       [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -qF -- "$pattern" "$tmp/err"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: numaclaim $* -> $got (want 2 and one line '$pattern')"
        cat "$tmp/out" "$tmp/err"
    fi
}

check() {       # description, command...: passes if the command does
    local what=$1; shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $what"
        [ -f "$tmp/err" ] && cat "$tmp/err"
    fi
}
