/*
 * The adapter between the call pipeline and the policy
 * (src/core/policy-adapter.c): the router's check, after and session_gone
 * seams when a backend has a policy.
 */
#ifndef P11MUX_POLICY_ADAPTER_H
#define P11MUX_POLICY_ADAPTER_H

#include "router.h"

/*
 * Build the policy engine over router's loaded backends from the compiled
 * router->policies (router->policy) and attach the seams; a router whose
 * backends have no policy is left untouched.
 */
void p11mux_adapter_attach(P11muxRouter *router);

/* Release what p11mux_adapter_attach attached (p11mux_router_free). */
void p11mux_adapter_detach(P11muxRouter *router);

#endif /* P11MUX_POLICY_ADAPTER_H */
