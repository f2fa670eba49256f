#!/bin/sh
# p11mux.so exports exactly the three PKCS #11 entry points: C_GetFunctionList,
# C_GetInterfaceList and C_GetInterface.  Any other defined dynamic symbol
# (a leaked core function, a GLib or p11-kit copy, a version node) fails.
# And an optimised build is fortified: p11mux.so calls glibc's checked
# functions (__snprintf_chk, __memcpy_chk, ...), which only
# -D_FORTIFY_SOURCE brings in (configure.ac; P11MUX_FORTIFIED is what
# configure found, exported by Makefile.am).
set -eu
# shellcheck source-path=SCRIPTDIR source=harness.sh
. "$(dirname "$0")/harness.sh"

require nm
so=$(p11mux_so)

printf '%s\n' C_GetFunctionList C_GetInterface C_GetInterfaceList >"$TMP/expected"
check "nm -D --defined-only p11mux.so" nm -D --defined-only "$so"
# "0000000000008460 T C_GetFunctionList": the name, without any @VERSION
awk 'NF >= 2 { print $NF }' "$OUT" | sed 's/@.*//' | LC_ALL=C sort >"$TMP/exported"
LC_ALL=C sort "$TMP/expected" -o "$TMP/expected"
expect_equal "$TMP/expected" "$TMP/exported" "the defined dynamic symbols are exactly the three entry points"
# and they are functions
check "nm -D --defined-only -f posix p11mux.so" nm -D --defined-only -f posix "$so"
for name in C_GetFunctionList C_GetInterface C_GetInterfaceList; do
    if grep -q "^$name T " "$OUT"; then
        pass "$name is a defined function"
    else
        fail "$name is not a defined function (T) in:"
        sed 's/^/    /' "$OUT"
    fi
done

# fortified: a checked function other than the stack protector's
if [ "${P11MUX_FORTIFIED:-no}" = yes ]; then
    check "nm -D --undefined-only p11mux.so" nm -D --undefined-only "$so"
    if awk '{ print $NF }' "$OUT" | sed 's/@.*//' | grep -v '^__stack_chk_fail$' | grep -q '^__.*_chk$'; then
        pass "p11mux.so calls glibc's checked functions (_FORTIFY_SOURCE)"
    else
        fail "p11mux.so calls none of glibc's __*_chk functions: built without _FORTIFY_SOURCE"
    fi
else
    echo "# not fortified (configure: CFLAGS do not optimise, or turned off): imports not checked"
fi
