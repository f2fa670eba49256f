/*
 * Objects through an HA group: a session key generated on the session's
 * home member encrypts and decrypts there, is found and read by its
 * virtual handle, and is destroyed; token objects may be neither made nor
 * destroyed (CKR_TOKEN_WRITE_PROTECTED).
 *
 * With a third argument, "updates-fail" (the rules make every member fail
 * C_EncryptUpdate once): a multi-part encryption with the token AES key
 * (id 02) is not replayed (its output has gone out) but ends with
 * CKR_DEVICE_ERROR, and a new one starts at once on another member.
 *
 * Usage: group-objects P11MUX_SO PIN [updates-fail]  (P11MUX_CONF names the
 * configuration; the group's token is labelled "signing").  Prints
 * PASS:/FAIL: lines.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "p11mux-pkcs11.h"
#include "report.h"
#include "token-slot.h"

static CK_FUNCTION_LIST_PTR p11;
static int failures;

static void
expect(const char *what, CK_RV rv, CK_RV want)
{
    failures += p11mux_test_rv(what, rv, want);
}

static CK_SLOT_ID
group_slot(void)
{
    return p11mux_test_slot_named(p11, P11MUX_TEST_BY_TOKEN_LABEL, "signing");
}

static CK_OBJECT_HANDLE
find_label(CK_SESSION_HANDLE s, const char *label, CK_ULONG *n)
{
    CK_ATTRIBUTE tmpl = {CKA_LABEL, (void *)label, strlen(label)};
    CK_OBJECT_HANDLE found[4] = {0};

    *n = 0;
    if (p11->C_FindObjectsInit(s, &tmpl, 1) == CKR_OK) {
        p11->C_FindObjects(s, found, 4, n);
        p11->C_FindObjectsFinal(s);
    }
    return found[0];
}

/* A multi-part encryption whose update a member fails is over. */
static void
updates_fail(CK_SESSION_HANDLE s)
{
    CK_BYTE id = 0x02, iv[16] = {0}, part[32] = {0}, out[64];
    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &klass, sizeof klass}, {CKA_ID, &id, 1}};
    CK_MECHANISM cbc = {CKM_AES_CBC, iv, sizeof iv};
    CK_OBJECT_HANDLE key = 0;
    CK_ULONG n = 0, out_len = sizeof out;

    if (p11->C_FindObjectsInit(s, tmpl, 2) == CKR_OK) {
        p11->C_FindObjects(s, &key, 1, &n);
        p11->C_FindObjectsFinal(s);
    }
    expect("the token AES key (02) encrypts in parts", p11->C_EncryptInit(s, &cbc, key), CKR_OK);
    expect("a member failing the update ends it",
           p11->C_EncryptUpdate(s, part, sizeof part, out, &out_len), CKR_DEVICE_ERROR);
    out_len = sizeof out;
    expect("... for good", p11->C_EncryptUpdate(s, part, sizeof part, out, &out_len),
           CKR_OPERATION_NOT_INITIALIZED);
    expect("a new encryption starts", p11->C_EncryptInit(s, &cbc, key), CKR_OK);
    out_len = sizeof out;
    expect("... and goes on", p11->C_EncryptUpdate(s, part, sizeof part, out, &out_len), CKR_OK);
}

/* Session objects are the application's: another session finds and uses
 * the first one's key; a key the other session makes goes when it closes. */
static void
other_sessions(CK_SLOT_ID slot, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const CK_BYTE *cipher,
               CK_ULONG cipher_len)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG len = 16, n = 0, back_len;
    CK_ATTRIBUTE other_key[] = {
        {CKA_TOKEN, &no, sizeof no},
        {CKA_VALUE_LEN, &len, sizeof len},
        {CKA_ENCRYPT, &yes, sizeof yes},
        {CKA_LABEL, "other-aes", 9},
    };
    CK_MECHANISM keygen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_BYTE iv[16] = {0}, back[64];
    CK_MECHANISM cbc = {CKM_AES_CBC_PAD, iv, sizeof iv};
    CK_SESSION_HANDLE s2 = 0;
    CK_OBJECT_HANDLE found, made = 0;

    expect("a second session opens", p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s2),
           CKR_OK);
    found = find_label(s2, "session-aes", &n);
    if (n == 1 && found == key) {
        printf("PASS: another session finds the first one's session key\n");
    } else {
        printf("FAIL: another session found %lu objects (0x%lx, the key is 0x%lx)\n",
               (unsigned long)n, (unsigned long)found, (unsigned long)key);
        failures++;
    }
    back_len = sizeof back;
    expect("... and decrypts with it", p11->C_DecryptInit(s2, &cbc, key), CKR_OK);
    expect("... the message", p11->C_Decrypt(s2, (CK_BYTE_PTR)cipher, cipher_len, back, &back_len),
           CKR_OK);
    expect("the second session makes a session key of its own",
           p11->C_GenerateKey(s2, &keygen, other_key, 4, &made), CKR_OK);
    found = find_label(s, "other-aes", &n);
    if (n == 1 && found == made) {
        printf("PASS: the first session finds it\n");
    } else {
        printf("FAIL: the first session found %lu objects for other-aes\n", (unsigned long)n);
        failures++;
    }
    expect("the second session closes", p11->C_CloseSession(s2), CKR_OK);
    expect("its key went with it", p11->C_EncryptInit(s, &cbc, made), CKR_KEY_HANDLE_INVALID);
    (void)find_label(s, "other-aes", &n);
    if (n == 0) {
        printf("PASS: a search no longer finds it\n");
    } else {
        printf("FAIL: a search still finds %lu objects for other-aes\n", (unsigned long)n);
        failures++;
    }
}

