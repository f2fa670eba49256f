/*
 * Sessions of the mock: open and close, session state, login (one state per
 * token, shared by its sessions, as PKCS #11 says), PINs, C_SessionCancel.
 *
 * Handles are 0x1000 + 7 n, never reused within an instance, so that a test
 * can tell when p11mux hands out a backend's raw handle.  Sessions on a
 * token that is removed are closed at once; their handles are remembered
 * and answer CKR_DEVICE_REMOVED until C_CloseSession (or C_CloseAllSessions
 * on the slot) forgets them.  Everything here runs with the mock's lock held.
 */
#include "config.h"

#include <string.h>

#include "mock.h"
#include "mock-control.h"

static GHashTable *sessions; /* handle -> MockSession */
static GHashTable *dead;     /* handle -> slot id, sessions lost to removal */
static CK_ULONG opened;      /* sessions ever opened: the n of the next handle */

#define HANDLE_KEY(h) ((gpointer)(guintptr)(h))

static void
ensure_tables(void)
{
    if (sessions == NULL) {
        sessions = g_hash_table_new(g_direct_hash, g_direct_equal);
        dead = g_hash_table_new(g_direct_hash, g_direct_equal);
    }
}

/* ------------------------------------------------------------ lifetime */

void
mock_operation_end(MockOperation *op)
{
    g_clear_pointer(&op->checksum, g_checksum_free);
    g_clear_pointer(&op->hmac, g_hmac_unref);
    g_clear_pointer(&op->key, g_bytes_unref);
    memset(op, 0, sizeof *op);
}

void
mock_session_end_find(MockSession *session)
{
    g_clear_pointer(&session->found, g_array_unref);
    session->found_next = 0;
    session->find_active = FALSE;
}

static void
session_free(MockSession *session)
{
    guint i;

    for (i = 0; i < MOCK_OP_COUNT; i++) {
        mock_operation_end(&session->ops[i]);
    }
    mock_session_end_find(session);
    g_free(session);
}

static gboolean
slot_has_sessions(CK_SLOT_ID slotID)
{
    GHashTableIter iter;
    MockSession *session;

    g_hash_table_iter_init(&iter, sessions);
    while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&session)) {
        if (session->slotID == slotID) {
            return TRUE;
        }
    }
    return FALSE;
}

/* The last session of a token closing logs its user out. */
static void
close_session(MockSession *session)
{
    CK_SLOT_ID slotID = session->slotID;
    MockSlot *slot = mock_slot_peek(slotID);

    g_hash_table_remove(sessions, HANDLE_KEY(session->handle));
    mock_objects_destroy_session(session->handle);
    session_free(session);
    if (slot != NULL && !slot_has_sessions(slotID)) {
        slot->login = MOCK_NOBODY;
    }
}

static void
forget_dead(CK_SLOT_ID slotID)
{
    GHashTableIter iter;
    gpointer slot;

    g_hash_table_iter_init(&iter, dead);
    while (g_hash_table_iter_next(&iter, NULL, &slot)) {
        if ((CK_SLOT_ID)(guintptr)slot == slotID) {
            g_hash_table_iter_remove(&iter);
        }
    }
}

/* Close every session on slotID; removed: remember them as dead. */
void
mock_sessions_close_slot(CK_SLOT_ID slotID, gboolean removed)
{
    GHashTableIter iter;
    MockSession *session;
    g_autoptr(GPtrArray) doomed = g_ptr_array_new();
    guint i;

    ensure_tables();
    g_hash_table_iter_init(&iter, sessions);
    while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&session)) {
        if (session->slotID == slotID) {
            g_ptr_array_add(doomed, session);
        }
    }
    for (i = 0; i < doomed->len; i++) {
        session = g_ptr_array_index(doomed, i);
        if (removed) {
            g_hash_table_insert(dead, HANDLE_KEY(session->handle), HANDLE_KEY(slotID));
        }
        close_session(session);
    }
}

