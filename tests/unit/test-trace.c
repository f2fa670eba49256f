/*
 * The trace (src/trace/): decoding by roles, redaction, both formats, the
 * file destination and whole records from concurrent threads.
 *
 * Calls are built by hand from the function table: every parameter gets a
 * value its role implies, secret buffers hold SECRET and public ones PUBLIC,
 * so a test covers every function the table describes.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "call.h"
#include "check-helpers.h"
#include "cli/trace-read.h"
#include "constants.h"
#include "p11mux-functions.h"
#include "scratch.h"
#include "trace-decode.h"
#include "trace.h"
#include "trace-path.h"

#define SECRET "Xq7-p1n-3141"
#define PUBLIC "PUBLIC-bytes"
#define BUF 64
#define MAX_PARAMS 16

/* ---------------------------------------------------------------- a call built from its roles */

typedef struct {
    P11muxCall call;
    void *args[MAX_PARAMS];
    CK_ULONG ulongs[MAX_PARAMS];
    CK_BBOOL bools[MAX_PARAMS];
    void *pointers[MAX_PARAMS];
    CK_ULONG outs[MAX_PARAMS];
    guchar buffers[MAX_PARAMS][BUF];
    CK_ATTRIBUTE templates[MAX_PARAMS][3];
    guchar secret_value[12];
    CK_OBJECT_CLASS klass;
    CK_MECHANISM mechanism;
    guchar iv[16];
    CK_C_INITIALIZE_ARGS init_args;
    union {
        CK_INFO info;
        CK_SLOT_INFO slot;
        CK_TOKEN_INFO token;
        CK_MECHANISM_INFO mechanism;
        CK_SESSION_INFO session;
    } info;
    P11muxBackend *backend;
} FakeCall;

static void
fill(guchar *buffer, gsize size, const char *pattern)
{
    gsize i, n = strlen(pattern);

    for (i = 0; i < size; i++) {
        buffer[i] = (guchar)pattern[i % n];
    }
}

static void
fake_template(FakeCall *f, guint i)
{
    CK_ATTRIBUTE *t = f->templates[i];

    f->klass = CKO_SECRET_KEY;
    memcpy(f->secret_value, SECRET, sizeof(f->secret_value));
    t[0] = (CK_ATTRIBUTE){CKA_CLASS, &f->klass, sizeof(f->klass)};
    t[1] = (CK_ATTRIBUTE){CKA_VALUE, f->secret_value, sizeof(f->secret_value)};
    t[2] = (CK_ATTRIBUTE){CKA_LABEL, (void *)"lbl", 3};
    f->pointers[i] = t;
}

static void
fake_pointer_param(FakeCall *f, guint i, P11muxRole role)
{
    switch (role) {
    case P11MUX_ROLE_IN:
    case P11MUX_ROLE_OUT:
    case P11MUX_ROLE_PARAM:
    case P11MUX_ROLE_SLOTS_OUT:
    case P11MUX_ROLE_MECHANISMS_OUT:
    case P11MUX_ROLE_OBJECTS_OUT:
        fill(f->buffers[i], BUF, PUBLIC);
        f->pointers[i] = f->buffers[i];
        break;
    case P11MUX_ROLE_SECRET_IN:
    case P11MUX_ROLE_SECRET_OUT:
    case P11MUX_ROLE_STATE_IN:
    case P11MUX_ROLE_STATE_OUT:
        fill(f->buffers[i], BUF, SECRET);
        f->pointers[i] = f->buffers[i];
        break;
    case P11MUX_ROLE_LABEL:
        fill(f->buffers[i], 32, " ");
        memcpy(f->buffers[i], "my token", 8);
        f->pointers[i] = f->buffers[i];
        break;
    case P11MUX_ROLE_INTERFACE_NAME:
        f->pointers[i] = (void *)"PKCS 11";
        break;
    case P11MUX_ROLE_FUNCTION_NAME:
        f->pointers[i] = (void *)"C_Sign";
        break;
    case P11MUX_ROLE_LEN_IO:
    case P11MUX_ROLE_SLOT_OUT:
    case P11MUX_ROLE_OBJECT_OUT:
    case P11MUX_ROLE_SESSION_OUT:
        f->outs[i] = 24;
        f->pointers[i] = &f->outs[i];
        break;
    case P11MUX_ROLE_COUNT_OUT:
        f->outs[i] = 3;
        f->pointers[i] = &f->outs[i];
        break;
    case P11MUX_ROLE_TEMPLATE:
    case P11MUX_ROLE_TEMPLATE_IO:
        fake_template(f, i);
        break;
    case P11MUX_ROLE_MECHANISM:
        fill(f->iv, sizeof(f->iv), PUBLIC);
        f->mechanism = (CK_MECHANISM){CKM_AES_CBC_PAD, f->iv, sizeof(f->iv)};
        f->pointers[i] = &f->mechanism;
        break;
    case P11MUX_ROLE_INFO_OUT:
    case P11MUX_ROLE_SESSION_INFO_OUT:
    case P11MUX_ROLE_ASYNC_OUT:
        memset(&f->info, ' ', sizeof(f->info));
        f->pointers[i] = &f->info;
        break;
    case P11MUX_ROLE_INIT_ARGS:
        f->init_args.flags = CKF_OS_LOCKING_OK;
        f->pointers[i] = &f->init_args;
        break;
    default:
        f->pointers[i] = NULL;
        break;
    }
    f->args[i] = &f->pointers[i];
}

static gboolean
is_value_role(P11muxRole role)
{
    return role == P11MUX_ROLE_SESSION || role == P11MUX_ROLE_SLOT || p11mux_role_is_key(role) ||
           role == P11MUX_ROLE_OBJECT || role == P11MUX_ROLE_MAX || role == P11MUX_ROLE_COUNT ||
           role == P11MUX_ROLE_LEN || role == P11MUX_ROLE_FLAGS || role == P11MUX_ROLE_USER_TYPE ||
           role == P11MUX_ROLE_MECHANISM_TYPE || role == P11MUX_ROLE_VALUE ||
           role == P11MUX_ROLE_VALIDATION_TYPE;
}

static void
fake_call_init(FakeCall *f, P11muxFunctionId fn)
{
    const P11muxFunctionDesc *desc = &p11mux_functions[fn];
    guint i;

    memset(f, 0, sizeof(*f));
    ck_assert_uint_le(desc->n_params, MAX_PARAMS);
    for (i = 0; i < desc->n_params; i++) {
        P11muxRole role = desc->params[i].role;

        if (role == P11MUX_ROLE_BOOL) {
            f->bools[i] = CK_TRUE;
            f->args[i] = &f->bools[i];
        } else if (is_value_role(role)) {
            f->ulongs[i] = role == P11MUX_ROLE_COUNT ? 3 : role == P11MUX_ROLE_LEN ? 24 : 1;
            if (role == P11MUX_ROLE_FLAGS) {
                f->ulongs[i] = CKF_RW_SESSION | CKF_SERIAL_SESSION;
            }
            f->args[i] = &f->ulongs[i];
        } else {
            fake_pointer_param(f, i, role);
        }
    }
    f->call.fn = fn;
    f->call.args = f->args;
}

