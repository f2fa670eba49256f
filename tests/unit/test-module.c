/*
 * p11mux.so end to end over mock backends: life cycle, the slot space,
 * session routing, forwarding of buffers, interfaces and failing backends.
 *
 * Two copies of the mock are configured: mock-a (3.0, slots 1 and 2, slot 2
 * without a token) and mock-b (2.40, slot 1234567890).  Two 3.2 copies join
 * them for the 3.2 tests (v32.conf): mock-d (a token offering asynchronous
 * sessions) and mock-e (a 3.2 list with holes).
 */
#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-helpers.h"
#include "mock-control.h"
#include "module-fixture.h"
#include "p11mux-pkcs11.h"

static char *good_conf;
static char *v32_conf;
static void *p11mux_dl;
static void *mock_d_dl;
static CK_FUNCTION_LIST_PTR p11;
static CK_C_GetInterface get_interface;
static CK_C_GetInterfaceList get_interface_list;

static const char *mock_a_conf = "[mock]\n"
                                 "interface = 3.0\n"
                                 "null-functions = C_DigestKey\n"
                                 "[slot 1]\n"
                                 "token-label = mock-a-1\n"
                                 "token-present = true\n"
                                 "pin = 1234\n"
                                 "mechanisms = CKM_SHA256\n"
                                 "[slot 2]\n"
                                 "token-label = mock-a-2\n"
                                 "token-present = false\n";

static const char *mock_b_conf = "[mock]\n"
                                 "interface = 2.40\n"
                                 "[slot 1234567890]\n"
                                 "token-label = mock-b-1\n"
                                 "token-present = true\n"
                                 "mechanisms = CKM_SHA256\n";

static const char *mock_c_conf = "[mock]\n"
                                 "fail = C_Initialize:CKR_DEVICE_ERROR\n"
                                 "[slot 5]\n"
                                 "token-label = mock-c-1\n"
                                 "token-present = true\n";

/* ML-KEM keys of a slot: handles KEM_PUBLIC, KEM_PRIVATE (the mock numbers
 * objects from 0x500 in file order) */
#define KEM_KEYS(slot)                                                                             \
    "[object kem-public]\nslot = " slot "\nclass = CKO_PUBLIC_KEY\nkey-type = CKK_ML_KEM\n"       \
    "label = kem\nprivate = false\n"                                                             \
    "[object kem-private]\nslot = " slot "\nclass = CKO_PRIVATE_KEY\nkey-type = CKK_ML_KEM\n"     \
    "label = kem\nprivate = false\n"
enum { KEM_PUBLIC = 0x500, KEM_PRIVATE };

static const char *mock_d_conf = "[mock]\n"
                                 "interface = 3.2\n"
                                 "[slot 7]\n"
                                 "token-label = mock-d-1\n"
                                 "token-present = true\n"
                                 "async-sessions = true\n" KEM_KEYS("7");

/* a 3.2 list with holes, 3.2 entries among them */
static const char *mock_e_conf = "[mock]\n"
                                 "interface = 3.2\n"
                                 "null-functions = C_EncapsulateKey C_VerifySignature "
                                 "C_GetSessionValidationFlags C_UnwrapKeyAuthenticated "
                                 "C_MessageSignInit\n"
                                 "[slot 8]\n"
                                 "token-label = mock-e-1\n"
                                 "token-present = true\n" KEM_KEYS("8");

static char *
path_in_tmp(const char *name)
{
    return fixture_path(name);
}

static void
write_file(const char *name, const char *text)
{
    g_free(fixture_write(name, text));
}

/* A p11mux configuration naming the given mocks ("a", "b:critical", ...). */
static char *
write_p11mux_conf(const char *name, const char *const *mocks)
{
    GString *text = g_string_new("[global]\nuser-config = none\n");
    guint i;

    for (i = 0; mocks[i] != NULL; i++) {
        g_auto(GStrv) parts = g_strsplit(mocks[i], ":", 2);
        g_autofree char *so_name = g_strdup_printf("mock-%s.so", parts[0]);
        g_autofree char *so = path_in_tmp(so_name);

        g_string_append_printf(text, "[backend mock-%s]\nmodule = %s\n", parts[0], so);
        if (parts[1] != NULL) {
            g_string_append_printf(text, "critical = true\n");
        }
    }
    write_file(name, text->str);
    g_string_free(text, TRUE);
    return path_in_tmp(name);
}

