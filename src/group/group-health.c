/*
 * The health of an HA group's members (group-health.h; HA-GROUPS §8.1, §9,
 * §6.3): return-value classes, the member state machine, the probe worker
 * and the PIN vault.
 *
 * Lock order: every lock here is a leaf.  A P11muxHealth's lock guards its
 * state machine (the state, error and in-flight counts are also read
 * atomically without it); a prober's lock guards its stop flag and inline
 * bookkeeping and is never held while probe runs; vaults_lock guards the
 * list of vaults and every vault's page, and is held by the atfork prepare
 * handler across fork() so that the child finds them consistent.
 */
#include "config.h"

#include "group-health.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ------------------------------------------------- return values (§8.1) */

static const CK_RV default_failover_on[] = {
    CKR_DEVICE_ERROR,
    CKR_DEVICE_REMOVED,
    CKR_TOKEN_NOT_PRESENT,
    CKR_GENERAL_ERROR,
};

static gboolean
failover_on_holds(const GArray *failover_on, CK_RV rv)
{
    guint i;

    if (failover_on == NULL) {
        for (i = 0; i < G_N_ELEMENTS(default_failover_on); i++) {
            if (default_failover_on[i] == rv) {
                return TRUE;
            }
        }
        return FALSE;
    }
    for (i = 0; i < failover_on->len; i++) {
        if (g_array_index(failover_on, CK_RV, i) == rv) {
            return TRUE;
        }
    }
    return FALSE;
}

/* The rows of §8.1 that do not follow failover-on; REQUEST for none. */
static P11muxMemberRv
classify_built_in(CK_RV rv, gboolean logged_in)
{
    switch (rv) {
    case CKR_OK:
        return P11MUX_MEMBER_RV_OK;
    case CKR_DEVICE_MEMORY:
        return P11MUX_MEMBER_RV_BUSY;
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
        return P11MUX_MEMBER_RV_SESSION;
    case CKR_USER_NOT_LOGGED_IN:
        return logged_in ? P11MUX_MEMBER_RV_LOGIN : P11MUX_MEMBER_RV_REQUEST;
    case CKR_CRYPTOKI_NOT_INITIALIZED:
        return P11MUX_MEMBER_RV_REINIT;
    default:
        return P11MUX_MEMBER_RV_REQUEST;
    }
}

P11muxMemberRv
p11mux_member_rv_classify(CK_RV rv, const GArray *failover_on, gboolean logged_in)
{
    P11muxMemberRv klass = classify_built_in(rv, logged_in);

    if (klass != P11MUX_MEMBER_RV_REQUEST || !failover_on_holds(failover_on, rv)) {
        return klass;
    }
    if (rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT) {
        return P11MUX_MEMBER_RV_GONE;
    }
    return P11MUX_MEMBER_RV_FAULT;
}

/* --------------------------------------------------------- states (§9.1) */

const char *
p11mux_member_state_name(P11muxMemberState state)
{
    switch (state) {
    case P11MUX_MEMBER_ACTIVE:
        return "active";
    case P11MUX_MEMBER_SUSPECT:
        return "suspect";
    case P11MUX_MEMBER_DOWN:
        return "down";
    case P11MUX_MEMBER_RECOVERING:
        return "recovering";
    case P11MUX_MEMBER_QUARANTINED:
        return "quarantined";
    }
    return "invalid";
}

#define UNANCHORED G_MININT64

/* The first wait between probes of a non-ACTIVE member. */
static gint64
backoff_first(const P11muxHealth *health)
{
    return MAX(CLAMP(health->probe_interval_us, health->backoff_min_us, health->backoff_max_us), 1);
}

void
p11mux_health_init(P11muxHealth *health, guint error_threshold, gint64 probe_interval_us,
                   gint64 backoff_min_us, gint64 backoff_max_us, gint64 keepalive_us)
{
    memset(health, 0, sizeof(*health));
    g_mutex_init(&health->lock);
    health->state = P11MUX_MEMBER_ACTIVE;
    health->error_threshold = MAX(error_threshold, 1);
    health->probe_interval_us = probe_interval_us;
    health->backoff_min_us = MAX(backoff_min_us, 0);
    health->backoff_max_us = MAX(backoff_max_us, MAX(health->backoff_min_us, 1));
    health->keepalive_us = MAX(keepalive_us, 0);
    health->backoff_us = backoff_first(health);
    health->anchor_us = UNANCHORED;
    health->wait_us = health->keepalive_us;
    health->running = g_array_new(FALSE, FALSE, sizeof(gint64));
}

