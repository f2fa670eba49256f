/*
 * The policy engine (p11mux.conf(5), "What the application sees when
 * policy says no"): the [policy NAME] groups of the configuration, compiled once when
 * the router is built, enforced through the router's check and after seams
 * before any backend sees a call.  The seams are the adapter's
 * (src/core/policy-adapter.c): the policy decides on facts of a call
 * (P11muxPolicyCall, below), never on the pipeline's call itself.
 *
 * The files: policy.c (compiling and combining policies, the engine),
 * policy-mech.c (mechanisms and the algorithms their parameters name),
 * policy-params.c (the closed world: mechanism arguments walked by their
 * layouts, src/pkcs11/mech-params.c),
 * policy-keys.c (key sizes), policy-uri.c (token and object URIs),
 * policy-cache.c (what p11mux read about objects, per session),
 * policy-slots.c (token visibility), policy-hooks.c (the check and after
 * seams and their plans, driven by the roles of the function table),
 * policy-call.c (a call's state, rewrites and sub-calls), policy-objects.c
 * (what p11mux reads about an object), policy-changes.c (handles, templates,
 * created objects), policy-outputs.c (filtered searches and lists),
 * policy-decide.c (decisions as data, with the rule that makes them:
 * src/policy/policy-decide.h, for p11mux explain and list).
 */
#ifndef P11MUX_POLICY_H
#define P11MUX_POLICY_H

#include <glib.h>

#include "conf.h"
#include "backend.h"
#include "p11mux-functions.h"
#include "slotmap.h"

G_BEGIN_DECLS

#define P11MUX_POLICY_ERROR (p11mux_policy_error_quark())
GQuark p11mux_policy_error_quark(void);

/* Errors are "FILE:LINE: message", FILE:LINE where the value was written. */
typedef enum {
    P11MUX_POLICY_ERROR_UNDEFINED, /* policy = NAME names no [policy NAME] group */
    P11MUX_POLICY_ERROR_VALUE,     /* a mechanism, URI, glob, function or min-key-bits item */
} P11muxPolicyErrorCode;

/* The prefix of the names of the HA groups' virtual backends, "group:NAME"
 * (src/group/group-private.h names them so): such a backend gets the policy
 * its [group NAME] names, else [global]'s. */
#define P11MUX_POLICY_GROUPS_BACKEND "group:"

/* The compiled policies of a configuration: one per backend that has one. */
typedef struct P11muxPolicySet P11muxPolicySet;

/*
 * Compile every [policy NAME] group of conf, used or not, and the policy
 * each backend selects (policy = NAME in [global] and in each [backend
 * NAME]), combined with the system layers' selection when the system file
 * says policy-override = stricter-only.  This is the only check of the
 * policies' values (the loader takes them as text): the router calls it
 * once, before it opens a backend (router->policies, which p11mux list and
 * explain read), and p11mux check-config calls it.  transfer full;
 * NULL with error set on the first bad value.
 */
P11muxPolicySet *p11mux_policy_set_new(const P11muxConf *conf, GError **error);
void p11mux_policy_set_free(P11muxPolicySet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxPolicySet, p11mux_policy_set_free)

/* ------------------------------------------------- the policy of a router */

/*
 * The policy enforced over a router's backends: built by the adapter
 * (src/core/policy-adapter.c) when the router is built, from the compiled
 * set and what the backends said of themselves.  The policy asks nothing of
 * a backend itself: what it needs to know it asks the adapter for, as
 * sub-calls that go through the backend boundary and show in the trace as
 * p11mux's own calls.
 */
typedef struct P11muxPolicyEngine P11muxPolicyEngine;
typedef struct P11muxPolicyCall P11muxPolicyCall;

/*
 * A sub-call on the route of the call it is made for: fn over args
 * (pointers to its parameters in table order, as an application's call
 * has them), sent to that call's backend with that call's session or slot
 * (the routing argument in args is not read).  The backend's answer.
 */
typedef CK_RV (*P11muxPolicyAsk)(const P11muxPolicyCall *call, P11muxFunctionId fn, void **args);

/* What p11mux_policy_quick hands a call it does not settle to (the adapter's). */
typedef CK_RV (*P11muxPolicyCheckFacts)(gpointer call);

/* The same outside any call (token visibility): to slot's backend, for slot. */
typedef CK_RV (*P11muxPolicyAskSlot)(gpointer pipeline, const P11muxSlot *slot,
                                     P11muxFunctionId fn, void **args);

