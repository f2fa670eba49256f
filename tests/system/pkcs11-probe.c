/*
 * pkcs11-probe: a small PKCS #11 client for the system tests.  It loads one
 * module (p11mux.so, p11-kit-client.so, ...) and makes the few calls a test
 * needs, printing what the module answered, one fact a line:
 *
 *     pkcs11-probe [--reserved STRING] MODULE COMMAND [ARG...]
 *
 *     info                           "manufacturer: ..", "description: ..",
 *                                    "secure: 0|1" (AT_SECURE), "euid: N"
 *     tokens                         "SLOT-ID LABEL" for every slot with a token
 *     token-info SLOT-ID             "rv: CKR_.." of C_GetTokenInfo on that id
 *     mechanisms LABEL               one mechanism name a line
 *     mechanism-info LABEL MECH      "rv: CKR_.."; when CKR_OK "min: N", "max: N"
 *     objects LABEL [PIN]            "CLASS LABEL" for every object found
 *     handles LABEL PIN MAX          "HANDLE CLASS LABEL" for every handle in
 *                                    1..MAX that C_GetAttributeValue answers,
 *                                    after one search for everything (a
 *                                    guessing client: hidden objects must
 *                                    not answer)
 *     sign LABEL PIN KEY MECH IN OUT sign the file IN with the private key
 *                                    labelled KEY; the signature to OUT
 *     sign-handle LABEL PIN HANDLE MECH   C_SignInit with any handle
 *     open-rw LABEL                  C_OpenSession with CKF_RW_SESSION
 *     keygen LABEL PIN ec|rsa:BITS   C_GenerateKeyPair (session objects)
 *
 * --reserved passes STRING as CK_C_INITIALIZE_ARGS.pReserved.  A LABEL
 * names a token by its label; the first slot holding it is used.  Every
 * command that makes a PKCS #11 call that can be refused ends with a line
 * "rv: CKR_NAME" for its decisive call.  Exit status: 0 when that call gave
 * CKR_OK, 2 when it gave anything else, 1 for a usage or setup error.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_GETAUXVAL
#include <sys/auxv.h>
#endif

#include <glib.h>

#include "constants.h"
#include "p11mux-pkcs11.h"

static CK_FUNCTION_LIST_PTR p11;

/*
 * In a sanitizer build: LeakSanitizer cannot inspect a set-id process (it is
 * not dumpable, and it cannot read its own environment to be told so), so
 * its leak check is off there.  The same probe run without set-id bits
 * (user-config.sh's 0755 copy) checks the leaks.  Harmless elsewhere.
 */
int __lsan_is_turned_off(void) __attribute__((visibility("default")));

int
__lsan_is_turned_off(void)
{
    return getuid() != geteuid() || getgid() != getegid();
}

static int
usage(void)
{
    fprintf(stderr, "usage: pkcs11-probe [--reserved STRING] MODULE COMMAND [ARG...]\n"
                    "(the commands are listed at the top of tests/system/pkcs11-probe.c)\n");
    return 1;
}

/* "rv: CKR_NAME"; 0 for CKR_OK, else 2 */
static int
report_rv(CK_RV rv)
{
    g_autofree char *name = p11mux_constant_format(P11MUX_CONST_CKR, rv);

    printf("rv: %s\n", name);
    return rv == CKR_OK ? 0 : 2;
}

/* A blank-padded PKCS #11 text field as a string (transfer full). */
static char *
field(const CK_UTF8CHAR *text, gsize size)
{
    char *copy = g_strndup((const char *)text, size);

    return g_strchomp(copy);
}

static int
load(const char *path, const char *reserved)
{
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK, .pReserved = (void *)reserved};
    CK_C_GetFunctionList get_function_list;
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CK_RV rv;

    if (dl == NULL) {
        fprintf(stderr, "pkcs11-probe: %s\n", dlerror());
        return 1;
    }
    get_function_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    if (get_function_list == NULL || get_function_list(&p11) != CKR_OK) {
        fprintf(stderr, "pkcs11-probe: %s: no function list\n", path);
        return 1;
    }
    rv = p11->C_Initialize(&args);
    if (rv != CKR_OK) {
        fprintf(stderr, "pkcs11-probe: C_Initialize: %s\n", p11mux_rv_name(rv));
        return 1;
    }
    return 0;
}

/* The slots holding a token (transfer full), or NULL after a message. */
static GArray *
token_slots(void)
{
    GArray *slots = g_array_new(FALSE, TRUE, sizeof(CK_SLOT_ID));
    CK_ULONG count = 0;
    CK_RV rv = p11->C_GetSlotList(CK_TRUE, NULL, &count);

    if (rv == CKR_OK) {
        g_array_set_size(slots, count);
        rv = p11->C_GetSlotList(CK_TRUE, (CK_SLOT_ID *)(void *)slots->data, &count);
        g_array_set_size(slots, count);
    }
    if (rv != CKR_OK) {
        fprintf(stderr, "pkcs11-probe: C_GetSlotList: %s\n", p11mux_rv_name(rv));
        g_array_unref(slots);
        return NULL;
    }
    return slots;
}

