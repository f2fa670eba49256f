/*
 * Unit tests for src/pkcs11/constants.c and the generated constant tables.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check-helpers.h"
#include "constants.h"

/*
 * CKF_ names of the header that are no flag of any structure field, so no
 * hand list in constants.c holds them.  Keep each with its reason.
 */
static const char *const ckf_not_structure_flags[] = {
    /* a bit of attribute TYPES (CKA_WRAP_TEMPLATE = CKF_ARRAY_ATTRIBUTE|0x211) */
    "CKF_ARRAY_ATTRIBUTE",
    /* the 2.40 name of CKF_EC_OID, which the mechanism-info list prints */
    "CKF_EC_NAMEDCURVE",
    /* the three values of CK_HKDF_PARAMS.ulSaltType, not flags */
    "CKF_HKDF_SALT_NULL",
    "CKF_HKDF_SALT_DATA",
    "CKF_HKDF_SALT_KEY",
};

START_TEST(test_constants_tables_sorted_by_value)
{
    for (guint kind = 0; kind < P11MUX_CONST_N_KINDS; kind++) {
        gsize n;
        const P11muxConstant *table = p11mux_constant_table(kind, &n);

        for (gsize i = 1; i < n; i++) {
            ck_assert_msg(table[i - 1].value < table[i].value, "%s after %s (0x%lx >= 0x%lx)",
                          table[i].name, table[i - 1].name, table[i - 1].value, table[i].value);
        }
    }
}
END_TEST

START_TEST(test_constants_index_sorted_by_name)
{
    for (guint kind = 0; kind < P11MUX_CONST_N_KINDS; kind++) {
        gsize n;
        const P11muxConstant *index = p11mux_constant_index(kind, &n);

        for (gsize i = 1; i < n; i++) {
            ck_assert_msg(strcmp(index[i - 1].name, index[i].name) < 0, "%s after %s",
                          index[i].name, index[i - 1].name);
        }
    }
}
END_TEST

START_TEST(test_constants_table_holds_canonical_names_only)
{
    for (guint kind = 0; kind < P11MUX_CONST_N_KINDS; kind++) {
        const char *prefix = p11mux_constant_kind_prefix(kind);
        gsize n;
        const P11muxConstant *table = p11mux_constant_table(kind, &n);

        for (gsize i = 0; i < n; i++) {
            ck_assert_uint_eq(table[i].flags, 0);
            ck_assert_msg(g_str_has_prefix(table[i].name, prefix), "%s", table[i].name);
        }
    }
}
END_TEST

/* Every name parses to its value, and that value prints as a name of the same value. */
START_TEST(test_constants_round_trip)
{
    guint checked = 0;

    for (guint kind = 0; kind < P11MUX_CONST_N_KINDS; kind++) {
        gsize n;
        const P11muxConstant *index = p11mux_constant_index(kind, &n);

        for (gsize i = 0; i < n; i++) {
            g_autofree char *text = NULL;
            CK_ULONG value = 0;
            CK_ULONG again = 0;

            ck_assert(p11mux_constant_value(kind, index[i].name, &value));
            ck_assert_uint_eq(value, index[i].value);
            text = p11mux_constant_format(kind, value);
            ck_assert(p11mux_constant_parse(kind, text, &again));
            ck_assert_uint_eq(again, value);
            if (index[i].flags == 0) {
                ck_assert_str_eq(text, index[i].name);
            }
            checked++;
        }
    }
    ck_assert_uint_gt(checked, 600);
}
END_TEST

START_TEST(test_constants_known_values)
{
    CK_ULONG value = 0;

    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKM, CKM_AES_GCM), "CKM_AES_GCM");
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKA, CKA_WRAP_TEMPLATE),
                     "CKA_WRAP_TEMPLATE");
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKO, CKO_PRIVATE_KEY), "CKO_PRIVATE_KEY");
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKU, CKU_CONTEXT_SPECIFIC),
                     "CKU_CONTEXT_SPECIFIC");
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKG, CKG_MGF1_SHA256), "CKG_MGF1_SHA256");
    ck_assert(p11mux_constant_value(P11MUX_CONST_CKR, "CKR_TOKEN_RESOURCE_EXCEEDED", &value));
    ck_assert_uint_eq(value, CKR_TOKEN_RESOURCE_EXCEEDED);
    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKM, "CKA_CLASS", &value));
    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKM, "CKM_NO_SUCH_THING", &value));
    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKM, "ckm_aes_gcm", &value));
}
END_TEST

START_TEST(test_constants_rv_is_described_by_name_and_value)
{
    g_autofree char *known = p11mux_rv_describe(CKR_DEVICE_ERROR);
    g_autofree char *vendor = p11mux_rv_describe(CKR_VENDOR_DEFINED + 1);
    g_autofree char *unknown = p11mux_rv_describe(0x7777);

    ck_assert_str_eq(known, "CKR_DEVICE_ERROR (0x30)");
    ck_assert_str_eq(vendor, "CKR_VENDOR_DEFINED+0x1 (0x80000001)");
    ck_assert_str_eq(unknown, "0x7777");
}
END_TEST

