#!/bin/bash
# Installs every Debian package p11mux needs to build, demo and test.
# Used by scripts/demo.sh and scripts/test-all.sh; run as root (or with sudo).
set -eu

PACKAGES="
autoconf automake libtool pkg-config make gcc python3
libglib2.0-dev libp11-kit-dev check libjson-glib-dev
softhsm2 libnss3 libnss3-tools p11-kit p11-kit-modules
opensc gnutls-bin libengine-pkcs11-openssl openssl default-jdk-headless
valgrind mandoc shellcheck
clang libclang-rt-14-dev
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing$missing" >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
