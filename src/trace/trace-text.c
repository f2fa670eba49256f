/*
 * The text trace format: one block per call, in the spirit of OpenSC's
 * pkcs11-spy but denser.  The first line, unindented, says when, who, what
 * and the result; the next, indented, where it went and each argument:
 *
 *   2025-01-31T12:34:56.123456Z pid 4242 tid 4243 C_SignInit -> CKR_OK (17 us)
 *     backend: softhsm slot 0x2d1e4f6a (0x5e9c2d1b) session 0x100001 (0x2)
 *     hSession: 0x100001
 *     pMechanism: CKM_ECDSA param_len=0
 *     hKey: 0x2
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "constants.h"
#include "trace-decode.h"

/* Text from an application or token, quoted: printable UTF-8 kept,
 * everything else (control characters, invalid bytes) as \xNN. */
static void
append_quoted(GString *out, const char *text, gsize length)
{
    const char *p = text, *end = text + length;

    g_string_append_c(out, '"');
    while (p < end) {
        gunichar c = g_utf8_get_char_validated(p, end - p);

        if (c == (gunichar)-1 || c == (gunichar)-2 || !g_unichar_isprint(c)) {
            g_string_append_printf(out, "\\x%02x", (guchar)*p);
            p++;
            continue;
        }
        if (c == '"' || c == '\\') {
            g_string_append_c(out, '\\');
        }
        g_string_append_len(out, p, g_utf8_next_char(p) - p);
        p = g_utf8_next_char(p);
    }
    g_string_append_c(out, '"');
}

static void
append_bytes(GString *out, const P11muxTraceValue *v)
{
    static const char digits[] = "0123456789abcdef";
    guint flags = v->u.bytes.flags;
    gsize i;

    g_string_append_c(out, '<');
    if (flags & P11MUX_TRACE_BYTES_NULL) {
        g_string_append(out, "NULL, ");
    }
    if (flags & P11MUX_TRACE_BYTES_REDACTED) {
        g_string_append(out, "redacted, ");
    }
    if (flags & P11MUX_TRACE_BYTES_UNAVAILABLE) {
        g_string_append(out, "unavailable");
    } else {
        g_string_append_printf(out, "%lu bytes", v->u.bytes.length);
    }
    if (flags & P11MUX_TRACE_BYTES_SIZE) {
        g_string_append_printf(out, ", buffer %lu", v->u.bytes.size);
    }
    g_string_append_c(out, '>');
    if (v->u.bytes.data != NULL && v->u.bytes.shown > 0) {
        g_string_append_c(out, ' ');
        for (i = 0; i < v->u.bytes.shown; i++) {
            g_string_append_c(out, digits[v->u.bytes.data[i] >> 4]);
            g_string_append_c(out, digits[v->u.bytes.data[i] & 0xf]);
        }
        if (v->u.bytes.shown < v->u.bytes.length) {
            g_string_append(out, "...");
        }
    }
}

static void append_value(GString *out, const P11muxTraceValue *v, guint indent);

static gboolean
is_block(const P11muxTraceValue *list)
{
    const P11muxTraceValue *child;

    for (child = list->children; child != NULL; child = child->next) {
        if (child->kind == P11MUX_TRACE_ATTR || child->kind == P11MUX_TRACE_STRUCT ||
            child->kind == P11MUX_TRACE_LIST) {
            return TRUE;
        }
    }
    return FALSE;
}

/* A list of attributes (or structures): a count, then one item a line. */
static void
append_block_list(GString *out, const P11muxTraceValue *v, guint indent)
{
    const P11muxTraceValue *child;
    gboolean attrs = v->children->kind == P11MUX_TRACE_ATTR;
    CK_ULONG total = MAX(v->u.number, v->n_children);

    g_string_append_printf(out, "%lu %s", total,
                           attrs ? (total == 1 ? "attribute" : "attributes")
                                 : (total == 1 ? "item" : "items"));
    for (child = v->children; child != NULL; child = child->next) {
        g_string_append_c(out, '\n');
        g_string_append_printf(out, "%*s", (int)indent + 2, "");
        append_value(out, child, indent + 2);
    }
    if (total > v->n_children) {
        g_string_append_printf(out, "\n%*s... %lu more", (int)indent + 2, "",
                               total - v->n_children);
    }
}

static void
append_list(GString *out, const P11muxTraceValue *v, guint indent)
{
    const P11muxTraceValue *child;

    if (is_block(v)) {
        append_block_list(out, v, indent);
        return;
    }
    g_string_append_c(out, '[');
    for (child = v->children; child != NULL; child = child->next) {
        if (child != v->children) {
            g_string_append_c(out, ' ');
        }
        append_value(out, child, indent);
    }
    if (v->u.number > v->n_children) {
        g_string_append_printf(out, " ... %lu more", v->u.number - v->n_children);
    }
    g_string_append_c(out, ']');
}

