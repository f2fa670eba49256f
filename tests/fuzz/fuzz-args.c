/*
 * Arguments from fuzzer bytes, by parameter role (fuzz-args.h): the values
 * of the shared builder (args.h).
 */
#include "config.h"

#include "fuzz-args.h"

#include "args.h"
#include "call-by-id.h"

#include <string.h>

#define MAX_BUFFER 512
#define MAX_LIST 16
#define MAX_TEMPLATE 6
#define MOCK_XOR (CKM_VENDOR_DEFINED + 1)

/* ------------------------------------------------------------ memory */

static gpointer
take(FuzzCall *call, gsize size)
{
    gpointer p = g_malloc0(MAX(size, 1));

    g_ptr_array_add(call->memory, p);
    return p;
}

/* size bytes of public data */
static guint8 *
public_bytes(FuzzCall *call, FuzzInput *in, gsize size, const FuzzPools *pools)
{
    guint8 *p = take(call, size);

    for (gsize i = 0; i < size; i++) {
        p[i] = fuzz_byte(in);
        if (pools->canary && p[i] == FUZZ_CANARY[0]) {
            p[i] = FUZZ_CANARY[0] + 1;
        }
    }
    return p;
}

/* size bytes of secret data: the canary, or fuzzer bytes (PINs that work) */
static guint8 *
secret_bytes(FuzzCall *call, FuzzInput *in, gsize size, const FuzzPools *pools)
{
    guint8 *p;

    if (!pools->canary) {
        p = take(call, size);
        /* "1234" now and then: a PIN the mock accepts */
        for (gsize i = 0; i < size; i++) {
            p[i] = fuzz_below(in, 4) == 0 ? fuzz_byte(in) : (guint8)('1' + i % 4);
        }
        return p;
    }
    p = take(call, size);
    if (size > 0) {
        FuzzSecret secret = {p, size};

        g_array_append_val(call->secrets, secret);
    }
    for (gsize i = 0; i < size; i++) {
        p[i] = FUZZ_CANARY[i % (sizeof FUZZ_CANARY - 1)];
    }
    return p;
}

void
fuzz_call_fill_secrets(FuzzCall *call, const char *pattern)
{
    gsize n = strlen(pattern);

    for (guint k = 0; k < call->secrets->len; k++) {
        const FuzzSecret *secret = &g_array_index(call->secrets, FuzzSecret, k);

        for (gsize i = 0; i < secret->length; i++) {
            secret->data[i] = (guint8)pattern[i % n];
        }
    }
}

static gsize
small_length(FuzzInput *in, gsize max)
{
    switch (fuzz_below(in, 4)) {
    case 0:
        return 0;
    case 1:
        return fuzz_below(in, 17);
    default:
        return fuzz_byte(in) % (max + 1);
    }
}

/* ------------------------------------------------------------ handles */

static CK_ULONG
pick(FuzzInput *in, const CK_ULONG *pool, guint n)
{
    guint choice = fuzz_below(in, 8);

    if (n > 0 && choice < 6) {
        return pool[fuzz_below(in, n)];
    }
    if (choice == 6) {
        return fuzz_below(in, 4); /* 0 .. 3 */
    }
    return fuzz_ulong(in);
}

/* --------------------------------------------------------- mechanisms */

static const CK_MECHANISM_TYPE mechanisms[] = {
    CKM_SHA256,      CKM_SHA256_HMAC, MOCK_XOR,          CKM_GENERIC_SECRET_KEY_GEN,
    CKM_AES_KEY_GEN, CKM_AES_CBC,     CKM_RSA_PKCS_OAEP, CKM_RSA_PKCS_PSS,
    CKM_AES_GCM,     CKM_AES_CTR,     CKM_ECDH1_DERIVE,  CKM_RSA_PKCS,
};

static CK_MECHANISM_TYPE
pick_mechanism(FuzzInput *in)
{
    guint choice = fuzz_below(in, G_N_ELEMENTS(mechanisms) + 2);

    return choice < G_N_ELEMENTS(mechanisms) ? mechanisms[choice] : fuzz_ulong(in);
}

/* The size of the parameter structure a mechanism's parameter holds
 * pointers in, 0 if none. */
static gsize
struct_size(CK_MECHANISM_TYPE type)
{
    switch (type) {
    case CKM_RSA_PKCS_OAEP:
        return sizeof(CK_RSA_PKCS_OAEP_PARAMS);
    case CKM_AES_GCM:
        return sizeof(CK_GCM_PARAMS);
    case CKM_ECDH1_DERIVE:
    case CKM_ECDH1_COFACTOR_DERIVE:
        return sizeof(CK_ECDH1_DERIVE_PARAMS);
    default:
        return 0;
    }
}

