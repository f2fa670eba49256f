/*
 * The PKCS #11 3.0 message-based encryption of the mock, with the toy XOR
 * mechanism (CKM_VENDOR_DEFINED+1): C_MessageEncryptInit, C_EncryptMessage,
 * C_MessageEncryptFinal and their decrypt counterparts.  Each message is
 * XORed from the start of the key; the parameter and the associated data
 * are checked for NULL and otherwise ignored.  The operation lasts until
 * the Final call, whatever a message call returns.  The multi-part message
 * calls (Begin/Next) and message-based sign/verify stay NOT_SUPPORTED.
 * Everything here runs with the mock's lock held.
 */
#include "config.h"

#include "mock.h"

typedef struct {
    CK_VOID_PTR pParameter;
    CK_ULONG ulParameterLen;
    CK_BYTE_PTR pAssociatedData;
    CK_ULONG ulAssociatedDataLen;
} MockMessageExtras;

static CK_RV
xor_message(MockOperation *op, const MockMessageExtras *extras, CK_BYTE_PTR in, CK_ULONG in_len,
            CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    gboolean write;
    CK_RV rv;

    if (!op->active) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    if ((extras->pParameter == NULL && extras->ulParameterLen != 0) ||
        (extras->pAssociatedData == NULL && extras->ulAssociatedDataLen != 0) ||
        (in == NULL && in_len != 0)) {
        return CKR_ARGUMENTS_BAD;
    }
    rv = mock_output_prepare(out, out_len, in_len, &write);
    if (write) {
        op->offset = 0;
        mock_xor(op, in, out, in_len);
    }
    return rv;
}

static CK_RV
message_final(MockOperation *op)
{
    if (!op->active) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    mock_operation_end(op);
    return CKR_OK;
}

/* ------------------------------------------------------------- encrypt */

CK_RV
mock_C_MessageEncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                          CK_OBJECT_HANDLE hKey)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_MessageEncryptInit, hSession, &session);
    if (rv == CKR_OK) {
        rv = mock_xor_init(session, MOCK_OP_MESSAGE_ENCRYPT, pMechanism, hKey, CKA_ENCRYPT);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_EncryptMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter, CK_ULONG ulParameterLen,
                      CK_BYTE_PTR pAssociatedData, CK_ULONG ulAssociatedDataLen,
                      CK_BYTE_PTR pPlaintext, CK_ULONG ulPlaintextLen, CK_BYTE_PTR pCiphertext,
                      CK_ULONG_PTR pulCiphertextLen)
{
    MockMessageExtras extras = {pParameter, ulParameterLen, pAssociatedData, ulAssociatedDataLen};
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_EncryptMessage, hSession, &session);
    if (rv == CKR_OK) {
        rv = xor_message(&session->ops[MOCK_OP_MESSAGE_ENCRYPT], &extras, pPlaintext,
                         ulPlaintextLen, pCiphertext, pulCiphertextLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_MessageEncryptFinal(CK_SESSION_HANDLE hSession)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_MessageEncryptFinal, hSession, &session);
    if (rv == CKR_OK) {
        rv = message_final(&session->ops[MOCK_OP_MESSAGE_ENCRYPT]);
    }
    mock_unlock();
    return rv;
}

/* ------------------------------------------------------------- decrypt */

CK_RV
mock_C_MessageDecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                          CK_OBJECT_HANDLE hKey)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_MessageDecryptInit, hSession, &session);
    if (rv == CKR_OK) {
        rv = mock_xor_init(session, MOCK_OP_MESSAGE_DECRYPT, pMechanism, hKey, CKA_DECRYPT);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_DecryptMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter, CK_ULONG ulParameterLen,
                      CK_BYTE_PTR pAssociatedData, CK_ULONG ulAssociatedDataLen,
                      CK_BYTE_PTR pCiphertext, CK_ULONG ulCiphertextLen, CK_BYTE_PTR pPlaintext,
                      CK_ULONG_PTR pulPlaintextLen)
{
    MockMessageExtras extras = {pParameter, ulParameterLen, pAssociatedData, ulAssociatedDataLen};
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_DecryptMessage, hSession, &session);
    if (rv == CKR_OK) {
        rv = xor_message(&session->ops[MOCK_OP_MESSAGE_DECRYPT], &extras, pCiphertext,
                         ulCiphertextLen, pPlaintext, pulPlaintextLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_MessageDecryptFinal(CK_SESSION_HANDLE hSession)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_MessageDecryptFinal, hSession, &session);
    if (rv == CKR_OK) {
        rv = message_final(&session->ops[MOCK_OP_MESSAGE_DECRYPT]);
    }
    mock_unlock();
    return rv;
}
