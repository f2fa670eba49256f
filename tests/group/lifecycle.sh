#!/bin/sh
# The life of an HA group (HA-GROUPS.md §14.1, tests 1, 2, 14, 15, 19, 20,
# 23, 24, 25, 27, 28) over two SoftHSM2 replicas behind p11fault.so, and
# over two mock members for the mechanism intersection.  What one process
# must see (handles, re-admission, all-down, no threads, fork, refused
# administration) is group-life.c's; the rest is pkcs11-tool's, one process
# per run (p11fault counts per process).
#
#  1  the group's slot id and serial are the same across restarts, with the
#     members swapped, with replica-a down at start (its probe failing) and
#     with a first member whose token is absent
#  2  a handle found in one session signs in another, and after replica-a
#     was down and re-admitted (group-life handles)
# 14  replica-b's PIN changed directly on SoftHSM2: the group's C_Login
#     works, replica-b is QUARANTINED (trace), is never asked to sign, and
#     the group signs
# 15  re-admission logs replica-a in with the kept PIN; with
#     pin-retention = none it waits in RECOVERING until the next C_Login
# 19  C_InitToken, C_InitPIN, C_SetPIN, C_Login(CKU_SO), C_Get/SetOperation-
#     State refused with the codes of §6.4 and §8.2; no member saw them
# 20  both members failing: CKR_DEVICE_ERROR, the session kept; one back
#     (their probes failing made the backend lost: it is re-initialised, a
#     reconnect): the same session signs with the same key handle without a
#     new C_Login.  all-down = close-sessions is groups.sh's (group-events)
# 23  CKF_LIBRARY_CANT_CREATE_OS_THREADS: no thread, re-admission inline
# 24  fork(): the child initialises, is not logged in, logs in and signs
# 25  mock members with different mechanisms: the intersection, the
#     largest ulMinKeySize, the smallest ulMaxKeySize, the flags ANDed
# 27  `p11-kit server --provider p11mux.so` serving the group to
#     p11-kit-client.so: each identity found once, a signature that
#     verifies, a failover the client does not see
# 28  the trace (text and JSON, pin-retention = memory) holds the PIN in no
#     encoding after login, failover and re-admission
#
# Not here: #28's core dump half (that the MADV_DONTDUMP page is left out
# of a core) needs core dumps the test machine may not allow.
set -eu
# shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source-path=SCRIPTDIR source=replicas.sh
. "$(dirname "$0")/replicas.sh"
require pkcs11-tool softhsm2-util openssl python3 "$SOFTHSM_MODULE"

# a PIN the secret scan (28) cannot find by chance
PIN=Lc9-p1n-2718
so=$(p11mux_so)
life_program=$top_builddir/tests/group/group-life
[ -x "$life_program" ] || die "$life_program is not built (make check builds it)"
setup_replicas replica-a replica-b
printf 'data signed through the group' >"$TMP/data"
# PKCS #1 v1.5 signatures of one key are one value
openssl dgst -sha256 -sign "$REPLICAS_DIR/rsa.pem" -out "$TMP/reference.sig" "$TMP/data"
AB='fault:pkcs11:token=replica-a fault:pkcs11:token=replica-b'
BA='fault:pkcs11:token=replica-b fault:pkcs11:token=replica-a'

# conf MEMBERS [GROUP-LINES]: the group "signing", primary dispatch, fast
# probes; the trace emptied ($FORMAT: text or json)
conf() {
    {
        printf '[global]\nuser-config = none\ntrace = file:%s\ntrace-format = %s\n%s' \
            "$TMP/trace" "${FORMAT:-text}" "${GLOBAL_EXTRA:-}"
        fault_module_conf fault
        printf '[group signing]\nmembers = %s\ndispatch = %s\nerror-threshold = 1\n' "$1" \
            "${DISPATCH:-primary}"
        printf 'probe-interval = 100ms\nrecover-backoff = 100ms 400ms\n%s\n' "${2:-}"
    } >"$TMP/p11mux.conf"
    : >"$TMP/trace"
}
conf "$AB"
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF
fault_rules ""

mux() {
    pkcs11-tool --module "$so" "$@"
}

