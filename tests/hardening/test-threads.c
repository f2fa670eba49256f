/*
 * Thread torture through p11mux.so over two mock backends (harness.h):
 *
 * - test_threads_torture: WORKERS threads doing random open, login, logout,
 *   find, sign (HMAC), verify, digest, session info, close and close-all,
 *   while one thread waits for slot events and another makes the mocks
 *   insert and remove tokens; at least 100,000 operations, every answer one
 *   the specification allows for its function (spec-rv.h), a session's
 *   slot never another backend's, no session left in a backend at the end.
 * - test_threads_finalize_races_calls: one thread initialising and
 *   finalising over and over while others call (slot and session functions,
 *   whole digest and sign operations, slot-event waits): every call
 *   succeeds or gets a code the specification allows (mostly
 *   CKR_CRYPTOKI_NOT_INITIALIZED), nothing crashes, and under ASan/TSan
 *   nothing touches freed memory or races.
 *
 * Each runs twice: with no hook attached (the generated forwarders' plain
 * path) and with trace (JSON, hex, to /dev/null) and a policy attached (the
 * hooked pipeline).
 *
 * Environment: P11MUX_TORTURE_OPS (default 100000), P11MUX_RACE_ROUNDS
 * (default 300).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "p11mux-functions.h"
#include "spec-rv.h"

#define WORKERS 4
#define MAX_SESSIONS 6
#define HMAC_KEY_LABEL "hmac"

static Harness *harness;
static CK_FUNCTION_LIST_PTR p11;

/* the slots of the three tokens, by index */
static CK_SLOT_ID slots[3];
static const char *const labels[3] = {"a-one", "a-two", "b-seven"};

/* shared by the threads of a test */
static gint stop;
static gint violations;
static gint ops_done;
static GMutex report_lock;
static GString *report;

static void violation(const char *format, ...) G_GNUC_PRINTF(1, 2);

static void
violation(const char *format, ...)
{
    va_list ap;

    if (g_atomic_int_add(&violations, 1) >= 20) {
        return;
    }
    va_start(ap, format);
    g_mutex_lock(&report_lock);
    g_string_append_vprintf(report, format, ap);
    g_string_append_c(report, '\n');
    g_mutex_unlock(&report_lock);
    va_end(ap);
}

/* The answer of fn must be one the specification allows. */
static CK_RV
checked(P11muxFunctionId fn, CK_RV rv)
{
    if (!spec_rv_allowed(fn, rv)) {
        violation("%s answered %s, which the specification does not allow",
                  p11mux_functions[fn].name, spec_rv_name(rv));
    }
    return rv;
}

#define CALL(name, ...) checked(P11MUX_FN_##name, p11->name(__VA_ARGS__))

/* The hooked variant: every hook attached, nothing the workers do refused. */
static const char hooked_global[] = "trace = file:/dev/null\n"
                                    "trace-format = json\n"
                                    "trace-data = hex\n"
                                    "policy = torture\n"
                                    "[policy torture]\n"
                                    "deny-mechanisms = CKM_MD5*\n"
                                    "min-key-bits = generic:64\n"
                                    "deny-objects = pkcs11:object=hidden\n"
                                    "deny-functions = C_InitToken\n";

static const char *const variants[] = {"plain", "hooked"};

static void
start(int variant)
{
    HarnessOptions options = {variant == 1 ? hooked_global : NULL, NULL, NULL};

    printf("%s:\n", variants[variant]);
    ck_assert(spec_rv_check_table());
    harness = harness_new(&options);
    ck_assert(harness != NULL);
    p11 = harness->p11;
    ck_assert_uint_eq(p11->C_Initialize(NULL), CKR_OK);
    for (guint i = 0; i < G_N_ELEMENTS(slots); i++) {
        slots[i] = harness_slot_by_label(harness, labels[i]);
        ck_assert_msg(slots[i] != 0, "no token %s", labels[i]);
    }
    report = g_string_new(NULL);
    g_atomic_int_set(&stop, 0);
    g_atomic_int_set(&violations, 0);
    g_atomic_int_set(&ops_done, 0);
}

