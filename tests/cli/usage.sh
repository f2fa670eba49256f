#!/bin/sh
# The command line: --help of the command and of each subcommand, usage
# errors (exit 2, a message on stderr), --version.
set -eu
# shellcheck source=tests/integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source=tests/cli/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"

expect_status 0 "p11mux --help" "$P11MUX" --help
for command in list check-config explain trace-summary; do
    expect_contains "$OUT" "  $command "
done
for command in list check-config explain trace-summary; do
    expect_status 0 "p11mux $command --help" "$P11MUX" "$command" --help
    expect_contains "$OUT" "p11mux $command"
done
expect_status 0 "p11mux --version" "$P11MUX" --version
expect_line "$OUT" "p11mux 0.1.0"
expect_status 2 "no command" "$P11MUX"
expect_contains "$ERR" "Usage: p11mux COMMAND"
expect_status 2 "an unknown command" "$P11MUX" frobnicate
expect_contains "$ERR" "p11mux: unknown command 'frobnicate'"
expect_status 2 "an unknown option" "$P11MUX" list --frobnicate
expect_contains "$ERR" "p11mux list: Unknown option --frobnicate"
