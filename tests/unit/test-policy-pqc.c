/*
 * The policy on the entry points of PKCS #11 3.2: p11mux.so over a 3.2
 * copy of the mock (its ML-KEM stand-ins make real key objects) under a
 * policy of object rules, parameter-set minimums and force-sensitive.  An
 * application tries what each rule forbids through C_EncapsulateKey,
 * C_DecapsulateKey, C_VerifySignatureInit and the authenticated wrap; the
 * mock's call counts show where p11mux decided before the backend saw the
 * call, and a direct copy of the mock shows what the keys made really are.
 */
#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <glib.h>
#include <string.h>

#include "check-helpers.h"
#include "mock-control.h"
#include "p11mux-pkcs11.h"
#include "scratch.h"

/* Objects get handles from 0x500 in file order (tests/mock/README.md). */
enum {
    KEM768_PUBLIC = 0x500,
    KEM768_PRIVATE,
    KEM512_PUBLIC, /* below ml-kem:768 */
    KEM512_PRIVATE,
    BACKUP_KEM,    /* hidden by deny-objects */
    LOCKED_AES,    /* sensitive, unextractable */
    WRAPPING_AES,
    DSA44_PUBLIC,  /* below ml-dsa:65 */
    DSA65_PUBLIC,
    PLAIN_AES,     /* extractable */
};

#define SET(n) "CKA_PARAMETER_SET = 0" #n "00000000000000\n"
#define KEM(section, label, klass, set)                                                            \
    "[object " section "]\nslot = 4\nclass = " klass "\nkey-type = CKK_ML_KEM\nlabel = " label     \
    "\nprivate = false\n" SET(set)

static const char mock_conf[] =
    "[mock]\n"
    "interface = 3.2\n"
    "[slot 4]\n"
    "token-label = pqc-token\n"
    "mechanisms = CKM_ML_KEM CKM_ML_KEM_KEY_PAIR_GEN CKM_ML_DSA CKM_AES_GCM CKM_SHA256\n"
    KEM("kem-768-public", "kem-768", "CKO_PUBLIC_KEY", 2)
    KEM("kem-768-private", "kem-768", "CKO_PRIVATE_KEY", 2)
    KEM("kem-512-public", "kem-512", "CKO_PUBLIC_KEY", 1)
    KEM("kem-512-private", "kem-512", "CKO_PRIVATE_KEY", 1)
    KEM("backup", "backup-kem", "CKO_PRIVATE_KEY", 3)
    "[object locked]\nslot = 4\nclass = CKO_SECRET_KEY\nkey-type = CKK_AES\nlabel = locked\n"
    "value-text = locked-aes-key-of-32-bytes-long!\nsensitive = true\nextractable = false\n"
    "private = false\n"
    "[object wrapping]\nslot = 4\nclass = CKO_SECRET_KEY\nkey-type = CKK_AES\nlabel = wrapping\n"
    "value-text = wrapping-aes-key-of-32-bytes-lo!\nprivate = false\n"
    "[object dsa-44]\nslot = 4\nclass = CKO_PUBLIC_KEY\nkey-type = CKK_ML_DSA\nlabel = dsa-44\n"
    "private = false\n" SET(1)
    "[object dsa-65]\nslot = 4\nclass = CKO_PUBLIC_KEY\nkey-type = CKK_ML_DSA\nlabel = dsa-65\n"
    "private = false\n" SET(2)
    "[object plain]\nslot = 4\nclass = CKO_SECRET_KEY\nkey-type = CKK_AES\nlabel = plain\n"
    "value-text = plain-aes-key-of-32-bytes-long!!\nextractable = true\nprivate = false\n";

static const char p11mux_conf[] = "[global]\nuser-config = none\n"
                                  "[backend pqc]\nmodule = %s/mock-q.so\npolicy = pqc\n"
                                  "[policy pqc]\n"
                                  "deny-objects = pkcs11:object=backup-kem\n"
                                  "min-key-bits = ml-kem:768 ml-dsa:65\n"
                                  "force-sensitive = true\n";

static char *tmpdir;
static void *p11mux_dl;
static void *mock_dl;
static CK_FUNCTION_LIST_3_2_PTR p11;
static CK_FUNCTION_LIST_3_2_PTR direct; /* the same mock copy, not through p11mux */
static MockControlCallCount mock_calls;

