/*
 * Outputs p11mux filters or corrects, found by role:
 *   objects-out     C_FindObjects: only visible objects, the caller's buffer
 *                   filled up to ulMaxObjectCount as the protocol wants
 *                   (p11mux fetches more from the backend as needed); the
 *                   backend writes into p11mux's own buffer, so no hidden
 *                   handle ever reaches the application's memory
 *   mechanisms-out  C_GetMechanismList: only allowed mechanisms, with the
 *                   buffer-length protocol applied to the filtered list
 *   info-out        C_GetMechanismInfo: ulMinKeySize raised to min-key-bits;
 *                   C_GetTokenInfo: CKF_WRITE_PROTECTED under read-only, and
 *                   the token judged again on what the backend answered
 *   template-io     C_GetAttributeValue under force-sensitive: the secret
 *                   attributes of a sensitive or unextractable key are
 *                   withheld (never asked of the backend) and answered
 *                   CKR_ATTRIBUTE_SENSITIVE, whatever the backend would do
 * and C_FindObjectsInit under force-sensitive: a search whose template holds
 * a secret attribute never finds a sensitive key (no guessing key values).
 */
#include "config.h"

#include <string.h>

#include "policy-private.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxObjectInfo, p11mux_object_info_unref)

static const CK_ATTRIBUTE_TYPE secret_types[] = {
    CKA_VALUE,      CKA_PRIVATE_EXPONENT, CKA_PRIME_1,     CKA_PRIME_2,
    CKA_EXPONENT_1, CKA_EXPONENT_2,       CKA_COEFFICIENT,
};

static gboolean
is_secret_type(CK_ATTRIBUTE_TYPE type)
{
    gsize i;

    for (i = 0; i < G_N_ELEMENTS(secret_types); i++) {
        if (secret_types[i] == type) {
            return TRUE;
        }
    }
    return FALSE;
}

/* A private or secret key whose secret attributes must not be revealed. */
static gboolean
is_guarded_key(const P11muxObjectInfo *info)
{
    return p11mux_object_info_is_key(info) && (info->sensitive != 0 || info->extractable != 1);
}

/* ------------------------------------------------------ C_FindObjectsInit */

static CK_RV
prepare_find_init(P11muxPolicyCall *call, const P11muxPolicy *policy)
{
    P11muxPolicyEngine *engine = call->engine;
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    int index = p11mux_policy_find_param(desc, P11MUX_ROLE_TEMPLATE, 0);
    CK_ATTRIBUTE_PTR tmpl;
    CK_ULONG n, i;
    gboolean guard = FALSE;

    if (!policy->force_sensitive || index < 0) {
        return CKR_OK;
    }
    tmpl = P11MUX_ARG(call, index, CK_ATTRIBUTE_PTR);
    n = P11MUX_ARG(call, desc->params[index].ref, CK_ULONG);
    for (i = 0; tmpl != NULL && i < n; i++) {
        guard = guard || is_secret_type(tmpl[i].type);
    }
    p11mux_policy_cache_set_find_guard(engine->cache, call->session, call->slot_entry, guard);
    return CKR_OK;
}

/* ---------------------------------------------------------- C_FindObjects */

static CK_RV
prepare_find(P11muxPolicyCall *call, const P11muxPolicy *policy, int out)
{
    P11muxPolicyEngine *engine = call->engine;
    const P11muxParamDesc *param = &p11mux_policy_fn(call)->params[out];
    int max = p11mux_policy_find_param(p11mux_policy_fn(call), P11MUX_ROLE_MAX, 0);
    P11muxPolicyCallData *data;
    gpointer redirect;
    gboolean guard =
        policy->force_sensitive && p11mux_policy_cache_find_guard(engine->cache, call->session);

    if (!policy->has_object_rules && !guard) {
        return CKR_OK;
    }
    if (P11MUX_ARG(call, out, CK_OBJECT_HANDLE_PTR) == NULL ||
        P11MUX_ARG(call, param->ref, CK_ULONG_PTR) == NULL) {
        return CKR_OK; /* the backend answers CKR_ARGUMENTS_BAD */
    }
    data = p11mux_policy_call_data(call);
    data->filtering = P11MUX_FILTER_OBJECTS;
    data->find_guard = guard;
    data->out = P11MUX_ARG(call, out, CK_OBJECT_HANDLE_PTR);
    data->out_count = P11MUX_ARG(call, param->ref, CK_ULONG_PTR);
    data->capacity = P11MUX_ARG(call, max, CK_ULONG);
    data->scratch_capacity = MIN(data->capacity, P11MUX_POLICY_FIND_BATCH);
    data->scratch = data->batch;
    redirect = data->batch;
    p11mux_policy_redirect(call, out, &redirect);
    p11mux_policy_redirect(call, max, &data->scratch_capacity);
    redirect = &data->scratch_count;
    p11mux_policy_redirect(call, param->ref, &redirect);
    return CKR_OK;
}

