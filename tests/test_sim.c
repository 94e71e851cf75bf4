/*
 * test_sim.c: the simulator, its reports and `ratelab sim`.
 *
 * What is checked:
 *   - the generator and the event queue on their own (known outputs,
 *     bounds, tie order);
 *   - every shipped scenario's figures, exactly, through the library and
 *     through the command's --json output;
 *   - per-window counts of strictly periodic clients against closed-form
 *     floor/ceil arithmetic, for many (interval, phase, window) triples;
 *   - determinism for a seed, and a different seed giving a different run;
 *   - a 429 moving no later request without on_429, and docs/scenarios.md
 *     saying so where the population keys and the cadences are;
 *   - auth-invalid clients under both policies;
 *   - the command's exit codes (0, 1, 2) and directory runs, including
 *     *.ini entries that cannot be used (an error, never skipped).
 *
 * Shipped scenarios are read from the source tree (RATELAB_SOURCE_DIR).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "rl_time.h"
#include "rpt.h"
#include "sim.h"
#include "sim_queue.h"
#include "sim_rng.h"
#include "sim_scenario.h"
#include "tst_support.h"

#define SCENARIO_DIR RATELAB_SOURCE_DIR "/scenarios"

/* ---- generator and queue --------------------------------------------- */

static void test_rng_known_outputs(void)
{
    /* xoshiro256** from state {1, 2, 3, 4}: the first output is
     * rotl(2 * 5, 7) * 9 = 11520; the rest were computed by a separate
     * Python transcription of the algorithm. */
    sim_rng rng = {{1, 2, 3, 4}};
    CU_ASSERT_EQUAL(sim_rng_next(&rng), 11520u);
    CU_ASSERT_EQUAL(sim_rng_next(&rng), 0u);
    CU_ASSERT_EQUAL(sim_rng_next(&rng), 1509978240u);
    CU_ASSERT_EQUAL(sim_rng_next(&rng), 1215971899390074240u);

    /* splitmix64's first output for state 0. */
    uint64_t sm = 0;
    CU_ASSERT_EQUAL(sim_splitmix64_next(&sm), 0xe220a8397b1dcdafULL);
}

static void test_rng_streams_differ(void)
{
    sim_rng a, b, c, a2;

    sim_rng_seed_stream(&a, 1, 0, 1);
    sim_rng_seed_stream(&b, 1, 1, 0);
    sim_rng_seed_stream(&c, 2, 0, 1);
    sim_rng_seed_stream(&a2, 1, 0, 1);
    uint64_t xa = sim_rng_next(&a), xb = sim_rng_next(&b), xc = sim_rng_next(&c);
    CU_ASSERT_NOT_EQUAL(xa, xb);
    CU_ASSERT_NOT_EQUAL(xa, xc);
    CU_ASSERT_EQUAL(xa, sim_rng_next(&a2));
}

static void test_rng_uniform_bounds(void)
{
    sim_rng rng;
    int seen[7] = {0};

    sim_rng_seed(&rng, 42);
    for (int i = 0; i < 7000; i++) {
        int64_t x = sim_rng_uniform_i64(&rng, -3, 3);
        CU_ASSERT_FATAL(x >= -3 && x <= 3);
        seen[x + 3]++;
    }
    for (int i = 0; i < 7; i++) {
        /* 1000 expected per value; 800 is more than six sigma below. */
        CU_ASSERT(seen[i] > 800);
    }
    CU_ASSERT_EQUAL(sim_rng_uniform_i64(&rng, 5, 5), 5);
    int64_t big = sim_rng_uniform_i64(&rng, INT64_MIN, INT64_MAX);
    (void)big; /* the full range must not divide by zero */
}

static void test_queue_orders_time_then_push(void)
{
    sim_queue *q = sim_queue_create(64);
    sim_event ev;
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);

    /* Times 0..9 pushed in a scrambled order, three clients at time 5. */
    int64_t times[] = {7, 5, 3, 9, 5, 0, 1, 8, 5, 2, 6, 4};
    for (uint32_t i = 0; i < 12; i++)
        CU_ASSERT_EQUAL(sim_queue_push(q, times[i], i), 0);
    CU_ASSERT_EQUAL(sim_queue_size(q), 12u);

    int64_t last = -1;
    uint32_t fives[3], nfives = 0;
    while (sim_queue_pop(q, &ev) == 0) {
        CU_ASSERT(ev.time_us >= last);
        last = ev.time_us;
        if (ev.time_us == 5)
            fives[nfives++] = ev.client;
    }
    CU_ASSERT_EQUAL_FATAL(nfives, 3u);
    CU_ASSERT_EQUAL(fives[0], 1u);
    CU_ASSERT_EQUAL(fives[1], 4u);
    CU_ASSERT_EQUAL(fives[2], 8u);
    sim_queue_destroy(q);
    sim_queue_destroy(NULL);
}

static void test_queue_full_is_error(void)
{
    sim_queue *q = sim_queue_create(1);
    sim_event ev;
    CU_ASSERT_EQUAL(sim_queue_push(q, 1, 0), 0);
    CU_ASSERT_EQUAL(sim_queue_push(q, 2, 1), -1);
    CU_ASSERT_EQUAL(sim_queue_pop(q, &ev), 0);
    CU_ASSERT_EQUAL(sim_queue_pop(q, &ev), -1);
    sim_queue_destroy(q);
}

/* ---- shipped scenarios ------------------------------------------------ */

/* The figures of one shipped scenario (its first and only population). */
typedef struct shipped_case {
    const char *file;
    int fits;
    int64_t requests, accepted, rejected_client, rejected_global;
    int64_t window_min, window_max, windows;
    double window_mean;
    double headroom;
    const char *first_rejection; /* NULL: none */
    const char *first_client;
    const char *exhausted_at; /* NULL: never */
    int64_t global_peak;
    int64_t worst_rejected, worst_requests;
} shipped_case;

/* fixed-delay-upload-vs-500 and mainnet-two-hours-vs-100 draw their upload
 * times from their seeds, so their figures pin the generator too. */
