/*
 * The closed world of a p11mux policy (p11mux.conf(5), WHAT A POLICY
 * REFUSES) attacked over real
 * backends, SoftHSM2 and NSS softoken: what p11mux cannot read must not
 * pass, and what it reads must be judged at every depth
 * (tests/integration/closed-world.sh makes the tokens, the configurations
 * and the p11-kit server).
 *
 *   closed-world state     operation state: C_GetOperationState and
 *                          C_SetOperationState (a SHA-1 state made by NSS,
 *                          C_DigestKey of a sensitive key)
 *   closed-world garbage   C_SetOperationState with garbage blobs, alone
 *                          (on a p11mux that forwards them, NSS softoken may
 *                          crash the process)
 *   closed-world params    templates, selectors and handles inside mechanism
 *                          parameters; unknown mechanisms and lengths that lie
 *   closed-world client    through p11-kit-client.so and `p11-kit server`:
 *                          no backend can be loaded, only the socket
 *
 * In the first three modes the backends are loaded directly in the same
 * process too (p11mux then shares their initialisation): keys are made
 * directly (session objects, so that runs do not pile up), the handle of
 * the hidden key is learnt directly, and what a backend does on its own is
 * compared with what p11mux answers.  Every attack has one exact expected
 * code; output buffers are filled with a pattern first and checked.
 *
 * Environment: P11MUX_SO (in client mode: p11-kit-client.so), PIN, and but
 * in client mode SOFTHSM_MODULE, NSS_MODULE, NSS_INIT_RESERVED; P11MUX_CONF
 * (or the server's) names the configuration: SoftHSM2 token cw-open
 * visible (in client mode: sandbox), NSS's "NSS Certificate DB" visible,
 * deny-mechanisms CKM_MD5* CKM_SHA_1 CKM_SHA1* CKM_SHA_1_HMAC*
 * CKM_ECDSA_SHA1 CKM_DSA_SHA1 CKM_*DES*, deny-objects hidden-key,
 * force-sensitive, no deny-functions naming the state functions.
 * Prints PASS:/FAIL:/NOTE: lines; exits 1 if any attack was not refused as
 * it should be, 2 when the setup failed.
 */
#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack-lib.h"
#include "p11mux-pkcs11.h"

/* ------------------------------------------------ PKCS #11 3.0 structures
 * Written here from the specification (Current Mechanisms 3.0, and NSS's
 * pkcs11n.h for its IKE mechanisms), not from p11mux's table, so that a
 * layout p11mux gets wrong shows. */

#define CW_SP800_108_ITERATION_VARIABLE 1UL
#define CW_SP800_108_BYTE_ARRAY 4UL

typedef struct {
    CK_BBOOL bLittleEndian;
    CK_ULONG ulWidthInBits;
} CwCounterFormat; /* CK_SP800_108_COUNTER_FORMAT */

typedef struct {
    CK_ULONG type;
    CK_VOID_PTR pValue;
    CK_ULONG ulValueLen;
} CwPrfDataParam; /* CK_PRF_DATA_PARAM */

typedef struct {
    CK_ATTRIBUTE_PTR pTemplate;
    CK_ULONG ulAttributeCount;
    CK_OBJECT_HANDLE_PTR phKey;
} CwDerivedKey; /* CK_DERIVED_KEY */

typedef struct {
    CK_MECHANISM_TYPE prfType;
    CK_ULONG ulNumberOfDataParams;
    CwPrfDataParam *pDataParams;
    CK_ULONG ulAdditionalDerivedKeys;
    CwDerivedKey *pAdditionalDerivedKeys;
} CwKdfParams; /* CK_SP800_108_KDF_PARAMS */

typedef struct {
    CK_BYTE_PTR pClientRandom;
    CK_ULONG ulClientRandomLen;
    CK_BYTE_PTR pServerRandom;
    CK_ULONG ulServerRandomLen;
} CwRandom; /* CK_SSL3_RANDOM_DATA */

typedef struct {
    CK_OBJECT_HANDLE hClientMacSecret;
    CK_OBJECT_HANDLE hServerMacSecret;
    CK_OBJECT_HANDLE hClientKey;
    CK_OBJECT_HANDLE hServerKey;
    CK_BYTE_PTR pIVClient;
    CK_BYTE_PTR pIVServer;
} CwKeyMatOut; /* CK_SSL3_KEY_MAT_OUT */

typedef struct {
    CwRandom RandomInfo;
    CK_VERSION_PTR pVersion;
    CK_MECHANISM_TYPE prfHashMechanism;
} CwTls12Master; /* CK_TLS12_MASTER_KEY_DERIVE_PARAMS */

typedef struct {
    CK_ULONG ulMacSizeInBits;
    CK_ULONG ulKeySizeInBits;
    CK_ULONG ulIVSizeInBits;
    CK_BBOOL bIsExport;
    CwRandom RandomInfo;
    CwKeyMatOut *pReturnedKeyMaterial;
    CK_MECHANISM_TYPE prfHashMechanism;
} CwTls12KeyMat; /* CK_TLS12_KEY_MAT_PARAMS */

typedef struct {
    CK_MECHANISM_TYPE prfHashMechanism;
    CK_ULONG ulMacLength;
    CK_ULONG ulServerOrClient;
} CwTlsMac; /* CK_TLS_MAC_PARAMS */

typedef struct {
    CK_ULONG ulAESKeyBits;
    CK_RSA_PKCS_OAEP_PARAMS *pOAEPParams;
} CwRsaAesWrap; /* CK_RSA_AES_KEY_WRAP_PARAMS */

/* NSS (pkcs11n.h): CKM_NSS = CKM_VENDOR_DEFINED | 0x4E534350 */
#define CW_CKM_NSS (CKM_VENDOR_DEFINED | 0x4E534350UL)
#define CW_CKM_NSS_JPAKE_ROUND1_SHA1 (CW_CKM_NSS + 7)
#define CW_CKM_NSS_JPAKE_FINAL_SHA512 (CW_CKM_NSS + 18)
#define CW_CKM_NSS_PKCS12_PBE_SHA224_HMAC_KEY_GEN (CW_CKM_NSS + 29)
#define CW_CKM_NSS_PKCS12_PBE_SHA512_HMAC_KEY_GEN (CW_CKM_NSS + 32)
#define CW_CKM_NSS_TLS_PRF_GENERAL_SHA256 (CW_CKM_NSS + 21)
#define CW_CKM_NSS_IKE_PRF_PLUS_DERIVE (CW_CKM_NSS + 34)
#define CW_CKM_NSS_IKE_PRF_DERIVE (CW_CKM_NSS + 35)

typedef struct {
    CK_MECHANISM_TYPE prfMechanism;
    CK_BBOOL bHasSeedKey;
    CK_OBJECT_HANDLE hSeedKey;
    CK_BYTE_PTR pSeedData;
    CK_ULONG ulSeedDataLen;
} CwIke2PrfPlus; /* CK_IKE2_PRF_PLUS_DERIVE_PARAMS */

typedef struct {
    CK_MECHANISM_TYPE prfMechanism;
    CK_BBOOL bDataAsKey;
    CK_BBOOL bRekey;
    CK_BYTE_PTR pNi;
    CK_ULONG ulNiLen;
    CK_BYTE_PTR pNr;
    CK_ULONG ulNrLen;
    CK_OBJECT_HANDLE hNewKey;
} CwIkePrf; /* CK_IKE_PRF_DERIVE_PARAMS */

typedef struct {
    CK_BYTE_PTR pInitVector;
    CK_UTF8CHAR_PTR pPassword;
    CK_ULONG ulPasswordLen;
    CK_BYTE_PTR pSalt;
    CK_ULONG ulSaltLen;
    CK_ULONG ulIteration;
} CwPbeParams; /* CK_PBE_PARAMS */

typedef struct {
    CK_MECHANISM_TYPE prfMechanism;
    CK_BBOOL bHasPrevKey;
    CK_OBJECT_HANDLE hKeygxy;
    CK_OBJECT_HANDLE hPrevKey;
    CK_BYTE_PTR pCKYi;
    CK_ULONG ulCKYiLen;
    CK_BYTE_PTR pCKYr;
    CK_ULONG ulCKYrLen;
    CK_BYTE keyNumber;
} CwIke1Prf; /* CK_IKE1_PRF_DERIVE_PARAMS */

typedef struct {
    CK_MECHANISM_TYPE prfMechanism;
    CK_BBOOL bHasKeygxy;
    CK_OBJECT_HANDLE hKeygxy;
    CK_BYTE_PTR pExtraData;
    CK_ULONG ulExtraDataLen;
} CwIke1Extended; /* CK_IKE1_EXTENDED_DERIVE_PARAMS */

#define CW_CKM_NSS_IKE1_PRF_DERIVE (CW_CKM_NSS + 36)
#define CW_CKM_NSS_IKE1_APP_B_PRF_DERIVE (CW_CKM_NSS + 37)

typedef struct {
    CK_BBOOL bExtract;
    CK_BBOOL bExpand;
    CK_MECHANISM_TYPE prfHashMechanism;
    CK_ULONG ulSaltType;
    CK_BYTE_PTR pSalt;
    CK_ULONG ulSaltLen;
    CK_OBJECT_HANDLE hSaltKey;
    CK_BYTE_PTR pInfo;
    CK_ULONG ulInfoLen;
} CwHkdf; /* CK_HKDF_PARAMS */

#define CW_CKF_HKDF_SALT_DATA 2UL
#define CW_CKF_HKDF_SALT_KEY 4UL

typedef struct {
    CK_ULONG kdf;
    CK_ULONG ulSharedDataLen;
    CK_BYTE_PTR pSharedData;
    CK_ULONG ulPublicDataLen;
    CK_BYTE_PTR pPublicData;
} CwEcdh1; /* CK_ECDH1_DERIVE_PARAMS */

#define CW_CKD_SHA1_KDF 2UL
#define CW_CKD_SHA256_KDF 6UL

/* A mechanism no module of this test knows. */
#define CW_UNKNOWN_VENDOR (CKM_VENDOR_DEFINED + 0x12345UL)

static CK_FUNCTION_LIST_PTR mux; /* p11mux (or p11-kit-client.so) */

