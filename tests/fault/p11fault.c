/*
 * p11fault.so, a test-only PKCS #11 module that wraps another one and
 * injects faults (tests/fault/README.md): it loads the module its init
 * string names (CK_C_INITIALIZE_ARGS.pReserved, else $P11FAULT_MODULE),
 * forwards every call through the wrappers generated from the function
 * table (p11fault-functions.c), counts the calls per (token label,
 * function) into $P11FAULT_COUNTS and answers or delays the calls the
 * rules of $P11FAULT_RULES select.
 *
 * Lock order: init_lock (C_Initialize, C_Finalize), then state.lock (a
 * leaf: rules, counts, the session and label maps).  No lock is held while
 * calling the wrapped module, except init_lock around its C_Initialize and
 * C_Finalize, nor while sleeping for a delay.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p11fault-rules.h"
#include "p11fault.h"

#define P11FAULT_EXPORT __attribute__((visibility("default")))

P11FAULT_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList);
P11FAULT_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount);
P11FAULT_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                                     CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags);

/* Handles are hash keys as pointers. */
G_STATIC_ASSERT(sizeof(CK_ULONG) <= sizeof(gpointer));
#define HANDLE_KEY(handle) ((gpointer)(guintptr)(handle))

/* The label of a call with no token behind it. */
#define NO_TOKEN "-"

typedef struct {
    GMutex lock;
    char *rules_path;       /* nullable: $P11FAULT_RULES at C_Initialize */
    char *counts_path;      /* nullable: $P11FAULT_COUNTS at C_Initialize */
    P11faultRules *rules;   /* nullable until first read */
    gboolean rules_present; /* the file existed at the last read */
    struct stat rules_stat; /* ... and was this */
    GHashTable *counts;     /* "LABEL FUNCTION" -> guint64 * */
    GHashTable *sessions;   /* session -> slot */
    GHashTable *labels;     /* slot -> label (trimmed) */
} State;

static State state;
static GMutex init_lock;
static gint initialized;     /* atomic: C_Initialize succeeded */
static gboolean owns_module; /* we initialised the wrapped module */
static void *module_handle;  /* never closed (as p11mux's backends) */
CK_FUNCTION_LIST_3_0 p11fault_wrapped;

/* ------------------------------------------------------------ state */

static void
state_ensure(void)
{
    if (state.counts == NULL) {
        state.counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        state.sessions = g_hash_table_new(g_direct_hash, g_direct_equal);
        state.labels = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    }
}

/* Called with state.lock held. */
static void
state_forget_calls(void)
{
    g_hash_table_remove_all(state.sessions);
    g_hash_table_remove_all(state.labels);
    g_clear_pointer(&state.rules, p11fault_rules_free);
    state.rules_present = FALSE;
}

/* Everything, when the library is unloaded: nothing left for LeakSanitizer. */
__attribute__((destructor)) static void
state_free(void)
{
    g_clear_pointer(&state.rules, p11fault_rules_free);
    g_clear_pointer(&state.counts, g_hash_table_unref);
    g_clear_pointer(&state.sessions, g_hash_table_unref);
    g_clear_pointer(&state.labels, g_hash_table_unref);
    g_clear_pointer(&state.rules_path, g_free);
    g_clear_pointer(&state.counts_path, g_free);
}

/* ------------------------------------------------------------ rules */

static gboolean
same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Called with state.lock held: one stat per call; the rules are read
 * again (their counters from zero) when the file changed. */
static void
rules_refresh(void)
{
    struct stat now;
    gboolean present;

    if (state.rules_path == NULL) {
        return;
    }
    present = stat(state.rules_path, &now) == 0;
    if (state.rules != NULL && present == state.rules_present &&
        (!present || same_file(&now, &state.rules_stat))) {
        return;
    }
    g_clear_pointer(&state.rules, p11fault_rules_free);
    state.rules = p11fault_rules_load(state.rules_path);
    state.rules_present = present;
    if (present) {
        state.rules_stat = now;
    }
}

/* ------------------------------------------------------------ counts */

