/*
 * sim_sweep.c: the sweep engine: keys, scenario copies, bisection, tables.
 *
 * Where it sits: `ratelab sweep` parses the options and calls
 * sim_sweep_run(), which calls sim_run() once per (value, seed) and keeps
 * only the few numbers per value that the reports need.
 *
 * What always holds:
 *   - every run works on a private copy of the scenario; the caller's is
 *     never changed;
 *   - each value is evaluated at most once (bisection never revisits one),
 *     and the number of runs never exceeds sim_sweep_planned_runs(), which
 *     sim_sweep_run() compares with max_runs before the first run;
 *   - bisection keeps the invariant "lo and hi are on different sides of
 *     the boundary", so the answer and both neighbours are evaluated
 *     values.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_time.h"
#include "sim_sweep.h"

void sim_sweep_config_init(sim_sweep_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->resolution = 1;
    cfg->mode = SIM_SWEEP_BISECT;
    cfg->runs = 1;
    cfg->max_runs = SIM_SWEEP_DEFAULT_MAX_RUNS;
    sim_config_init(&cfg->sim);
}

const char *sim_sweep_param_name(sim_sweep_param param)
{
    static const char *const names[] = {"limit",    "total",  "count",
                                        "interval", "jitter", "work",
                                        "first_delay", "days"};
    return names[param];
}

/* ---- keys ------------------------------------------------------------- */

static void key_set(sim_sweep_key *key, sim_sweep_param param, int direction,
                    int is_duration, int64_t min_value, int64_t max_value)
{
    key->param = param;
    key->direction = direction;
    key->is_duration = is_duration;
    key->min_value = min_value;
    key->max_value = max_value;
}

static int parse_limit_key(const sim_scenario *sc, const char *name, sim_sweep_key *key,
                           rl_error *err)
{
    if (strcmp(name, "total") == 0) {
        key_set(key, SIM_SWEEP_TOTAL, +1, 0, 0, RL_LIMIT_VALUE_MAX);
        return 0;
    }
    if (strncmp(name, "role.", 5) == 0)
        name += 5;
    key->role = rl_limits_role_index(&sc->limits, name);
    if (key->role < 0) {
        rl_error_set(err, "sweep key '%s': scenario '%s' has no role '%s'; use "
                          "limits.total or limits.ROLE with a role of its [limits]",
                     key->text, sc->name, name);
        return RL_ERR_INVALID;
    }
    key_set(key, SIM_SWEEP_ROLE_LIMIT, +1, 0, 0, RL_LIMIT_VALUE_MAX);
    return 0;
}

/* Sets the key's parameter and range for POP.FIELD. */
static int parse_population_key(const sim_scenario *sc, const char *field,
                                sim_sweep_key *key, rl_error *err)
{
    const sim_population *p = &sc->pops[key->pop];
    int64_t run_us = sc->days * RL_US_PER_DAY;

    if (strcmp(field, "count") == 0)
        key_set(key, SIM_SWEEP_COUNT, -1, 0, 1, SIM_COUNT_MAX);
    else if (strcmp(field, "interval") == 0)
        key_set(key, SIM_SWEEP_INTERVAL, +1, 1, 2 * p->jitter_us + 1, run_us);
    else if (strcmp(field, "jitter") == 0)
        key_set(key, SIM_SWEEP_JITTER, -1, 1, 0, (p->interval_us - 1) / 2);
    else if (strcmp(field, "work") == 0 && p->cadence == SIM_CADENCE_FIXED_DELAY)
        key_set(key, SIM_SWEEP_WORK, +1, 1, 0, run_us);
    else if (strcmp(field, "first_delay") == 0)
        key_set(key, SIM_SWEEP_FIRST_DELAY, 0, 1, 0, run_us - 1);
    else if (strcmp(field, "work") == 0) {
        rl_error_set(err, "sweep key '%s': population '%s' is fixed-rate, and work "
                          "only applies to cadence = fixed-delay",
                     key->text, p->name);
        return RL_ERR_INVALID;
    } else {
        rl_error_set(err, "sweep key '%s': unknown field '%s'; a population has "
                          "count, interval, jitter, work and first_delay",
                     key->text, field);
        return RL_ERR_INVALID;
    }
    return 0;
}