/* C_Finalize and configuration changes: every session goes. */
void
mock_sessions_clear(void)
{
    GHashTableIter iter;
    MockSession *session;

    ensure_tables();
    g_hash_table_iter_init(&iter, sessions);
    while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&session)) {
        MockSlot *slot = mock_slot_peek(session->slotID);

        if (slot != NULL) {
            slot->login = MOCK_NOBODY;
        }
        mock_objects_destroy_session(session->handle);
        g_hash_table_iter_remove(&iter);
        session_free(session);
    }
    g_hash_table_remove_all(dead);
}

/* Module unload: the tables themselves go. */
void
mock_sessions_unload(void)
{
    mock_sessions_clear();
    g_clear_pointer(&sessions, g_hash_table_unref);
    g_clear_pointer(&dead, g_hash_table_unref);
}

/* -------------------------------------------------------------- queries */

gboolean
mock_session_handle_is_dead(CK_SESSION_HANDLE handle)
{
    ensure_tables();
    return g_hash_table_contains(dead, HANDLE_KEY(handle));
}

static CK_RV
lookup(CK_SESSION_HANDLE handle, MockSession **session)
{
    ensure_tables();
    *session = g_hash_table_lookup(sessions, HANDLE_KEY(handle));
    if (*session != NULL) {
        return CKR_OK;
    }
    return mock_session_handle_is_dead(handle) ? CKR_DEVICE_REMOVED : CKR_SESSION_HANDLE_INVALID;
}

/* Entry of every session function: mock_enter(), then the session. */
CK_RV
mock_enter_session(MockFunctionId fn, CK_SESSION_HANDLE handle, MockSession **session)
{
    CK_RV rv = mock_enter(fn);

    *session = NULL;
    return rv == CKR_OK ? lookup(handle, session) : rv;
}

/* transfer none: a live session's slot always exists. */
MockSlot *
mock_session_slot(const MockSession *session)
{
    return mock_slot_peek(session->slotID);
}

gboolean
mock_session_is_rw(const MockSession *session)
{
    return (session->flags & CKF_RW_SESSION) != 0;
}

gboolean
mock_session_sees_private(const MockSession *session)
{
    return mock_session_slot(session)->login == CKU_USER;
}

void
mock_sessions_count(CK_SLOT_ID slotID, CK_ULONG *all, CK_ULONG *rw)
{
    GHashTableIter iter;
    MockSession *session;

    ensure_tables();
    *all = 0;
    *rw = 0;
    g_hash_table_iter_init(&iter, sessions);
    while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&session)) {
        if (session->slotID == slotID) {
            *all += 1;
            *rw += mock_session_is_rw(session) ? 1 : 0;
        }
    }
}

/* read_only_only: only read-only sessions count. */
gboolean
mock_sessions_exist(CK_SLOT_ID slotID, gboolean read_only_only)
{
    CK_ULONG all;
    CK_ULONG rw;

    mock_sessions_count(slotID, &all, &rw);
    return read_only_only ? all > rw : all > 0;
}

/* ---------------------------------------------------------- open, close */

static CK_RV
open_session(CK_SLOT_ID slotID, CK_FLAGS flags, CK_SESSION_HANDLE_PTR phSession)
{
    MockSession *session;
    MockSlot *slot;
    CK_RV rv = mock_slot_token(slotID, &slot);

    if (rv != CKR_OK) {
        return rv;
    }
    if (!(flags & CKF_SERIAL_SESSION)) {
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    }
    if ((flags & CKF_ASYNC_SESSION) && !slot->async_sessions) {
        return CKR_SESSION_ASYNC_NOT_SUPPORTED;
    }
    if (phSession == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (!(flags & CKF_RW_SESSION) && slot->login == CKU_SO) {
        return CKR_SESSION_READ_WRITE_SO_EXISTS;
    }
    ensure_tables();
    session = g_new0(MockSession, 1);
    session->handle = MOCK_SESSION_BASE + MOCK_SESSION_STEP * opened++;
    session->slotID = slotID;
    session->flags = flags;
    g_hash_table_insert(sessions, HANDLE_KEY(session->handle), session);
    *phSession = session->handle;
    return CKR_OK;
}

/* Notify and pApplication are accepted and never used (no callbacks). */
CK_RV
mock_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication G_GNUC_UNUSED, CK_NOTIFY Notify G_GNUC_UNUSED,
                   CK_SESSION_HANDLE_PTR phSession)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter(MOCK_FN_C_OpenSession);
    if (rv == CKR_OK) {
        rv = open_session(slotID, flags, phSession);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_CloseSession(CK_SESSION_HANDLE hSession)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_CloseSession, hSession, &session);
    if (rv == CKR_OK) {
        close_session(session);
    } else if (rv == CKR_DEVICE_REMOVED) {
        g_hash_table_remove(dead, HANDLE_KEY(hSession));
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_CloseAllSessions(CK_SLOT_ID slotID)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter(MOCK_FN_C_CloseAllSessions);
    if (rv == CKR_OK && mock_slot_peek(slotID) == NULL) {
        rv = CKR_SLOT_ID_INVALID;
    }
    if (rv == CKR_OK) {
        mock_sessions_close_slot(slotID, FALSE);
        forget_dead(slotID);
    }
    mock_unlock();
    return rv;
}

