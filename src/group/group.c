/*
 * The groups of a router (group.h): members found by their token URIs, the
 * virtual backend with one slot per group, the synthesised slot and token,
 * the mechanisms every member has, and the members' health (probes,
 * re-admission).
 */
#include "config.h"

#include <p11-kit/uri.h>
#include <string.h>

#include "group-private.h"
#include "slotmap.h"
#include "trace.h"

/* The groups of the router being built or published, by virtual slot. */
static GMutex registry_lock;
static GHashTable *registry; /* CK_SLOT_ID -> P11muxGroup* */
/* The prober of the groups published (atomic): polled by application calls
 * when the application forbids threads. */
static gpointer current_prober;

/* Probes run this often at most; each member's own cadence is its health's. */
#define PROBE_TICK_US (100 * 1000)

typedef struct {
    GPtrArray *groups; /* P11muxGroup*, owned */
    P11muxProber *prober;
} P11muxGroups;

P11muxGroup *
p11mux_group_of_slot(CK_SLOT_ID slot)
{
    P11muxGroup *group = NULL;

    g_mutex_lock(&registry_lock);
    if (registry != NULL) {
        group = g_hash_table_lookup(registry, GSIZE_TO_POINTER((gsize)slot));
    }
    g_mutex_unlock(&registry_lock);
    return group;
}

GPtrArray *
p11mux_group_all(void)
{
    GPtrArray *list = g_ptr_array_new();
    GHashTableIter iter;
    gpointer value;

    g_mutex_lock(&registry_lock);
    if (registry != NULL) {
        g_hash_table_iter_init(&iter, registry);
        while (g_hash_table_iter_next(&iter, NULL, &value)) {
            g_ptr_array_add(list, value);
        }
    }
    g_mutex_unlock(&registry_lock);
    return list;
}

/* ---------------------------------------------------------------- health */

static void
trace_state(P11muxMember *member, P11muxMemberState from, P11muxMemberState to, CK_RV rv)
{
    P11muxGroup *group = member->group;
    g_autofree char *message =
        g_strdup_printf("group %s member %u (%s): %s -> %s (rv 0x%lx)", group->conf->name,
                        member->index, member->conf->text, p11mux_member_state_name(from),
                        p11mux_member_state_name(to), (unsigned long)rv);
    P11muxTraceEvent event = {.event = "group.member.state",
                              .backend = member->conf->backend,
                              .outcome = p11mux_member_state_name(to),
                              .message = message,
                              .duration_us = -1};

    p11mux_trace_event(group->router->trace, &event);
}

P11muxMemberRv
p11mux_group_record(P11muxMember *member, CK_RV rv)
{
    P11muxMemberRv klass = p11mux_member_rv_classify(rv, member->failover_on,
                                                     g_atomic_int_get(&member->group->logged_in));
    P11muxMemberState from, to;

    if (p11mux_health_record(&member->health, klass, g_get_monotonic_time(), &from, &to)) {
        trace_state(member, from, to, rv);
    }
    return klass;
}

gboolean
p11mux_group_present(P11muxGroup *group)
{
    guint i, active = 0;

    for (i = 0; i < group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);

        active += p11mux_health_state(&member->health) == P11MUX_MEMBER_ACTIVE;
    }
    if (group->diverged) {
        return FALSE; /* on-divergence = fail */
    }
    return active >= group->conf->min_active ||
           group->conf->all_down == P11MUX_HA_ALL_DOWN_KEEP_SESSIONS;
}

/* ------------------------------------------------------------- members */

/* The one slot of backend whose token matches uri: CKR_OK and *slot; with
 * *matches the number of tokens that matched. */
