/*
 * Mechanisms: the allow and deny sets, and what a mechanism's parameter
 * names — hashes and mask generation functions (OAEP, PSS), key derivation
 * functions (ECDH, X9.42 DH, ECMQV, HKDF, PBKDF2) and other keys (HKDF salt
 * keys, CKM_CONCATENATE_BASE_AND_KEY, MQV private data).  The parameters are
 * described as data: a layout per mechanism, a decoder per field kind.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "constants.h"
#include "policy-private.h"
#include "suggest.h"

/* -------------------------------------------------------------- the sets */

static int
compare_ulong(gconstpointer a, gconstpointer b)
{
    CK_ULONG x = *(const CK_ULONG *)a, y = *(const CK_ULONG *)b;

    return x < y ? -1 : x > y;
}

/* Sort and drop repeats. */
static void
set_normalise(GArray *set)
{
    guint i, out = 0;

    g_array_sort(set, compare_ulong);
    for (i = 0; i < set->len; i++) {
        if (out == 0 || g_array_index(set, CK_ULONG, out - 1) != g_array_index(set, CK_ULONG, i)) {
            g_array_index(set, CK_ULONG, out++) = g_array_index(set, CK_ULONG, i);
        }
    }
    g_array_set_size(set, out);
}

gboolean
p11mux_mech_set_contains(const GArray *set, CK_MECHANISM_TYPE type)
{
    if (set == NULL || set->len == 0) {
        return FALSE;
    }
    return bsearch(&type, set->data, set->len, sizeof(CK_ULONG), compare_ulong) != NULL;
}

GArray *
p11mux_mech_set_intersect(const GArray *a, const GArray *b)
{
    GArray *result = g_array_new(FALSE, FALSE, sizeof(CK_ULONG));
    guint i;

    for (i = 0; i < a->len; i++) {
        if (p11mux_mech_set_contains(b, g_array_index(a, CK_ULONG, i))) {
            g_array_append_val(result, g_array_index(a, CK_ULONG, i));
        }
    }
    return result;
}

void
p11mux_mech_set_add_all(GArray *set, const GArray *more)
{
    g_array_append_vals(set, more->data, more->len);
    set_normalise(set);
}

static void
add_to_set(CK_ULONG value, const char *name, gpointer user_data)
{
    g_array_append_val((GArray *)user_data, value);
}

/* One item: a glob, a name, a number or CKM_VENDOR_DEFINED+N. */
static char *
parse_item(const char *item, GArray *set)
{
    CK_ULONG value;

    if (strpbrk(item, "*?") != NULL) {
        if (p11mux_constant_glob(P11MUX_CONST_CKM, item, add_to_set, set) == 0) {
            return g_strdup_printf("mechanism glob '%s' matches no known mechanism", item);
        }
        return NULL;
    }
    if (!p11mux_constant_parse(P11MUX_CONST_CKM, item, &value)) {
        g_autofree char *hint =
            p11mux_suggest_hint(p11mux_suggest_constant(P11MUX_CONST_CKM, item));

        return g_strdup_printf("unknown mechanism '%s'%s", item, hint);
    }
    g_array_append_val(set, value);
    return NULL;
}

char *
p11mux_mech_parse_list(const char *text, GArray **set)
{
    g_auto(GStrv) items = g_strsplit_set(text, " \t", -1);
    GArray *result = g_array_new(FALSE, FALSE, sizeof(CK_ULONG));
    char *problem = NULL;
    guint i;

    /* globs are GPatternSpecs, which abort on what is not UTF-8 */
    if (!g_utf8_validate(text, -1, NULL)) {
        problem = g_strdup("a mechanism list is not UTF-8 text");
    }
    for (i = 0; problem == NULL && items[i] != NULL; i++) {
        if (items[i][0] != '\0') {
            problem = parse_item(items[i], result);
        }
    }
    if (problem != NULL) {
        g_array_unref(result);
        return problem;
    }
    set_normalise(result);
    *set = result;
    return NULL;
}

gboolean
p11mux_policy_allows_mechanism(const P11muxPolicy *policy, CK_MECHANISM_TYPE type)
{
    if (p11mux_mech_set_contains(policy->mech_deny, type)) {
        return FALSE;
    }
    return policy->mech_allow == NULL || p11mux_mech_set_contains(policy->mech_allow, type);
}

/* ------------------------------------------------ what parameters name */

/* The hash each CKG_MGF1_ (mask generation), CKD_ (key derivation) and
 * CKP_PKCS5_PBKD2_ (pseudo-random function) value stands for; 0: none. */
typedef struct {
    CK_ULONG value;
    CK_MECHANISM_TYPE hash;
} Named;

