/*
 * Session table (the layout and the lock-free lookup are in sessions.h, so
 * that the lookup inlines into the forwarders).  Chunks are freed only with
 * the table, so a reader never touches freed memory.
 *
 * Shards: shard k owns chunks k, k + N_SHARDS, k + 2 N_SHARDS, ... and
 * hands their entries out fresh in that order, then from its FIFO of freed
 * indices once that holds more than FRESH_RESERVE (or the shard has no
 * fresh entry left).  Every freed index goes back to the shard owning it,
 * so a shard's FIFO never holds more indices than the shard has handed out
 * fresh: the ring is grown when a fresh entry is taken, and giving an index
 * back never allocates.
 *
 * An entry taken from a shard belongs to the opening thread until it
 * publishes the entry's live state; from then on any thread may invalidate
 * it, and the compare-and-swap on the state picks the one that gives the
 * index back.
 *
 * Lock order: each shard's lock is a leaf; no two are held at once and no
 * backend is called under one.
 */
#include "config.h"

#include "sessions.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_BITS P11MUX_SESSIONS_CHUNK_BITS
#define CHUNK_SIZE P11MUX_SESSIONS_CHUNK_SIZE
#define N_CHUNKS P11MUX_SESSIONS_N_CHUNKS
#define N_SHARDS P11MUX_SESSIONS_N_SHARDS
#define GENERATION_MASK P11MUX_SESSIONS_GENERATION_MASK
#define FRESH_RESERVE 256 /* fresh entries a shard uses before any freed one is reused */
#define CACHE_LINE 64

G_STATIC_ASSERT(N_CHUNKS % N_SHARDS == 0);

typedef P11muxSessionEntry Entry;

struct P11muxSessionsShard {
    GMutex lock;
    guint fresh;    /* positions of this shard's chunks used so far (shard 0 skips index 0) */
    guint live;     /* live sessions on this shard's entries */
    guint *ring;    /* freed indices, FIFO; capacity >= fresh */
    guint capacity; /* a power of two */
    guint head;
    guint len;
} __attribute__((aligned(CACHE_LINE)));

typedef P11muxSessionsShard Shard;

/* Round robin: where the next thread that opens a session makes its home. */
static guint next_home;

/* This thread's home shard plus one; 0 until its first open.  initial-exec: one load, not a
 * __tls_get_addr (4 bytes of the static TLS glibc keeps for modules loaded with dlopen; call.h
 * takes 8 likewise). */
static __thread guint home_plus_one __attribute__((tls_model("initial-exec")));

P11muxSessions *
p11mux_sessions_new(void)
{
    P11muxSessions *sessions = g_new0(P11muxSessions, 1);
    guint k;

    sessions->shards = g_aligned_alloc0(N_SHARDS, sizeof(Shard), G_ALIGNOF(Shard));
    for (k = 0; k < N_SHARDS; k++) {
        g_mutex_init(&sessions->shards[k].lock);
    }
    sessions->shards[0].fresh = 1; /* index 0 is never a handle */
    return sessions;
}

void
p11mux_sessions_free(P11muxSessions *sessions)
{
    guint i;

    if (sessions == NULL) {
        return;
    }
    for (i = 0; i < N_CHUNKS; i++) {
        free(sessions->chunks[i]); /* posix_memalign */
    }
    for (i = 0; i < N_SHARDS; i++) {
        g_free(sessions->shards[i].ring);
        g_mutex_clear(&sessions->shards[i].lock);
    }
    g_aligned_free(sessions->shards);
    g_free(sessions);
}

static Entry *
entry_at(P11muxSessions *sessions, guint index)
{
    Entry *chunk = g_atomic_pointer_get(&sessions->chunks[index >> CHUNK_BITS]);

    return chunk == NULL ? NULL : &chunk[index & (CHUNK_SIZE - 1)];
}

static Shard *
owner_of(P11muxSessions *sessions, guint index)
{
    return &sessions->shards[(index >> CHUNK_BITS) % N_SHARDS];
}

