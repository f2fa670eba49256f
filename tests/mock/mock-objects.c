/*
 * The object calls of the mock: create, copy, destroy, size, get and set
 * attributes, find.  The objects themselves, their defaults, the template
 * checks and the visibility rules are in mock-store.c.  Everything here
 * runs with the mock's lock held.
 */
#include "config.h"

#include <string.h>

#include "mock.h"

/* -------------------------------------------------------- create, copy */

static CK_RV
check_complete(const MockObject *object)
{
    CK_OBJECT_CLASS klass = mock_object_ulong(object, CKA_CLASS, CK_UNAVAILABLE_INFORMATION);

    if (klass == CK_UNAVAILABLE_INFORMATION) {
        return CKR_TEMPLATE_INCOMPLETE;
    }
    if (klass == CKO_SECRET_KEY && (mock_object_peek(object, CKA_KEY_TYPE) == NULL ||
                                    mock_object_peek(object, CKA_VALUE) == NULL)) {
        return CKR_TEMPLATE_INCOMPLETE;
    }
    if (klass == CKO_SECRET_KEY && mock_object_peek(object, CKA_VALUE_LEN) != NULL) {
        return CKR_TEMPLATE_INCONSISTENT;
    }
    return CKR_OK;
}

static CK_RV
create_object(MockSession *session, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
              CK_OBJECT_HANDLE_PTR phObject)
{
    g_autoptr(MockObject) object = mock_object_new(session->slotID);
    CK_RV rv = mock_template_check_creation(pTemplate, ulCount);

    if (rv == CKR_OK && phObject == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv == CKR_OK) {
        mock_object_apply(object, pTemplate, ulCount);
        rv = check_complete(object);
    }
    if (rv != CKR_OK) {
        return rv;
    }
    mock_object_complete(object);
    return mock_object_store(session, g_steal_pointer(&object), phObject);
}

CK_RV
mock_C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                    CK_OBJECT_HANDLE_PTR phObject)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_CreateObject, hSession, &session);
    if (rv == CKR_OK) {
        rv = create_object(session, pTemplate, ulCount, phObject);
    }
    mock_unlock();
    return rv;
}

static CK_RV
copy_object(MockSession *session, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
            CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject)
{
    MockObject *object;
    MockObject *copy;
    CK_RV rv = mock_object_lookup(session, hObject, &object);

    if (rv == CKR_OK && phNewObject == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv == CKR_OK && !mock_object_bool(object, CKA_COPYABLE, TRUE)) {
        rv = CKR_ACTION_PROHIBITED;
    }
    if (rv == CKR_OK) {
        rv = mock_object_check_changes(object, pTemplate, ulCount, TRUE);
    }
    if (rv != CKR_OK) {
        return rv;
    }
    copy = mock_object_dup(object);
    mock_object_apply(copy, pTemplate, ulCount);
    return mock_object_store(session, copy, phNewObject);
}

CK_RV
mock_C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                  CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_CopyObject, hSession, &session);
    if (rv == CKR_OK) {
        rv = copy_object(session, hObject, pTemplate, ulCount, phNewObject);
    }
    mock_unlock();
    return rv;
}

/* A token object changes only through a read/write session. */
static CK_RV
check_writable(const MockSession *session, const MockObject *object)
{
    if (object->session == 0 && !mock_session_is_rw(session)) {
        return CKR_SESSION_READ_ONLY;
    }
    return CKR_OK;
}

static CK_RV
destroy_object(MockSession *session, CK_OBJECT_HANDLE hObject)
{
    MockObject *object;
    CK_RV rv = mock_object_lookup(session, hObject, &object);

    if (rv == CKR_OK) {
        rv = check_writable(session, object);
    }
    if (rv == CKR_OK && !mock_object_bool(object, CKA_DESTROYABLE, TRUE)) {
        rv = CKR_ACTION_PROHIBITED;
    }
    if (rv == CKR_OK) {
        mock_object_destroy(hObject);
    }
    return rv;
}

CK_RV
mock_C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_DestroyObject, hSession, &session);
    if (rv == CKR_OK) {
        rv = destroy_object(session, hObject);
    }
    mock_unlock();
    return rv;
}

/* ---------------------------------------------------------- attributes */

static CK_RV
get_object_size(MockSession *session, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
    MockObject *object;
    CK_RV rv = mock_object_lookup(session, hObject, &object);
    guint i;

    if (rv == CKR_OK && pulSize == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv != CKR_OK) {
        return rv;
    }
    *pulSize = 0;
    for (i = 0; i < object->attributes->len; i++) {
        *pulSize += g_bytes_get_size(g_array_index(object->attributes, MockAttribute, i).bytes);
    }
    return CKR_OK;
}

