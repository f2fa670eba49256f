/*
 * PKCS #11 3.0 through p11mux over real backends: the message-based AES-GCM
 * functions and C_SessionCancel on a 3.0 backend (NSS softoken), and
 * CKR_FUNCTION_NOT_SUPPORTED for the same calls on a 2.40 backend (SoftHSM2).
 *
 * Usage: message-crypto P11MUX_SO V3_TOKEN_LABEL V2_TOKEN_LABEL
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
expect(const char *what, CK_RV rv, CK_RV want)
{
    failures += p11mux_test_rv(what, rv, want);
}

static CK_FUNCTION_LIST_3_0_PTR
load(const char *path)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetInterface get_interface;
    CK_INTERFACE_PTR interface = NULL;
    CK_VERSION v30 = {3, 0};

    if (dl == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return NULL;
    }
    get_interface = (CK_C_GetInterface)dlsym(dl, "C_GetInterface");
    if (get_interface == NULL ||
        get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &interface, 0) != CKR_OK) {
        return NULL;
    }
    return interface->pFunctionList;
}

static CK_SLOT_ID
slot_by_label(CK_FUNCTION_LIST_3_0_PTR p11, const char *label)
{
    return p11mux_test_slot_named((const CK_FUNCTION_LIST *)p11, P11MUX_TEST_BY_TOKEN_LABEL, label);
}

static CK_OBJECT_HANDLE
aes_key(CK_FUNCTION_LIST_3_0_PTR p11, CK_SESSION_HANDLE session)
{
    CK_MECHANISM mechanism = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG length = 32;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE template[] = {
        {CKA_VALUE_LEN, &length, sizeof(length)},
        {CKA_TOKEN, &no, sizeof(no)},
        {CKA_ENCRYPT, &yes, sizeof(yes)},
        {CKA_DECRYPT, &yes, sizeof(yes)},
    };
    CK_OBJECT_HANDLE key = 0;

    expect("generate a session AES key", p11->C_GenerateKey(session, &mechanism, template, 4, &key),
           CKR_OK);
    return key;
}

static void
message_round_trip(CK_FUNCTION_LIST_3_0_PTR p11, CK_SESSION_HANDLE session)
{
    CK_OBJECT_HANDLE key = aes_key(p11, session);
    CK_MECHANISM gcm = {CKM_AES_GCM, NULL, 0};
    CK_BYTE iv[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, tag[16];
    CK_GCM_MESSAGE_PARAMS params = {iv, sizeof(iv), 0, CKG_NO_GENERATE, tag, 128};
    CK_BYTE aad[] = "header", plain[] = "through p11mux, message by message";
    CK_BYTE cipher[64], back[64];
    CK_ULONG cipher_len = sizeof(cipher), back_len = sizeof(back);

    expect("C_MessageEncryptInit AES-GCM", p11->C_MessageEncryptInit(session, &gcm, key), CKR_OK);
    expect("C_EncryptMessage",
           p11->C_EncryptMessage(session, &params, sizeof(params), aad, sizeof(aad), plain,
                                 sizeof(plain), cipher, &cipher_len),
           CKR_OK);
    expect("C_MessageEncryptFinal", p11->C_MessageEncryptFinal(session), CKR_OK);
    expect("C_MessageDecryptInit AES-GCM", p11->C_MessageDecryptInit(session, &gcm, key), CKR_OK);
    expect("C_DecryptMessage",
           p11->C_DecryptMessage(session, &params, sizeof(params), aad, sizeof(aad), cipher,
                                 cipher_len, back, &back_len),
           CKR_OK);
    expect("decrypted text equals the plaintext",
           back_len == sizeof(plain) && memcmp(back, plain, back_len) == 0 ? CKR_OK
                                                                           : CKR_GENERAL_ERROR,
           CKR_OK);
    expect("C_MessageDecryptFinal", p11->C_MessageDecryptFinal(session), CKR_OK);
    expect("C_MessageEncryptInit again", p11->C_MessageEncryptInit(session, &gcm, key), CKR_OK);
    expect("C_SessionCancel ends it", p11->C_SessionCancel(session, CKF_MESSAGE_ENCRYPT), CKR_OK);
    expect("C_MessageEncryptInit after the cancel", p11->C_MessageEncryptInit(session, &gcm, key),
           CKR_OK);
}

int
main(int argc, char **argv)
{
    CK_FUNCTION_LIST_3_0_PTR p11;
    CK_SESSION_HANDLE v3 = 0, v2 = 0;
    CK_MECHANISM gcm = {CKM_AES_GCM, NULL, 0};
    CK_INFO info;

    if (argc != 4 || (p11 = load(argv[1])) == NULL) {
        fprintf(stderr, "usage: message-crypto P11MUX_SO V3_TOKEN_LABEL V2_TOKEN_LABEL\n");
        return 2;
    }
    expect("C_Initialize", p11->C_Initialize(NULL), CKR_OK);
    expect("C_GetInfo through the 3.0 list", p11->C_GetInfo(&info), CKR_OK);
    expect("it reports version 3.0", info.cryptokiVersion.major == 3 ? CKR_OK : CKR_GENERAL_ERROR,
           CKR_OK);
    expect("open a session on the 3.0 token",
           p11->C_OpenSession(slot_by_label(p11, argv[2]), CKF_SERIAL_SESSION, NULL, NULL, &v3),
           CKR_OK);
    message_round_trip(p11, v3);
    expect("open a session on the 2.40 token",
           p11->C_OpenSession(slot_by_label(p11, argv[3]), CKF_SERIAL_SESSION, NULL, NULL, &v2),
           CKR_OK);
    expect("C_MessageEncryptInit on a 2.40 backend", p11->C_MessageEncryptInit(v2, &gcm, 1),
           CKR_FUNCTION_NOT_SUPPORTED);
    expect("C_SessionCancel on a 2.40 backend", p11->C_SessionCancel(v2, 0),
           CKR_FUNCTION_NOT_SUPPORTED);
    expect("C_LoginUser on a 2.40 backend",
           p11->C_LoginUser(v2, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4, (CK_UTF8CHAR_PTR) "u", 1),
           CKR_FUNCTION_NOT_SUPPORTED);
    expect("C_Finalize", p11->C_Finalize(NULL), CKR_OK);
    printf("%d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
