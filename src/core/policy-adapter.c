/*
 * The one adapter between the call pipeline and the policy (src/policy):
 * it turns a call into the facts the policy reads (P11muxPolicyCall), asks
 * the policy's decisions at the check and after seams, and applies the
 * verdict: the refusal code, or the argument rewrites it asks for (written
 * into the call's argument slots once check allowed it, put back after the
 * after seam, before the trace sees the call).  The policy never sees a
 * P11muxCall, never writes an argument and never calls a backend: what it
 * needs to read from a backend (an object's attributes, a batch of found
 * handles, a mechanism list, a token's description) it asks here, and the
 * adapter makes it a sub-call through the generated tails (the backend
 * boundary), which the trace records as p11mux's own call
 * (P11MUX_CALL_OWN).
 */
#include "config.h"

#include <string.h>

#include "call.h"
#include "policy-adapter.h"
#include "policy.h"

/* ------------------------------------------------------------ sub-calls */

/* A call p11mux makes for the policy: its argument check, the backend
 * boundary, and the trace's begin and end seams (no policy: the policy
 * asked for it; no slow-call watch). */
static CK_RV
run_own(P11muxCall *own)
{
    const P11muxCallTail *tail = &p11mux_call_tails[own->fn];
    P11muxRouter *router = own->router;
    CK_RV rv;

    if (router->begin != NULL) {
        router->begin(own);
    }
    rv = tail->check_args(own->args);
    if (rv == CKR_OK) {
        rv = p11mux_backend_answer(tail->invoke(own)); /* as p11mux_call_end would */
    }
    if (router->end != NULL) {
        router->end(own, rv);
    }
    return rv;
}

/* own: a call of fn over args by p11mux itself, on router, not yet routed. */
static void
own_call(P11muxCall *own, P11muxRouter *router, P11muxFunctionId fn, void **args)
{
    memset(own, 0, sizeof *own);
    own->fn = fn;
    own->steps = P11MUX_CALL_OWN;
    own->args = args;
    own->router = router;
}

/* P11muxPolicyAsk: fn on the route of the call the policy judges. */
static CK_RV
ask(const P11muxPolicyCall *facts, P11muxFunctionId fn, void **args)
{
    const P11muxCall *call = facts->pipeline;
    P11muxHandling handling = (P11muxHandling)p11mux_call_tails[fn].handling;
    P11muxCall own;

    g_return_val_if_fail(call->backend != NULL, CKR_GENERAL_ERROR);
    g_return_val_if_fail(handling == P11MUX_HANDLING_ROUTE_SLOT ||
                             (handling == P11MUX_HANDLING_ROUTE_SESSION && call->session != 0),
                         CKR_GENERAL_ERROR);

    own_call(&own, call->router, fn, args);
    own.route = call->route;
    own.session = call->session;
    own.session_flags = call->session_flags;
    return run_own(&own);
}

/* P11muxPolicyAskSlot: fn for slot, outside any call (pipeline: the router). */
static CK_RV
ask_slot(gpointer pipeline, const P11muxSlot *slot, P11muxFunctionId fn, void **args)
{
    P11muxCall own;

    g_return_val_if_fail(p11mux_call_tails[fn].handling == P11MUX_HANDLING_ROUTE_SLOT,
                         CKR_GENERAL_ERROR);

    own_call(&own, pipeline, fn, args);
    own.slot_entry = slot;
    own.backend = slot->backend;
    own.slot = slot->id;
    own.real_slot = slot->real;
    return run_own(&own);
}

/* ---------------------------------------------------------------- seams */

static void
facts_of(P11muxPolicyCall *facts, P11muxCall *call)
{
    facts->engine = call->router->policy;
    facts->fn = call->fn;
    facts->args = call->args;
    facts->slot_entry = call->slot_entry;
    facts->backend = call->backend;
    facts->session = call->session;
    facts->state = call->policy_data;
    facts->ask = ask;
    facts->pipeline = call;
}

/* The verdict's rewrites go into the call's argument slots; the caller's
 * values are kept to be put back. */
static void
apply(P11muxCall *call, P11muxPolicyRewrites *rewrites)
{
    guint i;

    for (i = 0; i < rewrites->n; i++) {
        void *slot = call->args[rewrites->list[i].index];

        memcpy(&rewrites->list[i].saved, slot, sizeof(CK_ULONG));
        memcpy(slot, &rewrites->list[i].value, sizeof(CK_ULONG));
    }
}

static void
undo(P11muxCall *call, P11muxPolicyRewrites *rewrites)
{
    while (rewrites->n > 0) {
        rewrites->n--;
        memcpy(call->args[rewrites->list[rewrites->n].index], &rewrites->list[rewrites->n].saved,
               sizeof(CK_ULONG));
    }
}

/* Every check but the compiled one: P11muxPolicyCheckFacts. */
static CK_RV
check_facts(gpointer pipeline)
{
    P11muxCall *call = pipeline;
    P11muxPolicyCall facts;
    CK_RV rv;

    facts_of(&facts, call);
    rv = p11mux_policy_check(&facts);
    call->policy_data = facts.state;
    if (facts.state != NULL) {
        if (rv == CKR_OK) {
            apply(call, facts.state);
        } else {
            facts.state->n = 0; /* refused: nothing to write or put back */
        }
    }
    return rv;
}

/* The compiled verdict first; the policy hands any other call back to
 * check_facts. */
static CK_RV
adapter_check(P11muxCall *call)
{
    return p11mux_policy_quick(call->router->policy, call->backend, call->fn, call->args, call);
}

static CK_RV
adapter_after(P11muxCall *call, CK_RV rv)
{
    P11muxPolicyCall facts;

    if (!p11mux_policy_after_wanted(call->router->policy, call->fn, call->policy_data)) {
        return rv;
    }
    facts_of(&facts, call);
    rv = p11mux_policy_after(&facts, rv);
    if (facts.state != NULL) {
        undo(call, facts.state);
    }
    p11mux_policy_call_done(&facts);
    call->policy_data = NULL;
    return rv;
}

static void
adapter_session_gone(P11muxCall *call)
{
    P11muxPolicyCall facts;

    facts_of(&facts, call);
    p11mux_policy_session_gone(&facts);
}

/* --------------------------------------------------------------- attach */

void
p11mux_adapter_attach(P11muxRouter *router)
{
    g_autofree CK_INFO *infos = NULL;
    guint i, n = 0;

    g_return_if_fail(router->policies != NULL);

    for (i = 0; i < router->backends->len; i++) {
        const P11muxBackend *backend = g_ptr_array_index(router->backends, i);

        n = MAX(n, backend->index + 1);
    }
    infos = g_new0(CK_INFO, MAX(n, 1));
    for (i = 0; i < router->backends->len; i++) {
        const P11muxBackend *backend = g_ptr_array_index(router->backends, i);

        (void)p11mux_backend_get_info(backend, &infos[backend->index]);
    }
    router->policy =
        p11mux_policy_engine_new(router->policies, router->backends, infos, check_facts, ask_slot,
                                 router);
    if (router->policy == NULL) {
        return;
    }
    router->check = adapter_check;
    router->after = adapter_after;
    router->session_gone = adapter_session_gone;
    router->wanted_seams = p11mux_policy_engine_seams(router->policy);
}

void
p11mux_adapter_detach(P11muxRouter *router)
{
    if (router == NULL || router->policy == NULL) {
        return;
    }
    p11mux_policy_engine_free(router->policy);
    router->policy = NULL;
    router->check = NULL;
    router->after = NULL;
    router->session_gone = NULL;
    router->wanted_seams = NULL;
}
