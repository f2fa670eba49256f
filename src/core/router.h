/*
 * The router: everything C_Initialize builds and C_Finalize tears down.
 * Built completely, then published with one atomic store, then immutable
 * (the slot map and session table have their own synchronisation).
 */
#ifndef P11MUX_ROUTER_H
#define P11MUX_ROUTER_H

#include <glib.h>

#include "backend.h"
#include "conf.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"
#include "sessions.h"
#include "slotmap.h"

typedef struct P11muxCall P11muxCall;

/*
 * Seams for the policy (through its adapter, src/core/policy-adapter.c)
 * and the trace, NULL when unused; each one a call
 * runs is a step of the pipeline (STEPS in src/core/gen-functions.py, which
 * refuses to generate while a hook here is no step):
 *   begin  first, before routing (trace: the start time and the buffer sizes
 *          the application offers)
 *   check  after routing, before the backend; a code other than CKR_OK is
 *          returned to the application and the backend is not called
 *   enter  after check allowed the call, before the backend sees it (the
 *          trace's entry records and slow-call watch)
 *   after  after the backend (also when check refused): may rewrite
 *          outputs and the return value (filtered lists, token flags)
 *   end    last, sees the final return value (trace)
 *   session_gone  the backend said a session is gone (a session-lost code,
 *          src/core/call.h), whichever path the call took, even one that skipped
 *          check and after; call->args may be NULL
 * wanted_seams, when set, gives per function the seams among check and
 * after that have something to do (their owner decides once, before the
 * router is published); after also runs when check left state for it
 * (call->policy_data).
 * steps, per function, is the mask of the steps its calls run
 * (p11mux_steps_of, when the router is published); a function whose mask is
 * empty takes the plain path.
 */
typedef void (*P11muxCallBegin)(P11muxCall *call);
typedef CK_RV (*P11muxCallCheck)(P11muxCall *call);
typedef CK_RV (*P11muxCallAfter)(P11muxCall *call, CK_RV rv);
typedef void (*P11muxCallEnd)(P11muxCall *call, CK_RV rv);
typedef void (*P11muxCallGone)(P11muxCall *call);

typedef struct {
    P11muxConf *conf;         /* owned */
    GPtrArray *backends;      /* P11muxBackend*, owned, the ones that loaded */
    GPtrArray *skipped;       /* P11muxBackend*, owned, the ones that did not */
    P11muxSlotMap *slots;     /* owned */
    P11muxSessions *sessions; /* owned */
    P11muxCallBegin begin;    /* called first, before routing */
    P11muxCallCheck check;    /* called after routing, before the backend */
    P11muxCallAfter after;    /* called after the backend */
    P11muxCallEnd end;        /* called last */
    P11muxCallBegin enter;    /* the call goes ahead (check passed), before the backend */
    void (*report)(const char *message); /* nullable: messages for the administrator */
    P11muxCallGone session_gone; /* a session the backend says is gone */
    const guint8 *wanted_seams;  /* nullable (both): per P11muxFunctionId, P11MUX_SEAM_CHECK|AFTER */
    struct P11muxPolicySet *policies; /* owned: the compiled policies (src/policy/policy.h) */
    gpointer policy;          /* nullable: the policy engine's state */
    gpointer trace;           /* nullable: the trace's state */
    gpointer groups;          /* nullable: the HA groups (src/group/group.h) */
    gboolean cant_create_threads;
    guint8 steps[P11MUX_FN_COUNT]; /* P11muxSeam bits: set by p11mux_call_publish */
} P11muxRouter;

/* The published router; NULL when not initialised.  One atomic load. */
extern P11muxRouter *p11mux_router_current;

static inline P11muxRouter *
p11mux_router_peek(void)
{
    return g_atomic_pointer_get(&p11mux_router_current);
}

/*
 * Load every enabled backend of conf and enumerate its slots, each in a
 * thread of its own with its deadline (init-timeout), or inline with none
 * when threads is FALSE (the application said
 * CKF_LIBRARY_CANT_CREATE_OS_THREADS).  A backend that fails or misses its
 * deadline is reported through report (a line naming it and why) and
 * skipped, unless it is critical: then this fails.  Takes ownership of conf.
 */
P11muxRouter *p11mux_router_new_full(P11muxConf *conf, CK_FUNCTION_LIST_PTR self, gboolean threads,
                                     void (*report)(const char *message), GError **error);
/* p11mux_router_new_full() with threads */
P11muxRouter *p11mux_router_new(P11muxConf *conf, CK_FUNCTION_LIST_PTR self,
                                void (*report)(const char *message), GError **error);
void p11mux_router_free(P11muxRouter *router);

/* Ask every backend for its slots (tokenPresent as given) and intern them;
 * the result, in backend order, is transfer container. */
CK_RV p11mux_router_slot_list(P11muxRouter *router, CK_BBOOL token_present, GPtrArray **slots);

#endif /* P11MUX_ROUTER_H */
