# shellcheck shell=sh
# p11mux integration test harness: sourced (never run) by tests/integration/*.sh
# and usable by demo scripts.  POSIX sh; the caller sets `set -eu` first:
#
#     #!/bin/sh
#     set -eu
#     # shellcheck source-path=SCRIPTDIR source=harness.sh
#     . "$(dirname "$0")/harness.sh"
#     require pkcs11-tool
#     so=$(p11mux_so)
#     setup_softhsm alpha beta
#     setup_nss
#     setup_mocks mock-a
#     write_config "$TMP/p11mux.conf" softhsm nss trust mock-a
#     P11MUX_CONF=$TMP/p11mux.conf; export P11MUX_CONF
#     check "list slots" pkcs11-tool --module "$so" -L
#     token_labels "$OUT" >"$TMP/labels"
#     expect_line "$TMP/labels" alpha
#
# On sourcing, the harness
#   - sets top_srcdir / top_builddir (absolute) from the environment (make check
#     exports them) or else to the script's ../.. directory;
#   - makes TMP, a fresh directory removed on exit (set P11MUX_KEEP_TMP=1 to keep it);
#   - isolates the environment: HOME=$TMP/home and XDG_CONFIG_HOME=$TMP/xdg (both
#     empty); P11MUX_CONF, SOFTHSM2_CONF, PKCS11_MODULE_PATH, OPENSSL_CONF and
#     NSS_DB unset.  So no test reads the user's files.  p11mux_so is the
#     testable copy of p11mux.so (tests/testable/local.am): its system
#     configuration and p11-kit registry are in the build tree, so no test
#     reads the machine's either (scripts/check-installed.sh proves it).
#
# Variables
#   PIN, SO_PIN         the user and SO PIN of every SoftHSM token (1234, 0000).
#                       The NSS database's token "NSS Certificate DB" has an
#                       empty password: it needs no login (pkcs11-tool: no
#                       --login; `--pin ""` makes pkcs11-tool 0.23 exit 1 silently).
#   SOFTHSM_MODULE NSS_MODULE TRUST_MODULE   backend libraries (overridable from
#                       the environment; the first existing of the usual paths)
#   OUT, ERR            files holding stdout / stderr of the last `run`/`check`
#   NSS_DB, NSS_INIT_RESERVED   set by setup_nss
#
# Functions
#   require TOOL...           exit 77 (automake SKIP) unless every TOOL is a command,
#                             or, for a name starting with '/', an existing file
#   p11mux_so                 print the path of the built p11mux.so, its testable
#                             copy (error if absent)
#   p11mux_installed_so       the same, the module as installed (system tests)
#   mock_so                   print the path of the built mock backend (error if absent)
#   setup_softhsm LABEL...    point SOFTHSM2_CONF at a private token directory (once)
#                             and initialise one token per LABEL with PIN / SO_PIN
#   setup_nss                 make an NSS database with an empty password in $NSS_DB
#                             (default $TMP/nssdb); sets NSS_DB and NSS_INIT_RESERVED,
#                             the init string for the nss backend of write_config
#   setup_mocks NAME...       copy the mock backend to $TMP/NAME.so and write
#                             $TMP/NAME.conf: one slot whose token is labelled NAME
#                             (rewrite that file afterwards for anything fancier)
#   write_config FILE SPEC... write a p11mux configuration ([global] holds
#                             user-config = none unless +user-config= says else);
#                             each SPEC is
#                               softhsm | nss | trust   the real backends above
#                               NAME                    a mock made by setup_mocks
#                               NAME=/path/module.so    any module
#                               +key=value              a line for the backend just
#                                                       named, or for [global] when
#                                                       no backend is named yet
#                             e.g. write_config F softhsm bad=/no.so +critical=true
#   run CMD...                run CMD, stdout to $OUT and stderr to $ERR; returns
#                             its status (use `run ... || status=$?` under set -e)
#   check DESC CMD...         assert CMD succeeds (output kept in $OUT / $ERR)
#   check_fails DESC CMD...   assert CMD exits non-zero
#   expect_contains FILE TEXT [DESC]      assert FILE holds the fixed string TEXT
#   expect_not_contains FILE TEXT [DESC]  assert it does not
#   expect_line FILE LINE [DESC]          assert FILE has a line equal to LINE
#   expect_equal FILE1 FILE2 DESC         assert the files are identical
#   program_results FILE STATUS DESC [PREFIX]
#                             count the output of a test program that prints
#                             PASS:/FAIL: lines (tests/policy/*.c): each such
#                             line in FILE is a pass/fail, PREFIX before its
#                             text, other lines are printed; a STATUS other
#                             than 0 or 1 fails as "DESC stopped (exit STATUS)"
#   token_labels FILE         print the token labels of a `pkcs11-tool -L` output
#   slot_ids FILE             print its slot ids (0x...), one a line, in order
#   object_labels FILE        print the object labels of a `pkcs11-tool -O` output
#   object_ids FILE           print their CKA_IDs (hex)
#   pass MSG / fail MSG       record and print "PASS: MSG" / "FAIL: MSG"; a fail
#                             does not stop the script, but makes it exit 1
#   die MSG                   print "ERROR: MSG" and exit 1 at once (setup failed)
#   skip MSG                  print "SKIP: MSG" and exit 77
#
# Exit status: 0 when every check passed, 1 when any failed or a command failed
# under set -e, 77 only from require/skip.
#
# What the tools do (Debian 12), which the scripts rely on:
#   - pkcs11-tool 0.23 picks the key of --sign/--verify/--read-object by --id:
#     it ignores --label and takes the first key it finds (SoftHSM2 then
#     answers CKR_GENERAL_ERROR for an RSA mechanism on an EC key).  Give every
#     key an id.  --verify exits 0 even for "Invalid signature": grep for
#     "Signature is valid".  It quotes a data object's label: 'NAME'.
#   - SoftHSM2's slot order changes from run to run: find tokens by label.  Its
#     free slot (uninitialised token) is listed too; p11tool does not show it.
#   - NSS softoken shows two tokens, "NSS Generic Crypto Services" and "NSS
#     Certificate DB" (the database, no login with an empty password).
#     certutil -K names a key by CKA_LABEL, or by CKA_ID with "(orphan)";
#     certutil -G ignores -n for the key's label.  Inside an NSS program
#     (modutil, certutil, Firefox) a p11mux backend on libsoftokn3.so is the
#     program's own softoken: C_Initialize answers ALREADY_INITIALIZED and its
#     init-reserved is not used; its tokens then show twice.
#   - p11-kit-trust has one token per trust path ("System Trust" for
#     /etc/ssl/certs/ca-certificates.crt); compare with what it lists directly.
#   - OpenSSL's pkcs11 engine (libp11 0.4.12) loads $PKCS11_MODULE_PATH; with a
#     wrong PIN it prints "PIN incorrect" and then segfaults on exit.

