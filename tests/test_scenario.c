/*
 * test_scenario.c: the scenario-file parser (sim/sim_scenario.c).
 *
 * Parses scenario text in memory and files in a temporary directory, and
 * checks every field of the result, the defaults, and that each kind of bad
 * input gets one error naming file:line, the key and the value.  The parser
 * runs on the real inih library, so these tests also pin down how inih 55
 * treats comments, whitespace and long lines.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rl_time.h"
#include "sim_scenario.h"
#include "tst_support.h"

#define PATH "scenarios/x.ini"

/* A population every otherwise-valid test scenario can end with. */
#define POP "[population p]\ninterval = 5m\n"

static int64_t iso(const char *text)
{
    int64_t t = 0;
    rl_error e;

    CU_ASSERT_EQUAL_FATAL(rl_time_parse_iso8601(text, &t, &e), 0);
    return t;
}

/* Parses text that must be valid; fails the test with the message if not. */
static int parse_ok(sim_scenario *sc, const char *text)
{
    rl_error e = {{0}};
    int rc = sim_scenario_parse(sc, text, strlen(text), PATH, &e);

    if (rc != 0)
        fprintf(stderr, "\nunexpected error: %s\n", e.message);
    CU_ASSERT_EQUAL(rc, 0);
    return rc;
}

static const char full_text[] =
    "; a full scenario\n"
    "[scenario]\n"
    "name = full-1\n"
    "description = Every key set\n"
    "start = 2025-03-01T06:00:00Z\n"
    "days = 7\n"
    "seed = 18446744073709551615\n"
    "\n"
    "[limits]\n"
    "miner = 500\n"
    "validator = 50000\n"
    "total = 1000000\n"
    "role.relay = 30\n"
    "window = utc+05:30\n"
    "policy = atomic\n"
    "\n"
    "[population fast]\n"
    "role = relay\n"
    "count = 3472\n"
    "cadence = fixed-delay\n"
    "interval = 5m\n"
    "work = 2m..8m\n"
    "jitter = 30s\n"
    "start = 00:30\n"
    "first_delay = 30m\n"
    "auth = invalid\n"
    "\n"
    "[population slow]\n"
    "role = validator\n"
    "interval = 2h\n"
    "start = random\n"
    "\n"
    "[expect]\n"
    "outcome = rejects\n"
    "max_rejections = 268\n"
    "min_headroom = 42.4%\n"
    "rejections = 268\n"
    "first_rejection = 2025-03-01T07:40:00Z\n"
    "global_exhausted = none\n";

