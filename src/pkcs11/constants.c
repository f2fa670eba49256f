/*
 * PKCS #11 constant names.  The CKA_/CKM_/CKR_/... tables are generated
 * (p11mux-constants-table.c, from src/pkcs11/gen-constants.py); this file looks
 * values and names up in them and holds the hand-written CKF_ lists.
 */
#include "config.h"

#include "constants.h"

#include <stdlib.h>
#include <string.h>

G_STATIC_ASSERT(CKA_VENDOR_DEFINED == P11MUX_VENDOR_BASE);
G_STATIC_ASSERT(CKM_VENDOR_DEFINED == P11MUX_VENDOR_BASE);
G_STATIC_ASSERT(CKR_VENDOR_DEFINED == P11MUX_VENDOR_BASE);

static const char *const prefixes[] = {
    [P11MUX_CONST_CKA] = "CKA_",
    [P11MUX_CONST_CKM] = "CKM_",
    [P11MUX_CONST_CKR] = "CKR_",
    [P11MUX_CONST_CKO] = "CKO_",
    [P11MUX_CONST_CKK] = "CKK_",
    [P11MUX_CONST_CKC] = "CKC_",
    [P11MUX_CONST_CKU] = "CKU_",
    [P11MUX_CONST_CKS] = "CKS_",
    [P11MUX_CONST_CKD] = "CKD_",
    [P11MUX_CONST_CKG] = "CKG_",
    [P11MUX_CONST_CKZ] = "CKZ_",
    [P11MUX_CONST_CKH] = "CKH_",
    [P11MUX_CONST_CKN] = "CKN_",
    [P11MUX_CONST_CKP] = "CKP_",
    [P11MUX_CONST_CKS_VALIDATION] = "CKS_",
};
G_STATIC_ASSERT(G_N_ELEMENTS(prefixes) == P11MUX_CONST_N_KINDS);

const char *
p11mux_constant_kind_prefix(P11muxConstantKind kind)
{
    g_return_val_if_fail(kind < P11MUX_CONST_N_KINDS, NULL);

    return prefixes[kind];
}

static int
compare_value(const void *key, const void *member)
{
    CK_ULONG value = *(const CK_ULONG *)key;
    const P11muxConstant *constant = member;

    if (value < constant->value) {
        return -1;
    }
    return value > constant->value ? 1 : 0;
}

static int
compare_name(const void *key, const void *member)
{
    const P11muxConstant *constant = member;

    return strcmp(key, constant->name);
}

const char *
p11mux_constant_name(P11muxConstantKind kind, CK_ULONG value)
{
    const P11muxConstant *table;
    const P11muxConstant *found;
    gsize n;

    g_return_val_if_fail(kind < P11MUX_CONST_N_KINDS, NULL);

    table = p11mux_constant_table(kind, &n);
    if (n == 0) {
        return NULL;
    }
    found = bsearch(&value, table, n, sizeof(*table), compare_value);
    return found != NULL ? found->name : NULL;
}

static const P11muxConstant *
find_name(P11muxConstantKind kind, const char *name)
{
    const P11muxConstant *index;
    gsize n;

    index = p11mux_constant_index(kind, &n);
    if (n == 0) {
        return NULL;
    }
    return bsearch(name, index, n, sizeof(*index), compare_name);
}

gboolean
p11mux_constant_value(P11muxConstantKind kind, const char *name, CK_ULONG *value)
{
    const P11muxConstant *found;

    g_return_val_if_fail(kind < P11MUX_CONST_N_KINDS, FALSE);
    g_return_val_if_fail(name != NULL, FALSE);
    g_return_val_if_fail(value != NULL, FALSE);

    found = find_name(kind, name);
    if (found == NULL) {
        return FALSE;
    }
    *value = found->value;
    return TRUE;
}

char *
p11mux_constant_format(P11muxConstantKind kind, CK_ULONG value)
{
    const char *name;

    g_return_val_if_fail(kind < P11MUX_CONST_N_KINDS, NULL);

    name = p11mux_constant_name(kind, value);
    if (name != NULL) {
        return g_strdup(name);
    }
    if (value == P11MUX_VENDOR_BASE) {
        return g_strdup_printf("%sVENDOR_DEFINED", prefixes[kind]);
    }
    if (value > P11MUX_VENDOR_BASE) {
        return g_strdup_printf("%sVENDOR_DEFINED+0x%lx", prefixes[kind],
                               value - P11MUX_VENDOR_BASE);
    }
    return g_strdup_printf("0x%lx", value);
}

