/*
 * What the policy files share (see policy.h for the file list).  Nothing
 * outside src/policy/ and the policy tests includes this header.
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

#include "call.h"
#include "conf.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"
#include "mech-params.h"
#include "policy.h"
#include "policy-decide.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------ key sizes */

typedef enum {
    P11MUX_KEY_RSA,
    P11MUX_KEY_DSA,
    P11MUX_KEY_DH,
    P11MUX_KEY_EC,
    P11MUX_KEY_EC_EDWARDS,
    P11MUX_KEY_EC_MONTGOMERY,
    P11MUX_KEY_AES,
    P11MUX_KEY_AES_XTS,
    P11MUX_KEY_GENERIC,
    P11MUX_KEY_CAMELLIA,
    P11MUX_KEY_ARIA,
    P11MUX_KEY_N_FAMILIES,
    P11MUX_KEY_NONE = P11MUX_KEY_N_FAMILIES
} P11muxKeyFamily;

/* "rsa", ... (transfer none) */
const char *p11mux_key_family_name(P11muxKeyFamily family);

/* The family of a CKK_ key type; P11MUX_KEY_NONE when none has a size rule. */
P11muxKeyFamily p11mux_key_family_of_type(CK_KEY_TYPE type);

/* The family a mechanism's keys belong to, and whether its
 * CK_MECHANISM_INFO key sizes are in bytes (AES) rather than bits. */
P11muxKeyFamily p11mux_key_family_of_mechanism(CK_MECHANISM_TYPE type, gboolean *in_bytes);

/* One min-key-bits item ("rsa:2048"); NULL on success, else why not (transfer full). */
char *p11mux_key_parse_min(const char *item, P11muxKeyFamily *family, CK_ULONG *bits);

/* Bits of the curve named by DER CKA_EC_PARAMS (an OID or, for the Edwards
 * and Montgomery curves, a PrintableString); 0 when not known. */
CK_ULONG p11mux_key_curve_bits(const guint8 *der, gsize len);

/*
 * The size in bits of a key of family described by attrs (a template, or
 * attributes read from a key): CKA_MODULUS_BITS or CKA_MODULUS (RSA),
 * CKA_PRIME_BITS or CKA_PRIME (DSA, DH), CKA_EC_PARAMS (curves),
 * CKA_VALUE_LEN or CKA_VALUE (secret keys).  0 when attrs do not say.
 * Entries whose ulValueLen is CK_UNAVAILABLE_INFORMATION are absent.
 */
CK_ULONG p11mux_key_bits(P11muxKeyFamily family, const CK_ATTRIBUTE *attrs, CK_ULONG n);

/* ------------------------------------------------------------ URI rules */

/*
 * URI lists (GPtrArray of P11KitUri*, shared by reference between combined
 * policies): allowed when every allow-list has a match (a policy combined
 * from two layers has two), and denied when any deny-list has one.
 */
typedef struct {
    GPtrArray *allow_sets; /* GPtrArray* of P11KitUri* */
    GPtrArray *deny_sets;  /* GPtrArray* of P11KitUri* */
} P11muxUriRules;

void p11mux_uri_rules_init(P11muxUriRules *rules);
void p11mux_uri_rules_clear(P11muxUriRules *rules);
gboolean p11mux_uri_rules_empty(const P11muxUriRules *rules);
/* Add more's lists to rules (by reference). */
void p11mux_uri_rules_add(P11muxUriRules *rules, const P11muxUriRules *more);

typedef enum {
    P11MUX_URI_TOKEN,  /* tokens, deny-tokens: no object attributes */
    P11MUX_URI_OBJECT, /* objects, deny-objects */
} P11muxUriKind;

/* Parse a white-space separated list; NULL on success, else why not
 * (transfer full).  *uris: P11KitUri*, transfer full. */
char *p11mux_uri_parse_list(const char *text, P11muxUriKind kind, GPtrArray **uris);

/* What a token or object is matched against (policy-decide.h). */
typedef P11muxPolicyPlace P11muxUriPlace;

/* Allowed (every allow layer has a match, or there are none) and not denied. */
gboolean p11mux_uri_rules_allow_token(const P11muxUriRules *rules, const P11muxUriPlace *place);

/* The same for an object: attrs hold CKA_CLASS, CKA_LABEL and CKA_ID (an
 * absent one is matched as empty); place says where it lives. */
