/*
 * The mechanism index and the one walker over parameter layouts (see
 * mech-params.h; the layouts are generated from src/pkcs11/mechanism-params.tab).
 *
 * The walker reads the caller's memory only where a layout says a field is:
 * every length is checked against the layout before a byte is read, every
 * field is read with memcpy (a caller's structure need not be aligned), and
 * it never follows a data pointer.  It allocates nothing itself: a copying
 * walk takes its memory from the visitor.
 */
#include "config.h"

#include <string.h>

#include "mech-params.h"

/* ------------------------------------------------------------ the index */

/*
 * An open-addressing hash of (vendor, type) built once: a lookup is a
 * multiply, a shift and, almost always, one comparison (every *Init under a
 * policy asks it at least twice).  INDEX_SIZE is a power of two at least
 * twice the table's entries (checked when it is built).
 */
#define INDEX_SIZE 2048u

static const P11muxMechParams *index_slots[INDEX_SIZE];

static guint
index_hash(CK_MECHANISM_TYPE type, guint vendor)
{
    guint64 key = ((guint64)type << 4) ^ vendor;

    return (guint)((key * G_GUINT64_CONSTANT(0x9e3779b97f4a7c15)) >> 53) & (INDEX_SIZE - 1);
}

static void
index_build(void)
{
    gsize i;
    guint h;

    g_assert(p11mux_n_mech_params * 2 <= INDEX_SIZE);
    for (i = 0; i < p11mux_n_mech_params; i++) {
        const P11muxMechParams *entry = &p11mux_mech_params[i];

        for (h = index_hash(entry->type, entry->vendor); index_slots[h] != NULL;
             h = (h + 1) & (INDEX_SIZE - 1)) {
        }
        index_slots[h] = entry;
    }
}

static const P11muxMechParams *
index_find(CK_MECHANISM_TYPE type, guint vendor)
{
    const P11muxMechParams *entry;
    guint h;

    for (h = index_hash(type, vendor); (entry = index_slots[h]) != NULL;
         h = (h + 1) & (INDEX_SIZE - 1)) {
        if (entry->type == type && entry->vendor == vendor) {
            return entry;
        }
    }
    return NULL;
}

