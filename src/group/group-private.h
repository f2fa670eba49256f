/*
 * What the HA group files share (src/group/group.h for the whole).
 *
 *   group.c           the groups of a router: members found by URI, the one
 *                     virtual backend, health and probes, what list shows
 *   group-token.c     the slot, token and mechanisms the application sees,
 *                     slot events
 *   group-index.c     object identity across members, virtual handles
 *   group-session.c   virtual sessions, member sessions, searches,
 *                     attributes, session objects made, writes refused
 *   group-objects.c   the session objects every session sees, token writes,
 *                     the calls on the members holding an object
 *   group-keys.c      wrapping, unwrapping, deriving, copying, changing
 *   group-login.c     the login fanned out, the kept PIN
 *   group-dispatch.c  member choice, operations pinned from *Init to their
 *                     end, failover and replay
 *   group-health.c    member states, probes, the retained PIN
 *
 * Locks: a group's lock guards its members' anchors, logins and indexes and
 * the identity table, and is never held while a member is called; a
 * virtual session's lock is taken first (one call at a time per session,
 * as PKCS #11 expects of an application) and may be held across member
 * calls.  Lock order: session lock, then group lock.
 */
#ifndef P11MUX_GROUP_PRIVATE_H
#define P11MUX_GROUP_PRIVATE_H

#include <glib.h>

#include "backend.h"
#include "conf.h"
#include "group-health.h"
#include "group.h"
#include "p11mux-pkcs11.h"
#include "policy.h"
#include "router.h"

G_BEGIN_DECLS

/* The prefix of a group's virtual backend's name, "group:NAME": a name no
 * [backend NAME] can have (names hold no ':'), so that its slot ids are in a
 * namespace of their own, and under which the group's policy is chosen. */
#define P11MUX_GROUP_BACKEND_NAME P11MUX_POLICY_GROUPS_BACKEND

/* Virtual session and object handles. */
#define P11MUX_GROUP_SESSION_BASE ((CK_SESSION_HANDLE)0x47000001UL)
#define P11MUX_GROUP_OBJECT_BASE ((CK_OBJECT_HANDLE)0x4f000001UL)
/* Session objects: a range of their own, mapped per virtual session to its
 * home member's handles. */
#define P11MUX_GROUP_SESSION_OBJECT_BASE ((CK_OBJECT_HANDLE)0x53000001UL)

typedef struct P11muxGroup P11muxGroup;

typedef struct {
    guint index;                   /* in group->members */
    P11muxGroup *group;            /* its group */
    const P11muxConfMember *conf;  /* backend and token URI */
    P11muxBackend *backend;        /* NULL: its backend did not load */
    CK_SLOT_ID slot;               /* the member token's slot in backend, when found */
    gint found; /* atomic (p11mux_member_found): a token of backend matched the URI; slot is
                 * written before it is set, by the prober when it finds the token again */
    const GArray *failover_on;     /* the group's, or its backend's own */
    P11muxHealth health;
    GMutex index_lock; /* one search of the anchor at a time (indexing) */
    /* under the group's lock */
    CK_SESSION_HANDLE anchor;      /* 0: none open */
    gboolean logged_in;            /* the anchor's token is logged in */
    GHashTable *objects;           /* identity (GBytes*) -> member handle (GSIZE) */
    GHashTable *reverse;           /* member handle (GSIZE) -> identity (GBytes*) */
    GHashTable *ambiguous;         /* identities held twice on this member (GBytes* set) */
    GHashTable *fingerprints;      /* identity -> SHA-256 of what verify compares (GBytes*) */
    GHashTable *divergent;         /* identities whose fingerprint here is not the group's */
    GHashTable *unverified;        /* secret keys verify could not fingerprint here: not served */
    gint64 indexed_us;             /* when the index was last built */
} P11muxMember;

/* Whether member's token is found (its slot then says where). */
static inline gboolean
p11mux_member_found(P11muxMember *member)
{
    return g_atomic_int_get(&member->found);
}

struct P11muxGroup {
    const P11muxConfHaGroup *conf;
    P11muxRouter *router;
    CK_SLOT_ID slot;        /* the virtual slot's id in its virtual backend */
    P11muxBackend *backend; /* its virtual backend, "group:NAME" (in router->backends) */
    GPtrArray *members;     /* P11muxMember*, members then standby, in configured order */
    GMutex lock;
    GPtrArray *identities;  /* GBytes*, owned: virtual handle - BASE -> identity */
    GHashTable *handles;    /* identity -> virtual handle (GSIZE) */
    gboolean logged_in;     /* the application logged in (CKU_USER) */
    P11muxPinVault *pin;    /* nullable: pin-retention = none, or no locked memory */
    gint next;              /* atomic: round-robin position */
    CK_FLAGS login_flags;   /* CKF_LOGIN_REQUIRED as the members say */
    gboolean diverged;      /* on-divergence = fail and a replica differs: no token */
    gint reported_present;  /* atomic: the presence slot events last told */
};

