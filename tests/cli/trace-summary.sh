#!/bin/sh
# p11mux trace-summary: per process, calls, errors, size queries and
# nearest-rank p50/p95/max per function, then errors by function, return
# value, mechanism (the call's own, or its session's last *Init) and
# backend; CKR_BUFFER_TOO_SMALL is a size query, not an error; --pid keeps
# one process; JSON and text traces give the same summary; bad lines named
# FILE:LINE with exit status 1; a missing file exit status 3.
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source=tests/cli/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"

check "trace-summary of a known trace" "$P11MUX" trace-summary "$FIXTURES/trace.json"
expect_equal "$OUT" "$FIXTURES/trace-summary.expected" "the summary is exact"
expect_line "$OUT" "C_Sign                            5        0        1         30       1000       1000" \
    "CKR_BUFFER_TOO_SMALL counts as a size query, not an error"
expect_line "$OUT" "C_SignInit             CKR_VENDOR_DEFINED+0x12        CKM_ECDSA                -                 1" \
    "an error with its mechanism"

check "trace-summary reads standard input" sh -c "\"$P11MUX\" trace-summary - <\"$FIXTURES/trace.json\""
expect_equal "$OUT" "$FIXTURES/trace-summary.expected" "the same summary from standard input"

# two processes interleaved, in both formats
for format in json txt; do
    check "trace-summary of two processes ($format)" "$P11MUX" trace-summary "$FIXTURES/trace-processes.$format"
    expect_equal "$OUT" "$FIXTURES/trace-processes.expected" "one section per process ($format)"
done
expect_line "$OUT" "C_Sign                 CKR_OPERATION_NOT_INITIALIZED  CKM_SHA1_RSA_PKCS        softhsm           1" \
    "a C_Sign error carries the mechanism of its session's last C_SignInit"
expect_line "$OUT" "C_Login                CKR_PIN_INCORRECT              -                        nss               2" \
    "errors are counted per function, return value, mechanism and backend"
check "trace-summary --pid 21" "$P11MUX" trace-summary --pid 21 "$FIXTURES/trace-processes.txt"
expect_line "$OUT" "process 21: 5 calls" "--pid keeps that process"
expect_not_contains "$OUT" "process 20" "and only that one"
check "trace-summary --pid of no process" "$P11MUX" trace-summary --pid 99 "$FIXTURES/trace-processes.json"
expect_line "$OUT" "no call of process 99"
expect_status 2 "a malformed --pid" "$P11MUX" trace-summary --pid x "$FIXTURES/trace.json"

bad=$FIXTURES/bad-trace.json
expect_status 1 "lines that are not records" "$P11MUX" trace-summary "$bad"
expect_contains "$ERR" "$bad:4: not a p11mux trace record (neither a JSON object nor the first line of a text record)"
expect_contains "$ERR" "$bad:5: not a p11mux trace record (function, rv, pid or duration_us missing)"
expect_contains "$ERR" "$bad:6: not JSON: "
expect_contains "$ERR" "$bad: 3 lines were not trace records"
expect_line "$OUT" "C_Login                           2        1        0          5          7          7"

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
