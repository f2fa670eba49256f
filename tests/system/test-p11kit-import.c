/*
 * Unit tests of import-p11-kit (src/config/p11kit-import.c): which registered
 * modules may become backends, and how they join a configuration.  The
 * registry itself is p11-kit's and is read in tests/system/registry.sh
 * (inside a private mount namespace); here the modules are made up.
 */
#include "config.h"

#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "p11kit-import.h"
#include "site.h"

static char *tmpdir;
static GPtrArray *reports;

static void
setup(void)
{
    tmpdir = g_dir_make_tmp("p11mux-import-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmpdir);
    reports = g_ptr_array_new_with_free_func(g_free);
}

static void
teardown(void)
{
    g_autofree char *command = g_strdup_printf("rm -rf '%s'", tmpdir);

    ck_assert_int_eq(system(command), 0);
    g_clear_pointer(&tmpdir, g_free);
    g_clear_pointer(&reports, g_ptr_array_unref);
}

static void
collect_report(const char *message)
{
    g_ptr_array_add(reports, g_strdup(message));
}

/* An empty file in tmpdir (transfer full: its path). */
static char *
make_file(const char *name)
{
    char *path = g_build_filename(tmpdir, name, NULL);

    ck_assert(g_file_set_contents(path, "", 0, NULL));
    return path;
}

static P11muxP11kitModule *
module_new(const char *name, const char *filename, const char *soname)
{
    P11muxP11kitModule *module = g_new0(P11muxP11kitModule, 1);

    module->name = g_strdup(name);
    module->filename = g_strdup(filename);
    module->soname = g_strdup(soname);
    return module;
}

static P11muxP11kitVerdict
judge(const char *filename, const char *soname)
{
    g_autoptr(P11muxP11kitModule) module = module_new("m", filename, soname);
    g_autofree char *why = NULL;
    P11muxP11kitVerdict verdict = p11mux_p11kit_judge(module, &why);

    ck_assert(verdict == P11MUX_P11KIT_IMPORTABLE ? why == NULL : why != NULL);
    return verdict;
}

static P11muxConf *
load_conf(const char *text)
{
    g_autofree char *path = g_build_filename(tmpdir, "p11mux.conf", NULL);
    g_autoptr(GError) error = NULL;
    P11muxConf *conf;

    ck_assert(g_file_set_contents(path, text, -1, NULL));
    conf = p11mux_conf_load_file(path, &error);
    ck_assert_msg(conf != NULL, "%s", error != NULL ? error->message : "");
    return conf;
}

/* ---------------------------------------------------------------- verdicts */

START_TEST(test_p11kit_judge_ordinary_module_is_importable)
{
    g_autofree char *path = make_file("libvendor.so");

    ck_assert_int_eq(judge(path, "libvendor.so.1"), P11MUX_P11KIT_IMPORTABLE);
    ck_assert_int_eq(judge(path, NULL), P11MUX_P11KIT_IMPORTABLE);
}
END_TEST

/* Linked into this program, "p11mux itself" is this program's file. */
START_TEST(test_p11kit_judge_self_by_file_whatever_the_path)
{
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *link = g_build_filename(tmpdir, "other-name.so", NULL);

    ck_assert_ptr_nonnull(self);
    ck_assert_int_eq(judge(self, NULL), P11MUX_P11KIT_SELF);
    ck_assert_int_eq(judge("/proc/self/exe", NULL), P11MUX_P11KIT_SELF);
    ck_assert_int_eq(symlink(self, link), 0);
    ck_assert_int_eq(judge(link, "libvendor.so"), P11MUX_P11KIT_SELF);
}
END_TEST

START_TEST(test_p11kit_judge_copy_of_p11mux_by_soname)
{
    g_autofree char *path = make_file("renamed.so");

    ck_assert_int_eq(judge(path, "p11mux.so"), P11MUX_P11KIT_COPY);
}
END_TEST

START_TEST(test_p11kit_judge_proxy_by_soname_or_name)
{
    g_autofree char *proxy = make_file("p11-kit-proxy.so");
    g_autofree char *library = make_file("libp11-kit.so.0.3.0");
    g_autofree char *link = g_build_filename(tmpdir, "proxy-link.so", NULL);

    ck_assert_int_eq(judge(proxy, NULL), P11MUX_P11KIT_PROXY);
    ck_assert_int_eq(judge(library, "libp11-kit.so.0"), P11MUX_P11KIT_PROXY);
    ck_assert_int_eq(symlink(proxy, link), 0);
    ck_assert_int_eq(judge(link, NULL), P11MUX_P11KIT_PROXY);
}
END_TEST

START_TEST(test_p11kit_judge_client_by_soname_or_name)
{
    g_autofree char *client = make_file("p11-kit-client.so");
    g_autofree char *renamed = make_file("client-copy.so");

    ck_assert_int_eq(judge(client, NULL), P11MUX_P11KIT_CLIENT);
    ck_assert_int_eq(judge(renamed, "p11-kit-client.so"), P11MUX_P11KIT_CLIENT);
}
END_TEST

START_TEST(test_p11kit_judge_module_without_file)
{
    ck_assert_int_eq(judge(NULL, NULL), P11MUX_P11KIT_NO_FILE);
}
END_TEST

START_TEST(test_p11kit_judge_remote_registration)
{
    g_autoptr(P11muxP11kitModule) module = module_new("served-a", NULL, NULL);
    g_autofree char *why = NULL;

    module->remote = g_strdup("unix:path=/run/hsm-a/pkcs11");
    ck_assert_int_eq(p11mux_p11kit_judge(module, &why), P11MUX_P11KIT_REMOTE);
    ck_assert(strstr(why, "no module file") != NULL);
    ck_assert(strstr(why, "[group NAME]") != NULL);
}
END_TEST

/* ---------------------------------------------------------------- import */

START_TEST(test_p11kit_import_appends_importable_modules)
{
    g_autofree char *vendor = make_file("libvendor.so");
    g_autoptr(P11muxConf) conf = load_conf("[global]\nimport-p11-kit = true\n");
    g_autoptr(GPtrArray) modules =
        g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_p11kit_module_free);
    P11muxP11kitModule *module = module_new("vendor", vendor, NULL);
    const P11muxConfBackend *backend;

    module->init_reserved = g_strdup("config=/x configdir='sql:/y'");
    module->critical = TRUE;
    g_ptr_array_add(modules, module);
    p11mux_p11kit_import_modules(conf, modules, collect_report);

    ck_assert_uint_eq(conf->backends->len, 1);
    backend = p11mux_conf_find_backend(conf, "vendor");
    ck_assert_ptr_nonnull(backend);
    ck_assert_str_eq(backend->module, vendor);
    ck_assert_str_eq(backend->init_reserved, "config=/x configdir='sql:/y'");
    ck_assert(backend->critical);
    ck_assert(backend->enabled);
    ck_assert_ptr_null(backend->policy);
    ck_assert_ptr_null(backend->origin.file);
    ck_assert_uint_eq(reports->len, 0);
}
END_TEST

