/*
 * Object identity across members (HA-GROUPS.md §4): handles differ per
 * replica, so an object is known by its identity, (CKA_CLASS, its key or
 * certificate type, CKA_ID) by default (identity = class label and class id
 * label use CKA_LABEL).  Each member has an index, identity -> its handle,
 * read on its anchor session; each identity gets one virtual handle, stable
 * for the process and valid in every virtual session.  An identity a member
 * holds twice is not served from that member; under the default identity an
 * object with an empty CKA_ID is not served.
 */
#include "config.h"

#include <string.h>

#include "group-private.h"
#include "trace.h"

/* Objects read from a member per C_FindObjects. */
#define FIND_BATCH 64
/* A CKA_ID or CKA_LABEL longer than this is not an identity p11mux keeps. */
#define MAX_NAME 1024

/* The identity of an object, from its attributes: class, type, then the
 * chosen names, each length-prefixed; NULL when not served. */
static GBytes *
identity_of(const P11muxConfHaGroup *conf, CK_OBJECT_CLASS klass, CK_ULONG type,
            const CK_ATTRIBUTE *id, const CK_ATTRIBUTE *label)
{
    GByteArray *key = g_byte_array_new();
    const CK_ATTRIBUTE *names[2] = {
        (conf->identity & P11MUX_HA_IDENTITY_ID) ? id : NULL,
        (conf->identity & P11MUX_HA_IDENTITY_LABEL) ? label : NULL,
    };
    guint i;

    if ((conf->identity & P11MUX_HA_IDENTITY_ID) && (id->ulValueLen == 0 || id->ulValueLen > MAX_NAME)) {
        g_byte_array_unref(key);
        return NULL; /* no CKA_ID: not served under an identity of ids */
    }
    g_byte_array_append(key, (const guint8 *)&klass, sizeof klass);
    g_byte_array_append(key, (const guint8 *)&type, sizeof type);
    for (i = 0; i < G_N_ELEMENTS(names); i++) {
        CK_ULONG len;

        if (names[i] == NULL) {
            continue;
        }
        len = names[i]->ulValueLen <= MAX_NAME ? names[i]->ulValueLen : 0;
        g_byte_array_append(key, (const guint8 *)&len, sizeof len);
        if (len > 0) {
            g_byte_array_append(key, names[i]->pValue, (guint)len);
        }
    }
    return g_byte_array_free_to_bytes(key);
}

/* What an object is, as far as its fingerprint goes. */
typedef struct {
    CK_OBJECT_CLASS klass;
    CK_ULONG type; /* key or certificate type */
} Kind;

/* The identity of member's object handle, read on session (*kind set). */
static GBytes *
read_identity(P11muxMember *member, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE handle,
              Kind *kind)
{
    CK_OBJECT_CLASS klass = CK_UNAVAILABLE_INFORMATION;
    CK_ULONG key_type = CK_UNAVAILABLE_INFORMATION, cert_type = CK_UNAVAILABLE_INFORMATION;
    guint8 id[MAX_NAME], label[MAX_NAME];
    CK_ATTRIBUTE attrs[] = {
        {CKA_CLASS, &klass, sizeof klass},
        {CKA_KEY_TYPE, &key_type, sizeof key_type},
        {CKA_CERTIFICATE_TYPE, &cert_type, sizeof cert_type},
        {CKA_ID, id, sizeof id},
        {CKA_LABEL, label, sizeof label},
    };
    CK_RV rv = p11mux_backend_C_GetAttributeValue(member->backend, session, handle, attrs,
                                                  G_N_ELEMENTS(attrs));
    guint i;

    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE &&
        rv != CKR_BUFFER_TOO_SMALL) {
        return NULL;
    }
    for (i = 0; i < G_N_ELEMENTS(attrs); i++) {
        if (attrs[i].ulValueLen == CK_UNAVAILABLE_INFORMATION) {
            attrs[i].ulValueLen = 0;
        }
    }
    if (klass == CK_UNAVAILABLE_INFORMATION || attrs[0].ulValueLen != sizeof klass) {
        return NULL;
    }
    kind->klass = klass;
    kind->type = attrs[1].ulValueLen == sizeof key_type    ? key_type
                 : attrs[2].ulValueLen == sizeof cert_type ? cert_type
                                                           : CK_UNAVAILABLE_INFORMATION;
    return identity_of(member->group->conf, klass, kind->type, &attrs[3], &attrs[4]);
}

