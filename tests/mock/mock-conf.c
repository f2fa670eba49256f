/*
 * The mock's configuration file (the format is described at the top of
 * mock.c and in tests/mock/README.md): parsed completely into a MockConf,
 * which mock.c then publishes.  Errors read "FILE: [group] key: message".
 *
 * Constant names (CKA_, CKK_, CKM_, CKO_, CKR_) come from the generated
 * mock-constants.h, made from the header the mock compiles against; the mock
 * deliberately does not use p11mux's own constant tables, which it tests.
 */
#include "config.h"

#include <string.h>

#include "mock.h"

typedef struct {
    const char *name;
    CK_ULONG number;
} MockConstant;

static const MockConstant constants[] = {
#define MOCK_CONSTANT(name) {#name, name},
#include "mock-constants.h"
#undef MOCK_CONSTANT
};

/* CK_MECHANISM_INFO.flags, for "mechanisms = NAME:MIN:MAX:FLAGS". */
static const MockConstant mechanism_flags[] = {
    {"CKF_HW", CKF_HW},
    {"CKF_MESSAGE_ENCRYPT", CKF_MESSAGE_ENCRYPT},
    {"CKF_MESSAGE_DECRYPT", CKF_MESSAGE_DECRYPT},
    {"CKF_MESSAGE_SIGN", CKF_MESSAGE_SIGN},
    {"CKF_MESSAGE_VERIFY", CKF_MESSAGE_VERIFY},
    {"CKF_MULTI_MESSAGE", CKF_MULTI_MESSAGE},
    {"CKF_ENCRYPT", CKF_ENCRYPT},
    {"CKF_DECRYPT", CKF_DECRYPT},
    {"CKF_DIGEST", CKF_DIGEST},
    {"CKF_SIGN", CKF_SIGN},
    {"CKF_SIGN_RECOVER", CKF_SIGN_RECOVER},
    {"CKF_VERIFY", CKF_VERIFY},
    {"CKF_VERIFY_RECOVER", CKF_VERIFY_RECOVER},
    {"CKF_GENERATE", CKF_GENERATE},
    {"CKF_GENERATE_KEY_PAIR", CKF_GENERATE_KEY_PAIR},
    {"CKF_WRAP", CKF_WRAP},
    {"CKF_UNWRAP", CKF_UNWRAP},
    {"CKF_DERIVE", CKF_DERIVE},
    {"CKF_EXTENSION", CKF_EXTENSION},
};

/* Object keys taking true/false. */
static const MockConstant object_booleans[] = {
    {"token", CKA_TOKEN},
    {"private", CKA_PRIVATE},
    {"sensitive", CKA_SENSITIVE},
    {"extractable", CKA_EXTRACTABLE},
    {"modifiable", CKA_MODIFIABLE},
    {"copyable", CKA_COPYABLE},
    {"destroyable", CKA_DESTROYABLE},
    {"sign", CKA_SIGN},
    {"verify", CKA_VERIFY},
    {"encrypt", CKA_ENCRYPT},
    {"decrypt", CKA_DECRYPT},
};

static const char *const mock_keys[] = {
    "interface", "manufacturer", "description", "fail", "misbehave", "null-functions", NULL,
};

static const char *const slot_keys[] = {
    "description", "removable",    "token-present",  "token-initialized",
    "token-label", "token-serial", "token-model",    "pin",
    "so-pin",      "mechanisms",   "async-sessions", NULL,
};

/* Besides these, the names of object_booleans and CKA_ names. */
static const char *const object_keys[] = {
    "slot", "class", "key-type", "label", "id", "value", "value-text", NULL,
};

static const char builtin_config[] = "[mock]\n"
                                     "interface = 3.0\n"
                                     "[slot 1]\n"
                                     "token-label = mock-token\n";

/* --------------------------------------------------------------- values */

