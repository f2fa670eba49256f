/*
 * The bad-input matrix over any module: run by tests/integration/bad-input.sh
 * over p11mux.so in front of SoftHSM2, NSS softoken and p11-kit-trust, in
 * process and through `p11-kit server --provider p11mux.so` and
 * p11-kit-client.so.
 *
 *     bad-input-real MODULE [--client] [--quirk FUNCTION-PREFIX:CKR_NAME]...
 *
 * Every function of the table (p11mux_functions[]) is called on every
 * slot with a token: with sound arguments built from each parameter's role,
 * with NULL for each pointer parameter, with 0 and ULONG_MAX (its buffer
 * NULL) for each length and count, with an offered output size of 0, with
 * session, slot, object and key handles that are 0, unknown, stale or all
 * ones, with all flags set and a reserved pointer that is not NULL.  A
 * digest is started before each C_Digest* call, so that a NULL there meets
 * an active operation.  Every answer must be one the specification allows
 * (spec-rv.h), no output buffer may be written past the size offered for it
 * (each buffer is filled with a canary first: NSS softoken 3.87 writes its
 * whole mechanism list whatever *pulCount says), and the module must still
 * answer C_GetInfo after each
 * function (through the server: its child, which holds p11mux and the
 * backend, is still alive).  A crash kills the program: the script says so.
 *
 * Left out, because a real token would not survive them: the sound and
 * value cases of C_InitToken, C_InitPIN and C_SetPIN (the NULL cases run),
 * and lengths that lie about a real buffer (every module trusts them).
 * --client: the inputs p11-kit-client.so 0.24 itself cannot take (it
 * reads them, or asserts, before the server sees anything) are not tried:
 * client_skips[] below.
 *
 * --quirk FUNCTION-PREFIX:CKR_NAME (repeatable): an answer a backend gives
 * where the specification says otherwise (p11mux passes a backend's codes
 * on unchanged); printed as "backend's own", not counted.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "bad-args.h"
#include "call-by-id.h"
#include "p11mux-functions.h"
#include "spec-rv.h"

#define CANARY 0xa5

static CK_FUNCTION_LIST_3_2_PTR p11;
static gboolean is_3_0, is_3_2, via_client;
static GPtrArray *quirks; /* "C_EncryptInit:CKR_OBJECT_HANDLE_INVALID" */

/* What p11-kit-client.so 0.24 cannot take: function, parameter made NULL
 * ("" for every one), or C_Initialize's pointing pReserved. */
static const struct {
    const char *function, *param;
} client_skips[] = {
    {"C_InitToken", "pLabel"},
};
static guint n_calls, n_violations;

typedef struct {
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE session, stale;
} World;

static void
sound_template(BadArgs *args, guint i, P11muxFunctionId fn, CK_ULONG *count)
{
    if (fn == P11MUX_FN_C_GetAttributeValue) {
        args->templates[i][0] = (CK_ATTRIBUTE){CKA_LABEL, args->buffers[i], 64};
        *count = 1;
        return;
    }
    bad_args_data_object(args, i, count);
}

/* Sound arguments for fn on the world's slot and session; every handle 1,
 * every buffer filled with the canary. */
static void
build(BadArgs *args, P11muxFunctionId fn, const World *world)
{
    BadArgsWorld sound = {.slot = world->slot,
                          .session = world->session,
                          .key = 1,
                          .object = 1,
                          .label = "",
                          .fill = CANARY,
                          .template_for = sound_template};

    bad_args_build(args, fn, &sound);
}

/* ------------------------------------------------------------ the cases */

typedef enum {
    CASE_SOUND,
    CASE_NULL,      /* param NULL */
    CASE_VALUE,     /* param = value */
    CASE_CELL,      /* *param = value */
    CASE_NULL_HUGE, /* param (a length or count) ULONG_MAX, its buffer NULL */
    CASE_STALE,     /* param = a closed session */
    CASE_RESERVED,  /* C_Initialize: pReserved pointing nowhere */
} CaseKind;

typedef struct {
    CaseKind kind;
    guint param;
    CK_ULONG value;
    char what[80];
} Case;

static void add(GArray *cases, CaseKind kind, guint param, CK_ULONG value, const char *format, ...)
    G_GNUC_PRINTF(5, 6);

