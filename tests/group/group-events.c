/*
 * Slot events of an HA group: with all-down = close-sessions the group's
 * token goes, with its sessions, when every member is down and comes back
 * when one is re-admitted; C_WaitForSlotEvent reports each change once, on
 * the group's slot, and nothing while nothing changes.  The members are made to fail
 * their probes (C_GetTokenInfo) through p11fault.so's rules file.
 *
 * Usage: group-events P11MUX_SO RULES_FILE  (P11MUX_CONF names the
 * configuration; the group's token is labelled "signing").  Prints
 * PASS:/FAIL: lines.
 */
#include "config.h"

#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "p11mux-pkcs11.h"
#include "token-slot.h"

static CK_FUNCTION_LIST_PTR p11;
static int failures;

static void
expect(const char *what, gboolean holds)
{
    printf("%s: %s\n", holds ? "PASS" : "FAIL", what);
    failures += !holds;
}

static void
write_rules(const char *path, const char *rules)
{
    g_autofree char *tmp = g_strconcat(path, ".new", NULL);

    g_file_set_contents(tmp, rules, -1, NULL);
    g_rename(tmp, path);
}

/* The group's slot among every slot, present or not. */
static CK_SLOT_ID
group_slot(void)
{
    return p11mux_test_slot_named(p11, P11MUX_TEST_BY_SLOT_DESCRIPTION, "p11mux HA group signing");
}

/* Wait up to two seconds for an event; CKR_NO_EVENT if none came. */
static CK_RV
next_event(CK_SLOT_ID *slot)
{
    gint64 until = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
    CK_RV rv;

    do {
        rv = p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, slot, NULL);
        if (rv != CKR_NO_EVENT) {
            return rv;
        }
        g_usleep(10 * 1000);
    } while (g_get_monotonic_time() < until);
    return rv;
}

static gboolean
present(CK_SLOT_ID slot)
{
    CK_SLOT_INFO info;

    return p11->C_GetSlotInfo(slot, &info) == CKR_OK && (info.flags & CKF_TOKEN_PRESENT);
}

int
main(int argc, char **argv)
{
    CK_C_GetFunctionList get_function_list;
    CK_SLOT_ID slot, event = 0;
    CK_SESSION_HANDLE session = 0;
    CK_SESSION_INFO info;
    void *dl;

    if (argc != 3) {
        fprintf(stderr, "usage: group-events P11MUX_SO RULES_FILE\n");
        return 2;
    }
    dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    get_function_list = dl != NULL ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
    if (get_function_list == NULL || get_function_list(&p11) != CKR_OK ||
        p11->C_Initialize(NULL) != CKR_OK || (slot = group_slot()) == (CK_SLOT_ID)-1) {
        fprintf(stderr, "group-events: cannot initialise p11mux with the group's slot\n");
        return 2;
    }
    expect("the group's token is present", present(slot));
    expect("a session opens on it",
           p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session) == CKR_OK);
    expect("no event while nothing changes", next_event(&event) == CKR_NO_EVENT);
    write_rules(argv[2], "token=replica-* fn=C_GetTokenInfo rv=CKR_DEVICE_ERROR count=always\n");
    expect("an event when every member is down", next_event(&event) == CKR_OK && event == slot);
    expect("... and the token is absent", !present(slot));
    expect("... with its sessions (all-down = close-sessions)",
           p11->C_GetSessionInfo(session, &info) == CKR_SESSION_HANDLE_INVALID);
    expect("one event for it", next_event(&event) == CKR_NO_EVENT);
    write_rules(argv[2], "\n");
    expect("an event when a member is back", next_event(&event) == CKR_OK && event == slot);
    expect("... and the token is present again", present(slot));
    p11->C_Finalize(NULL);
    return failures == 0 ? 0 : 1;
}
