/*
 * Scratch directories for the tests (scratch.h).
 */
#include "config.h"

#include "scratch.h"

#include <dlfcn.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#ifndef P11MUX_TEST_TOP_BUILDDIR
#define P11MUX_TEST_TOP_BUILDDIR "."
#endif

const char *
scratch_top_builddir(void)
{
    const char *dir = g_getenv("top_builddir");

    return dir != NULL && *dir != '\0' ? dir : P11MUX_TEST_TOP_BUILDDIR;
}

static gboolean
set_error_from_errno(GError **error, const char *what, const char *path)
{
    int saved = errno;

    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s %s: %s", what, path,
                g_strerror(saved));
    return FALSE;
}

char *
scratch_make_dir(const char *parent, const char *template, int mode, GError **error)
{
    char *dir;

    if (parent == NULL) {
        dir = g_dir_make_tmp(template, error);
    } else {
        dir = g_build_filename(parent, template, NULL);
        if (g_mkdtemp(dir) == NULL) {
            set_error_from_errno(error, "cannot make", dir);
            g_clear_pointer(&dir, g_free);
        }
    }
    if (dir != NULL && g_chmod(dir, mode) != 0) {
        set_error_from_errno(error, "cannot chmod", dir);
        scratch_remove_tree(dir);
        g_clear_pointer(&dir, g_free);
    }
    return dir;
}

void
scratch_remove_tree(const char *path)
{
    GStatBuf st;
    GDir *dir;
    const char *name;

    if (path == NULL || g_lstat(path, &st) != 0) {
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        g_remove(path);
        return;
    }
    g_chmod(path, 0700);
    dir = g_dir_open(path, 0, NULL);
    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *child = g_build_filename(path, name, NULL);

        scratch_remove_tree(child);
    }
    if (dir != NULL) {
        g_dir_close(dir);
    }
    g_rmdir(path);
}

char *
scratch_write(const char *dir, const char *name, const char *data, gssize length, int dir_mode,
              int mode, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *parent = g_path_get_dirname(path);

    if (g_mkdir_with_parents(parent, dir_mode) != 0) {
        set_error_from_errno(error, "cannot make", parent);
        return NULL;
    }
    if (!g_file_set_contents(path, data, length, error)) {
        return NULL;
    }
    if (mode != -1 && g_chmod(path, mode) != 0) {
        set_error_from_errno(error, "cannot chmod", path);
        return NULL;
    }
    return g_steal_pointer(&path);
}

char *
scratch_copy_mock(const char *dir, const char *name, const char *conf, GError **error)
{
    g_autofree char *src = g_build_filename(scratch_top_builddir(), "tests", "mock", ".libs",
                                            "libp11mux-mock.so", NULL);
    g_autofree char *so_name = g_strdup_printf("%s.so", name);
    g_autofree char *conf_name = g_strdup_printf("%s.conf", name);
    g_autofree char *contents = NULL;
    g_autofree char *conf_path = NULL;
    gsize length;

    if (!g_file_get_contents(src, &contents, &length, error)) {
        return NULL;
    }
    if (conf != NULL &&
        (conf_path = scratch_write(dir, conf_name, conf, -1, 0700, -1, error)) == NULL) {
        return NULL;
    }
    return scratch_write(dir, so_name, contents, (gssize)length, 0700, -1, error);
}

void *
scratch_open_p11mux(GError **error)
{
    g_autofree char *module =
        g_build_filename(scratch_top_builddir(), "tests", "testable", ".libs", "p11mux.so", NULL);
    void *dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);

    if (dl == NULL) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s", dlerror());
    }
    return dl;
}
