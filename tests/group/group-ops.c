/*
 * Operations through an HA group (HA-GROUPS.md §7, §8; tests 3, 6, 7, 8, 9,
 * 11, 12 and 21 of §14.1), over replica-a and replica-b behind p11fault.so
 * (tests/group/operations.sh runs it, one MODE per configuration):
 *
 *   round-robin      100 signatures: 50 ± 1 C_Sign on each member
 *   least-busy       8 threads sign: both members used
 *   per-operation    a member failing C_SignInit, C_Decrypt (RSA-OAEP SHA-1),
 *                    C_GetAttributeValue, C_GenerateRandom: CKR_OK, right results
 *   failover-on      each value of the default failover-on list fails C_Sign
 *                    once: CKR_OK, and the other member signed
 *   request-errors   request errors (injected, and the token's own) returned
 *                    unchanged after exactly one backend call
 *   sign-once LABEL RV WANT
 *                    LABEL fails one C_Sign with RV: the application sees WANT
 *                    (a backend's own failover-on)
 *   busy             CKR_DEVICE_MEMORY 5 times on replica-a: retried on
 *                    replica-b, and replica-a still takes the next operation
 *   replay           multi-part signing whose member fails mid-stream: the
 *                    signature equals the single-part one (and digesting,
 *                    verifying: replayed the same way)
 *   replay-bounded   the same past replay-buffer (512): CKR_DEVICE_ERROR, the
 *                    operation over
 *   length           C_Sign(NULL) asks the length, the member fails, C_Sign
 *                    with the buffer: right length, a signature that verifies
 *   snapshot         OAEP parameters (with and without a label) overwritten
 *                    and freed after C_DecryptInit, failover on C_Decrypt: the
 *                    plaintext is still right
 *   hung             replica-a's C_Sign hangs 5 s (call-timeout = 1s): the
 *                    other threads sign on replica-b meanwhile, the hung call
 *                    completes, nothing deadlocks
 *
 * DIR holds data (4 KiB), data.sig (its SHA256-RSA-PKCS signature by key 01,
 * made by openssl), secret and secret.oaep (secret encrypted under key 01's
 * public key, RSA-OAEP SHA-1) and cert.der (the certificate of id 01).
 *
 * The group's dispatch is "primary" except in round-robin and least-busy:
 * a new operation goes to replica-a while it is ACTIVE.  The program writes
 * the rules file ($P11FAULT_RULES) just before the calls a rule is for and
 * reads the counts file ($P11FAULT_COUNTS): every count below is the
 * difference across the calls tested.
 *
 * Usage: group-ops P11MUX_SO PIN DIR MODE [ARG...]  (P11MUX_CONF names the
 * configuration; the group's token is labelled "signing").  Prints
 * PASS:/FAIL: lines.
 */
#include "config.h"

#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11mux-pkcs11.h"
#include "token-slot.h"

#define SIG_MAX 512
#define PART 1024 /* bytes of one C_SignUpdate */
#define OAEP_LABEL "p11mux-label"

static CK_FUNCTION_LIST_PTR p11;
static CK_SLOT_ID slot;
static gint failures;
static GBytes *data;     /* 4 KiB */
static GBytes *data_sig; /* openssl's signature of data */
static GBytes *secret;
static GBytes *secret_oaep;
static GBytes *cert;

/* ------------------------------------------------------------ reporting */

static const struct {
    CK_RV rv;
    const char *name;
} rv_names[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED"},
    {CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
};

static const char *
rv_name(CK_RV rv)
{
    static char unknown[32];
    guint i;

    for (i = 0; i < G_N_ELEMENTS(rv_names); i++) {
        if (rv_names[i].rv == rv) {
            return rv_names[i].name;
        }
    }
    g_snprintf(unknown, sizeof unknown, "0x%lx", (unsigned long)rv);
    return unknown;
}

/* The value of a name of the table; (CK_RV)-1 when unknown. */
static CK_RV
rv_of(const char *name)
{
    guint i;

    for (i = 0; i < G_N_ELEMENTS(rv_names); i++) {
        if (strcmp(rv_names[i].name, name) == 0) {
            return rv_names[i].rv;
        }
    }
    return (CK_RV)-1;
}

static gboolean G_GNUC_PRINTF(2, 3) verdict(gboolean ok, const char *format, ...)
{
    g_autofree char *text = NULL;
    va_list args;

    va_start(args, format);
    text = g_strdup_vprintf(format, args);
    va_end(args);
    printf("%s: %s\n", ok ? "PASS" : "FAIL", text);
    fflush(stdout);
    if (!ok) {
        g_atomic_int_inc(&failures);
    }
    return ok;
}

static gboolean
expect_rv(const char *what, CK_RV rv, CK_RV want)
{
    if (rv == want) {
        return verdict(TRUE, "%s (%s)", what, rv_name(rv));
    }
    return verdict(FALSE, "%s: %s, expected %s", what, rv_name(rv), rv_name(want));
}

/* ------------------------------------------------------- the fault injector */

/* Replace the rules file (a new file renamed over it: p11fault.so reads it
 * again, its counters from zero). */
static void
set_rules(const char *rules)
{
    const char *path = g_getenv("P11FAULT_RULES");
    g_autofree char *tmp = g_strconcat(path, ".new", NULL);
    g_autofree char *text = g_strconcat(rules, "\n", NULL);

    if (!g_file_set_contents(tmp, text, -1, NULL) || g_rename(tmp, path) != 0) {
        verdict(FALSE, "cannot write the rules file %s", path);
    }
}

/* How many calls of fn on the token label p11fault.so counted so far. */
static guint64
count(const char *label, const char *fn)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    guint64 n = 0;
    guint i;

    if (!g_file_get_contents(g_getenv("P11FAULT_COUNTS"), &text, NULL, NULL)) {
        return 0;
    }
    lines = g_strsplit(text, "\n", -1);
    for (i = 0; lines[i] != NULL; i++) {
        g_autofree char *want = g_strdup_printf("%s %s ", label, fn);

        if (g_str_has_prefix(lines[i], want)) {
            n = g_ascii_strtoull(lines[i] + strlen(want), NULL, 10);
        }
    }
    return n;
}

