/*
 * The check and after seams' decisions: every rule is driven by the roles
 * and flags of the function table, not by function names —
 *   a slot or session argument    the token must be visible
 *   any function                  deny-functions; saved state refused
 *   flags(session)                read-only refuses CKF_RW_SESSION
 *   mechanism, mechanism-type     allowed and known, with what the
 *                                 parameter names (policy-params.c)
 *   key, object                   visible, big enough, exportable, writable
 *   the writes flag               read-only, force-sensitive, templates
 *   objects-out, mechanisms-out, info-out, template-io   filtered outputs
 * Check runs in that order and stops at the first refusal; the backend is
 * not called then.  The seams run in the adapter (src/core/policy-adapter.c),
 * which hands the policy a call's facts, applies the rewrites check asks
 * for and undoes them after the after seam, before the trace sees the call.
 *
 * Which steps can do anything for a function under a policy is decided once,
 * when the policy is compiled, from the same roles and flags (the plan,
 * P11muxPolicy.steps): a call runs only its function's steps, and a function
 * no backend's plan touches skips both seams (router->wanted_seams), so that
 * it takes the plain path of the generated forwarder.  Each step still
 * tests its own rules: the plan may only leave out what would do nothing.
 */
#include "config.h"

#include <string.h>

#include "policy-private.h"

/* ------------------------------------------------------------ the checks */

static const P11muxPolicy *
policy_of_call(const P11muxPolicyCall *call)
{
    return call->engine != NULL ? p11mux_policy_of_backend(call->engine, call->backend) : NULL;
}

/* Every slot-id function on a hidden token's slot: CKR_SLOT_ID_INVALID.
 * A call that opens a session on the slot or writes its token judges the
 * token as it is now (it may have been swapped for a hidden one). */
static CK_RV
check_token(P11muxPolicyCall *call, const P11muxPolicy *policy)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    gboolean refresh = p11mux_policy_find_param(desc, P11MUX_ROLE_SLOT, 0) >= 0 &&
                       (desc->writes || p11mux_policy_find_param(desc, P11MUX_ROLE_SESSION_OUT, 0) >= 0);

    if (!policy->has_token_rules || call->slot_entry == NULL) {
        return CKR_OK;
    }
    if (p11mux_policy_slot_state(call->engine, policy, call->slot_entry, refresh)
            ->visible) {
        return CKR_OK;
    }
    return call->session != 0 ? CKR_SESSION_HANDLE_INVALID : CKR_SLOT_ID_INVALID;
}

/* deny-functions, and saved operation state: opaque by nature (a backend's
 * state may hold raw pointers, unhashed input, key values), so refused
 * under every policy with the code the specification lists for each. */
static CK_RV
check_function(P11muxPolicyCall *call, const P11muxPolicy *policy)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);

    if (policy->deny_fn[call->fn]) {
        return CKR_FUNCTION_NOT_SUPPORTED;
    }
    if (p11mux_policy_find_param(desc, P11MUX_ROLE_STATE_OUT, 0) >= 0) {
        return CKR_STATE_UNSAVEABLE;
    }
    if (p11mux_policy_find_param(desc, P11MUX_ROLE_STATE_IN, 0) >= 0) {
        return CKR_SAVED_STATE_INVALID;
    }
    return CKR_OK;
}

static CK_RV
check_session_flags(P11muxPolicyCall *call, const P11muxPolicy *policy)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    int index = p11mux_policy_find_param(desc, P11MUX_ROLE_FLAGS, 0);

    if (!policy->read_only || index < 0 ||
        g_strcmp0(desc->params[index].ref_name, "session") != 0) {
        return CKR_OK;
    }
    return (P11MUX_ARG(call, index, CK_FLAGS) & CKF_RW_SESSION) ? CKR_TOKEN_WRITE_PROTECTED
                                                                : CKR_OK;
}

/* Per function, its one mechanism or mechanism-type argument, found once
 * from the table's roles: the index, with MECHANISM_TYPE_ARG set for a
 * type; -1: none. */
#define MECHANISM_TYPE_ARG 0x40
static gint8 mechanism_arg[P11MUX_FN_COUNT];

