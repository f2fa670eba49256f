/*
 * Fuzz target: the mechanism parameter walker (src/pkcs11/mech-params.c) over the
 * layouts of src/pkcs11/mechanism-params.tab.  The input chooses a mechanism whose
 * parameter p11mux reads, then builds a parameter for it field by field as
 * its layout says: values, selectors (mostly known, sometimes not), key
 * handles, byte strings, templates, nested structures and arrays with
 * their counts (some beyond the walker's limit), pointers NULL or not; and
 * the length given as ulParameterLen, which may lie.  Every block is
 * allocated to its exact size, so ASan sees any read past what the caller
 * gave.
 *
 * Invariants (abort on violation):
 * - the walk answers CKR_OK or CKR_MECHANISM_PARAM_INVALID, the same twice,
 *   with the same reports; a length other than the layout's is refused;
 * - every output handle reported points into memory the caller gave;
 * - a copying walk answers the same, writes nothing of the caller's, and
 *   its copy walked again reports the same algorithms, keys and outputs,
 *   with the templates the visitor put in.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "fuzz-input.h"
#include "mech-params.h"
#include "param-visits.h"

typedef struct {
    guint8 *memory;
    gsize size;
    guint8 *snapshot;
} Block;

typedef struct {
    FuzzInput *in;
    GArray *blocks; /* Block */
} Builder;

static guint8 *
block_new(Builder *b, gsize size)
{
    Block block = {g_malloc0(MAX(size, 1)), size, NULL};

    g_array_append_val(b->blocks, block);
    return block.memory;
}

static void
put_ulong(guint8 *base, const P11muxParamField *field, CK_ULONG value)
{
    if (field->width == 1) {
        base[field->offset] = (guint8)value;
    } else if (field->width == sizeof value) {
        memcpy(base + field->offset, &value, sizeof value);
    }
}

static void
put_pointer(guint8 *base, const P11muxParamField *field, const void *pointer)
{
    memcpy(base + field->offset, &pointer, sizeof pointer);
}

static const CK_MECHANISM_TYPE hashes[] = {
    CKM_SHA_1, CKM_SHA256, CKM_SHA384, CKM_SHA512_HMAC, CKM_SHA256_HMAC, CKM_AES_CMAC,
    CKM_TLS_PRF, CKM_KIP_DERIVE, CKM_VENDOR_DEFINED + 5,
};

static void build_struct(Builder *b, const P11muxParamLayout *layout, guint8 *base, guint depth);

/* count elements of layout, or NULL; a count beyond the limit gets no
 * memory past one element (the walker must refuse it unread). */
static guint8 *
build_array(Builder *b, const P11muxParamLayout *layout, CK_ULONG count, guint depth)
{
    CK_ULONG made = MIN(count, 1 + P11MUX_PARAM_MAX_ARRAY / 16);
    guint8 *array;
    CK_ULONG i;

    if (count > P11MUX_PARAM_MAX_ARRAY) {
        made = 1;
    }
    array = block_new(b, made * layout->size);
    for (i = 0; i < made; i++) {
        build_struct(b, layout, array + i * layout->size, depth + 1);
    }
    return array;
}

static CK_ULONG
choose_count(Builder *b)
{
    switch (fuzz_below(b->in, 8)) {
    case 0:
        return 0;
    case 1:
        return P11MUX_PARAM_MAX_ARRAY + 1 + fuzz_below(b->in, 4);
    default:
        return 1 + fuzz_below(b->in, 4);
    }
}

static void
build_template(Builder *b, guint8 *base, const P11muxParamLayout *layout,
               const P11muxParamField *field)
{
    CK_ULONG n = fuzz_below(b->in, 4), i;
    CK_ATTRIBUTE *tmpl = n > 0 || fuzz_byte(b->in) & 1 ? (CK_ATTRIBUTE *)block_new(
                                                             b, n * sizeof(CK_ATTRIBUTE))
                                                       : NULL;

    for (i = 0; tmpl != NULL && i < n; i++) {
        tmpl[i].type = fuzz_below(b->in, 0x200);
        tmpl[i].ulValueLen = fuzz_below(b->in, 3);
        tmpl[i].pValue = block_new(b, tmpl[i].ulValueLen);
    }
    if (tmpl == NULL && fuzz_byte(b->in) & 1) {
        n = 1 + fuzz_below(b->in, 3); /* a count with no template */
    }
    put_pointer(base, field, tmpl);
    put_ulong(base, &layout->fields[field->ref], n);
}