static const shipped_case shipped[] = {
    {"five-minute-vs-20.ini", 0, 576, 40, 536, 0, 288, 288, 2, 288.0, -13.4,
     "2025-01-01T01:40:00Z", "miners-0", NULL, 20, 268, 288},
    {"five-minute-vs-500.ini", 1, 288, 288, 0, 0, 288, 288, 1, 288.0, 0.424, NULL, NULL,
     NULL, 288, 0, 0},
    {"fixed-delay-upload-vs-500.ini", 1, 83996, 83996, 0, 0, 238, 242, 7,
     83996.0 / 350.0, 0.516, NULL, NULL, NULL, 12008, 0, 0},
    {"mainnet-two-hours-vs-100.ini", 1, 20649, 20649, 0, 0, 11, 12, 7, 20649.0 / 1792.0,
     0.88, NULL, NULL, NULL, 3072, 0, 0},
    {"one-second-short-vs-20.ini", 0, 601, 600, 1, 0, 20, 21, 30, 601.0 / 30.0, -0.05,
     "2025-01-01T23:59:40Z", "miners-0", NULL, 20, 1, 21},
    {"seventy-two-minutes-vs-20.ini", 1, 140, 140, 0, 0, 20, 20, 7, 20.0, 0.0, NULL,
     NULL, NULL, 20, 0, 0},
    {"total-3472-miners.ini", 1, 999936, 999936, 0, 0, 288, 288, 1, 288.0, 0.424, NULL,
     NULL, NULL, 999936, 0, 0},
    {"total-3473-miners.ini", 0, 1000224, 1000000, 0, 224, 288, 288, 1, 288.0, 0.424,
     "2025-01-01T23:59:40.650734Z", "miners-3249", "2025-01-01T23:59:40.650734Z",
     1000000, 1, 288},
};
#define N_SHIPPED (sizeof(shipped) / sizeof(shipped[0]))

static int64_t parse_time(const char *text)
{
    int64_t t = SIM_TIME_NONE;
    if (text != NULL)
        CU_ASSERT_EQUAL_FATAL(rl_time_parse_iso8601(text, &t, NULL), 0);
    return t;
}

/* Loads and runs a scenario file with the default configuration. */
static sim_result *run_file(const char *path, const sim_config *cfg)
{
    sim_scenario sc;
    sim_result *r = NULL;
    rl_error err;

    if (sim_scenario_load(&sc, path, &err) != 0) {
        fprintf(stderr, "%s\n", err.message);
        return NULL;
    }
    if (sim_run(&sc, cfg, &r, &err) != 0)
        fprintf(stderr, "%s\n", err.message);
    sim_scenario_free(&sc);
    return r;
}

static void check_shipped_result(const shipped_case *c, const sim_result *r)
{
    const sim_pop_result *p = &r->pops[0];

    CU_ASSERT_EQUAL(r->fits, c->fits);
    CU_ASSERT_TRUE(r->expectations_met);
    CU_ASSERT_EQUAL(p->counts.requests, c->requests);
    CU_ASSERT_EQUAL(p->counts.accepted, c->accepted);
    CU_ASSERT_EQUAL(p->counts.rejected_client, c->rejected_client);
    CU_ASSERT_EQUAL(p->counts.rejected_global, c->rejected_global);
    CU_ASSERT_EQUAL(p->counts.failed_auth, 0);
    CU_ASSERT_EQUAL(r->n_windows, c->windows);
    CU_ASSERT_EQUAL(p->per_window.min, c->window_min);
    CU_ASSERT_EQUAL(p->per_window.max, c->window_max);
    CU_ASSERT_EQUAL(p->max_window_usage, c->window_max);
    CU_ASSERT_DOUBLE_EQUAL(p->per_window.mean, c->window_mean, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p->headroom, c->headroom, 1e-12);
    CU_ASSERT_EQUAL(p->first_rejection_us, parse_time(c->first_rejection));
    CU_ASSERT_EQUAL(r->first_rejection_us, parse_time(c->first_rejection));
    if (c->first_client != NULL)
        CU_ASSERT_STRING_EQUAL(r->first_rejection_client, c->first_client);
    CU_ASSERT_EQUAL(r->global.exhausted_at_us, parse_time(c->exhausted_at));
    CU_ASSERT_EQUAL(r->global.peak_window_usage, c->global_peak);
    CU_ASSERT_EQUAL(p->worst_window_rejected, c->worst_rejected);
    CU_ASSERT_EQUAL(p->worst_window_requests, c->worst_requests);

    /* The totals are the one population's, and the hours add up. */
    CU_ASSERT_EQUAL(r->total.requests, c->requests);
    int64_t accepted = 0, rejected = 0;
    for (int64_t h = 0; h < r->n_hours; h++) {
        accepted += r->accepted_per_hour[h];
        rejected += r->rejected_per_hour[h];
    }
    CU_ASSERT_EQUAL(r->n_hours, c->windows * 24);
    CU_ASSERT_EQUAL(accepted, c->accepted);
    CU_ASSERT_EQUAL(rejected, c->rejected_client + c->rejected_global);
}