static void
finish(void)
{
    p11->C_Finalize(NULL);
    harness_free(harness);
    g_string_free(report, TRUE);
}

static guint
env_uint(const char *name, guint fallback)
{
    const char *text = g_getenv(name);

    return text != NULL && *text != '\0' ? (guint)g_ascii_strtoull(text, NULL, 10) : fallback;
}

/* ------------------------------------------------------------ the worker */

typedef struct {
    CK_SESSION_HANDLE handle;
    guint slot; /* index into slots */
} Session;

typedef struct {
    GRand *rand;
    Session sessions[MAX_SESSIONS];
    guint n_sessions;
    guint target;
} Worker;

static void
forget(Worker *worker, guint i)
{
    worker->sessions[i] = worker->sessions[--worker->n_sessions];
}

static void
op_open(Worker *worker)
{
    guint slot = g_rand_int_range(worker->rand, 0, G_N_ELEMENTS(slots));
    CK_FLAGS flags = CKF_SERIAL_SESSION | (g_rand_boolean(worker->rand) ? CKF_RW_SESSION : 0);
    CK_SESSION_HANDLE handle = 0;

    if (worker->n_sessions == MAX_SESSIONS) {
        return;
    }
    if (CALL(C_OpenSession, slots[slot], flags, NULL, NULL, &handle) == CKR_OK) {
        worker->sessions[worker->n_sessions].handle = handle;
        worker->sessions[worker->n_sessions].slot = slot;
        worker->n_sessions++;
    }
}

/* The session's slot, as p11mux reports it, is the one it was opened on. */
static void
op_info(Worker *worker G_GNUC_UNUSED, Session *session)
{
    CK_SESSION_INFO info;

    if (CALL(C_GetSessionInfo, session->handle, &info) == CKR_OK &&
        info.slotID != slots[session->slot]) {
        violation("session 0x%lx opened on slot %lu reports slot %lu", session->handle,
                  slots[session->slot], info.slotID);
    }
}

static void
op_login(Worker *worker, Session *session)
{
    if (g_rand_boolean(worker->rand)) {
        CALL(C_Login, session->handle, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4);
    } else {
        CALL(C_Logout, session->handle);
    }
}

/* The HMAC key of the session's token, CK_INVALID_HANDLE if not found. */
static CK_OBJECT_HANDLE
find_key(Session *session)
{
    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &klass, sizeof klass},
        {CKA_LABEL, (void *)HMAC_KEY_LABEL, strlen(HMAC_KEY_LABEL)},
    };
    CK_OBJECT_HANDLE found[4];
    CK_ULONG count = 0;

    if (CALL(C_FindObjectsInit, session->handle, template, G_N_ELEMENTS(template)) != CKR_OK) {
        return CK_INVALID_HANDLE;
    }
    if (CALL(C_FindObjects, session->handle, found, G_N_ELEMENTS(found), &count) != CKR_OK) {
        count = 0;
    }
    CALL(C_FindObjectsFinal, session->handle);
    return count > 0 ? found[0] : CK_INVALID_HANDLE;
}

static void
op_sign(Worker *worker, Session *session)
{
    CK_MECHANISM mechanism = {CKM_SHA256_HMAC, NULL, 0};
    CK_OBJECT_HANDLE key = find_key(session);
    CK_BYTE data[64], signature[32];
    CK_ULONG length = sizeof signature;

    if (key == CK_INVALID_HANDLE) {
        return;
    }
    memset(data, g_rand_int_range(worker->rand, 0, 256), sizeof data);
    if (CALL(C_SignInit, session->handle, &mechanism, key) != CKR_OK) {
        return;
    }
    if (CALL(C_Sign, session->handle, data, sizeof data, signature, &length) != CKR_OK) {
        return;
    }
    if (CALL(C_VerifyInit, session->handle, &mechanism, key) == CKR_OK &&
        CALL(C_Verify, session->handle, data, sizeof data, signature, length) == CKR_OK) {
        return;
    }
}

