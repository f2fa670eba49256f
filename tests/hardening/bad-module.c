/*
 * Libraries that are not proper PKCS #11 modules, for the configuration
 * abuse test.  Built twice: without C_GetFunctionList (not-pkcs11.so), and
 * with one whose behaviour BAD_MODULE_MODE chooses (bad-pkcs11.so):
 *
 *   fail          C_GetFunctionList answers CKR_GENERAL_ERROR
 *   null-list     it answers CKR_OK and a NULL list
 *   no-initialize the list has no C_Initialize
 *   init-fails    C_Initialize answers CKR_DEVICE_ERROR
 *   p11mux        the list is p11mux's own (BAD_MODULE_P11MUX names its path)
 */
#include "config.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "p11mux-pkcs11.h"

#define EXPORT __attribute__((visibility("default")))

#ifdef BAD_MODULE_WITH_LIST

static CK_RV
bad_initialize(CK_VOID_PTR args)
{
    (void)args;
    return CKR_DEVICE_ERROR;
}

static CK_RV
bad_finalize(CK_VOID_PTR reserved)
{
    (void)reserved;
    return CKR_OK;
}

static CK_FUNCTION_LIST list = {{2, 40}};

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList);

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    const char *mode = getenv("BAD_MODULE_MODE");

    if (ppFunctionList == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    mode = mode != NULL ? mode : "fail";
    list.C_Initialize = bad_initialize;
    list.C_Finalize = bad_finalize;
    if (strcmp(mode, "null-list") == 0) {
        *ppFunctionList = NULL;
        return CKR_OK;
    }
    if (strcmp(mode, "no-initialize") == 0) {
        list.C_Initialize = NULL;
        *ppFunctionList = &list;
        return CKR_OK;
    }
    if (strcmp(mode, "init-fails") == 0) {
        *ppFunctionList = &list;
        return CKR_OK;
    }
    if (strcmp(mode, "p11mux") == 0) {
        void *dl = dlopen(getenv("BAD_MODULE_P11MUX"), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
        CK_C_GetFunctionList get =
            dl != NULL ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;

        return get != NULL ? get(ppFunctionList) : CKR_GENERAL_ERROR;
    }
    return CKR_GENERAL_ERROR;
}

#else

/* Something to export that is not PKCS #11. */
EXPORT int not_pkcs11(void);

int
not_pkcs11(void)
{
    return 42;
}

#endif
