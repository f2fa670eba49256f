/*
 * The loadable front module p11mux.so: exactly the three PKCS #11 entry
 * points are exported (modules/p11mux.map; checked by a test).
 */
#include "config.h"

#include "p11mux-functions.h"
#include "p11mux-pkcs11.h"

#define P11MUX_EXPORT __attribute__((visibility("default")))

P11MUX_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList);
P11MUX_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount);
P11MUX_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                                   CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags);

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    return p11mux_fwd_C_GetFunctionList(ppFunctionList);
}

CK_RV
C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    return p11mux_fwd_C_GetInterfaceList(pInterfacesList, pulCount);
}

CK_RV
C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
               CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    return p11mux_fwd_C_GetInterface(pInterfaceName, pVersion, ppInterface, flags);
}
