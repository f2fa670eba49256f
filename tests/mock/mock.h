/*
 * Internal interfaces of the mock PKCS #11 backend (see tests/mock/README.md
 * and the top of mock.c for what it is and how it is configured).
 *
 * Files: mock.c (state, loading, C_Initialize/C_Finalize, interfaces,
 * scripted failures), mock-conf.c (the configuration file), mock-slots.c
 * (slots, tokens, mechanisms, slot events, control API), mock-sessions.c
 * (sessions, login, PINs), mock-store.c (objects, attributes, templates,
 * visibility), mock-objects.c (object calls), mock-crypto.c (digest, HMAC,
 * toy XOR cipher), mock-message.c (the 3.0 message-based XOR),
 * mock-keygen.c (key generation, random numbers).
 *
 * Lock order: there is one lock, mock_lock(), taken by every entry point for
 * its whole body (the mock is not what is measured).  C_WaitForSlotEvent
 * waits on a condition with it.  No callback leaves the mock with it held.
 */
#ifndef MOCK_H
#define MOCK_H

#include <glib.h>

#include "p11mux-pkcs11.h"
#include "mock-stubs.h"

#define MOCK_EXPORT __attribute__((visibility("default")))

/* The toy cipher: XOR with the key value, output length = input length. */
#define MOCK_CKM_XOR (CKM_VENDOR_DEFINED + 1UL)

/* Handles differ from p11mux's own and from each other's ranges. */
#define MOCK_SESSION_BASE ((CK_SESSION_HANDLE)0x1000UL)
#define MOCK_SESSION_STEP ((CK_SESSION_HANDLE)7UL)
#define MOCK_OBJECT_BASE ((CK_OBJECT_HANDLE)0x500UL)

/* Login state of a token when nobody is logged in. */
#define MOCK_NOBODY ((CK_USER_TYPE)CK_UNAVAILABLE_INFORMATION)

/* Every PKCS #11 function, from the generated mock-functions.h. */
typedef enum {
#define MOCK_FUNCTION(name) MOCK_FN_##name,
#include "mock-functions.h"
#undef MOCK_FUNCTION
    MOCK_FN_COUNT
} MockFunctionId;

/* ------------------------------------------------------------- objects */

typedef struct {
    CK_ATTRIBUTE_TYPE type;
    GBytes *bytes;
} MockAttribute;

typedef struct {
    CK_OBJECT_HANDLE handle; /* 0 until stored */
    CK_SLOT_ID slotID;
    CK_SESSION_HANDLE session; /* creating session; 0 for token objects */
    GArray *attributes;        /* MockAttribute, in insertion order */
} MockObject;

/* ---------------------------------------------------------------- slots */

typedef struct {
    CK_MECHANISM_TYPE type;
    CK_MECHANISM_INFO info;
} MockMechanism;

typedef struct {
    CK_SLOT_ID id;
    char *description;
    gboolean removable;
    gboolean token_present;
    gboolean token_initialized;
    gboolean async_sessions; /* CKF_ASYNC_SESSION_SUPPORTED; opens CKF_ASYNC_SESSION */
    char *label;
    char *serial;
    char *model;
    char *pin;          /* nullable: user PIN not initialised */
    char *so_pin;       /* nullable: any SO PIN initialises the token */
    CK_USER_TYPE login; /* CKU_USER, CKU_SO or MOCK_NOBODY */
    GArray *mechanisms; /* MockMechanism */
} MockSlot;

/* ------------------------------------------------------------- sessions */

typedef enum {
    MOCK_OP_DIGEST,
    MOCK_OP_SIGN,
    MOCK_OP_VERIFY,
    MOCK_OP_ENCRYPT,
    MOCK_OP_DECRYPT,
    MOCK_OP_MESSAGE_ENCRYPT,
    MOCK_OP_MESSAGE_DECRYPT,
    MOCK_OP_COUNT
} MockOperationKind;

