#!/bin/sh
# Every mechanism SoftHSM2, NSS softoken and p11-kit-trust offer is in
# p11mux's parameter table (src/pkcs11/mechanism-params.tab), so that the closed
# world of a policy refuses only what p11mux truly cannot read:
# tests/policy/params-classified loads each module directly and looks up
# every mechanism of every token.
set -eu
# shellcheck source-path=SCRIPTDIR source=harness.sh
. "$(dirname "$0")/harness.sh"

require softhsm2-util certutil "$SOFTHSM_MODULE" "$NSS_MODULE" "$TRUST_MODULE"
probe=$top_builddir/tests/policy/params-classified
[ -x "$probe" ] || die "$probe is not built (make check builds it)"
setup_softhsm classified
setup_nss

check_module() {
    name=$1
    shift
    status=0
    "$probe" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || status=$?
    if [ "$status" -eq 2 ]; then
        fail "$name: the probe could not load the module: $(cat "$TMP/$name.err")"
        return
    fi
    count=$(wc -l <"$TMP/$name.out")
    if [ "$status" -eq 0 ]; then
        pass "$name: all $count mechanisms it offers are classified"
    else
        fail "$name: unclassified: $(grep UNCLASSIFIED "$TMP/$name.out" | tr '\n' ' ')"
    fi
}

check_module softhsm2 "$SOFTHSM_MODULE"
# shellcheck disable=SC2090
check_module nss-softoken --reserved "$NSS_INIT_RESERVED" "$NSS_MODULE"
check_module p11-kit-trust "$TRUST_MODULE"
# the NSS vendor mechanisms are known as NSS's (a manufacturer match)
if grep -q ' CKM_NSS_IKE_PRF_PLUS_DERIVE$' "$TMP/nss-softoken.out"; then
    pass "NSS softoken's own IKE PRF+ derivation is read as NSS's"
else
    fail "NSS softoken's CKM_NSS_IKE_PRF_PLUS_DERIVE is not recognised"
fi
