/*
 * p11mux's two boundaries, over copies of the mock backend:
 *
 * - the caller boundary: a NULL pointer the specification requires (the
 *   function table's roles) is CKR_ARGUMENTS_BAD before any backend sees the
 *   call (the mock's call counts prove it never saw it), on the plain path,
 *   the hooked path (trace on) and under a policy; NULL with a zero length
 *   still passes (C_Login with a NULL PIN: protected authentication path);
 *   C_Initialize reads pInitArgs and its pReserved only after the kernel
 *   found them readable (pReserved NUL-terminated, src/core/probe.h);
 * - the backend boundary: a backend's function list is normalised once at
 *   load, so a NULL entry, a 3.0 entry of a 2.40 backend and a NULL 3.0
 *   entry of a 3.0 one answer CKR_FUNCTION_NOT_SUPPORTED, also for the
 *   hand-written functions and the policy's own backend calls.
 */
#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <glib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check-helpers.h"
#include "mock-control.h"
#include "module-fixture.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"
#include "probe.h"

static void *p11mux_dl;
static CK_FUNCTION_LIST_3_2_PTR p11;
static MockControlCallCount calls_a;
static char *conf_plain, *conf_traced, *conf_policy, *conf_holes, *conf_blind;

static const char *mock_a_conf = "[mock]\n"
                                 "interface = 3.0\n"
                                 "[slot 1]\n"
                                 "token-label = bd-a\n"
                                 "pin = 1234\n";

/* a 3.0 backend with holes in both lists, the 3.0 part included */
static const char *mock_holes_conf = "[mock]\n"
                                     "interface = 3.0\n"
                                     "null-functions = C_CloseAllSessions "
                                     "C_GetMechanismInfo C_WaitForSlotEvent "
                                     "C_MessageEncryptInit C_EncryptMessage C_LoginUser "
                                     "C_SessionCancel\n"
                                     "[slot 3]\n"
                                     "token-label = bd-holes\n"
                                     "[object h]\n"
                                     "slot = 3\n"
                                     "class = CKO_DATA\n"
                                     "label = h\n"
                                     "private = false\n"
                                     "value-text = hi\n";

/* a 3.0 backend that opens no session */
static const char *mock_closed_conf = "[mock]\n"
                                      "interface = 3.0\n"
                                      "null-functions = C_OpenSession\n"
                                      "[slot 5]\n"
                                      "token-label = bd-closed\n";

/* a 2.40 backend: every 3.0 function answers CKR_FUNCTION_NOT_SUPPORTED */
static const char *mock_old_conf = "[mock]\n"
                                   "interface = 2.40\n"
                                   "null-functions = C_GetSessionInfo C_CloseSession "
                                   "C_GetAttributeValue\n"
                                   "[slot 4]\n"
                                   "token-label = bd-old\n"
                                   "[object d]\n"
                                   "slot = 4\n"
                                   "class = CKO_DATA\n"
                                   "label = d\n"
                                   "private = false\n"
                                   "value-text = hi\n";

/* a 3.0 backend without the functions p11mux's policy calls itself: it
 * reads module, object and mechanism facts, and destroys what it refuses */
static const char *mock_blind_conf = "[mock]\n"
                                     "interface = 3.0\n"
                                     "null-functions = C_GetInfo C_GetAttributeValue "
                                     "C_GetMechanismList C_DestroyObject\n"
                                     "[slot 6]\n"
                                     "token-label = bd-blind\n"
                                     "[object b]\n"
                                     "slot = 6\n"
                                     "class = CKO_DATA\n"
                                     "label = b\n"
                                     "private = false\n"
                                     "value-text = hi\n";

/* a backend that cannot describe its slot or token to the policy */
static const char *mock_faceless_conf = "[mock]\n"
                                        "interface = 2.40\n"
                                        "null-functions = C_GetSlotInfo C_GetTokenInfo\n"
                                        "[slot 7]\n"
                                        "token-label = bd-faceless\n";

static char *
write_conf(const char *name, const char *extra, const char *const *mocks)
{
    GString *text = g_string_new("[global]\nuser-config = none\n");
    char *path;

    g_string_append(text, extra);
    for (guint i = 0; mocks[i] != NULL; i++) {
        g_autofree char *so_name = g_strdup_printf("%s.so", mocks[i]);
        g_autofree char *so = fixture_path(so_name);

        g_string_append_printf(text, "\n[backend %s]\nmodule = %s\n", mocks[i], so);
    }
    path = fixture_write(name, text->str);
    g_string_free(text, TRUE);
    return path;
}

