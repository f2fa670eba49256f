/*
 * The bad-input matrix, generated from the function table's descriptors
 * (p11mux_functions[], src/core/pkcs11-functions.tab): every function of p11mux.so
 * (over two mock backends, harness.h) is called
 *
 * - with sound arguments built from each parameter's role ("valid"), after
 *   the *Init its operation needs;
 * - with NULL for each pointer parameter;
 * - with 0 and a huge value for each length, count and maximum (a huge input
 *   length comes with a real buffer that long, 64 MiB, a huge template
 *   count with a real template: an application that lies about a buffer's
 *   size lies to every module, p11mux's answer to a real huge input is what
 *   is tested; an offered output size is ULONG_MAX), and ULONG_MAX with a
 *   NULL buffer;
 * - with session handles that are 0, past the end, stale, a backend's own,
 *   with high bits set, all ones, and a live one of the other backend; slot
 *   ids that are 0, unknown, a backend's own, with high bits set, all ones;
 *   object and key handles that are 0, past the end, stale, and the other
 *   backend's, and objects used with a session of the other backend;
 * - before C_Initialize and after C_Finalize (every function but the four
 *   that need no initialisation must answer CKR_CRYPTOKI_NOT_INITIALIZED);
 *
 * and every answer must be one the specification allows for the function
 * (spec-rv.h); p11mux must still answer C_GetInfo afterwards.  The whole
 * table is printed, one line per call, so that a reader can review it.  The
 * matrix runs with nothing attached (the plain path), again with trace on
 * (JSON, hex data; every record must be one valid JSON line) so that the
 * decoder sees every bad input, and again with trace and a policy using
 * every rule, so that the policy's checks see them too.
 */
#include "config.h"

#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <glib/gstdio.h>

#include "bad-args.h"
#include "call-by-id.h"
#include "cli/trace-read.h"
#include "harness.h"
#include "p11mux-functions.h"
#include "spec-rv.h"

/* P11MUX_MATRIX_HUGE_MIB (default 64): the huge input, in MiB (valgrind
 * runs use less) */
static CK_ULONG huge_length;
#define HUGE_COUNT ((CK_ULONG)1 << 20)
#define MOCK_XOR (CKM_VENDOR_DEFINED + 1)

/* ------------------------------------------------ functions by their id */

static Harness *harness;
static CK_FUNCTION_LIST_3_2_PTR p11;

static CK_RV
call_fn(P11muxFunctionId fn, const CK_ULONG *v)
{
    ck_assert_msg(p11mux_functions[fn].n_params <= CALL_BY_ID_MAX_PARAMS,
                  "%s has too many parameters", p11mux_functions[fn].name);
    return call_by_id(p11, fn, v);
}

static P11muxFunctionId
function_id(const char *name)
{
    for (guint fn = 0; fn < P11MUX_FN_COUNT; fn++) {
        if (strcmp(p11mux_functions[fn].name, name) == 0) {
            return fn;
        }
    }
    ck_abort_msg("no function %s", name);
    return P11MUX_FN_COUNT;
}

/* --------------------------------------------------------- the world */

/* What one case starts from: fresh sessions and objects. */
typedef struct {
    CK_SLOT_ID slot_a, slot_a2, slot_b;
    CK_SESSION_HANDLE session;     /* RW, on a-one (backend a, 3.0) */
    CK_SESSION_HANDLE session_b;   /* RW, on b-seven (backend b, 2.40) */
    CK_SESSION_HANDLE stale;       /* opened on a-one and closed */
    CK_OBJECT_HANDLE key;          /* the HMAC key of a-one */
    CK_OBJECT_HANDLE key_b;        /* the HMAC key of b-seven */
    CK_OBJECT_HANDLE object;       /* a session data object made in session */
    CK_OBJECT_HANDLE object_b;     /* one made in session_b */
    CK_OBJECT_HANDLE stale_object; /* made in session and destroyed */
} World;

static World world;

