/*
 * Fuzz target: the policy matchers (src/policy/policy-mech.c, src/policy/policy-keys.c,
 * src/policy/policy-uri.c; the URIs in fuzz-policy-uri.c).  The input's first byte chooses a matcher, the
 * rest is its input:
 *
 *   0 mechanism lists: a name from the CKM_ index made into a glob by the
 *     next bytes, a CK_ULONG, then text: the allow list, a line break, the
 *     deny list;
 *   1 mechanism parameters: a mechanism (mostly one whose parameter p11mux
 *     reads), a length and the parameter's bytes;
 *   2 key sizes: a key family and a template of up to 8 attributes, each a
 *     type and a value, a length alone, or CK_UNAVAILABLE_INFORMATION;
 *   3 curves: the bytes are a CKA_EC_PARAMS value;
 *   4 URIs: a line of URIs, then an object's CKA_CLASS, CKA_LABEL and
 *     CKA_ID and the module, slot and token it lives on.
 *
 * Every buffer is allocated to its exact length (a zero-length one too), so
 * that ASan sees a read past any length given.  Invariants (abort on
 * violation):
 * - mechanisms: a name parses to its value alone, and a glob made from a
 *   name matches it; any value, formatted, parses back to itself; a list
 *   is the union of its items, sorted, without repeats, or is refused with
 *   a message and no set; what a policy allows is what the two sets say;
 * - parameters: CKR_OK or CKR_MECHANISM_PARAM_INVALID, the same twice; at
 *   most P11MUX_MECH_MAX_NAMED algorithms and keys, no key 0; a mechanism
 *   whose NULL parameter passes names nothing, whatever its parameter; a
 *   policy denying the mechanism or an algorithm it names refuses it;
 * - key sizes: 0 ("unknown") or a size an attribute of the family states
 *   (a *_BITS or CKA_VALUE_LEN value, 8 times a length, a known curve's);
 *   the same after attributes of other types are appended and absent ones
 *   (CK_UNAVAILABLE_INFORMATION) prepended; p11mux_template_ulong and
 *   _bool read only values of their exact size;
 * - curves: 0 or a known curve's size, and a known size only for a whole,
 *   well-formed DER value (never for a truncation of it); through a
 *   template the same; a length without a value gives 0;
 * - URIs: a list accepted for tokens is accepted for objects, and an
 *   object list naming no object attribute is accepted for tokens; an
 *   allow-list and a deny-list of the same URIs decide every object and
 *   token oppositely, and the same after parsing the list again;
 *   "pkcs11:" matches every object and token; a list naming no object
 *   attribute decides an object as its token; attribute order, unrelated
 *   attributes and absent entries do not matter, an absent attribute is
 *   an empty one; a URI made from an object's own label, id, class, token,
 *   slot and module matches it; an accepted URI holds nothing p11mux does
 *   not match on (it would be silently ignored).
 */
#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "constants.h"
#include "fuzz-policy.h"

/* ------------------------------------------------------------- memory */

/* What one input allocated: buffers of exact lengths (malloc(0) included). */
static GPtrArray *pool;

gpointer
fuzz_policy_alloc(gsize length)
{
    gpointer p = malloc(length);

    if (p == NULL && length > 0) {
        fuzz_fail("out of memory");
    }
    g_ptr_array_add(pool, p);
    return p;
}

gpointer
fuzz_policy_copy(const void *data, gsize length)
{
    gpointer p = fuzz_policy_alloc(length);

    if (length > 0) {
        memcpy(p, data, length);
    }
    return p;
}

guint8 *
fuzz_policy_take(FuzzInput *in, gsize length)
{
    guint8 *p = fuzz_policy_alloc(length);

    for (gsize i = 0; i < length; i++) {
        p[i] = fuzz_byte(in);
    }
    return p;
}

/* ------------------------------------------------------ mechanism lists */

static gboolean
contains(const GArray *set, CK_ULONG value)
{
    for (guint i = 0; set != NULL && i < set->len; i++) {
        if (g_array_index(set, CK_ULONG, i) == value) {
            return TRUE;
        }
    }
    return FALSE;
}

