/*
 * test_sim_fast.c: the simulator's fast path and its parallel runner.
 *
 * What is checked:
 *   - the fast path gives the general path's result, every field, on
 *     randomised scenarios (populations, counts, intervals, jitter, work,
 *     start modes, first_delay, auth, limits that exhaust the global total,
 *     utc-day, offset and short fixed windows, both policies) and on
 *     tie-heavy ones (clients without randomness that start together);
 *   - the fast path runs the shipped scenarios and gives their figures;
 *   - the engine choice: an observer or an unknown setting makes a scenario
 *     ineligible, and --engine fast then fails with exit status 2;
 *   - sim_run_many() and `ratelab sim --threads N` give the same results
 *     and byte-identical JSON for 1 and 4 threads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_time.h"
#include "sim.h"
#include "sim_fast.h"
#include "sim_parallel.h"
#include "sim_rng.h"
#include "sim_scenario.h"
#include "tst_support.h"

#define SCENARIO_DIR RATELAB_SOURCE_DIR "/scenarios"

/* ---- comparing results ------------------------------------------------ */

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof(a)) == 0;
}

static int same_counts(const sim_counts *a, const sim_counts *b)
{
    return a->requests == b->requests && a->accepted == b->accepted &&
           a->rejected_client == b->rejected_client &&
           a->rejected_global == b->rejected_global && a->failed_auth == b->failed_auth;
}

/* Describes the first difference in `why`; returns 1 when equal. */
static int same_pop(const sim_pop_result *a, const sim_pop_result *b, char *why,
                    size_t len)
{
    const char *field = NULL;

    if (strcmp(a->name, b->name) != 0 || strcmp(a->role, b->role) != 0)
        field = "name or role";
    else if (a->clients != b->clients || a->limit != b->limit ||
             memcmp(&a->config, &b->config, sizeof(a->config)) != 0)
        field = "clients, limit or config";
    else if (!same_counts(&a->counts, &b->counts))
        field = "counts";
    else if (a->per_window.pairs != b->per_window.pairs ||
             a->per_window.min != b->per_window.min ||
             a->per_window.max != b->per_window.max ||
             !same_double(a->per_window.mean, b->per_window.mean))
        field = "per_window";
    else if (a->max_window_usage != b->max_window_usage ||
             !same_double(a->headroom, b->headroom))
        field = "max_window_usage or headroom";
    else if (a->first_rejection_us != b->first_rejection_us ||
             strcmp(a->first_rejection_client, b->first_rejection_client) != 0)
        field = "first rejection";
    else if (a->worst_window_rejected != b->worst_window_rejected ||
             a->worst_window_requests != b->worst_window_requests)
        field = "worst window";
    if (field != NULL)
        snprintf(why, len, "population %s: %s differs (first rejection %lld %s vs "
                           "%lld %s; worst %lld/%lld vs %lld/%lld; accepted %lld vs %lld)",
                 a->name, field, (long long)a->first_rejection_us,
                 a->first_rejection_client, (long long)b->first_rejection_us,
                 b->first_rejection_client, (long long)a->worst_window_rejected,
                 (long long)a->worst_window_requests, (long long)b->worst_window_rejected,
                 (long long)b->worst_window_requests, (long long)a->counts.accepted,
                 (long long)b->counts.accepted);
    return field == NULL;
}

static int same_hours(const int64_t *a, const int64_t *b, int64_t n)
{
    return memcmp(a, b, (size_t)n * sizeof(int64_t)) == 0;
}

static int same_global(const sim_global_result *a, const sim_global_result *b)
{
    return a->limit == b->limit && a->peak_window_usage == b->peak_window_usage &&
           a->peak_window_id == b->peak_window_id && same_double(a->headroom, b->headroom) &&
           a->exhausted_at_us == b->exhausted_at_us;
}

