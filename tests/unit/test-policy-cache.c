/*
 * Unit tests of what the policy engine remembers about objects
 * (src/policy/policy-cache.c): the lock-free verdict tables a filtered
 * C_FindObjects reads, and every way they are invalidated — an object
 * changed or destroyed (in every session on its backend, not on another
 * backend), a session ended, the sessions of a slot closed, the session
 * objects of a backend when one of its sessions ends, a reading that raced
 * a change, a session handle that came back on another slot — as they grow
 * and start again, and while other threads read them.
 */
#include "config.h"

#include <check.h>
#include <glib.h>

#include "check-helpers.h"
#include "policy-private.h"

/* Two backends; slots 1 and 2 on backend x, slot 3 on backend y. */
static P11muxBackend backend_x, backend_y;
static P11muxSlot slot_1 = {1, 1, &backend_x, NULL};
static P11muxSlot slot_2 = {2, 2, &backend_x, NULL};
static P11muxSlot slot_3 = {3, 1, &backend_y, NULL};

enum { S1 = 0x100001, S2 = 0x100002, S3 = 0x100003 };

typedef enum {
    SHOWN = 1 << 0,   /* visible */
    KEY = 1 << 1,     /* a secret key, sensitive (guarded) */
    ON_TOKEN = 1 << 2 /* a token object, else a session object */
} Kind;

static P11muxObjectInfo *
info_new(Kind kind)
{
    P11muxObjectInfo *info = g_atomic_rc_box_new0(P11muxObjectInfo);

    info->klass = (kind & KEY) ? CKO_SECRET_KEY : CKO_DATA;
    info->key_type = CK_UNAVAILABLE_INFORMATION;
    info->token = (kind & ON_TOKEN) ? 1 : 0;
    info->sensitive = (kind & KEY) ? 1 : -1;
    info->extractable = (kind & KEY) ? 0 : -1;
    info->visible = (kind & SHOWN) != 0;
    return info;
}

static gboolean
put(P11muxPolicyCache *cache, CK_SESSION_HANDLE session, const P11muxSlot *slot,
    CK_OBJECT_HANDLE object, Kind kind)
{
    P11muxObjectInfo *info = info_new(kind);
    gboolean stored = p11mux_policy_cache_put(cache, session, slot, object, info,
                                              p11mux_policy_cache_epoch(cache));

    p11mux_object_info_unref(info);
    return stored;
}

/* What a search of handles in session shows: "shown" (a list of handles, in
 * order) until the first handle the cache does not know; -1 ends handles. */
typedef struct {
    CK_ULONG judged;
    CK_ULONG kept;
    CK_OBJECT_HANDLE out[64];
} Search;

static Search
search(P11muxPolicyCache *cache, CK_SESSION_HANDLE session, gboolean guard,
       const CK_OBJECT_HANDLE *handles, CK_ULONG n)
{
    Search result = {0};

    ck_assert_uint_le(n, G_N_ELEMENTS(result.out));
    result.judged =
        p11mux_policy_cache_filter(cache, session, handles, n, guard, result.out, &result.kept);
    return result;
}

/* Whether the cache knows handle in session (and, then, shows it). */
static gboolean
knows(P11muxPolicyCache *cache, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE handle)
{
    return search(cache, session, FALSE, &handle, 1).judged == 1;
}

static gboolean
shows(P11muxPolicyCache *cache, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE handle)
{
    Search result = search(cache, session, FALSE, &handle, 1);

    return result.judged == 1 && result.kept == 1 && result.out[0] == handle;
}

/* ------------------------------------------------------------ verdicts */

START_TEST(test_policy_cache_filter_keeps_order_and_stops_at_unknown)
{
    g_autoptr(P11muxPolicyCache) cache = p11mux_policy_cache_new();
    const CK_OBJECT_HANDLE batch[] = {0x10, 0x11, 0x12, 0x13, 0x14};
    Search result;

    ck_assert_uint_eq(search(cache, S1, FALSE, batch, 5).judged, 0); /* no entry at all */
    put(cache, S1, &slot_1, 0x10, SHOWN);
    put(cache, S1, &slot_1, 0x11, 0);
    put(cache, S1, &slot_1, 0x12, SHOWN | KEY);
    put(cache, S1, &slot_1, 0x14, SHOWN);

    result = search(cache, S1, FALSE, batch, 5);
    ck_assert_uint_eq(result.judged, 3); /* 0x13 is not known */
    ck_assert_uint_eq(result.kept, 2);
    ck_assert_uint_eq(result.out[0], 0x10);
    ck_assert_uint_eq(result.out[1], 0x12);
    /* a search on secret values does not show a guarded key */
    result = search(cache, S1, TRUE, batch, 5);
    ck_assert_uint_eq(result.judged, 3);
    ck_assert_uint_eq(result.kept, 1);
    ck_assert_uint_eq(result.out[0], 0x10);
    /* the rest, from where it stopped */
    put(cache, S1, &slot_1, 0x13, SHOWN);
    result = search(cache, S1, FALSE, batch + 3, 2);
    ck_assert_uint_eq(result.judged, 2);
    ck_assert_uint_eq(result.kept, 2);
    /* handle 0 is never known, whatever was put */
    put(cache, S1, &slot_1, 0, SHOWN);
    ck_assert(!knows(cache, S1, 0));
    /* another session knows nothing of these */
    ck_assert(!knows(cache, S2, 0x10));
}
END_TEST

