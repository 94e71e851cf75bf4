/*
 * rl_algo.c: the sliding-log, sliding-window and GCRA limiters (see
 * rl_algo.h for the rules and the bounds they keep).
 *
 * Part of the limiter core: pure functions of the state and the time
 * passed in.  State lives in an open-addressing hash table keyed by the
 * client key, plus one state for the global key.  The table is rebuilt
 * when half full, keeping only keys whose state still matters, so its size
 * follows the number of recently active keys.
 *
 * GCRA arithmetic is exact: times are scaled by the key's limit, so the
 * emission interval W / limit becomes W and no rounding happens.  Scaled
 * values need more than 64 bits (a time in microseconds times a limit up
 * to 2^53), so they are kept in GCC's unsigned/signed 128-bit integers.
 */
#include <stdlib.h>
#include <string.h>

#include "rl_algo.h"

typedef __int128 wide;

#define MIN_TABLE 16

/* The state of one key, for whichever algorithm the table runs. */
typedef struct algo_state {
    char *key; /* owned; NULL: empty slot */
    uint64_t hash;
    /* sliding-log: admission times, oldest at head, in a ring of cap */
    int64_t *times;
    int64_t cap, head, n;
    /* sliding-window: counters of window `window_id` and the one before */
    int64_t window_id, cur, prev;
    /* gcra: theoretical arrival time, scaled by `scale` (the limit) */
    wide tat;
    int64_t scale;
} algo_state;

struct rl_algo {
    rl_algo_config cfg;
    algo_state *slots;
    size_t capacity; /* a power of two */
    size_t used;
    algo_state global;
};

static const struct {
    const char *name;
    rl_algo_kind algo;
    rl_policy policy;
} policy_names[RL_ALGO_POLICIES] = {
    {"deployed", RL_ALGO_FIXED_WINDOW, RL_POLICY_DEPLOYED},
    {"atomic", RL_ALGO_FIXED_WINDOW, RL_POLICY_ATOMIC},
    {"sliding-log", RL_ALGO_SLIDING_LOG, RL_POLICY_ATOMIC},
    {"sliding-window", RL_ALGO_SLIDING_WINDOW, RL_POLICY_ATOMIC},
    {"gcra", RL_ALGO_GCRA, RL_POLICY_ATOMIC},
};

int rl_algo_policy_parse(const char *text, rl_algo_kind *algo, rl_policy *policy,
                         rl_error *err)
{
    for (int i = 0; i < RL_ALGO_POLICIES; i++) {
        if (strcmp(text, policy_names[i].name) == 0) {
            *algo = policy_names[i].algo;
            *policy = policy_names[i].policy;
            return 0;
        }
    }
    rl_error_set(err,
                 "invalid policy '%s': expected deployed, atomic, sliding-log, "
                 "sliding-window or gcra",
                 text);
    return RL_ERR_INVALID;
}

const char *rl_algo_policy_name(rl_algo_kind algo, rl_policy policy)
{
    for (int i = 0; i < RL_ALGO_POLICIES; i++) {
        if (policy_names[i].algo == algo &&
            (algo != RL_ALGO_FIXED_WINDOW || policy_names[i].policy == policy))
            return policy_names[i].name;
    }
    return "unknown";
}

/* ---- the table --------------------------------------------------------- */

