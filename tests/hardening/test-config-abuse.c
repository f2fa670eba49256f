/*
 * Configuration abuse: what p11mux does with files and backends that are
 * not what they should be.  Each case gives a clear "FILE:LINE: message",
 * "FILE: message" or backend message, and C_Initialize either fails with
 * CKR_GENERAL_ERROR (after writing the message to stderr) or skips the
 * backend and carries on, as p11mux.conf(5) says; nothing crashes or hangs.
 *
 * - unreadable file, a directory, /dev/zero, a huge file, invalid UTF-8,
 *   NUL bytes, a symbolic link loop, thousands of groups, a 900 KiB value;
 * - a backend path that is missing, a directory, a text file, a library
 *   without C_GetFunctionList, one whose C_GetFunctionList fails or gives
 *   no list or a list without C_Initialize, one whose C_Initialize fails,
 *   p11mux itself; each skipped with its message (or fatal when critical);
 * - system files (the system file and conf.d, and the directories above
 *   them) writable by other users, or owned by another user: refused, as
 *   sudo and ssh refuse theirs; the user's and the extra file are not
 *   checked (they are the user's own choice).
 */
#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "p11mux-pkcs11.h"
#include "scratch.h"

#define NOBODY 65534
#define STRANGER 4242

static char *case_dir;
static char *tmpdir;
static CK_FUNCTION_LIST_PTR p11;

/* ------------------------------------------------------------ helpers */

/* In the parent: one directory for the whole run, removed with everything. */
static void
setup_case_dir(void)
{
    /* a test that drops its privileges must still get through */
    case_dir = scratch_make_dir(NULL, "p11mux-config-abuse-XXXXXX", 0711, NULL);
    g_assert(case_dir != NULL);
}

static void
teardown_case_dir(void)
{
    scratch_remove_tree(case_dir);
    g_clear_pointer(&case_dir, g_free);
}

/* In each test's process: a fresh directory, the environment pointing into
 * it, and p11mux.so loaded. */
static void
setup(void)
{
    g_autoptr(GError) error = NULL;
    CK_C_GetFunctionList get_function_list;
    void *dl;

    tmpdir = scratch_make_dir(case_dir, "test-XXXXXX", 0711, &error);
    ck_assert_msg(tmpdir != NULL, "%s", error->message);
    g_setenv("XDG_CONFIG_HOME", tmpdir, TRUE);
    g_unsetenv("P11MUX_CONF");
    dl = scratch_open_p11mux(&error);
    ck_assert_msg(dl != NULL, "%s", error->message);
    get_function_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    ck_assert_uint_eq(get_function_list(&p11), CKR_OK);
}

static void
teardown(void)
{
    g_clear_pointer(&tmpdir, g_free);
}

static char *
tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static char *
write_data(const char *name, const char *data, gssize length, int mode)
{
    g_autoptr(GError) error = NULL;
    char *path = scratch_write(tmpdir, name, data, length, 0755, mode, &error);

    ck_assert_msg(path != NULL, "%s", error->message);
    return path;
}

static char *
write_text(const char *name, const char *text)
{
    return write_data(name, text, -1, 0644);
}

/* C_Initialize with P11MUX_CONF=conf (NULL: unset), what p11mux wrote to
 * stderr in *output (transfer full). */
static CK_RV
initialize(const char *conf, char **output)
{
    g_autofree char *log = tmp_path("stderr.log");
    int saved = dup(STDERR_FILENO);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CK_RV rv;

    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(fd, 0);
    if (conf != NULL) {
        g_setenv("P11MUX_CONF", conf, TRUE);
    } else {
        g_unsetenv("P11MUX_CONF");
    }
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    rv = p11->C_Initialize(NULL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    ck_assert(g_file_get_contents(log, output, NULL, NULL));
    return rv;
}

/* C_Initialize fails with CKR_GENERAL_ERROR and says message on stderr. */
static void
assert_initialize_fails(const char *conf, const char *message)
{
    g_autofree char *output = NULL;
    CK_RV rv = initialize(conf, &output);

    ck_assert_msg(rv == CKR_GENERAL_ERROR, "C_Initialize: 0x%lx, stderr: %s", rv, output);
    ck_assert_msg(strstr(output, message) != NULL, "stderr '%s' lacks '%s'", output, message);
}

/* p11mux_conf_load_file fails with a message starting with prefix and
 * holding part (nullable). */
static void
assert_load_fails(const char *path, const char *prefix, const char *part)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_conf_load_file(path, &error);

    ck_assert_msg(conf == NULL, "%s loaded", path);
    ck_assert(error != NULL);
    ck_assert_msg(g_str_has_prefix(error->message, prefix), "'%s' does not start with '%s'",
                  error->message, prefix);
    ck_assert_msg(part == NULL || strstr(error->message, part) != NULL, "'%s' lacks '%s'",
                  error->message, part);
}