/* ---------------------------------------------------------- fingerprints */

/* One attribute's value (NULL when absent, sensitive or too large). */
static GBytes *
read_value(P11muxMember *member, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE handle,
           CK_ATTRIBUTE_TYPE type)
{
    CK_ATTRIBUTE attr = {type, NULL, 0};
    guint8 *value;

    if (p11mux_backend_C_GetAttributeValue(member->backend, session, handle, &attr, 1) != CKR_OK ||
        attr.ulValueLen == CK_UNAVAILABLE_INFORMATION || attr.ulValueLen > 65536) {
        return NULL;
    }
    value = g_malloc(MAX(attr.ulValueLen, 1));
    attr.pValue = value;
    if (p11mux_backend_C_GetAttributeValue(member->backend, session, handle, &attr, 1) != CKR_OK) {
        g_free(value);
        return NULL;
    }
    return g_bytes_new_take(value, attr.ulValueLen);
}

/* SHA-256 over the values of types (HA-GROUPS.md §4.4); NULL when one is
 * missing. */
static GBytes *
fingerprint_of(P11muxMember *member, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE handle,
               const CK_ATTRIBUTE_TYPE *types, guint n)
{
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    guint8 digest[32];
    gsize len = sizeof digest;
    guint i;

    for (i = 0; i < n; i++) {
        g_autoptr(GBytes) value = read_value(member, session, handle, types[i]);
        gsize size;
        const guint8 *data;

        if (value == NULL) {
            return NULL;
        }
        data = g_bytes_get_data(value, &size);
        g_checksum_update(sum, (const guchar *)&size, sizeof size);
        g_checksum_update(sum, data, (gssize)size);
    }
    g_checksum_get_digest(sum, digest, &len);
    return g_bytes_new(digest, len);
}

/* The ways a secret key is probed (verify = probe): one fixed block
 * (zeros) encrypted or MACed, whichever the key allows first. */
typedef struct {
    CK_KEY_TYPE type;
    CK_MECHANISM_TYPE mechanism;
    gboolean mac; /* C_Sign, else C_Encrypt */
    CK_ULONG block;
} Probe;

static const Probe probes[] = {
    {CKK_AES, CKM_AES_ECB, FALSE, 16},
    {CKK_AES, CKM_AES_CMAC, TRUE, 16},
    {CKK_DES3, CKM_DES3_ECB, FALSE, 8},
    {CKK_DES3, CKM_DES3_MAC, TRUE, 8},
    {CKK_GENERIC_SECRET, CKM_SHA256_HMAC, TRUE, 32},
    {CKK_SHA256_HMAC, CKM_SHA256_HMAC, TRUE, 32},
    {CKK_SHA384_HMAC, CKM_SHA384_HMAC, TRUE, 32},
    {CKK_SHA512_HMAC, CKM_SHA512_HMAC, TRUE, 32},
};

/* One probe's output (NULL when the key or member does not allow it). */
static GBytes *
probe_once(P11muxMember *member, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE handle,
           const Probe *probe)
{
    CK_MECHANISM mechanism = {probe->mechanism, NULL, 0};
    guint8 block[32] = {0}, out[64];
    CK_ULONG len = sizeof out;
    CK_RV rv;

    if (probe->mac) {
        rv = p11mux_backend_C_SignInit(member->backend, session, &mechanism, handle);
        if (rv == CKR_OK) {
            rv = p11mux_backend_C_Sign(member->backend, session, block, probe->block, out, &len);
        }
    } else {
        rv = p11mux_backend_C_EncryptInit(member->backend, session, &mechanism, handle);
        if (rv == CKR_OK) {
            rv = p11mux_backend_C_Encrypt(member->backend, session, block, probe->block, out, &len);
        }
    }
    return rv == CKR_OK ? g_bytes_new(out, len) : NULL;
}

