/*
 * Fuzz target: the configuration loader (src/config/conf.c), whole files and all
 * layers.  The input is up to five files separated by a line "----8<----":
 * the system file, conf.d/10.conf, conf.d/20.conf, the user's file and the
 * extra file (P11MUX_CONF); one file alone is loaded both as the only file
 * (p11mux_conf_load_file) and as the extra layer.
 *
 * Invariants (abort on violation):
 * - a refused configuration says where: its message (from loading, or from
 *   compiling the policies of an accepted one, their values' only check)
 *   starts with one of the files' paths followed by ": " or ":LINE: " with
 *   1 <= LINE <= the lines of that file;
 * - an accepted one is consistent: every value's origin is a file that was
 *   read and a line within it, every enabled backend has an absolute
 *   module path, every group's label is known to the lookups.
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz-input.h"
#include "policy.h"

#define SEPARATOR "\n----8<----\n"
#define N_LAYERS 5

static char *dir;
static char *paths[N_LAYERS];
static char *conf_d;

static void
cleanup(void)
{
    for (guint i = 0; i < N_LAYERS; i++) {
        g_unlink(paths[i]);
    }
    g_rmdir(conf_d);
    g_rmdir(dir);
}

static void
init_once(void)
{
    static const char *const names[N_LAYERS] = {"system.conf", "conf.d/10.conf", "conf.d/20.conf",
                                                "user.conf", "extra.conf"};
    const char *base = g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir();

    if (dir != NULL) {
        return;
    }
    dir = g_build_filename(base, "p11mux-fuzz-conf-XXXXXX", NULL);
    if (g_mkdtemp(dir) == NULL) {
        fuzz_fail("cannot make %s", dir);
    }
    conf_d = g_build_filename(dir, "conf.d", NULL);
    g_mkdir(conf_d, 0700);
    for (guint i = 0; i < N_LAYERS; i++) {
        paths[i] = g_build_filename(dir, names[i], NULL);
    }
    atexit(cleanup);
}

typedef struct {
    const char *data;
    gsize length;
} Part;

/* The lines of a file as the loader counts them. */
static guint
count_lines(const Part *part)
{
    guint lines = 1;

    for (gsize i = 0; i < part->length; i++) {
        lines += part->data[i] == '\n';
    }
    return lines;
}

static const Part *
part_of(const char *path, const Part *parts, guint n_parts)
{
    for (guint i = 0; i < n_parts; i++) {
        if (strcmp(path, paths[i]) == 0) {
            return &parts[i];
        }
    }
    if (n_parts == 1 && strcmp(path, paths[N_LAYERS - 1]) == 0) {
        return &parts[0];
    }
    return NULL;
}

/* "PATH: ..." or "PATH:LINE: ..." for one of the files. */
static void
check_error(const GError *error, const Part *parts, guint n_parts)
{
    for (guint i = 0; i < N_LAYERS; i++) {
        gsize n = strlen(paths[i]);
        const Part *part = part_of(paths[i], parts, n_parts);
        char *end;
        guint64 line;

        if (strncmp(error->message, paths[i], n) != 0 || error->message[n] != ':') {
            continue;
        }
        if (error->message[n + 1] == ' ') {
            return;
        }
        line = g_ascii_strtoull(error->message + n + 1, &end, 10);
        if (end == error->message + n + 1 || end[0] != ':' || end[1] != ' ') {
            fuzz_fail("malformed location: %s", error->message);
        }
        if (part != NULL && (line < 1 || line > count_lines(part))) {
            fuzz_fail("line %" G_GUINT64_FORMAT " outside %s (%u lines): %s", line, paths[i],
                      count_lines(part), error->message);
        }
        return;
    }
    fuzz_fail("an error that names no file: %s", error->message);
}

static gboolean
was_read(const P11muxConf *conf, const char *file)
{
    for (guint i = 0; i < conf->files->len; i++) {
        if (g_ptr_array_index(conf->files, i) == (gpointer)file) {
            return TRUE;
        }
    }
    return FALSE;
}

