/*
 * cmd_serve.c: `ratelab serve`, the reference endpoint on loopback.
 *
 * Parses the options, loads the limits exactly as `ratelab limits` does
 * (cli_load_limits), connects the store once to fail early, starts the
 * server (server/srv_server.h) and waits for SIGINT or SIGTERM.  Those
 * signals are blocked before the worker threads start, so only the main
 * thread receives them (sigwait), and a clean stop ends with one summary
 * line on stderr.  Bad input exits 2 with one message; a clean stop exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "rl_store_redis.h"
#include "rl_time.h"
#include "srv_server.h"

#define SERVE_MAX_ENV_FILES 32
#define SERVE_MAX_THREADS 256
#define SERVE_MAX_CONNECTIONS 100000
#define SERVE_VALIDATORS_MAX_BYTES (64u << 20)

static const char serve_usage[] =
    "Usage: ratelab serve [OPTIONS]\n"
    "\n"
    "Run a reference endpoint shaped like the deployed credentials API, on\n"
    "loopback, limiting with ratelab's core.  Success bodies are fakes; no\n"
    "credential is ever issued.  Stop it with Ctrl-C (SIGINT) or SIGTERM.\n"
    "\n"
    "Routes: POST /get-folder-access, POST /get-validator-access,\n"
    "POST /get-miner-specific-access, GET /rate-limits, GET /healthcheck.\n"
    "\n"
    "Options:\n"
    "  --listen ADDR:PORT      address to listen on (default 127.0.0.1:8000;\n"
    "                          IPv6 as [::1]:8000); a non-loopback address such\n"
    "                          as 0.0.0.0 is reachable from other hosts and logs\n"
    "                          a warning at start-up\n"
    "  --store URL             memory (default) or redis://[user:pass@]host[:port][/db]\n"
    "                          or unix:///path/to/socket\n"
    "  --policy NAME           deployed (default: limiter before authentication,\n"
    "                          failed requests still count) or atomic (auth first,\n"
    "                          one atomic check-and-count)\n"
    "  --window W              utc-day (default), utc+HH:MM, utc-HH:MM, or a\n"
    "                          duration such as 60s: a whole \"day\" per window\n"
    "  --env FILE              dotenv file or container task definition with\n"
    "                          limit variables; repeatable, later files win\n"
    "  --container NAME        the container of a task definition to use\n"
    "  --validators FILE       validator hotkeys, one per line ('#' comments);\n"
    "                          default: every hotkey not starting with 'N'\n"
    "  --threads N             worker threads (default 1, at most 256)\n"
    "  --fail-open             store errors: admit the request\n"
    "  --fail-closed           store errors: answer 503 (default)\n"
    "  --access-log[=FILE]     one line per request to stderr or FILE (appended)\n"
    "  --max-connections N     concurrent connections (default 1024)\n"
    "  --max-connections-per-ip N\n"
    "                          concurrent connections from one client address\n"
    "                          (default: half of --max-connections).  All local\n"
    "                          clients share 127.0.0.1: raise it for a local load\n"
    "                          generator with more connections\n"
    "  --connection-timeout D  close idle connections after D, whole seconds\n"
    "                          (default 30s)\n"
    "  --request-timeout D     close a connection whose request (headers and body)\n"
    "                          has not arrived whole within D of its opening or\n"
    "                          its previous request, whole seconds (default 10s)\n"
    "  -h, --help              print this help\n"
    "\n"
    "Limits: DAILY_LIMIT_PER_MINER (20), DAILY_LIMIT_PER_VALIDATOR (10000) and\n"
    "TOTAL_DAILY_LIMIT (200000) from the environment, then each --env FILE.\n"
    "Logging: RATELAB_LOG=error|warn|info|debug (default info).\n"
    "A body without \"timestamp\" counts as sent now, as in the deployed\n"
    "service, so it passes the timestamp check unless its expiry is past.\n"
    "See docs/serve.md for bodies, status codes, headers and slow clients.\n"
    "\n"
    "Exit status: 0 stopped by a signal, 2 bad option, unreadable file,\n"
    "unreachable store or address in use (one message on stderr).\n";

typedef struct serve_options {
    srv_config cfg;
    const char *env_files[SERVE_MAX_ENV_FILES];
    int n_env_files;
    const char *container;
    const char *store_url;
    const char *validators_path;
    const char *access_log_path; /* NULL: none; "-": stderr */
    int per_ip_given; /* --max-connections-per-ip was given */
    int help;
} serve_options;