CK_RV
mock_C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_GetObjectSize, hSession, &session);
    if (rv == CKR_OK) {
        rv = get_object_size(session, hObject, pulSize);
    }
    mock_unlock();
    return rv;
}

/* One attribute of C_GetAttributeValue (PKCS #11 2.40, 5.7, the five cases). */
static CK_RV
get_attribute(const MockObject *object, CK_ATTRIBUTE_PTR attr)
{
    GBytes *bytes = mock_object_peek(object, attr->type);
    gsize len;

    if (bytes == NULL || mock_object_is_sensitive(object, attr->type)) {
        attr->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return bytes == NULL ? CKR_ATTRIBUTE_TYPE_INVALID : CKR_ATTRIBUTE_SENSITIVE;
    }
    len = g_bytes_get_size(bytes);
    if (attr->pValue == NULL) {
        attr->ulValueLen = len;
        return CKR_OK;
    }
    if (attr->ulValueLen < len) {
        attr->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (len > 0) {
        /* an empty GBytes may hold NULL: memcpy must not be given it */
        memcpy(attr->pValue, g_bytes_get_data(bytes, NULL), len);
    }
    attr->ulValueLen = len;
    return CKR_OK;
}

/* Every attribute is processed; the first error is returned. */
static CK_RV
get_attribute_value(MockSession *session, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                    CK_ULONG ulCount)
{
    MockObject *object;
    CK_RV rv = mock_object_lookup(session, hObject, &object);
    CK_ULONG i;

    if (rv == CKR_OK && pTemplate == NULL && ulCount != 0) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv != CKR_OK) {
        return rv;
    }
    for (i = 0; i < ulCount; i++) {
        CK_RV one = get_attribute(object, &pTemplate[i]);

        if (rv == CKR_OK) {
            rv = one;
        }
    }
    return rv;
}

CK_RV
mock_C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                         CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_GetAttributeValue, hSession, &session);
    if (rv == CKR_OK) {
        rv = get_attribute_value(session, hObject, pTemplate, ulCount);
    }
    mock_unlock();
    return rv;
}

static CK_RV
set_attribute_value(MockSession *session, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                    CK_ULONG ulCount)
{
    MockObject *object;
    CK_RV rv = mock_object_lookup(session, hObject, &object);

    if (rv == CKR_OK) {
        rv = check_writable(session, object);
    }
    if (rv == CKR_OK && !mock_object_bool(object, CKA_MODIFIABLE, TRUE)) {
        rv = CKR_ACTION_PROHIBITED;
    }
    if (rv == CKR_OK) {
        rv = mock_object_check_changes(object, pTemplate, ulCount, FALSE);
    }
    if (rv == CKR_OK) {
        rv = mock_object_apply(object, pTemplate, ulCount);
    }
    return rv;
}

CK_RV
mock_C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                         CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_SetAttributeValue, hSession, &session);
    if (rv == CKR_OK) {
        rv = set_attribute_value(session, hObject, pTemplate, ulCount);
    }
    mock_unlock();
    return rv;
}

/* ------------------------------------------------------------------ find */

static CK_RV
find_objects_init(MockSession *session, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    CK_RV rv = mock_template_check(pTemplate, ulCount);

    if (rv == CKR_OK && session->find_active) {
        rv = CKR_OPERATION_ACTIVE;
    }
    if (rv == CKR_OK) {
        session->found = mock_objects_find(session, pTemplate, ulCount);
        session->found_next = 0;
        session->find_active = TRUE;
    }
    return rv;
}

CK_RV
mock_C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_FindObjectsInit, hSession, &session);
    if (rv == CKR_OK) {
        rv = find_objects_init(session, pTemplate, ulCount);
    }
    mock_unlock();
    return rv;
}

static CK_RV
find_objects(MockSession *session, CK_OBJECT_HANDLE_PTR phObject, CK_ULONG ulMaxObjectCount,
             CK_ULONG_PTR pulObjectCount)
{
    CK_ULONG n = 0;

    if (phObject == NULL || pulObjectCount == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (!session->find_active) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    while (n < ulMaxObjectCount && session->found_next < session->found->len) {
        phObject[n++] = g_array_index(session->found, CK_OBJECT_HANDLE, session->found_next++);
    }
    *pulObjectCount = n;
    return CKR_OK;
}

CK_RV
mock_C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                   CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_FindObjects, hSession, &session);
    if (rv == CKR_OK) {
        rv = find_objects(session, phObject, ulMaxObjectCount, pulObjectCount);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_FindObjectsFinal, hSession, &session);
    if (rv == CKR_OK && !session->find_active) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    }
    if (rv == CKR_OK) {
        mock_session_end_find(session);
    }
    mock_unlock();
    return rv;
}
