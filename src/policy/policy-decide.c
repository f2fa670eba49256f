/*
 * Policy decisions with the rule that makes them (policy-decide.h).  Whether
 * a thing is allowed is read from the compiled policy the module enforces
 * (a combined policy's own sets); which rule decides is then found in the
 * first layer that refuses, from that layer's compiled sets and URI lists,
 * so that the rule cited is one that matched.
 */
#include "config.h"

#include <string.h>

#include "policy-private.h"

/* ----------------------------------------------------------- accessors */

const char *
p11mux_policy_get_name(const P11muxPolicy *policy)
{
    return policy->name;
}

P11muxPolicyLayer
p11mux_policy_get_layer_kind(const P11muxPolicy *policy)
{
    return policy->layer;
}

guint
p11mux_policy_n_layers(const P11muxPolicy *policy)
{
    return policy->n_layers > 0 ? policy->n_layers : 1;
}

const P11muxPolicy *
p11mux_policy_get_layer(const P11muxPolicy *policy, guint i)
{
    g_return_val_if_fail(i < p11mux_policy_n_layers(policy), NULL);

    return policy->n_layers > 0 ? policy->layers[i] : policy;
}

static const P11muxPolicyRuleData *
rule_data(const P11muxPolicy *policy, const char *key)
{
    guint i;

    for (i = 0; i < policy->rules->len; i++) {
        const P11muxPolicyRuleData *rule = g_ptr_array_index(policy->rules, i);

        if (g_str_equal(rule->rule.key, key)) {
            return rule;
        }
    }
    return NULL;
}

const P11muxPolicyRule *
p11mux_policy_get_rule(const P11muxPolicy *policy, const char *key)
{
    const P11muxPolicyRuleData *rule = rule_data(policy, key);

    return rule != NULL ? &rule->rule : NULL;
}

/* ------------------------------------------------------------ verdicts */

static void
verdict_init(P11muxPolicyVerdict *verdict)
{
    memset(verdict, 0, sizeof *verdict);
    verdict->allowed = TRUE;
    verdict->rv = CKR_OK;
}

/* layer's rule key, and its item index (nullable: -1). */
static void
cite(P11muxPolicyVerdict *verdict, const P11muxPolicy *layer, const char *key, int item)
{
    const P11muxPolicyRuleData *rule = rule_data(layer, key);

    verdict->layer = layer;
    verdict->rule = rule != NULL ? &rule->rule : NULL;
    verdict->item = NULL;
    if (rule != NULL && item >= 0 && (guint)item < g_strv_length(rule->items)) {
        verdict->item = rule->items[item];
    }
}

/* The allowed verdict of the whole policy, the refusing layer's rule cited:
 * each layer judged by judge, the first that refuses decides; allowed from
 * the policy itself (the module's data) is kept either way. */
typedef void (*LayerJudge)(const P11muxPolicy *layer, gconstpointer fact,
                           P11muxPolicyVerdict *verdict);

static void
decide(const P11muxPolicy *policy, gboolean allowed, CK_RV refusal, LayerJudge judge,
       gconstpointer fact, P11muxPolicyVerdict *verdict)
{
    P11muxPolicyVerdict first;
    guint i;

    verdict_init(&first);
    for (i = 0; i < p11mux_policy_n_layers(policy); i++) {
        P11muxPolicyVerdict layer;

        verdict_init(&layer);
        judge(p11mux_policy_get_layer(policy, i), fact, &layer);
        if (!layer.allowed) {
            first = layer;
            break;
        }
        if (i == 0 || (first.rule == NULL && layer.rule != NULL)) {
            first = layer;
        }
    }
    *verdict = first;
    verdict->allowed = allowed;
    verdict->rv = allowed ? CKR_OK : refusal;
    if (!allowed && first.allowed) {
        /* no layer alone refuses: cannot happen while combine() is an
         * intersection of what the layers allow */
        verdict->layer = NULL;
        verdict->rule = NULL;
        verdict->item = NULL;
        verdict->note = "refused by the layers combined";
    }
}

