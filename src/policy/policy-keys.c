/*
 * Key sizes: the families min-key-bits names, the size of a key from a
 * template or from attributes read from the key, and the curves.
 */
#include "config.h"

#include <string.h>

#include "constants.h"
#include "policy-keys.h"

typedef enum {
    SIZE_MODULUS, /* CKA_MODULUS_BITS, else 8 * length of CKA_MODULUS */
    SIZE_PRIME,   /* CKA_PRIME_BITS, else 8 * length of CKA_PRIME */
    SIZE_CURVE,   /* the curve CKA_EC_PARAMS names */
    SIZE_VALUE,   /* 8 * CKA_VALUE_LEN, else 8 * length of CKA_VALUE */
    SIZE_PARAMETER_SET, /* the number in the name of CKA_PARAMETER_SET's set */
} SizeSource;

/* A family sized by parameter set: the number in each set's name, indexed
 * by the CKP_ value (0 for none: the values start at 1). */
#define MAX_PARAMETER_SETS 13

typedef struct {
    const char *name;
    CK_KEY_TYPE type;
    SizeSource source;
    const CK_ULONG *sets; /* SIZE_PARAMETER_SET: MAX_PARAMETER_SETS entries */
} Family;

/* CKP_ML_KEM_512 (1), CKP_ML_KEM_768, CKP_ML_KEM_1024 */
static const CK_ULONG ml_kem_sets[MAX_PARAMETER_SETS] = {0, 512, 768, 1024};
/* CKP_ML_DSA_44 (1), CKP_ML_DSA_65, CKP_ML_DSA_87 */
static const CK_ULONG ml_dsa_sets[MAX_PARAMETER_SETS] = {0, 44, 65, 87};
/* CKP_SLH_DSA_SHA2_128S (1) ... CKP_SLH_DSA_SHAKE_256F (12): four of each size */
static const CK_ULONG slh_dsa_sets[MAX_PARAMETER_SETS] = {0,   128, 128, 128, 128, 192, 192,
                                                          192, 192, 256, 256, 256, 256};

/* Indexed by P11muxKeyFamily. */
static const Family families[P11MUX_KEY_N_FAMILIES] = {
    [P11MUX_KEY_RSA] = {"rsa", CKK_RSA, SIZE_MODULUS},
    [P11MUX_KEY_DSA] = {"dsa", CKK_DSA, SIZE_PRIME},
    [P11MUX_KEY_DH] = {"dh", CKK_DH, SIZE_PRIME},
    [P11MUX_KEY_EC] = {"ec", CKK_EC, SIZE_CURVE},
    [P11MUX_KEY_EC_EDWARDS] = {"ec-edwards", CKK_EC_EDWARDS, SIZE_CURVE},
    [P11MUX_KEY_EC_MONTGOMERY] = {"ec-montgomery", CKK_EC_MONTGOMERY, SIZE_CURVE},
    [P11MUX_KEY_AES] = {"aes", CKK_AES, SIZE_VALUE},
    /* XTS keys are two AES keys: their size is the whole value (256 or 512) */
    [P11MUX_KEY_AES_XTS] = {"aes-xts", CKK_AES_XTS, SIZE_VALUE},
    [P11MUX_KEY_GENERIC] = {"generic", CKK_GENERIC_SECRET, SIZE_VALUE},
    [P11MUX_KEY_CAMELLIA] = {"camellia", CKK_CAMELLIA, SIZE_VALUE},
    [P11MUX_KEY_ARIA] = {"aria", CKK_ARIA, SIZE_VALUE},
    [P11MUX_KEY_ML_KEM] = {"ml-kem", CKK_ML_KEM, SIZE_PARAMETER_SET, ml_kem_sets},
    [P11MUX_KEY_ML_DSA] = {"ml-dsa", CKK_ML_DSA, SIZE_PARAMETER_SET, ml_dsa_sets},
    [P11MUX_KEY_SLH_DSA] = {"slh-dsa", CKK_SLH_DSA, SIZE_PARAMETER_SET, slh_dsa_sets},
};

/* Mechanisms whose keys belong to a family, by glob over the CKM_ names;
 * in_bytes: CK_MECHANISM_INFO gives their key sizes in bytes. */
typedef struct {
    const char *glob;
    P11muxKeyFamily family;
    gboolean in_bytes;
} MechanismFamily;

