/*
 * sim_tally.h: the per-request bookkeeping that the event loop (sim.c) and
 * the realism engine (sim_realism.c) share, so both fill a sim_result the
 * same way.  Internal to the simulator library.
 *
 * A client keeps one open tally for the limit window of its latest
 * request.  When a request falls in another window, or the run ends, the
 * tally is folded into its population's statistics: the largest and the
 * smallest per-client-window usage, and the client-window that lost the
 * most requests.  Requests must be tallied in time order, so the first
 * rejection seen is the first one.
 */
#ifndef SIM_TALLY_H
#define SIM_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"
#include "sim_rng.h"

/* a + b, saturated: times beyond the int64 range are "after the end". */
static inline int64_t sim_add_sat(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

/* a * b, saturated to INT64_MIN or INT64_MAX. */
static inline int64_t sim_mul_sat(int64_t a, int64_t b)
{
    int64_t product;
    if (__builtin_mul_overflow(a, b, &product))
        return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
    return product;
}

/* One client's requests in one limit window. */
typedef struct sim_window_tally {
    int64_t window_id; /* the window being counted */
    int64_t requests;  /* requests in window_id; 0: no open tally */
    int64_t rejected;  /* of those, rejected by a limit */
} sim_window_tally;

/* Per-population state of the folding, allocated by the engine with one
 * entry per population, zeroed. */
typedef struct sim_fold_state {
    int64_t *pairs_seen; /* folded (client, window) pairs */
    int64_t *min_seen;   /* smallest folded tally */
    /* Requests counted against the total in limit window counted_window_id,
     * over every replica (zeroed with the rest of the engine's state). */
    int64_t counted_window_id;
    int64_t counted_in_window;
} sim_fold_state;

/* Maps the core's decision to the client's response.  Under the atomic
 * policy authentication comes first, so a request that fails it is a 401
 * whatever the counters contain.  Under the deployed policy the limit
 * checks come first, and only an admitted request reaches authentication. */
sim_response sim_tally_classify(rl_policy policy, int auth_ok, const rl_decision *d);

/* Folds the open tally `w` of a client of population `pop` into its
 * statistics in r and empties it; does nothing when it is empty. */
void sim_tally_fold(sim_result *r, sim_fold_state *fold, int pop, sim_window_tally *w);

/* Records time t_us and client id as a first rejection in *at_us and who
 * (len bytes), unless *at_us already contains one. */
void sim_tally_note_first(int64_t *at_us, char *who, size_t len, int64_t t_us,
                          const char *id);

/* Adds one decided request of client `id` (population `pop`, open tally
 * `w`) at t_us, in limit window `window_id`, to every statistic of r it
 * belongs to: counts, hourly outcomes, first rejections, the total's
 * exhaustion and peak. */
void sim_tally_request(sim_result *r, sim_fold_state *fold, int pop, sim_window_tally *w,
                       const char *id, int64_t t_us, int64_t window_id,
                       sim_response resp, const rl_decision *d);

/* Derives the statistics that need totals (per-client-window minimum, mean
 * and maximum, headrooms, fits) once every open tally is folded. */
void sim_tally_finish(sim_result *r, const sim_fold_state *fold);

/* Returns the start offset of client i of a population, relative to the
 * scenario start; draws from rng only for start = random. */
int64_t sim_start_offset_us(const sim_population *p, int64_t i, sim_rng *rng);

#endif
