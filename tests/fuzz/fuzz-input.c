/*
 * Reading a fuzzer's input (fuzz-input.h).
 */
#include "config.h"

#include "fuzz-input.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

guint8
fuzz_byte(FuzzInput *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

gboolean
fuzz_done(const FuzzInput *in)
{
    return in->pos >= in->size;
}

guint
fuzz_below(FuzzInput *in, guint n)
{
    return n <= 1 ? 0 : fuzz_byte(in) % n;
}

CK_ULONG
fuzz_ulong(FuzzInput *in)
{
    CK_ULONG value = 0;

    for (guint i = 0; i < sizeof value; i++) {
        value = (value << 8) | fuzz_byte(in);
    }
    return value;
}

char *
fuzz_take_line(FuzzInput *in)
{
    const char *start = (const char *)in->data + in->pos;
    gsize n = 0;

    while (in->pos + n < in->size && start[n] != '\n' && start[n] != '\0') {
        n++;
    }
    in->pos = MIN(in->size, in->pos + n + 1);
    return g_strndup(start, n);
}

void
fuzz_fail(const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    fprintf(stderr, "%s: ", program_invocation_short_name);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
