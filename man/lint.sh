#!/bin/sh
# Lint the man pages: mandoc -T lint at level warning must say nothing.
# Skips (77) when mandoc is not installed.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
if ! command -v mandoc >/dev/null 2>&1; then
    echo "SKIP: mandoc is not installed"
    exit 77
fi
status=0
for page in p11mux.1 p11mux.conf.5 p11mux.so.8; do
    if out=$(mandoc -T lint -W warning "$top_srcdir/man/$page" 2>&1) && [ -z "$out" ]; then
        echo "PASS: man/$page"
    else
        echo "FAIL: man/$page"
        printf '%s\n' "$out"
        status=1
    fi
done
exit "$status"