START_TEST(test_p11kit_import_backend_group_overrides_or_disables)
{
    g_autofree char *mine = make_file("mine.so");
    g_autofree char *theirs = make_file("theirs.so");
    g_autofree char *off = make_file("off.so");
    g_autofree char *text = g_strdup_printf("[global]\nimport-p11-kit = true\n"
                                            "[backend over]\nmodule = %s\n"
                                            "[backend off]\nenabled = false\n",
                                            mine);
    g_autoptr(P11muxConf) conf = load_conf(text);
    g_autoptr(GPtrArray) modules =
        g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_p11kit_module_free);
    const P11muxConfBackend *backend;

    g_ptr_array_add(modules, module_new("over", theirs, NULL));
    g_ptr_array_add(modules, module_new("off", off, NULL));
    p11mux_p11kit_import_modules(conf, modules, collect_report);

    ck_assert_uint_eq(conf->backends->len, 2);
    backend = p11mux_conf_find_backend(conf, "over");
    ck_assert_str_eq(backend->module, mine);
    backend = p11mux_conf_find_backend(conf, "off");
    ck_assert(!backend->enabled);
    ck_assert_ptr_null(backend->module);
    ck_assert_uint_eq(reports->len, 0);
}
END_TEST

START_TEST(test_p11kit_import_skips_a_library_already_loaded)
{
    g_autofree char *library = make_file("libsofthsm2.so");
    g_autofree char *link = g_build_filename(tmpdir, "softhsm-link.so", NULL);
    g_autofree char *text = g_strdup_printf("[global]\nimport-p11-kit = true\n"
                                            "[backend softhsm]\nmodule = %s\n",
                                            library);
    g_autoptr(P11muxConf) conf = load_conf(text);
    g_autoptr(GPtrArray) modules =
        g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_p11kit_module_free);

    ck_assert_int_eq(symlink(library, link), 0);
    g_ptr_array_add(modules, module_new("softhsm2", link, NULL));
    g_ptr_array_add(modules, module_new("softhsm2-again", library, NULL));
    p11mux_p11kit_import_modules(conf, modules, collect_report);

    ck_assert_uint_eq(conf->backends->len, 1);
    ck_assert_ptr_null(p11mux_conf_find_backend(conf, "softhsm2"));
    ck_assert_uint_eq(reports->len, 0);
}
END_TEST

