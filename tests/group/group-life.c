/*
 * The life of an HA group in one process (HA-GROUPS.md §14.1), where
 * pkcs11-tool, one process per run, cannot show it: the group "signing" of
 * two SoftHSM2 replicas behind p11fault.so (lifecycle.sh writes the
 * configuration: dispatch = primary, error-threshold = 1, fast probes).
 * Member failures are injected on C_SignInit (an injected failure never
 * reaches SoftHSM2, so no operation is left active there); what p11mux did
 * is read from p11fault's counts ($P11FAULT_COUNTS) and the trace.
 *
 * Modes:
 *   handles      #2: a handle found in one session signs in another, and
 *                again after replica-a was down and re-admitted
 *   readmit      #15: replica-a fails, recovers and is logged in again by
 *                p11mux with the kept PIN (no C_Login of the application),
 *                then takes work again (also #28's run: login, failover,
 *                re-admission)
 *   no-retention #15: pin-retention = none: the recovered replica-a waits
 *                in RECOVERING while the group is logged in, and is active
 *                again after the application's next C_Login
 *   all-down     #20: both members fail: CKR_DEVICE_ERROR, the session
 *                kept; one recovers: the same session signs, no new login
 *   no-threads   #23: CKF_LIBRARY_CANT_CREATE_OS_THREADS: no thread made
 *                (/proc/self/task), re-admission still happens
 *   fork         #24: the child's C_Initialize works, its group is fresh
 *                and not logged in (the PIN was not kept for it): its
 *                session is public, the private key is not found, and
 *                the parent's key handle is refused without C_Login
 *                (CKR_KEY_HANDLE_INVALID, since the fresh group indexes
 *                private keys only after a login, or CKR_USER_NOT_LOGGED_IN);
 *                after C_Login (CKR_OK, not ..._ALREADY_LOGGED_IN) it signs
 *   admin        #19: C_InitToken, C_InitPIN, C_SetPIN, C_Login(CKU_SO),
 *                C_GetOperationState, C_SetOperationState refused with the
 *                codes of HA-GROUPS.md §6.4 and §8.2
 *
 * Usage: group-life P11MUX_SO PIN RULES_FILE TRACE_FILE MODE
 * (P11MUX_CONF names the configuration).  Prints PASS:/FAIL: lines.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p11mux-pkcs11.h"
#include "report.h"
#include "token-slot.h"

static CK_FUNCTION_LIST_PTR p11;
static CK_SLOT_ID slot;
static const char *pin;
static const char *rules_path;
static const char *trace_path;
static int failures;
static GBytes *reference; /* the first signature: PKCS #1 v1.5 is deterministic */

static const CK_BYTE data[] = "data signed through the group";

/* ------------------------------------------------------------ helpers */

static void
expect(const char *what, gboolean holds)
{
    printf("%s: %s\n", holds ? "PASS" : "FAIL", what);
    failures += !holds;
}

static void
expect_rv(const char *what, CK_RV rv, CK_RV want)
{
    failures += p11mux_test_rv(what, rv, want);
}

static void
write_rules(const char *rules)
{
    g_autofree char *tmp = g_strconcat(rules_path, ".new", NULL);

    g_file_set_contents(tmp, rules, -1, NULL);
    g_rename(tmp, rules_path);
}

/* What p11fault counted of fn on the token label (0 if nothing). */
static guint
count(const char *label, const char *fn)
{
    g_autofree char *text = NULL;
    g_autofree char *prefix = g_strdup_printf("%s %s ", label, fn);
    g_auto(GStrv) lines = NULL;
    const char *counts = g_getenv("P11FAULT_COUNTS");
    guint i;

    if (counts == NULL || !g_file_get_contents(counts, &text, NULL, NULL)) {
        return 0;
    }
    lines = g_strsplit(text, "\n", -1);
    for (i = 0; lines[i] != NULL; i++) {
        if (g_str_has_prefix(lines[i], prefix)) {
            return (guint)g_ascii_strtoull(lines[i] + strlen(prefix), NULL, 10);
        }
    }
    return 0;
}

/* How often the trace holds text. */
static guint
trace_count(const char *text)
{
    g_autofree char *trace = NULL;
    const char *at;
    guint n = 0;

    if (!g_file_get_contents(trace_path, &trace, NULL, NULL)) {
        return 0;
    }
    for (at = strstr(trace, text); at != NULL; at = strstr(at + 1, text)) {
        n++;
    }
    return n;
}

/* An application call that does nothing much (and runs the probes inline
 * when the library may make no thread). */
