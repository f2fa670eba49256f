/*
 * Decoding a finished call into a trace record, driven only by the function
 * table's parameter roles (STYLE.md §1): no function is named here.
 *
 * Redaction by construction: secret-in, secret-out, state-in and state-out
 * buffers are never read, only their length; an attribute's value is read
 * only when its type is listed in attr_kind() as public (default-deny), and
 * CKA_VALUE only in a template that says it is a certificate's.  Mechanism
 * parameters are decoded for the mechanisms listed in decode_mechanism_param()
 * only; any other parameter is written as its length.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "constants.h"
#include "trace-decode.h"

/* ---------------------------------------------------------------- arena */

#define ARENA_BLOCK 4096

struct P11muxTraceArena {
    GSList *blocks;
    gsize used;
    gsize size;
};

static gpointer
arena_alloc(P11muxTraceArena *arena, gsize n)
{
    gpointer p;

    n = (n + 15) & ~(gsize)15;
    if (arena->blocks == NULL || arena->used + n > arena->size) {
        arena->size = MAX(ARENA_BLOCK, n);
        arena->blocks = g_slist_prepend(arena->blocks, g_malloc0(arena->size));
        arena->used = 0;
    }
    p = (char *)arena->blocks->data + arena->used;
    arena->used += n;
    return p;
}

static const char *
arena_strdup(P11muxTraceArena *arena, const char *text)
{
    gsize n = strlen(text) + 1;
    char *copy = arena_alloc(arena, n);

    memcpy(copy, text, n);
    return copy;
}

/* ---------------------------------------------------------------- values */

typedef struct {
    P11muxTraceArena *arena;
    const P11muxCall *call;
    const P11muxFunctionDesc *desc;
    CK_RV rv;
    P11muxTraceData data;
    int size_param; /* the parameter whose value before the call is call->size_in */
} Decoder;

static P11muxTraceValue *
value_new(Decoder *d, P11muxTraceKind kind)
{
    P11muxTraceValue *v = arena_alloc(d->arena, sizeof(*v));

    v->kind = kind;
    return v;
}

static void
value_add(P11muxTraceValue *parent, const char *key, P11muxTraceValue *child)
{
    if (child == NULL) {
        return;
    }
    child->key = key;
    if (parent->last == NULL) {
        parent->children = child;
    } else {
        parent->last->next = child;
    }
    parent->last = child;
    parent->n_children++;
}

static P11muxTraceValue *
value_number(Decoder *d, P11muxTraceKind kind, CK_ULONG number)
{
    P11muxTraceValue *v = value_new(d, kind);

    v->u.number = number;
    return v;
}

static P11muxTraceValue *
value_bool(Decoder *d, gboolean boolean)
{
    P11muxTraceValue *v = value_new(d, P11MUX_TRACE_BOOL);

    v->u.boolean = boolean;
    return v;
}

/* name: copied into the arena */
static P11muxTraceValue *
value_name(Decoder *d, const char *name)
{
    P11muxTraceValue *v = value_new(d, P11MUX_TRACE_NAME);

    v->u.string.text = arena_strdup(d->arena, name);
    v->u.string.length = strlen(name);
    return v;
}

static P11muxTraceValue *
value_constant(Decoder *d, P11muxConstantKind kind, CK_ULONG value)
{
    g_autofree char *name = p11mux_constant_format(kind, value);

    return value_name(d, name);
}

static P11muxTraceValue *
value_flags(Decoder *d, P11muxFlagsKind kind, CK_FLAGS flags)
{
    g_autofree char *name = p11mux_flags_format(kind, flags);

    return value_name(d, name);
}

static P11muxTraceValue *
value_version(Decoder *d, const CK_VERSION *version)
{
    char buf[16];

    p11mux_trace_format_version(version, buf, sizeof(buf));
    return value_name(d, buf);
}

/* Text the application or a token gave: not copied, cut, trailing blanks and
 * NULs of a padded field dropped when trim. */
static P11muxTraceValue *
value_string(Decoder *d, const void *text, gsize length, gboolean trim)
{
    P11muxTraceValue *v = value_new(d, P11MUX_TRACE_STRING);
    const char *s = text;

    while (trim && length > 0 && (s[length - 1] == ' ' || s[length - 1] == '\0')) {
        length--;
    }
    v->u.string.text = s;
    v->u.string.length = length;
    return v;
}

/* A buffer whose content is never written. */
static P11muxTraceValue *
value_redacted(Decoder *d, const void *buffer, CK_ULONG length)
{
    P11muxTraceValue *v = value_new(d, P11MUX_TRACE_BYTES);

    v->u.bytes.length = length;
    v->u.bytes.flags = P11MUX_TRACE_BYTES_REDACTED;
    if (buffer == NULL) {
        v->u.bytes.flags |= P11MUX_TRACE_BYTES_NULL;
    }
    return v;
}

/* A public buffer: its content in hex when trace-data = hex. */
static P11muxTraceValue *
value_public(Decoder *d, const void *buffer, CK_ULONG length)
{
    P11muxTraceValue *v = value_new(d, P11MUX_TRACE_BYTES);

    v->u.bytes.length = length;
    if (buffer == NULL) {
        v->u.bytes.flags = P11MUX_TRACE_BYTES_NULL;
    } else if (d->data == P11MUX_TRACE_DATA_HEX) {
        v->u.bytes.data = buffer;
        v->u.bytes.shown = MIN(length, (CK_ULONG)P11MUX_TRACE_HEX_MAX);
    }
    return v;
}

/* A buffer whose length alone is written (a structure holding pointers). */
static P11muxTraceValue *
value_length_only(Decoder *d, const void *buffer, CK_ULONG length)
{
    P11muxTraceValue *v = value_new(d, P11MUX_TRACE_BYTES);

    v->u.bytes.length = length;
    v->u.bytes.flags = buffer == NULL ? P11MUX_TRACE_BYTES_NULL : 0;
    return v;
}

