/*
 * import-p11-kit = true (p11mux.conf(5)): every module registered
 * with p11-kit becomes a backend named after its p11-kit name (the name of
 * its registration file without ".module"), with the module file p11-kit
 * resolved, its x-init-reserved as init-reserved and its `critical`.
 *
 * Never imported, so that no configuration can make p11mux load itself:
 *   - p11mux itself: the file p11mux.so was loaded from (same inode, so
 *     symlinks, hard links and other spellings of the path count too);
 *   - any other copy or build of p11mux (its ELF SONAME is p11mux.so);
 *   - p11-kit-proxy.so (libp11-kit itself), which loads the whole registry
 *     and so p11mux again;
 *   - p11-kit-client.so: it forwards to a p11-kit server that may be p11mux,
 *     possibly in this very process, which p11mux cannot check without
 *     connecting.  Name it in a [backend NAME] group to use it.
 * p11-kit itself leaves out modules its enable-in / disable-in keep from
 * this program.
 *
 * A `remote:` registration (p11-kit's RPC client talking to a `p11-kit
 * server` or a `p11-kit remote` of another host) has no module file.  It
 * becomes a backend, named after the registration, only when a member of
 * an HA group ([group NAME] members or standby) names it: a registration
 * pointing at a server that serves p11mux with the same registry would
 * otherwise chain connections without end.  Unnamed, it is reported and
 * left out.  Its function list is p11-kit's managed loader's
 * (p11mux_p11kit_remote_load); p11mux dlopens nothing for it, and each
 * such backend has a connection of its own, so members on several hosts
 * work side by side (p11-kit-client.so takes one address per process).
 *
 * A [backend NAME] group of the configuration with the same name wins: its
 * own module is loaded instead (override), or none when it says
 * `enabled = false` (disable).  A module whose library is already loaded by
 * an enabled configured backend is not imported a second time.  Imported
 * backends come after the configured ones, in p11-kit's order; their origin
 * is {NULL, 0} (written in no p11mux file).
 */
#ifndef P11MUX_P11KIT_IMPORT_H
#define P11MUX_P11KIT_IMPORT_H

#include <glib.h>

#include "conf.h"

G_BEGIN_DECLS

#define P11MUX_P11KIT_ERROR (p11mux_p11kit_error_quark())
GQuark p11mux_p11kit_error_quark(void);

typedef enum {
    P11MUX_P11KIT_ERROR_REGISTRY, /* p11-kit could not load its registry */
} P11muxP11kitErrorCode;

/* One registered module, as p11-kit's registry describes it. */
typedef struct {
    char *name;          /* the p11-kit name */
    char *filename;      /* nullable: the module file as p11-kit resolved it */
    char *soname;        /* nullable: the ELF SONAME of that file */
    char *init_reserved; /* nullable: its x-init-reserved */
    gboolean critical;   /* its `critical` option */
    char *config_file;   /* nullable: the registration file (NAME.module) found for it */
    char *remote;        /* nullable: its `remote:` address (filename is NULL then) */
} P11muxP11kitModule;

void p11mux_p11kit_module_free(P11muxP11kitModule *module);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxP11kitModule, p11mux_p11kit_module_free)

/*
 * The modules p11-kit would load in this program (transfer full: a GPtrArray
 * of P11muxP11kitModule*, freeing them), NULL with error set when p11-kit
 * cannot read its registry (e.g. a module marked critical fails to load).
 * p11-kit dlopens each module to describe it (without initialising it) and
 * releases it before this returns.  Where the site (site.h) names a
 * registry directory of its own, that directory's NAME.module files are
 * read instead (`module`, `remote`, `critical`, `x-init-reserved`,
 * `enable-in`, `disable-in`; a relative module path is looked for in
 * p11-kit's module directory), and p11-kit's registry is never read.
 * `remote:` registrations are described too (filename NULL, remote set).
 */
GPtrArray *p11mux_p11kit_registry_read(GError **error);

