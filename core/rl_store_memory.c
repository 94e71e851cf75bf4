/*
 * rl_store_memory.c: the in-memory store, an open-addressing hash table of
 * counters behind one mutex.
 *
 * Part of the limiter core; the simulator and the reference server use it
 * when no Redis is configured.  Each slot stores a key, its counter and the
 * time the counter expires.  Collisions are resolved by linear probing over
 * a power-of-two table.
 *
 * Slot states:
 *   empty  hash == 0.  The slot may still own a spare key buffer left by a
 *          rebuild, which the next insert into it reuses.
 *   live   hash != 0 and now_us < expire_at_us.
 *   dead   hash != 0 and now_us >= expire_at_us.  A dead slot still ends
 *          no probe sequence, but lookups never return it and an insert
 *          whose probe passes it takes it over (with its key buffer).
 *
 * Invariants:
 *   - at most half the slots are non-empty, so every probe sequence meets
 *     an empty slot and stops;
 *   - a key has at most one live slot: an insert happens only after a probe
 *     found no live slot for the key, and it goes to the first dead or
 *     empty slot of that probe, before any older dead copy of the key;
 *   - when the table fills to half, it is rebuilt with the live keys only,
 *     at a size where they fill at most a quarter, so memory follows the
 *     number of live keys and not the number of windows ever seen.
 *
 * Steady state: a simulation that creates a day's keys and lets the
 * previous day's expire reuses the dead slots' key buffers, so decisions do
 * not allocate; only rebuilds do, once per many inserts.
 *
 * Thread safety: every operation holds the store's mutex.  The key hashes
 * are computed before taking it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rl_store.h"

#define MIN_CAPACITY 16
#define MIN_KEY_BUFFER 64 /* most keys ("<hotkey>:<date>") fit without regrowth */

typedef struct mem_slot {
    uint64_t hash; /* 0: empty */
    char *key;     /* owned; NUL-terminated when the slot is not empty */
    uint32_t key_len;
    uint32_t key_cap; /* bytes allocated at key */
    int64_t count;
    int64_t expire_at_us;
} mem_slot;

typedef struct mem_store {
    rl_store base;
    pthread_mutex_t lock;
    mem_slot *slots;
    size_t capacity; /* a power of two */
    size_t occupied; /* live plus dead slots */
} mem_store;

/* A key and its hash, computed once per operation. */
typedef struct mem_key {
    const char *text;
    size_t len;
    uint64_t hash;
} mem_key;

static uint64_t rotate_left(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/*
 * Hashes a key eight bytes at a time: each word is mixed in with a multiply
 * and a rotation, then a final avalanche spreads every input bit over the
 * low bits that pick the slot.  Never returns 0, which marks empty slots.
 */
static uint64_t hash_bytes(const char *key, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)len * 0xc2b2ae3d27d4eb4fULL);
    uint64_t word;

    for (; len >= 8; key += 8, len -= 8) {
        memcpy(&word, key, 8);
        h = rotate_left((h ^ word) * 0x87c37b91114253d5ULL, 29);
    }
    if (len > 0) {
        word = 0;
        memcpy(&word, key, len);
        h = rotate_left((h ^ word) * 0x87c37b91114253d5ULL, 29);
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return h != 0 ? h : 1;
}

static mem_key make_key(const char *text)
{
    mem_key k;

    k.text = text;
    k.len = strlen(text);
    k.hash = hash_bytes(text, k.len);
    return k;
}

static int slot_is_live(const mem_slot *s, int64_t now_us)
{
    return s->hash != 0 && now_us < s->expire_at_us;
}

/*
 * Finds the live slot of a key; returns its index or -1.  When it returns
 * -1, *insert_at is the first dead or empty slot of the probe sequence,
 * where an insert of the key belongs.
 */
static long find_slot(const mem_store *ms, const mem_key *k, int64_t now_us,
                      size_t *insert_at)
{
    size_t mask = ms->capacity - 1;
    size_t i = (size_t)k->hash & mask;
    long first_free = -1;

    for (;; i = (i + 1) & mask) {
        const mem_slot *s = &ms->slots[i];

        if (s->hash == 0) {
            if (first_free < 0)
                first_free = (long)i;
            break;
        }
        if (!slot_is_live(s, now_us)) {
            if (first_free < 0)
                first_free = (long)i;
            continue;
        }
        if (s->hash == k->hash && s->key_len == k->len &&
            memcmp(s->key, k->text, k->len) == 0)
            return (long)i;
    }
    *insert_at = (size_t)first_free;
    return -1;
}

