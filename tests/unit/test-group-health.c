/*
 * Unit tests of the health of HA group members (src/group/group-health.c):
 * every row of the return-value classification (HA-GROUPS §8.1) with the
 * default failover-on list and a custom one; the state machine (§9.1):
 * error threshold, SUSPECT and back, DOWN, RECOVERING, quarantine; the probe
 * cadence with back-off and keepalive at explicit times; the call timeout;
 * records from many threads at once; the prober, in its thread and inline;
 * the PIN vault (§6.3), in this process and in a child after fork().
 */
#include "config.h"

#include <check.h>
#include <glib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-helpers.h"
#include "backend.h"
#include "group-health.h"

#define S ((gint64)G_USEC_PER_SEC)
#define MS (S / 1000)

/* Asserts the class of rv, naming rv on failure. */
#define ck_assert_class(RV, LIST, LOGGED_IN, EXPECTED)                                             \
    do {                                                                                           \
        char ck_class_buf_[P11MUX_CHECK_RV_BUF];                                                   \
        P11muxMemberRv ck_class_ = p11mux_member_rv_classify((RV), (LIST), (LOGGED_IN));           \
        ck_assert_msg(ck_class_ == (EXPECTED), "%s (logged in: %d) classed %d, expected %s",       \
                      p11mux_check_rv_describe((RV), ck_class_buf_, sizeof(ck_class_buf_)),        \
                      (int)(LOGGED_IN), (int)ck_class_, #EXPECTED);                                \
    } while (0)

static GArray *
rv_list(const CK_RV *rvs, gsize n)
{
    GArray *list = g_array_new(FALSE, FALSE, sizeof(CK_RV));

    g_array_append_vals(list, rvs, (guint)n);
    return list;
}

/* What §8.1 says is the request's fault, whatever the list. */
static const CK_RV request_rvs[] = {
    CKR_ARGUMENTS_BAD,
    CKR_MECHANISM_INVALID,
    CKR_KEY_HANDLE_INVALID,
    CKR_DATA_LEN_RANGE,
    CKR_ENCRYPTED_DATA_LEN_RANGE,
    CKR_BUFFER_TOO_SMALL,
    CKR_PIN_INCORRECT,
    CKR_PIN_LOCKED,
    CKR_KEY_FUNCTION_NOT_PERMITTED,
    CKR_SIGNATURE_INVALID,
    CKR_OPERATION_ACTIVE,
    CKR_OBJECT_HANDLE_INVALID,
    CKR_TEMPLATE_INCOMPLETE,
    CKR_USER_ALREADY_LOGGED_IN,
};

/* The rows that do not follow the list (§8.1). */
static void
assert_built_in_rows(const GArray *list)
{
    ck_assert_class(CKR_OK, list, TRUE, P11MUX_MEMBER_RV_OK);
    ck_assert_class(CKR_OK, list, FALSE, P11MUX_MEMBER_RV_OK);
    ck_assert_class(CKR_DEVICE_MEMORY, list, FALSE, P11MUX_MEMBER_RV_BUSY);
    ck_assert_class(CKR_SESSION_HANDLE_INVALID, list, FALSE, P11MUX_MEMBER_RV_SESSION);
    ck_assert_class(CKR_SESSION_CLOSED, list, TRUE, P11MUX_MEMBER_RV_SESSION);
    ck_assert_class(CKR_USER_NOT_LOGGED_IN, list, TRUE, P11MUX_MEMBER_RV_LOGIN);
    ck_assert_class(CKR_USER_NOT_LOGGED_IN, list, FALSE, P11MUX_MEMBER_RV_REQUEST);
    ck_assert_class(CKR_CRYPTOKI_NOT_INITIALIZED, list, FALSE, P11MUX_MEMBER_RV_REINIT);
    for (gsize i = 0; i < G_N_ELEMENTS(request_rvs); i++) {
        ck_assert_class(request_rvs[i], list, TRUE, P11MUX_MEMBER_RV_REQUEST);
        ck_assert_class(request_rvs[i], list, FALSE, P11MUX_MEMBER_RV_REQUEST);
    }
}

static void
assert_default_rows(const GArray *list)
{
    ck_assert_class(CKR_DEVICE_REMOVED, list, FALSE, P11MUX_MEMBER_RV_GONE);
    ck_assert_class(CKR_TOKEN_NOT_PRESENT, list, TRUE, P11MUX_MEMBER_RV_GONE);
    ck_assert_class(CKR_DEVICE_ERROR, list, FALSE, P11MUX_MEMBER_RV_FAULT);
    ck_assert_class(CKR_GENERAL_ERROR, list, TRUE, P11MUX_MEMBER_RV_FAULT);
    /* not in the default list: the request's */
    ck_assert_class(CKR_FUNCTION_FAILED, list, FALSE, P11MUX_MEMBER_RV_REQUEST);
    assert_built_in_rows(list);
}

/* ------------------------------------------------------ classification */

START_TEST(test_group_health_classify_default_list)
{
    static const CK_RV defaults[] = {CKR_DEVICE_ERROR, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
                                     CKR_GENERAL_ERROR};
    g_autoptr(GArray) list = rv_list(defaults, G_N_ELEMENTS(defaults));

    assert_default_rows(list);
    assert_default_rows(NULL); /* NULL is the default list */
}
END_TEST

START_TEST(test_group_health_classify_custom_list)
{
    /* a YubiHSM connector's: link loss is CKR_FUNCTION_FAILED; the list
     * naming CKR_DEVICE_MEMORY does not make it count */
    static const CK_RV custom[] = {CKR_DEVICE_ERROR, CKR_FUNCTION_FAILED, CKR_DEVICE_MEMORY};
    g_autoptr(GArray) list = rv_list(custom, G_N_ELEMENTS(custom));

    ck_assert_class(CKR_FUNCTION_FAILED, list, FALSE, P11MUX_MEMBER_RV_FAULT);
    ck_assert_class(CKR_DEVICE_ERROR, list, TRUE, P11MUX_MEMBER_RV_FAULT);
    ck_assert_class(CKR_GENERAL_ERROR, list, FALSE, P11MUX_MEMBER_RV_REQUEST);
    /* gone only when the list says so */
    ck_assert_class(CKR_DEVICE_REMOVED, list, FALSE, P11MUX_MEMBER_RV_REQUEST);
    ck_assert_class(CKR_TOKEN_NOT_PRESENT, list, TRUE, P11MUX_MEMBER_RV_REQUEST);
    assert_built_in_rows(list);
}
END_TEST

START_TEST(test_group_health_classify_empty_list)
{
    g_autoptr(GArray) list = rv_list(NULL, 0);

    ck_assert_class(CKR_DEVICE_ERROR, list, FALSE, P11MUX_MEMBER_RV_REQUEST);
    ck_assert_class(CKR_DEVICE_REMOVED, list, FALSE, P11MUX_MEMBER_RV_REQUEST);
    assert_built_in_rows(list);
}
END_TEST

START_TEST(test_group_health_state_names)
{
    ck_assert_str_eq(p11mux_member_state_name(P11MUX_MEMBER_ACTIVE), "active");
    ck_assert_str_eq(p11mux_member_state_name(P11MUX_MEMBER_SUSPECT), "suspect");
    ck_assert_str_eq(p11mux_member_state_name(P11MUX_MEMBER_DOWN), "down");
    ck_assert_str_eq(p11mux_member_state_name(P11MUX_MEMBER_RECOVERING), "recovering");
    ck_assert_str_eq(p11mux_member_state_name(P11MUX_MEMBER_QUARANTINED), "quarantined");
}
END_TEST

/* ------------------------------------------------------- state machine */

/* A member with the defaults of §3: threshold 3, probes every 5 s with
 * back-off within 1 s to 60 s, keepalive as given. */
static void
health_init(P11muxHealth *health, gint64 keepalive_us)
{
    p11mux_health_init(health, 3, 5 * S, 1 * S, 60 * S, keepalive_us);
}

/* Records klass at now_us; asserts the transition (from == to: none). */
static void
assert_record(P11muxHealth *health, P11muxMemberRv klass, gint64 now_us, P11muxMemberState from,
              P11muxMemberState to)
{
    P11muxMemberState got_from = 99, got_to = 99;
    gboolean changed = p11mux_health_record(health, klass, now_us, &got_from, &got_to);

    ck_assert_int_eq(changed, from != to);
    if (changed) {
        ck_assert_int_eq(got_from, from);
        ck_assert_int_eq(got_to, to);
    }
    ck_assert_int_eq(p11mux_health_state(health), to);
}

static void
assert_probe(P11muxHealth *health, gboolean ok, gint64 now_us, P11muxMemberState from,
             P11muxMemberState to)
{
    P11muxMemberState got_from = 99, got_to = 99;
    gboolean changed = p11mux_health_probe_result(health, ok, now_us, &got_from, &got_to);

    ck_assert_int_eq(changed, from != to);
    if (changed) {
        ck_assert_int_eq(got_from, from);
        ck_assert_int_eq(got_to, to);
    }
    ck_assert_int_eq(p11mux_health_state(health), to);
}

START_TEST(test_group_health_threshold_takes_consecutive_faults)
{
    P11muxHealth health;

    health_init(&health, 0);
    ck_assert_int_eq(p11mux_health_state(&health), P11MUX_MEMBER_ACTIVE);
    ck_assert(p11mux_health_usable(&health));
    assert_record(&health, P11MUX_MEMBER_RV_OK, 1, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_ACTIVE);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 2, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 3, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 4, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_DOWN);
    ck_assert(!p11mux_health_usable(&health));
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 5, P11MUX_MEMBER_DOWN, P11MUX_MEMBER_DOWN);
    p11mux_health_clear(&health);
}
END_TEST

