/*
 * The mock's null mode (libp11mux-mock-null.so): a PKCS #11 module that does
 * (almost) nothing, so that a benchmark through p11mux or p11-kit-proxy
 * measures the layer on top and not the token underneath.  It is the mock's
 * generated stubs (mock-stubs.[ch]) with the functions below in place of
 * the mock's own, without GLib, locks or a configuration file.
 *
 * It offers only the 2.40 interface (C_GetFunctionList, like SoftHSM2).
 * Every instance has `slots` slots (ids 10, 11, ...), each holding an
 * initialised token that needs no login, and on every token the same
 * synthetic, read-only objects:
 *
 *   handles 1..N   CKO_DATA, CKA_LABEL "obj-00000" ... (N = `objects`)
 *   N+1            CKO_PRIVATE_KEY CKK_EC  "bench-ec"   (signs with CKM_ECDSA)
 *   N+2            CKO_PRIVATE_KEY CKK_RSA "bench-rsa"  (CKM_SHA256_RSA_PKCS)
 *   N+3            CKO_SECRET_KEY  CKK_AES "bench-aes"  (CKM_AES_CBC_PAD)
 *
 * Configuration: words in the pReserved string of C_Initialize (p11mux's
 * init-reserved, p11-kit's x-init-reserved), else in the environment
 * variable P11MUX_NULL_RESERVED:
 *
 *   label=TEXT   label of the first token (default "null"); token k > 0 is TEXT.k
 *   slots=N      1..64 (default 1)
 *   objects=N    0..10000000 (default 10000)
 *
 * Copy the library under several file names for independent instances.
 *
 * Thread safety without a lock on the hot path: a session is an entry of a
 * fixed array claimed with a compare-and-swap; calls on a session read its
 * entry only.  A session is used by one thread at a time, as PKCS #11
 * requires of applications for operations.  Digest, sign and encrypt produce
 * fixed bytes of the right length (no cryptography); the buffer-length
 * protocol (NULL buffer, CKR_BUFFER_TOO_SMALL) is honoured.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock-stubs.h"
#include "p11mux-pkcs11.h"

#define EXPORT __attribute__((visibility("default")))

#define MAX_SLOTS 64
#define SLOT_BASE 10
#define MAX_SESSIONS 16384
#define MAX_OBJECTS 10000000UL
#define LABEL_SIZE 32

enum { OP_NONE, OP_DIGEST, OP_SIGN, OP_ENCRYPT };

typedef struct {
    int used;            /* atomic: 0 free, 1 claimed */
    CK_SLOT_ID slot;
    CK_FLAGS flags;
    int op;              /* OP_* */
    CK_ULONG out_len;    /* length the active operation produces (per 16 bytes for OP_ENCRYPT) */
    int finding;
    CK_ULONG find_next;  /* next handle of the search */
    CK_ULONG find_end;   /* one past the last */
    CK_ULONG random;     /* xorshift state */
} Session;

static int initialized; /* atomic */
static CK_ULONG n_slots = 1;
static CK_ULONG n_objects = 10000;
static char base_label[LABEL_SIZE + 1] = "null";
static Session sessions[MAX_SESSIONS];
static unsigned int session_hint;          /* atomic: where a new thread starts looking */
static __thread unsigned int session_cursor; /* where this thread looks next, plus one */

static const CK_MECHANISM_TYPE mechanisms[] = {
    CKM_SHA256, CKM_ECDSA, CKM_SHA256_RSA_PKCS, CKM_AES_CBC_PAD,
};

/* ------------------------------------------------------------ helpers */

static void
pad(CK_UTF8CHAR *field, size_t size, const char *text)
{
    size_t length = strlen(text);

    memset(field, ' ', size);
    memcpy(field, text, length < size ? length : size);
}

static int
slot_valid(CK_SLOT_ID slotID)
{
    return slotID >= SLOT_BASE && slotID < SLOT_BASE + n_slots;
}

static Session *
session_get(CK_SESSION_HANDLE hSession)
{
    Session *session;

    if (hSession == 0 || hSession > MAX_SESSIONS) {
        return NULL;
    }
    session = &sessions[hSession - 1];
    return __atomic_load_n(&session->used, __ATOMIC_ACQUIRE) ? session : NULL;
}