/* The counts of fn on both members, taken before a step (Counts) and
 * compared after it. */
typedef struct {
    const char *fn;
    guint64 a, b;
} Counts;

static Counts
counts_of(const char *fn)
{
    return (Counts){fn, count("replica-a", fn), count("replica-b", fn)};
}

/* fn was called a more times on replica-a and b more on replica-b since before. */
static gboolean
expect_calls(const char *what, Counts before, guint64 a, guint64 b)
{
    Counts now = counts_of(before.fn);
    guint64 da = now.a - before.a, db = now.b - before.b;

    return verdict(da == a && db == b,
                   "%s: %s on replica-a %" G_GUINT64_FORMAT ", on replica-b %" G_GUINT64_FORMAT
                   " (expected %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ")",
                   what, before.fn, da, db, a, b);
}

/* ------------------------------------------------------------ the token */

static CK_SESSION_HANDLE
open_session(void)
{
    CK_SESSION_HANDLE s = 0;
    CK_RV rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);

    if (rv != CKR_OK) {
        verdict(FALSE, "a session opens: %s", rv_name(rv));
    }
    return s;
}

static CK_OBJECT_HANDLE
find(CK_SESSION_HANDLE s, CK_OBJECT_CLASS klass)
{
    CK_BYTE id = 0x01;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &klass, sizeof klass}, {CKA_ID, &id, 1}};
    CK_OBJECT_HANDLE object = 0;
    CK_ULONG n = 0;

    if (p11->C_FindObjectsInit(s, tmpl, 2) == CKR_OK) {
        if (p11->C_FindObjects(s, &object, 1, &n) != CKR_OK || n != 1) {
            object = 0;
        }
        p11->C_FindObjectsFinal(s);
    }
    if (object == 0) {
        verdict(FALSE, "the group finds object class %lu of id 01", (unsigned long)klass);
    }
    return object;
}

static CK_MECHANISM sha256_rsa = {CKM_SHA256_RSA_PKCS, NULL, 0};

/* C_SignInit with key and C_Sign of len bytes of in, in s; the signature
 * into sig (SIG_MAX bytes), its length into *sig_len. */
static CK_RV
sign_key(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const guint8 *in, gsize len, guint8 *sig,
         CK_ULONG *sig_len)
{
    CK_RV rv = p11->C_SignInit(s, &sha256_rsa, key);

    *sig_len = SIG_MAX;
    if (rv == CKR_OK) {
        rv = p11->C_Sign(s, (CK_BYTE_PTR)in, len, sig, sig_len);
    }
    return rv;
}

/* The same with key 01, found in a session of its own. */
static CK_RV
sign(const guint8 *in, gsize len, guint8 *sig, CK_ULONG *sig_len)
{
    CK_SESSION_HANDLE s = open_session();
    CK_RV rv = sign_key(s, find(s, CKO_PRIVATE_KEY), in, len, sig, sig_len);

    p11->C_CloseSession(s);
    return rv;
}

static gboolean
same(const guint8 *bytes, gsize len, GBytes *want)
{
    gsize want_len;
    const guint8 *want_bytes = g_bytes_get_data(want, &want_len);

    return len == want_len && memcmp(bytes, want_bytes, len) == 0;
}

/* A signature of data (whole) made through the group is openssl's. */
static void
expect_data_signature(const char *what, CK_RV rv, const guint8 *sig, CK_ULONG len)
{
    if (expect_rv(what, rv, CKR_OK)) {
        verdict(same(sig, len, data_sig), "%s: the signature is openssl's (%lu bytes)", what,
                (unsigned long)len);
    }
}

/* Sign data with a NULL rules file first: the group works and signs right. */
static void
sign_data(const char *what)
{
    guint8 sig[SIG_MAX];
    CK_ULONG len;
    CK_RV rv = sign(g_bytes_get_data(data, NULL), g_bytes_get_size(data), sig, &len);

    expect_data_signature(what, rv, sig, len);
}

/* Wait (5 s at most) until a new operation goes to replica-a again: after a
 * failure the member is SUSPECT or DOWN until a probe takes it back.  Asked
 * with one-byte C_GenerateRandom calls (the first ACTIVE member serves them
 * under dispatch = primary). */
static void
wait_for_replica_a(void)
{
    CK_SESSION_HANDLE s = open_session();
    CK_BYTE byte;
    guint i;

    for (i = 0; i < 100; i++) {
        guint64 before = count("replica-a", "C_GenerateRandom");

        if (p11->C_GenerateRandom(s, &byte, 1) == CKR_OK &&
            count("replica-a", "C_GenerateRandom") > before) {
            p11->C_CloseSession(s);
            return;
        }
        g_usleep(50 * 1000);
    }
    p11->C_CloseSession(s);
    verdict(FALSE, "replica-a takes new operations again within 5 s");
}

/* ------------------------------------------------------------- #3 dispatch */

static void
round_robin(void)
{
    CK_SESSION_HANDLE s = open_session();
    CK_OBJECT_HANDLE key = find(s, CKO_PRIVATE_KEY);
    Counts before = counts_of("C_Sign");
    guint i, wrong = 0;
    Counts after;

    for (i = 0; i < 100; i++) {
        guint8 sig[SIG_MAX];
        CK_ULONG len;
        CK_RV rv =
            sign_key(s, key, g_bytes_get_data(data, NULL), g_bytes_get_size(data), sig, &len);

        wrong += rv != CKR_OK || !same(sig, len, data_sig);
    }
    after = counts_of("C_Sign");
    verdict(wrong == 0, "100 signatures, %u wrong or failed", wrong);
    verdict(after.a - before.a + after.b - before.b == 100, "100 C_Sign in all");
    verdict(after.a - before.a >= 49 && after.a - before.a <= 51 && after.b - before.b >= 49 &&
                after.b - before.b <= 51,
            "50 +- 1 C_Sign per member (replica-a %" G_GUINT64_FORMAT
            ", replica-b %" G_GUINT64_FORMAT ")",
            after.a - before.a, after.b - before.b);
    p11->C_CloseSession(s);
}