static CK_OBJECT_HANDLE
find_key(CK_SESSION_HANDLE session)
{
    CK_ATTRIBUTE template[] = {{CKA_LABEL, (void *)"hmac", 4}};
    CK_OBJECT_HANDLE found = CK_INVALID_HANDLE;
    CK_ULONG count = 0;

    ck_assert_uint_eq(p11->C_FindObjectsInit(session, template, 1), CKR_OK);
    ck_assert_uint_eq(p11->C_FindObjects(session, &found, 1, &count), CKR_OK);
    ck_assert_uint_eq(p11->C_FindObjectsFinal(session), CKR_OK);
    ck_assert_uint_eq(count, 1);
    return found;
}

static CK_OBJECT_HANDLE
make_object(CK_SESSION_HANDLE session)
{
    CK_OBJECT_CLASS klass = CKO_DATA;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &klass, sizeof klass},
        {CKA_TOKEN, &no, sizeof no},
        {CKA_LABEL, (void *)"matrix", 6},
    };
    CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;

    ck_assert_uint_eq(p11->C_CreateObject(session, template, 3, &object), CKR_OK);
    return object;
}

static CK_SESSION_HANDLE
open_session(CK_SLOT_ID slot)
{
    CK_SESSION_HANDLE session = 0;

    ck_assert_uint_eq(
        p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session),
        CKR_OK);
    return session;
}

/* Initialise if a case finalised, close everything, make the world anew. */
static void
renew_world(void)
{
    CK_INFO info;

    if (p11->C_GetInfo(&info) == CKR_CRYPTOKI_NOT_INITIALIZED) {
        ck_assert_uint_eq(p11->C_Initialize(NULL), CKR_OK);
    }
    world.slot_a = harness_slot_by_label(harness, "a-one");
    world.slot_a2 = harness_slot_by_label(harness, "a-two");
    world.slot_b = harness_slot_by_label(harness, "b-seven");
    ck_assert(world.slot_a != 0 && world.slot_a2 != 0 && world.slot_b != 0);
    p11->C_CloseAllSessions(world.slot_a);
    p11->C_CloseAllSessions(world.slot_a2);
    p11->C_CloseAllSessions(world.slot_b);
    world.stale = open_session(world.slot_a);
    ck_assert_uint_eq(p11->C_CloseSession(world.stale), CKR_OK);
    world.session = open_session(world.slot_a);
    world.session_b = open_session(world.slot_b);
    world.key = find_key(world.session);
    world.key_b = find_key(world.session_b);
    world.object = make_object(world.session);
    world.object_b = make_object(world.session_b);
    world.stale_object = make_object(world.session);
    ck_assert_uint_eq(p11->C_DestroyObject(world.session, world.stale_object), CKR_OK);
}

/* ------------------------------------------------- sound arguments */

static guint8 *huge_buffer;
static CK_ATTRIBUTE *huge_template;

static CK_MECHANISM_TYPE
mechanism_for(P11muxFunctionId fn)
{
    const char *name = p11mux_functions[fn].name;

    if (strstr(name, "Digest") != NULL && strstr(name, "Encrypt") == NULL) {
        return CKM_SHA256;
    }
    if (strstr(name, "Sign") != NULL || strstr(name, "Verify") != NULL) {
        return CKM_SHA256_HMAC;
    }
    if (strstr(name, "Encrypt") != NULL || strstr(name, "Decrypt") != NULL) {
        return MOCK_XOR;
    }
    if (strstr(name, "Generate") != NULL) {
        return CKM_GENERIC_SECRET_KEY_GEN;
    }
    return CKM_SHA256;
}

