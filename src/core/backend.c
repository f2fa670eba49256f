/*
 * Backend loading.  Libraries are opened RTLD_NOW | RTLD_LOCAL (never
 * RTLD_GLOBAL or RTLD_DEEPBIND) so that two vendor modules exporting the same
 * symbols cannot interfere.  A library is loaded once per process and never
 * unloaded (but one that is no PKCS #11 module): see "the libraries" below.
 *
 * Each backend is opened (loaded if need be, initialised, its slots listed)
 * in a thread of its own that C_Initialize waits for until the backend's
 * deadline (init-timeout); one that misses it is abandoned to its thread.
 *
 * In AddressSanitizer builds libraries are also RTLD_NODELETE, so that one
 * that is closed again (not a PKCS #11 module) stays mapped and
 * LeakSanitizer can name the library a leak reported at exit comes from.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>

#include "backend.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "conf.h"

#include "constants.h"
#include "p11mux-functions.h"

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

/* The file name p11-kit's RPC client module is installed under. */
#define P11KIT_CLIENT_FILE "p11-kit-client.so"

/* Whether path is p11-kit's RPC client, by the name given or the file it
 * resolves to. */
static gboolean
is_p11kit_client(const char *path)
{
    g_autofree char *given = NULL;
    g_autofree char *canonical = NULL;
    g_autofree char *resolved = NULL;

    if (path == NULL || path[0] == '\0') {
        return FALSE;
    }
    given = g_path_get_basename(path);
    canonical = p11mux_conf_canonical_path(path);
    resolved = g_path_get_basename(canonical);
    return g_str_equal(given, P11KIT_CLIENT_FILE) || g_str_equal(resolved, P11KIT_CLIENT_FILE);
}

P11muxBackend *
p11mux_backend_new(const char *name, const char *path, const char *init_reserved, gboolean critical)
{
    P11muxBackend *backend = g_new0(P11muxBackend, 1);

    backend->name = g_strdup(name);
    backend->path = g_strdup(path);
    backend->init_reserved = g_strdup(init_reserved);
    backend->critical = critical;
    backend->serial = is_p11kit_client(path);
    return backend;
}

void
p11mux_sigpipe_block(P11muxSigpipe *guard)
{
    sigset_t pipe, pending;

    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    guard->pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &guard->old);
}

