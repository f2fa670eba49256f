/*
 * The fault injector's rules (tests/fault/README.md): one a line,
 *   token=<label> fn=<glob> rv=<CKR_NAME> [after=N] [count=N|always] [delay=ms]
 * compiled from a file, then decided call by call.
 */
#ifndef P11FAULT_RULES_H
#define P11FAULT_RULES_H

#include <glib.h>

#include "p11mux-pkcs11.h"

typedef struct P11faultRules P11faultRules;

/* What the rules say of one call: rv CKR_OK forwards it (after delay_ms),
 * another rv is the answer (after delay_ms), the module not called. */
typedef struct {
    CK_RV rv;
    guint delay_ms;
} P11faultVerdict;

/*
 * transfer full, never NULL.  A missing file holds no rules; a line that
 * cannot be read as a rule is reported on stderr as "FILE:LINE: why; rule
 * ignored" and left out.  Every counter starts at zero.
 */
P11faultRules *p11fault_rules_load(const char *path);

void p11fault_rules_free(P11faultRules *rules);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11faultRules, p11fault_rules_free)

/* The number of rules read. */
guint p11fault_rules_count(const P11faultRules *rules);

/*
 * The verdict on one call of function on the token labelled label.  The
 * rules are tried in file order; each whose token= and fn= match counts
 * the call, and the first that fires decides.  Advances the counters: the
 * caller serialises calls.
 */
P11faultVerdict p11fault_rules_decide(P11faultRules *rules, const char *label,
                                      const char *function);

#endif /* P11FAULT_RULES_H */