static CK_STATE
session_state(const MockSession *session)
{
    gboolean rw = mock_session_is_rw(session);

    switch (mock_session_slot(session)->login) {
    case CKU_SO:
        return CKS_RW_SO_FUNCTIONS;
    case CKU_USER:
        return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    default:
        return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
    }
}

CK_RV
mock_C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_GetSessionInfo, hSession, &session);
    if (rv == CKR_OK && pInfo == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv == CKR_OK) {
        pInfo->slotID = session->slotID;
        pInfo->state = session_state(session);
        pInfo->flags = session->flags;
        pInfo->ulDeviceError = 0;
    }
    mock_unlock();
    return rv;
}

/* ---------------------------------------------------------------- login */

static CK_RV
login(MockSession *session, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    MockSlot *slot = mock_session_slot(session);

    if (pPin == NULL && ulPinLen != 0) {
        return CKR_ARGUMENTS_BAD;
    }
    if (userType == CKU_CONTEXT_SPECIFIC) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    if (userType != CKU_USER && userType != CKU_SO) {
        return CKR_USER_TYPE_INVALID;
    }
    if (slot->login != MOCK_NOBODY) {
        return slot->login == userType ? CKR_USER_ALREADY_LOGGED_IN
                                       : CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    }
    if (userType == CKU_SO && mock_sessions_exist(slot->id, TRUE)) {
        return CKR_SESSION_READ_ONLY_EXISTS;
    }
    if (userType == CKU_USER && slot->pin == NULL) {
        return CKR_USER_PIN_NOT_INITIALIZED;
    }
    if (!mock_pin_matches(userType == CKU_SO ? slot->so_pin : slot->pin, pPin, ulPinLen)) {
        return CKR_PIN_INCORRECT;
    }
    slot->login = userType;
    return CKR_OK;
}

CK_RV
mock_C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
             CK_ULONG ulPinLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_Login, hSession, &session);
    if (rv == CKR_OK) {
        rv = login(session, userType, pPin, ulPinLen);
    }
    mock_unlock();
    return rv;
}

/* The mock's tokens have no user names: pUsername is not looked at. */
CK_RV
mock_C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                 CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_LoginUser, hSession, &session);
    if (rv == CKR_OK && pUsername == NULL && ulUsernameLen != 0) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv == CKR_OK) {
        rv = login(session, userType, pPin, ulPinLen);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_Logout(CK_SESSION_HANDLE hSession)
{
    MockSession *session;
    MockSlot *slot;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_Logout, hSession, &session);
    if (rv == CKR_OK) {
        slot = mock_session_slot(session);
        rv = slot->login == MOCK_NOBODY ? CKR_USER_NOT_LOGGED_IN : CKR_OK;
        slot->login = MOCK_NOBODY;
    }
    mock_unlock();
    return rv;
}

/* ----------------------------------------------------------------- PINs */

static gboolean
pin_len_valid(CK_ULONG ulPinLen)
{
    return ulPinLen >= 4 && ulPinLen <= 64;
}

