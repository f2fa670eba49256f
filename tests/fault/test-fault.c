/*
 * The fault injector p11fault.so over SoftHSM2, directly and as a p11mux
 * backend.  Run by tests/fault/fault.sh, which sets up the environment:
 *
 *   P11FAULT_SO      the built p11fault.so
 *   P11MUX_SO        the testable p11mux.so
 *   SOFTHSM_MODULE   SoftHSM2's module; SOFTHSM2_CONF its private tokens
 *                    "fault-a" and "fault-b" (user PIN 1234), each holding
 *                    an EC P-256 key pair with CKA_ID 01
 *   FAULT_TMP        a scratch directory
 *
 * Each test runs in its own process (Check's fork mode), so each loads the
 * modules afresh; the rules and counts files are per test.
 */
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check-helpers.h"
#include "p11mux-pkcs11.h"

#define PIN "1234"

static CK_FUNCTION_LIST_3_0_PTR fault;

static const char *
env(const char *name)
{
    const char *value = g_getenv(name);

    ck_assert_msg(value != NULL, "%s is not set (run tests/fault/fault.sh)", name);
    return value;
}

/* transfer full: FAULT_TMP/name, unique to this test process. */
static char *
tmp_path(const char *name)
{
    return g_strdup_printf("%s/%d-%s", env("FAULT_TMP"), (int)getpid(), name);
}

/* Replace the rules file (a new file renamed over the old one). */
static void
write_rules(const char *text)
{
    g_autofree char *path = tmp_path("rules");

    ck_assert(g_file_set_contents(path, text, -1, NULL));
}

static CK_FUNCTION_LIST_3_0_PTR
load_list(const char *path)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetInterface get_interface;
    CK_INTERFACE_PTR interface = NULL;

    ck_assert_msg(handle != NULL, "%s", dlerror());
    get_interface = (CK_C_GetInterface)dlsym(handle, "C_GetInterface");
    ck_assert(get_interface != NULL);
    ck_assert_rv_ok(get_interface((CK_UTF8CHAR_PTR) "PKCS 11", NULL, &interface, 0));
    return interface->pFunctionList;
}

/* p11fault.so over SoftHSM2 (named by the init string), with the rules
 * file of this test and, when counts, a counts file. */
static void
start(gboolean counts)
{
    CK_C_INITIALIZE_ARGS args = {0};
    g_autofree char *rules = tmp_path("rules");
    g_autofree char *counts_path = tmp_path("counts");

    g_setenv("P11FAULT_RULES", rules, TRUE);
    if (counts) {
        g_setenv("P11FAULT_COUNTS", counts_path, TRUE);
    }
    fault = load_list(env("P11FAULT_SO"));
    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = (CK_VOID_PTR)env("SOFTHSM_MODULE");
    ck_assert_rv_ok(fault->C_Initialize(&args));
}

static void
stop(void)
{
    ck_assert_rv_ok(fault->C_Finalize(NULL));
}

static gboolean
label_is(const CK_TOKEN_INFO *info, const char *label)
{
    g_autofree char *text = g_strndup((const char *)info->label, sizeof info->label);

    return strcmp(g_strchomp(text), label) == 0;
}

/* The slots whose token is labelled label, into slots (at most 4). */
static guint
find_slots(CK_FUNCTION_LIST_3_0_PTR list, const char *label, CK_SLOT_ID *slots)
{
    CK_SLOT_ID all[32];
    CK_ULONG count = G_N_ELEMENTS(all), i;
    guint found = 0;

    ck_assert_rv_ok(list->C_GetSlotList(CK_TRUE, all, &count));
    for (i = 0; i < count; i++) {
        CK_TOKEN_INFO info;

        ck_assert_rv_ok(list->C_GetTokenInfo(all[i], &info));
        if (label_is(&info, label) && found < 4) {
            slots[found++] = all[i];
        }
    }
    return found;
}