/* ---------------------------------------------------------- mechanisms */

/* The index of the item of key in layer whose mechanisms hold type; -1. */
static int
mechanism_item(const P11muxPolicy *layer, const char *key, CK_MECHANISM_TYPE type)
{
    const P11muxPolicyRuleData *rule = rule_data(layer, key);
    guint i;

    for (i = 0; rule != NULL && rule->items[i] != NULL; i++) {
        g_autoptr(GArray) set = NULL;
        g_autofree char *problem = p11mux_mech_parse_list(rule->items[i], &set);

        if (problem == NULL && p11mux_mech_set_contains(set, type)) {
            return (int)i;
        }
    }
    return -1;
}

static void
judge_mechanism(const P11muxPolicy *layer, gconstpointer fact, P11muxPolicyVerdict *verdict)
{
    CK_MECHANISM_TYPE type = *(const CK_MECHANISM_TYPE *)fact;

    verdict->layer = layer;
    if (p11mux_mech_set_contains(layer->mech_deny, type)) {
        verdict->allowed = FALSE;
        cite(verdict, layer, "deny-mechanisms", mechanism_item(layer, "deny-mechanisms", type));
    } else if (layer->mech_allow != NULL) {
        verdict->allowed = p11mux_mech_set_contains(layer->mech_allow, type);
        cite(verdict, layer, "mechanisms",
             verdict->allowed ? mechanism_item(layer, "mechanisms", type) : -1);
    }
    if (verdict->allowed && !p11mux_policy_admits_mechanism(layer, 0, type)) {
        verdict->allowed = FALSE;
        cite(verdict, layer, "allow-opaque-mechanisms", -1);
        verdict->note = "p11mux does not read this mechanism's parameter and no "
                        "allow-opaque-mechanisms names it (closed world)";
    }
}

/* The smallest key a mechanism may use, and the first layer's rule saying so. */
static void
note_min_key_bits(const P11muxPolicy *policy, CK_MECHANISM_TYPE type, P11muxPolicyVerdict *verdict)
{
    gboolean in_bytes;
    P11muxKeyFamily family = p11mux_key_family_of_mechanism(type, &in_bytes);
    guint i;

    if (family == P11MUX_KEY_NONE || policy->min_bits[family] == 0) {
        return;
    }
    verdict->min_key_bits = policy->min_bits[family];
    for (i = 0; i < p11mux_policy_n_layers(policy); i++) {
        const P11muxPolicy *layer = p11mux_policy_get_layer(policy, i);

        if (layer->min_bits[family] == policy->min_bits[family]) {
            verdict->min_key_rule = p11mux_policy_get_rule(layer, "min-key-bits");
            return;
        }
    }
}

void
p11mux_policy_decide_mechanism(const P11muxPolicy *policy, CK_MECHANISM_TYPE type,
                               P11muxPolicyVerdict *verdict)
{
    g_return_if_fail(policy != NULL && verdict != NULL);

    decide(policy, p11mux_policy_admits_mechanism(policy, 0, type), CKR_MECHANISM_INVALID,
           judge_mechanism, &type, verdict);
    if (verdict->allowed) {
        note_min_key_bits(policy, type, verdict);
    }
}

/* ----------------------------------------------------------- functions */

/* What the check seam refuses a call of desc for, whatever its arguments
 * (policy-hooks.c check_function, policy-changes.c check_templates), and
 * with which rule; CKR_OK when nothing. */
