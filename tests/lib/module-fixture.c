#include "config.h"

#include "module-fixture.h"

#include <check.h>
#include <string.h>

#include "scratch.h"

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
    g_autoptr(GError) error = NULL;
    char *path = scratch_write(fixture_tmpdir(), name, text, -1, 0700, -1, &error);

    ck_assert_msg(path != NULL, "%s", error != NULL ? error->message : name);
    return path;
}

char *
fixture_copy_mock(const char *name, const char *conf)
{
    g_autoptr(GError) error = NULL;
    char *so = scratch_copy_mock(fixture_tmpdir(), name, conf, &error);

    ck_assert_msg(so != NULL, "%s", error != NULL ? error->message : name);
    return so;
}

void *
fixture_load_p11mux(void)
{
    g_autoptr(GError) error = NULL;
    void *dl = scratch_open_p11mux(&error);

    ck_assert_msg(dl != NULL, "%s", error != NULL ? error->message : "p11mux.so");
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
    scratch_remove_tree(tmpdir);
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