void
p11mux_health_clear(P11muxHealth *health)
{
    g_clear_pointer(&health->running, g_array_unref);
    g_mutex_clear(&health->lock);
}

P11muxMemberState
p11mux_health_state(P11muxHealth *health)
{
    return (P11muxMemberState)g_atomic_int_get(&health->state);
}

gboolean
p11mux_health_usable(P11muxHealth *health)
{
    return p11mux_health_state(health) == P11MUX_MEMBER_ACTIVE;
}

guint
p11mux_health_in_flight(P11muxHealth *health)
{
    return (guint)g_atomic_int_get(&health->in_flight);
}

/* Under lock: enter state to, the next probe wait_us after now_us (or after
 * the next look at the clock when now_us is UNANCHORED).  TRUE if changed. */
static gboolean
enter(P11muxHealth *health, P11muxMemberState to, gint64 now_us, gint64 wait_us,
      P11muxMemberState *from_out, P11muxMemberState *to_out)
{
    P11muxMemberState from = (P11muxMemberState)health->state;

    health->anchor_us = now_us;
    health->wait_us = wait_us;
    if (from == to) {
        return FALSE;
    }
    g_atomic_int_set(&health->state, to);
    if (from_out != NULL) {
        *from_out = from;
    }
    if (to_out != NULL) {
        *to_out = to;
    }
    return TRUE;
}

/* Under lock: back to ACTIVE, the slate clean. */
static gboolean
enter_active(P11muxHealth *health, gint64 now_us, P11muxMemberState *from, P11muxMemberState *to)
{
    g_atomic_int_set(&health->errors, 0);
    health->backoff_us = backoff_first(health);
    return enter(health, P11MUX_MEMBER_ACTIVE, now_us, health->keepalive_us, from, to);
}

/* Under lock: the next probe a back-off after now_us, and the back-off doubled. */
static void
back_off(P11muxHealth *health, gint64 now_us)
{
    health->anchor_us = now_us;
    health->wait_us = health->backoff_us;
    health->backoff_us = health->backoff_us > health->backoff_max_us / 2 ? health->backoff_max_us
                                                                         : health->backoff_us * 2;
}

static gboolean
enter_down(P11muxHealth *health, gint64 now_us, P11muxMemberState *from, P11muxMemberState *to)
{
    gboolean changed = enter(health, P11MUX_MEMBER_DOWN, now_us, 0, from, to);

    g_atomic_int_set(&health->errors, (gint)health->error_threshold);
    back_off(health, now_us);
    return changed;
}

/* Under lock: one more failover-class error (a FAULT or a failed probe). */
static gboolean
count_fault(P11muxHealth *health, gint64 now_us, P11muxMemberState *from, P11muxMemberState *to)
{
    guint errors = (guint)health->errors;
    P11muxMemberState state = (P11muxMemberState)health->state;

    if (errors < health->error_threshold) {
        g_atomic_int_set(&health->errors, (gint)++errors);
    }
    switch (state) {
    case P11MUX_MEMBER_ACTIVE:
        if (errors >= health->error_threshold) {
            return enter_down(health, now_us, from, to);
        }
        return enter(health, P11MUX_MEMBER_SUSPECT, now_us, 0, from, to); /* probed at once */
    case P11MUX_MEMBER_SUSPECT:
        if (errors >= health->error_threshold) {
            return enter_down(health, now_us, from, to);
        }
        break; /* its probes keep their back-off */
    case P11MUX_MEMBER_RECOVERING:
        return enter_down(health, now_us, from, to);
    case P11MUX_MEMBER_DOWN:
    case P11MUX_MEMBER_QUARANTINED:
        break;
    }
    return FALSE;
}