static void
fake_call_route(FakeCall *f)
{
    f->backend = p11mux_backend_new("mock-a", "/nowhere/mock-a.so", NULL, FALSE);
    f->call.backend = f->backend;
    f->call.slot = 0x2d1e4f6a;
    f->call.real_slot = 7;
    f->call.session = 0x100001;
    f->call.real_session = 0x55;
}

static void
fake_call_clear(FakeCall *f)
{
    p11mux_backend_free(f->backend);
    f->backend = NULL;
}

/* The record of the call, as a trace of format and data writes it. */
static char *
record_of(FakeCall *f, const char *format, const char *data, CK_RV rv)
{
    g_autoptr(P11muxTrace) trace = p11mux_trace_new("stderr", format, data, NULL);

    ck_assert_ptr_nonnull(trace);
    p11mux_trace_begin(&f->call);
    return p11mux_trace_format(trace, &f->call, rv);
}

/* ---------------------------------------------------------------- checks */

static char *
hex_of(const char *text, gboolean upper)
{
    GString *out = g_string_new(NULL);
    const char *p;

    for (p = text; *p != '\0'; p++) {
        g_string_append_printf(out, upper ? "%02X" : "%02x", (guchar)*p);
    }
    return g_string_free(out, FALSE);
}

/* text holds secret in no form the trace could use: raw, hex, base64 (at
 * each of the three alignments). */
static void
assert_absent(const char *text, const char *secret, const char *where)
{
    g_autofree char *lower = hex_of(secret, FALSE);
    g_autofree char *upper = hex_of(secret, TRUE);
    guint shift;

    ck_assert_msg(strstr(text, secret) == NULL, "%s: raw secret in:\n%s", where, text);
    ck_assert_msg(strstr(text, lower) == NULL, "%s: hex secret in:\n%s", where, text);
    ck_assert_msg(strstr(text, upper) == NULL, "%s: HEX secret in:\n%s", where, text);
    for (shift = 0; shift < 3; shift++) {
        g_autofree char *padded = g_strdup_printf("%.*s%s", shift, "xx", secret);
        g_autofree char *b64 = g_base64_encode((const guchar *)padded, strlen(padded));
        /* the characters that depend on the secret alone */
        g_autofree char *core = g_strndup(b64 + 4, 8);

        ck_assert_msg(strstr(text, core) == NULL, "%s: base64 secret in:\n%s", where, text);
    }
}

static void
assert_json_line(const char *record)
{
    g_autoptr(GError) error = NULL;
    gsize n = strlen(record);

    ck_assert_msg(n > 0 && record[n - 1] == '\n', "no newline: %s", record);
    ck_assert_msg(memchr(record, '\n', n - 1) == NULL, "more than one line: %s", record);
    ck_assert_msg(p11mux_trace_json_line_is_object(record, n - 1, &error), "%s: %s", error->message,
                  record);
}

static void
assert_text_block(const char *record)
{
    g_auto(GStrv) lines = g_strsplit(record, "\n", -1);
    guint i, n = g_strv_length(lines);

    ck_assert_msg(n >= 2 && lines[n - 1][0] == '\0', "no final newline: %s", record);
    ck_assert_msg(lines[0][0] != ' ', "first line indented: %s", record);
    for (i = 1; i + 1 < n; i++) {
        ck_assert_msg(g_str_has_prefix(lines[i], "  "), "line %u not indented: %s", i, record);
    }
}

static void
assert_contains(const char *text, const char *needle)
{
    ck_assert_msg(strstr(text, needle) != NULL, "'%s' not in:\n%s", needle, text);
}

static void
assert_not_contains(const char *text, const char *needle)
{
    ck_assert_msg(strstr(text, needle) == NULL, "'%s' in:\n%s", needle, text);
}

/* ---------------------------------------------------------------- every function */

static const CK_RV results[] = {CKR_OK, CKR_BUFFER_TOO_SMALL, CKR_ATTRIBUTE_SENSITIVE,
                                CKR_GENERAL_ERROR};

START_TEST(test_trace_no_function_writes_a_secret)
{
    static const char *formats[] = {"json", "text"};
    static const char *datas[] = {"length", "hex"};
    guint fn, f, d, r;

    for (fn = 0; fn < P11MUX_FN_COUNT; fn++) {
        for (f = 0; f < 2; f++) {
            for (d = 0; d < 2; d++) {
                for (r = 0; r < G_N_ELEMENTS(results); r++) {
                    FakeCall call;
                    g_autofree char *record = NULL;
                    g_autofree char *where = NULL;

                    fake_call_init(&call, fn);
                    record = record_of(&call, formats[f], datas[d], results[r]);
                    where = g_strdup_printf("%s %s %s rv 0x%lx", p11mux_functions[fn].name,
                                            formats[f], datas[d], results[r]);
                    assert_absent(record, SECRET, where);
                    if (f == 0) {
                        assert_json_line(record);
                    } else {
                        assert_text_block(record);
                    }
                    assert_contains(record, p11mux_functions[fn].name);
                }
            }
        }
    }
}
END_TEST

/* The positive control of the test above: public buffers are written in hex. */
START_TEST(test_trace_hex_writes_public_buffers)
{
    g_autofree char *public_hex = hex_of(PUBLIC, FALSE);
    guint fn, i, seen = 0;

    for (fn = 0; fn < P11MUX_FN_COUNT; fn++) {
        const P11muxFunctionDesc *desc = &p11mux_functions[fn];
        gboolean has_in = FALSE;

        for (i = 0; i < desc->n_params; i++) {
            has_in = has_in || desc->params[i].role == P11MUX_ROLE_IN ||
                     desc->params[i].role == P11MUX_ROLE_OUT;
        }
        if (has_in) {
            FakeCall call;
            g_autofree char *hex = NULL;
            g_autofree char *length = NULL;

            fake_call_init(&call, fn);
            hex = record_of(&call, "json", "hex", CKR_OK);
            length = record_of(&call, "json", "length", CKR_OK);
            assert_contains(hex, public_hex);
            assert_not_contains(length, public_hex);
            seen++;
        }
    }
    ck_assert_uint_gt(seen, 10);
}
END_TEST

/* begin keeps one buffer size per call: the table has at most one len-io or count-out each. */
START_TEST(test_trace_one_size_parameter_per_function)
{
    guint fn, i;

    for (fn = 0; fn < P11MUX_FN_COUNT; fn++) {
        const P11muxFunctionDesc *desc = &p11mux_functions[fn];
        guint n = 0;

        for (i = 0; i < desc->n_params; i++) {
            n += desc->params[i].role == P11MUX_ROLE_LEN_IO ||
                 desc->params[i].role == P11MUX_ROLE_COUNT_OUT;
        }
        ck_assert_msg(n <= 1, "%s has %u len-io/count-out parameters", desc->name, n);
    }
}
END_TEST

