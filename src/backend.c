/*
 * Backend loading.  Libraries are opened RTLD_NOW | RTLD_LOCAL (never
 * RTLD_GLOBAL or RTLD_DEEPBIND) so that two vendor modules exporting the same
 * symbols cannot interfere.
 *
 * In AddressSanitizer builds they are also RTLD_NODELETE: a library that
 * p11mux unloads at C_Finalize stays mapped, so that LeakSanitizer can name
 * the library a leak reported at exit comes from (tests/lsan.supp names the
 * backends' own leaks; without the mapping every such frame is "<unknown
 * module>" and p11mux's own leaks could not be told apart).
 */
#include "config.h"

#include "backend.h"

#include <dlfcn.h>
#include <string.h>

#include "p11mux-functions.h"
#include <p11-kit/p11-kit.h>

G_DEFINE_QUARK(p11mux - backend - error - quark, p11mux_backend_error)

#if defined(__SANITIZE_ADDRESS__)
#define BACKEND_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BACKEND_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)
#endif
#endif
#ifndef BACKEND_DLOPEN_FLAGS
#define BACKEND_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL)
#endif

P11muxBackend *
p11mux_backend_new(const char *name, const char *path, const char *init_reserved, gboolean critical)
{
    P11muxBackend *backend = g_new0(P11muxBackend, 1);

    backend->name = g_strdup(name);
    backend->path = g_strdup(path);
    backend->init_reserved = g_strdup(init_reserved);
    backend->critical = critical;
    return backend;
}

void
p11mux_backend_free(P11muxBackend *backend)
{
    if (backend == NULL) {
        return;
    }
    p11mux_backend_close(backend);
    g_free(backend->name);
    g_free(backend->path);
    g_free(backend->init_reserved);
    g_free(backend->error);
    g_free(backend);
}

