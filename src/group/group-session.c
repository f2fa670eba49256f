/*
 * Virtual sessions (HA-GROUPS.md §5, §6): the application's sessions on a
 * group's slot, each with a session of its own on every member it has
 * used, opened on first use; the group's login, fanned out so that no
 * member ever sees a wrong PIN; searches united by identity; attribute
 * reads from any member holding the object; token writes refused.
 */
#include "config.h"

#include <string.h>

#include "group-private.h"

struct P11muxGroupSession {
    CK_SESSION_HANDLE handle;
    P11muxGroup *group;
    CK_FLAGS flags;
    GMutex lock;
    gint refs;                          /* atomic */
    gboolean closed;                    /* under lock */
    CK_SESSION_HANDLE *member_sessions; /* per member; 0: none */
    gint *member_born;                  /* per member: its backend's incarnation at opening */
    P11muxGroupOp *ops;
    P11muxMember *home;                 /* where it makes session objects; NULL: none yet */
    GArray *found;                      /* CK_OBJECT_HANDLE: a search's results */
    guint found_next;
    gboolean finding;
};

static GMutex sessions_lock;
static GHashTable *sessions; /* handle -> P11muxGroupSession* */
static CK_SESSION_HANDLE next_handle = P11MUX_GROUP_SESSION_BASE;

/* Whether session has a member session on member that its backend's
 * present incarnation opened; one of an earlier incarnation (the backend
 * was re-initialised: p11mux_backend_reinitialize) is forgotten, never
 * closed, since the new incarnation may have given its number to another. */
static gboolean
member_session_current(P11muxGroupSession *session, P11muxMember *member)
{
    guint i = member->index;

    if (session->member_sessions[i] != 0 &&
        session->member_born[i] != g_atomic_int_get(&member->backend->incarnation)) {
        session->member_sessions[i] = 0;
    }
    return session->member_sessions[i] != 0;
}

static void
session_unref(P11muxGroupSession *session)
{
    guint i;

    if (!g_atomic_int_dec_and_test(&session->refs)) {
        return;
    }
    for (i = 0; i < session->group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(session->group->members, i);

        if (member_session_current(session, member)) {
            (void)p11mux_backend_C_CloseSession(member->backend, session->member_sessions[i]);
        }
    }
    p11mux_group_ops_free(session->ops);
    g_clear_pointer(&session->found, g_array_unref);
    g_free(session->member_sessions);
    g_free(session->member_born);
    g_mutex_clear(&session->lock);
    g_free(session);
}

P11muxGroupSession *
p11mux_group_session_lock(CK_SESSION_HANDLE handle)
{
    P11muxGroupSession *session = NULL;

    p11mux_group_poll();
    g_mutex_lock(&sessions_lock);
    if (sessions != NULL) {
        session = g_hash_table_lookup(sessions, GSIZE_TO_POINTER((gsize)handle));
    }
    if (session != NULL) {
        g_atomic_int_inc(&session->refs);
    }
    g_mutex_unlock(&sessions_lock);
    if (session == NULL) {
        return NULL;
    }
    g_mutex_lock(&session->lock);
    if (session->closed) {
        g_mutex_unlock(&session->lock);
        session_unref(session);
        return NULL;
    }
    return session;
}

void
p11mux_group_session_unlock(P11muxGroupSession *session)
{
    g_mutex_unlock(&session->lock);
    session_unref(session);
}

P11muxGroup *
p11mux_group_session_group(P11muxGroupSession *session)
{
    return session->group;
}

P11muxGroupOp *
p11mux_group_session_ops(P11muxGroupSession *session)
{
    return session->ops;
}