PIN=1234
SO_PIN=0000
harness_failed=0
harness_passed=0
harness_skipping=0

pass() {
    harness_passed=$((harness_passed + 1))
    printf 'PASS: %s\n' "$*"
}

fail() {
    harness_failed=$((harness_failed + 1))
    printf 'FAIL: %s\n' "$*"
}

die() {
    printf 'ERROR: %s\n' "$*" >&2
    harness_failed=$((harness_failed + 1))
    exit 1
}

skip() {
    printf 'SKIP: %s\n' "$*" >&2
    harness_skipping=1
    exit 77
}

harness_exit() {
    harness_status=$?
    trap - EXIT
    if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
        if [ "${P11MUX_KEEP_TMP:-0}" = 1 ]; then
            printf 'kept %s\n' "$TMP"
        else
            rm -rf "$TMP"
        fi
    fi
    if [ "$harness_skipping" = 1 ]; then
        exit 77
    fi
    if [ "$harness_status" -ne 0 ] && [ "$harness_failed" -eq 0 ]; then
        printf 'ERROR: a command failed (status %s) outside any check\n' "$harness_status"
        exit 1
    fi
    if [ "$harness_failed" -ne 0 ]; then
        printf '%s passed, %s failed\n' "$harness_passed" "$harness_failed"
        exit 1
    fi
    if [ "$harness_passed" -ne 0 ]; then
        printf '%s passed\n' "$harness_passed"
    fi
    exit 0
}

