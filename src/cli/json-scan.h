/*
 * A small validating JSON reader (RFC 8259) for the JSON trace: it checks a
 * whole document and hands over the members of the top-level object.  Used
 * by `p11mux trace-summary` and by the trace tests.
 */
#ifndef P11MUX_JSON_SCAN_H
#define P11MUX_JSON_SCAN_H

#include <glib.h>

typedef enum {
    P11MUX_JSON_NULL,
    P11MUX_JSON_BOOL,
    P11MUX_JSON_NUMBER,
    P11MUX_JSON_STRING,
    P11MUX_JSON_ARRAY,
    P11MUX_JSON_OBJECT,
} P11muxJsonType;

/*
 * One member of the top-level object.  value (transfer none, valid during
 * the call): a string's decoded text, a number's or literal's text as
 * written; NULL for arrays and objects.
 */
typedef void (*P11muxJsonMemberFunc)(const char *key, P11muxJsonType type, const char *value,
                                     gpointer user_data);

/*
 * TRUE when text (length bytes, not NUL-terminated) is exactly one JSON
 * value, with white space around it only; func (nullable) sees each member
 * of the top-level value when it is an object.  FALSE with error set
 * ("column N: why") otherwise.  Nesting deeper than 64 is refused.
 */
gboolean p11mux_json_scan(const char *text, gsize length, P11muxJsonMemberFunc func,
                          gpointer user_data, GError **error);

#endif /* P11MUX_JSON_SCAN_H */
