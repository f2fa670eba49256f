/*
 * The JSON trace format: exactly one object per line.  The schema is
 * documented in p11mux.conf(5), section "JSON TRACE"; its field names are
 * stable (a change bumps P11MUX_TRACE_SCHEMA_VERSION, the "v" field).
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "constants.h"
#include "trace-decode.h"

/* Any bytes as a JSON string: valid UTF-8 kept, control characters escaped,
 * invalid bytes written as U+FFFD. */
static void
append_string(GString *out, const char *text, gsize length)
{
    const char *p = text, *end = text + length;

    g_string_append_c(out, '"');
    while (p < end) {
        gunichar c = g_utf8_get_char_validated(p, end - p);

        if (c == (gunichar)-1 || c == (gunichar)-2 || c == 0) {
            g_string_append(out, c == 0 ? "\\u0000" : "\\ufffd");
            p++;
            continue;
        }
        if (c == '"' || c == '\\') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, (char)c);
        } else if (c == '\n') {
            g_string_append(out, "\\n");
        } else if (c == '\t') {
            g_string_append(out, "\\t");
        } else if (c == '\r') {
            g_string_append(out, "\\r");
        } else if (c < 0x20 || c == 0x7f) {
            g_string_append_printf(out, "\\u%04x", c);
        } else if (c == 0x2028 || c == 0x2029) {
            g_string_append_printf(out, "\\u%04x", c);
        } else {
            g_string_append_len(out, p, g_utf8_next_char(p) - p);
        }
        p = g_utf8_next_char(p);
    }
    g_string_append_c(out, '"');
}

static void
append_key(GString *out, const char *key, gboolean *first)
{
    if (!*first) {
        g_string_append_c(out, ',');
    }
    *first = FALSE;
    if (key != NULL) {
        append_string(out, key, strlen(key));
        g_string_append_c(out, ':');
    }
}

static void
append_hex(GString *out, const guchar *data, gsize n)
{
    static const char digits[] = "0123456789abcdef";
    gsize i;

    g_string_append_c(out, '"');
    for (i = 0; i < n; i++) {
        g_string_append_c(out, digits[data[i] >> 4]);
        g_string_append_c(out, digits[data[i] & 0xf]);
    }
    g_string_append_c(out, '"');
}

/* A buffer's members (without braces); with_length FALSE: "len" is written by the caller. */
static void
append_bytes_members(GString *out, const P11muxTraceValue *v, gboolean with_length, gboolean *first)
{
    guint flags = v->u.bytes.flags;

    if (flags & P11MUX_TRACE_BYTES_UNAVAILABLE) {
        append_key(out, "unavailable", first);
        g_string_append(out, "true");
    } else if (with_length) {
        append_key(out, "len", first);
        g_string_append_printf(out, "%lu", v->u.bytes.length);
    }
    if (flags & P11MUX_TRACE_BYTES_SIZE) {
        append_key(out, "size", first);
        g_string_append_printf(out, "%lu", v->u.bytes.size);
    }
    if (flags & P11MUX_TRACE_BYTES_NULL) {
        append_key(out, "null", first);
        g_string_append(out, "true");
    }
    if (flags & P11MUX_TRACE_BYTES_REDACTED) {
        append_key(out, "redacted", first);
        g_string_append(out, "true");
    }
    if (v->u.bytes.data != NULL) {
        append_key(out, "hex", first);
        append_hex(out, v->u.bytes.data, v->u.bytes.shown);
        if (v->u.bytes.shown < v->u.bytes.length) {
            append_key(out, "truncated", first);
            g_string_append(out, "true");
        }
    }
}

static void append_value(GString *out, const P11muxTraceValue *v);

static void
append_children(GString *out, const P11muxTraceValue *v)
{
    const P11muxTraceValue *child;
    gboolean first = TRUE;

    for (child = v->children; child != NULL; child = child->next) {
        append_key(out, v->kind == P11MUX_TRACE_STRUCT ? child->key : NULL, &first);
        append_value(out, child);
    }
    if (v->kind == P11MUX_TRACE_LIST && v->u.number > v->n_children) {
        append_key(out, NULL, &first);
        g_string_append_printf(out, "{\"more\":%lu}", v->u.number - v->n_children);
    }
}

