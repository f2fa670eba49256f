/*
 * The control API of the mock PKCS #11 backend (tests/mock/README.md).
 *
 * Tests dlopen() the same file p11mux loaded (RTLD_NOLOAD or a second
 * dlopen of the same path returns the same instance) and dlsym() these
 * names; the typedefs are for that.  Every call takes the mock's lock and
 * works whether or not the mock is initialised.
 */
#ifndef MOCK_CONTROL_H
#define MOCK_CONTROL_H

#include "p11mux-pkcs11.h"

/* Put the token back into slot (an event for C_WaitForSlotEvent). */
void mock_control_insert_token(CK_SLOT_ID slot);
/* Take the token out: its sessions die (CKR_DEVICE_REMOVED), an event. */
void mock_control_remove_token(CK_SLOT_ID slot);
/* A new slot with a token labelled label (PIN 1234, SO PIN 0000), an event. */
void mock_control_add_slot(CK_SLOT_ID slot, const char *label);
/* Calls of function ("C_Sign") since the module was loaded; 0 if unknown. */
CK_ULONG mock_control_call_count(const char *function);
/* Sessions open now, on every slot. */
CK_ULONG mock_control_open_sessions(void);
/* Replace the scripted failures (the fail = syntax); NULL or "" clears. */
CK_RV mock_control_set_failures(const char *rules);

typedef void (*MockControlInsertToken)(CK_SLOT_ID slot);
typedef void (*MockControlRemoveToken)(CK_SLOT_ID slot);
typedef void (*MockControlAddSlot)(CK_SLOT_ID slot, const char *label);
typedef CK_ULONG (*MockControlCallCount)(const char *function);
typedef CK_ULONG (*MockControlOpenSessions)(void);
typedef CK_RV (*MockControlSetFailures)(const char *rules);

#endif /* MOCK_CONTROL_H */