static void
idle_call(void)
{
    CK_SLOT_ID slots[16];
    CK_ULONG n = G_N_ELEMENTS(slots);

    (void)p11->C_GetSlotList(CK_TRUE, slots, &n);
}

/* Wait (idling in calls) up to ms for count(label, fn) >= at_least. */
static gboolean
wait_count(const char *label, const char *fn, guint at_least, guint ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)ms * 1000;

    while (count(label, fn) < at_least) {
        if (g_get_monotonic_time() > until) {
            return FALSE;
        }
        idle_call();
        g_usleep(20 * 1000);
    }
    return TRUE;
}

/* Wait (idling in calls) up to ms for the trace to hold text n times. */
static gboolean
wait_trace(const char *text, guint n, guint ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)ms * 1000;

    while (trace_count(text) < n) {
        if (g_get_monotonic_time() > until) {
            return FALSE;
        }
        idle_call();
        g_usleep(20 * 1000);
    }
    return TRUE;
}

static gboolean
init(CK_C_INITIALIZE_ARGS *args)
{
    CK_RV rv = p11->C_Initialize(args);

    if (rv != CKR_OK) {
        printf("FAIL: C_Initialize: rv 0x%lx\n", (unsigned long)rv);
        failures++;
        return FALSE;
    }
    slot = p11mux_test_slot_named(p11, P11MUX_TEST_BY_TOKEN_LABEL, "signing");
    if (slot == (CK_SLOT_ID)-1) {
        printf("FAIL: no token labelled 'signing'\n");
        failures++;
        return FALSE;
    }
    return TRUE;
}

static CK_SESSION_HANDLE
open_session(void)
{
    CK_SESSION_HANDLE s = 0;

    if (p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) {
        printf("FAIL: a session could not be opened\n");
        failures++;
    }
    return s;
}

static CK_RV
login(CK_SESSION_HANDLE s)
{
    return p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
}

/* The RSA private key of id 01; 0 if not exactly one is found. */
static CK_OBJECT_HANDLE
find_key(CK_SESSION_HANDLE s)
{
    CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
    CK_BYTE id = 0x01;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &klass, sizeof klass}, {CKA_ID, &id, 1}};
    CK_OBJECT_HANDLE keys[4] = {0};
    CK_ULONG n = 0;

    if (p11->C_FindObjectsInit(s, tmpl, 2) != CKR_OK) {
        return 0;
    }
    if (p11->C_FindObjects(s, keys, G_N_ELEMENTS(keys), &n) != CKR_OK) {
        n = 0;
    }
    p11->C_FindObjectsFinal(s);
    return n == 1 ? keys[0] : 0;
}

/* Sign data with key in s; a signature that differs from the reference is
 * CKR_SIGNATURE_INVALID. */
static CK_RV
sign(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
    CK_MECHANISM mechanism = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_BYTE signature[512];
    CK_ULONG len = sizeof signature;
    gsize ref_len;
    const guint8 *ref;
    CK_RV rv = p11->C_SignInit(s, &mechanism, key);

    if (rv == CKR_OK) {
        rv = p11->C_Sign(s, (CK_BYTE_PTR)data, sizeof data - 1, signature, &len);
    }
    if (rv != CKR_OK) {
        return rv;
    }
    if (reference == NULL) {
        reference = g_bytes_new(signature, len);
        return CKR_OK;
    }
    ref = g_bytes_get_data(reference, &ref_len);
    return len == ref_len && memcmp(ref, signature, len) == 0 ? CKR_OK : CKR_SIGNATURE_INVALID;
}

/* Sign until replica-a signs (its C_Sign count passes before), ms at most. */
static gboolean
sign_until_a_signs(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, guint ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)ms * 1000;
    guint before = count("replica-a", "C_Sign");

    while (g_get_monotonic_time() < until) {
        if (sign(s, key) != CKR_OK) {
            return FALSE;
        }
        if (count("replica-a", "C_Sign") > before) {
            return TRUE;
        }
        g_usleep(50 * 1000);
    }
    return FALSE;
}

/* Logged in in a session s, the key found; FALSE if not. */
static gboolean
logged_in_with_key(CK_SESSION_HANDLE *s, CK_OBJECT_HANDLE *key)
{
    *s = open_session();
    expect_rv("the application logs in", login(*s), CKR_OK);
    *key = find_key(*s);
    expect("the RSA key (01) is found once", *key != 0);
    expect_rv("it signs", sign(*s, *key), CKR_OK);
    return *key != 0;
}

