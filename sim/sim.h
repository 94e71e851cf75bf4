/*
 * sim.h: the discrete-event simulator and the results it returns.
 *
 * sim_run() plays a parsed scenario (sim_scenario.h) against the limiter
 * core and answers the product's question: does this cadence fit under
 * these limits, with how much headroom, and if not, when is the first
 * request rejected?
 *
 * How a run works:
 *   - Every client of every population is one simulated process that makes
 *     one request at a time.  Its next request is an event in a queue
 *     ordered by (time_us, sequence number), so equal times keep push order
 *     and a run is deterministic for a seed.
 *   - Every request is decided by the core: rl_limiter_decide() with the
 *     in-memory store, the scenario's limits, window and policy, and the
 *     client id "<population>-<i>" (i from 0).
 *   - The run covers [start, start + days * 1 day).  A request that would
 *     fall at or after the end is not made.
 *   - Random numbers come from xoshiro256** seeded through splitmix64, one
 *     stream per client derived from (seed, population index, client
 *     index): see sim_rng.h.
 *
 * Cadences (times in integer microseconds, t_0 the client's first request):
 *   fixed-rate   t_k = t_0 + k * interval + jitter_k for k >= 1
 *   fixed-delay  t_(k+1) = t_k + work_k + interval + jitter_k
 * with jitter_k uniform in [-jitter, +jitter] and work_k uniform in
 * [work_min, work_max].  The first request has no jitter.  A draw that
 * would put a request before the client's previous one makes it at the
 * previous one's time instead: a late loop fires at once, it does not go
 * back in time.
 *
 * A client's first request is at start + offset_i + first_delay.  The
 * offset of client i of n is floor(i * interval / n) for start = spread,
 * 0 for together, uniform in [0, interval) for random, and the configured
 * offset for an offset start.
 *
 * Worked example: one miner at a 5-minute fixed rate from 00:00:00 UTC for
 * one day against 500/day makes 288 requests, all accepted: demand 288 per
 * client-day, headroom 1 - 288/500 = 42.4 %, verdict FITS.  Against 20/day
 * the first 20 (00:00 to 01:35) are accepted and the 21st, at 01:40:00, is
 * the first rejection; 268 of the day's 288 are rejected, headroom
 * 1 - 288/20 = -1340 %, verdict REJECTS.
 *
 * Memory is O(clients + windows + hours): a fixed record per client, one
 * queue slot per client, the hourly arrays, and the store's counters, which
 * expire with their window.  Nothing is allocated per event.
 *
 * Errors: functions return 0 or a negative rl_status (rl_status.h) and fill
 * an rl_error with one sentence naming the scenario and the problem, like
 * the scenario parser in this library.
 */
#ifndef SIM_H
#define SIM_H

#include <stddef.h>
#include <stdint.h>

#include "rl_limits.h"
#include "rl_limiter.h"
#include "rl_status.h"
#include "rl_store.h"
#include "rl_window.h"
#include "sim_scenario.h"

/* A time that did not happen: no rejection, total never exhausted. */
#define SIM_TIME_NONE INT64_MIN

/* Runs whose estimated request count exceeds this are refused unless the
 * caller raises sim_config.max_requests: a typo such as "5ms" for "5m"
 * would otherwise run for hours. */
#define SIM_DEFAULT_MAX_REQUESTS 1000000000LL

/* Maximum client id size: population name, '-', up to 19 digits, NUL. */
#define SIM_CLIENT_ID_MAX (SIM_NAME_MAX + 21)

#define SIM_EXPECT_MAX 6
#define SIM_EXPLANATION_MAX 256

/* What happened to one request, as the client would see it. */
typedef enum sim_response {
    SIM_ACCEPTED = 0,        /* admitted and authenticated: 200 */
    SIM_REJECTED_CLIENT = 1, /* the client's limit: 429 */
    SIM_REJECTED_GLOBAL = 2, /* the global total: 429 */
    SIM_FAILED_AUTH = 3      /* not rejected by a limit, failed auth: 401 */
} sim_response;

/* One request, as passed to an observer (tests, later traces and plots).
 * Pointers are valid only during the call. */
typedef struct sim_request_info {
    int pop;               /* population index */
    int64_t client;        /* client index within the population */
    const char *client_id; /* "<population>-<client>" */
    int64_t time_us;
    int auth_ok;
    sim_response response;
    const rl_decision *decision; /* the core's decision */
} sim_request_info;

typedef void (*sim_request_fn)(void *user, const sim_request_info *info);

/* Which engine runs a scenario: both give identical results (sim_fast.h,
 * docs/sim-engine.md). */
typedef enum sim_engine {
    SIM_ENGINE_AUTO = 0,    /* the fast path when the scenario is eligible */
    SIM_ENGINE_GENERAL = 1, /* always the event loop */
    SIM_ENGINE_FAST = 2     /* the fast path; an ineligible scenario is an error */
} sim_engine;

/* Options of one run.  sim_config_init() sets the defaults. */
typedef struct sim_config {
    int override_seed; /* 1: use `seed` instead of the scenario's */
    uint64_t seed;
    int override_policy; /* 1: use `policy` instead of the scenario's */
    rl_policy policy;
    int64_t max_requests;      /* refuse larger runs; > 0 */
    sim_request_fn on_request; /* NULL: none; called after every decision */
    void *user;                /* passed to on_request */
    sim_engine engine;         /* SIM_ENGINE_AUTO unless set */
    /* With override_policy: the algorithm; RL_ALGO_FIXED_WINDOW uses
     * `policy` (sim_realism.h). */
    rl_algo_kind algorithm;
} sim_config;

void sim_config_init(sim_config *cfg);

/*
 * Request counts.  Each request is in exactly one of the four outcomes:
 * requests = accepted + rejected_client + rejected_global + failed_auth.
 */
