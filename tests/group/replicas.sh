# shellcheck shell=sh
# The HA group test fixture (HA-GROUPS.md, section 13; tests/group/README.md):
# replicated, divergent and ambiguous SoftHSM2 tokens, the fault injector
# p11fault.so as a p11mux backend, and served members (p11-kit server).
# Sourced after tests/integration/harness.sh (POSIX sh, `set -eu`):
#
#     #!/bin/sh
#     set -eu
#     # shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
#     . "$(dirname "$0")/../integration/harness.sh"
#     # shellcheck source-path=SCRIPTDIR source=replicas.sh
#     . "$(dirname "$0")/replicas.sh"
#     require pkcs11-tool softhsm2-util openssl "$SOFTHSM_MODULE"
#     setup_replicas replica-a replica-b
#     setup_divergent replica-c
#     fault_module_conf fault >>"$TMP/p11mux.conf"
#     fault_rules 'token=replica-a fn=C_Sign rv=CKR_DEVICE_ERROR count=1'
#     served_member srv-a served-a
#
# Key material (made once per test run, in $REPLICAS_DIR; every replica
# holds the same objects, all imported, none generated on a token):
#   CKA_ID 01, label k1   RSA-2048 key pair (private and public key, both
#                         from `softhsm2-util --import`) and a self-signed
#                         certificate of it (CN=p11mux-replica)
#   CKA_ID 03, label k3   EC P-256 key pair (likewise)
#   CKA_ID 02, label aes  AES-256 secret key, CKA_SENSITIVE true (its value
#                         never leaves a token, as on an HSM), CKA_ENCRYPT,
#                         CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP true, CKA_SIGN
#                         false (pkcs11-tool 0.23 cannot set it on a secret
#                         key): encryption works, a MAC does not; compare
#                         replicas by a check value (AES-ECB of a zero block)
# Files: rsa.p8 ec.p8 (PKCS #8), rsa.pem ec.pem, rsa-pub.der ec-pub.der
# (SubjectPublicKeyInfo, what `pkcs11-tool --read-object --type pubkey`
# prints), cert.der, aes.key (32 bytes), aes-kcv (its check value), and,
# for setup_divergent / setup_ambiguous, other-rsa.p8 other-rsa.pem
# other-rsa-pub.der other-cert.der: a second RSA-2048 key and its certificate.
#
# Functions
#   setup_replicas LABEL...   initialise one token per LABEL in the harness's
#                             SoftHSM2 (setup_softhsm) holding the material
#   setup_divergent LABEL     a token like a replica, except that the RSA key
#                             pair and certificate of id 01 / k1 are the other
#                             key's (divergence)
#   setup_ambiguous LABEL     a replica with, besides, the other RSA key pair
#                             imported under id 01 / k1 too (two private and
#                             two public keys of one identity: ambiguity)
#   p11fault_so               print the path of the built p11fault.so
#   fault_module_conf NAME    print a p11mux [backend NAME] section: p11fault.so
#                             with init-reserved naming $SOFTHSM_MODULE (one
#                             such backend serves every member: members
#                             NAME:pkcs11:token=replica-a, ...)
#   fault_rules [TEXT]        replace the rules file $P11FAULT_RULES with TEXT
#                             (one rule a line; none: no rules) atomically
#   fault_count LABEL FUNCTION [FILE]
#                             print the count of FUNCTION on token LABEL ('-'
#                             for calls with no token) from the counts file
#                             FILE (default $P11FAULT_COUNTS), 0 if absent
#   served_member NAME LABEL  a SoftHSM2 of its own ($TMP/served-NAME/) with a
#                             replica token LABEL, served by `p11-kit server`
#                             over p11fault.so on $TMP/NAME.sock, counting
#                             into $TMP/NAME.counts; returns once it listens
#   kill_served NAME [SIGNAL] kill its server's process group (the listener
#                             and its connection processes; default KILL, a
#                             dead host) and wait for it to be gone
#   restart_served NAME       start it again on the same socket (killing it
#                             first if it still runs)
#   served_address NAME       print its P11_KIT_SERVER_ADDRESS (unix:path=...)
#   served_pid NAME           print its server's pid (= process group id)
#
# Variables
#   REPLICAS_DIR              the key material ($TMP/replicas)
#   P11FAULT_RULES            $TMP/p11fault.rules, exported (no file: no rules)
#   P11FAULT_COUNTS           $TMP/p11fault.counts, exported
#   P11KIT_CLIENT_MODULE      p11-kit-client.so (overridable, like SOFTHSM_MODULE)
#
# The fault injector's counters (count=, after=) and its counts file live
# in one process: each process that loads p11fault.so starts from zero and
# rewrites the counts file from zero.  A pkcs11-tool run is one process;
# a served member forks one process per connection (so each connection
# starts from the counts of the listener, which made no calls); p11mux is
# one process for the whole of a group test.
#
# On exit every served member still running is killed (the EXIT trap then
# goes on with the harness's harness_exit).