static void
build_field(Builder *b, const P11muxParamLayout *layout, guint8 *base,
            const P11muxParamField *field, guint depth)
{
    CK_ULONG count;

    switch (field->role) {
    case P11MUX_FIELD_VALUE:
    case P11MUX_FIELD_LEN:
    case P11MUX_FIELD_KEY:
    case P11MUX_FIELD_KEY_OUT:
        if (field->width <= sizeof(CK_ULONG)) {
            put_ulong(base, field, fuzz_ulong(b->in));
        }
        break;
    case P11MUX_FIELD_HASH:
        put_ulong(base, field, hashes[fuzz_below(b->in, G_N_ELEMENTS(hashes))]);
        break;
    case P11MUX_FIELD_MGF:
    case P11MUX_FIELD_KDF:
    case P11MUX_FIELD_PBKDF2_PRF:
        put_ulong(base, field, fuzz_below(b->in, 0x20));
        break;
    case P11MUX_FIELD_ONE_OF:
        put_ulong(base, field, fuzz_below(b->in, 8));
        break;
    case P11MUX_FIELD_DATA_OR_KEY:
    case P11MUX_FIELD_BYTES:
        count = fuzz_byte(b->in) & 1 ? sizeof(CK_OBJECT_HANDLE) : fuzz_below(b->in, 5);
        put_pointer(base, field, fuzz_byte(b->in) & 3 ? block_new(b, count) : NULL);
        if (field->ref >= 0) {
            put_ulong(base, &layout->fields[field->ref], count);
        }
        break;
    case P11MUX_FIELD_KEY_OUT_PTR:
        put_pointer(base, field,
                    fuzz_byte(b->in) & 7 ? block_new(b, sizeof(CK_OBJECT_HANDLE)) : NULL);
        break;
    case P11MUX_FIELD_TEMPLATE:
        build_template(b, base, layout, field);
        break;
    case P11MUX_FIELD_STRUCT:
    case P11MUX_FIELD_STRUCT_OUT:
        put_pointer(base, field,
                    fuzz_byte(b->in) & 7 ? build_array(b, field->layout, 1, depth) : NULL);
        break;
    case P11MUX_FIELD_ARRAY:
        count = choose_count(b);
        put_pointer(base, field,
                    count > 0 || fuzz_byte(b->in) & 1 ? build_array(b, field->layout, count, depth)
                                                      : NULL);
        put_ulong(base, &layout->fields[field->ref], count);
        break;
    case P11MUX_FIELD_INLINE:
        build_struct(b, field->layout, base + field->offset, depth + 1);
        break;
    }
}

static void
build_struct(Builder *b, const P11muxParamLayout *layout, guint8 *base, guint depth)
{
    gsize i;
    guint pass;

    /* values first, then what points elsewhere: a pointer's field sets
     * the length it names, which a length field after it must not undo
     * (every length is a real buffer's) */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < layout->n_fields && depth < 8; i++) {
            const P11muxParamField *field = &layout->fields[i];
            gboolean value = field->role == P11MUX_FIELD_VALUE || field->role == P11MUX_FIELD_LEN;

            if (value == (pass == 0)) {
                build_field(b, layout, base, field, depth);
            }
        }
    }
}

/* ------------------------------------------------------------- reports */

static void
check_outs_inside(const Builder *b, const GPtrArray *outs)
{
    guint i, j;

    for (i = 0; i < outs->len; i++) {
        const guint8 *where = g_ptr_array_index(outs, i);
        gboolean inside = FALSE;

        for (j = 0; j < b->blocks->len && !inside; j++) {
            const Block *block = &g_array_index(b->blocks, Block, j);

            inside = where >= block->memory &&
                     where + sizeof(CK_OBJECT_HANDLE) <= block->memory + block->size;
        }
        if (!inside) {
            fuzz_fail("an output handle outside the caller's memory");
        }
    }
}

static void
snapshot(Builder *b)
{
    guint i;

    for (i = 0; i < b->blocks->len; i++) {
        Block *block = &g_array_index(b->blocks, Block, i);

        block->snapshot = g_memdup2(block->memory, MAX(block->size, 1));
    }
}

