/*
 * Router construction and the slot list.
 */
#include "config.h"

#include "router.h"
#include "group.h"
#include "p11kit-import.h"
#include "policy-adapter.h"
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

    if (backend->one_slot) {
        CK_SLOT_INFO info;

        if (!token_present ||
            (p11mux_backend_get_slot_info(backend, backend->own_slot, &info) == CKR_OK &&
             (info.flags & CKF_TOKEN_PRESENT))) {
            g_ptr_array_add(
                slots, (gpointer)p11mux_slotmap_intern(router->slots, backend, backend->own_slot));
        }
        return CKR_OK;
    }
    for (;;) {
        rv = p11mux_backend_get_slot_list(backend, token_present, NULL, &count);
        if (rv != CKR_OK || count == 0) {
            break;
        }
        g_free(ids);
        ids = g_try_new(CK_SLOT_ID, count);
        if (ids == NULL) {
            return CKR_HOST_MEMORY;
        }
        rv = p11mux_backend_get_slot_list(backend, token_present, ids, &count);
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

/* The default deadline of a backend's loading and C_Initialize, where the
 * configuration gives none (p11mux.conf(5), init-timeout). */
#define INIT_TIMEOUT_DEFAULT_US (10 * G_USEC_PER_SEC)

static gint64
init_timeout(const P11muxConf *conf, const P11muxConfBackend *cb)
{
    if (cb->init_timeout_us > 0) {
        return cb->init_timeout_us;
    }
    return conf->init_timeout_us > 0 ? conf->init_timeout_us : INIT_TIMEOUT_DEFAULT_US;
}

/* The trace record of a backend's outcome (no trace: nothing). */
static void
trace_outcome(P11muxRouter *router, const P11muxBackend *backend, const char *outcome,
              const char *message)
{
    P11muxTraceEvent event = {.event = "backend",
                              .function = "C_Initialize",
                              .backend = backend->name,
                              .outcome = outcome,
                              .message = message,
                              .duration_us = backend->open_us};

    p11mux_trace_event(router->trace, &event);
}

static void
trace_loaded(P11muxRouter *router, const P11muxBackend *backend, guint slots)
{
    CK_VERSION version = p11mux_backend_version(backend);
    g_autofree char *message =
        g_strdup_printf("interface %u.%u, %u slots%s", version.major, version.minor, slots,
                        backend->shared ? ", initialised already by the application" : "");

    trace_outcome(router, backend, "loaded", message);
}

/* The outcome of one opening: loaded (its slots get their ids now) or
 * skipped (reported; a critical one fails the whole). */
static gboolean
finish_backend(P11muxRouter *router, P11muxBackend *backend, P11muxBackendOpening *opening,
               gint64 deadline, void (*report)(const char *message), GError **error)
{
    GArray *slots = NULL;
    GError *local = NULL;
    guint i;

    if (p11mux_backend_open_finish(opening, deadline, &slots, &local)) {
        g_ptr_array_add(router->backends, backend);
        for (i = 0; i < slots->len; i++) {
            (void)p11mux_slotmap_intern(router->slots, backend,
                                        g_array_index(slots, CK_SLOT_ID, i));
        }
        trace_loaded(router, backend, slots->len);
        g_array_unref(slots);
        return TRUE;
    }
    trace_outcome(router, backend, backend->timed_out ? "timed-out" : "skipped", local->message);
    g_ptr_array_add(router->skipped, backend);
    if (backend->critical) {
        if (error != NULL && *error == NULL) {
            g_propagate_prefixed_error(error, local, "critical ");
        } else {
            g_error_free(local);
        }
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

/* The function lists of the `remote:` registrations conf imported as
 * backends (p11kit-import.h), by backend name (transfer full); NULL when
 * there are none, or with *why (transfer full) when p11-kit cannot give
 * them. */
static GHashTable *
remote_lists(const P11muxConf *conf, char **why)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    GHashTable *lists;

    for (guint i = 0; i < conf->backends->len; i++) {
        const P11muxConfBackend *cb = g_ptr_array_index(conf->backends, i);

        if (cb->enabled && cb->remote != NULL) {
            g_ptr_array_add(names, cb->name);
        }
    }
    if (names->len == 0) {
        return NULL;
    }
    g_ptr_array_add(names, NULL);
    lists = p11mux_p11kit_remote_load((const char *const *)names->pdata, &error);
    if (lists == NULL) {
        *why = g_strdup(error->message);
    }
    return lists;
}

/* The backend of cb: a library to load, or the list p11-kit's managed
 * loader gave for a `remote:` registration (taken from remotes). */
static P11muxBackend *
backend_new(const P11muxConfBackend *cb, GHashTable *remotes, const char *why)
{
    g_autofree char *where = NULL;
    gpointer key = NULL, list = NULL;

    if (cb->remote == NULL) {
        return p11mux_backend_new(cb->name, cb->module, cb->init_reserved, cb->critical);
    }
    where = g_strdup_printf("remote: %s", cb->remote);
    if (remotes != NULL && g_hash_table_steal_extended(remotes, cb->name, &key, &list)) {
        g_free(key);
    }
    return p11mux_backend_new_given(
        cb->name, where, list, p11mux_p11kit_remote_release, cb->critical,
        why != NULL ? why
                    : "p11-kit's managed loader hands out no `remote:` registration of that name");
}

/*
 * Every enabled backend is opened at once, each in a thread of its own
 * (inline, one after the other, when the application forbids threads), and
 * waited for until its own deadline; all are waited for (or abandoned)
 * before a critical failure is reported.
 */
static gboolean
open_backends(P11muxRouter *router, CK_FUNCTION_LIST_PTR self, gboolean threads,
              void (*report)(const char *message), GError **error)
{
    const P11muxConf *conf = router->conf;
    g_autoptr(GPtrArray) openings = g_ptr_array_new();
    g_autoptr(GPtrArray) backends = g_ptr_array_new();
    g_autoptr(GArray) deadlines = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autofree char *why = NULL;
    g_autoptr(GHashTable) remotes = remote_lists(conf, &why);
    gboolean ok = TRUE;
    guint i;

    for (i = 0; i < conf->backends->len; i++) {
        const P11muxConfBackend *cb = g_ptr_array_index(conf->backends, i);
        P11muxBackend *backend;
        gint64 deadline;

        if (!cb->enabled) {
            continue;
        }
        backend = backend_new(cb, remotes, why);
        backend->index = backends->len;
        deadline = g_get_monotonic_time() + init_timeout(conf, cb);
        g_ptr_array_add(backends, backend);
        g_array_append_val(deadlines, deadline);
        g_ptr_array_add(openings, p11mux_backend_open_start(backend, self, threads));
    }
    for (i = 0; i < openings->len; i++) {
        ok &= finish_backend(router, g_ptr_array_index(backends, i), g_ptr_array_index(openings, i),
                             g_array_index(deadlines, gint64, i), report, error);
    }
    return ok;
}

P11muxRouter *
p11mux_router_new(P11muxConf *conf, CK_FUNCTION_LIST_PTR self, void (*report)(const char *message),
                  GError **error)
{
    return p11mux_router_new_full(conf, self, TRUE, report, error);
}

P11muxRouter *
p11mux_router_new_full(P11muxConf *conf, CK_FUNCTION_LIST_PTR self, gboolean threads,
                       void (*report)(const char *message), GError **error)
{
    P11muxRouter *router = g_new0(P11muxRouter, 1);

    router->conf = conf;
    router->cant_create_threads = !threads;
    router->report = report;
    router->backends = g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_backend_free);
    router->skipped = g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_backend_free);
    router->slots = p11mux_slotmap_new();
    router->sessions = p11mux_sessions_new();
    /* the trace first, so that each backend's outcome and whatever fails
     * C_Initialize are in it; the policies compiled (and so checked) before
     * any backend is opened, and attached to the backends that loaded.
     * Both attach their seams (router->check, after, end) before the router
     * is published */
    if (!p11mux_trace_attach(router, error)) {
        p11mux_router_free(router);
        return NULL;
    }
    router->policies = p11mux_policy_set_new(conf, error);
    /* the HA groups over the loaded backends, before the policy: their
     * virtual backend gets the policy of any backend */
    if (router->policies == NULL || !open_backends(router, self, threads, report, error) ||
        !p11mux_groups_attach(router, error)) {
        P11muxTraceEvent event = {.event = "init-error",
                                  .function = "C_Initialize",
                                  .message =
                                      error != NULL && *error != NULL ? (*error)->message : NULL,
                                  .duration_us = -1};

        p11mux_trace_event(router->trace, &event);
        p11mux_router_free(router);
        return NULL;
    }
    p11mux_adapter_attach(router);
    return router;
}

void
p11mux_router_free(P11muxRouter *router)
{
    if (router == NULL) {
        return;
    }
    /* the groups first (their probes and member sessions), then the
     * backends: their C_Finalize closes every backend session */
    p11mux_groups_detach(router);
    g_ptr_array_unref(router->backends);
    g_ptr_array_unref(router->skipped);
    p11mux_sessions_free(router->sessions);
    p11mux_adapter_detach(router);
    p11mux_policy_set_free(router->policies);
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
    /* a slot whose token the policy hides, or an HA group's member, is not listed */
    for (i = list->len; i-- > 0;) {
        const P11muxSlot *slot = g_ptr_array_index(list, i);

        if (slot->hidden || !p11mux_policy_allows_slot(router->policy, slot)) {
            g_ptr_array_remove_index(list, i);
        }
    }
    *slots = list;
    return CKR_OK;
}
