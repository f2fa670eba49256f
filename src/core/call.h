/*
 * The one choke point of every call: begin (initialised? route) → policy
 * check → backend call → end (trace).  Generated forwarders and hand-written
 * special functions use the same helpers, so they trace and enforce alike.
 *
 * Every p11mux_call_begin* is followed by exactly one p11mux_call_end on
 * every path, whatever begin returned: between the two, the thread holds the
 * router it saw (an in-flight marker, see call.c), and C_Finalize waits for
 * every holder to leave before it frees the router and finalises backends.
 */
#ifndef P11MUX_CALL_H
#define P11MUX_CALL_H

#include <string.h>

#include "backend.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"
#include "router.h"

/*
 * One thread's in-flight marker (src/core/call.c): 1 while the thread is in a
 * call, 0 between calls, written by its thread only.  Only call.[ch] touch
 * it.
 */
typedef struct P11muxHold P11muxHold;
struct P11muxHold {
    gulong busy;                /* atomic */
    P11muxHold *next;           /* the list of every marker; set once, before it is published */
    gint in_use;                /* atomic: owned by a live thread */
} __attribute__((aligned(64))); /* one cache line each: holders never share one */

/* This thread's marker; a shared busy one until its first call, so that the
 * fast path tests one thing.  initial-exec: a call pays one load for it,
 * not a __tls_get_addr (8 bytes of the static TLS glibc keeps for modules
 * loaded with dlopen). */
#define P11MUX_TLS_INITIAL_EXEC __attribute__((tls_model("initial-exec")))
extern __thread P11muxHold *p11mux_call_this_hold P11MUX_TLS_INITIAL_EXEC G_GNUC_INTERNAL;

/* busy when a forwarder found no plain router for its function and hands
 * its mark on to the stepped pipeline, which makes it 1 (odd, as 1: a call
 * made meanwhile would find the thread busy). */
#define P11MUX_HOLD_HANDED 3

/* What a call holds: its marker, NULL when it holds nothing. */
typedef struct {
    P11muxHold *hold;
} P11muxPlain;

/*
 * Mark this thread busy, before it reads p11mux_router_current.  C_Finalize
 * unpublishes the router, then waits until it has seen every marker idle:
 * either a call saw the router unpublished, or C_Finalize sees its mark
 * (both sides sequentially consistent; this read-modify-write is the one
 * fence a call pays).  FALSE for the slow cases, with nothing changed: the thread's
 * first call, a call made inside a call (the marker was busy already); the
 * stepped pipeline handles them.
 */
G_ALWAYS_INLINE static inline gboolean
p11mux_call_enter(P11muxPlain *plain)
{
    plain->hold = p11mux_call_this_hold;
    /* a fetch-or of one bit tested: one "lock bts" on x86 */
    return G_LIKELY((__atomic_fetch_or(&plain->hold->busy, 1, __ATOMIC_SEQ_CST) & 1) == 0);
}

/* The end of the call p11mux_call_enter marked: a release store, after
 * every use of the router by this call. */
G_ALWAYS_INLINE static inline void
p11mux_call_plain_release(P11muxPlain *plain)
{
    __atomic_store_n(&plain->hold->busy, 0, __ATOMIC_RELEASE);
}

/* Where a call goes: what routing (p11mux_route_*, below) finds. */
typedef struct {
    const P11muxSlot *entry;
    P11muxBackend *backend;
    CK_SLOT_ID slot;      /* as the application sees it */
    CK_SLOT_ID real_slot; /* as the backend sees it */
    CK_SESSION_HANDLE real_session;
} P11muxRoute;

/*
 * The fields the pipeline sets for every call come first; the trace's come
 * last and are written by its own seams only (begin, enter), so that a call
 * without trace does not touch them.
 */
/* In P11muxCall.steps, never a seam: a call p11mux makes itself (a sub-call
 * the policy asked for, src/core/policy-adapter.c), not the application. */
#define P11MUX_CALL_OWN (1u << 8)