static void test_full_scenario_fields(void)
{
    sim_scenario sc;
    const sim_population *p;

    if (parse_ok(&sc, full_text) != 0)
        return;
    CU_ASSERT_STRING_EQUAL(sc.path, PATH);
    CU_ASSERT_STRING_EQUAL(sc.name, "full-1");
    CU_ASSERT_STRING_EQUAL(sc.description, "Every key set");
    CU_ASSERT_EQUAL(sc.start_us, iso("2025-03-01T06:00:00Z"));
    CU_ASSERT_EQUAL(sc.days, 7);
    CU_ASSERT_EQUAL(sc.seed, UINT64_MAX);

    CU_ASSERT_EQUAL(sc.limits.roles[rl_limits_role_index(&sc.limits, "miner")]
                        .per_client.value, 500);
    CU_ASSERT_EQUAL(sc.limits.roles[rl_limits_role_index(&sc.limits,
                                                         "validator")]
                        .per_client.value, 50000);
    CU_ASSERT_EQUAL(sc.limits.total.value, 1000000);
    CU_ASSERT_EQUAL(sc.limits.total.source, RL_SOURCE_SCENARIO);
    CU_ASSERT_STRING_EQUAL(sc.limits.total.origin, PATH ":12");
    CU_ASSERT_EQUAL(sc.window.kind, RL_WINDOW_CALENDAR_DAY);
    CU_ASSERT_EQUAL(sc.window.utc_offset_s, 5 * 3600 + 30 * 60);
    CU_ASSERT_EQUAL(sc.policy, RL_POLICY_ATOMIC);

    CU_ASSERT_EQUAL_FATAL(sc.npops, 2);
    p = &sc.pops[0];
    CU_ASSERT_STRING_EQUAL(p->name, "fast");
    CU_ASSERT_STRING_EQUAL(p->role, "relay");
    CU_ASSERT_EQUAL(p->role_index, rl_limits_role_index(&sc.limits, "relay"));
    CU_ASSERT(p->role_index >= 0);
    if (p->role_index >= 0) {
        const rl_limit_value *v = &sc.limits.roles[p->role_index].per_client;

        CU_ASSERT_EQUAL(v->value, 30);
        CU_ASSERT_EQUAL(v->source, RL_SOURCE_SCENARIO);
        CU_ASSERT_STRING_EQUAL(v->origin, PATH ":13");
    }
    CU_ASSERT_EQUAL(p->count, 3472);
    CU_ASSERT_EQUAL(p->cadence, SIM_CADENCE_FIXED_DELAY);
    CU_ASSERT_EQUAL(p->interval_us, 5 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(p->work_min_us, 2 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(p->work_max_us, 8 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(p->jitter_us, 30 * RL_US_PER_SEC);
    CU_ASSERT_EQUAL(p->start, SIM_START_OFFSET);
    CU_ASSERT_EQUAL(p->start_offset_us, 30 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(p->first_delay_us, 30 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(p->auth_valid, 0);
    CU_ASSERT_EQUAL(p->line, 17);

    p = &sc.pops[1];
    CU_ASSERT_STRING_EQUAL(p->name, "slow");
    CU_ASSERT_EQUAL(p->role_index,
                    rl_limits_role_index(&sc.limits, "validator"));
    CU_ASSERT_EQUAL(p->start, SIM_START_RANDOM);
    CU_ASSERT_EQUAL(p->interval_us, 2 * RL_US_PER_HOUR);
    CU_ASSERT_EQUAL(p->line, 28);

    CU_ASSERT(sc.expect.has_outcome);
    CU_ASSERT_EQUAL(sc.expect.outcome_fits, 0);
    CU_ASSERT(sc.expect.has_max_rejections);
    CU_ASSERT_EQUAL(sc.expect.max_rejections, 268);
    CU_ASSERT(sc.expect.has_min_headroom);
    CU_ASSERT_DOUBLE_EQUAL(sc.expect.min_headroom_pct, 42.4, 1e-9);
    CU_ASSERT(sc.expect.has_rejections);
    CU_ASSERT_EQUAL(sc.expect.rejections, 268);
    CU_ASSERT(sc.expect.has_first_rejection);
    CU_ASSERT_EQUAL(sc.expect.first_rejection_us, iso("2025-03-01T07:40:00Z"));
    CU_ASSERT(sc.expect.has_global_exhausted);
    CU_ASSERT_EQUAL(sc.expect.global_exhausted_us, INT64_MIN);
    sim_scenario_free(&sc);
}

static void test_defaults(void)
{
    sim_scenario sc;
    const sim_population *p;
    int miner;

    if (parse_ok(&sc, "[population solo]\ninterval = 72m\n") != 0)
        return;
    CU_ASSERT_STRING_EQUAL(sc.name, "x");
    CU_ASSERT_STRING_EQUAL(sc.description, "");
    CU_ASSERT_EQUAL(sc.start_us, iso("2025-01-01T00:00:00Z"));
    CU_ASSERT_EQUAL(sc.days, 1);
    CU_ASSERT_EQUAL(sc.seed, 1);

    miner = rl_limits_role_index(&sc.limits, "miner");
    CU_ASSERT_FATAL(miner >= 0);
    CU_ASSERT_EQUAL(sc.limits.roles[miner].per_client.value, 20);
    CU_ASSERT_EQUAL(sc.limits.roles[miner].per_client.source, RL_SOURCE_DEFAULT);
    CU_ASSERT_EQUAL(sc.limits.total.value, 200000);
    CU_ASSERT_EQUAL(sc.window.kind, RL_WINDOW_CALENDAR_DAY);
    CU_ASSERT_EQUAL(sc.window.utc_offset_s, 0);
    CU_ASSERT_EQUAL(sc.policy, RL_POLICY_DEPLOYED);

    CU_ASSERT_EQUAL_FATAL(sc.npops, 1);
    p = &sc.pops[0];
    CU_ASSERT_STRING_EQUAL(p->role, "miner");
    CU_ASSERT_EQUAL(p->role_index, miner);
    CU_ASSERT_EQUAL(p->count, 1);
    CU_ASSERT_EQUAL(p->cadence, SIM_CADENCE_FIXED_RATE);
    CU_ASSERT_EQUAL(p->interval_us, 72 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(p->work_min_us, 0);
    CU_ASSERT_EQUAL(p->work_max_us, 0);
    CU_ASSERT_EQUAL(p->jitter_us, 0);
    CU_ASSERT_EQUAL(p->start, SIM_START_SPREAD);
    CU_ASSERT_EQUAL(p->first_delay_us, 0);
    CU_ASSERT_EQUAL(p->auth_valid, 1);

    CU_ASSERT_FALSE(sc.expect.has_outcome);
    CU_ASSERT_FALSE(sc.expect.has_max_rejections);
    CU_ASSERT_FALSE(sc.expect.has_min_headroom);
    CU_ASSERT_FALSE(sc.expect.has_rejections);
    CU_ASSERT_FALSE(sc.expect.has_first_rejection);
    CU_ASSERT_FALSE(sc.expect.has_global_exhausted);
    sim_scenario_free(&sc);
}

/* One bad input: the message must contain each non-NULL part. */
typedef struct bad_case {
    const char *text;
    const char *where; /* "scenarios/x.ini:N:" */
    const char *part1; /* usually the key */
    const char *part2; /* usually the value */
    const char *part3; /* what was expected */
} bad_case;

static const bad_case bad_cases[] = {
    {"[scenario]\nname = a\nname = b\n" POP, PATH ":3:", "name = 'b'",
     "duplicate key", "line 2"},
    {"[limits]\nminer = 1\n[limits]\n" POP, PATH ":3:", "[limits]",
     "duplicate section", "line 1"},
    {POP "[population p]\ninterval = 1h\n", PATH ":3:", "[population p]",
     "unique", "line 1"},
    {"[scenery]\n" POP, PATH ":1:", "[scenery]", "unknown section",
     "[population NAME]"},
    {"[scenario]\nnmae = x\n" POP, PATH ":2:", "nmae = 'x'", "[scenario]",
     "name, description, start, days, seed"},
    {"[limits]\nminers = 5\n" POP, PATH ":2:", "miners = '5'", "role.NAME", NULL},
    {"name = x\n" POP, PATH ":1:", "name = 'x'", "outside any section", NULL},
    {"[population p]\ncount = 3\n", PATH ":1:", "[population p]",
     "missing key 'interval'", "5m"},
    {"[scenario]\nname = lonely\n", PATH ":", "no [population NAME]", NULL,
     NULL},
    {"", PATH ":", "no sections", NULL, NULL},
    {"; only a comment\n\n", PATH ":", "no sections", NULL, NULL},
    {"[population p]\ninterval = 5 min\n", PATH ":2:", "interval = '5 min'",
     "invalid duration", "1h30m"},
    {"[population p]\ninterval = 0s\n", PATH ":2:", "interval = '0s'",
     "greater than zero", NULL},
    {"[scenario]\ndays = 0\n" POP, PATH ":2:", "days = '0'", "out of range",
     "1 to 3660"},
    {"[scenario]\ndays = 3661\n" POP, PATH ":2:", "days = '3661'",
     "out of range", "1 to 3660"},
    {"[scenario]\ndays = 1.5\n" POP, PATH ":2:", "days = '1.5'",
     "invalid number", NULL},
    {"[scenario]\nseed = -1\n" POP, PATH ":2:", "seed = '-1'", "invalid seed",
     NULL},
    {"[scenario]\nseed = 18446744073709551616\n" POP, PATH ":2:",
     "seed = '18446744073709551616'", "out of range", NULL},
    {"[scenario]\nstart = 2025-01-01T00:00:00\n" POP, PATH ":2:",
     "start = '2025-01-01T00:00:00'", "time zone", NULL},
    {"[scenario]\nname = has space\n" POP, PATH ":2:", "name = 'has space'",
     "invalid name", NULL},
    {"[population p]\ninterval = 5m\ncount = 0\n", PATH ":3:", "count = '0'",
     "1 to 10000000", NULL},
    {"[population p]\ninterval = 5m\ncount = 10000001\n", PATH ":3:",
     "count = '10000001'", "1 to 10000000", NULL},
    {"[population p]\ninterval = 5m\ncadence = steady\n", PATH ":3:",
     "cadence = 'steady'", "fixed-rate or fixed-delay", NULL},
    {"[population p]\nwork = 3m\ninterval = 5m\n", PATH ":2:", "work = '3m'",
     "fixed-delay", NULL},
    {"[population p]\ncadence = fixed-delay\ninterval = 5m\nwork = 8m..2m\n",
     PATH ":4:", "work = '8m..2m'", "MIN <= MAX", NULL},
    {"[population p]\ncadence = fixed-delay\ninterval = 5m\nwork = 2m..x\n",
     PATH ":4:", "work = '2m..x'", "MIN..MAX", NULL},
    {"[population p]\njitter = 150s\ninterval = 5m\n", PATH ":2:",
     "jitter = '150s'", "half the interval (5m)", NULL},
    {"[population p]\ninterval = 5m\nstart = 00:61\n", PATH ":3:",
     "start = '00:61'", "HH:MM", NULL},
    {"[population p]\ninterval = 5m\nstart = soon\n", PATH ":3:",
     "start = 'soon'", "spread, together, random", NULL},
    {"[population p]\ninterval = 5m\nstart = 25h\n", PATH ":3:",
     "start = '25h'", "run's end", NULL},
    {"[population p]\ninterval = 5m\nfirst_delay = 1d\n", PATH ":3:",
     "first_delay = '1d'", "run's end", NULL},
    {"[population p]\ninterval = 5m\nauth = maybe\n", PATH ":3:",
     "auth = 'maybe'", "valid or invalid", NULL},
    {"[population p]\ninterval = 5m\nrole = relay\n", PATH ":3:",
     "role = 'relay'", "miner, validator", "role.relay"},
    {"[population p]\ninterval = 5m\nrole = Miner\n", PATH ":3:",
     "role = 'Miner'", "lower-case", NULL},
    {"[population]\ninterval = 5m\n", PATH ":1:", "[population]",
     "population name", NULL},
    {"[population a b]\ninterval = 5m\n", PATH ":1:", "'a b'",
     "population name", NULL},
    {"[limits]\nminer = 5x\n" POP, PATH ":2:", "miner='5x'", "whole number",
     "digits only"},
    {"[limits]\ntotal = 1e6\n" POP, PATH ":2:", "total='1e6'", "exponent",
     NULL},
    {"[limits]\nminer = 5\nrole.miner = 6\n" POP, PATH ":3:",
     "role.miner = '6'", "already set on line 2", NULL},
    {"[limits]\nrole.Relay = 6\n" POP, PATH ":2:", "role.Relay = '6'",
     "invalid role name", NULL},
    {"[limits]\nwindow = weekly\n" POP, PATH ":2:", "window = 'weekly'",
     "utc-day", NULL},
    {"[limits]\npolicy = lax\n" POP, PATH ":2:", "policy = 'lax'", "atomic",
     NULL},
    {"[limits]\ncontainer = api\n" POP, PATH ":2:", "container = 'api'",
     "no env file", NULL},
    {"[limits]\nenv = missing.env\n" POP, PATH ":2:", "env = 'missing.env'",
     "scenarios/missing.env", "No such file"},
    {"[expect]\noutcome = maybe\n" POP, PATH ":2:", "outcome = 'maybe'",
     "fits or rejects", NULL},
    {"[expect]\nmin_headroom = lots\n" POP, PATH ":2:",
     "min_headroom = 'lots'", "percentage", NULL},
    {"[expect]\nmin_headroom = 100.5%\n" POP, PATH ":2:",
     "min_headroom = '100.5%'", "out of range", NULL},
    {"[expect]\nmin_headroom = 1e2\n" POP, PATH ":2:", "min_headroom = '1e2'",
     "percentage", NULL},
    {"[expect]\nrejections = -3\n" POP, PATH ":2:", "rejections = '-3'",
     "whole number", NULL},
    {"[expect]\nfirst_rejection = soon\n" POP, PATH ":2:",
     "first_rejection = 'soon'", "invalid time", NULL},
    {"[expect]\nglobal_exhausted = 2025-13-01T00:00:00Z\n" POP, PATH ":2:",
     "global_exhausted = '2025-13-01T00:00:00Z'", "no such date", NULL},
    {"[expect]\noutcome = fits\nrejections = 4\n" POP, PATH ":1:",
     "outcome = fits", "rejections = 4", NULL},
    {"[expect]\noutcome = rejects\nfirst_rejection = none\n" POP, PATH ":1:",
     "outcome = rejects", "first_rejection = none", NULL},
    {"[limits\n" POP, PATH ":1:", "'[limits'", "missing ']'", NULL},
    {"[limits] extra\n" POP, PATH ":1:", "unexpected text after ']'", NULL,
     NULL},
    {"[scenario]\njust words\n" POP, PATH ":2:", "'just words'",
     "invalid line", NULL},
    /* inih 55 treats only ';' as an inline comment, so '#' stays in. */
    {"[population p]\ninterval = 5m # five minutes\n", PATH ":2:",
     "interval = '5m # five minutes'", "invalid duration", NULL},
    /* An indented line is not a continuation of the value above it. */
    {"[scenario]\ndescription = one\n  two\n" POP, PATH ":3:", "'two'",
     "invalid line", NULL},
    {"[scenario]\ndays = 1\ndays = 2\n[population p]\n", PATH ":3:",
     "days = '2'", "duplicate key", NULL},
};

static void test_bad_inputs(void)
{
    size_t i;

    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const bad_case *bc = &bad_cases[i];
        const char *parts[] = {bc->where, bc->part1, bc->part2, bc->part3};
        sim_scenario sc;
        rl_error e = {{0}};
        size_t k;
        int rc;

        rc = sim_scenario_parse(&sc, bc->text, strlen(bc->text), PATH, &e);
        CU_ASSERT_EQUAL(rc, RL_ERR_INVALID);
        if (rc != RL_ERR_INVALID)
            fprintf(stderr, "\ncase %zu parsed without error:\n%s", i,
                    bc->text);
        CU_ASSERT_PTR_NULL(sc.pops);
        CU_ASSERT_EQUAL(sc.npops, 0);
        for (k = 0; k < 4; k++) {
            if (parts[k] == NULL)
                continue;
            CU_ASSERT(tst_contains(e.message, parts[k]));
            if (!tst_contains(e.message, parts[k]))
                fprintf(stderr, "\ncase %zu: '%s' not in: %s\n", i, parts[k],
                        e.message);
        }
        CU_ASSERT_EQUAL(strncmp(e.message, bc->where, strlen(bc->where)), 0);
        sim_scenario_free(&sc);
    }
}

/* A line of exactly n bytes: "description = " padded with 'x'. */
static char *long_line_scenario(size_t n, const char *eol)
{
    size_t head = strlen("[scenario]") + strlen(eol);
    char *text = malloc(head + n + 2 * strlen(eol) + 64);

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    sprintf(text, "[scenario]%sdescription = ", eol);
    memset(text + strlen(text), 'x', n - strlen("description = "));
    sprintf(text + head + n, "%s[population p]%sinterval = 5m%s", eol, eol,
            eol);
    return text;
}

static void test_long_lines(void)
{
    sim_scenario sc;
    rl_error e = {{0}};
    char *text;

    /* A line of the maximum length that inih 55 reads whole, with CRLF. */
    text = long_line_scenario(SIM_SCENARIO_LINE_MAX, "\r\n");
    if (parse_ok(&sc, text) == 0) {
        CU_ASSERT_EQUAL(strlen(sc.description),
                        SIM_SCENARIO_LINE_MAX - strlen("description = "));
        sim_scenario_free(&sc);
    }
    free(text);

    text = long_line_scenario(SIM_SCENARIO_LINE_MAX + 1, "\n");
    CU_ASSERT_EQUAL(sim_scenario_parse(&sc, text, strlen(text), PATH, &e),
                    RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, PATH ":2: the line is 200 bytes long"));
    free(text);

    text = long_line_scenario(300, "\n");
    CU_ASSERT_EQUAL(sim_scenario_parse(&sc, text, strlen(text), PATH, &e),
                    RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, PATH ":2: the line is 300 bytes long"));
    CU_ASSERT(tst_contains(e.message, "at most 199 bytes"));
    CU_ASSERT_PTR_NULL(sc.pops);
    free(text);
}

static void test_crlf_bom_and_comments(void)
{
    static const char text[] =
        "\xEF\xBB\xBF; saved by an editor on Windows\r\n"
        "[scenario] ; the header may carry a comment\r\n"
        "  name = crlf\r\n"
        "\tdescription = a; b ; the second part is a comment\r\n"
        "# a full-line comment\r\n"
        "[population p]\r\n"
        "interval: 72m\r\n"
        "count = 2\r\n";
    sim_scenario sc;

    if (parse_ok(&sc, text) != 0)
        return;
    CU_ASSERT_STRING_EQUAL(sc.name, "crlf");
    CU_ASSERT_STRING_EQUAL(sc.description, "a; b");
    CU_ASSERT_EQUAL_FATAL(sc.npops, 1);
    CU_ASSERT_EQUAL(sc.pops[0].interval_us, 72 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(sc.pops[0].count, 2);
    CU_ASSERT_EQUAL(sc.pops[0].line, 6);
    sim_scenario_free(&sc);
}

static void test_crlf_error_line(void)
{
    static const char text[] = "[scenario]\r\n\r\ndays = two\r\n" POP;
    sim_scenario sc;
    rl_error e = {{0}};

    CU_ASSERT_EQUAL(sim_scenario_parse(&sc, text, strlen(text), PATH, &e),
                    RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, PATH ":3: days = 'two'"));
}

static void test_nul_byte(void)
{
    static const char text[] = "[scenario]\nname = a\0b\n" POP;
    sim_scenario sc;
    rl_error e = {{0}};

    CU_ASSERT_EQUAL(sim_scenario_parse(&sc, text, sizeof(text) - 1, PATH, &e),
                    RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, PATH ":2:"));
    CU_ASSERT(tst_contains(e.message, "NUL"));
}

static void test_start_forms(void)
{
    static const struct {
        const char *value;
        sim_start start;
        int64_t offset_us;
    } cases[] = {
        {"spread", SIM_START_SPREAD, 0},
        {"together", SIM_START_TOGETHER, 0},
        {"random", SIM_START_RANDOM, 0},
        {"00:30", SIM_START_OFFSET, 30 * RL_US_PER_MIN},
        {"00:30:15", SIM_START_OFFSET, 30 * RL_US_PER_MIN + 15 * RL_US_PER_SEC},
        {"23:59:59", SIM_START_OFFSET, RL_US_PER_DAY - RL_US_PER_SEC},
        {"30m", SIM_START_OFFSET, 30 * RL_US_PER_MIN},
        {"0s", SIM_START_OFFSET, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[128];
        sim_scenario sc;

        snprintf(text, sizeof(text), "[population p]\ninterval = 1h\nstart = %s\n",
                 cases[i].value);
        if (parse_ok(&sc, text) != 0)
            continue;
        CU_ASSERT_EQUAL(sc.pops[0].start, cases[i].start);
        CU_ASSERT_EQUAL(sc.pops[0].start_offset_us, cases[i].offset_us);
        sim_scenario_free(&sc);
    }
}

/* A run that ends after 9999 would print times with five-digit years,
 * which no [expect] time can match. */
static void test_run_end_in_year_9999(void)
{
    static const char last_days[] =
        "[scenario]\nstart = 9999-12-29\ndays = 2\n" POP;
    static const char past_9999[] =
        "[scenario]\nstart = 9999-12-30\ndays = 2\n" POP;
    static const char default_days[] =
        "[scenario]\nstart = 9999-12-31T23:59:59Z\n" POP;
    sim_scenario sc;
    rl_error e = {{0}};

    if (parse_ok(&sc, last_days) == 0)
        sim_scenario_free(&sc);

    CU_ASSERT_EQUAL(sim_scenario_parse(&sc, past_9999, strlen(past_9999), PATH, &e),
                    RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, PATH ":3: start = '9999-12-30' with days = 2"));
    CU_ASSERT(tst_contains(e.message, "after the year 9999"));

    CU_ASSERT_EQUAL(sim_scenario_parse(&sc, default_days, strlen(default_days),
                                       PATH, &e),
                    RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, PATH ":2: start = '9999-12-31T23:59:59Z'"));
}

static void test_work_and_jitter_bounds(void)
{
    sim_scenario sc;

    /* 2 * 149s999999us < 5m: the largest jitter allowed. */
    if (parse_ok(&sc, "[population p]\ninterval = 5m\njitter = 2m29s999ms999us\n"
                      "cadence = fixed-delay\nwork = 3m\n") != 0)
        return;
    CU_ASSERT_EQUAL(sc.pops[0].jitter_us, 150 * RL_US_PER_SEC - 1);
    CU_ASSERT_EQUAL(sc.pops[0].work_min_us, 3 * RL_US_PER_MIN);
    CU_ASSERT_EQUAL(sc.pops[0].work_max_us, 3 * RL_US_PER_MIN);
    sim_scenario_free(&sc);
}

static void test_headroom_forms(void)
{
    static const struct {
        const char *value;
        double pct;
    } cases[] = {{"42", 42.0}, {"42.4%", 42.4}, {"0", 0.0},
                 {"-250.5", -250.5}, {"100%", 100.0}, {"-1000000000", -1e9}};
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[128];
        sim_scenario sc;

        snprintf(text, sizeof(text), "[expect]\nmin_headroom = %s\n" POP,
                 cases[i].value);
        if (parse_ok(&sc, text) != 0)
            continue;
        CU_ASSERT_DOUBLE_EQUAL(sc.expect.min_headroom_pct, cases[i].pct, 1e-9);
        sim_scenario_free(&sc);
    }
}

