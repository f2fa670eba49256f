/*
 * What p11mux read about objects, per session and object handle, so that
 * a decision reads a key's attributes once, not on every call (the cost
 * rule of C_FindObjects).  Entries go when the object is changed or
 * destroyed through p11mux (in every session on its backend), when their
 * session ends, and, for session objects, when any session on the backend
 * ends (their handles may be reused).
 *
 * A session keeps two tables in step, both changed under its lock:
 *   objects   handle -> P11muxObjectInfo (a reference): what the checks of
 *             handles and templates need, read under the lock;
 *   verdicts  handle -> P11MUX_OBJECT_* flags: what C_FindObjects needs of
 *             each object found, read without any lock, so that a search
 *             after the first costs a multiply and a probe or two per object.
 *
 * The verdict table is open-addressed (Fibonacci hashing, linear probing,
 * at most half full).  A slot's handle is written once, before its flags,
 * and never cleared while the table is published; forgetting an object
 * stores 0 in its flags ("not known": the search reads the object again).
 * Growing (or starting again past MAX_OBJECTS_PER_SESSION) builds a new
 * table from the known entries and publishes it with an atomic store; the
 * old one is retired, and freed only once no reader can hold it:
 * a reader counts itself in `readers` before it loads the table pointer,
 * and a writer frees retired tables only when it sees `readers` at 0 after
 * unpublishing them (all sequentially consistent), so a reader either is
 * seen or sees the new table.  A session's entry itself is reference
 * counted (the session map holds one, each reader one).
 *
 * A read racing a change: a search that misses reads the object from the
 * backend without a lock; if any forget ran meanwhile (`forgotten` moved),
 * what it read is used for that search but not cached, so a stale reading
 * never outlives the change that made it stale.
 *
 * Lock order: cache->lock (read to use the session map, write to change
 * it) before a session's lock.  Both are leaves otherwise: no backend is
 * called with either held, and a reader of verdicts holds neither.
 */
#include "config.h"

#include <string.h>

#include "policy-cache.h"

/* A session that has read more than this starts again: bounded memory. */
#define MAX_OBJECTS_PER_SESSION 65536
#define MIN_VERDICT_SLOTS 64
#define FIBONACCI G_GUINT64_CONSTANT(0x9e3779b97f4a7c15)

/* Two arrays in one block: the handles a probe compares, and beside them
 * the flags of each (separate, so that a probe step is one compare). */
typedef struct VerdictTable VerdictTable;
struct VerdictTable {
    guint shift;                /* 64 - log2(number of slots) */
    gsize mask;                 /* number of slots - 1 */
    gsize used;                 /* slots holding a handle; writers only, under the lock */
    VerdictTable *next;         /* in SessionCache.retired */
    guint8 *flags;              /* atomic each; 0: not known */
    CK_OBJECT_HANDLE handles[]; /* atomic each; 0: empty.  Written once per table */
};

typedef struct {
    gint refs;    /* atomic: the session map's, and one per reader */
    gint readers; /* atomic: readers of verdicts now */
    GMutex lock;
    GHashTable *objects;    /* CK_OBJECT_HANDLE -> P11muxObjectInfo* (a reference) */
    VerdictTable *verdicts; /* atomic; NULL until the first entry */
    VerdictTable *retired;  /* unpublished, not yet freed */
    const P11muxSlot *slot;
    gboolean find_guard;
} SessionCache;

