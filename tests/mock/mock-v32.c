/*
 * Stand-ins for the PKCS #11 3.2 functions the tests route to the mock (in
 * its 3.2 list, interface = 3.2): C_EncapsulateKey, C_DecapsulateKey and
 * the C_VerifySignature* family.  They check the session, count the call
 * (mock_control_call_count) and give fixed answers; they do no ML-KEM or
 * signature arithmetic.
 */
#include "config.h"

#include <string.h>

#include "mock.h"

/* What C_EncapsulateKey writes as the ciphertext. */
#define MOCK_KEM_CIPHERTEXT_LEN 32

static CK_RV
encapsulate(CK_MECHANISM_PTR pMechanism, CK_BYTE_PTR pCiphertext, CK_ULONG_PTR pulCiphertextLen,
            CK_OBJECT_HANDLE_PTR phKey)
{
    if (pMechanism == NULL || pulCiphertextLen == NULL || phKey == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (pMechanism->mechanism != CKM_ML_KEM) {
        return CKR_MECHANISM_INVALID;
    }
    if (pCiphertext == NULL) {
        *pulCiphertextLen = MOCK_KEM_CIPHERTEXT_LEN;
        return CKR_OK;
    }
    if (*pulCiphertextLen < MOCK_KEM_CIPHERTEXT_LEN) {
        *pulCiphertextLen = MOCK_KEM_CIPHERTEXT_LEN;
        return CKR_BUFFER_TOO_SMALL;
    }
    memset(pCiphertext, 0x4b, MOCK_KEM_CIPHERTEXT_LEN);
    *pulCiphertextLen = MOCK_KEM_CIPHERTEXT_LEN;
    *phKey = CK_INVALID_HANDLE; /* a stand-in: no key object is made */
    return CKR_OK;
}

CK_RV
mock_C_EncapsulateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                      CK_OBJECT_HANDLE hPublicKey G_GNUC_UNUSED,
                      CK_ATTRIBUTE_PTR pTemplate G_GNUC_UNUSED,
                      CK_ULONG ulAttributeCount G_GNUC_UNUSED, CK_BYTE_PTR pCiphertext,
                      CK_ULONG_PTR pulCiphertextLen, CK_OBJECT_HANDLE_PTR phKey)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_EncapsulateKey, hSession, &session);
    if (rv == CKR_OK) {
        rv = encapsulate(pMechanism, pCiphertext, pulCiphertextLen, phKey);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_DecapsulateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                      CK_OBJECT_HANDLE hPrivateKey G_GNUC_UNUSED,
                      CK_ATTRIBUTE_PTR pTemplate G_GNUC_UNUSED,
                      CK_ULONG ulAttributeCount G_GNUC_UNUSED, CK_BYTE_PTR pCiphertext,
                      CK_ULONG ulCiphertextLen, CK_OBJECT_HANDLE_PTR phKey)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_DecapsulateKey, hSession, &session);
    if (rv == CKR_OK && (pMechanism == NULL || phKey == NULL || pCiphertext == NULL)) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (rv == CKR_OK && pMechanism->mechanism != CKM_ML_KEM) {
        rv = CKR_MECHANISM_INVALID;
    } else if (rv == CKR_OK && ulCiphertextLen != MOCK_KEM_CIPHERTEXT_LEN) {
        rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
    } else if (rv == CKR_OK) {
        *phKey = CK_INVALID_HANDLE; /* a stand-in: no key object is made */
    }
    mock_unlock();
    return rv;
}

/* The C_VerifySignature* family: entered through the session only. */
static CK_RV
enter(MockFunctionId fn, CK_SESSION_HANDLE hSession)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(fn, hSession, &session);
    mock_unlock();
    return rv;
}

CK_RV
mock_C_VerifySignatureInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                           CK_OBJECT_HANDLE hKey G_GNUC_UNUSED, CK_BYTE_PTR pSignature,
                           CK_ULONG ulSignatureLen)
{
    CK_RV rv = enter(MOCK_FN_C_VerifySignatureInit, hSession);

    if (rv == CKR_OK && (pMechanism == NULL || (pSignature == NULL && ulSignatureLen != 0))) {
        rv = CKR_ARGUMENTS_BAD;
    }
    return rv;
}

CK_RV
mock_C_VerifySignature(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData G_GNUC_UNUSED,
                       CK_ULONG ulDataLen G_GNUC_UNUSED)
{
    return enter(MOCK_FN_C_VerifySignature, hSession);
}

CK_RV
mock_C_VerifySignatureUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart G_GNUC_UNUSED,
                             CK_ULONG ulPartLen G_GNUC_UNUSED)
{
    return enter(MOCK_FN_C_VerifySignatureUpdate, hSession);
}

CK_RV
mock_C_VerifySignatureFinal(CK_SESSION_HANDLE hSession)
{
    return enter(MOCK_FN_C_VerifySignatureFinal, hSession);
}