REPLICAS_DIR=$TMP/replicas
P11FAULT_RULES=$TMP/p11fault.rules
P11FAULT_COUNTS=$TMP/p11fault.counts
export P11FAULT_RULES P11FAULT_COUNTS

P11KIT_CLIENT_MODULE=${P11KIT_CLIENT_MODULE:-$(harness_first_file \
    /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so /usr/lib64/pkcs11/p11-kit-client.so \
    /usr/lib/pkcs11/p11-kit-client.so)}

# ------------------------------------------------------------------ cleanup

replicas_exit() {
    replicas_status=$?
    set +e
    for replicas_pgid_file in "$TMP"/served-*/pgid; do
        [ -f "$replicas_pgid_file" ] || continue
        replicas_dir=${replicas_pgid_file%/pgid}
        served_signal "$(cat "$replicas_pgid_file")" "$(cat "$replicas_dir/launcher")" KILL
    done
    (exit "$replicas_status")
    harness_exit
}

trap replicas_exit EXIT

# ------------------------------------------------------------------ key material

# Run a command of the fixture's set-up; on failure show its output and stop.
replicas_run() {
    replicas_what=$1
    shift
    if ! run "$@"; then
        harness_show_output
        die "$replicas_what failed: $*"
    fi
}

# An RSA-2048 key NAME.pem / NAME.p8 / NAME-pub.der and a self-signed
# certificate CERT.der of it.
replicas_rsa_key() {
    replicas_run "RSA key $1" openssl genpkey -algorithm RSA \
        -pkeyopt rsa_keygen_bits:2048 -out "$REPLICAS_DIR/$1.pem"
    replicas_run "PKCS #8 of $1" openssl pkcs8 -topk8 -nocrypt \
        -in "$REPLICAS_DIR/$1.pem" -out "$REPLICAS_DIR/$1.p8"
    replicas_run "public key of $1" openssl pkey -in "$REPLICAS_DIR/$1.pem" \
        -pubout -outform DER -out "$REPLICAS_DIR/$1-pub.der"
    replicas_run "certificate of $1" openssl req -x509 -new -key "$REPLICAS_DIR/$1.pem" \
        -subj /CN=p11mux-replica -days 3650 -sha256 -outform DER -out "$REPLICAS_DIR/$2.der"
}

replicas_material() {
    [ -f "$REPLICAS_DIR/done" ] && return 0
    mkdir -p "$REPLICAS_DIR"
    replicas_rsa_key rsa cert
    replicas_run "EC key" openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$REPLICAS_DIR/ec.pem"
    replicas_run "PKCS #8 of ec" openssl pkcs8 -topk8 -nocrypt \
        -in "$REPLICAS_DIR/ec.pem" -out "$REPLICAS_DIR/ec.p8"
    replicas_run "public key of ec" openssl pkey -in "$REPLICAS_DIR/ec.pem" \
        -pubout -outform DER -out "$REPLICAS_DIR/ec-pub.der"
    replicas_run "AES key" openssl rand -out "$REPLICAS_DIR/aes.key" 32
    head -c 16 /dev/zero >"$REPLICAS_DIR/zero-block"
    replicas_run "AES check value" openssl enc -aes-256-ecb -nopad \
        -K "$(od -An -tx1 -v "$REPLICAS_DIR/aes.key" | tr -d ' \n')" \
        -in "$REPLICAS_DIR/zero-block" -out "$REPLICAS_DIR/aes-kcv"
    : >"$REPLICAS_DIR/done"
}

replicas_other_material() {
    replicas_material
    [ -f "$REPLICAS_DIR/other-done" ] && return 0
    replicas_rsa_key other-rsa other-cert
    replicas_run "another AES key" openssl rand -out "$REPLICAS_DIR/other-aes.key" 32
    : >"$REPLICAS_DIR/other-done"
}

# ------------------------------------------------------------------ tokens

