/*
 * HA groups (p11mux.conf(5), [group NAME]): one virtual slot and token over
 * several replicated member tokens, with operations spread over the
 * members and moved to another one when a member fails.
 *
 * The groups of a router live in one virtual backend (named "group:", a
 * name no configured backend can have) whose function list is p11mux's own
 * (src/group/group-dispatch.c, group-session.c): the router routes, traces
 * and applies the policy to a group's slot and sessions as to any other,
 * and every call into a member goes through the backend boundary
 * (src/core/backend.h).  The member tokens are kept out of the slot list.
 */
#ifndef P11MUX_GROUP_H
#define P11MUX_GROUP_H

#include <glib.h>

#include "router.h"

G_BEGIN_DECLS

/*
 * Build router's groups (router->conf->ha_groups) over its loaded backends:
 * find each member's token by its URI, hide the member tokens, add the
 * virtual backend and its slots, and start the health probes.  FALSE with
 * error ("FILE:LINE: message") when a member URI matches more than one
 * token, a token is a member twice, or members disagree on
 * CKF_LOGIN_REQUIRED or need a protected authentication path.  A member
 * whose token is not found starts DOWN.  Nothing to do without groups.
 */
gboolean p11mux_groups_attach(P11muxRouter *router, GError **error);

/* Stop the probes, close every member session and free the groups, before
 * the backends are finalised (p11mux_router_free). */
void p11mux_groups_detach(P11muxRouter *router);

/*
 * What p11mux list shows of router's groups, one block per group: its
 * slot, token and settings, then each member (where its token is, its
 * state, how many objects it serves, which it holds divergent), then the
 * identities and their replica counts.  transfer full; "" without groups.
 */
char *p11mux_groups_describe(P11muxRouter *router);

/*
 * What p11mux explain says of slot when it is an HA group's (its group,
 * and with mechanism (nullable), whether the group offers it or which
 * member lacks it: *offered) or a member's (its group).  transfer full;
 * NULL when neither.
 */
char *p11mux_groups_explain_slot(P11muxRouter *router, const P11muxSlot *slot,
                                 const CK_MECHANISM_TYPE *mechanism, gboolean *offered);

/* In a child after fork(): the groups' threads do not exist there, and the
 * retained PIN is wiped. */
void p11mux_groups_after_fork(void);

G_END_DECLS

#endif /* P11MUX_GROUP_H */
