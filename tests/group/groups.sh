#!/bin/sh
# HA groups through p11mux over two SoftHSM2 replicas (replicas.sh) behind
# the fault injector p11fault.so: one virtual slot whose token is the group
# (the members hidden), the keys found once, signatures that verify, a
# member that fails C_Sign taken over by the other with no error seen by
# the application, a wrong PIN said to one member only, and token writes
# refused.  pkcs11-tool runs one process per check, so each check's counts
# are its own (p11fault counts per process).
set -eu
# shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source-path=SCRIPTDIR source=replicas.sh
. "$(dirname "$0")/replicas.sh"
require pkcs11-tool softhsm2-util openssl "$SOFTHSM_MODULE"

so=$(p11mux_so)
setup_replicas replica-a replica-b
setup_divergent replica-c
setup_ambiguous replica-d
setup_other_secret replica-e
printf 'data signed through the group' >"$TMP/data"

# conf DISPATCH [EXTRA-MEMBER [ON-DIVERGENCE]]
conf() {
    {
        printf '[global]\nuser-config = none\ntrace = file:%s\n%s' "$TMP/trace" "${GLOBAL_EXTRA:-}"
        fault_module_conf fault
        printf '[group signing]\nmembers = fault:pkcs11:token=replica-a fault:pkcs11:token=replica-b'
        if [ -n "${2:-}" ]; then
            printf ' fault:pkcs11:token=%s' "$2"
        fi
        printf '\ndispatch = %s\nerror-threshold = 1\n%s\n' "$1" \
            "${PROBES:-probe-interval = 1s}"
        printf 'on-divergence = %s\n%s' "${3:-exclude-object}" "${GROUP_EXTRA:-}"
    } >"$TMP/p11mux.conf"
}
conf primary
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF
fault_rules ""

mux() {
    pkcs11-tool --module "$so" "$@"
}

# ------------------------------------------------------------ one slot

check "the slot list" mux -L
token_labels "$OUT" >"$TMP/labels"
expect_line "$TMP/labels" "signing" "the group's token is listed"
expect_not_contains "$TMP/labels" "replica-a" "member replica-a is not listed"
expect_not_contains "$TMP/labels" "replica-b" "member replica-b is not listed"
expect_contains "$OUT" "p11mux" "the token is p11mux's"
expect_contains "$OUT" "HA group" "the token is an HA group"
slot_ids "$OUT" >"$TMP/slots"
check "the slot list again" mux -L
slot_ids "$OUT" >"$TMP/slots-again"
expect_equal "$TMP/slots" "$TMP/slots-again" "the group's slot id is the same in another process"

# ------------------------------------------------------------ objects

check "the objects, logged in" mux --token-label signing --login --pin "$PIN" -O
object_ids "$OUT" >"$TMP/ids"
expect_line "$TMP/ids" "01" "the RSA key (01) is found"
expect_line "$TMP/ids" "03" "the EC key (03) is found"
n=$(grep -c '^01$' "$TMP/ids" || true)
if [ "$n" -le 3 ]; then
    pass "identity 01 is listed once per class ($n objects)"
else
    fail "identity 01 is listed $n times: replicas not united"
fi

# ------------------------------------------------------------ signing

check "signs through the group" mux --token-label signing --login --pin "$PIN" --sign --id 01 \
    -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/group.sig"
check "openssl verifies the group's signature" openssl dgst -sha256 \
    -verify "$REPLICAS_DIR/rsa-pub.der" -keyform DER -signature "$TMP/group.sig" "$TMP/data"
expect_count replica-a C_Sign -ge 1 "primary: replica-a signed"
expect_count replica-b C_Sign -eq 0 "primary: replica-b did not"

# ------------------------------------------------------------ failover

fault_rules "token=replica-a fn=C_Sign rv=CKR_DEVICE_ERROR count=always"
check "signs while replica-a fails C_Sign" mux --token-label signing --login --pin "$PIN" \
    --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/over.sig"
