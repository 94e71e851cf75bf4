/*
 * sim_decider.c: replicas, clock offsets, algorithms and the race estimate
 * behind one "decide this request" call (see sim_decider.h).
 *
 * What always holds: calls come in non-decreasing true time, so pending
 * increments of the race model (each landing 2 * rtt after its request)
 * land in the order they were made and sit in a FIFO; a replica's store
 * is only touched by requests routed to that replica.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_decider.h"
#include "sim_rng.h"

/* One server replica: a store (with a limiter over it) or an algorithm. */
typedef struct replica {
    rl_store *store;
    rl_limiter lim;
    rl_algo *algo;
    int64_t next_restart_us; /* INT64_MAX: never */
} replica;

/* An increment of the race model that has not landed yet. */
typedef struct pending_incr {
    char client_key[RL_KEY_MAX];
    char global_key[RL_KEY_MAX];
    int64_t land_us;
    int64_t expire_at_us;
    int64_t replica;
} pending_incr;

struct sim_decider {
    const rl_limits *limits;
    rl_window window;
    rl_algo_kind algo;
    rl_policy policy;
    sim_realism model;
    replica *replicas;
    int64_t nreplicas; /* stores: 1 when shared */
    int64_t routed;    /* requests routed so far (round-robin) */
    sim_rng rng;       /* random balancing */
    int race;          /* 1: the shared-store race model */
    pending_incr *pending;
    size_t pending_head, pending_n, pending_cap;
    rl_store *truth; /* every admission at once; NULL without replicas */
    rl_limiter truth_lim;
    rl_limits truth_limits; /* every limit INT64_MAX: the truth store admits all */
    int64_t overshoot_client, overshoot_global, overshoot_max;
};

static int replica_open(sim_decider *d, replica *rp)
{
    if (d->algo != RL_ALGO_FIXED_WINDOW) {
        rl_algo_config cfg = {d->algo, d->window, d->model.burst};
        rp->algo = rl_algo_create(&cfg);
        return rp->algo != NULL ? 0 : RL_ERR_NOMEM;
    }
    rp->store = rl_store_memory_create();
    if (rp->store == NULL)
        return RL_ERR_NOMEM;
    /* Keys expire when their window resets, as in the plain engine. */
    rl_limiter_init(&rp->lim, d->limits, rp->store);
    rp->lim.window = d->window;
    rp->lim.policy = d->policy;
    rp->lim.grace_us = 0;
    return 0;
}

static void replica_close(replica *rp)
{
    rl_store_destroy(rp->store);
    rl_algo_destroy(rp->algo);
    rp->store = NULL;
    rp->algo = NULL;
}

void sim_decider_destroy(sim_decider *d)
{
    if (d == NULL)
        return;
    for (int64_t i = 0; d->replicas != NULL && i < d->nreplicas; i++)
        replica_close(&d->replicas[i]);
    free(d->replicas);
    free(d->pending);
    rl_store_destroy(d->truth);
    free(d);
}

/* Sets each replica's first restart: replica i of K restarts at
 * start + (i + 1) * every / K, then every `every`, so restarts roll. */
static void plan_restarts(sim_decider *d, int64_t start_us)
{
    int64_t every = d->model.replica_restart_every_us;

    for (int64_t i = 0; i < d->nreplicas; i++) {
        replica *rp = &d->replicas[i];
        if (d->model.store != SIM_STORE_PER_REPLICA || every <= 0)
            rp->next_restart_us = INT64_MAX;
        else
            rp->next_restart_us = start_us + (i + 1) * (every / d->nreplicas);
    }
}

static int check_model(const sim_decider_setup *s, rl_error *err)
{
    const sim_realism *m = s->model;

    if (m->replicas > 1 && s->algo != RL_ALGO_FIXED_WINDOW) {
        rl_error_set(err, "replicas = %lld works with policy deployed or atomic "
                          "only: the other algorithms are modelled on one server",
                     (long long)m->replicas);
        return RL_ERR_INVALID;
    }
    return 0;
}

