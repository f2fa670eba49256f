/*
 * Handles and templates: every role key and object argument is checked
 * against the object rules, key sizes and force-sensitive; every template of
 * a function that creates or changes objects against read-only,
 * force-sensitive, min-key-bits and the object rules; and what a creating
 * call made is read back and checked again, since a backend is not trusted
 * to have honoured the template (an object that fails is destroyed).
 *
 * Safe behaviour chosen for changes (p11mux.conf(5), "What the application sees when policy says no"): p11mux computes what
 * an object would look like after C_SetAttributeValue or C_CopyObject (its
 * attributes with the template over them) and refuses the call with
 * CKR_ATTRIBUTE_READ_ONLY if the policy would hide the result; a hidden
 * object's handle is invalid, so nothing hidden can be made visible.  An
 * object the policy would hide cannot be created (CKR_TEMPLATE_INCONSISTENT).
 */
#include "config.h"

#include <string.h>

#include "policy-private.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxObjectInfo, p11mux_object_info_unref)

/* The handle-invalid code the specification names for a handle argument. */
static CK_RV
invalid_code(const P11muxParamDesc *param)
{
    switch (param->role) {
    case P11MUX_ROLE_WRAPPING_KEY:
        return CKR_WRAPPING_KEY_HANDLE_INVALID;
    case P11MUX_ROLE_UNWRAPPING_KEY:
        return CKR_UNWRAPPING_KEY_HANDLE_INVALID;
    default:
        return p11mux_role_is_key(param->role) ? CKR_KEY_HANDLE_INVALID : CKR_OBJECT_HANDLE_INVALID;
    }
}

/* Below the policy's minimum for its family, or of unknown size where one applies. */
static gboolean
too_small(const P11muxPolicy *policy, const P11muxObjectInfo *info)
{
    P11muxKeyFamily family = p11mux_key_family_of_type(info->key_type);

    if (family == P11MUX_KEY_NONE || policy->min_bits[family] == 0) {
        return FALSE;
    }
    return info->bits == 0 || info->bits < policy->min_bits[family];
}

gboolean
p11mux_policy_changes_existing(const P11muxFunctionDesc *desc)
{
    return desc->writes && p11mux_policy_find_param(desc, P11MUX_ROLE_OBJECT_OUT, 0) < 0;
}

/* One handle argument: visible, big enough, exportable, writable. */
static CK_RV
check_handle(P11muxPolicyCall *call, const P11muxPolicy *policy, const P11muxParamDesc *param,
             CK_OBJECT_HANDLE handle)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    g_autoptr(P11muxObjectInfo) info = NULL;
    CK_RV rv = p11mux_policy_object_info(call, policy, handle, &info);

    if (rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID) {
        return invalid_code(param);
    }
    if (rv != CKR_OK) {
        return rv;
    }
    if (!info->visible) {
        return invalid_code(param);
    }
    if (p11mux_role_is_key(param->role) && too_small(policy, info)) {
        return CKR_KEY_SIZE_RANGE;
    }
    if (policy->force_sensitive && param->role == P11MUX_ROLE_EXPORTED_KEY &&
        info->extractable != 1) {
        return CKR_KEY_UNEXTRACTABLE;
    }
    if (policy->read_only && p11mux_policy_changes_existing(desc) && info->token != 0) {
        return CKR_TOKEN_WRITE_PROTECTED;
    }
    return CKR_OK;
}

gboolean
p11mux_policy_decides_on(const P11muxPolicy *policy, const P11muxFunctionDesc *desc,
                         const P11muxParamDesc *param)
{
    return policy->has_object_rules || (p11mux_role_is_key(param->role) && policy->has_key_rules) ||
           (policy->force_sensitive && param->role == P11MUX_ROLE_EXPORTED_KEY) ||
           (policy->read_only && p11mux_policy_changes_existing(desc));
}

