/*
 * The table of spec-allowed return values (spec-rv.h).  One row per
 * function of src/core/pkcs11-functions.tab; "@name" stands for a group below.
 */
#include "config.h"

#include "spec-rv.h"

#include <stdio.h>
#include <string.h>

#include "constants.h"

typedef struct {
    const char *name;
    const char *codes;
} Row;

/* clang-format off */
static const Row groups[] = {
    { "@session", "CKR_SESSION_HANDLE_INVALID CKR_SESSION_CLOSED" },
    { "@device", "CKR_DEVICE_ERROR CKR_DEVICE_MEMORY CKR_DEVICE_REMOVED" },
    { "@token", "CKR_SLOT_ID_INVALID CKR_TOKEN_NOT_PRESENT CKR_TOKEN_NOT_RECOGNIZED" },
    /* C_*Init of a cryptographic operation (spec 5.8 - 5.13) */
    { "@init", "CKR_ARGUMENTS_BAD CKR_FUNCTION_CANCELED CKR_KEY_FUNCTION_NOT_PERMITTED "
               "CKR_KEY_HANDLE_INVALID CKR_KEY_SIZE_RANGE CKR_KEY_TYPE_INCONSISTENT "
               "CKR_MECHANISM_INVALID CKR_MECHANISM_PARAM_INVALID CKR_OPERATION_ACTIVE "
               "CKR_PIN_EXPIRED CKR_USER_NOT_LOGGED_IN" },
    /* the parts of an operation */
    { "@part", "CKR_ARGUMENTS_BAD CKR_BUFFER_TOO_SMALL CKR_FUNCTION_CANCELED "
               "CKR_OPERATION_NOT_INITIALIZED" },
    { "@data", "CKR_DATA_INVALID CKR_DATA_LEN_RANGE" },
    { "@encrypted", "CKR_ENCRYPTED_DATA_INVALID CKR_ENCRYPTED_DATA_LEN_RANGE" },
    { "@signature", "CKR_SIGNATURE_INVALID CKR_SIGNATURE_LEN_RANGE" },
    { "@template", "CKR_ATTRIBUTE_READ_ONLY CKR_ATTRIBUTE_TYPE_INVALID "
                   "CKR_ATTRIBUTE_VALUE_INVALID CKR_TEMPLATE_INCOMPLETE "
                   "CKR_TEMPLATE_INCONSISTENT CKR_CURVE_NOT_SUPPORTED CKR_DOMAIN_PARAMS_INVALID" },
    { "@write", "CKR_ACTION_PROHIBITED CKR_PIN_EXPIRED CKR_SESSION_READ_ONLY "
                "CKR_TOKEN_WRITE_PROTECTED CKR_USER_NOT_LOGGED_IN" },
    { "@login", "CKR_ARGUMENTS_BAD CKR_FUNCTION_CANCELED CKR_OPERATION_NOT_INITIALIZED "
                "CKR_PIN_INCORRECT CKR_PIN_LOCKED CKR_SESSION_READ_ONLY_EXISTS "
                "CKR_USER_ALREADY_LOGGED_IN CKR_USER_ANOTHER_ALREADY_LOGGED_IN "
                "CKR_USER_PIN_NOT_INITIALIZED CKR_USER_TOO_MANY_TYPES CKR_USER_TYPE_INVALID "
                "CKR_PIN_EXPIRED CKR_PIN_LEN_RANGE" },
    /* 3.0 message-based operations (3.0 spec 5.11 - 5.17): the parameter is
     * checked per message; Begin/Next may find another message active */
    { "@message", "CKR_ARGUMENTS_BAD CKR_BUFFER_TOO_SMALL CKR_FUNCTION_CANCELED "
                  "CKR_MECHANISM_PARAM_INVALID CKR_OPERATION_ACTIVE "
                  "CKR_OPERATION_NOT_INITIALIZED CKR_USER_NOT_LOGGED_IN CKR_TOKEN_RESOURCE_EXCEEDED" },
};