static gint
compare_keys(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Called with state.lock held: the counts file, replaced atomically
 * (written beside it, then renamed over it). */
static void
counts_write(void)
{
    g_autoptr(GString) text = g_string_new(NULL);
    g_autofree char *tmp = NULL;
    g_autofree gpointer *keys = NULL;
    guint n, i;
    int fd;

    keys = g_hash_table_get_keys_as_array(state.counts, &n);
    qsort(keys, n, sizeof *keys, compare_keys);
    for (i = 0; i < n; i++) {
        const guint64 *count = g_hash_table_lookup(state.counts, keys[i]);

        g_string_append_printf(text, "%s %" G_GUINT64_FORMAT "\n", (const char *)keys[i], *count);
    }
    tmp = g_strdup_printf("%s.XXXXXX", state.counts_path);
    fd = g_mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "p11fault: cannot write %s: %s\n", tmp, g_strerror(errno));
        return;
    }
    if (write(fd, text->str, text->len) != (ssize_t)text->len || close(fd) != 0 ||
        rename(tmp, state.counts_path) != 0) {
        fprintf(stderr, "p11fault: cannot write %s: %s\n", state.counts_path, g_strerror(errno));
        unlink(tmp);
    }
}

/* Called with state.lock held. */
static void
counts_add(const char *label, const char *function)
{
    g_autofree char *key = NULL;
    guint64 *count;

    if (state.counts_path == NULL) {
        return;
    }
    key = g_strdup_printf("%s %s", label, function);
    count = g_hash_table_lookup(state.counts, key);
    if (count == NULL) {
        count = g_new0(guint64, 1);
        g_hash_table_insert(state.counts, g_steal_pointer(&key), count);
    }
    (*count)++;
    counts_write();
}

/* ------------------------------------------------------------ labels */

/* transfer full: a token label without its padding. */
static char *
trimmed_label(const CK_UTF8CHAR *label, gsize size)
{
    char *text = g_strndup((const char *)label, size);

    return g_strchomp(text);
}

/* transfer full: the label of the token in slot, asked of the module once
 * and kept until C_InitToken or C_Finalize; NO_TOKEN without a token. */
static char *
slot_label(CK_SLOT_ID slot)
{
    CK_TOKEN_INFO info;
    char *label;

    g_mutex_lock(&state.lock);
    label = g_strdup(g_hash_table_lookup(state.labels, HANDLE_KEY(slot)));
    g_mutex_unlock(&state.lock);
    if (label != NULL) {
        return label;
    }
    if (p11fault_wrapped.C_GetTokenInfo(slot, &info) != CKR_OK) {
        return g_strdup(NO_TOKEN);
    }
    label = trimmed_label(info.label, sizeof info.label);
    g_mutex_lock(&state.lock);
    g_hash_table_replace(state.labels, HANDLE_KEY(slot), g_strdup(label));
    g_mutex_unlock(&state.lock);
    return label;
}

/* transfer full: the label of the token behind a session, its slot known
 * from C_OpenSession or else asked once with C_GetSessionInfo. */
static char *
session_label(CK_SESSION_HANDLE session)
{
    CK_SESSION_INFO info;
    gpointer slot = NULL;
    gboolean known;

    g_mutex_lock(&state.lock);
    known = g_hash_table_lookup_extended(state.sessions, HANDLE_KEY(session), NULL, &slot);
    g_mutex_unlock(&state.lock);
    if (known) {
        return slot_label((CK_SLOT_ID)(guintptr)slot);
    }
    if (p11fault_wrapped.C_GetSessionInfo(session, &info) != CKR_OK) {
        return g_strdup(NO_TOKEN);
    }
    g_mutex_lock(&state.lock);
    g_hash_table_replace(state.sessions, HANDLE_KEY(session), HANDLE_KEY(info.slotID));
    g_mutex_unlock(&state.lock);
    return slot_label(info.slotID);
}

static char *
target_label(P11faultTarget target, CK_ULONG handle)
{
    switch (target) {
    case P11FAULT_TARGET_NONE:
        break;
    case P11FAULT_TARGET_SLOT:
        return slot_label(handle);
    case P11FAULT_TARGET_SESSION:
        return session_label(handle);
    }
    return g_strdup(NO_TOKEN);
}

/* ------------------------------------------------------------ calls */

/* Counts the call and applies the rules (shared by the entry points). */
static CK_RV
decide(const char *function, P11faultTarget target, CK_ULONG handle)
{
    g_autofree char *label = NULL;
    P11faultVerdict verdict = {CKR_OK, 0};

    if (state.rules_path == NULL && state.counts_path == NULL) {
        return CKR_OK;
    }
    label = target_label(target, handle);
    g_mutex_lock(&state.lock);
    counts_add(label, function);
    rules_refresh();
    if (state.rules != NULL) {
        verdict = p11fault_rules_decide(state.rules, label, function);
    }
    g_mutex_unlock(&state.lock);
    if (verdict.delay_ms > 0) {
        g_usleep((gulong)verdict.delay_ms * 1000);
    }
    return verdict.rv;
}