START_TEST(test_group_health_success_resets_the_count)
{
    P11muxHealth health;

    health_init(&health, 0);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 1, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 2, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_SUSPECT);
    /* a call pinned before still answers: the count starts again */
    assert_record(&health, P11MUX_MEMBER_RV_OK, 3, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 4, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 5, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_SUSPECT);
    /* so does an answer that is the request's fault */
    assert_record(&health, P11MUX_MEMBER_RV_REQUEST, 6, P11MUX_MEMBER_SUSPECT,
                  P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 7, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 8, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 9, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_DOWN);
    p11mux_health_clear(&health);
}
END_TEST

START_TEST(test_group_health_gone_and_reinit_are_down_at_once)
{
    P11muxHealth health;

    health_init(&health, 0);
    assert_record(&health, P11MUX_MEMBER_RV_GONE, 1, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_DOWN);
    assert_record(&health, P11MUX_MEMBER_RV_GONE, 2, P11MUX_MEMBER_DOWN, P11MUX_MEMBER_DOWN);
    p11mux_health_clear(&health);

    health_init(&health, 0);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 1, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_REINIT, 2, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_DOWN);
    p11mux_health_clear(&health);

    health_init(&health, 0);
    p11mux_health_down(&health); /* a failed reopen */
    ck_assert_int_eq(p11mux_health_state(&health), P11MUX_MEMBER_DOWN);
    p11mux_health_clear(&health);
}
END_TEST

