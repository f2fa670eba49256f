/*
 * The layered configuration loader: the result (P11muxConf and its layers),
 * merging, the finish and the API.
 *
 * Each file is read and checked line by line in conf-scan.c, against the
 * key table of conf-keys.c, and gives a layer (a P11muxConf holding only
 * files, groups and values); layers are merged key by key here, and the
 * result is finished (typed fields, backends) and checked as a whole.
 */
#include "config.h"

#include "conf-private.h"
#include "site.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_GETAUXVAL
#include <sys/auxv.h>
#endif

#define GLOBAL_GROUP "global"
#define USER_CONFIG_KEY "user-config"
#define STANDALONE_KEY "standalone"

GQuark
p11mux_conf_error_quark(void)
{
    return g_quark_from_static_string("p11mux-conf-error-quark");
}

/* ------------------------------------------------------------------ errors */

/* "FILE:LINE: message" */
void
p11mux_conf_set_error_at(GError **error, P11muxConfErrorCode code, const char *file, int line,
                         const char *format, ...)
{
    g_autofree char *message = NULL;
    va_list args;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(error, P11MUX_CONF_ERROR, code, "%s:%d: %s", file, line, message);
}

/* --------------------------------------------------------------- the result */

char *
p11mux_conf_value_key(const char *group, const char *key)
{
    return g_strconcat(group, "\n", key, NULL);
}

static void
value_free(gpointer data)
{
    P11muxConfValue *value = data;

    if (value != NULL) {
        g_free(value->value);
        g_free(value);
    }
}

static void
group_free(gpointer data)
{
    P11muxConfGroup *group = data;

    if (group != NULL) {
        g_free(group->name);
        g_free(group);
    }
}

static void
backend_free(gpointer data)
{
    P11muxConfBackend *backend = data;

    g_free(backend->name);
    g_free(backend->module);
    g_free(backend->remote);
    g_free(backend->init_reserved);
    g_free(backend->policy);
    g_clear_pointer(&backend->failover_on, g_array_unref);
    g_free(backend);
}

P11muxConf *
p11mux_conf_new(void)
{
    P11muxConf *conf = g_new0(P11muxConf, 1);

    conf->backends = g_ptr_array_new_with_free_func(backend_free);
    conf->ha_groups = g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_conf_ha_group_free);
    conf->files = g_ptr_array_new_with_free_func(g_free);
    conf->groups = g_ptr_array_new_with_free_func(group_free);
    conf->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, value_free);
    return conf;
}

void
p11mux_conf_free(P11muxConf *conf)
{
    if (conf == NULL) {
        return;
    }
    g_free(conf->policy);
    g_free(conf->trace);
    g_free(conf->trace_format);
    g_free(conf->trace_data);
    g_ptr_array_unref(conf->ha_groups);
    g_ptr_array_unref(conf->backends);
    g_ptr_array_unref(conf->groups);
    g_hash_table_unref(conf->values);
    g_clear_pointer(&conf->system_values, g_hash_table_unref);
    g_ptr_array_unref(conf->files);
    g_free(conf);
}

const P11muxConfValue *
p11mux_conf_lookup(const P11muxConf *conf, const char *group, const char *key)
{
    g_autofree char *name = NULL;

    g_return_val_if_fail(conf != NULL && group != NULL && key != NULL, NULL);

    name = p11mux_conf_value_key(group, key);
    return g_hash_table_lookup(conf->values, name);
}

const P11muxConfValue *
p11mux_conf_lookup_system(const P11muxConf *conf, const char *group, const char *key)
{
    g_autofree char *name = NULL;

    g_return_val_if_fail(conf != NULL && group != NULL && key != NULL, NULL);

    name = p11mux_conf_value_key(group, key);
    return conf->system_values != NULL ? g_hash_table_lookup(conf->system_values, name) : NULL;
}

/* Keep a copy of the values as the system layers set them. */
static void
snapshot_system(P11muxConf *conf)
{
    GHashTableIter iter;
    gpointer key;
    gpointer data;

    conf->system_values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, value_free);
    g_hash_table_iter_init(&iter, conf->values);
    while (g_hash_table_iter_next(&iter, &key, &data)) {
        const P11muxConfValue *value = data;
        P11muxConfValue *copy = g_new0(P11muxConfValue, 1);

        copy->value = g_strdup(value->value);
        copy->origin = value->origin;
        g_hash_table_insert(conf->system_values, g_strdup(key), copy);
    }
}

