/*
 * Token visibility: what p11mux last read about a slot's token, and whether
 * the slot's policy lets the application see it.
 *
 * The state of a slot is an immutable P11muxSlotState published in
 * P11muxSlot.policy with an atomic store; readers take it with one atomic
 * load.  It is read afresh for C_GetSlotList, C_OpenSession, C_InitToken,
 * slot events and C_GetTokenInfo (whose answer is checked again), so that a
 * token swapped in a slot is judged as it is now.  Replaced states stay
 * allocated until the engine is freed (a reader may still hold one); a state
 * equal to the published one is not published again.
 */
#include "config.h"

#include <string.h>

#include "policy-private.h"

void
p11mux_policy_slot_place(P11muxPolicyEngine *engine, const P11muxSlot *slot,
                         const P11muxSlotState *state, P11muxUriPlace *place)
{
    memset(place, 0, sizeof *place);
    place->slot_id = slot->id;
    if (slot->backend->index < engine->n_backends) {
        place->module = &engine->modules[slot->backend->index];
    }
    if (state != NULL && state->has_slot) {
        place->slot = &state->slot;
    }
    if (state != NULL && state->has_token) {
        place->token = &state->token;
    }
}

/* P11muxSlot.policy, written with atomic stores (slots are allocated
 * writable by the slot map; the map hands them out const). */
static gpointer *
state_field(const P11muxSlot *slot)
{
    return (gpointer *)&((P11muxSlot *)slot)->policy;
}

/* C_GetSlotInfo or C_GetTokenInfo of slot, asked of the adapter. */
static gboolean
ask_info(P11muxPolicyEngine *engine, const P11muxSlot *slot, P11muxFunctionId fn, gpointer info)
{
    CK_SLOT_ID id = slot->id;
    void *args[] = {&id, &info};

    return engine->ask_slot(engine->pipeline, slot, fn, args) == CKR_OK;
}

/* A new state (transfer full): what the backend says now. */
static P11muxSlotState *
read_state(P11muxPolicyEngine *engine, const P11muxPolicy *policy, const P11muxSlot *slot)
{
    P11muxSlotState *state = g_new0(P11muxSlotState, 1);
    P11muxUriPlace place;

    state->has_slot = ask_info(engine, slot, P11MUX_FN_C_GetSlotInfo, &state->slot);
    state->has_token = state->has_slot && (state->slot.flags & CKF_TOKEN_PRESENT) &&
                       ask_info(engine, slot, P11MUX_FN_C_GetTokenInfo, &state->token);
    p11mux_policy_slot_place(engine, slot, state, &place);
    /* where tokens are filtered, a slot the backend cannot describe is not
     * shown, and an empty slot is (the rules judge tokens) */
    state->visible = !policy->has_token_rules ||
                     (state->has_slot &&
                      (!state->has_token || p11mux_uri_rules_allow_token(&policy->tokens, &place)));
    return state;
}

static gboolean
same_state(const P11muxSlotState *a, const P11muxSlotState *b)
{
    return a != NULL && b != NULL && a->visible == b->visible && a->has_slot == b->has_slot &&
           a->has_token == b->has_token && memcmp(&a->slot, &b->slot, sizeof a->slot) == 0 &&
           memcmp(&a->token, &b->token, sizeof a->token) == 0;
}

/* Publish state in slot unless it says what the published one says. */
static const P11muxSlotState *
publish(P11muxPolicyEngine *engine, const P11muxSlot *slot, P11muxSlotState *state)
{
    gpointer *field = state_field(slot);
    const P11muxSlotState *current;

    g_mutex_lock(&engine->states_lock);
    current = g_atomic_pointer_get(field);
    if (same_state(current, state)) {
        g_free(state);
    } else {
        g_ptr_array_add(engine->states, state);
        g_atomic_pointer_set(field, state);
        current = state;
    }
    g_mutex_unlock(&engine->states_lock);
    return current;
}

const P11muxSlotState *
p11mux_policy_slot_state(P11muxPolicyEngine *engine, const P11muxPolicy *policy,
                         const P11muxSlot *slot, gboolean refresh)
{
    const P11muxSlotState *state = g_atomic_pointer_get(state_field(slot));

    if (state != NULL && !refresh) {
        return state;
    }
    return publish(engine, slot, read_state(engine, policy, slot));
}

gboolean
p11mux_policy_allows_slot(P11muxPolicyEngine *engine, const P11muxSlot *slot)
{
    const P11muxPolicy *policy;

    if (engine == NULL || slot == NULL) {
        return TRUE;
    }
    policy = p11mux_policy_of_backend(engine, slot->backend);
    if (policy == NULL || !policy->has_token_rules) {
        return TRUE;
    }
    return p11mux_policy_slot_state(engine, policy, slot, TRUE)->visible;
}