struct P11muxPolicyCache {
    GRWLock lock;
    GHashTable *sessions; /* CK_SESSION_HANDLE -> SessionCache* (a reference) */
    gint forgotten;       /* atomic: moved by every forget, before it forgets */
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

guint
p11mux_object_info_flags(const P11muxObjectInfo *info)
{
    guint flags = P11MUX_OBJECT_CACHED;

    if (info->visible) {
        flags |= P11MUX_OBJECT_VISIBLE;
    }
    if (p11mux_object_info_is_key(info) && (info->sensitive != 0 || info->extractable != 1)) {
        flags |= P11MUX_OBJECT_GUARDED;
    } else if (info->visible) {
        flags |= P11MUX_OBJECT_OPEN;
    }
    return flags;
}

/* ------------------------------------------------------------ verdicts */

static VerdictTable *
verdict_table_new(gsize n_slots)
{
    VerdictTable *table =
        g_malloc0(sizeof(VerdictTable) + n_slots * (sizeof(CK_OBJECT_HANDLE) + sizeof(guint8)));

    table->mask = n_slots - 1;
    table->shift = 64 - (guint)g_bit_nth_msf(n_slots, -1);
    table->flags = (guint8 *)(table->handles + n_slots);
    return table;
}

/* The slot where handle's probe starts, in a table of 2^(64 - shift) slots. */
static inline gsize
home_of(CK_OBJECT_HANDLE handle, guint shift)
{
    return (gsize)(((guint64)handle * FIBONACCI) >> shift);
}

/* The slot holding handle, or the empty one where it would go.  Writers. */
static gsize
verdict_slot(const VerdictTable *table, CK_OBJECT_HANDLE handle)
{
    gsize i = home_of(handle, table->shift);

    while (table->handles[i] != handle && table->handles[i] != 0) {
        i = (i + 1) & table->mask;
    }
    return i;
}

/* Store flags for handle (not 0) in a table with room: the handle first, so
 * that a reader finding it reads its flags or 0.  Under the lock. */
static void
verdict_store(VerdictTable *table, CK_OBJECT_HANDLE handle, guint flags)
{
    gsize i = verdict_slot(table, handle);

    if (table->handles[i] == 0) {
        __atomic_store_n(&table->handles[i], handle, __ATOMIC_RELEASE);
        table->used++;
    }
    __atomic_store_n(&table->flags[i], (guint8)flags, __ATOMIC_RELEASE);
}

/* Mark handle not known.  Under the lock. */
static void
verdict_forget(SessionCache *entry, CK_OBJECT_HANDLE handle)
{
    gsize i;

    if (entry->verdicts == NULL || handle == 0) {
        return;
    }
    i = verdict_slot(entry->verdicts, handle);
    if (entry->verdicts->handles[i] == handle) {
        __atomic_store_n(&entry->verdicts->flags[i], 0, __ATOMIC_RELEASE);
    }
}

static void
free_tables(VerdictTable *table)
{
    while (table != NULL) {
        VerdictTable *next = table->next;

        g_free(table);
        table = next;
    }
}

/* Free the retired tables if no reader can hold one.  Under the lock. */
static void
reclaim_retired(SessionCache *entry)
{
    /* `retired` is written under the lock but read without it by
     * reader_leave(): atomic accesses on both sides */
    if (__atomic_load_n(&entry->retired, __ATOMIC_RELAXED) != NULL &&
        __atomic_load_n(&entry->readers, __ATOMIC_SEQ_CST) == 0) {
        free_tables(__atomic_exchange_n(&entry->retired, NULL, __ATOMIC_RELAXED));
    }
}

/* A new table holding what entry->objects knows, with room for one more,
 * published in place of the old one.  Under the lock. */
static VerdictTable *
verdicts_rebuild(SessionCache *entry)
{
    gsize live = g_hash_table_size(entry->objects), n_slots = MIN_VERDICT_SLOTS;
    VerdictTable *old = entry->verdicts, *table;
    GHashTableIter iter;
    gpointer key, value;

    while (n_slots <= 2 * (live + 1)) {
        n_slots *= 2;
    }
    table = verdict_table_new(n_slots);
    g_hash_table_iter_init(&iter, entry->objects);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        if (GPOINTER_TO_SIZE(key) != 0) {
            verdict_store(table, (CK_OBJECT_HANDLE)GPOINTER_TO_SIZE(key),
                          p11mux_object_info_flags(value));
        }
    }
    __atomic_store_n(&entry->verdicts, table, __ATOMIC_SEQ_CST);
    if (old != NULL) {
        old->next = __atomic_load_n(&entry->retired, __ATOMIC_RELAXED);
        __atomic_store_n(&entry->retired, old, __ATOMIC_RELAXED);
        reclaim_retired(entry);
    }
    return table;
}

