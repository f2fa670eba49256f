#!/bin/bash
# make bench: p11mux against the same backend called directly and through
# p11-kit-proxy.so, in one run, alternating the order round by round, over
# the null backend and over SoftHSM2; prints tables of medians with the
# ratios to direct and the added ns per call (tests/bench/README.md).
#
#   run-bench.sh [--rounds N] [--callgrind | --callgrind-only] [--cpu-time]
#                [--no-softhsm] [--softhsm-objects] [--objects N] [--keep]
#
#   --rounds N     rounds (default 5, at least 5 for the published table)
#   --callgrind    also count instructions per call of the cheap workloads
#                  under callgrind (repeatable on a noisy machine)
#   --callgrind-only  only that (~1.5 minutes)
#   --cpu-time     table the threads' CPU time per operation instead of wall
#                  time (steadier on a busy machine; no use for thread scaling)
#   --no-softhsm   only the null backend (and NSS softoken)
#   --no-nss       no NSS softoken suite
#   --softhsm-objects  also search a SoftHSM2 token with N data objects (its
#                  searches take ~0.25 s each, its C_Initialize ~0.6 s, its
#                  first set-up ~45 s; the token is kept in tests/bench/cache/)
#   --objects N    data objects on the search tokens (default 10000)
#   --no-groups    no HA group suites
#   --groups-only  only the HA group suites (with --callgrind, their counts too):
#                  served throughput (a group of 2 members served by p11-kit
#                  server processes, reached through import-p11-kit's remote:
#                  registrations, vs the same group of 1) and group overhead
#                  (a group of 2 local SoftHSM2 members vs the token through
#                  p11mux without a group)
#   --keep         keep the temporary directory
set -eu

rounds=5
callgrind=0
timing=1
softhsm=1
nss=1
objects_token=0
clock=wall
objects=10000
keep=0
groups=1
only_groups=0
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --callgrind) callgrind=1; shift ;;
    --callgrind-only) callgrind=1; timing=0; shift ;;
    --no-softhsm) softhsm=0; shift ;;
    --no-nss) nss=0; shift ;;
    --softhsm-objects) objects_token=1; shift ;;
    --cpu-time) clock=cpu; shift ;;
    --objects) objects=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-groups) groups=0; shift ;;
    --groups-only) only_groups=1; shift ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)
top_builddir=$(cd "${top_builddir:-$here/../..}" && pwd)
BENCH=$top_builddir/tests/bench/bench
NULL_SO=$top_builddir/tests/mock/.libs/libp11mux-mock-null.so
P11MUX_SO=$top_builddir/modules/.libs/p11mux.so
CACHE=$top_builddir/tests/bench/cache
PROXY_SO=${PROXY_SO:-$(pkg-config --variable=proxy_module p11-kit-1 2>/dev/null || true)}
SOFTHSM_SO=${SOFTHSM_SO:-}
for f in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
    /usr/lib64/pkcs11/libsofthsm2.so; do
    if [ -z "$SOFTHSM_SO" ] && [ -f "$f" ]; then
        SOFTHSM_SO=$f
    fi
done

for f in "$BENCH" "$NULL_SO" "$P11MUX_SO"; do
    [ -f "$f" ] || { echo "run-bench.sh: $f is not built (run make)" >&2; exit 1; }
done
if [ -z "$PROXY_SO" ] || [ ! -f "$PROXY_SO" ]; then
    echo "run-bench.sh: p11-kit-proxy.so not found: the proxy columns stay empty" >&2
    PROXY_SO=
fi
if [ "$softhsm" = 1 ] && { [ -z "$SOFTHSM_SO" ] || ! command -v softhsm2-util >/dev/null; }; then
    echo "run-bench.sh: SoftHSM2 is not installed: null backend only" >&2
    softhsm=0
fi
NSS_SO=${NSS_SO:-}
for f in /usr/lib/x86_64-linux-gnu/libsoftokn3.so /usr/lib64/libsoftokn3.so; do
    if [ -z "$NSS_SO" ] && [ -f "$f" ]; then
        NSS_SO=$f
    fi
done
if [ "$nss" = 1 ] && { [ -z "$NSS_SO" ] || ! command -v certutil >/dev/null; }; then
    echo "run-bench.sh: NSS softoken or certutil is not installed: no NSS suite" >&2
    nss=0