static gboolean
find_token(const char *label, CK_SLOT_ID *slot)
{
    g_autoptr(GArray) slots = token_slots();
    guint i;

    for (i = 0; slots != NULL && i < slots->len; i++) {
        CK_TOKEN_INFO info;
        g_autofree char *text = NULL;

        if (p11->C_GetTokenInfo(g_array_index(slots, CK_SLOT_ID, i), &info) != CKR_OK) {
            continue;
        }
        text = field(info.label, sizeof(info.label));
        if (g_str_equal(text, label)) {
            *slot = g_array_index(slots, CK_SLOT_ID, i);
            return TRUE;
        }
    }
    fprintf(stderr, "pkcs11-probe: no token labelled '%s'\n", label);
    return FALSE;
}

/* A read-only session on the token labelled label, logged in when pin is
 * given and not empty; 0 after a message. */
static CK_SESSION_HANDLE
open_session(const char *label, const char *pin)
{
    CK_SESSION_HANDLE session = 0;
    CK_SLOT_ID slot;
    CK_RV rv;

    if (!find_token(label, &slot)) {
        return 0;
    }
    rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session);
    if (rv == CKR_OK && pin != NULL && *pin != '\0') {
        rv = p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    }
    if (rv != CKR_OK) {
        fprintf(stderr, "pkcs11-probe: opening a session on '%s': %s\n", label, p11mux_rv_name(rv));
        return 0;
    }
    return session;
}

static int
cmd_info(void)
{
    CK_INFO info;
    g_autofree char *manufacturer = NULL;
    g_autofree char *description = NULL;
    unsigned long secure = 0;
    CK_RV rv = p11->C_GetInfo(&info);

#ifdef HAVE_GETAUXVAL
    secure = getauxval(AT_SECURE);
#endif
    if (rv == CKR_OK) {
        manufacturer = field(info.manufacturerID, sizeof(info.manufacturerID));
        description = field(info.libraryDescription, sizeof(info.libraryDescription));
        printf("manufacturer: %s\ndescription: %s\n", manufacturer, description);
    }
    printf("secure: %lu\neuid: %lu\n", secure, (unsigned long)geteuid());
    return report_rv(rv);
}

static int
cmd_tokens(void)
{
    g_autoptr(GArray) slots = token_slots();
    guint i;

    if (slots == NULL) {
        return 1;
    }
    for (i = 0; i < slots->len; i++) {
        CK_SLOT_ID slot = g_array_index(slots, CK_SLOT_ID, i);
        CK_TOKEN_INFO info;
        g_autofree char *label = NULL;

        if (p11->C_GetTokenInfo(slot, &info) == CKR_OK) {
            label = field(info.label, sizeof(info.label));
            printf("0x%lx %s\n", (unsigned long)slot, label);
        }
    }
    return 0;
}

static int
cmd_token_info(const char *id)
{
    CK_TOKEN_INFO info;

    return report_rv(p11->C_GetTokenInfo(g_ascii_strtoull(id, NULL, 0), &info));
}

static gboolean
parse_mechanism(const char *text, CK_MECHANISM_TYPE *type)
{
    if (!p11mux_constant_parse(P11MUX_CONST_CKM, text, type)) {
        fprintf(stderr, "pkcs11-probe: unknown mechanism %s\n", text);
        return FALSE;
    }
    return TRUE;
}

static int
cmd_mechanisms(const char *label)
{
    g_autofree CK_MECHANISM_TYPE *list = NULL;
    CK_ULONG count = 0, i;
    CK_SLOT_ID slot;
    CK_RV rv;

    if (!find_token(label, &slot)) {
        return 1;
    }
    rv = p11->C_GetMechanismList(slot, NULL, &count);
    if (rv == CKR_OK) {
        list = g_new0(CK_MECHANISM_TYPE, count + 1);
        rv = p11->C_GetMechanismList(slot, list, &count);
    }
    for (i = 0; rv == CKR_OK && i < count; i++) {
        g_autofree char *name = p11mux_constant_format(P11MUX_CONST_CKM, list[i]);

        printf("%s\n", name);
    }
    return report_rv(rv);
}

static int
cmd_mechanism_info(const char *label, const char *mechanism)
{
    CK_MECHANISM_TYPE type;
    CK_MECHANISM_INFO info;
    CK_SLOT_ID slot;
    CK_RV rv;

    if (!find_token(label, &slot) || !parse_mechanism(mechanism, &type)) {
        return 1;
    }
    rv = p11->C_GetMechanismInfo(slot, type, &info);
    if (rv == CKR_OK) {
        printf("min: %lu\nmax: %lu\n", (unsigned long)info.ulMinKeySize,
               (unsigned long)info.ulMaxKeySize);
    }
    return report_rv(rv);
}

