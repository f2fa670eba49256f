/*
 * The router's check and after seams: every rule is driven by the roles
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
 * not called then.  After undoes check's redirections before the trace
 * sees the call.
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

int
p11mux_policy_find_param(const P11muxFunctionDesc *desc, P11muxRole role, int start)
{
    guint i;

    for (i = (guint)MAX(start, 0); i < desc->n_params; i++) {
        if (desc->params[i].role == role) {
            return (int)i;
        }
    }
    return -1;
}

/* ------------------------------------------------------------ call data */

/*
 * One call data per thread, reused, so that a filtered call allocates
 * nothing: `spare` is this thread's, `spare_busy` says a call is using it
 * (a call made inside a call, a backend calling back, allocates its own).
 * The GPrivate only frees it when the thread exits.
 */
static __thread P11muxPolicyCallData *spare;
static __thread gboolean spare_busy;
static GPrivate spare_owner = G_PRIVATE_INIT(g_free);

static P11muxPolicyCallData *
call_data_take(void)
{
    if (spare == NULL) {
        spare = g_new(P11muxPolicyCallData, 1);
        g_private_set(&spare_owner, spare);
    } else if (spare_busy) {
        return g_new(P11muxPolicyCallData, 1);
    }
    spare_busy = TRUE;
    return spare;
}

static void
call_data_give_back(P11muxPolicyCallData *data)
{
    if (data == spare) {
        spare_busy = FALSE;
    } else {
        g_free(data);
    }
}

P11muxPolicyCallData *
p11mux_policy_call_data(P11muxCall *call)
{
    P11muxPolicyCallData *data = call->policy_data;

    if (data == NULL) {
        data = call_data_take();
        /* everything before the redirections and the batch buffer */
        memset(data, 0, G_STRUCT_OFFSET(P11muxPolicyCallData, redirects));
        call->policy_data = data;
    }
    return data;
}

void
p11mux_policy_redirect(P11muxCall *call, int index, const void *value)
{
    P11muxPolicyCallData *data =
        call->policy_data != NULL ? call->policy_data : p11mux_policy_call_data(call);

    g_return_if_fail(data->n_redirects < P11MUX_POLICY_MAX_REDIRECTS && index >= 0);

    data->redirects[data->n_redirects].index = index;
    memcpy(&data->redirects[data->n_redirects].saved, call->args[index], sizeof(CK_ULONG));
    data->n_redirects++;
    memcpy(call->args[index], value, sizeof(CK_ULONG));
}

gpointer
p11mux_policy_call_alloc(P11muxCall *call, gsize n, gsize size)
{
    P11muxPolicyCallData *data = p11mux_policy_call_data(call);
    gpointer memory = g_try_malloc0_n(n, size);

    if (memory != NULL) {
        if (data->allocations == NULL) {
            data->allocations = g_ptr_array_new_with_free_func(g_free);
        }
        g_ptr_array_add(data->allocations, memory);
    }
    return memory;
}

/* Give the application's arguments back, and free what the call used. */
static void
call_data_finish(P11muxCall *call)
{
    P11muxPolicyCallData *data = call->policy_data;

    if (data == NULL) {
        return;
    }
    while (data->n_redirects > 0) {
        data->n_redirects--;
        memcpy(call->args[data->redirects[data->n_redirects].index],
               &data->redirects[data->n_redirects].saved, sizeof(CK_ULONG));
    }
    if (data->allocations != NULL) {
        g_ptr_array_unref(data->allocations);
    }
    call->policy_data = NULL;
    call_data_give_back(data);
}

/* ------------------------------------------------------------ the checks */

static const P11muxPolicy *
policy_of_call(const P11muxCall *call)
{
    const P11muxPolicyEngine *engine = call->router->policy;

    return engine != NULL ? p11mux_policy_of_backend(engine, call->backend) : NULL;
}

/* Every slot-id function on a hidden token's slot: CKR_SLOT_ID_INVALID. */
static CK_RV
check_token(P11muxCall *call, const P11muxPolicy *policy)
{
    gboolean refresh = call->fn == P11MUX_FN_C_OpenSession || call->fn == P11MUX_FN_C_InitToken;

    if (!policy->has_token_rules || call->slot_entry == NULL) {
        return CKR_OK;
    }
    if (p11mux_policy_slot_state(call->router->policy, policy, call->slot_entry, refresh)
            ->visible) {
        return CKR_OK;
    }
    return call->session != 0 ? CKR_SESSION_HANDLE_INVALID : CKR_SLOT_ID_INVALID;
}

