/*
 * [group NAME]: the HA groups of the configuration (p11mux.conf(5)).
 *
 * The key table (conf-keys.c) checks each value as it is read, with the
 * parsers here; once the layers are merged, each [group NAME] becomes a
 * P11muxConfHaGroup (conf.h), and what spans keys, groups and backends is
 * checked: members present, min-replicas and min-active within the
 * members, a token listed once in all groups, the policy defined, every
 * member's backend defined and enabled. What needs loaded backends (a URI
 * matching no token or several, CKF_LOGIN_REQUIRED) is the runtime's.
 */
#include "config.h"

#include "conf-private.h"
#include "constants.h"
#include "suggest.h"

#include <stdlib.h>
#include <string.h>

/* CK_TOKEN_INFO.label */
#define LABEL_MAX 32

/* ----------------------------------------------------------------- words */

/* The words of text, split at spaces and tabs (transfer full: the array
 * frees its strings). */
static GPtrArray *
words_of(const char *text)
{
    GPtrArray *words = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) split = g_strsplit_set(text, " \t", -1);

    for (guint i = 0; split[i] != NULL; i++) {
        if (*split[i] != '\0') {
            g_ptr_array_add(words, g_strdup(split[i]));
        }
    }
    return words;
}

/* The index of a word listed earlier than i, or -1. */
static gint
earlier_index(GPtrArray *words, guint i)
{
    for (guint j = 0; j < i; j++) {
        if (g_str_equal(g_ptr_array_index(words, j), g_ptr_array_index(words, i))) {
            return (gint)j;
        }
    }
    return -1;
}

/* --------------------------------------------------------------- members */

static void
member_free(gpointer data)
{
    P11muxConfMember *member = data;

    g_free(member->backend);
    p11_kit_uri_free(member->token);
    g_free(member->text);
    g_free(member);
}

/* Why a parsed member URI cannot name a token, or NULL (transfer full). */
static char *
token_uri_problem(const char *item, const char *uri_text, P11KitUri *uri)
{
    if (p11_kit_uri_get_pin_value(uri) != NULL || p11_kit_uri_get_pin_source(uri) != NULL) {
        return g_strdup_printf("member '%s' holds a PIN: the group logs in with the "
                               "application's",
                               item);
    }
    if (p11_kit_uri_any_unrecognized(uri)) {
        return g_strdup_printf("member '%s': a member URI names a token (token=, manufacturer=, "
                               "model=, serial=), nothing else",
                               item);
    }
    if (strchr(uri_text, '?') != NULL) {
        return g_strdup_printf("member '%s' holds a query part (module-name=, module-path=, ...), "
                               "which a member URI cannot match on",
                               item);
    }
    return NULL;
}

/* One BACKEND:TOKEN-URI item: NULL and *member set, else why not (transfer
 * full). */
static char *
parse_member(const char *item, P11muxConfMember **member)
{
    const char *colon = strchr(item, ':');
    g_autofree char *backend = NULL;
    P11KitUri *uri;
    int code;
    char *problem;

    if (colon == NULL) {
        return g_strdup_printf("member '%s' is not BACKEND:TOKEN-URI", item);
    }
    if (g_str_has_prefix(item, "pkcs11:") && !g_str_has_prefix(colon + 1, "pkcs11:")) {
        return g_strdup_printf("member '%s' names no backend: expected BACKEND:TOKEN-URI", item);
    }
    backend = g_strndup(item, (gsize)(colon - item));
    if (!p11mux_conf_is_valid_name(backend)) {
        return g_strdup_printf("member '%s': '%s' is not a backend name (letters, digits, '_', "
                               "'.' and '-')",
                               item, backend);
    }
    uri = p11_kit_uri_new();
    code = p11_kit_uri_parse(colon + 1, P11_KIT_URI_FOR_TOKEN, uri);
    if (code != P11_KIT_URI_OK) {
        problem =
            g_strdup_printf("member '%s': bad token URI: %s", item, p11_kit_uri_message(code));
    } else {
        problem = token_uri_problem(item, colon + 1, uri);
    }
    if (problem != NULL) {
        p11_kit_uri_free(uri);
        return problem;
    }
    *member = g_new0(P11muxConfMember, 1);
    (*member)->backend = g_steal_pointer(&backend);
    (*member)->token = uri;
    (*member)->text = g_strdup(item);
    return NULL;
}

