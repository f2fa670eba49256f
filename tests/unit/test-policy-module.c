/*
 * The policy engine end to end: p11mux.so over two copies of the mock
 * backend, each under its own policy, every policy rule tried through
 * the function list as an application would.  Where the mock would answer
 * the same as the policy, the mock's call counts show that p11mux decided
 * before the backend saw the call.
 *
 *   mock-a  [policy strict]: a hidden token, denied mechanisms, a hidden
 *           object, min-key-bits, force-sensitive, a denied function
 *   mock-b  [policy ro]: read-only
 */
#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "check-helpers.h"
#include "mock-control.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"
#include "scratch.h"
#include "slotmap.h"

static char *tmpdir;
static void *p11mux_dl;
static void *mock_a_dl;
static CK_FUNCTION_LIST_PTR p11;
static CK_FUNCTION_LIST_3_2_PTR p11_3; /* the default interface: 3.2 */
static MockControlCallCount mock_a_calls;
static void *mock_c_dl;
static MockControlCallCount mock_c_calls;
static MockControlSetFailures mock_c_set_failures;

/* Objects get handles 0x500, 0x501, ... in file order (tests/mock/README.md). */
enum {
    APP_KEY = 0x500, /* generic secret, 16 bytes, neither sensitive nor unextractable */
    BACKUP_KEY,      /* hidden by deny-objects */
    WEAK_KEY,        /* generic secret of 64 bits */
    SENSITIVE_KEY,   /* sensitive, unextractable */
    NOTES,           /* a data object */
    SECOND_APP_KEY,  /* visible, after the hidden one */
};

static const char mock_a_conf[] =
    "[mock]\n"
    "interface = 3.0\n"
    "[slot 1]\n"
    "token-label = visible-token\n"
    "mechanisms = CKM_SHA256 CKM_SHA256_HMAC CKM_GENERIC_SECRET_KEY_GEN CKM_AES_KEY_GEN:8:32 "
    "CKM_VENDOR_DEFINED+1 CKM_MD5 CKM_SHA_1 CKM_RSA_PKCS:512:4096:CKF_SIGN|CKF_VERIFY\n"
    "[slot 2]\n"
    "token-label = secret-token\n"
    "[object app]\nslot = 1\nclass = CKO_SECRET_KEY\nkey-type = CKK_GENERIC_SECRET\n"
    "label = app-key\nid = 01\nvalue = 00112233445566778899aabbccddeeff\n"
    "sign = true\nverify = true\nencrypt = true\nprivate = false\n"
    "[object backup]\nslot = 1\nclass = CKO_SECRET_KEY\nkey-type = CKK_GENERIC_SECRET\n"
    "label = backup-key\nid = 02\nvalue-text = the-hidden-backup-secret\n"
    "sign = true\nencrypt = true\nprivate = false\n"
    "[object weak]\nslot = 1\nclass = CKO_SECRET_KEY\nkey-type = CKK_GENERIC_SECRET\n"
    "label = weak-key\nid = 03\nvalue = 0011223344556677\nsign = true\nprivate = false\n"
    "[object sensitive]\nslot = 1\nclass = CKO_SECRET_KEY\nkey-type = CKK_GENERIC_SECRET\n"
    "label = sensitive-key\nid = 04\nvalue-text = sensitive-value-of-32-bytes-long\n"
    "sensitive = true\nextractable = false\nsign = true\nprivate = false\n"
    "[object notes]\nslot = 1\nclass = CKO_DATA\nlabel = notes\nvalue-text = hello\n"
    "[object app2]\nslot = 1\nclass = CKO_SECRET_KEY\nkey-type = CKK_GENERIC_SECRET\n"
    "label = app-key-2\nid = 05\nvalue = 00112233445566778899aabbccddeeff\nprivate = false\n";

static const char mock_b_conf[] = "[mock]\n"
                                  "interface = 2.40\n"
                                  "[slot 9]\n"
                                  "token-label = read-only-token\n"
                                  "[object b-key]\nslot = 9\nclass = CKO_SECRET_KEY\n"
                                  "key-type = CKK_GENERIC_SECRET\nlabel = b-key\n"
                                  "value = 00112233445566778899aabbccddeeff\nprivate = false\n";

/* mock-c, alone under an object rule only (the "plain" cases): every
 * function no object rule touches takes p11mux's plain path. */
static const char mock_c_conf[] = "[mock]\n"
                                  "interface = 2.40\n"
                                  "[slot 3]\n"
                                  "token-label = plain-token\n"
                                  "[object c-data]\nslot = 3\nclass = CKO_DATA\nlabel = c-data\n"
                                  "value-text = c\nprivate = false\n"
                                  "[object c-hidden]\nslot = 3\nclass = CKO_DATA\n"
                                  "label = c-hidden\nvalue-text = h\nprivate = false\n";

static const char plain_conf[] = "[global]\nuser-config = none\n"
                                 "[backend mock-c]\nmodule = %s/mock-c.so\npolicy = objects\n"
                                 "[policy objects]\n"
                                 "deny-objects = pkcs11:object=c-hidden\n";

static const char policy_conf[] = "[global]\nuser-config = none\n"
                                  "[backend mock-a]\nmodule = %s/mock-a.so\npolicy = strict\n"
                                  "[backend mock-b]\nmodule = %s/mock-b.so\npolicy = ro\n"
                                  "[policy strict]\n"
                                  "deny-tokens = pkcs11:token=secret-token\n"
                                  "deny-mechanisms = CKM_MD5 CKM_SHA_1\n"
                                  /* the mock's own XOR: p11mux cannot read it */
                                  "allow-opaque-mechanisms = CKM_VENDOR_DEFINED+1\n"
                                  "deny-objects = pkcs11:object=backup-key\n"
                                  "min-key-bits = generic:128 aes:128 rsa:2048\n"
                                  "force-sensitive = true\n"
                                  "deny-functions = C_SeedRandom\n"
                                  "[policy ro]\n"
                                  "read-only = true\n";

static char *
path_in_tmp(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void
write_file(const char *name, const char *text)
{
    g_autofree char *path = path_in_tmp(name);

    ck_assert(g_file_set_contents(path, text, -1, NULL));
}

static void
copy_mock(const char *name, const char *conf)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *so = scratch_copy_mock(tmpdir, name, conf, &error);

    ck_assert_msg(so != NULL, "cannot copy the mock: %s", error->message);
}