/* The env file is found next to the scenario, and a [limits] key overrides
 * it even when it comes before the env key. */
static void test_env_file_override(void)
{
    const char *dir = tst_tmpdir();
    char sub[512], path[600];
    sim_scenario sc;
    rl_error e = {{0}};
    char *env_path, *ini_path;
    int miner, validator;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(sub, sizeof(sub), "%s/scn", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
    env_path = tst_write_file(sub, "deploy.env",
                              "# test network\n"
                              "DAILY_LIMIT_PER_MINER=500\n"
                              "DAILY_LIMIT_PER_VALIDATOR=50000\n"
                              "TOTAL_DAILY_LIMIT=1000000\n");
    ini_path = tst_write_file(sub, "five.ini",
                              "[limits]\n"
                              "miner = 100\n"
                              "env = deploy.env\n" POP);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ini_path);

    CU_ASSERT_EQUAL_FATAL(sim_scenario_load(&sc, ini_path, &e), 0);
    CU_ASSERT_STRING_EQUAL(sc.name, "five");
    miner = rl_limits_role_index(&sc.limits, "miner");
    validator = rl_limits_role_index(&sc.limits, "validator");
    CU_ASSERT_FATAL(miner >= 0 && validator >= 0);

    snprintf(path, sizeof(path), "%s:2", ini_path);
    CU_ASSERT_EQUAL(sc.limits.roles[miner].per_client.value, 100);
    CU_ASSERT_EQUAL(sc.limits.roles[miner].per_client.source,
                    RL_SOURCE_SCENARIO);
    CU_ASSERT_STRING_EQUAL(sc.limits.roles[miner].per_client.origin, path);

    snprintf(path, sizeof(path), "%s:3", env_path);
    CU_ASSERT_EQUAL(sc.limits.roles[validator].per_client.value, 50000);
    CU_ASSERT_EQUAL(sc.limits.roles[validator].per_client.source,
                    RL_SOURCE_FILE);
    CU_ASSERT_STRING_EQUAL(sc.limits.roles[validator].per_client.origin, path);

    snprintf(path, sizeof(path), "%s:4", env_path);
    CU_ASSERT_EQUAL(sc.limits.total.value, 1000000);
    CU_ASSERT_EQUAL(sc.limits.total.source, RL_SOURCE_FILE);
    CU_ASSERT_STRING_EQUAL(sc.limits.total.origin, path);
    sim_scenario_free(&sc);
    free(env_path);
    free(ini_path);
}

