/*
 * Policy decisions as data ("decide, then act"): pure
 * functions of a compiled policy and the facts of a question, answering
 * what the module enforces and the rule that decides it, with the FILE:LINE
 * it was written at.  The module's checks and these functions read the same
 * compiled sets (the closed world's verdict table, the URI lists, the
 * deny_fn table), so `p11mux explain` and `p11mux list` cannot disagree with
 * the module.
 *
 * A policy is made of layers: one for a plain policy (itself), two for a
 * policy combined under policy-override = stricter-only (the system layers'
 * policy, then the final one).  Deny wins over allow; an absent allow-list
 * allows; with two layers both apply and the first that refuses is cited.
 * The rule cited is one that matched the fact (for an allow-list: the list
 * that does not name it).
 */
#ifndef P11MUX_POLICY_DECIDE_H
#define P11MUX_POLICY_DECIDE_H

#include <glib.h>

#include "conf.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"
#include "policy.h"
#include "slotmap.h"

G_BEGIN_DECLS

typedef struct P11muxPolicy P11muxPolicy;

/* Which configuration layers a policy's rules come from. */
typedef enum {
    P11MUX_POLICY_LAYER_FINAL,  /* the merged configuration */
    P11MUX_POLICY_LAYER_SYSTEM, /* the system layers alone (policy-override = stricter-only) */
} P11muxPolicyLayer;

/* One key of a [policy NAME] group a policy was compiled from. */
typedef struct {
    const char *policy; /* NAME */
    P11muxPolicyLayer layer;
    const char *key;       /* "deny-mechanisms", ... */
    P11muxConfValue value; /* its text and FILE:LINE */
} P11muxPolicyRule;

/* What a policy says about one thing. */
typedef struct {
    gboolean allowed;
    CK_RV rv;                     /* CKR_OK when allowed, else the module's refusal code */
    const P11muxPolicy *layer;    /* the layer that decided (nullable: none had a say) */
    const P11muxPolicyRule *rule; /* nullable: no rule decides (absent lists, the closed world) */
    const char *item;             /* nullable: the item of rule that matched */
    const char *note;             /* nullable: a condition or a reason without a rule (static) */
    CK_ULONG min_key_bits;        /* mechanisms: the smallest key allowed (0: no minimum) */
    const P11muxPolicyRule *min_key_rule; /* nullable: the min-key-bits that sets it */
} P11muxPolicyVerdict;

/* Where a token or an object is: what URIs are matched against. */
typedef struct {
    const CK_INFO *module;      /* nullable */
    const CK_SLOT_INFO *slot;   /* nullable: the slot cannot be described */
    const CK_TOKEN_INFO *token; /* nullable: no token */
    CK_SLOT_ID slot_id;         /* p11mux's id */
} P11muxPolicyPlace;

/* The same, with the structures it points to. */
typedef struct {
    P11muxPolicyPlace place;
    CK_INFO module;
    CK_SLOT_INFO slot;
    CK_TOKEN_INFO token;
} P11muxPolicyFacts;

/* The policy a backend runs under (transfer none); NULL when none. */
const P11muxPolicy *p11mux_policy_set_lookup(const P11muxPolicySet *set, const char *backend);

/* The policy = NAME setting that selects backend's policy in layer
 * (transfer none); NULL when that layer selects none. */
const P11muxConfValue *p11mux_policy_set_selection(const P11muxPolicySet *set, const char *backend,
                                                   P11muxPolicyLayer layer);

/* "NAME", or "SYSTEM+FINAL" for a combined policy (transfer none). */
const char *p11mux_policy_get_name(const P11muxPolicy *policy);
P11muxPolicyLayer p11mux_policy_get_layer_kind(const P11muxPolicy *policy);

/* The layers of policy in the order they apply: 1 (itself) or 2. */
guint p11mux_policy_n_layers(const P11muxPolicy *policy);
const P11muxPolicy *p11mux_policy_get_layer(const P11muxPolicy *policy, guint i);

/* The rule key of a layer was compiled from; NULL when not written. */
const P11muxPolicyRule *p11mux_policy_get_rule(const P11muxPolicy *policy, const char *key);

/* C_GetMechanismInfo and every *Init: allowed, or CKR_MECHANISM_INVALID.
 * A vendor-defined value is judged as no vendor's (allow-opaque-mechanisms). */
void p11mux_policy_decide_mechanism(const P11muxPolicy *policy, CK_MECHANISM_TYPE type,
                                    P11muxPolicyVerdict *verdict);

/* A call of function, whatever its arguments: deny-functions
 * (CKR_FUNCTION_NOT_SUPPORTED), saved state (refused under every policy),
 * read-only (C_InitToken, C_InitPIN, C_SetPIN refused; other writes allowed
 * on session objects only, sessions read-only only). */
void p11mux_policy_decide_function(const P11muxPolicy *policy, const P11muxFunctionDesc *function,
                                   P11muxPolicyVerdict *verdict);

/* Whether the token at place is shown (C_GetSlotList) or CKR_SLOT_ID_INVALID. */
void p11mux_policy_decide_token(const P11muxPolicy *policy, const P11muxPolicyPlace *place,
                                P11muxPolicyVerdict *verdict);

/* Whether an object at place with attrs (CKA_CLASS, CKA_LABEL, CKA_ID; an
 * absent label or id is matched as empty, an absent class is not readable)
 * is found, or hidden (CKR_OBJECT_HANDLE_INVALID). */
void p11mux_policy_decide_object(const P11muxPolicy *policy, const P11muxPolicyPlace *place,
                                 const CK_ATTRIBUTE *attrs, CK_ULONG n,
                                 P11muxPolicyVerdict *verdict);

/*
 * What the policy engine (router->policy) reads about slot now (the
 * module's own reading, refreshed), as its token and object rules are
 * matched against.  FALSE when no policy applies to the slot's backend
 * (engine NULL: none).
 */
gboolean p11mux_policy_slot_facts(P11muxPolicyEngine *engine, const P11muxSlot *slot,
                                  P11muxPolicyFacts *facts);

G_END_DECLS

#endif /* P11MUX_POLICY_DECIDE_H */