struct P11muxCall {
    P11muxFunctionId fn;
    guint steps;          /* the steps this call runs (router->steps[fn]); P11MUX_CALL_OWN */
    void **args;          /* pointers to the parameters, in table order */
    P11muxRouter *router; /* NULL when not initialised */
    /* routing writes route directly; the names below are its fields */
    union {
        P11muxRoute route;
        struct {
            const P11muxSlot *slot_entry; /* NULL until routed */
            P11muxBackend *backend;       /* NULL until routed */
            CK_SLOT_ID slot;              /* as the application sees it */
            CK_SLOT_ID real_slot;         /* as the backend sees it */
            CK_SESSION_HANDLE real_session;
        };
    };
    CK_SESSION_HANDLE session;
    CK_FLAGS session_flags; /* the flags the session was opened with */
    gpointer policy_data;   /* nullable: the policy's state from check to after
                             * (P11muxPolicyRewrites *, src/core/policy-adapter.c) */
    P11muxPlain hold;       /* hold.hold NULL when nothing is held (not initialised, nested) */
    /* written by router->begin (the trace) only, before anything else; unset
     * when trace is off */
    gint64 started;      /* g_get_monotonic_time() when the call began */
    gint64 started_wall; /* g_get_real_time() when the call began */
    CK_ULONG size_in;    /* the value behind the first len-io or count-out
                          * parameter before the call (the buffer size offered) */
    gboolean size_in_set;
    /* the slow-call watch (src/trace/trace-watch.c), under its lock once
     * watched; watched is set by router->begin */
    gboolean watched; /* in the watch's list from enter to end */
    gboolean slow_reported;
    guint64 tid;
    GList watch_link;
};

G_STATIC_ASSERT(G_STRUCT_OFFSET(P11muxCall, slot_entry) ==
                G_STRUCT_OFFSET(P11muxCall, route) + G_STRUCT_OFFSET(P11muxRoute, entry));
G_STATIC_ASSERT(G_STRUCT_OFFSET(P11muxCall, real_session) ==
                G_STRUCT_OFFSET(P11muxCall, route) + G_STRUCT_OFFSET(P11muxRoute, real_session));

/*
 * Per function, its tail of the stepped pipeline (generated,
 * src/core/gen-functions.py), indexed by P11muxFunctionId: the argument
 * check over an argument array (p11mux_args_check), and for a routed
 * function how it is routed and the backend call over call->args
 * (CKR_FUNCTION_NOT_SUPPORTED for a special one).  invoke returns the
 * backend's own value: its caller maps it (p11mux_backend_answer, as
 * p11mux_call_end does).
 */
typedef struct {
    CK_RV (*check_args)(void *const *args);
    CK_RV (*invoke)(P11muxCall *call);
    guint8 handling; /* P11muxHandling */
    guint8 target;   /* a routed function's session or slot parameter */
} P11muxCallTail;

extern const P11muxCallTail p11mux_call_tails[P11MUX_FN_COUNT] G_GNUC_INTERNAL;

/* Each begin answers CKR_CRYPTOKI_NOT_INITIALIZED first, then
 * CKR_ARGUMENTS_BAD for a NULL pointer the specification requires
 * (p11mux_args_check: the caller boundary, before routing and policy). */

/* Not routed: CKR_CRYPTOKI_NOT_INITIALIZED, CKR_ARGUMENTS_BAD or CKR_OK. */
CK_RV p11mux_call_begin(P11muxCall *call, P11muxFunctionId fn, void **args);

/* Routed by slot: also CKR_SLOT_ID_INVALID, and the policy's answer. */
CK_RV p11mux_call_begin_slot(P11muxCall *call, P11muxFunctionId fn, CK_SLOT_ID slot, void **args);

/* Routed by session: also CKR_SESSION_HANDLE_INVALID, and the policy's answer. */
CK_RV p11mux_call_begin_session(P11muxCall *call, P11muxFunctionId fn, CK_SESSION_HANDLE session,
                                void **args);