typedef struct {
    gboolean active;
    gboolean multi;      /* an Update was made: the single-part call is refused */
    GChecksum *checksum; /* digest */
    GHmac *hmac;         /* sign, verify */
    GBytes *key;         /* XOR ciphers */
    gsize offset;        /* position in the XOR key stream */
} MockOperation;

typedef struct {
    CK_SESSION_HANDLE handle;
    CK_SLOT_ID slotID;
    CK_FLAGS flags;
    MockOperation ops[MOCK_OP_COUNT];
    gboolean find_active;
    GArray *found; /* CK_OBJECT_HANDLE */
    guint found_next;
} MockSession;

/* ---------------------------------------------------------- configuration */

typedef struct {
    MockFunctionId fn;
    CK_RV rv;
    CK_ULONG nth;    /* 0: every call */
    gboolean onward; /* fail the nth call and every later one */
    CK_ULONG calls;  /* calls seen since the rule was installed */
} MockFailRule;

/* misbehave = FUNCTION:ACTION: what a call of FUNCTION does instead of its work. */
typedef enum {
    MOCK_MISBEHAVE_HANG,   /* block for ever (the mock's lock released) */
    MOCK_MISBEHAVE_SLEEP,  /* sleep arg milliseconds (lock released), then work */
    MOCK_MISBEHAVE_SEGV,   /* raise(SIGSEGV) */
    MOCK_MISBEHAVE_ABORT,  /* abort() */
    MOCK_MISBEHAVE_EXIT,   /* exit(arg) */
    MOCK_MISBEHAVE_RETURN, /* return arg (a CK_RV) without doing anything */
} MockMisbehaviourKind;

typedef struct {
    MockFunctionId fn;
    MockMisbehaviourKind kind;
    CK_ULONG arg;
} MockMisbehaviour;

typedef struct {
    char *path;  /* nullable: the built-in configuration */
    gboolean v3;  /* interface = 3.0 or 3.2 */
    gboolean v32; /* interface = 3.2: the 3.2 list is offered first */
    char *manufacturer;
    char *description;
    GPtrArray *fail_rules;  /* MockFailRule */
    GArray *misbehaviours;  /* MockMisbehaviour */
    GArray *null_functions; /* MockFunctionId */
    GPtrArray *slots;       /* MockSlot, stolen when published */
    GPtrArray *objects;     /* MockObject (token objects), stolen when published */
} MockConf;

/* mock.c: state shared by every file; call only with the lock held. */
void mock_lock(void);
void mock_unlock(void);
GMutex *mock_mutex(void);
void mock_ensure_loaded(void);
CK_RV mock_enter(MockFunctionId fn);
CK_RV mock_enter_any(MockFunctionId fn);
gboolean mock_is_initialized(void);
guint mock_generation(void);
const MockConf *mock_conf_peek(void);
const char *mock_function_name(MockFunctionId fn);
gboolean mock_function_id(const char *name, MockFunctionId *fn);
void mock_pad(CK_UTF8CHAR *field, gsize size, const char *text);
CK_RV mock_output_prepare(CK_BYTE_PTR out, CK_ULONG_PTR out_len, CK_ULONG needed, gboolean *write);

/* mock-conf.c */
MockConf *mock_conf_load(const char *path, GError **error);
void mock_conf_free(MockConf *conf);
gboolean mock_conf_parse_fail_rules(const char *text, GPtrArray *rules, GError **error);
gboolean mock_conf_parse_misbehaviours(const char *text, GArray *rules, GError **error);
gboolean mock_constant_value(const char *prefix, const char *text, CK_ULONG *number);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MockConf, mock_conf_free)

/* mock-slots.c */
MockSlot *mock_slot_new(CK_SLOT_ID id, const char *label);
void mock_slot_free(MockSlot *slot);
void mock_slots_replace(GPtrArray *slots); /* nullable */
MockSlot *mock_slot_peek(CK_SLOT_ID id);
CK_RV mock_slot_token(CK_SLOT_ID id, MockSlot **slot);
const MockMechanism *mock_slot_mechanism(const MockSlot *slot, CK_MECHANISM_TYPE type);
void mock_slot_set_mechanisms(MockSlot *slot, GArray *mechanisms);
gboolean mock_pin_matches(const char *expected, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen);
GArray *mock_mechanisms_default(void);
gboolean mock_mechanism_builtin(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);
void mock_events_clear(void);
void mock_events_wake(void);