CK_RV
p11mux_policy_check_handles(P11muxPolicyCall *call, const P11muxPolicy *policy)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    CK_RV rv = CKR_OK;
    guint i;

    if (!policy->reads_objects) {
        return CKR_OK;
    }
    for (i = 0; rv == CKR_OK && i < desc->n_params; i++) {
        const P11muxParamDesc *param = &desc->params[i];
        CK_OBJECT_HANDLE handle;

        if ((!p11mux_role_is_key(param->role) && param->role != P11MUX_ROLE_OBJECT) ||
            !p11mux_policy_decides_on(policy, desc, param)) {
            continue;
        }
        /* (C_SetOperationState's keys, where 0 says "no key", never get
         * here: saved state is refused under every policy) */
        handle = P11MUX_ARG(call, i, CK_OBJECT_HANDLE);
        rv = check_handle(call, policy, param, handle);
    }
    return rv;
}

/* A key named inside a mechanism parameter (salt keys, MQV keys, ...). */
CK_RV
p11mux_policy_check_param_key(P11muxPolicyCall *call, const P11muxPolicy *policy, CK_OBJECT_HANDLE key)
{
    static const P11muxParamDesc param = {"CK_OBJECT_HANDLE", "pParameter", P11MUX_ROLE_KEY, -1,
                                          NULL};

    if (!p11mux_policy_decides_on(policy, p11mux_policy_fn(call), &param)) {
        return CKR_OK;
    }
    return check_handle(call, policy, &param, key);
}

/* ----------------------------------------------------------- templates */

static CK_BBOOL true_value = CK_TRUE;
static CK_BBOOL false_value = CK_FALSE;

/*
 * What a template of a key-making function makes when it does not say,
 * from the roles: a function with a mechanism and an object out makes keys
 * (generate, unwrap, derive, encapsulate, decapsulate); with two templates a
 * public and a private key, with one a secret key.  One that takes no key
 * generates: its mechanism says the key's type.
 */
static gboolean
makes_keys(const P11muxFunctionDesc *desc)
{
    return p11mux_policy_find_param(desc, P11MUX_ROLE_MECHANISM, 0) >= 0 &&
           p11mux_policy_find_param(desc, P11MUX_ROLE_OBJECT_OUT, 0) >= 0;
}

static gboolean
generates(const P11muxFunctionDesc *desc)
{
    guint i;

    for (i = 0; i < desc->n_params; i++) {
        if (p11mux_role_is_key(desc->params[i].role)) {
            return FALSE;
        }
    }
    return makes_keys(desc);
}

static CK_OBJECT_CLASS
default_class(const P11muxFunctionDesc *desc, guint position)
{
    int first = p11mux_policy_find_param(desc, P11MUX_ROLE_TEMPLATE, 0);
    gboolean pair = first >= 0 && p11mux_policy_find_param(desc, P11MUX_ROLE_TEMPLATE, first + 1) >= 0;

    if (!makes_keys(desc) || position > 1) {
        return CK_UNAVAILABLE_INFORMATION;
    }
    if (pair) {
        return position == 0 ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY;
    }
    return CKO_SECRET_KEY;
}

/* What one template describes, with what the call and its source add. */
typedef struct {
    int index; /* of the template parameter */
    CK_ATTRIBUTE_PTR tmpl;
    CK_ULONG n;
    guint position;                 /* among the call's templates */
    const P11muxObjectInfo *source; /* C_CopyObject's object, else NULL */
    CK_OBJECT_CLASS klass;          /* CK_UNAVAILABLE_INFORMATION: unknown */
} Made;

static CK_OBJECT_CLASS
made_class(const P11muxPolicyCall *call, const Made *made)
{
    CK_ULONG klass;

    if (p11mux_template_ulong(made->tmpl, made->n, CKA_CLASS, &klass)) {
        return klass;
    }
    if (made->source != NULL) {
        return made->source->klass;
    }
    return default_class(p11mux_policy_fn(call), made->position);
}

static gboolean
weakens(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_BBOOL value;

    return (p11mux_template_bool(tmpl, n, CKA_SENSITIVE, &value) && !value) ||
           (p11mux_template_bool(tmpl, n, CKA_EXTRACTABLE, &value) && value);
}

static gboolean
is_private_or_secret(CK_OBJECT_CLASS klass)
{
    return klass == CKO_PRIVATE_KEY || klass == CKO_SECRET_KEY;
}

