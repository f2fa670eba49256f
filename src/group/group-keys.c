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
    return p11mux_group_on_holders(hSession, handles, 2, wrap, &a, NULL, FALSE);
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
    return p11mux_group_on_holders(hSession, &hUnwrappingKey, 1, unwrap, &a, phKey,
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
    return p11mux_group_on_holders(hSession, &hBaseKey, 1, derive, &a, phKey,
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
    rv = p11mux_group_on_holders(hSession, &hObject, 1, copy, &a, phNewObject,
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
    rv = p11mux_group_on_holders(hSession, &hObject, 1, set_attributes, &a, NULL, FALSE);
    return rv == CKR_KEY_HANDLE_INVALID ? CKR_OBJECT_HANDLE_INVALID : rv;
}
