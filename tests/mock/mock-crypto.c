/*
 * Cryptographic operations of the mock: digest (CKM_SHA256, GChecksum),
 * sign and verify (CKM_SHA256_HMAC, GHmac, with a secret key's CKA_VALUE),
 * encrypt and decrypt with the toy CKM_VENDOR_DEFINED+1 (XOR with the key
 * value; output length = input length), single- and multi-part.
 *
 * The rules tested through p11mux are those of PKCS #11 2.40, 5.2 and
 * 5.7-5.11: a NULL output buffer asks for the length and a short one gets
 * CKR_BUFFER_TOO_SMALL, both leaving the operation active; any other error
 * and any successful output end it; a single-part call after an Update is
 * CKR_OPERATION_ACTIVE.  Everything here runs with the mock's lock held.
 */
#include "config.h"

#include <string.h>

#include "mock.h"

#define SHA256_LEN 32

/* ------------------------------------------------------------- helpers */

/* The mechanism must be wanted and offered by the session's token. */
CK_RV
mock_mechanism_check(const MockSession *session, CK_MECHANISM_PTR pMechanism,
                     CK_MECHANISM_TYPE wanted)
{
    if (pMechanism == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (pMechanism->mechanism != wanted ||
        mock_slot_mechanism(mock_session_slot(session), wanted) == NULL) {
        return CKR_MECHANISM_INVALID;
    }
    if (pMechanism->pParameter == NULL && pMechanism->ulParameterLen != 0) {
        return CKR_ARGUMENTS_BAD;
    }
    return CKR_OK;
}

/* A secret key allowed for usage (CKA_SIGN, ...); *key: transfer full. */
CK_RV
mock_key_for(const MockSession *session, CK_OBJECT_HANDLE hKey, CK_ATTRIBUTE_TYPE usage,
             GBytes **key)
{
    MockObject *object;
    GBytes *bytes;

    if (mock_object_lookup(session, hKey, &object) != CKR_OK) {
        return CKR_KEY_HANDLE_INVALID;
    }
    bytes = mock_object_peek(object, CKA_VALUE);
    if (mock_object_ulong(object, CKA_CLASS, CKO_DATA) != CKO_SECRET_KEY || bytes == NULL) {
        return CKR_KEY_TYPE_INCONSISTENT;
    }
    if (!mock_object_bool(object, usage, TRUE)) {
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    }
    if (g_bytes_get_size(bytes) == 0) {
        return CKR_KEY_SIZE_RANGE;
    }
    *key = g_bytes_ref(bytes);
    return CKR_OK;
}

void
mock_xor(MockOperation *op, const CK_BYTE *in, CK_BYTE *out, CK_ULONG len)
{
    gsize key_len;
    const guint8 *key = g_bytes_get_data(op->key, &key_len);
    CK_ULONG i;

    for (i = 0; i < len; i++) {
        out[i] = in[i] ^ key[(op->offset + i) % key_len];
    }
    op->offset += len;
}

static void
feed(MockOperation *op, const CK_BYTE *data, CK_ULONG len)
{
    if (len == 0) {
        return;
    }
    if (op->checksum != NULL) {
        g_checksum_update(op->checksum, data, (gssize)len);
    } else {
        g_hmac_update(op->hmac, data, (gssize)len);
    }
}

/* Would an output of needed bytes be written (no length query, no short buffer)? */
static gboolean
will_write(CK_BYTE_PTR out, CK_ULONG_PTR out_len, CK_ULONG needed)
{
    return out != NULL && out_len != NULL && *out_len >= needed;
}

/* The end of a digest or MAC into out, with the length protocol. */
static CK_RV
finish_fixed(MockOperation *op, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    gboolean write;
    gsize n = SHA256_LEN;
    CK_RV rv = mock_output_prepare(out, out_len, SHA256_LEN, &write);

    if (write && op->checksum != NULL) {
        g_checksum_get_digest(op->checksum, out, &n);
    } else if (write) {
        g_hmac_get_digest(op->hmac, out, &n);
    }
    if (write || (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)) {
        mock_operation_end(op);
    }
    return rv;
}

/* Checks of a single-part call; an error ends the operation. */
static CK_RV
check_single(MockOperation *op, CK_BYTE_PTR in, CK_ULONG in_len)
{
    CK_RV rv = CKR_OK;

    if (!op->active) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    if (in == NULL && in_len != 0) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (op->multi) {
        rv = CKR_OPERATION_ACTIVE;
    }
    if (rv != CKR_OK) {
        mock_operation_end(op);
    }
    return rv;
}

/* One part of a digest, signature or verification. */
static CK_RV
update(MockOperation *op, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    if (!op->active) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    if (pPart == NULL && ulPartLen != 0) {
        mock_operation_end(op);
        return CKR_ARGUMENTS_BAD;
    }
    feed(op, pPart, ulPartLen);
    op->multi = TRUE;
    return CKR_OK;
}

static CK_RV
final_fixed(MockOperation *op, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    return op->active ? finish_fixed(op, out, out_len) : CKR_OPERATION_NOT_INITIALIZED;
}

/* -------------------------------------------------------------- digest */

static CK_RV
digest_init(MockSession *session, CK_MECHANISM_PTR pMechanism)
{
    MockOperation *op = &session->ops[MOCK_OP_DIGEST];
    CK_RV rv = mock_mechanism_check(session, pMechanism, CKM_SHA256);

    if (rv == CKR_OK && op->active) {
        rv = CKR_OPERATION_ACTIVE;
    }
    if (rv == CKR_OK && pMechanism->ulParameterLen != 0) {
        rv = CKR_MECHANISM_PARAM_INVALID;
    }
    if (rv == CKR_OK) {
        op->active = TRUE;
        op->checksum = g_checksum_new(G_CHECKSUM_SHA256);
    }
    return rv;
}

CK_RV
mock_C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_DigestInit, hSession, &session);
    if (rv == CKR_OK) {
        rv = digest_init(session, pMechanism);
    }
    mock_unlock();
    return rv;
}

