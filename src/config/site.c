/*
 * The site this build reads (site.h).
 */
#include "config.h"

#include "site.h"

#ifndef SYSCONFDIR
#error "SYSCONFDIR must be defined (-DSYSCONFDIR=\"$(sysconfdir)\")"
#endif
#ifndef P11KIT_MODULE_CONFIGS
#error "P11KIT_MODULE_CONFIGS must be defined (p11-kit's p11_module_configs)"
#endif
#ifndef P11KIT_SYSCONFDIR
#error "P11KIT_SYSCONFDIR must be defined (p11-kit's sysconfdir)"
#endif

/* p11-kit reads these two; the user's directory is added at run time by
 * p11kit-import.c (p11-kit reads it only for programs not run as root) */
static const char *const installed_config_dirs[] = {
    P11KIT_SYSCONFDIR "/pkcs11/modules",
    P11KIT_MODULE_CONFIGS,
    NULL,
};

static const P11muxSite installed = {
    .sysconfdir = SYSCONFDIR,
    .p11kit_registry = NULL,
    .p11kit_config_dirs = installed_config_dirs,
};

static const P11muxSite *current;

const P11muxSite *
p11mux_site_get(void)
{
    const P11muxSite *site = g_atomic_pointer_get(&current);

    return site != NULL ? site : &installed;
}

void
p11mux_site_set(const P11muxSite *site)
{
    g_atomic_pointer_set(&current, site);
}
