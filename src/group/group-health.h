/*
 * The health of an HA group's members (group-health.c; HA-GROUPS §8.1, §9,
 * §6.3): what a member's return value means, each member's state machine
 * (ACTIVE, SUSPECT, DOWN, RECOVERING, QUARANTINED) with its error count,
 * probe cadence and back-off, the calls running on it, the worker that
 * probes, and the vault that keeps the group's PIN for re-login.
 *
 * Nothing here calls a backend: the group (group.c) runs the calls and
 * probes and tells a P11muxHealth what came of them; the health says what
 * state the member is in and when it is to be probed.  Times are
 * microseconds of one monotonic clock (g_get_monotonic_time()), given by
 * the caller so that tests choose them.
 *
 * Lock order: a P11muxHealth's lock, a prober's lock and the vaults' lock
 * are leaves (nothing is called and no other lock taken while one is held).
 */
#ifndef P11MUX_GROUP_HEALTH_H
#define P11MUX_GROUP_HEALTH_H

#include <glib.h>

#include "p11mux-pkcs11.h"

G_BEGIN_DECLS

/* ------------------------------------------------- return values (§8.1) */

/* What a member's return value means (HA-GROUPS.md §8.1). */
typedef enum {
    P11MUX_MEMBER_RV_OK,      /* CKR_OK */
    P11MUX_MEMBER_RV_REQUEST, /* the request's fault: returned unchanged, no retry */
    P11MUX_MEMBER_RV_FAULT,   /* in failover-on (not gone): counts toward error-threshold;
                               * retry elsewhere */
    P11MUX_MEMBER_RV_GONE,    /* CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT when in
                               * failover-on: DOWN now */
    P11MUX_MEMBER_RV_BUSY,    /* CKR_DEVICE_MEMORY: retry elsewhere, does not count */
    P11MUX_MEMBER_RV_SESSION, /* CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED: reopen once */
    P11MUX_MEMBER_RV_LOGIN,   /* CKR_USER_NOT_LOGGED_IN while the group is logged in */
    P11MUX_MEMBER_RV_REINIT,  /* CKR_CRYPTOKI_NOT_INITIALIZED: DOWN, backend to re-initialise */
} P11muxMemberRv;

/*
 * The class of rv, returned by a member.  failover_on: GArray of CK_RV
 * (the group's or the member's backend's list, p11mux_conf_member_failover_on;
 * transfer none, nullable: NULL is the default list, CKR_DEVICE_ERROR
 * CKR_DEVICE_REMOVED CKR_TOKEN_NOT_PRESENT CKR_GENERAL_ERROR); logged_in:
 * the group is logged in.
 *
 * The built-in rows come first and do not follow the list: CKR_DEVICE_MEMORY
 * is BUSY, CKR_SESSION_HANDLE_INVALID and CKR_SESSION_CLOSED are SESSION,
 * CKR_USER_NOT_LOGGED_IN is LOGIN when logged_in, CKR_CRYPTOKI_NOT_INITIALIZED
 * is REINIT.  Then CKR_DEVICE_REMOVED and CKR_TOKEN_NOT_PRESENT are GONE and
 * any other value is FAULT when the list holds it; everything else
 * (CKR_DEVICE_REMOVED included, when the list does not hold it) is REQUEST.
 */
P11muxMemberRv p11mux_member_rv_classify(CK_RV rv, const GArray *failover_on, gboolean logged_in);

/* --------------------------------------------------------- states (§9.1) */

typedef enum {
    P11MUX_MEMBER_ACTIVE,      /* takes new operations */
    P11MUX_MEMBER_SUSPECT,     /* a fault below the threshold or a call past call-timeout:
                                * no new operations, probed at once */
    P11MUX_MEMBER_DOWN,        /* probed with back-off until a probe succeeds */
    P11MUX_MEMBER_RECOVERING,  /* answered a probe; re-admission (§9.2) is the caller's */
    P11MUX_MEMBER_QUARANTINED, /* for good (until C_Finalize): never probed, never used */
} P11muxMemberState;

/* "active", "suspect", "down", "recovering", "quarantined" (static). */
const char *p11mux_member_state_name(P11muxMemberState state);

/*
 * One member's health.  Thread-safe: calls are recorded by many application
 * threads at once and probes by the prober's; the state machine is under
 * lock, the state and the number of calls running are also read without it
 * (atomics).  Nothing is allocated after p11mux_health_init.  Defined here
 * so that it can be embedded; its fields are group-health.c's alone.
 */