static void
structured_param(FuzzCall *call, FuzzInput *in, CK_MECHANISM *m, const FuzzPools *pools)
{
    if (m->mechanism == CKM_RSA_PKCS_OAEP) {
        CK_RSA_PKCS_OAEP_PARAMS *p = take(call, sizeof *p);

        p->hashAlg = fuzz_below(in, 2) ? CKM_SHA256 : fuzz_ulong(in);
        p->mgf = fuzz_below(in, 4);
        p->source = fuzz_below(in, 3);
        p->ulSourceDataLen = small_length(in, 64);
        p->pSourceData = fuzz_below(in, 5) == 0 && p->ulSourceDataLen == 0
                             ? NULL
                             : public_bytes(call, in, p->ulSourceDataLen, pools);
        m->pParameter = p;
        m->ulParameterLen = sizeof *p;
    } else if (m->mechanism == CKM_AES_GCM) {
        CK_GCM_PARAMS *p = take(call, sizeof *p);

        p->ulIvLen = small_length(in, 64);
        p->pIv = public_bytes(call, in, p->ulIvLen, pools);
        p->ulIvBits = fuzz_ulong(in);
        p->ulAADLen = small_length(in, 64);
        p->pAAD = fuzz_below(in, 4) == 0 ? NULL : public_bytes(call, in, p->ulAADLen, pools);
        if (p->pAAD == NULL) {
            p->ulAADLen = 0;
        }
        p->ulTagBits = fuzz_byte(in);
        m->pParameter = p;
        m->ulParameterLen = sizeof *p;
    } else {
        CK_ECDH1_DERIVE_PARAMS *p = take(call, sizeof *p);

        p->kdf = fuzz_below(in, 4);
        p->ulSharedDataLen = small_length(in, 64);
        p->pSharedData = public_bytes(call, in, p->ulSharedDataLen, pools);
        p->ulPublicDataLen = small_length(in, 128);
        p->pPublicData = public_bytes(call, in, p->ulPublicDataLen, pools);
        m->pParameter = p;
        m->ulParameterLen = sizeof *p;
    }
}

static CK_MECHANISM *
make_mechanism(FuzzCall *call, FuzzInput *in, const FuzzPools *pools)
{
    CK_MECHANISM *m = take(call, sizeof *m);
    gsize size;

    m->mechanism = pick_mechanism(in);
    size = struct_size(m->mechanism);
    if (size != 0 && fuzz_below(in, 4) != 0) {
        structured_param(call, in, m, pools);
        return m;
    }
    m->ulParameterLen = small_length(in, 64);
    if (size != 0 && m->ulParameterLen == size) {
        m->ulParameterLen++; /* random bytes are never taken for the structure */
    }
    m->pParameter = m->ulParameterLen == 0 && fuzz_below(in, 2) == 0
                        ? NULL
                        : public_bytes(call, in, m->ulParameterLen, pools);
    return m;
}

/* ---------------------------------------------------------- templates */

typedef enum {
    VALUE_ULONG,
    VALUE_BOOL,
    VALUE_BYTES,
    VALUE_SECRET,
    VALUE_TEMPLATE,
} ValueKind;

static const struct {
    CK_ATTRIBUTE_TYPE type;
    ValueKind kind;
} attribute_types[] = {
    {CKA_CLASS, VALUE_ULONG},
    {CKA_KEY_TYPE, VALUE_ULONG},
    {CKA_VALUE_LEN, VALUE_ULONG},
    {CKA_CERTIFICATE_TYPE, VALUE_ULONG},
    {CKA_MODULUS_BITS, VALUE_ULONG},
    {CKA_TOKEN, VALUE_BOOL},
    {CKA_PRIVATE, VALUE_BOOL},
    {CKA_SIGN, VALUE_BOOL},
    {CKA_SENSITIVE, VALUE_BOOL},
    {CKA_EXTRACTABLE, VALUE_BOOL},
    {CKA_LABEL, VALUE_BYTES},
    {CKA_ID, VALUE_BYTES},
    {CKA_EC_PARAMS, VALUE_BYTES},
    {CKA_START_DATE, VALUE_BYTES},
    {CKA_ALLOWED_MECHANISMS, VALUE_BYTES},
    {CKA_VALUE, VALUE_SECRET},
    {CKA_PRIVATE_EXPONENT, VALUE_SECRET},
    {CKA_WRAP_TEMPLATE, VALUE_TEMPLATE},
};