START_TEST(test_constants_aliases_parse)
{
    CK_ULONG value = 0;

    ck_assert(p11mux_constant_value(P11MUX_CONST_CKM, "CKM_ECDSA_KEY_PAIR_GEN", &value));
    ck_assert_uint_eq(value, CKM_EC_KEY_PAIR_GEN);
    ck_assert(p11mux_constant_value(P11MUX_CONST_CKM, "CKM_EC_KEY_PAIR_GEN", &value));
    ck_assert_uint_eq(value, CKM_EC_KEY_PAIR_GEN);
    ck_assert(p11mux_constant_value(P11MUX_CONST_CKK, "CKK_ECDSA", &value));
    ck_assert_uint_eq(value, CKK_EC);
    ck_assert(p11mux_constant_value(P11MUX_CONST_CKA, "CKA_ECDSA_PARAMS", &value));
    ck_assert_uint_eq(value, CKA_EC_PARAMS);
    ck_assert(p11mux_constant_value(P11MUX_CONST_CKM, "CKM_CAST5_CBC", &value));
    ck_assert_uint_eq(value, CKM_CAST128_CBC);
    ck_assert(p11mux_constant_value(P11MUX_CONST_CKA, "CKA_SUB_PRIME_BITS", &value));
    ck_assert_uint_eq(value, CKA_SUB_PRIME_BITS);
}
END_TEST

/* The name defined last, the one current specifications use, prints. */
START_TEST(test_constants_aliases_print_current_name)
{
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKM, CKM_EC_KEY_PAIR_GEN),
                     "CKM_EC_KEY_PAIR_GEN");
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKK, CKK_EC), "CKK_EC");
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKA, CKA_EC_PARAMS), "CKA_EC_PARAMS");
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKM, CKM_CAST128_CBC), "CKM_CAST128_CBC");
}
END_TEST

/*
 * PKCS #11 3.0 names (src/pkcs11/pkcs11-3.0.h; p11-kit's 2.40 header lacks them),
 * with their values from the OASIS 3.0 headers written out, so that a wrong
 * value in the supplement fails here too.
 */
static const struct {
    P11muxConstantKind kind;
    const char *name;
    CK_ULONG value;
} names_3_0[] = {
    {P11MUX_CONST_CKM, "CKM_CHACHA20_POLY1305", 0x4021},
    {P11MUX_CONST_CKM, "CKM_SHA3_256", 0x2b0},
    {P11MUX_CONST_CKM, "CKM_SHA3_512_RSA_PKCS_PSS", 0x65},
    {P11MUX_CONST_CKM, "CKM_HKDF_DERIVE", 0x402a},
    {P11MUX_CONST_CKM, "CKM_HKDF_DATA", 0x402b},
    {P11MUX_CONST_CKM, "CKM_EC_MONTGOMERY_KEY_PAIR_GEN", 0x1056},
    {P11MUX_CONST_CKM, "CKM_XEDDSA", 0x4029},
    {P11MUX_CONST_CKM, "CKM_AES_XTS", 0x1071},
    {P11MUX_CONST_CKM, "CKM_BLAKE2B_256_HMAC", 0x4012},
    {P11MUX_CONST_CKM, "CKM_SP800_108_COUNTER_KDF", 0x3ac},
    {P11MUX_CONST_CKM, "CKM_IKE2_PRF_PLUS_DERIVE", 0x402e},
    {P11MUX_CONST_CKM, "CKM_IKE_PRF_DERIVE", 0x402f},
    {P11MUX_CONST_CKM, "CKM_IKE1_PRF_DERIVE", 0x4030},
    {P11MUX_CONST_CKM, "CKM_IKE1_EXTENDED_DERIVE", 0x4031},
    {P11MUX_CONST_CKM, "CKM_ECDSA_SHA3_256", 0x1048},
    {P11MUX_CONST_CKM, "CKM_AES_KEY_WRAP_KWP", 0x210b},
    {P11MUX_CONST_CKK, "CKK_EC_MONTGOMERY", 0x41},
    {P11MUX_CONST_CKK, "CKK_CHACHA20", 0x33},
    {P11MUX_CONST_CKK, "CKK_SHA3_256_HMAC", 0x37},
    {P11MUX_CONST_CKK, "CKK_SHA512_T_HMAC", 0x45},
    {P11MUX_CONST_CKA, "CKA_UNIQUE_ID", 0x4},
    {P11MUX_CONST_CKA, "CKA_PROFILE_ID", 0x601},
    {P11MUX_CONST_CKA, "CKA_X2RATCHET_RK", 0x612},
    {P11MUX_CONST_CKO, "CKO_PROFILE", 0x9},
    {P11MUX_CONST_CKP, "CKP_BASELINE_PROVIDER", 0x1},
    {P11MUX_CONST_CKP, "CKP_PUBLIC_CERTIFICATES_TOKEN", 0x4},
    {P11MUX_CONST_CKD, "CKD_SHA3_256_KDF", 0xb},
    {P11MUX_CONST_CKD, "CKD_SHA256_KDF_SP800", 0x10},
    {P11MUX_CONST_CKD, "CKD_BLAKE2B_512_KDF", 0x1a},
    {P11MUX_CONST_CKG, "CKG_MGF1_SHA3_256", 0x7},
    {P11MUX_CONST_CKR, "CKR_OPERATION_CANCEL_FAILED", 0x202},
    /* 2.40 codes p11-kit 0.24 numbers 0x1c0-0x1c4: the specification's values */
    {P11MUX_CONST_CKR, "CKR_EXCEEDED_MAX_ITERATIONS", 0x1b5},
    {P11MUX_CONST_CKR, "CKR_PIN_TOO_WEAK", 0x1b8},
    {P11MUX_CONST_CKR, "CKR_PUBLIC_KEY_INVALID", 0x1b9},
};

