#!/bin/sh
# Real clients through an HA group (HA-GROUPS.md §14.1, test 29): a group of
# two SoftHSM2 replicas holding the same imported keys (replicas.sh), behind
# the fault injector p11fault.so, used by
#   - pkcs11-tool: the mechanism list (the same as a member's), and
#     `--test --login`, which must find no errors, as on a member through
#     p11mux without a group (its output is not compared whole: the order
#     in which SoftHSM2 finds objects, and so which key is tested with
#     which mechanisms, changes from run to run);
#   - GnuTLS's p11tool: --test-sign with the RSA (PKCS #1 v1.5 and PSS) and
#     EC keys;
#   - OpenSSL's pkcs11 engine: a certificate signed with the EC key, and TLS
#     servers (`openssl s_server`) whose handshake signatures the group
#     makes, serving the certificate on the token, reached by s_client; one
#     server process also serves two connections, replica-a failing from
#     between them on;
#   - NSS (p11mux.so added with modutil): certutil lists the group's
#     certificate and keys, and signs certificate requests with them;
#   - Java's SunPKCS11 provider: keytool lists the key, a program signs
#     with it (SignWithToken.java), OpenSSL verifies.
# dispatch = primary: replica-a does the work, and each client runs once
# more while replica-a fails every signature with CKR_DEVICE_ERROR; the
# client must not notice, and replica-b signs instead.  pkcs11-tool,
# openssl and java run one process per command, so each command's counts
# are its own (p11fault counts per process).
#
# A part whose client is not installed is skipped by require's verdict
# while the other parts run, and the test then ends as SKIP unless a check
# failed.  With the sanitizer runtime preloaded (scripts/test-all.sh),
# p11tool and java cannot run (harness.sh): their parts are skipped, and
# the pkcs11-tool and OpenSSL parts decide.
set -eu
# shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
# shellcheck source-path=SCRIPTDIR source=replicas.sh
. "$(dirname "$0")/replicas.sh"
require pkcs11-tool softhsm2-util openssl "$SOFTHSM_MODULE"

so=$(p11mux_so)
setup_replicas replica-a replica-b
printf 'data signed by real clients through the group\n' >"$TMP/data"

# conf FILE [POLICY-LINE]: the group, or (FILE single.conf) replica-a's
# SoftHSM2 as a plain backend; with POLICY-LINE, a [global] policy of it
conf() {
    {
        printf '[global]\nuser-config = none\ntrace = file:%s\n' "$TMP/trace"
        if [ -n "${2:-}" ]; then
            printf 'policy = clients\n[policy clients]\n%s\n' "$2"
        fi
        case $1 in
        *single.conf)
            printf '[backend softhsm]\nmodule = %s\n' "$SOFTHSM_MODULE"
            ;;
        *)
            fault_module_conf fault
            printf '[group signing]\nmembers = fault:pkcs11:token=replica-a fault:pkcs11:token=replica-b\n'
            printf 'dispatch = primary\nerror-threshold = 1\n'
            ;;
        esac
    } >"$1"
}
conf "$TMP/p11mux.conf"
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF
fault_rules ""
# replica-a fails every signature after its *Init (single-part and final
# calls): the group replays the operation on replica-b
FAIL_SIGN='token=replica-a fn=C_Sign rv=CKR_DEVICE_ERROR count=always
token=replica-a fn=C_SignFinal rv=CKR_DEVICE_ERROR count=always'

# failing: replica-a fails signatures from now on; the trace starts afresh
failing() {
    fault_rules "$FAIL_SIGN"
    : >"$TMP/trace"
}

# healed DESC FUNCTION: after a client ran while replica-a failed FUNCTION:
# replica-a was asked, replica-b signed, the trace has the failover; no
# more failures from now on
healed() {
    expect_count replica-a "$2" -ge 1 "$1: replica-a was asked to sign and failed"
    expect_count replica-b "$2" -ge 1 "$1: replica-b signed instead"
    expect_contains "$TMP/trace" "group.failover" "$1: the trace records the failover"
    fault_rules ""
}

# part NAME TOOL...: whether the tools of the part NAME are all here and
# can run, by require's verdict (in a subshell: this part only is skipped).
# A missing tool makes the whole test SKIP at the end; a tool that is there
# but cannot run with the sanitizer runtime preloaded (harness.sh) does
# not: the sanitizer run checks the other parts.
skipped=
part() {
    part_name=$1
    shift
    if (require "$@") 2>"$TMP/part.err"; then
        return 0
    fi
    printf 'SKIP: %s (%s)\n' "$part_name" "$(sed 's/^SKIP: //' "$TMP/part.err")"
    if ! (P11MUX_TEST_PRELOAD='' && require "$@") 2>/dev/null; then
        skipped="$skipped $part_name,"
    fi
    return 1
}

