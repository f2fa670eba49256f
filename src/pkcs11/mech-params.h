/*
 * Mechanism parameters as data: the layouts generated from
 * src/pkcs11/mechanism-params.tab (src/pkcs11/gen-params.py) and the one walker that reads
 * a CK_MECHANISM's parameter by them.  The policy judges what the walker
 * reports (src/policy/policy-params.c); nothing else reads a parameter by hand.
 */
#ifndef P11MUX_MECH_PARAMS_H
#define P11MUX_MECH_PARAMS_H

#include <glib.h>

#include "p11mux-pkcs11.h"

typedef enum {
    P11MUX_FIELD_VALUE,       /* no rule */
    P11MUX_FIELD_LEN,         /* a length or count other fields name */
    P11MUX_FIELD_BYTES,       /* data; NULL with a non-zero length is malformed */
    P11MUX_FIELD_HASH,        /* a CK_MECHANISM_TYPE the parameter names */
    P11MUX_FIELD_MGF,         /* CKG_MGF1_*: a hash */
    P11MUX_FIELD_KDF,         /* CKD_*: a hash, or none */
    P11MUX_FIELD_PBKDF2_PRF,  /* CKP_PKCS5_PBKD2_*: an HMAC */
    P11MUX_FIELD_KEY,         /* a key handle used (conditionally: ref, cond) */
    P11MUX_FIELD_ONE_OF,      /* a value from a list (a type telling what another holds) */
    P11MUX_FIELD_DATA_OR_KEY, /* data of ref bytes, or by a type a pointer to a key handle */
    P11MUX_FIELD_KEY_OUT,     /* a handle the backend writes */
    P11MUX_FIELD_KEY_OUT_PTR, /* where the backend writes a new handle */
    P11MUX_FIELD_TEMPLATE,    /* a template of ref attributes for a new key */
    P11MUX_FIELD_STRUCT,      /* a pointer to one structure, required */
    P11MUX_FIELD_STRUCT_OUT,  /* a pointer to a structure the backend fills */
    P11MUX_FIELD_ARRAY,       /* a pointer to ref structures */
    P11MUX_FIELD_INLINE,      /* a structure held in place */
} P11muxFieldRole;

typedef struct P11muxParamLayout P11muxParamLayout;
/* One walk in progress (src/pkcs11/mech-params.c): what the generated walkers
 * pass to the helpers below. */
typedef struct P11muxParamWalk P11muxParamWalk;

typedef struct {
    const char *name;
    P11muxFieldRole role;
    gsize offset;
    gsize width; /* bytes of the field itself */
    int ref;     /* the length/count field (bytes, template, array) or the
                  * condition field (a conditional key); -1: none */
    gboolean has_cond_value; /* a conditional key: ref must equal cond_value, else be true */
    CK_ULONG cond_value;
    const P11muxParamLayout *layout; /* struct, struct-out, array, inline */
} P11muxParamField;

struct P11muxParamLayout {
    const char *name;
    gsize size;
    gsize n_fields;
    const P11muxParamField *fields; /* for the tests and the fuzzer */
    /* generated from the fields: checks one structure at in (and the
     * structures it points to); copy: the walk's copy of it, or NULL */
    CK_RV (*walk)(const P11muxParamWalk *walk, const guint8 *in, guint8 *copy, guint depth);
};

typedef enum {
    P11MUX_PARAM_NONE,           /* no parameter: ulParameterLen 0 */
    P11MUX_PARAM_BYTES,          /* a byte string of any length */
    P11MUX_PARAM_STRUCT,         /* layout, ulParameterLen its size */
    P11MUX_PARAM_STRUCT_OR_NONE, /* the same, or no parameter */
    P11MUX_PARAM_OPAQUE,         /* not read: refused under a policy unless allowed */
} P11muxParamClass;

typedef struct {
    CK_MECHANISM_TYPE type;
    guint vendor; /* 0: every module; else p11mux_param_vendors[vendor - 1] */
    P11muxParamClass klass;
    const P11muxParamLayout *layout; /* STRUCT, STRUCT_OR_NONE */
    const char *name;
} P11muxMechParams;

/* Generated (p11mux-params.c), in the table's order. */
extern const P11muxMechParams p11mux_mech_params[];
extern const gsize p11mux_n_mech_params;
extern const P11muxParamLayout *const p11mux_param_layouts[];
extern const gsize p11mux_n_param_layouts;
extern const char *const p11mux_param_vendors[]; /* NULL-terminated */

/* What p11mux knows of type in a module of vendor (p11mux_param_vendor_of);
 * NULL: unknown (transfer none). */
const P11muxMechParams *p11mux_mech_params_lookup(CK_MECHANISM_TYPE type, guint vendor);

/* The vendor of a module whose C_GetInfo said manufacturer (32 bytes, blank
 * padded): an index for p11mux_mech_params_lookup, 0 for none of the table's. */