static int same_expectations(const sim_result *a, const sim_result *b)
{
    if (a->nexpectations != b->nexpectations || a->expectations_met != b->expectations_met)
        return 0;
    for (int i = 0; i < a->nexpectations; i++) {
        if (a->expectations[i].met != b->expectations[i].met ||
            strcmp(a->expectations[i].explanation, b->expectations[i].explanation) != 0)
            return 0;
    }
    return 1;
}

/* Compares every field of two results; describes the first difference. */
static int same_result(const sim_result *a, const sim_result *b, char *why, size_t len)
{
    const char *field = NULL;

    if (strcmp(a->name, b->name) != 0 || strcmp(a->path, b->path) != 0 ||
        strcmp(a->description, b->description) != 0)
        field = "name, path or description";
    else if (a->start_us != b->start_us || a->end_us != b->end_us || a->days != b->days ||
             a->seed != b->seed || a->policy != b->policy ||
             memcmp(&a->window, &b->window, sizeof(a->window)) != 0 ||
             memcmp(&a->limits, &b->limits, sizeof(a->limits)) != 0 ||
             a->n_windows != b->n_windows || a->npops != b->npops)
        field = "run settings";
    else if (!same_counts(&a->total, &b->total))
        field = "total counts";
    else if (a->first_rejection_us != b->first_rejection_us ||
             strcmp(a->first_rejection_client, b->first_rejection_client) != 0)
        field = "first rejection";
    else if (!same_global(&a->global, &b->global))
        field = "global result";
    else if (a->n_hours != b->n_hours ||
             !same_hours(a->accepted_per_hour, b->accepted_per_hour, a->n_hours) ||
             !same_hours(a->rejected_per_hour, b->rejected_per_hour, a->n_hours) ||
             !same_hours(a->failed_auth_per_hour, b->failed_auth_per_hour, a->n_hours))
        field = "hourly arrays";
    else if (a->fits != b->fits || !same_expectations(a, b))
        field = "verdict or expectations";
    if (field != NULL) {
        snprintf(why, len, "%s differs (first rejection %lld %s vs %lld %s; exhausted "
                           "%lld vs %lld; peak %lld vs %lld)",
                 field, (long long)a->first_rejection_us, a->first_rejection_client,
                 (long long)b->first_rejection_us, b->first_rejection_client,
                 (long long)a->global.exhausted_at_us, (long long)b->global.exhausted_at_us,
                 (long long)a->global.peak_window_usage,
                 (long long)b->global.peak_window_usage);
        return 0;
    }
    for (int i = 0; i < a->npops; i++) {
        if (!same_pop(&a->pops[i], &b->pops[i], why, len))
            return 0;
    }
    return 1;
}

/* Runs sc with both engines; returns 1 when both succeed with equal
 * results, and prints the difference otherwise. */
static int engines_agree(const sim_scenario *sc, const char *label)
{
    sim_config general, fast;
    sim_result *a = NULL, *b = NULL;
    rl_error err_a, err_b;
    char why[512] = "";

    sim_config_init(&general);
    general.engine = SIM_ENGINE_GENERAL;
    sim_config_init(&fast);
    fast.engine = SIM_ENGINE_FAST;
    int rc_a = sim_run(sc, &general, &a, &err_a);
    int rc_b = sim_run(sc, &fast, &b, &err_b);

    int ok = rc_a == 0 && rc_b == 0 && same_result(a, b, why, sizeof(why));
    if (!ok)
        fprintf(stderr, "\n%s: general %d, fast %d (%s): %s\n", label, rc_a, rc_b,
                rc_b < 0 ? err_b.message : "", why);
    sim_result_destroy(a);
    sim_result_destroy(b);
    return ok;
}

/* ---- random scenarios ------------------------------------------------- */

static int64_t pick(sim_rng *rng, int64_t lo, int64_t hi)
{
    return sim_rng_uniform_i64(rng, lo, hi);
}

