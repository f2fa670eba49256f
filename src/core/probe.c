/*
 * Probing memory through the kernel (probe.h).  A chunk never crosses a
 * page boundary, so the kernel copies all of it or answers EFAULT.
 */
#include "config.h"

#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* Under valgrind the question itself (a write() from memory that may be
 * unmapped) is what memcheck reports: it is asked with reporting off. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef VALGRIND_DISABLE_ERROR_REPORTING
#define VALGRIND_DISABLE_ERROR_REPORTING
#define VALGRIND_ENABLE_ERROR_REPORTING
#endif

/* Copy length bytes at address into out by the pipe: write() fails with
 * EFAULT where address is unreadable.  -1 on EFAULT or failure. */
static int
read_by_pipe(const void *address, gsize length, char *out)
{
    int fds[2];
    ssize_t n;

    if (pipe2(fds, O_CLOEXEC) != 0) {
        return -1;
    }
    VALGRIND_DISABLE_ERROR_REPORTING;
    do {
        n = write(fds[1], address, length);
    } while (n < 0 && errno == EINTR);
    VALGRIND_ENABLE_ERROR_REPORTING;
    if (n == (ssize_t)length) {
        do {
            n = read(fds[0], out, length);
        } while (n < 0 && errno == EINTR);
    }
    close(fds[0]);
    close(fds[1]);
    return n == (ssize_t)length ? 0 : -1;
}

/* 0 copied, -1 unreadable, 1 process_vm_readv refused (try the pipe). */
static int
read_by_kernel(const void *address, gsize length, char *out)
{
    struct iovec local = {out, length};
    struct iovec remote = {(void *)address, length};
    ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

    if (n == (ssize_t)length) {
        return 0;
    }
    return n < 0 && (errno == ENOSYS || errno == EPERM) ? 1 : -1;
}

/*
 * Copy length bytes from address into out, page by page, through the
 * kernel: the bytes copied, or -1 when some of them are unreadable.
 */
static gssize
copy(const void *address, gsize length, char *out, gboolean use_pipe)
{
    gsize page = (gsize)sysconf(_SC_PAGESIZE);
    gsize done = 0;

    while (done < length) {
        guintptr at = (guintptr)address + done;
        gsize chunk = MIN(page - at % page, length - done);
        int got = use_pipe ? -1 : read_by_kernel((const void *)at, chunk, out + done);

        if (got == 1 || use_pipe) {
            use_pipe = TRUE;
            got = read_by_pipe((const void *)at, chunk, out + done);
        }
        if (got != 0) {
            return -1;
        }
        done += chunk;
    }
    return (gssize)done;
}

/* Whether the page holding address is readable: one byte copied by the
 * kernel (protection is per page). */
static gboolean
page_is_readable(const void *address, gboolean use_pipe)
{
    char byte;

    return copy(address, 1, &byte, use_pipe) == 1;
}

/*
 * A string is read page by page: the kernel says whether the page is
 * readable, then strnlen looks for the NUL within that page only, so
 * nothing past the NUL is read (sanitizers watch that) and nothing in a
 * page not known to be readable.
 */
static char *
probe(const void *address, gsize bound, gboolean use_pipe)
{
    gsize page = (gsize)sysconf(_SC_PAGESIZE);
    gsize done = 0;

    if (address == NULL) {
        return NULL;
    }
    while (done < bound) {
        const char *at = (const char *)address + done;
        gsize chunk = MIN(page - (guintptr)at % page, bound - done);
        gsize n;

        if (!page_is_readable(at, use_pipe)) {
            return NULL;
        }
        n = strnlen(at, chunk);
        if (n < chunk) {
            return g_strndup(address, done + n);
        }
        done += chunk;
    }
    return NULL;
}

gboolean
p11mux_probe_copy(const void *address, gsize length, void *out)
{
    return address != NULL && copy(address, length, out, FALSE) == (gssize)length;
}

char *
p11mux_probe_string_dup(const void *address, gsize bound)
{
    return probe(address, bound, FALSE);
}

char *
p11mux_probe_string_dup_by_pipe(const void *address, gsize bound)
{
    return probe(address, bound, TRUE);
}
