/*
 * An application that tries to break every rule of a p11mux policy over
 * real backends: SoftHSM2 and NSS softoken (tests/integration/policy-attack.sh
 * makes the tokens and the configuration).
 *
 * The backends are loaded directly too, in the same process (p11mux then
 * shares their initialisation): objects are made directly, the handles of
 * hidden objects are learnt directly and then "guessed" through p11mux, and
 * what a backend does on its own is compared with what p11mux answers.
 * Every attempt must be refused with the exact code, and nothing secret may
 * come back: output buffers are filled with a pattern first and checked.
 *
 *   policy-attack
 *
 * Environment: P11MUX_SO, SOFTHSM_MODULE, NSS_MODULE, NSS_INIT_RESERVED,
 * PIN; P11MUX_CONF names the configuration (policy "guarded" on both:
 * deny-tokens attack-hidden, deny-mechanisms CKM_MD5 CKM_SHA_1, min-key-bits
 * rsa:2048 ec:256 aes:128 generic:128, deny-objects backup-key,
 * force-sensitive, deny-functions C_SeedRandom C_GetOperationState).
 * Prints PASS:/FAIL: lines; exits 1 if any attempt was not refused as it
 * should be.
 */
#include "config.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "attack-lib.h"
#include "p11mux-pkcs11.h"
#include "slotmap.h"

static CK_FUNCTION_LIST_PTR mux;      /* p11mux, 2.40 list */
static CK_FUNCTION_LIST_3_0_PTR mux3; /* p11mux, 3.0 list */

static const char backup_value[] = "BACKUP-SECRET-0123456789abcdefgh";
static const char locked_value[] = "LOCKED-SECRET-0123456789abcdefgh";
static const char plain_value[] = "PLAIN-AES-KEY-0123456789abcdefgh";

/* ------------------------------------------------------------- secrets */

static gboolean
holds_secret(const CK_BYTE *buffer, gsize len)
{
    return memmem(buffer, len, "SECRET", 6) != NULL || memmem(buffer, len, "backup", 6) != NULL;
}

/* The one object labelled label, found directly; 0 if none. */
static CK_OBJECT_HANDLE
find_label(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, const char *label, CK_OBJECT_CLASS klass)
{
    CK_ATTRIBUTE tmpl[] = {{CKA_LABEL, (void *)label, strlen(label)},
                           {CKA_CLASS, &klass, sizeof klass}};
    CK_OBJECT_HANDLE found = 0;
    CK_ULONG n = 0;

    attack_must(p11->C_FindObjectsInit(s, tmpl, 2), "C_FindObjectsInit");
    attack_must(p11->C_FindObjects(s, &found, 1, &n), "C_FindObjects");
    attack_must(p11->C_FindObjectsFinal(s), "C_FindObjectsFinal");
    return n == 1 ? found : 0;
}

/* --------------------------------------------------------- making objects */

static CK_BBOOL yes = CK_TRUE;
static CK_BBOOL no = CK_FALSE;
static CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
static CK_KEY_TYPE aes_type = CKK_AES;
static CK_KEY_TYPE generic_type = CKK_GENERIC_SECRET;

/* A token secret key with a known value, made directly. */
static CK_OBJECT_HANDLE
make_secret(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, const char *label, CK_KEY_TYPE type,
            const char *value, gsize len, gboolean locked)
{
    CK_BBOOL *sensitive = locked ? &yes : &no, *extractable = locked ? &no : &yes;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &secret_class, sizeof secret_class},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_VALUE, (void *)value, len},
        {CKA_SENSITIVE, sensitive, sizeof yes},
        {CKA_EXTRACTABLE, extractable, sizeof yes},
        {CKA_ENCRYPT, &yes, sizeof yes},
        {CKA_DECRYPT, &yes, sizeof yes},
        {CKA_WRAP, &yes, sizeof yes},
        {CKA_UNWRAP, &yes, sizeof yes},
        {CKA_SIGN, &yes, sizeof yes},
    };
    CK_OBJECT_HANDLE object;

    attack_must(p11->C_CreateObject(s, tmpl, G_N_ELEMENTS(tmpl), &object), label);
    return object;
}

static void
make_rsa(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, const char *label, CK_ULONG bits)
{
    CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_BYTE exponent[] = {1, 0, 1};
    CK_ATTRIBUTE pub[] = {
        {CKA_TOKEN, &yes, sizeof yes},          {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_MODULUS_BITS, &bits, sizeof bits}, {CKA_PUBLIC_EXPONENT, exponent, sizeof exponent},
        {CKA_VERIFY, &yes, sizeof yes},         {CKA_ENCRYPT, &yes, sizeof yes},
    };
    CK_ATTRIBUTE priv[] = {
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_DECRYPT, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
    };
    CK_OBJECT_HANDLE public_key, private_key;

    attack_must(p11->C_GenerateKeyPair(s, &gen, pub, G_N_ELEMENTS(pub), priv, G_N_ELEMENTS(priv),
                                       &public_key, &private_key),
                label);
}

