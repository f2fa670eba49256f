/*
 * PASS:/FAIL: lines of the test programs that load a module themselves
 * (tests/group/, tests/interfaces/), read by their scripts.
 */
#ifndef P11MUX_TEST_REPORT_H
#define P11MUX_TEST_REPORT_H

#include "p11mux-pkcs11.h"

/* "PASS: what" when rv is want, else "FAIL: what: rv 0x.., expected 0x..";
 * 1 on a failure, else 0 (for the caller's count of failures). */
int p11mux_test_rv(const char *what, CK_RV rv, CK_RV want);

#endif /* P11MUX_TEST_REPORT_H */