void
p11mux_sigpipe_restore(P11muxSigpipe *guard)
{
    sigset_t pipe, pending;
    const struct timespec now = {0, 0};

    sigpending(&pending);
    if (!guard->pending && sigismember(&pending, SIGPIPE)) {
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        /* the call's own: taken off this thread before the mask opens */
        while (sigtimedwait(&pipe, NULL, &now) == -1 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &guard->old, NULL);
}

/* ------------------------------------------------------------ the gate */

struct P11muxBackendGate {
    GMutex lock;
    GCond changed;
    guint running;  /* calls inside */
    guint waiting;  /* threads waiting to enter: only then is changed signalled (GLib's
                     * GCond makes a system call at every broadcast) */
    gboolean alone; /* a re-initialisation inside, or waiting for the calls to leave */
    gint64 wait_us;
};

static void
gate_free(P11muxBackendGate *gate)
{
    if (gate != NULL) {
        g_mutex_clear(&gate->lock);
        g_cond_clear(&gate->changed);
        g_free(gate);
    }
}

void
p11mux_backend_gate(P11muxBackend *backend, gint64 wait_us)
{
    g_return_if_fail(wait_us > 0);

    if (backend->gate == NULL) {
        backend->gate = g_new0(P11muxBackendGate, 1);
        g_mutex_init(&backend->gate->lock);
        g_cond_init(&backend->gate->changed);
        backend->gate->wait_us = wait_us;
    }
    backend->gate->wait_us = MIN(backend->gate->wait_us, wait_us);
}

/* Wait under the gate's lock while shut says so; FALSE when the wait ran
 * out first. */
static gboolean
gate_wait(P11muxBackendGate *gate, gboolean (*shut)(const P11muxBackendGate *gate, gboolean serial),
          gboolean serial)
{
    gint64 deadline = g_get_monotonic_time() + gate->wait_us;
    gboolean open = TRUE;

    while (open && shut(gate, serial)) {
        gate->waiting++;
        if (!g_cond_wait_until(&gate->changed, &gate->lock, deadline)) {
            open = !shut(gate, serial);
        }
        gate->waiting--;
    }
    return open;
}

/* Wake the waiters, if any (the gate's lock held). */
static void
gate_changed(P11muxBackendGate *gate)
{
    if (gate->waiting > 0) {
        g_cond_broadcast(&gate->changed);
    }
}

static gboolean
shut_to_a_call(const P11muxBackendGate *gate, gboolean serial)
{
    return gate->alone || (serial && gate->running > 0);
}

static gboolean
shut_to_reinitialisation(const P11muxBackendGate *gate, gboolean serial)
{
    (void)serial;
    return gate->running > 0;
}

gboolean
p11mux_backend_enter(const P11muxBackend *backend, P11muxSigpipe *guard)
{
    P11muxBackendGate *gate = backend->gate;
    gboolean entered = TRUE;

    if (gate != NULL) {
        g_mutex_lock(&gate->lock);
        entered = gate_wait(gate, shut_to_a_call, backend->serial);
        gate->running += entered;
        g_mutex_unlock(&gate->lock);
    }
    if (entered && backend->serial) {
        p11mux_sigpipe_block(guard);
    }
    return entered;
}

void
p11mux_backend_leave(const P11muxBackend *backend, P11muxSigpipe *guard)
{
    P11muxBackendGate *gate = backend->gate;

    if (backend->serial) {
        p11mux_sigpipe_restore(guard);
    }
    if (gate != NULL) {
        g_mutex_lock(&gate->lock);
        gate->running--;
        gate_changed(gate);
        g_mutex_unlock(&gate->lock);
    }
}

/* Alone at the gate: no call enters from the start of the wait, and the
 * wait ends when the calls inside have left (FALSE, the gate open again,
 * when they did not in time). */
static gboolean
gate_enter_alone(P11muxBackendGate *gate)
{
    gboolean entered;

    g_mutex_lock(&gate->lock);
    if (!gate_wait(gate, shut_to_a_call, FALSE)) {
        g_mutex_unlock(&gate->lock);
        return FALSE;
    }
    gate->alone = TRUE;
    entered = gate_wait(gate, shut_to_reinitialisation, FALSE);
    if (!entered) {
        gate->alone = FALSE;
        gate_changed(gate);
    }
    g_mutex_unlock(&gate->lock);
    return entered;
}

static void
gate_leave_alone(P11muxBackendGate *gate)
{
    g_mutex_lock(&gate->lock);
    gate->alone = FALSE;
    gate_changed(gate);
    g_mutex_unlock(&gate->lock);
}

/* A hand-written call below: through the gate when the backend has one
 * (its tokens are HA group members), else straight; guard is the
 * caller's P11muxSigpipe. */
static CK_RV
gated_end(const P11muxBackend *backend, P11muxSigpipe *guard, CK_RV rv)
{
    p11mux_backend_leave(backend, guard);
    return rv;
}

#define GATED(backend, guard, call)                                                                \
    ((backend)->gate == NULL                    ? (call)                                           \
     : p11mux_backend_enter((backend), (guard)) ? gated_end((backend), (guard), (call))            \
                                                : CKR_DEVICE_ERROR)

CK_RV
p11mux_backend_reinitialize(P11muxBackend *backend)
{
    CK_C_INITIALIZE_ARGS args = {0};
    P11muxSigpipe guard;
    CK_RV rv;

    if (backend->gate == NULL || backend->functions == NULL || backend->shared ||
        backend->timed_out) {
        return CKR_FUNCTION_FAILED;
    }
    if (!gate_enter_alone(backend->gate)) {
        return CKR_DEVICE_ERROR;
    }
    p11mux_sigpipe_block(&guard);
    if (backend->initialized) {
        (void)backend->functions->C_Finalize(NULL);
    }
    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = backend->init_reserved;
    rv = p11mux_backend_answer(backend->functions->C_Initialize(&args));
    backend->initialized = rv == CKR_OK;
    g_atomic_int_inc(&backend->incarnation);
    p11mux_sigpipe_restore(&guard);
    gate_leave_alone(backend->gate);
    return rv;
}

P11muxBackend *
p11mux_backend_new_virtual(const char *name, const CK_FUNCTION_LIST_3_0 *list)
{
    P11muxBackend *backend = p11mux_backend_new(name, "", NULL, FALSE);

    p11mux_functions_normalise(&backend->normalised, (const CK_FUNCTION_LIST *)list,
                               P11MUX_INTERFACE_3_0);
    backend->functions = &backend->normalised;
    return backend;
}

P11muxBackend *
p11mux_backend_new_given(const char *name, const char *where, CK_FUNCTION_LIST_PTR list,
                         GDestroyNotify release, gboolean critical, const char *why)
{
    P11muxBackend *backend = p11mux_backend_new(name, where, NULL, critical);

    backend->from_list = TRUE;
    /* a given list is a remote: registration's: p11-kit's RPC client */
    backend->serial = TRUE;
    backend->given = list;
    backend->release = release;
    if (list == NULL) {
        backend->error = g_strdup(why != NULL ? why : "no function list");
    }
    return backend;
}

/* A given list goes back when its backend goes, unless an abandoned
 * opening may still be calling it. */
static void
release_given(P11muxBackend *backend)
{
    if (backend->given != NULL && backend->release != NULL && !backend->timed_out) {
        backend->release(backend->given);
    }
    backend->given = NULL;
}

void
p11mux_backend_free(P11muxBackend *backend)
{
    if (backend == NULL) {
        return;
    }
    p11mux_backend_close(backend);
    gate_free(backend->gate);
    release_given(backend);
    g_free(backend->name);
    g_free(backend->path);
    g_free(backend->init_reserved);
    g_free(backend->error);
    g_free(backend);
}

/* ------------------------------------------------------------ the libraries */

/*
 * The process-wide table of loaded libraries, by canonical path.  A
 * library, once loaded, stays loaded (and in the table) for the life of the
 * process: some backends keep per-load state that only the process's end
 * frees (NSS softoken), and a thread abandoned in a call of a library must
 * never see it unmapped.  Lock order: library_lock is a leaf; it may be
 * taken under an opening's lock, never the reverse, and never held while
 * calling a backend.
 */
struct P11muxLibrary {
    char *path;                /* canonical */
    void *dl;                  /* NULL until loaded */
    CK_FUNCTION_LIST_PTR list; /* the backend's own list, read once per opening */
    P11muxInterface interface; /* the layout of list */
    /* under library_lock: */
    char *owner;       /* nullable: the backend holding it now */
    gboolean busy;     /* a thread of p11mux's is loading or initialising it */
    gboolean stranded; /* it was busy when the process forked: that thread is gone */
    /* the opening whose thread holds it busy: in a child after fork, where
     * that thread is gone, its memory stays reachable from here */
    const P11muxBackendOpening *running;
};

static GMutex library_lock;
static GHashTable *libraries; /* canonical path -> P11muxLibrary*, never freed */

static void
libraries_before_fork(void)
{
    g_mutex_lock(&library_lock);
}

static void
libraries_after_fork_parent(void)
{
    g_mutex_unlock(&library_lock);
}

/* In the child, the threads of abandoned calls are gone: their libraries
 * stay busy (half initialised, never used again), now as stranded. */
static void
libraries_after_fork_child(void)
{
    GHashTableIter iter;
    P11muxLibrary *library;

    if (libraries != NULL) {
        g_hash_table_iter_init(&iter, libraries);
        while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&library)) {
            library->stranded = library->busy;
        }
    }
    g_mutex_unlock(&library_lock);
}