/* {key=value ...}; a mechanism reads "CKM_X key=value ..." */
static void
append_struct(GString *out, const P11muxTraceValue *v, guint indent)
{
    const P11muxTraceValue *child = v->children;
    gboolean headed = child != NULL && g_strcmp0(child->key, "mechanism") == 0;

    if (headed) {
        append_value(out, child, indent);
        child = child->next;
    } else {
        g_string_append_c(out, '{');
    }
    for (; child != NULL; child = child->next) {
        if (headed || child != v->children) {
            g_string_append_c(out, ' ');
        }
        g_string_append_printf(out, "%s=", child->key);
        append_value(out, child, indent);
    }
    if (!headed) {
        g_string_append_c(out, '}');
    }
}

static void
append_attr(GString *out, const P11muxTraceValue *v, guint indent)
{
    g_string_append(out, v->u.attr.type);
    if (v->children != NULL) {
        g_string_append(out, " = ");
        append_value(out, v->children, indent);
    } else if (v->u.attr.length == CK_UNAVAILABLE_INFORMATION) {
        g_string_append(out, " <unavailable>");
    } else {
        g_string_append_printf(out, " <%lu bytes>", v->u.attr.length);
    }
}

static void
append_value(GString *out, const P11muxTraceValue *v, guint indent)
{
    switch (v->kind) {
    case P11MUX_TRACE_NULL:
        g_string_append(out, "NULL");
        break;
    case P11MUX_TRACE_BOOL:
        g_string_append(out, v->u.boolean ? "true" : "false");
        break;
    case P11MUX_TRACE_NUMBER:
        g_string_append_printf(out, "%lu", v->u.number);
        break;
    case P11MUX_TRACE_ID:
        g_string_append_printf(out, "0x%lx", v->u.number);
        break;
    case P11MUX_TRACE_NAME:
        g_string_append_len(out, v->u.string.text, (gssize)v->u.string.length);
        break;
    case P11MUX_TRACE_STRING:
        append_quoted(out, v->u.string.text, v->u.string.length);
        break;
    case P11MUX_TRACE_BYTES:
        append_bytes(out, v);
        break;
    case P11MUX_TRACE_LIST:
        append_list(out, v, indent);
        break;
    case P11MUX_TRACE_STRUCT:
        append_struct(out, v, indent);
        break;
    case P11MUX_TRACE_ATTR:
        append_attr(out, v, indent);
        break;
    }
}

static void
append_route(GString *out, const P11muxTraceRecord *record)
{
    if (record->backend == NULL) {
        return;
    }
    /* a backend's name is [A-Za-z0-9_.-]+ (conf.c) */
    g_string_append_printf(out, "  backend: %s", record->backend);
    if (record->has_slot) {
        g_string_append_printf(out, " slot 0x%lx (0x%lx)", record->slot, record->real_slot);
    }
    if (record->has_session) {
        g_string_append_printf(out, " session 0x%lx (0x%lx)", record->session,
                               record->real_session);
    }
    g_string_append_c(out, '\n');
}

void
p11mux_trace_render_text(GString *out, const P11muxTraceRecord *record)
{
    g_autofree char *rv = p11mux_constant_format(P11MUX_CONST_CKR, record->rv);
    const P11muxTraceValue *arg;
    char time[40];

    p11mux_trace_format_time(record->time_us, time, sizeof(time));
    if (record->entry) {
        g_string_append_printf(
            out, "%s pid %" G_GUINT64_FORMAT " tid %" G_GUINT64_FORMAT " %s entering\n", time,
            record->pid, record->tid, record->function);
    } else {
        g_string_append_printf(out,
                               "%s pid %" G_GUINT64_FORMAT " tid %" G_GUINT64_FORMAT
                               " %s -> %s (%" G_GINT64_FORMAT " us)\n",
                               time, record->pid, record->tid, record->function, rv,
                               record->duration_us);
    }
    if (record->own) {
        g_string_append(out, "  by: p11mux (for the policy)\n");
    }
    append_route(out, record);
    for (arg = record->args->children; arg != NULL; arg = arg->next) {
        g_string_append_printf(out, "  %s: ", arg->key);
        append_value(out, arg, 2);
        g_string_append_c(out, '\n');
    }
}

void
p11mux_trace_render_event_text(GString *out, const P11muxTraceEvent *event)
{
    char time[40];

    p11mux_trace_format_time(event->time_us != 0 ? event->time_us : g_get_real_time(), time,
                             sizeof(time));
    g_string_append_printf(out, "%s pid %" G_GUINT64_FORMAT " tid %" G_GUINT64_FORMAT " %s", time,
                           (guint64)getpid(),
                           event->tid != 0 ? event->tid : p11mux_trace_thread_id(), event->event);
    if (event->function != NULL) {
        g_string_append_printf(out, " %s", event->function);
    }
    if (event->backend != NULL) {
        g_string_append_printf(out, " backend %s", event->backend);
    }
    if (event->outcome != NULL) {
        g_string_append_printf(out, " %s", event->outcome);
    }
    if (event->duration_us >= 0) {
        g_string_append_printf(out, " (%" G_GINT64_FORMAT " us)", event->duration_us);
    }
    if (event->message != NULL) {
        g_string_append(out, ": ");
        append_quoted(out, event->message, strlen(event->message));
    }
    g_string_append_c(out, '\n');
}
