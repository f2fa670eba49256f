/*
 * Session table (the layout and the lock-free lookup are in sessions.h, so
 * that the lookup inlines into the forwarders).  Chunks are freed only with
 * the table, so a reader never touches freed memory.
 *
 * Lock order: sessions->lock is a leaf; no backend is called under it.
 */
#include "config.h"

#include "sessions.h"

#define CHUNK_BITS P11MUX_SESSIONS_CHUNK_BITS
#define CHUNK_SIZE P11MUX_SESSIONS_CHUNK_SIZE
#define N_CHUNKS P11MUX_SESSIONS_N_CHUNKS
#define GENERATION_MASK P11MUX_SESSIONS_GENERATION_MASK
#define FRESH_RESERVE 256 /* fresh entries used before any freed one is reused */

typedef P11muxSessionEntry Entry;

P11muxSessions *
p11mux_sessions_new(void)
{
    P11muxSessions *sessions = g_new0(P11muxSessions, 1);

    g_mutex_init(&sessions->lock);
    g_queue_init(&sessions->free_indices);
    sessions->next_fresh = 1;
    return sessions;
}

void
p11mux_sessions_free(P11muxSessions *sessions)
{
    guint i;

    if (sessions == NULL) {
        return;
    }
    for (i = 0; i < N_CHUNKS; i++) {
        g_free(sessions->chunks[i]);
    }
    g_queue_clear(&sessions->free_indices);
    g_mutex_clear(&sessions->lock);
    g_free(sessions);
}

static Entry *
entry_at(P11muxSessions *sessions, guint index)
{
    Entry *chunk = g_atomic_pointer_get(&sessions->chunks[index >> CHUNK_BITS]);

    return chunk == NULL ? NULL : &chunk[index & (CHUNK_SIZE - 1)];
}

/* Caller holds the lock.  0 when full. */
static guint
take_index(P11muxSessions *sessions)
{
    guint index;

    if (sessions->next_fresh > P11MUX_SESSIONS_MAX ||
        g_queue_get_length(&sessions->free_indices) > FRESH_RESERVE) {
        return GPOINTER_TO_UINT(g_queue_pop_head(&sessions->free_indices));
    }
    index = sessions->next_fresh;
    if (sessions->chunks[index >> CHUNK_BITS] == NULL) {
        Entry *chunk = g_try_new0(Entry, CHUNK_SIZE);

        if (chunk == NULL) {
            return 0;
        }
        g_atomic_pointer_set(&sessions->chunks[index >> CHUNK_BITS], chunk);
    }
    sessions->next_fresh++;
    return index;
}

static guint
next_generation(guint state)
{
    guint generation = ((state >> 1) + 1) & GENERATION_MASK;

    return generation == 0 ? 1 : generation;
}

CK_SESSION_HANDLE
p11mux_sessions_add(P11muxSessions *sessions, const P11muxSlot *slot, CK_SESSION_HANDLE real,
                    CK_FLAGS flags)
{
    CK_SESSION_HANDLE handle = 0;
    guint index, generation;
    Entry *entry;

    g_mutex_lock(&sessions->lock);
    index = take_index(sessions);
    if (index != 0) {
        entry = entry_at(sessions, index);
        generation = next_generation(entry->state);
        g_atomic_pointer_set(&entry->slot, (gpointer)slot);
        __atomic_store_n(&entry->real, real, __ATOMIC_RELEASE);
        __atomic_store_n(&entry->flags, flags, __ATOMIC_RELEASE);
        g_atomic_int_set(&entry->state, (generation << 1) | 1);
        sessions->live++;
        handle = ((CK_SESSION_HANDLE)generation << P11MUX_SESSIONS_INDEX_BITS) | index;
    }
    g_mutex_unlock(&sessions->lock);
    return handle;
}

static Entry *
entry_of(P11muxSessions *sessions, CK_SESSION_HANDLE handle, guint *want)
{
    guint index = handle & P11MUX_SESSIONS_MAX;
    CK_SESSION_HANDLE generation = handle >> P11MUX_SESSIONS_INDEX_BITS;

    if (index == 0 || generation == 0 || generation > GENERATION_MASK) {
        return NULL;
    }
    *want = ((guint)generation << 1) | 1;
    return entry_at(sessions, index);
}

gboolean
p11mux_sessions_remove(P11muxSessions *sessions, CK_SESSION_HANDLE handle)
{
    guint want;
    gboolean removed = FALSE;
    Entry *entry;

    g_mutex_lock(&sessions->lock);
    entry = entry_of(sessions, handle, &want);
    if (entry != NULL && entry->state == want) {
        g_atomic_int_set(&entry->state, next_generation(want) << 1);
        g_queue_push_tail(&sessions->free_indices,
                          GUINT_TO_POINTER((guint)(handle & P11MUX_SESSIONS_MAX)));
        sessions->live--;
        removed = TRUE;
    }
    g_mutex_unlock(&sessions->lock);
    return removed;
}

GArray *
p11mux_sessions_on_slot(P11muxSessions *sessions, const P11muxSlot *slot)
{
    GArray *handles = g_array_new(FALSE, FALSE, sizeof(CK_SESSION_HANDLE));
    guint index;

    g_mutex_lock(&sessions->lock);
    for (index = 1; index < sessions->next_fresh; index++) {
        Entry *entry = entry_at(sessions, index);

        if ((entry->state & 1) && (slot == NULL || entry->slot == slot)) {
            CK_SESSION_HANDLE handle =
                ((CK_SESSION_HANDLE)(entry->state >> 1) << P11MUX_SESSIONS_INDEX_BITS) | index;

            g_array_append_val(handles, handle);
        }
    }
    g_mutex_unlock(&sessions->lock);
    return handles;
}

guint
p11mux_sessions_count(P11muxSessions *sessions)
{
    guint live;

    g_mutex_lock(&sessions->lock);
    live = sessions->live;
    g_mutex_unlock(&sessions->lock);
    return live;
}