static void
add(GArray *cases, CaseKind kind, guint param, CK_ULONG value, const char *format, ...)
{
    Case c = {kind, param, value, ""};
    va_list ap;

    va_start(ap, format);
    g_vsnprintf(c.what, sizeof c.what, format, ap);
    va_end(ap);
    g_array_append_val(cases, c);
}

/* The token-changing functions: only their NULL cases run. */
static gboolean
changes_pins(P11muxFunctionId fn)
{
    return fn == P11MUX_FN_C_InitToken || fn == P11MUX_FN_C_InitPIN || fn == P11MUX_FN_C_SetPIN;
}

static void
add_value_cases(GArray *cases, const P11muxFunctionDesc *desc, guint i)
{
    const P11muxParamDesc *p = &desc->params[i];
    const char *n = p->name;

    switch (p->role) {
    case P11MUX_ROLE_SESSION:
        add(cases, CASE_VALUE, i, 0, "%s=0", n);
        add(cases, CASE_STALE, i, 0, "%s=stale", n);
        add(cases, CASE_VALUE, i, G_MAXULONG, "%s=all ones", n);
        break;
    case P11MUX_ROLE_SLOT:
        add(cases, CASE_VALUE, i, 0x7ffffffe, "%s=unknown", n);
        add(cases, CASE_VALUE, i, G_MAXULONG, "%s=all ones", n);
        break;
    case P11MUX_ROLE_KEY:
    case P11MUX_ROLE_WRAPPING_KEY:
    case P11MUX_ROLE_UNWRAPPING_KEY:
    case P11MUX_ROLE_EXPORTED_KEY:
    case P11MUX_ROLE_OBJECT:
        add(cases, CASE_VALUE, i, 0, "%s=0", n);
        add(cases, CASE_VALUE, i, G_MAXULONG, "%s=all ones", n);
        break;
    case P11MUX_ROLE_LEN:
    case P11MUX_ROLE_COUNT:
        add(cases, CASE_VALUE, i, 0, "%s=0", n);
        if (bad_args_buffer_of(desc, i) >= 0) {
            add(cases, CASE_NULL_HUGE, i, G_MAXULONG, "%s=ULONG_MAX, %s=NULL", n,
                desc->params[bad_args_buffer_of(desc, i)].name);
        }
        break;
    case P11MUX_ROLE_MAX:
        add(cases, CASE_VALUE, i, 0, "%s=0", n);
        break;
    case P11MUX_ROLE_LEN_IO:
    case P11MUX_ROLE_COUNT_OUT:
        add(cases, CASE_CELL, i, 0, "*%s=0", n);
        break;
    case P11MUX_ROLE_FLAGS:
        add(cases, CASE_VALUE, i, G_MAXULONG, "%s=all ones", n);
        break;
    case P11MUX_ROLE_RESERVED:
        add(cases, CASE_VALUE, i, (CK_ULONG)&n_calls, "%s=not NULL", n);
        break;
    default:
        break;
    }
}

static gboolean
client_cannot(P11muxFunctionId fn, const char *param)
{
    for (gsize i = 0; via_client && i < G_N_ELEMENTS(client_skips); i++) {
        if (strcmp(client_skips[i].function, p11mux_functions[fn].name) == 0 &&
            (*client_skips[i].param == '\0' || strcmp(client_skips[i].param, param) == 0)) {
            return TRUE;
        }
    }
    return FALSE;
}

static GArray *
cases_for(P11muxFunctionId fn)
{
    const P11muxFunctionDesc *desc = &p11mux_functions[fn];
    GArray *cases = g_array_new(FALSE, FALSE, sizeof(Case));

    if (!changes_pins(fn)) {
        add(cases, CASE_SOUND, 0, 0, "valid");
    }
    for (guint i = 0; i < desc->n_params; i++) {
        if (bad_args_is_pointer(&desc->params[i]) && !client_cannot(fn, desc->params[i].name)) {
            add(cases, CASE_NULL, i, 0, "%s=NULL", desc->params[i].name);
        }
        if (!changes_pins(fn)) {
            add_value_cases(cases, desc, i);
        }
    }
    if (fn == P11MUX_FN_C_Initialize && !via_client) {
        add(cases, CASE_RESERVED, 0, 0, "pInitArgs={pReserved=(void *)1}");
    }
    return cases;
}

