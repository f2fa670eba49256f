/*
 * Backends that misbehave: the mock's misbehaviours themselves (hang,
 * sleep, segv, abort, exit, return in C_Initialize, C_GetSlotList and
 * C_DigestInit), and p11mux.so beside one of them: initialisation with a
 * deadline (init-timeout), a call abandoned at it, C_Finalize and a later
 * C_Initialize that do not wait for it, fork, and no threads.
 *
 * Each test runs in a child process of its own (Check's fork mode): a
 * thread abandoned in a hanging backend ends with that child.
 */
#include "config.h"

#include <valgrind/valgrind.h>

#include <check.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-helpers.h"
#include "module-fixture.h"
#include "p11mux-pkcs11.h"

/* A good backend, one slot whose token is "good-1". */
static const char *good_conf = "[mock]\n"
                               "[slot 1]\n"
                               "token-label = good-1\n";

/* ----------------------------------------------------------- helpers */

static double
seconds_since(gint64 start)
{
    return (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
}

/* The mock copy NAME.so with one misbehaviour (transfer full: its path). */
static char *
copy_misbehaving_mock(const char *name, const char *misbehave)
{
    g_autofree char *conf = g_strdup_printf("[mock]\nmisbehave = %s\n[slot 1]\n"
                                            "token-label = %s-1\n",
                                            misbehave, name);

    return fixture_copy_mock(name, conf);
}

/*
 * A p11mux configuration: [global] with init-timeout timeout (NULL: none),
 * then a backend per item, "NAME" or "NAME:critical" for NAME.so in the
 * temporary directory; P11MUX_CONF points at it.
 */
static void
use_p11mux_conf(const char *timeout, const char *const *backends)
{
    GString *text = g_string_new("[global]\nuser-config = none\n");
    g_autofree char *path = NULL;
    guint i;

    if (timeout != NULL) {
        g_string_append_printf(text, "init-timeout = %s\n", timeout);
    }
    for (i = 0; backends[i] != NULL; i++) {
        g_auto(GStrv) parts = g_strsplit(backends[i], ":", 2);
        g_autofree char *so_name = g_strdup_printf("%s.so", parts[0]);
        g_autofree char *so = fixture_path(so_name);

        g_string_append_printf(text, "[backend %s]\nmodule = %s\n", parts[0], so);
        if (parts[1] != NULL) {
            g_string_append(text, "critical = true\n");
        }
    }
    path = fixture_write("p11mux-misbehave.conf", text->str);
    g_setenv("P11MUX_CONF", path, TRUE);
    g_string_free(text, TRUE);
}

static CK_FUNCTION_LIST_PTR
load_p11mux(void)
{
    void *dl = fixture_load_p11mux();
    CK_C_GetFunctionList get_function_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR p11 = NULL;

    ck_assert_rv_ok(get_function_list(&p11));
    return p11;
}

/* Standard error goes to a file from now on; stderr_text() reads it. */
static char *stderr_file;

static void
capture_stderr(void)
{
    int fd;

    stderr_file = fixture_path("stderr.txt");
    fd = open(stderr_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
}

static char *
stderr_text(void)
{
    char *text = NULL;

    ck_assert(g_file_get_contents(stderr_file, &text, NULL, NULL));
    return text;
}

#define ck_assert_contains(HAYSTACK, NEEDLE)                                                       \
    ck_assert_msg(strstr((HAYSTACK), (NEEDLE)) != NULL, "'%s' not in:\n%s", (NEEDLE), (HAYSTACK))

static gboolean
has_slot_labelled(CK_FUNCTION_LIST_PTR p11, const char *label)
{
    CK_SLOT_ID slots[16];
    CK_ULONG count = G_N_ELEMENTS(slots), i;
    CK_TOKEN_INFO info;
    gsize length = strlen(label);

    ck_assert_rv_ok(p11->C_GetSlotList(CK_TRUE, slots, &count));
    for (i = 0; i < count; i++) {
        ck_assert_rv_ok(p11->C_GetTokenInfo(slots[i], &info));
        if (memcmp(info.label, label, length) == 0 && info.label[length] == ' ') {
            return TRUE;
        }
    }
    return FALSE;
}

/* ------------------------------------------------- the mock's misbehaviours */

typedef enum { ENDS_HANGING, ENDS_SIGNAL, ENDS_EXIT } Ending;

/* In a child: C_Initialize (unless fn is it), a session on slot 1 for
 * C_DigestInit, then fn itself; exits 0 if it returned expected (after at
 * least min_ms), else 1. */
static void G_GNUC_NORETURN
call_in_child(const char *so, const char *fn, CK_RV expected, int min_ms)
{
    void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get_function_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR m = NULL;
    CK_SESSION_HANDLE session;
    CK_MECHANISM mechanism = {CKM_SHA256, NULL, 0};
    CK_ULONG count = 0;
    gint64 start;
    CK_RV rv;

    if (get_function_list == NULL || get_function_list(&m) != CKR_OK) {
        _exit(3);
    }
    if (strcmp(fn, "C_Initialize") != 0 && m->C_Initialize(NULL) != CKR_OK) {
        _exit(4);
    }
    if (strcmp(fn, "C_DigestInit") == 0 &&
        m->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &session) != CKR_OK) {
        _exit(5);
    }
    start = g_get_monotonic_time();
    if (strcmp(fn, "C_Initialize") == 0) {
        rv = m->C_Initialize(NULL);
    } else if (strcmp(fn, "C_GetSlotList") == 0) {
        rv = m->C_GetSlotList(CK_FALSE, NULL, &count);
    } else {
        rv = m->C_DigestInit(session, &mechanism);
    }
    _exit(rv == expected && seconds_since(start) * 1000 >= min_ms ? 0 : 1);
}

/* Run call_in_child and check how the child ended: still hanging after
 * half a second (then killed), dead of signal what, or exited with what. */
static void
check_misbehaviour(const char *fn, const char *action, Ending ending, int what, CK_RV rv,
                   int min_ms)
{
    g_autofree char *name = g_strdup_printf("mis-%s-%s", fn, action);
    g_autofree char *rule = g_strdup_printf("%s:%s", fn, action);
    g_autofree char *so = NULL;
    int status = 0;
    pid_t pid;
    int waited;

    g_strdelimit(name, ":", '_');
    so = copy_misbehaving_mock(name, rule);
    /* nothing the child does not need is left to it (memcheck counts what
     * a child that exits holds no pointer to) */
    g_clear_pointer(&name, g_free);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        call_in_child(so, fn, rv, min_ms);
    }
    for (waited = 0; waited < 5000; waited += 10) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            break;
        }
        if (ending == ENDS_HANGING && waited >= 500) {
            kill(pid, SIGKILL);
            ck_assert_int_eq(waitpid(pid, &status, 0), pid);
            ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
            return;
        }
        g_usleep(10000);
    }
    ck_assert_msg(ending != ENDS_HANGING, "%s returned instead of hanging", rule);
    if (ending == ENDS_SIGNAL) {
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == what,
                      "%s: status 0x%x, expected signal %d", rule, status, what);
    } else {
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == what,
                      "%s: status 0x%x, expected exit %d", rule, status, what);
    }
}

