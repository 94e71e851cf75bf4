/*
 * cmd_check.c: `ratelab check`, the pre-deploy gate for new limits: every
 * scenario runs under the limits of one deployment file, and the command
 * fails when any scenario's expectations no longer hold.
 *
 * Which limits a scenario runs with: the deployed service's defaults
 * (miner 20, validator 10000, total 200000), then the deployment file,
 * exactly as the service itself would start with that file.  The
 * scenario's own [limits] values are all replaced: the file is the truth
 * being checked, and a role the file does not set runs with the service's
 * default, because that is what the service would enforce.  The process
 * environment is not read, so the gate gives the same answer on every CI
 * runner.  A scenario whose population uses a role that neither the
 * defaults nor the file define cannot be checked (exit 2).  The
 * scenario's window, policy, populations and [expect] are kept; a scenario
 * without [expect] is expected to fit.
 *
 * Exit status: 0 every expectation holds, 1 at least one failed, 2 bad
 * input (options, a scenario, the deployment file).
 */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_report.h"
#include "rl_time.h"
#include "rpt.h"
#include "rpt_formats.h"
#include "sim.h"
#include "sim_scenario.h"

static const char check_usage[] =
    "Usage: ratelab check --env FILE [--container NAME] [--format F] [--out DIR]\n"
    "                     [--junit FILE] [--seed N] [--max-requests N]\n"
    "                     [SCENARIO|DIR]...\n"
    "\n"
    "The pre-deploy gate for new limits: run every scenario under the limits\n"
    "of a deployment file and fail when an expectation no longer holds.\n"
    "\n"
    "Each scenario runs with the deployed defaults (miner 20, validator 10000,\n"
    "total 200000) overridden by FILE, replacing the limits the scenario sets\n"
    "itself: a role FILE does not set gets the deployed default, as the\n"
    "service would.  The process environment is not read.  A scenario without\n"
    "[expect] is expected to fit.  Without arguments, scenarios/ is checked.\n"
    "\n"
    "Options:\n"
    "  --env FILE        the deployment file: dotenv (KEY=value lines) or a\n"
    "                    container task definition (JSON); required\n"
    "  --container NAME  the container to read in a task definition\n"
    "  --format F        stdout format: text (default), md, json or csv\n"
    "  --out DIR         also write reports, CSV time series and plots\n"
    "                    (as ratelab sim --out)\n"
    "  --junit FILE      write JUnit XML, one test case per expectation\n"
    "  --seed N          random seed for every scenario instead of its own\n"
    "  --max-requests N  refuse a scenario that would make more than N\n"
    "                    requests (default 1000000000)\n"
    "  -h, --help        print this help\n"
    "\n"
    "A broken scenario is reported as, e.g.\n"
    "  FAILED  five-minute-vs-500: requests rejected under deploy/mainnet.env\n"
    "  (miner 100/day), expected to fit: 188 of 288 rejected per client-day;\n"
    "  first rejection 08:20 UTC; needs miner >= 288\n"
    "\n"
    "Exit status: 0 every expectation holds, 1 an expectation failed, 2 bad\n"
    "input (one message on stderr).  See docs/check.md.\n";

#define CHECK_FILE_MAX (4u << 20)
#define CHECK_LINE_MAX 1024

typedef struct check_options {
    const char *env_path;
    const char *container;
    cli_format format;
    const char *out_dir;
    const char *junit_path;
    int help;
    sim_config config;
    /* First occurrences of the options that take one value. */
    cli_once env_once, container_once, format_once, out_once, junit_once, seed_once,
        max_requests_once;
} check_options;

/* The maximum number of requests all clients made in one window, rejected
 * ones included, counted by an observer: the total that would admit all. */
typedef struct global_demand {
    int64_t window_id;
    int64_t requests;
    int64_t peak;
} global_demand;

static void count_global_demand(void *user, const sim_request_info *info)
{
    global_demand *g = user;

    if (info->decision->window_id != g->window_id) {
        g->window_id = info->decision->window_id;
        g->requests = 0;
    }
    if (++g->requests > g->peak)
        g->peak = g->requests;
}

/* ---- options ---------------------------------------------------------- */