/* replica-a fails one call of fn (C_SignInit, or C_Sign: the operation
 * then moves): the signature is made on replica-b and replica-a is DOWN
 * (error-threshold = 1). */
static void
fail_a_once_in(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const char *fn)
{
    guint b_signs = count("replica-b", "C_Sign");
    g_autofree char *rule =
        g_strdup_printf("token=replica-a fn=%s rv=CKR_DEVICE_ERROR count=1\n", fn);

    write_rules(rule);
    expect_rv("replica-a failing, the signature is made (failover)", sign(s, key), CKR_OK);
    expect("... by replica-b", count("replica-b", "C_Sign") > b_signs);
    write_rules("\n");
}

static void
fail_a_once(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
    fail_a_once_in(s, key, "C_SignInit");
}

/* ------------------------------------------------------------ #2 */

static void
handles(void)
{
    CK_SESSION_HANDLE s1, s2, s3;
    CK_OBJECT_HANDLE key;

    if (!logged_in_with_key(&s1, &key)) {
        return;
    }
    s2 = open_session();
    expect_rv("the handle found in session 1 signs in session 2", sign(s2, key), CKR_OK);
    s3 = open_session();
    expect("session 3 finds the same handle", find_key(s3) == key);
    fail_a_once(s1, key);
    expect("replica-a is logged in again (re-admitted)",
           wait_count("replica-a", "C_Login", 2, 5000));
    expect("... and signs again with the handle of session 1 (in session 2)",
           sign_until_a_signs(s2, key, 5000));
    expect_rv("... in session 1 too", sign(s1, key), CKR_OK);
    expect("after the re-admission a search still finds the same handle", find_key(s3) == key);
}

/* ------------------------------------------------------------ #15 */

static void
readmit(void)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE key;
    guint logins_b;

    if (!logged_in_with_key(&s, &key)) {
        return;
    }
    expect("one C_Login on replica-a", count("replica-a", "C_Login") == 1);
    logins_b = count("replica-b", "C_Login");
    expect("one C_Login on replica-b", logins_b == 1);
    /* C_Sign itself: the operation moves from replica-a (group.failover) */
    fail_a_once_in(s, key, "C_Sign");
    expect("the trace records the failover", trace_count("group.failover") >= 1);
    expect("replica-a recovers and p11mux logs it in with the kept PIN",
           wait_count("replica-a", "C_Login", 2, 5000));
    expect("replica-a takes work again", sign_until_a_signs(s, key, 5000));
    expect("replica-b was not logged in again", count("replica-b", "C_Login") == logins_b);
}

static void
no_retention(void)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE key;
    guint a_signs;

    if (!logged_in_with_key(&s, &key)) {
        return;
    }
    fail_a_once(s, key);
    expect("replica-a answers its probes again (down -> recovering)",
           wait_trace("token=replica-a): down -> recovering", 1, 5000));
    g_usleep(500 * 1000); /* several probe intervals */
    idle_call();
    expect("with pin-retention = none replica-a is not logged in again",
           count("replica-a", "C_Login") == 1);
    expect("... nor re-admitted while the group is logged in",
           trace_count("token=replica-a): recovering -> active") == 0);
    a_signs = count("replica-a", "C_Sign");
    expect_rv("the group signs meanwhile", sign(s, key), CKR_OK);
    expect("... on replica-b (replica-a is not used)", count("replica-a", "C_Sign") == a_signs);
    /* the next C_Login: log out and in again at once */
    expect_rv("the application logs out", p11->C_Logout(s), CKR_OK);
    expect_rv("... and in again", login(s), CKR_OK);
    expect("replica-a is logged in at that C_Login", count("replica-a", "C_Login") == 2);
    expect("replica-a is active again",
           wait_trace("token=replica-a): recovering -> active", 1, 3000));
    g_usleep(500 * 1000); /* several probe intervals: it stays active */
    expect("replica-a takes work again", sign_until_a_signs(s, key, 3000));
}

/* ------------------------------------------------------------ #20 */

