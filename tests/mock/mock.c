/*
 * The mock PKCS #11 backend: a module p11mux's tests load instead of a real
 * token.  Its slots, tokens, objects, interface version and failures come
 * from a small GKeyFile; tests copy the .so under several names and each
 * copy is an independent instance with its own configuration and state.
 *
 * Where an instance finds its configuration, first match wins:
 *   1. config=PATH in the pReserved string of C_Initialize's
 *      CK_C_INITIALIZE_ARGS (p11mux passes a backend's init-reserved there;
 *      the path runs to the next white space).  Read by C_Initialize only,
 *      so it replaces the configuration read at load for everything after.
 *   2. the file next to the module, ".so" replaced by ".conf"
 *      (mock-a.so -> mock-a.conf; found with dladdr);
 *   3. the file named by the environment variable P11MUX_MOCK_CONF;
 *   4. built-in defaults: one slot (id 1) holding one token "mock-token",
 *      user PIN 1234, SO PIN 0000, every built-in mechanism.
 * 2-4 are read on the first call of any entry point (C_GetFunctionList,
 * C_GetInterface, ...), which is how the interface mode is known before
 * C_Initialize.  The device state (slots, tokens, token objects, PINs)
 * outlives C_Finalize, as a real token does; it is rebuilt only when a
 * different configuration file is loaded.  A malformed file is reported on
 * stderr and makes C_Initialize answer CKR_GENERAL_ERROR.
 *
 * Format (GKeyFile; comments on their own lines; unknown groups and keys are
 * errors; names of constants may also be numbers, NAME+N or 0x...):
 *
 *   [mock]
 *   interface = 3.0 | 2.40          (default 3.0)
 *   manufacturer = Mock project     (CK_INFO, CK_SLOT_INFO, CK_TOKEN_INFO)
 *   description = p11mux mock       (CK_INFO.libraryDescription)
 *   fail = FUNCTION:CKR_NAME[:N[+]] ...
 *   null-functions = C_DigestKey C_SignRecover ...
 *
 *   [slot ID]                       (ID: any CK_SLOT_ID, decimal; defaults shown;
 *                                    a file without slot groups has no slots)
 *   description = Mock slot ID
 *   removable = true
 *   token-present = true
 *   token-initialized = true
 *   token-label = mock-token-ID
 *   token-serial = ID (decimal, zero padded to 4)
 *   token-model = Mock token
 *   pin = 1234                      (empty: user PIN not initialised)
 *   so-pin = 0000                   (empty: C_InitToken accepts any SO PIN)
 *   mechanisms = NAME[:MIN:MAX[:CKF_X|CKF_Y]] ...   (default: the built-in ones)
 *
 *   [object NAME]                   (NAME: anything; order of the file)
 *   slot = ID                       (required)
 *   class = CKO_SECRET_KEY          (required)
 *   key-type = CKK_GENERIC_SECRET
 *   label = text
 *   id = hex
 *   value = hex                     (CKA_VALUE)
 *   value-text = text               (CKA_VALUE as text)
 *   token, private, sensitive, extractable, modifiable, copyable,
 *   destroyable, sign, verify, encrypt, decrypt = true | false
 *   CKA_NAME = hex                  (any other attribute, raw bytes)
 *
 * fail: FUNCTION:CKR_X fails every call of FUNCTION with CKR_X; with :N only
 * the Nth call (counted from when the rule was installed), with :N+ the Nth
 * and every later one.  The check is the first thing every implemented entry
 * point does, before any other check; a failed C_Initialize changes nothing.
 *
 * interface = 2.40: C_GetInterfaceList and C_GetInterface exist (a symbol
 * cannot vanish) but answer CKR_FUNCTION_NOT_SUPPORTED; p11mux falls back
 * to C_GetFunctionList on any error from them.  interface = 3.0: they offer
 * "PKCS 11" 3.0 (the default) and 2.40.  C_GetFunctionList always gives the
 * 2.40 list.  null-functions are NULL in both lists.
 */
#include "config.h"

#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock.h"
#include "mock-control.h"

typedef struct {
    GMutex lock;
    MockConf *conf;  /* published, immutable; NULL before the first call */
    gboolean broken; /* the configuration found could not be read */
    gboolean initialized;
    guint generation;      /* bumped by C_Initialize and C_Finalize */
    GPtrArray *fail_rules; /* MockFailRule, counters mutable */
    CK_ULONG calls[MOCK_FN_COUNT];
    guint misbehaving; /* calls hanging or sleeping without the lock */
} MockState;

static MockState state;