static void
setup_once(void)
{
    const char *only_a[] = {"bd-a", NULL};
    const char *holes[] = {"bd-holes", "bd-old", "bd-closed", NULL};
    const char *blind[] = {"bd-blind", "bd-faceless", NULL};
    g_autofree char *trace = NULL;
    g_autofree char *traced = NULL;
    g_autofree char *so = NULL;
    CK_C_GetInterface get_interface;
    CK_INTERFACE_PTR interface = NULL;
    void *mock_dl;

    so = fixture_copy_mock("bd-a", mock_a_conf);
    g_free(fixture_copy_mock("bd-holes", mock_holes_conf));
    g_free(fixture_copy_mock("bd-old", mock_old_conf));
    g_free(fixture_copy_mock("bd-closed", mock_closed_conf));
    g_free(fixture_copy_mock("bd-blind", mock_blind_conf));
    g_free(fixture_copy_mock("bd-faceless", mock_faceless_conf));
    trace = fixture_path("trace.txt");
    traced = g_strdup_printf("trace = file:%s\n", trace);
    conf_plain = write_conf("plain.conf", "", only_a);
    conf_traced = write_conf("traced.conf", traced, only_a);
    conf_policy = write_conf("policy.conf",
                             "policy = p\n[policy p]\ntokens = pkcs11:token=bd-a\n"
                             "deny-mechanisms = CKM_MD5\n",
                             only_a);
    conf_holes = write_conf("holes.conf",
                            "policy = p\n[policy p]\ntokens = pkcs11:token=bd-holes "
                            "pkcs11:token=bd-old pkcs11:token=bd-closed\n"
                            "objects = pkcs11:type=data\n",
                            holes);
    conf_blind = write_conf("blind.conf",
                            "policy = p\n[policy p]\ntokens = pkcs11:token=bd-blind "
                            "pkcs11:token=bd-faceless\n"
                            "objects = pkcs11:type=data\n"
                            "deny-mechanisms = CKM_MD5\n",
                            blind);
    p11mux_dl = fixture_load_p11mux();
    get_interface = (CK_C_GetInterface)dlsym(p11mux_dl, "C_GetInterface");
    ck_assert_rv_ok(get_interface(NULL, NULL, &interface, 0));
    p11 = interface->pFunctionList;
    /* the instance p11mux loads: the same path, the same dlopen instance */
    mock_dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(mock_dl != NULL, "%s", dlerror());
    calls_a = (MockControlCallCount)dlsym(mock_dl, "mock_control_call_count");
    ck_assert(calls_a != NULL);
}

static void
setup(void)
{
    if (p11 == NULL) {
        setup_once();
    }
}

static void
teardown(void)
{
    p11->C_Finalize(NULL);
}

static void
initialize_with(const char *conf)
{
    g_setenv("P11MUX_CONF", conf, TRUE);
    ck_assert_rv_ok(p11->C_Initialize(NULL));
}