/* standard types that hold secrets, besides CKA_VALUE and CKA_PRIVATE_EXPONENT */
static const CK_ATTRIBUTE_TYPE secret_types[] = {
    CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT,
};

static const CK_ULONG ulong_values[] = {
    CKO_DATA, CKO_CERTIFICATE, CKO_SECRET_KEY, CKO_PRIVATE_KEY, CKK_GENERIC_SECRET, CKK_AES, 16, 32,
};

static void make_template_items(FuzzCall *call, FuzzInput *in, CK_ATTRIBUTE *t, CK_ULONG count,
                                gboolean io, guint depth, const FuzzPools *pools);

/* The value of one input attribute. */
static void
make_value(FuzzCall *call, FuzzInput *in, CK_ATTRIBUTE *a, ValueKind kind, guint depth,
           gboolean secret_key, const FuzzPools *pools)
{
    CK_ULONG *number;

    switch (kind) {
    case VALUE_ULONG:
        number = take(call, sizeof *number);
        *number = fuzz_below(in, 4) == 0 ? fuzz_ulong(in)
                                         : ulong_values[fuzz_below(in, G_N_ELEMENTS(ulong_values))];
        a->pValue = number;
        /* a wrong size now and then */
        a->ulValueLen = fuzz_below(in, 8) == 0 ? fuzz_below(in, sizeof *number) : sizeof *number;
        break;
    case VALUE_BOOL:
        a->ulValueLen = fuzz_below(in, 8) == 0 ? fuzz_below(in, 3) : 1;
        a->pValue = public_bytes(call, in, a->ulValueLen, pools);
        break;
    case VALUE_BYTES:
        a->ulValueLen = small_length(in, 64);
        a->pValue = public_bytes(call, in, a->ulValueLen, pools);
        break;
    case VALUE_SECRET:
        a->ulValueLen = small_length(in, 64);
        /* CKA_VALUE is public in a certificate's template: secret only
         * where the template says it is a secret key */
        a->pValue = a->type != CKA_VALUE || secret_key
                        ? secret_bytes(call, in, a->ulValueLen, pools)
                        : public_bytes(call, in, a->ulValueLen, pools);
        break;
    case VALUE_TEMPLATE: {
        CK_ULONG count = depth == 0 ? fuzz_below(in, 4) : 0;
        CK_ATTRIBUTE *inner = take(call, sizeof(CK_ATTRIBUTE) * MAX(count, 1));

        make_template_items(call, in, inner, count, FALSE, depth + 1, pools);
        a->pValue = inner;
        a->ulValueLen = count * sizeof(CK_ATTRIBUTE);
        break;
    }
    }
}

static void
make_template_items(FuzzCall *call, FuzzInput *in, CK_ATTRIBUTE *t, CK_ULONG count, gboolean io,
                    guint depth, const FuzzPools *pools)
{
    /* a template that starts with CKA_CLASS = CKO_SECRET_KEY holds secrets in CKA_VALUE */
    gboolean secret_key = FALSE;

    for (CK_ULONG i = 0; i < count; i++) {
        guint choice = fuzz_below(in, G_N_ELEMENTS(attribute_types) + 1);
        CK_ATTRIBUTE *a = &t[i];
        ValueKind kind;

        if (choice == G_N_ELEMENTS(attribute_types)) {
            /* a type whose value the trace must never write: a vendor type,
             * or a private key's component (a random CK_ULONG could be a
             * public type such as CKA_OWNER, whose value is rightly shown) */
            a->type = fuzz_below(in, 2) ? CKA_VENDOR_DEFINED | fuzz_ulong(in)
                                        : secret_types[fuzz_below(in, G_N_ELEMENTS(secret_types))];
            kind = VALUE_SECRET;
        } else {
            a->type = attribute_types[choice].type;
            kind = attribute_types[choice].kind;
        }
        if (depth > 0 && kind == VALUE_TEMPLATE) {
            kind = VALUE_BYTES;
            a->type = CKA_LABEL;
        }
        if (i == 0 && fuzz_below(in, 3) == 0) {
            CK_OBJECT_CLASS *klass = take(call, sizeof *klass);

            *klass = CKO_SECRET_KEY;
            *a = (CK_ATTRIBUTE){CKA_CLASS, klass, sizeof *klass};
            secret_key = TRUE;
            continue;
        }
        if (a->type == CKA_CLASS) {
            secret_key = FALSE; /* whatever it says, do not rely on it */
        }
        if (io) {
            /* C_GetAttributeValue: a buffer to fill, or a length query */
            a->ulValueLen = small_length(in, 64);
            a->pValue = fuzz_below(in, 3) == 0 ? NULL : take(call, a->ulValueLen);
            continue;
        }
        make_value(call, in, a, kind, depth, secret_key, pools);
    }
    if (pools->canary && !secret_key) {
        /* CKA_VALUE outside a secret key's template: public bytes */
        for (CK_ULONG i = 0; i < count; i++) {
            if (!io && t[i].type == CKA_VALUE && t[i].ulValueLen > 0) {
                guint8 *p = t[i].pValue;

                for (CK_ULONG k = 0; k < t[i].ulValueLen; k++) {
                    if (p[k] == FUZZ_CANARY[0]) {
                        p[k] = FUZZ_CANARY[0] + 1;
                    }
                }
            }
        }
    }
}

