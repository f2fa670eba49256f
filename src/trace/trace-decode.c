/*
 * Decoding a finished call into a trace record, driven only by the function
 * table's parameter roles (src/core/pkcs11-functions.tab): no function is named here.
 *
 * Redaction by construction: secret-in, secret-out, state-in and state-out
 * buffers are never read, only their length; an attribute's value is read
 * only when its type is listed in p11mux_trace_attr_kind() as public
 * (default-deny, src/trace/trace-attr.c), and CKA_VALUE only in a template that
 * says it is a certificate's.  Mechanism parameters are decoded for the
 * mechanisms src/trace/trace-mech.c lists only; any other parameter is written as
 * its length.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "trace-decoder.h"

/* The parameter's storage: a pointer to the parameter (args holds &param). */
#define ARG(d, i, type) P11MUX_TRACE_ARG(d, i, type)

/* ---------------------------------------------------------------- arguments */

/* An entry record reads no output: nothing was written yet. */
static gboolean
outputs_written(const P11muxTraceDecoder *d)
{
    return !d->entry && d->rv == CKR_OK;
}

static gboolean
lengths_written(const P11muxTraceDecoder *d)
{
    return !d->entry && (d->rv == CKR_OK || d->rv == CKR_BUFFER_TOO_SMALL);
}

/* C_GetAttributeValue fills what it can also when it answers these. */
static gboolean
attribute_values_written(const P11muxTraceDecoder *d)
{
    return !d->entry && (d->rv == CKR_OK || d->rv == CKR_ATTRIBUTE_SENSITIVE ||
                         d->rv == CKR_ATTRIBUTE_TYPE_INVALID || d->rv == CKR_BUFFER_TOO_SMALL);
}

/* The value a length/count parameter gives now: the parameter itself (len,
 * count, max) or what its pointer points to (len-io, count-out). */
static gboolean
ref_value(const P11muxTraceDecoder *d, int ref, CK_ULONG *value)
{
    CK_ULONG *pointer;

    if (ref < 0) {
        return FALSE;
    }
    switch (d->desc->params[ref].role) {
    case P11MUX_ROLE_LEN:
    case P11MUX_ROLE_COUNT:
    case P11MUX_ROLE_MAX:
        *value = ARG(d, ref, CK_ULONG);
        return TRUE;
    case P11MUX_ROLE_LEN_IO:
    case P11MUX_ROLE_COUNT_OUT:
        pointer = ARG(d, ref, CK_ULONG_PTR);
        if (pointer == NULL) {
            return FALSE;
        }
        *value = *pointer;
        return TRUE;
    default:
        return FALSE;
    }
}

/* Whether ref is an output whose value is the one written by the call. */
static gboolean
ref_is_output(const P11muxTraceDecoder *d, int ref)
{
    P11muxRole role = d->desc->params[ref].role;

    return role == P11MUX_ROLE_LEN_IO || role == P11MUX_ROLE_COUNT_OUT;
}

/* An input buffer: in (public) or secret-in / state-in (redacted). */
static P11muxTraceValue *
decode_in(P11muxTraceDecoder *d, guint i, gboolean secret)
{
    const void *buffer = ARG(d, i, const void *);
    CK_ULONG length = 0;

    (void)ref_value(d, d->desc->params[i].ref, &length);
    return secret ? p11mux_trace_value_redacted(d, buffer, length)
                  : p11mux_trace_value_public(d, buffer, length);
}

/* An output buffer: out (public after a successful call) or secret-out /
 * state-out (redacted), with the size offered before the call. */
static P11muxTraceValue *
decode_out(P11muxTraceDecoder *d, guint i, gboolean secret)
{
    const void *buffer = ARG(d, i, const void *);
    int ref = d->desc->params[i].ref;
    CK_ULONG length = 0;
    P11muxTraceValue *v;
    gboolean known = ref_value(d, ref, &length) && (!ref_is_output(d, ref) || lengths_written(d));

    if (secret) {
        v = p11mux_trace_value_redacted(d, buffer, length);
    } else if (!outputs_written(d)) {
        v = p11mux_trace_value_length_only(d, buffer, length);
    } else {
        v = p11mux_trace_value_public(d, buffer, length);
    }
    if (!known) {
        v->u.bytes.flags |= P11MUX_TRACE_BYTES_UNAVAILABLE;
    }
    if (buffer != NULL && ref == d->size_param && d->call->size_in_set) {
        v->u.bytes.size = d->call->size_in;
        v->u.bytes.flags |= P11MUX_TRACE_BYTES_SIZE;
    }
    return v;
}