/* Claim the library at path for backend; NULL and *why (transfer full) if
 * another backend holds it or a call of it may still be running. */
static P11muxLibrary *
library_claim(const P11muxBackend *backend, char **why)
{
    static gsize once = 0;
    g_autofree char *path = p11mux_conf_canonical_path(backend->path);
    P11muxLibrary *library;

    if (g_once_init_enter(&once)) {
        pthread_atfork(libraries_before_fork, libraries_after_fork_parent,
                       libraries_after_fork_child);
        g_once_init_leave(&once, 1);
    }
    g_mutex_lock(&library_lock);
    if (libraries == NULL) {
        libraries = g_hash_table_new(g_str_hash, g_str_equal);
    }
    library = g_hash_table_lookup(libraries, path);
    if (library == NULL) {
        library = g_new0(P11muxLibrary, 1);
        library->path = g_steal_pointer(&path);
        g_hash_table_insert(libraries, library->path, library);
    }
    if (library->stranded) {
        *why = g_strdup("its C_Initialize was still running in the parent process when this "
                        "process forked; it is never used in this process");
    } else if (library->busy) {
        *why = g_strdup("its earlier C_Initialize, abandoned at its deadline, has not returned");
    } else if (library->owner != NULL) {
        *why = g_strdup_printf("the same library as backend '%s'", library->owner);
    } else {
        library->owner = g_strdup(backend->name);
        library->busy = TRUE;
    }
    g_mutex_unlock(&library_lock);
    return *why == NULL ? library : NULL;
}