/* Every object the session sees. */
static CK_ULONG
count_objects(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s)
{
    CK_OBJECT_HANDLE found[64];
    CK_ULONG n, total = 0;

    attack_must(p11->C_FindObjectsInit(s, NULL, 0), "C_FindObjectsInit");
    do {
        attack_must(p11->C_FindObjects(s, found, G_N_ELEMENTS(found), &n), "C_FindObjects");
        total += n;
    } while (n > 0);
    attack_must(p11->C_FindObjectsFinal(s), "C_FindObjectsFinal");
    return total;
}

/* --------------------------------------------------------- making objects */

static CK_BBOOL yes = CK_TRUE;
static CK_BBOOL no = CK_FALSE;
static CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
static CK_KEY_TYPE generic_type = CKK_GENERIC_SECRET;
static CK_KEY_TYPE aes_type = CKK_AES;
static CK_ULONG len32 = 32;

/* What most derivations here ask for: a 32-byte generic secret. */
static CK_ATTRIBUTE secret32[] = {
    {CKA_CLASS, &secret_class, sizeof secret_class},
    {CKA_KEY_TYPE, &generic_type, sizeof generic_type},
    {CKA_VALUE_LEN, &len32, sizeof len32},
};

static const char hidden_value[] = "HIDDEN-SECRET-0123456789abcdefgh";

/* A session secret key with a known value, made directly: usable for
 * everything, extractable and not sensitive unless locked. */
static CK_OBJECT_HANDLE
make_secret(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, const char *label, CK_KEY_TYPE type,
            const void *value, gsize len, gboolean locked)
{
    CK_BBOOL *sensitive = locked ? &yes : &no, *extractable = locked ? &no : &yes;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &secret_class, sizeof secret_class},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_TOKEN, &no, sizeof no},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_VALUE, (void *)value, len},
        {CKA_SENSITIVE, sensitive, sizeof yes},
        {CKA_EXTRACTABLE, extractable, sizeof yes},
        {CKA_DERIVE, &yes, sizeof yes},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_VERIFY, &yes, sizeof yes},
        {CKA_ENCRYPT, &yes, sizeof yes},
        {CKA_DECRYPT, &yes, sizeof yes},
        {CKA_WRAP, &yes, sizeof yes},
        {CKA_UNWRAP, &yes, sizeof yes},
    };
    CK_OBJECT_HANDLE object;

    attack_must(p11->C_CreateObject(s, tmpl, G_N_ELEMENTS(tmpl), &object), label);
    return object;
}

typedef struct {
    const char *name;
    CK_FUNCTION_LIST_PTR direct; /* NULL in client mode */
    CK_SESSION_HANDLE ds;        /* direct session */
    CK_SESSION_HANDLE ms;        /* session through p11mux */
    CK_OBJECT_HANDLE visible;    /* generic secret, 32 bytes, extractable */
    CK_OBJECT_HANDLE master;     /* generic secret, 48 bytes (TLS) */
    CK_OBJECT_HANDLE hidden;     /* generic secret, hidden by deny-objects */
} Token;

static void
prepare(Token *t)
{
    static const CK_BYTE master[48] = "TLS-MASTER-SECRET-0123456789abcdefghijklmnopqrst";

    t->visible = make_secret(t->direct, t->ds, "visible-key", CKK_GENERIC_SECRET,
                             "VISIBLE-0123456789abcdefghijklmn", 32, FALSE);
    t->master = make_secret(t->direct, t->ds, "master-key", CKK_GENERIC_SECRET, master, 48, FALSE);
    t->hidden =
        make_secret(t->direct, t->ds, "hidden-key", CKK_GENERIC_SECRET, hidden_value, 32, FALSE);
}

/* ------------------------------------------------------------ digesting */

static const CK_BYTE abc_sha256[32] = {
    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};

/* SHA-256("abc") through the session works and is right: the module (and
 * the server behind it) is alive and the session usable. */
static void
digest_still_works(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, const char *what)
{
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    CK_BYTE out[64];
    CK_ULONG len = sizeof out;
    CK_RV rv = p11->C_DigestInit(s, &sha256);

    if (rv == CKR_OK) {
        rv = p11->C_Digest(s, (CK_BYTE_PTR) "abc", 3, out, &len);
    }
    attack_expect(rv, CKR_OK, "%s: a SHA-256 digest afterwards works", what);
    attack_truth(rv == CKR_OK && len == 32 && memcmp(out, abc_sha256, 32) == 0,
                 "%s: ... and gives SHA-256(\"abc\")", what);
}

/* ------------------------------------------------ class 1: operation state */

/* C_GetOperationState of an active digest through p11mux: refused, nothing
 * written (neither the buffer nor the length), the digest still usable. */
static void
state_get(Token *t)
{
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    CK_BYTE state[4096], out[64];
    CK_ULONG len = sizeof state, out_len = sizeof out;
    const CK_ULONG marker = 0x5a5a5a5aUL;

    attack_expect(mux->C_DigestInit(t->ms, &sha256), CKR_OK, "%s: C_DigestInit(SHA-256) is allowed",
                  t->name);
    attack_expect(mux->C_DigestUpdate(t->ms, (CK_BYTE_PTR) "ab", 2), CKR_OK, "%s: C_DigestUpdate",
                  t->name);
    len = marker;
    attack_expect(mux->C_GetOperationState(t->ms, NULL, &len), CKR_STATE_UNSAVEABLE,
                  "%s: C_GetOperationState(NULL) of a SHA-256 digest (length query)", t->name);
    attack_truth(len == marker, "%s: no state length came back", t->name);
    memset(state, ATTACK_PATTERN, sizeof state);
    len = sizeof state;
    attack_expect(mux->C_GetOperationState(t->ms, state, &len), CKR_STATE_UNSAVEABLE,
                  "%s: C_GetOperationState of a SHA-256 digest", t->name);
    attack_truth(attack_untouched(state, sizeof state) && len == sizeof state,
                 "%s: no byte of the operation state came back", t->name);
    /* the refusal did not break the digest */
    attack_expect(mux->C_DigestUpdate(t->ms, (CK_BYTE_PTR) "c", 1), CKR_OK,
                  "%s: the digest goes on after the refusal", t->name);
    attack_expect(mux->C_DigestFinal(t->ms, out, &out_len), CKR_OK, "%s: C_DigestFinal", t->name);
    attack_truth(out_len == 32 && memcmp(out, abc_sha256, 32) == 0,
                 "%s: the digest is SHA-256(\"abc\")", t->name);
}

/* NSS's own SHA-1 state, made directly, given to p11mux: SHA-1 is denied,
 * so no SHA-1 digest may come out of it. */
static void
state_set_sha1(Token *t)
{
    CK_MECHANISM sha1 = {CKM_SHA_1, NULL, 0};
    CK_BYTE *blob, out[64];
    CK_ULONG blob_len = 0, out_len = sizeof out;
    CK_RV rv;

    attack_must(t->direct->C_DigestInit(t->ds, &sha1), "direct C_DigestInit(SHA-1)");
    attack_must(t->direct->C_DigestUpdate(t->ds, (CK_BYTE_PTR) "abc", 3), "direct C_DigestUpdate");
    rv = t->direct->C_GetOperationState(t->ds, NULL, &blob_len);
    if (rv != CKR_OK) {
        attack_note("%s directly: C_GetOperationState answers %s; no SHA-1 state to replay",
                    t->name, attack_rv_name(rv));
        (void)t->direct->C_DigestFinal(t->ds, out, &out_len);
        return;
    }
    blob = g_malloc(blob_len);
    attack_must(t->direct->C_GetOperationState(t->ds, blob, &blob_len),
                "direct C_GetOperationState");
    attack_note("%s directly: a SHA-1 digest's saved state is %lu bytes", t->name,
                (unsigned long)blob_len);
    out_len = sizeof out;
    attack_must(t->direct->C_DigestFinal(t->ds, out, &out_len), "direct C_DigestFinal");

    attack_expect(mux->C_SetOperationState(t->ms, blob, blob_len, 0, 0), CKR_SAVED_STATE_INVALID,
                  "%s: C_SetOperationState with NSS's own SHA-1 state", t->name);
    memset(out, ATTACK_PATTERN, sizeof out);
    out_len = sizeof out;
    attack_expect(mux->C_DigestFinal(t->ms, out, &out_len), CKR_OPERATION_NOT_INITIALIZED,
                  "%s: C_DigestFinal after the refused state", t->name);
    attack_truth(attack_untouched(out, sizeof out), "%s: no SHA-1 digest came out", t->name);
    /* and with the hidden key as the state's keys */
    attack_expect(mux->C_SetOperationState(t->ms, blob, blob_len, t->hidden, t->hidden),
                  CKR_SAVED_STATE_INVALID, "%s: C_SetOperationState naming the hidden key",
                  t->name);
    g_free(blob);
}

/* C_DigestKey of a key force-sensitive made sensitive, then the state that
 * would hold its value. */
static void
state_digest_key(Token *t)
{
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &len32, sizeof len32}, {CKA_TOKEN, &no, sizeof no}};
    CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
    CK_ATTRIBUTE flags[] = {{CKA_SENSITIVE, &sensitive, 1}, {CKA_EXTRACTABLE, &extractable, 1}};
    CK_OBJECT_HANDLE key = 0;
    CK_BYTE state[4096], out[64];
    CK_ULONG len = sizeof state, out_len = sizeof out;
    CK_RV rv;

    attack_must(mux->C_GenerateKey(t->ms, &gen, tmpl, G_N_ELEMENTS(tmpl), &key),
                "C_GenerateKey(AES) through p11mux");
    attack_must(t->direct->C_GetAttributeValue(t->ds, key, flags, 2), "flags of the generated key");
    attack_truth(sensitive && !extractable, "%s: force-sensitive made the generated key sensitive",
                 t->name);
    attack_expect(mux->C_DigestInit(t->ms, &sha256), CKR_OK, "%s: C_DigestInit(SHA-256)", t->name);
    rv = mux->C_DigestKey(t->ms, key);
    attack_note("%s: C_DigestKey of the sensitive key through p11mux answers %s", t->name,
                attack_rv_name(rv));
    memset(state, ATTACK_PATTERN, sizeof state);
    attack_expect(mux->C_GetOperationState(t->ms, state, &len), CKR_STATE_UNSAVEABLE,
                  "%s: C_GetOperationState after C_DigestKey of a sensitive key", t->name);
    attack_truth(attack_untouched(state, sizeof state) && len == sizeof state,
                 "%s: no byte of the state (nor of the key) came back", t->name);
    (void)mux->C_DigestFinal(t->ms, out, &out_len);
    (void)t->direct->C_DestroyObject(t->ds, key);
}

