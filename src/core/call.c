/*
 * The call pipeline, and how a call keeps its router alive.
 *
 * In-flight markers: every thread that calls p11mux owns a P11muxHold, one
 * cache line of its own, found through a thread-local pointer and kept in a
 * global list that only grows (a marker is reused by a later thread once
 * its thread has exited, never freed).  A call marks its marker busy (an
 * atomic or), then reads p11mux_router_current, and marks it idle when it
 * has finished with the router.  C_Finalize unpublishes the router, then
 * waits until it has seen each marker idle once: the call that was in
 * flight has ended, and a call that starts after the unpublishing sees no
 * router.  Both sides are sequentially consistent, so a call either sees
 * the router gone or is seen by C_Finalize.
 *
 * What a call pays: a thread-local load, an atomic or on memory no other
 * thread writes (its one fence), and a release store (a plain store on
 * x86) at the end: no shared counter, no lock, no cache line that moves
 * between cores.  C_Finalize pays a scan of the markers.
 *
 * A call made inside a call (a backend calling back into p11mux) finds its
 * marker busy and is covered by the outer call's mark.
 *
 * Lock order: none; hold_list is pushed with compare-and-exchange.
 */
#include "config.h"

#include "call.h"

#include <dlfcn.h>
#include <string.h>

/* Every marker ever made; pushed at the head, never removed. */
static P11muxHold *hold_list;

/* Every thread's marker until its first call: busy, so that the fast path
 * sends that call here. */
static P11muxHold no_hold = {1, NULL, 0};

__thread P11muxHold *p11mux_call_this_hold = &no_hold;

static void release_hold(gpointer data);

/* Only for its destructor, which hands the marker back when the thread exits. */
static GPrivate hold_owner = G_PRIVATE_INIT(release_hold);

static void
release_hold(gpointer data)
{
    P11muxHold *hold = data;

    /* a thread's destructors run after its last call: the marker is idle */
    if (p11mux_call_this_hold == hold) {
        p11mux_call_this_hold = &no_hold;
    }
    g_atomic_int_set(&hold->in_use, 0);
}

/*
 * The thread-exit destructor lives in this file's code: keep the object
 * holding it mapped for the rest of the process (dlclose of p11mux.so then
 * leaves it loaded), else a thread exiting after the unload would jump into
 * unmapped memory.  Backends are still unloaded by C_Finalize.
 */
static void
pin_self(void)
{
    static gsize once = 0;
    Dl_info info;

    if (g_once_init_enter(&once)) {
        if (dladdr((void *)&hold_list, &info) != 0 && info.dli_fname != NULL) {
            /* a reference never dropped; NULL when linked statically (tests) */
            (void)dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
        }
        g_once_init_leave(&once, 1);
    }
}

/* A marker for this thread: one a finished thread left, else a new one. */
static P11muxHold *
take_hold(void)
{
    P11muxHold *hold;

    pin_self();
    for (hold = g_atomic_pointer_get(&hold_list); hold != NULL; hold = hold->next) {
        if (g_atomic_int_get(&hold->in_use) == 0 &&
            g_atomic_int_compare_and_exchange(&hold->in_use, 0, 1)) {
            break;
        }
    }
    if (hold == NULL) {
        hold = g_aligned_alloc0(1, sizeof(P11muxHold), G_ALIGNOF(P11muxHold));
        hold->in_use = 1;
        do {
            hold->next = g_atomic_pointer_get(&hold_list);
        } while (!g_atomic_pointer_compare_and_exchange(&hold_list, hold->next, hold));
    }
    g_private_set(&hold_owner, hold);
    p11mux_call_this_hold = hold;
    return hold;
}

gboolean
p11mux_call_hold_slow(P11muxCall *call)
{
    if (p11mux_call_this_hold == &no_hold) {
        take_hold();
    }
    if (!p11mux_call_enter(&call->hold)) {
        call->hold.hold = NULL;
        return FALSE;
    }
    return TRUE;
}

/* Spin a little (a call is short), then sleep, longer and longer. */
static void
pause_before_looking_again(guint round)
{
    if (round < 64) {
        g_thread_yield();
    } else {
        g_usleep(MIN(round - 63, 1000));
    }
}