static int parse_option(int ch, const char *arg, check_options *opt)
{
    uint64_t v;

    switch (ch) {
    case 'e':
        opt->env_path = arg;
        return cli_option_once("check", &opt->env_once, "--env", arg, arg);
    case 'c':
        opt->container = arg;
        return cli_option_once("check", &opt->container_once, "--container", arg, arg);
    case 'f':
        if (cli_option_once("check", &opt->format_once, "--format", arg, arg) != 0)
            return CLI_EXIT_USAGE;
        return cli_format_parse("check", arg, &opt->format);
    case 'o':
        opt->out_dir = arg;
        return cli_option_once("check", &opt->out_once, "--out", arg, arg);
    case 'J':
        opt->junit_path = arg;
        return cli_option_once("check", &opt->junit_once, "--junit", arg, arg);
    case 's':
        if (cli_option_once("check", &opt->seed_once, "--seed", arg, arg) != 0)
            return CLI_EXIT_USAGE;
        if (cli_parse_u64(arg, &opt->config.seed) < 0)
            return cli_usage_error("check", "--seed '%s': expected an unsigned integer",
                                   arg);
        opt->config.override_seed = 1;
        return 0;
    case 'm':
        if (cli_option_once("check", &opt->max_requests_once, "--max-requests", arg,
                            arg) != 0)
            return CLI_EXIT_USAGE;
        if (cli_parse_u64(arg, &v) < 0 || v == 0 || v > (uint64_t)INT64_MAX)
            return cli_usage_error("check", "--max-requests '%s': expected a positive "
                                            "integer",
                                   arg);
        opt->config.max_requests = (int64_t)v;
        return 0;
    case 'h':
        opt->help = 1;
        return 0;
    }
    return CLI_EXIT_USAGE;
}

static int parse_options(int argc, char **argv, check_options *opt)
{
    static const struct option longopts[] = {
        {"env", required_argument, NULL, 'e'},
        {"container", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"junit", required_argument, NULL, 'J'},
        {"seed", required_argument, NULL, 's'},
        {"max-requests", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    sim_config_init(&opt->config);
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == ':')
            return cli_usage_error("check", "option '%s' needs a value", argv[optind - 1]);
        if (ch == '?')
            return cli_usage_error("check", "unknown option '%s'", argv[optind - 1]);
        int rc = parse_option(ch, optarg, opt);
        if (rc != 0)
            return rc;
    }
    if (!opt->help && opt->env_path == NULL)
        return cli_usage_error("check", "--env FILE is required: the deployment file "
                                        "whose limits are checked");
    return 0;
}

/* ---- limits ----------------------------------------------------------- */

