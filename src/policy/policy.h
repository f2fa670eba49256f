/*
 * The policy engine (p11mux.conf(5), "What the application sees when
 * policy says no"): the [policy NAME] groups of the configuration, compiled once when
 * the router is built, enforced through the router's check and after seams
 * before any backend sees a call.
 *
 * The files: policy.c (compiling and combining policies, attaching them),
 * policy-mech.c (mechanisms and the algorithms their parameters name),
 * policy-params.c (the closed world: mechanism arguments walked by their
 * layouts, src/pkcs11/mech-params.c),
 * policy-keys.c (key sizes), policy-uri.c (token and object URIs),
 * policy-cache.c (what p11mux read about objects, per session),
 * policy-slots.c (token visibility), policy-hooks.c (the check and after
 * seams, driven by the roles of the function table), policy-objects.c
 * (object rules: handles, templates, created objects), policy-outputs.c
 * (filtered searches and lists), policy-decide.c (decisions as data, with
 * the rule that makes them: src/policy/policy-decide.h, for p11mux explain and list).
 */
#ifndef P11MUX_POLICY_H
#define P11MUX_POLICY_H

#include <glib.h>

#include "conf.h"
#include "router.h"
#include "slotmap.h"

G_BEGIN_DECLS

#define P11MUX_POLICY_ERROR (p11mux_policy_error_quark())
GQuark p11mux_policy_error_quark(void);

/* Errors are "FILE:LINE: message", FILE:LINE where the value was written. */
typedef enum {
    P11MUX_POLICY_ERROR_UNDEFINED, /* policy = NAME names no [policy NAME] group */
    P11MUX_POLICY_ERROR_VALUE,     /* a mechanism, URI, glob, function or min-key-bits item */
} P11muxPolicyErrorCode;

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

/*
 * Attach the compiled router->policies to router's loaded backends (its
 * check and after seams and router->policy); a router whose backends have
 * no policy is left untouched.
 */
void p11mux_policy_attach(P11muxRouter *router);

/* Release what p11mux_policy_attach attached (p11mux_router_free). */
void p11mux_policy_detach(P11muxRouter *router);

/*
 * Whether slot's token may be seen (C_GetSlotList, slot events): asks the
 * backend for the token now.  TRUE when no token rule applies.
 */
gboolean p11mux_policy_allows_slot(P11muxRouter *router, const P11muxSlot *slot);

G_END_DECLS

#endif /* P11MUX_POLICY_H */