static const char *const misbehaving_functions[] = {"C_Initialize", "C_GetSlotList",
                                                    "C_DigestInit"};

START_TEST(test_misbehave_mock_does_what_it_is_told)
{
    const char *fn = misbehaving_functions[_i];

    check_misbehaviour(fn, "hang", ENDS_HANGING, 0, CKR_OK, 0);
    check_misbehaviour(fn, "sleep:300", ENDS_EXIT, 0, CKR_OK, 300);
    check_misbehaviour(fn, "segv", ENDS_SIGNAL, SIGSEGV, CKR_OK, 0);
    check_misbehaviour(fn, "abort", ENDS_SIGNAL, SIGABRT, CKR_OK, 0);
    check_misbehaviour(fn, "exit:7", ENDS_EXIT, 7, CKR_OK, 0);
    check_misbehaviour(fn, "return:CKR_DEVICE_ERROR", ENDS_EXIT, 0, CKR_DEVICE_ERROR, 0);
}
END_TEST

START_TEST(test_misbehave_mock_refuses_a_bad_rule)
{
    g_autofree char *so = copy_misbehaving_mock("mis-bad", "C_Initialize:explode");
    g_autofree char *text = NULL;
    void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get_function_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR m = NULL;

    capture_stderr();
    ck_assert_rv_ok(get_function_list(&m));
    ck_assert_rv(m->C_Initialize(NULL), CKR_GENERAL_ERROR);
    text = stderr_text();
    ck_assert_contains(text, "misbehave");
}
END_TEST

