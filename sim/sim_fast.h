/*
 * sim_fast.h: the simulator's fast path, which gives the same sim_result as
 * the event loop in sim.c, field for field, at a fraction of the cost.
 *
 * Where it sits: sim_run() (sim.c) validates the scenario and allocates the
 * result, then asks sim_fast_select() which engine to use.  When the answer
 * is the fast path, sim_fast_run() fills the result instead of the event
 * loop; sim_run() then evaluates the [expect] keys as usual.  Nothing else
 * calls these functions.
 *
 * How it works, in short (docs/sim-engine.md has the full argument):
 *   - request times never depend on decisions, so each client's times are
 *     generated from its own random stream, window by window, in a tight
 *     loop without an event queue or a key-value store;
 *   - within one limit window, a client's decisions depend only on its own
 *     earlier requests unless the global total is reached.  When the
 *     window's counted demand stays below the total, per-client processing
 *     is exact.  When it reaches the total, the request that takes the
 *     global counter to the total is located exactly, and every request
 *     ordered after it becomes a global rejection;
 *   - where two requests fall on the same microsecond and their order
 *     matters (the request that exhausts the total, the first rejection's
 *     client, the worst window's tie), their (time, sequence) order is
 *     recomputed exactly, in closed form for clients without randomness and
 *     otherwise by replaying only the tied clients through the general
 *     path's event queue.
 *
 * What always holds: for an eligible scenario and config, every field of
 * the result equals the general path's (tests/test_sim_fast.c checks this
 * on randomised scenarios), and memory is O(clients + hours): no
 * allocation per request.
 */
#ifndef SIM_FAST_H
#define SIM_FAST_H

#include "rl_status.h"
#include "sim.h"

/* sim_fast_select() results. */
#define SIM_FAST_GENERAL 0 /* run the general event loop */
#define SIM_FAST_USE 1     /* run sim_fast_run() */

/* sim_fast_run() result: the fast path gave up (auto engine only) and left
 * the result as it found it; run the general path instead. */
#define SIM_FAST_FALLBACK 1

/*
 * Chooses the engine for a validated scenario.  Returns SIM_FAST_USE or
 * SIM_FAST_GENERAL.  With cfg->engine == SIM_ENGINE_FAST and a scenario the
 * fast path cannot run, returns RL_ERR_INVALID with err naming the reason.
 */
int sim_fast_select(const sim_scenario *sc, const sim_config *cfg, rl_error *err);

/*
 * Writes into err why the fast path cannot run this scenario and config,
 * and returns 0, or returns 1 when it can.  For docs and tests.
 */
int sim_fast_eligible(const sim_scenario *sc, const sim_config *cfg, rl_error *err);

/*
 * Runs an eligible scenario into r, which sim_run() allocated with its
 * counters at zero.  Returns 0 (r complete but for the expectations), a
 * negative rl_status with err filled (RL_ERR_RANGE past cfg->max_requests,
 * RL_ERR_NOMEM), or SIM_FAST_FALLBACK with r restored as it was passed.
 */
int sim_fast_run(const sim_scenario *sc, const sim_config *cfg, sim_result *r,
                 rl_error *err);

#endif
