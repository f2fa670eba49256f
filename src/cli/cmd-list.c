/*
 * p11mux list [--config FILE]: every backend (library, state, load error)
 * and every slot (p11mux id, backend, backend slot id, token label, serial,
 * flags, policy), read by loading the backends exactly as the module does.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "constants.h"
#include "policy.h"
#include "router.h"

static P11muxBackend *
find_backend(GPtrArray *backends, const char *name)
{
    guint i;

    for (i = 0; i < backends->len; i++) {
        P11muxBackend *backend = g_ptr_array_index(backends, i);

        if (strcmp(backend->name, name) == 0) {
            return backend;
        }
    }
    return NULL;
}

static void
print_policy(const P11muxConf *conf, const char *backend)
{
    const P11muxConfValue *origin = NULL;
    const char *policy = p11mux_cli_backend_policy(conf, backend, &origin);

    if (policy == NULL) {
        printf("  policy: none\n");
    } else {
        printf("  policy: %s (%s:%d)\n", policy, origin->origin.file, origin->origin.line);
    }
}

static void
print_backend(const P11muxConf *conf, P11muxRouter *router, const P11muxConfBackend *cb)
{
    P11muxBackend *loaded = find_backend(router->backends, cb->name);
    P11muxBackend *failed = find_backend(router->skipped, cb->name);

    printf("backend %s\n", cb->name);
    printf("  library: %s\n", cb->module != NULL ? cb->module : "(none)");
    if (!cb->enabled) {
        printf("  state: disabled\n");
    } else if (loaded != NULL) {
        printf("  state: loaded\n");
        printf("  interface: %s\n", p11mux_backend_is_3_0(loaded) ? "3.0" : "2.40");
    } else {
        printf("  state: failed\n");
        printf("  error: %s\n",
               failed != NULL && failed->error != NULL ? failed->error : "not loaded");
    }
    print_policy(conf, cb->name);
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
    CK_RV rv = backend->functions->C_GetTokenInfo(real, &token);

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
print_slot(P11muxRouter *router, const P11muxSlot *slot)
{
    const P11muxConf *conf = router->conf;
    P11muxBackend *backend = slot->backend;
    CK_SLOT_INFO info;
    g_autofree char *flags = NULL;

    printf("slot 0x%lx\n", slot->id);
    printf("  backend: %s\n", backend->name);
    printf("  backend slot: 0x%lx\n", slot->real);
    if (backend->functions->C_GetSlotInfo(slot->real, &info) == CKR_OK) {
        flags = p11mux_flags_format(P11MUX_FLAGS_SLOT_INFO, info.flags);
        print_field("description", info.slotDescription, sizeof(info.slotDescription));
        printf("  slot flags: %s\n", flags);
    }
    print_token(backend, slot->real);
    print_policy(conf, backend->name);
    printf("  visible: %s\n", p11mux_policy_allows_slot(router, slot) ? "yes" : "no (policy)");
}

static int
list(const char *config)
{
    g_autoptr(GError) error = NULL;
    P11muxRouter *router = p11mux_cli_router_new(config, &error);
    GPtrArray *slots = NULL;
    guint i;

    if (router == NULL) {
        p11mux_cli_print_searched(config, NULL);
        p11mux_cli_error("%s", error->message);
        return P11MUX_EXIT_ERROR;
    }
    p11mux_cli_print_searched(config, router->conf);
    p11mux_cli_warn_registered(router->conf);
    if (router->conf->backends->len == 0) {
        printf("no backends: %s\n", router->conf->files->len == 0
                                        ? "no configuration file found (searched the paths above)"
                                        : "the configuration names none");
    }
    for (i = 0; i < router->conf->backends->len; i++) {
        print_backend(router->conf, router, g_ptr_array_index(router->conf->backends, i));
    }
    /* asking every backend again interns slots that appeared; the map then
     * holds every slot, those the policy hides included */
    if (p11mux_router_slot_list(router, CK_FALSE, &slots) == CKR_OK) {
        g_ptr_array_unref(slots);
    }
    slots = p11mux_slotmap_list(router->slots);
    for (i = 0; i < slots->len; i++) {
        print_slot(router, g_ptr_array_index(slots, i));
    }
    g_ptr_array_unref(slots);
    p11mux_router_free(router);
    return P11MUX_EXIT_OK;
}

int
p11mux_cli_list(int argc, char **argv)
{
    g_autofree char *config = NULL;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
         "Read FILE alone instead of the layered configuration", "FILE"},
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
    return list(config);
}
