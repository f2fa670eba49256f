/*
 * The trace end to end: p11mux.so over a copy of the mock backend, trace on
 * in the configuration.  A session logs in with a distinctive PIN, creates an
 * AES key with a known value and reads the value back; the trace must name
 * every call, its route and its mechanisms, and hold neither secret.
 */
#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "check-helpers.h"
#include "cli/trace-read.h"
#include "p11mux-pkcs11.h"
#include "scratch.h"

#define PIN "Xq7-p1n-3141"

static const guchar key_value[16] = {0x4b, 0x33, 0x79, 0x21, 0x9d, 0x51, 0x0e, 0xc7,
                                     0x62, 0xa8, 0x13, 0xf0, 0x5c, 0xe4, 0x27, 0xb9};

static char *tmpdir;
static void *p11mux_dl;
static CK_FUNCTION_LIST_PTR p11;

static const char *mock_conf = "[mock]\n"
                               "interface = 3.0\n"
                               "[slot 7]\n"
                               "token-label = traced\n"
                               "pin = " PIN "\n";

static char *
path_in_tmp(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void
setup(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *so = NULL;
    CK_C_GetFunctionList get_function_list;

    tmpdir = g_dir_make_tmp("p11mux-test-trace-module-XXXXXX", NULL);
    so = scratch_copy_mock(tmpdir, "mock-t", mock_conf, &error);
    ck_assert_msg(so != NULL, "cannot copy the mock: %s", error->message);
    g_setenv("XDG_CONFIG_HOME", tmpdir, TRUE);
    p11mux_dl = scratch_open_p11mux(&error);
    ck_assert_msg(p11mux_dl != NULL, "%s", error != NULL ? error->message : "");
    get_function_list = (CK_C_GetFunctionList)dlsym(p11mux_dl, "C_GetFunctionList");
    ck_assert_rv_ok(get_function_list(&p11));
}

static void
teardown(void)
{
    scratch_remove_tree(tmpdir);
    g_clear_pointer(&tmpdir, g_free);
}

/* Extra [global] lines for the next configure(). */
static const char *extra_global = "";

/* Writes the p11mux configuration and returns the trace file's path. */
static char *
configure(const char *format, const char *data)
{
    g_autofree char *conf = path_in_tmp("p11mux.conf");
    g_autofree char *so = path_in_tmp("mock-t.so");
    char *trace = path_in_tmp(format);
    g_autofree char *text = g_strdup_printf("[global]\n"
                                            "user-config = none\n"
                                            "trace = file:%s\n"
                                            "trace-format = %s\n"
                                            "trace-data = %s\n"
                                            "%s"
                                            "[backend mock-t]\n"
                                            "module = %s\n",
                                            trace, format, data, extra_global, so);

    ck_assert(g_file_set_contents(conf, text, -1, NULL));
    g_setenv("P11MUX_CONF", conf, TRUE);
    return trace;
}

/* The session of a run: log in, create an AES key, read its value back. */
static void
run_calls(void)
{
    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &klass, sizeof(klass)},
        {CKA_KEY_TYPE, &type, sizeof(type)},
        {CKA_TOKEN, &no, sizeof(no)},
        {CKA_SENSITIVE, &no, sizeof(no)},
        {CKA_EXTRACTABLE, &yes, sizeof(yes)},
        {CKA_LABEL, "traced-aes", 10},
        {CKA_VALUE, (void *)key_value, sizeof(key_value)},
    };
    guchar read_back[sizeof(key_value)];
    CK_ATTRIBUTE get[] = {{CKA_VALUE, read_back, sizeof(read_back)}};
    CK_MECHANISM digest = {CKM_SHA256, NULL, 0};
    CK_SLOT_ID slots[4];
    CK_ULONG count = G_N_ELEMENTS(slots);
    CK_SESSION_HANDLE session;
    CK_OBJECT_HANDLE key;

    ck_assert_rv_ok(p11->C_Initialize(NULL));
    ck_assert_rv_ok(p11->C_GetSlotList(CK_TRUE, slots, &count));
    ck_assert_uint_eq(count, 1);
    ck_assert_rv_ok(
        p11->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session));
    ck_assert_rv_ok(p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)));
    ck_assert_rv_ok(p11->C_CreateObject(session, tmpl, G_N_ELEMENTS(tmpl), &key));
    ck_assert_rv_ok(p11->C_GetAttributeValue(session, key, get, 1));
    ck_assert_int_eq(memcmp(read_back, key_value, sizeof(key_value)), 0);
    ck_assert_rv_ok(p11->C_DigestInit(session, &digest));
    ck_assert_rv(p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)),
                 CKR_USER_ALREADY_LOGGED_IN);
    ck_assert_rv(p11->C_CloseSession(session + 1), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv_ok(p11->C_CloseSession(session));
    ck_assert_rv_ok(p11->C_Finalize(NULL));
}

