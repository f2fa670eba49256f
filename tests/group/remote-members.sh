#!/bin/sh
# Members on other hosts through p11-kit's RPC (HA-GROUPS.md, 11.1): two
# stand-in network HSMs, each a `p11-kit server` over a SoftHSM2 of its own
# (served_member), registered with p11-kit as `remote:` registrations
# served-a.module and served-b.module in a registry of the test's own;
# p11mux, with import-p11-kit = true, makes a backend of each because a
# group member names it, with the function list p11-kit's managed loader
# gives (p11mux loads no p11-kit-client.so: that takes one address per
# process, and here one process reaches both servers).  A third
# registration, served-c, that no member names is reported and not
# imported.  Proved: signatures through the group verify (equal the
# reference); both servers sign (each one's own C_Sign counter grows);
# with served-a's server killed half-way, signatures go on through
# served-b and none fails.
set -eu
# shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source-path=SCRIPTDIR source=replicas.sh
. "$(dirname "$0")/replicas.sh"
require pkcs11-tool softhsm2-util openssl setsid p11-kit "$SOFTHSM_MODULE"

so=$(p11mux_so)
served_member srv-a served-a
served_member srv-b served-b
printf 'data signed through the group' >"$TMP/data"
# PKCS #1 v1.5 signatures of one key are one value: the reference, by openssl
check "the reference signature" openssl dgst -sha256 -sign "$REPLICAS_DIR/rsa.pem" \
    -out "$TMP/reference.sig" "$TMP/data"

served_registration served-a srv-a
served_registration served-b srv-b
served_registration served-c srv-a
{
    printf '[global]\nuser-config = none\nimport-p11-kit = true\ntrace = file:%s\n' "$TMP/trace"
    printf '[group signing]\n'
    printf 'members = served-a:pkcs11:token=served-a served-b:pkcs11:token=served-b\n'
    printf 'dispatch = round-robin\nerror-threshold = 1\nprobe-interval = 100ms\n'
} >"$TMP/p11mux.conf"
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF

check "p11mux lists the group over the two remote members" pkcs11-tool --module "$so" -L
token_labels "$OUT" >"$TMP/labels"
expect_line "$TMP/labels" signing
expect_not_contains "$TMP/labels" served- "the member tokens are hidden"
expect_contains "$ERR" "module 'served-c' (remote: $(served_address srv-a)) is not imported" \
    "the registration no member names is reported"
expect_contains "$ERR" "no module file" "... with the reason"
expect_not_contains "$TMP/trace" "served-c" "... and never loaded"
for name in served-a served-b; do
    expect_contains "$TMP/trace" "backend $name loaded" "backend $name is loaded"
done

check "p11mux list shows the remote backends and their members" \
    "$top_builddir/tests/testable/bin/p11mux" list --config "$TMP/p11mux.conf"
expect_contains "$OUT" "remote: $(served_address srv-a)" "list: served-a is remote"
expect_contains "$OUT" "remote: $(served_address srv-b)" "list: served-b is remote"
expect_not_contains "$OUT" "backend served-c" "list: served-c is no backend"
expect_contains "$OUT" "member 1: served-b:pkcs11:token=served-b" "list: the second member"

# both servers sign, each for its own member: their own counters
GROUP_THREADS=2
export GROUP_THREADS
check "signatures through the group verify" \
    "$top_builddir/tests/group/group-threads" "$so" "$PIN" - "$TMP/reference.sig" "$TMP/data"
cat "$OUT"
signed_a=$(fault_count served-a C_Sign "$TMP/srv-a.counts")
signed_b=$(fault_count served-b C_Sign "$TMP/srv-b.counts")
printf 'C_Sign on served-a: %s, on served-b: %s\n' "$signed_a" "$signed_b"
if [ "$signed_a" -lt 50 ] || [ "$signed_b" -lt 50 ]; then
    fail "round-robin over 200 signatures: each server signs about half"
fi
[ "$(fault_count served-b C_Sign "$TMP/srv-a.counts")" -eq 0 ] ||
    fail "served-a's server signed on served-b's token"
pass "each member's server signs on its own token ($signed_a and $signed_b of 200)"

# fork(): the child initialises again and reaches both servers afresh
check "--test-fork through the group of remote members" \
    pkcs11-tool --module "$so" --test-fork --token-label signing

# one server dies half-way: the group goes on through the other (one
# thread: p11-kit 0.24's RPC client leaves threads waiting on a connection
# that dies under another thread's call blocked, tests/group/served.sh)
GROUP_THREADS=1
check "signatures go on while served-a's server is killed" \
    "$top_builddir/tests/group/group-threads" "$so" "$PIN" - "$TMP/reference.sig" "$TMP/data" \
    "kill -s KILL -- -$(served_pid srv-a)"
cat "$OUT"
expect_contains "$OUT" "a member's server killed half-way" "the server was killed during the run"
expect_contains "$TMP/trace" "group.member.state backend served-a down" \
    "the trace shows served-a down"
after_b=$(fault_count served-b C_Sign "$TMP/srv-b.counts")
[ "$after_b" -ge 50 ] || fail "served-b signed the second half ($after_b)"
pass "served-b signed on after served-a's server was killed ($after_b)"
kill_served srv-a
kill_served srv-b