#define THREADS 8
#define PER_THREAD 25

static gpointer
signer(gpointer unused G_GNUC_UNUSED)
{
    CK_SESSION_HANDLE s = open_session();
    CK_OBJECT_HANDLE key = find(s, CKO_PRIVATE_KEY);
    guint i, wrong = 0;

    for (i = 0; i < PER_THREAD; i++) {
        guint8 sig[SIG_MAX];
        CK_ULONG len;
        CK_RV rv =
            sign_key(s, key, g_bytes_get_data(data, NULL), g_bytes_get_size(data), sig, &len);

        wrong += rv != CKR_OK || !same(sig, len, data_sig);
    }
    p11->C_CloseSession(s);
    return GUINT_TO_POINTER(wrong);
}

static void
least_busy(void)
{
    GThread *threads[THREADS];
    Counts before = counts_of("C_Sign"), after;
    guint i, wrong = 0, total = THREADS * PER_THREAD;

    for (i = 0; i < THREADS; i++) {
        threads[i] = g_thread_new("signer", signer, NULL);
    }
    for (i = 0; i < THREADS; i++) {
        wrong += GPOINTER_TO_UINT(g_thread_join(threads[i]));
    }
    after = counts_of("C_Sign");
    verdict(wrong == 0, "%u signatures from %u threads, %u wrong or failed", total, THREADS, wrong);
    verdict(after.a - before.a + after.b - before.b == total, "%u C_Sign in all", total);
    /* neither idle: each took a fifth of the work at least */
    verdict(after.a - before.a >= total / 5 && after.b - before.b >= total / 5,
            "both members used (replica-a %" G_GUINT64_FORMAT ", replica-b %" G_GUINT64_FORMAT
            " C_Sign)",
            after.a - before.a, after.b - before.b);
}

/* ------------------------------------------------ #6 per-operation failover */

static CK_RSA_PKCS_OAEP_PARAMS oaep_sha1 = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};

/* C_Decrypt of secret.oaep, after C_DecryptInit in s: the plaintext is secret. */
static void
expect_decrypt(const char *what, CK_SESSION_HANDLE s)
{
    guint8 out[SIG_MAX];
    CK_ULONG out_len = sizeof out;
    gsize in_len;
    const guint8 *in = g_bytes_get_data(secret_oaep, &in_len);
    CK_RV rv = p11->C_Decrypt(s, (CK_BYTE_PTR)in, in_len, out, &out_len);

    if (expect_rv(what, rv, CKR_OK)) {
        verdict(same(out, out_len, secret), "%s: the plaintext is the secret", what);
    }
}

static void
fail_sign_init(void)
{
    Counts init = counts_of("C_SignInit"), signs = counts_of("C_Sign");

    set_rules("token=replica-a fn=C_SignInit rv=CKR_DEVICE_ERROR count=1");
    sign_data("C_SignInit fails on replica-a: signed");
    expect_calls("C_SignInit tried on replica-a, then on replica-b", init, 1, 1);
    expect_calls("replica-b signed", signs, 0, 1);
    set_rules("");
}

static void
fail_decrypt(void)
{
    CK_SESSION_HANDLE s = open_session();
    CK_MECHANISM oaep = {CKM_RSA_PKCS_OAEP, &oaep_sha1, sizeof oaep_sha1};
    Counts init = counts_of("C_DecryptInit"), decrypts = counts_of("C_Decrypt");

    expect_rv("RSA-OAEP (SHA-1) C_DecryptInit",
              p11->C_DecryptInit(s, &oaep, find(s, CKO_PRIVATE_KEY)), CKR_OK);
    set_rules("token=replica-a fn=C_Decrypt rv=CKR_DEVICE_ERROR count=1");
    expect_decrypt("C_Decrypt fails on replica-a: decrypted", s);
    expect_calls("C_DecryptInit on replica-a, replayed on replica-b", init, 1, 1);
    expect_calls("C_Decrypt tried on replica-a, then on replica-b", decrypts, 1, 1);
    set_rules("");
    p11->C_CloseSession(s);
}

static void
fail_get_attribute(void)
{
    CK_SESSION_HANDLE s = open_session();
    CK_OBJECT_HANDLE certificate = find(s, CKO_CERTIFICATE);
    g_autofree guint8 *value = g_malloc0(8192);
    CK_ATTRIBUTE attr = {CKA_VALUE, value, 8192};
    Counts gets = counts_of("C_GetAttributeValue");
    CK_RV rv;

    set_rules("token=replica-a fn=C_GetAttributeValue rv=CKR_DEVICE_ERROR count=1");
    rv = p11->C_GetAttributeValue(s, certificate, &attr, 1);
    if (expect_rv("C_GetAttributeValue fails on replica-a: read", rv, CKR_OK)) {
        verdict(same(value, attr.ulValueLen, cert), "the certificate read is cert.der (%lu bytes)",
                (unsigned long)attr.ulValueLen);
    }
    expect_calls("C_GetAttributeValue tried on replica-a, then on replica-b", gets, 1, 1);
    set_rules("");
    p11->C_CloseSession(s);
}

static void
fail_random(void)
{
    CK_SESSION_HANDLE s = open_session();
    guint8 zero[64] = {0}, random[64] = {0};
    Counts randoms = counts_of("C_GenerateRandom");

    set_rules("token=replica-a fn=C_GenerateRandom rv=CKR_DEVICE_ERROR count=1");
    if (expect_rv("C_GenerateRandom fails on replica-a: random bytes",
                  p11->C_GenerateRandom(s, random, sizeof random), CKR_OK)) {
        verdict(memcmp(random, zero, sizeof zero) != 0, "the 64 bytes were written");
    }
    expect_calls("C_GenerateRandom tried on replica-a, then on replica-b", randoms, 1, 1);
    set_rules("");
    p11->C_CloseSession(s);
}

