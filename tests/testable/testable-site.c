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
 */
#include "config.h"

#include <stdlib.h>

#include "site.h"

#ifndef P11MUX_TESTABLE_DIR
#error "P11MUX_TESTABLE_DIR must be defined ($(abs_top_builddir)/tests/testable)"
#endif

static const char *config_dirs[2];
static P11muxSite testable;

static const char *
from_environment(const char *name, const char *fallback)
{
    const char *value = getenv(name);

    return value != NULL && value[0] != '\0' ? value : fallback;
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
    p11mux_site_set(&testable);
}
