/*
 * The mechanism index and the one walker over parameter layouts (see
 * mech-params.h; the layouts are generated from src/mechanism-params.tab).
 *
 * The walker reads the caller's memory only where a layout says a field is:
 * every length is checked against the layout before a byte is read, every
 * field is read with memcpy (a caller's structure need not be aligned), and
 * it never follows a data pointer.  It allocates nothing itself: a copying
 * walk takes its memory from the visitor.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mech-params.h"

/* ------------------------------------------------------------ the index */

static int
compare_params(const void *a, const void *b)
{
    const P11muxMechParams *x = a, *y = b;

    if (x->vendor != y->vendor) {
        return x->vendor < y->vendor ? -1 : 1;
    }
    return x->type < y->type ? -1 : x->type > y->type;
}

static const P11muxMechParams *
sorted_index(void)
{
    static gsize once = 0;

    if (g_once_init_enter(&once)) {
        qsort(p11mux_mech_params, p11mux_n_mech_params, sizeof(P11muxMechParams),
              compare_params);
        g_once_init_leave(&once, 1);
    }
    return p11mux_mech_params;
}

const P11muxMechParams *
p11mux_mech_params_lookup(CK_MECHANISM_TYPE type, guint vendor)
{
    const P11muxMechParams *index = sorted_index();
    P11muxMechParams key = {type, vendor, P11MUX_PARAM_NONE, NULL, NULL};
    const P11muxMechParams *found = NULL;

    if (vendor != 0) {
        found = bsearch(&key, index, p11mux_n_mech_params, sizeof key, compare_params);
    }
    if (found == NULL && type < CKM_VENDOR_DEFINED) {
        key.vendor = 0;
        found = bsearch(&key, index, p11mux_n_mech_params, sizeof key, compare_params);
    }
    return found;
}

