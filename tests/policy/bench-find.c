/*
 * The cost of object rules: C_FindObjects over 10,000 objects of the mock
 * backend through p11mux, with and without an object rule (deny-objects,
 * hiding 1 object in 100), after a first search that fills p11mux's
 * attribute cache.
 *
 * Two copies of p11mux.so (each dlopen of a copy is its own instance) run
 * side by side over two copies of the mock holding the same objects, one
 * configuration without a policy, one with the rule; searches alternate
 * between them so that whatever else the machine does hits both alike.
 * Each pair gives a ratio of thread CPU times; the median ratio is printed.
 *
 *   bench-find [PAIRS]      exit 0; 1 when the ratio exceeds the limit
 *
 * The limit is 1.10 with P11MUX_BENCH_STRICT=1 (the performance issue's
 * figure), else 1.5 so that a loaded machine does not fail make check;
 * either way a quadratic filter or a cache that does not hold fails.
 * Needs top_builddir (make check exports it).
 */
#include "config.h"

#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "p11mux-pkcs11.h"

#define N_OBJECTS 10000
#define BATCH 100

static char *tmpdir;
static GPtrArray *files;

static char *
tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void
die(const char *what, CK_RV rv)
{
    fprintf(stderr, "bench-find: %s: 0x%lx\n", what, (unsigned long)rv);
    exit(2);
}

static void
must(CK_RV rv, const char *what)
{
    if (rv != CKR_OK) {
        die(what, rv);
    }
}

/* Write name into tmpdir (contents: length bytes, or a string when -1). */
static char *
put(const char *name, const char *contents, gssize length)
{
    char *path = tmp_path(name);

    if (!g_file_set_contents(path, contents, length, NULL)) {
        die("cannot write into the temporary directory", 0);
    }
    g_ptr_array_add(files, g_strdup(path));
    return path;
}

static char *
copy_built(const char *dir, const char *file, const char *name)
{
    g_autofree char *src = g_build_filename(g_getenv("top_builddir"), dir, ".libs", file, NULL);
    g_autofree char *contents = NULL;
    gsize length;

    if (!g_file_get_contents(src, &contents, &length, NULL)) {
        die("cannot read a built module", 0);
    }
    return put(name, contents, (gssize)length);
}

static char *
mock_objects(void)
{
    GString *text = g_string_new("[mock]\n[slot 1]\ntoken-label = bench\n");
    int i;

    for (i = 0; i < N_OBJECTS; i++) {
        g_string_append_printf(text,
                               "[object o%d]\nslot = 1\nclass = CKO_DATA\nlabel = %s\n"
                               "value-text = object %d\nprivate = false\n",
                               i, i % 100 == 42 ? "hidden" : "visible", i);
    }
    return g_string_free(text, FALSE);
}

typedef struct {
    CK_FUNCTION_LIST_PTR p11;
    CK_SESSION_HANDLE session;
    CK_ULONG found;
} Instance;

/* One whole search; returns the number of objects found. */
static CK_ULONG
search(Instance *instance)
{
    CK_FUNCTION_LIST_PTR p11 = instance->p11;
    CK_OBJECT_HANDLE batch[BATCH];
    CK_ULONG count, total = 0;

    must(p11->C_FindObjectsInit(instance->session, NULL, 0), "C_FindObjectsInit");
    do {
        must(p11->C_FindObjects(instance->session, batch, BATCH, &count), "C_FindObjects");
        total += count;
    } while (count > 0);
    must(p11->C_FindObjectsFinal(instance->session), "C_FindObjectsFinal");
    return total;
}