static CK_RV
function_refusal(const P11muxPolicy *policy, const P11muxFunctionDesc *desc, const char **key)
{
    *key = NULL;
    if (policy->deny_fn[desc->id]) {
        *key = "deny-functions";
        return CKR_FUNCTION_NOT_SUPPORTED;
    }
    if (p11mux_policy_find_param(desc, P11MUX_ROLE_STATE_OUT, 0) >= 0) {
        return CKR_STATE_UNSAVEABLE;
    }
    if (p11mux_policy_find_param(desc, P11MUX_ROLE_STATE_IN, 0) >= 0) {
        return CKR_SAVED_STATE_INVALID;
    }
    if (policy->read_only && desc->writes &&
        p11mux_policy_find_param(desc, P11MUX_ROLE_TEMPLATE, 0) < 0 &&
        p11mux_policy_find_param(desc, P11MUX_ROLE_OBJECT, 0) < 0) {
        *key = "read-only";
        return CKR_TOKEN_WRITE_PROTECTED;
    }
    return CKR_OK;
}

/* Whether read-only limits desc without refusing it: the note saying how. */
static const char *
function_condition(const P11muxPolicy *policy, const P11muxFunctionDesc *desc)
{
    int flags = p11mux_policy_find_param(desc, P11MUX_ROLE_FLAGS, 0);

    if (!policy->read_only) {
        return NULL;
    }
    if (desc->writes) {
        return "on session objects only (CKA_TOKEN false)";
    }
    if (flags >= 0 && g_strcmp0(desc->params[flags].ref_name, "session") == 0) {
        return "for read-only sessions only (CKF_RW_SESSION: CKR_TOKEN_WRITE_PROTECTED)";
    }
    return NULL;
}

static void
judge_function(const P11muxPolicy *layer, gconstpointer fact, P11muxPolicyVerdict *verdict)
{
    const P11muxFunctionDesc *desc = fact;
    const char *key;
    CK_RV rv = function_refusal(layer, desc, &key);
    guint i;

    verdict->layer = layer;
    verdict->allowed = rv == CKR_OK;
    if (!verdict->allowed && key == NULL) {
        verdict->note = "saved operation state is opaque and refused under every policy";
        return;
    }
    if (key != NULL && g_str_equal(key, "deny-functions")) {
        const P11muxPolicyRuleData *rule = rule_data(layer, key);

        for (i = 0; rule != NULL && rule->items[i] != NULL; i++) {
            if (g_str_equal(rule->items[i], desc->name)) {
                break;
            }
        }
        cite(verdict, layer, key, rule != NULL && rule->items[i] != NULL ? (int)i : -1);
        return;
    }
    if (key == NULL && function_condition(layer, desc) != NULL) {
        key = "read-only";
        verdict->note = function_condition(layer, desc);
    }
    if (key != NULL) {
        cite(verdict, layer, key, -1);
    }
}

void
p11mux_policy_decide_function(const P11muxPolicy *policy, const P11muxFunctionDesc *function,
                              P11muxPolicyVerdict *verdict)
{
    const char *key;
    CK_RV rv;

    g_return_if_fail(policy != NULL && function != NULL && verdict != NULL);

    rv = function_refusal(policy, function, &key);
    decide(policy, rv == CKR_OK, rv, judge_function, function, verdict);
}

/* -------------------------------------------------------- tokens, objects */

/* The rule behind a URI refusal in a layer (whose lists come from one key each). */
static void
cite_uri(P11muxPolicyVerdict *verdict, const P11muxPolicy *layer, const P11muxUriRefusal *refusal,
         const char *allow_key, const char *deny_key)
{
    cite(verdict, layer, refusal->denied ? deny_key : allow_key, refusal->uri);
}

/* A token the module shows (policy-slots.c read_state): with token rules,
 * a slot it cannot describe is hidden, an empty one shown. */
static gboolean
token_allowed(const P11muxPolicy *policy, const P11muxPolicyPlace *place, P11muxUriRefusal *refusal)
{
    if (!policy->has_token_rules || (place->slot != NULL && place->token == NULL)) {
        return TRUE;
    }
    if (place->slot == NULL) {
        refusal->list = G_MAXUINT;
        return FALSE;
    }
    return p11mux_uri_rules_judge_token(&policy->tokens, place, refusal);
}

