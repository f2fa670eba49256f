/*
 * The layered configuration (p11mux.conf(5)): reading, merging
 * and checking p11mux.conf files. No backend is loaded here.
 *
 * The file rules, beyond GKeyFile's: a line is blank, a '#' comment, a
 * [group] header or key = value (no inline comments); a value is the raw
 * rest of the line after the first '=', white space around it removed, no
 * escapes processed; a key, or a group header, repeated within one file is
 * an error (another file may set them again: later layers override).
 * Unknown groups and keys are errors.
 *
 * A P11muxConf is built completely, checked, then returned; it is never
 * changed afterwards. Every error is a GError in P11MUX_CONF_ERROR whose
 * message starts with "FILE:LINE: " (or "FILE: " when a file cannot be
 * read at all).
 */
#ifndef P11MUX_CONF_H
#define P11MUX_CONF_H

#include <glib.h>

G_BEGIN_DECLS

#define P11MUX_CONF_ERROR (p11mux_conf_error_quark())
GQuark p11mux_conf_error_quark(void);

typedef enum {
    P11MUX_CONF_ERROR_READ,     /* a file exists but cannot be read; a named extra file is missing */
    P11MUX_CONF_ERROR_SYNTAX,   /* not blank, comment, [group] or key = value; a repeat; bad UTF-8 */
    P11MUX_CONF_ERROR_UNKNOWN,  /* unknown group or key */
    P11MUX_CONF_ERROR_VALUE,    /* a value of the wrong form; a key not allowed in this layer */
    P11MUX_CONF_ERROR_MISSING,  /* a required key absent after merging all layers */
    P11MUX_CONF_ERROR_CONFLICT, /* two enabled backends load the same library */
} P11muxConfErrorCode;

/* ------------------------------------------------------------------ schema */

typedef enum {
    P11MUX_CONF_GROUP_GLOBAL,  /* [global] */
    P11MUX_CONF_GROUP_BACKEND, /* [backend NAME] */
    P11MUX_CONF_GROUP_POLICY,  /* [policy NAME]: its values are checked by src/policy/policy.c */
} P11muxConfGroupKind;

typedef enum {
    P11MUX_CONF_TYPE_STRING, /* the raw rest of the line, any text */
    P11MUX_CONF_TYPE_BOOL,   /* true | false */
    P11MUX_CONF_TYPE_ENUM,   /* one of P11muxConfKey.choices */
    P11MUX_CONF_TYPE_PATH,   /* an absolute path */
    P11MUX_CONF_TYPE_NAME,   /* [A-Za-z0-9_.-]+ */
} P11muxConfType;

typedef enum {
    P11MUX_CONF_KEY_NOT_IN_USER_FILE = 1 << 0, /* refused in the user's file */
    P11MUX_CONF_KEY_SYSTEM_ONLY = 1 << 1,      /* refused in the user's and the extra file */
    P11MUX_CONF_KEY_EXTRA_ONLY = 1 << 2,       /* refused in the system and the user's file */
} P11muxConfKeyFlags;

typedef struct P11muxConfKey P11muxConfKey;

/* Returns NULL when value is acceptable, else a message without the
 * "FILE:LINE: " prefix (transfer full). */
typedef char *(*P11muxConfValidator)(const P11muxConfKey *key, const char *value);

/* One row of the table of accepted keys. */
struct P11muxConfKey {
    P11muxConfGroupKind group;
    const char *name;
    P11muxConfType type;
    const char *const *choices;   /* ENUM: NULL-terminated; otherwise NULL */
    const char *default_value;    /* nullable: no default */
    const char *example;          /* a value it accepts, for tests and documentation */
    P11muxConfValidator validate; /* nullable: the type's own check */
    P11muxConfKeyFlags flags;
};

/* One row of the table of accepted groups, indexed by kind. */
typedef struct {
    P11muxConfGroupKind kind;
    const char *name; /* "global", "backend": the first word in the brackets */
    gboolean named;   /* TRUE: written [KIND NAME], NAME a P11MUX_CONF_TYPE_NAME */
} P11muxConfGroupInfo;

/* NULL when value is acceptable for key, else why not, without a
 * "FILE:LINE: " prefix (transfer full). */
char *p11mux_conf_key_check(const P11muxConfKey *key, const char *value);

/* The tables the parser works from (transfer none, static). */
const P11muxConfKey *p11mux_conf_known_keys(gsize *n_keys);
const P11muxConfGroupInfo *p11mux_conf_known_groups(gsize *n_groups);

/* ------------------------------------------------------------------ paths */

typedef struct {
    const char *system_file; /* nullable: skipped; missing: skipped */
    const char *system_dir;  /* nullable: skipped; the conf.d directory, *.conf in strcmp order */
    const char *user_file;   /* nullable: skipped; missing: skipped */
    const char *extra_file;  /* nullable: skipped; missing: an error */
} P11muxConfPaths;

/* The default paths (transfer full; free with p11mux_conf_paths_free, and
 * only that): SYSCONFDIR/p11mux/p11mux.conf and SYSCONFDIR/p11mux/conf.d,
 * SYSCONFDIR the site's (site.h: the installed one, or a testable copy's);
 * g_get_user_config_dir()/p11mux/p11mux.conf; $P11MUX_CONF (unset or empty:
 * NULL). In a setuid/setgid process (AT_SECURE) the user file and
 * P11MUX_CONF are NULL. The caller may point any field at a string of its
 * own, e.g. extra_file at config=PATH from C_Initialize; the free function
 * releases only what this one allocated. */
