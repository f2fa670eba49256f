/*
 * Reading a trace back: JSON lines with JSON-GLib, text blocks by their
 * header (trace-read.h).
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "trace-read.h"

struct P11muxTraceReader {
    FILE *in;
    char *name;
    guint number;  /* of the line last read */
    char *pending; /* a line read ahead (the header after a text block) */
    guint pending_number;
    GRegex *header; /* TIME pid P tid T FUNCTION -> RV (D us) */
    GRegex *event;  /* the first line of any text record: entries and events too */
};

void
p11mux_trace_call_clear(P11muxTraceCall *record)
{
    g_free(record->function);
    g_free(record->rv);
    g_free(record->backend);
    g_free(record->mechanism);
    memset(record, 0, sizeof(*record));
}

P11muxTraceReader *
p11mux_trace_reader_new(FILE *in, const char *name)
{
    P11muxTraceReader *reader = g_new0(P11muxTraceReader, 1);

    reader->in = in;
    reader->name = g_strdup(name);
    reader->header = g_regex_new("^\\S+ pid (\\d+) tid \\d+ (C_\\w+) -> (\\S+) \\((\\d+) us\\)$",
                                 G_REGEX_OPTIMIZE, 0, NULL);
    reader->event = g_regex_new("^\\S+ pid \\d+ tid \\d+ \\S", G_REGEX_OPTIMIZE, 0, NULL);
    return reader;
}

void
p11mux_trace_reader_free(P11muxTraceReader *reader)
{
    if (reader == NULL) {
        return;
    }
    g_free(reader->name);
    g_free(reader->pending);
    g_regex_unref(reader->header);
    g_regex_unref(reader->event);
    g_free(reader);
}

/* The next line without its end (transfer full), NULL at the end. */
static char *
read_line(P11muxTraceReader *reader)
{
    char *line = NULL;
    size_t size = 0;
    ssize_t n;

    if (reader->pending != NULL) {
        reader->number = reader->pending_number;
        return g_steal_pointer(&reader->pending);
    }
    n = getline(&line, &size, reader->in);
    if (n < 0) {
        free(line);
        return NULL;
    }
    reader->number++;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        line[--n] = '\0';
    }
    return line;
}

static void
unread_line(P11muxTraceReader *reader, char *line)
{
    reader->pending = line;
    reader->pending_number = reader->number;
    reader->number--;
}

/* ------------------------------------------------------------------ JSON */

static JsonNode *
parse_json(const char *line, gssize length, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    JsonNode *root;

    if (!json_parser_load_from_data(parser, line, length, error)) {
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE, "not a JSON object");
        return NULL;
    }
    return json_node_ref(root);
}

gboolean
p11mux_trace_json_line_is_object(const char *line, gssize length, GError **error)
{
    JsonNode *root = parse_json(line, length, error);

    if (root == NULL) {
        return FALSE;
    }
    json_node_unref(root);
    return TRUE;
}

static const char *
member_string(JsonObject *object, const char *name)
{
    JsonNode *node = json_object_get_member(object, name);

    return node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
                   json_node_get_value_type(node) == G_TYPE_STRING
               ? json_node_get_string(node)
               : NULL;
}

static gboolean
member_int(JsonObject *object, const char *name, gint64 *value)
{
    JsonNode *node = json_object_get_member(object, name);

    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
        json_node_get_value_type(node) != G_TYPE_INT64) {
        return FALSE;
    }
    *value = json_node_get_int(node);
    return TRUE;
}

/* args.pMechanism.mechanism */
static const char *
json_mechanism(JsonObject *object)
{
    JsonNode *args = json_object_get_member(object, "args");
    JsonNode *mechanism;

    if (args == NULL || !JSON_NODE_HOLDS_OBJECT(args)) {
        return NULL;
    }
    mechanism = json_object_get_member(json_node_get_object(args), "pMechanism");
    if (mechanism == NULL || !JSON_NODE_HOLDS_OBJECT(mechanism)) {
        return NULL;
    }
    return member_string(json_node_get_object(mechanism), "mechanism");
}

static P11muxTraceRead
read_json(P11muxTraceReader *reader, const char *line, P11muxTraceCall *record, char **why)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) root = parse_json(line, -1, &error);
    JsonObject *object;
    const char *function, *rv;
    gint64 pid = 0, session = 0;

    if (root == NULL) {
        *why = g_strdup_printf("%s:%u: not JSON: %s", reader->name, reader->number, error->message);
        return P11MUX_TRACE_READ_BAD;
    }
    object = json_node_get_object(root);
    function = member_string(object, "function");
    rv = member_string(object, "rv");
    if (function == NULL || rv == NULL || !member_int(object, "pid", &pid) ||
        !member_int(object, "duration_us", &record->duration_us)) {
        *why = g_strdup_printf("%s:%u: not a p11mux trace record (function, rv, pid or "
                               "duration_us missing)",
                               reader->name, reader->number);
        return P11MUX_TRACE_READ_BAD;
    }
    record->pid = (guint64)pid;
    record->function = g_strdup(function);
    record->rv = g_strdup(rv);
    record->backend = g_strdup(member_string(object, "backend"));
    record->has_session = member_int(object, "session", &session);
    record->session = (guint64)session;
    record->mechanism = g_strdup(json_mechanism(object));
    return P11MUX_TRACE_READ_RECORD;
}

