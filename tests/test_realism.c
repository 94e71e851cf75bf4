/*
 * test_realism.c: the realism models with exact numbers on small cases,
 * the alternative algorithms' bounds, the trace reader and `ratelab sim
 * --trace`.
 *
 * Every figure below is worked out by hand in the comment above its
 * checks.  Scenarios are written inline and parsed with
 * sim_scenario_parse(), so each test shows its whole input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_algo.h"
#include "rl_limiter.h"
#include "rl_time.h"
#include "sim.h"
#include "sim_rng.h"
#include "sim_scenario.h"
#include "sim_trace.h"
#include "tst_support.h"

#define SCENARIO_DIR RATELAB_SOURCE_DIR "/scenarios"
#define MIN_US RL_US_PER_MIN
#define HOUR_US RL_US_PER_HOUR
#define DAY0_US (rl_days_from_civil(2025, 1, 1) * RL_US_PER_DAY)

/* Parses and runs an inline scenario; NULL (with a failed assertion) when
 * either step fails. */
static sim_result *run_ini(const char *text, const sim_config *cfg)
{
    sim_scenario sc;
    sim_result *r = NULL;
    rl_error err;

    if (sim_scenario_parse(&sc, text, strlen(text), "inline.ini", &err) != 0) {
        fprintf(stderr, "parse: %s\n", err.message);
        CU_FAIL("scenario does not parse");
        return NULL;
    }
    if (sim_run(&sc, cfg, &r, &err) != 0) {
        fprintf(stderr, "run: %s\n", err.message);
        CU_FAIL("scenario does not run");
    }
    sim_scenario_free(&sc);
    return r;
}

/* Returns the parse error of an inline scenario ("" when it parses). */
static const char *parse_error(const char *text)
{
    static rl_error err;
    sim_scenario sc;

    err.message[0] = '\0';
    if (sim_scenario_parse(&sc, text, strlen(text), "inline.ini", &err) == 0) {
        sim_scenario_free(&sc);
        err.message[0] = '\0';
    }
    return err.message;
}

/* ---- on_429 ----------------------------------------------------------- */

static void test_retry_fixed_delay_counts(void)
{
    /* One miner every 5 minutes from 00:00, limit 20, retry 1m times 2.
     * 00:00 to 01:35 are the 20 accepted requests.  Each of the 268 later
     * slots (01:40 to 23:55) is rejected and retried at +1m and +2m, both
     * rejected, then the client gives up until its next slot:
     *   requests = 288 + 2 * 268 = 824, retries = 536,
     *   rejected = 3 * 268 = 804, gave up = 268. */
    sim_result *r = run_ini("[limits]\nminer = 20\n"
                            "[population miners]\ninterval = 5m\nstart = together\n"
                            "on_429 = retry 1m times 2\n",
                            NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->total.requests, 824);
    CU_ASSERT_EQUAL(r->total.accepted, 20);
    CU_ASSERT_EQUAL(r->total.rejected_client, 804);
    CU_ASSERT_EQUAL(r->realism.retries, 536);
    CU_ASSERT_EQUAL(r->pops[0].realism.retries, 536);
    CU_ASSERT_EQUAL(r->pops[0].realism.gave_up, 268);
    CU_ASSERT_EQUAL(r->first_rejection_us, DAY0_US + 100 * MIN_US);
    sim_result_destroy(r);
}

static void test_backoff_skips_missed_slots(void)
{
    /* Same miner, backoff 1m 2 4m times 3: a slot T rejected is retried at
     * T+1m, T+3m (1 + 2) and T+7m (3 + 4, the cap).  The slot T+5m has
     * passed, so the next request is T+10m: from 01:40 the client works in
     * 10-minute cycles of 4 requests, 01:40 to 23:50, which is 134 cycles.
     *   requests = 20 + 4 * 134 = 556, retries = 3 * 134 = 402. */
    sim_result *r = run_ini("[limits]\nminer = 20\n"
                            "[population miners]\ninterval = 5m\nstart = together\n"
                            "on_429 = backoff 1m 2 4m times 3\n",
                            NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->total.requests, 556);
    CU_ASSERT_EQUAL(r->total.accepted, 20);
    CU_ASSERT_EQUAL(r->total.rejected_client, 536);
    CU_ASSERT_EQUAL(r->realism.retries, 402);
    CU_ASSERT_EQUAL(r->pops[0].realism.gave_up, 134);
    sim_result_destroy(r);
}

static void test_next_window_resumes_cadence(void)
{
    /* Two days, next-window.  Day 1: 20 accepted, 01:40 rejected, then the
     * client sleeps to 2025-01-02T00:00 and retries (accepted).  Its
     * fixed-rate slots resume at 00:05, so day 2 has the retry plus 19
     * accepted slots (00:05 to 01:35) and a rejection at 01:40, whose retry
     * would be at the run's end.
     *   requests = 21 + 21 = 42, accepted 40, rejected 2, retries 1. */
    sim_result *r = run_ini("[scenario]\ndays = 2\n[limits]\nminer = 20\n"
                            "[population miners]\ninterval = 5m\nstart = together\n"
                            "on_429 = next-window\n",
                            NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->total.requests, 42);
    CU_ASSERT_EQUAL(r->total.accepted, 40);
    CU_ASSERT_EQUAL(r->total.rejected_client, 2);
    CU_ASSERT_EQUAL(r->realism.retries, 1);
    CU_ASSERT_EQUAL(r->accepted_per_hour[24], 12); /* 00:00 retry + 11 slots */
    sim_result_destroy(r);
}

