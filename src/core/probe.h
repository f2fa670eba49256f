/*
 * Reading memory the application points at without risking a fault: the
 * kernel reads it for us and says EFAULT where a direct read would crash.
 */
#ifndef P11MUX_PROBE_H
#define P11MUX_PROBE_H

#include <glib.h>

/*
 * A copy (transfer full) of the NUL-terminated string at address if all
 * of it, its NUL included, is readable within the first bound bytes; else
 * NULL (also when address is NULL, or no way to probe is left, e.g. no file
 * descriptor for the fallback pipe).  Each page is read only after the
 * kernel copied a byte of it (process_vm_readv on the own process; where
 * that is refused, ENOSYS or EPERM: seccomp, containers, write() into a
 * pipe), and only up to the NUL.  Never a signal handler.
 */
char *p11mux_probe_string_dup(const void *address, gsize bound);

/* Copy length bytes at address into out if all are readable (TRUE), else
 * FALSE (also for NULL), probing as above. */
gboolean p11mux_probe_copy(const void *address, gsize length, void *out);

/* For tests: probe as the fallback does (the pipe), whatever the kernel offers. */
char *p11mux_probe_string_dup_by_pipe(const void *address, gsize bound);

#endif /* P11MUX_PROBE_H */
