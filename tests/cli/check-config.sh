#!/bin/sh
# p11mux check-config: exit 0 and "FILE: ok" for every good configuration,
# exit 1 and exactly "FILE:LINE: message" on stderr for every bad one (the
# fixtures of the configuration loader name their expected error on their
# first line: "# expect: LINE: message"); the layered configuration when no
# FILE is given.
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"

P11MUX=$top_builddir/tests/testable/bin/p11mux
[ -x "$P11MUX" ] || die "$P11MUX is not built"
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