/* ------------------------------------------------------------------ text */

/* "  backend: NAME slot ... session 0x100001 (0x1)" */
static void
text_backend(const char *value, P11muxTraceCall *record)
{
    g_auto(GStrv) words = g_strsplit(value, " ", -1);

    if (words[0] != NULL && words[0][0] != '\0') {
        record->backend = g_strdup(words[0]);
    }
    for (guint i = 0; words[i] != NULL && words[i + 1] != NULL; i++) {
        if (g_str_equal(words[i], "session")) {
            record->session = g_ascii_strtoull(words[i + 1], NULL, 0);
            record->has_session = TRUE;
        }
    }
}

/* One indented line of a block. */
static void
text_field(const char *line, P11muxTraceCall *record)
{
    const char *colon;

    if (!g_str_has_prefix(line, "  ") || line[2] == ' ') {
        return;
    }
    colon = strstr(line, ": ");
    if (colon == NULL) {
        return;
    }
    if (g_str_has_prefix(line, "  backend: ")) {
        text_backend(colon + 2, record);
    } else if (g_str_has_prefix(line, "  pMechanism: ") && g_str_has_prefix(colon + 2, "CK")) {
        record->mechanism = g_strndup(colon + 2, strcspn(colon + 2, " "));
    }
}

static P11muxTraceRead
read_text(P11muxTraceReader *reader, GMatchInfo *match, P11muxTraceCall *record)
{
    g_autofree char *pid = g_match_info_fetch(match, 1);
    g_autofree char *duration = g_match_info_fetch(match, 4);
    char *line;

    record->pid = g_ascii_strtoull(pid, NULL, 10);
    record->function = g_match_info_fetch(match, 2);
    record->rv = g_match_info_fetch(match, 3);
    record->duration_us = g_ascii_strtoll(duration, NULL, 10);
    while ((line = read_line(reader)) != NULL) {
        if (!g_str_has_prefix(line, "  ")) {
            unread_line(reader, line);
            break;
        }
        text_field(line, record);
        free(line);
    }
    return P11MUX_TRACE_READ_RECORD;
}

/* ------------------------------------------------------------------ next */

/* A record that is not a call's return: a JSON object with an "event"
 * member, or a text record's first line that is not a return's ("pid N
 * tid N C_X entering", "pid N tid N backend ..."), whose indented lines go
 * with it. */
static gboolean
is_event(P11muxTraceReader *reader, const char *line)
{
    char *next;

    if (line[0] == '{') {
        g_autoptr(JsonNode) root = parse_json(line, -1, NULL);

        return root != NULL && json_object_has_member(json_node_get_object(root), "event");
    }
    if (!g_regex_match(reader->event, line, 0, NULL) ||
        g_regex_match(reader->header, line, 0, NULL)) {
        return FALSE;
    }
    while ((next = read_line(reader)) != NULL && g_str_has_prefix(next, "  ")) {
        free(next);
    }
    if (next != NULL) {
        unread_line(reader, next);
    }
    return TRUE;
}

P11muxTraceRead
p11mux_trace_reader_next(P11muxTraceReader *reader, P11muxTraceCall *record, char **why)
{
    char *line;

    memset(record, 0, sizeof(*record));
    *why = NULL;
    while ((line = read_line(reader)) != NULL && line[0] == '\0') {
        free(line);
    }
    if (line == NULL) {
        return ferror(reader->in) ? P11MUX_TRACE_READ_ERROR : P11MUX_TRACE_READ_END;
    }
    if (is_event(reader, line)) {
        /* an entry, a backend's outcome, a slow call: no call's return */
        free(line);
        return p11mux_trace_reader_next(reader, record, why);
    }
    if (line[0] == '{') {
        P11muxTraceRead result = read_json(reader, line, record, why);

        free(line);
        if (result != P11MUX_TRACE_READ_RECORD) {
            p11mux_trace_call_clear(record);
        }
        return result;
    } else {
        g_autoptr(GMatchInfo) match = NULL;
        P11muxTraceRead result;

        if (!g_regex_match(reader->header, line, 0, &match)) {
            *why = g_strdup_printf("%s:%u: not a p11mux trace record (neither a JSON object nor "
                                   "the first line of a text record)",
                                   reader->name, reader->number);
            free(line);
            return P11MUX_TRACE_READ_BAD;
        }
        result = read_text(reader, match, record);
        g_match_info_free(g_steal_pointer(&match));
        free(line);
        return result;
    }
}