static void
verdict_put(SessionCache *entry, CK_OBJECT_HANDLE handle, guint flags)
{
    VerdictTable *table = entry->verdicts;

    if (handle == 0) {
        return; /* CK_INVALID_HANDLE marks empty slots; never found anyway */
    }
    if (table == NULL || (table->used + 1) * 2 > table->mask + 1) {
        table = verdicts_rebuild(entry);
    }
    verdict_store(table, handle, flags);
}

/* ------------------------------------------------------------ sessions */

static SessionCache *
session_cache_new(const P11muxSlot *slot)
{
    SessionCache *entry = g_new0(SessionCache, 1);

    entry->refs = 1;
    g_mutex_init(&entry->lock);
    entry->objects = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                           (GDestroyNotify)p11mux_object_info_unref);
    entry->slot = slot;
    return entry;
}

static void
session_cache_unref(gpointer data)
{
    SessionCache *entry = data;

    if (!g_atomic_int_dec_and_test(&entry->refs)) {
        return;
    }
    g_hash_table_unref(entry->objects);
    g_free(entry->verdicts);
    free_tables(entry->retired);
    g_mutex_clear(&entry->lock);
    g_free(entry);
}

P11muxPolicyCache *
p11mux_policy_cache_new(void)
{
    P11muxPolicyCache *cache = g_new0(P11muxPolicyCache, 1);

    g_rw_lock_init(&cache->lock);
    cache->sessions =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, session_cache_unref);
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

guint
p11mux_policy_cache_epoch(P11muxPolicyCache *cache)
{
    return (guint)g_atomic_int_get(&cache->forgotten);
}

/* The session's entry with a reference taken; NULL when it has none. */
static SessionCache *
session_ref(P11muxPolicyCache *cache, CK_SESSION_HANDLE session)
{
    SessionCache *entry;

    g_rw_lock_reader_lock(&cache->lock);
    entry = g_hash_table_lookup(cache->sessions, HANDLE_KEY(session));
    if (entry != NULL) {
        g_atomic_int_inc(&entry->refs);
    }
    g_rw_lock_reader_unlock(&cache->lock);
    return entry;
}

/*
 * The session's entry with a reference taken, made if absent or if the one
 * there was left for another slot (a stale entry of an ended session whose
 * handle came back).  With epoch, none is made once a forget has run since
 * (the session may have ended meanwhile): NULL then.
 */
static SessionCache *
session_ref_or_new(P11muxPolicyCache *cache, CK_SESSION_HANDLE session, const P11muxSlot *slot,
                   const guint *epoch)
{
    SessionCache *entry = session_ref(cache, session);

    if (entry != NULL && entry->slot == slot) {
        return entry;
    }
    if (entry != NULL) {
        session_cache_unref(entry);
    }
    g_rw_lock_writer_lock(&cache->lock);
    entry = g_hash_table_lookup(cache->sessions, HANDLE_KEY(session));
    if (entry == NULL || entry->slot != slot) {
        if (epoch != NULL && p11mux_policy_cache_epoch(cache) != *epoch) {
            g_rw_lock_writer_unlock(&cache->lock);
            return NULL;
        }
        entry = session_cache_new(slot);
        g_hash_table_replace(cache->sessions, HANDLE_KEY(session), entry);
    }
    g_atomic_int_inc(&entry->refs);
    g_rw_lock_writer_unlock(&cache->lock);
    return entry;
}

/* ------------------------------------------------------------ readers */