/* The flags of an object p11mux has not read yet (it reads it now). */
static guint
read_flags(P11muxPolicyCall *call, const P11muxPolicy *policy, CK_OBJECT_HANDLE handle)
{
    g_autoptr(P11muxObjectInfo) info = NULL;

    if (p11mux_policy_object_info(call, policy, handle, &info) != CKR_OK) {
        return P11MUX_OBJECT_CACHED; /* gone: not shown */
    }
    return p11mux_object_info_flags(info);
}

/* Move the visible handles of the batch the backend wrote (at most asked,
 * whatever it says) to the caller's buffer: the cache judges every object
 * it knows without a lock; an object it does not know is read. */
static CK_ULONG
keep_visible(P11muxPolicyCall *call, const P11muxPolicy *policy, P11muxPolicyCallData *data,
             CK_ULONG asked, CK_ULONG kept)
{
    P11muxPolicyCache *cache = (call->engine)->cache;
    const CK_OBJECT_HANDLE *batch = data->scratch;
    CK_OBJECT_HANDLE *out = data->out;
    CK_ULONG n = MIN(data->scratch_count, asked), i = 0;
    guint shown = p11mux_object_shown_by(data->find_guard);

    while (i < n) {
        i += p11mux_policy_cache_filter(cache, call->session, batch + i, n - i, data->find_guard,
                                        out, &kept);
        if (i < n) {
            CK_OBJECT_HANDLE handle = batch[i++];

            if (read_flags(call, policy, handle) & shown) {
                out[kept++] = handle;
            }
        }
    }
    return kept;
}

static CK_RV
finish_find(P11muxPolicyCall *call, const P11muxPolicy *policy, P11muxPolicyCallData *data, CK_RV rv)
{
    CK_ULONG kept = 0, asked = data->scratch_capacity;

    while (rv == CKR_OK) {
        kept = keep_visible(call, policy, data, asked, kept);
        /* done when full, when the backend has no more, or when a short
         * batch has given the caller something (it will ask again) */
        if (kept == data->capacity || data->scratch_count == 0 ||
            (data->scratch_count < asked && kept > 0)) {
            break;
        }
        asked = MIN(data->scratch_capacity, data->capacity - kept);
        rv = p11mux_policy_ask_find(call, data->scratch, asked, &data->scratch_count);
    }
    if (rv == CKR_OK) {
        *data->out_count = kept;
    }
    return rv;
}

/* ----------------------------------------------------- C_GetMechanismList */

static CK_RV
prepare_mechanism_list(P11muxPolicyCall *call, const P11muxPolicy *policy, int out)
{
    const P11muxParamDesc *param = &p11mux_policy_fn(call)->params[out];
    CK_ULONG_PTR count = P11MUX_ARG(call, param->ref, CK_ULONG_PTR);
    P11muxPolicyCallData *data;
    gpointer redirect = NULL;

    if (!policy->has_mechanism_rules || count == NULL) {
        return CKR_OK;
    }
    data = p11mux_policy_call_data(call);
    data->filtering = P11MUX_FILTER_MECHANISMS;
    data->out = P11MUX_ARG(call, out, CK_MECHANISM_TYPE_PTR);
    data->out_count = count;
    data->capacity = *count;
    /* the backend answers a count query; p11mux reads the list itself */
    p11mux_policy_redirect(call, out, &redirect);
    redirect = &data->scratch_count;
    p11mux_policy_redirect(call, param->ref, &redirect);
    return CKR_OK;
}

