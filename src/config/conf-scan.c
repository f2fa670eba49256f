/*
 * Reading configuration files, one layer each.
 *
 * Each file is read in two passes. The first (scan_*) walks the text line by
 * line, because GKeyFile reports no line numbers, has no notion of a
 * repeated key and would take an unknown group or key without a word: it
 * records the line of every group header and key, and refuses anything that
 * is not a blank line, a '#' comment, a known [group] or a known
 * key = value, as well as a key or group header repeated within the file.
 * Only then does GKeyFile parse the text, and the values are taken from it
 * (g_key_file_get_value: raw, no escape processing) with surrounding white
 * space removed, and checked against the key table (conf-keys.c).
 *
 * A file of any layer is read only when it and the directories above it are
 * writable by root (or their owner) alone.
 */
#include "config.h"

#include "conf-private.h"
#include "suggest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A configuration file is small; anything larger is a mistake. */
#define MAX_FILE_SIZE (1024 * 1024)

/* "FILE: cannot read: reason" */
static void
set_read_error(GError **error, const char *file, const char *reason)
{
    g_set_error(error, P11MUX_CONF_ERROR, P11MUX_CONF_ERROR_READ, "%s: cannot read: %s", file,
                reason);
}

/* ------------------------------------------------------- system file trust */

/* Why a system file or a directory above it is not to be trusted, NULL when
 * it is (transfer full).  As sudo and ssh (StrictModes) have it: owned by
 * root or by the user running this, and writable by nobody else; a group
 * may write only when it is root's, or the owner's own group on a file of
 * this user's (umask 002); a sticky directory (/tmp) lets others create
 * entries but not replace this user's or root's, which the owner check of
 * the entry below it covers. */
static char *
untrusted_reason(const char *path, const struct stat *st)
{
    uid_t euid = geteuid();
    unsigned int mode = (unsigned int)st->st_mode & 07777;

    if (st->st_uid != 0 && st->st_uid != euid) {
        return g_strdup_printf("%s is owned by uid %u, neither root nor this process's user", path,
                               (unsigned int)st->st_uid);
    }
    if (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX)) {
        return NULL;
    }
    if (st->st_mode & S_IWOTH) {
        return g_strdup_printf("%s is writable by every user (mode %04o)", path, mode);
    }
    if ((st->st_mode & S_IWGRP) && st->st_gid != 0 &&
        !(st->st_uid == euid && st->st_gid == getegid())) {
        return g_strdup_printf("%s is writable by group %u (mode %04o)", path,
                               (unsigned int)st->st_gid, mode);
    }
    return NULL;
}

/* What may write a layer's file, said when it is refused. */
static const char *
trusted_writers(LayerRole role)
{
    switch (role) {
    case LAYER_SYSTEM:
        return "a system configuration file and the directories above it must be writable "
               "only by root (or their owner)";
    case LAYER_USER:
        return "the user's configuration file and the directories above it must be writable "
               "only by the user (or root): whoever can write it chooses the libraries the "
               "user's programs load";
    default:
        return "a configuration file named by P11MUX_CONF or config= (or given alone) and the "
               "directories above it must be writable only by their owner (or root): whoever "
               "can write it chooses the libraries p11mux loads";
    }
}

/* A file of any layer is read only when it and every directory above it
 * can be trusted: another user able to change it would choose the modules
 * the programs that read it load.  A missing file passes (the caller skips
 * it); an unreadable one is left to read_text. */
