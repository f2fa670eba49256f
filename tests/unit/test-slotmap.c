/*
 * The slot map: ids unique, stable, below 2^31, never 0; lookups of unknown ids fail.
 */
#include "config.h"

#include <check.h>
#include <glib.h>

#include "backend.h"
#include "slotmap.h"

static P11muxBackend *
backend(const char *name, guint index)
{
    P11muxBackend *b = p11mux_backend_new(name, "/nonexistent.so", NULL, FALSE);

    b->index = index;
    return b;
}

START_TEST(test_slotmap_ids_are_stable_and_below_2_31)
{
    g_autoptr(P11muxBackend) a = backend("softhsm", 0);
    g_autoptr(P11muxSlotMap) first = p11mux_slotmap_new();
    g_autoptr(P11muxSlotMap) second = p11mux_slotmap_new();
    CK_SLOT_ID reals[] = {0, 1, 1234567890, G_MAXUINT32, (CK_SLOT_ID)G_MAXUINT64};
    guint i;

    for (i = 0; i < G_N_ELEMENTS(reals); i++) {
        const P11muxSlot *x = p11mux_slotmap_intern(first, a, reals[i]);
        const P11muxSlot *y = p11mux_slotmap_intern(second, a, reals[i]);

        ck_assert_uint_eq(x->id, y->id);
        ck_assert_uint_lt(x->id, G_GUINT64_CONSTANT(1) << 31);
        ck_assert_uint_ne(x->id, 0);
        ck_assert_uint_eq(x->real, reals[i]);
        ck_assert_ptr_eq(x->backend, a);
        /* asking again gives the same slot */
        ck_assert_ptr_eq(p11mux_slotmap_intern(first, a, reals[i]), x);
    }
}
END_TEST

START_TEST(test_slotmap_same_real_slot_on_two_backends_differs)
{
    g_autoptr(P11muxBackend) a = backend("mock-a", 0);
    g_autoptr(P11muxBackend) b = backend("mock-b", 1);
    g_autoptr(P11muxSlotMap) map = p11mux_slotmap_new();
    const P11muxSlot *x = p11mux_slotmap_intern(map, a, 1);
    const P11muxSlot *y = p11mux_slotmap_intern(map, b, 1);

    ck_assert_uint_ne(x->id, y->id);
    ck_assert_ptr_eq(p11mux_slotmap_lookup(map, x->id), x);
    ck_assert_ptr_eq(p11mux_slotmap_lookup(map, y->id), y);
}
END_TEST

START_TEST(test_slotmap_unknown_ids_are_not_found)
{
    g_autoptr(P11muxBackend) a = backend("softhsm", 0);
    g_autoptr(P11muxSlotMap) map = p11mux_slotmap_new();
    const P11muxSlot *x = p11mux_slotmap_intern(map, a, 7);

    ck_assert_ptr_null(p11mux_slotmap_lookup(map, 0));
    ck_assert_ptr_null(p11mux_slotmap_lookup(map, 7));
    ck_assert_ptr_null(p11mux_slotmap_lookup(map, x->id + 1));
    ck_assert_ptr_null(p11mux_slotmap_lookup(map, x->id | (G_GUINT64_CONSTANT(1) << 40)));
    ck_assert_ptr_null(p11mux_slotmap_lookup(map, (CK_SLOT_ID)-1));
}
END_TEST

/* Ids collide when the hash does; the loser takes the next round. */
START_TEST(test_slotmap_collisions_take_the_next_round)
{
    g_autoptr(P11muxBackend) a = backend("x", 0);
    g_autoptr(P11muxSlotMap) map = p11mux_slotmap_new();
    g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
    g_autofree gint64 *ids = g_new(gint64, 5000);
    guint i;

    for (i = 0; i < 5000; i++) {
        const P11muxSlot *slot = p11mux_slotmap_intern(map, a, i);

        ids[i] = (gint64)slot->id;
        ck_assert_msg(!g_hash_table_contains(seen, &ids[i]), "id %lu given twice", slot->id);
        g_hash_table_add(seen, &ids[i]);
    }
    /* after growing many times every slot is still found */
    for (i = 0; i < 5000; i++) {
        ck_assert_uint_eq(p11mux_slotmap_lookup(map, (CK_SLOT_ID)ids[i])->real, i);
    }
    /* the round-1 id of a slot differs from its round-0 id */
    ck_assert_uint_ne(p11mux_slotmap_hash_id("x", 1, 0), p11mux_slotmap_hash_id("x", 1, 1));
}
END_TEST

START_TEST(test_slotmap_list_keeps_order_of_addition)
{
    g_autoptr(P11muxBackend) a = backend("a", 0);
    g_autoptr(P11muxSlotMap) map = p11mux_slotmap_new();
    g_autoptr(GPtrArray) list = NULL;

    p11mux_slotmap_intern(map, a, 30);
    p11mux_slotmap_intern(map, a, 10);
    p11mux_slotmap_intern(map, a, 20);
    list = p11mux_slotmap_list(map);
    ck_assert_uint_eq(list->len, 3);
    ck_assert_uint_eq(((P11muxSlot *)g_ptr_array_index(list, 0))->real, 30);
    ck_assert_uint_eq(((P11muxSlot *)g_ptr_array_index(list, 2))->real, 20);
}
END_TEST

static Suite *
slotmap_suite(void)
{
    Suite *s = suite_create("slotmap");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_slotmap_ids_are_stable_and_below_2_31);
    tcase_add_test(tc, test_slotmap_same_real_slot_on_two_backends_differs);
    tcase_add_test(tc, test_slotmap_unknown_ids_are_not_found);
    tcase_add_test(tc, test_slotmap_collisions_take_the_next_round);
    tcase_add_test(tc, test_slotmap_list_keeps_order_of_addition);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *runner = srunner_create(slotmap_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