static void test_shipped_library_figures(void)
{
    for (size_t i = 0; i < N_SHIPPED; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", SCENARIO_DIR, shipped[i].file);
        sim_result *r = run_file(path, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        check_shipped_result(&shipped[i], r);
        sim_result_destroy(r);
    }
}

static void test_five_minute_hourly_split(void)
{
    sim_result *r = run_file(SCENARIO_DIR "/five-minute-vs-20.ini", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);

    /* 00:00-00:55 accepted (12), 01:00-01:35 accepted (8) and 01:40-01:55
     * rejected (4), then nothing until midnight resets the counter. */
    CU_ASSERT_EQUAL(r->accepted_per_hour[0], 12);
    CU_ASSERT_EQUAL(r->rejected_per_hour[0], 0);
    CU_ASSERT_EQUAL(r->accepted_per_hour[1], 8);
    CU_ASSERT_EQUAL(r->rejected_per_hour[1], 4);
    CU_ASSERT_EQUAL(r->accepted_per_hour[2], 0);
    CU_ASSERT_EQUAL(r->rejected_per_hour[2], 12);
    CU_ASSERT_EQUAL(r->accepted_per_hour[24], 12);
    CU_ASSERT_EQUAL(r->accepted_per_hour[25], 8);
    sim_result_destroy(r);
}

static void test_verdict_lines(void)
{
    char line[512];
    sim_result *r = run_file(SCENARIO_DIR "/five-minute-vs-500.ini", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    rpt_text_verdict(r, line, sizeof(line));
    CU_ASSERT_STRING_EQUAL(line, "FITS  five-minute-vs-500: 288 requests/day per miner "
                                 "against 500/day, headroom 42.4 %");
    sim_result_destroy(r);

    r = run_file(SCENARIO_DIR "/five-minute-vs-20.ini", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    rpt_text_verdict(r, line, sizeof(line));
    CU_ASSERT_STRING_EQUAL(line, "REJECTS five-minute-vs-20: first rejection "
                                 "2025-01-01T01:40:00Z (miners-0); 268 of 288 "
                                 "rejected per client-day");
    sim_result_destroy(r);

    r = run_file(SCENARIO_DIR "/total-3473-miners.ini", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    rpt_text_verdict(r, line, sizeof(line));
    CU_ASSERT(tst_contains(line, "total 1000000/day exhausted at "
                                 "2025-01-01T23:59:40.650734Z"));
    sim_result_destroy(r);
}

static void test_headroom_format(void)
{
    char buf[32];

    sim_format_headroom(288, 500, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "42.4 %");
    sim_format_headroom(288, 20, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "-1340.0 %");
    sim_format_headroom(20, 20, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "0.0 %");
    sim_format_headroom(21, 20, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "-5.0 %");
    sim_format_headroom(20, 200000, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "99.9 %"); /* 99.99 % rounded down */
    sim_format_headroom(200001, 200000, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "-0.1 %"); /* -0.0005 % rounded down */
    sim_format_headroom(0, 0, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "n/a");
}

/* The whole text report of one shipped scenario, byte for byte. */
static const char five_minute_vs_20_text[] =
    "REJECTS five-minute-vs-20: first rejection 2025-01-01T01:40:00Z (miners-0); 268 "
    "of "
    "288 rejected per client-day\n"
    "\n"
    "  scenario  five-minute-vs-20 (scenarios/five-minute-vs-20.ini)\n"
    "            5-minute fixed-rate miner against the default 20 requests/day\n"
    "  run       2025-01-01T00:00:00Z to 2025-01-03T00:00:00Z (2 days), window utc-day "
    "(2 windows), policy deployed, seed 1\n"
    "  limits    miner      20/day         scenario "
    "(scenarios/five-minute-vs-20.ini:15)\n"
    "            validator  10000/day      default\n"
    "            total      200000/day     default\n"
    "\n"
    "  population miners: 1 client, role miner, fixed-rate every 5m, start together\n"
    "    requests           576\n"
    "    accepted           40\n"
    "    rejected           536 by the client limit, 0 by the total\n"
    "    per client-day     min 288, mean 288.0, max 288; limit 20/day\n"
    "    headroom           -1340.0 %\n"
    "    first rejection    2025-01-01T01:40:00Z (miners-0)\n"
    "\n"
    "  global    total 200000/day: peak 20 in one window (2025-01-01), headroom 99.9 "
    "%, "
    "never exhausted\n"
    "  expect    4 of 4 met\n"
    "    ok      outcome rejects: met (rejects)\n"
    "    ok      rejections 536: met (536)\n"
    "    ok      first_rejection 2025-01-01T01:40:00Z: met (2025-01-01T01:40:00Z, "
    "miners-0)\n"
    "    ok      global_exhausted none: met (none)\n";

static void test_text_report_golden(void)
{
    tst_output out;

    /* ctest runs the suite in the source tree, so the relative path is the
     * one the report prints. */
    CU_ASSERT_EQUAL_FATAL(
        tst_ratelab(&out, "sim", "scenarios/five-minute-vs-20.ini", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT_STRING_EQUAL(out.out, five_minute_vs_20_text);
    tst_output_free(&out);
}

static void test_expectation_explanations(void)
{
    sim_result *r = run_file(SCENARIO_DIR "/five-minute-vs-500.ini", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);

    int found = 0;
    for (int i = 0; i < r->nexpectations; i++) {
        if (strcmp(r->expectations[i].key, "min_headroom") == 0) {
            CU_ASSERT_STRING_EQUAL(r->expectations[i].explanation,
                                   "min_headroom 42.4 %: met (42.4 %)");
            found = 1;
        }
    }
    CU_ASSERT_TRUE(found);

    /* The same run judged against stricter expectations fails each one. */
    sim_expect strict = {0};
    strict.has_outcome = 1;
    strict.outcome_fits = 0;
    strict.has_min_headroom = 1;
    strict.min_headroom_pct = 42.5;
    strict.has_first_rejection = 1;
    strict.first_rejection_us = 0;
    sim_expect_evaluate(&strict, r);
    CU_ASSERT_EQUAL(r->nexpectations, 3);
    CU_ASSERT_FALSE(r->expectations_met);
    CU_ASSERT_STRING_EQUAL(r->expectations[0].explanation,
                           "outcome rejects: failed (fits)");
    CU_ASSERT_STRING_EQUAL(r->expectations[1].explanation,
                           "min_headroom 42.5 %: failed (42.4 %)");
    CU_ASSERT_STRING_EQUAL(r->expectations[2].explanation,
                           "first_rejection 1970-01-01T00:00:00Z: failed (none)");
    sim_result_destroy(r);
}

/* ---- closed-form cross-check ------------------------------------------ */

#define CF_MAX_CLIENTS 8
#define CF_MAX_WINDOWS 2048

/* Per (client, window) request counts seen by the observer. */
typedef struct window_counts {
    int64_t first_window;
    int64_t n_windows;
    const rl_window *window;
    int64_t counts[CF_MAX_CLIENTS][CF_MAX_WINDOWS];
    int64_t first_us[CF_MAX_CLIENTS]; /* SIM_TIME_NONE until the first request */
    int out_of_range;
} window_counts;

static void count_request(void *user, const sim_request_info *info)
{
    window_counts *wc = user;
    int64_t j = rl_window_id(wc->window, info->time_us) - wc->first_window;

    if (info->client < 0 || info->client >= CF_MAX_CLIENTS || j < 0 ||
        j >= wc->n_windows) {
        wc->out_of_range = 1;
        return;
    }
    wc->counts[info->client][j]++;
    if (wc->first_us[info->client] == SIM_TIME_NONE)
        wc->first_us[info->client] = info->time_us;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return -rl_floor_div(-a, b);
}

/* Number of k >= 0 with base + k * interval in [lo, hi). */
static int64_t periodic_count(int64_t base, int64_t interval, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return 0;
    int64_t first = ceil_div(lo - base, interval);
    int64_t end = ceil_div(hi - base, interval);
    if (first < 0)
        first = 0;
    if (end < 0)
        end = 0;
    return end - first;
}

/* A scenario of `count` fixed-rate clients without jitter and with limits
 * so high that nothing is rejected.  One client starts at `phase`; several
 * are spread over one interval. */
static void periodic_scenario(sim_scenario *sc, sim_population *pop, int64_t start_us,
                              rl_window window, int64_t interval_us, int64_t phase_us,
                              int64_t count)
{
    memset(sc, 0, sizeof(*sc));
    memset(pop, 0, sizeof(*pop));
    snprintf(sc->path, sizeof(sc->path), "closed-form");
    snprintf(sc->name, sizeof(sc->name), "closed-form");
    sc->start_us = start_us;
    sc->days = 2;
    sc->seed = 1;
    rl_limits_init_defaults(&sc->limits);
    int miner = rl_limits_role_index(&sc->limits, "miner");
    sc->limits.roles[miner].per_client.value = RL_LIMIT_VALUE_MAX;
    sc->limits.total.value = RL_LIMIT_VALUE_MAX;
    sc->window = window;
    sc->policy = RL_POLICY_DEPLOYED;

    snprintf(pop->name, sizeof(pop->name), "p");
    snprintf(pop->role, sizeof(pop->role), "miner");
    pop->role_index = miner;
    pop->count = count;
    pop->cadence = SIM_CADENCE_FIXED_RATE;
    pop->interval_us = interval_us;
    pop->start = count == 1 ? SIM_START_OFFSET : SIM_START_SPREAD;
    pop->start_offset_us = phase_us;
    pop->auth_valid = 1;
    sc->pops = pop;
    sc->npops = 1;
}

/* Runs one (interval, phase, window) case and compares every count. */
static void check_periodic_case(int64_t start_us, const char *window_text,
                                int64_t interval_us, int64_t phase_us, int64_t count)
{
    static window_counts wc;
    sim_scenario sc;
    sim_population pop;
    sim_config cfg;
    sim_result *r = NULL;
    rl_window window;
    rl_error err;

    CU_ASSERT_EQUAL_FATAL(rl_window_parse(window_text, &window, &err), 0);
    periodic_scenario(&sc, &pop, start_us, window, interval_us, phase_us, count);
    int64_t end_us = start_us + sc.days * RL_US_PER_DAY;

    memset(&wc, 0, sizeof(wc));
    wc.window = &window;
    wc.first_window = rl_window_id(&window, start_us);
    wc.n_windows = rl_window_id(&window, end_us - 1) - wc.first_window + 1;
    for (int i = 0; i < CF_MAX_CLIENTS; i++)
        wc.first_us[i] = SIM_TIME_NONE;
    CU_ASSERT_FATAL(wc.n_windows <= CF_MAX_WINDOWS);
    sim_config_init(&cfg);
    cfg.on_request = count_request;
    cfg.user = &wc;
    CU_ASSERT_EQUAL_FATAL(sim_run(&sc, &cfg, &r, &err), 0);
    CU_ASSERT_FALSE(wc.out_of_range);

    int64_t min = INT64_MAX, max = 0, total = 0, mismatches = 0;
    for (int64_t i = 0; i < count; i++) {
        int64_t base = start_us + (count == 1 ? phase_us : i * interval_us / count);
        CU_ASSERT_EQUAL(wc.first_us[i], base);
        for (int64_t j = 0; j < wc.n_windows; j++) {
            int64_t id = wc.first_window + j;
            int64_t lo = rl_window_start_us(&window, id);
            int64_t hi = rl_window_reset_us(&window, id);
            int64_t expected =
                periodic_count(base, interval_us, lo < start_us ? start_us : lo,
                               hi > end_us ? end_us : hi);
            mismatches += wc.counts[i][j] != expected;
            min = expected < min ? expected : min;
            max = expected > max ? expected : max;
            total += expected;
        }
    }
    if (mismatches != 0)
        fprintf(stderr,
                "\nclosed form: window %s interval %lld us phase %lld us: %lld "
                "windows differ\n",
                window_text, (long long)interval_us, (long long)phase_us,
                (long long)mismatches);
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT_EQUAL(r->pops[0].counts.requests, total);
    CU_ASSERT_EQUAL(r->pops[0].per_window.min, min);
    CU_ASSERT_EQUAL(r->pops[0].per_window.max, max);
    CU_ASSERT_EQUAL(r->pops[0].per_window.pairs, count * wc.n_windows);
    CU_ASSERT_DOUBLE_EQUAL(r->pops[0].per_window.mean,
                           (double)total / (double)(count * wc.n_windows), 1e-9);
    CU_ASSERT_TRUE(r->fits);
    sim_result_destroy(r);
}

static const char *const cf_windows[] = {"utc-day", "utc+05:30", "1h",
                                         "90m",     "7m",        "86399s"};
static const int64_t cf_intervals[] = {
    RL_US_PER_MIN,
    5 * RL_US_PER_MIN,
    7 * RL_US_PER_MIN + 13 * RL_US_PER_SEC,
    4319 * RL_US_PER_SEC,
    72 * RL_US_PER_MIN,
    2 * RL_US_PER_HOUR,
    197 * RL_US_PER_MIN + 1,
    25 * RL_US_PER_HOUR,
};

static void test_periodic_matches_closed_form(void)
{
    int64_t midnight = 0, odd = 0;
    CU_ASSERT_EQUAL_FATAL(
        rl_time_parse_iso8601("2025-01-01T00:00:00Z", &midnight, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(rl_time_parse_iso8601("2025-03-09T05:17:23.5Z", &odd, NULL),
                          0);
    int64_t starts[] = {midnight, odd};

    for (size_t s = 0; s < 2; s++) {
        for (size_t w = 0; w < sizeof(cf_windows) / sizeof(cf_windows[0]); w++) {
            for (size_t i = 0; i < sizeof(cf_intervals) / sizeof(cf_intervals[0]);
                 i++) {
                int64_t interval = cf_intervals[i];
                int64_t phases[] = {0, 1, 59 * RL_US_PER_SEC, interval - 1,
                                    13 * RL_US_PER_HOUR + 7};
                for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++)
                    check_periodic_case(starts[s], cf_windows[w], interval, phases[p],
                                        1);
            }
        }
    }
}

static void test_spread_matches_closed_form(void)
{
    int64_t start = 0;
    CU_ASSERT_EQUAL_FATAL(rl_time_parse_iso8601("2025-06-30T22:00:00Z", &start, NULL),
                          0);

    for (size_t w = 0; w < sizeof(cf_windows) / sizeof(cf_windows[0]); w++) {
        check_periodic_case(start, cf_windows[w], 4319 * RL_US_PER_SEC, 0, 7);
        check_periodic_case(start, cf_windows[w], 5 * RL_US_PER_MIN + 3, 0, 8);
    }
}

/* ---- determinism -------------------------------------------------------- */

static const char jitter_scenario[] = "[scenario]\n"
                                      "days = 3\n"
                                      "seed = 11\n"
                                      "[limits]\n"
                                      "miner = 300\n"
                                      "[population miners]\n"
                                      "count = 20\n"
                                      "interval = 5m\n"
                                      "jitter = 1m\n"
                                      "start = random\n"
                                      "[population uploaders]\n"
                                      "count = 5\n"
                                      "cadence = fixed-delay\n"
                                      "interval = 5m\n"
                                      "work = 10s..2m\n";

/* FNV-1a over (population, client, time) of every request, per population. */
typedef struct request_hash {
    uint64_t h[2];
    int64_t n;
} request_hash;

static void fnv_mix(uint64_t *h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        *h ^= (v >> (8 * i)) & 0xff;
        *h *= 0x100000001b3ULL;
    }
}

static void hash_request(void *user, const sim_request_info *info)
{
    request_hash *rh = user;
    uint64_t *h = &rh->h[info->pop == 0 ? 0 : 1];

    fnv_mix(h, (uint64_t)info->client);
    fnv_mix(h, (uint64_t)info->time_us);
    rh->n++;
}

static request_hash hash_run(const char *path, int override_seed, uint64_t seed)
{
    request_hash rh = {{0xcbf29ce484222325ULL, 0xcbf29ce484222325ULL}, 0};
    sim_config cfg;

    sim_config_init(&cfg);
    cfg.on_request = hash_request;
    cfg.user = &rh;
    cfg.override_seed = override_seed;
    cfg.seed = seed;
    sim_result *r = run_file(path, &cfg);
    CU_ASSERT_PTR_NOT_NULL(r);
    sim_result_destroy(r);
    return rh;
}

static void test_same_seed_same_run(void)
{
    const char *dir = tst_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *path = tst_write_file(dir, "jitter.ini", jitter_scenario);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);

    request_hash a = hash_run(path, 0, 0);
    request_hash b = hash_run(path, 0, 0);
    request_hash c = hash_run(path, 1, 12);
    CU_ASSERT(a.n > 20000);
    CU_ASSERT_EQUAL(a.h[0], b.h[0]);
    CU_ASSERT_EQUAL(a.h[1], b.h[1]);
    CU_ASSERT_EQUAL(a.n, b.n);
    CU_ASSERT_NOT_EQUAL(a.h[0], c.h[0]);
    CU_ASSERT_NOT_EQUAL(a.h[1], c.h[1]);
    free(path);
}

/* A rejection moves no later request of a client without on_429: the
 * same fixed-delay loop under a limit of 5 and of 100000 makes the same
 * requests at the same times. */
static void test_rejections_keep_cadence(void)
{
    static const char loop[] = "[limits]\nminer = %s\n"
                               "[population miners]\ncount = 3\ncadence = fixed-delay\n"
                               "interval = 5m\nwork = 1m..3m\njitter = 30s\n";
    const char *limits[] = {"5", "100000"};
    request_hash rh[2];
    int64_t rejected[2];
    const char *dir = tst_tmpdir();

    for (int i = 0; i < 2; i++) {
        char text[256];
        sim_config cfg;
        snprintf(text, sizeof(text), loop, limits[i]);
        char *path = tst_write_file(dir, "loop.ini", text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(path);
        rh[i] = (request_hash){{0xcbf29ce484222325ULL, 0xcbf29ce484222325ULL}, 0};
        sim_config_init(&cfg);
        cfg.on_request = hash_request;
        cfg.user = &rh[i];
        sim_result *r = run_file(path, &cfg);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        rejected[i] = r->total.rejected_client;
        sim_result_destroy(r);
        free(path);
    }
    CU_ASSERT(rejected[0] > 0);
    CU_ASSERT_EQUAL(rejected[1], 0);
    CU_ASSERT_EQUAL(rh[0].n, rh[1].n);
    CU_ASSERT_EQUAL(rh[0].h[0], rh[1].h[0]);
}

/* Returns the text of docs/scenarios.md; the caller frees it. */
static char *read_scenarios_doc(void)
{
    FILE *f = fopen(RATELAB_SOURCE_DIR "/docs/scenarios.md", "r");
    char *text = f != NULL ? calloc(1, 1 << 20) : NULL;

    if (text != NULL && fread(text, 1, (1 << 20) - 1, f) == 0) {
        free(text);
        text = NULL;
    }
    if (f != NULL)
        fclose(f);
    return text;
}

/* Operators modelling real clients read the population keys and the
 * cadence formulas, so both places say what a client does after a 429. */
static void test_scenario_doc_states_429_behaviour(void)
{
    char *doc = read_scenarios_doc();
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);

    const char *keys = strstr(doc, "## `[population NAME]`");
    const char *formulas = strstr(doc, "- **fixed-delay**: `t_(k+1)");
    const char *after = strstr(doc, "## `[server]`");
    CU_ASSERT_PTR_NOT_NULL_FATAL(keys);
    CU_ASSERT_PTR_NOT_NULL_FATAL(formulas);
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);

    const char *note = strstr(keys, "**After a 429 a client keeps its cadence.**");
    CU_ASSERT(note != NULL && note < formulas);
    const char *link = strstr(formulas, "realism.md#reacting-to-a-429-on_429");
    CU_ASSERT(link != NULL && link < after);
    const char *moves = strstr(formulas, "a 429 moves no\nlater request");
    CU_ASSERT(moves != NULL && moves < after);
    free(doc);
}

static void test_streams_independent_of_others(void)
{
    const char *dir = tst_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);

    /* The first population alone: the same draws as next to the second,
     * because each client's stream depends only on (seed, population,
     * client), not on the order events of other clients are processed. */
    char alone[sizeof(jitter_scenario)];
    snprintf(alone, sizeof(alone), "%s", jitter_scenario);
    *strstr(alone, "[population uploaders]") = '\0';
    char *both_path = tst_write_file(dir, "both.ini", jitter_scenario);
    char *alone_path = tst_write_file(dir, "alone.ini", alone);
    CU_ASSERT_PTR_NOT_NULL_FATAL(both_path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(alone_path);

    request_hash both = hash_run(both_path, 0, 0);
    request_hash one = hash_run(alone_path, 0, 0);
    CU_ASSERT_EQUAL(both.h[0], one.h[0]);
    CU_ASSERT(both.n > one.n);
    free(both_path);
    free(alone_path);
}

/* ---- authentication ----------------------------------------------------- */

static const char auth_scenario[] = "[limits]\n"
                                    "miner = 20\n"
                                    "[population spenders]\n"
                                    "interval = 5m\n"
                                    "auth = invalid\n";

static void test_auth_invalid_policies(void)
{
    const char *dir = tst_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *path = tst_write_file(dir, "auth.ini", auth_scenario);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    sim_config cfg;
    sim_config_init(&cfg);

    /* Deployed: the limit is checked first, so the first 20 are admitted
     * (and fail authentication) and the other 268 are rejected. */
    sim_result *r = run_file(path, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->pops[0].counts.requests, 288);
    CU_ASSERT_EQUAL(r->pops[0].counts.accepted, 0);
    CU_ASSERT_EQUAL(r->pops[0].counts.failed_auth, 20);
    CU_ASSERT_EQUAL(r->pops[0].counts.rejected_client, 268);
    CU_ASSERT_EQUAL(r->global.peak_window_usage, 20);
    CU_ASSERT_FALSE(r->fits);
    sim_result_destroy(r);

    /* Atomic: authentication first, nothing is consumed or rejected. */
    cfg.override_policy = 1;
    cfg.policy = RL_POLICY_ATOMIC;
    r = run_file(path, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->policy, RL_POLICY_ATOMIC);
    CU_ASSERT_EQUAL(r->pops[0].counts.failed_auth, 288);
    CU_ASSERT_EQUAL(r->pops[0].counts.rejected_client, 0);
    CU_ASSERT_EQUAL(r->global.peak_window_usage, 0);
    CU_ASSERT_TRUE(r->fits);
    sim_result_destroy(r);
    free(path);
}

static void test_request_cap_refuses_run(void)
{
    sim_scenario sc;
    sim_population pop;
    sim_config cfg;
    sim_result *r = NULL;
    rl_error err;

    periodic_scenario(&sc, &pop, 0, rl_window_utc_day(), RL_US_PER_SEC, 0, 1);
    sim_config_init(&cfg);
    cfg.max_requests = 1000; /* two days at 1/s are 172800 requests */
    CU_ASSERT_EQUAL(sim_run(&sc, &cfg, &r, &err), RL_ERR_RANGE);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT(tst_contains(err.message, "--max-requests"));
}

static void test_invalid_population_rejected(void)
{
    sim_scenario sc;
    sim_population pop;
    sim_result *r = NULL;
    rl_error err;

    /* Scenarios built in code skip the parser's checks: the simulator
     * checks what it depends on itself. */
    periodic_scenario(&sc, &pop, 0, rl_window_utc_day(), 0, 0, 1);
    CU_ASSERT_EQUAL(sim_run(&sc, NULL, &r, &err), RL_ERR_INVALID);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT(tst_contains(err.message, "interval must be positive"));

    periodic_scenario(&sc, &pop, 0, rl_window_utc_day(), RL_US_PER_MIN, 0, 1);
    pop.role_index = RL_MAX_ROLES;
    CU_ASSERT_EQUAL(sim_run(&sc, NULL, &r, &err), RL_ERR_INVALID);
    CU_ASSERT(tst_contains(err.message, "role is not in the limits"));

    periodic_scenario(&sc, &pop, 0, rl_window_utc_day(), RL_US_PER_MIN, 0, 1);
    sc.npops = 0;
    CU_ASSERT_EQUAL(sim_run(&sc, NULL, &r, &err), RL_ERR_INVALID);
    CU_ASSERT(tst_contains(err.message, "no [population NAME] section"));
}

/* ---- the command -------------------------------------------------------- */

static int64_t json_int(json_t *obj, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(obj, key));
}

/* Compares a JSON time (string or null) with an expected one (NULL: null). */
static void check_json_time(json_t *value, const char *expected)
{
    if (expected == NULL) {
        CU_ASSERT_TRUE(json_is_null(value));
    } else {
        CU_ASSERT_TRUE_FATAL(json_is_string(value));
        CU_ASSERT_STRING_EQUAL(json_string_value(value), expected);
    }
}

static void check_shipped_json(const shipped_case *c, json_t *s)
{
    json_t *p = json_array_get(json_object_get(s, "populations"), 0);
    json_t *per_window = json_object_get(p, "per_window");
    json_t *global = json_object_get(s, "global");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);

    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s, "verdict")),
                           c->fits ? "fits" : "rejects");
    CU_ASSERT_TRUE(json_is_true(json_object_get(s, "expectations_met")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "name")), "miners");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "role")), "miner");
    CU_ASSERT_EQUAL(json_int(p, "requests"), c->requests);
    CU_ASSERT_EQUAL(json_int(p, "accepted"), c->accepted);
    CU_ASSERT_EQUAL(json_int(p, "rejected_client"), c->rejected_client);
    CU_ASSERT_EQUAL(json_int(p, "rejected_global"), c->rejected_global);
    CU_ASSERT_EQUAL(json_int(p, "max_window_usage"), c->window_max);
    CU_ASSERT_EQUAL(json_int(per_window, "min"), c->window_min);
    CU_ASSERT_EQUAL(json_int(per_window, "max"), c->window_max);
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(per_window, "mean")),
                           c->window_mean, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(p, "headroom")),
                           c->headroom, 1e-9);
    check_json_time(json_object_get(p, "first_rejection"), c->first_rejection);
    check_json_time(json_object_get(global, "exhausted_at"), c->exhausted_at);
    CU_ASSERT_EQUAL(json_int(global, "peak_window_usage"), c->global_peak);
}

