/*
 * The main() of a fuzz target built without libFuzzer (plain gcc, `make
 * check`): it runs LLVMFuzzerTestOneInput once on every file of the
 * target's checked-in corpus, $top_srcdir/tests/fuzz/corpus/NAME for the
 * program fuzz-NAME, or on the files and directories given as arguments
 * (to replay a crash found by libFuzzer with a plain build).
 *
 * It is weak: linked with -fsanitize=fuzzer, libFuzzer's main() wins.
 */
#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef P11MUX_TEST_TOP_SRCDIR
#define P11MUX_TEST_TOP_SRCDIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static guint replayed;

static gboolean
replay_file(const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *contents = NULL;
    gsize length;

    if (!g_file_get_contents(path, &contents, &length, &error)) {
        fprintf(stderr, "replay: %s\n", error->message);
        return FALSE;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)contents, length);
    replayed++;
    return TRUE;
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static gboolean
replay_path(const char *path)
{
    g_autoptr(GPtrArray) names = NULL;
    GDir *dir;
    const char *name;
    gboolean ok = TRUE;

    if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
        return replay_file(path);
    }
    dir = g_dir_open(path, 0, NULL);
    if (dir == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return FALSE;
    }
    names = g_ptr_array_new_with_free_func(g_free);
    while ((name = g_dir_read_name(dir)) != NULL) {
        g_ptr_array_add(names, g_build_filename(path, name, NULL));
    }
    g_dir_close(dir);
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        ok = replay_path(g_ptr_array_index(names, i)) && ok;
    }
    return ok;
}

__attribute__((weak)) int
main(int argc, char **argv)
{
    g_autofree char *program = g_path_get_basename(argv[0]);
    const char *srcdir = g_getenv("top_srcdir");
    gboolean ok = TRUE;

    if (LLVMFuzzerInitialize != NULL) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            ok = replay_path(argv[i]) && ok;
        }
    } else {
        /* fuzz-NAME (libtool may call it lt-fuzz-NAME) */
        const char *name = strstr(program, "fuzz-");
        g_autofree char *corpus = g_build_filename(
            srcdir != NULL && *srcdir != '\0' ? srcdir : P11MUX_TEST_TOP_SRCDIR, "tests", "fuzz",
            "corpus", name != NULL ? name + strlen("fuzz-") : program, NULL);

        ok = replay_path(corpus);
    }
    printf("%s: replayed %u inputs\n", program, replayed);
    return ok && replayed > 0 ? 0 : 1;
}
