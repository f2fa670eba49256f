/*
 * p11mux trace-summary FILE: calls per function, errors per return value and
 * latency p50/p95/max per function, from a JSON trace (trace-format = json).
 *
 * Percentiles are nearest-rank: p50 of n sorted durations is the
 * ceil(0.50 n)-th.  A line that is not a trace record is reported as
 * FILE:LINE: why on stderr and skipped; the exit status is then 1.  Records
 * with an "event" member (trace-entry, a backend's outcome, slow-call) are
 * not calls' returns and are skipped silently.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json-scan.h"

typedef struct {
    char *name;
    GArray *durations; /* gint64 µs */
    guint errors;
} FunctionStats;

typedef struct {
    GHashTable *functions; /* name -> FunctionStats* */
    GHashTable *errors;    /* rv name -> count (GUINT_TO_POINTER) */
    guint calls;
    guint bad_lines;
} Summary;

typedef struct {
    char *function;
    char *rv;
    gint64 duration;
    gboolean has_duration;
    gboolean event; /* an "event" record (entry, backend, slow): not a call's return */
} Record;

static void
function_stats_free(gpointer data)
{
    FunctionStats *stats = data;

    g_free(stats->name);
    g_array_unref(stats->durations);
    g_free(stats);
}

static void
on_member(const char *key, P11muxJsonType type, const char *value, gpointer user_data)
{
    Record *record = user_data;

    if (strcmp(key, "event") == 0) {
        record->event = TRUE;
    } else if (type == P11MUX_JSON_STRING && strcmp(key, "function") == 0) {
        g_free(record->function);
        record->function = g_strdup(value);
    } else if (type == P11MUX_JSON_STRING && strcmp(key, "rv") == 0) {
        g_free(record->rv);
        record->rv = g_strdup(value);
    } else if (type == P11MUX_JSON_NUMBER && strcmp(key, "duration_us") == 0) {
        record->duration = g_ascii_strtoll(value, NULL, 10);
        record->has_duration = TRUE;
    }
}

static void
add_record(Summary *summary, const Record *record)
{
    FunctionStats *stats = g_hash_table_lookup(summary->functions, record->function);

    if (stats == NULL) {
        stats = g_new0(FunctionStats, 1);
        stats->name = g_strdup(record->function);
        stats->durations = g_array_new(FALSE, FALSE, sizeof(gint64));
        g_hash_table_insert(summary->functions, stats->name, stats);
    }
    summary->calls++;
    g_array_append_val(stats->durations, record->duration);
    if (strcmp(record->rv, "CKR_OK") != 0) {
        gpointer count = g_hash_table_lookup(summary->errors, record->rv);

        stats->errors++;
        g_hash_table_insert(summary->errors, g_strdup(record->rv),
                            GUINT_TO_POINTER(GPOINTER_TO_UINT(count) + 1));
    }
}

/* Bad lines reported one by one; the rest only counted. */
#define MAX_REPORTED 10

/* One line: FALSE (and a message, for the first MAX_REPORTED) when it is not a trace record. */
static gboolean
read_line(Summary *summary, const char *file, guint number, const char *line, gsize length)
{
    gboolean quiet = summary->bad_lines >= MAX_REPORTED;
    g_autoptr(GError) error = NULL;
    Record record = {0};
    gboolean ok;

    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) {
        length--;
    }
    if (length == 0) {
        return TRUE;
    }
    ok = p11mux_json_scan(line, length, on_member, &record, &error);
    if (!ok && !quiet) {
        fprintf(stderr, "%s:%u: not JSON: %s\n", file, number, error->message);
    } else if (ok && record.event) {
        /* entry, backend and slow records count no call */
    } else if (ok && (record.function == NULL || record.rv == NULL || !record.has_duration)) {
        if (!quiet) {
            fprintf(stderr,
                    "%s:%u: not a p11mux trace record (function, rv or duration_us "
                    "missing)\n",
                    file, number);
        }
        ok = FALSE;
    } else {
        add_record(summary, &record);
    }
    g_free(record.function);
    g_free(record.rv);
    return ok;
}

static gboolean
read_trace(Summary *summary, const char *file, FILE *in)
{
    char *line = NULL;
    size_t size = 0;
    ssize_t n;
    guint number = 0;

    while ((n = getline(&line, &size, in)) >= 0) {
        number++;
        if (!read_line(summary, file, number, line, (gsize)n)) {
            summary->bad_lines++;
        }
    }
    free(line);
    return !ferror(in);
}