static void
sound_template(BadArgs *args, guint i, P11muxFunctionId fn, CK_ULONG *count)
{
    const char *function = p11mux_functions[fn].name;
    CK_ATTRIBUTE *t = args->templates[i];

    args->klass = CKO_DATA;
    args->no = CK_FALSE;
    args->value_len = 16;
    if (strstr(function, "Generate") != NULL || strstr(function, "Unwrap") != NULL ||
        strstr(function, "Derive") != NULL) {
        t[0] = (CK_ATTRIBUTE){CKA_VALUE_LEN, &args->value_len, sizeof args->value_len};
        t[1] = (CK_ATTRIBUTE){CKA_TOKEN, &args->no, sizeof args->no};
        *count = 2;
    } else if (strcmp(function, "C_GetAttributeValue") == 0) {
        t[0] = (CK_ATTRIBUTE){CKA_LABEL, args->buffers[i], 64};
        t[1] = (CK_ATTRIBUTE){CKA_CLASS, &args->klass, sizeof args->klass};
        *count = 2;
    } else {
        bad_args_data_object(args, i, count);
    }
}

/* Sound arguments for fn, naming the world's a-one objects. */
static void
build(BadArgs *args, P11muxFunctionId fn)
{
    BadArgsWorld sound = {.slot = world.slot_a,
                          .session = world.session,
                          .key = world.key,
                          .object = world.object,
                          .label = "matrix",
                          .mechanism_for = mechanism_for,
                          .template_for = sound_template};

    bad_args_build(args, fn, &sound);
}

/* ----------------------------------------------------------- the cases */

typedef enum {
    CASE_SOUND,
    CASE_NULL,    /* param set to NULL */
    CASE_VALUE,   /* param set to value */
    CASE_CELL,    /* what param points at set to value */
    CASE_HUGE_IN, /* param (a length) huge, its buffer the huge one */
    CASE_HUGE_TEMPLATE,
    CASE_NULL_HUGE, /* param (a length or count) ULONG_MAX, its buffer NULL */
    CASE_WORLD,     /* param set to *handle | value: a handle of the case's world */
    CASE_INIT_ARGS, /* pInitArgs pointing at init_args_cases[value] */
} CaseKind;

typedef struct {
    CaseKind kind;
    guint param;
    CK_ULONG value;
    const CK_ULONG *handle; /* CASE_WORLD: a member of world */
    char what[96];
} Case;

static void add_case(GArray *cases, CaseKind kind, guint param, CK_ULONG value,
                     const CK_ULONG *handle, const char *format, va_list ap) G_GNUC_PRINTF(6, 0);

static void
add_case(GArray *cases, CaseKind kind, guint param, CK_ULONG value, const CK_ULONG *handle,
         const char *format, va_list ap)
{
    Case c = {kind, param, value, handle, ""};

    g_vsnprintf(c.what, sizeof c.what, format, ap);
    g_array_append_val(cases, c);
}

static void add(GArray *cases, CaseKind kind, guint param, CK_ULONG value, const char *format, ...)
    G_GNUC_PRINTF(5, 6);

static void
add(GArray *cases, CaseKind kind, guint param, CK_ULONG value, const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    add_case(cases, kind, param, value, NULL, format, ap);
    va_end(ap);
}

/* A handle of the world as it will be when the case runs, | bits. */
static void add_world(GArray *cases, guint param, const CK_ULONG *handle, CK_ULONG bits,
                      const char *format, ...) G_GNUC_PRINTF(5, 6);

static void
add_world(GArray *cases, guint param, const CK_ULONG *handle, CK_ULONG bits, const char *format,
          ...)
{
    va_list ap;

    va_start(ap, format);
    add_case(cases, CASE_WORLD, param, bits, handle, format, ap);
    va_end(ap);
}