# life MODE: run group-life in MODE, its PASS:/FAIL: lines prefixed
life() {
    life_status=0
    "$life_program" "$so" "$PIN" "$P11FAULT_RULES" "$TMP/trace" "$1" >"$TMP/life.out" 2>&1 ||
        life_status=$?
    program_results "$TMP/life.out" "$life_status" "group-life $1" "$1: "
}

# ------------------------------------------------------------ 1: identity

# "SLOT-ID SERIAL" of the token labelled signing in a `pkcs11-tool -L` output
group_identity() {
    awk '/^Slot [0-9]+ \(0x/ { slot = $3; here = "" }
        /^  token label *: signing$/ { here = slot }
        /^  serial num *:/ && here != "" { print here, $NF; here = "" }' "$OUT"
}

# identity_is DESCRIPTION: the group's identity now is the first one
identity_is() {
    if ! run mux -L; then
        fail "$1: pkcs11-tool -L failed"
        harness_show_output
        return 0
    fi
    group_identity >"$TMP/identity"
    if [ -s "$TMP/identity" ] && cmp -s "$TMP/identity" "$TMP/identity-first"; then
        pass "$1: slot id and serial $(cat "$TMP/identity")"
    else
        fail "$1: '$(cat "$TMP/identity")', not '$(cat "$TMP/identity-first")'"
    fi
}

check "the slot list" mux -L
group_identity >"$TMP/identity-first"
if [ "$(wc -w <"$TMP/identity-first")" -eq 2 ]; then
    pass "the group's slot id and serial: $(cat "$TMP/identity-first")"
else
    fail "the group's token is not listed once: '$(cat "$TMP/identity-first")'"
fi
identity_is "after a restart"
# HA-GROUPS.md §3: 16 hex digits of SHA-256("p11mux-group:" + group name)
serial=$(printf 'p11mux-group:signing' | openssl dgst -sha256 -r | cut -c1-16)
if [ "$(cut -d' ' -f2 "$TMP/identity-first")" = "$serial" ]; then
    pass "the serial is the one the design derives from the group's name"
else
    fail "the serial is not $serial: $(cat "$TMP/identity-first")"
fi
conf "$BA"
identity_is "with the members swapped"
conf "$AB"
fault_rules "token=replica-a fn=C_GetTokenInfo rv=CKR_DEVICE_ERROR count=always"
identity_is "with replica-a down at start"
check "p11mux list with replica-a down at start" "$top_builddir/tests/testable/bin/p11mux" list \
    --config "$TMP/p11mux.conf"
sed -n '/member 0: fault:pkcs11:token=replica-a/,/state:/p' "$OUT" >"$TMP/member-a"
expect_contains "$TMP/member-a" "state: down" "replica-a started down"
fault_rules ""
conf "fault:pkcs11:token=replica-z $AB"
identity_is "with a first member whose token is absent"

# ------------------------------------------------------------ 2, 15, 20, 23, 24, 19

conf "$AB"
life handles
expect_contains "$TMP/trace" "token=replica-a): recovering -> active" "2: replica-a was re-admitted"
conf "$AB"
life readmit
conf "$AB" "pin-retention = none"
life no-retention
conf "$AB"
life all-down
conf "$AB"
life no-threads
conf "$AB"
life fork
conf "$AB"
life admin
for fn in C_InitToken C_InitPIN C_SetPIN C_GetOperationState C_SetOperationState; do
    expect_count replica-a "$fn" -eq 0 "19: replica-a never saw $fn"
    expect_count replica-b "$fn" -eq 0 "19: replica-b never saw $fn"
done
expect_count replica-a C_Login -eq 2 "19: replica-a saw the user's two C_Login and not the SO's"

# ------------------------------------------------------------ 25: mechanisms