static CK_RV
find_token(P11muxBackend *backend, P11KitUri *uri, CK_SLOT_ID *slot, guint *matches,
           CK_TOKEN_INFO *token)
{
    g_autofree CK_SLOT_ID *slots = NULL;
    CK_ULONG count = 0, i;
    CK_RV rv = p11mux_backend_get_slot_list(backend, CK_TRUE, NULL, &count);

    *matches = 0;
    if (rv != CKR_OK || count == 0) {
        return rv;
    }
    slots = g_new(CK_SLOT_ID, count);
    rv = p11mux_backend_get_slot_list(backend, CK_TRUE, slots, &count);
    for (i = 0; rv == CKR_OK && i < count; i++) {
        CK_TOKEN_INFO info;

        if (p11mux_backend_get_token_info(backend, slots[i], &info) == CKR_OK &&
            p11_kit_uri_match_token_info(uri, &info)) {
            if ((*matches)++ == 0) {
                *slot = slots[i];
                *token = info;
            }
        }
    }
    return rv;
}

static P11muxBackend *
backend_named(P11muxRouter *router, const char *name)
{
    guint i;

    for (i = 0; i < router->backends->len; i++) {
        P11muxBackend *backend = g_ptr_array_index(router->backends, i);

        if (g_strcmp0(backend->name, name) == 0) {
            return backend;
        }
    }
    return NULL;
}

/* Look for member's token now; FALSE with error for what the design refuses. */
static gboolean
locate(P11muxMember *member, CK_FLAGS *flags, GError **error)
{
    const P11muxConfMember *conf = member->conf;
    CK_TOKEN_INFO token = {0};
    guint matches = 0;

    g_atomic_int_set(&member->found, FALSE);
    if (member->backend == NULL ||
        find_token(member->backend, conf->token, &member->slot, &matches, &token) != CKR_OK ||
        matches == 0) {
        return TRUE;
    }
    if (matches > 1) {
        g_set_error(error, P11MUX_BACKEND_ERROR, 0,
                    "%s:%d: group member '%s' matches %u tokens of backend '%s'",
                    conf->origin.file, conf->origin.line, conf->text, matches, conf->backend);
        return FALSE;
    }
    if (token.flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
        g_set_error(error, P11MUX_BACKEND_ERROR, 0,
                    "%s:%d: group member '%s' logs in through a protected path, which p11mux "
                    "cannot repeat for it",
                    conf->origin.file, conf->origin.line, conf->text);
        return FALSE;
    }
    g_atomic_int_set(&member->found, TRUE);
    *flags = token.flags;
    return TRUE;
}

static P11muxMember *
member_new(P11muxGroup *group, guint index, const P11muxConfMember *conf)
{
    const P11muxConfHaGroup *gc = group->conf;
    P11muxMember *member = g_new0(P11muxMember, 1);

    member->index = index;
    member->group = group;
    member->conf = conf;
    member->backend = backend_named(group->router, conf->backend);
    if (member->backend != NULL) {
        /* every call of the groups into it passes its gate, from here on */
        p11mux_backend_gate(member->backend, gc->call_timeout_us);
    }
    member->failover_on = p11mux_conf_member_failover_on(group->router->conf, gc, conf);
    g_mutex_init(&member->index_lock);
    p11mux_health_init(&member->health, gc->error_threshold, gc->probe_interval_us,
                       gc->recover_backoff_min_us, gc->recover_backoff_max_us, gc->keepalive_us);
    return member;
}

static void
member_free(P11muxMember *member)
{
    p11mux_group_index_clear(member);
    if (member->anchor != 0 && member->backend != NULL) {
        (void)p11mux_backend_C_CloseSession(member->backend, member->anchor);
    }
    p11mux_health_clear(&member->health);
    g_mutex_clear(&member->index_lock);
    g_free(member);
}

static void
group_free(P11muxGroup *group)
{
    if (group == NULL) {
        return;
    }
    p11mux_group_sessions_close_all(group);
    p11mux_group_objects_forget_group(group);
    g_clear_pointer(&group->members, g_ptr_array_unref);
    g_clear_pointer(&group->handles, g_hash_table_unref);
    g_clear_pointer(&group->identities, g_ptr_array_unref);
    g_clear_pointer(&group->pin, p11mux_pin_vault_free);
    g_mutex_clear(&group->lock);
    g_free(group);
}

