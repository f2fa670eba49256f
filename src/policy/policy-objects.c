/*
 * Object rules: what p11mux reads about an object, the handles an
 * application passes (role key and object), the templates of the calls
 * that create or change objects, and the objects they created.
 *
 * Safe behaviour chosen for changes (p11mux.conf(5), "What the application sees when policy says no"): p11mux computes what
 * an object would look like after C_SetAttributeValue or C_CopyObject (its
 * attributes with the template over them) and refuses the call with
 * CKR_ATTRIBUTE_READ_ONLY if the policy would hide the result; a hidden
 * object's handle is invalid, so nothing can be made visible.  An object the
 * policy would hide cannot be created either (CKR_TEMPLATE_INCONSISTENT).
 */
#include "config.h"

#include <string.h>

#include "policy-private.h"

/* Attributes read from every object p11mux decides about. */
static const CK_ATTRIBUTE_TYPE ulong_types[] = {
    CKA_CLASS, CKA_KEY_TYPE, CKA_MODULUS_BITS, CKA_VALUE_LEN, CKA_PRIME_BITS, CKA_PARAMETER_SET,
};
static const CK_ATTRIBUTE_TYPE bool_types[] = {CKA_TOKEN, CKA_SENSITIVE, CKA_EXTRACTABLE};
static const CK_ATTRIBUTE_TYPE bytes_types[] = {CKA_LABEL, CKA_ID, CKA_EC_PARAMS};
static const CK_ATTRIBUTE_TYPE length_types[] = {CKA_MODULUS, CKA_PRIME};

#define N_ULONG G_N_ELEMENTS(ulong_types)
#define N_BOOL G_N_ELEMENTS(bool_types)
#define N_BYTES G_N_ELEMENTS(bytes_types)
#define N_READ (N_ULONG + N_BOOL + N_BYTES + G_N_ELEMENTS(length_types))
#define MAX_BYTES_LEN 65536
#define UNKNOWN_BOOL ((CK_BBOOL)0xa5)

typedef struct {
    CK_ATTRIBUTE attrs[N_READ];
    CK_ULONG ulongs[N_ULONG];
    CK_BBOOL bools[N_BOOL];
    guint8 *bytes[N_BYTES];
} Reading;

static void
reading_init(Reading *reading)
{
    guint i, k = 0;

    memset(reading, 0, sizeof *reading);
    for (i = 0; i < N_ULONG; i++, k++) {
        reading->ulongs[i] = CK_UNAVAILABLE_INFORMATION;
        reading->attrs[k] = (CK_ATTRIBUTE){ulong_types[i], &reading->ulongs[i], sizeof(CK_ULONG)};
    }
    for (i = 0; i < N_BOOL; i++, k++) {
        reading->bools[i] = UNKNOWN_BOOL;
        reading->attrs[k] = (CK_ATTRIBUTE){bool_types[i], &reading->bools[i], sizeof(CK_BBOOL)};
    }
    for (i = 0; i < N_BYTES; i++, k++) {
        reading->attrs[k] = (CK_ATTRIBUTE){bytes_types[i], NULL, 0};
    }
    for (i = 0; i < G_N_ELEMENTS(length_types); i++, k++) {
        reading->attrs[k] = (CK_ATTRIBUTE){length_types[i], NULL, 0};
    }
}

static void
reading_clear(Reading *reading)
{
    guint i;

    for (i = 0; i < N_BYTES; i++) {
        g_free(reading->bytes[i]);
    }
}

static gboolean
partial_answer(CK_RV rv)
{
    return rv == CKR_OK || rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID;
}

