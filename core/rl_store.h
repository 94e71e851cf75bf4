/*
 * rl_store.h: where counters live, behind one "check and count" operation.
 *
 * A store holds integer counters under string keys, each counter belonging
 * to one window.  The limiter asks it one question per request, passing the
 * client's key, the global key, both limits and the policy, and gets back a
 * decision with the counters after it.  Making this a single operation lets
 * a Redis backend run it as one atomic script (policy RL_POLICY_ATOMIC) or
 * as the deployed service's four separate commands (RL_POLICY_DEPLOYED),
 * while the in-memory backend does either under one mutex.
 *
 * The rules of one decision (the deployed order):
 *   1. global counter >= global limit  -> RL_REJECTED_GLOBAL, nothing counted
 *   2. client counter >= client limit  -> RL_REJECTED_CLIENT, nothing counted
 *   3. otherwise RL_ALLOWED; when check->count is set, the client counter
 *      and then the global counter are incremented.
 *
 * Keys expire: a counter is dead once check->now_us reaches the
 * expire_at_us given with it.  The memory store never returns a dead
 * counter and reclaims them, so its memory does not grow with the number of
 * windows simulated.
 *
 * Ownership: a store is created by its backend's constructor and freed with
 * rl_store_destroy(), which accepts NULL.  Key strings in rl_check are
 * borrowed for the duration of the call.
 *
 * Thread safety: the memory store may be shared by threads (one mutex).
 * Other backends say in their own header.
 */
#ifndef RL_STORE_H
#define RL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "rl_status.h"

typedef enum rl_policy {
    /* The deployed service: GET global, GET client, INCR client, INCR
     * global as separate steps; a request counts even when it later fails
     * authentication; keys never get a TTL (in stores that have TTLs). */
    RL_POLICY_DEPLOYED = 0,
    /* ratelab's own: check and count in one atomic step, keys expire at the
     * window's end plus a grace period, and a request that fails
     * authentication consumes nothing. */
    RL_POLICY_ATOMIC = 1
} rl_policy;

/* Parses "deployed" or "atomic". */
int rl_policy_parse(const char *text, rl_policy *out, rl_error *err);
const char *rl_policy_name(rl_policy p);

typedef enum rl_outcome {
    RL_ALLOWED = 0,
    RL_REJECTED_GLOBAL = 1, /* 429 "Global request limit reached." */
    RL_REJECTED_CLIENT = 2  /* 429 "Daily limit of N exceeded." */
} rl_outcome;

const char *rl_outcome_name(rl_outcome o); /* "allowed", "global", "client" */

typedef struct rl_check {
    const char *client_key; /* e.g. "5FHneW46...:2025-01-01" */
    const char *global_key; /* e.g. "GLOBAL:2025-01-01" */
    int64_t client_limit;
    int64_t global_limit;
    int64_t now_us;
    int64_t expire_at_us; /* window reset + grace: when the keys may go */
    int count;            /* 1: increment both counters when allowed */
    rl_policy policy;
} rl_check;

typedef struct rl_decision {
    rl_outcome outcome;
    int counted;          /* 1 when this request was added to the counters */
    int64_t client_count; /* counters after the decision */
    int64_t global_count;
    int64_t client_limit;
    int64_t global_limit;
    int64_t window_id;
    int64_t reset_us; /* when the window's counters reset */
} rl_decision;

typedef struct rl_store rl_store;

/* A backend fills this table; callers use the rl_store_* wrappers. */
typedef struct rl_store_ops {
    const char *name; /* "memory", "redis" */
    /* Decides and counts; fills outcome, counted, client_count and
     * global_count.  Returns 0 or a negative rl_status (no decision). */
    int (*check_and_count)(rl_store *s, const rl_check *check, rl_decision *out);
    /* Reads one counter; *value is 0 when the key is missing or expired. */
    int (*read)(rl_store *s, const char *key, int64_t now_us, int64_t *value);
    /* Number of live keys, for memory accounting and tests. */
    int (*key_count)(rl_store *s, int64_t now_us, int64_t *count);
    void (*destroy)(rl_store *s);
} rl_store_ops;

/* Every backend's struct starts with this. */
struct rl_store {
    const rl_store_ops *ops;
};

int rl_store_check_and_count(rl_store *s, const rl_check *check, rl_decision *out);
int rl_store_read(rl_store *s, const char *key, int64_t now_us, int64_t *value);
int rl_store_key_count(rl_store *s, int64_t now_us, int64_t *count);
void rl_store_destroy(rl_store *s);

/* Creates an in-memory store.  Returns NULL when out of memory. */
rl_store *rl_store_memory_create(void);

#endif