static char *
hex(const guchar *data, gsize n, gboolean upper)
{
    GString *out = g_string_new(NULL);
    gsize i;

    for (i = 0; i < n; i++) {
        g_string_append_printf(out, upper ? "%02X" : "%02x", data[i]);
    }
    return g_string_free(out, FALSE);
}

static void
assert_secret_absent(const char *text, gsize length, const guchar *secret, gsize n)
{
    g_autofree char *lower = hex(secret, n, FALSE);
    g_autofree char *upper = hex(secret, n, TRUE);
    g_autofree char *b64 = g_base64_encode(secret, n);

    ck_assert_msg(memmem(text, length, secret, n) == NULL, "raw secret in the trace");
    ck_assert_msg(strstr(text, lower) == NULL, "hex secret in the trace");
    ck_assert_msg(strstr(text, upper) == NULL, "HEX secret in the trace");
    b64[n / 3 * 4 - 4] = '\0'; /* the part that does not depend on padding */
    ck_assert_msg(strstr(text, b64) == NULL, "base64 secret in the trace");
}

static void
assert_contains(const char *text, const char *needle)
{
    ck_assert_msg(strstr(text, needle) != NULL, "'%s' not in:\n%s", needle, text);
}

START_TEST(test_trace_module_json_names_calls_and_hides_secrets)
{
    g_autofree char *path = configure("json", "hex");
    g_autofree char *contents = NULL;
    g_auto(GStrv) lines = NULL;
    gsize length;
    guint i;

    run_calls();
    ck_assert(g_file_get_contents(path, &contents, &length, NULL));
    assert_secret_absent(contents, length, (const guchar *)PIN, strlen(PIN));
    assert_secret_absent(contents, length, key_value, sizeof(key_value));
    lines = g_strsplit(contents, "\n", -1);
    /* the backend's outcome in C_Initialize, then a record per call */
    ck_assert_uint_eq(g_strv_length(lines), 13);
    for (i = 0; lines[i + 1] != NULL; i++) {
        g_autoptr(GError) error = NULL;

        ck_assert_msg(p11mux_trace_json_line_is_object(lines[i], strlen(lines[i]), &error),
                      "line %u: %s", i + 1, error->message);
    }
    assert_contains(lines[0], "\"event\":\"backend\",\"function\":\"C_Initialize\","
                              "\"backend\":\"mock-t\",\"outcome\":\"loaded\"");
    assert_contains(lines[1], "\"function\":\"C_Initialize\",\"rv\":\"CKR_OK\"");
    assert_contains(lines[2], "\"function\":\"C_GetSlotList\"");
    assert_contains(lines[3], "\"function\":\"C_OpenSession\"");
    assert_contains(lines[3], "\"backend\":\"mock-t\",\"slot\":");
    assert_contains(lines[3], ",\"backend_slot\":7,\"session\":");
    assert_contains(lines[4], "\"function\":\"C_Login\"");
    assert_contains(lines[4], "\"pPin\":{\"len\":12,\"redacted\":true}");
    assert_contains(lines[5], "\"function\":\"C_CreateObject\"");
    assert_contains(lines[5], "{\"type\":\"CKA_VALUE\",\"len\":16,\"redacted\":true}");
    assert_contains(lines[5], "{\"type\":\"CKA_LABEL\",\"len\":10,\"value\":\"traced-aes\"}");
    assert_contains(lines[6], "\"function\":\"C_GetAttributeValue\"");
    assert_contains(lines[6], "{\"type\":\"CKA_VALUE\",\"len\":16,\"redacted\":true}");
    assert_contains(lines[7], "\"pMechanism\":{\"mechanism\":\"CKM_SHA256\",\"param_len\":0}");
    assert_contains(lines[8], "\"rv\":\"CKR_USER_ALREADY_LOGGED_IN\"");
    assert_contains(lines[9],
                    "\"function\":\"C_CloseSession\",\"rv\":\"CKR_SESSION_HANDLE_INVALID\"");
    assert_contains(lines[11], "\"function\":\"C_Finalize\"");
}
END_TEST