START_TEST(test_p11kit_import_refuses_p11mux_proxy_and_client)
{
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *copy = make_file("p11mux-copy.so");
    g_autofree char *proxy = make_file("p11-kit-proxy.so");
    g_autofree char *client = make_file("p11-kit-client.so");
    g_autofree char *vendor = make_file("libvendor.so");
    g_autoptr(P11muxConf) conf = load_conf("[global]\nimport-p11-kit = true\n");
    g_autoptr(GPtrArray) modules =
        g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_p11kit_module_free);

    g_ptr_array_add(modules, module_new("p11mux", self, NULL));
    g_ptr_array_add(modules, module_new("p11mux-copy", copy, "p11mux.so"));
    g_ptr_array_add(modules, module_new("p11-kit-proxy", proxy, NULL));
    g_ptr_array_add(modules, module_new("p11-kit-client", client, NULL));
    g_ptr_array_add(modules, module_new("vendor", vendor, NULL));
    p11mux_p11kit_import_modules(conf, modules, collect_report);

    ck_assert_uint_eq(conf->backends->len, 1);
    ck_assert_ptr_nonnull(p11mux_conf_find_backend(conf, "vendor"));
    /* p11mux itself silently, the others with a reason */
    ck_assert_uint_eq(reports->len, 3);
    ck_assert(strstr(g_ptr_array_index(reports, 0), "'p11mux-copy'") != NULL);
    ck_assert(strstr(g_ptr_array_index(reports, 0), "another copy of p11mux") != NULL);
    ck_assert(strstr(g_ptr_array_index(reports, 1), "'p11-kit-proxy'") != NULL);
    ck_assert(strstr(g_ptr_array_index(reports, 2), "'p11-kit-client'") != NULL);
    ck_assert(strstr(g_ptr_array_index(reports, 2), "[backend NAME]") != NULL);

    /* a second import in the same process (another C_Initialize) does not
     * say "another copy" again; the other refusals it says again */
    g_ptr_array_set_size(reports, 0);
    p11mux_conf_free(g_steal_pointer(&conf));
    conf = load_conf("[global]\nimport-p11-kit = true\n");
    p11mux_p11kit_import_modules(conf, modules, collect_report);
    ck_assert_uint_eq(reports->len, 2);
    ck_assert(strstr(g_ptr_array_index(reports, 0), "'p11-kit-proxy'") != NULL);
}
END_TEST