CK_RV
p11mux_group_member_session(P11muxGroupSession *session, P11muxMember *member,
                            CK_SESSION_HANDLE *out)
{
    CK_RV rv;

    if (member_session_current(session, member)) {
        *out = session->member_sessions[member->index];
        return CKR_OK;
    }
    if (!p11mux_member_found(member)) {
        return CKR_TOKEN_NOT_PRESENT;
    }
    rv = p11mux_group_member_login(member);
    if (rv == CKR_OK) {
        rv = p11mux_backend_C_OpenSession(member->backend, member->slot,
                                          CKF_SERIAL_SESSION | (session->flags & CKF_RW_SESSION),
                                          NULL, NULL, out);
    }
    if (rv == CKR_OK) {
        session->member_sessions[member->index] = *out;
        session->member_born[member->index] = g_atomic_int_get(&member->backend->incarnation);
    }
    return rv;
}

/* --------------------------------------------------------- session objects */

/* Session objects are the group's (group-objects.c): every session of the
 * application sees them, and uses them on the member they live on. */

CK_OBJECT_HANDLE
p11mux_group_session_handle(P11muxGroupSession *session, P11muxMember *member,
                            CK_OBJECT_HANDLE handle)
{
    if (p11mux_group_is_session_object(handle)) {
        P11muxMember *where = NULL;
        CK_OBJECT_HANDLE held = p11mux_group_object_held(session->group, handle, &where);

        return where == member ? held : 0;
    }
    return p11mux_group_member_handle(member, handle);
}

gboolean
p11mux_group_session_served(P11muxGroupSession *session, CK_OBJECT_HANDLE handle)
{
    if (p11mux_group_is_session_object(handle)) {
        P11muxMember *where = NULL;

        return p11mux_group_object_held(session->group, handle, &where) != 0;
    }
    return p11mux_group_handle_served(session->group, handle);
}

CK_OBJECT_HANDLE
p11mux_group_session_virtual(P11muxGroupSession *session, P11muxMember *member,
                             CK_OBJECT_HANDLE member_handle)
{
    CK_OBJECT_HANDLE handle = p11mux_group_object_virtual(member, member_handle);

    (void)session;
    return handle != 0 ? handle : p11mux_group_virtual_handle(member, member_handle);
}

CK_OBJECT_HANDLE
p11mux_group_session_object_add(P11muxGroupSession *session, P11muxMember *member,
                                CK_OBJECT_HANDLE member_handle)
{
    session->home = member;
    return p11mux_group_object_add(session->group, member, member_handle, session->handle);
}

void
p11mux_group_member_session_drop(P11muxGroupSession *session, P11muxMember *member)
{
    if (member_session_current(session, member)) {
        (void)p11mux_backend_C_CloseSession(member->backend,
                                            session->member_sessions[member->index]);
        session->member_sessions[member->index] = 0;
        /* its session objects went with it */
        p11mux_group_objects_forget_owner(session->handle, member);
    }
}

/* ------------------------------------------------------------- sessions */

CK_RV
p11mux_group_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
                           CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
    P11muxGroup *group = p11mux_group_of_slot(slotID);
    P11muxGroupSession *session;

    (void)pApplication;
    (void)Notify;
    if (group == NULL) {
        return CKR_SLOT_ID_INVALID;
    }
    if (phSession == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (!(flags & CKF_SERIAL_SESSION)) {
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    }
    if (!p11mux_group_present(group)) {
        return CKR_TOKEN_NOT_PRESENT;
    }
    session = g_new0(P11muxGroupSession, 1);
    session->group = group;
    session->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
    session->refs = 1;
    g_mutex_init(&session->lock);
    session->member_sessions = g_new0(CK_SESSION_HANDLE, group->members->len);
    session->member_born = g_new0(gint, group->members->len);
    session->ops = p11mux_group_ops_new();
    g_mutex_lock(&sessions_lock);
    if (sessions == NULL) {
        sessions = g_hash_table_new(g_direct_hash, g_direct_equal);
    }
    session->handle = next_handle++;
    g_hash_table_insert(sessions, GSIZE_TO_POINTER((gsize)session->handle), session);
    g_mutex_unlock(&sessions_lock);
    *phSession = session->handle;
    return CKR_OK;
}

