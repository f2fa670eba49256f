/*
 * Mechanisms in the trace: the name, the parameter's length, and the
 * parameter's fields for the mechanisms listed in mechanism_param_kind()
 * (OAEP, PSS, GCM, CTR, ECDH derivation, the IV of CBC-like modes), only
 * when the parameter has its structure's size.  Any other parameter is
 * written as its length: it may hold a secret (a PBE password, derivation
 * data).
 */
#include "config.h"

#include "trace-decoder.h"

static void
decode_oaep(P11muxTraceDecoder *d, P11muxTraceValue *s, const CK_RSA_PKCS_OAEP_PARAMS *p)
{
    p11mux_trace_value_add(s, "hashAlg",
                           p11mux_trace_value_constant(d, P11MUX_CONST_CKM, p->hashAlg));
    p11mux_trace_value_add(s, "mgf", p11mux_trace_value_constant(d, P11MUX_CONST_CKG, p->mgf));
    p11mux_trace_value_add(s, "source",
                           p11mux_trace_value_constant(d, P11MUX_CONST_CKZ, p->source));
    p11mux_trace_value_add(s, "pSourceData",
                           p11mux_trace_value_public(d, p->pSourceData, p->ulSourceDataLen));
}

static void
decode_pss(P11muxTraceDecoder *d, P11muxTraceValue *s, const CK_RSA_PKCS_PSS_PARAMS *p)
{
    p11mux_trace_value_add(s, "hashAlg",
                           p11mux_trace_value_constant(d, P11MUX_CONST_CKM, p->hashAlg));
    p11mux_trace_value_add(s, "mgf", p11mux_trace_value_constant(d, P11MUX_CONST_CKG, p->mgf));
    p11mux_trace_value_add(s, "sLen", p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, p->sLen));
}

static void
decode_gcm(P11muxTraceDecoder *d, P11muxTraceValue *s, const CK_GCM_PARAMS *p)
{
    p11mux_trace_value_add(s, "pIv", p11mux_trace_value_public(d, p->pIv, p->ulIvLen));
    p11mux_trace_value_add(s, "ulIvBits",
                           p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, p->ulIvBits));
    p11mux_trace_value_add(s, "pAAD", p11mux_trace_value_public(d, p->pAAD, p->ulAADLen));
    p11mux_trace_value_add(s, "ulTagBits",
                           p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, p->ulTagBits));
}

static void
decode_ctr(P11muxTraceDecoder *d, P11muxTraceValue *s, const CK_AES_CTR_PARAMS *p)
{
    p11mux_trace_value_add(s, "ulCounterBits",
                           p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, p->ulCounterBits));
    p11mux_trace_value_add(s, "cb", p11mux_trace_value_public(d, p->cb, sizeof(p->cb)));
}

static void
decode_ecdh(P11muxTraceDecoder *d, P11muxTraceValue *s, const CK_ECDH1_DERIVE_PARAMS *p)
{
    p11mux_trace_value_add(s, "kdf", p11mux_trace_value_constant(d, P11MUX_CONST_CKD, p->kdf));
    p11mux_trace_value_add(s, "pSharedData",
                           p11mux_trace_value_public(d, p->pSharedData, p->ulSharedDataLen));
    p11mux_trace_value_add(s, "pPublicData",
                           p11mux_trace_value_public(d, p->pPublicData, p->ulPublicDataLen));
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
decode_mechanism_param(P11muxTraceDecoder *d, P11muxTraceValue *s, const CK_MECHANISM *m)
{
    const void *p = m->pParameter;
    CK_ULONG n = m->ulParameterLen;

    switch (mechanism_param_kind(m->mechanism)) {
    case PARAM_IV:
        p11mux_trace_value_add(s, "iv", p11mux_trace_value_public(d, p, n));
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

P11muxTraceValue *
p11mux_trace_decode_mechanism(P11muxTraceDecoder *d, const CK_MECHANISM *m, gboolean with_param)
{
    P11muxTraceValue *s;

    if (m == NULL) {
        return p11mux_trace_value_new(d, P11MUX_TRACE_NULL);
    }
    s = p11mux_trace_value_new(d, P11MUX_TRACE_STRUCT);
    p11mux_trace_value_add(s, "mechanism",
                           p11mux_trace_value_constant(d, P11MUX_CONST_CKM, m->mechanism));
    p11mux_trace_value_add(s, "param_len",
                           p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, m->ulParameterLen));
    if (with_param) {
        decode_mechanism_param(d, s, m);
    }
    return s;
}