static CK_ATTRIBUTE *
make_template(FuzzCall *call, FuzzInput *in, CK_ULONG *count, gboolean io, const FuzzPools *pools)
{
    CK_ATTRIBUTE *t;

    *count = fuzz_below(in, MAX_TEMPLATE + 1);
    t = take(call, sizeof(CK_ATTRIBUTE) * MAX(*count, 1));
    make_template_items(call, in, t, *count, io, 0, pools);
    if (*count == 0 && fuzz_below(in, 3) == 0) {
        return NULL;
    }
    return t;
}

/* --------------------------------------------------------- by role */

/* What the callbacks of the fuzz source work on. */
typedef struct {
    FuzzCall *call;
    FuzzInput *in;
    const FuzzPools *pools;
} Fuzzed;

static CK_ULONG
fuzzed_handle(void *data, P11muxRole role)
{
    Fuzzed *f = data;

    switch (role) {
    case P11MUX_ROLE_SESSION:
        return pick(f->in, f->pools->sessions, f->pools->n_sessions);
    case P11MUX_ROLE_SLOT:
        return pick(f->in, f->pools->slots, f->pools->n_slots);
    default:
        return pick(f->in, f->pools->objects, f->pools->n_objects); /* objects and keys */
    }
}

static CK_ULONG
fuzzed_boolean(void *data)
{
    return fuzz_below(((Fuzzed *)data)->in, 2);
}

static CK_ULONG
fuzzed_flags(void *data, const char *kind)
{
    Fuzzed *f = data;
    CK_FLAGS flags;

    if (strcmp(kind, "session") == 0) {
        flags = fuzz_below(f->in, 8) == 0 ? fuzz_ulong(f->in) : CKF_SERIAL_SESSION;
        if (fuzz_below(f->in, 2)) {
            flags |= CKF_RW_SESSION;
        }
        return flags;
    }
    flags = fuzz_below(f->in, 4) == 0 ? fuzz_ulong(f->in) : fuzz_below(f->in, 4);
    if (strcmp(kind, "wait") == 0 && f->pools->never_block) {
        flags |= CKF_DONT_BLOCK;
    }
    return flags;
}

static CK_ULONG
fuzzed_mechanism(void *data, P11muxFunctionId fn G_GNUC_UNUSED)
{
    Fuzzed *f = data;

    return fuzz_below(f->in, 10) == 0 ? 0 : (CK_ULONG)make_mechanism(f->call, f->in, f->pools);
}

static CK_ULONG
fuzzed_mechanism_type(void *data)
{
    return pick_mechanism(((Fuzzed *)data)->in);
}

static CK_ULONG
fuzzed_number(void *data, P11muxRole role)
{
    FuzzInput *in = ((Fuzzed *)data)->in;

    /* a user type is rarely out of range; other numbers more often */
    return fuzz_below(in, role == P11MUX_ROLE_USER_TYPE ? 8 : 4) == 0 ? fuzz_ulong(in)
                                                                       : fuzz_below(in, 3);
}

static CK_ULONG
fuzzed_template(void *data, P11muxFunctionId fn G_GNUC_UNUSED, guint i G_GNUC_UNUSED, gboolean io,
                CK_ULONG *count)
{
    Fuzzed *f = data;

    return (CK_ULONG)make_template(f->call, f->in, count, io, f->pools);
}

static CK_ULONG
fuzzed_input(void *data, guint i G_GNUC_UNUSED, P11muxRole role, CK_ULONG *length)
{
    Fuzzed *f = data;
    gboolean secret = role == P11MUX_ROLE_SECRET_IN || role == P11MUX_ROLE_STATE_IN;
    gsize size = small_length(f->in, role == P11MUX_ROLE_SECRET_IN ? 16 : 256);

    if (fuzz_below(f->in, 8) == 0) {
        *length = fuzz_below(f->in, 2) ? size : 0; /* NULL, with whatever length */
        return 0;
    }
    if (secret && !f->pools->canary && fuzz_below(f->in, 2)) {
        size = 4; /* "1234" is the mocks' PIN */
    }
    *length = size;
    return (CK_ULONG)(secret ? secret_bytes(f->call, f->in, size, f->pools)
                             : public_bytes(f->call, f->in, size, f->pools));
}

