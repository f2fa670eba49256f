/*
 * Mechanism parameters as data (src/pkcs11/mechanism-params.tab, src/pkcs11/mech-params.c):
 * every mechanism p11mux names is classified, the layouts agree with the
 * specification's structures (written out here independently), and the
 * walker reports what a parameter names at every depth, refuses what does
 * not fit, and copies without touching the caller's memory.
 */
#include "config.h"

#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "check-helpers.h"
#include "constants.h"
#include "mech-params.h"
#include "param-visits.h"
#include "policy-private.h"

/* The specification's structures (PKCS #11 3.0 pkcs11t.h), by hand. */
typedef struct {
    CK_ULONG type;
    CK_VOID_PTR pValue;
    CK_ULONG ulValueLen;
} SpecPrfDataParam;

typedef struct {
    CK_ATTRIBUTE_PTR pTemplate;
    CK_ULONG ulAttributeCount;
    CK_OBJECT_HANDLE_PTR phKey;
} SpecDerivedKey;

typedef struct {
    CK_MECHANISM_TYPE prfType;
    CK_ULONG ulNumberOfDataParams;
    SpecPrfDataParam *pDataParams;
    CK_ULONG ulAdditionalDerivedKeys;
    SpecDerivedKey *pAdditionalDerivedKeys;
} SpecSp800108Params;

typedef struct {
    CK_MECHANISM_TYPE prfMechanism;
    CK_BBOOL bHasSeedKey;
    CK_OBJECT_HANDLE hSeedKey;
    CK_BYTE_PTR pSeedData;
    CK_ULONG ulSeedDataLen;
} SpecIke2PrfPlusParams;

typedef struct {
    CK_BYTE_PTR pClientRandom;
    CK_ULONG ulClientRandomLen;
    CK_BYTE_PTR pServerRandom;
    CK_ULONG ulServerRandomLen;
} SpecRandom;

typedef struct {
    CK_OBJECT_HANDLE hClientMacSecret, hServerMacSecret, hClientKey, hServerKey;
    CK_BYTE_PTR pIVClient, pIVServer;
} SpecKeyMatOut;

typedef struct {
    CK_ULONG ulMacSizeInBits, ulKeySizeInBits, ulIVSizeInBits;
    CK_BBOOL bIsExport;
    SpecRandom RandomInfo;
    SpecKeyMatOut *pReturnedKeyMaterial;
    CK_MECHANISM_TYPE prfHashMechanism;
} SpecTls12KeyMatParams;

typedef struct {
    CK_BBOOL bExtract, bExpand;
    CK_MECHANISM_TYPE prfHashMechanism;
    CK_ULONG ulSaltType;
    CK_BYTE_PTR pSalt;
    CK_ULONG ulSaltLen;
    CK_OBJECT_HANDLE hSaltKey;
    CK_BYTE_PTR pInfo;
    CK_ULONG ulInfoLen;
} SpecHkdfParams;

static CK_RV
walk(CK_MECHANISM_TYPE type, guint vendor, void *param, CK_ULONG len, ParamVisits *seen)
{
    const P11muxMechParams *params = p11mux_mech_params_lookup(type, vendor);
    CK_MECHANISM mechanism = {type, param, len};

    ck_assert_ptr_nonnull(params);
    return p11mux_mech_params_walk(params, &mechanism, &param_visits_all, seen, NULL);
}

/* ------------------------------------------------------------ the index */

static void
check_classified(CK_ULONG value, const char *name, gpointer user_data)
{
    GString *missing = user_data;

    if (p11mux_mech_params_lookup(value, 0) == NULL) {
        g_string_append_printf(missing, " %s", name);
    }
}

START_TEST(test_params_every_known_mechanism_is_classified)
{
    g_autoptr(GString) missing = g_string_new(NULL);

    ck_assert_uint_gt(p11mux_constant_glob(P11MUX_CONST_CKM, "CKM_*", check_classified, missing),
                      400);
    ck_assert_msg(missing->len == 0, "not in src/pkcs11/mechanism-params.tab:%s", missing->str);
}
END_TEST

