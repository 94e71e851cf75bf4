/*
 * cmd_load.c: `ratelab load`, the load generator's command line.
 *
 * Two modes share the engine (loadgen/lg_engine.h):
 *   ratelab load --target URL --rate R ...      constant rate, or "max"
 *   ratelab load SCENARIO --target URL --speed X  replay of a simulation,
 *       with a conformance report against the simulator's decisions
 * Every run is bounded by --duration and --max-requests; Ctrl-C stops it
 * early and the results are still written.
 *
 * Exit status: 0 done, 1 a replay's observed outcomes differ from the
 * prediction, 2 bad input (one message on stderr).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lg_engine.h"
#include "lg_json.h"
#include "lg_probe.h"
#include "lg_replay.h"
#include "lg_template.h"
#include "rl_time.h"
#include "rpt_formats.h"
#include "sim_scenario.h"

static const char load_usage[] =
    "Usage: ratelab load --target URL --rate R [OPTIONS]\n"
    "       ratelab load SCENARIO --target URL --speed X [OPTIONS]\n"
    "\n"
    "Send requests to a live endpoint and measure how it behaves.  Only the\n"
    "URL given with --target is contacted (no redirects, no proxies).\n"
    "\n"
    "Constant rate: --rate R sends R requests per second (\"2000\", \"2000/s\"),\n"
    "per minute (\"500/m\"), per hour (\"100/h\") or per day (\"288/d\") on a\n"
    "fixed schedule, whatever the responses do; latency counts from each\n"
    "request's intended send time, so a slow server cannot hide its queueing\n"
    "(no coordinated omission).  --rate max is a closed loop instead: each\n"
    "connection sends its next request as soon as the last one completes.\n"
    "\n"
    "Replay: SCENARIO (an .ini file, see docs/scenarios.md) is simulated, and\n"
    "its requests (clients, roles, times) are sent in real time divided by\n"
    "--speed X.  The server's window must be the scenario's window divided by\n"
    "X: speed 1440 plays a day in 60 s against 'ratelab serve --window 60s'.\n"
    "The replay waits for the next boundary of that window on the system\n"
    "clock, then compares every response with the simulator's decision.\n"
    "\n"
    "Options:\n"
    "  --target URL         base URL, e.g. http://127.0.0.1:8000 (required)\n"
    "  --rate R             requests per time unit, or max (rate mode)\n"
    "  --speed X            replay speed-up factor (replay mode)\n"
    "  --duration D         stop sending after D (default 30s, at most 30d;\n"
    "                       replay: the scenario's length divided by the speed)\n"
    "  --max-requests N     send at most N requests (default 1000000);\n"
    "  --requests N         the same\n"
    "  --connections C      concurrent connections (default 10)\n"
    "  --threads T          worker threads, each with C/T connections (default 1)\n"
    "  --timeout D          per-request timeout (default 10s, at most 1h);\n"
    "                       requests in flight at the end get at most this\n"
    "                       long to finish\n"
    "  --http2              use HTTP/2: prior knowledge on http://, ALPN on https://\n"
    "  --template FILE      request template(s), JSON; see docs/load.md\n"
    "  --role NAME          rate mode: the built-in template to use (miner,\n"
    "                       validator; default miner)\n"
    "  --hotkey H           rate mode: hotkey of the requests (default ratelab-load)\n"
    "  --clients N          rate mode: spread requests over hotkeys H-0 .. H-(N-1)\n"
    "  --coldkey K          coldkey of the requests (default HOTKEY-cold)\n"
    "  --json               print the results as JSON instead of text\n"
    "  --out FILE           also write the JSON results to FILE (for 'ratelab merge')\n"
    "  --plot-dir DIR       write load.csv and the plots of latency percentiles\n"
    "                       and status codes over time into DIR (created when\n"
    "                       missing); PNG and SVG when gnuplot is installed\n"
    "  -h, --help           print this help\n"
    "\n"
    "Progress goes to stderr: one line redrawn every second on a terminal,\n"
    "otherwise a line every 10 s.\n"
    "\n"
    "Exit status: 0 the run completed (errors are counted, not fatal), 1 a\n"
    "replay did not conform to the prediction, 2 bad input.\n";

#define LOAD_TEMPLATE_MAX_BYTES (1u << 20)
#define LOAD_MAX_CONNECTIONS 10000
#define LOAD_MAX_THREADS 64
#define LOAD_TEXT_LINES 50
/* A month of sending is beyond any load test; it also keeps the duration
 * in nanoseconds far from the int64_t limit (about 292 years). */
