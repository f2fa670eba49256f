/*
 * Life cycle: C_Initialize, C_Finalize, C_GetInfo, the function lists and
 * interfaces, and fork.
 *
 * Lock order: init_lock is taken only here, around building or tearing down
 * the router; backends' C_Initialize/C_Finalize run under it,
 * and so does C_Finalize's wait for the calls in flight (src/core/call.c), which
 * never take it.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <syslog.h>

#include "call.h"
#include "conf.h"
#include "constants.h"
#include "group.h"
#include "module.h"
#include "p11kit-import.h"
#include "p11mux-functions.h"
#include "probe.h"
#include "router.h"

static GMutex init_lock;

/* Newest first: C_GetInterface without a version gives the first. */
static CK_INTERFACE interfaces[] = {
    {(CK_CHAR *)"PKCS 11", &p11mux_function_list_3_2, 0},
    {(CK_CHAR *)"PKCS 11", &p11mux_function_list_3_0, 0},
    {(CK_CHAR *)"PKCS 11", &p11mux_function_list, 0},
};

void
p11mux_module_report(const char *message)
{
    g_printerr("p11mux: %s\n", message);
    syslog(LOG_USER | LOG_ERR, "p11mux: %s", message);
}

/* The longest pReserved string read, its NUL included. */
#define RESERVED_BOUND 4096

/*
 * The value of config=PATH in a pReserved string; other words are left to
 * others.  pReserved is the application's pointer to anything: it is read
 * only if the kernel finds it readable and NUL-terminated within
 * RESERVED_BOUND bytes (src/core/probe.h), else CKR_ARGUMENTS_BAD.
 */
static CK_RV
parse_reserved(const void *reserved, char **config_path)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) words = NULL;
    guint i;

    if (reserved == NULL) {
        return CKR_OK;
    }
    text = p11mux_probe_string_dup(reserved, RESERVED_BOUND);
    if (text == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    words = g_strsplit_set(text, " \t\n", -1);
    for (i = 0; words[i] != NULL; i++) {
        if (g_str_has_prefix(words[i], "config=")) {
            if (words[i][strlen("config=")] == '\0' || *config_path != NULL) {
                return CKR_ARGUMENTS_BAD;
            }
            *config_path = g_strdup(words[i] + strlen("config="));
        }
    }
    return CKR_OK;
}

/* pInitArgs is read from a copy the kernel made (src/core/probe.h): a pointer
 * to nothing readable is CKR_ARGUMENTS_BAD, not a crash. */
static CK_RV
parse_init_args(CK_VOID_PTR pInitArgs, char **config_path, gboolean *cant_threads)
{
    CK_C_INITIALIZE_ARGS copy;
    CK_C_INITIALIZE_ARGS_PTR args = &copy;
    gboolean some, all;

    if (pInitArgs == NULL) {
        return CKR_OK;
    }
    if (!p11mux_probe_copy(pInitArgs, sizeof copy, &copy)) {
        return CKR_ARGUMENTS_BAD;
    }
    some = args->CreateMutex != NULL || args->DestroyMutex != NULL || args->LockMutex != NULL ||
           args->UnlockMutex != NULL;
    all = args->CreateMutex != NULL && args->DestroyMutex != NULL && args->LockMutex != NULL &&
          args->UnlockMutex != NULL;
    if (some && !all) {
        return CKR_ARGUMENTS_BAD;
    }
    /* p11mux locks with the OS primitives only */
    if (all && !(args->flags & CKF_OS_LOCKING_OK)) {
        return CKR_CANT_LOCK;
    }
    *cant_threads = (args->flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS) != 0;
    return parse_reserved(args->pReserved, config_path);
}