/* A [backend NAME] naming p11-kit-client.so explicitly is the user's choice. */
START_TEST(test_p11kit_import_client_named_explicitly_stays)
{
    g_autofree char *client = make_file("p11-kit-client.so");
    g_autofree char *text = g_strdup_printf("[global]\nimport-p11-kit = true\n"
                                            "[backend p11-kit-client]\nmodule = %s\n",
                                            client);
    g_autoptr(P11muxConf) conf = load_conf(text);
    g_autoptr(GPtrArray) modules =
        g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_p11kit_module_free);

    g_ptr_array_add(modules, module_new("p11-kit-client", client, NULL));
    p11mux_p11kit_import_modules(conf, modules, collect_report);

    ck_assert_uint_eq(conf->backends->len, 1);
    ck_assert(((P11muxConfBackend *)g_ptr_array_index(conf->backends, 0))->enabled);
    ck_assert_uint_eq(reports->len, 0);
}
END_TEST

static P11muxP11kitModule *
remote_new(const char *name, const char *address)
{
    P11muxP11kitModule *module = module_new(name, NULL, NULL);

    module->remote = g_strdup(address);
    return module;
}

/* A `remote:` registration is a backend only where a member names it. */
START_TEST(test_p11kit_import_remote_only_when_a_member_names_it)
{
    g_autoptr(P11muxConf) conf =
        load_conf("[global]\nimport-p11-kit = true\n"
                  "[group signing]\nmembers = served-a:pkcs11:token=part1\n"
                  "standby = served-b:pkcs11:token=part2\n");
    g_autoptr(GPtrArray) modules =
        g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_p11kit_module_free);
    g_autoptr(GError) error = NULL;
    const P11muxConfBackend *backend;
    P11muxP11kitModule *critical = remote_new("served-b", "|ssh hsm-b p11-kit remote x.so");

    critical->critical = TRUE;
    g_ptr_array_add(modules, remote_new("served-a", "unix:path=/run/hsm-a/pkcs11"));
    g_ptr_array_add(modules, critical);
    g_ptr_array_add(modules, remote_new("served-c", "unix:path=/run/hsm-c/pkcs11"));
    p11mux_p11kit_import_modules(conf, modules, collect_report);

    ck_assert_uint_eq(conf->backends->len, 2);
    backend = p11mux_conf_find_backend(conf, "served-a");
    ck_assert_ptr_nonnull(backend);
    ck_assert_str_eq(backend->remote, "unix:path=/run/hsm-a/pkcs11");
    ck_assert_ptr_null(backend->module);
    ck_assert_ptr_null(backend->init_reserved);
    ck_assert(backend->enabled);
    ck_assert(!backend->critical);
    ck_assert_ptr_null(backend->origin.file);
    backend = p11mux_conf_find_backend(conf, "served-b");
    ck_assert_str_eq(backend->remote, "|ssh hsm-b p11-kit remote x.so");
    ck_assert(backend->critical);
    /* the unnamed one stays out, with its reason */
    ck_assert_ptr_null(p11mux_conf_find_backend(conf, "served-c"));
    ck_assert_uint_eq(reports->len, 1);
    ck_assert(strstr(g_ptr_array_index(reports, 0), "'served-c'") != NULL);
    ck_assert(strstr(g_ptr_array_index(reports, 0), "remote: unix:path=/run/hsm-c/pkcs11") != NULL);
    ck_assert(strstr(g_ptr_array_index(reports, 0), "no module file") != NULL);
    /* the members now name backends */
    ck_assert(p11mux_conf_check_ha_backends(conf, &error));
}
END_TEST

/* A [backend NAME] of the registration's name wins over it, as over any
 * registration; one that is disabled leaves the member without a backend. */
