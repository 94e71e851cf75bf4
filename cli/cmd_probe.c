/*
 * cmd_probe.c: `ratelab probe`, the "did the deploy take?" check.
 *
 * Sends requests for one hotkey until the first 429 (loadgen/lg_probe.h),
 * works out the per-client limit the endpoint enforces, and compares it
 * with every other statement of the limit: GET /rate-limits, the 429's
 * detail, the X-RateLimit-Limit header, and the expected limit from
 * --expect-limit or the deployment files given with --env.
 *
 * Exit status: 0 the enforced limit was found and every source agrees,
 * 1 a source disagrees or the limit could not be determined, 2 bad input.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lg_engine.h"
#include "lg_json.h"
#include "lg_probe.h"
#include "lg_stats.h"
#include "lg_template.h"
#include "rl_time.h"

static const char probe_usage[] =
    "Usage: ratelab probe --target URL [--hotkey H] [--role miner|validator]\n"
    "                     [--max N] [--expect-limit N | --env FILE [--container NAME]]\n"
    "\n"
    "Find the per-client limit a live endpoint enforces: send requests for\n"
    "one hotkey, one after another, until the first 429, then compare the\n"
    "count with GET /rate-limits, the 429's message, the X-RateLimit-*\n"
    "headers and the limit you expect.  This is the \"did the deploy take?\"\n"
    "check.\n"
    "\n"
    "A probe spends real quota: up to N requests of the hotkey's limit and of\n"
    "the global total for the current window.  Without --hotkey a fresh\n"
    "random hotkey is used, so no real client loses quota and its usage\n"
    "before the probe is known to be 0.\n"
    "\n"
    "Options:\n"
    "  --target URL         base URL, e.g. http://127.0.0.1:8000 (required)\n"
    "  --hotkey H           hotkey to probe (default: ratelab-probe-<random>)\n"
    "  --coldkey K          coldkey of miner requests (default HOTKEY-cold)\n"
    "  --role R             miner (default) or validator: the route and limit\n"
    "  --max N              send at most N requests (default 1000)\n"
    "  --expect-limit N     the per-client limit the endpoint should enforce\n"
    "  --env FILE           take the expected limit from a dotenv file or a\n"
    "                       container task definition, as 'ratelab limits'\n"
    "                       does (repeatable; later files win)\n"
    "  --container NAME     the task definition's container to read\n"
    "  --template FILE      request template (JSON, see docs/load.md)\n"
    "  --timeout D          per-request timeout (default 10s, at most 1h)\n"
    "  --http2              use HTTP/2\n"
    "  --json               print the findings as JSON\n"
    "  -h, --help           print this help\n"
    "\n"
    "Exit status: 0 the enforced limit matches every source, 1 a mismatch\n"
    "(a line says expected vs enforced) or no limit could be determined,\n"
    "2 bad input, or a target that answers a redirect, 403, 404 or 405.\n";

#define PROBE_MAX_ENV_FILES 16
#define PROBE_TEMPLATE_MAX_BYTES (1u << 20)

typedef struct probe_options {
    const char *target;
    const char *hotkey;
    int hotkey_fresh; /* 1: made up here, so its prior usage is 0 */
    const char *coldkey;
    const char *role;
    int64_t max_requests;
    int64_t expect_limit; /* -1: none */
    const char *env_files[PROBE_MAX_ENV_FILES];
    int n_env;
    const char *container;
    const char *template_path;
    int64_t timeout_ms;
    int http2;
    int json;
} probe_options;

/* One comparison of the enforced limit with a source. */
typedef struct probe_check {
    char source[RL_ORIGIN_MAX + 64];
    int64_t value;
    int ok;
} probe_check;

typedef struct probe_report {
    probe_check checks[8];
    int nchecks;
    int failed;
    char reason[256]; /* why the limit is undetermined, or "" */
} probe_report;

static volatile sig_atomic_t probe_stop;

static void on_signal(int sig)
{
    (void)sig;
    probe_stop = 1;
}

static int parse_int(const char *opt, const char *text, long long min, long long max,
                     int64_t *out)
{
    char *end;
    errno = 0;
    long long v = (text[0] >= '0' && text[0] <= '9') ? strtoll(text, &end, 10) : -1;
    if (v < 0 || errno != 0 || *end != '\0' || v < min || v > max)
        return cli_usage_error("probe", "%s '%s': expected a whole number from %lld to "
                                        "%lld",
                               opt, text, min, max);
    *out = v;
    return 0;
}

