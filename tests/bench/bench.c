/*
 * bench: time PKCS #11 workloads against any module.
 *
 *   bench [OPTION...] MODULE
 *
 * Loads MODULE (dlopen, C_GetFunctionList), initialises it (OS locking,
 * optional pReserved), picks the token by label, logs in when given a PIN,
 * and runs each workload for a fixed number of operations in 1..N threads,
 * each thread in its own session.  A workload is run `reps` times after a
 * warm-up; the figure printed is the median, in nanoseconds of wall time per
 * operation (CLOCK_MONOTONIC; with T threads: wall time / (T * ops), the
 * inverse of throughput).  Also printed: the median CPU time of the
 * threads per operation (CLOCK_THREAD_CPUTIME_ID), which what other
 * processes take from a busy machine does not inflate.
 *
 * With --callgrind (run under `valgrind --tool=callgrind`), nothing is timed:
 * each workload runs `ops` operations in one thread between
 * CALLGRIND_ZERO_STATS and CALLGRIND_DUMP_STATS_AT("bench:NAME:OPS"), so that
 * every dump holds the instructions of exactly OPS operations (dlopen +
 * C_GetFunctionList is "bench:load:1", C_Initialize "bench:initialize:1").
 *
 * --setup N creates, on a writable token (with --pin), the keys the crypto
 * workloads use and N data objects "obj-00000"..., then exits;
 * --session-keys generates the keys as session objects for this run.
 *
 * Output, one line each (parsed by run-bench.sh):
 *   load NS            dlopen + C_GetFunctionList
 *   initialize NS      C_Initialize
 *   result NAME THREADS NS_PER_OP OPS REPS CPU_NS_PER_OP
 *   skip NAME REASON
 *   memory STAGE RSS_KIB HEAP_BYTES
 *   callgrind NAME OPS
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

#include "p11mux-pkcs11.h"

#define MAX_THREADS 64
#define MAX_SLOTS 1024
#define FIND_BATCH 100

typedef struct Bench Bench;
typedef struct Worker Worker;

typedef struct {
    const char *name;
    const char *what;
    unsigned long ops;    /* default operations per rep */
    unsigned long cg_ops; /* default operations under callgrind */
    int key;              /* KEY_* the workload needs, or -1 */
    int own_session;      /* 0: the workload opens its own sessions */
    CK_RV (*run)(Worker *worker);
} Workload;

enum { KEY_EC, KEY_RSA, KEY_AES, N_KEYS };

static const char *const key_labels[N_KEYS] = { "bench-ec", "bench-rsa", "bench-aes" };

struct Bench {
    const char *module;
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE anchor; /* kept open: holds the login */
    CK_OBJECT_HANDLE keys[N_KEYS];
    const char *token;
    const char *pin;
    const char *reserved;
    const char *p11_kit_dir;
    int threads[MAX_THREADS];
    int n_threads;
    char *workloads;          /* comma list, NULL: all */
    double scale;
    char *ops_overrides;      /* NAME=N,..., every --ops joined */
    char *threads_for;        /* workloads run with more than the first thread count */
    int reps;
    unsigned long objects;    /* expected data objects (find workloads) */
    long setup;               /* --setup N, or -1 */
    int callgrind;
    int session_keys;         /* --session-keys */
    unsigned long memory;     /* --memory N sessions */
};

struct Worker {
    Bench *bench;
    const Workload *workload;
    pthread_t thread;
    pthread_barrier_t *barrier;
    CK_SESSION_HANDLE session;
    unsigned long ops;
    int reps;
    unsigned long found;      /* objects found by the last search */
    unsigned long long *cpu;  /* thread CPU time of each rep */
    CK_BYTE in[4096];
    CK_BYTE out[4096 + 64];
};