/* ---------------------------------------------------------------- arguments */

/* The parameter's storage: a pointer to the parameter (args holds &param). */
#define ARG(d, i, type) (*(type *)(d)->call->args[i])

static gboolean
outputs_written(const Decoder *d)
{
    return d->rv == CKR_OK;
}

static gboolean
lengths_written(const Decoder *d)
{
    return d->rv == CKR_OK || d->rv == CKR_BUFFER_TOO_SMALL;
}

/* C_GetAttributeValue fills what it can also when it answers these. */
static gboolean
attribute_values_written(const Decoder *d)
{
    return d->rv == CKR_OK || d->rv == CKR_ATTRIBUTE_SENSITIVE ||
           d->rv == CKR_ATTRIBUTE_TYPE_INVALID || d->rv == CKR_BUFFER_TOO_SMALL;
}

/* The value a length/count parameter gives now: the parameter itself (len,
 * count, max) or what its pointer points to (len-io, count-out). */
static gboolean
ref_value(const Decoder *d, int ref, CK_ULONG *value)
{
    CK_ULONG *pointer;

    if (ref < 0) {
        return FALSE;
    }
    switch (d->desc->params[ref].role) {
    case P11MUX_ROLE_LEN:
    case P11MUX_ROLE_COUNT:
    case P11MUX_ROLE_MAX:
        *value = ARG(d, ref, CK_ULONG);
        return TRUE;
    case P11MUX_ROLE_LEN_IO:
    case P11MUX_ROLE_COUNT_OUT:
        pointer = ARG(d, ref, CK_ULONG_PTR);
        if (pointer == NULL) {
            return FALSE;
        }
        *value = *pointer;
        return TRUE;
    default:
        return FALSE;
    }
}

/* Whether ref is an output whose value is the one written by the call. */
static gboolean
ref_is_output(const Decoder *d, int ref)
{
    P11muxRole role = d->desc->params[ref].role;

    return role == P11MUX_ROLE_LEN_IO || role == P11MUX_ROLE_COUNT_OUT;
}

/* An input buffer: in (public) or secret-in / state-in (redacted). */
static P11muxTraceValue *
decode_in(Decoder *d, guint i, gboolean secret)
{
    const void *buffer = ARG(d, i, const void *);
    CK_ULONG length = 0;

    (void)ref_value(d, d->desc->params[i].ref, &length);
    return secret ? value_redacted(d, buffer, length) : value_public(d, buffer, length);
}

/* An output buffer: out (public after a successful call) or secret-out /
 * state-out (redacted), with the size offered before the call. */
static P11muxTraceValue *
decode_out(Decoder *d, guint i, gboolean secret)
{
    const void *buffer = ARG(d, i, const void *);
    int ref = d->desc->params[i].ref;
    CK_ULONG length = 0;
    P11muxTraceValue *v;
    gboolean known = ref_value(d, ref, &length) && (!ref_is_output(d, ref) || lengths_written(d));

    if (secret) {
        v = value_redacted(d, buffer, length);
    } else if (!outputs_written(d)) {
        v = value_length_only(d, buffer, length);
    } else {
        v = value_public(d, buffer, length);
    }
    if (!known) {
        v->u.bytes.flags |= P11MUX_TRACE_BYTES_UNAVAILABLE;
    }
    if (buffer != NULL && ref == d->size_param && d->call->size_in_set) {
        v->u.bytes.size = d->call->size_in;
        v->u.bytes.flags |= P11MUX_TRACE_BYTES_SIZE;
    }
    return v;
}

/* A handle written by the call (object-out, session-out, slot-out). */
static P11muxTraceValue *
decode_handle_out(Decoder *d, guint i)
{
    CK_ULONG *pointer = ARG(d, i, CK_ULONG_PTR);

    if (pointer == NULL) {
        return value_new(d, P11MUX_TRACE_NULL);
    }
    return outputs_written(d) ? value_number(d, P11MUX_TRACE_ID, *pointer) : NULL;
}

/* A number written by the call (len-io, count-out not folded into a list). */
static P11muxTraceValue *
decode_number_out(Decoder *d, guint i)
{
    CK_ULONG *pointer = ARG(d, i, CK_ULONG_PTR);

    if (pointer == NULL) {
        return value_new(d, P11MUX_TRACE_NULL);
    }
    return lengths_written(d) ? value_number(d, P11MUX_TRACE_NUMBER, *pointer) : NULL;
}

typedef P11muxTraceValue *(*ItemFunc)(Decoder *d, const CK_ULONG *items, CK_ULONG index);

static P11muxTraceValue *
item_id(Decoder *d, const CK_ULONG *items, CK_ULONG index)
{
    return value_number(d, P11MUX_TRACE_ID, items[index]);
}

static P11muxTraceValue *
item_mechanism(Decoder *d, const CK_ULONG *items, CK_ULONG index)
{
    return value_constant(d, P11MUX_CONST_CKM, items[index]);
}

/* A list of CK_ULONGs, cut at P11MUX_TRACE_LIST_MAX; u.number holds the full count. */
static P11muxTraceValue *
decode_ulong_list(Decoder *d, const CK_ULONG *items, CK_ULONG count, ItemFunc item)
{
    P11muxTraceValue *list = value_new(d, P11MUX_TRACE_LIST);
    CK_ULONG i;

    list->u.number = count;
    for (i = 0; i < count && i < P11MUX_TRACE_LIST_MAX; i++) {
        value_add(list, NULL, item(d, items, i));
    }
    return list;
}

/* slots-out, mechanisms-out, objects-out: {count, size, null, items}; sized:
 * the count's value before the call is the list's size. */
