#!/bin/bash
# Everything: install packages, build, run every test (unit, mock, real
# backends, real clients) and the README's demo; then again under AddressSanitizer +
# UndefinedBehaviorSanitizer (the programs instrumented, the real clients
# with the runtimes preloaded), the concurrency tests under ThreadSanitizer,
# the programs under valgrind memcheck, each libFuzzer target for
# P11MUX_FUZZ_SECONDS (60), and make distcheck.
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

echo "=== the README's demo (scripts/demo.sh)"
# the quick start's first command, over the build above: it must run to its
# end and show the policy refusing SHA-1, hiding a token and the PIN
# redacted, and the HA group signing on after a member went down
if bash scripts/demo.sh >"$main/demo.out" 2>&1 &&
    grep -q '^== done' "$main/demo.out" &&
    grep -q '^signature 3: Verified OK (signed by replica-b)' "$main/demo.out" &&
    grep -q '^group.member.state .*replica-a): active -> down' "$main/demo.out" &&
    grep -q '^CKR_MECHANISM_INVALID' "$main/demo.out" &&
    grep -q 'pPin: <redacted, 4 bytes>' "$main/demo.out" &&
    awk '/^== token alpha is hidden/ {on = 1; next} /^==/ {on = 0}
         on && /token label *: beta/ {beta = 1} on && /token label *: alpha/ {alpha = 1}
         END {exit !(beta && !alpha)}' "$main/demo.out"; then
    passed=$((passed + 1))
    echo "PASS: demo"
else
    failed=$((failed + 1))
    echo "FAIL: demo"
    tail -40 "$main/demo.out"
fi

echo "=== make check again, with p11mux installed and configured system-wide"
# make install, p11mux registered with p11-kit and the demo's configuration
# with import-p11-kit = true as the system's, in a private mount namespace
# that vanishes with it: no test may read any of it (the tests load the
# testable copies, tests/testable/local.am)
installed=$srcdir/_build/main/installed-check.out
if [ -f "$main/Makefile" ]; then
    status=0
    bash scripts/check-installed.sh "$main" >"$installed" 2>&1 || status=$?
    grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' "$installed" | sed 's/^/installed /'
    grep '^check-installed: FAIL' "$installed" || true
    before=$failed
    if grep -q '^# TOTAL' "$installed"; then
        count "$main/test-suite.log"
    fi
    # the installation's own checks, or no make check at all
    if [ "$status" -ne 0 ] && [ "$failed" -eq "$before" ]; then
        tail -30 "$installed"
        failed=$((failed + 1))
    fi
else
    failed=$((failed + 1))
fi

echo "=== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
# (bash exports assignments made before a function call for that call only)
asan_options=detect_leaks=1:suppressions=$srcdir/tests/asan.supp
lsan_options=suppressions=$srcdir/tests/lsan.supp:print_suppressions=0
ubsan_options=halt_on_error=1:print_stacktrace=1:suppressions=$srcdir/tests/ubsan.supp
if bash scripts/build.sh "$asan" --enable-asan --enable-ubsan; then
    tests=$(make -s -C "$asan" print-tests | tr ' ' '\n')
    unit_tests=$(echo "$tests" | grep -v '\.sh$' | tr '\n' ' ')
    ASAN_OPTIONS=$asan_options LSAN_OPTIONS=$lsan_options UBSAN_OPTIONS=$ubsan_options \
        run_check "$asan" TESTS="$unit_tests"

    # The scripts drive uninstrumented clients (pkcs11-tool, p11tool,
    # certutil, openssl, p11-kit server) that load the instrumented p11mux.so:
    # tests/integration/harness.sh preloads P11MUX_TEST_PRELOAD into them.
    # Not here: the valgrind and callgrind scripts (they run their own
    # tool) and the two that load nothing.  The scripts that need p11tool,
    # p11-kit or java skip themselves (harness.sh says why).
    echo "=== integration scripts under AddressSanitizer + UndefinedBehaviorSanitizer"
    scripts=$(echo "$tests" | grep '\.sh$' |
        grep -v -e valgrind -e callgrind -e shellcheck -e man/lint |
        tr '\n' ' ')
    preload="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
    ASAN_OPTIONS=$asan_options LSAN_OPTIONS=$lsan_options UBSAN_OPTIONS=$ubsan_options \
        P11MUX_TEST_PRELOAD=$preload run_check "$asan" TESTS="$scripts"
else
    failed=$((failed + 1))
fi

echo "=== concurrency tests under ThreadSanitizer"
tsan=$srcdir/_build/tsan
if bash scripts/build.sh "$tsan" --enable-tsan; then
    # every test that runs threads (GLib's locks made visible to TSan by
    # tests/lib/tsan-glib.c, linked into each)
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        run_check "$tsan" TESTS="tests/hardening/test-threads tests/events/test-events \
            tests/unit/test-sessions tests/unit/test-policy-cache tests/unit/test-policy-module \
            tests/unit/test-trace tests/unit/test-trace-module tests/unit/test-mock \
            tests/unit/test-misbehave tests/unit/test-group-health tests/group/threads.sh \
            tests/group/operations.sh"
else
    failed=$((failed + 1))
fi

echo "=== make check-valgrind"
if make -C "$main" check-valgrind >"$main/valgrind.out" 2>&1; then
    :
else
    tail -40 "$main/valgrind.out"
fi
grep -E '^(PASS|FAIL|SKIP):' "$main/valgrind.out"
vp=$(grep -c '^PASS:' "$main/valgrind.out")
vf=$(grep -c '^FAIL:' "$main/valgrind.out")
grep -q '^check-valgrind: ' "$main/valgrind.out" || vf=$((vf + 1))
passed=$((passed + vp))
failed=$((failed + vf))

# a fixed seed: a red run is repeated exactly (run-fuzzers.sh); set
# P11MUX_FUZZ_SEED=0 for a random one
fuzz_seed=${P11MUX_FUZZ_SEED:-1123}
echo "=== libFuzzer: each target for ${P11MUX_FUZZ_SECONDS:-60} s, seed $fuzz_seed"
fuzz=$srcdir/_build/fuzz
mkdir -p "$fuzz"
if (cd "$fuzz" && "$srcdir/configure" CC=clang >configure.out &&
    make fuzz-build CFLAGS='-g -O1 -fsanitize=fuzzer-no-link,address,undefined' \
        FUZZ_LDFLAGS=-fsanitize=fuzzer >make.out 2>&1) ||
    { tail -30 "$fuzz/make.out" 2>/dev/null; false; }; then
    P11MUX_FUZZ_SEED=$fuzz_seed sh tests/fuzz/run-fuzzers.sh "$fuzz" "${P11MUX_FUZZ_SECONDS:-60}" >"$fuzz/fuzz.out" 2>&1
    cat "$fuzz/fuzz.out"
    fp=$(grep -c ': [1-9][0-9]* executions, 0 crashes, 0 undefined' "$fuzz/fuzz.out")
    ft=$(grep -c -E '^[a-z]+: ([0-9]+ executions, |.* is not built)' "$fuzz/fuzz.out")
    passed=$((passed + fp))
    failed=$((failed + ft - fp))
    [ "$ft" -gt 0 ] || failed=$((failed + 1))
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
