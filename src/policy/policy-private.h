/*
 * What the policy's enforcing files share: the compiled policy, the
 * engine, the per-call state and the steps (see policy.h for the file
 * list); key sizes, URI rules and the object cache have their own headers
 * (policy-keys.h, policy-uri.h, policy-cache.h).  Nothing outside
 * src/policy/ and the policy tests includes these headers.
 *
 * Lock order (policy-cache.c, policy-slots.c): cache->lock (read or write)
 * before a session entry's lock; states_lock is a leaf.  No policy lock is
 * held while a backend is called.
 */
#ifndef P11MUX_POLICY_PRIVATE_H
#define P11MUX_POLICY_PRIVATE_H

#include <glib.h>
#include <p11-kit/uri.h>
#include <string.h>

#include "conf.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"
#include "mech-params.h"
#include "policy-cache.h"
#include "policy-decide.h"
#include "policy-keys.h"
#include "policy-uri.h"
#include "policy.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------- policies */

/*
 * The steps of the check and after seams (policy-hooks.c), one bit each, in
 * the order they run.  A policy's plan says, per function, which steps can
 * do anything under its rules, decided once from the roles and flags of the
 * function table (p11mux_policy_plan); a function whose plan is empty under
 * every backend's policy takes the plain path, as if no policy were set.
 */
typedef enum {
    P11MUX_STEP_TOKEN = 1u << 0,           /* the slot's token is visible */
    P11MUX_STEP_FUNCTION = 1u << 1,        /* deny-functions */
    P11MUX_STEP_SESSION_FLAGS = 1u << 2,   /* read-only refuses CKF_RW_SESSION */
    P11MUX_STEP_MECHANISMS = 1u << 3,      /* mechanism and mechanism-type arguments */
    P11MUX_STEP_HANDLES = 1u << 4,         /* key and object arguments */
    P11MUX_STEP_TEMPLATES = 1u << 5,       /* writes: read-only, templates */
    P11MUX_STEP_PREPARE_OUTPUTS = 1u << 6, /* filtered outputs, before the backend */
    P11MUX_STEP_FINISH_OUTPUTS = 1u << 7,  /* ... and after it; info-out corrections */
    P11MUX_STEP_CREATED = 1u << 8,         /* objects made are read back and judged */
    P11MUX_STEP_CHANGED = 1u << 9,         /* objects changed are forgotten */
    P11MUX_STEP_SESSIONS = 1u << 10,       /* sessions closed take their cache along */
} P11muxPolicyStep;

/* The steps of the check seam; the rest are the after seam's. */
#define P11MUX_CHECK_STEPS ((P11MUX_STEP_PREPARE_OUTPUTS << 1) - 1)

#define P11MUX_POLICY_COMPILED_MECHANISMS 0x5000u

/* A compiled verdict on a mechanism (P11muxPolicy.mech_verdict): refused,
 * or admitted with what judging its parameter takes (the class of its entry
 * in src/pkcs11/mechanism-params.tab). */
typedef enum {
    P11MUX_MECH_REFUSED = 0,  /* not allowed, or unknown/opaque and not named */
    P11MUX_MECH_UNREAD,       /* opaque or unknown, named by allow-opaque-mechanisms */
    P11MUX_MECH_NO_PARAMETER, /* P11MUX_PARAM_NONE: ulParameterLen 0 */
    P11MUX_MECH_BYTES,        /* P11MUX_PARAM_BYTES: data, not NULL with a length */
    P11MUX_MECH_WALKED,       /* a structure (or none): walked by its layout */
} P11muxMechVerdict;

/* A P11muxPolicyRule and the items of its value (white-space separated,
 * in order: the URI lists of a layer hold one URI per item). */
typedef struct {
    P11muxPolicyRule rule;
    char **items; /* NULL-terminated, owned */
} P11muxPolicyRuleData;

