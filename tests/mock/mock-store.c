/*
 * The mock's object store: objects and their attributes, the defaults a
 * template leaves out, the checks on templates, and the table of objects
 * (handles from 0x500 up, per instance).  The object calls that use it are
 * in mock-objects.c.
 *
 * Visibility follows PKCS #11: a session sees the token objects of its
 * token and the session objects of every session of the application on
 * that token; private objects only while the user is logged in.  A session
 * object dies with the session that made it.  Everything here runs with the
 * mock's lock held.
 */
#include "config.h"

#include <string.h>

#include "mock.h"

static GHashTable *objects; /* handle -> MockObject */
static CK_OBJECT_HANDLE next_handle = MOCK_OBJECT_BASE;

#define HANDLE_KEY(h) ((gpointer)(guintptr)(h))

static const CK_ATTRIBUTE_TYPE bool_attributes[] = {
    CKA_TOKEN,
    CKA_PRIVATE,
    CKA_MODIFIABLE,
    CKA_COPYABLE,
    CKA_DESTROYABLE,
    CKA_SENSITIVE,
    CKA_EXTRACTABLE,
    CKA_ENCRYPT,
    CKA_DECRYPT,
    CKA_SIGN,
    CKA_VERIFY,
    CKA_SIGN_RECOVER,
    CKA_VERIFY_RECOVER,
    CKA_WRAP,
    CKA_UNWRAP,
    CKA_DERIVE,
    CKA_LOCAL,
    CKA_ALWAYS_SENSITIVE,
    CKA_NEVER_EXTRACTABLE,
    CKA_TRUSTED,
    CKA_WRAP_WITH_TRUSTED,
    CKA_ALWAYS_AUTHENTICATE,
};

static const CK_ATTRIBUTE_TYPE ulong_attributes[] = {
    CKA_CLASS,
    CKA_KEY_TYPE,
    CKA_VALUE_LEN,
    CKA_CERTIFICATE_TYPE,
    CKA_KEY_GEN_MECHANISM,
    CKA_MODULUS_BITS,
    CKA_CERTIFICATE_CATEGORY,
    CKA_HW_FEATURE_TYPE,
};

/* Set by the token, never by a template. */
static const CK_ATTRIBUTE_TYPE token_set_attributes[] = {
    CKA_LOCAL,
    CKA_ALWAYS_SENSITIVE,
    CKA_NEVER_EXTRACTABLE,
    CKA_KEY_GEN_MECHANISM,
};

/* Key material: unreadable while sensitive or unextractable. */
static const CK_ATTRIBUTE_TYPE secret_attributes[] = {
    CKA_VALUE,      CKA_PRIVATE_EXPONENT, CKA_PRIME_1,     CKA_PRIME_2,
    CKA_EXPONENT_1, CKA_EXPONENT_2,       CKA_COEFFICIENT,
};

/* Fixed once the object exists (CKA_TOKEN and CKA_PRIVATE: but by a copy). */
static const CK_ATTRIBUTE_TYPE fixed_attributes[] = {
    CKA_CLASS,
    CKA_KEY_TYPE,
    CKA_VALUE_LEN,
    CKA_MODIFIABLE,
};

static gboolean
type_in(CK_ATTRIBUTE_TYPE type, const CK_ATTRIBUTE_TYPE *list, gsize n)
{
    gsize i;

    for (i = 0; i < n; i++) {
        if (list[i] == type) {
            return TRUE;
        }
    }
    return FALSE;
}

#define TYPE_IN(type, list) type_in((type), (list), G_N_ELEMENTS(list))

/* ------------------------------------------------------------ attributes */

/* transfer full */
MockObject *
mock_object_new(CK_SLOT_ID slotID)
{
    MockObject *object = g_new0(MockObject, 1);

    object->slotID = slotID;
    object->attributes = g_array_new(FALSE, TRUE, sizeof(MockAttribute));
    return object;
}