static void
library_set_idle(P11muxLibrary *library)
{
    g_mutex_lock(&library_lock);
    library->busy = FALSE;
    library->running = NULL;
    g_mutex_unlock(&library_lock);
}

static void
library_set_running(P11muxLibrary *library, const P11muxBackendOpening *opening)
{
    g_mutex_lock(&library_lock);
    library->running = opening;
    g_mutex_unlock(&library_lock);
}

static void
library_release(P11muxLibrary *library)
{
    g_mutex_lock(&library_lock);
    g_clear_pointer(&library->owner, g_free);
    g_mutex_unlock(&library_lock);
}

/* ------------------------------------------------------------ an opening */

/*
 * Shared by the waiting thread and the opening thread (two references).
 * The fields from library to init_reserved are written before the thread
 * starts; the results by the thread before done; done and abandoned under
 * lock.  An abandoned opening's thread owns the rest alone.
 */
struct P11muxBackendOpening {
    gint refs;
    GMutex lock;
    GCond finished;
    gboolean done;
    gboolean abandoned;
    P11muxBackend *backend; /* the waiter's only: the thread never touches it */
    P11muxLibrary *library; /* nullable: not claimed */
    CK_FUNCTION_LIST_PTR self;
    char *init_reserved;
    char *claim_error; /* nullable: why the library could not be claimed */
    /* results */
    char *error; /* nullable: what failed */
    CK_FUNCTION_LIST_3_2 normalised;
    gboolean initialized;
    gboolean shared;
    GArray *slots; /* CK_SLOT_ID */
    gint64 started;
    gint64 elapsed_us;
    GThread *thread; /* the waiter's: joined when done, let go when abandoned */
};

static void
opening_unref(P11muxBackendOpening *opening)
{
    if (!g_atomic_int_dec_and_test(&opening->refs)) {
        return;
    }
    g_mutex_clear(&opening->lock);
    g_cond_clear(&opening->finished);
    g_free(opening->init_reserved);
    g_free(opening->claim_error);
    g_free(opening->error);
    g_clear_pointer(&opening->slots, g_array_unref);
    g_free(opening);
}

static gboolean opening_fail(P11muxBackendOpening *opening, const char *format, ...)
    G_GNUC_PRINTF(2, 3);

static gboolean
opening_fail(P11muxBackendOpening *opening, const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    g_free(opening->error);
    opening->error = g_strdup_vprintf(format, ap);
    va_end(ap);
    return FALSE;
}

/* The 3.0 way: C_GetInterface("PKCS 11"), taking whatever version is the
 * default; NULL if the module has none. */
