/*
 * The trace: its destinations, its seams in the router, and the record of a
 * call built in memory and written whole.
 *
 * Lock order: trace->lock is a leaf, held only around write(2); no other
 * p11mux lock is taken under it and no backend is called under it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "trace-decode.h"
#include "trace.h"
#include "trace-path.h"

typedef enum {
    SINK_STDERR,
    SINK_SYSLOG,
    SINK_FILE,
    SINK_NONE, /* trace = off with slow-call set: the watch without records */
} Sink;

struct P11muxTrace {
    P11muxTraceFormat format;
    P11muxTraceData data;
    Sink sink;
    int fd; /* stderr: 2; a file: ours; syslog: -1 */
    GMutex lock;
    gboolean entry;          /* trace-entry: a record when a call enters */
    P11muxTraceWatch *watch; /* nullable: slow-call */
};

#define TRACE_ERROR (trace_error_quark())
static GQuark trace_error_quark(void);
G_DEFINE_QUARK(p11mux - trace - error - quark, trace_error)

static gboolean
parse_format(const char *text, P11muxTraceFormat *format)
{
    if (g_strcmp0(text, "text") == 0 || text == NULL) {
        *format = P11MUX_TRACE_FORMAT_TEXT;
    } else if (strcmp(text, "json") == 0) {
        *format = P11MUX_TRACE_FORMAT_JSON;
    } else {
        return FALSE;
    }
    return TRUE;
}

static gboolean
parse_data(const char *text, P11muxTraceData *data)
{
    if (g_strcmp0(text, "length") == 0 || text == NULL) {
        *data = P11MUX_TRACE_DATA_LENGTH;
    } else if (strcmp(text, "hex") == 0) {
        *data = P11MUX_TRACE_DATA_HEX;
    } else {
        return FALSE;
    }
    return TRUE;
}

/* A regular file must be ours (or root's). */
static gboolean
check_owner(P11muxTrace *trace, const char *path, GError **error)
{
    struct stat st;

    if (fstat(trace->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid != geteuid() &&
        st.st_uid != 0) {
        g_set_error(error, TRACE_ERROR, 0, "trace: %s belongs to another user", path);
        close(trace->fd);
        trace->fd = -1;
        return FALSE;
    }
    return TRUE;
}

static gboolean
open_destination(P11muxTrace *trace, const char *destination, GError **error)
{
    g_autofree char *path = NULL;

    if (strcmp(destination, "stderr") == 0) {
        trace->sink = SINK_STDERR;
        trace->fd = STDERR_FILENO;
        return TRUE;
    }
    if (strcmp(destination, "syslog") == 0) {
        trace->sink = SINK_SYSLOG;
        return TRUE;
    }
    if (!g_str_has_prefix(destination, "file:")) {
        g_set_error(error, TRACE_ERROR, 0,
                    "trace: '%s' is not off, stderr, syslog or file:/ABSOLUTE/PATH", destination);
        return FALSE;
    }
    /* %r %u %U %p %h, per user and process (trace-path.h) */
    path = p11mux_trace_path_expand(destination + 5, error);
    if (path == NULL) {
        return FALSE;
    }
    trace->sink = SINK_FILE;
    /* not through a symbolic link, and not into another user's file: a
     * trace in a shared directory such as /tmp must not be redirected */
    trace->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
    if (trace->fd < 0) {
        int saved = errno;

        g_set_error(error, TRACE_ERROR, 0, "trace: cannot open %s: %s", path, g_strerror(saved));
        return FALSE;
    }
    return check_owner(trace, path, error);
}

P11muxTrace *
p11mux_trace_new(const char *destination, const char *format, const char *data, GError **error)
{
    g_autoptr(P11muxTrace) trace = NULL;

    g_return_val_if_fail(destination != NULL, NULL);
    trace = g_new0(P11muxTrace, 1);
    trace->fd = -1;
    g_mutex_init(&trace->lock);
    if (!parse_format(format, &trace->format)) {
        g_set_error(error, TRACE_ERROR, 0, "trace-format: '%s' is not text or json", format);
        return NULL;
    }
    if (!parse_data(data, &trace->data)) {
        g_set_error(error, TRACE_ERROR, 0, "trace-data: '%s' is not length or hex", data);
        return NULL;
    }
    if (!open_destination(trace, destination, error)) {
        return NULL;
    }
    return g_steal_pointer(&trace);
}

void
p11mux_trace_free(P11muxTrace *trace)
{
    if (trace == NULL) {
        return;
    }
    /* the watch first: its thread writes to the trace */
    p11mux_trace_watch_free(trace->watch);
    if (trace->sink == SINK_FILE && trace->fd >= 0) {
        close(trace->fd);
    }
    g_mutex_clear(&trace->lock);
    g_free(trace);
}

gboolean
p11mux_trace_attach(P11muxRouter *router, GError **error)
{
    const P11muxConf *conf = router->conf;
    const P11muxConfValue *origin;
    GError *local = NULL;
    P11muxTrace *trace;

    if ((conf->trace == NULL || strcmp(conf->trace, "off") == 0) && conf->slow_call_us == 0) {
        return TRUE;
    }
    if (conf->trace == NULL || strcmp(conf->trace, "off") == 0) {
        /* slow-call alone: the watch, no records */
        trace = g_new0(P11muxTrace, 1);
        trace->fd = -1;
        trace->sink = SINK_NONE;
        g_mutex_init(&trace->lock);
    } else {
        trace = p11mux_trace_new(conf->trace, conf->trace_format, conf->trace_data, &local);
    }
    if (trace == NULL) {
        origin = p11mux_conf_lookup(conf, "global", "trace");
        if (origin != NULL && origin->origin.file != NULL) {
            g_propagate_prefixed_error(error, local, "%s:%d: ", origin->origin.file,
                                       origin->origin.line);
        } else {
            g_propagate_error(error, local);
        }
        return FALSE;
    }
    router->trace = trace;
    router->begin = p11mux_trace_begin;
    router->end = p11mux_trace_end;
    trace->entry = conf->trace_entry && trace->sink != SINK_NONE;
    /* one watchdog thread, none when the application forbids threads */
    if (conf->slow_call_us > 0 && !router->cant_create_threads) {
        trace->watch = p11mux_trace_watch_new(trace, conf->slow_call_us, router->report);
    }
    if (trace->entry || trace->watch != NULL) {
        router->enter = p11mux_trace_enter;
    }
    return TRUE;
}

void
p11mux_trace_detach(P11muxRouter *router)
{
    if (router->trace == NULL) {
        return;
    }
    router->begin = NULL;
    router->end = NULL;
    router->enter = NULL;
    p11mux_trace_free(router->trace);
    router->trace = NULL;
}

void
p11mux_trace_begin(P11muxCall *call)
{
    int size_param = p11mux_trace_size_param(&p11mux_functions[call->fn]);
    CK_ULONG *size;

    call->started_wall = g_get_real_time();
    call->started = g_get_monotonic_time();
    call->size_in_set = FALSE;
    call->watched = FALSE; /* the enter seam may watch it */
    if (size_param >= 0) {
        size = *(CK_ULONG_PTR *)call->args[size_param];
        if (size != NULL) {
            call->size_in = *size;
            call->size_in_set = TRUE;
        }
    }
}

char *
p11mux_trace_format(const P11muxTrace *trace, const P11muxCall *call, CK_RV rv)
{
    GString *out = g_string_sized_new(512);
    P11muxTraceRecord record;

    p11mux_trace_decode(&record, call, rv, trace->data);
    if (trace->format == P11MUX_TRACE_FORMAT_JSON) {
        p11mux_trace_render_json(out, &record);
    } else {
        p11mux_trace_render_text(out, &record);
    }
    p11mux_trace_record_clear(&record);
    return g_string_free(out, FALSE);
}

/* The whole record; a short write (a pipe, a signal) continues where it stopped. */
static void
write_all(int fd, const char *data, gsize length)
{
    while (length > 0) {
        ssize_t n = write(fd, data, length);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return; /* nowhere to report it: the trace is the report */
        }
        data += n;
        length -= (gsize)n;
    }
}