void
mock_object_free(MockObject *object)
{
    guint i;

    if (object == NULL) {
        return;
    }
    for (i = 0; i < object->attributes->len; i++) {
        g_bytes_unref(g_array_index(object->attributes, MockAttribute, i).bytes);
    }
    g_array_unref(object->attributes);
    g_free(object);
}

static MockAttribute *
find_attribute(const MockObject *object, CK_ATTRIBUTE_TYPE type)
{
    guint i;

    for (i = 0; i < object->attributes->len; i++) {
        MockAttribute *attr = &g_array_index(object->attributes, MockAttribute, i);

        if (attr->type == type) {
            return attr;
        }
    }
    return NULL;
}

void
mock_object_set(MockObject *object, CK_ATTRIBUTE_TYPE type, const void *data, gsize len)
{
    MockAttribute *attr = find_attribute(object, type);
    MockAttribute added = {type, NULL};

    if (attr == NULL) {
        g_array_append_val(object->attributes, added);
        attr = &g_array_index(object->attributes, MockAttribute, object->attributes->len - 1);
    }
    g_clear_pointer(&attr->bytes, g_bytes_unref);
    attr->bytes = g_bytes_new(data, len);
}

void
mock_object_set_bool(MockObject *object, CK_ATTRIBUTE_TYPE type, gboolean on)
{
    CK_BBOOL flag = on ? CK_TRUE : CK_FALSE;

    mock_object_set(object, type, &flag, sizeof flag);
}

void
mock_object_set_ulong(MockObject *object, CK_ATTRIBUTE_TYPE type, CK_ULONG number)
{
    mock_object_set(object, type, &number, sizeof number);
}

/* transfer none, nullable */
GBytes *
mock_object_peek(const MockObject *object, CK_ATTRIBUTE_TYPE type)
{
    MockAttribute *attr = find_attribute(object, type);

    return attr != NULL ? attr->bytes : NULL;
}

gboolean
mock_object_bool(const MockObject *object, CK_ATTRIBUTE_TYPE type, gboolean fallback)
{
    GBytes *bytes = mock_object_peek(object, type);

    if (bytes == NULL || g_bytes_get_size(bytes) != sizeof(CK_BBOOL)) {
        return fallback;
    }
    return *(const CK_BBOOL *)g_bytes_get_data(bytes, NULL) != CK_FALSE;
}

CK_ULONG
mock_object_ulong(const MockObject *object, CK_ATTRIBUTE_TYPE type, CK_ULONG fallback)
{
    GBytes *bytes = mock_object_peek(object, type);
    CK_ULONG number;

    if (bytes == NULL || g_bytes_get_size(bytes) != sizeof number) {
        return fallback;
    }
    memcpy(&number, g_bytes_get_data(bytes, NULL), sizeof number);
    return number;
}

static void
default_bool(MockObject *object, CK_ATTRIBUTE_TYPE type, gboolean on)
{
    if (find_attribute(object, type) == NULL) {
        mock_object_set_bool(object, type, on);
    }
}

static void
default_bytes(MockObject *object, CK_ATTRIBUTE_TYPE type)
{
    if (find_attribute(object, type) == NULL) {
        mock_object_set(object, type, "", 0);
    }
}