/* The virtual slot of a group: from its name, so that it stays whatever
 * the members and the other groups do. */
static CK_SLOT_ID
group_slot(const char *name)
{
    g_autofree char *key = g_strconcat(P11MUX_GROUP_BACKEND_NAME, name, NULL);

    return p11mux_slotmap_hash_id(key, 0, 0);
}

static P11muxGroup *
group_new(P11muxRouter *router, const P11muxConfHaGroup *conf)
{
    P11muxGroup *group = g_new0(P11muxGroup, 1);
    guint i;

    group->conf = conf;
    group->router = router;
    group->slot = group_slot(conf->name);
    g_mutex_init(&group->lock);
    group->members = g_ptr_array_new_with_free_func((GDestroyNotify)member_free);
    group->identities = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    group->handles = g_hash_table_new(g_bytes_hash, g_bytes_equal);
    if (conf->pin_retention == P11MUX_HA_PIN_RETENTION_MEMORY) {
        group->pin = p11mux_pin_vault_new();
    }
    for (i = 0; i < conf->members->len; i++) {
        g_ptr_array_add(group->members, member_new(group, i, g_ptr_array_index(conf->members, i)));
    }
    return group;
}

/* Find every member's token; members found agree on CKF_LOGIN_REQUIRED. */
static gboolean
locate_members(P11muxGroup *group, GHashTable *taken, GError **error)
{
    gboolean first = TRUE;
    guint i;

    for (i = 0; i < group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);
        const P11muxConfMember *conf = member->conf;
        CK_FLAGS flags = 0;
        g_autofree char *where = NULL;

        if (!locate(member, &flags, error)) {
            return FALSE;
        }
        if (!p11mux_member_found(member)) {
            p11mux_health_down(&member->health);
            continue;
        }
        where = g_strdup_printf("%s:%lu", conf->backend, (unsigned long)member->slot);
        if (g_hash_table_contains(taken, where)) {
            g_set_error(error, P11MUX_BACKEND_ERROR, 0,
                        "%s:%d: group member '%s' is a token already in a group", conf->origin.file,
                        conf->origin.line, conf->text);
            return FALSE;
        }
        g_hash_table_add(taken, g_steal_pointer(&where));
        if (!first && (flags & CKF_LOGIN_REQUIRED) != group->login_flags) {
            g_set_error(error, P11MUX_BACKEND_ERROR, 0,
                        "%s:%d: group member '%s' %s a login, the first member found does not",
                        conf->origin.file, conf->origin.line, conf->text,
                        (flags & CKF_LOGIN_REQUIRED) ? "requires" : "does not require");
            return FALSE;
        }
        group->login_flags = flags & CKF_LOGIN_REQUIRED;
        first = FALSE;
        if (group->conf->hide_members) {
            p11mux_slotmap_hide(group->router->slots, member->backend, member->slot);
        }
    }
    return TRUE;
}

void
p11mux_group_admit(P11muxMember *member)
{
    p11mux_health_admit(&member->health);
    trace_state(member, P11MUX_MEMBER_RECOVERING, P11MUX_MEMBER_ACTIVE, CKR_OK);
}

void
p11mux_group_quarantine(P11muxMember *member, CK_RV rv)
{
    P11muxMemberState from = p11mux_health_state(&member->health);

    p11mux_health_quarantine(&member->health);
    if (from != P11MUX_MEMBER_QUARANTINED) {
        trace_state(member, from, P11MUX_MEMBER_QUARANTINED, rv);
    }
}

/* ---------------------------------------------------------------- probes */

/* A member answering again: reopened, logged in with the retained PIN,
 * indexed, and then usable. */