fi
if [ "$callgrind" = 1 ] && ! command -v valgrind >/dev/null; then
    echo "run-bench.sh: valgrind is not installed: no instruction counts" >&2
    callgrind=0
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/p11mux-bench.XXXXXX")
cleanup() {
    # the p11-kit servers of the served group suite, listeners and connections
    for f in "$TMP"/groups/*.pgid; do
        [ -f "$f" ] || continue
        # reaped quietly: bash reports a killed job on stderr when it notices
        { kill -s KILL -- "-$(cat "$f")"; wait "$(cat "$f")"; } 2>/dev/null || true
    done
    if [ "$keep" = 1 ]; then
        echo "kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# no user or system configuration of anyone's leaks in
mkdir -p "$TMP/xdg" "$TMP/out" "$TMP/cg"
export XDG_CONFIG_HOME=$TMP/xdg
unset P11MUX_CONF SOFTHSM2_CONF P11MUX_NULL_RESERVED PKCS11_MODULE_PATH || true
RESULTS=$TMP/results   # suite target round workload threads wall_ns cpu_ns
INITS=$TMP/inits       # suite target round load_ns init_ns
: >"$RESULTS"
: >"$INITS"

# ---------------------------------------------------------------- configurations

# p11mux_conf FILE [GLOBAL-LINE...] -- NAME MODULE [RESERVED] ...
p11mux_conf() {
    file=$1
    shift
    printf '[global]\nuser-config = none\n' >"$file"
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        printf '%s\n' "$1" >>"$file"
        shift
    done
    shift
    while [ $# -gt 0 ]; do
        printf '[backend %s]\nmodule = %s\n' "$1" "$2" >>"$file"
        if [ -n "$3" ]; then
            printf 'init-reserved = %s\n' "$3" >>"$file"
        fi
        shift 3
    done
}

# p11kit_dir DIR MODULE: a registry of p11-kit's own holding MODULE only
p11kit_dir() {
    mkdir -p "$1/modules" "$1/no-modules"
    printf 'user-config: none\n' >"$1/pkcs11.conf"
    printf 'module: %s\n' "$2" >"$1/modules/bench.module"
}

# null backend: one copy, and eight copies of eight slots (64 slots)
p11mux_conf "$TMP/null.conf" -- null "$NULL_SO" ""
p11mux_conf "$TMP/null-trace.conf" "trace = file:/dev/null" -- null "$NULL_SO" ""
p11mux_conf "$TMP/null-policy.conf" "policy = objects" -- null "$NULL_SO" ""
printf '[policy objects]\ndeny-objects = pkcs11:object=no-such-object\n' >>"$TMP/null-policy.conf"
backends=()
for i in 0 1 2 3 4 5 6 7; do
    cp "$NULL_SO" "$TMP/null-$i.so"
    backends+=("null$i" "$TMP/null-$i.so" "label=null$i slots=8")
done
p11mux_conf "$TMP/null8.conf" -- "${backends[@]}"
p11kit_dir "$TMP/pk-null" "$NULL_SO"

if [ "$softhsm" = 1 ]; then
    mkdir -p "$TMP/softhsm/tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$TMP/softhsm/tokens" >"$TMP/softhsm/softhsm2.conf"
    SOFTHSM2_CONF=$TMP/softhsm/softhsm2.conf softhsm2-util --init-token --free --label bench \
        --pin 1234 --so-pin 0000 >/dev/null
    p11mux_conf "$TMP/softhsm.conf" -- softhsm "$SOFTHSM_SO" ""
    p11mux_conf "$TMP/softhsm-policy.conf" "policy = objects" -- softhsm "$SOFTHSM_SO" ""
    printf '[policy objects]\ndeny-objects = pkcs11:object=no-such-object\n' >>"$TMP/softhsm-policy.conf"
    p11kit_dir "$TMP/pk-softhsm" "$SOFTHSM_SO"
fi
# Policies that walk mechanism parameters (the closed world): a mechanism
# rule, no object rule, so that a call pays the parameter's judgement alone
if [ "$softhsm" = 1 ]; then
    p11mux_conf "$TMP/softhsm-mechanisms.conf" "policy = mechanisms" -- softhsm "$SOFTHSM_SO" ""
    printf '[policy mechanisms]\ndeny-mechanisms = CKM_MD5*\n' >>"$TMP/softhsm-mechanisms.conf"
    # every kind of rule at once: mechanisms, key sizes, objects, force-sensitive
    p11mux_conf "$TMP/softhsm-strict.conf" "policy = strict" -- softhsm "$SOFTHSM_SO" ""
    printf '[policy strict]\n%s\n%s\n%s\n%s\n' 'deny-mechanisms = CKM_MD5*' \
        'min-key-bits = rsa:2048' 'deny-objects = pkcs11:object=no-such-object' \
        'force-sensitive = true' >>"$TMP/softhsm-strict.conf"
fi
if [ "$nss" = 1 ]; then
    mkdir -p "$TMP/nssdb"
    certutil -N -d "sql:$TMP/nssdb" --empty-password >/dev/null 2>&1
    NSS_RESERVED="configdir='sql:$TMP/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db' flags="
    p11mux_conf "$TMP/nss.conf" -- nss "$NSS_SO" "$NSS_RESERVED"
    p11mux_conf "$TMP/nss-mechanisms.conf" "policy = mechanisms" -- nss "$NSS_SO" "$NSS_RESERVED"
    printf '[policy mechanisms]\ndeny-mechanisms = CKM_MD5*\n' >>"$TMP/nss-mechanisms.conf"
    p11kit_dir "$TMP/pk-nss" "$NSS_SO"
fi
if [ "$timing" = 1 ] && [ "$softhsm" = 1 ] && [ "$objects_token" = 1 ]; then
    dir=$CACHE/softhsm-$objects
    if [ ! -f "$dir/ready" ]; then
        echo "making a SoftHSM2 token with $objects data objects in $dir (once; ~5 ms each)"
        rm -rf "$dir"
        mkdir -p "$dir/tokens"
        printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
            "$dir/tokens" >"$dir/softhsm2.conf"
        SOFTHSM2_CONF=$dir/softhsm2.conf softhsm2-util --init-token --free --label objects \
            --pin 1234 --so-pin 0000 >/dev/null
        SOFTHSM2_CONF=$dir/softhsm2.conf "$BENCH" --token objects --pin 1234 \
            --setup "$objects" "$SOFTHSM_SO" >/dev/null
        touch "$dir/ready"
    fi
fi

# ---------------------------------------------------------------- suites

# Each suite: a backend, its targets, the bench arguments.  Operation
# counts give each timed rep some 20-80 ms on a 2-core machine.
# counts give each timed rep some 10-30 ms through p11mux on a 2-core machine;
# the slow targets get fewer (the figure is per operation)
NULL_OPS=sessioninfo=1500000,slots=30000,openclose=150000,random=500000,digest=500000
NULL_OPS=$NULL_OPS,ecdsa=500000,rsa=500000,aes=150000,findall=1500,findone=70000
SOFTHSM_OPS=sessioninfo=100000,slots=500,openclose=30000,random=15000,digest=15000
SOFTHSM_OPS=$SOFTHSM_OPS,ecdsa=400,rsa=30,aes=800,pss=30
NSS_OPS=kdf=20000,pss=100

suite_targets() {
    case $1 in
    null) echo "direct p11mux ${PROXY_SO:+proxy} p11mux-8x8 p11mux-policy" ;;
    objects) echo "direct p11mux ${PROXY_SO:+proxy} p11mux-policy" ;;
    softhsm) echo "direct p11mux ${PROXY_SO:+proxy} p11mux-mechanisms p11mux-strict" ;;
    nss) echo "direct p11mux p11mux-mechanisms" ;;
    *) echo "direct p11mux ${PROXY_SO:+proxy}" ;;
    esac
}

# run_target SUITE TARGET OUT [BENCH-ARGS...]: the bench program (prefixed
# by the command in the array runner, if any) against TARGET
runner=()
run_target() {
    local suite=$1 target=$2 out=$3 backend conf pk
    shift 3
    conf=$TMP/$suite.conf
    pk=$TMP/pk-$suite
    case $suite in
    null)
        backend=$NULL_SO
        set -- --token null --objects "$objects" "$@" ;;
    softhsm)
        backend=$SOFTHSM_SO
        export SOFTHSM2_CONF=$TMP/softhsm/softhsm2.conf
        set -- --token bench --pin 1234 --session-keys --objects 0 "$@" ;;
    nss)
        backend=$NSS_SO
        set -- --token "NSS Generic Crypto Services" --reserved "$NSS_RESERVED" --session-keys \
            --objects 0 "$@" ;;
    objects)
        backend=$SOFTHSM_SO
        conf=$TMP/softhsm.conf
        pk=$TMP/pk-softhsm
        export SOFTHSM2_CONF=$CACHE/softhsm-$objects/softhsm2.conf
        set -- --token objects --pin 1234 --objects "$objects" "$@" ;;
    esac
    case $target in
    direct) "${runner[@]}" "$BENCH" "$@" "$backend" ;;
    p11mux) P11MUX_CONF=$conf "${runner[@]}" "$BENCH" "$@" "$P11MUX_SO" ;;
    p11mux-8x8) P11MUX_CONF=$TMP/null8.conf "${runner[@]}" "$BENCH" "$@" --token null7.7 \
        --ops slots=1000 "$P11MUX_SO" ;;
    p11mux-policy) P11MUX_CONF=${conf%.conf}-policy.conf "${runner[@]}" "$BENCH" "$@" \
        --scale 0.2 "$P11MUX_SO" ;;
    p11mux-mechanisms) P11MUX_CONF=${conf%.conf}-mechanisms.conf "${runner[@]}" "$BENCH" "$@" \
        "$P11MUX_SO" ;;
    p11mux-strict) P11MUX_CONF=${conf%.conf}-strict.conf "${runner[@]}" "$BENCH" "$@" \
        "$P11MUX_SO" ;;
    p11mux-trace) P11MUX_CONF=$TMP/null-trace.conf "${runner[@]}" "$BENCH" "$@" "$P11MUX_SO" ;;
    proxy) "${runner[@]}" "$BENCH" --p11-kit-dir "$pk" "$@" "$PROXY_SO" ;;
    esac >"$out" 2>"$out.err" || {
        echo "  $suite/$target failed: $(tail -n 1 "$out.err")" >&2
        return 0
    }
}

# rotate N WORD...: the words, rotated left N times
rotate() {
    local n=$1
    shift
    echo "${@:n+1}" "${@:1:n}"
}

# run_suite SUITE BENCH-ARGS...: every round, every target, in an order
# rotated by one each round
run_suite() {
    local suite=$1 start round target out
    local -a targets order
    shift
    read -r -a targets <<<"$(suite_targets "$suite")"
    start=$(date +%s)
    for ((round = 1; round <= rounds; round++)); do
        read -r -a order <<<"$(rotate $(((round - 1) % ${#targets[@]})) "${targets[@]}")"
        printf '  %s round %d/%d: %s\n' "$suite" "$round" "$rounds" "${order[*]}"
        for target in "${order[@]}"; do
            out=$TMP/out/$suite.$target.$round
            run_target "$suite" "$target" "$out" "$@"
            awk -v s="$suite" -v t="$target" -v r="$round" \
                '$1 == "result" { print s, t, r, $2, $3, $4, $7 }' "$out" >>"$RESULTS"
            awk -v s="$suite" -v t="$target" -v r="$round" \
                '$1 == "load" { l = $2 } $1 == "initialize" { i = $2 }
                 END { if (l != "") print s, t, r, l, i }' "$out" >>"$INITS"
        done
    done
    echo "  $suite: $(($(date +%s) - start)) s"
}

if [ "$timing" = 1 ] && [ "$only_groups" = 0 ]; then
echo "p11mux benchmark: $rounds rounds, targets alternating round by round"
run_suite null --threads 1,2 --threads-for sessioninfo,openclose,random,digest,findone \
    --reps 3 --ops "$NULL_OPS" \
    --workloads sessioninfo,slots,openclose,random,digest,ecdsa,rsa,aes,findall,findone
if [ "$softhsm" = 1 ]; then
    run_suite softhsm --reps 3 --ops "$SOFTHSM_OPS" \
        --workloads sessioninfo,slots,openclose,random,digest,ecdsa,rsa,aes,pss
    if [ "$objects_token" = 1 ]; then
        run_suite objects --reps 1 --ops findall=1,findone=1 --workloads findall,findone
    fi
fi

if [ "$nss" = 1 ]; then
    run_suite nss --reps 3 --ops "$NSS_OPS" --workloads kdf,pss
fi

# ---------------------------------------------------------------- tables

# median of the rounds per (suite, target, workload, threads); then one line
# per (suite, workload, threads) with every target against direct
table() {
    local suite=$1 col=${2:-6}
    if [ "$clock" = cpu ]; then
        col=7
    fi
    awk -v suite="$suite" -v targets="$(suite_targets "$suite")" -v col="$col" '
    function median(list,   n, v, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    $1 == suite {
        key = $4 SUBSEP $5
        if (!(key in seen)) { seen[key] = 1; order[++n] = key }
        values[key, $2] = values[key, $2] " " $col
    }
    END {
        nt = split(targets, t, " ")
        printf "%-12s %3s %10s", "workload", "thr", "direct"
        for (i = 2; i <= nt; i++) printf " | %13s %6s %9s", t[i], "ratio", "+ns"
        printf "\n"
        for (k = 1; k <= n; k++) {
            split(order[k], w, SUBSEP)
            d = values[order[k], "direct"] == "" ? "" : median(values[order[k], "direct"])
            printf "%-12s %3s %10s", w[1], w[2], d == "" ? "-" : sprintf("%.1f", d)
            for (i = 2; i <= nt; i++) {
                if (values[order[k], t[i]] == "" || d == "") { printf " | %13s %6s %9s", "-", "-", "-"; continue }
                m = median(values[order[k], t[i]])
                printf " | %13.1f %6.3f %9.1f", m, m / d, m - d
            }
            printf "\n"
        }
    }' "$RESULTS"
}

# policy_ratio SUITE TARGET: per workload, median(TARGET) / median(p11mux):
# what the policy costs a call, measured in the same run
policy_ratio() {
    local col=6
    if [ "$clock" = cpu ]; then
        col=7
    fi
    awk -v suite="$1" -v target="$2" -v col="$col" '
    function median(list,   n, v, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    $1 == suite && ($2 == "p11mux" || $2 == target) {
        key = $4 SUBSEP $5
        if (!(key in seen)) { seen[key] = 1; order[++n] = key }
        values[key, $2] = values[key, $2] " " $col
    }
    END {
        printf "%-12s %3s %12s %12s %8s\n", "workload", "thr", "no policy", target, "ratio"
        for (k = 1; k <= n; k++) {
            split(order[k], w, SUBSEP)
            if (values[order[k], "p11mux"] == "" || values[order[k], target] == "") continue
            a = median(values[order[k], "p11mux"]); b = median(values[order[k], target])
            printf "%-12s %3s %12.1f %12.1f %8.3f\n", w[1], w[2], a, b, b / a
        }
    }' "$RESULTS"
}

init_table() {
    awk '
    function median(list,   n, v, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    {
        key = $1 " " $2
        if (!(key in seen)) { seen[key] = 1; order[++n] = key }
        load[key] = load[key] " " $4; init[key] = init[key] " " $5
    }
    END {
        printf "%-22s %12s %14s %12s\n", "suite target", "load ms", "C_Initialize ms", "sum ms"
        for (k = 1; k <= n; k++) {
            l = median(load[order[k]]) / 1e6; i = median(init[order[k]]) / 1e6
            printf "%-22s %12.3f %14.3f %12.3f\n", order[k], l, i, l + i
        }
    }' "$INITS"
}

echo
if [ "$clock" = cpu ]; then
    echo "== CPU ns per operation (the threads' CLOCK_THREAD_CPUTIME_ID / operations), median of"
    echo "   $rounds rounds; ratio and added ns against direct"
else
    echo "== ns per operation: median of $rounds rounds (wall time / operations; with 2 threads,"
    echo "   the inverse of the throughput of both); ratio and added ns against direct"
fi
echo
echo "-- null backend (tests/mock/libp11mux-mock-null.so, $objects objects; p11mux-8x8: 8 copies"
echo "   x 8 slots, last slot; p11mux-policy: a deny-objects rule that hides nothing)"
table null
if [ "$softhsm" = 1 ]; then
    echo
    echo "-- SoftHSM2 ($SOFTHSM_SO), session keys (p11mux-mechanisms: deny-mechanisms ="
    echo "   CKM_MD5*, so every mechanism parameter is walked and judged; p11mux-strict: also"
    echo "   min-key-bits = rsa:2048, deny-objects, force-sensitive = true)"
    table softhsm
    echo
    echo "-- SoftHSM2: what a policy of every kind of rule costs a call (p11mux-strict over"
    echo "   p11mux with no policy, same run)"
    policy_ratio softhsm p11mux-strict
    if [ "$clock" = wall ]; then
        echo
        echo "-- the same in the thread's CPU time per operation (what other processes take"
        echo "   from a busy machine does not count)"
        table softhsm 7
    fi
    if [ "$objects_token" = 1 ]; then
        echo
        echo "-- SoftHSM2, a token with $objects data objects (p11mux-policy: as above)"
        table objects
    fi
fi
if [ "$nss" = 1 ]; then
    echo
    echo "-- NSS softoken ($NSS_SO), session keys (p11mux-mechanisms: as above)"
    table nss
    if [ "$clock" = wall ]; then
        echo
        echo "-- the same in the thread's CPU time per operation"
        table nss 7
    fi
fi
echo
echo "-- loading (dlopen + C_GetFunctionList) and C_Initialize, median of $rounds rounds"
init_table

# ---------------------------------------------------------------- threads

echo
echo "-- threads: throughput with 2 threads over 1 thread (null backend, ns(1) / ns(2))"
awk '$1 == "null" { v[$2, $4, $5] = v[$2, $4, $5] " " $6; t[$2] = 1; w[$4] = 1 }
    function median(list,   n, x, i, j, s) {
        n = split(list, x, " ")
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && x[j - 1] + 0 > x[j] + 0; j--) { s = x[j]; x[j] = x[j - 1]; x[j - 1] = s }
        return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
    }
    END {
        split("sessioninfo random digest openclose findone", ws, " ")
        split("direct p11mux proxy", ts, " ")
        printf "%-12s", "workload"
        for (j = 1; j <= 3; j++) if (ts[j] in t) printf " %9s", ts[j]
        printf " %18s\n", "p11mux / direct"
        for (i = 1; i <= 5; i++) {
            printf "%-12s", ws[i]
            for (j = 1; j <= 3; j++) {
                if (!(ts[j] in t)) continue
                s[j] = (v[ts[j], ws[i], 2] == "") ? 0 : median(v[ts[j], ws[i], 1]) / median(v[ts[j], ws[i], 2])
                printf " %9.2f", s[j]
            }
            printf " %18.2f\n", s[1] ? s[2] / s[1] : 0
        }
    }' "$RESULTS"

# ---------------------------------------------------------------- memory

echo
echo "-- memory (null backend): RSS of loading + C_Initialize, and per open session"
echo "   (10000 sessions; heap = glibc mallinfo2 in use)"
printf '%-14s %14s %16s %18s %18s\n' target "load RSS KiB" "init RSS KiB" "RSS B/session" "heap B/session"
for target in direct p11mux ${PROXY_SO:+proxy}; do
    out=$TMP/out/memory.$target
    run_target null "$target" "$out" --memory 10000
    awk -v t="$target" '$1 == "memory" { rss[$2] = $3; heap[$2] = $4 }
        END {
            printf "%-14s %14d %16d %18.1f %18.1f\n", t, rss["loaded"] - rss["start"],
                rss["initialized"] - rss["loaded"],
                (rss["sessions"] - rss["before-sessions"]) * 1024 / 10000,
                (heap["sessions"] - heap["before-sessions"]) / 10000
        }' "$out"
done
fi # timing

# ---------------------------------------------------------------- configuration cost

# C_Initialize with a policy of 50,000 distinct mechanism patterns (globs
# with '?' and '*' made from every CKM_ name, fixed seed): wall time and the
# RSS it adds, against the same backend with no policy
if [ "$timing" = 1 ] && [ "$only_groups" = 0 ]; then
    table_c=$top_builddir/src/pkcs11/p11mux-constants-table.c
    awk 'BEGIN { srand(7) }
        /^_Static_assert\(CKM_/ && !/VENDOR_DEFINED/ {
            sub(/^_Static_assert\(/, ""); sub(/ .*/, ""); names[n++] = $0 }
        END {
            while (made < 50000) {
                name = names[int(rand() * n)]
                len = length(name)
                for (k = 1 + int(rand() * 4); k > 0; k--) {
                    i = 1 + int(rand() * len)
                    name = substr(name, 1, i - 1) "?" substr(name, i + 1)
                }
                if (rand() < 0.5) name = substr(name, 1, 1 + int(rand() * len)) "*"
                if (!(name in seen)) { seen[name] = 1; list = list " " name; made++ }
            }
            printf "[policy big]\ndeny-mechanisms =%s\n", list
        }' "$table_c" >"$TMP/patterns.conf"
    p11mux_conf "$TMP/null-big.conf" "policy = big" -- null "$NULL_SO" ""
    cat "$TMP/patterns.conf" >>"$TMP/null-big.conf"
    echo
    echo "-- configuration cost: C_Initialize over the null backend, with no policy and with"
    echo "   one of 50,000 distinct mechanism patterns ($(wc -c <"$TMP/null-big.conf") bytes), median of $rounds"
    printf '%-14s %16s %14s\n' policy "C_Initialize ms" "RSS KiB"
    for conf in null null-big; do
        for ((round = 1; round <= rounds; round++)); do
            P11MUX_CONF=$TMP/$conf.conf "$BENCH" --token null --objects 0 --memory 1 "$P11MUX_SO" \
                >"$TMP/out/$conf.$round" 2>&1 || echo "  $conf failed: $(tail -n 1 "$TMP/out/$conf.$round")" >&2
        done
        cat "$TMP/out/$conf".* | awk -v c="$conf" '
            function median(list,   n, v, i, j, t) {
                n = split(list, v, " ")
                for (i = 2; i <= n; i++)
                    for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
                return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            }
            $1 == "initialize" { init = init " " $2 }
            $1 == "memory" && $2 == "loaded" { loaded = $3 }
            $1 == "memory" && $2 == "initialized" { rss = rss " " ($3 - loaded) }
            END { printf "%-14s %16.1f %14d\n", c == "null" ? "none" : "50,000 patterns",
                  median(init) / 1e6, median(rss) }'
    done