static void
apply(BadArgs *args, const P11muxFunctionDesc *desc, const Case *c, const World *world)
{
    int buffer = bad_args_buffer_of(desc, c->param);

    switch (c->kind) {
    case CASE_SOUND:
        break;
    case CASE_NULL:
        args->v[c->param] = 0;
        break;
    case CASE_VALUE:
        args->v[c->param] = c->value;
        break;
    case CASE_STALE:
        args->v[c->param] = world->stale;
        break;
    case CASE_CELL:
        if (args->v[c->param] != 0) {
            *(CK_ULONG *)args->v[c->param] = c->value;
        }
        break;
    case CASE_NULL_HUGE:
        args->v[c->param] = c->value;
        args->v[buffer] = 0;
        break;
    case CASE_RESERVED:
        args->init_args.pReserved = (void *)1;
        args->v[0] = (CK_ULONG)&args->init_args;
        break;
    }
}

/* ------------------------------------------------------------- running */

static CK_INFO info;

static void
initialize(void)
{
    CK_C_INITIALIZE_ARGS args = {0};
    CK_RV rv;

    args.flags = CKF_OS_LOCKING_OK;
    rv = p11->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        g_error("C_Initialize: %s", spec_rv_name(rv));
    }
}

/* A fresh session on slot, and a stale one; initialised again if a case
 * finalised. */
static void
renew(World *world)
{
    if (p11->C_GetInfo(&info) == CKR_CRYPTOKI_NOT_INITIALIZED) {
        initialize();
    }
    p11->C_CloseAllSessions(world->slot);
    world->session = world->stale = 0;
    if (p11->C_OpenSession(world->slot, CKF_SERIAL_SESSION, NULL, NULL, &world->stale) == CKR_OK) {
        p11->C_CloseSession(world->stale);
    }
    if (p11->C_OpenSession(world->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                           &world->session) != CKR_OK) {
        p11->C_OpenSession(world->slot, CKF_SERIAL_SESSION, NULL, NULL, &world->session);
    }
}

