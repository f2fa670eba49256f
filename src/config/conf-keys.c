/*
 * The configuration schema: the known groups and keys, and the checks of a
 * value against its key. To accept a new key, add its row here (and give it
 * a line in p11mux.conf(5)).
 */
#include "config.h"

#include "conf-private.h"
#include "trace-path.h"

#include <string.h>

/* ------------------------------------------------------------------ tables */

static char *check_trace(const P11muxConfKey *key, const char *value);
static char *check_duration(const P11muxConfKey *key, const char *value);
static char *check_duration_or_off(const P11muxConfKey *key, const char *value);

/* Order matches P11muxUserConfig. */
static const char *const user_config_choices[] = {"merge", "none", "only", NULL};
static const char *const trace_format_choices[] = {"text", "json", NULL};
static const char *const trace_data_choices[] = {"length", "hex", NULL};
static const char *const policy_override_choices[] = {"merge", "stricter-only", NULL};

/* The rows are indexed by P11muxConfGroupKind. */
static const P11muxConfGroupInfo known_groups[] = {
    {P11MUX_CONF_GROUP_GLOBAL, "global", FALSE},
    {P11MUX_CONF_GROUP_BACKEND, "backend", TRUE},
    {P11MUX_CONF_GROUP_POLICY, "policy", TRUE},
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
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "trace-entry", .type = P11MUX_CONF_TYPE_BOOL,
      .default_value = "false", .example = "true" },
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "slow-call", .type = P11MUX_CONF_TYPE_STRING,
      .default_value = "0", .example = "5", .validate = check_duration_or_off },
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "import-p11-kit", .type = P11MUX_CONF_TYPE_BOOL,
      .default_value = "false", .example = "true" },
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "standalone", .type = P11MUX_CONF_TYPE_BOOL,
      .default_value = "false", .example = "true", .flags = P11MUX_CONF_KEY_EXTRA_ONLY },
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "init-timeout", .type = P11MUX_CONF_TYPE_STRING,
      .default_value = "10s", .example = "3s", .validate = check_duration },
    { .group = P11MUX_CONF_GROUP_BACKEND, .name = "init-timeout", .type = P11MUX_CONF_TYPE_STRING,
      .example = "30s", .validate = check_duration },
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
    /* the policy engine's: p11mux_policy_set_new (src/policy/policy.c) parses the lists, and
     * compiling them is their only check */
    { .group = P11MUX_CONF_GROUP_GLOBAL, .name = "policy-override", .type = P11MUX_CONF_TYPE_ENUM,
      .choices = policy_override_choices, .default_value = "merge", .example = "stricter-only",
      .flags = P11MUX_CONF_KEY_SYSTEM_ONLY },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "tokens", .type = P11MUX_CONF_TYPE_STRING,
      .example = "pkcs11:manufacturer=SoftHSM%20project" },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "deny-tokens", .type = P11MUX_CONF_TYPE_STRING,
      .example = "pkcs11:token=scratch" },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "mechanisms", .type = P11MUX_CONF_TYPE_STRING,
      .example = "CKM_ECDSA CKM_SHA256_RSA_PKCS CKM_AES_GCM" },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "deny-mechanisms", .type = P11MUX_CONF_TYPE_STRING,
      .example = "CKM_MD5* CKM_*DES* CKM_SHA1_RSA_PKCS" },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "allow-opaque-mechanisms",
      .type = P11MUX_CONF_TYPE_STRING, .example = "CKM_VENDOR_DEFINED+0x4e534351" },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "min-key-bits", .type = P11MUX_CONF_TYPE_STRING,
      .example = "rsa:2048 ec:256 aes:128" },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "objects", .type = P11MUX_CONF_TYPE_STRING,
      .example = "pkcs11:type=private pkcs11:type=cert" },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "deny-objects", .type = P11MUX_CONF_TYPE_STRING,
      .example = "pkcs11:object=backup-key" },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "read-only", .type = P11MUX_CONF_TYPE_BOOL,
      .default_value = "false", .example = "true" },
    { .group = P11MUX_CONF_GROUP_POLICY, .name = "deny-functions", .type = P11MUX_CONF_TYPE_STRING,
      .example = "C_WrapKey C_InitToken C_SetPIN" },
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

