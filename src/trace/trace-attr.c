/*
 * Templates in the trace: each attribute by its CKA_ name, its value decoded
 * by type when the type is listed in p11mux_trace_attr_kind() as public
 * (default-deny); every other value, and CKA_VALUE but in a certificate's
 * template, is written as its length only.
 */
#include "config.h"

#include <string.h>

#include "trace-decoder.h"

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
    case CKA_ENCAPSULATE: /* 3.2 */
    case CKA_DECAPSULATE: /* 3.2 */
        return P11MUX_TRACE_ATTR_BOOL;
    case CKA_CERTIFICATE_CATEGORY:
    case CKA_JAVA_MIDP_SECURITY_DOMAIN:
    case CKA_MODULUS_BITS:
    case CKA_PRIME_BITS:
    case CKA_SUB_PRIME_BITS:
    case CKA_VALUE_BITS:
    case CKA_VALUE_LEN:
    case CKA_PARAMETER_SET: /* 3.2: CKP_ML_KEM_768, ... */
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
    case CKA_ENCAPSULATE_TEMPLATE: /* 3.2 */
    case CKA_DECAPSULATE_TEMPLATE: /* 3.2 */
        return P11MUX_TRACE_ATTR_TEMPLATE;
    default:
        /* default-deny: CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_CHECK_VALUE,
         * 3.2's CKA_SEED (an ML-DSA, ML-KEM or SLH-DSA private key's seed),
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

static P11muxTraceValue *
decode_date(P11muxTraceDecoder *d, const CK_ATTRIBUTE *a)
{
    const CK_DATE *date = a->pValue;
    char buf[16];

    if (a->ulValueLen == 0) {
        return p11mux_trace_value_string(d, "", 0, FALSE);
    }
    if (a->ulValueLen != sizeof(CK_DATE)) {
        return p11mux_trace_value_length_only(d, a->pValue, a->ulValueLen);
    }
    g_snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2s", date->year, date->month, date->day);
    return p11mux_trace_value_string(d, p11mux_trace_arena_strdup(d->arena, buf), strlen(buf),
                                     FALSE);
}

/* The value of a public attribute (pValue set, length available). */
static P11muxTraceValue *
decode_attr_value(P11muxTraceDecoder *d, const CK_ATTRIBUTE *a, P11muxTraceAttrKind kind,
                  guint depth)
{
    CK_ULONG n = a->ulValueLen;
    gboolean is_ulong = n == sizeof(CK_ULONG);

    switch (kind) {
    case P11MUX_TRACE_ATTR_SECRET:
    case P11MUX_TRACE_ATTR_VALUE:
        return p11mux_trace_value_redacted(d, a->pValue, n);
    case P11MUX_TRACE_ATTR_BOOL:
        return n == sizeof(CK_BBOOL)
                   ? p11mux_trace_value_bool(d, *(const CK_BBOOL *)a->pValue != CK_FALSE)
                   : p11mux_trace_value_length_only(d, a->pValue, n);
    case P11MUX_TRACE_ATTR_ULONG:
        return is_ulong
                   ? p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, *(const CK_ULONG *)a->pValue)
                   : p11mux_trace_value_length_only(d, a->pValue, n);
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

        return is_ulong ? p11mux_trace_value_constant(d, kinds[kind], *(const CK_ULONG *)a->pValue)
                        : p11mux_trace_value_length_only(d, a->pValue, n);
    }
    case P11MUX_TRACE_ATTR_MECHANISMS:
        return n % sizeof(CK_ULONG) == 0
                   ? p11mux_trace_value_ulong_list(d, a->pValue, n / sizeof(CK_ULONG),
                                                   p11mux_trace_item_mechanism)
                   : p11mux_trace_value_length_only(d, a->pValue, n);
    case P11MUX_TRACE_ATTR_DATE:
        return decode_date(d, a);
    case P11MUX_TRACE_ATTR_STRING:
        return p11mux_trace_value_string(d, a->pValue, MIN(n, (CK_ULONG)P11MUX_TRACE_HEX_MAX),
                                         FALSE);
    case P11MUX_TRACE_ATTR_BYTES:
        return p11mux_trace_value_public(d, a->pValue, n);
    case P11MUX_TRACE_ATTR_TEMPLATE:
        return depth == 0 && n % sizeof(CK_ATTRIBUTE) == 0
                   ? p11mux_trace_decode_template(d, a->pValue, n / sizeof(CK_ATTRIBUTE), TRUE,
                                                  depth + 1)
                   : p11mux_trace_value_length_only(d, a->pValue, n);
    }
    return p11mux_trace_value_redacted(d, a->pValue, n);
}

static P11muxTraceValue *
decode_attr(P11muxTraceDecoder *d, const CK_ATTRIBUTE *a, gboolean values, gboolean certificate,
            guint depth)
{
    P11muxTraceValue *v = p11mux_trace_value_new(d, P11MUX_TRACE_ATTR);
    P11muxTraceAttrKind kind = p11mux_trace_attr_kind(a->type);
    g_autofree char *type = p11mux_constant_format(P11MUX_CONST_CKA, a->type);

    v->u.attr.type = p11mux_trace_arena_strdup(d->arena, type);
    v->u.attr.length = a->ulValueLen;
    if (kind == P11MUX_TRACE_ATTR_VALUE && certificate) {
        kind = P11MUX_TRACE_ATTR_BYTES;
    }
    if (!values) {
        return v; /* a failed C_GetAttributeValue: nothing was written */
    }
    if (a->ulValueLen == CK_UNAVAILABLE_INFORMATION) {
        P11muxTraceValue *u = p11mux_trace_value_new(d, P11MUX_TRACE_BYTES);

        u->u.bytes.flags = P11MUX_TRACE_BYTES_UNAVAILABLE;
        p11mux_trace_value_add(v, NULL, u);
    } else if (a->pValue == NULL) {
        p11mux_trace_value_add(v, NULL, p11mux_trace_value_length_only(d, NULL, a->ulValueLen));
    } else {
        p11mux_trace_value_add(v, NULL, decode_attr_value(d, a, kind, depth));
    }
    return v;
}

/* values: the values may be read (an input template, or an output template
 * after a call that wrote it). */
P11muxTraceValue *
p11mux_trace_decode_template(P11muxTraceDecoder *d, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
                             gboolean values, guint depth)
{
    P11muxTraceValue *list;
    gboolean certificate;
    CK_ULONG i;

    if (tmpl == NULL) {
        return count == 0 ? p11mux_trace_value_new(d, P11MUX_TRACE_LIST)
                          : p11mux_trace_value_new(d, P11MUX_TRACE_NULL);
    }
    list = p11mux_trace_value_new(d, P11MUX_TRACE_LIST);
    list->u.number = count;
    certificate = values && template_is_certificate(tmpl, count);
    for (i = 0; i < count && i < P11MUX_TRACE_LIST_MAX; i++) {
        p11mux_trace_value_add(list, NULL, decode_attr(d, &tmpl[i], values, certificate, depth));
    }
    return list;
}
