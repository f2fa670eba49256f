#!/bin/bash
# Everything: install packages, build, run every test (unit, mock, real
# backends, real clients), the unit tests again under AddressSanitizer +
# UndefinedBehaviorSanitizer, and make distcheck.
# Ends with "N passed, N failed" and exits non-zero when anything failed.
set -u
srcdir=$(cd "$(dirname "$0")/.." && pwd)
cd "$srcdir" || exit 1

bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0

# add the PASS/FAIL/ERROR/XPASS counts of an automake test-suite.log
count() {
    local log=$1 p x f e xp
    if [ ! -f "$log" ]; then
        failed=$((failed + 1))
        return
    fi
    p=$(sed -n 's/^# PASS: *//p' "$log")
    x=$(sed -n 's/^# XFAIL: *//p' "$log")
    f=$(sed -n 's/^# FAIL: *//p' "$log")
    e=$(sed -n 's/^# ERROR: *//p' "$log")
    xp=$(sed -n 's/^# XPASS: *//p' "$log")
    passed=$((passed + ${p:-0} + ${x:-0}))
    failed=$((failed + ${f:-0} + ${e:-0} + ${xp:-0}))
}

run_check() {
    local builddir=$1 status log
    shift
    make -C "$builddir" -j"$(nproc)" check "$@" >"$builddir/check.out" 2>&1
    status=$?
    grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' "$builddir/check.out"
    if [ $status -ne 0 ]; then
        tail -30 "$builddir/check.out"
        grep -lE '^(FAIL|ERROR)' "$builddir"/tests/*/*.log 2>/dev/null | while read -r log; do
            echo "--- $log"
            tail -60 "$log"
        done
    fi
    count "$builddir/test-suite.log"
}

main=$srcdir/_build/main
asan=$srcdir/_build/asan

echo "=== build and make check"
if bash scripts/build.sh "$main"; then
    run_check "$main"
else
    failed=$((failed + 1))
fi

echo "=== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
if bash scripts/build.sh "$asan" --enable-asan --enable-ubsan; then
    unit_tests=$(make -s -C "$asan" print-tests | tr ' ' '\n' | grep -v '\.sh$' | tr '\n' ' ')
    run_check "$asan" TESTS="$unit_tests"
else
    failed=$((failed + 1))
fi

echo "=== make distcheck"
if make -C "$main" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror >"$main/distcheck.out" 2>&1; then
    passed=$((passed + 1))
    echo "PASS: distcheck"
else
    tail -60 "$main/distcheck.out"
    failed=$((failed + 1))
    echo "FAIL: distcheck"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
