/*
 * What the two files of the fuzz-policy target share: buffers of exact
 * lengths, freed after each input, and the URI part.
 */
#ifndef P11MUX_FUZZ_POLICY_H
#define P11MUX_FUZZ_POLICY_H

#include <glib.h>

#include "fuzz-input.h"
#include "policy-private.h"

/* length bytes (malloc(0) for none, so that ASan sees any read) */
gpointer fuzz_policy_alloc(gsize length);
gpointer fuzz_policy_copy(const void *data, gsize length);

/* length bytes of input (zeros past its end), in a buffer of their own */
guint8 *fuzz_policy_take(FuzzInput *in, gsize length);

/* The URI matcher: a line of URIs, then an object and its place. */
void fuzz_policy_uris(FuzzInput *in);

#endif /* P11MUX_FUZZ_POLICY_H */
