#!/bin/sh
# The closed world of a policy (p11mux.conf(5), WHAT A POLICY REFUSES),
# attacked over SoftHSM2 and NSS softoken by tests/policy/closed-world.c:
# operation state, templates, selectors and handles inside mechanism
# parameters, unknown mechanisms and parameter lengths that lie.  In-process
# (the program loads the backends directly too, to make keys and learn the
# hidden key's handle) under two configurations, then through `p11-kit
# server` with a configuration made from conf/sandbox.conf, the client
# having only p11-kit-client.so. The program's PASS/FAIL lines are counted
# here; a program that dies (a backend crashing on what p11mux let through)
# is a failure.
set -eu
# shellcheck source-path=SCRIPTDIR source=harness.sh
. "$(dirname "$0")/harness.sh"

require softhsm2-util certutil "$SOFTHSM_MODULE" "$NSS_MODULE"
program=$top_builddir/tests/policy/closed-world
[ -x "$program" ] || die "$program is not built (make check builds it)"
P11MUX_SO=$(p11mux_so)
so=$P11MUX_SO
setup_softhsm cw-open cw-hidden sandbox
setup_nss

policy='deny-tokens = pkcs11:token=cw-hidden
deny-mechanisms = CKM_MD5* CKM_SHA_1 CKM_SHA1* CKM_SHA_1_HMAC* CKM_ECDSA_SHA1 CKM_DSA_SHA1 CKM_*DES*
deny-objects = pkcs11:object=hidden-key
force-sensitive = true'

# write_closed FILE [LINE]: the policy "closed" over both backends, with LINE
write_closed() {
    write_config "$1" +policy=closed softhsm nss
    printf '\n[policy closed]\n%s\n%s\n' "$policy" "${2:-}" >>"$1"
}
write_closed "$TMP/closed.conf"
# deny-functions present, but not naming the state functions: the refusal
# of saved state is p11mux's own
write_closed "$TMP/closed-deny.conf" 'deny-functions = C_SeedRandom C_InitToken C_InitPIN C_SetPIN'

# run_program LABEL MODE: the program under P11MUX_CONF, its lines counted
run_program() {
    cw_status=0
    "$program" "$2" >"$TMP/program.out" 2>&1 || cw_status=$?
    program_results "$TMP/program.out" "$cw_status" "$1: closed-world $2" "$1: "
}

# NSS_INIT_RESERVED's quotes are for NSS, which reads the value itself
# shellcheck disable=SC2090
export P11MUX_SO SOFTHSM_MODULE NSS_MODULE NSS_INIT_RESERVED PIN
P11MUX_CONF=$TMP/closed.conf
export P11MUX_CONF
run_program "in-process" state
run_program "in-process" garbage
run_program "in-process" params
P11MUX_CONF=$TMP/closed-deny.conf
run_program "in-process, deny-functions" state
run_program "in-process, deny-functions" garbage

# ---------------------------------------------------------------- the server
module_dir=$(pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null) ||
    module_dir=/usr/lib/x86_64-linux-gnu/pkcs11
client=$module_dir/p11-kit-client.so
if [ -n "${P11MUX_TEST_PRELOAD:-}" ] || ! command -v p11-kit >/dev/null 2>&1 || [ ! -f "$client" ]; then
    printf 'NOTE: the p11-kit server part is not run (no p11-kit, no %s, or a sanitizer build)\n' \
        "$client"
    exit 0
fi

# conf/sandbox.conf on this test's backends, with SHA-256 digests allowed
# (so that there is an operation whose state to ask for) and a trace that
# tells whether a call reached p11mux
sed -e "s|/usr/lib/softhsm/libsofthsm2.so|$SOFTHSM_MODULE|" \
    -e "s|/usr/lib/x86_64-linux-gnu/libsoftokn3.so|$NSS_MODULE|" \
    -e "s|sql:/var/lib/p11mux/sandbox-nssdb|sql:$NSS_DB|" \
    -e "s|^mechanisms = |mechanisms = CKM_SHA256 |" \
    -e "s|^policy = sandbox|policy = sandbox\\ntrace = file:$TMP/server.trace|" \
    "$top_srcdir/conf/sandbox.conf" >"$TMP/sandbox.conf"
