/*
 * sim_realism.c: the realism engine, an event loop like sim.c's with
 * client restarts, reactions to a 429, attackers on other clients' ids,
 * trace replay, and a server side (sim_decider.c) with replicas, a clock
 * offset and alternative algorithms.
 *
 * Where it sits: sim_run() calls sim_realism_run() when
 * sim_realism_reason() names a model in use.  It fills the same sim_result
 * as the plain loop, plus r->realism and each population's realism block.
 *
 * Invariants, as in sim.c:
 *   - the queue contains at most one event per client: its next request
 *     (regular or retry); a trace run has one event in all, the next row;
 *   - events leave the queue in (time_us, seq) order;
 *   - a client's random draws come from its own streams: `rng` for the
 *     cadence (the same draws, in the same order, as sim.c makes) and
 *     `rng_model` for restart jitter and random hotkeys, so a model never
 *     shifts the cadence's draws;
 *   - per-client window tallies use the server's window (true time plus
 *     the clock offset); hourly counts use true time.
 *
 * Client loop, precisely (docs/realism.md):
 *   - A 429 with on_429 set schedules a retry instead of the next regular
 *     request, until a retry is admitted or `times` retries were made.
 *     Then the regular cadence resumes: fixed-delay from the last attempt,
 *     fixed-rate at its first slot t_0 + m * interval after the last
 *     attempt (missed slots are skipped, not made up).
 *   - A restart at time R drops whatever request the client had scheduled
 *     at or after R (regular or retry); the next request is at
 *     R + first_delay, which becomes the new t_0 of the cadence.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_time.h"
#include "sim.h"
#include "sim_decider.h"
#include "sim_queue.h"
#include "sim_rng.h"
#include "sim_tally.h"
#include "sim_trace.h"

/* The stream index space of model draws: pop index + this. */
#define MODEL_STREAM 0x5245414c49534dULL

typedef struct rz_client {
    sim_rng rng;       /* cadence draws, as sim.c */
    sim_rng rng_model; /* restart jitter, random hotkeys */
    int64_t first_us;  /* t_0 of the current phase */
    int64_t k;         /* regular request index within the phase */
    int64_t last_us;
    int64_t next_restart_us; /* INT64_MAX: none */
    int64_t retries_made;    /* for the request being retried; 0: none */
    int64_t last_delay_us;   /* backoff: the previous delay */
    int after_retry;         /* the latest request was a retry */
    int queued_retry;        /* the queued event is a retry */
    sim_window_tally tally; /* the open tally of the latest window */
    size_t id_offset; /* of the client's own id, or its target's */
    int64_t index;
    int pop;
} rz_client;

typedef struct rz_state {
    const sim_scenario *sc;
    sim_config cfg;
    sim_result *r;
    rz_client *clients;
    size_t nclients;
    char *ids;
    sim_queue *queue;
    sim_decider *decider;
    const sim_trace *trace;
    int64_t trace_next; /* next row of a trace run */
    sim_fold_state fold;
    int64_t processed;
    int64_t offset_us; /* server clock minus true time */
} rz_state;

/* ---- which scenarios need this engine ---------------------------------- */

static const char *population_reason(const sim_population *p)
{
    if (p->realism.restart_every_us > 0)
        return "client restarts (restart_every)";
    if (p->realism.on429.kind != SIM_ON429_NONE)
        return "retries on a 429 (on_429)";
    if (p->realism.target != SIM_TARGET_OWN)
        return "an attacker population (target)";
    return NULL;
}

const char *sim_realism_reason(const sim_scenario *sc, const sim_config *cfg)
{
    const sim_realism *m = &sc->realism;
    rl_algo_kind algo = cfg->override_policy ? cfg->algorithm : m->algo;

    if (m->trace != NULL)
        return "a trace replay";
    if (algo != RL_ALGO_FIXED_WINDOW)
        return "an alternative algorithm (policy)";
    if (m->replicas > 1 || m->store != SIM_STORE_SHARED || m->rtt_us > 0 ||
        m->replica_restart_every_us > 0)
        return "server replicas (replicas, store, rtt)";
    if (m->clock_offset_us != 0)
        return "a server clock offset (clock_offset)";
    if (m->ncompare > 0)
        return "a [compare] section";
    for (int i = 0; i < sc->npops; i++) {
        const char *why = population_reason(&sc->pops[i]);
        if (why != NULL)
            return why;
    }
    return NULL;
}