typedef struct {
    CK_FUNCTION_LIST_PTR direct;
    CK_SESSION_HANDLE ds;    /* direct session */
    CK_SESSION_HANDLE ms;    /* session through p11mux */
    CK_OBJECT_HANDLE plain;  /* AES-256, extractable, not sensitive */
    CK_OBJECT_HANDLE backup; /* AES-256, hidden by deny-objects */
    CK_OBJECT_HANDLE locked; /* AES-256, sensitive, unextractable */
    CK_OBJECT_HANDLE weak;   /* generic secret of 64 bits */
    const char *name;
} Token;

static void
prepare_common(Token *t)
{
    t->plain = make_secret(t->direct, t->ds, "plain-key", CKK_AES, plain_value, 32, FALSE);
    t->backup = make_secret(t->direct, t->ds, "backup-key", CKK_AES, backup_value, 32, FALSE);
    t->locked = make_secret(t->direct, t->ds, "locked-key", CKK_AES, locked_value, 32, TRUE);
    t->weak =
        make_secret(t->direct, t->ds, "weak-secret", CKK_GENERIC_SECRET, "01234567", 8, FALSE);
}

/* ------------------------------------------------------------ the attacks */

static const char *const hidden_token = "attack-hidden";

/* The hidden token's slot: not listed, and its id (as p11mux would give
 * it) is no slot at all; guessing ids finds only visible tokens. */