static void
op_digest(Worker *worker, Session *session)
{
    CK_MECHANISM mechanism = {CKM_SHA256, NULL, 0};
    CK_BYTE data[100], digest[32];
    CK_ULONG length = sizeof digest;

    memset(data, g_rand_int_range(worker->rand, 0, 256), sizeof data);
    if (CALL(C_DigestInit, session->handle, &mechanism) != CKR_OK) {
        return;
    }
    if (g_rand_boolean(worker->rand)) {
        CALL(C_Digest, session->handle, data, sizeof data, digest, &length);
    } else if (CALL(C_DigestUpdate, session->handle, data, sizeof data) == CKR_OK) {
        CALL(C_DigestFinal, session->handle, digest, &length);
    }
}

static void
op_close(Worker *worker, guint i)
{
    CALL(C_CloseSession, worker->sessions[i].handle);
    forget(worker, i);
}

/* Every session on a slot goes, other threads' too: they find out later. */
static void
op_close_all(Worker *worker)
{
    guint slot = g_rand_int_range(worker->rand, 0, G_N_ELEMENTS(slots));

    if (CALL(C_CloseAllSessions, slots[slot]) != CKR_OK) {
        return;
    }
    for (guint i = worker->n_sessions; i-- > 0;) {
        if (worker->sessions[i].slot == slot) {
            forget(worker, i);
        }
    }
}

static void
op_slots(Worker *worker)
{
    CK_SLOT_ID list[32];
    CK_ULONG count = G_N_ELEMENTS(list);
    CK_TOKEN_INFO info;

    CALL(C_GetSlotList, g_rand_boolean(worker->rand), list, &count);
    CALL(C_GetTokenInfo, slots[g_rand_int_range(worker->rand, 0, G_N_ELEMENTS(slots))], &info);
}

static void
one_op(Worker *worker)
{
    guint choice = g_rand_int_range(worker->rand, 0, 100);
    guint i = worker->n_sessions > 0 ? g_rand_int_range(worker->rand, 0, worker->n_sessions) : 0;
    Session *session = worker->n_sessions > 0 ? &worker->sessions[i] : NULL;

    if (session == NULL || choice < 12) {
        op_open(worker);
    } else if (choice < 22) {
        op_info(worker, session);
    } else if (choice < 32) {
        op_login(worker, session);
    } else if (choice < 52) {
        op_sign(worker, session);
    } else if (choice < 72) {
        op_digest(worker, session);
    } else if (choice < 84) {
        op_close(worker, i);
    } else if (choice < 87) {
        op_close_all(worker);
    } else {
        op_slots(worker);
    }
}

static gpointer
worker_main(gpointer data)
{
    Worker *worker = data;

    for (guint n = 0; n < worker->target && !g_atomic_int_get(&stop); n++) {
        one_op(worker);
        g_atomic_int_inc(&ops_done);
    }
    while (worker->n_sessions > 0) {
        op_close(worker, 0);
    }
    return NULL;
}

/* ----------------------------------------------- events and hot-plugging */

static gint events_seen;

static gpointer
waiter_main(gpointer data)
{
    (void)data;
    while (!g_atomic_int_get(&stop)) {
        CK_SLOT_ID slot = 0;
        CK_RV rv = CALL(C_WaitForSlotEvent, 0, &slot, NULL);

        if (rv == CKR_OK) {
            g_atomic_int_inc(&events_seen);
        } else if (rv == CKR_CRYPTOKI_NOT_INITIALIZED) {
            break;
        }
    }
    return NULL;
}

