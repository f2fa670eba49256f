/*
 * Token and object URIs (RFC 7512), parsed and matched with p11-kit.
 *
 * p11-kit matches an object attribute the object lacks as a match; p11mux
 * always hands it CKA_CLASS, CKA_LABEL and CKA_ID, an absent one as empty,
 * so that an allow-list never admits an object for what it does not say.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "policy-keys.h"
#include "policy-uri.h"

static void
uri_free(gpointer uri)
{
    p11_kit_uri_free(uri);
}

static void
uri_list_free(gpointer list)
{
    g_ptr_array_unref(list);
}

void
p11mux_uri_rules_init(P11muxUriRules *rules)
{
    rules->allow_sets = g_ptr_array_new_with_free_func(uri_list_free);
    rules->deny_sets = g_ptr_array_new_with_free_func(uri_list_free);
}

void
p11mux_uri_rules_clear(P11muxUriRules *rules)
{
    g_clear_pointer(&rules->allow_sets, g_ptr_array_unref);
    g_clear_pointer(&rules->deny_sets, g_ptr_array_unref);
}

gboolean
p11mux_uri_rules_empty(const P11muxUriRules *rules)
{
    return rules->allow_sets->len == 0 && rules->deny_sets->len == 0;
}

static void
add_lists(GPtrArray *to, const GPtrArray *from)
{
    guint i;

    for (i = 0; i < from->len; i++) {
        g_ptr_array_add(to, g_ptr_array_ref(g_ptr_array_index(from, i)));
    }
}

void
p11mux_uri_rules_add(P11muxUriRules *rules, const P11muxUriRules *more)
{
    add_lists(rules->allow_sets, more->allow_sets);
    add_lists(rules->deny_sets, more->deny_sets);
}

/* A URI of what p11mux matches on in uri: the module, slot and token
 * info, the slot id and the object attributes (transfer full). */
static P11KitUri *
matched_part(P11KitUri *uri)
{
    P11KitUri *part = p11_kit_uri_new();
    CK_ULONG n_attrs = 0;
    CK_ATTRIBUTE_PTR attrs = p11_kit_uri_get_attributes(uri, &n_attrs);

    *p11_kit_uri_get_module_info(part) = *p11_kit_uri_get_module_info(uri);
    *p11_kit_uri_get_slot_info(part) = *p11_kit_uri_get_slot_info(uri);
    *p11_kit_uri_get_token_info(part) = *p11_kit_uri_get_token_info(uri);
    p11_kit_uri_set_slot_id(part, p11_kit_uri_get_slot_id(uri));
    p11_kit_uri_set_attributes(part, attrs, n_attrs);
    return part;
}

/*
 * Whether uri holds a part p11mux does not match on: module-name=,
 * module-path= or a vendor query attribute (p11-kit accepts any
 * "?name=value").  Ignored, it would make the URI match more than it says:
 * an allow-list naming one module's tokens would allow every token.
 */
static gboolean
has_unmatched_part(P11KitUri *uri)
{
    P11KitUri *part = matched_part(uri);
    char *whole = NULL;
    char *matched = NULL;
    gboolean unmatched =
        p11_kit_uri_format(uri, P11_KIT_URI_FOR_ANY, &whole) != P11_KIT_URI_OK ||
        p11_kit_uri_format(part, P11_KIT_URI_FOR_ANY, &matched) != P11_KIT_URI_OK ||
        strcmp(whole, matched) != 0;

    free(whole);
    free(matched);
    p11_kit_uri_free(part);
    return unmatched;
}

/* Why a parsed URI cannot be a policy URI of kind, or NULL. */
static char *
uri_problem(P11KitUri *uri, P11muxUriKind kind, const char *text)
{
    CK_ULONG n_attrs = 0;

    if (p11_kit_uri_any_unrecognized(uri)) {
        return g_strdup_printf("URI '%s' holds an attribute or value p11-kit does not know", text);
    }
    if (p11_kit_uri_get_pin_value(uri) != NULL || p11_kit_uri_get_pin_source(uri) != NULL) {
        return g_strdup_printf("URI '%s' holds a PIN: a policy URI must not", text);
    }
    if (has_unmatched_part(uri)) {
        return g_strdup_printf("URI '%s' holds module-name=, module-path= or a query attribute, "
                               "which a policy URI cannot match on",
                               text);
    }
    (void)p11_kit_uri_get_attributes(uri, &n_attrs);
    if (kind == P11MUX_URI_TOKEN && n_attrs > 0) {
        return g_strdup_printf("token URI '%s' names object attributes (object=, id=, type=)",
                               text);
    }
    return NULL;
}

static char *
parse_one(const char *text, P11muxUriKind kind, GPtrArray *uris)
{
    P11KitUri *uri = p11_kit_uri_new();
    int code = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, uri);
    char *problem;

    if (code != P11_KIT_URI_OK) {
        problem = g_strdup_printf("bad URI '%s': %s", text, p11_kit_uri_message(code));
    } else {
        problem = uri_problem(uri, kind, text);
    }
    if (problem != NULL) {
        p11_kit_uri_free(uri);
        return problem;
    }
    g_ptr_array_add(uris, uri);
    return NULL;
}

