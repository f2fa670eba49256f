/*
 * p11mux: what the module sees and why it decides what it does.
 *
 *   p11mux list [--config FILE]
 *   p11mux check-config [--config FILE]
 *   p11mux explain [--config FILE] (--slot ID | --token LABEL)
 *                  (--mechanism CKM_X | --object URI | --function C_X)
 *   p11mux trace-summary FILE
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "p11kit-import.h"
#include "p11mux-functions.h"
#include "site.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"list", p11mux_cli_list, "backends and slots as p11mux sees them"},
    {"check-config", p11mux_cli_check_config, "check the configuration"},
    {"explain", p11mux_cli_explain, "whether the policy allows something, and which rule decides"},
    {"trace-summary", p11mux_cli_trace_summary,
     "calls, errors and latencies per process of a trace"},
};

static void
usage(FILE *out)
{
    guint i;

    fprintf(out, "Usage: p11mux COMMAND [OPTION...]\n\nCommands:\n");
    for (i = 0; i < G_N_ELEMENTS(commands); i++) {
        fprintf(out, "  %-15s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out, "\n'p11mux COMMAND --help' describes a command; see p11mux(1).\n");
}

void
p11mux_cli_error(const char *format, ...)
{
    g_autofree char *message = NULL;
    va_list args;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    fprintf(stderr, "p11mux: %s\n", message);
}

gboolean
p11mux_cli_parse_options(GOptionContext *context, int *argc, char ***argv)
{
    g_autoptr(GError) error = NULL;

    if (!g_option_context_parse(context, argc, argv, &error)) {
        fprintf(stderr, "p11mux %s: %s\nTry 'p11mux %s --help'.\n", (*argv)[0], error->message,
                (*argv)[0]);
        return FALSE;
    }
    return TRUE;
}

P11muxConf *
p11mux_cli_load_conf(const char *file, GError **error)
{
    g_autoptr(P11muxConfPaths) paths = NULL;

    if (file != NULL) {
        return p11mux_conf_load_file(file, error);
    }
    paths = p11mux_conf_paths_new_default();
    return p11mux_conf_load(paths, error);
}

/* Whether conf read path (a file it lists). */
static gboolean
was_read(const P11muxConf *conf, const char *path)
{
    for (guint i = 0; conf != NULL && i < conf->files->len; i++) {
        if (g_str_equal(g_ptr_array_index(conf->files, i), path)) {
            return TRUE;
        }
    }
    return FALSE;
}

static void
print_searched_file(const P11muxConf *conf, const char *path, const char *layer)
{
    const char *state;

    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        state = "absent";
    } else if (conf == NULL) {
        state = "exists";
    } else if (was_read(conf, path)) {
        state = "read";
    } else {
        state = conf->standalone ? "exists, not read (standalone = true)" : "exists, not read";
    }
    printf("searched: %s (%s): %s\n", path, layer, state);
}

static gint
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
print_searched_dir(const P11muxConf *conf, const char *dir)
{
    g_autoptr(GDir) listing = g_dir_open(dir, 0, NULL);
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    if (listing == NULL) {
        printf("searched: %s/*.conf (conf.d): %s\n", dir,
               g_file_test(dir, G_FILE_TEST_EXISTS) ? "unreadable" : "absent");
        return;
    }
    while ((name = g_dir_read_name(listing)) != NULL) {
        if (g_str_has_suffix(name, ".conf") && name[0] != '.') {
            g_ptr_array_add(files, g_build_filename(dir, name, NULL));
        }
    }
    if (files->len == 0) {
        printf("searched: %s/*.conf (conf.d): none\n", dir);
    }
    g_ptr_array_sort(files, compare_strings);
    for (guint i = 0; i < files->len; i++) {
        print_searched_file(conf, g_ptr_array_index(files, i), "conf.d");
    }
}

void
p11mux_cli_print_searched(const char *file, const P11muxConf *conf)
{
    g_autoptr(P11muxConfPaths) paths = NULL;

    if (file != NULL) {
        print_searched_file(conf, file, "--config");
        return;
    }
    paths = p11mux_conf_paths_new_default();
    print_searched_file(conf, paths->system_file, "system file");
    print_searched_dir(conf, paths->system_dir);
    if (paths->user_file != NULL) {
        print_searched_file(conf, paths->user_file, "user file");
    }
    if (paths->extra_file != NULL) {
        print_searched_file(conf, paths->extra_file, "P11MUX_CONF");
    } else {
        printf("searched: P11MUX_CONF: not set\n");
    }
}