static const char *const function_names[MOCK_FN_COUNT] = {
#define MOCK_FUNCTION(name) #name,
#include "mock-functions.h"
#undef MOCK_FUNCTION
};

static const gsize function_offsets[MOCK_FN_COUNT] = {
#define MOCK_FUNCTION(name) G_STRUCT_OFFSET(CK_FUNCTION_LIST_3_2, name),
#include "mock-functions.h"
#undef MOCK_FUNCTION
};

/* The 2.40 list is a prefix of the 3.0 one: offsets are shared. */
G_STATIC_ASSERT(G_STRUCT_OFFSET(CK_FUNCTION_LIST_3_0, C_WaitForSlotEvent) ==
                G_STRUCT_OFFSET(CK_FUNCTION_LIST, C_WaitForSlotEvent));
G_STATIC_ASSERT(sizeof(CK_FUNCTION_LIST) ==
                G_STRUCT_OFFSET(CK_FUNCTION_LIST_3_0, C_GetInterfaceList));

/* The lists handed out: copies of the generated ones, null-functions applied. */
static CK_FUNCTION_LIST list_2_40;
static CK_FUNCTION_LIST_3_0 list_3_0;
static CK_FUNCTION_LIST_3_2 list_3_2;
static CK_CHAR interface_name[] = "PKCS 11";
static CK_INTERFACE interfaces[3];
static gsize n_interfaces; /* 3 with interface = 3.2 (newest first), else 2 */

MOCK_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount);
MOCK_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                                 CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags);

/* ------------------------------------------------------------ helpers */

void
mock_lock(void)
{
    g_mutex_lock(&state.lock);
}

void
mock_unlock(void)
{
    g_mutex_unlock(&state.lock);
}

GMutex *
mock_mutex(void)
{
    return &state.lock;
}

gboolean
mock_is_initialized(void)
{
    return state.initialized;
}

guint
mock_generation(void)
{
    return state.generation;
}

const MockConf *
mock_conf_peek(void)
{
    return state.conf;
}

const char *
mock_function_name(MockFunctionId fn)
{
    return fn < MOCK_FN_COUNT ? function_names[fn] : NULL;
}

gboolean
mock_function_id(const char *name, MockFunctionId *fn)
{
    guint i;

    for (i = 0; name != NULL && i < MOCK_FN_COUNT; i++) {
        if (strcmp(name, function_names[i]) == 0) {
            *fn = (MockFunctionId)i;
            return TRUE;
        }
    }
    return FALSE;
}

/* A fixed-size, blank-padded, unterminated PKCS #11 string field. */
void
mock_pad(CK_UTF8CHAR *field, gsize size, const char *text)
{
    gsize len = text != NULL ? strlen(text) : 0;

    memset(field, ' ', size);
    memcpy(field, text != NULL ? text : "", MIN(len, size));
}

/*
 * The output-buffer convention (PKCS #11 2.40, section 5.2): a NULL buffer
 * asks for the length (CKR_OK, *write FALSE); a short one gets
 * CKR_BUFFER_TOO_SMALL; in both cases *out_len is set to the length needed
 * and the operation stays active.  CKR_OK with *write TRUE: go ahead.
 */
CK_RV
mock_output_prepare(CK_BYTE_PTR out, CK_ULONG_PTR out_len, CK_ULONG needed, gboolean *write)
{
    *write = FALSE;
    if (out_len == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (out == NULL) {
        *out_len = needed;
        return CKR_OK;
    }
    if (*out_len < needed) {
        *out_len = needed;
        return CKR_BUFFER_TOO_SMALL;
    }
    *out_len = needed;
    *write = TRUE;
    return CKR_OK;
}

/* ------------------------------------------------- loading and publishing */

/* transfer full, nullable: "<module minus .so>.conf" when that file exists. */
static char *
config_next_to_module(void)
{
    Dl_info info;
    g_autofree char *base = NULL;
    char *path;

    if (dladdr(&state, &info) == 0 || info.dli_fname == NULL) {
        return NULL;
    }
    if (g_str_has_suffix(info.dli_fname, ".so")) {
        base = g_strndup(info.dli_fname, strlen(info.dli_fname) - 3);
    } else {
        base = g_strdup(info.dli_fname);
    }
    path = g_strconcat(base, ".conf", NULL);
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_clear_pointer(&path, g_free);
    }
    return path;
}

static void
null_function(MockFunctionId fn)
{
    gsize offset = function_offsets[fn];
    CK_VOID_PTR none = NULL;

    memcpy((char *)&list_3_2 + offset, &none, sizeof none);
    if (offset + sizeof none <= sizeof list_3_0) {
        memcpy((char *)&list_3_0 + offset, &none, sizeof none);
    }
    if (offset + sizeof none <= sizeof list_2_40) {
        memcpy((char *)&list_2_40 + offset, &none, sizeof none);
    }
}

