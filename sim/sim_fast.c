/*
 * sim_fast.c: the fast path of sim_run(), window by window and client by
 * client instead of one event queue over the whole run.
 *
 * Where it sits: sim_run() (sim.c) calls sim_fast_select() and, for an
 * eligible scenario, sim_fast_run(), which fills the same sim_result as the
 * general event loop.  docs/sim-engine.md explains why the two agree.
 *
 * The facts the method rests on (the general path's rules, sim.h):
 *   1. A client's request times come from its own random stream and never
 *      depend on any decision, so they can be generated in any order of
 *      clients, and regenerated from a saved generator state.
 *   2. Counters belong to one limit window and start at 0 in the next, so
 *      windows are decided independently, in time order.
 *   3. In a window, a request is decided by its client's counter (its own
 *      earlier requests in the window) and by the global counter.  If no
 *      request reads the global counter at the total, the client's j-th
 *      request of the window (j from 0) is admitted exactly when
 *      j < limit.  Pass 1 makes this "speculative" decision.
 *   4. The global counter counts admitted requests (all of them under the
 *      deployed policy, the authenticated ones under the atomic policy).
 *      Before it reaches the total it rejects nothing, so the speculative
 *      decisions hold up to and including the request X that takes it to
 *      the total: X is the total-th counted request in (time, sequence)
 *      order.  Every later request of the window is a global rejection
 *      (except atomic-policy auth failures, which are 401 whatever the
 *      counters hold and count nothing: "inert" requests).
 *   5. Events with equal times leave the general path's queue in sequence
 *      order, and an event's sequence number is the position of the
 *      client's previous event.  So the order of two equal-time events
 *      depends only on the two clients' own histories, and replaying any
 *      subset of clients through the same queue orders them as the full
 *      run does (resolve_order()).
 *
 * Per window: pass 1 generates every client's requests with speculative
 * decisions, tallies them into the result and counts the counted requests
 * per time bucket.  When the counted demand reaches the total, the bucket
 * holding X is narrowed down, X is found exactly, and a correction pass
 * regenerates each client's requests from the window's start and turns the
 * ones after X into global rejections.  Then the window's per-client
 * tallies are folded into the population statistics.
 *
 * Memory: the clients (64 bytes each, twice: state and the window-start
 * snapshot), one tally per client, and buffers bounded by the number of
 * clients; nothing is allocated per request.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_time.h"
#include "sim_fast.h"
#include "sim_queue.h"
#include "sim_realism.h"
#include "sim_rng.h"

#define FAST_END INT64_MAX /* a client with no request left in the run */
#define FAST_HIST_BUCKETS 4096
#define FAST_TIME_MAX (INT64_C(1) << 61) /* eligible times stay below it */
/* Replays through the event queue, in requests, before the auto engine
 * hands a run to the general path instead (see resolve_order()). */
#define FAST_REPLAY_BUDGET (INT64_C(1) << 24)

/* A population's constants, hoisted out of the request loop. */
typedef struct fast_pop {
    const sim_population *cfg;
    int64_t limit;       /* per client per window; INT64_MAX for inert */
    int counted;         /* 0: inert (atomic policy, auth fails) */
    int auth_ok;
    int deterministic;   /* no random draw after the first request */
    int64_t period_us;   /* deterministic clients: time between requests */
    uint64_t jitter_span, jitter_accept_max, jitter_magic;
    uint64_t work_span, work_accept_max, work_magic;
    size_t first_client; /* global index of client 0 */
} fast_pop;

/* One client's generator: its stream and its next request. */
typedef struct fast_client {
    sim_rng rng;
    int64_t first_us; /* t_0 */
    int64_t k;        /* index of the pending request */
    int64_t last_us;  /* time of the latest request made */
    int64_t next_us;  /* the pending request; FAST_END when none */
} fast_client;

/* A client's requests in the current window, after corrections. */
typedef struct fast_tally {
    int64_t n;            /* requests */
    int64_t rejected;     /* client and global rejections */
    int64_t a;            /* requests ordered up to X (n when none after) */
    int64_t first_rej_j;  /* window index of the first rejection */
    int64_t first_rej_us; /* its time; SIM_TIME_NONE when none */
    int64_t at_x;         /* requests at the time of X */
} fast_tally;

/* One request at a given time, in (time, sequence) order once resolved. */
typedef struct fast_event {
    int64_t t_us;
    uint32_t client;
    int64_t j;   /* index in the client's window */
    int64_t cnt; /* consecutive requests of the client at t_us (collection) */
} fast_event;

/* The best (client, window) pair of a population: most rejections, first
 * folded (see pair_folds_first()). */
typedef struct fast_worst {
    int64_t rejected, requests;
    uint32_t client;
    int64_t fold_us;
} fast_worst;

/* Everything one run owns. */
typedef struct fast_run {
    const sim_scenario *sc;
    const sim_config *cfg;
    sim_result *r;
    fast_pop *pops;
    fast_client *clients;
    fast_client *snap; /* clients as they were at the window's start */
    fast_tally *tally;
    uint32_t *pop_of; /* population of each client */
    size_t n;         /* clients */
    int64_t global_limit;
    int64_t hist[FAST_HIST_BUCKETS];
    uint32_t *set;   /* a set of clients, n entries */
    fast_event *buf; /* collection buffer, buf_cap entries */
    size_t buf_cap;
    int64_t *pairs_seen, *min_seen;
    fast_worst *worst;
    int64_t replay_left; /* budget of resolve_order(); < 0: unlimited */
    int gave_up;
    int64_t ws, we; /* the current window, clipped to the run */
} fast_run;

/* ---- eligibility ------------------------------------------------------ */

/*
 * Field-for-field copies of the structs the fast path reads or fills, as
 * it knows them.  A field added to the real struct changes its size, and
 * the scenario falls back to the general path (see sim_fast_eligible()).
 */
typedef struct known_population {
    char name[SIM_NAME_MAX];
    char role[RL_ROLE_NAME_MAX];
    int role_index;
    int64_t count;
    sim_cadence cadence;
    int64_t interval_us;
    int64_t work_min_us, work_max_us;
    int64_t jitter_us;
    sim_start start;
    int64_t start_offset_us;
    int64_t first_delay_us;
    int auth_valid;
    int line;
    sim_realism_pop realism;
} known_population;