static gpointer
plugger_main(gpointer data)
{
    GRand *rand = g_rand_new_with_seed(GPOINTER_TO_UINT(data));

    while (!g_atomic_int_get(&stop)) {
        HarnessMock *mock = g_rand_boolean(rand) ? &harness->a : &harness->b;
        CK_SLOT_ID real = mock == &harness->b ? 7 : (CK_SLOT_ID)g_rand_int_range(rand, 1, 3);

        mock->remove_token(real);
        g_usleep(g_rand_int_range(rand, 100, 2000));
        mock->insert_token(real);
        g_usleep(g_rand_int_range(rand, 500, 5000));
    }
    g_rand_free(rand);
    return NULL;
}

START_TEST(test_threads_torture)
{
    guint total = env_uint("P11MUX_TORTURE_OPS", 100000);
    GThread *workers[WORKERS], *waiter, *plugger;
    Worker state[WORKERS];

    start(_i);
    memset(state, 0, sizeof state);
    waiter = g_thread_new("waiter", waiter_main, NULL);
    plugger = g_thread_new("plugger", plugger_main, GUINT_TO_POINTER(4711));
    for (guint i = 0; i < WORKERS; i++) {
        state[i].rand = g_rand_new_with_seed(1000 + i);
        state[i].target = (total + WORKERS - 1) / WORKERS;
        workers[i] = g_thread_new("worker", worker_main, &state[i]);
    }
    for (guint i = 0; i < WORKERS; i++) {
        g_thread_join(workers[i]);
        g_rand_free(state[i].rand);
    }
    g_atomic_int_set(&stop, 1);
    g_thread_join(plugger);
    /* one more event wakes the waiter up to see stop */
    harness->b.remove_token(7);
    harness->b.insert_token(7);
    g_thread_join(waiter);
    printf("torture: %d operations, %d slot events seen\n", g_atomic_int_get(&ops_done),
           g_atomic_int_get(&events_seen));
    ck_assert_msg(violations == 0, "%d violations:\n%s", violations, report->str);
    ck_assert_int_ge(g_atomic_int_get(&ops_done), (gint)total);
    ck_assert_int_gt(g_atomic_int_get(&events_seen), 0);
    /* every session the workers opened is closed in the backends too */
    ck_assert_uint_eq(harness->a.open_sessions(), 0);
    ck_assert_uint_eq(harness->b.open_sessions(), 0);
    finish();
}
END_TEST

/* ------------------------------------------- finalize racing with calls */

static gint init_cycles;
static gint sessions_opened;

static gpointer
cycler_main(gpointer data)
{
    GRand *rand = g_rand_new_with_seed(GPOINTER_TO_UINT(data));
    guint rounds = env_uint("P11MUX_RACE_ROUNDS", 300);

    for (guint i = 0; i < rounds; i++) {
        CK_RV rv = CALL(C_Finalize, NULL);

        if (rv != CKR_OK && rv != CKR_CRYPTOKI_NOT_INITIALIZED) {
            violation("C_Finalize: %s", spec_rv_name(rv));
        }
        g_usleep(g_rand_int_range(rand, 0, 300));
        rv = CALL(C_Initialize, NULL);
        if (rv != CKR_OK) {
            violation("C_Initialize: %s", spec_rv_name(rv));
        }
        g_atomic_int_inc(&init_cycles);
        /* long enough for the others to be in the middle of something */
        g_usleep(g_rand_int_range(rand, 0, 3000));
    }
    g_atomic_int_set(&stop, 1);
    g_rand_free(rand);
    return NULL;
}

