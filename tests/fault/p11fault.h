/*
 * p11fault.so, the test-only fault injector (tests/fault/README.md): what
 * the generated wrappers (gen-functions.py fault, p11fault-functions.c) and
 * the hand-written core (p11fault.c) share.
 */
#ifndef P11FAULT_H
#define P11FAULT_H

#include <glib.h>

#include "p11mux-pkcs11.h"

/* What a call names, for its token label. */
typedef enum {
    P11FAULT_TARGET_NONE,    /* no slot: label "-" */
    P11FAULT_TARGET_SLOT,    /* the slot argument's token */
    P11FAULT_TARGET_SESSION, /* the token of the session's slot */
} P11faultTarget;

/*
 * Before every call: CKR_CRYPTOKI_NOT_INITIALIZED before C_Initialize;
 * else counts the call, applies the rules (sleeping for a delay, with no
 * lock held) and returns CKR_OK to forward the call or the rv to answer.
 */
CK_RV p11fault_enter(const char *function, P11faultTarget target, CK_ULONG handle);

/* The wrapped module's functions, every entry set (a missing one answers
 * CKR_FUNCTION_NOT_SUPPORTED); written by C_Initialize. */
extern CK_FUNCTION_LIST_3_0 p11fault_wrapped;

/* Generated: the copy of a module's list in which each NULL entry (and,
 * for a 2.40 list, each 3.0 one) is a stub. */
void p11fault_normalise(CK_FUNCTION_LIST_3_0 *out, const CK_FUNCTION_LIST *list, gboolean is_3_0);

/* Generated: p11fault's own lists. */
extern CK_FUNCTION_LIST p11fault_function_list;
extern CK_FUNCTION_LIST_3_0 p11fault_function_list_3_0;

/* Written by hand (p11fault.c). */
CK_RV p11fault_C_Initialize(CK_VOID_PTR pInitArgs);
CK_RV p11fault_C_Finalize(CK_VOID_PTR pReserved);
CK_RV p11fault_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList);
CK_RV p11fault_C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount);
CK_RV p11fault_C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                              CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags);

/* After the wrapped module answered: the session and label maps follow. */
void p11fault_after_C_OpenSession(CK_RV rv, CK_SLOT_ID slotID, CK_FLAGS flags,
                                  CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                                  CK_SESSION_HANDLE_PTR phSession);
void p11fault_after_C_CloseSession(CK_RV rv, CK_SESSION_HANDLE hSession);
void p11fault_after_C_CloseAllSessions(CK_RV rv, CK_SLOT_ID slotID);
void p11fault_after_C_InitToken(CK_RV rv, CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin,
                                CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pLabel);
void p11fault_after_C_GetTokenInfo(CK_RV rv, CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo);

#endif /* P11FAULT_H */
