#!/bin/sh
# Operations through an HA group (HA-GROUPS.md §7, §8, §9.4): tests 3, 6, 7,
# 8, 9, 11, 12 and 21 of §14.1, over two SoftHSM2 replicas (replicas.sh)
# behind the fault injector p11fault.so.  pkcs11-tool makes one operation
# per process and cannot free a mechanism's parameters or ask a length
# first, so the operations are made by tests/group/group-ops.c, one process
# per configuration: it sets the fault rules just before the calls they are
# for and asserts on results and on p11fault's per-member call counts; this
# script gives it the configurations and reads p11mux's trace.
#
#   #3  dispatch        round-robin: 100 C_Sign, 50 +- 1 per member;
#                       least-busy: 8 threads, both members used
#   #6  per operation   C_SignInit, C_Decrypt (RSA-OAEP SHA-1),
#                       C_GetAttributeValue, C_GenerateRandom fail over
#   #7  classification  the default failover-on values fail over; request
#                       errors come back after one backend call; a
#                       backend's own failover-on is its members' only
#   #8  busy            CKR_DEVICE_MEMORY x5: retried, the member ACTIVE
#   #9  bounded replay  multi-part signing (digesting, verifying) replayed
#                       within replay-buffer, not past it
#   #11 buffer protocol C_Sign(NULL), failover, C_Sign(buffer)
#   #12 snapshots       OAEP parameters (and a label) freed after
#                       C_DecryptInit, failover on C_Decrypt
#   #21 hung member     a C_Sign 5 s long with call-timeout = 1s
#
# Not here: "no deadlock under TSan" is this test run by a --enable-tsan
# build (scripts/test-all.sh), not a check of its own.
set -eu
# shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source-path=SCRIPTDIR source=replicas.sh
. "$(dirname "$0")/replicas.sh"
require pkcs11-tool softhsm2-util openssl "$SOFTHSM_MODULE"

so=$(p11mux_so)
setup_replicas replica-a replica-b

# group-ops' inputs: 4 KiB and openssl's signature of it (PKCS #1 v1.5 is
# deterministic: every member's must be this one), a secret encrypted with
# RSA-OAEP SHA-1 (openssl's default OAEP, SoftHSM2's only one), the
# certificate of id 01
mkdir -p "$TMP/ops"
check "4 KiB of data" openssl rand -out "$TMP/ops/data" 4096
check "openssl's signature of it" openssl dgst -sha256 -sign "$REPLICAS_DIR/rsa.pem" \
    -out "$TMP/ops/data.sig" "$TMP/ops/data"
check "a secret" openssl rand -out "$TMP/ops/secret" 32
check "the secret encrypted with RSA-OAEP (SHA-1)" openssl pkeyutl -encrypt -pubin \
    -inkey "$REPLICAS_DIR/rsa-pub.der" -keyform DER -pkeyopt rsa_padding_mode:oaep \
    -in "$TMP/ops/secret" -out "$TMP/ops/secret.oaep"
cp "$REPLICAS_DIR/cert.der" "$TMP/ops/cert.der"

# conf DISPATCH [GROUP-LINES]: the group "signing" over replica-a and
# replica-b, in that order (under primary, replica-a takes every new
# operation while it is ACTIVE), probed every 10 ms; $BACKENDS replaces the
# one backend "fault", $MEMBERS the members.  A fresh trace.
conf() {
    {
        printf '[global]\nuser-config = none\ntrace = file:%s\n' "$TMP/trace"
        if [ -n "${BACKENDS:-}" ]; then
            printf '%s\n' "$BACKENDS"
        else
            fault_module_conf fault
        fi
        printf '[group signing]\nmembers = %s\n' \
            "${MEMBERS:-fault:pkcs11:token=replica-a fault:pkcs11:token=replica-b}"
        printf 'dispatch = %s\nprobe-interval = 10ms\nrecover-backoff = 10ms 50ms\n%s' "$1" \
            "${2:-}"
    } >"$TMP/p11mux.conf"
    rm -f "$TMP/trace"
}
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF

# ops WHAT MODE [ARG...]: group-ops' PASS:/FAIL: lines, prefixed with WHAT
ops() {
    ops_what=$1
    shift
    run "$top_builddir/tests/group/group-ops" "$so" "$PIN" "$TMP/ops" "$@" || true
    program_results "$OUT" "$harness_rc" "$ops_what" "$ops_what: "
    if [ "$harness_rc" -ne 0 ]; then
        sed 's/^/    /' "$ERR"
    fi
}

# ------------------------------------------------------------ #3 dispatch

conf round-robin
ops "round-robin" round-robin
conf least-busy
ops "least-busy" least-busy

# ------------------------------------------------------------ #6 per operation

