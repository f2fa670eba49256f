/*
 * Member choice and operations (HA-GROUPS.md §7, §8): an operation borrows
 * the chosen member from its *Init to its end, with a snapshot of its
 * mechanism; when the member fails with a failover-class value, the *Init
 * is replayed on the next member from the snapshot and the call run again
 * (single-part calls; multi-part signing, verifying and digesting within
 * replay-buffer bytes of input).  Encryption and decryption updates never
 * replay: their output has gone to the application.  The function list of
 * the groups' virtual backend is assembled here.
 */
#include "config.h"

#include <string.h>

#include "group-private.h"
#include "mech-params.h"
#include "trace.h"

typedef struct {
    gboolean active;
    P11muxGroupOpKind kind;
    P11muxMember *member;     /* pinned */
    CK_SESSION_HANDLE s;      /* its member session */
    CK_MECHANISM mechanism;   /* the snapshot: pParameter is ours */
    gboolean replayable;      /* the snapshot is whole: the *Init can be made again */
    CK_OBJECT_HANDLE key;     /* virtual; 0 for a digest */
    GByteArray *input;        /* multi-part input so far; NULL past replay-buffer */
    gboolean multi;           /* an update was made */
} Operation;

struct P11muxGroupOp {
    Operation op[P11MUX_GROUP_OP_COUNT];
};

P11muxGroupOp *
p11mux_group_ops_new(void)
{
    return g_new0(P11muxGroupOp, 1);
}

static void
op_end(Operation *op)
{
    g_free(op->mechanism.pParameter);
    g_clear_pointer(&op->input, g_byte_array_unref);
    memset(op, 0, sizeof *op);
}

void
p11mux_group_ops_free(P11muxGroupOp *ops)
{
    guint i;

    if (ops == NULL) {
        return;
    }
    for (i = 0; i < P11MUX_GROUP_OP_COUNT; i++) {
        op_end(&ops->op[i]);
    }
    g_free(ops);
}

P11muxMember *
p11mux_group_ops_reauthenticate(P11muxGroupOp *ops, CK_SESSION_HANDLE *s)
{
    guint i;

    for (i = 0; i < P11MUX_GROUP_OP_COUNT; i++) {
        if (ops->op[i].active) {
            /* the login is its member's: the operation no longer moves */
            ops->op[i].replayable = FALSE;
            *s = ops->op[i].s;
            return ops->op[i].member;
        }
    }
    return NULL;
}

P11muxMember *
p11mux_group_ops_pinned(P11muxGroupOp *ops)
{
    guint i;

    for (i = 0; i < P11MUX_GROUP_OP_COUNT; i++) {
        if (ops->op[i].active) {
            return ops->op[i].member;
        }
    }
    return NULL;
}

/* -------------------------------------------------------------- choice */

static gboolean
eligible(P11muxGroupSession *session, P11muxMember *member, CK_OBJECT_HANDLE handle,
         guint64 tried)
{
    CK_OBJECT_HANDLE held = handle == 0 ? 1
                            : session != NULL
                                ? p11mux_group_session_handle(session, member, handle)
                                : p11mux_group_member_handle(member, handle);

    return p11mux_member_found(member) && !(tried & (G_GUINT64_CONSTANT(1) << member->index)) &&
           p11mux_health_usable(&member->health) && held != 0;
}

