/*
 * Fuzz target: call sequences through p11mux (its function list, linked in)
 * over two copies of the mock backend (mock-a, 3.0, slots 1 and 2; mock-b,
 * 2.40, slot 7; each with an HMAC key).  An input is up to 48 operations:
 * a PKCS #11 call chosen from the function table with arguments made by
 * parameter role (fuzz-args.h), handles mostly from those seen so far; or a
 * token removal or insertion, a scripted backend failure, a
 * C_Finalize/C_Initialize cycle.
 *
 * Invariants (abort on violation):
 * - every return value is one the specification allows for the function
 *   (tests/lib/spec-rv.h);
 * - handles never cross backends: a call routed by a session or slot of
 *   one backend never reaches the other (the mocks count calls), and
 *   C_GetSessionInfo reports the slot a session was opened on;
 * - nothing leaks (libFuzzer's leak check; valgrind/ASan on the replay);
 * - after C_Finalize no backend session is left open.
 *
 * The input's first byte chooses the pipeline: no hook (the generated
 * forwarders' plain path), or trace and a policy attached (the hooked one).
 * Every input starts from the same device state: C_Initialize names one of
 * two identical p11mux configurations in turn, whose backends name one of
 * two identical mock configurations, and a mock rebuilds its device when
 * its configuration file changes.
 */
#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-args.h"
#include "harness.h"
#include "scratch.h"
#include "spec-rv.h"

#define MAX_OPS 48
#define MAX_HANDLES 64

static char *dir;
/* [variant * 2 + n]: variant 0 no hook (the plain path), 1 trace and a
 * policy (the hooked pipeline); n alternates so that the mocks reload */
static char *p11mux_conf[4];
static guint variant; /* from the input's first byte: a crash replays alike */
static HarnessMock mocks[2];
static guint round_number;

/* pools for one input */
static CK_ULONG sessions[MAX_HANDLES];
static int session_backend[MAX_HANDLES]; /* index into mocks */
static CK_SLOT_ID session_slot[MAX_HANDLES];
static guint n_sessions;
static CK_ULONG slots[8];
static int slot_backend[8];
static guint n_slots;
static CK_ULONG objects[MAX_HANDLES];
static guint n_objects;

/* ------------------------------------------------------------ set-up */

static void
write_file(const char *name, const char *text)
{
    g_autofree char *path = scratch_write(dir, name, text, -1, 0700, -1, NULL);

    if (path == NULL) {
        fuzz_fail("cannot write %s in %s", name, dir);
    }
}

/* trace and a policy: every hook of the pipeline attached */
static const char hooks_text[] = "trace = file:/dev/null\ntrace-format = json\ntrace-data = hex\n"
                                 "policy = fuzz\n[policy fuzz]\ndeny-mechanisms = CKM_MD5*\n"
                                 "min-key-bits = generic:64 aes:128\n"
                                 "deny-objects = pkcs11:object=hidden\n"
                                 "deny-functions = C_InitToken\nforce-sensitive = true\n";

static void
cleanup(void)
{
    scratch_remove_tree(dir);
}

static void
init_once(void)
{
    if (dir != NULL) {
        return;
    }
    dir = scratch_make_dir(NULL, "p11mux-fuzz-calls-XXXXXX", 0700, NULL);
    if (dir == NULL) {
        fuzz_fail("no temporary directory");
    }
    atexit(cleanup);
    for (guint k = 0; k < 4; k++) {
        guint n = k % 2;
        g_autofree char *text_a = harness_mock_conf('a', "manufacturer = mock-a\n");
        g_autofree char *text_b = harness_mock_conf('b', "manufacturer = mock-b\n");
        g_autofree char *name_a = g_strdup_printf("mock-a-%u.conf", n);
        g_autofree char *name_b = g_strdup_printf("mock-b-%u.conf", n);
        g_autofree char *conf_name = g_strdup_printf("p11mux-%u.conf", k);
        g_autofree char *text = NULL;

        write_file(name_a, text_a);
        write_file(name_b, text_b);
        text = g_strdup_printf("[global]\nuser-config = none\n%s"
                               "[backend a]\nmodule = %s/mock-a.so\n"
                               "init-reserved = config=%s/%s\n"
                               "[backend b]\nmodule = %s/mock-b.so\n"
                               "init-reserved = config=%s/%s\n",
                               k >= 2 ? hooks_text : "", dir, dir, name_a, dir, dir, name_b);
        write_file(conf_name, text);
        p11mux_conf[k] = g_build_filename(dir, conf_name, NULL);
    }
    g_setenv("XDG_CONFIG_HOME", dir, TRUE);
    g_unsetenv("P11MUX_CONF");
    if (!harness_mock_open(&mocks[0], dir, "mock-a", NULL) ||
        !harness_mock_open(&mocks[1], dir, "mock-b", NULL)) {
        fuzz_fail("cannot load the mock");
    }
    if (!spec_rv_check_table()) {
        fuzz_fail("the table of return values is broken");
    }
}

