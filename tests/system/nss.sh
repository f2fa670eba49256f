#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# NSS's tools with p11mux.so added to a fresh database (modutil -add), the
# parts tests/integration/clients.sh does not cover: `certutil -L -h all`
# lists the certificates of every token, p11mux's included, and `certutil
# -R` makes certificate requests signed by keys on a p11mux token (RSA and
# EC), which OpenSSL verifies and which carry the token's public keys.
#
# p11mux's configuration holds SoftHSM2 only: inside an NSS program a
# p11mux backend on NSS softoken would be the program's own softoken (see
# tests/integration/harness.sh).
set -eu
# shellcheck source=system.sh
. "$(dirname "$0")/system.sh"
# shellcheck source=../integration/harness.sh
. "$top_srcdir/tests/integration/harness.sh"

require modutil certutil pkcs11-tool softhsm2-util openssl "$SOFTHSM_MODULE"
so=$(p11mux_so)
setup_softhsm nss-token
write_config "$TMP/p11mux.conf" softhsm
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF
printf '%s\n' "$PIN" >"$TMP/pin"

db=$TMP/db
mkdir "$db"
check "certutil makes a fresh database" certutil -N -d "sql:$db" --empty-password
check "modutil -add p11mux" modutil -add p11mux -libfile "$so" -dbdir "sql:$db" -force
check "modutil -list p11mux" modutil -list p11mux -dbdir "sql:$db"
expect_contains "$OUT" "Token Name: nss-token" "NSS sees nss-token through p11mux"

# keys made through p11mux, public halves exported for OpenSSL
# token_key TYPE ID LABEL
token_key() {
    check "generate $3 ($1) on nss-token" \
        pkcs11-tool --module "$so" --token-label nss-token --login --pin "$PIN" --keypairgen \
        --key-type "$1" --id "$2" --label "$3"
    check "export the public key of $3" \
        pkcs11-tool --module "$so" --token-label nss-token --read-object --type pubkey --id "$2" \
        -o "$TMP/$3.der"
    check "convert it" openssl pkey -pubin -inform DER -in "$TMP/$3.der" -out "$TMP/$3.pub"
}
token_key rsa:2048 01 nss-rsa
token_key EC:prime256v1 02 nss-ec

# ---------------------------------------------------------------- certutil -R
# request NAME ID: a certificate request signed by the token key with CKA_ID ID
request() {
    check "certutil -R with the token key $1" \
        certutil -R -d "sql:$db" -h nss-token -f "$TMP/pin" -k "$2" -s "CN=$1 request" -a \
        -o "$TMP/$1.csr" -z "$TMP/pin"
    check "OpenSSL verifies the request's signature" openssl req -verify -noout -in "$TMP/$1.csr"
    expect_contains "$ERR" "verify OK" "the request signed by $1 through p11mux verifies"
    check "OpenSSL reads the request's public key" \
        openssl req -noout -pubkey -in "$TMP/$1.csr" -out "$TMP/$1.csr.pub"
    expect_equal "$TMP/$1.pub" "$TMP/$1.csr.pub" "the request carries the public key of $1"
}
request nss-rsa 01
request nss-ec 02

# ---------------------------------------------------------------- certutil -L -h all
# a CA outside signs the RSA request; the certificate goes onto the token
check "OpenSSL makes a CA key" openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$TMP/ca.key"
check "and a CA certificate" openssl req -new -x509 -key "$TMP/ca.key" -subj "/CN=p11mux test CA" \
    -days 2 -out "$TMP/ca.pem"
check "the CA signs the request of nss-rsa" openssl x509 -req -in "$TMP/nss-rsa.csr" -CA "$TMP/ca.pem" \
    -CAkey "$TMP/ca.key" -set_serial 7 -days 1 -outform DER -out "$TMP/nss-rsa.crt.der"
check "write the certificate to nss-token through p11mux" \
    pkcs11-tool --module "$so" --token-label nss-token --login --pin "$PIN" \
    --write-object "$TMP/nss-rsa.crt.der" --type cert --id 01 --label nss-rsa-cert
check "certutil -L -h all" certutil -L -d "sql:$db" -h all -f "$TMP/pin"
expect_contains "$OUT" "nss-token:nss-rsa-cert" "certutil lists the certificate on p11mux's token"
check "certutil -L -n the certificate" certutil -L -d "sql:$db" -h nss-token -n "nss-token:nss-rsa-cert" \
    -r -f "$TMP/pin" -o "$TMP/nss-rsa.crt.read"
expect_equal "$TMP/nss-rsa.crt.der" "$TMP/nss-rsa.crt.read" "certutil reads back the certificate written"
check "certutil -K -h nss-token" certutil -K -d "sql:$db" -h nss-token -f "$TMP/pin"
expect_contains "$OUT" " nss-rsa" "certutil -K lists the RSA key"
expect_contains "$OUT" " nss-ec" "certutil -K lists the EC key"
