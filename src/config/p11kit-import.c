/*
 * import-p11-kit: p11-kit's module registry as backends (p11kit-import.h).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <p11-kit/p11-kit.h>

#include "p11kit-import.h"
#include "site.h"

/* clang-format off */
G_DEFINE_QUARK(p11mux-p11kit-error-quark, p11mux_p11kit_error)
/* clang-format on */

/* The SONAME every build of p11mux.so carries (libtool -module -avoid-version). */
#define P11MUX_SONAME "p11mux.so"

void
p11mux_p11kit_module_free(P11muxP11kitModule *module)
{
    if (module == NULL) {
        return;
    }
    g_free(module->name);
    g_free(module->filename);
    g_free(module->soname);
    g_free(module->init_reserved);
    g_free(module->config_file);
    g_free(module->remote);
    g_free(module);
}

/* ------------------------------------------------------------ the registry */

/* A string p11-kit allocated, as a GLib one (transfer full; nullable). */
static char *
steal_p11kit_string(char *text)
{
    char *copy = g_strdup(text);

    free(text);
    return copy;
}

/* DT_SONAME from an object's dynamic section (transfer full; nullable). */
static char *
dynamic_soname(const struct link_map *map)
{
    const ElfW(Dyn) * dyn;
    ElfW(Addr) strtab = 0;
    ElfW(Xword) offset = 0;
    gboolean has_soname = FALSE;

    for (dyn = map->l_ld; dyn != NULL && dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_STRTAB) {
            strtab = dyn->d_un.d_ptr;
        } else if (dyn->d_tag == DT_SONAME) {
            offset = dyn->d_un.d_val;
            has_soname = TRUE;
        }
    }
    if (!has_soname || strtab == 0) {
        return NULL;
    }
    /* glibc relocates a writable dynamic section in place (x86, ARM), a
     * read-only one (MIPS, RISC-V) keeps the link-time address */
    if (strtab < map->l_addr) {
        strtab += map->l_addr;
    }
    return g_strdup((const char *)strtab + offset);
}

/* The SONAME of a library already loaded in this process (transfer full;
 * NULL when it has none or is not loaded). */
static char *
loaded_soname(const char *filename)
{
    void *handle = dlopen(filename, RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD);
    struct link_map *map = NULL;
    char *soname = NULL;

    if (handle == NULL) {
        return NULL;
    }
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != NULL) {
        soname = dynamic_soname(map);
    }
    dlclose(handle);
    return soname;
}

static gboolean
is_true(const char *value)
{
    return value != NULL &&
           (g_ascii_strcasecmp(value, "yes") == 0 || g_ascii_strcasecmp(value, "true") == 0 ||
            g_ascii_strcasecmp(value, "on") == 0 || g_str_equal(value, "1"));
}

/* One loaded registry module described (transfer full). */
static P11muxP11kitModule *
describe(CK_FUNCTION_LIST *loaded)
{
    P11muxP11kitModule *module = g_new0(P11muxP11kitModule, 1);
    g_autofree char *critical = steal_p11kit_string(p11_kit_config_option(loaded, "critical"));

    module->name = steal_p11kit_string(p11_kit_module_get_name(loaded));
    module->filename = steal_p11kit_string(p11_kit_module_get_filename(loaded));
    module->init_reserved = steal_p11kit_string(p11_kit_config_option(loaded, "x-init-reserved"));
    module->critical = is_true(critical);
    module->remote = steal_p11kit_string(p11_kit_config_option(loaded, "remote"));
    if (module->filename != NULL) {
        module->soname = loaded_soname(module->filename);
    }
    return module;
}

/* The registration file p11-kit read for the module called name
 * (transfer full; NULL when none is found): the first NAME.module of the
 * site's directories, the user's first when p11-kit reads it (not as root). */
static char *
find_config_file(const char *name)
{
    const char *const *dirs = p11mux_site_get()->p11kit_config_dirs;
    g_autofree char *file = g_strconcat(name, ".module", NULL);
    char *path;

    if (geteuid() != 0) {
        path = g_build_filename(g_get_user_config_dir(), "pkcs11", "modules", file, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            return path;
        }
        g_free(path);
    }
    for (guint i = 0; dirs != NULL && dirs[i] != NULL; i++) {
        path = g_build_filename(dirs[i], file, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            return path;
        }
        g_free(path);
    }
    return NULL;
}

/* Managed: p11-kit hands out `remote:` registrations only so (its unmanaged
 * loading skips them); nothing is initialised either way. */