int sim_sweep_key_parse(const sim_scenario *sc, const char *text, sim_sweep_key *key,
                        rl_error *err)
{
    memset(key, 0, sizeof(*key));
    key->pop = -1;
    key->role = -1;
    if (snprintf(key->text, sizeof(key->text), "%s", text) >= (int)sizeof(key->text)) {
        rl_error_set(err, "sweep key '%.40s...' is too long", text);
        return RL_ERR_INVALID;
    }
    if (strcmp(text, "days") == 0) {
        key_set(key, SIM_SWEEP_DAYS, -1, 0, 1, SIM_DAYS_MAX);
        return 0;
    }
    if (strncmp(text, "limits.", 7) == 0)
        return parse_limit_key(sc, text + 7, key, err);

    /* POP.FIELD: population names may contain dots, so split at the last. */
    const char *dot = strrchr(text, '.');
    for (int i = 0; dot != NULL && i < sc->npops; i++) {
        size_t n = (size_t)(dot - text);
        if (strlen(sc->pops[i].name) == n && strncmp(sc->pops[i].name, text, n) == 0) {
            key->pop = i;
            return parse_population_key(sc, dot + 1, key, err);
        }
    }
    rl_error_set(err, "sweep key '%s' is not valid for scenario '%s': use "
                      "limits.ROLE, limits.total, days, or POPULATION.FIELD with a "
                      "population of the scenario (the first is '%s')",
                 text, sc->name, sc->npops > 0 ? sc->pops[0].name : "?");
    return RL_ERR_INVALID;
}

int sim_sweep_format_value(const sim_sweep_key *key, int64_t value, char *buf,
                           size_t len)
{
    if (key->is_duration)
        return rl_duration_format(value, buf, len);
    return snprintf(buf, len, "%lld", (long long)value);
}

/* ---- scenario copies -------------------------------------------------- */

int sim_sweep_scenario_is_random(const sim_scenario *sc)
{
    for (int i = 0; i < sc->npops; i++) {
        const sim_population *p = &sc->pops[i];
        if (p->jitter_us > 0 || p->start == SIM_START_RANDOM ||
            (p->cadence == SIM_CADENCE_FIXED_DELAY && p->work_max_us > p->work_min_us))
            return 1;
    }
    return 0;
}

static void set_limit(rl_limit_value *v, int64_t value)
{
    v->value = value;
    v->source = RL_SOURCE_OPTION;
    snprintf(v->origin, sizeof(v->origin), "sweep");
}

int sim_sweep_apply(const sim_scenario *sc, const sim_sweep_key *key, int64_t value,
                    sim_scenario *copy, rl_error *err)
{
    char text[64];

    *copy = *sc;
    copy->pops = NULL;
    if (value < key->min_value || value > key->max_value) {
        sim_sweep_format_value(key, value, text, sizeof(text));
        rl_error_set(err, "sweep key '%s' = %s is out of range for scenario '%s'",
                     key->text, text, sc->name);
        copy->npops = 0;
        return RL_ERR_RANGE;
    }
    copy->pops = malloc((size_t)sc->npops * sizeof(*copy->pops));
    if (copy->pops == NULL) {
        copy->npops = 0;
        rl_error_set(err, "out of memory copying scenario '%s'", sc->name);
        return RL_ERR_NOMEM;
    }
    memcpy(copy->pops, sc->pops, (size_t)sc->npops * sizeof(*copy->pops));

    sim_population *p = key->pop >= 0 ? &copy->pops[key->pop] : NULL;
    switch (key->param) {
    case SIM_SWEEP_ROLE_LIMIT:
        set_limit(&copy->limits.roles[key->role].per_client, value);
        break;
    case SIM_SWEEP_TOTAL:
        set_limit(&copy->limits.total, value);
        break;
    case SIM_SWEEP_COUNT:
        p->count = value;
        break;
    case SIM_SWEEP_INTERVAL:
        p->interval_us = value;
        break;
    case SIM_SWEEP_JITTER:
        p->jitter_us = value;
        break;
    case SIM_SWEEP_WORK:
        p->work_min_us = value;
        p->work_max_us = value;
        break;
    case SIM_SWEEP_FIRST_DELAY:
        p->first_delay_us = value;
        break;
    case SIM_SWEEP_DAYS:
        copy->days = value;
        break;
    }
    return 0;
}

