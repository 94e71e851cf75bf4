/*
 * cmd_sim.c: `ratelab sim`, which runs scenario files through the
 * simulator and prints a verdict and a report for each.
 *
 * Every input is parsed before anything runs, so a bad file stops the
 * command with one error (file:line from the parser) and no report.  Then
 * each scenario runs in the order given (a directory's *.ini files sorted
 * by name) and its report is printed: text as each run ends, or one JSON
 * document at the end.
 *
 * Exit status: 0 every expectation of every scenario holds, 1 at least one
 * failed, 2 bad input (option, file, scenario, or a run that cannot be
 * made).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_report.h"
#include "rpt.h"
#include "sim.h"
#include "sim_parallel.h"
#include "sim_scenario.h"
#include "sim_trace.h"

static const char sim_usage[] =
    "Usage: ratelab sim [--format F] [--out DIR] [--junit FILE] [--policy P]\n"
    "                   [--seed N] [--max-requests N] FILE|DIR...\n"
    "       ratelab sim --trace CSV [--skip-bad-rows] [SCENARIO | --env FILE...\n"
    "                   --limit VAR=N... --window W] [--format F] [--policy P]\n"
    "\n"
    "Simulate client populations against daily request limits and answer:\n"
    "does this cadence fit, with how much headroom, and if not, when is the\n"
    "first request rejected?\n"
    "\n"
    "Each FILE is a scenario (INI: [scenario], [limits], [population NAME],\n"
    "[expect]; see docs/scenarios.md).  A DIR runs every *.ini file directly\n"
    "in it, sorted by name; hidden files and other names are skipped, and a\n"
    "*.ini entry that is not a readable regular file is an error.\n"
    "Every request is decided by the same limiter core as `ratelab serve`,\n"
    "with an in-memory store.\n"
    "\n"
    "Options:\n"
    "  --format F        report format on stdout: text (default), md (Markdown),\n"
    "                    json (one document, schema_version 1, for all\n"
    "                    scenarios) or csv (one row per population)\n"
    "  --json            the same as --format json\n"
    "  --out DIR         also write report.md, report.json, summary.csv and per\n"
    "                    scenario DIR/NAME/ with hourly and usage CSV time\n"
    "                    series, gnuplot scripts, and PNG and SVG plots when\n"
    "                    gnuplot is installed (see docs/reports.md)\n"
    "  --junit FILE      write JUnit XML: one test case per [expect] key\n"
    "  --policy P        decide with policy P instead of the scenario's:\n"
    "                    'deployed' (the live service's rules: a request that\n"
    "                    fails authentication still counts), 'atomic', or an\n"
    "                    alternative algorithm: 'sliding-log', 'sliding-window',\n"
    "                    'gcra' (docs/realism.md)\n"
    "  --seed N          random seed for every scenario instead of its own\n"
    "                    (unsigned 64-bit integer); a seed gives the same\n"
    "                    result every time\n"
    "  --max-requests N  refuse a scenario that would make more than N\n"
    "                    requests (default 1000000000)\n"
    "  --engine E        simulator engine: auto (default: the fast path when\n"
    "                    the scenario allows it), general (the event loop) or\n"
    "                    fast (an error when the scenario does not allow it);\n"
    "                    every engine gives the same results (docs/sim-engine.md)\n"
    "  --threads N       run up to N scenarios at once (default: the number of\n"
    "                    online CPUs, at most 64); reports keep their order\n"
    "  -h, --help        print this help\n"
    "\n"
    "Trace replay (docs/realism.md): --trace CSV replays recorded requests\n"
    "(rows time,client,role[,auth]; times ISO-8601 or epoch seconds or\n"
    "milliseconds) under the limits of SCENARIO (its populations are ignored)\n"
    "or, without one, the defaults, the environment, each --env FILE (dotenv\n"
    "or task definition) and each --limit VAR=N (such as\n"
    "DAILY_LIMIT_PER_MINER=20), in that order.\n"
    "  --trace CSV       the trace file ('-' reads stdin)\n"
    "  --skip-bad-rows   count and skip rows that cannot be read, instead of\n"
    "                    stopping at the first one\n"
    "  --env FILE        read limits from FILE (repeatable)\n"
    "  --limit VAR=N     set one limit variable (repeatable)\n"
    "  --window W        the limit window: utc-day (default), utc+HH:MM, or a\n"
    "                    duration\n"
    "\n"
    "The text report starts with the verdict, e.g.\n"
    "  FITS  five-minute-vs-500: 288 requests/day per miner against 500/day,\n"
    "  headroom 42.4 %\n"
    "  REJECTS five-minute-vs-20: first rejection 2025-01-01T01:40:00Z\n"
    "  (miners-0); 268 of 288 rejected per client-day\n"
    "then the limits and their sources, a block per population, the global\n"
    "total's usage and each [expect] key, met or failed.  See docs/sim.md.\n"
    "\n"
    "Exit status: 0 every expectation holds, 1 an expectation failed, 2 bad\n"
    "input (one message on stderr naming the file and line).\n";

/* Most --env and --limit options one command takes. */
#define SIM_OPTION_LIST_MAX 16

