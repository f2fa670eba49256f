#!/bin/sh
# The module tests under memcheck: test-module (100 initialise/finalise
# cycles over two mock backends, sessions, digests, failing backends) and
# test-events (slot events, hot-plug, backend faults, a finalise during a
# blocked wait): no invalid access, no definite or indirect leak.
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
export top_builddir top_srcdir

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind is not installed"
    exit 77
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
for program in tests/unit/test-module tests/events/test-events; do
    if ! CK_FORK=no "$top_builddir/libtool" --mode=execute valgrind -q --fair-sched=yes \
        --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect --child-silent-after-fork=yes \
        --suppressions="$top_srcdir/tests/valgrind.supp" \
        "$top_builddir/$program" >"$log" 2>&1; then
        cat "$log"
        echo "FAIL: memcheck found errors or leaks in $program"
        status=1
        continue
    fi
    cat "$log"
    if grep -q "100%: Checks: " "$log"; then
        echo "PASS: $program clean under memcheck"
    else
        echo "FAIL: $program did not pass under valgrind"
        status=1
    fi
done
exit $status
