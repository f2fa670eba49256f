/*
 * What p11mux read about objects, per session and object handle, so that
 * a decision reads a key's attributes once, not on every call (the cost
 * rule of C_FindObjects).  Entries go when the object is changed or
 * destroyed through p11mux (in every session on its backend), when their
 * session ends, and, for session objects, when any session on the backend
 * ends (their handles may be reused).
 *
 * Lock order: cache->lock (read to use the session map, write to change it)
 * before a session's lock.  Both are leaves otherwise: no backend is called
 * with either held.
 */
#include "config.h"

#include <string.h>

#include "policy-private.h"

/* A session that has read more than this starts again: bounded memory. */
#define MAX_OBJECTS_PER_SESSION 65536

typedef struct {
    GMutex lock;
    GHashTable *objects; /* CK_OBJECT_HANDLE -> P11muxObjectInfo* (a reference) */
    GHashTable *flags;   /* CK_OBJECT_HANDLE -> P11MUX_OBJECT_* flags of the same, for searches */
    const P11muxSlot *slot;
    gboolean find_guard;
} SessionCache;

struct P11muxPolicyCache {
    GRWLock lock;
    GHashTable *sessions; /* CK_SESSION_HANDLE -> SessionCache* */
};

#define HANDLE_KEY(handle) GSIZE_TO_POINTER((gsize)(handle))

P11muxObjectInfo *
p11mux_object_info_ref(P11muxObjectInfo *info)
{
    return g_atomic_rc_box_acquire(info);
}

void
p11mux_object_info_unref(P11muxObjectInfo *info)
{
    if (info != NULL) {
        g_atomic_rc_box_release(info);
    }
}

static SessionCache *
session_cache_new(const P11muxSlot *slot)
{
    SessionCache *entry = g_new0(SessionCache, 1);

    g_mutex_init(&entry->lock);
    entry->objects = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                           (GDestroyNotify)p11mux_object_info_unref);
    entry->flags = g_hash_table_new(g_direct_hash, g_direct_equal);
    entry->slot = slot;
    return entry;
}

static void
session_cache_free(gpointer data)
{
    SessionCache *entry = data;

    g_hash_table_unref(entry->objects);
    g_hash_table_unref(entry->flags);
    g_mutex_clear(&entry->lock);
    g_free(entry);
}

P11muxPolicyCache *
p11mux_policy_cache_new(void)
{
    P11muxPolicyCache *cache = g_new0(P11muxPolicyCache, 1);

    g_rw_lock_init(&cache->lock);
    cache->sessions =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, session_cache_free);
    return cache;
}

void
p11mux_policy_cache_free(P11muxPolicyCache *cache)
{
    if (cache == NULL) {
        return;
    }
    g_hash_table_unref(cache->sessions);
    g_rw_lock_clear(&cache->lock);
    g_free(cache);
}

P11muxObjectInfo *
p11mux_policy_cache_get(P11muxPolicyCache *cache, CK_SESSION_HANDLE session,
                        CK_OBJECT_HANDLE object)
{
    P11muxObjectInfo *info = NULL;
    SessionCache *entry;

    g_rw_lock_reader_lock(&cache->lock);
    entry = g_hash_table_lookup(cache->sessions, HANDLE_KEY(session));
    if (entry != NULL) {
        g_mutex_lock(&entry->lock);
        info = g_hash_table_lookup(entry->objects, HANDLE_KEY(object));
        if (info != NULL) {
            p11mux_object_info_ref(info);
        }
        g_mutex_unlock(&entry->lock);
    }
    g_rw_lock_reader_unlock(&cache->lock);
    return info;
}

guint
p11mux_object_info_flags(const P11muxObjectInfo *info)
{
    guint flags = P11MUX_OBJECT_CACHED;

    if (info->visible) {
        flags |= P11MUX_OBJECT_VISIBLE;
    }
    if (p11mux_object_info_is_key(info) && (info->sensitive != 0 || info->extractable != 1)) {
        flags |= P11MUX_OBJECT_GUARDED;
    }
    return flags;
}

void
p11mux_policy_cache_get_flags(P11muxPolicyCache *cache, CK_SESSION_HANDLE session,
                              const CK_OBJECT_HANDLE *objects, CK_ULONG n, guint *flags)
{
    SessionCache *entry;
    CK_ULONG i;

    memset(flags, 0, n * sizeof *flags);
    g_rw_lock_reader_lock(&cache->lock);
    entry = g_hash_table_lookup(cache->sessions, HANDLE_KEY(session));
    if (entry != NULL) {
        g_mutex_lock(&entry->lock);
        for (i = 0; i < n; i++) {
            flags[i] = GPOINTER_TO_UINT(g_hash_table_lookup(entry->flags, HANDLE_KEY(objects[i])));
        }
        g_mutex_unlock(&entry->lock);
    }
    g_rw_lock_reader_unlock(&cache->lock);
}

