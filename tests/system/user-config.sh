#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# Per-user configuration, end to end through p11mux.so, with a system file
# of our own at $(sysconfdir)/p11mux/p11mux.conf (a private mount namespace
# makes it appear there): a user adds a backend in
# $XDG_CONFIG_HOME/p11mux/p11mux.conf (or ~/.config/... without
# XDG_CONFIG_HOME) or switches a system one off; `user-config = none` in
# the system file ignores the user's file, `only` lets it replace the
# system file; conf.d drop-ins and P11MUX_CONF add their layers.
#
# Then a setuid (and a setgid) program, run as the unprivileged user
# `nobody` with P11MUX_CONF and XDG_CONFIG_HOME pointing at files that add
# backends, sees only the system configuration; the same program without
# the set-id bit sees all three layers.  (That part needs real root, to
# make the binary setuid root and to switch to nobody: skipped otherwise.)
set -eu
# shellcheck source=system.sh
. "$(dirname "$0")/system.sh"
system_enter_namespace "$@"
# shellcheck source=../integration/harness.sh
. "$top_srcdir/tests/integration/harness.sh"

so=$(p11mux_installed_so)
[ -x "$PROBE" ] || die "$PROBE is not built (make check builds it)"
private_sysconfdir
setup_mocks sys-a sys-d user-b extra-c

# tokens DESC: the token labels p11mux shows now, sorted, in $TMP/labels
tokens() {
    check "$1" "$PROBE" "$so" tokens
    awk '{ print $2 }' "$OUT" | LC_ALL=C sort >"$TMP/labels"
}

# expect_tokens DESC LABEL...: exactly these tokens
expect_tokens() {
    expect_desc=$1
    shift
    printf '%s\n' "$@" | LC_ALL=C sort >"$TMP/expected"
    tokens "p11mux.so loads ($expect_desc)"
    expect_equal "$TMP/expected" "$TMP/labels" "$expect_desc: tokens $*"
}

system_file() {
    # $1: user-config value, or "" for none written
    {
        printf '[global]\n'
        if [ -n "$1" ]; then
            printf 'user-config = %s\n' "$1"
        fi
        printf '[backend sys-a]\nmodule = %s\n' "$TMP/sys-a.so"
    } >"$SYSCONF/p11mux.conf"
}

mkdir -p "$XDG_CONFIG_HOME/p11mux"
printf '[backend user-b]\nmodule = %s\n' "$TMP/user-b.so" >"$XDG_CONFIG_HOME/p11mux/p11mux.conf"
printf '[backend extra-c]\nmodule = %s\n' "$TMP/extra-c.so" >"$TMP/extra.conf"

# ---------------------------------------------------------------- layers
system_file ""
expect_tokens "system file, no user-config (merge): the user's backend is added" sys-a user-b
system_file merge
expect_tokens "user-config = merge" sys-a user-b

mv "$XDG_CONFIG_HOME" "$HOME/.config"
unset XDG_CONFIG_HOME
expect_tokens "no XDG_CONFIG_HOME: ~/.config/p11mux/p11mux.conf" sys-a user-b
mv "$HOME/.config" "$TMP/xdg"
XDG_CONFIG_HOME=$TMP/xdg
export XDG_CONFIG_HOME

system_file none
expect_tokens "user-config = none: the user's file is ignored" sys-a
system_file only
expect_tokens "user-config = only: the user's file replaces the system file" user-b
mv "$XDG_CONFIG_HOME/p11mux/p11mux.conf" "$TMP/user.conf"
expect_tokens "user-config = only without a user file: the system file" sys-a
mv "$TMP/user.conf" "$XDG_CONFIG_HOME/p11mux/p11mux.conf"

system_file merge
printf '[backend sys-d]\nmodule = %s\n' "$TMP/sys-d.so" >"$SYSCONF/conf.d/50-sys-d.conf"
expect_tokens "a conf.d drop-in adds a system backend" sys-a sys-d user-b
printf '[backend sys-d]\nenabled = false\n' >>"$XDG_CONFIG_HOME/p11mux/p11mux.conf"
expect_tokens "the user's file switches a system backend off" sys-a user-b
P11MUX_CONF=$TMP/extra.conf
export P11MUX_CONF
expect_tokens "P11MUX_CONF adds its layer" sys-a user-b extra-c
unset P11MUX_CONF