typedef struct known_scenario {
    char path[SIM_PATH_MAX];
    char name[SIM_NAME_MAX];
    char description[SIM_TEXT_MAX];
    int64_t start_us;
    int64_t days;
    uint64_t seed;
    rl_limits limits;
    rl_window window;
    rl_policy policy;
    sim_population *pops;
    int npops;
    sim_expect expect;
    sim_realism realism;
} known_scenario;

typedef struct known_config {
    int override_seed;
    uint64_t seed;
    int override_policy;
    rl_policy policy;
    int64_t max_requests;
    sim_request_fn on_request;
    void *user;
    sim_engine engine;
    rl_algo_kind algorithm;
} known_config;

typedef struct known_pop_result {
    char name[SIM_NAME_MAX];
    char role[RL_ROLE_NAME_MAX];
    int64_t clients;
    sim_population config;
    int64_t limit;
    sim_counts counts;
    sim_window_stats per_window;
    int64_t max_window_usage;
    double headroom;
    int64_t first_rejection_us;
    char first_rejection_client[SIM_CLIENT_ID_MAX];
    int64_t worst_window_rejected;
    int64_t worst_window_requests;
    sim_realism_pop_result realism;
} known_pop_result;

typedef struct known_result {
    char name[SIM_NAME_MAX];
    char path[SIM_PATH_MAX];
    char description[SIM_TEXT_MAX];
    int64_t start_us, end_us, days;
    uint64_t seed;
    rl_policy policy;
    rl_window window;
    rl_limits limits;
    int64_t n_windows;
    sim_pop_result *pops;
    int npops;
    sim_counts total;
    int64_t first_rejection_us;
    char first_rejection_client[SIM_CLIENT_ID_MAX];
    sim_global_result global;
    int64_t n_hours;
    int64_t *accepted_per_hour, *rejected_per_hour, *failed_auth_per_hour;
    int fits;
    sim_expect_result expectations[SIM_EXPECT_MAX];
    int nexpectations;
    int expectations_met;
    sim_realism_result realism;
} known_result;

static const char *structs_unknown(void)
{
    if (sizeof(sim_population) != sizeof(known_population))
        return "the population has settings the fast path does not model";
    if (sizeof(sim_scenario) != sizeof(known_scenario))
        return "the scenario has settings the fast path does not model";
    if (sizeof(sim_config) != sizeof(known_config))
        return "the run has options the fast path does not model";
    if (sizeof(sim_pop_result) != sizeof(known_pop_result) ||
        sizeof(sim_result) != sizeof(known_result))
        return "the result has fields the fast path does not fill";
    return NULL;
}

static const char *population_unknown(const sim_scenario *sc, int i)
{
    const sim_population *p = &sc->pops[i];
    int64_t spread = p->interval_us + p->work_max_us + p->jitter_us;

    if (p->cadence != SIM_CADENCE_FIXED_RATE && p->cadence != SIM_CADENCE_FIXED_DELAY)
        return "a population has a cadence the fast path does not model";
    if (p->start != SIM_START_SPREAD && p->start != SIM_START_TOGETHER &&
        p->start != SIM_START_RANDOM && p->start != SIM_START_OFFSET)
        return "a population has a start mode the fast path does not model";
    if (p->interval_us > FAST_TIME_MAX / 8 || p->work_max_us > FAST_TIME_MAX / 8 ||
        p->jitter_us > FAST_TIME_MAX / 8 || p->start_offset_us > FAST_TIME_MAX / 8 ||
        p->first_delay_us > FAST_TIME_MAX / 8 || spread > FAST_TIME_MAX / 4)
        return "a population's durations are beyond the fast path's time range";
    if (sc->limits.roles[p->role_index].per_client.value < 0)
        return "a per-client limit is negative";

    /* Distinct names give distinct client ids ("<name>-<digits>"), hence
     * distinct counters: equal names would share them. */
    for (int j = 0; j < i; j++) {
        if (strcmp(sc->pops[j].name, p->name) == 0)
            return "two populations share a name, so their clients share counters";
    }
    return NULL;
}

/* Estimated requests, as sim.c's check: clients x (run / period + 1). */
static double estimate_requests(const sim_scenario *sc)
{
    double run_us = (double)sc->days * (double)RL_US_PER_DAY, estimate = 0.0;

    for (int i = 0; i < sc->npops; i++) {
        const sim_population *p = &sc->pops[i];
        double period = (double)p->interval_us;
        if (p->cadence == SIM_CADENCE_FIXED_DELAY)
            period += ((double)p->work_min_us + (double)p->work_max_us) / 2.0;
        estimate += (double)p->count * (run_us / period + 1.0);
    }
    return estimate;
}

/*
 * NOTE: a whitelist.  Every scenario feature and run option is checked
 * against what the fast path models; anything else (including fields added
 * to the scenario, config or result structs after this was written, which
 * the size checks catch) sends the run to the general path until the fast
 * path is extended and its equality test covers the new feature.
 */
static const char *reason_ineligible(const sim_scenario *sc, const sim_config *cfg)
{
    const char *why = structs_unknown();
    rl_policy policy = cfg->override_policy ? cfg->policy : sc->policy;

    if (why != NULL)
        return why;
    /* Restarts, retries, attackers, replicas, clock offsets, other
     * algorithms and traces belong to the realism engine (sim_realism.h). */
    if (sim_realism_reason(sc, cfg) != NULL)
        return sim_realism_reason(sc, cfg);
    if (cfg->on_request != NULL)
        return "a request observer (on_request) needs every request in order";
    if (policy != RL_POLICY_DEPLOYED && policy != RL_POLICY_ATOMIC)
        return "the policy is one the fast path does not model";
    if (sc->window.kind != RL_WINDOW_CALENDAR_DAY && sc->window.kind != RL_WINDOW_FIXED)
        return "the window kind is one the fast path does not model";
    if (sc->window.kind == RL_WINDOW_FIXED && sc->window.length_us <= 0)
        return "the window length is not positive";
    if (sc->limits.total.value < 0)
        return "the global total is negative";
    if (sc->start_us < 0 || sc->days > SIM_DAYS_MAX ||
        sc->start_us > FAST_TIME_MAX / 4 - sc->days * RL_US_PER_DAY)
        return "the run's times are beyond the fast path's range";
    for (int i = 0; i < sc->npops; i++) {
        why = population_unknown(sc, i);
        if (why != NULL)
            return why;
    }
    return NULL;
}