static CK_FUNCTION_LIST_PTR
take_interface(void *dl)
{
    static const CK_VERSION wanted[] = {{3, 2}, {3, 0}, {0, 0}}; /* the last: no version */
    CK_C_GetInterface get_interface = (CK_C_GetInterface)dlsym(dl, "C_GetInterface");
    CK_INTERFACE_PTR interface = NULL;

    if (get_interface == NULL) {
        return NULL;
    }
    /* the newest first: 3.2, 3.0, then whatever it offers by default;
     * never pass a NULL ppInterface: NSS softoken 3.87 crashes on it */
    for (gsize i = 0; i < G_N_ELEMENTS(wanted); i++) {
        CK_VERSION version = wanted[i];

        interface = NULL;
        if (get_interface((CK_UTF8CHAR_PTR) "PKCS 11", i + 1 < G_N_ELEMENTS(wanted) ? &version : NULL,
                          &interface, 0) == CKR_OK &&
            interface != NULL && interface->pFunctionList != NULL) {
            return interface->pFunctionList;
        }
    }
    return NULL;
}

/* The layout of a list C_GetInterface gave, by its version: 3.2 and later
 * add to the 3.0 list, 3.1 added no function. */
static P11muxInterface
interface_of(const CK_FUNCTION_LIST *list)
{
    if (list->version.major > 3 || (list->version.major == 3 && list->version.minor >= 2)) {
        return P11MUX_INTERFACE_3_2;
    }
    return list->version.major == 3 ? P11MUX_INTERFACE_3_0 : P11MUX_INTERFACE_2_40;
}

/* A library of its own for a backend opened from a given list: already
 * "loaded" (its list is the given one), in no table, claimed by it alone;
 * NULL and *why (transfer full) when it was given none. */
static P11muxLibrary *
library_given(const P11muxBackend *backend, char **why)
{
    P11muxLibrary *library;

    if (backend->given == NULL) {
        *why = g_strdup(backend->error != NULL ? backend->error : "its function list is gone");
        return NULL;
    }
    library = g_new0(P11muxLibrary, 1);
    library->path = g_strdup(backend->path);
    library->list = backend->given;
    library->interface = interface_of(backend->given);
    library->owner = g_strdup(backend->name);
    library->busy = TRUE;
    return library;
}

/* Give back a backend's library: a given list's own goes with it, unless
 * an abandoned opening still holds it. */
static void
library_give_back(P11muxBackend *backend)
{
    P11muxLibrary *library = backend->library;

    library_release(library);
    if (backend->given != NULL && !backend->timed_out) {
        g_free(library->path);
        g_free(library);
    }
}

/* The backend's own list, from C_GetInterface (*interface: its layout) or
 * else C_GetFunctionList (a 2.40 list, whatever version it says: a module
 * may well put 3.0 there and still give the 2.40 layout). */
static CK_FUNCTION_LIST_PTR
take_list(void *dl, P11muxInterface *interface)
{
    CK_C_GetFunctionList get_function_list;
    CK_FUNCTION_LIST_PTR list = take_interface(dl);

    *interface = P11MUX_INTERFACE_2_40;
    if (list != NULL) {
        *interface = interface_of(list);
        return list;
    }
    get_function_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    if (get_function_list == NULL || get_function_list(&list) != CKR_OK) {
        return NULL;
    }
    return list;
}

/* dlopen the library, once for the life of the process, and take its list.
 * A library that is not a PKCS #11 module is closed again. */
static gboolean
open_library(P11muxBackendOpening *opening)
{
    P11muxLibrary *library = opening->library;
    void *dl;

    /* loaded already, or a given list's own (library_given) */
    if (library->list != NULL) {
        return TRUE;
    }
    dl = dlopen(library->path, BACKEND_DLOPEN_FLAGS);
    if (dl == NULL) {
        return opening_fail(opening, "cannot load: %s", dlerror());
    }
    library->list = take_list(dl, &library->interface);
    if (library->list == NULL) {
        gboolean has_list = dlsym(dl, "C_GetFunctionList") != NULL;

        dlclose(dl);
        return opening_fail(opening, has_list ? "C_GetFunctionList failed"
                                              : "not a PKCS #11 module: no C_GetFunctionList");
    }
    library->dl = dl;
    return TRUE;
}