static void
per_operation(void)
{
    fail_sign_init();
    wait_for_replica_a();
    fail_decrypt();
    wait_for_replica_a();
    fail_get_attribute();
    wait_for_replica_a();
    fail_random();
}

/* ------------------------------------------------------ #7 classification */

/* replica-a fails one C_Sign with each value of the default failover-on
 * list: the application sees a signature, replica-b made it. */
static void
failover_on(void)
{
    static const char *const values[] = {"CKR_DEVICE_ERROR", "CKR_DEVICE_REMOVED",
                                         "CKR_TOKEN_NOT_PRESENT", "CKR_GENERAL_ERROR"};
    guint i;

    for (i = 0; i < G_N_ELEMENTS(values); i++) {
        g_autofree char *rule =
            g_strdup_printf("token=replica-a fn=C_Sign rv=%s count=1", values[i]);
        g_autofree char *what =
            g_strdup_printf("replica-a fails C_Sign with %s: signed", values[i]);
        Counts signs = counts_of("C_Sign");

        wait_for_replica_a();
        set_rules(rule);
        sign_data(what);
        expect_calls(what, signs, 1, 1);
        set_rules("");
    }
}

/* A request error RV injected into fn on whichever member is asked: the
 * application gets RV after one call of fn, on replica-a (primary). */
static void
injected_request_error(const char *fn, const char *rv)
{
    g_autofree char *rule = g_strdup_printf("token=replica-* fn=%s rv=%s count=1", fn, rv);
    g_autofree char *what = g_strdup_printf("%s answering %s", fn, rv);
    CK_SESSION_HANDLE s = open_session();
    Counts calls = counts_of(fn);
    guint8 sig[SIG_MAX];
    CK_ULONG len = sizeof sig;
    CK_RV got;

    set_rules(rule);
    got = p11->C_SignInit(s, &sha256_rsa, find(s, CKO_PRIVATE_KEY));
    if (got == CKR_OK) {
        got = p11->C_Sign(s, (CK_BYTE_PTR)g_bytes_get_data(data, NULL), g_bytes_get_size(data), sig,
                          &len);
    }
    expect_rv(what, got, rv_of(rv));
    expect_calls(what, calls, 1, 0);
    if (got == CKR_BUFFER_TOO_SMALL) {
        /* the operation goes on (the buffer protocol): the same C_Sign again */
        len = sizeof sig;
        got = p11->C_Sign(s, (CK_BYTE_PTR)g_bytes_get_data(data, NULL), g_bytes_get_size(data), sig,
                          &len);
        expect_data_signature("after CKR_BUFFER_TOO_SMALL the operation goes on", got, sig, len);
    }
    set_rules("");
    p11->C_CloseSession(s);
}

/* The token's own request error: signing into a buffer too small.  Its
 * others cannot be had from SoftHSM2 2.6: too much input for CKM_RSA_PKCS
 * (signing or encrypting 300 bytes) and an RSA-OAEP ciphertext of the
 * wrong length get CKR_GENERAL_ERROR, which the default failover-on list
 * takes for a member fault (tried on every member, CKR_DEVICE_ERROR). */
static void
token_request_error(void)
{
    CK_SESSION_HANDLE s = open_session();
    Counts calls = counts_of("C_Sign");
    guint8 out[SIG_MAX];
    CK_ULONG len = 16;
    CK_RV rv;

    expect_rv("SHA256-RSA-PKCS C_SignInit",
              p11->C_SignInit(s, &sha256_rsa, find(s, CKO_PRIVATE_KEY)), CKR_OK);
    rv = p11->C_Sign(s, (CK_BYTE_PTR)g_bytes_get_data(data, NULL), g_bytes_get_size(data), out,
                     &len);
    expect_rv("the token's own CKR_BUFFER_TOO_SMALL (16 bytes) is the application's", rv,
              CKR_BUFFER_TOO_SMALL);
    verdict(len == 256, "... with the length needed (%lu)", (unsigned long)len);
    expect_calls("the token's CKR_BUFFER_TOO_SMALL", calls, 1, 0);
    len = sizeof out;
    rv = p11->C_Sign(s, (CK_BYTE_PTR)g_bytes_get_data(data, NULL), g_bytes_get_size(data), out,
                     &len);
    expect_data_signature("... and the operation goes on", rv, out, len);
    p11->C_CloseSession(s);
}

static void
request_errors(void)
{
    injected_request_error("C_Sign", "CKR_DATA_LEN_RANGE");
    injected_request_error("C_SignInit", "CKR_KEY_FUNCTION_NOT_PERMITTED");
    injected_request_error("C_SignInit", "CKR_MECHANISM_PARAM_INVALID");
    injected_request_error("C_Sign", "CKR_BUFFER_TOO_SMALL");
    token_request_error();
}

/* label fails one C_Sign with rv: the application sees want.  The members
 * are in two backends here, two copies of p11fault.so each writing the
 * counts file with its own counts: the script reads the trace instead. */
static void
sign_once(const char *label, const char *rv, const char *want)
{
    g_autofree char *rule = g_strdup_printf("token=%s fn=C_Sign rv=%s count=1", label, rv);
    g_autofree char *what = g_strdup_printf("%s fails C_Sign with %s", label, rv);
    guint8 sig[SIG_MAX];
    CK_ULONG len;
    CK_RV got;

    set_rules(rule);
    got = sign(g_bytes_get_data(data, NULL), g_bytes_get_size(data), sig, &len);
    if (expect_rv(what, got, rv_of(want)) && got == CKR_OK) {
        verdict(same(sig, len, data_sig), "%s: the signature is openssl's", what);
    }
    set_rules("");
}

/* ------------------------------------------------------------ #8 busy */

static void
busy(void)
{
    Counts signs = counts_of("C_Sign");
    guint i;

    set_rules("token=replica-a fn=C_Sign rv=CKR_DEVICE_MEMORY count=5");
    for (i = 0; i < 5; i++) {
        sign_data("replica-a busy (CKR_DEVICE_MEMORY): signed");
    }
    expect_calls("5 times busy: each C_Sign tried on replica-a, made on replica-b", signs, 5, 5);
    signs = counts_of("C_Sign");
    sign_data("the next signature");
    expect_calls("replica-a stayed ACTIVE: it takes the next operation", signs, 1, 0);
    set_rules("");
}