/* ------------------------------------------------------- unreadable files */

START_TEST(test_abuse_unreadable_file)
{
    g_autofree char *path = write_data("p11mux.conf", "[global]\n", -1, 0000);
    g_autofree char *prefix = g_strdup_printf("%s: cannot read: ", path);

    /* root reads anything: become nobody (this process is the test's own) */
    if (geteuid() == 0) {
        /* where initialize() keeps stderr */
        ck_assert_int_eq(g_chmod(tmpdir, 01777), 0);
        ck_assert_int_eq(setgid(NOBODY), 0);
        ck_assert_int_eq(setuid(NOBODY), 0);
    }
    assert_load_fails(path, prefix, g_strerror(EACCES));
    assert_initialize_fails(path, prefix);
}
END_TEST

START_TEST(test_abuse_directory_instead_of_file)
{
    g_autofree char *path = tmp_path("p11mux.conf");
    g_autofree char *prefix = g_strdup_printf("%s: cannot read: ", path);

    ck_assert_int_eq(g_mkdir(path, 0755), 0);
    assert_load_fails(path, prefix, g_strerror(EISDIR));
    assert_initialize_fails(path, prefix);
}
END_TEST

START_TEST(test_abuse_endless_file)
{
    assert_load_fails("/dev/zero", "/dev/zero: cannot read: ", "larger than 1 MiB");
    assert_initialize_fails("/dev/zero", "/dev/zero: cannot read: larger than 1 MiB");
}
END_TEST

START_TEST(test_abuse_symlink_loop)
{
    g_autofree char *path = tmp_path("loop.conf");
    g_autofree char *prefix = g_strdup_printf("%s: cannot read: ", path);

    ck_assert_int_eq(symlink(path, path), 0);
    assert_load_fails(path, prefix, g_strerror(ELOOP));
    assert_initialize_fails(path, prefix);
}
END_TEST

START_TEST(test_abuse_huge_file)
{
    gsize size = 1024 * 1024 + 1;
    g_autofree char *data = g_malloc(size);
    g_autofree char *path = NULL;
    g_autofree char *prefix = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    /* comment lines: 1 MiB + 1 is refused, 1 MiB is read */
    memset(data, '#', size);
    for (gsize i = 79; i < size; i += 80) {
        data[i] = '\n';
    }
    path = write_data("huge.conf", data, (gssize)size, 0644);
    prefix = g_strdup_printf("%s: cannot read: larger than 1 MiB", path);
    assert_load_fails(path, prefix, NULL);
    assert_initialize_fails(path, prefix);
    g_free(path);
    path = write_data("big.conf", data, (gssize)size - 1, 0644);
    conf = p11mux_conf_load_file(path, &error);
    ck_assert_msg(conf != NULL, "%s", error->message);
}
END_TEST

START_TEST(test_abuse_invalid_utf8)
{
    g_autofree char *path = write_text("utf8.conf", "[global]\n# fine\ntrace-format = te\xffxt\n");
    g_autofree char *prefix = g_strdup_printf("%s:3: ", path);

    assert_load_fails(path, prefix, "not valid UTF-8");
    assert_initialize_fails(path, prefix);
}
END_TEST

START_TEST(test_abuse_nul_bytes)
{
    static const char data[] = "[global]\nuser-config = no\0ne\n";
    g_autofree char *path = write_data("nul.conf", data, sizeof data - 1, 0644);
    g_autofree char *prefix = g_strdup_printf("%s:2: ", path);

    assert_load_fails(path, prefix, NULL);
    assert_initialize_fails(path, prefix);
}
END_TEST

