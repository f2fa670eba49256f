#!/bin/sh
# p11mux list: every backend with its library, state and load error; every
# slot with its p11mux id, backend, backend slot id, token, serial, flags,
# the policy that applies and whether it hides the token.
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source=tests/cli/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"

policy_setup
conf=$TMP/policy.conf
check "list succeeds" "$P11MUX" list --config "$conf"
list=$TMP/list.out
cp "$OUT" "$list"

# backends, in the order of the file
expect_line "$list" "backend mock-a"
expect_line "$list" "  library: $TMP/mock-a.so"
expect_line "$list" "  state: loaded"
expect_line "$list" "  interface: 3.0"
expect_line "$list" "  interface: 2.40"
expect_line "$list" "  policy: default ($conf:4)"
expect_line "$list" "  policy: strict ($conf:11)"
expect_line "$list" "backend broken"
expect_line "$list" "  state: failed"
expect_contains "$list" "  error: cannot load: $TMP/absent.so"
expect_line "$list" "backend off"
expect_line "$list" "  state: disabled"
order=$(sed -n 's/^backend //p' "$list" | tr '\n' ' ')
if [ "$order" = "mock-a mock-b broken off " ]; then
    pass "backends in the order of the configuration"
else
    fail "backend order: $order"
fi

# slots
alpha=$(slot_of alpha)
visible=$(slot_of visible)
hidden=$(slot_of hidden)
if [ -z "$alpha" ] || [ -z "$visible" ] || [ -z "$hidden" ]; then
    die "slots not found in: $(cat "$list")"
fi
expect_line "$list" "slot $alpha"
expect_line "$list" "  backend slot: 0x1"
expect_line "$list" "  backend slot: 0x3"
expect_line "$list" "  backend slot: 0x4"
expect_line "$list" "  backend slot: 0x5"
expect_line "$list" "  serial: \"A-0001\""
expect_line "$list" "  token: none (CKR_TOKEN_NOT_PRESENT)"
expect_contains "$list" "  token flags: CKF_"
expect_contains "$list" "  slot flags: CKF_"
awk -v s="slot $hidden" '$0 == s { p = 1 } p && /^  visible:/ { print; exit }' "$list" >"$TMP/hidden"
expect_line "$TMP/hidden" "  visible: no (policy)" "the hidden token's slot is listed as hidden"
awk -v s="slot $visible" '$0 == s { p = 1 } p && /^  visible:/ { print; exit }' "$list" >"$TMP/visible"
expect_line "$TMP/visible" "  visible: yes"
case $alpha in
0x*) pass "slot ids are written in hex" ;;
*) fail "slot id $alpha" ;;
esac

# the same ids in another process (stable ids)
again=$(slot_of alpha)
if [ "$again" = "$alpha" ]; then
    pass "slot ids are stable"
else
    fail "slot id $alpha then $again"
fi

# the layered configuration: P11MUX_CONF
P11MUX_CONF=$conf
export P11MUX_CONF
check "list reads P11MUX_CONF" "$P11MUX" list
expect_line "$OUT" "slot $alpha"
unset P11MUX_CONF

# errors
printf '[global]\ntrace-format = xml\n' >"$TMP/bad.conf"
expect_status 3 "list of a bad configuration" "$P11MUX" list --config "$TMP/bad.conf"
expect_contains "$ERR" "p11mux: $TMP/bad.conf:2: "
expect_status 2 "list with an extra argument" "$P11MUX" list extra
