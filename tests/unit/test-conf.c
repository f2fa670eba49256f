/*
 * Unit tests of the configuration loader (src/config/conf.c).
 *
 * Fixtures live in tests/fixtures/config/{good,bad}; every bad fixture names
 * its expected error on its first line ("# expect: LINE: message") and is
 * checked against it. Layering tests write their files into a fresh
 * g_dir_make_tmp() directory: nothing here reads /etc or the user's files.
 */
#include "config.h"

#include "conf.h"
#include "policy.h"
#include "site.h"
#include "scratch.h"

#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define assert_no_error(error) \
    ck_assert_msg((error) == NULL, "unexpected error: %s", (error) != NULL ? (error)->message : "")

static char *case_dir;
static char *tmpdir;

/* ---------------------------------------------------------------- helpers */

static const char *
top_srcdir(void)
{
    const char *dir = g_getenv("top_srcdir");

#ifdef P11MUX_TEST_TOP_SRCDIR
    if (dir == NULL) {
        dir = P11MUX_TEST_TOP_SRCDIR;
    }
#endif
    ck_assert_msg(dir != NULL, "top_srcdir is not set");
    return dir;
}

static char *
fixture_path(const char *kind, const char *name)
{
    return g_build_filename(top_srcdir(), "tests", "fixtures", "config", kind, name, NULL);
}

/* Unchecked (in the parent, so it runs even after a failed test): a
 * directory per test case, removed with everything in it. */
static void
setup_case_dir(void)
{
    g_autoptr(GError) error = NULL;

    case_dir = scratch_make_dir(NULL, "p11mux-test-conf-XXXXXX", 0700, &error);
    assert_no_error(error);
}

static void
teardown_case_dir(void)
{
    scratch_remove_tree(case_dir);
    g_clear_pointer(&case_dir, g_free);
}

/* Checked (around each test): a fresh directory inside case_dir. */
static void
setup_tmpdir(void)
{
    g_autoptr(GError) error = NULL;

    tmpdir = scratch_make_dir(case_dir, "test-XXXXXX", 0700, &error);
    assert_no_error(error);
}

static void
teardown_tmpdir(void)
{
    scratch_remove_tree(tmpdir);
    g_clear_pointer(&tmpdir, g_free);
}

/* tmpdir/name, or NULL for NULL (transfer full). */
static char *
tmp_path(const char *name)
{
    return name != NULL ? g_build_filename(tmpdir, name, NULL) : NULL;
}

/* Writes length bytes (-1: a string) to tmpdir/name, making its directory. */
static char *
write_tmp_data(const char *name, const char *text, gssize length)
{
    g_autoptr(GError) error = NULL;
    char *path = scratch_write(tmpdir, name, text, length, 0700, -1, &error);

    assert_no_error(error);
    return path;
}

static char *
write_tmp(const char *name, const char *text)
{
    return write_tmp_data(name, text, -1);
}

/* Loads the layers named relative to tmpdir (any may be NULL). */
static P11muxConf *
load_tmp(const char *system_file, const char *system_dir, const char *user_file,
         const char *extra_file, GError **error)
{
    g_autofree char *system_path = tmp_path(system_file);
    g_autofree char *dir_path = tmp_path(system_dir);
    g_autofree char *user_path = tmp_path(user_file);
    g_autofree char *extra_path = tmp_path(extra_file);
    P11muxConfPaths paths = { system_path, dir_path, user_path, extra_path };

    return p11mux_conf_load(&paths, error);
}

static void
assert_error(const GError *error, P11muxConfErrorCode code, const char *expected)
{
    ck_assert_msg(error != NULL, "no error, expected: %s", expected);
    ck_assert_str_eq(error->message, expected);
    ck_assert_msg(g_error_matches(error, P11MUX_CONF_ERROR, (gint)code),
                  "error code %d, expected %d", error->code, code);
}

static const P11muxConfBackend *
backend_at(const P11muxConf *conf, guint i)
{
    ck_assert_uint_lt(i, conf->backends->len);
    return g_ptr_array_index(conf->backends, i);
}

static const char *
file_at(const P11muxConf *conf, guint i)
{
    ck_assert_uint_lt(i, conf->files->len);
    return g_ptr_array_index(conf->files, i);
}

/* The *.conf files of a fixture directory, sorted (transfer full). */
static GPtrArray *
list_fixtures(const char *kind)
{
    g_autofree char *dir_path = fixture_path(kind, NULL);
    g_autoptr(GError) error = NULL;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GDir *dir = g_dir_open(dir_path, 0, &error);
    const char *name;

    assert_no_error(error);
    while ((name = g_dir_read_name(dir)) != NULL) {
        if (g_str_has_suffix(name, ".conf")) {
            g_ptr_array_add(names, g_strdup(name));
        }
    }
    g_dir_close(dir);
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    return names;
}

/* The "LINE: message" of a bad fixture's "# expect: " first line, or NULL. */
static char *
read_expectation(const char *path, GError **error)
{
    g_autofree char *text = NULL;
    const char *prefix = "# expect: ";
    const char *rest;
    char *newline;

    if (!g_file_get_contents(path, &text, NULL, error)) {
        return NULL;
    }
    newline = strchr(text, '\n');
    if (newline != NULL) {
        *newline = '\0';
    }
    rest = text + strlen(prefix);
    if (!g_str_has_prefix(text, prefix) || !g_ascii_isdigit(*rest) || strstr(rest, ": ") == NULL) {
        return NULL;
    }
    for (; g_ascii_isdigit(*rest); rest++) {
    }
    if (!g_str_has_prefix(rest, ": ")) {
        return NULL;
    }
    return g_strdup(text + strlen(prefix));
}

/* NULL if the fixture at path fails to load, or (a policy value) to compile
 * as C_Initialize and check-config compile it, with exactly the error its
 * first line states, else what is wrong (transfer full). */
static char *
check_bad_fixture(const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;
    g_autoptr(P11muxPolicySet) policies = NULL;
    g_autofree char *expectation = read_expectation(path, &error);
    g_autofree char *expected = NULL;
    GQuark domain = P11MUX_CONF_ERROR;

    if (expectation == NULL) {
        return g_strdup_printf("%s: first line is not '# expect: LINE: message'", path);
    }
    expected = g_strdup_printf("%s:%s", path, expectation);
    conf = p11mux_conf_load_file(path, &error);
    if (conf != NULL) {
        /* the policies' values are checked by compiling them, and only there */
        domain = P11MUX_POLICY_ERROR;
        policies = p11mux_policy_set_new(conf, &error);
    }
    if (policies != NULL) {
        return g_strdup_printf("%s: loaded, expected: %s", path, expected);
    }
    if (error == NULL || error->domain != domain || !g_str_equal(error->message, expected)) {
        return g_strdup_printf("%s:\n  expected: %s\n  got:      %s", path, expected,
                               error != NULL ? error->message : "(no error)");
    }
    return NULL;
}

/* ------------------------------------------------------------- fixtures */

START_TEST(test_conf_init_timeout_is_global_or_per_backend)
{
    g_autofree char *path = fixture_path("good", "timeouts.conf");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);
    g_autoptr(P11muxConf) defaults = NULL;
    g_autofree char *minimal = fixture_path("good", "minimal.conf");

    assert_no_error(error);
    ck_assert_int_eq(conf->init_timeout_us, 3 * G_USEC_PER_SEC);
    ck_assert_int_eq(backend_at(conf, 0)->init_timeout_us, 30 * G_USEC_PER_SEC);
    ck_assert_int_eq(backend_at(conf, 1)->init_timeout_us, 500 * 1000);
    /* none of its own: the router takes the global one */
    ck_assert_int_eq(backend_at(conf, 2)->init_timeout_us, 0);
    defaults = p11mux_conf_load_file(minimal, &error);
    assert_no_error(error);
    ck_assert_int_eq(defaults->init_timeout_us, 10 * G_USEC_PER_SEC);
}
END_TEST

START_TEST(test_conf_good_fixtures_load)
{
    g_autoptr(GPtrArray) names = list_fixtures("good");

    ck_assert_uint_ge(names->len, 4);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = fixture_path("good", g_ptr_array_index(names, i));
        g_autoptr(GError) error = NULL;
        g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);

        ck_assert_msg(conf != NULL, "%s", error != NULL ? error->message : path);
        ck_assert_uint_eq(conf->files->len, 1);
        ck_assert_str_eq(file_at(conf, 0), path);
    }
}
END_TEST

START_TEST(test_conf_bad_fixtures_fail_as_stated)
{
    g_autoptr(GPtrArray) names = list_fixtures("bad");
    g_autoptr(GString) failures = g_string_new(NULL);

    ck_assert_uint_ge(names->len, 20);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = fixture_path("bad", g_ptr_array_index(names, i));
        g_autofree char *problem = check_bad_fixture(path);

        if (problem != NULL) {
            g_string_append_printf(failures, "\n%s", problem);
        }
    }
    ck_assert_msg(failures->len == 0, "bad fixtures not failing as stated:%s", failures->str);
}
END_TEST