P11muxMember *
p11mux_group_choose(P11muxGroup *group, P11muxGroupSession *session, CK_OBJECT_HANDLE handle,
                    guint64 tried)
{
    P11muxMember *candidates[64];
    guint n = 0, i, first, best;

    /* members first; standby members only when no member is left */
    for (i = 0; i < group->conf->n_members && n < G_N_ELEMENTS(candidates); i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);

        if (eligible(session, member, handle, tried)) {
            candidates[n++] = member;
        }
    }
    for (i = group->conf->n_members; n == 0 && i < group->members->len; i++) {
        P11muxMember *member = g_ptr_array_index(group->members, i);

        if (eligible(session, member, handle, tried) && n < G_N_ELEMENTS(candidates)) {
            candidates[n++] = member;
        }
    }
    if (n == 0) {
        return NULL;
    }
    if (group->conf->dispatch == P11MUX_HA_DISPATCH_PRIMARY) {
        return candidates[0];
    }
    first = (guint)g_atomic_int_add(&group->next, 1) % n;
    if (group->conf->dispatch == P11MUX_HA_DISPATCH_ROUND_ROBIN) {
        return candidates[first];
    }
    /* least-busy: fewest calls running, ties taken round-robin */
    best = first;
    for (i = 1; i < n; i++) {
        guint k = (first + i) % n;

        if (p11mux_health_in_flight(&candidates[k]->health) <
            p11mux_health_in_flight(&candidates[best]->health)) {
            best = k;
        }
    }
    return candidates[best];
}

/* ------------------------------------------------------------ snapshots */

/* A copy of mechanism the operation owns: whole when its parameter is
 * absent, bytes, or a structure p11mux knows (PSS; OAEP, with its label);
 * else the caller's parameter is used for the first *Init only and the
 * operation does not fail over. */
/* Mechanisms whose parameter is a CK_RSA_PKCS_PSS_PARAMS: three numbers. */
static gboolean
is_pss(CK_MECHANISM_TYPE type)
{
    switch (type) {
    case CKM_RSA_PKCS_PSS:
    case CKM_SHA1_RSA_PKCS_PSS:
    case CKM_SHA224_RSA_PKCS_PSS:
    case CKM_SHA256_RSA_PKCS_PSS:
    case CKM_SHA384_RSA_PKCS_PSS:
    case CKM_SHA512_RSA_PKCS_PSS:
        return TRUE;
    default:
        return FALSE;
    }
}

/* An OAEP parameter and its label (pSourceData, the application's memory
 * too) in one block; NULL when it cannot be had. */
static CK_RSA_PKCS_OAEP_PARAMS *
oaep_copy(const CK_RSA_PKCS_OAEP_PARAMS *oaep)
{
    CK_RSA_PKCS_OAEP_PARAMS *copy;

    if (oaep->ulSourceDataLen > G_MAXSIZE - sizeof *copy) {
        return NULL;
    }
    copy = g_try_malloc(sizeof *copy + oaep->ulSourceDataLen);
    if (copy == NULL) {
        return NULL;
    }
    *copy = *oaep;
    if (oaep->pSourceData != NULL) {
        copy->pSourceData = (CK_BYTE_PTR)(copy + 1);
        memcpy(copy->pSourceData, oaep->pSourceData, oaep->ulSourceDataLen);
    }
    return copy;
}

static void
snapshot(Operation *op, const CK_MECHANISM *mechanism)
{
    const P11muxMechParams *params = p11mux_mech_params_lookup(mechanism->mechanism, 0);
    gboolean flat = mechanism->ulParameterLen == 0 ||
                    (params != NULL && params->klass == P11MUX_PARAM_BYTES);

    if (!flat && is_pss(mechanism->mechanism) && mechanism->pParameter != NULL &&
        mechanism->ulParameterLen == sizeof(CK_RSA_PKCS_PSS_PARAMS)) {
        flat = TRUE;
    }
    op->mechanism = *mechanism;
    if (!flat && mechanism->mechanism == CKM_RSA_PKCS_OAEP && mechanism->pParameter != NULL &&
        mechanism->ulParameterLen == sizeof(CK_RSA_PKCS_OAEP_PARAMS)) {
        op->mechanism.pParameter = oaep_copy(mechanism->pParameter);
        op->replayable = op->mechanism.pParameter != NULL;
        if (!op->replayable) {
            op->mechanism.pParameter = mechanism->pParameter; /* borrowed for this *Init only */
        }
        return;
    }
    op->replayable = flat;
    op->mechanism.pParameter = flat && mechanism->ulParameterLen > 0 && mechanism->pParameter != NULL
                                   ? g_memdup2(mechanism->pParameter, mechanism->ulParameterLen)
                                   : NULL;
    if (!flat) {
        op->mechanism.pParameter = mechanism->pParameter; /* borrowed for this *Init only */
    }
}