int sim_fast_eligible(const sim_scenario *sc, const sim_config *cfg, rl_error *err)
{
    const char *why = reason_ineligible(sc, cfg);

    if (why == NULL)
        return 1;
    rl_error_set(err, "%s: the fast engine cannot run scenario '%s': %s", sc->path,
                 sc->name, why);
    return 0;
}

/* The auto engine also skips runs where the fast path's per-window work
 * (every client, every window) would outweigh the requests themselves:
 * many short windows and few requests per window. */
static int worth_it(const sim_scenario *sc)
{
    int64_t clients = 0;

    for (int i = 0; i < sc->npops; i++)
        clients += sc->pops[i].count;
    int64_t ws = rl_window_id(&sc->window, sc->start_us);
    int64_t we = rl_window_id(&sc->window, sc->start_us + sc->days * RL_US_PER_DAY - 1);
    double per_window_work = (double)clients * (double)(we - ws + 1);
    return per_window_work <= 8.0 * estimate_requests(sc) + 4e6;
}

int sim_fast_select(const sim_scenario *sc, const sim_config *cfg, rl_error *err)
{
    if (cfg->engine == SIM_ENGINE_GENERAL)
        return SIM_FAST_GENERAL;
    if (cfg->engine == SIM_ENGINE_FAST)
        return sim_fast_eligible(sc, cfg, err) ? SIM_FAST_USE : RL_ERR_INVALID;
    if (reason_ineligible(sc, cfg) != NULL || !worth_it(sc))
        return SIM_FAST_GENERAL;
    return SIM_FAST_USE;
}

