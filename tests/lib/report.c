/*
 * PASS:/FAIL: lines of the test programs (report.h).
 */
#include "config.h"

#include <stdio.h>

#include "report.h"

int
p11mux_test_rv(const char *what, CK_RV rv, CK_RV want)
{
    if (rv == want) {
        printf("PASS: %s\n", what);
        return 0;
    }
    printf("FAIL: %s: rv 0x%lx, expected 0x%lx\n", what, (unsigned long)rv, (unsigned long)want);
    return 1;
}