static const MechanismFamily mechanism_families[] = {
    {"CKM_RSA_*", P11MUX_KEY_RSA, FALSE},
    {"CKM_*_RSA_*", P11MUX_KEY_RSA, FALSE},
    {"CKM_DSA*", P11MUX_KEY_DSA, FALSE},
    {"CKM_DH_PKCS_*", P11MUX_KEY_DH, FALSE},
    {"CKM_X9_42_DH_*", P11MUX_KEY_DH, FALSE},
    {"CKM_EC_KEY_PAIR_GEN", P11MUX_KEY_EC, FALSE},
    {"CKM_ECDSA*", P11MUX_KEY_EC, FALSE},
    {"CKM_ECDH*", P11MUX_KEY_EC, FALSE},
    {"CKM_ECMQV_*", P11MUX_KEY_EC, FALSE},
    {"CKM_EC_EDWARDS_KEY_PAIR_GEN", P11MUX_KEY_EC_EDWARDS, FALSE},
    {"CKM_EDDSA", P11MUX_KEY_EC_EDWARDS, FALSE},
    {"CKM_EC_MONTGOMERY_KEY_PAIR_GEN", P11MUX_KEY_EC_MONTGOMERY, FALSE},
    {"CKM_AES_XTS*", P11MUX_KEY_AES_XTS, TRUE}, /* before CKM_AES_*: first match wins */
    {"CKM_AES_*", P11MUX_KEY_AES, TRUE},
    {"CKM_GENERIC_SECRET_KEY_GEN", P11MUX_KEY_GENERIC, FALSE},
    {"CKM_CAMELLIA_*", P11MUX_KEY_CAMELLIA, TRUE},
    {"CKM_ARIA_*", P11MUX_KEY_ARIA, TRUE},
    {"CKM_ML_KEM*", P11MUX_KEY_ML_KEM, FALSE},
    {"CKM_ML_DSA*", P11MUX_KEY_ML_DSA, FALSE},
    {"CKM_HASH_ML_DSA*", P11MUX_KEY_ML_DSA, FALSE},
    {"CKM_SLH_DSA*", P11MUX_KEY_SLH_DSA, FALSE},
    {"CKM_HASH_SLH_DSA*", P11MUX_KEY_SLH_DSA, FALSE},
};

const char *
p11mux_key_family_name(P11muxKeyFamily family)
{
    g_return_val_if_fail(family < P11MUX_KEY_N_FAMILIES, NULL);
    return families[family].name;
}

P11muxKeyFamily
p11mux_key_family_of_type(CK_KEY_TYPE type)
{
    guint i;

    for (i = 0; i < P11MUX_KEY_N_FAMILIES; i++) {
        if (families[i].type == type) {
            return (P11muxKeyFamily)i;
        }
    }
    return P11MUX_KEY_NONE;
}

typedef struct {
    GHashTable *table;
    guint row;
} TableBuilder;

/* value: row + 1, so that no entry is NULL */
static void
add_mechanism(CK_ULONG value, G_GNUC_UNUSED const char *name, gpointer user_data)
{
    TableBuilder *builder = user_data;
    gpointer key = GSIZE_TO_POINTER((gsize)value);

    if (!g_hash_table_contains(builder->table, key)) {
        g_hash_table_insert(builder->table, key, GUINT_TO_POINTER(builder->row + 1));
    }
}

/* mechanism -> row of mechanism_families + 1; built once, never freed. */
static GHashTable *
mechanism_family_table(void)
{
    static gsize once = 0;

    if (g_once_init_enter(&once)) {
        TableBuilder builder = {g_hash_table_new(g_direct_hash, g_direct_equal), 0};

        for (builder.row = 0; builder.row < G_N_ELEMENTS(mechanism_families); builder.row++) {
            p11mux_constant_glob(P11MUX_CONST_CKM, mechanism_families[builder.row].glob,
                                 add_mechanism, &builder);
        }
        g_once_init_leave(&once, (gsize)builder.table);
    }
    return (GHashTable *)once;
}

P11muxKeyFamily
p11mux_key_family_of_mechanism(CK_MECHANISM_TYPE type, gboolean *in_bytes)
{
    guint row = GPOINTER_TO_UINT(
        g_hash_table_lookup(mechanism_family_table(), GSIZE_TO_POINTER((gsize)type)));

    *in_bytes = FALSE;
    if (row == 0) {
        return P11MUX_KEY_NONE;
    }
    *in_bytes = mechanism_families[row - 1].in_bytes;
    return mechanism_families[row - 1].family;
}

static gboolean
family_by_name(const char *name, P11muxKeyFamily *family)
{
    guint i;

    for (i = 0; i < P11MUX_KEY_N_FAMILIES; i++) {
        if (g_str_equal(families[i].name, name)) {
            *family = (P11muxKeyFamily)i;
            return TRUE;
        }
    }
    return FALSE;
}

