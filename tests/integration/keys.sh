#!/bin/sh
# Keys through p11mux.so with pkcs11-tool: RSA-2048 and EC P-256 key pairs
# generated on a SoftHSM2 token and on the NSS database token, each used to
# sign, the signature checked by pkcs11-tool through p11mux and by plain
# OpenSSL with the exported public key.  What is made through p11mux is seen by
# the backend directly and the reverse, and --token-label / --slot pick the
# right token.
set -eu
# shellcheck source-path=SCRIPTDIR source=harness.sh
. "$(dirname "$0")/harness.sh"

require pkcs11-tool softhsm2-util certutil openssl "$SOFTHSM_MODULE" "$NSS_MODULE"
so=$(p11mux_so)
setup_softhsm it-keys it-other
setup_nss
write_config "$TMP/p11mux.conf" softhsm nss
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF
nss_token="NSS Certificate DB"

printf 'p11mux integration test: data to sign\n' >"$TMP/data"
openssl dgst -sha256 -binary -out "$TMP/data.sha256" "$TMP/data"
cp "$TMP/data" "$TMP/data.changed"
printf 'one more line\n' >>"$TMP/data.changed"

# p11mux-tool TOKEN [LOGIN...] -- ARGS...: pkcs11-tool through p11mux on TOKEN
# (pkcs11-tool 0.23 selects a key for --sign/--verify/--read-object by --id
# only: it ignores --label and takes the first key, so every key gets an id.)
p11() {
    p11_token=$1
    shift
    pkcs11-tool --module "$so" --token-label "$p11_token" "$@"
}

# keypair TOKEN TAG KEY-TYPE ID [LOGIN...]: generate, sign, verify, export
keypair() {
    kp_token=$1 kp_tag=$2 kp_type=$3 kp_id=$4
    shift 4
    kp_label=it-$kp_tag
    kp_sig=$TMP/$kp_tag.sig
    case $kp_type in
    rsa:*)
        kp_data=$TMP/data
        kp_mech=SHA256-RSA-PKCS
        ;;
    *)
        # SoftHSM2 has no CKM_ECDSA_SHA256: sign the digest with CKM_ECDSA
        kp_data=$TMP/data.sha256
        kp_mech=ECDSA
        ;;
    esac
    check "$kp_token: generate $kp_type key pair '$kp_label'" \
        p11 "$kp_token" "$@" --keypairgen --key-type "$kp_type" --id "$kp_id" --label "$kp_label"
    check "$kp_token: sign with '$kp_label'" \
        p11 "$kp_token" "$@" --sign --id "$kp_id" -m "$kp_mech" --signature-format openssl \
        -i "$kp_data" -o "$kp_sig"
    if [ ! -s "$kp_sig" ]; then
        fail "$kp_token: no signature written by '$kp_label'"
        return 0
    fi
    # pkcs11-tool --verify exits 0 whatever the verdict: read what it says
    check "$kp_token: pkcs11-tool --verify with '$kp_label'" \
        p11 "$kp_token" "$@" --verify --id "$kp_id" -m "$kp_mech" --signature-format openssl \
        -i "$kp_data" --signature-file "$kp_sig"
    expect_contains "$OUT" "Signature is valid" "$kp_token: pkcs11-tool finds the '$kp_label' signature valid"
    check "$kp_token: export the public key of '$kp_label'" \
        p11 "$kp_token" --read-object --type pubkey --id "$kp_id" -o "$TMP/$kp_tag.der"
    check "$kp_token: OpenSSL reads the public key of '$kp_label'" \
        openssl pkey -pubin -inform DER -in "$TMP/$kp_tag.der" -out "$TMP/$kp_tag.pem"
    check "$kp_token: OpenSSL describes the public key of '$kp_label'" \
        openssl pkey -pubin -in "$TMP/$kp_tag.pem" -noout -text
    case $kp_type in
    rsa:2048) expect_contains "$OUT" "Public-Key: (2048 bit)" "$kp_token: '$kp_label' is RSA-2048" ;;
    EC:prime256v1) expect_contains "$OUT" "NIST CURVE: P-256" "$kp_token: '$kp_label' is on P-256" ;;
    esac
    check "$kp_token: OpenSSL verifies the '$kp_label' signature" \
        openssl dgst -sha256 -verify "$TMP/$kp_tag.pem" -signature "$kp_sig" "$TMP/data"
    expect_contains "$OUT" "Verified OK" "$kp_token: OpenSSL says Verified OK for '$kp_label'"
    check_fails "$kp_token: OpenSSL rejects the '$kp_label' signature for other data" \
        openssl dgst -sha256 -verify "$TMP/$kp_tag.pem" -signature "$kp_sig" "$TMP/data.changed"
    expect_contains "$OUT" "Verification failure" "$kp_token: OpenSSL says Verification failure for other data"
}

# ---------------------------------------------------------------- SoftHSM2
keypair it-keys softhsm-rsa rsa:2048 01 --login --pin "$PIN"
keypair it-keys softhsm-ec EC:prime256v1 02 --login --pin "$PIN"

# ---------------------------------------------------------------- NSS
# The empty-password database token needs (and takes) no login.
keypair "$nss_token" nss-rsa rsa:2048 11
keypair "$nss_token" nss-ec EC:prime256v1 12