/* A buffer for an output of capacity elements, and its length cell. */
static void
fuzzed_output(void *data, CK_ULONG *v, guint i, guint ref, P11muxRole role G_GNUC_UNUSED,
              gsize element, gboolean plain_length)
{
    Fuzzed *f = data;
    gsize capacity = small_length(f->in, plain_length ? MAX_BUFFER : MAX_LIST);
    CK_ULONG *cell;

    v[i] = fuzz_below(f->in, 4) == 0 ? 0 : (CK_ULONG)take(f->call, capacity * element);
    if (plain_length) {
        v[ref] = capacity * element; /* C_GenerateRandom: the length itself */
        if (v[i] == 0 && fuzz_below(f->in, 2)) {
            v[ref] = 0;
        }
        return;
    }
    cell = fuzz_below(f->in, 10) == 0 ? NULL : take(f->call, sizeof *cell);
    if (cell != NULL) {
        *cell = capacity; /* elements, or bytes */
    }
    v[ref] = (CK_ULONG)cell;
}

/* ulMaxObjectCount: at most what the buffer holds */
static CK_ULONG
fuzzed_max(void *data, CK_ULONG room)
{
    return room == 0 ? 0 : fuzz_below(((Fuzzed *)data)->in, (guint)room + 1);
}

static CK_ULONG
fuzzed_cell(void *data, guint i G_GNUC_UNUSED)
{
    Fuzzed *f = data;

    return fuzz_below(f->in, 8) == 0 ? 0 : (CK_ULONG)take(f->call, sizeof(CK_ULONG));
}

static CK_ULONG
fuzzed_out_pointer(void *data, guint i G_GNUC_UNUSED, gsize size)
{
    Fuzzed *f = data;

    return fuzz_below(f->in, 8) == 0 ? 0 : (CK_ULONG)take(f->call, size);
}

static CK_ULONG
fuzzed_label(void *data, guint i G_GNUC_UNUSED)
{
    Fuzzed *f = data;

    return fuzz_below(f->in, 8) == 0 ? 0 : (CK_ULONG)public_bytes(f->call, f->in, 32, f->pools);
}

static CK_ULONG
fuzzed_name(void *data, P11muxRole role)
{
    FuzzInput *in = ((Fuzzed *)data)->in;
    gboolean interface = role == P11MUX_ROLE_INTERFACE_NAME;

    if (fuzz_below(in, 3) == 0) {
        return 0;
    }
    if (fuzz_below(in, 2) == 0) {
        return interface ? (CK_ULONG) "PKCS 11" : (CK_ULONG) "C_EncapsulateKey";
    }
    return interface ? (CK_ULONG) "Vendor" : (CK_ULONG) "C_Nothing";
}

static CK_ULONG
fuzzed_version(void *data)
{
    Fuzzed *f = data;
    CK_VERSION *version = take(f->call, sizeof *version);

    version->major = fuzz_below(f->in, 4);
    version->minor = fuzz_below(f->in, 2) ? 0 : 40;
    return fuzz_below(f->in, 3) == 0 ? 0 : (CK_ULONG)version;
}

static const ArgsSource fuzzed_source = ARGS_SOURCE_OF(fuzzed);

void
fuzz_call_build(FuzzCall *call, P11muxFunctionId fn, FuzzInput *in, const FuzzPools *pools)
{
    Fuzzed fuzzed = {call, in, pools};

    memset(call, 0, sizeof *call);
    call->fn = fn;
    call->memory = g_ptr_array_new_with_free_func(g_free);
    call->secrets = g_array_new(FALSE, FALSE, sizeof(FuzzSecret));
    for (guint i = 0; i < FUZZ_MAX_PARAMS; i++) {
        call->args[i] = &call->v[i];
    }
    args_build(call->v, fn, &fuzzed_source, &fuzzed);
}

void
fuzz_call_clear(FuzzCall *call)
{
    g_clear_pointer(&call->memory, g_ptr_array_unref);
    g_clear_pointer(&call->secrets, g_array_unref);
}

/* ------------------------------------------------------------ calling */

CK_RV
fuzz_call_invoke(const FuzzCall *call, CK_FUNCTION_LIST_3_2_PTR list)
{
    return call_by_id(list, call->fn, call->v);
}