START_TEST(test_p11kit_import_remote_overridden_or_disabled)
{
    g_autofree char *mine = make_file("mine.so");
    g_autofree char *text =
        g_strdup_printf("[global]\nimport-p11-kit = true\n"
                        "[backend served-a]\nmodule = %s\n"
                        "[backend served-b]\nenabled = false\n"
                        "[group signing]\n"
                        "members = served-a:pkcs11:token=part1 served-b:pkcs11:token=part2\n",
                        mine);
    g_autoptr(P11muxConf) conf = load_conf(text);
    g_autoptr(GPtrArray) modules =
        g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_p11kit_module_free);
    g_autoptr(GError) error = NULL;
    const P11muxConfBackend *backend;

    g_ptr_array_add(modules, remote_new("served-a", "unix:path=/a"));
    g_ptr_array_add(modules, remote_new("served-b", "unix:path=/b"));
    p11mux_p11kit_import_modules(conf, modules, collect_report);

    ck_assert_uint_eq(conf->backends->len, 2);
    backend = p11mux_conf_find_backend(conf, "served-a");
    ck_assert_str_eq(backend->module, mine);
    ck_assert_ptr_null(backend->remote);
    ck_assert_ptr_null(p11mux_conf_find_backend(conf, "served-b")->remote);
    ck_assert_uint_eq(reports->len, 0);
    ck_assert(!p11mux_conf_check_ha_backends(conf, &error));
    ck_assert(strstr(error->message, "p11mux.conf:") != NULL);
    ck_assert(strstr(error->message, "disabled") != NULL);
}
END_TEST

/* A member naming a registration that is neither configured nor in the
 * registry is refused at its line. */
START_TEST(test_p11kit_import_member_naming_nothing_is_refused_at_its_line)
{
    g_autoptr(P11muxConf) conf =
        load_conf("[global]\nimport-p11-kit = true\n"
                  "[group signing]\nmembers = served-x:pkcs11:token=part1\n");
    g_autoptr(GPtrArray) modules =
        g_ptr_array_new_with_free_func((GDestroyNotify)p11mux_p11kit_module_free);
    g_autoptr(GError) error = NULL;

    g_ptr_array_add(modules, remote_new("served-a", "unix:path=/a"));
    p11mux_p11kit_import_modules(conf, modules, collect_report);
    ck_assert(!p11mux_conf_check_ha_backends(conf, &error));
    ck_assert(strstr(error->message, "p11mux.conf:4:") != NULL);
    ck_assert(strstr(error->message, "served-x") != NULL);
    ck_assert(strstr(error->message, "registered with p11-kit") != NULL);
}
END_TEST

START_TEST(test_p11kit_import_does_nothing_unless_asked)
{
    g_autoptr(P11muxConf) conf = load_conf("[global]\nimport-p11-kit = false\n");
    g_autoptr(GError) error = NULL;

    ck_assert(p11mux_p11kit_import(conf, collect_report, &error));
    ck_assert_ptr_null(error);
    ck_assert_uint_eq(conf->backends->len, 0);
}
END_TEST

/* A site with a registry of its own (the testable copies): its NAME.module
 * files are read by p11mux, never p11-kit's registry; p11-kit's rules for
 * enable-in / disable-in and relative module paths hold, and a `remote:`
 * registration is described by its address (no file). */