/* A handle written by the call (object-out, session-out, slot-out). */
static P11muxTraceValue *
decode_handle_out(P11muxTraceDecoder *d, guint i)
{
    CK_ULONG *pointer = ARG(d, i, CK_ULONG_PTR);

    if (pointer == NULL) {
        return p11mux_trace_value_new(d, P11MUX_TRACE_NULL);
    }
    return outputs_written(d) ? p11mux_trace_value_number(d, P11MUX_TRACE_ID, *pointer) : NULL;
}

/* A number written by the call (len-io, count-out not folded into a list). */
static P11muxTraceValue *
decode_number_out(P11muxTraceDecoder *d, guint i)
{
    CK_ULONG *pointer = ARG(d, i, CK_ULONG_PTR);

    if (pointer == NULL) {
        return p11mux_trace_value_new(d, P11MUX_TRACE_NULL);
    }
    return lengths_written(d) ? p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, *pointer) : NULL;
}

/* slots-out, mechanisms-out, objects-out: {count, size, null, items}; sized:
 * the count's value before the call is the list's size. */
static P11muxTraceValue *
decode_list_out(P11muxTraceDecoder *d, guint i, P11muxTraceItemFunc item, gboolean sized)
{
    const CK_ULONG *items = ARG(d, i, const CK_ULONG *);
    int ref = d->desc->params[i].ref;
    P11muxTraceValue *s = p11mux_trace_value_new(d, P11MUX_TRACE_STRUCT);
    CK_ULONG count = 0;
    gboolean known = ref_value(d, ref, &count) && lengths_written(d);

    if (known) {
        p11mux_trace_value_add(s, "count",
                               p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, count));
    }
    if (items == NULL) {
        p11mux_trace_value_add(s, "null", p11mux_trace_value_bool(d, TRUE));
    } else if (sized && ref == d->size_param && d->call->size_in_set) {
        p11mux_trace_value_add(s, "size",
                               p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, d->call->size_in));
    }
    if (known && items != NULL && outputs_written(d)) {
        p11mux_trace_value_add(s, "items", p11mux_trace_value_ulong_list(d, items, count, item));
    }
    return s;
}

/* A message function's parameter: a structure holding pointers, written as its length. */
static P11muxTraceValue *
decode_message_param(P11muxTraceDecoder *d, guint i)
{
    CK_ULONG length = 0;

    (void)ref_value(d, d->desc->params[i].ref, &length);
    return p11mux_trace_value_length_only(d, ARG(d, i, const void *), length);
}

static P11muxTraceValue *
decode_pointer(P11muxTraceDecoder *d, const void *pointer)
{
    return pointer == NULL ? p11mux_trace_value_new(d, P11MUX_TRACE_NULL)
                           : p11mux_trace_value_name(d, "set");
}

static P11muxFlagsKind
flags_kind(const char *name)
{
    static const struct {
        const char *name;
        P11muxFlagsKind kind;
    } kinds[] = {
        {"session", P11MUX_FLAGS_SESSION_INFO},  {"wait", P11MUX_FLAGS_WAIT},
        {"interface", P11MUX_FLAGS_INTERFACE},   {"message", P11MUX_FLAGS_MESSAGE},
        {"cancel", P11MUX_FLAGS_SESSION_CANCEL},
    };
    guint i;

    for (i = 0; name != NULL && i < G_N_ELEMENTS(kinds); i++) {
        if (strcmp(kinds[i].name, name) == 0) {
            return kinds[i].kind;
        }
    }
    return P11MUX_FLAGS_N_KINDS;
}

static P11muxTraceValue *
decode_flags(P11muxTraceDecoder *d, guint i)
{
    P11muxFlagsKind kind = flags_kind(d->desc->params[i].ref_name);
    CK_FLAGS flags = ARG(d, i, CK_FLAGS);
    char buf[32];

    if (kind == P11MUX_FLAGS_N_KINDS) {
        g_snprintf(buf, sizeof(buf), "0x%lx", flags);
        return p11mux_trace_value_name(d, buf);
    }
    return p11mux_trace_value_flags(d, kind, flags);
}