CK_RV
p11mux_policy_complete_template(P11muxPolicyCall *call, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                CK_ATTRIBUTE **out, CK_ULONG *out_n)
{
    gboolean has_sensitive = p11mux_template_find(tmpl, n, CKA_SENSITIVE) != NULL;
    gboolean has_extractable = p11mux_template_find(tmpl, n, CKA_EXTRACTABLE) != NULL;
    CK_ATTRIBUTE_PTR made;

    *out = (CK_ATTRIBUTE *)tmpl;
    *out_n = n;
    if (has_sensitive && has_extractable) {
        return CKR_OK;
    }
    made = p11mux_policy_call_alloc(call, n + 2, sizeof(CK_ATTRIBUTE));
    if (made == NULL) {
        return CKR_HOST_MEMORY;
    }
    if (n > 0) {
        memcpy(made, tmpl, n * sizeof(CK_ATTRIBUTE));
    }
    if (!has_sensitive) {
        made[(*out_n)++] = (CK_ATTRIBUTE){CKA_SENSITIVE, &true_value, sizeof true_value};
    }
    if (!has_extractable) {
        made[(*out_n)++] = (CK_ATTRIBUTE){CKA_EXTRACTABLE, &false_value, sizeof false_value};
    }
    *out = made;
    return CKR_OK;
}

/* The template completed as p11mux_policy_complete_template does; the
 * backend sees the new one. */
static CK_RV
complete_template(P11muxPolicyCall *call, const Made *made)
{
    const P11muxParamDesc *param = &p11mux_policy_fn(call)->params[made->index];
    CK_ATTRIBUTE_PTR tmpl;
    CK_ULONG n;
    CK_RV rv = p11mux_policy_complete_template(call, made->tmpl, made->n, &tmpl, &n);

    if (rv != CKR_OK || tmpl == made->tmpl) {
        return rv;
    }
    p11mux_policy_redirect(call, made->index, &tmpl);
    p11mux_policy_redirect(call, param->ref, &n);
    return CKR_OK;
}

/* CKA_CLASS, CKA_LABEL and CKA_ID of what would exist: base, template over it. */
static void
would_be(const P11muxObjectInfo *base, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
         const CK_OBJECT_CLASS *klass, CK_ATTRIBUTE out[3])
{
    static const CK_ATTRIBUTE_TYPE types[] = {CKA_CLASS, CKA_LABEL, CKA_ID};
    guint i;

    for (i = 0; i < 3; i++) {
        const CK_ATTRIBUTE *given = p11mux_template_find(tmpl, n, types[i]);

        out[i] = base != NULL ? base->match[i]
                              : (CK_ATTRIBUTE){types[i], NULL, CK_UNAVAILABLE_INFORMATION};
        if (given != NULL) {
            out[i] = *given;
        }
    }
    if (klass != NULL && *klass != CK_UNAVAILABLE_INFORMATION) {
        out[0] = (CK_ATTRIBUTE){CKA_CLASS, (void *)klass, sizeof *klass};
    }
}

static P11muxKeyFamily
made_family(P11muxPolicyCall *call, const Made *made)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    int mech = p11mux_policy_find_param(desc, P11MUX_ROLE_MECHANISM, 0);
    CK_MECHANISM_PTR mechanism;
    CK_ULONG type;
    gboolean in_bytes;

    if (p11mux_template_ulong(made->tmpl, made->n, CKA_KEY_TYPE, &type)) {
        return p11mux_key_family_of_type(type);
    }
    if (made->source != NULL) {
        return p11mux_key_family_of_type(made->source->key_type);
    }
    mechanism = mech >= 0 ? P11MUX_ARG(call, mech, CK_MECHANISM_PTR) : NULL;
    if (mechanism != NULL && generates(desc)) {
        return p11mux_key_family_of_mechanism(mechanism->mechanism, &in_bytes);
    }
    return P11MUX_KEY_NONE;
}

/* A size the template states, below the minimum (an unstated one is
 * checked on the object made). */
