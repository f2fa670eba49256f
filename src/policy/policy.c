/*
 * Policies from the configuration: each [policy NAME] group compiled into a
 * P11muxPolicy, the one each backend uses chosen (policy = NAME in its
 * [backend] group, else in [global]), and the engine attached to a router.
 *
 * policy-override (a [global] key of the system file and conf.d only):
 *   merge          (default) a policy group merges across layers key by key
 *                  like any other group, and the user's or the extra file
 *                  may change a policy, or which policy a backend uses;
 *   stricter-only  a backend's policy is the policy the system layers
 *                  choose for it, as the system layers define it, combined
 *                  with the policy the merged configuration chooses, so that
 *                  a later layer can only add restrictions: allow-lists must
 *                  all admit (intersection), deny-lists all apply (union),
 *                  min-key-bits take the larger minimum, read-only,
 *                  force-sensitive and deny-functions take either's.
 */
#include "config.h"

#include <string.h>

#include "policy-private.h"
#include "suggest.h"

G_DEFINE_QUARK(p11mux - policy - error - quark, p11mux_policy_error)

/* ------------------------------------------------------------ policies */

/* A copy of value that outlives the configuration (transfer full). */
static P11muxConfValue *
conf_value_dup(const P11muxConfValue *value)
{
    P11muxConfValue *copy = g_new0(P11muxConfValue, 1);

    copy->value = g_strdup(value->value);
    copy->origin.file = g_strdup(value->origin.file);
    copy->origin.line = value->origin.line;
    return copy;
}

static void
conf_value_clear(P11muxConfValue *value)
{
    g_free(value->value);
    g_free((char *)value->origin.file);
}

static void
conf_value_free(gpointer value)
{
    if (value != NULL) {
        conf_value_clear(value);
        g_free(value);
    }
}

static void
rule_data_free(gpointer data)
{
    P11muxPolicyRuleData *rule = data;

    conf_value_clear(&rule->rule.value);
    g_strfreev(rule->items);
    g_free(rule);
}

/* The items of a list value, as the parsers read them: split on blanks and
 * tabs, empty ones dropped (transfer full). */
static char **
split_items(const char *text)
{
    g_auto(GStrv) all = g_strsplit_set(text, " \t", -1);
    GPtrArray *items = g_ptr_array_new();
    guint i;

    for (i = 0; all[i] != NULL; i++) {
        if (all[i][0] != '\0') {
            g_ptr_array_add(items, g_strdup(all[i]));
        }
    }
    g_ptr_array_add(items, NULL);
    return (char **)g_ptr_array_free(items, FALSE);
}

/* Keep key = value as one of the rules policy is compiled from. */
static void
keep_rule(P11muxPolicy *policy, const char *key, const P11muxConfValue *value)
{
    P11muxPolicyRuleData *rule = g_new0(P11muxPolicyRuleData, 1);
    P11muxConfValue *copy = conf_value_dup(value);

    rule->rule.policy = policy->name;
    rule->rule.layer = policy->layer;
    rule->rule.key = key;
    rule->rule.value = *copy;
    g_free(copy);
    rule->items = split_items(value->value);
    g_ptr_array_add(policy->rules, rule);
}

P11muxPolicy *
p11mux_policy_new(const char *name)
{
    P11muxPolicy *policy = g_new0(P11muxPolicy, 1);

    policy->name = g_strdup(name);
    policy->rules = g_ptr_array_new_with_free_func(rule_data_free);
    policy->mech_deny = g_array_new(FALSE, FALSE, sizeof(CK_ULONG));
    policy->mech_opaque = g_array_new(FALSE, FALSE, sizeof(CK_ULONG));
    p11mux_uri_rules_init(&policy->tokens);
    p11mux_uri_rules_init(&policy->objects);
    return policy;
}

void
p11mux_policy_free(P11muxPolicy *policy)
{
    if (policy == NULL) {
        return;
    }
    g_free(policy->name);
    g_ptr_array_unref(policy->rules);
    if (policy->mech_allow != NULL) {
        g_array_unref(policy->mech_allow);
    }
    g_array_unref(policy->mech_deny);
    g_array_unref(policy->mech_opaque);
    p11mux_uri_rules_clear(&policy->tokens);
    p11mux_uri_rules_clear(&policy->objects);
    g_free(policy);
}