START_TEST(test_params_layouts_are_consistent)
{
    gsize i, j;

    for (i = 0; i < p11mux_n_param_layouts; i++) {
        const P11muxParamLayout *layout = p11mux_param_layouts[i];

        ck_assert_uint_gt(layout->size, 0);
        for (j = 0; j < layout->n_fields; j++) {
            const P11muxParamField *field = &layout->fields[j];

            ck_assert_msg(field->offset + field->width <= layout->size, "%s.%s", layout->name,
                          field->name);
            ck_assert_msg(field->ref < (int)layout->n_fields, "%s.%s", layout->name, field->name);
            if (field->role == P11MUX_FIELD_TEMPLATE || field->role == P11MUX_FIELD_ARRAY ||
                field->role == P11MUX_FIELD_DATA_OR_KEY) {
                ck_assert_msg(field->ref >= 0 && layout->fields[field->ref].role == P11MUX_FIELD_LEN,
                              "%s.%s", layout->name, field->name);
            }
            if (field->role == P11MUX_FIELD_STRUCT || field->role == P11MUX_FIELD_ARRAY ||
                field->role == P11MUX_FIELD_STRUCT_OUT || field->role == P11MUX_FIELD_INLINE) {
                ck_assert_ptr_nonnull(field->layout);
            }
        }
    }
    /* the generated layouts are the specification's */
    ck_assert_uint_eq(p11mux_mech_params_lookup(CKM_SP800_108_COUNTER_KDF, 0)->layout->size,
                      sizeof(SpecSp800108Params));
    ck_assert_uint_eq(p11mux_mech_params_lookup(CKM_IKE2_PRF_PLUS_DERIVE, 0)->layout->size,
                      sizeof(SpecIke2PrfPlusParams));
    ck_assert_uint_eq(p11mux_mech_params_lookup(CKM_TLS12_KEY_AND_MAC_DERIVE, 0)->layout->size,
                      sizeof(SpecTls12KeyMatParams));
    ck_assert_uint_eq(p11mux_mech_params_lookup(CKM_HKDF_DERIVE, 0)->layout->size,
                      sizeof(SpecHkdfParams));
    ck_assert_uint_eq(p11mux_mech_params_lookup(CKM_RSA_PKCS_OAEP, 0)->layout->size,
                      sizeof(CK_RSA_PKCS_OAEP_PARAMS));
    ck_assert_uint_eq(p11mux_mech_params_lookup(CKM_ML_DSA, 0)->layout->size,
                      sizeof(CK_SIGN_ADDITIONAL_CONTEXT));
    ck_assert_uint_eq(p11mux_mech_params_lookup(CKM_HASH_SLH_DSA, 0)->layout->size,
                      sizeof(CK_HASH_SIGN_ADDITIONAL_CONTEXT));
    ck_assert_uint_eq(p11mux_mech_params_lookup(CKM_ECDH1_DERIVE, 0)->layout->size,
                      sizeof(CK_ECDH1_DERIVE_PARAMS));
    ck_assert_uint_eq(p11mux_mech_params_lookup(CKM_AES_GCM, 0)->layout->size,
                      sizeof(CK_GCM_PARAMS));
    ck_assert_uint_eq(p11mux_mech_params_lookup(CKM_AES_CTR, 0)->layout->size,
                      sizeof(CK_AES_CTR_PARAMS));
}
END_TEST

/* The 3.2 mechanisms as the 3.2 specification classifies them (6.x: ML-KEM,
 * ML-DSA, SLH-DSA, HSS, XMSS, ECDH AES key wrap, TLS 1.2 extended master
 * secret, public key from private key). */
typedef struct {
    CK_MECHANISM_TYPE prfHashMechanism;
    CK_BYTE_PTR pSessionHash;
    CK_ULONG ulSessionHashLen;
    CK_VERSION_PTR pVersion;
} SpecTls12ExtendedMasterKeyDeriveParams;

typedef struct {
    CK_ULONG ulAESKeyBits;
    CK_ULONG kdf; /* CK_EC_KDF_TYPE */
    CK_ULONG ulSharedDataLen;
    CK_BYTE_PTR pSharedData;
} SpecEcdhAesKeyWrapParams;

static void
assert_class(CK_MECHANISM_TYPE type, P11muxParamClass klass, gsize size, const char *what)
{
    const P11muxMechParams *params = p11mux_mech_params_lookup(type, 0);

    ck_assert_msg(params != NULL, "%s is not classified", what);
    ck_assert_msg(params->klass == klass, "%s: class %d, not %d", what, params->klass, klass);
    if (size != 0) {
        ck_assert_msg(params->layout->size == size, "%s: %zu bytes, not %zu", what,
                      params->layout->size, size);
    }
}

#define ASSERT_CLASS(type, klass, size) assert_class(type, klass, size, #type)

/* the offset and role of field name in a layout */
static void
assert_field(const P11muxParamLayout *layout, const char *name, gsize offset, P11muxFieldRole role)
{
    for (gsize i = 0; i < layout->n_fields; i++) {
        if (strcmp(layout->fields[i].name, name) == 0) {
            ck_assert_uint_eq(layout->fields[i].offset, offset);
            ck_assert_int_eq(layout->fields[i].role, role);
            return;
        }
    }
    ck_abort_msg("%s has no field %s", layout->name, name);
}