/* ---------------------------------------------------------- member calls */

static CK_RV
member_init(P11muxGroupOpKind kind, P11muxMember *member, CK_SESSION_HANDLE s,
            CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key)
{
    P11muxBackend *b = member->backend;

    switch (kind) {
    case P11MUX_GROUP_OP_SIGN:
        return p11mux_backend_C_SignInit(b, s, mechanism, key);
    case P11MUX_GROUP_OP_VERIFY:
        return p11mux_backend_C_VerifyInit(b, s, mechanism, key);
    case P11MUX_GROUP_OP_ENCRYPT:
        return p11mux_backend_C_EncryptInit(b, s, mechanism, key);
    case P11MUX_GROUP_OP_DECRYPT:
        return p11mux_backend_C_DecryptInit(b, s, mechanism, key);
    case P11MUX_GROUP_OP_DIGEST:
    case P11MUX_GROUP_OP_COUNT:
        break;
    }
    return p11mux_backend_C_DigestInit(b, s, mechanism);
}

/* The *Init of op on the next member (not among *tried) that takes it:
 * CKR_OK and op pinned; the member's answer when it is the request's
 * fault; CKR_DEVICE_ERROR (or the last failover-class value) when no member
 * is left. */
static CK_RV
pin(P11muxGroupSession *session, P11muxGroupOpKind kind, Operation *op, guint64 *tried)
{
    P11muxGroup *group = p11mux_group_session_group(session);
    CK_RV rv = CKR_DEVICE_ERROR; /* no member left: all down (the key is served) */
    P11muxMember *member;

    while ((member = p11mux_group_choose(group, session, op->key, *tried)) != NULL) {
        CK_OBJECT_HANDLE key =
            op->key != 0 ? p11mux_group_session_handle(session, member, op->key) : 0;
        P11muxMemberRv klass;
        CK_SESSION_HANDLE s;

        *tried |= G_GUINT64_CONSTANT(1) << member->index;
        rv = p11mux_group_member_session(session, member, &s);
        if (rv == CKR_OK) {
            gint64 started = g_get_monotonic_time();

            p11mux_health_call_started(&member->health, started);
            rv = member_init(kind, member, s, &op->mechanism, key);
            p11mux_health_call_ended(&member->health, started, g_get_monotonic_time());
        }
        klass = p11mux_group_record(member, rv);
        if (rv == CKR_OK) {
            op->member = member;
            op->s = s;
            op->active = TRUE;
            return CKR_OK;
        }
        if (klass == P11MUX_MEMBER_RV_REQUEST) {
            return rv;
        }
        p11mux_group_member_session_drop(session, member);
    }
    return rv;
}

/* C_*Init through the group. */
static CK_RV
start(CK_SESSION_HANDLE hSession, P11muxGroupOpKind kind, CK_MECHANISM_PTR pMechanism,
      CK_OBJECT_HANDLE hKey)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);
    Operation *op;
    guint64 tried = 0;
    CK_RV rv;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    op = &p11mux_group_session_ops(session)->op[kind];
    if (pMechanism == NULL) {
        p11mux_group_session_unlock(session);
        return CKR_ARGUMENTS_BAD;
    }
    if (op->active) {
        p11mux_group_session_unlock(session);
        return CKR_OPERATION_ACTIVE;
    }
    if (hKey != 0 && !p11mux_group_session_served(session, hKey)) {
        p11mux_group_session_unlock(session);
        return CKR_KEY_HANDLE_INVALID;
    }
    snapshot(op, pMechanism);
    op->kind = kind;
    op->key = hKey;
    op->input = g_byte_array_new();
    rv = pin(session, kind, op, &tried);
    if (!op->replayable) {
        op->mechanism.pParameter = NULL; /* the caller's: not ours to keep */
    }
    if (rv != CKR_OK) {
        op_end(op);
    }
    p11mux_group_session_unlock(session);
    return rv;
}