static void test_cli_json_shipped_figures(void)
{
    tst_output out;
    json_error_t jerr;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--json", SCENARIO_DIR, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    json_t *doc = json_loads(out.out, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(json_int(doc, "schema_version"), 1);

    /* The directory's files run sorted by name: the table's order. */
    json_t *list = json_object_get(doc, "scenarios");
    CU_ASSERT_EQUAL_FATAL(json_array_size(list), N_SHIPPED);
    for (size_t i = 0; i < N_SHIPPED; i++) {
        json_t *s = json_array_get(list, i);
        char name[128];
        snprintf(name, sizeof(name), "%s", shipped[i].file);
        *strstr(name, ".ini") = '\0';
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s, "name")), name);
        check_shipped_json(&shipped[i], s);
    }
    json_decref(doc);
    tst_output_free(&out);
}

static void test_cli_text_directory_run(void)
{
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", SCENARIO_DIR "/", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out,
                           "FITS  five-minute-vs-500: 288 requests/day per miner "
                           "against 500/day, headroom 42.4 %\n"));
    CU_ASSERT(tst_contains(out.out, "REJECTS five-minute-vs-20: first rejection "
                                    "2025-01-01T01:40:00Z (miners-0); 268 of 288 "
                                    "rejected per client-day\n"));
    CU_ASSERT(tst_contains(out.out, "headroom           -1340.0 %\n"));
    CU_ASSERT(tst_contains(out.out, "8 scenarios: 5 fit, 3 reject; expectations met in "
                                    "8 of 8\n"));
    CU_ASSERT_STRING_EQUAL(out.err, "");
    tst_output_free(&out);
}