START_TEST(test_p11kit_registry_of_the_site)
{
    g_autofree char *registry = g_build_filename(tmpdir, "registry", NULL);
    const char *dirs[] = {registry, NULL};
    P11muxSite site = {
        .sysconfdir = tmpdir, .p11kit_registry = registry, .p11kit_config_dirs = dirs};
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) modules = NULL;
    g_autofree char *a = g_build_filename(registry, "a.module", NULL);
    g_autofree char *b = g_build_filename(registry, "b.module", NULL);
    g_autofree char *c = g_build_filename(registry, "c.module", NULL);
    g_autofree char *d = g_build_filename(registry, "d.module", NULL);
    g_autofree char *e = g_build_filename(registry, "e.module", NULL);
    const P11muxP11kitModule *first, *second, *remote;

    ck_assert_int_eq(g_mkdir(registry, 0700), 0);
    ck_assert(g_file_set_contents(a,
                                  "# a comment\nmodule: /lib/a.so\ncritical: yes\n"
                                  "x-init-reserved: configdir='sql:/x' flags=\n",
                                  -1, NULL));
    ck_assert(g_file_set_contents(b, "  module: b.so\n", -1, NULL));
    ck_assert(
        g_file_set_contents(c, "module: /lib/c.so\nenable-in: some-other-program\n", -1, NULL));
    ck_assert(
        g_file_set_contents(d, "module: /lib/d.so\ndisable-in: x, test-p11kit-import\n", -1, NULL));
    ck_assert(g_file_set_contents(e, "remote: |ssh host p11-kit remote x.so\n", -1, NULL));

    p11mux_site_set(&site);
    modules = p11mux_p11kit_registry_read(&error);
    p11mux_site_set(NULL);

    ck_assert_ptr_nonnull(modules);
    ck_assert_uint_eq(modules->len, 3);
    first = g_ptr_array_index(modules, 0);
    second = g_ptr_array_index(modules, 1);
    remote = g_ptr_array_index(modules, 2);
    ck_assert_str_eq(remote->name, "e");
    ck_assert_ptr_null(remote->filename);
    ck_assert_str_eq(remote->remote, "|ssh host p11-kit remote x.so");
    ck_assert_str_eq(remote->config_file, e);
    ck_assert_ptr_null(first->remote);
    ck_assert_str_eq(first->name, "a");
    ck_assert_str_eq(first->filename, "/lib/a.so");
    ck_assert(first->critical);
    ck_assert_str_eq(first->init_reserved, "configdir='sql:/x' flags=");
    ck_assert_str_eq(first->config_file, a);
    ck_assert_str_eq(second->name, "b");
    ck_assert_str_eq(second->filename, P11KIT_MODULE_PATH "/b.so");
    ck_assert_str_eq(second->config_file, b);
    ck_assert(!second->critical);
}
END_TEST

static Suite *
p11kit_import_suite(void)
{
    Suite *suite = suite_create("p11kit-import");
    TCase *judge_case = tcase_create("judge");
    TCase *import_case = tcase_create("import");

    tcase_add_checked_fixture(judge_case, setup, teardown);
    tcase_add_test(judge_case, test_p11kit_judge_ordinary_module_is_importable);
    tcase_add_test(judge_case, test_p11kit_judge_self_by_file_whatever_the_path);
    tcase_add_test(judge_case, test_p11kit_judge_copy_of_p11mux_by_soname);
    tcase_add_test(judge_case, test_p11kit_judge_proxy_by_soname_or_name);
    tcase_add_test(judge_case, test_p11kit_judge_client_by_soname_or_name);
    tcase_add_test(judge_case, test_p11kit_judge_module_without_file);
    tcase_add_test(judge_case, test_p11kit_judge_remote_registration);
    suite_add_tcase(suite, judge_case);

    tcase_add_checked_fixture(import_case, setup, teardown);
    tcase_add_test(import_case, test_p11kit_import_appends_importable_modules);
    tcase_add_test(import_case, test_p11kit_import_backend_group_overrides_or_disables);
    tcase_add_test(import_case, test_p11kit_import_skips_a_library_already_loaded);
    tcase_add_test(import_case, test_p11kit_import_refuses_p11mux_proxy_and_client);
    tcase_add_test(import_case, test_p11kit_import_client_named_explicitly_stays);
    tcase_add_test(import_case, test_p11kit_import_remote_only_when_a_member_names_it);
    tcase_add_test(import_case, test_p11kit_import_remote_overridden_or_disabled);
    tcase_add_test(import_case, test_p11kit_import_member_naming_nothing_is_refused_at_its_line);
    tcase_add_test(import_case, test_p11kit_import_does_nothing_unless_asked);
    tcase_add_test(import_case, test_p11kit_registry_of_the_site);
    suite_add_tcase(suite, import_case);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(p11kit_import_suite());
    int failed;

    srunner_run_all(runner, CK_ENV);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
