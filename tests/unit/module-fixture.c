#include "config.h"

#include "module-fixture.h"

#include <check.h>
#include <dlfcn.h>
#include <glib/gstdio.h>
#include <string.h>

static char *tmpdir;

const char *
fixture_tmpdir(void)
{
    if (tmpdir == NULL) {
        tmpdir = g_dir_make_tmp("p11mux-test-XXXXXX", NULL);
        ck_assert_ptr_nonnull(tmpdir);
        g_setenv("XDG_CONFIG_HOME", tmpdir, TRUE);
    }
    return tmpdir;
}

char *
fixture_path(const char *name)
{
    return g_build_filename(fixture_tmpdir(), name, NULL);
}

char *
fixture_write(const char *name, const char *text)
{
    char *path = fixture_path(name);

    ck_assert(g_file_set_contents(path, text, -1, NULL));
    return path;
}

char *
fixture_copy_mock(const char *name, const char *conf)
{
    g_autofree char *src = g_build_filename(g_getenv("top_builddir"), "tests", "mock", ".libs",
                                            "libp11mux-mock.so", NULL);
    g_autofree char *so_name = g_strdup_printf("%s.so", name);
    g_autofree char *conf_name = g_strdup_printf("%s.conf", name);
    g_autofree char *contents = NULL;
    g_autofree char *conf_path = NULL;
    char *dst = fixture_path(so_name);
    gsize length;

    ck_assert_msg(g_file_get_contents(src, &contents, &length, NULL), "no mock at %s", src);
    ck_assert(g_file_set_contents(dst, contents, (gssize)length, NULL));
    conf_path = fixture_write(conf_name, conf);
    return dst;
}

void *
fixture_load_p11mux(void)
{
    g_autofree char *module =
        g_build_filename(g_getenv("top_builddir"), "modules", ".libs", "p11mux.so", NULL);
    void *dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);

    ck_assert_msg(dl != NULL, "%s", dlerror());
    return dl;
}

CK_SLOT_ID
fixture_slot_by_label(CK_FUNCTION_LIST_PTR p11, const char *label)
{
    CK_SLOT_ID slots[32];
    CK_ULONG count = G_N_ELEMENTS(slots), i;
    CK_TOKEN_INFO info;
    char padded[32];
    gsize n = strlen(label);

    ck_assert_uint_le(n, sizeof(padded));
    memset(padded, ' ', sizeof(padded));
    memcpy(padded, label, n);
    ck_assert_uint_eq(p11->C_GetSlotList(CK_TRUE, slots, &count), CKR_OK);
    for (i = 0; i < count; i++) {
        if (p11->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
            memcmp(info.label, padded, sizeof(padded)) == 0) {
            return slots[i];
        }
    }
    ck_abort_msg("no token labelled %s", label);
    return 0;
}

void
fixture_cleanup(void)
{
    GDir *dir = tmpdir != NULL ? g_dir_open(tmpdir, 0, NULL) : NULL;
    const char *name;

    if (dir == NULL) {
        return;
    }
    while ((name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *path = fixture_path(name);

        g_unlink(path);
    }
    g_dir_close(dir);
    g_rmdir(tmpdir);
    g_clear_pointer(&tmpdir, g_free);
}

int
fixture_run_suite(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    int failed;

    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    fixture_cleanup();
    return failed == 0 ? 0 : 1;
}