static void
attack_hidden_token(CK_FUNCTION_LIST_PTR softhsm)
{
    CK_SLOT_ID real = attack_slot_by_label(softhsm, hidden_token);
    CK_SLOT_ID id = p11mux_slotmap_hash_id("softhsm", real, 0);
    CK_SLOT_ID slots[64];
    CK_ULONG n = G_N_ELEMENTS(slots);
    CK_TOKEN_INFO info;
    CK_SLOT_INFO slot_info;
    CK_MECHANISM_INFO mech_info;
    CK_SESSION_HANDLE s = 0;
    guint seen = 0;

    attack_must(mux->C_GetSlotList(CK_FALSE, slots, &n), "C_GetSlotList");
    for (CK_ULONG i = 0; i < n; i++) {
        attack_truth(slots[i] != id, "the hidden token's slot is not in C_GetSlotList");
        if (mux->C_GetTokenInfo(slots[i], &info) == CKR_OK) {
            attack_truth(memcmp(info.label, hidden_token, strlen(hidden_token)) != 0,
                         "no listed slot holds the hidden token");
        }
    }
    attack_expect(mux->C_GetSlotInfo(id, &slot_info), CKR_SLOT_ID_INVALID, "C_GetSlotInfo(hidden)");
    attack_expect(mux->C_GetTokenInfo(id, &info), CKR_SLOT_ID_INVALID, "C_GetTokenInfo(hidden)");
    attack_expect(mux->C_GetMechanismList(id, NULL, &n), CKR_SLOT_ID_INVALID,
                  "C_GetMechanismList(hidden)");
    attack_expect(mux->C_GetMechanismInfo(id, CKM_AES_CBC, &mech_info), CKR_SLOT_ID_INVALID,
                  "C_GetMechanismInfo(hidden)");
    attack_expect(mux->C_OpenSession(id, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_SLOT_ID_INVALID,
                  "C_OpenSession(hidden, R/O)");
    attack_expect(mux->C_OpenSession(id, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
                  CKR_SLOT_ID_INVALID, "C_OpenSession(hidden, R/W)");
    attack_expect(mux->C_InitToken(id, (CK_UTF8CHAR_PTR) "0000", 4,
                                   (CK_UTF8CHAR_PTR) "pwned                           "),
                  CKR_SLOT_ID_INVALID, "C_InitToken(hidden)");
    attack_expect(mux->C_CloseAllSessions(id), CKR_SLOT_ID_INVALID, "C_CloseAllSessions(hidden)");
    attack_truth(s == 0, "no session handle on the hidden slot");
    /* brute force: every id below 2^16 and the next rounds of the hash */
    for (CK_SLOT_ID guess = 0; guess < 65536; guess++) {
        if (mux->C_GetTokenInfo(guess, &info) == CKR_OK) {
            seen += memcmp(info.label, hidden_token, strlen(hidden_token)) == 0;
        }
    }
    for (guint attempt = 1; attempt < 8; attempt++) {
        CK_SLOT_ID guess = p11mux_slotmap_hash_id("softhsm", real, attempt);

        if (mux->C_GetTokenInfo(guess, &info) == CKR_OK) {
            seen += memcmp(info.label, hidden_token, strlen(hidden_token)) == 0;
        }
    }
    attack_truth(seen == 0, "65,536 guessed slot ids reveal no hidden token");
}

/* Every function of the table that takes a mechanism, with a denied one. */
static void
attack_mechanism_everywhere(Token *t, CK_MECHANISM_PTR m, const char *what)
{
    CK_ULONG len = 32;
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &len, sizeof len},
                           {CKA_CLASS, &secret_class, sizeof secret_class},
                           {CKA_KEY_TYPE, &aes_type, sizeof aes_type}};
    CK_OBJECT_HANDLE out = 0, out2 = 0;
    CK_BYTE wrapped[256];
    CK_ULONG wrapped_len = sizeof wrapped;
    CK_SESSION_HANDLE s = t->ms;
    CK_OBJECT_HANDLE k = t->plain;

    memset(wrapped, ATTACK_PATTERN, sizeof wrapped);
    attack_expect(mux->C_EncryptInit(s, m, k), CKR_MECHANISM_INVALID, "%s: %s C_EncryptInit",
                  t->name, what);
    attack_expect(mux->C_DecryptInit(s, m, k), CKR_MECHANISM_INVALID, "%s: %s C_DecryptInit",
                  t->name, what);
    attack_expect(mux->C_DigestInit(s, m), CKR_MECHANISM_INVALID, "%s: %s C_DigestInit", t->name,
                  what);
    attack_expect(mux->C_SignInit(s, m, k), CKR_MECHANISM_INVALID, "%s: %s C_SignInit", t->name,
                  what);
    attack_expect(mux->C_SignRecoverInit(s, m, k), CKR_MECHANISM_INVALID,
                  "%s: %s C_SignRecoverInit", t->name, what);
    attack_expect(mux->C_VerifyInit(s, m, k), CKR_MECHANISM_INVALID, "%s: %s C_VerifyInit", t->name,
                  what);
    attack_expect(mux->C_VerifyRecoverInit(s, m, k), CKR_MECHANISM_INVALID,
                  "%s: %s C_VerifyRecoverInit", t->name, what);
    attack_expect(mux->C_GenerateKey(s, m, tmpl, 1, &out), CKR_MECHANISM_INVALID,
                  "%s: %s C_GenerateKey", t->name, what);
    attack_expect(mux->C_GenerateKeyPair(s, m, tmpl, 1, tmpl, 1, &out, &out2),
                  CKR_MECHANISM_INVALID, "%s: %s C_GenerateKeyPair", t->name, what);
    attack_expect(mux->C_WrapKey(s, m, k, k, wrapped, &wrapped_len), CKR_MECHANISM_INVALID,
                  "%s: %s C_WrapKey", t->name, what);
    attack_expect(mux->C_UnwrapKey(s, m, k, wrapped, 40, tmpl + 1, 2, &out), CKR_MECHANISM_INVALID,
                  "%s: %s C_UnwrapKey", t->name, what);
    attack_expect(mux->C_DeriveKey(s, m, k, tmpl, 3, &out), CKR_MECHANISM_INVALID,
                  "%s: %s C_DeriveKey", t->name, what);
    attack_expect(mux3->C_MessageEncryptInit(s, m, k), CKR_MECHANISM_INVALID,
                  "%s: %s C_MessageEncryptInit", t->name, what);
    attack_expect(mux3->C_MessageDecryptInit(s, m, k), CKR_MECHANISM_INVALID,
                  "%s: %s C_MessageDecryptInit", t->name, what);
    attack_expect(mux3->C_MessageSignInit(s, m, k), CKR_MECHANISM_INVALID,
                  "%s: %s C_MessageSignInit", t->name, what);
    attack_expect(mux3->C_MessageVerifyInit(s, m, k), CKR_MECHANISM_INVALID,
                  "%s: %s C_MessageVerifyInit", t->name, what);
    attack_truth(out == 0 && out2 == 0 && attack_untouched(wrapped, sizeof wrapped),
                 "nothing made or written by a denied mechanism");
}

