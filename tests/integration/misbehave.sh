#!/bin/sh
# A misbehaving backend beside SoftHSM2 and NSS softoken: a real client
# (pkcs11-tool -L) through p11mux lists SoftHSM2's and NSS's slots within
# the deadline (init-timeout) plus one second, whether the other backend
# hangs in C_Initialize, hangs in C_GetSlotList, is slower than the
# deadline or fails; the message names it (with the CKR_ name when it
# answered).
set -eu
# shellcheck source-path=SCRIPTDIR source=harness.sh
. "$(dirname "$0")/harness.sh"

require pkcs11-tool softhsm2-util certutil "$SOFTHSM_MODULE" "$NSS_MODULE"
so=$(p11mux_so)
setup_softhsm it-misbehave
setup_nss

# try RULE MESSAGE: a mock named "bad" with the misbehave rule RULE beside
# SoftHSM2 and NSS, init-timeout 2 s; pkcs11-tool -L must list the good
# tokens within 3 s and stderr must hold MESSAGE
try() {
    setup_mocks bad
    printf '[mock]\nmisbehave = %s\n[slot 1]\ntoken-label = bad\n' "$1" >"$TMP/bad.conf"
    write_config "$TMP/p11mux.conf" +init-timeout=2s softhsm nss bad
    P11MUX_CONF=$TMP/p11mux.conf
    export P11MUX_CONF
    start=$(date +%s%N)
    check "pkcs11-tool -L with a backend doing $1" pkcs11-tool --module "$so" -L
    ms=$((($(date +%s%N) - start) / 1000000))
    if [ "$ms" -lt 3000 ]; then
        pass "$1: listed in $ms ms (init-timeout 2 s)"
    else
        fail "$1: listed in $ms ms, more than init-timeout 2 s plus 1 s"
    fi
    token_labels "$OUT" >"$TMP/labels"
    for label in it-misbehave "NSS Generic Crypto Services" "NSS Certificate DB"; do
        expect_line "$TMP/labels" "$label" "$1: token '$label' listed"
    done
    expect_not_contains "$TMP/labels" "bad" "$1: the misbehaving backend's token is absent"
    expect_contains "$ERR" "backend 'bad'" "$1: the message names the backend"
    expect_contains "$ERR" "$2" "$1: the message says why"
}

try C_Initialize:hang "init-timeout"
try C_GetSlotList:hang "init-timeout"
try C_Initialize:sleep:5000 "init-timeout"
try C_Initialize:return:CKR_TOKEN_NOT_RECOGNIZED "C_Initialize failed: CKR_TOKEN_NOT_RECOGNIZED (0xe1)"