static int parse_option(int ch, const char *arg, probe_options *o)
{
    int64_t us;
    rl_error err;

    switch (ch) {
    case 'T': o->target = arg; return 0;
    case 'H': o->hotkey = arg; return 0;
    case 'C': o->coldkey = arg; return 0;
    case 'R': o->role = arg; return 0;
    case 'm': return parse_int("--max", arg, 1, 100000000, &o->max_requests);
    case 'e': return parse_int("--expect-limit", arg, 0, RL_LIMIT_VALUE_MAX, &o->expect_limit);
    case 'E':
        if (o->n_env == PROBE_MAX_ENV_FILES)
            return cli_usage_error("probe", "at most %d --env files", PROBE_MAX_ENV_FILES);
        o->env_files[o->n_env++] = arg;
        return 0;
    case 'c': o->container = arg; return 0;
    case 'p': o->template_path = arg; return 0;
    case 'o':
        if (rl_duration_parse(arg, &us, &err) < 0 || us <= 0)
            return cli_usage_error("probe", "--timeout '%s': expected a positive duration "
                                            "such as 10s or 500ms",
                                   arg);
        if (us > LG_MAX_TIMEOUT_MS * 1000LL)
            return cli_usage_error("probe", "--timeout '%s': out of range: the maximum is 1h",
                                   arg);
        o->timeout_ms = us < 1000 ? 1 : us / 1000;
        return 0;
    case '2': o->http2 = 1; return 0;
    case 'j': o->json = 1; return 0;
    }
    return CLI_EXIT_USAGE;
}

/* Returns 0, 1 for --help (printed), or CLI_EXIT_USAGE. */
static int parse_options(int argc, char **argv, probe_options *o)
{
    static const struct option longopts[] = {
        {"target", required_argument, NULL, 'T'},
        {"hotkey", required_argument, NULL, 'H'},
        {"coldkey", required_argument, NULL, 'C'},
        {"role", required_argument, NULL, 'R'},
        {"max", required_argument, NULL, 'm'},
        {"expect-limit", required_argument, NULL, 'e'},
        {"env", required_argument, NULL, 'E'},
        {"container", required_argument, NULL, 'c'},
        {"template", required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 'o'},
        {"http2", no_argument, NULL, '2'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == ':')
            return cli_usage_error("probe", "option '%s' needs a value", argv[optind - 1]);
        if (ch == '?')
            return cli_usage_error("probe", "unknown option '%s'", argv[optind - 1]);
        if (ch == 'h') {
            fputs(probe_usage, stdout);
            return 1;
        }
        int rc = parse_option(ch, optarg, o);
        if (rc != 0)
            return rc;
    }
    if (optind < argc)
        return cli_usage_error("probe", "unexpected argument '%s'", argv[optind]);
    if (o->target == NULL)
        return cli_usage_error("probe", "--target is required, e.g. --target "
                                        "http://127.0.0.1:8000");
    if (o->expect_limit >= 0 && o->n_env > 0)
        return cli_usage_error("probe", "--expect-limit and --env both set the expected "
                                        "limit: give one of them");
    if (o->container != NULL && o->n_env == 0)
        return cli_usage_error("probe", "--container needs --env FILE (a task definition)");
    return 0;
}

/* Finds the expected limit: --expect-limit, or the role's limit after the
 * --env files.  Sets *value -1 when neither was given. */
static int expected_limit(const probe_options *o, int64_t *value, char *origin,
                          size_t len)
{
    *value = -1;
    if (o->expect_limit >= 0) {
        *value = o->expect_limit;
        snprintf(origin, len, "--expect-limit");
        return 0;
    }
    if (o->n_env == 0)
        return 0;
    rl_limits limits;
    int rc = cli_load_limits(&limits, o->env_files, o->n_env, o->container);
    if (rc != 0)
        return rc;
    int r = rl_limits_role_index(&limits, o->role);
    if (r < 0) {
        cli_error("role '%s' has no limit in the defaults or the --env files; use "
                  "--role miner or --role validator",
                  o->role);
        return CLI_EXIT_USAGE;
    }
    *value = limits.roles[r].per_client.value;
    snprintf(origin, len, "%s", limits.roles[r].per_client.origin);
    return 0;
}

static void add_check(probe_report *rep, const char *source, int64_t value, int64_t enforced)
{
    probe_check *c = &rep->checks[rep->nchecks++];
    snprintf(c->source, sizeof(c->source), "%s", source);
    c->value = value;
    c->ok = value == enforced;
    if (!c->ok)
        rep->failed = 1;
}

