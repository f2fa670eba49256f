/*
 * The session table: handles 0, past the end, high bits set, stale
 * generation and closed handles are all invalid; live ones route.
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