void
p11mux_call_drain(void)
{
    P11muxHold *hold;

    for (hold = g_atomic_pointer_get(&hold_list); hold != NULL; hold = hold->next) {
        for (guint round = 0;
             hold != p11mux_call_this_hold && __atomic_load_n(&hold->busy, __ATOMIC_SEQ_CST) != 0;
             round++) {
            pause_before_looking_again(round);
        }
    }
}

P11muxRouter *p11mux_router_plain[P11MUX_FN_COUNT];

void
p11mux_call_publish(P11muxRouter *router)
{
    guint fn;

    /* the stepped path reads p11mux_router_current, the plain one
     * p11mux_router_plain: a call sees one router, or none */
    for (fn = 0; fn < P11MUX_FN_COUNT; fn++) {
        g_atomic_pointer_set(&p11mux_router_plain[fn], NULL);
        if (router != NULL) {
            router->steps[fn] = (guint8)p11mux_steps_of(router, fn);
        }
    }
    g_atomic_pointer_set(&p11mux_router_current, router);
    for (fn = 0; router != NULL && fn < P11MUX_FN_COUNT; fn++) {
        if (router->steps[fn] == 0) {
            g_atomic_pointer_set(&p11mux_router_plain[fn], router);
        }
    }
}

void
p11mux_call_forget_other_threads(void)
{
    P11muxHold *hold;

    for (hold = g_atomic_pointer_get(&hold_list); hold != NULL; hold = hold->next) {
        if (hold != p11mux_call_this_hold) {
            __atomic_store_n(&hold->busy, 0, __ATOMIC_RELAXED);
            g_atomic_int_set(&hold->in_use, 0);
        }
    }
}

static void
call_init(P11muxCall *call, P11muxFunctionId fn, void **args)
{
    p11mux_call_start(call, fn, args);
    memset(&call->route, 0, sizeof call->route);
    p11mux_call_begin_seam(call);
}

CK_RV
p11mux_call_begin(P11muxCall *call, P11muxFunctionId fn, void **args)
{
    call_init(call, fn, args);
    if (call->router == NULL) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    if (G_UNLIKELY(p11mux_args_check(fn, args) != CKR_OK)) {
        return CKR_ARGUMENTS_BAD;
    }
    return p11mux_call_check(call);
}

/* begin for a routed function: route by the session or slot argument
 * (handling), then the check and enter seams. */
static CK_RV
begin_routed(P11muxCall *call, P11muxFunctionId fn, P11muxHandling handling, CK_ULONG target,
             void **args)
{
    CK_RV rv;

    call_init(call, fn, args);
    if (call->router == NULL) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    if (G_UNLIKELY(p11mux_args_check(fn, args) != CKR_OK)) {
        return CKR_ARGUMENTS_BAD;
    }
    rv = p11mux_call_route(call, handling, target);
    if (rv != CKR_OK) {
        return rv;
    }
    return p11mux_call_check(call);
}

CK_RV
p11mux_call_begin_slot(P11muxCall *call, P11muxFunctionId fn, CK_SLOT_ID slot, void **args)
{
    return begin_routed(call, fn, P11MUX_HANDLING_ROUTE_SLOT, slot, args);
}

CK_RV
p11mux_call_begin_session(P11muxCall *call, P11muxFunctionId fn, CK_SESSION_HANDLE session,
                          void **args)
{
    return begin_routed(call, fn, P11MUX_HANDLING_ROUTE_SESSION, session, args);
}

void
p11mux_call_session_lost(P11muxCall *call)
{
    p11mux_sessions_remove(call->router->sessions, call->session);
    if (call->router->session_gone != NULL) {
        call->router->session_gone(call);
    }
}

void
p11mux_call_plain_session_lost(P11muxRouter *router, P11muxFunctionId fn, CK_SESSION_HANDLE session)
{
    P11muxCall call;

    memset(&call, 0, sizeof call);
    call.fn = fn;
    call.router = router;
    /* routed again for the seam: the plain path keeps no P11muxCall */
    if (router->session_gone == NULL ||
        p11mux_route_session_flags(router, session, &call.route, &call.session_flags) != CKR_OK) {
        p11mux_sessions_remove(router->sessions, session);
        return;
    }
    call.session = session;
    p11mux_call_session_lost(&call);
}