static void test_env_file_errors(void)
{
    const char *dir = tst_tmpdir();
    sim_scenario sc;
    rl_error e = {{0}};
    char *env_path, *ini_path;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    env_path = tst_write_file(dir, "bad.env", "DAILY_LIMIT_PER_MINER=20/day\n");
    ini_path = tst_write_file(dir, "bad.ini",
                              "[limits]\nenv = bad.env\ncontainer = api\n" POP);
    CU_ASSERT_EQUAL(sim_scenario_load(&sc, ini_path, &e), RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, ":3: container = 'api'"));
    CU_ASSERT(tst_contains(e.message, "dotenv"));
    free(ini_path);

    ini_path = tst_write_file(dir, "bad.ini", "[limits]\nenv = bad.env\n" POP);
    CU_ASSERT_EQUAL(sim_scenario_load(&sc, ini_path, &e), RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, "bad.ini:2: env = 'bad.env'"));
    CU_ASSERT(tst_contains(e.message, "bad.env:1"));
    CU_ASSERT(tst_contains(e.message, "20/day"));
    CU_ASSERT_PTR_NULL(sc.pops);
    free(env_path);
    free(ini_path);
}

static void test_taskdef_container(void)
{
    const char *dir = tst_tmpdir();
    sim_scenario sc;
    rl_error e = {{0}};
    char *json, *ini;
    int miner;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    json = tst_write_file(
        dir, "task.json",
        "{\"containerDefinitions\": [\n"
        " {\"name\": \"api\", \"environment\": [\n"
        "   {\"name\": \"DAILY_LIMIT_PER_MINER\", \"value\": \"100\"}]},\n"
        " {\"name\": \"worker\", \"environment\": [\n"
        "   {\"name\": \"DAILY_LIMIT_PER_MINER\", \"value\": \"7\"}]}]}\n");
    ini = tst_write_file(dir, "main.ini",
                         "[limits]\nenv = task.json\ncontainer = api\n" POP);
    CU_ASSERT_EQUAL_FATAL(sim_scenario_load(&sc, ini, &e), 0);
    miner = rl_limits_role_index(&sc.limits, "miner");
    CU_ASSERT_FATAL(miner >= 0);
    CU_ASSERT_EQUAL(sc.limits.roles[miner].per_client.value, 100);
    CU_ASSERT_EQUAL(sc.limits.roles[miner].per_client.source, RL_SOURCE_FILE);
    sim_scenario_free(&sc);
    free(ini);

    /* Two containers define limits: naming none is an error. */
    ini = tst_write_file(dir, "main.ini", "[limits]\nenv = task.json\n" POP);
    CU_ASSERT_EQUAL(sim_scenario_load(&sc, ini, &e), RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, "main.ini:2: env = 'task.json'"));
    free(json);
    free(ini);
}