START_TEST(test_group_health_busy_session_login_never_count)
{
    P11muxHealth health;

    health_init(&health, 0);
    for (int i = 0; i < 100; i++) {
        assert_record(&health, P11MUX_MEMBER_RV_BUSY, i, P11MUX_MEMBER_ACTIVE,
                      P11MUX_MEMBER_ACTIVE);
        assert_record(&health, P11MUX_MEMBER_RV_SESSION, i, P11MUX_MEMBER_ACTIVE,
                      P11MUX_MEMBER_ACTIVE);
        assert_record(&health, P11MUX_MEMBER_RV_LOGIN, i, P11MUX_MEMBER_ACTIVE,
                      P11MUX_MEMBER_ACTIVE);
    }
    /* nor do they reset the count: three faults around them are DOWN */
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 200, P11MUX_MEMBER_ACTIVE,
                  P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_BUSY, 201, P11MUX_MEMBER_SUSPECT,
                  P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 202, P11MUX_MEMBER_SUSPECT,
                  P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_BUSY, 203, P11MUX_MEMBER_SUSPECT,
                  P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 204, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_DOWN);
    p11mux_health_clear(&health);
}
END_TEST

START_TEST(test_group_health_suspect_is_probed_at_once_and_comes_back)
{
    P11muxHealth health;
    const gint64 t = 1000 * S;

    health_init(&health, 0);
    ck_assert(!p11mux_health_probe_due(&health, t)); /* ACTIVE, no keepalive */
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, t, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_SUSPECT);
    ck_assert(!p11mux_health_usable(&health));
    ck_assert(p11mux_health_probe_due(&health, t));
    assert_probe(&health, TRUE, t + 1, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_ACTIVE);
    ck_assert(p11mux_health_usable(&health));
    /* and the count started again: two faults are not DOWN */
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, t + 2, P11MUX_MEMBER_ACTIVE,
                  P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, t + 3, P11MUX_MEMBER_SUSPECT,
                  P11MUX_MEMBER_SUSPECT);
    /* a failed probe counts: the third fault */
    assert_probe(&health, FALSE, t + 4, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_DOWN);
    p11mux_health_clear(&health);
}
END_TEST

START_TEST(test_group_health_down_recovers_through_admission)
{
    P11muxHealth health;

    health_init(&health, 0);
    assert_record(&health, P11MUX_MEMBER_RV_GONE, 0, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_DOWN);
    assert_probe(&health, TRUE, 5 * S, P11MUX_MEMBER_DOWN, P11MUX_MEMBER_RECOVERING);
    ck_assert(!p11mux_health_usable(&health));
    /* a probe of a RECOVERING member that fails: DOWN again */
    assert_probe(&health, FALSE, 10 * S, P11MUX_MEMBER_RECOVERING, P11MUX_MEMBER_DOWN);
    assert_probe(&health, TRUE, 20 * S, P11MUX_MEMBER_DOWN, P11MUX_MEMBER_RECOVERING);
    assert_probe(&health, TRUE, 25 * S, P11MUX_MEMBER_RECOVERING, P11MUX_MEMBER_RECOVERING);
    p11mux_health_admit(&health);
    ck_assert_int_eq(p11mux_health_state(&health), P11MUX_MEMBER_ACTIVE);
    ck_assert(p11mux_health_usable(&health));
    /* admitted with a clean slate */
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 30 * S, P11MUX_MEMBER_ACTIVE,
                  P11MUX_MEMBER_SUSPECT);
    p11mux_health_clear(&health);

    /* a fault while RECOVERING is DOWN */
    health_init(&health, 0);
    p11mux_health_down(&health);
    assert_probe(&health, TRUE, 1 * S, P11MUX_MEMBER_DOWN, P11MUX_MEMBER_RECOVERING);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 2 * S, P11MUX_MEMBER_RECOVERING,
                  P11MUX_MEMBER_DOWN);
    p11mux_health_clear(&health);
}
END_TEST

/* The member is due at exactly at_us, not a microsecond before. */
static void
assert_due_at(P11muxHealth *health, gint64 at_us)
{
    ck_assert_msg(!p11mux_health_probe_due(health, at_us - 1), "due before %" G_GINT64_FORMAT,
                  at_us);
    ck_assert_msg(p11mux_health_probe_due(health, at_us), "not due at %" G_GINT64_FORMAT, at_us);
}

START_TEST(test_group_health_back_off_doubles_within_bounds)
{
    P11muxHealth health;
    const gint64 waits[] = {5 * S, 10 * S, 20 * S, 40 * S, 60 * S, 60 * S};
    gint64 t = 0;

    health_init(&health, 0);
    assert_record(&health, P11MUX_MEMBER_RV_GONE, t, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_DOWN);
    for (gsize i = 0; i < G_N_ELEMENTS(waits); i++) {
        t += waits[i];
        assert_due_at(&health, t);
        assert_probe(&health, FALSE, t, P11MUX_MEMBER_DOWN, P11MUX_MEMBER_DOWN);
    }
    /* never giving up */
    for (int i = 0; i < 1000; i++) {
        t += 60 * S;
        assert_due_at(&health, t);
        assert_probe(&health, FALSE, t, P11MUX_MEMBER_DOWN, P11MUX_MEMBER_DOWN);
    }
    /* an answer: RECOVERING, probed at probe-interval again */
    t += 60 * S;
    assert_probe(&health, TRUE, t, P11MUX_MEMBER_DOWN, P11MUX_MEMBER_RECOVERING);
    assert_due_at(&health, t + 5 * S);
    p11mux_health_clear(&health);
}
END_TEST