START_TEST(test_constants_3_0_names_and_values)
{
    for (gsize i = 0; i < G_N_ELEMENTS(names_3_0); i++) {
        CK_ULONG value = 0;
        g_autofree char *text = p11mux_constant_format(names_3_0[i].kind, names_3_0[i].value);

        ck_assert_msg(p11mux_constant_value(names_3_0[i].kind, names_3_0[i].name, &value),
                      "%s is unknown", names_3_0[i].name);
        ck_assert_uint_eq(value, names_3_0[i].value);
        ck_assert_str_eq(text, names_3_0[i].name);
    }
}
END_TEST

/* The 3.0 names that share a prefix with a kind but belong to another field. */
START_TEST(test_constants_3_0_other_fields_stay_out)
{
    CK_ULONG value = 0;

    /* CKP_: profiles only, not the PBKDF2 PRFs; CKG_: MGFs, not IV generators */
    ck_assert_uint_ge(p11mux_constant_glob(P11MUX_CONST_CKP, "CKP_*", NULL, NULL), 5);
    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKP, "CKP_PKCS5_PBKD2_HMAC_SHA256", &value));
    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKG, "CKG_GENERATE_COUNTER_XOR", &value));
    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKZ, "CKZ_SALT_SPECIFIED", &value));
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKZ, 1), "CKZ_DATA_SPECIFIED");
}
END_TEST

/*
 * Every CKA_, CKO_, CKK_, CKM_ and CKR_ name PKCS #11 3.1 and 3.2 add
 * (src/pkcs11/pkcs11-3.2.h), with its value from the OASIS 3.2 header.
 */