static void test_load_errors(void)
{
    const char *dir = tst_tmpdir();
    sim_scenario sc;
    rl_error e = {{0}};
    char path[512];
    char *big, *big_path;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof(path), "%s/absent.ini", dir);
    CU_ASSERT_EQUAL(sim_scenario_load(&sc, path, &e), RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, path));
    CU_ASSERT(tst_contains(e.message, "No such file"));
    sim_scenario_free(&sc);

    /* A file over 1 MiB of comment lines. */
    big = malloc(SIM_SCENARIO_FILE_MAX + 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, '\n', SIM_SCENARIO_FILE_MAX + 1);
    big[0] = ';';
    big[SIM_SCENARIO_FILE_MAX + 1] = '\0';
    big_path = tst_write_file(dir, "big.ini", big);
    CU_ASSERT_EQUAL(sim_scenario_load(&sc, big_path, &e), RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, "1 MiB"));
    free(big);
    free(big_path);

    /* An empty file is read, then rejected by the parser. */
    big_path = tst_write_file(dir, "empty.ini", "");
    CU_ASSERT_EQUAL(sim_scenario_load(&sc, big_path, &e), RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, "empty.ini: no sections"));
    free(big_path);
}

static void test_free_twice_after_error(void)
{
    static const char text[] = POP "[population q]\ninterval = 1h\n"
                                   "[population r]\nrole = ghost\ninterval = 1h\n";
    sim_scenario sc;
    rl_error e = {{0}};

    CU_ASSERT_EQUAL(sim_scenario_parse(&sc, text, strlen(text), PATH, &e),
                    RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, PATH ":6: role = 'ghost'"));
    CU_ASSERT_PTR_NULL(sc.pops);
    sim_scenario_free(&sc);
    sim_scenario_free(&sc);
    sim_scenario_free(NULL);
}