/* Take session out of the table; its last holder frees it. */
static void
close_session(P11muxGroupSession *session)
{
    gboolean removed;

    g_mutex_lock(&sessions_lock);
    removed = sessions != NULL &&
              g_hash_table_remove(sessions, GSIZE_TO_POINTER((gsize)session->handle));
    g_mutex_unlock(&sessions_lock);
    session->closed = TRUE;
    /* the member sessions close with the session, and its objects with them */
    p11mux_group_objects_forget_owner(session->handle, NULL);
    if (removed) {
        g_atomic_int_add(&session->refs, -1); /* the table's reference; the caller holds one */
    }
}

CK_RV
p11mux_group_C_CloseSession(CK_SESSION_HANDLE hSession)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    close_session(session);
    p11mux_group_session_unlock(session);
    return CKR_OK;
}

/* Every session of group (NULL: of every group), held. */
static GPtrArray *
sessions_of(P11muxGroup *group)
{
    GPtrArray *list = g_ptr_array_new();
    GHashTableIter iter;
    gpointer value;

    g_mutex_lock(&sessions_lock);
    if (sessions != NULL) {
        g_hash_table_iter_init(&iter, sessions);
        while (g_hash_table_iter_next(&iter, NULL, &value)) {
            P11muxGroupSession *session = value;

            if (group == NULL || session->group == group) {
                g_atomic_int_inc(&session->refs);
                g_ptr_array_add(list, session);
            }
        }
    }
    g_mutex_unlock(&sessions_lock);
    return list;
}

void
p11mux_group_sessions_after_fork(void)
{
    g_mutex_init(&sessions_lock);
    sessions = NULL;
    p11mux_group_objects_after_fork();
}

void
p11mux_group_sessions_close_all(P11muxGroup *group)
{
    g_autoptr(GPtrArray) list = sessions_of(group);
    guint i;

    for (i = 0; i < list->len; i++) {
        P11muxGroupSession *session = g_ptr_array_index(list, i);

        g_mutex_lock(&session->lock);
        if (!session->closed) {
            close_session(session);
        }
        g_mutex_unlock(&session->lock);
        session_unref(session);
    }
}

CK_RV
p11mux_group_C_CloseAllSessions(CK_SLOT_ID slotID)
{
    P11muxGroup *group = p11mux_group_of_slot(slotID);

    if (group == NULL) {
        return CKR_SLOT_ID_INVALID;
    }
    p11mux_group_sessions_close_all(group);
    return CKR_OK;
}

CK_RV
p11mux_group_C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);
    gboolean rw, user;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (pInfo == NULL) {
        p11mux_group_session_unlock(session);
        return CKR_ARGUMENTS_BAD;
    }
    rw = (session->flags & CKF_RW_SESSION) != 0;
    user = g_atomic_int_get(&session->group->logged_in);
    pInfo->slotID = session->group->slot;
    pInfo->state = user ? (rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS)
                        : (rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION);
    pInfo->flags = session->flags;
    pInfo->ulDeviceError = 0;
    p11mux_group_session_unlock(session);
    return CKR_OK;
}

/* -------------------------------------------------------------- searches */

/* Add the virtual handles of what member finds for tmpl to found. */
static CK_RV
search_member(P11muxGroupSession *session, P11muxMember *member, CK_ATTRIBUTE_PTR tmpl,
              CK_ULONG count, GHashTable *seen)
{
    CK_OBJECT_HANDLE batch[64];
    CK_SESSION_HANDLE s;
    CK_ULONG n = 0, i;
    gboolean refreshed = FALSE;
    CK_RV rv = p11mux_group_member_session(session, member, &s);

    if (rv == CKR_OK) {
        rv = p11mux_backend_C_FindObjectsInit(member->backend, s, tmpl, count);
    }
    while (rv == CKR_OK) {
        rv = p11mux_backend_C_FindObjects(member->backend, s, batch, G_N_ELEMENTS(batch), &n);
        if (rv != CKR_OK || n == 0) {
            break;
        }
        for (i = 0; i < n; i++) {
            CK_OBJECT_HANDLE handle = p11mux_group_session_virtual(session, member, batch[i]);

            if (handle == 0 && !refreshed) {
                /* replicated out of band since the index was read */
                refreshed = TRUE;
                (void)p11mux_group_index_member(member);
                handle = p11mux_group_session_virtual(session, member, batch[i]);
            }
            if (handle != 0 && !g_hash_table_contains(seen, GSIZE_TO_POINTER((gsize)handle)) &&
                p11mux_group_session_served(session, handle)) {
                g_hash_table_add(seen, GSIZE_TO_POINTER((gsize)handle));
                g_array_append_val(session->found, handle);
            }
        }
    }
    if (s != 0 && rv != CKR_SESSION_HANDLE_INVALID) {
        (void)p11mux_backend_C_FindObjectsFinal(member->backend, s);
    }
    return rv;
}