/* p11mux_mech_parse_list, its contract checked: a set sorted without
 * repeats, or NULL with a message and the set untouched. */
static GArray *
parse_mechanisms(const char *text)
{
    GArray *set = NULL;
    g_autofree char *problem = p11mux_mech_parse_list(text, &set);

    if (problem != NULL) {
        if (set != NULL || *problem == '\0') {
            fuzz_fail("'%s' refused without a message or with a set", text);
        }
        return NULL;
    }
    if (set == NULL) {
        fuzz_fail("'%s' accepted without a set", text);
    }
    for (guint i = 1; i < set->len; i++) {
        if (g_array_index(set, CK_ULONG, i - 1) >= g_array_index(set, CK_ULONG, i)) {
            fuzz_fail("the set of '%s' is not sorted without repeats", text);
        }
    }
    return set;
}

static void
expect_exactly(const char *text, CK_ULONG value)
{
    g_autoptr(GArray) set = parse_mechanisms(text);

    if (set == NULL || set->len != 1 || g_array_index(set, CK_ULONG, 0) != value) {
        fuzz_fail("'%s' is not the mechanism 0x%lx alone", text, value);
    }
}

/* name with '?' for some characters and '*' for some runs (each edit adds
 * a wildcard, so the result is a glob that must still match name) */
static char *
make_glob(const char *name, FuzzInput *in)
{
    GString *glob = g_string_new(name);
    guint edits = 1 + fuzz_below(in, 4);

    for (guint i = 0; i < edits; i++) {
        gsize at = fuzz_below(in, (guint)glob->len + 1);
        guint kind = fuzz_below(in, 3);

        if (kind == 0 && at < glob->len && glob->str[at] != '*') {
            glob->str[at] = '?';
        } else if (kind == 1) {
            gsize run = fuzz_below(in, 8);

            g_string_erase(glob, (gssize)at, (gssize)MIN(run, glob->len - at));
            g_string_insert_c(glob, (gssize)at, '*');
        } else {
            g_string_insert_c(glob, (gssize)at, '*');
        }
    }
    return g_string_free(glob, FALSE);
}

/* A name parses to its value; a glob made from it matches it.  The
 * CKM_VENDOR_DEFINED base is no mechanism: globs never match it. */
static void
check_own_name(FuzzInput *in)
{
    gsize n;
    const P11muxConstant *index = p11mux_constant_index(P11MUX_CONST_CKM, &n);
    guint pick = (guint)fuzz_byte(in) << 8 | fuzz_byte(in);
    const P11muxConstant *constant = &index[pick % n];
    g_autofree char *glob = make_glob(constant->name, in);
    g_autoptr(GArray) set = NULL;

    expect_exactly(constant->name, constant->value);
    if (constant->flags & P11MUX_CONSTANT_VENDOR_BASE) {
        return;
    }
    set = parse_mechanisms(glob);
    if (set == NULL || !contains(set, constant->value)) {
        fuzz_fail("the glob '%s' does not match %s", glob, constant->name);
    }
}

/* A list is the union of its items, each parsed alone. */
static GArray *
check_list(const char *text)
{
    GArray *set = parse_mechanisms(text);
    g_auto(GStrv) items = g_strsplit_set(text, " \t", -1);
    g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(CK_ULONG));
    gboolean every_item = TRUE;

    for (guint i = 0; every_item && items[i] != NULL; i++) {
        g_autoptr(GArray) one = items[i][0] != '\0' ? parse_mechanisms(items[i]) : NULL;

        every_item = items[i][0] == '\0' || one != NULL;
        if (one != NULL) {
            p11mux_mech_set_add_all(all, one);
        }
    }
    if ((set != NULL) != every_item) {
        fuzz_fail("'%s' is %s, but not each of its items", text, set ? "accepted" : "refused");
    }
    if (set != NULL &&
        (set->len != all->len ||
         (set->len > 0 && memcmp(set->data, all->data, set->len * sizeof(CK_ULONG)) != 0))) {
        fuzz_fail("'%s' is not the union of its items", text);
    }
    return set;
}