/* ---------------------------------------------------------- group.c */

/* Every group of the router (transfer container: the groups live as long
 * as their router). */
GPtrArray *p11mux_group_all(void);

/* When the application forbids threads, the probes run here, in its
 * calls (at most once per tick; nothing with a probe thread).  Called with
 * no session or group lock held: a probe may close sessions. */
void p11mux_group_poll(void);

/* The group of a virtual slot id; NULL if none. */
P11muxGroup *p11mux_group_of_slot(CK_SLOT_ID slot);

/* Whether the virtual token is present (min-active members ACTIVE, or
 * all-down = keep-sessions and a session or login to keep). */
gboolean p11mux_group_present(P11muxGroup *group);

/* A member call returned rv: record it in the member's health (tracing a
 * change) and say what it means. */
P11muxMemberRv p11mux_group_record(P11muxMember *member, CK_RV rv);

/* A RECOVERING member logged in (when the group is) and indexed: ACTIVE,
 * traced. */
void p11mux_group_admit(P11muxMember *member);
/* member's PIN is not the group's (rv said so), or it failed a check:
 * QUARANTINED for good, traced. */
void p11mux_group_quarantine(P11muxMember *member, CK_RV rv);

/* ---------------------------------------------------- group-token.c */

/* The mechanisms the group's intersection leaves out (HA-GROUPS.md §7,
 * §11.2), each with a member that lacks it, appended to out as lines
 * indented by indent; with only (nullable), that mechanism alone, said
 * either way, and whether the group offers it. */
gboolean p11mux_group_describe_mechanisms(P11muxGroup *group, GString *out, const char *indent,
                                          const CK_MECHANISM_TYPE *only);

/* ---------------------------------------------------- group-index.c */

/* Read member's objects into its index on its anchor (public ones, and
 * private ones once logged in), and give each identity a virtual handle.
 * Called without the group's lock. */
CK_RV p11mux_group_index_member(P11muxMember *member);

/* member's handle for a virtual handle; 0 when member does not hold it (or
 * holds it twice). */
CK_OBJECT_HANDLE p11mux_group_member_handle(P11muxMember *member, CK_OBJECT_HANDLE handle);

/* The virtual handle of member's handle (found by a search on member), or 0
 * when member's index does not know it; indexes member again first when
 * refresh. */
CK_OBJECT_HANDLE p11mux_group_virtual_handle(P11muxMember *member, CK_OBJECT_HANDLE member_handle);

/* Whether handle names an identity at least min-replicas members hold. */
gboolean p11mux_group_handle_served(P11muxGroup *group, CK_OBJECT_HANDLE handle);

void p11mux_group_index_clear(P11muxMember *member);

/* member's anchor session, opened on first need. */
CK_RV p11mux_group_anchor(P11muxMember *member, CK_SESSION_HANDLE *session);

/* -------------------------------------------------- group-objects.c */

/* Whether handle is in the range of session objects. */
gboolean p11mux_group_is_session_object(CK_OBJECT_HANDLE handle);
/* A session object member made (held) for the virtual session owner: its
 * virtual handle, 0 when none is left. */
CK_OBJECT_HANDLE p11mux_group_object_add(P11muxGroup *group, P11muxMember *member,
                                         CK_OBJECT_HANDLE held, CK_SESSION_HANDLE owner);
/* The member's handle of group's live session object handle, and the
 * member (*member); 0 when there is none such. */
CK_OBJECT_HANDLE p11mux_group_object_held(P11muxGroup *group, CK_OBJECT_HANDLE handle,
                                          P11muxMember **member);
/* The virtual handle of member's session object held; 0 if none. */
CK_OBJECT_HANDLE p11mux_group_object_virtual(P11muxMember *member, CK_OBJECT_HANDLE held);
/* Destroyed: handle is invalid from now on. */
void p11mux_group_object_forget(CK_OBJECT_HANDLE handle);
/* Gone with the owner's member session on member (NULL: on every member). */
void p11mux_group_objects_forget_owner(CK_SESSION_HANDLE owner, P11muxMember *member);
/* Gone with the group (its router freed). */
void p11mux_group_objects_forget_group(P11muxGroup *group);
/* In a child after fork(): the parent's are forgotten. */
void p11mux_group_objects_after_fork(void);
/* writes = primary: the member the token objects' writes go to; NULL with
 * *rv CKR_TOKEN_WRITE_PROTECTED without it, CKR_DEVICE_ERROR when the
 * first member is not usable. */