expect_contains "$TMP/sandbox.conf" "mechanisms = CKM_SHA256 " "the server's policy allows SHA-256 digests"
expect_contains "$TMP/sandbox.conf" "configdir='sql:$NSS_DB'" "the server's configuration names the NSS database"
CW_STATE_DENIED=0
if grep -E -q '^deny-functions = .*C_(Get|Set)OperationState' "$TMP/sandbox.conf"; then
    CW_STATE_DENIED=1
fi

server_pid=
cw_exit() {
    cw_exit_status=$?
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    (exit "$cw_exit_status")
    harness_exit
}
trap cw_exit EXIT

socket=$TMP/p11-kit-server.sock
P11MUX_CONF=$TMP/sandbox.conf p11-kit server -f -n "$socket" --provider "$so" "pkcs11:" \
    >"$TMP/server.out" 2>"$TMP/server.err" &
server_pid=$!
cw_tries=0
while [ ! -S "$socket" ]; do
    cw_tries=$((cw_tries + 1))
    if [ "$cw_tries" -gt 100 ] || ! kill -0 "$server_pid" 2>/dev/null; then
        sed 's/^/    /' "$TMP/server.out" "$TMP/server.err"
        die "p11-kit server did not make its socket"
    fi
    sleep 0.1
done

# the client: no backend, no configuration of its own that counts
cw_status=0
(
    P11_KIT_SERVER_ADDRESS=unix:path=$socket
    P11MUX_SO=$client
    P11MUX_CONF=$TMP/no-such.conf
    SOFTHSM2_CONF=$TMP/no-such-softhsm2.conf
    CW_SOFTHSM_TOKEN=sandbox
    unset SOFTHSM_MODULE NSS_MODULE NSS_INIT_RESERVED
    export P11_KIT_SERVER_ADDRESS P11MUX_SO P11MUX_CONF SOFTHSM2_CONF CW_SOFTHSM_TOKEN CW_STATE_DENIED
    exec "$program" client
) >"$TMP/client.out" 2>&1 || cw_status=$?
program_results "$TMP/client.out" "$cw_status" "p11-kit server: closed-world client" \
    "p11-kit server: "

# Which side refused what p11-kit's RPC may not carry: p11mux's trace in the
# server shows the calls that reached it, and with which parameter length.
touch "$TMP/server.trace"
# cw_side WHAT PATTERN: a NOTE saying whether a call matching PATTERN reached p11mux
cw_side() {
    if grep -q -e "$2" "$TMP/server.trace"; then
        printf 'NOTE: %s reached p11mux in the server\n' "$1"
    else
        printf 'NOTE: %s did not reach p11mux: the p11-kit client refused or changed it\n' "$1"
    fi
}
cw_side "C_GetOperationState" "C_GetOperationState -> "
cw_side "C_SetOperationState" "C_SetOperationState -> "
cw_side "CKM_VENDOR_DEFINED+0x12345" "pMechanism: .*80012345"
cw_side "CKM_SHA256 with its 4-byte parameter" "pMechanism: CKM_SHA256 param_len=4"
cw_side "CKM_RSA_PKCS_PSS with a short parameter" "pMechanism: CKM_RSA_PKCS_PSS"
if kill -0 "$server_pid" 2>/dev/null; then
    pass "p11-kit server is still running after the attacks"
else
    fail "p11-kit server died during the attacks"
fi
if grep -q -i "segmentation\|SIGSEGV\|signal" "$TMP/server.err"; then
    fail "the server reports a crash:"
    sed 's/^/    /' "$TMP/server.err"
fi