void
p11mux_policy_finish(P11muxPolicy *policy)
{
    guint i;

    /* the closed world (opaque and unknown mechanisms refused) is a
     * mechanism rule of every policy */
    policy->has_mechanism_rules = TRUE;
    policy->has_token_rules = !p11mux_uri_rules_empty(&policy->tokens);
    policy->has_object_rules = !p11mux_uri_rules_empty(&policy->objects);
    policy->has_key_rules = FALSE;
    for (i = 0; i < P11MUX_KEY_N_FAMILIES; i++) {
        policy->has_key_rules = policy->has_key_rules || policy->min_bits[i] > 0;
    }
    policy->reads_objects = policy->has_object_rules || policy->has_key_rules ||
                            policy->force_sensitive || policy->read_only;
    p11mux_policy_compile_mechanisms(policy);
    p11mux_policy_plan(policy);
}

/* -------------------------------------------------------------- values */

/* Each parses a value into policy: compiling is the values' only check
 * (the configuration's key table leaves them to it); NULL on success, else
 * why not (transfer full). */
typedef char *(*ValueParser)(P11muxPolicy *policy, const char *value);

static char *
parse_uris(GPtrArray *into, const char *value, P11muxUriKind kind)
{
    GPtrArray *uris = NULL;
    char *problem = p11mux_uri_parse_list(value, kind, &uris);

    if (problem == NULL) {
        g_ptr_array_add(into, uris);
    } else if (uris != NULL) {
        g_ptr_array_unref(uris);
    }
    return problem;
}

static char *
parse_tokens(P11muxPolicy *policy, const char *value)
{
    return parse_uris(policy->tokens.allow_sets, value, P11MUX_URI_TOKEN);
}

static char *
parse_deny_tokens(P11muxPolicy *policy, const char *value)
{
    return parse_uris(policy->tokens.deny_sets, value, P11MUX_URI_TOKEN);
}

static char *
parse_objects(P11muxPolicy *policy, const char *value)
{
    return parse_uris(policy->objects.allow_sets, value, P11MUX_URI_OBJECT);
}

static char *
parse_deny_objects(P11muxPolicy *policy, const char *value)
{
    return parse_uris(policy->objects.deny_sets, value, P11MUX_URI_OBJECT);
}

static char *
parse_mechanisms(P11muxPolicy *policy, const char *value)
{
    GArray *set = NULL;
    char *problem = p11mux_mech_parse_list(value, &set);

    if (problem == NULL) {
        policy->mech_allow = set;
    } else if (set != NULL) {
        g_array_unref(set);
    }
    return problem;
}

/* A mechanism list added to into. */
static char *
parse_mechanisms_into(GArray *into, const char *value)
{
    GArray *set = NULL;
    char *problem = p11mux_mech_parse_list(value, &set);

    if (problem == NULL) {
        p11mux_mech_set_add_all(into, set);
    }
    if (set != NULL) {
        g_array_unref(set);
    }
    return problem;
}

static char *
parse_deny_mechanisms(P11muxPolicy *policy, const char *value)
{
    return parse_mechanisms_into(policy->mech_deny, value);
}

static char *
parse_allow_opaque(P11muxPolicy *policy, const char *value)
{
    return parse_mechanisms_into(policy->mech_opaque, value);
}

static char *
parse_min_key_bits(P11muxPolicy *policy, const char *value)
{
    g_auto(GStrv) items = g_strsplit_set(value, " \t", -1);
    P11muxKeyFamily family;
    CK_ULONG bits;
    guint i;

    for (i = 0; items[i] != NULL; i++) {
        char *problem;

        if (items[i][0] == '\0') {
            continue;
        }
        problem = p11mux_key_parse_min(items[i], &family, &bits);
        if (problem != NULL) {
            return problem;
        }
        policy->min_bits[family] = MAX(policy->min_bits[family], bits);
    }
    return NULL;
}

/* A function p11mux routes to a backend: one with a slot or session argument. */
static gboolean
is_routed(const P11muxFunctionDesc *desc)
{
    guint i;

    for (i = 0; i < desc->n_params; i++) {
        if (desc->params[i].role == P11MUX_ROLE_SLOT ||
            desc->params[i].role == P11MUX_ROLE_SESSION) {
            return TRUE;
        }
    }
    return FALSE;
}

