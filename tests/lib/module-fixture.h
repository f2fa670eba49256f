/*
 * Shared by the tests that load p11mux.so over copies of the mock backend:
 * a private temporary directory, mock copies with their configurations, the
 * module itself, and a token lookup by label.
 */
#ifndef P11MUX_MODULE_FIXTURE_H
#define P11MUX_MODULE_FIXTURE_H

#include <check.h>
#include <glib.h>

#include "p11mux-pkcs11.h"

/* Make the temporary directory (once); XDG_CONFIG_HOME points into it. */
const char *fixture_tmpdir(void);

/* transfer full: the path of name inside the temporary directory */
char *fixture_path(const char *name);

/* Write text to name inside the temporary directory; transfer full: its path. */
char *fixture_write(const char *name, const char *text);

/* Copy the built mock to NAME.so with NAME.conf beside it; transfer full: the .so path. */
char *fixture_copy_mock(const char *name, const char *conf);

/* dlopen p11mux.so from the build tree; the handle stays open. */
void *fixture_load_p11mux(void);

/* The slot whose token has this label (C_GetSlotList(CK_TRUE)); fails the test when absent. */
CK_SLOT_ID fixture_slot_by_label(CK_FUNCTION_LIST_PTR p11, const char *label);

/* Remove the temporary directory and what it holds (at the end of main). */
void fixture_cleanup(void);

/* Run one suite in a single process (the module stays loaded); the exit status. */
int fixture_run_suite(Suite *suite);

#endif /* P11MUX_MODULE_FIXTURE_H */