static CK_SLOT_ID
slot_of(const char *label)
{
    CK_SLOT_ID slots[4];

    ck_assert_uint_eq(find_slots(fault, label, slots), 1);
    return slots[0];
}

static CK_SESSION_HANDLE
open_session(CK_FUNCTION_LIST_3_0_PTR list, CK_SLOT_ID slot)
{
    CK_SESSION_HANDLE session;

    ck_assert_rv_ok(
        list->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session));
    return session;
}

/* A logged-in session on the token labelled label; it keeps the token
 * logged in for the sessions opened after it. */
static CK_SESSION_HANDLE
login(const char *label)
{
    CK_SESSION_HANDLE session = open_session(fault, slot_of(label));

    ck_assert_rv_ok(fault->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)));
    return session;
}

static CK_OBJECT_HANDLE
find_key(CK_FUNCTION_LIST_3_0_PTR list, CK_SESSION_HANDLE session)
{
    CK_OBJECT_CLASS class = CKO_PRIVATE_KEY;
    CK_BYTE id = 0x01;
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &class, sizeof class},
        {CKA_ID, &id, sizeof id},
    };
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    CK_ULONG found = 0;

    ck_assert_rv_ok(list->C_FindObjectsInit(session, template, G_N_ELEMENTS(template)));
    ck_assert_rv_ok(list->C_FindObjects(session, &key, 1, &found));
    ck_assert_rv_ok(list->C_FindObjectsFinal(session));
    ck_assert_uint_eq(found, 1);
    return key;
}

/* One ECDSA signature in a session of its own (so that a failed C_Sign,
 * which an injected fault answers without the module, leaves no operation
 * behind): C_SignInit's rv when it failed, else C_Sign's. */
static CK_RV
sign_with(CK_FUNCTION_LIST_3_0_PTR list, CK_SLOT_ID slot)
{
    CK_MECHANISM mechanism = {CKM_ECDSA, NULL, 0};
    CK_BYTE data[32] = {1, 2, 3};
    CK_BYTE signature[128];
    CK_ULONG length = sizeof signature;
    CK_SESSION_HANDLE session = open_session(list, slot);
    CK_RV rv;

    rv = list->C_SignInit(session, &mechanism, find_key(list, session));
    if (rv == CKR_OK) {
        rv = list->C_Sign(session, data, sizeof data, signature, &length);
    }
    if (rv == CKR_OK) {
        ck_assert_uint_eq(length, 64);
    }
    ck_assert_rv_ok(list->C_CloseSession(session));
    return rv;
}

static CK_RV
sign(const char *label)
{
    return sign_with(fault, slot_of(label));
}

static gint64
elapsed_ms(gint64 since)
{
    return (g_get_monotonic_time() - since) / 1000;
}

/* ------------------------------------------------------------ tests */