START_TEST(test_params_3_2_mechanisms_per_specification)
{
    static const CK_MECHANISM_TYPE none[] = {
        CKM_ML_KEM_KEY_PAIR_GEN, CKM_ML_KEM, CKM_ML_DSA_KEY_PAIR_GEN,   CKM_SLH_DSA_KEY_PAIR_GEN,
        CKM_HSS_KEY_PAIR_GEN,    CKM_HSS,    CKM_XMSS_KEY_PAIR_GEN,     CKM_XMSS,
        CKM_XMSSMT_KEY_PAIR_GEN, CKM_XMSSMT, CKM_PUB_KEY_FROM_PRIV_KEY,
    };
    static const CK_MECHANISM_TYPE context[] = {
        CKM_ML_DSA,
        CKM_SLH_DSA,
        CKM_HASH_ML_DSA_SHA224,
        CKM_HASH_ML_DSA_SHA256,
        CKM_HASH_ML_DSA_SHA384,
        CKM_HASH_ML_DSA_SHA512,
        CKM_HASH_ML_DSA_SHA3_224,
        CKM_HASH_ML_DSA_SHA3_256,
        CKM_HASH_ML_DSA_SHA3_384,
        CKM_HASH_ML_DSA_SHA3_512,
        CKM_HASH_ML_DSA_SHAKE128,
        CKM_HASH_ML_DSA_SHAKE256,
        CKM_HASH_SLH_DSA_SHA224,
        CKM_HASH_SLH_DSA_SHA256,
        CKM_HASH_SLH_DSA_SHA384,
        CKM_HASH_SLH_DSA_SHA512,
        CKM_HASH_SLH_DSA_SHA3_224,
        CKM_HASH_SLH_DSA_SHA3_256,
        CKM_HASH_SLH_DSA_SHA3_384,
        CKM_HASH_SLH_DSA_SHA3_512,
        CKM_HASH_SLH_DSA_SHAKE128,
        CKM_HASH_SLH_DSA_SHAKE256,
    };
    const P11muxParamLayout *hash_context;

    for (gsize i = 0; i < G_N_ELEMENTS(none); i++) {
        g_autofree char *what = g_strdup_printf("0x%lx", none[i]);

        assert_class(none[i], P11MUX_PARAM_NONE, 0, what);
    }
    /* "an optional parameter CK_SIGN_ADDITIONAL_CONTEXT" */
    for (gsize i = 0; i < G_N_ELEMENTS(context); i++) {
        g_autofree char *what = g_strdup_printf("0x%lx", context[i]);

        assert_class(context[i], P11MUX_PARAM_STRUCT_OR_NONE, sizeof(CK_SIGN_ADDITIONAL_CONTEXT),
                     what);
    }
    /* "a parameter CK_HASH_SIGN_ADDITIONAL_CONTEXT": required, the hash judged */
    ASSERT_CLASS(CKM_HASH_ML_DSA, P11MUX_PARAM_STRUCT, sizeof(CK_HASH_SIGN_ADDITIONAL_CONTEXT));
    ASSERT_CLASS(CKM_HASH_SLH_DSA, P11MUX_PARAM_STRUCT, sizeof(CK_HASH_SIGN_ADDITIONAL_CONTEXT));
    hash_context = p11mux_mech_params_lookup(CKM_HASH_ML_DSA, 0)->layout;
    assert_field(hash_context, "pContext",
                 G_STRUCT_OFFSET(CK_HASH_SIGN_ADDITIONAL_CONTEXT, pContext), P11MUX_FIELD_BYTES);
    assert_field(hash_context, "hash", G_STRUCT_OFFSET(CK_HASH_SIGN_ADDITIONAL_CONTEXT, hash),
                 P11MUX_FIELD_HASH);
    ASSERT_CLASS(CKM_TLS12_EXTENDED_MASTER_KEY_DERIVE, P11MUX_PARAM_STRUCT,
                 sizeof(SpecTls12ExtendedMasterKeyDeriveParams));
    ASSERT_CLASS(CKM_TLS12_EXTENDED_MASTER_KEY_DERIVE_DH, P11MUX_PARAM_STRUCT,
                 sizeof(SpecTls12ExtendedMasterKeyDeriveParams));
    ASSERT_CLASS(CKM_ECDH_X_AES_KEY_WRAP, P11MUX_PARAM_STRUCT, sizeof(SpecEcdhAesKeyWrapParams));
    ASSERT_CLASS(CKM_ECDH_COF_AES_KEY_WRAP, P11MUX_PARAM_STRUCT, sizeof(SpecEcdhAesKeyWrapParams));
    assert_field(p11mux_mech_params_lookup(CKM_ECDH_X_AES_KEY_WRAP, 0)->layout, "kdf",
                 G_STRUCT_OFFSET(SpecEcdhAesKeyWrapParams, kdf), P11MUX_FIELD_KDF);
    /* an optional IV, as CKM_AES_KEY_WRAP */
    ASSERT_CLASS(CKM_AES_KEY_WRAP_PKCS7, P11MUX_PARAM_BYTES, 0);
}
END_TEST

