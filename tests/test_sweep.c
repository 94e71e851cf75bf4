/*
 * test_sweep.c: capacity sweeps, through the engine (sim_sweep_run) and
 * the command (`ratelab sweep`).
 *
 * The answers checked:
 *   - 3472 is the most 5-minute miners, spread over the interval, that a
 *     total of 1,000,000 a day holds for one day (3472 x 288 = 999,936;
 *     3473 x 288 = 1,000,224);
 *   - 21 is the smallest per-miner limit with no rejection in 30 days for a
 *     72-minute fixed-rate miner with +-60 s jitter: 20 requests a day are
 *     due, and the request due at a midnight falls into the day before
 *     whenever its jitter is negative, which some day of every seeded run
 *     shows, while two extra requests in one day cannot happen;
 *   - tables, the run cap, keys without an order, and bad input.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim_scenario.h"
#include "sim_sweep.h"
#include "tst_support.h"

#define TOTAL_3472 "scenarios/total-3472-miners.ini"

static const char jitter_scenario[] =
    "; 72-minute miner with +-60 s jitter, 30 days, against 20/day.\n"
    "[scenario]\nname = seventy-two-minutes-jitter\ndays = 30\nseed = 1\n"
    "[limits]\nminer = 20\n"
    "[population miners]\ninterval = 72m\njitter = 60s\nstart = together\n";

static json_t *sweep_json(tst_output *o, char *const args[])
{
    json_error_t jerr;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(o, args), 0);
    json_t *doc = json_loads(o->out, 0, &jerr);
    if (doc == NULL)
        fprintf(stderr, "\nnot JSON (status %d): %s\n%s\n", o->status, o->out, o->err);
    return json_object_get(doc, "sweep") != NULL ? doc : NULL;
}

static int64_t json_int(json_t *obj, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(obj, key));
}

static void test_most_miners_under_total(void)
{
    char *args[] = {"sweep", TOTAL_3472, "--vary", "miners.count=1..10000", "--json", NULL};
    tst_output o;
    json_t *doc = sweep_json(&o, args);

    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(o.status, 0);
    json_t *sw = json_object_get(doc, "sweep");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(sw, "answer")), "found");
    CU_ASSERT_EQUAL(json_int(sw, "boundary"), 3472);
    CU_ASSERT_EQUAL(json_int(json_object_get(sw, "fit"), "value"), 3472);
    CU_ASSERT_EQUAL(json_int(json_object_get(sw, "reject"), "value"), 3473);
    CU_ASSERT_EQUAL(json_int(json_object_get(sw, "reject"), "rejections_max"), 224);
    CU_ASSERT_EQUAL(json_int(sw, "runs_per_point"), 1);
    json_decref(doc);
    tst_output_free(&o);
}

static void test_smallest_limit_with_jitter(void)
{
    const char *dir = tst_tmpdir();
    char *path = tst_write_file(dir, "jitter.ini", jitter_scenario);
    char *args[] = {"sweep", path, "--vary", "limits.miner=1..100", "--runs", "10",
                    "--json", NULL};
    tst_output o;
    json_t *doc = sweep_json(&o, args);

    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(o.status, 0);
    json_t *sw = json_object_get(doc, "sweep");
    CU_ASSERT_EQUAL(json_int(sw, "boundary"), 21);
    CU_ASSERT_EQUAL(json_int(sw, "runs_per_point"), 10);
    CU_ASSERT(json_is_true(json_object_get(sw, "random")));
    json_t *reject = json_object_get(sw, "reject");
    CU_ASSERT_EQUAL(json_int(reject, "value"), 20);
    CU_ASSERT(json_int(reject, "runs_rejecting") > 0);
    CU_ASSERT_EQUAL(json_int(json_object_get(sw, "fit"), "runs_rejecting"), 0);
    CU_ASSERT_EQUAL(json_int(json_object_get(sw, "fit"), "peak_client_usage"), 21);
    json_decref(doc);
    tst_output_free(&o);
    free(path);
}

static void test_engine_bisection(void)
{
    sim_scenario sc;
    sim_sweep_config cfg;
    sim_sweep_result *res = NULL;
    rl_error err;

    memset(&sc, 0, sizeof(sc));
    CU_ASSERT_EQUAL_FATAL(sim_scenario_load(&sc, TOTAL_3472, &err), 0);
    sim_sweep_config_init(&cfg);
    CU_ASSERT_EQUAL_FATAL(sim_sweep_key_parse(&sc, "limits.total", &cfg.key, &err), 0);
    CU_ASSERT_EQUAL(cfg.key.direction, +1);
    cfg.from = 900000;
    cfg.to = 1100000;
    CU_ASSERT_EQUAL_FATAL(sim_sweep_run(&sc, &cfg, &res, &err), 0);
    /* 3472 miners make 999,936 requests a day: the smallest total that fits. */
    CU_ASSERT_EQUAL(res->answer, SIM_SWEEP_FOUND);
    CU_ASSERT_EQUAL(res->boundary, 999936);
    CU_ASSERT_FATAL(res->reject_index >= 0 && res->fit_index >= 0);
    CU_ASSERT_EQUAL(res->points[res->reject_index].value, 999935);
    CU_ASSERT(res->total_runs <= sim_sweep_planned_runs(&cfg, 1));
    for (size_t i = 1; i < res->npoints; i++)
        CU_ASSERT(res->points[i - 1].value < res->points[i].value);
    sim_sweep_result_destroy(res);

    /* The caller's scenario is unchanged. */
    CU_ASSERT_EQUAL(sc.limits.total.value, 1000000);
    sim_scenario_free(&sc);
}