guint
p11mux_param_vendor_of(const CK_UTF8CHAR manufacturer[32])
{
    gsize len = 32;
    guint i;

    while (len > 0 && (manufacturer[len - 1] == ' ' || manufacturer[len - 1] == '\0')) {
        len--;
    }
    for (i = 0; p11mux_param_vendors[i] != NULL; i++) {
        if (strlen(p11mux_param_vendors[i]) == len &&
            memcmp(p11mux_param_vendors[i], manufacturer, len) == 0) {
            return i + 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ selectors */

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

/* The hash value stands for (0: none) in table; FALSE when not in it. */
static gboolean
lookup_named(const Named *table, gsize n, CK_ULONG value, CK_MECHANISM_TYPE *hash)
{
    gsize i;

    for (i = 0; i < n; i++) {
        if (table[i].value == value) {
            *hash = table[i].hash;
            return TRUE;
        }
    }
    return FALSE;
}

/* ------------------------------------------------------------- walking */

typedef struct {
    const P11muxParamVisitor *visitor;
    gpointer ctx;
} Walk;

static CK_ULONG
read_ulong(const guint8 *base, const P11muxParamField *field)
{
    CK_ULONG value = 0;

    if (field->width == 1) {
        return base[field->offset];
    }
    memcpy(&value, base + field->offset, sizeof value);
    return value;
}

static void *
read_pointer(const guint8 *base, const P11muxParamField *field)
{
    void *pointer;

    memcpy(&pointer, base + field->offset, sizeof pointer);
    return pointer;
}

static void
write_pointer(guint8 *base, const P11muxParamField *field, const void *pointer)
{
    memcpy(base + field->offset, &pointer, sizeof pointer);
}

/* The count a field's ref names. */
static CK_ULONG
ref_value(const P11muxParamLayout *layout, const guint8 *base, const P11muxParamField *field)
{
    return field->ref >= 0 ? read_ulong(base, &layout->fields[field->ref]) : 0;
}

static CK_RV walk_struct(const Walk *walk, const P11muxParamLayout *layout, const guint8 *in,
                         guint8 *copy, guint depth);

static CK_RV
report_algorithm(const Walk *walk, CK_MECHANISM_TYPE type)
{
    return walk->visitor->algorithm != NULL ? walk->visitor->algorithm(walk->ctx, type) : CKR_OK;
}

static CK_RV
selector(const Walk *walk, const P11muxParamField *field, CK_ULONG value)
{
    CK_MECHANISM_TYPE hash = 0;
    gboolean known = TRUE;

    switch (field->role) {
    case P11MUX_FIELD_HASH:
        return report_algorithm(walk, value);
    case P11MUX_FIELD_MGF:
        known = lookup_named(mgfs, G_N_ELEMENTS(mgfs), value, &hash);
        break;
    case P11MUX_FIELD_KDF:
        known = lookup_named(kdfs, G_N_ELEMENTS(kdfs), value, &hash);
        break;
    default:
        known = lookup_named(pbkdf2_prfs, G_N_ELEMENTS(pbkdf2_prfs), value, &hash);
        break;
    }
    if (!known) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    return hash != 0 ? report_algorithm(walk, hash) : CKR_OK;
}

/* A conditional key is used when its condition field says so. */
static gboolean
key_is_used(const P11muxParamLayout *layout, const guint8 *in, const P11muxParamField *field)
{
    if (field->ref < 0) {
        return TRUE;
    }
    if (field->has_cond_value) {
        return ref_value(layout, in, field) == field->cond_value;
    }
    return ref_value(layout, in, field) != 0;
}

static CK_RV
key(const Walk *walk, const P11muxParamLayout *layout, const guint8 *in,
    const P11muxParamField *field)
{
    if (!key_is_used(layout, in, field) || walk->visitor->key == NULL) {
        return CKR_OK;
    }
    return walk->visitor->key(walk->ctx, read_ulong(in, field));
}

static CK_RV
template_field(const Walk *walk, const P11muxParamLayout *layout, const guint8 *in, guint8 *copy,
               const P11muxParamField *field)
{
    CK_ATTRIBUTE_PTR tmpl = read_pointer(in, field);
    CK_ULONG count = ref_value(layout, in, field);
    CK_RV rv;

    if (tmpl == NULL && count > 0) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    if (walk->visitor->tmpl == NULL) {
        return CKR_OK;
    }
    rv = walk->visitor->tmpl(walk->ctx, &tmpl, &count);
    if (rv == CKR_OK && copy != NULL) {
        const P11muxParamField *count_field = &layout->fields[field->ref];

        write_pointer(copy, field, tmpl);
        memcpy(copy + count_field->offset, &count, sizeof count);
    }
    return rv;
}

static CK_RV
key_out(const Walk *walk, const guint8 *in, const P11muxParamField *field)
{
    CK_OBJECT_HANDLE *where = field->role == P11MUX_FIELD_KEY_OUT_PTR
                                  ? read_pointer(in, field)
                                  : (CK_OBJECT_HANDLE *)(in + field->offset);

    if (where == NULL) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    return walk->visitor->key_out != NULL ? walk->visitor->key_out(walk->ctx, where) : CKR_OK;
}

/* count structures of layout at in (a pointer from a field), walked and,
 * in a copying walk, copied: *out is the copy. */
static CK_RV
nested(const Walk *walk, const P11muxParamLayout *layout, const guint8 *in, CK_ULONG count,
       guint depth, void **out)
{
    guint8 *copy = NULL;
    CK_RV rv = CKR_OK;
    CK_ULONG i;

    if (in == NULL) {
        return count == 0 ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
    }
    if (count > P11MUX_PARAM_MAX_ARRAY || depth >= P11MUX_PARAM_MAX_DEPTH) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    if (walk->visitor->alloc != NULL && count > 0) {
        copy = walk->visitor->alloc(walk->ctx, count * layout->size);
        if (copy == NULL) {
            return CKR_HOST_MEMORY;
        }
        memcpy(copy, in, count * layout->size);
        *out = copy;
    }
    for (i = 0; rv == CKR_OK && i < count; i++) {
        rv = walk_struct(walk, layout, in + i * layout->size,
                         copy != NULL ? copy + i * layout->size : NULL, depth + 1);
    }
    return rv;
}

/* A pointer field to nested structures: required (struct, struct-out) or
 * counted (array). */
static CK_RV
pointer_field(const Walk *walk, const P11muxParamLayout *layout, const guint8 *in, guint8 *copy,
              const P11muxParamField *field, guint depth)
{
    const guint8 *target = read_pointer(in, field);
    CK_ULONG count = field->role == P11MUX_FIELD_ARRAY ? ref_value(layout, in, field) : 1;
    void *target_copy = NULL;
    CK_RV rv;

    if (field->role == P11MUX_FIELD_STRUCT_OUT) {
        /* filled by the backend: only its new keys matter, after the call */
        if (target == NULL) {
            return CKR_MECHANISM_PARAM_INVALID;
        }
        return walk->visitor->key_out != NULL
                   ? walk_struct(&(Walk){&(P11muxParamVisitor){.key_out = walk->visitor->key_out},
                                         walk->ctx},
                                 field->layout, target, NULL, depth + 1)
                   : CKR_OK;
    }
    if (target == NULL && field->role == P11MUX_FIELD_STRUCT) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    rv = nested(walk, field->layout, target, count, depth, &target_copy);
    if (rv == CKR_OK && copy != NULL && target_copy != NULL) {
        write_pointer(copy, field, target_copy);
    }
    return rv;
}

static CK_RV
walk_field(const Walk *walk, const P11muxParamLayout *layout, const guint8 *in, guint8 *copy,
           const P11muxParamField *field, guint depth)
{
    switch (field->role) {
    case P11MUX_FIELD_VALUE:
    case P11MUX_FIELD_LEN:
        return CKR_OK;
    case P11MUX_FIELD_BYTES:
        return read_pointer(in, field) == NULL && ref_value(layout, in, field) > 0
                   ? CKR_MECHANISM_PARAM_INVALID
                   : CKR_OK;
    case P11MUX_FIELD_HASH:
    case P11MUX_FIELD_MGF:
    case P11MUX_FIELD_KDF:
    case P11MUX_FIELD_PBKDF2_PRF:
        return selector(walk, field, read_ulong(in, field));
    case P11MUX_FIELD_KEY:
        return key(walk, layout, in, field);
    case P11MUX_FIELD_KEY_OUT:
    case P11MUX_FIELD_KEY_OUT_PTR:
        return key_out(walk, in, field);
    case P11MUX_FIELD_TEMPLATE:
        return template_field(walk, layout, in, copy, field);
    case P11MUX_FIELD_STRUCT:
    case P11MUX_FIELD_STRUCT_OUT:
    case P11MUX_FIELD_ARRAY:
        return pointer_field(walk, layout, in, copy, field, depth);
    case P11MUX_FIELD_INLINE:
        return walk_struct(walk, field->layout, in + field->offset,
                           copy != NULL ? copy + field->offset : NULL, depth + 1);
    }
    return CKR_MECHANISM_PARAM_INVALID;
}

static CK_RV
walk_struct(const Walk *walk, const P11muxParamLayout *layout, const guint8 *in, guint8 *copy,
            guint depth)
{
    CK_RV rv = CKR_OK;
    gsize i;

    if (depth > P11MUX_PARAM_MAX_DEPTH) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    for (i = 0; rv == CKR_OK && i < layout->n_fields; i++) {
        rv = walk_field(walk, layout, in, copy, &layout->fields[i], depth);
    }
    return rv;
}

CK_RV
p11mux_mech_params_walk(const P11muxMechParams *params, const CK_MECHANISM *mechanism,
                        const P11muxParamVisitor *visitor, gpointer ctx, void **copy)
{
    const Walk walk = {visitor, ctx};
    const P11muxParamLayout *layout = params->layout;
    void *top = NULL;
    CK_RV rv;

    g_return_val_if_fail(params->klass != P11MUX_PARAM_OPAQUE, CKR_GENERAL_ERROR);

    switch (params->klass) {
    case P11MUX_PARAM_NONE:
        return mechanism->ulParameterLen == 0 ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
    case P11MUX_PARAM_BYTES:
        return mechanism->pParameter == NULL && mechanism->ulParameterLen > 0
                   ? CKR_MECHANISM_PARAM_INVALID
                   : CKR_OK;
    case P11MUX_PARAM_STRUCT_OR_NONE:
        if (mechanism->ulParameterLen == 0) {
            return CKR_OK;
        }
        break;
    default:
        break;
    }
    if (mechanism->pParameter == NULL || mechanism->ulParameterLen != layout->size) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    rv = nested(&walk, layout, mechanism->pParameter, 1, 0, &top);
    if (rv == CKR_OK && copy != NULL && top != NULL) {
        *copy = top;
    }
    return rv;
}
