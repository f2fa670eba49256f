/*
 * The session table: p11mux's own session handles and the backend session
 * each stands for.
 *
 * A handle is (generation << 20) | index, below 2^32: index 0 is never used,
 * so 0 is never a handle; closing a session bumps its entry's generation, so
 * a stale handle is detected until the same entry has been reused 4095 times.
 * Freed entries are reused in FIFO order after a reserve of fresh ones.
 *
 * Lookup is lock-free (atomic loads, checked twice against the generation);
 * opening and closing take the table's mutex.
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

/* TRUE and the entry's values when handle is live.  Lock-free. */
gboolean p11mux_sessions_lookup(P11muxSessions *sessions, CK_SESSION_HANDLE handle,
                                const P11muxSlot **slot, CK_SESSION_HANDLE *real, CK_FLAGS *flags);

/* Invalidate handle; FALSE when it was not live. */
gboolean p11mux_sessions_remove(P11muxSessions *sessions, CK_SESSION_HANDLE handle);

/* The live handles on slot (NULL: all); transfer full (g_array_unref). */
GArray *p11mux_sessions_on_slot(P11muxSessions *sessions, const P11muxSlot *slot);

/* Live sessions. */
guint p11mux_sessions_count(P11muxSessions *sessions);

#endif /* P11MUX_SESSIONS_H */