static void random_window(sim_rng *rng, sim_scenario *sc)
{
    int64_t kind = pick(rng, 0, 9);
    static const int64_t lengths_s[] = {60, 90, 600, 3600, 7 * 3600, 21600};

    if (kind < 5) {
        sc->window = rl_window_utc_day();
    } else if (kind < 7) {
        sc->window = rl_window_utc_day();
        sc->window.utc_offset_s = (int32_t)(pick(rng, -14 * 4, 14 * 4) * 900);
    } else {
        sc->window.kind = RL_WINDOW_FIXED;
        sc->window.utc_offset_s = 0;
        sc->window.length_us = lengths_s[pick(rng, 0, 5)] * RL_US_PER_SEC;
    }
}

static void random_population(sim_rng *rng, sim_population *p, int index, int tie_heavy)
{
    static const int64_t intervals_s[] = {1, 7, 60, 300, 301, 1800, 4319, 4320, 7200};

    snprintf(p->name, sizeof(p->name), "p%d", index);
    p->role_index = (int)pick(rng, 0, 1);
    snprintf(p->role, sizeof(p->role), "%s", p->role_index ? "validator" : "miner");
    p->count = pick(rng, 1, 30);
    p->cadence = pick(rng, 0, 1) ? SIM_CADENCE_FIXED_DELAY : SIM_CADENCE_FIXED_RATE;
    p->interval_us = intervals_s[pick(rng, 2, 8)] * RL_US_PER_SEC;
    if (pick(rng, 0, 3) == 0)
        p->interval_us = pick(rng, 30, 7200) * RL_US_PER_SEC + pick(rng, 0, 999999);
    if (p->count <= 3 && pick(rng, 0, 3) == 0)
        p->interval_us = intervals_s[pick(rng, 0, 1)] * RL_US_PER_SEC;
    if (p->cadence == SIM_CADENCE_FIXED_DELAY) {
        p->work_min_us = pick(rng, 0, 120) * RL_US_PER_SEC;
        p->work_max_us = p->work_min_us + (pick(rng, 0, 1) ? pick(rng, 0, 90) * RL_US_PER_SEC : 0);
    }
    if (!tie_heavy && pick(rng, 0, 2) > 0)
        p->jitter_us = pick(rng, 0, 1) ? pick(rng, 1, 5) : pick(rng, 1, p->interval_us * 3 / 2);
    p->start = (sim_start)pick(rng, 0, 3);
    if (tie_heavy)
        p->start = pick(rng, 0, 1) ? SIM_START_TOGETHER : SIM_START_OFFSET;
    p->start_offset_us = pick(rng, 0, 3) * 300 * RL_US_PER_SEC;
    p->first_delay_us = pick(rng, 0, 1) ? 0 : pick(rng, 0, 3600) * RL_US_PER_SEC;
    p->auth_valid = pick(rng, 0, 4) != 0;
    p->line = index + 1;
}

/* Demand of a population in one day, to size limits near it. */
static double daily_demand(const sim_population *p)
{
    double period = (double)p->interval_us;
    if (p->cadence == SIM_CADENCE_FIXED_DELAY)
        period += (double)(p->work_min_us + p->work_max_us) / 2.0;
    return (double)p->count * (double)RL_US_PER_DAY / period;
}

