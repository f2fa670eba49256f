/*
 * Slot events, hot-plug and backend faults through p11mux.so over two mock
 * instances: mock-a (3.0, slot 1) and mock-b (2.40, slot 7), driven by the
 * mock's control API.
 */
#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <glib.h>
#include <string.h>

#include "check-helpers.h"
#include "module-fixture.h"
#include "mock-control.h"
#include "p11mux-pkcs11.h"

static CK_FUNCTION_LIST_PTR p11;

typedef struct {
    void *dl;
    MockControlInsertToken insert_token;
    MockControlRemoveToken remove_token;
    MockControlAddSlot add_slot;
    MockControlSetFailures set_failures;
} Mock;

static Mock mock_a, mock_b;

static void
make_mock(Mock *mock, const char *name, const char *conf)
{
    g_autofree char *so = fixture_copy_mock(name, conf);

    /* the same instance p11mux will load: same path */
    mock->dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(mock->dl != NULL, "%s", dlerror());
    mock->insert_token = (MockControlInsertToken)dlsym(mock->dl, "mock_control_insert_token");
    mock->remove_token = (MockControlRemoveToken)dlsym(mock->dl, "mock_control_remove_token");
    mock->add_slot = (MockControlAddSlot)dlsym(mock->dl, "mock_control_add_slot");
    mock->set_failures = (MockControlSetFailures)dlsym(mock->dl, "mock_control_set_failures");
    ck_assert(mock->insert_token && mock->remove_token && mock->add_slot && mock->set_failures);
}

static void
setup_once(void)
{
    g_autofree char *conf = NULL;
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;
    g_autofree char *text = NULL;
    CK_C_GetFunctionList get_function_list;

    make_mock(&mock_a, "mock-a",
              "[mock]\ninterface = 3.0\n[slot 1]\ntoken-label = a-one\nmechanisms = CKM_SHA256\n");
    make_mock(
        &mock_b, "mock-b",
        "[mock]\ninterface = 2.40\n[slot 7]\ntoken-label = b-seven\nmechanisms = CKM_SHA256\n");
    a = fixture_path("mock-a.so");
    b = fixture_path("mock-b.so");
    text = g_strdup_printf("[global]\nuser-config = none\n"
                           "[backend a]\nmodule = %s\n[backend b]\nmodule = %s\n",
                           a, b);
    conf = fixture_write("p11mux.conf", text);
    g_setenv("P11MUX_CONF", conf, TRUE);
    get_function_list = (CK_C_GetFunctionList)dlsym(fixture_load_p11mux(), "C_GetFunctionList");
    ck_assert_rv_ok(get_function_list(&p11));
}

static void
setup(void)
{
    CK_SLOT_ID slot;

    if (p11 == NULL) {
        setup_once();
    }
    mock_a.insert_token(1);
    mock_b.insert_token(7);
    mock_a.set_failures(NULL);
    mock_b.set_failures(NULL);
    ck_assert_rv_ok(p11->C_Initialize(NULL));
    /* start from no pending event */
    while (p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL) == CKR_OK) {
    }
}

static void
teardown(void)
{
    p11->C_Finalize(NULL);
}

static CK_SLOT_ID
slot_by_label(const char *label)
{
    return fixture_slot_by_label(p11, label);
}

START_TEST(test_events_none_pending_is_no_event)
{
    CK_SLOT_ID slot;

    ck_assert_rv(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
    ck_assert_rv(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_ARGUMENTS_BAD);
}
END_TEST

START_TEST(test_events_removal_names_the_p11mux_slot_and_kills_its_sessions)
{
    CK_SLOT_ID a = slot_by_label("a-one"), event = 0;
    CK_SESSION_HANDLE session;
    CK_SESSION_INFO info;
    CK_ULONG count = 0;

    ck_assert_rv_ok(p11->C_OpenSession(a, CKF_SERIAL_SESSION, NULL, NULL, &session));
    mock_a.remove_token(1);
    ck_assert_rv_ok(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, NULL));
    ck_assert_uint_eq(event, a);
    /* the backend's answer first, then the handle is gone */
    ck_assert_rv(p11->C_GetSessionInfo(session, &info), CKR_DEVICE_REMOVED);
    ck_assert_rv(p11->C_GetSessionInfo(session, &info), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv_ok(p11->C_GetSlotList(CK_TRUE, NULL, &count));
    ck_assert_uint_eq(count, 1);
    mock_a.insert_token(1);
    ck_assert_rv_ok(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, NULL));
    ck_assert_uint_eq(event, a);
    ck_assert_uint_eq(slot_by_label("a-one"), a);
}
END_TEST

START_TEST(test_events_added_slot_appears_with_a_stable_id)
{
    CK_SLOT_ID event = 0, slots[16];
    CK_ULONG count = G_N_ELEMENTS(slots), i;
    gboolean listed = FALSE;

    mock_b.add_slot(99, "b-new");
    ck_assert_rv_ok(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, NULL));
    ck_assert_uint_lt(event, G_GUINT64_CONSTANT(1) << 31);
    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, NULL, &count));
    ck_assert_uint_eq(count, 3);
    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, slots, &count));
    for (i = 0; i < count; i++) {
        listed = listed || slots[i] == event;
    }
    ck_assert(listed);
    ck_assert_uint_eq(slot_by_label("b-new"), event);
    /* the same id after a restart */
    ck_assert_rv_ok(p11->C_Finalize(NULL));
    ck_assert_rv_ok(p11->C_Initialize(NULL));
    ck_assert_uint_eq(slot_by_label("b-new"), event);
}
END_TEST

