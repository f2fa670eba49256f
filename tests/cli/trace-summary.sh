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

expect_status 3 "a missing file" "$P11MUX" trace-summary "$TMP/absent.json"
expect_contains "$ERR" "p11mux: trace-summary: cannot open $TMP/absent.json"
expect_status 2 "no FILE" "$P11MUX" trace-summary
