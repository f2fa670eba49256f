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

#include "p11mux-pkcs11.h"

#include <p11-kit/uri.h>

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
    P11MUX_CONF_GROUP_HA,      /* [group NAME]: an HA group (conf-group.c, P11muxConfHaGroup) */
} P11muxConfGroupKind;

typedef enum {
    P11MUX_CONF_TYPE_STRING, /* the raw rest of the line, any text */
    P11MUX_CONF_TYPE_BOOL,   /* true | false */
    P11MUX_CONF_TYPE_ENUM,   /* one of P11muxConfKey.choices */
    P11MUX_CONF_TYPE_PATH,   /* an absolute path */
    P11MUX_CONF_TYPE_NAME,   /* [A-Za-z0-9_.-]+ */
    P11MUX_CONF_TYPE_UINT,   /* a decimal number from P11muxConfKey.min to .max */
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
    guint64 min, max; /* UINT: the range accepted; otherwise 0 */
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

/* A duration: "10s", "500ms", "5min" or bare seconds, from 1 ms to one hour. */
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
    char *module; /* absolute path; nullable only when !enabled or remote */
    /* nullable: the address of a p11-kit `remote:` registration imported as
     * this backend (p11kit-import.h); module is NULL then, and p11-kit's
     * managed loader gives its function list */
    char *remote;
    char *init_reserved; /* nullable */
    gboolean critical;
    gboolean enabled;
    gint64 init_timeout_us;  /* init-timeout, its own or [global]'s */
    char *policy;            /* nullable */
    P11muxConfOrigin origin; /* the group header of its first appearance */
    P11muxConfOrigin module_origin;
    /* failover-on: CK_RV, as written; NULL when not set (the members of HA
     * groups in this backend then follow their group's list) */
    GArray *failover_on;
} P11muxConfBackend;

/* ------------------------------------------------------------ HA groups */

/* [group NAME] (p11mux.conf(5)): one virtual token served by the member
 * tokens of one or more backends. Checked here as far as the text goes;
 * what needs loaded backends (a URI matching no or several tokens,
 * CKF_LOGIN_REQUIRED) is the runtime's. Enum values follow the order of
 * the key's choices. */

typedef enum {
    P11MUX_HA_DISPATCH_ROUND_ROBIN,
    P11MUX_HA_DISPATCH_LEAST_BUSY,
    P11MUX_HA_DISPATCH_PRIMARY,
} P11muxHaDispatch;

/* identity: the attributes an object is known by across members, beside
 * CKA_CLASS (always part of it). */
typedef enum {
    P11MUX_HA_IDENTITY_ID = 1 << 0,    /* CKA_ID */
    P11MUX_HA_IDENTITY_LABEL = 1 << 1, /* CKA_LABEL */
} P11muxHaIdentity;

/* verify: how replicas are proven identical; any combination but none. */
typedef enum {
    P11MUX_HA_VERIFY_PUBKEY = 1 << 0,
    P11MUX_HA_VERIFY_CERT = 1 << 1,
    P11MUX_HA_VERIFY_KCV = 1 << 2,
    P11MUX_HA_VERIFY_PROBE = 1 << 3,
} P11muxHaVerify;

typedef enum {
    P11MUX_HA_DIVERGENCE_EXCLUDE_OBJECT,
    P11MUX_HA_DIVERGENCE_QUARANTINE_MEMBER,
    P11MUX_HA_DIVERGENCE_FAIL,
} P11muxHaDivergence;

typedef enum {
    P11MUX_HA_WRITES_REFUSE,
    P11MUX_HA_WRITES_PRIMARY,
} P11muxHaWrites;

typedef enum {
    P11MUX_HA_PIN_RETENTION_MEMORY,
    P11MUX_HA_PIN_RETENTION_NONE,
} P11muxHaPinRetention;

typedef enum {
    P11MUX_HA_ALL_DOWN_KEEP_SESSIONS,
    P11MUX_HA_ALL_DOWN_CLOSE_SESSIONS,
} P11muxHaAllDown;

typedef enum {
    P11MUX_HA_FIND_FANOUT_ALL,
    P11MUX_HA_FIND_FANOUT_ONE,
} P11muxHaFindFanout;

