/*
 * Slots and tokens of the mock: slot and token information, mechanisms,
 * C_InitToken, slot events (C_WaitForSlotEvent) and the control calls that
 * insert and remove tokens and add slots.  Everything here runs with the
 * mock's lock held (mock.h).
 */
#include "config.h"

#include <string.h>

#include "mock.h"
#include "mock-control.h"

static GPtrArray *slots;             /* MockSlot, in slot-list order */
static GQueue events = G_QUEUE_INIT; /* slot ids, one per change */
static GCond event_cond;

/* What the mock implements; key sizes in bytes except HMAC/generic (bits). */
static const MockMechanism builtin_mechanisms[] = {
    {CKM_SHA256, {0, 0, CKF_DIGEST}},
    {CKM_SHA256_HMAC, {8, 4096, CKF_SIGN | CKF_VERIFY}},
    {CKM_GENERIC_SECRET_KEY_GEN, {8, 4096, CKF_GENERATE}},
    {CKM_AES_KEY_GEN, {16, 32, CKF_GENERATE}},
    {MOCK_CKM_XOR, {1, 512, CKF_ENCRYPT | CKF_DECRYPT | CKF_MESSAGE_ENCRYPT | CKF_MESSAGE_DECRYPT}},
};

/* Mechanism flags a 2.40 caller does not know. */
#define MESSAGE_FLAGS                                                                              \
    (CKF_MESSAGE_ENCRYPT | CKF_MESSAGE_DECRYPT | CKF_MESSAGE_SIGN | CKF_MESSAGE_VERIFY |           \
     CKF_MULTI_MESSAGE | CKF_FIND_OBJECTS)

/* ------------------------------------------------------------ mechanisms */

gboolean
mock_mechanism_builtin(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
    gsize i;

    for (i = 0; i < G_N_ELEMENTS(builtin_mechanisms); i++) {
        if (builtin_mechanisms[i].type == type) {
            *info = builtin_mechanisms[i].info;
            return TRUE;
        }
    }
    return FALSE;
}

/* transfer full */
GArray *
mock_mechanisms_default(void)
{
    GArray *mechanisms = g_array_new(FALSE, TRUE, sizeof(MockMechanism));

    g_array_append_vals(mechanisms, builtin_mechanisms, G_N_ELEMENTS(builtin_mechanisms));
    return mechanisms;
}

/* mechanisms: transfer full */
void
mock_slot_set_mechanisms(MockSlot *slot, GArray *mechanisms)
{
    g_clear_pointer(&slot->mechanisms, g_array_unref);
    slot->mechanisms = mechanisms;
}

/* transfer none, nullable */
const MockMechanism *
mock_slot_mechanism(const MockSlot *slot, CK_MECHANISM_TYPE type)
{
    guint i;

    for (i = 0; i < slot->mechanisms->len; i++) {
        const MockMechanism *mech = &g_array_index(slot->mechanisms, MockMechanism, i);

        if (mech->type == type) {
            return mech;
        }
    }
    return NULL;
}

/* ----------------------------------------------------------------- slots */

/* transfer full: a slot holding an initialised token; label NULL: default. */
MockSlot *
mock_slot_new(CK_SLOT_ID id, const char *label)
{
    MockSlot *slot = g_new0(MockSlot, 1);

    slot->id = id;
    slot->description = g_strdup_printf("Mock slot %lu", id);
    slot->removable = TRUE;
    slot->token_present = TRUE;
    slot->token_initialized = TRUE;
    slot->label = label != NULL ? g_strdup(label) : g_strdup_printf("mock-token-%lu", id);
    slot->serial = g_strdup_printf("%04lu", id);
    slot->model = g_strdup("Mock token");
    slot->pin = g_strdup("1234");
    slot->so_pin = g_strdup("0000");
    slot->login = MOCK_NOBODY;
    slot->mechanisms = mock_mechanisms_default();
    return slot;
}

void
mock_slot_free(MockSlot *slot)
{
    if (slot == NULL) {
        return;
    }
    g_free(slot->description);
    g_free(slot->label);
    g_free(slot->serial);
    g_free(slot->model);
    g_free(slot->pin);
    g_free(slot->so_pin);
    g_clear_pointer(&slot->mechanisms, g_array_unref);
    g_free(slot);
}

/* new_slots: transfer full */
void
mock_slots_replace(GPtrArray *new_slots)
{
    g_clear_pointer(&slots, g_ptr_array_unref);
    slots = new_slots;
    g_queue_clear(&events);
}

/* transfer none, nullable */
MockSlot *
mock_slot_peek(CK_SLOT_ID id)
{
    guint i;

    for (i = 0; slots != NULL && i < slots->len; i++) {
        MockSlot *slot = g_ptr_array_index(slots, i);

        if (slot->id == id) {
            return slot;
        }
    }
    return NULL;
}