static void
assert_fixture_check_fails(const char *path)
{
    g_autofree char *problem = check_bad_fixture(path);

    ck_assert_msg(problem != NULL, "%s passed the fixture check", path);
}

START_TEST(test_conf_fixture_check_rejects_wrong_expectation)
{
    const char *body = "[backend a]\nmodul = /lib/a.so\n";
    g_autofree char *right = NULL;
    g_autofree char *wrong_line = NULL;
    g_autofree char *wrong_text = NULL;
    g_autofree char *none = NULL;
    g_autofree char *loads = NULL;
    g_autofree char *problem = NULL;

    right = write_tmp(
        "right.conf",
        "# expect: 3: unknown key 'modul' in [backend a] (did you mean 'module'?)\n[backend a]\n"
        "modul = /lib/a.so\n");
    wrong_line = write_tmp(
        "wrong-line.conf",
        "# expect: 2: unknown key 'modul' in [backend a]\n[backend a]\nmodul = /lib/a.so\n");
    wrong_text = write_tmp("wrong-text.conf",
                           "# expect: 3: unknown key in [backend a]\n[backend a]\nmodul = /x\n");
    none = write_tmp("none.conf", body);
    loads = write_tmp("loads.conf", "# expect: 2: anything\n[backend a]\nmodule = /lib/a.so\n");

    problem = check_bad_fixture(right);
    ck_assert_msg(problem == NULL, "%s", problem);
    assert_fixture_check_fails(wrong_line);
    assert_fixture_check_fails(wrong_text);
    assert_fixture_check_fails(none);
    assert_fixture_check_fails(loads);
}
END_TEST

START_TEST(test_conf_full_fixture_values)
{
    g_autofree char *path = fixture_path("good", "full.conf");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);
    const P11muxConfBackend *softhsm;
    const P11muxConfBackend *nss;

    assert_no_error(error);
    ck_assert_int_eq(conf->user_config, P11MUX_USER_CONFIG_NONE);
    ck_assert_str_eq(conf->policy, "default");
    ck_assert_str_eq(conf->trace, "file:/var/log/p11mux.trace");
    ck_assert_str_eq(conf->trace_format, "json");
    ck_assert_str_eq(conf->trace_data, "hex");
    ck_assert(conf->import_p11_kit);
    ck_assert_uint_eq(conf->backends->len, 2);

    softhsm = backend_at(conf, 0);
    ck_assert_str_eq(softhsm->name, "softhsm");
    ck_assert_str_eq(softhsm->module, "/usr/lib/softhsm/libsofthsm2.so");
    ck_assert_ptr_null(softhsm->init_reserved);
    ck_assert(softhsm->critical);
    ck_assert(softhsm->enabled);
    ck_assert_str_eq(softhsm->policy, "strict");
    ck_assert_str_eq(softhsm->origin.file, path);
    ck_assert_int_eq(softhsm->origin.line, 10);
    ck_assert_int_eq(softhsm->module_origin.line, 11);

    nss = backend_at(conf, 1);
    ck_assert_str_eq(nss->name, "nss");
    ck_assert(!nss->critical);
    ck_assert(!nss->enabled);
    ck_assert_ptr_null(nss->policy);
    ck_assert_int_eq(nss->origin.line, 16);
}
END_TEST

START_TEST(test_conf_minimal_fixture_defaults)
{
    g_autofree char *path = fixture_path("good", "minimal.conf");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);
    const P11muxConfBackend *backend;

    assert_no_error(error);
    ck_assert_int_eq(conf->user_config, P11MUX_USER_CONFIG_MERGE);
    ck_assert_ptr_null(conf->policy);
    ck_assert_str_eq(conf->trace, "off");
    ck_assert_str_eq(conf->trace_format, "text");
    ck_assert_str_eq(conf->trace_data, "length");
    ck_assert(!conf->import_p11_kit);
    ck_assert_uint_eq(conf->backends->len, 1);
    backend = backend_at(conf, 0);
    ck_assert_str_eq(backend->name, "only-one");
    ck_assert_str_eq(backend->module, "/opt/p11/libtoken.so");
    ck_assert(!backend->critical);
    ck_assert(backend->enabled);
    ck_assert_ptr_null(backend->init_reserved);
    ck_assert_ptr_null(backend->policy);
}
END_TEST

START_TEST(test_conf_nss_init_string_intact)
{
    g_autofree char *path = fixture_path("good", "nss.conf");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);

    assert_no_error(error);
    ck_assert_str_eq(
        p11mux_conf_find_backend(conf, "nss")->init_reserved,
        "configdir='sql:/tmp/x y' certPrefix='' keyPrefix='' secmod='secmod.db' flags=");
    ck_assert_str_eq(p11mux_conf_find_backend(conf, "nss.hash")->init_reserved,
                     "tokenDescription='a # b = c'  flags=readOnly");
}
END_TEST

START_TEST(test_conf_layout_fixture_spacing_and_disabled)
{
    g_autofree char *path = fixture_path("good", "layout.conf");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);
    const P11muxConfBackend *b;

    assert_no_error(error);
    ck_assert_str_eq(conf->trace, "stderr");
    ck_assert_str_eq(conf->trace_format, "text");
    ck_assert_str_eq(p11mux_conf_find_backend(conf, "a_1.x-y")->module, "/lib/a.so");
    ck_assert(!p11mux_conf_find_backend(conf, "a_1.x-y")->enabled);
    b = p11mux_conf_find_backend(conf, "b");
    ck_assert(!b->enabled);
    ck_assert_ptr_null(b->module);
    ck_assert_int_eq(b->module_origin.line, 0);
    ck_assert(p11mux_conf_find_backend(conf, "c")->enabled);
    ck_assert_ptr_null(p11mux_conf_find_backend(conf, "missing"));
}
END_TEST

/* ------------------------------------------------------------ one file */

START_TEST(test_conf_values_are_raw)
{
    g_autofree char *path = write_tmp(
        "raw.conf", "[backend a]\nmodule = /lib/a.so\ninit-reserved = \t a\\sb\\\\c\\x = '#' \t\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);

    assert_no_error(error);
    ck_assert_str_eq(backend_at(conf, 0)->init_reserved, "a\\sb\\\\c\\x = '#'");
}
END_TEST

START_TEST(test_conf_crlf_line_endings)
{
    g_autofree char *path = write_tmp(
        "crlf.conf", "[global]\r\ntrace = stderr\r\n\r\n[backend a]\r\nmodule = /lib/a.so\r\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);

    assert_no_error(error);
    ck_assert_str_eq(conf->trace, "stderr");
    ck_assert_str_eq(backend_at(conf, 0)->module, "/lib/a.so");
    ck_assert_int_eq(backend_at(conf, 0)->module_origin.line, 5);
}
END_TEST

/* GKeyFile takes "\r" as a line end only before "\n": a last line ending in a
 * lone "\r" keeps it, and the scan must judge the same text (it once
 * stripped it, and GKeyFile's error then came without a line). */
START_TEST(test_conf_lone_cr_at_end_judged_as_gkeyfile_does)
{
    g_autofree char *value = write_tmp("value.conf", "[global]\r\ntrace = syslog\r");
    g_autofree char *header = write_tmp("header.conf", "[global]\r\n[backend a]\r");
    g_autofree char *expected =
        g_strdup_printf("%s:2: malformed group header: text after ']'", header);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(value, &error);

    assert_no_error(error);
    ck_assert_str_eq(conf->trace, "syslog");
    g_clear_pointer(&conf, p11mux_conf_free);
    conf = p11mux_conf_load_file(header, &error);
    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_SYNTAX, expected);
}
END_TEST

START_TEST(test_conf_empty_file_gives_defaults)
{
    g_autofree char *path = write_tmp("empty.conf", "");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);

    assert_no_error(error);
    ck_assert_str_eq(conf->trace, "off");
    ck_assert_uint_eq(conf->backends->len, 0);
    ck_assert_uint_eq(conf->files->len, 1);
}
END_TEST

START_TEST(test_conf_invalid_utf8_is_refused)
{
    g_autofree char *path = write_tmp("latin1.conf", "[global]\n\n[backend caf\xe9]\n");
    g_autofree char *expected = g_strdup_printf("%s:3: not valid UTF-8 text", path);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);

    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_SYNTAX, expected);
}
END_TEST

START_TEST(test_conf_nul_byte_is_refused)
{
    static const char text[] = "[global]\ntrace = st\0derr\n";
    g_autofree char *path = write_tmp_data("nul.conf", text, sizeof text - 1);
    g_autofree char *expected = g_strdup_printf("%s:2: not valid UTF-8 text", path);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);

    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_SYNTAX, expected);
}
END_TEST