static GPtrArray *
read_p11kit_registry(GError **error)
{
    CK_FUNCTION_LIST **loaded = p11_kit_modules_load(NULL, 0);
    GPtrArray *modules;
    guint i;

    if (loaded == NULL) {
        const char *why = p11_kit_message();

        g_set_error(error, P11MUX_P11KIT_ERROR, P11MUX_P11KIT_ERROR_REGISTRY,
                    "import-p11-kit: p11-kit cannot load its module registry: %s",
                    why != NULL ? why : "no reason given");
        return NULL;
    }
    modules = g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_p11kit_module_free);
    for (i = 0; loaded[i] != NULL; i++) {
        P11muxP11kitModule *module = describe(loaded[i]);

        if (module->name != NULL) {
            module->config_file = find_config_file(module->name);
            g_ptr_array_add(modules, module);
        } else {
            p11mux_p11kit_module_free(module);
        }
    }
    p11_kit_modules_release(loaded);
    return modules;
}

/* ------------------------------------------------- a registry of our own */

/* Whether a white-space or comma separated list of program names holds
 * this program's name (as p11-kit takes it: the base name it was run as). */
static gboolean
names_this_program(const char *list)
{
    const char *self = program_invocation_short_name;
    g_auto(GStrv) names = g_strsplit_set(list, " \t,", -1);

    for (guint i = 0; self != NULL && names[i] != NULL; i++) {
        if (g_str_equal(names[i], self)) {
            return TRUE;
        }
    }
    return FALSE;
}

/* A NAME.module file's "key: value" lines (transfer full). */
static GHashTable *
read_registration(const char *path)
{
    GHashTable *options = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return options;
    }
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        char *key = g_strstrip(lines[i]);
        char *colon = strchr(key, ':');

        if (key[0] == '#' || colon == NULL) {
            continue;
        }
        *colon = '\0';
        g_hash_table_replace(options, g_strdup(g_strstrip(key)), g_strdup(g_strstrip(colon + 1)));
    }
    return options;
}

/* The library a registration names: absolute, or in p11-kit's module
 * directory (transfer full). */
static char *
registered_library(const char *module)
{
    if (g_path_is_absolute(module)) {
        return g_strdup(module);
    }
    return g_build_filename(P11KIT_MODULE_PATH, module, NULL);
}

/* The SONAME of a library file, opened for the purpose (transfer full). */
static char *
file_soname(const char *filename)
{
    void *handle = dlopen(filename, RTLD_LAZY | RTLD_LOCAL);
    char *soname;

    if (handle == NULL) {
        return NULL;
    }
    soname = loaded_soname(filename);
    dlclose(handle);
    return soname;
}

/* One registration as p11-kit would describe it; NULL when p11-kit would
 * leave it out for this program (transfer full). */
static P11muxP11kitModule *
registration_module(const char *dir, const char *file)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autoptr(GHashTable) options = read_registration(path);
    const char *enable_in = g_hash_table_lookup(options, "enable-in");
    const char *disable_in = g_hash_table_lookup(options, "disable-in");
    const char *library = g_hash_table_lookup(options, "module");
    const char *remote = g_hash_table_lookup(options, "remote");
    P11muxP11kitModule *module;

    if ((enable_in != NULL && !names_this_program(enable_in)) ||
        (disable_in != NULL && names_this_program(disable_in)) ||
        (library == NULL && remote == NULL)) {
        return NULL;
    }
    module = g_new0(P11muxP11kitModule, 1);
    module->name = g_strndup(file, strlen(file) - strlen(".module"));
    /* as p11-kit: `remote` wins over `module` */
    if (remote != NULL) {
        module->remote = g_strdup(remote);
    } else {
        module->filename = registered_library(library);
        module->soname = file_soname(module->filename);
    }
    module->init_reserved = g_strdup(g_hash_table_lookup(options, "x-init-reserved"));
    module->critical = is_true(g_hash_table_lookup(options, "critical"));
    module->config_file = g_steal_pointer(&path);
    return module;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The site's own registry directory: its NAME.module files in name order. */
static GPtrArray *
read_site_registry(const char *dir)
{
    GPtrArray *modules = g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_p11kit_module_free);
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) listing = g_dir_open(dir, 0, NULL);
    const char *file;

    while (listing != NULL && (file = g_dir_read_name(listing)) != NULL) {
        if (g_str_has_suffix(file, ".module") && file[0] != '.') {
            g_ptr_array_add(files, g_strdup(file));
        }
    }
    g_ptr_array_sort(files, compare_names);
    for (guint i = 0; i < files->len; i++) {
        P11muxP11kitModule *module = registration_module(dir, g_ptr_array_index(files, i));

        if (module != NULL) {
            g_ptr_array_add(modules, module);
        }
    }
    return modules;
}

