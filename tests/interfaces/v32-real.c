/*
 * PKCS #11 3.2 through p11mux over real backends that stop short of it:
 * NSS softoken (3.0) and SoftHSM2 (2.40).  Through p11mux's 3.2 list each of
 * the twelve 3.2 functions, called on a session of either backend with
 * sound arguments, answers CKR_FUNCTION_NOT_SUPPORTED (a function the
 * backend does not have), and the lists p11mux hands out are whole:
 * every entry of the 3.2, 3.0 and 2.40 lists set, and a client asking for
 * 3.0 or 2.40 gets a list of that version, never the 3.2 one.
 *
 * Usage: v32-real P11MUX_SO TOKEN_LABEL...
 * Exit 0 when every check holds; prints one line per check.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "p11mux-pkcs11.h"
#include "report.h"
#include "token-slot.h"

static int failures;

static void
expect(const char *what, const char *label, CK_RV rv, CK_RV want)
{
    char labelled[256];

    snprintf(labelled, sizeof labelled, "%s (%s)", what, label);
    failures += p11mux_test_rv(labelled, rv, want);
}

static void
expect_true(const char *what, int holds)
{
    printf("%s: %s\n", holds ? "PASS" : "FAIL", what);
    failures += !holds;
}

/* Whether every entry of list, as far as its version goes, is set. */
static int
list_complete(const CK_VERSION *version, void *const *first)
{
    size_t size = sizeof(CK_FUNCTION_LIST), i;

    if (version->major == 3) {
        size = version->minor >= 2 ? sizeof(CK_FUNCTION_LIST_3_2) : sizeof(CK_FUNCTION_LIST_3_0);
    }
    for (i = 0; i < (size - sizeof(CK_VERSION)) / sizeof(void *); i++) {
        if (first[i] == NULL) {
            return 0;
        }
    }
    return 1;
}

static CK_SLOT_ID
slot_by_label(CK_FUNCTION_LIST_3_2_PTR p11, const char *label)
{
    return p11mux_test_slot_named((const CK_FUNCTION_LIST *)p11, P11MUX_TEST_BY_TOKEN_LABEL, label);
}

/* The twelve 3.2 functions on a session of label's backend. */
static void
check_token(CK_FUNCTION_LIST_3_2_PTR p11, const char *label)
{
    CK_SLOT_ID slot = slot_by_label(p11, label);
    CK_SESSION_HANDLE s = 0;
    CK_MECHANISM kem = {CKM_ML_KEM, NULL, 0}, dsa = {CKM_ML_DSA, NULL, 0};
    CK_BYTE iv[12] = {0}, tag[16], buffer[64] = {0};
    CK_GCM_MESSAGE_PARAMS message = {iv, sizeof iv, 0, CKG_NO_GENERATE, tag, 128};
    CK_MECHANISM gcm = {CKM_AES_GCM, &message, sizeof message};
    CK_ULONG len = sizeof buffer, id = 0;
    CK_FLAGS flags = 0;
    CK_OBJECT_HANDLE key = 0;
    CK_ASYNC_DATA result;
    const CK_RV none = CKR_FUNCTION_NOT_SUPPORTED;

    if (slot == (CK_SLOT_ID)-1) {
        expect("the token is listed", label, CKR_SLOT_ID_INVALID, CKR_OK);
        return;
    }
    expect("C_OpenSession", label, p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s),
           CKR_OK);
    expect("C_EncapsulateKey", label,
           p11->C_EncapsulateKey(s, &kem, 1, NULL, 0, buffer, &len, &key), none);
    expect("C_DecapsulateKey", label,
           p11->C_DecapsulateKey(s, &kem, 1, NULL, 0, buffer, 32, &key), none);
    expect("C_VerifySignatureInit", label,
           p11->C_VerifySignatureInit(s, &dsa, 1, buffer, 32), none);
    expect("C_VerifySignature", label, p11->C_VerifySignature(s, buffer, 8), none);
    expect("C_VerifySignatureUpdate", label, p11->C_VerifySignatureUpdate(s, buffer, 8), none);
    expect("C_VerifySignatureFinal", label, p11->C_VerifySignatureFinal(s), none);
    expect("C_GetSessionValidationFlags", label,
           p11->C_GetSessionValidationFlags(s, CKS_LAST_VALIDATION_OK, &flags), none);
    expect("C_AsyncComplete", label,
           p11->C_AsyncComplete(s, (CK_UTF8CHAR_PTR) "C_Sign", &result), none);
    expect("C_AsyncGetID", label, p11->C_AsyncGetID(s, (CK_UTF8CHAR_PTR) "C_Sign", &id), none);
    expect("C_AsyncJoin", label,
           p11->C_AsyncJoin(s, (CK_UTF8CHAR_PTR) "C_Sign", 1, buffer, sizeof buffer), none);
    len = sizeof buffer;
    expect("C_WrapKeyAuthenticated", label,
           p11->C_WrapKeyAuthenticated(s, &gcm, 1, 2, buffer, 4, buffer, &len), none);
    expect("C_UnwrapKeyAuthenticated", label,
           p11->C_UnwrapKeyAuthenticated(s, &gcm, 1, buffer, 16, NULL, 0, buffer, 4, &key), none);
    /* the session is still good: nothing reached a backend's missing entry */
    expect("C_CloseSession", label, p11->C_CloseSession(s), CKR_OK);
}