/* ------------------------------------------------------------ #9 replay */

/* C_SignInit, then parts C_SignUpdate of PART bytes, the rule set after the
 * C_SignInit; the rv of the first update that fails, else CKR_OK. */
static CK_RV
sign_parts(CK_SESSION_HANDLE s, guint parts, const char *rule)
{
    const guint8 *in = g_bytes_get_data(data, NULL);
    CK_RV rv = p11->C_SignInit(s, &sha256_rsa, find(s, CKO_PRIVATE_KEY));
    guint i;

    set_rules(rule);
    for (i = 0; rv == CKR_OK && i < parts; i++) {
        rv = p11->C_SignUpdate(s, (CK_BYTE_PTR)in + i * PART, PART);
    }
    return rv;
}

/* The update after three fails: replayed on replica-b, the signature the
 * single-part one over the four parts. */
static void
replay_update(void)
{
    CK_SESSION_HANDLE s = open_session();
    Counts updates = counts_of("C_SignUpdate"), init = counts_of("C_SignInit");
    guint8 sig[SIG_MAX];
    CK_ULONG len = sizeof sig;
    CK_RV rv;

    expect_rv("4 C_SignUpdate of 1 KiB, replica-a failing the 4th",
              sign_parts(s, 4, "token=replica-a fn=C_SignUpdate rv=CKR_DEVICE_ERROR after=3"),
              CKR_OK);
    rv = p11->C_SignFinal(s, sig, &len);
    expect_data_signature("C_SignFinal after the replay", rv, sig, len);
    /* replica-b: the 3 KiB kept, in one update, then the 4th part */
    expect_calls("replayed on replica-b", updates, 4, 2);
    expect_calls("the C_SignInit replayed on replica-b", init, 1, 1);
    set_rules("");
    p11->C_CloseSession(s);
}

/* Three updates, then C_SignFinal fails: replayed, the signature the
 * single-part one over the three parts. */
static void
replay_final(void)
{
    CK_SESSION_HANDLE s = open_session();
    const guint8 *in = g_bytes_get_data(data, NULL);
    guint8 sig[SIG_MAX], single[SIG_MAX];
    CK_ULONG len = sizeof sig, single_len;
    Counts finals, updates;

    expect_rv("the single-part signature of 3 KiB", sign(in, 3 * PART, single, &single_len),
              CKR_OK);
    finals = counts_of("C_SignFinal");
    updates = counts_of("C_SignUpdate");
    expect_rv("3 C_SignUpdate of 1 KiB",
              sign_parts(s, 3, "token=replica-a fn=C_SignFinal rv=CKR_DEVICE_ERROR count=1"),
              CKR_OK);
    expect_rv("C_SignFinal, replica-a failing it", p11->C_SignFinal(s, sig, &len), CKR_OK);
    verdict(len == single_len && memcmp(sig, single, len) == 0,
            "the signature equals the single-part one over the whole input");
    expect_calls("C_SignFinal tried on replica-a, then on replica-b", finals, 1, 1);
    expect_calls("the 3 KiB replayed on replica-b in one update", updates, 3, 1);
    set_rules("");
    p11->C_CloseSession(s);
}

/* Multi-part digesting and verifying replay the same way: the 4th update
 * fails on replica-a; the digest is SHA-256 of the 4 KiB, the signature of
 * them verifies. */
static void
replay_digest(void)
{
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    CK_SESSION_HANDLE s = open_session();
    const guint8 *in = g_bytes_get_data(data, NULL);
    guint8 digest[32], want[32];
    gsize want_len = sizeof want;
    CK_ULONG len = sizeof digest;
    Counts updates = counts_of("C_DigestUpdate");
    g_autoptr(GChecksum) checksum = g_checksum_new(G_CHECKSUM_SHA256);
    CK_RV rv = p11->C_DigestInit(s, &sha256);
    guint i;

    g_checksum_update(checksum, in, 4 * PART);
    g_checksum_get_digest(checksum, want, &want_len);
    set_rules("token=replica-a fn=C_DigestUpdate rv=CKR_DEVICE_ERROR after=3");
    for (i = 0; rv == CKR_OK && i < 4; i++) {
        rv = p11->C_DigestUpdate(s, (CK_BYTE_PTR)in + i * PART, PART);
    }
    expect_rv("C_DigestInit and 4 C_DigestUpdate, replica-a failing the 4th", rv, CKR_OK);
    rv = p11->C_DigestFinal(s, digest, &len);
    if (expect_rv("C_DigestFinal after the replay", rv, CKR_OK)) {
        verdict(len == 32 && memcmp(digest, want, 32) == 0, "the digest is SHA-256 of the input");
    }
    expect_calls("the digest replayed on replica-b", updates, 4, 2);
    set_rules("");
    p11->C_CloseSession(s);
}

static void
replay_verify(void)
{
    CK_SESSION_HANDLE s = open_session();
    const guint8 *in = g_bytes_get_data(data, NULL);
    gsize sig_len;
    const guint8 *sig = g_bytes_get_data(data_sig, &sig_len);
    Counts updates = counts_of("C_VerifyUpdate");
    CK_RV rv = p11->C_VerifyInit(s, &sha256_rsa, find(s, CKO_PUBLIC_KEY));
    guint i;

    set_rules("token=replica-a fn=C_VerifyUpdate rv=CKR_DEVICE_ERROR after=3");
    for (i = 0; rv == CKR_OK && i < 4; i++) {
        rv = p11->C_VerifyUpdate(s, (CK_BYTE_PTR)in + i * PART, PART);
    }
    expect_rv("C_VerifyInit and 4 C_VerifyUpdate, replica-a failing the 4th", rv, CKR_OK);
    expect_rv("C_VerifyFinal after the replay: openssl's signature verifies",
              p11->C_VerifyFinal(s, (CK_BYTE_PTR)sig, sig_len), CKR_OK);
    expect_calls("the verification replayed on replica-b", updates, 4, 2);
    set_rules("");
    p11->C_CloseSession(s);
}