/* Single-part digest or MAC: the data counts only when the output is made. */
static CK_RV
single_fixed(MockOperation *op, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
             CK_ULONG_PTR out_len)
{
    CK_RV rv = check_single(op, in, in_len);

    if (rv != CKR_OK) {
        return rv;
    }
    if (will_write(out, out_len, SHA256_LEN)) {
        feed(op, in, in_len);
    }
    return finish_fixed(op, out, out_len);
}

CK_RV
mock_C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
              CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_Digest, hSession, &session);
    if (rv == CKR_OK) {
        rv = single_fixed(&session->ops[MOCK_OP_DIGEST], pData, ulDataLen, pDigest, pulDigestLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_DigestUpdate, hSession, &session);
    if (rv == CKR_OK) {
        rv = update(&session->ops[MOCK_OP_DIGEST], pPart, ulPartLen);
    }
    mock_unlock();
    return rv;
}

static CK_RV
digest_key(MockSession *session, CK_OBJECT_HANDLE hKey)
{
    MockOperation *op = &session->ops[MOCK_OP_DIGEST];
    g_autoptr(GBytes) key = NULL;
    CK_RV rv;

    if (!op->active) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    rv = mock_key_for(session, hKey, CKA_EXTRACTABLE, &key);
    if (rv == CKR_KEY_TYPE_INCONSISTENT || rv == CKR_KEY_FUNCTION_NOT_PERMITTED) {
        rv = CKR_KEY_INDIGESTIBLE;
    }
    if (rv != CKR_OK) {
        mock_operation_end(op);
        return rv;
    }
    feed(op, g_bytes_get_data(key, NULL), g_bytes_get_size(key));
    op->multi = TRUE;
    return CKR_OK;
}

CK_RV
mock_C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_DigestKey, hSession, &session);
    if (rv == CKR_OK) {
        rv = digest_key(session, hKey);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_DigestFinal, hSession, &session);
    if (rv == CKR_OK) {
        rv = final_fixed(&session->ops[MOCK_OP_DIGEST], pDigest, pulDigestLen);
    }
    mock_unlock();
    return rv;
}

