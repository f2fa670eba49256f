#!/bin/sh
# A restrictive policy over SoftHSM2 and NSS softoken, seen by pkcs11-tool
# and p11tool through p11mux.so: only the allowed tokens, objects and
# mechanisms show, and each refused action gives the code of p11mux.conf(5)'s
# table ("What the application sees when policy says no").  Then the same
# token under a read-only policy.
set -eu
# shellcheck source-path=SCRIPTDIR source=harness.sh
. "$(dirname "$0")/harness.sh"

require pkcs11-tool p11tool softhsm2-util certutil "$SOFTHSM_MODULE" "$NSS_MODULE"
so=$(p11mux_so)
setup_softhsm pol-open pol-hidden
setup_nss
nss_token="NSS Certificate DB"

# policy_config FILE POLICY-LINES...: both backends under [policy p]
policy_config() {
    pc_file=$1
    shift
    {
        printf '[global]\nuser-config = none\npolicy = p\n\n'
        printf '[backend softhsm]\nmodule = %s\n\n' "$SOFTHSM_MODULE"
        printf '[backend nss]\nmodule = %s\ninit-reserved = %s\n\n' "$NSS_MODULE" "$NSS_INIT_RESERVED"
        printf '[policy p]\n'
        printf '%s\n' "$@"
    } >"$pc_file"
}

policy_config "$TMP/guarded.conf" \
    "deny-tokens = pkcs11:token=pol-hidden" \
    "deny-mechanisms = CKM_MD5 CKM_SHA_1 CKM_SHA1_RSA_PKCS" \
    "min-key-bits = rsa:2048 ec:256 aes:128" \
    "deny-objects = pkcs11:object=backup-key" \
    "force-sensitive = true"
policy_config "$TMP/read-only.conf" "read-only = true"
P11MUX_CONF=$TMP/guarded.conf
export P11MUX_CONF GNUTLS_PIN=$PIN

mux() {
    pkcs11-tool --module "$so" "$@"
}
direct() {
    pkcs11-tool --module "$SOFTHSM_MODULE" "$@"
}
printf 'data\n' >"$TMP/data"

# ---------------------------------------------------------------- objects made directly
check "a key pair labelled backup-key, made directly" \
    direct --token-label pol-open --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 \
    --label backup-key --id 05
check "a key pair on the hidden token, made directly" \
    direct --token-label pol-hidden --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 \
    --label hidden-token-key --id 06
check "an RSA-1024 key pair, made directly" \
    direct --token-label pol-open --login --pin "$PIN" --keypairgen --key-type rsa:1024 \
    --label weak-rsa --id 07

# ---------------------------------------------------------------- tokens
check "pkcs11-tool lists the slots" mux -L
token_labels "$OUT" >"$TMP/labels"
expect_line "$TMP/labels" pol-open "pkcs11-tool sees the allowed SoftHSM2 token"
expect_line "$TMP/labels" "$nss_token" "pkcs11-tool sees the NSS token"
expect_not_contains "$TMP/labels" pol-hidden "pkcs11-tool does not see the denied token"
check "p11tool lists the tokens" p11tool --provider "$so" --list-tokens
expect_contains "$OUT" "token=pol-open" "p11tool sees the allowed SoftHSM2 token"
expect_not_contains "$OUT" "pol-hidden" "p11tool does not see the denied token"
check_fails "pkcs11-tool cannot pick the denied token by label" \
    mux --token-label pol-hidden --login --pin "$PIN" -O

# ---------------------------------------------------------------- mechanisms
check "pkcs11-tool lists the mechanisms" mux --token-label pol-open -M
expect_not_contains "$OUT" "SHA-1," "no SHA-1 in the mechanism list"
expect_not_contains "$OUT" "MD5," "no MD5 in the mechanism list"
expect_not_contains "$OUT" "SHA1-RSA-PKCS," "no SHA1-RSA-PKCS in the mechanism list"
expect_contains "$OUT" "RSA-PKCS-KEY-PAIR-GEN, keySize={2048," "ulMinKeySize raised to 2048 bits"
check "p11tool lists the mechanisms" p11tool --provider "$so" --login --list-mechanisms \
    "pkcs11:token=pol-open"
expect_not_contains "$OUT" "CKM_SHA_1 " "p11tool sees no CKM_SHA_1"
check_fails "pkcs11-tool --hash with SHA-1" mux --token-label pol-open --hash -m SHA-1 \
    -i "$TMP/data" -o "$TMP/hash"
expect_contains "$ERR" "C_DigestInit failed: rv = CKR_MECHANISM_INVALID" \
    "a denied digest: CKR_MECHANISM_INVALID"
check "pkcs11-tool --hash with SHA256" mux --token-label pol-open --hash -m SHA256 \
    -i "$TMP/data" -o "$TMP/hash"
check "the same digest directly" direct --token-label pol-open --hash -m SHA256 \
    -i "$TMP/data" -o "$TMP/hash.direct"
expect_equal "$TMP/hash" "$TMP/hash.direct" "an allowed digest is the backend's"

# ---------------------------------------------------------------- key sizes
check_fails "pkcs11-tool generates RSA-1024" mux --token-label pol-open --login --pin "$PIN" \
    --keypairgen --key-type rsa:1024 --label made-weak