/* A vendor's values mean something only in that vendor's modules. */
START_TEST(test_params_vendor_mechanisms_are_per_module)
{
    CK_UTF8CHAR nss[32], other[32];
    const CK_MECHANISM_TYPE ike_prf_plus = CKM_VENDOR_DEFINED | 0x4e534372UL;
    guint vendor;

    memset(nss, ' ', sizeof nss);
    memcpy(nss, "Mozilla Foundation", 18);
    memset(other, ' ', sizeof other);
    memcpy(other, "SoftHSM", 7);
    vendor = p11mux_param_vendor_of(nss);
    ck_assert_uint_ne(vendor, 0);
    ck_assert_uint_eq(p11mux_param_vendor_of(other), 0);
    ck_assert_ptr_nonnull(p11mux_mech_params_lookup(ike_prf_plus, vendor));
    ck_assert_str_eq(p11mux_mech_params_lookup(ike_prf_plus, vendor)->name,
                     "CKM_NSS_IKE_PRF_PLUS_DERIVE");
    ck_assert_ptr_null(p11mux_mech_params_lookup(ike_prf_plus, 0));
    /* standard mechanisms are known in every module */
    ck_assert_ptr_nonnull(p11mux_mech_params_lookup(CKM_SHA256, vendor));
    ck_assert_ptr_null(p11mux_mech_params_lookup(CKM_VENDOR_DEFINED + 0x12345, vendor));
}
END_TEST

/* ------------------------------------------------------------- walking */

START_TEST(test_params_lengths_that_lie)
{
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_BYTE iv[16] = {0};
    ParamVisits seen;

    param_visits_init(&seen);
    ck_assert_rv_ok(walk(CKM_RSA_PKCS_PSS, 0, &pss, sizeof pss, &seen));
    ck_assert_rv(walk(CKM_RSA_PKCS_PSS, 0, &pss, sizeof pss - 1, &seen),
                 CKR_MECHANISM_PARAM_INVALID);
    ck_assert_rv(walk(CKM_RSA_PKCS_PSS, 0, &pss, sizeof pss + 1, &seen),
                 CKR_MECHANISM_PARAM_INVALID);
    ck_assert_rv(walk(CKM_RSA_PKCS_PSS, 0, NULL, sizeof pss, &seen), CKR_MECHANISM_PARAM_INVALID);
    /* no parameter means none */
    ck_assert_rv_ok(walk(CKM_SHA256, 0, NULL, 0, &seen));
    ck_assert_rv(walk(CKM_SHA256, 0, iv, sizeof iv, &seen), CKR_MECHANISM_PARAM_INVALID);
    /* a byte string of any length, but not NULL with a length */
    ck_assert_rv_ok(walk(CKM_AES_CBC, 0, iv, sizeof iv, &seen));
    ck_assert_rv(walk(CKM_AES_CBC, 0, NULL, 16, &seen), CKR_MECHANISM_PARAM_INVALID);
    /* an optional structure */
    ck_assert_rv_ok(walk(CKM_EDDSA, 0, NULL, 0, &seen));
    ck_assert_rv(walk(CKM_EDDSA, 0, iv, 3, &seen), CKR_MECHANISM_PARAM_INVALID);
    /* an unknown mask generation function */
    pss.mgf = 0x77;
    ck_assert_rv(walk(CKM_RSA_PKCS_PSS, 0, &pss, sizeof pss, &seen), CKR_MECHANISM_PARAM_INVALID);
    param_visits_clear(&seen);
}
END_TEST

/* SP800-108: the PRF, the templates and the handles of the additional
 * keys, at depth; counts and pointers that lie are refused. */
