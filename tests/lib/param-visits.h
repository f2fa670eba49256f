/*
 * A visitor for the mechanism parameter walker that records what it is
 * told, shared by the walker's unit tests (tests/unit/test-params.c) and
 * its fuzz target (tests/fuzz/fuzz-params.c).
 */
#ifndef P11MUX_PARAM_VISITS_H
#define P11MUX_PARAM_VISITS_H

#include <glib.h>

#include "mech-params.h"

typedef struct {
    GArray *algorithms;      /* CK_MECHANISM_TYPE, in the order reported */
    GArray *keys;            /* CK_OBJECT_HANDLE */
    GArray *templates;       /* CK_ULONG: each template's count */
    GPtrArray *outs;         /* CK_OBJECT_HANDLE *: where new keys' handles go */
    GPtrArray *memory;       /* a copying walk's */
    CK_ATTRIBUTE *replacement; /* nullable: every template becomes this one attribute */
} ParamVisits;

/* Records everything; param_visits_copying also copies (memory from visits). */
extern const P11muxParamVisitor param_visits_all;
extern const P11muxParamVisitor param_visits_copying;

void param_visits_init(ParamVisits *visits);
void param_visits_clear(ParamVisits *visits);

/* The same algorithms, keys and output places, in the same order. */
gboolean param_visits_same(const ParamVisits *a, const ParamVisits *b);

#endif /* P11MUX_PARAM_VISITS_H */