static void
all_down(void)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE key;
    CK_SESSION_INFO info;
    CK_SLOT_INFO slot_info;
    guint logins_a, logins_b;
    gint64 until;
    CK_RV rv;

    if (!logged_in_with_key(&s, &key)) {
        return;
    }
    logins_a = count("replica-a", "C_Login");
    logins_b = count("replica-b", "C_Login");
    write_rules("token=replica-* fn=C_SignInit rv=CKR_DEVICE_ERROR count=always\n"
                "token=replica-* fn=C_GetTokenInfo rv=CKR_DEVICE_ERROR count=always\n");
    expect_rv("both members failing: CKR_DEVICE_ERROR", sign(s, key), CKR_DEVICE_ERROR);
    g_usleep(300 * 1000);
    expect_rv("... and again (both down)", sign(s, key), CKR_DEVICE_ERROR);
    expect("both members are down", trace_count("): active -> down") >= 2);
    expect_rv("the session is kept (keep-sessions)", p11->C_GetSessionInfo(s, &info), CKR_OK);
    expect("... still logged in", info.state == CKS_RO_USER_FUNCTIONS);
    expect("the token stays present",
           p11->C_GetSlotInfo(slot, &slot_info) == CKR_OK && (slot_info.flags & CKF_TOKEN_PRESENT));
    write_rules("\n");
    until = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    do {
        g_usleep(50 * 1000);
        rv = sign(s, key);
    } while (rv != CKR_OK && g_get_monotonic_time() < until);
    expect("the members came back through their backend's re-initialisation (a reconnect)",
           trace_count("group.backend.reinit") >= 1);
    expect_rv("a member recovers: the same session signs with the same key handle, with no new "
              "C_Login",
              rv, CKR_OK);
    expect("p11mux logged the recovered members in itself",
           count("replica-a", "C_Login") + count("replica-b", "C_Login") > logins_a + logins_b);
}

/* ------------------------------------------------------------ #23 */

static guint
threads_now(void)
{
    DIR *dir = opendir("/proc/self/task");
    struct dirent *entry;
    guint n = 0;

    if (dir == NULL) {
        return 0;
    }
    while ((entry = readdir(dir)) != NULL) {
        n += entry->d_name[0] != '.';
    }
    closedir(dir);
    return n;
}

/* threads: the process's threads before C_Initialize. */
static void
no_threads(guint threads)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE key;
    guint after;

    if (!logged_in_with_key(&s, &key)) {
        return;
    }
    fail_a_once(s, key);
    expect("re-admitted in the application's calls (logged in again)",
           wait_count("replica-a", "C_Login", 2, 5000));
    expect("replica-a takes work again", sign_until_a_signs(s, key, 5000));
    expect("the trace shows it active again",
           trace_count("token=replica-a): recovering -> active") >= 1);
    after = threads_now();
    if (after == threads) {
        printf("PASS: no thread made by p11mux (%u before C_Initialize and after)\n", after);
    } else {
        printf("FAIL: %u threads before C_Initialize, %u after\n", threads, after);
        failures++;
    }
}

/* ------------------------------------------------------------ #24 */

/* In the child: C_Initialize works, the group is fresh and not logged in. */
static int
child(CK_OBJECT_HANDLE parent_key)
{
    CK_SESSION_HANDLE s;
    CK_SESSION_INFO info;
    CK_OBJECT_HANDLE key;

    failures = 0;
    g_clear_pointer(&reference, g_bytes_unref); /* the parent's: compared again below */
    if (!init(NULL)) {
        return 1;
    }
    printf("PASS: child: C_Initialize works\n");
    s = open_session();
    expect("child: a new session is not logged in",
           p11->C_GetSessionInfo(s, &info) == CKR_OK && info.state == CKS_RO_PUBLIC_SESSION);
    expect("child: the private key is not found before C_Login", find_key(s) == 0);
    {
        CK_MECHANISM mechanism = {CKM_SHA256_RSA_PKCS, NULL, 0};
        CK_RV rv = p11->C_SignInit(s, &mechanism, parent_key);

        if (rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_KEY_HANDLE_INVALID) {
            printf("PASS: child: signing with the parent's key handle without C_Login is "
                   "refused (rv 0x%lx)\n",
                   (unsigned long)rv);
        } else {
            printf("FAIL: child: signing without C_Login: rv 0x%lx\n", (unsigned long)rv);
            failures++;
        }
    }
    expect_rv("child: C_Login works (the group is not logged in)", login(s), CKR_OK);
    key = find_key(s);
    expect("child: then the key is found", key != 0);
    expect_rv("child: and signs", sign(s, key), CKR_OK);
    p11->C_Finalize(NULL);
    fflush(stdout);
    return failures == 0 ? 0 : 1;
}

