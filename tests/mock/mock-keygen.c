/*
 * Key generation and random numbers of the mock: C_GenerateKey with
 * CKM_GENERIC_SECRET_KEY_GEN (CKA_VALUE_LEN 1..512 bytes) and
 * CKM_AES_KEY_GEN (16, 24 or 32), C_GenerateRandom (g_random, not for
 * real use) and C_SeedRandom (CKR_RANDOM_SEED_NOT_SUPPORTED).
 * Everything here runs with the mock's lock held.
 */
#include "config.h"

#include "mock.h"

static void
fill_random(guint8 *out, gsize len)
{
    gsize i;

    for (i = 0; i < len; i++) {
        out[i] = (guint8)g_random_int_range(0, 256);
    }
}

/* The key type a generation mechanism makes. */
static CK_RV
keygen_mechanism(const MockSession *session, CK_MECHANISM_PTR pMechanism, CK_KEY_TYPE *key_type)
{
    CK_MECHANISM_TYPE type = pMechanism != NULL ? pMechanism->mechanism : 0;

    *key_type = type == CKM_AES_KEY_GEN ? CKK_AES : CKK_GENERIC_SECRET;
    if (type != CKM_AES_KEY_GEN) {
        type = CKM_GENERIC_SECRET_KEY_GEN;
    }
    return mock_mechanism_check(session, pMechanism, type);
}

/* What the template may say about the key, and the length it asks for. */
static CK_RV
keygen_template(const MockObject *key, CK_KEY_TYPE key_type, gsize *len)
{
    CK_ULONG value_len = mock_object_ulong(key, CKA_VALUE_LEN, 0);

    if (mock_object_ulong(key, CKA_CLASS, CKO_SECRET_KEY) != CKO_SECRET_KEY ||
        mock_object_ulong(key, CKA_KEY_TYPE, key_type) != key_type ||
        mock_object_peek(key, CKA_VALUE) != NULL) {
        return CKR_TEMPLATE_INCONSISTENT;
    }
    if (mock_object_peek(key, CKA_VALUE_LEN) == NULL) {
        return CKR_TEMPLATE_INCOMPLETE;
    }
    if (key_type == CKK_AES ? value_len != 16 && value_len != 24 && value_len != 32
                            : value_len < 1 || value_len > 512) {
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    *len = value_len;
    return CKR_OK;
}

static CK_RV
generate_key(MockSession *session, CK_MECHANISM_PTR pMechanism, CK_ATTRIBUTE_PTR pTemplate,
             CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
    g_autoptr(MockObject) key = mock_object_new(session->slotID);
    g_autofree guint8 *material = NULL;
    CK_KEY_TYPE key_type;
    gsize len = 0;
    CK_RV rv = keygen_mechanism(session, pMechanism, &key_type);

    if (rv == CKR_OK) {
        rv = mock_template_check_creation(pTemplate, ulCount);
    }
    if (rv == CKR_OK && phKey == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv == CKR_OK) {
        mock_object_apply(key, pTemplate, ulCount);
        rv = keygen_template(key, key_type, &len);
    }
    if (rv != CKR_OK) {
        return rv;
    }
    material = g_malloc(len);
    fill_random(material, len);
    mock_object_set(key, CKA_VALUE, material, len);
    mock_object_set_ulong(key, CKA_CLASS, CKO_SECRET_KEY);
    mock_object_set_ulong(key, CKA_KEY_TYPE, key_type);
    mock_object_set_bool(key, CKA_LOCAL, TRUE);
    mock_object_set_ulong(key, CKA_KEY_GEN_MECHANISM, pMechanism->mechanism);
    mock_object_complete(key);
    return mock_object_store(session, g_steal_pointer(&key), phKey);
}

CK_RV
mock_C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                   CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_GenerateKey, hSession, &session);
    if (rv == CKR_OK) {
        rv = generate_key(session, pMechanism, pTemplate, ulCount, phKey);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData, CK_ULONG ulRandomLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_GenerateRandom, hSession, &session);
    if (rv == CKR_OK && pRandomData == NULL && ulRandomLen != 0) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv == CKR_OK) {
        fill_random(pRandomData, ulRandomLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_SeedRandom, hSession, &session);
    if (rv == CKR_OK) {
        rv = pSeed == NULL && ulSeedLen != 0 ? CKR_ARGUMENTS_BAD : CKR_RANDOM_SEED_NOT_SUPPORTED;
    }
    mock_unlock();
    return rv;
}