static P11muxTraceValue *
decode_list_out(Decoder *d, guint i, ItemFunc item, gboolean sized)
{
    const CK_ULONG *items = ARG(d, i, const CK_ULONG *);
    int ref = d->desc->params[i].ref;
    P11muxTraceValue *s = value_new(d, P11MUX_TRACE_STRUCT);
    CK_ULONG count = 0;
    gboolean known = ref_value(d, ref, &count) && lengths_written(d);

    if (known) {
        value_add(s, "count", value_number(d, P11MUX_TRACE_NUMBER, count));
    }
    if (items == NULL) {
        value_add(s, "null", value_bool(d, TRUE));
    } else if (sized && ref == d->size_param && d->call->size_in_set) {
        value_add(s, "size", value_number(d, P11MUX_TRACE_NUMBER, d->call->size_in));
    }
    if (known && items != NULL && outputs_written(d)) {
        value_add(s, "items", decode_ulong_list(d, items, count, item));
    }
    return s;
}

/* A message function's parameter: a structure holding pointers, written as its length. */
static P11muxTraceValue *
decode_message_param(Decoder *d, guint i)
{
    CK_ULONG length = 0;

    (void)ref_value(d, d->desc->params[i].ref, &length);
    return value_length_only(d, ARG(d, i, const void *), length);
}

static P11muxTraceValue *
decode_pointer(Decoder *d, const void *pointer)
{
    return pointer == NULL ? value_new(d, P11MUX_TRACE_NULL) : value_name(d, "set");
}

static P11muxFlagsKind
flags_kind(const char *name)
{
    static const struct {
        const char *name;
        P11muxFlagsKind kind;
    } kinds[] = {
        { "session", P11MUX_FLAGS_SESSION_INFO },   { "wait", P11MUX_FLAGS_WAIT },
        { "interface", P11MUX_FLAGS_INTERFACE },    { "message", P11MUX_FLAGS_MESSAGE },
        { "cancel", P11MUX_FLAGS_SESSION_CANCEL },
    };
    guint i;

    for (i = 0; name != NULL && i < G_N_ELEMENTS(kinds); i++) {
        if (strcmp(kinds[i].name, name) == 0) {
            return kinds[i].kind;
        }
    }
    return P11MUX_FLAGS_N_KINDS;
}

static P11muxTraceValue *
decode_flags(Decoder *d, guint i)
{
    P11muxFlagsKind kind = flags_kind(d->desc->params[i].ref_name);
    CK_FLAGS flags = ARG(d, i, CK_FLAGS);
    char buf[32];

    if (kind == P11MUX_FLAGS_N_KINDS) {
        g_snprintf(buf, sizeof(buf), "0x%lx", flags);
        return value_name(d, buf);
    }
    return value_flags(d, kind, flags);
}

static P11muxTraceValue *
decode_init_args(Decoder *d, guint i)
{
    const CK_C_INITIALIZE_ARGS *args = ARG(d, i, const CK_C_INITIALIZE_ARGS *);
    P11muxTraceValue *s;

    if (args == NULL) {
        return value_new(d, P11MUX_TRACE_NULL);
    }
    s = value_new(d, P11MUX_TRACE_STRUCT);
    value_add(s, "flags", value_flags(d, P11MUX_FLAGS_INIT_ARGS, args->flags));
    value_add(s, "mutex_callbacks", value_bool(d, args->CreateMutex != NULL));
    /* the reserved string may name files or carry a backend's init string: presence only */
    value_add(s, "pReserved", decode_pointer(d, args->pReserved));
    return s;
}

static P11muxTraceValue *
decode_interface_name(Decoder *d, guint i)
{
    const char *name = ARG(d, i, const char *);

    return name == NULL ? value_new(d, P11MUX_TRACE_NULL)
                        : value_string(d, name, strnlen(name, 64), FALSE);
}

static P11muxTraceValue *
decode_version(Decoder *d, guint i)
{
    const CK_VERSION *version = ARG(d, i, const CK_VERSION *);

    return version == NULL ? value_new(d, P11MUX_TRACE_NULL) : value_version(d, version);
}

/* C_InitToken's label: 32 bytes, blank padded. */
static P11muxTraceValue *
decode_label(Decoder *d, guint i)
{
    const char *label = ARG(d, i, const char *);

    return label == NULL ? value_new(d, P11MUX_TRACE_NULL)
                         : value_string(d, label, strnlen(label, 32), TRUE);
}

/* ---------------------------------------------------------------- mechanisms */

static void
decode_oaep(Decoder *d, P11muxTraceValue *s, const CK_RSA_PKCS_OAEP_PARAMS *p)
{
    value_add(s, "hashAlg", value_constant(d, P11MUX_CONST_CKM, p->hashAlg));
    value_add(s, "mgf", value_constant(d, P11MUX_CONST_CKG, p->mgf));
    value_add(s, "source", value_constant(d, P11MUX_CONST_CKZ, p->source));
    value_add(s, "pSourceData", value_public(d, p->pSourceData, p->ulSourceDataLen));
}

static void
decode_pss(Decoder *d, P11muxTraceValue *s, const CK_RSA_PKCS_PSS_PARAMS *p)
{
    value_add(s, "hashAlg", value_constant(d, P11MUX_CONST_CKM, p->hashAlg));
    value_add(s, "mgf", value_constant(d, P11MUX_CONST_CKG, p->mgf));
    value_add(s, "sLen", value_number(d, P11MUX_TRACE_NUMBER, p->sLen));
}

static void
decode_gcm(Decoder *d, P11muxTraceValue *s, const CK_GCM_PARAMS *p)
{
    value_add(s, "pIv", value_public(d, p->pIv, p->ulIvLen));
    value_add(s, "ulIvBits", value_number(d, P11MUX_TRACE_NUMBER, p->ulIvBits));
    value_add(s, "pAAD", value_public(d, p->pAAD, p->ulAADLen));
    value_add(s, "ulTagBits", value_number(d, P11MUX_TRACE_NUMBER, p->ulTagBits));
}

static void
decode_ctr(Decoder *d, P11muxTraceValue *s, const CK_AES_CTR_PARAMS *p)
{
    value_add(s, "ulCounterBits", value_number(d, P11MUX_TRACE_NUMBER, p->ulCounterBits));
    value_add(s, "cb", value_public(d, p->cb, sizeof(p->cb)));
}