static gboolean
lookup_constant(const MockConstant *table, gsize n, const char *name, CK_ULONG *number)
{
    gsize i;

    for (i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *number = table[i].number;
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean
parse_ulong(const char *text, CK_ULONG *number)
{
    guint64 parsed;
    guint base = 10;

    if (g_str_has_prefix(text, "0x") || g_str_has_prefix(text, "0X")) {
        text += 2;
        base = 16;
    }
    if (!g_ascii_string_to_unsigned(text, base, 0, G_MAXULONG, &parsed, NULL)) {
        return FALSE;
    }
    *number = (CK_ULONG)parsed;
    return TRUE;
}

/* NAME (with the given prefix), NAME+N, a decimal or a 0x number. */
gboolean
mock_constant_value(const char *prefix, const char *text, CK_ULONG *number)
{
    g_autofree char *name = g_strdup(text);
    char *plus = strchr(name, '+');
    CK_ULONG offset = 0;

    if (g_ascii_isdigit(text[0])) {
        return parse_ulong(text, number);
    }
    if (plus != NULL) {
        *plus = '\0';
        if (!parse_ulong(plus + 1, &offset)) {
            return FALSE;
        }
    }
    if (!g_str_has_prefix(name, prefix) ||
        !lookup_constant(constants, G_N_ELEMENTS(constants), name, number)) {
        return FALSE;
    }
    *number += offset;
    return TRUE;
}

static gboolean
set_error(GError **error, const char *path, const char *group, const char *key, const char *message,
          const char *item)
{
    g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "%s: [%s] %s: %s%s%s",
                path != NULL ? path : "(built-in)", group, key, message, item != NULL ? ": " : "",
                item != NULL ? item : "");
    return FALSE;
}

/* transfer full: "" for an absent key. */
static char *
get_string(GKeyFile *kf, const char *group, const char *key)
{
    char *text = g_key_file_get_string(kf, group, key, NULL);

    return text != NULL ? g_strstrip(text) : g_strdup("");
}

static gboolean
get_boolean(GKeyFile *kf, const char *group, const char *key, gboolean *out, GError **error)
{
    g_autoptr(GError) local = NULL;
    gboolean on;

    if (!g_key_file_has_key(kf, group, key, NULL)) {
        return TRUE;
    }
    on = g_key_file_get_boolean(kf, group, key, &local);
    if (local != NULL) {
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    *out = on;
    return TRUE;
}

/* transfer full, nullable on error: even-length hex, may be empty. */
static GBytes *
parse_hex(const char *text)
{
    gsize len = strlen(text);
    g_autofree guint8 *data = g_malloc(len / 2 + 1);
    gsize i;

    if (len % 2 != 0) {
        return NULL;
    }
    for (i = 0; i < len / 2; i++) {
        int hi = g_ascii_xdigit_value(text[2 * i]);
        int lo = g_ascii_xdigit_value(text[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return NULL;
        }
        data[i] = (guint8)(hi << 4 | lo);
    }
    return g_bytes_new(data, len / 2);
}

static gboolean
is_object_boolean(const char *key)
{
    CK_ULONG type;

    return lookup_constant(object_booleans, G_N_ELEMENTS(object_booleans), key, &type);
}

static gboolean
check_keys(GKeyFile *kf, const char *path, const char *group, const char *const *allowed,
           gboolean raw_attributes, GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);
    guint i;

    for (i = 0; keys != NULL && keys[i] != NULL; i++) {
        if (g_strv_contains(allowed, keys[i])) {
            continue;
        }
        if (raw_attributes && (g_str_has_prefix(keys[i], "CKA_") || is_object_boolean(keys[i]))) {
            continue;
        }
        return set_error(error, path, group, keys[i], "unknown key", NULL);
    }
    return TRUE;
}

/* ----------------------------------------------------------- [mock] */

gboolean
mock_conf_parse_fail_rules(const char *text, GPtrArray *rules, GError **error)
{
    g_auto(GStrv) items = g_strsplit_set(text, " \t", -1);
    guint i;

    for (i = 0; items[i] != NULL; i++) {
        g_auto(GStrv) parts = g_strsplit(items[i], ":", 3);
        MockFailRule rule = {0};
        g_autofree char *nth = NULL;

        if (*items[i] == '\0') {
            continue;
        }
        nth = g_strdup(parts[1] != NULL ? parts[2] : NULL);
        rule.onward = nth != NULL && g_str_has_suffix(nth, "+");
        if (rule.onward) {
            nth[strlen(nth) - 1] = '\0';
        }
        if (parts[1] == NULL || !mock_function_id(parts[0], &rule.fn) ||
            !mock_constant_value("CKR_", parts[1], &rule.rv) ||
            (nth != NULL && (!parse_ulong(nth, &rule.nth) || rule.nth == 0))) {
            g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "bad rule '%s' (FUNCTION:CKR_NAME[:N[+]])", items[i]);
            return FALSE;
        }
        g_ptr_array_add(rules, g_memdup2(&rule, sizeof rule));
    }
    return TRUE;
}

static const struct {
    const char *name;
    MockMisbehaviourKind kind;
    gboolean has_arg;
} misbehaviour_kinds[] = {
    {"hang", MOCK_MISBEHAVE_HANG, FALSE}, {"sleep", MOCK_MISBEHAVE_SLEEP, TRUE},
    {"segv", MOCK_MISBEHAVE_SEGV, FALSE}, {"abort", MOCK_MISBEHAVE_ABORT, FALSE},
    {"exit", MOCK_MISBEHAVE_EXIT, TRUE},  {"return", MOCK_MISBEHAVE_RETURN, TRUE},
};

/* ACTION[:ARG] of one misbehave item; FALSE when malformed. */
static gboolean
parse_misbehaviour(char **parts, MockMisbehaviour *rule)
{
    guint i;

    for (i = 0; i < G_N_ELEMENTS(misbehaviour_kinds); i++) {
        if (strcmp(parts[1], misbehaviour_kinds[i].name) != 0) {
            continue;
        }
        rule->kind = misbehaviour_kinds[i].kind;
        if (!misbehaviour_kinds[i].has_arg) {
            return parts[2] == NULL;
        }
        if (parts[2] == NULL) {
            return FALSE;
        }
        return rule->kind == MOCK_MISBEHAVE_RETURN
                   ? mock_constant_value("CKR_", parts[2], &rule->arg)
                   : parse_ulong(parts[2], &rule->arg);
    }
    return FALSE;
}

gboolean
mock_conf_parse_misbehaviours(const char *text, GArray *rules, GError **error)
{
    g_auto(GStrv) items = g_strsplit_set(text, " \t", -1);
    guint i;

    for (i = 0; items[i] != NULL; i++) {
        g_auto(GStrv) parts = g_strsplit(items[i], ":", 3);
        MockMisbehaviour rule = {0};

        if (*items[i] == '\0') {
            continue;
        }
        if (parts[1] == NULL || !mock_function_id(parts[0], &rule.fn) ||
            !parse_misbehaviour(parts, &rule)) {
            g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "bad rule '%s' (FUNCTION:hang|sleep:MS|segv|abort|exit:N|return:CKR_NAME)",
                        items[i]);
            return FALSE;
        }
        g_array_append_val(rules, rule);
    }
    return TRUE;
}