char *
p11mux_conf_parse_members(const char *text, gboolean standby, GPtrArray *members,
                          P11muxConfOrigin origin)
{
    g_autoptr(GPtrArray) words = words_of(text);

    if (words->len == 0 && !standby) {
        return g_strdup("expected at least one member, BACKEND:TOKEN-URI");
    }
    for (guint i = 0; i < words->len; i++) {
        P11muxConfMember *member = NULL;
        char *problem = parse_member(g_ptr_array_index(words, i), &member);

        if (problem != NULL) {
            return problem;
        }
        member->standby = standby;
        member->origin = origin;
        if (members != NULL) {
            g_ptr_array_add(members, member);
        } else {
            member_free(member);
        }
    }
    return NULL;
}

/* ----------------------------------------------------- lists of words */

char *
p11mux_conf_parse_failover_on(const char *text, GArray *values)
{
    g_autoptr(GPtrArray) words = words_of(text);

    if (words->len == 0) {
        return g_strdup("expected at least one return value (CKR_...)");
    }
    for (guint i = 0; i < words->len; i++) {
        const char *word = g_ptr_array_index(words, i);
        CK_RV rv;

        if (!p11mux_constant_parse(P11MUX_CONST_CKR, word, &rv)) {
            g_autofree char *hint =
                p11mux_suggest_hint(p11mux_suggest_constant(P11MUX_CONST_CKR, word));

            return g_strdup_printf("unknown return value '%s'%s", word, hint);
        }
        if (rv == CKR_OK) {
            return g_strdup_printf("'%s' is success, not a reason to fail over", word);
        }
        if (earlier_index(words, i) >= 0) {
            return g_strdup_printf("'%s' listed twice", word);
        }
        if (values != NULL) {
            g_array_append_val(values, rv);
        }
    }
    return NULL;
}

/* In the order of the P11muxHaVerify bits. */
static const char *const verify_names[] = {"pubkey", "cert", "kcv", "probe", NULL};

char *
p11mux_conf_parse_verify(const char *text, guint *flags)
{
    g_autoptr(GPtrArray) words = words_of(text);

    *flags = 0;
    if (words->len == 0) {
        return g_strdup("expected one or more of pubkey, cert, kcv and probe");
    }
    for (guint i = 0; i < words->len; i++) {
        const char *word = g_ptr_array_index(words, i);
        guint bit = 0;

        while (verify_names[bit] != NULL && !g_str_equal(verify_names[bit], word)) {
            bit++;
        }
        if (verify_names[bit] == NULL) {
            g_autofree char *hint = p11mux_suggest_hint(p11mux_suggest(word, verify_names, -1));

            return g_strdup_printf("unknown check '%s': expected pubkey, cert, kcv or probe%s",
                                   word, hint);
        }
        if (earlier_index(words, i) >= 0) {
            return g_strdup_printf("'%s' listed twice", word);
        }
        *flags |= 1u << bit;
    }
    return NULL;
}

/* ------------------------------------------------------------ the group */

void
p11mux_conf_ha_group_free(P11muxConfHaGroup *group)
{
    if (group == NULL) {
        return;
    }
    g_free(group->name);
    g_ptr_array_unref(group->members);
    g_free(group->label);
    g_free(group->serial);
    g_array_unref(group->failover_on);
    g_free(group->policy);
    g_free(group);
}

/* The value set for key in [group NAME], else its default (nullable). */
static const char *
setting(const P11muxConf *conf, const P11muxConfGroup *section, const char *key)
{
    const P11muxConfValue *value = p11mux_conf_lookup(conf, section->name, key);

    if (value != NULL) {
        return value->value;
    }
    return p11mux_conf_find_key(P11MUX_CONF_GROUP_HA, key)->default_value;
}

/* The index of an enum key's value among its choices. */
static guint
choice(const P11muxConf *conf, const P11muxConfGroup *section, const char *key)
{
    const char *value = setting(conf, section, key);
    const char *const *choices = p11mux_conf_find_key(P11MUX_CONF_GROUP_HA, key)->choices;

    for (guint i = 0; choices[i] != NULL; i++) {
        if (g_str_equal(choices[i], value)) {
            return i;
        }
    }
    g_return_val_if_reached(0); /* the value was checked when read */
}

static guint64
number(const P11muxConf *conf, const P11muxConfGroup *section, const char *key)
{
    const P11muxConfKey *row = p11mux_conf_find_key(P11MUX_CONF_GROUP_HA, key);
    const char *value = setting(conf, section, key);
    guint64 result = 0;

    if (value != NULL && !p11mux_conf_parse_uint(value, row->min, row->max, &result)) {
        g_return_val_if_reached(0); /* the value was checked when read */
    }
    return result;
}