gboolean
p11mux_health_record(P11muxHealth *health, P11muxMemberRv klass, gint64 now_us,
                     P11muxMemberState *from, P11muxMemberState *to)
{
    gboolean changed = FALSE;

    switch (klass) {
    case P11MUX_MEMBER_RV_OK:
    case P11MUX_MEMBER_RV_REQUEST:
        /* the common case: nothing to reset */
        if (g_atomic_int_get(&health->errors) == 0) {
            return FALSE;
        }
        break;
    case P11MUX_MEMBER_RV_BUSY:
    case P11MUX_MEMBER_RV_SESSION:
    case P11MUX_MEMBER_RV_LOGIN:
        return FALSE;
    case P11MUX_MEMBER_RV_FAULT:
    case P11MUX_MEMBER_RV_GONE:
    case P11MUX_MEMBER_RV_REINIT:
        break;
    }
    g_mutex_lock(&health->lock);
    if (health->state == P11MUX_MEMBER_QUARANTINED) {
        changed = FALSE;
    } else if (klass == P11MUX_MEMBER_RV_OK || klass == P11MUX_MEMBER_RV_REQUEST) {
        g_atomic_int_set(&health->errors, 0);
    } else if (klass == P11MUX_MEMBER_RV_FAULT) {
        changed = count_fault(health, now_us, from, to);
    } else if (health->state != P11MUX_MEMBER_DOWN) {
        changed = enter_down(health, now_us, from, to);
    }
    g_mutex_unlock(&health->lock);
    return changed;
}

/* Under lock: a call has been running call_timeout_us or longer at now_us. */
static gboolean
overdue(const P11muxHealth *health, gint64 now_us)
{
    gint64 oldest = G_MAXINT64;
    guint i;

    if (health->in_flight == 0 || health->call_timeout_us <= 0) {
        return FALSE;
    }
    for (i = 0; i < health->running->len; i++) {
        oldest = MIN(oldest, g_array_index(health->running, gint64, i));
    }
    return oldest != G_MAXINT64 && now_us - oldest >= health->call_timeout_us;
}

gboolean
p11mux_health_probe_due(P11muxHealth *health, gint64 now_us)
{
    gboolean due;

    g_mutex_lock(&health->lock);
    if (health->anchor_us == UNANCHORED) {
        health->anchor_us = now_us;
    }
    switch ((P11muxMemberState)health->state) {
    case P11MUX_MEMBER_ACTIVE:
        due = health->keepalive_us > 0 && health->in_flight == 0 &&
              now_us - health->anchor_us >= health->keepalive_us;
        break;
    case P11MUX_MEMBER_QUARANTINED:
        due = FALSE;
        break;
    default:
        due = now_us - health->anchor_us >= health->wait_us;
        break;
    }
    g_mutex_unlock(&health->lock);
    return due;
}

/* Under lock: the probe answered. */
static gboolean
probe_succeeded(P11muxHealth *health, gint64 now_us, P11muxMemberState *from, P11muxMemberState *to)
{
    g_atomic_int_set(&health->errors, 0);
    health->backoff_us = backoff_first(health);
    switch ((P11muxMemberState)health->state) {
    case P11MUX_MEMBER_ACTIVE:
        return enter_active(health, now_us, from, to);
    case P11MUX_MEMBER_SUSPECT:
        if (overdue(health, now_us)) {
            return enter(health, P11MUX_MEMBER_SUSPECT, now_us, health->backoff_us, from, to);
        }
        return enter_active(health, now_us, from, to);
    case P11MUX_MEMBER_DOWN:
    case P11MUX_MEMBER_RECOVERING:
        return enter(health, P11MUX_MEMBER_RECOVERING, now_us, health->backoff_us, from, to);
    case P11MUX_MEMBER_QUARANTINED:
        break;
    }
    return FALSE;
}

/* Under lock: the probe failed. */
static gboolean
probe_failed(P11muxHealth *health, gint64 now_us, P11muxMemberState *from, P11muxMemberState *to)
{
    gboolean changed;

    if (health->state == P11MUX_MEMBER_QUARANTINED) {
        return FALSE;
    }
    changed = count_fault(health, now_us, from, to);
    /* entering DOWN backed off already */
    if (!changed || health->state != P11MUX_MEMBER_DOWN) {
        back_off(health, now_us);
    }
    return changed;
}

