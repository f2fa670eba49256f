/*
 * p11mux explain [--config FILE] (--slot ID | --token LABEL) (--mechanism
 * CKM_X | --object URI | --function C_X): whether the policy that applies to
 * the slot allows it, and which rule decided, with the rule's FILE:LINE.
 *
 * The policies are the ones the router compiled, once, as the module does
 * (router->policies), and every verdict, with its rule, is the policy
 * engine's own (src/policy/policy-decide.h); this file only prints them.
 */
#include "config.h"

#include <p11-kit/uri.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "constants.h"
#include "group.h"
#include "p11mux-functions.h"
#include "policy-decide.h"
#include "policy.h"
#include "router.h"
#include "suggest.h"

typedef struct {
    char *config;
    char *slot;
    char *token;
    char *mechanism;
    char *object;
    char *function;
} Request;

/* What is asked about. */
typedef struct {
    char *text; /* "mechanism CKM_X", ... */
    CK_MECHANISM_TYPE mechanism;
    const P11muxFunctionDesc *function; /* nullable */
    CK_ATTRIBUTE *object;               /* nullable: CKA_CLASS, CKA_LABEL, CKA_ID as given */
    CK_ULONG n_object;
    const CK_TOKEN_INFO *token;         /* nullable: the slot's token */
    P11KitUri *uri;
} Subject;

static void
request_clear(Request *request)
{
    g_free(request->config);
    g_free(request->slot);
    g_free(request->token);
    g_free(request->mechanism);
    g_free(request->object);
    g_free(request->function);
}

static void
subject_clear(Subject *subject)
{
    g_free(subject->text);
    g_free(subject->object);
    if (subject->uri != NULL) {
        p11_kit_uri_free(subject->uri);
    }
}

static gboolean
parse_slot(const char *text, CK_SLOT_ID *slot)
{
    guint64 value;
    gboolean hex = g_str_has_prefix(text, "0x") || g_str_has_prefix(text, "0X");

    if (!g_ascii_string_to_unsigned(hex ? text + 2 : text, hex ? 16 : 10, 0, G_MAXULONG, &value,
                                    NULL)) {
        return FALSE;
    }
    *slot = (CK_SLOT_ID)value;
    return TRUE;
}

/* The object a URI describes: CKA_CLASS, CKA_LABEL, CKA_ID, an absent one empty. */
static gboolean
subject_object(Subject *subject, const char *text)
{
    static const CK_ATTRIBUTE_TYPE types[] = {CKA_CLASS, CKA_LABEL, CKA_ID};
    guint i;

    subject->uri = p11_kit_uri_new();
    if (p11_kit_uri_parse(text, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, subject->uri) != P11_KIT_URI_OK) {
        p11mux_cli_error("explain: '%s' is not a PKCS #11 object URI", text);
        return FALSE;
    }
    subject->object = g_new0(CK_ATTRIBUTE, G_N_ELEMENTS(types));
    for (i = 0; i < G_N_ELEMENTS(types); i++) {
        CK_ATTRIBUTE_PTR given = p11_kit_uri_get_attribute(subject->uri, types[i]);

        subject->object[i].type = types[i];
        subject->object[i].pValue = given != NULL ? given->pValue : (void *)"";
        subject->object[i].ulValueLen = given != NULL ? given->ulValueLen : 0;
    }
    subject->n_object = G_N_ELEMENTS(types);
    subject->text = g_strdup_printf("object %s", text);
    return TRUE;
}

/* A mechanism by name (CKM_ECDSA; ECDSA or ecdsa: the prefix and the case
 * may be left out), number or CKM_VENDOR_DEFINED+N. */