static void test_many_populations(void)
{
    size_t cap = 64 * (SIM_POPULATIONS_MAX + 1);
    char *text = malloc(cap);
    size_t used = 0;
    sim_scenario sc;
    rl_error e = {{0}};
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (i = 0; i < SIM_POPULATIONS_MAX; i++)
        used += (size_t)snprintf(text + used, cap - used,
                                 "[population p%d]\ninterval = %dm\n", i, i + 1);
    if (parse_ok(&sc, text) == 0) {
        CU_ASSERT_EQUAL(sc.npops, SIM_POPULATIONS_MAX);
        CU_ASSERT_EQUAL(sc.pops[999].interval_us, 1000 * RL_US_PER_MIN);
        sim_scenario_free(&sc);
    }
    snprintf(text + used, cap - used, "[population one-more]\ninterval = 1m\n");
    CU_ASSERT_EQUAL(sim_scenario_parse(&sc, text, strlen(text), PATH, &e),
                    RL_ERR_INVALID);
    CU_ASSERT(tst_contains(e.message, "too many populations"));
    free(text);
}

/*
 * Mutates the full scenario at random (fixed seed, so every run is the same)
 * by overwriting, deleting or duplicating bytes.  Every result must either
 * parse or fail with a message that starts with the file name, and leave
 * nothing allocated after an error.
 */