/* ---------------------------------------------------------------- particular calls */

START_TEST(test_trace_login_writes_pin_length_only)
{
    FakeCall call;
    g_autofree char *json = NULL;
    g_autofree char *text = NULL;

    fake_call_init(&call, P11MUX_FN_C_Login);
    call.ulongs[1] = CKU_USER;
    call.ulongs[3] = strlen(SECRET);
    fake_call_route(&call);
    json = record_of(&call, "json", "hex", CKR_OK);
    text = record_of(&call, "text", "hex", CKR_OK);
    assert_contains(json, "\"function\":\"C_Login\"");
    assert_contains(json, "\"rv\":\"CKR_OK\"");
    assert_contains(json, "\"userType\":\"CKU_USER\"");
    assert_contains(json, "\"pPin\":{\"len\":12,\"redacted\":true}");
    assert_contains(json, "\"backend\":\"mock-a\",\"slot\":756961130,\"backend_slot\":7");
    assert_contains(json, "\"session\":1048577,\"backend_session\":85");
    assert_not_contains(json, "ulPinLen");
    assert_contains(text, " C_Login -> CKR_OK (");
    assert_contains(text, "\n  backend: mock-a slot 0x2d1e4f6a (0x7) session 0x100001 (0x55)\n");
    assert_contains(text, "\n  pPin: <redacted, 12 bytes>\n");
    assert_absent(json, SECRET, "json");
    assert_absent(text, SECRET, "text");
    fake_call_clear(&call);
}
END_TEST

static CK_ULONG ulong_values[8];
static CK_BBOOL bool_true = CK_TRUE;

/* A template as C_CreateObject or C_GetAttributeValue sees it. */
static char *
template_record(CK_ATTRIBUTE *tmpl, CK_ULONG n, P11muxFunctionId fn, const char *format, CK_RV rv)
{
    FakeCall call;

    fake_call_init(&call, fn);
    call.pointers[fn == P11MUX_FN_C_CreateObject ? 1 : 2] = tmpl;
    call.ulongs[fn == P11MUX_FN_C_CreateObject ? 2 : 3] = n;
    return record_of(&call, format, "hex", rv);
}

START_TEST(test_trace_sensitive_attributes_are_never_written)
{
    static const guchar exponent[] = "PRIVEXP-0123456789";
    static const guchar prime[] = "PRIME1-abcdefghij";
    static const guchar check[] = "KCV";
    static const guchar vendor[] = "VENDORVAL";
    static const guchar id[] = {0xc0, 0xff, 0xee};
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &ulong_values[0], sizeof(CK_ULONG)},
        {CKA_KEY_TYPE, &ulong_values[1], sizeof(CK_ULONG)},
        {CKA_VALUE, (void *)SECRET, strlen(SECRET)},
        {CKA_PRIVATE_EXPONENT, (void *)exponent, sizeof(exponent)},
        {CKA_PRIME_1, (void *)prime, sizeof(prime)},
        {CKA_CHECK_VALUE, (void *)check, 3},
        {CKA_VENDOR_DEFINED + 7, (void *)vendor, sizeof(vendor)},
        {CKA_ID, (void *)id, sizeof(id)},
        {CKA_SENSITIVE, &bool_true, sizeof(bool_true)},
    };
    const char *formats[] = {"json", "text"};
    guint f, fn;

    ulong_values[0] = CKO_PRIVATE_KEY;
    ulong_values[1] = CKK_RSA;
    for (fn = 0; fn < 2; fn++) {
        for (f = 0; f < 2; f++) {
            g_autofree char *record =
                template_record(tmpl, G_N_ELEMENTS(tmpl),
                                fn == 0 ? P11MUX_FN_C_CreateObject : P11MUX_FN_C_GetAttributeValue,
                                formats[f], CKR_OK);

            assert_absent(record, SECRET, "CKA_VALUE");
            assert_absent(record, (const char *)exponent, "CKA_PRIVATE_EXPONENT");
            assert_absent(record, (const char *)prime, "CKA_PRIME_1");
            assert_absent(record, (const char *)vendor, "vendor attribute");
            assert_not_contains(record, "4b4356"); /* KCV */
            assert_contains(record, "CKO_PRIVATE_KEY");
            assert_contains(record, "CKK_RSA");
            assert_contains(record, "c0ffee");
            assert_contains(record, "CKA_VENDOR_DEFINED+0x7");
            if (f == 0) {
                assert_contains(record,
                                "{\"type\":\"CKA_PRIVATE_EXPONENT\",\"len\":19,\"redacted\":true}");
                assert_contains(record, "{\"type\":\"CKA_SENSITIVE\",\"len\":1,\"value\":true}");
            } else {
                assert_contains(record, "\n    CKA_PRIVATE_EXPONENT = <redacted, 19 bytes>\n");
                assert_contains(record, "\n    CKA_ID = <3 bytes> c0ffee\n");
            }
        }
    }
}
END_TEST

/* CKA_VALUE is public in a certificate's template only, and only when every class says so. */
START_TEST(test_trace_certificate_value_is_public)
{
    static const guchar der[] = {0x30, 0x82, 0x01, 0x0a};
    CK_ATTRIBUTE cert[] = {
        {CKA_CLASS, &ulong_values[2], sizeof(CK_ULONG)},
        {CKA_VALUE, (void *)der, sizeof(der)},
    };
    CK_ATTRIBUTE twice[] = {
        {CKA_CLASS, &ulong_values[2], sizeof(CK_ULONG)},
        {CKA_CLASS, &ulong_values[3], sizeof(CK_ULONG)},
        {CKA_VALUE, (void *)der, sizeof(der)},
    };
    CK_ATTRIBUTE classless[] = {{CKA_VALUE, (void *)der, sizeof(der)}};
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;
    g_autofree char *c = NULL;

    ulong_values[2] = CKO_CERTIFICATE;
    ulong_values[3] = CKO_SECRET_KEY;
    a = template_record(cert, 2, P11MUX_FN_C_CreateObject, "json", CKR_OK);
    b = template_record(twice, 3, P11MUX_FN_C_CreateObject, "json", CKR_OK);
    c = template_record(classless, 1, P11MUX_FN_C_GetAttributeValue, "json", CKR_OK);
    assert_contains(a, "{\"type\":\"CKA_VALUE\",\"len\":4,\"hex\":\"3082010a\"}");
    assert_not_contains(b, "3082010a");
    assert_not_contains(c, "3082010a");
}
END_TEST