static char *
deny_function(P11muxPolicy *policy, const char *name)
{
    guint i;

    for (i = 0; i < P11MUX_FN_COUNT; i++) {
        if (g_str_equal(p11mux_functions[i].name, name)) {
            if (!is_routed(&p11mux_functions[i])) {
                return g_strdup_printf("function '%s' cannot be denied: it concerns no token",
                                       name);
            }
            policy->deny_fn[i] = TRUE;
            return NULL;
        }
    }
    return g_strdup_printf("unknown function '%s'", name);
}

static char *
parse_deny_functions(P11muxPolicy *policy, const char *value)
{
    g_auto(GStrv) items = g_strsplit_set(value, " \t", -1);
    char *problem = NULL;
    guint i;

    for (i = 0; problem == NULL && items[i] != NULL; i++) {
        if (items[i][0] != '\0') {
            problem = deny_function(policy, items[i]);
        }
    }
    return problem;
}

static char *
parse_read_only(P11muxPolicy *policy, const char *value)
{
    policy->read_only = g_str_equal(value, "true");
    return NULL;
}

static char *
parse_force_sensitive(P11muxPolicy *policy, const char *value)
{
    policy->force_sensitive = g_str_equal(value, "true");
    return NULL;
}

static const struct {
    const char *key;
    ValueParser parse;
} value_keys[] = {
    {"tokens", parse_tokens},
    {"deny-tokens", parse_deny_tokens},
    {"mechanisms", parse_mechanisms},
    {"deny-mechanisms", parse_deny_mechanisms},
    {"allow-opaque-mechanisms", parse_allow_opaque},
    {"min-key-bits", parse_min_key_bits},
    {"objects", parse_objects},
    {"deny-objects", parse_deny_objects},
    {"read-only", parse_read_only},
    {"deny-functions", parse_deny_functions},
    {"force-sensitive", parse_force_sensitive},
};

/* ----------------------------------------------------------- compiling */

typedef const P11muxConfValue *(*Lookup)(const P11muxConf *conf, const char *group,
                                         const char *key);

/* [policy name] as lookup gives its values (transfer full). */
static P11muxPolicy *
compile(const P11muxConf *conf, Lookup lookup, const char *name, GError **error)
{
    g_autofree char *group = g_strconcat("policy ", name, NULL);
    P11muxPolicy *policy = p11mux_policy_new(name);
    gsize i;

    policy->layer = lookup == p11mux_conf_lookup_system ? P11MUX_POLICY_LAYER_SYSTEM
                                                        : P11MUX_POLICY_LAYER_FINAL;

    for (i = 0; i < G_N_ELEMENTS(value_keys); i++) {
        const P11muxConfValue *value = lookup(conf, group, value_keys[i].key);
        g_autofree char *problem = value != NULL ? value_keys[i].parse(policy, value->value) : NULL;

        if (problem != NULL) {
            g_set_error(error, P11MUX_POLICY_ERROR, P11MUX_POLICY_ERROR_VALUE,
                        "%s:%d: key '%s' in [%s]: %s", value->origin.file, value->origin.line,
                        value_keys[i].key, group, problem);
            p11mux_policy_free(policy);
            return NULL;
        }
        if (value != NULL) {
            keep_rule(policy, value_keys[i].key, value);
        }
    }
    p11mux_policy_finish(policy);
    return policy;
}