/* Every 8 bytes of a saved state that look like a user-space address,
 * after the context's type and mechanism (NSS packs the rest: a pointer
 * may sit at any multiple of 4), replaced by 0x4141414141414141; how many. */
static guint
mangle_addresses(CK_BYTE *state, CK_ULONG len)
{
    const guint64 garbage = 0x4141414141414141ULL;
    guint replaced = 0;

    for (gsize i = 12; i + 8 <= len; i += 4) {
        guint64 word;

        memcpy(&word, state + i, 8);
        if (word >= 0x0000550000000000ULL && word < 0x0000800000000000ULL) {
            memcpy(state + i, &garbage, 8);
            replaced++;
        }
    }
    return replaced;
}

/* A state made directly by the backend (a digest, or an HMAC whose saved
 * context holds pointers), every aligned word that looks like a user-space
 * address replaced by 0x4141414141414141, given to p11mux and then used:
 * refused, and the operation it would have restored does not exist. */
static void
state_replayed(Token *t, CK_MECHANISM_TYPE type, const char *what)
{
    CK_MECHANISM mech = {type, NULL, 0};
    gboolean digest = type == CKM_SHA256;
    CK_BYTE real[4096], out[64];
    CK_ULONG len = sizeof real, out_len = sizeof out;
    guint replaced = 0;

    if (digest) {
        attack_must(t->direct->C_DigestInit(t->ds, &mech), "direct C_DigestInit");
        attack_must(t->direct->C_DigestUpdate(t->ds, (CK_BYTE_PTR) "ab", 2),
                    "direct C_DigestUpdate");
    } else {
        attack_must(t->direct->C_SignInit(t->ds, &mech, t->visible), "direct C_SignInit");
        attack_must(t->direct->C_SignUpdate(t->ds, (CK_BYTE_PTR) "ab", 2), "direct C_SignUpdate");
    }
    if (t->direct->C_GetOperationState(t->ds, real, &len) == CKR_OK) {
        replaced = mangle_addresses(real, len);
        attack_note(
            "%s directly: the state of a %s is %lu bytes and holds %u address-looking words",
            t->name, what, (unsigned long)len, replaced);
        attack_expect(mux->C_SetOperationState(t->ms, real, len, 0, 0), CKR_SAVED_STATE_INVALID,
                      "%s: C_SetOperationState with NSS's %s state, addresses replaced by "
                      "0x4141414141414141",
                      t->name, what);
        out_len = sizeof out;
        if (digest) {
            attack_expect(mux->C_DigestUpdate(t->ms, (CK_BYTE_PTR) "c", 1),
                          CKR_OPERATION_NOT_INITIALIZED, "%s: C_DigestUpdate after it", t->name);
            attack_expect(mux->C_DigestFinal(t->ms, out, &out_len), CKR_OPERATION_NOT_INITIALIZED,
                          "%s: C_DigestFinal after it", t->name);
        } else {
            attack_expect(mux->C_SignUpdate(t->ms, (CK_BYTE_PTR) "c", 1),
                          CKR_OPERATION_NOT_INITIALIZED, "%s: C_SignUpdate after it", t->name);
            attack_expect(mux->C_SignFinal(t->ms, out, &out_len), CKR_OPERATION_NOT_INITIALIZED,
                          "%s: C_SignFinal after it", t->name);
        }
    } else {
        attack_note("%s directly: no state of a %s", t->name, what);
    }
    out_len = sizeof out;
    if (digest) {
        (void)t->direct->C_DigestFinal(t->ds, out, &out_len);
    } else {
        (void)t->direct->C_SignFinal(t->ds, out, &out_len);
    }
}

/* Garbage states: random bytes, pointer-looking words, and (on NSS) a real
 * SHA-256 state whose pointers are replaced.  Refused; the process and the
 * session survive. */
static void
state_garbage(Token *t, gboolean from_direct)
{
    GRand *rand = g_rand_new_with_seed(12);
    CK_BYTE blob[1024];
    guint64 words[] = {0x4141414141414141ULL,     0x00007f0000001000ULL, (guint64)(uintptr_t)&abort,
                       (guint64)(uintptr_t)&puts, 0xffffffffffffffffULL, 0};

    for (gsize i = 0; i < sizeof blob; i++) {
        blob[i] = (CK_BYTE)g_rand_int_range(rand, 0, 256);
    }
    /* pointer-looking words after a small, plausible header */
    for (gsize i = 16; i + 8 <= sizeof blob; i += 64) {
        memcpy(blob + i, &words[(i / 64) % G_N_ELEMENTS(words)], 8);
    }
    attack_expect(mux->C_SetOperationState(t->ms, blob, sizeof blob, 0, 0), CKR_SAVED_STATE_INVALID,
                  "%s: C_SetOperationState with 1024 random bytes and pointer-looking words",
                  t->name);
    attack_expect(mux->C_SetOperationState(t->ms, blob, 8, 0, 0), CKR_SAVED_STATE_INVALID,
                  "%s: C_SetOperationState with 8 bytes", t->name);
    attack_expect(mux->C_SetOperationState(t->ms, NULL, 0, 0, 0), CKR_SAVED_STATE_INVALID,
                  "%s: C_SetOperationState with an empty state", t->name);
    if (from_direct && t->direct != NULL) {
        state_replayed(t, CKM_SHA256, "SHA-256 digest");
        state_replayed(t, CKM_SHA256_HMAC, "HMAC-SHA-256 signature");
    }
    digest_still_works(mux, t->ms, t->name);
    g_rand_free(rand);
}

/* ---------------------------------------- class 2: templates in parameters */

static CK_RV
kdf_derive(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE base,
           CK_MECHANISM_TYPE prf, CK_ATTRIBUTE *extra, CK_ULONG n_extra,
           CK_OBJECT_HANDLE *extra_key, CK_OBJECT_HANDLE *key)
{
    CwCounterFormat counter = {CK_FALSE, 32};
    CwPrfDataParam data[] = {
        {CW_SP800_108_ITERATION_VARIABLE, &counter, sizeof counter},
        {CW_SP800_108_BYTE_ARRAY, (void *)"closed-world label", 18},
    };
    CwDerivedKey additional = {extra, n_extra, extra_key};
    CwKdfParams params = {prf, G_N_ELEMENTS(data), data, extra != NULL ? 1 : 0,
                          extra != NULL ? &additional : NULL};
    CK_MECHANISM mech = {CKM_SP800_108_COUNTER_KDF, &params, sizeof params};

    return p11->C_DeriveKey(s, &mech, base, secret32, G_N_ELEMENTS(secret32), key);
}

static void
attack_kdf_templates(Token *t)
{
    CK_ATTRIBUTE readable[] = {
        {CKA_CLASS, &secret_class, sizeof secret_class},
        {CKA_KEY_TYPE, &generic_type, sizeof generic_type},
        {CKA_VALUE_LEN, &len32, sizeof len32},
        {CKA_SENSITIVE, &no, sizeof no},
        {CKA_EXTRACTABLE, &yes, sizeof yes},
    };
    CK_OBJECT_HANDLE key = 0, extra = 0;
    CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
    CK_ATTRIBUTE flags[] = {{CKA_SENSITIVE, &sensitive, 1}, {CKA_EXTRACTABLE, &extractable, 1}};
    CK_BYTE value[64];
    CK_ATTRIBUTE get_value = {CKA_VALUE, value, sizeof value};
    CK_ULONG before, after;
    CK_RV rv;

    /* NSS alone makes the extractable additional key */
    rv = kdf_derive(t->direct, t->ds, t->visible, CKM_SHA256_HMAC, readable, G_N_ELEMENTS(readable),
                    &extra, &key);
    attack_expect(rv, CKR_OK,
                  "%s directly: SP800-108 with an additional key asking CKA_SENSITIVE=FALSE",
                  t->name);
    if (rv == CKR_OK) {
        CK_RV value_rv;

        attack_must(t->direct->C_GetAttributeValue(t->ds, extra, flags, 2),
                    "flags of the additional key");
        value_rv = t->direct->C_GetAttributeValue(t->ds, extra, &get_value, 1);
        attack_truth(!sensitive && extractable && value_rv == CKR_OK,
                     "%s directly: the additional key is extractable and its value readable",
                     t->name);
        (void)t->direct->C_DestroyObject(t->ds, extra);
        (void)t->direct->C_DestroyObject(t->ds, key);
    }

    /* through p11mux: refused, nothing made */
    key = extra = 0;
    before = count_objects(t->direct, t->ds);
    attack_expect(
        kdf_derive(mux, t->ms, t->visible, CKM_SHA256_HMAC, readable, G_N_ELEMENTS(readable),
                   &extra, &key),
        CKR_TEMPLATE_INCONSISTENT,
        "%s: SP800-108 with an additional key asking CKA_SENSITIVE=FALSE, CKA_EXTRACTABLE=TRUE",
        t->name);
    after = count_objects(t->direct, t->ds);
    attack_truth(before == after,
                 "%s: no key was made (%lu objects before, %lu after, seen directly)", t->name,
                 (unsigned long)before, (unsigned long)after);
    attack_truth(key == 0 && extra == 0, "%s: no handle came back", t->name);

    /* a template silent about sensitivity: completed */
    key = extra = 0;
    rv = kdf_derive(mux, t->ms, t->visible, CKM_SHA256_HMAC, secret32, G_N_ELEMENTS(secret32),
                    &extra, &key);
    attack_expect(rv, CKR_OK, "%s: SP800-108 with an additional key silent about sensitivity",
                  t->name);
    if (rv == CKR_OK && extra != 0) {
        sensitive = CK_FALSE;
        extractable = CK_TRUE;
        attack_expect(mux->C_GetAttributeValue(t->ms, extra, flags, 2), CKR_OK,
                      "%s: the additional key's flags, read through p11mux", t->name);
        attack_truth(sensitive && !extractable,
                     "%s: the additional key is CKA_SENSITIVE=TRUE, CKA_EXTRACTABLE=FALSE",
                     t->name);
        memset(value, ATTACK_PATTERN, sizeof value);
        get_value.ulValueLen = sizeof value;
        attack_expect(mux->C_GetAttributeValue(t->ms, extra, &get_value, 1),
                      CKR_ATTRIBUTE_SENSITIVE, "%s: CKA_VALUE of the additional key", t->name);
        attack_truth(attack_untouched(value, sizeof value),
                     "%s: no byte of the additional key came back", t->name);
        sensitive = CK_FALSE;
        extractable = CK_TRUE;
        attack_must(t->direct->C_GetAttributeValue(t->ds, key, flags, 2),
                    "flags of the derived key");
        attack_truth(sensitive && !extractable,
                     "%s: the primary derived key is sensitive too, seen directly", t->name);
        (void)t->direct->C_DestroyObject(t->ds, extra);
        (void)t->direct->C_DestroyObject(t->ds, key);
    } else {
        attack_truth(FALSE, "%s: the additional key was made (handle %lu)", t->name,
                     (unsigned long)extra);
    }
}

