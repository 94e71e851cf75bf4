/*
 * cmd_store_bench.c: `ratelab store-bench`, which hammers a Redis store
 * with decisions from several threads and reports their rate and how many
 * requests were admitted against the limit.
 *
 * Each thread owns one Redis store (one connection) and one limiter, so the
 * keys are the limiter's own "<prefix><client>:<YYYY-MM-DD>" names.  The
 * prefix is fresh per run ("ratelab-bench:<16 hex digits>:"), so runs never
 * share counters, and the run deletes its keys at the end unless
 * --keep-keys is given.  All requests carry one time, taken at the start,
 * so they fall in one window even across midnight.
 *
 * Counters are per thread and summed after the threads end: no locks on
 * the hot path.  The run is bounded by --requests and by --max-seconds.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "rl_limiter.h"
#include "rl_store_redis.h"
#include "rl_time.h"

#define BENCH_MAX_THREADS 256
#define BENCH_MAX_REQUESTS 100000000LL
#define BENCH_MAX_CLIENTS 100000
#define BENCH_CLIENT_NAME_MAX 24
#define BENCH_DEADLINE_EVERY 256 /* requests between two deadline checks */

static const char store_bench_usage[] =
    "Usage: ratelab store-bench --store URL [--policy atomic|deployed]\n"
    "                           [--threads N] [--requests M] [--clients K]\n"
    "                           [--limit L] [--global-limit G] [--json] ...\n"
    "\n"
    "Send M limiter decisions to a Redis server from N threads, each with its\n"
    "own connection, on K clients (hotkeys), and report decisions per second\n"
    "and how many requests were allowed against the limit.  Run it against\n"
    "your own Redis before a deploy; it counts under a fresh key prefix\n"
    "(ratelab-bench:<random>:) and deletes those keys at the end.\n"
    "\n"
    "Options:\n"
    "  --store URL            redis://[user:password@]host[:port][/db] or\n"
    "                         unix:///path[?db=N] (required)\n"
    "  --policy P             atomic (one script per decision, default) or\n"
    "                         deployed (the service's separate GET/INCR steps)\n"
    "  --threads N            threads and connections, 1..256 (default 1)\n"
    "  --requests M           decisions in total, 1..100000000 (default 10000)\n"
    "  --clients K            hotkeys the requests go to in turn, 1..100000\n"
    "                         (default 1)\n"
    "  --limit L              per-client limit per day (default M: every request\n"
    "                         fits, which measures the counting path; set it\n"
    "                         lower to measure overshoot)\n"
    "  --global-limit G       total per day (default 9007199254740992)\n"
    "  --connect-timeout MS   connect timeout in ms (default 1000)\n"
    "  --command-timeout MS   reply timeout in ms (default 1000)\n"
    "  --max-seconds S        stop after S seconds even if requests remain\n"
    "                         (default 600)\n"
    "  --keep-keys            leave the run's keys in Redis\n"
    "  --json                 print JSON instead of text\n"
    "  -h, --help             print this help\n"
    "\n"
    "overshoot = the sum over clients of max(0, allowed - L): requests admitted\n"
    "beyond the limit.  The atomic policy keeps it at 0; the deployed policy's\n"
    "separate round trips let concurrent requests pass together.\n"
    "\n"
    "Exit status: 0 every request got a decision, 1 some got a store error or\n"
    "were not sent before --max-seconds, 2 bad option or the store cannot be\n"
    "used.  See docs/redis-store.md.\n";

typedef struct bench_options {
    const char *store_url;
    rl_policy policy;
    int threads;
    int64_t requests;
    int clients;
    int64_t limit; /* -1: the number of requests */
    int64_t global_limit;
    int connect_timeout_ms;
    int command_timeout_ms;
    int64_t max_seconds;
    int keep_keys;
    int json;
    int help;
} bench_options;

/* Holds the threads until all exist, so they start together; a run whose
 * threads could not all be created is cancelled instead. */
typedef struct bench_gate {
    pthread_mutex_t mutex;
    pthread_cond_t opened;
    int open;
    int cancelled;
} bench_gate;