/* Parses a positive integer option in [1, max]. */
static int parse_count(const char *name, const char *text, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v < 1 || v > max)
        return cli_usage_error("serve", "invalid %s '%s': expected a whole number from 1 to %u",
                               name, text, max);
    *out = (unsigned)v;
    return 0;
}

/* Parses a timeout option in whole seconds from 1s to 1d. */
static int parse_timeout(const char *name, const char *text, unsigned *out_s)
{
    rl_error err;
    int64_t us;

    if (rl_duration_parse(text, &us, &err) < 0)
        return cli_usage_error("serve", "invalid %s: %s", name, err.message);
    if (us < RL_US_PER_SEC || us % RL_US_PER_SEC != 0 || us > 86400 * RL_US_PER_SEC)
        return cli_usage_error("serve", "invalid %s '%s': expected whole "
                                        "seconds from 1s to 1d, e.g. 30s",
                               name, text);
    *out_s = (unsigned)(us / RL_US_PER_SEC);
    return 0;
}

/* Handles one option character; 0 or CLI_EXIT_USAGE. */
static int apply_option(int ch, char **argv, serve_options *o)
{
    rl_error err;

    switch (ch) {
    case 'l':
        if (srv_parse_listen(optarg, &o->cfg.listen_addr, &err) < 0)
            return cli_usage_error("serve", "%s", err.message);
        return 0;
    case 's':
        o->store_url = optarg;
        return 0;
    case 'p':
        if (rl_policy_parse(optarg, &o->cfg.policy, &err) < 0)
            return cli_usage_error("serve", "%s", err.message);
        return 0;
    case 'w':
        if (rl_window_parse(optarg, &o->cfg.window, &err) < 0)
            return cli_usage_error("serve", "invalid --window: %s", err.message);
        return 0;
    case 'e':
        if (optarg[0] == '\0')
            return cli_usage_error("serve", "--env needs a file name");
        if (o->n_env_files == SERVE_MAX_ENV_FILES)
            return cli_usage_error("serve", "too many --env files: at most %d",
                                   SERVE_MAX_ENV_FILES);
        o->env_files[o->n_env_files++] = optarg;
        return 0;
    case 'c':
        if (optarg[0] == '\0')
            return cli_usage_error("serve", "--container needs a container name");
        o->container = optarg;
        return 0;
    case 'v':
        o->validators_path = optarg;
        return 0;
    case 't':
        return parse_count("--threads", optarg, SERVE_MAX_THREADS, &o->cfg.threads);
    case 'O':
        o->cfg.fail_open = 1;
        return 0;
    case 'C':
        o->cfg.fail_open = 0;
        return 0;
    case 'a':
        o->access_log_path = optarg != NULL ? optarg : "-";
        if (o->access_log_path[0] == '\0')
            return cli_usage_error("serve", "--access-log= needs a file name, or "
                                            "no '=' for stderr");
        return 0;
    case 'm':
        return parse_count("--max-connections", optarg, SERVE_MAX_CONNECTIONS,
                           &o->cfg.max_connections);
    case 'P':
        o->per_ip_given = 1;
        return parse_count("--max-connections-per-ip", optarg, SERVE_MAX_CONNECTIONS,
                           &o->cfg.max_connections_per_ip);
    case 'T':
        return parse_timeout("--connection-timeout", optarg, &o->cfg.connection_timeout_s);
    case 'R':
        return parse_timeout("--request-timeout", optarg, &o->cfg.request_timeout_s);
    case 'h':
        o->help = 1;
        return 0;
    case ':':
        return cli_usage_error("serve", "option '%s' needs a value", argv[optind - 1]);
    default:
        return cli_usage_error("serve", "unknown option '%s'", argv[optind - 1]);
    }
}

/* Derives the per-address cap from --max-connections when it was not
 * given, so that one address never takes every slot; checks it otherwise. */
static int check_per_ip(serve_options *o)
{
    srv_config *cfg = &o->cfg;

    if (!o->per_ip_given) {
        cfg->max_connections_per_ip = cfg->max_connections > 1 ? cfg->max_connections / 2 : 1;
        return 0;
    }
    if (cfg->max_connections_per_ip > cfg->max_connections)
        return cli_usage_error("serve", "invalid --max-connections-per-ip %u: it is more than "
                                        "--max-connections %u; use at most %u (equal means "
                                        "no per-address cap)",
                               cfg->max_connections_per_ip, cfg->max_connections,
                               cfg->max_connections);
    return 0;
}

