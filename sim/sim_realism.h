/*
 * sim_realism.h: the simulator's realism models: client restarts, reactions
 * to a 429, attackers, server replicas, server clock offsets, alternative
 * limiting algorithms, side-by-side policy comparisons and trace replay.
 *
 * Where it sits: the scenario parser fills the structs below (every key is
 * in docs/scenarios.md, the models in docs/realism.md); sim_run() hands a
 * scenario that uses any of them to sim_realism_run(), the realism engine,
 * instead of the fast path or the plain event loop.  With none of them in
 * use the realism engine gives exactly the plain event loop's result
 * (tests/test_realism.c checks this on the shipped scenarios).
 *
 * Every struct here is a plain value with no allocation, so scenarios and
 * results stay copyable.  The defaults (all zero, except the on_429 times)
 * mean "the plain model": sim_realism_reason() returns NULL for them.
 */
#ifndef SIM_REALISM_H
#define SIM_REALISM_H

#include <stddef.h>
#include <stdint.h>

#include "rl_algo.h"
#include "rl_status.h"

#define SIM_REALISM_NAME_MAX 64 /* = SIM_NAME_MAX, without including sim.h */
#define SIM_REALISM_ID_MAX (SIM_REALISM_NAME_MAX + 21)
#define SIM_COMPARE_MAX 8
#define SIM_ON429_UNLIMITED (-1) /* on_429 without "times N" */

/* What a client does when a request gets a 429. */
typedef enum sim_on429_kind {
    SIM_ON429_NONE = 0,       /* carry on with the regular cadence */
    SIM_ON429_RETRY = 1,      /* retry after a fixed delay */
    SIM_ON429_BACKOFF = 2,    /* retry after base, base*factor, ... up to cap */
    SIM_ON429_NEXT_WINDOW = 3 /* sleep until the window resets, then retry */
} sim_on429_kind;

typedef struct sim_on429 {
    sim_on429_kind kind;
    int64_t delay_us;     /* retry: the delay; backoff: the base (first) delay */
    int64_t factor_milli; /* backoff: the factor in thousandths (2 = 2000) */
    int64_t cap_us;       /* backoff: no delay exceeds it */
    int64_t times;        /* retries per rejected request; SIM_ON429_UNLIMITED */
} sim_on429;

typedef enum sim_target_kind {
    SIM_TARGET_OWN = 0,        /* the population's own client ids */
    SIM_TARGET_POPULATION = 1, /* another population's ids (its hotkeys) */
    SIM_TARGET_RANDOM = 2      /* a fresh random hotkey per request */
} sim_target_kind;

/* Per-population models. */
typedef struct sim_realism_pop {
    int64_t restart_every_us;  /* 0: never restarted */
    int64_t restart_jitter_us; /* +- uniform on each restart interval */
    sim_on429 on429;
    sim_target_kind target;
    char target_name[SIM_REALISM_NAME_MAX];
    int target_index; /* SIM_TARGET_POPULATION: the population index */
} sim_realism_pop;

typedef enum sim_store_kind {
    SIM_STORE_SHARED = 0,     /* one counter store for every replica (Redis) */
    SIM_STORE_PER_REPLICA = 1 /* each replica counts in its own memory */
} sim_store_kind;

typedef enum sim_balance {
    SIM_BALANCE_ROUND_ROBIN = 0,
    SIM_BALANCE_RANDOM = 1
} sim_balance;

/* One policy of a [compare] section. */
typedef struct sim_policy_choice {
    rl_algo_kind algo;
    rl_policy policy; /* for RL_ALGO_FIXED_WINDOW */
} sim_policy_choice;

struct sim_trace; /* sim_trace.h */

