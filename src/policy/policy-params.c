/*
 * The closed world for mechanism arguments: under a policy, a mechanism is
 * used only when p11mux knows its parameter (src/pkcs11/mechanism-params.tab) or
 * the policy names it in allow-opaque-mechanisms.  A known parameter is
 * walked by its layout (src/pkcs11/mech-params.c) and everything in it judged like
 * its top-level counterpart:
 *   a hash, PRF, MGF or KDF selector   allowed by the mechanism rules, and
 *                                      itself known (at every depth)
 *   a key handle                       visible, big enough (as a key argument)
 *   a template for a key it makes      read-only, force-sensitive, object
 *                                      rules, key sizes; force-sensitive
 *                                      completes it in a copy of the
 *                                      parameter, which the backend sees
 *   a key it makes the backend create  read back after the call and judged
 *                                      like a created key (policy-changes.c)
 */
#include "config.h"

#include <string.h>

#include "policy-private.h"

/* The closed world, for a mechanism whose table entry is params (NULL:
 * unknown). */
static gboolean
admits(const P11muxPolicy *policy, const P11muxMechParams *params, CK_MECHANISM_TYPE type)
{
    if (!p11mux_policy_allows_mechanism(policy, type)) {
        return FALSE;
    }
    if (params != NULL && params->klass != P11MUX_PARAM_OPAQUE) {
        return TRUE;
    }
    return p11mux_mech_set_contains(policy->mech_opaque, type);
}

/* The compiled verdict on a standard type (what p11mux_mech_params_lookup
 * finds below CKM_VENDOR_DEFINED is every vendor's). */
static guint8
compiled_verdict(const P11muxPolicy *policy, CK_MECHANISM_TYPE type)
{
    const P11muxMechParams *params = p11mux_mech_params_lookup(type, 0);

    if (!admits(policy, params, type)) {
        return P11MUX_MECH_REFUSED;
    }
    if (params == NULL) {
        return P11MUX_MECH_UNREAD;
    }
    switch (params->klass) {
    case P11MUX_PARAM_NONE:
        return P11MUX_MECH_NO_PARAMETER;
    case P11MUX_PARAM_BYTES:
        return P11MUX_MECH_BYTES;
    case P11MUX_PARAM_OPAQUE:
        return P11MUX_MECH_UNREAD;
    default:
        return P11MUX_MECH_WALKED;
    }
}

static void
admit_compiled(P11muxPolicy *policy, CK_MECHANISM_TYPE type)
{
    if (type < P11MUX_POLICY_COMPILED_MECHANISMS) {
        policy->mech_verdict[type] = compiled_verdict(policy, type);
    }
}

void
p11mux_policy_compile_mechanisms(P11muxPolicy *policy)
{
    gsize i;

    G_STATIC_ASSERT(P11MUX_POLICY_COMPILED_MECHANISMS <= CKM_VENDOR_DEFINED);
    memset(policy->mech_verdict, P11MUX_MECH_REFUSED, sizeof policy->mech_verdict);
    /* what is not in the table, or opaque, is admitted only when named */
    for (i = 0; i < p11mux_n_mech_params; i++) {
        admit_compiled(policy, p11mux_mech_params[i].type);
    }
    for (i = 0; i < policy->mech_opaque->len; i++) {
        admit_compiled(policy, g_array_index(policy->mech_opaque, CK_ULONG, i));
    }
}

gboolean
p11mux_policy_admits_mechanism(const P11muxPolicy *policy, guint vendor, CK_MECHANISM_TYPE type)
{
    if (type < P11MUX_POLICY_COMPILED_MECHANISMS) {
        return policy->mech_verdict[type] != P11MUX_MECH_REFUSED;
    }
    return admits(policy, p11mux_mech_params_lookup(type, vendor), type);
}

typedef struct {
    P11muxPolicyCall *call;
    const P11muxPolicy *policy;
    guint vendor;
    gboolean complete;   /* a template inside wants force-sensitive's completion */
    gboolean completing; /* the copying walk that completes them */
} ParamCheck;

/* The vendor of the call's module matters only for a vendor's own values:
 * found on first need. */
static guint
vendor_for(ParamCheck *check, CK_MECHANISM_TYPE type)
{
    if (type >= CKM_VENDOR_DEFINED && check->vendor == G_MAXUINT) {
        check->vendor = p11mux_policy_vendor_of_call(check->call);
    }
    return type >= CKM_VENDOR_DEFINED ? check->vendor : 0;
}

static CK_RV
on_algorithm(gpointer ctx, CK_MECHANISM_TYPE type)
{
    ParamCheck *check = ctx;

    return p11mux_policy_admits_mechanism(check->policy, vendor_for(check, type), type)
               ? CKR_OK
               : CKR_MECHANISM_INVALID;
}

static CK_RV
on_key(gpointer ctx, CK_OBJECT_HANDLE handle)
{
    ParamCheck *check = ctx;

    return p11mux_policy_check_param_key(check->call, check->policy, handle);
}

/* A template inside: judged; in the copying walk (completing) the
 * completed template replaces the caller's in the copy. */