/* ---------------------------------------- class 3: selectors in parameters */

/* A call through p11mux that the policy must not refuse: whatever NSS
 * answers directly, p11mux's answer is not CKR_MECHANISM_INVALID of its own. */
static void
not_refused(CK_RV direct, CK_RV through, const char *what)
{
    attack_note("%s: NSS directly %s, through p11mux %s", what, attack_rv_name(direct),
                attack_rv_name(through));
    attack_truth(through != CKR_MECHANISM_INVALID || direct == CKR_MECHANISM_INVALID,
                 "%s is not refused by the policy", what);
}

static void
destroy_if(Token *t, CK_OBJECT_HANDLE *key)
{
    if (*key != 0) {
        (void)t->direct->C_DestroyObject(t->ds, *key);
        *key = 0;
    }
}

/* The derived key's value through p11mux: never readable. */
static void
value_hidden(Token *t, CK_OBJECT_HANDLE key, const char *what)
{
    CK_BYTE value[128];
    CK_ATTRIBUTE get_value = {CKA_VALUE, value, sizeof value};

    if (key == 0) {
        return;
    }
    memset(value, ATTACK_PATTERN, sizeof value);
    attack_expect(mux->C_GetAttributeValue(t->ms, key, &get_value, 1), CKR_ATTRIBUTE_SENSITIVE,
                  "%s: CKA_VALUE of %s, made through p11mux", t->name, what);
    attack_truth(attack_untouched(value, sizeof value), "%s: no byte of %s came back", t->name,
                 what);
}

static CK_RV
tls_mac(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE hash)
{
    CwTlsMac params = {hash, 12, 1};
    CK_MECHANISM mech = {CKM_TLS_MAC, &params, sizeof params};
    CK_BYTE mac[64];
    CK_ULONG len = sizeof mac;
    CK_RV rv = p11->C_SignInit(s, &mech, key);

    if (rv == CKR_OK) {
        (void)p11->C_Sign(s, (CK_BYTE_PTR) "handshake hash 0123456789abcdef", 32, mac, &len);
    }
    return rv;
}

static CK_BYTE client_random[32] = "client random 0123456789abcdef.";
static CK_BYTE server_random[32] = "server random 0123456789abcdef.";

static CK_RV
tls12_master(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pre_master,
             CK_MECHANISM_TYPE hash, CK_OBJECT_HANDLE *out)
{
    CK_VERSION version = {0, 0};
    CwTls12Master params = {{client_random, 32, server_random, 32}, &version, hash};
    CK_MECHANISM mech = {CKM_TLS12_MASTER_KEY_DERIVE, &params, sizeof params};
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &secret_class, sizeof secret_class},
                           {CKA_KEY_TYPE, &generic_type, sizeof generic_type}};

    return p11->C_DeriveKey(s, &mech, pre_master, tmpl, G_N_ELEMENTS(tmpl), out);
}

static CK_RV
tls12_key_and_mac(Token *t, CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_MECHANISM_TYPE hash,
                  CwKeyMatOut *keys)
{
    static CK_BYTE iv_client[16], iv_server[16];
    CwTls12KeyMat params = {256,  128, 128, CK_FALSE, {client_random, 32, server_random, 32},
                            keys, hash};
    CK_MECHANISM mech = {CKM_TLS12_KEY_AND_MAC_DERIVE, &params, sizeof params};
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &secret_class, sizeof secret_class},
                           {CKA_KEY_TYPE, &aes_type, sizeof aes_type}};

    memset(keys, 0, sizeof *keys);
    keys->pIVClient = iv_client;
    keys->pIVServer = iv_server;
    return p11->C_DeriveKey(s, &mech, t->master, tmpl, G_N_ELEMENTS(tmpl), NULL);
}

static void
destroy_key_mat(Token *t, CwKeyMatOut *keys)
{
    destroy_if(t, &keys->hClientMacSecret);
    destroy_if(t, &keys->hServerMacSecret);
    destroy_if(t, &keys->hClientKey);
    destroy_if(t, &keys->hServerKey);
}

static void
attack_selectors(Token *t)
{
    CK_OBJECT_HANDLE key = 0;
    CwKeyMatOut keys;
    CK_RV direct, through;

    /* SP800-108 with an HMAC-SHA-1 PRF */
    direct = kdf_derive(t->direct, t->ds, t->visible, CKM_SHA_1_HMAC, NULL, 0, NULL, &key);
    attack_note("%s directly: SP800-108 with prfType CKM_SHA_1_HMAC answers %s", t->name,
                attack_rv_name(direct));
    destroy_if(t, &key);
    attack_expect(kdf_derive(mux, t->ms, t->visible, CKM_SHA_1_HMAC, NULL, 0, NULL, &key),
                  CKR_MECHANISM_INVALID, "%s: SP800-108 with prfType CKM_SHA_1_HMAC", t->name);
    attack_truth(key == 0, "%s: no key derived with HMAC-SHA-1", t->name);
    destroy_if(t, &key);
    direct = kdf_derive(t->direct, t->ds, t->visible, CKM_SHA256_HMAC, NULL, 0, NULL, &key);
    destroy_if(t, &key);
    through = kdf_derive(mux, t->ms, t->visible, CKM_SHA256_HMAC, NULL, 0, NULL, &key);
    value_hidden(t, key, "the SP800-108 output");
    destroy_if(t, &key);
    not_refused(direct, through, "SP800-108 with prfType CKM_SHA256_HMAC");

    /* CKM_TLS_MAC */
    direct = tls_mac(t->direct, t->ds, t->master, CKM_SHA_1);
    attack_note("%s directly: CKM_TLS_MAC with prfHashMechanism CKM_SHA_1 answers %s", t->name,
                attack_rv_name(direct));
    attack_expect(tls_mac(mux, t->ms, t->master, CKM_SHA_1), CKR_MECHANISM_INVALID,
                  "%s: CKM_TLS_MAC with prfHashMechanism CKM_SHA_1", t->name);
    not_refused(tls_mac(t->direct, t->ds, t->master, CKM_SHA256),
                tls_mac(mux, t->ms, t->master, CKM_SHA256), "CKM_TLS_MAC with CKM_SHA256");

    /* CKM_TLS12_MASTER_KEY_DERIVE */
    direct = tls12_master(t->direct, t->ds, t->master, CKM_SHA_1, &key);
    attack_note("%s directly: CKM_TLS12_MASTER_KEY_DERIVE with CKM_SHA_1 answers %s", t->name,
                attack_rv_name(direct));
    destroy_if(t, &key);
    attack_expect(tls12_master(mux, t->ms, t->master, CKM_SHA_1, &key), CKR_MECHANISM_INVALID,
                  "%s: CKM_TLS12_MASTER_KEY_DERIVE with prfHashMechanism CKM_SHA_1", t->name);
    attack_truth(key == 0, "%s: no master secret derived with SHA-1", t->name);
    destroy_if(t, &key);
    direct = tls12_master(t->direct, t->ds, t->master, CKM_SHA256, &key);
    destroy_if(t, &key);
    through = tls12_master(mux, t->ms, t->master, CKM_SHA256, &key);
    value_hidden(t, key, "the TLS 1.2 master secret");
    destroy_if(t, &key);
    not_refused(direct, through, "CKM_TLS12_MASTER_KEY_DERIVE with CKM_SHA256");

    /* CKM_TLS12_KEY_AND_MAC_DERIVE */
    direct = tls12_key_and_mac(t, t->direct, t->ds, CKM_SHA_1, &keys);
    attack_note("%s directly: CKM_TLS12_KEY_AND_MAC_DERIVE with CKM_SHA_1 answers %s", t->name,
                attack_rv_name(direct));
    destroy_key_mat(t, &keys);
    attack_expect(tls12_key_and_mac(t, mux, t->ms, CKM_SHA_1, &keys), CKR_MECHANISM_INVALID,
                  "%s: CKM_TLS12_KEY_AND_MAC_DERIVE with prfHashMechanism CKM_SHA_1", t->name);
    attack_truth(keys.hClientMacSecret == 0 && keys.hServerMacSecret == 0 && keys.hClientKey == 0 &&
                     keys.hServerKey == 0,
                 "%s: no key material derived with SHA-1", t->name);
    destroy_key_mat(t, &keys);
    direct = tls12_key_and_mac(t, t->direct, t->ds, CKM_SHA256, &keys);
    destroy_key_mat(t, &keys);
    through = tls12_key_and_mac(t, mux, t->ms, CKM_SHA256, &keys);
    value_hidden(t, keys.hClientMacSecret, "the client MAC secret");
    value_hidden(t, keys.hServerMacSecret, "the server MAC secret");
    value_hidden(t, keys.hClientKey, "the client key");
    value_hidden(t, keys.hServerKey, "the server key");
    destroy_key_mat(t, &keys);
    not_refused(direct, through, "CKM_TLS12_KEY_AND_MAC_DERIVE with CKM_SHA256");
}

/* One level deeper: CKM_RSA_AES_KEY_WRAP's parameter points to an OAEP
 * parameter, whose hash and MGF are selectors.  SoftHSM2 2.6.1 as Debian
 * builds it does not implement the mechanism (it answers
 * CKR_MECHANISM_INVALID itself), so the key to wrap is the hidden key:
 * p11mux judges mechanisms before handles, so CKR_MECHANISM_INVALID comes
 * from the nested selector, and with SHA-256 there the same call gives the
 * hidden key's CKR_KEY_HANDLE_INVALID instead. */