/* getopt codes of the trace options, outside the range of characters. */
enum { OPT_TRACE = 1000, OPT_SKIP_BAD_ROWS, OPT_ENV, OPT_LIMIT, OPT_WINDOW };

/* Scenario files are small; a larger file is a mistake. */
#define SIM_FILE_MAX_BYTES (1u << 20)

typedef struct sim_options {
    cli_format format;
    const char *out_dir;
    const char *junit_path;
    int help;
    int threads; /* 0: one per online CPU */
    sim_config config;
    /* Trace replay (docs/realism.md). */
    const char *trace;
    int skip_bad_rows;
    const char *env_files[SIM_OPTION_LIST_MAX];
    int n_env_files;
    const char *limit_sets[SIM_OPTION_LIST_MAX];
    int n_limit_sets;
    const char *window;
    /* First occurrences of the options that take one value. */
    cli_once format_once, out_once, junit_once, policy_once, seed_once, engine_once,
        threads_once, max_requests_once, trace_once, window_once;
} sim_options;

static int check_limit_repeat(const sim_options *opt, const char *set)
{
    const char *eq = strchr(set, '=');
    size_t var_len = eq != NULL ? (size_t)(eq - set) : strlen(set);

    for (int i = 0; i < opt->n_limit_sets; i++) {
        const char *prev = opt->limit_sets[i];
        if (strncmp(prev, set, var_len) == 0 && prev[var_len] == set[var_len] &&
            strcmp(prev, set) != 0)
            return cli_usage_error("sim", "--limit '%s' and --limit '%s' set %.*s "
                                          "twice with different values: give it once",
                                   prev, set, (int)var_len, set);
    }
    return 0;
}

