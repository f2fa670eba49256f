# shellcheck shell=sh
# Sourced by tests/cli/*.sh after tests/integration/harness.sh.
#
#   P11MUX                the built command (its testable copy: tests/testable)
#   FIXTURES              tests/cli/fixtures
#   expect_status N DESC CMD...   run CMD; assert its exit status is N
#   policy_setup          mocks mock-a and mock-b in $TMP with their fixture
#                         configurations, and $TMP/policy.conf from
#                         fixtures/policy.conf.in
#   slot_of LABEL         the p11mux slot id (0x...) of the token LABEL, from
#                         `p11mux list` of $TMP/policy.conf

# shellcheck disable=SC2154 # set by harness.sh
P11MUX=$top_builddir/tests/testable/bin/p11mux
# shellcheck disable=SC2154
FIXTURES=$top_srcdir/tests/cli/fixtures
[ -x "$P11MUX" ] || die "$P11MUX is not built (run make)"

expect_status() {
    cli_want=$1
    cli_desc=$2
    shift 2
    cli_status=0
    run "$@" || cli_status=$?
    if [ "$cli_status" -eq "$cli_want" ]; then
        pass "$cli_desc (exit $cli_status)"
    else
        fail "$cli_desc: exit $cli_status, expected $cli_want: $*"
        harness_show_output
    fi
}

policy_setup() {
    setup_mocks mock-a mock-b
    cp "$FIXTURES/mock-a.conf" "$TMP/mock-a.conf"
    cp "$FIXTURES/mock-b.conf" "$TMP/mock-b.conf"
    sed "s|@TMP@|$TMP|g" "$FIXTURES/policy.conf.in" >"$TMP/policy.conf"
}

slot_of() {
    "$P11MUX" list --config "$TMP/policy.conf" | awk -v label="  token: \"$1\"" '
        /^slot / { slot = $2 }
        $0 == label { print slot; exit }'
}