static void
setup_once(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *conf = NULL;
    g_autofree char *conf_path = NULL;
    g_autofree char *mock_a = NULL;
    g_autofree char *mock_c = NULL;
    CK_C_GetFunctionList get_function_list;
    CK_C_GetInterface get_interface;
    CK_INTERFACE_PTR interface = NULL;

    tmpdir = g_dir_make_tmp("p11mux-test-policy-module-XXXXXX", NULL);
    copy_mock("mock-a", mock_a_conf);
    copy_mock("mock-b", mock_b_conf);
    copy_mock("mock-c", mock_c_conf);
    conf = g_strdup_printf(policy_conf, tmpdir, tmpdir);
    write_file("p11mux.conf", conf);
    g_free(conf);
    conf = g_strdup_printf(plain_conf, tmpdir);
    write_file("plain.conf", conf);
    conf_path = path_in_tmp("p11mux.conf");
    g_setenv("P11MUX_CONF", conf_path, TRUE);
    g_setenv("XDG_CONFIG_HOME", tmpdir, TRUE);
    p11mux_dl = scratch_open_p11mux(&error);
    ck_assert_msg(p11mux_dl != NULL, "%s", error != NULL ? error->message : "");
    get_function_list = (CK_C_GetFunctionList)dlsym(p11mux_dl, "C_GetFunctionList");
    get_interface = (CK_C_GetInterface)dlsym(p11mux_dl, "C_GetInterface");
    ck_assert_rv_ok(get_function_list(&p11));
    ck_assert_rv_ok(get_interface(NULL, NULL, &interface, 0));
    p11_3 = interface->pFunctionList;
    mock_a = path_in_tmp("mock-a.so");
    mock_a_dl = dlopen(mock_a, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(mock_a_dl != NULL, "%s", dlerror());
    mock_a_calls = (MockControlCallCount)dlsym(mock_a_dl, "mock_control_call_count");
    ck_assert_ptr_nonnull(mock_a_calls);
    mock_c = path_in_tmp("mock-c.so");
    mock_c_dl = dlopen(mock_c, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(mock_c_dl != NULL, "%s", dlerror());
    mock_c_calls = (MockControlCallCount)dlsym(mock_c_dl, "mock_control_call_count");
    mock_c_set_failures = (MockControlSetFailures)dlsym(mock_c_dl, "mock_control_set_failures");
    ck_assert_ptr_nonnull(mock_c_calls);
    ck_assert_ptr_nonnull(mock_c_set_failures);
}

static void
teardown_once(void)
{
    scratch_remove_tree(tmpdir);
    g_clear_pointer(&tmpdir, g_free); /* each test case makes its own */
}

static void
setup(void)
{
    ck_assert_rv_ok(p11->C_Initialize(NULL));
}

static void
teardown(void)
{
    p11->C_Finalize(NULL);
}

/* The "plain" cases: mock-c alone, under its object rule. */
static void
setup_plain(void)
{
    g_autofree char *main_conf = path_in_tmp("p11mux.conf");
    g_autofree char *conf = path_in_tmp("plain.conf");

    g_setenv("P11MUX_CONF", conf, TRUE);
    ck_assert_rv_ok(p11->C_Initialize(NULL));
    g_setenv("P11MUX_CONF", main_conf, TRUE);
}

/* ---------------------------------------------------------------- helpers */

/* The p11mux slot whose token has this label; 0 when not listed. */
static CK_SLOT_ID
slot_by_label(const char *label)
{
    CK_SLOT_ID slots[16];
    CK_ULONG count = G_N_ELEMENTS(slots), i;
    CK_TOKEN_INFO info;

    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, slots, &count));
    for (i = 0; i < count; i++) {
        if (p11->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
            strncmp((const char *)info.label, label, strlen(label)) == 0 &&
            info.label[strlen(label)] == ' ') {
            return slots[i];
        }
    }
    return 0;
}

static CK_SESSION_HANDLE
open_on(const char *label, CK_FLAGS flags)
{
    CK_SESSION_HANDLE session = 0;
    CK_RV rv;

    ck_assert_rv_ok(
        p11->C_OpenSession(slot_by_label(label), CKF_SERIAL_SESSION | flags, NULL, NULL, &session));
    rv = p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4);
    ck_assert(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
    return session;
}

static CK_SESSION_HANDLE
open_a(void)
{
    return open_on("visible-token", CKF_RW_SESSION);
}

/* Every handle a search with this template returns, max at a time. */
static GArray *
find_all(CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n, CK_ULONG max)
{
    GArray *found = g_array_new(FALSE, FALSE, sizeof(CK_OBJECT_HANDLE));
    CK_OBJECT_HANDLE batch[64];
    CK_ULONG count;

    ck_assert_uint_le(max, G_N_ELEMENTS(batch));
    ck_assert_rv_ok(p11->C_FindObjectsInit(session, tmpl, n));
    do {
        ck_assert_rv_ok(p11->C_FindObjects(session, batch, max, &count));
        ck_assert_uint_le(count, max);
        g_array_append_vals(found, batch, count);
    } while (count > 0);
    ck_assert_rv_ok(p11->C_FindObjectsFinal(session));
    return found;
}

static gboolean
holds(const GArray *handles, CK_OBJECT_HANDLE handle)
{
    for (guint i = 0; i < handles->len; i++) {
        if (g_array_index(handles, CK_OBJECT_HANDLE, i) == handle) {
            return TRUE;
        }
    }
    return FALSE;
}

static CK_BBOOL
bool_attribute(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type)
{
    CK_BBOOL value = 0x55;
    CK_ATTRIBUTE attr = {type, &value, sizeof value};

    ck_assert_rv_ok(p11->C_GetAttributeValue(session, object, &attr, 1));
    return value;
}

static CK_BBOOL yes = CK_TRUE;
static CK_BBOOL no = CK_FALSE;
static CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
static CK_KEY_TYPE generic_type = CKK_GENERIC_SECRET;

/* ----------------------------------------------------------------- tokens */

START_TEST(test_policy_module_hidden_token_has_no_slot)
{
    CK_SLOT_ID hidden = p11mux_slotmap_hash_id("mock-a", 2, 0);
    CK_SLOT_ID slots[16];
    CK_ULONG count = G_N_ELEMENTS(slots), before = mock_a_calls("C_OpenSession");
    CK_SLOT_INFO slot_info;
    CK_TOKEN_INFO token_info;
    CK_MECHANISM_INFO mechanism_info;
    CK_SESSION_HANDLE session = 0;

    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, slots, &count));
    ck_assert_uint_eq(count, 2);
    ck_assert_uint_ne(slot_by_label("visible-token"), 0);
    ck_assert_uint_ne(slot_by_label("read-only-token"), 0);
    ck_assert_uint_eq(slot_by_label("secret-token"), 0);
    for (CK_ULONG i = 0; i < count; i++) {
        ck_assert_uint_ne(slots[i], hidden);
    }
    /* its id, guessed, is no slot at all */
    ck_assert_rv(p11->C_GetSlotInfo(hidden, &slot_info), CKR_SLOT_ID_INVALID);
    ck_assert_rv(p11->C_GetTokenInfo(hidden, &token_info), CKR_SLOT_ID_INVALID);
    ck_assert_rv(p11->C_GetMechanismList(hidden, NULL, &count), CKR_SLOT_ID_INVALID);
    ck_assert_rv(p11->C_GetMechanismInfo(hidden, CKM_SHA256, &mechanism_info), CKR_SLOT_ID_INVALID);
    ck_assert_rv(p11->C_InitToken(hidden, (CK_UTF8CHAR_PTR) "0000", 4,
                                  (CK_UTF8CHAR_PTR) "label                           "),
                 CKR_SLOT_ID_INVALID);
    ck_assert_rv(p11->C_OpenSession(hidden, CKF_SERIAL_SESSION, NULL, NULL, &session),
                 CKR_SLOT_ID_INVALID);
    ck_assert_rv(p11->C_CloseAllSessions(hidden), CKR_SLOT_ID_INVALID);
    ck_assert_uint_eq(session, 0);
    ck_assert_uint_eq(mock_a_calls("C_OpenSession"), before);
}
END_TEST