/* Builds a random scenario in sc (free with sim_scenario_free()). */
static void random_scenario(sim_scenario *sc, uint64_t seed, int tie_heavy)
{
    sim_rng rng;
    double demand = 0.0;

    sim_rng_seed(&rng, seed);
    memset(sc, 0, sizeof(*sc));
    snprintf(sc->path, sizeof(sc->path), "random-%llu.ini", (unsigned long long)seed);
    snprintf(sc->name, sizeof(sc->name), "random-%llu", (unsigned long long)seed);
    sc->start_us = INT64_C(1735689600) * RL_US_PER_SEC;
    if (pick(&rng, 0, 1))
        sc->start_us += pick(&rng, 0, 86399) * RL_US_PER_SEC + pick(&rng, 0, 999999);
    sc->days = pick(&rng, 1, 3);
    sc->seed = (uint64_t)pick(&rng, 0, 1000000);
    sc->policy = pick(&rng, 0, 1) ? RL_POLICY_ATOMIC : RL_POLICY_DEPLOYED;
    rl_limits_init_defaults(&sc->limits);
    random_window(&rng, sc);

    sc->npops = (int)pick(&rng, 1, 3);
    sc->pops = calloc((size_t)sc->npops, sizeof(*sc->pops));
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc->pops);
    for (int i = 0; i < sc->npops; i++) {
        random_population(&rng, &sc->pops[i], i, tie_heavy);
        demand += daily_demand(&sc->pops[i]);
    }

    /* Per-client limits around a client's demand per day, and a total that
     * is often below the day's demand, so it runs out. */
    sc->limits.roles[0].per_client.value = pick(&rng, 0, 1) ? pick(&rng, 0, 40) : 100000;
    sc->limits.roles[1].per_client.value = pick(&rng, 0, 300);
    sc->limits.total.value = (int64_t)(demand * (double)pick(&rng, 0, 150) / 100.0);
    if (pick(&rng, 0, 9) == 0)
        sc->limits.total.value = pick(&rng, 0, 3);
}

/* Random scenarios per run: RATELAB_SIM_FAST_SEEDS, default 400. */
static uint64_t seed_count(void)
{
    const char *text = getenv("RATELAB_SIM_FAST_SEEDS");
    long long n = text != NULL ? atoll(text) : 0;
    return n > 0 ? (uint64_t)n : 400;
}

static void test_random_scenarios_identical(void)
{
    int disagreements = 0;

    for (uint64_t seed = 1; seed <= seed_count(); seed++) {
        sim_scenario sc;
        char label[64];
        random_scenario(&sc, seed, 0);
        snprintf(label, sizeof(label), "random scenario %llu", (unsigned long long)seed);
        disagreements += !engines_agree(&sc, label);
        sim_scenario_free(&sc);
    }
    CU_ASSERT_EQUAL(disagreements, 0);
}

static void test_tie_heavy_scenarios_identical(void)
{
    int disagreements = 0;

    for (uint64_t seed = 100001; seed <= 100000 + seed_count() / 2; seed++) {
        sim_scenario sc;
        char label[64];
        random_scenario(&sc, seed, 1);
        snprintf(label, sizeof(label), "tie-heavy scenario %llu", (unsigned long long)seed);
        disagreements += !engines_agree(&sc, label);
        sim_scenario_free(&sc);
    }
    CU_ASSERT_EQUAL(disagreements, 0);
}

/* ---- shipped scenarios and engine choice ------------------------------ */

static const char *const shipped[] = {
    "five-minute-vs-20.ini",       "five-minute-vs-500.ini",
    "fixed-delay-upload-vs-500.ini", "mainnet-two-hours-vs-100.ini",
    "one-second-short-vs-20.ini",  "seventy-two-minutes-vs-20.ini",
    "total-3472-miners.ini",       "total-3473-miners.ini",
};

static void test_shipped_scenarios_identical(void)
{
    for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++) {
        sim_config cfg;
        char path[512];
        sim_scenario sc;
        rl_error err;
        snprintf(path, sizeof(path), "%s/%s", SCENARIO_DIR, shipped[i]);
        CU_ASSERT_EQUAL_FATAL(sim_scenario_load(&sc, path, &err), 0);
        sim_config_init(&cfg);
        CU_ASSERT(sim_fast_eligible(&sc, &cfg, &err));
        CU_ASSERT_EQUAL(sim_fast_select(&sc, &cfg, &err), SIM_FAST_USE);
        CU_ASSERT(engines_agree(&sc, shipped[i]));
        sim_scenario_free(&sc);
    }
}