static void test_cli_json_deterministic(void)
{
    const char *dir = tst_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *path = tst_write_file(dir, "jitter.ini", jitter_scenario);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    tst_output a, b, c;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&a, "sim", "--json", path, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&b, "sim", "--json", path, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&c, "sim", "--json", "--seed", "12", path, NULL),
                          0);
    CU_ASSERT_EQUAL(a.status, 0);
    CU_ASSERT_EQUAL(c.status, 0);
    CU_ASSERT(strlen(a.out) > 100);
    CU_ASSERT_STRING_EQUAL(a.out, b.out);
    CU_ASSERT(strcmp(a.out, c.out) != 0);
    CU_ASSERT(tst_contains(c.out, "\"seed\": 12,"));
    tst_output_free(&a);
    tst_output_free(&b);
    tst_output_free(&c);
    free(path);
}

static void test_cli_failed_expectation_exit_1(void)
{
    const char *dir = tst_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *path = tst_write_file(dir, "wrong.ini",
                                "[limits]\nminer = 20\n[population miners]\n"
                                "interval = 5m\n[expect]\noutcome = fits\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", path, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 1);
    CU_ASSERT(tst_contains(out.out, "FAILED  outcome fits: failed (rejects)"));
    tst_output_free(&out);

    /* A passing file next to it does not hide the failure. */
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--json",
                                      SCENARIO_DIR "/five-minute-vs-500.ini", path,
                                      NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 1);
    CU_ASSERT(tst_contains(out.out, "\"expectations_met\": false"));
    CU_ASSERT(tst_contains(out.out, "\"expectations_met\": true"));
    tst_output_free(&out);
    free(path);
}

