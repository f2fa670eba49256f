#!/bin/sh
# p11mux.so over the real backends under memcheck: pkcs11-tool (itself not
# ours) lists, generates keys, signs and finds objects through p11mux over
# SoftHSM2 and NSS softoken.  Fails on any invalid access (in p11mux or a
# backend: tests/valgrind.supp may suppress only backends') and on any
# definite or indirect leak allocated by p11mux (a stack through p11mux.so);
# what the client and the backends leak themselves is theirs.
set -eu
# shellcheck source-path=SCRIPTDIR source=../integration/harness.sh
. "$(dirname "$0")/../integration/harness.sh"
require valgrind pkcs11-tool softhsm2-util certutil
so=$(p11mux_so)
if grep -q -e __asan_init -e __tsan_init "$so"; then
    skip "sanitizer build: valgrind cannot run it"
fi
setup_softhsm vg-alpha
setup_nss
write_config "$TMP/p11mux.conf" softhsm nss
P11MUX_CONF=$TMP/p11mux.conf
export P11MUX_CONF
printf 'data to sign\n' >"$TMP/data"

# memcheck NAME ARGS...: pkcs11-tool ARGS under valgrind, its log checked
memcheck() {
    name=$1
    shift
    log=$TMP/$name.valgrind
    if ! valgrind -q --fair-sched=yes --error-exitcode=3 --leak-check=full \
        --show-leak-kinds=definite,indirect \
        --keep-debuginfo=yes \
        --errors-for-leak-kinds=none --suppressions="$top_srcdir/tests/valgrind.supp" \
        --log-file="$log" pkcs11-tool --module "$so" "$@" >"$TMP/$name.out" 2>&1; then
        cat "$TMP/$name.out" "$log"
        fail "$name: pkcs11-tool $* under memcheck"
        return
    fi
    # leak records (blank-line separated once the ==PID== prefix is gone)
    # with a frame in p11mux: the backends' are suppressed, the client's
    # (pkcs11-tool's own) have none
    sed -E 's/^==[0-9]+== ?//' "$log" | awk -v RS= '/are (definitely|indirectly) lost/ && /p11mux\.so|\((backend|router|call|module-[a-z]+|sessions|slotmap|conf[a-z-]*|policy[a-z-]*|trace[a-z-]*|constants|p11kit-import|p11mux-functions)\.c:/' >"$log.p11mux"
    if [ -s "$log.p11mux" ]; then
        cat "$log.p11mux"
        fail "$name: p11mux leaks"
        return
    fi
    pass "$name: clean under memcheck"
}

memcheck list-slots -L
memcheck softhsm-keygen --token-label vg-alpha --login --pin "$PIN" --keypairgen \
    --key-type EC:prime256v1 --label vg-ec --id 01
memcheck softhsm-sign --token-label vg-alpha --login --pin "$PIN" --sign --mechanism ECDSA \
    --id 01 --input-file "$TMP/data" --output-file "$TMP/sig"
memcheck softhsm-objects --token-label vg-alpha --login --pin "$PIN" -O
memcheck nss-keygen --token-label "NSS Certificate DB" --keypairgen --key-type EC:prime256v1 \
    --label vg-nss --id 11
memcheck nss-objects --token-label "NSS Certificate DB" -O
