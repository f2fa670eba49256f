/*
 * The p11mux command: what the subcommands share.  Exit codes are
 * documented in p11mux(1).
 */
#ifndef P11MUX_CLI_H
#define P11MUX_CLI_H

#include <glib.h>

#include "conf.h"
#include "policy-decide.h"
#include "router.h"

/* Exit codes (p11mux(1), EXIT STATUS). */
enum {
    P11MUX_EXIT_OK = 0,    /* done; the configuration is valid; allowed */
    P11MUX_EXIT_NO = 1,    /* check-config: invalid; explain: refused; trace-summary: bad lines */
    P11MUX_EXIT_USAGE = 2, /* a bad command line */
    P11MUX_EXIT_ERROR = 3, /* the configuration or a file could not be used; no such slot */
    P11MUX_EXIT_BACKEND = 4, /* check-config --load: a backend failed, hung, crashed or exited */
};

/* The subcommands: argv[0] is the subcommand's name. */
int p11mux_cli_list(int argc, char **argv);
int p11mux_cli_check_config(int argc, char **argv);
int p11mux_cli_explain(int argc, char **argv);
int p11mux_cli_trace_summary(int argc, char **argv);

/*
 * Parse a subcommand's options (--help prints its help and exits 0).  FALSE
 * after printing "p11mux NAME: why" and a hint to stderr when they are bad.
 */
gboolean p11mux_cli_parse_options(GOptionContext *context, int *argc, char ***argv);

/* "p11mux: message" to stderr. */
void p11mux_cli_error(const char *format, ...) G_GNUC_PRINTF(1, 2);

/*
 * The configuration as the module reads it (system, conf.d, user file,
 * P11MUX_CONF), or file alone when not NULL.  transfer full; NULL with error.
 */
P11muxConf *p11mux_cli_load_conf(const char *file, GError **error);

/*
 * The router the module would build from the configuration (file alone when
 * not NULL), p11-kit's registered modules imported when it says so, every
 * backend loaded; trace off (the command's own calls are not an
 * application's).  transfer full (p11mux_router_free); NULL with error.
 */
P11muxRouter *p11mux_cli_router_new(const char *file, GError **error);

/* The two steps of p11mux_cli_router_new: the configuration (trace off,
 * p11-kit's modules imported when it says so; transfer full), then the
 * router built from it (conf: transfer full, also on failure). */
P11muxConf *p11mux_cli_load_router_conf(const char *file, GError **error);
P11muxRouter *p11mux_cli_router_from_conf(P11muxConf *conf, GError **error);

/* The backend called name in backends (router->backends or ->skipped);
 * NULL when none (transfer none). */
P11muxBackend *p11mux_cli_find_backend(GPtrArray *backends, const char *name);

/* How long check-config --load and list give a backend to load and
 * initialise (in a child process) before they call it hung. */
#define P11MUX_CLI_PROBE_TIMEOUT_MS 10000u

/* One line "searched: PATH (LAYER): STATE" for every file the configuration
 * is looked for in (file alone when not NULL): absent, read, exists but not
 * read; conf (nullable: not loaded) says what was read. */
void p11mux_cli_print_searched(const char *file, const P11muxConf *conf);

/* A warning on stderr for every enabled backend whose library is also
 * registered with p11-kit, naming the registration file and the fix. */
void p11mux_cli_warn_registered(const P11muxConf *conf);

/* One line per layer of policy, the policy backend runs under:
 * "PREFIXpolicy: NAME", where the policy = NAME that selects it was written
 * between open and close ("OPENFILE:LINECLOSE"), and a mark on the system
 * layers' policy under policy-override = stricter-only. */
void p11mux_cli_print_policy_layers(const P11muxPolicySet *set, const char *backend,
                                    const P11muxPolicy *policy, const char *prefix,
                                    const char *open, const char *close);

#endif /* P11MUX_CLI_H */