/* ------------------------------------------------------------- mechanisms */

START_TEST(test_policy_module_mechanism_list_is_filtered)
{
    CK_SLOT_ID slot = slot_by_label("visible-token");
    CK_MECHANISM_TYPE list[16];
    CK_ULONG count = 0, i;

    ck_assert_rv_ok(p11->C_GetMechanismList(slot, NULL, &count));
    ck_assert_uint_eq(count, 6); /* 8 offered, MD5 and SHA-1 denied */
    count = 5;
    ck_assert_rv(p11->C_GetMechanismList(slot, list, &count), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(count, 6);
    count = 6;
    ck_assert_rv_ok(p11->C_GetMechanismList(slot, list, &count));
    ck_assert_uint_eq(count, 6);
    for (i = 0; i < count; i++) {
        ck_assert_uint_ne(list[i], CKM_MD5);
        ck_assert_uint_ne(list[i], CKM_SHA_1);
    }
    ck_assert_rv(p11->C_GetMechanismList(slot, list, NULL), CKR_ARGUMENTS_BAD);
}
END_TEST

START_TEST(test_policy_module_mechanism_info)
{
    CK_SLOT_ID slot = slot_by_label("visible-token");
    CK_MECHANISM_INFO info;

    ck_assert_rv(p11->C_GetMechanismInfo(slot, CKM_MD5, &info), CKR_MECHANISM_INVALID);
    ck_assert_rv(p11->C_GetMechanismInfo(slot, CKM_SHA_1, &info), CKR_MECHANISM_INVALID);
    ck_assert_rv_ok(p11->C_GetMechanismInfo(slot, CKM_RSA_PKCS, &info));
    ck_assert_uint_eq(info.ulMinKeySize, 2048); /* the mock says 512 */
    ck_assert_uint_eq(info.ulMaxKeySize, 4096);
    ck_assert_rv_ok(p11->C_GetMechanismInfo(slot, CKM_AES_KEY_GEN, &info));
    ck_assert_uint_eq(info.ulMinKeySize, 16); /* bytes: the mock says 8 */
    ck_assert_rv_ok(p11->C_GetMechanismInfo(slot, CKM_SHA256, &info));
}
END_TEST

/* Every function of the table taking a mechanism, called with a denied one.
 * Returns how many functions it called. */
static guint
call_every_mechanism_function(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_RV expected)
{
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, NULL, 0}};
    CK_OBJECT_HANDLE out = 0, out2 = 0;
    CK_BYTE wrapped[64];
    CK_ULONG wrapped_len = sizeof wrapped;

    ck_assert_rv(p11->C_EncryptInit(s, m, APP_KEY), expected);
    ck_assert_rv(p11->C_DecryptInit(s, m, APP_KEY), expected);
    ck_assert_rv(p11->C_DigestInit(s, m), expected);
    ck_assert_rv(p11->C_SignInit(s, m, APP_KEY), expected);
    ck_assert_rv(p11->C_SignRecoverInit(s, m, APP_KEY), expected);
    ck_assert_rv(p11->C_VerifyInit(s, m, APP_KEY), expected);
    ck_assert_rv(p11->C_VerifyRecoverInit(s, m, APP_KEY), expected);
    ck_assert_rv(p11->C_GenerateKey(s, m, tmpl, 0, &out), expected);
    ck_assert_rv(p11->C_GenerateKeyPair(s, m, tmpl, 0, tmpl, 0, &out, &out2), expected);
    ck_assert_rv(p11->C_WrapKey(s, m, APP_KEY, APP_KEY, wrapped, &wrapped_len), expected);
    ck_assert_rv(p11->C_UnwrapKey(s, m, APP_KEY, wrapped, 16, tmpl, 0, &out), expected);
    ck_assert_rv(p11->C_DeriveKey(s, m, APP_KEY, tmpl, 0, &out), expected);
    ck_assert_rv(p11_3->C_MessageEncryptInit(s, m, APP_KEY), expected);
    ck_assert_rv(p11_3->C_MessageDecryptInit(s, m, APP_KEY), expected);
    ck_assert_rv(p11_3->C_MessageSignInit(s, m, APP_KEY), expected);
    ck_assert_rv(p11_3->C_MessageVerifyInit(s, m, APP_KEY), expected);
    ck_assert_rv(p11_3->C_EncapsulateKey(s, m, APP_KEY, tmpl, 0, wrapped, &wrapped_len, &out),
                 expected);
    ck_assert_rv(p11_3->C_DecapsulateKey(s, m, APP_KEY, tmpl, 0, wrapped, 16, &out), expected);
    ck_assert_rv(p11_3->C_VerifySignatureInit(s, m, APP_KEY, wrapped, 16), expected);
    ck_assert_rv(
        p11_3->C_WrapKeyAuthenticated(s, m, APP_KEY, APP_KEY, wrapped, 4, wrapped, &wrapped_len),
        expected);
    ck_assert_rv(
        p11_3->C_UnwrapKeyAuthenticated(s, m, APP_KEY, wrapped, 16, tmpl, 0, wrapped, 4, &out),
        expected);
    ck_assert_uint_eq(out, 0);
    return 21;
}

static guint
table_functions_with_role(P11muxRole role)
{
    guint n = 0;

    for (guint i = 0; i < P11MUX_FN_COUNT; i++) {
        for (guint j = 0; j < p11mux_functions[i].n_params; j++) {
            if (p11mux_functions[i].params[j].role == role) {
                n++;
                break;
            }
        }
    }
    return n;
}

static const char *const init_functions[] = {
    "C_EncryptInit", "C_DecryptInit", "C_DigestInit",         "C_SignInit",
    "C_VerifyInit",  "C_GenerateKey", "C_MessageEncryptInit", "C_MessageDecryptInit",
};