static P11muxConfGroup *
find_group(const P11muxConf *conf, const char *name)
{
    for (guint i = 0; i < conf->groups->len; i++) {
        P11muxConfGroup *group = g_ptr_array_index(conf->groups, i);

        if (g_str_equal(group->name, name)) {
            return group;
        }
    }
    return NULL;
}

const P11muxConfBackend *
p11mux_conf_find_backend(const P11muxConf *conf, const char *name)
{
    g_return_val_if_fail(conf != NULL && name != NULL, NULL);

    for (guint i = 0; i < conf->backends->len; i++) {
        const P11muxConfBackend *backend = g_ptr_array_index(conf->backends, i);

        if (g_str_equal(backend->name, name)) {
            return backend;
        }
    }
    return NULL;
}

GStrv
p11mux_conf_dup_group_labels(const P11muxConf *conf, P11muxConfGroupKind kind)
{
    GPtrArray *labels = g_ptr_array_new();

    g_return_val_if_fail(conf != NULL, NULL);

    for (guint i = 0; i < conf->groups->len; i++) {
        const P11muxConfGroup *group = g_ptr_array_index(conf->groups, i);

        if (group->kind == kind) {
            g_ptr_array_add(labels, g_strdup(group->label));
        }
    }
    g_ptr_array_add(labels, NULL);
    return (GStrv)g_ptr_array_free(labels, FALSE);
}

/* name is "KIND" or "KIND LABEL" (transfer full). */
void
p11mux_conf_layer_add_group(P11muxConf *layer, char *name, P11muxConfGroupKind kind,
                            P11muxConfOrigin origin)
{
    P11muxConfGroup *group = g_new0(P11muxConfGroup, 1);
    const char *space = strchr(name, ' ');

    group->name = name;
    group->kind = kind;
    group->label = space != NULL ? space + 1 : name + strlen(name);
    group->origin = origin;
    g_ptr_array_add(layer->groups, group);
}

/* value: transfer full. */
void
p11mux_conf_layer_set_value(P11muxConf *layer, const char *group, const char *key, char *value,
                            P11muxConfOrigin origin)
{
    P11muxConfValue *entry = g_new0(P11muxConfValue, 1);

    entry->value = value;
    entry->origin = origin;
    g_hash_table_replace(layer->values, p11mux_conf_value_key(group, key), entry);
}

/* Moves everything from src into dst: its files, the groups dst does not
 * have yet, and its values, replacing those dst has. src is left empty. */
void
p11mux_conf_merge_layer(P11muxConf *dst, P11muxConf *src)
{
    GHashTableIter iter;
    gpointer key;
    gpointer value;

    g_ptr_array_extend_and_steal(dst->files, g_steal_pointer(&src->files));
    src->files = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < src->groups->len; i++) {
        P11muxConfGroup *group = g_ptr_array_index(src->groups, i);

        if (find_group(dst, group->name) == NULL) {
            g_ptr_array_add(dst->groups, group);
            g_ptr_array_index(src->groups, i) = NULL;
        }
    }
    g_ptr_array_set_size(src->groups, 0);

    g_hash_table_iter_init(&iter, src->values);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        g_hash_table_iter_steal(&iter);
        g_hash_table_replace(dst->values, key, value);
    }
}

/* ------------------------------------------------------------- the layers */

/* The value set for a key, else its default; NULL if neither. */
static const char *
setting(const P11muxConf *conf, const char *group, P11muxConfGroupKind kind, const char *key)
{
    const P11muxConfValue *value = p11mux_conf_lookup(conf, group, key);

    if (value != NULL) {
        return value->value;
    }
    return p11mux_conf_find_key(kind, key)->default_value;
}

static gboolean
setting_is_true(const P11muxConf *conf, const char *group, P11muxConfGroupKind kind,
                const char *key)
{
    return g_str_equal(setting(conf, group, kind, key), "true");
}

static P11muxUserConfig
user_config_of(const P11muxConf *conf)
{
    const char *value = setting(conf, GLOBAL_GROUP, P11MUX_CONF_GROUP_GLOBAL, USER_CONFIG_KEY);
    const char *const *choices =
        p11mux_conf_find_key(P11MUX_CONF_GROUP_GLOBAL, USER_CONFIG_KEY)->choices;

    for (guint i = 0; choices[i] != NULL; i++) {
        if (g_str_equal(choices[i], value)) {
            return (P11muxUserConfig)i;
        }
    }
    g_return_val_if_reached(P11MUX_USER_CONFIG_MERGE);
}