START_TEST(test_conf_missing_file_is_an_error)
{
    g_autofree char *path = tmp_path("absent.conf");
    g_autofree char *expected = g_strdup_printf("%s: cannot read: No such file or directory", path);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);

    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_READ, expected);
}
END_TEST

START_TEST(test_conf_error_codes)
{
    static const struct {
        const char *name;
        P11muxConfErrorCode code;
    } cases[] = {
        { "garbage-line.conf", P11MUX_CONF_ERROR_SYNTAX },
        { "repeated-key.conf", P11MUX_CONF_ERROR_SYNTAX },
        { "unknown-key.conf", P11MUX_CONF_ERROR_UNKNOWN },
        { "unknown-group.conf", P11MUX_CONF_ERROR_UNKNOWN },
        { "bad-bool.conf", P11MUX_CONF_ERROR_VALUE },
        { "relative-module.conf", P11MUX_CONF_ERROR_VALUE },
        { "missing-module.conf", P11MUX_CONF_ERROR_MISSING },
        { "duplicate-library.conf", P11MUX_CONF_ERROR_CONFLICT },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = fixture_path("bad", cases[i].name);
        g_autoptr(GError) error = NULL;
        g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);

        ck_assert_ptr_null(conf);
        ck_assert_msg(g_error_matches(error, P11MUX_CONF_ERROR, (gint)cases[i].code),
                      "%s: code %d, expected %d", cases[i].name, error->code, cases[i].code);
    }
}
END_TEST

START_TEST(test_conf_lookup_cites_origin)
{
    g_autofree char *path = fixture_path("good", "full.conf");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);
    const P11muxConfValue *value;

    assert_no_error(error);
    value = p11mux_conf_lookup(conf, "backend softhsm", "module");
    ck_assert_ptr_nonnull(value);
    ck_assert_str_eq(value->value, "/usr/lib/softhsm/libsofthsm2.so");
    ck_assert_str_eq(value->origin.file, path);
    ck_assert_int_eq(value->origin.line, 11);
    value = p11mux_conf_lookup(conf, "global", "trace-data");
    ck_assert_str_eq(value->value, "hex");
    ck_assert_int_eq(value->origin.line, 7);
    /* Defaults are not explicit settings. */
    ck_assert_ptr_null(p11mux_conf_lookup(conf, "backend softhsm", "init-reserved"));
    ck_assert_ptr_null(p11mux_conf_lookup(conf, "backend nope", "module"));
}
END_TEST

START_TEST(test_conf_group_labels_in_order)
{
    g_autofree char *path = fixture_path("good", "full.conf");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);
    g_auto(GStrv) backends = NULL;
    g_auto(GStrv) globals = NULL;

    assert_no_error(error);
    backends = p11mux_conf_dup_group_labels(conf, P11MUX_CONF_GROUP_BACKEND);
    ck_assert_uint_eq(g_strv_length(backends), 2);
    ck_assert_str_eq(backends[0], "softhsm");
    ck_assert_str_eq(backends[1], "nss");
    globals = p11mux_conf_dup_group_labels(conf, P11MUX_CONF_GROUP_GLOBAL);
    ck_assert_uint_eq(g_strv_length(globals), 1);
    ck_assert_str_eq(globals[0], "");
}
END_TEST

/* ------------------------------------------------------------- the table */

START_TEST(test_conf_known_keys_table_is_consistent)
{
    gsize n_keys = 0;
    gsize n_groups = 0;
    const P11muxConfKey *keys = p11mux_conf_known_keys(&n_keys);
    const P11muxConfGroupInfo *groups = p11mux_conf_known_groups(&n_groups);

    ck_assert_uint_ge(n_keys, 11);
    ck_assert_uint_ge(n_groups, 2);
    for (gsize i = 0; i < n_groups; i++) {
        ck_assert_int_eq(groups[i].kind, i);
    }
    for (gsize i = 0; i < n_keys; i++) {
        g_autofree char *problem = NULL;

        ck_assert_uint_lt((gsize)keys[i].group, n_groups);
        ck_assert_msg((keys[i].type == P11MUX_CONF_TYPE_ENUM) == (keys[i].choices != NULL), "%s",
                      keys[i].name);
        for (gsize j = 0; j < i; j++) {
            ck_assert_msg(keys[j].group != keys[i].group ||
                              !g_str_equal(keys[j].name, keys[i].name),
                          "key '%s' listed twice", keys[i].name);
        }
        ck_assert_msg(keys[i].example != NULL, "key '%s' has no example", keys[i].name);
        problem = p11mux_conf_key_check(&keys[i], keys[i].example);
        ck_assert_msg(problem == NULL, "example of '%s': %s", keys[i].name, problem);
        if (keys[i].default_value != NULL) {
            problem = p11mux_conf_key_check(&keys[i], keys[i].default_value);
            ck_assert_msg(problem == NULL, "default of '%s': %s", keys[i].name, problem);
        }
    }
}
END_TEST

/* "[global]" or "[backend sample]" */
static char *
sample_group_name(const P11muxConfGroupInfo *info)
{
    return info->named ? g_strdup_printf("%s sample", info->name) : g_strdup(info->name);
}

/* Every key in the table, set to its example, is accepted in its group. */
START_TEST(test_conf_known_keys_are_accepted)
{
    gsize n_keys = 0;
    gsize n_groups = 0;
    const P11muxConfKey *keys = p11mux_conf_known_keys(&n_keys);
    const P11muxConfGroupInfo *groups = p11mux_conf_known_groups(&n_groups);
    g_autoptr(GString) text = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;
    g_autofree char *path = NULL;

    for (gsize g = 0; g < n_groups; g++) {
        g_autofree char *group = sample_group_name(&groups[g]);

        g_string_append_printf(text, "[%s]\n", group);
        for (gsize i = 0; i < n_keys; i++) {
            if (keys[i].group == groups[g].kind) {
                g_string_append_printf(text, "%s = %s\n", keys[i].name, keys[i].example);
            }
        }
    }
    path = write_tmp("every-key.conf", text->str);
    conf = p11mux_conf_load_file(path, &error);
    assert_no_error(error);
    for (gsize i = 0; i < n_keys; i++) {
        g_autofree char *group = sample_group_name(&groups[keys[i].group]);
        const P11muxConfValue *value = p11mux_conf_lookup(conf, group, keys[i].name);

        ck_assert_msg(value != NULL, "[%s] %s", group, keys[i].name);
        ck_assert_str_eq(value->value, keys[i].example);
    }
}
END_TEST

START_TEST(test_conf_key_check_messages)
{
    gsize n_keys = 0;
    const P11muxConfKey *keys = p11mux_conf_known_keys(&n_keys);

    for (gsize i = 0; i < n_keys; i++) {
        g_autofree char *problem = NULL;

        if (g_str_equal(keys[i].name, "trace")) {
            ck_assert_ptr_null(p11mux_conf_key_check(&keys[i], "file:/tmp/t.log"));
            ck_assert_ptr_null(p11mux_conf_key_check(&keys[i], "file:%r/p11mux-%u-%U-%p-%h%%.log"));
            problem = p11mux_conf_key_check(&keys[i], "file:");
            ck_assert_str_eq(problem, "expected off, stderr, syslog or file:/ABSOLUTE/PATH: '' is "
                                      "neither an absolute path nor starts with %r");
            g_free(problem);
            problem = p11mux_conf_key_check(&keys[i], "file:/tmp/t%");
            ck_assert_str_eq(problem, "expected off, stderr, syslog or file:/ABSOLUTE/PATH: "
                                      "'/tmp/t%': unknown % (known: %r %u %U %p %h %%)");
            g_free(problem);
            problem = p11mux_conf_key_check(&keys[i], "stdout");
            ck_assert_str_eq(problem,
                             "expected off, stderr, syslog or file:/ABSOLUTE/PATH, got 'stdout'");
        } else if (g_str_equal(keys[i].name, "trace-format")) {
            problem = p11mux_conf_key_check(&keys[i], "TEXT");
            ck_assert_str_eq(problem, "expected text or json, got 'TEXT'");
        } else if (keys[i].type == P11MUX_CONF_TYPE_BOOL) {
            problem = p11mux_conf_key_check(&keys[i], "1");
            ck_assert_str_eq(problem, "expected true or false, got '1'");
        }
    }
}
END_TEST

/* --------------------------------------------------------------- layers */