char *
p11mux_uri_parse_list(const char *text, P11muxUriKind kind, GPtrArray **uris)
{
    g_auto(GStrv) items = g_strsplit_set(text, " \t", -1);
    GPtrArray *result = g_ptr_array_new_with_free_func(uri_free);
    char *problem = NULL;
    guint i;

    for (i = 0; problem == NULL && items[i] != NULL; i++) {
        if (items[i][0] != '\0') {
            problem = parse_one(items[i], kind, result);
        }
    }
    if (problem != NULL) {
        g_ptr_array_unref(result);
        return problem;
    }
    *uris = result;
    return NULL;
}

/* ---------------------------------------------------------------- matching */

/* A CK_TOKEN_INFO of blanks: what an absent token is matched as. */
static const CK_TOKEN_INFO *
blank_token(void)
{
    static CK_TOKEN_INFO blank;
    static gsize once = 0;

    if (g_once_init_enter(&once)) {
        memset(&blank, ' ', sizeof blank);
        g_once_init_leave(&once, 1);
    }
    return &blank;
}

static gboolean
place_matches(P11KitUri *uri, const P11muxUriPlace *place)
{
    CK_SLOT_ID wanted = p11_kit_uri_get_slot_id(uri);

    if (wanted != (CK_SLOT_ID)-1 && wanted != place->slot_id) {
        return FALSE;
    }
    if (place->module != NULL && !p11_kit_uri_match_module_info(uri, place->module)) {
        return FALSE;
    }
    if (place->slot != NULL && !p11_kit_uri_match_slot_info(uri, place->slot)) {
        return FALSE;
    }
    return p11_kit_uri_match_token_info(uri, place->token != NULL ? place->token : blank_token());
}

static gboolean
uri_matches(P11KitUri *uri, const P11muxUriPlace *place, const CK_ATTRIBUTE *attrs, CK_ULONG n)
{
    if (!place_matches(uri, place)) {
        return FALSE;
    }
    return attrs == NULL || p11_kit_uri_match_attributes(uri, attrs, n);
}

/* The index of the first URI of uris that matches; -1 when none does. */
static int
first_match(const GPtrArray *uris, const P11muxUriPlace *place, const CK_ATTRIBUTE *attrs,
            CK_ULONG n)
{
    guint i;

    for (i = 0; i < uris->len; i++) {
        if (uri_matches(g_ptr_array_index(uris, i), place, attrs, n)) {
            return (int)i;
        }
    }
    return -1;
}

/* Deny wins: a match in deny hides, whatever the allow-lists say. */
static gboolean
rules_judge(const P11muxUriRules *rules, const P11muxUriPlace *place, const CK_ATTRIBUTE *attrs,
            CK_ULONG n, P11muxUriRefusal *refusal)
{
    guint i;
    int uri;

    for (i = 0; i < rules->deny_sets->len; i++) {
        uri = first_match(g_ptr_array_index(rules->deny_sets, i), place, attrs, n);
        if (uri >= 0) {
            *refusal = (P11muxUriRefusal){TRUE, i, uri};
            return FALSE;
        }
    }
    for (i = 0; i < rules->allow_sets->len; i++) {
        if (first_match(g_ptr_array_index(rules->allow_sets, i), place, attrs, n) < 0) {
            *refusal = (P11muxUriRefusal){FALSE, i, -1};
            return FALSE;
        }
    }
    return TRUE;
}

gboolean
p11mux_uri_rules_judge_token(const P11muxUriRules *rules, const P11muxUriPlace *place,
                             P11muxUriRefusal *refusal)
{
    return rules_judge(rules, place, NULL, 0, refusal);
}

gboolean
p11mux_uri_rules_allow_token(const P11muxUriRules *rules, const P11muxUriPlace *place)
{
    P11muxUriRefusal refusal;

    return rules_judge(rules, place, NULL, 0, &refusal);
}

gboolean
p11mux_uri_rules_judge_object(const P11muxUriRules *rules, const P11muxUriPlace *place,
                              const CK_ATTRIBUTE *attrs, CK_ULONG n, P11muxUriRefusal *refusal)
{
    static const CK_ATTRIBUTE_TYPE needed[] = {CKA_CLASS, CKA_LABEL, CKA_ID};
    CK_ATTRIBUTE complete[G_N_ELEMENTS(needed)];
    gsize i;

    /* every attribute a URI may name is present, empty when attrs lack it */
    for (i = 0; i < G_N_ELEMENTS(needed); i++) {
        const CK_ATTRIBUTE *found = p11mux_template_find(attrs, n, needed[i]);
        CK_ATTRIBUTE empty = {needed[i], (void *)"", 0};

        complete[i] = found != NULL && found->pValue != NULL ? *found : empty;
    }
    return rules_judge(rules, place, complete, G_N_ELEMENTS(complete), refusal);
}

gboolean
p11mux_uri_rules_allow_object(const P11muxUriRules *rules, const P11muxUriPlace *place,
                              const CK_ATTRIBUTE *attrs, CK_ULONG n)
{
    P11muxUriRefusal refusal;

    return p11mux_uri_rules_judge_object(rules, place, attrs, n, &refusal);
}