/* 0x35 is CKR_AEAD_DECRYPT_FAILED (3.0), which p11-kit's 2.40 header lacks. */
static const Row rows[] = {
    { "C_Initialize", "CKR_ARGUMENTS_BAD CKR_CANT_LOCK CKR_CRYPTOKI_ALREADY_INITIALIZED "
                      "CKR_NEED_TO_CREATE_THREADS" },
    { "C_Finalize", "CKR_ARGUMENTS_BAD" },
    { "C_GetInfo", "CKR_ARGUMENTS_BAD" },
    { "C_GetFunctionList", "CKR_ARGUMENTS_BAD" },
    { "C_GetSlotList", "CKR_ARGUMENTS_BAD CKR_BUFFER_TOO_SMALL" },
    { "C_GetSlotInfo", "CKR_ARGUMENTS_BAD CKR_DEVICE_ERROR CKR_SLOT_ID_INVALID" },
    { "C_GetTokenInfo", "CKR_ARGUMENTS_BAD @device @token" },
    { "C_GetMechanismList", "CKR_ARGUMENTS_BAD CKR_BUFFER_TOO_SMALL @device @token" },
    { "C_GetMechanismInfo", "CKR_ARGUMENTS_BAD CKR_MECHANISM_INVALID @device @token" },
    { "C_InitToken", "CKR_ARGUMENTS_BAD CKR_FUNCTION_CANCELED CKR_PIN_INCORRECT CKR_PIN_LOCKED "
                     "CKR_SESSION_EXISTS CKR_TOKEN_WRITE_PROTECTED @device @token" },
    { "C_InitPIN", "CKR_ARGUMENTS_BAD CKR_FUNCTION_CANCELED CKR_PIN_INVALID CKR_PIN_LEN_RANGE "
                   "@write @session @device" },
    { "C_SetPIN", "CKR_ARGUMENTS_BAD CKR_FUNCTION_CANCELED CKR_PIN_INCORRECT CKR_PIN_INVALID "
                  "CKR_PIN_LEN_RANGE CKR_PIN_LOCKED @write @session @device" },
    /* CKR_SESSION_ASYNC_NOT_SUPPORTED: 3.2, for CKF_ASYNC_SESSION */
    { "C_OpenSession", "CKR_ARGUMENTS_BAD CKR_SESSION_COUNT CKR_SESSION_PARALLEL_NOT_SUPPORTED "
                       "CKR_SESSION_READ_WRITE_SO_EXISTS CKR_TOKEN_WRITE_PROTECTED "
                       "CKR_SESSION_ASYNC_NOT_SUPPORTED @device @token" },
    { "C_CloseSession", "@session @device" },
    { "C_CloseAllSessions", "@device @token" },
    { "C_GetSessionInfo", "CKR_ARGUMENTS_BAD @session @device" },
    { "C_GetOperationState", "CKR_ARGUMENTS_BAD CKR_BUFFER_TOO_SMALL "
                             "CKR_OPERATION_NOT_INITIALIZED CKR_STATE_UNSAVEABLE @session @device" },
    /* CKR_KEY_HANDLE_INVALID: not in the specification's list, but the policy's
     * answer to a key an object policy hides (any use of a hidden handle) */
    { "C_SetOperationState", "CKR_ARGUMENTS_BAD CKR_KEY_CHANGED CKR_KEY_NEEDED "
                             "CKR_KEY_NOT_NEEDED CKR_SAVED_STATE_INVALID CKR_KEY_HANDLE_INVALID "
                             "@session @device" },
    { "C_Login", "@login @session @device" },
    { "C_Logout", "CKR_USER_NOT_LOGGED_IN @session @device" },
    /* CKR_KEY_SIZE_RANGE: not in the specification's list; the policy's answer
     * to a key below min-key-bits (p11mux.conf(5)), reported to its owner */
    { "C_CreateObject", "CKR_ARGUMENTS_BAD CKR_FUNCTION_CANCELED CKR_KEY_SIZE_RANGE @template "
                        "@write @session @device" },
    /* CKR_ATTRIBUTE_READ_ONLY: also the policy's answer to an extractable
     * copy of a non-extractable key with force-sensitive; CKR_KEY_SIZE_RANGE:
     * as for C_CreateObject */
    { "C_CopyObject", "CKR_ARGUMENTS_BAD CKR_OBJECT_HANDLE_INVALID CKR_KEY_SIZE_RANGE @template "
                      "@write @session @device" },
    { "C_DestroyObject", "CKR_OBJECT_HANDLE_INVALID @write @session @device" },
    { "C_GetObjectSize", "CKR_ARGUMENTS_BAD CKR_INFORMATION_SENSITIVE CKR_OBJECT_HANDLE_INVALID "
                         "@session @device" },
    { "C_GetAttributeValue", "CKR_ARGUMENTS_BAD CKR_ATTRIBUTE_SENSITIVE CKR_ATTRIBUTE_TYPE_INVALID "
                             "CKR_BUFFER_TOO_SMALL CKR_OBJECT_HANDLE_INVALID @session @device" },
    { "C_SetAttributeValue", "CKR_ARGUMENTS_BAD CKR_OBJECT_HANDLE_INVALID @template @write "
                             "@session @device" },
    { "C_FindObjectsInit", "CKR_ARGUMENTS_BAD CKR_ATTRIBUTE_TYPE_INVALID "
                           "CKR_ATTRIBUTE_VALUE_INVALID CKR_OPERATION_ACTIVE CKR_PIN_EXPIRED "
                           "@session @device" },
    { "C_FindObjects", "CKR_ARGUMENTS_BAD CKR_OPERATION_NOT_INITIALIZED @session @device" },
    { "C_FindObjectsFinal", "CKR_OPERATION_NOT_INITIALIZED @session @device" },
    { "C_EncryptInit", "@init @session @device" },
    { "C_Encrypt", "@part @data @session @device" },
    { "C_EncryptUpdate", "@part @data @session @device" },
    { "C_EncryptFinal", "@part @data @session @device" },
    { "C_DecryptInit", "@init @session @device" },
    { "C_Decrypt", "@part @encrypted CKR_USER_NOT_LOGGED_IN @session @device" },
    { "C_DecryptUpdate", "@part @encrypted CKR_USER_NOT_LOGGED_IN @session @device" },
    { "C_DecryptFinal", "@part @encrypted CKR_USER_NOT_LOGGED_IN @session @device" },
    { "C_DigestInit", "@init @session @device" },
    { "C_Digest", "@part CKR_DATA_LEN_RANGE @session @device" },
    { "C_DigestUpdate", "@part CKR_DATA_LEN_RANGE @session @device" },
    { "C_DigestKey", "CKR_FUNCTION_CANCELED CKR_KEY_HANDLE_INVALID CKR_KEY_INDIGESTIBLE "
                     "CKR_KEY_SIZE_RANGE CKR_OPERATION_NOT_INITIALIZED @session @device" },
    { "C_DigestFinal", "@part @session @device" },
    { "C_SignInit", "@init @session @device" },
    { "C_Sign", "@part @data CKR_USER_NOT_LOGGED_IN CKR_FUNCTION_REJECTED @session @device" },
    { "C_SignUpdate", "@part CKR_DATA_LEN_RANGE CKR_USER_NOT_LOGGED_IN @session @device" },
    { "C_SignFinal", "@part @data CKR_USER_NOT_LOGGED_IN CKR_FUNCTION_REJECTED @session @device" },
    { "C_SignRecoverInit", "@init @session @device" },
    { "C_SignRecover", "@part @data CKR_USER_NOT_LOGGED_IN @session @device" },
    { "C_VerifyInit", "@init @session @device" },
    { "C_Verify", "@part @data @signature @session @device" },
    { "C_VerifyUpdate", "@part CKR_DATA_LEN_RANGE @session @device" },
    { "C_VerifyFinal", "@part CKR_DATA_LEN_RANGE @signature @session @device" },
    { "C_VerifyRecoverInit", "@init @session @device" },
    { "C_VerifyRecover", "@part @data @signature @session @device" },
    { "C_DigestEncryptUpdate", "@part @data @session @device" },
    { "C_DecryptDigestUpdate", "@part @encrypted @session @device" },
    { "C_SignEncryptUpdate", "@part @data CKR_USER_NOT_LOGGED_IN @session @device" },
    { "C_DecryptVerifyUpdate", "@part @encrypted @data @session @device" },
    /* CKR_KEY_SIZE_RANGE: the policy's answer to a key below min-key-bits */
    { "C_GenerateKey", "CKR_ARGUMENTS_BAD CKR_FUNCTION_CANCELED CKR_MECHANISM_INVALID "
                       "CKR_MECHANISM_PARAM_INVALID CKR_OPERATION_ACTIVE CKR_KEY_SIZE_RANGE "
                       "@template @write @session @device" },
    { "C_GenerateKeyPair", "CKR_ARGUMENTS_BAD CKR_FUNCTION_CANCELED CKR_MECHANISM_INVALID "
                           "CKR_MECHANISM_PARAM_INVALID CKR_OPERATION_ACTIVE CKR_KEY_SIZE_RANGE "
                           "@template @write @session @device" },
    { "C_WrapKey", "CKR_ARGUMENTS_BAD CKR_BUFFER_TOO_SMALL CKR_FUNCTION_CANCELED "
                   "CKR_KEY_HANDLE_INVALID CKR_KEY_NOT_WRAPPABLE CKR_KEY_SIZE_RANGE "
                   "CKR_KEY_UNEXTRACTABLE CKR_MECHANISM_INVALID CKR_MECHANISM_PARAM_INVALID "
                   "CKR_OPERATION_ACTIVE CKR_PIN_EXPIRED CKR_USER_NOT_LOGGED_IN "
                   "CKR_WRAPPING_KEY_HANDLE_INVALID CKR_WRAPPING_KEY_SIZE_RANGE "
                   "CKR_WRAPPING_KEY_TYPE_INCONSISTENT @session @device" },
    /* CKR_KEY_SIZE_RANGE: as for C_CreateObject */
    { "C_UnwrapKey", "CKR_ARGUMENTS_BAD CKR_BUFFER_TOO_SMALL CKR_FUNCTION_CANCELED "
                     "CKR_MECHANISM_INVALID CKR_MECHANISM_PARAM_INVALID CKR_OPERATION_ACTIVE "
                     "CKR_UNWRAPPING_KEY_HANDLE_INVALID CKR_UNWRAPPING_KEY_SIZE_RANGE "
                     "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT CKR_WRAPPED_KEY_INVALID "
                     "CKR_WRAPPED_KEY_LEN_RANGE CKR_KEY_SIZE_RANGE @template @write @session @device" },
    { "C_DeriveKey", "CKR_ARGUMENTS_BAD CKR_FUNCTION_CANCELED CKR_KEY_HANDLE_INVALID "
                     "CKR_KEY_SIZE_RANGE CKR_KEY_TYPE_INCONSISTENT CKR_MECHANISM_INVALID "
                     "CKR_MECHANISM_PARAM_INVALID CKR_OPERATION_ACTIVE CKR_KEY_FUNCTION_NOT_PERMITTED "
                     "@template @write @session @device" },
    { "C_SeedRandom", "CKR_ARGUMENTS_BAD CKR_FUNCTION_CANCELED CKR_OPERATION_ACTIVE "
                      "CKR_RANDOM_SEED_NOT_SUPPORTED CKR_RANDOM_NO_RNG CKR_USER_NOT_LOGGED_IN "
                      "@session @device" },
    { "C_GenerateRandom", "CKR_ARGUMENTS_BAD CKR_FUNCTION_CANCELED CKR_OPERATION_ACTIVE "
                          "CKR_RANDOM_NO_RNG CKR_USER_NOT_LOGGED_IN @session @device" },
    { "C_GetFunctionStatus", "CKR_FUNCTION_NOT_PARALLEL @session" },
    { "C_CancelFunction", "CKR_FUNCTION_NOT_PARALLEL @session" },
    { "C_WaitForSlotEvent", "CKR_ARGUMENTS_BAD CKR_NO_EVENT" },
    { "C_GetInterfaceList", "CKR_ARGUMENTS_BAD CKR_BUFFER_TOO_SMALL" },
    { "C_GetInterface", "CKR_ARGUMENTS_BAD" },
    { "C_LoginUser", "@login @session @device" },
    { "C_SessionCancel", "CKR_ARGUMENTS_BAD CKR_OPERATION_CANCEL_FAILED @session @device" },
    { "C_MessageEncryptInit", "@init @session @device" },
    { "C_EncryptMessage", "@message @data @session @device" },
    { "C_EncryptMessageBegin", "@message @data @session @device" },
    { "C_EncryptMessageNext", "@message @data @session @device" },
    { "C_MessageEncryptFinal", "@message @session @device" },
    { "C_MessageDecryptInit", "@init @session @device" },
    { "C_DecryptMessage", "@message @encrypted 0x35 @session @device" },
    { "C_DecryptMessageBegin", "@message @encrypted @session @device" },
    { "C_DecryptMessageNext", "@message @encrypted 0x35 @session @device" },
    { "C_MessageDecryptFinal", "@message @session @device" },
    { "C_MessageSignInit", "@init @session @device" },
    { "C_SignMessage", "@message @data @session @device" },
    { "C_SignMessageBegin", "@message @session @device" },
    { "C_SignMessageNext", "@message @data @session @device" },
    { "C_MessageSignFinal", "@message @session @device" },
    { "C_MessageVerifyInit", "@init @session @device" },
    { "C_VerifyMessage", "@message @data @signature @session @device" },
    { "C_VerifyMessageBegin", "@message @session @device" },
    { "C_VerifyMessageNext", "@message @data @signature @session @device" },
    { "C_MessageVerifyFinal", "@message @signature @session @device" },
    /* 3.2 (3.2 spec 5.16, 5.18, 5.19, 5.21): a first reading, by analogy
     * with C_GenerateKey, C_Verify* and C_WrapKey / C_UnwrapKey */
    { "C_EncapsulateKey", "CKR_ARGUMENTS_BAD CKR_BUFFER_TOO_SMALL CKR_FUNCTION_CANCELED "
                          "CKR_KEY_HANDLE_INVALID CKR_KEY_SIZE_RANGE CKR_KEY_TYPE_INCONSISTENT "
                          "CKR_KEY_FUNCTION_NOT_PERMITTED CKR_MECHANISM_INVALID "
                          "CKR_MECHANISM_PARAM_INVALID CKR_OPERATION_ACTIVE "
                          "@template @write @session @device" },
    { "C_DecapsulateKey", "CKR_ARGUMENTS_BAD CKR_FUNCTION_CANCELED "
                          "CKR_KEY_HANDLE_INVALID CKR_KEY_SIZE_RANGE CKR_KEY_TYPE_INCONSISTENT "
                          "CKR_KEY_FUNCTION_NOT_PERMITTED CKR_MECHANISM_INVALID "
                          "CKR_MECHANISM_PARAM_INVALID CKR_OPERATION_ACTIVE "
                          "@encrypted @template @write @session @device" },
    { "C_VerifySignatureInit", "@init @signature @session @device" },
    { "C_VerifySignature", "@part @data @signature @session @device" },
    { "C_VerifySignatureUpdate", "@part CKR_DATA_LEN_RANGE @session @device" },
    { "C_VerifySignatureFinal", "@part CKR_DATA_LEN_RANGE @signature @session @device" },
    { "C_GetSessionValidationFlags", "CKR_ARGUMENTS_BAD @session @device" },
    { "C_AsyncComplete", "CKR_ARGUMENTS_BAD CKR_PENDING CKR_SESSION_ASYNC_NOT_SUPPORTED "
                         "CKR_OPERATION_NOT_INITIALIZED @session @device" },
    { "C_AsyncGetID", "CKR_ARGUMENTS_BAD CKR_SESSION_ASYNC_NOT_SUPPORTED "
                      "CKR_OPERATION_NOT_INITIALIZED CKR_STATE_UNSAVEABLE @session @device" },
    { "C_AsyncJoin", "CKR_ARGUMENTS_BAD CKR_BUFFER_TOO_SMALL CKR_PENDING "
                     "CKR_SESSION_ASYNC_NOT_SUPPORTED CKR_OPERATION_NOT_INITIALIZED "
                     "CKR_SAVED_STATE_INVALID @session @device" },
    { "C_WrapKeyAuthenticated", "CKR_ARGUMENTS_BAD CKR_BUFFER_TOO_SMALL CKR_FUNCTION_CANCELED "
                                "CKR_KEY_HANDLE_INVALID CKR_KEY_NOT_WRAPPABLE CKR_KEY_SIZE_RANGE "
                                "CKR_KEY_UNEXTRACTABLE CKR_MECHANISM_INVALID "
                                "CKR_MECHANISM_PARAM_INVALID CKR_OPERATION_ACTIVE CKR_PIN_EXPIRED "
                                "CKR_USER_NOT_LOGGED_IN CKR_WRAPPING_KEY_HANDLE_INVALID "
                                "CKR_WRAPPING_KEY_SIZE_RANGE CKR_WRAPPING_KEY_TYPE_INCONSISTENT "
                                "@data @session @device" },
    { "C_UnwrapKeyAuthenticated", "CKR_ARGUMENTS_BAD CKR_BUFFER_TOO_SMALL CKR_FUNCTION_CANCELED "
                                  "CKR_MECHANISM_INVALID CKR_MECHANISM_PARAM_INVALID "
                                  "CKR_OPERATION_ACTIVE CKR_UNWRAPPING_KEY_HANDLE_INVALID "
                                  "CKR_UNWRAPPING_KEY_SIZE_RANGE "
                                  "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT CKR_WRAPPED_KEY_INVALID "
                                  "CKR_WRAPPED_KEY_LEN_RANGE CKR_KEY_SIZE_RANGE "
                                  "@data @template @write @session @device" },
};
/* clang-format on */

