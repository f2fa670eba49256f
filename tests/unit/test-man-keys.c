/*
 * p11mux.conf(5) documents every key the configuration parser accepts, and
 * only those: in the subsection of its group (.SS "[global]", .SS "[backend
 * NAME]", ...), each key is an item ".TP" followed by ".B key".
 */
#include "config.h"

#include <check.h>
#include <glib.h>
#include <string.h>

#include "conf.h"

static char **lines;

static void
setup(void)
{
    const char *top = g_getenv("top_srcdir");
    g_autofree char *path = NULL;
    g_autofree char *contents = NULL;
    g_autoptr(GError) error = NULL;

#ifdef P11MUX_TEST_TOP_SRCDIR
    if (top == NULL) {
        top = P11MUX_TEST_TOP_SRCDIR;
    }
#endif
    ck_assert_msg(top != NULL, "top_srcdir is not set");
    path = g_build_filename(top, "man", "p11mux.conf.5", NULL);
    ck_assert_msg(g_file_get_contents(path, &contents, NULL, &error), "%s", error->message);
    lines = g_strsplit(contents, "\n", -1);
}

static void
teardown(void)
{
    g_strfreev(lines);
}

/* The index of the .SS line of group's subsection, or -1. */
static int
subsection_of(const char *group)
{
    g_autofree char *needle = g_strdup_printf("[%s", group);
    int i;

    for (i = 0; lines[i] != NULL; i++) {
        if (g_str_has_prefix(lines[i], ".SS ") && strstr(lines[i], needle) != NULL) {
            return i;
        }
    }
    return -1;
}

/* The keys documented in the subsection starting at line start. */
static GPtrArray *
documented_keys(int start)
{
    GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
    int i;

    for (i = start + 1; lines[i] != NULL && lines[i + 1] != NULL; i++) {
        if (g_str_has_prefix(lines[i], ".SS ") || g_str_has_prefix(lines[i], ".SH ")) {
            break;
        }
        if (strcmp(lines[i], ".TP") == 0 && g_str_has_prefix(lines[i + 1], ".B ")) {
            g_ptr_array_add(keys, g_strdup(lines[i + 1] + 3));
        }
    }
    return keys;
}

static gboolean
contains(GPtrArray *keys, const char *key)
{
    guint i;

    for (i = 0; i < keys->len; i++) {
        if (strcmp(g_ptr_array_index(keys, i), key) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

START_TEST(test_man_keys_every_key_is_documented)
{
    gsize n_keys, n_groups, i;
    const P11muxConfKey *keys = p11mux_conf_known_keys(&n_keys);
    const P11muxConfGroupInfo *groups = p11mux_conf_known_groups(&n_groups);

    ck_assert_uint_gt(n_keys, 5);
    for (i = 0; i < n_keys; i++) {
        const char *group = groups[keys[i].group].name;
        int start = subsection_of(group);
        g_autoptr(GPtrArray) documented = NULL;

        ck_assert_msg(start >= 0, "p11mux.conf(5) has no .SS subsection for [%s]", group);
        documented = documented_keys(start);
        ck_assert_msg(contains(documented, keys[i].name),
                      "p11mux.conf(5) does not document [%s] %s (.TP, then .B %s)", group,
                      keys[i].name, keys[i].name);
    }
}
END_TEST

START_TEST(test_man_keys_every_documented_key_exists)
{
    gsize n_keys, n_groups, g, i, k;
    const P11muxConfKey *keys = p11mux_conf_known_keys(&n_keys);
    const P11muxConfGroupInfo *groups = p11mux_conf_known_groups(&n_groups);

    for (g = 0; g < n_groups; g++) {
        int start = subsection_of(groups[g].name);
        g_autoptr(GPtrArray) documented = NULL;

        ck_assert_msg(start >= 0, "p11mux.conf(5) has no .SS subsection for [%s]", groups[g].name);
        documented = documented_keys(start);
        for (i = 0; i < documented->len; i++) {
            const char *name = g_ptr_array_index(documented, i);
            gboolean known = FALSE;

            for (k = 0; k < n_keys && !known; k++) {
                known = keys[k].group == groups[g].kind && strcmp(keys[k].name, name) == 0;
            }
            ck_assert_msg(known, "p11mux.conf(5) documents [%s] %s, which the parser refuses",
                          groups[g].name, name);
        }
    }
}
END_TEST

static Suite *
man_keys_suite(void)
{
    Suite *s = suite_create("man-keys");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_man_keys_every_key_is_documented);
    tcase_add_test(tc, test_man_keys_every_documented_key_exists);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *runner = srunner_create(man_keys_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