/* SHA-256 of the mechanism and output of the first probe the key allows. */
static GBytes *
probe_print(P11muxMember *member, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE handle,
            CK_KEY_TYPE type)
{
    guint i;

    for (i = 0; i < G_N_ELEMENTS(probes); i++) {
        g_autoptr(GBytes) output = NULL;
        g_autoptr(GChecksum) sum = NULL;
        guint8 digest[32];
        gsize len = sizeof digest;

        if (probes[i].type != type ||
            (output = probe_once(member, session, handle, &probes[i])) == NULL) {
            continue;
        }
        sum = g_checksum_new(G_CHECKSUM_SHA256);
        g_checksum_update(sum, (const guchar *)&probes[i].mechanism, sizeof probes[i].mechanism);
        g_checksum_update(sum, g_bytes_get_data(output, NULL), (gssize)g_bytes_get_size(output));
        g_checksum_get_digest(sum, digest, &len);
        return g_bytes_new(digest, len);
    }
    return NULL;
}

/* The fingerprint of an object by what verify asks: the public part of a
 * key pair (an RSA modulus and exponent, an EC point; a private EC key's is
 * its public key's, found by identity after), a certificate's value, a
 * secret key's check value.  NULL when not fingerprinted. */
static GBytes *
fingerprint(P11muxMember *member, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE handle,
            const Kind *kind)
{
    static const CK_ATTRIBUTE_TYPE rsa[] = {CKA_MODULUS, CKA_PUBLIC_EXPONENT};
    static const CK_ATTRIBUTE_TYPE ec[] = {CKA_EC_PARAMS, CKA_EC_POINT};
    static const CK_ATTRIBUTE_TYPE cert[] = {CKA_VALUE};
    static const CK_ATTRIBUTE_TYPE kcv[] = {CKA_CHECK_VALUE};
    guint verify = member->group->conf->verify;
    gboolean pair = kind->klass == CKO_PUBLIC_KEY || kind->klass == CKO_PRIVATE_KEY;

    if (pair && (verify & P11MUX_HA_VERIFY_PUBKEY) && kind->type == CKK_RSA) {
        return fingerprint_of(member, session, handle, rsa, G_N_ELEMENTS(rsa));
    }
    if (pair && (verify & P11MUX_HA_VERIFY_PUBKEY) && kind->klass == CKO_PUBLIC_KEY &&
        (kind->type == CKK_EC || kind->type == CKK_EC_EDWARDS || kind->type == CKK_EC_MONTGOMERY)) {
        return fingerprint_of(member, session, handle, ec, G_N_ELEMENTS(ec));
    }
    if (kind->klass == CKO_CERTIFICATE && (verify & P11MUX_HA_VERIFY_CERT)) {
        return fingerprint_of(member, session, handle, cert, G_N_ELEMENTS(cert));
    }
    if (kind->klass == CKO_SECRET_KEY && (verify & P11MUX_HA_VERIFY_KCV)) {
        GBytes *print = fingerprint_of(member, session, handle, kcv, G_N_ELEMENTS(kcv));

        if (print != NULL) {
            return print;
        }
    }
    if (kind->klass == CKO_SECRET_KEY && (verify & P11MUX_HA_VERIFY_PROBE)) {
        return probe_print(member, session, handle, kind->type);
    }
    return NULL;
}

/* Whether an object whose fingerprint could not be made is unverified:
 * a secret key, when verify asks for its check value or a probe (it is
 * then not served from that member, HA-GROUPS.md §4.4). */
static gboolean
unverified(const P11muxMember *member, const Kind *kind)
{
    return kind->klass == CKO_SECRET_KEY &&
           (member->group->conf->verify & (P11MUX_HA_VERIFY_KCV | P11MUX_HA_VERIFY_PROBE));
}

static void judge_divergence(P11muxGroup *group);

/* The identity of the public key of a private key's identity (same type
 * and names, class CKO_PUBLIC_KEY). */
static GBytes *
public_twin(GBytes *identity)
{
    gsize size;
    const guint8 *data = g_bytes_get_data(identity, &size);
    guint8 *copy = g_memdup2(data, size);
    CK_OBJECT_CLASS klass = CKO_PUBLIC_KEY;

    memcpy(copy, &klass, sizeof klass);
    return g_bytes_new_take(copy, size);
}

