/*
 * Helpers for the Check unit tests.  Link tests/lib/check-helpers.c into
 * the test (CHECK_HELPERS_SOURCES in tests/lib/local.am) and
 * $(UNIT_TEST_LDADD), which brings the constant names.
 *
 *     ck_assert_rv(module->C_GetSlotInfo(99, &info), CKR_SLOT_ID_INVALID);
 *
 * fails with
 *
 *     Assertion 'module->C_GetSlotInfo(99, &info) == CKR_SLOT_ID_INVALID' failed:
 *     rv was CKR_OK (0x0), expected CKR_SLOT_ID_INVALID (0x3)
 */
#ifndef P11MUX_CHECK_HELPERS_H
#define P11MUX_CHECK_HELPERS_H

#include <check.h>
#include <glib.h>

#include "p11mux-pkcs11.h"

/* Room for "CKR_VENDOR_DEFINED+0xffffffff7fffffff (0xffffffffffffffff)". */
#define P11MUX_CHECK_RV_BUF 96

/*
 * Writes "CKR_SLOT_ID_INVALID (0x3)" into buf (size bytes), and returns buf.
 * Unknown values read "unknown (0x1234)", vendor ones
 * "CKR_VENDOR_DEFINED+0x5 (0x80000005)".  Allocates nothing, so that a
 * failing assertion (which does not return) leaks nothing.
 */
const char *p11mux_check_rv_describe(CK_RV rv, char *buf, gsize size);

/* Asserts X == Y for two CK_RVs, printing both names on failure. */
#define ck_assert_rv(X, Y)                                                                         \
    do {                                                                                           \
        CK_RV ck_rv_x_ = (X);                                                                      \
        CK_RV ck_rv_y_ = (Y);                                                                      \
        char ck_rv_xbuf_[P11MUX_CHECK_RV_BUF];                                                     \
        char ck_rv_ybuf_[P11MUX_CHECK_RV_BUF];                                                     \
        ck_assert_msg(ck_rv_x_ == ck_rv_y_, "Assertion '%s' failed: rv was %s, expected %s",       \
                      #X " == " #Y,                                                                \
                      p11mux_check_rv_describe(ck_rv_x_, ck_rv_xbuf_, sizeof(ck_rv_xbuf_)),        \
                      p11mux_check_rv_describe(ck_rv_y_, ck_rv_ybuf_, sizeof(ck_rv_ybuf_)));       \
    } while (0)

#define ck_assert_rv_ok(X) ck_assert_rv(X, CKR_OK)

#endif /* P11MUX_CHECK_HELPERS_H */