/* "CLASS LABEL" of one object; FALSE when the handle does not answer. */
static gboolean
print_object(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, gboolean with_handle)
{
    CK_OBJECT_CLASS klass = 0;
    char label[256] = "";
    CK_ATTRIBUTE attrs[] = {
        {CKA_CLASS, &klass, sizeof(klass)},
        {CKA_LABEL, label, sizeof(label) - 1},
    };
    g_autofree char *class_name = NULL;
    CK_RV rv = p11->C_GetAttributeValue(session, object, attrs, G_N_ELEMENTS(attrs));

    if (rv != CKR_OK) {
        return FALSE;
    }
    label[attrs[1].ulValueLen == CK_UNAVAILABLE_INFORMATION ? 0 : attrs[1].ulValueLen] = '\0';
    class_name = p11mux_constant_format(P11MUX_CONST_CKO, klass);
    if (with_handle) {
        printf("%lu ", (unsigned long)object);
    }
    printf("%s %s\n", class_name, label);
    return TRUE;
}

static int
cmd_objects(const char *label, const char *pin)
{
    CK_SESSION_HANDLE session = open_session(label, pin);
    CK_OBJECT_HANDLE objects[64];
    CK_ULONG count = 0, i;
    CK_RV rv;

    if (session == 0) {
        return 1;
    }
    rv = p11->C_FindObjectsInit(session, NULL, 0);
    while (rv == CKR_OK) {
        rv = p11->C_FindObjects(session, objects, G_N_ELEMENTS(objects), &count);
        if (rv != CKR_OK || count == 0) {
            break;
        }
        for (i = 0; i < count; i++) {
            print_object(session, objects[i], FALSE);
        }
    }
    if (rv == CKR_OK) {
        rv = p11->C_FindObjectsFinal(session);
    }
    return report_rv(rv);
}

/* One search for everything, results unused: SoftHSM2 gives an object a
 * handle only once a search has met it (and p11mux's filtered search meets
 * every object of the backend). */
static void
search_everything(CK_SESSION_HANDLE session)
{
    CK_OBJECT_HANDLE objects[64];
    CK_ULONG count = 0;

    if (p11->C_FindObjectsInit(session, NULL, 0) != CKR_OK) {
        return;
    }
    while (p11->C_FindObjects(session, objects, G_N_ELEMENTS(objects), &count) == CKR_OK &&
           count > 0) {
    }
    p11->C_FindObjectsFinal(session);
}

static int
cmd_handles(const char *label, const char *pin, const char *max)
{
    CK_SESSION_HANDLE session = open_session(label, pin);
    CK_OBJECT_HANDLE last = g_ascii_strtoull(max, NULL, 10);
    CK_OBJECT_HANDLE object;

    if (session == 0) {
        return 1;
    }
    search_everything(session);
    for (object = 1; object <= last; object++) {
        print_object(session, object, TRUE);
    }
    return 0;
}

/* The first private key labelled key; 0 after a message. */
static CK_OBJECT_HANDLE
find_private_key(CK_SESSION_HANDLE session, const char *key)
{
    CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE match[] = {
        {CKA_CLASS, &klass, sizeof(klass)},
        {CKA_LABEL, (void *)key, strlen(key)},
    };
    CK_OBJECT_HANDLE object = 0;
    CK_ULONG count = 0;
    CK_RV rv = p11->C_FindObjectsInit(session, match, G_N_ELEMENTS(match));

    if (rv == CKR_OK) {
        rv = p11->C_FindObjects(session, &object, 1, &count);
        p11->C_FindObjectsFinal(session);
    }
    if (rv != CKR_OK || count == 0) {
        fprintf(stderr, "pkcs11-probe: no private key labelled '%s' (%s)\n", key,
                p11mux_rv_name(rv));
        return 0;
    }
    return object;
}

static int
sign_with(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, const char *mechanism, const char *in,
          const char *out)
{
    CK_MECHANISM mech = {0, NULL, 0};
    g_autofree char *data = NULL;
    g_autofree CK_BYTE *signature = NULL;
    g_autoptr(GError) error = NULL;
    CK_ULONG length = 0;
    gsize data_length = 0;
    CK_RV rv;

    if (!parse_mechanism(mechanism, &mech.mechanism)) {
        return 1;
    }
    if (in != NULL && !g_file_get_contents(in, &data, &data_length, &error)) {
        fprintf(stderr, "pkcs11-probe: %s\n", error->message);
        return 1;
    }
    rv = p11->C_SignInit(session, &mech, key);
    if (rv != CKR_OK || in == NULL) {
        printf("C_SignInit\n");
        return report_rv(rv);
    }
    rv = p11->C_Sign(session, (CK_BYTE_PTR)data, data_length, NULL, &length);
    if (rv == CKR_OK) {
        signature = g_malloc(length);
        rv = p11->C_Sign(session, (CK_BYTE_PTR)data, data_length, signature, &length);
    }
    if (rv == CKR_OK && !g_file_set_contents(out, (const char *)signature, length, &error)) {
        fprintf(stderr, "pkcs11-probe: %s\n", error->message);
        return 1;
    }
    printf("C_Sign\n");
    return report_rv(rv);
}