START_TEST(test_policy_module_denied_mechanism_everywhere)
{
    CK_SESSION_HANDLE s = open_a();
    CK_MECHANISM md5 = {CKM_MD5, NULL, 0};
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM oaep_sha1 = {CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep};
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA1, 32};
    CK_MECHANISM pss_mgf_sha1 = {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof pss};
    CK_ULONG before[G_N_ELEMENTS(init_functions)];
    guint called;

    for (gsize i = 0; i < G_N_ELEMENTS(init_functions); i++) {
        before[i] = mock_a_calls(init_functions[i]);
    }
    called = call_every_mechanism_function(s, &md5, CKR_MECHANISM_INVALID);
    /* the table is the list: a function added to it must be added here */
    ck_assert_uint_eq(called, table_functions_with_role(P11MUX_ROLE_MECHANISM));
    call_every_mechanism_function(s, &oaep_sha1, CKR_MECHANISM_INVALID);
    call_every_mechanism_function(s, &pss_mgf_sha1, CKR_MECHANISM_INVALID);
    oaep.hashAlg = CKM_SHA256;
    oaep.mgf = CKG_MGF1_SHA256;
    oaep_sha1.ulParameterLen = 3; /* malformed: p11mux cannot see the hash */
    ck_assert_rv(p11->C_EncryptInit(s, &oaep_sha1, APP_KEY), CKR_MECHANISM_PARAM_INVALID);
    for (gsize i = 0; i < G_N_ELEMENTS(init_functions); i++) {
        ck_assert_msg(mock_a_calls(init_functions[i]) == before[i], "%s reached the backend",
                      init_functions[i]);
    }
}
END_TEST

/* ---------------------------------------------------------------- objects */

START_TEST(test_policy_module_hidden_object_never_found)
{
    CK_SESSION_HANDLE s = open_a();
    CK_ATTRIBUTE by_label = {CKA_LABEL, "backup-key", 10};
    CK_ATTRIBUTE by_id = {CKA_ID, "\x02", 1};
    CK_ATTRIBUTE by_class = {CKA_CLASS, &secret_class, sizeof secret_class};
    CK_ULONG max;

    for (max = 1; max <= 7; max += 2) {
        g_autoptr(GArray) all = find_all(s, NULL, 0, max);

        ck_assert_uint_eq(all->len, 5);
        ck_assert(holds(all, APP_KEY) && holds(all, SECOND_APP_KEY) && holds(all, NOTES));
        ck_assert(!holds(all, BACKUP_KEY));
    }
    {
        g_autoptr(GArray) named = find_all(s, &by_label, 1, 4);
        g_autoptr(GArray) numbered = find_all(s, &by_id, 1, 4);
        g_autoptr(GArray) secrets = find_all(s, &by_class, 1, 2);

        ck_assert_uint_eq(named->len, 0);
        ck_assert_uint_eq(numbered->len, 0);
        ck_assert_uint_eq(secrets->len, 4);
        ck_assert(!holds(secrets, BACKUP_KEY));
    }
}
END_TEST

/* The first call fills the caller's buffer past the hidden object. */
START_TEST(test_policy_module_find_fills_the_buffer)
{
    CK_SESSION_HANDLE s = open_a();
    CK_ATTRIBUTE by_class = {CKA_CLASS, &secret_class, sizeof secret_class};
    CK_OBJECT_HANDLE batch[8];
    CK_ULONG count = 0;

    ck_assert_rv_ok(p11->C_FindObjectsInit(s, &by_class, 1));
    ck_assert_rv_ok(p11->C_FindObjects(s, batch, 3, &count));
    ck_assert_uint_eq(count, 3);
    ck_assert_uint_eq(batch[0], APP_KEY);
    ck_assert_uint_eq(batch[1], WEAK_KEY);
    ck_assert_uint_eq(batch[2], SENSITIVE_KEY);
    ck_assert_rv_ok(p11->C_FindObjects(s, batch, 3, &count));
    ck_assert_uint_eq(count, 1);
    ck_assert_uint_eq(batch[0], SECOND_APP_KEY);
    ck_assert_rv_ok(p11->C_FindObjects(s, batch, 3, &count));
    ck_assert_uint_eq(count, 0);
    ck_assert_rv(p11->C_FindObjects(s, batch, 3, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv_ok(p11->C_FindObjectsFinal(s));
    ck_assert_rv(p11->C_FindObjects(s, batch, 3, &count), CKR_OPERATION_NOT_INITIALIZED);
}
END_TEST

/* Guessed handles: every use of the hidden one gives the code of its argument. */
START_TEST(test_policy_module_hidden_handle_is_invalid_everywhere)
{
    CK_SESSION_HANDLE s = open_a();
    CK_MECHANISM hmac = {CKM_SHA256_HMAC, NULL, 0};
    CK_MECHANISM xor = {CKM_VENDOR_DEFINED + 1, NULL, 0};
    CK_MECHANISM wrap = {CKM_AES_KEY_WRAP, NULL, 0};
    CK_OBJECT_HANDLE hidden = BACKUP_KEY;
    CK_MECHANISM concatenate = {CKM_CONCATENATE_BASE_AND_KEY, &hidden, sizeof hidden};
    CK_BYTE label[64];
    CK_ATTRIBUTE get = {CKA_LABEL, label, sizeof label};
    CK_ATTRIBUTE set = {CKA_LABEL, "mine", 4};
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &secret_class, sizeof secret_class}};
    CK_OBJECT_HANDLE out = 0;
    CK_BYTE wrapped[64];
    CK_ULONG size = 0, wrapped_len = sizeof wrapped;
    CK_ULONG sign_inits = mock_a_calls("C_SignInit");

    memset(label, 0, sizeof label);
    ck_assert_rv(p11->C_GetAttributeValue(s, hidden, &get, 1), CKR_OBJECT_HANDLE_INVALID);
    ck_assert_rv(p11->C_SetAttributeValue(s, hidden, &set, 1), CKR_OBJECT_HANDLE_INVALID);
    ck_assert_rv(p11->C_GetObjectSize(s, hidden, &size), CKR_OBJECT_HANDLE_INVALID);
    ck_assert_rv(p11->C_CopyObject(s, hidden, NULL, 0, &out), CKR_OBJECT_HANDLE_INVALID);
    ck_assert_rv(p11->C_DestroyObject(s, hidden), CKR_OBJECT_HANDLE_INVALID);
    ck_assert_rv(p11->C_SignInit(s, &hmac, hidden), CKR_KEY_HANDLE_INVALID);
    ck_assert_rv(p11->C_VerifyInit(s, &hmac, hidden), CKR_KEY_HANDLE_INVALID);
    ck_assert_rv(p11->C_EncryptInit(s, &xor, hidden), CKR_KEY_HANDLE_INVALID);
    ck_assert_rv(p11->C_DecryptInit(s, &xor, hidden), CKR_KEY_HANDLE_INVALID);
    ck_assert_rv(p11->C_DigestKey(s, hidden), CKR_KEY_HANDLE_INVALID);
    ck_assert_rv(p11_3->C_MessageEncryptInit(s, &xor, hidden), CKR_KEY_HANDLE_INVALID);
    ck_assert_rv(p11->C_WrapKey(s, &wrap, hidden, APP_KEY, wrapped, &wrapped_len),
                 CKR_WRAPPING_KEY_HANDLE_INVALID);
    ck_assert_rv(p11->C_WrapKey(s, &wrap, APP_KEY, hidden, wrapped, &wrapped_len),
                 CKR_KEY_HANDLE_INVALID);
    ck_assert_rv(p11->C_UnwrapKey(s, &wrap, hidden, wrapped, 24, tmpl, 1, &out),
                 CKR_UNWRAPPING_KEY_HANDLE_INVALID);
    ck_assert_rv(p11->C_DeriveKey(s, &concatenate, APP_KEY, tmpl, 1, &out), CKR_KEY_HANDLE_INVALID);
    ck_assert_rv(p11->C_DeriveKey(s, &concatenate, hidden, tmpl, 1, &out), CKR_KEY_HANDLE_INVALID);
    /* saved state is refused under every policy, before any handle in it */
    ck_assert_rv(p11->C_SetOperationState(s, wrapped, 8, hidden, 0), CKR_SAVED_STATE_INVALID);
    ck_assert_uint_eq(out, 0);
    ck_assert_uint_eq(mock_a_calls("C_SignInit"), sign_inits);
    /* nothing of the hidden object came back */
    ck_assert(memmem(label, sizeof label, "backup", 6) == NULL);
}
END_TEST