/* Every object handle of member's token its anchor sees. */
static CK_RV
find_all(P11muxMember *member, CK_SESSION_HANDLE session, GArray *handles)
{
    CK_OBJECT_HANDLE batch[FIND_BATCH];
    CK_ULONG n = 0;
    CK_RV rv = p11mux_backend_C_FindObjectsInit(member->backend, session, NULL, 0);

    while (rv == CKR_OK) {
        rv = p11mux_backend_C_FindObjects(member->backend, session, batch, FIND_BATCH, &n);
        if (rv != CKR_OK || n == 0) {
            break;
        }
        g_array_append_vals(handles, batch, (guint)n);
    }
    (void)p11mux_backend_C_FindObjectsFinal(member->backend, session);
    return rv;
}

/* A virtual handle for every identity of index the group does not know yet
 * (the group's lock held). */
static void
name_identities(P11muxGroup *group, GHashTable *index)
{
    GHashTableIter iter;
    gpointer identity;

    g_hash_table_iter_init(&iter, index);
    while (g_hash_table_iter_next(&iter, &identity, NULL)) {
        if (!g_hash_table_contains(group->handles, identity)) {
            GBytes *kept = g_bytes_ref(identity);
            CK_OBJECT_HANDLE handle = P11MUX_GROUP_OBJECT_BASE + group->identities->len;

            g_ptr_array_add(group->identities, kept);
            g_hash_table_insert(group->handles, kept, GSIZE_TO_POINTER((gsize)handle));
        }
    }
}

CK_RV
p11mux_group_anchor(P11muxMember *member, CK_SESSION_HANDLE *session)
{
    P11muxGroup *group = member->group;
    CK_SESSION_HANDLE opened = 0;
    CK_RV rv = CKR_OK;

    g_mutex_lock(&group->lock);
    *session = member->anchor;
    g_mutex_unlock(&group->lock);
    if (*session != 0) {
        return CKR_OK;
    }
    rv = p11mux_backend_C_OpenSession(member->backend, member->slot, CKF_SERIAL_SESSION, NULL,
                                      NULL, &opened);
    if (rv != CKR_OK) {
        return rv;
    }
    g_mutex_lock(&group->lock);
    if (member->anchor == 0) {
        member->anchor = opened;
        opened = 0;
    }
    *session = member->anchor;
    g_mutex_unlock(&group->lock);
    if (opened != 0) {
        (void)p11mux_backend_C_CloseSession(member->backend, opened);
    }
    return CKR_OK;
}

CK_RV
p11mux_group_index_member(P11muxMember *member)
{
    P11muxGroup *group = member->group;
    g_autoptr(GArray) handles = g_array_new(FALSE, FALSE, sizeof(CK_OBJECT_HANDLE));
    GHashTable *index, *reverse, *ambiguous, *fingerprints, *unproven;
    GHashTableIter iter;
    gpointer key;
    CK_SESSION_HANDLE session;
    CK_RV rv;
    guint i;

    if (!p11mux_member_found(member)) {
        return CKR_TOKEN_NOT_PRESENT;
    }
    g_mutex_lock(&member->index_lock);
    rv = p11mux_group_anchor(member, &session);
    if (rv == CKR_OK) {
        rv = find_all(member, session, handles);
    }
    if (rv != CKR_OK) {
        g_mutex_unlock(&member->index_lock);
        return rv;
    }
    fingerprints = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                         (GDestroyNotify)g_bytes_unref,
                                         (GDestroyNotify)g_bytes_unref);
    index = g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, NULL);
    reverse = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                    (GDestroyNotify)g_bytes_unref);
    ambiguous = g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref,
                                      NULL);
    unproven =
        g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, NULL);
    for (i = 0; i < handles->len; i++) {
        CK_OBJECT_HANDLE handle = g_array_index(handles, CK_OBJECT_HANDLE, i);
        Kind kind = {0, 0};
        GBytes *identity = read_identity(member, session, handle, &kind);
        GBytes *print;

        if (identity == NULL) {
            continue;
        }
        print = fingerprint(member, session, handle, &kind);
        if (print != NULL) {
            g_hash_table_replace(fingerprints, g_bytes_ref(identity), print);
        } else if (unverified(member, &kind)) {
            /* not proven the same key as the other members': not served here */
            g_hash_table_add(unproven, identity);
            continue;
        }
        if (g_hash_table_contains(index, identity) || g_hash_table_contains(ambiguous, identity)) {
            /* two objects of one identity on one member: served from neither */
            g_hash_table_remove(index, identity);
            g_hash_table_add(ambiguous, g_bytes_ref(identity));
        } else {
            g_hash_table_insert(index, g_bytes_ref(identity), GSIZE_TO_POINTER((gsize)handle));
        }
        g_hash_table_insert(reverse, GSIZE_TO_POINTER((gsize)handle), identity);
    }
    /* a private key's fingerprint is its public key's, where the pair's
     * public half carries it (EC) */
    g_hash_table_iter_init(&iter, index);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        g_autoptr(GBytes) twin = NULL;
        GBytes *print;
        CK_OBJECT_CLASS klass;

        memcpy(&klass, g_bytes_get_data(key, NULL), sizeof klass);
        if (klass != CKO_PRIVATE_KEY || g_hash_table_contains(fingerprints, key)) {
            continue;
        }
        twin = public_twin(key);
        print = g_hash_table_lookup(fingerprints, twin);
        if (print != NULL) {
            g_hash_table_insert(fingerprints, g_bytes_ref(key), g_bytes_ref(print));
        }
    }
    g_mutex_lock(&group->lock);
    p11mux_group_index_clear(member);
    member->objects = index;
    member->reverse = reverse;
    member->ambiguous = ambiguous;
    member->fingerprints = fingerprints;
    member->unverified = unproven;
    member->indexed_us = g_get_monotonic_time();
    name_identities(group, index);
    judge_divergence(group);
    g_mutex_unlock(&group->lock);
    g_mutex_unlock(&member->index_lock);
    return CKR_OK;
}