struct P11muxPolicy {
    char *name;
    /* provenance: a compiled layer keeps the keys it was compiled from; a
     * combined policy has none of its own, and its layers (owned by its set) */
    P11muxPolicyLayer layer;
    GPtrArray *rules; /* P11muxPolicyRuleData*, owned */
    const P11muxPolicy *layers[2];
    guint n_layers;     /* 0: a layer itself */
    GArray *mech_allow; /* nullable (all); else sorted CK_MECHANISM_TYPE */
    GArray *mech_deny;  /* sorted CK_MECHANISM_TYPE */
    GArray *mech_opaque; /* allow-opaque-mechanisms: sorted CK_MECHANISM_TYPE */
    /* compiled (p11mux_policy_compile_mechanisms): the closed world's
     * verdict on every standard value below P11MUX_POLICY_COMPILED_MECHANISMS,
     * with what its parameter asks (P11muxMechVerdict), so that judging a
     * mechanism argument is one load */
    guint8 mech_verdict[P11MUX_POLICY_COMPILED_MECHANISMS];
    P11muxUriRules tokens;
    P11muxUriRules objects;
    CK_ULONG min_bits[P11MUX_KEY_N_FAMILIES]; /* 0: no minimum */
    gboolean read_only;
    gboolean force_sensitive;
    gboolean deny_fn[P11MUX_FN_COUNT];
    /* derived once compiled */
    gboolean has_mechanism_rules;
    gboolean has_token_rules;
    gboolean has_object_rules;
    gboolean has_key_rules; /* any min_bits */
    gboolean reads_objects; /* object rules, key rules, force-sensitive or read-only */
    guint16 steps[P11MUX_FN_COUNT]; /* P11muxPolicyStep bits: the plan */
    /* per function, when the plan's check is its mechanism argument alone
     * (the common plan of a *Init with no key): that argument's index;
     * else -1 */
    gint8 mechanism_only[P11MUX_FN_COUNT];
};

struct P11muxPolicySet {
    GPtrArray *policies;  /* P11muxPolicy*, owned */
    GHashTable *by_name;  /* "NAME", "system NAME", "combined A\nB" -> P11muxPolicy* */
    GHashTable *backends; /* backend name -> P11muxPolicy* (transfer none) */
    GHashTable *selections; /* backend name -> P11muxConfValue*[2] by P11muxPolicyLayer */
};

/* policy.c */
P11muxPolicy *p11mux_policy_new(const char *name);
void p11mux_policy_free(P11muxPolicy *policy);
void p11mux_policy_finish(P11muxPolicy *policy);

/* policy-hooks.c: fill policy->steps from its rules and the function table. */
void p11mux_policy_plan(P11muxPolicy *policy);

/* policy-mech.c */
/* Parse a mechanisms list (names, numbers, CKM_VENDOR_DEFINED+N, globs)
 * into a sorted set; NULL on success, else why not (transfer full).  A list
 * of more than P11MUX_MECH_LIST_MAX items is refused: a glob costs a look at every name it could match. */
#define P11MUX_MECH_LIST_MAX 100000u
char *p11mux_mech_parse_list(const char *text, GArray **set);
gboolean p11mux_mech_set_contains(const GArray *set, CK_MECHANISM_TYPE type);
GArray *p11mux_mech_set_intersect(const GArray *a, const GArray *b);
void p11mux_mech_set_add_all(GArray *set, const GArray *more);

/* The allow/deny lists alone: allowed and not denied. */
gboolean p11mux_policy_allows_mechanism(const P11muxPolicy *policy, CK_MECHANISM_TYPE type);

/* Under policy, a mechanism a module of vendor (p11mux_param_vendor_of)
 * offers or is asked for: allowed by the lists, and either known with a
 * parameter p11mux reads or named by allow-opaque-mechanisms (the closed
 * world: an opaque or unknown mechanism is refused). */
gboolean p11mux_policy_admits_mechanism(const P11muxPolicy *policy, guint vendor,
                                        CK_MECHANISM_TYPE type);

/* Fill policy->mech_verdict from its lists and the parameter table. */
void p11mux_policy_compile_mechanisms(P11muxPolicy *policy);

/* What a CK_MECHANISM's parameter names: other algorithms and key handles. */
#define P11MUX_MECH_MAX_NAMED 8
typedef struct {
    CK_MECHANISM_TYPE algorithms[P11MUX_MECH_MAX_NAMED];
    guint n_algorithms;
    CK_OBJECT_HANDLE keys[P11MUX_MECH_MAX_NAMED];
    guint n_keys;
} P11muxMechUse;

/* CKR_OK and *use; CKR_MECHANISM_PARAM_INVALID when the parameter of a
 * mechanism p11mux reads is malformed or names an unknown function. */