START_TEST(test_params_sp800_108_is_read_at_every_depth)
{
    CK_BYTE label[] = "label";
    SpecPrfDataParam data[] = {{1, NULL, 0}, {4, label, sizeof label}};
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE weak[] = {{CKA_SENSITIVE, &no, sizeof no}};
    CK_OBJECT_HANDLE out1 = 0, out2 = 0;
    SpecDerivedKey extra[] = {{weak, 1, &out1}, {NULL, 0, &out2}};
    SpecSp800108Params kdf = {CKM_SHA_1_HMAC, 2, data, 2, extra};
    ParamVisits seen;

    param_visits_init(&seen);
    ck_assert_rv_ok(walk(CKM_SP800_108_COUNTER_KDF, 0, &kdf, sizeof kdf, &seen));
    ck_assert_uint_eq(seen.algorithms->len, 1);
    ck_assert_uint_eq(g_array_index(seen.algorithms, CK_ULONG, 0), CKM_SHA_1_HMAC);
    ck_assert_uint_eq(seen.templates->len, 2);
    ck_assert_uint_eq(seen.outs->len, 2);
    ck_assert_ptr_eq(g_ptr_array_index(seen.outs, 0), &out1);
    ck_assert_ptr_eq(g_ptr_array_index(seen.outs, 1), &out2);

    kdf.ulAdditionalDerivedKeys = P11MUX_PARAM_MAX_ARRAY + 1;
    ck_assert_rv(walk(CKM_SP800_108_COUNTER_KDF, 0, &kdf, sizeof kdf, &seen),
                 CKR_MECHANISM_PARAM_INVALID);
    kdf.ulAdditionalDerivedKeys = 2;
    extra[1].phKey = NULL;
    ck_assert_rv(walk(CKM_SP800_108_COUNTER_KDF, 0, &kdf, sizeof kdf, &seen),
                 CKR_MECHANISM_PARAM_INVALID);
    extra[1].phKey = &out2;
    extra[0].pTemplate = NULL;
    ck_assert_rv(walk(CKM_SP800_108_COUNTER_KDF, 0, &kdf, sizeof kdf, &seen),
                 CKR_MECHANISM_PARAM_INVALID);
    extra[0].pTemplate = weak;
    kdf.pAdditionalDerivedKeys = NULL;
    ck_assert_rv(walk(CKM_SP800_108_COUNTER_KDF, 0, &kdf, sizeof kdf, &seen),
                 CKR_MECHANISM_PARAM_INVALID);
    data[1].pValue = NULL;
    kdf.ulAdditionalDerivedKeys = 0;
    ck_assert_rv(walk(CKM_SP800_108_COUNTER_KDF, 0, &kdf, sizeof kdf, &seen),
                 CKR_MECHANISM_PARAM_INVALID);
    param_visits_clear(&seen);
}
END_TEST

/* SP800-108's data parameters say by their type what pValue holds: a key
 * handle (type 5, CK_SP800_108_KEY_HANDLE) is judged as a key, and a type
 * p11mux does not know is refused. */
START_TEST(test_params_sp800_108_data_types)
{
    CK_OBJECT_HANDLE hidden = 77;
    SpecPrfDataParam data[] = {{5, &hidden, sizeof hidden}};
    SpecSp800108Params kdf = {CKM_SHA256_HMAC, 1, data, 0, NULL};
    ParamVisits seen;

    param_visits_init(&seen);
    ck_assert_rv_ok(walk(CKM_SP800_108_COUNTER_KDF, 0, &kdf, sizeof kdf, &seen));
    ck_assert_uint_eq(seen.keys->len, 1);
    ck_assert_uint_eq(g_array_index(seen.keys, CK_ULONG, 0), 77);
    data[0].ulValueLen = sizeof hidden - 1;
    ck_assert_rv(walk(CKM_SP800_108_COUNTER_KDF, 0, &kdf, sizeof kdf, &seen),
                 CKR_MECHANISM_PARAM_INVALID);
    data[0] = (SpecPrfDataParam){0x99, &hidden, sizeof hidden};
    ck_assert_rv(walk(CKM_SP800_108_COUNTER_KDF, 0, &kdf, sizeof kdf, &seen),
                 CKR_MECHANISM_PARAM_INVALID);
    data[0] = (SpecPrfDataParam){4, &hidden, sizeof hidden};
    ck_assert_rv_ok(walk(CKM_SP800_108_COUNTER_KDF, 0, &kdf, sizeof kdf, &seen));
    ck_assert_uint_eq(seen.keys->len, 1);
    param_visits_clear(&seen);
}
END_TEST

/* A key handle whose presence a flag states is read only then. */
START_TEST(test_params_conditional_keys)
{
    SpecIke2PrfPlusParams ike = {CKM_SHA256_HMAC, CK_FALSE, 42, NULL, 0};
    SpecHkdfParams hkdf = {CK_TRUE, CK_TRUE, CKM_SHA256, CKF_HKDF_SALT_DATA, NULL, 0, 43, NULL, 0};
    ParamVisits seen;

    param_visits_init(&seen);
    ck_assert_rv_ok(walk(CKM_IKE2_PRF_PLUS_DERIVE, 0, &ike, sizeof ike, &seen));
    ck_assert_uint_eq(seen.keys->len, 0);
    ike.bHasSeedKey = CK_TRUE;
    ck_assert_rv_ok(walk(CKM_IKE2_PRF_PLUS_DERIVE, 0, &ike, sizeof ike, &seen));
    ck_assert_uint_eq(seen.keys->len, 1);
    ck_assert_uint_eq(g_array_index(seen.keys, CK_ULONG, 0), 42);
    ck_assert_rv_ok(walk(CKM_HKDF_DERIVE, 0, &hkdf, sizeof hkdf, &seen));
    ck_assert_uint_eq(seen.keys->len, 1);
    hkdf.ulSaltType = CKF_HKDF_SALT_KEY;
    ck_assert_rv_ok(walk(CKM_HKDF_DERIVE, 0, &hkdf, sizeof hkdf, &seen));
    ck_assert_uint_eq(seen.keys->len, 2);
    ck_assert_uint_eq(g_array_index(seen.keys, CK_ULONG, 1), 43);
    param_visits_clear(&seen);
}
END_TEST