# ---------------------------------------------------------------- seen directly
check "SoftHSM2 directly lists the objects of it-keys" \
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label it-keys --login --pin "$PIN" -O
object_labels "$OUT" >"$TMP/direct-labels"
for label in it-softhsm-rsa it-softhsm-ec; do
    if [ "$(grep -c -x -F "$label" "$TMP/direct-labels")" -eq 2 ]; then
        pass "SoftHSM2 directly shows both halves of '$label', made through p11mux"
    else
        fail "SoftHSM2 directly does not show a private and a public '$label':"
        sed 's/^/    /' "$TMP/direct-labels"
    fi
done

check "certutil lists the NSS database's keys" certutil -K -d "sql:$NSS_DB"
for label in it-nss-rsa it-nss-ec; do
    expect_contains "$OUT" " $label" "certutil directly shows the private key '$label', made through p11mux"
done

# ---------------------------------------------------------------- made directly
printf 'a data object written to SoftHSM2 directly\n' >"$TMP/direct-data"
check "write a data object to it-keys directly" \
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label it-keys --login --pin "$PIN" \
    --write-object "$TMP/direct-data" --type data --label it-direct-data --private
check "write a key pair to it-keys directly" \
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label it-keys --login --pin "$PIN" \
    --keypairgen --key-type EC:prime256v1 --id 03 --label it-direct-ec
check "list it-keys through p11mux" p11 it-keys --login --pin "$PIN" -O
object_labels "$OUT" >"$TMP/mux-labels"
expect_line "$TMP/mux-labels" it-direct-data "the data object made directly is seen through p11mux"
expect_line "$TMP/mux-labels" it-direct-ec "the key pair made directly is seen through p11mux"
check "read the data object through p11mux" \
    p11 it-keys --login --pin "$PIN" --read-object --type data --label it-direct-data -o "$TMP/read-data"
expect_equal "$TMP/direct-data" "$TMP/read-data" "the data object's value read through p11mux is what was written"
check "sign with the key made directly, through p11mux" \
    p11 it-keys --login --pin "$PIN" --sign --id 03 -m ECDSA --signature-format openssl \
    -i "$TMP/data.sha256" -o "$TMP/direct-ec.sig"
check "export the public key made directly" \
    p11 it-keys --read-object --type pubkey --id 03 -o "$TMP/direct-ec.der"
check "convert it" openssl pkey -pubin -inform DER -in "$TMP/direct-ec.der" -out "$TMP/direct-ec.pem"
check "OpenSSL verifies the signature of the key made directly" \
    openssl dgst -sha256 -verify "$TMP/direct-ec.pem" -signature "$TMP/direct-ec.sig" "$TMP/data"

head -c 64 /dev/urandom >"$TMP/noise"
check "certutil generates an EC key in the NSS database" \
    certutil -G -d "sql:$NSS_DB" -k ec -q nistp256 -z "$TMP/noise"
check "certutil lists the NSS database's keys" certutil -K -d "sql:$NSS_DB"
# "< 2> ec       8a16...0e   (orphan)": certutil names the key by its CKA_ID
certutil_id=$(sed -n 's/^<[ 0-9]*> ec  *\([0-9a-f]*\)  *(orphan)$/\1/p' "$OUT")
if [ "$(printf '%s\n' "$certutil_id" | wc -w)" -ne 1 ]; then
    fail "cannot find the one orphan EC key certutil made in:"
    sed 's/^/    /' "$OUT"
else
    check "list the NSS token through p11mux" p11 "$nss_token" -O --type privkey
    object_ids "$OUT" >"$TMP/nss-ids"
    expect_line "$TMP/nss-ids" "$certutil_id" "the key certutil made is seen through p11mux"
fi

# ---------------------------------------------------------------- slot selection
check "generate a key pair on it-other" \
    p11 it-other --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --id 21 --label it-other-ec
check "list it-other through p11mux" p11 it-other --login --pin "$PIN" -O
object_labels "$OUT" >"$TMP/other-labels"
expect_line "$TMP/other-labels" it-other-ec "--token-label it-other shows it-other's key"
expect_not_contains "$TMP/other-labels" it-softhsm "--token-label it-other does not show it-keys's keys"
check "list it-keys through p11mux" p11 it-keys --login --pin "$PIN" -O
object_labels "$OUT" >"$TMP/keys-labels"
expect_not_contains "$TMP/keys-labels" it-other-ec "--token-label it-keys does not show it-other's key"
check "SoftHSM2 directly lists it-other" \
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label it-other --login --pin "$PIN" -O
object_labels "$OUT" >"$TMP/other-direct"
expect_line "$TMP/other-direct" it-other-ec "the key made on it-other through p11mux is on it-other"

# --slot with p11mux's own id of it-other's slot
check "list slots through p11mux" pkcs11-tool --module "$so" -L
other_slot=$(awk '/^Slot [0-9]+ \(0x[0-9a-fA-F]+\)/ { id = $3 } /^  token label *: it-other$/ { print id }' "$OUT" |
    tr -d '():')
if [ -z "$other_slot" ]; then
    fail "no slot with the token it-other in pkcs11-tool -L"
else
    check "list objects with --slot $other_slot (it-other)" \
        pkcs11-tool --module "$so" --slot "$other_slot" --login --pin "$PIN" -O
    object_labels "$OUT" >"$TMP/slot-labels"
    expect_equal "$TMP/other-labels" "$TMP/slot-labels" "--slot $other_slot shows what --token-label it-other shows"
fi