/*
 * The backend boundary: the backend's list is read here, once per opening,
 * into opening->normalised.  A 3.2 list (version 3.2 or later) is read for
 * the 3.0 and 3.2 entries it fills, a 3.0 one (3.0, 3.1) for the 3.0
 * entries; a 2.40 one only as far as it goes.
 */
static gboolean
take_functions(P11muxBackendOpening *opening)
{
    CK_FUNCTION_LIST_PTR list = opening->library->list;
    CK_FUNCTION_LIST_PTR self = opening->self;
    P11muxInterface interface = opening->library->interface;

    /* either of p11mux's own lists (both start with its C_Initialize) */
    if (list == self || list->C_Initialize == self->C_Initialize) {
        return opening_fail(opening, "this is p11mux itself; a backend cannot be p11mux");
    }
    if (list->C_Initialize == NULL || list->C_Finalize == NULL) {
        return opening_fail(opening, "its function list has no C_Initialize or C_Finalize");
    }
    p11mux_functions_normalise(&opening->normalised, list, interface);
    /* the version is what the interface offered, for p11mux_backend_version */
    if (interface == P11MUX_INTERFACE_2_40 && opening->normalised.version.major >= 3) {
        opening->normalised.version = (CK_VERSION){2, 40};
    }
    return TRUE;
}

static gboolean
initialize(P11muxBackendOpening *opening)
{
    CK_C_INITIALIZE_ARGS args = {0};
    CK_RV rv;

    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = opening->init_reserved;
    rv = opening->normalised.C_Initialize(&args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        opening->shared = TRUE;
        return TRUE;
    }
    if (rv != CKR_OK) {
        g_autofree char *described = p11mux_rv_describe(rv);

        return opening_fail(opening, "C_Initialize failed: %s", described);
    }
    opening->initialized = TRUE;
    return TRUE;
}

/* Its slots, every one, so that each gets its id now; a failure leaves
 * them to the application's C_GetSlotList. */
static void
list_slots(P11muxBackendOpening *opening)
{
    CK_FUNCTION_LIST_3_2_PTR functions = &opening->normalised;
    CK_ULONG count = 0;
    CK_RV rv;

    for (;;) {
        rv = functions->C_GetSlotList(CK_FALSE, NULL, &count);
        if (rv != CKR_OK || count == 0 || count > G_MAXUINT / sizeof(CK_SLOT_ID)) {
            g_array_set_size(opening->slots, 0);
            return;
        }
        g_array_set_size(opening->slots, count);
        rv = functions->C_GetSlotList(CK_FALSE, (CK_SLOT_ID_PTR)opening->slots->data, &count);
        if (rv != CKR_BUFFER_TOO_SMALL) {
            g_array_set_size(opening->slots, rv == CKR_OK ? count : 0);
            return;
        }
    }
}

/* glibc keeps the record of a failed dlopen or dlsym per thread until the
 * next dlerror(); p11mux's and the backend's own (NSS softoken probes for
 * optional libraries in C_Initialize) are read and dropped before the
 * loading thread ends, not left to its exit. */
static void
drop_dlerror(void)
{
    while (dlerror() != NULL) {
    }
}

/* The work of an opening, in its thread (or inline); then done. */
static void
run(P11muxBackendOpening *opening)
{
    gboolean abandoned;

    if (open_library(opening) && take_functions(opening) && initialize(opening)) {
        list_slots(opening);
    }
    drop_dlerror();
    opening->elapsed_us = g_get_monotonic_time() - opening->started;
    g_mutex_lock(&opening->lock);
    opening->done = TRUE;
    abandoned = opening->abandoned;
    if (!abandoned) {
        /* the waiter takes over the library */
        library_set_idle(opening->library);
        g_cond_signal(&opening->finished);
    }
    g_mutex_unlock(&opening->lock);
    if (abandoned) {
        /* nobody uses what a late C_Initialize set up: undo it, and only
         * then let a later initialisation have the library */
        if (opening->initialized) {
            opening->normalised.C_Finalize(NULL);
            drop_dlerror();
        }
        library_set_idle(opening->library);
    }
    opening_unref(opening);
}

