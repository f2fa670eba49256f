#!/bin/sh
# The trace through real clients: pkcs11-tool --test --login over SoftHSM2,
# behind pkcs11-spy to know every call the client made, through p11mux with
# trace-format = json then text, trace-data = hex (the most revealing).
#
#   - every JSON line parses (python3 json);
#   - the trace holds exactly the calls pkcs11-spy saw, in order;
#   - return values and mechanisms are named;
#   - the PIN, and the value of an AES key created with a known CKA_VALUE
#     and read back with C_GetAttributeValue, appear nowhere in the file:
#     not raw, not in hex (either case), not in base64;
#   - p11mux trace-summary reads the JSON trace.
#
# The token holds an EC key only: pkcs11-tool --test ends in
# CKR_ARGUMENTS_BAD with an RSA key on SoftHSM2 (its quirk).
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/harness.sh"
SPY=${SPY:-$(harness_first_file /usr/lib/x86_64-linux-gnu/pkcs11-spy.so \
    /usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so /usr/lib64/pkcs11-spy.so)}
require pkcs11-tool softhsm2-util python3 "$SOFTHSM_MODULE" "$SPY"

PIN=Xq7-p1n-3141
setup_softhsm traced
P11MUX_SO=$(p11mux_so)
P11FAULT_SO=$top_builddir/tests/fault/.libs/p11fault.so
[ -f "$P11FAULT_SO" ] || die "$P11FAULT_SO is not built (make check builds it)"
P11MUX=$top_builddir/tests/testable/bin/p11mux
head -c 16 /dev/urandom >"$TMP/aes.key"

tool() {
    pkcs11-tool --module "$SPY" --token-label traced --login --pin "$PIN" "$@"
}

# One run of the client through spy and p11mux; $1: json or text.
traced_run() {
    format=$1
    trace=$TMP/trace.$format
    write_config "$TMP/$format.conf" "+trace=file:$trace" "+trace-format=$format" \
        "+trace-data=hex" softhsm
    P11MUX_CONF=$TMP/$format.conf
    # pkcs11-spy (OpenSC 0.23) spies on 2.40 and 3.0 lists only and lets a
    # 3.2 one, p11mux's default, through unseen: p11fault.so, which offers
    # 3.0 and asks p11mux for it, stands between them, forwarding every
    # call as it is (no rule, no count)
    PKCS11SPY=$P11FAULT_SO
    P11FAULT_MODULE=$P11MUX_SO
    PKCS11SPY_OUTPUT=$TMP/spy.$format
    export P11MUX_CONF PKCS11SPY PKCS11SPY_OUTPUT P11FAULT_MODULE
    check "$format: an EC key pair" tool --keypairgen --key-type EC:prime256v1 --label "ec-$format"
    check "$format: an AES key with a known value" tool --write-object "$TMP/aes.key" \
        --type secrkey --key-type AES:16 --label "aes-$format" --extractable
    check "$format: the AES key read back" tool --read-object --type secrkey \
        --label "aes-$format" -o "$TMP/aes.$format"
    expect_equal "$TMP/aes.$format" "$TMP/aes.key" "$format: C_GetAttributeValue gave the key's value"
    printf 'data to sign' >"$TMP/data"
    check "$format: an ECDSA signature" tool --sign --mechanism ECDSA --label "ec-$format" \
        --input-file "$TMP/data" --output-file "$TMP/sig"
    run tool --test || true
    expect_contains "$OUT" "No errors" "$format: pkcs11-tool --test finds no errors"
    unset P11MUX_CONF PKCS11SPY PKCS11SPY_OUTPUT P11FAULT_MODULE
    [ -s "$trace" ] || die "$format: no trace written to $trace"
}

# The function names pkcs11-spy logged, but for the ones p11mux does not
# trace (taking the function list happens before any configuration).
spy_calls() {
    sed -n 's/^[0-9]*: \(C_[A-Za-z]*\)$/\1/p' "$1" |
        grep -v -x -e C_GetFunctionList -e C_GetInterfaceList -e C_GetInterface
}

# Fails when the file holds the secret bytes in a form a trace could use.
check_secret_absent() {
    if python3 - "$1" "$2" "$3" <<'PY'; then
import base64, binascii, sys
data = open(sys.argv[1], "rb").read()
secret = open(sys.argv[2], "rb").read() if sys.argv[3] == "file" else sys.argv[2].encode()
forms = {
    "raw": secret,
    "hex": binascii.hexlify(secret),
    "HEX": binascii.hexlify(secret).upper(),
    "base64": base64.b64encode(secret).rstrip(b"="),
}
# base64 of the secret at any alignment: the characters that depend on it alone
for shift in (1, 2):
    forms["base64+%d" % shift] = base64.b64encode(b"\0" * shift + secret)[4:-4]
found = [name for name, form in forms.items() if form and form in data]
sys.exit(1 if found else 0)
PY
        pass "$4"
    else
        fail "$4: found in $1"
    fi
}

