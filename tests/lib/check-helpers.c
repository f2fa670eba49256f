/*
 * Helpers for the Check unit tests (see check-helpers.h).
 */
#include "config.h"

#include "check-helpers.h"

#include "constants.h"

const char *
p11mux_check_rv_describe(CK_RV rv, char *buf, gsize size)
{
    const char *name = p11mux_rv_name(rv);

    if (name != NULL) {
        g_snprintf(buf, size, "%s (0x%lx)", name, rv);
    } else if (rv >= P11MUX_VENDOR_BASE) {
        g_snprintf(buf, size, "CKR_VENDOR_DEFINED+0x%lx (0x%lx)", rv - P11MUX_VENDOR_BASE, rv);
    } else {
        g_snprintf(buf, size, "unknown (0x%lx)", rv);
    }
    return buf;
}
