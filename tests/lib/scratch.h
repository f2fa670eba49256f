/*
 * Scratch directories for the tests (unit, hardening, fuzz): making one,
 * writing files into it, copying the built mock backend into it, removing
 * it with all it holds.  No Check here: the fuzz targets use it too, and
 * each caller asserts in its own way.
 */
#ifndef P11MUX_SCRATCH_H
#define P11MUX_SCRATCH_H

#include <glib.h>

/* The build tree: $top_builddir (set by `make check`), else the one the
 * caller was compiled for (P11MUX_TEST_TOP_BUILDDIR), else "." (transfer
 * none). */
const char *scratch_top_builddir(void);

/* A new directory from template (ending in XXXXXX) inside parent (NULL:
 * the system's temporary directory), then given mode; NULL and error on
 * failure (transfer full). */
char *scratch_make_dir(const char *parent, const char *template, int mode, GError **error);

/* Remove path and all below it: directories are made accessible first,
 * links are removed, not followed.  Missing is fine. */
void scratch_remove_tree(const char *path);

/* Write length bytes of data (-1: a string) to dir/name, making missing
 * directories on the way with dir_mode, then chmod the file to mode (-1:
 * leave it as created); its path (transfer full), NULL and error on
 * failure. */
char *scratch_write(const char *dir, const char *name, const char *data, gssize length,
                    int dir_mode, int mode, GError **error);

/* Copy the built mock backend to dir/NAME.so, with conf (nullable: none)
 * in dir/NAME.conf beside it, where the mock looks for its configuration;
 * the .so's path (transfer full), NULL and error on failure. */
char *scratch_copy_mock(const char *dir, const char *name, const char *conf, GError **error);

/* dlopen() the built p11mux.so (RTLD_NOW | RTLD_LOCAL); NULL with the
 * loader's message in error.  The handle stays open. */
void *scratch_open_p11mux(GError **error);

#endif /* P11MUX_SCRATCH_H */