/* ---- setup ------------------------------------------------------------- */

/* Builds "<population>-<i>" for every client (trace runs: the trace's ids)
 * and points each client at its id or, for attackers, its target's id. */
static int build_ids(rz_state *st, size_t *first_of_pop)
{
    const sim_scenario *sc = st->sc;
    size_t bytes = 0, used = 0, c = 0;

    for (int i = 0; i < sc->npops; i++)
        bytes += (size_t)sc->pops[i].count * (strlen(sc->pops[i].name) + 22);
    if (st->trace != NULL)
        bytes = sim_trace_id_bytes(st->trace);
    st->ids = malloc(bytes);
    if (st->ids == NULL)
        return RL_ERR_NOMEM;
    for (int i = 0; i < sc->npops; i++) {
        first_of_pop[i] = c;
        for (int64_t j = 0; j < sc->pops[i].count; j++, c++) {
            const char *id = st->trace != NULL ? sim_trace_client_id(st->trace, c) : NULL;
            st->clients[c].id_offset = used;
            int n = id != NULL ? snprintf(st->ids + used, bytes - used, "%s", id)
                               : snprintf(st->ids + used, bytes - used, "%s-%lld",
                                          sc->pops[i].name, (long long)j);
            used += (size_t)n + 1;
        }
    }
    for (size_t k = 0; k < st->nclients; k++) {
        rz_client *cl = &st->clients[k];
        const sim_realism_pop *m = &sc->pops[cl->pop].realism;
        if (m->target == SIM_TARGET_POPULATION) {
            const sim_population *t = &sc->pops[m->target_index];
            cl->id_offset = st->clients[first_of_pop[m->target_index] +
                                        (size_t)(cl->index % t->count)]
                                .id_offset;
        }
    }
    return 0;
}

/* The first restart: restart_every (+- jitter) after the process starts. */
static int64_t draw_restart(const sim_population *p, rz_client *cl, int64_t from_us)
{
    const sim_realism_pop *m = &p->realism;
    int64_t jitter = 0;

    if (m->restart_every_us <= 0)
        return INT64_MAX;
    if (m->restart_jitter_us > 0)
        jitter = sim_rng_uniform_i64(&cl->rng_model, -m->restart_jitter_us,
                                     m->restart_jitter_us);
    return sim_add_sat(sim_add_sat(from_us, m->restart_every_us), jitter);
}

static void push(rz_state *st, int64_t t_us, size_t c)
{
    if (t_us >= st->r->end_us)
        return;
    /* Cannot fail: one slot per client, and this client's slot is free. */
    int pushed = sim_queue_push(st->queue, t_us, (uint32_t)c);
    assert(pushed == 0);
    (void)pushed;
}

static int clients_create(rz_state *st)
{
    const sim_scenario *sc = st->sc;
    size_t *first_of_pop = calloc((size_t)sc->npops, sizeof(size_t));

    for (int i = 0; i < sc->npops; i++)
        st->nclients += (size_t)sc->pops[i].count;
    st->clients = calloc(st->nclients, sizeof(*st->clients));
    st->queue = sim_queue_create(st->nclients);
    if (first_of_pop == NULL || st->clients == NULL || st->queue == NULL)
        goto nomem;
    size_t c = 0;
    for (int i = 0; i < sc->npops; i++)
        for (int64_t j = 0; j < sc->pops[i].count; j++, c++) {
            st->clients[c].pop = i;
            st->clients[c].index = j;
        }
    if (build_ids(st, first_of_pop) < 0)
        goto nomem;
    free(first_of_pop);

    for (c = 0; st->trace == NULL && c < st->nclients; c++) {
        rz_client *cl = &st->clients[c];
        const sim_population *p = &sc->pops[cl->pop];
        sim_rng_seed_stream(&cl->rng, st->r->seed, (uint64_t)cl->pop,
                            (uint64_t)cl->index);
        sim_rng_seed_stream(&cl->rng_model, st->r->seed, MODEL_STREAM + (uint64_t)cl->pop,
                            (uint64_t)cl->index);
        int64_t process_start = sim_add_sat(sc->start_us, sim_start_offset_us(p, cl->index, &cl->rng));
        cl->first_us = sim_add_sat(process_start, p->first_delay_us);
        cl->last_us = cl->first_us;
        cl->next_restart_us = draw_restart(p, cl, process_start);
        push(st, cl->first_us, c);
    }
    if (st->trace != NULL && sim_trace_rows(st->trace) > 0)
        push(st, sim_trace_at(st->trace, 0)->time_us, sim_trace_at(st->trace, 0)->client);
    return 0;

nomem:
    free(first_of_pop);
    return RL_ERR_NOMEM;
}