/* The buffer parameter whose length is param, -1 if none. */
static void
add_handle_cases(GArray *cases, const P11muxParamDesc *p, guint i)
{
    const CK_ULONG high_bit = (CK_ULONG)1 << (sizeof(CK_ULONG) * 8 - 1);
    const char *n = p->name;

    switch (p->role) {
    case P11MUX_ROLE_SESSION:
        add(cases, CASE_VALUE, i, 0, "%s=0", n);
        add(cases, CASE_VALUE, i, ((CK_ULONG)1 << 20) | 0xfffff, "%s=past the end", n);
        add_world(cases, i, &world.stale, 0, "%s=stale", n);
        add(cases, CASE_VALUE, i, 0x1000, "%s=a backend's own (0x1000)", n);
        add_world(cases, i, &world.session, high_bit, "%s=live|high bit", n);
        add(cases, CASE_VALUE, i, G_MAXULONG, "%s=all ones", n);
        add_world(cases, i, &world.session_b, 0, "%s=live, backend b (2.40)", n);
        break;
    case P11MUX_ROLE_SLOT:
        add(cases, CASE_VALUE, i, 0, "%s=0", n);
        add(cases, CASE_VALUE, i, 0x7fffffff, "%s=unknown", n);
        add(cases, CASE_VALUE, i, 7, "%s=a backend's own (7)", n);
        add_world(cases, i, &world.slot_a, (CK_ULONG)1 << 32, "%s=live|1<<32", n);
        add(cases, CASE_VALUE, i, G_MAXULONG, "%s=all ones", n);
        add_world(cases, i, &world.slot_b, 0, "%s=backend b's", n);
        add_world(cases, i, &world.slot_a2, 0, "%s=a-two", n);
        break;
    case P11MUX_ROLE_KEY:
    case P11MUX_ROLE_WRAPPING_KEY:
    case P11MUX_ROLE_UNWRAPPING_KEY:
    case P11MUX_ROLE_EXPORTED_KEY:
    case P11MUX_ROLE_OBJECT:
        add(cases, CASE_VALUE, i, 0, "%s=0", n);
        add(cases, CASE_VALUE, i, 0xffffff, "%s=past the end", n);
        add_world(cases, i, &world.stale_object, 0, "%s=stale", n);
        add_world(cases, i, p11mux_role_is_key(p->role) ? &world.key_b : &world.object_b, 0,
                  "%s=backend b's", n);
        add_world(cases, i, &world.object_b, 0, "%s=made in backend b's session", n);
        add(cases, CASE_VALUE, i, G_MAXULONG, "%s=all ones", n);
        break;
    default:
        break;
    }
}

/* What pInitArgs points at, by case. */
static const struct {
    const char *what;
    CK_FLAGS flags;
    gboolean create, all_mutexes;
    const char *reserved_text;
} init_args_cases[] = {
    {"pInitArgs={0}", 0, FALSE, FALSE, NULL},
    {"pInitArgs={CreateMutex only}", 0, TRUE, FALSE, NULL},
    {"pInitArgs={mutexes, no OS locking}", 0, TRUE, TRUE, NULL},
    {"pInitArgs={mutexes, CKF_OS_LOCKING_OK}", CKF_OS_LOCKING_OK, TRUE, TRUE, NULL},
    {"pInitArgs={CKF_LIBRARY_CANT_CREATE_OS_THREADS}", CKF_LIBRARY_CANT_CREATE_OS_THREADS, FALSE,
     FALSE, NULL},
    {"pInitArgs={flags all ones}", G_MAXULONG, FALSE, FALSE, NULL},
    {"pInitArgs={pReserved=\"config=\"}", 0, FALSE, FALSE, "config="},
    {"pInitArgs={pReserved=config=missing}", 0, FALSE, FALSE, "config=/nonexistent/p11mux.conf"},
    {"pInitArgs={pReserved=config= twice}", 0, FALSE, FALSE, "config=/a config=/b"},
    {"pInitArgs={pReserved=junk}", 0, FALSE, FALSE, "\x01\xff junk=\t\n"},
    /* not a string at all: probed, never read (src/core/probe.h) */
    {"pInitArgs={pReserved=(void *)1}", 0, FALSE, FALSE, (const char *)1},
};

static CK_RV
fake_mutex(CK_VOID_PTR mutex)
{
    (void)mutex;
    return CKR_OK;
}

static CK_RV
fake_create_mutex(CK_VOID_PTR_PTR mutex)
{
    *mutex = NULL;
    return CKR_OK;
}

