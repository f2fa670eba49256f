/*
 * A backend tried in a forked child (probe.h).  The child builds the router
 * the module would build from a copy of the configuration in which only
 * that backend is enabled, and writes one line to a pipe: "loaded",
 * interface, slots, tokens; or "failed" and the reason.  The parent waits
 * for the line and the child's end, up to the timeout; a child that has not
 * answered by then is killed.  Nothing the backend does reaches the
 * command: not its exit status (the child's own), not its signals.
 */
#include "config.h"

#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "p11mux-functions.h"
#include "router.h"

void
p11mux_probe_free(P11muxProbe *probe)
{
    if (probe == NULL) {
        return;
    }
    g_free(probe->interface);
    g_free(probe->error);
    g_free(probe);
}

static guint
count_slots(P11muxRouter *router, CK_BBOOL token_present)
{
    GPtrArray *slots = NULL;
    guint n = 0;

    if (p11mux_router_slot_list(router, token_present, &slots) == CKR_OK) {
        n = slots->len;
        g_ptr_array_unref(slots);
    }
    return n;
}

/* In the child: the line that says what became of backend name. */
static char *
child_answer(P11muxConf *conf, const char *name)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *escaped = NULL;
    P11muxRouter *router;
    P11muxBackend *backend;
    guint i;

    for (i = 0; i < conf->backends->len; i++) {
        P11muxConfBackend *cb = g_ptr_array_index(conf->backends, i);

        cb->enabled = cb->enabled && strcmp(cb->name, name) == 0;
    }
    g_free(conf->trace);
    conf->trace = g_strdup("off");
    router = p11mux_router_new(conf, &p11mux_function_list, NULL, &error);
    if (router == NULL) {
        escaped = g_strescape(error->message, NULL);
        return g_strdup_printf("failed\t%s\n", escaped);
    }
    backend = p11mux_cli_find_backend(router->backends, name);
    if (backend != NULL) {
        return g_strdup_printf("loaded\t%s\t%u\t%u\n",
                               p11mux_backend_is_3_2(backend) ? "3.2" : p11mux_backend_is_3_0(backend) ? "3.0" : "2.40",
                               count_slots(router, CK_FALSE), count_slots(router, CK_TRUE));
    }
    backend = p11mux_cli_find_backend(router->skipped, name);
    escaped = g_strescape(backend != NULL && backend->error != NULL ? backend->error
                                                                    : "not loaded",
                          NULL);
    return g_strdup_printf("failed\t%s\n", escaped);
}

static void G_GNUC_NORETURN
run_child(int out, const P11muxConf *conf, const char *name)
{
    g_autofree char *line = NULL;
    const char *p;
    gsize left;

    /* the child's copy of the configuration is the child's to change */
    line = child_answer((P11muxConf *)conf, name);
    for (p = line, left = strlen(line); left > 0;) {
        ssize_t n = write(out, p, left);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        p += n;
        left -= (gsize)n;
    }
    /* no atexit handler of a backend's, no finalisation: the line is said */
    _exit(0);
}

/* Read the child's line until it ends, the pipe closes or deadline passes
 * (monotonic µs); FALSE on the deadline. */
static gboolean
read_answer(int in, GString *line, gint64 deadline)
{
    char chunk[512];

    for (;;) {
        gint64 left = deadline - g_get_monotonic_time();
        struct pollfd fd = {in, POLLIN, 0};
        int ready;
        ssize_t n;

        if (left <= 0) {
            return FALSE;
        }
        ready = poll(&fd, 1, (int)MIN(left / 1000 + 1, G_MAXINT));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return ready == 0 ? FALSE : TRUE;
        }
        n = read(in, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return TRUE; /* the child is gone, answered or not */
        }
        g_string_append_len(line, chunk, n);
        /* answered (a process the backend started may keep the pipe open) */
        if (g_str_has_suffix(line->str, "\n")) {
            return TRUE;
        }
    }
}

