/*
 * An HA group under load while a member flaps: 4 threads ($GROUP_THREADS) sign
 * (RSA PKCS #1 v1.5, single-part, a session each) through p11mux's group
 * "signing" while a flapper rewrites p11fault.so's rules file every few
 * milliseconds, so that one member fails C_Sign, then works again and is
 * re-admitted by the probes.  Every signature must equal the reference
 * (PKCS #1 v1.5 signatures of one key are one value), and no call may fail.
 *
 * With RULES_FILE "-" nothing flaps; with a KILL command, it is run (by
 * the shell) once half the signatures are made, and the durations of the
 * calls made from then on are printed (p50, p99, max: what a failover costs
 * a caller when a member's server dies).
 *
 * With $GROUP_NO_THREADS, C_Initialize says CKF_LIBRARY_CANT_CREATE_OS_THREADS.
 *
 * Driven by a test script instead: with $GROUP_UNTIL, each thread signs
 * until that file exists (not a fixed count); with $GROUP_MARK, the calls
 * begun once that file exists are timed (the script creates it when it
 * kills a server).
 *
 * Usage: group-threads P11MUX_SO PIN RULES_FILE REFERENCE_SIGNATURE DATA_FILE [KILL]
 * (P11MUX_CONF names the configuration).  Prints PASS:/FAIL: lines.
 */
#include "config.h"

#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11mux-pkcs11.h"
#include "token-slot.h"

#define MAX_THREADS 16
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
static guint threads_n = 4; /* $GROUP_THREADS, at most MAX_THREADS */
static const char *kill_command;
static gint killed;            /* the kill command has run, or the mark file exists */
static const char *until_file; /* $GROUP_UNTIL: sign until it exists */
static const char *mark_file;  /* $GROUP_MARK: time the calls once it exists */
static GMutex durations_lock;
static GArray *durations;    /* gint64 µs of the calls made after it */

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

static gboolean
going_on(guint i)
{
    return until_file != NULL ? !g_file_test(until_file, G_FILE_TEST_EXISTS) : i < SIGNATURES;
}

static gboolean
after_the_kill(void)
{
    if (mark_file != NULL && !g_atomic_int_get(&killed) &&
        g_file_test(mark_file, G_FILE_TEST_EXISTS)) {
        g_atomic_int_set(&killed, 1);
    }
    return g_atomic_int_get(&killed);
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
    for (i = 0; going_on(i); i++) {
        CK_BYTE signature[512];
        CK_ULONG len = sizeof signature;
        gint64 started = g_get_monotonic_time();
        gboolean after_kill = after_the_kill();
        CK_RV rv = p11->C_SignInit(s, &mechanism, key);

        if (rv == CKR_OK) {
            rv = p11->C_Sign(s, (CK_BYTE_PTR)in, data_len, signature, &len);
        }
        if (after_kill) {
            gint64 took = g_get_monotonic_time() - started;

            g_mutex_lock(&durations_lock);
            g_array_append_val(durations, took);
            g_mutex_unlock(&durations_lock);
        }
        if (kill_command != NULL && g_atomic_int_get(&signatures) >= (gint)(threads_n * SIGNATURES / 2) &&
            g_atomic_int_compare_and_exchange(&killed, 0, 1)) {
            if (system(kill_command) != 0) {
                printf("FAIL: the kill command failed: %s\n", kill_command);
                g_atomic_int_inc(&failures);
            }
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

static gint
by_value(gconstpointer a, gconstpointer b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return x < y ? -1 : x > y;
}

/* The durations of the calls made after the kill. */
static void
print_durations(void)
{
    guint n = durations->len;

    if (n == 0) {
        return;
    }
    g_array_sort(durations, by_value);
    printf("calls after the kill: %u, C_SignInit + C_Sign p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           n, g_array_index(durations, gint64, n / 2) / 1000.0,
           g_array_index(durations, gint64, MIN(n - 1, n * 99 / 100)) / 1000.0,
           g_array_index(durations, gint64, n - 1) / 1000.0);
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
    GThread *threads[MAX_THREADS], *flap;
    CK_C_GetFunctionList get_function_list;
    CK_SLOT_ID slots[8];
    CK_ULONG count = G_N_ELEMENTS(slots);
    gchar *contents;
    gsize len;
    void *dl;
    guint flaps, i;
    /* $GROUP_NO_THREADS: the library may make no thread (its probes then run
     * in the application's calls) */
    CK_C_INITIALIZE_ARGS no_threads = {.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS |
                                                CKF_OS_LOCKING_OK};

    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: group-threads P11MUX_SO PIN RULES REFERENCE DATA [KILL]\n");
        return 2;
    }
    pin = argv[2];
    kill_command = argc == 7 ? argv[6] : NULL;
    if (g_getenv("GROUP_THREADS") != NULL) {
        threads_n = CLAMP((guint)g_ascii_strtoull(g_getenv("GROUP_THREADS"), NULL, 10), 1,
                          MAX_THREADS);
    }
    until_file = g_getenv("GROUP_UNTIL");
    mark_file = g_getenv("GROUP_MARK");
    durations = g_array_new(FALSE, FALSE, sizeof(gint64));
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
        p11->C_Initialize(g_getenv("GROUP_NO_THREADS") != NULL ? &no_threads : NULL) != CKR_OK ||
        p11->C_GetSlotList(CK_TRUE, slots, &count) != CKR_OK) {
        fprintf(stderr, "group-threads: cannot initialise p11mux\n");
        return 2;
    }
    slot = p11mux_test_slot_named(p11, P11MUX_TEST_BY_TOKEN_LABEL, "signing");
    if (slot == (CK_SLOT_ID)-1) {
        fprintf(stderr, "group-threads: no token labelled 'signing'\n");
        return 2;
    }
    if (!login()) {
        fprintf(stderr, "group-threads: cannot log in\n");
        return 2;
    }
    flap = strcmp(argv[3], "-") != 0 ? g_thread_new("flapper", flapper, argv[3]) : NULL;
    for (i = 0; i < threads_n; i++) {
        threads[i] = g_thread_new("signer", signer, NULL);
    }
    for (i = 0; i < threads_n; i++) {
        g_thread_join(threads[i]);
    }
    g_atomic_int_set(&stop, 1);
    flaps = flap != NULL ? GPOINTER_TO_UINT(g_thread_join(flap)) : 0;
    p11->C_Finalize(NULL);
    print_durations();
    printf("%s: %d signatures from %d threads (replica-a flapped %u times%s), %d failed\n",
           failures == 0 ? "PASS" : "FAIL", g_atomic_int_get(&signatures), threads_n, flaps,
           !g_atomic_int_get(&killed) ? ""
           : kill_command != NULL     ? ", a member's server killed half-way"
                                      : ", a member's server killed during the run",
           g_atomic_int_get(&failures));
    g_array_unref(durations);
    g_bytes_unref(reference);
    g_bytes_unref(data);
    return failures == 0 ? 0 : 1;
}