/* The backend's whole list (transfer full in *list). */
static CK_RV
fetch_mechanisms(P11muxPolicyCall *call, CK_ULONG count, CK_MECHANISM_TYPE **list, CK_ULONG *n)
{
    CK_RV rv;

    for (;;) {
        *list = g_try_new(CK_MECHANISM_TYPE, MAX(count, 1));
        if (*list == NULL) {
            return CKR_HOST_MEMORY;
        }
        rv = p11mux_policy_ask_mechanisms(call, *list, &count);
        if (rv != CKR_BUFFER_TOO_SMALL) {
            break;
        }
        g_free(*list);
    }
    *n = count;
    if (rv != CKR_OK) {
        g_clear_pointer(list, g_free);
    }
    return rv;
}

static CK_RV
finish_mechanism_list(P11muxPolicyCall *call, const P11muxPolicy *policy, P11muxPolicyCallData *data,
                      CK_RV rv)
{
    g_autofree CK_MECHANISM_TYPE *list = NULL;
    guint vendor = p11mux_policy_vendor_of_call(call);
    CK_ULONG n = 0, kept = 0, i;

    if (rv == CKR_OK) {
        rv = fetch_mechanisms(call, data->scratch_count, &list, &n);
    }
    if (rv != CKR_OK) {
        return rv;
    }
    for (i = 0; i < n; i++) {
        if (p11mux_policy_admits_mechanism(policy, vendor, list[i])) {
            list[kept++] = list[i];
        }
    }
    *data->out_count = kept;
    if (data->out == NULL) {
        return CKR_OK;
    }
    if (data->capacity < kept) {
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(data->out, list, kept * sizeof(CK_MECHANISM_TYPE));
    return CKR_OK;
}

/* ------------------------------------------------------ C_GetAttributeValue */

/* Withhold the secret attributes of a guarded key: the backend sees the
 * template without them. */
static CK_RV
prepare_attributes(P11muxPolicyCall *call, const P11muxPolicy *policy, int index)
{
    const P11muxParamDesc *param = &p11mux_policy_fn(call)->params[index];
    CK_ATTRIBUTE_PTR tmpl = P11MUX_ARG(call, index, CK_ATTRIBUTE_PTR);
    CK_ULONG n = P11MUX_ARG(call, param->ref, CK_ULONG), i, k = 0;
    int object = p11mux_policy_find_param(p11mux_policy_fn(call), P11MUX_ROLE_OBJECT, 0);
    g_autoptr(P11muxObjectInfo) info = NULL;
    P11muxPolicyCallData *data;
    guint8 *withheld;
    CK_ATTRIBUTE_PTR reduced;

    if (!policy->force_sensitive || tmpl == NULL || object < 0 ||
        p11mux_policy_object_info(call, policy, P11MUX_ARG(call, object, CK_OBJECT_HANDLE),
                                  &info) != CKR_OK ||
        !is_guarded_key(info)) {
        return CKR_OK;
    }
    withheld = p11mux_policy_call_alloc(call, MAX(n, 1), 1);
    reduced = p11mux_policy_call_alloc(call, MAX(n, 1), sizeof(CK_ATTRIBUTE));
    if (withheld == NULL || reduced == NULL) {
        return CKR_HOST_MEMORY;
    }
    for (i = 0; i < n; i++) {
        withheld[i] = is_secret_type(tmpl[i].type);
        if (!withheld[i]) {
            reduced[k++] = tmpl[i];
        }
    }
    if (k == n) {
        return CKR_OK;
    }
    data = p11mux_policy_call_data(call);
    data->withheld = withheld;
    data->reduced = reduced;
    data->out = tmpl;
    data->capacity = n;
    p11mux_policy_redirect(call, index, &reduced);
    p11mux_policy_redirect(call, param->ref, &k);
    return CKR_OK;
}

static CK_RV
finish_attributes(P11muxPolicyCallData *data, CK_RV rv)
{
    CK_ATTRIBUTE_PTR tmpl = data->out;
    CK_ULONG i, k = 0;

    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_SENSITIVE && rv != CKR_ATTRIBUTE_TYPE_INVALID &&
        rv != CKR_BUFFER_TOO_SMALL) {
        return rv;
    }
    for (i = 0; i < data->capacity; i++) {
        if (data->withheld[i]) {
            tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
        } else {
            tmpl[i].ulValueLen = data->reduced[k++].ulValueLen;
        }
    }
    return rv == CKR_OK ? CKR_ATTRIBUTE_SENSITIVE : rv;
}