/* key's CBC encryption of a fixed block into out (16 bytes); 0 on failure. */
static int
encrypt_block(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_BYTE *out)
{
    CK_BYTE iv[16] = {0}, block[16] = "sixteen bytes!!";
    CK_MECHANISM cbc = {CKM_AES_CBC, iv, sizeof iv};
    CK_ULONG len = 16;

    return p11->C_EncryptInit(s, &cbc, key) == CKR_OK &&
           p11->C_Encrypt(s, block, sizeof block, out, &len) == CKR_OK && len == 16;
}

/* Keys made from keys: the session key wrapped by the token AES key (02),
 * unwrapped into a session key that encrypts as it does; a key derived
 * from it; copies; a change of label; and what would make or change a
 * token object refused. */
static void
keys_from_keys(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
    CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_BYTE id = 0x02, wrapped[64], a[16], b[16], label[16], data[32] = {1};
    CK_ATTRIBUTE find[] = {{CKA_CLASS, &secret, sizeof secret}, {CKA_ID, &id, 1}};
    CK_ATTRIBUTE unwrap_tmpl[] = {{CKA_CLASS, &secret, sizeof secret},
                                  {CKA_KEY_TYPE, &aes, sizeof aes},
                                  {CKA_TOKEN, &no, sizeof no},
                                  {CKA_ENCRYPT, &yes, sizeof yes},
                                  {CKA_DERIVE, &yes, sizeof yes}};
    CK_ATTRIBUTE token_tmpl[] = {{CKA_CLASS, &secret, sizeof secret},
                                 {CKA_KEY_TYPE, &aes, sizeof aes},
                                 {CKA_TOKEN, &yes, sizeof yes}};
    CK_ULONG value_len = 16;
    CK_ATTRIBUTE derive_tmpl[] = {{CKA_CLASS, &secret, sizeof secret},
                                  {CKA_KEY_TYPE, &aes, sizeof aes},
                                  {CKA_VALUE_LEN, &value_len, sizeof value_len},
                                  {CKA_TOKEN, &no, sizeof no},
                                  {CKA_ENCRYPT, &yes, sizeof yes}};
    CK_ATTRIBUTE rename = {CKA_LABEL, "renamed", 7};
    CK_ATTRIBUTE read = {CKA_LABEL, label, sizeof label};
    CK_ATTRIBUTE session_copy = {CKA_TOKEN, &no, sizeof no};
    CK_ATTRIBUTE copy_label = {CKA_LABEL, "copy", 4};
    CK_MECHANISM kw = {CKM_AES_KEY_WRAP, NULL, 0};
    CK_KEY_DERIVATION_STRING_DATA string = {data, sizeof data};
    CK_MECHANISM ecb_data = {CKM_AES_ECB_ENCRYPT_DATA, &string, sizeof string};
    CK_OBJECT_HANDLE kek = 0, unwrapped = 0, derived = 0, copied = 0, refused = 0;
    CK_MECHANISM concat = {CKM_CONCATENATE_BASE_AND_KEY, &key, sizeof key};
    CK_ULONG wrapped_len = sizeof wrapped, n = 0;

    if (p11->C_FindObjectsInit(s, find, 2) == CKR_OK) {
        p11->C_FindObjects(s, &kek, 1, &n);
        p11->C_FindObjectsFinal(s);
    }
    expect("the session key is wrapped by the token AES key",
           p11->C_WrapKey(s, &kw, kek, key, wrapped, &wrapped_len), CKR_OK);
    expect("... and unwrapped into a session key",
           p11->C_UnwrapKey(s, &kw, kek, wrapped, wrapped_len, unwrap_tmpl, 5, &unwrapped), CKR_OK);
    if (encrypt_block(s, key, a) && encrypt_block(s, unwrapped, b) && memcmp(a, b, 16) == 0) {
        printf("PASS: the unwrapped key encrypts as the session key does\n");
    } else {
        printf("FAIL: the unwrapped key does not encrypt as the session key does\n");
        failures++;
    }
    expect("unwrapping into a token key is refused",
           p11->C_UnwrapKey(s, &kw, kek, wrapped, wrapped_len, token_tmpl, 3, &refused),
           CKR_TOKEN_WRITE_PROTECTED);
    expect("a key is derived from the unwrapped one",
           p11->C_DeriveKey(s, &ecb_data, unwrapped, derive_tmpl, 5, &derived), CKR_OK);
    expect("... and encrypts", encrypt_block(s, derived, a) ? CKR_OK : CKR_FUNCTION_FAILED, CKR_OK);
    expect("a parameter holding a key handle (the group's, not a member's) is refused",
           p11->C_DeriveKey(s, &concat, unwrapped, derive_tmpl, 5, &refused),
           CKR_MECHANISM_PARAM_INVALID);
    expect("the session key is copied", p11->C_CopyObject(s, key, &copy_label, 1, &copied), CKR_OK);
    if (encrypt_block(s, copied, b) && encrypt_block(s, key, a) && memcmp(a, b, 16) == 0) {
        printf("PASS: the copy encrypts as the session key does\n");
    } else {
        printf("FAIL: the copy does not encrypt as the session key does\n");
        failures++;
    }
    expect("a token key is not copied into a token object",
           p11->C_CopyObject(s, kek, &copy_label, 1, &refused), CKR_TOKEN_WRITE_PROTECTED);
    expect("... but into a session object", p11->C_CopyObject(s, kek, &session_copy, 1, &copied),
           CKR_OK);
    expect("a session key's label changes", p11->C_SetAttributeValue(s, key, &rename, 1), CKR_OK);
    expect("... and reads back", p11->C_GetAttributeValue(s, key, &read, 1), CKR_OK);
    if (read.ulValueLen != 7 || memcmp(label, "renamed", 7) != 0) {
        printf("FAIL: the label read back is not the new one\n");
        failures++;
    }
    expect("a token key's label does not change", p11->C_SetAttributeValue(s, kek, &rename, 1),
           CKR_TOKEN_WRITE_PROTECTED);
}