static void
readmit(P11muxMember *member)
{
    CK_SESSION_HANDLE anchor;
    CK_RV rv;

    g_mutex_lock(&member->group->lock);
    anchor = member->anchor;
    member->anchor = 0;
    member->logged_in = FALSE;
    g_mutex_unlock(&member->group->lock);
    if (anchor != 0) {
        (void)p11mux_backend_C_CloseSession(member->backend, anchor);
    }
    rv = p11mux_group_member_login(member);
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED) {
        p11mux_group_quarantine(member, rv);
        return;
    }
    if (rv == CKR_OK) {
        rv = p11mux_group_index_member(member);
    }
    if (rv == CKR_OK) {
        p11mux_group_admit(member);
    } else {
        (void)p11mux_group_record(member, rv);
    }
}

/* Whether member's backend is lost (HA-GROUPS.md §9.3): its slot list
 * fails with a failover-class value or CKR_CRYPTOKI_NOT_INITIALIZED, or no
 * longer holds member's token. */
static gboolean
backend_lost(P11muxMember *member)
{
    CK_TOKEN_INFO token;
    CK_SLOT_ID slot = 0;
    guint matches = 0;
    CK_RV rv = find_token(member->backend, member->conf->token, &slot, &matches, &token);

    if (rv == CKR_OK) {
        return matches == 0;
    }
    switch (p11mux_member_rv_classify(rv, member->failover_on, FALSE)) {
    case P11MUX_MEMBER_RV_FAULT:
    case P11MUX_MEMBER_RV_GONE:
    case P11MUX_MEMBER_RV_REINIT:
        return TRUE;
    default:
        return FALSE;
    }
}

/* A lost backend finalised and initialised again (p11mux_backend_reinitialize):
 * every member on it, in every group, forgets its anchor and login (the
 * previous incarnation's, never closed) and is found again by URI at its
 * next probe; the members' sessions of the virtual sessions are forgotten
 * as they are next used (group-session.c). */
static void
reinitialise(P11muxGroups *groups, P11muxBackend *backend)
{
    gint before = g_atomic_int_get(&backend->incarnation);
    CK_RV rv = p11mux_backend_reinitialize(backend);
    guint i, j;

    if (g_atomic_int_get(&backend->incarnation) == before) {
        return; /* not re-initialised (a call of its still runs): the next probe tries again */
    }

    for (i = 0; i < groups->groups->len; i++) {
        P11muxGroup *group = g_ptr_array_index(groups->groups, i);

        for (j = 0; j < group->members->len; j++) {
            P11muxMember *member = g_ptr_array_index(group->members, j);
            g_autofree char *message = NULL;

            if (member->backend != backend) {
                continue;
            }
            g_mutex_lock(&group->lock);
            member->anchor = 0;
            member->logged_in = FALSE;
            g_atomic_int_set(&member->found, FALSE);
            g_mutex_unlock(&group->lock);
            message = g_strdup_printf("group %s member %u (%s): backend %s re-initialised "
                                      "(rv 0x%lx)",
                                      group->conf->name, member->index, member->conf->text,
                                      backend->name, (unsigned long)rv);
            p11mux_trace_event(group->router->trace,
                               &(P11muxTraceEvent){.event = "group.backend.reinit",
                                                   .backend = backend->name,
                                                   .outcome = rv == CKR_OK ? "ok" : "failed",
                                                   .message = message,
                                                   .duration_us = -1});
        }
    }
}

/* Probe member if due; TRUE when the probe found its backend lost. */
static gboolean
probe_member(P11muxMember *member, gint64 now)
{
    P11muxMemberState from, to;
    CK_TOKEN_INFO info;
    CK_FLAGS flags = 0;
    gboolean ok, lost = FALSE;

    /* a call running past call-timeout: no new work until a probe answers */
    if (p11mux_health_check_timeout(&member->health, now, member->group->conf->call_timeout_us)) {
        trace_state(member, P11MUX_MEMBER_ACTIVE, P11MUX_MEMBER_SUSPECT, CKR_OK);
    }
    if (!p11mux_health_probe_due(&member->health, now)) {
        return FALSE;
    }
    if (!p11mux_member_found(member)) {
        ok = locate(member, &flags, NULL) && p11mux_member_found(member);
        if (ok && member->group->conf->hide_members) {
            /* found again after a re-initialisation, perhaps in another slot */
            p11mux_slotmap_hide(member->group->router->slots, member->backend, member->slot);
        }
    } else {
        ok = p11mux_backend_get_token_info(member->backend, member->slot, &info) == CKR_OK;
    }
    if (!ok) {
        lost = backend_lost(member);
    }
    if (p11mux_health_probe_result(&member->health, ok, now, &from, &to)) {
        trace_state(member, from, to, ok ? CKR_OK : CKR_DEVICE_ERROR);
    }
    if (p11mux_health_state(&member->health) == P11MUX_MEMBER_RECOVERING) {
        readmit(member);
    }
    return lost;
}