/* ---- random draws and request times ----------------------------------- */

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* xoshiro256**, as sim_rng_next(): inlined for the request loop. */
static inline uint64_t rng_next(sim_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/*
 * Returns x % span without a division: magic = floor((2^64 - 1) / span)
 * gives a quotient estimate q with x / span - 1 < q <= x / span, so the
 * remainder x - q * span needs at most one correction.
 */
static inline uint64_t mod_magic(uint64_t x, uint64_t span, uint64_t magic)
{
    uint64_t q = (uint64_t)(((unsigned __int128)x * magic) >> 64);
    uint64_t rem = x - q * span;
    return rem >= span ? rem - span : rem;
}

/* sim_rng_uniform_i64(rng, lo, lo + span - 1) with its constants
 * precomputed: the same draws, rejections and result. */
static inline int64_t uniform_fast(sim_rng *rng, int64_t lo, uint64_t span,
                                   uint64_t accept_max, uint64_t magic)
{
    uint64_t x;

    do {
        x = rng_next(rng);
    } while (x > accept_max);
    return (int64_t)((uint64_t)lo + mod_magic(x, span, magic));
}

static void uniform_constants(uint64_t span, uint64_t *accept_max, uint64_t *magic)
{
    *accept_max = UINT64_MAX - (UINT64_MAX % span + 1) % span;
    *magic = UINT64_MAX / span;
}

/* Makes the pending request and draws the next one, as sim.c's
 * next_request_us(): work first, then jitter, never before the last. */
static inline void advance(const fast_pop *fp, fast_client *cl, int64_t end_us)
{
    const sim_population *p = fp->cfg;
    int64_t last = cl->next_us, next, work = 0, jitter = 0;

    if (p->cadence == SIM_CADENCE_FIXED_DELAY) {
        work = p->work_min_us;
        if (fp->work_span > 1)
            work = uniform_fast(&cl->rng, p->work_min_us, fp->work_span,
                                fp->work_accept_max, fp->work_magic);
    }
    if (p->jitter_us > 0)
        jitter = uniform_fast(&cl->rng, -p->jitter_us, fp->jitter_span,
                              fp->jitter_accept_max, fp->jitter_magic);

    if (p->cadence == SIM_CADENCE_FIXED_RATE)
        next = cl->first_us + (cl->k + 1) * p->interval_us;
    else
        next = last + work + p->interval_us;
    next += jitter;
    if (next < last)
        next = last;
    cl->last_us = last;
    cl->k++;
    cl->next_us = next < end_us ? next : FAST_END;
}

/* Seeds client i of population pi and places its first request, as sim.c's
 * clients_create() and sim_start_offset_us(). */
static void client_init(fast_client *cl, const sim_population *p, int pi, int64_t i,
                        uint64_t seed, int64_t start_us, int64_t end_us)
{
    int64_t offset = 0;

    sim_rng_seed_stream(&cl->rng, seed, (uint64_t)pi, (uint64_t)i);
    if (p->start == SIM_START_SPREAD) {
        uint64_t n = (uint64_t)p->count, q = (uint64_t)p->interval_us / n;
        uint64_t rem = (uint64_t)p->interval_us % n;
        offset = (int64_t)((uint64_t)i * q + ((uint64_t)i * rem) / n);
    } else if (p->start == SIM_START_RANDOM) {
        offset = sim_rng_uniform_i64(&cl->rng, 0, p->interval_us - 1);
    } else if (p->start == SIM_START_OFFSET) {
        offset = p->start_offset_us;
    }
    cl->first_us = start_us + offset + p->first_delay_us;
    cl->k = 0;
    cl->last_us = cl->first_us;
    cl->next_us = cl->first_us < end_us ? cl->first_us : FAST_END;
}

/* ---- setup ------------------------------------------------------------ */

static void pop_constants(fast_pop *fp, const sim_scenario *sc, int i, rl_policy policy)
{
    const sim_population *p = &sc->pops[i];

    fp->cfg = p;
    fp->auth_ok = p->auth_valid != 0;
    fp->counted = policy == RL_POLICY_DEPLOYED || fp->auth_ok;
    fp->limit = fp->counted ? sc->limits.roles[p->role_index].per_client.value
                            : INT64_MAX;
    fp->jitter_span = 2 * (uint64_t)p->jitter_us + 1;
    uniform_constants(fp->jitter_span, &fp->jitter_accept_max, &fp->jitter_magic);
    fp->work_span = (uint64_t)(p->work_max_us - p->work_min_us) + 1;
    uniform_constants(fp->work_span, &fp->work_accept_max, &fp->work_magic);
    fp->deterministic = p->jitter_us == 0 &&
                        (p->cadence == SIM_CADENCE_FIXED_RATE || fp->work_span == 1);
    fp->period_us = p->interval_us;
    if (p->cadence == SIM_CADENCE_FIXED_DELAY)
        fp->period_us += p->work_min_us;
}

static void run_free(fast_run *fr)
{
    free(fr->pops);
    free(fr->clients);
    free(fr->snap);
    free(fr->tally);
    free(fr->pop_of);
    free(fr->buf);
    free(fr->set);
    free(fr->pairs_seen);
    free(fr->min_seen);
    free(fr->worst);
}

static int run_setup(fast_run *fr)
{
    const sim_scenario *sc = fr->sc;
    size_t c = 0;

    for (int i = 0; i < sc->npops; i++)
        fr->n += (size_t)sc->pops[i].count;
    fr->buf_cap = fr->n > 65536 ? fr->n : 65536;
    fr->pops = calloc((size_t)sc->npops, sizeof(*fr->pops));
    fr->clients = calloc(fr->n, sizeof(*fr->clients));
    fr->snap = calloc(fr->n, sizeof(*fr->snap));
    fr->tally = calloc(fr->n, sizeof(*fr->tally));
    fr->pop_of = calloc(fr->n, sizeof(*fr->pop_of));
    fr->buf = calloc(fr->buf_cap, sizeof(*fr->buf));
    fr->set = calloc(fr->n, sizeof(*fr->set));
    fr->pairs_seen = calloc((size_t)sc->npops, sizeof(int64_t));
    fr->min_seen = calloc((size_t)sc->npops, sizeof(int64_t));
    fr->worst = calloc((size_t)sc->npops, sizeof(*fr->worst));
    if (fr->pops == NULL || fr->clients == NULL || fr->snap == NULL ||
        fr->tally == NULL || fr->pop_of == NULL || fr->buf == NULL || fr->set == NULL ||
        fr->pairs_seen == NULL || fr->min_seen == NULL || fr->worst == NULL)
        return RL_ERR_NOMEM;

    fr->global_limit = fr->r->global.limit;
    for (int i = 0; i < sc->npops; i++) {
        fast_pop *fp = &fr->pops[i];
        pop_constants(fp, sc, i, fr->r->policy);
        fp->first_client = c;
        for (int64_t j = 0; j < sc->pops[i].count; j++, c++) {
            client_init(&fr->clients[c], &sc->pops[i], i, j, fr->r->seed,
                        fr->r->start_us, fr->r->end_us);
            fr->pop_of[c] = (uint32_t)i;
        }
    }
    return 0;
}

/* ---- pass 1: speculative decisions ------------------------------------ */

/* Generates client c's requests in the window, decides each as if the
 * global total were never reached, and tallies them.  Returns the counted
 * requests. */
static int64_t pass1_client(fast_run *fr, size_t c, int shift)
{
    const fast_pop *fp = &fr->pops[fr->pop_of[c]];
    sim_result *r = fr->r;
    fast_client *cl = &fr->clients[c];
    fast_tally *tl = &fr->tally[c];
    int64_t *ok_hours = fp->auth_ok ? r->accepted_per_hour : r->failed_auth_per_hour;
    int64_t *rej_hours = r->rejected_per_hour;
    int64_t limit = fp->limit, we = fr->we, ws = fr->ws, end = r->end_us;
    int64_t start = r->start_us, hour = 0, hour_end = INT64_MIN, j = 0;

    fr->snap[c] = *cl;
    tl->first_rej_us = SIM_TIME_NONE;
    while (cl->next_us < we) {
        int64_t t = cl->next_us;
        if (t >= hour_end) {
            hour = (t - start) / RL_US_PER_HOUR;
            hour_end = start + (hour + 1) * RL_US_PER_HOUR;
        }
        if (j < limit) {
            ok_hours[hour]++;
            fr->hist[(t - ws) >> shift] += fp->counted;
        } else {
            rej_hours[hour]++;
            if (j == limit) {
                tl->first_rej_us = t;
                tl->first_rej_j = j;
            }
        }
        j++;
        advance(fp, cl, end);
    }

    int64_t ok = j < limit ? j : limit;
    sim_counts *pc = &r->pops[fr->pop_of[c]].counts;
    tl->n = j;
    tl->a = j;
    tl->rejected = j - ok;
    pc->requests += j;
    pc->rejected_client += j - ok;
    if (fp->auth_ok)
        pc->accepted += ok;
    else
        pc->failed_auth += ok;
    return fp->counted ? ok : 0;
}

/* ---- ordering of equal-time requests ---------------------------------- */

/* An entry of the closed-form order (deterministic clients). */
typedef struct det_key {
    int64_t k, period_us;
    uint32_t client;
} det_key;

/* Orders two deterministic clients' requests at one time: a first request
 * (pushed at start) before any other; then the one whose previous request
 * was earlier (longer period); then, with equal periods, the one whose
 * history runs out first (fewer requests); then client order. */
static int compare_det(const void *pa, const void *pb)
{
    const det_key *a = pa, *b = pb;

    if (a->k == 0 || b->k == 0) {
        if (a->k == 0 && b->k == 0)
            return a->client < b->client ? -1 : 1;
        return a->k == 0 ? -1 : 1;
    }
    if (a->period_us != b->period_us)
        return a->period_us > b->period_us ? -1 : 1;
    if (a->k != b->k)
        return a->k < b->k ? -1 : 1;
    return a->client < b->client ? -1 : 1;
}

/* Start of the window holding t, clipped to the run. */
static int64_t window_start_of(const fast_run *fr, int64_t t_us)
{
    int64_t ws = rl_window_start_us(&fr->r->window, rl_window_id(&fr->r->window, t_us));
    return ws > fr->r->start_us ? ws : fr->r->start_us;
}

static int order_deterministic(fast_run *fr, const uint32_t *set, size_t n, int64_t t_us,
                               fast_event *out, size_t max_out)
{
    det_key *keys = malloc(n * sizeof(*keys));
    int64_t ws = window_start_of(fr, t_us);

    if (keys == NULL)
        return RL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const fast_pop *fp = &fr->pops[fr->pop_of[set[i]]];
        int64_t first = fr->clients[set[i]].first_us;
        keys[i].k = (t_us - first) / fp->period_us;
        keys[i].period_us = fp->period_us;
        keys[i].client = set[i];
    }
    qsort(keys, n, sizeof(*keys), compare_det);
    if (n > max_out)
        n = max_out;
    for (size_t i = 0; i < n; i++) {
        const fast_pop *fp = &fr->pops[fr->pop_of[keys[i].client]];
        int64_t first = fr->clients[keys[i].client].first_us, j0 = 0;
        if (first < ws)
            j0 = (ws - first + fp->period_us - 1) / fp->period_us;
        out[i].t_us = t_us;
        out[i].client = keys[i].client;
        out[i].j = keys[i].k - j0;
        out[i].cnt = 1;
    }
    free(keys);
    return (int)n;
}

