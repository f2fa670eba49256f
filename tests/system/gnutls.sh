#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# GnuTLS's p11tool and certtool through p11mux.so over SoftHSM2 and NSS
# softoken (tests/integration/clients.sh covers listing and --test-sign):
# p11tool generates a key on each token and exports its public key, certtool
# makes a self-signed certificate signed by the token key, OpenSSL verifies
# it, and p11tool writes the certificate to the token and lists it back.
set -eu
# shellcheck source=system.sh
. "$(dirname "$0")/system.sh"
# shellcheck source=../integration/harness.sh
. "$top_srcdir/tests/integration/harness.sh"

require p11tool certtool softhsm2-util certutil openssl "$SOFTHSM_MODULE" "$NSS_MODULE"
so=$(p11mux_so)
setup_softhsm gnutls-token
setup_nss
write_config "$TMP/p11mux.conf" softhsm nss
P11MUX_CONF=$TMP/p11mux.conf
GNUTLS_PIN=$PIN
export P11MUX_CONF GNUTLS_PIN
nss_token="NSS%20Certificate%20DB"

check "p11tool --list-tokens" p11tool --provider "$so" --list-tokens
sed -n 's/^[[:space:]]*Label: //p' "$OUT" >"$TMP/labels"
for label in gnutls-token "NSS Certificate DB" "NSS Generic Crypto Services"; do
    expect_line "$TMP/labels" "$label" "p11tool lists token '$label'"
done


# p11 ARGS: p11tool through p11mux, with --login when $login says so (the
# NSS database token has an empty password: p11tool --login would ask for
# a PIN all the same)
p11() {
    if [ "$login" = yes ]; then
        p11tool --provider "$so" --login "$@" </dev/null
    else
        p11tool --provider "$so" "$@" </dev/null
    fi
}

# one_token TOKEN-URI-PART LOGIN LABEL TYPE OPTION: generate, export, certify, write
one_token() {
    token=$1 login=$2 label=$3 type=$4 option=$5
    uri="pkcs11:token=$token"
    # a subject of its own: NSS wants one label for all certificates of a subject
    printf 'cn = "%s"\nserial = 1\nexpiration_days = 30\nca\nsigning_key\ncert_signing_key\n' \
        "$label" >"$TMP/$label.template"
    check "p11tool generates a $type key '$label' on $token" \
        p11 --generate-privkey="$type" "$option" --label="$label" \
        --outfile="$TMP/$label.generated.pem" "$uri"
    check "p11tool lists the private keys on $token" p11 --list-all "$uri;type=private"
    expect_contains "$OUT" "Label: $label" "p11tool lists the private key '$label'"
    check "p11tool --export-pubkey of '$label'" p11 --export-pubkey \
        --outfile="$TMP/$label.pub" "$uri;object=$label;type=private"
    expect_equal "$TMP/$label.generated.pem" "$TMP/$label.pub" \
        "the exported public key of '$label' is the one generation printed"
    check "certtool makes a self-signed certificate with '$label'" \
        certtool --provider "$so" --generate-self-signed </dev/null \
        --load-privkey "$uri;object=$label;type=private" --load-pubkey "$TMP/$label.pub" \
        --template "$TMP/$label.template" --outfile "$TMP/$label.crt"
    check "OpenSSL verifies the certificate signed by '$label'" \
        openssl verify -CAfile "$TMP/$label.crt" "$TMP/$label.crt"
    expect_contains "$OUT" "$TMP/$label.crt: OK" "OpenSSL says OK for '$label''s certificate"
    check "OpenSSL reads the certificate's public key" \
        openssl x509 -in "$TMP/$label.crt" -noout -pubkey -out "$TMP/$label.crt.pub"
    check "and the exported one" openssl pkey -pubin -in "$TMP/$label.pub" -out "$TMP/$label.pub2"
    expect_equal "$TMP/$label.pub2" "$TMP/$label.crt.pub" "the certificate holds the token key '$label'"
    check "p11tool writes the certificate to $token" \
        p11 --write --load-certificate "$TMP/$label.crt" --label "$label-cert" "$uri"
    check "p11tool --list-all-certs on $token" p11 --list-all-certs "$uri"
    expect_contains "$OUT" "Label: $label-cert" "p11tool lists the certificate '$label-cert'"
    check "p11tool --export the certificate" p11 --export \
        --outfile "$TMP/$label.exported.crt" "$uri;object=$label-cert;type=cert"
    check "OpenSSL compares it" openssl x509 -in "$TMP/$label.exported.crt" -noout -fingerprint -sha256 \
        -out "$TMP/$label.fp1"
    check "with the original" openssl x509 -in "$TMP/$label.crt" -noout -fingerprint -sha256 \
        -out "$TMP/$label.fp2"
    expect_equal "$TMP/$label.fp2" "$TMP/$label.fp1" "the certificate read back from $token is the one written"
}

one_token gnutls-token yes gnutls-ec ECDSA --curve=secp256r1
one_token gnutls-token yes gnutls-rsa RSA --bits=2048
one_token "$nss_token" no gnutls-nss-ec ECDSA --curve=secp256r1
one_token "$nss_token" no gnutls-nss-rsa RSA --bits=2048
