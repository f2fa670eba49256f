/*
 * p11mux check-config [--config FILE] [--load [--timeout SECONDS]]: parse the
 * layered configuration (or
 * FILE alone; a plain FILE argument is the same) exactly as the module
 * does; print every path searched and whether it exists and was read; print
 * each problem as "file:line: message" on stderr; exit 0 when valid, 1
 * otherwise.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "probe.h"
#include "trace.h"
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

/* Each enabled backend tried in a child process: what became of it. */
static int
load_backends(const char *file, guint timeout_ms)
{
    g_autoptr(GError) error = NULL;
    P11muxConf *conf = p11mux_cli_load_router_conf(file, &error);
    int status = P11MUX_EXIT_OK;
    guint i;

    if (conf == NULL) {
        fprintf(stderr, "%s\n", error->message);
        return P11MUX_EXIT_NO;
    }
    for (i = 0; i < conf->backends->len; i++) {
        const P11muxConfBackend *cb = g_ptr_array_index(conf->backends, i);
        g_autoptr(P11muxProbe) probe = NULL;
        g_autofree char *what = NULL;

        if (!cb->enabled) {
            printf("backend %s: disabled\n", cb->name);
            continue;
        }
        probe = p11mux_probe_backend(conf, cb->name, timeout_ms);
        what = p11mux_probe_describe(probe, timeout_ms);
        printf("backend %s (%s%s): %s\n", cb->name, cb->remote != NULL ? "remote: " : "",
               cb->remote != NULL   ? cb->remote
               : cb->module != NULL ? cb->module
                                    : "?",
               what);
        if (probe->outcome != P11MUX_PROBE_LOADED) {
            status = P11MUX_EXIT_BACKEND;
        }
    }
    p11mux_conf_free(conf);
    return status;
}

/* The trace destination opens as the module would open it (a file that
 * did not exist is then created, empty, as the module would). */
static gboolean
check_trace_destination(const P11muxConf *conf)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxTrace) trace = NULL;

    if (conf->trace == NULL || strcmp(conf->trace, "off") == 0) {
        return TRUE;
    }
    trace = p11mux_trace_new(conf->trace, conf->trace_format, conf->trace_data, &error);
    if (trace == NULL) {
        fprintf(stderr, "%s\n", error->message);
        return FALSE;
    }
    printf("trace: %s opens\n", conf->trace);
    return TRUE;
}

static int
check_config(const char *file, gboolean load, guint timeout_ms)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(P11muxConf) conf = p11mux_cli_load_conf(file, &error);
    g_autoptr(P11muxPolicySet) policies = NULL;
    guint i;

    /* as C_Initialize: the files, then every policy compiled (the only check
     * of the policies' values, so the same message as C_Initialize's) */
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
    if (!load) {
        return P11MUX_EXIT_OK;
    }
    if (!check_trace_destination(conf)) {
        return P11MUX_EXIT_NO;
    }
    return load_backends(file, timeout_ms);
}

int
p11mux_cli_check_config(int argc, char **argv)
{
    g_autofree char *config = NULL;
    gboolean load = FALSE;
    gint timeout = P11MUX_CLI_PROBE_TIMEOUT_MS / 1000;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
         "Check FILE alone instead of the layered configuration", "FILE"},
        {"load", 'l', 0, G_OPTION_ARG_NONE, &load,
         "Also open the trace destination and try each backend, each in a child process",
         NULL},
        {"timeout", 't', 0, G_OPTION_ARG_INT, &timeout,
         "With --load: seconds a backend has to load and initialise (default 10)", "SECONDS"},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new(NULL);

    g_set_prgname("p11mux check-config");
    g_option_context_set_summary(context,
                                 "Check the configuration as the module reads it (system file, "
                                 "conf.d, user file, P11MUX_CONF), or FILE alone, and say which "
                                 "paths were searched and read.\nProblems are printed as "
                                 "FILE:LINE: message. Exit status 0: valid (and, with --load, "
                                 "every backend loaded); 1: not valid; 4: a backend failed, hung, "
                                 "crashed or exited.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!p11mux_cli_parse_options(context, &argc, &argv)) {
        return P11MUX_EXIT_USAGE;
    }
    /* check-config FILE, as earlier versions took it, is --config FILE */
    if (argc > 2 || (argc == 2 && config != NULL)) {
        p11mux_cli_error("check-config: unexpected argument '%s'", argv[argc - 1]);
        return P11MUX_EXIT_USAGE;
    }
    if (timeout < 1 || timeout > 3600) {
        p11mux_cli_error("check-config: --timeout takes 1 to 3600 seconds");
        return P11MUX_EXIT_USAGE;
    }
    return check_config(config != NULL ? config : argc == 2 ? argv[1] : NULL, load,
                        (guint)timeout * 1000);
}
