/*
 * One loaded vendor PKCS #11 module: dlopen, interface, initialisation.
 */
#ifndef P11MUX_BACKEND_H
#define P11MUX_BACKEND_H

#include <glib.h>
#include <signal.h>

#include "p11mux-pkcs11.h"

/* A library p11mux has loaded: process-wide, never unloaded (backend.c). */
typedef struct P11muxLibrary P11muxLibrary;

/* An opening in progress (p11mux_backend_open_start). */
typedef struct P11muxBackendOpening P11muxBackendOpening;

/* The gate of a backend holding HA group members (p11mux_backend_gate). */
typedef struct P11muxBackendGate P11muxBackendGate;

typedef struct {
    char *name;          /* [backend NAME] */
    char *path;          /* the library file */
    char *init_reserved; /* nullable: CK_C_INITIALIZE_ARGS.pReserved */
    gboolean critical;
    void *dl; /* dlopen handle, NULL until loaded */
    /*
     * The one door to the backend: &normalised once loaded, else NULL.
     * p11mux's own copy of the backend's list, made once at load
     * (p11mux_functions_normalise): every entry is callable, a NULL entry
     * of the backend's (and every entry newer than the interface the
     * backend offers: 3.0 ones of a 2.40 backend, 3.2 ones of a 3.0) answering
     * CKR_FUNCTION_NOT_SUPPORTED; version is the interface the backend
     * offers.  Nothing dereferences the backend's own list after load.
     */
    CK_FUNCTION_LIST_3_2_PTR functions;
    CK_FUNCTION_LIST_3_2 normalised;
    gboolean initialized;                   /* we called its C_Initialize successfully */
    gboolean shared;                        /* it was initialised by someone else: never finalise */
    char *error;                            /* nullable: why it was skipped */
    guint index;                            /* position in the router's list */
    P11muxLibrary *library;                 /* nullable: the library it holds (claimed) */
    gboolean timed_out;                     /* it missed its deadline: its call may still run */
    gint64 open_us;                         /* how long loading and C_Initialize took */
    /* p11-kit's RPC client (p11-kit-client.so, a remote: registration): the
     * groups' calls go one at a time (its threads waiting for a connection
     * block for ever when it dies under another thread's call), and keep
     * the SIGPIPE its plain write to a dead socket raises */
    gboolean serial;
    /* a virtual backend of one slot (an HA group's): the router lists and
     * watches own_slot itself instead of asking C_GetSlotList, and asks its
     * C_WaitForSlotEvent with *pSlot = own_slot on entry (router.c,
     * module-slots.c) */
    gboolean one_slot;
    CK_SLOT_ID own_slot;
    P11muxBackendGate *gate; /* nullable: set once an HA group member is found on it */
    gint incarnation;        /* atomic: how many times p11mux re-initialised it */
    /* p11mux_backend_new_given: the list opened instead of a library
     * (nullable), and what gives it back (nullable) */
    gboolean from_list;
    CK_FUNCTION_LIST_PTR given;
    GDestroyNotify release;
} P11muxBackend;

/* transfer full */
P11muxBackend *p11mux_backend_new(const char *name, const char *path, const char *init_reserved,
                                  gboolean critical);
void p11mux_backend_free(P11muxBackend *backend);

/* A backend p11mux implements itself (the HA groups: src/group/): list,
 * normalised like a loaded backend's, answers its calls; nothing is loaded,
 * initialised or finalised.  transfer full. */
P11muxBackend *p11mux_backend_new_virtual(const char *name, const CK_FUNCTION_LIST_3_0 *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxBackend, p11mux_backend_free)

/*
 * A backend opened from a function list it is given instead of a library
 * it loads (a p11-kit `remote:` registration: p11-kit's managed loader made
 * list): p11mux dlopens nothing for it and claims no library, and the rest
 * of its opening is any backend's (list normalised, its layout the one its
 * version says, C_Initialize, slots listed, the deadline); it is finalised
 * and forgotten after fork() like any.  where names it in messages (its
 * path).  p11mux_backend_free calls release(list) (release nullable) after
 * C_Finalize; a backend abandoned at its deadline keeps its list for the
 * life of the process, as a library stays loaded.  list NULL: why says why
 * there is none, and opening it fails with that.  Its calls through the
 * gate go one at a time (serial: it is p11-kit's RPC client).  transfer
 * full.
 */
P11muxBackend *p11mux_backend_new_given(const char *name, const char *where,
                                        CK_FUNCTION_LIST_PTR list, GDestroyNotify release,
                                        gboolean critical, const char *why);

