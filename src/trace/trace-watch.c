/*
 * slow-call: one watchdog thread per trace that reports, while it runs, a
 * call still running slow_us after it entered p11mux (function, backend,
 * thread, time so far): a "slow" trace record and a message for the
 * administrator, once per call.
 *
 * Calls are watched from the enter seam to the end seam: each is linked
 * into the watch's queue through the GList inside its P11muxCall (no
 * allocation), under watch->lock.  The watchdog reads a watched call only
 * under that lock, and the call is unlinked under it before it returns, so
 * the call's frame outlives every read.  Lock order: watch->lock, then the
 * trace's lock (the watchdog writes records under its own lock); no backend
 * is called under either.
 */
#include "config.h"

#include "trace-decode.h"
#include "trace.h"

struct P11muxTraceWatch {
    GMutex lock;
    GCond wake;
    GQueue calls; /* P11muxCall*, linked through call->watch_link */
    gboolean stop;
    GThread *thread;
    P11muxTrace *trace;
    gint64 slow_us;
    void (*report)(const char *message);
};

/* What one look found: reported after the lock is dropped. */
typedef struct {
    const char *function; /* static strings: the function table's */
    char *backend;
    guint64 tid;
    gint64 running_us;
} SlowCall;

static void
report_slow(P11muxTraceWatch *watch, const SlowCall *slow)
{
    P11muxTraceEvent event = {.event = "slow",
                              .function = slow->function,
                              .backend = slow->backend,
                              .tid = slow->tid,
                              .duration_us = slow->running_us};
    g_autofree char *message = NULL;

    p11mux_trace_event(watch->trace, &event);
    if (watch->report == NULL) {
        return;
    }
    message = g_strdup_printf("slow-call: %s to backend '%s' in thread %" G_GUINT64_FORMAT
                              " still running after %.3f s",
                              slow->function, slow->backend != NULL ? slow->backend : "none",
                              slow->tid, (double)slow->running_us / G_USEC_PER_SEC);
    watch->report(message);
}

/* The calls past the threshold not yet reported, marked reported; the
 * monotonic time of the next one to become slow (G_MAXINT64: none). */
static GArray *
find_slow(P11muxTraceWatch *watch, gint64 now, gint64 *next)
{
    GArray *found = g_array_new(FALSE, FALSE, sizeof(SlowCall));
    GList *link;

    *next = G_MAXINT64;
    for (link = watch->calls.head; link != NULL; link = link->next) {
        P11muxCall *call = link->data;
        gint64 due = call->started + watch->slow_us;

        if (call->slow_reported) {
            continue;
        }
        if (due > now) {
            *next = MIN(*next, due);
            continue;
        }
        call->slow_reported = TRUE;
        g_array_append_val(found,
                           ((SlowCall){p11mux_functions[call->fn].name,
                                       g_strdup(call->backend != NULL ? call->backend->name : NULL),
                                       call->tid, now - call->started}));
    }
    return found;
}

static gpointer
watch_thread(gpointer data)
{
    P11muxTraceWatch *watch = data;

    g_mutex_lock(&watch->lock);
    while (!watch->stop) {
        gint64 next;
        GArray *found = find_slow(watch, g_get_monotonic_time(), &next);
        guint i;

        if (found->len > 0) {
            g_mutex_unlock(&watch->lock);
            for (i = 0; i < found->len; i++) {
                report_slow(watch, &g_array_index(found, SlowCall, i));
                g_free(g_array_index(found, SlowCall, i).backend);
            }
            g_mutex_lock(&watch->lock);
        } else if (!watch->stop) {
            /* woken by a new call, a stop, or when the next one is due */
            g_cond_wait_until(&watch->wake, &watch->lock, next);
        }
        g_array_unref(found);
    }
    g_mutex_unlock(&watch->lock);
    return NULL;
}

P11muxTraceWatch *
p11mux_trace_watch_new(P11muxTrace *trace, gint64 slow_us, void (*report)(const char *message))
{
    P11muxTraceWatch *watch = g_new0(P11muxTraceWatch, 1);
    g_autoptr(GError) error = NULL;

    g_mutex_init(&watch->lock);
    g_cond_init(&watch->wake);
    g_queue_init(&watch->calls);
    watch->trace = trace;
    watch->slow_us = slow_us;
    watch->report = report;
    watch->thread = g_thread_try_new("p11mux-slow-call", watch_thread, watch, &error);
    if (watch->thread == NULL) {
        if (report != NULL) {
            report("slow-call: no watchdog thread; calls are not watched");
        }
        p11mux_trace_watch_free(watch);
        return NULL;
    }
    return watch;
}

void
p11mux_trace_watch_free(P11muxTraceWatch *watch)
{
    if (watch == NULL) {
        return;
    }
    if (watch->thread != NULL) {
        g_mutex_lock(&watch->lock);
        watch->stop = TRUE;
        g_cond_signal(&watch->wake);
        g_mutex_unlock(&watch->lock);
        g_thread_join(watch->thread);
    }
    g_cond_clear(&watch->wake);
    g_mutex_clear(&watch->lock);
    g_free(watch);
}

void
p11mux_trace_watch_add(P11muxTraceWatch *watch, P11muxCall *call)
{
    call->tid = p11mux_trace_thread_id();
    call->slow_reported = FALSE;
    call->watch_link = (GList){call, NULL, NULL};
    g_mutex_lock(&watch->lock);
    g_queue_push_tail_link(&watch->calls, &call->watch_link);
    call->watched = TRUE;
    /* the watchdog may be sleeping until a later deadline than this one's */
    g_cond_signal(&watch->wake);
    g_mutex_unlock(&watch->lock);
}

void
p11mux_trace_watch_remove(P11muxTraceWatch *watch, P11muxCall *call)
{
    g_mutex_lock(&watch->lock);
    g_queue_unlink(&watch->calls, &call->watch_link);
    call->watched = FALSE;
    g_mutex_unlock(&watch->lock);
}