GPtrArray *
p11mux_p11kit_registry_read(GError **error)
{
    const char *dir = p11mux_site_get()->p11kit_registry;

    if (dir != NULL) {
        return read_site_registry(dir);
    }
    return read_p11kit_registry(error);
}

/* ------------------------------------------------------------ the verdict */

/* The file this code was loaded from: p11mux.so, or the program it is
 * linked into. */
static gboolean
stat_self(struct stat *self)
{
    struct link_map *map = NULL;
    Dl_info info;

    if (dladdr1((void *)p11mux_p11kit_judge, &info, (void **)&map, RTLD_DL_LINKMAP) != 0 &&
        map != NULL && map->l_name != NULL && map->l_name[0] != '\0' &&
        stat(map->l_name, self) == 0) {
        return TRUE;
    }
    return stat("/proc/self/exe", self) == 0;
}

static gboolean
is_self(const char *filename)
{
    struct stat self, other;

    return stat_self(&self) && stat(filename, &other) == 0 && self.st_dev == other.st_dev &&
           self.st_ino == other.st_ino;
}

/* The name of the file a path finally resolves to (transfer full). */
static char *
resolved_basename(const char *filename)
{
    g_autofree char *resolved = p11mux_conf_canonical_path(filename);

    return g_path_get_basename(resolved);
}

static gboolean
named(const P11muxP11kitModule *module, const char *soname_prefix, const char *file)
{
    g_autofree char *given = g_path_get_basename(module->filename);
    g_autofree char *resolved = resolved_basename(module->filename);

    return (module->soname != NULL && g_str_has_prefix(module->soname, soname_prefix)) ||
           g_str_equal(given, file) || g_str_equal(resolved, file);
}

static P11muxP11kitVerdict
verdict(P11muxP11kitVerdict verdict, char **why, const char *text)
{
    if (why != NULL) {
        *why = g_strdup(text);
    }
    return verdict;
}

P11muxP11kitVerdict
p11mux_p11kit_judge(const P11muxP11kitModule *module, char **why)
{
    g_return_val_if_fail(module != NULL, P11MUX_P11KIT_NO_FILE);

    if (why != NULL) {
        *why = NULL;
    }
    if (module->remote != NULL) {
        return verdict(P11MUX_P11KIT_REMOTE, why,
                       "it has no module file: a `remote:` registration becomes a backend only "
                       "when a member of a [group NAME] names it");
    }
    if (module->filename == NULL) {
        return verdict(P11MUX_P11KIT_NO_FILE, why, "it has no module file");
    }
    if (is_self(module->filename)) {
        return verdict(P11MUX_P11KIT_SELF, why, "it is this p11mux itself");
    }
    if (module->soname != NULL && g_str_equal(module->soname, P11MUX_SONAME)) {
        return verdict(P11MUX_P11KIT_COPY, why, "it is another copy of p11mux");
    }
    if (named(module, "libp11-kit.so", "p11-kit-proxy.so")) {
        return verdict(P11MUX_P11KIT_PROXY, why,
                       "p11-kit-proxy.so loads every registered module, p11mux among them");
    }
    if (named(module, "p11-kit-client.so", "p11-kit-client.so")) {
        return verdict(P11MUX_P11KIT_CLIENT, why,
                       "p11-kit-client.so forwards to a p11-kit server that may be p11mux; "
                       "name it in a [backend NAME] group to use it");
    }
    return P11MUX_P11KIT_IMPORTABLE;
}

/* ------------------------------------------------------------ the import */

/* The libraries of the enabled backends (transfer full: a set of paths). */
static GHashTable *
enabled_libraries(const P11muxConf *conf)
{
    GHashTable *libraries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint i;

    for (i = 0; i < conf->backends->len; i++) {
        const P11muxConfBackend *backend = g_ptr_array_index(conf->backends, i);

        if (backend->enabled && backend->module != NULL) {
            g_hash_table_add(libraries, p11mux_conf_canonical_path(backend->module));
        }
    }
    return libraries;
}

static P11muxConfBackend *
backend_new(const P11muxP11kitModule *module)
{
    P11muxConfBackend *backend = g_new0(P11muxConfBackend, 1);

    backend->name = g_strdup(module->name);
    backend->module = g_strdup(module->filename);
    backend->init_reserved = g_strdup(module->init_reserved);
    backend->critical = module->critical;
    backend->enabled = TRUE;
    return backend;
}

/* A `remote:` registration as a backend: p11-kit's managed loader gives
 * its list (p11mux_p11kit_remote_load), p11-kit passes it no init string. */
