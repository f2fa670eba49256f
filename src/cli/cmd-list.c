/*
 * p11mux list [--config FILE]: every backend (library, state, load error)
 * and every slot (p11mux id, backend, backend slot id, token label, serial,
 * flags, policy) and every HA group (its members, their states and the
 * objects they serve), read by loading the backends exactly as the module does;
 * each backend is tried in a child process first, and one that hangs,
 * crashes or exits there is shown so and not loaded.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "probe.h"
#include "constants.h"
#include "group.h"
#include "policy-decide.h"
#include "policy.h"
#include "router.h"

/* The policy the module enforces for backend: each of its layers, with the
 * policy = NAME that selects it. */
static void
print_policy(const P11muxPolicySet *set, const char *backend)
{
    const P11muxPolicy *policy = p11mux_policy_set_lookup(set, backend);

    if (policy == NULL) {
        printf("  policy: none\n");
        return;
    }
    p11mux_cli_print_policy_layers(set, backend, policy, "  ", " (", ")");
}

static void
print_backend(const P11muxPolicySet *set, P11muxRouter *router, const P11muxConfBackend *cb,
              GHashTable *unloaded)
{
    P11muxBackend *loaded = p11mux_cli_find_backend(router->backends, cb->name);
    P11muxBackend *failed = p11mux_cli_find_backend(router->skipped, cb->name);
    const char *probed = g_hash_table_lookup(unloaded, cb->name);

    printf("backend %s\n", cb->name);
    if (cb->remote != NULL) {
        printf("  remote: %s\n", cb->remote);
    } else {
        printf("  library: %s\n", cb->module != NULL ? cb->module : "(none)");
    }
    if (probed != NULL) {
        printf("  state: %s\n", probed);
    } else if (!cb->enabled) {
        printf("  state: disabled\n");
    } else if (loaded != NULL) {
        printf("  state: loaded\n");
        printf("  interface: %s\n", p11mux_backend_is_3_2(loaded) ? "3.2" : p11mux_backend_is_3_0(loaded) ? "3.0" : "2.40");
    } else {
        printf("  state: failed\n");
        printf("  error: %s\n",
               failed != NULL && failed->error != NULL ? failed->error : "not loaded");
    }
    print_policy(set, cb->name);
}

/* A blank-padded field without its padding. */
static void
print_field(const char *name, const unsigned char *field, gsize size)
{
    while (size > 0 && (field[size - 1] == ' ' || field[size - 1] == '\0')) {
        size--;
    }
    printf("  %s: \"%.*s\"\n", name, (int)size, (const char *)field);
}

static void
print_token(P11muxBackend *backend, CK_SLOT_ID real)
{
    CK_TOKEN_INFO token;
    g_autofree char *flags = NULL;
    CK_RV rv = p11mux_backend_get_token_info(backend, real, &token);

    if (rv != CKR_OK) {
        printf("  token: none (%s)\n", p11mux_rv_name(rv) ? p11mux_rv_name(rv) : "error");
        return;
    }
    flags = p11mux_flags_format(P11MUX_FLAGS_TOKEN_INFO, token.flags);
    print_field("token", token.label, sizeof(token.label));
    print_field("manufacturer", token.manufacturerID, sizeof(token.manufacturerID));
    print_field("model", token.model, sizeof(token.model));
    print_field("serial", token.serialNumber, sizeof(token.serialNumber));
    printf("  token flags: %s\n", flags);
}

static void
print_slot(const P11muxPolicySet *set, P11muxRouter *router, const P11muxSlot *slot)
{
    P11muxBackend *backend = slot->backend;
    CK_SLOT_INFO info;
    g_autofree char *flags = NULL;

    printf("slot 0x%lx\n", slot->id);
    printf("  backend: %s\n", backend->name);
    printf("  backend slot: 0x%lx\n", slot->real);
    if (p11mux_backend_get_slot_info(backend, slot->real, &info) == CKR_OK) {
        flags = p11mux_flags_format(P11MUX_FLAGS_SLOT_INFO, info.flags);
        print_field("description", info.slotDescription, sizeof(info.slotDescription));
        printf("  slot flags: %s\n", flags);
    }
    print_token(backend, slot->real);
    print_policy(set, backend->name);
    printf("  visible: %s\n", slot->hidden ? "no (a member of an HA group)"
                              : p11mux_policy_allows_slot(router->policy, slot) ? "yes"
                                                                               : "no (policy)");
}

