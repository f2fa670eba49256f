/*
 * p11mux check-config [--config FILE]: parse the layered configuration (or
 * FILE alone; a plain FILE argument is the same) exactly as the module
 * does; print every path searched and whether it exists and was read; print
 * each problem as "file:line: message" on stderr; exit 0 when valid, 1
 * otherwise.
 */
#include "config.h"

#include <stdio.h>

#include "cli.h"
#include "policy.h"

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