# softhsm2-util --import makes the key pair: private and public key objects.
# Usage: replicas_import_pair LABEL FILE OBJECT-LABEL ID [--force]
replicas_import_pair() {
    replicas_token=$1
    replicas_file=$2
    replicas_object=$3
    replicas_id=$4
    shift 4
    replicas_run "import of $replicas_file into $replicas_token" softhsm2-util --import \
        "$REPLICAS_DIR/$replicas_file" --token "$replicas_token" --label "$replicas_object" \
        --id "$replicas_id" --pin "$PIN" "$@"
}

replicas_write() {
    replicas_token=$1
    shift
    replicas_run "writing to $replicas_token" pkcs11-tool --module "$SOFTHSM_MODULE" \
        --token-label "$replicas_token" --login --pin "$PIN" --write-object "$@"
}

# Fill the token LABEL with the material, RSA key RSA (.p8) and certificate
# CERT (.der).
replicas_fill() {
    replicas_import_pair "$1" "$2.p8" k1 01
    replicas_import_pair "$1" ec.p8 k3 03
    replicas_write "$1" "$REPLICAS_DIR/$3.der" --type cert --id 01 --label k1
    replicas_write "$1" "$REPLICAS_DIR/aes.key" --type secrkey --key-type AES:32 \
        --id 02 --label aes --sensitive --usage-decrypt
}

# The token LABEL: the replicas' keys, but another AES key under id 02 (only
# a secret key's check value or a probe tells them apart).
setup_other_secret() {
    replicas_other_material
    setup_softhsm "$1"
    replicas_import_pair "$1" rsa.p8 k1 01
    replicas_import_pair "$1" ec.p8 k3 03
    replicas_write "$1" "$REPLICAS_DIR/cert.der" --type cert --id 01 --label k1
    replicas_write "$1" "$REPLICAS_DIR/other-aes.key" --type secrkey --key-type AES:32 \
        --id 02 --label aes --sensitive --usage-decrypt
}

setup_replicas() {
    replicas_material
    setup_softhsm "$@"
    for replicas_label in "$@"; do
        replicas_fill "$replicas_label" rsa cert
    done
}

setup_divergent() {
    replicas_other_material
    setup_softhsm "$1"
    replicas_fill "$1" other-rsa other-cert
}

setup_ambiguous() {
    replicas_other_material
    setup_softhsm "$1"
    replicas_fill "$1" rsa cert
    # --force: softhsm2-util refuses an id already taken without it
    replicas_import_pair "$1" other-rsa.p8 k1 01 --force
}

# ------------------------------------------------------------------ p11fault.so

# top_builddir is the harness's
# shellcheck disable=SC2154
p11fault_so() {
    if [ ! -f "$top_builddir/tests/fault/.libs/p11fault.so" ]; then
        die "$top_builddir/tests/fault/.libs/p11fault.so is not built (make check)"
    fi
    printf '%s\n' "$top_builddir/tests/fault/.libs/p11fault.so"
}

# p11mux passes a backend's init-reserved as the init string, which names
# the wrapped module (P11FAULT_MODULE is for callers that pass none).
fault_module_conf() {
    replicas_so=$(p11fault_so) || exit 1
    printf '[backend %s]\nmodule = %s\ninit-reserved = %s\n' "$1" "$replicas_so" "$SOFTHSM_MODULE"
}

# Written beside it and renamed over it: p11fault.so sees a new file (it
# compares device, inode, size and time) and starts its rules afresh.
fault_rules() {
    printf '%s\n' "${1:-}" >"$P11FAULT_RULES.new"
    mv -f "$P11FAULT_RULES.new" "$P11FAULT_RULES"
}

# A line of the counts file is "LABEL FUNCTION N"; the label may hold spaces.
fault_count() {
    replicas_counts=${3:-$P11FAULT_COUNTS}
    if [ ! -f "$replicas_counts" ]; then
        printf '0\n'
        return 0
    fi
    awk -v label="$1" -v fn="$2" '
        { l = $0; sub(/ [^ ]+ [^ ]+$/, "", l) }
        l == label && $(NF - 1) == fn { n = $NF }
        END { print n + 0 }' "$replicas_counts"
}

# expect_count LABEL FUNCTION TEST N DESCRIPTION: p11fault counted FUNCTION
# on LABEL's token TEST (-eq, -ge, ...) N times in the last process
expect_count() {
    replicas_n=$(fault_count "$1" "$2")
    if test "$replicas_n" "$3" "$4"; then
        pass "$5"
    else
        fail "$5 ($1 $2: $replicas_n)"
    fi
}

# ------------------------------------------------------------------ served members