static CK_MECHANISM kem = {CKM_ML_KEM, NULL, 0};
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static void
setup_once(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *so = NULL;
    g_autofree char *conf = NULL;
    g_autofree char *conf_path = NULL;
    CK_C_GetInterface get_interface;
    CK_INTERFACE_PTR interface = NULL;

    tmpdir = g_dir_make_tmp("p11mux-test-policy-pqc-XXXXXX", NULL);
    so = scratch_copy_mock(tmpdir, "mock-q", mock_conf, &error);
    ck_assert_msg(so != NULL, "cannot copy the mock: %s", error != NULL ? error->message : "");
    conf = g_strdup_printf(p11mux_conf, tmpdir);
    conf_path = g_build_filename(tmpdir, "p11mux.conf", NULL);
    ck_assert(g_file_set_contents(conf_path, conf, -1, NULL));
    g_setenv("P11MUX_CONF", conf_path, TRUE);
    g_setenv("XDG_CONFIG_HOME", tmpdir, TRUE);
    p11mux_dl = scratch_open_p11mux(&error);
    ck_assert_msg(p11mux_dl != NULL, "%s", error != NULL ? error->message : "");
    get_interface = (CK_C_GetInterface)dlsym(p11mux_dl, "C_GetInterface");
    ck_assert_rv_ok(get_interface(NULL, NULL, &interface, 0));
    p11 = interface->pFunctionList;
    mock_dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(mock_dl != NULL, "%s", dlerror());
    mock_calls = (MockControlCallCount)dlsym(mock_dl, "mock_control_call_count");
    get_interface = (CK_C_GetInterface)dlsym(mock_dl, "C_GetInterface");
    ck_assert_ptr_nonnull(mock_calls);
    ck_assert_rv_ok(get_interface(NULL, NULL, &interface, 0));
    direct = interface->pFunctionList;
}

static void
teardown_once(void)
{
    scratch_remove_tree(tmpdir);
    g_clear_pointer(&tmpdir, g_free);
}

static void
setup(void)
{
    /* p11mux initialises the mock; the direct list shares that state */
    ck_assert_rv_ok(p11->C_Initialize(NULL));
}

static void
teardown(void)
{
    p11->C_Finalize(NULL);
}

static CK_SESSION_HANDLE
open_pqc(void)
{
    CK_SLOT_ID slots[4];
    CK_ULONG count = G_N_ELEMENTS(slots);
    CK_SESSION_HANDLE s = 0;

    ck_assert_rv_ok(p11->C_GetSlotList(CK_TRUE, slots, &count));
    ck_assert_uint_eq(count, 1);
    ck_assert_rv_ok(p11->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                                       &s));
    return s;
}

/* Encapsulate with key into a new key of tmpl; the backend's calls counted. */
static CK_RV
encapsulate(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
            CK_OBJECT_HANDLE *made)
{
    CK_BYTE ciphertext[64];
    CK_ULONG len = sizeof ciphertext;

    *made = CK_INVALID_HANDLE;
    return p11->C_EncapsulateKey(s, &kem, key, tmpl, n, ciphertext, &len, made);
}

static CK_RV
decapsulate(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
            CK_OBJECT_HANDLE *made)
{
    CK_BYTE ciphertext[32];

    memset(ciphertext, 0x4b, sizeof ciphertext);
    *made = CK_INVALID_HANDLE;
    return p11->C_DecapsulateKey(s, &kem, key, tmpl, n, ciphertext, sizeof ciphertext, made);
}

/* A key the policy hides is no key, in decapsulation as anywhere: the
 * backend never sees the call. */
START_TEST(test_policy_pqc_hidden_key_in_decapsulate)
{
    CK_SESSION_HANDLE s = open_pqc();
    CK_ULONG before = mock_calls("C_DecapsulateKey");
    CK_OBJECT_HANDLE made;

    ck_assert_rv(decapsulate(s, BACKUP_KEM, NULL, 0, &made), CKR_KEY_HANDLE_INVALID);
    ck_assert_uint_eq(made, CK_INVALID_HANDLE);
    ck_assert_uint_eq(mock_calls("C_DecapsulateKey"), before);
    ck_assert_rv_ok(decapsulate(s, KEM768_PRIVATE, NULL, 0, &made));
    ck_assert_uint_ne(made, CK_INVALID_HANDLE);
    ck_assert_uint_eq(mock_calls("C_DecapsulateKey"), before + 1);
}
END_TEST