static int parse_options(int argc, char **argv, serve_options *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"store", required_argument, NULL, 's'},
        {"policy", required_argument, NULL, 'p'},
        {"window", required_argument, NULL, 'w'},
        {"env", required_argument, NULL, 'e'},
        {"container", required_argument, NULL, 'c'},
        {"validators", required_argument, NULL, 'v'},
        {"threads", required_argument, NULL, 't'},
        {"fail-open", no_argument, NULL, 'O'},
        {"fail-closed", no_argument, NULL, 'C'},
        {"access-log", optional_argument, NULL, 'a'},
        {"max-connections", required_argument, NULL, 'm'},
        {"max-connections-per-ip", required_argument, NULL, 'P'},
        {"connection-timeout", required_argument, NULL, 'T'},
        {"request-timeout", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch, rc;

    opterr = 0; /* the messages in apply_option replace getopt's own */
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1)
        if ((rc = apply_option(ch, argv, o)) != 0)
            return rc;
    if (optind < argc)
        return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    return check_per_ip(o);
}

/* ---- stores ---- */

typedef struct redis_factory {
    const char *url;
    rl_redis_options opt;
} redis_factory;

static int make_memory_store(void *user, rl_store **out, rl_error *err)
{
    (void)user;
    *out = rl_store_memory_create();
    if (*out == NULL) {
        rl_error_set(err, "out of memory creating the memory store");
        return RL_ERR_NOMEM;
    }
    return 0;
}

static int make_redis_store(void *user, rl_store **out, rl_error *err)
{
    redis_factory *f = user;
    return rl_store_redis_create(f->url, &f->opt, out, err);
}

/* Chooses the store backend from --store; connects once to Redis so that an
 * unreachable server is reported at start-up.  Returns 0 or CLI_EXIT_USAGE. */
static int setup_store(serve_options *o, redis_factory *rf, char *masked, size_t masked_len)
{
    const char *url = o->store_url != NULL ? o->store_url : "memory";
    rl_redis_url parsed;
    rl_store *probe = NULL;
    rl_error err;

    if (strcmp(url, "memory") == 0) {
        o->cfg.store_factory = make_memory_store;
        o->cfg.store_per_thread = 0;
        snprintf(masked, masked_len, "memory");
        o->cfg.store_name = masked;
        return 0;
    }
    rl_redis_url_mask(url, masked, masked_len);
    if (strncmp(url, "redis://", 8) != 0 && strncmp(url, "unix://", 7) != 0)
        return cli_usage_error("serve", "invalid --store '%s': expected memory, "
                                        "redis://host:port/db or unix:///path",
                               masked);
    if (rl_redis_url_parse(url, &parsed, &err) < 0)
        return cli_usage_error("serve", "invalid --store: %s", err.message);

    rf->url = url;
    rl_redis_options_init(&rf->opt);
    rf->opt.logger = cli_logger();
    if (rl_store_redis_create(url, &rf->opt, &probe, &err) < 0) {
        cli_error("--store: %s", err.message);
        return CLI_EXIT_USAGE;
    }
    rl_store_destroy(probe);
    o->cfg.store_factory = make_redis_store;
    o->cfg.store_user = rf;
    o->cfg.store_per_thread = 1;
    o->cfg.store_name = masked;
    return 0;
}

/* ---- start-up and shutdown ---- */

static void log_startup(const serve_options *o, const rl_limits *limits, unsigned port)
{
    char listen[64], window[32], text[1024];
    srv_config cfg = o->cfg;
    size_t n = 0;

    if (cfg.listen_addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&cfg.listen_addr)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&cfg.listen_addr)->sin_port = htons((uint16_t)port);
    srv_format_addr(&cfg.listen_addr, listen, sizeof(listen));
    rl_window_format(&cfg.window, window, sizeof(window));

    text[0] = '\0';
    for (int i = 0; i < limits->nroles && n < sizeof(text); i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s %lld (%s), ", limits->roles[i].name,
                              (long long)limits->roles[i].per_client.value,
                              limits->roles[i].per_client.origin);
    if (n < sizeof(text))
        snprintf(text + n, sizeof(text) - n, "total %lld (%s)", (long long)limits->total.value,
                 limits->total.origin);

    rl_log(cli_logger(), RL_LOG_INFO,
           "serve: listening on http://%s; limits: %s; store %s; policy %s; window %s; "
           "%u threads, %u connections (%u per client address), %us idle timeout, %us "
           "request timeout; store errors %s; validators: %s",
           listen, text, cfg.store_name, rl_policy_name(cfg.policy), window, cfg.threads,
           cfg.max_connections, cfg.max_connections_per_ip, cfg.connection_timeout_s,
           cfg.request_timeout_s,
           cfg.fail_open ? "fail-open" : "fail-closed",
           o->validators_path != NULL ? o->validators_path : "hotkeys not starting with 'N'");
    /* Allowed, because operators point real miners at it, but never quietly. */
    if (!srv_addr_is_loopback(&cfg.listen_addr))
        rl_log(cli_logger(), RL_LOG_WARN,
               "serve: %s is not a loopback address, so other hosts can reach this "
               "endpoint.  It hands out fake credentials and counts every request it "
               "receives against the limits, whoever sends it.  Use --listen "
               "127.0.0.1:PORT unless real clients must connect",
               listen);
}

