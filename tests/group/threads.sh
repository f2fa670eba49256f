#!/bin/sh
# An HA group under load while a member flaps (tests/group/group-threads.c):
# 4 threads sign through a group of two SoftHSM2 replicas behind p11fault.so
# while replica-a fails C_Sign every other 15 ms; every signature must come
# back right, none may fail, and the probes must re-admit replica-a.  It
# loads p11mux into a program of its own, so it also runs under
# ThreadSanitizer (scripts/test-all.sh).
set -eu
# shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source-path=SCRIPTDIR source=replicas.sh
. "$(dirname "$0")/replicas.sh"
require pkcs11-tool softhsm2-util openssl "$SOFTHSM_MODULE"

so=$(p11mux_so)
setup_replicas replica-a replica-b
printf 'data signed through the group' >"$TMP/data"
check "the reference signature, on replica-a directly" pkcs11-tool --module "$SOFTHSM_MODULE" \
    --token-label replica-a --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS \
    --input-file "$TMP/data" --output-file "$TMP/reference.sig"
{
    printf '[global]\nuser-config = none\ntrace = file:%s\n' "$TMP/trace"
    fault_module_conf fault
    printf '[group signing]\nmembers = fault:pkcs11:token=replica-a fault:pkcs11:token=replica-b\n'
    printf 'dispatch = least-busy\nerror-threshold = 1\n'
    printf 'probe-interval = 10ms\nrecover-backoff = 10ms 50ms\n'
} >"$TMP/p11mux.conf"
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF
fault_rules ""

check "4 threads sign while a member flaps" "$top_builddir/tests/group/group-threads" "$so" \
    "$PIN" "$P11FAULT_RULES" "$TMP/reference.sig" "$TMP/data"
cat "$OUT"
expect_contains "$TMP/trace" "recovering -> active" "the probes re-admitted replica-a"

# the same where the application forbids the library threads
# (CKF_LIBRARY_CANT_CREATE_OS_THREADS): the probes run in its calls
rm -f "$TMP/trace"
fault_rules ""
GROUP_NO_THREADS=1 check "4 threads sign while a member flaps, the library making no thread" \
    "$top_builddir/tests/group/group-threads" "$so" "$PIN" "$P11FAULT_RULES" \
    "$TMP/reference.sig" "$TMP/data"
cat "$OUT"
expect_contains "$TMP/trace" "recovering -> active" \
    "without a probe thread, the application's calls re-admitted replica-a"