check "openssl verifies the signature made after the failover" openssl dgst -sha256 \
    -verify "$REPLICAS_DIR/rsa-pub.der" -keyform DER -signature "$TMP/over.sig" "$TMP/data"
expect_equal "$TMP/over.sig" "$TMP/group.sig" "the same PKCS #1 v1.5 signature from the other member"
expect_count replica-a C_Sign -ge 1 "replica-a was asked and failed"
expect_count replica-b C_Sign -ge 1 "replica-b took the signature over"
expect_contains "$TMP/trace" "group.failover" "the trace records the failover"
expect_contains "$TMP/trace" "group.member.state" "the trace records replica-a's state change"
expect_contains "$TMP/trace" "pPin: <redacted" "the trace redacts the PIN of C_Login"
if grep -A1 -e 'pPin' "$TMP/trace" | grep -q -F -e "$PIN"; then
    fail "the trace holds the PIN"
else
    pass "the trace holds no PIN"
fi
fault_rules ""

fault_rules "token=replica-a fn=C_SignInit rv=CKR_DEVICE_ERROR count=always"
check "signs while replica-a fails C_SignInit" mux --token-label signing --login --pin "$PIN" \
    --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/init.sig"
expect_equal "$TMP/init.sig" "$TMP/group.sig" "the signature made on replica-b"
fault_rules ""

fault_rules "token=replica-a fn=C_Sign rv=CKR_DATA_LEN_RANGE count=always"
check_fails "a request error is the application's" mux --token-label signing --login \
    --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" \
    --output-file "$TMP/bad.sig"
expect_count replica-b C_Sign -eq 0 "a request error is not retried elsewhere"
fault_rules ""

# ------------------------------------------------------------ login

check_fails "a wrong PIN is refused" mux --token-label signing --login --pin 999999 -O
expect_contains "$ERR" "CKR_PIN_INCORRECT" "the member's answer"
expect_count replica-b C_Login -eq 0 "no other member saw the wrong PIN"
check "a good PIN logs in every member" mux --token-label signing --login --pin "$PIN" -O
expect_count replica-a C_Login -ge 1 "both members logged in (replica-a)"
expect_count replica-b C_Login -ge 1 "both members logged in (replica-b)"

# ------------------------------------------------------------ session objects

check "session objects on the group" "$top_builddir/tests/group/group-objects" "$so" "$PIN"
cat "$OUT"
fault_rules "token=replica-* fn=C_EncryptUpdate rv=CKR_DEVICE_ERROR count=1"
check "an encryption update a member fails is not replayed" \
    "$top_builddir/tests/group/group-objects" "$so" "$PIN" updates-fail
cat "$OUT"
fault_rules ""

# ------------------------------------------------------------ writes

check_fails "a token key pair is refused" mux --token-label signing --login --pin "$PIN" \
    --keypairgen --key-type rsa:2048 --label new --id 09
expect_contains "$ERR" "CKR_TOKEN_WRITE_PROTECTED" "token writes are refused"
expect_count replica-a C_GenerateKeyPair -eq 0 "no member saw the write"

# writes = primary: token writes go to the first member alone
GROUP_EXTRA='writes = primary
'
conf round-robin
check "writes = primary: a token AES key is made" mux --token-label signing --login \
    --pin "$PIN" --keygen --key-type AES:16 --label written --id 09
expect_count replica-a C_GenerateKey -eq 1 "... on the first member"
expect_count replica-b C_GenerateKey -eq 0 "... and on no other"
check "the group finds it" mux --token-label signing --login --pin "$PIN" -O --type secrkey
expect_contains "$OUT" "label:      written" "the new key is served, from the first member"
check "p11mux list counts it on one member" "$top_builddir/tests/testable/bin/p11mux" list \
    --config "$TMP/p11mux.conf"
