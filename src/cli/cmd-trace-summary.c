/*
 * p11mux trace-summary [--pid PID] FILE: per process, calls, errors, size
 * queries and latency p50/p95/max per function, then the errors broken down
 * by function, return value, mechanism and backend; from a trace in either
 * format (src/cli/trace-read.c).
 *
 * An error is a return value other than CKR_OK and CKR_BUFFER_TOO_SMALL:
 * the latter is the answer to a size query with a short buffer, counted
 * under size_q (a query with a NULL buffer returns CKR_OK).  The mechanism
 * of a call is its own pMechanism, else the one the last *Init of its
 * session named.  Percentiles are nearest-rank: p50 of n sorted durations
 * is the ceil(0.50 n)-th.  A line that is not a trace record is reported as
 * FILE:LINE: why on stderr and skipped; the exit status is then 1.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "trace-read.h"

typedef struct {
    char *name;
    GArray *durations; /* gint64 µs */
    guint errors;
    guint size_queries;
} FunctionStats;

typedef struct {
    guint64 pid;
    GHashTable *by_function;/* name -> FunctionStats* */
    GHashTable *errors;     /* "function\trv\tmechanism\tbackend" -> count */
    GHashTable *mechanisms; /* session -> the mechanism of its last *Init */
    guint calls;
} Process;

typedef struct {
    GPtrArray *processes; /* Process*, in order of first appearance */
    guint64 only_pid;     /* 0: every process */
    guint bad_lines;
} Summary;

static void
function_stats_free(gpointer data)
{
    FunctionStats *stats = data;

    g_free(stats->name);
    g_array_unref(stats->durations);
    g_free(stats);
}

static void
process_free(gpointer data)
{
    Process *process = data;

    g_hash_table_unref(process->by_function);
    g_hash_table_unref(process->errors);
    g_hash_table_unref(process->mechanisms);
    g_free(process);
}

static Process *
process_of(Summary *summary, guint64 pid)
{
    Process *process;

    for (guint i = 0; i < summary->processes->len; i++) {
        process = g_ptr_array_index(summary->processes, i);
        if (process->pid == pid) {
            return process;
        }
    }
    process = g_new0(Process, 1);
    process->pid = pid;
    process->by_function = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, function_stats_free);
    process->errors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    process->mechanisms = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    g_ptr_array_add(summary->processes, process);
    return process;
}

static FunctionStats *
function_of(Process *process, const char *name)
{
    FunctionStats *stats = g_hash_table_lookup(process->by_function, name);

    if (stats == NULL) {
        stats = g_new0(FunctionStats, 1);
        stats->name = g_strdup(name);
        stats->durations = g_array_new(FALSE, FALSE, sizeof(gint64));
        g_hash_table_insert(process->by_function, stats->name, stats);
    }
    return stats;
}

/* The record's mechanism, else its session's; a *Init's becomes its session's. */
static const char *
mechanism_of(Process *process, const P11muxTraceCall *record)
{
    gint64 session = (gint64)record->session;

    if (!record->has_session) {
        return record->mechanism;
    }
    if (record->mechanism != NULL) {
        g_hash_table_replace(process->mechanisms, g_memdup2(&session, sizeof(session)),
                             g_strdup(record->mechanism));
        return record->mechanism;
    }
    return g_hash_table_lookup(process->mechanisms, &session);
}

static void
add_record(Summary *summary, const P11muxTraceCall *record)
{
    Process *process = process_of(summary, record->pid);
    FunctionStats *stats = function_of(process, record->function);
    const char *mechanism = mechanism_of(process, record);

    process->calls++;
    g_array_append_val(stats->durations, record->duration_us);
    if (strcmp(record->rv, "CKR_BUFFER_TOO_SMALL") == 0) {
        stats->size_queries++;
    } else if (strcmp(record->rv, "CKR_OK") != 0) {
        char *key = g_strdup_printf("%s\t%s\t%s\t%s", record->function, record->rv,
                                    mechanism != NULL ? mechanism : "-",
                                    record->backend != NULL ? record->backend : "-");
        gpointer count = g_hash_table_lookup(process->errors, key);

        stats->errors++;
        g_hash_table_replace(process->errors, key, GUINT_TO_POINTER(GPOINTER_TO_UINT(count) + 1));
    }
}

/* Bad lines reported one by one; the rest only counted. */
#define MAX_REPORTED 10

static gboolean
read_trace(Summary *summary, FILE *in, const char *file)
{
    g_autoptr(P11muxTraceReader) reader = p11mux_trace_reader_new(in, file);
    P11muxTraceCall record;
    P11muxTraceRead result;
    char *why = NULL;

    while ((result = p11mux_trace_reader_next(reader, &record, &why)) != P11MUX_TRACE_READ_END) {
        if (result == P11MUX_TRACE_READ_ERROR) {
            return FALSE;
        }
        if (result == P11MUX_TRACE_READ_BAD) {
            if (summary->bad_lines++ < MAX_REPORTED) {
                fprintf(stderr, "%s\n", why);
            }
            g_free(why);
            continue;
        }
        if (summary->only_pid == 0 || record.pid == summary->only_pid) {
            add_record(summary, &record);
        }
        p11mux_trace_call_clear(&record);
    }
    return TRUE;
}