fi

# ---------------------------------------------------------------- callgrind

# callgrind_counts SUITE TARGET WORKLOADS: "workload ir_per_op" lines, from
# the dumps the bench program asks for around each workload
callgrind_counts() {
    local dir=$TMP/cg/$1.$2 f
    mkdir -p "$dir"
    runner=(valgrind --tool=callgrind -q "--callgrind-out-file=$dir/cg.%p")
    run_target "$1" "$2" "$dir/out" --callgrind --workloads "$3"
    runner=()
    for f in "$dir"/cg.*; do
        [ -f "$f" ] || continue
        awk '/^desc: Trigger: Client Request: bench:/ {
                 split($0, a, "bench:"); split(a[2], b, ":"); name = b[1]; ops = b[2] }
             /^summary:/ { ir = $2 }
             END { if (name != "") printf "%s %.1f\n", name, ir / ops }' "$f"
    done
}

if [ "$callgrind" = 1 ] && [ "$only_groups" = 0 ]; then
    echo
    echo "== instructions per operation under callgrind (Ir, deterministic); added against direct"
    cg_targets=(direct p11mux ${PROXY_SO:+proxy} p11mux-8x8 p11mux-trace p11mux-policy)
    for target in "${cg_targets[@]}"; do
        workloads=sessioninfo,slots,openclose,random,digest,findone,findall
        if [ "$target" = p11mux-trace ]; then
            workloads=sessioninfo,openclose,random,digest,findone
        fi
        callgrind_counts null "$target" "$workloads" | sort >"$TMP/cg/null.$target.ir"
    done
    if [ "$softhsm" = 1 ]; then
        for target in direct p11mux ${PROXY_SO:+proxy}; do
            callgrind_counts softhsm "$target" sessioninfo,random,digest,ecdsa,rsa,aes \
                | sort >"$TMP/cg/softhsm.$target.ir"
        done
    fi
    for suite in null softhsm; do
        [ -f "$TMP/cg/$suite.direct.ir" ] || continue
        echo
        if [ "$suite" = null ]; then
            echo "-- null backend (p11mux-trace: trace = file:/dev/null; initialize: one C_Initialize;"
            echo "   load: dlopen + C_GetFunctionList of the module the program loads)"
            others="${cg_targets[*]:1}"
        else
            echo "-- SoftHSM2"
            others="p11mux ${PROXY_SO:+proxy}"
        fi
        awk -v targets="$others" -v dir="$TMP/cg" -v suite="$suite" '
        BEGIN {
            nt = split(targets, t, " ")
            while ((getline line < (dir "/" suite ".direct.ir")) > 0) {
                split(line, f, " "); d[f[1]] = f[2]; order[++n] = f[1]
            }
            for (i = 1; i <= nt; i++)
                while ((getline line < (dir "/" suite "." t[i] ".ir")) > 0) {
                    split(line, f, " "); v[t[i], f[1]] = f[2]
                }
            printf "%-12s %12s", "workload", "direct"
            for (i = 1; i <= nt; i++) printf " | %13s %9s %8s", t[i], "+Ir", "ratio"
            printf "\n"
            for (k = 1; k <= n; k++) {
                printf "%-12s %12.1f", order[k], d[order[k]]
                for (i = 1; i <= nt; i++) {
                    if ((t[i] SUBSEP order[k]) in v)
                        printf " | %13.1f %9.1f %8.5f", v[t[i], order[k]],
                            v[t[i], order[k]] - d[order[k]], v[t[i], order[k]] / d[order[k]]
                    else
                        printf " | %13s %9s %8s", "-", "-", "-"
                }
                printf "\n"
            }
        }' </dev/null
    done