# ------------------------------------------------------------------ trees

harness_script_dir=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$harness_script_dir/../..}
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=${top_builddir:-$top_srcdir}
top_builddir=$(cd "$top_builddir" && pwd)
export top_srcdir top_builddir

# the testable copy (tests/testable/local.am): it reads no system
# configuration and no p11-kit registry of the machine
p11mux_so() {
    if [ ! -f "$top_builddir/tests/testable/.libs/p11mux.so" ]; then
        die "$top_builddir/tests/testable/.libs/p11mux.so is not built (run make check)"
    fi
    printf '%s\n' "$top_builddir/tests/testable/.libs/p11mux.so"
}

# the module as installed: only for tests that give it a private
# $sysconfdir and p11-kit registry (tests/system/system.sh)
p11mux_installed_so() {
    if [ ! -f "$top_builddir/modules/.libs/p11mux.so" ]; then
        die "$top_builddir/modules/.libs/p11mux.so is not built (run make)"
    fi
    printf '%s\n' "$top_builddir/modules/.libs/p11mux.so"
}

mock_so() {
    if [ ! -f "$top_builddir/tests/mock/.libs/libp11mux-mock.so" ]; then
        die "$top_builddir/tests/mock/.libs/libp11mux-mock.so is not built (make tests/mock/libp11mux-mock.la, or make check)"
    fi
    printf '%s\n' "$top_builddir/tests/mock/.libs/libp11mux-mock.so"
}

# ------------------------------------------------------------------ environment

TMP=$(mktemp -d "${TMPDIR:-/tmp}/p11mux-test.XXXXXX")
trap harness_exit EXIT
trap 'exit 1' INT TERM HUP

mkdir "$TMP/home" "$TMP/xdg"
HOME=$TMP/home
XDG_CONFIG_HOME=$TMP/xdg
export HOME XDG_CONFIG_HOME
unset P11MUX_CONF SOFTHSM2_CONF PKCS11_MODULE_PATH NSS_DB NSS_INIT_RESERVED OPENSSL_CONF || true
OUT=$TMP/out
ERR=$TMP/err
: >"$OUT"
: >"$ERR"

# A sanitizer build (scripts/test-all.sh): P11MUX_TEST_PRELOAD names the
# sanitizer runtimes that must come first in a client that loads the
# instrumented p11mux.so.  Only the clients get them, through wrappers first
# in PATH; the shell and the text tools stay uninstrumented (their own leaks
# at exit are none of ours).  The tools built on libp11-kit (p11tool,
# certtool, p11-kit) hang at exit with the runtime preloaded (Debian 12,
# libasan 8: libp11-kit's destructor blocks in freelocale, with or without
# p11mux) and the JVM has its own signal handling: `require` skips a script
# that needs them.
if [ -n "${P11MUX_TEST_PRELOAD:-}" ]; then
    mkdir "$TMP/preload-bin"
    for harness_tool in pkcs11-tool certutil modutil openssl; do
        harness_real=$(command -v "$harness_tool" 2>/dev/null) || continue
        harness_options=
        if [ "$harness_tool" = pkcs11-tool ]; then
            # pkcs11-tool 0.23 leaks buffers of its own (straight on
            # SoftHSM2 too; stripped, so no suppression could name them
            # without hiding ours) and pkcs11-spy's FILE: no leak check
            # here.  valgrind-backends.sh checks p11mux's leaks under it.
            # shellcheck disable=SC2016 # expanded by the wrapper written below
            harness_options='ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" '
        fi
        printf '#!/bin/sh\n%sLD_PRELOAD="%s" exec "%s" "$@"\n' "$harness_options" \
            "$P11MUX_TEST_PRELOAD" "$harness_real" >"$TMP/preload-bin/$harness_tool"
        chmod 755 "$TMP/preload-bin/$harness_tool"
    done
    PATH=$TMP/preload-bin:$PATH
    export PATH
fi