/* For user-config = only: keep nothing of the system layer but that
 * decision (and the [global] group it stands in). */
static void
discard_system_layer(P11muxConf *conf)
{
    g_autofree char *keep = p11mux_conf_value_key(GLOBAL_GROUP, USER_CONFIG_KEY);
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init(&iter, conf->values);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        if (!g_str_equal(key, keep)) {
            g_hash_table_iter_remove(&iter);
        }
    }
    for (guint i = conf->groups->len; i-- > 0;) {
        const P11muxConfGroup *group = g_ptr_array_index(conf->groups, i);

        if (group->kind != P11MUX_CONF_GROUP_GLOBAL) {
            g_ptr_array_remove_index(conf->groups, i);
        }
    }
}

/* Whether and how the user's file is read: as the extra layer says if it
 * says, else as the system layers do. */
static P11muxUserConfig
user_config_decision(const P11muxConf *system, const P11muxConf *extra)
{
    if (extra != NULL && p11mux_conf_lookup(extra, GLOBAL_GROUP, USER_CONFIG_KEY) != NULL) {
        return user_config_of(extra);
    }
    return user_config_of(system);
}

static gboolean
merge_user_file(P11muxConf *conf, const char *path, P11muxUserConfig mode, GError **error)
{
    g_autoptr(P11muxConf) user = NULL;

    if (path == NULL || mode == P11MUX_USER_CONFIG_NONE) {
        return TRUE;
    }
    user = p11mux_conf_load_layer(path, LAYER_USER, TRUE, error);
    if (user == NULL) {
        return FALSE;
    }
    if (mode == P11MUX_USER_CONFIG_ONLY && user->files->len > 0) {
        discard_system_layer(conf);
    }
    p11mux_conf_merge_layer(conf, user);
    return TRUE;
}

/* ------------------------------------------------------------ the finish */

static P11muxConfBackend *
backend_new(const P11muxConf *conf, const P11muxConfGroup *group)
{
    P11muxConfBackend *backend = g_new0(P11muxConfBackend, 1);
    const P11muxConfGroupKind kind = P11MUX_CONF_GROUP_BACKEND;
    const P11muxConfValue *module = p11mux_conf_lookup(conf, group->name, "module");
    const P11muxConfValue *timeout;
    const P11muxConfValue *failover_on;

    backend->name = g_strdup(group->label);
    if (module != NULL) {
        backend->module = g_strdup(module->value);
        backend->module_origin = module->origin;
    }
    backend->init_reserved = g_strdup(setting(conf, group->name, kind, "init-reserved"));
    backend->critical = setting_is_true(conf, group->name, kind, "critical");
    backend->enabled = setting_is_true(conf, group->name, kind, "enabled");
    timeout = p11mux_conf_lookup(conf, group->name, "init-timeout");
    if (timeout != NULL && !p11mux_conf_parse_duration(timeout->value, &backend->init_timeout_us)) {
        g_return_val_if_reached(backend); /* the value was checked when read */
    }
    backend->policy = g_strdup(setting(conf, group->name, kind, "policy"));
    failover_on = p11mux_conf_lookup(conf, group->name, "failover-on");
    if (failover_on != NULL) {
        g_autofree char *problem = NULL;

        backend->failover_on = g_array_new(FALSE, FALSE, sizeof(CK_RV));
        problem = p11mux_conf_parse_failover_on(failover_on->value, backend->failover_on);
        g_warn_if_fail(problem == NULL); /* the value was checked when read */
    }
    backend->origin = group->origin;
    return backend;
}

/* policy-override counts only where the system layers set it. */
static gboolean
policy_stricter_only(const P11muxConf *conf)
{
    const P11muxConfValue *value = p11mux_conf_lookup_system(conf, GLOBAL_GROUP, "policy-override");

    return value != NULL && g_str_equal(value->value, "stricter-only");
}

