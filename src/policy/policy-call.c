/*
 * What every step of the policy shares about the call it judges: lookups
 * over the function table's roles, the call's state from check to after
 * (its rewrites, the memory it uses), and the sub-calls the policy asks
 * the adapter for (src/core/policy-adapter.c).  The steps live in
 * policy-hooks.c (the seams), policy-changes.c (handles, templates, what a
 * call made), policy-outputs.c (filtered outputs) and policy-params.c
 * (mechanism parameters); they call this file and not each other's seams.
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

gboolean
p11mux_policy_is_search(const P11muxFunctionDesc *desc)
{
    return !desc->writes && p11mux_policy_find_param(desc, P11MUX_ROLE_TEMPLATE, 0) >= 0 &&
           p11mux_policy_find_param(desc, P11MUX_ROLE_OBJECT_OUT, 0) < 0;
}

int
p11mux_policy_token_info_out(const P11muxFunctionDesc *desc)
{
    int index = p11mux_policy_find_param(desc, P11MUX_ROLE_INFO_OUT, 0);

    return index >= 0 && strcmp(desc->params[index].type, "CK_TOKEN_INFO_PTR") == 0 ? index : -1;
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
p11mux_policy_call_data(P11muxPolicyCall *call)
{
    P11muxPolicyCallData *data = (P11muxPolicyCallData *)call->state;

    if (data == NULL) {
        data = call_data_take();
        data->rewrites.n = 0;
        /* the rest before the batch buffer */
        memset(&data->allocations, 0,
               G_STRUCT_OFFSET(P11muxPolicyCallData, batch) -
                   G_STRUCT_OFFSET(P11muxPolicyCallData, allocations));
        call->state = &data->rewrites;
    }
    return data;
}

void
p11mux_policy_redirect(P11muxPolicyCall *call, int index, const void *value)
{
    P11muxPolicyRewrites *rewrites = &p11mux_policy_call_data(call)->rewrites;
    guint i;

    g_return_if_fail(rewrites->n < P11MUX_POLICY_MAX_REWRITES && index >= 0 &&
                     (guint)index < p11mux_policy_fn(call)->n_params);
    for (i = 0; i < rewrites->n; i++) {
        g_return_if_fail(rewrites->list[i].index != index);
    }
    rewrites->list[rewrites->n].index = index;
    memcpy(&rewrites->list[rewrites->n].value, value, sizeof(CK_ULONG));
    rewrites->n++;
}

gpointer
p11mux_policy_call_alloc(P11muxPolicyCall *call, gsize n, gsize size)
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

/* Free what the call used (the adapter undid the rewrites). */
void
p11mux_policy_call_done(P11muxPolicyCall *call)
{
    P11muxPolicyCallData *data = (P11muxPolicyCallData *)call->state;

    if (data == NULL) {
        return;
    }
    if (data->allocations != NULL) {
        g_ptr_array_unref(data->allocations);
    }
    call->state = NULL;
    call_data_give_back(data);
}

/* ------------------------------------------------------------ sub-calls */

CK_RV
p11mux_policy_ask_attributes(const P11muxPolicyCall *call, CK_OBJECT_HANDLE object,
                             CK_ATTRIBUTE_PTR attrs, CK_ULONG n)
{
    CK_SESSION_HANDLE session = call->session;
    void *args[] = {&session, &object, &attrs, &n};

    return call->ask(call, P11MUX_FN_C_GetAttributeValue, args);
}

CK_RV
p11mux_policy_ask_find(const P11muxPolicyCall *call, CK_OBJECT_HANDLE_PTR out, CK_ULONG max,
                       CK_ULONG_PTR count)
{
    CK_SESSION_HANDLE session = call->session;
    void *args[] = {&session, &out, &max, &count};

    return call->ask(call, P11MUX_FN_C_FindObjects, args);
}

CK_RV
p11mux_policy_ask_destroy(const P11muxPolicyCall *call, CK_OBJECT_HANDLE object)
{
    CK_SESSION_HANDLE session = call->session;
    void *args[] = {&session, &object};

    return call->ask(call, P11MUX_FN_C_DestroyObject, args);
}

CK_RV
p11mux_policy_ask_mechanisms(const P11muxPolicyCall *call, CK_MECHANISM_TYPE_PTR list,
                             CK_ULONG_PTR count)
{
    CK_SLOT_ID slot = call->slot_entry != NULL ? call->slot_entry->id : 0;
    void *args[] = {&slot, &list, &count};

    return call->ask(call, P11MUX_FN_C_GetMechanismList, args);
}
