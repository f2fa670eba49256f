/*
 * ThreadSanitizer and GLib's locks, for the TSan build of the tests.
 *
 * GLib implements GMutex, GRecMutex, GRWLock, GCond and g_once with futexes
 * in its own (uninstrumented) code, so TSan sees none of the
 * happens-before edges they make and reports every access made under them
 * as a race: p11mux's tables, the mock's state.  Linked into a test
 * executable (exported with -rdynamic), these wrappers interpose the GLib
 * functions for every module of the process (p11mux.so, the mocks), call
 * the real ones, and tell TSan what they did (__tsan_acquire after taking,
 * __tsan_release before letting go).  Nothing is suppressed: a race that
 * does not go through one of these locks is still reported.
 *
 * The same goes for reference counts kept by GLib (g_atomic_rc_box): the
 * last release frees inside GLib, after an atomic decrement TSan does not
 * see.  Releases are serialised here by an (instrumented) mutex: everything
 * a thread did before dropping its reference then happens before the free
 * by the thread dropping the last one.
 *
 * GSlice recycles memory between threads in GLib's own code, invisible to
 * TSan: the constructor below makes it use malloc (G_SLICE=always-malloc).
 */
#include "config.h"

#include <dlfcn.h>
#include <glib.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

/* The real function, looked up once (the race on the cache is benign and
 * done with relaxed atomics). */
static gpointer
real(gpointer *cache, const char *name)
{
    gpointer fn = __atomic_load_n(cache, __ATOMIC_RELAXED);

    if (fn == NULL) {
        fn = dlsym(RTLD_NEXT, name);
        if (fn == NULL) {
            g_error("tsan-glib: no %s", name);
        }
        __atomic_store_n(cache, fn, __ATOMIC_RELAXED);
    }
    return fn;
}

/* -fvisibility=hidden is the default here: these must be seen */
#define EXPORT __attribute__((visibility("default")))

#define REAL(name) ((__typeof__(&name))real(&real_##name, #name))

#define WRAP_LOCK(name, type)                                                                      \
    static gpointer real_##name;                                                                   \
    EXPORT void name(type *lock)                                                                   \
    {                                                                                              \
        REAL(name)(lock);                                                                          \
        __tsan_acquire(lock);                                                                      \
    }

#define WRAP_UNLOCK(name, type)                                                                    \
    static gpointer real_##name;                                                                   \
    EXPORT void name(type *lock)                                                                   \
    {                                                                                              \
        __tsan_release(lock);                                                                      \
        REAL(name)(lock);                                                                          \
    }

#define WRAP_TRYLOCK(name, type)                                                                   \
    static gpointer real_##name;                                                                   \
    EXPORT gboolean name(type *lock)                                                               \
    {                                                                                              \
        gboolean taken = REAL(name)(lock);                                                         \
                                                                                                   \
        if (taken) {                                                                               \
            __tsan_acquire(lock);                                                                  \
        }                                                                                          \
        return taken;                                                                              \
    }

WRAP_LOCK(g_mutex_lock, GMutex)
WRAP_UNLOCK(g_mutex_unlock, GMutex)
WRAP_TRYLOCK(g_mutex_trylock, GMutex)
WRAP_LOCK(g_rec_mutex_lock, GRecMutex)
WRAP_UNLOCK(g_rec_mutex_unlock, GRecMutex)
WRAP_TRYLOCK(g_rec_mutex_trylock, GRecMutex)
WRAP_LOCK(g_rw_lock_writer_lock, GRWLock)
WRAP_UNLOCK(g_rw_lock_writer_unlock, GRWLock)
WRAP_TRYLOCK(g_rw_lock_writer_trylock, GRWLock)
WRAP_LOCK(g_rw_lock_reader_lock, GRWLock)
WRAP_UNLOCK(g_rw_lock_reader_unlock, GRWLock)
WRAP_TRYLOCK(g_rw_lock_reader_trylock, GRWLock)

static gpointer real_g_cond_wait;

EXPORT void
g_cond_wait(GCond *cond, GMutex *mutex)
{
    __tsan_release(mutex);
    REAL(g_cond_wait)(cond, mutex);
    __tsan_acquire(mutex);
}

static gpointer real_g_cond_wait_until;

EXPORT gboolean
g_cond_wait_until(GCond *cond, GMutex *mutex, gint64 end_time)
{
    gboolean signalled;

    __tsan_release(mutex);
    signalled = REAL(g_cond_wait_until)(cond, mutex, end_time);
    __tsan_acquire(mutex);
    return signalled;
}

/* g_once_init_enter() is a macro whose fast path is an (instrumented)
 * atomic load of location: a release on location pairs with it. */
#undef g_once_init_enter
#undef g_once_init_leave

static gpointer real_g_once_init_enter;

EXPORT gboolean
g_once_init_enter(volatile void *location)
{
    gboolean first = REAL(g_once_init_enter)(location);

    if (!first) {
        __tsan_acquire((void *)location);
    }
    return first;
}

static gpointer real_g_once_init_leave;

EXPORT void
g_once_init_leave(volatile void *location, gsize result)
{
    __tsan_release((void *)location);
    REAL(g_once_init_leave)(location, result);
}

static pthread_mutex_t release_lock = PTHREAD_MUTEX_INITIALIZER;
static gpointer real_g_atomic_rc_box_release;
static gpointer real_g_atomic_rc_box_release_full;

EXPORT void
g_atomic_rc_box_release(gpointer mem)
{
    pthread_mutex_lock(&release_lock);
    REAL(g_atomic_rc_box_release)(mem);
    pthread_mutex_unlock(&release_lock);
}

EXPORT void
g_atomic_rc_box_release_full(gpointer mem, GDestroyNotify clear_func)
{
    pthread_mutex_lock(&release_lock);
    REAL(g_atomic_rc_box_release_full)(mem, clear_func);
    pthread_mutex_unlock(&release_lock);
}

/* GSlice reads G_SLICE when GLib starts, before any constructor of ours:
 * start again with it set (glibc hands constructors main's arguments). */
__attribute__((constructor)) static void
slices_from_malloc(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)envp;
    if (getenv("G_SLICE") == NULL) {
        setenv("G_SLICE", "always-malloc", 1);
        execv("/proc/self/exe", argv);
    }
}