static gboolean
subject_mechanism(Subject *subject, const char *text)
{
    g_autofree char *upper = g_ascii_strup(text, -1);
    g_autofree char *full =
        g_str_has_prefix(upper, "CKM_") ? g_strdup(upper) : g_strconcat("CKM_", upper, NULL);
    g_autofree char *hint = NULL;

    if (p11mux_constant_parse(P11MUX_CONST_CKM, text, &subject->mechanism)) {
        subject->text = g_strdup_printf("mechanism %s", text);
        return TRUE;
    }
    if (p11mux_constant_value(P11MUX_CONST_CKM, full, &subject->mechanism)) {
        subject->text = g_strdup_printf("mechanism %s",
                                        p11mux_constant_name(P11MUX_CONST_CKM, subject->mechanism));
        return TRUE;
    }
    hint = p11mux_suggest_hint(p11mux_suggest_constant(P11MUX_CONST_CKM, text));
    p11mux_cli_error("explain: unknown mechanism '%s'%s", text, hint);
    return FALSE;
}

/* FALSE (and a message) when what is asked is malformed. */
static gboolean
subject_parse(const Request *request, Subject *subject)
{
    guint i;

    if (request->mechanism != NULL) {
        return subject_mechanism(subject, request->mechanism);
    }
    if (request->function != NULL) {
        const char *names[P11MUX_FN_COUNT];
        g_autofree char *hint = NULL;

        for (i = 0; i < P11MUX_FN_COUNT; i++) {
            if (strcmp(p11mux_functions[i].name, request->function) == 0) {
                subject->function = &p11mux_functions[i];
                subject->text = g_strdup_printf("function %s", request->function);
                return TRUE;
            }
            names[i] = p11mux_functions[i].name;
        }
        hint = p11mux_suggest_hint(p11mux_suggest(request->function, names, P11MUX_FN_COUNT));
        p11mux_cli_error("explain: unknown function '%s'%s", request->function, hint);
        return FALSE;
    }
    return subject_object(subject, request->object);
}

/* The slot, with every backend's slots interned first (hidden ones too); NULL if unknown. */
static const P11muxSlot *
find_slot(P11muxRouter *router, CK_SLOT_ID id)
{
    GPtrArray *slots = NULL;

    if (p11mux_router_slot_list(router, CK_FALSE, &slots) == CKR_OK) {
        g_ptr_array_unref(slots);
    }
    return p11mux_slotmap_lookup(router->slots, id);
}

static void
print_slot(const P11muxSlot *slot, const CK_TOKEN_INFO *token)
{
    gsize n = sizeof(token->label);

    printf("slot 0x%lx: backend %s, backend slot 0x%lx", slot->id, slot->backend->name, slot->real);
    if (token != NULL) {
        while (n > 0 && token->label[n - 1] == ' ') {
            n--;
        }
        printf(", token \"%.*s\"", (int)n, (const char *)token->label);
    }
    printf("\n");
}

static void
print_policies(const P11muxPolicySet *set, const char *backend, const P11muxPolicy *policy)
{
    p11mux_cli_print_policy_layers(set, backend, policy, "", ", selected at ", "");
    if (p11mux_policy_n_layers(policy) > 1) {
        printf("each policy must allow\n");
    }
}

static void
print_rule(const P11muxPolicyRule *rule)
{
    printf("[policy %s] %s = %s (%s:%d)", rule->policy, rule->key, rule->value.value,
           rule->value.origin.file, rule->value.origin.line);
}

static void
print_verdict(const char *subject, const P11muxPolicy *layer, const P11muxPolicyVerdict *v)
{
    printf("%s: %s", subject, v->allowed ? "allowed" : "refused");
    if (v->rule == NULL) {
        if (v->note != NULL) {
            printf(": %s\n", v->note);
        } else {
            printf(": [policy %s] has no rule that decides it\n", p11mux_policy_get_name(layer));
        }
        return;
    }
    if (v->note != NULL) {
        printf(" %s", v->note);
    }
    printf(" by ");
    print_rule(v->rule);
    printf("\n");
    if (v->min_key_rule != NULL) {
        printf("  keys of at least %lu bits: ", v->min_key_bits);
        print_rule(v->min_key_rule);
        printf("\n");
    }
}

/* The rule that hides the slot's token. */
static void
print_hidden(const P11muxPolicyVerdict *v)
{
    printf("refused: the policy hides this slot's token (CKR_SLOT_ID_INVALID)\n");
    if (v->rule != NULL) {
        printf("  ");
        print_rule(v->rule);
        printf("\n");
    } else if (v->note != NULL) {
        printf("  %s\n", v->note);
    }
}

