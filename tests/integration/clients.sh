#!/bin/sh
# Real PKCS #11 clients loading p11mux.so: GnuTLS's p11tool lists its tokens
# and signs; NSS (modutil into a fresh database, then certutil) lists its
# tokens and the keys of one; OpenSSL's pkcs11 engine signs with SoftHSM2 keys
# through p11mux and plain OpenSSL verifies the signatures.
#
# The configuration holds SoftHSM2 and p11-kit-trust but not NSS softoken:
# inside an NSS program p11mux's nss backend would be the program's own,
# already initialised softoken instance, not the database named in init-reserved.
set -eu
# shellcheck source-path=SCRIPTDIR source=harness.sh
. "$(dirname "$0")/harness.sh"

engines=$(openssl version -e 2>/dev/null | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p') || true
require pkcs11-tool softhsm2-util openssl p11tool modutil certutil \
    "$SOFTHSM_MODULE" "$TRUST_MODULE" "${engines:-/nonexistent}/pkcs11.so"
so=$(p11mux_so)
setup_softhsm it-clients it-second
write_config "$TMP/p11mux.conf" softhsm trust
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF

printf 'p11mux integration test: data for the clients\n' >"$TMP/data"
openssl dgst -sha256 -binary -out "$TMP/data.sha256" "$TMP/data"

# Key pairs made by SoftHSM2 directly; the public halves as PEM for OpenSSL.
for spec in rsa:2048:01:it-rsa EC:prime256v1:02:it-ec; do
    type=${spec%:*:*}
    rest=${spec#"$type":}
    id=${rest%%:*}
    label=${rest#*:}
    check "SoftHSM2 generates $type key pair '$label'" \
        pkcs11-tool --module "$SOFTHSM_MODULE" --token-label it-clients --login --pin "$PIN" \
        --keypairgen --key-type "$type" --id "$id" --label "$label"
    check "SoftHSM2 exports the public key '$label'" \
        pkcs11-tool --module "$SOFTHSM_MODULE" --token-label it-clients \
        --read-object --type pubkey --id "$id" -o "$TMP/$label.der"
    check "OpenSSL reads the public key '$label'" \
        openssl pkey -pubin -inform DER -in "$TMP/$label.der" -out "$TMP/$label.pem"
done
check "p11-kit-trust lists its tokens directly" pkcs11-tool --module "$TRUST_MODULE" -L
token_labels "$OUT" >"$TMP/trust-labels"

# ---------------------------------------------------------------- GnuTLS
check "p11tool --list-tokens through p11mux" p11tool --provider "$so" --list-tokens
sed -n 's/^[[:space:]]*Label: //p' "$OUT" >"$TMP/p11tool-labels"
for label in it-clients it-second; do
    expect_line "$TMP/p11tool-labels" "$label" "p11tool lists token '$label'"
done
while IFS= read -r label; do
    expect_line "$TMP/p11tool-labels" "$label" "p11tool lists p11-kit-trust's token '$label'"
done <"$TMP/trust-labels"

GNUTLS_PIN=$PIN
export GNUTLS_PIN
check "p11tool lists the private keys of it-clients" \
    p11tool --provider "$so" --login --list-privkeys "pkcs11:token=it-clients"
expect_contains "$OUT" "Label: it-rsa" "p11tool sees it-rsa"
expect_contains "$OUT" "Label: it-ec" "p11tool sees it-ec"
# --test-sign signs through the token and checks the signature against
# the public key object read back from the token
for label in it-rsa it-ec; do
    check "p11tool --test-sign with $label" \
        p11tool --provider "$so" --login --test-sign "pkcs11:token=it-clients;object=$label"
    expect_contains "$ERR" "Verifying against public key in the token... ok" \
        "p11tool verifies the $label signature against the token's public key"
done
unset GNUTLS_PIN

# ---------------------------------------------------------------- NSS
newdb=$TMP/newdb
mkdir "$newdb"
check "certutil makes a fresh NSS database" certutil -N -d "sql:$newdb" --empty-password
check "modutil adds p11mux.so to it" modutil -add p11mux -libfile "$so" -dbdir "sql:$newdb" -force
check "modutil lists the p11mux module" modutil -list p11mux -dbdir "sql:$newdb"
expect_contains "$OUT" "Library file: $so" "modutil shows p11mux.so as the library of module p11mux"
sed -n 's/^[[:space:]]*Token Name: //p' "$OUT" | sed 's/[[:space:]]*$//' >"$TMP/modutil-labels"
for label in it-clients it-second; do
    expect_line "$TMP/modutil-labels" "$label" "modutil shows token '$label' in module p11mux"
done
while IFS= read -r label; do
    expect_line "$TMP/modutil-labels" "$label" "modutil shows p11-kit-trust's token '$label' in module p11mux"
done <"$TMP/trust-labels"

check "certutil -U lists the tokens" certutil -U -d "sql:$newdb"
sed -n 's/^[[:space:]]*token: //p' "$OUT" >"$TMP/certutil-labels"
for label in it-clients it-second; do
    expect_line "$TMP/certutil-labels" "$label" "certutil -U lists token '$label'"
done
while IFS= read -r label; do
    expect_line "$TMP/certutil-labels" "$label" "certutil -U lists p11-kit-trust's token '$label'"
done <"$TMP/trust-labels"

printf '%s\n' "$PIN" >"$TMP/pin"
check "certutil -K lists the keys of it-clients through p11mux" \
    certutil -K -d "sql:$newdb" -h it-clients -f "$TMP/pin"
expect_contains "$OUT" " it-rsa" "certutil sees it-rsa"
expect_contains "$OUT" " it-ec" "certutil sees it-ec"

# ---------------------------------------------------------------- OpenSSL
# the engine loads the module named by PKCS11_MODULE_PATH; the system
# openssl.cnf is left out
printf '# empty: no system configuration\n' >"$TMP/openssl.cnf"
uri="pkcs11:token=it-clients;type=private"
for label in it-rsa it-ec; do
    check "openssl dgst -engine pkcs11 signs with $label through p11mux" \
        env OPENSSL_CONF="$TMP/openssl.cnf" PKCS11_MODULE_PATH="$so" \
        openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "$uri;object=$label?pin-value=$PIN" \
        -out "$TMP/$label.sig" "$TMP/data"
    check "plain OpenSSL verifies the $label signature" \
        openssl dgst -sha256 -verify "$TMP/$label.pem" -signature "$TMP/$label.sig" "$TMP/data"
    expect_contains "$OUT" "Verified OK" "OpenSSL says Verified OK for $label"
done
check "openssl pkeyutl -engine pkcs11 signs a digest with it-rsa through p11mux" \
    env OPENSSL_CONF="$TMP/openssl.cnf" PKCS11_MODULE_PATH="$so" \
    openssl pkeyutl -engine pkcs11 -keyform engine -inkey "$uri;object=it-rsa?pin-value=$PIN" \
    -sign -in "$TMP/data.sha256" -pkeyopt digest:sha256 -out "$TMP/it-rsa.pkeyutl.sig"
check "plain OpenSSL verifies the pkeyutl signature" \
    openssl pkeyutl -verify -pubin -inkey "$TMP/it-rsa.pem" -in "$TMP/data.sha256" \
    -sigfile "$TMP/it-rsa.pkeyutl.sig" -pkeyopt digest:sha256
expect_contains "$OUT" "Signature Verified Successfully" "OpenSSL verifies the pkeyutl signature"
check "the two RSA PKCS #1 v1.5 signatures of the same data are equal" \
    cmp "$TMP/it-rsa.sig" "$TMP/it-rsa.pkeyutl.sig"
# With a wrong PIN the engine reports the token's CKR_PIN_INCORRECT, then
# OpenSSL 3.0 with libp11 0.4.12 crashes on its way out (so does it with
# SoftHSM2 loaded directly): look at what it says, not at its exit status.
run env OPENSSL_CONF="$TMP/openssl.cnf" PKCS11_MODULE_PATH="$so" \
    openssl dgst -sha256 -engine pkcs11 -keyform engine \
    -sign "$uri;object=it-rsa?pin-value=9999" -out "$TMP/wrong.sig" "$TMP/data" || true
expect_contains "$ERR" "PIN incorrect" "a wrong PIN gives CKR_PIN_INCORRECT through p11mux"
if [ -s "$TMP/wrong.sig" ]; then
    fail "a signature was written with a wrong PIN"
else
    pass "no signature with a wrong PIN"
fi