static void
report(const char *message)
{
    p11mux_cli_error("%s", message);
}

P11muxConf *
p11mux_cli_load_router_conf(const char *file, GError **error)
{
    P11muxConf *conf = p11mux_cli_load_conf(file, error);

    if (conf == NULL) {
        return NULL;
    }
    g_free(conf->trace);
    conf->trace = g_strdup("off");
    if (!p11mux_p11kit_import_for_program(conf, report, error)) {
        p11mux_conf_free(conf);
        return NULL;
    }
    return conf;
}

P11muxRouter *
p11mux_cli_router_from_conf(P11muxConf *conf, GError **error)
{
    /* the router reports no skipped backend: list shows them, explain needs none */
    return p11mux_router_new(conf, &p11mux_function_list, NULL, error);
}

P11muxBackend *
p11mux_cli_find_backend(GPtrArray *backends, const char *name)
{
    guint i;

    for (i = 0; i < backends->len; i++) {
        P11muxBackend *backend = g_ptr_array_index(backends, i);

        if (strcmp(backend->name, name) == 0) {
            return backend;
        }
    }
    return NULL;
}

P11muxRouter *
p11mux_cli_router_new(const char *file, GError **error)
{
    P11muxConf *conf = p11mux_cli_load_router_conf(file, error);

    return conf != NULL ? p11mux_cli_router_from_conf(conf, error) : NULL;
}

static void
warn_registered(const P11muxConfBackend *backend, const P11muxP11kitModule *module,
                G_GNUC_UNUSED gpointer data)
{
    const char *const *dirs = p11mux_site_get()->p11kit_config_dirs;
    g_autofree char *override = g_strdup_printf(
        "%s/%s.module", dirs != NULL && dirs[0] != NULL ? dirs[0] : "/etc/pkcs11/modules",
        module->name);

    p11mux_cli_error("warning: backend '%s' (%s) is also registered with p11-kit by %s: programs "
                     "that load p11-kit's modules (p11-kit-proxy.so, GnuTLS, ...) reach it "
                     "directly, around p11mux and its policy, and list its tokens twice; to keep "
                     "it to p11mux, write 'enable-in:' (empty) into %s (p11mux.so(8), "
                     "COEXISTING WITH P11-KIT)",
                     backend->name, backend->module,
                     module->config_file != NULL ? module->config_file : module->name, override);
}

void
p11mux_cli_print_policy_layers(const P11muxPolicySet *set, const char *backend,
                               const P11muxPolicy *policy, const char *prefix, const char *open,
                               const char *close)
{
    guint i;

    for (i = 0; i < p11mux_policy_n_layers(policy); i++) {
        const P11muxPolicy *layer = p11mux_policy_get_layer(policy, i);
        P11muxPolicyLayer kind = p11mux_policy_get_layer_kind(layer);
        const P11muxConfValue *chosen = p11mux_policy_set_selection(set, backend, kind);

        printf("%spolicy: %s", prefix, p11mux_policy_get_name(layer));
        if (chosen != NULL) {
            printf("%s%s:%d%s", open, chosen->origin.file, chosen->origin.line, close);
        }
        printf("%s\n", kind == P11MUX_POLICY_LAYER_SYSTEM
                           ? " (system layers; policy-override = stricter-only)"
                           : "");
    }
}

void
p11mux_cli_warn_registered(const P11muxConf *conf)
{
    g_autoptr(GError) error = NULL;

    if (!p11mux_p11kit_find_registered(conf, warn_registered, NULL, &error)) {
        p11mux_cli_error("warning: %s", error->message);
    }
}

int
main(int argc, char **argv)
{
    guint i;

    setlocale(LC_ALL, "");
    g_set_prgname("p11mux");
    if (argc < 2) {
        usage(stderr);
        return P11MUX_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return P11MUX_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("p11mux %s\n", PACKAGE_VERSION);
        return P11MUX_EXIT_OK;
    }
    for (i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "p11mux: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return P11MUX_EXIT_USAGE;
}