static gboolean
check_trusted_file(const char *path, LayerRole role, GError **error)
{
    g_autofree char *real = realpath(path, NULL);
    g_autofree char *reason = NULL;
    g_autofree char *dir = NULL;
    const char *p = real;
    struct stat st;

    /* realpath gives an absolute path: the walk ends at "/" */
    while (p != NULL && reason == NULL) {
        char *parent;

        /* the file itself when it is one (a device or a pipe is read,
         * boundedly, as what it is), and every directory above it */
        if (stat(p, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
            reason = untrusted_reason(p, &st);
        }
        if (strcmp(p, "/") == 0) {
            break;
        }
        parent = g_path_get_dirname(p);
        g_free(dir);
        p = dir = parent;
    }
    if (reason != NULL) {
        g_set_error(error, P11MUX_CONF_ERROR, P11MUX_CONF_ERROR_READ, "%s: refused: %s; %s",
                    path, reason, trusted_writers(role));
        return FALSE;
    }
    return TRUE;
}

/* ------------------------------------------------------------------ reading */

/* The whole file, NUL-terminated, in *contents. A missing file is no error
 * when missing_ok: TRUE with *contents NULL. */
static gboolean
read_text(const char *path, gboolean missing_ok, char **contents, gsize *length, GError **error)
{
    g_autoptr(GByteArray) buffer = NULL;
    char chunk[8192];
    ssize_t n;
    int fd;

    *contents = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int saved = errno;

        if (missing_ok && (saved == ENOENT || saved == ENOTDIR)) {
            return TRUE;
        }
        set_read_error(error, path, g_strerror(saved));
        return FALSE;
    }
    buffer = g_byte_array_new();
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 || buffer->len + (gsize)n > MAX_FILE_SIZE) {
            set_read_error(error, path, n < 0 ? g_strerror(errno) : "larger than 1 MiB");
            close(fd);
            return FALSE;
        }
        g_byte_array_append(buffer, (const guint8 *)chunk, (guint)n);
    }
    close(fd);
    *length = buffer->len;
    g_byte_array_append(buffer, (const guint8 *)"", 1);
    *contents = (char *)g_byte_array_free(g_steal_pointer(&buffer), FALSE);
    return TRUE;
}

/* ---------------------------------------------------------------- scanning */

typedef struct {
    int line;
    char *group; /* the full group name */
    const P11muxConfGroupInfo *info;
    const P11muxConfKey *key; /* NULL for the group header */
} Entry;

typedef struct {
    const char *path;
    LayerRole role;
    const char *group;               /* the current group (owned by entries), NULL before any */
    const P11muxConfGroupInfo *info; /* its kind */
    GHashTable *first_lines;         /* "group" or "group\nkey" -> GINT_TO_POINTER(line) */
    GArray *entries;                 /* Entry, in line order */
} Scan;

static void
entry_clear(gpointer data)
{
    Entry *entry = data;

    g_free(entry->group);
}

static void
scan_init(Scan *scan, const char *path, LayerRole role)
{
    memset(scan, 0, sizeof *scan);
    scan->path = path;
    scan->role = role;
    scan->first_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    scan->entries = g_array_new(FALSE, TRUE, sizeof(Entry));
    g_array_set_clear_func(scan->entries, entry_clear);
}

static void
scan_clear(Scan *scan)
{
    g_hash_table_unref(scan->first_lines);
    g_array_unref(scan->entries);
}

/* The line where name was first seen in this file, or 0; records line if new. */
static int
scan_first_line(Scan *scan, const char *name, int line)
{
    int first = GPOINTER_TO_INT(g_hash_table_lookup(scan->first_lines, name));

    if (first == 0) {
        g_hash_table_insert(scan->first_lines, g_strdup(name), GINT_TO_POINTER(line));
    }
    return first;
}

static void
scan_add_entry(Scan *scan, int line, const char *group, const P11muxConfGroupInfo *info,
               const P11muxConfKey *key)
{
    Entry entry = {line, g_strdup(group), info, key};

    g_array_append_val(scan->entries, entry);
    scan->group = entry.group;
    scan->info = info;
}

/* " (did you mean [backend NAME]?)" for a misspelt group kind; "" when
 * nothing is close (transfer full). */