static const struct {
    P11muxConstantKind kind;
    const char *name;
    CK_ULONG value;
} names_3_2[] = {
    {P11MUX_CONST_CKA, "CKA_HSS_LEVELS", 0x617},
    {P11MUX_CONST_CKA, "CKA_HSS_LMS_TYPE", 0x618},
    {P11MUX_CONST_CKA, "CKA_HSS_LMOTS_TYPE", 0x619},
    {P11MUX_CONST_CKA, "CKA_HSS_LMS_TYPES", 0x61a},
    {P11MUX_CONST_CKA, "CKA_HSS_LMOTS_TYPES", 0x61b},
    {P11MUX_CONST_CKA, "CKA_HSS_KEYS_REMAINING", 0x61c},
    {P11MUX_CONST_CKA, "CKA_PARAMETER_SET", 0x61d},
    {P11MUX_CONST_CKA, "CKA_OBJECT_VALIDATION_FLAGS", 0x61e},
    {P11MUX_CONST_CKA, "CKA_VALIDATION_TYPE", 0x61f},
    {P11MUX_CONST_CKA, "CKA_VALIDATION_VERSION", 0x620},
    {P11MUX_CONST_CKA, "CKA_VALIDATION_LEVEL", 0x621},
    {P11MUX_CONST_CKA, "CKA_VALIDATION_MODULE_ID", 0x622},
    {P11MUX_CONST_CKA, "CKA_VALIDATION_FLAG", 0x623},
    {P11MUX_CONST_CKA, "CKA_VALIDATION_AUTHORITY_TYPE", 0x624},
    {P11MUX_CONST_CKA, "CKA_VALIDATION_COUNTRY", 0x625},
    {P11MUX_CONST_CKA, "CKA_VALIDATION_CERTIFICATE_IDENTIFIER", 0x626},
    {P11MUX_CONST_CKA, "CKA_VALIDATION_CERTIFICATE_URI", 0x627},
    {P11MUX_CONST_CKA, "CKA_VALIDATION_VENDOR_URI", 0x628},
    {P11MUX_CONST_CKA, "CKA_VALIDATION_PROFILE", 0x629},
    {P11MUX_CONST_CKA, "CKA_ENCAPSULATE_TEMPLATE", 0x62a},
    {P11MUX_CONST_CKA, "CKA_DECAPSULATE_TEMPLATE", 0x62b},
    {P11MUX_CONST_CKA, "CKA_TRUST_SERVER_AUTH", 0x62c},
    {P11MUX_CONST_CKA, "CKA_TRUST_CLIENT_AUTH", 0x62d},
    {P11MUX_CONST_CKA, "CKA_TRUST_CODE_SIGNING", 0x62e},
    {P11MUX_CONST_CKA, "CKA_TRUST_EMAIL_PROTECTION", 0x62f},
    {P11MUX_CONST_CKA, "CKA_TRUST_IPSEC_IKE", 0x630},
    {P11MUX_CONST_CKA, "CKA_TRUST_TIME_STAMPING", 0x631},
    {P11MUX_CONST_CKA, "CKA_TRUST_OCSP_SIGNING", 0x632},
    {P11MUX_CONST_CKA, "CKA_ENCAPSULATE", 0x633},
    {P11MUX_CONST_CKA, "CKA_DECAPSULATE", 0x634},
    {P11MUX_CONST_CKA, "CKA_HASH_OF_CERTIFICATE", 0x635},
    {P11MUX_CONST_CKA, "CKA_PUBLIC_CRC64_VALUE", 0x636},
    {P11MUX_CONST_CKA, "CKA_SEED", 0x637},
    {P11MUX_CONST_CKO, "CKO_VALIDATION", 0xa},
    {P11MUX_CONST_CKO, "CKO_TRUST", 0xb},
    {P11MUX_CONST_CKK, "CKK_HSS", 0x46},
    {P11MUX_CONST_CKK, "CKK_XMSS", 0x47},
    {P11MUX_CONST_CKK, "CKK_XMSSMT", 0x48},
    {P11MUX_CONST_CKK, "CKK_ML_KEM", 0x49},
    {P11MUX_CONST_CKK, "CKK_ML_DSA", 0x4a},
    {P11MUX_CONST_CKK, "CKK_SLH_DSA", 0x4b},
    {P11MUX_CONST_CKM, "CKM_ML_KEM_KEY_PAIR_GEN", 0xf},
    {P11MUX_CONST_CKM, "CKM_ML_KEM", 0x17},
    {P11MUX_CONST_CKM, "CKM_ML_DSA_KEY_PAIR_GEN", 0x1c},
    {P11MUX_CONST_CKM, "CKM_ML_DSA", 0x1d},
    {P11MUX_CONST_CKM, "CKM_HASH_ML_DSA", 0x1f},
    {P11MUX_CONST_CKM, "CKM_HASH_ML_DSA_SHA224", 0x23},
    {P11MUX_CONST_CKM, "CKM_HASH_ML_DSA_SHA256", 0x24},
    {P11MUX_CONST_CKM, "CKM_HASH_ML_DSA_SHA384", 0x25},
    {P11MUX_CONST_CKM, "CKM_HASH_ML_DSA_SHA512", 0x26},
    {P11MUX_CONST_CKM, "CKM_HASH_ML_DSA_SHA3_224", 0x27},
    {P11MUX_CONST_CKM, "CKM_HASH_ML_DSA_SHA3_256", 0x28},
    {P11MUX_CONST_CKM, "CKM_HASH_ML_DSA_SHA3_384", 0x29},
    {P11MUX_CONST_CKM, "CKM_HASH_ML_DSA_SHA3_512", 0x2a},
    {P11MUX_CONST_CKM, "CKM_HASH_ML_DSA_SHAKE128", 0x2b},
    {P11MUX_CONST_CKM, "CKM_HASH_ML_DSA_SHAKE256", 0x2c},
    {P11MUX_CONST_CKM, "CKM_SLH_DSA_KEY_PAIR_GEN", 0x2d},
    {P11MUX_CONST_CKM, "CKM_SLH_DSA", 0x2e},
    {P11MUX_CONST_CKM, "CKM_HASH_SLH_DSA", 0x34},
    {P11MUX_CONST_CKM, "CKM_HASH_SLH_DSA_SHA224", 0x36},
    {P11MUX_CONST_CKM, "CKM_HASH_SLH_DSA_SHA256", 0x37},
    {P11MUX_CONST_CKM, "CKM_HASH_SLH_DSA_SHA384", 0x38},
    {P11MUX_CONST_CKM, "CKM_HASH_SLH_DSA_SHA512", 0x39},
    {P11MUX_CONST_CKM, "CKM_HASH_SLH_DSA_SHA3_224", 0x3a},
    {P11MUX_CONST_CKM, "CKM_HASH_SLH_DSA_SHA3_256", 0x3b},
    {P11MUX_CONST_CKM, "CKM_HASH_SLH_DSA_SHA3_384", 0x3c},
    {P11MUX_CONST_CKM, "CKM_HASH_SLH_DSA_SHA3_512", 0x3d},
    {P11MUX_CONST_CKM, "CKM_HASH_SLH_DSA_SHAKE128", 0x3e},
    {P11MUX_CONST_CKM, "CKM_HASH_SLH_DSA_SHAKE256", 0x3f},
    {P11MUX_CONST_CKM, "CKM_TLS12_EXTENDED_MASTER_KEY_DERIVE", 0x56},
    {P11MUX_CONST_CKM, "CKM_TLS12_EXTENDED_MASTER_KEY_DERIVE_DH", 0x57},
    {P11MUX_CONST_CKM, "CKM_AES_KEY_WRAP_PKCS7", 0x210c},
    {P11MUX_CONST_CKM, "CKM_HSS_KEY_PAIR_GEN", 0x4032},
    {P11MUX_CONST_CKM, "CKM_HSS", 0x4033},
    {P11MUX_CONST_CKM, "CKM_XMSS_KEY_PAIR_GEN", 0x4034},
    {P11MUX_CONST_CKM, "CKM_XMSSMT_KEY_PAIR_GEN", 0x4035},
    {P11MUX_CONST_CKM, "CKM_XMSS", 0x4036},
    {P11MUX_CONST_CKM, "CKM_XMSSMT", 0x4037},
    {P11MUX_CONST_CKM, "CKM_ECDH_X_AES_KEY_WRAP", 0x4038},
    {P11MUX_CONST_CKM, "CKM_ECDH_COF_AES_KEY_WRAP", 0x4039},
    {P11MUX_CONST_CKM, "CKM_PUB_KEY_FROM_PRIV_KEY", 0x403a},
    {P11MUX_CONST_CKR, "CKR_KEY_EXHAUSTED", 0x203},
    {P11MUX_CONST_CKR, "CKR_PENDING", 0x204},
    {P11MUX_CONST_CKR, "CKR_SESSION_ASYNC_NOT_SUPPORTED", 0x205},
    {P11MUX_CONST_CKR, "CKR_SEED_RANDOM_REQUIRED", 0x206},
    {P11MUX_CONST_CKR, "CKR_OPERATION_NOT_VALIDATED", 0x207},
    {P11MUX_CONST_CKR, "CKR_TOKEN_NOT_INITIALIZED", 0x208},
    {P11MUX_CONST_CKR, "CKR_PARAMETER_SET_NOT_SUPPORTED", 0x209},
};

