/*
 * sim_sweep.h: capacity sweeps, which vary one scenario parameter and find
 * where the answer changes from "fits" to "rejects".
 *
 * A sweep runs the simulator many times on copies of one scenario, each
 * with one parameter (the key) set to another value:
 *
 *   limits.miner, limits.validator, limits.role.NAME (or limits.NAME)
 *                      a role's per-client limit        larger fits better
 *   limits.total       the global total                 larger fits better
 *   POP.count          clients of population POP        smaller fits better
 *   POP.interval       its interval (a duration)        larger fits better
 *   POP.jitter         its jitter (a duration)          smaller fits better
 *   POP.work           its fixed-delay upload time, min = max (a duration)
 *                                                       larger fits better
 *   POP.first_delay    its first delay (a duration)     no order
 *   days               the run's length                 smaller fits better
 *
 * Modes:
 *   - bisection (keys with an order): the answer is the boundary, the
 *     smallest value that fits for "larger fits better" keys and the
 *     largest for the others, with the results of both neighbours.  It
 *     assumes that the key's order holds: a value past one that fits also
 *     fits.  Both ends of the range are run first; when the good end
 *     rejects, nothing in the range fits, and when the bad end fits, all of
 *     it does.
 *   - table: every value FROM, FROM + STEP, ... up to TO.
 *
 * Runs per point: a scenario that draws random numbers (jitter, a work
 * range, start = random) runs R times per value, run i with seed
 * base + i, where base is the scenario's seed or the override; a value
 * fits only when every one of its R runs fits.  A scenario without random
 * draws gives the same result for every seed and runs once per value.
 *
 * Worked example: total-3472-miners.ini with miners.count from 1 to 10000
 * bisects to 3472 (fits, 999,936 requests a day) with 3473 rejecting
 * (1,000,224 against the total of 1,000,000), in 15 runs.
 */
#ifndef SIM_SWEEP_H
#define SIM_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "rl_status.h"
#include "sim.h"
#include "sim_scenario.h"

#define SIM_SWEEP_KEY_MAX (SIM_NAME_MAX + 32)
#define SIM_SWEEP_DEFAULT_MAX_RUNS 10000
#define SIM_SWEEP_RUNS_MAX 100000

typedef enum sim_sweep_param {
    SIM_SWEEP_ROLE_LIMIT = 0,
    SIM_SWEEP_TOTAL,
    SIM_SWEEP_COUNT,
    SIM_SWEEP_INTERVAL,
    SIM_SWEEP_JITTER,
    SIM_SWEEP_WORK,
    SIM_SWEEP_FIRST_DELAY,
    SIM_SWEEP_DAYS
} sim_sweep_param;

/* A parsed key, bound to one scenario. */
typedef struct sim_sweep_key {
    char text[SIM_SWEEP_KEY_MAX]; /* as given, e.g. "miners.count" */
    sim_sweep_param param;
    int pop;         /* population index; -1 for limits and days */
    int role;        /* role index for SIM_SWEEP_ROLE_LIMIT; else -1 */
    int is_duration; /* values are microseconds */
    /* +1: larger values fit more easily; -1: smaller ones do; 0: no order. */
    int direction;
    int64_t min_value, max_value; /* the values the scenario accepts */
} sim_sweep_key;

typedef enum sim_sweep_mode {
    SIM_SWEEP_BISECT = 0,
    SIM_SWEEP_TABLE = 1
} sim_sweep_mode;

struct sim_sweep_point;

/* Options of a sweep.  sim_sweep_config_init() sets the defaults. */
typedef struct sim_sweep_config {
    sim_sweep_key key;
    int64_t from, to; /* from <= to */
    int64_t step;     /* table mode: > 0 */
    int64_t resolution; /* bisection stops when the bracket is this narrow */
    sim_sweep_mode mode;
    int runs;         /* R per point, 1 to SIM_SWEEP_RUNS_MAX */
    int64_t max_runs; /* refuse a sweep that would need more simulator runs */
    sim_config sim;   /* each run's options; the seed override is the base */
    /* Called after each value is evaluated (progress); NULL: none. */
    void (*on_point)(void *user, const struct sim_sweep_point *point);
    void *user;
} sim_sweep_config;