START_TEST(test_abuse_thousands_of_groups)
{
    GString *text = g_string_new("[global]\nuser-config = none\n");
    g_autofree char *path = NULL;
    g_autofree char *bad = NULL;
    g_autofree char *prefix = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;
    gint64 start;

    for (guint i = 0; i < 10000; i++) {
        g_string_append_printf(text, "[backend b%u]\nmodule = /nonexistent/lib%u.so\n", i, i);
    }
    path = write_text("many.conf", text->str);
    start = g_get_monotonic_time();
    conf = p11mux_conf_load_file(path, &error);
    ck_assert_msg(conf != NULL, "%s", error->message);
    ck_assert_uint_eq(conf->backends->len, 10000);
    ck_assert_msg(g_get_monotonic_time() - start < 20 * G_USEC_PER_SEC, "10,000 groups: %.1f s",
                  (g_get_monotonic_time() - start) / 1e6);
    /* an error in the last one still names its line */
    g_string_append(text, "[backend b0]\n");
    bad = write_text("many-bad.conf", text->str);
    prefix = g_strdup_printf("%s:%u: group [backend b0] repeated (first at line 3)", bad,
                             2 + 2 * 10000 + 1);
    assert_load_fails(bad, prefix, NULL);
    g_string_free(text, TRUE);
}
END_TEST

START_TEST(test_abuse_thousand_missing_backends_are_skipped)
{
    GString *text = g_string_new("[global]\nuser-config = none\n");
    g_autofree char *path = NULL;
    g_autofree char *output = NULL;
    g_auto(GStrv) lines = NULL;
    CK_ULONG count = 99;

    for (guint i = 0; i < 1000; i++) {
        g_string_append_printf(text, "[backend b%u]\nmodule = /nonexistent/lib%u.so\n", i, i);
    }
    path = write_text("missing.conf", text->str);
    ck_assert_uint_eq(initialize(path, &output), CKR_OK);
    lines = g_strsplit(output, "\n", -1);
    ck_assert_uint_eq(g_strv_length(lines), 1000 + 1);
    ck_assert_msg(g_str_has_prefix(lines[999], "p11mux: backend 'b999' (/nonexistent/lib999.so): "
                                               "cannot load: "),
                  "%s", lines[999]);
    ck_assert_uint_eq(p11->C_GetSlotList(CK_FALSE, NULL, &count), CKR_OK);
    ck_assert_uint_eq(count, 0);
    ck_assert_uint_eq(p11->C_Finalize(NULL), CKR_OK);
    g_string_free(text, TRUE);
}
END_TEST

START_TEST(test_abuse_long_value)
{
    GString *text = g_string_new("[backend b]\nmodule = /nonexistent/lib.so\ninit-reserved = ");
    g_autofree char *path = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    for (guint i = 0; i < 900 * 1024; i++) {
        g_string_append_c(text, (char)('a' + i % 26));
    }
    g_string_append_c(text, '\n');
    path = write_text("long.conf", text->str);
    conf = p11mux_conf_load_file(path, &error);
    ck_assert_msg(conf != NULL, "%s", error->message);
    ck_assert_uint_eq(strlen(p11mux_conf_find_backend(conf, "b")->init_reserved), 900 * 1024);
    g_string_free(text, TRUE);
}
END_TEST

/* ------------------------------------------------------------ backends */

/* A configuration with a working mock and the backend "bad" at module. */
static char *
write_with_bad_backend(const char *module, gboolean critical)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *mock =
        scratch_copy_mock(tmpdir, "mock", "[mock]\n[slot 3]\ntoken-label = good\n", &error);
    g_autofree char *text = NULL;

    ck_assert_msg(mock != NULL, "%s", error->message);
    text = g_strdup_printf("[global]\nuser-config = none\n"
                           "[backend good]\nmodule = %s\n"
                           "[backend bad]\nmodule = %s\ncritical = %s\n",
                           mock, module, critical ? "true" : "false");
    return write_text("p11mux.conf", text);
}