fi

# ---------------------------------------------------------------- HA groups

# Served throughput: RSA-2048 C_SignInit + C_Sign from 4 threads through a
# group of 2 members, each a `p11-kit server` over a SoftHSM2 token copy of
# its own (one single-threaded `p11-kit remote` per connection: a member
# signs one request at a time), reached through import-p11-kit's `remote:`
# registrations, against the same group of 1 member.  The registry is the
# run's own: bench --p11-kit-dir points p11mux.so's libp11-kit at it.
# Group overhead: one thread signing through a group of 2 local SoftHSM2
# members (two tokens of one SoftHSM2 holding the same keys) against the
# same token through p11mux without a group, and SoftHSM2 directly.
if [ "$groups" = 1 ] && [ "$softhsm" = 1 ]; then
    for tool in p11-kit setsid openssl; do
        if ! command -v "$tool" >/dev/null; then
            echo "run-bench.sh: $tool is not installed: no HA group suites" >&2
            groups=0
        fi
    done
elif [ "$groups" = 1 ]; then
    echo "run-bench.sh: the HA group suites need SoftHSM2" >&2
    groups=0
fi

G=$TMP/groups
GROUP_SERVED_OPS=rsa=50
GROUP_LOCAL_OPS=ecdsa=400,rsa=40