static CK_RV
build_router(const char *config_path, gboolean cant_threads)
{
    g_autoptr(P11muxConfPaths) paths = p11mux_conf_paths_new_default();
    g_autoptr(GError) error = NULL;
    P11muxConf *conf;
    P11muxRouter *router;

    /* P11MUX_CONF, set by whoever started the process, wins over config=PATH
     * in C_Initialize's arguments, which a remote client may control (a
     * p11-kit server that forwards pReserved to its provider) */
    if (config_path != NULL && paths->extra_file == NULL) {
        paths->extra_file = config_path;
    }
    conf = p11mux_conf_load(paths, &error);
    if (conf == NULL) {
        p11mux_module_report(error->message);
        return CKR_GENERAL_ERROR;
    }
    if (!p11mux_p11kit_import(conf, p11mux_module_report, &error)) {
        p11mux_module_report(error->message);
        p11mux_conf_free(conf);
        return CKR_GENERAL_ERROR;
    }
    router = p11mux_router_new_full(conf, &p11mux_function_list, !cant_threads,
                                    p11mux_module_report, &error);
    if (router == NULL) {
        p11mux_module_report(error->message);
        return CKR_GENERAL_ERROR;
    }
    p11mux_call_publish(router);
    return CKR_OK;
}

/* The parent's router, in a child after fork(); and every such router once
 * its backends were reset, kept (never freed) for the life of the child. */
static P11muxRouter *forked_router;
static GSList *inherited_routers;

/* In a child after fork(): unpublish the parent's router without touching
 * it; the application must call C_Initialize again. */
static void
forget_after_fork(void)
{
    P11muxRouter *router = g_atomic_pointer_get(&p11mux_router_current);

    p11mux_call_publish(NULL);
    if (router != NULL) {
        forked_router = router;
    }
    p11mux_groups_after_fork(); /* the retained PIN wiped, the groups forgotten */
    /* calls other threads were in when the parent forked never end here */
    p11mux_call_forget_other_threads();
}

/*
 * Called by C_Initialize in a child: finalise, in the child, each backend
 * the parent had initialised, so that its C_Initialize starts afresh
 * (SoftHSM2 would otherwise answer CKR_CRYPTOKI_ALREADY_INITIALIZED with the
 * parent's state).  The parent's router itself is leaked: it may hold locks
 * taken by threads that do not exist in the child; it stays reachable
 * from inherited_routers.
 */
static void
reset_after_fork(void)
{
    guint i;

    if (forked_router == NULL) {
        return;
    }
    for (i = 0; i < forked_router->backends->len; i++) {
        P11muxBackend *backend = g_ptr_array_index(forked_router->backends, i);

        if (backend->initialized) {
            p11mux_backend_finalize(backend);
        }
        p11mux_backend_forget(backend);
    }
    /* the skipped ones give their libraries back too (one abandoned in the
     * parent stays stranded: src/core/backend.c) */
    for (i = 0; i < forked_router->skipped->len; i++) {
        p11mux_backend_forget(g_ptr_array_index(forked_router->skipped, i));
    }
    inherited_routers = g_slist_prepend(inherited_routers, forked_router);
    forked_router = NULL;
}

static void
register_fork_handler(void)
{
    static gsize once = 0;

    if (g_once_init_enter(&once)) {
        pthread_atfork(NULL, NULL, forget_after_fork);
        g_once_init_leave(&once, 1);
    }
}

CK_RV
p11mux_fwd_C_Initialize(CK_VOID_PTR pInitArgs)
{
    g_autofree char *config_path = NULL;
    gboolean cant_threads = FALSE;
    P11muxCall call;
    void *args[] = {&pInitArgs};
    CK_RV rv;

    gint64 started = g_get_monotonic_time();

    register_fork_handler();
    rv = parse_init_args(pInitArgs, &config_path, &cant_threads);
    g_mutex_lock(&init_lock);
    if (rv == CKR_OK && p11mux_router_peek() != NULL) {
        rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
    } else if (rv == CKR_OK) {
        reset_after_fork();
        rv = build_router(config_path, cant_threads);
    }
    g_mutex_unlock(&init_lock);
    /* the router (and so the trace) exists only now: time the whole call */
    p11mux_call_begin(&call, P11MUX_FN_C_Initialize, args);
    call.started = started;
    return p11mux_call_end(&call, rv);
}

