/*
 * Opening and closing sessions: p11mux hands out its own handles.
 *
 * Asynchronous sessions (PKCS #11 3.2) are not forwarded: C_OpenSession
 * refuses CKF_ASYNC_SESSION with CKR_SESSION_ASYNC_NOT_SUPPORTED before any
 * backend sees it, C_GetTokenInfo never reports CKF_ASYNC_SESSION_SUPPORTED
 * (module-slots.c), C_AsyncComplete, C_AsyncGetID and C_AsyncJoin answer
 * CKR_FUNCTION_NOT_SUPPORTED (the table's flag refused: their bodies are
 * generated), and a backend's CKR_PENDING becomes
 * CKR_GENERAL_ERROR (p11mux_backend_answer).  The policy cannot judge what a
 * pending call produces (a key it creates cannot be read back before the call
 * completes), an asynchronous operation's id belongs to one backend's session,
 * and no backend p11mux is tested with offers asynchronous sessions.
 */
#include "config.h"

#include "call.h"
#include "module.h"

CK_RV
p11mux_fwd_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
                         CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
    P11muxCall call;
    void *args[] = {&slotID, &flags, &pApplication, &Notify, &phSession};
    CK_RV rv = p11mux_call_begin_slot(&call, P11MUX_FN_C_OpenSession, slotID, args);
    CK_SESSION_HANDLE real = 0, handle;

    if (rv == CKR_OK && (flags & CKF_ASYNC_SESSION)) {
        rv = CKR_SESSION_ASYNC_NOT_SUPPORTED;
    }
    if (rv == CKR_OK) {
        /* Notify is not passed on: it would see the backend's handle, and
         * surrender callbacks are obsolete; pApplication is kept for it. */
        rv = p11mux_backend_open_session(call.backend, call.real_slot, flags, pApplication, NULL,
                                         &real);
    }
    if (rv == CKR_OK) {
        handle = p11mux_sessions_add(call.router->sessions, call.slot_entry, real, flags);
        if (handle == 0) {
            p11mux_backend_close_session(call.backend, real);
            rv = CKR_SESSION_COUNT;
        } else {
            *phSession = handle;
            call.session = handle;
            call.real_session = real;
        }
    }
    return p11mux_call_end(&call, rv);
}

CK_RV
p11mux_fwd_C_CloseSession(CK_SESSION_HANDLE hSession)
{
    P11muxCall call;
    void *args[] = {&hSession};
    CK_RV rv = p11mux_call_begin_session(&call, P11MUX_FN_C_CloseSession, hSession, args);

    if (rv == CKR_OK) {
        rv = p11mux_backend_close_session(call.backend, call.real_session);
        /* p11mux_call_end drops the handle when the backend says it is gone */
        if (rv == CKR_OK) {
            p11mux_sessions_remove(call.router->sessions, hSession);
        }
    }
    return p11mux_call_end(&call, rv);
}

CK_RV
p11mux_fwd_C_CloseAllSessions(CK_SLOT_ID slotID)
{
    P11muxCall call;
    void *args[] = {&slotID};
    CK_RV rv = p11mux_call_begin_slot(&call, P11MUX_FN_C_CloseAllSessions, slotID, args);
    GArray *handles;
    guint i;

    if (rv == CKR_OK) {
        rv = p11mux_backend_close_all_sessions(call.backend, call.real_slot);
    }
    if (rv == CKR_OK || rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT) {
        handles = p11mux_sessions_on_slot(call.router->sessions, call.slot_entry);
        for (i = 0; i < handles->len; i++) {
            p11mux_sessions_remove(call.router->sessions,
                                   g_array_index(handles, CK_SESSION_HANDLE, i));
        }
        g_array_unref(handles);
    }
    return p11mux_call_end(&call, rv);
}

/* Legacy functions: p11mux, like every current module, runs no function in parallel. */
CK_RV
p11mux_fwd_C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    P11muxCall call;
    void *args[] = {&hSession};
    CK_RV rv = p11mux_call_begin_session(&call, P11MUX_FN_C_GetFunctionStatus, hSession, args);

    return p11mux_call_end(&call, rv == CKR_OK ? CKR_FUNCTION_NOT_PARALLEL : rv);
}

CK_RV
p11mux_fwd_C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    P11muxCall call;
    void *args[] = {&hSession};
    CK_RV rv = p11mux_call_begin_session(&call, P11MUX_FN_C_CancelFunction, hSession, args);

    return p11mux_call_end(&call, rv == CKR_OK ? CKR_FUNCTION_NOT_PARALLEL : rv);
}