static int parse_option(int ch, const char *arg, sim_options *opt)
{
    rl_error err;
    uint64_t v;

    switch (ch) {
    case 'j':
        if (cli_option_once("sim", &opt->format_once, "--json", NULL, "json") != 0)
            return CLI_EXIT_USAGE;
        opt->format = CLI_FORMAT_JSON;
        return 0;
    case 'f':
        if (cli_option_once("sim", &opt->format_once, "--format", arg, arg) != 0)
            return CLI_EXIT_USAGE;
        return cli_format_parse("sim", arg, &opt->format);
    case 'o':
        opt->out_dir = arg;
        return cli_option_once("sim", &opt->out_once, "--out", arg, arg);
    case 'J':
        opt->junit_path = arg;
        return cli_option_once("sim", &opt->junit_once, "--junit", arg, arg);
    case 'h':
        opt->help = 1;
        return 0;
    case 'p':
        if (cli_option_once("sim", &opt->policy_once, "--policy", arg, arg) != 0)
            return CLI_EXIT_USAGE;
        if (rl_algo_policy_parse(arg, &opt->config.algorithm, &opt->config.policy,
                                 &err) < 0)
            return cli_usage_error("sim",
                                   "--policy '%s': expected deployed, atomic, "
                                   "sliding-log, sliding-window or gcra",
                                   arg);
        opt->config.override_policy = 1;
        return 0;
    case OPT_TRACE:
        opt->trace = arg;
        return cli_option_once("sim", &opt->trace_once, "--trace", arg, arg);
    case OPT_SKIP_BAD_ROWS:
        opt->skip_bad_rows = 1;
        return 0;
    case OPT_WINDOW:
        opt->window = arg;
        return cli_option_once("sim", &opt->window_once, "--window", arg, arg);
    case OPT_ENV:
    case OPT_LIMIT: {
        if (ch == OPT_LIMIT && check_limit_repeat(opt, arg) != 0)
            return CLI_EXIT_USAGE;
        const char **list = ch == OPT_ENV ? opt->env_files : opt->limit_sets;
        int *n = ch == OPT_ENV ? &opt->n_env_files : &opt->n_limit_sets;
        if (*n == SIM_OPTION_LIST_MAX)
            return cli_usage_error("sim", "too many %s options: at most %d",
                                   ch == OPT_ENV ? "--env" : "--limit",
                                   SIM_OPTION_LIST_MAX);
        list[(*n)++] = arg;
        return 0;
    }
    case 's':
        if (cli_option_once("sim", &opt->seed_once, "--seed", arg, arg) != 0)
            return CLI_EXIT_USAGE;
        if (cli_parse_u64(arg, &opt->config.seed) < 0)
            return cli_usage_error("sim",
                                   "--seed '%s': expected an unsigned integer "
                                   "from 0 to 18446744073709551615",
                                   arg);
        opt->config.override_seed = 1;
        return 0;
    case 'e':
        if (cli_option_once("sim", &opt->engine_once, "--engine", arg, arg) != 0)
            return CLI_EXIT_USAGE;
        if (strcmp(arg, "auto") == 0)
            opt->config.engine = SIM_ENGINE_AUTO;
        else if (strcmp(arg, "general") == 0)
            opt->config.engine = SIM_ENGINE_GENERAL;
        else if (strcmp(arg, "fast") == 0)
            opt->config.engine = SIM_ENGINE_FAST;
        else
            return cli_usage_error("sim", "--engine '%s': expected auto, general or fast",
                                   arg);
        return 0;
    case 't':
        if (cli_option_once("sim", &opt->threads_once, "--threads", arg, arg) != 0)
            return CLI_EXIT_USAGE;
        if (cli_parse_u64(arg, &v) < 0 || v == 0 || v > SIM_THREADS_MAX)
            return cli_usage_error("sim", "--threads '%s': expected an integer from 1 "
                                          "to %d",
                                   arg, SIM_THREADS_MAX);
        opt->threads = (int)v;
        return 0;
    case 'm':
        if (cli_option_once("sim", &opt->max_requests_once, "--max-requests", arg,
                            arg) != 0)
            return CLI_EXIT_USAGE;
        if (cli_parse_u64(arg, &v) < 0 || v == 0 || v > (uint64_t)INT64_MAX)
            return cli_usage_error("sim",
                                   "--max-requests '%s': expected a positive "
                                   "integer",
                                   arg);
        opt->config.max_requests = (int64_t)v;
        return 0;
    }
    return CLI_EXIT_USAGE;
}

/* Checks that trace-only options come with --trace, and that the limits
 * come from one place. */