static void test_table_mode(void)
{
    char *args[] = {"sweep", TOTAL_3472, "--vary", "miners.count=3470..3475:1", "--format",
                    "csv", NULL};
    tst_output o;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&o, args), 0);
    CU_ASSERT_EQUAL(o.status, 0);
    CU_ASSERT(tst_contains(o.out, "3472,3472,true,1,0,"));
    CU_ASSERT(tst_contains(o.out, "3473,3473,false,1,1,"));
    CU_ASSERT(tst_contains(o.out, "3475,3475,false,"));
    tst_output_free(&o);
}

static void test_max_runs_is_enforced(void)
{
    char *args[] = {"sweep", TOTAL_3472, "--vary", "miners.count=1..10001:1", NULL};
    tst_output o;

    /* 10001 values at one run each: one more than the default cap. */
    CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&o, args), 0);
    CU_ASSERT_EQUAL(o.status, 2);
    CU_ASSERT(tst_contains(o.err, "would make up to 10001 simulator runs, more than the "
                                  "maximum of 10000"));
    CU_ASSERT(tst_contains(o.err, "--max-runs"));
    CU_ASSERT_STRING_EQUAL(o.out, "");
    tst_output_free(&o);

    /* Runs per value count: 4 values x 3 runs = 12 > 10. */
    const char *dir = tst_tmpdir();
    char *path = tst_write_file(dir, "jitter.ini", jitter_scenario);
    char *runs[] = {"sweep", path, "--vary", "limits.miner=18..21:1", "--runs", "3",
                    "--max-runs", "10", NULL};
    CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&o, runs), 0);
    CU_ASSERT_EQUAL(o.status, 2);
    CU_ASSERT(tst_contains(o.err, "would make up to 12 simulator runs"));
    tst_output_free(&o);
    free(path);
}

static void test_unordered_key_needs_step(void)
{
    char *args[] = {"sweep", TOTAL_3472, "--vary", "miners.first_delay=0s..10m", NULL};
    tst_output o;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&o, args), 0);
    CU_ASSERT_EQUAL(o.status, 2);
    CU_ASSERT(tst_contains(o.err, "give a step"));
    tst_output_free(&o);
}

static void test_none_fit_exits_1(void)
{
    char *args[] = {"sweep", "scenarios/five-minute-vs-20.ini", "--vary",
                    "limits.miner=1..100", NULL};
    tst_output o;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&o, args), 0);
    CU_ASSERT_EQUAL(o.status, 1);
    CU_ASSERT(tst_contains(o.out, "no limits.miner in the range fits: even 100 rejects"));
    tst_output_free(&o);
}