/* deny-functions, and saved operation state: opaque by nature (a backend's
 * state may hold raw pointers, unhashed input, key values), so refused
 * under every policy with the code the specification lists for each. */
static CK_RV
check_function(P11muxCall *call, const P11muxPolicy *policy)
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
check_session_flags(P11muxCall *call, const P11muxPolicy *policy)
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
check_mechanisms(P11muxCall *call, const P11muxPolicy *policy)
{
    int index = mechanism_arg[call->fn];

    if (index < 0) {
        return CKR_OK;
    }
    if (!(index & MECHANISM_TYPE_ARG)) {
        return p11mux_policy_check_mechanism_arg(call, policy, index);
    }
    index &= ~MECHANISM_TYPE_ARG;
    return p11mux_policy_admits_mechanism(policy, p11mux_policy_vendor_of_call(call),
                                          P11MUX_ARG(call, index, CK_MECHANISM_TYPE))
               ? CKR_OK
               : CKR_MECHANISM_INVALID;
}

typedef CK_RV (*CheckStep)(P11muxCall *call, const P11muxPolicy *policy);

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
run_check_steps(P11muxCall *call, const P11muxPolicy *policy, guint steps)
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
p11mux_policy_check(P11muxCall *call)
{
    const P11muxPolicy *policy = policy_of_call(call);
    int index;

    if (policy == NULL) {
        return CKR_OK;
    }
    /* the common plan of a *Init with no key: a mechanism argument alone,
     * a lookup of its compiled verdict (policy-params.c) */
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
forget_session(P11muxCall *call)
{
    P11muxPolicyEngine *engine = call->router->policy;

    p11mux_policy_cache_forget_session(engine->cache, call->session);
    p11mux_policy_cache_forget_session_objects(engine->cache, call->backend);
}

static void
after_sessions(P11muxCall *call, CK_RV rv)
{
    P11muxPolicyEngine *engine = call->router->policy;

    if (rv != CKR_OK) {
        return; /* a session the backend says is gone: p11mux_policy_session_gone */
    }
    if (call->fn == P11MUX_FN_C_CloseAllSessions) {
        p11mux_policy_cache_forget_slot(engine->cache, call->slot_entry);
        p11mux_policy_cache_forget_session_objects(engine->cache, call->backend);
    } else if (call->fn == P11MUX_FN_C_CloseSession && call->session != 0) {
        forget_session(call);
    }
}

/* Out of line, so that the seam's fast path saves no registers for it. */
G_GNUC_NO_INLINE static CK_RV
run_after_steps(P11muxCall *call, CK_RV rv)
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
    call_data_finish(call);
    return rv;
}

/* Nothing to do when check kept no call data (no redirection, no memory)
 * and no backend's plan has an after step for the function. */
CK_RV
p11mux_policy_after(P11muxCall *call, CK_RV rv)
{
    const P11muxPolicyEngine *engine = call->router->policy;

    if (call->policy_data == NULL && !engine->after_planned[call->fn]) {
        return rv;
    }
    return run_after_steps(call, rv);
}

/* The router's session_gone seam: the backend said the session is gone,
 * on whichever path the call took. */
void
p11mux_policy_session_gone(P11muxCall *call)
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
    return desc->id == P11MUX_FN_C_FindObjectsInit && policy->force_sensitive;
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
    if (desc->id == P11MUX_FN_C_GetTokenInfo) {
        return policy->has_token_rules || policy->read_only;
    }
    return has_role(desc, P11MUX_ROLE_MECHANISM_TYPE) && policy->has_key_rules;
}

static guint
plan_function(const P11muxPolicy *policy, const P11muxFunctionDesc *desc)
{
    gboolean routed = has_role(desc, P11MUX_ROLE_SLOT) || has_role(desc, P11MUX_ROLE_SESSION);
    gboolean closes =
        desc->id == P11MUX_FN_C_CloseSession || desc->id == P11MUX_FN_C_CloseAllSessions;
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
    steps |= policy->reads_objects && closes ? P11MUX_STEP_SESSIONS : 0;
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
            mechanism_arg[fn] >= 0 && !(mechanism_arg[fn] & MECHANISM_TYPE_ARG)) {
            policy->mechanism_only[fn] = mechanism_arg[fn];
        }
    }
}