served_address() {
    printf 'unix:path=%s\n' "$TMP/$1.sock"
}

# served_registration REGISTRATION NAME: a `remote:` registration of the
# served member NAME in the test's own p11-kit registry, $TMP/registry,
# which p11mux reads with import-p11-kit and p11-kit's managed loader with
# it (the testable site points p11-kit there: tests/testable/testable-site.c)
served_registration() {
    mkdir -p "$TMP/registry"
    printf 'remote: %s\n' "$(served_address "$2")" >"$TMP/registry/$1.module"
    P11MUX_TESTABLE_REGISTRY=$TMP/registry
    export P11MUX_TESTABLE_REGISTRY
}

served_pid() {
    [ -f "$TMP/served-$1/pgid" ] || die "served member '$1' is not running"
    cat "$TMP/served-$1/pgid"
}

served_member() {
    replicas_dir=$TMP/served-$1
    [ ! -d "$replicas_dir" ] || die "served member '$1' exists already"
    replicas_material
    mkdir -p "$replicas_dir/tokens"
    printf '%s\n' "$2" >"$replicas_dir/label"
    cat >"$replicas_dir/softhsm2.conf" <<EOF
directories.tokendir = $replicas_dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
    # its own SoftHSM2: the harness's SOFTHSM2_CONF stays as it is
    (
        SOFTHSM2_CONF=$replicas_dir/softhsm2.conf
        export SOFTHSM2_CONF
        setup_softhsm "$2"
        replicas_fill "$2" rsa cert
    ) || exit 1
    served_start "$1"
}

# Start the server and wait (10 s at most) until it listens.  Without job
# control a background command is not a process group leader, so setsid(1)
# makes the server itself the leader of a new session; where it has to
# fork instead, the server's pid (which p11-kit server prints) still names
# the group.
served_start() {
    replicas_dir=$TMP/served-$1
    replicas_so=$(p11fault_so) || exit 1
    rm -f "$TMP/$1.sock" "$replicas_dir/server.out"
    SOFTHSM2_CONF=$replicas_dir/softhsm2.conf P11FAULT_MODULE=$SOFTHSM_MODULE \
        P11FAULT_COUNTS=$TMP/$1.counts \
        setsid p11-kit server -f -n "$TMP/$1.sock" --provider "$replicas_so" \
        "pkcs11:token=$(cat "$replicas_dir/label")" \
        >"$replicas_dir/server.out" 2>"$replicas_dir/server.err" &
    printf '%s\n' "$!" >"$replicas_dir/launcher"
    replicas_tries=0
    replicas_pid=
    while [ -z "$replicas_pid" ] || [ ! -S "$TMP/$1.sock" ]; do
        if [ -f "$replicas_dir/server.out" ]; then
            replicas_pid=$(sed -n 's/^P11_KIT_SERVER_PID=\([0-9]*\);.*/\1/p' "$replicas_dir/server.out")
        fi
        replicas_tries=$((replicas_tries + 1))
        if [ "$replicas_tries" -gt 100 ] || ! kill -0 "$(cat "$replicas_dir/launcher")" 2>/dev/null; then
            sed 's/^/    /' "$replicas_dir/server.err" >&2 || true
            die "served member '$1' is not listening on $TMP/$1.sock"
        fi
        sleep 0.1
    done
    printf '%s\n' "$replicas_pid" >"$replicas_dir/pgid"
}

# Signal the process group PGID and reap the launcher LAUNCHER (the server
# itself, or setsid), quietly: bash reports a killed job on stderr when it
# notices it, which may be before the `wait`.
served_signal() {
    {
        kill -s "$3" -- "-$1" || true
        wait "$2" || true
    } 2>/dev/null
}

kill_served() {
    replicas_dir=$TMP/served-$1
    replicas_pgid=$(served_pid "$1") || exit 1
    served_signal "$replicas_pgid" "$(cat "$replicas_dir/launcher")" "${2:-KILL}"
    replicas_tries=0
    while kill -0 -- "-$replicas_pgid" 2>/dev/null; do
        replicas_tries=$((replicas_tries + 1))
        [ "$replicas_tries" -le 100 ] || die "served member '$1' (group $replicas_pgid) survives kill"
        sleep 0.1
    done
    rm -f "$replicas_dir/pgid"
}

restart_served() {
    [ -d "$TMP/served-$1" ] || die "no served member '$1' (served_member first)"
    if [ -f "$TMP/served-$1/pgid" ]; then
        kill_served "$1"
    fi
    served_start "$1"
}