static CK_RV
on_template(gpointer ctx, CK_ATTRIBUTE_PTR *tmpl, CK_ULONG *count)
{
    ParamCheck *check = ctx;
    gboolean complete = FALSE;
    CK_RV rv = p11mux_policy_judge_param_template(check->call, check->policy, *tmpl, *count,
                                                  &complete);

    check->complete = check->complete || complete;
    if (rv != CKR_OK || !complete || !check->completing) {
        return rv;
    }
    return p11mux_policy_complete_template(check->call, *tmpl, *count, tmpl, count);
}

static gpointer
on_alloc(gpointer ctx, gsize size)
{
    ParamCheck *check = ctx;

    return p11mux_policy_call_alloc(check->call, 1, size);
}

/* The backend gets a copy of the parameter with force-sensitive's
 * templates; the caller's memory is never written. */
static CK_RV
redirect_completed(ParamCheck *check, const P11muxMechParams *params, int index,
                   const CK_MECHANISM *mechanism)
{
    static const P11muxParamVisitor copying = {
        .tmpl = on_template,
        .alloc = on_alloc,
    };
    CK_MECHANISM_PTR replaced;
    void *copy = NULL;
    CK_RV rv;

    check->completing = TRUE;
    rv = p11mux_mech_params_walk(params, mechanism, &copying, check, &copy);

    if (rv != CKR_OK) {
        return rv;
    }
    replaced = p11mux_policy_call_alloc(check->call, 1, sizeof *replaced);
    if (replaced == NULL) {
        return CKR_HOST_MEMORY;
    }
    *replaced = *mechanism;
    replaced->pParameter = copy;
    p11mux_policy_redirect(check->call, index, &replaced);
    return CKR_OK;
}

/* The visitors a policy judges parameters with: keys only when object or
 * key rules read them, templates only when a rule reads objects. */
static const P11muxParamVisitor judging[] = {
    {.algorithm = on_algorithm},
    {.algorithm = on_algorithm, .key = on_key},
    {.algorithm = on_algorithm, .tmpl = on_template},
    {.algorithm = on_algorithm, .key = on_key, .tmpl = on_template},
};

static const P11muxParamVisitor *
judging_for(const P11muxPolicy *policy)
{
    guint keys = policy->has_object_rules || policy->has_key_rules;

    return &judging[keys | (policy->reads_objects ? 2u : 0u)];
}

/* A mechanism the compiled table does not settle: a vendor's or a large
 * value, or a parameter walked by its layout (out of line: the fast path
 * saves no registers for it). */
G_GNUC_NO_INLINE static CK_RV
check_walked(P11muxPolicyCall *call, const P11muxPolicy *policy, int index, const CK_MECHANISM *mechanism)
{
    ParamCheck check = {call, policy, G_MAXUINT, FALSE, FALSE};
    const P11muxMechParams *params;
    guint vendor;
    CK_RV rv;

    vendor = vendor_for(&check, mechanism->mechanism);
    if (!p11mux_policy_admits_mechanism(policy, vendor, mechanism->mechanism)) {
        return CKR_MECHANISM_INVALID;
    }
    params = p11mux_mech_params_lookup(mechanism->mechanism, vendor);
    if (params == NULL || params->klass == P11MUX_PARAM_OPAQUE) {
        return CKR_OK; /* named by allow-opaque-mechanisms: forwarded unread */
    }
    rv = p11mux_mech_params_walk(params, mechanism, judging_for(policy), &check, NULL);
    if (rv != CKR_OK || !check.complete) {
        return rv;
    }
    return redirect_completed(&check, params, index, mechanism);
}

/* A standard mechanism is one load of the compiled verdict
 * (p11mux_policy_mechanism_verdict); only a parameter with a structure is
 * walked. */
CK_RV
p11mux_policy_check_mechanism_arg(P11muxPolicyCall *call, const P11muxPolicy *policy, int index)
{
    const CK_MECHANISM *mechanism = P11MUX_ARG(call, index, CK_MECHANISM_PTR);
    CK_RV rv = p11mux_policy_mechanism_verdict(policy, mechanism);

    if (rv != P11MUX_POLICY_UNDECIDED) {
        return rv;
    }
    return check_walked(call, policy, index, mechanism);
}

CK_RV
p11mux_policy_check_message_mechanism(P11muxPolicyCall *call, const P11muxPolicy *policy,
                                      int index)
{
    const CK_MECHANISM *mechanism = P11MUX_ARG(call, index, CK_MECHANISM_PTR);
    guint vendor;

    if (mechanism == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    vendor = mechanism->mechanism >= CKM_VENDOR_DEFINED ? p11mux_policy_vendor_of_call(call) : 0;
    if (!p11mux_policy_admits_mechanism(policy, vendor, mechanism->mechanism)) {
        return CKR_MECHANISM_INVALID;
    }
    if (mechanism->mechanism == CKM_AES_GCM) {
        const CK_GCM_MESSAGE_PARAMS *gcm = mechanism->pParameter;

        if (gcm == NULL || mechanism->ulParameterLen != sizeof *gcm) {
            return CKR_MECHANISM_PARAM_INVALID;
        }
        return p11mux_param_data(gcm->pIv, gcm->ulIvLen);
    }
    /* a per-message layout p11mux does not read (CCM, ChaCha20-Poly1305,
     * or a mechanism that has none): the closed world's answer */
    return p11mux_mech_set_contains(policy->mech_opaque, mechanism->mechanism)
               ? CKR_OK
               : CKR_MECHANISM_INVALID;
}