/* ---- planning --------------------------------------------------------- */

/* Bisection steps to narrow [from, to] to the resolution: ceil(log2(n)). */
static int64_t bisection_steps(int64_t from, int64_t to, int64_t resolution)
{
    uint64_t cells = ((uint64_t)to - (uint64_t)from + (uint64_t)resolution - 1) /
                     (uint64_t)resolution;
    int64_t steps = 0;

    while (cells > 1) {
        cells = (cells + 1) / 2;
        steps++;
    }
    return steps;
}

int64_t sim_sweep_planned_runs(const sim_sweep_config *cfg, int runs_per_point)
{
    uint64_t points;

    if (cfg->mode == SIM_SWEEP_TABLE)
        points = ((uint64_t)cfg->to - (uint64_t)cfg->from) / (uint64_t)cfg->step + 1;
    else
        points = 2 + (uint64_t)bisection_steps(cfg->from, cfg->to, cfg->resolution);
    if (points > (uint64_t)INT64_MAX / (uint64_t)runs_per_point)
        return INT64_MAX;
    return (int64_t)(points * (uint64_t)runs_per_point);
}

static int check_config(const sim_scenario *sc, const sim_sweep_config *cfg,
                        int runs_per_point, rl_error *err)
{
    const sim_sweep_key *key = &cfg->key;
    char lo[64], hi[64];

    sim_sweep_format_value(key, key->min_value, lo, sizeof(lo));
    sim_sweep_format_value(key, key->max_value, hi, sizeof(hi));
    if (cfg->from > cfg->to || cfg->from < key->min_value || cfg->to > key->max_value) {
        rl_error_set(err, "sweep key '%s': the range must lie within %s..%s for "
                          "scenario '%s', with FROM <= TO",
                     key->text, lo, hi, sc->name);
        return RL_ERR_RANGE;
    }
    if (cfg->mode == SIM_SWEEP_BISECT && key->direction == 0) {
        rl_error_set(err, "sweep key '%s' has no order in which the answer changes "
                          "once; give a step (KEY=FROM..TO:STEP) for a table",
                     key->text);
        return RL_ERR_INVALID;
    }
    if ((cfg->mode == SIM_SWEEP_TABLE && cfg->step <= 0) || cfg->resolution <= 0 ||
        cfg->runs < 1 || cfg->runs > SIM_SWEEP_RUNS_MAX) {
        rl_error_set(err, "sweep '%s': the step and resolution must be positive "
                          "and the runs from 1 to %d",
                     key->text, SIM_SWEEP_RUNS_MAX);
        return RL_ERR_INVALID;
    }

    int64_t planned = sim_sweep_planned_runs(cfg, runs_per_point);
    if (planned > cfg->max_runs) {
        sim_sweep_format_value(key, cfg->from, lo, sizeof(lo));
        sim_sweep_format_value(key, cfg->to, hi, sizeof(hi));
        rl_error_set(err, "sweep '%s' over %s..%s would make up to %lld simulator "
                          "runs, more than the maximum of %lld; use a larger step, "
                          "fewer runs per value, or raise --max-runs",
                     key->text, lo, hi, (long long)planned, (long long)cfg->max_runs);
        return RL_ERR_RANGE;
    }
    return 0;
}

/* ---- evaluating one value --------------------------------------------- */

static double lowest_headroom(const sim_result *r)
{
    double lowest = NAN;

    for (int i = 0; i < r->npops; i++)
        if (!isnan(r->pops[i].headroom) && (isnan(lowest) || r->pops[i].headroom < lowest))
            lowest = r->pops[i].headroom;
    return lowest;
}