/* TLS 1.2 key material: the PRF hash, and the four handles the backend
 * writes into the caller's output structure. */
START_TEST(test_params_tls_key_material)
{
    SpecKeyMatOut out = {0};
    SpecTls12KeyMatParams params = {160, 128, 128, CK_FALSE, {NULL, 0, NULL, 0}, &out, CKM_SHA_1};
    ParamVisits seen;

    param_visits_init(&seen);
    ck_assert_rv_ok(walk(CKM_TLS12_KEY_AND_MAC_DERIVE, 0, &params, sizeof params, &seen));
    ck_assert_uint_eq(g_array_index(seen.algorithms, CK_ULONG, 0), CKM_SHA_1);
    ck_assert_uint_eq(seen.outs->len, 4);
    ck_assert_ptr_eq(g_ptr_array_index(seen.outs, 2), &out.hClientKey);
    params.pReturnedKeyMaterial = NULL;
    ck_assert_rv(walk(CKM_TLS12_KEY_AND_MAC_DERIVE, 0, &params, sizeof params, &seen),
                 CKR_MECHANISM_PARAM_INVALID);
    param_visits_clear(&seen);
}
END_TEST

/* A copying walk gives a new parameter whose templates the visitor
 * replaced; the caller's memory is not written. */
START_TEST(test_params_copy_leaves_the_caller_alone)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE original[] = {{CKA_EXTRACTABLE, &yes, sizeof yes}};
    CK_ATTRIBUTE replacement = {CKA_SENSITIVE, &yes, sizeof yes};
    CK_OBJECT_HANDLE out = 0;
    SpecDerivedKey extra = {original, 1, &out};
    SpecSp800108Params kdf = {CKM_SHA256_HMAC, 0, NULL, 1, &extra};
    SpecSp800108Params before = kdf;
    const SpecSp800108Params *copy = NULL;
    CK_MECHANISM mechanism = {CKM_SP800_108_COUNTER_KDF, &kdf, sizeof kdf};
    ParamVisits seen;

    param_visits_init(&seen);
    seen.replacement = &replacement;
    ck_assert_rv_ok(p11mux_mech_params_walk(
        p11mux_mech_params_lookup(CKM_SP800_108_COUNTER_KDF, 0), &mechanism, &param_visits_copying, &seen,
        (void **)&copy));
    ck_assert_ptr_nonnull(copy);
    ck_assert_ptr_ne(copy, &kdf);
    ck_assert_ptr_ne(copy->pAdditionalDerivedKeys, &extra);
    ck_assert_ptr_eq(copy->pAdditionalDerivedKeys[0].pTemplate, &replacement);
    ck_assert_uint_eq(copy->pAdditionalDerivedKeys[0].ulAttributeCount, 1);
    ck_assert_ptr_eq(copy->pAdditionalDerivedKeys[0].phKey, &out);
    ck_assert_mem_eq(&kdf, &before, sizeof kdf);
    ck_assert_ptr_eq(extra.pTemplate, original);
    param_visits_clear(&seen);
}
END_TEST

/* ------------------------------------------------------------- policies */

/* The policy of backend "b" in a configuration whose [policy p] is body. */
static const P11muxPolicy *
policy_of(P11muxPolicySet **set, const char *body)
{
    g_autofree char *text = g_strdup_printf(
        "[backend b]\nmodule = /nonexistent/b.so\npolicy = p\n[policy p]\n%s", body);
    g_autofree char *path = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;
    int fd = g_file_open_tmp("p11mux-params-XXXXXX.conf", &path, &error);

    ck_assert_msg(fd >= 0, "%s", error != NULL ? error->message : "?");
    close(fd);
    ck_assert(g_file_set_contents(path, text, -1, NULL));
    conf = p11mux_conf_load_file(path, &error);
    (void)g_unlink(path);
    ck_assert_msg(conf != NULL, "%s", error != NULL ? error->message : "?");
    *set = p11mux_policy_set_new(conf, &error);
    ck_assert_msg(*set != NULL, "%s", error != NULL ? error->message : "?");
    return p11mux_policy_set_lookup(*set, "b");
}

/* Opaque and unknown mechanisms are refused under any policy, unless the
 * policy names them. */