static void test_total_3473_exhausts_exactly(void)
{
    sim_scenario sc;
    sim_config cfg;
    sim_result *r = NULL;
    rl_error err;

    CU_ASSERT_EQUAL_FATAL(sim_scenario_load(&sc, SCENARIO_DIR "/total-3473-miners.ini", &err),
                          0);
    sim_config_init(&cfg);
    cfg.engine = SIM_ENGINE_FAST;
    CU_ASSERT_EQUAL_FATAL(sim_run(&sc, &cfg, &r, &err), 0);
    CU_ASSERT_EQUAL(r->total.rejected_global, 224);
    CU_ASSERT_EQUAL(r->global.peak_window_usage, 1000000);
    char when[RL_ISO8601_MAX];
    rl_time_format_iso8601(r->global.exhausted_at_us, when, sizeof(when));
    CU_ASSERT_STRING_EQUAL(when, "2025-01-01T23:59:40.650734Z");
    CU_ASSERT_STRING_EQUAL(r->first_rejection_client, "miners-3249");
    CU_ASSERT(r->expectations_met);
    sim_result_destroy(r);
    sim_scenario_free(&sc);
}

static void count_requests(void *user, const sim_request_info *info)
{
    (void)info;
    (*(int64_t *)user)++;
}

static void test_observer_needs_general_path(void)
{
    sim_scenario sc;
    sim_config cfg;
    sim_result *r = NULL;
    rl_error err;
    int64_t seen = 0;

    CU_ASSERT_EQUAL_FATAL(sim_scenario_load(&sc, SCENARIO_DIR "/five-minute-vs-20.ini", &err),
                          0);
    sim_config_init(&cfg);
    cfg.on_request = count_requests;
    cfg.user = &seen;
    CU_ASSERT_FALSE(sim_fast_eligible(&sc, &cfg, &err));
    CU_ASSERT(tst_contains(err.message, "on_request"));

    /* auto: the general path runs and the observer receives every request. */
    CU_ASSERT_EQUAL_FATAL(sim_run(&sc, &cfg, &r, &err), 0);
    CU_ASSERT_EQUAL(seen, r->total.requests);
    sim_result_destroy(r);

    /* fast: refused with a message naming the reason. */
    cfg.engine = SIM_ENGINE_FAST;
    r = NULL;
    CU_ASSERT_EQUAL(sim_run(&sc, &cfg, &r, &err), RL_ERR_INVALID);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT(tst_contains(err.message, "fast engine"));
    sim_scenario_free(&sc);
}

static void test_shared_names_ineligible(void)
{
    sim_scenario sc;
    sim_config cfg;
    rl_error err;

    random_scenario(&sc, 7, 0);
    sim_config_init(&cfg);
    if (sc.npops < 2) {
        sim_scenario_free(&sc);
        random_scenario(&sc, 8, 0);
    }
    CU_ASSERT_FATAL(sc.npops >= 2);
    snprintf(sc.pops[1].name, sizeof(sc.pops[1].name), "%s", sc.pops[0].name);
    CU_ASSERT_FALSE(sim_fast_eligible(&sc, &cfg, &err));
    CU_ASSERT(tst_contains(err.message, "share a name"));
    CU_ASSERT_EQUAL(sim_fast_select(&sc, &cfg, &err), SIM_FAST_GENERAL);
    sim_scenario_free(&sc);
}

static void test_request_cap_same_error(void)
{
    sim_scenario sc;
    sim_config cfg;
    sim_result *r = NULL;
    rl_error err_general, err_fast;

    CU_ASSERT_EQUAL_FATAL(
        sim_scenario_load(&sc, SCENARIO_DIR "/five-minute-vs-20.ini", &err_general), 0);
    sim_config_init(&cfg);
    sc.pops[0].jitter_us = 400 * RL_US_PER_SEC; /* late loops: more than estimated */
    cfg.max_requests = 290;
    cfg.engine = SIM_ENGINE_GENERAL;
    int rc_general = sim_run(&sc, &cfg, &r, &err_general);
    cfg.engine = SIM_ENGINE_FAST;
    int rc_fast = sim_run(&sc, &cfg, &r, &err_fast);
    CU_ASSERT_EQUAL(rc_general, rc_fast);
    if (rc_general < 0 && rc_fast < 0)
        CU_ASSERT_STRING_EQUAL(err_general.message, err_fast.message);
    sim_scenario_free(&sc);
}