static void
add_length_cases(GArray *cases, const P11muxFunctionDesc *desc, guint i)
{
    const P11muxParamDesc *p = &desc->params[i];
    int buffer = bad_args_buffer_of(desc, i);

    switch (p->role) {
    case P11MUX_ROLE_LEN:
        add(cases, CASE_VALUE, i, 0, "%s=0", p->name);
        if (buffer >= 0 && desc->params[buffer].role != P11MUX_ROLE_SECRET_OUT) {
            add(cases, CASE_HUGE_IN, i, huge_length, "%s=%lu MiB", p->name, huge_length >> 20);
        }
        if (buffer >= 0) {
            add(cases, CASE_NULL_HUGE, i, G_MAXULONG, "%s=ULONG_MAX, %s=NULL", p->name,
                desc->params[buffer].name);
        }
        break;
    case P11MUX_ROLE_COUNT:
        add(cases, CASE_VALUE, i, 0, "%s=0", p->name);
        add(cases, CASE_HUGE_TEMPLATE, i, HUGE_COUNT, "%s=2^20 attributes", p->name);
        if (buffer >= 0) {
            add(cases, CASE_NULL_HUGE, i, G_MAXULONG, "%s=ULONG_MAX, %s=NULL", p->name,
                desc->params[buffer].name);
        }
        break;
    case P11MUX_ROLE_MAX:
        add(cases, CASE_VALUE, i, 0, "%s=0", p->name);
        add(cases, CASE_VALUE, i, G_MAXULONG, "%s=ULONG_MAX", p->name);
        break;
    case P11MUX_ROLE_LEN_IO:
    case P11MUX_ROLE_COUNT_OUT:
        add(cases, CASE_CELL, i, 0, "*%s=0", p->name);
        add(cases, CASE_CELL, i, G_MAXULONG, "*%s=ULONG_MAX", p->name);
        break;
    case P11MUX_ROLE_FLAGS:
        add(cases, CASE_VALUE, i, G_MAXULONG, "%s=all ones", p->name);
        break;
    default:
        break;
    }
}

static GArray *
cases_for(P11muxFunctionId fn)
{
    const P11muxFunctionDesc *desc = &p11mux_functions[fn];
    GArray *cases = g_array_new(FALSE, FALSE, sizeof(Case));

    add(cases, CASE_SOUND, 0, 0, "valid");
    for (guint i = 0; i < desc->n_params; i++) {
        if (bad_args_is_pointer(&desc->params[i])) {
            add(cases, CASE_NULL, i, 0, "%s=NULL", desc->params[i].name);
        }
        add_length_cases(cases, desc, i);
        add_handle_cases(cases, &desc->params[i], i);
    }
    if (desc->n_params > 0 && desc->params[0].role == P11MUX_ROLE_INIT_ARGS) {
        for (guint k = 0; k < G_N_ELEMENTS(init_args_cases); k++) {
            add(cases, CASE_INIT_ARGS, 0, k, "%s", init_args_cases[k].what);
        }
    }
    if (desc->n_params > 0 && desc->params[0].role == P11MUX_ROLE_RESERVED) {
        add(cases, CASE_VALUE, 0, (CK_ULONG)&world, "%s=not NULL", desc->params[0].name);
    }
    return cases;
}