CK_RV p11mux_mech_inspect(const CK_MECHANISM *mechanism, P11muxMechUse *use);

/* CKR_OK, CKR_MECHANISM_INVALID (the mechanism or an algorithm its
 * parameter names is not allowed) or CKR_MECHANISM_PARAM_INVALID. */
CK_RV p11mux_policy_check_mechanism(const P11muxPolicy *policy, const CK_MECHANISM *mechanism,
                                    P11muxMechUse *use);

/* ---------------------------------------------------------------- engine */

/* What p11mux read about a slot's token: immutable once published. */
typedef struct {
    gboolean visible;
    gboolean has_slot;
    gboolean has_token;
    CK_SLOT_INFO slot;
    CK_TOKEN_INFO token;
} P11muxSlotState;

struct P11muxPolicyEngine {
    const P11muxPolicySet *set; /* the router's (router->policies) */
    const P11muxPolicy **by_backend; /* indexed by P11muxBackend.index; NULL: none */
    CK_INFO *modules;                /* indexed the same way: each backend's C_GetInfo */
    guint *vendors;                  /* the same: p11mux_param_vendor_of its manufacturer */
    guint n_backends;
    P11muxPolicyCache *cache;
    GMutex states_lock;
    GPtrArray *states; /* every P11muxSlotState published, freed at the end */
    /* per function: the seams any backend's plan needs (router->wanted_seams):
     * check when it plans a step, after when it plans an after step */
    guint8 wanted_seams[P11MUX_FN_COUNT];
    /* per function: a step of the after seam in some backend's plan */
    gboolean after_planned[P11MUX_FN_COUNT];
    /* the adapter's: the full check of a call p11mux_policy_quick does not
     * settle, and the token reads of slot visibility */
    P11muxPolicyCheckFacts check_facts;
    P11muxPolicyAskSlot ask_slot;
    gpointer pipeline;
};

static inline const P11muxPolicy *
p11mux_policy_of_backend(const P11muxPolicyEngine *engine, const P11muxBackend *backend)
{
    if (backend == NULL || backend->index >= engine->n_backends) {
        return NULL;
    }
    return engine->by_backend[backend->index];
}

/* The vendor index of the call's backend (p11mux_param_vendor_of). */
static inline guint
p11mux_policy_vendor_of_call(const P11muxPolicyCall *call)
{
    const P11muxPolicyEngine *engine = call->engine;

    if (call->backend == NULL || call->backend->index >= engine->n_backends) {
        return 0;
    }
    return engine->vendors[call->backend->index];
}

/* policy-slots.c: the slot's token state; refresh asks the backend again. */
const P11muxSlotState *p11mux_policy_slot_state(P11muxPolicyEngine *engine,
                                                const P11muxPolicy *policy, const P11muxSlot *slot,
                                                gboolean refresh);
void p11mux_policy_slot_place(P11muxPolicyEngine *engine, const P11muxSlot *slot,
                              const P11muxSlotState *state, P11muxUriPlace *place);

/* policy-objects.c */
/* What the session's backend says about object (cached).  transfer full.
 * CKR_OBJECT_HANDLE_INVALID when the backend knows no such object. */
CK_RV p11mux_policy_object_info(P11muxPolicyCall *call, const P11muxPolicy *policy,
                                CK_OBJECT_HANDLE object, P11muxObjectInfo **info);
/* Read afresh (created or changed objects), replacing the cached entry. */
CK_RV p11mux_policy_object_reread(P11muxPolicyCall *call, const P11muxPolicy *policy,
                                  CK_OBJECT_HANDLE object, P11muxObjectInfo **info);
/* Whether an object with these CKA_CLASS/CKA_LABEL/CKA_ID would be visible. */
gboolean p11mux_policy_object_visible(P11muxPolicyCall *call, const P11muxPolicy *policy,
                                      const CK_ATTRIBUTE *attrs, CK_ULONG n);

/* Whether a rule needs what p11mux reads about the object param names. */
gboolean p11mux_policy_decides_on(const P11muxPolicy *policy, const P11muxFunctionDesc *desc,
                                  const P11muxParamDesc *param);
/* A function that changes an existing object (writes, makes none). */
gboolean p11mux_policy_changes_existing(const P11muxFunctionDesc *desc);