/*
 * Opening a backend: claim its library in the process-wide table (by
 * canonical path; a library stays loaded for the life of the process and
 * is reused by later initialisations), dlopen it (RTLD_NOW | RTLD_LOCAL)
 * if not yet loaded, take its "PKCS 11" interface (3.0 preferred, else
 * C_GetFunctionList), call its C_Initialize with CKF_OS_LOCKING_OK and
 * init_reserved, and list its slots.  self is p11mux's own 2.40 list: a
 * module answering with it is p11mux itself and refused.
 *
 * start begins it in a thread of its own (inline, when threads is FALSE);
 * finish waits for it until deadline (g_get_monotonic_time() units; ignored
 * inline).  A backend that misses it is abandoned: backend->timed_out is set,
 * its library stays marked busy until the thread's call returns (the thread
 * then finalises what it initialised), and every later claim of that
 * library fails at once.  On failure backend->error says why and error is
 * set.  On success *slots (transfer full) holds the ids its C_GetSlotList
 * gave (empty if it failed).  start never fails: a claim refused is
 * reported by finish.
 */
P11muxBackendOpening *p11mux_backend_open_start(P11muxBackend *backend, CK_FUNCTION_LIST_PTR self,
                                                gboolean threads);
gboolean p11mux_backend_open_finish(P11muxBackendOpening *opening, gint64 deadline, GArray **slots,
                                    GError **error);

/*
 * Calls into a backend.  This header and src/core/backend.c are the one door:
 * nothing else dereferences backend->functions (tests/unit/backend-door.sh
 * checks src/, src/cli aside).  Every call goes through the backend's
 * normalised list, in which no entry is NULL: an entry the backend left
 * NULL (and every entry newer than its interface) was replaced at load by a
 * stub answering CKR_FUNCTION_NOT_SUPPORTED (p11mux_functions_normalise),
 * so no call checks again and none can reach a NULL pointer.  Loaded
 * backends only.  Arguments pass unchanged, and so does the backend's
 * answer.
 */

/* Whether the backend offers the 3.0 interface. */
static inline gboolean
p11mux_backend_is_3_0(const P11muxBackend *backend)
{
    return backend->functions->version.major >= 3;
}

/* Whether the backend offers the 3.2 interface. */
static inline gboolean
p11mux_backend_is_3_2(const P11muxBackend *backend)
{
    CK_VERSION version = backend->functions->version;

    return version.major > 3 || (version.major == 3 && version.minor >= 2);
}

/* The interface version the backend offers. */
static inline CK_VERSION
p11mux_backend_version(const P11muxBackend *backend)
{
    return backend->functions->version;
}

/*
 * The normalised list itself, for the generated forwarders only (the
 * routed-call path, src/core/gen-functions.py): inline, so that a routed call
 * costs what a direct one did.  Hand-written code calls the functions
 * below.
 */
static inline const CK_FUNCTION_LIST_3_2 *
p11mux_backend_routed(const P11muxBackend *backend)
{
    return backend->functions;
}

/*
 * A backend's answer as p11mux passes it on.  CKR_PENDING belongs to
 * asynchronous sessions (PKCS #11 3.2), which p11mux never opens: its
 * C_OpenSession refuses CKF_ASYNC_SESSION before any backend sees it.  A
 * backend answering CKR_PENDING on one of p11mux's sessions leaves a call
 * that nobody can finish (C_AsyncComplete is not forwarded), with its goals
 * perhaps partly achieved: the specification's CKR_GENERAL_ERROR.  Every
 * backend call goes through here: the generated forwarders' (gen-functions.py,
 * emit_backend_call) and the typed calls below.
 */
G_ALWAYS_INLINE static inline CK_RV
p11mux_backend_answer(CK_RV rv)
{
    return G_UNLIKELY(rv == CKR_PENDING) ? CKR_GENERAL_ERROR : rv;
}

/* The calls p11mux's own code makes (src/core/module-*.c, src/core/router.c, the
 * policy): one per function, the specification's parameters after backend. */
CK_RV p11mux_backend_finalize(const P11muxBackend *backend);
CK_RV p11mux_backend_get_info(const P11muxBackend *backend, CK_INFO_PTR pInfo);
CK_RV p11mux_backend_get_slot_list(const P11muxBackend *backend, CK_BBOOL tokenPresent,
                                   CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount);
CK_RV p11mux_backend_get_slot_info(const P11muxBackend *backend, CK_SLOT_ID slotID,
                                   CK_SLOT_INFO_PTR pInfo);
CK_RV p11mux_backend_get_token_info(const P11muxBackend *backend, CK_SLOT_ID slotID,
                                    CK_TOKEN_INFO_PTR pInfo);
/* Raw: the caller sizes pMechanismList from the backend's own count; an
 * application's buffer goes through p11mux_backend_mechanism_list. */