static void
complete_secret_key(MockObject *object)
{
    GBytes *key = mock_object_peek(object, CKA_VALUE);

    default_bytes(object, CKA_ID);
    default_bool(object, CKA_SENSITIVE, FALSE);
    default_bool(object, CKA_EXTRACTABLE, TRUE);
    default_bool(object, CKA_ENCRYPT, TRUE);
    default_bool(object, CKA_DECRYPT, TRUE);
    default_bool(object, CKA_SIGN, TRUE);
    default_bool(object, CKA_VERIFY, TRUE);
    default_bool(object, CKA_WRAP, FALSE);
    default_bool(object, CKA_UNWRAP, FALSE);
    default_bool(object, CKA_DERIVE, FALSE);
    default_bool(object, CKA_LOCAL, FALSE);
    default_bool(object, CKA_ALWAYS_SENSITIVE, mock_object_bool(object, CKA_SENSITIVE, FALSE));
    default_bool(object, CKA_NEVER_EXTRACTABLE, !mock_object_bool(object, CKA_EXTRACTABLE, TRUE));
    if (find_attribute(object, CKA_KEY_GEN_MECHANISM) == NULL) {
        mock_object_set_ulong(object, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
    }
    mock_object_set_ulong(object, CKA_VALUE_LEN, key != NULL ? g_bytes_get_size(key) : 0);
}

/* The defaults of attributes a template or a configuration left out. */
void
mock_object_complete(MockObject *object)
{
    CK_OBJECT_CLASS klass = mock_object_ulong(object, CKA_CLASS, CKO_DATA);

    default_bool(object, CKA_TOKEN, FALSE);
    default_bool(object, CKA_PRIVATE, klass == CKO_SECRET_KEY || klass == CKO_PRIVATE_KEY);
    default_bool(object, CKA_MODIFIABLE, TRUE);
    default_bool(object, CKA_COPYABLE, TRUE);
    default_bool(object, CKA_DESTROYABLE, TRUE);
    default_bytes(object, CKA_LABEL);
    if (klass == CKO_DATA) {
        default_bytes(object, CKA_APPLICATION);
        default_bytes(object, CKA_VALUE);
    }
    if (klass == CKO_SECRET_KEY) {
        complete_secret_key(object);
    }
}

gboolean
mock_object_is_sensitive(const MockObject *object, CK_ATTRIBUTE_TYPE type)
{
    CK_OBJECT_CLASS klass = mock_object_ulong(object, CKA_CLASS, CKO_DATA);

    if (klass != CKO_SECRET_KEY && klass != CKO_PRIVATE_KEY) {
        return FALSE;
    }
    return TYPE_IN(type, secret_attributes) && (mock_object_bool(object, CKA_SENSITIVE, FALSE) ||
                                                !mock_object_bool(object, CKA_EXTRACTABLE, TRUE));
}

/* ------------------------------------------------------------- templates */

static CK_RV
check_attribute(const CK_ATTRIBUTE *attr)
{
    if (attr->pValue == NULL && attr->ulValueLen != 0) {
        return CKR_ARGUMENTS_BAD;
    }
    if (attr->ulValueLen == CK_UNAVAILABLE_INFORMATION) {
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if (TYPE_IN(attr->type, bool_attributes) && attr->ulValueLen != sizeof(CK_BBOOL)) {
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if (TYPE_IN(attr->type, ulong_attributes) && attr->ulValueLen != sizeof(CK_ULONG)) {
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    return CKR_OK;
}

/* Pointers and lengths of a template the application passes in. */
CK_RV
mock_template_check(CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    CK_RV rv = CKR_OK;
    CK_ULONG i;

    if (pTemplate == NULL && ulCount != 0) {
        return CKR_ARGUMENTS_BAD;
    }
    for (i = 0; rv == CKR_OK && i < ulCount; i++) {
        rv = check_attribute(&pTemplate[i]);
    }
    return rv;
}

/* Copy a checked template into the object. */
CK_RV
mock_object_apply(MockObject *object, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    CK_ULONG i;

    for (i = 0; i < ulCount; i++) {
        mock_object_set(object, pTemplate[i].type, pTemplate[i].pValue, pTemplate[i].ulValueLen);
    }
    return CKR_OK;
}

static gboolean
template_bool(const CK_ATTRIBUTE *attr)
{
    return *(const CK_BBOOL *)attr->pValue != CK_FALSE;
}

/* May attr change an existing object (C_SetAttributeValue, C_CopyObject)? */
static CK_RV
check_change(const MockObject *object, const CK_ATTRIBUTE *attr, gboolean copying)
{
    CK_OBJECT_CLASS klass = mock_object_ulong(object, CKA_CLASS, CKO_DATA);
    gboolean key = klass == CKO_SECRET_KEY || klass == CKO_PRIVATE_KEY;

    if (TYPE_IN(attr->type, fixed_attributes) || TYPE_IN(attr->type, token_set_attributes) ||
        (key && attr->type == CKA_VALUE)) {
        return CKR_ATTRIBUTE_READ_ONLY;
    }
    if (!copying && (attr->type == CKA_TOKEN || attr->type == CKA_PRIVATE)) {
        return CKR_ATTRIBUTE_READ_ONLY;
    }
    if ((attr->type == CKA_SENSITIVE && !template_bool(attr) &&
         mock_object_bool(object, CKA_SENSITIVE, FALSE)) ||
        (attr->type == CKA_EXTRACTABLE && template_bool(attr) &&
         !mock_object_bool(object, CKA_EXTRACTABLE, TRUE)) ||
        (attr->type == CKA_COPYABLE && template_bool(attr) &&
         !mock_object_bool(object, CKA_COPYABLE, TRUE))) {
        return CKR_ATTRIBUTE_READ_ONLY;
    }
    return CKR_OK;
}

/* May the template change object (C_SetAttributeValue, or copying)? */
CK_RV
mock_object_check_changes(const MockObject *object, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                          gboolean copying)
{
    CK_RV rv = mock_template_check(pTemplate, ulCount);
    CK_ULONG i;

    for (i = 0; rv == CKR_OK && i < ulCount; i++) {
        rv = check_change(object, &pTemplate[i], copying);
    }
    return rv;
}

/* ----------------------------------------------------------------- store */

static void
ensure_table(void)
{
    if (objects == NULL) {
        objects = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                        (GDestroyNotify)mock_object_free);
    }
}

gboolean
mock_object_visible(const MockSession *session, const MockObject *object)
{
    if (object->slotID != session->slotID) {
        return FALSE;
    }
    return !mock_object_bool(object, CKA_PRIVATE, FALSE) || mock_session_sees_private(session);
}

static CK_OBJECT_HANDLE
insert(MockObject *object)
{
    ensure_table();
    object->handle = next_handle++;
    g_hash_table_insert(objects, HANDLE_KEY(object->handle), object);
    return object->handle;
}

/* token_objects: transfer full; objects made at run time are dropped.
 * NULL: module unload, the table itself goes. */
void
mock_objects_replace(GPtrArray *token_objects)
{
    guint i;

    g_clear_pointer(&objects, g_hash_table_unref);
    next_handle = MOCK_OBJECT_BASE;
    if (token_objects == NULL) {
        return;
    }
    ensure_table();
    g_ptr_array_set_free_func(token_objects, NULL);
    for (i = 0; i < token_objects->len; i++) {
        insert(g_ptr_array_index(token_objects, i));
    }
    g_ptr_array_unref(token_objects);
}

/* A new object of session's token; object: transfer full, freed on error. */
CK_RV
mock_object_store(MockSession *session, MockObject *object, CK_OBJECT_HANDLE_PTR phObject)
{
    g_autoptr(MockObject) owned = object;
    gboolean token = mock_object_bool(object, CKA_TOKEN, FALSE);

    if (token && !mock_session_is_rw(session)) {
        return CKR_SESSION_READ_ONLY;
    }
    if (mock_object_bool(object, CKA_PRIVATE, FALSE) && !mock_session_sees_private(session)) {
        return CKR_USER_NOT_LOGGED_IN;
    }
    object->slotID = session->slotID;
    object->session = token ? 0 : session->handle;
    *phObject = insert(g_steal_pointer(&owned));
    return CKR_OK;
}

CK_RV
mock_object_lookup(const MockSession *session, CK_OBJECT_HANDLE handle, MockObject **object)
{
    ensure_table();
    *object = g_hash_table_lookup(objects, HANDLE_KEY(handle));
    if (*object == NULL || !mock_object_visible(session, *object)) {
        *object = NULL;
        return CKR_OBJECT_HANDLE_INVALID;
    }
    return CKR_OK;
}

static gboolean
made_by_session(gpointer key G_GNUC_UNUSED, gpointer object, gpointer session)
{
    return ((MockObject *)object)->session == *(CK_SESSION_HANDLE *)session;
}

void
mock_objects_destroy_session(CK_SESSION_HANDLE session)
{
    ensure_table();
    g_hash_table_foreach_remove(objects, made_by_session, &session);
}

static gboolean
token_object_of(gpointer key G_GNUC_UNUSED, gpointer object, gpointer slotID)
{
    const MockObject *o = object;

    return o->session == 0 && o->slotID == *(CK_SLOT_ID *)slotID &&
           mock_object_bool(o, CKA_DESTROYABLE, TRUE);
}

/* C_InitToken: every destroyable token object goes. */
void
mock_objects_wipe_token(CK_SLOT_ID slotID)
{
    ensure_table();
    g_hash_table_foreach_remove(objects, token_object_of, &slotID);
}

/* As mock_template_check(), and no attribute only the token sets. */
CK_RV
mock_template_check_creation(CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    CK_RV rv = mock_template_check(pTemplate, ulCount);
    CK_ULONG i;

    for (i = 0; rv == CKR_OK && i < ulCount; i++) {
        if (TYPE_IN(pTemplate[i].type, token_set_attributes)) {
            rv = CKR_ATTRIBUTE_READ_ONLY;
        }
    }
    return rv;
}

/* transfer full */
MockObject *
mock_object_dup(const MockObject *object)
{
    MockObject *copy = mock_object_new(object->slotID);
    guint i;

    for (i = 0; i < object->attributes->len; i++) {
        const MockAttribute *attr = &g_array_index(object->attributes, MockAttribute, i);

        mock_object_set(copy, attr->type, g_bytes_get_data(attr->bytes, NULL),
                        g_bytes_get_size(attr->bytes));
    }
    return copy;
}

/* ------------------------------------------------------------------ find */

static gboolean
matches(const MockObject *object, const CK_ATTRIBUTE *pTemplate, CK_ULONG ulCount)
{
    CK_ULONG i;

    for (i = 0; i < ulCount; i++) {
        GBytes *bytes = mock_object_peek(object, pTemplate[i].type);

        if (bytes == NULL || g_bytes_get_size(bytes) != pTemplate[i].ulValueLen ||
            (pTemplate[i].ulValueLen != 0 &&
             memcmp(g_bytes_get_data(bytes, NULL), pTemplate[i].pValue, pTemplate[i].ulValueLen) !=
                 0)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gint
compare_handles(gconstpointer a, gconstpointer b)
{
    CK_OBJECT_HANDLE x = *(const CK_OBJECT_HANDLE *)a;
    CK_OBJECT_HANDLE y = *(const CK_OBJECT_HANDLE *)b;

    return x < y ? -1 : x > y;
}

/* transfer full: the handles of the visible objects matching, in order. */
GArray *
mock_objects_find(const MockSession *session, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    GArray *found = g_array_new(FALSE, FALSE, sizeof(CK_OBJECT_HANDLE));
    GHashTableIter iter;
    MockObject *object;

    ensure_table();
    g_hash_table_iter_init(&iter, objects);
    while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&object)) {
        if (mock_object_visible(session, object) && matches(object, pTemplate, ulCount)) {
            g_array_append_val(found, object->handle);
        }
    }
    g_array_sort(found, compare_handles);
    return found;
}

void
mock_object_destroy(CK_OBJECT_HANDLE handle)
{
    ensure_table();
    g_hash_table_remove(objects, HANDLE_KEY(handle));
}