/* A whole C number: 0x.. hex or decimal, no sign, no blanks. */
static gboolean
parse_number(const char *text, CK_ULONG *value)
{
    guint64 number;
    guint base = 10;

    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text += 2;
        base = 16;
    }
    if (!g_ascii_string_to_unsigned(text, base, 0, G_MAXULONG, &number, NULL)) {
        return FALSE;
    }
    *value = (CK_ULONG)number;
    return TRUE;
}

/* "<PREFIX>VENDOR_DEFINED+N" */
static gboolean
parse_vendor(P11muxConstantKind kind, const char *text, CK_ULONG *value)
{
    g_autofree char *base = g_strdup_printf("%sVENDOR_DEFINED+", prefixes[kind]);
    CK_ULONG offset;

    if (!g_str_has_prefix(text, base) || !parse_number(text + strlen(base), &offset)) {
        return FALSE;
    }
    if (offset > G_MAXULONG - P11MUX_VENDOR_BASE) {
        return FALSE;
    }
    *value = P11MUX_VENDOR_BASE + offset;
    return TRUE;
}

gboolean
p11mux_constant_parse(P11muxConstantKind kind, const char *text, CK_ULONG *value)
{
    g_return_val_if_fail(kind < P11MUX_CONST_N_KINDS, FALSE);
    g_return_val_if_fail(text != NULL, FALSE);
    g_return_val_if_fail(value != NULL, FALSE);

    if (p11mux_constant_value(kind, text, value)) {
        return TRUE;
    }
    if (g_ascii_isdigit(text[0])) {
        return parse_number(text, value);
    }
    return parse_vendor(kind, text, value);
}

const char *
p11mux_rv_name(CK_RV rv)
{
    return p11mux_constant_name(P11MUX_CONST_CKR, rv);
}

char *
p11mux_rv_describe(CK_RV rv)
{
    g_autofree char *name = p11mux_constant_format(P11MUX_CONST_CKR, rv);

    if (g_str_has_prefix(name, "0x")) {
        return g_steal_pointer(&name);
    }
    return g_strdup_printf("%s (0x%lx)", name, (unsigned long)rv);
}

static gint
compare_ulong(gconstpointer a, gconstpointer b)
{
    CK_ULONG x = *(const CK_ULONG *)a;
    CK_ULONG y = *(const CK_ULONG *)b;

    if (x < y) {
        return -1;
    }
    return x > y ? 1 : 0;
}