/* A few calls, whatever state p11mux is in. */
static void
race_round(GRand *rand)
{
    CK_SLOT_ID slot = slots[g_rand_int_range(rand, 0, G_N_ELEMENTS(slots))], event;
    CK_MECHANISM digest = {CKM_SHA256, NULL, 0};
    CK_SESSION_HANDLE session = 0;
    CK_SLOT_ID list[16];
    CK_ULONG count = G_N_ELEMENTS(list);
    CK_BYTE out[32];
    CK_ULONG length = sizeof out;
    CK_TOKEN_INFO token;
    CK_INFO info;
    Session s;

    CALL(C_GetInfo, &info);
    CALL(C_GetSlotList, CK_FALSE, list, &count);
    CALL(C_GetTokenInfo, slot, &token);
    CALL(C_WaitForSlotEvent, CKF_DONT_BLOCK, &event, NULL);
    if (CALL(C_OpenSession, slot, CKF_SERIAL_SESSION, NULL, NULL, &session) != CKR_OK) {
        return;
    }
    g_atomic_int_inc(&sessions_opened);
    if (CALL(C_DigestInit, session, &digest) == CKR_OK) {
        CALL(C_Digest, session, (CK_BYTE_PTR) "abc", 3, out, &length);
    }
    s.handle = session;
    s.slot = 0;
    if (find_key(&s) != CK_INVALID_HANDLE) {
        CALL(C_Login, session, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4);
    }
    if (g_rand_boolean(rand)) {
        CALL(C_CloseSession, session);
    } else {
        CALL(C_CloseAllSessions, slot);
    }
}

static gpointer
racer_main(gpointer data)
{
    GRand *rand = g_rand_new_with_seed(GPOINTER_TO_UINT(data));

    while (!g_atomic_int_get(&stop)) {
        race_round(rand);
        g_atomic_int_inc(&ops_done);
    }
    g_rand_free(rand);
    return NULL;
}

static gpointer
race_waiter_main(gpointer data)
{
    (void)data;
    while (!g_atomic_int_get(&stop)) {
        CK_SLOT_ID slot;

        if (CALL(C_WaitForSlotEvent, 0, &slot, NULL) == CKR_CRYPTOKI_NOT_INITIALIZED) {
            g_thread_yield();
        }
    }
    return NULL;
}

START_TEST(test_threads_finalize_races_calls)
{
    GThread *racers[WORKERS], *cycler, *waiter, *plugger;

    start(_i);
    waiter = g_thread_new("waiter", race_waiter_main, NULL);
    plugger = g_thread_new("plugger", plugger_main, GUINT_TO_POINTER(99));
    for (guint i = 0; i < WORKERS; i++) {
        racers[i] = g_thread_new("racer", racer_main, GUINT_TO_POINTER(2000 + i));
    }
    cycler = g_thread_new("cycler", cycler_main, GUINT_TO_POINTER(7));
    g_thread_join(cycler);
    for (guint i = 0; i < WORKERS; i++) {
        g_thread_join(racers[i]);
    }
    g_thread_join(plugger);
    harness->a.remove_token(1);
    harness->a.insert_token(1);
    g_thread_join(waiter);
    printf("race: %d initialise/finalise cycles, %d rounds of calls, %d sessions opened\n",
           g_atomic_int_get(&init_cycles), g_atomic_int_get(&ops_done),
           g_atomic_int_get(&sessions_opened));
    ck_assert_msg(violations == 0, "%d violations:\n%s", violations, report->str);
    ck_assert_int_gt(g_atomic_int_get(&sessions_opened), 0);
    /* p11mux is still usable */
    ck_assert(harness_slot_by_label(harness, "b-seven") == slots[2]);
    finish();
}
END_TEST

static Suite *
threads_suite(void)
{
    Suite *suite = suite_create("threads");
    TCase *tcase = tcase_create("threads");

    /* generous: TSan and valgrind are slow */
    tcase_set_timeout(tcase, 1200);
    tcase_add_loop_test(tcase, test_threads_torture, 0, G_N_ELEMENTS(variants));
    tcase_add_loop_test(tcase, test_threads_finalize_races_calls, 0, G_N_ELEMENTS(variants));
    suite_add_tcase(suite, tcase);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(threads_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
