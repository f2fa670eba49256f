/*
 * What the policy attack programs share (tests/policy/attack.c,
 * tests/policy/closed-world.c): their reporting, one PASS:/FAIL:/NOTE:/ERROR:
 * line a verdict, which the integration scripts count, and loading modules,
 * finding tokens and opening sessions on them.
 *
 * Reporting: a PASS: or FAIL: line per attack, counted; NOTE: lines say what
 * a backend does alone; an ERROR: line and exit status 2 when the setup
 * fails.  Every line is flushed as it is printed, so that a backend that
 * crashes the process loses none.
 */
#ifndef P11MUX_ATTACK_LIB_H
#define P11MUX_ATTACK_LIB_H

#include <glib.h>

#include "p11mux-pkcs11.h"

/* What output buffers are filled with before an attack (attack_untouched). */
#define ATTACK_PATTERN 0xa5

/* "CKR_OK", or "(unknown CKR_ value)" (transfer none). */
const char *attack_rv_name(CK_RV rv);

/* PASS: what, or FAIL: what: why. */
void attack_verdict(gboolean ok, const char *what, const char *why);

/* PASS when rv is expected; else FAIL saying both codes. */
void attack_expect(CK_RV rv, CK_RV expected, const char *format, ...) G_GNUC_PRINTF(3, 4);

/* PASS when ok; else FAIL: ...: not so. */
void attack_truth(gboolean ok, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* NOTE: ..., not counted. */
void attack_note(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* ERROR: what: rv, and exit status 2: the setup failed. */
void attack_die(const char *what, CK_RV rv) G_GNUC_NORETURN;

/* attack_die unless rv is CKR_OK. */
void attack_must(CK_RV rv, const char *what);

/* Prints "N passed, M failed"; the exit status: 0, or 1 if any failed. */
int attack_finish(void);

/* The whole buffer still holds ATTACK_PATTERN: nothing was written into it. */
gboolean attack_untouched(const void *buffer, gsize len);

/* The module at path, opened and initialised (it may already be, by another
 * user in the process) with pReserved (nullable); its 2.40 list
 * (transfer none). */
CK_FUNCTION_LIST_PTR attack_load(const char *path, const char *reserved);

/* The 3.0 list of the module at path, already loaded by attack_load; what
 * names it in the ERROR: line if it has none (transfer none). */
CK_FUNCTION_LIST_3_0_PTR attack_interface_3_0(const char *path, const char *what);

/* The slot holding the token labelled label; dies if there is none. */
CK_SLOT_ID attack_slot_by_label(CK_FUNCTION_LIST_PTR p11, const char *label);

/* A session on slot (read/write if rw), logged in as the user with $PIN
 * (default 1234), or with the empty PIN of NSS's database when that PIN is
 * refused. */
CK_SESSION_HANDLE attack_session_on(CK_FUNCTION_LIST_PTR p11, CK_SLOT_ID slot, gboolean rw);

#endif /* P11MUX_ATTACK_LIB_H */