static void test_cli_bad_input_exit_2(void)
{
    const char *dir = tst_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *bad =
        tst_write_file(dir, "bad.ini", "[population miners]\ninterval = 5 min\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    tst_output out;

    /* A bad file stops everything before any report, with file:line. */
    CU_ASSERT_EQUAL_FATAL(
        tst_ratelab(&out, "sim", SCENARIO_DIR "/five-minute-vs-500.ini", bad, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "bad.ini:2:"));
    CU_ASSERT_STRING_EQUAL(out.out, "");
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "/nonexistent/x.ini", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "/nonexistent/x.ini"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "no scenario given"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--policy", "lenient", bad, NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "--policy 'lenient'"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--seed", "-1", bad, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--frobnicate", bad, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "unknown option '--frobnicate'"));
    tst_output_free(&out);

    /* A run too large for --max-requests is refused, not started. */
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--max-requests", "100",
                                      SCENARIO_DIR "/five-minute-vs-500.ini", NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "more than the maximum of 100"));
    tst_output_free(&out);
    free(bad);
}

static void test_cli_directory_selection(void)
{
    const char *tmp = tst_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    char dir[300], sub[320];
    snprintf(dir, sizeof(dir), "%s", tmp);
    snprintf(sub, sizeof(sub), "%s/deploy", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0755), 0);

    const char *ok = "[population miners]\ninterval = 72m\n";
    char *files[] = {
        tst_write_file(dir, "b.ini", ok),       tst_write_file(dir, "a.ini", ok),
        tst_write_file(dir, "notes.txt", "x"),  tst_write_file(dir, ".hidden.ini", "x"),
        tst_write_file(sub, "c.ini", "broken"),
    };
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT_PTR_NOT_NULL_FATAL(files[i]);

    tst_output out;
    json_error_t jerr;
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--json", dir, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    json_t *doc = json_loads(out.out, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *list = json_object_get(doc, "scenarios");
    CU_ASSERT_EQUAL_FATAL(json_array_size(list), 2);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_array_get(list, 0), "name")), "a");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_array_get(list, 1), "name")), "b");
    json_decref(doc);
    tst_output_free(&out);

    /* Named directly, the subdirectory is a scenario directory of its own:
     * its broken c.ini is bad input.  An empty directory is too. */
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", sub, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "c.ini"));
    tst_output_free(&out);
    char empty[340];
    snprintf(empty, sizeof(empty), "%s/empty", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(empty, 0755), 0);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", empty, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "no scenario files (*.ini) in directory"));
    tst_output_free(&out);
    for (size_t i = 0; i < 5; i++)
        free(files[i]);
}