setup_mocks mock-a mock-b
cat >>"$TMP/mock-a.conf" <<'EOF'
mechanisms = CKM_SHA256 CKM_SHA256_HMAC CKM_RSA_PKCS:1024:4096:CKF_SIGN|CKF_VERIFY CKM_AES_KEY_GEN
EOF
cat >>"$TMP/mock-b.conf" <<'EOF'
mechanisms = CKM_SHA256 CKM_RSA_PKCS:2048:8192:CKF_SIGN|CKF_VERIFY|CKF_DECRYPT CKM_VENDOR_DEFINED+1
EOF
write_config "$TMP/mocks.conf" mock-a mock-b
printf '[group mocks]\nmembers = mock-a:pkcs11:token=mock-a mock-b:pkcs11:token=mock-b\n' \
    >>"$TMP/mocks.conf"
P11MUX_CONF=$TMP/mocks.conf check "25: the group's mechanisms" mux -M --token-label mocks
sed -n 's/^  //p' "$OUT" >"$TMP/mechanisms"
expect_line "$TMP/mechanisms" "SHA256, digest" "25: CKM_SHA256, which both have"
expect_line "$TMP/mechanisms" "RSA-PKCS, keySize={2048,4096}, sign, verify" \
    "25: CKM_RSA_PKCS: the largest minimum, the smallest maximum, the flags both have"
expect_not_contains "$TMP/mechanisms" "HMAC" "25: CKM_SHA256_HMAC (mock-a's alone) is left out"
expect_not_contains "$TMP/mechanisms" "AES-KEY-GEN" "25: CKM_AES_KEY_GEN (mock-a's alone) is left out"
expect_not_contains "$TMP/mechanisms" "0x80000001" "25: mock-b's vendor mechanism is left out"
if [ "$(grep -c . "$TMP/mechanisms")" -eq 2 ]; then
    pass "25: two mechanisms in the intersection"
else
    fail "25: the intersection is not two mechanisms:"
    sed 's/^/    /' "$TMP/mechanisms"
fi

# ------------------------------------------------------------ 28: no PIN in the trace

# check_pin_absent FILE DESCRIPTION: the PIN nowhere in FILE, raw, in hex
# (either case) or in base64 at any alignment (tests/integration/trace.sh)
check_pin_absent() {
    if python3 - "$1" "$PIN" <<'PY'; then
import base64, binascii, sys
data = open(sys.argv[1], "rb").read()
secret = sys.argv[2].encode()
forms = [secret, binascii.hexlify(secret), binascii.hexlify(secret).upper(),
         base64.b64encode(secret).rstrip(b"=")]
forms += [base64.b64encode(b"\0" * shift + secret)[4:-4] for shift in (1, 2)]
sys.exit(1 if any(form in data for form in forms) else 0)
PY
        pass "$2"
    else
        fail "$2: found in $1"
    fi
}

for FORMAT in text json; do
    conf "$AB" "pin-retention = memory"
    life readmit
    cp "$TMP/trace" "$TMP/trace-28.$FORMAT"
    expect_contains "$TMP/trace-28.$FORMAT" "group.failover" "28 ($FORMAT): the trace holds the failover"
    expect_contains "$TMP/trace-28.$FORMAT" "group.member.state" \
        "28 ($FORMAT): the trace holds replica-a's state changes"
    expect_contains "$TMP/trace-28.$FORMAT" "recovering -> active" \
        "28 ($FORMAT): ... its re-admission among them"
    expect_contains "$TMP/trace-28.$FORMAT" "C_Login" "28 ($FORMAT): ... and the login"
    check_pin_absent "$TMP/trace-28.$FORMAT" "28 ($FORMAT): the PIN appears in no encoding"
done
FORMAT=text

# ------------------------------------------------------------ 27: p11mux served

# p11mux behind `p11-kit server`, its pid in served-mux/pgid so that the
# fixture's exit trap kills it
serve_mux() {
    mkdir -p "$TMP/served-mux"
    rm -f "$TMP/mux.sock"
    setsid p11-kit server -f -n "$TMP/mux.sock" --provider "$so" "pkcs11:token=signing" \
        >"$TMP/served-mux/server.out" 2>"$TMP/served-mux/server.err" &
    printf '%s\n' "$!" >"$TMP/served-mux/launcher"
    life_tries=0
    life_pid=
    while [ -z "$life_pid" ] || [ ! -S "$TMP/mux.sock" ]; do
        life_pid=$(sed -n 's/^P11_KIT_SERVER_PID=\([0-9]*\);.*/\1/p' "$TMP/served-mux/server.out")
        life_tries=$((life_tries + 1))
        if [ "$life_tries" -gt 100 ]; then
            sed 's/^/    /' "$TMP/served-mux/server.err"
            fail "27: p11-kit server does not listen on $TMP/mux.sock"
            return 1
        fi
        sleep 0.1
    done
    printf '%s\n' "$life_pid" >"$TMP/served-mux/pgid"
}