# ------------------------------------------------------------ pkcs11-tool

check "pkcs11-tool -L" pkcs11-tool --module "$so" -L
token_labels "$OUT" >"$TMP/labels"
expect_line "$TMP/labels" signing "the group's token is listed"
expect_not_contains "$TMP/labels" replica-a "its members are not"

# every member has the same mechanisms: the group's list (an
# intersection, with the narrowest sizes and the flags all share) is theirs
check "pkcs11-tool -M on the group" pkcs11-tool --module "$so" --token-label signing -M
grep -v '^Using slot' "$OUT" >"$TMP/group-mechanisms"
check "pkcs11-tool -M on replica-a directly" pkcs11-tool --module "$SOFTHSM_MODULE" \
    --token-label replica-a -M
grep -v '^Using slot' "$OUT" >"$TMP/member-mechanisms"
expect_equal "$TMP/member-mechanisms" "$TMP/group-mechanisms" \
    "the group's mechanisms, sizes and flags are its members'"

# SoftHSM2 itself fails `pkcs11-tool --test` on an RSA key: RSA-OAEP with
# a label, CKR_ARGUMENTS_BAD (DESIGN.md); the group fails there too
check_fails "pkcs11-tool --test on replica-a directly stops at RSA-OAEP" \
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label replica-a --test --login --pin "$PIN"
expect_contains "$ERR" "C_DecryptInit failed: rv = CKR_ARGUMENTS_BAD" "SoftHSM2's own verdict"
check_fails "pkcs11-tool --test on the group stops there too" \
    pkcs11-tool --module "$so" --token-label signing --test --login --pin "$PIN"
expect_contains "$ERR" "C_DecryptInit failed: rv = CKR_ARGUMENTS_BAD" "the group's verdict is the same"

# without RSA-OAEP (a policy), on the group as on the member through p11mux
conf "$TMP/single.conf" "deny-mechanisms = CKM_RSA_PKCS_OAEP"
check "pkcs11-tool --test --login on replica-a through p11mux, without RSA-OAEP" \
    env P11MUX_CONF="$TMP/single.conf" pkcs11-tool --module "$so" --token-label replica-a \
    --test --login --pin "$PIN"
expect_line "$OUT" "No errors" "pkcs11-tool --test finds no errors on replica-a without a group"
sed -n '/^C_SeedRandom/,/^Digests/p' "$OUT" >"$TMP/single-seed"
conf "$TMP/test.conf" "deny-mechanisms = CKM_RSA_PKCS_OAEP"
# tool_test DESC: pkcs11-tool --test --login on the group, without RSA-OAEP
tool_test() {
    check "pkcs11-tool --test --login on the group ($1)" env P11MUX_CONF="$TMP/test.conf" \
        pkcs11-tool --module "$so" --token-label signing --test --login --pin "$PIN"
    expect_line "$OUT" "No errors" "$1: pkcs11-tool --test finds no errors"
    sed -n '/^C_SeedRandom/,/^Digests/p' "$OUT" >"$TMP/group-seed"
    expect_contains "$OUT" "all 4 digest functions seem to work" "$1: the digest tests ran"
    awk '/^Verify/ {on = 1} /^Decryption/ {on = 0} on' "$OUT" >"$TMP/verify-part"
    expect_line "$TMP/verify-part" "    RSA-X-509: OK" \
        "$1: the sign-and-verify test ran (C_Sign, then C_Verify of it)"
    awk '/^Decryption/ {on = 1} on' "$OUT" >"$TMP/decrypt-part"
    expect_line "$TMP/decrypt-part" "    RSA-PKCS: OK" "$1: the decryption test ran"
    expect_not_contains "$OUT" "ERR" "$1: no test found an error"
    expect_equal "$TMP/single-seed" "$TMP/group-seed" \
        "$1: the random tests as on replica-a without a group"
}
tool_test "both members well"
expect_count replica-a C_Sign -ge 1 "both members well: replica-a signed"
expect_count replica-b C_Sign -eq 0 "both members well: replica-b did not"
expect_count replica-a C_SeedRandom -ge 1 "C_SeedRandom reached replica-a"
expect_count replica-b C_SeedRandom -ge 1 "C_SeedRandom reached replica-b"
failing
tool_test "replica-a failing signatures"
healed "pkcs11-tool --test" C_Sign

