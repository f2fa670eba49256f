#!/bin/sh
# The fault injector p11fault.so (tests/fault/README.md) over SoftHSM2:
# pkcs11-tool through it, then the program test-fault (rules, counts, and
# p11fault.so as a p11mux backend beside SoftHSM2 itself).
set -eu
# shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
require pkcs11-tool softhsm2-util "$SOFTHSM_MODULE"

P11FAULT_SO=$top_builddir/tests/fault/.libs/p11fault.so
[ -f "$P11FAULT_SO" ] || die "$P11FAULT_SO is not built (make check)"
P11MUX_SO=$(p11mux_so)
FAULT_TMP=$TMP
export P11FAULT_SO P11MUX_SO FAULT_TMP SOFTHSM_MODULE

setup_softhsm fault-a fault-b
for label in fault-a fault-b; do
    check "EC key pair on $label" pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$label" \
        --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --id 01 --label k1
done

# pkcs11-tool passes no init string: P11FAULT_MODULE names the module.
P11FAULT_MODULE=$SOFTHSM_MODULE
P11FAULT_COUNTS=$TMP/tool-counts
export P11FAULT_MODULE P11FAULT_COUNTS
printf 'data to sign' >"$TMP/data"
check "pkcs11-tool lists the tokens through p11fault" pkcs11-tool --module "$P11FAULT_SO" -L
expect_contains "$OUT" "fault-a"
check "pkcs11-tool signs through p11fault" pkcs11-tool --module "$P11FAULT_SO" \
    --token-label fault-a --login --pin "$PIN" --sign --id 01 -m ECDSA \
    --input-file "$TMP/data" --output-file "$TMP/signature"
expect_line "$TMP/tool-counts" "fault-a C_Sign 1"

printf 'token=fault-a fn=C_SignInit rv=CKR_DEVICE_ERROR\n' >"$TMP/tool-rules"
P11FAULT_RULES=$TMP/tool-rules
export P11FAULT_RULES
check_fails "a rule fails pkcs11-tool's C_SignInit" pkcs11-tool --module "$P11FAULT_SO" \
    --token-label fault-a --login --pin "$PIN" --sign --id 01 -m ECDSA \
    --input-file "$TMP/data" --output-file "$TMP/signature"
expect_contains "$ERR" "C_SignInit failed: rv = CKR_DEVICE_ERROR"
unset P11FAULT_MODULE P11FAULT_COUNTS P11FAULT_RULES

check "test-fault" "$top_builddir/tests/fault/test-fault"
cat "$OUT"