/* Wait until every call other threads are in has ended (C_Finalize, after
 * it unpublished the router and before it frees it). */
void p11mux_call_drain(void);

/* In a child after fork(): the other threads are gone, and so are their calls. */
void p11mux_call_forget_other_threads(void);

/* Release what begin held (p11mux_call_end does it). */
static inline void
p11mux_call_release(P11muxCall *call)
{
    if (call->hold.hold != NULL) {
        p11mux_call_plain_release(&call->hold);
        call->hold.hold = NULL;
    }
}

/* The backend says the session is gone: the application's handle goes
 * too, and router->session_gone hears of it. */
void p11mux_call_session_lost(P11muxCall *call);

G_ALWAYS_INLINE static inline gboolean
p11mux_rv_means_session_lost(CK_RV rv)
{
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
           rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT;
}

/* The steps (P11muxSeam bits) a call of fn runs under router: one bit for
 * each hook router has, unless the hook's owner left fn out (wanted_seams).
 * Generated from the list of steps (src/core/gen-functions.py). */
guint p11mux_steps_of(const P11muxRouter *router, P11muxFunctionId fn);

static inline CK_RV
p11mux_call_end(P11muxCall *call, CK_RV rv)
{
    if (G_UNLIKELY(call->router == NULL)) {
        return rv;
    }
    /* rv first: CKR_OK, the common answer, is one test */
    if (G_UNLIKELY(rv != CKR_OK)) {
        rv = p11mux_backend_answer(rv); /* the generated tails' backend calls */
        if (call->session != 0 && p11mux_rv_means_session_lost(rv)) {
            p11mux_call_session_lost(call);
        }
    }
    if ((call->steps & P11MUX_SEAM_AFTER) ||
        (G_UNLIKELY(call->policy_data != NULL) && call->router->after != NULL)) {
        rv = call->router->after(call, rv);
    }
    if (call->steps & P11MUX_SEAM_END) {
        call->router->end(call, rv);
    }
    p11mux_call_release(call);
    return rv;
}

/*
 * The plain path.  With no hook attached (trace off, no policy), a generated
 * forwarder builds no P11muxCall and no argument array: it pays the hold (a
 * thread-local load and an atomic or, and a release store at the end), one
 * atomic load (the router, published here only when it has no hook), the
 * lock-free route and, after the backend, the session-lost test --
 * everything the stepped pipeline does when the mask is empty, and nothing
 * else.  (P11muxRoute is above, with P11muxCall.)
 */

/* Per function, the published router when the function's step mask is
 * empty (trace off, and no policy or one with nothing to do for it:
 * router->wanted_seams), else NULL; set and cleared with
 * p11mux_router_current by p11mux_call_publish, so that the plain path
 * loads one pointer, as it would with one for all functions, and tests no
 * hook. */
extern P11muxRouter *p11mux_router_plain[P11MUX_FN_COUNT] G_GNUC_INTERNAL;

/* Compute router's step masks, then publish it (NULL: unpublish) as
 * p11mux_router_current and, for each function whose mask is empty, in
 * p11mux_router_plain.  Under init_lock (module-init.c). */
void p11mux_call_publish(P11muxRouter *router);

/* The published router when no hook applies to fn, held in plain until
 * p11mux_call_plain_release; else NULL, and the caller goes on to the
 * stepped pipeline at once: the thread's mark handed on to it
 * (P11MUX_HOLD_HANDED) when it was taken here, else (a call inside a call,
 * the thread's first call) nothing held. */
G_ALWAYS_INLINE static inline P11muxRouter *
p11mux_call_plain_router(P11muxPlain *plain, P11muxFunctionId fn)
{
    P11muxRouter *router;

    if (G_UNLIKELY(!p11mux_call_enter(plain))) {
        return NULL;
    }
    router = __atomic_load_n(&p11mux_router_plain[fn], __ATOMIC_SEQ_CST);
    if (G_LIKELY(router != NULL)) {
        return router;
    }
    /* still marked: the stepped pipeline takes the mark over (one store,
     * as the release it replaces) */
    __atomic_store_n(&plain->hold->busy, P11MUX_HOLD_HANDED, __ATOMIC_RELAXED);
    return NULL;
}