/* ------------------------------------------------- p11mux beside them */

/* The figure the report quotes: how long C_Initialize took. */
static double
timed_initialize(CK_FUNCTION_LIST_PTR p11, CK_VOID_PTR args, CK_RV expected)
{
    gint64 start = g_get_monotonic_time();

    ck_assert_rv(p11->C_Initialize(args), expected);
    return seconds_since(start);
}

START_TEST(test_misbehave_hanging_backend_is_skipped_at_its_deadline)
{
    /* hanging in C_Initialize, in the first C_GetSlotList, or slower than
     * the deadline: each is skipped, the good backend's slot is there */
    static const char *const names[] = {"hang-init", "hang-slots", "sleep-init"};
    const char *const backends[] = {"good", names[_i], NULL};
    g_autofree char *text = NULL;
    CK_FUNCTION_LIST_PTR p11;
    double took;

    use_p11mux_conf("1s", backends);
    capture_stderr();
    p11 = load_p11mux();
    took = timed_initialize(p11, NULL, CKR_OK);
    printf("C_Initialize beside %s, init-timeout 1s: %.3f s\n", names[_i], took);
    ck_assert_msg(took >= 0.9 && took < 2.0, "C_Initialize took %.3f s", took);
    ck_assert(has_slot_labelled(p11, "good-1"));
    ck_assert(!has_slot_labelled(p11, "hang-init-1"));
    text = stderr_text();
    ck_assert_contains(text, "backend '");
    ck_assert_contains(text, names[_i]);
    ck_assert_contains(text, "init-timeout");
    ck_assert_rv_ok(p11->C_Finalize(NULL));
}
END_TEST

START_TEST(test_misbehave_finalize_and_reinitialize_do_not_wait)
{
    const char *const backends[] = {"good", "hang-init", NULL};
    g_autofree char *text = NULL;
    CK_FUNCTION_LIST_PTR p11;
    gint64 start;
    double took;

    use_p11mux_conf("500ms", backends);
    capture_stderr();
    p11 = load_p11mux();
    timed_initialize(p11, NULL, CKR_OK);
    start = g_get_monotonic_time();
    ck_assert_rv_ok(p11->C_Finalize(NULL));
    ck_assert_msg(seconds_since(start) < 0.3, "C_Finalize took %.3f s", seconds_since(start));
    /* the abandoned call is still running: skipped at once */
    took = timed_initialize(p11, NULL, CKR_OK);
    ck_assert_msg(took < 0.3, "the second C_Initialize took %.3f s", took);
    ck_assert(has_slot_labelled(p11, "good-1"));
    text = stderr_text();
    ck_assert_contains(text, "backend 'hang-init'");
    ck_assert_contains(text, "abandoned at its deadline, has not returned");
    ck_assert_rv_ok(p11->C_Finalize(NULL));
    /* and again, a few times */
    for (int i = 0; i < 3; i++) {
        ck_assert(timed_initialize(p11, NULL, CKR_OK) < 0.3);
        ck_assert(has_slot_labelled(p11, "good-1"));
        ck_assert_rv_ok(p11->C_Finalize(NULL));
    }
}
END_TEST