CK_RV
p11mux_fwd_C_Finalize(CK_VOID_PTR pReserved)
{
    P11muxCall call;
    void *args[] = {&pReserved};
    CK_RV rv = p11mux_call_begin(&call, P11MUX_FN_C_Finalize, args);
    P11muxRouter *router = NULL;

    if (rv != CKR_OK) {
        return p11mux_call_end(&call, rv);
    }
    g_mutex_lock(&init_lock);
    router = p11mux_router_peek();
    p11mux_call_publish(NULL);
    rv = router == NULL ? CKR_CRYPTOKI_NOT_INITIALIZED : CKR_OK;
    /* this call's trace record, while the router is still whole */
    rv = p11mux_call_end(&call, rv);
    if (router != NULL) {
        /* calls already in flight (slot-event waiters among them, who notice
         * within one poll) finish on the router before it goes; later ones
         * see CKR_CRYPTOKI_NOT_INITIALIZED.  Under init_lock: a C_Initialize
         * from another thread starts only when the backends are finalised. */
        p11mux_call_drain();
        p11mux_router_free(router);
    }
    g_mutex_unlock(&init_lock);
    return rv;
}

static CK_RV
get_info(CK_INFO_PTR pInfo, CK_BYTE major, CK_BYTE minor)
{
    P11muxCall call;
    void *args[] = {&pInfo};
    CK_RV rv = p11mux_call_begin(&call, P11MUX_FN_C_GetInfo, args);

    if (rv == CKR_OK) {
        memset(pInfo, 0, sizeof(*pInfo));
        pInfo->cryptokiVersion.major = major;
        pInfo->cryptokiVersion.minor = minor;
        p11mux_pad_text(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "p11mux");
        p11mux_pad_text(pInfo->libraryDescription, sizeof(pInfo->libraryDescription), "p11mux PKCS #11 router");
        pInfo->libraryVersion.major = P11MUX_VERSION_MAJOR;
        pInfo->libraryVersion.minor = P11MUX_VERSION_MINOR;
    }
    return p11mux_call_end(&call, rv);
}

CK_RV
p11mux_fwd_C_GetInfo(CK_INFO_PTR pInfo)
{
    return get_info(pInfo, 2, 40);
}

CK_RV
p11mux_fwd_C_GetInfo_3_0(CK_INFO_PTR pInfo)
{
    return get_info(pInfo, 3, 0);
}

CK_RV
p11mux_fwd_C_GetInfo_3_2(CK_INFO_PTR pInfo)
{
    return get_info(pInfo, 3, 2);
}

CK_RV
p11mux_fwd_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    if (p11mux_args_check_C_GetFunctionList(ppFunctionList) != CKR_OK) {
        return CKR_ARGUMENTS_BAD;
    }
    *ppFunctionList = &p11mux_function_list;
    return CKR_OK;
}

CK_RV
p11mux_fwd_C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    CK_ULONG n = G_N_ELEMENTS(interfaces);

    if (p11mux_args_check_C_GetInterfaceList(pInterfacesList, pulCount) != CKR_OK) {
        return CKR_ARGUMENTS_BAD;
    }
    if (pInterfacesList == NULL) {
        *pulCount = n;
        return CKR_OK;
    }
    if (*pulCount < n) {
        *pulCount = n;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(pInterfacesList, interfaces, sizeof(interfaces));
    *pulCount = n;
    return CKR_OK;
}

static gboolean
interface_matches(const CK_INTERFACE *interface, CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                  CK_FLAGS flags)
{
    const CK_VERSION *offered = interface->pFunctionList;

    if (name != NULL && strcmp((const char *)name, (const char *)interface->pInterfaceName) != 0) {
        return FALSE;
    }
    if (version != NULL && (version->major != offered->major || version->minor != offered->minor)) {
        return FALSE;
    }
    return (interface->flags & flags) == flags;
}

CK_RV
p11mux_fwd_C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                          CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    guint i;

    if (p11mux_args_check_C_GetInterface(pInterfaceName, pVersion, ppInterface, flags) != CKR_OK) {
        return CKR_ARGUMENTS_BAD;
    }
    for (i = 0; i < G_N_ELEMENTS(interfaces); i++) {
        if (interface_matches(&interfaces[i], pInterfaceName, pVersion, flags)) {
            *ppInterface = &interfaces[i];
            return CKR_OK;
        }
    }
    return CKR_FUNCTION_FAILED;
}