static void
check_conf(const P11muxConf *conf, const Part *parts, guint n_parts)
{
    GHashTableIter iter;
    gpointer key, data;

    g_hash_table_iter_init(&iter, conf->values);
    while (g_hash_table_iter_next(&iter, &key, &data)) {
        const P11muxConfValue *value = data;
        const Part *part;

        if (value->origin.file == NULL || !was_read(conf, value->origin.file)) {
            fuzz_fail("value %s from a file not read", (const char *)key);
        }
        part = part_of(value->origin.file, parts, n_parts);
        if (part != NULL &&
            (value->origin.line < 1 || (guint)value->origin.line > count_lines(part))) {
            fuzz_fail("value %s at line %d outside %s", (const char *)key, value->origin.line,
                      value->origin.file);
        }
    }
    for (guint i = 0; i < conf->backends->len; i++) {
        const P11muxConfBackend *backend = g_ptr_array_index(conf->backends, i);

        if (backend->enabled && (backend->module == NULL || !g_path_is_absolute(backend->module))) {
            fuzz_fail("backend %s enabled without an absolute module", backend->name);
        }
        if (p11mux_conf_find_backend(conf, backend->name) != backend) {
            fuzz_fail("backend %s not found by name", backend->name);
        }
    }
    for (guint kind = P11MUX_CONF_GROUP_GLOBAL; kind <= P11MUX_CONF_GROUP_POLICY; kind++) {
        g_auto(GStrv) labels = p11mux_conf_dup_group_labels(conf, kind);
        gsize n_keys;
        const P11muxConfKey *keys = p11mux_conf_known_keys(&n_keys);

        for (guint i = 0; labels[i] != NULL; i++) {
            g_autofree char *group =
                *labels[i] != '\0'
                    ? g_strdup_printf("%s %s",
                                      kind == P11MUX_CONF_GROUP_BACKEND ? "backend" : "policy",
                                      labels[i])
                    : g_strdup("global");

            for (gsize k = 0; k < n_keys; k++) {
                const P11muxConfValue *value = p11mux_conf_lookup(conf, group, keys[k].name);

                if (value != NULL && (guint)keys[k].group == kind) {
                    g_free(p11mux_conf_key_check(&keys[k], value->value));
                }
            }
        }
    }
}

/* The policies compiled as C_Initialize and check-config compile them, the
 * only check of their values: a refused value says where, as above. */
static void
check_policies(const P11muxConf *conf, const Part *parts, guint n_parts)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxPolicySet) policies = p11mux_policy_set_new(conf, &error);

    if (policies == NULL) {
        check_error(error, parts, n_parts);
    }
}

static void
write_part(guint layer, const Part *part)
{
    g_autoptr(GError) error = NULL;

    if (!g_file_set_contents(paths[layer], part->data, (gssize)part->length, &error)) {
        fuzz_fail("%s", error->message);
    }
}

static void
load_layers(const Part *parts, guint n_parts)
{
    P11muxConfPaths layers = {NULL, NULL, NULL, NULL};
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = NULL;

    for (guint i = 0; i < N_LAYERS; i++) {
        g_unlink(paths[i]);
    }
    if (n_parts == 1) {
        write_part(N_LAYERS - 1, &parts[0]);
        layers.extra_file = paths[N_LAYERS - 1];
    } else {
        for (guint i = 0; i < n_parts; i++) {
            write_part(i, &parts[i]);
        }
        layers.system_file = paths[0];
        layers.system_dir = conf_d;
        layers.user_file = n_parts > 3 ? paths[3] : NULL;
        layers.extra_file = n_parts > 4 ? paths[4] : NULL;
    }
    conf = p11mux_conf_load(&layers, &error);
    if (conf == NULL) {
        check_error(error, parts, n_parts);
    } else {
        check_conf(conf, parts, n_parts);
        check_policies(conf, parts, n_parts);
    }
    if (n_parts == 1) {
        g_autoptr(GError) error_file = NULL;
        g_autoptr(P11muxConf) alone = p11mux_conf_load_file(paths[N_LAYERS - 1], &error_file);

        if (alone == NULL) {
            check_error(error_file, parts, n_parts);
        } else {
            check_conf(alone, parts, n_parts);
            check_policies(alone, parts, n_parts);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Part parts[N_LAYERS];
    const char *p = (const char *)data, *end = p + size;
    guint n = 0;

    init_once();
    while (n < N_LAYERS) {
        const char *cut = n + 1 < N_LAYERS ? g_strstr_len(p, end - p, SEPARATOR) : NULL;

        parts[n].data = p;
        parts[n].length = cut != NULL ? (gsize)(cut - p) : (gsize)(end - p);
        n++;
        if (cut == NULL) {
            break;
        }
        p = cut + strlen(SEPARATOR);
    }
    load_layers(parts, n);
    return 0;
}
