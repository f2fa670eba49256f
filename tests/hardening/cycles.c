/*
 * Initialisation cycles: loads MODULE (p11mux.so, or a backend directly)
 * once, then CYCLES times C_Initialize / C_GetSlotList / C_OpenSession and
 * C_CloseSession on the first slot with a token / C_Finalize, and prints
 * the resident set size (from /proc/self/statm) after cycle FIRST and after
 * the last:
 *
 *     cycles MODULE CYCLES FIRST [INIT-RESERVED]
 *     rss-kib-after-FIRST N
 *     rss-kib-after-CYCLES M
 *
 * INIT-RESERVED (for NSS softoken loaded directly) goes into
 * CK_C_INITIALIZE_ARGS.pReserved.  Exit status 0 when every call answered
 * CKR_OK, else 1 with the failing call on stderr.  Used by
 * tests/integration/cycles.sh.
 */
#include "config.h"

#include <dlfcn.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "p11mux-pkcs11.h"

static long
rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *statm = fopen("/proc/self/statm", "r");

    if (statm == NULL) {
        return -1;
    }
    if (fscanf(statm, "%ld %ld", &pages, &resident) != 2) {
        resident = -1;
    }
    fclose(statm);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#define CHECK(CALL)                                                                                \
    do {                                                                                           \
        CK_RV rv_ = (CALL);                                                                        \
        if (rv_ != CKR_OK) {                                                                       \
            fprintf(stderr, "cycle %d: %s: 0x%lx\n", cycle, #CALL, (unsigned long)rv_);            \
            return FALSE;                                                                          \
        }                                                                                          \
    } while (0)

static gboolean
one_cycle(CK_FUNCTION_LIST_PTR p11, CK_C_INITIALIZE_ARGS *args, int cycle)
{
    CK_SLOT_ID slots[64];
    CK_ULONG count = G_N_ELEMENTS(slots);
    CK_SESSION_HANDLE session;

    CHECK(p11->C_Initialize(args));
    CHECK(p11->C_GetSlotList(CK_TRUE, slots, &count));
    if (count > 0) {
        CHECK(p11->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &session));
        CHECK(p11->C_CloseSession(session));
    }
    CHECK(p11->C_Finalize(NULL));
    return TRUE;
}

int
main(int argc, char **argv)
{
    CK_C_INITIALIZE_ARGS args = {0};
    CK_C_GetFunctionList get_function_list;
    CK_FUNCTION_LIST_PTR p11 = NULL;
    void *dl;
    int cycles, first, cycle;

    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: cycles MODULE CYCLES FIRST [INIT-RESERVED]\n");
        return 2;
    }
    cycles = atoi(argv[2]);
    first = atoi(argv[3]);
    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = argc == 5 ? argv[4] : NULL;
    dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    get_function_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    if (get_function_list == NULL || get_function_list(&p11) != CKR_OK) {
        fprintf(stderr, "%s: no function list\n", argv[1]);
        return 1;
    }
    for (cycle = 1; cycle <= cycles; cycle++) {
        if (!one_cycle(p11, &args, cycle)) {
            return 1;
        }
        if (cycle == first) {
            printf("rss-kib-after-%d %ld\n", first, rss_kib());
        }
    }
    printf("rss-kib-after-%d %ld\n", cycles, rss_kib());
    return 0;
}