/* The deployed defaults overridden by the file. */
static int load_deployed_limits(const check_options *opt, rl_limits *limits)
{
    size_t len;
    rl_error err;
    char *text = cli_read_file(opt->env_path, CHECK_FILE_MAX, &len);

    if (text == NULL)
        return CLI_EXIT_USAGE;
    rl_limits_init_defaults(limits);
    int rc = rl_limits_apply_file_logged(limits, text, len, opt->env_path,
                                         opt->container, cli_logger(), &err);
    free(text);
    if (rc < 0) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Replaces the scenario's limits with the deployed ones, keeping each
 * population on its role by name. */
static int apply_deployed_limits(sim_scenario *sc, const rl_limits *deployed,
                                 const char *env_path)
{
    for (int i = 0; i < sc->npops; i++) {
        sim_population *p = &sc->pops[i];
        const char *role = sc->limits.roles[p->role_index].name;
        int index = rl_limits_role_index(deployed, role);
        if (index < 0) {
            char upper[RL_ROLE_NAME_MAX];
            size_t k = 0;
            for (; role[k] != '\0' && k + 1 < sizeof(upper); k++)
                upper[k] = (char)(role[k] >= 'a' && role[k] <= 'z' ? role[k] - 32 : role[k]);
            upper[k] = '\0';
            cli_error("%s: population '%s' has role '%s', which %s does not set and the "
                      "deployed service has no default for; add "
                      "DAILY_LIMIT_PER_%s=N to %s or leave this scenario out",
                      sc->path, p->name, role, env_path, upper, env_path);
            return CLI_EXIT_USAGE;
        }
        p->role_index = index;
    }
    sc->limits = *deployed;
    return 0;
}

static int expects_anything(const sim_expect *x)
{
    return x->has_outcome || x->has_max_rejections || x->has_min_headroom ||
           x->has_rejections || x->has_first_rejection || x->has_global_exhausted;
}

/* ---- the verdict line -------------------------------------------------- */

/* Appends printf output to buf at *used, never past len. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    va_list ap;

    if (*used >= len)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n;
}

/* "miner 100/day, validator 10000/day": the limits of the roles in use,
 * and the total when it rejected anything. */
static void describe_limits(const sim_result *r, char *buf, size_t len)
{
    size_t used = 0;
    int shown[RL_MAX_ROLES] = {0};

    buf[0] = '\0';
    for (int i = 0; i < r->npops; i++) {
        int role = rl_limits_role_index(&r->limits, r->pops[i].role);
        if (role < 0 || shown[role]++)
            continue;
        append(buf, len, &used, "%s%s %lld/day", used ? ", " : "", r->pops[i].role,
               (long long)r->pops[i].limit);
    }
    if (r->total.rejected_global > 0)
        append(buf, len, &used, "%stotal %lld/day", used ? ", " : "",
               (long long)r->global.limit);
}

/* "needs miner >= 288; needs total >= 1000224": the smallest limits that
 * would let every request of this run through.  Demand counts rejected
 * requests too, and simulated clients do not slow down when rejected, so
 * it does not depend on the limits. */
static void describe_needs(const sim_result *r, int64_t global_peak, char *buf, size_t len,
                           size_t *used)
{
    int64_t need[RL_MAX_ROLES] = {0};

    for (int i = 0; i < r->npops; i++) {
        int role = rl_limits_role_index(&r->limits, r->pops[i].role);
        if (role >= 0 && r->pops[i].max_window_usage > r->pops[i].limit &&
            r->pops[i].max_window_usage > need[role])
            need[role] = r->pops[i].max_window_usage;
    }
    for (int k = 0; k < r->limits.nroles; k++)
        if (need[k] > 0)
            append(buf, len, used, "; needs %s >= %lld", r->limits.roles[k].name,
                   (long long)need[k]);
    if (r->total.rejected_global > 0)
        append(buf, len, used, "; needs total >= %lld", (long long)global_peak);
}

static void describe_run(const sim_result *r, int64_t global_peak, char *buf,
                         size_t len, size_t *used)
{
    if (r->fits) {
        const sim_pop_result *lowest = NULL;
        char pct[32];
        for (int i = 0; i < r->npops; i++)
            if (!isnan(r->pops[i].headroom) &&
                (lowest == NULL || r->pops[i].headroom < lowest->headroom))
                lowest = &r->pops[i];
        if (lowest == NULL) {
            append(buf, len, used, ": nothing rejected");
            return;
        }
        sim_format_headroom(lowest->max_window_usage, lowest->limit, pct, sizeof(pct));
        append(buf, len, used, ": nothing rejected, headroom %s", pct);
        return;
    }

    const sim_pop_result *worst = &r->pops[0];
    char when[64];
    for (int i = 1; i < r->npops; i++)
        if (r->pops[i].worst_window_rejected > worst->worst_window_rejected)
            worst = &r->pops[i];
    rpt_format_clock(r->first_rejection_us, r->start_us, when, sizeof(when));
    if (worst->worst_window_rejected > 0)
        append(buf, len, used, ": %lld of %lld rejected per client-day",
               (long long)worst->worst_window_rejected,
               (long long)worst->worst_window_requests);
    else
        append(buf, len, used, ": %lld requests rejected by the total",
               (long long)r->total.rejected_global);
    append(buf, len, used, "; first rejection %s", when);
    describe_needs(r, global_peak, buf, len, used);
}

/* What the run did against what the scenario expected, in words that
 * cannot be read as the gate's own verdict: ", expected to fit",
 * ", as expected", or, for a scenario expected to reject that now fits,
 * that the limits admit what it expected to be rejected.  "" when the
 * scenario has no outcome expectation. */
static const char *describe_expectation(const sim_result *r, const sim_expect *x)
{
    if (!x->has_outcome)
        return "";
    if (x->outcome_fits == r->fits)
        return r->expectations_met ? ", as expected" : ", as expected, but other "
                                                       "expectations failed";
    if (x->outcome_fits)
        return ", expected to fit";
    return ", expected to reject: these limits admit the requests the scenario "
           "expected to be rejected (more capacity, not less)";
}

/* The one-line verdict of a run under the deployment file; malloc'd. */
static char *verdict_line(const sim_result *r, const sim_expect *x, const char *env_path,
                          int64_t global_peak)
{
    char limits[512];
    char *line = malloc(CHECK_LINE_MAX);
    size_t used = 0;

    if (line == NULL)
        return NULL;
    describe_limits(r, limits, sizeof(limits));
    append(line, CHECK_LINE_MAX, &used, "%s: %s under %s (%s)%s", r->name,
           r->fits ? "all requests fit" : "requests rejected", env_path, limits,
           describe_expectation(r, x));
    describe_run(r, global_peak, line, CHECK_LINE_MAX, &used);
    return line;
}

/* ---- running ---------------------------------------------------------- */

static void print_text(const sim_result *r, const char *line)
{
    printf("%-7s %s\n", r->expectations_met ? "ok" : "FAILED", line);
    for (int i = 0; i < r->nexpectations; i++)
        if (!r->expectations[i].met)
            printf("          %s\n", r->expectations[i].explanation);
    fflush(stdout);
}

static json_t *check_json(const check_options *opt, const cli_report *rep, size_t broken)
{
    json_t *list = json_array();

    for (size_t i = 0; list != NULL && i < rep->n; i++) {
        const cli_report_run *run = &rep->runs[i];
        json_t *o = json_pack("{s:s, s:b, s:s}", "name", run->result->name, "passed",
                              run->result->expectations_met, "line", run->note);
        if (json_array_append_new(list, o) < 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return json_pack("{s:s, s:s?, s:b, s:I, s:o}", "env", opt->env_path, "container",
                     opt->container, "passed", broken == 0, "broken", (json_int_t)broken,
                     "scenarios", list);
}

/* Runs one scenario under the deployed limits and adds it to the report. */
static int check_one(const check_options *opt, cli_report *rep, sim_scenario *sc,
                     const rl_limits *deployed, size_t *broken)
{
    global_demand demand = {INT64_MIN, 0, 0};
    sim_result *r = NULL;
    sim_series *s = NULL;

    int status = apply_deployed_limits(sc, deployed, opt->env_path);
    if (status != 0)
        return status;
    if (!expects_anything(&sc->expect)) {
        sc->expect.has_outcome = 1;
        sc->expect.outcome_fits = 1;
    }
    rep->observer = count_global_demand;
    rep->observer_user = &demand;
    status = cli_report_run_scenario(rep, sc, &opt->config, &r, &s);
    if (status != 0)
        return status;

    char *line = verdict_line(r, &sc->expect, opt->env_path, demand.peak);
    if (line == NULL) {
        cli_error("out of memory describing %s", r->path);
        sim_result_destroy(r);
        sim_series_destroy(s);
        return CLI_EXIT_USAGE;
    }
    *broken += !r->expectations_met;
    if (opt->format == CLI_FORMAT_TEXT)
        print_text(r, line);
    return cli_report_add(rep, r, s, line);
}

static int run_checks(const check_options *opt, sim_scenario *scenarios, size_t n,
                      const rl_limits *deployed)
{
    cli_report rep = {0};
    char intro[CHECK_LINE_MAX], title[CHECK_LINE_MAX];
    size_t broken = 0;
    int status = 0;

    rep.command = "check";
    rep.format = opt->format;
    rep.out_dir = opt->out_dir;
    rep.junit_path = opt->junit_path;
    snprintf(title, sizeof(title), "ratelab check under %s", opt->env_path);
    rep.md_title = title;
    rep.limits_from = opt->env_path;
    for (size_t i = 0; i < n && status == 0; i++)
        status = check_one(opt, &rep, &scenarios[i], deployed, &broken);

    if (status == 0) {
        snprintf(intro, sizeof(intro), "%zu scenario%s checked under the limits of %s: "
                                       "miner %lld, validator %lld, total %lld per day "
                                       "(defaults where the file sets none); %zu break%s.",
                 n, n == 1 ? "" : "s", opt->env_path,
                 (long long)deployed->roles[rl_limits_role_index(deployed, "miner")]
                     .per_client.value,
                 (long long)deployed->roles[rl_limits_role_index(deployed, "validator")]
                     .per_client.value,
                 (long long)deployed->total.value, broken, broken == 1 ? "s" : "");
        rep.md_intro = intro;
        rep.json_extra = check_json(opt, &rep, broken);
        status = cli_report_finish(&rep);
    }
    if (status == 0 && opt->format == CLI_FORMAT_TEXT)
        printf("\ncheck under %s: %zu of %zu scenarios hold, %zu break\n", opt->env_path,
               n - broken, n, broken);
    cli_report_free(&rep);
    if (status != 0)
        return status;
    return broken > 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

static int run_check(int argc, char **argv)
{
    check_options opt;
    cli_path_list paths = {0};
    sim_scenario *scenarios = NULL;
    rl_limits deployed;
    rl_error err;
    char *default_dir[] = {"scenarios"};
    int status;

    memset(&opt, 0, sizeof(opt));
    status = parse_options(argc, argv, &opt);
    if (status != 0 || opt.help) {
        if (opt.help)
            fputs(check_usage, stdout);
        return status;
    }

    status = load_deployed_limits(&opt, &deployed);
    if (status != 0)
        return status;
    status = CLI_EXIT_USAGE;
    if (optind < argc ? cli_collect_scenarios(&paths, argc - optind, argv + optind) < 0
                      : cli_collect_scenarios(&paths, 1, default_dir) < 0)
        goto done;
    scenarios = calloc(paths.n, sizeof(*scenarios));
    if (scenarios == NULL) {
        cli_error("out of memory loading %zu scenarios", paths.n);
        goto done;
    }
    for (size_t i = 0; i < paths.n; i++) {
        if (sim_scenario_load(&scenarios[i], paths.paths[i], &err) < 0) {
            cli_error("%s", err.message);
            goto done;
        }
    }
    status = run_checks(&opt, scenarios, paths.n, &deployed);

done:
    for (size_t i = 0; scenarios != NULL && i < paths.n; i++)
        sim_scenario_free(&scenarios[i]);
    free(scenarios);
    cli_path_list_free(&paths);
    return status;
}

const cli_command cli_cmd_check = {
    "check",
    "the pre-deploy gate: run every scenario under a deployment file's limits",
    check_usage,
    run_check,
};
