#include "config.h"

#include "call.h"

static void
call_init(P11muxCall *call, P11muxFunctionId fn, void **args)
{
    call->fn = fn;
    call->args = args;
    call->router = p11mux_router_peek();
    call->slot_entry = NULL;
    call->backend = NULL;
    call->slot = call->real_slot = 0;
    call->session = call->real_session = 0;
    call->session_flags = 0;
    call->policy_data = NULL;
    /* trace off: this load and test is all a call pays */
    if (G_UNLIKELY(call->router != NULL && call->router->begin != NULL)) {
        call->router->begin(call);
    }
}

static CK_RV
check(P11muxCall *call)
{
    if (call->router->check != NULL) {
        return call->router->check(call);
    }
    return CKR_OK;
}

static void
route_to(P11muxCall *call, const P11muxSlot *slot)
{
    call->slot_entry = slot;
    call->backend = slot->backend;
    call->slot = slot->id;
    call->real_slot = slot->real;
}

CK_RV
p11mux_call_begin(P11muxCall *call, P11muxFunctionId fn, void **args)
{
    call_init(call, fn, args);
    if (call->router == NULL) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    return check(call);
}

CK_RV
p11mux_call_begin_slot(P11muxCall *call, P11muxFunctionId fn, CK_SLOT_ID slot, void **args)
{
    const P11muxSlot *entry;

    call_init(call, fn, args);
    if (call->router == NULL) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    entry = p11mux_slotmap_lookup(call->router->slots, slot);
    if (entry == NULL) {
        return CKR_SLOT_ID_INVALID;
    }
    route_to(call, entry);
    return check(call);
}

CK_RV
p11mux_call_begin_session(P11muxCall *call, P11muxFunctionId fn, CK_SESSION_HANDLE session,
                          void **args)
{
    const P11muxSlot *entry;

    call_init(call, fn, args);
    if (call->router == NULL) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    if (!p11mux_sessions_lookup(call->router->sessions, session, &entry, &call->real_session,
                                &call->session_flags)) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    route_to(call, entry);
    call->session = session;
    return check(call);
}

void
p11mux_call_session_lost(P11muxCall *call)
{
    p11mux_sessions_remove(call->router->sessions, call->session);
}