/* A policy that both a and b restrict (transfer full). */
static P11muxPolicy *
combine(const P11muxPolicy *a, const P11muxPolicy *b)
{
    g_autofree char *name = g_strconcat(a->name, "+", b->name, NULL);
    P11muxPolicy *policy = p11mux_policy_new(name);
    guint i;

    policy->layer = a->layer;
    policy->layers[0] = a;
    policy->layers[1] = b;
    policy->n_layers = 2;
    if (a->mech_allow != NULL && b->mech_allow != NULL) {
        policy->mech_allow = p11mux_mech_set_intersect(a->mech_allow, b->mech_allow);
    } else if (a->mech_allow != NULL || b->mech_allow != NULL) {
        policy->mech_allow = g_array_copy(a->mech_allow != NULL ? a->mech_allow : b->mech_allow);
    }
    p11mux_mech_set_add_all(policy->mech_deny, a->mech_deny);
    p11mux_mech_set_add_all(policy->mech_deny, b->mech_deny);
    /* an exception to the closed world: both layers must make it */
    g_array_unref(policy->mech_opaque);
    policy->mech_opaque = p11mux_mech_set_intersect(a->mech_opaque, b->mech_opaque);
    p11mux_uri_rules_add(&policy->tokens, &a->tokens);
    p11mux_uri_rules_add(&policy->tokens, &b->tokens);
    p11mux_uri_rules_add(&policy->objects, &a->objects);
    p11mux_uri_rules_add(&policy->objects, &b->objects);
    for (i = 0; i < P11MUX_KEY_N_FAMILIES; i++) {
        policy->min_bits[i] = MAX(a->min_bits[i], b->min_bits[i]);
    }
    for (i = 0; i < P11MUX_FN_COUNT; i++) {
        policy->deny_fn[i] = a->deny_fn[i] || b->deny_fn[i];
    }
    policy->read_only = a->read_only || b->read_only;
    policy->force_sensitive = a->force_sensitive || b->force_sensitive;
    p11mux_policy_finish(policy);
    return policy;
}

/* ---------------------------------------------------------------- sets */

/* P11muxConfValue*[2], indexed by P11muxPolicyLayer */
static void
selections_free(gpointer data)
{
    P11muxConfValue **chosen = data;

    conf_value_free(chosen[P11MUX_POLICY_LAYER_FINAL]);
    conf_value_free(chosen[P11MUX_POLICY_LAYER_SYSTEM]);
    g_free(chosen);
}

static P11muxPolicySet *
set_new(void)
{
    P11muxPolicySet *set = g_new0(P11muxPolicySet, 1);

    set->policies = g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_policy_free);
    set->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    set->backends = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    set->selections = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, selections_free);
    return set;
}

void
p11mux_policy_set_free(P11muxPolicySet *set)
{
    if (set == NULL) {
        return;
    }
    g_hash_table_unref(set->selections);
    g_hash_table_unref(set->backends);
    g_hash_table_unref(set->by_name);
    g_ptr_array_unref(set->policies);
    g_free(set);
}

/* policy owned by set, found again as key. */
static P11muxPolicy *
set_keep(P11muxPolicySet *set, const char *key, P11muxPolicy *policy)
{
    g_ptr_array_add(set->policies, policy);
    g_hash_table_insert(set->by_name, g_strdup(key), policy);
    return policy;
}

const P11muxPolicy *
p11mux_policy_set_lookup(const P11muxPolicySet *set, const char *backend)
{
    return g_hash_table_lookup(set->backends, backend);
}

const P11muxConfValue *
p11mux_policy_set_selection(const P11muxPolicySet *set, const char *backend,
                            P11muxPolicyLayer layer)
{
    P11muxConfValue **chosen = g_hash_table_lookup(set->selections, backend);

    return chosen != NULL ? chosen[layer] : NULL;
}

/* Remember which settings chose backend's policy (nullable each). */
static void
keep_selection(P11muxPolicySet *set, const char *backend, const P11muxConfValue *final,
               const P11muxConfValue *system)
{
    P11muxConfValue **chosen = g_new0(P11muxConfValue *, 2);

    chosen[P11MUX_POLICY_LAYER_FINAL] = final != NULL ? conf_value_dup(final) : NULL;
    chosen[P11MUX_POLICY_LAYER_SYSTEM] = system != NULL ? conf_value_dup(system) : NULL;
    g_hash_table_insert(set->selections, g_strdup(backend), chosen);
}

/* Every [policy NAME] group of the merged configuration, checked even when
 * no backend uses it. */
static gboolean
compile_groups(P11muxPolicySet *set, const P11muxConf *conf, GError **error)
{
    guint i;

    for (i = 0; i < conf->groups->len; i++) {
        const P11muxConfGroup *group = g_ptr_array_index(conf->groups, i);
        P11muxPolicy *policy;

        if (group->kind != P11MUX_CONF_GROUP_POLICY) {
            continue;
        }
        policy = compile(conf, p11mux_conf_lookup, group->label, error);
        if (policy == NULL) {
            return FALSE;
        }
        set_keep(set, group->label, policy);
    }
    return TRUE;
}