/* ------------------------------------------------------------------ output */

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
print_functions(Process *process)
{
    g_autoptr(GPtrArray) list = values_of(process->by_function, FALSE);
    guint errors = 0, size_queries = 0;

    g_ptr_array_sort(list, compare_stats);
    printf("%-26s %8s %8s %8s %10s %10s %10s\n", "function", "calls", "errors", "size_q", "p50_us",
           "p95_us", "max_us");
    for (guint i = 0; i < list->len; i++) {
        FunctionStats *stats = g_ptr_array_index(list, i);
        GArray *d = stats->durations;

        g_array_sort(d, compare_gint64);
        printf("%-26s %8u %8u %8u %10" G_GINT64_FORMAT " %10" G_GINT64_FORMAT " %10" G_GINT64_FORMAT
               "\n",
               stats->name, d->len, stats->errors, stats->size_queries, percentile(d, 50),
               percentile(d, 95), g_array_index(d, gint64, d->len - 1));
        errors += stats->errors;
        size_queries += stats->size_queries;
    }
    printf("%-26s %8u %8u %8u\n", "total", process->calls, errors, size_queries);
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
print_errors(Process *process)
{
    g_autoptr(GPtrArray) keys = values_of(process->errors, TRUE);

    if (keys->len == 0) {
        printf("\nno errors\n");
        return;
    }
    g_ptr_array_sort(keys, compare_strings);
    printf("\n%-22s %-30s %-24s %-12s %6s\n", "errors: function", "rv", "mechanism", "backend",
           "count");
    for (guint i = 0; i < keys->len; i++) {
        const char *key = g_ptr_array_index(keys, i);
        g_auto(GStrv) fields = g_strsplit(key, "\t", 4);

        printf("%-22s %-30s %-24s %-12s %6u\n", fields[0], fields[1], fields[2], fields[3],
               GPOINTER_TO_UINT(g_hash_table_lookup(process->errors, key)));
    }
}

static void
print_summary(Summary *summary)
{
    for (guint i = 0; i < summary->processes->len; i++) {
        Process *process = g_ptr_array_index(summary->processes, i);

        printf("%sprocess %" G_GUINT64_FORMAT ": %u calls\n", i > 0 ? "\n" : "", process->pid,
               process->calls);
        print_functions(process);
        print_errors(process);
    }
    if (summary->processes->len == 0) {
        printf(summary->only_pid != 0 ? "no call of process %" G_GUINT64_FORMAT "\n" : "no calls\n",
               summary->only_pid);
    }
}

static int
summarize(const char *file, guint64 only_pid)
{
    Summary summary = {0};
    gboolean read_ok;
    FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "re");

    if (in == NULL) {
        p11mux_cli_error("trace-summary: cannot open %s: %s", file, g_strerror(errno));
        return P11MUX_EXIT_ERROR;
    }
    summary.processes = g_ptr_array_new_with_free_func(process_free);
    summary.only_pid = only_pid;
    read_ok = read_trace(&summary, in, file);
    if (in != stdin) {
        fclose(in);
    }
    if (read_ok) {
        print_summary(&summary);
    } else {
        p11mux_cli_error("trace-summary: cannot read %s", file);
    }
    if (summary.bad_lines > 0) {
        fprintf(stderr, "%s: %u lines were not trace records\n", file, summary.bad_lines);
    }
    g_ptr_array_unref(summary.processes);
    if (!read_ok) {
        return P11MUX_EXIT_ERROR;
    }
    return summary.bad_lines == 0 ? P11MUX_EXIT_OK : P11MUX_EXIT_NO;
}

int
p11mux_cli_trace_summary(int argc, char **argv)
{
    g_autofree char *pid = NULL;
    GOptionEntry entries[] = {
        {"pid", 'p', 0, G_OPTION_ARG_STRING, &pid, "Only the calls of process PID", "PID"},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("FILE");
    guint64 only_pid = 0;

    g_set_prgname("p11mux trace-summary");
    g_option_context_set_summary(
        context, "Read a trace (trace-format = json or text; FILE '-' is standard input) and "
                 "print, per process, calls, errors, size queries and latency p50/p95/max per "
                 "function, then the errors by function, return value, mechanism and backend.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!p11mux_cli_parse_options(context, &argc, &argv)) {
        return P11MUX_EXIT_USAGE;
    }
    if (argc != 2) {
        p11mux_cli_error("trace-summary: expected one FILE (see --help)");
        return P11MUX_EXIT_USAGE;
    }
    if (pid != NULL && (!g_ascii_string_to_unsigned(pid, 10, 1, G_MAXUINT64, &only_pid, NULL))) {
        p11mux_cli_error("trace-summary: '%s' is not a process id", pid);
        return P11MUX_EXIT_USAGE;
    }
    return summarize(argv[1], only_pid);
}
