#!/bin/sh
# make check-valgrind: every program test of `make check` (TESTS without the
# .sh scripts) under memcheck, one after the other:
#
#   tests/hardening/check-valgrind.sh PROGRAM...
#
# No invalid access, no definite or indirect leak, in p11mux or in a test;
# suppressions (tests/valgrind.supp) only for libraries outside p11mux.
# Check runs each test in a child process: valgrind follows it and checks
# its leaks when it exits.  The long tests run shorter: fewer thread-torture
# operations, a smaller "huge" input in the bad-input matrix.  Threads are
# scheduled fairly (--fair-sched=yes, as in every valgrind run of the
# tests): under valgrind's default lock, threads that call in a loop starve
# a backend's loading thread for longer than its init-timeout.
set -u
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$top_builddir}"
export top_builddir top_srcdir
P11MUX_TORTURE_OPS=${P11MUX_TORTURE_OPS:-10000}
P11MUX_RACE_ROUNDS=${P11MUX_RACE_ROUNDS:-30}
P11MUX_MATRIX_HUGE_MIB=${P11MUX_MATRIX_HUGE_MIB:-1}
export P11MUX_TORTURE_OPS P11MUX_RACE_ROUNDS P11MUX_MATRIX_HUGE_MIB
# Check's per-test timeout (4 s by default) is for native speed
CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-600}
export CK_DEFAULT_TIMEOUT

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind is not installed"
    exit 77
fi
# Programs that cannot run under valgrind: test-p11kit-import recognises
# "p11mux itself" by /proc/self/exe, which under valgrind is valgrind's.
skip=${P11MUX_VALGRIND_SKIP-tests/system/test-p11kit-import}
passed=0
failed=0
for program in "$@"; do
    case " $skip " in
    *" $program "*)
        echo "SKIP: $program (cannot run under valgrind)"
        continue
        ;;
    esac
    log=$top_builddir/$program.valgrind.log
    if "$top_builddir/libtool" --mode=execute valgrind -q --fair-sched=yes --error-exitcode=3 \
        --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect --track-origins=yes \
        --suppressions="$top_srcdir/tests/valgrind.supp" --gen-suppressions=all \
        "$top_builddir/$program" >"$log" 2>&1; then
        echo "PASS: $program"
        passed=$((passed + 1))
    else
        echo "FAIL: $program (see $log)"
        grep -E '==[0-9]+==|:[EF]:' "$log" | head -20
        failed=$((failed + 1))
    fi
done
echo "check-valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