START_TEST(test_group_health_back_off_starts_at_its_minimum)
{
    P11muxHealth health;
    const gint64 waits[] = {1 * S, 2 * S, 4 * S, 4 * S};
    gint64 t = 100 * S;

    /* probe-interval 100 ms, below recover-backoff 1 s 4 s */
    p11mux_health_init(&health, 2, 100 * MS, 1 * S, 4 * S, 0);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, t, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_SUSPECT);
    assert_due_at(&health, t); /* SUSPECT: at once */
    t += 1;
    assert_probe(&health, FALSE, t, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_DOWN);
    for (gsize i = 0; i < G_N_ELEMENTS(waits); i++) {
        t += waits[i];
        assert_due_at(&health, t);
        assert_probe(&health, FALSE, t, P11MUX_MEMBER_DOWN, P11MUX_MEMBER_DOWN);
    }
    p11mux_health_clear(&health);
}
END_TEST

START_TEST(test_group_health_suspect_backs_off_after_a_failed_probe)
{
    P11muxHealth health;

    /* threshold 5: SUSPECT stays SUSPECT through failed probes */
    p11mux_health_init(&health, 5, 5 * S, 1 * S, 60 * S, 0);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 0, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_SUSPECT);
    assert_due_at(&health, 0);
    assert_probe(&health, FALSE, 0, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_SUSPECT);
    /* a pinned operation failing meanwhile does not cut the back-off short */
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 1 * S, P11MUX_MEMBER_SUSPECT,
                  P11MUX_MEMBER_SUSPECT);
    assert_due_at(&health, 5 * S);
    assert_probe(&health, FALSE, 5 * S, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_SUSPECT);
    assert_due_at(&health, 15 * S);
    assert_probe(&health, TRUE, 15 * S, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_ACTIVE);
    ck_assert(!p11mux_health_probe_due(&health, 1000 * S));
    p11mux_health_clear(&health);
}
END_TEST

START_TEST(test_group_health_down_counts_from_the_next_look)
{
    P11muxHealth health;

    health_init(&health, 0);
    p11mux_health_down(&health);
    ck_assert(!p11mux_health_probe_due(&health, 70 * S)); /* the first look */
    assert_due_at(&health, 75 * S);
    p11mux_health_clear(&health);
}
END_TEST

START_TEST(test_group_health_keepalive_probes_idle_members)
{
    P11muxHealth health;
    const gint64 t = 1000 * S;

    health_init(&health, 300 * S);
    ck_assert(!p11mux_health_probe_due(&health, t)); /* counted from here */
    assert_due_at(&health, t + 300 * S);
    assert_probe(&health, TRUE, t + 300 * S, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_ACTIVE);
    assert_due_at(&health, t + 600 * S);
    /* not idle while a call runs, nor until keepalive after it ended */
    p11mux_health_call_started(&health, t + 500 * S);
    ck_assert(!p11mux_health_probe_due(&health, t + 700 * S));
    p11mux_health_call_ended(&health, t + 500 * S, t + 700 * S);
    assert_due_at(&health, t + 1000 * S);
    /* a keepalive probe that fails counts as a fault */
    assert_probe(&health, FALSE, t + 1000 * S, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_SUSPECT);
    p11mux_health_clear(&health);

    /* keepalive 0: never */
    health_init(&health, 0);
    ck_assert(!p11mux_health_probe_due(&health, 0));
    ck_assert(!p11mux_health_probe_due(&health, G_MAXINT64 / 2));
    p11mux_health_clear(&health);
}
END_TEST

START_TEST(test_group_health_quarantine_is_final)
{
    P11muxHealth health;
    const P11muxMemberRv all[] = {P11MUX_MEMBER_RV_OK,    P11MUX_MEMBER_RV_REQUEST,
                                  P11MUX_MEMBER_RV_FAULT, P11MUX_MEMBER_RV_GONE,
                                  P11MUX_MEMBER_RV_BUSY,  P11MUX_MEMBER_RV_SESSION,
                                  P11MUX_MEMBER_RV_LOGIN, P11MUX_MEMBER_RV_REINIT};
    const P11muxMemberState q = P11MUX_MEMBER_QUARANTINED;

    health_init(&health, 300 * S);
    assert_record(&health, P11MUX_MEMBER_RV_GONE, 0, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_DOWN);
    assert_probe(&health, TRUE, 5 * S, P11MUX_MEMBER_DOWN, P11MUX_MEMBER_RECOVERING);
    p11mux_health_quarantine(&health); /* re-admission found a PIN mismatch */
    ck_assert_int_eq(p11mux_health_state(&health), q);
    for (gsize i = 0; i < G_N_ELEMENTS(all); i++) {
        assert_record(&health, all[i], 10 * S, q, q);
    }
    assert_probe(&health, TRUE, 20 * S, q, q);
    assert_probe(&health, FALSE, 30 * S, q, q);
    p11mux_health_admit(&health);
    p11mux_health_down(&health);
    ck_assert(!p11mux_health_check_timeout(&health, 40 * S, 1));
    ck_assert_int_eq(p11mux_health_state(&health), q);
    ck_assert(!p11mux_health_usable(&health));
    ck_assert(!p11mux_health_probe_due(&health, 50 * S));
    ck_assert(!p11mux_health_probe_due(&health, G_MAXINT64 / 2));
    p11mux_health_clear(&health);
}
END_TEST