/* The variable-length values whose lengths the first call gave. */
static void
read_bytes(P11muxPolicyCall *call, CK_OBJECT_HANDLE object, Reading *reading)
{
    CK_ATTRIBUTE *attrs = reading->attrs + N_ULONG + N_BOOL;
    CK_RV rv;
    guint i;

    for (i = 0; i < N_BYTES; i++) {
        if (attrs[i].ulValueLen > MAX_BYTES_LEN) {
            attrs[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
        } else if (attrs[i].ulValueLen > 0) {
            reading->bytes[i] = g_malloc(attrs[i].ulValueLen);
            attrs[i].pValue = reading->bytes[i];
        }
    }
    rv = p11mux_policy_ask_attributes(call, object, attrs, N_BYTES);
    for (i = 0; i < N_BYTES; i++) {
        if (!partial_answer(rv) || (attrs[i].pValue == NULL && attrs[i].ulValueLen != 0)) {
            attrs[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
        }
    }
}

/* Both calls: fixed-size values and lengths, then the variable values. */
static CK_RV
read_object(P11muxPolicyCall *call, CK_OBJECT_HANDLE object, Reading *reading)
{
    CK_RV rv;

    reading_init(reading);
    rv = p11mux_policy_ask_attributes(call, object, reading->attrs, N_READ);
    if (!partial_answer(rv)) {
        return rv;
    }
    read_bytes(call, object, reading);
    return CKR_OK;
}

static gint8
tri_state(CK_BBOOL value)
{
    return value == UNKNOWN_BOOL ? -1 : value != CK_FALSE;
}

static CK_ULONG
known_ulong(CK_ULONG value, const CK_ATTRIBUTE *attr)
{
    return attr->ulValueLen == sizeof(CK_ULONG) ? value : CK_UNAVAILABLE_INFORMATION;
}

/* An info box holding copies of CKA_CLASS, CKA_LABEL and CKA_ID. */
static P11muxObjectInfo *
info_new(const Reading *reading)
{
    const CK_ATTRIBUTE *label = &reading->attrs[N_ULONG + N_BOOL];
    const CK_ATTRIBUTE *id = label + 1;
    gsize label_len = label->ulValueLen == CK_UNAVAILABLE_INFORMATION ? 0 : label->ulValueLen;
    gsize id_len = id->ulValueLen == CK_UNAVAILABLE_INFORMATION ? 0 : id->ulValueLen;
    P11muxObjectInfo *info =
        g_atomic_rc_box_alloc0(sizeof(P11muxObjectInfo) + sizeof(CK_ULONG) + label_len + id_len);
    guint8 *tail = (guint8 *)(info + 1);

    info->klass = known_ulong(reading->ulongs[0], &reading->attrs[0]);
    info->key_type = known_ulong(reading->ulongs[1], &reading->attrs[1]);
    memcpy(tail, &info->klass, sizeof(CK_ULONG));
    /* an absent label or id has no buffer: memcpy must not see NULL */
    if (label_len > 0) {
        memcpy(tail + sizeof(CK_ULONG), label->pValue, label_len);
    }
    if (id_len > 0) {
        memcpy(tail + sizeof(CK_ULONG) + label_len, id->pValue, id_len);
    }
    info->match[0] = (CK_ATTRIBUTE){CKA_CLASS, tail, sizeof(CK_ULONG)};
    info->match[1] = (CK_ATTRIBUTE){CKA_LABEL, tail + sizeof(CK_ULONG), label_len};
    info->match[2] = (CK_ATTRIBUTE){CKA_ID, tail + sizeof(CK_ULONG) + label_len, id_len};
    if (info->klass == CK_UNAVAILABLE_INFORMATION) {
        info->match[0].ulValueLen = CK_UNAVAILABLE_INFORMATION;
    }
    info->token = tri_state(reading->bools[0]);
    info->sensitive = tri_state(reading->bools[1]);
    info->extractable = tri_state(reading->bools[2]);
    return info;
}

gboolean
p11mux_object_info_is_key(const P11muxObjectInfo *info)
{
    return info->klass == CKO_PRIVATE_KEY || info->klass == CKO_SECRET_KEY;
}

static gboolean
is_key_class(CK_OBJECT_CLASS klass)
{
    return klass == CKO_PUBLIC_KEY || klass == CKO_PRIVATE_KEY || klass == CKO_SECRET_KEY;
}

gboolean
p11mux_policy_object_visible(P11muxPolicyCall *call, const P11muxPolicy *policy,
                             const CK_ATTRIBUTE *attrs, CK_ULONG n)
{
    P11muxPolicyEngine *engine = call->engine;
    const P11muxSlotState *state;
    P11muxUriPlace place;
    CK_ULONG klass;

    if (!policy->has_object_rules) {
        return TRUE;
    }
    /* an object whose class cannot be read is not shown where objects are filtered */
    if (!p11mux_template_ulong(attrs, n, CKA_CLASS, &klass)) {
        return FALSE;
    }
    state = p11mux_policy_slot_state(engine, policy, call->slot_entry, FALSE);
    p11mux_policy_slot_place(engine, call->slot_entry, state, &place);
    return p11mux_uri_rules_allow_object(&policy->objects, &place, attrs, n);
}

static P11muxObjectInfo *
info_from_reading(P11muxPolicyCall *call, const P11muxPolicy *policy, const Reading *reading)
{
    P11muxObjectInfo *info = info_new(reading);
    P11muxKeyFamily family = p11mux_key_family_of_type(info->key_type);

    if (is_key_class(info->klass) && family != P11MUX_KEY_NONE) {
        info->bits = p11mux_key_bits(family, reading->attrs, N_READ);
    }
    info->visible = p11mux_policy_object_visible(call, policy, info->match, 3);
    return info;
}

CK_RV
p11mux_policy_object_reread(P11muxPolicyCall *call, const P11muxPolicy *policy, CK_OBJECT_HANDLE object,
                            P11muxObjectInfo **info)
{
    P11muxPolicyEngine *engine = call->engine;
    guint epoch = p11mux_policy_cache_epoch(engine->cache);
    Reading reading;
    CK_RV rv = read_object(call, object, &reading);

    if (rv == CKR_OK) {
        *info = info_from_reading(call, policy, &reading);
        (void)p11mux_policy_cache_put(engine->cache, call->session, call->slot_entry, object, *info,
                                      epoch);
    }
    reading_clear(&reading);
    return rv;
}

CK_RV
p11mux_policy_object_info(P11muxPolicyCall *call, const P11muxPolicy *policy, CK_OBJECT_HANDLE object,
                          P11muxObjectInfo **info)
{
    P11muxPolicyEngine *engine = call->engine;

    *info = p11mux_policy_cache_get(engine->cache, call->session, object);
    if (*info != NULL) {
        return CKR_OK;
    }
    return p11mux_policy_object_reread(call, policy, object, info);
}
