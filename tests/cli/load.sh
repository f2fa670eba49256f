#!/bin/sh
# p11mux check-config --load and p11mux list beside a backend that hangs,
# crashes, aborts, exits or fails in C_Initialize (the mock's misbehave
# rules): each backend is tried in a child process, the report names what
# became of each (loaded, failed with the CKR_ name, hung, crashed with the
# signal's name, exited with its status), the command never hangs nor dies,
# and its exit status is its own (4), never the backend's.
set -eu
# shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"

# shellcheck source=tests/cli/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"

require softhsm2-util "$SOFTHSM_MODULE"
# in a sanitizer build a SIGSEGV is the runtime's to report (and exit 1):
# here the child must die of it, as it does in a plain build
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0
export ASAN_OPTIONS
setup_softhsm it-load

# with RULE: the mock "bad" misbehaving so beside SoftHSM2, in $TMP/p11mux.conf
with() {
    setup_mocks bad
    printf '[mock]\nmisbehave = %s\n[slot 1]\ntoken-label = bad\n' "$1" >"$TMP/bad.conf"
    write_config "$TMP/p11mux.conf" softhsm bad
}

# load RULE STATE: check-config --load names bad's STATE and SoftHSM2 loaded,
# exits 4, within the timeout (2 s) plus 2 s
load() {
    with "$1"
    start=$(date +%s)
    status=0
    run "$P11MUX" check-config --load --timeout 2 --config "$TMP/p11mux.conf" || status=$?
    elapsed=$(($(date +%s) - start))
    if [ "$status" -eq 4 ]; then
        pass "$1: check-config --load exits 4 (a backend did not load)"
    else
        fail "$1: check-config --load exited $status, expected 4"
    fi
    if [ "$elapsed" -le 4 ]; then
        pass "$1: answered in $elapsed s"
    else
        fail "$1: check-config --load took $elapsed s (timeout 2 s)"
    fi
    expect_contains "$OUT" "backend bad ($TMP/bad.so): $2" "$1: the report says '$2'"
    expect_contains "$OUT" "backend softhsm ($SOFTHSM_MODULE): loaded (interface " \
        "$1: SoftHSM2 is reported loaded"
}

load C_Initialize:hang "hung (no answer within 2000 ms"
load C_Initialize:segv "crashed (SIGSEGV)"
load C_Initialize:abort "crashed (SIGABRT)"
load C_Initialize:exit:3 "exited (status 3) before answering"
load C_Initialize:return:CKR_DEVICE_ERROR "failed: C_Initialize failed: CKR_DEVICE_ERROR"
load C_GetSlotList:hang "hung (no answer within 2000 ms"

# list: the bad backend is tried aside and not loaded; SoftHSM2's token is
# listed; list exits 0 whatever the backend did
for rule in C_Initialize:hang C_Initialize:segv C_Initialize:exit:3; do
    with "$rule"
    check "$rule: list lives through it" "$P11MUX" list --timeout 2 --config "$TMP/p11mux.conf"
    expect_contains "$OUT" 'token: "it-load"' "$rule: list shows SoftHSM2's token"
    expect_not_contains "$OUT" 'token: "bad"' "$rule: list shows no token of the bad backend"
    expect_contains "$OUT" "in a process list started to try it; not loaded" \
        "$rule: list says why the backend is not loaded"
done

# all good: exit 0
write_config "$TMP/good.conf" softhsm
check "check-config --load over SoftHSM2 alone" "$P11MUX" check-config --load --config "$TMP/good.conf"
expect_contains "$OUT" "backend softhsm ($SOFTHSM_MODULE): loaded (interface 2.40, 2 slots, 2 with a token"

# the trace destination opens as the module would open it
write_config "$TMP/trace.conf" +trace=file:/nonexistent-p11mux-dir/trace.log softhsm
status=0
run "$P11MUX" check-config --load --config "$TMP/trace.conf" || status=$?
if [ "$status" -eq 1 ]; then
    pass "an unopenable trace destination: exit 1"
else
    fail "an unopenable trace destination: exit $status, expected 1"
fi
expect_contains "$ERR" "trace: cannot open /nonexistent-p11mux-dir/trace.log"
write_config "$TMP/trace.conf" "+trace=file:$TMP/trace.log" softhsm
check "check-config --load opens a good trace file" "$P11MUX" check-config --load --config "$TMP/trace.conf"
expect_contains "$OUT" "trace: file:$TMP/trace.log opens"