/*
 * Replays the clients of `set` (ascending) from the run's start through
 * the general path's event queue and writes their requests at t_us, in
 * order, to out (room for max_out).  Returns the number written or a
 * negative status; SIM_FAST_FALLBACK-worthy exhaustion sets fr->gave_up.
 */
static int order_replay(fast_run *fr, const uint32_t *set, size_t n, int64_t t_us,
                        fast_event *out, size_t max_out)
{
    sim_queue *q = sim_queue_create(n);
    fast_client *cls = malloc(n * sizeof(*cls));
    int64_t *in_window = calloc(n, sizeof(int64_t));
    int64_t ws = window_start_of(fr, t_us);
    const sim_result *r = fr->r;
    size_t written = 0;
    sim_event ev;
    int rc = RL_ERR_NOMEM;

    if (q == NULL || cls == NULL || in_window == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        uint32_t pi = fr->pop_of[set[i]];
        int64_t idx = (int64_t)(set[i] - fr->pops[pi].first_client);
        client_init(&cls[i], &fr->sc->pops[pi], (int)pi, idx, r->seed, r->start_us,
                    r->end_us);
        if (cls[i].next_us != FAST_END)
            sim_queue_push(q, cls[i].next_us, (uint32_t)i);
    }
    while (sim_queue_pop(q, &ev) == 0 && ev.time_us <= t_us) {
        if (fr->replay_left >= 0 && --fr->replay_left < 0) {
            fr->gave_up = 1;
            break;
        }
        fast_client *cl = &cls[ev.client];
        if (ev.time_us >= ws)
            in_window[ev.client]++;
        if (ev.time_us == t_us && written < max_out) {
            out[written].t_us = t_us;
            out[written].client = set[ev.client];
            out[written].j = in_window[ev.client] - 1;
            out[written].cnt = 1;
            written++;
        }
        advance(&fr->pops[fr->pop_of[set[ev.client]]], cl, r->end_us);
        if (cl->next_us != FAST_END)
            sim_queue_push(q, cl->next_us, ev.client);
    }
    rc = fr->gave_up ? SIM_FAST_FALLBACK : (int)written;
done:
    sim_queue_destroy(q);
    free(cls);
    free(in_window);
    return rc;
}

/*
 * Writes the requests of the clients in `set` (ascending, distinct) at
 * t_us to out, in the general path's (time, sequence) order.  Returns how
 * many, RL_ERR_NOMEM, or SIM_FAST_FALLBACK when the replay budget ran out.
 */
static int resolve_order(fast_run *fr, const uint32_t *set, size_t n, int64_t t_us,
                         fast_event *out, size_t max_out)
{
    int all_deterministic = 1;

    for (size_t i = 0; i < n; i++)
        all_deterministic &= fr->pops[fr->pop_of[set[i]]].deterministic;
    if (all_deterministic)
        return order_deterministic(fr, set, n, t_us, out, max_out);
    return order_replay(fr, set, n, t_us, out, max_out);
}

/* Returns 1 when client a's first request at t_us comes before client b's,
 * 0 when not, or a negative status / SIM_FAST_FALLBACK (as > 1: 2). */
static int first_at_time(fast_run *fr, uint32_t a, uint32_t b, int64_t t_us)
{
    uint32_t set[2] = {a < b ? a : b, a < b ? b : a};
    fast_event ev[1] = {{0, a, 0, 0}};

    int got = resolve_order(fr, set, 2, t_us, ev, 1);
    if (got < 0)
        return got;
    if (fr->gave_up)
        return 2;
    return got > 0 && ev[0].client == a;
}

/* ---- the global total ------------------------------------------------- */

static int pick_shift(int64_t length_us)
{
    int shift = 0;

    while (((length_us - 1) >> shift) >= FAST_HIST_BUCKETS)
        shift++;
    return shift;
}

/* Counts counted requests of the window in [lo, hi) per bucket of
 * 2^shift us, regenerating every client from the window's snapshot. */
static void histogram_range(fast_run *fr, int64_t lo, int64_t hi, int shift)
{
    memset(fr->hist, 0, sizeof(fr->hist));
    for (size_t c = 0; c < fr->n; c++) {
        const fast_pop *fp = &fr->pops[fr->pop_of[c]];
        fast_client cl = fr->snap[c];
        if (!fp->counted)
            continue;
        for (int64_t j = 0; j < fp->limit && cl.next_us < hi; j++) {
            if (cl.next_us >= lo)
                fr->hist[(cl.next_us - lo) >> shift]++;
            advance(fp, &cl, fr->r->end_us);
        }
    }
}

/* Collects counted requests in [lo, hi), one entry per run of a client's
 * requests at the same time.  Returns the number of entries. */