CK_RV
p11mux_group_C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                               CK_ULONG ulCount)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    P11muxGroup *group;
    gboolean answered = FALSE;
    CK_RV rv = CKR_DEVICE_ERROR;
    guint i;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (session->finding) {
        p11mux_group_session_unlock(session);
        return CKR_OPERATION_ACTIVE;
    }
    group = session->group;
    g_clear_pointer(&session->found, g_array_unref);
    session->found = g_array_new(FALSE, FALSE, sizeof(CK_OBJECT_HANDLE));
    session->found_next = 0;
    for (i = 0; i < group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);
        P11muxMemberRv klass;

        if (!p11mux_member_found(member) || !p11mux_health_usable(&member->health)) {
            continue;
        }
        rv = search_member(session, member, pTemplate, ulCount, seen);
        klass = p11mux_group_record(member, rv);
        if (rv == CKR_OK) {
            answered = TRUE;
            if (group->conf->find_fanout == P11MUX_HA_FIND_FANOUT_ONE) {
                break;
            }
        } else if (klass == P11MUX_MEMBER_RV_REQUEST) {
            break; /* a bad template: the member's answer */
        } else {
            p11mux_group_member_session_drop(session, member);
        }
    }
    if (answered) {
        rv = CKR_OK;
        session->finding = TRUE;
    }
    p11mux_group_session_unlock(session);
    return rv;
}

CK_RV
p11mux_group_C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                           CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);
    CK_ULONG n = 0;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (!session->finding) {
        p11mux_group_session_unlock(session);
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    if (phObject == NULL || pulObjectCount == NULL) {
        p11mux_group_session_unlock(session);
        return CKR_ARGUMENTS_BAD;
    }
    while (n < ulMaxObjectCount && session->found_next < session->found->len) {
        phObject[n++] = g_array_index(session->found, CK_OBJECT_HANDLE, session->found_next++);
    }
    *pulObjectCount = n;
    p11mux_group_session_unlock(session);
    return CKR_OK;
}

CK_RV
p11mux_group_C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (!session->finding) {
        p11mux_group_session_unlock(session);
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    session->finding = FALSE;
    g_clear_pointer(&session->found, g_array_unref);
    p11mux_group_session_unlock(session);
    return CKR_OK;
}

/* ------------------------------------------------------------ attributes */

typedef P11muxGroupObjectCall ObjectCall;

/* on_holder's call, as p11mux_group_on_holders makes it. */
typedef struct {
    ObjectCall call;
    gpointer data;
} OneObject;

static CK_RV
one_object(P11muxMember *member, CK_SESSION_HANDLE s, const CK_OBJECT_HANDLE *held, gpointer data,
           CK_OBJECT_HANDLE *made)
{
    OneObject *one = data;

    (void)made;
    return one->call(member, s, held[0], one->data);
}

/* call on a member holding hObject, the next one when a member fails. */
static CK_RV
on_holder(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, ObjectCall call, gpointer data)
{
    OneObject one = {call, data};
    CK_RV rv = p11mux_group_on_holders(hSession, &hObject, 1, one_object, &one, NULL, FALSE);

    return rv == CKR_KEY_HANDLE_INVALID ? CKR_OBJECT_HANDLE_INVALID : rv;
}