static void
replay(void)
{
    replay_update();
    wait_for_replica_a();
    replay_final();
    wait_for_replica_a();
    replay_digest();
    wait_for_replica_a();
    replay_verify();
}

/* replay-buffer = 512: past it, a failing update ends the operation. */
static void
replay_bounded(void)
{
    CK_SESSION_HANDLE s = open_session();
    Counts init = counts_of("C_SignInit"), updates = counts_of("C_SignUpdate");
    guint8 sig[SIG_MAX];
    CK_ULONG len = sizeof sig;

    expect_rv("past replay-buffer, the failing 4th C_SignUpdate",
              sign_parts(s, 4, "token=replica-a fn=C_SignUpdate rv=CKR_DEVICE_ERROR after=3"),
              CKR_DEVICE_ERROR);
    expect_rv("... ended the operation", p11->C_SignFinal(s, sig, &len),
              CKR_OPERATION_NOT_INITIALIZED);
    expect_calls("nothing replayed on replica-b (no C_SignInit)", init, 1, 0);
    expect_calls("nothing replayed on replica-b (no C_SignUpdate)", updates, 4, 0);
    set_rules("");
    p11->C_CloseSession(s);
}

/* Within replay-buffer = 512 (two updates of 256 bytes), a failing
 * C_SignFinal is still replayed. */
static void
replay_within_bound(void)
{
    CK_SESSION_HANDLE s = open_session();
    const guint8 *in = g_bytes_get_data(data, NULL);
    guint8 sig[SIG_MAX], single[SIG_MAX];
    CK_ULONG len = sizeof sig, single_len;
    Counts updates;

    expect_rv("the single-part signature of 512 bytes", sign(in, 512, single, &single_len), CKR_OK);
    updates = counts_of("C_SignUpdate");
    expect_rv("C_SignInit", p11->C_SignInit(s, &sha256_rsa, find(s, CKO_PRIVATE_KEY)), CKR_OK);
    expect_rv("C_SignUpdate of 256 bytes", p11->C_SignUpdate(s, (CK_BYTE_PTR)in, 256), CKR_OK);
    expect_rv("C_SignUpdate of 256 more", p11->C_SignUpdate(s, (CK_BYTE_PTR)in + 256, 256), CKR_OK);
    set_rules("token=replica-a fn=C_SignFinal rv=CKR_DEVICE_ERROR count=1");
    expect_rv("within replay-buffer, C_SignFinal replica-a fails", p11->C_SignFinal(s, sig, &len),
              CKR_OK);
    verdict(len == single_len && memcmp(sig, single, len) == 0,
            "within replay-buffer: the signature equals the single-part one");
    expect_calls("the 512 bytes replayed on replica-b", updates, 2, 1);
    set_rules("");
    p11->C_CloseSession(s);
}

/* ------------------------------------------------------ #11 buffer protocol */

static void
length_then_failover(void)
{
    CK_SESSION_HANDLE s = open_session();
    CK_OBJECT_HANDLE public_key = find(s, CKO_PUBLIC_KEY);
    const guint8 *in = g_bytes_get_data(data, NULL);
    gsize in_len = g_bytes_get_size(data);
    g_autofree guint8 *sig = NULL;
    CK_ULONG len = 0;
    Counts signs = counts_of("C_Sign");

    expect_rv("C_SignInit", p11->C_SignInit(s, &sha256_rsa, find(s, CKO_PRIVATE_KEY)), CKR_OK);
    expect_rv("C_Sign with a NULL buffer asks the length",
              p11->C_Sign(s, (CK_BYTE_PTR)in, in_len, NULL, &len), CKR_OK);
    verdict(len == 256, "the length is 256 (%lu)", (unsigned long)len);
    sig = g_malloc0(len);
    set_rules("token=replica-a fn=C_Sign rv=CKR_DEVICE_ERROR count=1");
    expect_rv("C_Sign with the buffer, replica-a failing it",
              p11->C_Sign(s, (CK_BYTE_PTR)in, in_len, sig, &len), CKR_OK);
    verdict(len == 256, "the signature's length is 256 (%lu)", (unsigned long)len);
    verdict(same(sig, len, data_sig), "the signature is openssl's");
    expect_calls("the length on replica-a, the signature on replica-b", signs, 2, 1);
    set_rules("");
    expect_rv("C_VerifyInit with the public key", p11->C_VerifyInit(s, &sha256_rsa, public_key),
              CKR_OK);
    expect_rv("the signature verifies", p11->C_Verify(s, (CK_BYTE_PTR)in, in_len, sig, len),
              CKR_OK);
    p11->C_CloseSession(s);
}

/* The length query is what replica-a fails: replica-b answers it, and the
 * operation goes on there. */
static void
length_query_fails_over(void)
{
    CK_SESSION_HANDLE s = open_session();
    const guint8 *in = g_bytes_get_data(data, NULL);
    gsize in_len = g_bytes_get_size(data);
    guint8 sig[SIG_MAX];
    CK_ULONG len = 0;
    Counts signs = counts_of("C_Sign");
    CK_RV rv;

    expect_rv("C_SignInit", p11->C_SignInit(s, &sha256_rsa, find(s, CKO_PRIVATE_KEY)), CKR_OK);
    set_rules("token=replica-a fn=C_Sign rv=CKR_DEVICE_ERROR count=1");
    rv = p11->C_Sign(s, (CK_BYTE_PTR)in, in_len, NULL, &len);
    expect_rv("C_Sign with a NULL buffer, replica-a failing it", rv, CKR_OK);
    verdict(len == 256, "the length is 256 (%lu)", (unsigned long)len);
    set_rules("");
    len = sizeof sig;
    rv = p11->C_Sign(s, (CK_BYTE_PTR)in, in_len, sig, &len);
    expect_data_signature("C_Sign with the buffer, on replica-b", rv, sig, len);
    expect_calls("the length asked of replica-a, then of replica-b, which signed", signs, 1, 2);
    p11->C_CloseSession(s);
}