static void
forked(void)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE key;
    pid_t pid;
    int status = 0;

    if (!logged_in_with_key(&s, &key)) {
        return;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        _exit(child(key));
    }
    expect("the child ran", pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    expect("the child's checks passed", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    expect_rv("the parent still signs, logged in", sign(s, key), CKR_OK);
}

/* ------------------------------------------------------------ #19 */

static void
admin(void)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE key;
    CK_MECHANISM mechanism = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_UTF8CHAR label[32];
    CK_BYTE state[4096];
    CK_ULONG state_len = sizeof state;
    const CK_UTF8CHAR so_pin[] = "0000", new_pin[] = "5678";

    if (!logged_in_with_key(&s, &key)) {
        return;
    }
    memset(label, ' ', sizeof label);
    memcpy(label, "taken-over", 10);
    expect_rv("C_InitToken on the group: CKR_FUNCTION_NOT_SUPPORTED",
              p11->C_InitToken(slot, (CK_UTF8CHAR_PTR)so_pin, 4, label),
              CKR_FUNCTION_NOT_SUPPORTED);
    expect_rv("C_SetPIN: CKR_FUNCTION_NOT_SUPPORTED",
              p11->C_SetPIN(s, (CK_UTF8CHAR_PTR)pin, strlen(pin), (CK_UTF8CHAR_PTR)new_pin, 4),
              CKR_FUNCTION_NOT_SUPPORTED);
    expect_rv("C_InitPIN: CKR_FUNCTION_NOT_SUPPORTED",
              p11->C_InitPIN(s, (CK_UTF8CHAR_PTR)new_pin, 4), CKR_FUNCTION_NOT_SUPPORTED);
    expect_rv("C_Login(CKU_SO): CKR_USER_TYPE_INVALID",
              p11->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)so_pin, 4), CKR_USER_TYPE_INVALID);
    expect_rv("a signature begins", p11->C_SignInit(s, &mechanism, key), CKR_OK);
    expect_rv("C_GetOperationState: CKR_STATE_UNSAVEABLE",
              p11->C_GetOperationState(s, state, &state_len), CKR_STATE_UNSAVEABLE);
    expect_rv("C_SetOperationState: CKR_SAVED_STATE_INVALID",
              p11->C_SetOperationState(s, state, 16, 0, 0), CKR_SAVED_STATE_INVALID);
    {
        CK_BYTE signature[512];
        CK_ULONG len = sizeof signature;

        expect_rv("the signature goes on",
                  p11->C_Sign(s, (CK_BYTE_PTR)data, sizeof data - 1, signature, &len), CKR_OK);
    }
    expect_rv("the user PIN still logs in (nothing changed)", p11->C_Logout(s), CKR_OK);
    expect_rv("... C_Login", login(s), CKR_OK);
}

/* ------------------------------------------------------------ main */

int
main(int argc, char **argv)
{
    CK_C_INITIALIZE_ARGS no_threads_args = {.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS |
                                                     CKF_OS_LOCKING_OK};
    CK_C_GetFunctionList get_function_list;
    const char *mode;
    gboolean inline_probes;
    guint threads;
    void *dl;

    if (argc != 6) {
        fprintf(stderr, "usage: group-life P11MUX_SO PIN RULES_FILE TRACE_FILE MODE\n");
        return 2;
    }
    pin = argv[2];
    rules_path = argv[3];
    trace_path = argv[4];
    mode = argv[5];
    inline_probes = strcmp(mode, "no-threads") == 0;
    dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    get_function_list = dl != NULL ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
    if (get_function_list == NULL || get_function_list(&p11) != CKR_OK) {
        fprintf(stderr, "group-life: cannot load %s\n", argv[1]);
        return 2;
    }
    threads = threads_now();
    if (!init(inline_probes ? &no_threads_args : NULL)) {
        return 1;
    }
    if (strcmp(mode, "handles") == 0) {
        /* the control of no-threads' count: allowed threads, p11mux probes in one */
        expect("with threads allowed, C_Initialize starts the prober's thread",
               threads_now() > threads);
        handles();
    } else if (strcmp(mode, "readmit") == 0) {
        readmit();
    } else if (strcmp(mode, "no-retention") == 0) {
        no_retention();
    } else if (strcmp(mode, "all-down") == 0) {
        all_down();
    } else if (inline_probes) {
        no_threads(threads);
    } else if (strcmp(mode, "fork") == 0) {
        forked();
    } else if (strcmp(mode, "admin") == 0) {
        admin();
    } else {
        fprintf(stderr, "group-life: unknown mode %s\n", mode);
        return 2;
    }
    p11->C_Finalize(NULL);
    g_clear_pointer(&reference, g_bytes_unref);
    return failures == 0 ? 0 : 1;
}