void
p11mux_trace_write(P11muxTrace *trace, const char *record, gsize length)
{
    if (trace->sink == SINK_NONE) {
        return;
    }
    if (trace->sink == SINK_SYSLOG) {
        /* one message per record; syslog(3) is thread-safe */
        while (length > 0 && record[length - 1] == '\n') {
            length--;
        }
        syslog(LOG_USER | LOG_INFO, "p11mux: %.*s", (int)MIN(length, (gsize)G_MAXINT), record);
        return;
    }
    g_mutex_lock(&trace->lock);
    write_all(trace->fd, record, length);
    g_mutex_unlock(&trace->lock);
}

void
p11mux_trace_end(P11muxCall *call, CK_RV rv)
{
    P11muxTrace *trace = call->router->trace;
    char *record;

    if (trace == NULL) {
        return;
    }
    if (call->watched) {
        p11mux_trace_watch_remove(trace->watch, call);
    }
    if (trace->sink == SINK_NONE) {
        return;
    }
    record = p11mux_trace_format(trace, call, rv);
    p11mux_trace_write(trace, record, strlen(record));
    g_free(record);
}

/* C_Initialize has its record when it returns: it enters before the trace exists. */
void
p11mux_trace_enter(P11muxCall *call)
{
    P11muxTrace *trace = call->router->trace;
    P11muxTraceRecord record;
    GString *out;

    if (trace == NULL || call->fn == P11MUX_FN_C_Initialize) {
        return;
    }
    if (trace->watch != NULL) {
        p11mux_trace_watch_add(trace->watch, call);
    }
    if (!trace->entry) {
        return;
    }
    out = g_string_sized_new(512);
    p11mux_trace_decode_entry(&record, call, trace->data);
    if (trace->format == P11MUX_TRACE_FORMAT_JSON) {
        p11mux_trace_render_json(out, &record);
    } else {
        p11mux_trace_render_text(out, &record);
    }
    p11mux_trace_record_clear(&record);
    /* one write(2): in the kernel before the backend sees the call */
    p11mux_trace_write(trace, out->str, out->len);
    g_string_free(out, TRUE);
}

void
p11mux_trace_event(P11muxTrace *trace, const P11muxTraceEvent *event)
{
    GString *out;

    if (trace == NULL || trace->sink == SINK_NONE) {
        return;
    }
    out = g_string_sized_new(256);
    if (trace->format == P11MUX_TRACE_FORMAT_JSON) {
        p11mux_trace_render_event_json(out, event);
    } else {
        p11mux_trace_render_event_text(out, event);
    }
    p11mux_trace_write(trace, out->str, out->len);
    g_string_free(out, TRUE);
}
