#!/bin/sh
# The HA group test fixture (replicas.sh, tests/group/README.md) proved with
# the tools alone: the replicas hold the same keys and sign alike, the
# divergent and ambiguous tokens are what they say, p11fault.so fails the
# calls its rules select on one replica, and a served member answers, dies
# with its process group and comes back on the same socket.
set -eu
# shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source-path=SCRIPTDIR source=replicas.sh
. "$(dirname "$0")/replicas.sh"
require pkcs11-tool softhsm2-util openssl setsid p11-kit "$SOFTHSM_MODULE" "$P11KIT_CLIENT_MODULE"

setup_replicas replica-a replica-b
setup_divergent replica-c
setup_ambiguous replica-d
printf 'data signed by every replica' >"$TMP/data"
# SoftHSM2 2.6 has no ECDSA with a hash: sign the digest
openssl dgst -sha256 -binary -out "$TMP/digest" "$TMP/data"

tool() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$@"
}

# ------------------------------------------------------------------ replicas

for label in replica-a replica-b replica-c; do
    check "$label: RSA public key (01) read" tool "$label" --read-object --type pubkey --id 01 \
        --output-file "$TMP/$label-rsa.der"
    check "$label: EC public key (03) read" tool "$label" --read-object --type pubkey --id 03 \
        --output-file "$TMP/$label-ec.der"
    check "$label: certificate (01) read" tool "$label" --read-object --type cert --id 01 \
        --output-file "$TMP/$label-cert.der"
    check "$label: AES check value (02)" tool "$label" --login --pin "$PIN" --encrypt --id 02 \
        -m AES-ECB --input-file "$REPLICAS_DIR/zero-block" --output-file "$TMP/$label-kcv"
done
expect_equal "$TMP/replica-a-rsa.der" "$REPLICAS_DIR/rsa-pub.der" "replica-a holds the imported RSA key"
expect_equal "$TMP/replica-a-rsa.der" "$TMP/replica-b-rsa.der" "replicas: same CKA_MODULUS (01)"
expect_equal "$TMP/replica-a-ec.der" "$REPLICAS_DIR/ec-pub.der" "replica-a holds the imported EC key"
expect_equal "$TMP/replica-a-ec.der" "$TMP/replica-b-ec.der" "replicas: same CKA_EC_POINT (03)"
expect_equal "$TMP/replica-a-cert.der" "$REPLICAS_DIR/cert.der" "replica-a holds the certificate"
expect_equal "$TMP/replica-a-cert.der" "$TMP/replica-b-cert.der" "replicas: same certificate (01)"
expect_equal "$TMP/replica-a-kcv" "$REPLICAS_DIR/aes-kcv" "replica-a's AES key has the material's check value"
expect_equal "$TMP/replica-a-kcv" "$TMP/replica-b-kcv" "replicas: same AES key (02)"
check_fails "the AES key is sensitive" tool replica-a --login --pin "$PIN" \
    --read-object --type secrkey --id 02 --output-file "$TMP/aes-value"

for label in replica-a replica-b; do
    check "$label signs (SHA256-RSA-PKCS)" tool "$label" --login --pin "$PIN" --sign --id 01 \
        -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/$label-rsa.sig"
    check "$label signs (ECDSA)" tool "$label" --login --pin "$PIN" --sign --id 03 \
        -m ECDSA --input-file "$TMP/digest" --output-file "$TMP/$label-ec.sig"
done
expect_equal "$TMP/replica-a-rsa.sig" "$TMP/replica-b-rsa.sig" \
    "RSA PKCS #1 v1.5 signatures byte-identical across replicas"
check "replica-b verifies replica-a's ECDSA signature" tool replica-b --verify --id 03 \
    -m ECDSA --input-file "$TMP/digest" --signature-file "$TMP/replica-a-ec.sig"
expect_contains "$OUT" "Signature is valid"
check "openssl verifies replica-b's RSA signature" openssl dgst -sha256 \
    -verify "$REPLICAS_DIR/rsa-pub.der" -keyform DER \
    -signature "$TMP/replica-b-rsa.sig" "$TMP/data"

# ------------------------------------------------------------------ divergence, ambiguity

if cmp -s "$TMP/replica-a-rsa.der" "$TMP/replica-c-rsa.der"; then
    fail "replica-c (divergent): its RSA key (01) is replica-a's"
else
    pass "replica-c (divergent): another CKA_MODULUS under id 01"
fi
expect_equal "$TMP/replica-a-ec.der" "$TMP/replica-c-ec.der" "replica-c: same EC key (03)"
expect_equal "$TMP/replica-a-kcv" "$TMP/replica-c-kcv" "replica-c: same AES key (02)"

check "replica-d lists its private keys" tool replica-d --login --pin "$PIN" -O --type privkey
object_ids "$OUT" >"$TMP/replica-d-ids"
if [ "$(grep -c -x 01 "$TMP/replica-d-ids")" -eq 2 ]; then
    pass "replica-d (ambiguous): two private keys with id 01"