START_TEST(test_params_closed_world_policy)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    g_autoptr(P11muxPolicySet) open = NULL;
    const P11muxPolicy *policy = policy_of(&set, "deny-mechanisms = CKM_SHA_1*\n");
    const P11muxPolicy *lenient =
        policy_of(&open, "allow-opaque-mechanisms = CKM_VENDOR_DEFINED+0x12345 CKM_KIP_DERIVE\n");

    ck_assert(p11mux_policy_admits_mechanism(policy, 0, CKM_SHA256));
    ck_assert(!p11mux_policy_admits_mechanism(policy, 0, CKM_SHA_1));
    ck_assert(!p11mux_policy_admits_mechanism(policy, 0, CKM_KIP_DERIVE));
    ck_assert(!p11mux_policy_admits_mechanism(policy, 0, CKM_VENDOR_DEFINED + 0x12345));
    ck_assert(p11mux_policy_admits_mechanism(lenient, 0, CKM_KIP_DERIVE));
    ck_assert(p11mux_policy_admits_mechanism(lenient, 0, CKM_VENDOR_DEFINED + 0x12345));
    ck_assert(!p11mux_policy_admits_mechanism(lenient, 0, CKM_VENDOR_DEFINED + 0x12346));
}
END_TEST

/* A denied hash is refused wherever a parameter names it. */
START_TEST(test_params_denied_hash_inside_parameters)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy = policy_of(&set, "deny-mechanisms = CKM_SHA_1 CKM_SHA_1_HMAC\n");
    SpecSp800108Params kdf = {CKM_SHA_1_HMAC, 0, NULL, 0, NULL};
    struct {
        CK_MECHANISM_TYPE prfHashMechanism;
        CK_ULONG ulMacLength, ulServerOrClient;
    } tls_mac = {CKM_SHA_1, 12, 1};
    SpecKeyMatOut out = {0};
    SpecTls12KeyMatParams keymat = {160, 128, 128, CK_FALSE, {NULL, 0, NULL, 0}, &out, CKM_SHA_1};
    CK_MECHANISM mechanism = {CKM_SP800_108_COUNTER_KDF, &kdf, sizeof kdf};
    P11muxMechUse use;

    ck_assert_rv(p11mux_policy_check_mechanism(policy, &mechanism, &use), CKR_MECHANISM_INVALID);
    kdf.prfType = CKM_SHA256_HMAC;
    ck_assert_rv_ok(p11mux_policy_check_mechanism(policy, &mechanism, &use));
    mechanism = (CK_MECHANISM){CKM_TLS_MAC, &tls_mac, sizeof tls_mac};
    ck_assert_rv(p11mux_policy_check_mechanism(policy, &mechanism, &use), CKR_MECHANISM_INVALID);
    mechanism = (CK_MECHANISM){CKM_TLS12_KEY_AND_MAC_DERIVE, &keymat, sizeof keymat};
    ck_assert_rv(p11mux_policy_check_mechanism(policy, &mechanism, &use), CKR_MECHANISM_INVALID);
    keymat.prfHashMechanism = CKM_SHA384;
    ck_assert_rv_ok(p11mux_policy_check_mechanism(policy, &mechanism, &use));
    /* a selector must itself be known */
    keymat.prfHashMechanism = CKM_VENDOR_DEFINED + 7;
    ck_assert_rv(p11mux_policy_check_mechanism(policy, &mechanism, &use), CKR_MECHANISM_INVALID);
}
END_TEST

/* What the walk answers for a mechanism argument, the way the module
 * judged one before its verdicts were compiled: the reference for them. */
static CK_RV
walked_answer(const P11muxPolicy *policy, const CK_MECHANISM *mechanism)
{
    static const P11muxParamVisitor nothing = {0};
    const P11muxMechParams *params = p11mux_mech_params_lookup(mechanism->mechanism, 0);

    if (!p11mux_policy_admits_mechanism(policy, 0, mechanism->mechanism)) {
        return CKR_MECHANISM_INVALID;
    }
    if (params == NULL || params->klass == P11MUX_PARAM_OPAQUE) {
        return CKR_OK;
    }
    return p11mux_mech_params_walk(params, mechanism, &nothing, NULL, NULL);
}

/* A standard mechanism whose parameter has no structure is judged by one
 * lookup of its compiled verdict: the same answer as the walk, for every
 * value below P11MUX_POLICY_COMPILED_MECHANISMS and parameters that fit or
 * not, and no call data kept. */
