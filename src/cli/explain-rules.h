/*
 * The rules `p11mux explain` reads: which [policy NAME] groups apply to a
 * backend, and which of their keys decides about a mechanism, a function or
 * an object, with the FILE:LINE the key was written at.
 */
#ifndef P11MUX_EXPLAIN_RULES_H
#define P11MUX_EXPLAIN_RULES_H

#include <glib.h>

#include "conf.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"

/* One policy that applies to a backend. */
typedef struct {
    const char *name;              /* the NAME of [policy NAME] */
    gboolean system;               /* as the system layers define it (policy-override) */
    const P11muxConfValue *chosen; /* the policy = NAME setting that selects it */
} P11muxExplainPolicy;

/* What a policy says about one thing. */
typedef struct {
    gboolean allowed;
    const char *policy;           /* which policy */
    const char *key;              /* the deciding key, NULL when no rule applies */
    const P11muxConfValue *value; /* its value and origin, NULL likewise */
    const char *note;             /* nullable: a condition ("session objects only") */
} P11muxExplainVerdict;

/* The policies that apply to backend, the system layers' first (each must
 * allow); transfer container, empty when none applies. */
GArray *p11mux_explain_policies(const P11muxConf *conf, const char *backend);

void p11mux_explain_mechanism(const P11muxConf *conf, const P11muxExplainPolicy *policy,
                              CK_MECHANISM_TYPE type, P11muxExplainVerdict *verdict);
void p11mux_explain_function(const P11muxConf *conf, const P11muxExplainPolicy *policy,
                             const P11muxFunctionDesc *function, P11muxExplainVerdict *verdict);

/* object: the object's CKA_CLASS, CKA_LABEL and CKA_ID (absent ones empty);
 * token: the token it lives on (nullable). */
void p11mux_explain_object(const P11muxConf *conf, const P11muxExplainPolicy *policy,
                           const CK_ATTRIBUTE *object, CK_ULONG n_object,
                           const CK_TOKEN_INFO *token, P11muxExplainVerdict *verdict);

/* The token rules of a policy (tokens, deny-tokens) for a message; nullable. */
const P11muxConfValue *p11mux_explain_rule(const P11muxConf *conf,
                                           const P11muxExplainPolicy *policy, const char *key);

#endif /* P11MUX_EXPLAIN_RULES_H */