START_TEST(test_trace_get_attribute_value_after_the_call)
{
    static const char label[] = "my key";
    CK_ATTRIBUTE tmpl[] = {
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_VALUE, NULL, CK_UNAVAILABLE_INFORMATION},
        {CKA_MODULUS_BITS, NULL, sizeof(CK_ULONG)},
    };
    g_autofree char *ok =
        template_record(tmpl, 3, P11MUX_FN_C_GetAttributeValue, "json", CKR_ATTRIBUTE_SENSITIVE);
    g_autofree char *failed =
        template_record(tmpl, 3, P11MUX_FN_C_GetAttributeValue, "json", CKR_SESSION_CLOSED);
    g_autofree char *text =
        template_record(tmpl, 3, P11MUX_FN_C_GetAttributeValue, "text", CKR_ATTRIBUTE_SENSITIVE);

    assert_contains(ok, "\"rv\":\"CKR_ATTRIBUTE_SENSITIVE\"");
    assert_contains(ok, "{\"type\":\"CKA_LABEL\",\"len\":6,\"value\":\"my key\"}");
    assert_contains(ok, "{\"type\":\"CKA_VALUE\",\"unavailable\":true}");
    assert_contains(ok, "{\"type\":\"CKA_MODULUS_BITS\",\"len\":8,\"null\":true}");
    /* a failed call wrote nothing: types and lengths only */
    assert_contains(failed, "{\"type\":\"CKA_LABEL\",\"len\":6}");
    assert_contains(text, "\n    CKA_LABEL = \"my key\"\n");
    assert_contains(text, "\n    CKA_VALUE = <unavailable>\n");
}
END_TEST

START_TEST(test_trace_attribute_values_by_type)
{
    static const char date[] = "20240131";
    static const char label[] = "a \"quoted\"\n label";
    CK_ULONG mechanisms[] = {CKM_ECDSA, CKM_SHA256_RSA_PKCS};
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &ulong_values[4], sizeof(CK_ULONG)},
        {CKA_KEY_TYPE, &ulong_values[5], sizeof(CK_ULONG)},
        {CKA_START_DATE, (void *)date, 8},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_VALUE_LEN, &ulong_values[6], sizeof(CK_ULONG)},
        {CKA_ALLOWED_MECHANISMS, mechanisms, sizeof(mechanisms)},
        {CKA_TOKEN, &bool_true, 1},
    };
    g_autofree char *json = NULL;
    g_autofree char *text = NULL;

    ulong_values[4] = CKO_SECRET_KEY;
    ulong_values[5] = CKK_AES;
    ulong_values[6] = 32;
    json = template_record(tmpl, G_N_ELEMENTS(tmpl), P11MUX_FN_C_CreateObject, "json", CKR_OK);
    text = template_record(tmpl, G_N_ELEMENTS(tmpl), P11MUX_FN_C_CreateObject, "text", CKR_OK);
    assert_contains(json, "\"value\":\"CKO_SECRET_KEY\"");
    assert_contains(json, "\"value\":\"CKK_AES\"");
    assert_contains(json, "\"value\":\"2024-01-31\"");
    assert_contains(json, "\"value\":\"a \\\"quoted\\\"\\n label\"");
    assert_contains(json, "{\"type\":\"CKA_VALUE_LEN\",\"len\":8,\"value\":32}");
    assert_contains(json, "\"value\":[\"CKM_ECDSA\",\"CKM_SHA256_RSA_PKCS\"]");
    assert_contains(text, "\n  pTemplate: 7 attributes\n    CKA_CLASS = CKO_SECRET_KEY\n");
    assert_contains(text, "\n    CKA_LABEL = \"a \\\"quoted\\\"\\x0a label\"\n");
    assert_contains(text, "\n    CKA_ALLOWED_MECHANISMS = [CKM_ECDSA CKM_SHA256_RSA_PKCS]\n");
    assert_contains(text, "\n    CKA_TOKEN = true\n");
}
END_TEST

/* One mechanism as C_<fn>Init sees it. */
static char *
mechanism_record(CK_MECHANISM_TYPE type, void *param, CK_ULONG len, const char *format,
                 const char *data)
{
    FakeCall call;

    fake_call_init(&call, P11MUX_FN_C_EncryptInit);
    call.mechanism = (CK_MECHANISM){type, param, len};
    return record_of(&call, format, data, CKR_OK);
}

START_TEST(test_trace_mechanism_parameters)
{
    guchar iv[12] = {1, 2, 3}, aad[5] = {0}, label[3] = {0xab, 0xcd, 0xef};
    guchar point[65] = {4};
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, label, 3};
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA384, CKG_MGF1_SHA384, 48};
    CK_GCM_PARAMS gcm = {iv, sizeof(iv), 96, aad, sizeof(aad), 128};
    CK_ECDH1_DERIVE_PARAMS ecdh = {CKD_NULL, 0, NULL, sizeof(point), point};
    guchar cbc_iv[16] = {0};
    g_autofree char *a = mechanism_record(CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep), "json", "hex");
    g_autofree char *b = mechanism_record(CKM_RSA_PKCS_PSS, &pss, sizeof(pss), "json", "length");
    g_autofree char *c = mechanism_record(CKM_AES_GCM, &gcm, sizeof(gcm), "json", "length");
    g_autofree char *d = mechanism_record(CKM_AES_CBC, cbc_iv, 16, "json", "length");
    g_autofree char *e = mechanism_record(CKM_ECDH1_DERIVE, &ecdh, sizeof(ecdh), "json", "length");
    g_autofree char *t = mechanism_record(CKM_AES_GCM, &gcm, sizeof(gcm), "text", "length");
    g_autofree char *bad = mechanism_record(CKM_AES_GCM, &gcm, 7, "json", "hex");
    g_autofree char *other = mechanism_record(CKM_VENDOR_DEFINED + 1, &gcm, 7, "json", "hex");

    assert_contains(a, "\"pMechanism\":{\"mechanism\":\"CKM_RSA_PKCS_OAEP\",\"param_len\":");
    assert_contains(a, "\"hashAlg\":\"CKM_SHA256\",\"mgf\":\"CKG_MGF1_SHA256\","
                       "\"source\":\"CKZ_DATA_SPECIFIED\",\"pSourceData\":{\"len\":3,"
                       "\"hex\":\"abcdef\"}");
    assert_contains(b, "\"hashAlg\":\"CKM_SHA384\",\"mgf\":\"CKG_MGF1_SHA384\",\"sLen\":48");
    assert_contains(c, "\"pIv\":{\"len\":12},\"ulIvBits\":96,\"pAAD\":{\"len\":5},"
                       "\"ulTagBits\":128");
    assert_contains(d, "{\"mechanism\":\"CKM_AES_CBC\",\"param_len\":16,\"iv\":{\"len\":16}}");
    assert_contains(e, "\"kdf\":\"CKD_NULL\",\"pSharedData\":{\"len\":0,\"null\":true},"
                       "\"pPublicData\":{\"len\":65}");
    assert_contains(t, "\n  pMechanism: CKM_AES_GCM param_len=");
    assert_contains(t, " pIv=<12 bytes> ulIvBits=96 pAAD=<5 bytes> ulTagBits=128\n");
    /* a parameter of the wrong size, or of a mechanism not known: its length only */
    assert_contains(bad, "{\"mechanism\":\"CKM_AES_GCM\",\"param_len\":7}");
    assert_contains(other, "{\"mechanism\":\"CKM_VENDOR_DEFINED+0x1\",\"param_len\":7}");
}
END_TEST