START_TEST(test_params_compiled_verdicts_agree_with_the_walk)
{
    g_autoptr(P11muxPolicySet) set = NULL;
    const P11muxPolicy *policy =
        policy_of(&set, "deny-mechanisms = CKM_MD5* CKM_SHA_1\n"
                        "allow-opaque-mechanisms = CKM_KIP_DERIVE 0x4ff0\n");
    CK_BYTE data[8] = {0};
    const CK_MECHANISM shapes[] = {{0, NULL, 0}, {0, NULL, sizeof data}, {0, data, sizeof data}};
    CK_SESSION_HANDLE session = 1;
    CK_MECHANISM mechanism;
    CK_MECHANISM_PTR argument = &mechanism;
    void *args[] = {&session, &argument};
    P11muxPolicyCall call = {.fn = P11MUX_FN_C_DigestInit, .args = args};
    CK_MECHANISM_TYPE type;
    guint i, compiled = 0;

    for (type = 0; type < P11MUX_POLICY_COMPILED_MECHANISMS; type++) {
        if (policy->mech_verdict[type] == P11MUX_MECH_WALKED) {
            continue; /* walked by check_mechanism_arg too */
        }
        compiled++;
        for (i = 0; i < G_N_ELEMENTS(shapes); i++) {
            mechanism = shapes[i];
            mechanism.mechanism = type;
            ck_assert_msg(p11mux_policy_check_mechanism_arg(&call, policy, 1) ==
                              walked_answer(policy, &mechanism),
                          "0x%lx, shape %u", (unsigned long)type, i);
            ck_assert_ptr_null(call.state);
        }
    }
    ck_assert_uint_gt(compiled, 100);
    ck_assert_uint_eq(policy->mech_verdict[CKM_SHA256], P11MUX_MECH_NO_PARAMETER);
    ck_assert_uint_eq(policy->mech_verdict[CKM_MD5], P11MUX_MECH_REFUSED);
    ck_assert_uint_eq(policy->mech_verdict[CKM_KIP_DERIVE], P11MUX_MECH_UNREAD);
    ck_assert_uint_eq(policy->mech_verdict[0x4ff0], P11MUX_MECH_UNREAD);
    ck_assert_uint_eq(policy->mech_verdict[0x4ff1], P11MUX_MECH_REFUSED);
    argument = NULL;
    ck_assert_rv(p11mux_policy_check_mechanism_arg(&call, policy, 1), CKR_ARGUMENTS_BAD);
}
END_TEST

/* ------------------------------------------------------ the manual page */

static void
check_documented(const char *man, const P11muxMechParams *params, GString *missing)
{
    const char *name = params->vendor == 0 ? p11mux_constant_name(P11MUX_CONST_CKM, params->type)
                                           : params->name;

    if (name != NULL && strstr(man, name) == NULL) {
        g_string_append_printf(missing, " %s", name);
    }
}

/* p11mux.conf(5) lists every mechanism p11mux does not read. */
START_TEST(test_params_opaque_mechanisms_are_documented)
{
    g_autofree char *path = g_build_filename(P11MUX_TEST_TOP_SRCDIR, "man", "p11mux.conf.5", NULL);
    g_autofree char *man = NULL;
    g_autoptr(GString) missing = g_string_new(NULL);
    const char *section;
    gsize i;

    ck_assert(g_file_get_contents(path, &man, NULL, NULL));
    section = strstr(man, ".SH \"WHAT A POLICY REFUSES\"");
    ck_assert_msg(section != NULL, "no WHAT A POLICY REFUSES section in %s", path);
    for (i = 0; i < p11mux_n_mech_params; i++) {
        if (p11mux_mech_params[i].klass == P11MUX_PARAM_OPAQUE) {
            check_documented(section, &p11mux_mech_params[i], missing);
        }
    }
    ck_assert_msg(missing->len == 0, "p11mux.conf(5) does not list:%s", missing->str);
}
END_TEST

static Suite *
params_suite(void)
{
    Suite *suite = suite_create("params");
    TCase *index = tcase_create("index");
    TCase *walking = tcase_create("walking");
    TCase *policies = tcase_create("policies");

    tcase_add_test(index, test_params_every_known_mechanism_is_classified);
    tcase_add_test(index, test_params_layouts_are_consistent);
    tcase_add_test(index, test_params_3_2_mechanisms_per_specification);
    tcase_add_test(index, test_params_vendor_mechanisms_are_per_module);
    tcase_add_test(index, test_params_opaque_mechanisms_are_documented);
    tcase_add_test(walking, test_params_lengths_that_lie);
    tcase_add_test(walking, test_params_sp800_108_is_read_at_every_depth);
    tcase_add_test(walking, test_params_sp800_108_data_types);
    tcase_add_test(walking, test_params_conditional_keys);
    tcase_add_test(walking, test_params_tls_key_material);
    tcase_add_test(walking, test_params_copy_leaves_the_caller_alone);
    tcase_add_test(policies, test_params_closed_world_policy);
    tcase_add_test(policies, test_params_denied_hash_inside_parameters);
    tcase_add_test(policies, test_params_compiled_verdicts_agree_with_the_walk);
    suite_add_tcase(suite, index);
    suite_add_tcase(suite, walking);
    suite_add_tcase(suite, policies);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(params_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
