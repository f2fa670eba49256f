/*
 * The slot of a token or slot found by its name (token-slot.h).
 */
#include "config.h"

#include <string.h>

#include "token-slot.h"

#define MAX_SLOTS 64

/* Whether a blank-padded field of size bytes holds name. */
static int
padded_equal(const CK_UTF8CHAR *field, size_t size, const char *name)
{
    size_t n = strlen(name);

    return n <= size && memcmp(field, name, n) == 0 && (n == size || field[n] == ' ');
}

CK_SLOT_ID
p11mux_test_slot_named(const CK_FUNCTION_LIST *p11, P11muxTestSlotName by, const char *name)
{
    CK_SLOT_ID slots[MAX_SLOTS];
    CK_ULONG count = MAX_SLOTS, i;

    if (p11->C_GetSlotList(by == P11MUX_TEST_BY_TOKEN_LABEL, slots, &count) != CKR_OK) {
        return (CK_SLOT_ID)-1;
    }
    for (i = 0; i < count; i++) {
        CK_TOKEN_INFO token;
        CK_SLOT_INFO slot;

        if (by == P11MUX_TEST_BY_TOKEN_LABEL
                ? p11->C_GetTokenInfo(slots[i], &token) == CKR_OK &&
                      padded_equal(token.label, sizeof token.label, name)
                : p11->C_GetSlotInfo(slots[i], &slot) == CKR_OK &&
                      padded_equal(slot.slotDescription, sizeof slot.slotDescription, name)) {
            return slots[i];
        }
    }
    return (CK_SLOT_ID)-1;
}