static int check_trace_options(const sim_options *opt, int nargs)
{
    int limit_options = opt->n_env_files > 0 || opt->n_limit_sets > 0 || opt->window;

    if (opt->trace == NULL && (limit_options || opt->skip_bad_rows))
        return cli_usage_error("sim", "--env, --limit, --window and --skip-bad-rows "
                                      "apply to --trace only: scenarios set their "
                                      "limits in [limits]");
    if (opt->trace != NULL && nargs > 1)
        return cli_usage_error("sim", "--trace takes at most one scenario, for its "
                                      "limits; %d given",
                               nargs);
    if (opt->trace != NULL && nargs == 1 && limit_options)
        return cli_usage_error("sim", "--trace: the limits come either from the "
                                      "scenario or from --env, --limit and --window, "
                                      "not both");
    return 0;
}

/* Parses the options; returns 0, or CLI_EXIT_USAGE after printing why. */
static int parse_options(int argc, char **argv, sim_options *opt)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"format", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"junit", required_argument, NULL, 'J'},
        {"policy", required_argument, NULL, 'p'},
        {"seed", required_argument, NULL, 's'},
        {"max-requests", required_argument, NULL, 'm'},
        {"engine", required_argument, NULL, 'e'},
        {"threads", required_argument, NULL, 't'},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"skip-bad-rows", no_argument, NULL, OPT_SKIP_BAD_ROWS},
        {"env", required_argument, NULL, OPT_ENV},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    sim_config_init(&opt->config);
    opterr = 0; /* the messages below replace getopt's own */
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == ':')
            return cli_usage_error("sim", "option '%s' needs a value",
                                   argv[optind - 1]);
        if (ch == '?')
            return cli_usage_error("sim", "unknown option '%s'", argv[optind - 1]);
        int rc = parse_option(ch, optarg, opt);
        if (rc != 0)
            return rc;
    }
    if (!opt->help && opt->trace == NULL && optind >= argc)
        return cli_usage_error("sim", "no scenario given: name a .ini file or a "
                                      "directory of them, e.g. scenarios/");
    return check_trace_options(opt, argc - optind);
}

/* Parses every file; stops at the first error (printed). */
static int load_scenarios(const cli_path_list *l, sim_scenario *scenarios)
{
    rl_error err;

    for (size_t i = 0; i < l->n; i++) {
        if (sim_scenario_load(&scenarios[i], l->paths[i], &err) < 0) {
            cli_error("%s", err.message);
            return -1;
        }
    }
    return 0;
}

/* Prints a text report as the run ends; other formats are printed by
 * cli_report_finish() at the end. */
static int print_text(const sim_options *opt, const sim_result *r, int first)
{
    int rc;

    if (opt->format != CLI_FORMAT_TEXT)
        return 0;
    if (!first)
        fputc('\n', stdout);
    rc = rpt_text_write(stdout, r);
    fflush(stdout);
    if (rc < 0)
        cli_error("cannot write the report of %s: %s", r->path, rpt_strerror(rc));
    return rc < 0 ? CLI_EXIT_USAGE : 0;
}

/* Every scenario's result, computed up front on several threads. */
typedef struct prerun {
    sim_result **results; /* owned until taken */
    int *status;
    rl_error *errors;
    size_t n;
} prerun;

/* Runs every scenario on --threads threads.  Results are kept by index, so
 * reports come out in the same order, byte for byte, for any thread
 * count.  Returns 0, or -1 when out of memory (reported). */
static int prerun_all(const sim_options *opt, const sim_scenario *scenarios, size_t n,
                      prerun *pre)
{
    size_t slots = n > 0 ? n : 1;

    pre->n = n;
    pre->results = calloc(slots, sizeof(*pre->results));
    pre->status = calloc(slots, sizeof(*pre->status));
    pre->errors = calloc(slots, sizeof(*pre->errors));
    if (pre->results == NULL || pre->status == NULL || pre->errors == NULL) {
        cli_error("out of memory running %zu scenarios", n);
        return -1;
    }
    sim_run_many(scenarios, n, &opt->config, sim_parallel_threads(opt->threads),
                 pre->results, pre->status, pre->errors);
    return 0;
}

/* Hands scenario i's result to the caller (who frees it), or prints the
 * run's error and returns CLI_EXIT_USAGE. */
