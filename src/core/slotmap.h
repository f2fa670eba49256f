/*
 * The unified slot space: p11mux slot ids and the (backend, backend slot)
 * each stands for.
 *
 * An id is derived from the backend's configured name and its own slot id
 * (FNV-1a, 31 bits, never 0), so it is the same in every process and across
 * restarts for the same configuration; a collision takes the next hash
 * round.  Slots are never removed before the map is freed: a slot that
 * disappears keeps its id, and the backend answers for it.
 *
 * Lookups are lock-free; adding a slot takes the map's mutex.
 */
#ifndef P11MUX_SLOTMAP_H
#define P11MUX_SLOTMAP_H

#include <glib.h>

#include "backend.h"
#include "p11mux-pkcs11.h"

typedef struct {
    CK_SLOT_ID id;          /* p11mux's id, below 2^31 */
    CK_SLOT_ID real;        /* the backend's id */
    P11muxBackend *backend; /* transfer none */
    gconstpointer policy;   /* nullable: the policy that applies (policy engine) */
    gboolean hidden;        /* an HA group's member token: not listed, not routed to */
} P11muxSlot;

typedef struct P11muxSlotMap P11muxSlotMap;

P11muxSlotMap *p11mux_slotmap_new(void);
void p11mux_slotmap_free(P11muxSlotMap *map);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxSlotMap, p11mux_slotmap_free)

/* nullable, transfer none; lock-free */
const P11muxSlot *p11mux_slotmap_lookup(P11muxSlotMap *map, CK_SLOT_ID id);

/* The slot for (backend, real), added on first sight.  transfer none; NULL only on out of memory.
 */
const P11muxSlot *p11mux_slotmap_intern(P11muxSlotMap *map, P11muxBackend *backend,
                                        CK_SLOT_ID real);

/* Keep (backend, real) out of the slot list and routing (an HA group's
 * member token, src/group/group.c); before the router is published. */
void p11mux_slotmap_hide(P11muxSlotMap *map, P11muxBackend *backend, CK_SLOT_ID real);

/* The stable id of round `attempt` (0 first) for a backend name and backend slot id. */
CK_SLOT_ID p11mux_slotmap_hash_id(const char *backend_name, CK_SLOT_ID real, guint attempt);

/* Every slot in the order added; transfer container (free with g_ptr_array_unref). */
GPtrArray *p11mux_slotmap_list(P11muxSlotMap *map);

#endif /* P11MUX_SLOTMAP_H */