static void
die(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    fputs("bench: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

static void
check_rv(CK_RV rv, const char *what)
{
    if (rv != CKR_OK) {
        die("%s failed: CKR 0x%08lx", what, rv);
    }
}

static unsigned long long
clock_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static unsigned long long
now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* CPU time of the calling thread: what other processes on a busy machine
 * take from wall time does not count here. */
static unsigned long long
cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* ------------------------------------------------------------ workloads */

static CK_RV
run_sessioninfo(Worker *w)
{
    CK_SESSION_INFO info;

    return w->bench->f->C_GetSessionInfo(w->session, &info);
}

static CK_RV
run_slots(Worker *w)
{
    CK_SLOT_ID slots[MAX_SLOTS];
    CK_ULONG count = 0;
    CK_TOKEN_INFO info;
    CK_RV rv = w->bench->f->C_GetSlotList(CK_TRUE, NULL, &count);

    if (rv != CKR_OK) {
        return rv;
    }
    if (count > MAX_SLOTS) {
        return CKR_BUFFER_TOO_SMALL;
    }
    rv = w->bench->f->C_GetSlotList(CK_TRUE, slots, &count);
    if (rv != CKR_OK) {
        return rv;
    }
    return w->bench->f->C_GetTokenInfo(w->bench->slot, &info);
}

static CK_RV
run_openclose(Worker *w)
{
    CK_SESSION_HANDLE session;
    CK_RV rv = w->bench->f->C_OpenSession(w->bench->slot, CKF_SERIAL_SESSION, NULL, NULL, &session);

    if (rv != CKR_OK) {
        return rv;
    }
    return w->bench->f->C_CloseSession(session);
}

static CK_RV
run_random(Worker *w)
{
    return w->bench->f->C_GenerateRandom(w->session, w->out, 32);
}

static CK_RV
run_digest(Worker *w)
{
    CK_MECHANISM mechanism = { CKM_SHA256, NULL, 0 };
    CK_ULONG length = sizeof(w->out);
    CK_RV rv = w->bench->f->C_DigestInit(w->session, &mechanism);

    if (rv != CKR_OK) {
        return rv;
    }
    return w->bench->f->C_Digest(w->session, w->in, 64, w->out, &length);
}

static CK_RV
sign(Worker *w, CK_MECHANISM_TYPE type, int key, CK_ULONG data_len)
{
    CK_MECHANISM mechanism = { type, NULL, 0 };
    CK_ULONG length = sizeof(w->out);
    CK_RV rv = w->bench->f->C_SignInit(w->session, &mechanism, w->bench->keys[key]);

    if (rv != CKR_OK) {
        return rv;
    }
    return w->bench->f->C_Sign(w->session, w->in, data_len, w->out, &length);
}

static CK_RV
run_ecdsa(Worker *w)
{
    /* sign a 32-byte digest (SoftHSM2 has no CKM_ECDSA_SHA256) */
    return sign(w, CKM_ECDSA, KEY_EC, 32);
}

static CK_RV
run_rsa(Worker *w)
{
    return sign(w, CKM_SHA256_RSA_PKCS, KEY_RSA, 64);
}

static CK_RV
run_pss(Worker *w)
{
    CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    CK_MECHANISM mechanism = { CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss) };
    CK_ULONG length = sizeof(w->out);
    CK_RV rv = w->bench->f->C_SignInit(w->session, &mechanism, w->bench->keys[KEY_RSA]);

    if (rv != CKR_OK) {
        return rv;
    }
    return w->bench->f->C_Sign(w->session, w->in, 64, w->out, &length);
}

/* SP800-108 in counter mode (PKCS #11 3.0 structures, by hand: p11-kit's
 * header is 2.40): a 32-byte generic secret from the AES key, AES-CMAC as
 * the PRF, the iteration counter and a label; then the key goes. */
typedef struct {
    CK_ULONG type;
    CK_VOID_PTR pValue;
    CK_ULONG ulValueLen;
} BenchPrfDataParam;

typedef struct {
    CK_BBOOL bLittleEndian;
    CK_ULONG ulWidthInBits;
} BenchCounterFormat;

typedef struct {
    CK_MECHANISM_TYPE prfType;
    CK_ULONG ulNumberOfDataParams;
    BenchPrfDataParam *pDataParams;
    CK_ULONG ulAdditionalDerivedKeys;
    void *pAdditionalDerivedKeys;
} BenchKdfParams;

static CK_RV
run_kdf(Worker *w)
{
    BenchCounterFormat counter = { CK_FALSE, 32 };
    BenchPrfDataParam data[] = { { 1 /* CK_SP800_108_ITERATION_VARIABLE */, &counter, sizeof(counter) },
                                 { 4 /* CK_SP800_108_BYTE_ARRAY */, "bench-label", 11 } };
    BenchKdfParams kdf = { CKM_AES_CMAC, 2, data, 0, NULL };
    CK_MECHANISM mechanism = { CKM_SP800_108_COUNTER_KDF, &kdf, sizeof(kdf) };
    CK_OBJECT_CLASS class = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_ULONG len = 32;
    CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &class, sizeof(class) }, { CKA_KEY_TYPE, &type, sizeof(type) },
                            { CKA_VALUE_LEN, &len, sizeof(len) } };
    CK_OBJECT_HANDLE key;
    CK_RV rv = w->bench->f->C_DeriveKey(w->session, &mechanism, w->bench->keys[KEY_AES], tmpl, 3, &key);

    if (rv != CKR_OK) {
        return rv;
    }
    return w->bench->f->C_DestroyObject(w->session, key);
}

