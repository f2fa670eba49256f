#!/bin/sh
# p11mux explain says what the module does: over layered configurations
# (the system file with policy-override = stricter-only, and P11MUX_CONF),
# each verdict of explain for a token, a mechanism, an object and a
# function is compared with what tests/testable/p11mux.so answers to
# tests/system/pkcs11-probe: a refused token is absent from C_GetSlotList,
# a refused mechanism gives CKR_MECHANISM_INVALID (C_GetMechanismInfo), a
# refused object is not found, a refused function gives its refusal code
# (C_SignInit: CKR_FUNCTION_NOT_SUPPORTED).  The rule explain cites is one
# that matched, and p11mux list names every policy the module combines.
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source=tests/cli/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"
PROBE=$top_builddir/tests/system/pkcs11-probe
[ -x "$PROBE" ] || die "$PROBE is not built (make check builds it)"
so=$(p11mux_so)

setup_mocks mock-a mock-b
cp "$FIXTURES/layered-mock-a.conf" "$TMP/mock-a.conf"
cp "$FIXTURES/layered-mock-b.conf" "$TMP/mock-b.conf"
mkdir -p "$TMP/etc/p11mux"
sys=$TMP/etc/p11mux/p11mux.conf
user=$TMP/user.conf
sed "s|@TMP@|$TMP|g" "$FIXTURES/layered-system.conf.in" >"$sys"
cp "$FIXTURES/layered-user.conf" "$user"
P11MUX_TESTABLE_SYSCONFDIR=$TMP/etc
P11MUX_CONF=$user
export P11MUX_TESTABLE_SYSCONFDIR P11MUX_CONF

# explain's verdict: allowed or refused (exit 0 or 1)
verdict() { # LABEL OPTION VALUE
    status=0
    "$P11MUX" explain --token "$1" "$2" "$3" >"$TMP/explain.out" 2>&1 || status=$?
    case $status in
    0) echo allowed ;;
    1) echo refused ;;
    *) echo "error $status: $(cat "$TMP/explain.out")" ;;
    esac
}

# what the module does: allowed or refused
module_token() { # LABEL
    "$PROBE" "$so" tokens | awk -v l="$1" '$2 == l { found = 1 } END { print found ? "allowed" : "refused" }'
}
module_mechanism() { # LABEL MECH
    "$PROBE" "$so" mechanism-info "$1" "$2" >"$TMP/probe.out" 2>&1 || true
    if grep -qx 'rv: CKR_MECHANISM_INVALID' "$TMP/probe.out"; then
        echo refused
    elif grep -qx 'rv: CKR_OK' "$TMP/probe.out"; then
        echo allowed
    else
        echo "probe: $(cat "$TMP/probe.out")"
    fi
}
module_object() { # LABEL OBJECT-LABEL
    "$PROBE" "$so" objects "$1" "$PIN" >"$TMP/probe.out" 2>&1 || true
    if ! grep -qx 'rv: CKR_OK' "$TMP/probe.out"; then
        echo "probe: $(cat "$TMP/probe.out")"
    elif awk -v l="$2" '$2 == l { f = 1 } END { exit !f }' "$TMP/probe.out"; then
        echo allowed
    else
        echo refused
    fi
}
module_sign_init() { # LABEL HANDLE
    "$PROBE" "$so" sign-handle "$1" "$PIN" "$2" CKM_SHA256_HMAC >"$TMP/probe.out" 2>&1 || true
    if grep -qx 'rv: CKR_FUNCTION_NOT_SUPPORTED' "$TMP/probe.out"; then
        echo refused
    elif grep -q '^rv: ' "$TMP/probe.out"; then
        echo allowed
    else
        echo "probe: $(cat "$TMP/probe.out")"
    fi
}

agree() { # DESC EXPLAIN-VERDICT MODULE-VERDICT EXPECTED
    if [ "$2" = "$3" ] && [ "$3" = "$4" ]; then
        pass "$1: explain and the module both say $2"
    else
        fail "$1: explain says $2, the module $3 (expected $4)"
        sed 's/^/    /' "$TMP/explain.out"
    fi
}