/* -------------------------------------------------------- sign, verify */

static CK_RV
hmac_init(MockSession *session, MockOperationKind kind, CK_MECHANISM_PTR pMechanism,
          CK_OBJECT_HANDLE hKey, CK_ATTRIBUTE_TYPE usage)
{
    MockOperation *op = &session->ops[kind];
    g_autoptr(GBytes) key = NULL;
    CK_RV rv = mock_mechanism_check(session, pMechanism, CKM_SHA256_HMAC);

    if (rv == CKR_OK && op->active) {
        rv = CKR_OPERATION_ACTIVE;
    }
    if (rv == CKR_OK) {
        rv = mock_key_for(session, hKey, usage, &key);
    }
    if (rv == CKR_OK) {
        op->active = TRUE;
        op->hmac =
            g_hmac_new(G_CHECKSUM_SHA256, g_bytes_get_data(key, NULL), g_bytes_get_size(key));
    }
    return rv;
}

CK_RV
mock_C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_SignInit, hSession, &session);
    if (rv == CKR_OK) {
        rv = hmac_init(session, MOCK_OP_SIGN, pMechanism, hKey, CKA_SIGN);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
            CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_Sign, hSession, &session);
    if (rv == CKR_OK) {
        rv = single_fixed(&session->ops[MOCK_OP_SIGN], pData, ulDataLen, pSignature,
                          pulSignatureLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_SignUpdate, hSession, &session);
    if (rv == CKR_OK) {
        rv = update(&session->ops[MOCK_OP_SIGN], pPart, ulPartLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_SignFinal, hSession, &session);
    if (rv == CKR_OK) {
        rv = final_fixed(&session->ops[MOCK_OP_SIGN], pSignature, pulSignatureLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_VerifyInit, hSession, &session);
    if (rv == CKR_OK) {
        rv = hmac_init(session, MOCK_OP_VERIFY, pMechanism, hKey, CKA_VERIFY);
    }
    mock_unlock();
    return rv;
}

/* Compare the MAC with the signature; the verification always ends. */
static CK_RV
verify_end(MockOperation *op, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    guint8 mac[SHA256_LEN];
    gsize n = sizeof mac;
    CK_RV rv = CKR_OK;

    if (pSignature == NULL && ulSignatureLen != 0) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (ulSignatureLen != SHA256_LEN) {
        rv = CKR_SIGNATURE_LEN_RANGE;
    } else {
        g_hmac_get_digest(op->hmac, mac, &n);
        rv = memcmp(mac, pSignature, SHA256_LEN) == 0 ? CKR_OK : CKR_SIGNATURE_INVALID;
    }
    mock_operation_end(op);
    return rv;
}

static CK_RV
verify(MockOperation *op, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
       CK_ULONG ulSignatureLen)
{
    CK_RV rv = check_single(op, pData, ulDataLen);

    if (rv != CKR_OK) {
        return rv;
    }
    feed(op, pData, ulDataLen);
    return verify_end(op, pSignature, ulSignatureLen);
}

CK_RV
mock_C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
              CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_Verify, hSession, &session);
    if (rv == CKR_OK) {
        rv = verify(&session->ops[MOCK_OP_VERIFY], pData, ulDataLen, pSignature, ulSignatureLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_VerifyUpdate, hSession, &session);
    if (rv == CKR_OK) {
        rv = update(&session->ops[MOCK_OP_VERIFY], pPart, ulPartLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_VerifyFinal, hSession, &session);
    if (rv == CKR_OK && !session->ops[MOCK_OP_VERIFY].active) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    }
    if (rv == CKR_OK) {
        rv = verify_end(&session->ops[MOCK_OP_VERIFY], pSignature, ulSignatureLen);
    }
    mock_unlock();
    return rv;
}

/* ---------------------------------------------------- encrypt, decrypt */

/* Also the 3.0 message-based ciphers' init (mock-message.c). */
CK_RV
mock_xor_init(MockSession *session, MockOperationKind kind, CK_MECHANISM_PTR pMechanism,
              CK_OBJECT_HANDLE hKey, CK_ATTRIBUTE_TYPE usage)
{
    MockOperation *op = &session->ops[kind];
    g_autoptr(GBytes) key = NULL;
    CK_RV rv = mock_mechanism_check(session, pMechanism, MOCK_CKM_XOR);

    if (rv == CKR_OK && op->active) {
        rv = CKR_OPERATION_ACTIVE;
    }
    if (rv == CKR_OK) {
        rv = mock_key_for(session, hKey, usage, &key);
    }
    if (rv == CKR_OK) {
        op->active = TRUE;
        op->key = g_steal_pointer(&key);
    }
    return rv;
}

/* Encrypt or decrypt in one part (they are the same XOR). */
static CK_RV
xor_single(MockOperation *op, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
           CK_ULONG_PTR out_len)
{
    gboolean write;
    CK_RV rv = check_single(op, in, in_len);

    if (rv != CKR_OK) {
        return rv;
    }
    rv = mock_output_prepare(out, out_len, in_len, &write);
    if (write) {
        mock_xor(op, in, out, in_len);
    }
    if (write || (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)) {
        mock_operation_end(op);
    }
    return rv;
}

static CK_RV
xor_update(MockOperation *op, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
           CK_ULONG_PTR out_len)
{
    gboolean write = FALSE;
    CK_RV rv;

    if (!op->active) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    rv = in == NULL && in_len != 0 ? CKR_ARGUMENTS_BAD
                                   : mock_output_prepare(out, out_len, in_len, &write);
    if (rv == CKR_OK && write) {
        mock_xor(op, in, out, in_len);
        op->multi = TRUE;
    }
    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) {
        mock_operation_end(op);
    }
    return rv;
}

