/*
 * Arguments for any function of the function table (p11mux_functions[]),
 * built from each parameter's role: shared by the bad-input matrices
 * (tests/hardening/bad-args.[ch]: sound values, then one spoiled per case)
 * and the fuzz targets (tests/fuzz/fuzz-args.[ch]: values from fuzzer
 * bytes).
 *
 * args_build() walks the parameters in order and says, by role, what kind
 * of value each one needs; an ArgsSource makes the values.  Lengths and
 * counts are set with the buffer, list or template they describe; the
 * callbacks are called in parameter order, so a source that reads its
 * values from a stream (the fuzzer's bytes) reads them in that order.
 * Roles that no test sets (CK_NOTIFY, pApplication, init args, reserved)
 * are 0.
 */
#ifndef P11MUX_ARGS_H
#define P11MUX_ARGS_H

#include <glib.h>

#include "call-by-id.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"

/* Where the values come from; data is args_build's.  A pointer value is
 * returned as a CK_ULONG (call-by-id.h), 0 for NULL. */
typedef struct {
    /* A session, slot, key (every key role) or object handle. */
    CK_ULONG (*handle)(void *data, P11muxRole role);
    /* A CK_BBOOL. */
    CK_ULONG (*boolean)(void *data);
    /* Flags of the kind the table names ("session", "wait", ...). */
    CK_ULONG (*flags)(void *data, const char *kind);
    /* A CK_MECHANISM pointer for fn. */
    CK_ULONG (*mechanism)(void *data, P11muxFunctionId fn);
    /* A CK_MECHANISM_TYPE. */
    CK_ULONG (*mechanism_type)(void *data);
    /* A number of role: a CK_USER_TYPE, a value the table gives no meaning,
     * a validation flags type. */
    CK_ULONG (*number)(void *data, P11muxRole role);
    /* A template for parameter i of fn, its count into *count; io: one
     * whose values are written (C_GetAttributeValue). */
    CK_ULONG (*template_for)
    (void *data, P11muxFunctionId fn, guint i, gboolean io, CK_ULONG *count);
    /* An input buffer for parameter i (role in, param, state-in or
     * secret-in), its length into *length. */
    CK_ULONG (*input)(void *data, guint i, P11muxRole role, CK_ULONG *length);
    /* An output buffer for parameter i, of elements of element bytes, into
     * v[i], and what describes its size into v[ref]: the length itself if
     * plain_length (C_GenerateRandom), else a pointer to a cell holding it. */
    void (*output)(void *data, CK_ULONG *v, guint i, guint ref, P11muxRole role, gsize element,
                   gboolean plain_length);
    /* ulMaxObjectCount, room being the elements the objects-out buffer
     * holds (0 if it or its count cell is NULL). */
    CK_ULONG (*max)(void *data, CK_ULONG room);
    /* A length or count cell for parameter i that no buffer refers to
     * (C_GetObjectSize's pulSize). */
    CK_ULONG (*cell)(void *data, guint i);
    /* Where a single value of at most size bytes is written for parameter i
     * (a handle, an info structure, a function list pointer). */
    CK_ULONG (*out_pointer)(void *data, guint i, gsize size);
    /* A 32-byte token label for parameter i. */
    CK_ULONG (*label)(void *data, guint i);
    /* A string of role: an interface name (C_GetInterface), a function
     * name (the 3.2 C_Async* functions). */
    CK_ULONG (*name)(void *data, P11muxRole role);
    /* A CK_VERSION pointer. */
    CK_ULONG (*version)(void *data);
} ArgsSource;

/* The bytes of one element of an output buffer or list of role (1 for a
 * byte buffer); 0 if role is no output buffer or list. */
gsize args_element_size(P11muxRole role);

/* The ArgsSource of the callbacks PREFIX_handle ... PREFIX_version, in the
 * order of the members. */
#define ARGS_SOURCE_OF(prefix)                                                                     \
    {                                                                                              \
        prefix##_handle, prefix##_boolean, prefix##_flags, prefix##_mechanism,                     \
            prefix##_mechanism_type, prefix##_number, prefix##_template, prefix##_input,           \
            prefix##_output, prefix##_max, prefix##_cell, prefix##_out_pointer, prefix##_label,    \
            prefix##_name, prefix##_version                                                        \
    }

/* Arguments for fn into v[0 .. n_params-1] (v zeroed by the caller). */
void args_build(CK_ULONG *v, P11muxFunctionId fn, const ArgsSource *source, void *data);

#endif /* P11MUX_ARGS_H */