/* The index at position `position` of shard k's chunks; 0 past its last. */
static guint
fresh_index(guint k, guint position)
{
    guint chunk = k + N_SHARDS * (position >> CHUNK_BITS);

    if (chunk >= N_CHUNKS) {
        return 0;
    }
    return (chunk << CHUNK_BITS) | (position & (CHUNK_SIZE - 1));
}

/* Caller holds the shard's lock.  0 when the FIFO is empty. */
static guint
ring_pop(Shard *shard)
{
    guint index;

    if (shard->len == 0) {
        return 0;
    }
    index = shard->ring[shard->head];
    shard->head = (shard->head + 1) & (shard->capacity - 1);
    shard->len--;
    return index;
}

/* Caller holds the shard's lock; never allocates (capacity >= fresh >= len + 1). */
static void
ring_push(Shard *shard, guint index)
{
    g_return_if_fail(shard->len < shard->capacity);
    shard->ring[(shard->head + shard->len) & (shard->capacity - 1)] = index;
    shard->len++;
}

/* Caller holds the shard's lock: room in the FIFO for one more fresh entry. */
static gboolean
ring_reserve(Shard *shard)
{
    guint capacity = shard->capacity == 0 ? CHUNK_SIZE : shard->capacity * 2;
    guint *ring, i;

    if (shard->fresh < shard->capacity) {
        return TRUE;
    }
    ring = g_try_new(guint, capacity);
    if (ring == NULL) {
        return FALSE;
    }
    for (i = 0; i < shard->len; i++) {
        ring[i] = shard->ring[(shard->head + i) & (shard->capacity - 1)];
    }
    g_free(shard->ring);
    shard->ring = ring;
    shard->capacity = capacity;
    shard->head = 0;
    return TRUE;
}

/* g_aligned_alloc0 aborts on failure: a chunk is a size the application
 * chooses (by opening sessions), so failing is CKR_SESSION_COUNT. */
static gpointer
aligned_try_new0(gsize size)
{
    gpointer memory = NULL;

    if (posix_memalign(&memory, CACHE_LINE, size) != 0) {
        return NULL;
    }
    return memset(memory, 0, size);
}

/* Caller holds the lock of the shard owning index. */
static gboolean
chunk_reserve(P11muxSessions *sessions, guint index)
{
    Entry *chunk;

    if (sessions->chunks[index >> CHUNK_BITS] != NULL) {
        return TRUE;
    }
    /* aligned: the entries of two chunks never share a cache line */
    chunk = aligned_try_new0(CHUNK_SIZE * sizeof(Entry));
    if (chunk == NULL) {
        return FALSE;
    }
    g_atomic_pointer_set(&sessions->chunks[index >> CHUNK_BITS], chunk);
    return TRUE;
}

/* Caller holds shard k's lock.  An index now the caller's; 0 when the shard is full. */
static guint
shard_take(P11muxSessions *sessions, guint k)
{
    Shard *shard = &sessions->shards[k];
    guint index = fresh_index(k, shard->fresh);

    if (index == 0 || shard->len > FRESH_RESERVE || !ring_reserve(shard) ||
        !chunk_reserve(sessions, index)) {
        index = ring_pop(shard);
    } else {
        shard->fresh++;
    }
    if (index != 0) {
        shard->live++;
    }
    return index;
}

static guint
home_shard(void)
{
    if (home_plus_one == 0) {
        home_plus_one = (g_atomic_int_add(&next_home, 1) % N_SHARDS) + 1;
    }
    return home_plus_one - 1;
}

/* An index now the caller's: from this thread's home shard when it is free,
 * else from the next free shard, which becomes home; 0 when every shard is
 * full. */
static guint
take_index(P11muxSessions *sessions)
{
    guint home = home_shard();
    guint i, k, index;

    for (i = 0; i < N_SHARDS; i++) {
        k = (home + i) % N_SHARDS;
        if (g_mutex_trylock(&sessions->shards[k].lock)) {
            index = shard_take(sessions, k);
            g_mutex_unlock(&sessions->shards[k].lock);
            if (index != 0) {
                home_plus_one = k + 1;
                return index;
            }
        }
    }
    /* every shard busy or full: wait for each in turn */
    for (i = 0; i < N_SHARDS; i++) {
        k = (home + i) % N_SHARDS;
        g_mutex_lock(&sessions->shards[k].lock);
        index = shard_take(sessions, k);
        g_mutex_unlock(&sessions->shards[k].lock);
        if (index != 0) {
            return index;
        }
    }
    return 0;
}

