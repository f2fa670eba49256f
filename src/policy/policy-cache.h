/*
 * What p11mux read about objects, per session (policy-cache.c): the
 * object infos the object rules judge, and the verdicts a filtered search
 * reads without a lock.
 */
#ifndef P11MUX_POLICY_CACHE_H
#define P11MUX_POLICY_CACHE_H

#include <glib.h>

#include "backend.h"
#include "p11mux-pkcs11.h"
#include "slotmap.h"

G_BEGIN_DECLS

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

G_END_DECLS

#endif /* P11MUX_POLICY_CACHE_H */