/* P11muxProber's probe: every member of every group whose probe is due. */
static void
probe_all(gpointer data)
{
    P11muxGroups *groups = data;
    gint64 now = g_get_monotonic_time();
    g_autoptr(GPtrArray) lost = g_ptr_array_new();
    guint i, j;

    for (i = 0; i < groups->groups->len; i++) {
        P11muxGroup *group = g_ptr_array_index(groups->groups, i);

        for (j = 0; j < group->members->len; j++) {
            P11muxMember *member = g_ptr_array_index(group->members, j);

            if (member->backend != NULL && probe_member(member, now) &&
                !g_ptr_array_find(lost, member->backend, NULL)) {
                g_ptr_array_add(lost, member->backend);
            }
        }
        /* all-down = close-sessions: a token gone takes its sessions along */
        if (group->conf->all_down == P11MUX_HA_ALL_DOWN_CLOSE_SESSIONS &&
            !p11mux_group_present(group)) {
            p11mux_group_sessions_close_all(group);
        }
    }
    /* once per backend and probe round, at the cadence and back-off of
     * the probes that found it lost */
    for (i = 0; i < lost->len; i++) {
        reinitialise(groups, g_ptr_array_index(lost, i));
    }
}

/* --------------------------------------------------------------- attach */

static void
registry_add(P11muxGroup *group)
{
    g_mutex_lock(&registry_lock);
    if (registry == NULL) {
        registry = g_hash_table_new(g_direct_hash, g_direct_equal);
    }
    g_hash_table_insert(registry, GSIZE_TO_POINTER((gsize)group->slot), group);
    g_mutex_unlock(&registry_lock);
}

static void
registry_remove(P11muxGroup *group)
{
    g_mutex_lock(&registry_lock);
    if (registry != NULL) {
        g_hash_table_remove(registry, GSIZE_TO_POINTER((gsize)group->slot));
    }
    g_mutex_unlock(&registry_lock);
}

static void
groups_free(P11muxGroups *groups)
{
    guint i;

    if (groups == NULL) {
        return;
    }
    /* no application call is in the router now (C_Finalize waits for them) */
    g_atomic_pointer_compare_and_exchange(&current_prober, groups->prober, NULL);
    g_clear_pointer(&groups->prober, p11mux_prober_free);
    for (i = 0; i < groups->groups->len; i++) {
        registry_remove(g_ptr_array_index(groups->groups, i));
    }
    g_ptr_array_unref(groups->groups);
    g_free(groups);
}