/* p11mux (a copy of its own) over a mock copy of its own, with policy. */
static void
start(Instance *instance, const char *name, const char *policy, const char *objects)
{
    g_autofree char *p11mux_name = g_strdup_printf("p11mux-%s.so", name);
    g_autofree char *mock_name = g_strdup_printf("mock-%s.so", name);
    g_autofree char *mock_conf_name = g_strdup_printf("mock-%s.conf", name);
    g_autofree char *conf_name = g_strdup_printf("%s.conf", name);
    g_autofree char *module = copy_built("tests/testable", "p11mux.so", p11mux_name);
    g_autofree char *mock = copy_built("tests/mock", "libp11mux-mock.so", mock_name);
    g_autofree char *mock_conf = put(mock_conf_name, objects, -1);
    g_autofree char *text =
        g_strdup_printf("[global]\nuser-config = none\n%s\n[backend mock]\nmodule = %s\n"
                        "[policy objects]\ndeny-objects = pkcs11:object=hidden\n",
                        policy, mock);
    g_autofree char *conf = put(conf_name, text, -1);
    g_autofree char *reserved = g_strdup_printf("config=%s", conf);
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK, .pReserved = reserved};
    CK_C_GetFunctionList get_function_list;
    void *dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    CK_SLOT_ID slot;
    CK_ULONG n = 1;

    if (dl == NULL) {
        fprintf(stderr, "bench-find: %s\n", dlerror());
        exit(2);
    }
    get_function_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    must(get_function_list(&instance->p11), "C_GetFunctionList");
    must(instance->p11->C_Initialize(&args), "C_Initialize");
    must(instance->p11->C_GetSlotList(CK_TRUE, &slot, &n), "C_GetSlotList");
    must(instance->p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &instance->session),
         "C_OpenSession");
    instance->found = search(instance); /* the first search: p11mux reads the objects */
}

/* CPU time of this thread: what other processes do counts less. */
static double
cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
timed_search(Instance *instance)
{
    double t0 = cpu_seconds();

    if (search(instance) != instance->found) {
        die("the searches disagree", 0);
    }
    return cpu_seconds() - t0;
}

static int
compare_doubles(gconstpointer a, gconstpointer b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double
median(GArray *values)
{
    g_array_sort(values, compare_doubles);
    return g_array_index(values, double, values->len / 2);
}

static void
clean_up(void)
{
    for (guint i = 0; i < files->len; i++) {
        g_remove(g_ptr_array_index(files, i));
    }
    g_rmdir(tmpdir);
}

int
main(int argc, char **argv)
{
    int pairs = argc > 1 ? atoi(argv[1]) : 200;
    double limit = g_strcmp0(g_getenv("P11MUX_BENCH_STRICT"), "1") == 0 ? 1.10 : 1.5;
    g_autoptr(GArray) ratios = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) plain_times = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) ruled_times = g_array_new(FALSE, FALSE, sizeof(double));
    g_autofree char *objects = mock_objects();
    Instance plain, ruled;
    double ratio;

    if (g_getenv("top_builddir") == NULL) {
        fprintf(stderr, "bench-find: top_builddir is not set\n");
        return 2;
    }
    tmpdir = g_dir_make_tmp("p11mux-bench-find-XXXXXX", NULL);
    files = g_ptr_array_new_with_free_func(g_free);
    g_setenv("XDG_CONFIG_HOME", tmpdir, TRUE);
    g_unsetenv("P11MUX_CONF");
    start(&plain, "plain", "", objects);
    start(&ruled, "ruled", "policy = objects", objects);
    for (int i = 0; i < pairs; i++) {
        double a = timed_search(&plain);
        double b = timed_search(&ruled);

        g_array_append_val(plain_times, a);
        g_array_append_val(ruled_times, b);
        ratio = b / a;
        g_array_append_val(ratios, ratio);
    }
    ratio = median(ratios);
    printf("C_FindObjects over %d objects, %d a call, after a first search: median without a "
           "policy %.3f ms, with deny-objects %.3f ms (%lu of %lu found); median ratio of %d "
           "alternating pairs %.3f (limit %.2f)\n",
           N_OBJECTS, BATCH, median(plain_times) * 1e3, median(ruled_times) * 1e3,
           (unsigned long)ruled.found, (unsigned long)plain.found, pairs, ratio, limit);
    plain.p11->C_Finalize(NULL);
    ruled.p11->C_Finalize(NULL);
    clean_up();
    return ruled.found == plain.found - N_OBJECTS / 100 && ratio <= limit ? 0 : 1;
}
