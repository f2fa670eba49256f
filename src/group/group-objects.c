/*
 * Session objects on a group's token (HA-GROUPS.md §4.6, §5): an object
 * with CKA_TOKEN false is made on one member, in the member session of the
 * virtual session that made it (its owner), and lives there.  As PKCS #11
 * wants, every session of the application sees it and may use or destroy
 * it; operations with it run on its member.  It goes when its owner
 * closes (the member closes the member session, and the object with it),
 * when the owner's member session on that member is dropped, and when the
 * member's backend is re-initialised (an earlier incarnation's handle is
 * never used again).
 *
 * Virtual handles come from a range of their own
 * (P11MUX_GROUP_SESSION_OBJECT_BASE), one table for every group, under a
 * lock of its own (a leaf: no member is called under it).  A destroyed
 * object's entry is reused, as backends reuse their handles.
 *
 * Here too: writes of token objects (writes = primary, on the first member
 * alone), and the one loop that runs a call on the members holding the
 * objects it names, moving to the next holder when a member fails.
 */
#include "config.h"

#include "group-private.h"

#define SESSION_OBJECTS_MAX 0x01000000UL

typedef struct {
    P11muxGroup *group;      /* NULL: a free entry */
    P11muxMember *member;    /* where it lives */
    CK_OBJECT_HANDLE held;   /* the member's handle */
    CK_SESSION_HANDLE owner; /* the virtual session that made it */
    gint born;               /* the member's backend's incarnation then */
} SessionObject;

static GMutex objects_lock;
static GArray *objects; /* SessionObject: virtual handle - BASE -> object */
static GArray *unused;  /* guint: free entries of objects */

gboolean
p11mux_group_is_session_object(CK_OBJECT_HANDLE handle)
{
    return handle >= P11MUX_GROUP_SESSION_OBJECT_BASE &&
           handle - P11MUX_GROUP_SESSION_OBJECT_BASE < SESSION_OBJECTS_MAX;
}

/* The live entry of handle (objects_lock held); NULL if none.  An entry of
 * an earlier incarnation of its backend is freed on the way. */
static SessionObject *
entry_of(CK_OBJECT_HANDLE handle)
{
    SessionObject *object;
    guint index;

    if (!p11mux_group_is_session_object(handle) || objects == NULL ||
        handle - P11MUX_GROUP_SESSION_OBJECT_BASE >= objects->len) {
        return NULL;
    }
    index = (guint)(handle - P11MUX_GROUP_SESSION_OBJECT_BASE);
    object = &g_array_index(objects, SessionObject, index);
    if (object->group != NULL &&
        object->born != g_atomic_int_get(&object->member->backend->incarnation)) {
        object->group = NULL;
        g_array_append_val(unused, index);
    }
    return object->group != NULL ? object : NULL;
}

CK_OBJECT_HANDLE
p11mux_group_object_add(P11muxGroup *group, P11muxMember *member, CK_OBJECT_HANDLE held,
                        CK_SESSION_HANDLE owner)
{
    SessionObject object = {group, member, held, owner,
                            g_atomic_int_get(&member->backend->incarnation)};
    CK_OBJECT_HANDLE handle = 0;
    guint index;

    g_mutex_lock(&objects_lock);
    if (objects == NULL) {
        objects = g_array_new(FALSE, FALSE, sizeof(SessionObject));
        unused = g_array_new(FALSE, FALSE, sizeof(guint));
    }
    if (unused->len > 0) {
        index = g_array_index(unused, guint, unused->len - 1);
        g_array_set_size(unused, unused->len - 1);
        g_array_index(objects, SessionObject, index) = object;
        handle = P11MUX_GROUP_SESSION_OBJECT_BASE + index;
    } else if (objects->len < SESSION_OBJECTS_MAX) {
        g_array_append_val(objects, object);
        handle = P11MUX_GROUP_SESSION_OBJECT_BASE + objects->len - 1;
    }
    g_mutex_unlock(&objects_lock);
    return handle;
}

