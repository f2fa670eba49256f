/*
 * Slot map: an open-addressing table of slot pointers keyed by p11mux id.
 * Readers probe the published table without a lock; writers hold `lock`,
 * fill empty buckets with an atomic store, and grow by publishing a copy.
 * Retired tables and all slots live until p11mux_slotmap_free.
 *
 * Lock order: map->lock is a leaf; nothing is called while holding it.
 */
#include "config.h"

#include "slotmap.h"

#define MIN_BUCKETS 64

typedef struct {
    gsize mask;
    const P11muxSlot *buckets[]; /* atomic pointers */
} Table;

struct P11muxSlotMap {
    Table *table;        /* atomic: the published table */
    GMutex lock;         /* held to add slots */
    GPtrArray *slots;    /* P11muxSlot*, owned, in order of addition */
    GPtrArray *retired;  /* old tables */
    GHashTable *by_real; /* "backend-index:real" -> P11muxSlot*, under lock */
};

static Table *
table_new(gsize n_buckets)
{
    Table *table = g_malloc0(sizeof(Table) + n_buckets * sizeof(P11muxSlot *));

    table->mask = n_buckets - 1;
    return table;
}

P11muxSlotMap *
p11mux_slotmap_new(void)
{
    P11muxSlotMap *map = g_new0(P11muxSlotMap, 1);

    map->table = table_new(MIN_BUCKETS);
    g_mutex_init(&map->lock);
    map->slots = g_ptr_array_new_with_free_func(g_free);
    map->retired = g_ptr_array_new_with_free_func(g_free);
    map->by_real = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return map;
}

void
p11mux_slotmap_free(P11muxSlotMap *map)
{
    if (map == NULL) {
        return;
    }
    g_hash_table_unref(map->by_real);
    g_ptr_array_unref(map->retired);
    g_ptr_array_unref(map->slots);
    g_free(map->table);
    g_mutex_clear(&map->lock);
    g_free(map);
}

static gsize
bucket_of(CK_SLOT_ID id)
{
    guint64 x = id * G_GUINT64_CONSTANT(0x9E3779B97F4A7C15);

    return (gsize)(x >> 32);
}

const P11muxSlot *
p11mux_slotmap_lookup(P11muxSlotMap *map, CK_SLOT_ID id)
{
    Table *table = g_atomic_pointer_get(&map->table);
    gsize i = bucket_of(id);

    for (;;) {
        const P11muxSlot *slot = g_atomic_pointer_get(&table->buckets[i & table->mask]);

        if (slot == NULL) {
            return NULL;
        }
        if (slot->id == id) {
            return slot;
        }
        i++;
    }
}

CK_SLOT_ID
p11mux_slotmap_hash_id(const char *backend_name, CK_SLOT_ID real, guint attempt)
{
    guint32 hash = 2166136261u;
    guint64 value = real;
    const guchar *p;
    guint i;

    for (p = (const guchar *)backend_name; *p != '\0'; p++) {
        hash = (hash ^ *p) * 16777619u;
    }
    for (i = 0; i < 8; i++) {
        hash = (hash ^ (guchar)(value >> (8 * i))) * 16777619u;
    }
    for (i = 0; i < attempt; i++) {
        hash = (hash ^ 0xa5u) * 16777619u;
    }
    hash &= 0x7fffffffu;
    return hash == 0 ? 1 : hash;
}

/* Caller holds the lock. */
static void
insert(P11muxSlotMap *map, const P11muxSlot *slot)
{
    Table *table = map->table;
    gsize i;

    if ((map->slots->len + 1) * 2 > table->mask + 1) {
        Table *bigger = table_new((table->mask + 1) * 2);
        guint k;

        for (k = 0; k < map->slots->len; k++) {
            const P11muxSlot *old = g_ptr_array_index(map->slots, k);

            for (i = bucket_of(old->id); bigger->buckets[i & bigger->mask] != NULL; i++) {
            }
            bigger->buckets[i & bigger->mask] = old;
        }
        g_ptr_array_add(map->retired, table);
        g_atomic_pointer_set(&map->table, bigger);
        table = bigger;
    }
    for (i = bucket_of(slot->id); table->buckets[i & table->mask] != NULL; i++) {
    }
    g_atomic_pointer_set(&table->buckets[i & table->mask], slot);
}

static CK_SLOT_ID
free_id(P11muxSlotMap *map, const char *name, CK_SLOT_ID real)
{
    guint attempt;
    CK_SLOT_ID id;

    for (attempt = 0;; attempt++) {
        id = p11mux_slotmap_hash_id(name, real, attempt);
        if (p11mux_slotmap_lookup(map, id) == NULL) {
            return id;
        }
    }
}

/* Lock-free: the slot when it took its first-round id (almost always). */
static const P11muxSlot *
known_slot(P11muxSlotMap *map, P11muxBackend *backend, CK_SLOT_ID real)
{
    const P11muxSlot *slot =
        p11mux_slotmap_lookup(map, p11mux_slotmap_hash_id(backend->name, real, 0));

    return slot != NULL && slot->backend == backend && slot->real == real ? slot : NULL;
}

const P11muxSlot *
p11mux_slotmap_intern(P11muxSlotMap *map, P11muxBackend *backend, CK_SLOT_ID real)
{
    const P11muxSlot *known = known_slot(map, backend, real);
    char *key;
    P11muxSlot *slot;

    if (known != NULL) {
        return known;
    }
    key = g_strdup_printf("%u:%lu", backend->index, (unsigned long)real);

    g_mutex_lock(&map->lock);
    slot = g_hash_table_lookup(map->by_real, key);
    if (slot == NULL) {
        slot = g_new0(P11muxSlot, 1);
        slot->real = real;
        slot->backend = backend;
        slot->id = free_id(map, backend->name, real);
        insert(map, slot);
        g_ptr_array_add(map->slots, slot);
        g_hash_table_insert(map->by_real, key, slot);
        key = NULL;
    }
    g_mutex_unlock(&map->lock);
    g_free(key);
    return slot;
}

void
p11mux_slotmap_hide(P11muxSlotMap *map, P11muxBackend *backend, CK_SLOT_ID real)
{
    /* slots are allocated writable here; the map hands them out const */
    P11muxSlot *slot = (P11muxSlot *)p11mux_slotmap_intern(map, backend, real);

    if (slot != NULL) {
        slot->hidden = TRUE;
    }
}

GPtrArray *
p11mux_slotmap_list(P11muxSlotMap *map)
{
    GPtrArray *list;
    guint i;

    g_mutex_lock(&map->lock);
    list = g_ptr_array_sized_new(map->slots->len);
    for (i = 0; i < map->slots->len; i++) {
        g_ptr_array_add(list, g_ptr_array_index(map->slots, i));
    }
    g_mutex_unlock(&map->lock);
    return list;
}
