/*
 * Keys made from keys through a group (HA-GROUPS.md §8.2): C_WrapKey on a
 * member holding both keys, C_UnwrapKey, C_DeriveKey and C_CopyObject into
 * a session object on a member holding the key (or object) they start from,
 * and C_SetAttributeValue on a session object, on its member.  Each is one
 * call: a member failing it (a failover-class value) hands it to the next
 * member holding the keys.  What would make or change a token object is
 * refused (CKR_TOKEN_WRITE_PROTECTED), unless writes = primary: it is then
 * done on the first member alone.  A mechanism parameter holding key handles or a template
 * cannot go to a member unchanged (its handles are the group's), so it is
 * refused (CKR_MECHANISM_PARAM_INVALID), as is one p11mux does not read.
 */
#include "config.h"

#include "group-private.h"
#include "mech-params.h"

/* A walk of the parameter stops at the first handle or template. */
static CK_RV
holds_handle(gpointer ctx, CK_OBJECT_HANDLE handle)
{
    (void)ctx;
    (void)handle;
    return CKR_MECHANISM_PARAM_INVALID;
}

static CK_RV
holds_template(gpointer ctx, CK_ATTRIBUTE_PTR *tmpl, CK_ULONG *count)
{
    (void)ctx;
    (void)tmpl;
    (void)count;
    return CKR_MECHANISM_PARAM_INVALID;
}

static CK_RV
holds_handle_out(gpointer ctx, CK_OBJECT_HANDLE *where)
{
    (void)ctx;
    (void)where;
    return CKR_MECHANISM_PARAM_INVALID;
}

/* CKR_OK when mechanism's parameter may go to a member as it is. */
static CK_RV
passes_unchanged(const CK_MECHANISM *mechanism)
{
    static const P11muxParamVisitor visitor = {
        .key = holds_handle, .tmpl = holds_template, .key_out = holds_handle_out};
    const P11muxMechParams *params;

    if (mechanism == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    params = p11mux_mech_params_lookup(mechanism->mechanism, 0);
    if (mechanism->ulParameterLen == 0 && mechanism->pParameter == NULL) {
        return CKR_OK;
    }
    if (params == NULL || params->klass == P11MUX_PARAM_OPAQUE) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    return p11mux_mech_params_walk(params, mechanism, &visitor, NULL, NULL);
}

/* One call on a member holding the keys of a key-making call. */
typedef CK_RV (*KeyCall)(P11muxMember *member, CK_SESSION_HANDLE s, const CK_OBJECT_HANDLE *held,
                         gpointer data, CK_OBJECT_HANDLE *made);

/* The next member to try: any usable one holding handle, or with writes
 * (a token object is made), the first member alone, once. */
static P11muxMember *
next_member(P11muxGroupSession *session, CK_OBJECT_HANDLE handle, guint64 tried, gboolean writes,
            CK_RV *rv)
{
    P11muxGroup *group = p11mux_group_session_group(session);
    P11muxMember *primary;

    if (!writes) {
        return p11mux_group_choose(group, session, handle, tried);
    }
    primary = p11mux_group_writer(group, rv);
    return primary != NULL && !(tried & 1) ? primary : NULL;
}

/*
 * call on the next usable member holding every handle of handles (n of
 * them; the first decides the choice), the next such member when one fails
 * with a failover-class value.  A key it makes (*made non-zero) becomes a
 * session object of the session on that member, whose virtual handle goes
 * to *out (nullable); with writes, a token object, made on the first
 * member alone (writes = primary; CKR_TOKEN_WRITE_PROTECTED without it).
 */
static CK_RV
on_holders(CK_SESSION_HANDLE hSession, const CK_OBJECT_HANDLE *handles, guint n, KeyCall call,
           gpointer data, CK_OBJECT_HANDLE_PTR out, gboolean writes)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);
    CK_RV rv = CKR_KEY_HANDLE_INVALID;
    guint64 tried = 0;
    P11muxMember *member;
    guint i;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    for (i = 0; i < n; i++) {
        if (!p11mux_group_session_served(session, handles[i])) {
            p11mux_group_session_unlock(session);
            return CKR_KEY_HANDLE_INVALID;
        }
    }
    while ((member = next_member(session, handles[0], tried, writes, &rv)) != NULL) {
        CK_OBJECT_HANDLE held[2] = {0, 0}, made = 0;
        gboolean holds_all = TRUE;
        CK_SESSION_HANDLE s;
        P11muxMemberRv klass;

        tried |= G_GUINT64_CONSTANT(1) << member->index;
        for (i = 0; i < n; i++) {
            held[i] = p11mux_group_session_handle(session, member, handles[i]);
            holds_all = holds_all && held[i] != 0;
        }
        if (!holds_all) {
            rv = writes ? CKR_KEY_HANDLE_INVALID : rv; /* the primary lacks it */
            continue;
        }
        rv = p11mux_group_member_session(session, member, &s);
        if (rv == CKR_OK) {
            rv = call(member, s, held, data, &made);
        }
        klass = p11mux_group_record(member, rv);
        if (rv == CKR_OK && made != 0 && out != NULL) {
            *out = writes ? p11mux_group_token_object_made(member, made)
                          : p11mux_group_session_object_add(session, member, made);
            if (*out == 0) {
                (void)p11mux_backend_C_DestroyObject(member->backend, s, made);
                rv = CKR_DEVICE_MEMORY; /* no virtual handle left */
            }
        }
        if (rv == CKR_OK || klass == P11MUX_MEMBER_RV_REQUEST) {
            break;
        }
        p11mux_group_member_session_drop(session, member);
    }
    p11mux_group_session_unlock(session);
    return rv;
}

