/*
 * An HA group under load while a member flaps: THREADS threads sign
 * (RSA PKCS #1 v1.5, single-part, a session each) through p11mux's group
 * "signing" while a flapper rewrites p11fault.so's rules file every few
 * milliseconds, so that one member fails C_Sign, then works again and is
 * re-admitted by the probes.  Every signature must equal the reference
 * (PKCS #1 v1.5 signatures of one key are one value), and no call may fail.
 *
 * Usage: group-threads P11MUX_SO PIN RULES_FILE REFERENCE_SIGNATURE DATA_FILE
 * (P11MUX_CONF names the configuration).  Prints PASS:/FAIL: lines.
 */
#include "config.h"

#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "p11mux-pkcs11.h"

#define THREADS 4
#define SIGNATURES 100
#define FLAP_MS 15

static CK_FUNCTION_LIST_PTR p11;
static CK_SLOT_ID slot;
static const char *pin;
static GBytes *reference;
static GBytes *data;
static gint failures;
static gint signatures;
static gint stop;

static CK_OBJECT_HANDLE
find_key(CK_SESSION_HANDLE s)
{
    CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
    CK_BYTE id = 0x01;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &klass, sizeof klass}, {CKA_ID, &id, 1}};
    CK_OBJECT_HANDLE key = 0;
    CK_ULONG n = 0;

    if (p11->C_FindObjectsInit(s, tmpl, 2) != CKR_OK) {
        return 0;
    }
    if (p11->C_FindObjects(s, &key, 1, &n) != CKR_OK || n != 1) {
        key = 0;
    }
    p11->C_FindObjectsFinal(s);
    return key;
}

static gpointer
signer(gpointer unused G_GNUC_UNUSED)
{
    CK_MECHANISM mechanism = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_SESSION_HANDLE s = 0;
    CK_OBJECT_HANDLE key;
    gsize data_len, ref_len;
    const guint8 *in = g_bytes_get_data(data, &data_len);
    const guint8 *expected = g_bytes_get_data(reference, &ref_len);
    guint i;

    if (p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK ||
        (key = find_key(s)) == 0) {
        printf("FAIL: a signer could not open a session or find the key\n");
        g_atomic_int_inc(&failures);
        return NULL;
    }
    for (i = 0; i < SIGNATURES; i++) {
        CK_BYTE signature[512];
        CK_ULONG len = sizeof signature;
        CK_RV rv = p11->C_SignInit(s, &mechanism, key);

        if (rv == CKR_OK) {
            rv = p11->C_Sign(s, (CK_BYTE_PTR)in, data_len, signature, &len);
        }
        if (rv != CKR_OK) {
            printf("FAIL: signature %u: rv 0x%lx\n", i, (unsigned long)rv);
            g_atomic_int_inc(&failures);
        } else if (len != ref_len || memcmp(signature, expected, len) != 0) {
            printf("FAIL: signature %u differs from the reference\n", i);
            g_atomic_int_inc(&failures);
        }
        g_atomic_int_inc(&signatures);
    }
    p11->C_CloseSession(s);
    return NULL;
}

/* Rewrite path with rules (a new file renamed over the old one). */
static void
write_rules(const char *path, const char *rules)
{
    g_autofree char *tmp = g_strconcat(path, ".new", NULL);

    g_file_set_contents(tmp, rules, -1, NULL);
    g_rename(tmp, path);
}

static gpointer
flapper(gpointer path)
{
    guint flaps = 0;

    while (!g_atomic_int_get(&stop)) {
        write_rules(path, flaps++ % 2 == 0
                              ? "token=replica-a fn=C_Sign rv=CKR_DEVICE_ERROR count=always\n"
                              : "\n");
        g_usleep(FLAP_MS * 1000);
    }
    write_rules(path, "\n");
    return GUINT_TO_POINTER(flaps);
}

static gboolean
login(void)
{
    CK_SESSION_HANDLE s;
    CK_RV rv;

    if (p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) {
        return FALSE;
    }
    rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    return rv == CKR_OK;
}

int
main(int argc, char **argv)
{
    GThread *threads[THREADS], *flap;
    CK_C_GetFunctionList get_function_list;
    CK_SLOT_ID slots[8];
    CK_ULONG count = G_N_ELEMENTS(slots);
    gchar *contents;
    gsize len;
    void *dl;
    guint flaps, i;

    if (argc != 6) {
        fprintf(stderr, "usage: group-threads P11MUX_SO PIN RULES REFERENCE DATA\n");
        return 2;
    }
    pin = argv[2];
    if (!g_file_get_contents(argv[4], &contents, &len, NULL)) {
        return 2;
    }
    reference = g_bytes_new_take(contents, len);
    if (!g_file_get_contents(argv[5], &contents, &len, NULL)) {
        return 2;
    }
    data = g_bytes_new_take(contents, len);
    dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    get_function_list = dl != NULL ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
    if (get_function_list == NULL || get_function_list(&p11) != CKR_OK ||
        p11->C_Initialize(NULL) != CKR_OK || p11->C_GetSlotList(CK_TRUE, slots, &count) != CKR_OK) {
        fprintf(stderr, "group-threads: cannot initialise p11mux\n");
        return 2;
    }
    for (i = 0, slot = (CK_SLOT_ID)-1; i < count; i++) {
        CK_TOKEN_INFO info;

        if (p11->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
            memcmp(info.label, "signing ", 8) == 0) {
            slot = slots[i];
        }
    }
    if (slot == (CK_SLOT_ID)-1) {
        fprintf(stderr, "group-threads: no token labelled 'signing'\n");
        return 2;
    }
    if (!login()) {
        fprintf(stderr, "group-threads: cannot log in\n");
        return 2;
    }
    flap = g_thread_new("flapper", flapper, argv[3]);
    for (i = 0; i < THREADS; i++) {
        threads[i] = g_thread_new("signer", signer, NULL);
    }
    for (i = 0; i < THREADS; i++) {
        g_thread_join(threads[i]);
    }
    g_atomic_int_set(&stop, 1);
    flaps = GPOINTER_TO_UINT(g_thread_join(flap));
    p11->C_Finalize(NULL);
    printf("%s: %d signatures from %d threads while replica-a flapped %u times, %d failed\n",
           failures == 0 ? "PASS" : "FAIL", g_atomic_int_get(&signatures), THREADS, flaps,
           g_atomic_int_get(&failures));
    g_bytes_unref(reference);
    g_bytes_unref(data);
    return failures == 0 ? 0 : 1;
}
