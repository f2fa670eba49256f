/*
 * The session table: handles 0, past the end, high bits set, stale
 * generation and closed handles are all invalid; live ones route.  Threads
 * open and close concurrently without sharing a cache line, handles stay
 * unique, and a handle closed by several threads at once is given back once.
 */
#include "config.h"

#include <check.h>
#include <glib.h>

#include "sessions.h"

static P11muxSlot slot_a = {11, 1, NULL, NULL};
static P11muxSlot slot_b = {22, 2, NULL, NULL};

static gboolean
live(P11muxSessions *sessions, CK_SESSION_HANDLE handle)
{
    const P11muxSlot *slot;
    CK_SESSION_HANDLE real;

    return p11mux_sessions_lookup(sessions, handle, &slot, &real, NULL);
}

START_TEST(test_sessions_handles_route_to_their_backend_session)
{
    g_autoptr(P11muxSessions) sessions = p11mux_sessions_new();
    CK_SESSION_HANDLE h1 = p11mux_sessions_add(sessions, &slot_a, 0x1000, CKF_SERIAL_SESSION);
    CK_SESSION_HANDLE h2 = p11mux_sessions_add(sessions, &slot_b, 0x1000, CKF_RW_SESSION);
    const P11muxSlot *slot;
    CK_SESSION_HANDLE real;
    CK_FLAGS flags;

    ck_assert_uint_ne(h1, 0);
    ck_assert_uint_ne(h1, h2);
    ck_assert(p11mux_sessions_lookup(sessions, h2, &slot, &real, &flags));
    ck_assert_ptr_eq(slot, &slot_b);
    ck_assert_uint_eq(real, 0x1000);
    ck_assert_uint_eq(flags, CKF_RW_SESSION);
    ck_assert(p11mux_sessions_lookup(sessions, h1, &slot, &real, &flags));
    ck_assert_ptr_eq(slot, &slot_a);
    ck_assert_uint_le(h1, G_MAXUINT32);
    ck_assert_uint_eq(p11mux_sessions_count(sessions), 2);
}
END_TEST

START_TEST(test_sessions_invalid_handles_are_refused)
{
    g_autoptr(P11muxSessions) sessions = p11mux_sessions_new();
    CK_SESSION_HANDLE h = p11mux_sessions_add(sessions, &slot_a, 5, 0);
    CK_SESSION_HANDLE index = h & P11MUX_SESSIONS_MAX;

    ck_assert(!live(sessions, 0));
    /* the first index past the end, with a plausible generation */
    ck_assert(!live(sessions, h + 1));
    ck_assert(!live(sessions, (h & ~(CK_SESSION_HANDLE)P11MUX_SESSIONS_MAX) | P11MUX_SESSIONS_MAX));
    /* high bits set */
    ck_assert(!live(sessions, h | (G_GUINT64_CONSTANT(1) << 40)));
    ck_assert(!live(sessions, h | (G_GUINT64_CONSTANT(1) << 63)));
    ck_assert(!live(sessions, (CK_SESSION_HANDLE)-1));
    /* the bare index (generation 0) and a wrong generation */
    ck_assert(!live(sessions, index));
    ck_assert(!live(sessions, h + (1u << P11MUX_SESSIONS_INDEX_BITS)));
    ck_assert(live(sessions, h));
}
END_TEST

START_TEST(test_sessions_closed_and_stale_handles_are_refused)
{
    g_autoptr(P11muxSessions) sessions = p11mux_sessions_new();
    CK_SESSION_HANDLE first = p11mux_sessions_add(sessions, &slot_a, 5, 0);
    guint i;

    ck_assert(p11mux_sessions_remove(sessions, first));
    ck_assert(!live(sessions, first));
    ck_assert(!p11mux_sessions_remove(sessions, first));
    /* reuse every entry many times: the old handle never comes back to life */
    for (i = 0; i < 3000; i++) {
        CK_SESSION_HANDLE h = p11mux_sessions_add(sessions, &slot_a, i, 0);

        ck_assert_uint_ne(h, first);
        ck_assert(!live(sessions, first));
        ck_assert(p11mux_sessions_remove(sessions, h));
    }
    ck_assert_uint_eq(p11mux_sessions_count(sessions), 0);
}
END_TEST

