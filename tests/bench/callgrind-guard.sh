#!/bin/sh
# The forwarding cost guard (make check): under callgrind, the instructions
# p11mux adds to one forwarded C_GetSessionInfo over the null backend must
# stay below LIMIT.  Instruction counts are deterministic, so this fails on a
# regression of the hot path, never on a noisy machine.
#
# Measured on Debian 12 (gcc 12, -O2): direct 47 Ir per call, through p11mux
# 117 (+70), through p11-kit-proxy 286 (+239).  The issue's target is at most
# a third of p11-kit-proxy's added cost (80); LIMIT is that bound.
# Skipped (77) without valgrind, in sanitizer builds and in builds without
# optimisation, where the count means nothing.
set -eu
LIMIT=${P11MUX_GUARD_LIMIT:-80}
OPS=10000

here=$(cd "$(dirname "$0")" && pwd)
top_builddir=$(cd "${top_builddir:-$here/../..}" && pwd)
BENCH=$top_builddir/tests/bench/bench
NULL_SO=$top_builddir/tests/mock/.libs/libp11mux-mock-null.so
P11MUX_SO=$top_builddir/tests/testable/.libs/p11mux.so

skip() {
    echo "SKIP: $*"
    exit 77
}

command -v valgrind >/dev/null 2>&1 || skip "valgrind is not installed"
for f in "$BENCH" "$NULL_SO" "$P11MUX_SO"; do
    [ -f "$f" ] || { echo "FAIL: $f is not built"; exit 1; }
done
if grep -q -e __asan_init -e __tsan_init -e __ubsan_handle "$P11MUX_SO"; then
    skip "sanitizer build"
fi
if ! grep -q '^CFLAGS = .*-O[23s]' "$top_builddir/Makefile"; then
    skip "not an optimised build (CFLAGS without -O2): the limit is for -O2"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/p11mux-guard.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/xdg"
XDG_CONFIG_HOME=$TMP/xdg
export XDG_CONFIG_HOME
unset P11MUX_CONF P11MUX_NULL_RESERVED || true
printf '[global]\nuser-config = none\n[backend null]\nmodule = %s\n' "$NULL_SO" >"$TMP/p11mux.conf"

# count NAME MODULE: instructions per C_GetSessionInfo, from the bench
# program's callgrind dump around exactly OPS calls
count() {
    valgrind --tool=callgrind -q --callgrind-out-file="$TMP/$1.%p" \
        "$BENCH" --callgrind --token null --workloads sessioninfo --ops sessioninfo=$OPS \
        "$2" >"$TMP/$1.out" 2>&1 || { cat "$TMP/$1.out"; echo "FAIL: bench $1"; exit 1; }
    for f in "$TMP/$1".*; do
        if grep -q "^desc: Trigger: Client Request: bench:sessioninfo:$OPS" "$f"; then
            awk -v ops=$OPS '/^summary:/ { printf "%.1f\n", $2 / ops }' "$f"
            return
        fi
    done
    echo "FAIL: no callgrind dump for $1"
    exit 1
}

direct=$(count direct "$NULL_SO")
p11mux=$(P11MUX_CONF=$TMP/p11mux.conf count p11mux "$P11MUX_SO")
added=$(awk -v a="$p11mux" -v b="$direct" 'BEGIN { printf "%.1f", a - b }')
echo "C_GetSessionInfo over the null backend: direct $direct Ir, through p11mux $p11mux Ir"
echo "p11mux adds $added instructions per call (limit $LIMIT)"
if awk -v a="$added" -v l="$LIMIT" 'BEGIN { exit !(a <= l) }'; then
    echo "PASS: forwarding cost within the limit"
else
    echo "FAIL: p11mux adds $added instructions per forwarded call, more than $LIMIT:"
    echo "      the hot path (src/core/call.h, src/core/sessions.h, the generated forwarders) regressed;"
    echo "      see tests/bench/README.md to find where with callgrind_annotate"
    exit 1
fi
