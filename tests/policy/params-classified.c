/*
 * params-classified: every mechanism a PKCS #11 module offers is in p11mux's
 * parameter table (src/pkcs11/mechanism-params.tab), as one of that module's vendor
 * (by its C_GetInfo manufacturerID) where the value is a vendor's own.
 *
 *     params-classified [--reserved STRING] MODULE
 *
 * Loads MODULE directly (not through p11mux), asks every slot with a token
 * for its mechanism list, and prints one line per mechanism:
 * "CLASS NAME" when classified, "UNCLASSIFIED 0xVALUE" otherwise.  Exit
 * status: 0 when every mechanism is classified, 1 when one is not, 2 for a
 * setup error.
 */
#include "config.h"

#include <dlfcn.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "constants.h"
#include "mech-params.h"

static const char *const class_names[] = {"none", "bytes", "struct", "struct-or-none", "opaque"};

static int
report_slot(CK_FUNCTION_LIST_PTR p11, CK_SLOT_ID slot, guint vendor)
{
    g_autofree CK_MECHANISM_TYPE *list = NULL;
    CK_ULONG count = 0, i;
    int unclassified = 0;

    if (p11->C_GetMechanismList(slot, NULL, &count) != CKR_OK) {
        return 0;
    }
    list = g_new0(CK_MECHANISM_TYPE, MAX(count, 1));
    if (p11->C_GetMechanismList(slot, list, &count) != CKR_OK) {
        return 0;
    }
    for (i = 0; i < count; i++) {
        const P11muxMechParams *params = p11mux_mech_params_lookup(list[i], vendor);
        const char *name = p11mux_constant_name(P11MUX_CONST_CKM, list[i]);

        if (params == NULL) {
            printf("UNCLASSIFIED 0x%lx\n", (unsigned long)list[i]);
            unclassified++;
        } else {
            printf("%s %s\n", class_names[params->klass],
                   params->vendor != 0 ? params->name : name != NULL ? name : "?");
        }
    }
    return unclassified;
}

int
main(int argc, char **argv)
{
    CK_C_INITIALIZE_ARGS args = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL};
    CK_C_GetFunctionList get_list;
    CK_FUNCTION_LIST_PTR p11;
    g_autofree CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0, i;
    CK_INFO info;
    int unclassified = 0;
    void *module;

    if (argc == 4 && strcmp(argv[1], "--reserved") == 0) {
        args.pReserved = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: params-classified [--reserved STRING] MODULE\n");
        return 2;
    }
    module = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    get_list = module != NULL ? (CK_C_GetFunctionList)dlsym(module, "C_GetFunctionList") : NULL;
    if (get_list == NULL || get_list(&p11) != CKR_OK || p11->C_Initialize(&args) != CKR_OK ||
        p11->C_GetInfo(&info) != CKR_OK || p11->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK) {
        fprintf(stderr, "params-classified: cannot use %s\n", argv[1]);
        return 2;
    }
    slots = g_new0(CK_SLOT_ID, MAX(n, 1));
    if (p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) {
        return 2;
    }
    for (i = 0; i < n; i++) {
        unclassified += report_slot(p11, slots[i], p11mux_param_vendor_of(info.manufacturerID));
    }
    p11->C_Finalize(NULL);
    return unclassified == 0 ? 0 : 1;
}
