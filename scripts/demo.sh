#!/bin/sh
# The p11mux demo: installs what it needs, builds p11mux, then shows it over
# temporary SoftHSM2 and NSS softoken tokens (and p11-kit-trust): `p11mux
# list`, the unified slot list, slot ids that stay the same, a key made and
# used on a chosen token through p11mux and seen by the backend itself, a
# policy refusing a weak mechanism and hiding a token and an object, a
# trace with the PIN redacted, the sandbox path through p11-kit server, and
# an HA group of two replicas signing on while one of them dies.
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

so=$(p11mux_installed_so)
setup_softhsm alpha beta
setup_nss
# standalone: whatever this machine configures system-wide, the demo's
# files are the only layer (p11mux.conf(5))
write_config "$TMP/p11mux.conf" +standalone=true softhsm nss trust
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

step "p11mux list: backends, slots and the policy that applies"
"$top_builddir/src/cli/p11mux" list | head -24

# ------------------------------------------------------------------ policy
pkcs11-tool --module "$so" --token-label beta --login --pin "$PIN" --write-object "$TMP/data" \
    --type data --label backup-note >/dev/null 2>&1
cat >"$TMP/policy.conf" <<CONF
[global]
standalone = true
policy = demo
trace = file:$TMP/trace.txt
trace-format = text
[backend softhsm]
module = $SOFTHSM_MODULE
[backend nss]
module = $NSS_MODULE
init-reserved = $NSS_INIT_RESERVED
[policy demo]
tokens = pkcs11:token=beta pkcs11:token=NSS%20Certificate%20DB
deny-mechanisms = CKM_*MD2* CKM_*MD5* CKM_*SHA1* CKM_*SHA_1* CKM_SSL3_* CKM_TLS_PRF CKM_TLS_MASTER_KEY_DERIVE* CKM_TLS_KEY_AND_MAC_DERIVE CKM_*DES*
deny-objects = pkcs11:object=backup-note
min-key-bits = rsa:2048 ec:256
CONF
step "a policy (P11MUX_CONF=$TMP/policy.conf)"
sed -n '/^\[policy/,$p' "$TMP/policy.conf"

step "token alpha is hidden: only beta and the NSS database are listed"
P11MUX_CONF=$TMP/policy.conf pkcs11-tool --module "$so" -L | grep 'token label'

step "SHA-1 is refused (CKR_MECHANISM_INVALID), SHA-256 works"
if P11MUX_CONF=$TMP/policy.conf pkcs11-tool --module "$so" --token-label beta --hash -m SHA-1 \
    --input-file "$TMP/data" >/dev/null 2>"$TMP/sha1.err"; then
    echo "SHA-1 was allowed" >&2
    exit 1
fi
grep -o 'CKR_[A-Z_]*' "$TMP/sha1.err" | head -1
P11MUX_CONF=$TMP/policy.conf pkcs11-tool --module "$so" --token-label beta --hash -m SHA256 \
    --input-file "$TMP/data" | od -An -tx1 | head -1

step "the object backup-note: seen by SoftHSM2 directly, hidden through p11mux"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label beta --login --pin "$PIN" -O --type data 2>/dev/null |
    grep -E "label" || true
hidden=$(P11MUX_CONF=$TMP/policy.conf pkcs11-tool --module "$so" --token-label beta --login \
    --pin "$PIN" -O --type data 2>/dev/null | grep -c "backup-note" || true)
echo "objects labelled backup-note found through p11mux: $hidden"

step "the trace of those calls: C_Login with its PIN redacted"
grep -A5 'C_Login ' "$TMP/trace.txt" | head -7

# ------------------------------------------------------------------ sandbox
if command -v p11-kit >/dev/null 2>&1 && [ -f "$(dirname "$TRUST_MODULE")/p11-kit-client.so" ]; then
    step "the sandbox path: p11-kit server runs p11mux with the policy; the client sees what it allows"
    sed -e '/^trace/d' "$TMP/policy.conf" >"$TMP/sandbox.conf"
    P11MUX_CONF=$TMP/sandbox.conf p11-kit server -f -n "$TMP/server.sock" --provider "$so" "pkcs11:" \
        >/dev/null 2>&1 &
    server=$!
    i=0
    while [ ! -S "$TMP/server.sock" ] && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    P11_KIT_SERVER_ADDRESS=unix:path=$TMP/server.sock P11MUX_CONF=/dev/null \
        pkcs11-tool --module "$(dirname "$TRUST_MODULE")/p11-kit-client.so" -L | grep 'token label'
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
fi

# ------------------------------------------------------------------ HA group
step "an HA group: one token 'signing' over two SoftHSM2 replicas holding the same keys"
# p11fault.so (tests/fault/, test-only) wraps SoftHSM2 and fails the calls
# its rules name: here it stands for a member that dies
make -C "$top_builddir" tests/fault/p11fault.la >"$TMP/p11fault-make.out" 2>&1 ||
    { cat "$TMP/p11fault-make.out"; exit 1; }
# shellcheck source=tests/group/replicas.sh
. "$srcdir/tests/group/replicas.sh"
setup_replicas replica-a replica-b
{
    printf '[global]\nstandalone = true\ntrace = file:%s\n' "$TMP/group-trace.txt"
    fault_module_conf fault
    printf '[group signing]\nmembers = fault:pkcs11:token=replica-a fault:pkcs11:token=replica-b\n'
    printf 'dispatch = primary\n'
} >"$TMP/group.conf"
sed -n '/^\[group/,$p' "$TMP/group.conf"
P11MUX_CONF=$TMP/group.conf pkcs11-tool --module "$so" -L >"$TMP/group-slots"
grep -E -A3 '^Slot .*HA group' "$TMP/group-slots" | grep -E '^Slot|token (label|model)'
echo "member tokens in the slot list: $(grep -c 'token label *: replica-' "$TMP/group-slots" || true)"
printf 'signed through an HA group\n' >"$TMP/group-data"
# group_sign N: a signature through the group, verified with the public key
# the replicas hold; which member made it, from p11fault's counts
group_sign() {
    P11MUX_CONF=$TMP/group.conf pkcs11-tool --module "$so" --token-label signing --login \
        --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/group-data" \
        --output-file "$TMP/group-$1.sig" 2>/dev/null
    printf 'signature %s: %s (signed by %s)\n' "$1" "$(openssl dgst -sha256 \
        -verify "$REPLICAS_DIR/rsa-pub.der" -keyform DER -signature "$TMP/group-$1.sig" \
        "$TMP/group-data")" "$(if [ "$(fault_count replica-b C_Sign)" -gt 0 ]; then
            echo replica-b; else echo replica-a; fi)"
}
group_sign 1
step "replica-a dies: its C_Sign answers CKR_DEVICE_REMOVED; the signatures go on"
fault_rules 'token=replica-a fn=C_Sign rv=CKR_DEVICE_REMOVED count=always'
group_sign 2
group_sign 3
echo "the trace: replica-a going down, the signature moved to replica-b"
grep -m1 'group.member.state' "$TMP/group-trace.txt" | sed 's/^[^ ]* pid [0-9]* tid [0-9]* //'
grep -m1 'group.failover' "$TMP/group-trace.txt" | sed 's/^[^ ]* pid [0-9]* tid [0-9]* //'

printf '\n== done: p11mux routed every call to the backend that owns the slot\n'

