/*
 * Trace file patterns: %r %u %U %p %h %% (trace-path.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "trace-path.h"

#define ESCAPES "ruUph%"

char *
p11mux_trace_path_check(const char *pattern)
{
    g_return_val_if_fail(pattern != NULL, NULL);

    if (pattern[0] != '/' && !g_str_has_prefix(pattern, "%r")) {
        return g_strdup_printf("'%s' is neither an absolute path nor starts with %%r", pattern);
    }
    for (const char *p = pattern; *p != '\0'; p++) {
        if (*p != '%') {
            continue;
        }
        if (p[1] == '\0' || strchr(ESCAPES, p[1]) == NULL) {
            return g_strdup_printf("'%s': unknown %%%s (known: %%r %%u %%U %%p %%h %%%%)", pattern,
                                   p[1] != '\0' ? (char[]){p[1], '\0'} : "");
        }
        p++;
    }
    return NULL;
}

static char *
runtime_dir(void)
{
    const char *dir = p11mux_conf_is_secure_process() ? NULL : getenv("XDG_RUNTIME_DIR");

    if (dir != NULL && g_path_is_absolute(dir)) {
        return g_strdup(dir);
    }
    return g_strdup_printf("/run/user/%lu", (unsigned long)geteuid());
}

static void
append_escape(GString *path, char escape)
{
    g_autofree char *dir = NULL;

    switch (escape) {
    case 'r':
        dir = runtime_dir();
        g_string_append(path, dir);
        break;
    case 'u':
        g_string_append(path, g_get_user_name());
        break;
    case 'U':
        g_string_append_printf(path, "%lu", (unsigned long)geteuid());
        break;
    case 'p':
        g_string_append_printf(path, "%ld", (long)getpid());
        break;
    case 'h':
        g_string_append(path, g_get_host_name());
        break;
    default:
        g_string_append_c(path, escape);
        break;
    }
}

char *
p11mux_trace_path_expand(const char *pattern, GError **error)
{
    g_autofree char *why = NULL;
    GString *path;

    g_return_val_if_fail(pattern != NULL, NULL);

    why = p11mux_trace_path_check(pattern);
    if (why != NULL) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "trace: %s", why);
        return NULL;
    }
    path = g_string_new(NULL);
    for (const char *p = pattern; *p != '\0'; p++) {
        if (*p == '%') {
            append_escape(path, *++p);
        } else {
            g_string_append_c(path, *p);
        }
    }
    return g_string_free(path, FALSE);
}