static void
check_unchanged(const Builder *b)
{
    guint i;

    for (i = 0; i < b->blocks->len; i++) {
        const Block *block = &g_array_index(b->blocks, Block, i);

        if (block->size > 0 && memcmp(block->memory, block->snapshot, block->size) != 0) {
            fuzz_fail("a copying walk wrote the caller's memory");
        }
    }
}

static void
free_blocks(Builder *b)
{
    guint i;

    for (i = 0; i < b->blocks->len; i++) {
        g_free(g_array_index(b->blocks, Block, i).memory);
        g_free(g_array_index(b->blocks, Block, i).snapshot);
    }
    g_array_unref(b->blocks);
}

/* The copy answers as the original did, with the visitor's templates. */
static void
check_copy(const P11muxMechParams *params, const CK_MECHANISM *mechanism, const ParamVisits *first)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE replacement = {CKA_SENSITIVE, &yes, sizeof yes};
    ParamVisits copied, again;
    void *copy = mechanism->pParameter;
    CK_MECHANISM second = *mechanism;
    CK_RV rv;
    guint i;

    param_visits_init(&copied);
    copied.replacement = &replacement;
    rv = p11mux_mech_params_walk(params, mechanism, &param_visits_copying, &copied, &copy);
    if (rv != CKR_OK || !param_visits_same(first, &copied)) {
        fuzz_fail("a copying walk differs from the walk");
    }
    param_visits_init(&again);
    second.pParameter = copy;
    rv = p11mux_mech_params_walk(params, &second, &param_visits_all, &again, NULL);
    if (rv != CKR_OK || !param_visits_same(first, &again) ||
        again.templates->len != first->templates->len) {
        fuzz_fail("the copy walked again differs");
    }
    for (i = 0; i < again.templates->len; i++) {
        if (g_array_index(again.templates, CK_ULONG, i) != 1) {
            fuzz_fail("the copy lacks the visitor's template");
        }
    }
    param_visits_clear(&again);
    param_visits_clear(&copied);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = {data, size, 0};
    Builder b = {&in, g_array_new(FALSE, FALSE, sizeof(Block))};
    const P11muxMechParams *params;
    CK_MECHANISM mechanism;
    ParamVisits first, second;
    CK_RV rv;
    guint pick;

    pick = fuzz_below(&in, (guint)p11mux_n_mech_params);
    params = &p11mux_mech_params[pick];
    if (params->klass == P11MUX_PARAM_OPAQUE) {
        free_blocks(&b);
        return 0;
    }
    mechanism.mechanism = params->type;
    mechanism.ulParameterLen = params->layout != NULL ? params->layout->size : fuzz_below(&in, 17);
    mechanism.pParameter = block_new(&b, mechanism.ulParameterLen);
    if (params->layout != NULL) {
        build_struct(&b, params->layout, mechanism.pParameter, 0);
        if (fuzz_below(&in, 8) == 0) {
            /* a length that lies: the block stays the layout's size */
            mechanism.ulParameterLen = fuzz_below(&in, (guint)params->layout->size * 2 + 2);
        }
    }
    snapshot(&b);
    param_visits_init(&first);
    param_visits_init(&second);
    rv = p11mux_mech_params_walk(params, &mechanism, &param_visits_all, &first, NULL);
    if (rv != CKR_OK && rv != CKR_MECHANISM_PARAM_INVALID) {
        fuzz_fail("the walk answered %#lx", (unsigned long)rv);
    }
    if (params->layout != NULL && mechanism.ulParameterLen != params->layout->size &&
        !(params->klass == P11MUX_PARAM_STRUCT_OR_NONE && mechanism.ulParameterLen == 0) &&
        rv != CKR_MECHANISM_PARAM_INVALID) {
        fuzz_fail("a length other than the layout's was accepted");
    }
    if (p11mux_mech_params_walk(params, &mechanism, &param_visits_all, &second, NULL) != rv ||
        !param_visits_same(&first, &second)) {
        fuzz_fail("two walks differ");
    }
    check_outs_inside(&b, first.outs);
    if (rv == CKR_OK && params->layout != NULL && mechanism.ulParameterLen != 0) {
        check_copy(params, &mechanism, &first);
    }
    check_unchanged(&b);
    param_visits_clear(&first);
    param_visits_clear(&second);
    free_blocks(&b);
    return 0;
}