START_TEST(test_constants_3_2_names_and_values)
{
    for (gsize i = 0; i < G_N_ELEMENTS(names_3_2); i++) {
        CK_ULONG value = 0;
        g_autofree char *text = p11mux_constant_format(names_3_2[i].kind, names_3_2[i].value);

        ck_assert_msg(p11mux_constant_value(names_3_2[i].kind, names_3_2[i].name, &value),
                      "%s is unknown", names_3_2[i].name);
        ck_assert_uint_eq(value, names_3_2[i].value);
        ck_assert_str_eq(text, names_3_2[i].name);
    }
}
END_TEST

/* The 3.2 value names of other types that share a kind's prefix stay out. */
START_TEST(test_constants_3_2_other_fields_stay_out)
{
    CK_ULONG value = 0;

    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKP, "CKP_ML_KEM_768", &value));
    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKP, "CKP_ML_DSA_65", &value));
    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKP, "CKP_SLH_DSA_SHA2_128S", &value));
    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKH, "CKH_HEDGE_REQUIRED", &value));
    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKH, "CKH_DETERMINISTIC_REQUIRED", &value));
    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKS, "CKS_LAST_VALIDATION_OK", &value));
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKP, 1), "CKP_BASELINE_PROVIDER");
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKH, 1), "CKH_MONOTONIC_COUNTER");
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKS, 1), "CKS_RO_USER_FUNCTIONS");
    /* ... and have their own kind where p11mux prints them */
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKS_VALIDATION, 1),
                     "CKS_LAST_VALIDATION_OK");
    ck_assert(!p11mux_constant_value(P11MUX_CONST_CKS_VALIDATION, "CKS_RW_SO_FUNCTIONS", &value));
}
END_TEST

/* The 3.2 flags print in their fields. */
START_TEST(test_constants_flags_3_2)
{
    g_autofree char *mech = p11mux_flags_format(P11MUX_FLAGS_MECHANISM_INFO,
                                                CKF_ENCAPSULATE | CKF_DECAPSULATE);
    g_autofree char *session = p11mux_flags_format(P11MUX_FLAGS_SESSION_INFO,
                                                   CKF_SERIAL_SESSION | CKF_ASYNC_SESSION);
    g_autofree char *token = p11mux_flags_format(
        P11MUX_FLAGS_TOKEN_INFO, CKF_SEED_RANDOM_REQUIRED | CKF_ASYNC_SESSION_SUPPORTED);

    ck_assert_str_eq(mech, "CKF_ENCAPSULATE|CKF_DECAPSULATE");
    ck_assert_str_eq(session, "CKF_SERIAL_SESSION|CKF_ASYNC_SESSION");
    ck_assert_str_eq(token, "CKF_SEED_RANDOM_REQUIRED|CKF_ASYNC_SESSION_SUPPORTED");
}
END_TEST

/* Second names of a 3.0 value parse; which one prints is pinned below. */
START_TEST(test_constants_3_0_aliases)
{
    CK_ULONG value = 0;

    ck_assert(p11mux_constant_value(P11MUX_CONST_CKM, "CKM_SHA3_256_KEY_DERIVE", &value));
    ck_assert_uint_eq(value, 0x397);
    ck_assert(p11mux_constant_value(P11MUX_CONST_CKM, "CKM_SHA3_256_KEY_DERIVATION", &value));
    ck_assert_uint_eq(value, 0x397);
    ck_assert(
        p11mux_constant_value(P11MUX_CONST_CKM, "CKM_DSA_PROBABILISTIC_PARAMETER_GEN", &value));
    ck_assert_uint_eq(value, 0x2003);
    ck_assert(
        p11mux_constant_value(P11MUX_CONST_CKM, "CKM_DSA_PROBABLISTIC_PARAMETER_GEN", &value));
    ck_assert_uint_eq(value, 0x2003);
    ck_assert(p11mux_constant_value(P11MUX_CONST_CKA, "CKA_SUBPRIME_BITS", &value));
    ck_assert_uint_eq(value, 0x134);
    ck_assert(p11mux_constant_value(P11MUX_CONST_CKK, "CKK_CAST5", &value));
    ck_assert_uint_eq(value, 0x18);
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKK, 0x18), "CKK_CAST128");
#if CRYPTOKI_VERSION_MAJOR < 3
    /* the choice of pkcs11-3.0.h (a 3.x system header makes its own): the 3.0
     * spelling, defined by value, over the 2.40 one, defined as its alias */
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKM, 0x397), "CKM_SHA3_256_KEY_DERIVATION");
    ck_assert_str_eq(p11mux_constant_name(P11MUX_CONST_CKM, 0x39c), "CKM_SHAKE_256_KEY_DERIVATION");
#endif
}
END_TEST