/* The trace of run_calls() in format with the extra [global] lines, which
 * holds neither the PIN nor the key's value (transfer full). */
static char *
run_traced(const char *format, const char *extra)
{
    g_autofree char *path = NULL;
    char *contents = NULL;
    gsize length;

    extra_global = extra;
    path = configure(format, "hex");
    run_calls();
    extra_global = "";
    ck_assert(g_file_get_contents(path, &contents, &length, NULL));
    assert_secret_absent(contents, length, (const guchar *)PIN, strlen(PIN));
    assert_secret_absent(contents, length, key_value, sizeof(key_value));
    return contents;
}

/* One string per record: a JSON line, or a text record's header line with
 * the indented lines that follow it (each with its newline). */
static GStrv
records_of(const char *contents)
{
    g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
    g_autoptr(GPtrArray) records = g_ptr_array_new();
    GString *record = NULL;
    guint i;

    for (i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
        if (lines[i][0] != ' ' && record != NULL) {
            g_ptr_array_add(records, g_string_free(record, FALSE));
            record = NULL;
        }
        if (record == NULL) {
            record = g_string_new(NULL);
        }
        g_string_append_printf(record, "%s\n", lines[i]);
    }
    if (record != NULL) {
        g_ptr_array_add(records, g_string_free(record, FALSE));
    }
    g_ptr_array_add(records, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&records), FALSE);
}

/* What a policy reads from a backend it asks p11mux's pipeline for: the
 * trace records those sub-calls as p11mux's own, beside the application's,
 * and they show no secret either. */
START_TEST(test_trace_module_policy_reads_are_p11mux_own_calls)
{
    const char *formats[] = {"json", "text"};
    const char *marks[] = {"\"by\":\"p11mux\"", "  by: p11mux (for the policy)\n"};
    g_autofree char *contents = run_traced(formats[_i],
                                           "policy = objects\n"
                                           "[policy objects]\n"
                                           "deny-objects = pkcs11:object=hidden\n");
    g_auto(GStrv) lines = records_of(contents);
    guint i, own = 0, own_reads = 0, app_reads = 0, token_reads = 0;

    for (i = 0; lines[i] != NULL; i++) {
        gboolean by_p11mux = strstr(lines[i], marks[_i]) != NULL;
        gboolean reads = strstr(lines[i], "C_GetAttributeValue") != NULL;

        own += by_p11mux;
        own_reads += by_p11mux && reads;
        app_reads += !by_p11mux && reads;
        /* where the objects live: the token, once */
        token_reads += by_p11mux && (strstr(lines[i], "C_GetSlotInfo") != NULL ||
                                     strstr(lines[i], "C_GetTokenInfo") != NULL);
    }
    /* the key created is read back and judged (C_CreateObject's after
     * seam); the application's own read stays one record */
    ck_assert_uint_ge(own_reads, 1);
    ck_assert_uint_eq(token_reads, 2);
    ck_assert_uint_eq(own, own_reads + token_reads);
    ck_assert_uint_eq(app_reads, 1);
}
END_TEST

/* trace-entry: the records of calls entering p11mux hold no secret either */
START_TEST(test_trace_module_entry_records_hide_secrets)
{
    const char *formats[] = {"json", "text"};
    g_autofree char *contents = run_traced(formats[_i], "trace-entry = true\n");

    if (_i == 0) {
        assert_contains(contents, "\"function\":\"C_Login\",\"event\":\"enter\",\"backend\":"
                                  "\"mock-t\"");
        assert_contains(contents, "\"pPin\":{\"len\":12,\"redacted\":true}");
        assert_contains(contents, "\"function\":\"C_CreateObject\",\"event\":\"enter\"");
    } else {
        assert_contains(contents, " C_Login entering\n  backend: mock-t slot 0x");
        assert_contains(contents, "\n  pPin: <redacted, 12 bytes>\n");
    }
    assert_contains(contents, "CKA_VALUE");
}
END_TEST

START_TEST(test_trace_module_text_hides_secrets)
{
    g_autofree char *contents = run_traced("text", "");

    assert_contains(contents, " C_Login -> CKR_OK (");
    assert_contains(contents, "\n  pPin: <redacted, 12 bytes>\n");
    assert_contains(contents, "\n    CKA_VALUE = <redacted, 16 bytes>\n");
    assert_contains(contents, "\n  backend: mock-t slot 0x");
}
END_TEST

