/*
 * Arguments for any PKCS #11 function, made from fuzzer bytes by the roles
 * of the function table (p11mux_functions[]): shared by the call-sequence
 * and the trace-decoder targets.
 *
 * The arguments are honest about memory, as an application must be: every
 * length is the length of a real buffer, every template entry points at a
 * real value, mechanism parameters that hold pointers (OAEP, PSS, GCM, CTR,
 * ECDH) are well-formed structures or a length that is not theirs.
 * Everything else (handles, flags, types, which pointers are NULL, lengths
 * smaller than the buffer, bytes) is the fuzzer's choice.
 */
#ifndef P11MUX_FUZZ_ARGS_H
#define P11MUX_FUZZ_ARGS_H

#include <glib.h>

#include "fuzz-input.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"

#define FUZZ_MAX_PARAMS 10

/* What fills secret buffers in the trace target; public bytes never hold
 * its first byte ('S' is scrubbed to 'T'), so it cannot appear in a record
 * unless a secret was written.  (Its hex could: the trace target compares
 * records made with two different secret fillings instead.) */
#define FUZZ_CANARY "S3cr3t!Zq7#W"

/* Handles to choose from (all nullable/empty), and the trace's canary mode. */
typedef struct {
    const CK_ULONG *sessions;
    guint n_sessions;
    const CK_ULONG *slots;
    guint n_slots;
    const CK_ULONG *objects;
    guint n_objects;
    gboolean canary;      /* secrets are FUZZ_CANARY, public bytes scrubbed */
    gboolean never_block; /* C_WaitForSlotEvent always gets CKF_DONT_BLOCK */
} FuzzPools;

typedef struct {
    P11muxFunctionId fn;
    CK_ULONG v[FUZZ_MAX_PARAMS]; /* the arguments, as integers */
    void *args[FUZZ_MAX_PARAMS]; /* &v[i]: what P11muxCall.args holds */
    GPtrArray *memory;           /* what the pointers point at */
    GArray *secrets;             /* FuzzSecret: the secret buffers (canary mode) */
} FuzzCall;

typedef struct {
    guint8 *data;
    gsize length;
} FuzzSecret;

/* Fill every secret buffer of call with pattern (repeated). */
void fuzz_call_fill_secrets(FuzzCall *call, const char *pattern);

/* Arguments for fn; clear with fuzz_call_clear. */
void fuzz_call_build(FuzzCall *call, P11muxFunctionId fn, FuzzInput *in, const FuzzPools *pools);
void fuzz_call_clear(FuzzCall *call);

/* Calls call->fn of list with its arguments (call-by-id.h). */
CK_RV fuzz_call_invoke(const FuzzCall *call, CK_FUNCTION_LIST_3_2_PTR list);

#endif /* P11MUX_FUZZ_ARGS_H */