gboolean
p11mux_groups_attach(P11muxRouter *router, GError **error)
{
    const P11muxConf *conf = router->conf;
    g_autoptr(GHashTable) taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    P11muxGroups *groups;
    guint i, j;

    if (conf->ha_groups == NULL || conf->ha_groups->len == 0) {
        return TRUE;
    }
    groups = g_new0(P11muxGroups, 1);
    groups->groups = g_ptr_array_new_with_free_func((GDestroyNotify)group_free);
    for (i = 0; i < conf->ha_groups->len; i++) {
        P11muxGroup *group = group_new(router, g_ptr_array_index(conf->ha_groups, i));

        g_ptr_array_add(groups->groups, group);
        if (!locate_members(group, taken, error)) {
            groups_free(groups);
            return FALSE;
        }
    }
    for (i = 0; i < groups->groups->len; i++) {
        P11muxGroup *group = g_ptr_array_index(groups->groups, i);
        g_autofree char *name = g_strconcat(P11MUX_GROUP_BACKEND_NAME, group->conf->name, NULL);

        /* a virtual backend of its own, named so that its policy is the
         * group's (src/policy/policy.h) */
        group->backend = p11mux_backend_new_virtual(name, &p11mux_group_functions);
        group->backend->one_slot = TRUE;
        group->backend->own_slot = group->slot;
        group->backend->index = router->backends->len;
        g_ptr_array_add(router->backends, group->backend);
        registry_add(group);
        (void)p11mux_slotmap_intern(router->slots, group->backend, group->slot);
        /* the presence the application learns from the slot list: an event
         * is a change from it */
        group->reported_present = p11mux_group_present(group) ? 1 : 0;
        for (j = 0; j < group->members->len; j++) {
            P11muxMember *member = g_ptr_array_index(group->members, j);

            if (p11mux_member_found(member)) {
                (void)p11mux_group_record(member, p11mux_group_index_member(member));
            }
        }
    }
    groups->prober =
        p11mux_prober_new(!router->cant_create_threads, PROBE_TICK_US, probe_all, groups);
    g_atomic_pointer_set(&current_prober, groups->prober);
    router->groups = groups;
    return TRUE;
}

void
p11mux_group_poll(void)
{
    P11muxProber *prober = g_atomic_pointer_get(&current_prober);

    if (prober != NULL) {
        p11mux_prober_poll(prober);
    }
}

void
p11mux_groups_detach(P11muxRouter *router)
{
    if (router == NULL || router->groups == NULL) {
        return;
    }
    groups_free(router->groups);
    router->groups = NULL;
}

/* ------------------------------------------------------------- describe */

static const char *const dispatch_names[] = {"round-robin", "least-busy", "primary"};

static void
describe_member(GString *out, P11muxMember *member)
{
    guint served = 0, divergent = 0, ambiguous = 0, unverified = 0;

    g_mutex_lock(&member->group->lock);
    if (member->unverified != NULL) {
        unverified = g_hash_table_size(member->unverified);
    }
    if (member->objects != NULL) {
        served = g_hash_table_size(member->objects);
    }
    if (member->divergent != NULL) {
        divergent = g_hash_table_size(member->divergent);
    }
    if (member->ambiguous != NULL) {
        ambiguous = g_hash_table_size(member->ambiguous);
    }
    g_mutex_unlock(&member->group->lock);
    g_string_append_printf(out, "  %s %u: %s\n",
                           member->index < member->group->conf->n_members ? "member" : "standby",
                           member->index, member->conf->text);
    if (member->backend == NULL) {
        g_string_append(out, "    state: down (its backend is not loaded)\n");
        return;
    }
    if (!p11mux_member_found(member)) {
        g_string_append_printf(out, "    state: %s (no token of backend %s matches)\n",
                               p11mux_member_state_name(p11mux_health_state(&member->health)),
                               member->conf->backend);
        return;
    }
    g_string_append_printf(out, "    token: backend %s, slot 0x%lx\n", member->conf->backend,
                           (unsigned long)member->slot);
    g_string_append_printf(out, "    state: %s\n",
                           p11mux_member_state_name(p11mux_health_state(&member->health)));
    g_string_append_printf(out,
                           "    objects: %u identities (%u not served: %u divergent, %u held "
                           "twice, %u unverified)\n",
                           served + ambiguous + unverified, divergent + ambiguous + unverified,
                           divergent, ambiguous, unverified);
}

