#!/bin/sh
# One p11mux configuration holding SoftHSM2 (two tokens), NSS softoken,
# p11-kit-trust and two mock backends: pkcs11-tool sees every backend's slots
# through p11mux.so, with slot ids that are unique, below 2^31, the same from
# one run to the next and independent of the other backends configured.  A
# backend whose module cannot be loaded is skipped with a message naming it;
# marked critical, it makes C_Initialize fail with that message.
set -eu
# shellcheck source-path=SCRIPTDIR source=harness.sh
. "$(dirname "$0")/harness.sh"

require pkcs11-tool softhsm2-util certutil "$SOFTHSM_MODULE" "$NSS_MODULE" "$TRUST_MODULE"
so=$(p11mux_so)
setup_softhsm it-alpha it-beta
setup_nss
setup_mocks mock-a mock-b

# ---------------------------------------------------------------- direct view
# What SoftHSM2 and p11-kit-trust show by themselves (NSS softoken cannot be
# loaded without its init string, which pkcs11-tool cannot pass: it always has
# two slots, the crypto services and the key/certificate database).
check "SoftHSM2 lists its slots directly" pkcs11-tool --module "$SOFTHSM_MODULE" -L
softhsm_slots=$(slot_ids "$OUT" | wc -l)
check "p11-kit-trust lists its slots directly" pkcs11-tool --module "$TRUST_MODULE" -L
trust_slots=$(slot_ids "$OUT" | wc -l)
token_labels "$OUT" >"$TMP/trust-labels"
expected_slots=$((softhsm_slots + 2 + trust_slots + 2))

# ---------------------------------------------------------------- all backends
write_config "$TMP/all.conf" softhsm nss trust mock-a mock-b
P11MUX_CONF=$TMP/all.conf
export P11MUX_CONF

check "pkcs11-tool -L through p11mux (run 1)" pkcs11-tool --module "$so" -L
cp "$OUT" "$TMP/run1"
expect_not_contains "$ERR" "p11mux:" "no backend reported a problem"
token_labels "$TMP/run1" >"$TMP/labels1"
for label in it-alpha it-beta "NSS Generic Crypto Services" "NSS Certificate DB" mock-a mock-b; do
    expect_line "$TMP/labels1" "$label" "token '$label' listed through p11mux"
done
while IFS= read -r label; do
    expect_line "$TMP/labels1" "$label" "p11-kit-trust token '$label' listed through p11mux"
done <"$TMP/trust-labels"

slot_ids "$TMP/run1" >"$TMP/ids1"
n=$(wc -l <"$TMP/ids1")
if [ "$n" -eq "$expected_slots" ]; then
    pass "$n slots: SoftHSM2 $softhsm_slots + NSS 2 + trust $trust_slots + mocks 2"
else
    fail "$n slots listed, expected $expected_slots (SoftHSM2 $softhsm_slots + NSS 2 + trust $trust_slots + mocks 2)"
fi
if [ -z "$(sort "$TMP/ids1" | uniq -d)" ]; then
    pass "slot ids are unique"
else
    fail "slot ids repeated: $(sort "$TMP/ids1" | uniq -d | tr '\n' ' ')"
fi
big=
while IFS= read -r id; do
    if [ $((id)) -ge 2147483648 ] || [ $((id)) -eq 0 ]; then
        big="$big $id"
    fi
done <"$TMP/ids1"
if [ -z "$big" ]; then
    pass "every slot id is in 1 .. 2^31-1"
else
    fail "slot ids outside 1 .. 2^31-1:$big"
fi

# "0xID): description" of every slot, sorted: SoftHSM2's own slot order
# varies from run to run, the id of each slot must not.
sed -n 's/^Slot [0-9]* (//p' "$TMP/run1" | sort >"$TMP/slots1"
check "pkcs11-tool -L through p11mux (run 2)" pkcs11-tool --module "$so" -L
sed -n 's/^Slot [0-9]* (//p' "$OUT" | sort >"$TMP/slots2"
expect_equal "$TMP/slots1" "$TMP/slots2" "each slot has the same id in a second run"

# ---------------------------------------------------------------- broken backends
# Two backends that cannot load (a missing file, a library that is not a
# PKCS #11 module) among SoftHSM2 and one mock, without trust, NSS and mock-b:
# the others are listed with the ids they had above.
notp11=$(ldd "$so" | sed -n 's/^[[:space:]]*libglib-2\.0\.so\.0 => \(\/[^ ]*\) .*/\1/p')
[ -n "$notp11" ] || die "cannot find libglib-2.0.so.0 (used as a library that is not a PKCS #11 module)"
bogus=/nonexistent/libp11mux-bogus.so
write_config "$TMP/skip.conf" softhsm bogus="$bogus" mock-a notp11="$notp11"
P11MUX_CONF=$TMP/skip.conf

check "pkcs11-tool -L with two broken backends" pkcs11-tool --module "$so" -L
cp "$OUT" "$TMP/run3"
token_labels "$TMP/run3" >"$TMP/labels3"
for label in it-alpha it-beta mock-a; do
    expect_line "$TMP/labels3" "$label" "token '$label' still listed beside broken backends"
done
expect_not_contains "$TMP/labels3" "mock-b" "mock-b (not configured) is absent"
expect_contains "$ERR" "p11mux: backend 'bogus' ($bogus): " "stderr names the missing backend and its path"
expect_contains "$ERR" "backend 'notp11' ($notp11): " "stderr names the backend that is not a PKCS #11 module"
if [ "$(grep -c '; skipped$' "$ERR")" -eq 2 ]; then
    pass "both broken backends reported as skipped"
else
    fail "expected two '; skipped' messages on stderr:"
    sed 's/^/    /' "$ERR"
fi
sed -n 's/^Slot [0-9]* (//p' "$TMP/run3" | sort >"$TMP/slots3"
if comm -23 "$TMP/slots3" "$TMP/slots1" | grep -q .; then
    fail "slot ids changed when other backends were added or removed:"
    comm -23 "$TMP/slots3" "$TMP/slots1" | sed 's/^/    /'
elif [ "$(wc -l <"$TMP/slots3")" -eq $((softhsm_slots + 1)) ]; then
    pass "slot ids do not depend on the other backends configured"
else
    fail "expected $((softhsm_slots + 1)) slots, got:"
    sed 's/^/    /' "$TMP/slots3"
fi

# ---------------------------------------------------------------- critical
write_config "$TMP/critical.conf" softhsm mock-a bogus="$bogus" +critical=true
P11MUX_CONF=$TMP/critical.conf
check_fails "pkcs11-tool -L fails when a critical backend cannot load" \
    pkcs11-tool --module "$so" -L
expect_contains "$ERR" "backend 'bogus' ($bogus): cannot load" "stderr carries the critical backend's error"
expect_not_contains "$ERR" "skipped" "the critical backend is not reported as skipped"
expect_contains "$ERR" "CKR_GENERAL_ERROR" "C_Initialize answered CKR_GENERAL_ERROR"
expect_not_contains "$OUT" "it-alpha" "no slot is listed after a failed C_Initialize"

# critical = true on a backend that loads changes nothing
write_config "$TMP/critical-ok.conf" softhsm +critical=true mock-a +critical=true
P11MUX_CONF=$TMP/critical-ok.conf
check "pkcs11-tool -L with critical backends that load" pkcs11-tool --module "$so" -L
token_labels "$OUT" >"$TMP/labels4"
expect_line "$TMP/labels4" "mock-a" "critical mock-a listed"
expect_line "$TMP/labels4" "it-beta" "critical SoftHSM2 token listed"
