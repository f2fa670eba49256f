/*
 * The one choke point of every call: begin (initialised? route) → policy
 * check → backend call → end (trace).  Generated forwarders and hand-written
 * special functions use the same helpers, so they trace and enforce alike.
 */
#ifndef P11MUX_CALL_H
#define P11MUX_CALL_H

#include "backend.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"
#include "router.h"

struct P11muxCall {
    P11muxFunctionId fn;
    void **args;                  /* pointers to the parameters, in table order */
    P11muxRouter *router;         /* NULL when not initialised */
    const P11muxSlot *slot_entry; /* NULL until routed */
    P11muxBackend *backend;       /* NULL until routed */
    CK_SLOT_ID slot;              /* as the application sees it */
    CK_SLOT_ID real_slot;         /* as the backend sees it */
    CK_SESSION_HANDLE session;
    CK_SESSION_HANDLE real_session;
    CK_FLAGS session_flags; /* the flags the session was opened with */
    /* written by router->begin (the trace) only, before anything else; unset
     * when trace is off */
    gint64 started;      /* g_get_monotonic_time() when the call began */
    gint64 started_wall; /* g_get_real_time() when the call began */
    CK_ULONG size_in;    /* the value behind the first len-io or count-out
                          * parameter before the call (the buffer size offered) */
    gboolean size_in_set;
    gpointer policy_data; /* nullable: the policy engine's state from check to after */
};

/* Not routed: CKR_CRYPTOKI_NOT_INITIALIZED or CKR_OK. */
CK_RV p11mux_call_begin(P11muxCall *call, P11muxFunctionId fn, void **args);

/* Routed by slot: also CKR_SLOT_ID_INVALID, and the policy's answer. */
CK_RV p11mux_call_begin_slot(P11muxCall *call, P11muxFunctionId fn, CK_SLOT_ID slot, void **args);

/* Routed by session: also CKR_SESSION_HANDLE_INVALID, and the policy's answer. */
CK_RV p11mux_call_begin_session(P11muxCall *call, P11muxFunctionId fn, CK_SESSION_HANDLE session,
                                void **args);

/* The backend says the session is gone: the application's handle goes too. */
void p11mux_call_session_lost(P11muxCall *call);

static inline gboolean
p11mux_rv_means_session_lost(CK_RV rv)
{
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
           rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT;
}

static inline CK_RV
p11mux_call_end(P11muxCall *call, CK_RV rv)
{
    if (G_UNLIKELY(call->router == NULL)) {
        return rv;
    }
    if (G_UNLIKELY(call->session != 0 && p11mux_rv_means_session_lost(rv))) {
        p11mux_call_session_lost(call);
    }
    if (call->router->after != NULL) {
        rv = call->router->after(call, rv);
    }
    if (call->router->end != NULL) {
        call->router->end(call, rv);
    }
    return rv;
}

/*
 * The plain path.  With no hook attached (trace off, no policy), a generated
 * forwarder builds no P11muxCall and no argument array: it pays one atomic
 * load (the router), a test of the four hook pointers, the lock-free route
 * and, after the backend, the session-lost test -- everything the hooked
 * pipeline does when its hooks are NULL, and nothing else.
 */
typedef struct {
    P11muxBackend *backend;
    CK_SLOT_ID slot;              /* as the application sees it */
    CK_SLOT_ID real_slot;         /* as the backend sees it */
    CK_SESSION_HANDLE real_session;
} P11muxRoute;

/* The published router when no hook is attached, else NULL (also when not
 * initialised): the caller then takes the hooked pipeline. */
G_ALWAYS_INLINE static inline P11muxRouter *
p11mux_call_plain_router(void)
{
    P11muxRouter *router = p11mux_router_peek();

    if (G_LIKELY(router != NULL && router->begin == NULL && router->check == NULL &&
                 router->after == NULL && router->end == NULL)) {
        return router;
    }
    return NULL;
}

G_ALWAYS_INLINE static inline CK_RV
p11mux_route_session(P11muxRouter *router, CK_SESSION_HANDLE session, P11muxRoute *route)
{
    const P11muxSlot *entry;

    if (!p11mux_sessions_lookup(router->sessions, session, &entry, &route->real_session, NULL)) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    route->backend = entry->backend;
    route->slot = entry->id;
    route->real_slot = entry->real;
    return CKR_OK;
}

G_ALWAYS_INLINE static inline CK_RV
p11mux_route_slot(P11muxRouter *router, CK_SLOT_ID slot, P11muxRoute *route)
{
    const P11muxSlot *entry = p11mux_slotmap_lookup(router->slots, slot);

    if (entry == NULL) {
        return CKR_SLOT_ID_INVALID;
    }
    route->backend = entry->backend;
    route->slot = entry->id;
    route->real_slot = entry->real;
    route->real_session = 0;
    return CKR_OK;
}

/* After the backend, as p11mux_call_end: a session the backend says is gone goes. */
G_ALWAYS_INLINE static inline void
p11mux_route_end_session(P11muxRouter *router, CK_SESSION_HANDLE session, CK_RV rv)
{
    if (G_UNLIKELY(p11mux_rv_means_session_lost(rv))) {
        p11mux_sessions_remove(router->sessions, session);
    }
}

#endif /* P11MUX_CALL_H */
