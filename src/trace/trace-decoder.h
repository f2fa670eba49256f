/*
 * What the files of the trace decoder share (trace-decode.c: roles and the
 * record; trace-value.c: the arena and value constructors; trace-mech.c:
 * mechanisms; trace-attr.c: templates; trace-struct.c: structures).  Private
 * to src/trace/trace-*.c.
 */
#ifndef P11MUX_TRACE_DECODER_H
#define P11MUX_TRACE_DECODER_H

#include <glib.h>

#include "call.h"
#include "constants.h"
#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"
#include "trace-decode.h"

/* One call being decoded. */
typedef struct {
    P11muxTraceArena *arena;
    const P11muxCall *call;
    const P11muxFunctionDesc *desc;
    CK_RV rv;
    gboolean entry; /* before the call: no output is read */
    P11muxTraceData data;
    int size_param; /* the parameter whose value before the call is call->size_in */
} P11muxTraceDecoder;

/* The parameter's storage: a pointer to the parameter (args holds &param). */
#define P11MUX_TRACE_ARG(d, i, type) (*(type *)(d)->call->args[i])

/* trace-value.c: the record's arena (freed by p11mux_trace_record_clear) */
P11muxTraceArena *p11mux_trace_arena_new(void);
gpointer p11mux_trace_arena_alloc(P11muxTraceArena *arena, gsize n);
const char *p11mux_trace_arena_strdup(P11muxTraceArena *arena, const char *text);

/* trace-value.c: values, allocated in the decoder's arena */
P11muxTraceValue *p11mux_trace_value_new(P11muxTraceDecoder *d, P11muxTraceKind kind);
/* child: nullable (nothing added) */
void p11mux_trace_value_add(P11muxTraceValue *parent, const char *key, P11muxTraceValue *child);
P11muxTraceValue *p11mux_trace_value_number(P11muxTraceDecoder *d, P11muxTraceKind kind,
                                            CK_ULONG number);
P11muxTraceValue *p11mux_trace_value_bool(P11muxTraceDecoder *d, gboolean boolean);
/* name: copied */
P11muxTraceValue *p11mux_trace_value_name(P11muxTraceDecoder *d, const char *name);
P11muxTraceValue *p11mux_trace_value_constant(P11muxTraceDecoder *d, P11muxConstantKind kind,
                                              CK_ULONG value);
P11muxTraceValue *p11mux_trace_value_flags(P11muxTraceDecoder *d, P11muxFlagsKind kind,
                                           CK_FLAGS flags);
P11muxTraceValue *p11mux_trace_value_version(P11muxTraceDecoder *d, const CK_VERSION *version);
/* text: not copied; trim drops the blanks and NULs padding a fixed field */
P11muxTraceValue *p11mux_trace_value_string(P11muxTraceDecoder *d, const void *text, gsize length,
                                            gboolean trim);
/* A buffer whose content is never written (secret, or not known to be public). */
P11muxTraceValue *p11mux_trace_value_redacted(P11muxTraceDecoder *d, const void *buffer,
                                              CK_ULONG length);
/* A public buffer: its content in hex with trace-data = hex. */
P11muxTraceValue *p11mux_trace_value_public(P11muxTraceDecoder *d, const void *buffer,
                                            CK_ULONG length);
/* A buffer written as its length alone (a structure holding pointers, a mis-sized value). */
P11muxTraceValue *p11mux_trace_value_length_only(P11muxTraceDecoder *d, const void *buffer,
                                                 CK_ULONG length);

typedef P11muxTraceValue *(*P11muxTraceItemFunc)(P11muxTraceDecoder *d, const CK_ULONG *items,
                                                 CK_ULONG index);
P11muxTraceValue *p11mux_trace_item_id(P11muxTraceDecoder *d, const CK_ULONG *items,
                                       CK_ULONG index);
P11muxTraceValue *p11mux_trace_item_mechanism(P11muxTraceDecoder *d, const CK_ULONG *items,
                                              CK_ULONG index);
/* A LIST of count items, cut at P11MUX_TRACE_LIST_MAX; u.number holds count. */
P11muxTraceValue *p11mux_trace_value_ulong_list(P11muxTraceDecoder *d, const CK_ULONG *items,
                                                CK_ULONG count, P11muxTraceItemFunc item);

/* trace-mech.c: a CK_MECHANISM (nullable), parameters decoded for the
 * mechanisms it knows unless !with_param (a per-message parameter, whose
 * layout is another than the mechanism's own: only its length is written) */
P11muxTraceValue *p11mux_trace_decode_mechanism(P11muxTraceDecoder *d, const CK_MECHANISM *m,
                                                gboolean with_param);

/* trace-attr.c: a template; values: its values may be read (an input, or an
 * output the call wrote); depth: 0, or 1 inside CKA_WRAP_TEMPLATE & co. */
P11muxTraceValue *p11mux_trace_decode_template(P11muxTraceDecoder *d, const CK_ATTRIBUTE *tmpl,
                                               CK_ULONG count, gboolean values, guint depth);

/* trace-struct.c: an info-out structure, told by its C type in the table
 * ("CK_TOKEN_INFO_PTR"); and a CK_SESSION_INFO */
P11muxTraceValue *p11mux_trace_decode_info(P11muxTraceDecoder *d, const char *type,
                                           const void *info);
P11muxTraceValue *p11mux_trace_decode_session_info(P11muxTraceDecoder *d,
                                                   const CK_SESSION_INFO *info);

#endif /* P11MUX_TRACE_DECODER_H */