/* The bad backend is skipped with a message holding reason; the good one works. */
static void
assert_backend_skipped(const char *module, const char *reason)
{
    g_autofree char *conf = write_with_bad_backend(module, FALSE);
    g_autofree char *output = NULL;
    g_autofree char *prefix = g_strdup_printf("p11mux: backend 'bad' (%s): ", module);
    CK_SLOT_ID slots[4];
    CK_ULONG count = G_N_ELEMENTS(slots);
    CK_RV rv = initialize(conf, &output);

    ck_assert_msg(rv == CKR_OK, "C_Initialize: 0x%lx, stderr: %s", rv, output);
    ck_assert_msg(g_str_has_prefix(output, prefix), "'%s' does not start with '%s'", output,
                  prefix);
    ck_assert_msg(strstr(output, reason) != NULL, "'%s' lacks '%s'", output, reason);
    ck_assert_msg(g_str_has_suffix(output, "; skipped\n"), "%s", output);
    ck_assert_uint_eq(p11->C_GetSlotList(CK_TRUE, slots, &count), CKR_OK);
    ck_assert_uint_eq(count, 1);
    ck_assert_uint_eq(p11->C_Finalize(NULL), CKR_OK);
    g_free(conf);
    conf = write_with_bad_backend(module, TRUE);
    g_free(prefix);
    prefix = g_strdup_printf("p11mux: critical backend 'bad' (%s): ", module);
    assert_initialize_fails(conf, prefix);
}

static char *
built_module(const char *name)
{
    return g_build_filename(scratch_top_builddir(), "tests", "hardening", ".libs", name, NULL);
}

START_TEST(test_abuse_backend_missing)
{
    assert_backend_skipped("/nonexistent/libmissing.so", "cannot load: ");
}
END_TEST

START_TEST(test_abuse_backend_is_a_directory)
{
    g_autofree char *dir = tmp_path("module.so");

    ck_assert_int_eq(g_mkdir(dir, 0755), 0);
    assert_backend_skipped(dir, "cannot load: ");
}
END_TEST

START_TEST(test_abuse_backend_is_a_text_file)
{
    g_autofree char *text = write_text("text.so", "not a library\n");

    assert_backend_skipped(text, "cannot load: ");
}
END_TEST

START_TEST(test_abuse_backend_without_function_list)
{
    g_autofree char *module = built_module("not-pkcs11.so");

    assert_backend_skipped(module, "not a PKCS #11 module: no C_GetFunctionList");
}
END_TEST

static const struct {
    const char *mode;
    const char *reason;
} bad_modes[] = {
    {"fail", "C_GetFunctionList failed"},
    {"null-list", "C_GetFunctionList failed"},
    {"no-initialize", "its function list has no C_Initialize or C_Finalize"},
    {"init-fails", "C_Initialize failed: "},
    {"p11mux", "this is p11mux itself; a backend cannot be p11mux"},
};

START_TEST(test_abuse_backend_bad_function_list)
{
    g_autofree char *module = built_module("bad-pkcs11.so");
    g_autofree char *self =
        g_build_filename(scratch_top_builddir(), "tests", "testable", ".libs", "p11mux.so", NULL);

    g_setenv("BAD_MODULE_MODE", bad_modes[_i].mode, TRUE);
    g_setenv("BAD_MODULE_P11MUX", self, TRUE);
    assert_backend_skipped(module, bad_modes[_i].reason);
}
END_TEST

/* ------------------------------------------------- system files' owners */

static P11muxConf *
load_system(const char *system_file, const char *system_dir, const char *user_file,
            const char *extra_file, GError **error)
{
    g_autofree char *a = system_file != NULL ? tmp_path(system_file) : NULL;
    g_autofree char *b = system_dir != NULL ? tmp_path(system_dir) : NULL;
    g_autofree char *c = user_file != NULL ? tmp_path(user_file) : NULL;
    g_autofree char *d = extra_file != NULL ? tmp_path(extra_file) : NULL;
    P11muxConfPaths paths = {a, b, c, d};

    return p11mux_conf_load(&paths, error);
}