START_TEST(test_constants_unknown_value_prints_hex)
{
    g_autofree char *text = p11mux_constant_format(P11MUX_CONST_CKM, 0x7ffffff0UL);
    g_autofree char *rv = p11mux_constant_format(P11MUX_CONST_CKR, 0x4242UL);
    CK_ULONG value = 0;

    ck_assert_ptr_null(p11mux_constant_name(P11MUX_CONST_CKM, 0x7ffffff0UL));
    ck_assert_str_eq(text, "0x7ffffff0");
    ck_assert_str_eq(rv, "0x4242");
    ck_assert(p11mux_constant_parse(P11MUX_CONST_CKM, "0x7ffffff0", &value));
    ck_assert_uint_eq(value, 0x7ffffff0UL);
    ck_assert(p11mux_constant_parse(P11MUX_CONST_CKM, "4096", &value));
    ck_assert_uint_eq(value, 4096);
    ck_assert(!p11mux_constant_parse(P11MUX_CONST_CKM, "0x", &value));
    ck_assert(!p11mux_constant_parse(P11MUX_CONST_CKM, "12abc", &value));
    ck_assert(!p11mux_constant_parse(P11MUX_CONST_CKM, "", &value));
}
END_TEST

START_TEST(test_constants_vendor_range_says_vendor)
{
    g_autofree char *mech = p11mux_constant_format(P11MUX_CONST_CKM, CKM_VENDOR_DEFINED + 0x10);
    g_autofree char *base = p11mux_constant_format(P11MUX_CONST_CKA, CKA_VENDOR_DEFINED);
    g_autofree char *user = p11mux_constant_format(P11MUX_CONST_CKU, 0x80000001UL);
    g_autofree char *cert = p11mux_constant_format(P11MUX_CONST_CKC, CKC_OPENPGP);
    CK_ULONG value = 0;

    ck_assert_str_eq(mech, "CKM_VENDOR_DEFINED+0x10");
    ck_assert_str_eq(base, "CKA_VENDOR_DEFINED");
    ck_assert_str_eq(user, "CKU_VENDOR_DEFINED+0x1");
    ck_assert_str_eq(cert, "CKC_OPENPGP"); /* a named vendor value keeps its name */
    ck_assert(p11mux_constant_parse(P11MUX_CONST_CKM, mech, &value));
    ck_assert_uint_eq(value, CKM_VENDOR_DEFINED + 0x10);
    ck_assert(p11mux_constant_value(P11MUX_CONST_CKM, "CKM_VENDOR_DEFINED", &value));
    ck_assert_uint_eq(value, CKM_VENDOR_DEFINED);
    ck_assert(!p11mux_constant_parse(P11MUX_CONST_CKA, "CKM_VENDOR_DEFINED+0x10", &value));
}
END_TEST

START_TEST(test_constants_rv_name)
{
    ck_assert_str_eq(p11mux_rv_name(CKR_OK), "CKR_OK");
    ck_assert_str_eq(p11mux_rv_name(CKR_SLOT_ID_INVALID), "CKR_SLOT_ID_INVALID");
    ck_assert_str_eq(p11mux_rv_name(CKR_ACTION_PROHIBITED), "CKR_ACTION_PROHIBITED");
    ck_assert_str_eq(p11mux_rv_name(CKR_OPERATION_CANCEL_FAILED), "CKR_OPERATION_CANCEL_FAILED");
    ck_assert_ptr_null(p11mux_rv_name(0x4242UL));
    ck_assert_ptr_null(p11mux_rv_name(CKR_VENDOR_DEFINED));
}
END_TEST

START_TEST(test_constants_check_helper_describes_rv)
{
    char buf[P11MUX_CHECK_RV_BUF];

    ck_assert_str_eq(p11mux_check_rv_describe(CKR_SLOT_ID_INVALID, buf, sizeof(buf)),
                     "CKR_SLOT_ID_INVALID (0x3)");
    ck_assert_str_eq(p11mux_check_rv_describe(0x4242UL, buf, sizeof(buf)), "unknown (0x4242)");
    ck_assert_str_eq(p11mux_check_rv_describe(CKR_VENDOR_DEFINED + 5, buf, sizeof(buf)),
                     "CKR_VENDOR_DEFINED+0x5 (0x80000005)");
    ck_assert_rv(CKR_SLOT_ID_INVALID, CKR_SLOT_ID_INVALID);
    ck_assert_rv_ok(CKR_OK);
}
END_TEST

static void
collect_name(CK_ULONG value, const char *name, gpointer user_data)
{
    GHashTable *names = user_data;

    ck_assert_ptr_nonnull(name);
    ck_assert_str_eq(name, p11mux_constant_name(P11MUX_CONST_CKM, value));
    ck_assert(g_hash_table_add(names, g_strdup(name)));
}

START_TEST(test_constants_glob)
{
    g_autoptr(GHashTable) names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint count = p11mux_constant_glob(P11MUX_CONST_CKM, "CKM_*DES*", collect_name, names);

    ck_assert_uint_eq(count, g_hash_table_size(names));
    ck_assert(g_hash_table_contains(names, "CKM_DES3_CBC"));
    ck_assert(g_hash_table_contains(names, "CKM_DES_ECB"));
    ck_assert(g_hash_table_contains(names, "CKM_PBE_SHA1_DES3_EDE_CBC"));
    ck_assert(!g_hash_table_contains(names, "CKM_AES_CBC"));
    ck_assert(!g_hash_table_contains(names, "CKM_ECDSA"));
    ck_assert_uint_eq(p11mux_constant_glob(P11MUX_CONST_CKM, "CKM_AES_CB?", NULL, NULL), 1);
    ck_assert_uint_eq(p11mux_constant_glob(P11MUX_CONST_CKM, "CKM_NOTHING*", collect_name, names),
                      0);
    ck_assert_uint_eq(p11mux_constant_glob(P11MUX_CONST_CKM, "ckm_aes*", NULL, NULL), 0);
    /* the vendor base is never globbed; 3.2's CKA_VALIDATION_VENDOR_URI is */
    ck_assert_uint_eq(p11mux_constant_glob(P11MUX_CONST_CKA, "*VENDOR_DEFINED*", NULL, NULL), 0);
    ck_assert_uint_eq(p11mux_constant_glob(P11MUX_CONST_CKA, "*VENDOR*", NULL, NULL), 1);
}
END_TEST