/* Puts a key with a zero counter into slot i (empty or dead), reusing the
 * slot's key buffer when it is large enough. */
static int insert_at_slot(mem_store *ms, size_t i, const mem_key *k,
                          int64_t expire_at_us)
{
    mem_slot *s = &ms->slots[i];

    if (s->key == NULL || s->key_cap < k->len + 1) {
        size_t cap = k->len + 1 < MIN_KEY_BUFFER ? MIN_KEY_BUFFER : k->len + 1;
        char *buf = realloc(s->key, cap);
        if (buf == NULL)
            return RL_ERR_NOMEM;
        s->key = buf;
        s->key_cap = (uint32_t)cap;
    }
    if (s->hash == 0)
        ms->occupied++;
    memcpy(s->key, k->text, k->len + 1);
    s->key_len = (uint32_t)k->len;
    s->hash = k->hash;
    s->count = 0;
    s->expire_at_us = expire_at_us;
    return RL_OK;
}

/* Moves a live slot into a fresh table (no key compare: keys are unique). */
static void place_live(mem_slot *slots, size_t capacity, mem_slot *from)
{
    size_t mask = capacity - 1;
    size_t i = (size_t)from->hash & mask;

    while (slots[i].hash != 0)
        i = (i + 1) & mask;
    slots[i] = *from;
}

/* Hands a spare key buffer to an empty slot of the new table, scanning
 * from *cursor; frees it when every empty slot already has one. */
static void keep_spare_buffer(mem_slot *slots, size_t capacity, size_t *cursor,
                              char *key, uint32_t key_cap)
{
    while (*cursor < capacity &&
           (slots[*cursor].hash != 0 || slots[*cursor].key != NULL))
        (*cursor)++;
    if (*cursor == capacity) {
        free(key);
        return;
    }
    slots[*cursor].key = key;
    slots[*cursor].key_cap = key_cap;
}

/* Picks the size for a rebuild: live keys (plus the inserts to come) fill
 * at most a quarter, and a table much larger than that is shrunk. */
static size_t rebuild_capacity(size_t capacity, size_t live)
{
    size_t need = live + 2;

    while (need * 4 > capacity)
        capacity *= 2;
    while (capacity > MIN_CAPACITY && need * 16 < capacity)
        capacity /= 2;
    return capacity;
}

/*
 * Rebuilds the table with the live slots only.  Two passes over the old
 * table: the first places live keys (so their probe sequences are exact),
 * the second gives the other slots' buffers to empty slots for reuse.
 */
static int rebuild(mem_store *ms, int64_t now_us)
{
    size_t live = 0, capacity, cursor = 0;
    mem_slot *slots;

    for (size_t i = 0; i < ms->capacity; i++)
        live += (size_t)slot_is_live(&ms->slots[i], now_us);
    capacity = rebuild_capacity(ms->capacity, live);
    slots = calloc(capacity, sizeof(*slots));
    if (slots == NULL)
        return RL_ERR_NOMEM;

    for (size_t i = 0; i < ms->capacity; i++) {
        if (slot_is_live(&ms->slots[i], now_us))
            place_live(slots, capacity, &ms->slots[i]);
    }
    for (size_t i = 0; i < ms->capacity; i++) {
        mem_slot *s = &ms->slots[i];
        if (s->key != NULL && !slot_is_live(s, now_us))
            keep_spare_buffer(slots, capacity, &cursor, s->key, s->key_cap);
    }
    free(ms->slots);
    ms->slots = slots;
    ms->capacity = capacity;
    ms->occupied = live;
    return RL_OK;
}

/* Makes room for up to two inserts, so the slot indexes found during one
 * check stay valid while it inserts. */
static int reserve_two(mem_store *ms, int64_t now_us)
{
    if ((ms->occupied + 2) * 2 <= ms->capacity)
        return RL_OK;
    return rebuild(ms, now_us);
}

/* Adds one to a key's counter, creating it when needed; returns the slot
 * index through *index.  `found` is the key's live slot or -1. */