static gboolean
states_small_key(P11muxPolicyCall *call, const P11muxPolicy *policy, const Made *made)
{
    P11muxKeyFamily family = made_family(call, made);
    CK_ULONG bits;

    if (family == P11MUX_KEY_NONE || policy->min_bits[family] == 0) {
        return FALSE;
    }
    bits = p11mux_key_bits(family, made->tmpl, made->n);
    return bits != 0 && bits < policy->min_bits[family];
}

/* Everything check_made decides but completing the template. */
static CK_RV
judge_made(P11muxPolicyCall *call, const P11muxPolicy *policy, Made *made)
{
    CK_RV refused = made->source != NULL ? CKR_ATTRIBUTE_READ_ONLY : CKR_TEMPLATE_INCONSISTENT;
    CK_BBOOL token = made->source != NULL && made->source->token != 0;
    CK_ATTRIBUTE attrs[3];

    made->klass = made_class(call, made);
    (void)p11mux_template_bool(made->tmpl, made->n, CKA_TOKEN, &token);
    if (policy->read_only && token) {
        return CKR_TOKEN_WRITE_PROTECTED;
    }
    if (policy->force_sensitive && is_private_or_secret(made->klass) &&
        weakens(made->tmpl, made->n)) {
        return refused;
    }
    would_be(made->source, made->tmpl, made->n, &made->klass, attrs);
    if (!p11mux_policy_object_visible(call, policy, attrs, 3)) {
        return refused;
    }
    if (states_small_key(call, policy, made)) {
        return CKR_KEY_SIZE_RANGE;
    }
    return CKR_OK;
}

static CK_RV
check_made(P11muxPolicyCall *call, const P11muxPolicy *policy, Made *made)
{
    CK_RV rv = judge_made(call, policy, made);

    if (rv == CKR_OK && policy->force_sensitive && is_private_or_secret(made->klass)) {
        return complete_template(call, made);
    }
    return rv;
}

CK_RV
p11mux_policy_judge_param_template(P11muxPolicyCall *call, const P11muxPolicy *policy,
                                   const CK_ATTRIBUTE *tmpl, CK_ULONG n, gboolean *complete)
{
    /* a key the derivation makes beside the call's own: a secret key
     * unless the template says otherwise */
    Made made = {-1, (CK_ATTRIBUTE_PTR)tmpl, n, 1, NULL, CK_UNAVAILABLE_INFORMATION};
    CK_RV rv = judge_made(call, policy, &made);

    *complete = rv == CKR_OK && policy->force_sensitive && is_private_or_secret(made.klass);
    return rv;
}

static CK_RV
check_creation(P11muxPolicyCall *call, const P11muxPolicy *policy, const P11muxObjectInfo *source)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    Made made = {-1};
    CK_RV rv = CKR_OK;
    guint position = 0;

    while (rv == CKR_OK && (made.index = p11mux_policy_find_param(desc, P11MUX_ROLE_TEMPLATE,
                                                                  made.index + 1)) >= 0) {
        made.tmpl = P11MUX_ARG(call, made.index, CK_ATTRIBUTE_PTR);
        made.n = P11MUX_ARG(call, desc->params[made.index].ref, CK_ULONG);
        if (made.tmpl == NULL && made.n > 0) {
            return CKR_OK; /* the backend answers CKR_ARGUMENTS_BAD */
        }
        made.position = position++;
        made.source = source;
        rv = check_made(call, policy, &made);
    }
    return rv;
}