# ------------------------------------------------------------ p11tool

if part p11tool p11tool; then
    GNUTLS_PIN=$PIN
    export GNUTLS_PIN
    check "p11tool --list-tokens" p11tool --provider "$so" --list-tokens
    expect_contains "$OUT" "Label: signing" "p11tool lists the group's token"
    expect_contains "$OUT" "Model: HA group" "p11tool sees an HA group"
    # gnutls_sign KEY DESC [OPTION...]: p11tool --test-sign with the group's KEY
    gnutls_sign() {
        gnutls_key=$1 gnutls_desc=$2
        shift 2
        check "p11tool --test-sign with $gnutls_desc" p11tool --provider "$so" --login \
            --test-sign "$@" "pkcs11:token=signing;object=$gnutls_key;type=private" </dev/null
        cat "$ERR" >>"$OUT"
        expect_contains "$OUT" "... ok" "$gnutls_desc: the signature is made"
        expect_contains "$OUT" "Verifying against public key in the token... ok" \
            "$gnutls_desc: it verifies against the token's public key"
        expect_not_contains "$OUT" "failed" "$gnutls_desc: no step failed"
    }
    gnutls_sign k1 "the RSA key (PKCS #1 v1.5)"
    expect_contains "$OUT" "Signing using RSA-SHA256" "p11tool signs RSA-SHA256"
    expect_count replica-a C_Sign -ge 1 "p11tool: replica-a signed"
    gnutls_sign k1 "the RSA key (PSS)" --sign-params rsa-pss
    expect_contains "$OUT" "Signing using RSA-PSS-SHA256" "p11tool signs RSA-PSS-SHA256"
    gnutls_sign k3 "the EC key"
    expect_contains "$OUT" "Signing using ECDSA-SHA256" "p11tool signs ECDSA-SHA256"
    failing
    gnutls_sign k1 "the RSA key, replica-a failing"
    healed "p11tool" C_Sign
fi

# ------------------------------------------------------------ OpenSSL

