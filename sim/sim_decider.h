/*
 * sim_decider.h: the server side of the realism engine: which replica gets
 * a request, what its clock reads, which algorithm and store decide it, and
 * how far the replicas overshoot the limits.
 *
 * Where it sits: sim_realism.c calls sim_decider_decide() once per request
 * in time order; the decider calls the core (rl_limiter_decide with memory
 * stores, or rl_algo_decide) with the server's clock.
 *
 * Models (docs/realism.md has the full definitions):
 *   - one server: the limiter and one memory store, as the plain engine;
 *   - clock_offset: the server decides at true time + offset, so its day
 *     starts offset earlier (ahead) or later (behind) in true UTC;
 *   - replicas = K, store = per-replica: K memory stores, each request goes
 *     to one replica (round-robin over the run's requests, or uniformly at
 *     random), and replica_restart_every empties a replica's store;
 *   - replicas = K, store = shared, rtt > 0, policy deployed: the race of
 *     the deployed GET-GET-INCR-INCR sequence, as an estimate.  A request
 *     reads the counters at its arrival time t and its increments land at
 *     t + 2 * rtt.  A request sees the increments that have landed plus
 *     the pending ones of its own replica (a replica handles its requests
 *     one at a time), so two requests for the same key less than 2 * rtt
 *     apart on different replicas can both pass at limit - 1.
 *   - overshoot (replicas only): a second store counts every admitted
 *     request at once, as one atomic counter would; an admission while that
 *     count had reached the limit is one request of overshoot.
 *
 * Ownership: sim_decider_create() returns a decider that
 * sim_decider_destroy() frees (NULL accepted).
 */
#ifndef SIM_DECIDER_H
#define SIM_DECIDER_H

#include <stdint.h>

#include "rl_limiter.h"
#include "sim_realism.h"

typedef struct sim_decider sim_decider;

typedef struct sim_decider_setup {
    const rl_limits *limits; /* borrowed for the decider's life */
    rl_window window;
    rl_algo_kind algo;
    rl_policy policy;
    const sim_realism *model; /* borrowed during create only */
    uint64_t seed;            /* for random balancing */
    int64_t start_us;         /* the run's start: replica restart phases */
} sim_decider_setup;

/* Creates a decider.  Returns 0, RL_ERR_NOMEM, or RL_ERR_INVALID (with err
 * filled) for a model it cannot run. */
int sim_decider_create(const sim_decider_setup *setup, sim_decider **out,
                       rl_error *err);

void sim_decider_destroy(sim_decider *d);

/*
 * Decides one request made at true time true_us.  Calls must come in
 * non-decreasing time order.  Fills *out as rl_limiter_decide() does, with
 * window_id and reset_us in the server's clock.  Returns 0 or a negative
 * rl_status.
 */
int sim_decider_decide(sim_decider *d, const char *client, int role, int auth_ok,
                       int64_t true_us, rl_decision *out);

/* Copies the overshoot estimate into r's fields. */
void sim_decider_overshoot(const sim_decider *d, sim_realism_result *r);

#endif