/* ---- threads ---------------------------------------------------------- */

static void test_run_many_thread_counts(void)
{
    enum { N = 24 };
    sim_scenario sc[N];
    sim_result *one[N], *four[N];
    int st_one[N], st_four[N];
    rl_error err_one[N], err_four[N];
    char why[512];

    for (int i = 0; i < N; i++)
        random_scenario(&sc[i], 5000 + (uint64_t)i, i % 3 == 0);
    CU_ASSERT_EQUAL(sim_run_many(sc, N, NULL, 1, one, st_one, err_one), 0);
    CU_ASSERT_EQUAL(sim_run_many(sc, N, NULL, 4, four, st_four, err_four), 0);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(st_one[i], 0);
        CU_ASSERT_EQUAL(st_four[i], 0);
        if (one[i] != NULL && four[i] != NULL)
            CU_ASSERT(same_result(one[i], four[i], why, sizeof(why)));
        sim_result_destroy(one[i]);
        sim_result_destroy(four[i]);
        sim_scenario_free(&sc[i]);
    }
}

static void test_parallel_threads_bounds(void)
{
    CU_ASSERT_EQUAL(sim_parallel_threads(3), 3);
    CU_ASSERT_EQUAL(sim_parallel_threads(1000), SIM_THREADS_MAX);
    CU_ASSERT(sim_parallel_threads(0) >= 1);
}

static void test_cli_threads_identical_json(void)
{
    tst_output one, four;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&one, "sim", "--json", "--threads", "1",
                                      SCENARIO_DIR, NULL),
                          0);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&four, "sim", "--json", "--threads", "4",
                                      SCENARIO_DIR, NULL),
                          0);
    CU_ASSERT_EQUAL(one.status, 0);
    CU_ASSERT_EQUAL(four.status, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one.out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(four.out);
    CU_ASSERT(strlen(one.out) > 1000);
    CU_ASSERT_STRING_EQUAL(one.out, four.out);
    tst_output_free(&one);
    tst_output_free(&four);
}

static void test_cli_engines_identical_json(void)
{
    tst_output general, fast;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&general, "sim", "--json", "--engine", "general",
                                      SCENARIO_DIR, NULL),
                          0);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&fast, "sim", "--json", "--engine", "fast",
                                      SCENARIO_DIR, NULL),
                          0);
    CU_ASSERT_EQUAL(general.status, 0);
    CU_ASSERT_EQUAL(fast.status, 0);
    CU_ASSERT_STRING_EQUAL(general.out, fast.out);
    tst_output_free(&general);
    tst_output_free(&fast);
}

static void test_cli_bad_engine_and_threads(void)
{
    tst_output out;
    const char *scenario = SCENARIO_DIR "/five-minute-vs-20.ini";

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--engine", "turbo", scenario, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "--engine 'turbo'"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--threads", "0", scenario, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "--threads '0'"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--threads", "many", scenario, NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 2);
    tst_output_free(&out);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"random scenarios identical", test_random_scenarios_identical},
        {"tie-heavy scenarios identical", test_tie_heavy_scenarios_identical},
        {"shipped scenarios identical", test_shipped_scenarios_identical},
        {"total 3473 exhausts exactly", test_total_3473_exhausts_exactly},
        {"observer needs general path", test_observer_needs_general_path},
        {"shared names ineligible", test_shared_names_ineligible},
        {"request cap same error", test_request_cap_same_error},
        {"run many thread counts", test_run_many_thread_counts},
        {"parallel threads bounds", test_parallel_threads_bounds},
        {"cli threads identical json", test_cli_threads_identical_json},
        {"cli engines identical json", test_cli_engines_identical_json},
        {"cli bad engine and threads", test_cli_bad_engine_and_threads},
        CU_TEST_INFO_NULL,
    };
    return tst_main("sim_fast", NULL, NULL, tests);
}