/* C_SetAttributeValue: no token flag, no weakening, not into hiding. */
static CK_RV
check_change(P11muxPolicyCall *call, const P11muxPolicy *policy, const P11muxObjectInfo *info)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    int index = p11mux_policy_find_param(desc, P11MUX_ROLE_TEMPLATE, 0);
    CK_ATTRIBUTE_PTR tmpl = index >= 0 ? P11MUX_ARG(call, index, CK_ATTRIBUTE_PTR) : NULL;
    CK_ULONG n = index >= 0 ? P11MUX_ARG(call, desc->params[index].ref, CK_ULONG) : 0;
    CK_ATTRIBUTE attrs[3];
    CK_BBOOL token;

    if (tmpl == NULL) {
        return CKR_OK;
    }
    if (policy->read_only && p11mux_template_bool(tmpl, n, CKA_TOKEN, &token) && token) {
        return CKR_TOKEN_WRITE_PROTECTED;
    }
    if (policy->force_sensitive && p11mux_object_info_is_key(info) && weakens(tmpl, n)) {
        return CKR_ATTRIBUTE_READ_ONLY;
    }
    would_be(info, tmpl, n, NULL, attrs);
    if (!p11mux_policy_object_visible(call, policy, attrs, 3)) {
        return CKR_ATTRIBUTE_READ_ONLY;
    }
    return CKR_OK;
}

CK_RV
p11mux_policy_check_templates(P11muxPolicyCall *call, const P11muxPolicy *policy)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    int object = p11mux_policy_find_param(desc, P11MUX_ROLE_OBJECT, 0);
    g_autoptr(P11muxObjectInfo) info = NULL;
    CK_RV rv;

    if (!desc->writes) {
        return CKR_OK;
    }
    if (p11mux_policy_find_param(desc, P11MUX_ROLE_TEMPLATE, 0) < 0 && object < 0) {
        /* C_InitToken, C_InitPIN, C_SetPIN */
        return policy->read_only ? CKR_TOKEN_WRITE_PROTECTED : CKR_OK;
    }
    if (!policy->reads_objects) {
        return CKR_OK;
    }
    if (object >= 0) {
        /* checked by p11mux_policy_check_handles: cached, visible */
        rv = p11mux_policy_object_info(call, policy, P11MUX_ARG(call, object, CK_OBJECT_HANDLE),
                                       &info);
        if (rv != CKR_OK) {
            return rv;
        }
    }
    if (p11mux_policy_changes_existing(desc)) {
        return check_change(call, policy, info);
    }
    return check_creation(call, policy, info);
}

/* ------------------------------------------------------ what was made */

static CK_RV
verdict(const P11muxPolicy *policy, const P11muxObjectInfo *info, gboolean copy)
{
    CK_RV refused = copy ? CKR_ATTRIBUTE_READ_ONLY : CKR_TEMPLATE_INCONSISTENT;

    if (!info->visible) {
        return refused;
    }
    if (too_small(policy, info)) {
        return CKR_KEY_SIZE_RANGE;
    }
    if (policy->force_sensitive && p11mux_object_info_is_key(info) &&
        (info->sensitive != 1 || info->extractable != 0)) {
        return refused;
    }
    if (policy->read_only && info->token != 0) {
        return CKR_TOKEN_WRITE_PROTECTED;
    }
    return CKR_OK;
}

static CK_RV
check_made_object(P11muxPolicyCall *call, const P11muxPolicy *policy, CK_OBJECT_HANDLE handle)
{
    P11muxPolicyEngine *engine = call->engine;
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    g_autoptr(P11muxObjectInfo) info = NULL;
    gboolean copy = p11mux_policy_find_param(desc, P11MUX_ROLE_OBJECT, 0) >= 0;

    /* a new object may reuse the handle of one destroyed elsewhere */
    p11mux_policy_cache_forget_object(engine->cache, call->backend, handle);
    if (p11mux_policy_object_reread(call, policy, handle, &info) != CKR_OK) {
        return CKR_FUNCTION_FAILED;
    }
    return verdict(policy, info, copy);
}

/* Destroy what the call made, and give the application no handle of it. */
static void
undo(P11muxPolicyCall *call, CK_OBJECT_HANDLE *made[], guint n)
{
    P11muxPolicyEngine *engine = call->engine;
    static const CK_OBJECT_HANDLE none = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE handle;
    guint i;

    for (i = 0; i < n; i++) {
        memcpy(&handle, made[i], sizeof handle);
        (void)p11mux_policy_ask_destroy(call, handle);
        p11mux_policy_cache_forget_object(engine->cache, call->backend, handle);
        memcpy(made[i], &none, sizeof none);
    }
}

