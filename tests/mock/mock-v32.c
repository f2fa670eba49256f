/*
 * Stand-ins for the PKCS #11 3.2 functions the tests route to the mock (in
 * its 3.2 list, interface = 3.2): C_EncapsulateKey, C_DecapsulateKey and
 * the C_VerifySignature* family.  They check the session, count the call
 * (mock_control_call_count) and give fixed answers; they do no ML-KEM or
 * signature arithmetic.  Encapsulation and decapsulation take an ML-KEM
 * public or private key of the token (made in the configuration: key-type
 * CKK_ML_KEM) and store the shared secret as a new secret key with the
 * caller's template (public and a session object unless it says), its
 * value the same fixed 32 bytes both ways.
 */
#include "config.h"

#include <string.h>

#include "mock.h"

/* What C_EncapsulateKey writes as the ciphertext. */
#define MOCK_KEM_CIPHERTEXT_LEN 32

/* The shared secret both sides get: fixed, a stand-in. */
static const guint8 shared_value[32] = {
    0x53, 0x48, 0x41, 0x52, 0x45, 0x44, 0x2d, 0x53, 0x45, 0x43, 0x52, 0x45, 0x54, 0x2d, 0x30, 0x31,
    0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
};

/* An ML-KEM key of the session's token, of class klass, for CKM_ML_KEM. */
static CK_RV
kem_key(MockSession *session, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE handle,
        CK_OBJECT_CLASS klass)
{
    MockObject *key;
    CK_RV rv;

    if (pMechanism->mechanism != CKM_ML_KEM) {
        return CKR_MECHANISM_INVALID;
    }
    rv = mock_object_lookup(session, handle, &key);
    if (rv != CKR_OK) {
        return CKR_KEY_HANDLE_INVALID;
    }
    if (mock_object_ulong(key, CKA_CLASS, CK_UNAVAILABLE_INFORMATION) != klass ||
        mock_object_ulong(key, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION) != CKK_ML_KEM) {
        return CKR_KEY_TYPE_INCONSISTENT;
    }
    return CKR_OK;
}

/* The shared secret as a new key: a generic secret unless the template
 * says otherwise, with what the template asks, stored in the session. */
static CK_RV
shared_key(MockSession *session, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
           CK_OBJECT_HANDLE_PTR phKey)
{
    g_autoptr(MockObject) key = mock_object_new(session->slotID);
    CK_RV rv = mock_template_check_creation(pTemplate, ulCount);

    if (rv != CKR_OK) {
        return rv;
    }
    mock_object_set_ulong(key, CKA_CLASS, CKO_SECRET_KEY);
    mock_object_set_ulong(key, CKA_KEY_TYPE, CKK_GENERIC_SECRET);
    mock_object_set_ulong(key, CKA_VALUE_LEN, sizeof shared_value);
    mock_object_set_bool(key, CKA_PRIVATE, FALSE); /* a session object unless told */
    mock_object_apply(key, pTemplate, ulCount);
    mock_object_set(key, CKA_VALUE, shared_value, sizeof shared_value);
    mock_object_complete(key);
    return mock_object_store(session, g_steal_pointer(&key), phKey);
}

static CK_RV
encapsulate(MockSession *session, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hPublicKey,
            CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, CK_BYTE_PTR pCiphertext,
            CK_ULONG_PTR pulCiphertextLen, CK_OBJECT_HANDLE_PTR phKey)
{
    CK_RV rv;

    if (pMechanism == NULL || pulCiphertextLen == NULL || phKey == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    rv = kem_key(session, pMechanism, hPublicKey, CKO_PUBLIC_KEY);
    if (rv != CKR_OK) {
        return rv;
    }
    if (pCiphertext == NULL) {
        *pulCiphertextLen = MOCK_KEM_CIPHERTEXT_LEN;
        return CKR_OK;
    }
    if (*pulCiphertextLen < MOCK_KEM_CIPHERTEXT_LEN) {
        *pulCiphertextLen = MOCK_KEM_CIPHERTEXT_LEN;
        return CKR_BUFFER_TOO_SMALL;
    }
    rv = shared_key(session, pTemplate, ulAttributeCount, phKey);
    if (rv == CKR_OK) {
        memset(pCiphertext, 0x4b, MOCK_KEM_CIPHERTEXT_LEN);
        *pulCiphertextLen = MOCK_KEM_CIPHERTEXT_LEN;
    }
    return rv;
}

CK_RV
mock_C_EncapsulateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                      CK_OBJECT_HANDLE hPublicKey, CK_ATTRIBUTE_PTR pTemplate,
                      CK_ULONG ulAttributeCount, CK_BYTE_PTR pCiphertext,
                      CK_ULONG_PTR pulCiphertextLen, CK_OBJECT_HANDLE_PTR phKey)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_EncapsulateKey, hSession, &session);
    if (rv == CKR_OK) {
        rv = encapsulate(session, pMechanism, hPublicKey, pTemplate, ulAttributeCount,
                         pCiphertext, pulCiphertextLen, phKey);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_DecapsulateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                      CK_OBJECT_HANDLE hPrivateKey, CK_ATTRIBUTE_PTR pTemplate,
                      CK_ULONG ulAttributeCount, CK_BYTE_PTR pCiphertext,
                      CK_ULONG ulCiphertextLen, CK_OBJECT_HANDLE_PTR phKey)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_DecapsulateKey, hSession, &session);
    if (rv == CKR_OK && (pMechanism == NULL || phKey == NULL || pCiphertext == NULL)) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv == CKR_OK) {
        rv = kem_key(session, pMechanism, hPrivateKey, CKO_PRIVATE_KEY);
    }
    if (rv == CKR_OK && ulCiphertextLen != MOCK_KEM_CIPHERTEXT_LEN) {
        rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
    }
    if (rv == CKR_OK) {
        rv = shared_key(session, pTemplate, ulAttributeCount, phKey);
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
