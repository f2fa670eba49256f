/*
 * The site of the testable copies (src/config/site.h): their system
 * configuration directory and p11-kit registry are in the build tree, so
 * that `make check` never reads the machine's /etc or p11-kit registry.
 * Linked into tests/testable/p11mux.so and tests/testable/p11mux only; it
 * takes effect when the copy is loaded, before any entry point runs.
 *
 * A test may point them elsewhere (these variables mean nothing to the
 * installed p11mux):
 *   P11MUX_TESTABLE_SYSCONFDIR   instead of tests/testable/etc
 *   P11MUX_TESTABLE_REGISTRY     instead of tests/testable/pkcs11-modules
 *
 * The registry is read by p11mux's own reader (p11kit-import.c), and, for
 * what only p11-kit's loader can give (a `remote:` registration's function
 * list), by p11-kit too: use_p11kit_registry points p11-kit at the same
 * directory with p11_kit_override_system_files (exported by libp11-kit,
 * declared under P11_KIT_FUTURE_UNSTABLE_API), and at no global or user
 * configuration, so that a test gives both readers one registry of its own
 * with any client program and without a mount namespace (p11-kit ignores
 * the user's registry as root).  The installed p11mux never calls it.
 */
#include "config.h"

#include <stdlib.h>

#define P11_KIT_FUTURE_UNSTABLE_API 1
#include <p11-kit/p11-kit.h>

#include "site.h"

#ifndef P11MUX_TESTABLE_DIR
#error "P11MUX_TESTABLE_DIR must be defined ($(abs_top_builddir)/tests/testable)"
#endif

static const char *config_dirs[2];
static P11muxSite testable;
/* p11-kit keeps the pointers: static, so that they live as long as the
 * library (which p11mux's import may also load, just to read its SONAME,
 * and unload again: memory the constructor allocated would then be lost) */
static char no_file[4096];
static char no_dir[4096];

static const char *
from_environment(const char *name, const char *fallback)
{
    const char *value = getenv(name);

    return value != NULL && value[0] != '\0' ? value : fallback;
}

/* p11-kit reads the site's registry as its system module directory, and
 * no configuration file or other directory (all absent) */
static void
point_p11kit(void)
{
    p11_kit_override_system_files(no_file, no_file, no_dir, testable.p11kit_registry, no_dir);
}

__attribute__((constructor)) static void
use_testable_site(void)
{
    testable.sysconfdir =
        from_environment("P11MUX_TESTABLE_SYSCONFDIR", P11MUX_TESTABLE_DIR "/etc");
    testable.p11kit_registry =
        from_environment("P11MUX_TESTABLE_REGISTRY", P11MUX_TESTABLE_DIR "/pkcs11-modules");
    config_dirs[0] = testable.p11kit_registry;
    config_dirs[1] = NULL;
    testable.p11kit_config_dirs = config_dirs;
    g_snprintf(no_file, sizeof no_file, "%s/.no-pkcs11.conf", testable.p11kit_registry);
    g_snprintf(no_dir, sizeof no_dir, "%s/.no-modules", testable.p11kit_registry);
    testable.use_p11kit_registry = point_p11kit;
    p11mux_site_set(&testable);
}
