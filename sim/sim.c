/*
 * sim.c: the simulator's run loop: clients, events, decisions, tallies.
 *
 * Where it sits: the `ratelab sim` command calls sim_run().  The run drives
 * the limiter core (rl_limiter_decide with the memory store) and fills a
 * sim_result, which the report writers read.
 *
 * Invariants of a run:
 *   - the queue holds at most one event per client: the client's next
 *     request, pushed when the previous one has been decided;
 *   - events leave the queue in (time_us, seq) order, so every client's
 *     requests, and the run as a whole, are decided in time order;
 *   - every event in the queue is before the run's end;
 *   - a client's open window tally (window_requests > 0) belongs to the
 *     window of its latest request; it is folded into the population's
 *     statistics when a request of a later window arrives, or at the end.
 *
 * See sim.h for the cadence formulas, the metrics and a worked example.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_time.h"
#include "sim.h"
#include "sim_fast.h"
#include "sim_queue.h"
#include "sim_tally.h"
#include "sim_realism.h"
#include "sim_rng.h"

/* One simulated client process. */
typedef struct sim_client {
    sim_rng rng;
    int64_t first_us;        /* t_0: fixed-rate times are computed from it */
    int64_t k;               /* index of the latest request (0 = first) */
    int64_t last_us;         /* time of the latest request */
    sim_window_tally tally;  /* the open tally of the latest window */
    size_t id_offset; /* of the client id in sim_state.ids */
    int64_t index;    /* within the population */
    int pop;
} sim_client;

/* Everything one run owns; freed by state_free(). */
typedef struct sim_state {
    const sim_scenario *sc;
    sim_config cfg;
    sim_result *r;
    sim_client *clients;
    size_t nclients;
    char *ids; /* every client id, NUL-terminated, back to back */
    sim_queue *queue;
    rl_store *store;
    rl_limiter lim;
    sim_fold_state fold;
    int64_t processed;
} sim_state;

void sim_config_init(sim_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->policy = RL_POLICY_DEPLOYED;
    cfg->max_requests = SIM_DEFAULT_MAX_REQUESTS;
}

const char *sim_verdict_name(const sim_result *r)
{
    return r->fits ? "fits" : "rejects";
}

const char *sim_response_name(sim_response response)
{
    switch (response) {
    case SIM_ACCEPTED:
        return "accepted";
    case SIM_REJECTED_CLIENT:
        return "rejected_client";
    case SIM_REJECTED_GLOBAL:
        return "rejected_global";
    case SIM_FAILED_AUTH:
        return "failed_auth";
    }
    return "unknown";
}

/* ---- setup ------------------------------------------------------------ */

static int validate_population(const sim_scenario *sc, const sim_population *p,
                               rl_error *err)
{
    const char *problem = NULL;

    if (p->role_index < 0 || p->role_index >= sc->limits.nroles)
        problem = "its role is not in the limits";
    else if (p->count < 1 || p->count > (int64_t)UINT32_MAX)
        problem = "count must be from 1 to 4294967295";
    else if (p->interval_us <= 0)
        problem = "interval must be positive";
    else if (p->jitter_us < 0 || p->work_min_us < 0 || p->work_max_us < p->work_min_us)
        problem = "jitter and work must be >= 0, with work_min <= work_max";
    else if (p->start_offset_us < 0 || p->first_delay_us < 0)
        problem = "offset and first_delay must be >= 0";
    if (problem == NULL)
        return 0;

    rl_error_set(err, "%s:%d: population '%s' cannot be simulated: %s", sc->path,
                 p->line, p->name, problem);
    return RL_ERR_INVALID;
}

static int validate_scenario(const sim_scenario *sc, rl_error *err)
{
    if (sc->npops < 1 || sc->pops == NULL) {
        rl_error_set(err,
                     "%s: scenario '%s' has no [population NAME] section; "
                     "add one",
                     sc->path, sc->name);
        return RL_ERR_INVALID;
    }
    if (sc->days < 1 || sc->days > 36500) {
        rl_error_set(err, "%s: days = %lld is out of range; use 1 to 36500", sc->path,
                     (long long)sc->days);
        return RL_ERR_RANGE;
    }

    size_t total = 0;
    for (int i = 0; i < sc->npops; i++) {
        int rc = validate_population(sc, &sc->pops[i], err);
        if (rc < 0)
            return rc;
        total += (size_t)sc->pops[i].count;
    }
    if (total > UINT32_MAX) {
        rl_error_set(err,
                     "%s: %zu clients in all; the simulator runs at most "
                     "4294967295",
                     sc->path, total);
        return RL_ERR_RANGE;
    }
    return 0;
}