static int prerun_take(prerun *pre, size_t i, sim_result **r)
{
    *r = pre->results[i];
    pre->results[i] = NULL;
    if (pre->status[i] == 0)
        return CLI_EXIT_OK;
    cli_error("%s", pre->errors[i].message);
    return CLI_EXIT_USAGE;
}

static void prerun_free(prerun *pre)
{
    for (size_t i = 0; pre->results != NULL && i < pre->n; i++)
        sim_result_destroy(pre->results[i]);
    free(pre->results);
    free(pre->status);
    free(pre->errors);
}

/* Runs each scenario and reports it; returns the exit status. */
static int run_all(const sim_options *opt, sim_scenario *scenarios, size_t n)
{
    cli_report rep = {0};
    prerun pre = {0};
    size_t failed = 0, fitting = 0;
    int status = CLI_EXIT_OK;

    rep.command = "sim";
    rep.format = opt->format;
    rep.out_dir = opt->out_dir;
    rep.junit_path = opt->junit_path;
    /* Time series need an observer, which runs one scenario at a time. */
    if (!cli_report_wants_series(&rep) && prerun_all(opt, scenarios, n, &pre) < 0)
        status = CLI_EXIT_USAGE;
    for (size_t i = 0; i < n && status == CLI_EXIT_OK; i++) {
        sim_result *r = NULL;
        sim_series *s = NULL;

        if (pre.results != NULL)
            status = prerun_take(&pre, i, &r);
        else
            status = cli_report_run_scenario(&rep, &scenarios[i], &opt->config, &r, &s);
        if (status == CLI_EXIT_OK)
            status = print_text(opt, r, i == 0);
        if (r != NULL) {
            failed += !r->expectations_met;
            fitting += r->fits;
        }
        if (status == CLI_EXIT_OK)
            status = cli_report_add(&rep, r, s, NULL);
        else {
            sim_result_destroy(r);
            sim_series_destroy(s);
        }
    }

    if (status == CLI_EXIT_OK)
        status = cli_report_finish(&rep);
    if (status == CLI_EXIT_OK && opt->format == CLI_FORMAT_TEXT && n > 1)
        printf("\n%zu scenarios: %zu fit, %zu reject; expectations met in %zu of %zu\n",
               n, fitting, n - fitting, n - failed, n);
    prerun_free(&pre);
    cli_report_free(&rep);
    if (status == CLI_EXIT_OK && failed > 0)
        status = CLI_EXIT_FAILED;
    return status;
}

/* Applies --limit VAR=N options over the limits. */
static int apply_limit_options(const sim_options *opt, rl_limits *limits)
{
    rl_error err;

    for (int i = 0; i < opt->n_limit_sets; i++) {
        const char *set = opt->limit_sets[i], *eq = strchr(set, '=');
        char var[128];
        if (eq == NULL || (size_t)(eq - set) >= sizeof(var))
            return cli_usage_error("sim", "--limit '%s': expected VAR=N, such as "
                                          "DAILY_LIMIT_PER_MINER=20",
                                   set);
        snprintf(var, sizeof(var), "%.*s", (int)(eq - set), set);
        int rc = rl_limits_set_variable(limits, var, eq + 1, RL_SOURCE_OPTION, "--limit",
                                        &err);
        if (rc == 0)
            return cli_usage_error("sim", "--limit '%s': %s is not a limit variable: "
                                          "expected DAILY_LIMIT_PER_<ROLE> or "
                                          "TOTAL_DAILY_LIMIT",
                                   set, var);
        if (rc < 0)
            return cli_usage_error("sim", "--limit '%s': %s", set, err.message);
    }
    return 0;
}

/* Builds the scenario a trace is replayed under, from the defaults, the
 * environment, --env files, --limit and --window. */