/* ------------------------------------------------------------- wrapping */

typedef struct {
    CK_MECHANISM_PTR mechanism;
    CK_BYTE_PTR bytes;
    CK_ULONG len;
    CK_ULONG_PTR len_ptr;
    CK_ATTRIBUTE_PTR tmpl;
    CK_ULONG count;
} KeyArgs;

static CK_RV
wrap(P11muxMember *member, CK_SESSION_HANDLE s, const CK_OBJECT_HANDLE *held, gpointer data,
     CK_OBJECT_HANDLE *made)
{
    KeyArgs *a = data;

    (void)made;
    return p11mux_backend_C_WrapKey(member->backend, s, a->mechanism, held[0], held[1], a->bytes,
                                    a->len_ptr);
}

CK_RV
p11mux_group_C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                       CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
                       CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen)
{
    KeyArgs a = {.mechanism = pMechanism, .bytes = pWrappedKey, .len_ptr = pulWrappedKeyLen};
    const CK_OBJECT_HANDLE handles[] = {hWrappingKey, hKey};
    CK_RV rv = passes_unchanged(pMechanism);

    if (rv != CKR_OK) {
        return rv;
    }
    if (pulWrappedKeyLen == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    return on_holders(hSession, handles, 2, wrap, &a, NULL, FALSE);
}

static CK_RV
unwrap(P11muxMember *member, CK_SESSION_HANDLE s, const CK_OBJECT_HANDLE *held, gpointer data,
       CK_OBJECT_HANDLE *made)
{
    KeyArgs *a = data;

    return p11mux_backend_C_UnwrapKey(member->backend, s, a->mechanism, held[0], a->bytes, a->len,
                                      a->tmpl, a->count, made);
}

CK_RV
p11mux_group_C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                         CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                         CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
                         CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
    KeyArgs a = {pMechanism, pWrappedKey, ulWrappedKeyLen, NULL, pTemplate, ulAttributeCount};
    CK_RV rv = passes_unchanged(pMechanism);

    if (rv != CKR_OK) {
        return rv;
    }
    if (phKey == NULL || (pWrappedKey == NULL && ulWrappedKeyLen > 0)) {
        return CKR_ARGUMENTS_BAD;
    }
    return on_holders(hSession, &hUnwrappingKey, 1, unwrap, &a, phKey,
                      p11mux_group_makes_token_object(pTemplate, ulAttributeCount));
}

/* ------------------------------------------------------------ deriving */

static CK_RV
derive(P11muxMember *member, CK_SESSION_HANDLE s, const CK_OBJECT_HANDLE *held, gpointer data,
       CK_OBJECT_HANDLE *made)
{
    KeyArgs *a = data;

    return p11mux_backend_C_DeriveKey(member->backend, s, a->mechanism, held[0], a->tmpl, a->count,
                                      made);
}

