/*
 * Reading a p11mux trace back, in either format (p11mux.conf(5), TRACE):
 * JSON, one object a line (read with JSON-GLib), or text, one block per
 * call (a header line, then lines indented by two spaces).  A file may mix
 * them; each line is recognised by its first character.
 */
#ifndef P11MUX_CLI_TRACE_READ_H
#define P11MUX_CLI_TRACE_READ_H

#include <glib.h>
#include <stdio.h>

G_BEGIN_DECLS

/* One call, as much of it as the summary needs. */
typedef struct {
    guint64 pid;
    char *function;
    char *rv; /* "CKR_OK", "CKR_VENDOR_DEFINED+0x12", ... */
    gint64 duration_us;
    char *backend;        /* nullable: the call reached no backend */
    gboolean has_session; /* the call names a p11mux session */
    guint64 session;      /* the p11mux session handle */
    char *mechanism;      /* nullable: the call's own pMechanism */
} P11muxTraceCall;

void p11mux_trace_call_clear(P11muxTraceCall *record);

typedef struct P11muxTraceReader P11muxTraceReader;

/* Reads in (transfer none: the caller closes it); name is used in messages. */
P11muxTraceReader *p11mux_trace_reader_new(FILE *in, const char *name);
void p11mux_trace_reader_free(P11muxTraceReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxTraceReader, p11mux_trace_reader_free)

typedef enum {
    P11MUX_TRACE_READ_RECORD, /* *record filled (clear it) */
    P11MUX_TRACE_READ_END,
    P11MUX_TRACE_READ_BAD,   /* a line that is no record: *why "NAME:LINE: why" (transfer full) */
    P11MUX_TRACE_READ_ERROR, /* the file cannot be read */
} P11muxTraceRead;

P11muxTraceRead p11mux_trace_reader_next(P11muxTraceReader *reader, P11muxTraceCall *record,
                                         char **why);

/* Parses one JSON trace line as JSON-GLib does for the reader: TRUE when it
 * is one JSON object (the tests of the JSON format use it). */
gboolean p11mux_trace_json_line_is_object(const char *line, gssize length, GError **error);

G_END_DECLS

#endif /* P11MUX_CLI_TRACE_READ_H */
