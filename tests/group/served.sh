#!/bin/sh
# A member whose server dies does not take the application with it, and
# comes back when its server does (HA-GROUPS.md §14.2): an HA group of a
# member served by `p11-kit server` (a stand-in network HSM, reached through
# p11-kit-client.so) and a local SoftHSM2 replica.
#
# 1. Four threads sign (RSA, single-part, a session each) until told to
#    stop; the served member's server process group is killed during the
#    run.  No signature may fail and every one must be right: the calls on
#    the dead connection move to the local member (p11-kit's RPC client
#    writes to the dead socket, and the SIGPIPE that raises never reaches
#    the program; the member's calls go one at a time, so no thread is left
#    waiting in the client for a connection that died under another's call).
#    The durations of the calls made after the kill are printed.
# 2. The run goes on: the server is started again on the same socket.  The
#    probes find the member's backend lost, re-initialise it, find the token
#    again, log in with the kept PIN and re-admit it: the new server's
#    counters show C_Login and a growing C_Sign, and no call failed.
# 3. The served member's server is not running at C_Initialize: the group
#    starts with the local member only, and starting the server admits the
#    served one with no action of the application's.
set -eu
# shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source-path=SCRIPTDIR source=replicas.sh
. "$(dirname "$0")/replicas.sh"
require pkcs11-tool softhsm2-util openssl setsid p11-kit "$SOFTHSM_MODULE" "$P11KIT_CLIENT_MODULE"

so=$(p11mux_so)
setup_replicas replica-b
served_member srv-a served-a
printf 'data signed through the group' >"$TMP/data"
check "the reference signature, on replica-b directly" pkcs11-tool --module "$SOFTHSM_MODULE" \
    --token-label replica-b --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS \
    --input-file "$TMP/data" --output-file "$TMP/reference.sig"
P11_KIT_SERVER_ADDRESS=$(served_address srv-a)
export P11_KIT_SERVER_ADDRESS
check "the served member answers through p11-kit-client.so" pkcs11-tool \
    --module "$P11KIT_CLIENT_MODULE" --token-label served-a --login --pin "$PIN" --sign --id 01 \
    -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/served.sig"
expect_equal "$TMP/served.sig" "$TMP/reference.sig" "the served member holds the same key"
{
    printf '[global]\nuser-config = none\ntrace = file:%s\n' "$TMP/trace"
    printf '[backend remote]\nmodule = %s\n' "$P11KIT_CLIENT_MODULE"
    printf '[backend local]\nmodule = %s\n' "$SOFTHSM_MODULE"
    printf '[group signing]\nmembers = remote:pkcs11:token=served-a local:pkcs11:token=replica-b\n'
    printf 'dispatch = round-robin\nerror-threshold = 1\nprobe-interval = 100ms\n'
    printf 'recover-backoff = 100ms 400ms\ncall-timeout = 5s\n'
} >"$TMP/p11mux.conf"
P11MUX_CONF=$TMP/p11mux.conf
GROUP_THREADS=4
GROUP_UNTIL=$TMP/stop
GROUP_MARK=$TMP/killed
export P11MUX_CONF GROUP_THREADS GROUP_UNTIL GROUP_MARK

# Start the signers in the background (results in $TMP/NAME.out).
start_signers() {
    rm -f "$GROUP_UNTIL" "$GROUP_MARK"
    "$top_builddir/tests/group/group-threads" "$so" "$PIN" - "$TMP/reference.sig" \
        "$TMP/data" >"$TMP/$1.out" 2>&1 &
    signers=$!
}

# Wait (20 s at most) until the served member's server has counted at
# least $2 calls of $1 (its counters restart with the server).
wait_for_count() {
    served_tries=0
    while [ "$(fault_count served-a "$1" "$TMP/srv-a.counts")" -lt "$2" ]; do
        served_tries=$((served_tries + 1))
        if [ "$served_tries" -gt 200 ]; then
            fail "the served member's server counted $(fault_count served-a "$1" \
                "$TMP/srv-a.counts") calls of $1, not $2, in 20 s"
            return 1
        fi
        sleep 0.1
    done
}

# Stop the signers and judge their run.
stop_signers() {
    : >"$GROUP_UNTIL"
    if wait "$signers"; then
        pass "$1"
    else
        fail "$1"
    fi
    cat "$TMP/$2.out"
    expect_contains "$TMP/$2.out" ", 0 failed" "no signature failed or differed ($2)"
}

# 1 and 2: killed during the run, then started again
start_signers killed
wait_for_count C_Sign 20
pass "the served member signs its share"
kill_served srv-a
: >"$GROUP_MARK"
sleep 1
rm -f "$TMP/srv-a.counts"
served_start srv-a
wait_for_count C_Sign 20
pass "the restarted server signs again, with no action of the application's"
stop_signers "4 threads sign while the served member's server is killed and started again" killed
expect_contains "$TMP/killed.out" "calls after the kill:" "the durations after the kill are printed"
expect_contains "$TMP/trace" "-> down" "the trace records the served member going down"
expect_contains "$TMP/trace" "group.backend.reinit" "the trace records its backend re-initialised"
expect_contains "$TMP/trace" "recovering -> active" "the trace records its re-admission"
if [ "$(fault_count served-a C_Login "$TMP/srv-a.counts")" -ge 1 ]; then
    pass "re-admission logged in to the restarted server with the kept PIN"
else
    fail "the restarted server saw no C_Login"
fi

# 3: down at C_Initialize
kill_served srv-a
rm -f "$TMP/srv-a.counts" "$TMP/trace"
start_signers absent
sleep 1
served_start srv-a
wait_for_count C_Sign 20
pass "a member whose server was down at C_Initialize is admitted once it answers"
stop_signers "signatures go on while the served member is absent, then admitted" absent
kill_served srv-a
pass "the served member's server is gone"