static gboolean fail(P11muxBackend *backend, GError **error, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
fail(P11muxBackend *backend, GError **error, const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    g_free(backend->error);
    backend->error = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_set_error(error, P11MUX_BACKEND_ERROR, 1, "backend '%s' (%s): %s", backend->name,
                backend->path, backend->error);
    if (backend->dl != NULL) {
        dlclose(backend->dl);
        backend->dl = NULL;
    }
    backend->functions = NULL;
    return FALSE;
}

/* The 3.0 way: C_GetInterface("PKCS 11"), taking whatever version is the
 * default; NULL if the module has none. */
static CK_FUNCTION_LIST_PTR
take_interface(P11muxBackend *backend)
{
    CK_C_GetInterface get_interface = (CK_C_GetInterface)dlsym(backend->dl, "C_GetInterface");
    CK_INTERFACE_PTR interface = NULL;

    if (get_interface == NULL) {
        return NULL;
    }
    /* never pass a NULL ppInterface: NSS softoken 3.87 crashes on it */
    if (get_interface((CK_UTF8CHAR_PTR) "PKCS 11", NULL, &interface, 0) != CKR_OK ||
        interface == NULL) {
        return NULL;
    }
    return interface->pFunctionList;
}

/* The backend's own list, from C_GetInterface (*is_3_0: it is a 3.0 one)
 * or else C_GetFunctionList (a 2.40 list, whatever version it says: a
 * module may well put 3.0 there and still give the 2.40 layout). */
static CK_FUNCTION_LIST_PTR
take_list(P11muxBackend *backend, gboolean *is_3_0)
{
    CK_C_GetFunctionList get_function_list;
    CK_FUNCTION_LIST_PTR list = take_interface(backend);

    *is_3_0 = list != NULL && list->version.major >= 3;
    if (list != NULL) {
        return list;
    }
    get_function_list = (CK_C_GetFunctionList)dlsym(backend->dl, "C_GetFunctionList");
    if (get_function_list == NULL || get_function_list(&list) != CKR_OK) {
        return NULL;
    }
    return list;
}

/*
 * The backend boundary: the backend's list is read here, once, into
 * backend->normalised, and never again.  A 3.0 list (version 3.x) is
 * read for the 3.0 entries it fills; a 2.40 one only as far as it goes.
 */
static gboolean
load_library(P11muxBackend *backend, CK_FUNCTION_LIST_PTR self, GError **error)
{
    CK_FUNCTION_LIST_PTR list;
    gboolean is_3_0;

    backend->dl = dlopen(backend->path, BACKEND_DLOPEN_FLAGS);
    if (backend->dl == NULL) {
        return fail(backend, error, "cannot load: %s", dlerror());
    }
    list = take_list(backend, &is_3_0);
    if (list == NULL) {
        if (dlsym(backend->dl, "C_GetFunctionList") == NULL) {
            return fail(backend, error, "not a PKCS #11 module: no C_GetFunctionList");
        }
        return fail(backend, error, "C_GetFunctionList failed");
    }
    /* either of p11mux's own lists (both start with its C_Initialize) */
    if (list == self || list->C_Initialize == self->C_Initialize) {
        return fail(backend, error, "this is p11mux itself; a backend cannot be p11mux");
    }
    if (list->C_Initialize == NULL || list->C_Finalize == NULL) {
        return fail(backend, error, "its function list has no C_Initialize or C_Finalize");
    }
    p11mux_functions_normalise(&backend->normalised, list, is_3_0);
    backend->functions = &backend->normalised;
    if (!is_3_0 && backend->normalised.version.major >= 3) {
        /* what the interface offered, for p11mux_backend_is_3_0 */
        backend->normalised.version = (CK_VERSION){2, 40};
    }
    return TRUE;
}

static gboolean
initialize(P11muxBackend *backend, GError **error)
{
    CK_C_INITIALIZE_ARGS args = {0};
    CK_RV rv;

    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = backend->init_reserved;
    rv = backend->functions->C_Initialize(&args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        backend->shared = TRUE;
        return TRUE;
    }
    if (rv != CKR_OK) {
        return fail(backend, error, "C_Initialize failed: %s (0x%lx)", p11_kit_strerror(rv),
                    (unsigned long)rv);
    }
    backend->initialized = TRUE;
    return TRUE;
}

gboolean
p11mux_backend_open(P11muxBackend *backend, CK_FUNCTION_LIST_PTR self, GError **error)
{
    g_return_val_if_fail(backend->dl == NULL, FALSE);

    if (!load_library(backend, self, error)) {
        return FALSE;
    }
    return initialize(backend, error);
}

/* Room for a list that grows between the two calls (a token inserted). */
#define MECHANISM_LIST_SLACK 64

CK_RV
p11mux_backend_mechanism_list(P11muxBackend *backend, CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list,
                              CK_ULONG_PTR count)
{
    g_autofree CK_MECHANISM_TYPE *own = NULL;
    CK_ULONG needed = 0, room;
    CK_RV rv;

    if (list == NULL) {
        return backend->functions->C_GetMechanismList(slot, NULL, count);
    }
    rv = backend->functions->C_GetMechanismList(slot, NULL, &needed);
    if (rv != CKR_OK) {
        return rv;
    }
    if (needed > *count) {
        *count = needed;
        return CKR_BUFFER_TOO_SMALL;
    }
    room = needed + MECHANISM_LIST_SLACK;
    own = g_try_new(CK_MECHANISM_TYPE, room);
    if (own == NULL) {
        return CKR_HOST_MEMORY;
    }
    needed = room;
    rv = backend->functions->C_GetMechanismList(slot, own, &needed);
    if (rv == CKR_OK && needed > *count) {
        rv = CKR_BUFFER_TOO_SMALL;
    }
    if (rv == CKR_OK) {
        memcpy(list, own, needed * sizeof *own);
    }
    if (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL) {
        *count = needed;
    }
    return rv;
}

void
p11mux_backend_close(P11muxBackend *backend)
{
    if (backend->initialized) {
        backend->functions->C_Finalize(NULL);
        backend->initialized = FALSE;
    }
    if (backend->dl != NULL) {
        dlclose(backend->dl);
        backend->dl = NULL;
    }
    backend->functions = NULL;
}

void
p11mux_backend_forget(P11muxBackend *backend)
{
    backend->initialized = FALSE;
    backend->dl = NULL;
    backend->functions = NULL;
}