START_TEST(test_sessions_on_slot_lists_only_that_slot)
{
    g_autoptr(P11muxSessions) sessions = p11mux_sessions_new();
    CK_SESSION_HANDLE a1 = p11mux_sessions_add(sessions, &slot_a, 1, 0);
    CK_SESSION_HANDLE b1 = p11mux_sessions_add(sessions, &slot_b, 2, 0);
    CK_SESSION_HANDLE a2 = p11mux_sessions_add(sessions, &slot_a, 3, 0);
    g_autoptr(GArray) on_a = NULL;
    g_autoptr(GArray) all = NULL;

    p11mux_sessions_remove(sessions, a2);
    on_a = p11mux_sessions_on_slot(sessions, &slot_a);
    ck_assert_uint_eq(on_a->len, 1);
    ck_assert_uint_eq(g_array_index(on_a, CK_SESSION_HANDLE, 0), a1);
    all = p11mux_sessions_on_slot(sessions, NULL);
    ck_assert_uint_eq(all->len, 2);
    ck_assert(live(sessions, b1));
}
END_TEST

typedef struct {
    P11muxSessions *sessions;
    CK_SESSION_HANDLE watched;
    gint stop;
    guint errors;
} Race;

static gpointer
churn(gpointer data)
{
    Race *race = data;
    guint i;

    for (i = 0; i < 20000; i++) {
        CK_SESSION_HANDLE h = p11mux_sessions_add(race->sessions, &slot_b, i, 0);

        p11mux_sessions_remove(race->sessions, h);
    }
    g_atomic_int_set(&race->stop, 1);
    return NULL;
}

/* Lookups racing with opens and closes on other entries never see a wrong entry. */
START_TEST(test_sessions_lookup_races_with_churn)
{
    g_autoptr(P11muxSessions) sessions = p11mux_sessions_new();
    Race race = {sessions, 0, 0, 0};
    GThread *thread;

    race.watched = p11mux_sessions_add(sessions, &slot_a, 77, 0);
    thread = g_thread_new("churn", churn, &race);
    while (!g_atomic_int_get(&race.stop)) {
        const P11muxSlot *slot;
        CK_SESSION_HANDLE real;

        if (!p11mux_sessions_lookup(sessions, race.watched, &slot, &real, NULL) || real != 77 ||
            slot != &slot_a) {
            race.errors++;
        }
    }
    g_thread_join(thread);
    ck_assert_uint_eq(race.errors, 0);
}
END_TEST

/* ------------------------------------------------------------ threads */

#define N_THREADS 4

/* Two threads opening at the same time write entries in different chunks
 * (so on different cache lines, and in different shards). */
typedef struct {
    P11muxSessions *sessions;
    gint *opened; /* threads that have opened: each holds its session until all have */
    CK_SESSION_HANDLE handle;
} Opener;

static gpointer
open_and_wait(gpointer data)
{
    Opener *opener = data;

    opener->handle = p11mux_sessions_add(opener->sessions, &slot_a, 1, 0);
    g_atomic_int_inc(opener->opened);
    while (g_atomic_int_get(opener->opened) < N_THREADS) {
        g_thread_yield();
    }
    ck_assert(p11mux_sessions_remove(opener->sessions, opener->handle));
    return NULL;
}

START_TEST(test_sessions_threads_open_on_lines_of_their_own)
{
    g_autoptr(P11muxSessions) sessions = p11mux_sessions_new();
    gint opened = 0;
    Opener openers[N_THREADS];
    GThread *threads[N_THREADS];
    guint i, j;

    for (i = 0; i < N_THREADS; i++) {
        openers[i] = (Opener){sessions, &opened, 0};
        threads[i] = g_thread_new("opener", open_and_wait, &openers[i]);
    }
    for (i = 0; i < N_THREADS; i++) {
        g_thread_join(threads[i]);
    }
    for (i = 0; i < N_THREADS; i++) {
        ck_assert_uint_ne(openers[i].handle, 0);
        for (j = 0; j < i; j++) {
            guint a = openers[i].handle & P11MUX_SESSIONS_MAX;
            guint b = openers[j].handle & P11MUX_SESSIONS_MAX;

            ck_assert_uint_ne(a >> P11MUX_SESSIONS_CHUNK_BITS, b >> P11MUX_SESSIONS_CHUNK_BITS);
            ck_assert_uint_ne((a >> P11MUX_SESSIONS_CHUNK_BITS) % P11MUX_SESSIONS_N_SHARDS,
                              (b >> P11MUX_SESSIONS_CHUNK_BITS) % P11MUX_SESSIONS_N_SHARDS);
        }
    }
    ck_assert_uint_eq(p11mux_sessions_count(sessions), 0);
}
END_TEST