static void
attack_nested_selectors(Token *t)
{
    CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 2048;
    CK_BYTE exponent[] = {1, 0, 1};
    CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &no, sizeof no},
                          {CKA_MODULUS_BITS, &bits, sizeof bits},
                          {CKA_PUBLIC_EXPONENT, exponent, sizeof exponent},
                          {CKA_WRAP, &yes, sizeof yes},
                          {CKA_ENCRYPT, &yes, sizeof yes}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &no, sizeof no},
                           {CKA_UNWRAP, &yes, sizeof yes},
                           {CKA_DECRYPT, &yes, sizeof yes}};
    CK_OBJECT_HANDLE public_key, private_key;
    CK_RSA_PKCS_OAEP_PARAMS sha1 = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_RSA_PKCS_OAEP_PARAMS mgf_sha1 = {CKM_SHA256, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_RSA_PKCS_OAEP_PARAMS sha256 = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0};
    CwRsaAesWrap params = {256, &sha1};
    CK_MECHANISM mech = {CKM_RSA_AES_KEY_WRAP, &params, sizeof params};
    CK_BYTE wrapped[1024];
    CK_ULONG len = sizeof wrapped;
    CK_RV direct;

    attack_must(t->direct->C_GenerateKeyPair(t->ds, &gen, pub, G_N_ELEMENTS(pub), priv,
                                             G_N_ELEMENTS(priv), &public_key, &private_key),
                "RSA key pair");
    direct = t->direct->C_WrapKey(t->ds, &mech, public_key, t->visible, wrapped, &len);
    attack_note("%s directly: CKM_RSA_AES_KEY_WRAP with OAEP SHA-1 answers %s", t->name,
                attack_rv_name(direct));
    memset(wrapped, ATTACK_PATTERN, sizeof wrapped);
    len = sizeof wrapped;
    attack_expect(mux->C_WrapKey(t->ms, &mech, public_key, t->hidden, wrapped, &len),
                  CKR_MECHANISM_INVALID,
                  "%s: CKM_RSA_AES_KEY_WRAP whose nested OAEP parameter names CKM_SHA_1", t->name);
    params.pOAEPParams = &mgf_sha1;
    attack_expect(
        mux->C_WrapKey(t->ms, &mech, public_key, t->hidden, wrapped, &len), CKR_MECHANISM_INVALID,
        "%s: CKM_RSA_AES_KEY_WRAP whose nested OAEP parameter names CKG_MGF1_SHA1", t->name);
    params.pOAEPParams = &sha256;
    attack_expect(mux->C_WrapKey(t->ms, &mech, public_key, t->hidden, wrapped, &len),
                  CKR_KEY_HANDLE_INVALID,
                  "%s: CKM_RSA_AES_KEY_WRAP with OAEP SHA-256 passes the mechanism rules "
                  "(and the hidden key is refused)",
                  t->name);
    params.pOAEPParams = NULL;
    attack_expect(mux->C_WrapKey(t->ms, &mech, public_key, t->hidden, wrapped, &len),
                  CKR_MECHANISM_PARAM_INVALID, "%s: CKM_RSA_AES_KEY_WRAP whose pOAEPParams is NULL",
                  t->name);
    attack_truth(attack_untouched(wrapped, sizeof wrapped), "%s: nothing wrapped", t->name);
    (void)t->direct->C_DestroyObject(t->ds, public_key);
    (void)t->direct->C_DestroyObject(t->ds, private_key);
}

/* ------------------------------------------- class 4: handles in parameters */

static CK_RV
ike_prf_plus(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE base,
             CK_OBJECT_HANDLE seed, CK_OBJECT_HANDLE *out)
{
    CwIke2PrfPlus params = {CKM_SHA256_HMAC, CK_TRUE, seed, (CK_BYTE_PTR) "seed data", 9};
    CK_MECHANISM mech = {CW_CKM_NSS_IKE_PRF_PLUS_DERIVE, &params, sizeof params};
    CK_ULONG size = 64;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &secret_class, sizeof secret_class},
                           {CKA_KEY_TYPE, &generic_type, sizeof generic_type},
                           {CKA_VALUE_LEN, &size, sizeof size}};

    return p11->C_DeriveKey(s, &mech, base, tmpl, G_N_ELEMENTS(tmpl), out);
}

static CK_RV
ike_prf(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE base,
        CK_OBJECT_HANDLE new_key, CK_OBJECT_HANDLE *out)
{
    CwIkePrf params = {CKM_SHA256_HMAC,          CK_FALSE, CK_TRUE, (CK_BYTE_PTR) "nonce-i.", 8,
                       (CK_BYTE_PTR) "nonce-r.", 8,        new_key};
    CK_MECHANISM mech = {CW_CKM_NSS_IKE_PRF_DERIVE, &params, sizeof params};

    return p11->C_DeriveKey(s, &mech, base, secret32, G_N_ELEMENTS(secret32), out);
}

/* A derivation whose parameter names a key (ike_prf_plus, ike_prf). */
typedef CK_RV (*KeyNamingDerive)(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s,
                                 CK_OBJECT_HANDLE base, CK_OBJECT_HANDLE named,
                                 CK_OBJECT_HANDLE *out);

/* A derivation whose parameter names a key (which: the parameter's fields),
 * with the hidden key there: refused; with a visible key: answered as NSS
 * alone answers.  visible words the visible key, what_out the case in the
 * line saying that nothing was derived from the hidden key. */
static void
attack_named_key(Token *t, KeyNamingDerive derive, const char *mechanism, const char *which,
                 const char *visible, const char *what_out)
{
    g_autofree char *allowed = g_strdup_printf("%s with %s", mechanism, visible);
    CK_OBJECT_HANDLE out = 0;
    CK_RV direct, through;

    direct = derive(t->direct, t->ds, t->visible, t->hidden, &out);
    attack_note("%s directly: %s with %s = the hidden key answers %s", t->name, mechanism, which,
                attack_rv_name(direct));
    destroy_if(t, &out);
    attack_expect(derive(mux, t->ms, t->visible, t->hidden, &out), CKR_KEY_HANDLE_INVALID,
                  "%s: %s with %s = the hidden key's handle", t->name, mechanism, which);
    attack_truth(out == 0, "%s: nothing derived from the hidden key (%s)", t->name, what_out);
    destroy_if(t, &out);
    direct = derive(t->direct, t->ds, t->visible, t->master, &out);
    destroy_if(t, &out);
    through = derive(mux, t->ms, t->visible, t->master, &out);
    destroy_if(t, &out);
    not_refused(direct, through, allowed);
    attack_truth(through == direct, "%s: same answer as NSS", allowed);
}

static void
attack_ike_handles(Token *t)
{
    attack_named_key(t, ike_prf_plus, "CKM_NSS_IKE_PRF_PLUS_DERIVE", "hSeedKey",
                     "a visible seed key", "prf+");
    attack_named_key(t, ike_prf, "CKM_NSS_IKE_PRF_DERIVE", "bRekey, hNewKey", "a visible hNewKey",
                     "prf rekey");
}

/* SP800-108 data parameters whose meaning hangs on their type: type 5
 * (CK_SP800_108_KEY_HANDLE, PKCS #11 3.1) makes pValue a key handle, and
 * an unknown type means nothing p11mux can judge.  Under the closed world
 * neither may pass unjudged.  The template asks CKA_SENSITIVE=FALSE, which
 * p11mux refuses later (templates are judged after mechanisms and handles),
 * so CKR_TEMPLATE_INCONSISTENT here means the parameter passed unjudged.
 * (NSS 3.87 itself refuses type 5; a PKCS #11 3.1 backend would use the
 * key.) */
static CK_RV
kdf_with_data(Token *t, CK_ULONG type, void *value, CK_ULONG len)
{
    CwCounterFormat counter = {CK_FALSE, 32};
    CwPrfDataParam data[] = {
        {CW_SP800_108_ITERATION_VARIABLE, &counter, sizeof counter},
        {type, value, len},
    };
    CwKdfParams params = {CKM_SHA256_HMAC, G_N_ELEMENTS(data), data, 0, NULL};
    CK_MECHANISM mech = {CKM_SP800_108_COUNTER_KDF, &params, sizeof params};
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &secret_class, sizeof secret_class},
        {CKA_KEY_TYPE, &generic_type, sizeof generic_type},
        {CKA_VALUE_LEN, &len32, sizeof len32},
        {CKA_SENSITIVE, &no, sizeof no},
    };
    CK_OBJECT_HANDLE key = 0;
    CK_RV rv = mux->C_DeriveKey(t->ms, &mech, t->visible, tmpl, G_N_ELEMENTS(tmpl), &key);

    destroy_if(t, &key);
    return rv;
}

static void
attack_kdf_data_types(Token *t)
{
    CK_OBJECT_HANDLE hidden = t->hidden;
    CK_BYTE bytes[8] = "anything";
    CwCounterFormat counter = {CK_FALSE, 32};
    CwPrfDataParam data[] = {
        {CW_SP800_108_ITERATION_VARIABLE, &counter, sizeof counter},
        {5, &hidden, sizeof hidden},
    };
    CwKdfParams params = {CKM_SHA256_HMAC, G_N_ELEMENTS(data), data, 0, NULL};
    CK_MECHANISM mech = {CKM_SP800_108_COUNTER_KDF, &params, sizeof params};
    CK_OBJECT_HANDLE key = 0;
    CK_RV rv;

    rv = t->direct->C_DeriveKey(t->ds, &mech, t->visible, secret32, G_N_ELEMENTS(secret32), &key);
    attack_note(
        "%s directly: SP800-108 with a data parameter of type 5 (the hidden key) answers %s",
        t->name, attack_rv_name(rv));
    destroy_if(t, &key);

    rv = kdf_with_data(t, 5, &hidden, sizeof hidden);
    attack_verdict(
        rv == CKR_KEY_HANDLE_INVALID || rv == CKR_MECHANISM_PARAM_INVALID,
        "NSS: SP800-108 data parameter of type 5 (CK_SP800_108_KEY_HANDLE) naming the hidden "
        "key is judged (CKR_KEY_HANDLE_INVALID or CKR_MECHANISM_PARAM_INVALID)",
        rv == CKR_TEMPLATE_INCONSISTENT ? "CKR_TEMPLATE_INCONSISTENT: the parameter passed"
                                          " the mechanism and handle checks unjudged"
                                        : attack_rv_name(rv));
    rv = kdf_with_data(t, 0x99, bytes, sizeof bytes);
    attack_verdict(
        rv == CKR_MECHANISM_PARAM_INVALID,
        "NSS: SP800-108 data parameter of unknown type 0x99 is CKR_MECHANISM_PARAM_INVALID",
        rv == CKR_TEMPLATE_INCONSISTENT ? "CKR_TEMPLATE_INCONSISTENT: the parameter passed"
                                          " the mechanism and handle checks unjudged"
                                        : attack_rv_name(rv));
}