# ------------------------------------------------------------------ json
traced_run json
trace=$TMP/trace.json
if python3 - "$trace" <<'PY'; then
import json, sys
events = 0
for number, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    record = json.loads(line)
    if "event" in record:
        # a backend's outcome in C_Initialize: not a call's record
        if record["event"] != "backend" or record.get("outcome") != "loaded":
            sys.exit("line %d: unexpected %r" % (number, record))
        events += 1
        continue
    for key in ("v", "time", "pid", "tid", "function", "rv", "duration_us", "args"):
        if key not in record:
            sys.exit("line %d: no %s" % (number, key))
    if not isinstance(record["rv"], str) or not record["rv"].startswith("CKR_"):
        sys.exit("line %d: rv %r is not a name" % (number, record["rv"]))
if events == 0:
    sys.exit("no backend record")
PY
    pass "json: every line is a JSON object with the documented fields and a named rv"
else
    fail "json: a line is not a valid record"
fi
spy_calls "$TMP/spy.json" >"$TMP/spy-calls"
python3 -c 'import json, sys
for line in open(sys.argv[1]):
    record = json.loads(line)
    if "event" not in record: print(record["function"])' "$trace" >"$TMP/trace-calls"
[ "$(wc -l <"$TMP/spy-calls")" -gt 100 ] || fail "json: pkcs11-spy saw few calls"
expect_equal "$TMP/trace-calls" "$TMP/spy-calls" "json: the trace holds every call the client made, in order"
expect_contains "$trace" '"function":"C_Login","rv":"CKR_OK"'
expect_contains "$trace" '"pPin":{"len":12,"redacted":true}'
expect_contains "$trace" '"pMechanism":{"mechanism":"CKM_ECDSA","param_len":0}'
expect_contains "$trace" '"mechanism":"CKM_EC_KEY_PAIR_GEN"'
expect_contains "$trace" '"backend":"softhsm","slot":'
expect_contains "$trace" '{"type":"CKA_VALUE","len":16,"redacted":true}'
expect_contains "$trace" '{"type":"CKA_KEY_TYPE","len":8,"value":"CKK_AES"}'
expect_contains "$trace" '{"type":"CKA_LABEL","len":8,"value":"aes-json"}'
check_secret_absent "$trace" "$PIN" text "json: the PIN appears nowhere"
check_secret_absent "$trace" "$TMP/aes.key" file "json: the AES key's value appears nowhere"
check "trace-summary reads the trace" "$P11MUX" trace-summary "$trace"
expect_contains "$OUT" "C_Login "
expect_contains "$OUT" "total "
summary_counts_every_call() { # FORMAT CALLS: the summary's totals add up to CALLS
    summed=$(awk '/^process [0-9]*: [0-9]* calls$/ { n += $3 } END { print n + 0 }' "$OUT")
    if [ "$summed" -eq "$2" ]; then
        pass "$1: trace-summary counts each of the $2 calls"
    else
        fail "$1: trace-summary counts $summed calls, the trace holds $2"
    fi
}
# (backend records, the trace's events, are no calls)
summary_counts_every_call json "$(grep -c . "$TMP/trace-calls")"

# ------------------------------------------------------------------ text
traced_run text
trace=$TMP/trace.text
spy_calls "$TMP/spy.text" >"$TMP/spy-calls"
sed -n 's/^[0-9T:.-]*Z pid [0-9]* tid [0-9]* \(C_[A-Za-z]*\) -> CKR_.*$/\1/p' "$trace" >"$TMP/trace-calls"
expect_equal "$TMP/trace-calls" "$TMP/spy-calls" "text: one block per call the client made, in order"
expect_contains "$trace" "  pPin: <redacted, 12 bytes>"
expect_contains "$trace" "  pMechanism: CKM_ECDSA param_len=0"
expect_contains "$trace" "    CKA_VALUE = <redacted, 16 bytes>"
check_secret_absent "$trace" "$PIN" text "text: the PIN appears nowhere"
check_secret_absent "$trace" "$TMP/aes.key" file "text: the AES key's value appears nowhere"
check "trace-summary reads the text trace" "$P11MUX" trace-summary "$trace"
summary_counts_every_call text "$(grep -c . "$TMP/trace-calls")"
expect_contains "$OUT" "C_Login " "text: the summary names the calls"