static int increment(mem_store *ms, const mem_key *k, long found,
                     const rl_check *check, long *index)
{
    size_t insert_at = 0;
    mem_slot *s;

    if (found < 0)
        found = find_slot(ms, k, check->now_us, &insert_at);
    if (found < 0) {
        int rc = insert_at_slot(ms, insert_at, k, check->expire_at_us);
        if (rc != RL_OK)
            return rc;
        found = (long)insert_at;
    }
    s = &ms->slots[found];
    s->count++;
    if (check->expire_at_us > s->expire_at_us)
        s->expire_at_us = check->expire_at_us;
    *index = found;
    return RL_OK;
}

/*
 * Applies the decision rules in rl_store.h.  Both policies give the same
 * decision here because the whole check runs under the mutex, so no other
 * thread can count between the reads and the increments.
 *
 * NOTE: a counter created with check->expire_at_us <= check->now_us is dead
 * at once, so it is never read back; the limiter always passes a later time.
 */
static int mem_check_and_count(rl_store *s, const rl_check *check, rl_decision *out)
{
    mem_store *ms = (mem_store *)s;
    mem_key client = make_key(check->client_key);
    mem_key global = make_key(check->global_key);
    size_t unused;
    long ci, gi;
    int rc;

    pthread_mutex_lock(&ms->lock);
    rc = reserve_two(ms, check->now_us);
    if (rc != RL_OK)
        goto out;
    gi = find_slot(ms, &global, check->now_us, &unused);
    ci = find_slot(ms, &client, check->now_us, &unused);
    out->global_count = gi >= 0 ? ms->slots[gi].count : 0;
    out->client_count = ci >= 0 ? ms->slots[ci].count : 0;
    out->counted = 0;

    if (out->global_count >= check->global_limit) {
        out->outcome = RL_REJECTED_GLOBAL;
        goto out;
    }
    if (out->client_count >= check->client_limit) {
        out->outcome = RL_REJECTED_CLIENT;
        goto out;
    }
    out->outcome = RL_ALLOWED;
    if (!check->count)
        goto out;

    /* Client first, then global, as the deployed service does.  When the
     * global key was missing it is looked up again: the client's insert may
     * have taken the slot it would have used, or be the same key. */
    rc = increment(ms, &client, ci, check, &ci);
    if (rc == RL_OK)
        rc = increment(ms, &global, gi, check, &gi);
    if (rc != RL_OK)
        goto out;
    out->client_count = ms->slots[ci].count;
    out->global_count = ms->slots[gi].count;
    out->counted = 1;
out:
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static int mem_read(rl_store *s, const char *key, int64_t now_us, int64_t *value)
{
    mem_store *ms = (mem_store *)s;
    mem_key k = make_key(key);
    size_t unused;
    long i;

    pthread_mutex_lock(&ms->lock);
    i = find_slot(ms, &k, now_us, &unused);
    *value = i >= 0 ? ms->slots[i].count : 0;
    pthread_mutex_unlock(&ms->lock);
    return RL_OK;
}

/* Counts live keys by scanning the table: O(capacity), for accounting and
 * tests rather than the hot path. */
static int mem_key_count(rl_store *s, int64_t now_us, int64_t *count)
{
    mem_store *ms = (mem_store *)s;
    int64_t live = 0;

    pthread_mutex_lock(&ms->lock);
    for (size_t i = 0; i < ms->capacity; i++)
        live += slot_is_live(&ms->slots[i], now_us);
    pthread_mutex_unlock(&ms->lock);
    *count = live;
    return RL_OK;
}

static void mem_destroy(rl_store *s)
{
    mem_store *ms = (mem_store *)s;

    for (size_t i = 0; i < ms->capacity; i++)
        free(ms->slots[i].key);
    free(ms->slots);
    pthread_mutex_destroy(&ms->lock);
    free(ms);
}

static const rl_store_ops mem_ops = {
    "memory", mem_check_and_count, mem_read, mem_key_count, mem_destroy,
};

/* Returns a store that the caller frees with rl_store_destroy(). */
rl_store *rl_store_memory_create(void)
{
    mem_store *ms = calloc(1, sizeof(*ms));

    if (ms == NULL)
        return NULL;
    ms->slots = calloc(MIN_CAPACITY, sizeof(*ms->slots));
    if (ms->slots == NULL || pthread_mutex_init(&ms->lock, NULL) != 0) {
        free(ms->slots);
        free(ms);
        return NULL;
    }
    ms->base.ops = &mem_ops;
    ms->capacity = MIN_CAPACITY;
    return &ms->base;
}