static void
setup_once(void)
{
    const char *names[] = {"a", "b", NULL};
    const char *names_v32[] = {"a", "d", "e", NULL};
    g_autofree char *mock_d = NULL;
    CK_C_GetFunctionList get_function_list;

    g_free(fixture_copy_mock("mock-a", mock_a_conf));
    g_free(fixture_copy_mock("mock-b", mock_b_conf));
    g_free(fixture_copy_mock("mock-c", mock_c_conf));
    mock_d = fixture_copy_mock("mock-d", mock_d_conf);
    g_free(fixture_copy_mock("mock-e", mock_e_conf));
    good_conf = write_p11mux_conf("good.conf", names);
    v32_conf = write_p11mux_conf("v32.conf", names_v32);
    g_setenv("P11MUX_CONF", good_conf, TRUE);
    p11mux_dl = fixture_load_p11mux();
    get_function_list = (CK_C_GetFunctionList)dlsym(p11mux_dl, "C_GetFunctionList");
    get_interface = (CK_C_GetInterface)dlsym(p11mux_dl, "C_GetInterface");
    get_interface_list = (CK_C_GetInterfaceList)dlsym(p11mux_dl, "C_GetInterfaceList");
    ck_assert_rv_ok(get_function_list(&p11));
    /* the instance p11mux loads (the same file, so the same handle) */
    mock_d_dl = dlopen(mock_d, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(mock_d_dl != NULL, "%s", dlerror());
}

static void
setup(void)
{
    if (p11 == NULL) {
        setup_once();
    }
    g_setenv("P11MUX_CONF", good_conf, TRUE);
}

static void
teardown(void)
{
    /* every test leaves p11mux finalised */
    p11->C_Finalize(NULL);
}

static CK_SLOT_ID
slot_by_label(const char *label)
{
    return fixture_slot_by_label(p11, label);
}

START_TEST(test_module_calls_before_initialize_are_refused)
{
    CK_INFO info;
    CK_ULONG count;
    CK_SESSION_HANDLE session;
    CK_SESSION_INFO session_info;

    ck_assert_rv(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(p11->C_GetSlotList(CK_FALSE, NULL, &count), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &session),
                 CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(p11->C_GetSessionInfo(1, &session_info), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(p11->C_CloseSession(1), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}
END_TEST

static CK_RV
fake_create(CK_VOID_PTR_PTR mutex)
{
    *mutex = NULL;
    return CKR_OK;
}

static CK_RV
fake_mutex(CK_VOID_PTR mutex G_GNUC_UNUSED)
{
    return CKR_OK;
}

START_TEST(test_module_initialize_args_are_checked)
{
    CK_C_INITIALIZE_ARGS args = {0};

    args.CreateMutex = fake_create;
    ck_assert_rv(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    args.DestroyMutex = fake_mutex;
    args.LockMutex = fake_mutex;
    args.UnlockMutex = fake_mutex;
    ck_assert_rv(p11->C_Initialize(&args), CKR_CANT_LOCK);
    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = "config=";
    ck_assert_rv(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    args.pReserved = NULL;
    ck_assert_rv_ok(p11->C_Initialize(&args));
    ck_assert_rv(p11->C_Initialize(&args), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    ck_assert_rv(p11->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    ck_assert_rv(p11->C_Finalize(&args), CKR_ARGUMENTS_BAD);
    ck_assert_rv_ok(p11->C_Finalize(NULL));
    ck_assert_rv(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}
END_TEST

START_TEST(test_module_config_in_reserved_is_read_without_environment)
{
    CK_C_INITIALIZE_ARGS args = { 0 };
    const char *only_b[] = { "b", NULL };
    g_autofree char *b_conf = write_p11mux_conf("only-b.conf", only_b);
    g_autofree char *reserved = g_strdup_printf("config=%s", b_conf);
    CK_ULONG count = 0;

    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = reserved;
    /* P11MUX_CONF wins: config= cannot replace what the process was started with */
    ck_assert_rv_ok(p11->C_Initialize(&args));
    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, NULL, &count));
    ck_assert_uint_eq(count, 3);
    ck_assert_rv_ok(p11->C_Finalize(NULL));
    /* without P11MUX_CONF, config= names the file */
    g_unsetenv("P11MUX_CONF");
    ck_assert_rv_ok(p11->C_Initialize(&args));
    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, NULL, &count));
    ck_assert_uint_eq(count, 1);
}
END_TEST

START_TEST(test_module_get_info_describes_p11mux)
{
    CK_INFO info;

    ck_assert_rv_ok(p11->C_Initialize(NULL));
    ck_assert_rv(p11->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv_ok(p11->C_GetInfo(&info));
    ck_assert_int_eq(memcmp(info.manufacturerID, "p11mux ", 7), 0);
    ck_assert_uint_eq(info.cryptokiVersion.major, 2);
    ck_assert_uint_eq(info.cryptokiVersion.minor, 40);
}
END_TEST

START_TEST(test_module_slot_list_follows_the_length_protocol)
{
    CK_SLOT_ID slots[8];
    CK_ULONG count = 0, i, j;

    ck_assert_rv_ok(p11->C_Initialize(NULL));
    ck_assert_rv(p11->C_GetSlotList(CK_FALSE, slots, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, NULL, &count));
    ck_assert_uint_eq(count, 3);
    count = 2;
    ck_assert_rv(p11->C_GetSlotList(CK_FALSE, slots, &count), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(count, 3);
    count = G_N_ELEMENTS(slots);
    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, slots, &count));
    ck_assert_uint_eq(count, 3);
    for (i = 0; i < count; i++) {
        ck_assert_uint_lt(slots[i], G_GUINT64_CONSTANT(1) << 31);
        for (j = 0; j < i; j++) {
            ck_assert_uint_ne(slots[i], slots[j]);
        }
    }
    /* slot 2 of mock-a has no token */
    count = G_N_ELEMENTS(slots);
    ck_assert_rv_ok(p11->C_GetSlotList(CK_TRUE, slots, &count));
    ck_assert_uint_eq(count, 2);
}
END_TEST

START_TEST(test_module_slot_ids_are_stable_across_restarts)
{
    CK_SLOT_ID first[8], second[8];
    CK_ULONG n1 = G_N_ELEMENTS(first), n2 = G_N_ELEMENTS(second);

    ck_assert_rv_ok(p11->C_Initialize(NULL));
    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, first, &n1));
    ck_assert_rv_ok(p11->C_Finalize(NULL));
    ck_assert_rv_ok(p11->C_Initialize(NULL));
    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, second, &n2));
    ck_assert_uint_eq(n1, n2);
    ck_assert_int_eq(memcmp(first, second, n1 * sizeof(CK_SLOT_ID)), 0);
}
END_TEST

START_TEST(test_module_slot_functions_route_by_slot)
{
    CK_SLOT_ID a, b;
    CK_SLOT_INFO slot_info;
    CK_TOKEN_INFO token_info;
    CK_MECHANISM_TYPE mechanisms[8];
    CK_ULONG count = G_N_ELEMENTS(mechanisms);
    CK_MECHANISM_INFO mechanism_info;

    ck_assert_rv_ok(p11->C_Initialize(NULL));
    a = slot_by_label("mock-a-1");
    b = slot_by_label("mock-b-1");
    ck_assert_uint_ne(a, b);
    ck_assert_uint_ne(b, 1234567890);
    ck_assert_rv_ok(p11->C_GetSlotInfo(a, &slot_info));
    ck_assert_rv_ok(p11->C_GetMechanismList(b, mechanisms, &count));
    ck_assert_uint_eq(count, 1);
    ck_assert_uint_eq(mechanisms[0], CKM_SHA256);
    ck_assert_rv_ok(p11->C_GetMechanismInfo(b, CKM_SHA256, &mechanism_info));
    ck_assert_rv(p11->C_GetSlotInfo(1234567890, &slot_info), CKR_SLOT_ID_INVALID);
    ck_assert_rv(p11->C_GetTokenInfo(0, &token_info), CKR_SLOT_ID_INVALID);
    ck_assert_rv(p11->C_GetTokenInfo(a + 1, &token_info), CKR_SLOT_ID_INVALID);
    ck_assert_rv(p11->C_GetMechanismList((CK_SLOT_ID)-1, NULL, &count), CKR_SLOT_ID_INVALID);
}
END_TEST

static CK_SESSION_HANDLE
open_session(CK_SLOT_ID slot)
{
    CK_SESSION_HANDLE session = 0;

    ck_assert_rv_ok(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session));
    return session;
}

