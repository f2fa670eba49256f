#!/bin/sh
# p11mux trace-summary: calls, errors and nearest-rank p50/p95/max per
# function and calls per return value, on a known trace; bad lines named
# FILE:LINE with exit status 1; a missing file exit status 3.
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source=tests/cli/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"

check "trace-summary of a known trace" "$P11MUX" trace-summary "$FIXTURES/trace.json"
expect_equal "$OUT" "$FIXTURES/trace-summary.expected" "the summary is exact"

check "trace-summary reads standard input" sh -c "\"$P11MUX\" trace-summary - <\"$FIXTURES/trace.json\""
expect_equal "$OUT" "$FIXTURES/trace-summary.expected" "the same summary from standard input"

bad=$FIXTURES/bad-trace.json
expect_status 1 "lines that are not records" "$P11MUX" trace-summary "$bad"
expect_contains "$ERR" "$bad:4: not JSON: "
expect_contains "$ERR" "$bad:5: not a p11mux trace record"
expect_contains "$ERR" "$bad:6: not JSON: "
expect_contains "$ERR" "$bad: 3 lines were not trace records"
expect_line "$OUT" "C_Login                           2        1          5          7          7"

# records that are not a call's return (trace-entry, a backend's outcome,
# slow-call) count no call
events=$TMP/events.json
{
    printf '%s\n' '{"v":1,"time":"2026-01-31T11:59:59.000001Z","pid":10,"tid":10,"event":"backend","function":"C_Initialize","backend":"softhsm","outcome":"loaded","duration_us":800,"message":"interface 2.40, 2 slots"}'
    cat "$FIXTURES/trace.json"
    printf '%s\n' '{"v":1,"time":"2026-01-31T12:00:09.000001Z","pid":10,"tid":10,"function":"C_Sign","event":"enter","backend":"softhsm","args":{"hSession":1048577}}'
    printf '%s\n' '{"v":1,"time":"2026-01-31T12:00:19.000001Z","pid":10,"tid":11,"event":"slow","function":"C_Sign","backend":"softhsm","running_us":10000000}'
} >"$events"
check "trace-summary skips event records" "$P11MUX" trace-summary "$events"
expect_equal "$OUT" "$FIXTURES/trace-summary.expected" "the same summary with event records"

expect_status 3 "a missing file" "$P11MUX" trace-summary "$TMP/absent.json"
expect_contains "$ERR" "p11mux: trace-summary: cannot open $TMP/absent.json"
expect_status 2 "no FILE" "$P11MUX" trace-summary