#define LOAD_MAX_DURATION_US (30LL * 86400 * 1000000)

typedef struct load_options {
    const char *target;
    const char *scenario;
    const char *rate_text;
    double speed;
    int64_t duration_ns; /* 0: the default */
    int64_t max_requests;
    int connections;
    int threads;
    int64_t timeout_ms;
    int http2;
    const char *template_path;
    const char *role;
    const char *hotkey;
    const char *coldkey;
    int clients;
    int json;
    const char *out_path;
    FILE *out_file; /* out_path, opened before the run by open_output() */
    const char *plot_dir;
    int help;
} load_options;

static volatile sig_atomic_t load_stop;

static void on_signal(int sig)
{
    (void)sig;
    load_stop = 1;
}

/* The first Ctrl-C stops the run and keeps its results; SA_RESETHAND makes
 * a second one end the process the usual way. */
static void install_stop_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int parse_count(const char *cmd, const char *opt, const char *text, long long min,
                       long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = (text[0] >= '0' && text[0] <= '9') ? strtoll(text, &end, 10) : -1;
    if (v < 0 || errno != 0 || *end != '\0' || v < min || v > max)
        return cli_usage_error(cmd, "%s '%s': expected a whole number from %lld to %lld",
                               opt, text, min, max);
    *out = v;
    return 0;
}

/* Parses a duration from above zero to max_us, which keeps its
 * nanoseconds (and the engine's sums of them) within int64_t. */
static int parse_positive_duration(const char *cmd, const char *opt, const char *text,
                                   int64_t max_us, const char *max_text, int64_t *out_us)
{
    rl_error err;
    if (rl_duration_parse(text, out_us, &err) < 0)
        return cli_usage_error(cmd, "%s: %s", opt, err.message);
    if (*out_us <= 0)
        return cli_usage_error(cmd, "%s '%s': the duration must be above zero", opt, text);
    if (*out_us > max_us)
        return cli_usage_error(cmd, "%s '%s': out of range: the maximum is %s", opt, text,
                               max_text);
    return 0;
}

static int parse_speed(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = (text[0] >= '0' && text[0] <= '9') ? strtod(text, &end) : -1;
    if (v <= 0 || errno != 0 || *end != '\0' || !isfinite(v) || v > 1e9)
        return cli_usage_error("load", "--speed '%s': expected a positive number such as "
                                       "1440 (one day per minute)",
                               text);
    *out = v;
    return 0;
}

static int parse_option(int ch, const char *arg, load_options *o)
{
    long long v;
    int64_t us;
    int rc = 0;

    switch (ch) {
    case 'T': o->target = arg; break;
    case 'r': o->rate_text = arg; break;
    case 's': rc = parse_speed(arg, &o->speed); break;
    case 'd':
        rc = parse_positive_duration("load", "--duration", arg, LOAD_MAX_DURATION_US,
                                     "30d", &us);
        o->duration_ns = rc == 0 ? us * 1000 : 0;
        break;
    case 'n':
        rc = parse_count("load", "--max-requests", arg, 1, 1000000000000LL, &v);
        o->max_requests = v;
        break;
    case 'c':
        rc = parse_count("load", "--connections", arg, 1, LOAD_MAX_CONNECTIONS, &v);
        o->connections = (int)v;
        break;
    case 't':
        rc = parse_count("load", "--threads", arg, 1, LOAD_MAX_THREADS, &v);
        o->threads = (int)v;
        break;
    case 'o':
        rc = parse_positive_duration("load", "--timeout", arg, LG_MAX_TIMEOUT_MS * 1000LL,
                                     "1h", &us);
        o->timeout_ms = us < 1000 ? 1 : us / 1000;
        break;
    case 'k':
        rc = parse_count("load", "--clients", arg, 1, 1000000, &v);
        o->clients = (int)v;
        break;
    case '2': o->http2 = 1; break;
    case 'p': o->template_path = arg; break;
    case 'R': o->role = arg; break;
    case 'H': o->hotkey = arg; break;
    case 'C': o->coldkey = arg; break;
    case 'j': o->json = 1; break;
    case 'O': o->out_path = arg; break;
    case 'P': o->plot_dir = arg; break;
    case 'h': o->help = 1; break;
    default: rc = CLI_EXIT_USAGE;
    }
    return rc;
}