/* Runs `ratelab sim DIR` and `ratelab check --env ENV DIR` and checks that
 * both stop with exit status 2 and a message naming `entry`. */
static void check_unusable_entry(const char *dir, const char *env, const char *entry,
                                 const char *reason)
{
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", dir, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, entry));
    CU_ASSERT(tst_contains(out.err, reason));
    CU_ASSERT_STRING_EQUAL(out.out, "");
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "check", "--env", env, dir, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, entry));
    CU_ASSERT(tst_contains(out.err, reason));
    tst_output_free(&out);
}

static void test_cli_directory_unusable_entries(void)
{
    const char *tmp = tst_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    char dir[300], path[400];
    snprintf(dir, sizeof(dir), "%s/unusable", tmp);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    char *ok = tst_write_file(dir, "a.ini", "[population miners]\ninterval = 72m\n");
    char *env = tst_write_file(tmp, "deploy.env", "DAILY_LIMIT_PER_MINER=20\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ok);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);

    /* A dangling symbolic link named *.ini. */
    snprintf(path, sizeof(path), "%s/dangling.ini", dir);
    CU_ASSERT_EQUAL_FATAL(symlink("no-such-target.ini", path), 0);
    check_unusable_entry(dir, env, "dangling.ini", "symbolic link");
    CU_ASSERT_EQUAL_FATAL(unlink(path), 0);

    /* A directory named *.ini. */
    snprintf(path, sizeof(path), "%s/folder.ini", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
    check_unusable_entry(dir, env, "folder.ini", "a directory");
    CU_ASSERT_EQUAL_FATAL(rmdir(path), 0);

    /* A FIFO named *.ini, which would block a read. */
    snprintf(path, sizeof(path), "%s/pipe.ini", dir);
    CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0644), 0);
    check_unusable_entry(dir, env, "pipe.ini", "FIFO");
    /* Named directly, too. */
    tst_output out;
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", path, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "pipe.ini"));
    tst_output_free(&out);
    CU_ASSERT_EQUAL_FATAL(unlink(path), 0);

    /* An entry whose path is longer than a scenario path may be: nested
     * directories make the directory itself long enough. */
    char deep[SIM_PATH_MAX + 64];
    size_t used = (size_t)snprintf(deep, sizeof(deep), "%s", dir);
    while (used < SIM_PATH_MAX - 60) {
        used += (size_t)snprintf(deep + used, sizeof(deep) - used, "/%s",
                                 "nested-directory-of-scenarios");
        CU_ASSERT_EQUAL_FATAL(mkdir(deep, 0755), 0);
    }
    char *far = tst_write_file(deep, "a-scenario-whose-name-makes-the-path-too-long.ini",
                               "[population miners]\ninterval = 72m\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(far);
    check_unusable_entry(deep, env, "a-scenario-whose-name-makes-the-path-too-long.ini",
                         "too long");

    /* With the bad entries gone, the directory runs. */
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", dir, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    tst_output_free(&out);
    free(far);
    free(ok);
    free(env);
}

/* A single-valued option given twice with different values, or two
 * conflicting options, is a usage error naming both; the same value twice
 * is accepted. */
static void test_cli_repeated_options(void)
{
    static const struct {
        const char *args[16];
        const char *fragment; /* NULL: accepted */
    } cases[] = {
        {{"sim", "--policy", "atomic", "--policy", "gcra", "S", NULL},
         "--policy given twice with different values, 'atomic' and 'gcra'"},
        {{"sim", "--format", "md", "--json", "S", NULL}, "--format md and --json conflict"},
        {{"sim", "--json", "--format", "csv", "S", NULL}, "--json and --format csv conflict"},
        {{"sim", "--format", "md", "--format", "csv", "S", NULL}, "--format given twice"},
        {{"sim", "--seed", "1", "--seed", "2", "S", NULL}, "--seed given twice"},
        {{"sim", "--max-requests", "10", "--max-requests", "20", "S", NULL},
         "--max-requests given twice"},
        {{"sim", "--engine", "fast", "--engine", "general", "S", NULL},
         "--engine given twice"},
        {{"sim", "--threads", "1", "--threads", "2", "S", NULL}, "--threads given twice"},
        {{"sim", "--out", "a", "--out", "b", "S", NULL}, "--out given twice"},
        {{"sim", "--junit", "a.xml", "--junit", "b.xml", "S", NULL}, "--junit given twice"},
        {{"sim", "--trace", "a.csv", "--trace", "b.csv", NULL}, "--trace given twice"},
        {{"sim", "--trace", "a.csv", "--window", "utc-day", "--window", "1h", NULL},
         "--window given twice"},
        {{"sim", "--trace", "a.csv", "--limit", "DAILY_LIMIT_PER_MINER=2", "--limit",
          "DAILY_LIMIT_PER_MINER=3", NULL},
         "set DAILY_LIMIT_PER_MINER twice with different values"},
        {{"sim", "--policy", "gcra", "--policy", "gcra", "--json", "--format", "json",
          "--seed", "7", "--seed", "7", "S", NULL},
         NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *args[16];
        tst_output out;
        for (size_t k = 0; k < 16; k++)
            args[k] = cases[i].args[k] != NULL && strcmp(cases[i].args[k], "S") == 0
                          ? SCENARIO_DIR "/five-minute-vs-500.ini"
                          : cases[i].args[k];
        CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&out, (char *const *)args), 0);
        if (cases[i].fragment == NULL) {
            CU_ASSERT_EQUAL(out.status, 0);
        } else {
            CU_ASSERT_EQUAL(out.status, 2);
            CU_ASSERT_STRING_EQUAL(out.out, "");
            if (!tst_contains(out.err, cases[i].fragment))
                fprintf(stderr, "\ncase %zu: %s", i, out.err);
            CU_ASSERT(tst_contains(out.err, cases[i].fragment));
        }
        tst_output_free(&out);
    }
}

