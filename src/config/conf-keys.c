/*
 * The configuration schema: the known groups and keys, and the checks of a
 * value against its key. To accept a new key, add its row here (and give it
 * a line in p11mux.conf(5)).
 */
#include "config.h"

#include "conf-private.h"
#include "trace-path.h"

#include <errno.h>
#include <string.h>

/* ------------------------------------------------------------------ tables */

static char *check_trace(const P11muxConfKey *key, const char *value);
static char *check_duration(const P11muxConfKey *key, const char *value);
static char *check_duration_or_off(const P11muxConfKey *key, const char *value);
static char *check_members(const P11muxConfKey *key, const char *value);
static char *check_failover_on(const P11muxConfKey *key, const char *value);
static char *check_verify(const P11muxConfKey *key, const char *value);
static char *check_backoff(const P11muxConfKey *key, const char *value);
static char *check_label(const P11muxConfKey *key, const char *value);
static char *check_serial(const P11muxConfKey *key, const char *value);

/* Order matches P11muxUserConfig. */
static const char *const user_config_choices[] = {"merge", "none", "only", NULL};
static const char *const trace_format_choices[] = {"text", "json", NULL};
static const char *const trace_data_choices[] = {"length", "hex", NULL};
static const char *const policy_override_choices[] = {"merge", "stricter-only", NULL};
/* [group NAME]: each in the order of its enum in conf.h */
static const char *const dispatch_choices[] = {"round-robin", "least-busy", "primary", NULL};
static const char *const identity_choices[] = {"class id", "class label", "class id label", NULL};
static const char *const divergence_choices[] = {"exclude-object", "quarantine-member", "fail",
                                                 NULL};
static const char *const writes_choices[] = {"refuse", "primary", NULL};
static const char *const pin_retention_choices[] = {"memory", "none", NULL};
static const char *const all_down_choices[] = {"keep-sessions", "close-sessions", NULL};
static const char *const find_fanout_choices[] = {"all", "one", NULL};