static const Named mgfs[] = {
    {CKG_MGF1_SHA1, CKM_SHA_1},        {CKG_MGF1_SHA224, CKM_SHA224},
    {CKG_MGF1_SHA256, CKM_SHA256},     {CKG_MGF1_SHA384, CKM_SHA384},
    {CKG_MGF1_SHA512, CKM_SHA512},     {CKG_MGF1_SHA3_224, CKM_SHA3_224},
    {CKG_MGF1_SHA3_256, CKM_SHA3_256}, {CKG_MGF1_SHA3_384, CKM_SHA3_384},
    {CKG_MGF1_SHA3_512, CKM_SHA3_512},
};

static const Named kdfs[] = {
    {CKD_NULL, 0},
    {CKD_SHA1_KDF, CKM_SHA_1},
    {CKD_SHA1_KDF_ASN1, CKM_SHA_1},
    {CKD_SHA1_KDF_CONCATENATE, CKM_SHA_1},
    {CKD_SHA224_KDF, CKM_SHA224},
    {CKD_SHA256_KDF, CKM_SHA256},
    {CKD_SHA384_KDF, CKM_SHA384},
    {CKD_SHA512_KDF, CKM_SHA512},
    {CKD_CPDIVERSIFY_KDF, 0},
    {CKD_SHA3_224_KDF, CKM_SHA3_224},
    {CKD_SHA3_256_KDF, CKM_SHA3_256},
    {CKD_SHA3_384_KDF, CKM_SHA3_384},
    {CKD_SHA3_512_KDF, CKM_SHA3_512},
    {CKD_SHA1_KDF_SP800, CKM_SHA_1},
    {CKD_SHA224_KDF_SP800, CKM_SHA224},
    {CKD_SHA256_KDF_SP800, CKM_SHA256},
    {CKD_SHA384_KDF_SP800, CKM_SHA384},
    {CKD_SHA512_KDF_SP800, CKM_SHA512},
    {CKD_SHA3_224_KDF_SP800, CKM_SHA3_224},
    {CKD_SHA3_256_KDF_SP800, CKM_SHA3_256},
    {CKD_SHA3_384_KDF_SP800, CKM_SHA3_384},
    {CKD_SHA3_512_KDF_SP800, CKM_SHA3_512},
};

static const Named pbkdf2_prfs[] = {
    {CKP_PKCS5_PBKD2_HMAC_SHA1, CKM_SHA_1_HMAC},    {CKP_PKCS5_PBKD2_HMAC_SHA224, CKM_SHA224_HMAC},
    {CKP_PKCS5_PBKD2_HMAC_SHA256, CKM_SHA256_HMAC}, {CKP_PKCS5_PBKD2_HMAC_SHA384, CKM_SHA384_HMAC},
    {CKP_PKCS5_PBKD2_HMAC_SHA512, CKM_SHA512_HMAC},
};

typedef enum {
    FIELD_HASH,     /* a CK_MECHANISM_TYPE */
    FIELD_MGF,      /* a CK_RSA_PKCS_MGF_TYPE */
    FIELD_KDF,      /* a CK_EC_KDF_TYPE / CK_X9_42_DH_KDF_TYPE */
    FIELD_PRF,      /* a CK_PKCS5_PBKDF2_PSEUDO_RANDOM_FUNCTION_TYPE */
    FIELD_KEY,      /* a CK_OBJECT_HANDLE, 0 for none */
    FIELD_SALT_KEY, /* CK_HKDF_PARAMS.ulSaltType; hSaltKey (3 slots on) when it says so */
    FIELD_OAEP,     /* a CK_RSA_PKCS_OAEP_PARAMS_PTR */
    FIELD_END,
} FieldKind;

typedef struct {
    FieldKind kind;
    gsize offset;
} Field;

/* Parameter layouts from the specification: every field is a CK_ULONG or
 * a pointer, so offsets are in units of those (same size on every ABI
 * p11mux builds for: LP64 and ILP32). */
#define AT(n) ((n) * sizeof(CK_ULONG))

typedef struct {
    CK_MECHANISM_TYPE mechanism;
    gsize size; /* required ulParameterLen */
    Field fields[4];
} Layout;