START_TEST(test_group_health_call_timeout_makes_suspect)
{
    P11muxHealth health;

    health_init(&health, 0);
    p11mux_health_call_started(&health, 0);
    ck_assert_uint_eq(p11mux_health_in_flight(&health), 1);
    ck_assert(!p11mux_health_check_timeout(&health, 20 * S - 1, 20 * S));
    ck_assert(p11mux_health_usable(&health));
    ck_assert(p11mux_health_check_timeout(&health, 20 * S, 20 * S));
    ck_assert_int_eq(p11mux_health_state(&health), P11MUX_MEMBER_SUSPECT);
    ck_assert(!p11mux_health_usable(&health));
    ck_assert(!p11mux_health_check_timeout(&health, 21 * S, 20 * S)); /* already */
    ck_assert(p11mux_health_probe_due(&health, 20 * S));
    /* the probe answers, but the call still hangs: SUSPECT still */
    assert_probe(&health, TRUE, 21 * S, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_SUSPECT);
    p11mux_health_call_ended(&health, 0, 22 * S);
    ck_assert_uint_eq(p11mux_health_in_flight(&health), 0);
    assert_probe(&health, TRUE, 23 * S, P11MUX_MEMBER_SUSPECT, P11MUX_MEMBER_ACTIVE);
    /* routing only: no error was counted, two faults are not DOWN */
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 24 * S, P11MUX_MEMBER_ACTIVE,
                  P11MUX_MEMBER_SUSPECT);
    assert_record(&health, P11MUX_MEMBER_RV_FAULT, 25 * S, P11MUX_MEMBER_SUSPECT,
                  P11MUX_MEMBER_SUSPECT);
    p11mux_health_clear(&health);
}
END_TEST

START_TEST(test_group_health_call_timeout_counts_from_the_oldest_call)
{
    P11muxHealth health;

    health_init(&health, 0);
    ck_assert(!p11mux_health_check_timeout(&health, 100 * S, 20 * S)); /* nothing runs */
    /* the later call ends, the first one runs on: its age counts */
    p11mux_health_call_started(&health, 0);
    p11mux_health_call_started(&health, 1 * S);
    p11mux_health_call_ended(&health, 1 * S, 15 * S);
    ck_assert_uint_eq(p11mux_health_in_flight(&health), 1);
    ck_assert(!p11mux_health_check_timeout(&health, 20 * S - 1, 20 * S));
    ck_assert(p11mux_health_check_timeout(&health, 20 * S, 20 * S));
    p11mux_health_call_ended(&health, 0, 36 * S);
    ck_assert_uint_eq(p11mux_health_in_flight(&health), 0);
    /* a call that hangs while other calls on the member keep ending */
    p11mux_health_admit(&health);
    p11mux_health_call_started(&health, 40 * S);
    for (gint64 i = 41; i < 60; i++) {
        p11mux_health_call_started(&health, i * S);
        p11mux_health_call_ended(&health, i * S, i * S + 1);
    }
    ck_assert_uint_eq(p11mux_health_in_flight(&health), 1);
    ck_assert(!p11mux_health_check_timeout(&health, 60 * S - 1, 20 * S));
    ck_assert(p11mux_health_check_timeout(&health, 60 * S, 20 * S));
    /* two calls begun at one time: each end takes one */
    p11mux_health_admit(&health);
    p11mux_health_call_started(&health, 40 * S);
    p11mux_health_call_ended(&health, 40 * S, 61 * S);
    ck_assert_uint_eq(p11mux_health_in_flight(&health), 1);
    ck_assert(p11mux_health_check_timeout(&health, 62 * S, 20 * S));
    p11mux_health_call_ended(&health, 40 * S, 63 * S);
    ck_assert_uint_eq(p11mux_health_in_flight(&health), 0);
    p11mux_health_admit(&health);
    ck_assert(!p11mux_health_check_timeout(&health, 100 * S, 20 * S));
    /* timeout 0: none */
    p11mux_health_call_started(&health, 100 * S);
    ck_assert(!p11mux_health_check_timeout(&health, 4000 * S, 0));
    p11mux_health_call_ended(&health, 100 * S, 4001 * S);
    p11mux_health_clear(&health);
}
END_TEST

/* ------------------------------------------------------------- threads */

enum { RECORDERS = 8, FAULTS_EACH = 500, CALLS_EACH = 5000 };

typedef struct {
    P11muxHealth health;
    gint to_down; /* transitions to DOWN reported */
    gint changes;
} Shared;

static gpointer
record_faults(gpointer data)
{
    Shared *shared = data;
    P11muxMemberState from, to;

    for (int i = 0; i < FAULTS_EACH; i++) {
        p11mux_health_call_started(&shared->health, i);
        if (p11mux_health_record(&shared->health, P11MUX_MEMBER_RV_FAULT, i, &from, &to)) {
            g_atomic_int_inc(&shared->changes);
            if (to == P11MUX_MEMBER_DOWN) {
                g_atomic_int_inc(&shared->to_down);
            }
        }
        p11mux_health_record(&shared->health, P11MUX_MEMBER_RV_BUSY, i, NULL, NULL);
        p11mux_health_call_ended(&shared->health, i, i);
    }
    return NULL;
}

static void
run_recorders(Shared *shared)
{
    GThread *threads[RECORDERS];

    for (int i = 0; i < RECORDERS; i++) {
        threads[i] = g_thread_new("recorder", record_faults, shared);
    }
    for (int i = 0; i < RECORDERS; i++) {
        g_thread_join(threads[i]);
    }
}

START_TEST(test_group_health_records_from_many_threads)
{
    Shared shared = {0};

    /* exactly at the threshold: DOWN, reported once */
    p11mux_health_init(&shared.health, RECORDERS * FAULTS_EACH, 5 * S, 1 * S, 60 * S, 0);
    run_recorders(&shared);
    ck_assert_int_eq(p11mux_health_state(&shared.health), P11MUX_MEMBER_DOWN);
    ck_assert_int_eq(shared.to_down, 1);
    ck_assert_int_eq(shared.changes, 2); /* ACTIVE -> SUSPECT -> DOWN */
    ck_assert_uint_eq(p11mux_health_in_flight(&shared.health), 0);
    p11mux_health_clear(&shared.health);

    /* one short: no fault was lost, none counted twice */
    memset(&shared, 0, sizeof(shared));
    p11mux_health_init(&shared.health, RECORDERS * FAULTS_EACH + 1, 5 * S, 1 * S, 60 * S, 0);
    run_recorders(&shared);
    ck_assert_int_eq(p11mux_health_state(&shared.health), P11MUX_MEMBER_SUSPECT);
    ck_assert_int_eq(shared.to_down, 0);
    assert_record(&shared.health, P11MUX_MEMBER_RV_FAULT, 0, P11MUX_MEMBER_SUSPECT,
                  P11MUX_MEMBER_DOWN);
    p11mux_health_clear(&shared.health);
}
END_TEST