# tokens: secret is denied by the system layer, beta by the user's allow-list
agree "token alpha" "$(verdict alpha --function C_GetTokenInfo)" "$(module_token alpha)" allowed
agree "token beta" "$(verdict beta --function C_GetTokenInfo)" "$(module_token beta)" refused
expect_line "$TMP/explain.out" "refused: the policy hides this slot's token (CKR_SLOT_ID_INVALID)"
expect_line "$TMP/explain.out" "  [policy user] tokens = pkcs11:token=alpha pkcs11:token=secret ($user:9)"
expect_not_contains "$TMP/explain.out" "deny-tokens" \
    "beta's refusal does not cite deny-tokens = pkcs11:token=secret, which does not match it"
agree "token gamma" "$(verdict gamma --function C_GetTokenInfo)" "$(module_token gamma)" allowed
agree "token secret" "$(verdict secret --function C_GetTokenInfo)" "$(module_token secret)" refused
expect_line "$TMP/explain.out" "  [policy sys] deny-tokens = pkcs11:token=secret ($sys:13)"

# mechanisms: each layer's deny-list applies on mock-a (sys + user) and
# mock-b (sys + open); the closed world refuses what p11mux cannot read
for case in alpha:CKM_MD5:refused alpha:CKM_SHA_1:refused alpha:CKM_SHA256:allowed \
    alpha:CKM_SHA224:allowed alpha:CKM_VENDOR_DEFINED+1:refused \
    gamma:CKM_MD5:refused gamma:CKM_SHA224:refused gamma:CKM_SHA_1:allowed; do
    label=${case%%:*}
    rest=${case#*:}
    mech=${rest%:*}
    agree "$label $mech" "$(verdict "$label" --mechanism "$mech")" \
        "$(module_mechanism "$label" "$mech")" "${rest##*:}"
done
verdict alpha --mechanism CKM_MD5 >/dev/null
expect_line "$TMP/explain.out" "mechanism CKM_MD5: refused by [policy sys] deny-mechanisms = CKM_MD5 ($sys:14)"
verdict gamma --mechanism CKM_SHA224 >/dev/null
expect_line "$TMP/explain.out" "mechanism CKM_SHA224: refused by [policy open] deny-mechanisms = CKM_SHA224 ($user:15)"

# objects: deny-objects of either layer hides
for object in alpha-key:secret-key:allowed sys-hidden:data:refused user-hidden:data:refused; do
    name=${object%%:*}
    rest=${object#*:}
    agree "object $name" "$(verdict alpha --object "pkcs11:object=$name;type=${rest%:*}")" \
        "$(module_object alpha "$name")" "${rest#*:}"
done
verdict alpha --object "pkcs11:object=sys-hidden;type=data" >/dev/null
expect_line "$TMP/explain.out" "object pkcs11:object=sys-hidden;type=data: refused by [policy sys] deny-objects = pkcs11:object=sys-hidden ($sys:15)"

# functions: C_SignInit denied by the user's policy on mock-a only
agree "C_SignInit on alpha" "$(verdict alpha --function C_SignInit)" \
    "$(module_sign_init alpha 1280)" refused
expect_line "$TMP/explain.out" "function C_SignInit: refused by [policy user] deny-functions = C_SignInit ($user:12)"
agree "C_SignInit on gamma" "$(verdict gamma --function C_SignInit)" \
    "$(module_sign_init gamma 1280)" allowed

# p11mux list names both policies the module combines for a backend
check "list of the layered configuration" "$P11MUX" list
awk '$0 == "backend mock-a" { p = 1; next } /^(backend|slot) / { p = 0 } p && /^  policy:/' "$OUT" >"$TMP/policies"
expect_line "$TMP/policies" "  policy: sys ($sys:4) (system layers; policy-override = stricter-only)"
expect_line "$TMP/policies" "  policy: user ($user:3)"
awk '$0 == "backend mock-b" { p = 1; next } /^(backend|slot) / { p = 0 } p && /^  policy:/' "$OUT" >"$TMP/policies"
expect_line "$TMP/policies" "  policy: open ($user:6)"
expect_line "$TMP/policies" "  policy: sys ($sys:4) (system layers; policy-override = stricter-only)"