static void
finish_fields(P11muxConf *conf)
{
    const P11muxConfGroupKind kind = P11MUX_CONF_GROUP_GLOBAL;

    conf->user_config = user_config_of(conf);
    conf->policy = g_strdup(setting(conf, GLOBAL_GROUP, kind, "policy"));
    conf->trace = g_strdup(setting(conf, GLOBAL_GROUP, kind, "trace"));
    conf->trace_format = g_strdup(setting(conf, GLOBAL_GROUP, kind, "trace-format"));
    conf->trace_data = g_strdup(setting(conf, GLOBAL_GROUP, kind, "trace-data"));
    conf->import_p11_kit = setting_is_true(conf, GLOBAL_GROUP, kind, "import-p11-kit");
    if (!p11mux_conf_parse_duration(setting(conf, GLOBAL_GROUP, kind, "init-timeout"),
                                    &conf->init_timeout_us)) {
        g_return_if_reached(); /* the value was checked when read */
    }
    conf->trace_entry = setting_is_true(conf, GLOBAL_GROUP, kind, "trace-entry");
    if (!g_str_equal(setting(conf, GLOBAL_GROUP, kind, "slow-call"), "0") &&
        !p11mux_conf_parse_duration(setting(conf, GLOBAL_GROUP, kind, "slow-call"),
                                    &conf->slow_call_us)) {
        g_return_if_reached(); /* the value was checked when read */
    }
    conf->policy_stricter_only = policy_stricter_only(conf);
    for (guint i = 0; i < conf->groups->len; i++) {
        const P11muxConfGroup *group = g_ptr_array_index(conf->groups, i);

        if (group->kind == P11MUX_CONF_GROUP_BACKEND) {
            g_ptr_array_add(conf->backends, backend_new(conf, group));
        }
    }
}

char *
p11mux_conf_canonical_path(const char *path)
{
    char *resolved = realpath(path, NULL);
    char *result = g_strdup(resolved != NULL ? resolved : path);

    free(resolved);
    return result;
}

/* At the second one's module line: "backends 'a' (line 3) and 'b' load the
 * same library /x.so", or (FILE:3) when a's module is set in another file. */
static void
report_same_library(GError **error, const P11muxConfBackend *first, const P11muxConfBackend *second,
                    const char *library)
{
    const P11muxConfOrigin *here = &second->module_origin;
    const P11muxConfOrigin *there = &first->module_origin;
    g_autofree char *where = NULL;

    if (g_str_equal(here->file, there->file)) {
        where = g_strdup_printf("line %d", there->line);
    } else {
        where = g_strdup_printf("%s:%d", there->file, there->line);
    }
    p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_CONFLICT, here->file, here->line,
                             "backends '%s' (%s) and '%s' load the same library %s", first->name,
                             where, second->name, library);
}

/* Every enabled backend names a module, and no two the same library. */
static gboolean
check_backends(const P11muxConf *conf, GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (guint i = 0; i < conf->backends->len; i++) {
        const P11muxConfBackend *backend = g_ptr_array_index(conf->backends, i);
        const P11muxConfBackend *first;
        char *library;

        if (!backend->enabled) {
            continue;
        }
        if (backend->module == NULL) {
            p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_MISSING, backend->origin.file,
                                     backend->origin.line,
                                     "backend '%s' is enabled but has no 'module'", backend->name);
            return FALSE;
        }
        library = p11mux_conf_canonical_path(backend->module);
        first = g_hash_table_lookup(seen, library);
        if (first != NULL) {
            report_same_library(error, first, backend, library);
            g_free(library);
            return FALSE;
        }
        g_hash_table_insert(seen, library, (gpointer)backend);
    }
    return TRUE;
}

static P11muxConf *
finish(P11muxConf *conf, GError **error)
{
    finish_fields(conf);
    if (!check_backends(conf, error) || !p11mux_conf_finish_ha_groups(conf, error)) {
        p11mux_conf_free(conf);
        return NULL;
    }
    return conf;
}

/* -------------------------------------------------------- standalone */

static gboolean
is_standalone(const P11muxConf *extra)
{
    const P11muxConfValue *value = p11mux_conf_lookup(extra, GLOBAL_GROUP, STANDALONE_KEY);

    return value != NULL && g_str_equal(value->value, "true");
}

/* The extra layer alone, unless the system layers say policy-override =
 * stricter-only (transfer full of neither; NULL with error set then). */