static CK_RV
hkdf(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE base, CK_MECHANISM_TYPE hash,
     CK_ULONG salt_type, CK_OBJECT_HANDLE salt_key, CK_OBJECT_HANDLE *out)
{
    CK_BYTE salt[16] = "salt salt salt.";
    CwHkdf params = {CK_TRUE,
                     CK_TRUE,
                     hash,
                     salt_type,
                     salt_type == CW_CKF_HKDF_SALT_DATA ? salt : NULL,
                     salt_type == CW_CKF_HKDF_SALT_DATA ? sizeof salt : 0,
                     salt_key,
                     (CK_BYTE_PTR) "info",
                     4};
    CK_MECHANISM mech = {CKM_HKDF_DERIVE, &params, sizeof params};

    return p11->C_DeriveKey(s, &mech, base, secret32, G_N_ELEMENTS(secret32), out);
}

static void
attack_hkdf(Token *t)
{
    CK_OBJECT_HANDLE out = 0;
    CK_RV direct, through;

    direct = hkdf(t->direct, t->ds, t->visible, CKM_SHA256, CW_CKF_HKDF_SALT_KEY, t->hidden, &out);
    attack_note("%s directly: CKM_HKDF_DERIVE with hSaltKey = the hidden key answers %s", t->name,
                attack_rv_name(direct));
    destroy_if(t, &out);
    attack_expect(hkdf(mux, t->ms, t->visible, CKM_SHA256, CW_CKF_HKDF_SALT_KEY, t->hidden, &out),
                  CKR_KEY_HANDLE_INVALID,
                  "%s: CKM_HKDF_DERIVE with hSaltKey = the hidden key's handle", t->name);
    attack_truth(out == 0, "%s: nothing derived with the hidden key as salt", t->name);
    destroy_if(t, &out);
    direct = hkdf(t->direct, t->ds, t->visible, CKM_SHA_1, CW_CKF_HKDF_SALT_DATA, 0, &out);
    attack_note("%s directly: CKM_HKDF_DERIVE with prfHashMechanism CKM_SHA_1 answers %s", t->name,
                attack_rv_name(direct));
    destroy_if(t, &out);
    attack_expect(hkdf(mux, t->ms, t->visible, CKM_SHA_1, CW_CKF_HKDF_SALT_DATA, 0, &out),
                  CKR_MECHANISM_INVALID, "%s: CKM_HKDF_DERIVE with prfHashMechanism CKM_SHA_1",
                  t->name);
    destroy_if(t, &out);
    direct = hkdf(t->direct, t->ds, t->visible, CKM_SHA256, CW_CKF_HKDF_SALT_KEY, t->master, &out);
    destroy_if(t, &out);
    through = hkdf(mux, t->ms, t->visible, CKM_SHA256, CW_CKF_HKDF_SALT_KEY, t->master, &out);
    value_hidden(t, out, "the HKDF output");
    destroy_if(t, &out);
    not_refused(direct, through, "CKM_HKDF_DERIVE with a visible salt key");
}

static void
attack_ike1_handles(Token *t)
{
    CwIke1Prf prf = {CKM_SHA256_HMAC,          CK_FALSE, t->hidden, 0, (CK_BYTE_PTR) "cookie-i", 8,
                     (CK_BYTE_PTR) "cookie-r", 8,        0};
    CwIke1Extended app_b = {CKM_SHA256_HMAC, CK_TRUE, t->hidden, (CK_BYTE_PTR) "extra", 5};
    CK_MECHANISM prf_mech = {CW_CKM_NSS_IKE1_PRF_DERIVE, &prf, sizeof prf};
    CK_MECHANISM app_b_mech = {CW_CKM_NSS_IKE1_APP_B_PRF_DERIVE, &app_b, sizeof app_b};
    CK_OBJECT_HANDLE out = 0;
    CK_RV direct;

    direct = t->direct->C_DeriveKey(t->ds, &prf_mech, t->visible, secret32, G_N_ELEMENTS(secret32),
                                    &out);
    attack_note("%s directly: CKM_NSS_IKE1_PRF_DERIVE with hKeygxy = the hidden key answers %s",
                t->name, attack_rv_name(direct));
    destroy_if(t, &out);
    attack_expect(
        mux->C_DeriveKey(t->ms, &prf_mech, t->visible, secret32, G_N_ELEMENTS(secret32), &out),
        CKR_KEY_HANDLE_INVALID,
        "%s: CKM_NSS_IKE1_PRF_DERIVE with hKeygxy = the hidden key's handle", t->name);
    destroy_if(t, &out);
    prf.hKeygxy = t->master;
    prf.bHasPrevKey = CK_TRUE;
    prf.hPrevKey = t->hidden;
    attack_expect(
        mux->C_DeriveKey(t->ms, &prf_mech, t->visible, secret32, G_N_ELEMENTS(secret32), &out),
        CKR_KEY_HANDLE_INVALID,
        "%s: CKM_NSS_IKE1_PRF_DERIVE with bHasPrevKey, hPrevKey = the hidden key's handle",
        t->name);
    destroy_if(t, &out);
    direct = t->direct->C_DeriveKey(t->ds, &app_b_mech, t->visible, secret32,
                                    G_N_ELEMENTS(secret32), &out);
    attack_note(
        "%s directly: CKM_NSS_IKE1_APP_B_PRF_DERIVE with hKeygxy = the hidden key answers %s",
        t->name, attack_rv_name(direct));
    destroy_if(t, &out);
    attack_expect(
        mux->C_DeriveKey(t->ms, &app_b_mech, t->visible, secret32, G_N_ELEMENTS(secret32), &out),
        CKR_KEY_HANDLE_INVALID,
        "%s: CKM_NSS_IKE1_APP_B_PRF_DERIVE with hKeygxy = the hidden key's handle", t->name);
    attack_truth(out == 0, "%s: nothing derived from the hidden key (IKEv1)", t->name);
    destroy_if(t, &out);
}

/* A KDF selector (CKD_*) inside ECDH: CKD_SHA1_KDF is SHA-1. */
static void
attack_ecdh_kdf(Token *t)
{
    static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &no, sizeof no}, {CKA_EC_PARAMS, (void *)p256, sizeof p256}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &no, sizeof no}, {CKA_DERIVE, &yes, sizeof yes}};
    CK_OBJECT_HANDLE public_key, private_key, out = 0;
    CK_BYTE point[128];
    CK_ATTRIBUTE get_point = {CKA_EC_POINT, point, sizeof point};
    CwEcdh1 params = {CW_CKD_SHA1_KDF, 0, NULL, 0, point};
    CK_MECHANISM mech = {CKM_ECDH1_DERIVE, &params, sizeof params};
    CK_RV direct, through;

    attack_must(
        t->direct->C_GenerateKeyPair(t->ds, &gen, pub, 2, priv, 2, &public_key, &private_key),
        "EC key pair");
    attack_must(t->direct->C_GetAttributeValue(t->ds, public_key, &get_point, 1), "EC point");
    params.ulPublicDataLen = get_point.ulValueLen;
    direct =
        t->direct->C_DeriveKey(t->ds, &mech, private_key, secret32, G_N_ELEMENTS(secret32), &out);
    attack_note("%s directly: CKM_ECDH1_DERIVE with kdf CKD_SHA1_KDF answers %s", t->name,
                attack_rv_name(direct));
    destroy_if(t, &out);
    attack_expect(
        mux->C_DeriveKey(t->ms, &mech, private_key, secret32, G_N_ELEMENTS(secret32), &out),
        CKR_MECHANISM_INVALID, "%s: CKM_ECDH1_DERIVE with kdf CKD_SHA1_KDF", t->name);
    attack_truth(out == 0, "%s: no key derived with the SHA-1 KDF", t->name);
    destroy_if(t, &out);
    params.kdf = CW_CKD_SHA256_KDF;
    direct =
        t->direct->C_DeriveKey(t->ds, &mech, private_key, secret32, G_N_ELEMENTS(secret32), &out);
    destroy_if(t, &out);
    through = mux->C_DeriveKey(t->ms, &mech, private_key, secret32, G_N_ELEMENTS(secret32), &out);
    value_hidden(t, out, "the ECDH-derived key");
    destroy_if(t, &out);
    not_refused(direct, through, "CKM_ECDH1_DERIVE with kdf CKD_SHA256_KDF");
    (void)t->direct->C_DestroyObject(t->ds, public_key);
    (void)t->direct->C_DestroyObject(t->ds, private_key);
}

/* What the closed world must still let through: NSS's TLS PRF as a MAC
 * (C_SignInit without a parameter, the seed given to C_Sign; NSS's libssl
 * uses it so) works as NSS alone does. */
static void
allowed_nss_prf(Token *t)
{
    CK_MECHANISM mech = {CW_CKM_NSS_TLS_PRF_GENERAL_SHA256, NULL, 0};
    CK_BYTE direct[32], through[32];
    CK_ULONG direct_len = sizeof direct, through_len = sizeof through;
    CK_RV rv;

    attack_must(t->direct->C_SignInit(t->ds, &mech, t->master), "direct TLS PRF");
    attack_must(t->direct->C_Sign(t->ds, (CK_BYTE_PTR) "label and seed", 14, direct, &direct_len),
                "direct TLS PRF output");
    rv = mux->C_SignInit(t->ms, &mech, t->master);
    attack_expect(rv, CKR_OK,
                  "%s: C_SignInit(CKM_NSS_TLS_PRF_GENERAL_SHA256, no parameter) as NSS alone",
                  t->name);
    if (rv == CKR_OK) {
        attack_expect(mux->C_Sign(t->ms, (CK_BYTE_PTR) "label and seed", 14, through, &through_len),
                      CKR_OK, "%s: C_Sign with the TLS PRF", t->name);
        attack_truth(through_len == direct_len && memcmp(through, direct, direct_len) == 0,
                     "%s: the PRF output through p11mux is NSS's", t->name);
    }
}

/* The message-based interface (PKCS #11 3.0): C_MessageEncryptInit takes
 * the AEAD mechanism without a parameter, the per-message parameter going
 * to C_EncryptMessage.  Works through p11mux as with NSS alone. */
