/*
 * The slot of a token or slot found by its label or description, for the
 * test programs that load a module themselves (tests/group/, tests/interfaces/).
 */
#ifndef P11MUX_TEST_TOKEN_SLOT_H
#define P11MUX_TEST_TOKEN_SLOT_H

#include "p11mux-pkcs11.h"

/* What names the slot: its token's label, or its own description. */
typedef enum {
    P11MUX_TEST_BY_TOKEN_LABEL,      /* among slots with a token */
    P11MUX_TEST_BY_SLOT_DESCRIPTION, /* among every slot, token or not */
} P11muxTestSlotName;

/* The first slot of p11 (any list: the 3.0 and 3.2 ones begin as the 2.40
 * one) whose label or description is name, blank-padded; (CK_SLOT_ID)-1
 * when none is. */
CK_SLOT_ID p11mux_test_slot_named(const CK_FUNCTION_LIST *p11, P11muxTestSlotName by,
                                  const char *name);

#endif /* P11MUX_TEST_TOKEN_SLOT_H */