static void test_mutated_inputs(void)
{
    static const char alphabet[] = "[]=:;# \t\r\n.0123456789abcdemsuxyz-%";
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    char text[2 * sizeof(full_text)];
    int round, errors = 0;

    for (round = 0; round < 3000; round++) {
        size_t len = sizeof(full_text) - 1;
        sim_scenario sc;
        rl_error e = {{0}};
        int edit;

        memcpy(text, full_text, len);
        for (edit = 0; edit < 4; edit++) {
            size_t at;

            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            at = (size_t)(state >> 33) % len;
            switch ((state >> 20) % 3) {
            case 0:
                text[at] = alphabet[(state >> 40) % (sizeof(alphabet) - 1)];
                break;
            case 1:
                memmove(text + at, text + at + 1, len - at - 1);
                len--;
                break;
            default:
                if (len + 1 < sizeof(text)) {
                    memmove(text + at + 1, text + at, len - at);
                    len++;
                }
                break;
            }
        }
        if (sim_scenario_parse(&sc, text, len, PATH, &e) == 0) {
            CU_ASSERT(sc.npops >= 1);
            sim_scenario_free(&sc);
            continue;
        }
        errors++;
        CU_ASSERT_EQUAL(strncmp(e.message, PATH ":", strlen(PATH ":")), 0);
        CU_ASSERT_PTR_NULL(sc.pops);
    }
    /* Most mutations must be caught, or the parser accepts too much. */
    CU_ASSERT(errors > 1500);
}