/* A duration or "0" (0). */
static gint64
duration(const char *text)
{
    gint64 us = 0;

    if (!g_str_equal(text, "0") && !p11mux_conf_parse_duration(text, &us)) {
        g_return_val_if_reached(0); /* the value was checked when read */
    }
    return us;
}

static void
set_backoff(P11muxConfHaGroup *group, const char *text)
{
    g_autoptr(GPtrArray) words = words_of(text);

    g_return_if_fail(words->len == 2); /* checked when read */
    group->recover_backoff_min_us = duration(g_ptr_array_index(words, 0));
    group->recover_backoff_max_us = duration(g_ptr_array_index(words, 1));
}

/* 16 hex digits of SHA-256("p11mux-group:" NAME) (transfer full). */
static char *
default_serial(const char *name)
{
    g_autofree char *text = g_strconcat("p11mux-group:", name, NULL);
    g_autofree char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);

    return g_strndup(digest, 16);
}

static void
set_members(const P11muxConf *conf, const P11muxConfGroup *section, P11muxConfHaGroup *group)
{
    const P11muxConfValue *members = p11mux_conf_lookup(conf, section->name, "members");
    const P11muxConfValue *standby = p11mux_conf_lookup(conf, section->name, "standby");
    char *problem;

    problem = p11mux_conf_parse_members(members->value, FALSE, group->members, members->origin);
    g_warn_if_fail(problem == NULL); /* checked when read */
    g_free(problem);
    group->n_members = group->members->len;
    if (standby != NULL) {
        problem = p11mux_conf_parse_members(standby->value, TRUE, group->members, standby->origin);
        g_warn_if_fail(problem == NULL);
        g_free(problem);
    }
}

static void
set_identity_and_checks(const P11muxConf *conf, const P11muxConfGroup *section,
                        P11muxConfHaGroup *group)
{
    static const guint identities[] = {
        P11MUX_HA_IDENTITY_ID,
        P11MUX_HA_IDENTITY_LABEL,
        P11MUX_HA_IDENTITY_ID | P11MUX_HA_IDENTITY_LABEL,
    };
    char *problem;

    group->identity = identities[choice(conf, section, "identity")];
    problem = p11mux_conf_parse_verify(setting(conf, section, "verify"), &group->verify);
    g_warn_if_fail(problem == NULL); /* checked when read */
    g_free(problem);
    problem =
        p11mux_conf_parse_failover_on(setting(conf, section, "failover-on"), group->failover_on);
    g_warn_if_fail(problem == NULL);
    g_free(problem);
}

static void
set_fields(const P11muxConf *conf, const P11muxConfGroup *section, P11muxConfHaGroup *group)
{
    const char *label = setting(conf, section, "label");
    const char *serial = setting(conf, section, "serial");

    group->label = label != NULL ? g_strdup(label) : g_strndup(section->label, LABEL_MAX);
    group->serial = serial != NULL ? g_strdup(serial) : default_serial(section->label);
    group->dispatch = (P11muxHaDispatch)choice(conf, section, "dispatch");
    set_identity_and_checks(conf, section, group);
    group->on_divergence = (P11muxHaDivergence)choice(conf, section, "on-divergence");
    group->min_replicas = (guint)number(conf, section, "min-replicas");
    group->writes = (P11muxHaWrites)choice(conf, section, "writes");
    group->error_threshold = (guint)number(conf, section, "error-threshold");
    group->replay_buffer = (gsize)number(conf, section, "replay-buffer");
    group->call_timeout_us = duration(setting(conf, section, "call-timeout"));
    group->probe_interval_us = duration(setting(conf, section, "probe-interval"));
    set_backoff(group, setting(conf, section, "recover-backoff"));
    group->keepalive_us = duration(setting(conf, section, "keepalive"));
    group->pin_retention = (P11muxHaPinRetention)choice(conf, section, "pin-retention");
    group->max_member_sessions = (guint)number(conf, section, "max-member-sessions");
    group->min_active = (guint)number(conf, section, "min-active");
    group->all_down = (P11muxHaAllDown)choice(conf, section, "all-down");
    group->hide_members = g_str_equal(setting(conf, section, "hide-members"), "true");
    group->find_fanout = (P11muxHaFindFanout)choice(conf, section, "find-fanout");
    group->policy = g_strdup(setting(conf, section, "policy"));
}

