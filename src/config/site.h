/*
 * Where this build of p11mux meets the machine it runs on: the directory
 * of its system configuration and p11-kit's module registry.
 *
 * The installed p11mux.so and p11mux command use the site compiled in
 * (SYSCONFDIR; p11-kit's own registry).  The testable copies that `make
 * check` builds (tests/testable/) set a site in the build tree before
 * anything reads one, so that no test reads /etc or the p11-kit registry
 * of the machine, whatever is installed there.
 */
#ifndef P11MUX_SITE_H
#define P11MUX_SITE_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    /* p11mux's system layer: SYSCONFDIR/p11mux/p11mux.conf and conf.d */
    const char *sysconfdir;
    /* nullable.  NULL: p11-kit's own registry (p11_kit_modules_load), its
     * registration files looked up in p11kit_config_dirs.  Else a directory
     * of NAME.module files that p11mux reads itself (missing: no module). */
    const char *p11kit_registry;
    /* NULL-terminated, highest priority first: where p11-kit's registration
     * files live, to name the file a module is registered by */
    const char *const *p11kit_config_dirs;
    /* nullable.  Where p11kit_registry is set: called before p11-kit's own
     * loader is asked for a module p11mux's reader cannot give (a `remote:`
     * registration's function list, p11kit-import.h), so that p11-kit reads
     * that registry too.  The installed site has none: p11-kit reads its
     * own registry, which p11mux's reader reads too. */
    void (*use_p11kit_registry)(void);
} P11muxSite;

/* The site in use (transfer none): the installed one unless
 * p11mux_site_set chose another. */
const P11muxSite *p11mux_site_get(void);

/* Use site (transfer none: it must outlive its use) from now on; NULL goes
 * back to the installed site.  Called once, before anything is loaded. */
void p11mux_site_set(const P11muxSite *site);

G_END_DECLS

#endif /* P11MUX_SITE_H */