/* A key that wants its PIN for each use (CKA_ALWAYS_AUTHENTICATE): the
 * context-specific login goes to the member the signature runs on. */
static void
context_login(CK_SESSION_HANDLE s, const char *pin)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG bits = 1024;
    CK_ATTRIBUTE pub_tmpl[] = {{CKA_TOKEN, &no, sizeof no},
                               {CKA_MODULUS_BITS, &bits, sizeof bits},
                               {CKA_VERIFY, &yes, sizeof yes}};
    CK_ATTRIBUTE priv_tmpl[] = {{CKA_TOKEN, &no, sizeof no},
                                {CKA_SIGN, &yes, sizeof yes},
                                {CKA_PRIVATE, &yes, sizeof yes},
                                {CKA_ALWAYS_AUTHENTICATE, &yes, sizeof yes}};
    CK_MECHANISM keygen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_MECHANISM sha256_rsa = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_OBJECT_HANDLE pub = 0, priv = 0;
    CK_BYTE data[] = "signed once per login", sig[256];
    CK_ULONG sig_len = sizeof sig;

    expect("a context-specific login with no operation",
           p11->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin, strlen(pin)),
           CKR_OPERATION_NOT_INITIALIZED);
    expect("a session key pair that wants its PIN at each use is generated",
           p11->C_GenerateKeyPair(s, &keygen, pub_tmpl, 3, priv_tmpl, 4, &pub, &priv), CKR_OK);
    expect("its signature starts", p11->C_SignInit(s, &sha256_rsa, priv), CKR_OK);
    expect("the context-specific login goes to the member signing",
           p11->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin, strlen(pin)), CKR_OK);
    expect("... which then signs", p11->C_Sign(s, data, sizeof data, sig, &sig_len), CKR_OK);
    expect("the signature verifies", p11->C_VerifyInit(s, &sha256_rsa, pub), CKR_OK);
    expect("... with the public key", p11->C_Verify(s, data, sizeof data, sig, sig_len), CKR_OK);
    expect("a context-specific login with a wrong PIN", p11->C_SignInit(s, &sha256_rsa, priv),
           CKR_OK);
    expect("... is refused", p11->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR) "0000", 4),
           CKR_PIN_INCORRECT);
    (void)p11->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    sig_len = sizeof sig;
    (void)p11->C_Sign(s, data, sizeof data, sig, &sig_len);
}