/* ------------------------------------------------------------ the checks */

/* "line 4" in file, else "FILE:4" (transfer full). */
static char *
where(const P11muxConfOrigin *there, const char *file)
{
    if (g_strcmp0(there->file, file) == 0) {
        return g_strdup_printf("line %d", there->line);
    }
    return g_strdup_printf("%s:%d", there->file, there->line);
}

/* A count key (min-replicas, min-active) at most the number of members. */
static gboolean
check_within_members(const P11muxConf *conf, const P11muxConfHaGroup *group, const char *key,
                     guint count, GError **error)
{
    g_autofree char *name = g_strconcat("group ", group->name, NULL);
    const P11muxConfValue *value = p11mux_conf_lookup(conf, name, key);

    if (count <= group->n_members || value == NULL) {
        return TRUE;
    }
    p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_VALUE, value->origin.file, value->origin.line,
                             "%s = %u in [%s], which has %u member%s in members", key, count, name,
                             group->n_members, group->n_members == 1 ? "" : "s");
    return FALSE;
}

static gboolean
check_policy(const P11muxConf *conf, const P11muxConfHaGroup *group, GError **error)
{
    g_autofree char *name = g_strconcat("group ", group->name, NULL);
    const P11muxConfValue *value = p11mux_conf_lookup(conf, name, "policy");
    g_autofree char *policy = NULL;
    g_auto(GStrv) names = NULL;
    g_autofree char *hint = NULL;

    if (value == NULL) {
        return TRUE;
    }
    policy = g_strconcat("policy ", value->value, NULL);
    for (guint i = 0; i < conf->groups->len; i++) {
        const P11muxConfGroup *section = g_ptr_array_index(conf->groups, i);

        if (g_str_equal(section->name, policy)) {
            return TRUE;
        }
    }
    names = p11mux_conf_dup_group_labels(conf, P11MUX_CONF_GROUP_POLICY);
    hint = p11mux_suggest_hint(p11mux_suggest(value->value, (const char *const *)names, -1));
    p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_VALUE, value->origin.file, value->origin.line,
                             "policy '%s' is not defined (no [policy %s] group)%s", value->value,
                             value->value, hint);
    return FALSE;
}

/* "backend\ntoken URI in p11-kit's form" (transfer full). */
static char *
member_key(const P11muxConfMember *member)
{
    char *uri = NULL;
    char *key;

    if (p11_kit_uri_format(member->token, P11_KIT_URI_FOR_TOKEN, &uri) != P11_KIT_URI_OK) {
        return g_strconcat(member->backend, "\n", member->text, NULL);
    }
    key = g_strconcat(member->backend, "\n", uri, NULL);
    free(uri);
    return key;
}

typedef struct {
    const P11muxConfHaGroup *group;
    const P11muxConfMember *member;
} Listed;

/* One token (backend and URI, in p11-kit's normal form) in one place only,
 * members and standby of every group together. */
static gboolean
check_listed_once(const P11muxConf *conf, GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

    for (guint g = 0; g < conf->ha_groups->len; g++) {
        const P11muxConfHaGroup *group = g_ptr_array_index(conf->ha_groups, g);

        for (guint m = 0; m < group->members->len; m++) {
            const P11muxConfMember *member = g_ptr_array_index(group->members, m);
            char *key = member_key(member);
            const Listed *first = g_hash_table_lookup(seen, key);
            Listed *listed;

            if (first != NULL) {
                g_autofree char *there = where(&first->member->origin, member->origin.file);

                p11mux_conf_set_error_at(
                    error, P11MUX_CONF_ERROR_CONFLICT, member->origin.file, member->origin.line,
                    "member '%s' of [group %s] is the token already "
                    "listed as '%s' in [group %s] (%s)",
                    member->text, group->name, first->member->text, first->group->name, there);
                g_free(key);
                return FALSE;
            }
            listed = g_new(Listed, 1);
            listed->group = group;
            listed->member = member;
            g_hash_table_insert(seen, key, listed);
        }
    }
    return TRUE;
}