/* Move op to another member after its member failed: the *Init again from
 * the snapshot, and the input so far; CKR_OK when it moved. */
/* The trace's group.failover record: op moved from one member to another. */
static void
trace_failover(P11muxGroup *group, const P11muxMember *from, const Operation *op)
{
    static const char *const kinds[] = {"sign", "verify", "encrypt", "decrypt", "digest"};
    g_autofree char *message = NULL;
    P11muxTraceEvent event = {.event = "group.failover", .duration_us = -1};

    message = g_strdup_printf("group %s: %s operation moved from member %u (%s) to member %u (%s), "
                              "%u bytes replayed",
                              group->conf->name, kinds[op->kind], from->index, from->conf->text,
                              op->member->index, op->member->conf->text,
                              op->input != NULL ? op->input->len : 0);
    event.backend = op->member->conf->backend;
    event.outcome = "moved";
    event.message = message;
    p11mux_trace_event(group->router->trace, &event);
}

static CK_RV
fail_over(P11muxGroupSession *session, P11muxGroupOpKind kind, Operation *op, guint64 *tried)
{
    P11muxMember *from = op->member;
    CK_RV rv;

    /* the failed member's session goes, with whatever operation it kept */
    p11mux_group_member_session_drop(session, op->member);
    if (!op->replayable || (op->multi && op->input == NULL)) {
        return CKR_DEVICE_ERROR;
    }
    op->active = FALSE;
    rv = pin(session, kind, op, tried);
    if (rv == CKR_OK) {
        trace_failover(p11mux_group_session_group(session), from, op);
    }
    if (rv != CKR_OK || !op->multi || op->input->len == 0) {
        return rv;
    }
    switch (kind) {
    case P11MUX_GROUP_OP_SIGN:
        return p11mux_backend_C_SignUpdate(op->member->backend, op->s, op->input->data,
                                           op->input->len);
    case P11MUX_GROUP_OP_VERIFY:
        return p11mux_backend_C_VerifyUpdate(op->member->backend, op->s, op->input->data,
                                             op->input->len);
    case P11MUX_GROUP_OP_DIGEST:
        return p11mux_backend_C_DigestUpdate(op->member->backend, op->s, op->input->data,
                                             op->input->len);
    default:
        return CKR_DEVICE_ERROR;
    }
}

/* The calls of an operation after its *Init, in one shape: the member
 * call's inputs and outputs. */
typedef struct {
    P11muxGroupOpKind kind;
    enum { CALL_SINGLE, CALL_UPDATE, CALL_FINAL } step;
    CK_BYTE_PTR in;
    CK_ULONG in_len;
    CK_BYTE_PTR out;
    CK_ULONG_PTR out_len;
} OpCall;