P11muxConfPaths *p11mux_conf_paths_new_default(void);
void p11mux_conf_paths_free(P11muxConfPaths *paths);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxConfPaths, p11mux_conf_paths_free)

/* A duration: "10s", "500ms" or bare seconds, from 1 ms to one hour. */
gboolean p11mux_conf_parse_duration(const char *text, gint64 *microseconds);

/* ------------------------------------------------------------------ result */

typedef enum {
    P11MUX_USER_CONFIG_MERGE,
    P11MUX_USER_CONFIG_NONE,
    P11MUX_USER_CONFIG_ONLY,
} P11muxUserConfig;

/* Where something was written. file points into P11muxConf.files
 * (transfer none, lives as long as the P11muxConf); NULL/0 if nowhere. */
typedef struct {
    const char *file;
    int line;
} P11muxConfOrigin;

typedef struct {
    char *value; /* surrounding white space removed; otherwise raw */
    P11muxConfOrigin origin;
} P11muxConfValue;

typedef struct {
    char *name; /* "global", "backend softhsm" */
    P11muxConfGroupKind kind;
    const char *label;       /* "softhsm": points into name; "" when not named */
    P11muxConfOrigin origin; /* the header of its first appearance */
} P11muxConfGroup;

typedef struct {
    char *name;
    char *module;        /* absolute path; nullable only when !enabled */
    char *init_reserved; /* nullable */
    gboolean critical;
    gboolean enabled;
    gint64 init_timeout_us;  /* init-timeout, its own or [global]'s */
    char *policy;            /* nullable */
    P11muxConfOrigin origin; /* the group header of its first appearance */
    P11muxConfOrigin module_origin;
} P11muxConfBackend;

typedef struct {
    P11muxUserConfig user_config; /* as decided (see p11mux_conf_load) */
    char *policy;                 /* nullable */
    char *trace;                  /* "off", "stderr", "syslog", "file:/ABSOLUTE/PATH" */
    char *trace_format;           /* "text", "json" */
    char *trace_data;             /* "length", "hex" */
    gboolean import_p11_kit;
    gint64 init_timeout_us; /* [global] init-timeout; a backend's own wins (0: none) */
    gboolean trace_entry;   /* a record when a call enters, too */
    gint64 slow_call_us;    /* report a call running this long (0: off) */
    GPtrArray *backends; /* P11muxConfBackend*, enabled or not, by first appearance */
    GPtrArray *files;    /* char*, every file read, in the order read */
    GPtrArray *groups;   /* P11muxConfGroup*, in order of first appearance */
    GHashTable *values;  /* "group\nkey" -> P11muxConfValue*, the merged explicit settings */
    /* the explicit settings of the system layers alone (system file, conf.d),
     * as before the user's and the extra file: policy-override reads them */
    GHashTable *system_values;
    gboolean policy_stricter_only; /* policy-override = stricter-only in the system layers */
    gboolean standalone;           /* the extra file said standalone = true: the only layer */
} P11muxConf;

/* All layers (transfer full), each merged key by key over the ones before:
 * system file, conf.d, user file, extra file. Whether the user file is read
 * (user-config) is decided by the extra file if it sets the key, else by the
 * system files; `only` discards the system layers (but for that setting)
 * when the user file exists. `standalone = true` in the extra file makes it
 * the only layer (the system layers are read only to see whether they say
 * policy-override = stricter-only, which refuses it; the user file is not
 * read). NULL with error set if any file read is malformed or the merged
 * result is not valid: nothing half-loaded. */
P11muxConf *p11mux_conf_load(const P11muxConfPaths *paths, GError **error);

/* One file as the only layer, with the same checks (transfer full). */
P11muxConf *p11mux_conf_load_file(const char *path, GError **error);

void p11mux_conf_free(P11muxConf *conf);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxConf, p11mux_conf_free)

/* The merged value explicitly set for key in group (the full group name,
 * "backend softhsm"), NULL when no layer set it (transfer none). */
const P11muxConfValue *p11mux_conf_lookup(const P11muxConf *conf, const char *group,
                                          const char *key);

/* The same, as the system layers alone set it (transfer none). */
const P11muxConfValue *p11mux_conf_lookup_system(const P11muxConf *conf, const char *group,
                                                 const char *key);

/* The backend called name, or NULL (transfer none). */
const P11muxConfBackend *p11mux_conf_find_backend(const P11muxConf *conf, const char *name);

/* The labels of the groups of a kind ("softhsm", "nss"), in order of first
 * appearance (transfer full). */
GStrv p11mux_conf_dup_group_labels(const P11muxConf *conf, P11muxConfGroupKind kind);

G_END_DECLS

/* The path a module is known by: resolved if it exists, else as written
 * (transfer full).  Two backends are the same library when these are equal. */
char *p11mux_conf_canonical_path(const char *path);

/* A setuid/setgid process, or one whose ids changed since it started:
 * neither the user's file nor the environment is its to trust. */
gboolean p11mux_conf_is_secure_process(void);

#endif /* P11MUX_CONF_H */