static int check_options(load_options *o)
{
    if (o->help)
        return 0;
    if (o->target == NULL)
        return cli_usage_error("load", "--target is required, e.g. --target "
                                       "http://127.0.0.1:8000");
    if (o->scenario != NULL && o->rate_text != NULL)
        return cli_usage_error("load", "--rate and a SCENARIO exclude each other: a "
                                       "replay's times come from the scenario");
    if (o->scenario != NULL && o->speed <= 0)
        return cli_usage_error("load", "a replay needs --speed X, e.g. --speed 1440 with "
                                       "'ratelab serve --window 60s'");
    if (o->scenario == NULL && o->rate_text == NULL)
        return cli_usage_error("load", "give --rate R (e.g. 2000/s or max) or a SCENARIO "
                                       "with --speed X");
    if (o->scenario == NULL && o->speed > 0)
        return cli_usage_error("load", "--speed applies to a replay: name a SCENARIO");
    if (o->connections < o->threads)
        return cli_usage_error("load", "--connections %d is fewer than --threads %d: each "
                                       "thread needs at least one connection",
                               o->connections, o->threads);
    return 0;
}

static int parse_options(int argc, char **argv, load_options *o)
{
    static const struct option longopts[] = {
        {"target", required_argument, NULL, 'T'},
        {"rate", required_argument, NULL, 'r'},
        {"speed", required_argument, NULL, 's'},
        {"duration", required_argument, NULL, 'd'},
        {"max-requests", required_argument, NULL, 'n'},
        {"requests", required_argument, NULL, 'n'},
        {"connections", required_argument, NULL, 'c'},
        {"threads", required_argument, NULL, 't'},
        {"timeout", required_argument, NULL, 'o'},
        {"http2", no_argument, NULL, '2'},
        {"template", required_argument, NULL, 'p'},
        {"role", required_argument, NULL, 'R'},
        {"hotkey", required_argument, NULL, 'H'},
        {"coldkey", required_argument, NULL, 'C'},
        {"clients", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},
        {"out", required_argument, NULL, 'O'},
        {"plot-dir", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == ':')
            return cli_usage_error("load", "option '%s' needs a value", argv[optind - 1]);
        if (ch == '?')
            return cli_usage_error("load", "unknown option '%s'", argv[optind - 1]);
        int rc = parse_option(ch, optarg, o);
        if (rc != 0)
            return rc;
    }
    if (optind < argc)
        o->scenario = argv[optind++];
    if (optind < argc)
        return cli_usage_error("load", "unexpected argument '%s': give at most one "
                                       "SCENARIO",
                               argv[optind]);
    return check_options(o);
}