static int trace_base_from_options(const sim_options *opt, sim_scenario *base)
{
    rl_error err;

    memset(base, 0, sizeof(*base));
    if (cli_load_limits(&base->limits, opt->env_files, opt->n_env_files, NULL) != 0)
        return CLI_EXIT_USAGE;
    if (apply_limit_options(opt, &base->limits) != 0)
        return CLI_EXIT_USAGE;
    base->window = rl_window_utc_day();
    if (opt->window != NULL && rl_window_parse(opt->window, &base->window, &err) < 0)
        return cli_usage_error("sim", "--window '%s': %s", opt->window, err.message);
    base->policy = RL_POLICY_DEPLOYED;
    base->days = 1;
    base->seed = 1;
    base->expect.first_rejection_us = INT64_MIN;
    base->expect.global_exhausted_us = INT64_MIN;
    return 0;
}

/* Reads and parses the trace; returns NULL after printing why. */
static sim_trace *load_trace(const sim_options *opt)
{
    size_t len = 0;
    char *text = cli_read_file(opt->trace, SIM_TRACE_FILE_MAX, &len);
    sim_trace *trace = NULL;
    rl_error err;

    if (text == NULL)
        return NULL;
    if (sim_trace_parse(text, len, opt->trace, opt->skip_bad_rows, &trace, &err) < 0)
        cli_error("%s", err.message);
    free(text);
    return trace;
}

/* `ratelab sim --trace CSV [SCENARIO]`: one replay, reported like a run. */
static int run_trace(const sim_options *opt, int nargs, char **args)
{
    sim_scenario base, replay;
    sim_trace *trace = NULL;
    int status = CLI_EXIT_USAGE, loaded = 0;
    rl_error err;

    memset(&replay, 0, sizeof(replay));
    if (nargs == 1) {
        if (sim_scenario_load(&base, args[0], &err) < 0) {
            cli_error("%s", err.message);
            return CLI_EXIT_USAGE;
        }
        loaded = 1;
    } else if (trace_base_from_options(opt, &base) != 0) {
        return CLI_EXIT_USAGE;
    }
    /* Messages and reports name the trace file. */
    snprintf(base.path, sizeof(base.path), "%s", opt->trace);
    if (nargs == 0)
        snprintf(base.name, sizeof(base.name), "trace");
    trace = load_trace(opt);
    if (trace != NULL && sim_trace_scenario(trace, &base, &replay, &err) < 0)
        cli_error("%s", err.message);
    else if (trace != NULL)
        status = run_all(opt, &replay, 1);
    if (replay.pops != NULL)
        sim_scenario_free(&replay);
    if (loaded)
        sim_scenario_free(&base);
    sim_trace_destroy(trace);
    return status;
}

static int run_sim(int argc, char **argv)
{
    sim_options opt;
    cli_path_list paths = {0};
    sim_scenario *scenarios = NULL;
    int status;

    memset(&opt, 0, sizeof(opt));
    status = parse_options(argc, argv, &opt);
    if (status != 0 || opt.help) {
        if (opt.help)
            fputs(sim_usage, stdout);
        return status;
    }

    if (opt.trace != NULL)
        return run_trace(&opt, argc - optind, argv + optind);
    status = CLI_EXIT_USAGE;
    if (cli_collect_scenarios(&paths, argc - optind, argv + optind) < 0)
        goto done;
    scenarios = calloc(paths.n, sizeof(*scenarios));
    if (scenarios == NULL) {
        cli_error("out of memory loading %zu scenarios", paths.n);
        goto done;
    }
    if (load_scenarios(&paths, scenarios) < 0)
        goto done;
    status = run_all(&opt, scenarios, paths.n);

done:
    for (size_t i = 0; scenarios != NULL && i < paths.n; i++)
        sim_scenario_free(&scenarios[i]);
    free(scenarios);
    cli_path_list_free(&paths);
    return status;
}

const cli_command cli_cmd_sim = {
    "sim",
    "simulate client cadences against the limits: fits or rejects, and when",
    sim_usage,
    run_sim,
};