/* PKCS #11 3.0 names: NSS softoken lists CKM_CHACHA20_POLY1305 (0x4021). */
START_TEST(test_trace_3_0_names)
{
    guchar nonce[12] = {0};
    CK_ULONG mechanisms[] = {0x4021, 0x2b0, 0x402a}; /* CHACHA20_POLY1305, SHA3_256, HKDF_DERIVE */
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &ulong_values[0], sizeof(CK_ULONG)},
        {CKA_KEY_TYPE, &ulong_values[1], sizeof(CK_ULONG)},
        {CKA_KEY_GEN_MECHANISM, &ulong_values[2], sizeof(CK_ULONG)},
    };
    FakeCall call;
    g_autofree char *json = mechanism_record(0x4021, nonce, sizeof(nonce), "json", "length");
    g_autofree char *text = mechanism_record(0x4021, nonce, sizeof(nonce), "text", "length");
    g_autofree char *list = NULL;
    g_autofree char *keys = NULL;

    assert_contains(json,
                    "\"pMechanism\":{\"mechanism\":\"CKM_CHACHA20_POLY1305\",\"param_len\":12}");
    assert_contains(text, "\n  pMechanism: CKM_CHACHA20_POLY1305 param_len=12");

    fake_call_init(&call, P11MUX_FN_C_GetMechanismList);
    call.pointers[1] = mechanisms;
    list = record_of(&call, "json", "length", CKR_OK);
    assert_contains(list, "\"items\":[\"CKM_CHACHA20_POLY1305\",\"CKM_SHA3_256\","
                          "\"CKM_HKDF_DERIVE\"]");

    ulong_values[0] = CKO_PRIVATE_KEY;
    ulong_values[1] = 0x41;   /* CKK_EC_MONTGOMERY */
    ulong_values[2] = 0x1056; /* CKM_EC_MONTGOMERY_KEY_PAIR_GEN */
    keys = template_record(tmpl, G_N_ELEMENTS(tmpl), P11MUX_FN_C_CreateObject, "text", CKR_OK);
    assert_contains(keys, "\n    CKA_KEY_TYPE = CKK_EC_MONTGOMERY\n");
    assert_contains(keys, "\n    CKA_KEY_GEN_MECHANISM = CKM_EC_MONTGOMERY_KEY_PAIR_GEN\n");
}
END_TEST

/* The 3.2 functions by their roles: a KEM ciphertext is public both ways, the
 * new key's template keeps its secrets, an authenticated wrap's key stays
 * redacted while its associated data is public, value names print as names. */
START_TEST(test_trace_3_2_functions)
{
    static const guchar seed[] = "SEED-fedcba9876";
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &ulong_values[0], sizeof(CK_ULONG)},
        {CKA_VALUE, (void *)SECRET, strlen(SECRET)},
        {CKA_SEED, (void *)seed, sizeof(seed)},
        {CKA_PARAMETER_SET, &ulong_values[1], sizeof(CK_ULONG)},
        {CKA_ENCAPSULATE, &bool_true, 1},
        {CKA_DECAPSULATE_TEMPLATE, NULL, 0},
    };
    FakeCall call;
    g_autofree char *enc = NULL;
    g_autofree char *dec = NULL;
    g_autofree char *wrap = NULL;
    g_autofree char *unwrap = NULL;
    g_autofree char *flags = NULL;
    g_autofree char *text = NULL;
    g_autofree char *pending = NULL;

    ulong_values[0] = CKO_PRIVATE_KEY;
    ulong_values[1] = CKP_ML_KEM_768;
    /* C_EncapsulateKey(hSession, pMechanism, hPublicKey, pTemplate,
     *                  ulAttributeCount, pCiphertext, pulCiphertextLen, phKey) */
    fake_call_init(&call, P11MUX_FN_C_EncapsulateKey);
    call.pointers[3] = tmpl;
    call.ulongs[4] = G_N_ELEMENTS(tmpl);
    enc = record_of(&call, "json", "hex", CKR_OK);
    assert_contains(enc, "\"pCiphertext\":{\"len\":24,\"size\":24,\"hex\":\"5055424c4943");
    assert_contains(enc, "{\"type\":\"CKA_SEED\",\"len\":16,\"redacted\":true}");
    assert_contains(enc, "{\"type\":\"CKA_PARAMETER_SET\",\"len\":8,\"value\":2}");
    assert_contains(enc, "{\"type\":\"CKA_ENCAPSULATE\",\"len\":1,\"value\":true}");
    assert_contains(enc, "\"phKey\":24");
    assert_absent(enc, SECRET, "C_EncapsulateKey CKA_VALUE");
    assert_absent(enc, (const char *)seed, "C_EncapsulateKey CKA_SEED");

    fake_call_init(&call, P11MUX_FN_C_DecapsulateKey);
    call.pointers[3] = tmpl;
    call.ulongs[4] = G_N_ELEMENTS(tmpl);
    dec = record_of(&call, "json", "hex", CKR_OK);
    assert_contains(dec, "\"pCiphertext\":{\"len\":24,\"hex\":\"5055424c4943");
    assert_absent(dec, SECRET, "C_DecapsulateKey CKA_VALUE");
    assert_absent(dec, (const char *)seed, "C_DecapsulateKey CKA_SEED");

    /* C_WrapKeyAuthenticated(..., pAssociatedData, ulAssociatedDataLen,
     *                        pWrappedKey, pulWrappedKeyLen) */
    fake_call_init(&call, P11MUX_FN_C_WrapKeyAuthenticated);
    wrap = record_of(&call, "json", "hex", CKR_OK);
    assert_contains(wrap, "\"pAssociatedData\":{\"len\":24,\"hex\":\"5055424c4943");
    assert_contains(wrap, "\"pWrappedKey\":{\"len\":24,\"size\":24,\"redacted\":true}");
    fake_call_init(&call, P11MUX_FN_C_UnwrapKeyAuthenticated);
    unwrap = record_of(&call, "json", "hex", CKR_OK);
    assert_contains(unwrap, "\"pWrappedKey\":{\"len\":24,\"redacted\":true}");
    assert_contains(unwrap, "\"pAssociatedData\":{\"len\":24,\"hex\":\"5055424c4943");

    /* the authenticated wrap's CKM_AES_GCM carries a CK_GCM_MESSAGE_PARAMS:
     * read as a CK_GCM_PARAMS (the same size), ivGenerator would be pAAD */
    {
        guchar iv[12] = {0}, tag[16] = {0};
        CK_GCM_MESSAGE_PARAMS gcm = {iv, sizeof iv, 0, CKG_GENERATE, tag, 128};
        CK_MECHANISM aes_gcm = {CKM_AES_GCM, &gcm, sizeof gcm};
        g_autofree char *message = NULL;

        G_STATIC_ASSERT(sizeof(CK_GCM_MESSAGE_PARAMS) == sizeof(CK_GCM_PARAMS));
        fake_call_init(&call, P11MUX_FN_C_WrapKeyAuthenticated);
        call.pointers[1] = &aes_gcm;
        message = record_of(&call, "json", "hex", CKR_OK);
        assert_contains(message, "\"pMechanism\":{\"mechanism\":\"CKM_AES_GCM\",\"param_len\":48}");
    }

    /* C_GetSessionValidationFlags(hSession, type, pFlags) */
    fake_call_init(&call, P11MUX_FN_C_GetSessionValidationFlags);
    call.ulongs[1] = CKS_LAST_VALIDATION_OK;
    flags = record_of(&call, "json", "length", CKR_OK);
    assert_contains(flags, "\"type\":\"CKS_LAST_VALIDATION_OK\"");
    text = record_of(&call, "text", "length", CKR_OK);
    assert_contains(text, "\n  type: CKS_LAST_VALIDATION_OK\n");

    fake_call_init(&call, P11MUX_FN_C_VerifySignatureFinal);
    pending = record_of(&call, "json", "length", CKR_PENDING);
    assert_contains(pending, "\"rv\":\"CKR_PENDING\"");
}
END_TEST