/*
 * Each enabled backend is first tried in a child process: one that hangs,
 * crashes or exits there is not loaded here (list must never hang or die
 * with a backend), and unloaded says what became of it ("name" -> state).
 */
static void
set_aside_misbehaving(P11muxConf *conf, GHashTable *unloaded, guint timeout_ms)
{
    guint i;

    for (i = 0; i < conf->backends->len; i++) {
        P11muxConfBackend *cb = g_ptr_array_index(conf->backends, i);
        g_autoptr(P11muxProbe) probe = NULL;

        if (!cb->enabled) {
            continue;
        }
        probe = p11mux_probe_backend(conf, cb->name, timeout_ms);
        if (!p11mux_probe_answered(probe)) {
            g_autofree char *what = p11mux_probe_describe(probe, timeout_ms);

            g_hash_table_insert(unloaded, g_strdup(cb->name),
                                g_strdup_printf("%s, in a process list started to try it; not "
                                                "loaded (p11mux check-config --load)",
                                                what));
            cb->enabled = FALSE;
        }
    }
}

static int
list(const char *config, guint timeout_ms)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GHashTable) unloaded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    P11muxConf *conf = p11mux_cli_load_router_conf(config, &error);
    P11muxRouter *router = NULL;
    const P11muxPolicySet *set;
    GPtrArray *slots = NULL;
    g_autofree char *groups = NULL;
    guint i;

    if (conf != NULL) {
        set_aside_misbehaving(conf, unloaded, timeout_ms);
        router = p11mux_cli_router_from_conf(conf, &error);
    }
    if (router == NULL) {
        p11mux_cli_print_searched(config, NULL);
        p11mux_cli_error("%s", error->message);
        return P11MUX_EXIT_ERROR;
    }
    /* the policies the router compiled, as the module enforces them */
    set = router->policies;
    p11mux_cli_print_searched(config, router->conf);
    p11mux_cli_warn_registered(router->conf);
    if (router->conf->backends->len == 0) {
        printf("no backends: %s\n", router->conf->files->len == 0
                                        ? "no configuration file found (searched the paths above)"
                                        : "the configuration names none");
    }
    for (i = 0; i < router->conf->backends->len; i++) {
        print_backend(set, router, g_ptr_array_index(router->conf->backends, i), unloaded);
    }
    /* asking every backend again interns slots that appeared; the map then
     * holds every slot, those the policy hides included */
    if (p11mux_router_slot_list(router, CK_FALSE, &slots) == CKR_OK) {
        g_ptr_array_unref(slots);
    }
    slots = p11mux_slotmap_list(router->slots);
    for (i = 0; i < slots->len; i++) {
        print_slot(set, router, g_ptr_array_index(slots, i));
    }
    g_ptr_array_unref(slots);
    groups = p11mux_groups_describe(router);
    fputs(groups, stdout);
    p11mux_router_free(router);
    return P11MUX_EXIT_OK;
}

int
p11mux_cli_list(int argc, char **argv)
{
    g_autofree char *config = NULL;
    gint timeout = P11MUX_CLI_PROBE_TIMEOUT_MS / 1000;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
         "Read FILE alone instead of the layered configuration", "FILE"},
        {"timeout", 't', 0, G_OPTION_ARG_INT, &timeout,
         "Seconds a backend has to load and initialise in the process that tries it first "
         "(default 10)",
         "SECONDS"},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new(NULL);

    g_set_prgname("p11mux list");
    g_option_context_set_summary(context, "Every backend p11mux loads (library, state, load "
                                          "error) and every slot it shows (p11mux id, backend "
                                          "slot id, token, flags, policy).");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!p11mux_cli_parse_options(context, &argc, &argv)) {
        return P11MUX_EXIT_USAGE;
    }
    if (argc > 1) {
        p11mux_cli_error("list: unexpected argument '%s'", argv[1]);
        return P11MUX_EXIT_USAGE;
    }
    if (timeout < 1 || timeout > 3600) {
        p11mux_cli_error("list: --timeout takes 1 to 3600 seconds");
        return P11MUX_EXIT_USAGE;
    }
    return list(config, (guint)timeout * 1000);
}
