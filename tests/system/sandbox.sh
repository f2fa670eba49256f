#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# The sandbox path (conf/sandbox.conf): `p11-kit server --provider
# p11mux.so "pkcs11:"` on a temporary unix socket, started with the shipped
# sandbox policy over SoftHSM2 and NSS softoken, and clients inside the
# "sandbox" that have only p11-kit-client.so and P11_KIT_SERVER_ADDRESS:
# pkcs11-tool, GnuTLS's p11tool and pkcs11-probe (a small C client).
#
# Hidden tokens, objects and mechanisms are invisible (also to a client
# guessing object handles); refused operations get the policy's codes;
# signing with an allowed key works and verifies; and nothing the client
# passes (P11MUX_CONF, SOFTHSM2_CONF, XDG_CONFIG_HOME, config=PATH in
# C_Initialize's pReserved) changes the server's configuration.
set -eu
# shellcheck source=system.sh
. "$(dirname "$0")/system.sh"
# shellcheck source=../integration/harness.sh
. "$top_srcdir/tests/integration/harness.sh"

client=$(module_dir)/p11-kit-client.so
require p11-kit pkcs11-tool softhsm2-util certutil openssl "$client" "$SOFTHSM_MODULE" "$NSS_MODULE"
so=$(p11mux_so)
[ -x "$PROBE" ] || die "$PROBE is not built (make check builds it)"
nss_token="NSS Certificate DB"

# ---------------------------------------------------------------- the host's tokens
setup_softhsm sandbox host-secrets
setup_nss
setup_mocks evil
write_config "$TMP/admin.conf" softhsm nss
printf 'data signed in the sandbox\n' >"$TMP/data"
openssl dgst -sha256 -binary -out "$TMP/data.sha256" "$TMP/data"
printf 'not for the sandbox\n' >"$TMP/note"

# admin ARGS: pkcs11-tool through p11mux without policy (the host's administrator)
admin() {
    P11MUX_CONF=$TMP/admin.conf pkcs11-tool --module "$so" "$@"
}
# host_keypair TYPE ID LABEL: on token sandbox
host_keypair() {
    check "host: generate $3 on token sandbox" \
        admin --token-label sandbox --login --pin "$PIN" --keypairgen --key-type "$1" --id "$2" --label "$3"
}
host_keypair EC:prime256v1 01 app-key
host_keypair EC:prime256v1 02 backup-key
host_keypair rsa:1024 03 weak-rsa
host_keypair rsa:2048 04 app-rsa
check "host: a data object on token sandbox" \
    admin --token-label sandbox --login --pin "$PIN" --write-object "$TMP/note" --type data \
    --label secret-note --private
check "host: a key on token host-secrets" \
    admin --token-label host-secrets --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 \
    --id 09 --label host-key
check "host: generate nss-app-key in the NSS database" \
    admin --token-label "$nss_token" --keypairgen --key-type EC:prime256v1 --id 11 --label nss-app-key
# host_public TOKEN ID LABEL: the public key as $TMP/LABEL.pem
host_public() {
    check "host: export the public key of $3" \
        admin --token-label "$1" --read-object --type pubkey --id "$2" -o "$TMP/$3.der"
    check "host: convert it" openssl pkey -pubin -inform DER -in "$TMP/$3.der" -out "$TMP/$3.pem"
}
host_public sandbox 01 app-key
host_public sandbox 04 app-rsa
host_public "$nss_token" 11 nss-app-key

# ---------------------------------------------------------------- the server
sed -e "s|/usr/lib/softhsm/libsofthsm2.so|$SOFTHSM_MODULE|" \
    -e "s|/usr/lib/x86_64-linux-gnu/libsoftokn3.so|$NSS_MODULE|" \
    -e "s|sql:/var/lib/p11mux/sandbox-nssdb|sql:$NSS_DB|" \
    "$top_srcdir/conf/sandbox.conf" >"$TMP/sandbox.conf"
expect_contains "$TMP/sandbox.conf" "module = $SOFTHSM_MODULE" "the test's copy of sandbox.conf names SoftHSM2"
expect_contains "$TMP/sandbox.conf" "configdir='sql:$NSS_DB'" "the test's copy of sandbox.conf names the NSS database"
socket=$TMP/p11-kit-server.sock
P11MUX_CONF=$TMP/sandbox.conf p11-kit server -f -n "$socket" --provider "$so" "pkcs11:" \
    >"$TMP/server.out" 2>"$TMP/server.err" &
kill_on_exit $!
if ! wait_for_socket "$socket"; then
    sed 's/^/    /' "$TMP/server.out" "$TMP/server.err"
    die "p11-kit server did not make its socket"
fi
pass "p11-kit server --provider p11mux.so listens on $socket"

