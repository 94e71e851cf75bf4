/*
 * sim_parallel.h: running independent simulations on several threads.
 *
 * Where it sits: `ratelab sim` runs its scenario files through
 * sim_run_many(); sweeps and checks that run many scenarios or sweep
 * points should do the same (or use sim_parallel_for() for their own
 * jobs) instead of starting threads of their own.
 *
 * What always holds:
 *   - results are written by index: results[i] belongs to scenarios[i]
 *     whatever the thread count and whichever thread ran it, and every run
 *     is deterministic, so the output of a caller that reports in index
 *     order is byte-identical for 1 or N threads;
 *   - sim_run() shares nothing between runs (each has its own store,
 *     clients and result), so runs need no locks; the only shared state is
 *     the index of the next job, taken with an atomic increment;
 *   - every job is run, even after another fails: each has its own status.
 *
 * Usage for a sweep of points built as scenarios:
 *
 *     sim_result **res = calloc(n, sizeof(*res));
 *     int *st = calloc(n, sizeof(*st));
 *     rl_error *errs = calloc(n, sizeof(*errs));
 *     sim_run_many(points, n, &cfg, sim_parallel_threads(0), res, st, errs);
 *     for (i = 0; i < n; i++) report res[i] or errs[i].message, in order
 *
 * The caller frees each results[i] with sim_result_destroy().
 */
#ifndef SIM_PARALLEL_H
#define SIM_PARALLEL_H

#include <stddef.h>

#include "rl_status.h"
#include "sim.h"

/* Most threads used, however many CPUs are online. */
#define SIM_THREADS_MAX 64

/* Returns the thread count to use: `requested` when it is > 0, else the
 * number of online CPUs; capped at SIM_THREADS_MAX, at least 1. */
int sim_parallel_threads(int requested);

/* One job: called with the caller's pointer and the job's index. */
typedef void (*sim_job_fn)(void *user, size_t index);

/*
 * Calls job(user, i) once for every i in [0, n) on up to `threads`
 * threads (the calling thread is one of them) and returns when all have
 * finished.  Jobs may run in any order and at the same time, so each must
 * write only its own index's output.  Returns 0: a thread that cannot be
 * started leaves its share to the others, and the caller's thread always
 * works, so every job runs.
 */
int sim_parallel_for(size_t n, int threads, sim_job_fn job, void *user);

/*
 * Runs sim_run(&scenarios[i], cfg, &results[i], &errors[i]) for every i
 * on up to `threads` threads and stores each return value in status[i]
 * (0, or a negative rl_status with errors[i] filled and results[i] NULL).
 * `cfg` may be NULL (defaults) and must not have an on_request observer
 * unless it is thread-safe.  Returns 0 when every run returned 0, else the
 * first failing index's status.
 */
int sim_run_many(const sim_scenario *scenarios, size_t n, const sim_config *cfg,
                 int threads, sim_result **results, int *status, rl_error *errors);

#endif