static CK_RV
member_call(const OpCall *c, Operation *op)
{
    P11muxBackend *b = op->member->backend;
    CK_SESSION_HANDLE s = op->s;

    switch (c->kind) {
    case P11MUX_GROUP_OP_SIGN:
        return c->step == CALL_SINGLE ? p11mux_backend_C_Sign(b, s, c->in, c->in_len, c->out, c->out_len)
               : c->step == CALL_UPDATE ? p11mux_backend_C_SignUpdate(b, s, c->in, c->in_len)
                                        : p11mux_backend_C_SignFinal(b, s, c->out, c->out_len);
    case P11MUX_GROUP_OP_VERIFY:
        /* Verify: in is the data, out the signature (out_len its length) */
        return c->step == CALL_SINGLE
                   ? p11mux_backend_C_Verify(b, s, c->in, c->in_len, c->out, *c->out_len)
               : c->step == CALL_UPDATE ? p11mux_backend_C_VerifyUpdate(b, s, c->in, c->in_len)
                                        : p11mux_backend_C_VerifyFinal(b, s, c->out, *c->out_len);
    case P11MUX_GROUP_OP_ENCRYPT:
        return c->step == CALL_SINGLE
                   ? p11mux_backend_C_Encrypt(b, s, c->in, c->in_len, c->out, c->out_len)
               : c->step == CALL_UPDATE
                   ? p11mux_backend_C_EncryptUpdate(b, s, c->in, c->in_len, c->out, c->out_len)
                   : p11mux_backend_C_EncryptFinal(b, s, c->out, c->out_len);
    case P11MUX_GROUP_OP_DECRYPT:
        return c->step == CALL_SINGLE
                   ? p11mux_backend_C_Decrypt(b, s, c->in, c->in_len, c->out, c->out_len)
               : c->step == CALL_UPDATE
                   ? p11mux_backend_C_DecryptUpdate(b, s, c->in, c->in_len, c->out, c->out_len)
                   : p11mux_backend_C_DecryptFinal(b, s, c->out, c->out_len);
    case P11MUX_GROUP_OP_DIGEST:
    case P11MUX_GROUP_OP_COUNT:
        break;
    }
    return c->step == CALL_SINGLE ? p11mux_backend_C_Digest(b, s, c->in, c->in_len, c->out, c->out_len)
           : c->step == CALL_UPDATE ? p11mux_backend_C_DigestUpdate(b, s, c->in, c->in_len)
                                    : p11mux_backend_C_DigestFinal(b, s, c->out, c->out_len);
}

/* Whether the operation goes on after a call that returned rv: a length
 * asked (output NULL) or a buffer too small keeps it (the specification's
 * buffer protocol), as does a successful update; anything else ends it. */
static gboolean
goes_on(const OpCall *c, CK_RV rv)
{
    gboolean verify = c->kind == P11MUX_GROUP_OP_VERIFY;

    if (c->step == CALL_UPDATE) {
        return rv == CKR_OK;
    }
    return !verify && (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && c->out == NULL));
}

/* An update of input that may be replayed: kept while within replay-buffer. */
static void
keep_input(P11muxGroup *group, Operation *op, const OpCall *c)
{
    gboolean replays = c->kind == P11MUX_GROUP_OP_SIGN || c->kind == P11MUX_GROUP_OP_VERIFY ||
                       c->kind == P11MUX_GROUP_OP_DIGEST;

    op->multi = TRUE;
    if (op->input == NULL) {
        return;
    }
    if (!replays || op->input->len + c->in_len > group->conf->replay_buffer) {
        g_clear_pointer(&op->input, g_byte_array_unref); /* no mid-stream failover */
        return;
    }
    g_byte_array_append(op->input, c->in, (guint)c->in_len);
}