static gboolean
parse_null_functions(GKeyFile *kf, MockConf *conf, GError **error)
{
    g_autofree char *text = get_string(kf, "mock", "null-functions");
    g_auto(GStrv) names = g_strsplit_set(text, " \t", -1);
    guint i;

    for (i = 0; names[i] != NULL; i++) {
        MockFunctionId fn;

        if (*names[i] == '\0') {
            continue;
        }
        if (!mock_function_id(names[i], &fn)) {
            return set_error(error, conf->path, "mock", "null-functions", "unknown function",
                             names[i]);
        }
        g_array_append_val(conf->null_functions, fn);
    }
    return TRUE;
}

static gboolean
parse_mock_group(GKeyFile *kf, MockConf *conf, GError **error)
{
    g_autofree char *interface = get_string(kf, "mock", "interface");
    g_autofree char *fail = get_string(kf, "mock", "fail");
    g_autofree char *misbehave = get_string(kf, "mock", "misbehave");
    g_autoptr(GError) local = NULL;

    if (!check_keys(kf, conf->path, "mock", mock_keys, FALSE, error)) {
        return FALSE;
    }
    if (*interface != '\0' && strcmp(interface, "3.2") != 0 && strcmp(interface, "3.0") != 0 &&
        strcmp(interface, "2.40") != 0) {
        return set_error(error, conf->path, "mock", "interface", "expected 3.2, 3.0 or 2.40",
                         interface);
    }
    conf->v3 = strcmp(interface, "2.40") != 0;
    conf->v32 = strcmp(interface, "3.2") == 0;
    if (g_key_file_has_key(kf, "mock", "manufacturer", NULL)) {
        g_free(conf->manufacturer);
        conf->manufacturer = get_string(kf, "mock", "manufacturer");
    }
    if (g_key_file_has_key(kf, "mock", "description", NULL)) {
        g_free(conf->description);
        conf->description = get_string(kf, "mock", "description");
    }
    if (!mock_conf_parse_fail_rules(fail, conf->fail_rules, &local)) {
        return set_error(error, conf->path, "mock", "fail", local->message, NULL);
    }
    if (!mock_conf_parse_misbehaviours(misbehave, conf->misbehaviours, &local)) {
        return set_error(error, conf->path, "mock", "misbehave", local->message, NULL);
    }
    return parse_null_functions(kf, conf, error);
}

