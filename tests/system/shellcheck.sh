#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# Every script of tests/system passes shellcheck (sourced files followed),
# and so does tests/integration/bad-input.sh.
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
check "shellcheck ../integration/bad-input.sh" shellcheck -x ../integration/bad-input.sh