CK_RV p11mux_policy_check_handles(P11muxPolicyCall *call, const P11muxPolicy *policy);
CK_RV p11mux_policy_check_param_key(P11muxPolicyCall *call, const P11muxPolicy *policy,
                                    CK_OBJECT_HANDLE key);
CK_RV p11mux_policy_check_templates(P11muxPolicyCall *call, const P11muxPolicy *policy);
CK_RV p11mux_policy_after_created(P11muxPolicyCall *call, const P11muxPolicy *policy, CK_RV rv);
/* A template for a key a mechanism parameter makes the backend create:
 * judged as a top-level template of the call is (read-only, force-sensitive,
 * object rules, key sizes); *complete says force-sensitive wants
 * CKA_SENSITIVE/CKA_EXTRACTABLE added. */
CK_RV p11mux_policy_judge_param_template(P11muxPolicyCall *call, const P11muxPolicy *policy,
                                         const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                         gboolean *complete);
/* tmpl with CKA_SENSITIVE=TRUE and CKA_EXTRACTABLE=FALSE added where it does
 * not say, in memory freed after the call (*out = tmpl when nothing is added). */
CK_RV p11mux_policy_complete_template(P11muxPolicyCall *call, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                      CK_ATTRIBUTE **out, CK_ULONG *out_n);
void p11mux_policy_after_changed(P11muxPolicyCall *call, const P11muxPolicy *policy, CK_RV rv);

/* policy-params.c: a mechanism argument under the closed world (index: its
 * parameter in the call); the parameter is walked by its layout, what it
 * names judged, and the backend given a completed copy where
 * force-sensitive adds to a template inside it. */
CK_RV p11mux_policy_check_mechanism_arg(P11muxPolicyCall *call, const P11muxPolicy *policy, int index);
/* The same for a function whose mechanism carries its per-message parameter
 * (the table's message-params: 3.2's authenticated wrap and unwrap): the
 * mechanism is judged, and its CK_GCM_MESSAGE_PARAMS (which names no key,
 * template or hash) checked for its size and IV; any other mechanism is
 * refused unless allow-opaque-mechanisms names it. */
CK_RV p11mux_policy_check_message_mechanism(P11muxPolicyCall *call, const P11muxPolicy *policy,
                                            int index);

/* What p11mux_policy_mechanism_verdict answers when it does not settle a call. */
#define P11MUX_POLICY_UNDECIDED ((CK_RV)-1)

/* The compiled verdict on a mechanism argument, when it settles the call;
 * P11MUX_POLICY_UNDECIDED when the parameter is walked by its layout or the
 * value is above the compiled table.  What the walk would answer
 * (mech-params.c) is answered here. */
