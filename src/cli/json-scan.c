/*
 * A validating JSON reader: recursive descent over RFC 8259, no tree built.
 */
#include "config.h"

#include <string.h>

#include "json-scan.h"

#define MAX_DEPTH 64

typedef struct {
    const char *p;
    const char *start;
    const char *end;
    GError **error;
    GString *text; /* the last string or literal read */
} Scanner;

static GQuark json_error_quark(void);
G_DEFINE_QUARK(p11mux - json - error - quark, json_error)

static gboolean G_GNUC_PRINTF(2, 3) fail(Scanner *s, const char *format, ...)
{
    g_autofree char *message = NULL;
    va_list args;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(s->error, json_error_quark(), 0, "column %ld: %s", (long)(s->p - s->start) + 1,
                message);
    return FALSE;
}

static void
skip_space(Scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) {
        s->p++;
    }
}

static gboolean
expect(Scanner *s, char c)
{
    skip_space(s);
    if (s->p >= s->end || *s->p != c) {
        return fail(s, "expected '%c'", c);
    }
    s->p++;
    return TRUE;
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static gboolean
read_hex4(Scanner *s, gunichar *c)
{
    int i;

    *c = 0;
    for (i = 0; i < 4; i++) {
        int v = s->p < s->end ? hex_value(*s->p) : -1;

        if (v < 0) {
            return fail(s, "bad \\u escape");
        }
        *c = (*c << 4) | (gunichar)v;
        s->p++;
    }
    return TRUE;
}

/* After "\u": one code point, a surrogate pair joined. */
static gboolean
read_unicode_escape(Scanner *s)
{
    gunichar c, low;

    if (!read_hex4(s, &c)) {
        return FALSE;
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
        return fail(s, "lone low surrogate");
    }
    if (c >= 0xd800 && c <= 0xdbff) {
        if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u') {
            return fail(s, "lone high surrogate");
        }
        s->p += 2;
        if (!read_hex4(s, &low)) {
            return FALSE;
        }
        if (low < 0xdc00 || low > 0xdfff) {
            return fail(s, "bad surrogate pair");
        }
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
    }
    g_string_append_unichar(s->text, c);
    return TRUE;
}

static gboolean
read_escape(Scanner *s)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *hit;

    if (s->p >= s->end) {
        return fail(s, "unterminated string");
    }
    if (*s->p == 'u') {
        s->p++;
        return read_unicode_escape(s);
    }
    hit = strchr(from, *s->p);
    if (hit == NULL || *s->p == '\0') {
        return fail(s, "bad escape");
    }
    g_string_append_c(s->text, to[hit - from]);
    s->p++;
    return TRUE;
}

/* A string into s->text. */
static gboolean
read_string(Scanner *s)
{
    g_string_truncate(s->text, 0);
    if (!expect(s, '"')) {
        return FALSE;
    }
    while (s->p < s->end && *s->p != '"') {
        gunichar c = g_utf8_get_char_validated(s->p, s->end - s->p);

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            return fail(s, "invalid UTF-8");
        }
        if (c < 0x20) {
            return fail(s, "control character in a string");
        }
        if (c == '\\') {
            s->p++;
            if (!read_escape(s)) {
                return FALSE;
            }
            continue;
        }
        g_string_append_len(s->text, s->p, g_utf8_next_char(s->p) - s->p);
        s->p = g_utf8_next_char(s->p);
    }
    if (s->p >= s->end) {
        return fail(s, "unterminated string");
    }
    s->p++;
    return TRUE;
}

static gboolean
read_digits(Scanner *s)
{
    const char *from = s->p;

    while (s->p < s->end && g_ascii_isdigit(*s->p)) {
        s->p++;
    }
    return s->p > from || fail(s, "expected a digit");
}

/* A number into s->text, as written. */
static gboolean
read_number(Scanner *s)
{
    const char *from = s->p;

    if (s->p < s->end && *s->p == '-') {
        s->p++;
    }
    if (s->p < s->end && *s->p == '0') {
        s->p++;
    } else if (!read_digits(s)) {
        return FALSE;
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!read_digits(s)) {
            return FALSE;
        }
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) {
            s->p++;
        }
        if (!read_digits(s)) {
            return FALSE;
        }
    }
    g_string_assign(s->text, "");
    g_string_append_len(s->text, from, s->p - from);
    return TRUE;
}

static gboolean
read_literal(Scanner *s, const char *word)
{
    gsize n = strlen(word);

    if ((gsize)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) {
        return fail(s, "unexpected character");
    }
    s->p += n;
    g_string_assign(s->text, word);
    return TRUE;
}

static gboolean read_value(Scanner *s, guint depth, P11muxJsonType *type);

static gboolean
read_array(Scanner *s, guint depth)
{
    P11muxJsonType type;

    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return TRUE;
    }
    for (;;) {
        if (!read_value(s, depth + 1, &type)) {
            return FALSE;
        }
        skip_space(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        return expect(s, ']');
    }
}

/* func: for the top-level object only. */
static gboolean
read_object(Scanner *s, guint depth, P11muxJsonMemberFunc func, gpointer user_data)
{
    P11muxJsonType type;
    g_autofree char *key = NULL;

    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return TRUE;
    }
    for (;;) {
        if (!read_string(s)) {
            return FALSE;
        }
        g_free(key);
        key = g_strdup(s->text->str);
        if (!expect(s, ':') || !read_value(s, depth + 1, &type)) {
            return FALSE;
        }
        if (func != NULL) {
            gboolean scalar = type != P11MUX_JSON_ARRAY && type != P11MUX_JSON_OBJECT;

            func(key, type, scalar ? s->text->str : NULL, user_data);
        }
        skip_space(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_space(s);
            continue;
        }
        return expect(s, '}');
    }
}

static gboolean
read_value_with(Scanner *s, guint depth, P11muxJsonType *type, P11muxJsonMemberFunc func,
                gpointer user_data)
{
    if (depth > MAX_DEPTH) {
        return fail(s, "nested too deeply");
    }
    skip_space(s);
    if (s->p >= s->end) {
        return fail(s, "expected a value");
    }
    switch (*s->p) {
    case '{':
        *type = P11MUX_JSON_OBJECT;
        return read_object(s, depth, func, user_data);
    case '[':
        *type = P11MUX_JSON_ARRAY;
        return read_array(s, depth);
    case '"':
        *type = P11MUX_JSON_STRING;
        return read_string(s);
    case 't':
        *type = P11MUX_JSON_BOOL;
        return read_literal(s, "true");
    case 'f':
        *type = P11MUX_JSON_BOOL;
        return read_literal(s, "false");
    case 'n':
        *type = P11MUX_JSON_NULL;
        return read_literal(s, "null");
    default:
        *type = P11MUX_JSON_NUMBER;
        return read_number(s);
    }
}

static gboolean
read_value(Scanner *s, guint depth, P11muxJsonType *type)
{
    return read_value_with(s, depth, type, NULL, NULL);
}

gboolean
p11mux_json_scan(const char *text, gsize length, P11muxJsonMemberFunc func, gpointer user_data,
                 GError **error)
{
    Scanner s = {text, text, text + length, error, g_string_new(NULL)};
    P11muxJsonType type;
    gboolean ok = read_value_with(&s, 0, &type, func, user_data);

    if (ok) {
        skip_space(&s);
        if (s.p != s.end) {
            ok = fail(&s, "text after the value");
        }
    }
    g_string_free(s.text, TRUE);
    return ok;
}