static void
decide(const P11muxPolicy *policy, const Subject *subject, const P11muxPolicyPlace *place,
       P11muxPolicyVerdict *verdict)
{
    if (subject->function != NULL) {
        p11mux_policy_decide_function(policy, subject->function, verdict);
    } else if (subject->object != NULL) {
        p11mux_policy_decide_object(policy, place, subject->object, subject->n_object, verdict);
    } else {
        p11mux_policy_decide_mechanism(policy, subject->mechanism, verdict);
    }
}

/* Each layer's verdict in turn, up to the first refusal; the policy's own
 * verdict (the layers combined, as the module enforces them) decides, and
 * is printed too should it differ from the layers'. */
static gboolean
explain_subject(const P11muxPolicy *policy, const Subject *subject, const P11muxPolicyPlace *place)
{
    P11muxPolicyVerdict verdict;
    gboolean layers_allow = TRUE;
    guint i;

    for (i = 0; layers_allow && i < p11mux_policy_n_layers(policy); i++) {
        const P11muxPolicy *layer = p11mux_policy_get_layer(policy, i);

        decide(layer, subject, place, &verdict);
        print_verdict(subject->text, layer, &verdict);
        layers_allow = verdict.allowed;
    }
    decide(policy, subject, place, &verdict);
    if (verdict.allowed != layers_allow) {
        print_verdict(subject->text, policy, &verdict);
    }
    return verdict.allowed;
}

static int
explain_in(P11muxRouter *router, const P11muxPolicySet *set, const Request *request, CK_SLOT_ID id)
{
    const P11muxSlot *slot = find_slot(router, id);
    g_autofree char *group = NULL;
    gboolean offered;
    const P11muxPolicy *policy;
    P11muxPolicyFacts facts;
    P11muxPolicyVerdict verdict;
    CK_TOKEN_INFO token;
    Subject subject = {0};
    int status;

    if (slot == NULL) {
        p11mux_cli_error("explain: no slot 0x%lx (see p11mux list)", id);
        return P11MUX_EXIT_ERROR;
    }
    if (p11mux_backend_get_token_info(slot->backend, slot->real, &token) == CKR_OK) {
        subject.token = &token;
    }
    if (!subject_parse(request, &subject)) {
        subject_clear(&subject);
        return P11MUX_EXIT_USAGE;
    }
    print_slot(slot, subject.token);
    group = p11mux_groups_explain_slot(
        router, slot,
        subject.function == NULL && subject.object == NULL ? &subject.mechanism : NULL, &offered);
    if (group != NULL) {
        fputs(group, stdout);
    }
    if (!offered) {
        printf("%s: refused: the HA group's token does not offer it (CKR_MECHANISM_INVALID)\n",
               subject.text);
        subject_clear(&subject);
        return P11MUX_EXIT_NO;
    }
    policy = p11mux_policy_set_lookup(set, slot->backend->name);
    if (policy == NULL || !p11mux_policy_slot_facts(router->policy, slot, &facts)) {
        printf("%s: allowed: no policy applies (no policy = in [backend %s] or [global])\n",
               subject.text, slot->backend->name);
        subject_clear(&subject);
        return P11MUX_EXIT_OK;
    }
    print_policies(set, slot->backend->name, policy);
    p11mux_policy_decide_token(policy, &facts.place, &verdict);
    if (!verdict.allowed) {
        print_hidden(&verdict);
        status = P11MUX_EXIT_NO;
    } else {
        status = explain_subject(policy, &subject, &facts.place) ? P11MUX_EXIT_OK : P11MUX_EXIT_NO;
    }
    subject_clear(&subject);
    return status;
}

/* The label of a token, without its padding (transfer full). */
static char *
token_label(const P11muxSlot *slot)
{
    CK_TOKEN_INFO token;
    gsize n = sizeof(token.label);

    if (p11mux_backend_get_token_info(slot->backend, slot->real, &token) != CKR_OK) {
        return NULL;
    }
    while (n > 0 && (token.label[n - 1] == ' ' || token.label[n - 1] == '\0')) {
        n--;
    }
    return g_strndup((const char *)token.label, n);
}