static void
decode_ecdh(Decoder *d, P11muxTraceValue *s, const CK_ECDH1_DERIVE_PARAMS *p)
{
    value_add(s, "kdf", value_constant(d, P11MUX_CONST_CKD, p->kdf));
    value_add(s, "pSharedData", value_public(d, p->pSharedData, p->ulSharedDataLen));
    value_add(s, "pPublicData", value_public(d, p->pPublicData, p->ulPublicDataLen));
}

typedef enum {
    PARAM_NONE,
    PARAM_IV, /* the parameter is the IV */
    PARAM_OAEP,
    PARAM_PSS,
    PARAM_GCM,
    PARAM_CTR,
    PARAM_ECDH,
} ParamKind;

static ParamKind
mechanism_param_kind(CK_MECHANISM_TYPE type)
{
    switch (type) {
    case CKM_AES_CBC:
    case CKM_AES_CBC_PAD:
    case CKM_AES_CTS:
    case CKM_AES_OFB:
    case CKM_AES_CFB8:
    case CKM_AES_CFB64:
    case CKM_AES_CFB128:
    case CKM_DES_CBC:
    case CKM_DES_CBC_PAD:
    case CKM_DES3_CBC:
    case CKM_DES3_CBC_PAD:
    case CKM_CAMELLIA_CBC:
    case CKM_CAMELLIA_CBC_PAD:
        return PARAM_IV;
    case CKM_RSA_PKCS_OAEP:
        return PARAM_OAEP;
    case CKM_RSA_PKCS_PSS:
    case CKM_SHA1_RSA_PKCS_PSS:
    case CKM_SHA224_RSA_PKCS_PSS:
    case CKM_SHA256_RSA_PKCS_PSS:
    case CKM_SHA384_RSA_PKCS_PSS:
    case CKM_SHA512_RSA_PKCS_PSS:
        return PARAM_PSS;
    case CKM_AES_GCM:
        return PARAM_GCM;
    case CKM_AES_CTR:
        return PARAM_CTR;
    case CKM_ECDH1_DERIVE:
    case CKM_ECDH1_COFACTOR_DERIVE:
        return PARAM_ECDH;
    default:
        return PARAM_NONE;
    }
}

/* The parameter's fields into s, when the mechanism is one we know and the
 * parameter has the size of its structure. */
static void
decode_mechanism_param(Decoder *d, P11muxTraceValue *s, const CK_MECHANISM *m)
{
    const void *p = m->pParameter;
    CK_ULONG n = m->ulParameterLen;

    switch (mechanism_param_kind(m->mechanism)) {
    case PARAM_IV:
        value_add(s, "iv", value_public(d, p, n));
        break;
    case PARAM_OAEP:
        if (p != NULL && n == sizeof(CK_RSA_PKCS_OAEP_PARAMS)) {
            decode_oaep(d, s, p);
        }
        break;
    case PARAM_PSS:
        if (p != NULL && n == sizeof(CK_RSA_PKCS_PSS_PARAMS)) {
            decode_pss(d, s, p);
        }
        break;
    case PARAM_GCM:
        if (p != NULL && n == sizeof(CK_GCM_PARAMS)) {
            decode_gcm(d, s, p);
        }
        break;
    case PARAM_CTR:
        if (p != NULL && n == sizeof(CK_AES_CTR_PARAMS)) {
            decode_ctr(d, s, p);
        }
        break;
    case PARAM_ECDH:
        if (p != NULL && n == sizeof(CK_ECDH1_DERIVE_PARAMS)) {
            decode_ecdh(d, s, p);
        }
        break;
    case PARAM_NONE:
        break;
    }
}

static P11muxTraceValue *
decode_mechanism(Decoder *d, guint i)
{
    const CK_MECHANISM *m = ARG(d, i, const CK_MECHANISM *);
    P11muxTraceValue *s;

    if (m == NULL) {
        return value_new(d, P11MUX_TRACE_NULL);
    }
    s = value_new(d, P11MUX_TRACE_STRUCT);
    value_add(s, "mechanism", value_constant(d, P11MUX_CONST_CKM, m->mechanism));
    value_add(s, "param_len", value_number(d, P11MUX_TRACE_NUMBER, m->ulParameterLen));
    decode_mechanism_param(d, s, m);
    return s;
}

/* ---------------------------------------------------------------- templates */

