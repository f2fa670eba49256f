/*
 * Decoding a call into a trace record: a small tree of values built from the
 * function table's parameter roles, which src/trace/trace-text.c and
 * src/trace/trace-json.c render.  Private to the trace.
 *
 * The tree lives in the record's arena and is freed with it.  Byte values
 * (P11MUX_TRACE_BYTES) point into the application's buffers: a record is
 * rendered before the call returns, while they are still valid.
 */
#ifndef P11MUX_TRACE_DECODE_H
#define P11MUX_TRACE_DECODE_H

#include <glib.h>

#include "call.h"
#include "p11mux-pkcs11.h"
#include "trace.h"

typedef enum {
    P11MUX_TRACE_NULL,   /* a NULL pointer */
    P11MUX_TRACE_BOOL,   /* u.boolean */
    P11MUX_TRACE_NUMBER, /* u.number: a count, a length, a size */
    P11MUX_TRACE_ID,     /* u.number: a slot id or a handle (text writes it in hex) */
    P11MUX_TRACE_NAME,   /* u.text: a constant's name, flags, a version: no quoting needed */
    P11MUX_TRACE_STRING, /* u.text, u.length: text from the application or a token, any bytes */
    P11MUX_TRACE_BYTES,  /* u.bytes: a buffer */
    P11MUX_TRACE_LIST,   /* children, in order */
    P11MUX_TRACE_STRUCT, /* children, each with a key */
    P11MUX_TRACE_ATTR,   /* u.attr and at most one child: the value when written */
} P11muxTraceKind;

typedef enum {
    P11MUX_TRACE_BYTES_REDACTED = 1 << 0,    /* never written: secret, or not known to be public */
    P11MUX_TRACE_BYTES_NULL = 1 << 1,        /* the buffer pointer was NULL (a length query) */
    P11MUX_TRACE_BYTES_UNAVAILABLE = 1 << 2, /* the length is CK_UNAVAILABLE_INFORMATION */
    P11MUX_TRACE_BYTES_SIZE = 1 << 3,        /* size holds the buffer size offered */
} P11muxTraceBytesFlags;

typedef struct P11muxTraceValue P11muxTraceValue;

struct P11muxTraceValue {
    P11muxTraceKind kind;
    const char *key; /* the member name inside a STRUCT, else NULL */
    union {
        gboolean boolean;
        CK_ULONG number;
        struct {
            const char *text;
            gsize length;
        } string;
        struct {
            const guchar *data; /* NULL: the content is not written */
            gsize shown;        /* bytes of data written (<= P11MUX_TRACE_HEX_MAX) */
            CK_ULONG length;    /* the buffer's length */
            CK_ULONG size;      /* the size offered (P11MUX_TRACE_BYTES_SIZE) */
            guint flags;        /* P11muxTraceBytesFlags */
        } bytes;
        struct {
            const char *type; /* CKA_ name */
            CK_ULONG length;  /* ulValueLen, possibly CK_UNAVAILABLE_INFORMATION */
        } attr;
    } u;
    guint n_children;
    P11muxTraceValue *children; /* first child */
    P11muxTraceValue *last;     /* last child */
    P11muxTraceValue *next;     /* next sibling */
};

typedef struct P11muxTraceArena P11muxTraceArena;

typedef struct {
    const char *function;
    gboolean entry; /* an entry record: inputs only, no rv or duration */
    gboolean own;   /* a call p11mux made itself, for the policy (P11MUX_CALL_OWN) */
    CK_RV rv;
    gint64 time_us;     /* wall clock when the call began, µs since the epoch */
    gint64 duration_us; /* monotonic */
    guint64 pid;
    guint64 tid;
    const char *backend; /* NULL when not routed */
    gboolean has_slot;
    CK_SLOT_ID slot, real_slot;
    gboolean has_session;
    CK_SESSION_HANDLE session, real_session;
    P11muxTraceValue *args; /* a STRUCT keyed by the specification's parameter names */
    P11muxTraceArena *arena;
} P11muxTraceRecord;

/* Decodes the finished call (rv: its final value) into record (uninitialised). */
void p11mux_trace_decode(P11muxTraceRecord *record, const P11muxCall *call, CK_RV rv,
                         P11muxTraceData data);
/* Decodes a call entering p11mux: its inputs only (no output is read). */
void p11mux_trace_decode_entry(P11muxTraceRecord *record, const P11muxCall *call,
                               P11muxTraceData data);
/* The kernel's id of this thread (gettid), as records give it. */
guint64 p11mux_trace_thread_id(void);
/* Renderers of a P11muxTraceEvent (src/trace/trace.h): one line each. */
void p11mux_trace_render_event_json(GString *out, const P11muxTraceEvent *event);
void p11mux_trace_render_event_text(GString *out, const P11muxTraceEvent *event);

/* The index of the function's first len-io or count-out parameter, whose
 * value before the call p11mux_trace_begin keeps in call->size_in; -1 if none. */
int p11mux_trace_size_param(const P11muxFunctionDesc *desc);

/* Frees what p11mux_trace_decode allocated. */
void p11mux_trace_record_clear(P11muxTraceRecord *record);

/* "2025-01-31T12:34:56.123456Z" into buf (at least 32 bytes). */
void p11mux_trace_format_time(gint64 time_us, char *buf, gsize size);

/* Renderers: append the record (ending with '\n') to out. */
void p11mux_trace_render_json(GString *out, const P11muxTraceRecord *record);
void p11mux_trace_render_text(GString *out, const P11muxTraceRecord *record);

/* "2.40" for a CK_VERSION into buf (at least 8 bytes). */
void p11mux_trace_format_version(const CK_VERSION *version, char *buf, gsize size);

/* Attribute types whose values may be written: P11MUX_TRACE_ATTR_SECRET
 * (default-deny) for every other type. */
typedef enum {
    P11MUX_TRACE_ATTR_SECRET,     /* never written */
    P11MUX_TRACE_ATTR_VALUE,      /* CKA_VALUE: public only in a certificate's template */
    P11MUX_TRACE_ATTR_BOOL,       /* CK_BBOOL */
    P11MUX_TRACE_ATTR_ULONG,      /* CK_ULONG number */
    P11MUX_TRACE_ATTR_CLASS,      /* CKO_ */
    P11MUX_TRACE_ATTR_KEY_TYPE,   /* CKK_ */
    P11MUX_TRACE_ATTR_CERT_TYPE,  /* CKC_ */
    P11MUX_TRACE_ATTR_HW_TYPE,    /* CKH_ */
    P11MUX_TRACE_ATTR_MECHANISM,  /* CKM_ */
    P11MUX_TRACE_ATTR_MECHANISMS, /* CK_MECHANISM_TYPE[] */
    P11MUX_TRACE_ATTR_DATE,       /* CK_DATE */
    P11MUX_TRACE_ATTR_STRING,     /* UTF-8 text */
    P11MUX_TRACE_ATTR_BYTES,      /* public bytes (hex with trace-data = hex) */
    P11MUX_TRACE_ATTR_TEMPLATE,   /* CK_ATTRIBUTE[] (wrap/unwrap/derive templates) */
} P11muxTraceAttrKind;

P11muxTraceAttrKind p11mux_trace_attr_kind(CK_ATTRIBUTE_TYPE type);

#endif /* P11MUX_TRACE_DECODE_H */