static P11muxTraceValue *
decode_init_args(P11muxTraceDecoder *d, guint i)
{
    const CK_C_INITIALIZE_ARGS *args = ARG(d, i, const CK_C_INITIALIZE_ARGS *);
    P11muxTraceValue *s;

    if (args == NULL) {
        return p11mux_trace_value_new(d, P11MUX_TRACE_NULL);
    }
    s = p11mux_trace_value_new(d, P11MUX_TRACE_STRUCT);
    p11mux_trace_value_add(s, "flags",
                           p11mux_trace_value_flags(d, P11MUX_FLAGS_INIT_ARGS, args->flags));
    p11mux_trace_value_add(s, "mutex_callbacks",
                           p11mux_trace_value_bool(d, args->CreateMutex != NULL));
    /* the reserved string may name files or carry a backend's init string: presence only */
    p11mux_trace_value_add(s, "pReserved", decode_pointer(d, args->pReserved));
    return s;
}

static P11muxTraceValue *
decode_interface_name(P11muxTraceDecoder *d, guint i)
{
    const char *name = ARG(d, i, const char *);

    return name == NULL ? p11mux_trace_value_new(d, P11MUX_TRACE_NULL)
                        : p11mux_trace_value_string(d, name, strnlen(name, 64), FALSE);
}

static P11muxTraceValue *
decode_version(P11muxTraceDecoder *d, guint i)
{
    const CK_VERSION *version = ARG(d, i, const CK_VERSION *);

    return version == NULL ? p11mux_trace_value_new(d, P11MUX_TRACE_NULL)
                           : p11mux_trace_value_version(d, version);
}

/* C_InitToken's label: 32 bytes, blank padded. */
static P11muxTraceValue *
decode_label(P11muxTraceDecoder *d, guint i)
{
    const char *label = ARG(d, i, const char *);

    return label == NULL ? p11mux_trace_value_new(d, P11MUX_TRACE_NULL)
                         : p11mux_trace_value_string(d, label, strnlen(label, 32), TRUE);
}

/* ---------------------------------------------------------------- structures */

static P11muxTraceValue *
decode_mechanism(P11muxTraceDecoder *d, guint i)
{
    return p11mux_trace_decode_mechanism(d, ARG(d, i, const CK_MECHANISM *),
                                         !d->desc->message_params);
}

static P11muxTraceValue *
decode_template(P11muxTraceDecoder *d, guint i, gboolean io)
{
    const CK_ATTRIBUTE *tmpl = ARG(d, i, const CK_ATTRIBUTE *);
    CK_ULONG count = 0;

    (void)ref_value(d, d->desc->params[i].ref, &count);
    return p11mux_trace_decode_template(d, tmpl, count, !io || attribute_values_written(d), 0);
}

/* info-out: the structure is told by the parameter's C type in the table. */
static P11muxTraceValue *
decode_info_out(P11muxTraceDecoder *d, guint i)
{
    const char *type = d->desc->params[i].type;
    const void *info = ARG(d, i, const void *);

    if (info == NULL) {
        return p11mux_trace_value_new(d, P11MUX_TRACE_NULL);
    }
    if (!outputs_written(d)) {
        return NULL;
    }
    return p11mux_trace_decode_info(d, type, info);
}

static P11muxTraceValue *
decode_session_info(P11muxTraceDecoder *d, guint i)
{
    const CK_SESSION_INFO *info = ARG(d, i, const CK_SESSION_INFO *);

    if (info == NULL) {
        return p11mux_trace_value_new(d, P11MUX_TRACE_NULL);
    }
    if (!outputs_written(d)) {
        return NULL;
    }
    return p11mux_trace_decode_session_info(d, info);
}

static P11muxTraceValue *
decode_interfaces_out(P11muxTraceDecoder *d, guint i)
{
    const void *list = ARG(d, i, const void *);
    P11muxTraceValue *s = p11mux_trace_value_new(d, P11MUX_TRACE_STRUCT);
    CK_ULONG count = 0;

    if (ref_value(d, d->desc->params[i].ref, &count) && lengths_written(d)) {
        p11mux_trace_value_add(s, "count",
                               p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, count));
    }
    if (list == NULL) {
        p11mux_trace_value_add(s, "null", p11mux_trace_value_bool(d, TRUE));
    }
    return s;
}

