/*
 * Mechanisms: the allow and deny sets, and what a mechanism's parameter
 * names (the algorithms and keys the layout walker of mech-params.c reports,
 * for the tests and the fuzzer; a call's mechanism argument is judged by
 * policy-params.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "constants.h"
#include "policy-private.h"
#include "suggest.h"

/* -------------------------------------------------------------- the sets */

static int
compare_ulong(gconstpointer a, gconstpointer b)
{
    CK_ULONG x = *(const CK_ULONG *)a, y = *(const CK_ULONG *)b;

    return x < y ? -1 : x > y;
}

/* Sort and drop repeats. */
static void
set_normalise(GArray *set)
{
    guint i, out = 0;

    g_array_sort(set, compare_ulong);
    for (i = 0; i < set->len; i++) {
        if (out == 0 || g_array_index(set, CK_ULONG, out - 1) != g_array_index(set, CK_ULONG, i)) {
            g_array_index(set, CK_ULONG, out++) = g_array_index(set, CK_ULONG, i);
        }
    }
    g_array_set_size(set, out);
}

gboolean
p11mux_mech_set_contains(const GArray *set, CK_MECHANISM_TYPE type)
{
    if (set == NULL || set->len == 0) {
        return FALSE;
    }
    return bsearch(&type, set->data, set->len, sizeof(CK_ULONG), compare_ulong) != NULL;
}

GArray *
p11mux_mech_set_intersect(const GArray *a, const GArray *b)
{
    GArray *result = g_array_new(FALSE, FALSE, sizeof(CK_ULONG));
    guint i;

    for (i = 0; i < a->len; i++) {
        if (p11mux_mech_set_contains(b, g_array_index(a, CK_ULONG, i))) {
            g_array_append_val(result, g_array_index(a, CK_ULONG, i));
        }
    }
    return result;
}

void
p11mux_mech_set_add_all(GArray *set, const GArray *more)
{
    g_array_append_vals(set, more->data, more->len);
    set_normalise(set);
}

static void
add_to_set(CK_ULONG value, G_GNUC_UNUSED const char *name, gpointer user_data)
{
    g_array_append_val((GArray *)user_data, value);
}

/* One item: a glob, a name, a number or CKM_VENDOR_DEFINED+N. */
static char *
parse_item(const char *item, GArray *set)
{
    CK_ULONG value;

    if (strpbrk(item, "*?") != NULL) {
        if (p11mux_constant_glob(P11MUX_CONST_CKM, item, add_to_set, set) == 0) {
            return g_strdup_printf("mechanism glob '%s' matches no known mechanism", item);
        }
        return NULL;
    }
    if (!p11mux_constant_parse(P11MUX_CONST_CKM, item, &value)) {
        g_autofree char *hint =
            p11mux_suggest_hint(p11mux_suggest_constant(P11MUX_CONST_CKM, item));

        return g_strdup_printf("unknown mechanism '%s'%s", item, hint);
    }
    g_array_append_val(set, value);
    return NULL;
}

static guint
count_items(char **items)
{
    guint n = 0;

    for (; *items != NULL; items++) {
        n += **items != '\0';
    }
    return n;
}

char *
p11mux_mech_parse_list(const char *text, GArray **set)
{
    g_auto(GStrv) items = g_strsplit_set(text, " \t", -1);
    GArray *result = g_array_new(FALSE, FALSE, sizeof(CK_ULONG));
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    char *problem = NULL;
    guint i;

    /* globs are GPatternSpecs, which abort on what is not UTF-8 */
    if (!g_utf8_validate(text, -1, NULL)) {
        problem = g_strdup("a mechanism list is not UTF-8 text");
    } else if (count_items(items) > P11MUX_MECH_LIST_MAX) {
        problem = g_strdup_printf("a mechanism list holds %u items; at most %u are read",
                                  count_items(items), P11MUX_MECH_LIST_MAX);
    }
    for (i = 0; problem == NULL && items[i] != NULL; i++) {
        /* an item given twice is read once (a glob is matched against
         * every name it could match: cost grows with distinct items only) */
        if (items[i][0] != '\0' && g_hash_table_add(seen, items[i])) {
            problem = parse_item(items[i], result);
        }
    }
    if (problem != NULL) {
        g_array_unref(result);
        return problem;
    }
    set_normalise(result);
    *set = result;
    return NULL;
}

gboolean
p11mux_policy_allows_mechanism(const P11muxPolicy *policy, CK_MECHANISM_TYPE type)
{
    if (p11mux_mech_set_contains(policy->mech_deny, type)) {
        return FALSE;
    }
    return policy->mech_allow == NULL || p11mux_mech_set_contains(policy->mech_allow, type);
}

/* ------------------------------------------------ what parameters name */

static CK_RV
use_algorithm(gpointer ctx, CK_MECHANISM_TYPE type)
{
    P11muxMechUse *use = ctx;

    if (use->n_algorithms < P11MUX_MECH_MAX_NAMED) {
        use->algorithms[use->n_algorithms++] = type;
    }
    return CKR_OK;
}

static CK_RV
use_key(gpointer ctx, CK_OBJECT_HANDLE key)
{
    P11muxMechUse *use = ctx;

    if (key != CK_INVALID_HANDLE && use->n_keys < P11MUX_MECH_MAX_NAMED) {
        use->keys[use->n_keys++] = key;
    }
    return CKR_OK;
}

CK_RV
p11mux_mech_inspect(const CK_MECHANISM *mechanism, P11muxMechUse *use)
{
    static const P11muxParamVisitor collect = {.algorithm = use_algorithm, .key = use_key};
    const P11muxMechParams *params = p11mux_mech_params_lookup(mechanism->mechanism, 0);

    memset(use, 0, sizeof *use);
    if (params == NULL || params->klass == P11MUX_PARAM_OPAQUE) {
        return CKR_OK;
    }
    return p11mux_mech_params_walk(params, mechanism, &collect, use, NULL);
}

CK_RV
p11mux_policy_check_mechanism(const P11muxPolicy *policy, const CK_MECHANISM *mechanism,
                              P11muxMechUse *use)
{
    CK_RV rv;
    guint i;

    if (!p11mux_policy_admits_mechanism(policy, 0, mechanism->mechanism)) {
        return CKR_MECHANISM_INVALID;
    }
    rv = p11mux_mech_inspect(mechanism, use);
    if (rv != CKR_OK) {
        return rv;
    }
    for (i = 0; i < use->n_algorithms; i++) {
        if (!p11mux_policy_admits_mechanism(policy, 0, use->algorithms[i])) {
            return CKR_MECHANISM_INVALID;
        }
    }
    return CKR_OK;
}