START_TEST(test_conf_layers_merge_in_order)
{
    g_autofree char *system =
        write_tmp("p11mux.conf", "[global]\ntrace = stderr\ntrace-format = json\n\n"
                                 "[backend a]\nmodule = /lib/a.so\ncritical = true\n\n"
                                 "[backend b]\nmodule = /lib/b.so\n");
    g_autofree char *early = write_tmp("conf.d/10-early.conf",
                                       "[global]\ntrace = file:/tmp/early.log\ntrace-data = hex\n"
                                       "[backend c]\nmodule = /lib/c.so\n");
    g_autofree char *late = write_tmp("conf.d/20-late.conf", "[global]\ntrace = syslog\n");
    g_autofree char *user = write_tmp(
        "user.conf", "[backend a]\nmodule = /lib/a2.so\n[backend d]\nmodule = /lib/d.so\n");
    g_autofree char *extra =
        write_tmp("extra.conf", "[global]\ntrace-format = text\n[backend d]\ncritical = true\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf =
        load_tmp("p11mux.conf", "conf.d", "user.conf", "extra.conf", &error);
    const P11muxConfBackend *a;

    assert_no_error(error);
    ck_assert_uint_eq(conf->files->len, 5);
    ck_assert_str_eq(file_at(conf, 0), system);
    ck_assert_str_eq(file_at(conf, 1), early);
    ck_assert_str_eq(file_at(conf, 2), late);
    ck_assert_str_eq(file_at(conf, 3), user);
    ck_assert_str_eq(file_at(conf, 4), extra);
    ck_assert_str_eq(conf->trace, "syslog");
    ck_assert_str_eq(p11mux_conf_lookup(conf, "global", "trace")->origin.file, late);
    ck_assert_str_eq(conf->trace_format, "text");
    ck_assert_str_eq(conf->trace_data, "hex");

    ck_assert_uint_eq(conf->backends->len, 4);
    a = backend_at(conf, 0);
    ck_assert_str_eq(a->name, "a");
    ck_assert_str_eq(a->module, "/lib/a2.so");
    ck_assert_str_eq(a->module_origin.file, user);
    ck_assert_int_eq(a->module_origin.line, 2);
    ck_assert_str_eq(a->origin.file, system);
    ck_assert_int_eq(a->origin.line, 5);
    ck_assert(a->critical);
    ck_assert_str_eq(backend_at(conf, 1)->name, "b");
    ck_assert_str_eq(backend_at(conf, 2)->name, "c");
    ck_assert_str_eq(backend_at(conf, 3)->name, "d");
    ck_assert(backend_at(conf, 3)->critical);
}
END_TEST

START_TEST(test_conf_conf_d_in_strcmp_order_and_only_conf)
{
    g_autofree char *first = write_tmp("conf.d/10-first.conf", "[global]\ntrace = stderr\n");
    g_autofree char *last = write_tmp("conf.d/9-last.conf", "[global]\ntrace = syslog\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    g_free(write_tmp("conf.d/README", "not a configuration file\n"));
    g_free(write_tmp("conf.d/30-off.conf.disabled", "garbage\n"));
    g_free(write_tmp("conf.d/.hidden.conf", "garbage\n"));
    conf = load_tmp(NULL, "conf.d", NULL, NULL, &error);
    assert_no_error(error);
    ck_assert_uint_eq(conf->files->len, 2);
    ck_assert_str_eq(file_at(conf, 0), first);
    ck_assert_str_eq(file_at(conf, 1), last);
    ck_assert_str_eq(conf->trace, "syslog");
}
END_TEST

START_TEST(test_conf_later_layer_disables_backend)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;
    const P11muxConfBackend *a;

    g_free(write_tmp("p11mux.conf",
                     "[backend a]\nmodule = /lib/a.so\n[backend b]\nmodule = /lib/b.so\n"));
    g_free(write_tmp("user.conf", "[backend a]\nenabled = false\n"));
    conf = load_tmp("p11mux.conf", NULL, "user.conf", NULL, &error);
    assert_no_error(error);
    ck_assert_uint_eq(conf->backends->len, 2);
    a = backend_at(conf, 0);
    ck_assert(!a->enabled);
    ck_assert_str_eq(a->module, "/lib/a.so");
    ck_assert(backend_at(conf, 1)->enabled);
}
END_TEST

START_TEST(test_conf_conflict_judged_after_merging)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    /* Alone, the system file would be refused: the extra layer resolves it. */
    g_free(write_tmp("p11mux.conf",
                     "[backend a]\nmodule = /lib/same.so\n[backend b]\nmodule = /lib/same.so\n"));
    g_free(write_tmp("extra.conf", "[backend b]\nenabled = false\n"));
    conf = load_tmp("p11mux.conf", NULL, NULL, "extra.conf", &error);
    assert_no_error(error);
    ck_assert(!backend_at(conf, 1)->enabled);
}
END_TEST

START_TEST(test_conf_conflict_across_layers)
{
    g_autofree char *system = write_tmp("p11mux.conf", "[backend a]\nmodule = /lib/same.so\n");
    g_autofree char *user = write_tmp("user.conf", "\n[backend b]\nmodule = /lib/same.so\n");
    g_autofree char *expected = g_strdup_printf(
        "%s:3: backends 'a' (%s:2) and 'b' load the same library /lib/same.so", user, system);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = load_tmp("p11mux.conf", NULL, "user.conf", NULL, &error);

    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_CONFLICT, expected);
}
END_TEST

START_TEST(test_conf_conflict_through_symlink)
{
    g_autofree char *real = write_tmp("lib/libreal.so", "");
    g_autofree char *link = tmp_path("lib/liblink.so");
    g_autofree char *canonical = realpath(real, NULL);
    g_autofree char *text = NULL;
    g_autofree char *path = NULL;
    g_autofree char *expected = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    ck_assert_int_eq(symlink("libreal.so", link), 0);
    text = g_strdup_printf("[backend x]\nmodule = %s\n[backend y]\nmodule = %s\n", real, link);
    path = write_tmp("symlink.conf", text);
    expected = g_strdup_printf("%s:4: backends 'x' (line 2) and 'y' load the same library %s", path,
                               canonical);
    conf = p11mux_conf_load_file(path, &error);
    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_CONFLICT, expected);
}
END_TEST

START_TEST(test_conf_missing_module_after_merging)
{
    g_autofree char *system =
        write_tmp("p11mux.conf", "# off by default\n[backend x]\nenabled = false\n");
    g_autofree char *expected =
        g_strdup_printf("%s:2: backend 'x' is enabled but has no 'module'", system);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    g_free(write_tmp("user.conf", "[backend x]\nenabled = true\n"));
    conf = load_tmp("p11mux.conf", NULL, "user.conf", NULL, &error);
    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_MISSING, expected);
}
END_TEST

START_TEST(test_conf_user_config_none_ignores_user_file)
{
    g_autofree char *system =
        write_tmp("p11mux.conf", "[global]\nuser-config = none\n[backend a]\nmodule = /lib/a.so\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    /* Not even read: its fault goes unnoticed. */
    g_free(write_tmp("user.conf", "this is not a configuration\n"));
    conf = load_tmp("p11mux.conf", NULL, "user.conf", NULL, &error);
    assert_no_error(error);
    ck_assert_int_eq(conf->user_config, P11MUX_USER_CONFIG_NONE);
    ck_assert_uint_eq(conf->files->len, 1);
    ck_assert_str_eq(file_at(conf, 0), system);
    ck_assert_uint_eq(conf->backends->len, 1);
}
END_TEST

START_TEST(test_conf_user_config_only_discards_system)
{
    g_autofree char *system =
        write_tmp("conf.d/00-base.conf", "[global]\nuser-config = only\ntrace = stderr\n"
                                         "[backend a]\nmodule = /lib/a.so\n");
    g_autofree char *user = write_tmp("user.conf", "[backend b]\nmodule = /lib/b.so\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = load_tmp(NULL, "conf.d", "user.conf", NULL, &error);
    const P11muxConfValue *decision;

    assert_no_error(error);
    ck_assert_int_eq(conf->user_config, P11MUX_USER_CONFIG_ONLY);
    decision = p11mux_conf_lookup(conf, "global", "user-config");
    ck_assert_str_eq(decision->origin.file, system);
    ck_assert_int_eq(decision->origin.line, 2);
    ck_assert_str_eq(conf->trace, "off");
    ck_assert_ptr_null(p11mux_conf_lookup(conf, "backend a", "module"));
    ck_assert_uint_eq(conf->backends->len, 1);
    ck_assert_str_eq(backend_at(conf, 0)->name, "b");
    ck_assert_str_eq(backend_at(conf, 0)->origin.file, user);
}
END_TEST

START_TEST(test_conf_user_config_only_without_user_file_keeps_system)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    g_free(write_tmp("p11mux.conf",
                     "[global]\nuser-config = only\n[backend a]\nmodule = /lib/a.so\n"));
    conf = load_tmp("p11mux.conf", NULL, "absent-user.conf", NULL, &error);
    assert_no_error(error);
    ck_assert_int_eq(conf->user_config, P11MUX_USER_CONFIG_ONLY);
    ck_assert_uint_eq(conf->backends->len, 1);
    ck_assert_str_eq(backend_at(conf, 0)->name, "a");
}
END_TEST

START_TEST(test_conf_user_config_refused_in_user_file)
{
    g_autofree char *user = write_tmp("user.conf", "[global]\nuser-config = merge\n");
    g_autofree char *expected =
        g_strdup_printf("%s:2: key 'user-config' cannot be set in the user's file", user);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = load_tmp(NULL, NULL, "user.conf", NULL, &error);

    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_VALUE, expected);
}
END_TEST