P11muxTraceAttrKind
p11mux_trace_attr_kind(CK_ATTRIBUTE_TYPE type)
{
    switch (type) {
    case CKA_VALUE:
        return P11MUX_TRACE_ATTR_VALUE;
    case CKA_TOKEN:
    case CKA_PRIVATE:
    case CKA_TRUSTED:
    case CKA_SENSITIVE:
    case CKA_ENCRYPT:
    case CKA_DECRYPT:
    case CKA_WRAP:
    case CKA_UNWRAP:
    case CKA_SIGN:
    case CKA_SIGN_RECOVER:
    case CKA_VERIFY:
    case CKA_VERIFY_RECOVER:
    case CKA_DERIVE:
    case CKA_EXTRACTABLE:
    case CKA_LOCAL:
    case CKA_NEVER_EXTRACTABLE:
    case CKA_ALWAYS_SENSITIVE:
    case CKA_MODIFIABLE:
    case CKA_COPYABLE:
    case CKA_DESTROYABLE:
    case CKA_ALWAYS_AUTHENTICATE:
    case CKA_WRAP_WITH_TRUSTED:
    case CKA_RESET_ON_INIT:
    case CKA_HAS_RESET:
        return P11MUX_TRACE_ATTR_BOOL;
    case CKA_CERTIFICATE_CATEGORY:
    case CKA_JAVA_MIDP_SECURITY_DOMAIN:
    case CKA_MODULUS_BITS:
    case CKA_PRIME_BITS:
    case CKA_SUB_PRIME_BITS:
    case CKA_VALUE_BITS:
    case CKA_VALUE_LEN:
        return P11MUX_TRACE_ATTR_ULONG;
    case CKA_CLASS:
        return P11MUX_TRACE_ATTR_CLASS;
    case CKA_KEY_TYPE:
        return P11MUX_TRACE_ATTR_KEY_TYPE;
    case CKA_CERTIFICATE_TYPE:
        return P11MUX_TRACE_ATTR_CERT_TYPE;
    case CKA_HW_FEATURE_TYPE:
        return P11MUX_TRACE_ATTR_HW_TYPE;
    case CKA_KEY_GEN_MECHANISM:
    case CKA_NAME_HASH_ALGORITHM:
        return P11MUX_TRACE_ATTR_MECHANISM;
    case CKA_ALLOWED_MECHANISMS:
        return P11MUX_TRACE_ATTR_MECHANISMS;
    case CKA_START_DATE:
    case CKA_END_DATE:
        return P11MUX_TRACE_ATTR_DATE;
    case CKA_LABEL:
    case CKA_APPLICATION:
    case CKA_URL:
        return P11MUX_TRACE_ATTR_STRING;
    case CKA_ID:
    case CKA_OBJECT_ID:
    case CKA_SUBJECT:
    case CKA_ISSUER:
    case CKA_SERIAL_NUMBER:
    case CKA_AC_ISSUER:
    case CKA_OWNER:
    case CKA_ATTR_TYPES:
    case CKA_HASH_OF_SUBJECT_PUBLIC_KEY:
    case CKA_HASH_OF_ISSUER_PUBLIC_KEY:
    case CKA_MODULUS:
    case CKA_PUBLIC_EXPONENT:
    case CKA_PUBLIC_KEY_INFO:
    case CKA_PRIME:
    case CKA_SUBPRIME:
    case CKA_BASE:
    case CKA_EC_PARAMS:
    case CKA_EC_POINT:
        return P11MUX_TRACE_ATTR_BYTES;
    case CKA_WRAP_TEMPLATE:
    case CKA_UNWRAP_TEMPLATE:
    case CKA_DERIVE_TEMPLATE:
        return P11MUX_TRACE_ATTR_TEMPLATE;
    default:
        /* default-deny: CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_CHECK_VALUE,
         * vendor attributes, and whatever a later version adds */
        return P11MUX_TRACE_ATTR_SECRET;
    }
}

/* Every CKA_CLASS in the template is readable and CKO_CERTIFICATE, and there
 * is one: only then is CKA_VALUE public (a certificate's DER). */
static gboolean
template_is_certificate(const CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
    gboolean certificate = FALSE;
    CK_ULONG i;

    for (i = 0; i < count; i++) {
        const CK_ATTRIBUTE *a = &tmpl[i];

        if (a->type != CKA_CLASS) {
            continue;
        }
        if (a->pValue == NULL || a->ulValueLen != sizeof(CK_OBJECT_CLASS) ||
            *(const CK_OBJECT_CLASS *)a->pValue != CKO_CERTIFICATE) {
            return FALSE;
        }
        certificate = TRUE;
    }
    return certificate;
}

static P11muxTraceValue *decode_template_items(Decoder *d, const CK_ATTRIBUTE *tmpl,
                                               CK_ULONG count, gboolean values, guint depth);

static P11muxTraceValue *
decode_date(Decoder *d, const CK_ATTRIBUTE *a)
{
    const CK_DATE *date = a->pValue;
    char buf[16];

    if (a->ulValueLen == 0) {
        return value_string(d, "", 0, FALSE);
    }
    if (a->ulValueLen != sizeof(CK_DATE)) {
        return value_length_only(d, a->pValue, a->ulValueLen);
    }
    g_snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2s", date->year, date->month, date->day);
    return value_string(d, arena_strdup(d->arena, buf), strlen(buf), FALSE);
}

/* The value of a public attribute (pValue set, length available). */
static P11muxTraceValue *
decode_attr_value(Decoder *d, const CK_ATTRIBUTE *a, P11muxTraceAttrKind kind, guint depth)
{
    CK_ULONG n = a->ulValueLen;
    gboolean is_ulong = n == sizeof(CK_ULONG);

    switch (kind) {
    case P11MUX_TRACE_ATTR_SECRET:
    case P11MUX_TRACE_ATTR_VALUE:
        return value_redacted(d, a->pValue, n);
    case P11MUX_TRACE_ATTR_BOOL:
        return n == sizeof(CK_BBOOL) ? value_bool(d, *(const CK_BBOOL *)a->pValue != CK_FALSE)
                                     : value_length_only(d, a->pValue, n);
    case P11MUX_TRACE_ATTR_ULONG:
        return is_ulong ? value_number(d, P11MUX_TRACE_NUMBER, *(const CK_ULONG *)a->pValue)
                        : value_length_only(d, a->pValue, n);
    case P11MUX_TRACE_ATTR_CLASS:
    case P11MUX_TRACE_ATTR_KEY_TYPE:
    case P11MUX_TRACE_ATTR_CERT_TYPE:
    case P11MUX_TRACE_ATTR_HW_TYPE:
    case P11MUX_TRACE_ATTR_MECHANISM: {
        static const P11muxConstantKind kinds[] = {
            [P11MUX_TRACE_ATTR_CLASS] = P11MUX_CONST_CKO,
            [P11MUX_TRACE_ATTR_KEY_TYPE] = P11MUX_CONST_CKK,
            [P11MUX_TRACE_ATTR_CERT_TYPE] = P11MUX_CONST_CKC,
            [P11MUX_TRACE_ATTR_HW_TYPE] = P11MUX_CONST_CKH,
            [P11MUX_TRACE_ATTR_MECHANISM] = P11MUX_CONST_CKM,
        };

        return is_ulong ? value_constant(d, kinds[kind], *(const CK_ULONG *)a->pValue)
                        : value_length_only(d, a->pValue, n);
    }
    case P11MUX_TRACE_ATTR_MECHANISMS:
        return n % sizeof(CK_ULONG) == 0
                   ? decode_ulong_list(d, a->pValue, n / sizeof(CK_ULONG), item_mechanism)
                   : value_length_only(d, a->pValue, n);
    case P11MUX_TRACE_ATTR_DATE:
        return decode_date(d, a);
    case P11MUX_TRACE_ATTR_STRING:
        return value_string(d, a->pValue, MIN(n, (CK_ULONG)P11MUX_TRACE_HEX_MAX), FALSE);
    case P11MUX_TRACE_ATTR_BYTES:
        return value_public(d, a->pValue, n);
    case P11MUX_TRACE_ATTR_TEMPLATE:
        return depth == 0 && n % sizeof(CK_ATTRIBUTE) == 0
                   ? decode_template_items(d, a->pValue, n / sizeof(CK_ATTRIBUTE), TRUE,
                                           depth + 1)
                   : value_length_only(d, a->pValue, n);
    }
    return value_redacted(d, a->pValue, n);
}