static void
find_mechanism_args(void)
{
    static gsize done = 0;
    guint fn, i;

    if (g_once_init_enter(&done)) {
        for (fn = 0; fn < P11MUX_FN_COUNT; fn++) {
            const P11muxFunctionDesc *desc = &p11mux_functions[fn];

            mechanism_arg[fn] = -1;
            for (i = 0; i < desc->n_params; i++) {
                g_assert(i < MECHANISM_TYPE_ARG);
                if (desc->params[i].role == P11MUX_ROLE_MECHANISM) {
                    mechanism_arg[fn] = (gint8)i;
                } else if (desc->params[i].role == P11MUX_ROLE_MECHANISM_TYPE) {
                    mechanism_arg[fn] = (gint8)(i | MECHANISM_TYPE_ARG);
                }
            }
        }
        g_once_init_leave(&done, 1);
    }
}

/* The mechanism argument (and what its parameter names) or the mechanism
 * type asked about: the closed world of policy-params.c. */
static CK_RV
check_mechanisms(P11muxPolicyCall *call, const P11muxPolicy *policy)
{
    int index = mechanism_arg[call->fn];

    if (index < 0) {
        return CKR_OK;
    }
    if (!(index & MECHANISM_TYPE_ARG)) {
        return p11mux_policy_fn(call)->message_params
                   ? p11mux_policy_check_message_mechanism(call, policy, index)
                   : p11mux_policy_check_mechanism_arg(call, policy, index);
    }
    index &= ~MECHANISM_TYPE_ARG;
    return p11mux_policy_admits_mechanism(policy, p11mux_policy_vendor_of_call(call),
                                          P11MUX_ARG(call, index, CK_MECHANISM_TYPE))
               ? CKR_OK
               : CKR_MECHANISM_INVALID;
}

typedef CK_RV (*CheckStep)(P11muxPolicyCall *call, const P11muxPolicy *policy);

/* Indexed by the bit of each P11MUX_STEP_* of the check seam. */
static const CheckStep check_steps[] = {
    check_token,
    check_function,
    check_session_flags,
    check_mechanisms,
    p11mux_policy_check_handles,
    p11mux_policy_check_templates,
    p11mux_policy_prepare_outputs,
};

G_STATIC_ASSERT(P11MUX_CHECK_STEPS == (1u << G_N_ELEMENTS(check_steps)) - 1);

/* Every step of the plan, in order, until one refuses (out of line: the
 * seam's fast path saves no registers for it). */
G_GNUC_NO_INLINE static CK_RV
run_check_steps(P11muxPolicyCall *call, const P11muxPolicy *policy, guint steps)
{
    CK_RV rv = CKR_OK;
    guint i;

    while (rv == CKR_OK && steps != 0) {
        i = (guint)__builtin_ctz(steps); /* the next step of the plan */
        steps &= steps - 1;
        rv = check_steps[i](call, policy);
    }
    return rv;
}

CK_RV
p11mux_policy_quick(const P11muxPolicyEngine *engine, const P11muxBackend *backend, gsize fn,
                    void *const *args, gpointer call)
{
    /* every backend of the router the engine was built for has its entry
     * (p11mux_policy_engine_new): no bounds to test */
    const P11muxPolicy *policy = backend != NULL ? engine->by_backend[backend->index] : NULL;
    CK_RV rv;
    int index;

    if (policy == NULL) {
        return CKR_OK;
    }
    /* the common plan of a *Init with no key: a mechanism argument alone,
     * a lookup of its compiled verdict (policy-private.h) */
    index = policy->mechanism_only[fn];
    if (index >= 0) {
        rv = p11mux_policy_mechanism_verdict(policy, *(const CK_MECHANISM_PTR *)args[index]);
        if (G_LIKELY(rv != P11MUX_POLICY_UNDECIDED)) {
            return rv;
        }
    }
    return engine->check_facts(call);
}

CK_RV
p11mux_policy_check(P11muxPolicyCall *call)
{
    const P11muxPolicy *policy = policy_of_call(call);
    int index;

    if (policy == NULL) {
        return CKR_OK;
    }
    index = policy->mechanism_only[call->fn];
    if (index >= 0) {
        return p11mux_policy_check_mechanism_arg(call, policy, index);
    }
    return run_check_steps(call, policy, policy->steps[call->fn] & P11MUX_CHECK_STEPS);
}