/* ------------------------------------------------------------- checks */

/*
 * Answers of the mock that the specification's lists lack: p11mux passes
 * a backend's answer through unchanged, so they are tolerated
 * when the backend was reached, and reported to the mock's owners.  A
 * single-part C_Encrypt (...) after an Update: CKR_OPERATION_ACTIVE
 * (SoftHSM2 says CKR_OPERATION_NOT_INITIALIZED).
 */
static const struct {
    P11muxFunctionId fn;
    CK_RV rv;
} mock_deviations[] = {
    {P11MUX_FN_C_Encrypt, CKR_OPERATION_ACTIVE}, {P11MUX_FN_C_Decrypt, CKR_OPERATION_ACTIVE},
    {P11MUX_FN_C_Digest, CKR_OPERATION_ACTIVE},  {P11MUX_FN_C_Sign, CKR_OPERATION_ACTIVE},
    {P11MUX_FN_C_Verify, CKR_OPERATION_ACTIVE},
};

static gboolean
is_mock_deviation(P11muxFunctionId fn, CK_RV rv)
{
    for (gsize i = 0; i < G_N_ELEMENTS(mock_deviations); i++) {
        if (mock_deviations[i].fn == fn && mock_deviations[i].rv == rv) {
            return TRUE;
        }
    }
    return FALSE;
}

static CK_RV
checked(P11muxFunctionId fn, CK_RV rv)
{
    if (!spec_rv_allowed(fn, rv)) {
        fuzz_fail("%s answered %s, which the specification does not allow",
                  p11mux_functions[fn].name, spec_rv_name(rv));
    }
    return rv;
}

#define CALL(name, ...) checked(P11MUX_FN_##name, p11mux_function_list_3_2.name(__VA_ARGS__))

static void
initialize(void)
{
    CK_C_INITIALIZE_ARGS args = {0};
    g_autofree char *reserved =
        g_strdup_printf("config=%s", p11mux_conf[variant * 2 + round_number % 2]);

    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = reserved;
    if (CALL(C_Initialize, &args) != CKR_OK) {
        fuzz_fail("C_Initialize failed");
    }
}

/* The slots and which backend each belongs to (by manufacturer). */
static void
refresh_slots(void)
{
    CK_SLOT_ID list[8];
    CK_ULONG count = G_N_ELEMENTS(list);
    CK_SLOT_INFO info;

    n_slots = 0;
    if (CALL(C_GetSlotList, CK_FALSE, list, &count) != CKR_OK) {
        return;
    }
    for (CK_ULONG i = 0; i < count && n_slots < G_N_ELEMENTS(slots); i++) {
        if (CALL(C_GetSlotInfo, list[i], &info) != CKR_OK) {
            continue;
        }
        slots[n_slots] = list[i];
        slot_backend[n_slots] = memcmp(info.manufacturerID, "mock-b", 6) == 0;
        n_slots++;
    }
}

static int
backend_of_slot(CK_SLOT_ID slot)
{
    for (guint i = 0; i < n_slots; i++) {
        if (slots[i] == slot) {
            return slot_backend[i];
        }
    }
    return -1;
}

static int
backend_of_session(CK_SESSION_HANDLE session, CK_SLOT_ID *slot)
{
    for (guint i = n_sessions; i-- > 0;) {
        if (sessions[i] == session) {
            *slot = session_slot[i];
            return session_backend[i];
        }
    }
    return -1;
}

/* The backend a call is routed to by its first session or slot argument,
 * -1 when the handle is not one of ours. */
static int
routed_backend(const FuzzCall *call, CK_SLOT_ID *slot)
{
    const P11muxFunctionDesc *desc = &p11mux_functions[call->fn];

    for (guint i = 0; i < desc->n_params; i++) {
        if (desc->params[i].role == P11MUX_ROLE_SESSION) {
            return backend_of_session(call->v[i], slot);
        }
        if (desc->params[i].role == P11MUX_ROLE_SLOT) {
            *slot = call->v[i];
            return backend_of_slot(call->v[i]);
        }
    }
    return -1;
}

static void
add_object(CK_OBJECT_HANDLE object)
{
    if (n_objects < MAX_HANDLES) {
        objects[n_objects++] = object;
    }
}