static inline CK_RV
p11mux_policy_mechanism_verdict(const P11muxPolicy *policy, const CK_MECHANISM *mechanism)
{
    if (mechanism == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (mechanism->mechanism >= P11MUX_POLICY_COMPILED_MECHANISMS) {
        return P11MUX_POLICY_UNDECIDED;
    }
    switch ((P11muxMechVerdict)policy->mech_verdict[mechanism->mechanism]) {
    case P11MUX_MECH_REFUSED:
        return CKR_MECHANISM_INVALID;
    case P11MUX_MECH_UNREAD:
        return CKR_OK; /* named by allow-opaque-mechanisms: forwarded unread */
    case P11MUX_MECH_NO_PARAMETER:
        return mechanism->ulParameterLen == 0 ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
    case P11MUX_MECH_BYTES:
        return p11mux_param_data(mechanism->pParameter, mechanism->ulParameterLen);
    case P11MUX_MECH_WALKED:
    default:
        return P11MUX_POLICY_UNDECIDED;
    }
}


/* policy-outputs.c: outputs p11mux filters (object searches, mechanism lists,
 * attribute values); prepare before the backend, finish after it. */
CK_RV p11mux_policy_prepare_outputs(P11muxPolicyCall *call, const P11muxPolicy *policy);
CK_RV p11mux_policy_finish_outputs(P11muxPolicyCall *call, const P11muxPolicy *policy, CK_RV rv);

/* policy-call.c: sub-calls (P11muxPolicyAsk) on the call's route */
CK_RV p11mux_policy_ask_attributes(const P11muxPolicyCall *call, CK_OBJECT_HANDLE object,
                                   CK_ATTRIBUTE_PTR attrs, CK_ULONG n);
CK_RV p11mux_policy_ask_find(const P11muxPolicyCall *call, CK_OBJECT_HANDLE_PTR out, CK_ULONG max,
                             CK_ULONG_PTR count);
CK_RV p11mux_policy_ask_destroy(const P11muxPolicyCall *call, CK_OBJECT_HANDLE object);
CK_RV p11mux_policy_ask_mechanisms(const P11muxPolicyCall *call, CK_MECHANISM_TYPE_PTR list,
                                   CK_ULONG_PTR count);

/*
 * Per-call state kept from check to after (P11muxPolicyCall.state), made on
 * first use.  It begins with the verdict's rewrites (P11muxPolicyRewrites):
 * an argument the backend is to see instead of the caller's (a template
 * p11mux completed, an output p11mux filters).  The adapter applies them
 * and undoes them before the trace sees the call; p11mux_policy_call_done
 * frees what the call allocated.
 */

/* Handles asked of the backend at once while filtering a search. */
#define P11MUX_POLICY_FIND_BATCH 1024

typedef struct {
    P11muxPolicyRewrites rewrites; /* first: the adapter reads it */
    /* cleared when the data is taken: from allocations to batch */
    GPtrArray *allocations; /* nullable: g_free'd by p11mux_policy_call_done */
    /* an output p11mux filters: the caller's buffer, count and capacity */
    enum { P11MUX_FILTER_NONE, P11MUX_FILTER_OBJECTS, P11MUX_FILTER_MECHANISMS } filtering;
    gpointer out;
    CK_ULONG_PTR out_count;
    CK_ULONG capacity;
    gpointer scratch;
    CK_ULONG scratch_count; /* what the backend wrote its count into */
    CK_ULONG scratch_capacity;
    gboolean find_guard;
    /* C_GetAttributeValue of a key whose secret attributes p11mux withholds */
    const guint8 *withheld; /* per caller template entry: TRUE if withheld */
    CK_ATTRIBUTE_PTR reduced;
    /* C_FindObjects: where the backend writes (no hidden handle ever
     * reaches the application's memory).  Not cleared between calls: the
     * data is kept per thread and reused, so a call allocates nothing. */
    CK_OBJECT_HANDLE batch[P11MUX_POLICY_FIND_BATCH];
} P11muxPolicyCallData;

G_STATIC_ASSERT(G_STRUCT_OFFSET(P11muxPolicyCallData, rewrites) == 0);

P11muxPolicyCallData *p11mux_policy_call_data(P11muxPolicyCall *call);
/* The backend is to see value (sizeof(CK_ULONG) bytes: a pointer or a
 * CK_ULONG) in argument index: a rewrite of the verdict, applied by the
 * adapter once check allowed the call. */
void p11mux_policy_redirect(P11muxPolicyCall *call, int index, const void *value);
/* n elements of size bytes, freed after the call; NULL when out of memory. */
gpointer p11mux_policy_call_alloc(P11muxPolicyCall *call, gsize n, gsize size);

/* Helpers over the function table. */
static inline const P11muxFunctionDesc *
p11mux_policy_fn(const P11muxPolicyCall *call)
{
    return &p11mux_functions[call->fn];
}

/* The value of parameter i, of a type the role implies (read only). */
#define P11MUX_ARG(call, i, type) (*(const type *)(call)->args[(i)])

/* The value of a pointer parameter, whatever its pointer type. */
static inline gpointer
p11mux_policy_arg_pointer(const P11muxPolicyCall *call, int index)
{
    gpointer value;

    memcpy(&value, call->args[index], sizeof value);
    return value;
}

/* The index of the first parameter with role at or after start; -1 if none. */
int p11mux_policy_find_param(const P11muxFunctionDesc *desc, P11muxRole role, int start);

/* A search: a template that writes nothing and makes nothing (its objects
 * are found, C_FindObjectsInit). */
gboolean p11mux_policy_is_search(const P11muxFunctionDesc *desc);

/* The info-out parameter that is a CK_TOKEN_INFO; -1 if none. */
int p11mux_policy_token_info_out(const P11muxFunctionDesc *desc);


G_END_DECLS

#endif /* P11MUX_POLICY_PRIVATE_H */