/* The first entry of index (sorted by name) not below prefix (len bytes). */
static gsize
first_with_prefix(const P11muxConstant *index, gsize n, const char *prefix, gsize len)
{
    gsize low = 0, high = n;

    while (low < high) {
        gsize mid = low + (high - low) / 2;

        if (strncmp(index[mid].name, prefix, len) < 0) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    return low;
}

/* transfer full: the values of the names matching pattern (spec), sorted,
 * each once.  Only the names sharing the pattern's literal prefix (up to its
 * first wildcard) are tried: the index is sorted by name, so they are one
 * run of it, found by binary search. */
static GArray *
match_values(P11muxConstantKind kind, const char *pattern, GPatternSpec *spec)
{
    GArray *values = g_array_new(FALSE, FALSE, sizeof(CK_ULONG));
    const P11muxConstant *index;
    gsize n, prefix = strcspn(pattern, "*?");
    guint kept = 0;

    index = p11mux_constant_index(kind, &n);
    for (gsize i = first_with_prefix(index, n, pattern, prefix);
         i < n && strncmp(index[i].name, pattern, prefix) == 0; i++) {
        if (!(index[i].flags & P11MUX_CONSTANT_VENDOR_BASE) &&
            g_pattern_spec_match_string(spec, index[i].name)) {
            g_array_append_val(values, index[i].value);
        }
    }
    g_array_sort(values, compare_ulong);
    for (guint i = 0; i < values->len; i++) {
        if (kept == 0 || g_array_index(values, CK_ULONG, kept - 1) !=
                             g_array_index(values, CK_ULONG, i)) {
            g_array_index(values, CK_ULONG, kept++) = g_array_index(values, CK_ULONG, i);
        }
    }
    g_array_set_size(values, kept);
    return values;
}

guint
p11mux_constant_glob(P11muxConstantKind kind, const char *pattern, P11muxConstantFunc func,
                     gpointer user_data)
{
    GPatternSpec *spec;
    GArray *values;
    guint count;

    g_return_val_if_fail(kind < P11MUX_CONST_N_KINDS, 0);
    g_return_val_if_fail(pattern != NULL, 0);

    spec = g_pattern_spec_new(pattern);
    values = match_values(kind, pattern, spec);
    g_pattern_spec_free(spec);
    for (guint i = 0; func != NULL && i < values->len; i++) {
        CK_ULONG value = g_array_index(values, CK_ULONG, i);

        func(value, p11mux_constant_name(kind, value), user_data);
    }
    count = values->len;
    g_array_free(values, TRUE);
    return count;
}

/*
 * The CKF_ lists, one per field, in bit order.  Every CKF_ name the header
 * defines must appear in at least one of them, or in the test's commented
 * exclusion list (tests/unit/test-constants.c).
 */
#define FLAG(name) { name, #name, 0 }

static const P11muxConstant slot_info_flags[] = {
    FLAG(CKF_TOKEN_PRESENT),
    FLAG(CKF_REMOVABLE_DEVICE),
    FLAG(CKF_HW_SLOT),
};

static const P11muxConstant token_info_flags[] = {
    FLAG(CKF_RNG),
    FLAG(CKF_WRITE_PROTECTED),
    FLAG(CKF_LOGIN_REQUIRED),
    FLAG(CKF_USER_PIN_INITIALIZED),
    FLAG(CKF_RESTORE_KEY_NOT_NEEDED),
    FLAG(CKF_CLOCK_ON_TOKEN),
    FLAG(CKF_PROTECTED_AUTHENTICATION_PATH),
    FLAG(CKF_DUAL_CRYPTO_OPERATIONS),
    FLAG(CKF_TOKEN_INITIALIZED),
    FLAG(CKF_SECONDARY_AUTHENTICATION),
    FLAG(CKF_USER_PIN_COUNT_LOW),
    FLAG(CKF_USER_PIN_FINAL_TRY),
    FLAG(CKF_USER_PIN_LOCKED),
    FLAG(CKF_USER_PIN_TO_BE_CHANGED),
    FLAG(CKF_SO_PIN_COUNT_LOW),
    FLAG(CKF_SO_PIN_FINAL_TRY),
    FLAG(CKF_SO_PIN_LOCKED),
    FLAG(CKF_SO_PIN_TO_BE_CHANGED),
    FLAG(CKF_ERROR_STATE),
    FLAG(CKF_SEED_RANDOM_REQUIRED),    /* 3.2 */
    FLAG(CKF_ASYNC_SESSION_SUPPORTED), /* 3.2 */
};

static const P11muxConstant session_info_flags[] = {
    FLAG(CKF_RW_SESSION),
    FLAG(CKF_SERIAL_SESSION),
    FLAG(CKF_ASYNC_SESSION), /* 3.2 */
};

static const P11muxConstant mechanism_info_flags[] = {
    FLAG(CKF_HW),
    FLAG(CKF_MESSAGE_ENCRYPT),
    FLAG(CKF_MESSAGE_DECRYPT),
    FLAG(CKF_MESSAGE_SIGN),
    FLAG(CKF_MESSAGE_VERIFY),
    FLAG(CKF_MULTI_MESSAGE),
    FLAG(CKF_FIND_OBJECTS),
    FLAG(CKF_ENCRYPT),
    FLAG(CKF_DECRYPT),
    FLAG(CKF_DIGEST),
    FLAG(CKF_SIGN),
    FLAG(CKF_SIGN_RECOVER),
    FLAG(CKF_VERIFY),
    FLAG(CKF_VERIFY_RECOVER),
    FLAG(CKF_GENERATE),
    FLAG(CKF_GENERATE_KEY_PAIR),
    FLAG(CKF_WRAP),
    FLAG(CKF_UNWRAP),
    FLAG(CKF_DERIVE),
    FLAG(CKF_EC_F_P),
    FLAG(CKF_EC_F_2M),
    FLAG(CKF_EC_ECPARAMETERS),
    FLAG(CKF_EC_OID), /* 2.40: CKF_EC_NAMEDCURVE */
    FLAG(CKF_EC_UNCOMPRESS),
    FLAG(CKF_EC_COMPRESS),
    FLAG(CKF_EC_CURVENAME),
    FLAG(CKF_ENCAPSULATE), /* 3.2 */
    FLAG(CKF_DECAPSULATE), /* 3.2 */
    FLAG(CKF_EXTENSION),
};

static const P11muxConstant init_args_flags[] = {
    FLAG(CKF_LIBRARY_CANT_CREATE_OS_THREADS),
    FLAG(CKF_OS_LOCKING_OK),
};

static const P11muxConstant wait_flags[] = {
    FLAG(CKF_DONT_BLOCK),
};

static const P11muxConstant interface_flags[] = {
    FLAG(CKF_INTERFACE_FORK_SAFE),
};

static const P11muxConstant message_flags[] = {
    FLAG(CKF_END_OF_MESSAGE),
};

/* 3.0 C_SessionCancel: the operations to cancel, named by mechanism-info bits */
static const P11muxConstant session_cancel_flags[] = {
    FLAG(CKF_MESSAGE_ENCRYPT),
    FLAG(CKF_MESSAGE_DECRYPT),
    FLAG(CKF_MESSAGE_SIGN),
    FLAG(CKF_MESSAGE_VERIFY),
    FLAG(CKF_FIND_OBJECTS),
    FLAG(CKF_ENCRYPT),
    FLAG(CKF_DECRYPT),
    FLAG(CKF_DIGEST),
    FLAG(CKF_SIGN),
    FLAG(CKF_SIGN_RECOVER),
    FLAG(CKF_VERIFY),
    FLAG(CKF_VERIFY_RECOVER),
    FLAG(CKF_GENERATE),
    FLAG(CKF_GENERATE_KEY_PAIR),
    FLAG(CKF_WRAP),
    FLAG(CKF_UNWRAP),
    FLAG(CKF_DERIVE),
};

static const P11muxConstant otp_flags[] = {
    FLAG(CKF_NEXT_OTP),
    FLAG(CKF_EXCLUDE_TIME),
    FLAG(CKF_EXCLUDE_COUNTER),
    FLAG(CKF_EXCLUDE_CHALLENGE),
    FLAG(CKF_EXCLUDE_PIN),
    FLAG(CKF_USER_FRIENDLY_OTP),
};

#undef FLAG

static const struct {
    const P11muxConstant *flags;
    gsize n_flags;
} flag_lists[] = {
#define LIST(kind, array) [kind] = { array, G_N_ELEMENTS(array) }
    LIST(P11MUX_FLAGS_SLOT_INFO, slot_info_flags),
    LIST(P11MUX_FLAGS_TOKEN_INFO, token_info_flags),
    LIST(P11MUX_FLAGS_SESSION_INFO, session_info_flags),
    LIST(P11MUX_FLAGS_MECHANISM_INFO, mechanism_info_flags),
    LIST(P11MUX_FLAGS_INIT_ARGS, init_args_flags),
    LIST(P11MUX_FLAGS_WAIT, wait_flags),
    LIST(P11MUX_FLAGS_INTERFACE, interface_flags),
    LIST(P11MUX_FLAGS_MESSAGE, message_flags),
    LIST(P11MUX_FLAGS_SESSION_CANCEL, session_cancel_flags),
    LIST(P11MUX_FLAGS_OTP, otp_flags),
#undef LIST
};
G_STATIC_ASSERT(G_N_ELEMENTS(flag_lists) == P11MUX_FLAGS_N_KINDS);

const P11muxConstant *
p11mux_flags_table(P11muxFlagsKind kind, gsize *n_entries)
{
    g_return_val_if_fail(kind < P11MUX_FLAGS_N_KINDS, NULL);
    g_return_val_if_fail(n_entries != NULL, NULL);

    *n_entries = flag_lists[kind].n_flags;
    return flag_lists[kind].flags;
}

static void
append_term(GString *out, const char *term)
{
    if (out->len > 0) {
        g_string_append_c(out, '|');
    }
    g_string_append(out, term);
}

char *
p11mux_flags_format(P11muxFlagsKind kind, CK_FLAGS flags)
{
    const P11muxConstant *list;
    GString *out;
    CK_FLAGS covered = 0;
    gsize n;

    g_return_val_if_fail(kind < P11MUX_FLAGS_N_KINDS, NULL);

    if (flags == 0) {
        return g_strdup("0");
    }
    out = g_string_new(NULL);
    list = p11mux_flags_table(kind, &n);
    for (gsize i = 0; i < n; i++) {
        CK_FLAGS bits = list[i].value;

        /* skip a bit an earlier name of the list already printed */
        if (bits != 0 && (flags & bits) == bits && (covered & bits) != bits) {
            append_term(out, list[i].name);
            covered |= bits;
        }
    }
    if ((flags & ~covered) != 0) {
        g_autofree char *rest = g_strdup_printf("0x%lx", flags & ~covered);

        append_term(out, rest);
    }
    return g_string_free(out, FALSE);
}

void
p11mux_pad_text(CK_UTF8CHAR *field, gsize size, const char *text)
{
    gsize length = MIN(strlen(text), size);

    memset(field, ' ', size);
    memcpy(field, text, length);
}
