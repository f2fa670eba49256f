/*
 * The group's login (HA-GROUPS.md §6): the first usable member, in
 * configured order, is asked; only when it accepts the PIN are the others
 * logged in with it, so that a wrong PIN reaches one member and uses one
 * lockout counter.  A member whose PIN differs is quarantined.  The PIN is
 * kept in the group's vault (pin-retention = memory) to log members in
 * again when they come back; logout fans out and wipes it.
 */
#include "config.h"

#include <string.h>

#include "group-private.h"

/* Log member in on its anchor with pin (len bytes). */
static CK_RV
member_login_with(P11muxMember *member, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    CK_SESSION_HANDLE anchor;
    CK_RV rv = p11mux_group_anchor(member, &anchor);

    if (rv == CKR_OK) {
        rv = p11mux_backend_C_Login(member->backend, anchor, CKU_USER, (CK_UTF8CHAR_PTR)pin, len);
    }
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        g_mutex_lock(&member->group->lock);
        member->logged_in = TRUE;
        g_mutex_unlock(&member->group->lock);
        return CKR_OK;
    }
    return rv;
}

/* Whether member must log in: the group is, member is not. */
static gboolean
login_needed(P11muxMember *member)
{
    gboolean needed;

    g_mutex_lock(&member->group->lock);
    needed = member->group->logged_in && !member->logged_in;
    g_mutex_unlock(&member->group->lock);
    return needed;
}

CK_RV
p11mux_group_member_login(P11muxMember *member)
{
    P11muxGroup *group = member->group;
    CK_UTF8CHAR pin[256];
    CK_ULONG len = 0;
    CK_RV rv;

    if (!login_needed(member)) {
        return CKR_OK;
    }
    if (group->pin == NULL || !p11mux_pin_vault_get(group->pin, pin, sizeof pin, &len)) {
        return CKR_USER_NOT_LOGGED_IN; /* pin-retention = none: until the next C_Login */
    }
    rv = member_login_with(member, pin, len);
    explicit_bzero(pin, sizeof pin);
    return rv;
}

/* The first usable member in configured order logs in; no other member sees
 * a PIN it refused. */
static CK_RV
first_login(P11muxGroup *group, CK_UTF8CHAR_PTR pin, CK_ULONG len, P11muxMember **first)
{
    CK_RV rv = CKR_DEVICE_ERROR;
    guint i;

    for (i = 0; i < group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);
        CK_SESSION_HANDLE anchor;
        P11muxMemberRv klass;

        if (!p11mux_member_found(member) || !p11mux_health_usable(&member->health)) {
            continue;
        }
        rv = p11mux_group_anchor(member, &anchor);
        if (rv == CKR_OK) {
            rv = p11mux_backend_C_Login(member->backend, anchor, CKU_USER, pin, len);
        }
        if (rv == CKR_USER_ALREADY_LOGGED_IN) {
            rv = CKR_OK;
        }
        klass = p11mux_group_record(member, rv);
        if (rv == CKR_OK) {
            *first = member;
            return rv;
        }
        if (klass == P11MUX_MEMBER_RV_REQUEST) {
            return rv; /* a wrong PIN: said once, to one member */
        }
    }
    return rv;
}

/* Every other member logs in with the PIN the first accepted: the
 * application's, which pin-retention = none keeps nowhere.  A member
 * waiting in RECOVERING for this login (pin-retention = none) is then
 * admitted. */
static void
fan_out(P11muxGroup *group, P11muxMember *first, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
    guint i;

    for (i = 0; i < group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);
        CK_RV rv = CKR_OK;

        if (member == first || !p11mux_member_found(member) ||
            p11mux_health_state(&member->health) == P11MUX_MEMBER_QUARANTINED) {
            continue;
        }
        if (login_needed(member)) {
            rv = member_login_with(member, pin, len);
        }
        if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED) {
            p11mux_group_quarantine(member, rv); /* its PIN differs: never tried again */
        } else if (rv != CKR_OK) {
            (void)p11mux_group_record(member, rv);
        }
        if (rv == CKR_OK) {
            rv = p11mux_group_index_member(member);
        }
        if (rv == CKR_OK && p11mux_health_state(&member->health) == P11MUX_MEMBER_RECOVERING) {
            p11mux_group_admit(member);
        }
    }
}

/* CKU_CONTEXT_SPECIFIC (HA-GROUPS.md §6.4): to the member the session's
 * operation runs on, which then stays there. */
static CK_RV
context_login(P11muxGroupSession *session, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
    CK_SESSION_HANDLE s = 0;
    P11muxMember *member = p11mux_group_ops_reauthenticate(p11mux_group_session_ops(session), &s);
    CK_RV rv;

    if (member == NULL) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    rv = p11mux_backend_C_Login(member->backend, s, CKU_CONTEXT_SPECIFIC, pin, len);
    (void)p11mux_group_record(member, rv);
    return rv;
}

CK_RV
p11mux_group_C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                     CK_ULONG ulPinLen)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);
    P11muxMember *first = NULL;
    P11muxGroup *group;
    CK_RV rv;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    group = p11mux_group_session_group(session);
    if (userType == CKU_CONTEXT_SPECIFIC) {
        rv = context_login(session, pPin, ulPinLen);
        p11mux_group_session_unlock(session);
        return rv;
    }
    if (userType != CKU_USER) {
        /* no SO role: members are administered directly */
        p11mux_group_session_unlock(session);
        return CKR_USER_TYPE_INVALID;
    }
    if (g_atomic_int_get(&group->logged_in)) {
        p11mux_group_session_unlock(session);
        return CKR_USER_ALREADY_LOGGED_IN;
    }
    rv = first_login(group, pPin, ulPinLen, &first);
    if (rv == CKR_OK) {
        if (group->pin != NULL) {
            (void)p11mux_pin_vault_set(group->pin, pPin, ulPinLen);
        }
        g_mutex_lock(&group->lock);
        first->logged_in = TRUE;
        g_atomic_int_set(&group->logged_in, TRUE);
        g_mutex_unlock(&group->lock);
        (void)p11mux_group_index_member(first); /* its private objects */
        fan_out(group, first, pPin, ulPinLen);
    }
    p11mux_group_session_unlock(session);
    return rv;
}

CK_RV
p11mux_group_C_Logout(CK_SESSION_HANDLE hSession)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);
    P11muxGroup *group;
    guint i;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    group = p11mux_group_session_group(session);
    if (!g_atomic_int_get(&group->logged_in)) {
        p11mux_group_session_unlock(session);
        return CKR_USER_NOT_LOGGED_IN;
    }
    g_atomic_int_set(&group->logged_in, FALSE);
    if (group->pin != NULL) {
        p11mux_pin_vault_clear(group->pin);
    }
    for (i = 0; i < group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);
        CK_SESSION_HANDLE anchor = 0;
        gboolean was;

        g_mutex_lock(&group->lock);
        was = member->logged_in;
        member->logged_in = FALSE;
        anchor = member->anchor;
        g_mutex_unlock(&group->lock);
        if (was && anchor != 0) {
            (void)p11mux_backend_C_Logout(member->backend, anchor);
            (void)p11mux_group_index_member(member); /* public objects only */
        }
    }
    p11mux_group_session_unlock(session);
    return CKR_OK;
}