/* Average time between two requests of one client of `p`, in us. */
static double mean_period_us(const sim_population *p)
{
    double period = (double)p->interval_us;
    if (p->cadence == SIM_CADENCE_FIXED_DELAY)
        period += ((double)p->work_min_us + (double)p->work_max_us) / 2.0;
    return period;
}

static int check_request_estimate(const sim_scenario *sc, const sim_result *r,
                                  int64_t max_requests, rl_error *err)
{
    double run_us = (double)(r->end_us - r->start_us);
    double estimate = 0.0;

    for (int i = 0; i < sc->npops; i++) {
        const sim_population *p = &sc->pops[i];
        estimate += (double)p->count * (run_us / mean_period_us(p) + 1.0);
    }
    if (estimate <= (double)max_requests)
        return 0;

    rl_error_set(err,
                 "%s: scenario '%s' would make about %.3g requests, more than "
                 "the maximum of %lld; check the intervals and days, or raise "
                 "the maximum (--max-requests)",
                 sc->path, sc->name, estimate, (long long)max_requests);
    return RL_ERR_RANGE;
}

void sim_result_destroy(sim_result *r)
{
    if (r == NULL)
        return;
    free(r->pops);
    free(r->accepted_per_hour);
    free(r->rejected_per_hour);
    free(r->failed_auth_per_hour);
    free(r);
}

static void pop_result_init(sim_pop_result *pr, const sim_scenario *sc,
                            const sim_population *p)
{
    snprintf(pr->name, sizeof(pr->name), "%s", p->name);
    snprintf(pr->role, sizeof(pr->role), "%s", sc->limits.roles[p->role_index].name);
    pr->clients = p->count;
    pr->config = *p;
    pr->limit = sc->limits.roles[p->role_index].per_client.value;
    pr->first_rejection_us = SIM_TIME_NONE;
}

/* Allocates the result and copies the scenario's description into it. */
static int result_create(const sim_scenario *sc, const sim_config *cfg,
                         sim_result **out, rl_error *err)
{
    sim_result *r = calloc(1, sizeof(*r));
    if (r == NULL)
        goto nomem;

    snprintf(r->name, sizeof(r->name), "%s", sc->name);
    snprintf(r->path, sizeof(r->path), "%s", sc->path);
    snprintf(r->description, sizeof(r->description), "%s", sc->description);
    r->start_us = sc->start_us;
    r->end_us = sim_add_sat(sc->start_us, sim_mul_sat(sc->days, RL_US_PER_DAY));
    r->days = sc->days;
    r->seed = cfg->override_seed ? cfg->seed : sc->seed;
    r->policy = cfg->override_policy ? cfg->policy : sc->policy;
    r->window = sc->window;
    r->limits = sc->limits;
    r->n_windows = rl_window_id(&r->window, r->end_us - 1) -
                   rl_window_id(&r->window, r->start_us) + 1;
    r->first_rejection_us = SIM_TIME_NONE;
    r->global.limit = sc->limits.total.value;
    r->global.exhausted_at_us = SIM_TIME_NONE;

    r->npops = sc->npops;
    r->pops = calloc((size_t)sc->npops, sizeof(*r->pops));
    r->n_hours = (r->end_us - r->start_us + RL_US_PER_HOUR - 1) / RL_US_PER_HOUR;
    r->accepted_per_hour = calloc((size_t)r->n_hours, sizeof(int64_t));
    r->rejected_per_hour = calloc((size_t)r->n_hours, sizeof(int64_t));
    r->failed_auth_per_hour = calloc((size_t)r->n_hours, sizeof(int64_t));
    if (r->pops == NULL || r->accepted_per_hour == NULL ||
        r->rejected_per_hour == NULL || r->failed_auth_per_hour == NULL)
        goto nomem;

    for (int i = 0; i < sc->npops; i++)
        pop_result_init(&r->pops[i], sc, &sc->pops[i]);
    *out = r;
    return 0;

nomem:
    sim_result_destroy(r);
    rl_error_set(err, "%s: out of memory setting up the run", sc->path);
    return RL_ERR_NOMEM;
}

/* Bytes of the ids "<name>-0" to "<name>-<count - 1>", NULs included. */
static size_t client_id_bytes(const sim_population *p)
{
    /* The name, '-', one digit and a NUL per client, plus one byte per
     * client for each further digit: indices >= 10 have a second digit,
     * indices >= 100 a third, and so on. */
    size_t bytes = (size_t)p->count * (strlen(p->name) + 3);

    for (int64_t power = 10; power < p->count; power *= 10)
        bytes += (size_t)(p->count - power);
    return bytes;
}