static void
reset_function_lists(const MockConf *conf)
{
    guint i;

    list_2_40 = mock_function_list;
    list_3_0 = mock_function_list_3_0;
    list_3_2 = mock_function_list_3_2;
    for (i = 0; i < conf->null_functions->len; i++) {
        null_function(g_array_index(conf->null_functions, MockFunctionId, i));
    }
    n_interfaces = 0;
    if (conf->v32) {
        interfaces[n_interfaces++] = (CK_INTERFACE){interface_name, &list_3_2, 0};
    }
    interfaces[n_interfaces++] = (CK_INTERFACE){interface_name, &list_3_0, 0};
    interfaces[n_interfaces++] = (CK_INTERFACE){interface_name, &list_2_40, 0};
}

/* Replace the configuration and the device state; transfer full. */
static void
publish(MockConf *conf)
{
    mock_sessions_clear();
    mock_slots_replace(g_steal_pointer(&conf->slots));
    mock_objects_replace(g_steal_pointer(&conf->objects));
    g_clear_pointer(&state.fail_rules, g_ptr_array_unref);
    state.fail_rules = g_steal_pointer(&conf->fail_rules);
    reset_function_lists(conf);
    g_clear_pointer(&state.conf, mock_conf_free);
    state.conf = conf;
}

/* FALSE (and a message on stderr) when path could not be used. */
static gboolean
load(const char *path)
{
    g_autoptr(GError) error = NULL;
    MockConf *conf = mock_conf_load(path, &error);

    if (conf == NULL) {
        g_printerr("p11mux mock: %s\n", error->message);
        return FALSE;
    }
    publish(conf);
    return TRUE;
}

void
mock_ensure_loaded(void)
{
    g_autofree char *path = NULL;

    if (state.conf != NULL) {
        return;
    }
    path = config_next_to_module();
    if (path == NULL && g_getenv("P11MUX_MOCK_CONF") != NULL && *g_getenv("P11MUX_MOCK_CONF")) {
        path = g_strdup(g_getenv("P11MUX_MOCK_CONF"));
    }
    state.broken = !load(path);
    if (state.broken) {
        load(NULL);
    }
}

/* Free everything when the module is unloaded (dlclose, exit): the device
 * state outlives C_Finalize, and leak checkers should not see it. */
__attribute__((destructor)) static void
unload(void)
{
    /* under the lock: at exit a thread may still be in a call that hangs
     * or sleeps (misbehave), which released it; such a thread still holds
     * the state, left to the process's end */
    mock_lock();
    if (state.misbehaving > 0) {
        mock_unlock();
        return;
    }
    mock_sessions_unload();
    mock_slots_replace(NULL);
    mock_objects_replace(NULL);
    g_clear_pointer(&state.fail_rules, g_ptr_array_unref);
    g_clear_pointer(&state.conf, mock_conf_free);
    mock_unlock();
}

/* ------------------------------------------------------ entry, failures */

static gboolean
rule_fires(const MockFailRule *rule)
{
    if (rule->nth == 0) {
        return TRUE;
    }
    return rule->onward ? rule->calls >= rule->nth : rule->calls == rule->nth;
}

static CK_RV
fail_check(MockFunctionId fn)
{
    CK_RV rv = CKR_OK;
    guint i;

    for (i = 0; i < state.fail_rules->len; i++) {
        MockFailRule *rule = g_ptr_array_index(state.fail_rules, i);

        if (rule->fn != fn) {
            continue;
        }
        rule->calls++;
        if (rv == CKR_OK && rule_fires(rule)) {
            rv = rule->rv;
        }
    }
    return rv;
}

/* A misbehaviour of fn's, if any: hang, sleep, crash, exit (the lock is
 * released while hanging or sleeping); CKR_OK to go on, else its code. */