/* The value of key=VALUE among the words of text, copied into value. */
static int
reserved_word(const char *text, const char *key, char *value, size_t size)
{
    size_t key_len = strlen(key);
    const char *p = text;

    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (strncmp(p, key, key_len) == 0 && p[key_len] == '=') {
            size_t n = strcspn(p + key_len + 1, " \t");

            if (n >= size) {
                return -1;
            }
            memcpy(value, p + key_len + 1, n);
            value[n] = '\0';
            return 1;
        }
        p = strpbrk(p, " \t");
    }
    return 0;
}

static int
reserved_number(const char *text, const char *key, CK_ULONG min, CK_ULONG max, CK_ULONG *out)
{
    char value[32], *end;
    unsigned long number;
    int found = reserved_word(text, key, value, sizeof(value));

    if (found <= 0) {
        return found;
    }
    number = strtoul(value, &end, 10);
    if (*end != '\0' || end == value || number < min || number > max) {
        return -1;
    }
    *out = number;
    return 1;
}

static CK_RV
configure(const char *reserved)
{
    if (reserved == NULL) {
        reserved = getenv("P11MUX_NULL_RESERVED");
    }
    n_slots = 1;
    n_objects = 10000;
    strcpy(base_label, "null");
    if (reserved == NULL) {
        return CKR_OK;
    }
    if (reserved_word(reserved, "label", base_label, sizeof(base_label) - 3) < 0 ||
        reserved_number(reserved, "slots", 1, MAX_SLOTS, &n_slots) < 0 ||
        reserved_number(reserved, "objects", 0, MAX_OBJECTS, &n_objects) < 0) {
        fprintf(stderr, "null backend: bad configuration '%s'\n", reserved);
        return CKR_ARGUMENTS_BAD;
    }
    return CKR_OK;
}

/* ------------------------------------------------------------ objects */

typedef struct {
    CK_OBJECT_CLASS class;
    CK_KEY_TYPE key_type; /* (CK_KEY_TYPE)-1 for data */
    const char *label;    /* NULL for data objects: "obj-%05lu" */
} KeyDesc;

static const KeyDesc keys[] = {
    { CKO_PRIVATE_KEY, CKK_EC, "bench-ec" },
    { CKO_PRIVATE_KEY, CKK_RSA, "bench-rsa" },
    { CKO_SECRET_KEY, CKK_AES, "bench-aes" },
};

static CK_ULONG
n_handles(void)
{
    return n_objects + sizeof(keys) / sizeof(keys[0]);
}

static const KeyDesc *
key_of(CK_OBJECT_HANDLE handle)
{
    if (handle <= n_objects || handle > n_handles()) {
        return NULL;
    }
    return &keys[handle - n_objects - 1];
}

static void
label_of(CK_OBJECT_HANDLE handle, char *label)
{
    const KeyDesc *key = key_of(handle);

    if (key != NULL) {
        strcpy(label, key->label);
    } else {
        snprintf(label, LABEL_SIZE, "obj-%05lu", handle - 1);
    }
}

/* The handle labelled label[0..length), or 0. */
static CK_OBJECT_HANDLE
handle_of_label(const char *label, CK_ULONG length)
{
    char text[LABEL_SIZE], *end;
    unsigned long number;
    size_t i;

    if (length == 0 || length >= sizeof(text)) {
        return 0;
    }
    memcpy(text, label, length);
    text[length] = '\0';
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(text, keys[i].label) == 0) {
            return n_objects + 1 + i;
        }
    }
    if (length < 9 || strncmp(text, "obj-", 4) != 0) {
        return 0;
    }
    number = strtoul(text + 4, &end, 10);
    if (*end != '\0' || number >= n_objects) {
        return 0;
    }
    /* the canonical spelling only */
    label_of(number + 1, text);
    return length == strlen(text) && memcmp(text, label, length) == 0 ? number + 1 : 0;
}

/* Narrow [*lo, *hi) to the handles one template attribute can match. */
static void
narrow(const CK_ATTRIBUTE *attr, CK_ULONG *lo, CK_ULONG *hi)
{
    CK_ULONG from = 1, to = n_handles() + 1;

    if (attr->type == CKA_CLASS && attr->ulValueLen == sizeof(CK_OBJECT_CLASS) &&
        attr->pValue != NULL) {
        CK_OBJECT_CLASS class = *(const CK_OBJECT_CLASS *)attr->pValue;

        if (class == CKO_DATA) {
            to = n_objects + 1;
        } else if (class == CKO_PRIVATE_KEY) {
            from = n_objects + 1;
            to = n_objects + 3;
        } else if (class == CKO_SECRET_KEY) {
            from = n_objects + 3;
        } else {
            to = from;
        }
    } else if (attr->type == CKA_LABEL && attr->pValue != NULL) {
        from = handle_of_label(attr->pValue, attr->ulValueLen);
        to = from == 0 ? 0 : from + 1;
    } else if (attr->type == CKA_TOKEN && attr->ulValueLen == sizeof(CK_BBOOL) &&
               attr->pValue != NULL && *(const CK_BBOOL *)attr->pValue == CK_TRUE) {
        /* every object is a token object */
    } else {
        to = from; /* nothing else is matched */
    }
    *lo = *lo > from ? *lo : from;
    *hi = *hi < to ? *hi : to;
}