static CK_RV
run_aes(Worker *w)
{
    CK_BYTE iv[16] = { 0 };
    CK_MECHANISM mechanism = { CKM_AES_CBC_PAD, iv, sizeof(iv) };
    CK_ULONG length = sizeof(w->out);
    CK_RV rv = w->bench->f->C_EncryptInit(w->session, &mechanism, w->bench->keys[KEY_AES]);

    if (rv != CKR_OK) {
        return rv;
    }
    return w->bench->f->C_Encrypt(w->session, w->in, 4096, w->out, &length);
}

static CK_RV
find(Worker *w, CK_ATTRIBUTE *template, CK_ULONG count)
{
    CK_OBJECT_HANDLE handles[FIND_BATCH];
    CK_ULONG n = 0;
    CK_RV rv = w->bench->f->C_FindObjectsInit(w->session, template, count);

    w->found = 0;
    while (rv == CKR_OK) {
        rv = w->bench->f->C_FindObjects(w->session, handles, FIND_BATCH, &n);
        if (rv != CKR_OK || n == 0) {
            break;
        }
        w->found += n;
    }
    if (rv != CKR_OK) {
        w->bench->f->C_FindObjectsFinal(w->session);
        return rv;
    }
    return w->bench->f->C_FindObjectsFinal(w->session);
}

static CK_RV
run_findall(Worker *w)
{
    CK_OBJECT_CLASS class = CKO_DATA;
    CK_ATTRIBUTE template[] = { { CKA_CLASS, &class, sizeof(class) } };
    CK_RV rv = find(w, template, 1);

    return rv == CKR_OK && w->found != w->bench->objects ? CKR_GENERAL_ERROR : rv;
}

static CK_RV
run_findone(Worker *w)
{
    CK_OBJECT_CLASS class = CKO_DATA;
    char label[32];
    CK_ATTRIBUTE template[] = {
        { CKA_CLASS, &class, sizeof(class) },
        { CKA_LABEL, label, 0 },
    };
    CK_RV rv;

    snprintf(label, sizeof(label), "obj-%05lu", w->bench->objects / 2);
    template[1].ulValueLen = strlen(label);
    rv = find(w, template, 2);
    return rv == CKR_OK && w->found != 1 ? CKR_GENERAL_ERROR : rv;
}

static const Workload workloads[] = {
    { "sessioninfo", "C_GetSessionInfo", 1000000, 10000, -1, 1, run_sessioninfo },
    { "slots", "C_GetSlotList x2 + C_GetTokenInfo", 100000, 2000, -1, 1, run_slots },
    { "openclose", "C_OpenSession + C_CloseSession", 100000, 2000, -1, 0, run_openclose },
    { "random", "C_GenerateRandom 32 B", 200000, 5000, -1, 1, run_random },
    { "digest", "C_DigestInit + C_Digest SHA-256 64 B", 200000, 5000, -1, 1, run_digest },
    { "ecdsa", "C_SignInit + C_Sign CKM_ECDSA P-256", 2000, 200, KEY_EC, 1, run_ecdsa },
    { "rsa", "C_SignInit + C_Sign CKM_SHA256_RSA_PKCS 2048", 200, 20, KEY_RSA, 1, run_rsa },
    { "aes", "C_EncryptInit + C_Encrypt AES-CBC-PAD 4 KiB", 20000, 500, KEY_AES, 1, run_aes },
    { "pss", "C_SignInit + C_Sign CKM_SHA256_RSA_PKCS_PSS 2048", 200, 20, KEY_RSA, 1, run_pss },
    { "kdf", "C_DeriveKey SP800-108 counter AES-CMAC + C_DestroyObject", 20000, 500, KEY_AES, 1,
      run_kdf },
    { "findall", "find all data objects (batches of 100)", 200, 20, -1, 1, run_findall },
    { "findone", "find one data object by label", 20000, 500, -1, 1, run_findone },
};

#define N_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

/* ------------------------------------------------------------ running */

static CK_SESSION_HANDLE
open_session(Bench *bench, CK_FLAGS flags)
{
    CK_SESSION_HANDLE session = 0;

    check_rv(bench->f->C_OpenSession(bench->slot, CKF_SERIAL_SESSION | flags, NULL, NULL, &session),
             "C_OpenSession");
    return session;
}