static char *
group_hint(const char *kind, const char *label)
{
    gsize n = 0;
    const P11muxConfGroupInfo *groups = p11mux_conf_known_groups(&n);
    g_autofree const char **names = g_new(const char *, n);
    const char *best;

    for (gsize i = 0; i < n; i++) {
        names[i] = groups[i].name;
    }
    best = p11mux_suggest(kind, names, (gssize)n);
    if (best == NULL || g_str_equal(best, kind)) {
        return g_strdup("");
    }
    return g_strdup_printf(" (did you mean [%s%s%s]?)", best, label != NULL ? " " : "",
                           label != NULL ? label : "");
}

/* " (did you mean 'KEY'?)" for a misspelt key of a group kind (transfer full). */
static char *
key_hint(P11muxConfGroupKind kind, const char *name)
{
    gsize n = 0, count = 0;
    const P11muxConfKey *keys = p11mux_conf_known_keys(&n);
    g_autofree const char **names = g_new(const char *, n);

    for (gsize i = 0; i < n; i++) {
        if (keys[i].group == kind) {
            names[count++] = keys[i].name;
        }
    }
    return p11mux_suggest_hint(p11mux_suggest(name, names, (gssize)count));
}

/* name: the text between the brackets. */
static gboolean
scan_group_name(Scan *scan, int line, const char *name, GError **error)
{
    const char *space = strchr(name, ' ');
    g_autofree char *kind = g_strndup(name, space != NULL ? (gsize)(space - name) : strlen(name));
    const P11muxConfGroupInfo *info = p11mux_conf_find_group_info(kind);
    const char *label = space != NULL ? space + 1 : NULL;
    int first;

    if (info == NULL || (!info->named && label != NULL)) {
        g_autofree char *hint = group_hint(kind, label);

        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_UNKNOWN, scan->path, line,
                                 "unknown group [%s]%s", name, hint);
        return FALSE;
    }
    if (info->named && label == NULL) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                                 "group [%s] needs a name: [%s NAME]", name, name);
        return FALSE;
    }
    if (info->named && !p11mux_conf_is_valid_name(label)) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_VALUE, scan->path, line,
                                 "invalid %s name '%s': use letters, digits, '_', '.' and '-'",
                                 kind, label);
        return FALSE;
    }
    first = scan_first_line(scan, name, line);
    if (first != 0) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                                 "group [%s] repeated (first at line %d)", name, first);
        return FALSE;
    }
    scan_add_entry(scan, line, name, info, NULL);
    return TRUE;
}

/* text: from the '[' to the end of the line. As GKeyFile: the header ends at
 * the first ']', and only spaces and tabs may follow it. */
static gboolean
scan_group(Scan *scan, int line, const char *text, gsize length, GError **error)
{
    const char *close = memchr(text, ']', length);
    g_autofree char *name = NULL;

    if (close == NULL) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                                 "malformed group header: no ']'");
        return FALSE;
    }
    for (const char *p = close + 1; p < text + length; p++) {
        if (*p != ' ' && *p != '\t') {
            p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                                     "malformed group header: text after ']'");
            return FALSE;
        }
    }
    name = g_strndup(text + 1, (gsize)(close - text - 1));
    return scan_group_name(scan, line, name, error);
}