/* clang-format off */
static const Layout layouts[] = {
    /* CK_RSA_PKCS_OAEP_PARAMS { hashAlg, mgf, source, pSourceData, ulSourceDataLen } */
    { CKM_RSA_PKCS_OAEP, AT(5), { { FIELD_HASH, AT(0) }, { FIELD_MGF, AT(1) }, { FIELD_END, 0 } } },
    /* CK_RSA_PKCS_PSS_PARAMS { hashAlg, mgf, sLen } */
    { CKM_RSA_PKCS_PSS, AT(3), { { FIELD_HASH, AT(0) }, { FIELD_MGF, AT(1) }, { FIELD_END, 0 } } },
    { CKM_SHA1_RSA_PKCS_PSS, AT(3), { { FIELD_HASH, AT(0) }, { FIELD_MGF, AT(1) }, { FIELD_END, 0 } } },
    { CKM_SHA224_RSA_PKCS_PSS, AT(3), { { FIELD_HASH, AT(0) }, { FIELD_MGF, AT(1) }, { FIELD_END, 0 } } },
    { CKM_SHA256_RSA_PKCS_PSS, AT(3), { { FIELD_HASH, AT(0) }, { FIELD_MGF, AT(1) }, { FIELD_END, 0 } } },
    { CKM_SHA384_RSA_PKCS_PSS, AT(3), { { FIELD_HASH, AT(0) }, { FIELD_MGF, AT(1) }, { FIELD_END, 0 } } },
    { CKM_SHA512_RSA_PKCS_PSS, AT(3), { { FIELD_HASH, AT(0) }, { FIELD_MGF, AT(1) }, { FIELD_END, 0 } } },
    /* CK_RSA_AES_KEY_WRAP_PARAMS { ulAESKeyBits, pOAEPParams } */
    { CKM_RSA_AES_KEY_WRAP, AT(2), { { FIELD_OAEP, AT(1) }, { FIELD_END, 0 } } },
    /* CK_ECDH1_DERIVE_PARAMS { kdf, ulSharedDataLen, pSharedData, ulPublicDataLen, pPublicData } */
    { CKM_ECDH1_DERIVE, AT(5), { { FIELD_KDF, AT(0) }, { FIELD_END, 0 } } },
    { CKM_ECDH1_COFACTOR_DERIVE, AT(5), { { FIELD_KDF, AT(0) }, { FIELD_END, 0 } } },
    /* CK_ECDH_AES_KEY_WRAP_PARAMS { ulAESKeyBits, kdf, ulSharedDataLen, pSharedData } */
    { CKM_ECDH_AES_KEY_WRAP, AT(4), { { FIELD_KDF, AT(1) }, { FIELD_END, 0 } } },
    /* CK_X9_42_DH1_DERIVE_PARAMS { kdf, ulOtherInfoLen, pOtherInfo, ulPublicDataLen, pPublicData } */
    { CKM_X9_42_DH_DERIVE, AT(5), { { FIELD_KDF, AT(0) }, { FIELD_END, 0 } } },
    /* CK_X9_42_DH2_DERIVE_PARAMS { kdf, ..., ulPrivateDataLen, hPrivateData, ulPublicDataLen2, pPublicData2 } */
    { CKM_X9_42_DH_HYBRID_DERIVE, AT(9), { { FIELD_KDF, AT(0) }, { FIELD_KEY, AT(6) }, { FIELD_END, 0 } } },
    /* CK_X9_42_MQV_DERIVE_PARAMS and CK_ECMQV_DERIVE_PARAMS: the same, then publicKey */
    { CKM_X9_42_MQV_DERIVE, AT(10),
      { { FIELD_KDF, AT(0) }, { FIELD_KEY, AT(6) }, { FIELD_KEY, AT(9) }, { FIELD_END, 0 } } },
    { CKM_ECMQV_DERIVE, AT(10),
      { { FIELD_KDF, AT(0) }, { FIELD_KEY, AT(6) }, { FIELD_KEY, AT(9) }, { FIELD_END, 0 } } },
    /* CK_HKDF_PARAMS { bExtract, bExpand, prfHashMechanism, ulSaltType, pSalt, ulSaltLen,
     * hSaltKey, pInfo, ulInfoLen }: the two CK_BBOOLs share the first CK_ULONG slot */
    { CKM_HKDF_DERIVE, AT(8), { { FIELD_HASH, AT(1) }, { FIELD_SALT_KEY, AT(2) }, { FIELD_END, 0 } } },
    { CKM_HKDF_DATA, AT(8), { { FIELD_HASH, AT(1) }, { FIELD_SALT_KEY, AT(2) }, { FIELD_END, 0 } } },
    /* CK_PKCS5_PBKD2_PARAMS(2) { saltSource, pSaltSourceData, ulSaltSourceDataLen, iterations,
     * prf, pPrfData, ulPrfDataLen, pPassword, ulPasswordLen } */
    { CKM_PKCS5_PBKD2, AT(9), { { FIELD_PRF, AT(4) }, { FIELD_END, 0 } } },
    /* a CK_OBJECT_HANDLE */
    { CKM_CONCATENATE_BASE_AND_KEY, AT(1), { { FIELD_KEY, AT(0) }, { FIELD_END, 0 } } },
};
/* clang-format on */