/* The rows are indexed by P11muxConfGroupKind. */
static const P11muxConfGroupInfo known_groups[] = {
    {P11MUX_CONF_GROUP_GLOBAL, "global", FALSE},
    {P11MUX_CONF_GROUP_BACKEND, "backend", TRUE},
    {P11MUX_CONF_GROUP_POLICY, "policy", TRUE},
    {P11MUX_CONF_GROUP_HA, "group", TRUE},
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
    { .group = P11MUX_CONF_GROUP_BACKEND, .name = "failover-on", .type = P11MUX_CONF_TYPE_STRING,
      .example = "CKR_DEVICE_ERROR CKR_FUNCTION_FAILED", .validate = check_failover_on },
    /* [group NAME]: conf-group.c builds P11muxConfHaGroup from them and checks what
     * spans keys, groups and backends */
    { .group = P11MUX_CONF_GROUP_HA, .name = "members", .type = P11MUX_CONF_TYPE_STRING,
      .example = "sample:pkcs11:token=part1 sample:pkcs11:token=part2",
      .validate = check_members },
    { .group = P11MUX_CONF_GROUP_HA, .name = "standby", .type = P11MUX_CONF_TYPE_STRING,
      .example = "sample:pkcs11:token=part3", .validate = check_members },
    { .group = P11MUX_CONF_GROUP_HA, .name = "label", .type = P11MUX_CONF_TYPE_STRING,
      .example = "signing", .validate = check_label },
    { .group = P11MUX_CONF_GROUP_HA, .name = "serial", .type = P11MUX_CONF_TYPE_STRING,
      .example = "0123456789abcdef", .validate = check_serial },
    { .group = P11MUX_CONF_GROUP_HA, .name = "dispatch", .type = P11MUX_CONF_TYPE_ENUM,
      .choices = dispatch_choices, .default_value = "least-busy", .example = "round-robin" },
    { .group = P11MUX_CONF_GROUP_HA, .name = "identity", .type = P11MUX_CONF_TYPE_ENUM,
      .choices = identity_choices, .default_value = "class id", .example = "class id label" },
    { .group = P11MUX_CONF_GROUP_HA, .name = "verify", .type = P11MUX_CONF_TYPE_STRING,
      .default_value = "pubkey cert kcv", .example = "pubkey probe", .validate = check_verify },
    { .group = P11MUX_CONF_GROUP_HA, .name = "on-divergence", .type = P11MUX_CONF_TYPE_ENUM,
      .choices = divergence_choices, .default_value = "exclude-object",
      .example = "quarantine-member" },
    { .group = P11MUX_CONF_GROUP_HA, .name = "min-replicas", .type = P11MUX_CONF_TYPE_UINT,
      .default_value = "1", .example = "2", .min = 1, .max = 64 },
    { .group = P11MUX_CONF_GROUP_HA, .name = "writes", .type = P11MUX_CONF_TYPE_ENUM,
      .choices = writes_choices, .default_value = "refuse", .example = "primary" },
    { .group = P11MUX_CONF_GROUP_HA, .name = "failover-on", .type = P11MUX_CONF_TYPE_STRING,
      .default_value = "CKR_DEVICE_ERROR CKR_DEVICE_REMOVED CKR_TOKEN_NOT_PRESENT "
                       "CKR_GENERAL_ERROR",
      .example = "CKR_DEVICE_ERROR CKR_DEVICE_REMOVED", .validate = check_failover_on },
    { .group = P11MUX_CONF_GROUP_HA, .name = "error-threshold", .type = P11MUX_CONF_TYPE_UINT,
      .default_value = "3", .example = "5", .min = 1, .max = 1000 },
    { .group = P11MUX_CONF_GROUP_HA, .name = "replay-buffer", .type = P11MUX_CONF_TYPE_UINT,
      .default_value = "65536", .example = "0", .min = 0, .max = 64 * 1024 * 1024 },
    { .group = P11MUX_CONF_GROUP_HA, .name = "call-timeout", .type = P11MUX_CONF_TYPE_STRING,
      .default_value = "20s", .example = "2min", .validate = check_duration },
    { .group = P11MUX_CONF_GROUP_HA, .name = "probe-interval", .type = P11MUX_CONF_TYPE_STRING,
      .default_value = "5s", .example = "500ms", .validate = check_duration },
    { .group = P11MUX_CONF_GROUP_HA, .name = "recover-backoff", .type = P11MUX_CONF_TYPE_STRING,
      .default_value = "1s 60s", .example = "2s 5min", .validate = check_backoff },
    { .group = P11MUX_CONF_GROUP_HA, .name = "keepalive", .type = P11MUX_CONF_TYPE_STRING,
      .default_value = "300s", .example = "0", .validate = check_duration_or_off },
    { .group = P11MUX_CONF_GROUP_HA, .name = "pin-retention", .type = P11MUX_CONF_TYPE_ENUM,
      .choices = pin_retention_choices, .default_value = "memory", .example = "none" },
    { .group = P11MUX_CONF_GROUP_HA, .name = "max-member-sessions",
      .type = P11MUX_CONF_TYPE_UINT, .example = "16", .min = 1, .max = 64 },
    { .group = P11MUX_CONF_GROUP_HA, .name = "min-active", .type = P11MUX_CONF_TYPE_UINT,
      .default_value = "1", .example = "2", .min = 1, .max = 64 },
    { .group = P11MUX_CONF_GROUP_HA, .name = "all-down", .type = P11MUX_CONF_TYPE_ENUM,
      .choices = all_down_choices, .default_value = "keep-sessions",
      .example = "close-sessions" },
    { .group = P11MUX_CONF_GROUP_HA, .name = "hide-members", .type = P11MUX_CONF_TYPE_BOOL,
      .default_value = "true", .example = "false" },
    { .group = P11MUX_CONF_GROUP_HA, .name = "find-fanout", .type = P11MUX_CONF_TYPE_ENUM,
      .choices = find_fanout_choices, .default_value = "all", .example = "one" },
    { .group = P11MUX_CONF_GROUP_HA, .name = "policy", .type = P11MUX_CONF_TYPE_NAME,
      .example = "sample" },
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
    } else if (g_str_equal(end, "min")) {
        unit = 60 * G_USEC_PER_SEC;
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
    return g_strdup_printf("expected a duration from 1ms to 3600s (\"10s\", \"500ms\", \"5min\", "
                           "or bare seconds), got '%s'",
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

gboolean
p11mux_conf_parse_uint(const char *text, guint64 min, guint64 max, guint64 *number)
{
    char *end;

    if (!g_ascii_isdigit(*text)) {
        return FALSE;
    }
    errno = 0;
    *number = g_ascii_strtoull(text, &end, 10);
    return errno == 0 && *end == '\0' && *number >= min && *number <= max;
}

static char *
check_uint(const P11muxConfKey *key, const char *value)
{
    guint64 number;

    if (p11mux_conf_parse_uint(value, key->min, key->max, &number)) {
        return NULL;
    }
    return g_strdup_printf("expected a whole number from %" G_GUINT64_FORMAT
                           " to %" G_GUINT64_FORMAT ", got '%s'",
                           key->min, key->max, value);
}

/* recover-backoff: two durations, the first no longer than the second. */
static char *
check_backoff(const P11muxConfKey *key, const char *value)
{
    g_auto(GStrv) words = g_strsplit_set(value, " \t", -1);
    g_autoptr(GPtrArray) parts = g_ptr_array_new();
    gint64 first, second;

    for (guint i = 0; words[i] != NULL; i++) {
        if (*words[i] != '\0') {
            g_ptr_array_add(parts, words[i]);
        }
    }
    if (parts->len != 2) {
        return g_strdup_printf("expected two durations, the shortest and the longest wait "
                               "(\"1s 60s\"), got '%s'",
                               value);
    }
    for (guint i = 0; i < 2; i++) {
        char *problem = check_duration(key, g_ptr_array_index(parts, i));

        if (problem != NULL) {
            return problem;
        }
    }
    (void)p11mux_conf_parse_duration(g_ptr_array_index(parts, 0), &first);
    (void)p11mux_conf_parse_duration(g_ptr_array_index(parts, 1), &second);
    if (first > second) {
        return g_strdup_printf("the first duration (%s) is longer than the second (%s)",
                               (const char *)g_ptr_array_index(parts, 0),
                               (const char *)g_ptr_array_index(parts, 1));
    }
    return NULL;
}

static char *
check_members(const P11muxConfKey *key G_GNUC_UNUSED, const char *value)
{
    return p11mux_conf_parse_members(value, FALSE, NULL, (P11muxConfOrigin){NULL, 0});
}

static char *
check_failover_on(const P11muxConfKey *key G_GNUC_UNUSED, const char *value)
{
    return p11mux_conf_parse_failover_on(value, NULL);
}

static char *
check_verify(const P11muxConfKey *key G_GNUC_UNUSED, const char *value)
{
    guint flags;

    return p11mux_conf_parse_verify(value, &flags);
}

/* CK_TOKEN_INFO.label: 32 bytes, blank padded. */
static char *
check_label(const P11muxConfKey *key G_GNUC_UNUSED, const char *value)
{
    if (*value != '\0' && strlen(value) <= 32) {
        return NULL;
    }
    return g_strdup_printf("expected 1 to 32 bytes (CK_TOKEN_INFO.label), got %zu", strlen(value));
}

/* CK_TOKEN_INFO.serialNumber: 16 characters, blank padded. */
static char *
check_serial(const P11muxConfKey *key G_GNUC_UNUSED, const char *value)
{
    gsize length = strlen(value);

    for (const char *p = value; *p != '\0'; p++) {
        if (!g_ascii_isgraph(*p)) {
            length = 0;
        }
    }
    if (length >= 1 && length <= 16) {
        return NULL;
    }
    return g_strdup_printf("expected 1 to 16 printable ASCII characters without spaces "
                           "(CK_TOKEN_INFO.serialNumber), got '%s'",
                           value);
}

static P11muxConfValidator const type_validators[] = {
    [P11MUX_CONF_TYPE_STRING] = check_string, [P11MUX_CONF_TYPE_BOOL] = check_bool,
    [P11MUX_CONF_TYPE_ENUM] = check_enum,     [P11MUX_CONF_TYPE_PATH] = check_path,
    [P11MUX_CONF_TYPE_NAME] = check_name,     [P11MUX_CONF_TYPE_UINT] = check_uint,
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