static void
append_attr(GString *out, const P11muxTraceValue *v)
{
    const P11muxTraceValue *child = v->children;
    gboolean first = TRUE;

    g_string_append_c(out, '{');
    append_key(out, "type", &first);
    append_string(out, v->u.attr.type, strlen(v->u.attr.type));
    if (v->u.attr.length != CK_UNAVAILABLE_INFORMATION) {
        append_key(out, "len", &first);
        g_string_append_printf(out, "%lu", v->u.attr.length);
    }
    if (child != NULL && child->kind == P11MUX_TRACE_BYTES) {
        append_bytes_members(out, child, FALSE, &first);
    } else if (child != NULL) {
        append_key(out, "value", &first);
        append_value(out, child);
    }
    g_string_append_c(out, '}');
}

static void
append_value(GString *out, const P11muxTraceValue *v)
{
    gboolean first = TRUE;

    switch (v->kind) {
    case P11MUX_TRACE_NULL:
        g_string_append(out, "null");
        break;
    case P11MUX_TRACE_BOOL:
        g_string_append(out, v->u.boolean ? "true" : "false");
        break;
    case P11MUX_TRACE_NUMBER:
    case P11MUX_TRACE_ID:
        g_string_append_printf(out, "%lu", v->u.number);
        break;
    case P11MUX_TRACE_NAME:
    case P11MUX_TRACE_STRING:
        append_string(out, v->u.string.text, v->u.string.length);
        break;
    case P11MUX_TRACE_BYTES:
        g_string_append_c(out, '{');
        append_bytes_members(out, v, TRUE, &first);
        g_string_append_c(out, '}');
        break;
    case P11MUX_TRACE_LIST:
        g_string_append_c(out, '[');
        append_children(out, v);
        g_string_append_c(out, ']');
        break;
    case P11MUX_TRACE_STRUCT:
        g_string_append_c(out, '{');
        append_children(out, v);
        g_string_append_c(out, '}');
        break;
    case P11MUX_TRACE_ATTR:
        append_attr(out, v);
        break;
    }
}

void
p11mux_trace_render_json(GString *out, const P11muxTraceRecord *record)
{
    g_autofree char *rv = p11mux_constant_format(P11MUX_CONST_CKR, record->rv);
    char time[40];

    p11mux_trace_format_time(record->time_us, time, sizeof(time));
    g_string_append_printf(out,
                           "{\"v\":%d,\"time\":\"%s\",\"pid\":%" G_GUINT64_FORMAT
                           ",\"tid\":%" G_GUINT64_FORMAT ",\"function\":\"%s\"",
                           P11MUX_TRACE_SCHEMA_VERSION, time, record->pid, record->tid,
                           record->function);
    if (record->entry) {
        g_string_append(out, ",\"event\":\"enter\"");
    } else {
        g_string_append_printf(out, ",\"rv\":\"%s\",\"duration_us\":%" G_GINT64_FORMAT, rv,
                               record->duration_us);
    }
    if (record->own) {
        g_string_append(out, ",\"by\":\"p11mux\"");
    }
    if (record->backend != NULL) {
        g_string_append(out, ",\"backend\":");
        append_string(out, record->backend, strlen(record->backend));
    }
    if (record->has_slot) {
        g_string_append_printf(out, ",\"slot\":%lu,\"backend_slot\":%lu", record->slot,
                               record->real_slot);
    }
    if (record->has_session) {
        g_string_append_printf(out, ",\"session\":%lu,\"backend_session\":%lu", record->session,
                               record->real_session);
    }
    g_string_append(out, ",\"args\":");
    append_value(out, record->args);
    g_string_append(out, "}\n");
}

static void
append_member(GString *out, const char *key, const char *value)
{
    if (value != NULL) {
        g_string_append_printf(out, ",\"%s\":", key);
        append_string(out, value, strlen(value));
    }
}

void
p11mux_trace_render_event_json(GString *out, const P11muxTraceEvent *event)
{
    char time[40];

    p11mux_trace_format_time(event->time_us != 0 ? event->time_us : g_get_real_time(), time,
                             sizeof(time));
    g_string_append_printf(
        out, "{\"v\":%d,\"time\":\"%s\",\"pid\":%" G_GUINT64_FORMAT ",\"tid\":%" G_GUINT64_FORMAT,
        P11MUX_TRACE_SCHEMA_VERSION, time, (guint64)getpid(),
        event->tid != 0 ? event->tid : p11mux_trace_thread_id());
    append_member(out, "event", event->event);
    append_member(out, "function", event->function);
    append_member(out, "backend", event->backend);
    append_member(out, "outcome", event->outcome);
    if (event->duration_us >= 0) {
        g_string_append_printf(out, ",\"%s\":%" G_GINT64_FORMAT,
                               g_strcmp0(event->event, "slow") == 0 ? "running_us" : "duration_us",
                               event->duration_us);
    }
    append_member(out, "message", event->message);
    g_string_append(out, "}\n");
}