# ---------------------------------------------------------------- the sandbox
# Everything below runs with the client's environment only: a configuration
# of its own that would show every token and the evil mock, another
# SoftHSM2 configuration, a user file.
write_config "$TMP/evil.conf" softhsm evil
mkdir -p "$XDG_CONFIG_HOME/p11mux"
cp "$TMP/evil.conf" "$XDG_CONFIG_HOME/p11mux/p11mux.conf"
P11_KIT_SERVER_ADDRESS=unix:path=$socket
P11MUX_CONF=$TMP/evil.conf
SOFTHSM2_CONF=$TMP/no-such-softhsm2.conf
export P11_KIT_SERVER_ADDRESS P11MUX_CONF SOFTHSM2_CONF
printf '%s\n' "$nss_token" sandbox | LC_ALL=C sort >"$TMP/allowed-tokens"

# -------- pkcs11-tool
check "pkcs11-tool -L through p11-kit-client.so" pkcs11-tool --module "$client" -L
token_labels "$OUT" | LC_ALL=C sort >"$TMP/labels"
expect_equal "$TMP/allowed-tokens" "$TMP/labels" \
    "the sandbox sees tokens sandbox and NSS Certificate DB only (not host-secrets, NSS Generic Crypto Services, evil)"

check "pkcs11-tool -M on token sandbox" pkcs11-tool --module "$client" --token-label sandbox -M
expect_contains "$OUT" "ECDSA, keySize" "CKM_ECDSA is offered"
expect_contains "$OUT" "SHA256-RSA-PKCS, keySize" "CKM_SHA256_RSA_PKCS is offered"
for mech in "SHA1-RSA-PKCS," "MD5," "SHA-1," "DES3-CBC," "AES-CBC," "ECDSA-KEY-PAIR-GEN,"; do
    expect_not_contains "$OUT" "$mech" "mechanism ${mech%,} is hidden"
done
expect_contains "$OUT" "RSA-PKCS, keySize={2048," "RSA's minimum key size is raised to 2048"

check "pkcs11-tool -O --login on token sandbox" \
    pkcs11-tool --module "$client" --token-label sandbox --login --pin "$PIN" -O
object_labels "$OUT" | LC_ALL=C sort -u >"$TMP/labels"
printf '%s\n' app-key app-rsa weak-rsa | LC_ALL=C sort >"$TMP/expected"
expect_equal "$TMP/expected" "$TMP/labels" "the sandbox sees the keys, not backup-key nor the data object"

check "pkcs11-tool signs with app-key (ECDSA) in the sandbox" \
    pkcs11-tool --module "$client" --token-label sandbox --login --pin "$PIN" --sign --id 01 -m ECDSA \
    --signature-format openssl -i "$TMP/data.sha256" -o "$TMP/app-key.sig"
check "OpenSSL verifies the sandbox's ECDSA signature" \
    openssl dgst -sha256 -verify "$TMP/app-key.pem" -signature "$TMP/app-key.sig" "$TMP/data"
check "pkcs11-tool signs with app-rsa (SHA256-RSA-PKCS) in the sandbox" \
    pkcs11-tool --module "$client" --token-label sandbox --login --pin "$PIN" --sign --id 04 \
    -m SHA256-RSA-PKCS -i "$TMP/data" -o "$TMP/app-rsa.sig"
check "OpenSSL verifies the sandbox's RSA signature" \
    openssl dgst -sha256 -verify "$TMP/app-rsa.pem" -signature "$TMP/app-rsa.sig" "$TMP/data"
check "pkcs11-tool signs with nss-app-key in the sandbox" \
    pkcs11-tool --module "$client" --token-label "$nss_token" --sign --id 11 -m ECDSA \
    --signature-format openssl -i "$TMP/data.sha256" -o "$TMP/nss-app-key.sig"
check "OpenSSL verifies the NSS key's signature" \
    openssl dgst -sha256 -verify "$TMP/nss-app-key.pem" -signature "$TMP/nss-app-key.sig" "$TMP/data"

check_fails "pkcs11-tool cannot sign with SHA1-RSA-PKCS" \
    pkcs11-tool --module "$client" --token-label sandbox --login --pin "$PIN" --sign --id 04 \
    -m SHA1-RSA-PKCS -i "$TMP/data" -o "$TMP/refused.sig"
expect_contains "$ERR" "CKR_MECHANISM_INVALID" "SHA1-RSA-PKCS is CKR_MECHANISM_INVALID"
check_fails "pkcs11-tool cannot sign with the RSA-1024 key" \
    pkcs11-tool --module "$client" --token-label sandbox --login --pin "$PIN" --sign --id 03 \
    -m SHA256-RSA-PKCS -i "$TMP/data" -o "$TMP/refused.sig"
expect_contains "$ERR" "CKR_KEY_SIZE_RANGE" "the RSA-1024 key is CKR_KEY_SIZE_RANGE"
check_fails "pkcs11-tool cannot generate a key in the sandbox" \
    pkcs11-tool --module "$client" --token-label sandbox --login --pin "$PIN" --keypairgen \
    --key-type EC:prime256v1 --id 05 --label sandbox-made