static guint
next_generation(guint state)
{
    guint generation = ((state >> 1) + 1) & GENERATION_MASK;

    return generation == 0 ? 1 : generation;
}

CK_SESSION_HANDLE
p11mux_sessions_add(P11muxSessions *sessions, const P11muxSlot *slot, CK_SESSION_HANDLE real,
                    CK_FLAGS flags)
{
    guint index = take_index(sessions);
    guint generation;
    Entry *entry;

    if (index == 0) {
        return 0;
    }
    /* the entry is this thread's alone until the state says live */
    entry = entry_at(sessions, index);
    generation = next_generation((guint)g_atomic_int_get(&entry->state));
    g_atomic_pointer_set(&entry->slot, (gpointer)slot);
    __atomic_store_n(&entry->real, real, __ATOMIC_RELEASE);
    __atomic_store_n(&entry->flags, flags, __ATOMIC_RELEASE);
    g_atomic_int_set(&entry->state, (generation << 1) | 1);
    return ((CK_SESSION_HANDLE)generation << P11MUX_SESSIONS_INDEX_BITS) | index;
}

static Entry *
entry_of(P11muxSessions *sessions, CK_SESSION_HANDLE handle, guint *want)
{
    guint index = handle & P11MUX_SESSIONS_MAX;
    CK_SESSION_HANDLE generation = handle >> P11MUX_SESSIONS_INDEX_BITS;

    if (index == 0 || generation == 0 || generation > GENERATION_MASK) {
        return NULL;
    }
    *want = ((guint)generation << 1) | 1;
    return entry_at(sessions, index);
}

gboolean
p11mux_sessions_remove(P11muxSessions *sessions, CK_SESSION_HANDLE handle)
{
    guint want = 0, index = handle & P11MUX_SESSIONS_MAX;
    Entry *entry = entry_of(sessions, handle, &want);
    Shard *shard;

    /* one winner: the state moves from live to the next generation, dead */
    if (entry == NULL ||
        !__atomic_compare_exchange_n(&entry->state, &want, next_generation(want) << 1, FALSE,
                                     __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
        return FALSE;
    }
    shard = owner_of(sessions, index);
    g_mutex_lock(&shard->lock);
    ring_push(shard, index);
    shard->live--;
    g_mutex_unlock(&shard->lock);
    return TRUE;
}

/* Chunk c's live handles on slot (NULL: all), appended to handles. */
static void
append_live(P11muxSessions *sessions, guint c, const P11muxSlot *slot, GArray *handles)
{
    Entry *chunk = g_atomic_pointer_get(&sessions->chunks[c]);
    guint i;

    for (i = 0; chunk != NULL && i < CHUNK_SIZE; i++) {
        guint state = (guint)g_atomic_int_get(&chunk[i].state);
        CK_SESSION_HANDLE handle =
            ((CK_SESSION_HANDLE)(state >> 1) << P11MUX_SESSIONS_INDEX_BITS) | (c << CHUNK_BITS) | i;
        const P11muxSlot *on;
        CK_SESSION_HANDLE real;

        if ((state & 1) && p11mux_sessions_lookup(sessions, handle, &on, &real, NULL) &&
            (slot == NULL || on == slot)) {
            g_array_append_val(handles, handle);
        }
    }
}

GArray *
p11mux_sessions_on_slot(P11muxSessions *sessions, const P11muxSlot *slot)
{
    GArray *handles = g_array_new(FALSE, FALSE, sizeof(CK_SESSION_HANDLE));
    guint c;

    for (c = 0; c < N_CHUNKS; c++) {
        append_live(sessions, c, slot, handles);
    }
    return handles;
}

guint
p11mux_sessions_count(P11muxSessions *sessions)
{
    guint live = 0, k;

    for (k = 0; k < N_SHARDS; k++) {
        g_mutex_lock(&sessions->shards[k].lock);
        live += sessions->shards[k].live;
        g_mutex_unlock(&sessions->shards[k].lock);
    }
    return live;
}