# groups_token DIR LABEL: a token LABEL in the SoftHSM2 of DIR holding the
# bench keys (imported: every copy holds the same key)
groups_token() {
    SOFTHSM2_CONF=$1/softhsm2.conf softhsm2-util --init-token --free --label "$2" \
        --pin 1234 --so-pin 0000 >/dev/null
    SOFTHSM2_CONF=$1/softhsm2.conf softhsm2-util --import "$G/rsa.p8" --token "$2" \
        --label bench-rsa --id 01 --pin 1234 >/dev/null
    SOFTHSM2_CONF=$1/softhsm2.conf softhsm2-util --import "$G/ec.p8" --token "$2" \
        --label bench-ec --id 03 --pin 1234 >/dev/null
}

# groups_softhsm DIR: a SoftHSM2 configuration of its own in DIR
groups_softhsm() {
    mkdir -p "$1/tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$1/tokens" >"$1/softhsm2.conf"
}

# groups_serve NAME: `p11-kit server` over the token NAME of $G/NAME's
# SoftHSM2 on $G/NAME.sock, the leader of its own process group
groups_serve() {
    local tries=0
    SOFTHSM2_CONF=$G/$1/softhsm2.conf setsid p11-kit server -f -n "$G/$1.sock" \
        --provider "$SOFTHSM_SO" "pkcs11:token=$1" >"$G/$1.out" 2>"$G/$1.err" &
    echo "$!" >"$G/$1.pgid"
    while [ ! -S "$G/$1.sock" ]; do
        tries=$((tries + 1))
        if [ "$tries" -gt 100 ] || ! kill -0 "$(cat "$G/$1.pgid")" 2>/dev/null; then
            echo "run-bench.sh: p11-kit server for $1 does not listen: $(cat "$G/$1.err")" >&2
            return 1
        fi
        sleep 0.1
    done
}