/* The one slot whose token is labelled label (hidden ones too); FALSE after
 * a message when there is none or more than one. */
static gboolean
slot_of_token(P11muxRouter *router, const char *label, CK_SLOT_ID *id)
{
    g_autoptr(GPtrArray) slots = NULL;
    g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) ids = g_string_new(NULL);
    g_autofree char *hint = NULL;
    guint found = 0;

    find_slot(router, 0);
    slots = p11mux_slotmap_list(router->slots);
    for (guint i = 0; i < slots->len; i++) {
        const P11muxSlot *slot = g_ptr_array_index(slots, i);
        char *name = token_label(slot);

        if (name != NULL && g_str_equal(name, label)) {
            *id = slot->id;
            g_string_append_printf(ids, " 0x%lx", slot->id);
            found++;
        }
        if (name != NULL) {
            g_ptr_array_add(labels, name);
        }
    }
    if (found == 1) {
        return TRUE;
    }
    if (found > 1) {
        p11mux_cli_error("explain: %u tokens are labelled '%s' (slots%s): give --slot ID", found,
                         label, ids->str);
        return FALSE;
    }
    g_ptr_array_add(labels, NULL);
    hint = p11mux_suggest_hint(p11mux_suggest(label, (const char *const *)labels->pdata, -1));
    p11mux_cli_error("explain: no token labelled '%s'%s (see p11mux list)", label, hint);
    return FALSE;
}

static int
explain(const Request *request)
{
    g_autoptr(GError) error = NULL;
    P11muxRouter *router;
    CK_SLOT_ID id = 0;
    int status = P11MUX_EXIT_ERROR;

    if (request->slot != NULL && !parse_slot(request->slot, &id)) {
        p11mux_cli_error("explain: '%s' is not a slot id", request->slot);
        return P11MUX_EXIT_USAGE;
    }
    router = p11mux_cli_router_new(request->config, &error);
    if (router == NULL) {
        p11mux_cli_error("%s", error->message);
        return P11MUX_EXIT_ERROR;
    }
    /* the policies the router compiled, as the module enforces them */
    if (request->token == NULL || slot_of_token(router, request->token, &id)) {
        status = explain_in(router, router->policies, request, id);
    }
    p11mux_router_free(router);
    return status;
}

int
p11mux_cli_explain(int argc, char **argv)
{
    Request request = {0};
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &request.config,
         "Read FILE alone instead of the layered configuration", "FILE"},
        {"slot", 's', 0, G_OPTION_ARG_STRING, &request.slot, "The p11mux slot id (p11mux list)",
         "ID"},
        {"token", 't', 0, G_OPTION_ARG_STRING, &request.token,
         "The slot whose token is labelled LABEL", "LABEL"},
        {"mechanism", 'm', 0, G_OPTION_ARG_STRING, &request.mechanism,
         "A mechanism (CKM_ may be left out)", "CKM_X"},
        {"object", 'o', 0, G_OPTION_ARG_STRING, &request.object, "An object", "URI"},
        {"function", 'f', 0, G_OPTION_ARG_STRING, &request.function, "A function", "C_X"},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new(NULL);
    int status = P11MUX_EXIT_USAGE;
    guint asked;

    g_set_prgname("p11mux explain");
    g_option_context_set_summary(context,
                                 "Whether the policy that applies to slot ID (or to the token "
                                 "LABEL) allows a mechanism, an object or a function, and which "
                                 "rule decides (FILE:LINE).\n"
                                 "Exit status 0: allowed; 1: refused.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (p11mux_cli_parse_options(context, &argc, &argv)) {
        asked = (request.mechanism != NULL) + (request.object != NULL) + (request.function != NULL);
        if ((request.slot == NULL) == (request.token == NULL) || asked != 1 || argc > 1) {
            p11mux_cli_error("explain: give --slot ID or --token LABEL, and one of --mechanism, "
                             "--object, --function (see --help)");
        } else {
            status = explain(&request);
        }
    }
    request_clear(&request);
    return status;
}