/* A buffer too small (replica-a's own answer), then replica-a fails the
 * C_Sign with a buffer large enough. */
static void
too_small_then_failover(void)
{
    CK_SESSION_HANDLE s = open_session();
    const guint8 *in = g_bytes_get_data(data, NULL);
    gsize in_len = g_bytes_get_size(data);
    guint8 sig[SIG_MAX];
    CK_ULONG len = 16;
    Counts signs = counts_of("C_Sign");
    CK_RV rv;

    expect_rv("C_SignInit", p11->C_SignInit(s, &sha256_rsa, find(s, CKO_PRIVATE_KEY)), CKR_OK);
    rv = p11->C_Sign(s, (CK_BYTE_PTR)in, in_len, sig, &len);
    expect_rv("C_Sign into 16 bytes", rv, CKR_BUFFER_TOO_SMALL);
    verdict(len == 256, "... says 256 (%lu)", (unsigned long)len);
    set_rules("token=replica-a fn=C_Sign rv=CKR_DEVICE_ERROR count=1");
    len = sizeof sig;
    rv = p11->C_Sign(s, (CK_BYTE_PTR)in, in_len, sig, &len);
    expect_data_signature("C_Sign into 512 bytes, replica-a failing it", rv, sig, len);
    expect_calls("too small and failed on replica-a, signed on replica-b", signs, 2, 1);
    set_rules("");
    p11->C_CloseSession(s);
}

/* ---------------------------------------------------- #12 parameter snapshot */

static void
snapshot(void)
{
    CK_SESSION_HANDLE s = open_session();
    CK_OBJECT_HANDLE key = find(s, CKO_PRIVATE_KEY);
    CK_RSA_PKCS_OAEP_PARAMS *params = g_memdup2(&oaep_sha1, sizeof oaep_sha1);
    CK_MECHANISM *oaep = g_new(CK_MECHANISM, 1);
    Counts init = counts_of("C_DecryptInit");

    *oaep = (CK_MECHANISM){CKM_RSA_PKCS_OAEP, params, sizeof *params};
    expect_rv("RSA-OAEP C_DecryptInit, parameters on the heap", p11->C_DecryptInit(s, oaep, key),
              CKR_OK);
    /* what a replay would read from the application's memory is garbage now */
    memset(params, 0xa5, sizeof *params);
    memset(oaep, 0x5a, sizeof *oaep);
    g_free(params);
    g_free(oaep);
    set_rules("token=replica-a fn=C_Decrypt rv=CKR_DEVICE_ERROR count=1");
    expect_decrypt("the parameters overwritten and freed, replica-a failing C_Decrypt", s);
    expect_calls("C_DecryptInit replayed on replica-b from the snapshot", init, 1, 1);
    set_rules("");
    p11->C_CloseSession(s);
}

/* The same with an OAEP label (pSourceData): the label, too, is the
 * application's memory, overwritten and freed after C_DecryptInit.
 * SoftHSM2 2.6 takes a label and ignores it (it decrypts what openssl
 * encrypted without one, and nothing openssl encrypted with one), so this
 * shows that the group copies and replays a labelled operation, not that a
 * member used the label. */
static void
snapshot_label(void)
{
    CK_SESSION_HANDLE s = open_session();
    CK_OBJECT_HANDLE key = find(s, CKO_PRIVATE_KEY);
    CK_RSA_PKCS_OAEP_PARAMS *params = g_memdup2(&oaep_sha1, sizeof oaep_sha1);
    char *label = g_strdup(OAEP_LABEL);
    CK_MECHANISM oaep = {CKM_RSA_PKCS_OAEP, params, sizeof *params};
    Counts init = counts_of("C_DecryptInit");

    params->pSourceData = label;
    params->ulSourceDataLen = strlen(label);
    expect_rv("RSA-OAEP C_DecryptInit with a label", p11->C_DecryptInit(s, &oaep, key), CKR_OK);
    memset(label, 'x', strlen(label));
    memset(params, 0xa5, sizeof *params);
    g_free(label);
    g_free(params);
    set_rules("token=replica-a fn=C_Decrypt rv=CKR_DEVICE_ERROR count=1");
    expect_decrypt("the label overwritten and freed, replica-a failing C_Decrypt", s);
    expect_calls("C_DecryptInit with the label replayed on replica-b", init, 1, 1);
    set_rules("");
    p11->C_CloseSession(s);
}

/* ------------------------------------------------------------ #21 hung */

#define HANG_MS 5000
#define SIGNERS 3

static gint hung_done; /* the hung call returned */
static gint64 hung_started_us;

static gpointer
hung_signer(gpointer unused G_GNUC_UNUSED)
{
    guint8 sig[SIG_MAX];
    CK_ULONG len;
    gint64 took;
    CK_RV rv;

    hung_started_us = g_get_monotonic_time();
    rv = sign(g_bytes_get_data(data, NULL), g_bytes_get_size(data), sig, &len);
    took = g_get_monotonic_time() - hung_started_us;
    g_atomic_int_set(&hung_done, 1);
    expect_data_signature("the hung C_Sign completes", rv, sig, len);
    verdict(took >= (HANG_MS - 100) * 1000, "... after the delay (%" G_GINT64_FORMAT " ms)",
            took / 1000);
    return NULL;
}

/* Sign until the hung call has returned and 2 s more; the count of
 * signatures that failed or were wrong. */
static gpointer
busy_signer(gpointer made)
{
    gint64 until = G_MAXINT64;
    guint wrong = 0;

    while (g_get_monotonic_time() < until) {
        guint8 sig[SIG_MAX];
        CK_ULONG len;
        CK_RV rv = sign(g_bytes_get_data(data, NULL), g_bytes_get_size(data), sig, &len);

        wrong += rv != CKR_OK || !same(sig, len, data_sig);
        g_atomic_int_inc((gint *)made);
        if (until == G_MAXINT64 && g_atomic_int_get(&hung_done)) {
            until = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
        }
        g_usleep(20 * 1000);
    }
    return GUINT_TO_POINTER(wrong);
}