/* The policy = NAME setting for a backend: its own, else [global]'s. */
static const P11muxConfValue *
selection(const P11muxConf *conf, Lookup lookup, const char *backend)
{
    /* an HA group's virtual backend, "group:NAME": its [group NAME] */
    g_autofree char *group =
        g_str_has_prefix(backend, P11MUX_POLICY_GROUPS_BACKEND)
            ? g_strconcat("group ", backend + strlen(P11MUX_POLICY_GROUPS_BACKEND), NULL)
            : g_strconcat("backend ", backend, NULL);
    const P11muxConfValue *value = lookup(conf, group, "policy");

    return value != NULL ? value : lookup(conf, "global", "policy");
}

/* What the system layers choose for backend, as they define it; NULL: none. */
static const P11muxPolicy *
system_policy(P11muxPolicySet *set, const P11muxConf *conf, const char *backend, GError **error)
{
    const P11muxConfValue *chosen = selection(conf, p11mux_conf_lookup_system, backend);
    g_autofree char *key = NULL;
    P11muxPolicy *policy;

    if (chosen == NULL) {
        return NULL;
    }
    key = g_strconcat("system ", chosen->value, NULL);
    policy = g_hash_table_lookup(set->by_name, key);
    if (policy == NULL) {
        policy = compile(conf, p11mux_conf_lookup_system, chosen->value, error);
        if (policy == NULL) {
            return NULL;
        }
        set_keep(set, key, policy);
    }
    return policy;
}

static const P11muxPolicy *
combined(P11muxPolicySet *set, const P11muxPolicy *system, const P11muxPolicy *final)
{
    g_autofree char *key = NULL;
    P11muxPolicy *policy;

    if (system == NULL || final == NULL) {
        return system != NULL ? system : final;
    }
    key = g_strconcat("combined ", system->name, "\n", final->name, NULL);
    policy = g_hash_table_lookup(set->by_name, key);
    return policy != NULL ? policy : set_keep(set, key, combine(system, final));
}

static gboolean
choose(P11muxPolicySet *set, const P11muxConf *conf, const P11muxConfBackend *backend,
       GError **error)
{
    const P11muxConfValue *chosen = selection(conf, p11mux_conf_lookup, backend->name);
    const P11muxPolicy *final = NULL, *system = NULL, *policy;

    if (chosen != NULL) {
        final = g_hash_table_lookup(set->by_name, chosen->value);
        if (final == NULL) {
            g_auto(GStrv) names = p11mux_conf_dup_group_labels(conf, P11MUX_CONF_GROUP_POLICY);
            g_autofree char *hint =
                p11mux_suggest_hint(p11mux_suggest(chosen->value, (const char *const *)names, -1));

            g_set_error(error, P11MUX_POLICY_ERROR, P11MUX_POLICY_ERROR_UNDEFINED,
                        "%s:%d: policy '%s' is not defined (no [policy %s] group)%s",
                        chosen->origin.file, chosen->origin.line, chosen->value, chosen->value,
                        hint);
            return FALSE;
        }
    }
    if (conf->policy_stricter_only) {
        GError *local = NULL;

        system = system_policy(set, conf, backend->name, &local);
        if (local != NULL) {
            g_propagate_error(error, local);
            return FALSE;
        }
    }
    policy = combined(set, system, final);
    if (policy != NULL) {
        g_hash_table_insert(set->backends, g_strdup(backend->name), (gpointer)policy);
        keep_selection(set, backend->name, final != NULL ? chosen : NULL,
                       system != NULL ? selection(conf, p11mux_conf_lookup_system, backend->name)
                                      : NULL);
    }
    return TRUE;
}