int
main(int argc, char **argv)
{
    void *dl;
    CK_C_GetInterface get_interface;
    CK_C_GetFunctionList get_function_list;
    CK_INTERFACE_PTR interface = NULL;
    CK_FUNCTION_LIST_PTR v2 = NULL;
    CK_FUNCTION_LIST_3_2_PTR p11;
    CK_VERSION v30 = {3, 0}, v240 = {2, 40};
    int i;

    if (argc < 3) {
        fprintf(stderr, "usage: v32-real P11MUX_SO TOKEN_LABEL...\n");
        return 2;
    }
    dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return 2;
    }
    get_interface = (CK_C_GetInterface)dlsym(dl, "C_GetInterface");
    get_function_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    if (get_interface == NULL || get_function_list == NULL ||
        get_interface(NULL, NULL, &interface, 0) != CKR_OK) {
        fprintf(stderr, "%s: no C_GetInterface\n", argv[1]);
        return 2;
    }
    p11 = interface->pFunctionList;
    expect_true("the default interface is 3.2",
                p11->version.major == 3 && p11->version.minor == 2);
    expect_true("every entry of the 3.2 list is set",
                list_complete(&p11->version, (void *const *)&p11->C_Initialize));
    interface = NULL;
    if (get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &interface, 0) == CKR_OK) {
        CK_FUNCTION_LIST_3_0_PTR list = interface->pFunctionList;

        expect_true("asked for 3.0, a 3.0 list, not the 3.2 one",
                    list->version.major == 3 && list->version.minor == 0 &&
                        (void *)list != (void *)p11);
        expect_true("every entry of the 3.0 list is set",
                    list_complete(&list->version, (void *const *)&list->C_Initialize));
    } else {
        expect_true("the 3.0 interface is offered", 0);
    }
    interface = NULL;
    if (get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &interface, 0) == CKR_OK) {
        CK_FUNCTION_LIST_PTR list = interface->pFunctionList;

        expect_true("asked for 2.40, a 2.40 list",
                    list->version.major == 2 && list->version.minor == 40);
    } else {
        expect_true("the 2.40 interface is offered", 0);
    }
    expect_true("C_GetFunctionList gives a 2.40 list",
                get_function_list(&v2) == CKR_OK && v2->version.major == 2 &&
                    list_complete(&v2->version, (void *const *)&v2->C_Initialize));
    if (p11->C_Initialize(NULL) != CKR_OK) {
        fprintf(stderr, "C_Initialize failed\n");
        return 2;
    }
    for (i = 2; i < argc; i++) {
        check_token(p11, argv[i]);
    }
    p11->C_Finalize(NULL);
    return failures == 0 ? 0 : 1;
}
