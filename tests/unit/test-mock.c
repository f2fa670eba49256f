/*
 * Direct tests of the mock PKCS #11 backend (tests/mock): copies of the
 * built module under different names are independent instances, each
 * finding its own configuration; interface modes, scripted failures, slot
 * events and the buffer-length protocols behave as PKCS #11 says.
 */
#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "p11mux-pkcs11.h"
#include "mock-control.h"
#include "scratch.h"

#define MOCK_CKM_XOR (CKM_VENDOR_DEFINED + 1UL)

static char *tmpdir;
static GPtrArray *handles; /* dlopen handles, closed in teardown */

/* ------------------------------------------------------------- helpers */

static const struct {
    CK_RV rv;
    const char *name;
} rv_names[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_NO_EVENT, "CKR_NO_EVENT"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_SESSION_PARALLEL_NOT_SUPPORTED, "CKR_SESSION_PARALLEL_NOT_SUPPORTED"},
    {CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
};

static const char *
rv_name(CK_RV rv)
{
    static char hex[32];
    gsize i;

    for (i = 0; i < G_N_ELEMENTS(rv_names); i++) {
        if (rv_names[i].rv == rv) {
            return rv_names[i].name;
        }
    }
    g_snprintf(hex, sizeof hex, "0x%lx", rv);
    return hex;
}