# The first existing file among the arguments (or the last one).
harness_first_file() {
    for harness_f in "$@"; do
        if [ -f "$harness_f" ]; then
            break
        fi
    done
    printf '%s\n' "$harness_f"
}

SOFTHSM_MODULE=${SOFTHSM_MODULE:-$(harness_first_file \
    /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
    /usr/lib64/pkcs11/libsofthsm2.so /usr/lib/pkcs11/libsofthsm2.so)}
NSS_MODULE=${NSS_MODULE:-$(harness_first_file \
    /usr/lib/x86_64-linux-gnu/libsoftokn3.so /usr/lib64/libsoftokn3.so /usr/lib/libsoftokn3.so)}
TRUST_MODULE=${TRUST_MODULE:-$(harness_first_file \
    /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so /usr/lib64/pkcs11/p11-kit-trust.so \
    /usr/lib/pkcs11/p11-kit-trust.so)}

require() {
    for harness_tool in "$@"; do
        if [ -n "${P11MUX_TEST_PRELOAD:-}" ]; then
            case $harness_tool in
            p11tool | certtool | p11-kit | gnutls-cli | java | keytool | javac)
                skip "$harness_tool cannot run with the sanitizer runtime preloaded"
                ;;
            esac
        fi
        case $harness_tool in
        /*) [ -f "$harness_tool" ] || skip "$harness_tool is not installed" ;;
        *) command -v "$harness_tool" >/dev/null 2>&1 || skip "$harness_tool is not installed" ;;
        esac
    done
}

# ------------------------------------------------------------------ checks

run() {
    harness_rc=0
    "$@" >"$OUT" 2>"$ERR" || harness_rc=$?
    return "$harness_rc"
}

# Show what a failed command printed, indented.
harness_show_output() {
    if [ -s "$OUT" ]; then
        printf '  stdout:\n'
        sed 's/^/    /' "$OUT"
    fi
    if [ -s "$ERR" ]; then
        printf '  stderr:\n'
        sed 's/^/    /' "$ERR"
    fi
}

check() {
    harness_desc=$1
    shift
    if run "$@"; then
        pass "$harness_desc"
    else
        fail "$harness_desc (exit $harness_rc): $*"
        harness_show_output
    fi
}

check_fails() {
    harness_desc=$1
    shift
    if run "$@"; then
        fail "$harness_desc (succeeded, expected a failure): $*"
        harness_show_output
    else
        pass "$harness_desc (exit $harness_rc, as expected)"
    fi
}

expect_contains() {
    harness_desc=${3:-"$(basename "$1") contains \"$2\""}
    if grep -F -q -e "$2" "$1"; then
        pass "$harness_desc"
    else
        fail "$harness_desc: not found in $1:"
        sed 's/^/    /' "$1"
    fi
}

expect_not_contains() {
    harness_desc=${3:-"$(basename "$1") lacks \"$2\""}
    if grep -F -q -e "$2" "$1"; then
        fail "$harness_desc: found in $1:"
        sed 's/^/    /' "$1"
    else
        pass "$harness_desc"
    fi
}

expect_line() {
    harness_desc=${3:-"$(basename "$1") has the line \"$2\""}
    if grep -F -x -q -e "$2" "$1"; then
        pass "$harness_desc"
    else
        fail "$harness_desc: not in $1:"
        sed 's/^/    /' "$1"
    fi
}

expect_equal() {
    if cmp -s "$1" "$2"; then
        pass "$3"
    else
        fail "$3: $1 and $2 differ:"
        diff -u "$1" "$2" | sed 's/^/    /' || true
    fi
}

program_results() {
    harness_prefix=${4:-}
    while IFS= read -r harness_line; do
        case $harness_line in
        PASS:*) pass "$harness_prefix${harness_line#PASS: }" ;;
        FAIL:*) fail "$harness_prefix${harness_line#FAIL: }" ;;
        *) printf '%s\n' "$harness_line" ;;
        esac
    done <"$1"
    if [ "$2" -ne 0 ] && [ "$2" -ne 1 ]; then
        fail "$3 stopped (exit $2)"
    fi
}

# ------------------------------------------------------------------ pkcs11-tool output

# "  token label        : NAME" lines of `pkcs11-tool -L`
token_labels() {
    sed -n 's/^  token label *: //p' "$1"
}

# "Slot N (0xID): description" lines of `pkcs11-tool -L`
slot_ids() {
    sed -n 's/^Slot [0-9]* (\(0x[0-9a-fA-F]*\)).*/\1/p' "$1"
}