static CK_RV
init_pin(MockSession *session, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    MockSlot *slot = mock_session_slot(session);

    if (pPin == NULL && ulPinLen != 0) {
        return CKR_ARGUMENTS_BAD;
    }
    if (slot->login != CKU_SO) {
        return CKR_USER_NOT_LOGGED_IN;
    }
    if (!pin_len_valid(ulPinLen)) {
        return CKR_PIN_LEN_RANGE;
    }
    g_free(slot->pin);
    slot->pin = g_strndup((const char *)pPin, ulPinLen);
    return CKR_OK;
}

CK_RV
mock_C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_InitPIN, hSession, &session);
    if (rv == CKR_OK) {
        rv = init_pin(session, pPin, ulPinLen);
    }
    mock_unlock();
    return rv;
}

/* The SO's PIN when the SO is logged in, else the user's. */
static CK_RV
set_pin(MockSession *session, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen, CK_UTF8CHAR_PTR pNewPin,
        CK_ULONG ulNewLen)
{
    MockSlot *slot = mock_session_slot(session);
    char **pin = slot->login == CKU_SO ? &slot->so_pin : &slot->pin;

    if ((pOldPin == NULL && ulOldLen != 0) || (pNewPin == NULL && ulNewLen != 0)) {
        return CKR_ARGUMENTS_BAD;
    }
    if (!mock_session_is_rw(session)) {
        return CKR_SESSION_READ_ONLY;
    }
    if (*pin == NULL) {
        return CKR_USER_PIN_NOT_INITIALIZED;
    }
    if (!mock_pin_matches(*pin, pOldPin, ulOldLen)) {
        return CKR_PIN_INCORRECT;
    }
    if (!pin_len_valid(ulNewLen)) {
        return CKR_PIN_LEN_RANGE;
    }
    g_free(*pin);
    *pin = g_strndup((const char *)pNewPin, ulNewLen);
    return CKR_OK;
}

CK_RV
mock_C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
              CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_SetPIN, hSession, &session);
    if (rv == CKR_OK) {
        rv = set_pin(session, pOldPin, ulOldLen, pNewPin, ulNewLen);
    }
    mock_unlock();
    return rv;
}

/* --------------------------------------------------- cancel, parallel */

static const struct {
    CK_FLAGS flag;
    MockOperationKind kind;
} cancel_flags[] = {
    {CKF_DIGEST, MOCK_OP_DIGEST},
    {CKF_SIGN, MOCK_OP_SIGN},
    {CKF_VERIFY, MOCK_OP_VERIFY},
    {CKF_ENCRYPT, MOCK_OP_ENCRYPT},
    {CKF_DECRYPT, MOCK_OP_DECRYPT},
    {CKF_MESSAGE_ENCRYPT, MOCK_OP_MESSAGE_ENCRYPT},
    {CKF_MESSAGE_DECRYPT, MOCK_OP_MESSAGE_DECRYPT},
};

CK_RV
mock_C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
    MockSession *session;
    CK_RV rv;
    gsize i;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_SessionCancel, hSession, &session);
    for (i = 0; rv == CKR_OK && i < G_N_ELEMENTS(cancel_flags); i++) {
        if (flags & cancel_flags[i].flag) {
            mock_operation_end(&session->ops[cancel_flags[i].kind]);
        }
    }
    if (rv == CKR_OK && (flags & CKF_FIND_OBJECTS)) {
        mock_session_end_find(session);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_GetFunctionStatus, hSession, &session);
    mock_unlock();
    return rv == CKR_OK ? CKR_FUNCTION_NOT_PARALLEL : rv;
}

CK_RV
mock_C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    MockSession *session;
    CK_RV rv;

    mock_lock();
    rv = mock_enter_session(MOCK_FN_C_CancelFunction, hSession, &session);
    mock_unlock();
    return rv == CKR_OK ? CKR_FUNCTION_NOT_PARALLEL : rv;
}

/* --------------------------------------------------------- control API */

MOCK_EXPORT CK_ULONG
mock_control_open_sessions(void)
{
    CK_ULONG n;

    mock_lock();
    mock_ensure_loaded();
    ensure_tables();
    n = g_hash_table_size(sessions);
    mock_unlock();
    return n;
}