/* Remember the handles a successful call gave. */
static void
collect(const FuzzCall *call, int backend, CK_SLOT_ID slot)
{
    const P11muxFunctionDesc *desc = &p11mux_functions[call->fn];

    for (guint i = 0; i < desc->n_params; i++) {
        const P11muxParamDesc *p = &desc->params[i];

        if (call->v[i] == 0) {
            continue;
        }
        if (p->role == P11MUX_ROLE_SESSION_OUT && n_sessions < MAX_HANDLES) {
            sessions[n_sessions] = *(CK_SESSION_HANDLE *)call->v[i];
            session_slot[n_sessions] = slot;
            session_backend[n_sessions] = backend;
            n_sessions++;
        } else if (p->role == P11MUX_ROLE_OBJECT_OUT) {
            add_object(*(CK_OBJECT_HANDLE *)call->v[i]);
        } else if (p->role == P11MUX_ROLE_OBJECTS_OUT && call->v[p->ref] != 0) {
            CK_ULONG n = *(CK_ULONG *)call->v[p->ref];

            for (CK_ULONG k = 0; k < n && k < 16; k++) {
                add_object(((CK_OBJECT_HANDLE *)call->v[i])[k]);
            }
        }
    }
}

/* The session's slot as p11mux reports it is the one it was opened on. */
static void
check_session_info(const FuzzCall *call, CK_RV rv)
{
    CK_SLOT_ID slot;

    if (call->fn != P11MUX_FN_C_GetSessionInfo || rv != CKR_OK || call->v[1] == 0) {
        return;
    }
    if (backend_of_session(call->v[0], &slot) >= 0 &&
        ((CK_SESSION_INFO *)call->v[1])->slotID != slot) {
        fuzz_fail("session 0x%lx opened on slot %lu reports slot %lu", call->v[0], slot,
                  ((CK_SESSION_INFO *)call->v[1])->slotID);
    }
}

static void
one_call(FuzzInput *in, P11muxFunctionId fn)
{
    FuzzPools pools = {sessions, n_sessions, slots, n_slots, objects, n_objects, FALSE, TRUE};
    const char *name = p11mux_functions[fn].name;
    CK_ULONG own_before = 0, other_before = 0;
    CK_SLOT_ID slot = 0;
    FuzzCall call;
    int backend;
    CK_RV rv;

    fuzz_call_build(&call, fn, in, &pools);
    backend = routed_backend(&call, &slot);
    if (backend >= 0) {
        own_before = mocks[backend].call_count(name);
        other_before = mocks[!backend].call_count(name);
    }
    rv = fuzz_call_invoke(&call, &p11mux_function_list_3_2);
    if (!(backend >= 0 && mocks[backend].call_count(name) != own_before &&
          is_mock_deviation(fn, rv))) {
        checked(fn, rv);
    }
    if (backend >= 0 && mocks[!backend].call_count(name) != other_before) {
        fuzz_fail("%s for a handle of backend %d reached the other backend", name, backend);
    }
    check_session_info(&call, rv);
    if (rv == CKR_OK) {
        collect(&call, backend, slot);
    }
    fuzz_call_clear(&call);
}

/* ---------------------------------------------------------- specials */

static const char *const failures[] = {
    "C_Sign:CKR_DEVICE_REMOVED",
    "C_OpenSession:CKR_DEVICE_ERROR:2",
    "C_GetSlotList:CKR_HOST_MEMORY",
    "C_FindObjects:CKR_GENERAL_ERROR",
    "C_Digest:CKR_SESSION_CLOSED:1+",
    "C_GetSessionInfo:CKR_DEVICE_REMOVED",
    "",
};

static void
special(FuzzInput *in)
{
    guint choice = fuzz_below(in, 8);
    HarnessMock *mock = &mocks[fuzz_below(in, 2)];
    CK_SLOT_ID real = mock == &mocks[1] ? 7 : 1 + fuzz_below(in, 2);

    switch (choice) {
    case 0:
        mock->remove_token(real);
        break;
    case 1:
        mock->insert_token(real);
        break;
    case 2:
        mock->set_failures(failures[fuzz_below(in, G_N_ELEMENTS(failures))]);
        break;
    case 3:
        /* stale handles from here on */
        CALL(C_Finalize, NULL);
        initialize();
        refresh_slots();
        break;
    default:
        refresh_slots();
        break;
    }
}

static void
finish(void)
{
    if (CALL(C_Finalize, NULL) != CKR_OK) {
        fuzz_fail("C_Finalize failed");
    }
    for (guint i = 0; i < 2; i++) {
        if (mocks[i].open_sessions() != 0) {
            fuzz_fail("%lu sessions left open in backend %u after C_Finalize",
                      mocks[i].open_sessions(), i);
        }
        mocks[i].set_failures(NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = {data, size, 0};

    init_once();
    round_number++;
    variant = fuzz_byte(&in) % 2;
    n_sessions = n_objects = 0;
    add_object(0x500);
    add_object(0x501);
    initialize();
    refresh_slots();
    for (guint op = 0; op < MAX_OPS && !fuzz_done(&in); op++) {
        guint8 b = fuzz_byte(&in);
        P11muxFunctionId fn = fuzz_below(&in, P11MUX_FN_COUNT);

        if (b % 16 == 0 || fn == P11MUX_FN_C_Initialize || fn == P11MUX_FN_C_Finalize) {
            special(&in);
        } else {
            one_call(&in, fn);
        }
    }
    finish();
    return 0;
}
