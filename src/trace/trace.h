/*
 * The trace: every call as the application sees it, decoded from the
 * function table's parameter roles (src/trace/trace-decode.c), written as text or
 * JSON (src/trace/trace-text.c, src/trace/trace-json.c) to stderr, syslog or a file.
 *
 * Redaction is by construction: the decoder never reads a secret-in,
 * secret-out or state buffer, nor the value of an attribute type that is not
 * known to be public; it writes their length only, whatever trace-data says.
 *
 * A record is built in memory completely, then written with one write(2)
 * (one syslog(3) call) under the trace's lock, so records from concurrent
 * threads never interleave.  The lock is a leaf: nothing else is taken while
 * it is held, and it is never held across a backend call.
 */
#ifndef P11MUX_TRACE_H
#define P11MUX_TRACE_H

#include <glib.h>

#include "call.h"
#include "p11mux-pkcs11.h"
#include "router.h"

/* A byte buffer written with trace-data = hex shows at most this many bytes. */
#define P11MUX_TRACE_HEX_MAX 256

/* Lists (templates, slot, mechanism and object lists) show at most this many items. */
#define P11MUX_TRACE_LIST_MAX 256

/* The JSON records' "v" field. */
#define P11MUX_TRACE_SCHEMA_VERSION 1

typedef enum {
    P11MUX_TRACE_FORMAT_TEXT,
    P11MUX_TRACE_FORMAT_JSON,
} P11muxTraceFormat;

typedef enum {
    P11MUX_TRACE_DATA_LENGTH, /* buffers: length only */
    P11MUX_TRACE_DATA_HEX,    /* public buffers in hex, cut at P11MUX_TRACE_HEX_MAX */
} P11muxTraceData;

typedef struct P11muxTrace P11muxTrace;
typedef struct P11muxTraceWatch P11muxTraceWatch;

/*
 * A trace writing to destination ("stderr", "syslog", "file:/PATH"; the file
 * is opened O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode 0600) in format
 * ("text", "json") with data ("length", "hex").  transfer full; NULL with
 * error set when a value is unknown or the file cannot be opened.
 */
P11muxTrace *p11mux_trace_new(const char *destination, const char *format, const char *data,
                              GError **error);
void p11mux_trace_free(P11muxTrace *trace);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxTrace, p11mux_trace_free)

/*
 * From router->conf: when trace is not "off", a new trace in router->trace
 * and the begin and end seams.  FALSE with error set when the trace cannot
 * be set up (the destination cannot be opened).
 */
gboolean p11mux_trace_attach(P11muxRouter *router, GError **error);

/* Frees router->trace (nullable) and clears the seams.  Idempotent. */
void p11mux_trace_detach(P11muxRouter *router);

/* The seams (router->begin, router->end); exported for tests. */
void p11mux_trace_begin(P11muxCall *call);
void p11mux_trace_end(P11muxCall *call, CK_RV rv);

/*
 * The record of a finished call, as trace would write it: one JSON line, or a
 * text block, each ending with '\n'.  call->started* must have been set by
 * p11mux_trace_begin.  transfer full.
 */
char *p11mux_trace_format(const P11muxTrace *trace, const P11muxCall *call, CK_RV rv);

/* Writes one finished record (built by p11mux_trace_format) with one write(2). */
void p11mux_trace_write(P11muxTrace *trace, const char *record, gsize length);

/* The enter seam (router->enter): with trace-entry, the record of a call
 * entering p11mux (its inputs decoded and redacted as in a return record,
 * the backend it goes to), written before the backend sees it; with
 * slow-call, the call is watched until p11mux_trace_end. */
void p11mux_trace_enter(P11muxCall *call);

/*
 * A record that is not a call's: a backend's outcome in C_Initialize
 * ("backend"), an error that fails C_Initialize ("init-error"), a call
 * still running after slow-call ("slow").  Text: one line; JSON: one object
 * with "event".  Fields are nullable / negative when they do not apply.
 */
typedef struct {
    const char *event;    /* "backend", "init-error", "slow" */
    const char *function; /* nullable: C_Xxx */
    const char *backend;  /* nullable */
    const char *outcome;  /* nullable: "loaded", "skipped", "timed-out" */
    const char *message;  /* nullable: free text (why, interface, slots) */
    guint64 tid;          /* 0: this thread */
    gint64 duration_us;   /* < 0: none (how long it took, or has run so far) */
    gint64 time_us;       /* 0: now (g_get_real_time) */
} P11muxTraceEvent;

/* Writes event (trace nullable: nothing) as one record. */
void p11mux_trace_event(P11muxTrace *trace, const P11muxTraceEvent *event);

/* src/trace/trace-watch.c: one watchdog thread reporting calls that run longer
 * than slow_us (a "slow" record and a message through report, nullable),
 * once each, while they run. */
P11muxTraceWatch *p11mux_trace_watch_new(P11muxTrace *trace, gint64 slow_us,
                                         void (*report)(const char *message));
void p11mux_trace_watch_free(P11muxTraceWatch *watch); /* stops and joins the thread */
void p11mux_trace_watch_add(P11muxTraceWatch *watch, P11muxCall *call);
void p11mux_trace_watch_remove(P11muxTraceWatch *watch, P11muxCall *call);

#endif /* P11MUX_TRACE_H */