static gpointer
run_calls(gpointer data)
{
    P11muxHealth *health = data;

    for (int i = 0; i < CALLS_EACH; i++) {
        p11mux_health_call_started(health, i);
        p11mux_health_record(health, P11MUX_MEMBER_RV_OK, i, NULL, NULL);
        ck_assert_uint_ge(p11mux_health_in_flight(health), 1);
        p11mux_health_call_ended(health, i, i);
    }
    return NULL;
}

START_TEST(test_group_health_in_flight_from_many_threads)
{
    P11muxHealth health;
    GThread *threads[RECORDERS];

    health_init(&health, 0);
    for (int i = 0; i < RECORDERS; i++) {
        threads[i] = g_thread_new("caller", run_calls, &health);
    }
    for (int i = 0; i < RECORDERS; i++) {
        g_thread_join(threads[i]);
    }
    ck_assert_uint_eq(p11mux_health_in_flight(&health), 0);
    ck_assert_int_eq(p11mux_health_state(&health), P11MUX_MEMBER_ACTIVE);
    p11mux_health_clear(&health);
}
END_TEST

/* ---------------------------------------------------------------- prober */

static void
count_probe(gpointer data)
{
    g_atomic_int_inc((gint *)data);
}

/* Waits up to 2 s for *count to reach at_least. */
static gboolean
wait_for_count(gint *count, gint at_least)
{
    gint64 deadline = g_get_monotonic_time() + 2 * S;

    while (g_atomic_int_get(count) < at_least) {
        if (g_get_monotonic_time() > deadline) {
            return FALSE;
        }
        g_usleep(1 * MS);
    }
    return TRUE;
}

START_TEST(test_group_health_prober_thread_probes_until_freed)
{
    gint count = 0;
    gint after_free;
    P11muxProber *prober = p11mux_prober_new(TRUE, 10 * MS, count_probe, &count);

    ck_assert_ptr_nonnull(prober);
    ck_assert_msg(wait_for_count(&count, 5), "probed %d times in 2 s", g_atomic_int_get(&count));
    p11mux_prober_poll(prober); /* nothing inline with a thread */
    p11mux_prober_free(prober);
    after_free = g_atomic_int_get(&count);
    g_usleep(50 * MS);
    ck_assert_int_eq(g_atomic_int_get(&count), after_free);
}
END_TEST

typedef struct {
    gint in_probe;
    gint count;
} SlowProbe;

static void
slow_probe(gpointer data)
{
    SlowProbe *slow = data;

    g_atomic_int_set(&slow->in_probe, 1);
    g_atomic_int_inc(&slow->count);
    g_usleep(50 * MS);
    g_atomic_int_set(&slow->in_probe, 0);
}

START_TEST(test_group_health_prober_free_waits_for_a_running_probe)
{
    SlowProbe slow = {0};
    P11muxProber *prober = p11mux_prober_new(TRUE, 10 * MS, slow_probe, &slow);
    gint64 deadline = g_get_monotonic_time() + 2 * S;

    while (!g_atomic_int_get(&slow.in_probe) && g_get_monotonic_time() < deadline) {
        g_usleep(1 * MS);
    }
    ck_assert(g_atomic_int_get(&slow.in_probe));
    p11mux_prober_free(prober); /* joins: the probe has returned */
    ck_assert_int_eq(g_atomic_int_get(&slow.in_probe), 0);
}
END_TEST

START_TEST(test_group_health_prober_thread_keeps_its_tick)
{
    gint count = 0;
    gint64 started = g_get_monotonic_time();
    gint64 elapsed;
    P11muxProber *prober = p11mux_prober_new(TRUE, 20 * MS, count_probe, &count);

    ck_assert(wait_for_count(&count, 3));
    elapsed = g_get_monotonic_time() - started;
    p11mux_prober_free(prober);
    /* three probes: at once, after one tick, after two */
    ck_assert_int_ge(elapsed, 40 * MS);
}
END_TEST

START_TEST(test_group_health_prober_inline_polls_once_per_tick)
{
    gint count = 0;
    g_autoptr(P11muxProber) prober = p11mux_prober_new(FALSE, 100 * MS, count_probe, &count);
    gint64 first;
    gint polled;

    g_usleep(20 * MS);
    ck_assert_int_eq(g_atomic_int_get(&count), 0); /* nothing in the background */
    first = g_get_monotonic_time();
    for (int i = 0; i < 10; i++) {
        p11mux_prober_poll(prober);
    }
    polled = g_atomic_int_get(&count);
    if (g_get_monotonic_time() - first < 100 * MS) {
        ck_assert_int_eq(polled, 1);
    }
    g_usleep(110 * MS);
    p11mux_prober_poll(prober);
    p11mux_prober_poll(prober);
    ck_assert_int_eq(g_atomic_int_get(&count), polled + 1);
}
END_TEST

START_TEST(test_group_health_prober_forgotten_in_a_child)
{
    gint count = 0;
    P11muxProber *prober = p11mux_prober_new(TRUE, 10 * MS, count_probe, &count);
    pid_t pid;
    int status = 0;

    ck_assert(wait_for_count(&count, 1));
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* no thread here: free must not wait for it */
        p11mux_prober_forget(prober);
        p11mux_prober_free(prober);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    p11mux_prober_free(prober);
}
END_TEST