CK_RV p11mux_backend_get_mechanism_list(const P11muxBackend *backend, CK_SLOT_ID slotID,
                                        CK_MECHANISM_TYPE_PTR pMechanismList,
                                        CK_ULONG_PTR pulCount);
/* pReserved is NULL. */
CK_RV p11mux_backend_wait_for_slot_event(const P11muxBackend *backend, CK_FLAGS flags,
                                         CK_SLOT_ID_PTR pSlot);
CK_RV p11mux_backend_open_session(const P11muxBackend *backend, CK_SLOT_ID slotID, CK_FLAGS flags,
                                  CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                                  CK_SESSION_HANDLE_PTR phSession);
CK_RV p11mux_backend_close_session(const P11muxBackend *backend, CK_SESSION_HANDLE hSession);
CK_RV p11mux_backend_close_all_sessions(const P11muxBackend *backend, CK_SLOT_ID slotID);

/*
 * C_GetMechanismList on backend, with the length protocol kept by p11mux:
 * the backend writes only into a list p11mux allocated from the count the
 * backend itself gave; list (nullable) gets a copy when *count is large
 * enough, else CKR_BUFFER_TOO_SMALL and the count needed.  NSS softoken
 * 3.87 ignores *pulCount and writes its whole list into whatever buffer it
 * is given.
 */
CK_RV p11mux_backend_mechanism_list(P11muxBackend *backend, CK_SLOT_ID slot,
                                    CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count);

/* C_Finalize (when we initialised it) and give the library back (it stays
 * loaded).  A backend that timed out is never called.  Idempotent. */
void p11mux_backend_close(P11muxBackend *backend);

/* After fork(), in the child: forget the parent's initialisation and give
 * the library back, keeping it mapped. */
void p11mux_backend_forget(P11muxBackend *backend);

#define P11MUX_BACKEND_ERROR (p11mux_backend_error_quark())
GQuark p11mux_backend_error_quark(void);

/*
 * A SIGPIPE raised in this thread between block and restore (a backend
 * writing to a connection its server closed: p11-kit's RPC client uses a
 * plain write) is taken off the thread and dropped; the thread's signal
 * mask is as it was after restore, and a SIGPIPE pending before block
 * stays pending.  The application's own handling of SIGPIPE is untouched.
 */
typedef struct {
    sigset_t old;    /* the thread's mask before block */
    gboolean pending; /* a SIGPIPE was pending before block */
} P11muxSigpipe;
void p11mux_sigpipe_block(P11muxSigpipe *guard);
void p11mux_sigpipe_restore(P11muxSigpipe *guard);

/*
 * The gate of a backend whose tokens are HA group members (HA-GROUPS.md
 * §9.3, §11.2).  Once set (before any group call), every call the groups
 * make into the backend passes it: the generated typed calls
 * (p11mux_backend_C_*) and the hand-written ones above.  A call enters
 * shared, one at a time on a serial backend; re-initialisation enters
 * alone.  A call that cannot enter within wait_us (the groups' smallest
 * call-timeout: a call of the backend's is hung) answers CKR_DEVICE_ERROR
 * without reaching the backend, which the groups take as "this member, not
 * this request".  Setting it again keeps the smaller wait.  The routed
 * calls of the backend's other slots do not pass it.
 */
void p11mux_backend_gate(P11muxBackend *backend, gint64 wait_us);

/* Enter the gate (if any) and, on a serial backend (p11-kit's RPC client,
 * which writes to its socket with a plain write), keep SIGPIPE from the
 * application (p11mux_sigpipe_block: four system calls a call, so not on a
 * local module); FALSE when the gate stayed shut: nothing to leave. */
gboolean p11mux_backend_enter(const P11muxBackend *backend, P11muxSigpipe *guard);
void p11mux_backend_leave(const P11muxBackend *backend, P11muxSigpipe *guard);

/*
 * HA-GROUPS.md §9.3: a backend that no longer answers (p11-kit's RPC client
 * after its connection died never reconnects by itself) is finalised and
 * initialised again with its configured arguments, alone at its gate.  Its
 * incarnation goes up: every session and handle of the previous one is
 * stale and must be forgotten, never closed (the new incarnation may give
 * the same numbers).  Gated backends that p11mux initialised only;
 * CKR_FUNCTION_FAILED otherwise; the backend's C_Initialize answer.
 */
CK_RV p11mux_backend_reinitialize(P11muxBackend *backend);

/* p11mux_backend_C_Name(backend, ...) for every function of the table
 * (generated: the HA groups' calls into their members). */
#include "p11mux-backend-calls.h"

#endif /* P11MUX_BACKEND_H */