CK_RV
p11fault_enter(const char *function, P11faultTarget target, CK_ULONG handle)
{
    if (!g_atomic_int_get(&initialized)) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    return decide(function, target, handle);
}

void
p11fault_after_C_OpenSession(CK_RV rv, CK_SLOT_ID slotID, CK_FLAGS flags G_GNUC_UNUSED,
                             CK_VOID_PTR pApplication G_GNUC_UNUSED, CK_NOTIFY Notify G_GNUC_UNUSED,
                             CK_SESSION_HANDLE_PTR phSession)
{
    if (rv != CKR_OK) {
        return;
    }
    g_mutex_lock(&state.lock);
    g_hash_table_replace(state.sessions, HANDLE_KEY(*phSession), HANDLE_KEY(slotID));
    g_mutex_unlock(&state.lock);
}

void
p11fault_after_C_CloseSession(CK_RV rv, CK_SESSION_HANDLE hSession)
{
    if (rv != CKR_OK && rv != CKR_SESSION_HANDLE_INVALID) {
        return;
    }
    g_mutex_lock(&state.lock);
    g_hash_table_remove(state.sessions, HANDLE_KEY(hSession));
    g_mutex_unlock(&state.lock);
}

static gboolean
session_in_slot(gpointer key G_GNUC_UNUSED, gpointer value, gpointer user_data)
{
    return value == user_data;
}

void
p11fault_after_C_CloseAllSessions(CK_RV rv, CK_SLOT_ID slotID)
{
    if (rv != CKR_OK) {
        return;
    }
    g_mutex_lock(&state.lock);
    g_hash_table_foreach_remove(state.sessions, session_in_slot, HANDLE_KEY(slotID));
    g_mutex_unlock(&state.lock);
}

void
p11fault_after_C_InitToken(CK_RV rv G_GNUC_UNUSED, CK_SLOT_ID slotID,
                           CK_UTF8CHAR_PTR pPin G_GNUC_UNUSED, CK_ULONG ulPinLen G_GNUC_UNUSED,
                           CK_UTF8CHAR_PTR pLabel G_GNUC_UNUSED)
{
    g_mutex_lock(&state.lock);
    g_hash_table_remove(state.labels, HANDLE_KEY(slotID));
    g_mutex_unlock(&state.lock);
}

void
p11fault_after_C_GetTokenInfo(CK_RV rv, CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    if (rv != CKR_OK) {
        return;
    }
    g_mutex_lock(&state.lock);
    g_hash_table_replace(state.labels, HANDLE_KEY(slotID),
                         trimmed_label(pInfo->label, sizeof pInfo->label));
    g_mutex_unlock(&state.lock);
}

/* ------------------------------------------------------------ loading */

/* transfer full: the wrapped module's path, from the init string or the
 * environment; NULL when neither names one. */
static char *
module_path(const CK_C_INITIALIZE_ARGS *args)
{
    const char *path = args != NULL ? args->pReserved : NULL;

    if (path == NULL || *path == '\0') {
        path = g_getenv("P11FAULT_MODULE");
    }
    if (path == NULL || *path == '\0') {
        return NULL;
    }
    return g_strstrip(g_strdup(path));
}

/* The module's 3.0 list if it offers one, else its 2.40 list, into
 * p11fault_wrapped. */
static gboolean
load_module(const char *path)
{
    CK_C_GetInterface get_interface;
    CK_C_GetFunctionList get_list;
    CK_INTERFACE_PTR interface = NULL;
    CK_VERSION v3 = {3, 0};
    CK_FUNCTION_LIST_PTR list = NULL;

    module_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (module_handle == NULL) {
        fprintf(stderr, "p11fault: cannot load %s: %s\n", path, dlerror());
        return FALSE;
    }
    get_interface = (CK_C_GetInterface)dlsym(module_handle, "C_GetInterface");
    if (get_interface != NULL &&
        get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v3, &interface, 0) == CKR_OK &&
        interface != NULL && interface->pFunctionList != NULL) {
        p11fault_normalise(&p11fault_wrapped, interface->pFunctionList, TRUE);
        return TRUE;
    }
    get_list = (CK_C_GetFunctionList)dlsym(module_handle, "C_GetFunctionList");
    if (get_list == NULL || get_list(&list) != CKR_OK || list == NULL) {
        fprintf(stderr, "p11fault: %s has no function list\n", path);
        return FALSE;
    }
    p11fault_normalise(&p11fault_wrapped, list, FALSE);
    return TRUE;
}

/* Called with init_lock held: $P11FAULT_RULES and $P11FAULT_COUNTS, the
 * rules read again from scratch. */
