#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# Java's SunPKCS11 provider through p11mux.so, over SoftHSM2 and NSS
# softoken: `keytool -list -storetype PKCS11` with a provider configuration
# naming p11mux.so lists each token's key entries, and a small Java program
# (SignWithToken.java, run as a single source file) signs with a token key;
# OpenSSL verifies the signatures.
#
# When Java is missing and this runs as root on a system with apt-get, the
# setup installs default-jdk-headless (set P11MUX_TEST_NO_INSTALL=1 to skip
# instead).
set -eu
# shellcheck source=system.sh
. "$(dirname "$0")/system.sh"
# shellcheck source=../integration/harness.sh
. "$top_srcdir/tests/integration/harness.sh"

if ! command -v java >/dev/null 2>&1 || ! command -v keytool >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 &&
        [ "${P11MUX_TEST_NO_INSTALL:-0}" != 1 ]; then
        printf 'java.sh: installing default-jdk-headless\n'
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends \
            default-jdk-headless >"$TMP/apt.log" 2>&1 || sed 's/^/    /' "$TMP/apt.log"
    fi
fi
require java keytool pkcs11-tool softhsm2-util certutil pk12util openssl "$SOFTHSM_MODULE" "$NSS_MODULE"
so=$(p11mux_so)
setup_softhsm java-token
setup_nss
write_config "$TMP/p11mux.conf" softhsm nss
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF
nss_token="NSS Certificate DB"

# ---------------------------------------------------------------- keys and certificates
# made outside, imported: an EC key on SoftHSM2, an RSA key in the NSS database
check "OpenSSL makes an EC key" \
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/java-ec.key"
check "OpenSSL makes an RSA key" \
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/java-rsa.key"
for name in java-ec java-rsa; do
    check "a self-signed certificate for $name" openssl req -new -x509 -key "$TMP/$name.key" \
        -subj "/CN=$name" -days 2 -out "$TMP/$name.pem"
    check "its public key" openssl x509 -in "$TMP/$name.pem" -pubkey -noout -out "$TMP/$name.pub"
done
check "SoftHSM2 imports java-ec" softhsm2-util --import "$TMP/java-ec.key" --token java-token \
    --label java-ec --id 01 --pin "$PIN"
check "its certificate as DER" openssl x509 -in "$TMP/java-ec.pem" -outform DER -out "$TMP/java-ec.der"
check "write java-ec's certificate to java-token through p11mux" \
    pkcs11-tool --module "$so" --token-label java-token --login --pin "$PIN" \
    --write-object "$TMP/java-ec.der" --type cert --id 01 --label java-ec
check "a PKCS #12 file of java-rsa" openssl pkcs12 -export -inkey "$TMP/java-rsa.key" \
    -in "$TMP/java-rsa.pem" -name java-rsa -passout pass:p12 -out "$TMP/java-rsa.p12"
check "pk12util imports java-rsa into the NSS database" \
    pk12util -i "$TMP/java-rsa.p12" -d "sql:$NSS_DB" -W p12 -K ""

# ---------------------------------------------------------------- provider configurations
check "pkcs11-tool -L through p11mux" pkcs11-tool --module "$so" -L
softhsm_slot=$(slot_of_token "$OUT" java-token)
nss_slot=$(slot_of_token "$OUT" "$nss_token")
if [ -z "$softhsm_slot" ] || [ -z "$nss_slot" ]; then
    die "no slot for java-token or $nss_token"
fi
printf 'name = p11mux-softhsm\nlibrary = %s\nslot = %d\n' "$so" "$softhsm_slot" >"$TMP/softhsm.cfg"
printf 'name = p11mux-nss\nlibrary = %s\nslot = %d\n' "$so" "$nss_slot" >"$TMP/nss.cfg"

# keytool_list CFG PIN ALIAS DESC
keytool_list() {
    check "keytool -list -storetype PKCS11 ($4)" keytool -list -storetype PKCS11 \
        -providerClass sun.security.pkcs11.SunPKCS11 -providerArg "$1" -storepass "$2"
    expect_contains "$OUT" "Keystore provider: SunPKCS11-$(sed -n 's/^name = //p' "$1")" \
        "$4: keytool uses the p11mux provider"
    expect_contains "$OUT" "$3, PrivateKeyEntry," "$4: keytool lists $3 as a private key entry"
}
keytool_list "$TMP/softhsm.cfg" "$PIN" java-ec "SoftHSM2 token through p11mux"
# the empty-password database token needs no login; keytool wants some password
keytool_list "$TMP/nss.cfg" unused java-rsa "NSS database token through p11mux"

check_fails "keytool -list with a wrong PIN fails" keytool -list -v -storetype PKCS11 \
    -providerClass sun.security.pkcs11.SunPKCS11 -providerArg "$TMP/softhsm.cfg" -storepass 9999
cat "$ERR" >>"$OUT"
expect_contains "$OUT" "PKCS11Exception: CKR_PIN_INCORRECT" "the token's CKR_PIN_INCORRECT reaches Java"

# ---------------------------------------------------------------- signatures
printf 'signed by Java through p11mux\n' >"$TMP/data"
# java_sign CFG PIN ALIAS ALGORITHM DESC
java_sign() {
    check "Java signs with $3 ($5)" java "$top_srcdir/tests/system/SignWithToken.java" \
        "$1" "$2" "$3" "$4" "$TMP/data" "$TMP/$3.sig"
    expect_contains "$OUT" "provider: SunPKCS11-" "$5: the signature is made by the token provider"
    expect_line "$OUT" "verified: true" "$5: Java verifies it with the certificate's key"
    check "OpenSSL verifies the $3 signature" \
        openssl dgst -sha256 -verify "$TMP/$3.pub" -signature "$TMP/$3.sig" "$TMP/data"
    expect_contains "$OUT" "Verified OK" "$5: OpenSSL says Verified OK"
}
java_sign "$TMP/softhsm.cfg" "$PIN" java-ec SHA256withECDSA "SoftHSM2 EC key"
java_sign "$TMP/nss.cfg" unused java-rsa SHA256withRSA "NSS RSA key"