/* The session's entry, made if absent.  Caller holds cache->lock for writing. */
static SessionCache *
session_entry(P11muxPolicyCache *cache, CK_SESSION_HANDLE session, const P11muxSlot *slot)
{
    SessionCache *entry = g_hash_table_lookup(cache->sessions, HANDLE_KEY(session));

    if (entry == NULL) {
        entry = session_cache_new(slot);
        g_hash_table_insert(cache->sessions, HANDLE_KEY(session), entry);
    }
    return entry;
}

void
p11mux_policy_cache_put(P11muxPolicyCache *cache, CK_SESSION_HANDLE session, const P11muxSlot *slot,
                        CK_OBJECT_HANDLE object, P11muxObjectInfo *info)
{
    SessionCache *entry;

    g_rw_lock_writer_lock(&cache->lock);
    entry = session_entry(cache, session, slot);
    g_mutex_lock(&entry->lock);
    if (g_hash_table_size(entry->objects) >= MAX_OBJECTS_PER_SESSION) {
        g_hash_table_remove_all(entry->objects);
        g_hash_table_remove_all(entry->flags);
    }
    g_hash_table_replace(entry->objects, HANDLE_KEY(object), p11mux_object_info_ref(info));
    g_hash_table_replace(entry->flags, HANDLE_KEY(object),
                         GUINT_TO_POINTER(p11mux_object_info_flags(info)));
    g_mutex_unlock(&entry->lock);
    g_rw_lock_writer_unlock(&cache->lock);
}

/* Also drops the entry's flags (user_data: the flags table). */
static gboolean
is_session_object(gpointer key, gpointer value, gpointer user_data)
{
    if (((const P11muxObjectInfo *)value)->token == 1) {
        return FALSE;
    }
    g_hash_table_remove(user_data, key);
    return TRUE;
}

typedef enum {
    FORGET_ONE,             /* the object given */
    FORGET_SESSION_OBJECTS, /* every object not known to be a token object */
} ForgetWhat;

/* In every session on backend. */
static void
forget_on_backend(P11muxPolicyCache *cache, const P11muxBackend *backend, ForgetWhat what,
                  CK_OBJECT_HANDLE object)
{
    GHashTableIter iter;
    SessionCache *entry;

    g_rw_lock_reader_lock(&cache->lock);
    g_hash_table_iter_init(&iter, cache->sessions);
    while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&entry)) {
        if (entry->slot->backend != backend) {
            continue;
        }
        g_mutex_lock(&entry->lock);
        if (what == FORGET_ONE) {
            g_hash_table_remove(entry->objects, HANDLE_KEY(object));
            g_hash_table_remove(entry->flags, HANDLE_KEY(object));
        } else {
            g_hash_table_foreach_remove(entry->objects, is_session_object, entry->flags);
        }
        g_mutex_unlock(&entry->lock);
    }
    g_rw_lock_reader_unlock(&cache->lock);
}

void
p11mux_policy_cache_forget_object(P11muxPolicyCache *cache, const P11muxBackend *backend,
                                  CK_OBJECT_HANDLE object)
{
    forget_on_backend(cache, backend, FORGET_ONE, object);
}

void
p11mux_policy_cache_forget_session_objects(P11muxPolicyCache *cache, const P11muxBackend *backend)
{
    forget_on_backend(cache, backend, FORGET_SESSION_OBJECTS, 0);
}

void
p11mux_policy_cache_forget_session(P11muxPolicyCache *cache, CK_SESSION_HANDLE session)
{
    g_rw_lock_writer_lock(&cache->lock);
    g_hash_table_remove(cache->sessions, HANDLE_KEY(session));
    g_rw_lock_writer_unlock(&cache->lock);
}

static gboolean
is_on_slot(gpointer key, gpointer value, gpointer user_data)
{
    return ((const SessionCache *)value)->slot == user_data;
}

void
p11mux_policy_cache_forget_slot(P11muxPolicyCache *cache, const P11muxSlot *slot)
{
    g_rw_lock_writer_lock(&cache->lock);
    g_hash_table_foreach_remove(cache->sessions, is_on_slot, (gpointer)slot);
    g_rw_lock_writer_unlock(&cache->lock);
}

void
p11mux_policy_cache_set_find_guard(P11muxPolicyCache *cache, CK_SESSION_HANDLE session,
                                   const P11muxSlot *slot, gboolean on)
{
    SessionCache *entry;

    g_rw_lock_writer_lock(&cache->lock);
    entry = session_entry(cache, session, slot);
    g_mutex_lock(&entry->lock);
    entry->find_guard = on;
    g_mutex_unlock(&entry->lock);
    g_rw_lock_writer_unlock(&cache->lock);
}

gboolean
p11mux_policy_cache_find_guard(P11muxPolicyCache *cache, CK_SESSION_HANDLE session)
{
    gboolean on = FALSE;
    SessionCache *entry;

    g_rw_lock_reader_lock(&cache->lock);
    entry = g_hash_table_lookup(cache->sessions, HANDLE_KEY(session));
    if (entry != NULL) {
        g_mutex_lock(&entry->lock);
        on = entry->find_guard;
        g_mutex_unlock(&entry->lock);
    }
    g_rw_lock_reader_unlock(&cache->lock);
    return on;
}