/* Brute force: every handle near the mock's range, with every read function. */
START_TEST(test_policy_module_brute_force_reveals_nothing)
{
    CK_SESSION_HANDLE s = open_a();
    CK_BYTE value[128];
    CK_ULONG size;
    guint valid = 0;

    for (CK_OBJECT_HANDLE h = 0; h < 0x600; h++) {
        CK_ATTRIBUTE get[] = {{CKA_LABEL, value, 64}, {CKA_VALUE, value + 64, 64}};
        CK_RV rv;

        memset(value, 0, sizeof value);
        rv = p11->C_GetAttributeValue(s, h, get, 2);
        ck_assert(memmem(value, sizeof value, "backup", 6) == NULL);
        ck_assert(memmem(value, sizeof value, "hidden", 6) == NULL);
        if (h == BACKUP_KEY || h < APP_KEY || h > SECOND_APP_KEY) {
            ck_assert_rv(rv, CKR_OBJECT_HANDLE_INVALID);
            ck_assert_rv(p11->C_GetObjectSize(s, h, &size), CKR_OBJECT_HANDLE_INVALID);
        } else {
            valid++;
        }
    }
    ck_assert_uint_eq(valid, 5);
}
END_TEST

START_TEST(test_policy_module_no_change_into_or_out_of_hiding)
{
    CK_SESSION_HANDLE s = open_a();
    CK_ATTRIBUTE relabel = {CKA_LABEL, "backup-key", 10};
    CK_ATTRIBUTE harmless = {CKA_LABEL, "renamed", 7};
    CK_OBJECT_HANDLE copy = 0;
    CK_ULONG sets = mock_a_calls("C_SetAttributeValue");
    CK_ULONG copies = mock_a_calls("C_CopyObject");

    ck_assert_rv(p11->C_SetAttributeValue(s, APP_KEY, &relabel, 1), CKR_ATTRIBUTE_READ_ONLY);
    ck_assert_rv(p11->C_CopyObject(s, APP_KEY, &relabel, 1, &copy), CKR_ATTRIBUTE_READ_ONLY);
    ck_assert_uint_eq(mock_a_calls("C_SetAttributeValue"), sets);
    ck_assert_uint_eq(mock_a_calls("C_CopyObject"), copies);
    ck_assert_uint_eq(copy, 0);
    /* creating one the policy would hide */
    {
        CK_ATTRIBUTE create[] = {{CKA_CLASS, &secret_class, sizeof secret_class},
                                 {CKA_KEY_TYPE, &generic_type, sizeof generic_type},
                                 {CKA_LABEL, "backup-key", 10},
                                 {CKA_VALUE, "0123456789abcdef", 16}};

        ck_assert_rv(p11->C_CreateObject(s, create, G_N_ELEMENTS(create), &copy),
                     CKR_TEMPLATE_INCONSISTENT);
    }
    /* a change that keeps it visible is made, and seen at once */
    ck_assert_rv_ok(p11->C_SetAttributeValue(s, SECOND_APP_KEY, &harmless, 1));
    {
        g_autoptr(GArray) renamed = find_all(s, &harmless, 1, 4);

        ck_assert_uint_eq(renamed->len, 1);
    }
}
END_TEST

/* ------------------------------------------------------ force-sensitive */

START_TEST(test_policy_module_generated_keys_are_sensitive)
{
    CK_SESSION_HANDLE s = open_a();
    CK_MECHANISM gen = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_ATTRIBUTE plain[] = {{CKA_VALUE_LEN, &len, sizeof len}};
    CK_ATTRIBUTE weak[] = {{CKA_VALUE_LEN, &len, sizeof len}, {CKA_SENSITIVE, &no, sizeof no}};
    CK_ATTRIBUTE exportable[] = {{CKA_VALUE_LEN, &len, sizeof len},
                                 {CKA_EXTRACTABLE, &yes, sizeof yes}};
    CK_BYTE value[64];
    CK_ATTRIBUTE get_value = {CKA_VALUE, value, sizeof value};
    CK_OBJECT_HANDLE key = 0;

    ck_assert_rv(p11->C_GenerateKey(s, &gen, weak, 2, &key), CKR_TEMPLATE_INCONSISTENT);
    ck_assert_rv(p11->C_GenerateKey(s, &gen, exportable, 2, &key), CKR_TEMPLATE_INCONSISTENT);
    ck_assert_uint_eq(key, 0);
    ck_assert_rv_ok(p11->C_GenerateKey(s, &gen, plain, 1, &key));
    ck_assert_uint_ne(key, 0);
    ck_assert_uint_eq(bool_attribute(s, key, CKA_SENSITIVE), CK_TRUE);
    ck_assert_uint_eq(bool_attribute(s, key, CKA_EXTRACTABLE), CK_FALSE);
    ck_assert_rv(p11->C_GetAttributeValue(s, key, &get_value, 1), CKR_ATTRIBUTE_SENSITIVE);
    ck_assert_uint_eq(get_value.ulValueLen, CK_UNAVAILABLE_INFORMATION);
}
END_TEST

START_TEST(test_policy_module_created_keys_are_sensitive)
{
    CK_SESSION_HANDLE s = open_a();
    CK_ATTRIBUTE create[] = {{CKA_CLASS, &secret_class, sizeof secret_class},
                             {CKA_KEY_TYPE, &generic_type, sizeof generic_type},
                             {CKA_VALUE, "0123456789abcdef", 16}};
    CK_ATTRIBUTE create_weak[] = {{CKA_CLASS, &secret_class, sizeof secret_class},
                                  {CKA_KEY_TYPE, &generic_type, sizeof generic_type},
                                  {CKA_VALUE, "0123456789abcdef", 16},
                                  {CKA_SENSITIVE, &no, sizeof no}};
    CK_OBJECT_HANDLE key = 0;

    ck_assert_rv(p11->C_CreateObject(s, create_weak, 4, &key), CKR_TEMPLATE_INCONSISTENT);
    ck_assert_rv_ok(p11->C_CreateObject(s, create, 3, &key));
    ck_assert_uint_eq(bool_attribute(s, key, CKA_SENSITIVE), CK_TRUE);
    ck_assert_uint_eq(bool_attribute(s, key, CKA_EXTRACTABLE), CK_FALSE);
}
END_TEST

