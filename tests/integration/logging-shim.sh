#!/bin/sh
# conf/logging-shim.conf on a machine that also uses p11mux system-wide,
# shared by two users:
#   - the system configuration loads the library the shim traces: without
#     `standalone = true` the two layers merge and p11mux refuses to load
#     the same library twice; with it (as the shipped example says) the
#     shim's file is the only layer and the application sees its token;
#   - `policy-override = stricter-only` in the system file refuses the
#     standalone file, with a message saying so;
#   - the trace goes to file:%r/p11mux-trace.json: root and nobody each get
#     their own file in their own runtime directory, where one fixed path
#     (the example's old /tmp/p11mux-trace.json) locks the second user out.
# The testable p11mux.so reads its system file from
# $P11MUX_TESTABLE_SYSCONFDIR/p11mux (tests/testable/testable-site.c).
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/harness.sh"
require pkcs11-tool setpriv

so=$(p11mux_so)
setup_mocks traced
chmod 0755 "$TMP"
P11MUX_TESTABLE_SYSCONFDIR=$TMP/etc
export P11MUX_TESTABLE_SYSCONFDIR
mkdir -p "$TMP/etc/p11mux"
printf '[backend system-wide]\nmodule = %s\n' "$TMP/traced.so" >"$TMP/etc/p11mux/p11mux.conf"

# the shipped example, pointed at the mock
shim=$TMP/logging-shim.conf
sed "s|^module = .*|module = $TMP/traced.so|" "$top_srcdir/conf/logging-shim.conf" >"$shim"
expect_line "$shim" "standalone = true" "the example is a standalone layer"
expect_line "$shim" "trace = file:%r/p11mux-trace.json" "the example traces into the runtime directory"
sed '/^standalone = true$/d' "$shim" >"$TMP/merging-shim.conf"

mkdir -m 0700 "$TMP/run-root" "$TMP/run-nobody"
chown nobody "$TMP/run-nobody"

# ------------------------------------------------------------ the layers
P11MUX_CONF=$TMP/merging-shim.conf XDG_RUNTIME_DIR=$TMP/run-root \
    run pkcs11-tool --module "$so" -L || true
expect_contains "$ERR" "load the same library" \
    "without standalone the shim merges over the system file and is refused"

P11MUX_CONF=$shim XDG_RUNTIME_DIR=$TMP/run-root \
    check "the standalone shim over a system file" pkcs11-tool --module "$so" -L
expect_contains "$OUT" "token label        : traced" "the traced token is listed"
expect_not_contains "$ERR" "p11mux:" "and p11mux has nothing to complain about"

cp "$TMP/etc/p11mux/p11mux.conf" "$TMP/system.conf"
printf '[global]\npolicy-override = stricter-only\n' >"$TMP/etc/p11mux/p11mux.conf"
P11MUX_CONF=$shim XDG_RUNTIME_DIR=$TMP/run-root run pkcs11-tool --module "$so" -L || true
expect_contains "$ERR" "standalone = true is refused: $TMP/etc/p11mux/p11mux.conf:2 says policy-override = stricter-only" \
    "policy-override = stricter-only refuses the standalone file"
cp "$TMP/system.conf" "$TMP/etc/p11mux/p11mux.conf"

# ------------------------------------------------------------ two users
as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups env XDG_RUNTIME_DIR="$TMP/run-nobody" "$@"
}
P11MUX_CONF=$shim XDG_RUNTIME_DIR=$TMP/run-root \
    check "root traces through the shim" pkcs11-tool --module "$so" -L
P11MUX_CONF=$shim check "nobody traces through the same shim" as_nobody pkcs11-tool --module "$so" -L
for user in root nobody; do
    trace=$TMP/run-$user/p11mux-trace.json
    if [ -s "$trace" ] && [ "$(stat -c %U "$trace")" = "$user" ]; then
        pass "$user's trace is $trace, owned by $user"
    else
        fail "$user has no trace of their own at $trace"
    fi
    expect_contains "$trace" '"function":"C_GetSlotList"' "$user's trace holds the calls"
done

# the old example: one fixed path for everyone
sed "s|^trace = .*|trace = file:$TMP/p11mux-trace.json|" "$shim" >"$TMP/fixed.conf"
P11MUX_CONF=$TMP/fixed.conf check "root traces into a fixed path" pkcs11-tool --module "$so" -L
P11MUX_CONF=$TMP/fixed.conf run as_nobody pkcs11-tool --module "$so" -L || true
expect_contains "$ERR" "cannot open $TMP/p11mux-trace.json" \
    "a fixed path locks the second user out (what %r avoids)"
