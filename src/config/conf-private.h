/*
 * What the configuration files share: conf.c (the result, merging, the API),
 * conf-keys.c (the key table and validators) and conf-scan.c (reading and
 * scanning files, conf.d). Nothing outside src/config/conf*.c includes this header.
 */
#ifndef P11MUX_CONF_PRIVATE_H
#define P11MUX_CONF_PRIVATE_H

#include <glib.h>

#include "conf.h"

G_BEGIN_DECLS

/* Which layer a file gives: decides the keys it may set. */
typedef enum {
    LAYER_SYSTEM,
    LAYER_USER,
    LAYER_EXTRA,
    LAYER_SOLE, /* one file as the only layer (p11mux_conf_load_file): every key */
} LayerRole;

/* ------------------------------------------------ conf-keys.c: the schema */

const P11muxConfGroupInfo *p11mux_conf_find_group_info(const char *name);
const P11muxConfKey *p11mux_conf_find_key(P11muxConfGroupKind kind, const char *name);
/* [A-Za-z0-9_.-]+ */
gboolean p11mux_conf_is_valid_name(const char *name);

/* TRUE and *number when text is a decimal number from min to max. */
gboolean p11mux_conf_parse_uint(const char *text, guint64 min, guint64 max, guint64 *number);

/* ------------------------------------------ conf-group.c: [group NAME] */

/* Each returns NULL when text is acceptable, else why not, without a
 * "FILE:LINE: " prefix (transfer full). */

/* members (standby FALSE: at least one) or standby: BACKEND:TOKEN-URI
 * items; each parsed is appended to members (nullable: only checked) as a
 * P11muxConfMember with standby and origin. */
char *p11mux_conf_parse_members(const char *text, gboolean standby, GPtrArray *members,
                                P11muxConfOrigin origin);
/* failover-on: CKR_ names (or numbers), appended to values (nullable: CK_RV). */
char *p11mux_conf_parse_failover_on(const char *text, GArray *values);
/* verify: *flags set to its P11muxHaVerify bits. */
char *p11mux_conf_parse_verify(const char *text, guint *flags);

/* Builds conf->ha_groups from the merged [group NAME] groups and checks them
 * (their backends too, unless conf->import_p11_kit). */
gboolean p11mux_conf_finish_ha_groups(P11muxConf *conf, GError **error);

/* ------------------------------------------------- conf.c: errors, layers */

/* "FILE:LINE: message" */
void p11mux_conf_set_error_at(GError **error, P11muxConfErrorCode code, const char *file, int line,
                              const char *format, ...) G_GNUC_PRINTF(5, 6);

/* "group\nkey", the key of P11muxConf.values (transfer full). */
char *p11mux_conf_value_key(const char *group, const char *key);
/* An empty P11muxConf (transfer full). */
P11muxConf *p11mux_conf_new(void);
/* name is "KIND" or "KIND LABEL" (transfer full). */
void p11mux_conf_layer_add_group(P11muxConf *layer, char *name, P11muxConfGroupKind kind,
                                 P11muxConfOrigin origin);
/* value: transfer full. */
void p11mux_conf_layer_set_value(P11muxConf *layer, const char *group, const char *key, char *value,
                                 P11muxConfOrigin origin);
/* Moves everything from src into dst: its files, the groups dst does not
 * have yet, and its values, replacing those dst has. src is left empty. */
void p11mux_conf_merge_layer(P11muxConf *dst, P11muxConf *src);

/* ------------------------------------------------ conf-scan.c: reading */

/* The layer of one file (transfer full); an empty layer if the file is
 * missing and missing_ok. NULL and error set on any error. */
P11muxConf *p11mux_conf_load_layer(const char *path, LayerRole role, gboolean missing_ok,
                                   GError **error);
/* Loads path as a layer and merges it into conf. */
gboolean p11mux_conf_merge_file(P11muxConf *conf, const char *path, LayerRole role,
                                gboolean missing_ok, GError **error);
/* Merges dir's *.conf files (not hidden), in strcmp order, as system layers;
 * nothing if dir is missing. */
gboolean p11mux_conf_merge_dir(P11muxConf *conf, const char *dir, GError **error);

G_END_DECLS

#endif /* P11MUX_CONF_PRIVATE_H */
