#!/bin/sh
# p11mux check-config: exit 0 and "FILE: ok" for every good configuration,
# exit 1 and exactly "FILE:LINE: message" on stderr for every bad one (the
# fixtures of the configuration loader name their expected error on their
# first line: "# expect: LINE: message"); the layered configuration when no
# FILE is given, with every path searched and whether it was read.
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"

# shellcheck source=tests/cli/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"
fixtures=$top_srcdir/tests/fixtures/config

# A policy = NAME without its [policy NAME] group: the file parses, but the
# module refuses it when it compiles the policies, and so does check-config.
undefined_policy() {
    sed -n 's/^policy *= *//p' "$1" | while read -r name; do
        grep -q -x -F "[policy $name]" "$1" || echo "$name"
    done | grep -q .
}

for conf in "$fixtures"/good/*.conf "$top_srcdir/conf/logging-shim.conf" \
    "$top_srcdir/conf/p11mux.conf.example"; do
    if undefined_policy "$conf"; then
        check_fails "check-config refuses $(basename "$conf"): a policy is not defined" \
            "$P11MUX" check-config "$conf"
        expect_contains "$ERR" "$conf:"
        expect_contains "$ERR" "is not defined (no [policy "
        continue
    fi
    check "check-config accepts $(basename "$conf")" "$P11MUX" check-config "$conf"
    expect_line "$OUT" "$conf: ok"
done

for conf in "$fixtures"/bad/*.conf; do
    expected=$(sed -n '1s/^# expect: //p' "$conf")
    [ -n "$expected" ] || die "$conf names no expected error"
    status=0
    run "$P11MUX" check-config "$conf" || status=$?
    if [ "$status" -eq 1 ]; then
        pass "check-config refuses $(basename "$conf") with exit status 1"
    else
        fail "check-config $(basename "$conf") exited $status, expected 1"
    fi
    expect_line "$ERR" "$conf:$expected" "$(basename "$conf"): the message names file and line"
done

# The layered configuration: a user file with an error, then P11MUX_CONF over a good one.
mkdir -p "$XDG_CONFIG_HOME/p11mux"
printf '[global]\ntrace-format = xml\n' >"$XDG_CONFIG_HOME/p11mux/p11mux.conf"
check_fails "check-config reads the user's file" "$P11MUX" check-config
expect_contains "$ERR" "$XDG_CONFIG_HOME/p11mux/p11mux.conf:2: "
printf '[global]\ntrace-format = json\n' >"$XDG_CONFIG_HOME/p11mux/p11mux.conf"
cp "$fixtures/good/minimal.conf" "$TMP/extra.conf"
P11MUX_CONF=$TMP/extra.conf
export P11MUX_CONF
check "check-config merges the user's file and P11MUX_CONF" "$P11MUX" check-config
expect_line "$OUT" "$XDG_CONFIG_HOME/p11mux/p11mux.conf: ok"
expect_line "$OUT" "$TMP/extra.conf: ok"
unset P11MUX_CONF

# A file that does not exist, and usage errors.
status=0
run "$P11MUX" check-config "$TMP/absent.conf" || status=$?
if [ "$status" -eq 1 ]; then
    pass "a missing FILE is a problem (exit 1)"
else
    fail "missing FILE: exit $status"
fi
expect_contains "$ERR" "$TMP/absent.conf"
status=0
run "$P11MUX" check-config a b || status=$?
if [ "$status" -eq 2 ]; then
    pass "two FILEs are a usage error (exit 2)"
else
    fail "two FILEs: exit $status"
fi

# --config FILE, as list and explain take it; a plain FILE still works
check "check-config --config FILE" "$P11MUX" check-config --config "$fixtures/good/minimal.conf"
expect_line "$OUT" "$fixtures/good/minimal.conf: ok"
expect_line "$OUT" "searched: $fixtures/good/minimal.conf (--config): read"
expect_status 2 "--config and a FILE together are a usage error" \
    "$P11MUX" check-config --config "$fixtures/good/minimal.conf" "$fixtures/good/full.conf"

# Every path searched, and which existed and was read.  The testable p11mux
# reads its system layer from $P11MUX_TESTABLE_SYSCONFDIR/p11mux.
rm -f "$XDG_CONFIG_HOME/p11mux/p11mux.conf"
P11MUX_TESTABLE_SYSCONFDIR=$TMP/etc
export P11MUX_TESTABLE_SYSCONFDIR
sys=$TMP/etc/p11mux
user=$XDG_CONFIG_HOME/p11mux/p11mux.conf
check "check-config with no file at all" "$P11MUX" check-config
expect_line "$OUT" "searched: $sys/p11mux.conf (system file): absent"
expect_line "$OUT" "searched: $sys/conf.d/*.conf (conf.d): absent"
expect_line "$OUT" "searched: $user (user file): absent"
expect_line "$OUT" "searched: P11MUX_CONF: not set"
expect_line "$OUT" "no configuration file found (searched the paths above): p11mux has no backends"
check "list with no file at all" "$P11MUX" list
expect_line "$OUT" "searched: $sys/p11mux.conf (system file): absent"
expect_line "$OUT" "no backends: no configuration file found (searched the paths above)"

mkdir -p "$sys/conf.d"
printf '[global]\ntrace-format = json\n' >"$sys/p11mux.conf"
printf '[global]\ntrace-data = hex\n' >"$sys/conf.d/20-b.conf"
printf '[global]\ntrace-data = length\n' >"$sys/conf.d/10-a.conf"
printf '[global]\ntrace = off\n' >"$user"
check "check-config over every layer" env P11MUX_CONF="$fixtures/good/minimal.conf" "$P11MUX" check-config
expect_line "$OUT" "searched: $sys/p11mux.conf (system file): read"
expect_line "$OUT" "searched: $sys/conf.d/10-a.conf (conf.d): read"
expect_line "$OUT" "searched: $sys/conf.d/20-b.conf (conf.d): read"
expect_line "$OUT" "searched: $user (user file): read"
expect_line "$OUT" "searched: $fixtures/good/minimal.conf (P11MUX_CONF): read"
printf '[global]\nuser-config = none\n' >"$sys/p11mux.conf"
check "check-config where the system file excludes the user's" "$P11MUX" check-config
expect_line "$OUT" "searched: $user (user file): exists, not read"
printf '[global]\nstandalone = true\n' >"$TMP/alone.conf"
check "check-config with a standalone P11MUX_CONF" env P11MUX_CONF="$TMP/alone.conf" "$P11MUX" check-config
expect_line "$OUT" "searched: $sys/p11mux.conf (system file): exists, not read (standalone = true)"
expect_line "$OUT" "searched: $TMP/alone.conf (P11MUX_CONF): read"
unset P11MUX_TESTABLE_SYSCONFDIR

# A byte-order mark is skipped, and said; a '#' after a value is part of
# the value (GKeyFile has no inline comments), and said with its line.
printf '\357\273\277[global]\ntrace-format = json\n' >"$TMP/bom.conf"
check "check-config reads a file that starts with a byte-order mark" \
    "$P11MUX" check-config "$TMP/bom.conf"
expect_line "$OUT" "$TMP/bom.conf: ok"
expect_contains "$ERR" "warning: $TMP/bom.conf:1: the file starts with a UTF-8 byte-order mark"
printf '[global]\ntrace = off\n\n[backend softhsm]\nmodule = %s # the token store\n' \
    "$SOFTHSM_MODULE" >"$TMP/comment.conf"
check "check-config accepts a value with ' #' in it" "$P11MUX" check-config "$TMP/comment.conf"
expect_contains "$ERR" "warning: $TMP/comment.conf:5: the value of 'module' holds '# the token store'"
printf '[global]\ntrace = off\n' >"$TMP/plain.conf"
check "check-config on a plain file" "$P11MUX" check-config "$TMP/plain.conf"
expect_not_contains "$ERR" "warning:"

# A policy value is checked in one place, the compiler (p11mux_policy_set_new):
# check-config and C_Initialize of p11mux.so (tests/system/pkcs11-probe) both
# compile the same layers, so they refuse each bad value with the same
# message, byte for byte, naming the same file and line.  A policy no
# backend uses is compiled too.
PROBE=$top_builddir/tests/system/pkcs11-probe
[ -x "$PROBE" ] || die "$PROBE is not built (make check builds it)"
so=$(p11mux_so)
P11MUX_TESTABLE_SYSCONFDIR=$TMP/no-etc
export P11MUX_TESTABLE_SYSCONFDIR
bad=$TMP/bad-policy.conf
i=0
while IFS='|' read -r key value problem; do
    i=$((i + 1))
    printf '[global]\ntrace = off\n[policy unused]\n%s = %s\n' "$key" "$value" >"$bad"
    status=0
    P11MUX_CONF=$bad run "$P11MUX" check-config || status=$?
    if [ "$status" -eq 1 ]; then
        pass "check-config refuses $key = $value (exit 1)"
    else
        fail "check-config $key = $value: exit $status, expected 1"
        harness_show_output
    fi
    cp "$ERR" "$TMP/cli-$i.err"
    expect_line "$TMP/cli-$i.err" "$bad:4: key '$key' in [policy unused]: $problem"
    status=0
    P11MUX_CONF=$bad run "$PROBE" "$so" info || status=$?
    expect_line "$ERR" "pkcs11-probe: C_Initialize: CKR_GENERAL_ERROR" \
        "C_Initialize refuses $key = $value (exit $status)"
    sed -n 's/^p11mux: //p' "$ERR" >"$TMP/module-$i.err"
    expect_equal "$TMP/cli-$i.err" "$TMP/module-$i.err" \
        "check-config and C_Initialize say the same of $key = $value"
done <<'CASES'
tokens|pkcs11:token=a;bogus=1|URI 'pkcs11:token=a;bogus=1' holds an attribute or value p11-kit does not know
deny-tokens|pkcs11:object=key|token URI 'pkcs11:object=key' names object attributes (object=, id=, type=)
mechanisms|CKM_ECDSA CKM_NOPE|unknown mechanism 'CKM_NOPE'
deny-mechanisms|CKM_*NOTHING*|mechanism glob 'CKM_*NOTHING*' matches no known mechanism
allow-opaque-mechanisms|CKM_SHA256_HMCA|unknown mechanism 'CKM_SHA256_HMCA' (did you mean 'CKM_SHA256_HMAC'?)
min-key-bits|rsa:lots|min-key-bits item 'rsa:lots': 'lots' is not a number of bits from 1 to 1048576
objects|file:///etc/passwd|bad URI 'file:///etc/passwd': URI scheme must be 'pkcs11:'
deny-functions|C_SignNope|unknown function 'C_SignNope'
deny-functions|C_Initialize|function 'C_Initialize' cannot be denied: it concerns no token
CASES
unset P11MUX_TESTABLE_SYSCONFDIR