gboolean
p11mux_health_probe_result(P11muxHealth *health, gboolean ok, gint64 now_us,
                           P11muxMemberState *from, P11muxMemberState *to)
{
    gboolean changed;

    g_mutex_lock(&health->lock);
    if (ok) {
        changed = probe_succeeded(health, now_us, from, to);
    } else {
        changed = probe_failed(health, now_us, from, to);
    }
    g_mutex_unlock(&health->lock);
    return changed;
}

void
p11mux_health_admit(P11muxHealth *health)
{
    g_mutex_lock(&health->lock);
    if (health->state != P11MUX_MEMBER_QUARANTINED) {
        enter_active(health, UNANCHORED, NULL, NULL);
    }
    g_mutex_unlock(&health->lock);
}

void
p11mux_health_quarantine(P11muxHealth *health)
{
    g_mutex_lock(&health->lock);
    enter(health, P11MUX_MEMBER_QUARANTINED, UNANCHORED, 0, NULL, NULL);
    g_mutex_unlock(&health->lock);
}

void
p11mux_health_down(P11muxHealth *health)
{
    g_mutex_lock(&health->lock);
    if (health->state != P11MUX_MEMBER_QUARANTINED && health->state != P11MUX_MEMBER_DOWN) {
        enter_down(health, UNANCHORED, NULL, NULL);
    }
    g_mutex_unlock(&health->lock);
}

void
p11mux_health_call_started(P11muxHealth *health, gint64 started_us)
{
    g_mutex_lock(&health->lock);
    g_array_append_val(health->running, started_us);
    g_atomic_int_inc(&health->in_flight);
    g_mutex_unlock(&health->lock);
}

void
p11mux_health_call_ended(P11muxHealth *health, gint64 started_us, gint64 now_us)
{
    guint i;

    g_mutex_lock(&health->lock);
    for (i = 0; i < health->running->len; i++) {
        if (g_array_index(health->running, gint64, i) == started_us) {
            g_array_remove_index_fast(health->running, i);
            break;
        }
    }
    if (health->in_flight > 0) {
        g_atomic_int_add(&health->in_flight, -1);
    }
    if (health->state == P11MUX_MEMBER_ACTIVE) {
        health->anchor_us = now_us; /* not idle: keepalive counts from here */
    }
    g_mutex_unlock(&health->lock);
}

gboolean
p11mux_health_check_timeout(P11muxHealth *health, gint64 now_us, gint64 call_timeout_us)
{
    gboolean changed = FALSE;

    g_mutex_lock(&health->lock);
    health->call_timeout_us = call_timeout_us;
    if (health->state == P11MUX_MEMBER_ACTIVE && overdue(health, now_us)) {
        changed = enter(health, P11MUX_MEMBER_SUSPECT, now_us, 0, NULL, NULL);
    }
    g_mutex_unlock(&health->lock);
    return changed;
}

/* ------------------------------------------------------ the probe worker */

struct P11muxProber {
    GMutex lock;
    GCond wake;         /* stopping set */
    gboolean stopping;  /* under lock */
    gboolean running;   /* inline: a poll runs probe now; under lock */
    gint64 last_run_us; /* inline: when a poll last ran probe; G_MININT64: never */
    gboolean threads;
    gint64 tick_us;
    void (*probe)(gpointer data);
    gpointer data;
    GThread *thread; /* NULL: inline, or forgotten after fork */
};

/* Threads forgotten in a child after fork: they cannot be freed there, and
 * are kept reachable rather than lost. */
static GSList *forgotten_threads;

static gpointer
prober_thread(gpointer user_data)
{
    P11muxProber *prober = user_data;
    gint64 deadline;

    g_mutex_lock(&prober->lock);
    while (!prober->stopping) {
        g_mutex_unlock(&prober->lock);
        deadline = g_get_monotonic_time() + prober->tick_us;
        prober->probe(prober->data);
        g_mutex_lock(&prober->lock);
        while (!prober->stopping && g_cond_wait_until(&prober->wake, &prober->lock, deadline)) {
            /* woken early (spuriously): wait on until the deadline */
        }
    }
    g_mutex_unlock(&prober->lock);
    return NULL;
}