static void
check_decision(const P11muxPolicy *policy, CK_ULONG value)
{
    gboolean expected = !contains(policy->mech_deny, value) &&
                        (policy->mech_allow == NULL || contains(policy->mech_allow, value));

    if (p11mux_policy_allows_mechanism(policy, value) != expected) {
        fuzz_fail("mechanism 0x%lx: the policy says %d, its sets %d", value, !expected, expected);
    }
}

static void
check_sets(P11muxPolicy *policy, CK_ULONG extra)
{
    g_autoptr(GArray) both = NULL;
    const GArray *sets[] = {policy->mech_allow, policy->mech_deny};

    for (guint s = 0; s < G_N_ELEMENTS(sets); s++) {
        for (guint i = 0; sets[s] != NULL && i < sets[s]->len; i++) {
            CK_ULONG value = g_array_index(sets[s], CK_ULONG, i);

            check_decision(policy, value);
            check_decision(policy, value + 1);
        }
    }
    check_decision(policy, extra);
    if (policy->mech_allow != NULL) {
        both = p11mux_mech_set_intersect(policy->mech_allow, policy->mech_deny);
        for (guint i = 0; i < policy->mech_allow->len; i++) {
            CK_ULONG value = g_array_index(policy->mech_allow, CK_ULONG, i);

            if (contains(both, value) != contains(policy->mech_deny, value)) {
                fuzz_fail("the intersection is wrong about 0x%lx", value);
            }
        }
    }
}

static void
fuzz_mechanism_lists(FuzzInput *in)
{
    P11muxPolicy *policy = p11mux_policy_new("fuzz");
    CK_ULONG value;
    g_autofree char *formatted = NULL;
    g_autofree char *allow = NULL;
    g_autofree char *deny = NULL;
    GArray *denied;

    check_own_name(in);
    value = fuzz_ulong(in);
    formatted = p11mux_constant_format(P11MUX_CONST_CKM, value);
    expect_exactly(formatted, value);
    allow = fuzz_take_line(in);
    deny = fuzz_take_line(in);
    policy->mech_allow = check_list(allow); /* refused: absent, every mechanism */
    denied = check_list(deny);
    if (denied != NULL) {
        g_array_unref(policy->mech_deny);
        policy->mech_deny = denied;
    }
    check_sets(policy, value);
    p11mux_policy_free(policy);
}

/* ------------------------------------------------- mechanism parameters */

static const CK_MECHANISM_TYPE parameterised[] = {
    CKM_RSA_PKCS_OAEP,
    CKM_RSA_PKCS_PSS,
    CKM_SHA1_RSA_PKCS_PSS,
    CKM_SHA224_RSA_PKCS_PSS,
    CKM_SHA256_RSA_PKCS_PSS,
    CKM_SHA384_RSA_PKCS_PSS,
    CKM_SHA512_RSA_PKCS_PSS,
    CKM_RSA_AES_KEY_WRAP,
    CKM_ECDH1_DERIVE,
    CKM_ECDH1_COFACTOR_DERIVE,
    CKM_ECDH_AES_KEY_WRAP,
    CKM_X9_42_DH_DERIVE,
    CKM_X9_42_DH_HYBRID_DERIVE,
    CKM_X9_42_MQV_DERIVE,
    CKM_ECMQV_DERIVE,
    CKM_HKDF_DERIVE,
    CKM_HKDF_DATA,
    CKM_PKCS5_PBKD2,
    CKM_CONCATENATE_BASE_AND_KEY,
};

/* A parameter of the input's length and bytes.  The one pointer p11mux
 * follows (CK_RSA_AES_KEY_WRAP_PARAMS.pOAEPParams) points at a real
 * CK_RSA_PKCS_OAEP_PARAMS or is NULL: an application is honest about
 * memory, as any module must assume. */