P11muxMember *p11mux_group_writer(P11muxGroup *group, CK_RV *rv);
/* The virtual handle of a token object primary made (held), primary
 * indexed again; one of the session objects' range, owned by no session,
 * when the group serves no identity of it. */
CK_OBJECT_HANDLE p11mux_group_token_object_made(P11muxMember *primary, CK_OBJECT_HANDLE held);

/* -------------------------------------------------- group-session.c */

typedef struct P11muxGroupSession P11muxGroupSession;

/* The virtual session, locked; NULL (and CKR_SESSION_HANDLE_INVALID) if none. */
P11muxGroupSession *p11mux_group_session_lock(CK_SESSION_HANDLE handle);
void p11mux_group_session_unlock(P11muxGroupSession *session);
P11muxGroup *p11mux_group_session_group(P11muxGroupSession *session);

/* The session's member session on member, opened (and, when the group is
 * logged in, on a token that needs it, logged in) on first use. */
CK_RV p11mux_group_member_session(P11muxGroupSession *session, P11muxMember *member,
                                  CK_SESSION_HANDLE *out);
/* member's handle for a virtual handle in session: a session object's on
 * its home member, else the group's (p11mux_group_member_handle); 0 when
 * member does not hold it. */
CK_OBJECT_HANDLE p11mux_group_session_handle(P11muxGroupSession *session, P11muxMember *member,
                                             CK_OBJECT_HANDLE handle);
/* Whether handle names an object session may use: one of its session
 * objects, or a token object the group serves. */
gboolean p11mux_group_session_served(P11muxGroupSession *session, CK_OBJECT_HANDLE handle);
/* The virtual handle of member's handle seen in session (a search), 0 if
 * neither a session object of its nor an identity the group knows. */
CK_OBJECT_HANDLE p11mux_group_session_virtual(P11muxGroupSession *session, P11muxMember *member,
                                              CK_OBJECT_HANDLE member_handle);
/* A session object member made for session (member_handle): its virtual
 * handle; member becomes the session's home. */
CK_OBJECT_HANDLE p11mux_group_session_object_add(P11muxGroupSession *session,
                                                 P11muxMember *member,
                                                 CK_OBJECT_HANDLE member_handle);

/* Whether a template says CKA_TOKEN true (the group's token objects are
 * read-only). */
gboolean p11mux_group_makes_token_object(const CK_ATTRIBUTE *tmpl, CK_ULONG count);

/* A call on member's object (its handle there) in s, its member session. */
typedef CK_RV (*P11muxGroupObjectCall)(P11muxMember *member, CK_SESSION_HANDLE s,
                                       CK_OBJECT_HANDLE object, gpointer data);

/* A write of a token object (hObject: one of the group's identities) under
 * writes = primary: call on the first member, which must hold it
 * (CKR_TOKEN_WRITE_PROTECTED otherwise, and always without writes =
 * primary), indexed again after; the session lock held. */
CK_RV p11mux_group_token_write(P11muxGroupSession *session, CK_OBJECT_HANDLE hObject,
                               P11muxGroupObjectCall call, gpointer data);

/* A call on member, in s, its member session, with held[] the member's
 * handles of the call's objects; a key it makes goes to *made. */
typedef CK_RV (*P11muxGroupKeyCall)(P11muxMember *member, CK_SESSION_HANDLE s,
                                    const CK_OBJECT_HANDLE *held, gpointer data,
                                    CK_OBJECT_HANDLE *made);

/*
 * call on the next usable member holding every handle of handles (n, at
 * most 2; the first decides the choice; CKR_KEY_HANDLE_INVALID when one is
 * not served; none: any usable member, CKR_DEVICE_ERROR when none is left),
 * the next such member when one fails with a failover-class value.  A key it makes becomes a session object of the session on that
 * member, its virtual handle in *out (nullable); with writes, a token
 * object, made on the first member alone (writes = primary;
 * CKR_TOKEN_WRITE_PROTECTED without it).
 */
CK_RV p11mux_group_on_holders(CK_SESSION_HANDLE hSession, const CK_OBJECT_HANDLE *handles, guint n,
                              P11muxGroupKeyCall call, gpointer data, CK_OBJECT_HANDLE_PTR out,
                              gboolean writes);

/* Forget (close) the session's member session on member: it failed. */
void p11mux_group_member_session_drop(P11muxGroupSession *session, P11muxMember *member);

/* In a child after fork(): the parent's sessions are forgotten. */
void p11mux_group_sessions_after_fork(void);

/* Close every virtual session of group (C_Finalize, all-down =
 * close-sessions). */