G_STATIC_ASSERT(sizeof(CK_ULONG) == sizeof(void *));
G_STATIC_ASSERT(sizeof(CK_RSA_PKCS_OAEP_PARAMS) == AT(5));
G_STATIC_ASSERT(sizeof(CK_RSA_PKCS_PSS_PARAMS) == AT(3));
G_STATIC_ASSERT(sizeof(CK_ECDH1_DERIVE_PARAMS) == AT(5));

static const Layout *
layout_of(CK_MECHANISM_TYPE type)
{
    gsize i;

    for (i = 0; i < G_N_ELEMENTS(layouts); i++) {
        if (layouts[i].mechanism == type) {
            return &layouts[i];
        }
    }
    return NULL;
}

static void
add_algorithm(P11muxMechUse *use, CK_MECHANISM_TYPE type)
{
    if (use->n_algorithms < P11MUX_MECH_MAX_NAMED) {
        use->algorithms[use->n_algorithms++] = type;
    }
}

static void
add_key(P11muxMechUse *use, CK_OBJECT_HANDLE key)
{
    if (key != CK_INVALID_HANDLE && use->n_keys < P11MUX_MECH_MAX_NAMED) {
        use->keys[use->n_keys++] = key;
    }
}

/* The hash value stands for in table; FALSE when value is not in it. */
static gboolean
lookup_named(const Named *table, gsize n, CK_ULONG value, P11muxMechUse *use)
{
    gsize i;

    for (i = 0; i < n; i++) {
        if (table[i].value == value) {
            if (table[i].hash != 0) {
                add_algorithm(use, table[i].hash);
            }
            return TRUE;
        }
    }
    return FALSE;
}

static CK_RV inspect_layout(const Layout *layout, const guint8 *param, gsize len,
                            P11muxMechUse *use);

static CK_RV
decode_field(const Field *field, const guint8 *param, P11muxMechUse *use)
{
    CK_ULONG value;
    const void *pointer;

    memcpy(&value, param + field->offset, sizeof value);
    switch (field->kind) {
    case FIELD_HASH:
        add_algorithm(use, value);
        return CKR_OK;
    case FIELD_MGF:
        return lookup_named(mgfs, G_N_ELEMENTS(mgfs), value, use) ? CKR_OK
                                                                  : CKR_MECHANISM_PARAM_INVALID;
    case FIELD_KDF:
        return lookup_named(kdfs, G_N_ELEMENTS(kdfs), value, use) ? CKR_OK
                                                                  : CKR_MECHANISM_PARAM_INVALID;
    case FIELD_PRF:
        return lookup_named(pbkdf2_prfs, G_N_ELEMENTS(pbkdf2_prfs), value, use)
                   ? CKR_OK
                   : CKR_MECHANISM_PARAM_INVALID;
    case FIELD_KEY:
        add_key(use, value);
        return CKR_OK;
    case FIELD_SALT_KEY:
        if (value == CKF_HKDF_SALT_KEY) {
            memcpy(&value, param + field->offset + AT(3), sizeof value);
            add_key(use, value);
        }
        return CKR_OK;
    case FIELD_OAEP:
        memcpy(&pointer, param + field->offset, sizeof pointer);
        return inspect_layout(layout_of(CKM_RSA_PKCS_OAEP), pointer,
                              sizeof(CK_RSA_PKCS_OAEP_PARAMS), use);
    case FIELD_END:
        break;
    }
    return CKR_OK;
}

static CK_RV
inspect_layout(const Layout *layout, const guint8 *param, gsize len, P11muxMechUse *use)
{
    const Field *field;
    CK_RV rv = CKR_OK;

    if (param == NULL || len != layout->size) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    for (field = layout->fields; rv == CKR_OK && field->kind != FIELD_END; field++) {
        rv = decode_field(field, param, use);
    }
    return rv;
}

CK_RV
p11mux_mech_inspect(const CK_MECHANISM *mechanism, P11muxMechUse *use)
{
    const Layout *layout = layout_of(mechanism->mechanism);

    memset(use, 0, sizeof *use);
    if (layout == NULL) {
        return CKR_OK;
    }
    return inspect_layout(layout, mechanism->pParameter, mechanism->ulParameterLen, use);
}

CK_RV
p11mux_policy_check_mechanism(const P11muxPolicy *policy, const CK_MECHANISM *mechanism,
                              P11muxMechUse *use)
{
    CK_RV rv;
    guint i;

    if (!p11mux_policy_allows_mechanism(policy, mechanism->mechanism)) {
        return CKR_MECHANISM_INVALID;
    }
    rv = p11mux_mech_inspect(mechanism, use);
    if (rv != CKR_OK) {
        return rv;
    }
    for (i = 0; i < use->n_algorithms; i++) {
        if (!p11mux_policy_allows_mechanism(policy, use->algorithms[i])) {
            return CKR_MECHANISM_INVALID;
        }
    }
    return CKR_OK;
}