static CK_RV
misbehave(MockFunctionId fn)
{
    const GArray *rules = state.conf->misbehaviours;
    guint i;

    for (i = 0; i < rules->len; i++) {
        const MockMisbehaviour *rule = &g_array_index(rules, MockMisbehaviour, i);

        if (rule->fn != fn) {
            continue;
        }
        switch (rule->kind) {
        case MOCK_MISBEHAVE_HANG:
            state.misbehaving++;
            mock_unlock();
            for (;;) {
                pause();
            }
        case MOCK_MISBEHAVE_SLEEP:
            state.misbehaving++;
            mock_unlock();
            g_usleep((gulong)rule->arg * 1000);
            mock_lock();
            state.misbehaving--;
            return CKR_OK;
        case MOCK_MISBEHAVE_SEGV:
            /* the default action, whatever a sanitizer installed: the
             * process dies of the signal, as a real crash of a library
             * that is not instrumented does */
            signal(SIGSEGV, SIG_DFL);
            raise(SIGSEGV);
            break;
        case MOCK_MISBEHAVE_ABORT:
            mock_unlock();
            abort();
        case MOCK_MISBEHAVE_EXIT:
            /* the destructors run, ours takes the lock */
            mock_unlock();
            exit((int)rule->arg);
        case MOCK_MISBEHAVE_RETURN:
            return rule->arg;
        }
    }
    return CKR_OK;
}

/* Entry of every implemented function: load, count, misbehaviour, scripted
 * failure. */
CK_RV
mock_enter_any(MockFunctionId fn)
{
    CK_RV rv;

    mock_ensure_loaded();
    state.calls[fn]++;
    rv = misbehave(fn);
    return rv != CKR_OK ? rv : fail_check(fn);
}

/* As mock_enter_any(), then CKR_CRYPTOKI_NOT_INITIALIZED when it is so. */
CK_RV
mock_enter(MockFunctionId fn)
{
    CK_RV rv = mock_enter_any(fn);

    if (rv == CKR_OK && !state.initialized) {
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    return rv;
}

/* ----------------------------------------------- C_Initialize, C_Finalize */

/* transfer full, nullable: the config=PATH word of pReserved. */
static char *
reserved_config(const CK_C_INITIALIZE_ARGS *args)
{
    const char *text;
    const char *p;

    if (args == NULL || args->pReserved == NULL) {
        return NULL;
    }
    text = args->pReserved;
    for (p = strstr(text, "config="); p != NULL; p = strstr(p + 1, "config=")) {
        if (p == text || g_ascii_isspace(p[-1])) {
            p += strlen("config=");
            return g_strndup(p, strcspn(p, " \t\r\n"));
        }
    }
    return NULL;
}

/* Before the entry check, so that the new file's fail rules apply. */
static CK_RV
load_reserved_config(const CK_C_INITIALIZE_ARGS *args)
{
    g_autofree char *path = NULL;

    mock_ensure_loaded();
    path = reserved_config(args);
    if (!state.initialized && path != NULL && g_strcmp0(path, state.conf->path) != 0) {
        state.broken = !load(path);
    }
    return state.broken ? CKR_GENERAL_ERROR : CKR_OK;
}

static CK_RV
check_init_args(const CK_C_INITIALIZE_ARGS *args)
{
    int callbacks;

    if (args == NULL) {
        return CKR_OK;
    }
    callbacks = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) +
                (args->LockMutex != NULL) + (args->UnlockMutex != NULL);
    if (callbacks != 0 && callbacks != 4) {
        return CKR_ARGUMENTS_BAD;
    }
    /* The mock locks with GMutex: it cannot use the caller's callbacks. */
    if (callbacks == 4 && !(args->flags & CKF_OS_LOCKING_OK)) {
        return CKR_CANT_LOCK;
    }
    return CKR_OK;
}

static CK_RV
initialize(const CK_C_INITIALIZE_ARGS *args)
{
    CK_RV rv;

    if (state.initialized) {
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    }
    rv = check_init_args(args);
    if (rv == CKR_OK) {
        state.initialized = TRUE;
        state.generation++;
        mock_events_clear();
    }
    return rv;
}

CK_RV
mock_C_Initialize(CK_VOID_PTR pInitArgs)
{
    CK_RV loaded;
    CK_RV rv;

    mock_lock();
    loaded = load_reserved_config(pInitArgs);
    rv = mock_enter_any(MOCK_FN_C_Initialize);
    if (rv == CKR_OK) {
        rv = loaded;
    }
    if (rv == CKR_OK) {
        rv = initialize(pInitArgs);
    }
    mock_unlock();
    return rv;
}

CK_RV
mock_C_Finalize(CK_VOID_PTR pReserved)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter(MOCK_FN_C_Finalize);
    if (rv == CKR_OK && pReserved != NULL) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv == CKR_OK) {
        mock_sessions_clear();
        state.initialized = FALSE;
        state.generation++;
        mock_events_wake();
    }
    mock_unlock();
    return rv;
}