/* min-key-bits = ml-kem:768: ML-KEM-512 keys are refused as a key too
 * small, both ways; ml-dsa:65 likewise for verification. */
START_TEST(test_policy_pqc_parameter_set_below_the_minimum)
{
    CK_SESSION_HANDLE s = open_pqc();
    CK_ULONG encapsulations = mock_calls("C_EncapsulateKey");
    CK_ULONG decapsulations = mock_calls("C_DecapsulateKey");
    CK_MECHANISM dsa = {CKM_ML_DSA, NULL, 0};
    CK_BYTE signature[32] = {0};
    CK_OBJECT_HANDLE made;

    ck_assert_rv(encapsulate(s, KEM512_PUBLIC, NULL, 0, &made), CKR_KEY_SIZE_RANGE);
    ck_assert_rv(decapsulate(s, KEM512_PRIVATE, NULL, 0, &made), CKR_KEY_SIZE_RANGE);
    ck_assert_uint_eq(mock_calls("C_EncapsulateKey"), encapsulations);
    ck_assert_uint_eq(mock_calls("C_DecapsulateKey"), decapsulations);
    ck_assert_rv_ok(encapsulate(s, KEM768_PUBLIC, NULL, 0, &made));
    ck_assert_uint_eq(mock_calls("C_EncapsulateKey"), encapsulations + 1);

    ck_assert_rv(p11->C_VerifySignatureInit(s, &dsa, DSA44_PUBLIC, signature, sizeof signature),
                 CKR_KEY_SIZE_RANGE);
    ck_assert_rv_ok(p11->C_VerifySignatureInit(s, &dsa, DSA65_PUBLIC, signature, sizeof signature));
}
END_TEST

/* force-sensitive: a shared secret an application asks for in the clear is
 * refused, and one whose template says nothing is made sensitive and
 * unextractable (the backend got the completed template: the direct view
 * of the key shows it). */
START_TEST(test_policy_pqc_no_escalation_through_encapsulation)
{
    CK_SESSION_HANDLE s = open_pqc();
    CK_ULONG before = mock_calls("C_EncapsulateKey");
    CK_ATTRIBUTE open_key[] = {{CKA_SENSITIVE, &no, sizeof no}, {CKA_EXTRACTABLE, &yes, sizeof yes}};
    CK_ATTRIBUTE extractable[] = {{CKA_EXTRACTABLE, &yes, sizeof yes}};
    CK_BYTE value[32];
    CK_BBOOL sensitive = CK_FALSE, can_extract = CK_TRUE;
    CK_ATTRIBUTE read[] = {{CKA_SENSITIVE, &sensitive, sizeof sensitive},
                           {CKA_EXTRACTABLE, &can_extract, sizeof can_extract}};
    CK_ATTRIBUTE read_value = {CKA_VALUE, value, sizeof value};
    CK_OBJECT_HANDLE made;

    ck_assert_rv(encapsulate(s, KEM768_PUBLIC, open_key, 2, &made), CKR_TEMPLATE_INCONSISTENT);
    ck_assert_rv(encapsulate(s, KEM768_PUBLIC, extractable, 1, &made), CKR_TEMPLATE_INCONSISTENT);
    ck_assert_rv(decapsulate(s, KEM768_PRIVATE, open_key, 2, &made), CKR_TEMPLATE_INCONSISTENT);
    ck_assert_uint_eq(mock_calls("C_EncapsulateKey"), before);

    ck_assert_rv_ok(encapsulate(s, KEM768_PUBLIC, NULL, 0, &made));
    ck_assert_rv_ok(p11->C_GetAttributeValue(s, made, read, 2));
    ck_assert_uint_eq(sensitive, CK_TRUE);
    ck_assert_uint_eq(can_extract, CK_FALSE);
    ck_assert_rv(p11->C_GetAttributeValue(s, made, &read_value, 1), CKR_ATTRIBUTE_SENSITIVE);
    ck_assert_rv_ok(decapsulate(s, KEM768_PRIVATE, NULL, 0, &made));
    ck_assert_rv(p11->C_GetAttributeValue(s, made, &read_value, 1), CKR_ATTRIBUTE_SENSITIVE);
}
END_TEST

