/*
 * The router's check and after seams: every rule is driven by the roles
 * and flags of the function table, not by function names —
 *   a slot or session argument    the token must be visible
 *   any function                  deny-functions
 *   flags(session)                read-only refuses CKF_RW_SESSION
 *   mechanism, mechanism-type     allowed, with what the parameter names
 *   key, object                   visible, big enough, exportable, writable
 *   the writes flag               read-only, force-sensitive, templates
 *   objects-out, mechanisms-out, info-out, template-io   filtered outputs
 * Check runs in that order and stops at the first refusal; the backend is
 * not called then.  After undoes check's redirections before the trace
 * sees the call.
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

P11muxPolicyCallData *
p11mux_policy_call_data(P11muxCall *call)
{
    if (call->policy_data == NULL) {
        call->policy_data = g_new0(P11muxPolicyCallData, 1);
    }
    return call->policy_data;
}

void
p11mux_policy_redirect(P11muxCall *call, int index, const void *value)
{
    P11muxPolicyCallData *data = p11mux_policy_call_data(call);

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
    g_free(data);
    call->policy_data = NULL;
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

static CK_RV
check_function(P11muxCall *call, const P11muxPolicy *policy)
{
    return policy->deny_fn[call->fn] ? CKR_FUNCTION_NOT_SUPPORTED : CKR_OK;
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

static CK_RV
check_mechanism(P11muxCall *call, const P11muxPolicy *policy, const CK_MECHANISM *mechanism)
{
    P11muxMechUse use;
    CK_RV rv;
    guint i;

    if (policy->has_mechanism_rules) {
        rv = p11mux_policy_check_mechanism(policy, mechanism, &use);
    } else if ((rv = p11mux_mech_inspect(mechanism, &use)) != CKR_OK) {
        /* a parameter p11mux cannot read may hide a key only object rules
         * and key sizes care about; else the backend judges it */
        return policy->has_object_rules || policy->has_key_rules ? rv : CKR_OK;
    }
    for (i = 0; rv == CKR_OK && i < use.n_keys; i++) {
        rv = p11mux_policy_check_param_key(call, policy, use.keys[i]);
    }
    return rv;
}

static CK_RV
check_mechanisms(P11muxCall *call, const P11muxPolicy *policy)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    CK_RV rv = CKR_OK;
    guint i;

    if (!policy->has_mechanism_rules && !policy->reads_objects) {
        return CKR_OK;
    }
    for (i = 0; rv == CKR_OK && i < desc->n_params; i++) {
        if (desc->params[i].role == P11MUX_ROLE_MECHANISM) {
            CK_MECHANISM_PTR mechanism = P11MUX_ARG(call, i, CK_MECHANISM_PTR);

            /* NULL: the backend answers CKR_ARGUMENTS_BAD */
            rv = mechanism != NULL ? check_mechanism(call, policy, mechanism) : CKR_OK;
        } else if (desc->params[i].role == P11MUX_ROLE_MECHANISM_TYPE &&
                   !p11mux_policy_allows_mechanism(policy,
                                                   P11MUX_ARG(call, i, CK_MECHANISM_TYPE))) {
            rv = CKR_MECHANISM_INVALID;
        }
    }
    return rv;
}

typedef CK_RV (*CheckStep)(P11muxCall *call, const P11muxPolicy *policy);

static const CheckStep check_steps[] = {
    check_token,
    check_function,
    check_session_flags,
    check_mechanisms,
    p11mux_policy_check_handles,
    p11mux_policy_check_templates,
    p11mux_policy_prepare_outputs,
};

CK_RV
p11mux_policy_check(P11muxCall *call)
{
    const P11muxPolicy *policy = policy_of_call(call);
    CK_RV rv = CKR_OK;
    gsize i;

    if (policy == NULL) {
        return CKR_OK;
    }
    for (i = 0; rv == CKR_OK && i < G_N_ELEMENTS(check_steps); i++) {
        rv = check_steps[i](call, policy);
    }
    return rv;
}

/* ------------------------------------------------------------- after */

/* Sessions that ended take their cache with them, and session objects of
 * their backend may be gone (their handles reused). */
static void
after_sessions(P11muxCall *call, CK_RV rv)
{
    P11muxPolicyEngine *engine = call->router->policy;

    if (call->fn == P11MUX_FN_C_CloseAllSessions && rv == CKR_OK) {
        p11mux_policy_cache_forget_slot(engine->cache, call->slot_entry);
    } else if (call->session != 0 && ((call->fn == P11MUX_FN_C_CloseSession && rv == CKR_OK) ||
                                      p11mux_rv_means_session_lost(rv))) {
        p11mux_policy_cache_forget_session(engine->cache, call->session);
    } else {
        return;
    }
    p11mux_policy_cache_forget_session_objects(engine->cache, call->backend);
}

CK_RV
p11mux_policy_after(P11muxCall *call, CK_RV rv)
{
    const P11muxPolicy *policy = call->backend != NULL ? policy_of_call(call) : NULL;

    if (policy != NULL) {
        rv = p11mux_policy_finish_outputs(call, policy, rv);
        rv = p11mux_policy_after_created(call, policy, rv);
        p11mux_policy_after_changed(call, policy, rv);
        after_sessions(call, rv);
    }
    call_data_finish(call);
    return rv;
}