START_TEST(test_policy_cache_put_replaces_a_verdict)
{
    g_autoptr(P11muxPolicyCache) cache = p11mux_policy_cache_new();

    put(cache, S1, &slot_1, 0x10, SHOWN);
    ck_assert(shows(cache, S1, 0x10));
    put(cache, S1, &slot_1, 0x10, 0); /* read again (C_CopyObject's target, reread) */
    ck_assert(knows(cache, S1, 0x10));
    ck_assert(!shows(cache, S1, 0x10));
}
END_TEST

/* ------------------------------------------------------------ invalidation */

START_TEST(test_policy_cache_forget_object_in_every_session_of_its_backend)
{
    g_autoptr(P11muxPolicyCache) cache = p11mux_policy_cache_new();
    P11muxObjectInfo *info;

    put(cache, S1, &slot_1, 0x10, SHOWN | ON_TOKEN);
    put(cache, S2, &slot_2, 0x10, SHOWN | ON_TOKEN);
    put(cache, S3, &slot_3, 0x10, SHOWN | ON_TOKEN);
    put(cache, S1, &slot_1, 0x11, SHOWN | ON_TOKEN);

    /* C_SetAttributeValue, C_DestroyObject or a new object on this handle */
    p11mux_policy_cache_forget_object(cache, &backend_x, 0x10);
    ck_assert(!knows(cache, S1, 0x10));
    ck_assert(!knows(cache, S2, 0x10));
    ck_assert_ptr_null(p11mux_policy_cache_get(cache, S1, 0x10));
    ck_assert(shows(cache, S3, 0x10)); /* another backend's object */
    ck_assert(shows(cache, S1, 0x11));
    info = p11mux_policy_cache_get(cache, S1, 0x11);
    ck_assert_ptr_nonnull(info);
    p11mux_object_info_unref(info);
    /* read again, known again */
    put(cache, S1, &slot_1, 0x10, 0);
    ck_assert(knows(cache, S1, 0x10) && !shows(cache, S1, 0x10));
}
END_TEST

START_TEST(test_policy_cache_session_end_drops_session_objects)
{
    g_autoptr(P11muxPolicyCache) cache = p11mux_policy_cache_new();

    put(cache, S1, &slot_1, 0x10, SHOWN | ON_TOKEN);
    put(cache, S1, &slot_1, 0x20, SHOWN); /* a session object */
    put(cache, S2, &slot_2, 0x20, SHOWN);
    put(cache, S3, &slot_3, 0x20, SHOWN);

    /* some session on backend x ended: its session objects are gone, and
     * their handles may be reused */
    p11mux_policy_cache_forget_session_objects(cache, &backend_x);
    ck_assert(shows(cache, S1, 0x10));
    ck_assert(!knows(cache, S1, 0x20));
    ck_assert(!knows(cache, S2, 0x20));
    ck_assert_ptr_null(p11mux_policy_cache_get(cache, S2, 0x20));
    ck_assert(shows(cache, S3, 0x20));
}
END_TEST

START_TEST(test_policy_cache_forget_session_and_slot)
{
    g_autoptr(P11muxPolicyCache) cache = p11mux_policy_cache_new();

    put(cache, S1, &slot_1, 0x10, SHOWN | ON_TOKEN);
    put(cache, S2, &slot_2, 0x10, SHOWN | ON_TOKEN);
    put(cache, S3, &slot_3, 0x10, SHOWN | ON_TOKEN);
    p11mux_policy_cache_set_find_guard(cache, S1, &slot_1, TRUE);
    ck_assert(p11mux_policy_cache_find_guard(cache, S1));

    p11mux_policy_cache_forget_session(cache, S1); /* C_CloseSession */
    ck_assert(!knows(cache, S1, 0x10));
    ck_assert(!p11mux_policy_cache_find_guard(cache, S1));
    ck_assert(shows(cache, S2, 0x10));

    p11mux_policy_cache_forget_slot(cache, &slot_2); /* C_CloseAllSessions */
    ck_assert(!knows(cache, S2, 0x10));
    ck_assert(shows(cache, S3, 0x10));
}
END_TEST