static void
apply(BadArgs *args, const P11muxFunctionDesc *desc, const Case *c)
{
    int buffer;

    switch (c->kind) {
    case CASE_SOUND:
        break;
    case CASE_NULL:
        args->v[c->param] = 0;
        break;
    case CASE_VALUE:
        args->v[c->param] = c->value;
        break;
    case CASE_WORLD:
        args->v[c->param] = *c->handle | c->value;
        break;
    case CASE_INIT_ARGS:
        args->init_args.flags = init_args_cases[c->value].flags;
        args->init_args.pReserved = (void *)init_args_cases[c->value].reserved_text;
        if (init_args_cases[c->value].create) {
            args->init_args.CreateMutex = fake_create_mutex;
        }
        if (init_args_cases[c->value].all_mutexes) {
            args->init_args.DestroyMutex = fake_mutex;
            args->init_args.LockMutex = fake_mutex;
            args->init_args.UnlockMutex = fake_mutex;
        }
        args->v[c->param] = (CK_ULONG)&args->init_args;
        break;
    case CASE_CELL:
        if (args->v[c->param] != 0) {
            *(CK_ULONG *)args->v[c->param] = c->value;
        }
        break;
    case CASE_HUGE_IN:
        buffer = bad_args_buffer_of(desc, c->param);
        args->v[c->param] = c->value;
        if (buffer >= 0) {
            args->v[buffer] = (CK_ULONG)huge_buffer;
        }
        break;
    case CASE_NULL_HUGE:
        buffer = bad_args_buffer_of(desc, c->param);
        args->v[c->param] = c->value;
        if (buffer >= 0) {
            args->v[buffer] = 0;
        }
        break;
    case CASE_HUGE_TEMPLATE:
        buffer = bad_args_buffer_of(desc, c->param);
        args->v[c->param] = c->value;
        if (buffer >= 0) {
            args->v[buffer] = (CK_ULONG)huge_template;
        }
        break;
    }
}

/* ------------------------------------------------- operations to continue */

/* The C_*Init calls a function continues (NULL-terminated), e.g. C_Sign:
 * C_SignInit; C_EncryptMessageNext: C_MessageEncryptInit. */
static void
inits_of(const char *name, const char *inits[3])
{
    static const struct {
        const char *prefix, *init1, *init2;
    } table[] = {
        {"C_DigestEncrypt", "C_DigestInit", "C_EncryptInit"},
        {"C_DecryptDigest", "C_DecryptInit", "C_DigestInit"},
        {"C_SignEncrypt", "C_SignInit", "C_EncryptInit"},
        {"C_DecryptVerify", "C_DecryptInit", "C_VerifyInit"},
        {"C_EncryptMessage", "C_MessageEncryptInit", NULL},
        {"C_MessageEncryptFinal", "C_MessageEncryptInit", NULL},
        {"C_DecryptMessage", "C_MessageDecryptInit", NULL},
        {"C_MessageDecryptFinal", "C_MessageDecryptInit", NULL},
        {"C_SignMessage", "C_MessageSignInit", NULL},
        {"C_MessageSignFinal", "C_MessageSignInit", NULL},
        {"C_VerifyMessage", "C_MessageVerifyInit", NULL},
        {"C_MessageVerifyFinal", "C_MessageVerifyInit", NULL},
        {"C_FindObjects", "C_FindObjectsInit", NULL},
        {"C_DigestKey", "C_DigestInit", NULL},
        {"C_GetOperationState", "C_DigestInit", NULL},
        {"C_SignRecover", "C_SignRecoverInit", NULL},
        {"C_VerifyRecover", "C_VerifyRecoverInit", NULL},
        {"C_Encrypt", "C_EncryptInit", NULL},
        {"C_Decrypt", "C_DecryptInit", NULL},
        {"C_Digest", "C_DigestInit", NULL},
        {"C_Sign", "C_SignInit", NULL},
        {"C_Verify", "C_VerifyInit", NULL},
    };

    inits[0] = inits[1] = inits[2] = NULL;
    if (g_str_has_suffix(name, "Init")) {
        return;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(table); i++) {
        if (g_str_has_prefix(name, table[i].prefix)) {
            inits[0] = table[i].init1;
            inits[1] = table[i].init2;
            return;
        }
    }
}

static void
start_operations(P11muxFunctionId fn)
{
    const char *inits[3];
    BadArgs args;

    inits_of(p11mux_functions[fn].name, inits);
    for (guint i = 0; inits[i] != NULL; i++) {
        P11muxFunctionId init = function_id(inits[i]);

        build(&args, init);
        call_fn(init, args.v);
    }
}

/* ------------------------------------------------------------- running */

static guint n_calls, n_violations;
static GString *violations_text;