int sim_decider_create(const sim_decider_setup *s, sim_decider **out, rl_error *err)
{
    int rc = check_model(s, err);
    if (rc < 0)
        return rc;
    sim_decider *d = calloc(1, sizeof(*d));
    if (d == NULL)
        goto nomem;
    d->limits = s->limits;
    d->window = s->window;
    d->algo = s->algo;
    d->policy = s->policy;
    d->model = *s->model;
    d->model.trace = NULL;
    sim_rng_seed_stream(&d->rng, s->seed, UINT64_MAX, UINT64_MAX);

    int64_t k = d->model.replicas > 1 ? d->model.replicas : 1;
    d->nreplicas = d->model.store == SIM_STORE_PER_REPLICA ? k : 1;
    d->race = k > 1 && d->model.store == SIM_STORE_SHARED && d->model.rtt_us > 0 &&
              d->policy == RL_POLICY_DEPLOYED;
    d->replicas = calloc((size_t)d->nreplicas, sizeof(*d->replicas));
    if (d->replicas == NULL)
        goto nomem;
    for (int64_t i = 0; i < d->nreplicas; i++)
        if (replica_open(d, &d->replicas[i]) < 0)
            goto nomem;
    plan_restarts(d, s->start_us);

    /* Overshoot is possible with several replicas or with restarts. */
    if (k > 1 || d->model.store == SIM_STORE_PER_REPLICA) {
        d->truth = rl_store_memory_create();
        if (d->truth == NULL)
            goto nomem;
        d->truth_limits = *d->limits;
        for (int i = 0; i < d->truth_limits.nroles; i++)
            d->truth_limits.roles[i].per_client.value = INT64_MAX;
        d->truth_limits.total.value = INT64_MAX;
        rl_limiter_init(&d->truth_lim, &d->truth_limits, d->truth);
        d->truth_lim.window = d->window;
        d->truth_lim.grace_us = 0;
    }
    *out = d;
    return 0;

nomem:
    sim_decider_destroy(d);
    rl_error_set(err, "out of memory setting up the server replicas");
    return RL_ERR_NOMEM;
}

/* The replica of the next request: round-robin or random. */
static int64_t route(sim_decider *d)
{
    int64_t k = d->model.replicas > 1 ? d->model.replicas : 1;

    if (k == 1)
        return 0;
    if (d->model.balance == SIM_BALANCE_RANDOM)
        return sim_rng_uniform_i64(&d->rng, 0, k - 1);
    return d->routed++ % k;
}

/* Empties the stores of replicas whose restart time has come. */
static int restart_replicas(sim_decider *d, int64_t now_us)
{
    for (int64_t i = 0; i < d->nreplicas; i++) {
        replica *rp = &d->replicas[i];
        if (rp->next_restart_us > now_us)
            continue;
        replica_close(rp);
        if (replica_open(d, rp) < 0)
            return RL_ERR_NOMEM;
        while (rp->next_restart_us <= now_us)
            rp->next_restart_us += d->model.replica_restart_every_us;
    }
    return 0;
}

/* ---- the race model ---------------------------------------------------- */

/* Adds one to both counters of an increment, unconditionally. */
static int land(rl_store *store, const char *client_key, const char *global_key,
                int64_t now_us, int64_t expire_at_us)
{
    rl_check c = {client_key, global_key, INT64_MAX, INT64_MAX,
                  now_us,     expire_at_us, 1,       RL_POLICY_ATOMIC};
    rl_decision ignored;

    return rl_store_check_and_count(store, &c, &ignored);
}

static int land_due(sim_decider *d, int64_t now_us)
{
    while (d->pending_n > 0) {
        pending_incr *p = &d->pending[d->pending_head];
        if (p->land_us > now_us)
            break;
        int rc = land(d->replicas[0].store, p->client_key, p->global_key, p->land_us,
                      p->expire_at_us);
        if (rc < 0)
            return rc;
        d->pending_head = (d->pending_head + 1) % d->pending_cap;
        d->pending_n--;
    }
    return 0;
}

static int pending_push(sim_decider *d, const pending_incr *p)
{
    if (d->pending_n == d->pending_cap) {
        size_t cap = d->pending_cap ? d->pending_cap * 2 : 16;
        pending_incr *bigger = malloc(cap * sizeof(*bigger));
        if (bigger == NULL)
            return RL_ERR_NOMEM;
        for (size_t i = 0; i < d->pending_n; i++)
            bigger[i] = d->pending[(d->pending_head + i) % d->pending_cap];
        free(d->pending);
        d->pending = bigger;
        d->pending_cap = cap;
        d->pending_head = 0;
    }
    d->pending[(d->pending_head + d->pending_n) % d->pending_cap] = *p;
    d->pending_n++;
    return 0;
}