/* Loading the layers fails naming path and why. */
static void
assert_refused(const char *system_file, const char *system_dir, const char *file,
               const char *culprit, const char *why)
{
    g_autofree char *path = tmp_path(file);
    g_autofree char *bad = tmp_path(culprit);
    g_autofree char *expected =
        g_strdup_printf("%s: refused: %s %s; a system configuration file and the directories "
                        "above it must be writable only by root (or their owner)",
                        path, bad, why);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = load_system(system_file, system_dir, NULL, NULL, &error);

    ck_assert_msg(conf == NULL, "loaded");
    ck_assert_str_eq(error->message, expected);
    ck_assert(g_error_matches(error, P11MUX_CONF_ERROR, P11MUX_CONF_ERROR_READ));
}

static void
assert_loads(const char *system_file, const char *system_dir, const char *user_file,
             const char *extra_file)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf =
        load_system(system_file, system_dir, user_file, extra_file, &error);

    ck_assert_msg(conf != NULL, "%s", error->message);
}

START_TEST(test_abuse_system_file_writable_by_others_is_refused)
{
    g_autofree char *path = write_data("etc/p11mux.conf", "[global]\n", -1, 0666);

    assert_refused("etc/p11mux.conf", NULL, "etc/p11mux.conf", "etc/p11mux.conf",
                   "is writable by every user (mode 0666)");
    /* as it should be */
    ck_assert_int_eq(g_chmod(path, 0644), 0);
    assert_loads("etc/p11mux.conf", NULL, NULL, NULL);
}
END_TEST

START_TEST(test_abuse_system_dir_file_writable_by_others_is_refused)
{
    g_free(write_data("etc/conf.d/10-a.conf", "[global]\n", -1, 0602));
    assert_refused(NULL, "etc/conf.d", "etc/conf.d/10-a.conf", "etc/conf.d/10-a.conf",
                   "is writable by every user (mode 0602)");
}
END_TEST

START_TEST(test_abuse_system_directory_writable_by_others_is_refused)
{
    g_autofree char *dir = tmp_path("etc/conf.d");

    g_free(write_text("etc/conf.d/10-a.conf", "[global]\n"));
    g_free(write_text("etc/p11mux.conf", "[global]\n"));
    ck_assert_int_eq(g_chmod(dir, 0777), 0);
    assert_refused(NULL, "etc/conf.d", "etc/conf.d/10-a.conf", "etc/conf.d",
                   "is writable by every user (mode 0777)");
    /* the directory above the system file */
    ck_assert_int_eq(g_chmod(dir, 0755), 0);
    g_free(dir);
    dir = tmp_path("etc");
    ck_assert_int_eq(g_chmod(dir, 0757), 0);
    assert_refused("etc/p11mux.conf", NULL, "etc/p11mux.conf", "etc",
                   "is writable by every user (mode 0757)");
    /* sticky, as /tmp: others may add files, not replace this user's */
    ck_assert_int_eq(g_chmod(dir, 01777), 0);
    assert_loads("etc/p11mux.conf", "etc/conf.d", NULL, NULL);
}
END_TEST

START_TEST(test_abuse_system_file_of_another_user_or_group_is_refused)
{
    g_autofree char *path = write_data("etc/p11mux.conf", "[global]\n", -1, 0664);
    g_autofree char *why = NULL;

    if (geteuid() != 0) {
        /* chown needs root; the owner's own group may write (umask 002) */
        assert_loads("etc/p11mux.conf", NULL, NULL, NULL);
        return;
    }
    ck_assert_int_eq(chown(path, 0, STRANGER), 0);
    why = g_strdup_printf("is writable by group %u (mode 0664)", STRANGER);
    assert_refused("etc/p11mux.conf", NULL, "etc/p11mux.conf", "etc/p11mux.conf", why);
    ck_assert_int_eq(chown(path, STRANGER, 0), 0);
    ck_assert_int_eq(g_chmod(path, 0644), 0);
    g_free(why);
    why = g_strdup_printf("is owned by uid %u, neither root nor this process's user", STRANGER);
    assert_refused("etc/p11mux.conf", NULL, "etc/p11mux.conf", "etc/p11mux.conf", why);
    /* root's group may write */
    ck_assert_int_eq(chown(path, 0, 0), 0);
    ck_assert_int_eq(g_chmod(path, 0664), 0);
    assert_loads("etc/p11mux.conf", NULL, NULL, NULL);
}
END_TEST