typedef struct {
    CK_OBJECT_HANDLE **where;
    guint n, max;
} KeysMade;

static CK_RV
on_key_out(gpointer ctx, CK_OBJECT_HANDLE *where)
{
    KeysMade *made = ctx;

    if (made->n < made->max) {
        made->where[made->n++] = where;
    }
    return CKR_OK;
}

/* Where the backend wrote the keys the call's mechanism parameter made it
 * create (after a successful call): up to max pointers into the caller's
 * memory, in *where; how many. */
static guint
param_keys_made(P11muxPolicyCall *call, CK_OBJECT_HANDLE **where, guint max)
{
    static const P11muxParamVisitor outputs = {.key_out = on_key_out};
    int index = p11mux_policy_find_param(p11mux_policy_fn(call), P11MUX_ROLE_MECHANISM, 0);
    KeysMade made = {where, 0, max};
    const CK_MECHANISM *mechanism;
    const P11muxMechParams *params;

    if (index < 0 || (mechanism = P11MUX_ARG(call, index, CK_MECHANISM_PTR)) == NULL) {
        return 0;
    }
    params = p11mux_mech_params_lookup(mechanism->mechanism,
                                       mechanism->mechanism >= CKM_VENDOR_DEFINED
                                           ? p11mux_policy_vendor_of_call(call)
                                           : 0);
    if (params == NULL || params->klass == P11MUX_PARAM_OPAQUE) {
        return 0;
    }
    (void)p11mux_mech_params_walk(params, mechanism, &outputs, &made, NULL);
    return made.n;
}

/* The top-level handles the call made, then those its mechanism parameter
 * made; each non-zero. */
static guint
collect_made(P11muxPolicyCall *call, CK_OBJECT_HANDLE *made[], guint max)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    CK_OBJECT_HANDLE *nested[P11MUX_PARAM_MAX_ARRAY + 4];
    CK_OBJECT_HANDLE handle;
    guint n = 0, n_nested, i;
    int index = -1;

    while ((index = p11mux_policy_find_param(desc, P11MUX_ROLE_OBJECT_OUT, index + 1)) >= 0 &&
           n < max) {
        CK_OBJECT_HANDLE_PTR out = P11MUX_ARG(call, index, CK_OBJECT_HANDLE_PTR);

        if (out != NULL && *out != CK_INVALID_HANDLE) {
            made[n++] = out;
        }
    }
    n_nested = param_keys_made(call, nested, G_N_ELEMENTS(nested));
    for (i = 0; i < n_nested && n < max; i++) {
        memcpy(&handle, nested[i], sizeof handle);
        if (handle != CK_INVALID_HANDLE) {
            made[n++] = nested[i];
        }
    }
    return n;
}

CK_RV
p11mux_policy_after_created(P11muxPolicyCall *call, const P11muxPolicy *policy, CK_RV rv)
{
    CK_OBJECT_HANDLE *made[P11MUX_PARAM_MAX_ARRAY + 8];
    CK_OBJECT_HANDLE handle;
    CK_RV verdict_rv = CKR_OK;
    guint n, i;

    if (rv != CKR_OK || !policy->reads_objects) {
        return rv;
    }
    n = collect_made(call, made, G_N_ELEMENTS(made));
    for (i = 0; verdict_rv == CKR_OK && i < n; i++) {
        memcpy(&handle, made[i], sizeof handle);
        verdict_rv = check_made_object(call, policy, handle);
    }
    if (verdict_rv != CKR_OK) {
        undo(call, made, n);
    }
    return verdict_rv;
}

void
p11mux_policy_after_changed(P11muxPolicyCall *call, G_GNUC_UNUSED const P11muxPolicy *policy, CK_RV rv)
{
    P11muxPolicyEngine *engine = call->engine;
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    int object = p11mux_policy_find_param(desc, P11MUX_ROLE_OBJECT, 0);

    if (rv == CKR_OK && object >= 0 && p11mux_policy_changes_existing(desc)) {
        p11mux_policy_cache_forget_object(engine->cache, call->backend,
                                          P11MUX_ARG(call, object, CK_OBJECT_HANDLE));
    }
}
