#!/bin/sh
# p11mux beside p11-kit: check-config and list warn about a backend whose
# library is also registered with p11-kit (p11-kit's consumers reach it
# around p11mux's policy and list its tokens twice), naming the .module
# file and the fix; an 'enable-in:' (empty) registration stops the warning;
# p11mux's own registration never makes the command say "another copy of
# p11mux".  The testable p11mux reads the registry $P11MUX_TESTABLE_REGISTRY
# (tests/testable/testable-site.c).
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source=tests/cli/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"

setup_mocks mock-a mock-b
REGISTRY=$TMP/registry
mkdir "$REGISTRY"
P11MUX_TESTABLE_REGISTRY=$REGISTRY
export P11MUX_TESTABLE_REGISTRY
write_config "$TMP/p11mux.conf" mock-a mock-b
printf 'module: %s\n' "$TMP/mock-b.so" >"$REGISTRY/vendor-b.module"

warning="p11mux: warning: backend 'mock-b' ($TMP/mock-b.so) is also registered with p11-kit by $REGISTRY/vendor-b.module:"
check "check-config with a backend registered with p11-kit" "$P11MUX" check-config --config "$TMP/p11mux.conf"
expect_contains "$ERR" "$warning" "check-config names the backend and the .module file"
expect_contains "$ERR" "around p11mux and its policy" "and says why it matters"
expect_contains "$ERR" "write 'enable-in:' (empty) into $REGISTRY/vendor-b.module" "and the fix"
expect_not_contains "$ERR" "backend 'mock-a'" "a backend p11-kit does not know is not named"
check "list with a backend registered with p11-kit" "$P11MUX" list --config "$TMP/p11mux.conf"
expect_contains "$ERR" "$warning" "list warns too"
expect_line "$OUT" "backend mock-b" "and lists the backend all the same"

# the fix: p11-kit's consumers no longer load it
printf 'module: %s\nenable-in:\n' "$TMP/mock-b.so" >"$REGISTRY/vendor-b.module"
check "check-config once the registration is disabled" "$P11MUX" check-config --config "$TMP/p11mux.conf"
expect_not_contains "$ERR" "warning" "no warning"

# p11mux registered itself, with import-p11-kit: the command is quiet
cp "$top_builddir/tests/testable/.libs/p11mux.so" "$TMP/p11mux.so"
printf 'module: %s\n' "$TMP/p11mux.so" >"$REGISTRY/p11mux.module"
write_config "$TMP/import.conf" +import-p11-kit=true mock-a
for command in list check-config; do
    check "$command with p11mux registered and import-p11-kit" "$P11MUX" "$command" --config "$TMP/import.conf"
    expect_not_contains "$ERR" "another copy" "$command says nothing of another copy of p11mux"
    expect_not_contains "$ERR" "p11mux.module" "nor warns about p11mux's own registration"
done
expect_line "$OUT" "$TMP/import.conf: ok"