P11muxObjectInfo *
p11mux_policy_cache_get(P11muxPolicyCache *cache, CK_SESSION_HANDLE session,
                        CK_OBJECT_HANDLE object)
{
    SessionCache *entry = session_ref(cache, session);
    P11muxObjectInfo *info = NULL;

    if (entry != NULL) {
        g_mutex_lock(&entry->lock);
        info = g_hash_table_lookup(entry->objects, HANDLE_KEY(object));
        if (info != NULL) {
            p11mux_object_info_ref(info);
        }
        g_mutex_unlock(&entry->lock);
        session_cache_unref(entry);
    }
    return info;
}

/* The end of a lock-free read: the last reader out frees retired tables. */
static void
reader_leave(SessionCache *entry)
{
    if (__atomic_sub_fetch(&entry->readers, 1, __ATOMIC_SEQ_CST) == 0 &&
        __atomic_load_n(&entry->retired, __ATOMIC_RELAXED) != NULL) {
        g_mutex_lock(&entry->lock);
        reclaim_retired(entry);
        g_mutex_unlock(&entry->lock);
    }
}

/* The loop of p11mux_policy_cache_filter over a pinned table: per handle a
 * multiply, a shift, a compare (another on a collision) and the flag test. */
static CK_ULONG
filter_known(const VerdictTable *table, const CK_OBJECT_HANDLE *batch, CK_ULONG n, guint show,
             CK_OBJECT_HANDLE *out, CK_ULONG *kept)
{
    const CK_OBJECT_HANDLE *handles = table->handles;
    const guint8 *flags = table->flags;
    guint shift = table->shift;
    gsize mask = table->mask;
    CK_ULONG i, k = *kept;

    for (i = 0; i < n; i++) {
        CK_OBJECT_HANDLE handle = batch[i], key;
        gsize slot = home_of(handle, shift);
        guint verdict;

        while (G_UNLIKELY((key = __atomic_load_n(&handles[slot], __ATOMIC_RELAXED)) != handle)) {
            if (key == 0) {
                goto unknown;
            }
            slot = (slot + 1) & mask;
        }
        verdict = __atomic_load_n(&flags[slot], __ATOMIC_RELAXED);
        if (verdict & show) {
            out[k++] = handle;
        } else if (verdict == 0) {
            break; /* forgotten; or handle 0, found as an empty slot */
        }
    }
unknown:
    *kept = k;
    return i;
}

CK_ULONG
p11mux_policy_cache_filter(P11muxPolicyCache *cache, CK_SESSION_HANDLE session,
                           const CK_OBJECT_HANDLE *batch, CK_ULONG n, gboolean guard,
                           CK_OBJECT_HANDLE *out, CK_ULONG *kept)
{
    SessionCache *entry = session_ref(cache, session);
    const VerdictTable *table;
    CK_ULONG judged = 0;

    if (entry == NULL) {
        return 0;
    }
    __atomic_add_fetch(&entry->readers, 1, __ATOMIC_SEQ_CST);
    table = __atomic_load_n(&entry->verdicts, __ATOMIC_SEQ_CST);
    if (table != NULL) {
        judged = filter_known(table, batch, n, p11mux_object_shown_by(guard), out, kept);
    }
    reader_leave(entry);
    session_cache_unref(entry);
    return judged;
}

/* ------------------------------------------------------------ writers */

/* Every forget moves the epoch first (see the top of this file). */
static void
forgetting(P11muxPolicyCache *cache)
{
    g_atomic_int_inc(&cache->forgotten);
}