static CK_RV
get_info(CK_INFO_PTR pInfo)
{
    if (pInfo == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    memset(pInfo, 0, sizeof *pInfo);
    pInfo->cryptokiVersion.major = state.conf->v3 ? 3 : 2;
    pInfo->cryptokiVersion.minor = state.conf->v32 ? 2 : state.conf->v3 ? 0 : 40;
    mock_pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, state.conf->manufacturer);
    mock_pad(pInfo->libraryDescription, sizeof pInfo->libraryDescription, state.conf->description);
    pInfo->libraryVersion.major = 1;
    pInfo->libraryVersion.minor = 0;
    return CKR_OK;
}

CK_RV
mock_C_GetInfo(CK_INFO_PTR pInfo)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter(MOCK_FN_C_GetInfo);
    if (rv == CKR_OK) {
        rv = get_info(pInfo);
    }
    mock_unlock();
    return rv;
}

/* ----------------------------------------------------------- interfaces */

CK_RV
mock_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter_any(MOCK_FN_C_GetFunctionList);
    if (rv == CKR_OK && ppFunctionList == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv == CKR_OK) {
        *ppFunctionList = &list_2_40;
    }
    mock_unlock();
    return rv;
}

static CK_RV
get_interface_list(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    if (!state.conf->v3) {
        return CKR_FUNCTION_NOT_SUPPORTED;
    }
    if (pulCount == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (pInterfacesList == NULL) {
        *pulCount = n_interfaces;
        return CKR_OK;
    }
    if (*pulCount < n_interfaces) {
        *pulCount = n_interfaces;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(pInterfacesList, interfaces, n_interfaces * sizeof interfaces[0]);
    *pulCount = n_interfaces;
    return CKR_OK;
}

CK_RV
mock_C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter_any(MOCK_FN_C_GetInterfaceList);
    if (rv == CKR_OK) {
        rv = get_interface_list(pInterfacesList, pulCount);
    }
    mock_unlock();
    return rv;
}

static gboolean
interface_matches(const CK_INTERFACE *interface, CK_UTF8CHAR_PTR pInterfaceName,
                  CK_VERSION_PTR pVersion, CK_FLAGS flags)
{
    const CK_VERSION *version = interface->pFunctionList;

    if (pInterfaceName != NULL &&
        strcmp((const char *)pInterfaceName, (const char *)interface->pInterfaceName) != 0) {
        return FALSE;
    }
    if (pVersion != NULL &&
        (pVersion->major != version->major || pVersion->minor != version->minor)) {
        return FALSE;
    }
    return (interface->flags & flags) == flags;
}

static CK_RV
get_interface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
              CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    guint i;

    if (!state.conf->v3) {
        return CKR_FUNCTION_NOT_SUPPORTED;
    }
    if (ppInterface == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    /* interfaces[0], the newest, is the default. */
    for (i = 0; i < n_interfaces; i++) {
        if (interface_matches(&interfaces[i], pInterfaceName, pVersion, flags)) {
            *ppInterface = &interfaces[i];
            return CKR_OK;
        }
    }
    return CKR_ARGUMENTS_BAD;
}

CK_RV
mock_C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                    CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    CK_RV rv;

    mock_lock();
    rv = mock_enter_any(MOCK_FN_C_GetInterface);
    if (rv == CKR_OK) {
        rv = get_interface(pInterfaceName, pVersion, ppInterface, flags);
    }
    mock_unlock();
    return rv;
}

/* The three exported entry points. */

MOCK_EXPORT CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    return mock_C_GetFunctionList(ppFunctionList);
}

MOCK_EXPORT CK_RV
C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    return mock_C_GetInterfaceList(pInterfacesList, pulCount);
}

MOCK_EXPORT CK_RV
C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
               CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    return mock_C_GetInterface(pInterfaceName, pVersion, ppInterface, flags);
}

/* --------------------------------------------------------- control API */

MOCK_EXPORT CK_ULONG
mock_control_call_count(const char *function)
{
    MockFunctionId fn;
    CK_ULONG calls = 0;

    mock_lock();
    mock_ensure_loaded();
    if (mock_function_id(function, &fn)) {
        calls = state.calls[fn];
    }
    mock_unlock();
    return calls;
}

MOCK_EXPORT CK_RV
mock_control_set_failures(const char *rules)
{
    g_autoptr(GPtrArray) parsed = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;

    if (!mock_conf_parse_fail_rules(rules != NULL ? rules : "", parsed, &error)) {
        g_printerr("p11mux mock: mock_control_set_failures: %s\n", error->message);
        return CKR_ARGUMENTS_BAD;
    }
    mock_lock();
    mock_ensure_loaded();
    g_clear_pointer(&state.fail_rules, g_ptr_array_unref);
    state.fail_rules = g_steal_pointer(&parsed);
    mock_unlock();
    return CKR_OK;
}
