#!/bin/sh
# Runs every libFuzzer target of a fuzz build for a bounded time each:
#
#   tests/fuzz/run-fuzzers.sh BUILDDIR [SECONDS] [TARGET...]
#
# BUILDDIR was built with `make fuzz-build` (tests/fuzz/local.am) by clang
# with -fsanitize=fuzzer.  Each target starts from its checked-in corpus
# (copied: the checked-in one is not changed), runs SECONDS (default 60),
# and prints one line "TARGET: N executions, M crashes, U undefined-behaviour
# reports"; crashes, leaks and timeouts are left in
# BUILDDIR/fuzz-artifacts/TARGET/ to be replayed with
# `tests/fuzz/fuzz-TARGET FILE` (also with a plain gcc build), the new
# inputs in BUILDDIR/fuzz-work/TARGET/.  Exits non-zero when any target
# found something.  UBSan reports in backends would be suppressed by
# tests/ubsan.supp (empty at present), never p11mux's own.
#
# P11MUX_FUZZ_SEED sets libFuzzer's -seed (0, the default, is a random
# seed, printed in the log): scripts/test-all.sh passes a fixed one so that
# a CI run can be repeated exactly; long runs by hand keep random seeds.
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILDDIR [SECONDS] [TARGET...]" >&2
    exit 2
fi
builddir=$(cd "$1" && pwd)
seconds=${2:-60}
shift
[ $# -gt 0 ] && shift
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
targets=${*:-conf calls trace policy params}
status=0

for target in $targets; do
    program=$builddir/tests/fuzz/fuzz-$target
    work=$builddir/fuzz-work/$target
    artifacts=$builddir/fuzz-artifacts/$target
    if [ ! -x "$program" ]; then
        echo "$target: $program is not built"
        status=1
        continue
    fi
    rm -rf "$work" "$artifacts"
    mkdir -p "$work" "$artifacts"
    cp "$srcdir/tests/fuzz/corpus/$target/"* "$work/"
    dict=
    if [ -f "$srcdir/tests/fuzz/dict/$target.dict" ]; then
        dict=-dict=$srcdir/tests/fuzz/dict/$target.dict
    fi
    # shellcheck disable=SC2086
    UBSAN_OPTIONS=print_stacktrace=1:suppressions=$srcdir/tests/ubsan.supp \
    top_builddir=$builddir top_srcdir=$srcdir "$program" $dict \
        -seed="${P11MUX_FUZZ_SEED:-0}" -max_total_time="$seconds" -print_final_stats=1 -timeout=30 -rss_limit_mb=4096 \
        -max_len=4096 -len_control=20 \
        -artifact_prefix="$artifacts/" "$work" >"$artifacts/log" 2>&1 || true
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$artifacts/log")
    found=$(find "$artifacts" -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' | wc -l)
    # UndefinedBehaviorSanitizer reports and goes on: count its reports too
    ub=$(grep -c 'runtime error:' "$artifacts/log" || true)
    echo "$target: ${runs:-0} executions, $found crashes, $ub undefined-behaviour reports"
    if [ -z "$runs" ] || [ "$found" -ne 0 ] || [ "$ub" -ne 0 ]; then
        grep -A3 'runtime error:' "$artifacts/log" | head -20
        tail -40 "$artifacts/log"
        status=1
    fi
done
exit $status