static CK_RV
set_attribute(CK_ATTRIBUTE *attr, const void *value, CK_ULONG length)
{
    if (attr->pValue == NULL) {
        attr->ulValueLen = length;
        return CKR_OK;
    }
    if (attr->ulValueLen < length) {
        attr->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(attr->pValue, value, length);
    attr->ulValueLen = length;
    return CKR_OK;
}

static CK_RV
get_attribute(CK_OBJECT_HANDLE handle, CK_ATTRIBUTE *attr)
{
    const KeyDesc *key = key_of(handle);
    CK_OBJECT_CLASS class = key != NULL ? key->class : CKO_DATA;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    char label[LABEL_SIZE];
    CK_ULONG id = handle;

    switch (attr->type) {
    case CKA_CLASS:
        return set_attribute(attr, &class, sizeof(class));
    case CKA_LABEL:
        label_of(handle, label);
        return set_attribute(attr, label, strlen(label));
    case CKA_ID:
        return set_attribute(attr, &id, sizeof(id));
    case CKA_TOKEN:
        return set_attribute(attr, &yes, sizeof(yes));
    case CKA_PRIVATE:
    case CKA_MODIFIABLE:
        return set_attribute(attr, &no, sizeof(no));
    case CKA_KEY_TYPE:
        if (key != NULL) {
            return set_attribute(attr, &key->key_type, sizeof(key->key_type));
        }
        break;
    case CKA_SENSITIVE:
        if (key != NULL) {
            return set_attribute(attr, &yes, sizeof(yes));
        }
        break;
    default:
        break;
    }
    attr->ulValueLen = CK_UNAVAILABLE_INFORMATION;
    return CKR_ATTRIBUTE_TYPE_INVALID;
}

/* ------------------------------------------------------------ general */

CK_RV
mock_C_Initialize(CK_VOID_PTR pInitArgs)
{
    CK_C_INITIALIZE_ARGS *args = pInitArgs;
    CK_RV rv;

    if (__atomic_load_n(&initialized, __ATOMIC_ACQUIRE)) {
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    }
    rv = configure(args != NULL ? args->pReserved : NULL);
    if (rv != CKR_OK) {
        return rv;
    }
    __atomic_store_n(&initialized, 1, __ATOMIC_RELEASE);
    return CKR_OK;
}

CK_RV
mock_C_Finalize(CK_VOID_PTR pReserved)
{
    if (pReserved != NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    CK_ULONG i;

    if (!__atomic_exchange_n(&initialized, 0, __ATOMIC_ACQ_REL)) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    for (i = 0; i < MAX_SESSIONS; i++) {
        if (__atomic_load_n(&sessions[i].used, __ATOMIC_RELAXED)) {
            __atomic_store_n(&sessions[i].used, 0, __ATOMIC_RELEASE);
        }
    }
    return CKR_OK;
}

CK_RV
mock_C_GetInfo(CK_INFO_PTR pInfo)
{
    if (pInfo == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    memset(pInfo, 0, sizeof(*pInfo));
    pInfo->cryptokiVersion.major = 2;
    pInfo->cryptokiVersion.minor = 40;
    pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "p11mux");
    pad(pInfo->libraryDescription, sizeof(pInfo->libraryDescription), "p11mux null backend");
    pInfo->libraryVersion.major = 1;
    return CKR_OK;
}

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList);

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    if (ppFunctionList == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    *ppFunctionList = &mock_function_list;
    return CKR_OK;
}

CK_RV
mock_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    return C_GetFunctionList(ppFunctionList);
}

/* ------------------------------------------------------------ slots and tokens */

