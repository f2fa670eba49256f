/*
 * PKCS #11 constant names: CKA_, CKM_, CKR_, ... values to names and back.
 *
 * The name tables are generated at build time from the header p11mux
 * compiles against (src/pkcs11/gen-constants.py: the compiler supplies the values); the CKF_ flag
 * lists are written by hand in constants.c, one per structure field, since
 * a CKF_ bit means different things in different fields.
 */
#ifndef P11MUX_CONSTANTS_H
#define P11MUX_CONSTANTS_H

#include <glib.h>

#include "p11mux-pkcs11.h"

typedef enum {
    P11MUX_CONST_CKA, /* attribute types */
    P11MUX_CONST_CKM, /* mechanism types */
    P11MUX_CONST_CKR, /* return values */
    P11MUX_CONST_CKO, /* object classes */
    P11MUX_CONST_CKK, /* key types */
    P11MUX_CONST_CKC, /* certificate types */
    P11MUX_CONST_CKU, /* user types */
    P11MUX_CONST_CKS, /* session states */
    P11MUX_CONST_CKD, /* key derivation functions */
    P11MUX_CONST_CKG, /* mask generation functions (CKG_MGF1_*; not the 3.0 IV generators) */
    P11MUX_CONST_CKZ, /* OAEP encoding parameter sources */
    P11MUX_CONST_CKH, /* hardware feature types */
    P11MUX_CONST_CKN, /* notifications */
    P11MUX_CONST_CKP, /* 3.0 profile ids (empty with a 2.40 header; not the PBKDF2 PRFs) */
    P11MUX_CONST_CKS_VALIDATION, /* 3.2 session validation flags types (CKS_LAST_VALIDATION_OK) */
    P11MUX_CONST_N_KINDS
} P11muxConstantKind;

/* Every value >= this is in the vendor range, whatever the kind. */
#define P11MUX_VENDOR_BASE ((CK_ULONG)0x80000000UL)

typedef enum {
    P11MUX_CONSTANT_ALIAS = 1 << 0,       /* a second name for a value; never printed */
    P11MUX_CONSTANT_VENDOR_BASE = 1 << 1, /* <PREFIX>VENDOR_DEFINED; parsed, never printed */
} P11muxConstantFlags;

typedef struct {
    CK_ULONG value;
    const char *name;
    guint flags; /* P11muxConstantFlags */
} P11muxConstant;

/* transfer none: "CKM_" for P11MUX_CONST_CKM, ... */
const char *p11mux_constant_kind_prefix(P11muxConstantKind kind);

/* transfer none; NULL when unknown.  For aliases the canonical name. */
const char *p11mux_constant_name(P11muxConstantKind kind, CK_ULONG value);

/* TRUE and *value when name is known (exact name, aliases included). */
gboolean p11mux_constant_value(P11muxConstantKind kind, const char *name, CK_ULONG *value);

/*
 * transfer full: the name; "CKM_VENDOR_DEFINED+0x%lx" for an unnamed value in
 * the vendor range (value >= P11MUX_VENDOR_BASE, same form for every kind);
 * "0x%lx" for any other unknown value.
 */
char *p11mux_constant_format(P11muxConstantKind kind, CK_ULONG value);

/*
 * The inverse of p11mux_constant_format: a name, "<PREFIX>VENDOR_DEFINED+N"
 * or a plain number (N and the number in C syntax: 0x.. hex or decimal).
 * TRUE and *value on success.
 */
gboolean p11mux_constant_parse(P11muxConstantKind kind, const char *text, CK_ULONG *value);

/* convenience: p11mux_constant_name(P11MUX_CONST_CKR, rv) */
const char *p11mux_rv_name(CK_RV rv);

/* transfer full: rv as every message p11mux writes names it,
 * "CKR_DEVICE_ERROR (0x30)"; an unnamed value as p11mux_constant_format
 * gives it, with its hex value ("CKR_VENDOR_DEFINED+0x1 (0x80000001)"). */
char *p11mux_rv_describe(CK_RV rv);

typedef void (*P11muxConstantFunc)(CK_ULONG value, const char *name, gpointer user_data);

/*
 * Glob matching (GPatternSpec: '*' and '?', case-sensitive) over every name
 * of one kind, aliases included, <PREFIX>VENDOR_DEFINED excluded.  Calls func
 * (nullable) once per matching value, in value order, with the canonical
 * name; returns the number of matching values (0 when nothing matches).
 */
guint p11mux_constant_glob(P11muxConstantKind kind, const char *pattern, P11muxConstantFunc func,
                           gpointer user_data);

/*
 * transfer none: the generated tables of one kind.  The table is sorted by
 * value and holds one canonical name per value (no aliases, no vendor base);
 * the index is sorted by name (strcmp) and holds every name, flagged.
 * Either may be empty (NULL, *n_entries == 0).
 */
const P11muxConstant *p11mux_constant_table(P11muxConstantKind kind, gsize *n_entries);
const P11muxConstant *p11mux_constant_index(P11muxConstantKind kind, gsize *n_entries);

/* CKF_ flags: one hand-written list per structure field or argument. */
typedef enum {
    P11MUX_FLAGS_SLOT_INFO,      /* CK_SLOT_INFO.flags */
    P11MUX_FLAGS_TOKEN_INFO,     /* CK_TOKEN_INFO.flags */
    P11MUX_FLAGS_SESSION_INFO,   /* CK_SESSION_INFO.flags, C_OpenSession flags */
    P11MUX_FLAGS_MECHANISM_INFO, /* CK_MECHANISM_INFO.flags */
    P11MUX_FLAGS_INIT_ARGS,      /* CK_C_INITIALIZE_ARGS.flags */
    P11MUX_FLAGS_WAIT,           /* C_WaitForSlotEvent flags */
    P11MUX_FLAGS_INTERFACE,      /* CK_INTERFACE.flags, C_GetInterface flags */
    P11MUX_FLAGS_MESSAGE,        /* C_*MessageNext flags */
    P11MUX_FLAGS_SESSION_CANCEL, /* C_SessionCancel flags (3.0) */
    P11MUX_FLAGS_OTP,            /* CK_OTP_PARAM of type CK_OTP_FLAGS */
    P11MUX_FLAGS_N_KINDS
} P11muxFlagsKind;

/*
 * transfer full: "CKF_RW_SESSION|CKF_SERIAL_SESSION"; bits no name of the
 * list covers are appended as one "0x.." term; "0" when flags is 0.
 */
char *p11mux_flags_format(P11muxFlagsKind kind, CK_FLAGS flags);

/* transfer none: the hand-written list of one kind, in print order. */
const P11muxConstant *p11mux_flags_table(P11muxFlagsKind kind, gsize *n_entries);

/*
 * transfer none: every CKF_ name the PKCS #11 header defines, in header
 * order (generated; for the test that no CKF_ name is forgotten).
 */
const P11muxConstant *p11mux_flags_header_names(gsize *n_entries);

/* A PKCS #11 text field of size bytes (a label, a manufacturer, a
 * description): text, cut to the field, padded with blanks, no NUL. */
void p11mux_pad_text(CK_UTF8CHAR *field, gsize size, const char *text);

#endif /* P11MUX_CONSTANTS_H */