const P11muxConfGroupInfo *
p11mux_conf_find_group_info(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(known_groups); i++) {
        if (g_str_equal(known_groups[i].name, name)) {
            return &known_groups[i];
        }
    }
    return NULL;
}

const P11muxConfKey *
p11mux_conf_find_key(P11muxConfGroupKind kind, const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(known_keys); i++) {
        if (known_keys[i].group == kind && g_str_equal(known_keys[i].name, name)) {
            return &known_keys[i];
        }
    }
    return NULL;
}

/* -------------------------------------------------------------- validators */

gboolean
p11mux_conf_is_valid_name(const char *name)
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
check_string(const P11muxConfKey *key G_GNUC_UNUSED, const char *value G_GNUC_UNUSED)
{
    return NULL;
}

static char *
check_bool(const P11muxConfKey *key G_GNUC_UNUSED, const char *value)
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
check_path(const P11muxConfKey *key G_GNUC_UNUSED, const char *value)
{
    if (g_path_is_absolute(value)) {
        return NULL;
    }
    return g_strdup_printf("expected an absolute path, got '%s'", value);
}

static char *
check_name(const P11muxConfKey *key G_GNUC_UNUSED, const char *value)
{
    if (p11mux_conf_is_valid_name(value)) {
        return NULL;
    }
    return g_strdup_printf("expected a name of letters, digits, '_', '.' and '-', got '%s'", value);
}

/* The longest duration accepted: one hour. */
#define DURATION_MAX_US (G_GINT64_CONSTANT(3600) * G_USEC_PER_SEC)

gboolean
p11mux_conf_parse_duration(const char *text, gint64 *microseconds)
{
    guint64 number;
    char *end;
    gint64 unit = G_USEC_PER_SEC;

    if (!g_ascii_isdigit(*text)) {
        return FALSE;
    }
    number = g_ascii_strtoull(text, &end, 10);
    if (g_str_equal(end, "ms")) {
        unit = 1000;
    } else if (!g_str_equal(end, "s") && *end != '\0') {
        return FALSE;
    }
    if (number > (guint64)(DURATION_MAX_US / unit)) {
        return FALSE;
    }
    *microseconds = (gint64)number * unit;
    return *microseconds > 0;
}

static char *
check_duration(const P11muxConfKey *key, const char *value)
{
    gint64 us;

    (void)key;
    if (p11mux_conf_parse_duration(value, &us)) {
        return NULL;
    }
    return g_strdup_printf("expected a duration from 1ms to 3600s (\"10s\", \"500ms\", or bare "
                           "seconds), got '%s'",
                           value);
}

static char *
check_duration_or_off(const P11muxConfKey *key, const char *value)
{
    return g_str_equal(value, "0") ? NULL : check_duration(key, value);
}

/* off | stderr | syslog | file:/ABSOLUTE/PATH (or file:%r/...; %-escapes
 * in src/trace/trace-path.h): the process's working directory is the
 * application's, so a relative trace file is refused. */
static char *
check_trace(const P11muxConfKey *key G_GNUC_UNUSED, const char *value)
{
    g_autofree char *why = NULL;

    if (g_str_equal(value, "off") || g_str_equal(value, "stderr") || g_str_equal(value, "syslog")) {
        return NULL;
    }
    if (!g_str_has_prefix(value, "file:")) {
        return g_strdup_printf("expected off, stderr, syslog or file:/ABSOLUTE/PATH, got '%s'",
                               value);
    }
    why = p11mux_trace_path_check(value + strlen("file:"));
    if (why != NULL) {
        return g_strdup_printf("expected off, stderr, syslog or file:/ABSOLUTE/PATH: %s", why);
    }
    return NULL;
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
