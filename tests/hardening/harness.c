/*
 * p11mux.so over two mock backends (harness.h).
 */
#include "config.h"

#include "harness.h"

#include <dlfcn.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#ifndef P11MUX_TEST_TOP_BUILDDIR
#define P11MUX_TEST_TOP_BUILDDIR "."
#endif

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

const char *
harness_top_builddir(void)
{
    const char *dir = g_getenv("top_builddir");

    return dir != NULL && *dir != '\0' ? dir : P11MUX_TEST_TOP_BUILDDIR;
}

char *
harness_path(const Harness *harness, const char *name)
{
    return g_build_filename(harness->dir, name, NULL);
}

static gboolean
write_file(const Harness *harness, const char *name, const char *text)
{
    g_autofree char *path = harness_path(harness, name);
    g_autoptr(GError) error = NULL;

    if (!g_file_set_contents(path, text, -1, &error)) {
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

/* Copy the mock to NAME.so with NAME.conf beside it, and open that instance. */
static gboolean
make_mock(Harness *harness, HarnessMock *mock, const char *name, const char *conf)
{
    g_autofree char *src = g_build_filename(harness_top_builddir(), "tests", "mock", ".libs",
                                            "libp11mux-mock.so", NULL);
    g_autofree char *so_name = g_strdup_printf("%s.so", name);
    g_autofree char *conf_name = g_strdup_printf("%s.conf", name);
    g_autofree char *contents = NULL;
    g_autoptr(GError) error = NULL;
    gboolean ok = TRUE;
    gsize length;

    mock->path = harness_path(harness, so_name);
    if (!g_file_get_contents(src, &contents, &length, &error) ||
        !g_file_set_contents(mock->path, contents, (gssize)length, &error)) {
        fprintf(stderr, "harness: %s\n", error->message);
        return FALSE;
    }
    if (!write_file(harness, conf_name, conf)) {
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

static char *
mock_conf(const char *interface, const char *extra, const char *slots, const char *const *key_slots)
{
    GString *text = g_string_new("[mock]\n");

    g_string_append_printf(text, "interface = %s\n%s", interface, extra != NULL ? extra : "");
    g_string_append(text, slots);
    for (guint i = 0; key_slots[i] != NULL; i++) {
        g_string_append_printf(text, key_format, key_slots[i], key_slots[i]);
    }
    return g_string_free(text, FALSE);
}

static gboolean
open_p11mux(Harness *harness)
{
    g_autofree char *module =
        g_build_filename(harness_top_builddir(), "modules", ".libs", "p11mux.so", NULL);
    CK_C_GetFunctionList get_function_list;
    CK_C_GetInterface get_interface;
    CK_INTERFACE_PTR interface = NULL;
    gboolean ok = TRUE;

    harness->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    if (harness->dl == NULL) {
        fprintf(stderr, "harness: %s\n", dlerror());
        return FALSE;
    }
    get_function_list = need_symbol(harness->dl, "C_GetFunctionList", &ok);
    get_interface = need_symbol(harness->dl, "C_GetInterface", &ok);
    if (!ok || get_function_list(&harness->p11) != CKR_OK ||
        get_interface((CK_UTF8CHAR_PTR) "PKCS 11", NULL, &interface, 0) != CKR_OK) {
        fprintf(stderr, "harness: no function list from %s\n", module);
        return FALSE;
    }
    harness->p11_3 = interface->pFunctionList;
    return TRUE;
}

Harness *
harness_new(const HarnessOptions *options)
{
    static const HarnessOptions none = {NULL, NULL, NULL};
    static const char *const a_keys[] = {"1", "2", NULL};
    static const char *const b_keys[] = {"7", NULL};
    Harness *harness = g_new0(Harness, 1);
    g_autofree char *a_conf = NULL;
    g_autofree char *b_conf = NULL;
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;

    options = options != NULL ? options : &none;
    harness->dir = g_dir_make_tmp("p11mux-hardening-XXXXXX", &error);
    if (harness->dir == NULL) {
        fprintf(stderr, "harness: %s\n", error->message);
        g_free(harness);
        return NULL;
    }
    a_conf = mock_conf("3.0", options->mock_a, mock_slots_a, a_keys);
    b_conf = mock_conf("2.40", options->mock_b, mock_slots_b, b_keys);
    if (!make_mock(harness, &harness->a, "mock-a", a_conf) ||
        !make_mock(harness, &harness->b, "mock-b", b_conf)) {
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

static void
remove_tree(const char *dir)
{
    GDir *stream = g_dir_open(dir, 0, NULL);
    const char *name;

    if (stream == NULL) {
        return;
    }
    while ((name = g_dir_read_name(stream)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
            remove_tree(path);
        } else {
            g_unlink(path);
        }
    }
    g_dir_close(stream);
    g_rmdir(dir);
}

void
harness_free(Harness *harness)
{
    if (harness == NULL) {
        return;
    }
    if (harness->dir != NULL) {
        remove_tree(harness->dir);
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
