#!/bin/sh
# Initialisation cycles over the real backends (SoftHSM2, NSS softoken,
# p11-kit-trust), each alone behind p11mux: 300 cycles of C_Initialize /
# C_GetSlotList / C_OpenSession + C_CloseSession / C_Finalize
# (tests/hardening/cycles.c) must not grow the process (resident size after
# cycle 300 against after cycle 50, within CYCLES_RSS_BOUND_KIB), because
# p11mux keeps each backend's library loaded and reuses it; and under
# valgrind (a shorter run) p11mux over a backend loses no more memory
# "definitely" than the same cycles on the backend directly.
set -eu
# shellcheck source-path=SCRIPTDIR source=harness.sh
. "$(dirname "$0")/harness.sh"

require softhsm2-util certutil "$SOFTHSM_MODULE" "$NSS_MODULE" "$TRUST_MODULE"
so=$(p11mux_so)
cycles=$top_builddir/tests/hardening/cycles
[ -x "$cycles" ] || die "$cycles not built"
setup_softhsm it-cycles
setup_nss
bound=${CYCLES_RSS_BOUND_KIB:-256}
# p11mux initialises each backend in a thread of its own: with glibc's
# per-thread malloc arenas the resident size then wanders by some hundred KiB
# from run to run whatever is freed; one arena measures what is kept
MALLOC_ARENA_MAX=1
export MALLOC_ARENA_MAX

# rss_growth FILE: the second rss figure minus the first
rss_growth() {
    awk '/^rss-kib-after-/ { v[NR] = $2 } END { print v[2] - v[1] }' "$1"
}

# definitely_lost FILE: the bytes valgrind's summary counts as definitely lost
definitely_lost() {
    sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$1" | tr -d , | tail -1
}

# a sanitizer's allocator keeps freed memory in quarantine: the resident
# size means nothing there (the cycles still run, under its leak checker)
sanitized=
if grep -q -e __asan_init -e __tsan_init "$so"; then
    sanitized=yes
fi

for backend in softhsm nss trust; do
    write_config "$TMP/$backend.conf" "$backend"
    P11MUX_CONF=$TMP/$backend.conf
    export P11MUX_CONF
    check "$backend: 300 cycles through p11mux" "$cycles" "$so" 300 50
    cp "$OUT" "$TMP/$backend.rss"
    growth=$(rss_growth "$TMP/$backend.rss")
    if [ -n "$sanitized" ]; then
        printf '%s: resident size not judged in a sanitizer build (grew %s KiB)\n' "$backend" "$growth"
    elif [ "$growth" -le "$bound" ]; then
        pass "$backend: resident size grew $growth KiB from cycle 50 to 300 (bound $bound KiB)"
    else
        fail "$backend: resident size grew $growth KiB from cycle 50 to 300 (bound $bound KiB)"
    fi
done

if ! command -v valgrind >/dev/null 2>&1 || [ -n "$sanitized" ]; then
    printf 'valgrind part skipped: no valgrind, or a sanitizer build\n'
    exit 0
fi

# memcheck NAME MODULE [INIT-RESERVED]: 20 cycles under valgrind
memcheck() {
    name=$1
    shift
    valgrind --fair-sched=yes --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=none \
        --log-file="$TMP/$name.valgrind" "$cycles" "$1" 20 10 ${2:+"$2"} >"$TMP/$name.out" 2>&1 ||
        fail "$name: cycles under valgrind exited $?"
    lost=$(definitely_lost "$TMP/$name.valgrind")
    printf '%s\n' "${lost:-0}"
}

for backend in softhsm nss trust; do
    case $backend in
    softhsm) module=$SOFTHSM_MODULE reserved= ;;
    nss) module=$NSS_MODULE reserved=$NSS_INIT_RESERVED ;;
    trust) module=$TRUST_MODULE reserved= ;;
    esac
    P11MUX_CONF=$TMP/$backend.conf
    export P11MUX_CONF
    direct=$(memcheck "$backend-direct" "$module" "$reserved")
    through=$(memcheck "$backend-p11mux" "$so")
    if [ "$through" -le "$direct" ]; then
        pass "$backend: 20 cycles lose $through bytes definitely through p11mux, $direct directly"
    else
        sed -E 's/^==[0-9]+== ?//' "$TMP/$backend-p11mux.valgrind" | head -60
        fail "$backend: 20 cycles lose $through bytes definitely through p11mux, $direct directly"
    fi
done