START_TEST(test_conf_user_config_none_in_extra_file_ignores_user_file)
{
    g_autofree char *extra = write_tmp("extra.conf", "[global]\nuser-config = none\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    g_free(write_tmp("user.conf", "not read\n"));
    conf = load_tmp(NULL, NULL, "user.conf", "extra.conf", &error);
    assert_no_error(error);
    ck_assert_int_eq(conf->user_config, P11MUX_USER_CONFIG_NONE);
    ck_assert_uint_eq(conf->files->len, 1);
    ck_assert_str_eq(file_at(conf, 0), extra);
}
END_TEST

START_TEST(test_conf_user_config_in_extra_file_overrides_system)
{
    g_autofree char *user = write_tmp("user.conf", "[backend u]\nmodule = /lib/u.so\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    g_free(write_tmp("p11mux.conf",
                     "[global]\nuser-config = none\n[backend s]\nmodule = /lib/s.so\n"));
    g_free(write_tmp("extra.conf", "[global]\nuser-config = merge\n"));
    conf = load_tmp("p11mux.conf", NULL, "user.conf", "extra.conf", &error);
    assert_no_error(error);
    ck_assert_int_eq(conf->user_config, P11MUX_USER_CONFIG_MERGE);
    ck_assert_uint_eq(conf->files->len, 3);
    ck_assert_str_eq(file_at(conf, 1), user);
    ck_assert_uint_eq(conf->backends->len, 2);
}
END_TEST

START_TEST(test_conf_missing_optional_files_skipped)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf =
        load_tmp("no/p11mux.conf", "no/conf.d", "no/user.conf", NULL, &error);

    assert_no_error(error);
    ck_assert_uint_eq(conf->files->len, 0);
    ck_assert_uint_eq(conf->backends->len, 0);
    ck_assert_int_eq(conf->user_config, P11MUX_USER_CONFIG_MERGE);
    ck_assert_str_eq(conf->trace, "off");
}
END_TEST

START_TEST(test_conf_null_paths_skipped)
{
    P11muxConfPaths paths = { NULL, NULL, NULL, NULL };
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load(&paths, &error);

    assert_no_error(error);
    ck_assert_uint_eq(conf->files->len, 0);
}
END_TEST

START_TEST(test_conf_missing_extra_file_fails)
{
    g_autofree char *extra = tmp_path("absent-extra.conf");
    g_autofree char *expected =
        g_strdup_printf("%s: cannot read: No such file or directory", extra);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    g_free(write_tmp("p11mux.conf", "[backend a]\nmodule = /lib/a.so\n"));
    conf = load_tmp("p11mux.conf", NULL, NULL, "absent-extra.conf", &error);
    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_READ, expected);
}
END_TEST

START_TEST(test_conf_unreadable_extra_file_fails)
{
    g_autofree char *extra = tmp_path("extra.d");
    g_autofree char *expected = g_strdup_printf("%s: cannot read: Is a directory", extra);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    ck_assert_int_eq(g_mkdir(extra, 0700), 0);
    conf = load_tmp(NULL, NULL, NULL, "extra.d", &error);
    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_READ, expected);
}
END_TEST

START_TEST(test_conf_unreadable_system_file_fails)
{
    g_autofree char *system = tmp_path("p11mux.conf");
    g_autofree char *expected = g_strdup_printf("%s: cannot read: Is a directory", system);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    /* Present but unreadable is not "missing": refused, not skipped. */
    ck_assert_int_eq(g_mkdir(system, 0700), 0);
    conf = load_tmp("p11mux.conf", NULL, NULL, NULL, &error);
    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_READ, expected);
}
END_TEST

START_TEST(test_conf_malformed_layer_fails_whole_load)
{
    g_autofree char *bad = write_tmp("conf.d/50-bad.conf", "[global]\ntrace = loud\n");
    g_autofree char *expected = g_strdup_printf("%s:2: key 'trace' in [global]: expected off, "
                                                "stderr, syslog or file:/ABSOLUTE/PATH, got 'loud'",
                                                bad);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    g_free(write_tmp("p11mux.conf", "[backend a]\nmodule = /lib/a.so\n"));
    g_free(write_tmp("conf.d/10-good.conf", "[backend b]\nmodule = /lib/b.so\n"));
    g_free(write_tmp("user.conf", "[backend c]\nmodule = /lib/c.so\n"));
    conf = load_tmp("p11mux.conf", "conf.d", "user.conf", NULL, &error);
    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_VALUE, expected);
}
END_TEST

/* --------------------------------------------------------- default paths */

START_TEST(test_conf_paths_default)
{
    g_autoptr(P11muxConfPaths) paths = NULL;

    g_unsetenv("P11MUX_CONF");
    paths = p11mux_conf_paths_new_default();
    ck_assert_str_eq(paths->system_file, SYSCONFDIR "/p11mux/p11mux.conf");
    ck_assert_str_eq(paths->system_dir, SYSCONFDIR "/p11mux/conf.d");
    ck_assert_ptr_nonnull(paths->user_file);
    ck_assert(g_str_has_suffix(paths->user_file, "/p11mux/p11mux.conf"));
    ck_assert_ptr_null(paths->extra_file);
}
END_TEST

START_TEST(test_conf_paths_default_extra_from_environment)
{
    g_autoptr(P11muxConfPaths) paths = NULL;
    g_autoptr(P11muxConfPaths) empty = NULL;

    g_setenv("P11MUX_CONF", "/srv/p11mux/test.conf", TRUE);
    paths = p11mux_conf_paths_new_default();
    ck_assert_str_eq(paths->extra_file, "/srv/p11mux/test.conf");
    /* The caller may point a field elsewhere; the free leaves it alone. */
    paths->extra_file = "/from/pReserved.conf";
    g_setenv("P11MUX_CONF", "", TRUE);
    empty = p11mux_conf_paths_new_default();
    ck_assert_ptr_null(empty->extra_file);
}
END_TEST

/* ------------------------------------------------------------ standalone */

/* A logging shim's file over a machine that loads the same library
 * system-wide: with standalone = true it is the only layer (without it the
 * two backends would conflict), and the user's file is not read. */
START_TEST(test_conf_standalone_extra_file_is_the_only_layer)
{
    g_autoptr(P11muxConf) merged = NULL;
    g_autoptr(P11muxConf) conf = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *system = write_tmp("p11mux.conf", "[global]\ntrace = stderr\n"
                                                       "[backend softhsm]\nmodule = /lib/h.so\n");
    g_autofree char *user = write_tmp("user.conf", "[backend u]\nmodule = /lib/u.so\n");
    g_autofree char *plain = write_tmp("plain.conf", "[backend traced]\nmodule = /lib/h.so\n");
    g_autofree char *shim = write_tmp("shim.conf", "[global]\nstandalone = true\n"
                                                   "[backend traced]\nmodule = /lib/h.so\n");

    merged = load_tmp("p11mux.conf", NULL, "user.conf", "plain.conf", &error);
    ck_assert_ptr_null(merged);
    ck_assert_int_eq(error->code, P11MUX_CONF_ERROR_CONFLICT);
    g_clear_error(&error);

    conf = load_tmp("p11mux.conf", NULL, "user.conf", "shim.conf", &error);
    assert_no_error(error);
    ck_assert(conf->standalone);
    ck_assert_uint_eq(conf->backends->len, 1);
    ck_assert_str_eq(backend_at(conf, 0)->name, "traced");
    ck_assert_str_eq(conf->trace, "off");
    ck_assert_uint_eq(conf->files->len, 1);
    ck_assert_str_eq(file_at(conf, 0), shim);
}
END_TEST

START_TEST(test_conf_standalone_refused_under_stricter_only)
{
    g_autoptr(P11muxConf) conf = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *system =
        write_tmp("p11mux.conf", "[global]\npolicy-override = stricter-only\n");
    g_autofree char *shim = write_tmp("shim.conf", "[global]\nstandalone = true\n");
    g_autofree char *expected = g_strdup_printf(
        "%s:2: standalone = true is refused: %s:2 says policy-override = stricter-only, so this "
        "file can only add restrictions to the system configuration",
        shim, system);

    conf = load_tmp("p11mux.conf", NULL, NULL, "shim.conf", &error);
    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_VALUE, expected);
}
END_TEST