/* Wait for the child until deadline; kill it then.  FALSE: it was killed. */
static gboolean
reap(pid_t pid, int *status, gint64 deadline)
{
    for (;;) {
        pid_t done = waitpid(pid, status, WNOHANG);

        if (done == pid) {
            return TRUE;
        }
        if (done < 0 && errno != EINTR) {
            return TRUE;
        }
        if (g_get_monotonic_time() >= deadline) {
            kill(pid, SIGKILL);
            (void)waitpid(pid, status, 0);
            return FALSE;
        }
        g_usleep(2000);
    }
}

static void
parse_answer(P11muxProbe *probe, const char *line)
{
    g_auto(GStrv) fields = g_strsplit(line, "\t", -1);

    if (g_strv_length(fields) == 4 && strcmp(fields[0], "loaded") == 0) {
        probe->outcome = P11MUX_PROBE_LOADED;
        probe->interface = g_strdup(fields[1]);
        probe->slots = (guint)g_ascii_strtoull(fields[2], NULL, 10);
        probe->tokens = (guint)g_ascii_strtoull(fields[3], NULL, 10);
    } else if (g_strv_length(fields) == 2 && strcmp(fields[0], "failed") == 0) {
        probe->outcome = P11MUX_PROBE_FAILED;
        probe->error = g_strcompress(fields[1]);
    }
}

P11muxProbe *
p11mux_probe_backend(const P11muxConf *conf, const char *name, guint timeout_ms)
{
    P11muxProbe *probe = g_new0(P11muxProbe, 1);
    g_autoptr(GString) line = g_string_new(NULL);
    gint64 start = g_get_monotonic_time();
    gint64 deadline = start + (gint64)timeout_ms * 1000;
    gboolean answered, ended;
    int fds[2], status = 0;
    pid_t pid;

    fflush(NULL); /* the child must not repeat what stdio holds */
    if (pipe2(fds, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
        probe->outcome = P11MUX_PROBE_FAILED;
        probe->error = g_strdup_printf("cannot start a process to try it in: %s",
                                       g_strerror(errno));
        return probe;
    }
    if (pid == 0) {
        close(fds[0]);
        run_child(fds[1], conf, name);
    }
    close(fds[1]);
    answered = read_answer(fds[0], line, deadline);
    close(fds[0]);
    ended = reap(pid, &status, answered ? deadline : start);
    probe->elapsed_ms = (g_get_monotonic_time() - start) / 1000;
    if (g_str_has_suffix(line->str, "\n")) {
        g_string_truncate(line, line->len - 1);
        parse_answer(probe, line->str);
        if (probe->outcome == P11MUX_PROBE_LOADED || probe->outcome == P11MUX_PROBE_FAILED) {
            return probe;
        }
    }
    if (!answered || !ended) {
        probe->outcome = P11MUX_PROBE_HUNG;
    } else if (WIFSIGNALED(status)) {
        probe->outcome = P11MUX_PROBE_CRASHED;
        probe->signal = WTERMSIG(status);
    } else {
        probe->outcome = P11MUX_PROBE_EXITED;
        probe->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    return probe;
}

static char *
signal_name(int signal)
{
    const char *abbrev = sigabbrev_np(signal);

    return abbrev != NULL ? g_strdup_printf("SIG%s", abbrev) : g_strdup_printf("signal %d", signal);
}

char *
p11mux_probe_describe(const P11muxProbe *probe, guint timeout_ms)
{
    g_autofree char *name = NULL;

    switch (probe->outcome) {
    case P11MUX_PROBE_LOADED:
        return g_strdup_printf("loaded (interface %s, %u slots, %u with a token, %" G_GINT64_FORMAT
                               " ms)",
                               probe->interface, probe->slots, probe->tokens, probe->elapsed_ms);
    case P11MUX_PROBE_FAILED:
        return g_strdup_printf("failed: %s", probe->error);
    case P11MUX_PROBE_HUNG:
        return g_strdup_printf("hung (no answer within %u ms; the process trying it was killed)",
                               timeout_ms);
    case P11MUX_PROBE_CRASHED:
        name = signal_name(probe->signal);
        return g_strdup_printf("crashed (%s)", name);
    case P11MUX_PROBE_EXITED:
        return g_strdup_printf("exited (status %d) before answering", probe->status);
    }
    return g_strdup("?");
}