/* The slot, if it exists and holds a token. */
CK_RV
mock_slot_token(CK_SLOT_ID id, MockSlot **slot)
{
    *slot = mock_slot_peek(id);
    if (*slot == NULL) {
        return CKR_SLOT_ID_INVALID;
    }
    return (*slot)->token_present ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

gboolean
mock_pin_matches(const char *expected, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    return expected != NULL && pPin != NULL && strlen(expected) == ulPinLen &&
           memcmp(expected, pPin, ulPinLen) == 0;
}

/* -------------------------------------------------------- slot and token */

static CK_RV
get_slot_list(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    CK_ULONG n = 0;
    guint i;

    if (pulCount == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    for (i = 0; i < slots->len; i++) {
        MockSlot *slot = g_ptr_array_index(slots, i);

        if (tokenPresent && !slot->token_present) {
            continue;
        }
        if (pSlotList != NULL && n < *pulCount) {
            pSlotList[n] = slot->id;
        }
        n++;
    }
    if (pSlotList != NULL && n > *pulCount) {
        *pulCount = n;
        return CKR_BUFFER_TOO_SMALL;
    }
    *pulCount = n;
    return CKR_OK;
}

CK_RV
mock_C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter(MOCK_FN_C_GetSlotList);
    if (rv == CKR_OK) {
        rv = get_slot_list(tokenPresent, pSlotList, pulCount);
    }
    mock_unlock();
    return rv;
}

static CK_RV
get_slot_info(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    MockSlot *slot = mock_slot_peek(slotID);

    if (slot == NULL) {
        return CKR_SLOT_ID_INVALID;
    }
    if (pInfo == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    memset(pInfo, 0, sizeof *pInfo);
    mock_pad(pInfo->slotDescription, sizeof pInfo->slotDescription, slot->description);
    mock_pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, mock_conf_peek()->manufacturer);
    pInfo->flags = (slot->token_present ? CKF_TOKEN_PRESENT : 0) |
                   (slot->removable ? CKF_REMOVABLE_DEVICE : 0);
    pInfo->hardwareVersion.major = 1;
    pInfo->firmwareVersion.major = 1;
    return CKR_OK;
}

CK_RV
mock_C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter(MOCK_FN_C_GetSlotInfo);
    if (rv == CKR_OK) {
        rv = get_slot_info(slotID, pInfo);
    }
    mock_unlock();
    return rv;
}

static CK_FLAGS
token_flags(const MockSlot *slot)
{
    CK_FLAGS flags = CKF_RNG;

    if (slot->token_initialized) {
        flags |= CKF_TOKEN_INITIALIZED;
    }
    if (slot->pin != NULL) {
        flags |= CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED;
    }
    if (slot->async_sessions) {
        flags |= CKF_ASYNC_SESSION_SUPPORTED;
    }
    return flags;
}

static void
fill_token_info(const MockSlot *slot, CK_TOKEN_INFO_PTR pInfo)
{
    memset(pInfo, 0, sizeof *pInfo);
    mock_pad(pInfo->label, sizeof pInfo->label, slot->label);
    mock_pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, mock_conf_peek()->manufacturer);
    mock_pad(pInfo->model, sizeof pInfo->model, slot->model);
    mock_pad(pInfo->serialNumber, sizeof pInfo->serialNumber, slot->serial);
    pInfo->flags = token_flags(slot);
    pInfo->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    mock_sessions_count(slot->id, &pInfo->ulSessionCount, &pInfo->ulRwSessionCount);
    pInfo->ulMaxPinLen = 64;
    pInfo->ulMinPinLen = 4;
    pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->hardwareVersion.major = 1;
    pInfo->firmwareVersion.major = 1;
    memset(pInfo->utcTime, ' ', sizeof pInfo->utcTime);
}

CK_RV
mock_C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    MockSlot *slot;
    CK_RV rv;

    mock_lock();
    rv = mock_enter(MOCK_FN_C_GetTokenInfo);
    if (rv == CKR_OK) {
        rv = mock_slot_token(slotID, &slot);
    }
    if (rv == CKR_OK && pInfo == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv == CKR_OK) {
        fill_token_info(slot, pInfo);
    }
    mock_unlock();
    return rv;
}

/* ------------------------------------------------------------ mechanisms */

static CK_RV
get_mechanism_list(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList, CK_ULONG_PTR pulCount)
{
    MockSlot *slot;
    CK_RV rv = mock_slot_token(slotID, &slot);
    guint i;

    if (rv != CKR_OK) {
        return rv;
    }
    if (pulCount == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (pMechanismList != NULL && *pulCount < slot->mechanisms->len) {
        rv = CKR_BUFFER_TOO_SMALL;
    }
    for (i = 0; rv == CKR_OK && pMechanismList != NULL && i < slot->mechanisms->len; i++) {
        pMechanismList[i] = g_array_index(slot->mechanisms, MockMechanism, i).type;
    }
    *pulCount = slot->mechanisms->len;
    return rv;
}

CK_RV
mock_C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                        CK_ULONG_PTR pulCount)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter(MOCK_FN_C_GetMechanismList);
    if (rv == CKR_OK) {
        rv = get_mechanism_list(slotID, pMechanismList, pulCount);
    }
    mock_unlock();
    return rv;
}