groups_setup() {
    mkdir -p "$G"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$G/rsa.pem" 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$G/rsa.pem" -out "$G/rsa.p8"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$G/ec.pem" 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$G/ec.pem" -out "$G/ec.p8"
    # local members: two tokens of one SoftHSM2
    groups_softhsm "$G/local"
    groups_token "$G/local" replica-a
    groups_token "$G/local" replica-b
    p11mux_conf "$G/nogroup.conf" -- softhsm "$SOFTHSM_SO" ""
    p11mux_conf "$G/group.conf" -- softhsm "$SOFTHSM_SO" ""
    printf '[group bench]\nmembers = softhsm:pkcs11:token=replica-a softhsm:pkcs11:token=replica-b\n' \
        >>"$G/group.conf"
    # served members: a SoftHSM2 and a p11-kit server each
    mkdir -p "$G/pk/modules" "$G/pk/no-modules"
    printf 'user-config: none\n' >"$G/pk/pkcs11.conf"
    for name in served-a served-b; do
        groups_softhsm "$G/$name"
        groups_token "$G/$name" "$name"
        groups_serve "$name" || return 1
        printf 'remote: unix:path=%s\n' "$G/$name.sock" >"$G/pk/modules/$name.module"
    done
    printf '[global]\nuser-config = none\nimport-p11-kit = true\n' >"$G/served-1.conf"
    cp "$G/served-1.conf" "$G/served-2.conf"
    printf '[group bench]\nmembers = served-a:pkcs11:token=served-a\n' >>"$G/served-1.conf"
    printf '[group bench]\nmembers = served-a:pkcs11:token=served-a served-b:pkcs11:token=served-b\n' \
        >>"$G/served-2.conf"
}