static void
make_parameter(FuzzInput *in, CK_MECHANISM *mechanism)
{
    gsize length = fuzz_below(in, 2) ? sizeof(CK_ULONG) * fuzz_below(in, 11) : fuzz_below(in, 97);
    guint8 *param = fuzz_policy_take(in, length);
    gsize at = sizeof(CK_ULONG);

    if (mechanism->mechanism == CKM_RSA_AES_KEY_WRAP && length >= at + sizeof(void *)) {
        void *oaep =
            fuzz_below(in, 4) == 0 ? NULL : fuzz_policy_take(in, sizeof(CK_RSA_PKCS_OAEP_PARAMS));

        memcpy(param + at, &oaep, sizeof oaep);
    }
    mechanism->pParameter = fuzz_below(in, 16) == 0 ? NULL : param;
    mechanism->ulParameterLen = length;
}

static void
check_use(const CK_MECHANISM *mechanism, CK_RV rv, const P11muxMechUse *use)
{
    P11muxMechUse again;

    if (rv != CKR_OK && rv != CKR_MECHANISM_PARAM_INVALID) {
        fuzz_fail("mechanism 0x%lx: inspect answered 0x%lx", mechanism->mechanism, rv);
    }
    if (use->n_algorithms > P11MUX_MECH_MAX_NAMED || use->n_keys > P11MUX_MECH_MAX_NAMED) {
        fuzz_fail("mechanism 0x%lx: %u algorithms, %u keys", mechanism->mechanism,
                  use->n_algorithms, use->n_keys);
    }
    for (guint i = 0; i < use->n_keys; i++) {
        if (use->keys[i] == CK_INVALID_HANDLE) {
            fuzz_fail("mechanism 0x%lx names key 0", mechanism->mechanism);
        }
    }
    if (p11mux_mech_inspect(mechanism, &again) != rv || again.n_algorithms != use->n_algorithms ||
        again.n_keys != use->n_keys ||
        memcmp(again.algorithms, use->algorithms, sizeof use->algorithms) != 0 ||
        memcmp(again.keys, use->keys, sizeof use->keys) != 0) {
        fuzz_fail("mechanism 0x%lx: a second look differs", mechanism->mechanism);
    }
}

/* p11mux_policy_check_mechanism under a policy denying denied (nullable:
 * no rules). */
static CK_RV
check_with_deny(const CK_MECHANISM *mechanism, const CK_MECHANISM_TYPE *denied)
{
    P11muxPolicy *policy = p11mux_policy_new("fuzz");
    P11muxMechUse use;
    CK_RV rv;

    if (denied != NULL) {
        g_array_append_val(policy->mech_deny, *denied);
    }
    p11mux_policy_finish(policy);
    rv = p11mux_policy_check_mechanism(policy, mechanism, &use);
    p11mux_policy_free(policy);
    return rv;
}

/* What a policy with no rule but the closed world answers: an opaque or
 * unknown mechanism, or one whose parameter names an algorithm p11mux does
 * not know, is refused; else inspect's answer. */
static CK_RV
expected_without_rules(const CK_MECHANISM *mechanism, const P11muxMechParams *params, CK_RV rv,
                       const P11muxMechUse *use)
{
    if (params == NULL || params->klass == P11MUX_PARAM_OPAQUE) {
        return CKR_MECHANISM_INVALID;
    }
    for (guint i = 0; rv == CKR_OK && i < use->n_algorithms; i++) {
        const P11muxMechParams *named = p11mux_mech_params_lookup(use->algorithms[i], 0);

        if (named == NULL || named->klass == P11MUX_PARAM_OPAQUE) {
            return CKR_MECHANISM_INVALID;
        }
    }
    (void)mechanism;
    return rv;
}