/* The mock itself would allow these (the key was never sensitive). */
START_TEST(test_policy_module_no_weakening_by_copy_or_change)
{
    CK_SESSION_HANDLE s = open_a();
    CK_ATTRIBUTE exportable = {CKA_EXTRACTABLE, &yes, sizeof yes};
    CK_ATTRIBUTE not_sensitive = {CKA_SENSITIVE, &no, sizeof no};
    CK_OBJECT_HANDLE copy = 0;
    CK_ULONG copies = mock_a_calls("C_CopyObject");

    ck_assert_rv(p11->C_CopyObject(s, APP_KEY, &exportable, 1, &copy), CKR_ATTRIBUTE_READ_ONLY);
    ck_assert_rv(p11->C_CopyObject(s, SENSITIVE_KEY, &exportable, 1, &copy),
                 CKR_ATTRIBUTE_READ_ONLY);
    ck_assert_rv(p11->C_SetAttributeValue(s, APP_KEY, &not_sensitive, 1), CKR_ATTRIBUTE_READ_ONLY);
    ck_assert_rv(p11->C_SetAttributeValue(s, SENSITIVE_KEY, &not_sensitive, 1),
                 CKR_ATTRIBUTE_READ_ONLY);
    ck_assert_uint_eq(mock_a_calls("C_CopyObject"), copies);
    /* a plain copy is a new key: sensitive, unextractable */
    ck_assert_rv_ok(p11->C_CopyObject(s, APP_KEY, NULL, 0, &copy));
    ck_assert_uint_eq(bool_attribute(s, copy, CKA_SENSITIVE), CK_TRUE);
    ck_assert_uint_eq(bool_attribute(s, copy, CKA_EXTRACTABLE), CK_FALSE);
}
END_TEST

START_TEST(test_policy_module_unextractable_key_is_not_wrapped)
{
    CK_SESSION_HANDLE s = open_a();
    CK_MECHANISM wrap = {CKM_AES_KEY_WRAP, NULL, 0};
    CK_BYTE wrapped[64];
    CK_ULONG len = sizeof wrapped;

    /* the mock has no C_WrapKey at all: the code is p11mux's */
    ck_assert_rv(p11->C_WrapKey(s, &wrap, SECOND_APP_KEY, SENSITIVE_KEY, wrapped, &len),
                 CKR_KEY_UNEXTRACTABLE);
    ck_assert_rv(p11->C_WrapKey(s, &wrap, SECOND_APP_KEY, APP_KEY, wrapped, &len),
                 CKR_FUNCTION_NOT_SUPPORTED);
}
END_TEST

/* A search by a secret value would tell whether a guess is right. */
START_TEST(test_policy_module_search_by_secret_value_finds_no_key)
{
    CK_SESSION_HANDLE s = open_a();
    CK_ATTRIBUTE guess = {CKA_VALUE, "sensitive-value-of-32-bytes-long", 32};
    CK_ATTRIBUTE text = {CKA_VALUE, "hello", 5};
    g_autoptr(GArray) keys = find_all(s, &guess, 1, 4);
    g_autoptr(GArray) data = find_all(s, &text, 1, 4);

    ck_assert_uint_eq(keys->len, 0);
    ck_assert_uint_eq(data->len, 1); /* a data object is still found by its value */
    ck_assert(holds(data, NOTES));
}
END_TEST

/* A search that must not find guarded keys (it names a secret value) sees
 * a key made sensitive after the first search: the change drops what the
 * search cached about the key. */