/* The authenticated wrap is an export: an unextractable key is refused as
 * by C_WrapKey (the mock has no authenticated wrap: an allowed call gets
 * its CKR_FUNCTION_NOT_SUPPORTED); the mechanism's per-message parameter is
 * read as one (CK_GCM_MESSAGE_PARAMS), and any other is refused. */
START_TEST(test_policy_pqc_unextractable_key_through_authenticated_wrap)
{
    CK_SESSION_HANDLE s = open_pqc();
    CK_BYTE iv[12] = {0}, tag[16];
    CK_GCM_MESSAGE_PARAMS message = {iv, sizeof iv, 0, CKG_NO_GENERATE, tag, 128};
    CK_MECHANISM gcm = {CKM_AES_GCM, &message, sizeof message};
    CK_MECHANISM bad = {CKM_AES_GCM, NULL, sizeof message};
    CK_MECHANISM ccm = {CKM_AES_CCM, &message, sizeof message};
    CK_BYTE wrapped[128];
    CK_ULONG len = sizeof wrapped;

    ck_assert_rv(p11->C_WrapKeyAuthenticated(s, &gcm, WRAPPING_AES, LOCKED_AES,
                                             (CK_BYTE_PTR) "ad", 2, wrapped, &len),
                 CKR_KEY_UNEXTRACTABLE);
    ck_assert_rv(p11->C_WrapKeyAuthenticated(s, &gcm, WRAPPING_AES, BACKUP_KEM,
                                             (CK_BYTE_PTR) "ad", 2, wrapped, &len),
                 CKR_KEY_HANDLE_INVALID);
    ck_assert_rv(p11->C_WrapKeyAuthenticated(s, &bad, WRAPPING_AES, PLAIN_AES,
                                             (CK_BYTE_PTR) "ad", 2, wrapped, &len),
                 CKR_MECHANISM_PARAM_INVALID);
    /* a per-message layout p11mux does not read: the closed world refuses */
    ck_assert_rv(p11->C_WrapKeyAuthenticated(s, &ccm, WRAPPING_AES, PLAIN_AES,
                                             (CK_BYTE_PTR) "ad", 2, wrapped, &len),
                 CKR_MECHANISM_INVALID);
    ck_assert_uint_eq(mock_calls("C_WrapKeyAuthenticated"), 0);
    ck_assert_rv(p11->C_WrapKeyAuthenticated(s, &gcm, WRAPPING_AES, PLAIN_AES,
                                             (CK_BYTE_PTR) "ad", 2, wrapped, &len),
                 CKR_FUNCTION_NOT_SUPPORTED);
}
END_TEST

/* What the policy reads: the mock copy seen directly holds the keys the
 * tests name (so that a refusal above is the policy's, not a missing key). */
START_TEST(test_policy_pqc_fixture_keys_exist)
{
    CK_SESSION_HANDLE s = 0;
    CK_ULONG set = 0;
    CK_ATTRIBUTE read = {CKA_PARAMETER_SET, &set, sizeof set};

    ck_assert_rv_ok(direct->C_OpenSession(4, CKF_SERIAL_SESSION, NULL, NULL, &s));
    ck_assert_rv_ok(direct->C_GetAttributeValue(s, KEM512_PUBLIC, &read, 1));
    ck_assert_uint_eq(set, CKP_ML_KEM_512);
    ck_assert_rv_ok(direct->C_GetAttributeValue(s, BACKUP_KEM, &read, 1));
    ck_assert_uint_eq(set, CKP_ML_KEM_1024);
    ck_assert_rv_ok(direct->C_GetAttributeValue(s, DSA44_PUBLIC, &read, 1));
    ck_assert_uint_eq(set, CKP_ML_DSA_44);
    ck_assert_rv_ok(direct->C_CloseSession(s));
}
END_TEST

static Suite *
policy_pqc_suite(void)
{
    Suite *suite = suite_create("policy-pqc");
    TCase *tc = tcase_create("pqc");

    tcase_add_unchecked_fixture(tc, setup_once, teardown_once);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_policy_pqc_fixture_keys_exist);
    tcase_add_test(tc, test_policy_pqc_hidden_key_in_decapsulate);
    tcase_add_test(tc, test_policy_pqc_parameter_set_below_the_minimum);
    tcase_add_test(tc, test_policy_pqc_no_escalation_through_encapsulation);
    tcase_add_test(tc, test_policy_pqc_unextractable_key_through_authenticated_wrap);
    suite_add_tcase(suite, tc);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(policy_pqc_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