/* The results at one value. */
typedef struct sim_sweep_point {
    int64_t value;
    int runs;
    int runs_rejecting;
    int fits; /* runs_rejecting == 0 */
    int64_t rejections_max; /* maximum rejections in one run */
    double rejections_mean;
    int64_t requests_max;   /* maximum requests in one run */
    int64_t peak_client_usage; /* highest requests per client-window, any run */
    int64_t peak_global_usage; /* highest global counter, any run */
    double headroom_min;       /* lowest population headroom, any run; NAN */
    int64_t first_rejection_us; /* earliest in any run; SIM_TIME_NONE */
    uint64_t worst_seed; /* the run with the most rejections (first if tied) */
} sim_sweep_point;

typedef enum sim_sweep_answer {
    SIM_SWEEP_FOUND = 0,    /* the boundary is inside the range */
    SIM_SWEEP_ALL_FIT = 1,  /* even the bad end of the range fits */
    SIM_SWEEP_NONE_FIT = 2, /* even the good end of the range rejects */
    SIM_SWEEP_TABLE_ONLY = 3 /* table mode: no boundary was searched */
} sim_sweep_answer;

/* A sweep's results.  Created by sim_sweep_run(), freed with
 * sim_sweep_result_destroy(). */
typedef struct sim_sweep_result {
    char scenario[SIM_NAME_MAX];
    char path[SIM_PATH_MAX];
    sim_sweep_config config; /* as run (on_point and user cleared) */
    uint64_t base_seed;
    int random;         /* 1: the scenario draws random numbers */
    int runs_per_point; /* config.runs, or 1 when random is 0 */
    int64_t total_runs;

    sim_sweep_point *points; /* owned, sorted by value */
    size_t npoints;

    sim_sweep_answer answer;
    /* FOUND: the boundary value (the smallest or largest that fits).
     * ALL_FIT: the range's bad end; NONE_FIT: its good end. */
    int64_t boundary;
    /* Bisection: the neighbours, indices into points (-1: none).  FOUND has
     * both; ALL_FIT only fit_index; NONE_FIT only reject_index. */
    long fit_index, reject_index;
} sim_sweep_result;

void sim_sweep_config_init(sim_sweep_config *cfg);

/*
 * Parses a key against a scenario (see the header comment).  Returns 0, or
 * RL_ERR_INVALID with err naming the key and the keys that exist.
 */
int sim_sweep_key_parse(const sim_scenario *sc, const char *text, sim_sweep_key *key,
                        rl_error *err);

/* Returns "limits", "count", ... for messages: the parameter's name. */
const char *sim_sweep_param_name(sim_sweep_param param);

/* Returns 1 when a population of the scenario draws random numbers. */
int sim_sweep_scenario_is_random(const sim_scenario *sc);

/* Returns how many simulator runs the sweep may make at most. */
int64_t sim_sweep_planned_runs(const sim_sweep_config *cfg, int runs_per_point);

/*
 * Copies the scenario with the key set to value (the caller frees the copy
 * with sim_scenario_free).  Returns 0, or RL_ERR_RANGE when the value is
 * outside the key's valid values, or RL_ERR_NOMEM.
 */
int sim_sweep_apply(const sim_scenario *sc, const sim_sweep_key *key, int64_t value,
                    sim_scenario *copy, rl_error *err);

/*
 * Runs a sweep.  Returns 0 and *out, which the caller frees; or a negative
 * rl_status with err filled: RL_ERR_INVALID for a bisection over a key
 * without order, RL_ERR_RANGE for a range outside the key's values or a
 * sweep that would exceed cfg->max_runs, or any error of sim_run.
 */
int sim_sweep_run(const sim_scenario *sc, const sim_sweep_config *cfg,
                  sim_sweep_result **out, rl_error *err);

/* Accepts NULL. */
void sim_sweep_result_destroy(sim_sweep_result *r);

/* Writes a value as the key reads it: "3472", or "1h12m" for durations. */
int sim_sweep_format_value(const sim_sweep_key *key, int64_t value, char *buf,
                           size_t len);

#endif
