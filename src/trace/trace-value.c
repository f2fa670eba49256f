/*
 * The values of a trace record: a small tree allocated in the record's
 * arena, freed all at once.
 */
#include "config.h"

#include <string.h>

#include "trace-decoder.h"

/* ---------------------------------------------------------------- arena */

#define ARENA_BLOCK 4096

struct P11muxTraceArena {
    GSList *blocks;
    gsize used;
    gsize size;
};

gpointer
p11mux_trace_arena_alloc(P11muxTraceArena *arena, gsize n)
{
    gpointer p;

    n = (n + 15) & ~(gsize)15;
    if (arena->blocks == NULL || arena->used + n > arena->size) {
        arena->size = MAX(ARENA_BLOCK, n);
        arena->blocks = g_slist_prepend(arena->blocks, g_malloc0(arena->size));
        arena->used = 0;
    }
    p = (char *)arena->blocks->data + arena->used;
    arena->used += n;
    return p;
}

const char *
p11mux_trace_arena_strdup(P11muxTraceArena *arena, const char *text)
{
    gsize n = strlen(text) + 1;
    char *copy = p11mux_trace_arena_alloc(arena, n);

    memcpy(copy, text, n);
    return copy;
}

P11muxTraceArena *
p11mux_trace_arena_new(void)
{
    return g_new0(P11muxTraceArena, 1);
}

void
p11mux_trace_record_clear(P11muxTraceRecord *record)
{
    if (record->arena != NULL) {
        g_slist_free_full(record->arena->blocks, g_free);
        g_free(record->arena);
    }
    memset(record, 0, sizeof(*record));
}

/* ---------------------------------------------------------------- values */

P11muxTraceValue *
p11mux_trace_value_new(P11muxTraceDecoder *d, P11muxTraceKind kind)
{
    P11muxTraceValue *v = p11mux_trace_arena_alloc(d->arena, sizeof(*v));

    v->kind = kind;
    return v;
}

void
p11mux_trace_value_add(P11muxTraceValue *parent, const char *key, P11muxTraceValue *child)
{
    if (child == NULL) {
        return;
    }
    child->key = key;
    if (parent->last == NULL) {
        parent->children = child;
    } else {
        parent->last->next = child;
    }
    parent->last = child;
    parent->n_children++;
}

P11muxTraceValue *
p11mux_trace_value_number(P11muxTraceDecoder *d, P11muxTraceKind kind, CK_ULONG number)
{
    P11muxTraceValue *v = p11mux_trace_value_new(d, kind);

    v->u.number = number;
    return v;
}

P11muxTraceValue *
p11mux_trace_value_bool(P11muxTraceDecoder *d, gboolean boolean)
{
    P11muxTraceValue *v = p11mux_trace_value_new(d, P11MUX_TRACE_BOOL);

    v->u.boolean = boolean;
    return v;
}

/* name: copied into the arena */
P11muxTraceValue *
p11mux_trace_value_name(P11muxTraceDecoder *d, const char *name)
{
    P11muxTraceValue *v = p11mux_trace_value_new(d, P11MUX_TRACE_NAME);

    v->u.string.text = p11mux_trace_arena_strdup(d->arena, name);
    v->u.string.length = strlen(name);
    return v;
}

P11muxTraceValue *
p11mux_trace_value_constant(P11muxTraceDecoder *d, P11muxConstantKind kind, CK_ULONG value)
{
    g_autofree char *name = p11mux_constant_format(kind, value);

    return p11mux_trace_value_name(d, name);
}

P11muxTraceValue *
p11mux_trace_value_flags(P11muxTraceDecoder *d, P11muxFlagsKind kind, CK_FLAGS flags)
{
    g_autofree char *name = p11mux_flags_format(kind, flags);

    return p11mux_trace_value_name(d, name);
}

P11muxTraceValue *
p11mux_trace_value_version(P11muxTraceDecoder *d, const CK_VERSION *version)
{
    char buf[16];

    p11mux_trace_format_version(version, buf, sizeof(buf));
    return p11mux_trace_value_name(d, buf);
}

/* Text the application or a token gave: not copied, cut, trailing blanks and
 * NULs of a padded field dropped when trim. */
P11muxTraceValue *
p11mux_trace_value_string(P11muxTraceDecoder *d, const void *text, gsize length, gboolean trim)
{
    P11muxTraceValue *v = p11mux_trace_value_new(d, P11MUX_TRACE_STRING);
    const char *s = text;

    while (trim && length > 0 && (s[length - 1] == ' ' || s[length - 1] == '\0')) {
        length--;
    }
    v->u.string.text = s;
    v->u.string.length = length;
    return v;
}

/* A buffer whose content is never written. */
P11muxTraceValue *
p11mux_trace_value_redacted(P11muxTraceDecoder *d, const void *buffer, CK_ULONG length)
{
    P11muxTraceValue *v = p11mux_trace_value_new(d, P11MUX_TRACE_BYTES);

    v->u.bytes.length = length;
    v->u.bytes.flags = P11MUX_TRACE_BYTES_REDACTED;
    if (buffer == NULL) {
        v->u.bytes.flags |= P11MUX_TRACE_BYTES_NULL;
    }
    return v;
}

/* A public buffer: its content in hex when trace-data = hex. */
P11muxTraceValue *
p11mux_trace_value_public(P11muxTraceDecoder *d, const void *buffer, CK_ULONG length)
{
    P11muxTraceValue *v = p11mux_trace_value_new(d, P11MUX_TRACE_BYTES);

    v->u.bytes.length = length;
    if (buffer == NULL) {
        v->u.bytes.flags = P11MUX_TRACE_BYTES_NULL;
    } else if (d->data == P11MUX_TRACE_DATA_HEX) {
        v->u.bytes.data = buffer;
        v->u.bytes.shown = MIN(length, (CK_ULONG)P11MUX_TRACE_HEX_MAX);
    }
    return v;
}

/* A buffer whose length alone is written (a structure holding pointers). */
P11muxTraceValue *
p11mux_trace_value_length_only(P11muxTraceDecoder *d, const void *buffer, CK_ULONG length)
{
    P11muxTraceValue *v = p11mux_trace_value_new(d, P11MUX_TRACE_BYTES);

    v->u.bytes.length = length;
    v->u.bytes.flags = buffer == NULL ? P11MUX_TRACE_BYTES_NULL : 0;
    return v;
}

/* ---------------------------------------------------------------- lists */

P11muxTraceValue *
p11mux_trace_item_id(P11muxTraceDecoder *d, const CK_ULONG *items, CK_ULONG index)
{
    return p11mux_trace_value_number(d, P11MUX_TRACE_ID, items[index]);
}

P11muxTraceValue *
p11mux_trace_item_mechanism(P11muxTraceDecoder *d, const CK_ULONG *items, CK_ULONG index)
{
    return p11mux_trace_value_constant(d, P11MUX_CONST_CKM, items[index]);
}

/* A list of CK_ULONGs, cut at P11MUX_TRACE_LIST_MAX; u.number holds the full count. */
P11muxTraceValue *
p11mux_trace_value_ulong_list(P11muxTraceDecoder *d, const CK_ULONG *items, CK_ULONG count,
                              P11muxTraceItemFunc item)
{
    P11muxTraceValue *list = p11mux_trace_value_new(d, P11MUX_TRACE_LIST);
    CK_ULONG i;

    list->u.number = count;
    for (i = 0; i < count && i < P11MUX_TRACE_LIST_MAX; i++) {
        p11mux_trace_value_add(list, NULL, item(d, items, i));
    }
    return list;
}