/* Loads --template into the set (nothing to do without one). */
static int load_templates(const load_options *o, lg_template_set *set)
{
    rl_error err;
    if (o->template_path == NULL)
        return 0;
    size_t len;
    char *text = cli_read_file(o->template_path, LOAD_TEMPLATE_MAX_BYTES, &len);
    if (text == NULL)
        return CLI_EXIT_USAGE;
    int rc = lg_template_set_load(set, text, len, o->template_path, &err);
    free(text);
    if (rc < 0) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static void base_config(const load_options *o, const char *target, lg_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->target = target;
    cfg->connections = o->connections;
    cfg->threads = o->threads;
    cfg->duration_ns = o->duration_ns;
    cfg->max_requests = o->max_requests;
    cfg->timeout_ms = o->timeout_ms;
    cfg->http2 = o->http2;
    cfg->hotkey = o->hotkey;
    cfg->coldkey = o->coldkey;
    cfg->clients = o->clients;
    cfg->stop = &load_stop;
    cfg->progress = isatty(STDERR_FILENO) ? LG_PROGRESS_TERMINAL : LG_PROGRESS_LOG;
}

/* Opens --out FILE before anything is sent, so a path that cannot be
 * written stops the run before it spends any quota.  Returns 0 or
 * CLI_EXIT_USAGE after printing the error. */
static int open_output(load_options *o)
{
    if (o->plot_dir != NULL) {
        struct stat st;
        if (mkdir(o->plot_dir, 0777) != 0 && errno != EEXIST) {
            cli_error("--plot-dir: cannot create %s: %s", o->plot_dir, strerror(errno));
            return CLI_EXIT_USAGE;
        }
        if (stat(o->plot_dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
            access(o->plot_dir, W_OK | X_OK) != 0) {
            cli_error("--plot-dir: %s is not a writable directory; name a directory you "
                      "can write to",
                      o->plot_dir);
            return CLI_EXIT_USAGE;
        }
    }
    if (o->out_path == NULL || strcmp(o->out_path, "-") == 0)
        return 0;
    o->out_file = fopen(o->out_path, "w");
    if (o->out_file == NULL) {
        cli_error("--out: cannot write %s: %s; name a file in an existing, writable "
                  "directory",
                  o->out_path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Prints or writes the results; `extra` (may be NULL) is added to the JSON
 * document under "conformance".  Returns 0 or CLI_EXIT_USAGE. */
static int emit_results(load_options *o, const lg_result *r, json_t *extra,
                        const lg_replay *rp, const lg_conformance *c)
{
    rl_error err;
    json_t *doc = lg_result_to_json(r);
    int rc = 0;
    if (doc == NULL) {
        cli_error("out of memory while writing the results");
        json_decref(extra);
        return CLI_EXIT_USAGE;
    }
    if (extra != NULL)
        json_object_set_new(doc, "conformance", extra);

    if (o->out_file != NULL) {
        if (lg_json_write_file(doc, o->out_file, o->out_path, &err) < 0)
            rc = CLI_EXIT_USAGE;
        o->out_file = NULL;
    } else if (o->out_path != NULL && lg_json_write(doc, o->out_path, &err) < 0) {
        rc = CLI_EXIT_USAGE;
    }
    if (o->json && lg_json_write(doc, NULL, &err) < 0)
        rc = CLI_EXIT_USAGE;
    if (!o->json) {
        lg_result_print_text(stdout, r);
        if (rp != NULL && c != NULL)
            lg_conformance_print_text(stdout, rp, c, LOAD_TEXT_LINES);
        fflush(stdout);
    }
    if (rc != 0)
        cli_error("%s", err.message);
    json_decref(doc);
    return rc;
}

/* The plot writer's view of a result's series; arrays owned by the
 * caller through load_plot_free. */
typedef struct load_plot {
    rpt_load_series ls;
    double *ms;      /* p50, p90, p99: 3 x nbuckets */
    int64_t *counts; /* 2xx, 429, other 4xx, 5xx, errors: 5 x nbuckets */
} load_plot;

static void load_plot_free(load_plot *p)
{
    free(p->ms);
    free(p->counts);
}

static int load_plot_fill(load_plot *p, const lg_result *r)
{
    const lg_series *s = r->stats.series;
    size_t n = (size_t)s->nbuckets;
    memset(p, 0, sizeof(*p));
    p->ms = calloc(3 * n, sizeof(*p->ms));
    p->counts = calloc(5 * n, sizeof(*p->counts));
    if (p->ms == NULL || p->counts == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const lg_series_bucket *b = &s->buckets[i];
        p->ms[i] = (double)lg_series_percentile(b, 50) / 1e3;
        p->ms[n + i] = (double)lg_series_percentile(b, 90) / 1e3;
        p->ms[2 * n + i] = (double)lg_series_percentile(b, 99) / 1e3;
        p->counts[i] = (int64_t)b->status[LG_CLASS_2XX];
        p->counts[n + i] = (int64_t)b->status[LG_CLASS_429];
        p->counts[2 * n + i] = (int64_t)b->status[LG_CLASS_4XX];
        p->counts[3 * n + i] = (int64_t)b->status[LG_CLASS_5XX];
        p->counts[4 * n + i] = (int64_t)b->errors;
    }
    /* A long target is cut to fit the title. */
    snprintf(p->ls.title, sizeof(p->ls.title), "%.200s %s", r->target,
             r->rate[0] != '\0' ? r->rate : r->mode);
    p->ls.start_us = s->start_unix_us;
    p->ls.bucket_us = s->bucket_ns / 1000;
    p->ls.nbuckets = n;
    p->ls.p50_ms = p->ms;
    p->ls.p90_ms = p->ms + n;
    p->ls.p99_ms = p->ms + 2 * n;
    p->ls.status_2xx = p->counts;
    p->ls.status_429 = p->counts + n;
    p->ls.status_4xx = p->counts + 2 * n;
    p->ls.status_5xx = p->counts + 3 * n;
    p->ls.errors = p->counts + 4 * n;
    return 0;
}

/* Writes the --plot-dir files and renders them when gnuplot is there.
 * Returns 0 or CLI_EXIT_USAGE. */
static int write_plots(const load_options *o, const lg_result *r)
{
    static const char *const scripts[] = {"load-latency.gp", "load-status.gp"};
    char note[RPT_NOTE_MAX];
    load_plot p;

    if (o->plot_dir == NULL || r->stats.series == NULL)
        return 0;
    if (load_plot_fill(&p, r) < 0) {
        load_plot_free(&p);
        cli_error("out of memory while writing the plots");
        return CLI_EXIT_USAGE;
    }
    int rc = rpt_plot_write_load(o->plot_dir, &p.ls);
    load_plot_free(&p);
    if (rc != 0) {
        cli_error("--plot-dir: cannot write into %s: %s", o->plot_dir, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    if (rpt_plot_render(o->plot_dir, scripts, 2, RPT_GNUPLOT_TIMEOUT_S, note,
                        sizeof(note)) != RPT_RENDERED)
        fprintf(stderr, "ratelab load: %s\n", note);
    return 0;
}

static int run_rate(load_options *o, const char *target, lg_template_set *set)
{
    rl_error err;
    lg_config cfg;
    lg_result result;

    base_config(o, target, &cfg);
    if (lg_rate_parse(o->rate_text, &cfg.rate, &err) < 0)
        return cli_usage_error("load", "--rate: %s", err.message);
    cfg.mode = cfg.rate.is_max ? LG_MODE_MAX : LG_MODE_RATE;
    if (cfg.duration_ns == 0)
        cfg.duration_ns = 30 * 1000000000LL;
    cfg.roles[0] = o->role;
    cfg.templates[0] = lg_template_set_find(set, o->role, &err);
    cfg.nroles = 1;
    if (cfg.templates[0] == NULL) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }
    int rc = open_output(o);
    if (rc != 0)
        return rc;

    if (lg_run(&cfg, &result, &err) < 0) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }
    rc = emit_results(o, &result, NULL, NULL, NULL);
    if (rc == 0)
        rc = write_plots(o, &result);
    lg_result_free(&result);
    return rc;
}

/* Fills the templates of the roles the scenario's populations use. */
static int replay_templates(const sim_scenario *sc, const lg_replay *rp,
                            lg_template_set *set, lg_config *cfg)
{
    rl_error err;
    cfg->nroles = rp->nroles;
    for (int r = 0; r < rp->nroles; r++)
        cfg->roles[r] = rp->roles[r];
    for (int p = 0; p < sc->npops; p++) {
        int r = sc->pops[p].role_index;
        if (cfg->templates[r] != NULL)
            continue;
        cfg->templates[r] = lg_template_set_find(set, rp->roles[r], &err);
        if (cfg->templates[r] == NULL) {
            cli_error("%s: population '%s': %s", sc->path, sc->pops[p].name, err.message);
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
}

/* Checks, before the wait for a window boundary, that the target answers
 * and that its window (when GET /rate-limits reports one, as `ratelab
 * serve` does) is the scenario's window divided by the speed.  Returns 0
 * or CLI_EXIT_USAGE after printing the error. */
static int check_server_window(const load_options *o, const lg_replay *rp,
                               const char *target)
{
    rl_error err;
    lg_server_window sw;
    char needed[32], have[32];

    if (lg_server_window_fetch(target, o->timeout_ms, &sw, &err) < 0) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }
    rl_duration_format(rp->window_real_us, needed, sizeof(needed));
    if (!sw.has_window) {
        fprintf(stderr, "ratelab load: warning: GET %s/rate-limits reports no window (HTTP "
                        "%ld, no \"ratelab\" object), so --speed %g cannot be checked; the "
                        "server's window must be %s\n",
                target, sw.status, o->speed, needed);
        return 0;
    }
    if (sw.window_us == rp->window_real_us)
        return 0;
    rl_duration_format(sw.window_us, have, sizeof(have));
    return cli_usage_error("load", "the server's window is %s (GET %s/rate-limits), but "
                                   "--speed %g needs a window of %s: use --speed %.10g, or "
                                   "start the server with --window %s",
                           sw.window, target, o->speed, needed,
                           (double)rp->window_sim_us / (double)sw.window_us, needed);
}

/* Runs the schedule from the next server window boundary on, then
 * reports; returns the exit status. */
static int replay_run(load_options *o, lg_replay *rp, lg_config *cfg)
{
    rl_error err;
    lg_result result;
    lg_conformance conf;
    int rc = check_server_window(o, rp, cfg->target);
    if (rc != 0)
        return rc;

    cfg->mode = LG_MODE_SCHEDULE;
    cfg->schedule = rp->entries;
    cfg->nschedule = rp->n;
    cfg->outcomes = rp->outcomes;
    if (cfg->duration_ns == 0 || cfg->duration_ns > rp->length_real_ns)
        cfg->duration_ns = rp->length_real_ns;
    rc = open_output(o);
    if (rc != 0)
        return rc;

    /* Day 0 must start exactly on a boundary of the server's window. */
    int64_t now_real_us = lg_real_ns() / 1000, now_mono = lg_mono_ns();
    int64_t start_us = lg_replay_align(rp, now_real_us, 300000);
    cfg->start_ns = now_mono + (start_us - now_real_us) * 1000;
    char when[RL_ISO8601_MAX];
    rl_time_format_iso8601(start_us, when, sizeof(when));
    fprintf(stderr, "ratelab load: %lld requests; waiting %.2f s for the server's window "
                    "boundary at %s\n",
            (long long)rp->n, (double)(start_us - now_real_us) / 1e6, when);

    if (lg_run(cfg, &result, &err) < 0) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }
    rp->interrupted = result.interrupted;
    if (lg_conformance_compute(rp, &conf) < 0) {
        cli_error("out of memory while comparing the outcomes");
        lg_result_free(&result);
        return CLI_EXIT_USAGE;
    }
    rc = emit_results(o, &result, lg_conformance_to_json(rp, &conf), rp, &conf);
    if (rc == 0)
        rc = write_plots(o, &result);
    if (rc == 0 && rp->interrupted) {
        cli_error("the replay was interrupted: %lld of %lld requests completed (%lld "
                  "differ from the prediction); %lld were not run, so there is no verdict",
                  (long long)(conf.requests - conf.not_run), (long long)conf.requests,
                  (long long)conf.nmismatches, (long long)conf.not_run);
        rc = CLI_EXIT_FAILED;
    } else if (rc == 0 && conf.nmismatches > 0) {
        cli_error("the endpoint did not decide as predicted: %lld of %lld requests differ",
                  (long long)conf.nmismatches, (long long)conf.requests);
        rc = CLI_EXIT_FAILED;
    }
    lg_conformance_free(&conf);
    lg_result_free(&result);
    return rc;
}

static int run_replay(load_options *o, const char *target, lg_template_set *set)
{
    rl_error err;
    sim_scenario sc;
    lg_replay rp;
    lg_config cfg;

    if (sim_scenario_load(&sc, o->scenario, &err) < 0) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }
    if (lg_replay_build(&rp, &sc, o->speed, o->max_requests, &err) < 0) {
        cli_error("%s", err.message);
        sim_scenario_free(&sc);
        return CLI_EXIT_USAGE;
    }
    base_config(o, target, &cfg);
    int rc = replay_templates(&sc, &rp, set, &cfg);
    if (rc == 0)
        rc = replay_run(o, &rp, &cfg);
    lg_replay_free(&rp);
    sim_scenario_free(&sc);
    return rc;
}

static int load_main(int argc, char **argv)
{
    load_options o = {
        .max_requests = 1000000,
        .connections = 10,
        .threads = 1,
        .timeout_ms = 10000,
        .role = "miner",
        .hotkey = "ratelab-load",
        .clients = 1,
    };
    rl_error err;
    char target[512];

    /* Installed first, so a Ctrl-C at any point still ends with results. */
    install_stop_handler();
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        fputs(load_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (lg_target_normalize(o.target, target, sizeof(target), &err) < 0)
        return cli_usage_error("load", "--target: %s", err.message);
    if (lg_check_client_id(o.hotkey, "--hotkey", &err) < 0 ||
        (o.coldkey != NULL && lg_check_client_id(o.coldkey, "--coldkey", &err) < 0))
        return cli_usage_error("load", "%s", err.message);

    lg_template_set set = {0};
    rc = load_templates(&o, &set);
    if (rc == 0)
        rc = o.scenario != NULL ? run_replay(&o, target, &set) : run_rate(&o, target, &set);
    lg_template_set_free(&set);
    /* A run that failed before its results were written leaves the
     * --out file empty. */
    if (o.out_file != NULL)
        fclose(o.out_file);
    return rc;
}

const cli_command cli_cmd_load = {
    .name = "load",
    .summary = "send load to an endpoint, or replay a scenario and check conformance",
    .usage = load_usage,
    .run = load_main,
};