expect_contains "$ERR" "CKR_KEY_SIZE_RANGE" "a weak key pair: CKR_KEY_SIZE_RANGE"
check_fails "p11tool generates RSA-1024" p11tool --provider "$so" --login \
    --generate-privkey rsa --bits 1024 --label p11tool-weak "pkcs11:token=pol-open"
check_fails "pkcs11-tool signs with the RSA-1024 key made directly" \
    mux --token-label pol-open --login --pin "$PIN" --sign --id 07 -m SHA256-RSA-PKCS \
    -i "$TMP/data" -o "$TMP/sig"
expect_contains "$ERR" "C_SignInit failed: rv = CKR_KEY_SIZE_RANGE" \
    "signing with a weak key: CKR_KEY_SIZE_RANGE"
check "pkcs11-tool generates RSA-2048" mux --token-label pol-open --login --pin "$PIN" \
    --keypairgen --key-type rsa:2048 --label made-strong --id 08
check "pkcs11-tool signs with it" mux --token-label pol-open --login --pin "$PIN" \
    --sign --id 08 -m SHA256-RSA-PKCS -i "$TMP/data" -o "$TMP/sig"
check "p11tool generates an EC P-256 key" p11tool --provider "$so" --login \
    --generate-privkey ecdsa --curve secp256r1 --label p11tool-ec "pkcs11:token=pol-open"

# ---------------------------------------------------------------- objects
check "pkcs11-tool lists the objects" mux --token-label pol-open --login --pin "$PIN" -O
object_labels "$OUT" >"$TMP/objects"
expect_line "$TMP/objects" made-strong "pkcs11-tool sees the key made through p11mux"
expect_line "$TMP/objects" weak-rsa "pkcs11-tool sees the weak key (visible, not usable)"
expect_not_contains "$TMP/objects" backup-key "pkcs11-tool does not see the hidden key"
check "p11tool lists the objects" p11tool --provider "$so" --login --list-all \
    "pkcs11:token=pol-open"
expect_contains "$OUT" "object=p11tool-ec" "p11tool sees the key it made"
expect_not_contains "$OUT" "backup-key" "p11tool does not see the hidden key"
check_fails "pkcs11-tool reads the hidden public key by id" \
    mux --token-label pol-open --read-object --type pubkey --id 05 -o "$TMP/hidden.der"
check "SoftHSM2 directly still has the hidden key" \
    direct --token-label pol-open --login --pin "$PIN" -O
object_labels "$OUT" >"$TMP/direct-objects"
expect_line "$TMP/direct-objects" backup-key "the hidden key exists on the token"

# ---------------------------------------------------------------- force-sensitive
check_fails "pkcs11-tool generates an extractable AES key" \
    mux --token-label pol-open --login --pin "$PIN" --keygen --key-type AES:32 \
    --label exportable --extractable
expect_contains "$ERR" "CKR_TEMPLATE_INCONSISTENT" \
    "a key asking to be extractable: CKR_TEMPLATE_INCONSISTENT"
check "pkcs11-tool generates a sensitive AES key" \
    mux --token-label pol-open --login --pin "$PIN" --keygen --key-type AES:32 \
    --label protected --sensitive
expect_contains "$OUT" "never extractable" "the generated key is never extractable"
check "NSS: pkcs11-tool generates a key pair" \
    mux --token-label "$nss_token" --keypairgen --key-type EC:prime256v1 --label nss-ec --id 11
expect_contains "$OUT" "never extractable" "the NSS private key is never extractable"

# ---------------------------------------------------------------- read-only
P11MUX_CONF=$TMP/read-only.conf
check "pkcs11-tool lists the slots (read-only)" mux -L
expect_contains "$OUT" "readonly" "the token shows CKF_WRITE_PROTECTED"
check_fails "pkcs11-tool generates a key pair on a read-only token" \
    mux --token-label pol-open --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 \
    --label ro-key
expect_contains "$ERR" "C_OpenSession failed: rv = CKR_TOKEN_WRITE_PROTECTED" \
    "a R/W session: CKR_TOKEN_WRITE_PROTECTED"
check_fails "pkcs11-tool deletes a key on a read-only token" \
    mux --token-label pol-open --login --pin "$PIN" --delete-object --type privkey --id 08
check_fails "p11tool deletes a key on a read-only token" p11tool --provider "$so" --login \
    --batch --delete "pkcs11:token=pol-open;object=made-strong"
check_fails "p11tool generates a key on a read-only token" p11tool --provider "$so" --login \
    --generate-privkey ecdsa --label ro-p11tool "pkcs11:token=pol-open"
check "pkcs11-tool reads and signs on a read-only token" \
    mux --token-label pol-open --login --pin "$PIN" --sign --id 08 -m SHA256-RSA-PKCS \
    -i "$TMP/data" -o "$TMP/sig"
check "the objects are all still there" direct --token-label pol-open --login --pin "$PIN" -O
object_labels "$OUT" >"$TMP/after"
expect_line "$TMP/after" made-strong "the key p11tool and pkcs11-tool tried to delete is there"
expect_not_contains "$TMP/after" ro-key "no key was made on the read-only token"
