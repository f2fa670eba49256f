/*
 * Attributing a policy decision to the key that makes it.  The rules are the
 * policy engine's (p11mux.conf(5)): deny wins over allow; an absent
 * allow-list allows everything; with policy-override = stricter-only the
 * system layers' policy and the final one both apply.  Mechanism items are
 * matched with the same constant tables and globs the engine uses, URIs
 * with p11-kit, an absent object attribute as empty.
 */
#include "config.h"

#include <p11-kit/uri.h>
#include <string.h>

#include "constants.h"
#include "explain-rules.h"

typedef gboolean (*ItemMatch)(const char *item, gconstpointer subject);

const P11muxConfValue *
p11mux_explain_rule(const P11muxConf *conf, const P11muxExplainPolicy *policy, const char *key)
{
    g_autofree char *group = g_strconcat("policy ", policy->name, NULL);

    return policy->system ? p11mux_conf_lookup_system(conf, group, key)
                          : p11mux_conf_lookup(conf, group, key);
}

/* policy = NAME for backend: its own, else [global]'s. */
static const P11muxConfValue *
selection(const P11muxConf *conf, const char *backend, gboolean system)
{
    g_autofree char *group = g_strconcat("backend ", backend, NULL);
    const P11muxConfValue *value = system ? p11mux_conf_lookup_system(conf, group, "policy")
                                          : p11mux_conf_lookup(conf, group, "policy");

    if (value != NULL) {
        return value;
    }
    return system ? p11mux_conf_lookup_system(conf, "global", "policy")
                  : p11mux_conf_lookup(conf, "global", "policy");
}

GArray *
p11mux_explain_policies(const P11muxConf *conf, const char *backend)
{
    GArray *policies = g_array_new(FALSE, TRUE, sizeof(P11muxExplainPolicy));
    const P11muxConfValue *final = selection(conf, backend, FALSE);
    const P11muxConfValue *system =
        conf->policy_stricter_only ? selection(conf, backend, TRUE) : NULL;

    if (system != NULL) {
        P11muxExplainPolicy p = {system->value, TRUE, system};

        g_array_append_val(policies, p);
    }
    if (final != NULL) {
        P11muxExplainPolicy p = {final->value, FALSE, final};

        g_array_append_val(policies, p);
    }
    return policies;
}

static gboolean
any_item_matches(const char *list, ItemMatch match, gconstpointer subject)
{
    g_auto(GStrv) items = g_strsplit_set(list, " \t", -1);
    guint i;

    for (i = 0; items[i] != NULL; i++) {
        if (items[i][0] != '\0' && match(items[i], subject)) {
            return TRUE;
        }
    }
    return FALSE;
}

/* deny_key first, then the allow_key allow-list (nullable: none). */
static void
decide(const P11muxConf *conf, const P11muxExplainPolicy *policy, const char *allow_key,
       const char *deny_key, ItemMatch match, gconstpointer subject, P11muxExplainVerdict *verdict)
{
    const P11muxConfValue *deny = p11mux_explain_rule(conf, policy, deny_key);
    const P11muxConfValue *allow =
        allow_key != NULL ? p11mux_explain_rule(conf, policy, allow_key) : NULL;

    memset(verdict, 0, sizeof(*verdict));
    verdict->policy = policy->name;
    verdict->allowed = TRUE;
    if (deny != NULL && any_item_matches(deny->value, match, subject)) {
        verdict->allowed = FALSE;
        verdict->key = deny_key;
        verdict->value = deny;
    } else if (allow != NULL) {
        verdict->allowed = any_item_matches(allow->value, match, subject);
        verdict->key = allow_key;
        verdict->value = allow;
    }
}

/* ---------------------------------------------------------------- mechanisms */

typedef struct {
    CK_MECHANISM_TYPE wanted;
    gboolean found;
} GlobSearch;

static void
on_glob_match(CK_ULONG value, const char *name, gpointer user_data)
{
    GlobSearch *search = user_data;

    search->found = search->found || value == search->wanted;
}

static gboolean
mechanism_matches(const char *item, gconstpointer subject)
{
    CK_MECHANISM_TYPE wanted = *(const CK_MECHANISM_TYPE *)subject;
    GlobSearch search = {wanted, FALSE};
    CK_ULONG value;

    if (strpbrk(item, "*?") != NULL) {
        p11mux_constant_glob(P11MUX_CONST_CKM, item, on_glob_match, &search);
        return search.found;
    }
    return p11mux_constant_parse(P11MUX_CONST_CKM, item, &value) && value == wanted;
}

void
p11mux_explain_mechanism(const P11muxConf *conf, const P11muxExplainPolicy *policy,
                         CK_MECHANISM_TYPE type, P11muxExplainVerdict *verdict)
{
    decide(conf, policy, "mechanisms", "deny-mechanisms", mechanism_matches, &type, verdict);
}

/* ---------------------------------------------------------------- functions */

static gboolean
function_matches(const char *item, gconstpointer subject)
{
    return strcmp(item, ((const P11muxFunctionDesc *)subject)->name) == 0;
}

void
p11mux_explain_function(const P11muxConf *conf, const P11muxExplainPolicy *policy,
                        const P11muxFunctionDesc *function, P11muxExplainVerdict *verdict)
{
    const P11muxConfValue *read_only = p11mux_explain_rule(conf, policy, "read-only");
    static const char *const token_only[] = {"C_InitToken", "C_InitPIN", "C_SetPIN"};
    guint i;

    memset(verdict, 0, sizeof(*verdict));
    verdict->policy = policy->name;
    verdict->allowed = TRUE;
    decide(conf, policy, NULL, "deny-functions", function_matches, function, verdict);
    if (!verdict->allowed) {
        return;
    }
    if (read_only == NULL || strcmp(read_only->value, "true") != 0 || !function->writes) {
        return;
    }
    verdict->key = "read-only";
    verdict->value = read_only;
    verdict->note = "on session objects only (CKA_TOKEN false)";
    for (i = 0; i < G_N_ELEMENTS(token_only); i++) {
        if (strcmp(function->name, token_only[i]) == 0) {
            verdict->allowed = FALSE;
            verdict->note = NULL;
        }
    }
}

/* ---------------------------------------------------------------- objects */

typedef struct {
    const CK_ATTRIBUTE *attrs;
    CK_ULONG n_attrs;
    const CK_TOKEN_INFO *token;
} ObjectSubject;

static gboolean
object_matches(const char *item, gconstpointer subject)
{
    const ObjectSubject *object = subject;
    P11KitUri *uri = p11_kit_uri_new();
    gboolean match = FALSE;

    if (p11_kit_uri_parse(item, P11_KIT_URI_FOR_ANY, uri) == P11_KIT_URI_OK) {
        match = p11_kit_uri_match_attributes(uri, object->attrs, object->n_attrs) &&
                (object->token == NULL ||
                 p11_kit_uri_match_token_info(uri, (CK_TOKEN_INFO_PTR)object->token));
    }
    p11_kit_uri_free(uri);
    return match;
}

void
p11mux_explain_object(const P11muxConf *conf, const P11muxExplainPolicy *policy,
                      const CK_ATTRIBUTE *object, CK_ULONG n_object, const CK_TOKEN_INFO *token,
                      P11muxExplainVerdict *verdict)
{
    ObjectSubject subject = {object, n_object, token};

    decide(conf, policy, "objects", "deny-objects", object_matches, &subject, verdict);
}
