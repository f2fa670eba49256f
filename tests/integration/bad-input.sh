#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# The bad-input matrix (tests/hardening/bad-input-real.c) over real
# backends behind p11mux: SoftHSM2, NSS softoken and p11-kit-trust, each on
# its own, in process and through `p11-kit server --provider p11mux.so`
# with p11-kit-client.so.  No crash, only answers the specification allows,
# and the server's child still answers after every function.  Backends
# crash on some of these inputs when called directly (NSS softoken on
# C_GetSlotInfo(slot, NULL)): p11mux must stop them at its boundary.
set -eu
# shellcheck source=../system/system.sh
. "$(dirname "$0")/../system/system.sh"
# shellcheck source=harness.sh
. "$(dirname "$0")/harness.sh"

client=$(module_dir)/p11-kit-client.so
require softhsm2-util certutil "$SOFTHSM_MODULE" "$NSS_MODULE" "$TRUST_MODULE"
# p11-kit cannot run with a sanitizer runtime preloaded (harness.sh): a
# sanitizer build runs the in-process half only
server_half=${P11MUX_TEST_PRELOAD:+no}
if [ -z "$server_half" ]; then
    require p11-kit "$client"
fi
so=$(p11mux_so)
matrix=$top_builddir/tests/hardening/bad-input-real
[ -x "$matrix" ] || die "$matrix is not built (make check builds it)"

setup_softhsm matrix
setup_nss
backends="softhsm nss trust"
for backend in $backends; do
    write_config "$TMP/$backend.conf" "$backend"
done

# quirks BACKEND [--client]: the codes a backend answers where the
# specification says otherwise, measured calling it directly (p11mux passes
# a backend's codes on unchanged), as --quirk FUNCTION:CKR_NAME words.
quirks() {
    case $1 in
    softhsm)
        # SoftHSM2 2.6.1: CKR_OBJECT_HANDLE_INVALID, not CKR_KEY_HANDLE_INVALID,
        # for an unknown key in every C_*Init
        for quirks_fn in C_EncryptInit C_DecryptInit C_SignInit C_VerifyInit; do
            printf ' --quirk %s:CKR_OBJECT_HANDLE_INVALID' "$quirks_fn"
        done
        ;;
    esac
    if [ -n "${2:-}" ]; then
        # p11-kit 0.24's RPC answers CKR_BUFFER_TOO_SMALL to a C_GenerateRandom
        # of length 0 over NSS softoken, where p11mux (its trace says)
        # answered CKR_OK
        printf ' --quirk C_GenerateRandom:CKR_BUFFER_TOO_SMALL'
    fi
}

# matrix DESC MODULE BACKEND [--client]: run it, keep its table in $TMP
matrix() {
    matrix_log=$TMP/$(printf '%s' "$1" | tr ' /' '__').log
    matrix_status=0
    matrix_quirks=$(quirks "$3" "${4:-}")
    # shellcheck disable=SC2086 # the quirks are words
    "$matrix" "$2" ${4:+"$4"} $matrix_quirks >"$matrix_log" 2>&1 || matrix_status=$?
    if [ "$matrix_status" -eq 0 ]; then
        pass "$1: $(tail -n 1 "$matrix_log")"
        return
    fi
    grep -e 'NOT ALLOWED' -e 'module is gone' -e ' past the ' "$matrix_log" | sed 's/^/    /' || true
    tail -n 3 "$matrix_log" | sed 's/^/    /'
    if [ "$matrix_status" -gt 128 ]; then
        fail "$1: killed by signal $((matrix_status - 128))"
    else
        fail "$1: exit status $matrix_status"
    fi
}

for backend in $backends; do
    P11MUX_CONF=$TMP/$backend.conf matrix "$backend in process" "$so" "$backend"
done

if [ -n "$server_half" ]; then
    printf 'NOTE: sanitizer build: the p11-kit server half is not run\n'
    backends=
fi
socket=$TMP/server.sock
for backend in $backends; do
    rm -f "$socket"
    P11MUX_CONF=$TMP/$backend.conf p11-kit server -f -n "$socket" --provider "$so" "pkcs11:" \
        >"$TMP/server-$backend.out" 2>"$TMP/server-$backend.err" &
    server=$!
    kill_on_exit "$server"
    wait_for_socket "$socket" || die "p11-kit server (over $backend) made no socket"
    P11_KIT_SERVER_ADDRESS=unix:path=$socket matrix "$backend through p11-kit server" "$client" "$backend" --client
    if grep -q -i -e 'segmentation' -e 'abort' -e 'signal' "$TMP/server-$backend.err"; then
        sed 's/^/    /' "$TMP/server-$backend.err"
        fail "$backend: the server reports a crash"
    fi
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
done