P11muxPolicySet *
p11mux_policy_set_new(const P11muxConf *conf, GError **error)
{
    g_autoptr(P11muxPolicySet) set = set_new();
    guint i;

    g_return_val_if_fail(conf != NULL, NULL);

    if (!compile_groups(set, conf, error)) {
        return NULL;
    }
    for (i = 0; i < conf->backends->len; i++) {
        const P11muxConfBackend *backend = g_ptr_array_index(conf->backends, i);

        if (backend->enabled && !choose(set, conf, backend, error)) {
            return NULL;
        }
    }
    /* each HA group's virtual backend (src/group/group.h), named so that no
     * [backend] group can select for it: the policy its [group NAME] names,
     * else [global]'s, and the system layers' under stricter-only */
    for (i = 0; conf->ha_groups != NULL && i < conf->ha_groups->len; i++) {
        const P11muxConfHaGroup *ha = g_ptr_array_index(conf->ha_groups, i);
        g_autofree char *name = g_strconcat(P11MUX_POLICY_GROUPS_BACKEND, ha->name, NULL);
        P11muxConfBackend group = {.name = name};

        if (!choose(set, conf, &group, error)) {
            return NULL;
        }
    }
    return g_steal_pointer(&set);
}

/* ------------------------------------------------------------- engine */

void
p11mux_policy_engine_free(P11muxPolicyEngine *engine)
{
    if (engine == NULL) {
        return;
    }
    g_free(engine->by_backend);
    g_free(engine->modules);
    g_free(engine->vendors);
    p11mux_policy_cache_free(engine->cache);
    g_ptr_array_unref(engine->states);
    g_mutex_clear(&engine->states_lock);
    g_free(engine);
}

/* The functions no backend's policy plans a step for: both seams are
 * skipped for them (the plain path); and those with no after step in any
 * plan, whose after seam has nothing to do unless check kept call data. */
static void
skip_unplanned(P11muxPolicyEngine *engine)
{
    guint fn, i;

    for (fn = 0; fn < P11MUX_FN_COUNT; fn++) {
        gboolean planned = FALSE;

        engine->after_planned[fn] = FALSE;
        for (i = 0; i < engine->n_backends; i++) {
            guint steps = engine->by_backend[i] != NULL ? engine->by_backend[i]->steps[fn] : 0;

            planned = planned || steps != 0;
            engine->after_planned[fn] =
                engine->after_planned[fn] || (steps & ~P11MUX_CHECK_STEPS) != 0;
        }
        engine->wanted_seams[fn] = (planned ? P11MUX_SEAM_CHECK : 0) |
                                   (engine->after_planned[fn] ? P11MUX_SEAM_AFTER : 0);
    }
}

P11muxPolicyEngine *
p11mux_policy_engine_new(const P11muxPolicySet *set, GPtrArray *backends, const CK_INFO *infos,
                         P11muxPolicyCheckFacts check_facts, P11muxPolicyAskSlot ask_slot,
                         gpointer pipeline)
{
    P11muxPolicyEngine *engine;
    guint i;

    g_return_val_if_fail(set != NULL && backends != NULL && check_facts != NULL &&
                             ask_slot != NULL,
                         NULL);

    if (g_hash_table_size(set->backends) == 0) {
        return NULL;
    }
    engine = g_new0(P11muxPolicyEngine, 1);
    engine->set = set;
    engine->check_facts = check_facts;
    engine->ask_slot = ask_slot;
    engine->pipeline = pipeline;
    for (i = 0; i < backends->len; i++) {
        const P11muxBackend *backend = g_ptr_array_index(backends, i);

        engine->n_backends = MAX(engine->n_backends, backend->index + 1);
    }
    /* the router adds no backend after this: p11mux_policy_quick indexes
     * by_backend without a bounds test */
    engine->by_backend = g_new0(const P11muxPolicy *, MAX(engine->n_backends, 1));
    engine->modules = g_new0(CK_INFO, MAX(engine->n_backends, 1));
    engine->vendors = g_new0(guint, MAX(engine->n_backends, 1));
    for (i = 0; i < backends->len; i++) {
        const P11muxBackend *backend = g_ptr_array_index(backends, i);

        engine->by_backend[backend->index] = p11mux_policy_set_lookup(set, backend->name);
        if (engine->by_backend[backend->index] != NULL) {
            engine->modules[backend->index] = infos[backend->index];
            engine->vendors[backend->index] =
                p11mux_param_vendor_of(engine->modules[backend->index].manufacturerID);
        }
    }
    engine->cache = p11mux_policy_cache_new();
    g_mutex_init(&engine->states_lock);
    engine->states = g_ptr_array_new_with_free_func(g_free);
    skip_unplanned(engine);
    return engine;
}

const guint8 *
p11mux_policy_engine_seams(const P11muxPolicyEngine *engine)
{
    return engine->wanted_seams;
}
