/*
 * "Did you mean ...?": the known word closest to one that is not known, for
 * the messages about unknown groups, keys, policy names, mechanisms and
 * functions (configuration files and the p11mux command alike).
 */
#ifndef P11MUX_SUGGEST_H
#define P11MUX_SUGGEST_H

#include <glib.h>

#include "constants.h"

G_BEGIN_DECLS

/* The candidate closest to word, ignoring case (transfer none; NULL when
 * none is close enough: an edit distance above a third of the word's
 * length, at least 2).  n < 0: candidates is NULL-terminated.  Ties go to
 * the first. */
const char *p11mux_suggest(const char *word, const char *const *candidates, gssize n);

/* The constant of kind word most likely means (transfer none; NULL when
 * none): the word itself with its prefix ("ECDSA", "ckm_ecdsa" ->
 * "CKM_ECDSA"), else the closest name. */
const char *p11mux_suggest_constant(P11muxConstantKind kind, const char *word);

/* " (did you mean 'X'?)" for a suggestion, "" without one (transfer full). */
char *p11mux_suggest_hint(const char *suggestion);

G_END_DECLS

#endif /* P11MUX_SUGGEST_H */