expect_contains "$ERR" "CKR_TOKEN_WRITE_PROTECTED" "key generation (in a read-write session) is CKR_TOKEN_WRITE_PROTECTED"
check_fails "pkcs11-tool cannot write an object in the sandbox" \
    pkcs11-tool --module "$client" --token-label sandbox --login --pin "$PIN" \
    --write-object "$TMP/note" --type data --label sandbox-note
expect_contains "$ERR" "CKR_TOKEN_WRITE_PROTECTED" "writing is CKR_TOKEN_WRITE_PROTECTED"

# -------- the C client
probe() {
    run "$PROBE" "$client" "$@"
}
if probe tokens; then
    awk '{ $1 = ""; sub(/^ /, ""); print }' "$OUT" | LC_ALL=C sort >"$TMP/labels"
    expect_equal "$TMP/allowed-tokens" "$TMP/labels" "pkcs11-probe sees the same two tokens"
else
    fail "pkcs11-probe tokens"
    harness_show_output
fi
if run "$PROBE" --reserved "config=$TMP/evil.conf" "$client" tokens; then
    awk '{ $1 = ""; sub(/^ /, ""); print }' "$OUT" | LC_ALL=C sort >"$TMP/labels"
    expect_equal "$TMP/allowed-tokens" "$TMP/labels" \
        "config=PATH in the client's pReserved does not change the server's configuration"
else
    fail "pkcs11-probe --reserved config=... tokens"
    harness_show_output
fi

# probe_rv DESC RV ARGS: the probe's decisive call answers RV
probe_rv() {
    probe_desc=$1
    probe_expected=$2
    shift 2
    probe "$@" || true
    expect_line "$OUT" "rv: $probe_expected" "$probe_desc: $probe_expected"
}
probe_rv "C_GetMechanismInfo(CKM_SHA1_RSA_PKCS)" CKR_MECHANISM_INVALID \
    mechanism-info sandbox CKM_SHA1_RSA_PKCS
probe_rv "C_GetMechanismInfo(CKM_MD5)" CKR_MECHANISM_INVALID mechanism-info sandbox CKM_MD5
probe_rv "C_GetMechanismInfo(CKM_ECDSA)" CKR_OK mechanism-info sandbox CKM_ECDSA
probe_rv "C_SignInit with the RSA-1024 key" CKR_KEY_SIZE_RANGE \
    sign sandbox "$PIN" weak-rsa CKM_SHA256_RSA_PKCS "$TMP/data" "$TMP/weak.sig"
probe_rv "C_OpenSession(CKF_RW_SESSION) on a read-only token" CKR_TOKEN_WRITE_PROTECTED open-rw sandbox
probe_rv "C_GenerateKeyPair (a denied function)" CKR_FUNCTION_NOT_SUPPORTED keygen sandbox "$PIN" ec
probe_rv "C_Sign with app-key" CKR_OK sign sandbox "$PIN" app-key CKM_ECDSA "$TMP/data.sha256" \
    "$TMP/probe.sig"
check "SoftHSM2 directly verifies pkcs11-probe's signature" \
    env SOFTHSM2_CONF="$TMP/softhsm/softhsm2.conf" pkcs11-tool --module "$SOFTHSM_MODULE" \
    --token-label sandbox --verify --id 01 -m ECDSA -i "$TMP/data.sha256" --signature-file "$TMP/probe.sig"
expect_contains "$OUT" "Signature is valid" "the signature made in the sandbox is valid"

probe handles sandbox "$PIN" 256 || true
awk '{ print $3 }' "$OUT" | LC_ALL=C sort -u >"$TMP/labels"
expect_equal "$TMP/expected" "$TMP/labels" \
    "guessing object handles 1..256 finds the visible keys only, not backup-key nor the data object"

# -------- GnuTLS
if command -v p11tool >/dev/null 2>&1; then
    check "p11tool --provider p11-kit-client.so --list-tokens" p11tool --provider "$client" --list-tokens
    sed -n 's/^[[:space:]]*Label: //p' "$OUT" | LC_ALL=C sort >"$TMP/labels"
    expect_equal "$TMP/allowed-tokens" "$TMP/labels" "p11tool sees the same two tokens"
    GNUTLS_PIN=$PIN
    export GNUTLS_PIN
    check "p11tool lists the private keys of token sandbox" \
        p11tool --provider "$client" --login --list-privkeys "pkcs11:token=sandbox"
    expect_contains "$OUT" "Label: app-key" "p11tool sees app-key"
    expect_not_contains "$OUT" "backup-key" "p11tool does not see backup-key"
    check "p11tool --test-sign with app-key in the sandbox" \
        p11tool --provider "$client" --login --test-sign "pkcs11:token=sandbox;object=app-key"
    expect_contains "$ERR" "Verifying against public key in the token... ok" \
        "p11tool verifies the sandbox's signature"
    unset GNUTLS_PIN
else
    printf 'SKIP: p11tool is not installed: the GnuTLS client is not tested\n'
fi

# ---------------------------------------------------------------- the server's view
expect_not_contains "$TMP/server.err" "evil" "the server never loaded the client's configuration"