static uint64_t hash_key(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then a final mix */

    for (; *key != '\0'; key++)
        h = (h ^ (unsigned char)*key) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static void state_clear(algo_state *s)
{
    free(s->key);
    free(s->times);
    memset(s, 0, sizeof(*s));
}

static int64_t span_us(const rl_algo *a, int64_t now_us)
{
    return rl_window_length_us(&a->cfg.window, rl_window_id(&a->cfg.window, now_us));
}

/* True when the state can no longer change a decision at or after now. */
static int state_idle(const rl_algo *a, const algo_state *s, int64_t now_us)
{
    switch (a->cfg.kind) {
    case RL_ALGO_SLIDING_LOG:
        return s->n == 0 ||
               s->times[(s->head + s->n - 1) % s->cap] <= now_us - span_us(a, now_us);
    case RL_ALGO_SLIDING_WINDOW:
        return s->window_id < rl_window_id(&a->cfg.window, now_us) - 1;
    case RL_ALGO_GCRA:
        return s->scale == 0 || s->tat <= (wide)now_us * s->scale;
    default:
        return 1;
    }
}

/* Places a state into a table slot by linear probing (the key is new). */
static void table_place(algo_state *slots, size_t capacity, algo_state *s)
{
    size_t i = (size_t)s->hash & (capacity - 1);

    while (slots[i].key != NULL)
        i = (i + 1) & (capacity - 1);
    slots[i] = *s;
}

/* Rebuilds the table with the keys that still matter, at a size where they
 * fill at most a quarter of it. */
static int table_rebuild(rl_algo *a, int64_t now_us)
{
    size_t live = 0, capacity = MIN_TABLE;

    for (size_t i = 0; i < a->capacity; i++)
        live += a->slots[i].key != NULL && !state_idle(a, &a->slots[i], now_us);
    while (capacity < 4 * (live + 1))
        capacity *= 2;
    algo_state *slots = calloc(capacity, sizeof(*slots));
    if (slots == NULL)
        return RL_ERR_NOMEM;

    for (size_t i = 0; i < a->capacity; i++) {
        algo_state *s = &a->slots[i];
        if (s->key == NULL)
            continue;
        if (state_idle(a, s, now_us))
            state_clear(s);
        else
            table_place(slots, capacity, s);
    }
    free(a->slots);
    a->slots = slots;
    a->capacity = capacity;
    a->used = live;
    return 0;
}

/* Finds or creates the state of a key.  Returns NULL when out of memory. */
static algo_state *table_get(rl_algo *a, const char *key, int64_t now_us)
{
    uint64_t h = hash_key(key);
    size_t i;

    if (2 * (a->used + 1) > a->capacity && table_rebuild(a, now_us) < 0)
        return NULL;
    for (i = (size_t)h & (a->capacity - 1); a->slots[i].key != NULL;
         i = (i + 1) & (a->capacity - 1)) {
        if (a->slots[i].hash == h && strcmp(a->slots[i].key, key) == 0)
            return &a->slots[i];
    }
    a->slots[i].key = strdup(key);
    if (a->slots[i].key == NULL)
        return NULL;
    a->slots[i].hash = h;
    a->slots[i].window_id = INT64_MIN;
    a->used++;
    return &a->slots[i];
}

rl_algo *rl_algo_create(const rl_algo_config *cfg)
{
    if (cfg->kind != RL_ALGO_SLIDING_LOG && cfg->kind != RL_ALGO_SLIDING_WINDOW &&
        cfg->kind != RL_ALGO_GCRA)
        return NULL;
    rl_algo *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->cfg = *cfg;
    a->global.window_id = INT64_MIN;
    a->capacity = MIN_TABLE;
    a->slots = calloc(a->capacity, sizeof(*a->slots));
    if (a->slots == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

void rl_algo_destroy(rl_algo *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->capacity; i++)
        state_clear(&a->slots[i]);
    free(a->slots);
    state_clear(&a->global);
    free(a);
}

int64_t rl_algo_key_count(const rl_algo *a)
{
    return (int64_t)a->used;
}

/* ---- sliding log ------------------------------------------------------- */

static void log_prune(algo_state *s, int64_t now_us, int64_t w_us)
{
    while (s->n > 0 && s->times[s->head] <= now_us - w_us) {
        s->head = (s->head + 1) % s->cap;
        s->n--;
    }
}

/* Earliest time the key admits one more request (INT64_MAX: never). */
static int64_t log_earliest(const algo_state *s, int64_t limit, int64_t now_us,
                            int64_t w_us)
{
    if (limit <= 0)
        return INT64_MAX;
    if (s->n < limit)
        return now_us;
    /* The (n - limit)-th oldest time must leave the span. */
    return s->times[(s->head + s->n - limit) % s->cap] + w_us;
}

static int log_record(algo_state *s, int64_t now_us, int64_t limit)
{
    if (s->n == s->cap) {
        int64_t cap = s->cap == 0 ? 4 : s->cap * 2;
        if (cap > limit)
            cap = limit;
        int64_t *times = malloc((size_t)cap * sizeof(*times));
        if (times == NULL)
            return RL_ERR_NOMEM;
        for (int64_t i = 0; i < s->n; i++)
            times[i] = s->times[(s->head + i) % s->cap];
        free(s->times);
        s->times = times;
        s->cap = cap;
        s->head = 0;
    }
    s->times[(s->head + s->n) % s->cap] = now_us;
    s->n++;
    return 0;
}

/* ---- sliding window ---------------------------------------------------- */

/* Moves the counters to the window of now. */
static void window_advance(const rl_algo *a, algo_state *s, int64_t now_us)
{
    int64_t id = rl_window_id(&a->cfg.window, now_us);

    if (s->window_id == id)
        return;
    s->prev = s->window_id == id - 1 ? s->cur : 0;
    s->cur = 0;
    s->window_id = id;
}

/* Earliest elapsed time in a window (of length w) at which
 * prev * (w - e) + cur * w < limit * w, or -1 when none is below w. */
static int64_t window_first_elapsed(int64_t prev, int64_t cur, int64_t limit, int64_t w)
{
    if (cur >= limit)
        return -1;
    if (prev == 0)
        return 0;
    /* prev * (w - e) < (limit - cur) * w  <=>  e > w - (limit - cur) * w / prev;
     * the smallest such integer is w - floor(((limit - cur) * w - 1) / prev). */
    wide room = (wide)(limit - cur) * w - 1;
    wide e = (wide)w - room / prev;
    if (e < 0)
        e = 0;
    return e < w ? (int64_t)e : -1;
}

static int64_t window_earliest(const rl_algo *a, const algo_state *s, int64_t limit,
                               int64_t now_us)
{
    const rl_window *win = &a->cfg.window;
    int64_t id = s->window_id, prev = s->prev, cur = s->cur;

    if (limit <= 0)
        return INT64_MAX;
    /* Three windows suffice: in the second one only `cur` is weighted, in
     * the third nothing is. */
    for (int i = 0; i < 3; i++, id++) {
        int64_t start = rl_window_start_us(win, id);
        int64_t e = window_first_elapsed(prev, cur, limit, rl_window_length_us(win, id));
        if (e >= 0)
            return start + e > now_us ? start + e : now_us;
        prev = cur;
        cur = 0;
    }
    return INT64_MAX;
}

static int64_t window_usage(const rl_algo *a, const algo_state *s, int64_t now_us)
{
    int64_t w = rl_window_length_us(&a->cfg.window, s->window_id);
    int64_t elapsed = now_us - rl_window_start_us(&a->cfg.window, s->window_id);
    wide weighted = (wide)s->prev * (w - elapsed) + (wide)s->cur * w;

    return (int64_t)(weighted / w);
}

/* ---- gcra -------------------------------------------------------------- */

/* Earliest time the bucket admits a request: when tat - burst * w, in
 * scaled units, is reached. */
static int64_t gcra_earliest(const algo_state *s, int64_t limit, int64_t burst,
                             int64_t now_us, int64_t w_us)
{
    if (limit <= 0)
        return INT64_MAX;
    if (s->scale != limit)
        return now_us; /* a fresh key (or one whose limit changed) */
    wide allowed = s->tat - (wide)burst * w_us;
    wide t = (allowed + limit - 1) / limit; /* ceiling: allowed >= 0 here */
    if (allowed <= (wide)now_us * limit)
        return now_us;
    return t > (wide)INT64_MAX ? INT64_MAX : (int64_t)t;
}

static void gcra_record(algo_state *s, int64_t limit, int64_t now_us, int64_t w_us)
{
    wide now_scaled = (wide)now_us * limit;

    if (s->scale != limit) {
        s->scale = limit;
        s->tat = now_scaled;
    }
    s->tat = (s->tat > now_scaled ? s->tat : now_scaled) + w_us;
}

static int64_t gcra_usage(const algo_state *s, int64_t now_us, int64_t w_us)
{
    wide ahead = s->tat - (wide)now_us * s->scale;

    if (s->scale == 0 || ahead <= 0)
        return 0;
    return (int64_t)((ahead + w_us - 1) / w_us);
}

/* ---- decisions --------------------------------------------------------- */

/* Brings a key's state to now and returns when it would admit a request.
 * `burst` is GCRA's: the scenario's for a client, the total for the
 * global key (see rl_algo.h). */
static int64_t key_earliest(rl_algo *a, algo_state *s, int64_t limit, int64_t burst,
                            int64_t now_us, int64_t w_us)
{
    switch (a->cfg.kind) {
    case RL_ALGO_SLIDING_LOG:
        log_prune(s, now_us, w_us);
        return log_earliest(s, limit, now_us, w_us);
    case RL_ALGO_SLIDING_WINDOW:
        window_advance(a, s, now_us);
        return window_earliest(a, s, limit, now_us);
    default:
        return gcra_earliest(s, limit, burst, now_us, w_us);
    }
}

static int key_record(rl_algo *a, algo_state *s, int64_t limit, int64_t now_us,
                      int64_t w_us)
{
    switch (a->cfg.kind) {
    case RL_ALGO_SLIDING_LOG:
        return log_record(s, now_us, limit);
    case RL_ALGO_SLIDING_WINDOW:
        s->cur++;
        return 0;
    default:
        gcra_record(s, limit, now_us, w_us);
        return 0;
    }
}

static int64_t key_usage(const rl_algo *a, const algo_state *s, int64_t now_us,
                         int64_t w_us)
{
    switch (a->cfg.kind) {
    case RL_ALGO_SLIDING_LOG:
        return s->n;
    case RL_ALGO_SLIDING_WINDOW:
        return window_usage(a, s, now_us);
    default:
        return gcra_usage(s, now_us, w_us);
    }
}

int rl_algo_decide(rl_algo *a, const char *client_key, int64_t client_limit,
                   int64_t global_limit, int64_t now_us, int count, rl_decision *out)
{
    int64_t w_us = span_us(a, now_us);

    memset(out, 0, sizeof(*out));
    out->window_id = rl_window_id(&a->cfg.window, now_us);
    out->client_limit = client_limit;
    out->global_limit = global_limit;
    if (client_key == NULL || client_key[0] == '\0' || client_limit < 0 ||
        global_limit < 0)
        return RL_ERR_INVALID;
    algo_state *s = table_get(a, client_key, now_us);
    if (s == NULL)
        return RL_ERR_NOMEM;

    /* The global key first, as the deployed order checks it. */
    int64_t global_at = key_earliest(a, &a->global, global_limit, global_limit, now_us, w_us);
    int64_t client_at = key_earliest(a, s, client_limit, a->cfg.burst, now_us, w_us);
    out->reset_us = global_at > client_at ? global_at : client_at;
    if (global_at > now_us)
        out->outcome = RL_REJECTED_GLOBAL;
    else if (client_at > now_us)
        out->outcome = RL_REJECTED_CLIENT;
    else
        out->outcome = RL_ALLOWED;

    if (out->outcome == RL_ALLOWED && count) {
        int rc = key_record(a, s, client_limit, now_us, w_us);
        if (rc == 0)
            rc = key_record(a, &a->global, global_limit, now_us, w_us);
        if (rc < 0)
            return rc;
        out->counted = 1;
    }
    out->client_count = key_usage(a, s, now_us, w_us);
    out->global_count = key_usage(a, &a->global, now_us, w_us);
    return 0;
}