/* Every ```ini block of docs/scenarios.md must parse, so the examples in
 * the documentation stay true. */
static void test_docs_examples_parse(void)
{
    FILE *f = fopen(RATELAB_SOURCE_DIR "/docs/scenarios.md", "r");
    char line[512];
    char *block = NULL;
    size_t len = 0;
    int in_block = 0, blocks = 0, first_line = 0, n = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        n++;
        if (!in_block && strncmp(line, "```ini", 6) == 0) {
            in_block = 1;
            first_line = n + 1;
            len = 0;
            continue;
        }
        if (in_block && strncmp(line, "```", 3) == 0) {
            sim_scenario sc;
            rl_error e = {{0}};
            int rc;

            in_block = 0;
            blocks++;
            rc = sim_scenario_parse(&sc, block != NULL ? block : "", len,
                                    "docs-example.ini", &e);
            CU_ASSERT_EQUAL(rc, 0);
            if (rc != 0)
                fprintf(stderr, "\ndocs/scenarios.md block at line %d: %s\n",
                        first_line, e.message);
            sim_scenario_free(&sc);
            continue;
        }
        if (in_block) {
            size_t add = strlen(line);
            char *grown = realloc(block, len + add + 1);

            CU_ASSERT_PTR_NOT_NULL_FATAL(grown);
            block = grown;
            memcpy(block + len, line, add + 1);
            len += add;
        }
    }
    fclose(f);
    free(block);
    CU_ASSERT(blocks >= 2);
}

static CU_TestInfo tests[] = {
    {"full scenario fields", test_full_scenario_fields},
    {"defaults", test_defaults},
    {"bad inputs", test_bad_inputs},
    {"long lines", test_long_lines},
    {"CRLF, BOM and comments", test_crlf_bom_and_comments},
    {"CRLF error line", test_crlf_error_line},
    {"NUL byte", test_nul_byte},
    {"start forms", test_start_forms},
    {"run end in year 9999", test_run_end_in_year_9999},
    {"work and jitter bounds", test_work_and_jitter_bounds},
    {"headroom forms", test_headroom_forms},
    {"env file override", test_env_file_override},
    {"env file errors", test_env_file_errors},
    {"task definition container", test_taskdef_container},
    {"load errors", test_load_errors},
    {"free twice after error", test_free_twice_after_error},
    {"many populations", test_many_populations},
    {"mutated inputs", test_mutated_inputs},
    {"docs examples parse", test_docs_examples_parse},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tst_main("scenario", NULL, NULL, tests);
}