static void
attack_mechanisms(Token *t, CK_SLOT_ID slot)
{
    CK_MECHANISM md5 = {CKM_MD5, NULL, 0};
    CK_MECHANISM sha1 = {CKM_SHA_1, NULL, 0};
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM oaep_sha1 = {CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep};
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA_1, CKG_MGF1_SHA1, 20};
    CK_MECHANISM pss_sha1 = {CKM_RSA_PKCS_PSS, &pss, sizeof pss};
    CK_RSA_PKCS_PSS_PARAMS pss_mgf = {CKM_SHA256, CKG_MGF1_SHA1, 32};
    CK_MECHANISM pss256_mgf1 = {CKM_SHA256_RSA_PKCS_PSS, &pss_mgf, sizeof pss_mgf};
    CK_MECHANISM_TYPE list[512];
    CK_ULONG n = G_N_ELEMENTS(list);
    CK_MECHANISM_INFO info;
    gboolean clean = TRUE;

    attack_mechanism_everywhere(t, &md5, "CKM_MD5");
    attack_mechanism_everywhere(t, &sha1, "CKM_SHA_1");
    attack_mechanism_everywhere(t, &oaep_sha1, "OAEP with SHA-1");
    attack_mechanism_everywhere(t, &pss_sha1, "PSS with SHA-1");
    attack_mechanism_everywhere(t, &pss256_mgf1, "SHA256-RSA-PSS with MGF1-SHA1");
    attack_must(mux->C_GetMechanismList(slot, list, &n), "C_GetMechanismList");
    for (CK_ULONG i = 0; i < n; i++) {
        clean = clean && list[i] != CKM_MD5 && list[i] != CKM_SHA_1;
    }
    attack_truth(clean, "C_GetMechanismList lists no denied mechanism");
    attack_expect(mux->C_GetMechanismInfo(slot, CKM_SHA_1, &info), CKR_MECHANISM_INVALID,
                  "%s: C_GetMechanismInfo(CKM_SHA_1)", t->name);
    if (mux->C_GetMechanismInfo(slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &info) == CKR_OK) {
        attack_truth(info.ulMinKeySize >= 2048,
                     "ulMinKeySize of RSA key generation raised to 2048");
    }
}

/* The hidden object's real handle, learnt directly, used through p11mux. */
static void
attack_hidden_handle(Token *t)
{
    CK_OBJECT_HANDLE h = t->backup;
    CK_BYTE buffer[256];
    CK_ATTRIBUTE get[] = {{CKA_LABEL, buffer, 128}, {CKA_VALUE, buffer + 128, 128}};
    CK_ATTRIBUTE set = {CKA_LABEL, "mine", 4};
    CK_MECHANISM cbc = {CKM_AES_CBC_PAD, buffer, 16};
    CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0};
    CK_MECHANISM wrap = {CKM_AES_KEY_WRAP, NULL, 0};
    CK_MECHANISM concatenate = {CKM_CONCATENATE_BASE_AND_KEY, &h, sizeof h};
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &secret_class, sizeof secret_class},
                           {CKA_KEY_TYPE, &generic_type, sizeof generic_type}};
    CK_BYTE wrapped[128];
    CK_ULONG len = sizeof wrapped, size = 0;
    CK_OBJECT_HANDLE out = 0;

    memset(buffer, ATTACK_PATTERN, sizeof buffer);
    memset(wrapped, ATTACK_PATTERN, sizeof wrapped);
    attack_expect(mux->C_GetAttributeValue(t->ms, h, get, 2), CKR_OBJECT_HANDLE_INVALID,
                  "%s: C_GetAttributeValue(hidden)", t->name);
    attack_expect(mux->C_SetAttributeValue(t->ms, h, &set, 1), CKR_OBJECT_HANDLE_INVALID,
                  "%s: C_SetAttributeValue(hidden)", t->name);
    attack_expect(mux->C_GetObjectSize(t->ms, h, &size), CKR_OBJECT_HANDLE_INVALID,
                  "%s: C_GetObjectSize(hidden)", t->name);
    attack_expect(mux->C_CopyObject(t->ms, h, NULL, 0, &out), CKR_OBJECT_HANDLE_INVALID,
                  "%s: C_CopyObject(hidden)", t->name);
    attack_expect(mux->C_DestroyObject(t->ms, h), CKR_OBJECT_HANDLE_INVALID,
                  "%s: C_DestroyObject(hidden)", t->name);
    attack_expect(mux->C_EncryptInit(t->ms, &cbc, h), CKR_KEY_HANDLE_INVALID,
                  "%s: C_EncryptInit(hidden key)", t->name);
    attack_expect(mux->C_DecryptInit(t->ms, &ecb, h), CKR_KEY_HANDLE_INVALID,
                  "%s: C_DecryptInit(hidden key)", t->name);
    attack_expect(mux->C_DigestKey(t->ms, h), CKR_KEY_HANDLE_INVALID, "%s: C_DigestKey(hidden)",
                  t->name);
    attack_expect(mux->C_WrapKey(t->ms, &wrap, h, t->plain, wrapped, &len),
                  CKR_WRAPPING_KEY_HANDLE_INVALID, "%s: C_WrapKey(hidden wrapping key)", t->name);
    attack_expect(mux->C_WrapKey(t->ms, &wrap, t->plain, h, wrapped, &len), CKR_KEY_HANDLE_INVALID,
                  "%s: C_WrapKey(hidden key)", t->name);
    attack_expect(mux->C_UnwrapKey(t->ms, &wrap, h, wrapped, 40, tmpl, 2, &out),
                  CKR_UNWRAPPING_KEY_HANDLE_INVALID, "%s: C_UnwrapKey(hidden unwrapping key)",
                  t->name);
    attack_expect(mux->C_DeriveKey(t->ms, &concatenate, t->plain, tmpl, 2, &out),
                  CKR_KEY_HANDLE_INVALID, "%s: C_DeriveKey(concatenating the hidden key)", t->name);
    attack_expect(mux->C_DeriveKey(t->ms, &ecb, h, tmpl, 2, &out), CKR_KEY_HANDLE_INVALID,
                  "%s: C_DeriveKey(hidden base key)", t->name);
    attack_truth(attack_untouched(buffer, sizeof buffer) &&
                     attack_untouched(wrapped, sizeof wrapped) && out == 0,
                 "no byte of the hidden key came back");
    attack_truth(find_label(t->direct, t->ds, "backup-key", CKO_SECRET_KEY) == h,
                 "the hidden key is still there, unchanged, seen directly");
}