engines=$(openssl version -e 2>/dev/null | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p') || true
if part "OpenSSL's pkcs11 engine" timeout "${engines:-/nonexistent}/pkcs11.so"; then
    printf '# empty: no system configuration\n' >"$TMP/openssl.cnf"
    # the engine loads the module named by PKCS11_MODULE_PATH
    OPENSSL_CONF=$TMP/openssl.cnf
    PKCS11_MODULE_PATH=$so
    export OPENSSL_CONF PKCS11_MODULE_PATH
    key_uri() {
        printf 'pkcs11:token=signing;object=%s;type=private?pin-value=%s' "$1" "$PIN"
    }

    check "the certificate on the group's token (pkcs11-tool --read-object)" pkcs11-tool \
        --module "$so" --token-label signing --read-object --type cert --id 01 -o "$TMP/token.der"
    expect_equal "$REPLICAS_DIR/cert.der" "$TMP/token.der" "the token's certificate is the replicas'"
    check "as PEM" openssl x509 -inform DER -in "$TMP/token.der" -out "$TMP/k1.crt"
    check "openssl req -x509 -engine pkcs11 with the group's EC key" openssl req -new -x509 \
        -engine pkcs11 -keyform engine -key "$(key_uri k3)" -subj /CN=localhost -days 1 \
        -out "$TMP/k3.crt"
    check "OpenSSL verifies the certificate the group signed" \
        openssl verify -CAfile "$TMP/k3.crt" "$TMP/k3.crt"
    check "its public key" openssl x509 -in "$TMP/k3.crt" -noout -pubkey -out "$TMP/k3.crt.pub"
    check "the EC key's" openssl pkey -in "$REPLICAS_DIR/ec.pem" -pubout -out "$TMP/k3.pub"
    expect_equal "$TMP/k3.pub" "$TMP/k3.crt.pub" "the certificate holds the group's EC key"

    # tls_server KEY N: an s_server on 127.0.0.1 with the group's KEY and its
    # certificate $TMP/KEY.crt, for N connections, in the background
    # ($tls_pid, $tls_port); FALSE when it does not start
    tls_server() {
        tls_key=$1
        : >"$TMP/s_server.out"
        timeout 60 openssl s_server -engine pkcs11 -keyform engine -key "$(key_uri "$tls_key")" \
            -cert "$TMP/$tls_key.crt" -accept 127.0.0.1:0 -naccept "$2" -www </dev/null \
            >"$TMP/s_server.out" 2>&1 &
        tls_pid=$!
        tls_tries=0
        while ! grep -q '^ACCEPT ' "$TMP/s_server.out"; do
            tls_tries=$((tls_tries + 1))
            if [ "$tls_tries" -gt 100 ] || ! kill -0 "$tls_pid" 2>/dev/null; then
                fail "s_server with $tls_key did not start:"
                sed 's/^/    /' "$TMP/s_server.out"
                kill "$tls_pid" 2>/dev/null || true
                wait "$tls_pid" 2>/dev/null || true
                return 1
            fi
            sleep 0.1
        done
        tls_port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/s_server.out")
    }

    # tls_client DESC [S_CLIENT-OPTIONS...]: s_client fetches the status page
    # of the server tls_server started: the handshake completes, the
    # certificate served verifies and is the one on the token
    tls_client() {
        tls_desc=$1
        shift
        printf 'GET / HTTP/1.0\r\n\r\n' >"$TMP/request"
        check "$tls_desc: s_client completes the handshake" timeout 60 openssl s_client \
            -connect "127.0.0.1:$tls_port" -CAfile "$TMP/$tls_key.crt" -verify_return_error \
            -ign_eof "$@" <"$TMP/request"
        cp "$OUT" "$TMP/s_client.out"
        expect_contains "$TMP/s_client.out" "Verify return code: 0 (ok)" \
            "$tls_desc: the server's certificate verifies"
        expect_contains "$TMP/s_client.out" "HTTP/1.0 200 ok" "$tls_desc: the server answers"
        # the certificate served: the first PEM block s_client prints
        sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p' \
            "$TMP/s_client.out" | sed '/^-----END/q' >"$TMP/served.pem"
        if openssl x509 -in "$TMP/served.pem" -outform DER -out "$TMP/served.der" 2>/dev/null; then
            openssl x509 -in "$TMP/$tls_key.crt" -outform DER -out "$TMP/expected.der"
            expect_equal "$TMP/expected.der" "$TMP/served.der" \
                "$tls_desc: the certificate served is the one on the token"
        else
            fail "$tls_desc: no certificate in s_client's output"
        fi
    }

    # tls_server_end DESC: the server has served its connections and ends
    # well (its counts are then the server process's)
    tls_server_end() {
        if wait "$tls_pid"; then
            pass "$1: s_server ends well"
        else
            fail "$1: s_server ended badly:"
            sed 's/^/    /' "$TMP/s_server.out"
        fi
    }

    # tls KEY DESC [S_CLIENT-OPTIONS...]: one server, one connection
    tls() {
        tls_one=$2
        tls_server "$1" 1 || return 0
        shift 2
        tls_client "$tls_one" "$@"
        tls_server_end "$tls_one"
    }

    tls k1 "TLS 1.3, the group's RSA key" -tls1_3
    expect_contains "$TMP/s_client.out" "Peer signature type: RSA-PSS" "TLS 1.3: the group signs RSA-PSS"
    expect_count replica-a C_Sign -ge 1 "TLS 1.3: replica-a made the handshake signature"
    tls k1 "TLS 1.2, the group's RSA key, PKCS #1 v1.5" -tls1_2 -sigalgs RSA+SHA256
    expect_line "$TMP/s_client.out" "Peer signature type: RSA" "TLS 1.2: the group signs PKCS #1 v1.5"
    tls k3 "TLS 1.3, the group's EC key" -tls1_3
    expect_contains "$TMP/s_client.out" "Peer signature type: ECDSA" "TLS 1.3: the group signs ECDSA"
    failing
    tls k1 "TLS 1.3, replica-a failing" -tls1_3
    healed "the TLS server" C_Sign
    # one server process throughout: replica-a fails between two connections
    if tls_server k1 2; then
        tls_client "one server, first connection" -tls1_3
        expect_count replica-a C_Sign -ge 1 "one server, first connection: replica-a signed"
        expect_count replica-b C_Sign -eq 0 "one server, first connection: replica-b did not"
        failing
        tls_client "one server, replica-a failing since" -tls1_3
        tls_server_end "one server"
        healed "the server that saw replica-a fail" C_Sign
    fi
fi

# ------------------------------------------------------------ NSS

if part "NSS's certutil" modutil certutil; then
    db=$TMP/nssdb
    mkdir -p "$db"
    printf '%s\n' "$PIN" >"$TMP/pin"
    check "certutil makes a fresh database" certutil -N -d "sql:$db" --empty-password
    check "modutil -add p11mux" modutil -add p11mux -libfile "$so" -dbdir "sql:$db" -force
    check "certutil -L -h signing" certutil -L -d "sql:$db" -h signing -f "$TMP/pin"
    expect_contains "$OUT" "signing:k1" "certutil lists the certificate on the group's token"
    check "certutil -K -h signing" certutil -K -d "sql:$db" -h signing -f "$TMP/pin"
    expect_contains "$OUT" " k1" "certutil -K lists the RSA key"
    expect_contains "$OUT" " k3" "certutil -K lists the EC key"
    # request DESC ID PUBLIC-KEY: a certificate request signed by the
    # group's key ID (certutil -R), verified, carrying PUBLIC-KEY (DER)
    request() {
        check "certutil -R with the group's key $2 ($1)" certutil -R -d "sql:$db" -h signing \
            -f "$TMP/pin" -k "$2" -s "CN=group request" -a -o "$TMP/$2.csr" -z "$TMP/pin"
        check "$1: OpenSSL verifies the request" openssl req -verify -noout -in "$TMP/$2.csr"
        expect_contains "$ERR" "verify OK" "$1: the request's signature verifies"
        check "$1: the request's public key" openssl req -noout -pubkey -in "$TMP/$2.csr" \
            -out "$TMP/$2.csr.pub"
        check "$1: as DER" openssl pkey -pubin -in "$TMP/$2.csr.pub" -outform DER \
            -out "$TMP/$2.csr.der"
        expect_equal "$REPLICAS_DIR/$3" "$TMP/$2.csr.der" "$1: the request carries the group's key"
    }
    request "RSA" 01 rsa-pub.der
    expect_count replica-a C_Sign -ge 1 "certutil: replica-a signed"
    request "EC" 03 ec-pub.der
    failing
    request "RSA, replica-a failing" 01 rsa-pub.der
    healed "certutil" C_Sign
fi

# ------------------------------------------------------------ Java

if part "Java's SunPKCS11" java keytool; then
    check "pkcs11-tool -L (the group's slot)" pkcs11-tool --module "$so" -L
    slot=$(awk '/^Slot [0-9]* \(0x[0-9a-fA-F]*\)/ { id = $3; gsub(/[():]/, "", id) }
        /^  token label *: signing$/ { print id; exit }' "$OUT")
    [ -n "$slot" ] || die "no slot holds the group's token"
    printf 'name = p11mux-group\nlibrary = %s\nslot = %d\n' "$so" "$slot" >"$TMP/java.cfg"
    check "keytool -list -storetype PKCS11 on the group" keytool -list -storetype PKCS11 \
        -providerClass sun.security.pkcs11.SunPKCS11 -providerArg "$TMP/java.cfg" -storepass "$PIN"
    expect_contains "$OUT" "Keystore provider: SunPKCS11-p11mux-group" "keytool uses the p11mux provider"
    expect_contains "$OUT" "k1, PrivateKeyEntry," "keytool lists the group's key k1"
    check "the reference signature, on replica-a directly" pkcs11-tool \
        --module "$SOFTHSM_MODULE" --token-label replica-a --login --pin "$PIN" --sign --id 01 \
        -m SHA256-RSA-PKCS --input-file "$TMP/data" --output-file "$TMP/reference.sig"
    # java_sign DESC NAME: Java signs $TMP/data with k1 into $TMP/NAME.sig
    java_sign() {
        check "Java signs with the group's key ($1)" java \
            "$top_srcdir/tests/system/SignWithToken.java" "$TMP/java.cfg" "$PIN" k1 \
            SHA256withRSA "$TMP/data" "$TMP/$2.sig"
        expect_contains "$OUT" "provider: SunPKCS11-p11mux-group" "$1: the token provider signs"
        expect_line "$OUT" "verified: true" "$1: Java verifies it with the certificate's key"
        check "$1: OpenSSL verifies the signature" openssl dgst -sha256 \
            -verify "$REPLICAS_DIR/rsa-pub.der" -keyform DER -signature "$TMP/$2.sig" "$TMP/data"
        expect_contains "$OUT" "Verified OK" "$1: OpenSSL says Verified OK"
        expect_equal "$TMP/reference.sig" "$TMP/$2.sig" "$1: the replicas' PKCS #1 v1.5 signature"
    }
    java_sign "Java, both members well" java
    expect_count replica-a C_SignFinal -ge 1 "Java: replica-a signed (C_SignUpdate, C_SignFinal)"
    failing
    java_sign "Java, replica-a failing" java-failover
    healed "Java" C_SignFinal
fi

if [ -n "$skipped" ] && [ "$harness_failed" -eq 0 ]; then
    skip "parts skipped:${skipped%,}"
fi