/* "rsa, dsa, ... or aria" (transfer full) */
static char *
family_names(void)
{
    GString *text = g_string_new(families[0].name);
    guint i;

    for (i = 1; i < P11MUX_KEY_N_FAMILIES; i++) {
        g_string_append(text, i + 1 < P11MUX_KEY_N_FAMILIES ? ", " : " or ");
        g_string_append(text, families[i].name);
    }
    return g_string_free(text, FALSE);
}

gboolean
p11mux_key_family_by_parameter_set(P11muxKeyFamily family)
{
    g_return_val_if_fail(family < P11MUX_KEY_N_FAMILIES, FALSE);
    return families[family].source == SIZE_PARAMETER_SET;
}

/* "512, 768 or 1024": the sizes of family's parameter sets (transfer full). */
static char *
set_sizes(const Family *family)
{
    CK_ULONG sizes[MAX_PARAMETER_SETS];
    GString *text = g_string_new(NULL);
    guint i, n = 0;

    for (i = 1; i < MAX_PARAMETER_SETS; i++) {
        if (family->sets[i] != 0 && (n == 0 || sizes[n - 1] != family->sets[i])) {
            sizes[n++] = family->sets[i];
        }
    }
    for (i = 0; i < n; i++) {
        g_string_append_printf(text, "%s%lu", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                               (unsigned long)sizes[i]);
    }
    return g_string_free(text, FALSE);
}

/* Whether number names one of family's parameter sets. */
static gboolean
names_a_set(const Family *family, CK_ULONG number)
{
    guint i;

    for (i = 1; i < MAX_PARAMETER_SETS; i++) {
        if (family->sets[i] == number) {
            return TRUE;
        }
    }
    return FALSE;
}

char *
p11mux_key_parse_min(const char *item, P11muxKeyFamily *family, CK_ULONG *bits)
{
    g_auto(GStrv) parts = g_strsplit(item, ":", 2);
    g_autofree char *known = NULL;
    guint64 number;

    if (parts[0] == NULL || parts[1] == NULL) {
        return g_strdup_printf("min-key-bits item '%s' is not FAMILY:BITS", item);
    }
    if (!family_by_name(parts[0], family)) {
        known = family_names();
        return g_strdup_printf("min-key-bits item '%s': unknown key family '%s' (known: %s)", item,
                               parts[0], known);
    }
    if (families[*family].source == SIZE_PARAMETER_SET) {
        if (!g_ascii_string_to_unsigned(parts[1], 10, 1, 1u << 20, &number, NULL) ||
            !names_a_set(&families[*family], (CK_ULONG)number)) {
            known = set_sizes(&families[*family]);
            return g_strdup_printf("min-key-bits item '%s': the %s parameter sets are %s", item,
                                   parts[0], known);
        }
        *bits = (CK_ULONG)number;
        return NULL;
    }
    if (!g_ascii_string_to_unsigned(parts[1], 10, 1, 1u << 20, &number, NULL)) {
        return g_strdup_printf("min-key-bits item '%s': '%s' is not a number of bits from 1 to %u",
                               item, parts[1], 1u << 20);
    }
    *bits = (CK_ULONG)number;
    return NULL;
}

/* ---------------------------------------------------------------- curves */

typedef struct {
    const char *der; /* the whole DER encoding */
    gsize len;
    CK_ULONG bits;
} Curve;

#define OID(bytes) bytes, sizeof(bytes) - 1
/* clang-format off */
static const Curve curves[] = {
    { OID("\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x01"), 192 },    /* prime192v1 */
    { OID("\x06\x05\x2b\x81\x04\x00\x21"), 224 },                /* secp224r1 */
    { OID("\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07"), 256 },    /* prime256v1, P-256 */
    { OID("\x06\x05\x2b\x81\x04\x00\x22"), 384 },                /* secp384r1, P-384 */
    { OID("\x06\x05\x2b\x81\x04\x00\x23"), 521 },                /* secp521r1, P-521 */
    { OID("\x06\x05\x2b\x81\x04\x00\x0a"), 256 },                /* secp256k1 */
    { OID("\x06\x09\x2b\x24\x03\x03\x02\x08\x01\x01\x03"), 192 }, /* brainpoolP192r1 */
    { OID("\x06\x09\x2b\x24\x03\x03\x02\x08\x01\x01\x05"), 224 }, /* brainpoolP224r1 */
    { OID("\x06\x09\x2b\x24\x03\x03\x02\x08\x01\x01\x07"), 256 }, /* brainpoolP256r1 */
    { OID("\x06\x09\x2b\x24\x03\x03\x02\x08\x01\x01\x09"), 320 }, /* brainpoolP320r1 */
    { OID("\x06\x09\x2b\x24\x03\x03\x02\x08\x01\x01\x0b"), 384 }, /* brainpoolP384r1 */
    { OID("\x06\x09\x2b\x24\x03\x03\x02\x08\x01\x01\x0d"), 512 }, /* brainpoolP512r1 */
    { OID("\x06\x03\x2b\x65\x70"), 255 },                        /* Ed25519 */
    { OID("\x06\x03\x2b\x65\x71"), 448 },                        /* Ed448 */
    { OID("\x06\x03\x2b\x65\x6e"), 255 },                        /* X25519 */
    { OID("\x06\x03\x2b\x65\x6f"), 448 },                        /* X448 */
    { OID("\x13\x0c" "edwards25519"), 255 },
    { OID("\x13\x0a" "edwards448"), 448 },
    { OID("\x13\x0a" "curve25519"), 255 },
    { OID("\x13\x08" "curve448"), 448 },
};
/* clang-format on */
#undef OID

