/*
 * p11mux check-config [--config FILE]: parse the layered configuration (or
 * FILE alone; a plain FILE argument is the same) exactly as the module
 * does; print every path searched and whether it exists and was read; print
 * each problem as "file:line: message" on stderr; exit 0 when valid, 1
 * otherwise.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "policy.h"

/* A file that starts with a UTF-8 byte-order mark: read without it. */
static void
warn_byte_order_marks(const P11muxConf *conf)
{
    guint i;

    for (i = 0; i < conf->files->len; i++) {
        const char *path = g_ptr_array_index(conf->files, i);
        char head[3];
        FILE *file = fopen(path, "rb");

        if (file != NULL && fread(head, 1, sizeof head, file) == sizeof head &&
            memcmp(head, "\xef\xbb\xbf", 3) == 0) {
            p11mux_cli_error("warning: %s:1: the file starts with a UTF-8 byte-order mark "
                             "(EF BB BF); p11mux skips it, other tools may not",
                             path);
        }
        if (file != NULL) {
            fclose(file);
        }
    }
}

/* A value holding " #": GKeyFile has no inline comments, so the '#' and
 * what follows are part of the value (a module path then names no file). */
static void
warn_inline_comments(const P11muxConf *conf)
{
    GHashTableIter iter;
    gpointer key, data;

    g_hash_table_iter_init(&iter, conf->values);
    while (g_hash_table_iter_next(&iter, &key, &data)) {
        const P11muxConfValue *value = data;
        const char *hash = strstr(value->value, " #");

        if (hash == NULL) {
            hash = strstr(value->value, "\t#");
        }
        if (hash != NULL) {
            p11mux_cli_error("warning: %s:%d: the value of '%s' holds '%s': a '#' starts a "
                             "comment only at the start of a line, so this is part of the value",
                             value->origin.file, value->origin.line,
                             strchr((const char *)key, '\n') + 1, hash + 1);
        }
    }
}

static int
check_config(const char *file)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_cli_load_conf(file, &error);
    g_autoptr(P11muxPolicySet) policies = NULL;
    guint i;

    /* as C_Initialize: the files, then the policies they select */
    if (conf != NULL) {
        policies = p11mux_policy_set_new(conf, &error);
    }
    p11mux_cli_print_searched(file, conf);
    if (conf == NULL || policies == NULL) {
        fprintf(stderr, "%s\n", error->message);
        return P11MUX_EXIT_NO;
    }
    if (conf->files->len == 0) {
        printf("no configuration file found (searched the paths above): p11mux has no "
               "backends\n");
        return P11MUX_EXIT_OK;
    }
    for (i = 0; i < conf->files->len; i++) {
        printf("%s: ok\n", (const char *)g_ptr_array_index(conf->files, i));
    }
    warn_byte_order_marks(conf);
    warn_inline_comments(conf);
    p11mux_cli_warn_registered(conf);
    return P11MUX_EXIT_OK;
}

int
p11mux_cli_check_config(int argc, char **argv)
{
    g_autofree char *config = NULL;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
         "Check FILE alone instead of the layered configuration", "FILE"},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new(NULL);

    g_set_prgname("p11mux check-config");
    g_option_context_set_summary(context,
                                 "Check the configuration as the module reads it (system file, "
                                 "conf.d, user file, P11MUX_CONF), or FILE alone, and say which "
                                 "paths were searched and read.\nProblems are printed as "
                                 "FILE:LINE: message. Exit status 0: valid; 1: not.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!p11mux_cli_parse_options(context, &argc, &argv)) {
        return P11MUX_EXIT_USAGE;
    }
    /* check-config FILE, as earlier versions took it, is --config FILE */
    if (argc > 2 || (argc == 2 && config != NULL)) {
        p11mux_cli_error("check-config: unexpected argument '%s'", argv[argc - 1]);
        return P11MUX_EXIT_USAGE;
    }
    return check_config(config != NULL ? config : argc == 2 ? argv[1] : NULL);
}