CK_RV
mock_C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    CK_ULONG i;

    (void)tokenPresent; /* every slot always holds its token */
    if (!__atomic_load_n(&initialized, __ATOMIC_ACQUIRE)) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    if (pulCount == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (pSlotList == NULL) {
        *pulCount = n_slots;
        return CKR_OK;
    }
    if (*pulCount < n_slots) {
        *pulCount = n_slots;
        return CKR_BUFFER_TOO_SMALL;
    }
    for (i = 0; i < n_slots; i++) {
        pSlotList[i] = SLOT_BASE + i;
    }
    *pulCount = n_slots;
    return CKR_OK;
}

CK_RV
mock_C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    if (!__atomic_load_n(&initialized, __ATOMIC_ACQUIRE)) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    if (!slot_valid(slotID)) {
        return CKR_SLOT_ID_INVALID;
    }
    if (pInfo == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    memset(pInfo, 0, sizeof(*pInfo));
    pad(pInfo->slotDescription, sizeof(pInfo->slotDescription), "null slot");
    pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "p11mux");
    pInfo->flags = CKF_TOKEN_PRESENT;
    return CKR_OK;
}

CK_RV
mock_C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    char label[LABEL_SIZE + 16];

    if (!__atomic_load_n(&initialized, __ATOMIC_ACQUIRE)) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    if (!slot_valid(slotID)) {
        return CKR_SLOT_ID_INVALID;
    }
    if (pInfo == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (slotID == SLOT_BASE) {
        snprintf(label, sizeof(label), "%s", base_label);
    } else {
        snprintf(label, sizeof(label), "%s.%u", base_label, (unsigned int)(slotID - SLOT_BASE));
    }
    memset(pInfo, 0, sizeof(*pInfo));
    pad(pInfo->label, sizeof(pInfo->label), label);
    pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "p11mux");
    pad(pInfo->model, sizeof(pInfo->model), "null");
    pad(pInfo->serialNumber, sizeof(pInfo->serialNumber), label);
    pInfo->flags = CKF_RNG | CKF_TOKEN_INITIALIZED | CKF_WRITE_PROTECTED;
    pInfo->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulMaxPinLen = 64;
    pInfo->ulMinPinLen = 1;
    pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    return CKR_OK;
}