static void
run_ops(Worker *w, unsigned long ops)
{
    unsigned long i;

    for (i = 0; i < ops; i++) {
        CK_RV rv = w->workload->run(w);

        if (rv != CKR_OK) {
            die("%s: operation %lu failed: CKR 0x%08lx", w->workload->name, i, rv);
        }
    }
}

static void *
worker_main(void *data)
{
    Worker *w = data;
    int rep;

    if (w->workload->own_session) {
        w->session = open_session(w->bench, 0);
    }
    memset(w->in, 0xa5, sizeof(w->in));
    run_ops(w, w->ops / 10 + 1); /* warm-up */
    for (rep = 0; rep < w->reps; rep++) {
        unsigned long long cpu;

        pthread_barrier_wait(w->barrier);
        cpu = cpu_ns();
        run_ops(w, w->ops);
        w->cpu[rep] = cpu_ns() - cpu;
        pthread_barrier_wait(w->barrier);
    }
    if (w->workload->own_session) {
        check_rv(w->bench->f->C_CloseSession(w->session), "C_CloseSession");
    }
    return NULL;
}

static int
compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double
median(double *values, int n)
{
    qsort(values, (size_t)n, sizeof(double), compare_double);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

static void
run_threads(Bench *bench, const Workload *workload, unsigned long ops, int threads)
{
    Worker *workers = calloc((size_t)threads, sizeof(Worker));
    double *ns = calloc((size_t)bench->reps, sizeof(double));
    double *cpu = calloc((size_t)bench->reps, sizeof(double));
    pthread_barrier_t barrier;
    int i, rep;

    if (workers == NULL || ns == NULL || cpu == NULL) {
        die("out of memory");
    }
    pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
    for (i = 0; i < threads; i++) {
        workers[i].bench = bench;
        workers[i].workload = workload;
        workers[i].barrier = &barrier;
        workers[i].ops = ops;
        workers[i].reps = bench->reps;
        workers[i].cpu = calloc((size_t)bench->reps, sizeof(unsigned long long));
        if (workers[i].cpu == NULL) {
            die("out of memory");
        }
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            die("pthread_create: %s", strerror(errno));
        }
    }
    for (rep = 0; rep < bench->reps; rep++) {
        unsigned long long start, end;

        pthread_barrier_wait(&barrier);
        start = now_ns();
        pthread_barrier_wait(&barrier);
        end = now_ns();
        ns[rep] = (double)(end - start) / ((double)ops * threads);
    }
    for (i = 0; i < threads; i++) {
        pthread_join(workers[i].thread, NULL);
    }
    for (rep = 0; rep < bench->reps; rep++) {
        for (i = 0; i < threads; i++) {
            cpu[rep] += (double)workers[i].cpu[rep] / ((double)ops * threads);
        }
    }
    pthread_barrier_destroy(&barrier);
    printf("result %s %d %.2f %lu %d %.2f\n", workload->name, threads, median(ns, bench->reps), ops,
           bench->reps, median(cpu, bench->reps));
    fflush(stdout);
    for (i = 0; i < threads; i++) {
        free(workers[i].cpu);
    }
    free(cpu);
    free(ns);
    free(workers);
}

static void
run_callgrind(Bench *bench, const Workload *workload, unsigned long ops)
{
    static Worker w; /* big buffers: not on the stack */
    char name[96];

    memset(&w, 0, sizeof(w));
    w.bench = bench;
    w.workload = workload;
    if (workload->own_session) {
        w.session = open_session(bench, 0);
    }
    memset(w.in, 0xa5, sizeof(w.in));
    run_ops(&w, ops / 10 + 1);
    snprintf(name, sizeof(name), "bench:%s:%lu", workload->name, ops);
    CALLGRIND_ZERO_STATS;
    run_ops(&w, ops);
    CALLGRIND_DUMP_STATS_AT(name);
    if (workload->own_session) {
        check_rv(bench->f->C_CloseSession(w.session), "C_CloseSession");
    }
    printf("callgrind %s %lu\n", workload->name, ops);
    fflush(stdout);
}

static int
list_has(const char *list, const char *name)
{
    size_t length = strlen(name);
    const char *p = list;

    while ((p = strstr(p, name)) != NULL) {
        if ((p == list || p[-1] == ',') && (p[length] == ',' || p[length] == '\0')) {
            return 1;
        }
        p += length;
    }
    return 0;
}

