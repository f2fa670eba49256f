# shellcheck shell=sh
# Helpers of the system tests (tests/system/*.sh), sourced before
# tests/integration/harness.sh (whose helpers they also use):
#
#     #!/bin/sh
#     # shellcheck source-path=SCRIPTDIR
#     set -eu
#     # shellcheck source=system.sh
#     . "$(dirname "$0")/system.sh"
#     system_enter_namespace "$@"     # only scripts that change mounts
#     # shellcheck source=../integration/harness.sh
#     . "$top_srcdir/tests/integration/harness.sh"
#     private_registry
#
# Functions
#   system_enter_namespace ARGS   run this script again (once) in a private
#                                 mount namespace: `unshare -m` as root,
#                                 `unshare -r -m` otherwise; exit 77 when
#                                 unshare is missing or not permitted.  Call
#                                 it before the harness (which makes $TMP).
#   private_registry              give p11-kit an empty module registry of
#                                 our own, $REGISTRY: bind-mount it over
#                                 p11-kit's module configuration directory
#                                 and hide /etc/pkcs11 (inside the namespace
#                                 only).  p11-kit ignores the user's registry
#                                 as root, so this is the only way a test
#                                 running as root (as CI does) registers
#                                 modules.
#   private_sysconfdir            give p11mux a system configuration
#                                 directory of our own: $SYSCONF (a directory
#                                 under $TMP) appears as $sysconfdir/p11mux
#                                 inside the namespace (bind mount; where
#                                 that directory does not exist, an overlay
#                                 over its nearest existing parent adds it)
#   tmpfs_in_tmp DIR              mount a tmpfs (mode 0755, not nosuid) on a
#                                 new directory DIR under $TMP, detached on exit
#   kill_on_exit PID              end that background process on exit
#   register NAME LINE...         write $REGISTRY/NAME.module with the LINEs
#   register_p11mux [NAME]        register the built p11mux.so, from
#                                 conf/p11mux.module.in (default name p11mux)
#   module_dir                    print p11-kit's module directory
#                                 (p11-kit-client.so, p11-kit-trust.so)
#   wait_for_socket PATH          wait up to 10 s for a unix socket
#   slot_of_token FILE LABEL      print the slot id (0x...) holding the token
#                                 LABEL in a `pkcs11-tool -L` output
#
# Variables: sysconfdir, pkcs11dir, p11kitconfigsdir (the installation
# directories, from the generated tests/system/installdirs); PROBE, the built
# pkcs11-probe (its commands are listed at the top of its source).

system_script_dir=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$system_script_dir/../..}
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=${top_builddir:-$top_srcdir}
top_builddir=$(cd "$top_builddir" && pwd)
export top_srcdir top_builddir

# Whether this process is in the mount namespace system_enter_namespace
# made: not the one it was started from, nor init's.
system_in_namespace() {
    system_ns=$(readlink /proc/self/ns/mnt)
    [ -n "${P11MUX_OUTER_MOUNT_NS:-}" ] && [ "$system_ns" != "$P11MUX_OUTER_MOUNT_NS" ] &&
        [ "$system_ns" != "$(readlink /proc/1/ns/mnt 2>/dev/null)" ]
}

system_enter_namespace() {
    if system_in_namespace; then
        return 0
    fi
    if ! command -v unshare >/dev/null 2>&1; then
        printf 'SKIP: unshare is not installed\n' >&2
        exit 77
    fi
    if [ "$(id -u)" -eq 0 ]; then
        system_unshare="unshare -m"
    else
        system_unshare="unshare -r -m"
    fi
    if ! $system_unshare true 2>/dev/null; then
        printf 'SKIP: %s is not permitted here (a private mount namespace is needed)\n' \
            "$system_unshare" >&2
        exit 77
    fi
    P11MUX_OUTER_MOUNT_NS=$(readlink /proc/self/ns/mnt)
    export P11MUX_OUTER_MOUNT_NS
    exec $system_unshare sh "$0" "$@"
}

if [ -f "$top_builddir/tests/system/installdirs" ]; then
    # shellcheck source=/dev/null
    . "$top_builddir/tests/system/installdirs"