START_TEST(test_policy_module_search_sees_a_key_made_sensitive)
{
    CK_SESSION_HANDLE s = open_a();
    static const CK_BYTE value[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    CK_ATTRIBUTE guess = {CKA_VALUE, (CK_VOID_PTR)value, sizeof value};
    CK_ATTRIBUTE sensitive = {CKA_SENSITIVE, &yes, sizeof yes};
    g_autoptr(GArray) before = find_all(s, &guess, 1, 4);
    g_autoptr(GArray) again = find_all(s, &guess, 1, 4);
    g_autoptr(GArray) after = NULL;

    ck_assert(holds(before, APP_KEY) && holds(before, SECOND_APP_KEY));
    ck_assert(holds(again, SECOND_APP_KEY));
    ck_assert_rv_ok(p11->C_SetAttributeValue(s, SECOND_APP_KEY, &sensitive, 1));
    after = find_all(s, &guess, 1, 4);
    ck_assert(!holds(after, SECOND_APP_KEY));
    ck_assert(holds(after, APP_KEY));
}
END_TEST

/* ---------------------------------------------------------- key sizes */

START_TEST(test_policy_module_weak_keys_refused)
{
    CK_SESSION_HANDLE s = open_a();
    CK_MECHANISM gen = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
    CK_MECHANISM aes_gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_MECHANISM hmac = {CKM_SHA256_HMAC, NULL, 0};
    CK_ULONG eight = 8, sixteen = 16;
    CK_ATTRIBUTE small[] = {{CKA_VALUE_LEN, &eight, sizeof eight}};
    CK_ATTRIBUTE enough[] = {{CKA_VALUE_LEN, &sixteen, sizeof sixteen}};
    CK_ATTRIBUTE import[] = {{CKA_CLASS, &secret_class, sizeof secret_class},
                             {CKA_KEY_TYPE, &generic_type, sizeof generic_type},
                             {CKA_VALUE, "01234567", 8}};
    CK_OBJECT_HANDLE key = 0;

    ck_assert_rv(p11->C_GenerateKey(s, &gen, small, 1, &key), CKR_KEY_SIZE_RANGE);
    ck_assert_rv(p11->C_GenerateKey(s, &aes_gen, small, 1, &key), CKR_KEY_SIZE_RANGE);
    ck_assert_rv(p11->C_CreateObject(s, import, 3, &key), CKR_KEY_SIZE_RANGE);
    ck_assert_uint_eq(key, 0);
    ck_assert_rv(p11->C_SignInit(s, &hmac, WEAK_KEY), CKR_KEY_SIZE_RANGE);
    ck_assert_rv_ok(p11->C_GenerateKey(s, &aes_gen, enough, 1, &key));
    ck_assert_rv_ok(p11->C_SignInit(s, &hmac, APP_KEY));
}
END_TEST

/* ------------------------------------------------------------- caching */

/* What p11mux reads about a key is read once per session, until changed. */
START_TEST(test_policy_module_attributes_read_once)
{
    CK_SESSION_HANDLE s = open_a();
    CK_MECHANISM hmac = {CKM_SHA256_HMAC, NULL, 0};
    CK_ATTRIBUTE label = {CKA_LABEL, "renamed", 7};
    CK_BYTE mac[32];
    CK_ULONG len = sizeof mac, reads;

    ck_assert_rv_ok(p11->C_SignInit(s, &hmac, APP_KEY));
    ck_assert_rv_ok(p11->C_Sign(s, (CK_BYTE_PTR) "abc", 3, mac, &len));
    reads = mock_a_calls("C_GetAttributeValue");
    for (int i = 0; i < 10; i++) {
        len = sizeof mac;
        ck_assert_rv_ok(p11->C_SignInit(s, &hmac, APP_KEY));
        ck_assert_rv_ok(p11->C_Sign(s, (CK_BYTE_PTR) "abc", 3, mac, &len));
    }
    ck_assert_uint_eq(mock_a_calls("C_GetAttributeValue"), reads);
    /* a change through p11mux makes it read again */
    ck_assert_rv_ok(p11->C_SetAttributeValue(s, APP_KEY, &label, 1));
    reads = mock_a_calls("C_GetAttributeValue");
    ck_assert_rv_ok(p11->C_SignInit(s, &hmac, APP_KEY));
    ck_assert_uint_gt(mock_a_calls("C_GetAttributeValue"), reads);
}
END_TEST

/* Sessions in several threads share the engine: same answers, no crash. */
static gpointer
worker(gpointer data G_GNUC_UNUSED)
{
    CK_SESSION_HANDLE s = open_a();
    CK_MECHANISM hmac = {CKM_SHA256_HMAC, NULL, 0};
    CK_BYTE label[32], mac[32];
    CK_ATTRIBUTE get = {CKA_LABEL, label, sizeof label};
    gboolean ok = TRUE;

    for (int i = 0; i < 50 && ok; i++) {
        g_autoptr(GArray) all = find_all(s, NULL, 0, 2);
        CK_ULONG len = sizeof mac;

        ok = holds(all, APP_KEY) && !holds(all, BACKUP_KEY);
        ok = ok && p11->C_SignInit(s, &hmac, BACKUP_KEY) == CKR_KEY_HANDLE_INVALID;
        ok = ok && p11->C_SignInit(s, &hmac, APP_KEY) == CKR_OK;
        ok = ok && p11->C_Sign(s, (CK_BYTE_PTR) "abc", 3, mac, &len) == CKR_OK;
        ok = ok && p11->C_GetAttributeValue(s, BACKUP_KEY, &get, 1) == CKR_OBJECT_HANDLE_INVALID;
    }
    p11->C_CloseSession(s);
    return GINT_TO_POINTER(ok);
}

START_TEST(test_policy_module_threads)
{
    GThread *threads[4];

    for (gsize i = 0; i < G_N_ELEMENTS(threads); i++) {
        threads[i] = g_thread_new("policy", worker, NULL);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(threads); i++) {
        ck_assert(GPOINTER_TO_INT(g_thread_join(threads[i])));
    }
}
END_TEST

/* ---------------------------------------------------------- functions */

START_TEST(test_policy_module_denied_function)
{
    CK_SESSION_HANDLE s = open_a();
    CK_BYTE seed[8] = {0};
    CK_VOID_PTR *entries = (CK_VOID_PTR *)&p11->C_Initialize;
    gsize n = (sizeof(CK_FUNCTION_LIST) - G_STRUCT_OFFSET(CK_FUNCTION_LIST, C_Initialize)) /
              sizeof(CK_VOID_PTR);

    ck_assert_rv(p11->C_SeedRandom(s, seed, sizeof seed), CKR_FUNCTION_NOT_SUPPORTED);
    for (gsize i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(entries[i]);
    }
}
END_TEST

/* ---------------------------------------------------------- read-only */

START_TEST(test_policy_module_read_only_token)
{
    CK_SLOT_ID slot = slot_by_label("read-only-token");
    CK_TOKEN_INFO info;
    CK_SESSION_HANDLE s = 0;
    CK_ATTRIBUTE token_object[] = {{CKA_CLASS, &secret_class, sizeof secret_class},
                                   {CKA_KEY_TYPE, &generic_type, sizeof generic_type},
                                   {CKA_TOKEN, &yes, sizeof yes},
                                   {CKA_VALUE, "0123456789abcdef", 16}};
    CK_ATTRIBUTE label = {CKA_LABEL, "new", 3};
    CK_MECHANISM gen = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
    CK_OBJECT_HANDLE object = 0;

    ck_assert_rv_ok(p11->C_GetTokenInfo(slot, &info));
    ck_assert(info.flags & CKF_WRITE_PROTECTED);
    ck_assert_rv(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
                 CKR_TOKEN_WRITE_PROTECTED);
    ck_assert_rv(p11->C_InitToken(slot, (CK_UTF8CHAR_PTR) "0000", 4,
                                  (CK_UTF8CHAR_PTR) "label                           "),
                 CKR_TOKEN_WRITE_PROTECTED);
    s = open_on("read-only-token", 0);
    ck_assert_rv(p11->C_InitPIN(s, (CK_UTF8CHAR_PTR) "1234", 4), CKR_TOKEN_WRITE_PROTECTED);
    ck_assert_rv(p11->C_SetPIN(s, (CK_UTF8CHAR_PTR) "1234", 4, (CK_UTF8CHAR_PTR) "4321", 4),
                 CKR_TOKEN_WRITE_PROTECTED);
    ck_assert_rv(p11->C_CreateObject(s, token_object, 4, &object), CKR_TOKEN_WRITE_PROTECTED);
    ck_assert_rv(p11->C_GenerateKey(s, &gen, token_object + 2, 1, &object),
                 CKR_TOKEN_WRITE_PROTECTED);
    ck_assert_rv(p11->C_SetAttributeValue(s, 0x500, &label, 1), CKR_TOKEN_WRITE_PROTECTED);
    ck_assert_rv(p11->C_CopyObject(s, 0x500, NULL, 0, &object), CKR_TOKEN_WRITE_PROTECTED);
    ck_assert_rv(p11->C_DestroyObject(s, 0x500), CKR_TOKEN_WRITE_PROTECTED);
    ck_assert_uint_eq(object, 0);
    /* session objects still work */
    token_object[2] = token_object[3];
    ck_assert_rv_ok(p11->C_CreateObject(s, token_object, 3, &object));
    token_object[2] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof yes};
    ck_assert_rv_ok(p11->C_SetAttributeValue(s, object, &label, 1));
    token_object[2].pValue = &no;
    ck_assert_rv_ok(p11->C_CopyObject(s, 0x500, token_object + 2, 1, &object));
    ck_assert_rv_ok(p11->C_DestroyObject(s, object));
}
END_TEST

/* ---------------------------------------------------------- allowed */