/* An alias and its canonical name both match: the value is reported once. */
START_TEST(test_constants_glob_reports_each_value_once)
{
    g_autoptr(GHashTable) names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) alias = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint count;

    /* collect_name fails on a name seen twice */
    count = p11mux_constant_glob(P11MUX_CONST_CKM, "CKM_EC*_KEY_PAIR_GEN", collect_name, names);
    ck_assert_uint_eq(count, g_hash_table_size(names));
    ck_assert(g_hash_table_contains(names, "CKM_EC_KEY_PAIR_GEN"));
    ck_assert(!g_hash_table_contains(names, "CKM_ECDSA_KEY_PAIR_GEN"));
    count = p11mux_constant_glob(P11MUX_CONST_CKM, "CKM_ECDSA_KEY_PAIR_GEN", collect_name, alias);
    ck_assert_uint_eq(count, 1);
    ck_assert(g_hash_table_contains(alias, "CKM_EC_KEY_PAIR_GEN"));
}
END_TEST

START_TEST(test_constants_3_0_glob)
{
    g_autoptr(GHashTable) names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint count = p11mux_constant_glob(P11MUX_CONST_CKM, "CKM_SHA3_*", collect_name, names);

    ck_assert_uint_eq(count, g_hash_table_size(names));
    ck_assert(g_hash_table_contains(names, "CKM_SHA3_224"));
    ck_assert(g_hash_table_contains(names, "CKM_SHA3_512_HMAC_GENERAL"));
    ck_assert(g_hash_table_contains(names, "CKM_SHA3_256_RSA_PKCS"));
    ck_assert(!g_hash_table_contains(names, "CKM_SHA256"));
    ck_assert(!g_hash_table_contains(names, "CKM_DSA_SHA3_256"));
    ck_assert(!g_hash_table_contains(names, "CKM_SHAKE_128_KEY_DERIVATION"));
}
END_TEST

START_TEST(test_constants_flags_format)
{
    g_autofree char *session = p11mux_flags_format(P11MUX_FLAGS_SESSION_INFO,
                                                   CKF_RW_SESSION | CKF_SERIAL_SESSION);
    g_autofree char *none = p11mux_flags_format(P11MUX_FLAGS_TOKEN_INFO, 0);
    g_autofree char *slot = p11mux_flags_format(P11MUX_FLAGS_SLOT_INFO, CKF_TOKEN_PRESENT);
    g_autofree char *mech = p11mux_flags_format(P11MUX_FLAGS_MECHANISM_INFO,
                                                CKF_HW | CKF_SIGN | CKF_EXTENSION);

    ck_assert_str_eq(session, "CKF_RW_SESSION|CKF_SERIAL_SESSION");
    ck_assert_str_eq(none, "0");
    ck_assert_str_eq(slot, "CKF_TOKEN_PRESENT");
    ck_assert_str_eq(mech, "CKF_HW|CKF_SIGN|CKF_EXTENSION");
}
END_TEST

/* 3.0 renamed CKF_EC_NAMEDCURVE to CKF_EC_OID and added CKF_EC_CURVENAME. */
START_TEST(test_constants_flags_3_0_ec_names)
{
    g_autofree char *ec = p11mux_flags_format(
        P11MUX_FLAGS_MECHANISM_INFO, CKF_SIGN | CKF_EC_F_P | CKF_EC_OID | CKF_EC_CURVENAME);
    g_autofree char *bits = p11mux_flags_format(P11MUX_FLAGS_MECHANISM_INFO, 0x04800000UL);

    ck_assert_str_eq(ec, "CKF_SIGN|CKF_EC_F_P|CKF_EC_OID|CKF_EC_CURVENAME");
    ck_assert_str_eq(bits, "CKF_EC_OID|CKF_EC_CURVENAME");
}
END_TEST

/* The same bit means different things per field. */
START_TEST(test_constants_flags_depend_on_field)
{
    g_autofree char *token = p11mux_flags_format(P11MUX_FLAGS_TOKEN_INFO, 0x2);
    g_autofree char *session = p11mux_flags_format(P11MUX_FLAGS_SESSION_INFO, 0x2);
    g_autofree char *init = p11mux_flags_format(P11MUX_FLAGS_INIT_ARGS, 0x2);
    g_autofree char *wait = p11mux_flags_format(P11MUX_FLAGS_WAIT, 0x1);
    g_autofree char *message = p11mux_flags_format(P11MUX_FLAGS_MESSAGE, 0x1);
    g_autofree char *interface = p11mux_flags_format(P11MUX_FLAGS_INTERFACE, 0x1);

    ck_assert_str_eq(token, "CKF_WRITE_PROTECTED");
    ck_assert_str_eq(session, "CKF_RW_SESSION");
    ck_assert_str_eq(init, "CKF_OS_LOCKING_OK");
    ck_assert_str_eq(wait, "CKF_DONT_BLOCK");
    ck_assert_str_eq(message, "CKF_END_OF_MESSAGE");
    ck_assert_str_eq(interface, "CKF_INTERFACE_FORK_SAFE");
}
END_TEST