fi
sysconfdir=${sysconfdir:-/usr/local/etc}
pkcs11dir=${pkcs11dir:-/usr/local/lib/pkcs11}
p11kitconfigsdir=${p11kitconfigsdir:-/usr/local/share/p11-kit/modules}
PROBE=$top_builddir/tests/system/pkcs11-probe
export PROBE

module_dir() {
    pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null ||
        printf '/usr/lib/x86_64-linux-gnu/pkcs11\n'
}

private_registry() {
    system_in_namespace || die "private_registry outside a private mount namespace"
    system_configs=$(pkg-config --variable=p11_module_configs p11-kit-1 2>/dev/null) ||
        system_configs=/usr/share/p11-kit/modules
    [ -d "$system_configs" ] || skip "p11-kit's module directory $system_configs does not exist"
    REGISTRY=$TMP/registry
    mkdir -p "$REGISTRY" "$TMP/empty"
    mount --bind "$REGISTRY" "$system_configs" ||
        die "cannot bind-mount $REGISTRY over $system_configs"
    if [ -d /etc/pkcs11 ]; then
        mount --bind "$TMP/empty" /etc/pkcs11 || die "cannot hide /etc/pkcs11"
    fi
}

private_sysconfdir() {
    system_in_namespace || die "private_sysconfdir outside a private mount namespace"
    SYSCONF=$TMP/sysconf
    mkdir -p "$SYSCONF/conf.d"
    system_target=$sysconfdir/p11mux
    if [ ! -d "$system_target" ]; then
        system_parent=$system_target
        while [ ! -d "$system_parent" ]; do
            system_parent=$(dirname "$system_parent")
        done
        system_missing=${system_target#"$system_parent"}
        tmpfs_in_tmp "$TMP/overlay"
        mkdir -p "$TMP/overlay/upper$system_missing" "$TMP/overlay/work"
        mount -t overlay overlay \
            -o "lowerdir=$system_parent,upperdir=$TMP/overlay/upper,workdir=$TMP/overlay/work" \
            "$system_parent" || skip "cannot make $system_target appear (no overlayfs here)"
    fi
    mount --bind "$SYSCONF" "$system_target" || die "cannot bind-mount $SYSCONF over $system_target"
}

# tmpfs_in_tmp DIR: a fresh tmpfs (mode 0755, not nosuid) on DIR, a new
# directory under $TMP, detached again on exit so that $TMP can be removed
tmpfs_in_tmp() {
    system_in_namespace || die "tmpfs_in_tmp outside a private mount namespace"
    mkdir -p "$1"
    mount -t tmpfs -o mode=0755 tmpfs "$1" || die "cannot mount a tmpfs on $1"
    system_mounted="$1 ${system_mounted:-}"
    trap system_exit EXIT
}

# kill_on_exit PID: end that background process when the script ends
kill_on_exit() {
    system_pids="$1 ${system_pids:-}"
    trap system_exit EXIT
}

system_exit() {
    system_status=$?
    for system_pid in ${system_pids:-}; do
        kill "$system_pid" 2>/dev/null || true
        wait "$system_pid" 2>/dev/null || true
    done
    for system_mount in ${system_mounted:-}; do
        umount -l "$system_mount" 2>/dev/null || true
    done
    # harness_exit reads the script's status from $?
    if (exit "$system_status"); then
        harness_exit
    else
        harness_exit
    fi
}

register() {
    system_name=$1
    shift
    printf '%s\n' "$@" >"$REGISTRY/$system_name.module"
}

register_p11mux() {
    sed "s|@pkcs11dir@|$top_builddir/modules/.libs|" "$top_srcdir/conf/p11mux.module.in" \
        >"$REGISTRY/${1:-p11mux}.module"
}

slot_of_token() {
    awk -v label="$2" '
        /^Slot [0-9]* \(0x[0-9a-fA-F]*\)/ { id = $3; gsub(/[():]/, "", id) }
        /^  token label *: / { sub(/^  token label *: /, ""); if ($0 == label) { print id; exit } }
    ' "$1"
}

wait_for_socket() {
    system_tries=0
    while [ ! -S "$1" ]; do
        system_tries=$((system_tries + 1))
        [ "$system_tries" -le 100 ] || return 1
        sleep 0.1
    done
}