client() {
    P11_KIT_SERVER_ADDRESS=unix:path=$TMP/mux.sock pkcs11-tool --module "$P11KIT_CLIENT_MODULE" "$@"
}

# count_id ID N: the objects of `pkcs11-tool -O` with CKA_ID ID are N
count_id() {
    life_n=$(grep -c -x -e "$1" "$TMP/ids-27" || true)
    if [ "$life_n" -eq "$2" ]; then
        pass "27: identity $1: $2 objects (one per class)"
    else
        fail "27: identity $1: $life_n objects, not $2"
    fi
}

# (require's verdict, in a subshell: p11-kit missing, or unable to run with
# the sanitizer runtime preloaded, skips this part alone)
if ! (require setsid p11-kit "$P11KIT_CLIENT_MODULE") >"$TMP/require-27" 2>&1; then
    printf 'SKIP: 27: %s\n' "$(sed 's/^SKIP: //' "$TMP/require-27")"
else
    # p11-kit server, given a token URI, opens a session on every token it
    # meets and gives up at SoftHSM2's free (uninitialised) one, which p11mux
    # shows: a policy shows the group's token alone
    GLOBAL_EXTRA='policy = served
[policy served]
tokens = pkcs11:token=signing
'
    conf "$AB"
    GLOBAL_EXTRA=
    fault_rules ""
    if serve_mux; then
        check "27: the served token's objects" client --token-label signing --login --pin "$PIN" -O
        object_ids "$OUT" >"$TMP/ids-27"
        count_id 01 3
        count_id 03 2
        count_id 02 1
        check "27: a signature through p11-kit-client.so" client --token-label signing --login \
            --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" \
            --output-file "$TMP/served.sig"
        check "27: openssl verifies it" openssl dgst -sha256 -verify "$REPLICAS_DIR/rsa-pub.der" \
            -keyform DER -signature "$TMP/served.sig" "$TMP/data"
        fault_rules "token=replica-a fn=C_Sign rv=CKR_DEVICE_ERROR count=always"
        check "27: a signature while replica-a fails C_Sign" client --token-label signing \
            --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" \
            --output-file "$TMP/served-over.sig"
        expect_count replica-a C_Sign -ge 1 "27: replica-a was asked and failed"
        expect_count replica-b C_Sign -ge 1 "27: replica-b signed instead"
        expect_equal "$TMP/served.sig" "$TMP/reference.sig" "27: the signature is the replicas' key's"
        expect_equal "$TMP/served-over.sig" "$TMP/reference.sig" \
            "27: the client got the same signature (the failover unseen)"
        fault_rules ""
        kill_served mux
    fi
fi

# ------------------------------------------------------------ 14: PIN changed out of band

# last: replica-b keeps its new PIN
DISPATCH=round-robin
conf "$AB"
check "14: replica-b's PIN changed on SoftHSM2 directly" pkcs11-tool --module "$SOFTHSM_MODULE" \
    --token-label replica-b --login --pin "$PIN" --change-pin --new-pin 97531
for i in 1 2; do
    check "14: the group logs in and signs ($i)" mux --token-label signing --login --pin "$PIN" \
        --sign --id 01 -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/q$i.sig"
    expect_count replica-b C_Login -eq 1 "14: replica-b was asked once with the PIN ($i)"
    expect_count replica-b C_Sign -eq 0 "14: replica-b never signs ($i)"
done
expect_equal "$TMP/q2.sig" "$TMP/reference.sig" "14: the signature is the replicas' key's"
expect_contains "$TMP/trace" "token=replica-b): active -> quarantined" \
    "14: the trace shows replica-b QUARANTINED"
