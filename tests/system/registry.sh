#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# p11mux registered with p11-kit, in a private registry (a private mount
# namespace: p11-kit ignores the user's registry as root, so the test
# bind-mounts its own directory over p11-kit's): `p11-kit list-modules`
# shows it, and p11-kit's consumers (p11-kit-proxy.so, GnuTLS's p11tool
# without --provider) load it.  Then import-p11-kit: registered mock
# modules become backends named after their p11-kit names, with their
# x-init-reserved; a [backend NAME] of the same name overrides or disables
# one; p11mux itself, another copy of p11mux.so, p11-kit-client.so and
# p11-kit-proxy.so are never imported, and nothing hangs when p11mux is
# itself loaded by p11-kit while importing p11-kit's registry.
set -eu
# shellcheck source=system.sh
. "$(dirname "$0")/system.sh"
system_enter_namespace "$@"
# shellcheck source=../integration/harness.sh
. "$top_srcdir/tests/integration/harness.sh"

require p11-kit timeout pkcs11-tool
so=$(p11mux_installed_so)
proxy=$(harness_first_file /usr/lib/x86_64-linux-gnu/p11-kit-proxy.so /usr/lib64/p11-kit-proxy.so \
    /usr/lib/p11-kit-proxy.so)
client=$(module_dir)/p11-kit-client.so
require "$proxy" "$client"
private_registry
private_sysconfdir

# ---------------------------------------------------------------- the file
if [ -f "$top_builddir/conf/p11mux.module" ]; then
    expect_line "$top_builddir/conf/p11mux.module" "module: $pkcs11dir/p11mux.so" \
        "conf/p11mux.module names the installed p11mux.so ($pkcs11dir)"
    expect_line "$top_builddir/conf/p11mux.module" "critical: no" \
        "conf/p11mux.module is not critical"
else
    fail "conf/p11mux.module was not built"
fi

# ---------------------------------------------------------------- registration
setup_mocks mock-a mock-b mock-c mock-d mock-e
write_config "$TMP/plain.conf" mock-a
P11MUX_CONF=$TMP/plain.conf
export P11MUX_CONF

check "p11-kit lists no module in the empty private registry" timeout 60 p11-kit list-modules
expect_not_contains "$OUT" "p11-kit-trust" "the system's registrations are hidden"
register_p11mux p11mux
check "p11-kit list-modules with p11mux registered" timeout 60 p11-kit list-modules
expect_line "$OUT" "p11mux: $so" "p11-kit lists p11mux with its module file"
expect_line "$OUT" "    library-description: p11mux PKCS #11 router" "p11-kit shows p11mux's description"
expect_line "$OUT" "    token: mock-a" "p11-kit shows the token of p11mux's backend"

check "p11-kit-proxy.so loads p11mux from the registry" timeout 60 "$PROBE" "$proxy" tokens
awk '{ print $2 }' "$OUT" >"$TMP/proxy-labels"
expect_line "$TMP/proxy-labels" mock-a "p11-kit-proxy.so shows the token of p11mux's backend"

if command -v p11tool >/dev/null 2>&1; then
    check "p11tool --list-tokens (no --provider: the registry)" timeout 60 p11tool --list-tokens
    expect_contains "$OUT" "Label: mock-a" "GnuTLS loads p11mux from the registry"
else
    printf 'SKIP: p11tool is not installed: GnuTLS as a registry consumer not tested\n'
fi

# ---------------------------------------------------------------- import-p11-kit
# mock-b: plain; mock-c: disabled by the configuration; mock-d: overridden
# (its group loads mock-e.so instead); mock-r: x-init-reserved picks another
# configuration file of the mock; p11mux-copy: p11mux.so under another name
printf '[mock]\n[slot 1]\ntoken-label = mock-reserved\n' >"$TMP/reserved.conf"
cp "$TMP/mock-b.so" "$TMP/mock-r.so"
cp "$so" "$TMP/p11mux-copy.so"
register mock-b "module: $TMP/mock-b.so"
register mock-c "module: $TMP/mock-c.so"
register mock-d "module: $TMP/mock-d.so"
register mock-r "module: $TMP/mock-r.so" "x-init-reserved: config=$TMP/reserved.conf"
register p11mux-copy "module: $TMP/p11mux-copy.so"
register client "module: $client"
register proxy "module: $proxy"
write_config "$TMP/import.conf" +import-p11-kit=true mock-a \
    mock-c="$TMP/mock-c.so" +enabled=false mock-d="$TMP/mock-e.so"
P11MUX_CONF=$TMP/import.conf

imported_tokens() {
    awk '{ print $2 }' "$OUT" | LC_ALL=C sort >"$TMP/$1"
}
printf '%s\n' mock-a mock-b mock-e mock-reserved | LC_ALL=C sort >"$TMP/expected"

check "p11mux imports p11-kit's registry" timeout 60 "$PROBE" "$so" tokens
cp "$OUT" "$TMP/import-1"
imported_tokens labels
expect_equal "$TMP/expected" "$TMP/labels" \
    "tokens: configured mock-a, imported mock-b and mock-reserved, overridden mock-d's mock-e; not the disabled mock-c, nor any twice"
expect_contains "$ERR" "module 'p11mux-copy' ($TMP/p11mux-copy.so) is not imported: it is another copy of p11mux" \
    "another copy of p11mux is refused, with the reason"
expect_contains "$ERR" "module 'client' ($client) is not imported: p11-kit-client.so forwards" \
    "p11-kit-client.so is refused, with the reason"
expect_not_contains "$ERR" "module 'p11mux' (" "p11mux itself is left out silently"
check "p11mux imports the same way again" timeout 60 "$PROBE" "$so" tokens
expect_equal "$TMP/import-1" "$OUT" "imported backends keep their slot ids"

check "pkcs11-tool lists the imported tokens through p11mux" timeout 60 \
    pkcs11-tool --module "$so" -L
token_labels "$OUT" >"$TMP/pkcs11-tool-labels"
expect_line "$TMP/pkcs11-tool-labels" mock-reserved "pkcs11-tool shows the imported token"

# p11mux loaded by p11-kit, reading p11-kit's registry from inside its C_Initialize
check "p11-kit list-modules with p11mux importing the registry" timeout 60 p11-kit list-modules
sed -n '/^p11mux: /,/^[^ ]/p' "$OUT" | sed -n 's/^    token: //p' | LC_ALL=C sort >"$TMP/labels"
expect_equal "$TMP/expected" "$TMP/labels" "p11-kit shows p11mux with exactly its own and the imported tokens"
check "p11-kit-proxy.so with p11mux importing the registry" timeout 60 "$PROBE" "$proxy" tokens
expect_contains "$OUT" " mock-reserved" "p11-kit-proxy.so shows the imported tokens"

# a registry p11-kit itself refuses: a critical module that cannot load
register broken "module: $TMP/no-such-module.so" "critical: yes"
check_fails "p11mux fails to initialise when p11-kit cannot read its registry" timeout 60 \
    "$PROBE" "$so" tokens
expect_contains "$ERR" "import-p11-kit: p11-kit cannot load its module registry" \
    "p11mux says why"
write_config "$TMP/no-import.conf" mock-a
check "without import-p11-kit the registry is not read (the broken one is still there)" \
    timeout 60 env P11MUX_CONF="$TMP/no-import.conf" "$PROBE" "$so" tokens
awk '{ print $2 }' "$OUT" >"$TMP/labels"
expect_line "$TMP/labels" mock-a "only the configured backend"
expect_not_contains "$TMP/labels" mock-b "no imported backend"
