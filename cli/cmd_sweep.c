/*
 * cmd_sweep.c: `ratelab sweep`, capacity sweeps: vary one parameter of a
 * scenario and report where it stops fitting (the engine is sim_sweep.c).
 *
 * The command parses the options and the --vary range (durations for
 * interval, jitter, work and first_delay; whole numbers otherwise), runs
 * the sweep, and prints its report; with --out DIR it also writes
 * sweep.csv, sweep.gp and, when gnuplot is installed, the plot.
 *
 * Exit status: 0 the sweep ran (a boundary was found, every value fits, or
 * a table was made), 1 no value in the range fits, 2 bad input or a sweep
 * over --max-runs.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_report.h"
#include "rl_time.h"
#include "rpt.h"
#include "rpt_formats.h"
#include "sim_sweep.h"

static const char sweep_usage[] =
    "Usage: ratelab sweep SCENARIO --vary KEY=FROM..TO[:STEP] [--mode M]\n"
    "                     [--runs R] [--resolution X] [--max-runs N] [--seed N]\n"
    "                     [--max-requests N] [--format F] [--json] [--out DIR]\n"
    "\n"
    "Find where a scenario stops fitting as one parameter changes: the\n"
    "smallest limit that fits, the most clients a total holds, the shortest\n"
    "interval that fits.\n"
    "\n"
    "KEY is limits.miner, limits.validator, limits.role.NAME (or limits.NAME),\n"
    "limits.total, days, or POPULATION.count, .interval, .jitter, .work (fixed-\n"
    "delay upload time, min = max) or .first_delay.  FROM, TO and STEP are\n"
    "durations (5m, 71m59s) for interval, jitter, work and first_delay, whole\n"
    "numbers otherwise.\n"
    "\n"
    "Options:\n"
    "  --vary KEY=FROM..TO[:STEP]  the parameter and its range; required\n"
    "  --mode M          bisect (default without STEP): the boundary and both\n"
    "                    neighbours, for keys with an order; table (default\n"
    "                    with STEP): every value FROM, FROM+STEP, ... TO\n"
    "  --runs R          runs per value, seeds S..S+R-1 (S: the scenario's seed\n"
    "                    or --seed), for scenarios with random draws; a value\n"
    "                    fits only when all R runs fit (default 1)\n"
    "  --resolution X    bisection stops when the bracket is X wide (default 1,\n"
    "                    or 1s for durations)\n"
    "  --max-runs N      refuse a sweep that could need more than N simulator\n"
    "                    runs (default 10000)\n"
    "  --seed N          base seed instead of the scenario's\n"
    "  --max-requests N  limit for each run (default 1000000000)\n"
    "  --format F        text (default), json or csv; --json is --format json\n"
    "  --out DIR         write sweep.csv, sweep.gp and the plot into DIR\n"
    "  -h, --help        print this help\n"
    "\n"
    "Example:\n"
    "  ratelab sweep scenarios/total-3472-miners.ini --vary miners.count=1..10000\n"
    "  ANSWER  total-3472-miners: the largest miners.count that fits is 3472\n"
    "          (3473 rejects)\n"
    "\n"
    "Exit status: 0 the sweep ran, 1 no value in the range fits, 2 bad input.\n"
    "See docs/sweep.md.\n";

#define SWEEP_FILE_MAX (1u << 20)

typedef struct sweep_options {
    const char *vary;
    const char *mode;
    const char *resolution;
    cli_format format;
    const char *out_dir;
    int help;
    sim_sweep_config cfg;
    /* First occurrences of the options that take one value. */
    cli_once vary_once, mode_once, resolution_once, out_once, format_once, runs_once,
        max_runs_once, max_requests_once, seed_once;
} sweep_options;

static int parse_positive(const char *option, const char *text, int64_t max, int64_t *out)
{
    uint64_t v;

    if (cli_parse_u64(text, &v) < 0 || v == 0 || v > (uint64_t)max)
        return cli_usage_error("sweep", "%s '%s': expected a whole number from 1 to %lld",
                               option, text, (long long)max);
    *out = (int64_t)v;
    return 0;
}

/* Records the option's first occurrence; see cli_option_once(). */
static int once(cli_once *slot, const char *option, const char *arg)
{
    return cli_option_once("sweep", slot, option, arg, arg);
}

