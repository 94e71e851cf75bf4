/*
 * rl_algo.h: alternative limiting algorithms, for what-if comparisons with
 * the deployed fixed daily window.
 *
 * The deployed service counts requests per calendar day (rl_limiter.h).
 * The algorithms here show what a different design would have done with the
 * same traffic.  Each one limits a client key to `client_limit`
 * requests per span W and all clients together to `global_limit` per W,
 * where W is the length of the limit window (24 h for calendar days, the
 * length of a fixed window):
 *
 *   sliding-log     keeps the admission times of the last W per key; a
 *                   request is admitted when fewer than `limit` of them are
 *                   in (now - W, now].  Never admits more than `limit` in
 *                   any half-open span of length W.  Memory per key is at
 *                   most `limit` times (it grows only with admissions).
 *   sliding-window  two fixed windows, the current one weighted fully and
 *                   the previous one by the part of it still inside the
 *                   span: admitted when
 *                     prev * (W - elapsed) + cur * W < limit * W
 *                   (exact integer arithmetic), elapsed being the time since
 *                   the current window started.  Two counters per key.
 *   gcra            the generic cell rate algorithm (a token bucket): one
 *                   request per emission interval T = W / limit, plus a
 *                   burst of `burst` requests beyond the steady rate.
 *                   Admits at most limit + burst requests in any half-open
 *                   span of length W.  One theoretical arrival time per key.
 *                   The global key's burst is the total itself (a bucket of
 *                   one window's worth), because with a small burst the
 *                   total would reject clients merely for arriving at the
 *                   same moment (the total's interval is W / total, under
 *                   half a second for 200000 a day); so the total admits at
 *                   most 2 * total in a span of length W.
 *
 * Common rules: the global key is checked first, then the client key, and
 * an admitted request is recorded in both, as the deployed order does;
 * with `count` = 0 (a request that fails authentication, which these
 * designs authenticate first) the outcome is computed and nothing is
 * recorded.  A rejection records nothing.  Times are arguments (no clock).
 *
 * Memory: state per live key only.  A key whose state no longer affects any
 * decision (sliding log: every time older than W; sliding window: counters
 * of windows before the previous one; gcra: arrival time in the past) is
 * reclaimed when the table is rebuilt, so keys used once (random hotkeys)
 * do not accumulate.
 *
 * Ownership: rl_algo_create() returns a table freed by rl_algo_destroy(),
 * which accepts NULL.  Not thread-safe: one caller at a time.
 */
#ifndef RL_ALGO_H
#define RL_ALGO_H

#include <stdint.h>

#include "rl_status.h"
#include "rl_store.h"
#include "rl_window.h"

typedef enum rl_algo_kind {
    RL_ALGO_FIXED_WINDOW = 0, /* the limiter's fixed windows: deployed or atomic */
    RL_ALGO_SLIDING_LOG = 1,
    RL_ALGO_SLIDING_WINDOW = 2,
    RL_ALGO_GCRA = 3
} rl_algo_kind;

/* Number of policy names: deployed, atomic and the three algorithms. */
#define RL_ALGO_POLICIES 5

/*
 * Parses a policy name: "deployed" or "atomic" (fixed windows, with that
 * rl_policy) or "sliding-log", "sliding-window", "gcra" (*policy is set to
 * RL_POLICY_ATOMIC: these designs authenticate first).  Errors name the text.
 */
int rl_algo_policy_parse(const char *text, rl_algo_kind *algo, rl_policy *policy,
                         rl_error *err);

/* Returns the name rl_algo_policy_parse() accepts for the pair. */
const char *rl_algo_policy_name(rl_algo_kind algo, rl_policy policy);

typedef struct rl_algo_config {
    rl_algo_kind kind; /* not RL_ALGO_FIXED_WINDOW */
    rl_window window;  /* W and, for sliding-window, the window alignment */
    int64_t burst;     /* gcra: requests beyond the steady rate, >= 0 */
} rl_algo_config;

typedef struct rl_algo rl_algo;

/* Creates an empty table.  Returns NULL when out of memory or when
 * cfg->kind is not one of the three algorithms. */
rl_algo *rl_algo_create(const rl_algo_config *cfg);

void rl_algo_destroy(rl_algo *a);

/*
 * Decides one request at now_us (the server's clock).  Fills every field
 * of *out: outcome, counted, the client and global "usage" (sliding log:
 * admissions in the span; sliding window: the weighted estimate rounded
 * down; gcra: requests the bucket holds, rounded up), the limits, the
 * scenario window's id, and reset_us: the earliest time at which this
 * request would be admitted if nothing else happened (now_us when it was
 * admitted).  Nothing is recorded when the request is rejected or when
 * count is 0.  Returns 0, RL_ERR_NOMEM, or RL_ERR_INVALID for a NULL or
 * empty key or a negative limit.
 */
int rl_algo_decide(rl_algo *a, const char *client_key, int64_t client_limit,
                   int64_t global_limit, int64_t now_us, int count, rl_decision *out);

/* Number of keys in the table (live or not yet reclaimed), for tests. */
int64_t rl_algo_key_count(const rl_algo *a);

#endif
