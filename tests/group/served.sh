#!/bin/sh
# A member whose server dies does not take the application with it: an HA
# group of a member served by `p11-kit server` (a stand-in network HSM,
# reached through p11-kit-client.so) and a local SoftHSM2 replica; a
# thread signs while the served member's server process group is killed
# half-way.  One thread: p11-kit 0.24's RPC client leaves the threads that
# wait for its connection blocked for ever when the connection dies under
# another thread's call, which no caller can undo (a group routes new work
# around such a member, call-timeout, but cannot free the blocked threads).  Every signature must come back right and none may fail (the
# calls move to the local member; p11-kit's RPC client writes to the dead
# socket, and the SIGPIPE that raises never reaches the program); the
# durations of the calls made after the kill are printed.
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
} >"$TMP/p11mux.conf"
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF

pgid=$(served_pid srv-a)
GROUP_THREADS=1
export GROUP_THREADS
check "signatures go on while the served member's server is killed" \
    "$top_builddir/tests/group/group-threads" "$so" "$PIN" - "$TMP/reference.sig" "$TMP/data" \
    "kill -s KILL -- -$pgid"
cat "$OUT"
expect_contains "$OUT" "a member's server killed half-way" "the server was killed during the run"
expect_contains "$TMP/trace" "group.member.state" "the trace records the served member going down"
# reaped (a killed server stays a zombie until its parent, this script, waits)
kill_served srv-a
pass "the served member's server is gone"