START_TEST(test_misbehave_critical_hanging_backend_fails_at_its_deadline)
{
    const char *const backends[] = {"good", "hang-init:critical", NULL};
    g_autofree char *text = NULL;
    CK_FUNCTION_LIST_PTR p11;
    double took;

    use_p11mux_conf("1s", backends);
    capture_stderr();
    p11 = load_p11mux();
    took = timed_initialize(p11, NULL, CKR_GENERAL_ERROR);
    ck_assert_msg(took >= 0.9 && took < 2.0, "C_Initialize took %.3f s", took);
    text = stderr_text();
    ck_assert_contains(text, "critical backend 'hang-init'");
    /* nothing half built stays: the good backend was finalised, a retry
     * skips the critical one at once and fails again */
    ck_assert_rv(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert(timed_initialize(p11, NULL, CKR_GENERAL_ERROR) < 0.3);
}
END_TEST

START_TEST(test_misbehave_per_backend_timeout_wins)
{
    /* [global] allows 200 ms, the slow backend its own 5 s: it is waited for */
    g_autofree char *so = fixture_path("sleep-init.so");
    g_autofree char *conf_text = g_strdup_printf("[global]\nuser-config = none\n"
                                                 "init-timeout = 200ms\n"
                                                 "[backend sleep-init]\nmodule = %s\n"
                                                 "init-timeout = 5\n",
                                                 so);
    g_autofree char *conf = fixture_write("per-backend.conf", conf_text);
    CK_FUNCTION_LIST_PTR p11;
    double took;

    g_setenv("P11MUX_CONF", conf, TRUE);
    p11 = load_p11mux();
    took = timed_initialize(p11, NULL, CKR_OK);
    ck_assert_msg(took >= 1.4, "C_Initialize took %.3f s", took);
    ck_assert(has_slot_labelled(p11, "sleep-init-1"));
    ck_assert_rv_ok(p11->C_Finalize(NULL));
}
END_TEST

START_TEST(test_misbehave_without_threads_there_is_no_deadline)
{
    const char *const backends[] = {"good", "sleep-init", NULL};
    CK_C_INITIALIZE_ARGS args = {0};
    CK_FUNCTION_LIST_PTR p11;
    double took;

    args.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS | CKF_OS_LOCKING_OK;
    use_p11mux_conf("200ms", backends);
    p11 = load_p11mux();
    took = timed_initialize(p11, &args, CKR_OK);
    ck_assert_msg(took >= 1.4, "C_Initialize took %.3f s", took);
    ck_assert(has_slot_labelled(p11, "good-1"));
    ck_assert(has_slot_labelled(p11, "sleep-init-1"));
    ck_assert_rv_ok(p11->C_Finalize(NULL));
}
END_TEST

START_TEST(test_misbehave_child_after_fork_never_uses_an_abandoned_backend)
{
    const char *const backends[] = {"good", "hang-init", NULL};
    CK_FUNCTION_LIST_PTR p11;
    int status = 0;
    pid_t pid;

#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer cannot start threads in the child of a process with
     * threads (p11mux's C_Initialize there does) */
    return;
#endif
    /* memcheck counts what the parent's initialisation thread held (its
     * GThread, its stack) as lost in the child, where fork() left no such
     * thread: the child is what this test is about, so it runs natively and
     * under the sanitizers, not under valgrind */
    if (RUNNING_ON_VALGRIND) {
        return;
    }
    use_p11mux_conf("500ms", backends);
    capture_stderr();
    p11 = load_p11mux();
    timed_initialize(p11, NULL, CKR_OK);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        g_autofree char *text = NULL;
        gboolean ok;

        /* the abandoned thread does not exist here */
        ok = timed_initialize(p11, NULL, CKR_OK) < 0.3 && has_slot_labelled(p11, "good-1");
        text = stderr_text();
        ok = ok && strstr(text, "when this process forked") != NULL;
        ok = ok && p11->C_Finalize(NULL) == CKR_OK;
        g_clear_pointer(&text, g_free);
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_rv_ok(p11->C_Finalize(NULL));
}
END_TEST

START_TEST(test_misbehave_failing_backend_is_named_with_its_code)
{
    const char *const backends[] = {"good", "fail-init", NULL};
    g_autofree char *text = NULL;
    CK_FUNCTION_LIST_PTR p11;

    use_p11mux_conf(NULL, backends);
    capture_stderr();
    p11 = load_p11mux();
    ck_assert(timed_initialize(p11, NULL, CKR_OK) < 1.0);
    text = stderr_text();
    ck_assert_contains(text, "backend 'fail-init'");
    ck_assert_contains(text, "C_Initialize failed: CKR_DEVICE_ERROR (0x30)");
    ck_assert_rv_ok(p11->C_Finalize(NULL));
}
END_TEST

/* ------------------------------------------------- the trace */

/* A configuration with a JSON trace into trace_name and extra [global]
 * lines, then the backends; P11MUX_CONF points at it; the trace's path. */
static char *
use_traced_conf(const char *trace_name, const char *extra, const char *const *backends)
{
    g_autofree char *trace = fixture_path(trace_name);
    GString *text = g_string_new(NULL);
    g_autofree char *path = NULL;
    guint i;

    g_unlink(trace);
    g_string_append_printf(text,
                           "[global]\nuser-config = none\ntrace = file:%s\n"
                           "trace-format = json\n%s",
                           trace, extra);
    for (i = 0; backends[i] != NULL; i++) {
        g_auto(GStrv) parts = g_strsplit(backends[i], ":", 2);
        g_autofree char *so_name = g_strdup_printf("%s.so", parts[0]);
        g_autofree char *so = fixture_path(so_name);

        g_string_append_printf(text, "[backend %s]\nmodule = %s\n%s", parts[0], so,
                               parts[1] != NULL ? "critical = true\n" : "");
    }
    path = fixture_write("p11mux-traced.conf", text->str);
    g_setenv("P11MUX_CONF", path, TRUE);
    g_string_free(text, TRUE);
    return g_steal_pointer(&trace);
}

/* The trace's lines (transfer full). */
static char **
trace_lines(const char *trace)
{
    g_autofree char *text = NULL;
    char **lines;
    guint n;

    ck_assert(g_file_get_contents(trace, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    n = g_strv_length(lines);
    if (n > 0 && *lines[n - 1] == '\0') {
        g_free(lines[n - 1]);
        lines[n - 1] = NULL;
    }
    return lines;
}

/* The first line holding all of the NULL-terminated fragments; -1 if none. */
static int find_line(char **lines, ...) G_GNUC_NULL_TERMINATED;

static int
find_line(char **lines, ...)
{
    for (int i = 0; lines[i] != NULL; i++) {
        gboolean all = TRUE;
        const char *fragment;
        va_list ap;

        va_start(ap, lines);
        while ((fragment = va_arg(ap, const char *)) != NULL) {
            all = all && strstr(lines[i], fragment) != NULL;
        }
        va_end(ap);
        if (all) {
            return i;
        }
    }
    return -1;
}

/* In a child: initialise, open a session on hang-digest's token and call
 * C_DigestInit, which hangs there. */
static void G_GNUC_NORETURN
hang_in_digest(void)
{
    CK_FUNCTION_LIST_PTR p11 = load_p11mux();
    CK_MECHANISM mechanism = {CKM_SHA256, NULL, 0};
    CK_SESSION_HANDLE session;

    if (p11->C_Initialize(NULL) != CKR_OK ||
        p11->C_OpenSession(fixture_slot_by_label(p11, "hang-digest-1"), CKF_SERIAL_SESSION, NULL,
                           NULL, &session) != CKR_OK) {
        _exit(3);
    }
    p11->C_DigestInit(session, &mechanism);
    _exit(4);
}

/* Run hang_in_digest in a child; kill it after a second. */
static void
run_hanging_client(void)
{
    int status = 0;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        hang_in_digest();
    }
    g_usleep(G_USEC_PER_SEC);
    ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0); /* still hanging */
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

START_TEST(test_misbehave_trace_entry_names_the_hung_call)
{
    const char *const backends[] = {"good", "hang-digest", NULL};
    g_autofree char *trace = use_traced_conf("entry.json", "trace-entry = true\n", backends);
    g_auto(GStrv) lines = NULL;
    guint n;

    run_hanging_client();
    lines = trace_lines(trace);
    n = g_strv_length(lines);
    ck_assert_uint_gt(n, 0);
    /* the last line: the entry record of the hung call, naming its backend */
    ck_assert_contains(lines[n - 1], "\"function\":\"C_DigestInit\"");
    ck_assert_contains(lines[n - 1], "\"event\":\"enter\"");
    ck_assert_contains(lines[n - 1], "\"backend\":\"hang-digest\"");
    ck_assert_contains(lines[n - 1], "CKM_SHA256");
    ck_assert(strstr(lines[n - 1], "\"rv\"") == NULL);
    /* the calls before it have their entry and their return records */
    ck_assert_int_ge(find_line(lines, "\"C_OpenSession\"", "\"event\":\"enter\"", NULL), 0);
    ck_assert_int_ge(find_line(lines, "\"C_OpenSession\"", "\"rv\":\"CKR_OK\"", NULL), 0);
}
END_TEST

START_TEST(test_misbehave_slow_call_is_reported_while_it_runs)
{
    const char *const backends[] = {"good", "hang-digest", NULL};
    g_autofree char *trace = use_traced_conf("slow.json", "slow-call = 300ms\n", backends);
    g_auto(GStrv) lines = NULL;
    g_autofree char *text = NULL;
    int slow;

    capture_stderr();
    run_hanging_client();
    lines = trace_lines(trace);
    slow = find_line(lines, "\"event\":\"slow\"", "\"function\":\"C_DigestInit\"",
                     "\"backend\":\"hang-digest\"", "\"running_us\":", NULL);
    ck_assert_msg(slow >= 0, "no slow record in the trace");
    text = stderr_text();
    ck_assert_contains(text, "slow-call: C_DigestInit to backend 'hang-digest' in thread ");
    ck_assert_contains(text, "still running after 0.");
}
END_TEST

START_TEST(test_misbehave_slow_call_works_without_a_trace)
{
    /* trace = off: the watch alone, messages only */
    g_autofree char *conf_text = NULL;
    g_autofree char *good = fixture_path("good.so");
    g_autofree char *hang = fixture_path("hang-digest.so");
    g_autofree char *conf = NULL;
    g_autofree char *text = NULL;

    conf_text = g_strdup_printf("[global]\nuser-config = none\nslow-call = 300ms\n"
                                "[backend good]\nmodule = %s\n[backend hang-digest]\nmodule = %s\n",
                                good, hang);
    conf = fixture_write("slow-untraced.conf", conf_text);
    g_setenv("P11MUX_CONF", conf, TRUE);
    capture_stderr();
    run_hanging_client();
    text = stderr_text();
    ck_assert_contains(text, "slow-call: C_DigestInit to backend 'hang-digest'");
}
END_TEST

START_TEST(test_misbehave_initialisation_is_in_the_trace)
{
    const char *const backends[] = {"good", "hang-init", "fail-init", NULL};
    g_autofree char *trace = use_traced_conf("init.json", "init-timeout = 500ms\n", backends);
    g_auto(GStrv) lines = NULL;
    CK_FUNCTION_LIST_PTR p11;

    capture_stderr();
    p11 = load_p11mux();
    ck_assert_rv_ok(p11->C_Initialize(NULL));
    ck_assert_rv_ok(p11->C_Finalize(NULL));
    lines = trace_lines(trace);
    ck_assert_int_ge(find_line(lines, "\"event\":\"backend\"", "\"backend\":\"good\"",
                               "\"outcome\":\"loaded\"", "interface 3.0, 1 slots",
                               "\"duration_us\":", NULL),
                     0);
    ck_assert_int_ge(find_line(lines, "\"event\":\"backend\"", "\"backend\":\"hang-init\"",
                               "\"outcome\":\"timed-out\"", "init-timeout", NULL),
                     0);
    ck_assert_int_ge(find_line(lines, "\"event\":\"backend\"", "\"backend\":\"fail-init\"",
                               "\"outcome\":\"skipped\"", "CKR_DEVICE_ERROR (0x30)", NULL),
                     0);
    ck_assert_int_ge(find_line(lines, "\"function\":\"C_Initialize\"", "\"rv\":\"CKR_OK\"", NULL),
                     0);
}
END_TEST

START_TEST(test_misbehave_failing_initialisation_leaves_a_trace)
{
    const char *const backends[] = {"good", "hang-init:critical", NULL};
    g_autofree char *trace = use_traced_conf("init-fail.json", "init-timeout = 500ms\n", backends);
    g_auto(GStrv) lines = NULL;
    CK_FUNCTION_LIST_PTR p11;

    capture_stderr();
    p11 = load_p11mux();
    ck_assert_rv(p11->C_Initialize(NULL), CKR_GENERAL_ERROR);
    lines = trace_lines(trace);
    ck_assert_int_ge(find_line(lines, "\"backend\":\"good\"", "\"outcome\":\"loaded\"", NULL), 0);
    ck_assert_int_ge(
        find_line(lines, "\"backend\":\"hang-init\"", "\"outcome\":\"timed-out\"", NULL), 0);
    ck_assert_int_ge(
        find_line(lines, "\"event\":\"init-error\"", "critical backend 'hang-init'", NULL), 0);
}
END_TEST

/* The mocks, made once in the parent (an unchecked fixture: Check's
 * assertions work there); each test forks. */
static void
make_mocks(void)
{
    static gboolean made;

    if (made) {
        return;
    }
    made = TRUE;
    g_free(fixture_copy_mock("good", good_conf));
    g_free(copy_misbehaving_mock("hang-init", "C_Initialize:hang"));
    g_free(copy_misbehaving_mock("hang-slots", "C_GetSlotList:hang"));
    g_free(copy_misbehaving_mock("sleep-init", "C_Initialize:sleep:1500"));
    g_free(copy_misbehaving_mock("fail-init", "C_Initialize:return:CKR_DEVICE_ERROR"));
    g_free(copy_misbehaving_mock("hang-digest", "C_DigestInit:hang"));
}

static Suite *
misbehave_suite(void)
{
    Suite *s = suite_create("misbehave");
    TCase *mock = tcase_create("mock");
    TCase *module = tcase_create("module");

    tcase_add_unchecked_fixture(mock, make_mocks, NULL);
    tcase_add_unchecked_fixture(module, make_mocks, NULL);
    tcase_set_timeout(mock, 60);
    tcase_add_loop_test(mock, test_misbehave_mock_does_what_it_is_told, 0,
                        G_N_ELEMENTS(misbehaving_functions));
    tcase_add_test(mock, test_misbehave_mock_refuses_a_bad_rule);
    suite_add_tcase(s, mock);
    tcase_set_timeout(module, 30);
    tcase_add_loop_test(module, test_misbehave_hanging_backend_is_skipped_at_its_deadline, 0, 3);
    tcase_add_test(module, test_misbehave_finalize_and_reinitialize_do_not_wait);
    tcase_add_test(module, test_misbehave_critical_hanging_backend_fails_at_its_deadline);
    tcase_add_test(module, test_misbehave_per_backend_timeout_wins);
    tcase_add_test(module, test_misbehave_without_threads_there_is_no_deadline);
    tcase_add_test(module, test_misbehave_child_after_fork_never_uses_an_abandoned_backend);
    tcase_add_test(module, test_misbehave_failing_backend_is_named_with_its_code);
    tcase_add_test(module, test_misbehave_trace_entry_names_the_hung_call);
    tcase_add_test(module, test_misbehave_slow_call_is_reported_while_it_runs);
    tcase_add_test(module, test_misbehave_slow_call_works_without_a_trace);
    tcase_add_test(module, test_misbehave_initialisation_is_in_the_trace);
    tcase_add_test(module, test_misbehave_failing_initialisation_leaves_a_trace);
    suite_add_tcase(s, module);
    return s;
}

int
main(void)
{
    SRunner *runner = srunner_create(misbehave_suite());
    int failed;

    srunner_set_fork_status(runner, CK_FORK);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    fixture_cleanup();
    return failed == 0 ? 0 : 1;
}
