/*
 * The path of a trace file (trace = file:PATTERN), expanded per user and per
 * process when the trace is opened, so that one configuration serves every
 * user and process of a machine:
 *
 *   %r   the user's runtime directory: $XDG_RUNTIME_DIR when it is set to an
 *        absolute path (never in a setuid/setgid process), else
 *        /run/user/UID (UID the effective user id)
 *   %u   the user name (of the effective user id)
 *   %U   the effective user id
 *   %p   the process id
 *   %h   the host name
 *   %%   a '%'
 *
 * A pattern starts with '/' or "%r"; any other '%' sequence is an error.
 */
#ifndef P11MUX_TRACE_PATH_H
#define P11MUX_TRACE_PATH_H

#include <glib.h>

G_BEGIN_DECLS

/* NULL when pattern is acceptable, else why not (transfer full). */
char *p11mux_trace_path_check(const char *pattern);

/* The path for this process (transfer full); NULL with error set when the
 * pattern is not acceptable. */
char *p11mux_trace_path_expand(const char *pattern, GError **error);

G_END_DECLS

#endif /* P11MUX_TRACE_PATH_H */