CK_OBJECT_HANDLE
p11mux_group_object_held(P11muxGroup *group, CK_OBJECT_HANDLE handle, P11muxMember **member)
{
    CK_OBJECT_HANDLE held = 0;
    SessionObject *object;

    g_mutex_lock(&objects_lock);
    object = entry_of(handle);
    if (object != NULL && object->group == group) {
        held = object->held;
        *member = object->member;
    }
    g_mutex_unlock(&objects_lock);
    return held;
}

CK_OBJECT_HANDLE
p11mux_group_object_virtual(P11muxMember *member, CK_OBJECT_HANDLE held)
{
    CK_OBJECT_HANDLE handle = 0;
    guint i;

    g_mutex_lock(&objects_lock);
    for (i = 0; objects != NULL && i < objects->len && handle == 0; i++) {
        const SessionObject *object = &g_array_index(objects, SessionObject, i);

        if (object->member == member && object->held == held &&
            entry_of(P11MUX_GROUP_SESSION_OBJECT_BASE + i) != NULL) {
            handle = P11MUX_GROUP_SESSION_OBJECT_BASE + i;
        }
    }
    g_mutex_unlock(&objects_lock);
    return handle;
}

/* Free the entry at index (objects_lock held). */
static void
release(guint index)
{
    g_array_index(objects, SessionObject, index).group = NULL;
    g_array_append_val(unused, index);
}

void
p11mux_group_object_forget(CK_OBJECT_HANDLE handle)
{
    g_mutex_lock(&objects_lock);
    if (entry_of(handle) != NULL) {
        release((guint)(handle - P11MUX_GROUP_SESSION_OBJECT_BASE));
    }
    g_mutex_unlock(&objects_lock);
}

void
p11mux_group_objects_forget_owner(CK_SESSION_HANDLE owner, P11muxMember *member)
{
    guint i;

    g_mutex_lock(&objects_lock);
    for (i = 0; objects != NULL && i < objects->len; i++) {
        const SessionObject *object = &g_array_index(objects, SessionObject, i);

        if (object->group != NULL && object->owner == owner &&
            (member == NULL || object->member == member)) {
            release(i);
        }
    }
    g_mutex_unlock(&objects_lock);
}

void
p11mux_group_objects_forget_group(P11muxGroup *group)
{
    guint i;

    g_mutex_lock(&objects_lock);
    for (i = 0; objects != NULL && i < objects->len; i++) {
        if (g_array_index(objects, SessionObject, i).group == group) {
            release(i);
        }
    }
    g_mutex_unlock(&objects_lock);
}

void
p11mux_group_objects_after_fork(void)
{
    /* the parent's objects are not the child's; a lock another thread
     * held at fork() would never be released here */
    g_mutex_init(&objects_lock);
    objects = NULL;
    unused = NULL;
}

/* ------------------------------------------------------------ token writes */

P11muxMember *
p11mux_group_writer(P11muxGroup *group, CK_RV *rv)
{
    P11muxMember *primary = g_ptr_array_index(group->members, 0);

    if (group->conf->writes != P11MUX_HA_WRITES_PRIMARY) {
        *rv = CKR_TOKEN_WRITE_PROTECTED;
        return NULL;
    }
    if (!p11mux_member_found(primary) || !p11mux_health_usable(&primary->health)) {
        *rv = CKR_DEVICE_ERROR; /* the writes' one member is not there */
        return NULL;
    }
    *rv = CKR_OK;
    return primary;
}

CK_OBJECT_HANDLE
p11mux_group_token_object_made(P11muxMember *primary, CK_OBJECT_HANDLE held)
{
    P11muxGroup *group = primary->group;
    CK_OBJECT_HANDLE handle;

    /* known from now on by its identity, from the primary alone until it is
     * replicated (p11mux list counts it on 1 member) */
    (void)p11mux_group_index_member(primary);
    handle = p11mux_group_virtual_handle(primary, held);
    if (handle != 0 && p11mux_group_handle_served(group, handle)) {
        return handle;
    }
    /* no identity the group serves (no CKA_ID, or min-replicas not met):
     * a handle of this process's, owned by no session */
    return p11mux_group_object_add(group, primary, held, 0);
}