gboolean
p11mux_policy_cache_put(P11muxPolicyCache *cache, CK_SESSION_HANDLE session, const P11muxSlot *slot,
                        CK_OBJECT_HANDLE object, P11muxObjectInfo *info, guint epoch)
{
    SessionCache *entry;
    gboolean stored = FALSE;

    if (p11mux_policy_cache_epoch(cache) != epoch) {
        return FALSE;
    }
    entry = session_ref_or_new(cache, session, slot, &epoch);
    if (entry == NULL) {
        return FALSE;
    }
    g_mutex_lock(&entry->lock);
    /* checked again under the lock: a forget moves the epoch before it
     * takes the lock, so either it is seen here or it comes after */
    if (p11mux_policy_cache_epoch(cache) == epoch) {
        if (g_hash_table_size(entry->objects) >= MAX_OBJECTS_PER_SESSION) {
            g_hash_table_remove_all(entry->objects);
            verdicts_rebuild(entry);
        }
        g_hash_table_replace(entry->objects, HANDLE_KEY(object), p11mux_object_info_ref(info));
        verdict_put(entry, object, p11mux_object_info_flags(info));
        stored = TRUE;
    }
    g_mutex_unlock(&entry->lock);
    session_cache_unref(entry);
    return stored;
}

/* Not known to be a token object: dropped, verdict and all. */
static gboolean
is_session_object(gpointer key, gpointer value, gpointer user_data)
{
    if (((const P11muxObjectInfo *)value)->token == 1) {
        return FALSE;
    }
    verdict_forget(user_data, (CK_OBJECT_HANDLE)GPOINTER_TO_SIZE(key));
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

    forgetting(cache);
    g_rw_lock_reader_lock(&cache->lock);
    g_hash_table_iter_init(&iter, cache->sessions);
    while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&entry)) {
        if (entry->slot->backend != backend) {
            continue;
        }
        g_mutex_lock(&entry->lock);
        if (what == FORGET_ONE) {
            g_hash_table_remove(entry->objects, HANDLE_KEY(object));
            verdict_forget(entry, object);
        } else {
            g_hash_table_foreach_remove(entry->objects, is_session_object, entry);
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
    forgetting(cache);
    g_rw_lock_writer_lock(&cache->lock);
    g_hash_table_remove(cache->sessions, HANDLE_KEY(session));
    g_rw_lock_writer_unlock(&cache->lock);
}

static gboolean
is_on_slot(G_GNUC_UNUSED gpointer key, gpointer value, gpointer user_data)
{
    return ((const SessionCache *)value)->slot == user_data;
}

void
p11mux_policy_cache_forget_slot(P11muxPolicyCache *cache, const P11muxSlot *slot)
{
    forgetting(cache);
    g_rw_lock_writer_lock(&cache->lock);
    g_hash_table_foreach_remove(cache->sessions, is_on_slot, (gpointer)slot);
    g_rw_lock_writer_unlock(&cache->lock);
}

/* ------------------------------------------------------------ find guard */

void
p11mux_policy_cache_set_find_guard(P11muxPolicyCache *cache, CK_SESSION_HANDLE session,
                                   const P11muxSlot *slot, gboolean on)
{
    SessionCache *entry = session_ref_or_new(cache, session, slot, NULL);

    g_mutex_lock(&entry->lock);
    entry->find_guard = on;
    g_mutex_unlock(&entry->lock);
    session_cache_unref(entry);
}

gboolean
p11mux_policy_cache_find_guard(P11muxPolicyCache *cache, CK_SESSION_HANDLE session)
{
    SessionCache *entry = session_ref(cache, session);
    gboolean on = FALSE;

    if (entry != NULL) {
        g_mutex_lock(&entry->lock);
        on = entry->find_guard;
        g_mutex_unlock(&entry->lock);
        session_cache_unref(entry);
    }
    return on;
}

/* ------------------------------------------------------------ tests */

gsize
p11mux_policy_cache_retired_tables(P11muxPolicyCache *cache, CK_SESSION_HANDLE session)
{
    SessionCache *entry = session_ref(cache, session);
    gsize n = 0;

    if (entry != NULL) {
        g_mutex_lock(&entry->lock);
        for (const VerdictTable *t = entry->retired; t != NULL; t = t->next) {
            n++;
        }
        g_mutex_unlock(&entry->lock);
        session_cache_unref(entry);
    }
    return n;
}