static int parse_option(int ch, const char *arg, sweep_options *opt)
{
    int64_t v = 0;
    uint64_t seed = 0;

    switch (ch) {
    case 'v': opt->vary = arg; return once(&opt->vary_once, "--vary", arg);
    case 'M': opt->mode = arg; return once(&opt->mode_once, "--mode", arg);
    case 'x': opt->resolution = arg; return once(&opt->resolution_once, "--resolution", arg);
    case 'o': opt->out_dir = arg; return once(&opt->out_once, "--out", arg);
    case 'h': opt->help = 1; return 0;
    case 'j':
        if (cli_option_once("sweep", &opt->format_once, "--json", NULL, "json") != 0)
            return CLI_EXIT_USAGE;
        opt->format = CLI_FORMAT_JSON;
        return 0;
    case 'f':
        if (once(&opt->format_once, "--format", arg) != 0 ||
            cli_format_parse("sweep", arg, &opt->format) != 0)
            return CLI_EXIT_USAGE;
        if (opt->format == CLI_FORMAT_MD)
            return cli_usage_error("sweep", "--format md: sweeps print text, json or csv");
        return 0;
    case 'r':
        if (once(&opt->runs_once, "--runs", arg) != 0 ||
            parse_positive("--runs", arg, SIM_SWEEP_RUNS_MAX, &v) != 0)
            return CLI_EXIT_USAGE;
        opt->cfg.runs = (int)v;
        return 0;
    case 'N':
        if (once(&opt->max_runs_once, "--max-runs", arg) != 0)
            return CLI_EXIT_USAGE;
        return parse_positive("--max-runs", arg, INT64_MAX, &opt->cfg.max_runs);
    case 'm':
        if (once(&opt->max_requests_once, "--max-requests", arg) != 0)
            return CLI_EXIT_USAGE;
        return parse_positive("--max-requests", arg, INT64_MAX, &opt->cfg.sim.max_requests);
    case 's':
        if (once(&opt->seed_once, "--seed", arg) != 0)
            return CLI_EXIT_USAGE;
        if (cli_parse_u64(arg, &seed) < 0)
            return cli_usage_error("sweep", "--seed '%s': expected an unsigned integer", arg);
        opt->cfg.sim.override_seed = 1;
        opt->cfg.sim.seed = seed;
        return 0;
    }
    return CLI_EXIT_USAGE;
}

static int parse_options(int argc, char **argv, sweep_options *opt)
{
    static const struct option longopts[] = {
        {"vary", required_argument, NULL, 'v'},
        {"mode", required_argument, NULL, 'M'},
        {"runs", required_argument, NULL, 'r'},
        {"resolution", required_argument, NULL, 'x'},
        {"max-runs", required_argument, NULL, 'N'},
        {"seed", required_argument, NULL, 's'},
        {"max-requests", required_argument, NULL, 'm'},
        {"format", required_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    sim_sweep_config_init(&opt->cfg);
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == ':')
            return cli_usage_error("sweep", "option '%s' needs a value", argv[optind - 1]);
        if (ch == '?')
            return cli_usage_error("sweep", "unknown option '%s'", argv[optind - 1]);
        int rc = parse_option(ch, optarg, opt);
        if (rc != 0)
            return rc;
    }
    if (opt->help)
        return 0;
    if (optind != argc - 1)
        return cli_usage_error("sweep", "expected exactly one scenario file, got %d",
                               argc - optind);
    if (opt->vary == NULL)
        return cli_usage_error("sweep", "--vary KEY=FROM..TO[:STEP] is required, e.g. "
                                        "--vary miners.count=1..10000");
    return 0;
}

/* ---- the range --------------------------------------------------------- */

/* Parses one value of the key's kind. */
static int parse_value(const sim_sweep_key *key, const char *text, const char *what,
                       int64_t *out)
{
    rl_error err;
    uint64_t v;

    if (key->is_duration) {
        if (rl_duration_parse(text, out, &err) == 0)
            return 0;
        return cli_usage_error("sweep", "--vary %s: %s '%s' is not a duration (such as "
                                        "5m, 71m59s, 300ms): %s",
                               key->text, what, text, err.message);
    }
    if (cli_parse_u64(text, &v) == 0 && v <= (uint64_t)INT64_MAX) {
        *out = (int64_t)v;
        return 0;
    }
    return cli_usage_error("sweep", "--vary %s: %s '%s' is not a whole number", key->text,
                           what, text);
}

/* Splits KEY=FROM..TO[:STEP] and fills the key and the range. */
static int parse_vary(const sim_scenario *sc, sweep_options *opt)
{
    char buf[512], *eq, *dots, *colon;
    rl_error err;
    sim_sweep_config *cfg = &opt->cfg;

    snprintf(buf, sizeof(buf), "%s", opt->vary);
    eq = strchr(buf, '=');
    dots = eq != NULL ? strstr(eq + 1, "..") : NULL;
    if (eq == NULL || dots == NULL)
        return cli_usage_error("sweep", "--vary '%s': expected KEY=FROM..TO or "
                                        "KEY=FROM..TO:STEP, e.g. miners.count=1..10000",
                               opt->vary);
    *eq = '\0';
    *dots = '\0';
    colon = strchr(dots + 2, ':');
    if (colon != NULL)
        *colon = '\0';
    if (sim_sweep_key_parse(sc, buf, &cfg->key, &err) < 0) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }
    if (parse_value(&cfg->key, eq + 1, "FROM", &cfg->from) != 0 ||
        parse_value(&cfg->key, dots + 2, "TO", &cfg->to) != 0 ||
        (colon != NULL && parse_value(&cfg->key, colon + 1, "STEP", &cfg->step) != 0))
        return CLI_EXIT_USAGE;
    if (colon != NULL && cfg->step <= 0)
        return cli_usage_error("sweep", "--vary %s: STEP must be positive", buf);
    return 0;
}