int
main(int argc, char **argv)
{
    CK_C_GetFunctionList get_function_list;
    CK_SESSION_HANDLE s = 0;
    CK_SLOT_ID slot;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG len = 16, n = 0;
    CK_ATTRIBUTE session_key[] = {
        {CKA_TOKEN, &no, sizeof no},     {CKA_VALUE_LEN, &len, sizeof len},
        {CKA_ENCRYPT, &yes, sizeof yes}, {CKA_DECRYPT, &yes, sizeof yes},
        {CKA_LABEL, "session-aes", 11},  {CKA_EXTRACTABLE, &yes, sizeof yes},
        {CKA_DERIVE, &yes, sizeof yes},
    };
    CK_ATTRIBUTE token_key[] = {
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_VALUE_LEN, &len, sizeof len},
    };
    CK_MECHANISM keygen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_BYTE iv[16] = {0};
    CK_MECHANISM cbc = {CKM_AES_CBC_PAD, iv, sizeof iv};
    CK_BYTE plain[] = "a message for the session key", cipher[64], back[64];
    CK_ULONG cipher_len = sizeof cipher, back_len = sizeof back;
    CK_BYTE label[32];
    CK_ATTRIBUTE read = {CKA_LABEL, label, sizeof label};
    CK_OBJECT_HANDLE key = 0, token = 0, found;
    void *dl;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: group-objects P11MUX_SO PIN [updates-fail]\n");
        return 2;
    }
    dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    get_function_list = dl != NULL ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
    if (get_function_list == NULL || get_function_list(&p11) != CKR_OK ||
        p11->C_Initialize(NULL) != CKR_OK || (slot = group_slot()) == (CK_SLOT_ID)-1 ||
        p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK ||
        p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)argv[2], strlen(argv[2])) != CKR_OK) {
        fprintf(stderr, "group-objects: cannot open a logged-in session on the group\n");
        return 2;
    }
    if (argc == 4) {
        updates_fail(s);
        p11->C_Finalize(NULL);
        return failures == 0 ? 0 : 1;
    }
    expect("a session AES key is generated", p11->C_GenerateKey(s, &keygen, session_key, 7, &key),
           CKR_OK);
    expect("it encrypts", p11->C_EncryptInit(s, &cbc, key), CKR_OK);
    expect("... the message",
           p11->C_Encrypt(s, plain, sizeof plain, cipher, &cipher_len), CKR_OK);
    expect("it decrypts", p11->C_DecryptInit(s, &cbc, key), CKR_OK);
    expect("... the message", p11->C_Decrypt(s, cipher, cipher_len, back, &back_len), CKR_OK);
    if (back_len != sizeof plain || memcmp(back, plain, sizeof plain) != 0) {
        printf("FAIL: the message came back changed\n");
        failures++;
    } else {
        printf("PASS: the message came back\n");
    }
    found = find_label(s, "session-aes", &n);
    if (n == 1 && found == key) {
        printf("PASS: a search finds the session key by its handle\n");
    } else {
        printf("FAIL: a search found %lu objects (0x%lx, the key is 0x%lx)\n", (unsigned long)n,
               (unsigned long)found, (unsigned long)key);
        failures++;
    }
    expect("its label is read", p11->C_GetAttributeValue(s, key, &read, 1), CKR_OK);
    other_sessions(slot, s, key, cipher, cipher_len);
    keys_from_keys(s, key);
    context_login(s, argv[2]);
    expect("a token key is refused", p11->C_GenerateKey(s, &keygen, token_key, 2, &token),
           CKR_TOKEN_WRITE_PROTECTED);
    found = find_label(s, "k1", &n);
    expect("a token object may not be destroyed", p11->C_DestroyObject(s, found),
           CKR_TOKEN_WRITE_PROTECTED);
    expect("the session key is destroyed", p11->C_DestroyObject(s, key), CKR_OK);
    expect("its handle is gone", p11->C_EncryptInit(s, &cbc, key), CKR_KEY_HANDLE_INVALID);
    p11->C_CloseSession(s);
    p11->C_Finalize(NULL);
    return failures == 0 ? 0 : 1;
}