static void test_cli_help_sim(void)
{
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "help", "sim", NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "Usage: ratelab sim"));
    CU_ASSERT(tst_contains(out.out, "Exit status: 0"));
    tst_output_free(&out);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"rng known outputs", test_rng_known_outputs},
        {"rng streams differ", test_rng_streams_differ},
        {"rng uniform bounds", test_rng_uniform_bounds},
        {"queue orders time then push", test_queue_orders_time_then_push},
        {"queue full is error", test_queue_full_is_error},
        {"shipped library figures", test_shipped_library_figures},
        {"five-minute hourly split", test_five_minute_hourly_split},
        {"verdict lines", test_verdict_lines},
        {"headroom format", test_headroom_format},
        {"text report golden", test_text_report_golden},
        {"expectation explanations", test_expectation_explanations},
        {"periodic matches closed form", test_periodic_matches_closed_form},
        {"spread matches closed form", test_spread_matches_closed_form},
        {"rejections keep cadence", test_rejections_keep_cadence},
        {"scenario doc states 429 behaviour", test_scenario_doc_states_429_behaviour},
        {"same seed same run", test_same_seed_same_run},
        {"streams independent of others", test_streams_independent_of_others},
        {"auth invalid policies", test_auth_invalid_policies},
        {"request cap refuses run", test_request_cap_refuses_run},
        {"invalid population rejected", test_invalid_population_rejected},
        {"cli json shipped figures", test_cli_json_shipped_figures},
        {"cli text directory run", test_cli_text_directory_run},
        {"cli json deterministic", test_cli_json_deterministic},
        {"cli failed expectation exit 1", test_cli_failed_expectation_exit_1},
        {"cli bad input exit 2", test_cli_bad_input_exit_2},
        {"cli directory selection", test_cli_directory_selection},
        {"cli directory unusable entries", test_cli_directory_unusable_entries},
        {"cli repeated options", test_cli_repeated_options},
        {"cli help sim", test_cli_help_sim},
        CU_TEST_INFO_NULL,
    };
    return tst_main("sim", NULL, NULL, tests);
}