static void test_interval_in_durations(void)
{
    char *args[] = {"sweep", "scenarios/seventy-two-minutes-vs-20.ini", "--vary",
                    "miners.interval=1h..2h", NULL};
    tst_output o;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&o, args), 0);
    CU_ASSERT_EQUAL(o.status, 0);
    /* 20 requests a day fit exactly at 72 minutes; 71m59s makes a 21st. */
    CU_ASSERT(tst_contains(o.out, "the smallest miners.interval that fits is 1h12m "
                                  "(1h11m59s rejects)"));
    tst_output_free(&o);
}

static void test_bad_input_exits_2(void)
{
    static const char *const cases[][2] = {
        {"nobody.count=1..5", "is not valid for scenario"},
        {"miners.colour=1..5", "unknown field 'colour'"},
        {"limits.relay=1..5", "has no role 'relay'"},
        {"miners.count=5", "expected KEY=FROM..TO"},
        {"miners.count=9..5", "FROM <= TO"},
        {"miners.interval=5..10", "is not a duration"},
        {"miners.work=1m..2m", "only applies to cadence = fixed-delay"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *args[] = {"sweep", TOTAL_3472, "--vary", (char *)cases[i][0], NULL};
        tst_output o;
        CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&o, args), 0);
        CU_ASSERT_EQUAL(o.status, 2);
        if (!tst_contains(o.err, cases[i][1]))
            fprintf(stderr, "\n%s: %s", cases[i][0], o.err);
        CU_ASSERT(tst_contains(o.err, cases[i][1]));
        tst_output_free(&o);
    }
}

/* A single-valued option given twice with different values, or --json
 * against --format csv, is a usage error naming both; the same value
 * twice is accepted. */
static void test_repeated_options(void)
{
    static const struct {
        const char *args[10];
        const char *fragment; /* NULL: accepted */
    } cases[] = {
        {{"sweep", TOTAL_3472, "--vary", "miners.count=1..10", "--vary",
          "miners.count=1..20", NULL},
         "--vary given twice with different values, 'miners.count=1..10' and "
         "'miners.count=1..20'"},
        {{"sweep", TOTAL_3472, "--vary", "miners.count=1..10", "--format", "csv",
          "--json", NULL},
         "--format csv and --json conflict"},
        {{"sweep", TOTAL_3472, "--vary", "miners.count=1..10", "--runs", "1", "--runs",
          "2", NULL},
         "--runs given twice"},
        {{"sweep", TOTAL_3472, "--vary", "miners.count=1..10", "--mode", "bisect",
          "--mode", "table", NULL},
         "--mode given twice"},
        {{"sweep", TOTAL_3472, "--vary", "miners.count=1..10", "--seed", "1", "--seed",
          "2", NULL},
         "--seed given twice"},
        {{"sweep", TOTAL_3472, "--vary", "miners.count=3400..3500", "--vary",
          "miners.count=3400..3500", "--json", "--format", "json", NULL},
         NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tst_output o;
        CU_ASSERT_EQUAL_FATAL(tst_ratelab_argv(&o, (char *const *)cases[i].args), 0);
        if (cases[i].fragment == NULL) {
            CU_ASSERT_EQUAL(o.status, 0);
        } else {
            CU_ASSERT_EQUAL(o.status, 2);
            CU_ASSERT_STRING_EQUAL(o.out, "");
            if (!tst_contains(o.err, cases[i].fragment))
                fprintf(stderr, "\ncase %zu: %s", i, o.err);
            CU_ASSERT(tst_contains(o.err, cases[i].fragment));
        }
        tst_output_free(&o);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"most miners under total", test_most_miners_under_total},
        {"smallest limit with jitter", test_smallest_limit_with_jitter},
        {"engine bisection", test_engine_bisection},
        {"table mode", test_table_mode},
        {"max runs is enforced", test_max_runs_is_enforced},
        {"unordered key needs step", test_unordered_key_needs_step},
        {"none fit exits 1", test_none_fit_exits_1},
        {"interval in durations", test_interval_in_durations},
        {"bad input exits 2", test_bad_input_exits_2},
        {"repeated options", test_repeated_options},
        CU_TEST_INFO_NULL,
    };
    return tst_main("sweep", NULL, NULL, tests);
}