START_TEST(test_fault_forwards)
{
    CK_INFO info;
    CK_INTERFACE interfaces[4];
    CK_ULONG count = G_N_ELEMENTS(interfaces);
    CK_C_GetInterfaceList get_list;
    void *softhsm;

    start(FALSE);
    ck_assert_rv_ok(fault->C_GetInfo(&info));
    ck_assert(memcmp(info.manufacturerID, "SoftHSM", 7) == 0);
    login("fault-a");
    ck_assert_rv_ok(sign("fault-a"));
    /* A 3.0 function SoftHSM2 (a 2.40 module) lacks. */
    softhsm = dlopen(env("SOFTHSM_MODULE"), RTLD_NOW | RTLD_LOCAL);
    ck_assert(softhsm != NULL);
    if (dlsym(softhsm, "C_GetInterface") == NULL) {
        ck_assert_rv(fault->C_SessionCancel(1, 0), CKR_FUNCTION_NOT_SUPPORTED);
    }
    get_list =
        (CK_C_GetInterfaceList)dlsym(dlopen(env("P11FAULT_SO"), RTLD_NOW), "C_GetInterfaceList");
    ck_assert_rv_ok(get_list(interfaces, &count));
    ck_assert_uint_eq(count, 2);
    ck_assert_uint_eq(((CK_VERSION *)interfaces[0].pFunctionList)->major, 3);
    ck_assert_uint_eq(((CK_VERSION *)interfaces[1].pFunctionList)->major, 2);
    stop();
    ck_assert_rv(fault->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
}
END_TEST

START_TEST(test_fault_count_once)
{
    write_rules("token=fault-a fn=C_Sign rv=CKR_DEVICE_ERROR count=1\n");
    start(FALSE);
    login("fault-a");
    ck_assert_rv(sign("fault-a"), CKR_DEVICE_ERROR);
    ck_assert_rv_ok(sign("fault-a"));
    ck_assert_rv_ok(sign("fault-a"));
    stop();
}
END_TEST

START_TEST(test_fault_count_defaults_to_once)
{
    write_rules("token=fault-a fn=C_Sign rv=CKR_DEVICE_ERROR\n");
    start(FALSE);
    login("fault-a");
    ck_assert_rv(sign("fault-a"), CKR_DEVICE_ERROR);
    ck_assert_rv_ok(sign("fault-a"));
    stop();
}
END_TEST

START_TEST(test_fault_after)
{
    write_rules("token=fault-a fn=C_Sign rv=CKR_DEVICE_MEMORY after=2 count=2\n");
    start(FALSE);
    login("fault-a");
    ck_assert_rv_ok(sign("fault-a"));
    ck_assert_rv_ok(sign("fault-a"));
    ck_assert_rv(sign("fault-a"), CKR_DEVICE_MEMORY);
    ck_assert_rv(sign("fault-a"), CKR_DEVICE_MEMORY);
    ck_assert_rv_ok(sign("fault-a"));
    stop();
}
END_TEST

START_TEST(test_fault_always)
{
    int i;

    write_rules("# every signature fails\n"
                "token=fault-a fn=C_Sign rv=CKR_DEVICE_REMOVED count=always\n");
    start(FALSE);
    login("fault-a");
    for (i = 0; i < 5; i++) {
        ck_assert_rv(sign("fault-a"), CKR_DEVICE_REMOVED);
    }
    stop();
}
END_TEST

START_TEST(test_fault_delay)
{
    gint64 since;

    write_rules("token=fault-a fn=C_Sign rv=CKR_OK delay=300\n"
                "token=fault-a fn=C_Sign rv=CKR_DEVICE_ERROR delay=200\n");
    start(FALSE);
    login("fault-a");
    since = g_get_monotonic_time();
    ck_assert_rv_ok(sign("fault-a"));
    ck_assert_int_ge(elapsed_ms(since), 300);
    since = g_get_monotonic_time();
    ck_assert_rv(sign("fault-a"), CKR_DEVICE_ERROR);
    ck_assert_int_ge(elapsed_ms(since), 200);
    since = g_get_monotonic_time();
    ck_assert_rv_ok(sign("fault-a"));
    ck_assert_int_lt(elapsed_ms(since), 200);
    stop();
}
END_TEST

START_TEST(test_fault_glob)
{
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    CK_SESSION_HANDLE session;
    CK_INFO info;

    write_rules("token=fault-a fn=C_*Init rv=CKR_FUNCTION_FAILED count=always\n");
    start(FALSE);
    session = login("fault-a");
    ck_assert_rv(fault->C_FindObjectsInit(session, NULL, 0), CKR_FUNCTION_FAILED);
    ck_assert_rv(fault->C_DigestInit(session, &sha256), CKR_FUNCTION_FAILED);
    ck_assert_rv(fault->C_SignInit(session, &ecdsa, 1), CKR_FUNCTION_FAILED);
    ck_assert_rv_ok(fault->C_GetInfo(&info));
    login("fault-b");
    ck_assert_rv_ok(sign("fault-b"));
    stop();
}
END_TEST

START_TEST(test_fault_other_token)
{
    write_rules("token=fault-b fn=C_Sign rv=CKR_DEVICE_ERROR count=always\n");
    start(FALSE);
    login("fault-a");
    login("fault-b");
    ck_assert_rv_ok(sign("fault-a"));
    ck_assert_rv_ok(sign("fault-a"));
    ck_assert_rv(sign("fault-b"), CKR_DEVICE_ERROR);
    stop();
}
END_TEST

START_TEST(test_fault_rules_reread)
{
    write_rules("");
    start(FALSE);
    login("fault-a");
    ck_assert_rv_ok(sign("fault-a"));
    write_rules("token=fault-a fn=C_Sign rv=CKR_DEVICE_ERROR count=always\n");
    ck_assert_rv(sign("fault-a"), CKR_DEVICE_ERROR);
    ck_assert_rv(sign("fault-a"), CKR_DEVICE_ERROR);
    write_rules("# none\n");
    ck_assert_rv_ok(sign("fault-a"));
    /* a new file: its counters start again */
    write_rules("token=fault-a fn=C_Sign rv=CKR_GENERAL_ERROR after=1\n");
    ck_assert_rv_ok(sign("fault-a"));
    ck_assert_rv(sign("fault-a"), CKR_GENERAL_ERROR);
    stop();
}
END_TEST

/* transfer full: the counts file, read as the test goes. */
static char *
read_counts(void)
{
    g_autofree char *path = tmp_path("counts");
    char *text = NULL;

    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

static gboolean
has_line(const char *text, const char *line)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    return g_strv_contains((const char *const *)lines, line);
}

START_TEST(test_fault_counts)
{
    g_autofree char *mid = NULL;
    g_autofree char *end = NULL;

    write_rules("token=fault-b fn=C_Sign rv=CKR_DEVICE_ERROR\n");
    start(TRUE);
    login("fault-a");
    login("fault-b");
    ck_assert_rv_ok(sign("fault-a"));
    mid = read_counts();
    ck_assert_msg(has_line(mid, "fault-a C_Sign 1"), "counts:\n%s", mid);
    ck_assert_rv_ok(sign("fault-a"));
    ck_assert_rv(sign("fault-b"), CKR_DEVICE_ERROR);
    ck_assert_rv_ok(sign("fault-b"));
    end = read_counts();
    ck_assert_msg(has_line(end, "fault-a C_Sign 2"), "counts:\n%s", end);
    ck_assert_msg(has_line(end, "fault-b C_Sign 2"), "counts:\n%s", end);
    ck_assert_msg(has_line(end, "fault-a C_SignInit 2"), "counts:\n%s", end);
    ck_assert_msg(has_line(end, "fault-a C_Login 1"), "counts:\n%s", end);
    ck_assert_msg(has_line(end, "- C_Initialize 1"), "counts:\n%s", end);
    ck_assert_msg(has_line(end, "- C_GetSlotList 6"), "counts:\n%s", end);
    stop();
}
END_TEST

START_TEST(test_fault_unknown_rv)
{
    g_autofree char *err_path = tmp_path("stderr");
    g_autofree char *rules = tmp_path("rules");
    g_autofree char *expected = NULL;
    g_autofree char *err = NULL;
    int fd;

    write_rules("token=fault-a fn=C_Sign rv=CKR_NO_SUCH_THING count=always\n"
                "token=fault-a fn=C_Sign count=always\n"
                "\n"
                "token=fault-a fn=C_Sign rv=CKR_PIN_EXPIRED count=lots\n"
                "token=fault-a fn=C_Sign rv=CKR_DATA_INVALID\n");
    fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
    start(FALSE);
    login("fault-a");
    ck_assert_rv(sign("fault-a"), CKR_DATA_INVALID);
    ck_assert_rv_ok(sign("fault-a"));
    stop();
    ck_assert(g_file_get_contents(err_path, &err, NULL, NULL));
    expected =
        g_strdup_printf("%s:1: unknown return value 'CKR_NO_SUCH_THING'; rule ignored", rules);
    ck_assert_msg(strstr(err, expected) != NULL, "stderr:\n%s", err);
    g_free(expected);
    expected = g_strdup_printf("%s:2: a rule needs token=, fn= and rv=; rule ignored", rules);
    ck_assert_msg(strstr(err, expected) != NULL, "stderr:\n%s", err);
    g_free(expected);
    expected = g_strdup_printf("%s:4: ", rules);
    ck_assert_msg(strstr(err, expected) != NULL, "stderr:\n%s", err);
    ck_assert_msg(strstr(err, ":3:") == NULL && strstr(err, ":5:") == NULL, "stderr:\n%s", err);
}
END_TEST

static CK_FUNCTION_LIST_3_0_PTR
load_softhsm(void)
{
    void *handle = dlopen(env("SOFTHSM_MODULE"), RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get_list;
    CK_FUNCTION_LIST_PTR list = NULL;

    ck_assert_msg(handle != NULL, "%s", dlerror());
    get_list = (CK_C_GetFunctionList)dlsym(handle, "C_GetFunctionList");
    ck_assert(get_list != NULL);
    ck_assert_rv_ok(get_list(&list));
    /* only 2.40 members are used */
    return (CK_FUNCTION_LIST_3_0_PTR)list;
}

/* SoftHSM2 initialised by someone else: p11fault's C_Initialize succeeds
 * on CKR_CRYPTOKI_ALREADY_INITIALIZED and its C_Finalize leaves SoftHSM2
 * initialised; initialised by p11fault, SoftHSM2 is finalised with it. */
START_TEST(test_fault_shares_initialised_module)
{
    CK_FUNCTION_LIST_3_0_PTR softhsm = load_softhsm();
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    CK_INFO info;

    ck_assert_rv_ok(softhsm->C_Initialize(&args));
    start(FALSE);
    login("fault-a");
    ck_assert_rv_ok(sign("fault-a"));
    stop();
    ck_assert_rv_ok(softhsm->C_GetInfo(&info));
    ck_assert_rv_ok(softhsm->C_Finalize(NULL));

    start(FALSE);
    ck_assert_rv_ok(softhsm->C_GetInfo(&info));
    stop();
    ck_assert_rv(softhsm->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
}
END_TEST

#define THREADS 4
#define SIGNS_PER_THREAD 25

static gpointer
sign_many(gpointer data)
{
    CK_SLOT_ID slot = *(const CK_SLOT_ID *)data;
    guint failed = 0;
    int i;

    for (i = 0; i < SIGNS_PER_THREAD; i++) {
        CK_RV rv = sign_with(fault, slot);

        if (rv != CKR_OK) {
            ck_assert_rv(rv, CKR_DEVICE_ERROR);
            failed++;
        }
    }
    return GUINT_TO_POINTER(failed);
}

/* Threads signing at once: the rule fires exactly count times, every
 * call is counted. */
START_TEST(test_fault_threads)
{
    g_autofree char *end = NULL;
    g_autofree char *expected = NULL;
    GThread *threads[THREADS];
    CK_SLOT_ID slot;
    guint i, failed = 0;

    write_rules("token=fault-a fn=C_Sign rv=CKR_DEVICE_ERROR after=7 count=10\n");
    start(TRUE);
    login("fault-a");
    slot = slot_of("fault-a");
    for (i = 0; i < THREADS; i++) {
        threads[i] = g_thread_new("signer", sign_many, &slot);
    }
    for (i = 0; i < THREADS; i++) {
        failed += GPOINTER_TO_UINT(g_thread_join(threads[i]));
    }
    ck_assert_uint_eq(failed, 10);
    end = read_counts();
    expected = g_strdup_printf("fault-a C_Sign %d", THREADS * SIGNS_PER_THREAD);
    ck_assert_msg(has_line(end, expected), "counts:\n%s", end);
    stop();
}
END_TEST

/* p11mux with two backends on one SoftHSM2: directly, and through
 * p11fault.so named with init-reserved.  p11mux opens its backends in
 * threads of their own, and SoftHSM2's C_Initialize is not safe against a
 * concurrent one (both may initialise it, and both then finalise it): a
 * delay on p11fault's C_Initialize lets the direct backend initialise
 * SoftHSM2 first, so that p11fault finds it initialised (the case under
 * test) and leaves it to the direct backend to finalise.  Each token shows
 * twice; a rule fails the calls through p11fault only. */
START_TEST(test_fault_through_p11mux)
{
    g_autofree char *conf_path = tmp_path("p11mux.conf");
    g_autofree char *conf = NULL;
    g_autofree char *end = NULL;
    CK_FUNCTION_LIST_3_0_PTR mux;
    CK_SLOT_ID slots[4];
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    CK_RV rv[2];
    guint i, faulted = 0, direct = 0;

    conf = g_strdup_printf("[global]\nuser-config = none\n\n"
                           "[backend softhsm]\nmodule = %s\n\n"
                           "[backend fault]\nmodule = %s\ninit-reserved = %s\n",
                           env("SOFTHSM_MODULE"), env("P11FAULT_SO"), env("SOFTHSM_MODULE"));
    ck_assert(g_file_set_contents(conf_path, conf, -1, NULL));
    g_setenv("P11MUX_CONF", conf_path, TRUE);
    write_rules("token=- fn=C_Initialize rv=CKR_OK delay=500\n"
                "token=fault-a fn=C_Sign rv=CKR_DEVICE_ERROR count=always\n");
    {
        g_autofree char *counts = tmp_path("counts");
        g_autofree char *rules = tmp_path("rules");

        g_setenv("P11FAULT_COUNTS", counts, TRUE);
        g_setenv("P11FAULT_RULES", rules, TRUE);
    }
    mux = load_list(env("P11MUX_SO"));
    ck_assert_rv_ok(mux->C_Initialize(NULL));
    ck_assert_uint_eq(find_slots(mux, "fault-a", slots), 2);
    for (i = 0; i < 2; i++) {
        session = open_session(mux, slots[i]);
        rv[i] = mux->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN));
        ck_assert_msg(rv[i] == CKR_OK || rv[i] == CKR_USER_ALREADY_LOGGED_IN, "C_Login: 0x%lx",
                      rv[i]);
        rv[i] = sign_with(mux, slots[i]);
        faulted += rv[i] == CKR_DEVICE_ERROR;
        direct += rv[i] == CKR_OK;
    }
    ck_assert_uint_eq(faulted, 1);
    ck_assert_uint_eq(direct, 1);
    end = read_counts();
    ck_assert_msg(has_line(end, "fault-a C_Sign 1"), "counts:\n%s", end);
    ck_assert_rv_ok(mux->C_Finalize(NULL));
}
END_TEST

static Suite *
fault_suite(void)
{
    Suite *suite = suite_create("p11fault");
    TCase *tc = tcase_create("softhsm");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fault_forwards);
    tcase_add_test(tc, test_fault_count_once);
    tcase_add_test(tc, test_fault_count_defaults_to_once);
    tcase_add_test(tc, test_fault_after);
    tcase_add_test(tc, test_fault_always);
    tcase_add_test(tc, test_fault_delay);
    tcase_add_test(tc, test_fault_glob);
    tcase_add_test(tc, test_fault_other_token);
    tcase_add_test(tc, test_fault_rules_reread);
    tcase_add_test(tc, test_fault_counts);
    tcase_add_test(tc, test_fault_unknown_rv);
    tcase_add_test(tc, test_fault_threads);
    tcase_add_test(tc, test_fault_shares_initialised_module);
    tcase_add_test(tc, test_fault_through_p11mux);
    suite_add_tcase(suite, tc);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(fault_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