START_TEST(test_events_two_backends_at_once_are_both_reported)
{
    CK_SLOT_ID a = slot_by_label("a-one"), b = slot_by_label("b-seven");
    CK_SLOT_ID first = 0, second = 0, none;

    mock_a.remove_token(1);
    mock_b.remove_token(7);
    ck_assert_rv_ok(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &first, NULL));
    ck_assert_rv_ok(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &second, NULL));
    ck_assert((first == a && second == b) || (first == b && second == a));
    ck_assert_rv(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &none, NULL), CKR_NO_EVENT);
}
END_TEST

typedef struct {
    CK_SLOT_ID slot;
    CK_RV rv;
} Wait;

static gpointer
blocking_wait(gpointer data)
{
    Wait *wait = data;

    wait->rv = p11->C_WaitForSlotEvent(0, &wait->slot, NULL);
    return NULL;
}

START_TEST(test_events_blocking_wait_wakes_on_an_event)
{
    CK_SLOT_ID b = slot_by_label("b-seven");
    Wait wait = {0, CKR_GENERAL_ERROR};
    GThread *thread = g_thread_new("wait", blocking_wait, &wait);

    g_usleep(100 * 1000);
    mock_b.remove_token(7);
    g_thread_join(thread);
    ck_assert_rv_ok(wait.rv);
    ck_assert_uint_eq(wait.slot, b);
}
END_TEST

START_TEST(test_events_finalize_wakes_a_blocked_wait)
{
    Wait wait = {0, CKR_OK};
    GThread *thread = g_thread_new("wait", blocking_wait, &wait);

    g_usleep(100 * 1000);
    ck_assert_rv_ok(p11->C_Finalize(NULL));
    g_thread_join(thread);
    ck_assert_rv(wait.rv, CKR_CRYPTOKI_NOT_INITIALIZED);
}
END_TEST

START_TEST(test_events_backend_fault_leaves_the_others_working)
{
    CK_SLOT_ID a = slot_by_label("a-one"), b = slot_by_label("b-seven");
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    CK_SESSION_HANDLE sa, sb;
    CK_BYTE digest[32];
    CK_ULONG length = sizeof(digest);
    CK_SESSION_INFO info;

    ck_assert_rv_ok(p11->C_OpenSession(a, CKF_SERIAL_SESSION, NULL, NULL, &sa));
    ck_assert_rv_ok(p11->C_OpenSession(b, CKF_SERIAL_SESSION, NULL, NULL, &sb));
    ck_assert_rv_ok(
        mock_a.set_failures("C_DigestInit:CKR_DEVICE_ERROR C_Digest:CKR_GENERAL_ERROR"));
    ck_assert_rv(p11->C_DigestInit(sa, &sha256), CKR_DEVICE_ERROR);
    ck_assert_rv_ok(p11->C_DigestInit(sb, &sha256));
    ck_assert_rv_ok(p11->C_Digest(sb, (CK_BYTE_PTR) "abc", 3, digest, &length));
    /* the failing backend's session is still there: the backend said so */
    ck_assert_rv_ok(p11->C_GetSessionInfo(sa, &info));
    mock_a.set_failures(NULL);
    ck_assert_rv_ok(p11->C_DigestInit(sa, &sha256));
    ck_assert_rv_ok(p11->C_Digest(sa, (CK_BYTE_PTR) "abc", 3, digest, &length));
}
END_TEST

START_TEST(test_events_device_removed_mid_operation_invalidates_the_session)
{
    CK_SLOT_ID a = slot_by_label("a-one");
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    CK_SESSION_HANDLE session;
    CK_SESSION_INFO info;

    ck_assert_rv_ok(p11->C_OpenSession(a, CKF_SERIAL_SESSION, NULL, NULL, &session));
    ck_assert_rv_ok(p11->C_DigestInit(session, &sha256));
    ck_assert_rv_ok(mock_a.set_failures("C_DigestUpdate:CKR_DEVICE_REMOVED"));
    ck_assert_rv(p11->C_DigestUpdate(session, (CK_BYTE_PTR) "abc", 3), CKR_DEVICE_REMOVED);
    ck_assert_rv(p11->C_GetSessionInfo(session, &info), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv(p11->C_CloseSession(session), CKR_SESSION_HANDLE_INVALID);
}
END_TEST

static Suite *
events_suite(void)
{
    Suite *s = suite_create("events");
    TCase *tc = tcase_create("mock");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_events_none_pending_is_no_event);
    tcase_add_test(tc, test_events_removal_names_the_p11mux_slot_and_kills_its_sessions);
    tcase_add_test(tc, test_events_added_slot_appears_with_a_stable_id);
    tcase_add_test(tc, test_events_two_backends_at_once_are_both_reported);
    tcase_add_test(tc, test_events_blocking_wait_wakes_on_an_event);
    tcase_add_test(tc, test_events_finalize_wakes_a_blocked_wait);
    tcase_add_test(tc, test_events_backend_fault_leaves_the_others_working);
    tcase_add_test(tc, test_events_device_removed_mid_operation_invalidates_the_session);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return fixture_run_suite(events_suite());
}
