#!/bin/sh
# The policy engine against an application that tries to break it, over
# SoftHSM2 and NSS softoken: tests/policy/attack.c makes the objects
# directly on the backends, then attacks through p11mux.so under the policy
# below and checks each refusal's exact code and that nothing hidden or
# secret comes back.  Its PASS/FAIL lines are counted here.
set -eu
# shellcheck source-path=SCRIPTDIR source=harness.sh
. "$(dirname "$0")/harness.sh"

require softhsm2-util certutil "$SOFTHSM_MODULE" "$NSS_MODULE"
attack=$top_builddir/tests/policy/policy-attack
[ -x "$attack" ] || die "$attack is not built (make check builds it)"
P11MUX_SO=$(p11mux_so)
setup_softhsm attack-open attack-hidden
setup_nss

cat >"$TMP/p11mux.conf" <<EOF
[global]
user-config = none
policy = guarded

[backend softhsm]
module = $SOFTHSM_MODULE

[backend nss]
module = $NSS_MODULE
init-reserved = $NSS_INIT_RESERVED

[policy guarded]
deny-tokens = pkcs11:token=attack-hidden
deny-mechanisms = CKM_MD5 CKM_SHA_1
min-key-bits = rsa:2048 ec:256 aes:128 generic:128
deny-objects = pkcs11:object=backup-key
force-sensitive = true
deny-functions = C_SeedRandom C_GetOperationState
EOF
P11MUX_CONF=$TMP/p11mux.conf
# NSS_INIT_RESERVED's quotes are for NSS, which reads the value itself
# shellcheck disable=SC2090
export P11MUX_CONF P11MUX_SO SOFTHSM_MODULE NSS_MODULE NSS_INIT_RESERVED PIN

status=0
"$attack" >"$TMP/attack.out" 2>&1 || status=$?
program_results "$TMP/attack.out" "$status" "the attack program"