typedef struct P11muxHealth P11muxHealth;
struct P11muxHealth {
    GMutex lock;
    gint state;     /* P11muxMemberState: written under lock, read atomically */
    gint errors;    /* consecutive failover-class errors: idem */
    gint in_flight; /* calls running now: idem */
    guint error_threshold;
    gint64 probe_interval_us;
    gint64 backoff_min_us;
    gint64 backoff_max_us;
    gint64 keepalive_us;
    gint64 backoff_us;      /* the wait before the probe after the next failed one */
    gint64 anchor_us;       /* the next probe is due at anchor_us + wait_us; G_MININT64:
                             * counted from the next time p11mux_health_probe_due looks */
    gint64 wait_us;         /* for an ACTIVE member: keepalive_us (idle since anchor_us) */
    GArray *running;        /* gint64: when each call running now started (in_flight of them) */
    gint64 call_timeout_us; /* the last one p11mux_health_check_timeout was given; 0: none */
};

/*
 * A member starting ACTIVE with no error.  error_threshold: consecutive
 * failover-class errors before DOWN (0 counts as 1); probe_interval_us: the
 * first wait between probes of a non-ACTIVE member, kept within
 * [backoff_min_us, backoff_max_us] and doubled (up to backoff_max_us) by
 * every failed probe; keepalive_us: probe an ACTIVE member idle this long
 * (0: never).
 */
void p11mux_health_init(P11muxHealth *health, guint error_threshold, gint64 probe_interval_us,
                        gint64 backoff_min_us, gint64 backoff_max_us, gint64 keepalive_us);
/* Releases what init took (not in a child after fork: the lock may have
 * been held by a thread that is not there; drop the memory instead). */
void p11mux_health_clear(P11muxHealth *health);

/* The state now (without the lock). */
P11muxMemberState p11mux_health_state(P11muxHealth *health);

/*
 * A call on the member returned klass (p11mux_member_rv_classify).  TRUE
 * when the state changed, with *from and *to set (nullable; the caller
 * traces it).
 *   OK, REQUEST: the member answered; its error count is reset (a SUSPECT
 *     member stays SUSPECT until a probe succeeds).
 *   FAULT: counted; at error_threshold an ACTIVE, SUSPECT or RECOVERING
 *     member goes DOWN, below it ACTIVE goes SUSPECT and RECOVERING DOWN.
 *   GONE, REINIT: DOWN now (the error count set to the threshold).
 *   BUSY, SESSION, LOGIN: no change (the caller reopens, logs in again, or
 *     calls p11mux_health_down or p11mux_health_quarantine).
 * A QUARANTINED member never changes.
 */
gboolean p11mux_health_record(P11muxHealth *health, P11muxMemberRv klass, gint64 now_us,
                              P11muxMemberState *from, P11muxMemberState *to);

/* The member may take new operations (ACTIVE only; without the lock). */
gboolean p11mux_health_usable(P11muxHealth *health);

/*
 * A probe is due at now_us: a member that just became SUSPECT at once;
 * otherwise a non-ACTIVE member at the current back-off after the last
 * probe or state change
 * (probe_interval_us, doubled by each failed probe within the bounds,
 * never giving up); an ACTIVE member when keepalive_us is not 0, no call is
 * running and none has ended (nor a probe run) for keepalive_us;
 * QUARANTINED never.  Reserves nothing: one prober asks.
 */
gboolean p11mux_health_probe_due(P11muxHealth *health, gint64 now_us);

/*
 * The outcome of a probe.  ok: the error count is reset and the back-off
 * starts again from probe_interval_us; SUSPECT goes ACTIVE unless a call is
 * past the call timeout (p11mux_health_check_timeout), DOWN goes RECOVERING
 * (re-admission is then the caller's: p11mux_health_admit or
 * p11mux_health_quarantine).  A failure counts like a FAULT (ACTIVE goes
 * SUSPECT or DOWN, SUSPECT DOWN at the threshold, RECOVERING DOWN) and
 * doubles the back-off.  TRUE when the state changed (*from, *to set;
 * nullable).
 */
gboolean p11mux_health_probe_result(P11muxHealth *health, gboolean ok, gint64 now_us,
                                    P11muxMemberState *from, P11muxMemberState *to);

/* RECOVERING (or DOWN or SUSPECT) -> ACTIVE, errors and back-off reset;
 * keepalive counted from the next p11mux_health_probe_due.  Not from
 * QUARANTINED. */
void p11mux_health_admit(P11muxHealth *health);
/* -> QUARANTINED for good (PIN mismatch, divergence, failed re-admission). */
void p11mux_health_quarantine(P11muxHealth *health);
/* -> DOWN now (gone, failed reopen), unless QUARANTINED; the first probe is
 * due a back-off after the next p11mux_health_probe_due. */
void p11mux_health_down(P11muxHealth *health);

/*
 * For call-timeout and least-busy dispatch: a call on the member starts at
 * started_us and ends at now_us; every start is paired with one end given
 * the same started_us.  The timeout is judged on the oldest call running,
 * so a call that hangs is found even while other calls on the member keep
 * ending.
 */
