#!/bin/sh
# p11mux.so exports exactly the three PKCS #11 entry points: C_GetFunctionList,
# C_GetInterfaceList and C_GetInterface.  Any other defined dynamic symbol
# (a leaked core function, a GLib or p11-kit copy, a version node) fails.
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