static P11muxConf *
standalone_layer(P11muxConf *system, P11muxConf *extra, GError **error)
{
    const P11muxConfValue *said = p11mux_conf_lookup(extra, GLOBAL_GROUP, STANDALONE_KEY);
    const P11muxConfValue *override =
        p11mux_conf_lookup_system(system, GLOBAL_GROUP, "policy-override");
    P11muxConf *conf;

    if (policy_stricter_only(system)) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_VALUE, said->origin.file,
                                 said->origin.line,
                                 "standalone = true is refused: %s:%d says policy-override = "
                                 "stricter-only, so this file can only add restrictions to the "
                                 "system configuration",
                                 override->origin.file, override->origin.line);
        return NULL;
    }
    conf = p11mux_conf_new();
    snapshot_system(conf);
    p11mux_conf_merge_layer(conf, extra);
    conf->standalone = TRUE;
    return conf;
}

/* --------------------------------------------------------------- the API */

P11muxConf *
p11mux_conf_load(const P11muxConfPaths *paths, GError **error)
{
    g_autoptr(P11muxConf) conf = NULL;
    g_autoptr(P11muxConf) extra = NULL;

    g_return_val_if_fail(paths != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    conf = p11mux_conf_new();
    if (paths->system_file != NULL &&
        !p11mux_conf_merge_file(conf, paths->system_file, LAYER_SYSTEM, TRUE, error)) {
        return NULL;
    }
    if (paths->system_dir != NULL && !p11mux_conf_merge_dir(conf, paths->system_dir, error)) {
        return NULL;
    }
    snapshot_system(conf);
    /* Read before the user's file, which it may exclude; merged after it. */
    if (paths->extra_file != NULL &&
        (extra = p11mux_conf_load_layer(paths->extra_file, LAYER_EXTRA, FALSE, error)) == NULL) {
        return NULL;
    }
    if (extra != NULL && is_standalone(extra)) {
        P11muxConf *alone = standalone_layer(conf, extra, error);

        return alone != NULL ? finish(alone, error) : NULL;
    }
    if (!merge_user_file(conf, paths->user_file, user_config_decision(conf, extra), error)) {
        return NULL;
    }
    if (extra != NULL) {
        p11mux_conf_merge_layer(conf, extra);
    }
    return finish(g_steal_pointer(&conf), error);
}

P11muxConf *
p11mux_conf_load_file(const char *path, GError **error)
{
    P11muxConf *conf;

    g_return_val_if_fail(path != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    conf = p11mux_conf_load_layer(path, LAYER_SOLE, FALSE, error);
    if (conf == NULL) {
        return NULL;
    }
    snapshot_system(conf);
    return finish(conf, error);
}

/* ------------------------------------------------------------ default paths */

typedef struct {
    P11muxConfPaths paths; /* first: a P11muxConfPaths* is a DefaultPaths* */
    char *owned[4];
} DefaultPaths;

gboolean
p11mux_conf_is_secure_process(void)
{
#ifdef HAVE_GETAUXVAL
    if (getauxval(AT_SECURE) != 0) {
        return TRUE;
    }
#endif
    return geteuid() != getuid() || getegid() != getgid();
}

static const char *
getenv_secure(const char *name)
{
#ifdef HAVE_SECURE_GETENV
    return secure_getenv(name);
#else
    return getenv(name);
#endif
}

P11muxConfPaths *
p11mux_conf_paths_new_default(void)
{
    DefaultPaths *defaults = g_new0(DefaultPaths, 1);
    gboolean secure = p11mux_conf_is_secure_process();
    const char *extra = secure ? NULL : getenv_secure("P11MUX_CONF");
    const char *sysconfdir = p11mux_site_get()->sysconfdir;

    defaults->owned[0] = g_build_filename(sysconfdir, "p11mux", "p11mux.conf", NULL);
    defaults->owned[1] = g_build_filename(sysconfdir, "p11mux", "conf.d", NULL);
    if (!secure) {
        defaults->owned[2] =
            g_build_filename(g_get_user_config_dir(), "p11mux", "p11mux.conf", NULL);
    }
    if (extra != NULL && *extra != '\0') {
        defaults->owned[3] = g_strdup(extra);
    }
    defaults->paths.system_file = defaults->owned[0];
    defaults->paths.system_dir = defaults->owned[1];
    defaults->paths.user_file = defaults->owned[2];
    defaults->paths.extra_file = defaults->owned[3];
    return &defaults->paths;
}

void
p11mux_conf_paths_free(P11muxConfPaths *paths)
{
    DefaultPaths *defaults = (DefaultPaths *)paths;

    if (defaults == NULL) {
        return;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(defaults->owned); i++) {
        g_free(defaults->owned[i]);
    }
    g_free(defaults);
}