static void
attack_find(Token *t)
{
    CK_ATTRIBUTE by_label = {CKA_LABEL, "backup-key", 10};
    CK_ATTRIBUTE by_value = {CKA_VALUE, (void *)backup_value, 32};
    CK_ATTRIBUTE by_class = {CKA_CLASS, &secret_class, sizeof secret_class};
    CK_ATTRIBUTE *templates[] = {NULL, &by_label, &by_value, &by_class};
    CK_OBJECT_HANDLE found[4];
    gboolean leaked = FALSE;
    guint found_plain = 0;

    for (gsize i = 0; i < G_N_ELEMENTS(templates); i++) {
        CK_ULONG n;

        attack_must(mux->C_FindObjectsInit(t->ms, templates[i], templates[i] != NULL), "find init");
        do {
            attack_must(mux->C_FindObjects(t->ms, found, G_N_ELEMENTS(found), &n), "find");
            for (CK_ULONG j = 0; j < n; j++) {
                leaked = leaked || found[j] == t->backup;
                found_plain += found[j] == t->plain;
            }
        } while (n > 0);
        attack_must(mux->C_FindObjectsFinal(t->ms), "find final");
    }
    attack_truth(!leaked, "C_FindObjects never returns the hidden key, whatever the template");
    attack_truth(found_plain == 2, "C_FindObjects still finds a visible key");
}

/* Every handle from 0 to 4096 read through p11mux: no hidden byte. */
static void
attack_brute_force(Token *t)
{
    gboolean leaked = FALSE;

    for (CK_OBJECT_HANDLE h = 0; h <= 4096; h++) {
        CK_BYTE buffer[256];
        CK_ATTRIBUTE get[] = {{CKA_LABEL, buffer, 128}, {CKA_VALUE, buffer + 128, 128}};
        CK_RV rv;

        memset(buffer, 0, sizeof buffer);
        rv = mux->C_GetAttributeValue(t->ms, h, get, 2);
        if (rv == CKR_OK || rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID) {
            leaked = leaked || h == t->backup || holds_secret(buffer, sizeof buffer);
        }
    }
    attack_truth(!leaked, "4,097 guessed handles reveal no hidden object and no secret value");
}