static void
verdict(P11muxFunctionId fn, const char *what, CK_RV rv, CK_RV must_be)
{
    gboolean ok = must_be != (CK_RV)-1 ? rv == must_be : spec_rv_allowed(fn, rv);

    n_calls++;
    printf("%-24s %-44s %-36s %s\n", p11mux_functions[fn].name, what, spec_rv_name(rv),
           ok ? "ok" : "NOT ALLOWED");
    if (!ok) {
        n_violations++;
        g_string_append_printf(violations_text, "%s %s: %s\n", p11mux_functions[fn].name, what,
                               spec_rv_name(rv));
    }
}

static void
run_function(P11muxFunctionId fn)
{
    GArray *cases;
    CK_INFO info;
    BadArgs *args = g_new0(BadArgs, 1);

    renew_world();
    cases = cases_for(fn);
    for (guint k = 0; k < cases->len; k++) {
        const Case *c = &g_array_index(cases, Case, k);
        CK_RV rv;

        renew_world();
        if (fn == P11MUX_FN_C_Initialize && k > 0) {
            /* the first case sees p11mux initialised; the others do not */
            ck_assert_uint_eq(p11->C_Finalize(NULL), CKR_OK);
        }
        start_operations(fn);
        build(args, fn);
        apply(args, &p11mux_functions[fn], c);
        rv = call_fn(fn, args->v);
        verdict(fn, c->what, rv, (CK_RV)-1);
        if (fn == P11MUX_FN_C_OpenSession && rv == CKR_OK && c->kind != CASE_NULL) {
            CK_SESSION_INFO session_info;

            /* the new session is on the slot asked for */
            ck_assert_uint_eq(
                p11->C_GetSessionInfo(*(CK_SESSION_HANDLE *)args->v[4], &session_info), CKR_OK);
            ck_assert_uint_eq(session_info.slotID, args->v[0]);
        }
        if (fn != P11MUX_FN_C_Finalize && fn != P11MUX_FN_C_Initialize) {
            ck_assert_uint_eq(p11->C_GetInfo(&info), CKR_OK);
        }
    }
    g_array_unref(cases);
    g_free(args);
}

static gboolean
needs_no_initialization(P11muxFunctionId fn)
{
    return fn == P11MUX_FN_C_GetFunctionList || fn == P11MUX_FN_C_GetInterfaceList ||
           fn == P11MUX_FN_C_GetInterface;
}

/* Every function but C_Initialize, with sound-looking arguments, while p11mux
 * is not initialised. */
static void
run_uninitialized(const char *when)
{
    BadArgs *args = g_new0(BadArgs, 1);

    for (guint fn = 0; fn < P11MUX_FN_COUNT; fn++) {
        CK_RV rv;

        if (fn == P11MUX_FN_C_Initialize) {
            continue;
        }
        build(args, fn);
        rv = call_fn(fn, args->v);
        verdict(fn, when, rv, needs_no_initialization(fn) ? CKR_OK : CKR_CRYPTOKI_NOT_INITIALIZED);
    }
    g_free(args);
}

static void
run_matrix(const char *global)
{
    HarnessOptions options = {global, NULL, NULL};
    CK_INTERFACE_PTR interface;

    violations_text = g_string_new(NULL);
    n_calls = n_violations = 0;
    ck_assert(spec_rv_check_table());
    harness = harness_new(&options);
    ck_assert(harness != NULL);
    ck_assert_uint_eq(harness->p11_3->C_GetInterface(NULL, NULL, &interface, 0), CKR_OK);
    p11 = harness->p11_3;

    /* handles from a world that does not exist yet: all zero */
    memset(&world, 0, sizeof world);
    run_uninitialized("before C_Initialize");
    ck_assert_uint_eq(p11->C_Initialize(NULL), CKR_OK);
    for (guint fn = 0; fn < P11MUX_FN_COUNT; fn++) {
        run_function(fn);
    }
    renew_world();
    ck_assert_uint_eq(p11->C_Finalize(NULL), CKR_OK);
    run_uninitialized("after C_Finalize (stale handles)");
    printf("%u calls, %u answers the specification does not allow\n", n_calls, n_violations);
    fflush(stdout);
    /* p11mux works again */
    ck_assert_uint_eq(p11->C_Initialize(NULL), CKR_OK);
    ck_assert_uint_eq(p11->C_Finalize(NULL), CKR_OK);
    ck_assert_msg(n_violations == 0, "answers the specification does not allow:\n%s",
                  violations_text->str);
    harness_free(harness);
    g_string_free(violations_text, TRUE);
}