static void test_on429_values(void)
{
    sim_on429 o;
    rl_error err;
    char text[96];

    CU_ASSERT_EQUAL(sim_on429_parse("retry 1m times 2", &o, &err), 0);
    CU_ASSERT_EQUAL(o.kind, SIM_ON429_RETRY);
    CU_ASSERT_EQUAL(o.delay_us, MIN_US);
    CU_ASSERT_EQUAL(o.times, 2);
    CU_ASSERT_EQUAL(sim_on429_parse("backoff 30s 1.5 10m", &o, &err), 0);
    CU_ASSERT_EQUAL(o.factor_milli, 1500);
    CU_ASSERT_EQUAL(o.times, SIM_ON429_UNLIMITED);
    sim_on429_format(&o, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "backoff 30s 1.500 10m");
    CU_ASSERT_EQUAL(sim_on429_parse("next-window", &o, &err), 0);
    CU_ASSERT_EQUAL(sim_on429_parse("none", &o, &err), 0);
    CU_ASSERT_EQUAL(o.kind, SIM_ON429_NONE);

    const char *bad[] = {"retry", "retry 0s", "retry 1m times", "retry 1m twice 2",
                         "backoff 1m 0.5 1h", "backoff 2m 2 1m", "next-window times 2",
                         "sometimes", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(sim_on429_parse(bad[i], &o, &err), RL_ERR_INVALID);
}

/* ---- restarts --------------------------------------------------------- */

static void test_restarts_reset_phase(void)
{
    /* One miner, 5-minute fixed rate, first_delay 30m, restarted every 3h
     * from its start at 00:00.  Each phase runs from R + 30m to the next
     * restart R + 3h: 30 requests (R+0:30 to R+2:55).  The request due at
     * each restart (03:00, 06:00, ..., 21:00: 7 of them) is dropped.
     *   requests = 8 phases * 30 = 240, restarts 7, dropped 7. */
    sim_result *r = run_ini("[limits]\nminer = 500\n"
                            "[population miners]\ninterval = 5m\nstart = together\n"
                            "first_delay = 30m\nrestart_every = 3h\n",
                            NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->total.requests, 240);
    CU_ASSERT_EQUAL(r->pops[0].realism.restarts, 7);
    CU_ASSERT_EQUAL(r->pops[0].realism.dropped, 7);
    CU_ASSERT_EQUAL(r->accepted_per_hour[0], 6); /* 00:30 to 00:55 */
    CU_ASSERT_EQUAL(r->accepted_per_hour[3], 6); /* 03:30 to 03:55 */
    sim_result_destroy(r);
}

static void test_restart_drops_pending_retry(void)
{
    /* Limit 1, one request an hour from 00:00, retry every 20m without a
     * bound, restarted every 2h with no first_delay.  00:00 is accepted;
     * 01:00 is rejected and retried at 01:20 and 01:40; the retry due at
     * 02:00 is dropped by the restart, whose new loop sends its first
     * request at 02:00.  That one is rejected and retried every 20 minutes
     * (02:20 to 03:40: the retries never end, so the 03:00 slot is never
     * a regular request) until the restart at 04:00 drops the next retry.
     * Restarts at 02:00, 04:00, ..., 22:00: 11 phases of 6 requests.
     *   requests = 4 + 11 * 6 = 70, retries = 2 + 11 * 5 = 57,
     *   restarts 11, dropped 11 (the retry due at each restart). */
    sim_result *r = run_ini("[limits]\nminer = 1\n"
                            "[population miners]\ninterval = 1h\nstart = together\n"
                            "on_429 = retry 20m\nrestart_every = 2h\n",
                            NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->total.requests, 70);
    CU_ASSERT_EQUAL(r->total.accepted, 1);
    CU_ASSERT_EQUAL(r->realism.retries, 57);
    CU_ASSERT_EQUAL(r->pops[0].realism.restarts, 11);
    CU_ASSERT_EQUAL(r->pops[0].realism.dropped, 11);
    sim_result_destroy(r);
}

/* ---- attackers -------------------------------------------------------- */

#define ATTACKER_INI                                                           \
    "[limits]\nminer = 30\n%s"                                                 \
    "[population miners]\ninterval = 1h\nstart = together\n"                  \
    "[population thief]\nauth = invalid\ntarget = miners\ninterval = 1h\n"   \
    "start = 00:30\n"

static void test_attacker_spends_target_quota(void)
{
    /* The honest miner requests at every full hour, the attacker at every half
     * hour with the miner's hotkey: 48 requests on one counter, honest
     * first.  Under the deployed policy the 30th is the attacker's at
     * 14:30, so the honest request at 15:00 is the first honest rejection,
     * and the honest 15:00 to 23:00 (9) are rejected.  Under atomic the
     * attacker spends nothing and all 24 honest requests pass. */
    char text[512];
    snprintf(text, sizeof(text), ATTACKER_INI, "policy = deployed\n");
    sim_result *r = run_ini(text, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->realism.honest_requests, 24);
    CU_ASSERT_EQUAL(r->realism.honest_rejected, 9);
    CU_ASSERT_EQUAL(r->realism.honest_first_rejection_us, DAY0_US + 15 * HOUR_US);
    CU_ASSERT_STRING_EQUAL(r->realism.honest_first_rejection_client, "miners-0");
    CU_ASSERT_EQUAL(r->pops[1].counts.failed_auth, 15);
    CU_ASSERT_EQUAL(r->pops[1].counts.rejected_client, 9);
    sim_result_destroy(r);

    snprintf(text, sizeof(text), ATTACKER_INI, "policy = atomic\n");
    r = run_ini(text, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->realism.honest_rejected, 0);
    CU_ASSERT_EQUAL(r->realism.honest_first_rejection_us, SIM_TIME_NONE);
    CU_ASSERT_EQUAL(r->pops[1].counts.failed_auth, 24);
    sim_result_destroy(r);
}

static void test_random_hotkeys_spend_total(void)
{
    /* Total 1000.  The honest miner requests every hour from 00:00, the
     * attacker every minute from 00:00 with a fresh hotkey.  After minute m
     * the global counter is (m + 1) + (floor(m / 60) + 1); it reaches 1000
     * at minute 982 (983 + 17), so the attacker's 16:23 is the first global
     * rejection and the honest 17:00 to 23:00 (7) are rejected. */
    sim_result *r = run_ini("[limits]\ntotal = 1000\n"
                            "[population miners]\ninterval = 1h\nstart = together\n"
                            "[population noise]\nauth = invalid\ntarget = random\n"
                            "interval = 1m\nstart = together\n",
                            NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->global.exhausted_at_us, DAY0_US + 983 * MIN_US);
    CU_ASSERT_EQUAL(r->realism.honest_first_rejection_us, DAY0_US + 17 * HOUR_US);
    CU_ASSERT_EQUAL(r->realism.honest_rejected, 7);
    CU_ASSERT_EQUAL(r->global.peak_window_usage, 1000);
    sim_result_destroy(r);
}

/* ---- replicas --------------------------------------------------------- */

static void test_per_replica_store_triples_limit(void)
{
    /* 288 requests round-robin over 3 replicas: each replica receives 96 and
     * admits 20, so 60 pass.  Replica 0 gets requests 0, 3, 6, ...; its
     * 21st is request 60, at 05:00, the first rejection.  The 40
     * admissions after the first 20 are the estimated overshoot. */
    sim_result *r = run_ini("[limits]\nminer = 20\n"
                            "[server]\nreplicas = 3\nstore = per-replica\n"
                            "[population miners]\ninterval = 5m\nstart = together\n",
                            NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->total.accepted, 60);
    CU_ASSERT_EQUAL(r->total.rejected_client, 228);
    CU_ASSERT_EQUAL(r->first_rejection_us, DAY0_US + 5 * HOUR_US);
    CU_ASSERT_EQUAL(r->realism.overshoot_client, 40);
    CU_ASSERT_EQUAL(r->realism.overshoot_max_per_window, 40);
    CU_ASSERT_EQUAL(r->realism.overshoot_global, 0);
    /* The total is consumed by all 60, while each replica's own global
     * counter reaches only 20. */
    CU_ASSERT_EQUAL(r->global.peak_window_usage, 60);
    CU_ASSERT_EQUAL(r->realism.peak_replica_counter, 20);
    sim_result_destroy(r);
}

static void test_per_replica_global_reports(void)
{
    const char *path = SCENARIO_DIR "/realism/replicas-per-replica.ini";
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", path, NULL), 0);
    CU_ASSERT(tst_contains(out.out, "global    total 200000/day: peak 60 counted over "
                                    "all replicas in one window (2025-01-01)"));
    CU_ASSERT(tst_contains(out.out, "each of the 3 replicas enforces the total on its "
                                    "own counter; the highest one reached 20"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--format", "json", path, NULL), 0);
    CU_ASSERT(tst_contains(out.out, "\"peak_window_usage\": 60"));
    CU_ASSERT(tst_contains(out.out, "\"peak_replica_counter\": 20"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--format", "md", path, NULL), 0);
    CU_ASSERT(tst_contains(out.out, "the total holds (peak 60 of 200,000/day)"));
    CU_ASSERT(tst_contains(out.out, "the highest one reached 20"));
    tst_output_free(&out);

    /* The plots' series sums the replicas too: the day ends at 60. */
    char dir[1024], csv[1100];
    snprintf(dir, sizeof(dir), "%s/out", tst_tmpdir());
    setenv("RATELAB_GNUPLOT", "/nonexistent", 1);
    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--out", dir, path, NULL), 0);
    unsetenv("RATELAB_GNUPLOT");
    CU_ASSERT_EQUAL(out.status, 0);
    tst_output_free(&out);
    snprintf(csv, sizeof(csv), "%s/realism-replicas-per-replica/usage.csv", dir);
    FILE *f = fopen(csv, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[512], last[512] = "";
    while (fgets(line, sizeof(line), f) != NULL)
        snprintf(last, sizeof(last), "%s", line);
    fclose(f);
    CU_ASSERT(tst_contains(last, "2025-01-02T00:00:00Z,0,86400,86400,60,288,"));
}

static void test_replica_restart_resets_counts(void)
{
    /* One replica counting in memory, restarted every 8h (08:00, 16:00):
     * 20 admitted in each of the three 8-hour stretches. */
    sim_result *r = run_ini("[limits]\nminer = 20\n"
                            "[server]\nstore = per-replica\nreplica_restart_every = 8h\n"
                            "[population miners]\ninterval = 5m\nstart = together\n",
                            NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->total.accepted, 60);
    CU_ASSERT_EQUAL(r->accepted_per_hour[8], 12); /* 08:00 to 08:55 */
    CU_ASSERT_EQUAL(r->realism.overshoot_client, 40);
    CU_ASSERT_EQUAL(r->global.peak_window_usage, 60);
    CU_ASSERT_EQUAL(r->realism.peak_replica_counter, 20);
    sim_result_destroy(r);
}

static void test_shared_store_race_estimate(void)
{
    /* Two replicas sharing the store, rtt 1s, 1-minute windows, one
     * request a second (round-robin: even seconds on replica 0).  A
     * request's increments land 2 s later.  In each window:
     *   s0 R0 reads 0, admits     s1 R1 reads 0, admits
     *   s2 R0 reads 1, admits     s3 R1 reads 2, admits (limit 3 reached)
     *   s4 reads 3: rejected, and so on to s59.
     * 4 admitted per window (one over), 1440 windows a day. */
#define RACE_INI                                                               \
    "[limits]\nminer = 3\nwindow = 1m\n"                                       \
    "[server]\nreplicas = 2\nrtt = %s\n"                                       \
    "[population miners]\ninterval = 1s\nstart = together\n"
    char text[256];

    snprintf(text, sizeof(text), RACE_INI, "1s");
    sim_result *r = run_ini(text, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->total.requests, 86400);
    CU_ASSERT_EQUAL(r->total.accepted, 4 * 1440);
    CU_ASSERT_EQUAL(r->realism.overshoot_client, 1440);
    CU_ASSERT_EQUAL(r->realism.overshoot_max_per_window, 1);
    sim_result_destroy(r);

    /* Without a round trip there is no race: 3 per window. */
    snprintf(text, sizeof(text), RACE_INI, "0s");
    r = run_ini(text, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->total.accepted, 3 * 1440);
    CU_ASSERT_EQUAL(r->realism.overshoot_client, 0);
    sim_result_destroy(r);

    /* The atomic policy checks and counts in one step: no race either. */
    sim_config cfg;
    sim_config_init(&cfg);
    cfg.override_policy = 1;
    cfg.policy = RL_POLICY_ATOMIC;
    snprintf(text, sizeof(text), RACE_INI, "1s");
    r = run_ini(text, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->total.accepted, 3 * 1440);
    sim_result_destroy(r);
}

/* ---- clock offset and time zones ---------------------------------------- */

static void test_clock_offset_moves_day(void)
{
    /* 5-minute miner, limit 20.  With the server 5 minutes ahead its day
     * starts at 23:55 UTC: 00:00 to 01:35 pass, 01:40 is rejected, and
     * 23:55 is the first request of the server's next day, so 21 pass.
     * Behind by 5 minutes the day starts at 00:05: 00:00 is the last
     * request of the server's previous day, 00:05 to 01:40 are the 20 of
     * its new day, and 01:45 is the first rejection. */
#define OFFSET_INI                                                             \
    "[limits]\nminer = 20\n[server]\nclock_offset = %s\n"                     \
    "[population miners]\ninterval = 5m\nstart = together\n"
    char text[256];

    snprintf(text, sizeof(text), OFFSET_INI, "+5m");
    sim_result *r = run_ini(text, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->total.accepted, 21);
    CU_ASSERT_EQUAL(r->first_rejection_us, DAY0_US + 100 * MIN_US);
    CU_ASSERT_EQUAL(r->realism.day_start_utc_us, RL_US_PER_DAY - 5 * MIN_US);
    CU_ASSERT_EQUAL(r->n_windows, 2);
    sim_result_destroy(r);

    snprintf(text, sizeof(text), OFFSET_INI, "-5m");
    r = run_ini(text, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->total.accepted, 21);
    CU_ASSERT_EQUAL(r->first_rejection_us, DAY0_US + 105 * MIN_US);
    CU_ASSERT_EQUAL(r->realism.day_start_utc_us, 5 * MIN_US);
    sim_result_destroy(r);
}

static void test_time_zone_day_start_reported(void)
{
    /* A server at UTC+05:00 starts its day at 19:00 UTC: 20 pass from
     * 00:00 and 20 more from 19:00; the text report gives the time. */
    char *dir = (char *)tst_tmpdir();
    char *path = tst_write_file(dir, "tz.ini",
                                "[limits]\nminer = 20\nwindow = utc+05:00\n"
                                "[population miners]\ninterval = 5m\n"
                                "start = together\n");
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", path, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "accepted           40"));
    CU_ASSERT(tst_contains(out.out, "the server's day starts at 19:00:00 UTC "
                                    "(clock +0s, window utc+05:00)"));
    tst_output_free(&out);
    free(path);
}

/* ---- alternative algorithms -------------------------------------------- */

static rl_decision algo_at(rl_algo *a, const char *key, int64_t limit, int64_t t_us)
{
    rl_decision d;
    CU_ASSERT_EQUAL(rl_algo_decide(a, key, limit, 1000000, t_us, 1, &d), 0);
    return d;
}

static int admitted_burst(rl_algo *a, int64_t limit, int64_t t_us, int n)
{
    int admitted = 0;
    for (int i = 0; i < n; i++)
        admitted += algo_at(a, "hk", limit, t_us).outcome == RL_ALLOWED;
    return admitted;
}

static void test_fixed_window_doubles_at_boundary(void)
{
    /* A client bursting 5 at 23:59 and 5 at 00:00 against 5/day: the fixed
     * window admits all 10 within one minute, the sliding log 5, GCRA
     * without burst 1 (one per 4.8 h), GCRA with burst 4 admits 5. */
    rl_limits limits;
    rl_limits_init_defaults(&limits);
    limits.roles[0].per_client.value = 5;
    rl_store *store = rl_store_memory_create();
    rl_limiter lim;
    rl_limiter_init(&lim, &limits, store);
    int64_t before = DAY0_US - MIN_US, at = DAY0_US;
    int fixed = 0;
    for (int i = 0; i < 10; i++) {
        rl_request req = {"hk", 0, 1, i < 5 ? before : at};
        rl_decision d;
        CU_ASSERT_EQUAL(rl_limiter_decide(&lim, &req, &d), 0);
        fixed += d.outcome == RL_ALLOWED;
    }
    CU_ASSERT_EQUAL(fixed, 10);
    rl_store_destroy(store);

    rl_algo_config cfg = {RL_ALGO_SLIDING_LOG, rl_window_utc_day(), 0};
    rl_algo *a = rl_algo_create(&cfg);
    CU_ASSERT_EQUAL(admitted_burst(a, 5, before, 5) + admitted_burst(a, 5, at, 5), 5);
    rl_algo_destroy(a);

    cfg.kind = RL_ALGO_GCRA;
    a = rl_algo_create(&cfg);
    CU_ASSERT_EQUAL(admitted_burst(a, 5, before, 5) + admitted_burst(a, 5, at, 5), 1);
    rl_algo_destroy(a);
    cfg.burst = 4;
    a = rl_algo_create(&cfg);
    CU_ASSERT_EQUAL(admitted_burst(a, 5, before, 5) + admitted_burst(a, 5, at, 5), 5);
    rl_algo_destroy(a);
}

static void test_sliding_window_exact(void)
{
    /* 1-hour windows, limit 10: 10 at 00:30 fill window 0.  At 01:15 the
     * previous window weighs 45/60: 10 * 45 + n * 60 < 600 admits n = 0,
     * 1, 2, so 3 pass.  The 4th would pass once 10 * (60 - e) + 3 * 60 <
     * 600, i.e. e > 18 min: at 01:18:00.000001. */
    rl_window w;
    CU_ASSERT_EQUAL_FATAL(rl_window_parse("1h", &w, NULL), 0);
    rl_algo_config cfg = {RL_ALGO_SLIDING_WINDOW, w, 0};
    rl_algo *a = rl_algo_create(&cfg);
    CU_ASSERT_EQUAL(admitted_burst(a, 10, DAY0_US + 30 * MIN_US, 12), 10);
    CU_ASSERT_EQUAL(admitted_burst(a, 10, DAY0_US + 75 * MIN_US, 3), 3);
    rl_decision d = algo_at(a, "hk", 10, DAY0_US + 75 * MIN_US);
    CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_CLIENT);
    CU_ASSERT_EQUAL(d.reset_us, DAY0_US + 78 * MIN_US + 1);
    CU_ASSERT_EQUAL(algo_at(a, "hk", 10, d.reset_us).outcome, RL_ALLOWED);
    rl_algo_destroy(a);
}

static void test_gcra_exact(void)
{
    /* Limit 4 per hour (one per 15 min), burst 1: two pass at once, the
     * third may go 15 minutes later. */
    rl_window w;
    CU_ASSERT_EQUAL_FATAL(rl_window_parse("1h", &w, NULL), 0);
    rl_algo_config cfg = {RL_ALGO_GCRA, w, 1};
    rl_algo *a = rl_algo_create(&cfg);
    CU_ASSERT_EQUAL(admitted_burst(a, 4, DAY0_US, 2), 2);
    rl_decision d = algo_at(a, "hk", 4, DAY0_US);
    CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_CLIENT);
    CU_ASSERT_EQUAL(d.reset_us, DAY0_US + 15 * MIN_US);
    CU_ASSERT_EQUAL(algo_at(a, "hk", 4, DAY0_US + 15 * MIN_US - 1).outcome,
                    RL_REJECTED_CLIENT);
    CU_ASSERT_EQUAL(algo_at(a, "hk", 4, DAY0_US + 15 * MIN_US).outcome, RL_ALLOWED);
    /* A limit of 0 never admits, and its reset time is INT64_MAX. */
    d = algo_at(a, "other", 0, DAY0_US);
    CU_ASSERT_EQUAL(d.outcome, RL_REJECTED_CLIENT);
    CU_ASSERT_EQUAL(d.reset_us, INT64_MAX);
    rl_algo_destroy(a);
}

/* Largest number of admitted times in any half-open span [t, t + w): the
 * maximum is reached by a span starting at an admitted time. */
static int max_in_span(const int64_t *times, int n, int64_t w)
{
    int best = 0;
    for (int i = 0, j = 0; i < n; i++) {
        while (j < n && times[j] < times[i] + w)
            j++;
        if (j - i > best)
            best = j - i;
    }
    return best;
}

/* Random arrivals over 10 windows; returns the admitted times' maximum in
 * any span of one window length. */
static int random_run_max(rl_algo_kind kind, int64_t limit, int64_t burst, uint64_t seed)
{
    rl_window w;
    CU_ASSERT_EQUAL(rl_window_parse("1h", &w, NULL), 0);
    rl_algo_config cfg = {kind, w, burst};
    rl_algo *a = rl_algo_create(&cfg);
    int64_t *times = malloc(4000 * sizeof(*times)), t = DAY0_US;
    sim_rng rng;
    int n = 0;

    sim_rng_seed(&rng, seed);
    for (int i = 0; i < 4000; i++) {
        /* Bursts of equal times and gaps up to 30 s: about 10 hours. */
        if (sim_rng_uniform_i64(&rng, 0, 3) != 0)
            t += sim_rng_uniform_i64(&rng, 0, 30 * RL_US_PER_SEC);
        rl_decision d;
        CU_ASSERT_EQUAL(rl_algo_decide(a, "hk", limit, 1000000, t, 1, &d), 0);
        if (d.outcome == RL_ALLOWED)
            times[n++] = t;
    }
    int best = max_in_span(times, n, HOUR_US);
    free(times);
    rl_algo_destroy(a);
    return best;
}

static void test_algorithm_bounds_random(void)
{
    /* Sliding log: never more than the limit in any 1 h span.  GCRA: at
     * most limit + burst in any span of one window length (a span of
     * length W holds fewer than burst + 1 + W / T = burst + 1 + limit
     * conforming requests).  Both bounds are reached on these runs. */
    for (uint64_t seed = 1; seed <= 5; seed++) {
        CU_ASSERT_EQUAL(random_run_max(RL_ALGO_SLIDING_LOG, 37, 0, seed), 37);
        CU_ASSERT(random_run_max(RL_ALGO_GCRA, 37, 5, seed) <= 42);
        CU_ASSERT(random_run_max(RL_ALGO_GCRA, 37, 0, seed) <= 37);
    }
}

static void test_algo_reclaims_idle_keys(void)
{
    /* Keys used once (random hotkeys) are dropped once their hour is over. */
    rl_window w;
    CU_ASSERT_EQUAL_FATAL(rl_window_parse("1h", &w, NULL), 0);
    rl_algo_config cfg = {RL_ALGO_SLIDING_LOG, w, 0};
    rl_algo *a = rl_algo_create(&cfg);
    char key[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        rl_decision d;
        CU_ASSERT_EQUAL(rl_algo_decide(a, key, 5, 1000000000, DAY0_US + i * MIN_US, 1, &d), 0);
    }
    CU_ASSERT(rl_algo_key_count(a) <= 200);
    rl_algo_destroy(a);
}

static void test_compare_table(void)
{
    /* The 5-minute miner against 20/day under three policies.  GCRA
     * without burst admits one request per 72 min, on the 5-minute grid
     * every 75 min: 00:00, 01:15, ..., 23:45 = 20; the first rejection is
     * 00:05.  Deployed and the sliding log admit 00:00 to 01:35. */
    sim_result *r = run_ini("[limits]\nminer = 20\n"
                            "[compare]\npolicies = deployed, sliding-log, gcra\n"
                            "[population miners]\ninterval = 5m\nstart = together\n",
                            NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(r->realism.ncompare, 3);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(r->realism.compare[i].requests, 288);
        CU_ASSERT_EQUAL(r->realism.compare[i].accepted, 20);
        CU_ASSERT_EQUAL(r->realism.compare[i].rejected, 268);
    }
    CU_ASSERT_EQUAL(r->realism.compare[0].first_rejection_us, DAY0_US + 100 * MIN_US);
    CU_ASSERT_EQUAL(r->realism.compare[1].first_rejection_us, DAY0_US + 100 * MIN_US);
    CU_ASSERT_EQUAL(r->realism.compare[2].first_rejection_us, DAY0_US + 5 * MIN_US);
    CU_ASSERT_EQUAL(r->realism.compare[2].choice.algo, RL_ALGO_GCRA);
    sim_result_destroy(r);
}

/* ---- the engine without models ----------------------------------------- */

/* Compares every figure the plain loop fills. */
static void assert_same_result(const sim_result *a, const sim_result *b)
{
    CU_ASSERT_EQUAL(memcmp(&a->total, &b->total, sizeof(a->total)), 0);
    CU_ASSERT_EQUAL(a->first_rejection_us, b->first_rejection_us);
    CU_ASSERT_STRING_EQUAL(a->first_rejection_client, b->first_rejection_client);
    CU_ASSERT_EQUAL(memcmp(&a->global, &b->global, sizeof(a->global)), 0);
    CU_ASSERT_EQUAL(a->n_windows, b->n_windows);
    CU_ASSERT_EQUAL_FATAL(a->n_hours, b->n_hours);
    for (int64_t h = 0; h < a->n_hours; h++) {
        CU_ASSERT_EQUAL(a->accepted_per_hour[h], b->accepted_per_hour[h]);
        CU_ASSERT_EQUAL(a->rejected_per_hour[h], b->rejected_per_hour[h]);
    }
    for (int i = 0; i < a->npops; i++) {
        const sim_pop_result *x = &a->pops[i], *y = &b->pops[i];
        CU_ASSERT_EQUAL(memcmp(&x->counts, &y->counts, sizeof(x->counts)), 0);
        CU_ASSERT_EQUAL(memcmp(&x->per_window, &y->per_window, sizeof(x->per_window)), 0);
        CU_ASSERT_EQUAL(x->first_rejection_us, y->first_rejection_us);
        CU_ASSERT_EQUAL(x->worst_window_rejected, y->worst_window_rejected);
        CU_ASSERT_EQUAL(x->worst_window_requests, y->worst_window_requests);
    }
}

static void test_engine_matches_plain_loop(void)
{
    /* A [compare] section sends a scenario to the realism engine; with no
     * other model its own figures must be the plain loop's. */
    const char *files[] = {"five-minute-vs-20.ini", "five-minute-vs-500.ini",
                           "fixed-delay-upload-vs-500.ini", "mainnet-two-hours-vs-100.ini",
                           "seventy-two-minutes-vs-20.ini", "one-second-short-vs-20.ini"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[1024];
        sim_scenario sc;
        sim_result *plain = NULL, *realism = NULL;
        rl_error err;
        sim_config cfg;

        snprintf(path, sizeof(path), "%s/%s", SCENARIO_DIR, files[i]);
        CU_ASSERT_EQUAL_FATAL(sim_scenario_load(&sc, path, &err), 0);
        sim_config_init(&cfg);
        cfg.engine = SIM_ENGINE_GENERAL;
        CU_ASSERT_EQUAL_FATAL(sim_run(&sc, &cfg, &plain, &err), 0);
        sc.realism.ncompare = 1; /* compare with deployed */
        CU_ASSERT_EQUAL_FATAL(sim_run(&sc, &cfg, &realism, &err), 0);
        CU_ASSERT_EQUAL(realism->realism.active, 1);
        assert_same_result(plain, realism);
        sim_result_destroy(plain);
        sim_result_destroy(realism);
        sim_scenario_free(&sc);
    }
}

static void test_model_keys_rejected(void)
{
    const char *pop = "[population p]\ninterval = 5m\n";
    char text[512];
    struct {
        const char *extra, *message;
    } cases[] = {
        {"on_429 = retry soon\n", "on_429 = 'retry soon': expected none, retry DELAY"},
        {"restart_jitter = 1m\n", "only meaningful with restart_every"},
        {"restart_every = 1h\nrestart_jitter = 1h\n", "must be less than restart_every"},
        {"target = nobody\n", "target = 'nobody': no other population"},
        {"target = p\n", "target = 'p': no other population"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "%s%s", pop, cases[i].extra);
        const char *e = parse_error(text);
        if (!tst_contains(e, cases[i].message))
            fprintf(stderr, "case %zu: %s\n", i, e);
        CU_ASSERT(tst_contains(e, cases[i].message));
    }
    CU_ASSERT(tst_contains(parse_error("[limits]\nburst = 3\n[population p]\ninterval = 5m\n"),
                           "burst: only meaningful with policy = gcra"));
    CU_ASSERT(tst_contains(parse_error("[server]\nrtt = 1ms\n[population p]\ninterval = 5m\n"),
                           "rtt applies to store = shared with replicas of 2"));
    CU_ASSERT(tst_contains(parse_error("[server]\nclock_offset = 5\n[population p]\n"
                                       "interval = 5m\n"),
                           "expected a signed duration"));
    CU_ASSERT(tst_contains(parse_error("[compare]\npolicies = fast\n[population p]\n"
                                       "interval = 5m\n"),
                           "invalid policy 'fast'"));
    CU_ASSERT(tst_contains(parse_error("[limits]\npolicy = gcra\n[server]\nreplicas = 2\n"
                                       "[population p]\ninterval = 5m\n"),
                           "works with policy deployed or atomic only"));
    CU_ASSERT_STRING_EQUAL(parse_error("[limits]\npolicy = gcra\nburst = 3\n"
                                       "[population p]\ninterval = 5m\n"),
                           "");
}

/* ---- traces ------------------------------------------------------------ */

static sim_trace *parse_trace(const char *text, int skip, rl_error *err)
{
    sim_trace *t = NULL;
    sim_trace_parse(text, strlen(text), "t.csv", skip, &t, err);
    return t;
}

static void test_trace_formats_and_order(void)
{
    /* Equal times keep file order; epoch seconds, ISO-8601 mixed. */
    rl_error err;
    sim_trace *t = parse_trace("# exported from the access log\n"
                               "time,client,role,auth\n"
                               "1735689660,b,miner,\n"
                               "2025-01-01T00:00:00Z,a,miner,valid\n"
                               "1735689660.5,a,validator,invalid\n"
                               "\n"
                               "2025-01-01T00:01:00Z,a,miner\n",
                               0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(sim_trace_rows(t), 4);
    CU_ASSERT_EQUAL(sim_trace_at(t, 0)->line, 4);
    CU_ASSERT_EQUAL(sim_trace_at(t, 1)->line, 3); /* 00:01:00, first in the file */
    CU_ASSERT_EQUAL(sim_trace_at(t, 2)->line, 7);
    CU_ASSERT_EQUAL(sim_trace_at(t, 3)->time_us, DAY0_US + MIN_US + 500000);
    /* Clients: group miner (a, b), then validator-invalid (a). */
    CU_ASSERT_EQUAL_FATAL(sim_trace_clients(t), 3u);
    CU_ASSERT_STRING_EQUAL(sim_trace_client_id(t, 0), "a");
    CU_ASSERT_STRING_EQUAL(sim_trace_client_id(t, 1), "b");
    CU_ASSERT_STRING_EQUAL(sim_trace_client_id(t, 2), "a");
    sim_trace_destroy(t);

    /* No header, milliseconds, columns reordered by a header elsewhere. */
    t = parse_trace("1735689600000,x,miner\n1735689600250,x,miner\n", 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(sim_trace_at(t, 1)->time_us, DAY0_US + 250000);
    sim_trace_destroy(t);
    t = parse_trace("role,TIME,client\nminer,2025-01-01,x\n", 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(sim_trace_at(t, 0)->time_us, DAY0_US);
    sim_trace_destroy(t);
}

static void test_trace_bad_rows(void)
{
    rl_error err;
    struct {
        const char *text, *message;
    } cases[] = {
        {"time,client,role\n2025-01-01T00:00:00,x,miner\n", "t.csv:2: time:"},
        {"1735689600,x,miner\n1735689600000,x,miner\n", "t.csv:2: time '1735689600000': "
                                                        "looks like epoch milliseconds"},
        {"1735689600,x\n", "t.csv:1: 2 fields"},
        {"1735689600,x,Miner\n", "t.csv:1: role 'Miner'"},
        {"1735689600,x,miner,maybe\n", "t.csv:1: auth 'maybe'"},
        {"1735689600,\"x\",miner\n", "t.csv:1: client '\"x\"'"},
        {"time,client,auth\n1735689600,x,valid\n", "t.csv:1: the header needs the columns"},
        {"time,client,role,role\n", "t.csv:1: header column 'role'"},
        {"", "t.csv: no request rows"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CU_ASSERT_PTR_NULL(parse_trace(cases[i].text, 0, &err));
        if (!tst_contains(err.message, cases[i].message))
            fprintf(stderr, "case %zu: %s\n", i, err.message);
        CU_ASSERT(tst_contains(err.message, cases[i].message));
    }
    sim_trace *t = parse_trace("1735689600,x,miner\nnope,x,miner\n1735689601,x,miner,?\n",
                               1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(sim_trace_rows(t), 1);
    CU_ASSERT_EQUAL(sim_trace_skipped(t), 2);
    sim_trace_destroy(t);
}

static void test_cli_trace_replay(void)
{
    /* Limit 2: hk1's third request (00:02) is rejected; validators have
     * their own limit.  Out-of-order rows are fine. */
    char *dir = (char *)tst_tmpdir();
    char *csv = tst_write_file(dir, "t.csv",
                               "time,client,role\n"
                               "2025-01-01T00:02:00Z,hk1,miner\n"
                               "2025-01-01T00:00:00Z,hk1,miner\n"
                               "1735689660,hk1,miner\n"
                               "2025-01-01T00:00:30Z,hk2,validator\n");
    char *bad = tst_write_file(dir, "bad.csv", "time,client,role\n1735689600,hk1,miner\n"
                                               "later,hk1,miner\n");
    tst_output out;

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--trace", csv, "--limit",
                                      "DAILY_LIMIT_PER_MINER=2", NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "REJECTS trace: first rejection "
                                    "2025-01-01T00:02:00Z (hk1)"));
    CU_ASSERT(tst_contains(out.out, "trace     4 rows replayed, 0 bad rows skipped"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--trace", bad, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "bad.csv:3: time 'later'"));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--trace", bad, "--skip-bad-rows",
                                      "--policy", "gcra", "--json", NULL),
                          0);
    CU_ASSERT_EQUAL(out.status, 0);
    CU_ASSERT(tst_contains(out.out, "\"skipped\": 1"));
    CU_ASSERT(tst_contains(out.out, "\"policy\": \"gcra\""));
    tst_output_free(&out);

    CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", "--env", "x.env", csv, NULL), 0);
    CU_ASSERT_EQUAL(out.status, 2);
    CU_ASSERT(tst_contains(out.err, "apply to --trace only"));
    tst_output_free(&out);
    free(csv);
    free(bad);
}

static void test_shipped_realism_scenarios(void)
{
    /* Every shipped realism scenario meets its [expect] section. */
    const char *files[] = {"realism/retry-vs-20.ini", "realism/restarts-3h.ini",
                           "realism/attacker-spends-quota.ini",
                           "realism/replicas-per-replica.ini",
                           "realism/replicas-shared-race.ini",
                           "realism/clock-ahead.ini", "realism/compare-policies.ini"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[1024];
        tst_output out;
        snprintf(path, sizeof(path), "%s/%s", SCENARIO_DIR, files[i]);
        CU_ASSERT_EQUAL_FATAL(tst_ratelab(&out, "sim", path, NULL), 0);
        if (out.status != 0)
            fprintf(stderr, "%s: %s%s\n", files[i], out.out, out.err);
        CU_ASSERT_EQUAL(out.status, 0);
        tst_output_free(&out);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"retry fixed delay counts", test_retry_fixed_delay_counts},
        {"backoff skips missed slots", test_backoff_skips_missed_slots},
        {"next-window resumes cadence", test_next_window_resumes_cadence},
        {"on_429 values", test_on429_values},
        {"restarts reset phase", test_restarts_reset_phase},
        {"restart drops pending retry", test_restart_drops_pending_retry},
        {"attacker spends target quota", test_attacker_spends_target_quota},
        {"random hotkeys spend total", test_random_hotkeys_spend_total},
        {"per-replica store triples limit", test_per_replica_store_triples_limit},
        {"per-replica global reports", test_per_replica_global_reports},
        {"replica restart resets counts", test_replica_restart_resets_counts},
        {"shared store race estimate", test_shared_store_race_estimate},
        {"clock offset moves day", test_clock_offset_moves_day},
        {"time zone day start reported", test_time_zone_day_start_reported},
        {"fixed window doubles at boundary", test_fixed_window_doubles_at_boundary},
        {"sliding window exact", test_sliding_window_exact},
        {"gcra exact", test_gcra_exact},
        {"algorithm bounds random", test_algorithm_bounds_random},
        {"algo reclaims idle keys", test_algo_reclaims_idle_keys},
        {"compare table", test_compare_table},
        {"engine matches plain loop", test_engine_matches_plain_loop},
        {"model keys rejected", test_model_keys_rejected},
        {"trace formats and order", test_trace_formats_and_order},
        {"trace bad rows", test_trace_bad_rows},
        {"cli trace replay", test_cli_trace_replay},
        {"shipped realism scenarios", test_shipped_realism_scenarios},
        CU_TEST_INFO_NULL,
    };
    return tst_main("realism", NULL, NULL, tests);
}
