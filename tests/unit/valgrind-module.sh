#!/bin/sh
# The module test (which includes 100 initialise/finalise cycles over two
# mock backends, sessions, digests and failing backends) under memcheck:
# no invalid access, no definite or indirect leak.
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
if ! CK_FORK=no "$top_builddir/libtool" --mode=execute valgrind -q \
    --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect --child-silent-after-fork=yes \
    --suppressions="$top_srcdir/tests/valgrind.supp" \
    "$top_builddir/tests/unit/test-module" >"$log" 2>&1; then
    cat "$log"
    echo "FAIL: memcheck found errors or leaks in the module test"
    exit 1
fi
cat "$log"
grep -q "100%: Checks: " "$log" || { echo "FAIL: the module test did not pass under valgrind"; exit 1; }
echo "PASS: module test clean under memcheck"