/* The group's lock held, or the member no longer shared. */
void
p11mux_group_index_clear(P11muxMember *member)
{
    g_clear_pointer(&member->objects, g_hash_table_unref);
    g_clear_pointer(&member->reverse, g_hash_table_unref);
    g_clear_pointer(&member->ambiguous, g_hash_table_unref);
    g_clear_pointer(&member->fingerprints, g_hash_table_unref);
    g_clear_pointer(&member->divergent, g_hash_table_unref);
    g_clear_pointer(&member->unverified, g_hash_table_unref);
}

/* ------------------------------------------------------------ divergence */

static void
trace_divergence(P11muxGroup *group, P11muxMember *member, GBytes *identity)
{
    g_autofree char *hex = NULL;
    g_autofree char *message = NULL;
    gsize size;
    const guint8 *data = g_bytes_get_data(identity, &size);
    GString *text = g_string_new(NULL);
    P11muxTraceEvent event = {.event = "group.divergence", .duration_us = -1};
    gsize k;

    for (k = 2 * sizeof(CK_ULONG); k < size && k < 2 * sizeof(CK_ULONG) + 24; k++) {
        g_string_append_printf(text, "%02x", data[k]);
    }
    hex = g_string_free(text, FALSE);
    message = g_strdup_printf("group %s: member %u (%s) holds another object under identity %s "
                              "(class 0x%lx); not served from it",
                              group->conf->name, member->index, member->conf->text, hex,
                              (unsigned long)*(const CK_ULONG *)data);
    event.backend = member->conf->backend;
    event.outcome = group->conf->on_divergence == P11MUX_HA_DIVERGENCE_QUARANTINE_MEMBER
                        ? "quarantined"
                        : "excluded";
    event.message = message;
    p11mux_trace_event(group->router->trace, &event);
}

/* The fingerprint most members hold for identity; on a tie the first
 * member's (configured order).  NULL when none has one. */
static GBytes *
majority(P11muxGroup *group, GBytes *identity)
{
    GBytes *best = NULL;
    guint best_votes = 0, i, j;

    for (i = 0; i < group->members->len; i++) {
        P11muxMember *a = g_ptr_array_index(group->members, i);
        GBytes *print = a->fingerprints != NULL ? g_hash_table_lookup(a->fingerprints, identity)
                                                : NULL;
        guint votes = 0;

        if (print == NULL || a->objects == NULL || !g_hash_table_contains(a->objects, identity)) {
            continue;
        }
        for (j = 0; j < group->members->len; j++) {
            P11muxMember *b = g_ptr_array_index(group->members, j);
            GBytes *other = b->fingerprints != NULL ? g_hash_table_lookup(b->fingerprints, identity)
                                                    : NULL;

            votes += other != NULL && g_bytes_equal(print, other);
        }
        if (votes > best_votes) {
            best = print;
            best_votes = votes;
        }
    }
    return best;
}