typedef enum {
    P11MUX_P11KIT_IMPORTABLE,
    P11MUX_P11KIT_SELF,   /* the file this p11mux was loaded from */
    P11MUX_P11KIT_COPY,   /* another copy or build of p11mux */
    P11MUX_P11KIT_PROXY,  /* p11-kit-proxy.so */
    P11MUX_P11KIT_CLIENT, /* p11-kit-client.so */
    P11MUX_P11KIT_NO_FILE,
    P11MUX_P11KIT_REMOTE, /* a `remote:` registration: a backend only when a member names it */
} P11muxP11kitVerdict;

/* Whether module may become a backend of this p11mux; when not, *why is
 * set to a sentence saying why (transfer full; why nullable). */
P11muxP11kitVerdict p11mux_p11kit_judge(const P11muxP11kitModule *module, char **why);

/*
 * Append one enabled backend to conf->backends for every module of modules
 * (P11muxP11kitModule*) that is importable and neither overridden nor
 * already loaded, and for every `remote:` registration a member of an HA
 * group of conf names (its remote set, module NULL; see the top of this
 * file).  report (nullable) is told of each module refused for a reason
 * other than being this p11mux itself; of another copy of p11mux only once
 * in the life of the process.  conf must not have been published yet.
 */
void p11mux_p11kit_import_modules(P11muxConf *conf, GPtrArray *modules,
                                  void (*report)(const char *message));

/*
 * The whole import, between p11mux_conf_load and p11mux_router_new: nothing
 * to do (TRUE) unless conf->import_p11_kit; else read the registry and
 * import its modules.  FALSE with error set when the registry cannot be read,
 * or (P11MUX_CONF_ERROR, "FILE:LINE: ...") when a member of an HA group
 * names a backend neither configured nor imported (p11mux_conf_load leaves
 * that check to the import when import-p11-kit = true).
 */
gboolean p11mux_p11kit_import(P11muxConf *conf, void (*report)(const char *message),
                              GError **error);

/*
 * The same in a program that is not p11mux.so (the p11mux command): there
 * a registered p11mux.so is the p11mux the program describes, not another
 * copy of it, and is left out without a word.
 */
gboolean p11mux_p11kit_import_for_program(P11muxConf *conf, void (*report)(const char *message),
                                          GError **error);

/*
 * Calls found(backend, module, data) for every enabled backend of conf whose
 * library a module registered with p11-kit also loads (p11mux and its
 * copies aside): p11-kit's consumers (p11-kit-proxy.so, GnuTLS, ...) reach
 * those around p11mux.  In the order of conf's backends.  FALSE with error
 * set when the registry cannot be read.
 */
gboolean p11mux_p11kit_find_registered(const P11muxConf *conf,
                                       void (*found)(const P11muxConfBackend *backend,
                                                     const P11muxP11kitModule *module,
                                                     gpointer data),
                                       gpointer data, GError **error);

/*
 * The function lists of the `remote:` registrations called names (a
 * NULL-terminated array), from p11-kit's managed loader
 * (p11_kit_modules_load): a table (transfer full) from name to its
 * CK_FUNCTION_LIST_PTR, holding the names p11-kit handed out a `remote:`
 * registration of; freeing the table releases the lists still in it, so a
 * caller steals what it keeps (g_hash_table_steal) and gives each back with
 * p11mux_p11kit_remote_release.  Every other module p11-kit loaded is
 * released before this returns; none is initialised.  NULL with error set
 * when p11-kit cannot load its registry.  Where the site has a registry of
 * its own (site.h), p11-kit is pointed at it first (its use_p11kit_registry).
 */
GHashTable *p11mux_p11kit_remote_load(const char *const *names, GError **error);

/* Give back a list of p11mux_p11kit_remote_load (after its C_Finalize);
 * p11-kit frees what nothing uses any more. */
void p11mux_p11kit_remote_release(gpointer list);

G_END_DECLS

#endif /* P11MUX_P11KIT_IMPORT_H */