static void
fuzz_mechanism_parameters(FuzzInput *in)
{
    CK_MECHANISM mechanism = {0};
    const P11muxMechParams *params;
    P11muxMechUse use;
    CK_RV rv;

    mechanism.mechanism = fuzz_below(in, 4) == 0
                              ? fuzz_ulong(in)
                              : parameterised[fuzz_below(in, G_N_ELEMENTS(parameterised))];
    make_parameter(in, &mechanism);
    params = p11mux_mech_params_lookup(mechanism.mechanism, 0);
    rv = p11mux_mech_inspect(&mechanism, &use);
    check_use(&mechanism, rv, &use);
    if (params != NULL && params->klass == P11MUX_PARAM_NONE &&
        (rv != (mechanism.ulParameterLen == 0 ? CKR_OK : CKR_MECHANISM_PARAM_INVALID) ||
         use.n_algorithms > 0 || use.n_keys > 0)) {
        fuzz_fail("mechanism 0x%lx takes no parameter, yet its parameter counts",
                  mechanism.mechanism);
    }
    if (check_with_deny(&mechanism, &mechanism.mechanism) != CKR_MECHANISM_INVALID) {
        fuzz_fail("a denied mechanism 0x%lx passes", mechanism.mechanism);
    }
    if (check_with_deny(&mechanism, NULL) != expected_without_rules(&mechanism, params, rv, &use)) {
        fuzz_fail("mechanism 0x%lx: the policy and inspect disagree", mechanism.mechanism);
    }
    for (guint i = 0; rv == CKR_OK && i < use.n_algorithms; i++) {
        if (check_with_deny(&mechanism, &use.algorithms[i]) != CKR_MECHANISM_INVALID) {
            fuzz_fail("mechanism 0x%lx passes though it names the denied 0x%lx",
                      mechanism.mechanism, use.algorithms[i]);
        }
    }
}

/* ------------------------------------------------------------ key sizes */

/* Where each family's size is stated (the contract of p11mux_key_bits). */
typedef struct {
    CK_ATTRIBUTE_TYPE bits;   /* a number: of bits (unit 1) or bytes (unit 8); 0: none */
    CK_ATTRIBUTE_TYPE length; /* a value whose length is the size; 0: none */
    CK_ULONG unit;
    gboolean curve; /* CKA_EC_PARAMS */
} SizeSource;

static SizeSource
size_source(P11muxKeyFamily family)
{
    switch (family) {
    case P11MUX_KEY_RSA:
        return (SizeSource){CKA_MODULUS_BITS, CKA_MODULUS, 1, FALSE};
    case P11MUX_KEY_DSA:
    case P11MUX_KEY_DH:
        return (SizeSource){CKA_PRIME_BITS, CKA_PRIME, 1, FALSE};
    case P11MUX_KEY_EC:
    case P11MUX_KEY_EC_EDWARDS:
    case P11MUX_KEY_EC_MONTGOMERY:
        return (SizeSource){0, 0, 0, TRUE};
    default:
        return (SizeSource){CKA_VALUE_LEN, CKA_VALUE, 8, FALSE};
    }
}

static gboolean
is_source(const SizeSource *source, CK_ATTRIBUTE_TYPE type)
{
    return type == source->bits || type == source->length ||
           (source->curve && type == CKA_EC_PARAMS);
}

static const CK_ULONG curve_sizes[] = {192, 224, 255, 256, 320, 384, 448, 512, 521};

static gboolean
is_curve_size(CK_ULONG bits)
{
    for (gsize i = 0; i < G_N_ELEMENTS(curve_sizes); i++) {
        if (curve_sizes[i] == bits) {
            return TRUE;
        }
    }
    return FALSE;
}

/* Whether attr of a family's source states bits. */
static gboolean
states(const SizeSource *source, const CK_ATTRIBUTE *attr, CK_ULONG bits)
{
    CK_ULONG number;

    if (attr->ulValueLen == CK_UNAVAILABLE_INFORMATION) {
        return FALSE;
    }
    if (attr->type == source->bits && attr->pValue != NULL && attr->ulValueLen == sizeof number) {
        memcpy(&number, attr->pValue, sizeof number);
        return number * source->unit == bits;
    }
    if (attr->type == source->length) {
        return attr->ulValueLen * 8 == bits;
    }
    return source->curve && attr->type == CKA_EC_PARAMS && attr->pValue != NULL &&
           p11mux_key_curve_bits(attr->pValue, attr->ulValueLen) == bits;
}