START_TEST(test_trace_flags_by_structure)
{
    FakeCall open, info;
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;

    fake_call_init(&open, P11MUX_FN_C_OpenSession);
    a = record_of(&open, "json", "length", CKR_OK);
    assert_contains(a, "\"flags\":\"CKF_RW_SESSION|CKF_SERIAL_SESSION\"");
    assert_contains(a, "\"phSession\":24");

    fake_call_init(&info, P11MUX_FN_C_GetTokenInfo);
    memset(&info.info.token, ' ', sizeof(info.info.token));
    memcpy(info.info.token.label, "alpha", 5);
    info.info.token.flags = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_TOKEN_INITIALIZED;
    info.info.token.ulMaxPinLen = 255;
    b = record_of(&info, "json", "length", CKR_OK);
    assert_contains(b, "\"label\":\"alpha\"");
    assert_contains(b, "\"flags\":\"CKF_RNG|CKF_LOGIN_REQUIRED|CKF_TOKEN_INITIALIZED\"");
    assert_contains(b, "\"ulMaxPinLen\":255");
}
END_TEST

/* A count the token leaves unknown is CK_UNAVAILABLE_INFORMATION by name,
 * not 18446744073709551615, in both formats. */
START_TEST(test_trace_unavailable_information_by_name)
{
    FakeCall info;
    g_autofree char *json = NULL;
    g_autofree char *text = NULL;

    fake_call_init(&info, P11MUX_FN_C_GetTokenInfo);
    memset(&info.info.token, ' ', sizeof(info.info.token));
    info.info.token.ulMaxSessionCount = 0;
    info.info.token.ulSessionCount = CK_UNAVAILABLE_INFORMATION;
    info.info.token.ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info.info.token.ulMaxPinLen = 255;
    json = record_of(&info, "json", "length", CKR_OK);
    assert_contains(json, "\"ulSessionCount\":\"CK_UNAVAILABLE_INFORMATION\"");
    assert_contains(json, "\"ulFreePrivateMemory\":\"CK_UNAVAILABLE_INFORMATION\"");
    assert_contains(json, "\"ulMaxSessionCount\":0");
    ck_assert_ptr_null(strstr(json, "18446744073709551615"));
    fake_call_init(&info, P11MUX_FN_C_GetTokenInfo);
    memset(&info.info.token, ' ', sizeof(info.info.token));
    info.info.token.ulSessionCount = CK_UNAVAILABLE_INFORMATION;
    text = record_of(&info, "text", "length", CKR_OK);
    assert_contains(text, "ulSessionCount=CK_UNAVAILABLE_INFORMATION");
}
END_TEST

START_TEST(test_trace_outputs_and_lengths)
{
    FakeCall call;
    g_autofree char *query = NULL;
    g_autofree char *small = NULL;
    g_autofree char *done = NULL;
    g_autofree char *text = NULL;
    g_autofree char *failed = NULL;

    /* C_Sign(hSession, pData, ulDataLen, pSignature, pulSignatureLen) */
    fake_call_init(&call, P11MUX_FN_C_Sign);
    call.pointers[3] = NULL;
    query = record_of(&call, "json", "hex", CKR_OK);
    assert_contains(query, "\"pSignature\":{\"len\":24,\"null\":true}");

    fake_call_init(&call, P11MUX_FN_C_Sign);
    call.outs[4] = 8; /* the size offered; the mock backend "answers" 24 below */
    p11mux_trace_begin(&call.call);
    call.outs[4] = 24;
    {
        g_autoptr(P11muxTrace) trace = p11mux_trace_new("stderr", "json", "hex", NULL);

        small = p11mux_trace_format(trace, &call.call, CKR_BUFFER_TOO_SMALL);
        done = p11mux_trace_format(trace, &call.call, CKR_OK);
    }
    assert_contains(small, "\"pSignature\":{\"len\":24,\"size\":8}");
    assert_contains(done, "\"pSignature\":{\"len\":24,\"size\":8,\"hex\":\"5055424c4943");
    assert_contains(done, "\"pData\":{\"len\":24,\"hex\":\"5055424c4943");

    fake_call_init(&call, P11MUX_FN_C_Sign);
    text = record_of(&call, "text", "hex", CKR_OK);
    assert_contains(text, "\n  pSignature: <24 bytes, buffer 24> 5055424c4943");

    fake_call_init(&call, P11MUX_FN_C_GetSlotList);
    failed = record_of(&call, "json", "length", CKR_HOST_MEMORY);
    assert_contains(failed, "\"rv\":\"CKR_HOST_MEMORY\"");
    assert_contains(failed, "\"pSlotList\":{\"size\":3}");
}
END_TEST