typedef struct sim_counts {
    int64_t requests;
    int64_t accepted;
    int64_t rejected_client;
    int64_t rejected_global;
    int64_t failed_auth;
} sim_counts;

/* Requests per client per window, over every (client, window) pair of the
 * run: clients x windows pairs, a window being any limit window that
 * overlaps the run (partial windows at either end included). */
typedef struct sim_window_stats {
    int64_t pairs;
    int64_t min;
    double mean; /* requests / pairs */
    int64_t max; /* the population's max_window_usage */
} sim_window_stats;

/* One population's results. */
typedef struct sim_pop_result {
    char name[SIM_NAME_MAX];
    char role[RL_ROLE_NAME_MAX];
    int64_t clients;
    sim_population config; /* as the scenario set it: cadence, start, auth */
    int64_t limit;         /* the role's per-client limit per window */
    sim_counts counts;
    sim_window_stats per_window;
    /* Maximum requests (demand, rejected ones included) that one client of
     * the population made in one window: per_window.max. */
    int64_t max_window_usage;
    /* 1 - max_window_usage / limit: 0.424 for 288 against 500, negative
     * when over the limit; NAN when the limit is 0. */
    double headroom;
    int64_t first_rejection_us; /* SIM_TIME_NONE when none */
    char first_rejection_client[SIM_CLIENT_ID_MAX];
    /* The (client, window) pair with the most rejections (the first such
     * pair in time): its rejections and its requests.  0 and 0 when no
     * request of the population was rejected. */
    int64_t worst_window_rejected;
    int64_t worst_window_requests;
    sim_realism_pop_result realism; /* retries, restarts (realism engine) */
} sim_pop_result;

/* The global total: one counter per window shared by every client. */
typedef struct sim_global_result {
    int64_t limit;
    /* The most requests counted against the total in one window, summed
     * over every server replica: the quota really consumed.  With one
     * server or a shared store it is the highest global counter.  Under
     * the sliding and gcra policies it is the highest global usage the
     * algorithm reported. */
    int64_t peak_window_usage;
    int64_t peak_window_id; /* the window it was reached in (first) */
    double headroom;        /* 1 - peak / limit; NAN when limit is 0 */
    int64_t exhausted_at_us;   /* first global rejection; SIM_TIME_NONE */
} sim_global_result;

/* One [expect] key, evaluated. */
typedef struct sim_expect_result {
    const char *key; /* static: "outcome", "min_headroom", ... */
    int met;
    char explanation[SIM_EXPLANATION_MAX]; /* "min_headroom 40 %: met (42.4 %)" */
} sim_expect_result;

/*
 * A run's results.  Self-contained: it copies what the reports need from
 * the scenario, so the scenario may be freed first.  Created by sim_run(),
 * freed with sim_result_destroy().
 */
typedef struct sim_result {
    char name[SIM_NAME_MAX];
    char path[SIM_PATH_MAX];
    char description[SIM_TEXT_MAX];
    int64_t start_us;
    int64_t end_us; /* start + days * 1 day, excluded */
    int64_t days;
    uint64_t seed;    /* the seed used (after any override) */
    rl_policy policy; /* the policy used (after any override) */
    rl_window window;
    rl_limits limits;
    int64_t n_windows; /* limit windows overlapping [start_us, end_us) */

    sim_pop_result *pops; /* owned */
    int npops;

    sim_counts total;
    int64_t first_rejection_us; /* SIM_TIME_NONE when none */
    char first_rejection_client[SIM_CLIENT_ID_MAX];
    sim_global_result global;

    /* Outcomes per hour since start_us: hour h covers
     * [start_us + h hours, start_us + (h + 1) hours).  Owned arrays of
     * n_hours entries each. */
    int64_t n_hours;
    int64_t *accepted_per_hour;
    int64_t *rejected_per_hour; /* client and global rejections */
    int64_t *failed_auth_per_hour;

    int fits; /* 1: no request was rejected by a limit */

    sim_expect_result expectations[SIM_EXPECT_MAX];
    int nexpectations;
    int expectations_met; /* 1 when every expectation is met (or none) */
    sim_realism_result realism; /* zero unless the realism engine ran */
} sim_result;

/*
 * Runs a scenario.  On success returns 0 and *out points to a result the caller
 * frees with sim_result_destroy().  On failure returns a negative rl_status
 * with err filled and *out NULL: RL_ERR_INVALID for a scenario the
 * simulator cannot run (no population, a role outside the limits),
 * RL_ERR_RANGE when the run would exceed cfg->max_requests or its times
 * overflow, RL_ERR_NOMEM, or a store error.  `cfg` may be NULL (defaults).
 */
int sim_run(const sim_scenario *sc, const sim_config *cfg, sim_result **out,
            rl_error *err);

/* Accepts NULL. */
void sim_result_destroy(sim_result *r);

/* Evaluates the scenario's [expect] keys against a result and stores them
 * in r->expectations.  sim_run() calls it; exposed for tests. */
void sim_expect_evaluate(const sim_expect *expect, sim_result *r);

/*
 * Writes a headroom, 1 - usage / limit, as a percentage rounded down to
 * 0.1 % ("42.4 %", "-1340.0 %"), or "n/a" when limit <= 0.  Rounding down
 * keeps 19999 of 20000 from showing as "100.0 %".  Computed from the
 * integers, so it never shows a binary rounding error.
 */
void sim_format_headroom(int64_t usage, int64_t limit, char *buf, size_t len);

/* Returns "fits" or "rejects". */
const char *sim_verdict_name(const sim_result *r);

/* Returns "accepted", "rejected_client", "rejected_global", "failed_auth". */
const char *sim_response_name(sim_response response);

#endif