/* ------------------------------------------------------------- after */

/* A session that ended takes its cache with it, and session objects of its
 * backend may be gone (their handles reused). */
static void
forget_session(const P11muxPolicyCall *call)
{
    P11muxPolicyEngine *engine = call->engine;

    p11mux_policy_cache_forget_session(engine->cache, call->session);
    p11mux_policy_cache_forget_session_objects(engine->cache, call->backend);
}

static void
after_sessions(const P11muxPolicyCall *call, CK_RV rv)
{
    P11muxPolicyEngine *engine = call->engine;

    if (rv != CKR_OK || !p11mux_policy_fn(call)->closes) {
        return; /* a session the backend says is gone: p11mux_policy_session_gone */
    }
    if (call->session != 0) {
        forget_session(call); /* the session it names */
    } else if (call->slot_entry != NULL) {
        /* every session of the slot */
        p11mux_policy_cache_forget_slot(engine->cache, call->slot_entry);
        p11mux_policy_cache_forget_session_objects(engine->cache, call->backend);
    }
}

gboolean
p11mux_policy_after_wanted(const P11muxPolicyEngine *engine, P11muxFunctionId fn,
                           const P11muxPolicyRewrites *state)
{
    return state != NULL || engine->after_planned[fn];
}

CK_RV
p11mux_policy_after(P11muxPolicyCall *call, CK_RV rv)
{
    const P11muxPolicy *policy = call->backend != NULL ? policy_of_call(call) : NULL;
    guint steps = policy != NULL ? policy->steps[call->fn] : 0;

    if (steps & P11MUX_STEP_FINISH_OUTPUTS) {
        rv = p11mux_policy_finish_outputs(call, policy, rv);
    }
    if (steps & P11MUX_STEP_CREATED) {
        rv = p11mux_policy_after_created(call, policy, rv);
    }
    if (steps & P11MUX_STEP_CHANGED) {
        p11mux_policy_after_changed(call, policy, rv);
    }
    if (steps & P11MUX_STEP_SESSIONS) {
        after_sessions(call, rv);
    }
    return rv;
}

/* The backend said the session is gone, on whichever path the call took. */
void
p11mux_policy_session_gone(const P11muxPolicyCall *call)
{
    const P11muxPolicy *policy = call->backend != NULL ? policy_of_call(call) : NULL;

    if (policy != NULL && policy->reads_objects && call->session != 0) {
        forget_session(call);
    }
}

/* -------------------------------------------------------------- plans */

static gboolean
has_role(const P11muxFunctionDesc *desc, P11muxRole role)
{
    return p11mux_policy_find_param(desc, role, 0) >= 0;
}

/* check_handles: a key or object argument some rule reads. */
static gboolean
plan_handles(const P11muxPolicy *policy, const P11muxFunctionDesc *desc)
{
    guint i;

    for (i = 0; policy->reads_objects && i < desc->n_params; i++) {
        const P11muxParamDesc *param = &desc->params[i];

        if ((p11mux_role_is_key(param->role) || param->role == P11MUX_ROLE_OBJECT) &&
            p11mux_policy_decides_on(policy, desc, param)) {
            return TRUE;
        }
    }
    return FALSE;
}

/* check_mechanisms: a mechanism or a type, under every policy (the
 * closed world). */
static gboolean
plan_mechanisms(G_GNUC_UNUSED const P11muxPolicy *policy, const P11muxFunctionDesc *desc)
{
    return has_role(desc, P11MUX_ROLE_MECHANISM) || has_role(desc, P11MUX_ROLE_MECHANISM_TYPE);
}

/* check_function: deny-functions, and saved state under every policy. */
static gboolean
plan_function_rules(const P11muxPolicy *policy, const P11muxFunctionDesc *desc)
{
    return policy->deny_fn[desc->id] || has_role(desc, P11MUX_ROLE_STATE_OUT) ||
           has_role(desc, P11MUX_ROLE_STATE_IN);
}

/* check_templates: a write under read-only, or a template or object the
 * object rules judge. */
static gboolean
plan_templates(const P11muxPolicy *policy, const P11muxFunctionDesc *desc)
{
    gboolean judged = has_role(desc, P11MUX_ROLE_TEMPLATE) || has_role(desc, P11MUX_ROLE_OBJECT);

    return desc->writes && (judged ? policy->reads_objects : policy->read_only);
}