static CK_RV
run(CK_SESSION_HANDLE hSession, const OpCall *c)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);
    P11muxGroup *group;
    Operation *op;
    guint64 tried = 0;
    CK_RV rv;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    group = p11mux_group_session_group(session);
    op = &p11mux_group_session_ops(session)->op[c->kind];
    if (!op->active) {
        p11mux_group_session_unlock(session);
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    tried = G_GUINT64_CONSTANT(1) << op->member->index;
    for (;;) {
        P11muxMember *member = op->member;
        P11muxMemberRv klass;
        gboolean no_replay = (c->kind == P11MUX_GROUP_OP_ENCRYPT ||
                              c->kind == P11MUX_GROUP_OP_DECRYPT) &&
                             (op->multi || c->step != CALL_SINGLE);
        gint64 started = g_get_monotonic_time();

        p11mux_health_call_started(&member->health, started);
        rv = member_call(c, op);
        p11mux_health_call_ended(&member->health, started, g_get_monotonic_time());
        klass = p11mux_group_record(member, rv);
        if (klass == P11MUX_MEMBER_RV_OK || klass == P11MUX_MEMBER_RV_REQUEST) {
            break;
        }
        /* the member, not the request: elsewhere if the operation can move */
        if (no_replay) {
            /* its output has gone to the application: the operation ends, and
             * the member session goes with whatever state the member kept */
            p11mux_group_member_session_drop(session, member);
        }
        rv = no_replay ? CKR_DEVICE_ERROR : fail_over(session, c->kind, op, &tried);
        if (rv != CKR_OK) {
            rv = CKR_DEVICE_ERROR;
            op->active = FALSE;
            break;
        }
    }
    if (rv == CKR_OK && c->step == CALL_UPDATE) {
        keep_input(group, op, c);
    }
    if (!op->active || !goes_on(c, rv)) {
        op_end(op);
    }
    p11mux_group_session_unlock(session);
    return rv;
}

/* --------------------------------------------------------- the entries */

#define INIT(Name, KIND)                                                                           \
    static CK_RV group_C_##Name##Init(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,    \
                                      CK_OBJECT_HANDLE hKey)                                       \
    {                                                                                              \
        return start(hSession, KIND, pMechanism, hKey);                                            \
    }
INIT(Sign, P11MUX_GROUP_OP_SIGN)
INIT(Verify, P11MUX_GROUP_OP_VERIFY)
INIT(Encrypt, P11MUX_GROUP_OP_ENCRYPT)
INIT(Decrypt, P11MUX_GROUP_OP_DECRYPT)
#undef INIT

static CK_RV
group_C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    return start(hSession, P11MUX_GROUP_OP_DIGEST, pMechanism, 0);
}

/* Single-part and final calls that write an output: in, then out and its length. */
#define SINGLE(Name, KIND)                                                                         \
    static CK_RV group_C_##Name(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pIn, CK_ULONG ulInLen,     \
                                CK_BYTE_PTR pOut, CK_ULONG_PTR pulOutLen)                          \
    {                                                                                              \
        OpCall c = {KIND, CALL_SINGLE, pIn, ulInLen, pOut, pulOutLen};                             \
        return pulOutLen == NULL ? CKR_ARGUMENTS_BAD : run(hSession, &c);                          \
    }                                                                                              \
    static CK_RV group_C_##Name##Final(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOut,              \
                                       CK_ULONG_PTR pulOutLen)                                     \
    {                                                                                              \
        OpCall c = {KIND, CALL_FINAL, NULL, 0, pOut, pulOutLen};                                   \
        return pulOutLen == NULL ? CKR_ARGUMENTS_BAD : run(hSession, &c);                          \
    }
SINGLE(Sign, P11MUX_GROUP_OP_SIGN)
SINGLE(Encrypt, P11MUX_GROUP_OP_ENCRYPT)
SINGLE(Decrypt, P11MUX_GROUP_OP_DECRYPT)
SINGLE(Digest, P11MUX_GROUP_OP_DIGEST)
#undef SINGLE

#define UPDATE(Name, KIND)                                                                         \
    static CK_RV group_C_##Name##Update(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,            \
                                        CK_ULONG ulPartLen)                                        \
    {                                                                                              \
        OpCall c = {KIND, CALL_UPDATE, pPart, ulPartLen, NULL, NULL};                              \
        return run(hSession, &c);                                                                  \
    }
UPDATE(Sign, P11MUX_GROUP_OP_SIGN)
UPDATE(Verify, P11MUX_GROUP_OP_VERIFY)
UPDATE(Digest, P11MUX_GROUP_OP_DIGEST)
#undef UPDATE