/* Routing, the one place for both paths: a session's or slot's backend
 * and ids, or CKR_SESSION_HANDLE_INVALID / CKR_SLOT_ID_INVALID.  flags
 * (nullable): the flags the session was opened with. */
G_ALWAYS_INLINE static inline CK_RV
p11mux_route_session_flags(P11muxRouter *router, CK_SESSION_HANDLE session, P11muxRoute *route,
                           CK_FLAGS *flags)
{
    const P11muxSlot *entry;

    if (!p11mux_sessions_lookup(router->sessions, session, &entry, &route->real_session, flags)) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    route->entry = entry;
    route->backend = entry->backend;
    route->slot = entry->id;
    route->real_slot = entry->real;
    return CKR_OK;
}

G_ALWAYS_INLINE static inline CK_RV
p11mux_route_session(P11muxRouter *router, CK_SESSION_HANDLE session, P11muxRoute *route)
{
    return p11mux_route_session_flags(router, session, route, NULL);
}

G_ALWAYS_INLINE static inline CK_RV
p11mux_route_slot(P11muxRouter *router, CK_SLOT_ID slot, P11muxRoute *route)
{
    const P11muxSlot *entry = p11mux_slotmap_lookup(router->slots, slot);

    if (entry == NULL || entry->hidden) {
        return CKR_SLOT_ID_INVALID;
    }
    route->entry = entry;
    route->backend = entry->backend;
    route->slot = entry->id;
    route->real_slot = entry->real;
    route->real_session = 0;
    return CKR_OK;
}

/* A session lost on the plain path: it goes, and router->session_gone
 * hears of it (out of line: the rare case). */
void p11mux_call_plain_session_lost(P11muxRouter *router, P11muxFunctionId fn,
                                    CK_SESSION_HANDLE session);

/* After the backend, as p11mux_call_end: what is no answer mapped
 * (p11mux_backend_answer), and a session the backend says is gone goes. */
G_ALWAYS_INLINE static inline CK_RV
p11mux_route_end_session(P11muxRouter *router, P11muxFunctionId fn, CK_SESSION_HANDLE session,
                         CK_RV rv)
{
    if (G_UNLIKELY(rv != CKR_OK)) {
        rv = p11mux_backend_answer(rv);
        if (p11mux_rv_means_session_lost(rv)) {
            p11mux_call_plain_session_lost(router, fn, session);
        }
    }
    return rv;
}

/* The same for a function routed by slot: the answer mapped. */
G_ALWAYS_INLINE static inline CK_RV
p11mux_route_end_slot(CK_RV rv)
{
    return G_UNLIKELY(rv != CKR_OK) ? p11mux_backend_answer(rv) : rv;
}

/*
 * The stepped pipeline's parts, inline so that each generated entry
 * (p11mux_call_stepped_N) is one function: p11mux_call_begin* (call.c) are
 * made of them too.
 */

/* The slow part of p11mux_call_hold_router: mark this thread busy for call
 * (the thread's first call takes its marker first); FALSE, nothing held,
 * in a call inside a call. */
gboolean p11mux_call_hold_slow(P11muxCall *call);

/* The published router, held until p11mux_call_release (call->hold); NULL,
 * nothing held, when not initialised. */
G_ALWAYS_INLINE static inline P11muxRouter *
p11mux_call_hold_router(P11muxCall *call)
{
    P11muxHold *hold = p11mux_call_this_hold;
    P11muxRouter *router;

    if (G_LIKELY(__atomic_load_n(&hold->busy, __ATOMIC_RELAXED) == P11MUX_HOLD_HANDED)) {
        /* a forwarder found no plain router and handed its mark on: ours
         * now, marked as any call's (a call inside this one sees it busy) */
        __atomic_store_n(&hold->busy, 1, __ATOMIC_RELAXED);
        call->hold.hold = hold;
    } else if (!p11mux_call_hold_slow(call)) {
        /* a call inside a call: the outer one holds the router */
        return p11mux_router_peek();
    }
    router = p11mux_router_peek();
    if (router == NULL) {
        p11mux_call_release(call);
    }
    return router;
}