/* How many members serve each identity: "N on M members" lines. */
static void
describe_replicas(GString *out, P11muxGroup *group)
{
    guint counts[65] = {0};
    guint i, j, n;

    g_mutex_lock(&group->lock);
    n = group->identities->len;
    for (i = 0; i < n; i++) {
        GBytes *identity = g_ptr_array_index(group->identities, i);
        guint holders = 0;

        for (j = 0; j < group->members->len; j++) {
            P11muxMember *member = g_ptr_array_index(group->members, j);

            holders += member->objects != NULL && g_hash_table_contains(member->objects, identity) &&
                       (member->divergent == NULL ||
                        !g_hash_table_contains(member->divergent, identity));
        }
        counts[MIN(holders, 64)]++;
    }
    g_mutex_unlock(&group->lock);
    g_string_append_printf(out, "  identities: %u\n", n);
    for (i = 0; i <= 64; i++) {
        if (counts[i] > 0) {
            g_string_append_printf(out, "    %u on %u member%s%s\n", counts[i], i,
                                   i == 1 ? "" : "s",
                                   i < group->conf->min_replicas ? " (not served: min-replicas)"
                                                                 : "");
        }
    }
}

char *
p11mux_groups_describe(P11muxRouter *router)
{
    P11muxGroups *groups = router->groups;
    GString *out = g_string_new(NULL);
    guint i, j;

    for (i = 0; groups != NULL && i < groups->groups->len; i++) {
        P11muxGroup *group = g_ptr_array_index(groups->groups, i);
        const P11muxConfHaGroup *conf = group->conf;

        g_string_append_printf(out, "group %s\n", conf->name);
        g_string_append_printf(out, "  token: label \"%s\", serial \"%s\", %s\n", conf->label,
                               conf->serial, p11mux_group_present(group) ? "present" : "absent");
        g_string_append_printf(out, "  dispatch: %s, min-active %u, min-replicas %u, %s\n",
                               dispatch_names[conf->dispatch], conf->min_active, conf->min_replicas,
                               conf->pin_retention == P11MUX_HA_PIN_RETENTION_MEMORY
                                   ? "PIN kept in locked memory while logged in"
                                   : "PIN not kept");
        for (j = 0; j < group->members->len; j++) {
            describe_member(out, g_ptr_array_index(group->members, j));
        }
        p11mux_group_describe_mechanisms(group, out, "  ", NULL);
        describe_replicas(out, group);
    }
    return g_string_free(out, FALSE);
}

char *
p11mux_groups_explain_slot(P11muxRouter *router, const P11muxSlot *slot,
                           const CK_MECHANISM_TYPE *mechanism, gboolean *offered)
{
    P11muxGroups *groups = router->groups;
    GString *out = g_string_new(NULL);
    guint i, j;

    *offered = TRUE;
    for (i = 0; groups != NULL && i < groups->groups->len; i++) {
        P11muxGroup *group = g_ptr_array_index(groups->groups, i);

        if (slot->backend == group->backend) {
            g_string_append_printf(out,
                                   "HA group %s: token %s, over %u members (p11mux list "
                                   "shows them)\n",
                                   group->conf->name,
                                   p11mux_group_present(group) ? "present" : "absent",
                                   group->members->len);
            *offered = p11mux_group_describe_mechanisms(group, out, "", mechanism);
        }
        for (j = 0; j < group->members->len; j++) {
            P11muxMember *member = g_ptr_array_index(group->members, j);

            if (p11mux_member_found(member) && member->backend == slot->backend &&
                member->slot == slot->real) {
                g_string_append_printf(
                    out,
                    "member %u of HA group %s (%s): %s; the application reaches it through the "
                    "group's token\n",
                    member->index, group->conf->name, member->conf->text,
                    slot->hidden ? "not listed and not routed to" : "still listed");
            }
        }
    }
    if (out->len == 0) {
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}

void
p11mux_groups_after_fork(void)
{
    p11mux_pin_vaults_wipe_after_fork();
    /* the parent's groups stay with its router, which the child leaks; a
     * lock another thread held at fork() would never be released here */
    g_mutex_init(&registry_lock);
    registry = NULL;
    current_prober = NULL;
    p11mux_group_sessions_after_fork();
}