/* Turning a visible key into a hidden one, or a protected one into less. */
static void
attack_escalation(Token *t)
{
    CK_ATTRIBUTE relabel = {CKA_LABEL, "backup-key", 10};
    CK_ATTRIBUTE exportable = {CKA_EXTRACTABLE, &yes, sizeof yes};
    CK_ATTRIBUTE unprotected = {CKA_SENSITIVE, &no, sizeof no};
    CK_OBJECT_HANDLE copy = 0;
    CK_BYTE value[64];
    CK_ATTRIBUTE get_value = {CKA_VALUE, value, sizeof value};

    if (t->direct->C_CopyObject(t->ds, t->locked, &exportable, 1, &copy) == CKR_OK) {
        attack_note("%s directly: C_CopyObject makes an extractable copy of an unextractable key",
                    t->name);
        t->direct->C_DestroyObject(t->ds, copy);
    } else {
        attack_note("%s directly: C_CopyObject refuses an extractable copy of an unextractable key",
                    t->name);
    }
    copy = 0;
    attack_expect(mux->C_SetAttributeValue(t->ms, t->plain, &relabel, 1), CKR_ATTRIBUTE_READ_ONLY,
                  "%s: C_SetAttributeValue into hiding", t->name);
    attack_expect(mux->C_CopyObject(t->ms, t->plain, &relabel, 1, &copy), CKR_ATTRIBUTE_READ_ONLY,
                  "%s: C_CopyObject into hiding", t->name);
    attack_expect(mux->C_CopyObject(t->ms, t->locked, &exportable, 1, &copy),
                  CKR_ATTRIBUTE_READ_ONLY,
                  "%s: C_CopyObject making an extractable copy of an unextractable key", t->name);
    attack_expect(mux->C_SetAttributeValue(t->ms, t->locked, &unprotected, 1),
                  CKR_ATTRIBUTE_READ_ONLY, "%s: C_SetAttributeValue CKA_SENSITIVE=FALSE", t->name);
    attack_expect(mux->C_SetAttributeValue(t->ms, t->plain, &unprotected, 1),
                  CKR_ATTRIBUTE_READ_ONLY,
                  "%s: C_SetAttributeValue CKA_SENSITIVE=FALSE on a key never sensitive", t->name);
    attack_truth(copy == 0, "no copy made");
    memset(value, ATTACK_PATTERN, sizeof value);
    attack_expect(mux->C_GetAttributeValue(t->ms, t->locked, &get_value, 1),
                  CKR_ATTRIBUTE_SENSITIVE, "%s: CKA_VALUE of a sensitive key", t->name);
    attack_truth(get_value.ulValueLen == CK_UNAVAILABLE_INFORMATION &&
                     attack_untouched(value, sizeof value),
                 "no byte of the sensitive key's value");
    /* a plain copy of an extractable key is a new key: protected */
    attack_expect(mux->C_CopyObject(t->ms, t->plain, NULL, 0, &copy), CKR_OK,
                  "%s: C_CopyObject of an extractable key", t->name);
    if (copy != 0) {
        CK_BBOOL sensitive = 0, extractable = 1;
        CK_ATTRIBUTE flags[] = {{CKA_SENSITIVE, &sensitive, 1}, {CKA_EXTRACTABLE, &extractable, 1}};

        attack_must(t->direct->C_GetAttributeValue(t->ds, copy, flags, 2), "copy flags");
        attack_truth(sensitive && !extractable,
                     "the copy is sensitive and unextractable, seen directly");
        t->direct->C_DestroyObject(t->ds, copy);
    }
}

/* Wrapping what may not leave the token; compared with the backend alone. */
static void
attack_wrap(Token *t)
{
    CK_MECHANISM wrap = {CKM_AES_KEY_WRAP, NULL, 0};
    CK_BYTE wrapped[128];
    CK_ULONG len = sizeof wrapped;
    CK_RV direct;

    direct = t->direct->C_WrapKey(t->ds, &wrap, t->plain, t->locked, wrapped, &len);
    attack_note("%s directly: C_WrapKey of an unextractable key answers %s", t->name,
                attack_rv_name(direct));
    memset(wrapped, ATTACK_PATTERN, sizeof wrapped);
    len = sizeof wrapped;
    attack_expect(mux->C_WrapKey(t->ms, &wrap, t->plain, t->locked, wrapped, &len),
                  CKR_KEY_UNEXTRACTABLE, "%s: C_WrapKey of an unextractable key", t->name);
    attack_expect(mux->C_WrapKey(t->ms, &wrap, t->plain, t->locked, NULL, &len),
                  CKR_KEY_UNEXTRACTABLE, "%s: C_WrapKey of an unextractable key, length query",
                  t->name);
    attack_truth(attack_untouched(wrapped, sizeof wrapped), "no wrapped byte came back");
}

