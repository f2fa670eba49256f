#!/bin/sh
# The p11mux demo: installs what it needs, builds p11mux, then shows it over
# temporary SoftHSM2 and NSS softoken tokens (and p11-kit-trust): the
# unified slot list, slot ids that stay the same, a key made and used on a
# chosen token through p11mux and seen by the backend itself.
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
bash "$srcdir/scripts/deps.sh"
echo "== building p11mux (out of tree, in _build/main)"
bash "$srcdir/scripts/build.sh" "$srcdir/_build/main"

top_srcdir=$srcdir
top_builddir=$srcdir/_build/main
export top_srcdir top_builddir
# shellcheck source=tests/integration/harness.sh
. "$srcdir/tests/integration/harness.sh"

so=$(p11mux_so)
setup_softhsm alpha beta
setup_nss
write_config "$TMP/p11mux.conf" softhsm nss trust
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF

step() {
    printf '\n== %s\n' "$*"
}

step "the configuration (P11MUX_CONF=$P11MUX_CONF)"
cat "$P11MUX_CONF"

step "one slot list for three vendor modules: pkcs11-tool --module p11mux.so -L"
pkcs11-tool --module "$so" -L | grep -E '^Slot|token label|token manufacturer'

step "the same slot ids in a new process"
pkcs11-tool --module "$so" -L | slot_ids /dev/stdin >"$TMP/ids1"
pkcs11-tool --module "$so" -L | slot_ids /dev/stdin >"$TMP/ids2"
if cmp -s "$TMP/ids1" "$TMP/ids2"; then
    echo "stable: $(tr '\n' ' ' <"$TMP/ids1")"
else
    echo "slot ids changed between runs" >&2
    exit 1
fi

step "an EC P-256 key made on SoftHSM token 'beta' through p11mux, and a signature"
pkcs11-tool --module "$so" --token-label beta --login --pin "$PIN" \
    --keypairgen --key-type EC:prime256v1 --id 01 --label demo-key | grep -E 'Private Key|label|EC_POINT' | head -3
printf 'signed through p11mux\n' >"$TMP/data"
# SoftHSM2 has no CKM_ECDSA_SHA256: sign the SHA-256 digest with CKM_ECDSA
openssl dgst -sha256 -binary "$TMP/data" >"$TMP/digest"
pkcs11-tool --module "$so" --token-label beta --login --pin "$PIN" --id 01 \
    --sign --mechanism ECDSA --input-file "$TMP/digest" --output-file "$TMP/sig" 2>/dev/null
echo "signature: $(wc -c <"$TMP/sig") bytes"
pkcs11-tool --module "$so" --token-label beta --id 01 --verify --mechanism ECDSA \
    --input-file "$TMP/digest" --signature-file "$TMP/sig" 2>/dev/null

step "SoftHSM2 itself, without p11mux, sees the key p11mux made"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label beta --login --pin "$PIN" -O 2>/dev/null |
    grep -E 'Object|label' | head -4

step "a key on the NSS token through the same module"
pkcs11-tool --module "$so" --token-label "NSS Certificate DB" \
    --keypairgen --key-type EC:prime256v1 --id 02 --label nss-demo 2>/dev/null | grep -E 'Private Key|label' | head -2
certutil -K -d "sql:$NSS_DB" 2>/dev/null | head -3

printf '\n== done: p11mux routed every call to the backend that owns the slot\n'