static P11muxTraceValue *
decode_attr(Decoder *d, const CK_ATTRIBUTE *a, gboolean values, gboolean certificate,
            guint depth)
{
    P11muxTraceValue *v = value_new(d, P11MUX_TRACE_ATTR);
    P11muxTraceAttrKind kind = p11mux_trace_attr_kind(a->type);
    g_autofree char *type = p11mux_constant_format(P11MUX_CONST_CKA, a->type);

    v->u.attr.type = arena_strdup(d->arena, type);
    v->u.attr.length = a->ulValueLen;
    if (kind == P11MUX_TRACE_ATTR_VALUE && certificate) {
        kind = P11MUX_TRACE_ATTR_BYTES;
    }
    if (!values) {
        return v; /* a failed C_GetAttributeValue: nothing was written */
    }
    if (a->ulValueLen == CK_UNAVAILABLE_INFORMATION) {
        P11muxTraceValue *u = value_new(d, P11MUX_TRACE_BYTES);

        u->u.bytes.flags = P11MUX_TRACE_BYTES_UNAVAILABLE;
        value_add(v, NULL, u);
    } else if (a->pValue == NULL) {
        value_add(v, NULL, value_length_only(d, NULL, a->ulValueLen));
    } else {
        value_add(v, NULL, decode_attr_value(d, a, kind, depth));
    }
    return v;
}

/* values: the values may be read (an input template, or an output template
 * after a call that wrote it). */
static P11muxTraceValue *
decode_template_items(Decoder *d, const CK_ATTRIBUTE *tmpl, CK_ULONG count, gboolean values,
                      guint depth)
{
    P11muxTraceValue *list;
    gboolean certificate;
    CK_ULONG i;

    if (tmpl == NULL) {
        return count == 0 ? value_new(d, P11MUX_TRACE_LIST) : value_new(d, P11MUX_TRACE_NULL);
    }
    list = value_new(d, P11MUX_TRACE_LIST);
    list->u.number = count;
    certificate = values && template_is_certificate(tmpl, count);
    for (i = 0; i < count && i < P11MUX_TRACE_LIST_MAX; i++) {
        value_add(list, NULL, decode_attr(d, &tmpl[i], values, certificate, depth));
    }
    return list;
}

static P11muxTraceValue *
decode_template(Decoder *d, guint i, gboolean io)
{
    const CK_ATTRIBUTE *tmpl = ARG(d, i, const CK_ATTRIBUTE *);
    CK_ULONG count = 0;

    (void)ref_value(d, d->desc->params[i].ref, &count);
    return decode_template_items(d, tmpl, count, !io || attribute_values_written(d), 0);
}

/* ---------------------------------------------------------------- structures */

static P11muxTraceValue *
decode_info(Decoder *d, const CK_INFO *info)
{
    P11muxTraceValue *s = value_new(d, P11MUX_TRACE_STRUCT);

    value_add(s, "cryptokiVersion", value_version(d, &info->cryptokiVersion));
    value_add(s, "manufacturerID",
              value_string(d, info->manufacturerID, sizeof(info->manufacturerID), TRUE));
    value_add(s, "flags", value_number(d, P11MUX_TRACE_NUMBER, info->flags));
    value_add(s, "libraryDescription",
              value_string(d, info->libraryDescription, sizeof(info->libraryDescription), TRUE));
    value_add(s, "libraryVersion", value_version(d, &info->libraryVersion));
    return s;
}

static P11muxTraceValue *
decode_slot_info(Decoder *d, const CK_SLOT_INFO *info)
{
    P11muxTraceValue *s = value_new(d, P11MUX_TRACE_STRUCT);

    value_add(s, "slotDescription",
              value_string(d, info->slotDescription, sizeof(info->slotDescription), TRUE));
    value_add(s, "manufacturerID",
              value_string(d, info->manufacturerID, sizeof(info->manufacturerID), TRUE));
    value_add(s, "flags", value_flags(d, P11MUX_FLAGS_SLOT_INFO, info->flags));
    value_add(s, "hardwareVersion", value_version(d, &info->hardwareVersion));
    value_add(s, "firmwareVersion", value_version(d, &info->firmwareVersion));
    return s;
}

static void
add_numbers(Decoder *d, P11muxTraceValue *s, const char *const *names, const CK_ULONG *values,
            guint n)
{
    guint i;

    for (i = 0; i < n; i++) {
        value_add(s, names[i], value_number(d, P11MUX_TRACE_NUMBER, values[i]));
    }
}