void p11mux_health_call_started(P11muxHealth *health, gint64 started_us);
void p11mux_health_call_ended(P11muxHealth *health, gint64 started_us, gint64 now_us);
/* A call running past call_timeout_us (0: none) makes an ACTIVE member
 * SUSPECT (routing only: no error counted); TRUE if changed.  The timeout
 * is kept for p11mux_health_probe_result. */
gboolean p11mux_health_check_timeout(P11muxHealth *health, gint64 now_us, gint64 call_timeout_us);
/* Calls running now (without the lock): least-busy dispatch. */
guint p11mux_health_in_flight(P11muxHealth *health);

/* ------------------------------------------------------ the probe worker */

/*
 * The probe worker: one GLib thread per prober that calls probe(data) at
 * once and then every tick_us (at most), or, with threads FALSE
 * (CKF_LIBRARY_CANT_CREATE_OS_THREADS), nothing in the background:
 * p11mux_prober_poll then runs probe inline at most once per tick_us (the
 * group calls it on application calls).  probe returns nothing; it checks
 * p11mux_health_probe_due itself.  When no thread can be made, the prober
 * works inline as with threads FALSE.  transfer full; data: transfer none.
 */
typedef struct P11muxProber P11muxProber;
P11muxProber *p11mux_prober_new(gboolean threads, gint64 tick_us, void (*probe)(gpointer data),
                                gpointer data);
/* Inline mode: probe(data) in this thread if tick_us has passed since the
 * last poll that ran it and no other thread is running it now.  With a
 * thread: nothing. */
void p11mux_prober_poll(P11muxProber *prober);
/* Stops and joins the thread (waiting for a probe running now); safe from
 * any thread but probe's own.  nullable. */
void p11mux_prober_free(P11muxProber *prober);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxProber, p11mux_prober_free)
/* In a child after fork(): forget the thread (it does not exist there)
 * without joining; p11mux_prober_free then only frees. */
void p11mux_prober_forget(P11muxProber *prober);

/* ------------------------------------------------- the retained PIN (§6.3) */

#define P11MUX_PIN_VAULT_MAX 256 /* bytes */

/*
 * The retained PIN (§6.3): one mlock()ed, MADV_DONTDUMP page-aligned
 * buffer, MADV_WIPEONFORK where the kernel has it, wiped with explicit_bzero
 * on clear and free; never logged.  At most P11MUX_PIN_VAULT_MAX bytes.
 * Thread-safe (one lock for every vault).  Every vault is also wiped in the
 * child of a fork() by an atfork handler registered with the first vault.
 */
typedef struct P11muxPinVault P11muxPinVault;
/* transfer full; NULL if the memory cannot be had (mmap, mlock or
 * MADV_DONTDUMP refused: then pin-retention behaves as none). */
P11muxPinVault *p11mux_pin_vault_new(void);
/* Keep pin (len bytes; pin nullable when len is 0: an empty PIN is a PIN),
 * replacing what was kept.  FALSE: too long (more than
 * P11MUX_PIN_VAULT_MAX bytes) or pin NULL, and then nothing is kept. */
gboolean p11mux_pin_vault_set(P11muxPinVault *vault, const CK_UTF8CHAR *pin, CK_ULONG len);
/*
 * Copies the PIN out into buffer (size bytes) and its length into *len.
 * FALSE when none is kept: buffer then holds the vault's wiped bytes
 * (zeros, the first MIN(size, P11MUX_PIN_VAULT_MAX) of them) and *len is 0;
 * or when buffer is shorter than the PIN: buffer is zeroed and *len is the
 * length needed.  The caller wipes its copy (explicit_bzero) after use.
 */
gboolean p11mux_pin_vault_get(P11muxPinVault *vault, CK_UTF8CHAR *buffer, gsize size,
                              CK_ULONG *len);
gboolean p11mux_pin_vault_has(P11muxPinVault *vault);
/* Wipes the PIN (explicit_bzero of every byte the vault holds). */
void p11mux_pin_vault_clear(P11muxPinVault *vault);
/* Wipes and frees; nullable. */
void p11mux_pin_vault_free(P11muxPinVault *vault);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxPinVault, p11mux_pin_vault_free)
/*
 * Wipe every vault in a child after fork() (call from the child, right
 * after the fork and before it starts threads: an atfork child handler is
 * the place; vaults register themselves at new).  It takes the vaults' lock
 * afresh, since the thread that held it in the parent does not exist here.
 */
void p11mux_pin_vaults_wipe_after_fork(void);

/* For tests: let the kernel keep vault's page in a child (MADV_KEEPONFORK),
 * so that a test sees what p11mux_pin_vaults_wipe_after_fork does alone.
 * FALSE where the kernel cannot. */
gboolean p11mux_pin_vault_keep_on_fork(P11muxPinVault *vault);

G_END_DECLS

#endif /* P11MUX_GROUP_HEALTH_H */
