/*
 * The session table: p11mux's own session handles and the backend session
 * each stands for.
 *
 * A handle is (generation << 20) | index, below 2^32: index 0 is never used,
 * so 0 is never a handle; closing a session bumps its entry's generation, so
 * a stale handle is detected until the same entry has been reused 4095 times.
 *
 * Lookup is lock-free (atomic loads, checked twice against the generation)
 * and writes nothing.  Opening and closing do not serialise either: the
 * index space is split into shards (P11MUX_SESSIONS_N_SHARDS), each owning
 * every N_SHARDS-th chunk of entries, with a mutex, a count and a FIFO of
 * freed indices of its own on a cache line of its own.  A thread opens in
 * its home shard (threads get different ones, round robin; one that finds
 * its home busy moves on), so threads that open and close their own
 * sessions write no memory another thread writes, and their entries never
 * share a cache line.  Closing claims the entry with a compare-and-swap on
 * its state (one winner when several threads close the same handle) and
 * gives the index back to the shard that owns it.  A shard reuses freed
 * indices in FIFO order after a reserve of fresh ones.
 */
#ifndef P11MUX_SESSIONS_H
#define P11MUX_SESSIONS_H

#include <glib.h>

#include "p11mux-pkcs11.h"
#include "slotmap.h"

#define P11MUX_SESSIONS_INDEX_BITS 20
#define P11MUX_SESSIONS_MAX ((1u << P11MUX_SESSIONS_INDEX_BITS) - 1)

typedef struct P11muxSessions P11muxSessions;

P11muxSessions *p11mux_sessions_new(void);
void p11mux_sessions_free(P11muxSessions *sessions);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxSessions, p11mux_sessions_free)

/* A new handle for (slot, real); 0 when the table is full. */
CK_SESSION_HANDLE p11mux_sessions_add(P11muxSessions *sessions, const P11muxSlot *slot,
                                      CK_SESSION_HANDLE real, CK_FLAGS flags);

/*
 * The layout, here only so that the lookup below is inlined into every
 * forwarder (it is the hot path: tests/bench/README.md); nothing outside
 * sessions.c and the lookup touches it.  Entries live in chunks allocated on
 * demand by the shard that owns them (chunk c belongs to shard
 * c % P11MUX_SESSIONS_N_SHARDS) and published with an atomic store, freed
 * only with the table.  An entry's `state` is (generation << 1) | live.
 */
#define P11MUX_SESSIONS_CHUNK_BITS 10
#define P11MUX_SESSIONS_CHUNK_SIZE (1u << P11MUX_SESSIONS_CHUNK_BITS)
#define P11MUX_SESSIONS_N_CHUNKS (1u << (P11MUX_SESSIONS_INDEX_BITS - P11MUX_SESSIONS_CHUNK_BITS))
#define P11MUX_SESSIONS_GENERATION_MASK 0xfffu
#define P11MUX_SESSIONS_N_SHARDS 16u

typedef struct {
    guint state;            /* atomic */
    gpointer slot;          /* atomic: const P11muxSlot* */
    CK_SESSION_HANDLE real; /* atomic */
    CK_FLAGS flags;         /* atomic */
} P11muxSessionEntry;

typedef struct P11muxSessionsShard P11muxSessionsShard; /* sessions.c */

struct P11muxSessions {
    P11muxSessionEntry *chunks[P11MUX_SESSIONS_N_CHUNKS]; /* atomic pointers */
    P11muxSessionsShard *shards;                          /* [P11MUX_SESSIONS_N_SHARDS] */
};

/*
 * TRUE and the entry's values when handle is live.  Lock-free: load the
 * state, copy the fields, load the state again; equal and live means the
 * copy is consistent.  flags is nullable.
 */
G_ALWAYS_INLINE static inline gboolean
p11mux_sessions_lookup(P11muxSessions *sessions, CK_SESSION_HANDLE handle,
                       const P11muxSlot **slot, CK_SESSION_HANDLE *real, CK_FLAGS *flags)
{
    guint index = handle & P11MUX_SESSIONS_MAX;
    CK_SESSION_HANDLE generation = handle >> P11MUX_SESSIONS_INDEX_BITS;
    P11muxSessionEntry *chunk, *entry;
    guint want;

    if (index == 0 || generation == 0 || generation > P11MUX_SESSIONS_GENERATION_MASK) {
        return FALSE;
    }
    chunk = g_atomic_pointer_get(&sessions->chunks[index >> P11MUX_SESSIONS_CHUNK_BITS]);
    if (chunk == NULL) {
        return FALSE;
    }
    entry = &chunk[index & (P11MUX_SESSIONS_CHUNK_SIZE - 1)];
    want = ((guint)generation << 1) | 1;
    if ((guint)g_atomic_int_get(&entry->state) != want) {
        return FALSE;
    }
    *slot = g_atomic_pointer_get(&entry->slot);
    *real = __atomic_load_n(&entry->real, __ATOMIC_ACQUIRE);
    if (flags != NULL) {
        *flags = __atomic_load_n(&entry->flags, __ATOMIC_ACQUIRE);
    }
    return (guint)g_atomic_int_get(&entry->state) == want;
}

/* Invalidate handle; FALSE when it was not live (also when another thread
 * invalidated it first). */
gboolean p11mux_sessions_remove(P11muxSessions *sessions, CK_SESSION_HANDLE handle);

/* The live handles on slot (NULL: all); transfer full (g_array_unref). */
GArray *p11mux_sessions_on_slot(P11muxSessions *sessions, const P11muxSlot *slot);

/* Live sessions. */
guint p11mux_sessions_count(P11muxSessions *sessions);

#endif /* P11MUX_SESSIONS_H */
