/*
 * Sound arguments for any function of the function table
 * (p11mux_functions[]), built from each parameter's role by the shared
 * builder (tests/lib/args.h) with the values below: used by the
 * bad-input matrix over the mock backends (test-bad-input.c) and over real
 * modules (bad-input-real.c), which then spoil one argument per case.
 *
 * Every pointer points into the BadArgs: buffers of BAD_ARGS_BUFFER_SIZE
 * bytes, the cells of in/out lengths and counts, templates, a mechanism.
 * A length offered for an output is the whole buffer (C_GenerateRandom's:
 * 32), a count of elements BAD_ARGS_BUFFER_SIZE / 32; an input is 64 bytes
 * of 0x5a; a PIN is "9999", wrong, so that no case changes a token's PINs.
 */
#ifndef P11MUX_BAD_ARGS_H
#define P11MUX_BAD_ARGS_H

#include <glib.h>

#include "call-by-id.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"

#define BAD_ARGS_BUFFER_SIZE 512

typedef struct {
    CK_ULONG v[CALL_BY_ID_MAX_PARAMS]; /* the arguments, as integers */
    /* what the pointers point at */
    guint8 buffers[CALL_BY_ID_MAX_PARAMS][BAD_ARGS_BUFFER_SIZE] __attribute__((aligned(16)));
    CK_ULONG cells[CALL_BY_ID_MAX_PARAMS];
    CK_ATTRIBUTE templates[CALL_BY_ID_MAX_PARAMS][3];
    CK_MECHANISM mechanism;
    CK_VERSION version;
    CK_C_INITIALIZE_ARGS init_args;
    /* values the templates point at */
    CK_OBJECT_CLASS klass;
    CK_BBOOL no;
    CK_ULONG value_len;
} BadArgs;

/* What the sound arguments name, and what the two matrices choose
 * differently. */
typedef struct {
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE session;
    CK_OBJECT_HANDLE key; /* for every key role */
    CK_OBJECT_HANDLE object;
    const char *label; /* a token label: these words, padded with blanks */
    guint8 fill;       /* what every buffer holds before the call */
    /* The mechanism of a function's CK_MECHANISM parameter (nullable:
     * CKM_SHA256 for every function). */
    CK_MECHANISM_TYPE (*mechanism_for)(P11muxFunctionId fn);
    /* Fills args->templates[i] for fn, and *count. */
    void (*template_for)(BadArgs *args, guint i, P11muxFunctionId fn, CK_ULONG *count);
} BadArgsWorld;

/* Sound arguments for fn into args, naming what world names. */
void bad_args_build(BadArgs *args, P11muxFunctionId fn, const BadArgsWorld *world);

/* Template i of args: a session data object labelled "matrix" (CKA_CLASS,
 * CKA_TOKEN, CKA_LABEL); *count = 3.  For a BadArgsWorld's template_for. */
void bad_args_data_object(BadArgs *args, guint i, CK_ULONG *count);

/* TRUE when the parameter is a pointer (NULL is a case for it). */
gboolean bad_args_is_pointer(const P11muxParamDesc *p);

/* The parameter whose length or count param is; -1 if none. */
int bad_args_buffer_of(const P11muxFunctionDesc *desc, guint param);

#endif /* P11MUX_BAD_ARGS_H */