/* The last NAME=N of the --ops lists, else the default; scaled. */
static unsigned long
ops_for(Bench *bench, const Workload *workload)
{
    const char *p = bench->ops_overrides;
    size_t length = strlen(workload->name);
    unsigned long ops = bench->callgrind ? workload->cg_ops : workload->ops;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, workload->name, length) == 0 && p[length] == '=') {
            ops = strtoul(p + length + 1, NULL, 10);
        }
        p = strchr(p, ',');
        p = p != NULL ? p + 1 : NULL;
    }
    ops = (unsigned long)((double)ops * bench->scale);
    return ops > 0 ? ops : 1;
}

static void
run_workloads(Bench *bench)
{
    size_t i;
    int t;

    for (i = 0; i < N_WORKLOADS; i++) {
        const Workload *workload = &workloads[i];
        unsigned long ops = ops_for(bench, workload);

        if (bench->workloads != NULL && !list_has(bench->workloads, workload->name)) {
            continue;
        }
        if (workload->key >= 0 && bench->keys[workload->key] == CK_INVALID_HANDLE) {
            printf("skip %s no key labelled %s (make them with --setup)\n", workload->name,
                   key_labels[workload->key]);
            continue;
        }
        if (workload->run == run_findone && bench->objects == 0) {
            printf("skip %s the token holds no data objects\n", workload->name);
            continue;
        }
        if (bench->callgrind) {
            run_callgrind(bench, workload, ops);
            continue;
        }
        for (t = 0; t < bench->n_threads; t++) {
            if (t > 0 && bench->threads_for != NULL &&
                !list_has(bench->threads_for, workload->name)) {
                break;
            }
            run_threads(bench, workload, ops, bench->threads[t]);
        }
    }
}

/* ------------------------------------------------------------ module and token */

typedef void (*OverrideFunc)(const char *, const char *, const char *, const char *, const char *);

/*
 * p11-kit-proxy.so is libp11-kit: give it a registry of its own, DIR/pkcs11.conf
 * and DIR/modules/, instead of the system's and the user's (which it ignores
 * for root anyway).  p11_kit_override_system_files is exported by every
 * p11-kit since 0.18 (declared under P11_KIT_FUTURE_UNSTABLE_API).  A module
 * linked with libp11-kit (p11mux.so, whose import-p11-kit reads p11-kit's
 * registry) gets it the same way: dlsym looks in its dependencies too.
 */
static void
p11_kit_isolate(Bench *bench)
{
    char conf[4096], user_conf[4096], modules[4096], none[4096];
    OverrideFunc override = (OverrideFunc)dlsym(bench->dl, "p11_kit_override_system_files");

    if (override == NULL) {
        die("%s has no p11_kit_override_system_files: cannot isolate it", bench->module);
    }
    snprintf(conf, sizeof(conf), "%s/pkcs11.conf", bench->p11_kit_dir);
    snprintf(user_conf, sizeof(user_conf), "%s/user-pkcs11.conf", bench->p11_kit_dir);
    snprintf(modules, sizeof(modules), "%s/modules", bench->p11_kit_dir);
    snprintf(none, sizeof(none), "%s/no-modules", bench->p11_kit_dir);
    override(conf, user_conf, modules, none, none);
}

static void
load(Bench *bench)
{
    CK_C_GetFunctionList get_function_list;
    unsigned long long start;

    if (bench->callgrind) {
        CALLGRIND_ZERO_STATS;
    }
    start = now_ns();
    bench->dl = dlopen(bench->module, RTLD_NOW | RTLD_LOCAL);
    if (bench->dl == NULL) {
        die("%s", dlerror());
    }
    if (bench->p11_kit_dir != NULL) {
        p11_kit_isolate(bench);
    }
    get_function_list = (CK_C_GetFunctionList)dlsym(bench->dl, "C_GetFunctionList");
    if (get_function_list == NULL) {
        die("%s: no C_GetFunctionList", bench->module);
    }
    check_rv(get_function_list(&bench->f), "C_GetFunctionList");
    printf("load %llu\n", now_ns() - start);
    if (bench->callgrind) {
        CALLGRIND_DUMP_STATS_AT("bench:load:1");
    }
}

static void
initialize(Bench *bench)
{
    CK_C_INITIALIZE_ARGS args;
    unsigned long long start;

    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = (CK_VOID_PTR)bench->reserved;
    if (bench->callgrind) {
        CALLGRIND_ZERO_STATS;
    }
    start = now_ns();
    check_rv(bench->f->C_Initialize(&args), "C_Initialize");
    printf("initialize %llu\n", now_ns() - start);
    if (bench->callgrind) {
        CALLGRIND_DUMP_STATS_AT("bench:initialize:1");
    }
}