P11muxProber *
p11mux_prober_new(gboolean threads, gint64 tick_us, void (*probe)(gpointer data), gpointer data)
{
    P11muxProber *prober;

    g_return_val_if_fail(probe != NULL, NULL);
    prober = g_new0(P11muxProber, 1);
    g_mutex_init(&prober->lock);
    g_cond_init(&prober->wake);
    prober->last_run_us = G_MININT64;
    prober->threads = threads;
    prober->tick_us = MAX(tick_us, 1);
    prober->probe = probe;
    prober->data = data;
    if (threads) {
        prober->thread = g_thread_try_new("p11mux-probe", prober_thread, prober, NULL);
        /* no thread to be had (a process at its limit): probe inline */
        prober->threads = prober->thread != NULL;
    }
    return prober;
}

void
p11mux_prober_poll(P11muxProber *prober)
{
    gint64 now_us = g_get_monotonic_time();
    gboolean run = FALSE;

    if (prober->threads) {
        return;
    }
    g_mutex_lock(&prober->lock);
    if (!prober->running &&
        (prober->last_run_us == G_MININT64 || now_us - prober->last_run_us >= prober->tick_us)) {
        prober->running = TRUE;
        prober->last_run_us = now_us;
        run = TRUE;
    }
    g_mutex_unlock(&prober->lock);
    if (!run) {
        return;
    }
    prober->probe(prober->data);
    g_mutex_lock(&prober->lock);
    prober->running = FALSE;
    g_mutex_unlock(&prober->lock);
}

void
p11mux_prober_free(P11muxProber *prober)
{
    if (prober == NULL) {
        return;
    }
    if (prober->thread != NULL) {
        g_return_if_fail(prober->thread != g_thread_self());
        g_mutex_lock(&prober->lock);
        prober->stopping = TRUE;
        g_cond_signal(&prober->wake);
        g_mutex_unlock(&prober->lock);
        g_thread_join(prober->thread);
    }
    g_mutex_clear(&prober->lock);
    g_cond_clear(&prober->wake);
    g_free(prober);
}

void
p11mux_prober_forget(P11muxProber *prober)
{
    if (prober->thread != NULL) {
        forgotten_threads = g_slist_prepend(forgotten_threads, prober->thread);
        prober->thread = NULL;
    }
    /* the thread may have held the lock when the process forked */
    g_mutex_init(&prober->lock);
    g_cond_init(&prober->wake);
    prober->stopping = FALSE;
    prober->running = FALSE;
}

/* ------------------------------------------------- the retained PIN (§6.3) */

/* The locked page: zero everywhere when no PIN is kept (so that a page the
 * kernel wiped in a child reads as empty). */
typedef struct {
    gboolean kept;
    CK_ULONG len;
    CK_UTF8CHAR pin[P11MUX_PIN_VAULT_MAX];
} VaultPage;

struct P11muxPinVault {
    P11muxPinVault *prev; /* every vault, under vaults_lock */
    P11muxPinVault *next;
    VaultPage *page; /* under vaults_lock */
    gsize size;      /* of the mapping */
};

static GMutex vaults_lock;
static P11muxPinVault *vaults;

static void
vaults_before_fork(void)
{
    g_mutex_lock(&vaults_lock);
}

static void
vaults_after_fork_parent(void)
{
    g_mutex_unlock(&vaults_lock);
}

static void
register_fork_handlers(void)
{
    static gsize once = 0;

    if (g_once_init_enter(&once)) {
        pthread_atfork(vaults_before_fork, vaults_after_fork_parent,
                       p11mux_pin_vaults_wipe_after_fork);
        g_once_init_leave(&once, 1);
    }
}

/* A zeroed, locked page that core dumps leave out and (where the kernel
 * can) a child finds zeroed; NULL if one cannot be had. */
static VaultPage *
page_new(gsize *size)
{
    long page_size = sysconf(_SC_PAGESIZE);
    void *mem;

    *size = (sizeof(VaultPage) + (gsize)page_size - 1) / (gsize)page_size * (gsize)page_size;
    mem = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        return NULL;
    }
    if (mlock(mem, *size) != 0) {
        munmap(mem, *size);
        return NULL;
    }
#ifdef MADV_DONTDUMP
    if (madvise(mem, *size, MADV_DONTDUMP) != 0) {
        munlock(mem, *size);
        munmap(mem, *size);
        return NULL;
    }