static gboolean
is_quirk(P11muxFunctionId fn, CK_RV rv)
{
    for (guint i = 0; i < quirks->len; i++) {
        const char *quirk = g_ptr_array_index(quirks, i);
        const char *colon = strchr(quirk, ':');

        if (colon != NULL && strncmp(p11mux_functions[fn].name, quirk, colon - quirk) == 0 &&
            strcmp(colon + 1, spec_rv_name(rv)) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

static void
verdict(P11muxFunctionId fn, CK_SLOT_ID slot, const char *what, CK_RV rv)
{
    gboolean ok = spec_rv_allowed(fn, rv);
    gboolean quirk = !ok && is_quirk(fn, rv);

    n_calls++;
    printf("slot %-10lu %-22s %-40s %-34s %s\n", (unsigned long)slot, p11mux_functions[fn].name,
           what, spec_rv_name(rv),
           ok      ? "ok"
           : quirk ? "backend's own"
                   : "NOT ALLOWED");
    n_violations += ok || quirk ? 0 : 1;
}

/* The bytes offered in each output buffer of args (G_MAXSIZE: not checked). */
static void
offered_sizes(const BadArgs *args, const P11muxFunctionDesc *desc, gsize *offered)
{
    for (guint i = 0; i < desc->n_params; i++) {
        const P11muxParamDesc *p = &desc->params[i];
        gsize size = args_element_size(p->role);
        CK_ULONG n;

        offered[i] = G_MAXSIZE;
        if (size == 0 || args->v[i] != (CK_ULONG)args->buffers[i] || args->v[p->ref] == 0) {
            continue;
        }
        n = desc->params[p->ref].role == P11MUX_ROLE_LEN ? args->v[p->ref]
                                                         : *(const CK_ULONG *)args->v[p->ref];
        offered[i] = n < BAD_ARGS_BUFFER_SIZE / size ? n * size : BAD_ARGS_BUFFER_SIZE;
    }
}

/* Whether every byte past what was offered still holds the canary. */
static gboolean
kept_in_bounds(const BadArgs *args, const P11muxFunctionDesc *desc, const gsize *offered)
{
    for (guint i = 0; i < desc->n_params; i++) {
        for (gsize b = offered[i]; b < BAD_ARGS_BUFFER_SIZE; b++) {
            if (args->buffers[i][b] != CANARY) {
                printf("%s wrote %s past the %zu bytes offered\n", desc->name, desc->params[i].name,
                       offered[i]);
                return FALSE;
            }
        }
    }
    return TRUE;
}

static void
run_function(P11muxFunctionId fn, World *world)
{
    GArray *cases = cases_for(fn);
    BadArgs *args = g_new0(BadArgs, 1);
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    gsize offered[CALL_BY_ID_MAX_PARAMS];
    CK_RV rv;

    for (guint k = 0; k < cases->len; k++) {
        const Case *c = &g_array_index(cases, Case, k);

        renew(world);
        if (g_str_has_prefix(p11mux_functions[fn].name, "C_Digest") &&
            fn != P11MUX_FN_C_DigestInit) {
            p11->C_DigestInit(world->session, &sha256);
        }
        build(args, fn, world);
        apply(args, &p11mux_functions[fn], c, world);
        offered_sizes(args, &p11mux_functions[fn], offered);
        rv = call_by_id(p11, fn, args->v);
        verdict(fn, world->slot, c->what, rv);
        if (!kept_in_bounds(args, &p11mux_functions[fn], offered)) {
            n_violations++;
        }
        fflush(stdout);
    }
    renew(world);
    rv = p11->C_GetInfo(&info);
    if (rv != CKR_OK) {
        printf("after %s: C_GetInfo answers %s: the module is gone\n", p11mux_functions[fn].name,
               spec_rv_name(rv));
        n_violations++;
    }
    g_array_unref(cases);
    g_free(args);
}

/* The first interface: 3.0 when the module offers it, else its 2.40 list. */
static void
open_module(const char *path)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetInterface get_interface;
    CK_C_GetFunctionList get_function_list;
    CK_INTERFACE_PTR interface = NULL;
    CK_FUNCTION_LIST_PTR list = NULL;

    if (dl == NULL) {
        g_error("dlopen %s: %s", path, dlerror());
    }
    get_interface = (CK_C_GetInterface)dlsym(dl, "C_GetInterface");
    if (get_interface != NULL && get_interface(NULL, NULL, &interface, 0) == CKR_OK &&
        interface != NULL) {
        list = interface->pFunctionList;
    } else {
        get_function_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
        if (get_function_list == NULL || get_function_list(&list) != CKR_OK) {
            g_error("%s: no function list", path);
        }
    }
    p11 = (CK_FUNCTION_LIST_3_2_PTR)list;
    is_3_0 = list->version.major >= 3;
    is_3_2 = list->version.major > 3 || (list->version.major == 3 && list->version.minor >= 2);
}

int
main(int argc, char **argv)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n_slots = G_N_ELEMENTS(slots);
    World world = {0};

    quirks = g_ptr_array_new();
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--client") == 0) {
            via_client = TRUE;
        } else if (strcmp(argv[i], "--quirk") == 0 && i + 1 < argc) {
            g_ptr_array_add(quirks, argv[++i]);
        } else {
            argc = 0;
        }
    }
    if (argc < 2) {
        fprintf(stderr, "usage: bad-input-real MODULE [--client] [--quirk FUNCTION:CKR_NAME]...\n");
        return 2;
    }
    if (!spec_rv_check_table()) {
        return 1;
    }
    open_module(argv[1]);
    initialize();
    if (p11->C_GetSlotList(CK_TRUE, slots, &n_slots) != CKR_OK || n_slots == 0) {
        fprintf(stderr, "%s: no slot with a token\n", argv[1]);
        return 1;
    }
    printf("%s: %lu slots with a token, interface %s\n", argv[1], (unsigned long)n_slots,
           is_3_2 ? "3.2" : is_3_0 ? "3.0" : "2.40");
    for (CK_ULONG s = 0; s < n_slots; s++) {
        world.slot = slots[s];
        for (guint fn = 0; fn < P11MUX_FN_COUNT; fn++) {
            const P11muxFunctionDesc *desc = &p11mux_functions[fn];

            /* only the functions the list has: a 3.0 list ends before 3.2's */
            if ((!is_3_0 && desc->major >= 3) || (!is_3_2 && desc->major == 3 && desc->minor >= 2)) {
                continue;
            }
            run_function(fn, &world);
        }
    }
    p11->C_CloseAllSessions(world.slot);
    p11->C_Finalize(NULL);
    printf("%u calls, %u answers the specification does not allow\n", n_calls, n_violations);
    return n_violations == 0 ? 0 : 1;
}