static int parse_mode_and_resolution(sweep_options *opt)
{
    sim_sweep_config *cfg = &opt->cfg;

    cfg->mode = cfg->step > 0 ? SIM_SWEEP_TABLE : SIM_SWEEP_BISECT;
    if (opt->mode != NULL && strcmp(opt->mode, "table") == 0)
        cfg->mode = SIM_SWEEP_TABLE;
    else if (opt->mode != NULL && strcmp(opt->mode, "bisect") == 0)
        cfg->mode = SIM_SWEEP_BISECT;
    else if (opt->mode != NULL)
        return cli_usage_error("sweep", "--mode '%s': expected bisect or table", opt->mode);
    if (cfg->mode == SIM_SWEEP_TABLE && cfg->step <= 0)
        return cli_usage_error("sweep", "--mode table needs a step: --vary "
                                        "KEY=FROM..TO:STEP");
    /* Durations bisect to whole seconds unless asked for finer. */
    if (cfg->key.is_duration)
        cfg->resolution = RL_US_PER_SEC;
    if (opt->resolution != NULL &&
        parse_value(&cfg->key, opt->resolution, "--resolution", &cfg->resolution) != 0)
        return CLI_EXIT_USAGE;
    if (cfg->resolution <= 0)
        return cli_usage_error("sweep", "--resolution must be positive");
    return 0;
}

/* ---- output ----------------------------------------------------------- */

static void show_progress(void *user, const sim_sweep_point *p)
{
    const sim_sweep_key *key = user;
    char v[64];

    if (cli_logger()->max_level < RL_LOG_DEBUG)
        return;
    sim_sweep_format_value(key, p->value, v, sizeof(v));
    fprintf(stderr, "ratelab: debug: %s = %s: %s (%d of %d runs reject)\n", key->text, v,
            p->fits ? "fits" : "rejects", p->runs_rejecting, p->runs);
}

static int write_out_dir(const char *dir, const sim_sweep_result *sw)
{
    static const char *const scripts[] = {"sweep.gp"};
    char note[RPT_NOTE_MAX];

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        cli_error("cannot create directory %s: %s", dir, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    if (rpt_plot_write_sweep(dir, sw) != 0) {
        cli_error("cannot write sweep.csv and sweep.gp in %s: %s", dir, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    if (rpt_plot_render(dir, scripts, 1, RPT_GNUPLOT_TIMEOUT_S, note, sizeof(note)) !=
        RPT_RENDERED)
        fprintf(stderr, "ratelab: note: %s\n", note);
    return 0;
}

static int print_report(const sweep_options *opt, const sim_sweep_result *sw)
{
    int rc;

    if (opt->format == CLI_FORMAT_JSON) {
        json_t *doc = rpt_sweep_json(sw);
        rc = doc == NULL ? RPT_ERR_NOMEM : rpt_json_write(stdout, doc);
        json_decref(doc);
    } else if (opt->format == CLI_FORMAT_CSV) {
        rc = rpt_sweep_csv(stdout, sw);
    } else {
        rc = rpt_sweep_text(stdout, sw);
    }
    if (rc != 0 || fflush(stdout) != 0) {
        cli_error("cannot write the sweep report: %s", rpt_strerror(rc ? rc : RPT_ERR_IO));
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int run_sweep(int argc, char **argv)
{
    sweep_options opt;
    sim_scenario sc;
    sim_sweep_result *sw = NULL;
    rl_error err;
    int status;

    memset(&opt, 0, sizeof(opt));
    memset(&sc, 0, sizeof(sc));
    status = parse_options(argc, argv, &opt);
    if (status != 0 || opt.help) {
        if (opt.help)
            fputs(sweep_usage, stdout);
        return status;
    }
    if (sim_scenario_load(&sc, argv[optind], &err) < 0) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }

    status = parse_vary(&sc, &opt);
    if (status == 0)
        status = parse_mode_and_resolution(&opt);
    if (status == 0) {
        opt.cfg.on_point = show_progress;
        opt.cfg.user = &opt.cfg.key;
        if (sim_sweep_run(&sc, &opt.cfg, &sw, &err) < 0) {
            cli_error("%s", err.message);
            status = CLI_EXIT_USAGE;
        }
    }
    if (status == 0)
        status = print_report(&opt, sw);
    if (status == 0 && opt.out_dir != NULL)
        status = write_out_dir(opt.out_dir, sw);
    if (status == 0 && sw->answer == SIM_SWEEP_NONE_FIT)
        status = CLI_EXIT_FAILED;

    sim_sweep_result_destroy(sw);
    sim_scenario_free(&sc);
    return status;
}

const cli_command cli_cmd_sweep = {
    "sweep",
    "vary one parameter and find where a scenario stops fitting",
    sweep_usage,
    run_sweep,
};