/* Each thread opens up to WINDOW sessions, checks them, closes them in a
 * scrambled order and checks the closed ones are refused. */
#define CHURN_OPENS 20000
#define WINDOW 7

typedef struct {
    P11muxSessions *sessions;
    guint id;
    CK_SESSION_HANDLE issued[CHURN_OPENS];
    guint n_issued;
    guint errors;
} Churner;

static void
check_live(Churner *c, CK_SESSION_HANDLE handle, CK_SESSION_HANDLE real)
{
    const P11muxSlot *slot;
    CK_SESSION_HANDLE got;
    CK_FLAGS flags;

    if (!p11mux_sessions_lookup(c->sessions, handle, &slot, &got, &flags) || got != real ||
        slot != &slot_b || flags != c->id || handle == 0 || handle > G_MAXUINT32) {
        c->errors++;
    }
}

static void
close_checked(Churner *c, CK_SESSION_HANDLE handle)
{
    if (!p11mux_sessions_remove(c->sessions, handle) || live(c->sessions, handle) ||
        p11mux_sessions_remove(c->sessions, handle)) {
        c->errors++;
    }
}

static gpointer
churn_window(gpointer data)
{
    Churner *c = data;
    CK_SESSION_HANDLE open[WINDOW];
    guint n_open = 0, round = 0;

    while (c->n_issued < CHURN_OPENS) {
        guint want = 1 + (round * 5 + c->id) % WINDOW;

        while (n_open < want && c->n_issued < CHURN_OPENS) {
            CK_SESSION_HANDLE real = ((CK_SESSION_HANDLE)c->id << 24) | c->n_issued;
            CK_SESSION_HANDLE h = p11mux_sessions_add(c->sessions, &slot_b, real, c->id);

            c->issued[c->n_issued++] = h;
            open[n_open++] = h;
            check_live(c, h, real);
        }
        while (n_open > want / 2) {
            guint pick = (round * 3) % n_open;

            close_checked(c, open[pick]);
            open[pick] = open[--n_open];
        }
        round++;
    }
    while (n_open > 0) {
        close_checked(c, open[--n_open]);
    }
    return NULL;
}

static int
compare_handles(gconstpointer a, gconstpointer b)
{
    CK_SESSION_HANDLE x = *(const CK_SESSION_HANDLE *)a, y = *(const CK_SESSION_HANDLE *)b;

    return x < y ? -1 : x > y;
}

START_TEST(test_sessions_concurrent_open_close_keeps_handles_unique)
{
    g_autoptr(P11muxSessions) sessions = p11mux_sessions_new();
    g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(CK_SESSION_HANDLE));
    g_autoptr(GArray) left = NULL;
    Churner *churners = g_new0(Churner, N_THREADS);
    GThread *threads[N_THREADS];
    guint i;

    for (i = 0; i < N_THREADS; i++) {
        churners[i].sessions = sessions;
        churners[i].id = i + 1;
        threads[i] = g_thread_new("churner", churn_window, &churners[i]);
    }
    for (i = 0; i < N_THREADS; i++) {
        g_thread_join(threads[i]);
        ck_assert_uint_eq(churners[i].errors, 0);
        ck_assert_uint_eq(churners[i].n_issued, CHURN_OPENS);
        g_array_append_vals(all, churners[i].issued, churners[i].n_issued);
    }
    g_free(churners);
    /* no handle was given out twice, and every one of them is refused now */
    g_array_sort(all, compare_handles);
    for (i = 0; i < all->len; i++) {
        CK_SESSION_HANDLE h = g_array_index(all, CK_SESSION_HANDLE, i);

        ck_assert_uint_ne(h, 0);
        ck_assert(i == 0 || h != g_array_index(all, CK_SESSION_HANDLE, i - 1));
        ck_assert(!live(sessions, h));
    }
    ck_assert_uint_eq(p11mux_sessions_count(sessions), 0);
    left = p11mux_sessions_on_slot(sessions, NULL);
    ck_assert_uint_eq(left->len, 0);
}
END_TEST

/* Several threads closing the same handles at once: each handle is closed
 * by exactly one of them, and its entry is given back once. */
#define CONTESTED 2000

