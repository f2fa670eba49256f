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

CK_RV
p11mux_group_member_login(P11muxMember *member)
{
    P11muxGroup *group = member->group;
    CK_UTF8CHAR pin[256];
    CK_ULONG len = 0;
    CK_SESSION_HANDLE anchor;
    gboolean needed;
    CK_RV rv;

    g_mutex_lock(&group->lock);
    needed = group->logged_in && !member->logged_in;
    g_mutex_unlock(&group->lock);
    if (!needed) {
        return CKR_OK;
    }
    if (group->pin == NULL || !p11mux_pin_vault_get(group->pin, pin, sizeof pin, &len)) {
        return CKR_USER_NOT_LOGGED_IN; /* pin-retention = none: until the next C_Login */
    }
    rv = p11mux_group_anchor(member, &anchor);
    if (rv == CKR_OK) {
        rv = p11mux_backend_C_Login(member->backend, anchor, CKU_USER, pin, len);
    }
    explicit_bzero(pin, sizeof pin);
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        g_mutex_lock(&group->lock);
        member->logged_in = TRUE;
        g_mutex_unlock(&group->lock);
        return CKR_OK;
    }
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

/* Every other member logs in with the PIN the first accepted. */
static void
fan_out(P11muxGroup *group, P11muxMember *first)
{
    guint i;

    for (i = 0; i < group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);
        CK_RV rv;

        if (member == first || !p11mux_member_found(member) ||
            p11mux_health_state(&member->health) == P11MUX_MEMBER_QUARANTINED) {
            continue;
        }
        rv = p11mux_group_member_login(member);
        if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED) {
            p11mux_health_quarantine(&member->health); /* its PIN differs: never tried again */
        } else if (rv != CKR_OK) {
            (void)p11mux_group_record(member, rv);
        }
        if (rv == CKR_OK) {
            (void)p11mux_group_index_member(member);
        }
    }
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
    if (userType != CKU_USER) {
        /* no SO role: members are administered directly; a context-specific
         * login goes with the operation it is for, which the group does not
         * replay */
        p11mux_group_session_unlock(session);
        return userType == CKU_SO ? CKR_USER_TYPE_INVALID : CKR_OPERATION_NOT_INITIALIZED;
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
        fan_out(group, first);
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
