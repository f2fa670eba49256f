/*
 * Reading a fuzzer's input, shared by the fuzz targets: bytes, small
 * numbers and CK_ULONGs taken from the front, zeros once it is used up;
 * and the failure of an invariant.
 */
#ifndef P11MUX_FUZZ_INPUT_H
#define P11MUX_FUZZ_INPUT_H

#include <glib.h>

#include "p11mux-pkcs11.h"

typedef struct {
    const guint8 *data;
    gsize size;
    gsize pos;
} FuzzInput;

guint8 fuzz_byte(FuzzInput *in);
guint fuzz_below(FuzzInput *in, guint n); /* 0 .. n-1 */
CK_ULONG fuzz_ulong(FuzzInput *in);
gboolean fuzz_done(const FuzzInput *in);

/* The input up to a NUL, a line break or its end, as text (transfer full);
 * the line break is consumed. */
char *fuzz_take_line(FuzzInput *in);

/* "PROGRAM: message" on stderr, then abort(): an invariant does not hold. */
void fuzz_fail(const char *format, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;

#endif /* P11MUX_FUZZ_INPUT_H */