/* ---------------------------------------------------------------- roles */

/*
 * One parameter by its role; NULL when nothing is written for it (an output
 * of a failed call).  No default: a role added to the generator breaks the
 * build (-Wswitch) until it is decoded here.
 */
static P11muxTraceValue *
decode_param(P11muxTraceDecoder *d, guint i)
{
    switch (d->desc->params[i].role) {
    case P11MUX_ROLE_SESSION:
    case P11MUX_ROLE_SLOT:
    case P11MUX_ROLE_KEY:
    case P11MUX_ROLE_WRAPPING_KEY:
    case P11MUX_ROLE_UNWRAPPING_KEY:
    case P11MUX_ROLE_EXPORTED_KEY:
    case P11MUX_ROLE_OBJECT:
        return p11mux_trace_value_number(d, P11MUX_TRACE_ID, ARG(d, i, CK_ULONG));
    case P11MUX_ROLE_MAX:
    case P11MUX_ROLE_COUNT:
    case P11MUX_ROLE_LEN:
    case P11MUX_ROLE_VALUE:
        return p11mux_trace_value_number(d, P11MUX_TRACE_NUMBER, ARG(d, i, CK_ULONG));
    case P11MUX_ROLE_SLOT_OUT:
    case P11MUX_ROLE_OBJECT_OUT:
    case P11MUX_ROLE_SESSION_OUT:
        return decode_handle_out(d, i);
    case P11MUX_ROLE_LEN_IO:
    case P11MUX_ROLE_COUNT_OUT:
        return decode_number_out(d, i);
    case P11MUX_ROLE_SLOTS_OUT:
        return decode_list_out(d, i, p11mux_trace_item_id, TRUE);
    case P11MUX_ROLE_OBJECTS_OUT:
        return decode_list_out(d, i, p11mux_trace_item_id,
                               FALSE); /* its size is the max parameter */
    case P11MUX_ROLE_MECHANISMS_OUT:
        return decode_list_out(d, i, p11mux_trace_item_mechanism, TRUE);
    case P11MUX_ROLE_BOOL:
        return p11mux_trace_value_bool(d, ARG(d, i, CK_BBOOL) != CK_FALSE);
    case P11MUX_ROLE_FLAGS:
        return decode_flags(d, i);
    case P11MUX_ROLE_MECHANISM:
        return decode_mechanism(d, i);
    case P11MUX_ROLE_MECHANISM_TYPE:
        return p11mux_trace_value_constant(d, P11MUX_CONST_CKM, ARG(d, i, CK_MECHANISM_TYPE));
    case P11MUX_ROLE_TEMPLATE:
        return decode_template(d, i, FALSE);
    case P11MUX_ROLE_TEMPLATE_IO:
        return decode_template(d, i, TRUE);
    case P11MUX_ROLE_IN:
        return decode_in(d, i, FALSE);
    case P11MUX_ROLE_SECRET_IN:
    case P11MUX_ROLE_STATE_IN:
        return decode_in(d, i, TRUE);
    case P11MUX_ROLE_OUT:
        return decode_out(d, i, FALSE);
    case P11MUX_ROLE_SECRET_OUT:
    case P11MUX_ROLE_STATE_OUT:
        return decode_out(d, i, TRUE);
    case P11MUX_ROLE_PARAM:
        return decode_message_param(d, i);
    case P11MUX_ROLE_INFO_OUT:
        return decode_info_out(d, i);
    case P11MUX_ROLE_SESSION_INFO_OUT:
        return decode_session_info(d, i);
    case P11MUX_ROLE_LABEL:
        return decode_label(d, i);
    case P11MUX_ROLE_USER_TYPE:
        return p11mux_trace_value_constant(d, P11MUX_CONST_CKU, ARG(d, i, CK_USER_TYPE));
    case P11MUX_ROLE_VALIDATION_TYPE:
        return p11mux_trace_value_constant(d, P11MUX_CONST_CKS_VALIDATION, ARG(d, i, CK_ULONG));
    case P11MUX_ROLE_NOTIFY:
        return decode_pointer(d, (const void *)(gsize)ARG(d, i, CK_NOTIFY));
    case P11MUX_ROLE_APP:
    case P11MUX_ROLE_RESERVED:
    case P11MUX_ROLE_FUNCTION_LIST_OUT:
    case P11MUX_ROLE_INTERFACE_OUT:
    case P11MUX_ROLE_ASYNC_OUT: /* 3.2: CK_ASYNC_DATA not decoded yet */
        return decode_pointer(d, ARG(d, i, const void *));
    case P11MUX_ROLE_INIT_ARGS:
        return decode_init_args(d, i);
    case P11MUX_ROLE_INTERFACES_OUT:
        return decode_interfaces_out(d, i);
    case P11MUX_ROLE_INTERFACE_NAME:
    case P11MUX_ROLE_FUNCTION_NAME:
        return decode_interface_name(d, i);
    case P11MUX_ROLE_VERSION:
        return decode_version(d, i);
    }
    return NULL;
}

