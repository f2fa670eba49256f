#!/bin/sh
# The call pipeline's steps and the router's hooks agree, or nothing is
# generated: src/core/gen-functions.py refuses a P11muxRouter hook that is no
# step of the mask (a call would skip it: a policy bypass) and a step whose
# hook router.h lacks.  Run over copies of src/core/router.h and the table.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
PYTHON=${PYTHON:-python3}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/p11mux-gen-steps.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
failed=0

fail() {
    echo "FAIL: $*"
    failed=1
}

# generate ROUTER_H: exit status of the source generator over a copy
generate() {
    mkdir -p "$TMP/src/core"
    cp "$top_srcdir/src/core/pkcs11-functions.tab" "$TMP/src/core/"
    cp "$1" "$TMP/src/core/router.h"
    "$PYTHON" "$top_srcdir/src/core/gen-functions.py" source "$TMP/src/core/pkcs11-functions.tab" \
        >"$TMP/out.c" 2>"$TMP/err"
}

if generate "$top_srcdir/src/core/router.h"; then
    echo "PASS: the tree's router.h and steps generate"
else
    fail "the tree's router.h does not generate: $(cat "$TMP/err")"
fi
grep -q 'P11MUX_SEAM_CHECK' "$TMP/out.c" || fail "the generated mask has no check step"

# a new hook, in no step
sed 's|^\(    P11muxCallAfter after;.*\)$|\1\n    P11muxCallCheck audit;|' \
    "$top_srcdir/src/core/router.h" >"$TMP/router-new-hook.h"
grep -q 'P11muxCallCheck audit;' "$TMP/router-new-hook.h" || fail "could not add a hook to the copy"
if generate "$TMP/router-new-hook.h"; then
    fail "a hook that is no step was accepted"
elif grep -q "router.h:[0-9]*: hook 'audit' is no step" "$TMP/err"; then
    echo "PASS: a hook that is no step is refused, with its line"
else
    fail "unexpected message: $(cat "$TMP/err")"
fi

# a step whose hook is gone
grep -v 'P11muxCallBegin enter;' "$top_srcdir/src/core/router.h" >"$TMP/router-no-enter.h"
if generate "$TMP/router-no-enter.h"; then
    fail "a step without its hook was accepted"
elif grep -q "STEPS names hook 'enter'" "$TMP/err"; then
    echo "PASS: a step without its hook is refused"
else
    fail "unexpected message: $(cat "$TMP/err")"
fi
exit $failed