gboolean p11mux_uri_rules_allow_object(const P11muxUriRules *rules, const P11muxUriPlace *place,
                                       const CK_ATTRIBUTE *attrs, CK_ULONG n);

/* Where rules decide: the list that refuses (deny: the first deny list with
 * a match, and the index of the URI that matched; else the first allow list
 * without one, uri -1).  TRUE (allowed) when none refuses. */
typedef struct {
    gboolean denied; /* by a deny list; else by an allow list */
    guint list;      /* index in deny_sets or allow_sets */
    int uri;         /* deny: the URI that matched; -1 otherwise */
} P11muxUriRefusal;

gboolean p11mux_uri_rules_judge_token(const P11muxUriRules *rules, const P11muxUriPlace *place,
                                      P11muxUriRefusal *refusal);
gboolean p11mux_uri_rules_judge_object(const P11muxUriRules *rules, const P11muxUriPlace *place,
                                       const CK_ATTRIBUTE *attrs, CK_ULONG n,
                                       P11muxUriRefusal *refusal);

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

/* ------------------------------------------------------ objects and cache */

/* What p11mux read about one object (an atomic rc box). */
typedef struct {
    CK_OBJECT_CLASS klass; /* CK_UNAVAILABLE_INFORMATION: unknown */
    CK_KEY_TYPE key_type;  /* CK_UNAVAILABLE_INFORMATION: unknown or none */
    gint8 token;           /* -1 unknown, 0, 1 */
    gint8 sensitive;
    gint8 extractable;
    CK_ULONG bits;         /* key size, 0 when unknown or not a key */
    gboolean visible;      /* under the session's policy */
    CK_ATTRIBUTE match[3]; /* CKA_CLASS, CKA_LABEL, CKA_ID (values point into the box) */
} P11muxObjectInfo;

P11muxObjectInfo *p11mux_object_info_ref(P11muxObjectInfo *info);
void p11mux_object_info_unref(P11muxObjectInfo *info);

/* Whether info describes a private or secret key. */
gboolean p11mux_object_info_is_key(const P11muxObjectInfo *info);

typedef struct P11muxPolicyCache P11muxPolicyCache;

P11muxPolicyCache *p11mux_policy_cache_new(void);
void p11mux_policy_cache_free(P11muxPolicyCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxPolicyCache, p11mux_policy_cache_free)

/* What a search needs of an object, without touching its info. */
#define P11MUX_OBJECT_CACHED (1u << 0)
#define P11MUX_OBJECT_VISIBLE (1u << 1)
#define P11MUX_OBJECT_GUARDED (1u << 2) /* a key whose secret attributes are not revealed */
#define P11MUX_OBJECT_OPEN (1u << 3)    /* VISIBLE and not GUARDED */
guint p11mux_object_info_flags(const P11muxObjectInfo *info);

/* The flag that lets a search show an object: VISIBLE, or OPEN for a search
 * that must not find guarded keys (a template naming secret values). */
static inline guint
p11mux_object_shown_by(gboolean guard)
{
    return guard ? P11MUX_OBJECT_OPEN : P11MUX_OBJECT_VISIBLE;
}

/*
 * The hot loop of a filtered C_FindObjects, without a lock: append to
 * out[*kept...] every handle of batch[0..n) the session's cache knows to be
 * shown (p11mux_object_shown_by(guard)), in order, and stop at the first
 * handle it does not know.  Returns how many of batch it judged (n when it
 * knew them all); *kept is updated.
 */
CK_ULONG p11mux_policy_cache_filter(P11muxPolicyCache *cache, CK_SESSION_HANDLE session,
                                    const CK_OBJECT_HANDLE *batch, CK_ULONG n, gboolean guard,
                                    CK_OBJECT_HANDLE *out, CK_ULONG *kept);

/* transfer full (unref), NULL when not cached. */
P11muxObjectInfo *p11mux_policy_cache_get(P11muxPolicyCache *cache, CK_SESSION_HANDLE session,
                                          CK_OBJECT_HANDLE object);

/* Moved by every forget: take it before reading an object from the backend,
 * and give it to put, which caches nothing if a forget ran in between. */
guint p11mux_policy_cache_epoch(P11muxPolicyCache *cache);

/* info: transfer none (a reference is taken).  FALSE when not stored
 * (a forget ran since epoch; info is still right for the caller's call). */