/* ---- tallies (the shared ones are in sim_tally.h) --------------------- */

static void tally_honest(sim_result *r, int64_t t_us, int rejected, const char *id)
{
    sim_realism_result *z = &r->realism;

    z->honest_requests++;
    z->honest_rejected += rejected;
    if (rejected)
        sim_tally_note_first(&z->honest_first_rejection_us,
                             z->honest_first_rejection_client,
                             sizeof(z->honest_first_rejection_client), t_us, id);
}

static void tally_request(rz_state *st, rz_client *cl, int64_t t_us, const char *id,
                          sim_response resp, const rl_decision *d)
{
    int rejected = resp == SIM_REJECTED_CLIENT || resp == SIM_REJECTED_GLOBAL;

    /* Windows are the server's, whose clock is offset from true time. */
    sim_tally_request(st->r, &st->fold, cl->pop, &cl->tally, id, t_us,
                      rl_window_id(&st->r->window, t_us + st->offset_us), resp, d);
    if (st->sc->pops[cl->pop].auth_valid)
        tally_honest(st->r, t_us, rejected, id);
}

/* ---- the client loop --------------------------------------------------- */

/* The next regular request after the latest one, as sim.c computes it,
 * except that after a retry a fixed-rate client skips the slots it missed. */
static int64_t next_regular_us(const sim_population *p, rz_client *cl)
{
    int64_t jitter = 0, work = 0, next;

    if (p->cadence == SIM_CADENCE_FIXED_DELAY && p->work_max_us > p->work_min_us)
        work = sim_rng_uniform_i64(&cl->rng, p->work_min_us, p->work_max_us);
    else if (p->cadence == SIM_CADENCE_FIXED_DELAY)
        work = p->work_min_us;
    if (p->jitter_us > 0)
        jitter = sim_rng_uniform_i64(&cl->rng, -p->jitter_us, p->jitter_us);

    if (p->cadence == SIM_CADENCE_FIXED_RATE) {
        int64_t m = cl->k + 1;
        if (cl->after_retry) {
            int64_t slot = (cl->last_us - cl->first_us) / p->interval_us + 1;
            m = slot > m ? slot : m;
        }
        cl->k = m;
        next = sim_add_sat(cl->first_us, sim_mul_sat(m, p->interval_us));
    } else {
        cl->k++;
        next = sim_add_sat(sim_add_sat(cl->last_us, work), p->interval_us);
    }
    next = sim_add_sat(next, jitter);
    return next < cl->last_us ? cl->last_us : next;
}

/* The delay before the next retry of a rejected request, or -1 when the
 * client gives up.  reset_true_us is when the server's window resets. */
static int64_t retry_delay_us(const sim_on429 *o, rz_client *cl, int64_t t_us,
                              int64_t reset_true_us)
{
    if (o->kind == SIM_ON429_NONE)
        return -1;
    if (o->times != SIM_ON429_UNLIMITED && cl->retries_made >= o->times)
        return -1;
    switch (o->kind) {
    case SIM_ON429_RETRY:
        return o->delay_us;
    case SIM_ON429_BACKOFF: {
        int64_t d = o->delay_us;
        if (cl->retries_made > 0) {
            int64_t grown;
            if (__builtin_mul_overflow(cl->last_delay_us, o->factor_milli, &grown))
                grown = INT64_MAX;
            d = grown / 1000;
        }
        return d < o->cap_us ? d : o->cap_us;
    }
    default:
        return reset_true_us > t_us ? reset_true_us - t_us : 0;
    }
}

/* Applies the restarts due before `next`; returns the time of the request
 * the client makes next (possibly after the end of the run). */