/* One item of members or standby: BACKEND:TOKEN-URI. */
typedef struct {
    char *backend;           /* the backend's name: the item up to its first ':' */
    P11KitUri *token;        /* the rest, parsed with P11_KIT_URI_FOR_TOKEN: token
                              * attributes only (no PIN, module, slot, object or query part) */
    char *text;              /* the item as written */
    gboolean standby;        /* listed in standby, not in members */
    P11muxConfOrigin origin; /* the members or standby line */
} P11muxConfMember;

typedef struct {
    char *name; /* NAME of [group NAME] */
    /* P11muxConfMember*: members in the order written, then standby in the
     * order written; n_members of them are from members (at least one) */
    GPtrArray *members;
    guint n_members;
    char *label;                      /* label, 1 to 32 bytes; default: NAME (its first 32 bytes) */
    char *serial;                     /* serial, 1 to 16 printable ASCII characters; default:
                                       * 16 hex digits of SHA-256("p11mux-group:" NAME) */
    P11muxHaDispatch dispatch;        /* dispatch; default least-busy */
    guint identity;                   /* identity, P11muxHaIdentity bits; default class id */
    guint verify;                     /* verify, P11muxHaVerify bits; default pubkey cert kcv */
    P11muxHaDivergence on_divergence; /* on-divergence; default exclude-object */
    guint min_replicas;               /* min-replicas, 1 to n_members; default 1 */
    P11muxHaWrites writes;            /* writes; default refuse */
    GArray *failover_on;              /* failover-on: CK_RV, as written; default
                                       * CKR_DEVICE_ERROR CKR_DEVICE_REMOVED
                                       * CKR_TOKEN_NOT_PRESENT CKR_GENERAL_ERROR. A member's
                                       * backend may replace it: p11mux_conf_member_failover_on */
    guint error_threshold;            /* error-threshold, 1 to 1000; default 3 */
    gsize replay_buffer;              /* replay-buffer, bytes, 0 (no mid-stream failover) to
                                       * 64 MiB; default 65536 */
    gint64 call_timeout_us;           /* call-timeout; default 20 s */
    gint64 probe_interval_us;         /* probe-interval; default 5 s */
    gint64 recover_backoff_min_us;    /* recover-backoff, first duration; default 1 s */
    gint64 recover_backoff_max_us;    /* recover-backoff, second, >= the first; default 60 s */
    gint64 keepalive_us;              /* keepalive; 0: off; default 300 s */
    P11muxHaPinRetention pin_retention; /* pin-retention; default memory */
    guint max_member_sessions;          /* max-member-sessions, 1 to 64; 0 when not set: each
                                         * member's ulMaxSessionCount, at most 64 */
    guint min_active;                   /* min-active, 1 to n_members; default 1 */
    P11muxHaAllDown all_down;           /* all-down; default keep-sessions */
    gboolean hide_members;              /* hide-members; default true */
    P11muxHaFindFanout find_fanout;     /* find-fanout; default all */
    char *policy;                       /* policy, a [policy NAME] of the configuration; nullable:
                                         * the [global] policy */
    P11muxConfOrigin origin;            /* the group header of its first appearance */
} P11muxConfHaGroup;

void p11mux_conf_ha_group_free(P11muxConfHaGroup *group);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxConfHaGroup, p11mux_conf_ha_group_free)

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
    GPtrArray *ha_groups; /* P11muxConfHaGroup*, [group NAME], by first appearance */
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

/* The HA group called name, or NULL (transfer none). */
const P11muxConfHaGroup *p11mux_conf_find_ha_group(const P11muxConf *conf, const char *name);

/* The failover-on list that applies to member: its backend's when that
 * backend sets one, else its group's (transfer none: CK_RV). */
const GArray *p11mux_conf_member_failover_on(const P11muxConf *conf, const P11muxConfHaGroup *group,
                                             const P11muxConfMember *member);

/* Every member of every HA group names an enabled backend of conf.
 * p11mux_conf_load checks this itself unless import-p11-kit = true; then
 * the import (p11kit-import.h), which adds the registry's backends, does.
 * FALSE with error set ("FILE:LINE: ...", at the members or standby line)
 * otherwise. */
gboolean p11mux_conf_check_ha_backends(const P11muxConf *conf, GError **error);

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