static P11muxTraceValue *
decode_token_info(Decoder *d, const CK_TOKEN_INFO *info)
{
    static const char *const names[] = {
        "ulMaxSessionCount",   "ulSessionCount",     "ulMaxRwSessionCount",
        "ulRwSessionCount",    "ulMaxPinLen",        "ulMinPinLen",
        "ulTotalPublicMemory", "ulFreePublicMemory", "ulTotalPrivateMemory",
        "ulFreePrivateMemory",
    };
    const CK_ULONG values[] = {
        info->ulMaxSessionCount,   info->ulSessionCount,     info->ulMaxRwSessionCount,
        info->ulRwSessionCount,    info->ulMaxPinLen,        info->ulMinPinLen,
        info->ulTotalPublicMemory, info->ulFreePublicMemory, info->ulTotalPrivateMemory,
        info->ulFreePrivateMemory,
    };
    P11muxTraceValue *s = value_new(d, P11MUX_TRACE_STRUCT);

    G_STATIC_ASSERT(G_N_ELEMENTS(names) == G_N_ELEMENTS(values));
    value_add(s, "label", value_string(d, info->label, sizeof(info->label), TRUE));
    value_add(s, "manufacturerID",
              value_string(d, info->manufacturerID, sizeof(info->manufacturerID), TRUE));
    value_add(s, "model", value_string(d, info->model, sizeof(info->model), TRUE));
    value_add(s, "serialNumber",
              value_string(d, info->serialNumber, sizeof(info->serialNumber), TRUE));
    value_add(s, "flags", value_flags(d, P11MUX_FLAGS_TOKEN_INFO, info->flags));
    add_numbers(d, s, names, values, G_N_ELEMENTS(names));
    value_add(s, "hardwareVersion", value_version(d, &info->hardwareVersion));
    value_add(s, "firmwareVersion", value_version(d, &info->firmwareVersion));
    value_add(s, "utcTime", value_string(d, info->utcTime, sizeof(info->utcTime), TRUE));
    return s;
}

static P11muxTraceValue *
decode_mechanism_info(Decoder *d, const CK_MECHANISM_INFO *info)
{
    P11muxTraceValue *s = value_new(d, P11MUX_TRACE_STRUCT);

    value_add(s, "ulMinKeySize", value_number(d, P11MUX_TRACE_NUMBER, info->ulMinKeySize));
    value_add(s, "ulMaxKeySize", value_number(d, P11MUX_TRACE_NUMBER, info->ulMaxKeySize));
    value_add(s, "flags", value_flags(d, P11MUX_FLAGS_MECHANISM_INFO, info->flags));
    return s;
}

/* info-out: the structure is told by the parameter's C type in the table. */
static P11muxTraceValue *
decode_info_out(Decoder *d, guint i)
{
    const char *type = d->desc->params[i].type;
    const void *info = ARG(d, i, const void *);

    if (info == NULL) {
        return value_new(d, P11MUX_TRACE_NULL);
    }
    if (!outputs_written(d)) {
        return NULL;
    }
    if (strcmp(type, "CK_INFO_PTR") == 0) {
        return decode_info(d, info);
    }
    if (strcmp(type, "CK_SLOT_INFO_PTR") == 0) {
        return decode_slot_info(d, info);
    }
    if (strcmp(type, "CK_TOKEN_INFO_PTR") == 0) {
        return decode_token_info(d, info);
    }
    if (strcmp(type, "CK_MECHANISM_INFO_PTR") == 0) {
        return decode_mechanism_info(d, info);
    }
    return value_name(d, "set");
}

static P11muxTraceValue *
decode_session_info(Decoder *d, guint i)
{
    const CK_SESSION_INFO *info = ARG(d, i, const CK_SESSION_INFO *);
    P11muxTraceValue *s;

    if (info == NULL) {
        return value_new(d, P11MUX_TRACE_NULL);
    }
    if (!outputs_written(d)) {
        return NULL;
    }
    s = value_new(d, P11MUX_TRACE_STRUCT);
    value_add(s, "slotID", value_number(d, P11MUX_TRACE_ID, info->slotID));
    value_add(s, "state", value_constant(d, P11MUX_CONST_CKS, info->state));
    value_add(s, "flags", value_flags(d, P11MUX_FLAGS_SESSION_INFO, info->flags));
    value_add(s, "ulDeviceError", value_number(d, P11MUX_TRACE_NUMBER, info->ulDeviceError));
    return s;
}

static P11muxTraceValue *
decode_interfaces_out(Decoder *d, guint i)
{
    const void *list = ARG(d, i, const void *);
    P11muxTraceValue *s = value_new(d, P11MUX_TRACE_STRUCT);
    CK_ULONG count = 0;

    if (ref_value(d, d->desc->params[i].ref, &count) && lengths_written(d)) {
        value_add(s, "count", value_number(d, P11MUX_TRACE_NUMBER, count));
    }
    if (list == NULL) {
        value_add(s, "null", value_bool(d, TRUE));
    }
    return s;
}

/* ---------------------------------------------------------------- roles */

/*
 * One parameter by its role; NULL when nothing is written for it (an output
 * of a failed call).  No default: a role added to the generator breaks the
 * build (-Wswitch) until it is decoded here.
 */
