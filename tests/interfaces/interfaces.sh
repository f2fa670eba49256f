#!/bin/sh
# PKCS #11 3.0 and 3.2 through p11mux: pkcs11-tool sees the interfaces; the
# twelve 3.2 functions answer CKR_FUNCTION_NOT_SUPPORTED on NSS softoken (3.0)
# and SoftHSM2 (2.40) and the lists are whole; message-based AES-GCM and
# C_SessionCancel reach NSS softoken; the same calls on a SoftHSM2 slot
# (2.40) give CKR_FUNCTION_NOT_SUPPORTED.
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"

require pkcs11-tool softhsm2-util certutil
so=$(p11mux_so)
setup_softhsm legacy
setup_nss
write_config "$TMP/p11mux.conf" softhsm nss
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF

check "pkcs11-tool lists the interfaces" pkcs11-tool --module "$so" --list-interfaces
expect_contains "$OUT" "PKCS 11" "the PKCS 11 interface is offered"
expect_contains "$OUT" "3.2" "version 3.2 is offered"
expect_contains "$OUT" "3.0" "version 3.0 is offered"
expect_contains "$OUT" "2.40" "version 2.40 is offered"

check "the 3.2 functions over a 3.0 and a 2.40 backend" \
    "$top_builddir/tests/interfaces/v32-real" "$so" "NSS Generic Crypto Services" legacy
cat "$OUT"
if grep -q '^FAIL' "$OUT"; then
    fail "a 3.2 check failed"
fi

check "message-based crypto through p11mux" \
    "$top_builddir/tests/interfaces/message-crypto" "$so" "NSS Generic Crypto Services" legacy
cat "$OUT"
if grep -q '^FAIL' "$OUT"; then
    fail "a 3.0 check failed"
fi
