#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# OpenSC's pkcs11-tool through p11mux.so over SoftHSM2 and NSS softoken,
# the parts tests/integration/keys.sh (key generation, signing and
# verifying, objects) does not cover: library information and interfaces,
# the slot list, mechanism lists (the same through p11mux as from SoftHSM2
# directly), and `pkcs11-tool --test --login` on a SoftHSM2 token holding an
# EC key, where it passes directly too.  (With an RSA key SoftHSM2 itself
# fails the test with CKR_ARGUMENTS_BAD.)
set -eu
# shellcheck source=system.sh
. "$(dirname "$0")/system.sh"
# shellcheck source=../integration/harness.sh
. "$top_srcdir/tests/integration/harness.sh"

require pkcs11-tool softhsm2-util certutil "$SOFTHSM_MODULE" "$NSS_MODULE"
so=$(p11mux_so)
setup_softhsm tool-token
setup_nss
write_config "$TMP/p11mux.conf" softhsm nss
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF

check "pkcs11-tool -I through p11mux" pkcs11-tool --module "$so" -I
expect_contains "$OUT" "Manufacturer     p11mux" "the library is p11mux"
expect_contains "$OUT" "Cryptoki version 3.2" "p11mux offers PKCS #11 3.2 by default"
check "pkcs11-tool --list-interfaces" pkcs11-tool --module "$so" --list-interfaces
expect_contains "$OUT" "  version: 3.2" "the 3.2 interface is listed"
expect_contains "$OUT" "  version: 3.0" "the 3.0 interface is listed"
expect_contains "$OUT" "  version: 2.40" "the 2.40 interface is listed"

check "pkcs11-tool -L" pkcs11-tool --module "$so" -L
token_labels "$OUT" >"$TMP/labels"
for label in tool-token "NSS Certificate DB" "NSS Generic Crypto Services"; do
    expect_line "$TMP/labels" "$label" "the slot list shows token '$label'"
done

# mechanism lists: p11mux passes SoftHSM2's through unchanged
check "pkcs11-tool -M on tool-token through p11mux" pkcs11-tool --module "$so" --token-label tool-token -M
grep -v '^Using slot' "$OUT" >"$TMP/mux-mechanisms"
check "pkcs11-tool -M on tool-token directly" \
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label tool-token -M
grep -v '^Using slot' "$OUT" >"$TMP/direct-mechanisms"
expect_equal "$TMP/direct-mechanisms" "$TMP/mux-mechanisms" \
    "SoftHSM2's mechanism list is the same through p11mux"
if [ "$(grep -c keySize "$TMP/mux-mechanisms")" -ge 20 ]; then
    pass "SoftHSM2 lists $(grep -c keySize "$TMP/mux-mechanisms") mechanisms"
else
    fail "SoftHSM2 lists few mechanisms:"
    sed 's/^/    /' "$TMP/mux-mechanisms"
fi
for token in "NSS Certificate DB" "NSS Generic Crypto Services"; do
    check "pkcs11-tool -M on '$token'" pkcs11-tool --module "$so" --token-label "$token" -M
    expect_contains "$OUT" "ECDSA, keySize" "'$token' offers ECDSA"
    expect_contains "$OUT" "RSA-PKCS, keySize" "'$token' offers RSA-PKCS"
done

# objects
check "generate an EC key on tool-token" \
    pkcs11-tool --module "$so" --token-label tool-token --login --pin "$PIN" --keypairgen \
    --key-type EC:prime256v1 --id 01 --label tool-ec
check "pkcs11-tool -O --login" pkcs11-tool --module "$so" --token-label tool-token --login --pin "$PIN" -O
expect_contains "$OUT" "Private Key Object; EC" "the private key is listed"
expect_contains "$OUT" "Public Key Object; EC" "the public key is listed"
check "pkcs11-tool -O without login" pkcs11-tool --module "$so" --token-label tool-token -O
expect_not_contains "$OUT" "Private Key Object" "the private key is not listed without login"

# --test --login: the same verdict through p11mux as directly
check "pkcs11-tool --test --login on tool-token through p11mux" \
    pkcs11-tool --module "$so" --token-label tool-token --test --login --pin "$PIN"
cp "$OUT" "$TMP/mux-test"
expect_line "$OUT" "No errors" "pkcs11-tool --test finds no errors through p11mux"
expect_contains "$OUT" "all 4 digest functions seem to work" "digests work through p11mux"
check "pkcs11-tool --test --login on tool-token directly" \
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label tool-token --test --login --pin "$PIN"
expect_line "$OUT" "No errors" "pkcs11-tool --test finds no errors directly"
