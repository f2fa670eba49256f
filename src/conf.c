/*
 * The layered configuration loader.
 *
 * Each file is read in two passes. The first (scan_*) walks the text line by
 * line, because GKeyFile reports no line numbers, has no notion of a
 * repeated key and would take an unknown group or key without a word: it
 * records the line of every group header and key, and refuses anything that
 * is not a blank line, a '#' comment, a known [group] or a known
 * key = value, as well as a key or group header repeated within the file.
 * Only then does GKeyFile parse the text, and the values are taken from it
 * (g_key_file_get_value: raw, no escape processing) with surrounding white
 * space removed, and checked against the key table.
 *
 * Each file gives a layer (a P11muxConf holding only files, groups and
 * values); layers are merged key by key, and the result is finished (typed
 * fields, backends) and checked as a whole.
 */
#include "config.h"

#include "conf.h"
#include "policy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_GETAUXVAL
#include <sys/auxv.h>
#endif

#ifndef SYSCONFDIR
#error "SYSCONFDIR must be defined (-DSYSCONFDIR=\"$(sysconfdir)\")"
#endif

/* A configuration file is small; anything larger is a mistake. */
#define MAX_FILE_SIZE (1024 * 1024)

#define GLOBAL_GROUP "global"
#define USER_CONFIG_KEY "user-config"

typedef enum {
    LAYER_SYSTEM,
    LAYER_USER,
    LAYER_EXTRA,
} LayerRole;

GQuark
p11mux_conf_error_quark(void)
{
    return g_quark_from_static_string("p11mux-conf-error-quark");
}

/* ------------------------------------------------------------------ tables */

static char *check_trace(const P11muxConfKey *key, const char *value);

/* Order matches P11muxUserConfig. */
static const char *const user_config_choices[] = { "merge", "none", "only", NULL };
static const char *const trace_format_choices[] = { "text", "json", NULL };
static const char *const trace_data_choices[] = { "length", "hex", NULL };
static const char *const policy_override_choices[] = { "merge", "stricter-only", NULL };

/* The rows are indexed by P11muxConfGroupKind. */
static const P11muxConfGroupInfo known_groups[] = {
    { P11MUX_CONF_GROUP_GLOBAL, "global", FALSE },
    { P11MUX_CONF_GROUP_BACKEND, "backend", TRUE },
    { P11MUX_CONF_GROUP_POLICY, "policy", TRUE },
};

