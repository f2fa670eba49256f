/*
 * One loaded vendor PKCS #11 module: dlopen, interface, initialisation.
 */
#ifndef P11MUX_BACKEND_H
#define P11MUX_BACKEND_H

#include <glib.h>

#include "p11mux-pkcs11.h"

typedef struct {
    char *name;          /* [backend NAME] */
    char *path;          /* the library file */
    char *init_reserved; /* nullable: CK_C_INITIALIZE_ARGS.pReserved */
    gboolean critical;
    void *dl;                               /* dlopen handle, NULL until loaded */
    CK_FUNCTION_LIST_PTR functions;         /* non-NULL once loaded */
    CK_FUNCTION_LIST_3_0_PTR functions_3_0; /* nullable: the backend's 3.0 list */
    gboolean initialized;                   /* we called its C_Initialize successfully */
    gboolean shared;                        /* it was initialised by someone else: never finalise */
    char *error;                            /* nullable: why it was skipped */
    guint index;                            /* position in the router's list */
} P11muxBackend;

/* transfer full */
P11muxBackend *p11mux_backend_new(const char *name, const char *path, const char *init_reserved,
                                  gboolean critical);
void p11mux_backend_free(P11muxBackend *backend);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxBackend, p11mux_backend_free)

/*
 * dlopen the library (RTLD_NOW | RTLD_LOCAL), take its "PKCS 11" interface
 * (3.0 preferred, else C_GetFunctionList), and call its C_Initialize with
 * CKF_OS_LOCKING_OK and init_reserved.  self is p11mux's own 2.40 list: a
 * module answering with it is p11mux itself and refused.  On failure the
 * backend is left unloaded, backend->error says why, and error is set.
 */
gboolean p11mux_backend_open(P11muxBackend *backend, CK_FUNCTION_LIST_PTR self, GError **error);

/* C_Finalize (when we initialised it) and dlclose.  Idempotent. */
void p11mux_backend_close(P11muxBackend *backend);

/* After fork(): forget the parent's initialisation, keep the library mapped. */
void p11mux_backend_forget(P11muxBackend *backend);

#define P11MUX_BACKEND_ERROR (p11mux_backend_error_quark())
GQuark p11mux_backend_error_quark(void);

#endif /* P11MUX_BACKEND_H */