/* The user's file, and the one P11MUX_CONF or config= names (or a file
 * given alone), are trusted on the same terms as the system's: whoever can
 * write them chooses the libraries p11mux loads. */
START_TEST(test_abuse_user_and_extra_files_writable_by_others_are_refused)
{
    g_autofree char *user = write_data("user.conf", "[global]\n", -1, 0666);
    g_autofree char *extra = write_data("extra.conf", "[global]\n", -1, 0646);
    g_autofree char *expected_user = g_strdup_printf(
        "%s: refused: %s is writable by every user (mode 0666); the user's configuration file "
        "and the directories above it must be writable only by the user (or root): whoever can "
        "write it chooses the libraries the user's programs load",
        user, user);
    g_autofree char *expected_extra = g_strdup_printf(
        "%s: refused: %s is writable by every user (mode 0646); a configuration file named by "
        "P11MUX_CONF or config= (or given alone) and the directories above it must be writable "
        "only by their owner (or root): whoever can write it chooses the libraries p11mux loads",
        extra, extra);
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = load_system(NULL, NULL, "user.conf", NULL, &error);

    ck_assert_ptr_null(conf);
    ck_assert_str_eq(error->message, expected_user);
    g_clear_error(&error);
    conf = load_system(NULL, NULL, NULL, "extra.conf", &error);
    ck_assert_ptr_null(conf);
    ck_assert_str_eq(error->message, expected_extra);
    g_clear_error(&error);
    conf = p11mux_conf_load_file(extra, &error);
    ck_assert_ptr_null(conf);
    ck_assert_str_eq(error->message, expected_extra);
    /* as they should be */
    ck_assert_int_eq(g_chmod(user, 0644), 0);
    ck_assert_int_eq(g_chmod(extra, 0600), 0);
    assert_loads(NULL, NULL, "user.conf", "extra.conf");
}
END_TEST

static Suite *
abuse_suite(void)
{
    Suite *suite = suite_create("config-abuse");
    TCase *files = tcase_create("files");
    TCase *backends = tcase_create("backends");
    TCase *system = tcase_create("system");

    tcase_add_unchecked_fixture(files, setup_case_dir, teardown_case_dir);
    tcase_add_checked_fixture(files, setup, teardown);
    tcase_set_timeout(files, 300);
    tcase_add_test(files, test_abuse_unreadable_file);
    tcase_add_test(files, test_abuse_directory_instead_of_file);
    tcase_add_test(files, test_abuse_endless_file);
    tcase_add_test(files, test_abuse_symlink_loop);
    tcase_add_test(files, test_abuse_huge_file);
    tcase_add_test(files, test_abuse_invalid_utf8);
    tcase_add_test(files, test_abuse_nul_bytes);
    tcase_add_test(files, test_abuse_thousands_of_groups);
    tcase_add_test(files, test_abuse_thousand_missing_backends_are_skipped);
    tcase_add_test(files, test_abuse_long_value);
    suite_add_tcase(suite, files);

    tcase_add_unchecked_fixture(backends, setup_case_dir, teardown_case_dir);
    tcase_add_checked_fixture(backends, setup, teardown);
    tcase_add_test(backends, test_abuse_backend_missing);
    tcase_add_test(backends, test_abuse_backend_is_a_directory);
    tcase_add_test(backends, test_abuse_backend_is_a_text_file);
    tcase_add_test(backends, test_abuse_backend_without_function_list);
    tcase_add_loop_test(backends, test_abuse_backend_bad_function_list, 0, G_N_ELEMENTS(bad_modes));
    suite_add_tcase(suite, backends);

    tcase_add_unchecked_fixture(system, setup_case_dir, teardown_case_dir);
    tcase_add_checked_fixture(system, setup, teardown);
    tcase_add_test(system, test_abuse_system_file_writable_by_others_is_refused);
    tcase_add_test(system, test_abuse_system_dir_file_writable_by_others_is_refused);
    tcase_add_test(system, test_abuse_system_directory_writable_by_others_is_refused);
    tcase_add_test(system, test_abuse_system_file_of_another_user_or_group_is_refused);
    tcase_add_test(system, test_abuse_user_and_extra_files_writable_by_others_are_refused);
    suite_add_tcase(suite, system);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(abuse_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