/* Which member holds which identity differently from the others (the
 * group's lock held): such an identity is not served from it, and, as
 * on-divergence says, the member is quarantined or the token made absent. */
static void
judge_divergence(P11muxGroup *group)
{
    guint i;

    for (i = 0; i < group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);
        g_autoptr(GHashTable) before = member->divergent;
        GHashTableIter iter;
        gpointer identity, print;

        member->divergent = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                                  (GDestroyNotify)g_bytes_unref, NULL);
        if (member->fingerprints == NULL) {
            continue;
        }
        g_hash_table_iter_init(&iter, member->fingerprints);
        while (g_hash_table_iter_next(&iter, &identity, &print)) {
            GBytes *agreed = majority(group, identity);

            if (agreed == NULL || g_bytes_equal(agreed, print)) {
                continue;
            }
            g_hash_table_add(member->divergent, g_bytes_ref(identity));
            if (before == NULL || !g_hash_table_contains(before, identity)) {
                trace_divergence(group, member, identity);
            }
            if (group->conf->on_divergence == P11MUX_HA_DIVERGENCE_QUARANTINE_MEMBER) {
                p11mux_health_quarantine(&member->health);
            } else if (group->conf->on_divergence == P11MUX_HA_DIVERGENCE_FAIL) {
                group->diverged = TRUE;
            }
        }
    }
}

/* Whether member serves identity (the group's lock held). */
static gboolean
serves(P11muxMember *member, GBytes *identity)
{
    return member->objects != NULL && g_hash_table_contains(member->objects, identity) &&
           (member->divergent == NULL || !g_hash_table_contains(member->divergent, identity));
}

/* The identity of a virtual handle (the group's lock held); NULL if none. */
static GBytes *
identity_of_handle(P11muxGroup *group, CK_OBJECT_HANDLE handle)
{
    if (handle < P11MUX_GROUP_OBJECT_BASE ||
        handle - P11MUX_GROUP_OBJECT_BASE >= group->identities->len) {
        return NULL;
    }
    return g_ptr_array_index(group->identities, handle - P11MUX_GROUP_OBJECT_BASE);
}

CK_OBJECT_HANDLE
p11mux_group_member_handle(P11muxMember *member, CK_OBJECT_HANDLE handle)
{
    P11muxGroup *group = member->group;
    CK_OBJECT_HANDLE found = 0;
    GBytes *identity;

    g_mutex_lock(&group->lock);
    identity = identity_of_handle(group, handle);
    if (identity != NULL && serves(member, identity)) {
        found = (CK_OBJECT_HANDLE)GPOINTER_TO_SIZE(g_hash_table_lookup(member->objects, identity));
    }
    g_mutex_unlock(&group->lock);
    return found;
}

CK_OBJECT_HANDLE
p11mux_group_virtual_handle(P11muxMember *member, CK_OBJECT_HANDLE member_handle)
{
    P11muxGroup *group = member->group;
    CK_OBJECT_HANDLE handle = 0;
    GBytes *identity;

    g_mutex_lock(&group->lock);
    identity = member->reverse != NULL
                   ? g_hash_table_lookup(member->reverse, GSIZE_TO_POINTER((gsize)member_handle))
                   : NULL;
    if (identity != NULL && serves(member, identity)) {
        handle = (CK_OBJECT_HANDLE)GPOINTER_TO_SIZE(g_hash_table_lookup(group->handles, identity));
    }
    g_mutex_unlock(&group->lock);
    return handle;
}

gboolean
p11mux_group_handle_served(P11muxGroup *group, CK_OBJECT_HANDLE handle)
{
    guint i, holders = 0, usable = 0;
    GBytes *identity;

    g_mutex_lock(&group->lock);
    identity = identity_of_handle(group, handle);
    for (i = 0; identity != NULL && i < group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);

        usable += p11mux_health_usable(&member->health);
        holders += p11mux_health_usable(&member->health) && serves(member, identity);
    }
    g_mutex_unlock(&group->lock);
    /* every member down (all-down = keep-sessions): the handle stays valid,
     * and a call with it finds no member: CKR_DEVICE_ERROR (HA-GROUPS.md §10) */
    return identity != NULL && (holders >= group->conf->min_replicas || usable == 0);
}