/* text: from the first non-blank character to the end of the line. */
static gboolean
scan_key(Scan *scan, int line, const char *text, gsize length, GError **error)
{
    const char *equals = memchr(text, '=', length);
    g_autofree char *name = NULL;
    g_autofree char *full = NULL;
    const P11muxConfKey *key;
    int first;

    if (equals == NULL || equals == text) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                                 "expected '[group]', 'key = value' or '# comment'");
        return FALSE;
    }
    name = g_strchomp(g_strndup(text, (gsize)(equals - text)));
    if (scan->group == NULL) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                                 "key '%s' outside any group", name);
        return FALSE;
    }
    key = p11mux_conf_find_key(scan->info->kind, name);
    if (key == NULL) {
        g_autofree char *hint = key_hint(scan->info->kind, name);

        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_UNKNOWN, scan->path, line,
                                 "unknown key '%s' in [%s]%s", name, scan->group, hint);
        return FALSE;
    }
    if ((key->flags & P11MUX_CONF_KEY_NOT_IN_USER_FILE) && scan->role == LAYER_USER) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_VALUE, scan->path, line,
                                 "key '%s' cannot be set in the user's file", name);
        return FALSE;
    }
    if ((key->flags & P11MUX_CONF_KEY_SYSTEM_ONLY) && scan->role != LAYER_SYSTEM &&
        scan->role != LAYER_SOLE) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_VALUE, scan->path, line,
                                 "key '%s' can be set only in the system file or conf.d", name);
        return FALSE;
    }
    if ((key->flags & P11MUX_CONF_KEY_EXTRA_ONLY) &&
        (scan->role == LAYER_SYSTEM || scan->role == LAYER_USER)) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_VALUE, scan->path, line,
                                 "key '%s' can be set only in the file named by P11MUX_CONF or "
                                 "config=",
                                 name);
        return FALSE;
    }
    full = p11mux_conf_value_key(scan->group, name);
    first = scan_first_line(scan, full, line);
    if (first != 0) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                                 "key '%s' repeated in [%s] (first at line %d)", name, scan->group,
                                 first);
        return FALSE;
    }
    scan_add_entry(scan, line, scan->group, scan->info, key);
    return TRUE;
}

static gboolean
scan_line(Scan *scan, int line, const char *text, gsize length, GError **error)
{
    const char *end = text + length;

    if (memchr(text, '\0', length) != NULL || !g_utf8_validate(text, (gssize)length, NULL)) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, line,
                                 "not valid UTF-8 text");
        return FALSE;
    }
    while (text < end && g_ascii_isspace(*text)) {
        text++;
    }
    if (text == end || *text == '#') {
        return TRUE;
    }
    if (*text == '[') {
        return scan_group(scan, line, text, (gsize)(end - text), error);
    }
    return scan_key(scan, line, text, (gsize)(end - text), error);
}

static gboolean
scan_text(Scan *scan, const char *data, gsize length, GError **error)
{
    const char *end = data + length;
    int line = 0;

    for (const char *p = data; p < end;) {
        const char *newline = memchr(p, '\n', (gsize)(end - p));
        const char *stop = newline != NULL ? newline : end;
        /* As GKeyFile: "\r\n" ends a line, a last "\r" without "\n" does not. */
        gsize trim = newline != NULL && stop > p && stop[-1] == '\r' ? 1 : 0;

        line++;
        if (!scan_line(scan, line, p, (gsize)(stop - p) - trim, error)) {
            return FALSE;
        }
        p = stop + 1;
    }
    return TRUE;
}

/* --------------------------------------------------------------- one layer */

static gboolean
apply_entry(P11muxConf *layer, const Scan *scan, GKeyFile *keyfile, const Entry *entry,
            GError **error)
{
    P11muxConfOrigin origin = {scan->path, entry->line};
    g_autoptr(GError) local = NULL;
    g_autofree char *value = NULL;
    g_autofree char *problem = NULL;

    if (entry->key == NULL) {
        p11mux_conf_layer_add_group(layer, g_strdup(entry->group), entry->info->kind, origin);
        return TRUE;
    }
    value = g_key_file_get_value(keyfile, entry->group, entry->key->name, &local);
    if (value == NULL) {
        /* Not expected: the scan accepted the line. */
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, entry->line, "%s",
                                 local->message);
        return FALSE;
    }
    g_strstrip(value);
    problem = p11mux_conf_key_check(entry->key, value);
    if (problem != NULL) {
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_VALUE, scan->path, entry->line,
                                 "key '%s' in [%s]: %s", entry->key->name, entry->group, problem);
        return FALSE;
    }
    p11mux_conf_layer_set_value(layer, entry->group, entry->key->name, g_steal_pointer(&value),
                                origin);
    return TRUE;
}