# groups_target TARGET OUT BENCH-ARGS...: the bench program (prefixed by
# the command in the array runner) against TARGET
groups_target() {
    local target=$1 out=$2
    shift 2
    case $target in
    served-1 | served-2)
        P11MUX_CONF=$G/$target.conf "${runner[@]}" "$BENCH" --p11-kit-dir "$G/pk" --token bench \
            --pin 1234 --objects 0 "$@" "$P11MUX_SO" ;;
    direct)
        SOFTHSM2_CONF=$G/local/softhsm2.conf "${runner[@]}" "$BENCH" --token replica-a --pin 1234 \
            --objects 0 "$@" "$SOFTHSM_SO" ;;
    p11mux)
        SOFTHSM2_CONF=$G/local/softhsm2.conf P11MUX_CONF=$G/nogroup.conf "${runner[@]}" "$BENCH" \
            --token replica-a --pin 1234 --objects 0 "$@" "$P11MUX_SO" ;;
    p11mux-group)
        SOFTHSM2_CONF=$G/local/softhsm2.conf P11MUX_CONF=$G/group.conf "${runner[@]}" "$BENCH" \
            --token bench --pin 1234 --objects 0 "$@" "$P11MUX_SO" ;;
    esac >"$out" 2>"$out.err" || {
        echo "  groups/$target failed: $(tail -n 1 "$out.err")" >&2
        return 0
    }
}

# groups_rounds SUITE TARGETS BENCH-ARGS...: every round, every target, in
# an order rotated by one each round; results into $RESULTS as SUITE
groups_rounds() {
    local suite=$1 round target out
    local -a targets order
    read -r -a targets <<<"$2"
    shift 2
    for ((round = 1; round <= rounds; round++)); do
        read -r -a order <<<"$(rotate $(((round - 1) % ${#targets[@]})) "${targets[@]}")"
        printf '  %s round %d/%d: %s\n' "$suite" "$round" "$rounds" "${order[*]}"
        for target in "${order[@]}"; do
            out=$TMP/out/$suite.$target.$round
            groups_target "$target" "$out" "$@"
            awk -v s="$suite" -v t="$target" -v r="$round" \
                '$1 == "result" { print s, t, r, $2, $3, $4, $7 }' "$out" >>"$RESULTS"
        done
    done
}