#define CIPHER_UPDATE(Name, KIND)                                                                  \
    static CK_RV group_C_##Name##Update(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pIn,              \
                                        CK_ULONG ulInLen, CK_BYTE_PTR pOut,                        \
                                        CK_ULONG_PTR pulOutLen)                                    \
    {                                                                                              \
        OpCall c = {KIND, CALL_UPDATE, pIn, ulInLen, pOut, pulOutLen};                             \
        return pulOutLen == NULL ? CKR_ARGUMENTS_BAD : run(hSession, &c);                          \
    }
CIPHER_UPDATE(Encrypt, P11MUX_GROUP_OP_ENCRYPT)
CIPHER_UPDATE(Decrypt, P11MUX_GROUP_OP_DECRYPT)
#undef CIPHER_UPDATE

static CK_RV
group_C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    OpCall c = {P11MUX_GROUP_OP_VERIFY, CALL_SINGLE, pData, ulDataLen, pSignature, &ulSignatureLen};

    return run(hSession, &c);
}

static CK_RV
group_C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    OpCall c = {P11MUX_GROUP_OP_VERIFY, CALL_FINAL, NULL, 0, pSignature, &ulSignatureLen};

    return run(hSession, &c);
}

/* -------------------------------------------------------------- random */

typedef struct {
    CK_BYTE_PTR out;
    CK_ULONG len;
} RandomArgs;

static CK_RV
random_call(P11muxMember *member, CK_SESSION_HANDLE s, const CK_OBJECT_HANDLE *held,
            gpointer data, CK_OBJECT_HANDLE *made)
{
    RandomArgs *a = data;

    (void)held;
    (void)made;
    return p11mux_backend_C_GenerateRandom(member->backend, s, a->out, a->len);
}

/* Random bytes from any usable member, the next when one fails. */
static CK_RV
group_C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData, CK_ULONG ulRandomLen)
{
    RandomArgs a = {pRandomData, ulRandomLen};

    return p11mux_group_on_holders(hSession, NULL, 0, random_call, &a, NULL, FALSE);
}

/* Every usable member gets the seed, so that whichever serves the session's
 * next C_GenerateRandom has it (HA-GROUPS.md §8.2): CKR_OK when any member
 * took it, else the answer of the last member that gave the request's one
 * (CKR_RANDOM_SEED_NOT_SUPPORTED, ...), else CKR_DEVICE_ERROR. */
static CK_RV
group_C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    P11muxGroupSession *session = p11mux_group_session_lock(hSession);
    CK_RV rv = CKR_DEVICE_ERROR;
    guint64 tried = 0;
    P11muxMember *member;

    if (session == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    while ((member = p11mux_group_choose(p11mux_group_session_group(session), session, 0, tried)) !=
           NULL) {
        CK_SESSION_HANDLE s;
        CK_RV member_rv;

        tried |= G_GUINT64_CONSTANT(1) << member->index;
        member_rv = p11mux_group_member_session(session, member, &s);
        if (member_rv == CKR_OK) {
            member_rv = p11mux_backend_C_SeedRandom(member->backend, s, pSeed, ulSeedLen);
        }
        if (member_rv == CKR_OK ||
            p11mux_group_record(member, member_rv) == P11MUX_MEMBER_RV_REQUEST) {
            rv = rv == CKR_OK ? CKR_OK : member_rv;
        } else {
            p11mux_group_member_session_drop(session, member);
        }
    }
    p11mux_group_session_unlock(session);
    return rv;
}

/* --------------------------------------------------------- writes refused */

static CK_RV
group_C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                          CK_ULONG_PTR pulOperationStateLen)
{
    (void)hSession;
    (void)pOperationState;
    (void)pulOperationStateLen;
    return CKR_STATE_UNSAVEABLE; /* state is a member's own */
}

static CK_RV
group_C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                          CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
                          CK_OBJECT_HANDLE hAuthenticationKey)
{
    (void)hSession;
    (void)pOperationState;
    (void)ulOperationStateLen;
    (void)hEncryptionKey;
    (void)hAuthenticationKey;
    return CKR_SAVED_STATE_INVALID;
}