/* Says why the enforced limit is unknown; "" when it is known. */
static void explain_unknown(const lg_probe_result *res, probe_report *rep)
{
    char *b = rep->reason;
    size_t n = sizeof(rep->reason);
    if (res->enforced >= 0)
        b[0] = '\0';
    else if (res->error >= 0)
        snprintf(b, n, "the probe stopped on a transport error (%s) after %" PRId64
                       " requests",
                 lg_error_kind_name(res->error), res->sent);
    else if (res->server_error)
        snprintf(b, n, "the endpoint answered %d after %" PRId64 " requests",
                 res->server_error, res->sent);
    else if (res->interrupted)
        snprintf(b, n, "the probe was interrupted after %" PRId64 " requests", res->sent);
    else if (res->global_429)
        snprintf(b, n, "the global limit answered 429 first, so the per-client limit "
                       "cannot be measured now");
    else if (!res->got_429)
        snprintf(b, n, "no 429 within %" PRId64 " requests: the limit is above %" PRId64
                       "; raise --max",
                 res->sent, res->admitted + (res->prior_usage > 0 ? res->prior_usage : 0));
    else if (res->admitted == 0)
        snprintf(b, n, "the first request was already rejected: the hotkey has no quota "
                       "left in this window; probe without --hotkey to use a fresh one");
    else
        snprintf(b, n, "%" PRId64 " requests were admitted, but the hotkey's earlier "
                       "usage is unknown (no X-RateLimit headers); probe without --hotkey",
                 res->admitted);
}

static void evaluate(const lg_probe_result *res, int64_t expected, const char *origin,
                     probe_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    explain_unknown(res, rep);
    if (res->enforced < 0) {
        rep->failed = 1;
        return;
    }
    if (expected >= 0)
        add_check(rep, origin, expected, res->enforced);
    if (res->before.role_limit >= 0)
        add_check(rep, "GET /rate-limits", res->before.role_limit, res->enforced);
    if (res->detail_limit >= 0)
        add_check(rep, "the 429 detail", res->detail_limit, res->enforced);
    if (res->header_limit >= 0)
        add_check(rep, "X-RateLimit-Limit", res->header_limit, res->enforced);
}

static void print_text(const probe_options *o, const lg_probe_result *res,
                       const probe_report *rep)
{
    printf("probe       %s as hotkey %s (%s), at most %" PRId64 " requests\n", o->target,
           o->hotkey, o->role, o->max_requests);
    printf("sent        %" PRId64 " requests: %" PRId64 " admitted (%" PRId64 " 2xx, %" PRId64
           " 400, %" PRId64 " 401, %" PRId64 " other)%s\n",
           res->sent, res->admitted, res->status_2xx, res->status_400, res->status_401,
           res->status_other,
           res->got_429 ? (res->global_429 ? ", then 429 (global limit)"
                                           : ", then 429 (client limit)")
                        : "");
    if (res->prior_usage >= 0)
        printf("usage       %" PRId64 " before the probe (%s)\n", res->prior_usage,
               res->has_headers ? "from X-RateLimit headers" : "fresh hotkey");
    if (res->enforced >= 0)
        printf("enforced    %" PRId64 " requests per window for %s\n", res->enforced, o->role);
    else
        printf("enforced    unknown: %s\n", rep->reason);
    if (res->remaining >= 0)
        printf("remaining   %" PRId64 " for this hotkey\n", res->remaining);
    if (res->after.ok && res->after.global_remaining >= 0)
        printf("global      %" PRId64 " requests left of %" PRId64 " this window (GET "
               "/rate-limits after the probe)\n",
               res->after.global_remaining, res->after.total_limit);
    else if (!res->before.ok)
        printf("global      GET /rate-limits did not answer with the limits\n");
    for (int i = 0; i < rep->nchecks; i++) {
        const probe_check *c = &rep->checks[i];
        if (c->ok)
            printf("ok          %s: %" PRId64 "\n", c->source, c->value);
        else
            printf("MISMATCH    %s: %" PRId64 ", but the endpoint enforces %" PRId64 "\n",
                   c->source, c->value, res->enforced);
    }
}

static json_t *rate_limits_json(const lg_rate_limits_info *i)
{
    if (!i->ok)
        return json_null();
    return json_pack("{s:I,s:I,s:I,s:I}", "role_limit", (json_int_t)i->role_limit,
                     "total_limit", (json_int_t)i->total_limit, "global_requests",
                     (json_int_t)i->global_requests, "global_remaining",
                     (json_int_t)i->global_remaining);
}

static json_t *probe_json(const probe_options *o, const lg_probe_result *res,
                          const probe_report *rep)
{
    json_t *checks = json_array();
    for (int i = 0; checks != NULL && i < rep->nchecks; i++)
        json_array_append_new(checks, json_pack("{s:s,s:I,s:b}", "source",
                                                rep->checks[i].source, "value",
                                                (json_int_t)rep->checks[i].value, "ok",
                                                rep->checks[i].ok));
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:b,s:b,s:I,s:I,s:I,"
                     "s:I,s:I,s:s,s:o,s:o,s:o,s:b}",
                     "target", o->target, "hotkey", o->hotkey, "role", o->role, "sent",
                     (json_int_t)res->sent, "admitted", (json_int_t)res->admitted,
                     "max_requests", (json_int_t)o->max_requests, "status", "2xx",
                     (json_int_t)res->status_2xx, "400", (json_int_t)res->status_400, "401",
                     (json_int_t)res->status_401, "other", (json_int_t)res->status_other,
                     "got_429", res->got_429, "global_429", res->global_429, "detail_limit",
                     (json_int_t)res->detail_limit, "header_limit",
                     (json_int_t)res->header_limit, "prior_usage",
                     (json_int_t)res->prior_usage, "enforced", (json_int_t)res->enforced,
                     "remaining", (json_int_t)res->remaining, "reason", rep->reason,
                     "rate_limits_before", rate_limits_json(&res->before),
                     "rate_limits_after", rate_limits_json(&res->after), "checks", checks,
                     "conforms", !rep->failed);
}