START_TEST(test_bad_input_matrix)
{
    run_matrix(NULL);
}
END_TEST

/* Every line of the trace is one valid JSON object. */
static void
check_json_trace(const char *path)
{
    g_autofree char *contents = NULL;
    g_auto(GStrv) lines = NULL;
    guint n = 0;

    ck_assert(g_file_get_contents(path, &contents, NULL, NULL));
    lines = g_strsplit(contents, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        g_autoptr(GError) error = NULL;

        if (*lines[i] == '\0') {
            continue;
        }
        ck_assert_msg(p11mux_trace_json_line_is_object(lines[i], strlen(lines[i]), &error),
                      "trace line %u: %s: %s", i + 1, error->message, lines[i]);
        n++;
    }
    printf("%u trace records, every one valid JSON\n", n);
    ck_assert_uint_gt(n, 1000);
}

static void
run_traced(const char *policy)
{
    g_autofree char *dir = g_dir_make_tmp("p11mux-matrix-trace-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "trace.json", NULL);
    g_autofree char *global =
        g_strdup_printf("trace = file:%s\ntrace-format = json\ntrace-data = hex\n%s", path, policy);

    run_matrix(global);
    check_json_trace(path);
    g_unlink(path);
    g_rmdir(dir);
}

START_TEST(test_bad_input_matrix_traced)
{
    run_traced("");
}
END_TEST

/* Every rule of the policy engine, none that hides the matrix's own tokens,
 * objects or mechanisms. */
START_TEST(test_bad_input_matrix_policy)
{
    run_traced("policy = matrix\n"
               "[policy matrix]\n"
               "mechanisms = CKM_SHA256 CKM_SHA256_HMAC CKM_VENDOR_DEFINED+1 "
               "CKM_GENERIC_SECRET_KEY_GEN CKM_AES_KEY_GEN\n"
               "deny-mechanisms = CKM_MD5* CKM_SHA_1\n"
               "min-key-bits = generic:64 aes:128\n"
               "objects = pkcs11:type=secret-key pkcs11:type=data\n"
               "deny-objects = pkcs11:object=hidden\n"
               "deny-functions = C_InitToken C_SetPIN\n"
               "force-sensitive = true\n");
}
END_TEST

static void
setup(void)
{
    const char *mib = g_getenv("P11MUX_MATRIX_HUGE_MIB");

    huge_length = (CK_ULONG)(mib != NULL ? MAX(g_ascii_strtoull(mib, NULL, 10), 1) : 64) << 20;
    huge_buffer = mmap(NULL, huge_length, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ck_assert(huge_buffer != MAP_FAILED);
    huge_template = g_new0(CK_ATTRIBUTE, HUGE_COUNT);
    for (CK_ULONG i = 0; i < HUGE_COUNT; i++) {
        huge_template[i].type = CKA_LABEL;
    }
}

static void
teardown(void)
{
    munmap(huge_buffer, huge_length);
    g_free(huge_template);
}

int
main(void)
{
    Suite *suite = suite_create("bad-input");
    TCase *tcase = tcase_create("matrix");
    SRunner *runner;
    int failed;

    tcase_add_checked_fixture(tcase, setup, teardown);
    tcase_set_timeout(tcase, 1200);
    tcase_add_test(tcase, test_bad_input_matrix);
    tcase_add_test(tcase, test_bad_input_matrix_traced);
    tcase_add_test(tcase, test_bad_input_matrix_policy);
    suite_add_tcase(suite, tcase);
    runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
