/*
 * Key sizes (policy-keys.c): the families min-key-bits names, and the size
 * of a key as a template or the attributes read from a key describe it;
 * the attribute lookups in templates that go with them.
 */
#ifndef P11MUX_POLICY_KEYS_H
#define P11MUX_POLICY_KEYS_H

#include <glib.h>

#include "p11mux-pkcs11.h"

G_BEGIN_DECLS

typedef enum {
    P11MUX_KEY_RSA,
    P11MUX_KEY_DSA,
    P11MUX_KEY_DH,
    P11MUX_KEY_EC,
    P11MUX_KEY_EC_EDWARDS,
    P11MUX_KEY_EC_MONTGOMERY,
    P11MUX_KEY_AES,
    P11MUX_KEY_AES_XTS,
    P11MUX_KEY_GENERIC,
    P11MUX_KEY_CAMELLIA,
    P11MUX_KEY_ARIA,
    P11MUX_KEY_ML_KEM,  /* sized by parameter set: 512, 768, 1024 */
    P11MUX_KEY_ML_DSA,  /* 44, 65, 87 */
    P11MUX_KEY_SLH_DSA, /* 128, 192, 256 */
    P11MUX_KEY_N_FAMILIES,
    P11MUX_KEY_NONE = P11MUX_KEY_N_FAMILIES
} P11muxKeyFamily;

/* "rsa", ... (transfer none) */
const char *p11mux_key_family_name(P11muxKeyFamily family);

/* The family of a CKK_ key type; P11MUX_KEY_NONE when none has a size rule. */
P11muxKeyFamily p11mux_key_family_of_type(CK_KEY_TYPE type);

/* The family a mechanism's keys belong to, and whether its
 * CK_MECHANISM_INFO key sizes are in bytes (AES) rather than bits. */
P11muxKeyFamily p11mux_key_family_of_mechanism(CK_MECHANISM_TYPE type, gboolean *in_bytes);

/* Whether family's size is the number in its parameter set's name
 * (ML-KEM-768: 768), read from CKA_PARAMETER_SET, rather than bits. */
gboolean p11mux_key_family_by_parameter_set(P11muxKeyFamily family);

/* One min-key-bits item ("rsa:2048", "ml-kem:768"); NULL on success, else
 * why not (transfer full). */
char *p11mux_key_parse_min(const char *item, P11muxKeyFamily *family, CK_ULONG *bits);

/* Bits of the curve named by DER CKA_EC_PARAMS (an OID or, for the Edwards
 * and Montgomery curves, a PrintableString); 0 when not known. */
CK_ULONG p11mux_key_curve_bits(const guint8 *der, gsize len);

/*
 * The size in bits of a key of family described by attrs (a template, or
 * attributes read from a key): CKA_MODULUS_BITS or CKA_MODULUS (RSA),
 * CKA_PRIME_BITS or CKA_PRIME (DSA, DH), CKA_EC_PARAMS (curves),
 * CKA_VALUE_LEN or CKA_VALUE (secret keys), CKA_PARAMETER_SET (ML-KEM,
 * ML-DSA, SLH-DSA: the number in the set's name).  0 when attrs do not say.
 * Entries whose ulValueLen is CK_UNAVAILABLE_INFORMATION are absent.
 */
CK_ULONG p11mux_key_bits(P11muxKeyFamily family, const CK_ATTRIBUTE *attrs, CK_ULONG n);

/* The value of attribute type in a template: TRUE and *out when present with
 * a value of sizeof(CK_ULONG) (or CK_BBOOL for booleans). */
gboolean p11mux_template_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                               CK_ULONG *out);
gboolean p11mux_template_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                              CK_BBOOL *out);
const CK_ATTRIBUTE *p11mux_template_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                         CK_ATTRIBUTE_TYPE type);

G_END_DECLS

#endif /* P11MUX_POLICY_KEYS_H */
