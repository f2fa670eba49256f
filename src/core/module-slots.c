/*
 * The slot list and slot events.
 */
#include "config.h"

#include "call.h"
#include "module.h"
#include "policy.h"

CK_RV
p11mux_fwd_C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    P11muxCall call;
    void *args[] = {&tokenPresent, &pSlotList, &pulCount};
    CK_RV rv = p11mux_call_begin(&call, P11MUX_FN_C_GetSlotList, args);
    GPtrArray *slots = NULL;
    guint i;

    if (rv == CKR_OK) {
        rv = p11mux_router_slot_list(call.router, tokenPresent, &slots);
    }
    if (rv == CKR_OK && pSlotList != NULL && *pulCount < slots->len) {
        rv = CKR_BUFFER_TOO_SMALL;
    }
    if (rv == CKR_OK && pSlotList != NULL) {
        for (i = 0; i < slots->len; i++) {
            pSlotList[i] = ((const P11muxSlot *)g_ptr_array_index(slots, i))->id;
        }
    }
    if (slots != NULL) {
        *pulCount = slots->len;
        g_ptr_array_unref(slots);
    }
    return p11mux_call_end(&call, rv);
}

#define WAIT_POLL_MS 50

/* One round over every backend with CKF_DONT_BLOCK.  CKR_NO_EVENT when nothing
 * happened; CKR_FUNCTION_NOT_SUPPORTED when no backend can tell. */
static CK_RV
poll_backends(P11muxRouter *router, CK_SLOT_ID *slot)
{
    gboolean supported = FALSE;
    guint i;

    for (i = 0; i < router->backends->len; i++) {
        P11muxBackend *backend = g_ptr_array_index(router->backends, i);
        /* a one-slot virtual backend is asked about its own slot */
        CK_SLOT_ID real = backend->one_slot ? backend->own_slot : 0;
        CK_RV rv;

        rv = p11mux_backend_wait_for_slot_event(backend, CKF_DONT_BLOCK, &real);
        if (rv == CKR_OK) {
            const P11muxSlot *entry = p11mux_slotmap_intern(router->slots, backend, real);

            /* an event on a slot whose token the policy hides, or on an HA
             * group's member, is not reported */
            if (!entry->hidden && p11mux_policy_allows_slot(router->policy, entry)) {
                *slot = entry->id;
                return CKR_OK;
            }
            rv = CKR_NO_EVENT;
        }
        if (rv == CKR_NO_EVENT) {
            supported = TRUE;
        }
    }
    return supported ? CKR_NO_EVENT : CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV
wait_for_event(P11muxRouter *router, CK_FLAGS flags, CK_SLOT_ID_PTR pSlot)
{
    CK_RV rv;

    for (;;) {
        rv = poll_backends(router, pSlot);
        if (rv != CKR_NO_EVENT || (flags & CKF_DONT_BLOCK)) {
            return rv;
        }
        g_usleep(WAIT_POLL_MS * 1000);
        if (p11mux_router_peek() != router) {
            return CKR_CRYPTOKI_NOT_INITIALIZED;
        }
    }
}

/*
 * Waits on every backend at once by polling each with CKF_DONT_BLOCK, so that
 * no thread is created and no backend is left blocked; a C_Finalize from
 * another thread ends the wait with CKR_CRYPTOKI_NOT_INITIALIZED (it waits,
 * as for any call in flight, until this one has left the router).
 */
CK_RV
p11mux_fwd_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
    P11muxCall call;
    void *args[] = {&flags, &pSlot, &pReserved};
    CK_RV rv = p11mux_call_begin(&call, P11MUX_FN_C_WaitForSlotEvent, args);

    if (rv == CKR_OK) {
        rv = wait_for_event(call.router, flags, pSlot);
    }
    return p11mux_call_end(&call, rv);
}
