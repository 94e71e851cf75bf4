/*
 * lg_probe.h: find the per-client limit an endpoint actually enforces.
 *
 * The probe sends one request at a time for one hotkey until the first
 * 429 (or max_requests), so it spends real quota: the hotkey's and the
 * global total's.  It reads GET /rate-limits before and after, and the
 * X-RateLimit-Limit and X-RateLimit-Remaining headers when the endpoint
 * sends them.
 *
 * The enforced limit is prior_usage + admitted, where admitted counts the
 * responses before the first 429 (any status but 429: 400 and 401 consume
 * quota too) and prior_usage is what the hotkey had used already in this
 * window: limit - remaining - 1 from the first admitted answer's headers,
 * 0 for a hotkey the probe made up itself, unknown otherwise.
 *
 * A 3xx, 403, 404 or 405 stops the probe at once: the deployed API answers
 * none of them on its limited routes, so the target URL (or its prefix) is
 * most likely wrong, and counting them as admitted would report a limit
 * that does not exist.
 *
 * Example: against DAILY_LIMIT_PER_MINER=500 a fresh hotkey gets 500
 * responses of 200, then 429 "Daily limit of 500 exceeded.": enforced 500.
 * Against DAILY_LIMIT_PER_MINER=0 its first request gets the 429:
 * enforced 0.
 */
#ifndef LG_PROBE_H
#define LG_PROBE_H

#include <signal.h>
#include <stdint.h>

#include "lg_template.h"
#include "rl_status.h"

typedef struct lg_probe_config {
    const char *target; /* normalized base URL */
    const char *hotkey;
    int hotkey_is_fresh; /* 1: made up by the caller, so no prior usage */
    const char *coldkey; /* NULL: "<hotkey>-cold" */
    const char *role;    /* "miner", "validator" */
    const lg_template *tpl;
    int64_t max_requests;
    int64_t timeout_ms;
    int http2;
    volatile sig_atomic_t *stop; /* may be NULL */
} lg_probe_config;

/* What GET /rate-limits returned; fields are -1 when absent. */
typedef struct lg_rate_limits_info {
    int ok;                      /* 1: the endpoint returned the JSON */
    int64_t role_limit;          /* rate_limits.daily_limit_per_<role> */
    int64_t total_limit;         /* rate_limits.total_daily_limit */
    int64_t global_requests;     /* current_usage.global_requests_today */
    int64_t global_remaining;    /* current_usage.global_remaining */
} lg_rate_limits_info;

typedef struct lg_probe_result {
    lg_rate_limits_info before, after;
    int64_t sent;
    int64_t admitted;     /* responses before the first 429 */
    int64_t status_2xx, status_400, status_401, status_other;
    int got_429;
    int global_429;       /* the 429 named the global limit */
    int64_t detail_limit; /* N from "Daily limit of N exceeded.", or -1 */
    int has_headers;      /* X-RateLimit-Limit/Remaining were seen */
    int64_t header_limit; /* from the first admitted answer, or -1 */
    int64_t prior_usage;  /* -1: unknown */
    int64_t enforced;     /* -1: not determined */
    int64_t remaining;    /* the hotkey's quota left after the probe, or -1 */
    int error;            /* lg_error_kind of a transport failure, or -1 */
    int server_error;     /* a 5xx status stopped the probe (the status) */
    int wrong_target;     /* a 3xx, 403, 404 or 405 stopped the probe (the status) */
    char url[1024];       /* the URL of the last request sent */
    int interrupted;
} lg_probe_result;

/* Runs the probe.  Returns 0 (the result describes what was found), or a
 * negative status when it could not start (libcurl, memory). */
int lg_probe_run(const lg_probe_config *cfg, lg_probe_result *res, rl_error *err);

/* Fetches GET <target>/rate-limits into *info (info->ok = 0 when it is not
 * there or not the expected JSON). */
void lg_probe_rate_limits(const lg_probe_config *cfg, lg_rate_limits_info *info);

/* What GET /rate-limits says about the server's window. */
typedef struct lg_server_window {
    long status;        /* HTTP status of GET /rate-limits */
    int has_window;     /* 1: it reported ratelab.window and it parsed */
    char window[32];    /* ratelab.window as reported, e.g. "1m", "utc-day" */
    int64_t window_us;  /* its length; a calendar day counts as one day */
} lg_server_window;

/*
 * Sends GET <target>/rate-limits once and reads the "ratelab" object that
 * `ratelab serve` adds (the deployed service has none: has_window = 0).
 * Returns 0 when any HTTP response arrived, or LG_ERR_INVALID with err
 * naming the URL and libcurl's reason when none did (nothing listens, DNS,
 * timeout), so a replay can stop before it waits for a window boundary.
 */
int lg_server_window_fetch(const char *target, int64_t timeout_ms, lg_server_window *out,
                           rl_error *err);

#endif