# "  label:      NAME" lines of `pkcs11-tool -O` (which quotes a data object's
# label: "  label:      'NAME'")
object_labels() {
    sed -n "s/^  label: *//; t found; d; : found; s/^'\\(.*\\)'\$/\\1/; p" "$1"
}

# "  ID:         HEX" lines of `pkcs11-tool -O`
object_ids() {
    sed -n 's/^  ID: *//p' "$1"
}

# ------------------------------------------------------------------ backends

setup_softhsm() {
    if [ -z "${SOFTHSM2_CONF:-}" ]; then
        mkdir -p "$TMP/softhsm/tokens"
        SOFTHSM2_CONF=$TMP/softhsm/softhsm2.conf
        export SOFTHSM2_CONF
        cat >"$SOFTHSM2_CONF" <<EOF
directories.tokendir = $TMP/softhsm/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
    fi
    for harness_label in "$@"; do
        if ! run softhsm2-util --init-token --free --label "$harness_label" \
            --pin "$PIN" --so-pin "$SO_PIN"; then
            harness_show_output
            die "softhsm2-util could not initialise token '$harness_label'"
        fi
    done
}

setup_nss() {
    NSS_DB=${NSS_DB:-$TMP/nssdb}
    mkdir -p "$NSS_DB"
    if ! run certutil -N -d "sql:$NSS_DB" --empty-password; then
        harness_show_output
        die "certutil could not create an NSS database in $NSS_DB"
    fi
    NSS_INIT_RESERVED="configdir='sql:$NSS_DB' certPrefix='' keyPrefix='' secmod='secmod.db' flags="
}

setup_mocks() {
    harness_mock=$(mock_so) || exit 1
    for harness_name in "$@"; do
        cp "$harness_mock" "$TMP/$harness_name.so"
        cat >"$TMP/$harness_name.conf" <<EOF
[mock]
interface = 3.0
[slot 1]
token-label = $harness_name
token-present = true
EOF
    done
}

# The [backend NAME] group for one SPEC (without its +key=value lines).
harness_backend_group() {
    case $1 in
    *=*)
        printf '[backend %s]\nmodule = %s\n' "${1%%=*}" "${1#*=}"
        ;;
    softhsm)
        printf '[backend softhsm]\nmodule = %s\n' "$SOFTHSM_MODULE"
        ;;
    nss)
        [ -n "${NSS_INIT_RESERVED:-}" ] || die "write_config: nss named before setup_nss"
        printf '[backend nss]\nmodule = %s\ninit-reserved = %s\n' "$NSS_MODULE" "$NSS_INIT_RESERVED"
        ;;
    trust)
        printf '[backend trust]\nmodule = %s\n' "$TRUST_MODULE"
        ;;
    *)
        [ -f "$TMP/$1.so" ] || die "write_config: no backend '$1' (setup_mocks $1 first?)"
        printf '[backend %s]\nmodule = %s\n' "$1" "$TMP/$1.so"
        ;;
    esac
}

write_config() {
    harness_config=$1
    shift
    # user-config = none unless the [global] options say otherwise
    harness_user_config="user-config = none"
    for harness_spec in "$@"; do
        case $harness_spec in
        +user-config=*) harness_user_config= ;;
        +*) ;;
        *) break ;;
        esac
    done
    {
        printf '# written by tests/integration/harness.sh\n[global]\n'
        if [ -n "$harness_user_config" ]; then
            printf '%s\n' "$harness_user_config"
        fi
        for harness_spec in "$@"; do
            case $harness_spec in
            +*=*)
                harness_kv=${harness_spec#+}
                printf '%s = %s\n' "${harness_kv%%=*}" "${harness_kv#*=}"
                ;;
            *) harness_backend_group "$harness_spec" ;;
            esac
        done
    } >"$harness_config"
}
