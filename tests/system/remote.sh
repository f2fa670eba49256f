#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# Remote use through p11-kit's RPC: a p11-kit module configuration
#     remote: |p11-kit remote /path/to/p11mux.so
# (over ssh: `remote: |ssh HOST p11-kit remote /usr/local/lib/pkcs11/p11mux.so`)
# makes p11-kit run p11mux in another process at the end of a pipe.  Here the
# pipe is local: the registration sits in a private registry (a private
# mount namespace), p11mux in the `p11-kit remote` process serves SoftHSM2
# and NSS softoken, and the clients are p11-kit-proxy.so (pkcs11-tool,
# pkcs11-probe) and `p11-kit list-modules`.
set -eu
# shellcheck source=system.sh
. "$(dirname "$0")/system.sh"
system_enter_namespace "$@"
# shellcheck source=../integration/harness.sh
. "$top_srcdir/tests/integration/harness.sh"

proxy=$(harness_first_file /usr/lib/x86_64-linux-gnu/p11-kit-proxy.so /usr/lib64/p11-kit-proxy.so \
    /usr/lib/p11-kit-proxy.so)
require p11-kit timeout pkcs11-tool softhsm2-util certutil openssl "$proxy" "$SOFTHSM_MODULE" \
    "$NSS_MODULE"
so=$(p11mux_installed_so)
[ -x "$PROBE" ] || die "$PROBE is not built (make check builds it)"
private_registry
private_sysconfdir
setup_softhsm remote-token
setup_nss
write_config "$TMP/p11mux.conf" softhsm nss
# read by the p11mux in the `p11-kit remote` process, which inherits it
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF

printf 'signed at the far end of a pipe\n' >"$TMP/data"
openssl dgst -sha256 -binary -out "$TMP/data.sha256" "$TMP/data"
check "make a key on remote-token (through p11mux, directly)" \
    pkcs11-tool --module "$so" --token-label remote-token --login --pin "$PIN" --keypairgen \
    --key-type EC:prime256v1 --id 01 --label remote-key
check "export its public key" \
    pkcs11-tool --module "$so" --token-label remote-token --read-object --type pubkey --id 01 \
    -o "$TMP/remote-key.der"
check "convert it" openssl pkey -pubin -inform DER -in "$TMP/remote-key.der" -out "$TMP/remote-key.pem"

register p11mux-remote "remote: |p11-kit remote $so"

check "p11-kit list-modules with p11mux behind 'remote: |p11-kit remote'" timeout 60 p11-kit list-modules
sed -n '/^p11mux-remote: /,/^[^ ]/p' "$OUT" >"$TMP/remote-module"
expect_contains "$TMP/remote-module" "library-description: p11mux PKCS #11 router" \
    "p11-kit reaches p11mux through the pipe"
expect_contains "$TMP/remote-module" "token: remote-token" "the SoftHSM2 token is there"
expect_contains "$TMP/remote-module" "token: NSS Certificate DB" "the NSS database token is there"

check "pkcs11-tool -L through p11-kit-proxy.so" timeout 60 pkcs11-tool --module "$proxy" -L
token_labels "$OUT" >"$TMP/labels"
expect_line "$TMP/labels" remote-token "pkcs11-tool sees remote-token"
expect_line "$TMP/labels" "NSS Certificate DB" "pkcs11-tool sees NSS Certificate DB"

check "pkcs11-tool signs with remote-key through the pipe" timeout 60 \
    pkcs11-tool --module "$proxy" --token-label remote-token --login --pin "$PIN" --sign --id 01 \
    -m ECDSA --signature-format openssl -i "$TMP/data.sha256" -o "$TMP/remote.sig"
check "OpenSSL verifies it" \
    openssl dgst -sha256 -verify "$TMP/remote-key.pem" -signature "$TMP/remote.sig" "$TMP/data"
expect_contains "$OUT" "Verified OK" "the signature made through the pipe is valid"

check "pkcs11-probe through p11-kit-proxy.so" timeout 60 "$PROBE" "$proxy" objects remote-token "$PIN"
expect_contains "$OUT" "CKO_PRIVATE_KEY remote-key" "the private key is found through the pipe"
if timeout 60 "$PROBE" "$proxy" objects remote-token 9999 >"$OUT" 2>"$ERR"; then
    fail "a wrong PIN was accepted through the pipe"
else
    expect_contains "$ERR" "CKR_PIN_INCORRECT" "a wrong PIN is CKR_PIN_INCORRECT through the pipe"
fi
