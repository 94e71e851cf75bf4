/*
 * sim_series.h: time series of a simulator run, for plots and CSV files.
 *
 * A collector is attached to sim_run() as its on_request observer and
 * samples the limiter's counters as the run goes; sim_series_finish() then
 * returns a plain sim_series that the report writers read.  The simulator
 * itself is unchanged by it, and reports never call back into it.
 *
 * What a row holds: the counters just before its time T, that is after
 * every request made before T, in the limit window the row belongs to:
 *   - the global counter (GLOBAL:<day>; with store = per-replica the
 *     requests every replica counted, summed) and the global demand
 *     (every request made in the window, rejected ones included);
 *   - per population, the highest and the median client counter, and the
 *     highest and the median client demand.  "Highest" is the largest value
 *     of any client of the population at that moment (an upper envelope:
 *     at the window's end it is the worst client's total).  "Median" is the
 *     lower median over all clients, counting those without a request yet
 *     as 0.
 *
 * Which rows exist: one at the run start (zeros), one every step_us from
 * the start, and at every window boundary inside the run two rows at the
 * same time: the ending window's last values, then the new window's zeros.
 * The last row is at the run's end.  step_us divides an hour, so the rows
 * at start + h hours give the hourly values.
 *
 * Worked example: one 5-minute miner against 20/day, one day, step 1 min.
 * The row at 01:40 holds counter 20 and demand 20 (requests 00:00 to
 * 01:35); the row at 01:41 holds counter 20 and demand 21, because the
 * request at 01:40 was rejected; the row at 24:00 holds 20 and 288.
 *
 * Memory: one record per client (its window, counter and demand), a
 * histogram per population, and the rows, whose count is known before the
 * run (SIM_SERIES_MAX_VALUES bounds it).
 */
#ifndef SIM_SERIES_H
#define SIM_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "rl_status.h"
#include "rl_window.h"
#include "sim.h"
#include "sim_scenario.h"

/* Largest number of int64 values a series may hold (128 MiB). */
#define SIM_SERIES_MAX_VALUES (16LL * 1024 * 1024)

/* Rows of the grid (besides window boundaries) a series aims to stay under:
 * one week at one minute. */
#define SIM_SERIES_TARGET_ROWS 10080

/* One population's values in one row. */
typedef struct sim_series_pop_value {
    int64_t worst_counter;
    int64_t median_counter;
    int64_t worst_requests;
    int64_t median_requests;
} sim_series_pop_value;

/* A finished series.  Created by sim_series_finish(), freed with
 * sim_series_destroy(). */
typedef struct sim_series {
    int64_t start_us, end_us;
    int64_t step_us; /* grid spacing; divides one hour */
    rl_window window;
    int64_t first_window_id; /* window index 0 */
    int npops;

    size_t nrows;
    int64_t *time_us;      /* owned, nrows */
    int64_t *window_index; /* owned, nrows: the window the row describes */
    int64_t *global_counter;  /* owned, nrows */
    int64_t *global_requests; /* owned, nrows */
    sim_series_pop_value *pops; /* owned, nrows * npops, row after row */

    /* The most requests made in one window by all clients together, and
     * the first window (index) where that happened: the total that would
     * let every request through. */
    int64_t global_peak_requests;
    int64_t global_peak_window_index;
} sim_series;

typedef struct sim_series_collector sim_series_collector;

/*
 * Creates a collector for a run of `sc`.  Returns 0 and sets *out (the
 * caller destroys it), or RL_ERR_RANGE with err filled when the series
 * would exceed SIM_SERIES_MAX_VALUES, or RL_ERR_NOMEM.
 */
int sim_series_collector_create(const sim_scenario *sc, sim_series_collector **out,
                                rl_error *err);

/* Accepts NULL. */
void sim_series_collector_destroy(sim_series_collector *c);

/* The observer: pass it as sim_config.on_request with the collector as
 * sim_config.user.  Requests must arrive in time order, as sim_run makes
 * them. */
void sim_series_observe(void *collector, const sim_request_info *info);

/*
 * Completes the rows up to the run's end and hands the series over.
 * Returns 0 and sets *out (the caller frees it with sim_series_destroy), or
 * RL_ERR_NOMEM with err filled when the collector ran out of memory during
 * the run.  Call it once, after sim_run succeeded.
 */
int sim_series_finish(sim_series_collector *c, sim_series **out, rl_error *err);

/* Accepts NULL. */
void sim_series_destroy(sim_series *s);

/* Returns the row of population `pop` in row `row`. */
const sim_series_pop_value *sim_series_pop(const sim_series *s, size_t row, int pop);

/* Returns the index of the first row at time t_us, or s->nrows when none. */
size_t sim_series_find_row(const sim_series *s, int64_t t_us);

#endif
