/*
 * Fuzz target: the trace decoder and both renderers (src/trace/).  An
 * input is a sequence of calls: a function from the table, arguments made
 * by parameter role (fuzz-args.h: random templates, mechanism parameters,
 * buffers; secrets filled with a canary), a return value, and whether the
 * call was routed; each is formatted as a JSON and a text record, with
 * trace-data hex and length.
 *
 * Invariants (abort on violation):
 * - no crash, no leak, no read outside the buffers (ASan);
 * - nothing marked secret (secret-in/out, state, attributes not known to be
 *   public, CKA_VALUE in a secret key's template) is ever written, whatever
 *   trace-data says: the record is the same whatever the secrets hold (two
 *   fillings compared, the call's duration aside), and the canary text
 *   never appears;
 * - every JSON record is one valid JSON object (JSON-GLib, as p11mux trace-summary reads it).
 */
#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "cli/trace-read.h"
#include "fuzz-args.h"
#include "trace.h"

#define MAX_CALLS 8

static P11muxTrace *traces[4]; /* json+hex, json+length, text+hex, text+length */
static P11muxBackend backend = {.name = (char *)"fuzz"};

static void
init_once(void)
{
    static const char *const formats[] = {"json", "json", "text", "text"};
    static const char *const data[] = {"hex", "length", "hex", "length"};

    if (traces[0] != NULL) {
        return;
    }
    for (guint i = 0; i < G_N_ELEMENTS(traces); i++) {
        g_autoptr(GError) error = NULL;

        traces[i] = p11mux_trace_new("file:/dev/null", formats[i], data[i], &error);
        if (traces[i] == NULL) {
            fuzz_fail("%s", error->message);
        }
    }
}

static void
check_record(const char *record, gboolean json)
{
    if (strstr(record, FUZZ_CANARY) != NULL) {
        fuzz_fail("a secret was written:\n%s", record);
    }
    if (json) {
        g_autoptr(GError) error = NULL;
        gsize length = strlen(record);

        if (length == 0 || record[length - 1] != '\n' || memchr(record, '\n', length - 1) != NULL) {
            fuzz_fail("not one line:\n%s", record);
        }
        if (!p11mux_trace_json_line_is_object(record, length - 1, &error)) {
            fuzz_fail("not JSON (%s):\n%s", error->message, record);
        }
    }
}

/* The record without the call's duration (which differs between two
 * formattings of one call): the JSON member, the text header's "(N us)". */
static char *
without_duration(const char *record, gboolean json)
{
    static GRegex *json_duration, *text_duration;
    const char *end = strchr(record, '\n');
    g_autofree char *first =
        g_strndup(record, end != NULL ? (gsize)(end - record) : strlen(record));
    g_autofree char *masked = NULL;

    if (json_duration == NULL) {
        json_duration = g_regex_new("\"duration_us\":-?[0-9]+", 0, 0, NULL);
        text_duration = g_regex_new("\\(-?[0-9]+ us\\)", 0, 0, NULL);
    }
    masked =
        g_regex_replace_literal(json ? json_duration : text_duration, first, -1, 0, "(d)", 0, NULL);
    return g_strconcat(masked, end != NULL ? end : "", NULL);
}

static void
one_call(FuzzInput *in)
{
    static const CK_ULONG handles[] = {0x100001, 0x200002, 1, 0x500};
    FuzzPools pools = {handles, 3, handles, 3, handles + 3, 1, TRUE, TRUE};
    P11muxFunctionId fn = fuzz_below(in, P11MUX_FN_COUNT);
    P11muxSlot slot = {0x1234, 7, &backend, NULL};
    P11muxCall call = {0};
    FuzzCall args;
    CK_RV rv;

    fuzz_call_build(&args, fn, in, &pools);
    call.fn = fn;
    call.args = args.args;
    p11mux_trace_begin(&call);
    rv = fuzz_below(in, 4) == 0 ? fuzz_ulong(in)
         : fuzz_below(in, 2)    ? CKR_OK
                                : fuzz_below(in, 0x200);
    if (fuzz_below(in, 2)) {
        call.slot_entry = &slot;
        call.backend = &backend;
        call.slot = slot.id;
        call.real_slot = slot.real;
        call.session = fuzz_ulong(in);
        call.real_session = fuzz_ulong(in);
    }
    for (guint i = 0; i < G_N_ELEMENTS(traces); i++) {
        gboolean json = i < 2;
        g_autofree char *record = NULL;
        g_autofree char *other = NULL;
        g_autofree char *a = NULL;
        g_autofree char *b = NULL;

        fuzz_call_fill_secrets(&args, FUZZ_CANARY);
        record = p11mux_trace_format(traces[i], &call, rv);
        check_record(record, json);
        fuzz_call_fill_secrets(&args, "Sz\x01\xfe\x7f-other");
        other = p11mux_trace_format(traces[i], &call, rv);
        a = without_duration(record, json);
        b = without_duration(other, json);
        if (strcmp(a, b) != 0) {
            fuzz_fail("a secret changed the record:\n%s%s", record, other);
        }
    }
    fuzz_call_clear(&args);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = {data, size, 0};

    init_once();
    for (guint i = 0; i < MAX_CALLS && !fuzz_done(&in); i++) {
        one_call(&in);
    }
    return 0;
}