static void
attack_weak_keys(Token *t, gboolean rsa)
{
    CK_MECHANISM aes_gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_MECHANISM hmac = {CKM_SHA256_HMAC, NULL, 0};
    CK_ULONG eight = 8;
    CK_ATTRIBUTE small[] = {{CKA_VALUE_LEN, &eight, sizeof eight}};
    CK_ATTRIBUTE import[] = {{CKA_CLASS, &secret_class, sizeof secret_class},
                             {CKA_KEY_TYPE, &generic_type, sizeof generic_type},
                             {CKA_VALUE, "01234567", 8}};
    CK_OBJECT_HANDLE out = 0;

    attack_expect(mux->C_GenerateKey(t->ms, &aes_gen, small, 1, &out), CKR_KEY_SIZE_RANGE,
                  "%s: C_GenerateKey of a 64-bit AES key", t->name);
    attack_expect(mux->C_CreateObject(t->ms, import, 3, &out), CKR_KEY_SIZE_RANGE,
                  "%s: C_CreateObject of a 64-bit secret", t->name);
    attack_expect(mux->C_SignInit(t->ms, &hmac, t->weak), CKR_KEY_SIZE_RANGE,
                  "%s: C_SignInit with a 64-bit secret made directly", t->name);
    attack_truth(out == 0, "no weak key made");
    if (rsa) {
        CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
        CK_MECHANISM ec_gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
        CK_MECHANISM sign = {CKM_SHA256_RSA_PKCS, NULL, 0};
        CK_ULONG bits = 1024;
        CK_BYTE exponent[] = {1, 0, 1};
        static const CK_BYTE p192[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01};
        CK_ATTRIBUTE pub[] = {{CKA_MODULUS_BITS, &bits, sizeof bits},
                              {CKA_PUBLIC_EXPONENT, exponent, sizeof exponent}};
        CK_ATTRIBUTE ec_pub[] = {{CKA_EC_PARAMS, (void *)p192, sizeof p192}};
        CK_OBJECT_HANDLE out2 = 0;
        CK_OBJECT_HANDLE weak_rsa = find_label(t->direct, t->ds, "rsa-weak", CKO_PRIVATE_KEY);

        attack_expect(mux->C_GenerateKeyPair(t->ms, &gen, pub, 2, NULL, 0, &out, &out2),
                      CKR_KEY_SIZE_RANGE, "%s: C_GenerateKeyPair of RSA-1024", t->name);
        attack_expect(mux->C_GenerateKeyPair(t->ms, &ec_gen, ec_pub, 1, NULL, 0, &out, &out2),
                      CKR_KEY_SIZE_RANGE, "%s: C_GenerateKeyPair on P-192", t->name);
        attack_expect(mux->C_SignInit(t->ms, &sign, weak_rsa), CKR_KEY_SIZE_RANGE,
                      "%s: C_SignInit with an RSA-1024 key made directly", t->name);
        attack_truth(out == 0 && out2 == 0, "no weak key pair made");
    }
}

static void
attack_generated_keys(Token *t)
{
    CK_MECHANISM aes_gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_ATTRIBUTE exportable[] = {{CKA_VALUE_LEN, &len, sizeof len},
                                 {CKA_EXTRACTABLE, &yes, sizeof yes}};
    CK_ATTRIBUTE readable[] = {{CKA_VALUE_LEN, &len, sizeof len}, {CKA_SENSITIVE, &no, sizeof no}};
    CK_ATTRIBUTE plain[] = {{CKA_VALUE_LEN, &len, sizeof len}, {CKA_WRAP, &yes, sizeof yes}};
    CK_OBJECT_HANDLE key = 0;
    CK_BBOOL sensitive = 0, extractable = 1;
    CK_ATTRIBUTE flags[] = {{CKA_SENSITIVE, &sensitive, 1}, {CKA_EXTRACTABLE, &extractable, 1}};

    attack_expect(mux->C_GenerateKey(t->ms, &aes_gen, exportable, 2, &key),
                  CKR_TEMPLATE_INCONSISTENT, "%s: C_GenerateKey asking CKA_EXTRACTABLE=TRUE",
                  t->name);
    attack_expect(mux->C_GenerateKey(t->ms, &aes_gen, readable, 2, &key), CKR_TEMPLATE_INCONSISTENT,
                  "%s: C_GenerateKey asking CKA_SENSITIVE=FALSE", t->name);
    attack_expect(mux->C_GenerateKey(t->ms, &aes_gen, plain, 2, &key), CKR_OK,
                  "%s: C_GenerateKey of AES-256", t->name);
    if (key != 0) {
        attack_must(t->direct->C_GetAttributeValue(t->ds, key, flags, 2), "generated flags");
        attack_truth(sensitive && !extractable,
                     "the generated key is sensitive and unextractable, seen directly");
    }
}

static void
attack_denied_functions(Token *t)
{
    CK_BYTE seed[16], state[256];
    CK_ULONG len = sizeof state;

    memset(seed, 1, sizeof seed);
    memset(state, ATTACK_PATTERN, sizeof state);
    attack_expect(mux->C_SeedRandom(t->ms, seed, sizeof seed), CKR_FUNCTION_NOT_SUPPORTED,
                  "%s: C_SeedRandom (denied)", t->name);
    attack_expect(mux->C_GetOperationState(t->ms, state, &len), CKR_FUNCTION_NOT_SUPPORTED,
                  "%s: C_GetOperationState (denied)", t->name);
    attack_truth(attack_untouched(state, sizeof state), "no operation state came back");
}