const P11muxMechParams *
p11mux_mech_params_lookup(CK_MECHANISM_TYPE type, guint vendor)
{
    static gsize built = 0;
    if (g_once_init_enter(&built)) {
        index_build();
        g_once_init_leave(&built, 1);
    }
    /* a vendor's own values are in its range; the rest are everyone's */
    if (type >= CKM_VENDOR_DEFINED) {
        return vendor != 0 ? index_find(type, vendor) : NULL;
    }
    return index_find(type, 0);
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

/* The helpers the generated walkers (p11mux-params.c) call for the fields
 * that have a rule; a field without one costs nothing. */
struct P11muxParamWalk {
    const P11muxParamVisitor *visitor;
    gpointer ctx;
};

CK_RV
p11mux_param_algorithm(const P11muxParamWalk *walk, CK_MECHANISM_TYPE type)
{
    return walk->visitor->algorithm != NULL ? walk->visitor->algorithm(walk->ctx, type) : CKR_OK;
}

CK_RV
p11mux_param_selector(const P11muxParamWalk *walk, P11muxFieldRole role, CK_ULONG value)
{
    CK_MECHANISM_TYPE hash = 0;
    gboolean known;

    switch (role) {
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
    return hash != 0 ? p11mux_param_algorithm(walk, hash) : CKR_OK;
}

CK_RV
p11mux_param_key(const P11muxParamWalk *walk, CK_OBJECT_HANDLE handle)
{
    return walk->visitor->key != NULL ? walk->visitor->key(walk->ctx, handle) : CKR_OK;
}

CK_RV
p11mux_param_key_at(const P11muxParamWalk *walk, const void *where, CK_ULONG len)
{
    CK_OBJECT_HANDLE handle;

    if (where == NULL || len != sizeof handle) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    memcpy(&handle, where, sizeof handle);
    return p11mux_param_key(walk, handle);
}

CK_RV
p11mux_param_key_out(const P11muxParamWalk *walk, CK_OBJECT_HANDLE *where)
{
    if (where == NULL) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    return walk->visitor->key_out != NULL ? walk->visitor->key_out(walk->ctx, where) : CKR_OK;
}

CK_RV
p11mux_param_template(const P11muxParamWalk *walk, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                      guint8 *copy_tmpl, guint8 *copy_count)
{
    CK_RV rv;

    if (tmpl == NULL && count > 0) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    if (walk->visitor->tmpl == NULL) {
        return CKR_OK;
    }
    rv = walk->visitor->tmpl(walk->ctx, &tmpl, &count);
    if (rv == CKR_OK && copy_tmpl != NULL) {
        memcpy(copy_tmpl, &tmpl, sizeof tmpl);
        memcpy(copy_count, &count, sizeof count);
    }
    return rv;
}

CK_RV
p11mux_param_nested(const P11muxParamWalk *walk, const P11muxParamLayout *layout, const void *in,
                    CK_ULONG count, gboolean required, guint depth, guint8 *copy_pointer)
{
    const guint8 *from = in;
    guint8 *copy = NULL;
    CK_RV rv = CKR_OK;
    CK_ULONG i;

    if (in == NULL) {
        return required || count > 0 ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
    }
    if (count == 1 && walk->visitor->alloc == NULL && depth < P11MUX_PARAM_MAX_DEPTH) {
        return layout->walk(walk, from, NULL, depth + 1);
    }
    if (count > P11MUX_PARAM_MAX_ARRAY || depth >= P11MUX_PARAM_MAX_DEPTH) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    if (walk->visitor->alloc != NULL && count > 0) {
        copy = walk->visitor->alloc(walk->ctx, count * layout->size);
        if (copy == NULL) {
            return CKR_HOST_MEMORY;
        }
        memcpy(copy, from, count * layout->size);
        if (copy_pointer != NULL) {
            memcpy(copy_pointer, &copy, sizeof copy);
        }
    }
    for (i = 0; rv == CKR_OK && i < count; i++) {
        rv = layout->walk(walk, from + i * layout->size,
                          copy != NULL ? copy + i * layout->size : NULL, depth + 1);
    }
    return rv;
}

CK_RV
p11mux_param_struct_out(const P11muxParamWalk *walk, const P11muxParamLayout *layout,
                        const void *in, guint depth)
{
    const P11muxParamVisitor outputs = {.key_out = walk->visitor->key_out};
    const P11muxParamWalk only_outputs = {&outputs, walk->ctx};

    if (in == NULL || depth >= P11MUX_PARAM_MAX_DEPTH) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    /* filled by the backend: only its new keys matter, after the call */
    return outputs.key_out != NULL ? layout->walk(&only_outputs, in, NULL, depth + 1) : CKR_OK;
}

CK_RV
p11mux_mech_params_walk(const P11muxMechParams *params, const CK_MECHANISM *mechanism,
                        const P11muxParamVisitor *visitor, gpointer ctx, void **copy)
{
    const P11muxParamWalk walk = {visitor, ctx};
    const P11muxParamLayout *layout = params->layout;
    guint8 *top = NULL;
    CK_RV rv;

    g_return_val_if_fail(params->klass != P11MUX_PARAM_OPAQUE, CKR_GENERAL_ERROR);

    switch (params->klass) {
    case P11MUX_PARAM_NONE:
        return mechanism->ulParameterLen == 0 ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
    case P11MUX_PARAM_BYTES:
        return p11mux_param_data(mechanism->pParameter, mechanism->ulParameterLen);
    case P11MUX_PARAM_STRUCT_OR_NONE:
        if (mechanism->ulParameterLen == 0) {
            return CKR_OK;
        }
        break;
    default:
        break;
    }
    if (mechanism->ulParameterLen != layout->size || mechanism->pParameter == NULL) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    if (visitor->alloc == NULL) {
        return layout->walk(&walk, mechanism->pParameter, NULL, 1);
    }
    rv = p11mux_param_nested(&walk, layout, mechanism->pParameter, 1, TRUE, 0, (guint8 *)&top);
    if (rv == CKR_OK && copy != NULL && top != NULL) {
        *copy = top;
    }
    return rv;
}