conf primary
ops "per operation" per-operation
expect_contains "$TMP/trace" "group.failover" "the trace records the operations moved"

# ------------------------------------------------------------ #7 classification

conf primary
ops "failover-on" failover-on
# CKR_DEVICE_REMOVED (0x32) and CKR_TOKEN_NOT_PRESENT (0xe0) make a member
# DOWN at once, CKR_DEVICE_ERROR (0x30) and CKR_GENERAL_ERROR (0x5) count
# toward error-threshold (3): SUSPECT
expect_contains "$TMP/trace" "replica-a): active -> down (rv 0x32)" \
    "CKR_DEVICE_REMOVED: replica-a DOWN"
expect_contains "$TMP/trace" "replica-a): active -> down (rv 0xe0)" \
    "CKR_TOKEN_NOT_PRESENT: replica-a DOWN"
expect_contains "$TMP/trace" "replica-a): active -> suspect (rv 0x30)" \
    "CKR_DEVICE_ERROR: replica-a SUSPECT"
expect_contains "$TMP/trace" "replica-a): active -> suspect (rv 0x5)" \
    "CKR_GENERAL_ERROR: replica-a SUSPECT"

conf primary
ops "request errors" request-errors
expect_not_contains "$TMP/trace" "group.failover" "no request error moved an operation"
expect_not_contains "$TMP/trace" "active ->" "no request error changed a member's state"

# A backend's failover-on replaces the group's list for its members only
# (p11mux.conf(5)): replica-a in backend "fault", which fails over on
# CKR_FUNCTION_FAILED too, replica-b in "fault2", which keeps the default
# list.  p11mux refuses two backends of one library: "fault2" is a copy of
# p11fault.so over a copy of SoftHSM2 (a second instance on the same token
# directory, as another process would be).  Both copies write the one
# counts file, each with its own counts: the trace tells what moved.  The
# two SoftHSM2 instances must not read the token directory at the same
# time (one of them then finds no token: replica-a missing, nothing to move
# to), so p11mux opens the backends one after the other here: the
# application forbids it threads (GROUP_NO_THREADS).
GROUP_NO_THREADS=1
export GROUP_NO_THREADS
cp "$(p11fault_so)" "$TMP/p11fault2.so"
cp "$SOFTHSM_MODULE" "$TMP/softhsm2-copy.so"
BACKENDS="$(fault_module_conf fault)
failover-on = CKR_DEVICE_ERROR CKR_FUNCTION_FAILED
[backend fault2]
module = $TMP/p11fault2.so
init-reserved = $TMP/softhsm2-copy.so"
MEMBERS="fault:pkcs11:token=replica-a fault2:pkcs11:token=replica-b"
conf primary
ops "backend failover-on" sign-once replica-a CKR_FUNCTION_FAILED CKR_OK
expect_contains "$TMP/trace" "moved from member 0 (fault:pkcs11:token=replica-a) to member 1" \
    "CKR_FUNCTION_FAILED of a member of backend fault: the operation moved"
MEMBERS="fault2:pkcs11:token=replica-b fault:pkcs11:token=replica-a"
conf primary
ops "another backend's failover-on" sign-once replica-b CKR_FUNCTION_FAILED CKR_FUNCTION_FAILED
expect_not_contains "$TMP/trace" "group.failover" \
    "CKR_FUNCTION_FAILED of a member of backend fault2: not retried"
conf primary
ops "another backend's CKR_DEVICE_ERROR" sign-once replica-b CKR_DEVICE_ERROR CKR_OK
expect_contains "$TMP/trace" "moved from member 0 (fault2:pkcs11:token=replica-b) to member 1" \
    "CKR_DEVICE_ERROR of a member of backend fault2: the operation moved"
BACKENDS=
MEMBERS=
unset GROUP_NO_THREADS

# ------------------------------------------------------------ #8 busy

conf primary
ops "busy" busy
expect_not_contains "$TMP/trace" "replica-a): active ->" "replica-a stayed ACTIVE (trace)"
expect_contains "$TMP/trace" "group.failover" "the busy member's operations moved"

# ------------------------------------------------------------ #9 bounded replay

conf primary
ops "replay" replay
expect_contains "$TMP/trace" "3072 bytes replayed" "the trace counts the bytes replayed"
conf primary 'replay-buffer = 512
'
ops "replay-buffer = 512" replay-bounded

# ------------------------------------------------------------ #11, #12

conf primary
ops "buffer protocol" length
conf primary
ops "parameter snapshot" snapshot

# ------------------------------------------------------------ #21 hung member

conf primary 'call-timeout = 1s
'
ops "hung member" hung
expect_contains "$TMP/trace" "replica-a): active -> suspect (rv 0x0)" \
    "the overdue call made replica-a SUSPECT"