static size_t
trimmed_length(const CK_UTF8CHAR *text, size_t size)
{
    while (size > 0 && text[size - 1] == ' ') {
        size--;
    }
    return size;
}

static void
pick_token(Bench *bench)
{
    CK_SLOT_ID slots[MAX_SLOTS];
    CK_ULONG count = MAX_SLOTS, i;

    check_rv(bench->f->C_GetSlotList(CK_TRUE, slots, &count), "C_GetSlotList");
    for (i = 0; i < count; i++) {
        CK_TOKEN_INFO info;
        size_t length;

        check_rv(bench->f->C_GetTokenInfo(slots[i], &info), "C_GetTokenInfo");
        length = trimmed_length(info.label, sizeof(info.label));
        if (bench->token == NULL ||
            (length == strlen(bench->token) && memcmp(info.label, bench->token, length) == 0)) {
            bench->slot = slots[i];
            return;
        }
    }
    die("no token labelled '%s' among %lu slots", bench->token ? bench->token : "(any)", count);
}

static CK_OBJECT_HANDLE
find_key(Bench *bench, const char *label, CK_OBJECT_CLASS class)
{
    CK_ATTRIBUTE template[] = {
        { CKA_CLASS, &class, sizeof(class) },
        { CKA_LABEL, (CK_VOID_PTR)label, strlen(label) },
    };
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    CK_ULONG n = 0;

    check_rv(bench->f->C_FindObjectsInit(bench->anchor, template, 2), "C_FindObjectsInit");
    check_rv(bench->f->C_FindObjects(bench->anchor, &handle, 1, &n), "C_FindObjects");
    check_rv(bench->f->C_FindObjectsFinal(bench->anchor), "C_FindObjectsFinal");
    return n == 1 ? handle : CK_INVALID_HANDLE;
}

static void
open_token(Bench *bench)
{
    int i;

    pick_token(bench);
    bench->anchor = open_session(bench, bench->setup >= 0 ? CKF_RW_SESSION : 0);
    if (bench->pin != NULL) {
        CK_RV rv = bench->f->C_Login(bench->anchor, CKU_USER, (CK_UTF8CHAR_PTR)bench->pin,
                                     strlen(bench->pin));

        if (rv != CKR_USER_ALREADY_LOGGED_IN) {
            check_rv(rv, "C_Login");
        }
    }
    for (i = 0; i < N_KEYS; i++) {
        bench->keys[i] =
            find_key(bench, key_labels[i], i == KEY_AES ? CKO_SECRET_KEY : CKO_PRIVATE_KEY);
    }
}

/* ------------------------------------------------------------ --setup */

/*
 * The keys the crypto workloads use, made where missing: token objects with
 * --setup; session objects with --session-keys, whose handles are used
 * directly (SoftHSM2 re-reads a token key's file, with locks, on every
 * C_SignInit: that I/O is noise, not work).
 */