#endif
#ifdef MADV_WIPEONFORK
    /* EINVAL before Linux 4.14: the atfork handler wipes it then */
    (void)madvise(mem, *size, MADV_WIPEONFORK);
#endif
    return mem;
}

P11muxPinVault *
p11mux_pin_vault_new(void)
{
    P11muxPinVault *vault;
    gsize size;
    VaultPage *page = page_new(&size);

    if (page == NULL) {
        return NULL;
    }
    register_fork_handlers();
    vault = g_new0(P11muxPinVault, 1);
    vault->page = page;
    vault->size = size;
    g_mutex_lock(&vaults_lock);
    vault->next = vaults;
    if (vaults != NULL) {
        vaults->prev = vault;
    }
    vaults = vault;
    g_mutex_unlock(&vaults_lock);
    return vault;
}

gboolean
p11mux_pin_vault_set(P11muxPinVault *vault, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    gboolean fits = len <= P11MUX_PIN_VAULT_MAX && (pin != NULL || len == 0);

    g_mutex_lock(&vaults_lock);
    explicit_bzero(vault->page, sizeof(*vault->page));
    if (fits) {
        if (len > 0) {
            memcpy(vault->page->pin, pin, len);
        }
        vault->page->len = len;
        vault->page->kept = TRUE;
    }
    g_mutex_unlock(&vaults_lock);
    return fits;
}

gboolean
p11mux_pin_vault_get(P11muxPinVault *vault, CK_UTF8CHAR *buffer, gsize size, CK_ULONG *len)
{
    const VaultPage *page;
    gboolean got = FALSE;

    g_mutex_lock(&vaults_lock);
    page = vault->page;
    if (!page->kept) {
        /* all zeros: what clear left */
        if (size > 0) {
            memcpy(buffer, page->pin, MIN(size, sizeof(page->pin)));
        }
        *len = 0;
    } else if (size < page->len) {
        if (size > 0) {
            explicit_bzero(buffer, size);
        }
        *len = page->len;
    } else {
        if (page->len > 0) {
            memcpy(buffer, page->pin, page->len);
        }
        *len = page->len;
        got = TRUE;
    }
    g_mutex_unlock(&vaults_lock);
    return got;
}

gboolean
p11mux_pin_vault_has(P11muxPinVault *vault)
{
    gboolean kept;

    g_mutex_lock(&vaults_lock);
    kept = vault->page->kept;
    g_mutex_unlock(&vaults_lock);
    return kept;
}

void
p11mux_pin_vault_clear(P11muxPinVault *vault)
{
    g_mutex_lock(&vaults_lock);
    explicit_bzero(vault->page, sizeof(*vault->page));
    g_mutex_unlock(&vaults_lock);
}

void
p11mux_pin_vault_free(P11muxPinVault *vault)
{
    if (vault == NULL) {
        return;
    }
    g_mutex_lock(&vaults_lock);
    explicit_bzero(vault->page, sizeof(*vault->page));
    if (vault->prev != NULL) {
        vault->prev->next = vault->next;
    } else {
        vaults = vault->next;
    }
    if (vault->next != NULL) {
        vault->next->prev = vault->prev;
    }
    g_mutex_unlock(&vaults_lock);
    munlock(vault->page, vault->size);
    munmap(vault->page, vault->size);
    g_free(vault);
}

void
p11mux_pin_vaults_wipe_after_fork(void)
{
    P11muxPinVault *vault;

    /* held in the parent across fork() (vaults_before_fork), or by a thread
     * that is not here: this thread is the only one */
    g_mutex_init(&vaults_lock);
    g_mutex_lock(&vaults_lock);
    for (vault = vaults; vault != NULL; vault = vault->next) {
        explicit_bzero(vault->page, sizeof(*vault->page));
    }
    g_mutex_unlock(&vaults_lock);
}

gboolean
p11mux_pin_vault_keep_on_fork(P11muxPinVault *vault)
{
#ifdef MADV_KEEPONFORK
    return madvise(vault->page, vault->size, MADV_KEEPONFORK) == 0;
#else
    (void)vault;
    return FALSE;
#endif
}