expect_contains "$OUT" "1 on 1 member" "list: an identity on one member (not replicated)"
check "the key is destroyed on the first member" mux --token-label signing --login \
    --pin "$PIN" --delete-object --type secrkey --id 09
check "the group no longer finds it" mux --token-label signing --login --pin "$PIN" -O \
    --type secrkey
expect_not_contains "$OUT" "label:      written" "the destroyed key is gone"
GROUP_EXTRA=
conf primary

# ------------------------------------------------------------ round-robin

conf round-robin
for i in 1 2 3 4; do
    check "round-robin signature $i" mux --token-label signing --login --pin "$PIN" --sign \
        --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/rr$i.sig"
    expect_equal "$TMP/rr$i.sig" "$TMP/group.sig" "round-robin signature $i is the same"
done

# ------------------------------------------------------------ divergence

# replica-c holds another RSA key under id 01: never used for it; the
# majority's key signs
conf round-robin replica-c
: >"$TMP/trace"
for i in 1 2 3; do
    check "signature $i with a divergent member" mux --token-label signing --login --pin "$PIN" \
        --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/div$i.sig"
    expect_equal "$TMP/div$i.sig" "$TMP/group.sig" "signature $i is the majority's key's"
    expect_count replica-c C_Sign -eq 0 "replica-c did not sign $i"
done
expect_contains "$TMP/trace" "group.divergence" "the trace records the divergence"
check "the EC key (03) still signs with replica-c in the group" mux --token-label signing \
    --login --pin "$PIN" --sign --id 03 -m ECDSA --input-file "$TMP/data" \
    --output-file "$TMP/div-ec.sig"

check "p11mux list shows the group" "$top_builddir/tests/testable/bin/p11mux" list \
    --config "$TMP/p11mux.conf"
expect_contains "$OUT" "group signing" "list: the group"
expect_contains "$OUT" "member 2: fault:pkcs11:token=replica-c" "list: the divergent member"
expect_contains "$OUT" "divergent" "list: what replica-c holds differently"
expect_contains "$OUT" "visible: no (a member of an HA group)" "list: member tokens are hidden"
expect_contains "$OUT" "state: active" "list: the members' states"
expect_contains "$OUT" "every member has, 0 left out" "list: the mechanisms every member has"
check "p11mux explain on the group's token" "$top_builddir/tests/testable/bin/p11mux" explain \
    --config "$TMP/p11mux.conf" --token signing --mechanism CKM_SHA256_RSA_PKCS
expect_contains "$OUT" "HA group signing: token present, over 3 members" "explain: the group"
expect_contains "$OUT" "mechanism CKM_SHA256_RSA_PKCS: every member found has it" \
    "explain: the group offers the mechanism"
check_fails "p11mux explain of a mechanism no member has" \
    "$top_builddir/tests/testable/bin/p11mux" explain --config "$TMP/p11mux.conf" \
    --token signing --mechanism CKM_SHA3_256_RSA_PKCS
expect_contains "$OUT" "mechanism CKM_SHA3_256_RSA_PKCS: no member found has it" \
    "explain: the group does not offer it"

conf round-robin replica-c fail
check "the slot list with on-divergence = fail" mux -L
token_labels "$OUT" >"$TMP/labels-fail"
expect_not_contains "$TMP/labels-fail" "signing" "on-divergence = fail: the token is absent"

# replica-d holds two private keys of identity 01: not served from it
conf round-robin replica-d
for i in 1 2 3; do
    check "signature $i with an ambiguous member" mux --token-label signing --login --pin "$PIN" \
        --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/amb$i.sig"
    expect_equal "$TMP/amb$i.sig" "$TMP/group.sig" "ambiguous: signature $i is the replicas' key's"
done

# ------------------------------------------------------------ verify

# member_objects N: the "objects:" line p11mux list gave for member N
member_objects() {
    sed -n "/member $1: /,/objects:/p" "$OUT" | grep 'objects:'
}

