/*
 * p11mux.so over two copies of the mock backend, for the hardening tests and
 * the call-sequence fuzzer:
 *
 *   mock-a  3.0   slot 1 "a-one" (PIN 1234), slot 2 "a-two" (PIN 1234)
 *   mock-b  2.40  slot 7 "b-seven" (PIN 1234)
 *
 * Each token holds a public HMAC key (CKO_SECRET_KEY, CKK_GENERIC_SECRET,
 * label "hmac", CKA_SIGN/CKA_VERIFY, and the XOR cipher), so that sign,
 * verify, digest, encrypt and find all have something to work on.
 *
 * The files live in a fresh temporary directory; P11MUX_CONF points at the
 * p11mux configuration and XDG_CONFIG_HOME at the directory, so no file of
 * the user's or the system's is read.  The build tree is $top_builddir (set
 * by `make check`), else the one this file was compiled in.
 */
#ifndef P11MUX_HARNESS_H
#define P11MUX_HARNESS_H

#include <glib.h>

#include "mock-control.h"
#include "p11mux-pkcs11.h"

typedef struct {
    void *dl;
    char *path;
    MockControlInsertToken insert_token;
    MockControlRemoveToken remove_token;
    MockControlAddSlot add_slot;
    MockControlCallCount call_count;
    MockControlOpenSessions open_sessions;
    MockControlSetFailures set_failures;
} HarnessMock;

typedef struct {
    char *dir;                      /* the temporary directory */
    char *conf;                     /* the p11mux configuration (P11MUX_CONF) */
    void *dl;                       /* p11mux.so */
    CK_FUNCTION_LIST_PTR p11;       /* its 2.40 list */
    CK_FUNCTION_LIST_3_2_PTR p11_3; /* its newest (3.2) list */
    HarnessMock a, b;
} Harness;

/* The extra [global] lines of the p11mux configuration ("trace = ...\n"),
 * nullable; the mock configurations may append lines to [mock] of each. */
typedef struct {
    const char *global;
    const char *mock_a;
    const char *mock_b;
} HarnessOptions;

/* NULL with a message on stderr when something is missing. */
Harness *harness_new(const HarnessOptions *options);

/* Removes the directory; p11mux.so and the mocks stay loaded. */
void harness_free(Harness *harness);

/* The configuration of mock-a (which 'a') or mock-b ('b') above, extra
 * lines (nullable) appended to its [mock] group (transfer full). */
char *harness_mock_conf(char which, const char *extra);

/* Copy the built mock to dir/NAME.so, with conf (nullable: none) in
 * dir/NAME.conf beside it, open that instance and find its control
 * functions; FALSE with a message on stderr when something is missing. */
gboolean harness_mock_open(HarnessMock *mock, const char *dir, const char *name, const char *conf);

/* A path in the harness's directory (transfer full). */
char *harness_path(const Harness *harness, const char *name);

/* The p11mux slot of a token label, 0 if none. */
CK_SLOT_ID harness_slot_by_label(const Harness *harness, const char *label);

#endif /* P11MUX_HARNESS_H */