static P11muxConfBackend *
remote_backend_new(const P11muxP11kitModule *module)
{
    P11muxConfBackend *backend = g_new0(P11muxConfBackend, 1);

    backend->name = g_strdup(module->name);
    backend->remote = g_strdup(module->remote);
    backend->critical = module->critical;
    backend->enabled = TRUE;
    return backend;
}

/* Whether a member (or standby) of an HA group of conf names the backend name. */
static gboolean
named_by_member(const P11muxConf *conf, const char *name)
{
    for (guint g = 0; g < conf->ha_groups->len; g++) {
        const P11muxConfHaGroup *group = g_ptr_array_index(conf->ha_groups, g);

        for (guint m = 0; m < group->members->len; m++) {
            const P11muxConfMember *member = g_ptr_array_index(group->members, m);

            if (g_str_equal(member->backend, name)) {
                return TRUE;
            }
        }
    }
    return FALSE;
}

static void
report_refusal(void (*report)(const char *message), const P11muxP11kitModule *module,
               const char *why)
{
    g_autofree char *message = NULL;
    g_autofree char *where = NULL;

    if (report == NULL) {
        return;
    }
    where = module->remote != NULL     ? g_strdup_printf("remote: %s", module->remote)
            : module->filename != NULL ? g_strdup(module->filename)
                                       : g_strdup("no file");
    message = g_strdup_printf("import-p11-kit: module '%s' (%s) is not imported: %s", module->name,
                              where, why);
    report(message);
}

/* "another copy of p11mux" is said once per process, at the first import
 * that meets it, not at every C_Initialize */
static gint copy_reported;

static void
import_modules(P11muxConf *conf, GPtrArray *modules, void (*report)(const char *message),
               gboolean quiet_copies)
{
    g_autoptr(GHashTable) libraries = NULL;
    guint i;

    libraries = enabled_libraries(conf);
    for (i = 0; i < modules->len; i++) {
        const P11muxP11kitModule *module = g_ptr_array_index(modules, i);
        g_autofree char *why = NULL;
        P11muxP11kitVerdict judged;
        char *library;

        /* a [backend NAME] of the same name overrides or disables it */
        if (p11mux_conf_find_backend(conf, module->name) != NULL) {
            continue;
        }
        judged = p11mux_p11kit_judge(module, &why);
        if (judged == P11MUX_P11KIT_REMOTE && named_by_member(conf, module->name)) {
            g_ptr_array_add(conf->backends, remote_backend_new(module));
            continue;
        }
        if (judged == P11MUX_P11KIT_COPY &&
            (quiet_copies || !g_atomic_int_compare_and_exchange(&copy_reported, 0, 1))) {
            continue;
        }
        if (judged != P11MUX_P11KIT_IMPORTABLE) {
            if (judged != P11MUX_P11KIT_SELF) {
                report_refusal(report, module, why);
            }
            continue;
        }
        library = p11mux_conf_canonical_path(module->filename);
        if (g_hash_table_contains(libraries, library)) {
            g_free(library);
            continue;
        }
        g_hash_table_add(libraries, library);
        g_ptr_array_add(conf->backends, backend_new(module));
    }
}

void
p11mux_p11kit_import_modules(P11muxConf *conf, GPtrArray *modules,
                             void (*report)(const char *message))
{
    g_return_if_fail(conf != NULL && modules != NULL);

    import_modules(conf, modules, report, FALSE);
}