static CK_RV
get_mechanism_info(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
    const MockMechanism *mech;
    MockSlot *slot;
    CK_RV rv = mock_slot_token(slotID, &slot);

    if (rv != CKR_OK) {
        return rv;
    }
    mech = mock_slot_mechanism(slot, type);
    if (mech == NULL) {
        return CKR_MECHANISM_INVALID;
    }
    if (pInfo == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    *pInfo = mech->info;
    if (!mock_conf_peek()->v3) {
        pInfo->flags &= ~(CK_FLAGS)MESSAGE_FLAGS;
    }
    return CKR_OK;
}

CK_RV
mock_C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter(MOCK_FN_C_GetMechanismInfo);
    if (rv == CKR_OK) {
        rv = get_mechanism_info(slotID, type, pInfo);
    }
    mock_unlock();
    return rv;
}

/* ------------------------------------------------------------ InitToken */

static CK_RV
init_token(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pLabel)
{
    MockSlot *slot;
    CK_RV rv = mock_slot_token(slotID, &slot);

    if (rv != CKR_OK) {
        return rv;
    }
    if ((pPin == NULL && ulPinLen != 0) || pLabel == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (mock_sessions_exist(slotID, FALSE)) {
        return CKR_SESSION_EXISTS;
    }
    if (slot->token_initialized && slot->so_pin != NULL &&
        !mock_pin_matches(slot->so_pin, pPin, ulPinLen)) {
        return CKR_PIN_INCORRECT;
    }
    g_free(slot->so_pin);
    slot->so_pin = g_strndup((const char *)pPin, ulPinLen);
    g_free(slot->label);
    slot->label = g_strchomp(g_strndup((const char *)pLabel, 32));
    g_clear_pointer(&slot->pin, g_free);
    slot->token_initialized = TRUE;
    mock_objects_wipe_token(slotID);
    return CKR_OK;
}

CK_RV
mock_C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pLabel)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter(MOCK_FN_C_InitToken);
    if (rv == CKR_OK) {
        rv = init_token(slotID, pPin, ulPinLen, pLabel);
    }
    mock_unlock();
    return rv;
}

/* ---------------------------------------------------------- slot events */

void
mock_events_clear(void)
{
    g_queue_clear(&events);
}

/* Wake every waiter: C_Finalize, or a new event. */
void
mock_events_wake(void)
{
    g_cond_broadcast(&event_cond);
}

static void
push_event(CK_SLOT_ID id)
{
    g_queue_push_tail(&events, (gpointer)(guintptr)id);
    mock_events_wake();
}

/* With the lock held; g_cond_wait() releases it while blocked. */
static CK_RV
wait_for_event(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot)
{
    guint generation = mock_generation();

    while (g_queue_is_empty(&events)) {
        if (flags & CKF_DONT_BLOCK) {
            return CKR_NO_EVENT;
        }
        g_cond_wait(&event_cond, mock_mutex());
        if (!mock_is_initialized() || mock_generation() != generation) {
            return CKR_CRYPTOKI_NOT_INITIALIZED;
        }
    }
    *pSlot = (CK_SLOT_ID)(guintptr)g_queue_pop_head(&events);
    return CKR_OK;
}

CK_RV
mock_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter(MOCK_FN_C_WaitForSlotEvent);
    if (rv == CKR_OK && (pSlot == NULL || pReserved != NULL)) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv == CKR_OK) {
        rv = wait_for_event(flags, pSlot);
    }
    mock_unlock();
    return rv;
}

/* --------------------------------------------------------- control API */

MOCK_EXPORT void
mock_control_insert_token(CK_SLOT_ID slot)
{
    MockSlot *found;

    mock_lock();
    mock_ensure_loaded();
    found = mock_slot_peek(slot);
    if (found != NULL && !found->token_present) {
        found->token_present = TRUE;
        push_event(slot);
    }
    mock_unlock();
}

MOCK_EXPORT void
mock_control_remove_token(CK_SLOT_ID slot)
{
    MockSlot *found;

    mock_lock();
    mock_ensure_loaded();
    found = mock_slot_peek(slot);
    if (found != NULL && found->token_present) {
        found->token_present = FALSE;
        mock_sessions_close_slot(slot, TRUE);
        found->login = MOCK_NOBODY;
        push_event(slot);
    }
    mock_unlock();
}

MOCK_EXPORT void
mock_control_add_slot(CK_SLOT_ID slot, const char *label)
{
    mock_lock();
    mock_ensure_loaded();
    if (mock_slot_peek(slot) == NULL) {
        g_ptr_array_add(slots, mock_slot_new(slot, label));
        push_event(slot);
    }
    mock_unlock();
}