/* mock-sessions.c */
CK_RV mock_enter_session(MockFunctionId fn, CK_SESSION_HANDLE handle, MockSession **session);
MockSlot *mock_session_slot(const MockSession *session);
gboolean mock_session_is_rw(const MockSession *session);
gboolean mock_session_sees_private(const MockSession *session);
gboolean mock_sessions_exist(CK_SLOT_ID slotID, gboolean read_only_only);
void mock_sessions_count(CK_SLOT_ID slotID, CK_ULONG *all, CK_ULONG *rw);
void mock_sessions_close_slot(CK_SLOT_ID slotID, gboolean removed);
void mock_sessions_clear(void);
void mock_sessions_unload(void);
void mock_operation_end(MockOperation *op);
void mock_session_end_find(MockSession *session);
gboolean mock_session_handle_is_dead(CK_SESSION_HANDLE handle);

/* mock-store.c */
MockObject *mock_object_new(CK_SLOT_ID slotID);
void mock_object_free(MockObject *object);
void mock_object_set(MockObject *object, CK_ATTRIBUTE_TYPE type, const void *data, gsize len);
void mock_object_set_bool(MockObject *object, CK_ATTRIBUTE_TYPE type, gboolean on);
void mock_object_set_ulong(MockObject *object, CK_ATTRIBUTE_TYPE type, CK_ULONG number);
GBytes *mock_object_peek(const MockObject *object, CK_ATTRIBUTE_TYPE type);
gboolean mock_object_bool(const MockObject *object, CK_ATTRIBUTE_TYPE type, gboolean fallback);
CK_ULONG mock_object_ulong(const MockObject *object, CK_ATTRIBUTE_TYPE type, CK_ULONG fallback);
MockObject *mock_object_dup(const MockObject *object);
void mock_object_complete(MockObject *object);
gboolean mock_object_is_sensitive(const MockObject *object, CK_ATTRIBUTE_TYPE type);
gboolean mock_object_visible(const MockSession *session, const MockObject *object);
CK_RV mock_template_check(CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount);
CK_RV mock_template_check_creation(CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount);
CK_RV mock_object_check_changes(const MockObject *object, CK_ATTRIBUTE_PTR pTemplate,
                                CK_ULONG ulCount, gboolean copying);
CK_RV mock_object_apply(MockObject *object, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount);
CK_RV mock_object_store(MockSession *session, MockObject *object, CK_OBJECT_HANDLE_PTR phObject);
CK_RV mock_object_lookup(const MockSession *session, CK_OBJECT_HANDLE handle, MockObject **object);
void mock_objects_replace(GPtrArray *token_objects); /* nullable */
void mock_object_destroy(CK_OBJECT_HANDLE handle);
GArray *mock_objects_find(const MockSession *session, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount);
void mock_objects_destroy_session(CK_SESSION_HANDLE session);
void mock_objects_wipe_token(CK_SLOT_ID slotID);

/* mock-crypto.c */
CK_RV mock_mechanism_check(const MockSession *session, CK_MECHANISM_PTR pMechanism,
                           CK_MECHANISM_TYPE wanted);
CK_RV mock_key_for(const MockSession *session, CK_OBJECT_HANDLE hKey, CK_ATTRIBUTE_TYPE usage,
                   GBytes **key);
CK_RV mock_xor_init(MockSession *session, MockOperationKind kind, CK_MECHANISM_PTR pMechanism,
                    CK_OBJECT_HANDLE hKey, CK_ATTRIBUTE_TYPE usage);
void mock_xor(MockOperation *op, const CK_BYTE *in, CK_BYTE *out, CK_ULONG len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MockObject, mock_object_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MockSlot, mock_slot_free)

#endif /* MOCK_H */