/* A length or count that another parameter refers to is written with that
 * parameter, not on its own. */
static gboolean
is_folded(const P11muxFunctionDesc *desc, guint i)
{
    guint j;

    for (j = 0; j < desc->n_params; j++) {
        if (desc->params[j].role != P11MUX_ROLE_FLAGS && desc->params[j].ref == (int)i) {
            return TRUE;
        }
    }
    return FALSE;
}

int
p11mux_trace_size_param(const P11muxFunctionDesc *desc)
{
    guint i;

    for (i = 0; i < desc->n_params; i++) {
        if (desc->params[i].role == P11MUX_ROLE_LEN_IO ||
            desc->params[i].role == P11MUX_ROLE_COUNT_OUT) {
            return (int)i;
        }
    }
    return -1;
}

guint64
p11mux_trace_thread_id(void)
{
#ifdef __linux__
    return (guint64)syscall(SYS_gettid);
#else
    return (guint64)(gsize)pthread_self();
#endif
}

static void
decode(P11muxTraceRecord *record, const P11muxCall *call, CK_RV rv, P11muxTraceData data,
       gboolean entry)
{
    P11muxTraceDecoder d = {0};
    guint i;

    memset(record, 0, sizeof(*record));
    record->arena = p11mux_trace_arena_new();
    d.arena = record->arena;
    d.call = call;
    d.desc = &p11mux_functions[call->fn];
    d.rv = rv;
    d.entry = entry;
    d.data = data;
    d.size_param = p11mux_trace_size_param(d.desc);

    record->function = d.desc->name;
    record->entry = entry;
    record->own = (call->steps & P11MUX_CALL_OWN) != 0;
    record->rv = rv;
    record->time_us = call->started_wall;
    record->duration_us = g_get_monotonic_time() - call->started;
    record->pid = (guint64)getpid();
    record->tid = p11mux_trace_thread_id();
    if (call->backend != NULL) {
        record->backend = call->backend->name;
        record->has_slot = TRUE;
        record->slot = call->slot;
        record->real_slot = call->real_slot;
    }
    if (call->backend != NULL && call->session != 0) {
        record->has_session = TRUE;
        record->session = call->session;
        record->real_session = call->real_session;
    }
    record->args = p11mux_trace_value_new(&d, P11MUX_TRACE_STRUCT);
    for (i = 0; i < d.desc->n_params; i++) {
        if (!is_folded(d.desc, i)) {
            p11mux_trace_value_add(record->args, d.desc->params[i].name, decode_param(&d, i));
        }
    }
}

void
p11mux_trace_decode(P11muxTraceRecord *record, const P11muxCall *call, CK_RV rv,
                    P11muxTraceData data)
{
    decode(record, call, rv, data, FALSE);
}

void
p11mux_trace_decode_entry(P11muxTraceRecord *record, const P11muxCall *call, P11muxTraceData data)
{
    decode(record, call, CKR_OK, data, TRUE);
}

void
p11mux_trace_format_time(gint64 time_us, char *buf, gsize size)
{
    time_t seconds = (time_t)(time_us / G_USEC_PER_SEC);
    struct tm tm;

    if (gmtime_r(&seconds, &tm) == NULL) {
        g_snprintf(buf, size, "%" G_GINT64_FORMAT, time_us);
        return;
    }
    g_snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
               tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(time_us % G_USEC_PER_SEC));
}

void
p11mux_trace_format_version(const CK_VERSION *version, char *buf, gsize size)
{
    g_snprintf(buf, size, "%u.%u", version->major, version->minor);
}