/* ------------------------------------------------------------- PIN vault */

static P11muxPinVault *
vault_with(const char *pin)
{
    P11muxPinVault *vault = p11mux_pin_vault_new();

    ck_assert_msg(vault != NULL, "no locked page (RLIMIT_MEMLOCK?)");
    ck_assert(p11mux_pin_vault_set(vault, (const CK_UTF8CHAR *)pin, strlen(pin)));
    return vault;
}

static void
assert_vault_holds(P11muxPinVault *vault, const char *pin)
{
    CK_UTF8CHAR buffer[P11MUX_PIN_VAULT_MAX];
    CK_ULONG len = 0;

    ck_assert(p11mux_pin_vault_has(vault));
    ck_assert(p11mux_pin_vault_get(vault, buffer, sizeof(buffer), &len));
    ck_assert_uint_eq(len, strlen(pin));
    ck_assert(memcmp(buffer, pin, len) == 0);
}

/* Nothing kept, and every byte get copies out (the vault's) is zero. */
static gboolean
vault_is_wiped(P11muxPinVault *vault)
{
    CK_UTF8CHAR buffer[P11MUX_PIN_VAULT_MAX];
    CK_ULONG len = 99;

    memset(buffer, 0xa5, sizeof(buffer));
    if (p11mux_pin_vault_has(vault) || p11mux_pin_vault_get(vault, buffer, sizeof(buffer), &len) ||
        len != 0) {
        return FALSE;
    }
    for (gsize i = 0; i < sizeof(buffer); i++) {
        if (buffer[i] != 0) {
            return FALSE;
        }
    }
    return TRUE;
}

/* A write to a closed pipe in a child whose SIGPIPE is the default (death):
 * guarded (p11mux_sigpipe_block, restore) or not; the child's wait status. */
static int
write_to_closed_pipe(gboolean guarded)
{
    pid_t pid = fork();
    int status = 0;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        P11muxSigpipe guard;
        int fds[2];
        ssize_t written;

        signal(SIGPIPE, SIG_DFL);
        if (pipe(fds) != 0) {
            _exit(3);
        }
        close(fds[0]);
        if (guarded) {
            p11mux_sigpipe_block(&guard);
        }
        written = write(fds[1], "x", 1);
        if (guarded) {
            p11mux_sigpipe_restore(&guard);
        }
        _exit(written == -1 ? 0 : 4);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

/* A member whose server died must not take the application with it: the
 * SIGPIPE a member call raises is dropped, the application's handling of
 * SIGPIPE (here the default, which kills) untouched. */
START_TEST(test_group_health_member_calls_keep_sigpipe)
{
    int unguarded = write_to_closed_pipe(FALSE);
    int guarded = write_to_closed_pipe(TRUE);

    ck_assert(WIFSIGNALED(unguarded) && WTERMSIG(unguarded) == SIGPIPE);
    ck_assert(WIFEXITED(guarded));
    ck_assert_int_eq(WEXITSTATUS(guarded), 0);
}
END_TEST

START_TEST(test_group_health_pin_vault_keeps_and_clears)
{
    g_autoptr(P11muxPinVault) vault = p11mux_pin_vault_new();
    char longest[P11MUX_PIN_VAULT_MAX + 1];

    ck_assert_ptr_nonnull(vault);
    ck_assert(!p11mux_pin_vault_has(vault));
    ck_assert(vault_is_wiped(vault));

    ck_assert(p11mux_pin_vault_set(vault, (const CK_UTF8CHAR *)"123456", 6));
    assert_vault_holds(vault, "123456");
    ck_assert(p11mux_pin_vault_set(vault, (const CK_UTF8CHAR *)"ab", 2)); /* replaced */
    assert_vault_holds(vault, "ab");

    /* the longest, then wiped to its last byte */
    memset(longest, 'x', P11MUX_PIN_VAULT_MAX);
    longest[P11MUX_PIN_VAULT_MAX] = '\0';
    ck_assert(p11mux_pin_vault_set(vault, (const CK_UTF8CHAR *)longest, P11MUX_PIN_VAULT_MAX));
    assert_vault_holds(vault, longest);
    p11mux_pin_vault_clear(vault);
    ck_assert(vault_is_wiped(vault));

    /* an empty PIN is a PIN */
    ck_assert(p11mux_pin_vault_set(vault, NULL, 0));
    assert_vault_holds(vault, "");
    p11mux_pin_vault_clear(vault);
    ck_assert(vault_is_wiped(vault));
}
END_TEST

START_TEST(test_group_health_pin_vault_refuses_too_long)
{
    g_autoptr(P11muxPinVault) vault = vault_with("1234");
    CK_UTF8CHAR too_long[P11MUX_PIN_VAULT_MAX + 1];

    memset(too_long, 'y', sizeof(too_long));
    ck_assert(!p11mux_pin_vault_set(vault, too_long, sizeof(too_long)));
    /* and the old PIN is not kept for the login that PIN was for */
    ck_assert(vault_is_wiped(vault));
    ck_assert(!p11mux_pin_vault_set(vault, NULL, 4));
    ck_assert(vault_is_wiped(vault));
}
END_TEST

START_TEST(test_group_health_pin_vault_get_into_a_short_buffer)
{
    g_autoptr(P11muxPinVault) vault = vault_with("12345678");
    CK_UTF8CHAR buffer[4];
    CK_ULONG len = 0;

    memset(buffer, 0xa5, sizeof(buffer));
    ck_assert(!p11mux_pin_vault_get(vault, buffer, sizeof(buffer), &len));
    ck_assert_uint_eq(len, 8);
    for (gsize i = 0; i < sizeof(buffer); i++) {
        ck_assert_uint_eq(buffer[i], 0); /* no part of the PIN */
    }
    assert_vault_holds(vault, "12345678");
}
END_TEST

START_TEST(test_group_health_pin_vaults_registered_and_freed)
{
    P11muxPinVault *vaults[5];

    for (int i = 0; i < 5; i++) {
        vaults[i] = vault_with("0000");
    }
    /* freed out of order: the others stay registered and intact */
    p11mux_pin_vault_free(vaults[2]);
    p11mux_pin_vault_free(vaults[4]);
    p11mux_pin_vault_free(vaults[0]);
    assert_vault_holds(vaults[1], "0000");
    assert_vault_holds(vaults[3], "0000");
    p11mux_pin_vault_free(vaults[1]);
    p11mux_pin_vault_free(vaults[3]);
    p11mux_pin_vault_free(NULL);
}
END_TEST

/* Exit statuses of the child below. */
enum {
    CHILD_OK,
    CHILD_KEPT_ACROSS_FORK,
    CHILD_CANNOT_SET,
    CHILD_KEPT_AFTER_WIPE,
    CHILD_OTHER_KEPT,
};

/* In the child: nothing came across fork(); what the child keeps itself is
 * wiped by p11mux_pin_vaults_wipe_after_fork, in every vault. */
static int
child_checks(P11muxPinVault *vault, P11muxPinVault *other)
{
    if (!vault_is_wiped(vault) || !vault_is_wiped(other)) {
        return CHILD_KEPT_ACROSS_FORK;
    }
    if (!p11mux_pin_vault_set(vault, (const CK_UTF8CHAR *)"child", 5) ||
        !p11mux_pin_vault_set(other, (const CK_UTF8CHAR *)"other", 5)) {
        return CHILD_CANNOT_SET;
    }
    p11mux_pin_vaults_wipe_after_fork();
    if (!vault_is_wiped(vault)) {
        return CHILD_KEPT_AFTER_WIPE;
    }
    if (!vault_is_wiped(other)) {
        return CHILD_OTHER_KEPT;
    }
    return CHILD_OK;
}

START_TEST(test_group_health_pin_vault_wiped_in_a_child)
{
    g_autoptr(P11muxPinVault) vault = vault_with("secret-pin");
    g_autoptr(P11muxPinVault) other = vault_with("another-pin");
    pid_t pid;
    int status = 0;

    /* where the kernel would wipe the page itself, let it not: the child
     * must be clean by p11mux's own doing (the atfork handler) */
    (void)p11mux_pin_vault_keep_on_fork(vault);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        _exit(child_checks(vault, other));
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), CHILD_OK);
    /* the parent keeps its PINs */
    assert_vault_holds(vault, "secret-pin");
    assert_vault_holds(other, "another-pin");
}
END_TEST