static const CK_ATTRIBUTE_TYPE size_types[] = {
    CKA_MODULUS_BITS, CKA_MODULUS, CKA_PRIME_BITS, CKA_PRIME,
    CKA_VALUE_LEN,    CKA_VALUE,   CKA_EC_PARAMS,  CKA_CLASS,
};

static void
make_attribute(FuzzInput *in, CK_ATTRIBUTE *attr)
{
    guint choice = fuzz_below(in, G_N_ELEMENTS(size_types) + 1);
    CK_ULONG number;

    attr->type = choice < G_N_ELEMENTS(size_types) ? size_types[choice] : fuzz_ulong(in);
    switch (fuzz_below(in, 8)) {
    case 0: /* unavailable: no value, or a buffer it must not read */
        attr->pValue = fuzz_below(in, 2) ? NULL : fuzz_policy_alloc(0);
        attr->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        break;
    case 1: /* a length alone, as C_GetAttributeValue with no buffer gives it */
        attr->pValue = NULL;
        attr->ulValueLen = fuzz_below(in, 4) == 0 ? fuzz_ulong(in) : fuzz_byte(in);
        break;
    case 2: /* a number of bits or bytes */
        number = fuzz_below(in, 4) == 0 ? fuzz_ulong(in) : (CK_ULONG)fuzz_byte(in) << 4;
        attr->pValue = fuzz_policy_copy(&number, sizeof number);
        attr->ulValueLen = sizeof number;
        break;
    default: /* a value: up to 1279 bytes (an RSA modulus of 8192 bits is 1024) */
        attr->ulValueLen = fuzz_byte(in) | (CK_ULONG)fuzz_below(in, 5) << 8;
        attr->pValue = fuzz_policy_take(in, attr->ulValueLen);
        break;
    }
}

/* p11mux_template_ulong and _bool read only values of their exact size,
 * from the first entry of the type that is not unavailable. */
static void
check_template_readers(const CK_ATTRIBUTE *attrs, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
    const CK_ATTRIBUTE *first = p11mux_template_find(attrs, n, type);
    CK_ULONG number;
    CK_BBOOL flag;

    for (CK_ULONG i = 0; first == NULL && i < n; i++) {
        if (attrs[i].type == type && attrs[i].ulValueLen != CK_UNAVAILABLE_INFORMATION) {
            fuzz_fail("p11mux_template_find missed attribute 0x%lx", type);
        }
    }
    if (p11mux_template_ulong(attrs, n, type, &number) &&
        (first == NULL || first->pValue == NULL || first->ulValueLen != sizeof number)) {
        fuzz_fail("attribute 0x%lx read as a CK_ULONG", type);
    }
    if (p11mux_template_bool(attrs, n, type, &flag) &&
        (first == NULL || first->pValue == NULL || first->ulValueLen != sizeof flag)) {
        fuzz_fail("attribute 0x%lx read as a CK_BBOOL", type);
    }
}

/* The size is 0 or one an attribute of the family states. */
static void
check_stated(P11muxKeyFamily family, const CK_ATTRIBUTE *attrs, CK_ULONG n, CK_ULONG bits)
{
    SizeSource source = size_source(family);

    if (bits == 0) {
        return;
    }
    if (source.curve && !is_curve_size(bits)) {
        fuzz_fail("%s key of %lu bits: no such curve", p11mux_key_family_name(family), bits);
    }
    for (CK_ULONG i = 0; i < n; i++) {
        if (states(&source, &attrs[i], bits)) {
            return;
        }
    }
    fuzz_fail("%s key of %lu bits: no attribute says so", p11mux_key_family_name(family), bits);
}

/* The same size with absent entries of the family's types first and
 * attributes of other types last. */
