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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_time.h"
#include "sim.h"
#include "sim_fast.h"
#include "sim_queue.h"
#include "sim_realism.h"
#include "sim_rng.h"

/* One simulated client process. */
typedef struct sim_client {
    sim_rng rng;
    int64_t first_us;        /* t_0: fixed-rate times are computed from it */
    int64_t k;               /* index of the latest request (0 = first) */
    int64_t last_us;         /* time of the latest request */
    int64_t window_id;       /* window of the open tally */
    int64_t window_requests; /* requests in window_id; 0: no open tally */
    int64_t window_rejected;
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
    int64_t *pairs_seen; /* per population: folded (client, window) pairs */
    int64_t *min_seen;   /* per population: smallest folded tally */
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

/* a + b, saturated: times beyond the int64 range are "after the end". */
static int64_t add_sat(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

static int64_t mul_sat(int64_t a, int64_t b)
{
    int64_t product;
    if (__builtin_mul_overflow(a, b, &product))
        return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
    return product;
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
    r->end_us = add_sat(sc->start_us, mul_sat(sc->days, RL_US_PER_DAY));
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

/* Start offset of client i of n, relative to the scenario start. */
static int64_t start_offset_us(const sim_population *p, int64_t i, sim_rng *rng)
{
    switch (p->start) {
    case SIM_START_SPREAD: {
        /* floor(i * interval / n) without overflowing: interval = q*n + r,
         * and i * r < n * n <= 2^64 because n < 2^32. */
        uint64_t n = (uint64_t)p->count, q = (uint64_t)p->interval_us / n;
        uint64_t rem = (uint64_t)p->interval_us % n;
        return (int64_t)((uint64_t)i * q + ((uint64_t)i * rem) / n);
    }
    case SIM_START_TOGETHER:
        return 0;
    case SIM_START_RANDOM:
        return sim_rng_uniform_i64(rng, 0, p->interval_us - 1);
    case SIM_START_OFFSET:
        return p->start_offset_us;
    }
    return 0;
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

            int64_t offset = start_offset_us(p, j, &cl->rng);
            cl->first_us = add_sat(add_sat(sc->start_us, offset), p->first_delay_us);
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
        next = add_sat(cl->first_us, mul_sat(cl->k + 1, p->interval_us));
    } else {
        next = add_sat(add_sat(cl->last_us, work), p->interval_us);
    }
    next = add_sat(next, jitter);

    /* A late loop fires at once; it never goes back before its last request. */
    return next < cl->last_us ? cl->last_us : next;
}

/* ---- one request ------------------------------------------------------ */

/* Maps the core's decision to the client's response.  Under the atomic
 * policy authentication comes first, so a request that fails it is a 401
 * whatever the counters contain.  Under the deployed policy the limit
 * checks come first, and only an admitted request reaches authentication. */
static sim_response classify(rl_policy policy, int auth_ok, const rl_decision *d)
{
    if (!auth_ok && policy == RL_POLICY_ATOMIC)
        return SIM_FAILED_AUTH;
    if (d->outcome == RL_REJECTED_GLOBAL)
        return SIM_REJECTED_GLOBAL;
    if (d->outcome == RL_REJECTED_CLIENT)
        return SIM_REJECTED_CLIENT;
    return auth_ok ? SIM_ACCEPTED : SIM_FAILED_AUTH;
}

/* Folds a client's open window tally into its population's statistics. */
static void fold_window(sim_state *st, sim_client *cl)
{
    sim_pop_result *pr = &st->r->pops[cl->pop];
    int64_t n = cl->window_requests;

    if (n == 0)
        return;
    if (st->pairs_seen[cl->pop]++ == 0 || n < st->min_seen[cl->pop])
        st->min_seen[cl->pop] = n;
    if (n > pr->max_window_usage)
        pr->max_window_usage = n;
    if (cl->window_rejected > pr->worst_window_rejected) {
        pr->worst_window_rejected = cl->window_rejected;
        pr->worst_window_requests = n;
    }
    cl->window_requests = 0;
    cl->window_rejected = 0;
}

static void count_response(sim_counts *c, sim_response resp)
{
    c->requests++;
    switch (resp) {
    case SIM_ACCEPTED:
        c->accepted++;
        break;
    case SIM_REJECTED_CLIENT:
        c->rejected_client++;
        break;
    case SIM_REJECTED_GLOBAL:
        c->rejected_global++;
        break;
    case SIM_FAILED_AUTH:
        c->failed_auth++;
        break;
    }
}

/* Adds one decided request to every statistic it belongs to. */
static void tally_request(sim_state *st, sim_client *cl, int64_t t_us,
                          sim_response resp, const rl_decision *d)
{
    sim_result *r = st->r;
    sim_pop_result *pr = &r->pops[cl->pop];
    int rejected = resp == SIM_REJECTED_CLIENT || resp == SIM_REJECTED_GLOBAL;
    int64_t hour = (t_us - r->start_us) / RL_US_PER_HOUR;

    int64_t window_id = rl_window_id(&r->window, t_us);
    if (cl->window_requests > 0 && cl->window_id != window_id)
        fold_window(st, cl);
    cl->window_id = window_id;
    cl->window_requests++;
    cl->window_rejected += rejected;

    count_response(&pr->counts, resp);
    count_response(&r->total, resp);
    if (resp == SIM_ACCEPTED)
        r->accepted_per_hour[hour]++;
    else if (resp == SIM_FAILED_AUTH)
        r->failed_auth_per_hour[hour]++;
    else
        r->rejected_per_hour[hour]++;

    /* Events arrive in time order: the first one seen is the first. */
    const char *id = st->ids + cl->id_offset;
    if (rejected && pr->first_rejection_us == SIM_TIME_NONE) {
        pr->first_rejection_us = t_us;
        snprintf(pr->first_rejection_client, sizeof(pr->first_rejection_client), "%s",
                 id);
    }
    if (rejected && r->first_rejection_us == SIM_TIME_NONE) {
        r->first_rejection_us = t_us;
        snprintf(r->first_rejection_client, sizeof(r->first_rejection_client), "%s",
                 id);
    }
    if (resp == SIM_REJECTED_GLOBAL && r->global.exhausted_at_us == SIM_TIME_NONE)
        r->global.exhausted_at_us = t_us;
    if (d->global_count > r->global.peak_window_usage) {
        r->global.peak_window_usage = d->global_count;
        r->global.peak_window_id = window_id;
    }
}

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

    sim_response resp = classify(st->lim.policy, p->auth_valid, &d);
    tally_request(st, cl, ev->time_us, resp, &d);
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

static double headroom_of(int64_t usage, int64_t limit)
{
    if (limit <= 0)
        return NAN;
    return (double)(limit - usage) / (double)limit;
}

/* Folds the open tallies and derives the statistics that need totals. */
static void finish(sim_state *st)
{
    sim_result *r = st->r;

    for (size_t c = 0; c < st->nclients; c++)
        fold_window(st, &st->clients[c]);

    for (int i = 0; i < r->npops; i++) {
        sim_pop_result *pr = &r->pops[i];
        sim_window_stats *w = &pr->per_window;

        w->pairs = mul_sat(pr->clients, r->n_windows);
        /* A pair with no request never reaches fold_window: it is a 0. */
        w->min = st->pairs_seen[i] < w->pairs ? 0 : st->min_seen[i];
        w->max = pr->max_window_usage;
        w->mean = (double)pr->counts.requests / (double)w->pairs;
        pr->headroom = headroom_of(pr->max_window_usage, pr->limit);
    }
    r->global.headroom = headroom_of(r->global.peak_window_usage, r->global.limit);
    r->fits = r->total.rejected_client == 0 && r->total.rejected_global == 0;
}

static void state_free(sim_state *st)
{
    rl_store_destroy(st->store);
    sim_queue_destroy(st->queue);
    free(st->clients);
    free(st->ids);
    free(st->pairs_seen);
    free(st->min_seen);
    sim_result_destroy(st->r);
}

/* Creates the store, the limiter and the clients. */
static int setup_engine(sim_state *st, rl_error *err)
{
    const sim_scenario *sc = st->sc;

    st->pairs_seen = calloc((size_t)sc->npops, sizeof(int64_t));
    st->min_seen = calloc((size_t)sc->npops, sizeof(int64_t));
    st->store = rl_store_memory_create();
    if (st->pairs_seen == NULL || st->min_seen == NULL || st->store == NULL)
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