/* To accept a new key, add its row (and give it a line in p11mux.conf(5)). */
/* clang-format off */
static const P11muxConfKey known_keys[] = {
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "user-config", .type = P11MUX_CONF_TYPE_ENUM,
      .choices = user_config_choices, .default_value = "merge", .example = "none",
      .flags = P11MUX_CONF_KEY_NOT_IN_USER_FILE },
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "policy", .type = P11MUX_CONF_TYPE_NAME,
      .example = "default" },
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "trace", .type = P11MUX_CONF_TYPE_STRING,
      .default_value = "off", .example = "file:/var/log/p11mux.trace", .validate = check_trace },
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "trace-format", .type = P11MUX_CONF_TYPE_ENUM,
      .choices = trace_format_choices, .default_value = "text", .example = "json" },
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "trace-data", .type = P11MUX_CONF_TYPE_ENUM,
      .choices = trace_data_choices, .default_value = "length", .example = "hex" },
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "import-p11-kit", .type = P11MUX_CONF_TYPE_BOOL,
      .default_value = "false", .example = "true" },
    { .group = P11MUX_CONF_GROUP_BACKEND, .name = "module", .type = P11MUX_CONF_TYPE_PATH,
      .example = "/usr/lib/softhsm/libsofthsm2.so" },
    { .group = P11MUX_CONF_GROUP_BACKEND, .name = "init-reserved", .type = P11MUX_CONF_TYPE_STRING,
      .example = "configdir='sql:/etc/pki/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db'" },
    { .group = P11MUX_CONF_GROUP_BACKEND, .name = "critical", .type = P11MUX_CONF_TYPE_BOOL,
      .default_value = "false", .example = "true" },
    { .group = P11MUX_CONF_GROUP_BACKEND, .name = "enabled", .type = P11MUX_CONF_TYPE_BOOL,
      .default_value = "true", .example = "false" },
    { .group = P11MUX_CONF_GROUP_BACKEND, .name = "policy", .type = P11MUX_CONF_TYPE_NAME,
      .example = "strict" },
    /* the policy engine's (src/policy.c checks the lists) */
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "policy-override", .type = P11MUX_CONF_TYPE_ENUM,
      .choices = policy_override_choices, .default_value = "merge", .example = "stricter-only",
      .flags = P11MUX_CONF_KEY_SYSTEM_ONLY },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "tokens", .type = P11MUX_CONF_TYPE_STRING,
      .example = "pkcs11:manufacturer=SoftHSM%20project", .validate = p11mux_policy_check_value },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "deny-tokens", .type = P11MUX_CONF_TYPE_STRING,
      .example = "pkcs11:token=scratch", .validate = p11mux_policy_check_value },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "mechanisms", .type = P11MUX_CONF_TYPE_STRING,
      .example = "CKM_ECDSA CKM_SHA256_RSA_PKCS CKM_AES_GCM", .validate = p11mux_policy_check_value },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "deny-mechanisms", .type = P11MUX_CONF_TYPE_STRING,
      .example = "CKM_MD5* CKM_*DES* CKM_SHA1_RSA_PKCS", .validate = p11mux_policy_check_value },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "min-key-bits", .type = P11MUX_CONF_TYPE_STRING,
      .example = "rsa:2048 ec:256 aes:128", .validate = p11mux_policy_check_value },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "objects", .type = P11MUX_CONF_TYPE_STRING,
      .example = "pkcs11:type=private pkcs11:type=cert", .validate = p11mux_policy_check_value },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "deny-objects", .type = P11MUX_CONF_TYPE_STRING,
      .example = "pkcs11:object=backup-key", .validate = p11mux_policy_check_value },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "read-only", .type = P11MUX_CONF_TYPE_BOOL,
      .default_value = "false", .example = "true" },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "deny-functions", .type = P11MUX_CONF_TYPE_STRING,
      .example = "C_WrapKey C_InitToken C_SetPIN", .validate = p11mux_policy_check_value },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "force-sensitive", .type = P11MUX_CONF_TYPE_BOOL,
      .default_value = "false", .example = "true" },
};
/* clang-format on */

const P11muxConfKey *
p11mux_conf_known_keys(gsize *n_keys)
{
    *n_keys = G_N_ELEMENTS(known_keys);
    return known_keys;
}

const P11muxConfGroupInfo *
p11mux_conf_known_groups(gsize *n_groups)
{
    *n_groups = G_N_ELEMENTS(known_groups);
    return known_groups;
}

static const P11muxConfGroupInfo *
find_group_info(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(known_groups); i++) {
        if (g_str_equal(known_groups[i].name, name)) {
            return &known_groups[i];
        }
    }
    return NULL;
}

static const P11muxConfKey *
find_key(P11muxConfGroupKind kind, const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(known_keys); i++) {
        if (known_keys[i].group == kind && g_str_equal(known_keys[i].name, name)) {
            return &known_keys[i];
        }
    }
    return NULL;
}

/* -------------------------------------------------------------- validators */

static gboolean
is_valid_name(const char *name)
{
    if (*name == '\0') {
        return FALSE;
    }
    for (const char *p = name; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '_' && *p != '.' && *p != '-') {
            return FALSE;
        }
    }
    return TRUE;
}

static char *
check_string(const P11muxConfKey *key, const char *value)
{
    return NULL;
}

static char *
check_bool(const P11muxConfKey *key, const char *value)
{
    if (g_str_equal(value, "true") || g_str_equal(value, "false")) {
        return NULL;
    }
    return g_strdup_printf("expected true or false, got '%s'", value);
}

/* "a, b or c" */
static char *
join_choices(const char *const *choices)
{
    GString *text = g_string_new(choices[0]);

    for (gsize i = 1; choices[i] != NULL; i++) {
        g_string_append(text, choices[i + 1] != NULL ? ", " : " or ");
        g_string_append(text, choices[i]);
    }
    return g_string_free(text, FALSE);
}

static char *
check_enum(const P11muxConfKey *key, const char *value)
{
    g_autofree char *expected = NULL;

    if (g_strv_contains(key->choices, value)) {
        return NULL;
    }
    expected = join_choices(key->choices);
    return g_strdup_printf("expected %s, got '%s'", expected, value);
}