/* Blocks until SIGINT or SIGTERM; returns the signal. */
static int wait_for_stop(const sigset_t *set)
{
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}

static srv_validators *load_validators(const char *path, int *status)
{
    size_t len;
    rl_error err;
    char *text = cli_read_file(path, SERVE_VALIDATORS_MAX_BYTES, &len);
    srv_validators *v;

    *status = CLI_EXIT_USAGE;
    if (text == NULL)
        return NULL;
    v = srv_validators_parse(text, len, path, &err);
    free(text);
    if (v == NULL) {
        cli_error("%s", err.message);
        return NULL;
    }
    *status = 0;
    return v;
}

/* Runs the server until a signal; returns the exit status. */
static int run_server(serve_options *o, const rl_limits *limits)
{
    srv_server *server;
    rl_error err;
    sigset_t set;
    srv_stats st;
    char summary[1024];
    int status;

    server = srv_server_create(&o->cfg, &status, &err);
    if (server == NULL) {
        cli_error("cannot start the server: %s", err.message);
        return CLI_EXIT_USAGE;
    }

    /* Workers inherit this mask, so the signals reach sigwait alone. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (srv_server_start(server, &err) < 0) {
        cli_error("%s", err.message);
        srv_server_destroy(server);
        return CLI_EXIT_USAGE;
    }
    log_startup(o, limits, srv_server_port(server));

    int sig = wait_for_stop(&set);
    srv_server_stop(server);
    srv_server_stats(server, &st);
    srv_stats_format(&st, summary, sizeof(summary));
    fprintf(stderr, "ratelab serve: stopped by %s: %s\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
            summary);
    srv_server_destroy(server);
    return CLI_EXIT_OK;
}

static int serve_main(int argc, char **argv)
{
    serve_options o;
    rl_limits limits;
    redis_factory rf;
    srv_validators *validators = NULL;
    FILE *access_log = NULL;
    char masked[RL_REDIS_URL_MAX];
    int rc;

    memset(&o, 0, sizeof(o));
    srv_config_init(&o.cfg);
    if ((rc = parse_options(argc, argv, &o)) != 0)
        return rc;
    if (o.help) {
        fputs(serve_usage, stdout);
        return CLI_EXIT_OK;
    }
    if ((rc = cli_load_limits(&limits, o.env_files, o.n_env_files, o.container)) != 0)
        return rc;
    o.cfg.limits = &limits;
    o.cfg.logger = cli_logger();

    if (o.validators_path != NULL && (validators = load_validators(o.validators_path, &rc)) == NULL)
        return rc;
    o.cfg.validators = validators;

    if (o.access_log_path != NULL && strcmp(o.access_log_path, "-") != 0) {
        access_log = fopen(o.access_log_path, "a");
        if (access_log == NULL) {
            cli_error("cannot open access log %s: %s", o.access_log_path, strerror(errno));
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        setvbuf(access_log, NULL, _IOLBF, 0);
    }
    o.cfg.access_log = access_log != NULL ? access_log
                       : o.access_log_path != NULL ? stderr
                                                   : NULL;

    if ((rc = setup_store(&o, &rf, masked, sizeof(masked))) != 0)
        goto done;
    rc = run_server(&o, &limits);

done:
    if (access_log != NULL)
        fclose(access_log);
    srv_validators_destroy(validators);
    return rc;
}

const cli_command cli_cmd_serve = {
    .name = "serve",
    .summary = "run a reference endpoint that limits like the deployed API",
    .usage = serve_usage,
    .run = serve_main,
};