/* What one thread did; summed after the threads end. */
typedef struct bench_thread {
    /* Set before the thread starts. */
    const bench_options *opt;
    const rl_limits *limits;
    const char *key_prefix;
    const char (*client_names)[BENCH_CLIENT_NAME_MAX];
    int64_t first_request, n_requests;
    int64_t now_us;      /* the one request time of the run */
    int64_t deadline_ms; /* CLOCK_MONOTONIC */
    rl_store *store;
    struct bench_gate *start;

    /* Results. */
    int64_t *allowed_by_client; /* clients entries */
    int64_t allowed, rejected_client, rejected_global;
    int64_t errors_store, errors_timeout, not_sent;
    char first_error[256];
} bench_thread;

/* Totals of a run. */
typedef struct bench_result {
    int64_t decisions, allowed, rejected_client, rejected_global;
    int64_t errors_store, errors_timeout, not_sent;
    int64_t overshoot;
    double elapsed_s;
    uint64_t round_trips;
    int64_t keys, keys_without_expiry;
    int keys_checked;
    char first_error[256];
} bench_result;

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Options                                                              */
/* ------------------------------------------------------------------ */

/* Parses a plain decimal in [min, max]; -1 when it is not one. */
static int parse_count(const char *text, int64_t min, int64_t max, int64_t *out)
{
    char *end;

    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_bounded(const char *option, const char *text, int64_t min, int64_t max,
                         int64_t *out)
{
    if (parse_count(text, min, max, out) == 0)
        return 0;
    return cli_usage_error("store-bench",
                           "invalid %s '%s': expected a whole number from %" PRId64
                           " to %" PRId64,
                           option, text, min, max);
}

static int parse_option(int ch, const char *arg, bench_options *opt)
{
    int64_t v = 0;
    rl_error err;
    int rc = 0;

    switch (ch) {
    case 's':
        opt->store_url = arg;
        break;
    case 'p':
        if (rl_policy_parse(arg, &opt->policy, &err) != RL_OK)
            return cli_usage_error("store-bench", "--policy: %s", err.message);
        break;
    case 't':
        rc = parse_bounded("--threads", arg, 1, BENCH_MAX_THREADS, &v);
        opt->threads = (int)v;
        break;
    case 'n':
        rc = parse_bounded("--requests", arg, 1, BENCH_MAX_REQUESTS, &opt->requests);
        break;
    case 'c':
        rc = parse_bounded("--clients", arg, 1, BENCH_MAX_CLIENTS, &v);
        opt->clients = (int)v;
        break;
    case 'l':
        rc = parse_bounded("--limit", arg, 0, RL_LIMIT_VALUE_MAX, &opt->limit);
        break;
    case 'g':
        rc = parse_bounded("--global-limit", arg, 0, RL_LIMIT_VALUE_MAX,
                           &opt->global_limit);
        break;
    case 'C':
        rc = parse_bounded("--connect-timeout", arg, 1, 600000, &v);
        opt->connect_timeout_ms = (int)v;
        break;
    case 'T':
        rc = parse_bounded("--command-timeout", arg, 1, 600000, &v);
        opt->command_timeout_ms = (int)v;
        break;
    case 'm':
        rc = parse_bounded("--max-seconds", arg, 1, 86400, &opt->max_seconds);
        break;
    }
    return rc;
}

static int parse_options(int argc, char **argv, bench_options *opt)
{
    static const struct option longopts[] = {
        {"store", required_argument, NULL, 's'},
        {"policy", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 't'},
        {"requests", required_argument, NULL, 'n'},
        {"clients", required_argument, NULL, 'c'},
        {"limit", required_argument, NULL, 'l'},
        {"global-limit", required_argument, NULL, 'g'},
        {"connect-timeout", required_argument, NULL, 'C'},
        {"command-timeout", required_argument, NULL, 'T'},
        {"max-seconds", required_argument, NULL, 'm'},
        {"keep-keys", no_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    opterr = 0; /* the messages below replace getopt's own */
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == 'k') {
            opt->keep_keys = 1;
        } else if (ch == 'j') {
            opt->json = 1;
        } else if (ch == 'h') {
            opt->help = 1;
        } else if (ch == ':') {
            return cli_usage_error("store-bench", "%s needs a value", argv[optind - 1]);
        } else if (ch == '?') {
            return cli_usage_error("store-bench", "unknown option '%s'",
                                   argv[optind - 1]);
        } else if (parse_option(ch, optarg, opt) != 0) {
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error("store-bench", "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* Checks what single options cannot: the required store and the
 * relations between counts. */
static int check_options(bench_options *opt)
{
    if (opt->help)
        return 0;
    if (opt->store_url == NULL)
        return cli_usage_error("store-bench",
                               "--store is required: give the Redis URL to "
                               "benchmark, e.g. --store redis://127.0.0.1:6379/0");
    if (opt->threads > opt->requests)
        return cli_usage_error("store-bench",
                               "--threads (%d) is more than --requests (%" PRId64
                               "): every thread needs at least one request",
                               opt->threads, opt->requests);
    if (opt->limit < 0)
        opt->limit = opt->requests;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The run                                                              */
/* ------------------------------------------------------------------ */

static void count_outcome(bench_thread *t, int rc, const rl_decision *d, int client)
{
    if (rc == RL_OK && d->outcome == RL_ALLOWED) {
        t->allowed++;
        t->allowed_by_client[client]++;
    } else if (rc == RL_OK && d->outcome == RL_REJECTED_CLIENT) {
        t->rejected_client++;
    } else if (rc == RL_OK) {
        t->rejected_global++;
    } else {
        if (rc == RL_ERR_TIMEOUT)
            t->errors_timeout++;
        else
            t->errors_store++;
        if (t->first_error[0] == '\0') {
            const char *why = rl_store_redis_last_error(t->store);
            snprintf(t->first_error, sizeof(t->first_error), "%s (%s)", rl_strerror(rc),
                     why != NULL ? why : "");
        }
    }
}

/* Returns 1 when the run starts, 0 when it was cancelled. */
static int wait_for_gate(bench_gate *gate)
{
    pthread_mutex_lock(&gate->mutex);
    while (!gate->open)
        pthread_cond_wait(&gate->opened, &gate->mutex);
    int go = !gate->cancelled;
    pthread_mutex_unlock(&gate->mutex);
    return go;
}

static void open_gate(bench_gate *gate, int cancelled)
{
    pthread_mutex_lock(&gate->mutex);
    gate->open = 1;
    gate->cancelled = cancelled;
    pthread_cond_broadcast(&gate->opened);
    pthread_mutex_unlock(&gate->mutex);
}

static void *bench_thread_main(void *arg)
{
    bench_thread *t = arg;
    rl_limiter lim;
    rl_decision d;

    rl_limiter_init(&lim, t->limits, t->store);
    lim.policy = t->opt->policy;
    snprintf(lim.key_prefix, sizeof(lim.key_prefix), "%s", t->key_prefix);

    if (!wait_for_gate(t->start))
        return NULL;
    for (int64_t i = 0; i < t->n_requests; i++) {
        if (i % BENCH_DEADLINE_EVERY == 0 && monotonic_ms() >= t->deadline_ms) {
            t->not_sent = t->n_requests - i;
            break;
        }
        int64_t request = t->first_request + i;
        int client = (int)(request % t->opt->clients);
        rl_request req = {t->client_names[client], 0, 1, t->now_us};
        int rc = rl_limiter_decide(&lim, &req, &d);
        count_outcome(t, rc, &d, client);
    }
    return NULL;
}

/* Writes "ratelab-bench:<16 hex digits>:" from the kernel's random source. */
static int make_key_prefix(char *buf, size_t len)
{
    uint64_t r;

    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        cli_error("cannot read random bytes for the key prefix: %s", strerror(errno));
        return -1;
    }
    snprintf(buf, len, "ratelab-bench:%016" PRIx64 ":", r);
    return 0;
}

/* Opens one store per thread.  Prints the error and returns
 * CLI_EXIT_USAGE when the store cannot be used. */
static int open_stores(const bench_options *opt, bench_thread *threads)
{
    rl_redis_options ropt;
    rl_error err;

    rl_redis_options_init(&ropt);
    ropt.connect_timeout_ms = opt->connect_timeout_ms;
    ropt.command_timeout_ms = opt->command_timeout_ms;
    ropt.logger = cli_logger();
    for (int i = 0; i < opt->threads; i++) {
        if (rl_store_redis_create(opt->store_url, &ropt, &threads[i].store, &err) !=
            RL_OK) {
            cli_error("%s", err.message);
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
}

/* Splits the requests evenly: thread i gets [i*M/N, (i+1)*M/N). */
static void plan_threads(const bench_options *opt, bench_thread *threads,
                         const rl_limits *limits, const char *prefix,
                         const char (*names)[BENCH_CLIENT_NAME_MAX], bench_gate *start,
                         int64_t now_us)
{
    int64_t deadline_ms = monotonic_ms() + opt->max_seconds * 1000;

    for (int i = 0; i < opt->threads; i++) {
        bench_thread *t = &threads[i];
        t->opt = opt;
        t->limits = limits;
        t->key_prefix = prefix;
        t->client_names = names;
        t->first_request = opt->requests * i / opt->threads;
        t->n_requests = opt->requests * (i + 1) / opt->threads - t->first_request;
        t->now_us = now_us;
        t->deadline_ms = deadline_ms;
        t->start = start;
    }
}

/* Starts the threads, releases them together and waits for all.  Returns
 * 0, or -1 after printing why when a thread could not be created. */
static int run_threads(const bench_options *opt, bench_thread *threads,
                       bench_gate *start, double *elapsed_s)
{
    pthread_t *ids = NULL;
    int started = 0;

    if (opt->threads > 0 && opt->threads <= BENCH_MAX_THREADS)
        ids = calloc((size_t)opt->threads, sizeof(*ids));
    if (ids == NULL) {
        cli_error("out of memory");
        return -1;
    }
    while (started < opt->threads &&
           pthread_create(&ids[started], NULL, bench_thread_main, &threads[started]) ==
               0)
        started++;

    int cancelled = started < opt->threads;
    double t0 = monotonic_s();
    open_gate(start, cancelled);
    for (int i = 0; i < started; i++)
        pthread_join(ids[i], NULL);
    *elapsed_s = monotonic_s() - t0;
    free(ids);
    if (cancelled)
        cli_error("cannot start thread %d of %d; try fewer --threads", started + 1,
                  opt->threads);
    return cancelled ? -1 : 0;
}

static void sum_results(const bench_options *opt, bench_thread *threads,
                        bench_result *res)
{
    for (int i = 0; i < opt->threads; i++) {
        bench_thread *t = &threads[i];
        rl_redis_stats st;
        res->allowed += t->allowed;
        res->rejected_client += t->rejected_client;
        res->rejected_global += t->rejected_global;
        res->errors_store += t->errors_store;
        res->errors_timeout += t->errors_timeout;
        res->not_sent += t->not_sent;
        if (rl_store_redis_stats(t->store, &st) == RL_OK)
            res->round_trips += st.round_trips;
        if (res->first_error[0] == '\0' && t->first_error[0] != '\0')
            snprintf(res->first_error, sizeof(res->first_error), "%s", t->first_error);
    }
    res->decisions = res->allowed + res->rejected_client + res->rejected_global;

    /* Overshoot per client, from every thread's admissions of it. */
    for (int c = 0; c < opt->clients; c++) {
        int64_t allowed = 0;
        for (int i = 0; i < opt->threads; i++)
            allowed += threads[i].allowed_by_client[c];
        if (allowed > opt->limit)
            res->overshoot += allowed - opt->limit;
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs one prefix scan, waiting out a reconnection backoff (at most 2 s by
 * default) for up to CLEANUP_WAIT_MS in all. */
#define CLEANUP_WAIT_MS 5000
static int scan_with_retry(rl_store *store, const char *prefix, int delete_keys,
                           int64_t *keys, int64_t *keys_without_expiry)
{
    int rc = RL_ERR_STORE;

    for (int waited_ms = 0; waited_ms <= CLEANUP_WAIT_MS; waited_ms += 100) {
        rc = rl_store_redis_scan_prefix(store, prefix, delete_keys, keys,
                                        keys_without_expiry);
        if (rc != RL_ERR_STORE && rc != RL_ERR_TIMEOUT)
            break;
        sleep_ms(100);
    }
    return rc;
}

/* Counts the run's keys and those without an expiry, then deletes them
 * unless they are to be kept.  A failure is reported, not fatal. */
static void inspect_keys(const bench_options *opt, rl_store *store, const char *prefix,
                         bench_result *res)
{
    int rc = scan_with_retry(store, prefix, 0, &res->keys, &res->keys_without_expiry);
    if (rc == RL_OK && !opt->keep_keys)
        rc = scan_with_retry(store, prefix, 1, NULL, NULL);
    res->keys_checked = rc == RL_OK;
    if (rc != RL_OK)
        cli_error("cannot %s the keys under %s: %s (%s)",
                  opt->keep_keys ? "count" : "count or delete", prefix, rl_strerror(rc),
                  rl_store_redis_last_error(store));
}

static double per_second(const bench_result *res)
{
    return res->elapsed_s > 0 ? (double)res->decisions / res->elapsed_s : 0.0;
}

static void print_text(const bench_options *opt, const char *url, const char *prefix,
                       const bench_result *res)
{
    int64_t errors = res->errors_store + res->errors_timeout;

    printf("store-bench: %s, policy %s, %d thread(s) with a connection each\n", url,
           rl_policy_name(opt->policy), opt->threads);
    printf("requests      %" PRId64 " on %d client(s), limit %" PRId64
           " per client, global limit %" PRId64 "\n",
           opt->requests, opt->clients, opt->limit, opt->global_limit);
    printf("decisions/s   %.0f\n", per_second(res));
    printf("allowed       %" PRId64 " (limit x clients = %" PRId64
           ", overshoot %" PRId64 ")\n",
           res->allowed, opt->limit * opt->clients, res->overshoot);
    printf("rejected      %" PRId64 " (client %" PRId64 ", global %" PRId64 ")\n",
           res->rejected_client + res->rejected_global, res->rejected_client,
           res->rejected_global);
    printf("errors        %" PRId64 " (store %" PRId64 ", timeout %" PRId64 ")%s%s\n",
           errors, res->errors_store, res->errors_timeout,
           errors > 0 ? "; first: " : "", errors > 0 ? res->first_error : "");
    if (res->not_sent > 0)
        printf("not sent      %" PRId64 " (--max-seconds %" PRId64 " reached)\n",
               res->not_sent, opt->max_seconds);
    printf("round trips   %.2f per decision\n",
           res->decisions + errors > 0
               ? (double)res->round_trips / (double)(res->decisions + errors)
               : 0.0);
    printf("elapsed       %.3f s\n", res->elapsed_s);
    if (res->keys_checked)
        printf("keys          %" PRId64 " under %s (%" PRId64 " without expiry), %s\n",
               res->keys, prefix, res->keys_without_expiry,
               opt->keep_keys ? "kept" : "deleted");
}

static int print_json(const bench_options *opt, const char *url, const char *prefix,
                      const bench_result *res)
{
    json_t *root = json_object();
    int64_t errors = res->errors_store + res->errors_timeout;

    if (root == NULL)
        return -1;
    json_object_set_new(root, "store", json_string(url));
    json_object_set_new(root, "policy", json_string(rl_policy_name(opt->policy)));
    json_object_set_new(root, "threads", json_integer(opt->threads));
    json_object_set_new(root, "requests", json_integer(opt->requests));
    json_object_set_new(root, "clients", json_integer(opt->clients));
    json_object_set_new(root, "limit", json_integer(opt->limit));
    json_object_set_new(root, "global_limit", json_integer(opt->global_limit));
    json_object_set_new(root, "decisions", json_integer(res->decisions));
    json_object_set_new(root, "allowed", json_integer(res->allowed));
    json_object_set_new(root, "rejected_client", json_integer(res->rejected_client));
    json_object_set_new(root, "rejected_global", json_integer(res->rejected_global));
    json_object_set_new(root, "overshoot", json_integer(res->overshoot));
    json_object_set_new(root, "errors", json_integer(errors));
    json_object_set_new(root, "errors_store", json_integer(res->errors_store));
    json_object_set_new(root, "errors_timeout", json_integer(res->errors_timeout));
    json_object_set_new(root, "not_sent", json_integer(res->not_sent));
    json_object_set_new(root, "elapsed_s", json_real(res->elapsed_s));
    json_object_set_new(root, "decisions_per_second", json_real(per_second(res)));
    json_object_set_new(root, "round_trips",
                        json_integer((json_int_t)res->round_trips));
    json_object_set_new(root, "key_prefix", json_string(prefix));
    json_object_set_new(root, "keys",
                        res->keys_checked ? json_integer(res->keys) : json_null());
    json_object_set_new(root, "keys_without_expiry",
                        res->keys_checked ? json_integer(res->keys_without_expiry)
                                          : json_null());
    json_object_set_new(root, "keys_kept", json_boolean(opt->keep_keys));
    if (errors > 0)
        json_object_set_new(root, "first_error", json_string(res->first_error));

    int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(root);
    return rc;
}

/* Client names "bench-000000".."bench-099999", one row each; caller frees. */
static char (*make_client_names(int clients))[BENCH_CLIENT_NAME_MAX]
{
    if (clients <= 0 || clients > BENCH_MAX_CLIENTS)
        return NULL;
    char(*names)[BENCH_CLIENT_NAME_MAX] = calloc((size_t)clients, sizeof(*names));

    for (int i = 0; names != NULL && i < clients; i++)
        snprintf(names[i], sizeof(names[i]), "bench-%06d", i);
    return names;
}

/* Runs the benchmark with options already checked; returns the exit status. */
static int run_bench(const bench_options *opt)
{
    bench_thread *threads = calloc((size_t)opt->threads, sizeof(*threads));
    char(*names)[BENCH_CLIENT_NAME_MAX] = make_client_names(opt->clients);
    bench_gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    bench_result res;
    rl_limits limits;
    char prefix[RL_KEY_PREFIX_MAX];
    int status = CLI_EXIT_USAGE;

    memset(&res, 0, sizeof(res));
    if (threads == NULL || names == NULL) {
        cli_error("out of memory");
        goto out;
    }
    for (int i = 0; i < opt->threads; i++) {
        threads[i].allowed_by_client = calloc((size_t)opt->clients, sizeof(int64_t));
        if (threads[i].allowed_by_client == NULL) {
            cli_error("out of memory");
            goto out;
        }
    }
    if (make_key_prefix(prefix, sizeof(prefix)) < 0 || open_stores(opt, threads) != 0)
        goto out;

    /* One role whose per-client limit is --limit, under --global-limit. */
    rl_limits_init_defaults(&limits);
    limits.nroles = 1;
    limits.roles[0].per_client.value = opt->limit;
    limits.total.value = opt->global_limit;

    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t now_us = (int64_t)wall.tv_sec * RL_US_PER_SEC + wall.tv_nsec / 1000;
    plan_threads(opt, threads, &limits, prefix,
                 (const char(*)[BENCH_CLIENT_NAME_MAX])names, &gate, now_us);
    if (run_threads(opt, threads, &gate, &res.elapsed_s) != 0) {
        status = CLI_EXIT_FAILED;
        goto out;
    }

    sum_results(opt, threads, &res);
    inspect_keys(opt, threads[0].store, prefix, &res);
    const char *url = rl_store_redis_url(threads[0].store);
    if (opt->json)
        print_json(opt, url, prefix, &res);
    else
        print_text(opt, url, prefix, &res);
    int complete = res.errors_store + res.errors_timeout + res.not_sent == 0;
    status = complete ? CLI_EXIT_OK : CLI_EXIT_FAILED;

out:
    for (int i = 0; threads != NULL && i < opt->threads; i++) {
        rl_store_destroy(threads[i].store);
        free(threads[i].allowed_by_client);
    }
    free(threads);
    free(names);
    return status;
}

static int store_bench_main(int argc, char **argv)
{
    bench_options opt = {
        .policy = RL_POLICY_ATOMIC,
        .threads = 1,
        .requests = 10000,
        .clients = 1,
        .limit = -1,
        .global_limit = RL_LIMIT_VALUE_MAX,
        .connect_timeout_ms = 1000,
        .command_timeout_ms = 1000,
        .max_seconds = 600,
    };
    int rc = parse_options(argc, argv, &opt);

    if (rc == 0)
        rc = check_options(&opt);
    if (rc != 0)
        return rc;
    if (opt.help) {
        fputs(store_bench_usage, stdout);
        return CLI_EXIT_OK;
    }

    /* A server that closes a connection must not kill the process: hiredis
     * writes with write(), which raises SIGPIPE on a closed socket. */
    signal(SIGPIPE, SIG_IGN);
    return run_bench(&opt);
}

const cli_command cli_cmd_store_bench = {
    .name = "store-bench",
    .summary = "measure decisions/s and overshoot of a Redis store",
    .usage = store_bench_usage,
    .run = store_bench_main,
};