static char *
check_path(const P11muxConfKey *key, const char *value)
{
    if (g_path_is_absolute(value)) {
        return NULL;
    }
    return g_strdup_printf("expected an absolute path, got '%s'", value);
}

static char *
check_name(const P11muxConfKey *key, const char *value)
{
    if (is_valid_name(value)) {
        return NULL;
    }
    return g_strdup_printf("expected a name of letters, digits, '_', '.' and '-', got '%s'", value);
}

/* off | stderr | syslog | file:/ABSOLUTE/PATH: the process's working
 * directory is the application's, so a relative trace file is refused. */
static char *
check_trace(const P11muxConfKey *key, const char *value)
{
    if (g_str_equal(value, "off") || g_str_equal(value, "stderr") || g_str_equal(value, "syslog")) {
        return NULL;
    }
    if (g_str_has_prefix(value, "file:") && g_path_is_absolute(value + strlen("file:"))) {
        return NULL;
    }
    return g_strdup_printf("expected off, stderr, syslog or file:/ABSOLUTE/PATH, got '%s'", value);
}

static P11muxConfValidator const type_validators[] = {
    [P11MUX_CONF_TYPE_STRING] = check_string, [P11MUX_CONF_TYPE_BOOL] = check_bool,
    [P11MUX_CONF_TYPE_ENUM] = check_enum,     [P11MUX_CONF_TYPE_PATH] = check_path,
    [P11MUX_CONF_TYPE_NAME] = check_name,
};

char *
p11mux_conf_key_check(const P11muxConfKey *key, const char *value)
{
    g_return_val_if_fail(key != NULL && value != NULL, NULL);
    g_return_val_if_fail((gsize)key->type < G_N_ELEMENTS(type_validators), NULL);

    if (key->validate != NULL) {
        return key->validate(key, value);
    }
    return type_validators[key->type](key, value);
}

/* ------------------------------------------------------------------ errors */

static void set_error_at(GError **error, P11muxConfErrorCode code, const char *file, int line,
                         const char *format, ...) G_GNUC_PRINTF(5, 6);

/* "FILE:LINE: message" */
static void
set_error_at(GError **error, P11muxConfErrorCode code, const char *file, int line,
             const char *format, ...)
{
    g_autofree char *message = NULL;
    va_list args;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(error, P11MUX_CONF_ERROR, code, "%s:%d: %s", file, line, message);
}

/* "FILE: cannot read: reason" */
static void
set_read_error(GError **error, const char *file, const char *reason)
{
    g_set_error(error, P11MUX_CONF_ERROR, P11MUX_CONF_ERROR_READ, "%s: cannot read: %s", file,
                reason);
}

/* --------------------------------------------------------------- the result */

static char *
value_key(const char *group, const char *key)
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
    g_free(backend->init_reserved);
    g_free(backend->policy);
    g_free(backend);
}

static P11muxConf *
conf_new(void)
{
    P11muxConf *conf = g_new0(P11muxConf, 1);

    conf->backends = g_ptr_array_new_with_free_func(backend_free);
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

    name = value_key(group, key);
    return g_hash_table_lookup(conf->values, name);
}

const P11muxConfValue *
p11mux_conf_lookup_system(const P11muxConf *conf, const char *group, const char *key)
{
    g_autofree char *name = NULL;

    g_return_val_if_fail(conf != NULL && group != NULL && key != NULL, NULL);

    name = value_key(group, key);
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
static void
layer_add_group(P11muxConf *layer, char *name, P11muxConfGroupKind kind, P11muxConfOrigin origin)
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
static void
layer_set_value(P11muxConf *layer, const char *group, const char *key, char *value,
                P11muxConfOrigin origin)
{
    P11muxConfValue *entry = g_new0(P11muxConfValue, 1);

    entry->value = value;
    entry->origin = origin;
    g_hash_table_replace(layer->values, value_key(group, key), entry);
}

/* Moves everything from src into dst: its files, the groups dst does not
 * have yet, and its values, replacing those dst has. src is left empty. */
static void
merge_layer(P11muxConf *dst, P11muxConf *src)
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

/* ------------------------------------------------------------------ reading */

/* The whole file, NUL-terminated, in *contents. A missing file is no error
 * when missing_ok: TRUE with *contents NULL. */
static gboolean
read_text(const char *path, gboolean missing_ok, char **contents, gsize *length, GError **error)
{
    g_autoptr(GByteArray) buffer = NULL;
    char chunk[8192];
    ssize_t n;
    int fd;

    *contents = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int saved = errno;

        if (missing_ok && (saved == ENOENT || saved == ENOTDIR)) {
            return TRUE;
        }
        set_read_error(error, path, g_strerror(saved));
        return FALSE;
    }
    buffer = g_byte_array_new();
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 || buffer->len + (gsize)n > MAX_FILE_SIZE) {
            set_read_error(error, path, n < 0 ? g_strerror(errno) : "larger than 1 MiB");
            close(fd);
            return FALSE;
        }
        g_byte_array_append(buffer, (const guint8 *)chunk, (guint)n);
    }
    close(fd);
    *length = buffer->len;
    g_byte_array_append(buffer, (const guint8 *)"", 1);
    *contents = (char *)g_byte_array_free(g_steal_pointer(&buffer), FALSE);
    return TRUE;
}

