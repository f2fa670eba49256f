#!/bin/sh
# One door to a backend (src/core/backend.h): outside src/core/backend.c and
# src/core/backend.h no file of src/ (the CLI's included) calls through a
# backend's function list or reads it, and only the generated
# forwarders use the inline p11mux_backend_routed().  The generated
# p11mux-functions.c, where built, is checked too.  The policy reaches a
# backend only through its adapter.
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"

# a call through a list (an alias included), or the list itself
direct='(functions|normalised)(->|\.)C_[A-Za-z]|->functions\b|->normalised\b'
status=0

fail() {
    echo "FAIL: $1"
    status=1
}

cd "$top_srcdir"
# the pattern is alive: it finds the door's own calls
if ! grep -qE "$direct" src/core/backend.c; then
    fail "the pattern finds nothing in src/core/backend.c: the check is broken"
fi

found=$(find src -type f \
    ! -path src/core/backend.c ! -path src/core/backend.h ! -name p11mux-functions.c \
    -exec grep -nHE "$direct" {} + || true)
if [ -n "$found" ]; then
    echo "$found"
    fail "a backend is called past src/core/backend.c; add a p11mux_backend_* call there"
fi

found=$(find src -type f \
    ! -path src/core/backend.h ! -path src/core/gen-functions.py ! -name p11mux-functions.c \
    -exec grep -nHF 'p11mux_backend_routed' {} + || true)
if [ -n "$found" ]; then
    echo "$found"
    fail "p11mux_backend_routed is for the generated forwarders only"
fi

generated="$top_builddir/src/core/p11mux-functions.c"
if [ -f "$generated" ]; then
    if grep -nE "$direct" "$generated"; then
        fail "the generated forwarders call a backend past the door"
    fi
    if ! grep -qF 'p11mux_backend_routed(' "$generated"; then
        fail "the generated forwarders no longer use p11mux_backend_routed"
    fi
fi

# The policy (src/policy) sees facts, not the pipeline's call, and calls no
# backend: what it reads from one it asks the adapter
# (src/core/policy-adapter.c) for, as a sub-call through the door above.
found=$(grep -nHE 'P11muxCall\b|"call\.h"|p11mux_backend_[a-z_]+\(|->real_session|->real_slot' \
    src/policy/* || true)
if [ -n "$found" ]; then
    echo "$found"
    fail "the policy reaches past its adapter (src/core/policy-adapter.c)"
fi
# ... and is driven by the roles and flags of the function table: a
# function is named only as the one a sub-call asks for
found=$(grep -nHE 'P11MUX_FN_C_[A-Za-z]+' src/policy/* | grep -v 'ask' || true)
if [ -n "$found" ]; then
    echo "$found"
    fail "the policy tests a function by name: give the table a role or flag for it"
fi
if ! grep -qF 'p11mux_policy_check(&facts)' src/core/policy-adapter.c; then
    fail "the adapter no longer asks the policy: the check above is broken"
fi

[ "$status" -eq 0 ] && echo "PASS: every backend call goes through src/core/backend.c"
exit "$status"