/* Builds the client ids "<population>-<i>" into one buffer. */
static int build_client_ids(sim_state *st)
{
    const sim_scenario *sc = st->sc;
    size_t bytes = 0;

    for (int i = 0; i < sc->npops; i++)
        bytes += client_id_bytes(&sc->pops[i]);
    st->ids = malloc(bytes);
    if (st->ids == NULL)
        return RL_ERR_NOMEM;

    size_t used = 0, c = 0;
    for (int i = 0; i < sc->npops; i++) {
        for (int64_t j = 0; j < sc->pops[i].count; j++, c++) {
            st->clients[c].id_offset = used;
            int n = snprintf(st->ids + used, bytes - used, "%s-%lld", sc->pops[i].name,
                             (long long)j);
            used += (size_t)n + 1;
        }
    }
    assert(used == bytes);
    return 0;
}

/* Creates every client, seeds its stream and queues its first request. */
static int clients_create(sim_state *st)
{
    const sim_scenario *sc = st->sc;

    for (int i = 0; i < sc->npops; i++)
        st->nclients += (size_t)sc->pops[i].count;
    st->clients = calloc(st->nclients, sizeof(*st->clients));
    st->queue = sim_queue_create(st->nclients);
    if (st->clients == NULL || st->queue == NULL || build_client_ids(st) < 0)
        return RL_ERR_NOMEM;

    size_t c = 0;
    for (int i = 0; i < sc->npops; i++) {
        const sim_population *p = &sc->pops[i];
        for (int64_t j = 0; j < p->count; j++, c++) {
            sim_client *cl = &st->clients[c];
            cl->pop = i;
            cl->index = j;
            sim_rng_seed_stream(&cl->rng, st->r->seed, (uint64_t)i, (uint64_t)j);

            int64_t offset = sim_start_offset_us(p, j, &cl->rng);
            cl->first_us = sim_add_sat(sim_add_sat(sc->start_us, offset), p->first_delay_us);
            cl->last_us = cl->first_us;
            /* Cannot fail: the queue has one slot per client. */
            if (cl->first_us < st->r->end_us) {
                int pushed = sim_queue_push(st->queue, cl->first_us, (uint32_t)c);
                assert(pushed == 0);
                (void)pushed;
            }
        }
    }
    return 0;
}

/* The time of the client's next request (possibly at or after the end). */
static int64_t next_request_us(const sim_population *p, sim_client *cl)
{
    int64_t jitter = 0, work = 0, next;

    if (p->cadence == SIM_CADENCE_FIXED_DELAY && p->work_max_us > p->work_min_us)
        work = sim_rng_uniform_i64(&cl->rng, p->work_min_us, p->work_max_us);
    else if (p->cadence == SIM_CADENCE_FIXED_DELAY)
        work = p->work_min_us;
    if (p->jitter_us > 0)
        jitter = sim_rng_uniform_i64(&cl->rng, -p->jitter_us, p->jitter_us);

    if (p->cadence == SIM_CADENCE_FIXED_RATE) {
        /* From t_0, so jitter never accumulates. */
        next = sim_add_sat(cl->first_us, sim_mul_sat(cl->k + 1, p->interval_us));
    } else {
        next = sim_add_sat(sim_add_sat(cl->last_us, work), p->interval_us);
    }
    next = sim_add_sat(next, jitter);

    /* A late loop fires at once; it never goes back before its last request. */
    return next < cl->last_us ? cl->last_us : next;
}

/* ---- one request ------------------------------------------------------ */

static int process_event(sim_state *st, const sim_event *ev, rl_error *err)
{
    sim_client *cl = &st->clients[ev->client];
    const sim_population *p = &st->sc->pops[cl->pop];
    const char *id = st->ids + cl->id_offset;
    rl_request req = {id, p->role_index, p->auth_valid, ev->time_us};
    rl_decision d;

    int rc = rl_limiter_decide(&st->lim, &req, &d);
    if (rc < 0) {
        char when[RL_ISO8601_MAX];
        rl_time_format_iso8601(ev->time_us, when, sizeof(when));
        rl_error_set(err, "%s: the limiter failed for client %s at %s: %s",
                     st->sc->path, id, when, rl_strerror(rc));
        return rc;
    }

    sim_response resp = sim_tally_classify(st->lim.policy, p->auth_valid, &d);
    sim_tally_request(st->r, &st->fold, cl->pop, &cl->tally, id, ev->time_us,
                      rl_window_id(&st->r->window, ev->time_us), resp, &d);
    if (st->cfg.on_request != NULL) {
        sim_request_info info = {cl->pop,       cl->index, id, ev->time_us,
                                 p->auth_valid, resp,      &d};
        st->cfg.on_request(st->cfg.user, &info);
    }

    /* Queue the client's next request if it falls inside the run. */
    cl->last_us = ev->time_us;
    int64_t next = next_request_us(p, cl);
    cl->k++;
    /* Cannot fail: this client's slot was freed by the pop. */
    if (next < st->r->end_us) {
        int pushed = sim_queue_push(st->queue, next, ev->client);
        assert(pushed == 0);
        (void)pushed;
    }
    return 0;
}

