/*
 * A backend opened from a function list it is given (src/core/backend.h,
 * p11mux_backend_new_given: a p11-kit `remote:` registration's list):
 * opened like any backend (C_Initialize, slots listed) with no library
 * claimed, finalised, then its list given back once; a backend given no
 * list fails to open with the reason it was given.  The list here is the
 * null mock's (tests/mock/mock-null.c), loaded by the test.
 */
#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

static CK_FUNCTION_LIST_PTR null_list;
static guint released;
static CK_FUNCTION_LIST_PTR released_list;

static void
count_release(gpointer list)
{
    released++;
    released_list = list;
}

/* p11mux's own list, as the opening is given it: never the backend's. */
static CK_RV
self_initialize(CK_VOID_PTR args)
{
    (void)args;
    return CKR_GENERAL_ERROR;
}

static CK_FUNCTION_LIST self = {.version = {2, 40}, .C_Initialize = self_initialize};

static void
load_null_mock(void)
{
    const char *top = g_getenv("top_builddir");
    g_autofree char *path = g_build_filename(top != NULL ? top : ".", "tests", "mock", ".libs",
                                             "libp11mux-mock-null.so", NULL);
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get_function_list;

    ck_assert_msg(dl != NULL, "%s", dlerror());
    get_function_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    ck_assert_ptr_nonnull(get_function_list);
    ck_assert_uint_eq(get_function_list(&null_list), CKR_OK);
}

static void
setup(void)
{
    if (null_list == NULL) {
        load_null_mock();
    }
    released = 0;
    released_list = NULL;
}

START_TEST(test_backend_given_opens_finalises_and_gives_back)
{
    P11muxBackend *backend =
        p11mux_backend_new_given("given", "remote: test", null_list, count_release, FALSE, NULL);
    g_autoptr(GError) error = NULL;
    GArray *slots = NULL;
    P11muxBackendOpening *opening = p11mux_backend_open_start(backend, &self, FALSE);
    CK_SLOT_ID again = 0;
    CK_ULONG count = 1;

    ck_assert_msg(p11mux_backend_open_finish(opening, G_MAXINT64, &slots, &error), "%s",
                  error != NULL ? error->message : "");
    ck_assert(backend->initialized);
    ck_assert_ptr_null(backend->dl);
    ck_assert_uint_ge(slots->len, 1);
    ck_assert_uint_eq(p11mux_backend_get_slot_list(backend, CK_FALSE, &again, &count), CKR_OK);
    ck_assert_uint_eq(again, g_array_index(slots, CK_SLOT_ID, 0));
    g_array_unref(slots);
    ck_assert_uint_eq(released, 0);
    p11mux_backend_free(backend);
    ck_assert_uint_eq(released, 1);
    ck_assert_ptr_eq(released_list, null_list);
    /* finalised before it was given back: the module is initialisable again */
    ck_assert_uint_eq(null_list->C_Initialize(NULL), CKR_OK);
    ck_assert_uint_eq(null_list->C_Finalize(NULL), CKR_OK);
}
END_TEST

/* Two backends given the same list do not claim each other's library. */
START_TEST(test_backend_given_claims_no_library)
{
    P11muxBackend *one =
        p11mux_backend_new_given("one", "remote: a", null_list, count_release, FALSE, NULL);
    P11muxBackend *two = p11mux_backend_new("two", "/nonexistent/library.so", NULL, FALSE);
    g_autoptr(GError) error = NULL;
    GArray *slots = NULL;

    ck_assert(p11mux_backend_open_finish(p11mux_backend_open_start(one, &self, TRUE),
                                         g_get_monotonic_time() + 10 * G_USEC_PER_SEC, &slots,
                                         &error));
    g_array_unref(slots);
    /* a library backend still fails for its own reason */
    ck_assert(!p11mux_backend_open_finish(p11mux_backend_open_start(two, &self, FALSE), G_MAXINT64,
                                          &slots, &error));
    ck_assert(g_str_has_prefix(two->error, "cannot load"));
    p11mux_backend_free(two);
    p11mux_backend_free(one);
    ck_assert_uint_eq(released, 1);
}
END_TEST

START_TEST(test_backend_given_nothing_fails_with_the_reason)
{
    P11muxBackend *backend = p11mux_backend_new_given("served-x", "remote: unix:path=/x", NULL,
                                                      count_release, TRUE, "no such registration");
    g_autoptr(GError) error = NULL;
    GArray *slots = NULL;

    ck_assert(!p11mux_backend_open_finish(p11mux_backend_open_start(backend, &self, FALSE),
                                          G_MAXINT64, &slots, &error));
    ck_assert_ptr_null(slots);
    ck_assert_ptr_nonnull(strstr(error->message, "backend 'served-x' (remote: unix:path=/x)"));
    ck_assert_ptr_nonnull(strstr(error->message, "no such registration"));
    ck_assert(!backend->initialized);
    p11mux_backend_free(backend);
    ck_assert_uint_eq(released, 0);
}
END_TEST

static Suite *
backend_given_suite(void)
{
    Suite *suite = suite_create("backend-given");
    TCase *tc = tcase_create("given");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_backend_given_opens_finalises_and_gives_back);
    tcase_add_test(tc, test_backend_given_claims_no_library);
    tcase_add_test(tc, test_backend_given_nothing_fails_with_the_reason);
    suite_add_tcase(suite, tc);
    return suite;
}

int
main(void)
{
    SRunner *runner = srunner_create(backend_given_suite());
    int failed;

    /* one process: the mock's state stays between the tests */
    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_ENV);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