static gboolean
plan_session_flags(const P11muxPolicy *policy, const P11muxFunctionDesc *desc)
{
    int index = p11mux_policy_find_param(desc, P11MUX_ROLE_FLAGS, 0);

    return policy->read_only && index >= 0 &&
           g_strcmp0(desc->params[index].ref_name, "session") == 0;
}

/* prepare_outputs: the outputs p11mux filters, and force-sensitive searches. */
static gboolean
plan_prepare_outputs(const P11muxPolicy *policy, const P11muxFunctionDesc *desc)
{
    if (has_role(desc, P11MUX_ROLE_OBJECTS_OUT)) {
        return policy->has_object_rules || policy->force_sensitive;
    }
    if (has_role(desc, P11MUX_ROLE_MECHANISMS_OUT)) {
        return policy->has_mechanism_rules;
    }
    if (has_role(desc, P11MUX_ROLE_TEMPLATE_IO)) {
        return policy->force_sensitive;
    }
    return p11mux_policy_is_search(desc) && policy->force_sensitive;
}

/* finish_outputs: what prepare started, and the info-out corrections. */
static gboolean
plan_finish_outputs(const P11muxPolicy *policy, const P11muxFunctionDesc *desc)
{
    if (plan_prepare_outputs(policy, desc)) {
        return TRUE;
    }
    if (!has_role(desc, P11MUX_ROLE_INFO_OUT)) {
        return FALSE;
    }
    if (p11mux_policy_token_info_out(desc) >= 0) {
        return policy->has_token_rules || policy->read_only;
    }
    return has_role(desc, P11MUX_ROLE_MECHANISM_TYPE) && policy->has_key_rules;
}

static guint
plan_function(const P11muxPolicy *policy, const P11muxFunctionDesc *desc)
{
    gboolean routed = has_role(desc, P11MUX_ROLE_SLOT) || has_role(desc, P11MUX_ROLE_SESSION);
    guint steps = 0;

    steps |= policy->has_token_rules && routed ? P11MUX_STEP_TOKEN : 0;
    steps |= plan_function_rules(policy, desc) ? P11MUX_STEP_FUNCTION : 0;
    steps |= plan_session_flags(policy, desc) ? P11MUX_STEP_SESSION_FLAGS : 0;
    steps |= plan_mechanisms(policy, desc) ? P11MUX_STEP_MECHANISMS : 0;
    steps |= plan_handles(policy, desc) ? P11MUX_STEP_HANDLES : 0;
    steps |= plan_templates(policy, desc) ? P11MUX_STEP_TEMPLATES : 0;
    steps |= plan_prepare_outputs(policy, desc) ? P11MUX_STEP_PREPARE_OUTPUTS : 0;
    steps |= plan_finish_outputs(policy, desc) ? P11MUX_STEP_FINISH_OUTPUTS : 0;
    steps |=
        policy->reads_objects && has_role(desc, P11MUX_ROLE_OBJECT_OUT) ? P11MUX_STEP_CREATED : 0;
    steps |= policy->reads_objects && has_role(desc, P11MUX_ROLE_OBJECT) &&
                     p11mux_policy_changes_existing(desc)
                 ? P11MUX_STEP_CHANGED
                 : 0;
    steps |= policy->reads_objects && desc->closes ? P11MUX_STEP_SESSIONS : 0;
    return steps;
}

void
p11mux_policy_plan(P11muxPolicy *policy)
{
    guint fn;

    find_mechanism_args();
    for (fn = 0; fn < P11MUX_FN_COUNT; fn++) {
        policy->steps[fn] = (guint16)plan_function(policy, &p11mux_functions[fn]);
        policy->mechanism_only[fn] = -1;
        if ((policy->steps[fn] & P11MUX_CHECK_STEPS) == P11MUX_STEP_MECHANISMS &&
            mechanism_arg[fn] >= 0 && !(mechanism_arg[fn] & MECHANISM_TYPE_ARG) &&
            !p11mux_functions[fn].message_params) {
            policy->mechanism_only[fn] = mechanism_arg[fn];
        }
    }
}