static gpointer
run_thread(gpointer data)
{
    run(data);
    return NULL;
}

P11muxBackendOpening *
p11mux_backend_open_start(P11muxBackend *backend, CK_FUNCTION_LIST_PTR self, gboolean threads)
{
    P11muxBackendOpening *opening = g_new0(P11muxBackendOpening, 1);
    g_autoptr(GError) error = NULL;
    GThread *thread;

    g_return_val_if_fail(backend->library == NULL, NULL);
    opening->refs = 1;
    g_mutex_init(&opening->lock);
    g_cond_init(&opening->finished);
    opening->backend = backend;
    opening->self = self;
    opening->init_reserved = g_strdup(backend->init_reserved);
    opening->slots = g_array_new(FALSE, FALSE, sizeof(CK_SLOT_ID));
    opening->started = g_get_monotonic_time();
    opening->library = backend->from_list ? library_given(backend, &opening->claim_error)
                                          : library_claim(backend, &opening->claim_error);
    if (opening->library == NULL) {
        opening->done = TRUE;
        return opening;
    }
    backend->library = opening->library;
    library_set_running(opening->library, opening);
    g_atomic_int_inc(&opening->refs);
    if (!threads) {
        run(opening);
        return opening;
    }
    thread = g_thread_try_new("p11mux-open", run_thread, opening, &error);
    if (thread == NULL) {
        /* no thread to be had: no deadline either */
        run(opening);
        return opening;
    }
    opening->thread = thread;
    return opening;
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
    return FALSE;
}

/* Wait for the opening until deadline; FALSE (and it is abandoned) if it
 * is still running then. */
static gboolean
wait_until(P11muxBackendOpening *opening, gint64 deadline)
{
    gboolean done;

    g_mutex_lock(&opening->lock);
    while (!opening->done) {
        if (!g_cond_wait_until(&opening->finished, &opening->lock, deadline)) {
            break;
        }
    }
    done = opening->done;
    opening->abandoned = !done;
    g_mutex_unlock(&opening->lock);
    if (opening->thread != NULL) {
        /* a finished thread is joined, so that it has ended, its
         * thread-local state freed (OpenSSL's, under SoftHSM2), before
         * C_Initialize returns; an abandoned one is left to run */
        if (done) {
            g_thread_join(opening->thread);
        } else {
            g_thread_unref(opening->thread);
        }
        opening->thread = NULL;
    }
    return done;
}

gboolean
p11mux_backend_open_finish(P11muxBackendOpening *opening, gint64 deadline, GArray **slots,
                           GError **error)
{
    P11muxBackend *backend = opening->backend;
    gboolean ok = FALSE;

    if (opening->claim_error != NULL) {
        fail(backend, error, "%s; skipped at once", opening->claim_error);
    } else if (!wait_until(opening, deadline)) {
        backend->timed_out = TRUE;
        backend->open_us = g_get_monotonic_time() - opening->started;
        fail(backend, error,
             "no answer from loading or C_Initialize within init-timeout (%.3f s); its call is "
             "left running in its own thread and the backend is never used",
             (double)backend->open_us / G_USEC_PER_SEC);
    } else if (opening->error != NULL) {
        backend->open_us = opening->elapsed_us;
        fail(backend, error, "%s", opening->error);
    } else {
        backend->open_us = opening->elapsed_us;
        backend->normalised = opening->normalised;
        backend->functions = &backend->normalised;
        backend->initialized = opening->initialized;
        backend->shared = opening->shared;
        /* taken, not shared: GLib's own reference counts are invisible
         * to ThreadSanitizer */
        *slots = g_steal_pointer(&opening->slots);
        ok = TRUE;
    }
    opening_unref(opening);
    return ok;
}

/* ------------------------------------------------------- the calls p11mux makes */