/* rv must be CKR_ARGUMENTS_BAD, and the backend must not have seen the call. */
#define ck_assert_stopped(function, call)                                                          \
    do {                                                                                           \
        CK_ULONG before_ = calls_a(function);                                                      \
        ck_assert_rv((call), CKR_ARGUMENTS_BAD);                                                   \
        ck_assert_msg(calls_a(function) == before_, "%s reached the backend", #call);              \
    } while (0)

/* The backend must have seen the call (whatever it answered). */
#define ck_assert_passed(function, call)                                                           \
    do {                                                                                           \
        CK_ULONG before_ = calls_a(function);                                                      \
        (void)(call);                                                                              \
        ck_assert_msg(calls_a(function) > before_, "%s did not reach the backend", #call);         \
    } while (0)

static void
check_caller_boundary(void)
{
    CK_SLOT_ID slot = fixture_slot_by_label((CK_FUNCTION_LIST_PTR)p11, "bd-a");
    CK_SESSION_HANDLE session = 0;
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    CK_BYTE random[32] = {0};
    /* CK_SSL3_KEY_MAT_PARAMS and CK_SSL3_KEY_MAT_OUT, written out */
    struct {
        CK_OBJECT_HANDLE client_mac, server_mac, client_key, server_key;
        CK_BYTE_PTR client_iv, server_iv;
    } returned = {0};
    struct {
        CK_ULONG mac_bits, key_bits, iv_bits;
        CK_BBOOL export;
        CK_BYTE_PTR client_random;
        CK_ULONG client_random_len;
        CK_BYTE_PTR server_random;
        CK_ULONG server_random_len;
        void *returned;
    } keymat_params = {160, 0, 0, CK_FALSE, random, 32, random, 32, &returned};
    CK_MECHANISM keymat = {CKM_TLS_KEY_AND_MAC_DERIVE, &keymat_params, sizeof keymat_params};
    CK_BYTE data[16] = {0}, out[64];
    CK_ULONG len = sizeof out, count = 0;
    CK_OBJECT_HANDLE object;
    CK_ATTRIBUTE attribute = {CKA_LABEL, NULL, 0};
    CK_SLOT_ID event_slot;

    ck_assert_stopped("C_GetSlotInfo", p11->C_GetSlotInfo(slot, NULL));
    ck_assert_stopped("C_GetTokenInfo", p11->C_GetTokenInfo(slot, NULL));
    ck_assert_stopped("C_GetMechanismInfo", p11->C_GetMechanismInfo(slot, CKM_SHA256, NULL));
    ck_assert_stopped("C_GetMechanismList", p11->C_GetMechanismList(slot, NULL, NULL));
    ck_assert_rv_ok(p11->C_GetMechanismList(slot, NULL, &count));
    ck_assert_stopped("C_InitToken", p11->C_InitToken(slot, (CK_UTF8CHAR_PTR) "0000", 4, NULL));
    ck_assert_stopped("C_OpenSession",
                      p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, NULL));
    ck_assert_rv_ok(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session));
    ck_assert_stopped("C_GetSessionInfo", p11->C_GetSessionInfo(session, NULL));
    /* NULL PIN, length 0: the protected authentication path passes */
    ck_assert_passed("C_Login", p11->C_Login(session, CKU_USER, NULL, 0));
    ck_assert_stopped("C_Login", p11->C_Login(session, CKU_USER, NULL, 4));
    ck_assert_stopped("C_DigestInit", p11->C_DigestInit(session, NULL));
    ck_assert_rv_ok(p11->C_DigestInit(session, &sha256));
    ck_assert_stopped("C_Digest", p11->C_Digest(session, NULL, 16, out, &len));
    ck_assert_stopped("C_Digest", p11->C_Digest(session, data, 16, out, NULL));
    ck_assert_passed("C_DigestUpdate", p11->C_DigestUpdate(session, NULL, 0));
    /* a NULL output asks for the length */
    ck_assert_passed("C_Digest", p11->C_Digest(session, data, 16, NULL, &len));
    ck_assert_stopped("C_FindObjectsInit", p11->C_FindObjectsInit(session, NULL, 1));
    ck_assert_passed("C_FindObjectsInit", p11->C_FindObjectsInit(session, NULL, 0));
    ck_assert_stopped("C_FindObjects", p11->C_FindObjects(session, NULL, 1, &count));
    ck_assert_stopped("C_FindObjects", p11->C_FindObjects(session, &object, 1, NULL));
    ck_assert_rv_ok(p11->C_FindObjectsFinal(session));
    ck_assert_stopped("C_CreateObject", p11->C_CreateObject(session, &attribute, 1, NULL));
    /* the SSL/TLS key-and-MAC derivations return their keys in the
     * parameter: phKey may be NULL */
    /* (the mock implements no derivation: its default answer is the proof
     * that the call reached it, where p11mux would say CKR_ARGUMENTS_BAD) */
    ck_assert_rv(p11->C_DeriveKey(session, &keymat, 0x500, NULL, 0, NULL),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_stopped("C_DeriveKey", p11->C_DeriveKey(session, NULL, 0x500, NULL, 0, NULL));
    ck_assert_stopped("C_GetAttributeValue", p11->C_GetAttributeValue(session, 0x500, NULL, 1));
    ck_assert_stopped("C_GetObjectSize", p11->C_GetObjectSize(session, 0x500, NULL));
    ck_assert_stopped("C_GenerateRandom", p11->C_GenerateRandom(session, NULL, 16));
    ck_assert_passed("C_GenerateRandom", p11->C_GenerateRandom(session, out, 16));
    ck_assert_stopped("C_EncryptMessage",
                      p11->C_EncryptMessage(session, NULL, 12, NULL, 0, data, 16, out, &len));
    ck_assert_stopped("C_WaitForSlotEvent", p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL));
    ck_assert_stopped("C_WaitForSlotEvent",
                      p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event_slot, (void *)&len));
    ck_assert_rv(p11->C_GetSlotList(CK_FALSE, NULL, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(p11->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(p11->C_Finalize((void *)&len), CKR_ARGUMENTS_BAD);
    ck_assert_rv_ok(p11->C_CloseSession(session));
}

START_TEST(test_boundary_required_pointers_plain_path)
{
    initialize_with(conf_plain);
    check_caller_boundary();
}
END_TEST

START_TEST(test_boundary_required_pointers_hooked_path)
{
    initialize_with(conf_traced);
    check_caller_boundary();
}
END_TEST

START_TEST(test_boundary_required_pointers_under_policy)
{
    initialize_with(conf_policy);
    check_caller_boundary();
}
END_TEST

START_TEST(test_boundary_not_initialized_comes_first)
{
    CK_ULONG len;

    ck_assert_rv(p11->C_GetSlotInfo(1, NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(p11->C_GetInfo(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, NULL),
                 CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(p11->C_Finalize((void *)&len), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(p11->C_WaitForSlotEvent(0, NULL, NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}
END_TEST

/* Two pages, the second one made unreadable (PROT_NONE or unmapped): the
 * end of the first one. */
static char *
readable_end(gboolean unmap, gsize *mapped)
{
    gsize page = (gsize)sysconf(_SC_PAGESIZE);
    char *area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    ck_assert(area != MAP_FAILED);
    if (unmap) {
        ck_assert_int_eq(munmap(area + page, page), 0);
    } else {
        ck_assert_int_eq(mprotect(area + page, page, PROT_NONE), 0);
    }
    *mapped = 2 * page;
    return area + page;
}

/* A string of n bytes (n >= 7) without its NUL, ending where the readable
 * memory ends. */
static char *
straddling_string(gsize n, gboolean unmap, gsize *mapped)
{
    char *end = readable_end(unmap, mapped);

    memset(end - n, 'x', n);
    memcpy(end - n, "config=", 7);
    return end - n;
}

START_TEST(test_boundary_initialize_reserved_is_probed)
{
    gsize page = (gsize)sysconf(_SC_PAGESIZE), mapped;
    CK_C_INITIALIZE_ARGS args = {0};
    g_autofree char *long_text = g_strnfill(5000, 'y');
    g_autofree char *reserved = g_strdup_printf("config=%s", conf_plain);
    char *text;

    g_unsetenv("P11MUX_CONF");
    /* pInitArgs itself unreadable, or running into an unreadable page */
    ck_assert_rv(p11->C_Initialize((void *)1), CKR_ARGUMENTS_BAD);
    text = readable_end(TRUE, &mapped);
    ck_assert_rv(p11->C_Initialize(text - sizeof args / 2), CKR_ARGUMENTS_BAD);
    munmap(text - page, page);
    args.flags = CKF_OS_LOCKING_OK;
    /* no mapping at all */
    args.pReserved = (void *)1;
    ck_assert_rv(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    args.flags = 0;
    ck_assert_rv(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    /* readable up to the end of a page, no NUL before it */
    text = straddling_string(100, FALSE, &mapped);
    args.pReserved = text;
    ck_assert_rv(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    munmap(text + 100 - page, mapped);
    text = straddling_string(page, TRUE, &mapped);
    args.pReserved = text;
    ck_assert_rv(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    munmap(text, page);
    /* readable, but no NUL within the bound */
    args.pReserved = long_text;
    ck_assert_rv(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    /* still works */
    args.pReserved = reserved;
    ck_assert_rv_ok(p11->C_Initialize(&args));
    ck_assert_uint_ne(fixture_slot_by_label((CK_FUNCTION_LIST_PTR)p11, "bd-a"), 0);
}
END_TEST

START_TEST(test_boundary_probe_both_ways)
{
    char *(*const probes[])(const void *, gsize) = {p11mux_probe_string_dup,
                                                    p11mux_probe_string_dup_by_pipe};
    gsize page = (gsize)sysconf(_SC_PAGESIZE), mapped;

    guint64 value = 42, copied = 0;
    char *end = readable_end(FALSE, &mapped);

    ck_assert(p11mux_probe_copy(&value, sizeof value, &copied));
    ck_assert_uint_eq(copied, 42);
    ck_assert(!p11mux_probe_copy(NULL, sizeof value, &copied));
    ck_assert(!p11mux_probe_copy(end - 4, sizeof value, &copied));
    ck_assert(p11mux_probe_copy(end - 8, sizeof value, &copied));
    munmap(end - page, mapped);
    for (guint i = 0; i < G_N_ELEMENTS(probes); i++) {
        g_autofree char *copy = probes[i]("config=/x y", 4096);
        char *text = straddling_string(10, FALSE, &mapped);

        ck_assert_str_eq(copy, "config=/x y");
        ck_assert_ptr_null(probes[i]((void *)1, 4096));
        ck_assert_ptr_null(probes[i](NULL, 4096));
        ck_assert_ptr_null(probes[i](text, 4096));
        /* the NUL must lie within the bound */
        text[9] = '\0';
        g_free(copy);
        copy = probes[i](text, 10);
        ck_assert_str_eq(copy, "config=xx");
        ck_assert_ptr_null(probes[i](text, 9));
        munmap(text + 10 - page, mapped);
    }
}
END_TEST

/* A 2.40 list ending where the readable memory ends: normalising it reads
 * nothing past it, fills its holes and every 3.0 entry with stubs. */
START_TEST(test_boundary_normalise_reads_a_2_40_list_only)
{
    gsize page = (gsize)sysconf(_SC_PAGESIZE), mapped;
    char *end = readable_end(FALSE, &mapped);
    CK_FUNCTION_LIST *list = (CK_FUNCTION_LIST *)(end - sizeof(CK_FUNCTION_LIST));
    CK_FUNCTION_LIST_3_2 out;
    CK_SLOT_INFO info;

    memset(list, 0, sizeof *list);
    list->version = (CK_VERSION){2, 40};
    list->C_GetInfo = (CK_C_GetInfo)p11->C_GetInfo;
    p11mux_functions_normalise(&out, list, P11MUX_INTERFACE_2_40);
    ck_assert_uint_eq(out.version.major, 2);
    ck_assert_ptr_eq(out.C_GetInfo, p11->C_GetInfo);
    ck_assert_rv(out.C_GetSlotInfo(1, &info), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(out.C_LoginUser(1, CKU_USER, NULL, 0, NULL, 0), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(out.C_MessageVerifyFinal(1), CKR_FUNCTION_NOT_SUPPORTED);
    munmap(end - page, mapped);
}
END_TEST

/* The same for a 3.0 list: nothing past its end is read, and every 3.2
 * entry is a stub. */
START_TEST(test_boundary_normalise_reads_a_3_0_list_only)
{
    gsize page = (gsize)sysconf(_SC_PAGESIZE), mapped;
    char *end = readable_end(FALSE, &mapped);
    CK_FUNCTION_LIST_3_0 *list = (CK_FUNCTION_LIST_3_0 *)(end - sizeof(CK_FUNCTION_LIST_3_0));
    CK_FUNCTION_LIST_3_2 out;

    memset(list, 0, sizeof *list);
    list->version = (CK_VERSION){3, 0};
    list->C_GetInfo = (CK_C_GetInfo)p11->C_GetInfo;
    list->C_MessageVerifyFinal = p11->C_MessageVerifyFinal;
    p11mux_functions_normalise(&out, (CK_FUNCTION_LIST *)list, P11MUX_INTERFACE_3_0);
    ck_assert_uint_eq(out.version.major, 3);
    ck_assert_ptr_eq(out.C_MessageVerifyFinal, p11->C_MessageVerifyFinal);
    ck_assert_rv(out.C_VerifySignatureFinal(1), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(out.C_EncapsulateKey(1, NULL, 0, NULL, 0, NULL, NULL, NULL),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(out.C_AsyncJoin(1, NULL, 0, NULL, 0), CKR_FUNCTION_NOT_SUPPORTED);
    munmap(end - page, mapped);
}
END_TEST

/* A list that says 3.2 but came as a 2.40 one (C_GetFunctionList: the
 * version overstates what the structure holds) is read as 2.40: nothing
 * past a 2.40 list, every 3.0 and 3.2 entry a stub. */
START_TEST(test_boundary_normalise_believes_the_layout_not_the_version)
{
    gsize page = (gsize)sysconf(_SC_PAGESIZE), mapped;
    char *end = readable_end(FALSE, &mapped);
    CK_FUNCTION_LIST *list = (CK_FUNCTION_LIST *)(end - sizeof(CK_FUNCTION_LIST));
    CK_FUNCTION_LIST_3_2 out;

    memset(list, 0, sizeof *list);
    list->version = (CK_VERSION){3, 2};
    list->C_GetInfo = (CK_C_GetInfo)p11->C_GetInfo;
    p11mux_functions_normalise(&out, list, P11MUX_INTERFACE_2_40);
    ck_assert_ptr_eq(out.C_GetInfo, p11->C_GetInfo);
    ck_assert_rv(out.C_MessageVerifyFinal(1), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(out.C_VerifySignatureFinal(1), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(out.C_UnwrapKeyAuthenticated(1, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL),
                 CKR_FUNCTION_NOT_SUPPORTED);
    munmap(end - page, mapped);
}
END_TEST

START_TEST(test_boundary_backend_holes_answer_not_supported)
{
    CK_SLOT_ID holes, old, closed, event_slot;
    CK_SESSION_HANDLE session = 0, session_old = 0;
    CK_TOKEN_INFO token;
    CK_MECHANISM_INFO mechanism_info;
    /* known and without a parameter: a policy lets it through to the backend */
    CK_MECHANISM mechanism = {CKM_SHA256, NULL, 0};
    CK_SESSION_INFO session_info;
    CK_BYTE data[8] = {0}, out[8];
    CK_ULONG len = sizeof out, count;
    CK_ATTRIBUTE attribute = {CKA_LABEL, out, sizeof out};
    CK_OBJECT_HANDLE object;
    CK_RV rv;

    /* the policy's own calls (token and object filters) go through the holes too */
    initialize_with(conf_holes);
    holes = fixture_slot_by_label((CK_FUNCTION_LIST_PTR)p11, "bd-holes");
    old = fixture_slot_by_label((CK_FUNCTION_LIST_PTR)p11, "bd-old");
    closed = fixture_slot_by_label((CK_FUNCTION_LIST_PTR)p11, "bd-closed");
    ck_assert_rv(p11->C_OpenSession(closed, CKF_SERIAL_SESSION, NULL, NULL, &session),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(p11->C_GetMechanismInfo(holes, CKM_SHA256, &mechanism_info),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(p11->C_CloseAllSessions(holes), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event_slot, NULL), CKR_NO_EVENT);
    /* the 3.0 backend's unfilled 3.0 entries */
    ck_assert_rv_ok(p11->C_OpenSession(holes, CKF_SERIAL_SESSION, NULL, NULL, &session));
    ck_assert_rv(p11->C_MessageEncryptInit(session, &mechanism, 0x500), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(p11->C_EncryptMessage(session, NULL, 0, NULL, 0, data, 8, out, &len),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(p11->C_LoginUser(session, CKU_USER, NULL, 0, NULL, 0), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(p11->C_SessionCancel(session, 0), CKR_FUNCTION_NOT_SUPPORTED);
    /* and its filled ones still work */
    ck_assert_rv_ok(p11->C_GetSessionInfo(session, &session_info));
    ck_assert_rv_ok(p11->C_CloseSession(session));
    /* the 2.40 backend */
    ck_assert_rv_ok(p11->C_GetTokenInfo(old, &token));
    ck_assert_rv_ok(p11->C_OpenSession(old, CKF_SERIAL_SESSION, NULL, NULL, &session_old));
    ck_assert_rv(p11->C_GetSessionInfo(session_old, &session_info), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(p11->C_MessageEncryptInit(session_old, &mechanism, 0x500),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(p11->C_EncryptMessage(session_old, NULL, 0, NULL, 0, data, 8, out, &len),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(p11->C_LoginUser(session_old, CKU_USER, NULL, 0, NULL, 0),
                 CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(p11->C_SessionCancel(session_old, 0), CKR_FUNCTION_NOT_SUPPORTED);
    /* the object filter reads the found object's attributes: a hole */
    ck_assert_rv_ok(p11->C_FindObjectsInit(session_old, NULL, 0));
    rv = p11->C_FindObjects(session_old, &object, 1, &count);
    ck_assert_msg(rv == CKR_OK || rv == CKR_FUNCTION_NOT_SUPPORTED, "C_FindObjects: 0x%lx", rv);
    ck_assert_rv(p11->C_GetAttributeValue(session_old, 0x500, &attribute, 1),
                 CKR_FUNCTION_NOT_SUPPORTED);
    p11->C_FindObjectsFinal(session_old);
    ck_assert_rv(p11->C_CloseSession(session_old), CKR_FUNCTION_NOT_SUPPORTED);
}
END_TEST

/* p11mux's own calls into a backend (src/core/backend.h) through its holes:
 * each answers CKR_FUNCTION_NOT_SUPPORTED, and p11mux takes the fallback it
 * documents for a backend that does not answer, without crashing. */
START_TEST(test_boundary_own_calls_through_holes)
{
    CK_SLOT_ID slots[4], blind;
    CK_ULONG count = G_N_ELEMENTS(slots);
    CK_MECHANISM_TYPE mechanisms[8];
    CK_SESSION_HANDLE session = 0;
    CK_OBJECT_HANDLE found[4], made = 0x77;
    CK_OBJECT_CLASS data_class = CKO_DATA;
    CK_BBOOL no = CK_FALSE;
    CK_BYTE label[8];
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &data_class, sizeof data_class},
        {CKA_TOKEN, &no, sizeof no},
    };
    CK_ATTRIBUTE attribute = {CKA_LABEL, label, sizeof label};

    /* the policy engine's C_GetInfo of each module: a hole, no vendor known */
    initialize_with(conf_blind);
    /* the policy's C_GetSlotInfo and C_GetTokenInfo: holes, so the slot
     * cannot be described and is not shown where tokens are filtered */
    ck_assert_rv_ok(p11->C_GetSlotList(CK_FALSE, slots, &count));
    ck_assert_uint_eq(count, 1);
    blind = fixture_slot_by_label((CK_FUNCTION_LIST_PTR)p11, "bd-blind");
    ck_assert_uint_eq(slots[0], blind);
    /* the policy's own C_GetMechanismList (mechanism rules): a hole */
    count = 0;
    ck_assert_rv(p11->C_GetMechanismList(blind, NULL, &count), CKR_FUNCTION_NOT_SUPPORTED);
    count = G_N_ELEMENTS(mechanisms);
    ck_assert_rv(p11->C_GetMechanismList(blind, mechanisms, &count), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv_ok(
        p11->C_OpenSession(blind, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session));
    /* the object filter's C_GetAttributeValue: a hole, so the backend's
     * object cannot be judged and is not shown */
    ck_assert_rv_ok(p11->C_FindObjectsInit(session, NULL, 0));
    count = G_N_ELEMENTS(found);
    ck_assert_rv_ok(p11->C_FindObjects(session, found, G_N_ELEMENTS(found), &count));
    ck_assert_uint_eq(count, 0);
    ck_assert_rv_ok(p11->C_FindObjectsFinal(session));
    ck_assert_rv(p11->C_GetAttributeValue(session, 1, &attribute, 1), CKR_FUNCTION_NOT_SUPPORTED);
    /* a new object cannot be read back either: refused, the policy's
     * C_DestroyObject of it is a hole too, and no handle is given out */
    ck_assert_rv(p11->C_CreateObject(session, template, G_N_ELEMENTS(template), &made),
                 CKR_FUNCTION_FAILED);
    ck_assert_uint_eq(made, CK_INVALID_HANDLE);
    ck_assert_rv_ok(p11->C_CloseSession(session));
}
END_TEST

static Suite *
boundary_suite(void)
{
    Suite *suite = suite_create("boundary");
    TCase *tc = tcase_create("boundary");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_boundary_not_initialized_comes_first);
    tcase_add_test(tc, test_boundary_required_pointers_plain_path);
    tcase_add_test(tc, test_boundary_required_pointers_hooked_path);
    tcase_add_test(tc, test_boundary_required_pointers_under_policy);
    tcase_add_test(tc, test_boundary_initialize_reserved_is_probed);
    tcase_add_test(tc, test_boundary_probe_both_ways);
    tcase_add_test(tc, test_boundary_normalise_reads_a_2_40_list_only);
    tcase_add_test(tc, test_boundary_normalise_reads_a_3_0_list_only);
    tcase_add_test(tc, test_boundary_normalise_believes_the_layout_not_the_version);
    tcase_add_test(tc, test_boundary_backend_holes_answer_not_supported);
    tcase_add_test(tc, test_boundary_own_calls_through_holes);
    suite_add_tcase(suite, tc);
    return suite;
}

int
main(void)
{
    return fixture_run_suite(boundary_suite());
}