void p11mux_group_sessions_close_all(P11muxGroup *group);

/* Log member in with the retained PIN when the group is logged in; CKR_OK
 * when nothing is needed. */
CK_RV p11mux_group_member_login(P11muxMember *member);

/* ------------------------------------------------- group-dispatch.c */

/* The operation a session holds, per kind. */
typedef enum {
    P11MUX_GROUP_OP_SIGN,
    P11MUX_GROUP_OP_VERIFY,
    P11MUX_GROUP_OP_ENCRYPT,
    P11MUX_GROUP_OP_DECRYPT,
    P11MUX_GROUP_OP_DIGEST,
    P11MUX_GROUP_OP_COUNT
} P11muxGroupOpKind;

typedef struct P11muxGroupOp P11muxGroupOp;

/* The next usable member holding handle (0: any member) for a new
 * operation of session (nullable: no session object is then known), not
 * among tried (a bit per member); NULL when none is left. */
P11muxMember *p11mux_group_choose(P11muxGroup *group, P11muxGroupSession *session,
                                  CK_OBJECT_HANDLE handle, guint64 tried);

/* The session's operations (group-dispatch.c owns them; the session lock held). */
P11muxGroupOp *p11mux_group_session_ops(P11muxGroupSession *session);
P11muxGroupOp *p11mux_group_ops_new(void);
void p11mux_group_ops_free(P11muxGroupOp *ops);
/* The member an operation of the session is pinned to, or NULL (a session
 * object's home, C_Login of CKU_CONTEXT_SPECIFIC). */
P11muxMember *p11mux_group_ops_pinned(P11muxGroupOp *ops);
/* The member (and its member session, *s) of the operation a
 * context-specific login is for; the operation no longer fails over (the
 * login is that member's, and the PIN is not kept for it).  NULL when no
 * operation is active. */
P11muxMember *p11mux_group_ops_reauthenticate(P11muxGroupOp *ops, CK_SESSION_HANDLE *s);

/* The group's function list (group-dispatch.c and group-session.c provide
 * the entries; group.c assembles it). */
extern const CK_FUNCTION_LIST_3_0 p11mux_group_functions;

/* Entries of the list, by file: group-token.c */
CK_RV p11mux_group_C_GetInfo(CK_INFO_PTR pInfo);
CK_RV p11mux_group_C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo);
CK_RV p11mux_group_C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo);
CK_RV p11mux_group_C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                                      CK_ULONG_PTR pulCount);
CK_RV p11mux_group_C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
                                      CK_MECHANISM_INFO_PTR pInfo);
CK_RV p11mux_group_C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                               CK_UTF8CHAR_PTR pLabel);
CK_RV p11mux_group_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved);
/* group-session.c */
CK_RV p11mux_group_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
                                 CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession);
CK_RV p11mux_group_C_CloseSession(CK_SESSION_HANDLE hSession);
CK_RV p11mux_group_C_CloseAllSessions(CK_SLOT_ID slotID);
CK_RV p11mux_group_C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo);
CK_RV p11mux_group_C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                           CK_ULONG ulPinLen);
CK_RV p11mux_group_C_Logout(CK_SESSION_HANDLE hSession);
CK_RV p11mux_group_C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                                     CK_ULONG ulCount);
CK_RV p11mux_group_C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                                 CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount);
CK_RV p11mux_group_C_FindObjectsFinal(CK_SESSION_HANDLE hSession);
CK_RV p11mux_group_C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                       CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount);
CK_RV p11mux_group_C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                   CK_ULONG_PTR pulSize);
CK_RV p11mux_group_C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                                  CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject);
CK_RV p11mux_group_C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                 CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                                 CK_OBJECT_HANDLE_PTR phKey);
CK_RV p11mux_group_C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                     CK_ATTRIBUTE_PTR pPublicKeyTemplate,
                                     CK_ULONG ulPublicKeyAttributeCount,
                                     CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
                                     CK_ULONG ulPrivateKeyAttributeCount,
                                     CK_OBJECT_HANDLE_PTR phPublicKey,
                                     CK_OBJECT_HANDLE_PTR phPrivateKey);
CK_RV p11mux_group_C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject);
/* group-keys.c */
CK_RV p11mux_group_C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                             CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
                             CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen);
CK_RV p11mux_group_C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                               CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                               CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
                               CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey);
CK_RV p11mux_group_C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                               CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
                               CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey);
CK_RV p11mux_group_C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                                CK_OBJECT_HANDLE_PTR phNewObject);
CK_RV p11mux_group_C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                       CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount);

G_END_DECLS

#endif /* P11MUX_GROUP_PRIVATE_H */