static void
allowed_message_aead(Token *t)
{
    CK_FUNCTION_LIST_3_0_PTR direct3, mux3;
    CK_MECHANISM mechs[] = {{CKM_AES_GCM, NULL, 0}, {CKM_CHACHA20_POLY1305, NULL, 0}};
    const char *names[] = {"CKM_AES_GCM", "CKM_CHACHA20_POLY1305"};
    CK_KEY_TYPE types[] = {CKK_AES, CKK_CHACHA20};

    direct3 = attack_interface_3_0(g_getenv("NSS_MODULE"), "NSS's 3.0 interface");
    mux3 = attack_interface_3_0(g_getenv("P11MUX_SO"), "p11mux's 3.0 interface");
    for (gsize i = 0; i < G_N_ELEMENTS(mechs); i++) {
        CK_OBJECT_HANDLE key = make_secret(t->direct, t->ds, "aead-key", types[i],
                                           "AEAD-KEY-0123456789abcdefghijklm", 32, FALSE);
        CK_RV direct = direct3->C_MessageEncryptInit(t->ds, &mechs[i], key);
        CK_RV through = mux3->C_MessageEncryptInit(t->ms, &mechs[i], key);

        attack_note(
            "%s: C_MessageEncryptInit(%s, no parameter): NSS directly %s, through p11mux %s",
            t->name, names[i], attack_rv_name(direct), attack_rv_name(through));
        attack_expect(through, direct, "%s: C_MessageEncryptInit(%s, no parameter) as NSS alone",
                      t->name, names[i]);
        if (direct == CKR_OK) {
            (void)direct3->C_MessageEncryptFinal(t->ds);
        }
        if (through == CKR_OK) {
            (void)mux3->C_MessageEncryptFinal(t->ms);
        }
        (void)t->direct->C_DestroyObject(t->ds, key);
    }
}

/* NSS's opaque vendor mechanisms: listed by NSS, not by p11mux, and not
 * usable through it. */
static gboolean
is_opaque_nss(CK_MECHANISM_TYPE type)
{
    return (type >= CW_CKM_NSS_JPAKE_ROUND1_SHA1 && type <= CW_CKM_NSS_JPAKE_FINAL_SHA512) ||
           (type >= CW_CKM_NSS_PKCS12_PBE_SHA224_HMAC_KEY_GEN &&
            type <= CW_CKM_NSS_PKCS12_PBE_SHA512_HMAC_KEY_GEN);
}

static void
attack_nss_mechanism_list(Token *t, CK_SLOT_ID direct_slot, CK_SLOT_ID mux_slot)
{
    CK_MECHANISM_TYPE direct[512], through[512];
    CK_ULONG n_direct = G_N_ELEMENTS(direct), n_through = G_N_ELEMENTS(through);
    CK_MECHANISM_INFO info;
    guint opaque_direct = 0, opaque_through = 0;
    CK_MECHANISM_TYPE sample = 0;

    attack_must(t->direct->C_GetMechanismList(direct_slot, direct, &n_direct),
                "direct mechanism list");
    attack_must(mux->C_GetMechanismList(mux_slot, through, &n_through),
                "mechanism list through p11mux");
    for (CK_ULONG i = 0; i < n_direct; i++) {
        if (is_opaque_nss(direct[i])) {
            opaque_direct++;
            sample = sample != 0 ? sample : direct[i];
        }
    }
    for (CK_ULONG i = 0; i < n_through; i++) {
        opaque_through += is_opaque_nss(through[i]);
    }
    attack_truth(opaque_direct > 0,
                 "%s directly lists %u opaque vendor mechanisms (J-PAKE, PKCS #12 PBE)", t->name,
                 opaque_direct);
    attack_truth(opaque_through == 0,
                 "%s: C_GetMechanismList through p11mux lists none of them (%u)", t->name,
                 opaque_through);
    if (sample != 0) {
        attack_expect(mux->C_GetMechanismInfo(mux_slot, sample, &info), CKR_MECHANISM_INVALID,
                      "%s: C_GetMechanismInfo(0x%lx, an opaque NSS mechanism)", t->name,
                      (unsigned long)sample);
    }
    attack_expect(mux->C_GetMechanismInfo(mux_slot, CW_CKM_NSS_JPAKE_ROUND1_SHA1 + 1, &info),
                  CKR_MECHANISM_INVALID, "%s: C_GetMechanismInfo(CKM_NSS_JPAKE_ROUND1_SHA256)",
                  t->name);
}

/* An opaque NSS mechanism that NSS performs directly: p11mux refuses it. */
static void
attack_nss_opaque_use(Token *t)
{
    CK_BYTE salt[8] = "saltsalt";
    CwPbeParams pbe = {NULL, (CK_UTF8CHAR_PTR) "password", 8, salt, sizeof salt, 1000};
    CK_MECHANISM mech = {CW_CKM_NSS_PKCS12_PBE_SHA224_HMAC_KEY_GEN + 1, &pbe, sizeof pbe};
    CK_ATTRIBUTE tmpl[] = {{CKA_TOKEN, &no, sizeof no}};
    CK_OBJECT_HANDLE key = 0;
    CK_RV direct;

    direct = t->direct->C_GenerateKey(t->ds, &mech, tmpl, G_N_ELEMENTS(tmpl), &key);
    attack_note("%s directly: CKM_NSS_PKCS12_PBE_SHA256_HMAC_KEY_GEN answers %s", t->name,
                attack_rv_name(direct));
    destroy_if(t, &key);
    attack_expect(mux->C_GenerateKey(t->ms, &mech, tmpl, G_N_ELEMENTS(tmpl), &key),
                  CKR_MECHANISM_INVALID,
                  "%s: C_GenerateKey with an opaque NSS mechanism (PKCS #12 PBE SHA-256)", t->name);
    attack_truth(key == 0, "%s: no key made by the opaque mechanism", t->name);
    destroy_if(t, &key);
}

/* Unknown mechanisms and lengths that lie, refused by p11mux before the
 * backend sees them: the session has an operation of the same kind active,
 * so that SoftHSM2 itself would answer CKR_OPERATION_ACTIVE. */
static void
attack_unknown_and_lengths(Token *t, CK_SLOT_ID mux_slot)
{
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    CK_MECHANISM vendor = {CW_UNKNOWN_VENDOR, NULL, 0};
    CK_ULONG four = 4;
    CK_MECHANISM sha256_param = {CKM_SHA256, &four, sizeof four};
    CK_MECHANISM hmac = {CKM_SHA256_HMAC, NULL, 0};
    CK_RSA_PKCS_PSS_PARAMS pss_params = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM pss_short = {CKM_RSA_PKCS_PSS, &pss_params, sizeof pss_params - 1};
    CK_MECHANISM pss_long = {CKM_RSA_PKCS_PSS, &pss_params, sizeof pss_params + 1};
    CK_MECHANISM_INFO info;
    CK_BYTE out[64];
    CK_ULONG out_len = sizeof out;
    CK_RV rv;

    /* what the backend alone says to the same calls */
    attack_must(t->direct->C_DigestInit(t->ds, &sha256), "direct digest");
    attack_note("%s directly, a digest active: C_DigestInit(CKM_VENDOR_DEFINED+0x12345) answers %s",
                t->name, attack_rv_name(t->direct->C_DigestInit(t->ds, &vendor)));
    attack_note(
        "%s directly, a digest active: C_DigestInit(CKM_SHA256, 4-byte parameter) answers %s",
        t->name, attack_rv_name(t->direct->C_DigestInit(t->ds, &sha256_param)));
    (void)t->direct->C_DigestFinal(t->ds, out, &out_len);
    rv = t->direct->C_DigestInit(t->ds, &sha256_param);
    attack_note("%s directly, idle: C_DigestInit(CKM_SHA256, 4-byte parameter) answers %s", t->name,
                attack_rv_name(rv));
    if (rv == CKR_OK) {
        out_len = sizeof out;
        (void)t->direct->C_DigestFinal(t->ds, out, &out_len);
    }
    attack_must(t->direct->C_SignInit(t->ds, &hmac, t->visible), "direct HMAC");
    attack_note(
        "%s directly, a signature active: C_SignInit(CKM_RSA_PKCS_PSS, sizeof - 1) answers %s",
        t->name, attack_rv_name(t->direct->C_SignInit(t->ds, &pss_short, t->visible)));
    out_len = sizeof out;
    (void)t->direct->C_Sign(t->ds, (CK_BYTE_PTR) "x", 1, out, &out_len);

    /* through p11mux */
    attack_expect(mux->C_DigestInit(t->ms, &sha256), CKR_OK, "%s: C_DigestInit(SHA-256)", t->name);
    attack_expect(mux->C_DigestInit(t->ms, &vendor), CKR_MECHANISM_INVALID,
                  "%s: C_DigestInit(CKM_VENDOR_DEFINED+0x12345), a digest active", t->name);
    attack_expect(mux->C_DigestInit(t->ms, &sha256_param), CKR_MECHANISM_PARAM_INVALID,
                  "%s: C_DigestInit(CKM_SHA256 with a 4-byte parameter), a digest active", t->name);
    out_len = sizeof out;
    attack_expect(mux->C_DigestFinal(t->ms, out, &out_len), CKR_OK,
                  "%s: the digest active before is still there", t->name);
    attack_expect(mux->C_SignInit(t->ms, &hmac, t->visible), CKR_OK, "%s: C_SignInit(HMAC-SHA-256)",
                  t->name);
    attack_expect(
        mux->C_SignInit(t->ms, &pss_short, t->visible), CKR_MECHANISM_PARAM_INVALID,
        "%s: C_SignInit(CKM_RSA_PKCS_PSS, ulParameterLen = sizeof - 1), a signature active",
        t->name);
    attack_expect(
        mux->C_SignInit(t->ms, &pss_long, t->visible), CKR_MECHANISM_PARAM_INVALID,
        "%s: C_SignInit(CKM_RSA_PKCS_PSS, ulParameterLen = sizeof + 1), a signature active",
        t->name);
    attack_expect(mux->C_SignInit(t->ms, &vendor, t->visible), CKR_MECHANISM_INVALID,
                  "%s: C_SignInit(CKM_VENDOR_DEFINED+0x12345), a signature active", t->name);
    out_len = sizeof out;
    attack_expect(mux->C_Sign(t->ms, (CK_BYTE_PTR) "x", 1, out, &out_len), CKR_OK,
                  "%s: the signature active before is still there", t->name);
    attack_expect(mux->C_GetMechanismInfo(mux_slot, CW_UNKNOWN_VENDOR, &info),
                  CKR_MECHANISM_INVALID, "%s: C_GetMechanismInfo(CKM_VENDOR_DEFINED+0x12345)",
                  t->name);
}