gboolean p11mux_policy_cache_put(P11muxPolicyCache *cache, CK_SESSION_HANDLE session,
                                 const P11muxSlot *slot, CK_OBJECT_HANDLE object,
                                 P11muxObjectInfo *info, guint epoch);
/* Forget object in every session on backend (changed or destroyed). */
void p11mux_policy_cache_forget_object(P11muxPolicyCache *cache, const P11muxBackend *backend,
                                       CK_OBJECT_HANDLE object);
void p11mux_policy_cache_forget_session(P11muxPolicyCache *cache, CK_SESSION_HANDLE session);
/* Forget every session on slot (C_CloseAllSessions), or every session on the
 * slot's backend's other sessions' session objects (a session closed). */
void p11mux_policy_cache_forget_slot(P11muxPolicyCache *cache, const P11muxSlot *slot);
void p11mux_policy_cache_forget_session_objects(P11muxPolicyCache *cache,
                                                const P11muxBackend *backend);

/* A search excluding sensitive keys (FindObjectsInit matched on secret values). */
void p11mux_policy_cache_set_find_guard(P11muxPolicyCache *cache, CK_SESSION_HANDLE session,
                                        const P11muxSlot *slot, gboolean on);
gboolean p11mux_policy_cache_find_guard(P11muxPolicyCache *cache, CK_SESSION_HANDLE session);

/* For tests: verdict tables of session replaced but not yet freed. */
gsize p11mux_policy_cache_retired_tables(P11muxPolicyCache *cache, CK_SESSION_HANDLE session);

/* ---------------------------------------------------------------- engine */

/* What p11mux read about a slot's token: immutable once published. */
typedef struct {
    gboolean visible;
    gboolean has_slot;
    gboolean has_token;
    CK_SLOT_INFO slot;
    CK_TOKEN_INFO token;
} P11muxSlotState;

typedef struct {
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
} P11muxPolicyEngine;

