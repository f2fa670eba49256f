/*
 * Router construction and the slot list.
 */
#include "config.h"

#include "router.h"
#include "policy.h"
#include "trace.h"

P11muxRouter *p11mux_router_current = NULL;

/* One backend's slots, appended to slots. */
static CK_RV
backend_slot_list(P11muxRouter *router, P11muxBackend *backend, CK_BBOOL token_present,
                  GPtrArray *slots)
{
    CK_SLOT_ID *ids = NULL;
    CK_ULONG count = 0, i;
    CK_RV rv;

    for (;;) {
        rv = backend->functions->C_GetSlotList(token_present, NULL, &count);
        if (rv != CKR_OK || count == 0) {
            break;
        }
        g_free(ids);
        ids = g_try_new(CK_SLOT_ID, count);
        if (ids == NULL) {
            return CKR_HOST_MEMORY;
        }
        rv = backend->functions->C_GetSlotList(token_present, ids, &count);
        if (rv != CKR_BUFFER_TOO_SMALL) {
            break;
        }
    }
    for (i = 0; rv == CKR_OK && ids != NULL && i < count; i++) {
        g_ptr_array_add(slots, (gpointer)p11mux_slotmap_intern(router->slots, backend, ids[i]));
    }
    g_free(ids);
    return rv == CKR_HOST_MEMORY ? rv : CKR_OK;
}

static gboolean
open_backend(P11muxRouter *router, const P11muxConfBackend *cb, CK_FUNCTION_LIST_PTR self,
             void (*report)(const char *message), GError **error)
{
    P11muxBackend *backend =
        p11mux_backend_new(cb->name, cb->module, cb->init_reserved, cb->critical);
    GError *local = NULL;

    backend->index = router->backends->len + router->skipped->len;
    if (p11mux_backend_open(backend, self, &local)) {
        GPtrArray *slots = g_ptr_array_new();

        g_ptr_array_add(router->backends, backend);
        /* give every slot its id now; a failure here leaves them to C_GetSlotList */
        (void)backend_slot_list(router, backend, CK_FALSE, slots);
        g_ptr_array_unref(slots);
        return TRUE;
    }
    g_ptr_array_add(router->skipped, backend);
    if (cb->critical) {
        g_propagate_prefixed_error(error, local, "critical ");
        return FALSE;
    }
    if (report != NULL) {
        char *message = g_strdup_printf("%s; skipped", local->message);

        report(message);
        g_free(message);
    }
    g_error_free(local);
    return TRUE;
}

P11muxRouter *
p11mux_router_new(P11muxConf *conf, CK_FUNCTION_LIST_PTR self, void (*report)(const char *message),
                  GError **error)
{
    P11muxRouter *router = g_new0(P11muxRouter, 1);
    guint i;

    router->conf = conf;
    router->backends = g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_backend_free);
    router->skipped = g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_backend_free);
    router->slots = p11mux_slotmap_new();
    router->sessions = p11mux_sessions_new();
    for (i = 0; i < conf->backends->len; i++) {
        const P11muxConfBackend *cb = g_ptr_array_index(conf->backends, i);

        if (cb->enabled && !open_backend(router, cb, self, report, error)) {
            p11mux_router_free(router);
            return NULL;
        }
    }
    /* the policy engine and the trace attach their seams (router->check,
     * after, end) here, from the configuration, before the router is published */
    if (!p11mux_policy_attach(router, error) || !p11mux_trace_attach(router, error)) {
        p11mux_router_free(router);
        return NULL;
    }
    return router;
}

void
p11mux_router_free(P11muxRouter *router)
{
    if (router == NULL) {
        return;
    }
    /* backends first: their C_Finalize closes every backend session */
    g_ptr_array_unref(router->backends);
    g_ptr_array_unref(router->skipped);
    p11mux_sessions_free(router->sessions);
    p11mux_policy_detach(router);
    p11mux_slotmap_free(router->slots);
    p11mux_trace_detach(router);
    p11mux_conf_free(router->conf);
    g_free(router);
}

CK_RV
p11mux_router_slot_list(P11muxRouter *router, CK_BBOOL token_present, GPtrArray **slots)
{
    GPtrArray *list = g_ptr_array_new();
    CK_RV rv = CKR_OK;
    guint i;

    /* a backend whose C_GetSlotList fails shows no slots rather than hiding the others */
    for (i = 0; rv == CKR_OK && i < router->backends->len; i++) {
        rv = backend_slot_list(router, g_ptr_array_index(router->backends, i), token_present, list);
    }
    if (rv != CKR_OK) {
        g_ptr_array_unref(list);
        return rv;
    }
    /* a slot whose token the policy hides is not listed */
    for (i = list->len; i-- > 0;) {
        if (!p11mux_policy_allows_slot(router, g_ptr_array_index(list, i))) {
            g_ptr_array_remove_index(list, i);
        }
    }
    *slots = list;
    return CKR_OK;
}
