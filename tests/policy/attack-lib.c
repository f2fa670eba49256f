/*
 * What the policy attack programs share (attack-lib.h).
 */
#include "config.h"

#include "attack-lib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constants.h"

static int passes;
static int failures;

/* ------------------------------------------------------------- reporting */

const char *
attack_rv_name(CK_RV rv)
{
    const char *name = p11mux_rv_name(rv);

    return name != NULL ? name : "(unknown CKR_ value)";
}

void
attack_verdict(gboolean ok, const char *what, const char *why)
{
    if (ok) {
        passes++;
        printf("PASS: %s\n", what);
    } else {
        failures++;
        printf("FAIL: %s: %s\n", what, why);
    }
    fflush(stdout);
}

void
attack_expect(CK_RV rv, CK_RV expected, const char *format, ...)
{
    g_autofree char *what = NULL;
    g_autofree char *why = NULL;
    va_list args;

    va_start(args, format);
    what = g_strdup_vprintf(format, args);
    va_end(args);
    why = g_strdup_printf("rv %s, expected %s", attack_rv_name(rv), attack_rv_name(expected));
    attack_verdict(rv == expected, what, why);
}

void
attack_truth(gboolean ok, const char *format, ...)
{
    g_autofree char *what = NULL;
    va_list args;

    va_start(args, format);
    what = g_strdup_vprintf(format, args);
    va_end(args);
    attack_verdict(ok, what, "not so");
}

void
attack_note(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    printf("NOTE: ");
    vprintf(format, args);
    printf("\n");
    va_end(args);
    fflush(stdout);
}

void
attack_die(const char *what, CK_RV rv)
{
    printf("ERROR: %s: %s\n", what, attack_rv_name(rv));
    exit(2);
}

void
attack_must(CK_RV rv, const char *what)
{
    if (rv != CKR_OK) {
        attack_die(what, rv);
    }
}

int
attack_finish(void)
{
    printf("%d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}

gboolean
attack_untouched(const void *buffer, gsize len)
{
    const CK_BYTE *bytes = buffer;

    for (gsize i = 0; i < len; i++) {
        if (bytes[i] != ATTACK_PATTERN) {
            return FALSE;
        }
    }
    return TRUE;
}

/* --------------------------------------------------------------- modules */

CK_FUNCTION_LIST_PTR
attack_load(const char *path, const char *reserved)
{
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK, .pReserved = (void *)reserved};
    CK_C_GetFunctionList get_function_list;
    CK_FUNCTION_LIST_PTR list;
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CK_RV rv;

    if (dl == NULL) {
        printf("ERROR: %s\n", dlerror());
        exit(2);
    }
    get_function_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    if (get_function_list == NULL) {
        printf("ERROR: %s has no C_GetFunctionList\n", path);
        exit(2);
    }
    attack_must(get_function_list(&list), path);
    rv = list->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        attack_die(path, rv);
    }
    return list;
}

CK_FUNCTION_LIST_3_0_PTR
attack_interface_3_0(const char *path, const char *what)
{
    CK_C_GetInterface get_interface;
    CK_INTERFACE_PTR interface = NULL;

    get_interface =
        (CK_C_GetInterface)dlsym(dlopen(path, RTLD_NOW | RTLD_NOLOAD), "C_GetInterface");
    attack_must(get_interface((CK_UTF8CHAR_PTR) "PKCS 11", NULL, &interface, 0), what);
    return interface->pFunctionList;
}

CK_SLOT_ID
attack_slot_by_label(CK_FUNCTION_LIST_PTR p11, const char *label)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = G_N_ELEMENTS(slots);
    CK_TOKEN_INFO info;
    gsize len = strlen(label);

    attack_must(p11->C_GetSlotList(CK_TRUE, slots, &n), "C_GetSlotList");
    for (CK_ULONG i = 0; i < n; i++) {
        if (p11->C_GetTokenInfo(slots[i], &info) == CKR_OK && memcmp(info.label, label, len) == 0 &&
            (len == 32 || info.label[len] == ' ')) {
            return slots[i];
        }
    }
    printf("ERROR: no token '%s'\n", label);
    exit(2);
}

CK_SESSION_HANDLE
attack_session_on(CK_FUNCTION_LIST_PTR p11, CK_SLOT_ID slot, gboolean rw)
{
    const char *pin = g_getenv("PIN") != NULL ? g_getenv("PIN") : "1234";
    CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
    CK_SESSION_HANDLE session;
    CK_RV rv;

    attack_must(p11->C_OpenSession(slot, flags, NULL, NULL, &session), "C_OpenSession");
    rv = p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        /* NSS's empty-password database */
        (void)p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR) "", 0);
    }
    return session;
}