/* ------------------------------------------------------------ the list */

/* Every entry not set answers CKR_FUNCTION_NOT_SUPPORTED once normalised
 * (p11mux_backend_new_virtual): C_InitPIN, C_SetPIN, the dual-function
 * updates, the message functions. */
const CK_FUNCTION_LIST_3_0 p11mux_group_functions = {
    .version = {3, 0},
    .C_GetInfo = p11mux_group_C_GetInfo,
    .C_GetSlotInfo = p11mux_group_C_GetSlotInfo,
    .C_GetTokenInfo = p11mux_group_C_GetTokenInfo,
    .C_GetMechanismList = p11mux_group_C_GetMechanismList,
    .C_GetMechanismInfo = p11mux_group_C_GetMechanismInfo,
    .C_InitToken = p11mux_group_C_InitToken,
    .C_WaitForSlotEvent = p11mux_group_C_WaitForSlotEvent,
    .C_OpenSession = p11mux_group_C_OpenSession,
    .C_CloseSession = p11mux_group_C_CloseSession,
    .C_CloseAllSessions = p11mux_group_C_CloseAllSessions,
    .C_GetSessionInfo = p11mux_group_C_GetSessionInfo,
    .C_GetOperationState = group_C_GetOperationState,
    .C_SetOperationState = group_C_SetOperationState,
    .C_Login = p11mux_group_C_Login,
    .C_Logout = p11mux_group_C_Logout,
    .C_CreateObject = p11mux_group_C_CreateObject,
    .C_DestroyObject = p11mux_group_C_DestroyObject,
    .C_GetObjectSize = p11mux_group_C_GetObjectSize,
    .C_GetAttributeValue = p11mux_group_C_GetAttributeValue,
    .C_SetAttributeValue = p11mux_group_C_SetAttributeValue,
    .C_FindObjectsInit = p11mux_group_C_FindObjectsInit,
    .C_FindObjects = p11mux_group_C_FindObjects,
    .C_FindObjectsFinal = p11mux_group_C_FindObjectsFinal,
    .C_EncryptInit = group_C_EncryptInit,
    .C_Encrypt = group_C_Encrypt,
    .C_EncryptUpdate = group_C_EncryptUpdate,
    .C_EncryptFinal = group_C_EncryptFinal,
    .C_DecryptInit = group_C_DecryptInit,
    .C_Decrypt = group_C_Decrypt,
    .C_DecryptUpdate = group_C_DecryptUpdate,
    .C_DecryptFinal = group_C_DecryptFinal,
    .C_DigestInit = group_C_DigestInit,
    .C_Digest = group_C_Digest,
    .C_DigestUpdate = group_C_DigestUpdate,
    .C_DigestFinal = group_C_DigestFinal,
    .C_SignInit = group_C_SignInit,
    .C_Sign = group_C_Sign,
    .C_SignUpdate = group_C_SignUpdate,
    .C_SignFinal = group_C_SignFinal,
    .C_VerifyInit = group_C_VerifyInit,
    .C_Verify = group_C_Verify,
    .C_VerifyUpdate = group_C_VerifyUpdate,
    .C_VerifyFinal = group_C_VerifyFinal,
    .C_GenerateKey = p11mux_group_C_GenerateKey,
    .C_GenerateKeyPair = p11mux_group_C_GenerateKeyPair,
    .C_SeedRandom = group_C_SeedRandom,
    .C_GenerateRandom = group_C_GenerateRandom,
    .C_WrapKey = p11mux_group_C_WrapKey,
    .C_UnwrapKey = p11mux_group_C_UnwrapKey,
    .C_DeriveKey = p11mux_group_C_DeriveKey,
    .C_CopyObject = p11mux_group_C_CopyObject,
};