/* Builds the template and runs the probe; returns the exit status. */
static int probe_run(probe_options *o, const char *target, int64_t expected,
                     const char *origin)
{
    rl_error err;
    lg_template_set set = {0};
    if (o->template_path != NULL) {
        size_t len;
        char *text = cli_read_file(o->template_path, PROBE_TEMPLATE_MAX_BYTES, &len);
        if (text == NULL)
            return CLI_EXIT_USAGE;
        int rc = lg_template_set_load(&set, text, len, o->template_path, &err);
        free(text);
        if (rc < 0) {
            cli_error("%s", err.message);
            return CLI_EXIT_USAGE;
        }
    }
    const lg_template *tpl = lg_template_set_find(&set, o->role, &err);
    if (tpl == NULL) {
        lg_template_set_free(&set);
        return cli_usage_error("probe", "%s", err.message);
    }

    lg_probe_config cfg = {
        .target = target, .hotkey = o->hotkey, .hotkey_is_fresh = o->hotkey_fresh,
        .coldkey = o->coldkey, .role = o->role, .tpl = tpl,
        .max_requests = o->max_requests, .timeout_ms = o->timeout_ms,
        .http2 = o->http2, .stop = &probe_stop,
    };
    signal(SIGINT, on_signal);
    lg_probe_result res;
    int rc = lg_probe_run(&cfg, &res, &err);
    lg_template_set_free(&set);
    if (rc < 0) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }

    if (res.wrong_target) {
        cli_error("probe: %s answered %d: --target %s is probably wrong, because the "
                  "limited routes never answer %d; check the host, port and path prefix",
                  res.url, res.wrong_target, o->target, res.wrong_target);
        return CLI_EXIT_USAGE;
    }
    probe_report rep;
    evaluate(&res, expected, origin, &rep);
    if (o->json) {
        json_t *doc = probe_json(o, &res, &rep);
        if (doc == NULL || lg_json_write(doc, NULL, &err) < 0)
            cli_error("cannot write the JSON findings");
        json_decref(doc);
    } else {
        print_text(o, &res, &rep);
    }
    if (rep.failed && rep.reason[0] != '\0')
        cli_error("probe: %s", rep.reason);
    for (int i = 0; rep.reason[0] == '\0' && i < rep.nchecks; i++)
        if (!rep.checks[i].ok)
            cli_error("probe: expected %" PRId64 " (%s), but the endpoint enforces %" PRId64,
                      rep.checks[i].value, rep.checks[i].source, res.enforced);
    return rep.failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

static int probe_main(int argc, char **argv)
{
    probe_options o = {.role = "miner", .max_requests = 1000, .expect_limit = -1,
                       .timeout_ms = 10000};
    char target[512], fresh[64], origin[RL_ORIGIN_MAX + 32];
    rl_error err;
    int64_t expected;

    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? CLI_EXIT_OK : rc;
    if (lg_target_normalize(o.target, target, sizeof(target), &err) < 0)
        return cli_usage_error("probe", "--target: %s", err.message);
    if (o.hotkey == NULL) {
        /* The deployed service treats hotkeys starting with 'N' as
         * non-validators, so a fresh hotkey starts with a lower-case letter. */
        snprintf(fresh, sizeof(fresh), "ratelab-probe-%llx",
                 (unsigned long long)(lg_real_ns() ^ ((int64_t)getpid() << 20)));
        o.hotkey = fresh;
        o.hotkey_fresh = 1;
    }
    if (lg_check_client_id(o.hotkey, "--hotkey", &err) < 0 ||
        (o.coldkey != NULL && lg_check_client_id(o.coldkey, "--coldkey", &err) < 0))
        return cli_usage_error("probe", "%s", err.message);
    rc = expected_limit(&o, &expected, origin, sizeof(origin));
    if (rc != 0)
        return rc;
    return probe_run(&o, target, expected, origin);
}

const cli_command cli_cmd_probe = {
    .name = "probe",
    .summary = "find the per-client limit an endpoint enforces and compare it (spends quota)",
    .usage = probe_usage,
    .run = probe_main,
};