/* ------------------------------------------------------------ [slot N] */

static gboolean
parse_flags(const char *text, CK_FLAGS *flags)
{
    g_auto(GStrv) names = g_strsplit(text, "|", -1);
    guint i;

    *flags = 0;
    for (i = 0; names[i] != NULL; i++) {
        CK_ULONG bit;

        if (!lookup_constant(mechanism_flags, G_N_ELEMENTS(mechanism_flags), names[i], &bit) &&
            !parse_ulong(names[i], &bit)) {
            return FALSE;
        }
        *flags |= bit;
    }
    return TRUE;
}

/* NAME[:MIN:MAX[:FLAGS]]; without MIN:MAX the built-in info or zeros. */
static gboolean
parse_mechanism(const char *item, MockMechanism *mech)
{
    g_auto(GStrv) parts = g_strsplit(item, ":", 4);
    guint n = g_strv_length(parts);

    if (!mock_constant_value("CKM_", parts[0], &mech->type) || n == 2) {
        return FALSE;
    }
    if (!mock_mechanism_builtin(mech->type, &mech->info)) {
        memset(&mech->info, 0, sizeof mech->info);
    }
    if (n >= 3 && (!parse_ulong(parts[1], &mech->info.ulMinKeySize) ||
                   !parse_ulong(parts[2], &mech->info.ulMaxKeySize))) {
        return FALSE;
    }
    return n < 4 || parse_flags(parts[3], &mech->info.flags);
}

static gboolean
parse_mechanisms(GKeyFile *kf, const char *path, const char *group, MockSlot *slot, GError **error)
{
    g_autofree char *text = get_string(kf, group, "mechanisms");
    g_auto(GStrv) items = g_strsplit_set(text, " \t", -1);
    g_autoptr(GArray) mechanisms = g_array_new(FALSE, TRUE, sizeof(MockMechanism));
    guint i;

    if (!g_key_file_has_key(kf, group, "mechanisms", NULL)) {
        return TRUE;
    }
    for (i = 0; items[i] != NULL; i++) {
        MockMechanism mech;

        if (*items[i] == '\0') {
            continue;
        }
        if (!parse_mechanism(items[i], &mech)) {
            return set_error(error, path, group, "mechanisms",
                             "expected NAME[:MIN:MAX[:CKF_X|CKF_Y]]", items[i]);
        }
        g_array_append_val(mechanisms, mech);
    }
    mock_slot_set_mechanisms(slot, g_steal_pointer(&mechanisms));
    return TRUE;
}

/* Replace *field by the key's value; an empty value gives NULL. */
static void
take_string(GKeyFile *kf, const char *group, const char *key, char **field, gboolean empty_is_null)
{
    if (!g_key_file_has_key(kf, group, key, NULL)) {
        return;
    }
    g_free(*field);
    *field = get_string(kf, group, key);
    if (empty_is_null && **field == '\0') {
        g_clear_pointer(field, g_free);
    }
}

static gboolean
parse_slot_flags(GKeyFile *kf, const char *group, MockSlot *slot, GError **error)
{
    return get_boolean(kf, group, "removable", &slot->removable, error) &&
           get_boolean(kf, group, "token-present", &slot->token_present, error) &&
           get_boolean(kf, group, "token-initialized", &slot->token_initialized, error) &&
           get_boolean(kf, group, "async-sessions", &slot->async_sessions, error);
}

static MockSlot *
parse_slot(GKeyFile *kf, const char *path, const char *group, CK_SLOT_ID id, GError **error)
{
    g_autoptr(MockSlot) slot = mock_slot_new(id, NULL);

    if (!check_keys(kf, path, group, slot_keys, FALSE, error)) {
        return NULL;
    }
    take_string(kf, group, "description", &slot->description, FALSE);
    take_string(kf, group, "token-label", &slot->label, FALSE);
    take_string(kf, group, "token-serial", &slot->serial, FALSE);
    take_string(kf, group, "token-model", &slot->model, FALSE);
    take_string(kf, group, "pin", &slot->pin, TRUE);
    take_string(kf, group, "so-pin", &slot->so_pin, TRUE);
    if (!parse_slot_flags(kf, group, slot, error)) {
        g_prefix_error(error, "%s: [%s] ", path != NULL ? path : "(built-in)", group);
        return NULL;
    }
    if (!parse_mechanisms(kf, path, group, slot, error)) {
        return NULL;
    }
    return g_steal_pointer(&slot);
}