typedef struct {
    CK_ATTRIBUTE_PTR tmpl;
    CK_ULONG count;
} Attributes;

static CK_RV
get_attributes(P11muxMember *member, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object, gpointer data)
{
    Attributes *attributes = data;

    return p11mux_backend_C_GetAttributeValue(member->backend, s, object, attributes->tmpl,
                                              attributes->count);
}

CK_RV
p11mux_group_C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                 CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    Attributes attributes = {pTemplate, ulCount};

    return on_holder(hSession, hObject, get_attributes, &attributes);
}

static CK_RV
get_size(P11muxMember *member, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object, gpointer data)
{
    return p11mux_backend_C_GetObjectSize(member->backend, s, object, data);
}

CK_RV
p11mux_group_C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                             CK_ULONG_PTR pulSize)
{
    return on_holder(hSession, hObject, get_size, pulSize);
}

/* ------------------------------------------------- objects of a session */

gboolean
p11mux_group_makes_token_object(const CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
    CK_ULONG i;

    for (i = 0; tmpl != NULL && i < count; i++) {
        if (tmpl[i].type == CKA_TOKEN && tmpl[i].pValue != NULL &&
            tmpl[i].ulValueLen == sizeof(CK_BBOOL)) {
            return *(const CK_BBOOL *)tmpl[i].pValue != CK_FALSE;
        }
    }
    return FALSE;
}

typedef CK_RV (*MakeCall)(P11muxMember *member, CK_SESSION_HANDLE s, gpointer data,
                          CK_OBJECT_HANDLE *made, guint n_made);

/* A session object is made on the session's home member (chosen, least
 * busy, with the first; a new one when the home is no longer usable, whose
 * objects are then gone): their handles become the session's.  A token
 * object (bit i of token: out[i]'s template says CKA_TOKEN true) only under
 * writes = primary, on the first member. */
static CK_RV
make_on_home(CK_SESSION_HANDLE hSession, MakeCall call, gpointer data, CK_OBJECT_HANDLE_PTR out[],
             guint n_out, guint token)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);
    CK_OBJECT_HANDLE made[2] = {0, 0};
    P11muxMember *home;
    CK_SESSION_HANDLE s;
    CK_RV rv = CKR_OK;
    guint i;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    home = token != 0 ? p11mux_group_writer(session->group, &rv) : session->home;
    if (rv != CKR_OK) {
        p11mux_group_session_unlock(session);
        return rv;
    }
    if (token == 0 && (home == NULL || !p11mux_health_usable(&home->health))) {
        if (home != NULL) {
            p11mux_group_objects_forget_owner(session->handle, home); /* lost with it */
        }
        home = p11mux_group_choose(session->group, NULL, 0, 0);
    }
    if (home == NULL) {
        p11mux_group_session_unlock(session);
        return CKR_DEVICE_ERROR;
    }
    rv = p11mux_group_member_session(session, home, &s);
    if (rv == CKR_OK) {
        rv = call(home, s, data, made, n_out);
    }
    (void)p11mux_group_record(home, rv);
    for (i = 0; rv == CKR_OK && i < n_out; i++) {
        *out[i] = (token & (1u << i)) ? p11mux_group_token_object_made(home, made[i])
                                      : p11mux_group_session_object_add(session, home, made[i]);
        if (*out[i] == 0) {
            rv = CKR_DEVICE_MEMORY; /* no virtual handle left */
        }
    }
    p11mux_group_session_unlock(session);
    return rv;
}

typedef struct {
    CK_MECHANISM_PTR mechanism;
    CK_ATTRIBUTE_PTR tmpl[2];
    CK_ULONG count[2];
} Making;

static CK_RV
create(P11muxMember *member, CK_SESSION_HANDLE s, gpointer data, CK_OBJECT_HANDLE *made,
       guint n_made G_GNUC_UNUSED)
{
    Making *m = data;

    return p11mux_backend_C_CreateObject(member->backend, s, m->tmpl[0], m->count[0], &made[0]);
}