static size_t collect_range(fast_run *fr, int64_t lo, int64_t hi)
{
    size_t used = 0;

    for (size_t c = 0; c < fr->n; c++) {
        const fast_pop *fp = &fr->pops[fr->pop_of[c]];
        fast_client cl = fr->snap[c];
        if (!fp->counted)
            continue;
        for (int64_t j = 0; j < fp->limit && cl.next_us < hi; j++) {
            int64_t t = cl.next_us;
            if (t >= lo) {
                fast_event *last = used > 0 ? &fr->buf[used - 1] : NULL;
                if (last != NULL && last->client == c && last->t_us == t) {
                    last->cnt++;
                } else if (used < fr->buf_cap) {
                    fast_event e = {t, (uint32_t)c, j, 1};
                    fr->buf[used++] = e;
                }
            }
            advance(fp, &cl, fr->r->end_us);
        }
    }
    return used;
}

static int compare_time_client(const void *pa, const void *pb)
{
    const fast_event *a = pa, *b = pb;

    if (a->t_us != b->t_us)
        return a->t_us < b->t_us ? -1 : 1;
    return a->client < b->client ? -1 : (a->client > b->client);
}

/*
 * Finds the time of X, the rank-th counted request of the window, and
 * X's rank among the counted requests at that time (*rank_at).  The bucket
 * histogram from pass 1 is narrowed until the bucket holds at most
 * buf_cap requests or a single microsecond (then one entry per client).
 */
static int64_t locate_x(fast_run *fr, int64_t rank, int shift, int64_t *rank_at)
{
    int64_t lo = fr->ws, hi = fr->we;

    for (;;) {
        int64_t before = 0, in_bucket = 0, width = INT64_C(1) << shift;
        int b = 0;
        while (before + fr->hist[b] < rank)
            before += fr->hist[b++];
        in_bucket = fr->hist[b];
        rank -= before;
        lo += (int64_t)b * width;
        hi = lo + width < hi ? lo + width : hi;
        if ((size_t)in_bucket <= fr->buf_cap || hi - lo == 1)
            break;
        shift = pick_shift(hi - lo);
        histogram_range(fr, lo, hi, shift);
    }

    size_t used = collect_range(fr, lo, hi);
    qsort(fr->buf, used, sizeof(*fr->buf), compare_time_client);
    int64_t before = 0;
    size_t i = 0;
    for (;;) {
        int64_t t = fr->buf[i].t_us, at_t = 0;
        size_t k = i;
        for (; k < used && fr->buf[k].t_us == t; k++)
            at_t += fr->buf[k].cnt;
        if (before + at_t >= rank) {
            *rank_at = rank - before;
            return t;
        }
        before += at_t;
        i = k;
    }
}

/*
 * Sets tally.a for every client: its requests ordered up to and including
 * X, which is the rank_at-th counted request at t_x.  Returns 0, a
 * negative status or SIM_FAST_FALLBACK.
 */
static int count_up_to_x(fast_run *fr, int64_t t_x, int64_t rank_at)
{
    size_t nset = 0, nevents = 0;
    uint32_t *set = NULL;
    fast_event *order = NULL;
    int rc = RL_ERR_NOMEM;

    /* Requests before t_x, and who has requests at t_x. */
    for (size_t c = 0; c < fr->n; c++) {
        const fast_pop *fp = &fr->pops[fr->pop_of[c]];
        fast_client cl = fr->snap[c];
        int64_t before = 0, at = 0;
        for (; fp->counted && cl.next_us <= t_x; advance(fp, &cl, fr->r->end_us)) {
            before += cl.next_us < t_x;
            at += cl.next_us == t_x;
        }
        fr->tally[c].a = before;
        fr->tally[c].at_x = at;
        nset += at > 0;
        nevents += (size_t)at;
    }

    set = malloc(nset * sizeof(*set));
    order = malloc(nevents * sizeof(*order));
    if (set == NULL || order == NULL)
        goto done;
    nset = 0;
    for (size_t c = 0; c < fr->n; c++) {
        if (fr->pops[fr->pop_of[c]].counted && fr->tally[c].at_x > 0)
            set[nset++] = (uint32_t)c;
    }
    rc = resolve_order(fr, set, nset, t_x, order, nevents);
    if (rc < 0 || fr->gave_up)
        goto done;

    /* Walk the order up to X; everything before it stays as decided. */
    int64_t seen = 0;
    for (size_t i = 0; i < (size_t)rc; i++) {
        const fast_pop *fp = &fr->pops[fr->pop_of[order[i].client]];
        fr->tally[order[i].client].a++;
        seen += order[i].j < fp->limit;
        if (seen == rank_at)
            break;
    }
    rc = 0;
done:
    free(set);
    free(order);
    return rc;
}

/*
 * Turns client c's requests after X (from index a on) into global
 * rejections, undoing their speculative tallies.  Returns the time of the
 * client's first global rejection, or SIM_TIME_NONE.
 */
static int64_t correct_client(fast_run *fr, size_t c)
{
    const fast_pop *fp = &fr->pops[fr->pop_of[c]];
    fast_tally *tl = &fr->tally[c];
    sim_result *r = fr->r;
    sim_counts *pc = &r->pops[fr->pop_of[c]].counts;
    int64_t *ok_hours = fp->auth_ok ? r->accepted_per_hour : r->failed_auth_per_hour;
    int64_t a = tl->a, n = tl->n, limit = fp->limit;
    int64_t counted_n = n < limit ? n : limit;
    int64_t first_rej = a < limit ? a : limit, exhausted = SIM_TIME_NONE;
    int64_t stop = a > counted_n - 1 ? a : counted_n - 1;
    fast_client cl = fr->snap[c];

    for (int64_t j = 0; j <= stop && j < n; j++, advance(fp, &cl, r->end_us)) {
        int64_t t = cl.next_us;
        if (j == a)
            exhausted = t;
        if (j == first_rej) {
            tl->first_rej_us = t;
            tl->first_rej_j = j;
        }
        if (j >= a && j < limit) {
            int64_t hour = (t - r->start_us) / RL_US_PER_HOUR;
            ok_hours[hour]--;
            r->rejected_per_hour[hour]++;
            if (fp->auth_ok)
                pc->accepted--;
            else
                pc->failed_auth--;
            pc->rejected_global++;
        }
    }

    int64_t moved = n - (a > limit ? a : limit);
    if (moved > 0) {
        pc->rejected_client -= moved;
        pc->rejected_global += moved;
    }
    tl->rejected = n - (a < limit ? a : limit);
    return exhausted;
}