static void
configure(void)
{
    g_mutex_lock(&state.lock);
    state_ensure();
    g_free(state.rules_path);
    state.rules_path = g_strdup(g_getenv("P11FAULT_RULES"));
    g_free(state.counts_path);
    state.counts_path = g_strdup(g_getenv("P11FAULT_COUNTS"));
    state_forget_calls();
    g_mutex_unlock(&state.lock);
}

/* Called with init_lock held: the wrapped module initialised, or found
 * initialised by someone else (then it is not ours to finalise). */
static CK_RV
initialize_module(const CK_C_INITIALIZE_ARGS *args)
{
    CK_C_INITIALIZE_ARGS wrapped_args = {0};
    g_autofree char *path = module_path(args);
    CK_RV rv;

    if (path == NULL) {
        fprintf(stderr, "p11fault: no module: give its path as the init string or in "
                        "P11FAULT_MODULE\n");
        return CKR_GENERAL_ERROR;
    }
    if (!load_module(path)) {
        return CKR_GENERAL_ERROR;
    }
    if (args != NULL) {
        wrapped_args = *args;
    } else {
        wrapped_args.flags = CKF_OS_LOCKING_OK;
    }
    wrapped_args.pReserved = NULL;
    rv = p11fault_wrapped.C_Initialize(&wrapped_args);
    owns_module = rv == CKR_OK;
    return rv == CKR_CRYPTOKI_ALREADY_INITIALIZED ? CKR_OK : rv;
}

CK_RV
p11fault_C_Initialize(CK_VOID_PTR pInitArgs)
{
    CK_RV rv;

    g_mutex_lock(&init_lock);
    if (g_atomic_int_get(&initialized)) {
        rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
    } else {
        configure();
        rv = decide("C_Initialize", P11FAULT_TARGET_NONE, 0);
        if (rv == CKR_OK) {
            rv = initialize_module(pInitArgs);
        }
        g_atomic_int_set(&initialized, rv == CKR_OK);
    }
    g_mutex_unlock(&init_lock);
    return rv;
}

CK_RV
p11fault_C_Finalize(CK_VOID_PTR pReserved)
{
    CK_RV rv;

    g_mutex_lock(&init_lock);
    if (!g_atomic_int_get(&initialized)) {
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    } else if (pReserved != NULL) {
        rv = CKR_ARGUMENTS_BAD;
    } else {
        rv = decide("C_Finalize", P11FAULT_TARGET_NONE, 0);
        if (rv == CKR_OK) {
            rv = owns_module ? p11fault_wrapped.C_Finalize(NULL) : CKR_OK;
            g_atomic_int_set(&initialized, 0);
            owns_module = FALSE;
            g_mutex_lock(&state.lock);
            state_forget_calls();
            g_mutex_unlock(&state.lock);
        }
    }
    g_mutex_unlock(&init_lock);
    return rv;
}

/* ------------------------------------------------------------ lists */

static CK_INTERFACE interfaces[] = {
    {(CK_CHAR_PTR) "PKCS 11", &p11fault_function_list_3_0, 0},
    {(CK_CHAR_PTR) "PKCS 11", &p11fault_function_list, 0},
};

CK_RV
p11fault_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    if (ppFunctionList == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    *ppFunctionList = &p11fault_function_list;
    return CKR_OK;
}

CK_RV
p11fault_C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    CK_ULONG count = G_N_ELEMENTS(interfaces);

    if (pulCount == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (pInterfacesList == NULL) {
        *pulCount = count;
        return CKR_OK;
    }
    if (*pulCount < count) {
        *pulCount = count;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(pInterfacesList, interfaces, sizeof interfaces);
    *pulCount = count;
    return CKR_OK;
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

CK_RV
p11fault_C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                        CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    guint i;

    if (ppInterface == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    /* interfaces[0], the 3.0 one, is the default. */
    for (i = 0; i < G_N_ELEMENTS(interfaces); i++) {
        if (interface_matches(&interfaces[i], pInterfaceName, pVersion, flags)) {
            *ppInterface = &interfaces[i];
            return CKR_OK;
        }
    }
    return CKR_ARGUMENTS_BAD;
}

P11FAULT_EXPORT CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    return p11fault_C_GetFunctionList(ppFunctionList);
}

P11FAULT_EXPORT CK_RV
C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    return p11fault_C_GetInterfaceList(pInterfacesList, pulCount);
}

P11FAULT_EXPORT CK_RV
C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
               CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    return p11fault_C_GetInterface(pInterfaceName, pVersion, ppInterface, flags);
}