else
    fail "replica-d (ambiguous): not two private keys with id 01:"
    sed 's/^/    /' "$OUT"
fi

# ------------------------------------------------------------------ p11fault.so

fault_so=$(p11fault_so)
P11FAULT_MODULE=$SOFTHSM_MODULE
export P11FAULT_MODULE
ftool() {
    pkcs11-tool --module "$fault_so" --token-label "$@"
}

fault_module_conf fault >"$TMP/fault.conf"
expect_line "$TMP/fault.conf" "[backend fault]"
expect_line "$TMP/fault.conf" "init-reserved = $SOFTHSM_MODULE"

fault_rules 'token=replica-a fn=C_Sign rv=CKR_DEVICE_ERROR count=1'
check_fails "the rule fails a sign on replica-a" ftool replica-a --login --pin "$PIN" \
    --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/fault.sig"
# pkcs11-tool 0.23 tries again in parts after a failed C_Sign: that
# C_SignInit finds SoftHSM2's operation still active, since the injected
# failure did not reach it (tests/fault/README.md)
expect_contains "$ERR" "CKR_OPERATION_ACTIVE"
if [ "$(fault_count replica-a C_Sign)" = 1 ] && [ "$(fault_count replica-a C_SignInit)" = 2 ]; then
    pass "counted: one C_Sign and two C_SignInit on replica-a"
else
    fail "counts after the failed sign:"
    sed 's/^/    /' "$P11FAULT_COUNTS"
fi
check "the rule leaves replica-b alone" ftool replica-b --login --pin "$PIN" \
    --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/fault-b.sig"
expect_equal "$TMP/fault-b.sig" "$TMP/replica-a-rsa.sig" "the signature through p11fault is the replicas'"
if [ "$(fault_count replica-b C_Sign)" = 1 ] && [ "$(fault_count replica-a C_Sign)" = 0 ]; then
    pass "the counts file is the last process's: replica-b C_Sign 1, replica-a none"
else
    fail "counts after replica-b's sign:"
    sed 's/^/    /' "$P11FAULT_COUNTS"
fi
# count=1 is per process: a new one fires the rule again
check_fails "a new process fails again (count=1 counts in one process)" ftool replica-a \
    --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS \
    --input-file "$TMP/data" --output-file "$TMP/fault.sig"
fault_rules 'token=replica-a fn=C_Sign rv=CKR_DEVICE_ERROR after=1 count=1'
check "after=1: the first C_Sign passes" ftool replica-a --login --pin "$PIN" \
    --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/fault-a.sig"
expect_equal "$TMP/fault-a.sig" "$TMP/replica-a-rsa.sig" "replica-a's signature through p11fault"
fault_rules
check "no rules: replica-a signs" ftool replica-a --login --pin "$PIN" \
    --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/fault-a.sig"
expect_line "$P11FAULT_COUNTS" "replica-a C_Sign 1"
unset P11FAULT_MODULE

# ------------------------------------------------------------------ served members

served_member srv-a served-a
P11_KIT_SERVER_ADDRESS=$(served_address srv-a)
export P11_KIT_SERVER_ADDRESS
ctool() {
    pkcs11-tool --module "$P11KIT_CLIENT_MODULE" "$@"
}
if [ -S "$TMP/srv-a.sock" ]; then
    pass "srv-a listens on its socket"
else
    fail "srv-a: no $TMP/srv-a.sock"
fi
check "the client lists srv-a's token" ctool -L
token_labels "$OUT" >"$TMP/served-labels"
expect_line "$TMP/served-labels" served-a "the client sees served-a only"
expect_not_contains "$TMP/served-labels" replica-a "the harness's tokens are not served"
check "served-a signs" ctool --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS \
    --input-file "$TMP/data" --output-file "$TMP/served.sig"
expect_equal "$TMP/served.sig" "$TMP/replica-a-rsa.sig" "served-a holds the replicas' RSA key"
if [ "$(fault_count served-a C_Sign "$TMP/srv-a.counts")" = 1 ]; then
    pass "srv-a's counts file: served-a C_Sign 1"
else
    fail "srv-a's counts file:"
    sed 's/^/    /' "$TMP/srv-a.counts"
fi

pid=$(served_pid srv-a)
kill_served srv-a
if kill -0 -- "-$pid" 2>/dev/null; then
    fail "srv-a's process group $pid is still there"
else
    pass "srv-a's process group $pid is gone"
fi
# p11-kit-client.so initialises without its server, with no slot
check_fails "killed: the list fails" ctool -L
cat "$OUT" "$ERR" >"$TMP/killed"
expect_contains "$TMP/killed" "No slots." "killed: the client has no slot"
restart_served srv-a
check "restarted: the client lists served-a again" ctool -L
expect_contains "$OUT" "served-a"
check "restarted: served-a signs" ctool --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS \
    --input-file "$TMP/data" --output-file "$TMP/served.sig"
kill_served srv-a TERM
check_fails "terminated: the list fails" ctool -L
restart_served srv-a
check "restarted after TERM: the list works" ctool -L
# left running: the EXIT trap kills it
