/*
 * p11mux check-config [FILE]: parse the layered configuration (or FILE
 * alone) exactly as the module does; print each problem as
 * "file:line: message" on stderr; exit 0 when valid, 1 otherwise.
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
    if (conf == NULL || policies == NULL) {
        fprintf(stderr, "%s\n", error->message);
        return P11MUX_EXIT_NO;
    }
    if (conf->files->len == 0) {
        printf("no configuration file found: p11mux has no backends\n");
        return P11MUX_EXIT_OK;
    }
    for (i = 0; i < conf->files->len; i++) {
        printf("%s: ok\n", (const char *)g_ptr_array_index(conf->files, i));
    }
    return P11MUX_EXIT_OK;
}

int
p11mux_cli_check_config(int argc, char **argv)
{
    g_autoptr(GOptionContext) context = g_option_context_new("[FILE]");

    g_set_prgname("p11mux check-config");
    g_option_context_set_summary(context,
                                 "Check the configuration as the module reads it (system file, "
                                 "conf.d, user file, P11MUX_CONF), or FILE alone.\nProblems are "
                                 "printed as FILE:LINE: message. Exit status 0: valid; 1: not.");
    if (!p11mux_cli_parse_options(context, &argc, &argv)) {
        return P11MUX_EXIT_USAGE;
    }
    if (argc > 2) {
        p11mux_cli_error("check-config: unexpected argument '%s'", argv[2]);
        return P11MUX_EXIT_USAGE;
    }
    return check_config(argc == 2 ? argv[1] : NULL);
}