static int
cmd_sign(char **argv)
{
    CK_SESSION_HANDLE session = open_session(argv[0], argv[1]);
    CK_OBJECT_HANDLE key;

    if (session == 0 || (key = find_private_key(session, argv[2])) == 0) {
        return 1;
    }
    return sign_with(session, key, argv[3], argv[4], argv[5]);
}

static int
cmd_sign_handle(char **argv)
{
    CK_SESSION_HANDLE session = open_session(argv[0], argv[1]);

    if (session == 0) {
        return 1;
    }
    return sign_with(session, g_ascii_strtoull(argv[2], NULL, 10), argv[3], NULL, NULL);
}

static int
cmd_open_rw(const char *label)
{
    CK_SESSION_HANDLE session = 0;
    CK_SLOT_ID slot;

    if (!find_token(label, &slot)) {
        return 1;
    }
    return report_rv(
        p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session));
}

static int
cmd_keygen(const char *label, const char *pin, const char *spec)
{
    /* DER of the OID of P-256 */
    static CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_SESSION_HANDLE session = open_session(label, pin);
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 0;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &no, sizeof(no)}, {CKA_EC_PARAMS, p256, sizeof(p256)}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &no, sizeof(no)}};
    CK_OBJECT_HANDLE pub_key, priv_key;

    if (session == 0) {
        return 1;
    }
    if (g_str_has_prefix(spec, "rsa:")) {
        mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
        bits = g_ascii_strtoull(spec + strlen("rsa:"), NULL, 10);
        pub[1] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
    } else if (!g_str_equal(spec, "ec")) {
        return usage();
    }
    return report_rv(p11->C_GenerateKeyPair(session, &mech, pub, G_N_ELEMENTS(pub), priv,
                                            G_N_ELEMENTS(priv), &pub_key, &priv_key));
}

typedef struct {
    const char *name;
    int n_args; /* exact, or -(minimum) */
} Command;

static const Command commands[] = {
    {"info", 0},           {"tokens", 0},   {"token-info", 1}, {"mechanisms", 1},
    {"mechanism-info", 2}, {"objects", -1}, {"handles", 3},    {"sign", 6},
    {"sign-handle", 4},    {"open-rw", 1},  {"keygen", 3},
};

static int
dispatch(const char *command, char **argv)
{
    if (g_str_equal(command, "info")) {
        return cmd_info();
    } else if (g_str_equal(command, "tokens")) {
        return cmd_tokens();
    } else if (g_str_equal(command, "token-info")) {
        return cmd_token_info(argv[0]);
    } else if (g_str_equal(command, "mechanisms")) {
        return cmd_mechanisms(argv[0]);
    } else if (g_str_equal(command, "mechanism-info")) {
        return cmd_mechanism_info(argv[0], argv[1]);
    } else if (g_str_equal(command, "objects")) {
        return cmd_objects(argv[0], argv[1]);
    } else if (g_str_equal(command, "handles")) {
        return cmd_handles(argv[0], argv[1], argv[2]);
    } else if (g_str_equal(command, "sign")) {
        return cmd_sign(argv);
    } else if (g_str_equal(command, "sign-handle")) {
        return cmd_sign_handle(argv);
    } else if (g_str_equal(command, "open-rw")) {
        return cmd_open_rw(argv[0]);
    }
    return cmd_keygen(argv[0], argv[1], argv[2]);
}

static gboolean
arity_ok(const char *command, int n_args)
{
    guint i;

    for (i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (g_str_equal(commands[i].name, command)) {
            return commands[i].n_args >= 0 ? n_args == commands[i].n_args
                                           : n_args >= -commands[i].n_args;
        }
    }
    return FALSE;
}

int
main(int argc, char **argv)
{
    const char *reserved = NULL;
    int status;

    if (argc > 2 && g_str_equal(argv[1], "--reserved")) {
        reserved = argv[2];
        argc -= 2;
        argv += 2;
    }
    if (argc < 3 || !arity_ok(argv[2], argc - 3)) {
        return usage();
    }
    if (load(argv[1], reserved) != 0) {
        return 1;
    }
    status = dispatch(argv[2], argv + 3);
    fflush(stdout);
    p11->C_Finalize(NULL);
    return status;
}