/* Applies the global total to a window whose counted demand reaches it. */
static int apply_global(fast_run *fr, int shift)
{
    int64_t exhausted = SIM_TIME_NONE;

    if (fr->global_limit > 0) {
        int64_t rank_at = 0;
        int64_t t_x = locate_x(fr, fr->global_limit, shift, &rank_at);
        int rc = count_up_to_x(fr, t_x, rank_at);
        if (rc != 0 || fr->gave_up)
            return rc != 0 ? rc : SIM_FAST_FALLBACK;
    } else {
        for (size_t c = 0; c < fr->n; c++)
            fr->tally[c].a = 0; /* a total of 0 rejects every request */
    }

    for (size_t c = 0; c < fr->n; c++) {
        fast_tally *tl = &fr->tally[c];
        if (!fr->pops[fr->pop_of[c]].counted || tl->a >= tl->n) {
            tl->a = tl->n;
            continue;
        }
        int64_t t = correct_client(fr, c);
        if (exhausted == SIM_TIME_NONE || t < exhausted)
            exhausted = t;
    }
    if (fr->r->global.exhausted_at_us == SIM_TIME_NONE)
        fr->r->global.exhausted_at_us = exhausted;
    return 0;
}

/* ---- folding a window ------------------------------------------------- */

/*
 * Returns 1 when pair (a, fold at fa) is folded before pair (b, fold at fb)
 * by the general path: at the client's next request (earlier first, equal
 * times in queue order), or at the end in client order.  Negative status
 * or 2 when the replay budget ran out.
 */
static int pair_folds_first(fast_run *fr, uint32_t a, int64_t fa, uint32_t b, int64_t fb)
{
    if (fa != fb)
        return fa < fb;
    if (fa == FAST_END)
        return a < b;
    return first_at_time(fr, a, b, fa);
}

static int fold_pairs(fast_run *fr)
{
    sim_result *r = fr->r;

    for (size_t c = 0; c < fr->n; c++) {
        const fast_tally *tl = &fr->tally[c];
        uint32_t pi = fr->pop_of[c];
        sim_pop_result *pr = &r->pops[pi];
        fast_worst *w = &fr->worst[pi];
        if (tl->n == 0)
            continue;

        if (fr->pairs_seen[pi]++ == 0 || tl->n < fr->min_seen[pi])
            fr->min_seen[pi] = tl->n;
        if (tl->n > pr->max_window_usage)
            pr->max_window_usage = tl->n;

        int64_t fold_us = fr->clients[c].next_us;
        /* Among equal counts the earliest fold wins.  Equal request counts
         * are compared too: the kept pair's fold time decides later ties. */
        int better = tl->rejected > w->rejected;
        if (!better && tl->rejected == w->rejected && tl->rejected > 0) {
            better = pair_folds_first(fr, (uint32_t)c, fold_us, w->client, w->fold_us);
            if (better < 0 || better > 1)
                return better < 0 ? better : SIM_FAST_FALLBACK;
        }
        if (better) {
            w->rejected = tl->rejected;
            w->requests = tl->n;
            w->client = (uint32_t)c;
            w->fold_us = fold_us;
        }
    }
    return 0;
}

/* Picks, among clients whose first rejection of the window is at t_us
 * (set, ascending), the one whose rejected request comes first. */