static Suite *
group_health_suite(void)
{
    Suite *suite = suite_create("group-health");
    TCase *classes = tcase_create("classification");
    TCase *states = tcase_create("states");
    TCase *threads = tcase_create("threads");
    TCase *vault = tcase_create("pin-vault");

    tcase_add_test(classes, test_group_health_classify_default_list);
    tcase_add_test(classes, test_group_health_classify_custom_list);
    tcase_add_test(classes, test_group_health_classify_empty_list);
    tcase_add_test(classes, test_group_health_state_names);
    tcase_add_test(classes, test_group_health_member_calls_keep_sigpipe);
    suite_add_tcase(suite, classes);

    tcase_add_test(states, test_group_health_threshold_takes_consecutive_faults);
    tcase_add_test(states, test_group_health_success_resets_the_count);
    tcase_add_test(states, test_group_health_gone_and_reinit_are_down_at_once);
    tcase_add_test(states, test_group_health_busy_session_login_never_count);
    tcase_add_test(states, test_group_health_suspect_is_probed_at_once_and_comes_back);
    tcase_add_test(states, test_group_health_down_recovers_through_admission);
    tcase_add_test(states, test_group_health_back_off_doubles_within_bounds);
    tcase_add_test(states, test_group_health_back_off_starts_at_its_minimum);
    tcase_add_test(states, test_group_health_suspect_backs_off_after_a_failed_probe);
    tcase_add_test(states, test_group_health_down_counts_from_the_next_look);
    tcase_add_test(states, test_group_health_keepalive_probes_idle_members);
    tcase_add_test(states, test_group_health_quarantine_is_final);
    tcase_add_test(states, test_group_health_call_timeout_makes_suspect);
    tcase_add_test(states, test_group_health_call_timeout_counts_from_the_oldest_call);
    suite_add_tcase(suite, states);

    tcase_set_timeout(threads, 60);
    tcase_add_test(threads, test_group_health_records_from_many_threads);
    tcase_add_test(threads, test_group_health_in_flight_from_many_threads);
    tcase_add_test(threads, test_group_health_prober_thread_probes_until_freed);
    tcase_add_test(threads, test_group_health_prober_free_waits_for_a_running_probe);
    tcase_add_test(threads, test_group_health_prober_thread_keeps_its_tick);
    tcase_add_test(threads, test_group_health_prober_inline_polls_once_per_tick);
    tcase_add_test(threads, test_group_health_prober_forgotten_in_a_child);
    suite_add_tcase(suite, threads);

    tcase_add_test(vault, test_group_health_pin_vault_keeps_and_clears);
    tcase_add_test(vault, test_group_health_pin_vault_refuses_too_long);
    tcase_add_test(vault, test_group_health_pin_vault_get_into_a_short_buffer);
    tcase_add_test(vault, test_group_health_pin_vaults_registered_and_freed);
    tcase_add_test(vault, test_group_health_pin_vault_wiped_in_a_child);
    suite_add_tcase(suite, vault);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(group_health_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