printf '[global]\nuser-config = merge\n' >"$XDG_CONFIG_HOME/p11mux/p11mux.conf"
check_fails "user-config in the user's own file is refused" "$PROBE" "$so" tokens
expect_contains "$ERR" "$XDG_CONFIG_HOME/p11mux/p11mux.conf:2:" "the refusal names the user's file and line"
printf '[backend user-b]\nmodule = %s\n' "$TMP/user-b.so" >"$XDG_CONFIG_HOME/p11mux/p11mux.conf"

# ---------------------------------------------------------------- set-id
nobody_uid=$(id -u nobody 2>/dev/null) || nobody_uid=
nobody_gid=$(id -g nobody 2>/dev/null) || nobody_gid=
if [ "$(id -u)" -ne 0 ] || [ "$(awk '$1 == 0 { print $2 }' /proc/self/uid_map)" != 0 ] ||
    ! command -v setpriv >/dev/null 2>&1 || [ -z "$nobody_uid" ]; then
    printf 'SKIP: the set-id part needs real root, setpriv and a user nobody\n'
    exit 0
fi

# a tmpfs of our own, without nosuid, which nobody can read
suid=$TMP/suid
tmpfs_in_tmp "$suid"
chmod 0755 "$TMP" "$TMP/xdg" "$XDG_CONFIG_HOME/p11mux" "$SYSCONF" "$SYSCONF/conf.d"
chmod a+r "$TMP"/*.so "$TMP"/*.conf "$XDG_CONFIG_HOME/p11mux/p11mux.conf" "$SYSCONF/p11mux.conf" \
    "$SYSCONF/conf.d/50-sys-d.conf"
for mode in 0755 4755 2755; do
    cp "$PROBE" "$suid/probe-$mode"
    chown 0:0 "$suid/probe-$mode"
    chmod "$mode" "$suid/probe-$mode"
done

# as_nobody MODE ARGS: the probe copy with that mode, run as nobody with
# P11MUX_CONF and a user file that each add a backend
as_nobody() {
    as_mode=$1
    shift
    run setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups \
        env HOME="$TMP/home" XDG_CONFIG_HOME="$XDG_CONFIG_HOME" P11MUX_CONF="$TMP/extra.conf" \
        "$suid/probe-$as_mode" "$so" "$@"
}

# nobody_sees DESC MODE LABEL...
nobody_sees() {
    ns_desc=$1
    ns_mode=$2
    shift 2
    if as_nobody "$ns_mode" info; then
        expect_line "$OUT" "euid: $([ "$ns_mode" = 4755 ] && echo 0 || echo "$nobody_uid")" \
            "$ns_desc: the effective user id"
        expect_line "$OUT" "secure: $([ "$ns_mode" = 0755 ] && echo 0 || echo 1)" \
            "$ns_desc: AT_SECURE"
    else
        fail "$ns_desc: the probe fails as nobody"
        harness_show_output
    fi
    printf '%s\n' "$@" | LC_ALL=C sort >"$TMP/expected"
    if as_nobody "$ns_mode" tokens; then
        awk '{ print $2 }' "$OUT" | LC_ALL=C sort >"$TMP/labels"
        expect_equal "$TMP/expected" "$TMP/labels" "$ns_desc: tokens $*"
    else
        fail "$ns_desc: the probe lists no tokens as nobody"
        harness_show_output
    fi
}

nobody_sees "an ordinary program run by nobody reads every layer" 0755 \
    sys-a sys-d user-b extra-c
nobody_sees "a setuid-root program run by nobody reads neither P11MUX_CONF nor the user's file" \
    4755 sys-a sys-d
nobody_sees "a setgid program run by nobody reads neither P11MUX_CONF nor the user's file" \
    2755 sys-a sys-d