/*
 * Argument rewrites a verdict asks for: argument index holds value (a
 * pointer or a CK_ULONG: a completed copy of a template, a buffer p11mux
 * filters) while the backend and the after seam see the call.  The adapter
 * writes them once check allowed the call, keeps the caller's values in
 * saved and puts them back after the after seam, before the trace sees the
 * call.  An argument is rewritten once at most.
 */
#define P11MUX_POLICY_MAX_REWRITES 8

typedef struct {
    guint n;
    struct {
        int index;
        CK_ULONG value;
        CK_ULONG saved;
    } list[P11MUX_POLICY_MAX_REWRITES];
} P11muxPolicyRewrites;

/*
 * One call as the policy sees it: facts the adapter takes from the
 * pipeline.  The policy reads them and the arguments, and keeps its own
 * state from check to after in state, which begins with the verdict's
 * rewrites; it never writes an argument and never calls a backend.
 */
struct P11muxPolicyCall {
    P11muxPolicyEngine *engine;
    P11muxFunctionId fn;
    void *const *args;            /* pointers to the parameters, in table order: read only */
    const P11muxSlot *slot_entry; /* NULL when not routed */
    const P11muxBackend *backend; /* NULL when not routed; an identity, never called */
    CK_SESSION_HANDLE session;    /* as the application sees it; 0: none */
    P11muxPolicyRewrites *state;  /* nullable: the policy's, from check to after */
    P11muxPolicyAsk ask;
    gconstpointer pipeline; /* the adapter's, for ask */
};

/*
 * The engine for backends (router->backends), whose CK_INFO the adapter
 * read (infos, indexed by P11muxBackend.index); NULL when none of them has
 * a policy.  check_facts is the adapter's (p11mux_policy_quick); ask_slot
 * and pipeline serve the token reads of slot visibility.
 */
P11muxPolicyEngine *p11mux_policy_engine_new(const P11muxPolicySet *set, GPtrArray *backends,
                                             const CK_INFO *infos,
                                             P11muxPolicyCheckFacts check_facts,
                                             P11muxPolicyAskSlot ask_slot, gpointer pipeline);
void p11mux_policy_engine_free(P11muxPolicyEngine *engine);

/* Per function, the seams among check and after its plans need
 * (router->wanted_seams: P11MUX_SEAM_CHECK, P11MUX_SEAM_AFTER). */
const guint8 *p11mux_policy_engine_seams(const P11muxPolicyEngine *engine);

/*
 * The check seam's first answer: the verdict on a call no policy applies
 * to, or whose plan is its mechanism argument alone when the compiled
 * table settles it (one lookup, no state).  Any other call is handed back
 * to the adapter, check_facts(call) (p11mux_policy_engine_new), which
 * gives p11mux_policy_check its facts: call is the adapter's, opaque here.
 * fn is a P11muxFunctionId, passed as the index it is used as.
 */
CK_RV p11mux_policy_quick(const P11muxPolicyEngine *engine, const P11muxBackend *backend,
                          gsize fn, void *const *args, gpointer call);


/* The check seam: CKR_OK, or the refusal the application gets.  May leave
 * call->state (rewrites to apply) also when it refuses. */
CK_RV p11mux_policy_check(P11muxPolicyCall *call);

/* Whether the after seam has anything to do for a call (its state, or an
 * after step planned for fn). */
gboolean p11mux_policy_after_wanted(const P11muxPolicyEngine *engine, P11muxFunctionId fn,
                                    const P11muxPolicyRewrites *state);

/* The after seam: the return value the application gets.  The rewrites
 * are still in place; p11mux_policy_call_done ends the call. */
CK_RV p11mux_policy_after(P11muxPolicyCall *call, CK_RV rv);

/* Free call->state (the rewrites were undone) and set it to NULL. */
void p11mux_policy_call_done(P11muxPolicyCall *call);

/* The backend said the call's session is gone. */
void p11mux_policy_session_gone(const P11muxPolicyCall *call);

/*
 * Whether slot's token may be seen (C_GetSlotList, slot events): asks the
 * backend for the token now.  TRUE when no token rule applies (engine
 * NULL: none).
 */
gboolean p11mux_policy_allows_slot(P11muxPolicyEngine *engine, const P11muxSlot *slot);

G_END_DECLS

#endif /* P11MUX_POLICY_H */
