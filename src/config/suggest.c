/*
 * Did-you-mean suggestions (suggest.h): an edit distance, ignoring case.
 */
#include "config.h"

#include <string.h>

#include "suggest.h"

/* Edit distance of a and b (insertions, deletions, substitutions and
 * transpositions of neighbours: "optimal string alignment"), ASCII case
 * ignored; stops counting at limit + 1. */
static gsize
distance(const char *a, const char *b, gsize limit)
{
    gsize la = strlen(a), lb = strlen(b);
    gsize width = lb + 1;
    g_autofree gsize *d = NULL;

    if ((la > lb ? la - lb : lb - la) > limit) {
        return limit + 1;
    }
    d = g_new(gsize, (la + 1) * width);
    for (gsize i = 0; i <= la; i++) {
        d[i * width] = i;
    }
    for (gsize j = 0; j <= lb; j++) {
        d[j] = j;
    }
    for (gsize i = 1; i <= la; i++) {
        for (gsize j = 1; j <= lb; j++) {
            char ca = g_ascii_tolower(a[i - 1]), cb = g_ascii_tolower(b[j - 1]);
            gsize best = MIN(d[(i - 1) * width + j] + 1, d[i * width + j - 1] + 1);

            best = MIN(best, d[(i - 1) * width + j - 1] + (ca == cb ? 0 : 1));
            if (i > 1 && j > 1 && ca == g_ascii_tolower(b[j - 2]) &&
                g_ascii_tolower(a[i - 2]) == cb) {
                best = MIN(best, d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    return d[la * width + lb];
}

const char *
p11mux_suggest(const char *word, const char *const *candidates, gssize n)
{
    gsize limit = MAX(2, strlen(word) / 3);
    const char *best = NULL;
    gsize best_distance = limit + 1;

    g_return_val_if_fail(word != NULL && candidates != NULL, NULL);

    for (gssize i = 0; n < 0 ? candidates[i] != NULL : i < n; i++) {
        gsize d = distance(word, candidates[i], limit);

        if (d < best_distance) {
            best = candidates[i];
            best_distance = d;
        }
    }
    return best;
}

const char *
p11mux_suggest_constant(P11muxConstantKind kind, const char *word)
{
    const char *prefix = p11mux_constant_kind_prefix(kind);
    g_autofree char *upper = g_ascii_strup(word, -1);
    g_autofree char *full =
        g_str_has_prefix(upper, prefix) ? g_strdup(upper) : g_strconcat(prefix, upper, NULL);
    g_autofree const char **names = NULL;
    const P11muxConstant *table;
    CK_ULONG value;
    gsize n = 0;

    if (p11mux_constant_value(kind, full, &value)) {
        return p11mux_constant_name(kind, value);
    }
    table = p11mux_constant_table(kind, &n);
    names = g_new(const char *, n);
    for (gsize i = 0; i < n; i++) {
        names[i] = table[i].name;
    }
    return p11mux_suggest(full, names, (gssize)n);
}

char *
p11mux_suggest_hint(const char *suggestion)
{
    return suggestion != NULL ? g_strdup_printf(" (did you mean '%s'?)", suggestion) : g_strdup("");
}