/* ------------------------------------------- calls on the holders of objects */

CK_RV
p11mux_group_token_write(P11muxGroupSession *session, CK_OBJECT_HANDLE hObject,
                         P11muxGroupObjectCall call, gpointer data)
{
    CK_RV rv = CKR_OK;
    P11muxMember *primary = p11mux_group_writer(p11mux_group_session_group(session), &rv);
    CK_OBJECT_HANDLE held;
    CK_SESSION_HANDLE s;

    if (!p11mux_group_handle_served(p11mux_group_session_group(session), hObject)) {
        return CKR_OBJECT_HANDLE_INVALID;
    }
    if (primary == NULL) {
        return rv;
    }
    held = p11mux_group_member_handle(primary, hObject);
    if (held == 0) {
        return CKR_TOKEN_WRITE_PROTECTED; /* only the other members hold it */
    }
    rv = p11mux_group_member_session(session, primary, &s);
    if (rv == CKR_OK) {
        rv = call(primary, s, held, data);
    }
    (void)p11mux_group_record(primary, rv);
    if (rv == CKR_OK) {
        (void)p11mux_group_index_member(primary);
    }
    return rv;
}

/* The next member to try: any usable one holding handle, or with writes
 * (a token object is made), the first member alone, once. */
static P11muxMember *
next_member(P11muxGroupSession *session, CK_OBJECT_HANDLE handle, guint64 tried, gboolean writes,
            CK_RV *rv)
{
    P11muxGroup *group = p11mux_group_session_group(session);
    P11muxMember *primary;

    if (!writes) {
        return p11mux_group_choose(group, session, handle, tried);
    }
    primary = p11mux_group_writer(group, rv);
    return primary != NULL && !(tried & 1) ? primary : NULL;
}

CK_RV
p11mux_group_on_holders(CK_SESSION_HANDLE hSession, const CK_OBJECT_HANDLE *handles, guint n,
                        P11muxGroupKeyCall call, gpointer data, CK_OBJECT_HANDLE_PTR out,
                        gboolean writes)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);
    /* no member left: the key is nowhere, or (no object named) none answers */
    CK_RV rv = n > 0 ? CKR_KEY_HANDLE_INVALID : CKR_DEVICE_ERROR;
    guint64 tried = 0;
    P11muxMember *member;
    guint i;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    for (i = 0; i < n; i++) {
        if (!p11mux_group_session_served(session, handles[i])) {
            p11mux_group_session_unlock(session);
            return CKR_KEY_HANDLE_INVALID;
        }
    }
    while ((member = next_member(session, n > 0 ? handles[0] : 0, tried, writes, &rv)) != NULL) {
        CK_OBJECT_HANDLE held[2] = {0, 0}, made = 0;
        gboolean holds_all = TRUE;
        CK_SESSION_HANDLE s;
        P11muxMemberRv klass;

        tried |= G_GUINT64_CONSTANT(1) << member->index;
        for (i = 0; i < n; i++) {
            held[i] = p11mux_group_session_handle(session, member, handles[i]);
            holds_all = holds_all && held[i] != 0;
        }
        if (!holds_all) {
            rv = writes ? CKR_KEY_HANDLE_INVALID : rv; /* the primary lacks it */
            continue;
        }
        rv = p11mux_group_member_session(session, member, &s);
        if (rv == CKR_OK) {
            rv = call(member, s, held, data, &made);
        }
        klass = p11mux_group_record(member, rv);
        if (rv == CKR_OK && made != 0 && out != NULL) {
            *out = writes ? p11mux_group_token_object_made(member, made)
                          : p11mux_group_session_object_add(session, member, made);
            if (*out == 0) {
                (void)p11mux_backend_C_DestroyObject(member->backend, s, made);
                rv = CKR_DEVICE_MEMORY; /* no virtual handle left */
            }
        }
        if (rv == CKR_OK || klass == P11MUX_MEMBER_RV_REQUEST) {
            break;
        }
        p11mux_group_member_session_drop(session, member);
    }
    p11mux_group_session_unlock(session);
    return rv;
}