/* What every call sets before anything reads it: the router held, the
 * steps, and what the seams and p11mux_call_end read before routing (the
 * route itself is zeroed by p11mux_call_begin* or where routing fails). */
G_ALWAYS_INLINE static inline void
p11mux_call_start(P11muxCall *call, P11muxFunctionId fn, void **args)
{
    call->fn = fn;
    call->args = args;
    call->router = p11mux_call_hold_router(call);
    call->steps = call->router != NULL ? call->router->steps[fn] : 0;
    call->session = 0;
    call->session_flags = 0;
    call->policy_data = NULL;
}

/* The begin seam: trace off, this test is all a call pays. */
G_ALWAYS_INLINE static inline void
p11mux_call_begin_seam(P11muxCall *call)
{
    if (G_UNLIKELY(call->steps & P11MUX_SEAM_BEGIN)) {
        call->router->begin(call);
    }
}

/* Route call by its session or slot (handling) into call->route; on
 * failure the route stays empty. */
G_ALWAYS_INLINE static inline CK_RV
p11mux_call_route(P11muxCall *call, P11muxHandling handling, CK_ULONG target)
{
    CK_RV rv;

    if (handling == P11MUX_HANDLING_ROUTE_SESSION) {
        rv = p11mux_route_session_flags(call->router, target, &call->route, &call->session_flags);
        if (G_LIKELY(rv == CKR_OK)) {
            call->session = target;
            return CKR_OK;
        }
    } else {
        rv = p11mux_route_slot(call->router, target, &call->route);
        if (G_LIKELY(rv == CKR_OK)) {
            return CKR_OK;
        }
    }
    memset(&call->route, 0, sizeof call->route);
    return rv;
}

/* The check seam, then the enter seam when check allowed the call. */
G_ALWAYS_INLINE static inline CK_RV
p11mux_call_check(P11muxCall *call)
{
    CK_RV rv = CKR_OK;

    if (call->steps & P11MUX_SEAM_CHECK) {
        rv = call->router->check(call);
    }
    if (G_UNLIKELY(rv == CKR_OK && (call->steps & P11MUX_SEAM_ENTER))) {
        call->router->enter(call);
    }
    return rv;
}

/*
 * The stepped pipeline of a routed function (a forwarder whose function has
 * steps to run, or that found p11mux not initialised or itself inside a
 * call), over its arguments as the forwarder got them, args[i] pointing at
 * slots[i]: begin -> route -> the steps of the mask -> the backend call
 * (the function's tail, p11mux_call_tails) -> end.  Inlined in the
 * generated p11mux_call_stepped_N, one per number of arguments, which the
 * forwarders reach.
 */
G_ALWAYS_INLINE static inline CK_RV
p11mux_call_stepped(P11muxFunctionId fn, P11muxArgSlot *slots, void **args)
{
    const P11muxCallTail *tail = &p11mux_call_tails[fn];
    P11muxCall call;
    CK_RV rv;

    p11mux_call_start(&call, fn, args);
    if (G_UNLIKELY(call.router == NULL)) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    p11mux_call_begin_seam(&call);
    rv = tail->check_args(args);
    if (G_LIKELY(rv == CKR_OK)) {
        rv = p11mux_call_route(&call, tail->handling, slots[tail->target].ulong);
    } else {
        memset(&call.route, 0, sizeof call.route);
    }
    if (G_LIKELY(rv == CKR_OK)) {
        rv = p11mux_call_check(&call);
    }
    if (G_LIKELY(rv == CKR_OK)) {
        rv = tail->invoke(&call);
    }
    return p11mux_call_end(&call, rv);
}

#endif /* P11MUX_CALL_H */