START_TEST(test_trace_lists)
{
    FakeCall call;
    CK_ULONG slots[] = {0x10, 0x20, 0x30};
    CK_ULONG mechanisms[] = {CKM_AES_GCM, CKM_ECDSA, CKM_VENDOR_DEFINED + 2};
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;
    g_autofree char *t = NULL;

    fake_call_init(&call, P11MUX_FN_C_GetSlotList);
    call.pointers[1] = slots;
    a = record_of(&call, "json", "length", CKR_OK);
    t = record_of(&call, "text", "length", CKR_OK);
    assert_contains(a, "\"tokenPresent\":true,\"pSlotList\":{\"count\":3,\"size\":3,"
                       "\"items\":[16,32,48]}}");
    assert_contains(t, "\n  pSlotList: {count=3 size=3 items=[0x10 0x20 0x30]}\n");

    fake_call_init(&call, P11MUX_FN_C_GetMechanismList);
    call.pointers[1] = mechanisms;
    b = record_of(&call, "json", "length", CKR_OK);
    assert_contains(b, "\"items\":[\"CKM_AES_GCM\",\"CKM_ECDSA\",\"CKM_VENDOR_DEFINED+0x2\"]");
}
END_TEST

START_TEST(test_trace_unknown_values_and_odd_text)
{
    FakeCall call;
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;
    static const guchar odd[] = {'o', 0xff, 'k', 0x1b, '[', '2', 'J'};
    CK_ATTRIBUTE tmpl[] = {{CKA_LABEL, (void *)odd, sizeof(odd)}};

    fake_call_init(&call, P11MUX_FN_C_Logout);
    a = record_of(&call, "json", "length", 0x80001234UL);
    assert_contains(a, "\"rv\":\"CKR_VENDOR_DEFINED+0x1234\"");

    b = template_record(tmpl, 1, P11MUX_FN_C_CreateObject, "json", CKR_OK);
    assert_json_line(b);
    assert_contains(b, "\"value\":\"o\\ufffdk\\u001b[2J\"");
    g_free(b);
    b = template_record(tmpl, 1, P11MUX_FN_C_CreateObject, "text", CKR_OK);
    assert_contains(b, "CKA_LABEL = \"o\\xffk\\x1b[2J\"");
}
END_TEST

/* Long buffers are cut at P11MUX_TRACE_HEX_MAX bytes. */
START_TEST(test_trace_hex_is_cut)
{
    FakeCall call;
    guchar big[P11MUX_TRACE_HEX_MAX + 10];
    g_autofree char *json = NULL;
    g_autofree char *text = NULL;
    g_autofree char *expected = NULL;

    memset(big, 0xaa, sizeof(big));
    fake_call_init(&call, P11MUX_FN_C_DigestUpdate);
    call.pointers[1] = big;
    call.ulongs[2] = sizeof(big);
    json = record_of(&call, "json", "hex", CKR_OK);
    text = record_of(&call, "text", "hex", CKR_OK);
    expected = g_strdup_printf("\"len\":%u,\"hex\":\"aaaa", (guint)sizeof(big));
    assert_contains(json, expected);
    assert_contains(json, "aa\",\"truncated\":true}");
    {
        const char *hex = strstr(json, "\"hex\":\"") + 7;

        ck_assert_uint_eq(strchr(hex, '"') - hex, 2 * P11MUX_TRACE_HEX_MAX);
    }
    assert_contains(text, "aa...\n");
}
END_TEST

/* ---------------------------------------------------------------- destinations */

static char *tmpdir;

