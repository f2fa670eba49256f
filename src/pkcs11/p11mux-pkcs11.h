/*
 * The one header through which p11mux sees PKCS #11: p11-kit's 2.40
 * pkcs11.h plus our 3.0 and 3.2 supplements.
 */
#ifndef P11MUX_PKCS11_H
#define P11MUX_PKCS11_H

#include <p11-kit/pkcs11.h>

#include "pkcs11-3.0.h"
#include "pkcs11-3.2.h"

#endif /* P11MUX_PKCS11_H */