static int run_events(sim_state *st, rl_error *err)
{
    sim_event ev;

    while (sim_queue_pop(st->queue, &ev) == 0) {
        if (++st->processed > st->cfg.max_requests) {
            rl_error_set(err,
                         "%s: scenario '%s' stopped after %lld requests, the "
                         "maximum; check the intervals and jitter, or raise "
                         "the maximum (--max-requests)",
                         st->sc->path, st->sc->name, (long long)st->cfg.max_requests);
            return RL_ERR_RANGE;
        }
        int rc = process_event(st, &ev, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- results ---------------------------------------------------------- */

/* Folds the open tallies and derives the statistics that need totals. */
static void finish(sim_state *st)
{
    for (size_t c = 0; c < st->nclients; c++)
        sim_tally_fold(st->r, &st->fold, st->clients[c].pop, &st->clients[c].tally);
    sim_tally_finish(st->r, &st->fold);
}

static void state_free(sim_state *st)
{
    rl_store_destroy(st->store);
    sim_queue_destroy(st->queue);
    free(st->clients);
    free(st->ids);
    free(st->fold.pairs_seen);
    free(st->fold.min_seen);
    sim_result_destroy(st->r);
}

/* Creates the store, the limiter and the clients. */
static int setup_engine(sim_state *st, rl_error *err)
{
    const sim_scenario *sc = st->sc;

    st->fold.pairs_seen = calloc((size_t)sc->npops, sizeof(int64_t));
    st->fold.min_seen = calloc((size_t)sc->npops, sizeof(int64_t));
    st->store = rl_store_memory_create();
    if (st->fold.pairs_seen == NULL || st->fold.min_seen == NULL || st->store == NULL)
        goto nomem;

    /* Keys expire when their window resets (no grace): a run over many
     * windows keeps only the current window's counters. */
    rl_limiter_init(&st->lim, &st->r->limits, st->store);
    st->lim.window = st->r->window;
    st->lim.policy = st->r->policy;
    st->lim.grace_us = 0;

    if (clients_create(st) < 0)
        goto nomem;
    return 0;

nomem:
    rl_error_set(err, "%s: out of memory setting up the clients, queue and store",
                 sc->path);
    return RL_ERR_NOMEM;
}

int sim_run(const sim_scenario *sc, const sim_config *cfg, sim_result **out,
            rl_error *err)
{
    sim_state st;
    sim_config defaults;
    int rc;

    *out = NULL;
    if (cfg == NULL) {
        sim_config_init(&defaults);
        cfg = &defaults;
    }
    memset(&st, 0, sizeof(st));
    st.sc = sc;
    st.cfg = *cfg;
    if (st.cfg.max_requests <= 0)
        st.cfg.max_requests = SIM_DEFAULT_MAX_REQUESTS;

    rc = validate_scenario(sc, err);
    if (rc == 0)
        rc = result_create(sc, &st.cfg, &st.r, err);
    if (rc == 0)
        rc = check_request_estimate(sc, st.r, st.cfg.max_requests, err);
    /* Restarts, retries, replicas and the other realism models run in
     * their own engine (sim_realism.h); the fast engine refuses them. */
    int realism = rc == 0 && st.cfg.engine != SIM_ENGINE_FAST &&
                  sim_realism_reason(sc, &st.cfg) != NULL;
    if (realism)
        rc = sim_realism_run(sc, &st.cfg, st.r, err);
    if (realism && rc == 0 && sc->realism.ncompare > 0)
        rc = sim_compare_run(sc, &st.cfg, st.r, err);
    if (rc == 0 && !realism)
        rc = sim_fast_select(sc, &st.cfg, err);
    if (rc == SIM_FAST_USE)
        rc = sim_fast_run(sc, &st.cfg, st.r, err);
    else if (rc == SIM_FAST_GENERAL && !realism)
        rc = SIM_FAST_FALLBACK;
    if (rc == SIM_FAST_FALLBACK) {
        /* The general path; the fast one left the result untouched. */
        rc = setup_engine(&st, err);
        if (rc == 0)
            rc = run_events(&st, err);
        if (rc == 0)
            finish(&st);
    }
    if (rc == 0) {
        sim_expect_evaluate(&sc->expect, st.r);
        *out = st.r;
        st.r = NULL;
    }
    state_free(&st);
    return rc;
}