/* Scenario-wide models ([limits] and [compare] keys). */
typedef struct sim_realism {
    rl_algo_kind algo; /* with sim_scenario.policy: the `policy` key */
    int64_t burst;     /* gcra */
    int64_t replicas;  /* 0 or 1: one server */
    sim_store_kind store;
    int64_t rtt_us; /* shared store: client-to-Redis round trip */
    sim_balance balance;
    int64_t replica_restart_every_us; /* per-replica store: 0 never */
    int64_t clock_offset_us;          /* server clock minus true UTC */
    sim_policy_choice compare[SIM_COMPARE_MAX];
    int ncompare;
    /* A trace to replay instead of the populations' cadences (borrowed,
     * set by sim_trace_scenario(), never by the parser). */
    const struct sim_trace *trace;
} sim_realism;

/* Per-population results of the models. */
typedef struct sim_realism_pop_result {
    int64_t retries;  /* requests that were retries of a 429 (in requests) */
    int64_t gave_up;  /* rejected requests abandoned after their last retry */
    int64_t restarts; /* client restarts in the run */
    int64_t dropped;  /* scheduled requests lost to a restart */
} sim_realism_pop_result;

/* One row of a [compare] table. */
typedef struct sim_compare_row {
    sim_policy_choice choice;
    int64_t requests, accepted, rejected, retries;
    int64_t first_rejection_us; /* SIM_TIME_NONE when none */
    char first_rejection_client[SIM_REALISM_ID_MAX];
} sim_compare_row;

/* Run-wide results of the models. */
typedef struct sim_realism_result {
    int active; /* 1: the realism engine ran this result */
    sim_realism config;
    int64_t retries;
    /* Requests of populations with auth = valid, and their rejections. */
    int64_t honest_requests, honest_rejected;
    int64_t honest_first_rejection_us; /* SIM_TIME_NONE when none */
    char honest_first_rejection_client[SIM_REALISM_ID_MAX];
    /* Estimated overshoot: admissions while the true count had already
     * reached the limit (replicas only). */
    int64_t overshoot_client, overshoot_global;
    int64_t overshoot_max_per_window; /* worst (client, window) excess */
    /* The highest global counter that one replica read and raised.  With
     * store = per-replica each replica enforces the total on its own
     * counter, so this is what the total is compared with, while
     * sim_global_result.peak_window_usage sums the replicas. */
    int64_t peak_replica_counter;
    /* Start of the server's day in true UTC, as an offset from midnight
     * (0..24 h), with the clock offset and the window's zone applied. */
    int64_t day_start_utc_us;
    /* Trace replay: rows read and bad rows skipped. */
    int64_t trace_rows, trace_skipped;
    sim_compare_row compare[SIM_COMPARE_MAX];
    int ncompare;
} sim_realism_result;

/* Forward declarations of sim.h's types. */
struct sim_scenario;
struct sim_config;
struct sim_result;

/*
 * Returns why a scenario and config need the realism engine ("restarts",
 * "policy gcra", ...), or NULL when they use none of its models.  The fast
 * path calls it so that it never runs such a scenario.
 */
const char *sim_realism_reason(const struct sim_scenario *sc,
                               const struct sim_config *cfg);

/*
 * Runs a validated scenario with the realism engine into r, which sim_run()
 * allocated with its counters at zero.  Returns 0 (r complete but for the
 * expectations), or a negative rl_status with err filled.
 */
int sim_realism_run(const struct sim_scenario *sc, const struct sim_config *cfg,
                    struct sim_result *r, rl_error *err);

/*
 * Runs the scenario once per policy of its [compare] section and fills
 * r->realism.compare.  Returns 0 or a negative rl_status with err filled.
 */
int sim_compare_run(const struct sim_scenario *sc, const struct sim_config *cfg,
                    struct sim_result *r, rl_error *err);

/* Writes the on_429 setting as the scenario spells it ("retry 1m times 2"). */
void sim_on429_format(const sim_on429 *o, char *buf, size_t len);

/* Parses an on_429 value; errors say what was expected.  Exposed for the
 * scenario parser and tests. */
int sim_on429_parse(const char *text, sim_on429 *out, rl_error *err);

#endif
