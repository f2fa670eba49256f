#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# Every script of tests/system, tests/integration, tests/cli and scripts
# passes shellcheck (sourced files followed).
set -eu
# shellcheck source=system.sh
. "$(dirname "$0")/system.sh"
# shellcheck source=../integration/harness.sh
. "$top_srcdir/tests/integration/harness.sh"

require shellcheck
cd "$top_srcdir/tests/system"
for script in *.sh; do
    check "shellcheck $script" shellcheck -x "$script"
done
# the other test scripts and the quick-start and CI scripts, from the top
# directory their `source=` directives name paths from (scripts/ is not in
# the release tarball)
cd "$top_srcdir"
for script in tests/integration/*.sh tests/cli/*.sh scripts/*.sh; do
    [ -f "$script" ] || continue
    check "shellcheck $script" shellcheck -x "$script"
done