/* ---------------------------------------------------------------- scanning */

typedef struct {
    int line;
    char *group; /* the full group name */
    const P11muxConfGroupInfo *info;
    const P11muxConfKey *key; /* NULL for the group header */
} Entry;

typedef struct {
    const char *path;
    LayerRole role;
    const char *group;               /* the current group (owned by entries), NULL before any */
    const P11muxConfGroupInfo *info; /* its kind */
    GHashTable *first_lines;         /* "group" or "group\nkey" -> GINT_TO_POINTER(line) */
    GArray *entries;                 /* Entry, in line order */
} Scan;

static void
entry_clear(gpointer data)
{
    Entry *entry = data;

    g_free(entry->group);
}

static void
scan_init(Scan *scan, const char *path, LayerRole role)
{
    memset(scan, 0, sizeof *scan);
    scan->path = path;
    scan->role = role;
    scan->first_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    scan->entries = g_array_new(FALSE, TRUE, sizeof(Entry));
    g_array_set_clear_func(scan->entries, entry_clear);
}

static void
scan_clear(Scan *scan)
{
    g_hash_table_unref(scan->first_lines);
    g_array_unref(scan->entries);
}

/* The line where name was first seen in this file, or 0; records line if new. */
static int
scan_first_line(Scan *scan, const char *name, int line)
{
    int first = GPOINTER_TO_INT(g_hash_table_lookup(scan->first_lines, name));

    if (first == 0) {
        g_hash_table_insert(scan->first_lines, g_strdup(name), GINT_TO_POINTER(line));
    }
    return first;
}

static void
scan_add_entry(Scan *scan, int line, const char *group, const P11muxConfGroupInfo *info,
               const P11muxConfKey *key)
{
    Entry entry = { line, g_strdup(group), info, key };

    g_array_append_val(scan->entries, entry);
    scan->group = entry.group;
    scan->info = info;
}

/* name: the text between the brackets. */
static gboolean
scan_group_name(Scan *scan, int line, const char *name, GError **error)
{
    const char *space = strchr(name, ' ');
    g_autofree char *kind = g_strndup(name, space != NULL ? (gsize)(space - name) : strlen(name));
    const P11muxConfGroupInfo *info = find_group_info(kind);
    const char *label = space != NULL ? space + 1 : NULL;
    int first;

    if (info == NULL || (!info->named && label != NULL)) {
        set_error_at(error, P11MUX_CONF_ERROR_UNKNOWN, scan->path, line, "unknown group [%s]",
                     name);
        return FALSE;
    }
    if (info->named && label == NULL) {
        set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                     "group [%s] needs a name: [%s NAME]", name, name);
        return FALSE;
    }
    if (info->named && !is_valid_name(label)) {
        set_error_at(error, P11MUX_CONF_ERROR_VALUE, scan->path, line,
                     "invalid %s name '%s': use letters, digits, '_', '.' and '-'", kind, label);
        return FALSE;
    }
    first = scan_first_line(scan, name, line);
    if (first != 0) {
        set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                     "group [%s] repeated (first at line %d)", name, first);
        return FALSE;
    }
    scan_add_entry(scan, line, name, info, NULL);
    return TRUE;
}

/* text: from the '[' to the end of the line. As GKeyFile: the header ends at
 * the first ']', and only spaces and tabs may follow it. */