/* Adds one run's result to the point. */
static void fold_run(sim_sweep_point *pt, const sim_result *r, uint64_t seed)
{
    int64_t rejections = r->total.rejected_client + r->total.rejected_global;
    double headroom = lowest_headroom(r);

    if (pt->runs == 0 || rejections > pt->rejections_max) {
        pt->rejections_max = rejections;
        pt->worst_seed = seed;
    }
    pt->runs++;
    pt->runs_rejecting += !r->fits;
    pt->rejections_mean += (double)rejections;
    if (r->total.requests > pt->requests_max)
        pt->requests_max = r->total.requests;
    for (int i = 0; i < r->npops; i++)
        if (r->pops[i].max_window_usage > pt->peak_client_usage)
            pt->peak_client_usage = r->pops[i].max_window_usage;
    if (r->global.peak_window_usage > pt->peak_global_usage)
        pt->peak_global_usage = r->global.peak_window_usage;
    if (!isnan(headroom) && (isnan(pt->headroom_min) || headroom < pt->headroom_min))
        pt->headroom_min = headroom;
    if (r->first_rejection_us != SIM_TIME_NONE &&
        (pt->first_rejection_us == SIM_TIME_NONE ||
         r->first_rejection_us < pt->first_rejection_us))
        pt->first_rejection_us = r->first_rejection_us;
}

typedef struct sweep_state {
    const sim_scenario *sc;
    const sim_sweep_config *cfg;
    sim_sweep_result *res;
    size_t cap;
} sweep_state;

/* Runs the scenario R times at value and appends the point; its index is
 * the new npoints - 1. */
static int evaluate(sweep_state *st, int64_t value, rl_error *err)
{
    sim_sweep_result *res = st->res;
    sim_scenario copy;
    sim_sweep_point pt;

    if (res->npoints == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        sim_sweep_point *bigger = realloc(res->points, cap * sizeof(*bigger));
        if (bigger == NULL) {
            rl_error_set(err, "out of memory recording the sweep's values");
            return RL_ERR_NOMEM;
        }
        res->points = bigger;
        st->cap = cap;
    }
    int rc = sim_sweep_apply(st->sc, &st->cfg->key, value, &copy, err);
    if (rc < 0)
        return rc;

    memset(&pt, 0, sizeof(pt));
    pt.value = value;
    pt.headroom_min = NAN;
    pt.first_rejection_us = SIM_TIME_NONE;
    for (int i = 0; rc == 0 && i < res->runs_per_point; i++) {
        sim_config run_cfg = st->cfg->sim;
        sim_result *r = NULL;

        run_cfg.override_seed = 1;
        run_cfg.seed = res->base_seed + (uint64_t)i;
        run_cfg.on_request = NULL;
        rc = sim_run(&copy, &run_cfg, &r, err);
        if (rc == 0)
            fold_run(&pt, r, run_cfg.seed);
        sim_result_destroy(r);
        res->total_runs++;
    }
    sim_scenario_free(&copy);
    if (rc < 0)
        return rc;

    pt.rejections_mean /= (double)pt.runs;
    pt.fits = pt.runs_rejecting == 0;
    res->points[res->npoints++] = pt;
    if (st->cfg->on_point != NULL)
        st->cfg->on_point(st->cfg->user, &res->points[res->npoints - 1]);
    return 0;
}

/* ---- modes ------------------------------------------------------------ */

static int run_table(sweep_state *st, rl_error *err)
{
    const sim_sweep_config *cfg = st->cfg;

    st->res->answer = SIM_SWEEP_TABLE_ONLY;
    for (int64_t v = cfg->from; v <= cfg->to; v += cfg->step) {
        int rc = evaluate(st, v, err);
        if (rc < 0)
            return rc;
        if (cfg->to - v < cfg->step)
            break; /* the next value would pass TO (or overflow) */
    }
    return 0;
}

/* Evaluates the ends; returns 1 when the boundary is inside the range. */
static int bisect_ends(sweep_state *st, long *good, long *bad, rl_error *err)
{
    const sim_sweep_config *cfg = st->cfg;
    sim_sweep_result *res = st->res;
    int up = cfg->key.direction > 0;
    int rc;

    /* "Good" is the end where fitting is easiest. */
    if ((rc = evaluate(st, up ? cfg->to : cfg->from, err)) < 0)
        return rc;
    *good = (long)res->npoints - 1;
    if (!res->points[*good].fits || cfg->from == cfg->to) {
        res->answer = res->points[*good].fits ? SIM_SWEEP_ALL_FIT : SIM_SWEEP_NONE_FIT;
        return 0;
    }
    if ((rc = evaluate(st, up ? cfg->from : cfg->to, err)) < 0)
        return rc;
    *bad = (long)res->npoints - 1;
    if (res->points[*bad].fits) {
        res->answer = SIM_SWEEP_ALL_FIT;
        return 0;
    }
    return 1;
}