START_TEST(test_conf_standalone_only_in_the_extra_file)
{
    g_autoptr(P11muxConf) system_conf = NULL;
    g_autoptr(P11muxConf) user_conf = NULL;
    g_autoptr(P11muxConf) alone = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *file = write_tmp("standalone.conf", "[global]\nstandalone = true\n");
    g_autofree char *expected = g_strdup_printf(
        "%s:2: key 'standalone' can be set only in the file named by P11MUX_CONF or config=", file);

    system_conf = load_tmp("standalone.conf", NULL, NULL, NULL, &error);
    ck_assert_ptr_null(system_conf);
    assert_error(error, P11MUX_CONF_ERROR_VALUE, expected);
    g_clear_error(&error);
    user_conf = load_tmp(NULL, NULL, "standalone.conf", NULL, &error);
    ck_assert_ptr_null(user_conf);
    assert_error(error, P11MUX_CONF_ERROR_VALUE, expected);
    g_clear_error(&error);
    /* a file checked on its own (p11mux check-config --config FILE) */
    alone = p11mux_conf_load_file(file, &error);
    assert_no_error(error);
}
END_TEST

/* The system layer is where the site says (src/config/site.h): the testable
 * copies of make check point it into the build tree. */
START_TEST(test_conf_paths_default_follow_the_site)
{
    static const P11muxSite site = {.sysconfdir = "/srv/testable/etc"};
    g_autoptr(P11muxConfPaths) paths = NULL;
    g_autoptr(P11muxConfPaths) installed = NULL;

    p11mux_site_set(&site);
    paths = p11mux_conf_paths_new_default();
    p11mux_site_set(NULL);
    installed = p11mux_conf_paths_new_default();
    ck_assert_str_eq(paths->system_file, "/srv/testable/etc/p11mux/p11mux.conf");
    ck_assert_str_eq(paths->system_dir, "/srv/testable/etc/p11mux/conf.d");
    ck_assert_str_eq(installed->system_file, SYSCONFDIR "/p11mux/p11mux.conf");
}
END_TEST

/* ------------------------------------------------------------ HA groups */

static const P11muxConfHaGroup *
ha_group_at(const P11muxConf *conf, guint i)
{
    ck_assert_uint_lt(i, conf->ha_groups->len);
    return g_ptr_array_index(conf->ha_groups, i);
}

static const P11muxConfMember *
member_at(const P11muxConfHaGroup *group, guint i)
{
    ck_assert_uint_lt(i, group->members->len);
    return g_ptr_array_index(group->members, i);
}

/* The token URI of a member in p11-kit's normal form (transfer full). */
static char *
member_uri(const P11muxConfMember *member)
{
    char *formatted = NULL;
    char *uri;

    ck_assert_int_eq(p11_kit_uri_format(member->token, P11_KIT_URI_FOR_TOKEN, &formatted),
                     P11_KIT_URI_OK);
    uri = g_strdup(formatted);
    free(formatted);
    return uri;
}

static void
assert_member(const P11muxConfMember *member, const char *backend, const char *uri,
              gboolean standby, const char *file, int line)
{
    g_autofree char *formatted = member_uri(member);
    g_autofree char *text = g_strconcat(backend, ":", uri, NULL);

    ck_assert_str_eq(member->backend, backend);
    ck_assert_str_eq(formatted, uri);
    ck_assert_str_eq(member->text, text);
    ck_assert_int_eq(member->standby, standby);
    ck_assert_str_eq(member->origin.file, file);
    ck_assert_int_eq(member->origin.line, line);
}

static void
assert_rvs(const GArray *rvs, const CK_RV *expected, guint n)
{
    ck_assert_ptr_nonnull(rvs);
    ck_assert_uint_eq(rvs->len, n);
    for (guint i = 0; i < n; i++) {
        ck_assert_uint_eq(g_array_index(rvs, CK_RV, i), expected[i]);
    }
}

START_TEST(test_conf_ha_group_every_key)
{
    g_autofree char *path = fixture_path("good", "ha-group.conf");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);
    static const CK_RV group_rvs[] = {CKR_DEVICE_ERROR, 0x80000010UL, CKR_SESSION_HANDLE_INVALID};
    static const CK_RV luna_a_rvs[] = {CKR_DEVICE_ERROR, CKR_FUNCTION_FAILED};
    const P11muxConfHaGroup *group;

    assert_no_error(error);
    ck_assert_uint_eq(conf->ha_groups->len, 2);
    group = ha_group_at(conf, 0);
    ck_assert_ptr_eq(p11mux_conf_find_ha_group(conf, "signing"), group);
    ck_assert_ptr_null(p11mux_conf_find_ha_group(conf, "luna-a"));
    ck_assert_str_eq(group->name, "signing");
    ck_assert_str_eq(group->origin.file, path);
    ck_assert_int_eq(group->origin.line, 12);
    /* members in order (a tab separates too), then standby */
    ck_assert_uint_eq(group->members->len, 4);
    ck_assert_uint_eq(group->n_members, 3);
    assert_member(member_at(group, 0), "luna-a", "pkcs11:token=part1", FALSE, path, 13);
    ck_assert_str_eq(member_at(group, 1)->text, "luna-b:pkcs11:token=part%202;manufacturer=Thales");
    ck_assert_str_eq(member_at(group, 1)->backend, "luna-b");
    {
        g_autofree char *uri = member_uri(member_at(group, 1));

        ck_assert_str_eq(uri, "pkcs11:manufacturer=Thales;token=part%202");
    }
    assert_member(member_at(group, 2), "luna-a", "pkcs11:token=part3", FALSE, path, 13);
    assert_member(member_at(group, 3), "luna-b", "pkcs11:token=dr", TRUE, path, 14);
    ck_assert_str_eq(group->label, "Signing group");
    ck_assert_str_eq(group->serial, "SIG-0001");
    ck_assert_int_eq(group->dispatch, P11MUX_HA_DISPATCH_ROUND_ROBIN);
    ck_assert_uint_eq(group->identity, P11MUX_HA_IDENTITY_ID | P11MUX_HA_IDENTITY_LABEL);
    ck_assert_uint_eq(group->verify,
                      P11MUX_HA_VERIFY_KCV | P11MUX_HA_VERIFY_PROBE | P11MUX_HA_VERIFY_CERT);
    ck_assert_int_eq(group->on_divergence, P11MUX_HA_DIVERGENCE_QUARANTINE_MEMBER);
    ck_assert_uint_eq(group->min_replicas, 2);
    ck_assert_int_eq(group->writes, P11MUX_HA_WRITES_PRIMARY);
    assert_rvs(group->failover_on, group_rvs, G_N_ELEMENTS(group_rvs));
    ck_assert_uint_eq(group->error_threshold, 7);
    ck_assert_uint_eq(group->replay_buffer, 0);
    ck_assert_int_eq(group->call_timeout_us, 1500 * 1000);
    ck_assert_int_eq(group->probe_interval_us, 2 * G_USEC_PER_SEC);
    ck_assert_int_eq(group->recover_backoff_min_us, 500 * 1000);
    ck_assert_int_eq(group->recover_backoff_max_us, 120 * G_USEC_PER_SEC);
    ck_assert_int_eq(group->keepalive_us, 0);
    ck_assert_int_eq(group->pin_retention, P11MUX_HA_PIN_RETENTION_NONE);
    ck_assert_uint_eq(group->max_member_sessions, 64);
    ck_assert_uint_eq(group->min_active, 3);
    ck_assert_int_eq(group->all_down, P11MUX_HA_ALL_DOWN_CLOSE_SESSIONS);
    ck_assert(!group->hide_members);
    ck_assert_int_eq(group->find_fanout, P11MUX_HA_FIND_FANOUT_ONE);
    ck_assert_str_eq(group->policy, "signers");

    /* [backend luna-a] failover-on replaces the group's list for its members only */
    assert_rvs(p11mux_conf_find_backend(conf, "luna-a")->failover_on, luna_a_rvs,
               G_N_ELEMENTS(luna_a_rvs));
    ck_assert_ptr_null(p11mux_conf_find_backend(conf, "luna-b")->failover_on);
    assert_rvs(p11mux_conf_member_failover_on(conf, group, member_at(group, 0)), luna_a_rvs,
               G_N_ELEMENTS(luna_a_rvs));
    ck_assert_ptr_eq(p11mux_conf_member_failover_on(conf, group, member_at(group, 1)),
                     group->failover_on);
    ck_assert_ptr_eq(p11mux_conf_member_failover_on(conf, group, member_at(group, 3)),
                     group->failover_on);
}
END_TEST