/* replica-a's first C_Sign sleeps HANG_MS (call-timeout is 1 s): once the
 * prober has found it overdue, new operations go to replica-b alone. */
static void
hung(void)
{
    GThread *hung_thread, *signers[SIGNERS];
    Counts window, now, after;
    gint made = 0;
    guint i, wrong = 0;

    set_rules("token=replica-a fn=C_Sign rv=CKR_OK delay=5000 count=1");
    hung_thread = g_thread_new("hung", hung_signer, NULL);
    g_usleep(200 * 1000);
    for (i = 0; i < SIGNERS; i++) {
        signers[i] = g_thread_new("signer", busy_signer, &made);
    }
    /* from 2 s to 4.5 s into the hang: the member is overdue */
    g_usleep(1800 * 1000);
    window = counts_of("C_Sign");
    g_usleep(2500 * 1000);
    now = counts_of("C_Sign");
    verdict(now.a == window.a,
            "while replica-a's call hangs past call-timeout, no new C_Sign goes to it "
            "(%" G_GUINT64_FORMAT ")",
            now.a - window.a);
    verdict(now.b > window.b, "... and replica-b signs meanwhile (%" G_GUINT64_FORMAT " C_Sign)",
            now.b - window.b);
    verdict(!g_atomic_int_get(&hung_done), "the hung call is still running 4.5 s in");
    g_thread_join(hung_thread);
    after = counts_of("C_Sign");
    for (i = 0; i < SIGNERS; i++) {
        wrong += GPOINTER_TO_UINT(g_thread_join(signers[i]));
    }
    verdict(wrong == 0, "%d signatures from %d other threads, %u wrong or failed",
            g_atomic_int_get(&made), SIGNERS, wrong);
    verdict(counts_of("C_Sign").a > after.a,
            "replica-a takes operations again once its call returned");
    set_rules("");
}

/* ------------------------------------------------------------ main */

static GBytes *
load(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    gchar *contents = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &contents, &len, NULL)) {
        fprintf(stderr, "group-ops: cannot read %s\n", path);
        exit(2);
    }
    return g_bytes_new_take(contents, len);
}

static gboolean
start(const char *so, const char *pin)
{
    CK_C_GetFunctionList get_function_list;
    CK_SESSION_HANDLE s;
    void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    /* $GROUP_NO_THREADS: the library may make no thread, so that it opens
     * its backends one after the other */
    CK_C_INITIALIZE_ARGS no_threads = {.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS |
                                                CKF_OS_LOCKING_OK};

    get_function_list = dl != NULL ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
    if (get_function_list == NULL || get_function_list(&p11) != CKR_OK ||
        p11->C_Initialize(g_getenv("GROUP_NO_THREADS") != NULL ? &no_threads : NULL) != CKR_OK) {
        return FALSE;
    }
    slot = p11mux_test_slot_named(p11, P11MUX_TEST_BY_TOKEN_LABEL, "signing");
    /* the login is the application's: every session of it is logged in */
    return slot != (CK_SLOT_ID)-1 &&
           p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) == CKR_OK &&
           p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)) == CKR_OK;
}

static gboolean
run_mode(const char *mode, int argc, char **argv)
{
    if (strcmp(mode, "round-robin") == 0) {
        round_robin();
    } else if (strcmp(mode, "least-busy") == 0) {
        least_busy();
    } else if (strcmp(mode, "per-operation") == 0) {
        per_operation();
    } else if (strcmp(mode, "failover-on") == 0) {
        failover_on();
    } else if (strcmp(mode, "request-errors") == 0) {
        request_errors();
    } else if (strcmp(mode, "sign-once") == 0 && argc == 3) {
        sign_once(argv[0], argv[1], argv[2]);
    } else if (strcmp(mode, "busy") == 0) {
        busy();
    } else if (strcmp(mode, "replay") == 0) {
        replay();
    } else if (strcmp(mode, "replay-bounded") == 0) {
        replay_bounded();
        wait_for_replica_a();
        replay_within_bound();
    } else if (strcmp(mode, "length") == 0) {
        length_then_failover();
        wait_for_replica_a();
        length_query_fails_over();
        wait_for_replica_a();
        too_small_then_failover();
    } else if (strcmp(mode, "snapshot") == 0) {
        snapshot();
        wait_for_replica_a();
        snapshot_label();
    } else if (strcmp(mode, "hung") == 0) {
        hung();
    } else {
        return FALSE;
    }
    return TRUE;
}

int
main(int argc, char **argv)
{
    if (argc < 5 || g_getenv("P11FAULT_RULES") == NULL || g_getenv("P11FAULT_COUNTS") == NULL) {
        fprintf(stderr, "usage: group-ops P11MUX_SO PIN DIR MODE [ARG...] "
                        "(P11FAULT_RULES and P11FAULT_COUNTS set)\n");
        return 2;
    }
    /* a deadlock ends the run (SIGALRM), not the test suite */
    alarm(60);
    data = load(argv[3], "data");
    data_sig = load(argv[3], "data.sig");
    secret = load(argv[3], "secret");
    secret_oaep = load(argv[3], "secret.oaep");
    cert = load(argv[3], "cert.der");
    set_rules("");
    if (!start(argv[1], argv[2])) {
        fprintf(stderr, "group-ops: cannot open a logged-in session on the group\n");
        return 2;
    }
    sign_data("the group signs");
    if (!run_mode(argv[4], argc - 5, argv + 5)) {
        fprintf(stderr, "group-ops: unknown mode %s\n", argv[4]);
        return 2;
    }
    p11->C_Finalize(NULL);
    g_bytes_unref(data);
    g_bytes_unref(data_sig);
    g_bytes_unref(secret);
    g_bytes_unref(secret_oaep);
    g_bytes_unref(cert);
    return g_atomic_int_get(&failures) == 0 ? 0 : 1;
}