static void
check_irrelevant(P11muxKeyFamily family, const CK_ATTRIBUTE *attrs, CK_ULONG n, CK_ULONG bits)
{
    SizeSource source = size_source(family);
    CK_ATTRIBUTE *more = fuzz_policy_alloc((n + 2 * G_N_ELEMENTS(size_types)) * sizeof *more);
    CK_ULONG m = 0;

    for (gsize t = 0; t < G_N_ELEMENTS(size_types); t++) {
        if (is_source(&source, size_types[t])) {
            more[m++] = (CK_ATTRIBUTE){size_types[t], NULL, CK_UNAVAILABLE_INFORMATION};
        }
    }
    memcpy(more + m, attrs, n * sizeof *attrs);
    m += n;
    for (gsize t = 0; t < G_N_ELEMENTS(size_types); t++) {
        if (!is_source(&source, size_types[t])) {
            more[m++] = (CK_ATTRIBUTE){size_types[t], fuzz_policy_alloc(0), 0};
        }
    }
    if (p11mux_key_bits(family, more, m) != bits) {
        fuzz_fail("%s key of %lu bits: other attributes change its size",
                  p11mux_key_family_name(family), bits);
    }
}

static void
fuzz_key_sizes(FuzzInput *in)
{
    P11muxKeyFamily family = fuzz_below(in, P11MUX_KEY_N_FAMILIES);
    CK_ULONG n = fuzz_below(in, 9);
    CK_ATTRIBUTE *attrs = fuzz_policy_alloc(n * sizeof *attrs);
    CK_ULONG bits;

    for (CK_ULONG i = 0; i < n; i++) {
        make_attribute(in, &attrs[i]);
    }
    bits = p11mux_key_bits(family, attrs, n);
    if (p11mux_key_bits(family, attrs, n) != bits) {
        fuzz_fail("a key's size changes from one look to the next");
    }
    check_stated(family, attrs, n, bits);
    check_irrelevant(family, attrs, n, bits);
    for (gsize t = 0; t < G_N_ELEMENTS(size_types); t++) {
        check_template_readers(attrs, n, size_types[t]);
    }
}

/* --------------------------------------------------------------- curves */

/* A whole DER value of tag OBJECT IDENTIFIER or PrintableString, in the
 * short length form (every known curve's), ending where its length says. */
static gboolean
is_whole_der(const guint8 *der, gsize length)
{
    return length >= 2 && (der[0] == 0x06 || der[0] == 0x13) && der[1] < 0x80 &&
           der[1] == length - 2;
}

static void
fuzz_curves(FuzzInput *in)
{
    gsize length = in->size - in->pos;
    const guint8 *der = fuzz_policy_take(in, length);
    CK_ULONG bits = p11mux_key_curve_bits(der, length);

    if (bits != 0 && (!is_curve_size(bits) || !is_whole_der(der, length))) {
        fuzz_fail("%zu bytes of EC parameters named a curve of %lu bits", length, bits);
    }
    for (gsize cut = 0; bits != 0 && cut < length; cut++) {
        if (p11mux_key_curve_bits(fuzz_policy_copy(der, cut), cut) != 0) {
            fuzz_fail("the first %zu of %zu bytes of a curve name a curve", cut, length);
        }
    }
    for (P11muxKeyFamily f = P11MUX_KEY_EC; f <= P11MUX_KEY_EC_MONTGOMERY; f++) {
        CK_ATTRIBUTE value = {CKA_EC_PARAMS, (void *)der, length};
        CK_ATTRIBUTE length_only = {CKA_EC_PARAMS, NULL, length};

        if (p11mux_key_bits(f, &value, 1) != bits) {
            fuzz_fail("a template's EC parameters give another size than the curve's");
        }
        if (p11mux_key_bits(f, &length_only, 1) != 0) {
            fuzz_fail("EC parameters without a value give a size");
        }
    }
}

/* ---------------------------------------------------------------- entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = {data, size, 0};

    pool = g_ptr_array_new_with_free_func(free);
    switch (fuzz_byte(&in) % 5) {
    case 0:
        fuzz_mechanism_lists(&in);
        break;
    case 1:
        fuzz_mechanism_parameters(&in);
        break;
    case 2:
        fuzz_key_sizes(&in);
        break;
    case 3:
        fuzz_curves(&in);
        break;
    default:
        fuzz_policy_uris(&in);
        break;
    }
    g_ptr_array_unref(pool);
    return 0;
}