static int
compare_gint64(gconstpointer a, gconstpointer b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return x < y ? -1 : x > y;
}

/* Nearest rank. */
static gint64
percentile(GArray *sorted, guint percent)
{
    guint rank = (sorted->len * percent + 99) / 100;

    return g_array_index(sorted, gint64, MAX(rank, 1) - 1);
}

/* Most calls first, then by name. */
static int
compare_stats(gconstpointer a, gconstpointer b)
{
    const FunctionStats *x = *(FunctionStats *const *)a, *y = *(FunctionStats *const *)b;

    if (x->durations->len != y->durations->len) {
        return x->durations->len > y->durations->len ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

/* g_hash_table_get_values_as_ptr_array() is GLib 2.76 */
static GPtrArray *
values_of(GHashTable *table, gboolean keys)
{
    GPtrArray *array = g_ptr_array_new();
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init(&iter, table);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        g_ptr_array_add(array, keys ? key : value);
    }
    return array;
}

static void
print_functions(Summary *summary)
{
    g_autoptr(GPtrArray) list = values_of(summary->functions, FALSE);
    guint i, errors = 0;

    g_ptr_array_sort(list, compare_stats);
    printf("%-26s %8s %8s %10s %10s %10s\n", "function", "calls", "errors", "p50_us", "p95_us",
           "max_us");
    for (i = 0; i < list->len; i++) {
        FunctionStats *stats = g_ptr_array_index(list, i);
        GArray *d = stats->durations;

        g_array_sort(d, compare_gint64);
        printf("%-26s %8u %8u %10" G_GINT64_FORMAT " %10" G_GINT64_FORMAT " %10" G_GINT64_FORMAT
               "\n",
               stats->name, d->len, stats->errors, percentile(d, 50), percentile(d, 95),
               g_array_index(d, gint64, d->len - 1));
        errors += stats->errors;
    }
    printf("%-26s %8u %8u\n", "total", summary->calls, errors);
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
print_errors(Summary *summary)
{
    g_autoptr(GPtrArray) names = values_of(summary->errors, TRUE);
    guint i;

    g_ptr_array_sort(names, compare_strings);
    printf("\n%-34s %8s\n", "rv", "count");
    for (i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);

        printf("%-34s %8u\n", name, GPOINTER_TO_UINT(g_hash_table_lookup(summary->errors, name)));
    }
}

static int
summarize(const char *file)
{
    Summary summary = {0};
    gboolean read_ok;
    FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "re");

    if (in == NULL) {
        p11mux_cli_error("trace-summary: cannot open %s: %s", file, g_strerror(errno));
        return P11MUX_EXIT_ERROR;
    }
    summary.functions = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, function_stats_free);
    summary.errors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    read_ok = read_trace(&summary, file, in);
    if (in != stdin) {
        fclose(in);
    }
    if (read_ok) {
        print_functions(&summary);
        print_errors(&summary);
    } else {
        p11mux_cli_error("trace-summary: cannot read %s", file);
    }
    if (summary.bad_lines > 0) {
        fprintf(stderr, "%s: %u lines were not trace records (trace-format = json?)\n", file,
                summary.bad_lines);
    }
    g_hash_table_unref(summary.functions);
    g_hash_table_unref(summary.errors);
    if (!read_ok) {
        return P11MUX_EXIT_ERROR;
    }
    return summary.bad_lines == 0 ? P11MUX_EXIT_OK : P11MUX_EXIT_NO;
}

int
p11mux_cli_trace_summary(int argc, char **argv)
{
    g_autoptr(GOptionContext) context = g_option_context_new("FILE");

    g_set_prgname("p11mux trace-summary");
    g_option_context_set_summary(context,
                                 "Read a JSON trace (trace-format = json; FILE '-' is standard "
                                 "input) and print calls, errors and latency p50/p95/max per "
                                 "function, then the calls per return value other than CKR_OK.");
    if (!p11mux_cli_parse_options(context, &argc, &argv)) {
        return P11MUX_EXIT_USAGE;
    }
    if (argc != 2) {
        p11mux_cli_error("trace-summary: expected one FILE (see --help)");
        return P11MUX_EXIT_USAGE;
    }
    return summarize(argv[1]);
}