/* The universal values (spec 5.1) and the stub answer. */
static const char universal[] =
    "CKR_OK CKR_GENERAL_ERROR CKR_HOST_MEMORY CKR_FUNCTION_FAILED CKR_FUNCTION_NOT_SUPPORTED";

/* Indexed by P11muxFunctionId: the sorted allowed values. */
static GArray *allowed[P11MUX_FN_COUNT];
static gboolean table_ok = TRUE;

static const Row *
find_row(const Row *table, gsize n, const char *name)
{
    for (gsize i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0) {
            return &table[i];
        }
    }
    return NULL;
}

static void
add_codes(GArray *codes, const char *text, const char *where)
{
    g_auto(GStrv) words = g_strsplit_set(text, " ", -1);

    for (guint i = 0; words[i] != NULL; i++) {
        CK_ULONG value;

        if (words[i][0] == '\0') {
            continue;
        }
        if (words[i][0] == '@') {
            const Row *group = find_row(groups, G_N_ELEMENTS(groups), words[i]);

            if (group == NULL) {
                fprintf(stderr, "spec-rv: %s: unknown group %s\n", where, words[i]);
                table_ok = FALSE;
                continue;
            }
            add_codes(codes, group->codes, where);
        } else if (p11mux_constant_parse(P11MUX_CONST_CKR, words[i], &value)) {
            g_array_append_val(codes, value);
        } else {
            fprintf(stderr, "spec-rv: %s: unknown return value %s\n", where, words[i]);
            table_ok = FALSE;
        }
    }
}