static gboolean
scan_group(Scan *scan, int line, const char *text, gsize length, GError **error)
{
    const char *close = memchr(text, ']', length);
    g_autofree char *name = NULL;

    if (close == NULL) {
        set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                     "malformed group header: no ']'");
        return FALSE;
    }
    for (const char *p = close + 1; p < text + length; p++) {
        if (*p != ' ' && *p != '\t') {
            set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                         "malformed group header: text after ']'");
            return FALSE;
        }
    }
    name = g_strndup(text + 1, (gsize)(close - text - 1));
    return scan_group_name(scan, line, name, error);
}

/* text: from the first non-blank character to the end of the line. */
static gboolean
scan_key(Scan *scan, int line, const char *text, gsize length, GError **error)
{
    const char *equals = memchr(text, '=', length);
    g_autofree char *name = NULL;
    g_autofree char *full = NULL;
    const P11muxConfKey *key;
    int first;

    if (equals == NULL || equals == text) {
        set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                     "expected '[group]', 'key = value' or '# comment'");
        return FALSE;
    }
    name = g_strchomp(g_strndup(text, (gsize)(equals - text)));
    if (scan->group == NULL) {
        set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                     "key '%s' outside any group", name);
        return FALSE;
    }
    key = find_key(scan->info->kind, name);
    if (key == NULL) {
        set_error_at(error, P11MUX_CONF_ERROR_UNKNOWN, scan->path, line, "unknown key '%s' in [%s]",
                     name, scan->group);
        return FALSE;
    }
    if ((key->flags & P11MUX_CONF_KEY_NOT_IN_USER_FILE) && scan->role == LAYER_USER) {
        set_error_at(error, P11MUX_CONF_ERROR_VALUE, scan->path, line,
                     "key '%s' cannot be set in the user's file", name);
        return FALSE;
    }
    if ((key->flags & P11MUX_CONF_KEY_SYSTEM_ONLY) && scan->role != LAYER_SYSTEM) {
        set_error_at(error, P11MUX_CONF_ERROR_VALUE, scan->path, line,
                     "key '%s' can be set only in the system file or conf.d", name);
        return FALSE;
    }
    full = value_key(scan->group, name);
    first = scan_first_line(scan, full, line);
    if (first != 0) {
        set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                     "key '%s' repeated in [%s] (first at line %d)", name, scan->group, first);
        return FALSE;
    }
    scan_add_entry(scan, line, scan->group, scan->info, key);
    return TRUE;
}

static gboolean
scan_line(Scan *scan, int line, const char *text, gsize length, GError **error)
{
    const char *end = text + length;

    if (memchr(text, '\0', length) != NULL || !g_utf8_validate(text, (gssize)length, NULL)) {
        set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line, "not valid UTF-8 text");
        return FALSE;
    }
    while (text < end && g_ascii_isspace(*text)) {
        text++;
    }
    if (text == end || *text == '#') {
        return TRUE;
    }
    if (*text == '[') {
        return scan_group(scan, line, text, (gsize)(end - text), error);
    }
    return scan_key(scan, line, text, (gsize)(end - text), error);
}

static gboolean
scan_text(Scan *scan, const char *data, gsize length, GError **error)
{
    const char *end = data + length;
    int line = 0;

    for (const char *p = data; p < end;) {
        const char *newline = memchr(p, '\n', (gsize)(end - p));
        const char *stop = newline != NULL ? newline : end;
        /* As GKeyFile: "\r\n" ends a line, a last "\r" without "\n" does not. */
        gsize trim = newline != NULL && stop > p && stop[-1] == '\r' ? 1 : 0;

        line++;
        if (!scan_line(scan, line, p, (gsize)(stop - p) - trim, error)) {
            return FALSE;
        }
        p = stop + 1;
    }
    return TRUE;
}

/* --------------------------------------------------------------- one layer */

static gboolean
apply_entry(P11muxConf *layer, const Scan *scan, GKeyFile *keyfile, const Entry *entry,
            GError **error)
{
    P11muxConfOrigin origin = { scan->path, entry->line };
    g_autoptr(GError) local = NULL;
    g_autofree char *value = NULL;
    g_autofree char *problem = NULL;

    if (entry->key == NULL) {
        layer_add_group(layer, g_strdup(entry->group), entry->info->kind, origin);
        return TRUE;
    }
    value = g_key_file_get_value(keyfile, entry->group, entry->key->name, &local);
    if (value == NULL) {
        /* Not expected: the scan accepted the line. */
        set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, entry->line, "%s",
                     local->message);
        return FALSE;
    }
    g_strstrip(value);
    problem = p11mux_conf_key_check(entry->key, value);
    if (problem != NULL) {
        set_error_at(error, P11MUX_CONF_ERROR_VALUE, scan->path, entry->line,
                     "key '%s' in [%s]: %s", entry->key->name, entry->group, problem);
        return FALSE;
    }
    layer_set_value(layer, entry->group, entry->key->name, g_steal_pointer(&value), origin);
    return TRUE;
}