/* ------------------------------------------------------------ client mode */

/* A refusal through p11-kit's RPC, which cannot carry every parameter:
 * any error will do (the script tells from the server's trace which side
 * refused).  An operation of the same kind is active, so a backend that saw
 * the call answers CKR_OPERATION_ACTIVE. */
static void refused_somewhere(CK_RV rv, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void
refused_somewhere(CK_RV rv, const char *format, ...)
{
    g_autofree char *what = NULL;
    g_autofree char *why = NULL;
    va_list args;

    va_start(args, format);
    what = g_strdup_vprintf(format, args);
    va_end(args);
    why = g_strdup_printf("rv %s, expected a refusal", attack_rv_name(rv));
    attack_note("%s: %s%s", what, attack_rv_name(rv),
                rv == CKR_OPERATION_ACTIVE
                    ? " (the backend's answer: the server's p11mux saw another call)"
                    : "");
    attack_verdict(rv != CKR_OK, what, why);
}

static void
client_attacks(Token *t, CK_RV state_out_rv, CK_RV state_in_rv)
{
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    CK_MECHANISM vendor = {CW_UNKNOWN_VENDOR, NULL, 0};
    CK_ULONG four = 4;
    CK_MECHANISM sha256_param = {CKM_SHA256, &four, sizeof four};
    CK_RSA_PKCS_PSS_PARAMS pss_params = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM pss_short = {CKM_RSA_PKCS_PSS, &pss_params, sizeof pss_params - 1};
    CK_BYTE state[4096], leaked[4096], out[64];
    CK_ULONG len = sizeof state, out_len = sizeof out, leaked_len = 0;
    GRand *rand = g_rand_new_with_seed(21);
    CK_RV rv;
    guint64 word = 0x4141414141414141ULL;

    /* operation state */
    attack_expect(mux->C_DigestInit(t->ms, &sha256), CKR_OK, "%s: C_DigestInit(SHA-256)", t->name);
    attack_expect(mux->C_DigestUpdate(t->ms, (CK_BYTE_PTR) "ab", 2), CKR_OK, "%s: C_DigestUpdate",
                  t->name);
    memset(state, ATTACK_PATTERN, sizeof state);
    rv = mux->C_GetOperationState(t->ms, state, &len);
    attack_expect(rv, state_out_rv, "%s: C_GetOperationState of a SHA-256 digest", t->name);
    attack_truth(attack_untouched(state, sizeof state),
                 "%s: no byte of the operation state came back", t->name);
    if (rv == CKR_OK && len <= sizeof leaked) {
        memcpy(leaked, state, len); /* replayed, with its addresses mangled, below */
        leaked_len = len;
    }
    len = sizeof state;
    attack_expect(mux->C_GetOperationState(t->ms, NULL, &len), state_out_rv,
                  "%s: C_GetOperationState(NULL), length query", t->name);
    /* the digest in progress still works: ab + c */
    attack_expect(mux->C_DigestUpdate(t->ms, (CK_BYTE_PTR) "c", 1), CKR_OK,
                  "%s: the digest goes on after the refusal", t->name);
    attack_expect(mux->C_DigestFinal(t->ms, out, &out_len), CKR_OK, "%s: C_DigestFinal", t->name);
    attack_truth(out_len == 32 && memcmp(out, abc_sha256, 32) == 0,
                 "%s: the digest is SHA-256(\"abc\")", t->name);

    for (gsize i = 0; i < 1024; i++) {
        state[i] = (CK_BYTE)g_rand_int_range(rand, 0, 256);
    }
    for (gsize i = 16; i + 8 <= 1024; i += 48) {
        memcpy(state + i, &word, 8);
    }
    attack_expect(mux->C_SetOperationState(t->ms, state, 1024, 0, 0), state_in_rv,
                  "%s: C_SetOperationState with 1024 random bytes and pointer-looking words",
                  t->name);
    out_len = sizeof out;
    attack_expect(mux->C_DigestFinal(t->ms, out, &out_len), CKR_OPERATION_NOT_INITIALIZED,
                  "%s: C_DigestFinal after the refused state", t->name);
    if (leaked_len > 0) {
        /* the server gave its state away: the same, addresses mangled */
        attack_note("%s: the server's state has %u address-looking words", t->name,
                    mangle_addresses(leaked, leaked_len));
        attack_expect(mux->C_SetOperationState(t->ms, leaked, leaked_len, 0, 0), state_in_rv,
                      "%s: C_SetOperationState with the server's state, addresses mangled",
                      t->name);
        attack_expect(mux->C_DigestUpdate(t->ms, (CK_BYTE_PTR) "c", 1),
                      CKR_OPERATION_NOT_INITIALIZED, "%s: C_DigestUpdate after it", t->name);
    }
    digest_still_works(mux, t->ms, t->name);
    g_rand_free(rand);

    /* unknown mechanism, lengths that lie: a digest active */
    attack_expect(mux->C_DigestInit(t->ms, &sha256), CKR_OK, "%s: C_DigestInit(SHA-256)", t->name);
    refused_somewhere(mux->C_DigestInit(t->ms, &vendor),
                      "%s: C_DigestInit(CKM_VENDOR_DEFINED+0x12345), a digest active", t->name);
    refused_somewhere(mux->C_DigestInit(t->ms, &sha256_param),
                      "%s: C_DigestInit(CKM_SHA256 with a 4-byte parameter), a digest active",
                      t->name);
    out_len = sizeof out;
    attack_expect(mux->C_DigestFinal(t->ms, out, &out_len), CKR_OK,
                  "%s: the digest active before is still there", t->name);
    refused_somewhere(mux->C_SignInit(t->ms, &pss_short, 1),
                      "%s: C_SignInit(CKM_RSA_PKCS_PSS, ulParameterLen = sizeof - 1)", t->name);
    refused_somewhere(mux->C_SignInit(t->ms, &vendor, 1),
                      "%s: C_SignInit(CKM_VENDOR_DEFINED+0x12345)", t->name);
    digest_still_works(mux, t->ms, t->name);
}

static int
run_client(void)
{
    const char *softhsm_label = g_getenv("CW_SOFTHSM_TOKEN");
    gboolean denied = g_strcmp0(g_getenv("CW_STATE_DENIED"), "1") == 0;
    CK_RV out_rv = denied ? CKR_FUNCTION_NOT_SUPPORTED : CKR_STATE_UNSAVEABLE;
    CK_RV in_rv = denied ? CKR_FUNCTION_NOT_SUPPORTED : CKR_SAVED_STATE_INVALID;
    Token ns = {.name = "NSS (client)"}, sh = {.name = "SoftHSM2 (client)"};

    if (denied) {
        attack_note("the server's policy names the state functions in deny-functions: "
                    "CKR_FUNCTION_NOT_SUPPORTED expected");
    }
    mux = attack_load(g_getenv("P11MUX_SO"), NULL);
    ns.ms = attack_session_on(mux, attack_slot_by_label(mux, "NSS Certificate DB"), FALSE);
    sh.ms = attack_session_on(
        mux, attack_slot_by_label(mux, softhsm_label != NULL ? softhsm_label : "sandbox"), FALSE);
    client_attacks(&ns, out_rv, in_rv);
    client_attacks(&sh, out_rv, in_rv);
    mux->C_Finalize(NULL);
    return attack_finish();
}

/* ------------------------------------------------------------------ main */

int
main(int argc, char **argv)
{
    const char *mode = argc == 2 ? argv[1] : "";
    CK_FUNCTION_LIST_PTR softhsm, nss;
    Token sh = {.name = "SoftHSM2"}, ns = {.name = "NSS"};
    CK_SLOT_ID sh_slot, ns_slot, ns_direct_slot;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (g_getenv("P11MUX_SO") == NULL) {
        printf("ERROR: P11MUX_SO must be set\n");
        return 2;
    }
    if (strcmp(mode, "client") == 0) {
        return run_client();
    }
    if (strcmp(mode, "state") != 0 && strcmp(mode, "garbage") != 0 && strcmp(mode, "params") != 0) {
        printf("usage: closed-world state|garbage|params|client\n");
        return 2;
    }
    if (g_getenv("SOFTHSM_MODULE") == NULL || g_getenv("NSS_MODULE") == NULL ||
        g_getenv("NSS_INIT_RESERVED") == NULL) {
        printf("ERROR: SOFTHSM_MODULE, NSS_MODULE and NSS_INIT_RESERVED must be set\n");
        return 2;
    }
    /* the backends first, directly: p11mux then shares them */
    softhsm = attack_load(g_getenv("SOFTHSM_MODULE"), NULL);
    nss = attack_load(g_getenv("NSS_MODULE"), g_getenv("NSS_INIT_RESERVED"));
    sh.direct = softhsm;
    sh.ds = attack_session_on(softhsm, attack_slot_by_label(softhsm, "cw-open"), TRUE);
    prepare(&sh);
    ns.direct = nss;
    ns_direct_slot = attack_slot_by_label(nss, "NSS Certificate DB");
    ns.ds = attack_session_on(nss, ns_direct_slot, TRUE);
    prepare(&ns);

    mux = attack_load(g_getenv("P11MUX_SO"), NULL);
    sh_slot = attack_slot_by_label(mux, "cw-open");
    ns_slot = attack_slot_by_label(mux, "NSS Certificate DB");
    sh.ms = attack_session_on(mux, sh_slot, TRUE);
    ns.ms = attack_session_on(mux, ns_slot, TRUE);

    if (strcmp(mode, "state") == 0) {
        state_get(&ns);
        state_get(&sh);
        state_set_sha1(&ns);
        state_digest_key(&ns);
        state_digest_key(&sh);
    } else if (strcmp(mode, "garbage") == 0) {
        state_garbage(&sh, FALSE);
        state_garbage(&ns, TRUE);
    } else {
        attack_kdf_templates(&ns);
        attack_selectors(&ns);
        attack_ike_handles(&ns);
        attack_ike1_handles(&ns);
        attack_hkdf(&ns);
        attack_ecdh_kdf(&ns);
        attack_kdf_data_types(&ns);
        attack_nss_mechanism_list(&ns, ns_direct_slot, ns_slot);
        attack_nss_opaque_use(&ns);
        allowed_nss_prf(&ns);
        allowed_message_aead(&ns);
        attack_nested_selectors(&sh);
        attack_unknown_and_lengths(&sh, sh_slot);
    }

    mux->C_Finalize(NULL);
    return attack_finish();
}