static gint
compare_rv(gconstpointer a, gconstpointer b)
{
    CK_RV x = *(const CK_RV *)a, y = *(const CK_RV *)b;

    return x < y ? -1 : x > y;
}

static gboolean
needs_initialization(const char *name)
{
    return strcmp(name, "C_Initialize") != 0 && strcmp(name, "C_GetFunctionList") != 0 &&
           strcmp(name, "C_GetInterfaceList") != 0 && strcmp(name, "C_GetInterface") != 0;
}

static void
build_once(void)
{
    static gsize once = 0;

    if (!g_once_init_enter(&once)) {
        return;
    }
    for (guint fn = 0; fn < P11MUX_FN_COUNT; fn++) {
        const char *name = p11mux_functions[fn].name;
        const Row *row = find_row(rows, G_N_ELEMENTS(rows), name);
        GArray *codes = g_array_new(FALSE, FALSE, sizeof(CK_RV));

        if (row == NULL) {
            fprintf(stderr, "spec-rv: no row for %s\n", name);
            table_ok = FALSE;
        } else {
            add_codes(codes, row->codes, name);
        }
        add_codes(codes, universal, name);
        if (needs_initialization(name)) {
            add_codes(codes, "CKR_CRYPTOKI_NOT_INITIALIZED", name);
        }
        g_array_sort(codes, compare_rv);
        allowed[fn] = codes;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(rows); i++) {
        gboolean known = FALSE;

        for (guint fn = 0; fn < P11MUX_FN_COUNT; fn++) {
            known = known || strcmp(p11mux_functions[fn].name, rows[i].name) == 0;
        }
        if (!known) {
            fprintf(stderr, "spec-rv: row for unknown function %s\n", rows[i].name);
            table_ok = FALSE;
        }
    }
    g_once_init_leave(&once, 1);
}

gboolean
spec_rv_allowed(P11muxFunctionId fn, CK_RV rv)
{
    GArray *codes;
    guint lo = 0, hi;

    build_once();
    if ((guint)fn >= P11MUX_FN_COUNT) {
        return FALSE;
    }
    codes = allowed[fn];
    hi = codes->len;
    while (lo < hi) {
        guint mid = (lo + hi) / 2;
        CK_RV value = g_array_index(codes, CK_RV, mid);

        if (value == rv) {
            return TRUE;
        }
        if (value < rv) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return FALSE;
}

const char *
spec_rv_name(CK_RV rv)
{
    static __thread char buffer[32];
    const char *name = p11mux_rv_name(rv);

    if (name != NULL) {
        return name;
    }
    g_snprintf(buffer, sizeof buffer, "0x%lx", (unsigned long)rv);
    return buffer;
}

gboolean
spec_rv_check_table(void)
{
    build_once();
    return table_ok;
}