static gboolean
import(P11muxConf *conf, void (*report)(const char *message), gboolean quiet_copies, GError **error)
{
    g_autoptr(GPtrArray) modules = NULL;

    g_return_val_if_fail(conf != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    if (!conf->import_p11_kit) {
        return TRUE;
    }
    modules = p11mux_p11kit_registry_read(error);
    if (modules == NULL) {
        return FALSE;
    }
    import_modules(conf, modules, report, quiet_copies);
    /* the members of HA groups may name the backends just imported */
    return p11mux_conf_check_ha_backends(conf, error);
}

gboolean
p11mux_p11kit_import_for_program(P11muxConf *conf, void (*report)(const char *message),
                                 GError **error)
{
    return import(conf, report, TRUE, error);
}

gboolean
p11mux_p11kit_import(P11muxConf *conf, void (*report)(const char *message), GError **error)
{
    return import(conf, report, FALSE, error);
}

/* ------------------------------------------------- registered backends */

gboolean
p11mux_p11kit_find_registered(const P11muxConf *conf,
                              void (*found)(const P11muxConfBackend *backend,
                                            const P11muxP11kitModule *module, gpointer data),
                              gpointer data, GError **error)
{
    g_autoptr(GPtrArray) modules = NULL;
    g_autoptr(GPtrArray) libraries = NULL;

    g_return_val_if_fail(conf != NULL && found != NULL, FALSE);

    modules = p11mux_p11kit_registry_read(error);
    if (modules == NULL) {
        return FALSE;
    }
    libraries = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < modules->len; i++) {
        const P11muxP11kitModule *module = g_ptr_array_index(modules, i);
        gboolean other = module->filename != NULL &&
                         p11mux_p11kit_judge(module, NULL) == P11MUX_P11KIT_IMPORTABLE;

        g_ptr_array_add(libraries, other ? p11mux_conf_canonical_path(module->filename) : NULL);
    }
    for (guint b = 0; b < conf->backends->len; b++) {
        const P11muxConfBackend *backend = g_ptr_array_index(conf->backends, b);
        g_autofree char *library = NULL;

        if (!backend->enabled || backend->module == NULL) {
            continue;
        }
        library = p11mux_conf_canonical_path(backend->module);
        for (guint i = 0; i < modules->len; i++) {
            const char *registered = g_ptr_array_index(libraries, i);

            if (registered != NULL && g_str_equal(registered, library)) {
                found(backend, g_ptr_array_index(modules, i), data);
            }
        }
    }
    return TRUE;
}

/* ------------------------------------------------- remote registrations */

void
p11mux_p11kit_remote_release(gpointer list)
{
    /* through p11_kit_modules_release, which (unlike p11_kit_module_release)
     * lets p11-kit free its registry once nothing uses a module of it;
     * it frees the array with free() */
    CK_FUNCTION_LIST **one = calloc(2, sizeof(*one));

    if (one == NULL) {
        p11_kit_module_release(list);
        return;
    }
    one[0] = list;
    p11_kit_modules_release(one);
}

/* Whether p11-kit describes the managed module as a `remote:` registration. */
static gboolean
is_remote(CK_FUNCTION_LIST *module)
{
    g_autofree char *remote = steal_p11kit_string(p11_kit_config_option(module, "remote"));

    return remote != NULL;
}

/* Whether lists (name -> list) holds module. */
static gboolean
holds(GHashTable *lists, CK_FUNCTION_LIST *module)
{
    GHashTableIter iter;
    gpointer list;

    g_hash_table_iter_init(&iter, lists);
    while (g_hash_table_iter_next(&iter, NULL, &list)) {
        if (list == module) {
            return TRUE;
        }
    }
    return FALSE;
}

/* Give back every module of loaded (p11_kit_modules_load's array, freed
 * here) that lists does not hold, in one p11_kit_modules_release. */
static void
release_unused(CK_FUNCTION_LIST **loaded, GHashTable *lists)
{
    CK_FUNCTION_LIST **unused;
    guint i, n = 0, kept = 0;

    while (loaded[n] != NULL) {
        n++;
    }
    /* p11-kit frees the array it is given with free() */
    unused = calloc(n + 1, sizeof(*unused));
    for (i = 0; i < n; i++) {
        if (holds(lists, loaded[i])) {
            continue;
        }
        if (unused != NULL) {
            unused[kept++] = loaded[i];
        } else {
            p11_kit_module_release(loaded[i]);
        }
    }
    free(loaded);
    if (unused != NULL) {
        p11_kit_modules_release(unused);
    }
}

GHashTable *
p11mux_p11kit_remote_load(const char *const *names, GError **error)
{
    const P11muxSite *site = p11mux_site_get();
    CK_FUNCTION_LIST **loaded;
    GHashTable *lists;

    g_return_val_if_fail(names != NULL, NULL);

    if (site->p11kit_registry != NULL && site->use_p11kit_registry != NULL) {
        site->use_p11kit_registry();
    }
    loaded = p11_kit_modules_load(NULL, 0);
    if (loaded == NULL) {
        const char *why = p11_kit_message();

        g_set_error(error, P11MUX_P11KIT_ERROR, P11MUX_P11KIT_ERROR_REGISTRY,
                    "p11-kit cannot load its module registry: %s",
                    why != NULL ? why : "no reason given");
        return NULL;
    }
    lists = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, p11mux_p11kit_remote_release);
    for (guint i = 0; names[i] != NULL; i++) {
        CK_FUNCTION_LIST *module = p11_kit_module_for_name(loaded, names[i]);

        if (module != NULL && is_remote(module) && !g_hash_table_contains(lists, names[i])) {
            g_hash_table_insert(lists, g_strdup(names[i]), module);
        }
    }
    release_unused(loaded, lists);
    return lists;
}