CK_RV
p11mux_group_C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                         CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
                         CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
    KeyArgs a = {.mechanism = pMechanism, .tmpl = pTemplate, .count = ulAttributeCount};
    CK_RV rv = passes_unchanged(pMechanism);

    if (rv != CKR_OK) {
        return rv;
    }
    /* a mechanism whose key comes back in its parameter (TLS key material)
     * made no session object p11mux could name: phKey is required */
    if (phKey == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    return on_holders(hSession, &hBaseKey, 1, derive, &a, phKey,
                      p11mux_group_makes_token_object(pTemplate, ulAttributeCount));
}

/* ------------------------------------------------------------- copying */

static CK_RV
copy(P11muxMember *member, CK_SESSION_HANDLE s, const CK_OBJECT_HANDLE *held, gpointer data,
     CK_OBJECT_HANDLE *made)
{
    KeyArgs *a = data;

    return p11mux_backend_C_CopyObject(member->backend, s, held[0], a->tmpl, a->count, made);
}

/* Whether a template says CKA_TOKEN false. */
static gboolean
makes_session_object(const CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
    CK_ULONG i;

    for (i = 0; tmpl != NULL && i < count; i++) {
        if (tmpl[i].type == CKA_TOKEN && tmpl[i].pValue != NULL &&
            tmpl[i].ulValueLen == sizeof(CK_BBOOL)) {
            return *(const CK_BBOOL *)tmpl[i].pValue == CK_FALSE;
        }
    }
    return FALSE;
}

/* A copy keeps the original's CKA_TOKEN unless the template says: a copy
 * of a token object must say CKA_TOKEN false. */
CK_RV
p11mux_group_C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                          CK_OBJECT_HANDLE_PTR phNewObject)
{
    KeyArgs a = {.tmpl = pTemplate, .count = ulCount};
    CK_RV rv;

    if (phNewObject == NULL || (pTemplate == NULL && ulCount > 0)) {
        return CKR_ARGUMENTS_BAD;
    }
    rv = on_holders(hSession, &hObject, 1, copy, &a, phNewObject,
                    p11mux_group_makes_token_object(pTemplate, ulCount) ||
                        (!p11mux_group_is_session_object(hObject) &&
                         !makes_session_object(pTemplate, ulCount)));
    return rv == CKR_KEY_HANDLE_INVALID ? CKR_OBJECT_HANDLE_INVALID : rv;
}

/* ------------------------------------------------------------ changing */

static CK_RV
set_attributes(P11muxMember *member, CK_SESSION_HANDLE s, const CK_OBJECT_HANDLE *held,
               gpointer data, CK_OBJECT_HANDLE *made)
{
    KeyArgs *a = data;

    (void)made;
    return p11mux_backend_C_SetAttributeValue(member->backend, s, held[0], a->tmpl, a->count);
}

static CK_RV
set_token_attributes(P11muxMember *member, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object,
                     gpointer data)
{
    KeyArgs *a = data;

    return p11mux_backend_C_SetAttributeValue(member->backend, s, object, a->tmpl, a->count);
}

/* A session object changes on its member; the group's token objects only
 * under writes = primary, on the first member. */
CK_RV
p11mux_group_C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                 CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    KeyArgs a = {.tmpl = pTemplate, .count = ulCount};
    CK_RV rv;

    if (pTemplate == NULL && ulCount > 0) {
        return CKR_ARGUMENTS_BAD;
    }
    if (!p11mux_group_is_session_object(hObject)) {
        P11muxGroupSession *session = p11mux_group_session_lock(hSession);

        if (session == NULL) {
            return CKR_SESSION_HANDLE_INVALID;
        }
        rv = p11mux_group_token_write(session, hObject, set_token_attributes, &a);
        p11mux_group_session_unlock(session);
        return rv;
    }
    if (p11mux_group_makes_token_object(pTemplate, ulCount)) {
        return CKR_TOKEN_WRITE_PROTECTED; /* a session object does not become a token one */
    }
    rv = on_holders(hSession, &hObject, 1, set_attributes, &a, NULL, FALSE);
    return rv == CKR_KEY_HANDLE_INVALID ? CKR_OBJECT_HANDLE_INVALID : rv;
}