/* The counters a request on `replica` reads: landed plus its own pending. */
static int visible_counts(sim_decider *d, const pending_incr *req, int64_t now_us,
                          int64_t *client, int64_t *global)
{
    rl_store *store = d->replicas[0].store;
    int rc = rl_store_read(store, req->client_key, now_us, client);
    if (rc == 0)
        rc = rl_store_read(store, req->global_key, now_us, global);
    for (size_t i = 0; rc == 0 && i < d->pending_n; i++) {
        const pending_incr *p = &d->pending[(d->pending_head + i) % d->pending_cap];
        if (p->replica != req->replica)
            continue;
        *client += strcmp(p->client_key, req->client_key) == 0;
        *global += strcmp(p->global_key, req->global_key) == 0;
    }
    return rc;
}

/* NOTE: an estimate: every increment lands exactly 2 * rtt after its read,
 * and a replica serves one request at a time (see sim_decider.h). */
static int race_decide(sim_decider *d, const rl_request *req, int64_t replica_index,
                       rl_decision *out)
{
    const rl_limiter *lim = &d->replicas[0].lim;
    int64_t window_id = rl_window_id(&d->window, req->now_us);
    pending_incr p;

    memset(out, 0, sizeof(*out));
    out->window_id = window_id;
    out->reset_us = rl_window_reset_us(&d->window, window_id);
    out->client_limit = d->limits->roles[req->role].per_client.value;
    out->global_limit = d->limits->total.value;
    int rc = land_due(d, req->now_us);
    if (rc == 0)
        rc = rl_limiter_client_key(lim, req->client, window_id, p.client_key,
                                   sizeof(p.client_key));
    if (rc == 0)
        rc = rl_limiter_global_key(lim, window_id, p.global_key, sizeof(p.global_key));
    p.replica = replica_index;
    p.land_us = req->now_us + 2 * d->model.rtt_us;
    p.expire_at_us = out->reset_us;
    if (rc == 0)
        rc = visible_counts(d, &p, req->now_us, &out->client_count, &out->global_count);
    if (rc < 0)
        return rc;

    if (out->global_count >= out->global_limit)
        out->outcome = RL_REJECTED_GLOBAL;
    else if (out->client_count >= out->client_limit)
        out->outcome = RL_REJECTED_CLIENT;
    if (out->outcome != RL_ALLOWED)
        return 0;
    /* The deployed policy counts every admitted request. */
    out->counted = 1;
    out->client_count++;
    out->global_count++;
    return pending_push(d, &p);
}

/* ---- overshoot --------------------------------------------------------- */

/* Counts an admission against the truth store and notes any overshoot. */
static int note_truth(sim_decider *d, const rl_request *req)
{
    rl_decision t;
    int rc = rl_limiter_decide(&d->truth_lim, req, &t);
    if (rc < 0)
        return rc;

    int64_t client_limit = d->limits->roles[req->role].per_client.value;
    int64_t excess = t.client_count - client_limit;
    if (excess > 0) {
        d->overshoot_client++;
        if (excess > d->overshoot_max)
            d->overshoot_max = excess;
    }
    if (t.global_count > d->limits->total.value)
        d->overshoot_global++;
    return 0;
}

int sim_decider_decide(sim_decider *d, const char *client, int role, int auth_ok,
                       int64_t true_us, rl_decision *out)
{
    rl_request req = {client, role, auth_ok, true_us + d->model.clock_offset_us};
    int64_t r = route(d);
    int rc = restart_replicas(d, req.now_us);
    if (rc < 0)
        return rc;

    replica *rp = &d->replicas[d->nreplicas > 1 ? r : 0];
    if (d->race)
        rc = race_decide(d, &req, r, out);
    else if (rp->algo != NULL)
        rc = rl_algo_decide(rp->algo, client, d->limits->roles[role].per_client.value,
                            d->limits->total.value, req.now_us,
                            auth_ok || d->policy == RL_POLICY_DEPLOYED, out);
    else
        rc = rl_limiter_decide(&rp->lim, &req, out);
    if (rc == 0 && d->truth != NULL && out->counted)
        rc = note_truth(d, &req);
    return rc;
}

void sim_decider_overshoot(const sim_decider *d, sim_realism_result *r)
{
    r->overshoot_client = d->overshoot_client;
    r->overshoot_global = d->overshoot_global;
    r->overshoot_max_per_window = d->overshoot_max;
}