START_TEST(test_conf_ha_group_defaults)
{
    g_autofree char *path = fixture_path("good", "ha-group.conf");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);
    static const CK_RV default_rvs[] = {CKR_DEVICE_ERROR, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
                                        CKR_GENERAL_ERROR};
    const P11muxConfHaGroup *group;

    assert_no_error(error);
    group = ha_group_at(conf, 1);
    ck_assert_str_eq(group->name, "minimal");
    ck_assert_uint_eq(group->members->len, 1);
    ck_assert_uint_eq(group->n_members, 1);
    assert_member(member_at(group, 0), "luna-b", "pkcs11:", FALSE, path, 39);
    ck_assert_str_eq(group->label, "minimal");
    /* the first 16 hex digits of SHA-256("p11mux-group:minimal") */
    ck_assert_str_eq(group->serial, "64f304293a22bd72");
    ck_assert_int_eq(group->dispatch, P11MUX_HA_DISPATCH_LEAST_BUSY);
    ck_assert_uint_eq(group->identity, P11MUX_HA_IDENTITY_ID);
    ck_assert_uint_eq(group->verify,
                      P11MUX_HA_VERIFY_PUBKEY | P11MUX_HA_VERIFY_CERT | P11MUX_HA_VERIFY_KCV);
    ck_assert_int_eq(group->on_divergence, P11MUX_HA_DIVERGENCE_EXCLUDE_OBJECT);
    ck_assert_uint_eq(group->min_replicas, 1);
    ck_assert_int_eq(group->writes, P11MUX_HA_WRITES_REFUSE);
    assert_rvs(group->failover_on, default_rvs, G_N_ELEMENTS(default_rvs));
    ck_assert_uint_eq(group->error_threshold, 3);
    ck_assert_uint_eq(group->replay_buffer, 65536);
    ck_assert_int_eq(group->call_timeout_us, 20 * G_USEC_PER_SEC);
    ck_assert_int_eq(group->probe_interval_us, 5 * G_USEC_PER_SEC);
    ck_assert_int_eq(group->recover_backoff_min_us, 1 * G_USEC_PER_SEC);
    ck_assert_int_eq(group->recover_backoff_max_us, 60 * G_USEC_PER_SEC);
    ck_assert_int_eq(group->keepalive_us, 300 * G_USEC_PER_SEC);
    ck_assert_int_eq(group->pin_retention, P11MUX_HA_PIN_RETENTION_MEMORY);
    ck_assert_uint_eq(group->max_member_sessions, 0);
    ck_assert_uint_eq(group->min_active, 1);
    ck_assert_int_eq(group->all_down, P11MUX_HA_ALL_DOWN_KEEP_SESSIONS);
    ck_assert(group->hide_members);
    ck_assert_int_eq(group->find_fanout, P11MUX_HA_FIND_FANOUT_ALL);
    ck_assert_ptr_null(group->policy);
}
END_TEST

/* The default label is the name, cut to the 32 bytes of CK_TOKEN_INFO.label;
 * a configuration without groups has none. */
START_TEST(test_conf_ha_group_long_name_label)
{
    g_autofree char *path = write_tmp(
        "long.conf", "[backend a]\nmodule = /lib/a.so\n"
                     "[group a-very-long-group-name-of-forty-bytes]\nmembers = a:pkcs11:\n");
    g_autofree char *none = fixture_path("good", "minimal.conf");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);
    g_autoptr(P11muxConf) empty = NULL;

    assert_no_error(error);
    ck_assert_str_eq(ha_group_at(conf, 0)->name, "a-very-long-group-name-of-forty-bytes");
    ck_assert_str_eq(ha_group_at(conf, 0)->label, "a-very-long-group-name-of-forty-");
    empty = p11mux_conf_load_file(none, &error);
    assert_no_error(error);
    ck_assert_uint_eq(empty->ha_groups->len, 0);
}
END_TEST

/* Every refusal of a [group NAME], each at its file:line, as its fixture
 * states (tests/fixtures/config/bad/ha-*.conf). */
START_TEST(test_conf_ha_group_refusals)
{
    static const struct {
        const char *fixture;
        P11muxConfErrorCode code;
    } cases[] = {
        {"ha-missing-members.conf", P11MUX_CONF_ERROR_MISSING},
        {"ha-empty-members.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-member-no-colon.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-member-no-backend.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-member-bad-uri.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-member-object-uri.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-member-pin.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-member-query.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-unknown-backend.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-disabled-backend.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-unknown-rv.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-backend-unknown-rv.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-rv-ok.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-dispatch.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-identity.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-verify.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-on-divergence.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-writes.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-pin-retention.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-all-down.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-find-fanout.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-duration-unit.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-keepalive.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-backoff-order.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-backoff-one.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-count.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-min-replicas-above-members.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-min-active-above-members.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-duplicate-in-group.conf", P11MUX_CONF_ERROR_CONFLICT},
        {"ha-duplicate-across-groups.conf", P11MUX_CONF_ERROR_CONFLICT},
        {"ha-duplicate-group.conf", P11MUX_CONF_ERROR_SYNTAX},
        {"ha-undefined-policy.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-name.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-label-too-long.conf", P11MUX_CONF_ERROR_VALUE},
        {"ha-bad-serial.conf", P11MUX_CONF_ERROR_VALUE},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = fixture_path("bad", cases[i].fixture);
        g_autofree char *problem = check_bad_fixture(path);
        g_autoptr(GError) error = NULL;
        g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);

        ck_assert_msg(problem == NULL, "%s", problem);
        ck_assert_ptr_null(conf);
        ck_assert_msg(g_error_matches(error, P11MUX_CONF_ERROR, (gint)cases[i].code),
                      "%s: error code %d, expected %d", cases[i].fixture, error->code,
                      cases[i].code);
    }
}
END_TEST

/* The same URI spelt differently is the same token. */
START_TEST(test_conf_ha_group_duplicate_in_another_spelling)
{
    g_autofree char *path = write_tmp(
        "spelling.conf", "[backend a]\nmodule = /lib/a.so\n[group g]\n"
                         "members = a:pkcs11:token=x;model=m a:pkcs11:model=m;token=%78\n");
    g_autofree char *expected = g_strdup_printf(
        "%s:4: member 'a:pkcs11:model=m;token=%%78' of [group g] is the token already listed as "
        "'a:pkcs11:token=x;model=m' in [group g] (line 4)",
        path);
    g_autofree char *other_backend = write_tmp(
        "other.conf", "[backend a]\nmodule = /lib/a.so\n[backend b]\nmodule = "
                      "/lib/b.so\n[group g]\nmembers = a:pkcs11:token=x b:pkcs11:token=x\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);
    g_autoptr(P11muxConf) two = NULL;

    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_CONFLICT, expected);
    g_clear_error(&error);
    two = p11mux_conf_load_file(other_backend, &error);
    assert_no_error(error);
    ck_assert_uint_eq(ha_group_at(two, 0)->members->len, 2);
}
END_TEST

/* Keys merge key by key across layers; each member keeps the file:line of
 * the layer that listed it. */
START_TEST(test_conf_ha_group_merges_across_layers)
{
    g_autofree char *system = write_tmp(
        "p11mux.conf", "[backend a]\nmodule = /lib/a.so\n[backend b]\nmodule = /lib/b.so\n\n"
                       "[group g]\nmembers = a:pkcs11:token=x b:pkcs11:token=x\n"
                       "dispatch = primary\ncall-timeout = 5s\n");
    g_autofree char *user = write_tmp("user.conf", "[group g]\ndispatch = round-robin\n"
                                                   "standby = b:pkcs11:token=y\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = load_tmp("p11mux.conf", NULL, "user.conf", NULL, &error);
    const P11muxConfHaGroup *group;

    assert_no_error(error);
    ck_assert_uint_eq(conf->ha_groups->len, 1);
    group = ha_group_at(conf, 0);
    ck_assert_str_eq(group->origin.file, system);
    ck_assert_int_eq(group->origin.line, 6);
    ck_assert_int_eq(group->dispatch, P11MUX_HA_DISPATCH_ROUND_ROBIN);
    ck_assert_str_eq(p11mux_conf_lookup(conf, "group g", "dispatch")->origin.file, user);
    ck_assert_int_eq(group->call_timeout_us, 5 * G_USEC_PER_SEC);
    ck_assert_uint_eq(group->n_members, 2);
    assert_member(member_at(group, 0), "a", "pkcs11:token=x", FALSE, system, 7);
    assert_member(member_at(group, 1), "b", "pkcs11:token=x", FALSE, system, 7);
    assert_member(member_at(group, 2), "b", "pkcs11:token=y", TRUE, user, 3);
}
END_TEST

/* A later layer's members replaces the earlier list as a whole, and the
 * checks judge the merged result, citing the file of each line. */
START_TEST(test_conf_ha_group_checked_after_merging)
{
    g_autofree char *system = write_tmp(
        "p11mux.conf", "[backend a]\nmodule = /lib/a.so\n\n"
                       "[group g]\nmembers = a:pkcs11:token=x a:pkcs11:token=y\nmin-active = 2\n");
    g_autofree char *user = write_tmp("user.conf", "# one member left\n[group g]\n"
                                                   "members = a:pkcs11:token=x\n");
    g_autofree char *other = write_tmp("other.conf", "[group h]\nmembers = a:pkcs11:token=z\n"
                                                     "[group i]\nmembers = a:pkcs11:token=y\n");
    g_autofree char *expected =
        g_strdup_printf("%s:6: min-active = 2 in [group g], which has 1 member in members", system);
    g_autofree char *duplicate = g_strdup_printf(
        "%s:4: member 'a:pkcs11:token=y' of [group i] is the token already listed as "
        "'a:pkcs11:token=y' in [group g] (%s:5)",
        other, system);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = load_tmp("p11mux.conf", NULL, "user.conf", NULL, &error);

    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_VALUE, expected);
    g_clear_error(&error);
    conf = load_tmp("p11mux.conf", NULL, "other.conf", NULL, &error);
    ck_assert_ptr_null(conf);
    assert_error(error, P11MUX_CONF_ERROR_CONFLICT, duplicate);
}
END_TEST