static int first_rejected_of(fast_run *fr, const uint32_t *set, size_t n, int64_t t_us,
                             uint32_t *winner)
{
    size_t max_out = 0;

    if (n == 1) {
        *winner = set[0];
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        max_out += (size_t)(fr->tally[set[i]].n - fr->tally[set[i]].first_rej_j);
    fast_event *order = malloc(max_out * sizeof(*order));
    if (order == NULL)
        return RL_ERR_NOMEM;
    int got = resolve_order(fr, set, n, t_us, order, max_out);
    int rc = got < 0 ? got : (fr->gave_up ? SIM_FAST_FALLBACK : 0);
    for (int i = 0; rc == 0 && i < got; i++) {
        if (order[i].j >= fr->tally[order[i].client].first_rej_j) {
            *winner = order[i].client;
            break;
        }
    }
    free(order);
    return rc;
}

static void client_id(const fast_run *fr, uint32_t c, char *buf, size_t len)
{
    const fast_pop *fp = &fr->pops[fr->pop_of[c]];
    snprintf(buf, len, "%s-%lld", fp->cfg->name, (long long)(c - fp->first_client));
}

/* Sets the first rejection (time and client) of each population that has
 * none yet, and of the run, from this window's tallies. */
static int first_rejections(fast_run *fr)
{
    sim_result *r = fr->r;
    uint32_t *set = fr->set;
    int64_t run_min = SIM_TIME_NONE;
    int rc = 0;

    for (int pi = 0; pi < r->npops; pi++) {
        sim_pop_result *pr = &r->pops[pi];
        size_t lo = fr->pops[pi].first_client, hi = lo + (size_t)pr->clients, n = 0;
        int64_t t_min = SIM_TIME_NONE;
        if (pr->first_rejection_us != SIM_TIME_NONE)
            continue;
        for (size_t c = lo; c < hi; c++) {
            int64_t t = fr->tally[c].first_rej_us;
            if (t != SIM_TIME_NONE && (t_min == SIM_TIME_NONE || t < t_min))
                t_min = t;
        }
        if (t_min == SIM_TIME_NONE)
            continue;
        for (size_t c = lo; c < hi; c++)
            if (fr->tally[c].first_rej_us == t_min)
                set[n++] = (uint32_t)c;
        uint32_t winner = set[0];
        rc = first_rejected_of(fr, set, n, t_min, &winner);
        if (rc != 0)
            return rc;
        pr->first_rejection_us = t_min;
        client_id(fr, winner, pr->first_rejection_client,
                  sizeof(pr->first_rejection_client));
        if (run_min == SIM_TIME_NONE || t_min < run_min)
            run_min = t_min;
    }
    if (r->first_rejection_us != SIM_TIME_NONE || run_min == SIM_TIME_NONE)
        return 0;

    size_t n = 0;
    for (size_t c = 0; c < fr->n; c++)
        if (fr->tally[c].first_rej_us == run_min)
            set[n++] = (uint32_t)c;
    uint32_t winner = set[0];
    rc = first_rejected_of(fr, set, n, run_min, &winner);
    if (rc == 0) {
        r->first_rejection_us = run_min;
        client_id(fr, winner, r->first_rejection_client, sizeof(r->first_rejection_client));
    }
    return rc;
}

/* ---- the run ---------------------------------------------------------- */

/* Decides window `id` (clipped to the run) and folds its tallies. */
static int run_window(fast_run *fr, int64_t id)
{
    sim_result *r = fr->r;
    int64_t ws = rl_window_start_us(&r->window, id), we = rl_window_reset_us(&r->window, id);
    int64_t counted = 0, counted_requests = 0;

    fr->ws = ws > r->start_us ? ws : r->start_us;
    fr->we = we < r->end_us ? we : r->end_us;
    int shift = pick_shift(fr->we - fr->ws);
    memset(fr->hist, 0, sizeof(fr->hist));
    for (size_t c = 0; c < fr->n; c++) {
        counted += pass1_client(fr, c, shift);
        counted_requests += fr->pops[fr->pop_of[c]].counted ? fr->tally[c].n : 0;
    }

    /* The total is reached in this window: find X and correct. */
    int hot = counted_requests > 0 && counted >= fr->global_limit;
    if (hot) {
        int rc = apply_global(fr, shift);
        if (rc != 0)
            return rc;
        counted = fr->global_limit;
    }
    if (counted > r->global.peak_window_usage) {
        r->global.peak_window_usage = counted;
        r->global.peak_window_id = id;
    }

    int rc = fold_pairs(fr);
    if (rc == 0)
        rc = first_rejections(fr);
    return rc;
}

static double headroom_of(int64_t usage, int64_t limit)
{
    if (limit <= 0)
        return NAN;
    return (double)(limit - usage) / (double)limit;
}

/* Derives the statistics that need the whole run, as sim.c's finish(). */
static void run_finish(fast_run *fr)
{
    sim_result *r = fr->r;

    for (int i = 0; i < r->npops; i++) {
        sim_pop_result *pr = &r->pops[i];
        sim_window_stats *w = &pr->per_window;
        sim_counts *t = &r->total;

        t->requests += pr->counts.requests;
        t->accepted += pr->counts.accepted;
        t->rejected_client += pr->counts.rejected_client;
        t->rejected_global += pr->counts.rejected_global;
        t->failed_auth += pr->counts.failed_auth;

        int64_t pairs;
        if (__builtin_mul_overflow(pr->clients, r->n_windows, &pairs))
            pairs = INT64_MAX;
        w->pairs = pairs;
        w->min = fr->pairs_seen[i] < w->pairs ? 0 : fr->min_seen[i];
        w->max = pr->max_window_usage;
        w->mean = (double)pr->counts.requests / (double)w->pairs;
        pr->headroom = headroom_of(pr->max_window_usage, pr->limit);
        pr->worst_window_rejected = fr->worst[i].rejected;
        pr->worst_window_requests = fr->worst[i].requests;
    }
    r->global.headroom = headroom_of(r->global.peak_window_usage, r->global.limit);
    r->fits = r->total.rejected_client == 0 && r->total.rejected_global == 0;
}

/* Runs every window; returns 0, a negative status or SIM_FAST_FALLBACK. */
static int run_windows(fast_run *fr, rl_error *err)
{
    const sim_result *r = fr->r;
    int64_t first = rl_window_id(&r->window, r->start_us);
    int64_t last = rl_window_id(&r->window, r->end_us - 1), requests = 0;

    for (int64_t id = first; id <= last; id++) {
        int rc = run_window(fr, id);
        if (rc != 0)
            return rc;

        /* The same refusal as the general path, which counts as it goes. */
        requests = 0;
        for (int i = 0; i < r->npops; i++)
            requests += r->pops[i].counts.requests;
        if (requests > fr->cfg->max_requests) {
            rl_error_set(err, "%s: scenario '%s' stopped after %lld requests, the "
                              "maximum; check the intervals and jitter, or raise "
                              "the maximum (--max-requests)",
                         fr->sc->path, fr->sc->name, (long long)fr->cfg->max_requests);
            return RL_ERR_RANGE;
        }
    }
    return 0;
}

int sim_fast_run(const sim_scenario *sc, const sim_config *cfg, sim_result *r,
                 rl_error *err)
{
    fast_run fr;
    sim_result saved = *r;
    sim_pop_result *saved_pops = malloc((size_t)r->npops * sizeof(*saved_pops));
    int rc = RL_ERR_NOMEM;

    memset(&fr, 0, sizeof(fr));
    fr.sc = sc;
    fr.cfg = cfg;
    fr.r = r;
    fr.replay_left = -1;
    if (cfg->engine != SIM_ENGINE_FAST) {
        double estimate = estimate_requests(sc);
        fr.replay_left = estimate > (double)FAST_REPLAY_BUDGET ? (int64_t)estimate
                                                               : FAST_REPLAY_BUDGET;
    }

    if (saved_pops != NULL) {
        memcpy(saved_pops, r->pops, (size_t)r->npops * sizeof(*saved_pops));
        rc = run_setup(&fr);
    }
    if (rc == 0)
        rc = run_windows(&fr, err);
    if (rc == 0)
        run_finish(&fr);

    if (rc == SIM_FAST_FALLBACK || rc == RL_ERR_NOMEM) {
        /* Hand the run back untouched. */
        memcpy(r->pops, saved_pops, (size_t)r->npops * sizeof(*saved_pops));
        memset(r->accepted_per_hour, 0, (size_t)r->n_hours * sizeof(int64_t));
        memset(r->rejected_per_hour, 0, (size_t)r->n_hours * sizeof(int64_t));
        memset(r->failed_auth_per_hour, 0, (size_t)r->n_hours * sizeof(int64_t));
        *r = saved;
    }
    if (rc == RL_ERR_NOMEM)
        rl_error_set(err, "%s: out of memory setting up %zu clients for the fast engine",
                     sc->path, fr.n);
    free(saved_pops);
    run_free(&fr);
    return rc;
}