CK_RV
mock_C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                        CK_ULONG_PTR pulCount)
{
    CK_ULONG n = sizeof(mechanisms) / sizeof(mechanisms[0]);

    if (!__atomic_load_n(&initialized, __ATOMIC_ACQUIRE)) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    if (!slot_valid(slotID)) {
        return CKR_SLOT_ID_INVALID;
    }
    if (pulCount == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (pMechanismList != NULL && *pulCount < n) {
        *pulCount = n;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (pMechanismList != NULL) {
        memcpy(pMechanismList, mechanisms, sizeof(mechanisms));
    }
    *pulCount = n;
    return CKR_OK;
}

CK_RV
mock_C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
    if (!__atomic_load_n(&initialized, __ATOMIC_ACQUIRE)) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    if (!slot_valid(slotID)) {
        return CKR_SLOT_ID_INVALID;
    }
    if (pInfo == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    memset(pInfo, 0, sizeof(*pInfo));
    switch (type) {
    case CKM_SHA256:
        pInfo->flags = CKF_DIGEST;
        return CKR_OK;
    case CKM_ECDSA:
        pInfo->ulMinKeySize = pInfo->ulMaxKeySize = 256;
        pInfo->flags = CKF_SIGN;
        return CKR_OK;
    case CKM_SHA256_RSA_PKCS:
        pInfo->ulMinKeySize = pInfo->ulMaxKeySize = 2048;
        pInfo->flags = CKF_SIGN;
        return CKR_OK;
    case CKM_AES_CBC_PAD:
        pInfo->ulMinKeySize = pInfo->ulMaxKeySize = 32;
        pInfo->flags = CKF_ENCRYPT;
        return CKR_OK;
    default:
        return CKR_MECHANISM_INVALID;
    }
}

/* ------------------------------------------------------------ sessions */

CK_RV
mock_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                   CK_SESSION_HANDLE_PTR phSession)
{
    unsigned int start, i;

    (void)pApplication; /* no notifications */
    (void)Notify;
    if (!__atomic_load_n(&initialized, __ATOMIC_ACQUIRE)) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    if (!slot_valid(slotID)) {
        return CKR_SLOT_ID_INVALID;
    }
    if (!(flags & CKF_SERIAL_SESSION)) {
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    }
    if (phSession == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    /* threads look in different places, and reuse what they closed */
    if (session_cursor == 0) {
        session_cursor = __atomic_fetch_add(&session_hint, 1021, __ATOMIC_RELAXED) + 1;
    }
    start = session_cursor - 1;
    for (i = 0; i < MAX_SESSIONS; i++) {
        unsigned int index = (start + i) % MAX_SESSIONS;
        Session *session = &sessions[index];
        int expected = 0;

        if (__atomic_load_n(&session->used, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&session->used, &expected, 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            session->slot = slotID;
            session->flags = flags;
            session->op = OP_NONE;
            session->finding = 0;
            session->random = index * 0x9e3779b97f4a7c15ul + 1;
            session_cursor = index + 1;
            *phSession = index + 1;
            return CKR_OK;
        }
    }
    return CKR_SESSION_COUNT;
}

CK_RV
mock_C_CloseSession(CK_SESSION_HANDLE hSession)
{
    Session *session = session_get(hSession);

    if (session == NULL) {
        return __atomic_load_n(&initialized, __ATOMIC_ACQUIRE) ? CKR_SESSION_HANDLE_INVALID
                                                               : CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    __atomic_store_n(&session->used, 0, __ATOMIC_RELEASE);
    return CKR_OK;
}

CK_RV
mock_C_CloseAllSessions(CK_SLOT_ID slotID)
{
    CK_ULONG i;

    if (!__atomic_load_n(&initialized, __ATOMIC_ACQUIRE)) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    if (!slot_valid(slotID)) {
        return CKR_SLOT_ID_INVALID;
    }
    for (i = 0; i < MAX_SESSIONS; i++) {
        if (__atomic_load_n(&sessions[i].used, __ATOMIC_ACQUIRE) && sessions[i].slot == slotID) {
            __atomic_store_n(&sessions[i].used, 0, __ATOMIC_RELEASE);
        }
    }
    return CKR_OK;
}

CK_RV
mock_C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    Session *session = session_get(hSession);

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (pInfo == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    pInfo->slotID = session->slot;
    pInfo->state = (session->flags & CKF_RW_SESSION) ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
    pInfo->flags = session->flags;
    pInfo->ulDeviceError = 0;
    return CKR_OK;
}

CK_RV
mock_C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
             CK_ULONG ulPinLen)
{
    (void)userType; /* any PIN logs in */
    (void)pPin;
    (void)ulPinLen;
    return session_get(hSession) == NULL ? CKR_SESSION_HANDLE_INVALID : CKR_OK;
}

CK_RV
mock_C_Logout(CK_SESSION_HANDLE hSession)
{
    return session_get(hSession) == NULL ? CKR_SESSION_HANDLE_INVALID : CKR_OK;
}

/* ------------------------------------------------------------ objects */

CK_RV
mock_C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                         CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    CK_RV rv = CKR_OK;
    CK_ULONG i;

    if (session_get(hSession) == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (hObject == 0 || hObject > n_handles()) {
        return CKR_OBJECT_HANDLE_INVALID;
    }
    if (pTemplate == NULL && ulCount > 0) {
        return CKR_ARGUMENTS_BAD;
    }
    for (i = 0; i < ulCount; i++) {
        CK_RV one = get_attribute(hObject, &pTemplate[i]);

        /* the first error wins, but every attribute is answered */
        if (rv == CKR_OK) {
            rv = one;
        }
    }
    return rv;
}

CK_RV
mock_C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    Session *session = session_get(hSession);
    CK_ULONG lo = 1, hi = n_handles() + 1, i;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (pTemplate == NULL && ulCount > 0) {
        return CKR_ARGUMENTS_BAD;
    }
    if (session->finding) {
        return CKR_OPERATION_ACTIVE;
    }
    for (i = 0; i < ulCount; i++) {
        narrow(&pTemplate[i], &lo, &hi);
    }
    session->finding = 1;
    session->find_next = lo;
    session->find_end = hi > lo ? hi : lo;
    return CKR_OK;
}

CK_RV
mock_C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                   CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    Session *session = session_get(hSession);
    CK_ULONG n = 0;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (!session->finding) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    if (pulObjectCount == NULL || (phObject == NULL && ulMaxObjectCount > 0)) {
        return CKR_ARGUMENTS_BAD;
    }
    while (n < ulMaxObjectCount && session->find_next < session->find_end) {
        phObject[n++] = session->find_next++;
    }
    *pulObjectCount = n;
    return CKR_OK;
}

CK_RV
mock_C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    Session *session = session_get(hSession);

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (!session->finding) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    session->finding = 0;
    return CKR_OK;
}