CK_ULONG
p11mux_key_curve_bits(const guint8 *der, gsize len)
{
    gsize i;

    if (der == NULL) {
        return 0;
    }
    for (i = 0; i < G_N_ELEMENTS(curves); i++) {
        if (curves[i].len == len && memcmp(curves[i].der, der, len) == 0) {
            return curves[i].bits;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ key sizes */

const CK_ATTRIBUTE *
p11mux_template_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
    CK_ULONG i;

    for (i = 0; tmpl != NULL && i < n; i++) {
        if (tmpl[i].type == type && tmpl[i].ulValueLen != CK_UNAVAILABLE_INFORMATION) {
            return &tmpl[i];
        }
    }
    return NULL;
}

gboolean
p11mux_template_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_ULONG *out)
{
    const CK_ATTRIBUTE *attr = p11mux_template_find(tmpl, n, type);

    if (attr == NULL || attr->pValue == NULL || attr->ulValueLen != sizeof(CK_ULONG)) {
        return FALSE;
    }
    memcpy(out, attr->pValue, sizeof(CK_ULONG));
    return TRUE;
}

gboolean
p11mux_template_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_BBOOL *out)
{
    const CK_ATTRIBUTE *attr = p11mux_template_find(tmpl, n, type);

    if (attr == NULL || attr->pValue == NULL || attr->ulValueLen != sizeof(CK_BBOOL)) {
        return FALSE;
    }
    *out = *(const CK_BBOOL *)attr->pValue != CK_FALSE;
    return TRUE;
}

/* bits_type as a number of bits, else 8 * the length of length_type. */
static CK_ULONG
bits_or_length(const CK_ATTRIBUTE *attrs, CK_ULONG n, CK_ATTRIBUTE_TYPE bits_type,
               CK_ATTRIBUTE_TYPE length_type, CK_ULONG unit)
{
    const CK_ATTRIBUTE *attr;
    CK_ULONG number;

    if (p11mux_template_ulong(attrs, n, bits_type, &number) && number < G_MAXULONG / unit) {
        return number * unit;
    }
    attr = p11mux_template_find(attrs, n, length_type);
    if (attr != NULL && attr->ulValueLen < G_MAXULONG / 8) {
        return attr->ulValueLen * 8;
    }
    return 0;
}

CK_ULONG
p11mux_key_bits(P11muxKeyFamily family, const CK_ATTRIBUTE *attrs, CK_ULONG n)
{
    const CK_ATTRIBUTE *attr;
    CK_ULONG set;

    g_return_val_if_fail(family < P11MUX_KEY_N_FAMILIES, 0);

    switch (families[family].source) {
    case SIZE_MODULUS:
        return bits_or_length(attrs, n, CKA_MODULUS_BITS, CKA_MODULUS, 1);
    case SIZE_PRIME:
        return bits_or_length(attrs, n, CKA_PRIME_BITS, CKA_PRIME, 1);
    case SIZE_VALUE:
        return bits_or_length(attrs, n, CKA_VALUE_LEN, CKA_VALUE, 8);
    case SIZE_CURVE:
        attr = p11mux_template_find(attrs, n, CKA_EC_PARAMS);
        return attr != NULL ? p11mux_key_curve_bits(attr->pValue, attr->ulValueLen) : 0;
    case SIZE_PARAMETER_SET:
        if (p11mux_template_ulong(attrs, n, CKA_PARAMETER_SET, &set) && set < MAX_PARAMETER_SETS) {
            return families[family].sets[set];
        }
        return 0;
    }
    return 0;
}