#define THREAD_CALLS 400

static gpointer
call_in_thread(gpointer data)
{
    CK_SLOT_ID slot = GPOINTER_TO_SIZE(data);
    CK_SESSION_HANDLE session;
    CK_SESSION_INFO info;
    CK_TOKEN_INFO token;
    guint i;

    ck_assert_rv_ok(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session));
    for (i = 0; i < THREAD_CALLS; i++) {
        ck_assert_rv_ok(p11->C_GetSessionInfo(session, &info));
        ck_assert_rv_ok(p11->C_GetTokenInfo(slot, &token));
    }
    ck_assert_rv_ok(p11->C_CloseSession(session));
    return NULL;
}

typedef struct {
    GHashTable *tids;
} TidCount;

/* The thread id of a JSON trace line into count (JSON-GLib). */
static gboolean
count_tid(const char *line, TidCount *count, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    JsonNode *root;

    if (!json_parser_load_from_data(parser, line, -1, error)) {
        return FALSE;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE, "not a JSON object");
        return FALSE;
    }
    g_hash_table_add(count->tids,
                     g_strdup_printf("%" G_GINT64_FORMAT, json_object_get_int_member(
                                                              json_node_get_object(root), "tid")));
    return TRUE;
}

/* Two application threads calling through p11mux: every line whole. */
START_TEST(test_trace_module_threads_write_whole_lines)
{
    g_autofree char *path = configure("json", "hex");
    g_autofree char *contents = NULL;
    g_auto(GStrv) lines = NULL;
    TidCount count = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    CK_SLOT_ID slot;
    CK_ULONG n = 1;
    GThread *a, *b;
    guint i;

    ck_assert_rv_ok(p11->C_Initialize(NULL));
    ck_assert_rv_ok(p11->C_GetSlotList(CK_TRUE, &slot, &n));
    a = g_thread_new("a", call_in_thread, GSIZE_TO_POINTER(slot));
    b = g_thread_new("b", call_in_thread, GSIZE_TO_POINTER(slot));
    g_thread_join(a);
    g_thread_join(b);
    ck_assert_rv_ok(p11->C_Finalize(NULL));
    ck_assert(g_file_get_contents(path, &contents, NULL, NULL));
    lines = g_strsplit(contents, "\n", -1);
    /* the backend's outcome, C_Initialize, C_GetSlotList, 2 x (open, 2 x
     * THREAD_CALLS, close), C_Finalize */
    ck_assert_uint_eq(g_strv_length(lines), 1 + 3 + 2 * (2 + 2 * THREAD_CALLS) + 1);
    for (i = 0; lines[i + 1] != NULL; i++) {
        g_autoptr(GError) error = NULL;

        ck_assert_msg(count_tid(lines[i], &count, &error), "line %u: %s", i + 1, error->message);
    }
    ck_assert_uint_eq(g_hash_table_size(count.tids), 3);
    g_hash_table_unref(count.tids);
}
END_TEST

/* A trace file that cannot be opened fails C_Initialize, naming the line. */
START_TEST(test_trace_module_unwritable_trace_fails_initialize)
{
    g_autofree char *conf = path_in_tmp("p11mux.conf");
    g_autofree char *so = path_in_tmp("mock-t.so");
    g_autofree char *text = g_strdup_printf("[global]\nuser-config = none\n"
                                            "trace = file:/nonexistent-p11mux-dir/trace\n"
                                            "[backend mock-t]\nmodule = %s\n",
                                            so);

    ck_assert(g_file_set_contents(conf, text, -1, NULL));
    g_setenv("P11MUX_CONF", conf, TRUE);
    ck_assert_rv(p11->C_Initialize(NULL), CKR_GENERAL_ERROR);
}
END_TEST

static Suite *
trace_module_suite(void)
{
    Suite *s = suite_create("trace-module");
    TCase *tc = tcase_create("module");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_trace_module_json_names_calls_and_hides_secrets);
    tcase_add_test(tc, test_trace_module_text_hides_secrets);
    tcase_add_loop_test(tc, test_trace_module_policy_reads_are_p11mux_own_calls, 0, 2);
    tcase_add_loop_test(tc, test_trace_module_entry_records_hide_secrets, 0, 2);
    tcase_add_test(tc, test_trace_module_unwritable_trace_fails_initialize);
    tcase_add_test(tc, test_trace_module_threads_write_whole_lines);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *runner = srunner_create(trace_module_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