static P11muxTraceValue *
decode_param(Decoder *d, guint i)
{
    switch (d->desc->params[i].role) {
    case P11MUX_ROLE_SESSION:
    case P11MUX_ROLE_SLOT:
    case P11MUX_ROLE_KEY:
    case P11MUX_ROLE_OBJECT:
        return value_number(d, P11MUX_TRACE_ID, ARG(d, i, CK_ULONG));
    case P11MUX_ROLE_MAX:
    case P11MUX_ROLE_COUNT:
    case P11MUX_ROLE_LEN:
        return value_number(d, P11MUX_TRACE_NUMBER, ARG(d, i, CK_ULONG));
    case P11MUX_ROLE_SLOT_OUT:
    case P11MUX_ROLE_OBJECT_OUT:
    case P11MUX_ROLE_SESSION_OUT:
        return decode_handle_out(d, i);
    case P11MUX_ROLE_LEN_IO:
    case P11MUX_ROLE_COUNT_OUT:
        return decode_number_out(d, i);
    case P11MUX_ROLE_SLOTS_OUT:
        return decode_list_out(d, i, item_id, TRUE);
    case P11MUX_ROLE_OBJECTS_OUT:
        return decode_list_out(d, i, item_id, FALSE); /* its size is the max parameter */
    case P11MUX_ROLE_MECHANISMS_OUT:
        return decode_list_out(d, i, item_mechanism, TRUE);
    case P11MUX_ROLE_BOOL:
        return value_bool(d, ARG(d, i, CK_BBOOL) != CK_FALSE);
    case P11MUX_ROLE_FLAGS:
        return decode_flags(d, i);
    case P11MUX_ROLE_MECHANISM:
        return decode_mechanism(d, i);
    case P11MUX_ROLE_MECHANISM_TYPE:
        return value_constant(d, P11MUX_CONST_CKM, ARG(d, i, CK_MECHANISM_TYPE));
    case P11MUX_ROLE_TEMPLATE:
        return decode_template(d, i, FALSE);
    case P11MUX_ROLE_TEMPLATE_IO:
        return decode_template(d, i, TRUE);
    case P11MUX_ROLE_IN:
        return decode_in(d, i, FALSE);
    case P11MUX_ROLE_SECRET_IN:
    case P11MUX_ROLE_STATE_IN:
        return decode_in(d, i, TRUE);
    case P11MUX_ROLE_OUT:
        return decode_out(d, i, FALSE);
    case P11MUX_ROLE_SECRET_OUT:
    case P11MUX_ROLE_STATE_OUT:
        return decode_out(d, i, TRUE);
    case P11MUX_ROLE_PARAM:
        return decode_message_param(d, i);
    case P11MUX_ROLE_INFO_OUT:
        return decode_info_out(d, i);
    case P11MUX_ROLE_SESSION_INFO_OUT:
        return decode_session_info(d, i);
    case P11MUX_ROLE_LABEL:
        return decode_label(d, i);
    case P11MUX_ROLE_USER_TYPE:
        return value_constant(d, P11MUX_CONST_CKU, ARG(d, i, CK_USER_TYPE));
    case P11MUX_ROLE_NOTIFY:
        return decode_pointer(d, (const void *)(gsize)ARG(d, i, CK_NOTIFY));
    case P11MUX_ROLE_APP:
    case P11MUX_ROLE_RESERVED:
    case P11MUX_ROLE_FUNCTION_LIST_OUT:
    case P11MUX_ROLE_INTERFACE_OUT:
        return decode_pointer(d, ARG(d, i, const void *));
    case P11MUX_ROLE_INIT_ARGS:
        return decode_init_args(d, i);
    case P11MUX_ROLE_INTERFACES_OUT:
        return decode_interfaces_out(d, i);
    case P11MUX_ROLE_INTERFACE_NAME:
        return decode_interface_name(d, i);
    case P11MUX_ROLE_VERSION:
        return decode_version(d, i);
    }
    return NULL;
}

/* A length or count that another parameter refers to is written with that
 * parameter, not on its own. */
static gboolean
is_folded(const P11muxFunctionDesc *desc, guint i)
{
    guint j;

    for (j = 0; j < desc->n_params; j++) {
        if (desc->params[j].role != P11MUX_ROLE_FLAGS && desc->params[j].ref == (int)i) {
            return TRUE;
        }
    }
    return FALSE;
}

int
p11mux_trace_size_param(const P11muxFunctionDesc *desc)
{
    guint i;

    for (i = 0; i < desc->n_params; i++) {
        if (desc->params[i].role == P11MUX_ROLE_LEN_IO ||
            desc->params[i].role == P11MUX_ROLE_COUNT_OUT) {
            return (int)i;
        }
    }
    return -1;
}

static guint64
thread_id(void)
{
#ifdef __linux__
    return (guint64)syscall(SYS_gettid);
#else
    return (guint64)(gsize)pthread_self();
#endif
}

void
p11mux_trace_decode(P11muxTraceRecord *record, const P11muxCall *call, CK_RV rv,
                    P11muxTraceData data)
{
    Decoder d = { 0 };
    guint i;

    memset(record, 0, sizeof(*record));
    record->arena = g_new0(P11muxTraceArena, 1);
    d.arena = record->arena;
    d.call = call;
    d.desc = &p11mux_functions[call->fn];
    d.rv = rv;
    d.data = data;
    d.size_param = p11mux_trace_size_param(d.desc);

    record->function = d.desc->name;
    record->rv = rv;
    record->time_us = call->started_wall;
    record->duration_us = g_get_monotonic_time() - call->started;
    record->pid = (guint64)getpid();
    record->tid = thread_id();
    if (call->backend != NULL) {
        record->backend = call->backend->name;
        record->has_slot = TRUE;
        record->slot = call->slot;
        record->real_slot = call->real_slot;
    }
    if (call->backend != NULL && call->session != 0) {
        record->has_session = TRUE;
        record->session = call->session;
        record->real_session = call->real_session;
    }
    record->args = value_new(&d, P11MUX_TRACE_STRUCT);
    for (i = 0; i < d.desc->n_params; i++) {
        if (!is_folded(d.desc, i)) {
            value_add(record->args, d.desc->params[i].name, decode_param(&d, i));
        }
    }
}

void
p11mux_trace_record_clear(P11muxTraceRecord *record)
{
    if (record->arena != NULL) {
        g_slist_free_full(record->arena->blocks, g_free);
        g_free(record->arena);
    }
    memset(record, 0, sizeof(*record));
}

void
p11mux_trace_format_time(gint64 time_us, char *buf, gsize size)
{
    time_t seconds = (time_t)(time_us / G_USEC_PER_SEC);
    struct tm tm;

    if (gmtime_r(&seconds, &tm) == NULL) {
        g_snprintf(buf, size, "%" G_GINT64_FORMAT, time_us);
        return;
    }
    g_snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
               (int)(time_us % G_USEC_PER_SEC));
}

void
p11mux_trace_format_version(const CK_VERSION *version, char *buf, gsize size)
{
    g_snprintf(buf, size, "%u.%u", version->major, version->minor);
}