static int run_bisect(sweep_state *st, rl_error *err)
{
    const sim_sweep_config *cfg = st->cfg;
    sim_sweep_result *res = st->res;
    long good = -1, bad = -1;

    int inside = bisect_ends(st, &good, &bad, err);
    if (inside < 0)
        return inside;
    if (inside == 0 && res->answer == SIM_SWEEP_NONE_FIT) {
        res->reject_index = good;
        res->boundary = res->points[good].value;
        return 0;
    }
    if (inside == 0) {
        res->fit_index = bad >= 0 ? bad : good;
        res->boundary = res->points[res->fit_index].value;
        return 0;
    }

    /* Invariant: points[good] fits, points[bad] rejects. */
    while (llabs(res->points[good].value - res->points[bad].value) > cfg->resolution) {
        int64_t lo = res->points[good].value < res->points[bad].value
                         ? res->points[good].value
                         : res->points[bad].value;
        int64_t width = llabs(res->points[good].value - res->points[bad].value);
        int64_t mid = lo + (width / (2 * cfg->resolution)) * cfg->resolution;
        if (mid == lo)
            mid = lo + cfg->resolution;

        int rc = evaluate(st, mid, err);
        if (rc < 0)
            return rc;
        if (res->points[res->npoints - 1].fits)
            good = (long)res->npoints - 1;
        else
            bad = (long)res->npoints - 1;
    }
    res->answer = SIM_SWEEP_FOUND;
    res->boundary = res->points[good].value;
    res->fit_index = good;
    res->reject_index = bad;
    return 0;
}

static int compare_points(const void *a, const void *b)
{
    const sim_sweep_point *x = a, *y = b;
    return (x->value > y->value) - (x->value < y->value);
}

/* Returns the index of the point with value v, or -1. */
static long find_point(const sim_sweep_result *res, int64_t v)
{
    for (size_t i = 0; i < res->npoints; i++)
        if (res->points[i].value == v)
            return (long)i;
    return -1;
}

/* Sorts the points by value; fit_index and reject_index follow them. */
static void order_points(sim_sweep_result *res)
{
    int64_t fit_value = res->fit_index >= 0 ? res->points[res->fit_index].value : 0;
    int64_t reject_value =
        res->reject_index >= 0 ? res->points[res->reject_index].value : 0;

    qsort(res->points, res->npoints, sizeof(*res->points), compare_points);
    if (res->fit_index >= 0)
        res->fit_index = find_point(res, fit_value);
    if (res->reject_index >= 0)
        res->reject_index = find_point(res, reject_value);
}

int sim_sweep_run(const sim_scenario *sc, const sim_sweep_config *cfg,
                  sim_sweep_result **out, rl_error *err)
{
    sweep_state st = {sc, cfg, NULL, 0};
    int rc;

    *out = NULL;
    st.res = calloc(1, sizeof(*st.res));
    if (st.res == NULL) {
        rl_error_set(err, "out of memory starting the sweep");
        return RL_ERR_NOMEM;
    }
    sim_sweep_result *res = st.res;
    snprintf(res->scenario, sizeof(res->scenario), "%s", sc->name);
    snprintf(res->path, sizeof(res->path), "%s", sc->path);
    res->config = *cfg;
    res->config.on_point = NULL;
    res->config.user = NULL;
    res->base_seed = cfg->sim.override_seed ? cfg->sim.seed : sc->seed;
    res->random = sim_sweep_scenario_is_random(sc);
    res->runs_per_point = res->random ? cfg->runs : 1;
    res->fit_index = -1;
    res->reject_index = -1;

    rc = check_config(sc, cfg, res->runs_per_point, err);
    if (rc == 0)
        rc = cfg->mode == SIM_SWEEP_TABLE ? run_table(&st, err) : run_bisect(&st, err);
    if (rc < 0) {
        sim_sweep_result_destroy(res);
        return rc;
    }
    order_points(res);
    *out = res;
    return 0;
}

void sim_sweep_result_destroy(sim_sweep_result *r)
{
    if (r == NULL)
        return;
    free(r->points);
    free(r);
}
