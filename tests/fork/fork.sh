#!/bin/sh
# fork(): pkcs11-tool --test-fork (C_Initialize in the parent, fork, the
# child initialises again and works) through p11mux over NSS softoken and
# over SoftHSM2, both in one configuration.  SoftHSM2 fails this test when
# loaded directly; p11mux finalises it in the child before initialising it.
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"

require pkcs11-tool softhsm2-util certutil
so=$(p11mux_so)
setup_softhsm forky
setup_nss
write_config "$TMP/p11mux.conf" softhsm nss
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF

check "--test-fork over NSS softoken" \
    pkcs11-tool --module "$so" --test-fork --token-label "NSS Certificate DB"
check "--test-fork over SoftHSM2" \
    pkcs11-tool --module "$so" --test-fork --token-label forky