static gboolean
apply_entries(P11muxConf *layer, const Scan *scan, const char *data, gsize length, GError **error)
{
    g_autoptr(GKeyFile) keyfile = g_key_file_new();
    g_autoptr(GError) local = NULL;

    if (!g_key_file_load_from_data(keyfile, data, length, G_KEY_FILE_NONE, &local)) {
        /* Not expected: GKeyFile accepts everything the scan does. */
        p11mux_conf_set_error_at(error, P11MUX_CONF_ERROR_SYNTAX, scan->path, 0, "%s",
                                 local->message);
        return FALSE;
    }
    for (guint i = 0; i < scan->entries->len; i++) {
        if (!apply_entry(layer, scan, keyfile, &g_array_index(scan->entries, Entry, i), error)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* The layer of one file (transfer full); an empty layer if the file is
 * missing and missing_ok. */
P11muxConf *
p11mux_conf_load_layer(const char *path, LayerRole role, gboolean missing_ok, GError **error)
{
    g_autoptr(P11muxConf) layer = NULL;
    g_autofree char *data = NULL;
    char *file;
    gsize length = 0;
    gboolean ok;
    Scan scan;

    if (!check_trusted_file(path, role, error) ||
        !read_text(path, missing_ok, &data, &length, error)) {
        return NULL;
    }
    layer = p11mux_conf_new();
    if (data == NULL) {
        return g_steal_pointer(&layer);
    }
    /* a UTF-8 byte-order mark (some editors write one) is not text:
     * skipped, and p11mux check-config says so */
    if (length >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
        length -= 3;
        memmove(data, data + 3, length + 1);
    }
    file = g_strdup(path);
    g_ptr_array_add(layer->files, file);
    scan_init(&scan, file, role);
    ok = scan_text(&scan, data, length, error) && apply_entries(layer, &scan, data, length, error);
    scan_clear(&scan);
    return ok ? g_steal_pointer(&layer) : NULL;
}

gboolean
p11mux_conf_merge_file(P11muxConf *conf, const char *path, LayerRole role, gboolean missing_ok,
                       GError **error)
{
    g_autoptr(P11muxConf) layer = NULL;

    /* only the system file and conf.d come here */
    layer = p11mux_conf_load_layer(path, role, missing_ok, error);
    if (layer == NULL) {
        return FALSE;
    }
    p11mux_conf_merge_layer(conf, layer);
    return TRUE;
}

/* ---------------------------------------------------------------- conf.d */

/* ------------------------------------------------------------- the layers */

static int
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "*.conf", not hidden. */
static gboolean
is_conf_name(const char *name)
{
    return name[0] != '.' && g_str_has_suffix(name, ".conf");
}

/* The *.conf names in dir, in strcmp order; none if dir is missing. */
static GPtrArray *
list_conf_dir(const char *dir, GError **error)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    struct dirent *entry;
    DIR *stream = opendir(dir);
    int saved;

    if (stream == NULL) {
        saved = errno;
        if (saved == ENOENT || saved == ENOTDIR) {
            return g_steal_pointer(&names);
        }
        set_read_error(error, dir, g_strerror(saved));
        return NULL;
    }
    while ((errno = 0, entry = readdir(stream)) != NULL) {
        if (is_conf_name(entry->d_name)) {
            g_ptr_array_add(names, g_strdup(entry->d_name));
        }
    }
    saved = errno;
    closedir(stream);
    if (saved != 0) {
        set_read_error(error, dir, g_strerror(saved));
        return NULL;
    }
    g_ptr_array_sort(names, compare_strings);
    return g_steal_pointer(&names);
}

gboolean
p11mux_conf_merge_dir(P11muxConf *conf, const char *dir, GError **error)
{
    g_autoptr(GPtrArray) names = list_conf_dir(dir, error);

    if (names == NULL) {
        return FALSE;
    }
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(dir, g_ptr_array_index(names, i), NULL);

        if (!p11mux_conf_merge_file(conf, path, LAYER_SYSTEM, TRUE, error)) {
            return FALSE;
        }
    }
    return TRUE;
}