guint p11mux_param_vendor_of(const CK_UTF8CHAR manufacturer[32]);

/* Limits of what the walker reads: deeper nesting or longer arrays are
 * CKR_MECHANISM_PARAM_INVALID. */
#define P11MUX_PARAM_MAX_DEPTH 4
#define P11MUX_PARAM_MAX_ARRAY 64

/*
 * What the walker reports, in the order of the fields.  Any callback may be
 * NULL; one that returns other than CKR_OK stops the walk with that value.
 *   algorithm  a mechanism the parameter names (a hash selector, or the hash
 *              a CKG_/CKD_/CKP_ value stands for)
 *   key        a key handle the operation uses
 *   tmpl       a template for a key the backend makes; in a copying walk it
 *              may replace *tmpl and *count with memory of its own
 *   key_out    where the backend writes the handle of a key it makes (in the
 *              caller's memory)
 *   alloc      non-NULL: the walk copies every structure and array it
 *              reads (not data, not outputs) into memory from alloc, so that
 *              tmpl may change the copy; NULL from alloc is CKR_HOST_MEMORY
 */
typedef struct {
    CK_RV (*algorithm)(gpointer ctx, CK_MECHANISM_TYPE type);
    CK_RV (*key)(gpointer ctx, CK_OBJECT_HANDLE handle);
    CK_RV (*tmpl)(gpointer ctx, CK_ATTRIBUTE_PTR *tmpl, CK_ULONG *count);
    CK_RV (*key_out)(gpointer ctx, CK_OBJECT_HANDLE *where);
    gpointer (*alloc)(gpointer ctx, gsize size);
} P11muxParamVisitor;

/*
 * Walk mechanism's parameter by params' layout: CKR_MECHANISM_PARAM_INVALID
 * when it does not fit (a length other than the layout's, a required pointer
 * NULL, data NULL with a length, an unknown selector, nesting or counts past
 * the limits), else what the callbacks say.  params must not be opaque.  In
 * a copying walk *copy is the new parameter (the caller's when the layout
 * has no structure), else untouched.
 */
CK_RV p11mux_mech_params_walk(const P11muxMechParams *params, const CK_MECHANISM *mechanism,
                              const P11muxParamVisitor *visitor, gpointer ctx, void **copy);

/* ------------------------------------------ for the generated walkers */

/* Data NULL with a length is a pointer the caller should not have passed. */
static inline CK_RV
p11mux_param_data(const void *data, CK_ULONG len)
{
    return data == NULL && len > 0 ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
}

CK_RV p11mux_param_algorithm(const P11muxParamWalk *walk, CK_MECHANISM_TYPE type);
/* role: P11MUX_FIELD_MGF, _KDF or _PBKDF2_PRF; an unknown value is
 * CKR_MECHANISM_PARAM_INVALID. */
CK_RV p11mux_param_selector(const P11muxParamWalk *walk, P11muxFieldRole role, CK_ULONG value);
CK_RV p11mux_param_key(const P11muxParamWalk *walk, CK_OBJECT_HANDLE handle);
/* A key handle the caller's memory holds at where (len bytes: the size of a
 * handle, else CKR_MECHANISM_PARAM_INVALID). */
CK_RV p11mux_param_key_at(const P11muxParamWalk *walk, const void *where, CK_ULONG len);
/* where: NULL is CKR_MECHANISM_PARAM_INVALID. */
CK_RV p11mux_param_key_out(const P11muxParamWalk *walk, CK_OBJECT_HANDLE *where);
/* copy_tmpl, copy_count: where the walk's copy holds them, or NULL. */
CK_RV p11mux_param_template(const P11muxParamWalk *walk, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
                            guint8 *copy_tmpl, guint8 *copy_count);
/* An array of count structures at in may be walked: not NULL unless empty,
 * within the limits of count and depth. */
static inline CK_RV
p11mux_param_count(const void *in, CK_ULONG count, guint depth)
{
    if ((in == NULL && count > 0) || count > P11MUX_PARAM_MAX_ARRAY ||
        depth >= P11MUX_PARAM_MAX_DEPTH) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    return CKR_OK;
}

/* count structures of layout at in (required: in must not be NULL);
 * copy_pointer: where the walk's copy holds the pointer, or NULL. */
CK_RV p11mux_param_nested(const P11muxParamWalk *walk, const P11muxParamLayout *layout,
                          const void *in, CK_ULONG count, gboolean required, guint depth,
                          guint8 *copy_pointer);
/* A structure the backend fills: only its new keys are reported. */
CK_RV p11mux_param_struct_out(const P11muxParamWalk *walk, const P11muxParamLayout *layout,
                              const void *in, guint depth);

#endif /* P11MUX_MECH_PARAMS_H */