START_TEST(test_policy_module_allowed_operations_unchanged)
{
    CK_SESSION_HANDLE s = open_a();
    CK_MECHANISM hmac = {CKM_SHA256_HMAC, NULL, 0};
    CK_MECHANISM sha = {CKM_SHA256, NULL, 0};
    CK_BYTE data[] = "abc", out[32];
    CK_ULONG len = 0;
    CK_BYTE label[16];
    CK_ATTRIBUTE get = {CKA_LABEL, label, sizeof label};

    ck_assert_rv_ok(p11->C_SignInit(s, &hmac, APP_KEY));
    ck_assert_rv_ok(p11->C_Sign(s, data, 3, NULL, &len));
    ck_assert_uint_eq(len, 32);
    len = 4;
    ck_assert_rv(p11->C_Sign(s, data, 3, out, &len), CKR_BUFFER_TOO_SMALL);
    len = sizeof out;
    ck_assert_rv_ok(p11->C_Sign(s, data, 3, out, &len));
    ck_assert_rv_ok(p11->C_DigestInit(s, &sha));
    len = sizeof out;
    ck_assert_rv_ok(p11->C_Digest(s, data, 3, out, &len));
    ck_assert_rv_ok(p11->C_GetAttributeValue(s, NOTES, &get, 1));
    ck_assert_uint_eq(get.ulValueLen, 5);
    ck_assert_rv(p11->C_GetAttributeValue(s, 0x9999, &get, 1), CKR_OBJECT_HANDLE_INVALID);
}
END_TEST

/* ------------------------------------------------------ the plain path */

/* mock-c's slot (the only one in the "plain" cases). */
static CK_SESSION_HANDLE
open_c(void)
{
    CK_SLOT_ID slot;
    CK_ULONG count = 1;
    CK_SESSION_HANDLE session = 0;

    ck_assert_rv_ok(p11->C_GetSlotList(CK_TRUE, &slot, &count));
    ck_assert_uint_eq(count, 1);
    ck_assert_rv_ok(
        p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session));
    return session;
}

/* Functions no rule touches take the plain path; a session lost there (the
 * backend says so) still takes what p11mux read in it along, and the
 * session objects of its backend: their handles may be reused. */
START_TEST(test_policy_module_session_lost_on_the_plain_path)
{
    CK_SESSION_HANDLE s1 = open_c(), s2 = open_c();
    CK_OBJECT_CLASS data_class = CKO_DATA;
    CK_ATTRIBUTE made[] = {{CKA_CLASS, &data_class, sizeof data_class},
                           {CKA_LABEL, "c-made", 6},
                           {CKA_TOKEN, &no, sizeof no}};
    CK_OBJECT_HANDLE object = 0;
    CK_SESSION_INFO info;
    CK_ULONG reads;

    ck_assert_rv_ok(p11->C_CreateObject(s2, made, G_N_ELEMENTS(made), &object));
    {
        g_autoptr(GArray) all = find_all(s1, NULL, 0, 4);

        ck_assert_uint_eq(all->len, 2); /* c-data and c-made, not c-hidden */
        ck_assert(holds(all, object));
    }
    reads = mock_c_calls("C_GetAttributeValue");
    g_array_unref(find_all(s1, NULL, 0, 4));
    ck_assert_uint_eq(mock_c_calls("C_GetAttributeValue"), reads); /* cached */

    ck_assert_rv_ok(mock_c_set_failures("C_GetSessionInfo:CKR_SESSION_HANDLE_INVALID:1"));
    ck_assert_rv(p11->C_GetSessionInfo(s2, &info), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv_ok(mock_c_set_failures(NULL));
    ck_assert_rv(p11->C_GetSessionInfo(s2, &info), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv_ok(p11->C_GetSessionInfo(s1, &info));

    /* s1 reads the session object again (a token object it may keep) */
    g_array_unref(find_all(s1, NULL, 0, 4));
    ck_assert_uint_gt(mock_c_calls("C_GetAttributeValue"), reads);
}
END_TEST

/* The object rule holds on the plain configuration too. */
START_TEST(test_policy_module_plain_rules_still_hold)
{
    CK_SESSION_HANDLE s = open_c();
    CK_BYTE buffer[16];
    CK_ATTRIBUTE label = {CKA_LABEL, buffer, sizeof buffer};
    g_autoptr(GArray) all = find_all(s, NULL, 0, 1);
    CK_OBJECT_HANDLE hidden = 0x501; /* c-hidden, second in mock-c's file */

    ck_assert_uint_eq(all->len, 1);
    ck_assert(!holds(all, hidden));
    ck_assert_rv(p11->C_GetAttributeValue(s, hidden, &label, 1), CKR_OBJECT_HANDLE_INVALID);
    ck_assert_rv(p11->C_DestroyObject(s, hidden), CKR_OBJECT_HANDLE_INVALID);
}
END_TEST

static Suite *
policy_module_suite(void)
{
    Suite *suite = suite_create("policy-module");
    TCase *tc = tcase_create("rules");
    TCase *plain = tcase_create("plain");

    tcase_add_unchecked_fixture(tc, setup_once, teardown_once);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_policy_module_hidden_token_has_no_slot);
    tcase_add_test(tc, test_policy_module_mechanism_list_is_filtered);
    tcase_add_test(tc, test_policy_module_mechanism_info);
    tcase_add_test(tc, test_policy_module_denied_mechanism_everywhere);
    tcase_add_test(tc, test_policy_module_hidden_object_never_found);
    tcase_add_test(tc, test_policy_module_find_fills_the_buffer);
    tcase_add_test(tc, test_policy_module_hidden_handle_is_invalid_everywhere);
    tcase_add_test(tc, test_policy_module_brute_force_reveals_nothing);
    tcase_add_test(tc, test_policy_module_no_change_into_or_out_of_hiding);
    tcase_add_test(tc, test_policy_module_generated_keys_are_sensitive);
    tcase_add_test(tc, test_policy_module_created_keys_are_sensitive);
    tcase_add_test(tc, test_policy_module_no_weakening_by_copy_or_change);
    tcase_add_test(tc, test_policy_module_unextractable_key_is_not_wrapped);
    tcase_add_test(tc, test_policy_module_search_by_secret_value_finds_no_key);
    tcase_add_test(tc, test_policy_module_search_sees_a_key_made_sensitive);
    tcase_add_test(tc, test_policy_module_weak_keys_refused);
    tcase_add_test(tc, test_policy_module_attributes_read_once);
    tcase_add_test(tc, test_policy_module_threads);
    tcase_add_test(tc, test_policy_module_denied_function);
    tcase_add_test(tc, test_policy_module_read_only_token);
    tcase_add_test(tc, test_policy_module_allowed_operations_unchanged);
    suite_add_tcase(suite, tc);

    tcase_add_unchecked_fixture(plain, setup_once, teardown_once);
    tcase_add_checked_fixture(plain, setup_plain, teardown);
    tcase_add_test(plain, test_policy_module_session_lost_on_the_plain_path);
    tcase_add_test(plain, test_policy_module_plain_rules_still_hold);
    suite_add_tcase(suite, plain);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(policy_module_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