static void
judge_token(const P11muxPolicy *layer, gconstpointer fact, P11muxPolicyVerdict *verdict)
{
    P11muxUriRefusal refusal = {FALSE, 0, -1};

    verdict->layer = layer;
    verdict->allowed = token_allowed(layer, fact, &refusal);
    if (verdict->allowed) {
        return;
    }
    if (refusal.list == G_MAXUINT) {
        verdict->note = "the backend cannot describe the slot";
        return;
    }
    cite_uri(verdict, layer, &refusal, "tokens", "deny-tokens");
}

void
p11mux_policy_decide_token(const P11muxPolicy *policy, const P11muxPolicyPlace *place,
                           P11muxPolicyVerdict *verdict)
{
    P11muxUriRefusal refusal;

    g_return_if_fail(policy != NULL && place != NULL && verdict != NULL);

    decide(policy, token_allowed(policy, place, &refusal), CKR_SLOT_ID_INVALID, judge_token, place,
           verdict);
}

typedef struct {
    const P11muxPolicyPlace *place;
    const CK_ATTRIBUTE *attrs;
    CK_ULONG n;
} ObjectFact;

/* An object the module shows (policy-objects.c p11mux_policy_object_visible). */
static gboolean
object_allowed(const P11muxPolicy *policy, const ObjectFact *object, P11muxUriRefusal *refusal)
{
    CK_ULONG klass;

    if (!policy->has_object_rules) {
        return TRUE;
    }
    if (!p11mux_template_ulong(object->attrs, object->n, CKA_CLASS, &klass)) {
        refusal->list = G_MAXUINT;
        return FALSE;
    }
    return p11mux_uri_rules_judge_object(&policy->objects, object->place, object->attrs, object->n,
                                         refusal);
}

static void
judge_object(const P11muxPolicy *layer, gconstpointer fact, P11muxPolicyVerdict *verdict)
{
    P11muxUriRefusal refusal = {FALSE, 0, -1};

    verdict->layer = layer;
    verdict->allowed = object_allowed(layer, fact, &refusal);
    if (verdict->allowed) {
        return;
    }
    if (refusal.list == G_MAXUINT) {
        verdict->note = "its class (CKA_CLASS) is not known, and object rules apply";
        return;
    }
    cite_uri(verdict, layer, &refusal, "objects", "deny-objects");
}

void
p11mux_policy_decide_object(const P11muxPolicy *policy, const P11muxPolicyPlace *place,
                            const CK_ATTRIBUTE *attrs, CK_ULONG n, P11muxPolicyVerdict *verdict)
{
    ObjectFact object = {place, attrs, n};
    P11muxUriRefusal refusal;

    g_return_if_fail(policy != NULL && place != NULL && verdict != NULL);

    decide(policy, object_allowed(policy, &object, &refusal), CKR_OBJECT_HANDLE_INVALID,
           judge_object, &object, verdict);
}

/* ----------------------------------------------------------------- facts */

gboolean
p11mux_policy_slot_facts(P11muxPolicyEngine *engine, const P11muxSlot *slot,
                         P11muxPolicyFacts *facts)
{
    const P11muxPolicy *policy;
    const P11muxSlotState *state;
    P11muxUriPlace place;

    memset(facts, 0, sizeof *facts);
    if (engine == NULL || slot == NULL) {
        return FALSE;
    }
    policy = p11mux_policy_of_backend(engine, slot->backend);
    if (policy == NULL) {
        return FALSE;
    }
    state = p11mux_policy_slot_state(engine, policy, slot, TRUE);
    p11mux_policy_slot_place(engine, slot, state, &place);
    facts->place.slot_id = place.slot_id;
    if (place.module != NULL) {
        facts->module = *place.module;
        facts->place.module = &facts->module;
    }
    if (place.slot != NULL) {
        facts->slot = *place.slot;
        facts->place.slot = &facts->slot;
    }
    if (place.token != NULL) {
        facts->token = *place.token;
        facts->place.token = &facts->token;
    }
    return TRUE;
}