/* Through the normalised list: no entry is NULL (src/core/backend.h); every
 * answer through p11mux_backend_answer. */

CK_RV
p11mux_backend_finalize(const P11muxBackend *backend)
{
    return backend->functions->C_Finalize(NULL);
}

CK_RV
p11mux_backend_get_info(const P11muxBackend *backend, CK_INFO_PTR pInfo)
{
    P11muxSigpipe guard;

    return p11mux_backend_answer(GATED(backend, &guard, backend->functions->C_GetInfo(pInfo)));
}

CK_RV
p11mux_backend_get_slot_list(const P11muxBackend *backend, CK_BBOOL tokenPresent,
                             CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    P11muxSigpipe guard;

    return p11mux_backend_answer(GATED(
        backend, &guard, backend->functions->C_GetSlotList(tokenPresent, pSlotList, pulCount)));
}

CK_RV
p11mux_backend_get_slot_info(const P11muxBackend *backend, CK_SLOT_ID slotID,
                             CK_SLOT_INFO_PTR pInfo)
{
    P11muxSigpipe guard;

    return p11mux_backend_answer(
        GATED(backend, &guard, backend->functions->C_GetSlotInfo(slotID, pInfo)));
}

CK_RV
p11mux_backend_get_token_info(const P11muxBackend *backend, CK_SLOT_ID slotID,
                              CK_TOKEN_INFO_PTR pInfo)
{
    P11muxSigpipe guard;

    return p11mux_backend_answer(
        GATED(backend, &guard, backend->functions->C_GetTokenInfo(slotID, pInfo)));
}

CK_RV
p11mux_backend_get_mechanism_list(const P11muxBackend *backend, CK_SLOT_ID slotID,
                                  CK_MECHANISM_TYPE_PTR pMechanismList, CK_ULONG_PTR pulCount)
{
    P11muxSigpipe guard;

    return p11mux_backend_answer(GATED(
        backend, &guard, backend->functions->C_GetMechanismList(slotID, pMechanismList, pulCount)));
}

CK_RV
p11mux_backend_wait_for_slot_event(const P11muxBackend *backend, CK_FLAGS flags,
                                   CK_SLOT_ID_PTR pSlot)
{
    return p11mux_backend_answer(backend->functions->C_WaitForSlotEvent(flags, pSlot, NULL));
}

CK_RV
p11mux_backend_open_session(const P11muxBackend *backend, CK_SLOT_ID slotID, CK_FLAGS flags,
                            CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                            CK_SESSION_HANDLE_PTR phSession)
{
    P11muxSigpipe guard;

    return p11mux_backend_answer(
        GATED(backend, &guard,
              backend->functions->C_OpenSession(slotID, flags, pApplication, Notify, phSession)));
}

CK_RV
p11mux_backend_close_session(const P11muxBackend *backend, CK_SESSION_HANDLE hSession)
{
    P11muxSigpipe guard;

    return p11mux_backend_answer(
        GATED(backend, &guard, backend->functions->C_CloseSession(hSession)));
}

CK_RV
p11mux_backend_close_all_sessions(const P11muxBackend *backend, CK_SLOT_ID slotID)
{
    P11muxSigpipe guard;

    return p11mux_backend_answer(
        GATED(backend, &guard, backend->functions->C_CloseAllSessions(slotID)));
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
        return p11mux_backend_get_mechanism_list(backend, slot, NULL, count);
    }
    rv = p11mux_backend_get_mechanism_list(backend, slot, NULL, &needed);
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
    rv = p11mux_backend_get_mechanism_list(backend, slot, own, &needed);
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
    if (backend->initialized && !backend->timed_out) {
        p11mux_backend_finalize(backend);
    }
    backend->initialized = FALSE;
    if (backend->library != NULL) {
        library_give_back(backend);
        backend->library = NULL;
    }
    backend->functions = NULL;
}

void
p11mux_backend_forget(P11muxBackend *backend)
{
    backend->initialized = FALSE;
    backend->functions = NULL;
    if (backend->library != NULL) {
        library_give_back(backend);
        backend->library = NULL;
    }
}