/* ------------------------------------------------------------ "cryptography" */

static CK_RV
op_init(CK_SESSION_HANDLE hSession, int op, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    Session *session = session_get(hSession);
    const KeyDesc *key = key_of(hKey);

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (pMechanism == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (session->op != OP_NONE) {
        return CKR_OPERATION_ACTIVE;
    }
    switch (pMechanism->mechanism) {
    case CKM_SHA256:
        if (op != OP_DIGEST) {
            return CKR_MECHANISM_INVALID;
        }
        session->out_len = 32;
        break;
    case CKM_ECDSA:
    case CKM_SHA256_RSA_PKCS:
        if (op != OP_SIGN) {
            return CKR_MECHANISM_INVALID;
        }
        if (key == NULL) {
            return CKR_KEY_HANDLE_INVALID;
        }
        if (key->key_type != (pMechanism->mechanism == CKM_ECDSA ? CKK_EC : CKK_RSA)) {
            return CKR_KEY_TYPE_INCONSISTENT;
        }
        session->out_len = key->key_type == CKK_EC ? 64 : 256;
        break;
    case CKM_AES_CBC_PAD:
        if (op != OP_ENCRYPT) {
            return CKR_MECHANISM_INVALID;
        }
        if (key == NULL) {
            return CKR_KEY_HANDLE_INVALID;
        }
        if (key->key_type != CKK_AES) {
            return CKR_KEY_TYPE_INCONSISTENT;
        }
        if (pMechanism->pParameter == NULL || pMechanism->ulParameterLen != 16) {
            return CKR_MECHANISM_PARAM_INVALID;
        }
        session->out_len = 16;
        break;
    default:
        return CKR_MECHANISM_INVALID;
    }
    session->op = op;
    return CKR_OK;
}

/* The single-part protocol: NULL output gives the length, short output
 * keeps the operation, anything else ends it. */
static CK_RV
op_final(CK_SESSION_HANDLE hSession, int op, const CK_BYTE *pData, CK_ULONG ulDataLen,
         CK_BYTE_PTR pOut, CK_ULONG_PTR pulOutLen)
{
    Session *session = session_get(hSession);
    CK_ULONG length;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (session->op != op) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    if (pulOutLen == NULL || (pData == NULL && ulDataLen > 0)) {
        session->op = OP_NONE;
        return CKR_ARGUMENTS_BAD;
    }
    length = op == OP_ENCRYPT ? (ulDataLen / 16 + 1) * 16 : session->out_len;
    if (pOut == NULL) {
        *pulOutLen = length;
        return CKR_OK;
    }
    if (*pulOutLen < length) {
        *pulOutLen = length;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (op == OP_ENCRYPT) {
        memcpy(pOut, pData, ulDataLen);
        memset(pOut + ulDataLen, (int)(length - ulDataLen), length - ulDataLen);
    } else {
        memset(pOut, 0x5a, length);
    }
    *pulOutLen = length;
    session->op = OP_NONE;
    return CKR_OK;
}

CK_RV
mock_C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    return op_init(hSession, OP_DIGEST, pMechanism, CK_INVALID_HANDLE);
}

CK_RV
mock_C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
              CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    return op_final(hSession, OP_DIGEST, pData, ulDataLen, pDigest, pulDigestLen);
}

CK_RV
mock_C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return op_init(hSession, OP_SIGN, pMechanism, hKey);
}

CK_RV
mock_C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
            CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    return op_final(hSession, OP_SIGN, pData, ulDataLen, pSignature, pulSignatureLen);
}

CK_RV
mock_C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return op_init(hSession, OP_ENCRYPT, pMechanism, hKey);
}

CK_RV
mock_C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    return op_final(hSession, OP_ENCRYPT, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen);
}

CK_RV
mock_C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen)
{
    Session *session = session_get(hSession);
    CK_ULONG x, i;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if (RandomData == NULL && ulRandomLen > 0) {
        return CKR_ARGUMENTS_BAD;
    }
    x = session->random;
    for (i = 0; i < ulRandomLen; i += sizeof(x)) {
        CK_ULONG n = ulRandomLen - i < sizeof(x) ? ulRandomLen - i : sizeof(x);

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(RandomData + i, &x, n);
    }
    session->random = x;
    return CKR_OK;
}