static void
setup_tmp(void)
{
    tmpdir = g_dir_make_tmp("p11mux-test-trace-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmpdir);
}

static void
teardown_tmp(void)
{
    scratch_remove_tree(tmpdir);
    g_clear_pointer(&tmpdir, g_free);
}

/* The descriptor this process has open on path, or -1. */
static int
fd_open_on(const char *path)
{
    int fd;

    for (fd = 3; fd < 1024; fd++) {
        g_autofree char *link = g_strdup_printf("/proc/self/fd/%d", fd);
        g_autofree char *target = g_file_read_link(link, NULL);

        if (target != NULL && strcmp(target, path) == 0) {
            return fd;
        }
    }
    return -1;
}

START_TEST(test_trace_file_is_private_appended_and_cloexec)
{
    g_autofree char *path = g_build_filename(tmpdir, "trace.log", NULL);
    g_autofree char *destination = g_strdup_printf("file:%s", path);
    g_autofree char *contents = NULL;
    g_autoptr(GError) error = NULL;
    P11muxTrace *trace;
    GStatBuf st;
    int fd;

    ck_assert(g_file_set_contents(path, "before\n", -1, NULL));
    g_chmod(path, 0640);
    trace = p11mux_trace_new(destination, "json", "length", &error);
    ck_assert_msg(trace != NULL, "%s", error ? error->message : "");
    fd = fd_open_on(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_ne(fcntl(fd, F_GETFL) & O_APPEND, 0);
    p11mux_trace_write(trace, "one\n", 4);
    p11mux_trace_free(trace);
    ck_assert_int_eq(fd_open_on(path), -1);
    ck_assert(g_file_get_contents(path, &contents, NULL, NULL));
    ck_assert_str_eq(contents, "before\none\n");

    /* a new file is created 0600 */
    g_remove(path);
    trace = p11mux_trace_new(destination, "text", "hex", NULL);
    ck_assert_ptr_nonnull(trace);
    ck_assert_int_eq(g_stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    p11mux_trace_free(trace);
}
END_TEST

/* trace = file:%r/...: one configuration, a file per user (and per
 * process with %p) in the user's runtime directory. */
START_TEST(test_trace_file_pattern_expands_per_user_and_process)
{
    g_autofree char *expected =
        g_strdup_printf("%s/p11mux-%s-%lu-%ld-%s%%.json", tmpdir, g_get_user_name(),
                        (unsigned long)geteuid(), (long)getpid(), g_get_host_name());
    g_autofree char *fallback = g_strdup_printf("/run/user/%lu/t", (unsigned long)geteuid());
    g_autofree char *path = NULL;
    g_autofree char *without = NULL;
    g_autoptr(GError) error = NULL;
    P11muxTrace *trace;

    g_setenv("XDG_RUNTIME_DIR", tmpdir, TRUE);
    path = p11mux_trace_path_expand("%r/p11mux-%u-%U-%p-%h%%.json", &error);
    ck_assert_msg(path != NULL, "%s", error ? error->message : "");
    ck_assert_str_eq(path, expected);
    /* the trace opens the expanded file */
    trace = p11mux_trace_new("file:%r/p11mux-%u-%U-%p-%h%%.json", "json", "length", &error);
    ck_assert_msg(trace != NULL, "%s", error ? error->message : "");
    p11mux_trace_free(trace);
    ck_assert(g_file_test(expected, G_FILE_TEST_IS_REGULAR));
    /* no runtime directory in the environment: /run/user/UID */
    g_unsetenv("XDG_RUNTIME_DIR");
    without = p11mux_trace_path_expand("%r/t", &error);
    ck_assert_str_eq(without, fallback);
    ck_assert_ptr_null(p11mux_trace_path_expand("/tmp/%x", &error));
    assert_contains(error->message, "unknown %x");
}
END_TEST

/* A trace file is never reached through a symbolic link. */
START_TEST(test_trace_file_through_a_symlink_is_refused)
{
    g_autofree char *target = g_build_filename(tmpdir, "target", NULL);
    g_autofree char *link = g_build_filename(tmpdir, "link", NULL);
    g_autofree char *destination = g_strdup_printf("file:%s", link);
    g_autoptr(GError) error = NULL;

    ck_assert(g_file_set_contents(target, "", -1, NULL));
    ck_assert_int_eq(symlink(target, link), 0);
    ck_assert_ptr_null(p11mux_trace_new(destination, "json", "hex", &error));
    assert_contains(error->message, "cannot open");
}
END_TEST

START_TEST(test_trace_bad_settings_are_refused)
{
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;
    g_autoptr(GError) e4 = NULL;

    ck_assert_ptr_null(p11mux_trace_new("file:/nonexistent-dir/x/trace", "json", "hex", &e1));
    assert_contains(e1->message, "cannot open /nonexistent-dir/x/trace");
    ck_assert_ptr_null(p11mux_trace_new("file:relative", "json", "hex", &e2));
    ck_assert_ptr_null(p11mux_trace_new("off", "json", "hex", NULL));
    ck_assert_ptr_null(p11mux_trace_new("stderr", "xml", "hex", &e3));
    assert_contains(e3->message, "trace-format");
    ck_assert_ptr_null(p11mux_trace_new("stderr", "json", "base64", &e4));
    assert_contains(e4->message, "trace-data");
}
END_TEST

#define THREAD_RECORDS 300
#define BIG_TEMPLATE 120

typedef struct {
    P11muxRouter *router;
    P11muxFunctionId fn;
} ThreadJob;

/* Records far above PIPE_BUF: a template of BIG_TEMPLATE attributes, in hex. */
static gpointer
write_records(gpointer data)
{
    ThreadJob *job = data;
    static guchar id[64];
    CK_ATTRIBUTE tmpl[BIG_TEMPLATE];
    guint i;

    memset(id, 0x5a, sizeof(id));
    for (i = 0; i < BIG_TEMPLATE; i++) {
        tmpl[i] = (CK_ATTRIBUTE){CKA_ID, id, sizeof(id)};
    }
    for (i = 0; i < THREAD_RECORDS; i++) {
        FakeCall call;

        fake_call_init(&call, job->fn);
        call.pointers[1] = tmpl;
        call.ulongs[2] = BIG_TEMPLATE;
        call.call.router = job->router;
        p11mux_trace_begin(&call.call);
        p11mux_trace_end(&call.call, CKR_OK);
    }
    return NULL;
}

START_TEST(test_trace_threads_write_whole_lines)
{
    g_autofree char *path = g_build_filename(tmpdir, "threads.log", NULL);
    g_autofree char *destination = g_strdup_printf("file:%s", path);
    g_autofree char *contents = NULL;
    g_auto(GStrv) lines = NULL;
    P11muxRouter router = {0};
    ThreadJob a = {&router, P11MUX_FN_C_FindObjectsInit};
    ThreadJob b = {&router, P11MUX_FN_C_CreateObject};
    GThread *ta, *tb;
    guint i, n_a = 0, n_b = 0;

    router.trace = p11mux_trace_new(destination, "json", "hex", NULL);
    ck_assert_ptr_nonnull(router.trace);
    ta = g_thread_new("a", write_records, &a);
    tb = g_thread_new("b", write_records, &b);
    g_thread_join(ta);
    g_thread_join(tb);
    p11mux_trace_free(router.trace);

    ck_assert(g_file_get_contents(path, &contents, NULL, NULL));
    ck_assert_uint_gt(strlen(contents), 2 * THREAD_RECORDS * 4096);
    lines = g_strsplit(contents, "\n", -1);
    ck_assert_uint_eq(g_strv_length(lines), 2 * THREAD_RECORDS + 1);
    for (i = 0; lines[i + 1] != NULL; i++) {
        g_autoptr(GError) error = NULL;

        ck_assert_msg(p11mux_trace_json_line_is_object(lines[i], strlen(lines[i]), &error),
                      "line %u: %s", i + 1, error->message);
        n_a += strstr(lines[i], "\"function\":\"C_FindObjectsInit\"") != NULL;
        n_b += strstr(lines[i], "\"function\":\"C_CreateObject\"") != NULL;
    }
    ck_assert_uint_eq(n_a, THREAD_RECORDS);
    ck_assert_uint_eq(n_b, THREAD_RECORDS);
}
END_TEST

START_TEST(test_trace_time_format)
{
    char buf[40];

    p11mux_trace_format_time(G_GINT64_CONSTANT(1706704496123456), buf, sizeof(buf));
    ck_assert_str_eq(buf, "2024-01-31T12:34:56.123456Z");
}
END_TEST

static Suite *
trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *decode = tcase_create("decode");
    TCase *files = tcase_create("destinations");

    tcase_set_timeout(decode, 120);
    tcase_add_test(decode, test_trace_no_function_writes_a_secret);
    tcase_add_test(decode, test_trace_hex_writes_public_buffers);
    tcase_add_test(decode, test_trace_one_size_parameter_per_function);
    tcase_add_test(decode, test_trace_login_writes_pin_length_only);
    tcase_add_test(decode, test_trace_sensitive_attributes_are_never_written);
    tcase_add_test(decode, test_trace_certificate_value_is_public);
    tcase_add_test(decode, test_trace_get_attribute_value_after_the_call);
    tcase_add_test(decode, test_trace_attribute_values_by_type);
    tcase_add_test(decode, test_trace_mechanism_parameters);
    tcase_add_test(decode, test_trace_3_0_names);
    tcase_add_test(decode, test_trace_3_2_functions);
    tcase_add_test(decode, test_trace_flags_by_structure);
    tcase_add_test(decode, test_trace_outputs_and_lengths);
    tcase_add_test(decode, test_trace_lists);
    tcase_add_test(decode, test_trace_unknown_values_and_odd_text);
    tcase_add_test(decode, test_trace_hex_is_cut);
    tcase_add_test(decode, test_trace_time_format);
    suite_add_tcase(s, decode);

    tcase_add_checked_fixture(files, setup_tmp, teardown_tmp);
    tcase_set_timeout(files, 120);
    tcase_add_test(files, test_trace_file_is_private_appended_and_cloexec);
    tcase_add_test(files, test_trace_bad_settings_are_refused);
    tcase_add_test(files, test_trace_unavailable_information_by_name);
    tcase_add_test(files, test_trace_file_pattern_expands_per_user_and_process);
    tcase_add_test(files, test_trace_file_through_a_symlink_is_refused);
    tcase_add_test(files, test_trace_threads_write_whole_lines);
    suite_add_tcase(s, files);
    return s;
}

int
main(void)
{
    SRunner *runner = srunner_create(trace_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
