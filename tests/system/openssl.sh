#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# OpenSSL's pkcs11 engine (libp11) through p11mux.so over SoftHSM2 and NSS
# softoken, beyond the file signatures of tests/integration/clients.sh: a
# file signed with an NSS key; self-signed certificates made with token keys
# (`openssl req -x509 -engine pkcs11`); and TLS servers on 127.0.0.1
# (`openssl s_server -engine pkcs11`) whose handshake signatures the token
# makes, reached by `openssl s_client`: TLS 1.3 with an RSA key (RSA-PSS),
# TLS 1.2 with it (PKCS #1 v1.5), TLS 1.3 with an EC key, and with an NSS key.
set -eu
# shellcheck source=system.sh
. "$(dirname "$0")/system.sh"
# shellcheck source=../integration/harness.sh
. "$top_srcdir/tests/integration/harness.sh"

engines=$(openssl version -e 2>/dev/null | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p') || true
require openssl pkcs11-tool softhsm2-util certutil timeout "${engines:-/nonexistent}/pkcs11.so" \
    "$SOFTHSM_MODULE" "$NSS_MODULE"
so=$(p11mux_so)
setup_softhsm tls-token
setup_nss
write_config "$TMP/p11mux.conf" softhsm nss
P11MUX_CONF=$TMP/p11mux.conf
printf '# empty: no system configuration\n' >"$TMP/openssl.cnf"
# the engine loads the module named by PKCS11_MODULE_PATH
OPENSSL_CONF=$TMP/openssl.cnf
PKCS11_MODULE_PATH=$so
export P11MUX_CONF OPENSSL_CONF PKCS11_MODULE_PATH

# keys TOKEN TYPE ID LABEL [LOGIN...]
key() {
    key_token=$1 key_type=$2 key_id=$3 key_label=$4
    shift 4
    check "generate $key_label ($key_type) on $key_token" \
        pkcs11-tool --module "$so" --token-label "$key_token" "$@" --keypairgen --key-type "$key_type" \
        --id "$key_id" --label "$key_label"
    check "export the public key of $key_label" \
        pkcs11-tool --module "$so" --token-label "$key_token" --read-object --type pubkey --id "$key_id" \
        -o "$TMP/$key_label.der"
    check "convert it" openssl pkey -pubin -inform DER -in "$TMP/$key_label.der" -out "$TMP/$key_label.pub"
}
key tls-token rsa:2048 01 tls-rsa --login --pin "$PIN"
key tls-token EC:prime256v1 02 tls-ec --login --pin "$PIN"
key "NSS Certificate DB" EC:prime256v1 11 tls-nss

uri() {
    case $1 in
    tls-nss) printf 'pkcs11:token=NSS%%20Certificate%%20DB;object=%s;type=private' "$1" ;;
    *) printf 'pkcs11:token=tls-token;object=%s;type=private?pin-value=%s' "$1" "$PIN" ;;
    esac
}

# ---------------------------------------------------------------- a file
printf 'signed by OpenSSL with an NSS key through p11mux\n' >"$TMP/data"
check "openssl dgst -engine pkcs11 signs with the NSS key" \
    openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "$(uri tls-nss)" -out "$TMP/nss.sig" \
    "$TMP/data"
check "plain OpenSSL verifies it" \
    openssl dgst -sha256 -verify "$TMP/tls-nss.pub" -signature "$TMP/nss.sig" "$TMP/data"
expect_contains "$OUT" "Verified OK" "the NSS key's signature verifies"

# ---------------------------------------------------------------- certificates
for label in tls-rsa tls-ec tls-nss; do
    check "openssl req -x509 -engine pkcs11 with $label" \
        openssl req -new -x509 -engine pkcs11 -keyform engine -key "$(uri "$label")" \
        -subj "/CN=localhost" -days 1 -out "$TMP/$label.crt"
    check "OpenSSL verifies the certificate made with $label" \
        openssl verify -CAfile "$TMP/$label.crt" "$TMP/$label.crt"
    check "its public key" openssl x509 -in "$TMP/$label.crt" -noout -pubkey -out "$TMP/$label.crt.pub"
    expect_equal "$TMP/$label.pub" "$TMP/$label.crt.pub" "the certificate holds the token key $label"
done

# ---------------------------------------------------------------- TLS
# tls LABEL DESC [S_CLIENT-OPTIONS...]: a one-connection s_server on
# 127.0.0.1 with the token key LABEL, and s_client fetching its status page
tls() {
    tls_label=$1 tls_desc=$2
    shift 2
    tls_out=$TMP/s_server.$tls_label.$$.out
    : >"$tls_out"
    timeout 60 openssl s_server -engine pkcs11 -keyform engine -key "$(uri "$tls_label")" \
        -cert "$TMP/$tls_label.crt" -accept 127.0.0.1:0 -naccept 1 -www </dev/null >"$tls_out" 2>&1 &
    tls_pid=$!
    kill_on_exit "$tls_pid"
    tls_tries=0
    while ! grep -q '^ACCEPT ' "$tls_out"; do
        tls_tries=$((tls_tries + 1))
        if [ "$tls_tries" -gt 100 ] || ! kill -0 "$tls_pid" 2>/dev/null; then
            fail "$tls_desc: s_server did not start:"
            sed 's/^/    /' "$tls_out"
            return 0
        fi
        sleep 0.1
    done
    tls_port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tls_out")
    printf 'GET / HTTP/1.0\r\n\r\n' >"$TMP/request"
    check "$tls_desc: s_client reaches the server" timeout 60 openssl s_client \
        -connect "127.0.0.1:$tls_port" -servername localhost -CAfile "$TMP/$tls_label.crt" \
        -verify_return_error -ign_eof "$@" <"$TMP/request"
    expect_contains "$OUT" "Verify return code: 0 (ok)" "$tls_desc: the server's certificate verifies"
    expect_contains "$OUT" "HTTP/1.0 200 ok" "$tls_desc: the server answers"
    cp "$OUT" "$TMP/s_client.$tls_label.out"
    wait "$tls_pid" || true
}

tls tls-rsa "TLS 1.3, SoftHSM2 RSA key" -tls1_3
expect_contains "$OUT" "Peer signature type: RSA-PSS" "the RSA key signs RSA-PSS through p11mux"
tls tls-rsa "TLS 1.2, SoftHSM2 RSA key, PKCS #1 v1.5" -tls1_2 -sigalgs RSA+SHA256
expect_line "$OUT" "Peer signature type: RSA" "the RSA key signs PKCS #1 v1.5 through p11mux"
tls tls-ec "TLS 1.3, SoftHSM2 EC key" -tls1_3
expect_contains "$OUT" "Peer signature type: ECDSA" "the EC key signs ECDSA through p11mux"
tls tls-nss "TLS 1.3, NSS EC key" -tls1_3
expect_contains "$OUT" "Peer signature type: ECDSA" "the NSS key signs ECDSA through p11mux"