static gboolean
check_member_backend(const P11muxConf *conf, const P11muxConfHaGroup *group,
                     const P11muxConfMember *member, GError **error)
{
    const P11muxConfBackend *backend = p11mux_conf_find_backend(conf, member->backend);
    g_autoptr(GPtrArray) names = NULL;
    g_autofree char *hint = NULL;

    if (backend != NULL && backend->enabled) {
        return TRUE;
    }
    if (backend != NULL) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_VALUE, member->origin.file,
                                 member->origin.line,
                                 "member '%s' of [group %s]: backend '%s' is disabled "
                                 "(enabled = false)",
                                 member->text, group->name, member->backend);
        return FALSE;
    }
    names = g_ptr_array_new();
    for (guint i = 0; i < conf->backends->len; i++) {
        g_ptr_array_add(names, ((P11muxConfBackend *)g_ptr_array_index(conf->backends, i))->name);
    }
    /* no backend at all: an empty array has no pdata */
    hint = p11mux_suggest_hint(names->len == 0 ? NULL
                                               : p11mux_suggest(member->backend,
                                                                (const char *const *)names->pdata,
                                                                (gssize)names->len));
    p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_VALUE, member->origin.file,
                             member->origin.line,
                             "member '%s' of [group %s]: no backend '%s' (no [backend %s] "
                             "group%s)%s",
                             member->text, group->name, member->backend, member->backend,
                             conf->import_p11_kit ? ", nor a module of that name registered "
                                                    "with p11-kit"
                                                  : "",
                             hint);
    return FALSE;
}

gboolean
p11mux_conf_check_ha_backends(const P11muxConf *conf, GError **error)
{
    g_return_val_if_fail(conf != NULL, FALSE);

    for (guint g = 0; g < conf->ha_groups->len; g++) {
        const P11muxConfHaGroup *group = g_ptr_array_index(conf->ha_groups, g);

        for (guint m = 0; m < group->members->len; m++) {
            if (!check_member_backend(conf, group, g_ptr_array_index(group->members, m), error)) {
                return FALSE;
            }
        }
    }
    return TRUE;
}

/* ------------------------------------------------------------ the finish */

static P11muxConfHaGroup *
ha_group_new(const P11muxConf *conf, const P11muxConfGroup *section, GError **error)
{
    g_autoptr(P11muxConfHaGroup) group = g_new0(P11muxConfHaGroup, 1);

    group->name = g_strdup(section->label);
    group->origin = section->origin;
    group->members = g_ptr_array_new_with_free_func(member_free);
    group->failover_on = g_array_new(FALSE, FALSE, sizeof(CK_RV));
    if (p11mux_conf_lookup(conf, section->name, "members") == NULL) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_MISSING, section->origin.file,
                                 section->origin.line, "[%s] has no 'members'", section->name);
        return NULL;
    }
    set_members(conf, section, group);
    set_fields(conf, section, group);
    if (!check_within_members(conf, group, "min-replicas", group->min_replicas, error) ||
        !check_within_members(conf, group, "min-active", group->min_active, error) ||
        !check_policy(conf, group, error)) {
        return NULL;
    }
    return g_steal_pointer(&group);
}

gboolean
p11mux_conf_finish_ha_groups(P11muxConf *conf, GError **error)
{
    for (guint i = 0; i < conf->groups->len; i++) {
        const P11muxConfGroup *section = g_ptr_array_index(conf->groups, i);
        P11muxConfHaGroup *group;

        if (section->kind != P11MUX_CONF_GROUP_HA) {
            continue;
        }
        group = ha_group_new(conf, section, error);
        if (group == NULL) {
            return FALSE;
        }
        g_ptr_array_add(conf->ha_groups, group);
    }
    if (!check_listed_once(conf, error)) {
        return FALSE;
    }
    /* with import-p11-kit, the import checks them once it has added its backends */
    return conf->import_p11_kit || p11mux_conf_check_ha_backends(conf, error);
}

/* ------------------------------------------------------------------ API */

const P11muxConfHaGroup *
p11mux_conf_find_ha_group(const P11muxConf *conf, const char *name)
{
    g_return_val_if_fail(conf != NULL && name != NULL, NULL);

    for (guint i = 0; i < conf->ha_groups->len; i++) {
        const P11muxConfHaGroup *group = g_ptr_array_index(conf->ha_groups, i);

        if (g_str_equal(group->name, name)) {
            return group;
        }
    }
    return NULL;
}

const GArray *
p11mux_conf_member_failover_on(const P11muxConf *conf, const P11muxConfHaGroup *group,
                               const P11muxConfMember *member)
{
    const P11muxConfBackend *backend;

    g_return_val_if_fail(conf != NULL && group != NULL && member != NULL, NULL);

    backend = p11mux_conf_find_backend(conf, member->backend);
    if (backend != NULL && backend->failover_on != NULL) {
        return backend->failover_on;
    }
    return group->failover_on;
}