static int64_t apply_restarts(rz_state *st, rz_client *cl, int64_t next)
{
    const sim_population *p = &st->sc->pops[cl->pop];
    sim_realism_pop_result *z = &st->r->pops[cl->pop].realism;

    while (cl->next_restart_us <= next && cl->next_restart_us < st->r->end_us) {
        int64_t restart = cl->next_restart_us;
        if (next < st->r->end_us)
            z->dropped++;
        z->restarts++;
        cl->first_us = sim_add_sat(restart, p->first_delay_us);
        cl->k = 0;
        cl->retries_made = 0;
        cl->after_retry = 0;
        cl->queued_retry = 0;
        cl->next_restart_us = draw_restart(p, cl, restart);
        next = cl->first_us;
    }
    return next;
}

/* Decides where a client goes after a request at t_us. */
static void schedule_next(rz_state *st, size_t c, int64_t t_us, int rejected,
                          const rl_decision *d)
{
    rz_client *cl = &st->clients[c];
    const sim_population *p = &st->sc->pops[cl->pop];
    sim_realism_pop_result *z = &st->r->pops[cl->pop].realism;
    int64_t next;

    cl->last_us = t_us;
    int64_t delay = -1;
    if (rejected)
        delay = retry_delay_us(&p->realism.on429, cl, t_us, d->reset_us - st->offset_us);
    if (delay >= 0) {
        cl->retries_made++;
        cl->last_delay_us = delay;
        cl->queued_retry = 1;
        next = sim_add_sat(t_us, delay);
    } else {
        if (rejected && p->realism.on429.kind != SIM_ON429_NONE)
            z->gave_up++;
        cl->retries_made = 0;
        cl->queued_retry = 0;
        next = next_regular_us(p, cl);
    }
    push(st, apply_restarts(st, cl, next), c);
}

/* The id a request goes out with: its own, its target's, or a random one. */
static const char *request_id(rz_state *st, rz_client *cl, char *buf, size_t len)
{
    if (st->sc->pops[cl->pop].realism.target != SIM_TARGET_RANDOM)
        return st->ids + cl->id_offset;
    snprintf(buf, len, "random-%016llx",
             (unsigned long long)sim_rng_next(&cl->rng_model));
    return buf;
}

static int decide(rz_state *st, rz_client *cl, const char *id, int64_t t_us,
                  rl_decision *d, rl_error *err)
{
    const sim_population *p = &st->sc->pops[cl->pop];
    int rc = sim_decider_decide(st->decider, id, p->role_index, p->auth_valid, t_us, d);

    if (rc < 0) {
        char when[RL_ISO8601_MAX];
        rl_time_format_iso8601(t_us, when, sizeof(when));
        rl_error_set(err, "%s: the limiter failed for client %s at %s: %s",
                     st->sc->path, id, when, rl_strerror(rc));
    }
    return rc;
}

static int process_event(rz_state *st, const sim_event *ev, rl_error *err)
{
    rz_client *cl = &st->clients[ev->client];
    const sim_population *p = &st->sc->pops[cl->pop];
    char random_id[SIM_CLIENT_ID_MAX];
    const char *id = request_id(st, cl, random_id, sizeof(random_id));
    rl_decision d;

    int rc = decide(st, cl, id, ev->time_us, &d, err);
    if (rc < 0)
        return rc;
    sim_response resp = sim_tally_classify(st->r->policy, p->auth_valid, &d);
    tally_request(st, cl, ev->time_us, id, resp, &d);
    if (cl->queued_retry) {
        st->r->pops[cl->pop].realism.retries++;
        st->r->realism.retries++;
    }
    cl->after_retry = cl->queued_retry;
    if (st->cfg.on_request != NULL) {
        sim_request_info info = {cl->pop,       cl->index, id, ev->time_us,
                                 p->auth_valid, resp,      &d};
        st->cfg.on_request(st->cfg.user, &info);
    }

    if (st->trace != NULL) {
        if (++st->trace_next < sim_trace_rows(st->trace)) {
            const sim_trace_row *row = sim_trace_at(st->trace, st->trace_next);
            push(st, row->time_us, row->client);
        }
        return 0;
    }
    schedule_next(st, ev->client, ev->time_us,
                  resp == SIM_REJECTED_CLIENT || resp == SIM_REJECTED_GLOBAL, &d);
    return 0;
}