/* A member may name a backend defined in another layer, and with
 * import-p11-kit one the import will add: checked once backends are known. */
START_TEST(test_conf_ha_group_backend_checked_after_import)
{
    g_autofree char *path = write_tmp("import.conf", "[global]\nimport-p11-kit = true\n"
                                                     "[backend a]\nmodule = /lib/a.so\n"
                                                     "[group g]\n"
                                                     "members = a:pkcs11:token=x "
                                                     "registered:pkcs11:token=y\n");
    g_autofree char *expected = g_strdup_printf(
        "%s:6: member 'registered:pkcs11:token=y' of [group g]: no backend 'registered' (no "
        "[backend registered] group, nor a module of that name registered with p11-kit)",
        path);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);
    P11muxConfBackend *imported;

    assert_no_error(error);
    ck_assert(!p11mux_conf_check_ha_backends(conf, &error));
    assert_error(error, P11MUX_CONF_ERROR_VALUE, expected);
    g_clear_error(&error);
    /* as p11mux_p11kit_import adds a registered module */
    imported = g_new0(P11muxConfBackend, 1);
    imported->name = g_strdup("registered");
    imported->module = g_strdup("/lib/registered.so");
    imported->enabled = TRUE;
    g_ptr_array_add(conf->backends, imported);
    ck_assert(p11mux_conf_check_ha_backends(conf, &error));
    assert_no_error(error);
}
END_TEST

START_TEST(test_conf_duration_units)
{
    gint64 us = 0;

    ck_assert(p11mux_conf_parse_duration("2min", &us));
    ck_assert_int_eq(us, 120 * G_USEC_PER_SEC);
    ck_assert(p11mux_conf_parse_duration("60min", &us));
    ck_assert_int_eq(us, G_GINT64_CONSTANT(3600) * G_USEC_PER_SEC);
    ck_assert(p11mux_conf_parse_duration("7", &us));
    ck_assert_int_eq(us, 7 * G_USEC_PER_SEC);
    ck_assert(p11mux_conf_parse_duration("250ms", &us));
    ck_assert_int_eq(us, 250 * 1000);
    ck_assert(!p11mux_conf_parse_duration("61min", &us));
    ck_assert(!p11mux_conf_parse_duration("1h", &us));
    ck_assert(!p11mux_conf_parse_duration("5m", &us));
    ck_assert(!p11mux_conf_parse_duration("0min", &us));
    ck_assert(!p11mux_conf_parse_duration("min", &us));
}
END_TEST

static Suite *
conf_suite(void)
{
    Suite *suite = suite_create("conf");
    TCase *files = tcase_create("files");
    TCase *layers = tcase_create("layers");
    TCase *ha = tcase_create("ha-groups");

    tcase_add_unchecked_fixture(files, setup_case_dir, teardown_case_dir);
    tcase_add_checked_fixture(files, setup_tmpdir, teardown_tmpdir);
    tcase_add_test(files, test_conf_good_fixtures_load);
    tcase_add_test(files, test_conf_init_timeout_is_global_or_per_backend);
    tcase_add_test(files, test_conf_bad_fixtures_fail_as_stated);
    tcase_add_test(files, test_conf_fixture_check_rejects_wrong_expectation);
    tcase_add_test(files, test_conf_full_fixture_values);
    tcase_add_test(files, test_conf_minimal_fixture_defaults);
    tcase_add_test(files, test_conf_nss_init_string_intact);
    tcase_add_test(files, test_conf_layout_fixture_spacing_and_disabled);
    tcase_add_test(files, test_conf_values_are_raw);
    tcase_add_test(files, test_conf_crlf_line_endings);
    tcase_add_test(files, test_conf_lone_cr_at_end_judged_as_gkeyfile_does);
    tcase_add_test(files, test_conf_empty_file_gives_defaults);
    tcase_add_test(files, test_conf_invalid_utf8_is_refused);
    tcase_add_test(files, test_conf_nul_byte_is_refused);
    tcase_add_test(files, test_conf_missing_file_is_an_error);
    tcase_add_test(files, test_conf_error_codes);
    tcase_add_test(files, test_conf_lookup_cites_origin);
    tcase_add_test(files, test_conf_group_labels_in_order);
    tcase_add_test(files, test_conf_known_keys_table_is_consistent);
    tcase_add_test(files, test_conf_known_keys_are_accepted);
    tcase_add_test(files, test_conf_key_check_messages);
    suite_add_tcase(suite, files);

    tcase_add_unchecked_fixture(layers, setup_case_dir, teardown_case_dir);
    tcase_add_checked_fixture(layers, setup_tmpdir, teardown_tmpdir);
    tcase_add_test(layers, test_conf_layers_merge_in_order);
    tcase_add_test(layers, test_conf_conf_d_in_strcmp_order_and_only_conf);
    tcase_add_test(layers, test_conf_later_layer_disables_backend);
    tcase_add_test(layers, test_conf_conflict_judged_after_merging);
    tcase_add_test(layers, test_conf_conflict_across_layers);
    tcase_add_test(layers, test_conf_conflict_through_symlink);
    tcase_add_test(layers, test_conf_missing_module_after_merging);
    tcase_add_test(layers, test_conf_user_config_none_ignores_user_file);
    tcase_add_test(layers, test_conf_user_config_only_discards_system);
    tcase_add_test(layers, test_conf_user_config_only_without_user_file_keeps_system);
    tcase_add_test(layers, test_conf_user_config_refused_in_user_file);
    tcase_add_test(layers, test_conf_user_config_none_in_extra_file_ignores_user_file);
    tcase_add_test(layers, test_conf_user_config_in_extra_file_overrides_system);
    tcase_add_test(layers, test_conf_missing_optional_files_skipped);
    tcase_add_test(layers, test_conf_null_paths_skipped);
    tcase_add_test(layers, test_conf_missing_extra_file_fails);
    tcase_add_test(layers, test_conf_unreadable_extra_file_fails);
    tcase_add_test(layers, test_conf_unreadable_system_file_fails);
    tcase_add_test(layers, test_conf_malformed_layer_fails_whole_load);
    tcase_add_test(layers, test_conf_paths_default);
    tcase_add_test(layers, test_conf_paths_default_extra_from_environment);
    tcase_add_test(layers, test_conf_paths_default_follow_the_site);
    tcase_add_test(layers, test_conf_standalone_extra_file_is_the_only_layer);
    tcase_add_test(layers, test_conf_standalone_refused_under_stricter_only);
    tcase_add_test(layers, test_conf_standalone_only_in_the_extra_file);
    suite_add_tcase(suite, layers);

    tcase_add_unchecked_fixture(ha, setup_case_dir, teardown_case_dir);
    tcase_add_checked_fixture(ha, setup_tmpdir, teardown_tmpdir);
    tcase_add_test(ha, test_conf_ha_group_every_key);
    tcase_add_test(ha, test_conf_ha_group_defaults);
    tcase_add_test(ha, test_conf_ha_group_long_name_label);
    tcase_add_test(ha, test_conf_ha_group_refusals);
    tcase_add_test(ha, test_conf_ha_group_duplicate_in_another_spelling);
    tcase_add_test(ha, test_conf_ha_group_merges_across_layers);
    tcase_add_test(ha, test_conf_ha_group_checked_after_merging);
    tcase_add_test(ha, test_conf_ha_group_backend_checked_after_import);
    tcase_add_test(ha, test_conf_duration_units);
    suite_add_tcase(suite, ha);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(conf_suite());
    int failed;

    srunner_run_all(runner, CK_ENV);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