static gboolean
apply_entries(P11muxConf *layer, const Scan *scan, const char *data, gsize length, GError **error)
{
    g_autoptr(GKeyFile) keyfile = g_key_file_new();
    g_autoptr(GError) local = NULL;

    if (!g_key_file_load_from_data(keyfile, data, length, G_KEY_FILE_NONE, &local)) {
        /* Not expected: GKeyFile accepts everything the scan does. */
        set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, 0, "%s", local->message);
        return FALSE;
    }
    for (guint i = 0; i < scan->entries->len; i++) {
        if (!apply_entry(layer, scan, keyfile, &g_array_index(scan->entries, Entry, i), error)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* The layer of one file (transfer full); an empty layer if the file is
 * missing and missing_ok. */
static P11muxConf *
load_layer(const char *path, LayerRole role, gboolean missing_ok, GError **error)
{
    g_autoptr(P11muxConf) layer = NULL;
    g_autofree char *data = NULL;
    char *file;
    gsize length = 0;
    gboolean ok;
    Scan scan;

    if (!read_text(path, missing_ok, &data, &length, error)) {
        return NULL;
    }
    layer = conf_new();
    if (data == NULL) {
        return g_steal_pointer(&layer);
    }
    file = g_strdup(path);
    g_ptr_array_add(layer->files, file);
    scan_init(&scan, file, role);
    ok = scan_text(&scan, data, length, error) && apply_entries(layer, &scan, data, length, error);
    scan_clear(&scan);
    return ok ? g_steal_pointer(&layer) : NULL;
}

static gboolean
merge_file(P11muxConf *conf, const char *path, LayerRole role, gboolean missing_ok, GError **error)
{
    g_autoptr(P11muxConf) layer = load_layer(path, role, missing_ok, error);

    if (layer == NULL) {
        return FALSE;
    }
    merge_layer(conf, layer);
    return TRUE;
}

/* ------------------------------------------------------------- the layers */

static int
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "*.conf", not hidden. */
static gboolean
is_conf_name(const char *name)
{
    return name[0] != '.' && g_str_has_suffix(name, ".conf");
}

/* The *.conf names in dir, in strcmp order; none if dir is missing. */
static GPtrArray *
list_conf_dir(const char *dir, GError **error)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    struct dirent *entry;
    DIR *stream = opendir(dir);
    int saved;

    if (stream == NULL) {
        saved = errno;
        if (saved == ENOENT || saved == ENOTDIR) {
            return g_steal_pointer(&names);
        }
        set_read_error(error, dir, g_strerror(saved));
        return NULL;
    }
    while ((errno = 0, entry = readdir(stream)) != NULL) {
        if (is_conf_name(entry->d_name)) {
            g_ptr_array_add(names, g_strdup(entry->d_name));
        }
    }
    saved = errno;
    closedir(stream);
    if (saved != 0) {
        set_read_error(error, dir, g_strerror(saved));
        return NULL;
    }
    g_ptr_array_sort(names, compare_strings);
    return g_steal_pointer(&names);
}

static gboolean
merge_dir(P11muxConf *conf, const char *dir, GError **error)
{
    g_autoptr(GPtrArray) names = list_conf_dir(dir, error);

    if (names == NULL) {
        return FALSE;
    }
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(dir, g_ptr_array_index(names, i), NULL);

        if (!merge_file(conf, path, LAYER_SYSTEM, TRUE, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* The value set for a key, else its default; NULL if neither. */
static const char *
setting(const P11muxConf *conf, const char *group, P11muxConfGroupKind kind, const char *key)
{
    const P11muxConfValue *value = p11mux_conf_lookup(conf, group, key);

    if (value != NULL) {
        return value->value;
    }
    return find_key(kind, key)->default_value;
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

    for (guint i = 0; user_config_choices[i] != NULL; i++) {
        if (g_str_equal(user_config_choices[i], value)) {
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
    g_autofree char *keep = value_key(GLOBAL_GROUP, USER_CONFIG_KEY);
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
    user = load_layer(path, LAYER_USER, TRUE, error);
    if (user == NULL) {
        return FALSE;
    }
    if (mode == P11MUX_USER_CONFIG_ONLY && user->files->len > 0) {
        discard_system_layer(conf);
    }
    merge_layer(conf, user);
    return TRUE;
}

/* ------------------------------------------------------------ the finish */

static P11muxConfBackend *
backend_new(const P11muxConf *conf, const P11muxConfGroup *group)
{
    P11muxConfBackend *backend = g_new0(P11muxConfBackend, 1);
    const P11muxConfGroupKind kind = P11MUX_CONF_GROUP_BACKEND;
    const P11muxConfValue *module = p11mux_conf_lookup(conf, group->name, "module");

    backend->name = g_strdup(group->label);
    if (module != NULL) {
        backend->module = g_strdup(module->value);
        backend->module_origin = module->origin;
    }
    backend->init_reserved = g_strdup(setting(conf, group->name, kind, "init-reserved"));
    backend->critical = setting_is_true(conf, group->name, kind, "critical");
    backend->enabled = setting_is_true(conf, group->name, kind, "enabled");
    backend->policy = g_strdup(setting(conf, group->name, kind, "policy"));
    backend->origin = group->origin;
    return backend;
}

/* policy-override counts only where the system layers set it. */
static gboolean
policy_stricter_only(const P11muxConf *conf)
{
    const P11muxConfValue *value =
        p11mux_conf_lookup_system(conf, GLOBAL_GROUP, "policy-override");

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
    conf->policy_stricter_only = policy_stricter_only(conf);
    for (guint i = 0; i < conf->groups->len; i++) {
        const P11muxConfGroup *group = g_ptr_array_index(conf->groups, i);

        if (group->kind == P11MUX_CONF_GROUP_BACKEND) {
            g_ptr_array_add(conf->backends, backend_new(conf, group));
        }
    }
}

/* The path a module is known by: resolved if it exists, else as written. */
static char *
canonical_path(const char *path)
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
    set_error_at(error, P11MUX_CONF_ERROR_CONFLICT, here->file, here->line,
                 "backends '%s' (%s) and '%s' load the same library %s", first->name, where,
                 second->name, library);
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
            set_error_at(error, P11MUX_CONF_ERROR_MISSING, backend->origin.file,
                         backend->origin.line, "backend '%s' is enabled but has no 'module'",
                         backend->name);
            return FALSE;
        }
        library = canonical_path(backend->module);
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
    if (!check_backends(conf, error)) {
        p11mux_conf_free(conf);
        return NULL;
    }
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

    conf = conf_new();
    if (paths->system_file != NULL &&
        !merge_file(conf, paths->system_file, LAYER_SYSTEM, TRUE, error)) {
        return NULL;
    }
    if (paths->system_dir != NULL && !merge_dir(conf, paths->system_dir, error)) {
        return NULL;
    }
    snapshot_system(conf);
    /* Read before the user's file, which it may exclude; merged after it. */
    if (paths->extra_file != NULL &&
        (extra = load_layer(paths->extra_file, LAYER_EXTRA, FALSE, error)) == NULL) {
        return NULL;
    }
    if (!merge_user_file(conf, paths->user_file, user_config_decision(conf, extra), error)) {
        return NULL;
    }
    if (extra != NULL) {
        merge_layer(conf, extra);
    }
    return finish(g_steal_pointer(&conf), error);
}

P11muxConf *
p11mux_conf_load_file(const char *path, GError **error)
{
    P11muxConf *conf;

    g_return_val_if_fail(path != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    conf = load_layer(path, LAYER_SYSTEM, FALSE, error);
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

/* setuid/setgid, or ids changed since: no user file, no environment. */
static gboolean
is_secure_process(void)
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
    gboolean secure = is_secure_process();
    const char *extra = secure ? NULL : getenv_secure("P11MUX_CONF");

    defaults->owned[0] = g_build_filename(SYSCONFDIR, "p11mux", "p11mux.conf", NULL);
    defaults->owned[1] = g_build_filename(SYSCONFDIR, "p11mux", "conf.d", NULL);
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
