/* See param-visits.h. */
#include "config.h"

#include <string.h>

#include "param-visits.h"

static CK_RV
visit_algorithm(gpointer ctx, CK_MECHANISM_TYPE type)
{
    g_array_append_val(((ParamVisits *)ctx)->algorithms, type);
    return CKR_OK;
}

static CK_RV
visit_key(gpointer ctx, CK_OBJECT_HANDLE handle)
{
    g_array_append_val(((ParamVisits *)ctx)->keys, handle);
    return CKR_OK;
}

static CK_RV
visit_template(gpointer ctx, CK_ATTRIBUTE_PTR *tmpl, CK_ULONG *count)
{
    ParamVisits *visits = ctx;

    g_array_append_val(visits->templates, *count);
    if (visits->replacement != NULL) {
        *tmpl = visits->replacement;
        *count = 1;
    }
    return CKR_OK;
}

static CK_RV
visit_out(gpointer ctx, CK_OBJECT_HANDLE *where)
{
    g_ptr_array_add(((ParamVisits *)ctx)->outs, where);
    return CKR_OK;
}

static gpointer
visit_alloc(gpointer ctx, gsize size)
{
    gpointer memory = g_malloc0(size);

    g_ptr_array_add(((ParamVisits *)ctx)->memory, memory);
    return memory;
}

const P11muxParamVisitor param_visits_all = {visit_algorithm, visit_key, visit_template,
                                             visit_out, NULL};
const P11muxParamVisitor param_visits_copying = {visit_algorithm, visit_key, visit_template,
                                                 visit_out, visit_alloc};

void
param_visits_init(ParamVisits *visits)
{
    memset(visits, 0, sizeof *visits);
    visits->algorithms = g_array_new(FALSE, FALSE, sizeof(CK_ULONG));
    visits->keys = g_array_new(FALSE, FALSE, sizeof(CK_ULONG));
    visits->templates = g_array_new(FALSE, FALSE, sizeof(CK_ULONG));
    visits->outs = g_ptr_array_new();
    visits->memory = g_ptr_array_new_with_free_func(g_free);
}

void
param_visits_clear(ParamVisits *visits)
{
    g_array_unref(visits->algorithms);
    g_array_unref(visits->keys);
    g_array_unref(visits->templates);
    g_ptr_array_unref(visits->outs);
    g_ptr_array_unref(visits->memory);
}

static gboolean
same_ulongs(const GArray *a, const GArray *b)
{
    return a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len * sizeof(CK_ULONG)) == 0);
}

gboolean
param_visits_same(const ParamVisits *a, const ParamVisits *b)
{
    return same_ulongs(a->algorithms, b->algorithms) && same_ulongs(a->keys, b->keys) &&
           a->outs->len == b->outs->len &&
           (a->outs->len == 0 ||
            memcmp(a->outs->pdata, b->outs->pdata, a->outs->len * sizeof(gpointer)) == 0);
}