#define ck_assert_rv(got, want)                                                                    \
    do {                                                                                           \
        CK_RV got_ = (got);                                                                        \
        CK_RV want_ = (want);                                                                      \
        ck_assert_msg(got_ == want_, "%s: got %s, want %s", #got, rv_name(got_), rv_name(want_));  \
    } while (0)

static void
setup(void)
{
    tmpdir = g_dir_make_tmp("test-mock-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmpdir);
    handles = g_ptr_array_new();
}

static void
teardown(void)
{
    guint i;

    for (i = 0; i < handles->len; i++) {
        dlclose(g_ptr_array_index(handles, i));
    }
    g_ptr_array_unref(handles);
    scratch_remove_tree(tmpdir);
    g_free(tmpdir);
}

static char *
built_module(void)
{
    const char *top = g_getenv("top_builddir");

    return g_build_filename(top != NULL ? top : ".", "tests", "mock", ".libs", "libp11mux-mock.so",
                            NULL);
}

/* transfer full: tmpdir/name.ext */
static char *
temp_path(const char *name, const char *ext)
{
    g_autofree char *file = g_strconcat(name, ext, NULL);

    return g_build_filename(tmpdir, file, NULL);
}

static void
write_file(const char *path, const char *text)
{
    ck_assert_msg(g_file_set_contents(path, text, -1, NULL), "cannot write %s", path);
}

/* Copy the module to tmpdir/name.so, with name.conf next to it unless NULL. */
static void *
load_copy(const char *name, const char *conf)
{
    g_autofree char *src = built_module();
    g_autofree char *dst = temp_path(name, ".so");
    g_autofree char *contents = NULL;
    gsize len;
    void *handle;

    ck_assert_msg(g_file_get_contents(src, &contents, &len, NULL), "no module at %s", src);
    ck_assert(g_file_set_contents(dst, contents, (gssize)len, NULL));
    if (conf != NULL) {
        g_autofree char *conf_path = temp_path(name, ".conf");

        write_file(conf_path, conf);
    }
    handle = dlopen(dst, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(handle != NULL, "dlopen %s: %s", dst, dlerror());
    g_ptr_array_add(handles, handle);
    return handle;
}

static CK_FUNCTION_LIST_PTR
function_list(void *handle)
{
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(handle, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR list = NULL;

    ck_assert_ptr_nonnull(get);
    ck_assert_rv(get(&list), CKR_OK);
    return list;
}

/* Load, initialise, and open a R/W session on slot. */
static CK_FUNCTION_LIST_PTR
start(void *handle, CK_SLOT_ID slot, CK_SESSION_HANDLE *session)
{
    CK_FUNCTION_LIST_PTR f = function_list(handle);

    ck_assert_rv(f->C_Initialize(NULL), CKR_OK);
    if (session != NULL) {
        ck_assert_rv(
            f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, session),
            CKR_OK);
    }
    return f;
}

static gpointer
control(void *handle, const char *name)
{
    gpointer fn = dlsym(handle, name);

    ck_assert_msg(fn != NULL, "no %s", name);
    return fn;
}

/* --------------------------------------------------------------- tests */

START_TEST(test_mock_instances_independent)
{
    void *a = load_copy("mock-a", "[slot 1]\n[slot 1234567890]\n");
    void *b = load_copy("mock-b", NULL);
    CK_SESSION_HANDLE sa;
    CK_FUNCTION_LIST_PTR fa = start(a, 1234567890, &sa);
    CK_FUNCTION_LIST_PTR fb = start(b, 1, NULL);
    MockControlOpenSessions open_a = control(a, "mock_control_open_sessions");
    MockControlOpenSessions open_b = control(b, "mock_control_open_sessions");
    CK_SLOT_ID slots[4];
    CK_ULONG n = G_N_ELEMENTS(slots);

    ck_assert_ptr_ne(fa, fb);
    ck_assert_uint_eq(open_a(), 1);
    ck_assert_uint_eq(open_b(), 0);
    ck_assert_rv(fa->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(slots[1], 1234567890);
    n = G_N_ELEMENTS(slots);
    ck_assert_rv(fb->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_rv(fb->C_CloseSession(sa), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv(fb->C_Finalize(NULL), CKR_OK);
    ck_assert_rv(fa->C_CloseSession(sa), CKR_OK);
    ck_assert_uint_eq(open_a(), 0);
}
END_TEST

START_TEST(test_mock_config_found)
{
    void *a = load_copy("mock-a", "[mock]\nmanufacturer = Next to A\n[slot 5]\n");
    void *c = load_copy("mock-c", NULL);
    g_autofree char *reserved_conf = temp_path("elsewhere", ".conf");
    g_autofree char *reserved = NULL;
    CK_FUNCTION_LIST_PTR fa = start(a, 0, NULL);
    CK_FUNCTION_LIST_PTR fc = function_list(c);
    CK_C_INITIALIZE_ARGS args = {0};
    CK_INFO info;
    CK_TOKEN_INFO token;

    ck_assert_rv(fa->C_GetInfo(&info), CKR_OK);
    ck_assert(memcmp(info.manufacturerID, "Next to A ", 10) == 0);
    ck_assert_rv(fa->C_GetTokenInfo(5, &token), CKR_OK);
    ck_assert(memcmp(token.label, "mock-token-5 ", 13) == 0);
    /* config= in pReserved, among other words */
    write_file(reserved_conf, "[slot 7]\ntoken-label = from-reserved\n");
    reserved = g_strdup_printf("flags= config=%s other=1", reserved_conf);
    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = reserved;
    ck_assert_rv(fc->C_Initialize(&args), CKR_OK);
    ck_assert_rv(fc->C_GetTokenInfo(7, &token), CKR_OK);
    ck_assert(memcmp(token.label, "from-reserved ", 14) == 0);
    ck_assert_rv(fc->C_GetTokenInfo(1, &token), CKR_SLOT_ID_INVALID);
}
END_TEST

START_TEST(test_mock_config_from_environment)
{
    g_autofree char *env_conf = temp_path("env", ".conf");
    void *d;
    CK_TOKEN_INFO token;

    write_file(env_conf, "[slot 3]\ntoken-label = from-env\n");
    g_setenv("P11MUX_MOCK_CONF", env_conf, TRUE);
    d = load_copy("mock-d", NULL);
    ck_assert_rv(start(d, 0, NULL)->C_GetTokenInfo(3, &token), CKR_OK);
    ck_assert(memcmp(token.label, "from-env ", 9) == 0);
    g_unsetenv("P11MUX_MOCK_CONF");
}
END_TEST

START_TEST(test_mock_interface_modes)
{
    void *a = load_copy("mock-a", "[mock]\ninterface = 3.0\n[slot 1]\n");
    void *b = load_copy("mock-b", "[mock]\ninterface = 2.40\n[slot 1]\n");
    CK_C_GetInterface get_a = (CK_C_GetInterface)control(a, "C_GetInterface");
    CK_C_GetInterface get_b = (CK_C_GetInterface)control(b, "C_GetInterface");
    CK_C_GetInterfaceList list_a = (CK_C_GetInterfaceList)control(a, "C_GetInterfaceList");
    CK_C_GetInterfaceList list_b = (CK_C_GetInterfaceList)control(b, "C_GetInterfaceList");
    CK_VERSION v240 = {2, 40};
    CK_INTERFACE_PTR iface = NULL;
    CK_INTERFACE all[2];
    CK_ULONG n = 0;
    CK_INFO info;

    ck_assert_rv(get_a(NULL, NULL, &iface, 0), CKR_OK);
    ck_assert_str_eq((const char *)iface->pInterfaceName, "PKCS 11");
    ck_assert_uint_eq(((CK_FUNCTION_LIST_3_0 *)iface->pFunctionList)->version.major, 3);
    ck_assert_rv(get_a((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &iface, 0), CKR_OK);
    ck_assert_uint_eq(((CK_FUNCTION_LIST *)iface->pFunctionList)->version.minor, 40);
    ck_assert_rv(get_a(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
    ck_assert_rv(get_a((CK_UTF8CHAR_PTR) "Vendor", NULL, &iface, 0), CKR_ARGUMENTS_BAD);
    ck_assert_rv(list_a(NULL, &n), CKR_OK);
    ck_assert_uint_eq(n, 2);
    n = 1;
    ck_assert_rv(list_a(all, &n), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 2);
    ck_assert_rv(list_a(all, &n), CKR_OK);
    ck_assert_rv(get_b(NULL, NULL, &iface, 0), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(list_b(NULL, &n), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(start(b, 0, NULL)->C_GetInfo(&info), CKR_OK);
    ck_assert_uint_eq(info.cryptokiVersion.minor, 40);
}
END_TEST

START_TEST(test_mock_scripted_failure_nth)
{
    void *a = load_copy("mock-a", "[mock]\n"
                                  "fail = C_Initialize:CKR_DEVICE_ERROR:1 "
                                  "C_GetSlotList:CKR_DEVICE_ERROR:2 C_GetInfo:0x30:2+\n"
                                  "[slot 1]\n");
    CK_FUNCTION_LIST_PTR f = function_list(a);
    MockControlCallCount calls = control(a, "mock_control_call_count");
    CK_ULONG n;
    CK_INFO info;

    ck_assert_rv(f->C_Initialize(NULL), CKR_DEVICE_ERROR);
    ck_assert_rv(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(f->C_Initialize(NULL), CKR_OK);
    ck_assert_rv(f->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    ck_assert_rv(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_DEVICE_ERROR);
    ck_assert_rv(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
    ck_assert_rv(f->C_GetInfo(&info), CKR_OK);
    ck_assert_rv(f->C_GetInfo(&info), CKR_DEVICE_ERROR);
    ck_assert_rv(f->C_GetInfo(&info), CKR_DEVICE_ERROR);
    ck_assert_uint_eq(calls("C_Initialize"), 3);
    ck_assert_uint_eq(calls("C_GetSlotList"), 3);
    ck_assert_uint_eq(calls("C_Nonsense"), 0);
}
END_TEST

START_TEST(test_mock_null_functions)
{
    void *a = load_copy("mock-a", "[mock]\nnull-functions = C_DigestKey C_MessageSignInit\n");
    CK_C_GetInterface get = (CK_C_GetInterface)control(a, "C_GetInterface");
    CK_FUNCTION_LIST_PTR f = function_list(a);
    CK_INTERFACE_PTR iface;

    ck_assert_ptr_null(f->C_DigestKey);
    ck_assert_ptr_nonnull(f->C_Digest);
    ck_assert_rv(get(NULL, NULL, &iface, 0), CKR_OK);
    ck_assert_ptr_null(((CK_FUNCTION_LIST_3_0 *)iface->pFunctionList)->C_MessageSignInit);
    ck_assert_ptr_null(((CK_FUNCTION_LIST_3_0 *)iface->pFunctionList)->C_DigestKey);
}
END_TEST

START_TEST(test_mock_sessions_and_login)
{
    void *a = load_copy("mock-a", NULL);
    CK_SESSION_HANDLE s1;
    CK_SESSION_HANDLE s2;
    CK_FUNCTION_LIST_PTR f = start(a, 1, &s1);
    CK_SESSION_INFO info;

    ck_assert_uint_eq(s1, 0x1000);
    ck_assert_rv(f->C_OpenSession(1, CKF_RW_SESSION, NULL, NULL, &s2),
                 CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    ck_assert_rv(f->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_OK);
    ck_assert_uint_eq(s2, 0x1007);
    ck_assert_rv(f->C_Login(s1, CKU_USER, (CK_UTF8CHAR_PTR) "9999", 4), CKR_PIN_INCORRECT);
    ck_assert_rv(f->C_Logout(s1), CKR_USER_NOT_LOGGED_IN);
    ck_assert_rv(f->C_Login(s1, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4), CKR_OK);
    ck_assert_rv(f->C_Login(s2, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4), CKR_USER_ALREADY_LOGGED_IN);
    ck_assert_rv(f->C_GetSessionInfo(s2, &info), CKR_OK);
    ck_assert_uint_eq(info.state, CKS_RO_USER_FUNCTIONS);
    ck_assert_rv(f->C_GetSessionInfo(s2, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(f->C_CloseAllSessions(1), CKR_OK);
    ck_assert_rv(f->C_GetSessionInfo(s2, &info), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv(f->C_Finalize(NULL), CKR_OK);
    ck_assert_rv(f->C_GetSessionInfo(s2, &info), CKR_CRYPTOKI_NOT_INITIALIZED);
}
END_TEST

static const guint8 abc_sha256[32] = {
    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
};

START_TEST(test_mock_digest_sha256)
{
    void *a = load_copy("mock-a", NULL);
    CK_SESSION_HANDLE s;
    CK_FUNCTION_LIST_PTR f = start(a, 1, &s);
    CK_MECHANISM mech = {CKM_SHA256, NULL, 0};
    CK_BYTE out[40];
    CK_ULONG len = 0;

    ck_assert_rv(f->C_Digest(s, (CK_BYTE_PTR) "abc", 3, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(f->C_DigestInit(s, &mech), CKR_OK);
    ck_assert_rv(f->C_DigestInit(s, &mech), CKR_OPERATION_ACTIVE);
    ck_assert_rv(f->C_Digest(s, (CK_BYTE_PTR) "abc", 3, NULL, &len), CKR_OK);
    ck_assert_uint_eq(len, 32);
    len = 31;
    ck_assert_rv(f->C_Digest(s, (CK_BYTE_PTR) "abc", 3, out, &len), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(len, 32);
    len = sizeof out;
    ck_assert_rv(f->C_Digest(s, (CK_BYTE_PTR) "abc", 3, out, &len), CKR_OK);
    ck_assert_uint_eq(len, 32);
    ck_assert_mem_eq(out, abc_sha256, 32);
    ck_assert_rv(f->C_DigestUpdate(s, (CK_BYTE_PTR) "a", 1), CKR_OPERATION_NOT_INITIALIZED);
    /* multi-part */
    ck_assert_rv(f->C_DigestInit(s, &mech), CKR_OK);
    ck_assert_rv(f->C_DigestUpdate(s, (CK_BYTE_PTR) "a", 1), CKR_OK);
    ck_assert_rv(f->C_DigestUpdate(s, (CK_BYTE_PTR) "bc", 2), CKR_OK);
    len = 8;
    ck_assert_rv(f->C_DigestFinal(s, out, &len), CKR_BUFFER_TOO_SMALL);
    len = sizeof out;
    ck_assert_rv(f->C_DigestFinal(s, out, &len), CKR_OK);
    ck_assert_mem_eq(out, abc_sha256, 32);
}
END_TEST

static const char objects_conf[] = "[slot 1]\n"
                                   "[object data]\n"
                                   "slot = 1\n"
                                   "class = CKO_DATA\n"
                                   "label = public-data\n"
                                   "value-text = hello\n"
                                   "private = false\n"
                                   "[object key]\n"
                                   "slot = 1\n"
                                   "class = CKO_SECRET_KEY\n"
                                   "key-type = CKK_GENERIC_SECRET\n"
                                   "label = secret\n"
                                   "id = 0102\n"
                                   "value = 00112233445566778899aabbccddeeff\n"
                                   "sensitive = true\n";

static CK_ULONG
find_by_label(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const char *label,
              CK_OBJECT_HANDLE *found)
{
    CK_ATTRIBUTE tmpl = {CKA_LABEL, (void *)label, strlen(label)};
    CK_ULONG n = 0;

    ck_assert_rv(f->C_FindObjectsInit(s, &tmpl, 1), CKR_OK);
    ck_assert_rv(f->C_FindObjectsInit(s, &tmpl, 1), CKR_OPERATION_ACTIVE);
    ck_assert_rv(f->C_FindObjects(s, found, 1, &n), CKR_OK);
    ck_assert_rv(f->C_FindObjectsFinal(s), CKR_OK);
    return n;
}

START_TEST(test_mock_find_and_attributes)
{
    void *a = load_copy("mock-a", objects_conf);
    CK_SESSION_HANDLE s;
    CK_FUNCTION_LIST_PTR f = start(a, 1, &s);
    CK_OBJECT_HANDLE data;
    CK_OBJECT_HANDLE key;
    char label[32];
    CK_BYTE small[2];
    CK_ATTRIBUTE get[3] = {{CKA_LABEL, NULL, 0}, {CKA_VALUE, NULL, 0}, {CKA_MODULUS, NULL, 0}};

    ck_assert_uint_eq(find_by_label(f, s, "public-data", &data), 1);
    ck_assert_uint_ge(data, 0x500);
    ck_assert_uint_eq(find_by_label(f, s, "secret", &key), 0);
    ck_assert_rv(f->C_GetAttributeValue(s, data, get, 3), CKR_ATTRIBUTE_TYPE_INVALID);
    ck_assert_uint_eq(get[0].ulValueLen, strlen("public-data"));
    ck_assert_uint_eq(get[1].ulValueLen, 5);
    ck_assert_uint_eq(get[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    get[0].pValue = label;
    get[0].ulValueLen = sizeof label;
    get[1].pValue = small;
    get[1].ulValueLen = sizeof small;
    ck_assert_rv(f->C_GetAttributeValue(s, data, get, 2), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(get[0].ulValueLen, strlen("public-data"));
    ck_assert(memcmp(label, "public-data", get[0].ulValueLen) == 0);
    ck_assert_uint_eq(get[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    /* the private key appears after login; its value is sensitive */
    ck_assert_rv(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4), CKR_OK);
    ck_assert_uint_eq(find_by_label(f, s, "secret", &key), 1);
    get[1].pValue = NULL;
    ck_assert_rv(f->C_GetAttributeValue(s, key, &get[1], 1), CKR_ATTRIBUTE_SENSITIVE);
    ck_assert_uint_eq(get[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    ck_assert_rv(f->C_GetAttributeValue(s, 0x4ff, get, 1), CKR_OBJECT_HANDLE_INVALID);
}
END_TEST

START_TEST(test_mock_hmac_and_xor)
{
    void *a = load_copy("mock-a", objects_conf);
    CK_SESSION_HANDLE s;
    CK_FUNCTION_LIST_PTR f = start(a, 1, &s);
    static const guint8 key_bytes[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                         0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    g_autoptr(GHmac) hmac = g_hmac_new(G_CHECKSUM_SHA256, key_bytes, sizeof key_bytes);
    CK_MECHANISM sign = {CKM_SHA256_HMAC, NULL, 0};
    CK_MECHANISM toy = {MOCK_CKM_XOR, NULL, 0};
    CK_OBJECT_HANDLE key;
    guint8 want[32];
    gsize want_len = sizeof want;
    CK_BYTE mac[32];
    CK_BYTE text[5];
    CK_ULONG len = sizeof mac;

    ck_assert_rv(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4), CKR_OK);
    ck_assert_uint_eq(find_by_label(f, s, "secret", &key), 1);
    g_hmac_update(hmac, (const guchar *)"data", 4);
    g_hmac_get_digest(hmac, want, &want_len);
    ck_assert_rv(f->C_SignInit(s, &sign, key), CKR_OK);
    ck_assert_rv(f->C_Sign(s, (CK_BYTE_PTR) "data", 4, mac, &len), CKR_OK);
    ck_assert_mem_eq(mac, want, 32);
    ck_assert_rv(f->C_VerifyInit(s, &sign, key), CKR_OK);
    ck_assert_rv(f->C_VerifyUpdate(s, (CK_BYTE_PTR) "da", 2), CKR_OK);
    ck_assert_rv(f->C_VerifyUpdate(s, (CK_BYTE_PTR) "ta", 2), CKR_OK);
    ck_assert_rv(f->C_VerifyFinal(s, mac, 32), CKR_OK);
    mac[0] ^= 1;
    ck_assert_rv(f->C_VerifyInit(s, &sign, key), CKR_OK);
    ck_assert_rv(f->C_Verify(s, (CK_BYTE_PTR) "data", 4, mac, 32), CKR_SIGNATURE_INVALID);
    /* XOR: encrypt, then decrypt in two parts */
    ck_assert_rv(f->C_EncryptInit(s, &toy, key), CKR_OK);
    len = 4;
    ck_assert_rv(f->C_Encrypt(s, (CK_BYTE_PTR) "hello", 5, text, &len), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(len, 5);
    ck_assert_rv(f->C_Encrypt(s, (CK_BYTE_PTR) "hello", 5, text, &len), CKR_OK);
    ck_assert_uint_eq(text[1], 'e' ^ 0x11);
    ck_assert_rv(f->C_DecryptInit(s, &toy, key), CKR_OK);
    len = 2;
    ck_assert_rv(f->C_DecryptUpdate(s, text, 2, text, &len), CKR_OK);
    len = 3;
    ck_assert_rv(f->C_DecryptUpdate(s, text + 2, 3, text + 2, &len), CKR_OK);
    len = 0;
    ck_assert_rv(f->C_DecryptFinal(s, NULL, &len), CKR_OK);
    ck_assert_rv(f->C_DecryptFinal(s, text, &len), CKR_OK);
    ck_assert(memcmp(text, "hello", 5) == 0);
}
END_TEST

static gpointer
wait_blocking(gpointer f)
{
    CK_SLOT_ID slot;

    return GSIZE_TO_POINTER(((CK_FUNCTION_LIST_PTR)f)->C_WaitForSlotEvent(0, &slot, NULL));
}

START_TEST(test_mock_slot_events)
{
    void *a = load_copy("mock-a", "[slot 1]\n[slot 2]\n");
    CK_SESSION_HANDLE s;
    CK_FUNCTION_LIST_PTR f = start(a, 2, &s);
    MockControlRemoveToken remove_token = control(a, "mock_control_remove_token");
    MockControlInsertToken insert_token = control(a, "mock_control_insert_token");
    MockControlAddSlot add_slot = control(a, "mock_control_add_slot");
    CK_SESSION_INFO info;
    CK_SLOT_ID slot = 0;
    GThread *waiter;

    ck_assert_rv(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
    remove_token(2);
    ck_assert_rv(f->C_GetSessionInfo(s, &info), CKR_DEVICE_REMOVED);
    ck_assert_rv(f->C_OpenSession(2, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_TOKEN_NOT_PRESENT);
    ck_assert_rv(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_OK);
    ck_assert_uint_eq(slot, 2);
    insert_token(2);
    add_slot(9, "added");
    ck_assert_rv(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_OK);
    ck_assert_uint_eq(slot, 2);
    ck_assert_rv(f->C_WaitForSlotEvent(0, &slot, NULL), CKR_OK);
    ck_assert_uint_eq(slot, 9);
    /* a blocked waiter is woken by C_Finalize */
    waiter = g_thread_new("waiter", wait_blocking, f);
    g_usleep(100 * 1000);
    ck_assert_rv(f->C_Finalize(NULL), CKR_OK);
    ck_assert_rv(GPOINTER_TO_SIZE(g_thread_join(waiter)), CKR_CRYPTOKI_NOT_INITIALIZED);
}
END_TEST

START_TEST(test_mock_bad_config_refuses_initialize)
{
    void *a = load_copy("mock-a", "[slot 1]\nno-such-key = 1\n");
    CK_FUNCTION_LIST_PTR f = function_list(a);

    ck_assert_rv(f->C_Initialize(NULL), CKR_GENERAL_ERROR);
    ck_assert_rv(f->C_Initialize(NULL), CKR_GENERAL_ERROR);
}
END_TEST

static Suite *
mock_suite(void)
{
    Suite *suite = suite_create("mock");
    TCase *tc = tcase_create("mock");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_mock_instances_independent);
    tcase_add_test(tc, test_mock_config_found);
    tcase_add_test(tc, test_mock_config_from_environment);
    tcase_add_test(tc, test_mock_interface_modes);
    tcase_add_test(tc, test_mock_scripted_failure_nth);
    tcase_add_test(tc, test_mock_null_functions);
    tcase_add_test(tc, test_mock_sessions_and_login);
    tcase_add_test(tc, test_mock_digest_sha256);
    tcase_add_test(tc, test_mock_find_and_attributes);
    tcase_add_test(tc, test_mock_hmac_and_xor);
    tcase_add_test(tc, test_mock_slot_events);
    tcase_add_test(tc, test_mock_bad_config_refuses_initialize);
    suite_add_tcase(suite, tc);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(mock_suite());
    int failed;

    srunner_run_all(runner, CK_ENV);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
