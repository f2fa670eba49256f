#!/bin/bash
# make check on a machine where p11mux is installed and configured
# system-wide, to prove that no test reads the machine: installs the build
# in BUILDDIR (make install, p11mux.module into p11-kit's registry), writes
# the demo's configuration (SoftHSM2, NSS softoken, p11-kit-trust) with
# import-p11-kit = true as the system configuration, and runs make check
# once more.  All of it happens in a private mount namespace over overlays
# on a tmpfs, so nothing stays installed when it ends, whatever happens.
# Usage (as root): scripts/check-installed.sh BUILDDIR [MAKE-CHECK-ARGS...]
# Exit status: make check's; 77 when no private mount namespace can be made.
# shellcheck source-path=SCRIPTDIR
set -eu
builddir=$(cd "$1" && pwd)
shift
srcdir=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${P11MUX_INSTALLED_OUTER_NS:-}" ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null 2>&1 || ! unshare -m true 2>/dev/null; then
        echo "check-installed: a private mount namespace is needed (root and unshare -m)" >&2
        exit 77
    fi
    P11MUX_INSTALLED_OUTER_NS=$(readlink /proc/self/ns/mnt)
    export P11MUX_INSTALLED_OUTER_NS
    exec unshare -m bash "$0" "$builddir" "$@"
fi
if [ "$(readlink /proc/self/ns/mnt)" = "$P11MUX_INSTALLED_OUTER_NS" ]; then
    echo "check-installed: not in a private mount namespace" >&2
    exit 1
fi
unset P11MUX_INSTALLED_OUTER_NS
mount --make-rprivate /

# the installation directories of this build, and p11-kit's registry
make -s -C "$builddir" tests/system/installdirs
sysconfdir=
pkcs11dir=
bindir=
# shellcheck source=/dev/null
. "$builddir/tests/system/installdirs"
if [ -z "$sysconfdir" ] || [ -z "$pkcs11dir" ] || [ -z "$bindir" ]; then
    echo "check-installed: $builddir/tests/system/installdirs names no directories" >&2
    exit 1
fi
registry=$(pkg-config --variable=p11_module_configs p11-kit-1)
prefix=$(sed -n 's/^prefix = //p' "$builddir/Makefile")
p11kit_etc=$(sed -n 's/^P11KIT_SYSCONFDIR = //p' "$builddir/Makefile")/pkcs11/modules

work=$(mktemp -d "${TMPDIR:-/tmp}/p11mux-installed.XXXXXX")
trap 'cd /; umount -l "$work" 2>/dev/null; rmdir "$work"' EXIT
mount -t tmpfs -o mode=0755 tmpfs "$work"

# a writable copy-on-write view of DIR (its nearest existing parent)
overlay() {
    local dir=$1 name
    while [ ! -d "$dir" ]; do
        dir=$(dirname "$dir")
    done
    name=$(printf '%s' "$dir" | tr / _)
    mkdir -p "$work/$name/upper" "$work/$name/work"
    mount -t overlay overlay \
        -o "lowerdir=$dir,upperdir=$work/$name/upper,workdir=$work/$name/work" "$dir"
}
overlay "$prefix"
case "$sysconfdir" in "$prefix"/*) ;; *) overlay "$sysconfdir" ;; esac
overlay "$registry"
overlay "$p11kit_etc"

# with make install's option that keeps SoftHSM2 from p11-kit's consumers
echo "check-installed: make install (prefix $prefix, registration in $registry)"
mkdir -p "$p11kit_etc"
make -s -C "$builddir" install p11kitconfigsdir="$registry" P11KIT_OVERRIDES=softhsm2 \
    >"$work/install.out" 2>&1 || { cat "$work/install.out"; exit 1; }
problems=0
problem() {
    echo "check-installed: FAIL: $*"
    problems=$((problems + 1))
}
[ ! -e "$pkcs11dir/p11mux.la" ] || problem "p11mux.la is installed into $pkcs11dir"
[ -f "$pkcs11dir/p11mux.so" ] || problem "p11mux.so is not installed into $pkcs11dir"

# the demo's configuration, over tokens of its own (in the tmpfs), as the
# system's; make check's harness gives each test its own SOFTHSM2_CONF
mkdir -p "$sysconfdir/p11mux"
(
    export top_srcdir="$srcdir" top_builddir="$builddir" TMPDIR="$work" P11MUX_KEEP_TMP=1
    # shellcheck source=../tests/integration/harness.sh
    . "$srcdir/tests/integration/harness.sh"
    setup_softhsm system-token
    setup_nss
    write_config "$sysconfdir/p11mux/p11mux.conf" +import-p11-kit=true +user-config=merge \
        softhsm nss trust
) >/dev/null
echo "check-installed: $sysconfdir/p11mux/p11mux.conf"
cat "$sysconfdir/p11mux/p11mux.conf"
echo "check-installed: p11-kit list-modules"
p11-kit list-modules >"$work/modules" 2>&1 || true
grep -E '^[a-z]' "$work/modules" || true
grep -q '^p11mux: ' "$work/modules" || problem "p11-kit does not list p11mux"
! grep -q '^softhsm2: ' "$work/modules" || problem "P11KIT_OVERRIDES=softhsm2 left SoftHSM2 to p11-kit"
# the installed command: the registered backend warned about (trust), the
# overridden one not, no word about p11mux's own registration
"$bindir/p11mux" check-config >"$work/check-config" 2>&1 || problem "p11mux check-config fails"
cat "$work/check-config"
grep -q "warning: backend 'trust' .* is also registered with p11-kit by .*p11-kit-trust.module" \
    "$work/check-config" || problem "check-config does not warn about the registered trust backend"
! grep -q "backend 'softhsm'" "$work/check-config" || problem "check-config warns about the overridden SoftHSM2"
! grep -q "another copy" "$work/check-config" || problem "check-config speaks of another copy of p11mux"

echo "check-installed: make check"
status=0
make -C "$builddir" -j"$(nproc)" check "$@" || status=$?
[ "$problems" -eq 0 ] || { echo "check-installed: $problems problems with the installation"; exit 1; }
exit "$status"