static inline const P11muxPolicy *
p11mux_policy_of_backend(const P11muxPolicyEngine *engine, const P11muxBackend *backend)
{
    if (backend == NULL || backend->index >= engine->n_backends) {
        return NULL;
    }
    return engine->by_backend[backend->index];
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
CK_RV p11mux_policy_object_info(P11muxCall *call, const P11muxPolicy *policy,
                                CK_OBJECT_HANDLE object, P11muxObjectInfo **info);
/* Read afresh (created or changed objects), replacing the cached entry. */
CK_RV p11mux_policy_object_reread(P11muxCall *call, const P11muxPolicy *policy,
                                  CK_OBJECT_HANDLE object, P11muxObjectInfo **info);
/* Whether an object with these CKA_CLASS/CKA_LABEL/CKA_ID would be visible. */
gboolean p11mux_policy_object_visible(P11muxCall *call, const P11muxPolicy *policy,
                                      const CK_ATTRIBUTE *attrs, CK_ULONG n);

/* Whether a rule needs what p11mux reads about the object param names. */
gboolean p11mux_policy_decides_on(const P11muxPolicy *policy, const P11muxFunctionDesc *desc,
                                  const P11muxParamDesc *param);
/* A function that changes an existing object (writes, makes none). */
gboolean p11mux_policy_changes_existing(const P11muxFunctionDesc *desc);

CK_RV p11mux_policy_check_handles(P11muxCall *call, const P11muxPolicy *policy);
CK_RV p11mux_policy_check_param_key(P11muxCall *call, const P11muxPolicy *policy,
                                    CK_OBJECT_HANDLE key);
CK_RV p11mux_policy_check_templates(P11muxCall *call, const P11muxPolicy *policy);
CK_RV p11mux_policy_after_created(P11muxCall *call, const P11muxPolicy *policy, CK_RV rv);
/* A template for a key a mechanism parameter makes the backend create:
 * judged as a top-level template of the call is (read-only, force-sensitive,
 * object rules, key sizes); *complete says force-sensitive wants
 * CKA_SENSITIVE/CKA_EXTRACTABLE added. */
CK_RV p11mux_policy_judge_param_template(P11muxCall *call, const P11muxPolicy *policy,
                                         const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                         gboolean *complete);
/* tmpl with CKA_SENSITIVE=TRUE and CKA_EXTRACTABLE=FALSE added where it does
 * not say, in memory freed after the call (*out = tmpl when nothing is added). */
CK_RV p11mux_policy_complete_template(P11muxCall *call, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                      CK_ATTRIBUTE **out, CK_ULONG *out_n);
void p11mux_policy_after_changed(P11muxCall *call, const P11muxPolicy *policy, CK_RV rv);

/* policy-params.c: a mechanism argument under the closed world (index: its
 * parameter in the call); the parameter is walked by its layout, what it
 * names judged, and the backend given a completed copy where
 * force-sensitive adds to a template inside it. */
CK_RV p11mux_policy_check_mechanism_arg(P11muxCall *call, const P11muxPolicy *policy, int index);
/* Where the backend wrote the keys the call's mechanism parameter made it
 * create (after a successful call): up to max pointers into the caller's
 * memory, in *where; how many. */
guint p11mux_policy_param_keys_made(P11muxCall *call, CK_OBJECT_HANDLE **where, guint max);
/* The vendor index of the call's backend (p11mux_param_vendor_of). */
guint p11mux_policy_vendor_of_call(const P11muxCall *call);

/* policy-outputs.c: outputs p11mux filters (object searches, mechanism lists,
 * attribute values); prepare before the backend, finish after it. */
CK_RV p11mux_policy_prepare_outputs(P11muxCall *call, const P11muxPolicy *policy);
CK_RV p11mux_policy_finish_outputs(P11muxCall *call, const P11muxPolicy *policy, CK_RV rv);

/* policy-hooks.c: the seams */
CK_RV p11mux_policy_check(P11muxCall *call);
CK_RV p11mux_policy_after(P11muxCall *call, CK_RV rv);
void p11mux_policy_session_gone(P11muxCall *call);

/*
 * Per-call state kept from check to after (P11muxCall.policy_data), made on
 * first use.  A redirect replaces an argument the backend will see (a
 * template p11mux completed, an output p11mux filters); after restores every
 * one before the trace sees the call, and frees what the call allocated.
 */
#define P11MUX_POLICY_MAX_REDIRECTS 8

/* Handles asked of the backend at once while filtering a search. */
#define P11MUX_POLICY_FIND_BATCH 1024

typedef struct {
    guint n_redirects;
    GPtrArray *allocations; /* nullable: g_free'd by after */
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
    /* not cleared between calls (n_redirects says what holds) */
    struct {
        int index;
        CK_ULONG saved; /* the caller's value: a pointer or a CK_ULONG */
    } redirects[P11MUX_POLICY_MAX_REDIRECTS];
    /* C_FindObjects: where the backend writes (no hidden handle ever
     * reaches the application's memory).  Not cleared between calls: the
     * data is kept per thread and reused, so a call allocates nothing. */
    CK_OBJECT_HANDLE batch[P11MUX_POLICY_FIND_BATCH];
} P11muxPolicyCallData;

P11muxPolicyCallData *p11mux_policy_call_data(P11muxCall *call);
/* Argument index becomes value (sizeof(CK_ULONG) bytes: a pointer or a CK_ULONG). */
void p11mux_policy_redirect(P11muxCall *call, int index, const void *value);
/* n elements of size bytes, freed after the call; NULL when out of memory. */
gpointer p11mux_policy_call_alloc(P11muxCall *call, gsize n, gsize size);

/* Helpers over the function table. */
static inline const P11muxFunctionDesc *
p11mux_policy_fn(const P11muxCall *call)
{
    return &p11mux_functions[call->fn];
}

/* The value of parameter i, of a type the role implies. */
#define P11MUX_ARG(call, i, type) (*(type *)(call)->args[(i)])

/* The value of a pointer parameter, whatever its pointer type. */
static inline gpointer
p11mux_policy_arg_pointer(const P11muxCall *call, int index)
{
    gpointer value;

    memcpy(&value, call->args[index], sizeof value);
    return value;
}

/* The index of the first parameter with role at or after start; -1 if none. */
int p11mux_policy_find_param(const P11muxFunctionDesc *desc, P11muxRole role, int start);

/* The value of attribute type in a template: TRUE and *out when present with
 * a value of sizeof(CK_ULONG) (or CK_BBOOL for booleans). */
gboolean p11mux_template_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                               CK_ULONG *out);
gboolean p11mux_template_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                              CK_BBOOL *out);
const CK_ATTRIBUTE *p11mux_template_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                         CK_ATTRIBUTE_TYPE type);

G_END_DECLS

#endif /* P11MUX_POLICY_PRIVATE_H */