START_TEST(test_module_sessions_route_and_close_all_closes_one_slot)
{
    CK_SLOT_ID a, b;
    CK_SESSION_HANDLE a1, a2, b1;
    CK_SESSION_INFO info;

    ck_assert_rv_ok(p11->C_Initialize(NULL));
    a = slot_by_label("mock-a-1");
    b = slot_by_label("mock-b-1");
    ck_assert_rv(p11->C_OpenSession(a, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
    a1 = open_session(a);
    a2 = open_session(a);
    b1 = open_session(b);
    /* p11mux's handles, never the mock's (0x1000 + 7n) */
    ck_assert_uint_lt(a1 & 0xfffff, 0x1000);
    ck_assert_rv_ok(p11->C_GetSessionInfo(a2, &info));
    ck_assert_uint_eq(info.slotID, a);
    ck_assert_rv_ok(p11->C_GetSessionInfo(b1, &info));
    ck_assert_uint_eq(info.slotID, b);
    ck_assert_rv_ok(p11->C_CloseAllSessions(a));
    ck_assert_rv(p11->C_GetSessionInfo(a1, &info), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv(p11->C_GetSessionInfo(a2, &info), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv_ok(p11->C_GetSessionInfo(b1, &info));
    ck_assert_rv_ok(p11->C_CloseSession(b1));
    ck_assert_rv(p11->C_CloseSession(b1), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv(p11->C_GetSessionInfo(0, &info), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv(p11->C_GetSessionInfo(b1 | (G_GUINT64_CONSTANT(1) << 40), &info),
                 CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv(p11->C_GetFunctionStatus(b1), CKR_SESSION_HANDLE_INVALID);
}
END_TEST

START_TEST(test_module_legacy_functions_say_not_parallel)
{
    CK_SESSION_HANDLE s;

    ck_assert_rv_ok(p11->C_Initialize(NULL));
    s = open_session(slot_by_label("mock-a-1"));
    ck_assert_rv(p11->C_GetFunctionStatus(s), CKR_FUNCTION_NOT_PARALLEL);
    ck_assert_rv(p11->C_CancelFunction(s), CKR_FUNCTION_NOT_PARALLEL);
}
END_TEST

/* SHA-256("abc") */
static const CK_BYTE abc_sha256[32] = {
    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
};

START_TEST(test_module_digest_keeps_the_length_protocol)
{
    CK_MECHANISM mechanism = {CKM_SHA256, NULL, 0};
    CK_BYTE data[] = "abc";
    CK_BYTE digest[32];
    CK_ULONG length = 0;
    CK_SESSION_HANDLE s;

    ck_assert_rv_ok(p11->C_Initialize(NULL));
    s = open_session(slot_by_label("mock-b-1"));
    ck_assert_rv_ok(p11->C_DigestInit(s, &mechanism));
    ck_assert_rv_ok(p11->C_Digest(s, data, 3, NULL, &length));
    ck_assert_uint_eq(length, 32);
    length = 16;
    ck_assert_rv(p11->C_Digest(s, data, 3, digest, &length), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(length, 32);
    /* the operation is still active */
    ck_assert_rv_ok(p11->C_Digest(s, data, 3, digest, &length));
    ck_assert_uint_eq(length, 32);
    ck_assert_int_eq(memcmp(digest, abc_sha256, 32), 0);
    /* and now it is finished */
    ck_assert_rv(p11->C_Digest(s, data, 3, digest, &length), CKR_OPERATION_NOT_INITIALIZED);
}
END_TEST

START_TEST(test_module_missing_backend_function_is_not_supported)
{
    CK_SESSION_HANDLE s;

    ck_assert_rv_ok(p11->C_Initialize(NULL));
    s = open_session(slot_by_label("mock-a-1"));
    ck_assert_rv(p11->C_DigestKey(s, 1), CKR_FUNCTION_NOT_SUPPORTED);
}
END_TEST

START_TEST(test_module_interfaces_follow_the_3_0_rules)
{
    CK_INTERFACE list[4];
    CK_ULONG count = 0;
    CK_INTERFACE_PTR interface = NULL;
    CK_VERSION v240 = {2, 40}, v31 = {3, 1};
    CK_FUNCTION_LIST_3_0_PTR f3;
    CK_INFO info;
    CK_SESSION_HANDLE a, b;

    ck_assert_rv(get_interface_list(list, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv_ok(get_interface_list(NULL, &count));
    ck_assert_uint_eq(count, 3);
    count = 1;
    ck_assert_rv(get_interface_list(list, &count), CKR_BUFFER_TOO_SMALL);
    count = G_N_ELEMENTS(list);
    ck_assert_rv_ok(get_interface_list(list, &count));
    ck_assert_str_eq((const char *)list[0].pInterfaceName, "PKCS 11");
    ck_assert_rv(get_interface(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
    ck_assert_rv(get_interface((CK_UTF8CHAR_PTR) "Vendor", NULL, &interface, 0),
                 CKR_FUNCTION_FAILED);
    ck_assert_rv(get_interface(NULL, &v31, &interface, 0), CKR_FUNCTION_FAILED);
    ck_assert_rv(get_interface(NULL, NULL, &interface, CKF_INTERFACE_FORK_SAFE),
                 CKR_FUNCTION_FAILED);
    ck_assert_rv_ok(get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &interface, 0));
    ck_assert_ptr_eq(interface->pFunctionList, p11);
    ck_assert_rv_ok(get_interface(NULL, NULL, &interface, 0));
    f3 = interface->pFunctionList;
    ck_assert_uint_eq(f3->version.major, 3);
    ck_assert_rv_ok(f3->C_Initialize(NULL));
    ck_assert_rv_ok(f3->C_GetInfo(&info));
    ck_assert_uint_eq(info.cryptokiVersion.major, 3);
    a = open_session(slot_by_label("mock-a-1"));
    b = open_session(slot_by_label("mock-b-1"));
    /* a 3.0 call reaches the 3.0 mock; the 2.40 mock cannot take it */
    ck_assert_rv_ok(f3->C_SessionCancel(a, 0));
    ck_assert_rv(f3->C_SessionCancel(b, 0), CKR_FUNCTION_NOT_SUPPORTED);
}
END_TEST

/* 3.2: offered by default with every entry set, 3.0 on request; a 3.2
 * function routed to a backend that offers 3.0 (mock a) or 2.40 (mock b)
 * answers CKR_FUNCTION_NOT_SUPPORTED from p11mux's stub. */
START_TEST(test_module_interfaces_3_2)
{
    CK_INTERFACE_PTR interface = NULL;
    CK_VERSION v30 = {3, 0}, v32 = {3, 2};
    CK_FUNCTION_LIST_3_2_PTR f32;
    CK_MECHANISM kem = {CKM_ML_KEM, NULL, 0};
    CK_BYTE ciphertext[64];
    CK_ULONG len = sizeof ciphertext;
    CK_OBJECT_HANDLE key = 0;
    CK_INFO info;
    CK_SESSION_HANDLE a, b;
    void *const *entry;

    ck_assert_rv_ok(get_interface(NULL, NULL, &interface, 0));
    f32 = interface->pFunctionList;
    ck_assert_uint_eq(f32->version.major, 3);
    ck_assert_uint_eq(f32->version.minor, 2);
    entry = (void *const *)&f32->C_Initialize;
    for (gsize i = 0; i < (sizeof *f32 - G_STRUCT_OFFSET(CK_FUNCTION_LIST_3_2, C_Initialize)) /
                             sizeof(void *);
         i++) {
        ck_assert_msg(entry[i] != NULL, "entry %zu of the 3.2 list is NULL", i);
    }
    ck_assert_ptr_nonnull(f32->C_UnwrapKeyAuthenticated);
    ck_assert_rv_ok(get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v32, &interface, 0));
    ck_assert_ptr_eq(interface->pFunctionList, f32);
    ck_assert_rv_ok(get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &interface, 0));
    ck_assert_uint_eq(((CK_FUNCTION_LIST_3_0 *)interface->pFunctionList)->version.major, 3);
    ck_assert_uint_eq(((CK_FUNCTION_LIST_3_0 *)interface->pFunctionList)->version.minor, 0);
    ck_assert_rv_ok(f32->C_Initialize(NULL));
    ck_assert_rv_ok(f32->C_GetInfo(&info));
    ck_assert_uint_eq(info.cryptokiVersion.minor, 2);
    a = open_session(slot_by_label("mock-a-1"));
    b = open_session(slot_by_label("mock-b-1"));
    ck_assert_rv(f32->C_EncapsulateKey(a, &kem, 1, NULL, 0, ciphertext, &len, &key),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(f32->C_VerifySignatureFinal(a), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(f32->C_VerifySignatureFinal(b), CKR_FUNCTION_NOT_SUPPORTED);
}
END_TEST

/* Every entry of a list p11mux hands out is set, as far as its version goes. */
static void
assert_list_complete(const CK_FUNCTION_LIST *list, const char *where)
{
    void *const *entry = (void *const *)&list->C_Initialize;
    gsize size = sizeof(CK_FUNCTION_LIST);

    if (list->version.major == 3 && list->version.minor == 0) {
        size = sizeof(CK_FUNCTION_LIST_3_0);
    } else if (list->version.major == 3 && list->version.minor == 2) {
        size = sizeof(CK_FUNCTION_LIST_3_2);
    } else {
        ck_assert_msg(list->version.major == 2 && list->version.minor == 40, "%s: version %u.%u",
                      where, list->version.major, list->version.minor);
    }
    for (gsize i = 0; i < (size - G_STRUCT_OFFSET(CK_FUNCTION_LIST, C_Initialize)) / sizeof(void *);
         i++) {
        ck_assert_msg(entry[i] != NULL, "%s: entry %zu of the %u.%u list is NULL", where, i,
                      list->version.major, list->version.minor);
    }
}

START_TEST(test_module_every_list_is_complete)
{
    static const CK_VERSION versions[] = {{2, 40}, {3, 0}, {3, 2}};
    CK_INTERFACE list[4];
    CK_ULONG count = G_N_ELEMENTS(list);
    CK_INTERFACE_PTR interface = NULL;
    CK_FUNCTION_LIST_PTR plain = NULL;
    CK_C_GetFunctionList get_function_list =
        (CK_C_GetFunctionList)dlsym(p11mux_dl, "C_GetFunctionList");

    ck_assert_rv_ok(get_function_list(&plain));
    assert_list_complete(plain, "C_GetFunctionList");
    ck_assert_uint_eq(plain->version.minor, 40);
    ck_assert_rv_ok(get_interface(NULL, NULL, &interface, 0));
    assert_list_complete(interface->pFunctionList, "C_GetInterface default");
    for (gsize i = 0; i < G_N_ELEMENTS(versions); i++) {
        CK_VERSION v = versions[i];
        const CK_FUNCTION_LIST *got;

        ck_assert_rv_ok(get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v, &interface, 0));
        got = interface->pFunctionList;
        ck_assert_uint_eq(got->version.major, v.major);
        ck_assert_uint_eq(got->version.minor, v.minor);
        assert_list_complete(got, "C_GetInterface");
    }
    ck_assert_rv_ok(get_interface_list(list, &count));
    ck_assert_uint_eq(count, 3);
    for (gsize i = 0; i < count; i++) {
        assert_list_complete(list[i].pFunctionList, "C_GetInterfaceList");
    }
}
END_TEST

static CK_FUNCTION_LIST_3_2_PTR
initialize_v32(void)
{
    CK_INTERFACE_PTR interface = NULL;
    CK_FUNCTION_LIST_3_2_PTR f32;

    g_setenv("P11MUX_CONF", v32_conf, TRUE);
    ck_assert_rv_ok(get_interface(NULL, NULL, &interface, 0));
    f32 = interface->pFunctionList;
    ck_assert_uint_eq(f32->version.minor, 2);
    ck_assert_rv_ok(f32->C_Initialize(NULL));
    return f32;
}

static CK_ULONG
mock_d_calls(const char *function)
{
    MockControlCallCount count = (MockControlCallCount)dlsym(mock_d_dl, "mock_control_call_count");

    ck_assert_ptr_nonnull(count);
    return count(function);
}

static void
mock_d_fail(const char *rules)
{
    MockControlSetFailures set =
        (MockControlSetFailures)dlsym(mock_d_dl, "mock_control_set_failures");

    ck_assert_ptr_nonnull(set);
    ck_assert_rv_ok(set(rules));
}

/* A KEM round trip and a signature-first verification through p11mux reach
 * the 3.2 backend, with its answers and outputs. */
START_TEST(test_module_3_2_calls_reach_a_3_2_backend)
{
    CK_FUNCTION_LIST_3_2_PTR f32 = initialize_v32();
    CK_MECHANISM kem = {CKM_ML_KEM, NULL, 0}, sha = {CKM_SHA256, NULL, 0};
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, NULL, 0}};
    CK_BYTE ciphertext[64], expected[32], signature[16] = {0}, sent[32], received[32];
    CK_ATTRIBUTE value[] = {{CKA_VALUE, sent, sizeof sent}};
    CK_ULONG len = 0;
    CK_OBJECT_HANDLE key = 0, other = 0;
    CK_SESSION_HANDLE s = open_session(slot_by_label("mock-d-1"));
    CK_ULONG before = mock_d_calls("C_VerifySignature");

    ck_assert_rv_ok(f32->C_EncapsulateKey(s, &kem, KEM_PUBLIC, tmpl, 0, NULL, &len, &key));
    ck_assert_uint_eq(len, 32);
    len = 8;
    ck_assert_rv(f32->C_EncapsulateKey(s, &kem, KEM_PUBLIC, tmpl, 0, ciphertext, &len, &key),
                 CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(len, 32);
    len = sizeof ciphertext;
    ck_assert_rv_ok(f32->C_EncapsulateKey(s, &kem, KEM_PUBLIC, tmpl, 0, ciphertext, &len, &key));
    memset(expected, 0x4b, sizeof expected);
    ck_assert_uint_eq(len, 32);
    ck_assert_mem_eq(ciphertext, expected, 32);
    ck_assert_rv(f32->C_EncapsulateKey(s, &sha, KEM_PUBLIC, tmpl, 0, ciphertext, &len, &other),
                 CKR_MECHANISM_INVALID);
    ck_assert_rv(f32->C_EncapsulateKey(s, &kem, KEM_PRIVATE, tmpl, 0, ciphertext, &len, &other),
                 CKR_KEY_TYPE_INCONSISTENT);
    ck_assert_rv_ok(f32->C_DecapsulateKey(s, &kem, KEM_PRIVATE, tmpl, 0, ciphertext, len, &other));
    ck_assert_uint_ne(other, CK_INVALID_HANDLE);
    ck_assert_uint_ne(other, key);
    /* both sides hold the same secret */
    ck_assert_rv_ok(f32->C_GetAttributeValue(s, key, value, 1));
    value[0].pValue = received;
    ck_assert_rv_ok(f32->C_GetAttributeValue(s, other, value, 1));
    ck_assert_mem_eq(sent, received, sizeof sent);
    ck_assert_rv(f32->C_DecapsulateKey(s, &kem, KEM_PRIVATE, tmpl, 0, ciphertext, len - 1, &other),
                 CKR_ENCRYPTED_DATA_LEN_RANGE);
    ck_assert_rv_ok(f32->C_VerifySignatureInit(s, &sha, 3, signature, sizeof signature));
    ck_assert_rv_ok(f32->C_VerifySignature(s, (CK_BYTE_PTR) "abc", 3));
    ck_assert_uint_eq(mock_d_calls("C_VerifySignature"), before + 1);
    ck_assert_rv_ok(f32->C_VerifySignatureUpdate(s, (CK_BYTE_PTR) "abc", 3));
    ck_assert_rv_ok(f32->C_VerifySignatureFinal(s));
}
END_TEST

/* A 3.2 backend is used for what its list fills: a hole answers
 * CKR_FUNCTION_NOT_SUPPORTED, the entries around it work. */
START_TEST(test_module_3_2_holes_answer_not_supported)
{
    CK_FUNCTION_LIST_3_2_PTR f32 = initialize_v32();
    CK_MECHANISM kem = {CKM_ML_KEM, NULL, 0};
    CK_BYTE buffer[32] = {0};
    CK_ULONG len = sizeof buffer;
    CK_FLAGS flags = 0;
    CK_OBJECT_HANDLE key = 0;
    CK_SESSION_HANDLE e = open_session(slot_by_label("mock-e-1"));

    ck_assert_rv(f32->C_EncapsulateKey(e, &kem, KEM_PUBLIC, NULL, 0, buffer, &len, &key),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(f32->C_VerifySignature(e, buffer, 3), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(f32->C_GetSessionValidationFlags(e, CKS_LAST_VALIDATION_OK, &flags),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(f32->C_UnwrapKeyAuthenticated(e, &kem, 1, buffer, 16, NULL, 0, buffer, 4, &key),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(f32->C_MessageSignInit(e, &kem, 1), CKR_FUNCTION_NOT_SUPPORTED);
    /* filled entries of the same list */
    ck_assert_rv_ok(f32->C_DecapsulateKey(e, &kem, KEM_PRIVATE, NULL, 0, buffer, 32, &key));
    ck_assert_rv_ok(f32->C_VerifySignatureFinal(e));
}
END_TEST

/* Asynchronous sessions are not forwarded: refused at C_OpenSession before
 * the backend, not advertised by C_GetTokenInfo, the C_Async* functions not
 * supported, and a backend's CKR_PENDING on a session p11mux opened is
 * CKR_GENERAL_ERROR. */
START_TEST(test_module_async_sessions_are_not_forwarded)
{
    CK_FUNCTION_LIST_3_2_PTR f32 = initialize_v32();
    CK_FUNCTION_LIST_PTR mock = NULL;
    CK_C_GetFunctionList mock_list = (CK_C_GetFunctionList)dlsym(mock_d_dl, "C_GetFunctionList");
    CK_SLOT_ID d = slot_by_label("mock-d-1");
    CK_TOKEN_INFO info;
    CK_SESSION_HANDLE s = 0;
    CK_ASYNC_DATA result = {0};
    CK_ULONG id = 0, opened;
    CK_BYTE data[8];

    /* the backend offers them ... */
    ck_assert_rv_ok(mock_list(&mock));
    ck_assert_rv_ok(mock->C_GetTokenInfo(7, &info));
    ck_assert_uint_ne(info.flags & CKF_ASYNC_SESSION_SUPPORTED, 0);
    /* ... p11mux does not */
    ck_assert_rv_ok(f32->C_GetTokenInfo(d, &info));
    ck_assert_uint_eq(info.flags & CKF_ASYNC_SESSION_SUPPORTED, 0);
    ck_assert_uint_ne(info.flags & CKF_TOKEN_INITIALIZED, 0);
    opened = mock_d_calls("C_OpenSession");
    ck_assert_rv(f32->C_OpenSession(d, CKF_SERIAL_SESSION | CKF_ASYNC_SESSION, NULL, NULL, &s),
                 CKR_SESSION_ASYNC_NOT_SUPPORTED);
    ck_assert_uint_eq(s, 0);
    ck_assert_uint_eq(mock_d_calls("C_OpenSession"), opened);

    s = open_session(d);
    ck_assert_rv(f32->C_AsyncComplete(s, (CK_UTF8CHAR_PTR) "C_Sign", &result),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(f32->C_AsyncGetID(s, (CK_UTF8CHAR_PTR) "C_Sign", &id), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(f32->C_AsyncJoin(s, (CK_UTF8CHAR_PTR) "C_Sign", 1, data, sizeof data),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(f32->C_AsyncComplete(0, (CK_UTF8CHAR_PTR) "C_Sign", &result),
                 CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv(f32->C_AsyncGetID(s, NULL, &id), CKR_ARGUMENTS_BAD);
    ck_assert_uint_eq(mock_d_calls("C_AsyncComplete") + mock_d_calls("C_AsyncGetID") +
                          mock_d_calls("C_AsyncJoin"),
                      0);

    /* a backend answering CKR_PENDING anyway: generated and hand-written paths */
    mock_d_fail("C_VerifySignatureUpdate:CKR_PENDING C_CloseSession:CKR_PENDING:1");
    ck_assert_rv(f32->C_VerifySignatureUpdate(s, data, 3), CKR_GENERAL_ERROR);
    ck_assert_rv(f32->C_CloseSession(s), CKR_GENERAL_ERROR);
    mock_d_fail("");
    ck_assert_rv_ok(f32->C_CloseSession(s));
    ck_assert_rv_ok(f32->C_Finalize(NULL));

    /* the same on the stepped path (a trace on takes every call there) */
    {
        g_autofree char *text = NULL;
        g_autofree char *with_trace = NULL;
        g_autofree char *traced = path_in_tmp("v32-traced.conf");

        ck_assert(g_file_get_contents(v32_conf, &text, NULL, NULL));
        ck_assert(g_str_has_prefix(text, "[global]\n"));
        with_trace = g_strdup_printf("[global]\ntrace = file:/dev/null\n%s",
                                     text + strlen("[global]\n"));
        write_file("v32-traced.conf", with_trace);
        g_setenv("P11MUX_CONF", traced, TRUE);
        ck_assert_rv_ok(f32->C_Initialize(NULL));
        d = slot_by_label("mock-d-1");
        s = open_session(d);
        mock_d_fail("C_VerifySignatureUpdate:CKR_PENDING");
        ck_assert_rv(f32->C_VerifySignatureUpdate(s, data, 3), CKR_GENERAL_ERROR);
        mock_d_fail("");
        ck_assert_rv_ok(f32->C_CloseSession(s));
    }
}
END_TEST

START_TEST(test_module_failing_backend_is_skipped_unless_critical)
{
    const char *with_c[] = {"a", "c", NULL};
    const char *with_critical_c[] = {"a", "c:critical", NULL};
    g_autofree char *skip = write_p11mux_conf("skip.conf", with_c);
    g_autofree char *critical = write_p11mux_conf("critical.conf", with_critical_c);
    CK_ULONG count = 0;

    g_setenv("P11MUX_CONF", skip, TRUE);
    ck_assert_rv_ok(p11->C_Initialize(NULL));
    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, NULL, &count));
    ck_assert_uint_eq(count, 2);
    ck_assert_rv_ok(p11->C_Finalize(NULL));
    g_setenv("P11MUX_CONF", critical, TRUE);
    ck_assert_rv(p11->C_Initialize(NULL), CKR_GENERAL_ERROR);
    ck_assert_rv(p11->C_GetSlotList(CK_FALSE, NULL, &count), CKR_CRYPTOKI_NOT_INITIALIZED);
    /* nothing half-loaded stays behind: the good configuration works again */
    g_setenv("P11MUX_CONF", good_conf, TRUE);
    ck_assert_rv_ok(p11->C_Initialize(NULL));
    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, NULL, &count));
    ck_assert_uint_eq(count, 3);
}
END_TEST

START_TEST(test_module_malformed_config_is_refused_whole)
{
    g_autofree char *bad = NULL;
    CK_ULONG count;

    write_file("bad.conf",
               "[global]\nuser-config = none\n[backend x]\nmodule = /x.so\nbogus = 1\n");
    bad = path_in_tmp("bad.conf");
    g_setenv("P11MUX_CONF", bad, TRUE);
    ck_assert_rv(p11->C_Initialize(NULL), CKR_GENERAL_ERROR);
    ck_assert_rv(p11->C_GetSlotList(CK_FALSE, NULL, &count), CKR_CRYPTOKI_NOT_INITIALIZED);
}
END_TEST

START_TEST(test_module_survives_initialize_finalize_cycles)
{
    guint i;
    CK_SESSION_HANDLE s;

    for (i = 0; i < 100; i++) {
        ck_assert_rv_ok(p11->C_Initialize(NULL));
        s = open_session(slot_by_label("mock-a-1"));
        (void)s;
        ck_assert_rv_ok(p11->C_Finalize(NULL));
    }
}
END_TEST

START_TEST(test_module_child_after_fork_must_initialize_again)
{
    CK_ULONG count;
    CK_RV rv;
    int status;
    pid_t pid;

    ck_assert_rv_ok(p11->C_Initialize(NULL));
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (p11->C_GetSlotList(CK_FALSE, NULL, &count) != CKR_CRYPTOKI_NOT_INITIALIZED) {
            _exit(1);
        }
        if (p11->C_Initialize(NULL) != CKR_OK) {
            _exit(2);
        }
        rv = p11->C_GetSlotList(CK_FALSE, NULL, &count);
        if (rv != CKR_OK || count != 3) {
            fprintf(stderr, "child: C_GetSlotList gave 0x%lx, %lu slots\n", (unsigned long)rv,
                    (unsigned long)count);
            _exit(3);
        }
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    /* the parent is unaffected */
    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, NULL, &count));
}
END_TEST

static Suite *
module_suite(void)
{
    Suite *s = suite_create("module");
    TCase *tc = tcase_create("mock");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_module_calls_before_initialize_are_refused);
    tcase_add_test(tc, test_module_initialize_args_are_checked);
    tcase_add_test(tc, test_module_config_in_reserved_is_read_without_environment);
    tcase_add_test(tc, test_module_get_info_describes_p11mux);
    tcase_add_test(tc, test_module_slot_list_follows_the_length_protocol);
    tcase_add_test(tc, test_module_slot_ids_are_stable_across_restarts);
    tcase_add_test(tc, test_module_slot_functions_route_by_slot);
    tcase_add_test(tc, test_module_sessions_route_and_close_all_closes_one_slot);
    tcase_add_test(tc, test_module_legacy_functions_say_not_parallel);
    tcase_add_test(tc, test_module_digest_keeps_the_length_protocol);
    tcase_add_test(tc, test_module_missing_backend_function_is_not_supported);
    tcase_add_test(tc, test_module_interfaces_follow_the_3_0_rules);
    tcase_add_test(tc, test_module_interfaces_3_2);
    tcase_add_test(tc, test_module_every_list_is_complete);
    tcase_add_test(tc, test_module_3_2_calls_reach_a_3_2_backend);
    tcase_add_test(tc, test_module_3_2_holes_answer_not_supported);
    tcase_add_test(tc, test_module_async_sessions_are_not_forwarded);
    tcase_add_test(tc, test_module_failing_backend_is_skipped_unless_critical);
    tcase_add_test(tc, test_module_malformed_config_is_refused_whole);
    tcase_add_test(tc, test_module_survives_initialize_finalize_cycles);
    tcase_add_test(tc, test_module_child_after_fork_must_initialize_again);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    /* one process: the module stays loaded and each test must finalise */
    return fixture_run_suite(module_suite());
}
