/*
 * The return values the PKCS #11 specification allows for each function
 * (base specification 2.40 section 5, 3.0 section 5 for the 3.0 functions),
 * as data: the hardening tests and the call-sequence fuzzer check every
 * answer of p11mux against it.
 *
 * Besides each function's own list, every function may answer CKR_OK,
 * CKR_GENERAL_ERROR, CKR_HOST_MEMORY, CKR_FUNCTION_FAILED (spec 5.1
 * "universal" values) and CKR_FUNCTION_NOT_SUPPORTED (spec 5.1: a stub for
 * every function; p11mux's answer to a 3.0 call on a 2.40 backend and to a
 * function a policy denies, p11mux.conf(5)), and every function but C_Initialize,
 * C_GetFunctionList and the C_GetInterface pair may answer
 * CKR_CRYPTOKI_NOT_INITIALIZED.  Where p11mux.conf(5) makes the policy answer a
 * code the function's list lacks, the table says so in a comment.
 */
#ifndef P11MUX_SPEC_RV_H
#define P11MUX_SPEC_RV_H

#include <glib.h>

#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"

/* TRUE when the specification allows rv as an answer of fn. */
gboolean spec_rv_allowed(P11muxFunctionId fn, CK_RV rv);

/* "CKR_SLOT_ID_INVALID", or "0x1234" (a static buffer per thread). */
const char *spec_rv_name(CK_RV rv);

/* Checks the table against the function table and the constant names: every
 * function has a row, every name is known.  FALSE and a message on stderr. */
gboolean spec_rv_check_table(void);

#endif /* P11MUX_SPEC_RV_H */