static void
generate_keys(Bench *bench, CK_BBOOL token)
{
    static CK_BYTE p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
    static CK_BYTE f4[] = { 0x01, 0x00, 0x01 };
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG bits = 2048, aes_len = 32;
    CK_MECHANISM ec_gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_MECHANISM rsa_gen = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_MECHANISM aes_gen = { CKM_AES_KEY_GEN, NULL, 0 };
    CK_OBJECT_HANDLE pub, priv;
    CK_ATTRIBUTE ec_pub[] = {
        { CKA_TOKEN, &token, 1 }, { CKA_VERIFY, &yes, 1 }, { CKA_EC_PARAMS, p256, sizeof(p256) },
        { CKA_LABEL, "bench-ec", 8 },
    };
    CK_ATTRIBUTE ec_priv[] = {
        { CKA_TOKEN, &token, 1 }, { CKA_SIGN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
        { CKA_LABEL, "bench-ec", 8 },
    };
    CK_ATTRIBUTE rsa_pub[] = {
        { CKA_TOKEN, &token, 1 }, { CKA_VERIFY, &yes, 1 }, { CKA_MODULUS_BITS, &bits, sizeof(bits) },
        { CKA_PUBLIC_EXPONENT, f4, sizeof(f4) }, { CKA_LABEL, "bench-rsa", 9 },
    };
    CK_ATTRIBUTE rsa_priv[] = {
        { CKA_TOKEN, &token, 1 }, { CKA_SIGN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
        { CKA_LABEL, "bench-rsa", 9 },
    };
    CK_ATTRIBUTE aes[] = {
        { CKA_TOKEN, &token, 1 }, { CKA_ENCRYPT, &yes, 1 }, { CKA_VALUE_LEN, &aes_len, sizeof(aes_len) },
        { CKA_LABEL, "bench-aes", 9 }, { CKA_DERIVE, &yes, 1 },
    };

    if (!token || bench->keys[KEY_EC] == CK_INVALID_HANDLE) {
        check_rv(bench->f->C_GenerateKeyPair(bench->anchor, &ec_gen, ec_pub, 4, ec_priv, 4, &pub,
                                             &priv),
                 "C_GenerateKeyPair EC");
        bench->keys[KEY_EC] = priv;
    }
    if (!token || bench->keys[KEY_RSA] == CK_INVALID_HANDLE) {
        check_rv(bench->f->C_GenerateKeyPair(bench->anchor, &rsa_gen, rsa_pub, 5, rsa_priv, 4, &pub,
                                             &priv),
                 "C_GenerateKeyPair RSA");
        bench->keys[KEY_RSA] = priv;
    }
    if (!token || bench->keys[KEY_AES] == CK_INVALID_HANDLE) {
        check_rv(bench->f->C_GenerateKey(bench->anchor, &aes_gen, aes, 5, &priv), "C_GenerateKey");
        bench->keys[KEY_AES] = priv;
    }
}

static void
create_objects(Bench *bench, unsigned long n)
{
    CK_OBJECT_CLASS class = CKO_DATA;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    char label[32];
    CK_ATTRIBUTE template[] = {
        { CKA_CLASS, &class, sizeof(class) }, { CKA_TOKEN, &yes, 1 },
        { CKA_PRIVATE, &no, 1 },              { CKA_LABEL, label, 0 },
        { CKA_VALUE, "x", 1 },
    };
    CK_OBJECT_HANDLE handle;
    unsigned long i;

    for (i = 0; i < n; i++) {
        snprintf(label, sizeof(label), "obj-%05lu", i);
        template[3].ulValueLen = strlen(label);
        check_rv(bench->f->C_CreateObject(bench->anchor, template, 5, &handle), "C_CreateObject");
    }
}

/* ------------------------------------------------------------ --memory */

static void
memory_line(const char *stage)
{
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    long rss = -1;
    struct mallinfo2 info = mallinfo2();

    while (status != NULL && fgets(line, sizeof(line), status) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            rss = strtol(line + 6, NULL, 10);
        }
    }
    if (status != NULL) {
        fclose(status);
    }
    printf("memory %s %ld %zu\n", stage, rss, info.uordblks + info.hblkhd);
}

static void
memory_sessions(Bench *bench)
{
    CK_SESSION_HANDLE *sessions = calloc(bench->memory, sizeof(CK_SESSION_HANDLE));
    unsigned long i;

    if (sessions == NULL) {
        die("out of memory");
    }
    memory_line("before-sessions");
    for (i = 0; i < bench->memory; i++) {
        sessions[i] = open_session(bench, 0);
    }
    memory_line("sessions");
    for (i = 0; i < bench->memory; i++) {
        check_rv(bench->f->C_CloseSession(sessions[i]), "C_CloseSession");
    }
    memory_line("closed");
    free(sessions);
}

/* ------------------------------------------------------------ main */

static void
usage(void)
{
    size_t i;

    printf("usage: bench [OPTION...] MODULE\n"
           "  --token LABEL        the token to use (default: the first)\n"
           "  --pin PIN            log in as the user\n"
           "  --threads 1,2,...    thread counts (default 1)\n"
           "  --workloads a,b,...  workloads to run (default all)\n"
           "  --threads-for a,...  only these workloads get the thread counts after the first\n"
           "  --ops NAME=N,...     operations per rep of a workload (repeatable; last wins)\n"
           "  --scale F            multiply every operation count\n"
           "  --reps N             timed reps per workload, median printed (default 5)\n"
           "  --objects N          data objects the token holds (default 10000)\n"
           "  --reserved TEXT      CK_C_INITIALIZE_ARGS.pReserved\n"
           "  --p11-kit-dir DIR    MODULE is p11-kit-proxy.so, or links libp11-kit (p11mux.so):\n"
           "                       p11-kit reads DIR/pkcs11.conf and DIR/modules/*.module only\n"
           "  --setup N            create the keys and N data objects, then exit\n"
           "  --session-keys       generate the keys as session objects and use those\n"
           "  --memory N           report RSS and heap around loading and N sessions\n"
           "  --callgrind          count with callgrind client requests, no timing\n"
           "workloads:\n");
    for (i = 0; i < N_WORKLOADS; i++) {
        printf("  %-12s %s\n", workloads[i].name, workloads[i].what);
    }
}

static void
parse_threads(Bench *bench, const char *text)
{
    char *copy = strdup(text), *save = NULL, *word;

    bench->n_threads = 0;
    for (word = strtok_r(copy, ",", &save); word != NULL; word = strtok_r(NULL, ",", &save)) {
        int n = atoi(word);

        if (n < 1 || n > MAX_THREADS || bench->n_threads == MAX_THREADS) {
            die("bad thread count '%s'", word);
        }
        bench->threads[bench->n_threads++] = n;
    }
    free(copy);
}

static void
append_ops(Bench *bench, const char *list)
{
    size_t old = bench->ops_overrides != NULL ? strlen(bench->ops_overrides) : 0;
    char *joined = malloc(old + strlen(list) + 2);

    if (joined == NULL) {
        die("out of memory");
    }
    snprintf(joined, old + strlen(list) + 2, "%s%s%s", old ? bench->ops_overrides : "",
             old ? "," : "", list);
    free(bench->ops_overrides);
    bench->ops_overrides = joined;
}

static void
parse_options(Bench *bench, int argc, char **argv)
{
    static const struct option options[] = {
        { "token", required_argument, NULL, 't' },     { "pin", required_argument, NULL, 'p' },
        { "threads", required_argument, NULL, 'T' },   { "workloads", required_argument, NULL, 'w' },
        { "ops", required_argument, NULL, 'o' },       { "scale", required_argument, NULL, 's' },
        { "reps", required_argument, NULL, 'r' },      { "objects", required_argument, NULL, 'n' },
        { "reserved", required_argument, NULL, 'R' },  { "p11-kit-dir", required_argument, NULL, 'k' },
        { "setup", required_argument, NULL, 'S' },     { "memory", required_argument, NULL, 'm' },
        { "callgrind", no_argument, NULL, 'c' },       { "help", no_argument, NULL, 'h' },
        { "threads-for", required_argument, NULL, 'F' }, { "session-keys", no_argument, NULL, 'K' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 't': bench->token = optarg; break;
        case 'p': bench->pin = optarg; break;
        case 'T': parse_threads(bench, optarg); break;
        case 'w': bench->workloads = optarg; break;
        case 'o': append_ops(bench, optarg); break;
        case 'F': bench->threads_for = optarg; break;
        case 's': bench->scale = strtod(optarg, NULL); break;
        case 'r': bench->reps = atoi(optarg); break;
        case 'n': bench->objects = strtoul(optarg, NULL, 10); break;
        case 'R': bench->reserved = optarg; break;
        case 'k': bench->p11_kit_dir = optarg; break;
        case 'S': bench->setup = strtol(optarg, NULL, 10); break;
        case 'm': bench->memory = strtoul(optarg, NULL, 10); break;
        case 'c': bench->callgrind = 1; break;
        case 'K': bench->session_keys = 1; break;
        case 'h': usage(); exit(0);
        default: usage(); exit(2);
        }
    }
    if (optind != argc - 1 || bench->reps < 1 || bench->scale <= 0 || bench->setup < -1) {
        usage();
        exit(2);
    }
    bench->module = argv[optind];
}

int
main(int argc, char **argv)
{
    static Bench bench = { .n_threads = 1, .threads = { 1 }, .scale = 1.0, .reps = 5,
                           .objects = 10000, .setup = -1 };

    parse_options(&bench, argc, argv);
    if (bench.callgrind && !RUNNING_ON_VALGRIND) {
        die("--callgrind: run me under valgrind --tool=callgrind");
    }
    if (bench.memory) {
        memory_line("start");
    }
    load(&bench);
    if (bench.memory) {
        memory_line("loaded");
    }
    initialize(&bench);
    if (bench.memory) {
        memory_line("initialized");
    }
    open_token(&bench);
    if (bench.setup >= 0) {
        generate_keys(&bench, CK_TRUE);
        create_objects(&bench, (unsigned long)bench.setup);
    } else if (bench.memory) {
        memory_sessions(&bench);
    } else {
        if (bench.session_keys) {
            generate_keys(&bench, CK_FALSE);
        }
        run_workloads(&bench);
    }
    check_rv(bench.f->C_CloseSession(bench.anchor), "C_CloseSession");
    check_rv(bench.f->C_Finalize(NULL), "C_Finalize");
    /* the module stays loaded: some register atexit handlers */
    return 0;
}
