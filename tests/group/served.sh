#!/bin/sh
# A member whose server dies does not take the application with it, and
# comes back when its server does (HA-GROUPS.md §14.2, tests 30 to 32): an
# HA group of two served members, each a `p11-kit server` over a SoftHSM2
# of its own (two stand-in network HSMs), registered as `remote:`
# registrations of the test's own p11-kit registry and imported by
# import-p11-kit because the group's members name them.
#
# 1. Four threads sign (RSA, single-part, a session each) until told to
#    stop; served-a's server process group is killed during the run.  No
#    signature may fail and every one must be right: the calls on the dead
#    connection move to served-b (p11-kit's RPC client writes to the dead
#    socket, and the SIGPIPE that raises never reaches the program; a
#    member's calls go one at a time, so no thread is left waiting in the
#    client for a connection that died under another's call).  The
#    durations of the calls made after the kill are printed.
# 2. The run goes on: served-a's server is started again on the same
#    socket.  The probes find its backend lost, re-initialise it, find the
#    token again by URI, log in with the kept PIN and re-admit it: the new
#    server's counters show C_Login and a growing C_Sign; no call failed.
# 3. served-a's server is not running at C_Initialize: the group starts
#    with served-b alone, and starting the server admits served-a with no
#    action of the application's.
# 4. The same kill with p11-kit-client.so as a [backend] module (its one
#    address from P11_KIT_SERVER_ADDRESS) beside a local SoftHSM2 replica.
set -eu
# shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source-path=SCRIPTDIR source=replicas.sh
. "$(dirname "$0")/replicas.sh"
require pkcs11-tool softhsm2-util openssl setsid p11-kit "$SOFTHSM_MODULE" "$P11KIT_CLIENT_MODULE"

so=$(p11mux_so)
setup_replicas replica-b
served_member srv-a served-a
served_member srv-b served-b
printf 'data signed through the group' >"$TMP/data"
# PKCS #1 v1.5 signatures of one key are one value: the reference, by openssl
check "the reference signature" openssl dgst -sha256 -sign "$REPLICAS_DIR/rsa.pem" \
    -out "$TMP/reference.sig" "$TMP/data"
served_registration served-a srv-a
served_registration served-b srv-b
{
    printf '[global]\nuser-config = none\nimport-p11-kit = true\ntrace = file:%s\n' "$TMP/trace"
    printf '[group signing]\n'
    printf 'members = served-a:pkcs11:token=served-a served-b:pkcs11:token=served-b\n'
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

# Wait (20 s at most) until served-a's server has counted at least $2
# calls of $1 (its counters restart with the server).
wait_for_count() {
    served_tries=0
    while [ "$(fault_count served-a "$1" "$TMP/srv-a.counts")" -lt "$2" ]; do
        served_tries=$((served_tries + 1))
        if [ "$served_tries" -gt 200 ]; then
            fail "served-a's server counted $(fault_count served-a "$1" \
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
pass "served-a signs its share"
kill_served srv-a
: >"$GROUP_MARK"
sleep 1
rm -f "$TMP/srv-a.counts"
served_start srv-a
wait_for_count C_Sign 20
pass "served-a's restarted server signs again, with no action of the application's"
stop_signers "4 threads sign while served-a's server is killed and started again" killed
expect_contains "$TMP/killed.out" "calls after the kill:" "the durations after the kill are printed"
expect_contains "$TMP/trace" "served-a): active -> down" "the trace records served-a going down"
expect_contains "$TMP/trace" "group.backend.reinit" "the trace records its backend re-initialised"
expect_contains "$TMP/trace" "served-a): recovering -> active" "the trace records its re-admission"
if [ "$(fault_count served-a C_Login "$TMP/srv-a.counts")" -ge 1 ]; then
    pass "re-admission logged in to the restarted server with the kept PIN"
else
    fail "the restarted server saw no C_Login"
fi
if [ "$(fault_count served-b C_Sign "$TMP/srv-b.counts")" -ge 1 ]; then
    pass "served-b signed its share"
else
    fail "served-b signed nothing"
fi

# 3: down at C_Initialize
kill_served srv-a
rm -f "$TMP/srv-a.counts" "$TMP/trace"
start_signers absent
sleep 1
served_start srv-a
wait_for_count C_Sign 20
pass "a member whose server was down at C_Initialize is admitted once it answers"
stop_signers "signatures go on while served-a is absent, then admitted" absent

# 4: p11-kit-client.so as a [backend] module
P11_KIT_SERVER_ADDRESS=$(served_address srv-a)
export P11_KIT_SERVER_ADDRESS
{
    printf '[global]\nuser-config = none\ntrace = file:%s\n' "$TMP/trace-client"
    printf '[backend remote]\nmodule = %s\n' "$P11KIT_CLIENT_MODULE"
    printf '[backend local]\nmodule = %s\n' "$SOFTHSM_MODULE"
    printf '[group signing]\nmembers = remote:pkcs11:token=served-a local:pkcs11:token=replica-b\n'
    printf 'dispatch = round-robin\nerror-threshold = 1\nprobe-interval = 100ms\n'
} >"$TMP/p11mux.conf"
check "served-a answers through p11-kit-client.so" pkcs11-tool --module "$P11KIT_CLIENT_MODULE" \
    --token-label served-a --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS \
    --input-file "$TMP/data" --output-file "$TMP/client.sig"
expect_equal "$TMP/client.sig" "$TMP/reference.sig" "served-a holds the replicas' key"
rm -f "$TMP/srv-a.counts"
start_signers client
wait_for_count C_Sign 20
kill_served srv-a
: >"$GROUP_MARK"
sleep 1
stop_signers "through p11-kit-client.so: 4 threads sign while its server is killed" client
expect_contains "$TMP/trace-client" "group.member.state" "the trace records the member going down"
kill_served srv-b
pass "the served members' servers are gone"