/* ---------------------------------------------------------- info outputs */

static void
raise_min_key_size(P11muxPolicyCall *call, const P11muxPolicy *policy, CK_MECHANISM_INFO_PTR info)
{
    int type = p11mux_policy_find_param(p11mux_policy_fn(call), P11MUX_ROLE_MECHANISM_TYPE, 0);
    gboolean in_bytes;
    P11muxKeyFamily family =
        p11mux_key_family_of_mechanism(P11MUX_ARG(call, type, CK_MECHANISM_TYPE), &in_bytes);
    CK_ULONG min;

    /* a parameter set's number is no key size in CK_MECHANISM_INFO's units */
    if (family == P11MUX_KEY_NONE || policy->min_bits[family] == 0 ||
        p11mux_key_family_by_parameter_set(family)) {
        return;
    }
    min = in_bytes ? (policy->min_bits[family] + 7) / 8 : policy->min_bits[family];
    info->ulMinKeySize = MAX(info->ulMinKeySize, min);
}

/* C_GetTokenInfo: read-only shows, and the token is judged again (it may
 * have been swapped for a hidden one since the slot list). */
static CK_RV
correct_token_info(P11muxPolicyCall *call, const P11muxPolicy *policy, CK_TOKEN_INFO_PTR info)
{
    P11muxPolicyEngine *engine = call->engine;

    if (policy->has_token_rules &&
        !p11mux_policy_slot_state(engine, policy, call->slot_entry, TRUE)->visible) {
        memset(info, 0, sizeof *info);
        return CKR_SLOT_ID_INVALID;
    }
    if (policy->read_only) {
        info->flags |= CKF_WRITE_PROTECTED;
    }
    return CKR_OK;
}

static CK_RV
correct_info(P11muxPolicyCall *call, const P11muxPolicy *policy, int index, CK_RV rv)
{
    gpointer info = p11mux_policy_arg_pointer(call, index);

    if (rv != CKR_OK || info == NULL) {
        return rv;
    }
    if (index == p11mux_policy_token_info_out(p11mux_policy_fn(call))) {
        return correct_token_info(call, policy, info);
    }
    if (p11mux_policy_find_param(p11mux_policy_fn(call), P11MUX_ROLE_MECHANISM_TYPE, 0) >= 0) {
        raise_min_key_size(call, policy, info);
    }
    return rv;
}

/* --------------------------------------------------------------- dispatch */

CK_RV
p11mux_policy_prepare_outputs(P11muxPolicyCall *call, const P11muxPolicy *policy)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    int index;

    if ((index = p11mux_policy_find_param(desc, P11MUX_ROLE_OBJECTS_OUT, 0)) >= 0) {
        return prepare_find(call, policy, index);
    }
    if ((index = p11mux_policy_find_param(desc, P11MUX_ROLE_MECHANISMS_OUT, 0)) >= 0) {
        return prepare_mechanism_list(call, policy, index);
    }
    if ((index = p11mux_policy_find_param(desc, P11MUX_ROLE_TEMPLATE_IO, 0)) >= 0) {
        return prepare_attributes(call, policy, index);
    }
    if (p11mux_policy_is_search(desc)) {
        return prepare_find_init(call, policy);
    }
    return CKR_OK;
}

CK_RV
p11mux_policy_finish_outputs(P11muxPolicyCall *call, const P11muxPolicy *policy, CK_RV rv)
{
    const P11muxFunctionDesc *desc = p11mux_policy_fn(call);
    P11muxPolicyCallData *data = (P11muxPolicyCallData *)call->state;
    int index;

    if (data != NULL && data->filtering == P11MUX_FILTER_OBJECTS) {
        return finish_find(call, policy, data, rv);
    }
    if (data != NULL && data->filtering == P11MUX_FILTER_MECHANISMS) {
        return finish_mechanism_list(call, policy, data, rv);
    }
    if (data != NULL && data->withheld != NULL) {
        return finish_attributes(data, rv);
    }
    if ((index = p11mux_policy_find_param(desc, P11MUX_ROLE_INFO_OUT, 0)) >= 0) {
        return correct_info(call, policy, index, rv);
    }
    return rv;
}