/* The XOR keeps nothing back: the last part is empty. */
static CK_RV
xor_final(MockOperation *op, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    gboolean write;
    CK_RV rv;

    if (!op->active) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    rv = mock_output_prepare(out, out_len, 0, &write);
    if (write || rv != CKR_OK) {
        mock_operation_end(op);
    }
    return rv;
}

CK_RV
mock_C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_EncryptInit, hSession, &session);
    if (rv == CKR_OK) {
        rv = mock_xor_init(session, MOCK_OP_ENCRYPT, pMechanism, hKey, CKA_ENCRYPT);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_Encrypt, hSession, &session);
    if (rv == CKR_OK) {
        rv = xor_single(&session->ops[MOCK_OP_ENCRYPT], pData, ulDataLen, pEncryptedData,
                        pulEncryptedDataLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                     CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_EncryptUpdate, hSession, &session);
    if (rv == CKR_OK) {
        rv = xor_update(&session->ops[MOCK_OP_ENCRYPT], pPart, ulPartLen, pEncryptedPart,
                        pulEncryptedPartLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
                    CK_ULONG_PTR pulLastEncryptedPartLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_EncryptFinal, hSession, &session);
    if (rv == CKR_OK) {
        rv = xor_final(&session->ops[MOCK_OP_ENCRYPT], pLastEncryptedPart, pulLastEncryptedPartLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_DecryptInit, hSession, &session);
    if (rv == CKR_OK) {
        rv = mock_xor_init(session, MOCK_OP_DECRYPT, pMechanism, hKey, CKA_DECRYPT);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
               CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_Decrypt, hSession, &session);
    if (rv == CKR_OK) {
        rv = xor_single(&session->ops[MOCK_OP_DECRYPT], pEncryptedData, ulEncryptedDataLen, pData,
                        pulDataLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                     CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_DecryptUpdate, hSession, &session);
    if (rv == CKR_OK) {
        rv = xor_update(&session->ops[MOCK_OP_DECRYPT], pEncryptedPart, ulEncryptedPartLen, pPart,
                        pulPartLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_DecryptFinal, hSession, &session);
    if (rv == CKR_OK) {
        rv = xor_final(&session->ops[MOCK_OP_DECRYPT], pLastPart, pulLastPartLen);
    }
    mock_unlock();
    return rv;
}