typedef struct {
    P11muxSessions *sessions;
    CK_SESSION_HANDLE *handles;
    gint *closed; /* per handle: how many removes succeeded */
} Closers;

static gpointer
close_all_of_them(gpointer data)
{
    Closers *closers = data;
    guint i;

    for (i = 0; i < CONTESTED; i++) {
        if (p11mux_sessions_remove(closers->sessions, closers->handles[i])) {
            g_atomic_int_inc(&closers->closed[i]);
        }
    }
    return NULL;
}

START_TEST(test_sessions_racing_closes_close_once)
{
    g_autoptr(P11muxSessions) sessions = p11mux_sessions_new();
    g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
    CK_SESSION_HANDLE *handles = g_new0(CK_SESSION_HANDLE, 2 * CONTESTED);
    Closers closers = {sessions, handles, g_new0(gint, CONTESTED)};
    GThread *threads[N_THREADS];
    guint i;

    for (i = 0; i < CONTESTED; i++) {
        handles[i] = p11mux_sessions_add(sessions, &slot_a, i, 0);
    }
    for (i = 0; i < N_THREADS; i++) {
        threads[i] = g_thread_new("closer", close_all_of_them, &closers);
    }
    for (i = 0; i < N_THREADS; i++) {
        g_thread_join(threads[i]);
    }
    for (i = 0; i < CONTESTED; i++) {
        ck_assert_int_eq(closers.closed[i], 1);
    }
    ck_assert_uint_eq(p11mux_sessions_count(sessions), 0);
    /* every entry came back once: opening as many again reuses them, uniquely */
    for (i = CONTESTED; i < 2 * CONTESTED; i++) {
        handles[i] = p11mux_sessions_add(sessions, &slot_a, i, 0);
    }
    for (i = 0; i < 2 * CONTESTED; i++) {
        ck_assert_uint_ne(handles[i], 0);
        ck_assert(g_hash_table_add(seen, &handles[i]));
    }
    ck_assert_uint_eq(p11mux_sessions_count(sessions), CONTESTED);
    g_free(closers.closed);
    g_free(handles);
}
END_TEST

/* One thread opening more sessions than one shard holds moves on to the next. */
START_TEST(test_sessions_one_thread_fills_more_than_a_shard)
{
    g_autoptr(P11muxSessions) sessions = p11mux_sessions_new();
    guint per_shard = (P11MUX_SESSIONS_MAX + 1) / P11MUX_SESSIONS_N_SHARDS;
    guint n = per_shard + per_shard / 2, i;
    CK_SESSION_HANDLE *handles = g_new0(CK_SESSION_HANDLE, n);
    g_autoptr(GArray) all = NULL;

    for (i = 0; i < n; i++) {
        handles[i] = p11mux_sessions_add(sessions, &slot_a, i, 0);
        ck_assert_uint_ne(handles[i], 0);
    }
    ck_assert_uint_eq(p11mux_sessions_count(sessions), n);
    all = p11mux_sessions_on_slot(sessions, &slot_a);
    ck_assert_uint_eq(all->len, n);
    for (i = 0; i < n; i++) {
        const P11muxSlot *slot;
        CK_SESSION_HANDLE real;

        ck_assert(p11mux_sessions_lookup(sessions, handles[i], &slot, &real, NULL));
        ck_assert_uint_eq(real, i);
        ck_assert(p11mux_sessions_remove(sessions, handles[i]));
    }
    ck_assert_uint_eq(p11mux_sessions_count(sessions), 0);
    g_free(handles);
}
END_TEST

static Suite *
sessions_suite(void)
{
    Suite *s = suite_create("sessions");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_sessions_handles_route_to_their_backend_session);
    tcase_add_test(tc, test_sessions_invalid_handles_are_refused);
    tcase_add_test(tc, test_sessions_closed_and_stale_handles_are_refused);
    tcase_add_test(tc, test_sessions_on_slot_lists_only_that_slot);
    tcase_add_test(tc, test_sessions_lookup_races_with_churn);
    tcase_add_test(tc, test_sessions_threads_open_on_lines_of_their_own);
    tcase_add_test(tc, test_sessions_concurrent_open_close_keeps_handles_unique);
    tcase_add_test(tc, test_sessions_racing_closes_close_once);
    tcase_add_test(tc, test_sessions_one_thread_fills_more_than_a_shard);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *runner = srunner_create(sessions_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