/* What the policy allows works as the backend alone would. */
static void
allowed_still_works(Token *t, gboolean rsa)
{
    CK_BYTE iv[16] = {0};
    CK_MECHANISM cbc = {CKM_AES_CBC_PAD, iv, sizeof iv};
    CK_BYTE data[] = "allowed operations behave as without a policy";
    CK_BYTE through[128], direct[128];
    CK_ULONG n1 = sizeof through, n2 = sizeof direct;

    attack_expect(mux->C_EncryptInit(t->ms, &cbc, t->plain), CKR_OK, "%s: AES-CBC-PAD allowed",
                  t->name);
    attack_expect(mux->C_Encrypt(t->ms, data, sizeof data, through, &n1), CKR_OK,
                  "%s: C_Encrypt through p11mux", t->name);
    attack_must(t->direct->C_EncryptInit(t->ds, &cbc, t->plain), "direct encrypt init");
    attack_must(t->direct->C_Encrypt(t->ds, data, sizeof data, direct, &n2), "direct encrypt");
    attack_truth(n1 == n2 && memcmp(through, direct, n1) == 0,
                 "the ciphertext through p11mux is the backend's");
    if (rsa) {
        CK_MECHANISM sign = {CKM_SHA256_RSA_PKCS, NULL, 0};
        CK_OBJECT_HANDLE key = find_label(t->direct, t->ds, "rsa-strong", CKO_PRIVATE_KEY);
        CK_BYTE sig[512];
        CK_ULONG sig_len = sizeof sig;

        attack_expect(mux->C_SignInit(t->ms, &sign, key), CKR_OK, "%s: RSA-2048 signing allowed",
                      t->name);
        attack_expect(mux->C_Sign(t->ms, data, sizeof data, sig, &sig_len), CKR_OK,
                      "%s: C_Sign with RSA-2048", t->name);
        attack_truth(sig_len == 256, "an RSA-2048 signature");
    }
}

/* ------------------------------------------------------------------ main */

static void
attack_token(Token *t, CK_SLOT_ID mux_slot, gboolean rsa)
{
    attack_mechanisms(t, mux_slot);
    attack_hidden_handle(t);
    attack_find(t);
    attack_brute_force(t);
    attack_escalation(t);
    attack_wrap(t);
    attack_weak_keys(t, rsa);
    attack_generated_keys(t);
    attack_denied_functions(t);
    allowed_still_works(t, rsa);
}

int
main(void)
{
    CK_FUNCTION_LIST_PTR softhsm, nss;
    Token sh = {.name = "SoftHSM2"}, ns = {.name = "NSS"};
    CK_SLOT_ID sh_slot, ns_slot;

    if (g_getenv("P11MUX_SO") == NULL || g_getenv("SOFTHSM_MODULE") == NULL ||
        g_getenv("NSS_MODULE") == NULL || g_getenv("NSS_INIT_RESERVED") == NULL) {
        printf("ERROR: P11MUX_SO, SOFTHSM_MODULE, NSS_MODULE and NSS_INIT_RESERVED must be set\n");
        return 2;
    }
    /* the backends first, directly: p11mux then shares them */
    softhsm = attack_load(g_getenv("SOFTHSM_MODULE"), NULL);
    nss = attack_load(g_getenv("NSS_MODULE"), g_getenv("NSS_INIT_RESERVED"));
    sh.direct = softhsm;
    sh.ds = attack_session_on(softhsm, attack_slot_by_label(softhsm, "attack-open"), TRUE);
    make_rsa(softhsm, sh.ds, "rsa-strong", 2048);
    make_rsa(softhsm, sh.ds, "rsa-weak", 1024);
    prepare_common(&sh);
    ns.direct = nss;
    ns.ds = attack_session_on(nss, attack_slot_by_label(nss, "NSS Certificate DB"), TRUE);
    prepare_common(&ns);

    mux = attack_load(g_getenv("P11MUX_SO"), NULL);
    mux3 = attack_interface_3_0(g_getenv("P11MUX_SO"), "C_GetInterface");
    sh_slot = attack_slot_by_label(mux, "attack-open");
    ns_slot = attack_slot_by_label(mux, "NSS Certificate DB");
    sh.ms = attack_session_on(mux, sh_slot, TRUE);
    ns.ms = attack_session_on(mux, ns_slot, TRUE);

    attack_hidden_token(softhsm);
    attack_token(&sh, sh_slot, TRUE);
    attack_token(&ns, ns_slot, FALSE);

    mux->C_Finalize(NULL);
    return attack_finish();
}