# groups_median SUITE TARGET WORKLOAD [COLUMN]: the median over the rounds
groups_median() {
    awk -v s="$1" -v t="$2" -v w="$3" -v col="${4:-6}" '
    $1 == s && $2 == t && $4 == w { v[++n] = $col }
    END {
        if (n == 0) { print "-"; exit }
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { x = v[j]; v[j] = v[j - 1]; v[j - 1] = x }
        printf "%.1f\n", n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }' "$RESULTS"
}

if [ "$groups" = 1 ] && { [ "$timing" = 1 ] || [ "$callgrind" = 1 ]; }; then
    echo
    echo "HA group suites: setting up 2 served members (p11-kit server) and 2 local replicas"
    if ! groups_setup; then
        echo "run-bench.sh: the HA group set-up failed: no HA group suites" >&2
        groups=0
    fi
fi

if [ "$groups" = 1 ] && [ "$timing" = 1 ]; then
    groups_rounds served "served-1 served-2" --threads 4 --workloads rsa --reps 3 \
        --ops "$GROUP_SERVED_OPS"
    groups_rounds local "direct p11mux p11mux-group" --workloads ecdsa,rsa --reps 3 \
        --ops "$GROUP_LOCAL_OPS"
    echo
    echo "== HA groups: served throughput, RSA-2048 C_SignInit + C_Sign from 4 threads through a"
    echo "   group of served members (p11-kit server over a SoftHSM2 token copy each, reached"
    echo "   through import-p11-kit's remote: registrations), median of $rounds rounds"
    one=$(groups_median served served-1 rsa)
    two=$(groups_median served served-2 rsa)
    awk -v one="$one" -v two="$two" 'BEGIN {
        printf "%-28s %12s %10s\n", "group", "ns/op", "ops/s"
        printf "%-28s %12.1f %10.1f\n", "1 served member", one, 1e9 / one
        printf "%-28s %12.1f %10.1f\n", "2 served members", two, 1e9 / two
        printf "ratio 2 / 1 members: %.2fx (throughput)\n", one / two
    }'
    echo
    echo "== HA groups: overhead, one thread signing with a token key; ns per operation, median"
    echo "   of $rounds rounds (p11mux: the token through p11mux without a group; p11mux-group: a"
    echo "   group of 2 local SoftHSM2 members, replica-a and replica-b)"
    printf '%-8s %12s %12s %14s %14s %14s\n' workload direct p11mux p11mux-group \
        "group/p11mux" "group/direct"
    for workload in ecdsa rsa; do
        d=$(groups_median local direct "$workload")
        m=$(groups_median local p11mux "$workload")
        g=$(groups_median local p11mux-group "$workload")
        awk -v w="$workload" -v d="$d" -v m="$m" -v g="$g" 'BEGIN {
            printf "%-8s %12.1f %12.1f %14.1f %14.4f %14.4f\n", w, d, m, g, g / m, g / d }'
    done
    echo "   the same in the thread's CPU time per operation"
    for workload in ecdsa rsa; do
        d=$(groups_median local direct "$workload" 7)
        m=$(groups_median local p11mux "$workload" 7)
        g=$(groups_median local p11mux-group "$workload" 7)
        awk -v w="$workload" -v d="$d" -v m="$m" -v g="$g" 'BEGIN {
            printf "%-8s %12.1f %12.1f %14.1f %14.4f %14.4f\n", w, d, m, g, g / m, g / d }'
    done
fi

if [ "$groups" = 1 ] && [ "$callgrind" = 1 ]; then
    echo
    echo "== HA groups: overhead in instructions per operation under callgrind (Ir)"
    printf '%-8s %12s %12s %14s %10s %14s %14s\n' workload direct p11mux p11mux-group "+Ir" \
        "group/p11mux" "group/direct"
    for target in direct p11mux p11mux-group; do
        dir=$TMP/cg/groups.$target
        mkdir -p "$dir"
        runner=(valgrind --tool=callgrind -q "--callgrind-out-file=$dir/cg.%p")
        groups_target "$target" "$dir/out" --callgrind --workloads ecdsa,rsa
        runner=()
        for f in "$dir"/cg.*; do
            [ -f "$f" ] || continue
            awk '/^desc: Trigger: Client Request: bench:/ {
                     split($0, a, "bench:"); split(a[2], b, ":"); name = b[1]; ops = b[2] }
                 /^summary:/ { ir = $2 }
                 END { if (name != "") printf "%s %.1f\n", name, ir / ops }' "$f"
        done | sort >"$TMP/cg/groups.$target.ir"
    done
    for workload in ecdsa rsa; do
        d=$(awk -v w="$workload" '$1 == w { print $2 }' "$TMP/cg/groups.direct.ir")
        m=$(awk -v w="$workload" '$1 == w { print $2 }' "$TMP/cg/groups.p11mux.ir")
        g=$(awk -v w="$workload" '$1 == w { print $2 }' "$TMP/cg/groups.p11mux-group.ir")
        awk -v w="$workload" -v d="${d:-0}" -v m="${m:-0}" -v g="${g:-0}" 'BEGIN {
            if (d == 0 || m == 0) { printf "%-8s (no count)\n", w; exit }
            printf "%-8s %12.1f %12.1f %14.1f %10.1f %14.5f %14.5f\n", w, d, m, g, g - m, g / m, g / d }'
    done
fi