static gboolean
slot_known(const MockConf *conf, CK_SLOT_ID id)
{
    guint i;

    for (i = 0; i < conf->slots->len; i++) {
        if (((MockSlot *)g_ptr_array_index(conf->slots, i))->id == id) {
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean
parse_slot_group(GKeyFile *kf, MockConf *conf, const char *group, GError **error)
{
    CK_ULONG id;
    MockSlot *slot;

    if (!parse_ulong(group + strlen("slot "), &id) || slot_known(conf, id)) {
        return set_error(error, conf->path, group, "slot", "bad or repeated slot id", NULL);
    }
    slot = parse_slot(kf, conf->path, group, id, error);
    if (slot == NULL) {
        return FALSE;
    }
    g_ptr_array_add(conf->slots, slot);
    return TRUE;
}

/* -------------------------------------------------------- [object NAME] */

static gboolean
parse_object_constant(GKeyFile *kf, const char *path, const char *group, const char *key,
                      const char *prefix, CK_ATTRIBUTE_TYPE type, MockObject *object,
                      GError **error)
{
    g_autofree char *text = get_string(kf, group, key);
    CK_ULONG number;

    if (!g_key_file_has_key(kf, group, key, NULL)) {
        return TRUE;
    }
    if (!mock_constant_value(prefix, text, &number)) {
        return set_error(error, path, group, key, "unknown constant", text);
    }
    mock_object_set_ulong(object, type, number);
    return TRUE;
}

static gboolean
parse_object_hex(GKeyFile *kf, const char *path, const char *group, const char *key,
                 CK_ATTRIBUTE_TYPE type, MockObject *object, GError **error)
{
    g_autofree char *text = get_string(kf, group, key);
    g_autoptr(GBytes) bytes = NULL;

    if (!g_key_file_has_key(kf, group, key, NULL)) {
        return TRUE;
    }
    bytes = parse_hex(text);
    if (bytes == NULL) {
        return set_error(error, path, group, key, "expected hex", text);
    }
    mock_object_set(object, type, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
    return TRUE;
}

static gboolean
parse_object_text(GKeyFile *kf, const char *group, const char *key, CK_ATTRIBUTE_TYPE type,
                  MockObject *object)
{
    g_autofree char *text = get_string(kf, group, key);

    if (g_key_file_has_key(kf, group, key, NULL)) {
        mock_object_set(object, type, text, strlen(text));
    }
    return TRUE;
}

static gboolean
parse_object_booleans(GKeyFile *kf, const char *path, const char *group, MockObject *object,
                      GError **error)
{
    gsize i;

    for (i = 0; i < G_N_ELEMENTS(object_booleans); i++) {
        gboolean on;

        if (!g_key_file_has_key(kf, group, object_booleans[i].name, NULL)) {
            continue;
        }
        if (!get_boolean(kf, group, object_booleans[i].name, &on, error)) {
            g_prefix_error(error, "%s: [%s] ", path != NULL ? path : "(built-in)", group);
            return FALSE;
        }
        mock_object_set_bool(object, object_booleans[i].number, on);
    }
    return TRUE;
}

static gboolean
parse_object_raw(GKeyFile *kf, const char *path, const char *group, MockObject *object,
                 GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);
    guint i;

    for (i = 0; keys != NULL && keys[i] != NULL; i++) {
        CK_ULONG type;

        if (!g_str_has_prefix(keys[i], "CKA_")) {
            continue;
        }
        if (!mock_constant_value("CKA_", keys[i], &type)) {
            return set_error(error, path, group, keys[i], "unknown attribute", NULL);
        }
        if (!parse_object_hex(kf, path, group, keys[i], type, object, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean
parse_object_slot(GKeyFile *kf, const MockConf *conf, const char *group, MockObject *object,
                  GError **error)
{
    g_autofree char *text = get_string(kf, group, "slot");

    if (!parse_ulong(text, &object->slotID) || !slot_known(conf, object->slotID)) {
        return set_error(error, conf->path, group, "slot", "no such slot", text);
    }
    if (!g_key_file_has_key(kf, group, "class", NULL)) {
        return set_error(error, conf->path, group, "class", "required", NULL);
    }
    return TRUE;
}

static gboolean
parse_object_group(GKeyFile *kf, MockConf *conf, const char *group, GError **error)
{
    g_autoptr(MockObject) object = mock_object_new(0);
    const char *path = conf->path;

    mock_object_set_bool(object, CKA_TOKEN, TRUE);
    if (!check_keys(kf, path, group, object_keys, TRUE, error) ||
        !parse_object_slot(kf, conf, group, object, error) ||
        !parse_object_constant(kf, path, group, "class", "CKO_", CKA_CLASS, object, error) ||
        !parse_object_constant(kf, path, group, "key-type", "CKK_", CKA_KEY_TYPE, object, error) ||
        !parse_object_text(kf, group, "label", CKA_LABEL, object) ||
        !parse_object_hex(kf, path, group, "id", CKA_ID, object, error) ||
        !parse_object_hex(kf, path, group, "value", CKA_VALUE, object, error) ||
        !parse_object_text(kf, group, "value-text", CKA_VALUE, object) ||
        !parse_object_booleans(kf, path, group, object, error) ||
        !parse_object_raw(kf, path, group, object, error)) {
        return FALSE;
    }
    mock_object_complete(object);
    g_ptr_array_add(conf->objects, g_steal_pointer(&object));
    return TRUE;
}

/* --------------------------------------------------------------- whole */

static MockConf *
conf_new(const char *path)
{
    MockConf *conf = g_new0(MockConf, 1);

    conf->path = g_strdup(path);
    conf->v3 = TRUE;
    conf->manufacturer = g_strdup("Mock project");
    conf->description = g_strdup("p11mux mock backend");
    conf->fail_rules = g_ptr_array_new_with_free_func(g_free);
    conf->misbehaviours = g_array_new(FALSE, FALSE, sizeof(MockMisbehaviour));
    conf->null_functions = g_array_new(FALSE, FALSE, sizeof(MockFunctionId));
    conf->slots = g_ptr_array_new_with_free_func((GDestroyNotify)mock_slot_free);
    conf->objects = g_ptr_array_new_with_free_func((GDestroyNotify)mock_object_free);
    return conf;
}

void
mock_conf_free(MockConf *conf)
{
    if (conf == NULL) {
        return;
    }
    g_free(conf->path);
    g_free(conf->manufacturer);
    g_free(conf->description);
    g_clear_pointer(&conf->fail_rules, g_ptr_array_unref);
    g_clear_pointer(&conf->misbehaviours, g_array_unref);
    g_clear_pointer(&conf->null_functions, g_array_unref);
    g_clear_pointer(&conf->slots, g_ptr_array_unref);
    g_clear_pointer(&conf->objects, g_ptr_array_unref);
    g_free(conf);
}

/* Slots first, so that objects can name them whatever the group order. */
static gboolean
parse_groups(GKeyFile *kf, MockConf *conf, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
    guint i;

    for (i = 0; groups[i] != NULL; i++) {
        if (strcmp(groups[i], "mock") == 0) {
            if (!parse_mock_group(kf, conf, error)) {
                return FALSE;
            }
        } else if (g_str_has_prefix(groups[i], "slot ")) {
            if (!parse_slot_group(kf, conf, groups[i], error)) {
                return FALSE;
            }
        } else if (!g_str_has_prefix(groups[i], "object ")) {
            return set_error(error, conf->path, groups[i], "", "unknown group", NULL);
        }
    }
    for (i = 0; groups[i] != NULL; i++) {
        if (g_str_has_prefix(groups[i], "object ") &&
            !parse_object_group(kf, conf, groups[i], error)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* transfer full, nullable on error; path NULL: the built-in configuration. */
MockConf *
mock_conf_load(const char *path, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(MockConf) conf = conf_new(path);
    g_autoptr(GError) local = NULL;
    gboolean loaded;

    if (path != NULL) {
        loaded = g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &local);
    } else {
        loaded = g_key_file_load_from_data(kf, builtin_config, -1, G_KEY_FILE_NONE, &local);
    }
    if (!loaded) {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE, "%s: %s",
                    path != NULL ? path : "(built-in)", local->message);
        return NULL;
    }
    if (!parse_groups(kf, conf, error)) {
        return NULL;
    }
    return g_steal_pointer(&conf);
}