/* A reading that raced a forget is used, not cached: else the verdict of
 * an object read before it changed would outlive the change. */
START_TEST(test_policy_cache_stale_reading_is_not_cached)
{
    g_autoptr(P11muxPolicyCache) cache = p11mux_policy_cache_new();
    P11muxObjectInfo *info = info_new(SHOWN);
    guint epoch;

    put(cache, S1, &slot_1, 0x11, SHOWN);
    epoch = p11mux_policy_cache_epoch(cache);                   /* the search starts reading 0x10 */
    p11mux_policy_cache_forget_object(cache, &backend_x, 0x10); /* another thread changes it */
    ck_assert(!p11mux_policy_cache_put(cache, S1, &slot_1, 0x10, info, epoch));
    ck_assert(!knows(cache, S1, 0x10));
    /* a session that ended while it read makes no entry again */
    epoch = p11mux_policy_cache_epoch(cache);
    p11mux_policy_cache_forget_session(cache, S2);
    ck_assert(!p11mux_policy_cache_put(cache, S2, &slot_1, 0x10, info, epoch));
    ck_assert_ptr_null(p11mux_policy_cache_get(cache, S2, 0x10));
    /* a fresh reading is */
    epoch = p11mux_policy_cache_epoch(cache);
    ck_assert(p11mux_policy_cache_put(cache, S1, &slot_1, 0x10, info, epoch));
    ck_assert(shows(cache, S1, 0x10));
    p11mux_object_info_unref(info);
}
END_TEST

/* A session handle that comes back on another slot (the session table
 * reuses entries) starts from nothing, whatever an old entry held. */
START_TEST(test_policy_cache_handle_back_on_another_slot)
{
    g_autoptr(P11muxPolicyCache) cache = p11mux_policy_cache_new();

    p11mux_policy_cache_set_find_guard(cache, S1, &slot_1, TRUE);
    put(cache, S1, &slot_1, 0x10, SHOWN);
    put(cache, S1, &slot_3, 0x11, SHOWN);
    ck_assert(!knows(cache, S1, 0x10));
    ck_assert(shows(cache, S1, 0x11));
    ck_assert(!p11mux_policy_cache_find_guard(cache, S1));
    /* and the entry is now backend y's: backend x's forgets leave it */
    p11mux_policy_cache_forget_session_objects(cache, &backend_x);
    ck_assert(shows(cache, S1, 0x11));
    p11mux_policy_cache_forget_session_objects(cache, &backend_y);
    ck_assert(!knows(cache, S1, 0x11));
}
END_TEST

/* ------------------------------------------------------------ growth */

/* Handles like several backends make them: dense, strided, high bits set. */
static CK_OBJECT_HANDLE
handle_of(guint i)
{
    switch (i % 3) {
    case 0:
        return 1 + i / 3; /* below 2^16 */
    case 1:
        return (CK_OBJECT_HANDLE)i << 16;
    default:
        return G_GUINT64_CONSTANT(0x80000000) | i;
    }
}

START_TEST(test_policy_cache_growth_keeps_every_verdict)
{
    g_autoptr(P11muxPolicyCache) cache = p11mux_policy_cache_new();
    const guint n = 20000;
    guint i;

    for (i = 0; i < n; i++) {
        put(cache, S1, &slot_1, handle_of(i), i % 7 == 3 ? 0 : SHOWN);
    }
    /* forget a third, then put half of those back: tombstones, then rebuilds */
    for (i = 0; i < n; i += 3) {
        p11mux_policy_cache_forget_object(cache, &backend_x, handle_of(i));
    }
    for (i = 0; i < n; i += 6) {
        put(cache, S1, &slot_1, handle_of(i), i % 7 == 3 ? 0 : SHOWN);
    }
    for (i = 0; i < n; i++) {
        gboolean forgotten = i % 3 == 0 && i % 6 != 0;

        ck_assert_msg(knows(cache, S1, handle_of(i)) == !forgotten, "handle %u", i);
        if (!forgotten) {
            ck_assert_msg(shows(cache, S1, handle_of(i)) == (i % 7 != 3), "handle %u", i);
        }
    }
    /* no reader was left: the replaced tables are freed */
    ck_assert_uint_eq(p11mux_policy_cache_retired_tables(cache, S1), 0);
}
END_TEST

START_TEST(test_policy_cache_starts_again_past_its_limit)
{
    g_autoptr(P11muxPolicyCache) cache = p11mux_policy_cache_new();
    const guint limit = 65536;
    guint i;

    for (i = 1; i <= limit; i++) {
        put(cache, S1, &slot_1, i, SHOWN);
    }
    ck_assert(shows(cache, S1, 1) && shows(cache, S1, limit));
    put(cache, S1, &slot_1, limit + 1, SHOWN);
    ck_assert(!knows(cache, S1, 1));
    ck_assert(!knows(cache, S1, limit));
    ck_assert(shows(cache, S1, limit + 1));
    ck_assert_uint_eq(p11mux_policy_cache_retired_tables(cache, S1), 0);
}
END_TEST