static int run_events(rz_state *st, rl_error *err)
{
    sim_event ev;

    while (sim_queue_pop(st->queue, &ev) == 0) {
        if (++st->processed > st->cfg.max_requests) {
            rl_error_set(err,
                         "%s: scenario '%s' stopped after %lld requests, the "
                         "maximum; check the intervals, retries and restarts, or "
                         "raise the maximum (--max-requests)",
                         st->sc->path, st->sc->name, (long long)st->cfg.max_requests);
            return RL_ERR_RANGE;
        }
        int rc = process_event(st, &ev, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- results ----------------------------------------------------------- */


/* The start of the server's day (or window) in true UTC, as an offset from
 * midnight. */
static int64_t day_start_utc_us(const sim_result *r, int64_t offset_us)
{
    int64_t id = rl_window_id(&r->window, r->start_us + offset_us);
    int64_t start = rl_window_start_us(&r->window, id) - offset_us;

    return rl_floor_mod(start, RL_US_PER_DAY);
}

static void finish(rz_state *st)
{
    sim_result *r = st->r;

    for (size_t c = 0; c < st->nclients; c++)
        sim_tally_fold(r, &st->fold, st->clients[c].pop, &st->clients[c].tally);
    sim_tally_finish(r, &st->fold);
    sim_decider_overshoot(st->decider, &r->realism);
    r->realism.day_start_utc_us = day_start_utc_us(r, st->offset_us);
}

static void state_free(rz_state *st)
{
    sim_decider_destroy(st->decider);
    sim_queue_destroy(st->queue);
    free(st->clients);
    free(st->ids);
    free(st->fold.pairs_seen);
    free(st->fold.min_seen);
}

/* Fills the result's realism block and the server-side setup. */
static int setup(rz_state *st, rl_error *err)
{
    const sim_scenario *sc = st->sc;
    sim_result *r = st->r;
    sim_decider_setup ds;

    r->realism.active = 1;
    r->realism.config = sc->realism;
    r->realism.config.trace = NULL;
    r->realism.config.algo = st->cfg.override_policy ? st->cfg.algorithm : sc->realism.algo;
    r->realism.honest_first_rejection_us = SIM_TIME_NONE;
    st->offset_us = sc->realism.clock_offset_us;
    r->n_windows = rl_window_id(&r->window, r->end_us - 1 + st->offset_us) -
                   rl_window_id(&r->window, r->start_us + st->offset_us) + 1;

    ds.limits = &r->limits;
    ds.window = r->window;
    ds.algo = r->realism.config.algo;
    ds.policy = r->policy;
    ds.model = &sc->realism;
    ds.seed = r->seed;
    ds.start_us = r->start_us;
    int rc = sim_decider_create(&ds, &st->decider, err);
    if (rc == RL_ERR_INVALID) {
        char inner[RL_ERROR_MAX];
        snprintf(inner, sizeof(inner), "%s", err->message);
        rl_error_set(err, "%s: %s", sc->path, inner);
    }
    if (rc < 0)
        return rc;

    st->fold.pairs_seen = calloc((size_t)sc->npops, sizeof(int64_t));
    st->fold.min_seen = calloc((size_t)sc->npops, sizeof(int64_t));
    if (st->fold.pairs_seen == NULL || st->fold.min_seen == NULL || clients_create(st) < 0) {
        rl_error_set(err, "%s: out of memory setting up the clients", sc->path);
        return RL_ERR_NOMEM;
    }
    return 0;
}

int sim_realism_run(const sim_scenario *sc, const sim_config *cfg, sim_result *r,
                    rl_error *err)
{
    rz_state st;

    memset(&st, 0, sizeof(st));
    st.sc = sc;
    st.cfg = *cfg;
    st.r = r;
    st.trace = sc->realism.trace;
    int rc = setup(&st, err);
    if (rc == 0)
        rc = run_events(&st, err);
    if (rc == 0)
        finish(&st);
    if (rc == 0 && st.trace != NULL) {
        r->realism.trace_rows = sim_trace_rows(st.trace);
        r->realism.trace_skipped = sim_trace_skipped(st.trace);
    }
    state_free(&st);
    return rc;
}