START_TEST(test_constants_flags_unknown_bits_appended)
{
    g_autofree char *session = p11mux_flags_format(P11MUX_FLAGS_SESSION_INFO,
                                                    CKF_SERIAL_SESSION | 0x80000010UL);
    g_autofree char *unknown = p11mux_flags_format(P11MUX_FLAGS_SLOT_INFO, 0x100);
    g_autofree char *wait = p11mux_flags_format(P11MUX_FLAGS_WAIT, 0x3);

    ck_assert_str_eq(session, "CKF_SERIAL_SESSION|0x80000010");
    ck_assert_str_eq(unknown, "0x100");
    ck_assert_str_eq(wait, "CKF_DONT_BLOCK|0x2");
}
END_TEST

static gboolean
in_flag_list(const P11muxConstant *list, gsize n, const P11muxConstant *flag)
{
    for (gsize i = 0; i < n; i++) {
        if (strcmp(list[i].name, flag->name) == 0) {
            ck_assert_uint_eq(list[i].value, flag->value);
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean
in_some_flag_list(const P11muxConstant *flag)
{
    for (guint kind = 0; kind < P11MUX_FLAGS_N_KINDS; kind++) {
        gsize n;
        const P11muxConstant *list = p11mux_flags_table(kind, &n);

        if (in_flag_list(list, n, flag)) {
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean
is_excluded_flag(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(ckf_not_structure_flags); i++) {
        if (strcmp(ckf_not_structure_flags[i], name) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

START_TEST(test_constants_no_ckf_forgotten)
{
    gsize n;
    const P11muxConstant *header = p11mux_flags_header_names(&n);

    ck_assert_uint_gt(n, 50);
    for (gsize i = 0; i < n; i++) {
        gboolean listed = in_some_flag_list(&header[i]);
        gboolean excluded = is_excluded_flag(header[i].name);

        ck_assert_msg(listed || excluded, "%s (0x%lx) is in no CKF_ list of constants.c",
                      header[i].name, header[i].value);
        ck_assert_msg(!(listed && excluded), "%s is listed and excluded", header[i].name);
    }
}
END_TEST

/* Each hand list: no bit named twice, every entry one or more bits. */
START_TEST(test_constants_flag_lists_well_formed)
{
    for (guint kind = 0; kind < P11MUX_FLAGS_N_KINDS; kind++) {
        gsize n;
        const P11muxConstant *list = p11mux_flags_table(kind, &n);
        CK_FLAGS seen = 0;

        ck_assert_uint_gt(n, 0);
        for (gsize i = 0; i < n; i++) {
            ck_assert_msg(list[i].value != 0, "%s is 0", list[i].name);
            ck_assert_msg((seen & list[i].value) == 0, "%s named twice", list[i].name);
            seen |= list[i].value;
        }
    }
}
END_TEST

static Suite *
constants_suite(void)
{
    Suite *suite = suite_create("constants");
    TCase *tables = tcase_create("tables");
    TCase *flags = tcase_create("flags");

    tcase_add_test(tables, test_constants_tables_sorted_by_value);
    tcase_add_test(tables, test_constants_rv_is_described_by_name_and_value);
    tcase_add_test(tables, test_constants_index_sorted_by_name);
    tcase_add_test(tables, test_constants_table_holds_canonical_names_only);
    tcase_add_test(tables, test_constants_round_trip);
    tcase_add_test(tables, test_constants_known_values);
    tcase_add_test(tables, test_constants_aliases_parse);
    tcase_add_test(tables, test_constants_aliases_print_current_name);
    tcase_add_test(tables, test_constants_3_0_names_and_values);
    tcase_add_test(tables, test_constants_3_0_other_fields_stay_out);
    tcase_add_test(tables, test_constants_3_0_aliases);
    tcase_add_test(tables, test_constants_3_2_names_and_values);
    tcase_add_test(tables, test_constants_3_2_other_fields_stay_out);
    tcase_add_test(tables, test_constants_unknown_value_prints_hex);
    tcase_add_test(tables, test_constants_vendor_range_says_vendor);
    tcase_add_test(tables, test_constants_rv_name);
    tcase_add_test(tables, test_constants_check_helper_describes_rv);
    tcase_add_test(tables, test_constants_glob);
    tcase_add_test(tables, test_constants_glob_reports_each_value_once);
    tcase_add_test(tables, test_constants_3_0_glob);
    suite_add_tcase(suite, tables);
    tcase_add_test(flags, test_constants_flags_format);
    tcase_add_test(flags, test_constants_flags_3_0_ec_names);
    tcase_add_test(flags, test_constants_flags_3_2);
    tcase_add_test(flags, test_constants_flags_depend_on_field);
    tcase_add_test(flags, test_constants_flags_unknown_bits_appended);
    tcase_add_test(flags, test_constants_no_ckf_forgotten);
    tcase_add_test(flags, test_constants_flag_lists_well_formed);
    suite_add_tcase(suite, flags);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(constants_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