# verify = probe: replica-e holds another AES key under id 02, which only
# encrypting one block tells apart (kcv is not asked for)
GROUP_EXTRA='verify = pubkey cert probe
'
conf round-robin replica-e
check "p11mux list with verify = probe" "$top_builddir/tests/testable/bin/p11mux" list \
    --config "$TMP/p11mux.conf"
member_objects 2 >"$TMP/objects-e"
expect_contains "$TMP/objects-e" "1 divergent" "probe: replica-e's AES key is not the others'"
member_objects 0 >"$TMP/objects-a"
expect_contains "$TMP/objects-a" "0 not served" "probe: replica-a's AES key is proven"
check "the AES key is served, proven by a probe" mux --token-label signing --login --pin "$PIN" \
    -O --type secrkey
expect_contains "$OUT" "label:      aes" "the group serves the AES key"
# a member whose key allows no probe: the key is unverified there, not served
fault_rules "token=replica-b fn=C_EncryptInit rv=CKR_KEY_FUNCTION_NOT_PERMITTED count=always
token=replica-b fn=C_SignInit rv=CKR_KEY_FUNCTION_NOT_PERMITTED count=always"
check "p11mux list with a member that cannot be probed" \
    "$top_builddir/tests/testable/bin/p11mux" list --config "$TMP/p11mux.conf"
member_objects 1 >"$TMP/objects-b"
expect_contains "$TMP/objects-b" "1 unverified" "an AES key no probe proves is not served from replica-b"
fault_rules ""
GROUP_EXTRA=
conf primary

# ------------------------------------------------------------ policy

# the [global] policy applies to the group's token as to any backend's
GLOBAL_EXTRA='policy = strict
[policy strict]
deny-mechanisms = CKM_SHA256_RSA_PKCS
deny-objects = pkcs11:id=%03
'
conf round-robin
check_fails "a denied mechanism is refused on the group's token" mux --token-label signing \
    --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" \
    --output-file "$TMP/denied.sig"
expect_contains "$ERR" "CKR_MECHANISM_INVALID" "the policy's answer"
expect_count replica-a C_SignInit -eq 0 "no member saw the denied mechanism (replica-a)"
expect_count replica-b C_SignInit -eq 0 "no member saw the denied mechanism (replica-b)"
check "the objects under the policy" mux --token-label signing --login --pin "$PIN" -O
object_ids "$OUT" >"$TMP/ids-policy"
expect_line "$TMP/ids-policy" "01" "the RSA key (01) is still found"
expect_not_contains "$TMP/ids-policy" "03" "the hidden EC key (03) is not found"
GLOBAL_EXTRA=

# a group's own policy: [group signing] policy = NAME, not [global]'s
GLOBAL_EXTRA='policy = open
[policy open]
deny-mechanisms = CKM_MD5
[policy group-only]
deny-mechanisms = CKM_SHA256_RSA_PKCS
'
GROUP_EXTRA='policy = group-only
'
conf round-robin
check_fails "the group's own policy refuses its mechanism" mux --token-label signing \
    --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" \
    --output-file "$TMP/denied.sig"
expect_contains "$ERR" "CKR_MECHANISM_INVALID" "the group's policy's answer"
check_fails "p11mux explain names the group's policy" "$top_builddir/tests/testable/bin/p11mux" \
    explain --config "$TMP/p11mux.conf" --token signing --mechanism CKM_SHA256_RSA_PKCS
expect_contains "$OUT" "refused by [policy group-only] deny-mechanisms" \
    "explain: the group's policy decides"
GROUP_EXTRA=
GLOBAL_EXTRA=

# ------------------------------------------------------------ slot events

PROBES='probe-interval = 10ms
recover-backoff = 10ms 50ms
keepalive = 20ms
all-down = close-sessions'
conf primary
check "slot events of the group" "$top_builddir/tests/group/group-events" "$so" "$P11FAULT_RULES"
cat "$OUT"
PROBES=
fault_rules ""
