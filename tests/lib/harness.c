/*
 * p11mux.so over two mock backends (harness.h).
 */
#include "config.h"

#include "harness.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "scratch.h"

static const char mock_slots_a[] = "[slot 1]\n"
                                   "token-label = a-one\n"
                                   "pin = 1234\n"
                                   "[slot 2]\n"
                                   "token-label = a-two\n"
                                   "pin = 1234\n";

static const char mock_slots_b[] = "[slot 7]\n"
                                   "token-label = b-seven\n"
                                   "pin = 1234\n";

/* a public HMAC (and XOR cipher) key on a slot */
static const char key_format[] = "[object hmac-%s]\n"
                                 "slot = %s\n"
                                 "class = CKO_SECRET_KEY\n"
                                 "key-type = CKK_GENERIC_SECRET\n"
                                 "label = hmac\n"
                                 "id = 01\n"
                                 "value = 00112233445566778899aabbccddeeff\n"
                                 "private = false\n"
                                 "sensitive = false\n"
                                 "sign = true\n"
                                 "verify = true\n"
                                 "encrypt = true\n"
                                 "decrypt = true\n";

char *
harness_path(const Harness *harness, const char *name)
{
    return g_build_filename(harness->dir, name, NULL);
}

static gboolean
write_file(const Harness *harness, const char *name, const char *text)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = scratch_write(harness->dir, name, text, -1, 0700, -1, &error);

    if (path == NULL) {
        fprintf(stderr, "harness: %s\n", error->message);
        return FALSE;
    }
    return TRUE;
}

static gpointer
need_symbol(void *dl, const char *name, gboolean *ok)
{
    gpointer symbol = dlsym(dl, name);

    if (symbol == NULL) {
        fprintf(stderr, "harness: no %s\n", name);
        *ok = FALSE;
    }
    return symbol;
}

gboolean
harness_mock_open(HarnessMock *mock, const char *dir, const char *name, const char *conf)
{
    g_autoptr(GError) error = NULL;
    gboolean ok = TRUE;

    mock->path = scratch_copy_mock(dir, name, conf, &error);
    if (mock->path == NULL) {
        fprintf(stderr, "harness: %s\n", error->message);
        return FALSE;
    }
    mock->dl = dlopen(mock->path, RTLD_NOW | RTLD_LOCAL);
    if (mock->dl == NULL) {
        fprintf(stderr, "harness: %s\n", dlerror());
        return FALSE;
    }
    mock->insert_token = need_symbol(mock->dl, "mock_control_insert_token", &ok);
    mock->remove_token = need_symbol(mock->dl, "mock_control_remove_token", &ok);
    mock->add_slot = need_symbol(mock->dl, "mock_control_add_slot", &ok);
    mock->call_count = need_symbol(mock->dl, "mock_control_call_count", &ok);
    mock->open_sessions = need_symbol(mock->dl, "mock_control_open_sessions", &ok);
    mock->set_failures = need_symbol(mock->dl, "mock_control_set_failures", &ok);
    return ok;
}

char *
harness_mock_conf(char which, const char *extra)
{
    static const char *const a_keys[] = {"1", "2", NULL};
    static const char *const b_keys[] = {"7", NULL};
    const char *const *key_slots = which == 'a' ? a_keys : b_keys;
    GString *text = g_string_new("[mock]\n");

    g_string_append_printf(text, "interface = %s\n%s", which == 'a' ? "3.0" : "2.40",
                           extra != NULL ? extra : "");
    g_string_append(text, which == 'a' ? mock_slots_a : mock_slots_b);
    for (guint i = 0; key_slots[i] != NULL; i++) {
        g_string_append_printf(text, key_format, key_slots[i], key_slots[i]);
    }
    return g_string_free(text, FALSE);
}

static gboolean
open_p11mux(Harness *harness)
{
    CK_C_GetFunctionList get_function_list;
    CK_C_GetInterface get_interface;
    CK_INTERFACE_PTR interface = NULL;
    g_autoptr(GError) error = NULL;
    gboolean ok = TRUE;

    harness->dl = scratch_open_p11mux(&error);
    if (harness->dl == NULL) {
        fprintf(stderr, "harness: %s\n", error->message);
        return FALSE;
    }
    get_function_list = need_symbol(harness->dl, "C_GetFunctionList", &ok);
    get_interface = need_symbol(harness->dl, "C_GetInterface", &ok);
    if (!ok || get_function_list(&harness->p11) != CKR_OK ||
        get_interface((CK_UTF8CHAR_PTR) "PKCS 11", NULL, &interface, 0) != CKR_OK) {
        fprintf(stderr, "harness: no function list from p11mux.so\n");
        return FALSE;
    }
    harness->p11_3 = interface->pFunctionList;
    return TRUE;
}

Harness *
harness_new(const HarnessOptions *options)
{
    static const HarnessOptions none = {NULL, NULL, NULL};
    Harness *harness = g_new0(Harness, 1);
    g_autofree char *a_conf = NULL;
    g_autofree char *b_conf = NULL;
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;

    options = options != NULL ? options : &none;
    harness->dir = scratch_make_dir(NULL, "p11mux-hardening-XXXXXX", 0700, &error);
    if (harness->dir == NULL) {
        fprintf(stderr, "harness: %s\n", error->message);
        g_free(harness);
        return NULL;
    }
    a_conf = harness_mock_conf('a', options->mock_a);
    b_conf = harness_mock_conf('b', options->mock_b);
    if (!harness_mock_open(&harness->a, harness->dir, "mock-a", a_conf) ||
        !harness_mock_open(&harness->b, harness->dir, "mock-b", b_conf)) {
        harness_free(harness);
        return NULL;
    }
    text = g_strdup_printf("[global]\nuser-config = none\n%s"
                           "[backend a]\nmodule = %s\n[backend b]\nmodule = %s\n",
                           options->global != NULL ? options->global : "", harness->a.path,
                           harness->b.path);
    harness->conf = harness_path(harness, "p11mux.conf");
    if (!write_file(harness, "p11mux.conf", text)) {
        harness_free(harness);
        return NULL;
    }
    g_setenv("P11MUX_CONF", harness->conf, TRUE);
    g_setenv("XDG_CONFIG_HOME", harness->dir, TRUE);
    if (!open_p11mux(harness)) {
        harness_free(harness);
        return NULL;
    }
    return harness;
}

void
harness_free(Harness *harness)
{
    if (harness == NULL) {
        return;
    }
    if (harness->dir != NULL) {
        scratch_remove_tree(harness->dir);
    }
    g_free(harness->a.path);
    g_free(harness->b.path);
    g_free(harness->conf);
    g_free(harness->dir);
    g_free(harness);
}

CK_SLOT_ID
harness_slot_by_label(const Harness *harness, const char *label)
{
    CK_SLOT_ID slots[64];
    CK_ULONG count = G_N_ELEMENTS(slots);
    gsize length = strlen(label);
    CK_TOKEN_INFO info;

    if (harness->p11->C_GetSlotList(CK_TRUE, slots, &count) != CKR_OK) {
        return 0;
    }
    for (CK_ULONG i = 0; i < count; i++) {
        if (harness->p11->C_GetTokenInfo(slots[i], &info) == CKR_OK && length <= 32 &&
            memcmp(info.label, label, length) == 0 && (length == 32 || info.label[length] == ' ')) {
            return slots[i];
        }
    }
    return 0;
}