/* ------------------------------------------------------------ threads */

/* Objects whose handle is a multiple of 3 are hidden, whoever reads them. */
#define N_HANDLES 3000
#define ROUNDS 60

typedef struct {
    P11muxPolicyCache *cache;
    gint stop;
    gint shown_hidden; /* a reader showed a hidden object */
    gint searches;
} Shared;

static gpointer
reader(gpointer data)
{
    Shared *shared = data;
    CK_OBJECT_HANDLE batch[64], out[64];

    while (!g_atomic_int_get(&shared->stop)) {
        for (guint start = 1; start < N_HANDLES; start += G_N_ELEMENTS(batch)) {
            CK_ULONG kept = 0, n = 0, i;

            for (; n < G_N_ELEMENTS(batch) && start + n < N_HANDLES; n++) {
                batch[n] = start + n;
            }
            (void)p11mux_policy_cache_filter(shared->cache, S1, batch, n, FALSE, out, &kept);
            for (i = 0; i < kept; i++) {
                if (out[i] % 3 == 0) {
                    g_atomic_int_set(&shared->shown_hidden, 1);
                }
            }
        }
        g_atomic_int_inc(&shared->searches);
    }
    return NULL;
}

static void
wait_for_searches(Shared *shared, gint searches)
{
    while (g_atomic_int_get(&shared->searches) < searches) {
        g_usleep(1000);
    }
}

/* Readers without locks while a writer fills, forgets, grows and starts
 * again: no reader ever shows a hidden object, and (under ASan, TSan) no
 * table is freed under a reader. */
START_TEST(test_policy_cache_readers_during_changes)
{
    g_autoptr(P11muxPolicyCache) cache = p11mux_policy_cache_new();
    Shared shared = {cache, 0, 0, 0};
    GThread *threads[2];
    guint round, i;

    for (i = 0; i < G_N_ELEMENTS(threads); i++) {
        threads[i] = g_thread_new("reader", reader, &shared);
    }
    /* readers running before the first write and searching again after
     * the last (a slow scheduler, as valgrind's, could leave them idle) */
    wait_for_searches(&shared, 1);
    for (round = 0; round < ROUNDS; round++) {
        for (i = 1; i < N_HANDLES; i++) {
            put(cache, S1, &slot_1, i, i % 3 == 0 ? 0 : SHOWN);
        }
        if (round % 3 == 0) {
            p11mux_policy_cache_forget_session_objects(cache, &backend_x);
        } else if (round % 3 == 1) {
            p11mux_policy_cache_forget_session(cache, S1);
        } else {
            for (i = 1; i < N_HANDLES; i += 2) {
                p11mux_policy_cache_forget_object(cache, &backend_x, i);
            }
        }
    }
    wait_for_searches(&shared, g_atomic_int_get(&shared.searches) + 1);
    g_atomic_int_set(&shared.stop, 1);
    for (i = 0; i < G_N_ELEMENTS(threads); i++) {
        g_thread_join(threads[i]);
    }
    ck_assert_int_eq(shared.shown_hidden, 0);
    ck_assert_int_gt(shared.searches, 1);
}
END_TEST

static Suite *
policy_cache_suite(void)
{
    Suite *suite = suite_create("policy-cache");
    TCase *verdicts = tcase_create("verdicts");
    TCase *threads = tcase_create("threads");

    tcase_add_test(verdicts, test_policy_cache_filter_keeps_order_and_stops_at_unknown);
    tcase_add_test(verdicts, test_policy_cache_put_replaces_a_verdict);
    tcase_add_test(verdicts, test_policy_cache_forget_object_in_every_session_of_its_backend);
    tcase_add_test(verdicts, test_policy_cache_session_end_drops_session_objects);
    tcase_add_test(verdicts, test_policy_cache_forget_session_and_slot);
    tcase_add_test(verdicts, test_policy_cache_stale_reading_is_not_cached);
    tcase_add_test(verdicts, test_policy_cache_handle_back_on_another_slot);
    tcase_add_test(verdicts, test_policy_cache_growth_keeps_every_verdict);
    tcase_add_test(verdicts, test_policy_cache_starts_again_past_its_limit);
    suite_add_tcase(suite, verdicts);

    tcase_set_timeout(threads, 60);
    tcase_add_test(threads, test_policy_cache_readers_during_changes);
    suite_add_tcase(suite, threads);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(policy_cache_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
