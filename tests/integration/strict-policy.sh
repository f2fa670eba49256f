#!/bin/sh
# The README's example policy ([policy strict], taken from README.md itself)
# refuses every MD2, MD5 and SHA-1 mechanism that SoftHSM2 and NSS softoken
# advertise: each one named so (…MD2…, …MD5…, …SHA1…, …SHA_1…, SSL 3, the
# TLS 1.0 key derivations) that the backend lists when called directly is
# absent from the mechanism list through p11mux, and C_GetMechanismInfo
# answers CKR_MECHANISM_INVALID for it; a SHA-256 mechanism stays allowed.  Once with
# the example as written (its token allow-list: SoftHSM2's tokens and the
# NSS database), once with its deny-mechanisms alone (every NSS token,
# "NSS Generic Crypto Services" too).  NSS's own vendor mechanisms carry no
# name here and are left to the closed-world rule.
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/harness.sh"
require "$SOFTHSM_MODULE" "$NSS_MODULE" softhsm2-util certutil
PROBE=$top_builddir/tests/system/pkcs11-probe
[ -x "$PROBE" ] || die "$PROBE is not built (make check builds it)"

so=$(p11mux_so)
setup_softhsm strict-token
setup_nss
weak='MD2|MD5|SHA1|SHA_1|^CKM_SSL3_|^CKM_TLS_PRF$|^CKM_TLS_MASTER_KEY_DERIVE|^CKM_TLS_KEY_AND_MAC_DERIVE$'

sed -n '/^\[policy strict\]$/,/^```$/p' "$top_srcdir/README.md" | sed '$d' >"$TMP/strict.policy"
grep -q '^deny-mechanisms = ' "$TMP/strict.policy" || die "no [policy strict] in README.md"
write_config "$TMP/readme.conf" +standalone=true +policy=strict softhsm nss
cat "$TMP/strict.policy" >>"$TMP/readme.conf"
write_config "$TMP/deny-only.conf" +standalone=true +policy=strict softhsm nss
{
    echo '[policy strict]'
    grep '^deny-mechanisms = ' "$TMP/strict.policy"
} >>"$TMP/deny-only.conf"

# direct: the weak mechanisms a backend's token advertises
weak_of() { # MODULE LABEL [RESERVED]
    if [ $# -eq 3 ]; then
        "$PROBE" --reserved "$3" "$1" mechanisms "$2"
    else
        "$PROBE" "$1" mechanisms "$2"
    fi | grep -E "$weak" || true
}

refused_through_p11mux() { # CONF LABEL WEAK-FILE STRONG-MECHANISM
    P11MUX_CONF=$1 run "$PROBE" "$so" mechanisms "$2" || true
    if grep -E "$weak" "$OUT" >"$TMP/left"; then
        fail "$(basename "$1"), $2: listed through p11mux: $(tr '\n' ' ' <"$TMP/left")"
    else
        pass "$(basename "$1"), $2: no weak mechanism in the list through p11mux"
    fi
    refused=0
    allowed=""
    while read -r mechanism; do
        P11MUX_CONF=$1 "$PROBE" "$so" mechanism-info "$2" "$mechanism" >"$TMP/info" 2>&1 || true
        if grep -qx 'rv: CKR_MECHANISM_INVALID' "$TMP/info"; then
            refused=$((refused + 1))
        else
            allowed="$allowed $mechanism($(sed -n 's/^rv: //p' "$TMP/info"))"
        fi
    done <"$3"
    if [ -z "$allowed" ]; then
        pass "$(basename "$1"), $2: each of the $refused weak mechanisms gives CKR_MECHANISM_INVALID"
    else
        fail "$(basename "$1"), $2: not refused:$allowed"
    fi
    P11MUX_CONF=$1 check "$(basename "$1"), $2: $4 is still allowed" \
        "$PROBE" "$so" mechanism-info "$2" "$4"
}

weak_of "$SOFTHSM_MODULE" strict-token >"$TMP/softhsm.weak"
weak_of "$NSS_MODULE" "NSS Certificate DB" "$NSS_INIT_RESERVED" >"$TMP/nssdb.weak"
weak_of "$NSS_MODULE" "NSS Generic Crypto Services" "$NSS_INIT_RESERVED" >"$TMP/nsscrypto.weak"
for list in softhsm nssdb nsscrypto; do
    if [ -s "$TMP/$list.weak" ]; then
        pass "$list advertises $(grep -c . "$TMP/$list.weak") weak mechanisms directly"
    else
        fail "$list advertises no weak mechanism: the test would prove nothing"
    fi
done
expect_line "$TMP/softhsm.weak" CKM_SHA_1_HMAC "SoftHSM2 offers CKM_SHA_1_HMAC (the old example let it through)"
expect_line "$TMP/nssdb.weak" CKM_ECDSA_SHA1 "NSS offers CKM_ECDSA_SHA1 (the old example let it through)"

refused_through_p11mux "$TMP/readme.conf" strict-token "$TMP/softhsm.weak" CKM_SHA256
refused_through_p11mux "$TMP/readme.conf" "NSS Certificate DB" "$TMP/nssdb.weak" CKM_SHA256_RSA_PKCS
refused_through_p11mux "$TMP/deny-only.conf" strict-token "$TMP/softhsm.weak" CKM_SHA256
refused_through_p11mux "$TMP/deny-only.conf" "NSS Certificate DB" "$TMP/nssdb.weak" CKM_SHA256_RSA_PKCS
refused_through_p11mux "$TMP/deny-only.conf" "NSS Generic Crypto Services" "$TMP/nsscrypto.weak" \
    CKM_SHA256