static CK_RV
generate(P11muxMember *member, CK_SESSION_HANDLE s, gpointer data, CK_OBJECT_HANDLE *made,
         guint n_made G_GNUC_UNUSED)
{
    Making *m = data;

    return p11mux_backend_C_GenerateKey(member->backend, s, m->mechanism, m->tmpl[0], m->count[0],
                                        &made[0]);
}

static CK_RV
generate_pair(P11muxMember *member, CK_SESSION_HANDLE s, gpointer data, CK_OBJECT_HANDLE *made,
              guint n_made G_GNUC_UNUSED)
{
    Making *m = data;

    return p11mux_backend_C_GenerateKeyPair(member->backend, s, m->mechanism, m->tmpl[0],
                                            m->count[0], m->tmpl[1], m->count[1], &made[0],
                                            &made[1]);
}

CK_RV
p11mux_group_C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                            CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
    Making m = {NULL, {pTemplate, NULL}, {ulCount, 0}};
    CK_OBJECT_HANDLE_PTR out[] = {phObject};

    return phObject == NULL ? CKR_ARGUMENTS_BAD
                            : make_on_home(hSession, create, &m, out, 1,
                                           p11mux_group_makes_token_object(pTemplate, ulCount));
}

CK_RV
p11mux_group_C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                           CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
    Making m = {pMechanism, {pTemplate, NULL}, {ulCount, 0}};
    CK_OBJECT_HANDLE_PTR out[] = {phKey};

    return phKey == NULL ? CKR_ARGUMENTS_BAD
                         : make_on_home(hSession, generate, &m, out, 1,
                                        p11mux_group_makes_token_object(pTemplate, ulCount));
}

CK_RV
p11mux_group_C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                               CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
                               CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
                               CK_ULONG ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE_PTR phPublicKey,
                               CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    Making m = {pMechanism,
                {pPublicKeyTemplate, pPrivateKeyTemplate},
                {ulPublicKeyAttributeCount, ulPrivateKeyAttributeCount}};
    CK_OBJECT_HANDLE_PTR out[] = {phPublicKey, phPrivateKey};
    guint token =
        (p11mux_group_makes_token_object(pPublicKeyTemplate, ulPublicKeyAttributeCount) ? 1u : 0u) |
        (p11mux_group_makes_token_object(pPrivateKeyTemplate, ulPrivateKeyAttributeCount) ? 2u
                                                                                          : 0u);

    if (phPublicKey == NULL || phPrivateKey == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    /* both halves on one member: a token half puts the pair on the primary */
    return make_on_home(hSession, generate_pair, &m, out, 2, token);
}

static CK_RV
destroy(P11muxMember *member, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object, gpointer data)
{
    (void)data;
    return p11mux_backend_C_DestroyObject(member->backend, s, object);
}

/* A session object is destroyed on its member, from any session; the
 * group's token objects may not be. */
CK_RV
p11mux_group_C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);
    P11muxMember *where = NULL;
    CK_OBJECT_HANDLE held;
    CK_SESSION_HANDLE s;
    CK_RV rv;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (!p11mux_group_is_session_object(hObject)) {
        rv = p11mux_group_token_write(session, hObject, destroy, NULL);
        p11mux_group_session_unlock(session);
        return rv;
    }
    held = p11mux_group_object_held(session->group, hObject, &where);
    rv = held == 0 ? CKR_OBJECT_HANDLE_INVALID : p11mux_group_member_session(session, where, &s);
    if (rv == CKR_OK) {
        rv = p11mux_backend_C_DestroyObject(where->backend, s, held);
        (void)p11mux_group_record(where, rv);
    }
    if (rv == CKR_OK || rv == CKR_OBJECT_HANDLE_INVALID) {
        p11mux_group_object_forget(hObject);
    }
    p11mux_group_session_unlock(session);
    return rv;
}
